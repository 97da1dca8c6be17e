// SPDX-License-Identifier: MIT
/*
 * fuzz_entries: page-table entry encode/decode properties on every built-in
 * geometry (the fuzzing counterpart of tests/test_pgtable_entries.c).
 *
 * Input: a sequence of 19-byte records (a short tail is zero-padded):
 *   byte 0      geometry index (mod simmm_geometry_count())
 *   byte 1      level (mod 8: 5..7 are invalid levels, which the arch view
 *               and format must refuse with -EINVAL)
 *   byte 2      kind (mod 5): 0 present, 1 swap-format (any type),
 *               2 pfn-carrying swap entry (migration/device/hwpoison),
 *               3 PTE marker, 4 raw word only
 *   bytes 3-10  A (little endian): pfn / swap type+offset / raw word
 *   bytes 11-18 B (little endian): flag bits / offset / marker bits
 * Every record also feeds A and B as raw words to the predicate
 * consistency checks. Any violated property aborts.
 */
#include <stdbool.h>
#include <string.h>

#include <simmm/simmm.h>

#include "fuzz_common.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct simmm_geometry *cur_g;
static unsigned cur_lvl;
static simmm_entry_t cur_e;

static void entries_dump(void)
{
	fprintf(stderr, "geometry %s level %u entry %#llx\n", cur_g ? cur_g->name : "?",
		cur_lvl, (unsigned long long)cur_e);
}

/* ---- present entries ---------------------------------------------------------- */

struct bit_op {
	const char *name;
	uint64_t bit, also; /* the bit the setter sets; others it may change */
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
	{"user", SIMMM_E_USER, 0, simmm_pte_mkuser, NULL, simmm_pte_user},
	{"leaf", SIMMM_E_LEAF, 0, simmm_entry_mkleaf, simmm_entry_clrleaf, NULL},
};

static void check_bit_op(const struct bit_op *op, simmm_entry_t base)
{
	uint64_t may = op->bit | op->also;
	simmm_entry_t on = op->set(base), off;

	FZ_CHECK(on & op->bit, "%s: set did not set", op->name);
	FZ_CHECK(!op->test || op->test(on), "%s: test after set", op->name);
	FZ_CHECK((on & ~may) == (base & ~may), "%s: set changed other bits %#llx", op->name,
		 (unsigned long long)on);
	FZ_CHECK(simmm_pte_pfn(on) == simmm_pte_pfn(base), "%s: pfn", op->name);
	FZ_CHECK(simmm_pte_present(on) && simmm_pte_protnone(on) == simmm_pte_protnone(base),
		 "%s: presence", op->name);
	if (!op->clr)
		return;
	off = op->clr(on);
	FZ_CHECK(!(off & op->bit), "%s: clear did not clear", op->name);
	FZ_CHECK(!op->test || !op->test(off), "%s: test after clear", op->name);
	FZ_CHECK((off & ~may) == (base & ~may), "%s: clear changed other bits", op->name);
	FZ_CHECK(op->set(off) == op->set(base), "%s: set(clear(x)) != set(x)", op->name);
	FZ_CHECK((op->clr(base) & ~op->also) == (off & ~op->also), "%s: clear not idempotent",
		 op->name);
}

/* Every swap-only helper leaves a present entry alone, and vice versa. */
static void check_swp_helpers_pass(simmm_entry_t e)
{
	FZ_CHECK(simmm_pte_swp_mkexclusive(e) == e && simmm_pte_swp_clear_exclusive(e) == e);
	FZ_CHECK(simmm_pte_swp_mksoft_dirty(e) == e && simmm_pte_swp_clear_soft_dirty(e) == e);
	FZ_CHECK(simmm_pte_swp_mkuffd_wp(e) == e && simmm_pte_swp_clear_uffd_wp(e) == e);
	FZ_CHECK(simmm_make_migration_entry_young(e) == e);
	FZ_CHECK(simmm_make_migration_entry_dirty(e) == e);
}

