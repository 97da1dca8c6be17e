// SPDX-License-Identifier: MIT
/*
 * THP: the anonymous PMD fault, the huge zero page (and the THP a write or
 * unshare puts in its place since v6.13, or the split when none can be
 * had), splits on partial munmap/mprotect, COW after fork, MADV_COLLAPSE,
 * reclaim of a THP (split + swap), policy, and allocation-failure sweeps
 * over a THP fault and over a write to the huge zero PMD.
 */
#include "test_mm_ext_util.h"

#include <simmm/mmu_notifier.h>


/* @a is mapped by a THP PMD as a fresh anonymous THP fault leaves it:
 * dirty, writable iff @writable, one reference (plus one per FOLL_PIN of
 * @pins) and the entire mapcount, anon-exclusive, on the LRU. Returns the
 * head pfn. */
static simmm_pfn_t assert_fresh_thp(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t a,
				    bool writable, int pins)
{
	struct simmm_translation t = mx_tr(mm, a);
	simmm_pfn_t head = t.pfn;
	struct simmm_page *folio = simmm__pfn_to_page(sim, head);

	assert_int_equal(t.level, SIMMM_LVL_PMD);
	assert_true(t.present);
	assert_int_equal(t.write, writable);
	assert_true(simmm_pte_dirty(t.entry));
	assert_false(simmm_pte_special(t.entry));
	assert_false(simmm__is_huge_zero_pfn(sim, head));
	struct simmm_page_info pi = mx_page(sim, head);
	assert_int_equal(pi.head_pfn, head);
	assert_int_equal(pi.order, 9);
	assert_int_equal(pi.refcount, 1 + pins);
	assert_int_equal(pi.pincount, pins);
	assert_int_equal(pi.mapcount, 0); /* the entire mapcount holds the mapping */
	assert_int_equal(simmm__folio_mapcount(sim, folio), 1);
	assert_true(folio->flags & PG_anon);
	assert_true(folio->flags & PG_anon_exclusive);
	assert_true(folio->flags & PG_lru);
	return head;
}

static void test_thp_fault(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);

	mx_write(mm, a + 5 * PS, 5);
	TU_CHECK(sim);
	assert_fresh_thp(sim, mm, a, true, 0); /* PMD leaf, order 9, one ref, entire mapcount */
	struct simmm_mm_stats st = mx_stats(mm);
	assert_int_equal(st.thp_faults, 1);
	assert_int_equal(st.rss_anon, NR);
	mx_expect(mm, a + 5 * PS, 5);
	mx_expect_zero(mm, a + 6 * PS);
	TU_CHECK(sim);
	/* Policy never: small pages. */
	TU_ASSERT_OK(simmm_set_thp_policy(sim, SIMMM_THP_NEVER));
	simmm_addr_t b = thp_region(mm, PMD);
	mx_write(mm, b, 1);
	assert_int_equal(mx_tr(mm, b).level, SIMMM_LVL_PTE);
	assert_int_equal(simmm_set_thp_policy(sim, 7), -EINVAL);
	assert_int_equal(simmm_set_thp_policy(NULL, SIMMM_THP_ALWAYS), -EINVAL);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_thp_policy_always_and_fallback(void **state)
{
	(void)state;
	/* 4 MiB of RAM: one PMD folio fits, the second fault falls back. */
	simmm_sim *sim = mx_sim(NULL, 4 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);

	TU_ASSERT_OK(simmm_set_thp_policy(sim, SIMMM_THP_ALWAYS));
	simmm_addr_t a = mx_anon_aligned(mm, PMD, 2 * PMD);
	mx_write(mm, a, 1);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PMD);
	mx_write(mm, a + PMD, 2);
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a + PMD).level, SIMMM_LVL_PTE);
	assert_int_equal(mx_stats(mm).thp_faults, 1);
	mx_expect(mm, a, 1);
	mx_expect(mm, a + PMD, 2);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_huge_zero(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);

	mx_expect_zero(mm, a + 3 * PS);
	TU_CHECK(sim);
	struct simmm_translation t = mx_tr(mm, a);
	assert_int_equal(t.level, SIMMM_LVL_PMD);
	assert_false(t.write);
	assert_true(simmm_pte_special(t.entry));
	assert_int_equal(simmm_pte_pfn(t.entry), simmm__huge_zero_pfn(sim));
	assert_int_equal(mx_stats(mm).zero_faults, 1);
	assert_int_equal(mx_stats(mm).rss_anon, 0);
	/* A write maps a new THP in its place (v6.13; the split fallback is
	 * test_huge_zero_wp_fallback). */
	mx_write(mm, a + 3 * PS, 9);
	TU_CHECK(sim);
	t = mx_tr(mm, a);
	assert_int_equal(t.level, SIMMM_LVL_PMD);
	assert_true(t.write);
	assert_false(simmm__is_huge_zero_pfn(sim, t.pfn));
	assert_int_equal(mx_stats(mm).rss_anon, NR);
	mx_expect(mm, a + 3 * PS, 9);
	mx_expect_zero(mm, a + 4 * PS);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* ---- a write or unshare on the huge zero PMD ---------------------------------------- */

