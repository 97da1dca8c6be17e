// SPDX-License-Identifier: MIT
/*
 * mremap's move_page_tables() at PMD and PUD granularity:
 *  - move_huge_pmd(): a PMD-mapped THP moved to a PMD-aligned address in
 *    another PMD table stays PMD-mapped (same folio, references, mapcounts,
 *    rss, contents; soft-dirty set), its deposit follows it (a later split
 *    there allocates nothing), in the same PMD table the deposit stays;
 *    the huge zero PMD likewise; an unaligned destination, or a new PMD
 *    slot that is not none, splits instead;
 *  - move_ptes() makes the ptes it moves soft-dirty (present and swap);
 *  - one MMU_NOTIFY_UNMAP invalidation of the old range brackets the move
 *    (a split nests its CLEAR inside it);
 *  - rmap finds the moved THP at its new address (folio_referenced(),
 *    reclaim); a walk asleep in its notifier bracket is waited for
 *    (copy_vma() links the new VMA first, under the rmap write locks);
 *  - MREMAP_FIXED onto a PMD-aligned target already mapped by a THP;
 *  - -ENOMEM at every allocation leaves the mapping as it was;
 *  - move_normal_pmd() / move_normal_pud(): a PTE table, and a PMD table
 *    with a THP and its deposit in it, change slots whole; an unaligned
 *    start is aligned down to let the first table move
 *    (try_realign_addr()).
 * Every step is checked with TU_CHECK. The default geometry (x86_64-4level).
 */
#include "test_mm_ext_util.h"

#include <simmm/mmu_notifier.h>

/* Tables deposited with the PMD table of @a. */
static uint64_t deposits(struct simmm_mm *mm, simmm_addr_t a)
{
	simmm_pfn_t tbl;

	return simmm__pgtable_nr_deposited(simmm_mm_pgtable(mm), a, &tbl);
}

/* The PMD table holding the PMD entry of @a (0: none). */
static simmm_pfn_t pmd_table(struct simmm_mm *mm, simmm_addr_t a)
{
	simmm_pfn_t tbl;

	simmm__pgtable_nr_deposited(simmm_mm_pgtable(mm), a, &tbl);
	return tbl;
}

static uint64_t deposits_total(struct simmm_mm *mm)
{
	return simmm__pgtable_deposited_total(simmm_mm_pgtable(mm));
}

static uint64_t tables(struct simmm_mm *mm)
{
	return mx_stats(mm).pgtable_pages;
}

/* The entry of @lvl for @a (0 when it or a table above is missing). */
static simmm_entry_t slot_at(struct simmm_mm *mm, simmm_addr_t a, enum simmm_level lvl)
{
	simmm_entry_t *slot;

	return simmm_pgtable_lookup(simmm_mm_pgtable(mm), a, lvl, &slot) ? 0 : *slot;
}

static void inject_from(simmm_sim *sim, uint64_t nth)
{
	struct simmm_fault_config fc = {.mode = SIMMM_FAULT_FROM_NTH, .nth = nth};

	TU_ASSERT_OK(simmm_fault_inject(sim, &fc));
}

static struct simmm_page *folio_at(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t a)
{
	return simmm__pfn_to_page(sim, simmm_pte_pfn(mx_tr(mm, a).entry));
}

/* A THP at @a written with a tag per 64 pages (@tag + i). */
static simmm_pfn_t map_thp(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t a, unsigned tag)
{
	for (unsigned i = 0; i < NR; i += 64)
		mx_write(mm, a + i * PS, tag + i);
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PMD);
	return mx_tr(mm, a).pfn;
}

static void expect_thp(struct simmm_mm *mm, simmm_addr_t a, unsigned tag)
{
	for (unsigned i = 0; i < NR; i += 64)
		mx_expect(mm, a + i * PS, tag + i);
}

/* The move of one THP: what may not change. */
struct thp_state {
	simmm_pfn_t head;
	int refcount, mapcount, entire;
	int64_t rss;
	simmm_entry_t pmd;
};

static struct thp_state thp_state(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t a)
{
	struct simmm_page *folio = folio_at(sim, mm, a);

	return (struct thp_state){
		.head = folio->pfn, .refcount = folio->refcount,
		.mapcount = simmm__folio_mapcount(sim, folio),
		.entire = simmm__pfn_to_page(sim, folio->pfn + 1)->u.pincount,
		.rss = mx_stats(mm).rss_anon, .pmd = slot_at(mm, a, SIMMM_LVL_PMD),
	};
}

/* @b maps by one PMD what @a did: the same folio, references, mapcounts,
 * rss, the same entry but soft-dirty (move_soft_dirty_pmd()). */
