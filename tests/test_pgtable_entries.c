// SPDX-License-Identifier: MIT
/*
 * Property tests of the generic entry format, after mm/debug_vm_pgtable.c:
 * for every built-in geometry and every level that can hold the kind of
 * entry under test, each helper changes exactly what it claims to, round
 * trips restore the entry, and boundary pfns/offsets survive encoding.
 * Also the per-architecture views and the kernel-named aliases.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include <simmm/linux/swapops.h>

#include "core/rng.h"

#define SIMMM_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---------------------------------------------------------------- */

static uint64_t max_pfn(const struct simmm_geometry *g)
{
	return (1ULL << (g->pa_bits - g->page_shift)) - 1;
}

static bool level_holds_leaf(const struct simmm_geometry *g, int k)
{
	return k == SIMMM_LVL_PTE || g->level[k].leaf;
}

static unsigned leaf_pages_log2(const struct simmm_geometry *g, int k)
{
	return simmm_geometry_level_order(g, (enum simmm_level)k);
}

/* A present leaf for level k with an aligned pfn derived from @pfn. */
static simmm_entry_t leaf(const struct simmm_geometry *g, int k, uint64_t pfn, uint64_t prot)
{
	uint64_t align = (1ULL << leaf_pages_log2(g, k)) - 1;
	simmm_entry_t e = simmm_mk_entry(pfn & ~align, prot);
	return k == SIMMM_LVL_PTE ? e : simmm_entry_mkleaf(e);
}

#define FOR_EACH_GEOMETRY_LEAF_LEVEL(g, k)                                          \
	for (unsigned gi_ = 0; ((g) = simmm_geometry_at(gi_)) != NULL; gi_++)       \
		for (int k = SIMMM_LVL_PTE; k < SIMMM_NR_LEVELS; k++)               \
			if (level_holds_leaf((g), k))

/* ---- present-entry bits ----------------------------------------------------- */

struct bit_op {
	const char *name;
	uint64_t bit;        /* the bit the setter must set */
	uint64_t also;       /* other bits the setter may change (documented) */
	simmm_entry_t (*set)(simmm_entry_t);
	simmm_entry_t (*clr)(simmm_entry_t);
	bool (*test)(simmm_entry_t);
};

static const struct bit_op bit_ops[] = {
	{"write", SIMMM_E_WRITE, 0, simmm_pte_mkwrite, simmm_pte_wrprotect, simmm_pte_write},
	{"dirty", SIMMM_E_DIRTY, SIMMM_E_SOFT_DIRTY, simmm_pte_mkdirty, simmm_pte_mkclean,
	 simmm_pte_dirty},
	{"young", SIMMM_E_YOUNG, 0, simmm_pte_mkyoung, simmm_pte_mkold, simmm_pte_young},
	{"exec", SIMMM_E_EXEC, 0, simmm_pte_mkexec, simmm_pte_mknoexec, simmm_pte_exec},
	{"soft-dirty", SIMMM_E_SOFT_DIRTY, 0, simmm_pte_mksoft_dirty, simmm_pte_clear_soft_dirty,
	 simmm_pte_soft_dirty},
	{"uffd-wp", SIMMM_E_UFFD_WP, SIMMM_E_WRITE, simmm_pte_mkuffd_wp, simmm_pte_clear_uffd_wp,
	 simmm_pte_uffd_wp},
	{"special", SIMMM_E_SPECIAL, 0, simmm_pte_mkspecial, NULL, simmm_pte_special},
	{"devmap", SIMMM_E_DEVMAP, SIMMM_E_SPECIAL, simmm_pte_mkdevmap, NULL, simmm_pte_devmap},
};