/* A notifier watching one address: each bracket's event and range, and
 * what the address maps when the bracket opens and closes. */
struct hz_log {
	struct simmm_mmu_notifier mn;
	struct simmm_mm *mm;
	simmm_addr_t addr;
	int nstart, nend;
	struct simmm_mmu_notifier_range first;
	simmm_pfn_t pfn_at_start, pfn_at_end;
};

static int hz_log_start(struct simmm_mmu_notifier *mn, const struct simmm_mmu_notifier_range *r)
{
	struct hz_log *l = (struct hz_log *)(void *)mn;

	if (!l->nstart++) {
		l->first = *r;
		l->pfn_at_start = mx_tr(l->mm, l->addr).pfn;
	}
	return 0;
}

static void hz_log_end(struct simmm_mmu_notifier *mn, const struct simmm_mmu_notifier_range *r)
{
	struct hz_log *l = (struct hz_log *)(void *)mn;

	(void)r;
	if (!l->nend++)
		l->pfn_at_end = mx_tr(l->mm, l->addr).pfn;
}

static const struct simmm_mmu_notifier_ops hz_log_ops = {
	.invalidate_range_start = hz_log_start,
	.invalidate_range_end = hz_log_end,
};

static void hz_log_register(struct hz_log *l, struct simmm_mm *mm, simmm_addr_t addr)
{
	memset(l, 0, sizeof(*l));
	l->mn.ops = &hz_log_ops;
	l->mm = mm;
	l->addr = addr;
	TU_ASSERT_OK(simmm_mmu_notifier_register(&l->mn, mm));
}

/* A read fault maps the huge zero PMD at @a (a PMD-aligned THP region). */
static void map_huge_zero(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t a)
{
	mx_expect_zero(mm, a + PS);
	TU_CHECK(sim);
	struct simmm_translation t = mx_tr(mm, a);
	assert_int_equal(t.level, SIMMM_LVL_PMD);
	assert_false(t.write);
	assert_true(simmm__is_huge_zero_pfn(sim, t.pfn));
}

/*
 * v6.13 ("mm: Allocate THP on hugezeropage wp-fault"): a write to the huge
 * zero PMD replaces it by a new THP inside one CLEAR invalidation of the
 * PMD range; the THP is accounted as a fresh THP fault's, no page-table
 * page is added, and the huge zero folio's own counts do not move.
 */