static void expect_moved(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t b,
			 const struct thp_state *was)
{
	struct thp_state now = thp_state(sim, mm, b);

	assert_int_equal(mx_tr(mm, b).level, SIMMM_LVL_PMD);
	assert_int_equal(now.head, was->head);
	assert_int_equal(now.refcount, was->refcount);
	assert_int_equal(now.mapcount, was->mapcount);
	assert_int_equal(now.entire, was->entire);
	assert_int_equal(now.rss, was->rss);
	assert_int_equal(now.pmd, simmm_pte_mksoft_dirty(was->pmd));
}

/* Clear soft-dirty (clear_refs 4): the PMD is write-protected and clean of it. */
static void clear_soft_dirty(simmm_sim *sim, struct simmm_mm *mm)
{
	TU_ASSERT_OK(simmm_clear_refs_soft_dirty(mm));
	TU_CHECK(sim);
}

/*
 * move_huge_pmd() to another PMD table: the THP is PMD-mapped at the new
 * address (nothing about the folio changes), the old address maps
 * nothing, the deposit left the old PMD table for the new one, and a split
 * at the new address (a partial MADV_DONTNEED, with every allocation
 * failing) uses it: no table is allocated.
 */
static void test_thp_moves_whole(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, 2 * PMD), b = a + GIB, r = 0;

	map_thp(sim, mm, a, 1);
	mx_write(mm, a + PMD, 9); /* a second THP: the old PMD table stays */
	clear_soft_dirty(sim, mm);
	assert_false(simmm_pte_soft_dirty(slot_at(mm, a, SIMMM_LVL_PMD)));
	struct thp_state was = thp_state(sim, mm, a);
	simmm_pfn_t old_tbl = pmd_table(mm, a);

	assert_int_equal(deposits(mm, a), 2);
	TU_ASSERT_OK(simmm_mremap(mm, a, PMD, PMD, SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED, b,
				  &r));
	assert_int_equal(r, b);
	TU_CHECK(sim);
	expect_moved(sim, mm, b, &was);
	assert_int_equal(simmm_pgtable_translate(simmm_mm_pgtable(mm), a, &(struct simmm_translation){0}),
			 -ENOENT);
	assert_int_not_equal(pmd_table(mm, b), old_tbl);
	assert_int_equal(pmd_table(mm, a), old_tbl);
	assert_int_equal(deposits(mm, a), 1); /* the second THP's */
	assert_int_equal(deposits(mm, b), 1);
	assert_int_equal(deposits_total(mm), 2);
	expect_thp(mm, b, 1);
	mx_expect(mm, a + PMD, 9);
	TU_CHECK(sim);
	/* The split at the new address takes the moved deposit. */
	uint64_t nt = tables(mm);

	inject_from(sim, 1);
	TU_ASSERT_OK(simmm_madvise(mm, b + 3 * PS, 2 * PS, SIMMM_MADV_DONTNEED));
	TU_ASSERT_OK(simmm_fault_inject(sim, NULL));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, b).level, SIMMM_LVL_PTE);
	assert_int_equal(tables(mm), nt);
	assert_int_equal(deposits(mm, b), 0);
	assert_int_equal(deposits_total(mm), 1);
	expect_thp(mm, b, 1);
	mx_expect_zero(mm, b + 3 * PS);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * Within one PMD table (pmd_move_must_withdraw() false: the same split
 * PMD lock) the deposit stays where it is; the move is a plain mremap
 * without MREMAP_FIXED growing the mapping (a new, PMD-aligned place).
 * MREMAP_DONTUNMAP leaves the old VMA, empty.
 */
static void test_thp_moves_within_pmd_table(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD), b = a - 4 * PMD, r = 0;
	struct simmm_vma_info vi;

	assert_int_equal(pmd_table(mm, a), 0);
	map_thp(sim, mm, a, 3);
	struct thp_state was = thp_state(sim, mm, a);
	simmm_pfn_t tbl = pmd_table(mm, a);

	assert_true(b / GIB == a / GIB);
	TU_ASSERT_OK(simmm_mremap(mm, a, PMD, PMD,
				  SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED | SIMMM_MREMAP_DONTUNMAP,
				  b, &r));
	TU_CHECK(sim);
	expect_moved(sim, mm, b, &was);
	assert_int_equal(pmd_table(mm, b), tbl);
	assert_int_equal(deposits(mm, b), 1);
	assert_int_equal(deposits_total(mm), 1);
	TU_ASSERT_OK(simmm_vma_info(mm, a, &vi)); /* DONTUNMAP: still there, empty */
	assert_int_equal(vi.start, a);
	mx_expect_zero(mm, a); /* a fresh fault: the huge zero PMD */
	assert_int_equal(deposits(mm, a), 2);
	expect_thp(mm, b, 3);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * The huge zero PMD moves whole with its deposit; a write there then
 * replaces it by a THP (do_huge_zero_wp_pmd()) keeping that deposit.
 */