static void check_bit_op(const struct bit_op *op, simmm_entry_t base, int k)
{
	simmm_entry_t on = op->set(base), off;
	uint64_t may = op->bit | op->also;

	if (!op->test(on))
		fail_msg("%s: set did not set (entry %#llx)", op->name, (unsigned long long)base);
	assert_int_equal(on & ~may, base & ~may);
	assert_int_equal(simmm_pte_pfn(on), simmm_pte_pfn(base));
	assert_true(simmm_entry_is_leaf(on, (enum simmm_level)k));
	if (!op->clr)
		return;
	off = op->clr(on);
	assert_false(op->test(off));
	assert_int_equal(off & ~may, base & ~may);
	/* Round trip: set(clear(x)) == set(x), clear(set(x)) == clear(x). */
	assert_int_equal(op->set(off), op->set(base));
	assert_int_equal(op->clr(op->set(off)) & ~op->also, op->clr(base) & ~op->also);
}

static void test_present_bits(void **state)
{
	const struct simmm_geometry *g;
	(void)state;
	FOR_EACH_GEOMETRY_LEAF_LEVEL(g, k) {
		uint64_t pfns[] = {0, 1, max_pfn(g), max_pfn(g) >> 1};
		uint64_t prots[] = {SIMMM_PAGE_READONLY, SIMMM_PAGE_SHARED_EXEC | SIMMM_E_DIRTY,
				    SIMMM_PAGE_KERNEL};
		for (size_t p = 0; p < SIMMM_ARRAY_SIZE(pfns); p++)
			for (size_t q = 0; q < SIMMM_ARRAY_SIZE(prots); q++) {
				simmm_entry_t base = leaf(g, k, pfns[p], prots[q]);
				assert_true(simmm_pte_present(base));
				for (size_t i = 0; i < sizeof(bit_ops) / sizeof(bit_ops[0]); i++)
					check_bit_op(&bit_ops[i], base, k);
			}
	}
}

static void test_mk_entry_bounds(void **state)
{
	const struct simmm_geometry *g;
	(void)state;
	FOR_EACH_GEOMETRY_LEAF_LEVEL(g, k) {
		simmm_entry_t e = leaf(g, k, max_pfn(g), SIMMM_PAGE_SHARED);
		uint64_t align = (1ULL << leaf_pages_log2(g, k)) - 1;
		assert_int_equal(simmm_pte_pfn(e), max_pfn(g) & ~align);
		assert_int_equal(simmm_pte_flags(e) & ~SIMMM_E_LEAF, SIMMM_PAGE_SHARED);
		assert_int_equal(simmm_entry_is_leaf(e, (enum simmm_level)k), true);
		assert_int_equal(simmm_entry_is_table(e, (enum simmm_level)k), false);
	}
	/* Bad input gives none. */
	assert_int_equal(simmm_mk_entry(SIMMM_E_PFN_MAX + 1, SIMMM_PAGE_SHARED), 0);
	assert_int_equal(simmm_mk_entry(1, SIMMM_E_WRITE), 0);
	assert_int_equal(simmm_mk_entry(1, SIMMM_PAGE_SHARED | SIMMM_E_SWP), 0);
	assert_int_equal(simmm_pte_pfn(simmm_mk_entry(SIMMM_E_PFN_MAX, SIMMM_PAGE_READONLY)),
			 SIMMM_E_PFN_MAX);
	assert_false(simmm_entry_is_leaf(simmm_mk_entry(1, SIMMM_PAGE_SHARED), SIMMM_LVL_PMD));
	assert_true(simmm_entry_is_table(simmm_mk_entry(1, SIMMM_PAGE_TABLE), SIMMM_LVL_PMD));
	assert_false(simmm_entry_is_table(simmm_mk_entry(1, SIMMM_PAGE_TABLE), SIMMM_LVL_PTE));
	assert_false(simmm_entry_is_leaf(simmm_mk_entry(1, SIMMM_PAGE_SHARED), 7));
}