static void test_huge_zero_wp_thp(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);
	struct hz_log l;

	map_huge_zero(sim, mm, a);
	simmm_pfn_t hz = simmm__huge_zero_pfn(sim);
	struct simmm_page_info hz_before = mx_page(sim, hz);
	struct simmm_mm_stats before = mx_stats(mm);
	hz_log_register(&l, mm, a);
	mx_write(mm, a + 3 * PS, 9);
	TU_CHECK(sim);
	simmm_pfn_t head = assert_fresh_thp(sim, mm, a, true, 0);
	struct simmm_mm_stats st = mx_stats(mm);
	assert_int_equal(st.rss_anon, NR);
	assert_int_equal(st.thp_faults, before.thp_faults + 1);
	assert_int_equal(st.zero_faults, before.zero_faults);
	assert_int_equal(st.cow_faults, before.cow_faults);
	assert_int_equal(st.pgtable_pages, before.pgtable_pages);
	/* One CLEAR over the PMD; the zero PMD is still there when it opens,
	 * the THP when it closes. */
	assert_int_equal(l.nstart, 1);
	assert_int_equal(l.nend, 1);
	assert_int_equal(l.first.event, SIMMM_MMU_NOTIFY_CLEAR);
	assert_int_equal(l.first.start, a);
	assert_int_equal(l.first.end, a + PMD);
	assert_ptr_equal(l.first.mm, mm);
	assert_int_equal(l.pfn_at_start, hz);
	assert_int_equal(l.pfn_at_end, head);
	/* The huge zero folio took nothing and gives nothing back. */
	struct simmm_page_info hz_after = mx_page(sim, hz);
	assert_int_equal(hz_after.refcount, hz_before.refcount);
	assert_int_equal(hz_after.mapcount, hz_before.mapcount);
	assert_int_equal(simmm__huge_zero_pfn(sim), hz);
	/* The written bytes read back, every other page reads zero. */
	mx_expect(mm, a + 3 * PS, 9);
	mx_expect_zero(mm, a);
	mx_expect_zero(mm, a + 4 * PS);
	mx_expect_zero(mm, a + (NR - 1) * PS);
	/* The THP is writable: a write elsewhere in it faults no more. */
	mx_write(mm, a + 100 * PS, 10);
	assert_int_equal(l.nstart, 1);
	assert_int_equal(simmm_pte_pfn(mx_tr(mm, a).entry), head);
	mx_expect(mm, a + 100 * PS, 10);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&l.mn, mm));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * Ways to make the THP allocation of a write to the huge zero PMD fail:
 *  - HZ_SHORT: take every free block of the PMD order (splitting larger
 *    ones), so only smaller fragments are left: the buddy allocator has
 *    no PMD-order folio; small pages and page tables still fit.
 *  - HZ_SECTION: take the free PMD blocks of memmap section 0 only. The
 *    buddy allocator serves low pfns first and the rest of RAM is one
 *    larger free block (see buddy_populate()), so the THP must come from
 *    section 1, whose memmap is created lazily, on first use: its
 *    allocation then makes a host allocation that the fault injector can
 *    fail (a THP taken from a populated section allocates nothing the
 *    injector sees). Needs more than one section of RAM (64 MiB).
 * Returns 0; -ENOMEM when taking a block met an injected failure; -EXDEV
 * when the allocator no longer lays RAM out as this relies on.
 */
enum hz_mode { HZ_SHORT, HZ_SECTION };

/* Does memmap section 0 still hold a wholly free PMD-aligned range? */
static bool section0_has_free_pmd(simmm_sim *sim)
{
	for (simmm_pfn_t p = 0; p + NR <= SIMMM_SECTION_PAGES && p + NR <= sim->ram_pages; p += NR) {
		bool all = true;

		for (simmm_pfn_t q = p; q < p + NR && all; q++) {
			struct simmm_page_info pi;

			all = !simmm_page_info(sim, q, &pi) && pi.free;
		}
		if (all)
			return true;
	}
	return false;
}

static int take_blocks(simmm_sim *sim, enum hz_mode mode, simmm_pfn_t *held, unsigned max,
		       unsigned *n)
{
	for (;;) {
		uint64_t hits = simmm_fault_hits(sim);
		simmm_pfn_t pfn;

		if (mode == HZ_SECTION && !section0_has_free_pmd(sim))
			break;
		if (*n == max)
			return -EXDEV;
		if (simmm_page_alloc(sim, 9, &pfn)) {
			if (simmm_fault_hits(sim) != hits)
				return -ENOMEM;
			if (mode == HZ_SHORT)
				break; /* no PMD-order block left */
			return -EXDEV;
		}
		held[(*n)++] = pfn;
		if (mode == HZ_SECTION && pfn >= SIMMM_SECTION_PAGES)
			return -EXDEV;
	}
	if (mode == HZ_SECTION && sim->memmap[1])
		return -EXDEV;
	return 0;
}

static void put_blocks(simmm_sim *sim, const simmm_pfn_t *held, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		TU_ASSERT_OK(simmm_page_put(sim, held[i]));
}

/*
 * No PMD-order folio to be had (RAM short of whole PMD blocks): the old
 * behaviour, as
 * upstream's VM_FAULT_FALLBACK path: the PMD is split into small zero-page
 * ptes (CLEAR over the PMD) and the PTE path COWs one small page (CLEAR
 * over the page).
 */