static void test_huge_zero_moves_whole(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD), b = a + 3 * GIB, r = 0;

	mx_expect_zero(mm, a + 5 * PS);
	simmm_entry_t e = slot_at(mm, a, SIMMM_LVL_PMD);

	assert_true(simmm__is_huge_zero_pfn(sim, simmm_pte_pfn(e)));
	assert_false(simmm_pte_soft_dirty(e));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mremap(mm, a, PMD, PMD, SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED, b,
				  &r));
	TU_CHECK(sim);
	assert_int_equal(slot_at(mm, b, SIMMM_LVL_PMD), simmm_pte_mksoft_dirty(e));
	assert_int_equal(deposits(mm, b), 1);
	assert_int_equal(deposits_total(mm), 1);
	assert_int_equal(mx_stats(mm).rss_anon, 0);
	mx_expect_zero(mm, b + 7 * PS);
	uint64_t nt = tables(mm);

	mx_write(mm, b + 7 * PS, 4);
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, b).level, SIMMM_LVL_PMD);
	assert_false(simmm__is_huge_zero_pfn(sim, mx_tr(mm, b).pfn));
	assert_int_equal(tables(mm), nt);
	mx_expect(mm, b + 7 * PS, 4);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * A destination that is not PMD-aligned (or a range that covers the THP
 * only in part): no extent is a whole PMD, so the THP is split into its
 * deposited table at the old address and its ptes move. The folio stays
 * large, mapped by ptes; nothing is left deposited.
 */
static void test_unaligned_destination_splits(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, 2 * PMD), b = a + GIB + PS, r = 0;
	simmm_pfn_t head = map_thp(sim, mm, a, 5);

	map_thp(sim, mm, a + PMD, 7);
	TU_ASSERT_OK(simmm_mremap(mm, a, PMD, PMD, SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED, b,
				  &r));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, b).level, SIMMM_LVL_PTE);
	assert_int_equal(mx_tr(mm, b).pfn, head);
	assert_int_equal(mx_tr(mm, b + (NR - 1) * PS).pfn, head + NR - 1);
	assert_true(simmm_pte_soft_dirty(mx_tr(mm, b + 3 * PS).entry)); /* move_soft_dirty_pte() */
	assert_int_equal(mx_page(sim, head).order, 9);
	assert_int_equal(simmm__folio_mapcount(sim, folio_at(sim, mm, b)), (int)NR);
	assert_int_equal(deposits_total(mm), 1); /* the other THP's */
	expect_thp(mm, b, 5);
	/* Half of the second THP (aligned source, partial extent): split too. */
	TU_ASSERT_OK(simmm_mremap(mm, a + PMD, PMD / 2, PMD / 2,
				  SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED, b + 2 * GIB, &r));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, b + 2 * GIB).level, SIMMM_LVL_PTE);
	assert_int_equal(deposits_total(mm), 0);
	mx_expect(mm, b + 2 * GIB, 7);
	mx_expect(mm, a + PMD + 256 * PS, 7 + 256);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * move_ptes() makes every moved pte soft-dirty (move_soft_dirty_pte()): a
 * present one, and a swap entry (pte_swp_mksoft_dirty()); a swapped-out
 * page read back at the new address is soft-dirty too. (The destination
 * is at another offset in its PMD: no table moves whole.)
 */