static void check_present_helpers_pass(simmm_entry_t e)
{
	for (size_t i = 0; i < ARRAY_SIZE(bit_ops); i++) {
		FZ_CHECK(bit_ops[i].set(e) == e, "%s", bit_ops[i].name);
		FZ_CHECK(!bit_ops[i].clr || bit_ops[i].clr(e) == e, "%s", bit_ops[i].name);
		FZ_CHECK(!bit_ops[i].test || !bit_ops[i].test(e), "%s", bit_ops[i].name);
	}
	FZ_CHECK(simmm_pte_mkprotnone(e) == e && simmm_pte_mkpresent(e) == e);
	FZ_CHECK(simmm_entry_modify(e, SIMMM_PAGE_SHARED) == e);
	FZ_CHECK(simmm_pte_pfn(e) == 0 && simmm_pte_flags(e) == 0);
}

static uint64_t geo_max_pfn(const struct simmm_geometry *g)
{
	return (1ULL << (g->pa_bits - g->page_shift)) - 1;
}

static void check_present(const struct simmm_geometry *g, unsigned lvl, uint64_t a, uint64_t b)
{
	bool leafable = lvl == SIMMM_LVL_PTE || (lvl < SIMMM_NR_LEVELS && g->level[lvl].leaf);
	uint64_t pfn = (b >> 63) ? a & SIMMM_E_PFN_MAX : a & geo_max_pfn(g);
	uint64_t prot = b & SIMMM_E_FLAGS_MASK & ~SIMMM_E_SWP & ~SIMMM_E_LEAF;
	simmm_entry_t e, m;

	if (!simmm_pte_present(prot))
		prot |= (b >> 62 & 1) ? SIMMM_E_PROTNONE : SIMMM_E_PRESENT;
	if (leafable && lvl > SIMMM_LVL_PTE && lvl < SIMMM_NR_LEVELS)
		pfn &= ~((1ULL << simmm_geometry_level_order(g, lvl)) - 1);
	cur_e = e = simmm_mk_entry(pfn, prot);
	FZ_CHECK(e != 0 && simmm_pte_present(e) && !simmm_is_swap_pte(e));
	FZ_CHECK(simmm_pte_pfn(e) == pfn, "pfn %#llx", (unsigned long long)pfn);
	FZ_CHECK(simmm_pte_flags(e) == prot, "prot %#llx", (unsigned long long)prot);
	FZ_CHECK(simmm_pte_protnone(e) == !(prot & SIMMM_E_PRESENT));
	FZ_CHECK(simmm_entry_is_leaf(e, (enum simmm_level)lvl) ==
		 (lvl == SIMMM_LVL_PTE));
	FZ_CHECK(simmm_entry_is_table(e, (enum simmm_level)lvl) ==
		 (lvl > SIMMM_LVL_PTE && lvl < SIMMM_NR_LEVELS &&
		  (prot & (SIMMM_E_PRESENT | SIMMM_E_PROTNONE)) == SIMMM_E_PRESENT));
	if (lvl > SIMMM_LVL_PTE && lvl < SIMMM_NR_LEVELS) {
		m = simmm_entry_mkleaf(e);
		FZ_CHECK(simmm_entry_is_leaf(m, (enum simmm_level)lvl));
		FZ_CHECK(!simmm_entry_is_table(m, (enum simmm_level)lvl));
		FZ_CHECK(simmm_entry_clrleaf(m) == e);
		e = m;
	}
	for (size_t i = 0; i < ARRAY_SIZE(bit_ops); i++)
		check_bit_op(&bit_ops[i], e);
	/* protnone round trip keeps everything but the two presence bits */
	m = simmm_pte_mkprotnone(e);
	FZ_CHECK(simmm_pte_present(m) && simmm_pte_protnone(m));
	FZ_CHECK((m & ~(SIMMM_E_PRESENT | SIMMM_E_PROTNONE)) ==
		 (e & ~(SIMMM_E_PRESENT | SIMMM_E_PROTNONE)));
	m = simmm_pte_mkpresent(m);
	FZ_CHECK(!simmm_pte_protnone(m) && (m & SIMMM_E_PRESENT) && !(m & SIMMM_E_PROTNONE));
	FZ_CHECK((m & ~(SIMMM_E_PRESENT | SIMMM_E_PROTNONE)) ==
		 (e & ~(SIMMM_E_PRESENT | SIMMM_E_PROTNONE)));
	/* pte_modify: pfn and the _PAGE_CHG_MASK bits stay, the rights change */
	{
		static const uint64_t prots[] = {SIMMM_PAGE_NONE, SIMMM_PAGE_READONLY,
						 SIMMM_PAGE_READONLY_EXEC, SIMMM_PAGE_SHARED,
						 SIMMM_PAGE_SHARED_EXEC, SIMMM_PAGE_KERNEL};
		const uint64_t chg = SIMMM_E_PRESENT | SIMMM_E_PROTNONE | SIMMM_E_WRITE |
				     SIMMM_E_USER | SIMMM_E_EXEC | SIMMM_E_GLOBAL;
		uint64_t np = prots[(b >> 14) % ARRAY_SIZE(prots)];

		m = simmm_entry_modify(e, np);
		FZ_CHECK(simmm_pte_pfn(m) == simmm_pte_pfn(e));
		FZ_CHECK((m & ~chg) == (e & ~chg));
		FZ_CHECK((m & chg) == (np & chg));
		FZ_CHECK(simmm_entry_modify(e, 0) == e);
	}
	/* swap-only helpers and predicates */
	check_swp_helpers_pass(e);
	FZ_CHECK(simmm_swp_type(e) == 0 && simmm_swp_offset(e) == 0);
	FZ_CHECK(simmm_pte_to_swp_entry(e) == 0 && !simmm_is_pfn_swap_entry(e));
	FZ_CHECK(!simmm_is_pte_marker(e) && !simmm_pte_none_mostly(e));
	{
		simmm_pfn_t p = ~0ULL;

		FZ_CHECK(simmm_entry_pfn(e, &p) && p == pfn);
	}
	/* bad inputs */
	FZ_CHECK(simmm_mk_entry(SIMMM_E_PFN_MAX + 1 + (a >> 50), prot) == 0);
	FZ_CHECK(simmm_mk_entry(pfn, prot | SIMMM_E_SWP) == 0);
	FZ_CHECK(simmm_mk_entry(pfn, prot & ~(SIMMM_E_PRESENT | SIMMM_E_PROTNONE)) == 0);
}