static void test_huge_zero_wp_fallback(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 16 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);
	simmm_pfn_t held[64];
	struct hz_log l;

	unsigned nheld = 0;
	struct simmm_phys_stats ps;

	map_huge_zero(sim, mm, a);
	TU_ASSERT_OK(take_blocks(sim, HZ_SHORT, held, 64, &nheld));
	TU_ASSERT_OK(simmm_phys_stats(sim, &ps));
	assert_int_equal(ps.free_blocks[9], 0);
	assert_true(ps.free_pages >= 2); /* a table and the COW page fit */
	struct simmm_mm_stats before = mx_stats(mm);
	hz_log_register(&l, mm, a);
	mx_write(mm, a + 3 * PS, 9);
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PTE);
	assert_int_equal(mx_tr(mm, a).pfn, simmm_zero_pfn(sim));
	assert_int_equal(mx_tr(mm, a + (NR - 1) * PS).pfn, simmm_zero_pfn(sim));
	struct simmm_translation t = mx_tr(mm, a + 3 * PS);
	assert_int_not_equal(t.pfn, simmm_zero_pfn(sim));
	assert_true(t.write);
	assert_int_equal(mx_page(sim, t.pfn).order, 0);
	assert_int_equal(mx_page(sim, t.pfn).refcount, 1);
	assert_int_equal(mx_page(sim, t.pfn).mapcount, 1);
	struct simmm_mm_stats st = mx_stats(mm);
	assert_int_equal(st.rss_anon, 1);
	assert_int_equal(st.thp_faults, before.thp_faults);
	/* The split populated the zero PMD's deposited table: no new one. */
	assert_int_equal(st.pgtable_pages, before.pgtable_pages);
	assert_int_equal(l.nstart, 2);
	assert_int_equal(l.nend, 2);
	assert_int_equal(l.first.event, SIMMM_MMU_NOTIFY_CLEAR);
	assert_int_equal(l.first.start, a);
	assert_int_equal(l.first.end, a + PMD);
	mx_expect(mm, a + 3 * PS, 9);
	mx_expect_zero(mm, a + 4 * PS);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&l.mn, mm));
	TU_ASSERT_OK(simmm_mmput(mm));
	put_blocks(sim, held, nheld);
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * An injected allocation failure of the THP (its memmap section cannot be
 * created) falls back to the split as well; the split and the COW, which
 * allocate afterwards, succeed.
 */
static void test_huge_zero_wp_injected_failure(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 128 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);
	struct simmm_fault_config fc = {.mode = SIMMM_FAULT_NTH, .nth = 1};
	simmm_pfn_t held[64];
	unsigned nheld = 0;

	map_huge_zero(sim, mm, a);
	TU_ASSERT_OK(take_blocks(sim, HZ_SECTION, held, 64, &nheld));
	TU_CHECK(sim);
	uint64_t hits = simmm_fault_hits(sim);
	TU_ASSERT_OK(simmm_fault_inject(sim, &fc));
	mx_write(mm, a + 3 * PS, 9);
	TU_ASSERT_OK(simmm_fault_inject(sim, NULL));
	assert_int_equal(simmm_fault_hits(sim), hits + 1);
	assert_null(sim->memmap[1]); /* the THP's section was never created */
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PTE);
	assert_int_equal(mx_tr(mm, a).pfn, simmm_zero_pfn(sim));
	assert_int_not_equal(mx_tr(mm, a + 3 * PS).pfn, simmm_zero_pfn(sim));
	assert_int_equal(mx_stats(mm).rss_anon, 1);
	assert_int_equal(mx_stats(mm).thp_faults, 0);
	mx_expect(mm, a + 3 * PS, 9);
	mx_expect_zero(mm, a + 4 * PS);
	/* Without the injection the next huge zero PMD's write gets its THP
	 * from section 1. */
	simmm_addr_t b = thp_region(mm, PMD);
	map_huge_zero(sim, mm, b);
	mx_write(mm, b, 4);
	TU_CHECK(sim);
	simmm_pfn_t head = assert_fresh_thp(sim, mm, b, true, 0);
	assert_true(head >= SIMMM_SECTION_PAGES);
	mx_expect(mm, b, 4);
	TU_ASSERT_OK(simmm_mmput(mm));
	put_blocks(sim, held, nheld);
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * FAULT_FLAG_UNSHARE on the huge zero PMD (a R/O FOLL_LONGTERM pin in a
 * private mapping): upstream's do_huge_pmd_wp_page() replaces it by a THP
 * exactly as for a write, map_anon_folio_pmd() making it dirty, and
 * writable only where the VMA has VM_WRITE. A FOLL_FORCE write into a
 * read-only private VMA (ptrace) gets the same read-only, dirty THP.
 */