static void test_moved_ptes_soft_dirty(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 8 * PS), b = a - GIB + PS, r = 0;
	uint64_t n = 0;

	for (unsigned i = 0; i < 8; i++)
		mx_write(mm, a + i * PS, 90 + i);
	TU_ASSERT_OK(simmm_reclaim(sim, 4, &n)); /* the oldest pages: swap entries */
	assert_true(n > 0);
	clear_soft_dirty(sim, mm);
	unsigned swapped = 0;

	for (unsigned i = 0; i < 8; i++) {
		simmm_entry_t e = mx_tr(mm, a + i * PS).entry;

		assert_false(simmm_pte_soft_dirty(e) || simmm_pte_swp_soft_dirty(e));
		swapped += !simmm_pte_present(e);
	}
	assert_int_equal(swapped, n);
	TU_ASSERT_OK(simmm_mremap(mm, a, 8 * PS, 8 * PS, SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED,
				  b, &r));
	assert_int_equal(r, b);
	TU_CHECK(sim);
	for (unsigned i = 0; i < 8; i++) {
		simmm_entry_t e = mx_tr(mm, b + i * PS).entry;

		assert_true(simmm_pte_present(e) ? simmm_pte_soft_dirty(e)
						  : simmm_pte_swp_soft_dirty(e));
	}
	for (unsigned i = 0; i < 8; i++) {
		mx_expect(mm, b + i * PS, 90 + i);
		assert_true(simmm_pte_soft_dirty(mx_tr(mm, b + i * PS).entry));
	}
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * The new PMD slot already holds a (empty) PTE table, which nothing in
 * simmm leaves behind but a test can: move_huge_pmd() refuses ("the
 * destination pmd shouldn't be established"), so the THP is split into
 * its deposited table and its ptes move into that table; a PTE table
 * (move_normal_pmd()) likewise: its ptes move.
 */
static void test_occupied_new_pmd_slot_splits(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_pgtable *pt = simmm_mm_pgtable(mm);
	simmm_addr_t a = thp_region(mm, 2 * PMD), b = a + GIB, r = 0;
	simmm_pfn_t head = map_thp(sim, mm, a, 61);

	TU_ASSERT_OK(simmm_madvise(mm, a + PMD, PMD, SIMMM_MADV_NOHUGEPAGE));
	mx_write(mm, a + PMD + 9 * PS, 62);
	TU_ASSERT_OK(simmm_pgtable_alloc_level(pt, b, SIMMM_LVL_PTE, NULL));
	TU_ASSERT_OK(simmm_pgtable_alloc_level(pt, b + 2 * PMD, SIMMM_LVL_PTE, NULL));
	simmm_entry_t t1 = slot_at(mm, b, SIMMM_LVL_PMD), t2 = slot_at(mm, b + 2 * PMD, SIMMM_LVL_PMD);
	simmm_entry_t old_tbl = slot_at(mm, a + PMD, SIMMM_LVL_PMD);

	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mremap(mm, a, PMD, PMD, SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED, b,
				  &r));
	TU_CHECK(sim);
	assert_int_equal(slot_at(mm, b, SIMMM_LVL_PMD), t1);
	assert_int_equal(mx_tr(mm, b).level, SIMMM_LVL_PTE);
	assert_int_equal(mx_tr(mm, b + 7 * PS).pfn, head + 7);
	assert_int_equal(deposits_total(mm), 0);
	expect_thp(mm, b, 61);
	TU_ASSERT_OK(simmm_mremap(mm, a + PMD, PMD, PMD, SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED,
				  b + 2 * PMD, &r));
	TU_CHECK(sim);
	assert_int_equal(slot_at(mm, b + 2 * PMD, SIMMM_LVL_PMD), t2);
	assert_int_not_equal(t2, old_tbl);
	mx_expect(mm, b + 2 * PMD + 9 * PS, 62);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* ---- notifiers ------------------------------------------------------------------------ */

struct ev_log {
	struct simmm_mmu_notifier mn;
	int n;
	struct {
		bool start;
		enum simmm_mmu_notifier_event event;
		uint64_t s, e;
	} ev[16];
};

static void ev_add(struct ev_log *l, bool start, const struct simmm_mmu_notifier_range *r)
{
	if (l->n < 16)
		l->ev[l->n].start = start, l->ev[l->n].event = r->event, l->ev[l->n].s = r->start,
		l->ev[l->n].e = r->end;
	l->n++;
}

static int ev_start(struct simmm_mmu_notifier *mn, const struct simmm_mmu_notifier_range *r)
{
	ev_add((struct ev_log *)(void *)mn, true, r);
	return 0;
}

static void ev_end(struct simmm_mmu_notifier *mn, const struct simmm_mmu_notifier_range *r)
{
	ev_add((struct ev_log *)(void *)mn, false, r);
}

static const struct simmm_mmu_notifier_ops ev_ops = {
	.invalidate_range_start = ev_start,
	.invalidate_range_end = ev_end,
};

static void expect_ev(struct ev_log *l, int i, bool start, enum simmm_mmu_notifier_event event,
		      uint64_t s, uint64_t e)
{
	assert_true(i < l->n);
	assert_int_equal(l->ev[i].start, start);
	assert_int_equal(l->ev[i].event, event);
	assert_int_equal(l->ev[i].s, s);
	assert_int_equal(l->ev[i].e, e);
}

/*
 * move_page_tables(): one MMU_NOTIFY_UNMAP invalidation of the old range
 * brackets the move; a THP moved whole adds nothing inside it, one that
 * must be split adds its CLEAR of the PMD inside it. Then the old VMA's
 * munmap (UNMAP again).
 */
static void test_notifier_brackets(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, 2 * PMD), b = a + GIB, r = 0;
	struct ev_log l;

	map_thp(sim, mm, a, 1);
	map_thp(sim, mm, a + PMD, 2);
	memset(&l, 0, sizeof(l));
	l.mn.ops = &ev_ops;
	TU_ASSERT_OK(simmm_mmu_notifier_register(&l.mn, mm));
	TU_ASSERT_OK(simmm_mremap(mm, a, PMD, PMD, SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED, b,
				  &r));
	TU_CHECK(sim);
	assert_int_equal(l.n, 4);
	expect_ev(&l, 0, true, SIMMM_MMU_NOTIFY_UNMAP, a, a + PMD);
	expect_ev(&l, 1, false, SIMMM_MMU_NOTIFY_UNMAP, a, a + PMD);
	expect_ev(&l, 2, true, SIMMM_MMU_NOTIFY_UNMAP, a, a + PMD); /* the old VMA's munmap */
	expect_ev(&l, 3, false, SIMMM_MMU_NOTIFY_UNMAP, a, a + PMD);
	/* An unaligned destination: the split's CLEAR nests in the UNMAP. */
	l.n = 0;
	TU_ASSERT_OK(simmm_mremap(mm, a + PMD, PMD, PMD, SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED,
				  b + GIB + PS, &r));
	TU_CHECK(sim);
	assert_int_equal(l.n, 6);
	expect_ev(&l, 0, true, SIMMM_MMU_NOTIFY_UNMAP, a + PMD, a + 2 * PMD);
	expect_ev(&l, 1, true, SIMMM_MMU_NOTIFY_CLEAR, a + PMD, a + 2 * PMD);
	expect_ev(&l, 2, false, SIMMM_MMU_NOTIFY_CLEAR, a + PMD, a + 2 * PMD);
	expect_ev(&l, 3, false, SIMMM_MMU_NOTIFY_UNMAP, a + PMD, a + 2 * PMD);
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&l.mn, mm));
	expect_thp(mm, b, 1);
	expect_thp(mm, b + GIB + PS, 2);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * try_realign_addr() (6.7+): a VMA starting inside a PMD, nothing mapped
 * below it down to the boundary, moved to the same offset in another PMD
 * with nothing below there either, the move reaching the next boundary:
 * the move starts at the boundaries, so the first PMD's PTE table moves
 * whole (its ptes not made soft-dirty) and the UNMAP range starts at the
 * old boundary; the rest (part of the next PMD) moves as ptes. With a VMA
 * below the old address, no realignment: the range starts at the address
 * and every pte moves, soft-dirty.
 */