/* ---- swap-format entries ---------------------------------------------------------- */

static void check_swp_bits(simmm_entry_t e)
{
	static const struct {
		simmm_entry_t (*set)(simmm_entry_t), (*clr)(simmm_entry_t);
		bool (*test)(simmm_entry_t);
		uint64_t bit;
	} ops[] = {
		{simmm_pte_swp_mkexclusive, simmm_pte_swp_clear_exclusive, simmm_pte_swp_exclusive,
		 SIMMM_E_SWP_EXCLUSIVE},
		{simmm_pte_swp_mksoft_dirty, simmm_pte_swp_clear_soft_dirty,
		 simmm_pte_swp_soft_dirty, SIMMM_E_SWP_SOFT_DIRTY},
		{simmm_pte_swp_mkuffd_wp, simmm_pte_swp_clear_uffd_wp, simmm_pte_swp_uffd_wp,
		 SIMMM_E_SWP_UFFD_WP},
	};
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		simmm_entry_t on = ops[i].set(e);

		FZ_CHECK(ops[i].test(on) && !ops[i].test(ops[i].clr(on)));
		FZ_CHECK((on & ~ops[i].bit) == (e & ~ops[i].bit));
		FZ_CHECK(simmm_swp_type(on) == simmm_swp_type(e));
		FZ_CHECK(simmm_swp_offset(on) == simmm_swp_offset(e));
		FZ_CHECK(simmm_pte_to_swp_entry(on) == simmm_pte_to_swp_entry(e));
		FZ_CHECK(ops[i].clr(on) == (e & ~ops[i].bit));
	}
	check_present_helpers_pass(e);
}