static void test_huge_zero_unshare_and_force(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, 3 * PMD), b = a + PMD, c = a + 2 * PMD;
	simmm_pfn_t pin[3];
	uint8_t v = 0x77;

	map_huge_zero(sim, mm, a);
	map_huge_zero(sim, mm, b);
	map_huge_zero(sim, mm, c);
	/* A short-term R/O pin keeps the huge zero page (no unshare). */
	assert_int_equal(simmm_pin_user_pages(mm, a + PS, 1, 0, &pin[0]), 1);
	assert_true(simmm__is_huge_zero_pfn(sim, pin[0]));
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, pin, 1));
	/* Writable VMA: the long-term pin unshares into a writable THP. */
	assert_int_equal(simmm_pin_user_pages(mm, a + PS, 1, SIMMM_FOLL_LONGTERM, &pin[0]), 1);
	TU_CHECK(sim);
	simmm_pfn_t ha = assert_fresh_thp(sim, mm, a, true, 1);
	assert_int_equal(pin[0], ha + 1);
	/* Read-only VMAs: the unshare and the forced write map a read-only
	 * THP (maybe_pmd_mkwrite() without VM_WRITE), dirty all the same. */
	TU_ASSERT_OK(simmm_mprotect(mm, b, 2 * PMD, SIMMM_PROT_READ));
	assert_int_equal(simmm_pin_user_pages(mm, b + PS, 1, SIMMM_FOLL_LONGTERM, &pin[1]), 1);
	TU_CHECK(sim);
	simmm_pfn_t hb = assert_fresh_thp(sim, mm, b, false, 1);
	assert_int_equal(pin[1], hb + 1);
	assert_int_equal(simmm_pin_user_pages(mm, c + PS, 1, SIMMM_FOLL_WRITE | SIMMM_FOLL_FORCE,
					      &pin[2]), 1);
	TU_CHECK(sim);
	simmm_pfn_t hc = assert_fresh_thp(sim, mm, c, false, 1);
	assert_int_equal(pin[2], hc + 1);
	TU_ASSERT_OK(simmm_page_write(sim, pin[2], 0, &v, 1));
	assert_int_equal(mx_stats(mm).rss_anon, 3 * NR);
	assert_int_equal(mx_stats(mm).thp_faults, 3);
	mx_expect_zero(mm, a);
	mx_expect_zero(mm, b + PS);
	mx_expect_zero(mm, c);
	TU_ASSERT_OK(simmm_mm_access(mm, c + PS, &v, 1, SIMMM_ACCESS_READ));
	assert_int_equal(v, 0x77);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, pin, 3));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * Upstream consults no THP policy on this path (thp_vma_allowable_order()
 * gates only a fault on a none PMD): a huge zero PMD mapped before policy
 * "never" and MADV_NOHUGEPAGE still becomes a THP on a write.
 */
static void test_huge_zero_wp_ignores_policy(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);

	map_huge_zero(sim, mm, a);
	TU_ASSERT_OK(simmm_set_thp_policy(sim, SIMMM_THP_NEVER));
	TU_ASSERT_OK(simmm_madvise(mm, a, PMD, SIMMM_MADV_NOHUGEPAGE));
	assert_true(simmm__is_huge_zero_pfn(sim, mx_tr(mm, a).pfn)); /* not split */
	mx_write(mm, a, 3);
	TU_CHECK(sim);
	assert_fresh_thp(sim, mm, a, true, 0);
	mx_expect(mm, a, 3);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

static void test_thp_partial_munmap_mprotect(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);

	for (unsigned i = 0; i < NR; i += 64)
		mx_write(mm, a + i * PS, i);
	simmm_pfn_t head = simmm_pte_pfn(mx_tr(mm, a).entry);
	TU_ASSERT_OK(simmm_munmap(mm, a, PS));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a + PS).level, SIMMM_LVL_PTE);
	assert_int_equal(mx_stats(mm).rss_anon, NR - 1);
	struct simmm_page_info pi = mx_page(sim, head);
	assert_int_equal(pi.order, 9); /* the folio stays large */
	assert_int_equal(pi.refcount, NR - 1);
	assert_int_equal(pi.mapcount, 0);
	assert_int_equal(mx_page(sim, head + 1).mapcount, 1);
	TU_ASSERT_OK(simmm_mprotect(mm, a + 64 * PS, PS, SIMMM_PROT_READ));
	TU_CHECK(sim);
	assert_false(mx_tr(mm, a + 64 * PS).write);
	for (unsigned i = 64; i < NR; i += 64)
		mx_expect(mm, a + i * PS, i);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * folio_referenced() on a pte-mapped THP counts and clears every young pte
 * of the folio, following the pte table from slot to slot: holes (a
 * zapped page, a migration-free none slot) and old ptes in between do not
 * end the walk, nor does the folio's last page. A second call finds
 * nothing young.
 */