static void test_protnone_modify(void **state)
{
	const struct simmm_geometry *g;
	(void)state;
	FOR_EACH_GEOMETRY_LEAF_LEVEL(g, k) {
		simmm_entry_t e = simmm_pte_mkdirty(leaf(g, k, 0x200000, SIMMM_PAGE_SHARED));
		simmm_entry_t n = simmm_pte_mkprotnone(e);
		struct simmm_arch_view v;
		assert_true(simmm_pte_present(n));
		assert_true(simmm_pte_protnone(n));
		assert_false(simmm_pte_protnone(e));
		assert_int_equal(simmm_pte_pfn(n), simmm_pte_pfn(e));
		assert_true(simmm_entry_is_leaf(n, (enum simmm_level)k));
		assert_int_equal(simmm_pte_mkpresent(n), e);
		assert_int_equal(simmm_entry_arch_view(g, (enum simmm_level)k, n, &v), 0);
		assert_false(v.valid);
		/* pte_modify keeps pfn, dirty, young and leaf, replaces rights. */
		n = simmm_entry_modify(e, SIMMM_PAGE_READONLY_EXEC);
		assert_false(simmm_pte_write(n));
		assert_true(simmm_pte_exec(n) && simmm_pte_dirty(n) && simmm_pte_young(n));
		assert_int_equal(simmm_pte_pfn(n), simmm_pte_pfn(e));
		assert_true(simmm_entry_is_leaf(n, (enum simmm_level)k));
		assert_true(simmm_pte_protnone(simmm_entry_modify(e, SIMMM_PAGE_NONE)));
		assert_int_equal(simmm_entry_modify(e, 0), e);
	}
}

/* Modifiers of one kind never touch another kind. */
static void test_pass_through(void **state)
{
	simmm_entry_t swp = simmm_swp_entry(3, 77), pres = simmm_mk_entry(5, SIMMM_PAGE_SHARED);
	(void)state;
	for (size_t i = 0; i < sizeof(bit_ops) / sizeof(bit_ops[0]); i++) {
		assert_int_equal(bit_ops[i].set(swp), swp);
		assert_int_equal(bit_ops[i].set(0), 0);
		assert_false(bit_ops[i].test(swp));
		if (bit_ops[i].clr)
			assert_int_equal(bit_ops[i].clr(swp), swp);
	}
	assert_int_equal(simmm_pte_mkprotnone(swp), swp);
	assert_int_equal(simmm_entry_mkleaf(swp), swp);
	assert_int_equal(simmm_pte_swp_mkexclusive(pres), pres);
	assert_int_equal(simmm_pte_swp_mksoft_dirty(pres), pres);
	assert_int_equal(simmm_pte_swp_mkuffd_wp(pres), pres);
	assert_int_equal(simmm_pte_swp_mkexclusive(0), 0);
	assert_int_equal(simmm_make_migration_entry_young(swp), swp);
	assert_int_equal(simmm_swp_type(pres), 0);
	assert_int_equal(simmm_swp_offset(pres), 0);
	assert_int_equal(simmm_pte_pfn(swp), 0);
	assert_false(simmm_pte_present(swp));
	assert_true(simmm_is_swap_pte(swp));
	assert_false(simmm_is_swap_pte(pres));
	assert_false(simmm_is_swap_pte(0));
}

/* ---- swap-format entries ------------------------------------------------------- */

static void check_swp_bits(simmm_entry_t e)
{
	struct {
		simmm_entry_t (*set)(simmm_entry_t), (*clr)(simmm_entry_t);
		bool (*test)(simmm_entry_t);
		uint64_t bit;
	} ops[] = {
		{simmm_pte_swp_mkexclusive, simmm_pte_swp_clear_exclusive, simmm_pte_swp_exclusive,
		 SIMMM_E_SWP_EXCLUSIVE},
		{simmm_pte_swp_mksoft_dirty, simmm_pte_swp_clear_soft_dirty, simmm_pte_swp_soft_dirty,
		 SIMMM_E_SWP_SOFT_DIRTY},
		{simmm_pte_swp_mkuffd_wp, simmm_pte_swp_clear_uffd_wp, simmm_pte_swp_uffd_wp,
		 SIMMM_E_SWP_UFFD_WP},
	};
	for (size_t i = 0; i < SIMMM_ARRAY_SIZE(ops); i++) {
		simmm_entry_t on = ops[i].set(e);
		assert_true(ops[i].test(on));
		assert_false(ops[i].test(e));
		assert_int_equal(on & ~ops[i].bit, e);
		assert_int_equal(simmm_swp_type(on), simmm_swp_type(e));
		assert_int_equal(simmm_swp_offset(on), simmm_swp_offset(e));
		assert_int_equal(simmm_pte_to_swp_entry(on), e);
		assert_int_equal(ops[i].clr(on), e);
	}
}