/* Exactly the predicates of @type hold for swap-format @e. */
static void check_kind(simmm_entry_t e, unsigned type)
{
	bool mig = type >= SIMMM_SWP_MIGRATION_READ && type <= SIMMM_SWP_MIGRATION_WRITE;

	FZ_CHECK(simmm_is_swap_pte(e) && !simmm_pte_present(e) && !simmm_entry_none(e));
	FZ_CHECK(simmm_swp_type(e) == type, "type %u", type);
	FZ_CHECK(simmm_non_swap_entry(e) == (type >= SIMMM_MAX_SWAPFILES));
	FZ_CHECK(simmm_is_real_swap_entry(e) == (type < SIMMM_MAX_SWAPFILES));
	FZ_CHECK(simmm_is_migration_entry(e) == mig);
	FZ_CHECK(simmm_is_readable_migration_entry(e) == (type == SIMMM_SWP_MIGRATION_READ));
	FZ_CHECK(simmm_is_readable_exclusive_migration_entry(e) ==
		 (type == SIMMM_SWP_MIGRATION_READ_EXCLUSIVE));
	FZ_CHECK(simmm_is_writable_migration_entry(e) == (type == SIMMM_SWP_MIGRATION_WRITE));
	FZ_CHECK(simmm_is_device_private_entry(e) ==
		 (type == SIMMM_SWP_DEVICE_WRITE || type == SIMMM_SWP_DEVICE_READ));
	FZ_CHECK(simmm_is_writable_device_private_entry(e) == (type == SIMMM_SWP_DEVICE_WRITE));
	FZ_CHECK(simmm_is_device_exclusive_entry(e) == (type == SIMMM_SWP_DEVICE_EXCLUSIVE));
	FZ_CHECK(simmm_is_hwpoison_entry(e) == (type == SIMMM_SWP_HWPOISON));
	FZ_CHECK(simmm_is_pte_marker(e) == (type == SIMMM_SWP_PTE_MARKER));
	FZ_CHECK(simmm_is_pfn_swap_entry(e) ==
		 (type >= SIMMM_SWP_HWPOISON && type <= SIMMM_SWP_DEVICE_EXCLUSIVE));
	FZ_CHECK(simmm_pte_none_mostly(e) == (type == SIMMM_SWP_PTE_MARKER));
}

static void check_swap(unsigned type, uint64_t off, uint64_t bits)
{
	simmm_entry_t e = simmm_swp_entry(type, off);

	cur_e = e;
	FZ_CHECK(e != 0);
	FZ_CHECK(simmm_swp_offset(e) == off && simmm_pte_to_swp_entry(e) == e);
	check_kind(e, type);
	check_swp_bits(e);
	e |= bits & SIMMM_E_SWP_PTE_BITS;
	cur_e = e;
	check_kind(e, type);
	check_swp_bits(e);
	FZ_CHECK(simmm_pte_to_swp_entry(e) == simmm_swp_entry(type, off));
	FZ_CHECK(simmm_swp_entry(type + 32, off) == 0);
	FZ_CHECK(off > (SIMMM_SWP_OFFSET_MAX >> 1) ||
		 simmm_swp_entry(type, off | (SIMMM_SWP_OFFSET_MAX + 1)) == 0);
}

struct pfn_kind {
	simmm_entry_t (*make)(simmm_pfn_t);
	unsigned type;
};