static void test_thp_referenced_pte_mapped(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);
	unsigned young = 0;

	mx_write(mm, a, 1);
	simmm_pfn_t head = simmm_pte_pfn(mx_tr(mm, a).entry);
	struct simmm_page *folio = simmm__pfn_to_page(sim, head);

	/* Split by zapping page 1; pages 2..NR-1 stay mapped by ptes. */
	TU_ASSERT_OK(simmm_madvise(mm, a + PS, PS, SIMMM_MADV_DONTNEED));
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PTE);
	TU_CHECK(sim);
	/* Everything old, then a pattern of young ptes, the last page too. */
	assert_true(simmm__folio_referenced(sim, folio) > 0);
	assert_int_equal(simmm__folio_referenced(sim, folio), 0);
	for (unsigned i = 0; i < NR; i++) {
		simmm_entry_t *slot;

		if (i == 1 || !(i % 3 == 0 || i == NR - 1))
			continue;
		TU_ASSERT_OK(simmm_pgtable_lookup(simmm_mm_pgtable(mm), a + i * PS, SIMMM_LVL_PTE,
						  &slot));
		*slot = simmm_pte_mkyoung(*slot);
		young++;
	}
	TU_CHECK(sim);
	assert_int_equal(simmm__folio_referenced(sim, folio), (int)young);
	for (unsigned i = 0; i < NR; i++)
		if (i != 1)
			assert_false(simmm_pte_young(mx_tr(mm, a + i * PS).entry));
	assert_int_equal(simmm__folio_referenced(sim, folio), 0);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

static void test_thp_cow_after_fork(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = thp_region(mm, PMD);

	mx_write(mm, a, 1);
	mx_write(mm, a + PS, 2);
	simmm_pfn_t head = simmm_pte_pfn(mx_tr(mm, a).entry);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(child, a).level, SIMMM_LVL_PMD);
	assert_int_equal(mx_page(sim, head).refcount, 2);
	/* The child's write splits its PMD and copies one small page. */
	mx_write(child, a, 3);
	TU_CHECK(sim);
	assert_int_equal(mx_tr(child, a).level, SIMMM_LVL_PTE);
	assert_int_not_equal(mx_tr(child, a).pfn, head);
	assert_int_equal(mx_tr(child, a + PS).pfn, head + 1);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PMD);
	mx_expect(mm, a, 1);
	mx_expect(child, a, 3);
	mx_expect(child, a + PS, 2);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_CHECK(sim);
	/* Alone again: the parent's write reuses the THP. */
	mx_write(mm, a, 4);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PMD);
	assert_int_equal(simmm_pte_pfn(mx_tr(mm, a).entry), head);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_madvise_collapse(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon_aligned(mm, PMD, PMD);
	simmm_pfn_t pin = 0;

	/* Default policy (madvise) without MADV_HUGEPAGE: small pages. */
	for (unsigned i = 0; i < NR; i += 3)
		mx_write(mm, a + i * PS, i);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PTE);
	assert_int_equal(simmm_pin_user_pages(mm, a, 1, 0, &pin), 1);
	assert_int_equal(simmm_madvise(mm, a, PMD, SIMMM_MADV_COLLAPSE), -EAGAIN);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pin, 1));
	TU_ASSERT_OK(simmm_madvise(mm, a, PMD, SIMMM_MADV_COLLAPSE));
	TU_CHECK(sim);
	struct simmm_translation t = mx_tr(mm, a);
	assert_int_equal(t.level, SIMMM_LVL_PMD);
	assert_int_equal(mx_page(sim, simmm_pte_pfn(t.entry)).order, 9);
	assert_int_equal(mx_stats(mm).rss_anon, NR);
	for (unsigned i = 0; i < NR; i += 3)
		mx_expect(mm, a + i * PS, i);
	mx_expect_zero(mm, a + PS);
	/* Already collapsed: success again. Not eligible: -EINVAL. */
	TU_ASSERT_OK(simmm_madvise(mm, a, PMD, SIMMM_MADV_COLLAPSE));
	TU_ASSERT_OK(simmm_madvise(mm, a, PMD, SIMMM_MADV_NOHUGEPAGE));
	assert_int_equal(simmm_madvise(mm, a, PMD, SIMMM_MADV_COLLAPSE), -EINVAL);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_thp_reclaim_split(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);
	uint64_t n = 0;

	mx_write(mm, a, 1);
	mx_write(mm, a + 100 * PS, 2);
	TU_ASSERT_OK(simmm_reclaim(sim, 2 * NR, &n));
	TU_CHECK(sim);
	assert_int_equal(n, NR);
	assert_int_equal(mx_stats(mm).rss_anon, 0);
	assert_int_equal(mx_stats(mm).swap_ents, NR);
	mx_expect(mm, a, 1);
	mx_expect(mm, a + 100 * PS, 2);
	mx_expect_zero(mm, a + 101 * PS);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_split_folio_refuses_pinned(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);
	simmm_pfn_t pin = 0;

	mx_write(mm, a, 1);
	assert_int_equal(simmm_pin_user_pages(mm, a + PS, 1, 0, &pin), 1);
	struct simmm_page *folio = simmm__pfn_to_page(sim, pin - 1);
	simmm__folio_get(sim, folio);
	assert_int_equal(simmm__split_folio(sim, folio), -EBUSY);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pin, 1));
	TU_ASSERT_OK(simmm__split_folio(sim, folio));
	TU_CHECK(sim);
	assert_int_equal(mx_page(sim, pin - 1).order, 0);
	assert_int_equal(mx_page(sim, pin).refcount, 1);
	simmm__put_user_folio(sim, folio);
	TU_CHECK(sim);
	mx_expect(mm, a, 1);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* ---- allocation-failure sweep over a THP fault -------------------------------------- */