static void test_realign_to_pmd_boundary(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t base = mx_anon_aligned(mm, PMD, 2 * PMD), a = base + 100 * PS;
	simmm_addr_t b = a - 2 * GIB, r = 0, pb = b & ~(PMD - 1);
	uint64_t len = PMD - 100 * PS + 50 * PS;
	struct ev_log l;

	TU_ASSERT_OK(simmm_munmap(mm, base, 100 * PS));
	TU_ASSERT_OK(simmm_munmap(mm, a + len, base + 2 * PMD - (a + len)));
	mx_write(mm, a, 1);
	mx_write(mm, a + 200 * PS, 2);
	mx_write(mm, base + PMD + 10 * PS, 3);
	clear_soft_dirty(sim, mm);
	simmm_entry_t table = slot_at(mm, base, SIMMM_LVL_PMD);

	memset(&l, 0, sizeof(l));
	l.mn.ops = &ev_ops;
	TU_ASSERT_OK(simmm_mmu_notifier_register(&l.mn, mm));
	TU_ASSERT_OK(simmm_mremap(mm, a, len, len, SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED, b,
				  &r));
	TU_CHECK(sim);
	expect_ev(&l, 0, true, SIMMM_MMU_NOTIFY_UNMAP, base, a + len);
	expect_ev(&l, 1, false, SIMMM_MMU_NOTIFY_UNMAP, base, a + len);
	assert_int_equal(slot_at(mm, pb, SIMMM_LVL_PMD), table);
	assert_false(simmm_pte_soft_dirty(mx_tr(mm, b).entry));
	assert_false(simmm_pte_soft_dirty(mx_tr(mm, b + 200 * PS).entry));
	assert_true(simmm_pte_soft_dirty(mx_tr(mm, pb + PMD + 10 * PS).entry));
	mx_expect(mm, b, 1);
	mx_expect(mm, b + 200 * PS, 2);
	mx_expect(mm, pb + PMD + 10 * PS, 3);
	TU_CHECK(sim);
	/* Back, with a VMA in the old address's PMD below it. */
	TU_ASSERT_OK(simmm_mmap(mm, pb, PS, SIMMM_PROT_READ,
				SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_FIXED, NULL, 0,
				&r));
	clear_soft_dirty(sim, mm);
	l.n = 0;
	TU_ASSERT_OK(simmm_mremap(mm, b, len, len, SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED, a,
				  &r));
	TU_CHECK(sim);
	expect_ev(&l, 0, true, SIMMM_MMU_NOTIFY_UNMAP, b, b + len);
	assert_true(simmm_pte_soft_dirty(mx_tr(mm, a).entry));
	assert_true(simmm_pte_soft_dirty(mx_tr(mm, a + 200 * PS).entry));
	assert_int_not_equal(slot_at(mm, base, SIMMM_LVL_PMD), table);
	mx_expect(mm, a, 1);
	mx_expect(mm, a + 200 * PS, 2);
	mx_expect(mm, base + PMD + 10 * PS, 3);
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&l.mn, mm));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* ---- rmap ------------------------------------------------------------------------------ */