static const struct pfn_kind pfn_kinds[] = {
	{simmm_make_readable_migration_entry, SIMMM_SWP_MIGRATION_READ},
	{simmm_make_readable_exclusive_migration_entry, SIMMM_SWP_MIGRATION_READ_EXCLUSIVE},
	{simmm_make_writable_migration_entry, SIMMM_SWP_MIGRATION_WRITE},
	{simmm_make_writable_device_private_entry, SIMMM_SWP_DEVICE_WRITE},
	{simmm_make_readable_device_private_entry, SIMMM_SWP_DEVICE_READ},
	{simmm_make_device_exclusive_entry, SIMMM_SWP_DEVICE_EXCLUSIVE},
	{simmm_make_hwpoison_entry, SIMMM_SWP_HWPOISON},
};

static void check_pfn_swap(const struct simmm_geometry *g, uint64_t a, uint64_t b)
{
	const struct pfn_kind *k = &pfn_kinds[b % ARRAY_SIZE(pfn_kinds)];
	simmm_pfn_t pfn = (b >> 8 & 1) ? a & SIMMM_SWP_PFN_MASK : a & geo_max_pfn(g), out = ~0ULL;
	simmm_entry_t e = k->make(pfn);
	bool mig = simmm_is_migration_entry(e);

	cur_e = e;
	check_kind(e, k->type);
	FZ_CHECK(simmm_swp_offset_pfn(e) == pfn && simmm_swp_offset(e) == pfn);
	FZ_CHECK(simmm_entry_pfn(e, &out) && out == pfn);
	FZ_CHECK(!simmm_is_migration_entry_young(e) && !simmm_is_migration_entry_dirty(e));
	check_swp_bits(e);
	if (b >> 9 & 1)
		e = simmm_make_migration_entry_young(e);
	if (b >> 10 & 1)
		e = simmm_make_migration_entry_dirty(e);
	cur_e = e;
	check_kind(e, k->type);
	FZ_CHECK(simmm_is_migration_entry_young(e) == (mig && (b >> 9 & 1)));
	FZ_CHECK(simmm_is_migration_entry_dirty(e) == (mig && (b >> 10 & 1)));
	FZ_CHECK(simmm_swp_offset_pfn(e) == pfn, "young/dirty leaked into the pfn");
	check_swp_bits(e);
	FZ_CHECK(k->make(SIMMM_SWP_PFN_MASK + 1 + (a >> 48)) == 0);
}

static void check_marker(uint64_t b)
{
	uint64_t mk = b & SIMMM_PTE_MARKER_MASK;
	simmm_entry_t e = simmm_make_pte_marker(mk);

	cur_e = e;
	FZ_CHECK(simmm_make_pte_marker(b) == ((b & ~SIMMM_PTE_MARKER_MASK) ? 0 : e));
	if (!mk) {
		FZ_CHECK(e == 0);
		return;
	}
	check_kind(e, SIMMM_SWP_PTE_MARKER);
	FZ_CHECK(simmm_pte_marker_get(e) == mk);
	FZ_CHECK(simmm_is_poisoned_swp_entry(e) == !!(mk & SIMMM_PTE_MARKER_POISONED));
	FZ_CHECK(simmm_is_guard_swp_entry(e) == !!(mk & SIMMM_PTE_MARKER_GUARD));
	FZ_CHECK(!simmm_entry_pfn(e, &(simmm_pfn_t){0}));
	check_swp_bits(e);
}

/* ---- raw words ------------------------------------------------------------------------ */

static bool implies(bool a, bool b)
{
	return !a || b;
}