static int sweep_thp(simmm_sim *sim, void *arg)
{
	struct simmm_mm *mm = NULL, *child = NULL;
	simmm_addr_t a = 0;
	int rc;

	(void)arg;
	rc = simmm_mm_create(sim, &mm);
	if (rc)
		return rc;
	rc = simmm_set_thp_policy(sim, SIMMM_THP_ALWAYS);
	if (!rc)
		rc = simmm_mmap(mm, 0x40000000, PMD, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_FIXED, NULL, 0,
				&a);
	if (!rc)
		rc = simmm_mm_access(mm, a, &a, sizeof(a), SIMMM_ACCESS_WRITE);
	if (!rc)
		rc = simmm_fork(mm, &child);
	if (!rc)
		rc = simmm_mm_access(child, a + PS, &a, sizeof(a), SIMMM_ACCESS_WRITE);
	if (!rc)
		rc = simmm_munmap(mm, a, PS);
	if (child)
		simmm_mmput(child);
	simmm_mmput(mm);
	return rc;
}

static void test_sweep_thp(void **state)
{
	(void)state;
	simmm_config cfg;
	struct simmm_sweep_result res;

	simmm_config_init(&cfg);
	cfg.ram_bytes = 64 * MIB;
	cfg.flags |= SIMMM_CFG_QUIET;
	TU_ASSERT_OK(simmm_fault_sweep(&cfg, sweep_thp, NULL, 2000, &res));
	assert_true(res.steps > 10); /* the scenario allocates: failures were injected */
	assert_true(res.enomem > 0);
}

/* ---- allocation-failure sweeps over a write to the huge zero PMD --------------- */

struct hz_sweep {
	enum hz_mode mode;
	unsigned thp;       /* runs whose write mapped a THP */
	unsigned split;     /* ... split the PMD and COWed a small page */
	unsigned split_oom; /* ... failed with -ENOMEM, the zero PMD intact:
			     * never, the split takes the deposited table */
};

/* Reads one byte at @addr; -EIO when it is not @want. */
static int hz_read_expect(struct simmm_mm *mm, simmm_addr_t addr, uint8_t want)
{
	uint8_t v = 0xff;
	int rc = simmm_mm_access(mm, addr, &v, 1, SIMMM_ACCESS_READ);

	return rc ? rc : v == want ? 0 : -EIO;
}

static bool hz_is_zero_pmd(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t a)
{
	struct simmm_translation t;

	return !simmm_pgtable_translate(simmm_mm_pgtable(mm), a, &t) &&
	       t.level == SIMMM_LVL_PMD && simmm__is_huge_zero_pfn(sim, t.pfn);
}

/* The write to a huge zero PMD, with PMD blocks taken per @hs->mode first;
 * counts how it ended. */