/*
 * The moved VMA keeps the anon_vma and vm_pgoff, so the folio's rmap
 * computes the new address: folio_referenced() finds the young PMD there
 * (and clears it), and reclaim splits the THP at the new address and
 * swaps it out; it reads back from swap.
 */
static void test_rmap_finds_moved_thp(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD), b = a + 2 * GIB, r = 0;
	uint64_t n = 0;

	map_thp(sim, mm, a, 11);
	struct simmm_page *folio = folio_at(sim, mm, a);

	assert_true(simmm__folio_referenced(sim, folio) > 0);
	assert_int_equal(simmm__folio_referenced(sim, folio), 0);
	TU_ASSERT_OK(simmm_mremap(mm, a, PMD, PMD, SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED, b,
				  &r));
	TU_CHECK(sim);
	assert_int_equal(simmm__folio_referenced(sim, folio), 0);
	mx_expect(mm, b, 11); /* young again, at the new address */
	assert_int_equal(mx_tr(mm, b).level, SIMMM_LVL_PMD);
	assert_true(simmm_pte_young(slot_at(mm, b, SIMMM_LVL_PMD)));
	assert_int_equal(simmm__folio_referenced(sim, folio), 1);
	assert_false(simmm_pte_young(slot_at(mm, b, SIMMM_LVL_PMD)));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_reclaim(sim, 2 * NR, &n));
	TU_CHECK(sim);
	assert_int_equal(n, NR);
	assert_int_equal(mx_stats(mm).rss_anon, 0);
	assert_int_equal(mx_stats(mm).swap_ents, NR);
	assert_int_equal(deposits_total(mm), 0);
	expect_thp(mm, b, 11);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * Reclaim's rmap walk of the THP stops inside its first CLEAR bracket (the
 * PMD split of try_to_unmap(), anon_vma read-locked) while another task
 * mremaps the THP. copy_vma() links the new VMA before anything moves,
 * which takes the anon_vma write lock, so the mremap waits for the walk:
 * reclaim swaps the THP out at the old address, then the swap entries
 * move. The move itself takes no rmap lock
 * here (a fresh VMA: need_rmap_locks false); tests/test_mremap.c has a
 * walk that starts after the link.
 */
struct mr_race {
	struct simmm_mmu_notifier mn; /* first */
	simmm_sim *sim;
	struct simmm_mm *mm;
	simmm_addr_t a, b;
	uint32_t walker;
	bool inside, moved, moved_inside;
	int stops, err_mremap;
	uint64_t reclaimed;
};

static int mr_gate(struct simmm_mmu_notifier *mn, const struct simmm_mmu_notifier_range *r)
{
	struct mr_race *x = (struct mr_race *)(void *)mn;

	if (r->event != SIMMM_MMU_NOTIFY_CLEAR || x->stops ||
	    simmm_sched_current(x->sim) != x->walker)
		return 0;
	x->stops++;
	x->inside = true;
	for (int i = 0; i < 64 && !x->moved; i++)
		simmm_sched_yield(x->sim);
	x->moved_inside = x->moved;
	x->inside = false;
	return 0;
}

static const struct simmm_mmu_notifier_ops mr_gate_ops = {.invalidate_range_start = mr_gate};

static void mr_reclaim(simmm_sim *sim, void *arg)
{
	struct mr_race *x = arg;

	TU_ASSERT_OK(simmm_reclaim(sim, NR, &x->reclaimed));
}