static void test_swap_entries(void **state)
{
	uint64_t offs[] = {0, 1, 0x12345, SIMMM_SWP_OFFSET_MAX};
	(void)state;
	for (unsigned t = 0; t < SIMMM_MAX_SWAPFILES; t++)
		for (size_t i = 0; i < SIMMM_ARRAY_SIZE(offs); i++) {
			simmm_entry_t e = simmm_swp_entry(t, offs[i]);
			assert_true(simmm_is_swap_pte(e));
			assert_false(simmm_pte_present(e));
			assert_int_equal(simmm_swp_type(e), t);
			assert_int_equal(simmm_swp_offset(e), offs[i]);
			assert_true(simmm_is_real_swap_entry(e));
			assert_false(simmm_non_swap_entry(e));
			assert_false(simmm_is_pfn_swap_entry(e));
			assert_false(simmm_is_migration_entry(e));
			check_swp_bits(e);
		}
	assert_int_equal(simmm_swp_entry(32, 0), 0);
	assert_int_equal(simmm_swp_entry(0, SIMMM_SWP_OFFSET_MAX + 1), 0);
}

struct pfn_kind {
	const char *name;
	simmm_entry_t (*make)(simmm_pfn_t);
	unsigned type;
};

static const struct pfn_kind pfn_kinds[] = {
	{"mig-read", simmm_make_readable_migration_entry, SIMMM_SWP_MIGRATION_READ},
	{"mig-read-excl", simmm_make_readable_exclusive_migration_entry,
	 SIMMM_SWP_MIGRATION_READ_EXCLUSIVE},
	{"mig-write", simmm_make_writable_migration_entry, SIMMM_SWP_MIGRATION_WRITE},
	{"dev-write", simmm_make_writable_device_private_entry, SIMMM_SWP_DEVICE_WRITE},
	{"dev-read", simmm_make_readable_device_private_entry, SIMMM_SWP_DEVICE_READ},
	{"dev-excl", simmm_make_device_exclusive_entry, SIMMM_SWP_DEVICE_EXCLUSIVE},
	{"hwpoison", simmm_make_hwpoison_entry, SIMMM_SWP_HWPOISON},
};

/* Exactly the predicates of the entry's kind hold. */
static void check_kind(simmm_entry_t e, unsigned type)
{
	assert_int_equal(simmm_swp_type(e), type);
	assert_true(simmm_non_swap_entry(e));
	assert_int_equal(simmm_is_migration_entry(e),
			 type >= SIMMM_SWP_MIGRATION_READ && type <= SIMMM_SWP_MIGRATION_WRITE);
	assert_int_equal(simmm_is_readable_migration_entry(e), type == SIMMM_SWP_MIGRATION_READ);
	assert_int_equal(simmm_is_readable_exclusive_migration_entry(e),
			 type == SIMMM_SWP_MIGRATION_READ_EXCLUSIVE);
	assert_int_equal(simmm_is_writable_migration_entry(e), type == SIMMM_SWP_MIGRATION_WRITE);
	assert_int_equal(simmm_is_device_private_entry(e),
			 type == SIMMM_SWP_DEVICE_WRITE || type == SIMMM_SWP_DEVICE_READ);
	assert_int_equal(simmm_is_writable_device_private_entry(e), type == SIMMM_SWP_DEVICE_WRITE);
	assert_int_equal(simmm_is_device_exclusive_entry(e), type == SIMMM_SWP_DEVICE_EXCLUSIVE);
	assert_int_equal(simmm_is_hwpoison_entry(e), type == SIMMM_SWP_HWPOISON);
	assert_int_equal(simmm_is_pte_marker(e), type == SIMMM_SWP_PTE_MARKER);
	assert_int_equal(simmm_is_pfn_swap_entry(e), type != SIMMM_SWP_PTE_MARKER);
}