static int hz_write(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t a, struct hz_sweep *hs)
{
	struct simmm_translation t;
	uint8_t v = 0x5a;
	int rc = simmm_mm_access(mm, a + 3 * PS, &v, 1, SIMMM_ACCESS_WRITE);

	if (rc == -ENOMEM && hz_is_zero_pmd(sim, mm, a))
		hs->split_oom++; /* the fallback's split failed */
	if (rc || simmm_pgtable_translate(simmm_mm_pgtable(mm), a, &t))
		return rc;
	if (t.level == SIMMM_LVL_PMD && !simmm__is_huge_zero_pfn(sim, t.pfn))
		hs->thp++;
	else if (t.level == SIMMM_LVL_PTE && t.pfn == simmm_zero_pfn(sim))
		hs->split++;
	rc = hz_read_expect(mm, a + 3 * PS, 0x5a);
	return rc ? rc : hz_read_expect(mm, a + 4 * PS, 0);
}

static int sweep_huge_zero(simmm_sim *sim, void *arg)
{
	struct hz_sweep *hs = arg;
	struct simmm_mm *mm = NULL;
	simmm_pfn_t held[64];
	unsigned nheld = 0;
	simmm_addr_t a = 0;
	int rc;

	rc = simmm_mm_create(sim, &mm);
	if (rc)
		return rc;
	rc = simmm_set_thp_policy(sim, SIMMM_THP_ALWAYS);
	if (!rc)
		rc = simmm_mmap(mm, 0x40000000, PMD, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_FIXED, NULL, 0,
				&a);
	if (!rc)
		rc = hz_read_expect(mm, a + PS, 0);
	if (!rc)
		rc = take_blocks(sim, hs->mode, held, 64, &nheld);
	/* The read may have fallen back to small pages (no huge zero folio):
	 * then there is no huge zero PMD to write to. */
	if (!rc && hz_is_zero_pmd(sim, mm, a))
		rc = hz_write(sim, mm, a, hs);
	if (!rc)
		rc = simmm_munmap(mm, a, PS);
	simmm_mmput(mm);
	for (unsigned i = 0; i < nheld; i++)
		simmm_page_put(sim, held[i]);
	return rc;
}

static void run_sweep_huge_zero(struct hz_sweep *hs, uint64_t ram)
{
	simmm_config cfg;
	struct simmm_sweep_result res;

	simmm_config_init(&cfg);
	cfg.ram_bytes = ram;
	cfg.flags |= SIMMM_CFG_QUIET;
	TU_ASSERT_OK(simmm_fault_sweep(&cfg, sweep_huge_zero, hs, 4000, &res));
	assert_true(res.steps > 10);
	assert_true(res.enomem > 0);
}

/*
 * Every allocation of the scenario fails once in turn, and nothing may
 * leak or break an invariant on any path. With a THP to be had only from
 * a fresh memmap section, some runs fail the THP's allocation and fall
 * back to the split; with no PMD block at all, every write splits. The
 * split populates the huge zero PMD's deposited table, so no run fails it
 * (before deposits were modelled, some did: -ENOMEM, the zero PMD intact).
 */
static void test_sweep_huge_zero_wp(void **state)
{
	(void)state;
	struct hz_sweep sec = {.mode = HZ_SECTION}, shrt = {.mode = HZ_SHORT};

	run_sweep_huge_zero(&sec, 128 * MIB);
	assert_true(sec.thp > 0);   /* the last run at least */
	assert_true(sec.split > 0); /* an injected THP failure fell back */
	run_sweep_huge_zero(&shrt, 16 * MIB);
	assert_int_equal(shrt.thp, 0);
	assert_true(shrt.split > 0);
	assert_int_equal(sec.split_oom, 0);
	assert_int_equal(shrt.split_oom, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thp_fault),
		cmocka_unit_test(test_thp_policy_always_and_fallback),
		cmocka_unit_test(test_huge_zero),
		cmocka_unit_test(test_huge_zero_wp_thp),
		cmocka_unit_test(test_huge_zero_wp_fallback),
		cmocka_unit_test(test_huge_zero_wp_injected_failure),
		cmocka_unit_test(test_huge_zero_unshare_and_force),
		cmocka_unit_test(test_huge_zero_wp_ignores_policy),
		cmocka_unit_test(test_thp_partial_munmap_mprotect),
		cmocka_unit_test(test_thp_referenced_pte_mapped),
		cmocka_unit_test(test_thp_cow_after_fork),
		cmocka_unit_test(test_madvise_collapse),
		cmocka_unit_test(test_thp_reclaim_split),
		cmocka_unit_test(test_split_folio_refuses_pinned),
		cmocka_unit_test(test_sweep_thp),
		cmocka_unit_test(test_sweep_huge_zero_wp),
	};
	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