static void mr_mremap(simmm_sim *sim, void *arg)
{
	struct mr_race *x = arg;
	simmm_addr_t r = 0;

	for (int i = 0; i < 64 && !x->inside; i++)
		simmm_sched_yield(sim);
	x->err_mremap = simmm_mremap(x->mm, x->a, PMD, PMD,
				     SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED, x->b, &r);
	x->moved = true;
}

static void test_mremap_waits_for_rmap_walk(void **state)
{
	(void)state;
	struct mr_race x = {.mn.ops = &mr_gate_ops};
	struct simmm_sched_config cfg;
	int t;

	x.sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	x.mm = mx_mm(x.sim);
	x.a = thp_region(x.mm, PMD);
	x.b = x.a + GIB;
	map_thp(x.sim, x.mm, x.a, 81);
	TU_ASSERT_OK(simmm_mmu_notifier_register(&x.mn, x.mm));
	simmm_sched_config_init(x.sim, &cfg);
	cfg.policy = SIMMM_SCHED_RR;
	TU_ASSERT_OK(simmm_sched_configure(x.sim, &cfg));
	t = simmm_sched_spawn(x.sim, "reclaim", mr_reclaim, &x);
	assert_true(t > 0);
	x.walker = (uint32_t)t;
	assert_true(simmm_sched_spawn(x.sim, "mremap", mr_mremap, &x) > 0);
	assert_int_equal(simmm_sched_run(x.sim, 1000000), SIMMM_SCHED_DONE);
	TU_CHECK(x.sim);
	assert_int_equal(x.stops, 1);
	assert_false(x.moved_inside);
	TU_ASSERT_OK(x.err_mremap);
	assert_int_equal(x.reclaimed, NR);
	assert_int_equal(mx_stats(x.mm).swap_ents, NR);
	assert_int_equal(simmm_pgtable_translate(simmm_mm_pgtable(x.mm), x.a,
						 &(struct simmm_translation){0}),
			 -ENOENT);
	expect_thp(x.mm, x.b, 81);
	TU_CHECK(x.sim);
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&x.mn, x.mm));
	TU_ASSERT_OK(simmm_mmput(x.mm));
	TU_CHECK(x.sim);
	tu_sim_free(&x.sim);
}

/* ---- MREMAP_FIXED onto an occupied target ---------------------------------------------- */

/*
 * The target, PMD-aligned, is mapped by another THP: MREMAP_FIXED unmaps
 * it first (its folio and deposit freed, free_pgtables() taking the empty
 * PMD slot), then the THP moves whole into the slot that left.
 */
static void test_fixed_onto_occupied_target(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD), b = thp_region(mm, PMD), r = 0;

	map_thp(sim, mm, a, 21);
	simmm_pfn_t victim = map_thp(sim, mm, b, 31);
	struct thp_state was = thp_state(sim, mm, a);

	assert_int_equal(deposits_total(mm), 2);
	TU_ASSERT_OK(simmm_mremap(mm, a, PMD, PMD, SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED, b,
				  &r));
	TU_CHECK(sim);
	assert_int_equal(r, b);
	was.rss -= NR; /* the victim's */
	expect_moved(sim, mm, b, &was);
	assert_int_equal(mx_page(sim, victim).refcount, 0);
	assert_int_equal(deposits_total(mm), 1);
	assert_int_equal(deposits(mm, b), 1);
	expect_thp(mm, b, 21);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* ---- allocation failure ------------------------------------------------------------------ */

/*
 * Every allocation of the move failing in turn (the new VMA, the new
 * side's PUD and PMD tables...): -ENOMEM, and the THP is where it was,
 * PMD-mapped with its deposit, no VMA at the destination, no table left
 * there (the tables had are freed again). Then it moves.
 */
static void test_enomem_leaves_mapping(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD), b = 0x100000000000ULL, r = 0;
	struct simmm_vma_info vi;
	uint64_t fails = 0;
	int rc;

	map_thp(sim, mm, a, 41);
	struct thp_state was = thp_state(sim, mm, a);
	uint64_t nt = tables(mm);

	for (uint64_t nth = 1; nth < 32; nth++) {
		inject_from(sim, nth);
		rc = simmm_mremap(mm, a, PMD, PMD, SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED, b,
				  &r);
		TU_ASSERT_OK(simmm_fault_inject(sim, NULL));
		TU_CHECK(sim);
		if (!rc)
			break;
		assert_int_equal(rc, -ENOMEM);
		fails++;
		assert_int_equal(thp_state(sim, mm, a).pmd, was.pmd);
		assert_int_equal(deposits(mm, a), 1);
		assert_int_equal(tables(mm), nt);
		assert_int_equal(simmm_vma_info(mm, b, &vi), -ENOENT);
		expect_thp(mm, a, 41);
	}
	TU_ASSERT_OK(rc);
	/* The new VMA and the new PUD, PMD tables: three failures at least. */
	assert_true(fails >= 3);
	expect_moved(sim, mm, b, &was);
	expect_thp(mm, b, 41);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* ---- whole tables ---------------------------------------------------------------------- */