static void test_pfn_entries(void **state)
{
	const struct simmm_geometry *g;
	(void)state;
	FOR_EACH_GEOMETRY_LEAF_LEVEL(g, k) {
		uint64_t pfns[] = {0, 1, max_pfn(g), SIMMM_SWP_PFN_MASK};
		for (size_t i = 0; i < SIMMM_ARRAY_SIZE(pfn_kinds); i++)
			for (size_t p = 0; p < SIMMM_ARRAY_SIZE(pfns); p++) {
				simmm_entry_t e = pfn_kinds[i].make(pfns[p]);
				simmm_pfn_t out = 7;
				check_kind(e, pfn_kinds[i].type);
				assert_int_equal(simmm_swp_offset_pfn(e), pfns[p]);
				assert_true(simmm_entry_pfn(e, &out));
				assert_int_equal(out, pfns[p]);
				check_swp_bits(e);
			}
	}
	for (size_t i = 0; i < SIMMM_ARRAY_SIZE(pfn_kinds); i++)
		assert_int_equal(pfn_kinds[i].make(SIMMM_SWP_PFN_MASK + 1), 0);
}

/* Migration entries keep the unmapped pte's young and dirty state. */
static void test_migration_young_dirty(void **state)
{
	(void)state;
	for (size_t i = 0; i < 3; i++) {
		uint64_t pfns[] = {0, 0xabcde, SIMMM_SWP_PFN_MASK};
		for (size_t p = 0; p < SIMMM_ARRAY_SIZE(pfns); p++) {
			simmm_entry_t e = pfn_kinds[i].make(pfns[p]);
			simmm_entry_t y = simmm_make_migration_entry_young(e);
			simmm_entry_t yd = simmm_make_migration_entry_dirty(y);
			assert_false(simmm_is_migration_entry_young(e));
			assert_false(simmm_is_migration_entry_dirty(e));
			assert_true(simmm_is_migration_entry_young(y));
			assert_false(simmm_is_migration_entry_dirty(y));
			assert_true(simmm_is_migration_entry_young(yd));
			assert_true(simmm_is_migration_entry_dirty(yd));
			assert_int_equal(simmm_swp_offset_pfn(yd), pfns[p]);
			check_kind(yd, pfn_kinds[i].type);
			check_swp_bits(yd);
		}
	}
	/* Not for other kinds. */
	simmm_entry_t d = simmm_make_readable_device_private_entry(5);
	assert_int_equal(simmm_make_migration_entry_dirty(d), d);
	assert_false(simmm_is_migration_entry_dirty(simmm_swp_entry(1, ~0ULL >> 14)));
}

static void test_markers(void **state)
{
	(void)state;
	for (uint64_t m = 1; m <= SIMMM_PTE_MARKER_MASK; m++) {
		simmm_entry_t e = simmm_make_pte_marker(m);
		check_kind(e, SIMMM_SWP_PTE_MARKER);
		assert_int_equal(simmm_pte_marker_get(e), m);
		assert_int_equal(simmm_is_poisoned_swp_entry(e), !!(m & SIMMM_PTE_MARKER_POISONED));
		assert_int_equal(simmm_is_guard_swp_entry(e), !!(m & SIMMM_PTE_MARKER_GUARD));
		assert_true(simmm_pte_none_mostly(e));
		assert_false(simmm_entry_pfn(e, &(simmm_pfn_t){0}));
		check_swp_bits(e);
	}
	assert_int_equal(simmm_make_pte_marker(0), 0);
	assert_int_equal(simmm_make_pte_marker(8), 0);
	assert_true(simmm_is_poisoned_swp_entry(simmm_make_poisoned_swp_entry()));
	assert_true(simmm_is_guard_swp_entry(simmm_make_guard_swp_entry()));
	assert_true(simmm_pte_none_mostly(0));
	assert_false(simmm_pte_none_mostly(simmm_swp_entry(0, 1)));
	assert_int_equal(simmm_pte_marker_get(simmm_make_hwpoison_entry(1)), 0);
}