static void check_view(const struct simmm_geometry *g, unsigned lvl, simmm_entry_t e)
{
	struct simmm_arch_view v;
	int rc = simmm_entry_arch_view(g, (enum simmm_level)lvl, e, &v);
	bool table = simmm_entry_is_table(e, (enum simmm_level)lvl);

	if (lvl >= SIMMM_NR_LEVELS) {
		FZ_CHECK(rc == -EINVAL);
		return;
	}
	FZ_CHECK(rc == 0 && v.arch == g->arch);
	FZ_CHECK(v.valid == ((e & SIMMM_E_PRESENT) && !(e & SIMMM_E_SWP)));
	if (!v.valid) {
		FZ_CHECK(v.raw == 0 && v.pa == 0 && !v.leaf);
		return;
	}
	FZ_CHECK(v.leaf == !table);
	FZ_CHECK(v.pa == simmm_pte_pfn(e) << g->page_shift);
	switch (g->arch) {
	case SIMMM_ARCH_X86_64:
		FZ_CHECK(v.x86.p && (v.raw & 1) && v.x86.rw == !!(e & SIMMM_E_WRITE));
		FZ_CHECK(v.x86.nx == !(e & SIMMM_E_EXEC) && (v.raw >> 63) == v.x86.nx);
		FZ_CHECK(v.x86.ps == (v.leaf && lvl > SIMMM_LVL_PTE));
		FZ_CHECK(implies(!v.leaf, !v.x86.d && !v.x86.g));
		FZ_CHECK((v.raw & 0x000ffffffffff000ULL) == (v.pa & 0x000ffffffffff000ULL));
		break;
	case SIMMM_ARCH_ARM64:
		FZ_CHECK(v.arm64.valid && (v.raw & 1));
		FZ_CHECK(v.arm64.table == (table || lvl == SIMMM_LVL_PTE));
		FZ_CHECK(((v.raw >> 1) & 1) == v.arm64.table);
		if (v.leaf) {
			FZ_CHECK(v.arm64.dbm == !!(e & SIMMM_E_WRITE));
			FZ_CHECK(((v.arm64.ap >> 1) & 1) ==
				 !((e & SIMMM_E_WRITE) && (e & SIMMM_E_DIRTY)));
			FZ_CHECK((v.arm64.ap & 1) == !!(e & SIMMM_E_USER));
			FZ_CHECK(implies(!v.arm64.uxn, (e & SIMMM_E_USER) && (e & SIMMM_E_EXEC)));
			FZ_CHECK(((v.raw >> 6) & 3) == v.arm64.ap);
		}
		if (g->pa_bits <= 48)
			FZ_CHECK((v.raw & 0x0000fffffffff000ULL &
				  ~((1ULL << g->page_shift) - 1)) ==
				 (v.pa & 0x0000fffffffff000ULL & ~((1ULL << g->page_shift) - 1)));
		break;
	case SIMMM_ARCH_RISCV:
		FZ_CHECK(v.riscv.v && (v.raw & 1) && v.riscv.ppn == v.pa >> 12);
		FZ_CHECK(v.leaf == (v.riscv.r || v.riscv.w || v.riscv.x));
		FZ_CHECK(implies(v.leaf, v.riscv.r && v.riscv.w == !!(e & SIMMM_E_WRITE)));
		FZ_CHECK((v.raw >> 10) == (v.riscv.ppn & (~0ULL >> 10)));
		break;
	default:
		FZ_CHECK(v.raw == e);
		break;
	}
}

static void check_format(const struct simmm_geometry *g, unsigned lvl, simmm_entry_t e,
			 unsigned cut)
{
	char buf[512], small[64];
	int n = simmm_entry_format(g, (enum simmm_level)lvl, e, buf, sizeof(buf));
	int m;

	if (lvl >= SIMMM_NR_LEVELS) {
		FZ_CHECK(n == -EINVAL);
		return;
	}
	FZ_CHECK(n > 0 && (size_t)n < sizeof(buf) && (size_t)n == strlen(buf), "n %d", n);
	FZ_CHECK(simmm_entry_format(g, (enum simmm_level)lvl, e, NULL, 0) == n);
	cut %= sizeof(small);
	memset(small, 'x', sizeof(small));
	m = simmm_entry_format(g, (enum simmm_level)lvl, e, small, cut);
	FZ_CHECK(m == n);
	if (cut) {
		size_t keep = (size_t)n < cut - 1 ? (size_t)n : cut - 1;

		FZ_CHECK(small[keep] == 0 && memcmp(small, buf, keep) == 0, "truncation");
	} else {
		FZ_CHECK(small[0] == 'x', "wrote into a zero-length buffer");
	}
	if (e == 0)
		FZ_CHECK(strcmp(buf, "none") == 0);
	else if (simmm_pte_present(e))
		FZ_CHECK(strncmp(buf, simmm_entry_is_table(e, (enum simmm_level)lvl) ? "table pfn="
										     : "leaf pfn=",
				 simmm_entry_is_table(e, (enum simmm_level)lvl) ? 10 : 9) == 0,
			 "%s", buf);
}