/*
 * move_normal_pmd(): a PMD's worth of small pages moves as its PTE table
 * (the same table page at the new PMD slot, the ptes untouched, so not
 * made soft-dirty); move_normal_pud(): a PUD's worth (1 GiB here) moves as
 * its PMD table, with a PTE table, a THP and the THP's deposit in it.
 */
static void test_normal_pmd_and_pud(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon_aligned(mm, PMD, PMD), b = a - 2 * GIB, r = 0;

	for (unsigned i = 0; i < NR; i += 100)
		mx_write(mm, a + i * PS, 50 + i); /* THP policy "madvise": small pages */
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PTE);
	clear_soft_dirty(sim, mm);
	simmm_entry_t table = slot_at(mm, a, SIMMM_LVL_PMD);

	assert_true(simmm_entry_is_table(table, SIMMM_LVL_PMD));
	TU_ASSERT_OK(simmm_mremap(mm, a, PMD, PMD, SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED, b,
				  &r));
	TU_CHECK(sim);
	assert_int_equal(slot_at(mm, b, SIMMM_LVL_PMD), table);
	assert_int_equal(slot_at(mm, a, SIMMM_LVL_PMD), 0);
	assert_false(simmm_pte_soft_dirty(mx_tr(mm, b + 100 * PS).entry));
	for (unsigned i = 0; i < NR; i += 100)
		mx_expect(mm, b + i * PS, 50 + i);
	TU_CHECK(sim);
	/* A PUD-aligned GiB: a THP split by a partial MADV_DONTNEED (a PTE
	 * table), a THP, and the second THP's deposit, in one PMD table. */
	simmm_addr_t c = mx_anon_aligned(mm, GIB, GIB), d = c - 2 * GIB;

	assert_true(c >> 39 == d >> 39); /* one PUD table */
	TU_ASSERT_OK(simmm_madvise(mm, c, GIB, SIMMM_MADV_HUGEPAGE));
	map_thp(sim, mm, c, 60);
	map_thp(sim, mm, c + 4 * PMD, 70);
	TU_ASSERT_OK(simmm_madvise(mm, c + PS, PS, SIMMM_MADV_DONTNEED));
	TU_CHECK(sim);
	table = slot_at(mm, c, SIMMM_LVL_PMD);
	assert_true(simmm_entry_is_table(table, SIMMM_LVL_PMD));
	simmm_entry_t pmd_tbl = slot_at(mm, c, SIMMM_LVL_PUD);
	struct thp_state was = thp_state(sim, mm, c + 4 * PMD);
	uint64_t nt = tables(mm);

	assert_int_equal(deposits(mm, c), 1);
	TU_ASSERT_OK(simmm_mremap(mm, c, GIB, GIB, SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED, d,
				  &r));
	TU_CHECK(sim);
	assert_int_equal(slot_at(mm, d, SIMMM_LVL_PUD), pmd_tbl);
	assert_int_equal(slot_at(mm, c, SIMMM_LVL_PUD), 0);
	assert_int_equal(slot_at(mm, d, SIMMM_LVL_PMD), table);
	assert_int_equal(slot_at(mm, d + 4 * PMD, SIMMM_LVL_PMD), was.pmd); /* not soft-dirtied */
	assert_int_equal(deposits(mm, d), 1);
	assert_int_equal(tables(mm), nt); /* nothing allocated, nothing freed */
	mx_expect(mm, d, 60);
	mx_expect_zero(mm, d + PS);
	expect_thp(mm, d + 4 * PMD, 70);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thp_moves_whole),
		cmocka_unit_test(test_thp_moves_within_pmd_table),
		cmocka_unit_test(test_huge_zero_moves_whole),
		cmocka_unit_test(test_unaligned_destination_splits),
		cmocka_unit_test(test_moved_ptes_soft_dirty),
		cmocka_unit_test(test_occupied_new_pmd_slot_splits),
		cmocka_unit_test(test_notifier_brackets),
		cmocka_unit_test(test_realign_to_pmd_boundary),
		cmocka_unit_test(test_rmap_finds_moved_thp),
		cmocka_unit_test(test_mremap_waits_for_rmap_walk),
		cmocka_unit_test(test_fixed_onto_occupied_target),
		cmocka_unit_test(test_enomem_leaves_mapping),
		cmocka_unit_test(test_normal_pmd_and_pud),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