/* ---- seeded random round trips --------------------------------------------------- */

static void test_random_round_trips(void **state)
{
	struct simmm_rng rng;
	uint64_t iters = tu_iters(200000);
	(void)state;
	simmm__rng_seed(&rng, tu_seed());
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t pfn = simmm__rng_next(&rng) & SIMMM_E_PFN_MAX;
		uint64_t prot = (simmm__rng_next(&rng) & SIMMM_E_FLAGS_MASK & ~SIMMM_E_SWP) |
				SIMMM_E_PRESENT;
		simmm_entry_t e = simmm_mk_entry(pfn, prot);
		unsigned t = (unsigned)(simmm__rng_next(&rng) % 32);
		uint64_t off = simmm__rng_next(&rng) & SIMMM_SWP_OFFSET_MAX;
		simmm_entry_t s = simmm_swp_entry(t, off);
		size_t op = simmm__rng_next(&rng) % (sizeof(bit_ops) / sizeof(bit_ops[0]));

		if (simmm_pte_pfn(e) != pfn || simmm_pte_flags(e) != (prot & ~SIMMM_E_LEAF))
			fail_msg("iteration %llu: pfn %#llx prot %#llx -> %#llx",
				 (unsigned long long)i, (unsigned long long)pfn,
				 (unsigned long long)prot, (unsigned long long)e);
		assert_int_equal(simmm_swp_type(s), t);
		assert_int_equal(simmm_swp_offset(s), off);
		assert_int_equal(simmm_pte_pfn(bit_ops[op].set(e)), pfn);
		if (bit_ops[op].clr)
			assert_int_equal(simmm_pte_pfn(bit_ops[op].clr(e)), pfn);
		assert_int_equal(simmm_swp_offset(simmm_pte_swp_mkexclusive(s)), off);
	}
}

/* ---- architecture views ---------------------------------------------------------------- */

static void test_arch_x86(void **state)
{
	const struct simmm_geometry *g = simmm_geometry_lookup("x86_64-4level");
	struct simmm_arch_view v;
	simmm_entry_t e = simmm_pte_mkdirty(simmm_mk_entry(0x1234, SIMMM_PAGE_SHARED));
	(void)state;
	assert_int_equal(simmm_entry_arch_view(g, SIMMM_LVL_PTE, e, &v), 0);
	assert_true(v.valid && v.leaf && v.x86.p && v.x86.rw && v.x86.us && v.x86.a && v.x86.d);
	assert_true(v.x86.nx);
	assert_false(v.x86.ps || v.x86.g);
	assert_int_equal(v.pa, 0x1234000);
	assert_int_equal(v.raw & 0x7f, 0x67);
	assert_int_equal(v.raw >> 63, 1);
	assert_int_equal(v.raw & 0x000ffffffffff000ULL, 0x1234000);
	/* 2M leaf: PS; exec: no NX; table: RW/US without PS. */
	e = simmm_entry_mkleaf(simmm_mk_entry(0x200, SIMMM_PAGE_READONLY_EXEC));
	simmm_entry_arch_view(g, SIMMM_LVL_PMD, e, &v);
	assert_true(v.x86.ps && !v.x86.nx && !v.x86.rw);
	simmm_entry_arch_view(g, SIMMM_LVL_PMD, simmm_mk_entry(9, SIMMM_PAGE_TABLE), &v);
	assert_true(v.valid && !v.leaf && !v.x86.ps && v.x86.rw && v.x86.us);
	/* Swap entries are not valid to hardware. */
	simmm_entry_arch_view(g, SIMMM_LVL_PTE, simmm_make_writable_migration_entry(3), &v);
	assert_false(v.valid);
	assert_int_equal(v.raw, 0);
	assert_int_equal(simmm_entry_arch_view(NULL, SIMMM_LVL_PTE, e, &v), -EINVAL);
	assert_int_equal(simmm_entry_arch_view(g, 5, e, &v), -EINVAL);
	assert_int_equal(simmm_entry_arch_view(g, SIMMM_LVL_PTE, e, NULL), -EINVAL);
}