/* Predicates on any 64-bit word: never crash, and agree with each other. */
static void check_raw(const struct simmm_geometry *g, unsigned lvl, simmm_entry_t e, unsigned cut)
{
	const uint64_t junk = (1ULL << 6) | (1ULL << 7) | (1ULL << 13);
	bool none = simmm_entry_none(e), pres = simmm_pte_present(e), swp = simmm_is_swap_pte(e);
	simmm_pfn_t pfn = ~0ULL;

	cur_e = e;
	FZ_CHECK(none == (e == 0));
	FZ_CHECK(pres == !!(e & (SIMMM_E_PRESENT | SIMMM_E_PROTNONE)));
	FZ_CHECK((int)none + (int)pres + (int)swp <= 1);
	FZ_CHECK(swp == (!pres && (e & SIMMM_E_SWP)));
	FZ_CHECK(implies(simmm_pte_protnone(e), pres && !(e & SIMMM_E_PRESENT)));
	if (lvl < SIMMM_NR_LEVELS) {
		bool leaf = simmm_entry_is_leaf(e, (enum simmm_level)lvl);
		bool table = simmm_entry_is_table(e, (enum simmm_level)lvl);

		FZ_CHECK(!(leaf && table));
		FZ_CHECK(implies(leaf || table, pres));
		FZ_CHECK(implies(table, lvl > SIMMM_LVL_PTE && !(e & SIMMM_E_LEAF)));
		FZ_CHECK(implies(pres && lvl == SIMMM_LVL_PTE, leaf));
	} else {
		FZ_CHECK(!simmm_entry_is_leaf(e, (enum simmm_level)lvl));
		FZ_CHECK(!simmm_entry_is_table(e, (enum simmm_level)lvl));
	}
	/* swap-type lattice */
	FZ_CHECK(implies(simmm_is_readable_migration_entry(e) ||
				 simmm_is_readable_exclusive_migration_entry(e) ||
				 simmm_is_writable_migration_entry(e),
			 simmm_is_migration_entry(e)));
	FZ_CHECK(implies(simmm_is_migration_entry(e),
			 (int)simmm_is_readable_migration_entry(e) +
					 (int)simmm_is_readable_exclusive_migration_entry(e) +
					 (int)simmm_is_writable_migration_entry(e) == 1));
	FZ_CHECK(implies(simmm_is_migration_entry(e), simmm_is_pfn_swap_entry(e)));
	FZ_CHECK(implies(simmm_is_writable_device_private_entry(e),
			 simmm_is_device_private_entry(e)));
	FZ_CHECK(implies(simmm_is_device_private_entry(e), simmm_is_pfn_swap_entry(e)));
	FZ_CHECK(implies(simmm_is_device_exclusive_entry(e), simmm_is_pfn_swap_entry(e)));
	FZ_CHECK(implies(simmm_is_hwpoison_entry(e), simmm_is_pfn_swap_entry(e)));
	FZ_CHECK(implies(simmm_is_pfn_swap_entry(e), simmm_non_swap_entry(e) && swp));
	FZ_CHECK(implies(simmm_is_pte_marker(e), simmm_non_swap_entry(e) &&
						 !simmm_is_pfn_swap_entry(e)));
	FZ_CHECK(simmm_is_real_swap_entry(e) == (swp && !simmm_non_swap_entry(e)));
	FZ_CHECK(implies(simmm_non_swap_entry(e), swp));
	FZ_CHECK(implies(simmm_pte_marker_get(e) != 0, simmm_is_pte_marker(e)));
	FZ_CHECK(implies(simmm_is_poisoned_swp_entry(e) || simmm_is_guard_swp_entry(e),
			 simmm_is_pte_marker(e)));
	FZ_CHECK(simmm_pte_none_mostly(e) == (none || simmm_is_pte_marker(e)));
	FZ_CHECK(implies(simmm_is_migration_entry_young(e) || simmm_is_migration_entry_dirty(e),
			 simmm_is_migration_entry(e)));
	/* field accessors */
	FZ_CHECK(simmm_pte_pfn(e) == (pres ? e >> SIMMM_E_PFN_SHIFT : 0));
	FZ_CHECK(simmm_pte_flags(e) == (pres ? e & SIMMM_E_FLAGS_MASK : 0));
	FZ_CHECK(simmm_entry_pfn(e, &pfn) == (pres || simmm_is_pfn_swap_entry(e)));
	if (pres)
		FZ_CHECK(pfn == simmm_pte_pfn(e));
	else if (simmm_is_pfn_swap_entry(e))
		FZ_CHECK(pfn == simmm_swp_offset_pfn(e) && pfn <= SIMMM_SWP_PFN_MASK);
	FZ_CHECK(implies(!simmm_is_pfn_swap_entry(e), simmm_swp_offset_pfn(e) == 0));
	if (swp) {
		unsigned t = simmm_swp_type(e);

		FZ_CHECK(t < 32 && simmm_swp_offset(e) == e >> SIMMM_SWP_OFFSET_SHIFT);
		FZ_CHECK((simmm_pte_to_swp_entry(e) & ~junk) ==
			 simmm_swp_entry(t, simmm_swp_offset(e)));
		check_kind(e, t);
		check_present_helpers_pass(e);
	} else {
		FZ_CHECK(simmm_swp_type(e) == 0 && simmm_swp_offset(e) == 0);
		FZ_CHECK(simmm_pte_to_swp_entry(e) == 0);
		check_swp_helpers_pass(e);
		FZ_CHECK(!simmm_pte_swp_exclusive(e) && !simmm_pte_swp_soft_dirty(e) &&
			 !simmm_pte_swp_uffd_wp(e));
		if (!pres)
			check_present_helpers_pass(e);
	}
	check_view(g, lvl, e);
	check_format(g, lvl, e, cut);
}