static void test_arch_arm64(void **state)
{
	const struct simmm_geometry *g = simmm_geometry_lookup("arm64-4k-48");
	const struct simmm_geometry *g52 = simmm_geometry_lookup("arm64-64k-52");
	struct simmm_arch_view v;
	simmm_entry_t clean = simmm_mk_entry(0x42, SIMMM_PAGE_SHARED);
	(void)state;
	/* Writable clean: DBM set, still AP[2] read-only until dirty. */
	simmm_entry_arch_view(g, SIMMM_LVL_PTE, clean, &v);
	assert_true(v.arm64.valid && v.arm64.table && v.arm64.dbm && v.arm64.af && v.arm64.ng);
	assert_int_equal(v.arm64.ap, 3);
	assert_true(v.arm64.pxn && v.arm64.uxn);
	simmm_entry_arch_view(g, SIMMM_LVL_PTE, simmm_pte_mkdirty(clean), &v);
	assert_int_equal(v.arm64.ap, 1);
	assert_int_equal((v.raw >> 6) & 3, 1);
	assert_int_equal(v.raw >> 51 & 1, 1);
	simmm_entry_arch_view(g, SIMMM_LVL_PTE, simmm_pte_mkexec(clean), &v);
	assert_false(v.arm64.uxn);
	assert_true(v.arm64.pxn);
	/* Block vs table at PMD. */
	simmm_entry_arch_view(g, SIMMM_LVL_PMD, simmm_entry_mkleaf(simmm_mk_entry(0x200, SIMMM_PAGE_READONLY)), &v);
	assert_false(v.arm64.table);
	assert_int_equal(v.raw & 3, 1);
	simmm_entry_arch_view(g, SIMMM_LVL_PMD, simmm_mk_entry(7, SIMMM_PAGE_TABLE), &v);
	assert_true(v.arm64.table);
	assert_int_equal(v.raw, 0x7000 | 3);
	/* 52-bit PA with 64K pages: PA[51:48] in descriptor bits [15:12]. */
	simmm_entry_arch_view(g52, SIMMM_LVL_PTE, simmm_mk_entry(0xf00000001ULL, SIMMM_PAGE_READONLY), &v);
	assert_int_equal(v.pa, 0xf000000010000ULL);
	assert_int_equal(v.raw & 0x0000ffffffff0000ULL, 0x10000);
	assert_int_equal((v.raw >> 12) & 0xf, 0xf);
}

static void test_arch_riscv(void **state)
{
	const struct simmm_geometry *g = simmm_geometry_lookup("riscv-sv39");
	struct simmm_arch_view v;
	(void)state;
	simmm_entry_arch_view(g, SIMMM_LVL_PTE, simmm_pte_mkdirty(simmm_mk_entry(0x99, SIMMM_PAGE_SHARED_EXEC)), &v);
	assert_true(v.riscv.v && v.riscv.r && v.riscv.w && v.riscv.x && v.riscv.u && v.riscv.a && v.riscv.d);
	assert_false(v.riscv.g);
	assert_int_equal(v.riscv.ppn, 0x99);
	assert_int_equal(v.raw, (0x99ULL << 10) | 0xdf);
	simmm_entry_arch_view(g, SIMMM_LVL_PMD, simmm_mk_entry(0x5, SIMMM_PAGE_TABLE), &v);
	assert_true(v.riscv.v);
	assert_false(v.riscv.r || v.riscv.w || v.riscv.x || v.riscv.u || v.riscv.a);
	assert_int_equal(v.raw, (0x5ULL << 10) | 1);
}

static void test_format(void **state)
{
	const struct simmm_geometry *g = simmm_geometry_lookup("x86_64-4level");
	char buf[256];
	int n;
	(void)state;
	n = simmm_entry_format(g, SIMMM_LVL_PMD,
			       simmm_entry_mkleaf(simmm_mk_entry(0x200, SIMMM_PAGE_SHARED)), buf,
			       sizeof(buf));
	assert_true(n > 0 && (size_t)n == strlen(buf));
	assert_non_null(strstr(buf, "leaf pfn=0x200"));
	assert_non_null(strstr(buf, "huge"));
	assert_non_null(strstr(buf, "x86 P RW US A PS NX"));
	simmm_entry_format(g, SIMMM_LVL_PTE,
			   simmm_make_migration_entry_dirty(simmm_make_writable_migration_entry(0x77)),
			   buf, sizeof(buf));
	assert_string_equal(buf, "migration-write pfn=0x77 dirty");
	simmm_entry_format(g, SIMMM_LVL_PTE, simmm_make_guard_swp_entry(), buf, sizeof(buf));
	assert_string_equal(buf, "marker 0x4 guard");
	simmm_entry_format(g, SIMMM_LVL_PTE, simmm_pte_swp_mkexclusive(simmm_swp_entry(2, 9)), buf,
			   sizeof(buf));
	assert_string_equal(buf, "swap type=2 offset=0x9 exclusive");
	simmm_entry_format(g, SIMMM_LVL_PTE, 0, buf, sizeof(buf));
	assert_string_equal(buf, "none");
	/* Truncation keeps the full length and a terminator. */
	n = simmm_entry_format(g, SIMMM_LVL_PTE, simmm_swp_entry(2, 9), buf, 5);
	assert_int_equal(n, (int)strlen("swap type=2 offset=0x9"));
	assert_string_equal(buf, "swap");
	assert_int_equal(simmm_entry_format(g, SIMMM_LVL_PTE, 0, NULL, 0), 4);
	assert_int_equal(simmm_entry_format(NULL, SIMMM_LVL_PTE, 0, buf, 8), -EINVAL);
	assert_int_equal(simmm_entry_format(g, SIMMM_LVL_PTE, 0, NULL, 8), -EINVAL);
	assert_int_equal(simmm_entry_format(g, 9, 0, buf, 8), -EINVAL);
}

/* The kernel-named aliases are the same functions. */
static void test_linux_aliases(void **state)
{
	pte_t p = pfn_pte(0x10, PAGE_SHARED);
	pmd_t m = pmd_mkhuge(pfn_pmd(0x200, PAGE_READONLY));
	swp_entry_t s = make_writable_migration_entry(0x33);
	(void)state;
	assert_true(pte_present(p) && pte_write(p) && !pte_dirty(p));
	assert_true(pte_dirty(pte_mkdirty(p)));
	assert_false(pte_write(pte_wrprotect(p)));
	assert_true(pmd_leaf(m) && !pmd_write(m));
	assert_int_equal(pmd_pfn(m), 0x200);
	assert_true(is_migration_entry(s) && is_writable_migration_entry(s));
	assert_int_equal(swp_offset_pfn(s), 0x33);
	assert_int_equal(swp_type(s), SWP_MIGRATION_WRITE);
	p = pte_swp_mkexclusive(swp_entry_to_pte(s));
	assert_true(pte_swp_exclusive(p) && is_swap_pte(p));
	assert_int_equal(pte_to_swp_entry(p).val, s.val);
	assert_true(is_pte_marker(make_pte_marker(PTE_MARKER_UFFD_WP)));
	assert_true(is_device_private_entry(make_readable_device_private_entry(1)));
	assert_int_equal(MAX_SWAPFILES, 24);
	assert_int_equal(SWP_PTE_MARKER, 31);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_present_bits),
		cmocka_unit_test(test_mk_entry_bounds),
		cmocka_unit_test(test_protnone_modify),
		cmocka_unit_test(test_pass_through),
		cmocka_unit_test(test_swap_entries),
		cmocka_unit_test(test_pfn_entries),
		cmocka_unit_test(test_migration_young_dirty),
		cmocka_unit_test(test_markers),
		cmocka_unit_test(test_random_round_trips),
		cmocka_unit_test(test_arch_x86),
		cmocka_unit_test(test_arch_arm64),
		cmocka_unit_test(test_arch_riscv),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_linux_aliases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