int fz_entries_one(const uint8_t *data, size_t size);

int fz_entries_one(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	unsigned ng = simmm_geometry_count();

	fz_dump_hook = entries_dump;
	fz_cur_sim = NULL;

	FZ_CHECK(ng > 0 && simmm_geometry_at(ng) == NULL);
	do {
		const struct simmm_geometry *g = simmm_geometry_at(fz_u8(&in) % ng);
		unsigned lvl = fz_u8(&in) % 8, kind = fz_u8(&in) % 5;
		uint64_t a = fz_u64(&in), b = fz_u64(&in);

		cur_g = g;
		cur_lvl = lvl;
		FZ_CHECK(g && simmm_geometry_lookup(g->name) == g);
		switch (kind) {
		case 0:
			check_present(g, lvl, a, b);
			break;
		case 1:
			check_swap((unsigned)(a % 32), b & SIMMM_SWP_OFFSET_MAX, a >> 8);
			break;
		case 2:
			check_pfn_swap(g, a, b);
			break;
		case 3:
			check_marker(b);
			break;
		default:
			break;
		}
		if (kind < 4 && cur_e)
			check_raw(g, lvl, cur_e, (unsigned)(a >> 56));
		check_raw(g, lvl, a, (unsigned)b);
		check_raw(g, lvl, b, (unsigned)a);
	} while (in.left);
	return 0;
}

FZ_DEFINE_ENTRY(fz_entries_one)
