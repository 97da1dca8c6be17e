// SPDX-License-Identifier: MIT
/*
 * The THP deferred split queue (src/mm/deferred_split.c) against upstream's
 * deferred_split_folio() / deferred_split_scan() (6.12 to 6.18):
 *
 *  - munmap of half a PTE-mapped THP, MADV_DONTNEED of a part of a
 *    PMD-mapped one: the folio is queued once and keeps every page; the
 *    next reclaim splits it first: exactly the unmapped pages are freed,
 *    the mapped ones stay mapped with their contents, nothing is written
 *    to swap, and that counts towards the reclaim goal;
 *  - a full unmap (PMD-mapped, PTE-mapped) does not queue the folio and
 *    frees it; a PTE-mapped THP whose ptes sit in two pte tables (moved to
 *    an address that is not PMD-aligned) is queued by a full munmap, as
 *    upstream's per-table batches do, and freed at once all the same;
 *  - a pinned folio is not split and stays queued; after the unpin the
 *    next reclaim splits it;
 *  - a queued folio fully unmapped afterwards, or split by another path
 *    (MADV_PAGEOUT), leaves the queue;
 *  - fork: the child unmapping half of a THP the parent still maps by its
 *    PMD queues nothing; the parent's PMD going queues it (partially mapped
 *    by the child); reclaim then frees the half nobody maps;
 *  - direct reclaim (an allocation finding RAM full) runs the scan too.
 * Every step is checked with TU_CHECK. The default geometry (x86_64).
 */
#include "test_mm_ext_util.h"

static struct simmm_thp_stats thp_stats(simmm_sim *sim)
{
	struct simmm_thp_stats st;

	TU_ASSERT_OK(simmm_thp_stats(sim, &st));
	return st;
}

static struct simmm_page *folio_at(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t a)
{
	struct simmm_translation t = mx_tr(mm, a);

	assert_true(t.present);
	return simmm__compound_head(sim, simmm__pfn_to_page(sim, t.pfn));
}

/* A THP at @a (MADV_HUGEPAGE range), every page written with tag @tag + i. */
static struct simmm_page *map_thp(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t a,
				  unsigned tag)
{
	struct simmm_page *folio;

	for (unsigned i = 0; i < NR; i++)
		mx_write(mm, a + i * PS, tag + i);
	TU_CHECK(sim);
	folio = folio_at(sim, mm, a);
	assert_int_equal(folio->order, 9);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PMD);
	return folio;
}

/* Split the PMD mapping @a into ptes (FOLL_SPLIT_PMD); the folio stays. */
static void pte_map(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t a)
{
	simmm_pfn_t pfn;

	assert_int_equal(simmm_get_user_pages(mm, a, 1, SIMMM_FOLL_SPLIT_PMD, &pfn), 1);
	TU_ASSERT_OK(simmm_put_user_pages(sim, &pfn, 1));
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PTE);
	TU_CHECK(sim);
}

static void expect_pages(struct simmm_mm *mm, simmm_addr_t a, unsigned from, unsigned to,
			 unsigned tag)
{
	for (unsigned i = from; i < to; i++)
		mx_expect(mm, a + i * PS, tag + i);
}

/* What the reclaim after a partial unmap leaving [@from, @to) mapped must
 * do: split the folio first, free exactly the NR - (@to - @from) unmapped
 * pages, swap nothing, keep the rest mapped and intact as small folios. */
static void reclaim_splits(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t a,
			   struct simmm_page *folio, unsigned from, unsigned to, unsigned tag)
{
	uint64_t unmapped = NR - (to - from), got = 0, free0 = mx_free_pages(sim);
	uint64_t out0 = mx_swpout(sim);
	struct simmm_thp_stats st0 = thp_stats(sim), st;

	assert_true(folio->flags & PG_partially_mapped);
	TU_ASSERT_OK(simmm_reclaim(sim, unmapped, &got));
	TU_CHECK(sim);
	assert_int_equal(got, unmapped);
	assert_int_equal(mx_free_pages(sim), free0 + unmapped);
	assert_int_equal(mx_swpout(sim), out0);
	assert_int_equal(mx_swap_used(sim), 0);
	st = thp_stats(sim);
	assert_int_equal(st.deferred_split_split, st0.deferred_split_split + 1);
	assert_int_equal(st.deferred_split_freed, st0.deferred_split_freed + unmapped);
	assert_int_equal(st.deferred_split_failed, st0.deferred_split_failed);
	assert_int_equal(st.nr_partially_mapped, 0);
	for (unsigned i = from; i < to; i++) {
		struct simmm_translation t = mx_tr(mm, a + i * PS);

		assert_true(t.present);
		assert_int_equal(t.level, SIMMM_LVL_PTE);
		assert_int_equal(folio_at(sim, mm, a + i * PS)->order, 0);
	}
	expect_pages(mm, a, from, to, tag);
	TU_CHECK(sim);
}

/* munmap of the second half of a PTE-mapped THP: queued once, nothing
 * freed; reclaim splits it and frees exactly the unmapped half. */
static void test_munmap_half_pte_mapped(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);
	struct simmm_page *folio = map_thp(sim, mm, a, 10);
	struct simmm_thp_stats st;
	uint64_t free0;

	pte_map(sim, mm, a);
	assert_int_equal(thp_stats(sim).deferred_split_queued, 0);
	free0 = mx_free_pages(sim);
	TU_ASSERT_OK(simmm_munmap(mm, a + PMD / 2, PMD / 2));
	TU_CHECK(sim);
	st = thp_stats(sim);
	assert_int_equal(st.deferred_split_queued, 1);
	assert_int_equal(st.nr_partially_mapped, 1);
	assert_int_equal(mx_free_pages(sim), free0); /* every page still allocated */
	assert_int_equal(folio->order, 9);
	assert_true(folio->flags & PG_partially_mapped);
	/* More of it unmapped: already queued, not counted again. */
	TU_ASSERT_OK(simmm_munmap(mm, a + PMD / 2 - 4 * PS, 4 * PS));
	TU_CHECK(sim);
	assert_int_equal(thp_stats(sim).deferred_split_queued, 1);
	assert_int_equal(thp_stats(sim).nr_partially_mapped, 1);
	reclaim_splits(sim, mm, a, folio, 0, NR / 2 - 4, 10);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* The first half unmapped: the head page is among the freed ones (the
 * scan's reference was its last). */
static void test_munmap_first_half(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);
	struct simmm_page *folio = map_thp(sim, mm, a, 20);

	pte_map(sim, mm, a);
	TU_ASSERT_OK(simmm_munmap(mm, a, PMD / 2));
	TU_CHECK(sim);
	assert_int_equal(thp_stats(sim).deferred_split_queued, 1);
	reclaim_splits(sim, mm, a, folio, NR / 2, NR, 20);
	assert_true(mx_page(sim, folio->pfn).free); /* the head went too */
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* MADV_DONTNEED of a middle part of a PMD-mapped THP: the PMD is split at
 * the edges, the zap queues the folio. */
static void test_dontneed_part_pmd_mapped(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);
	struct simmm_page *folio = map_thp(sim, mm, a, 30);
	uint64_t free0 = mx_free_pages(sim);

	TU_ASSERT_OK(simmm_madvise(mm, a + 100 * PS, 100 * PS, SIMMM_MADV_DONTNEED));
	TU_CHECK(sim);
	assert_int_equal(thp_stats(sim).deferred_split_queued, 1);
	assert_int_equal(mx_free_pages(sim), free0);
	assert_int_equal(folio->order, 9);
	mx_expect_zero(mm, a + 150 * PS); /* zapped: reads zero (and maps the zero page) */
	TU_CHECK(sim);
	free0 = mx_free_pages(sim);
	uint64_t got = 0;

	TU_ASSERT_OK(simmm_reclaim(sim, 100, &got));
	TU_CHECK(sim);
	assert_int_equal(got, 100);
	assert_int_equal(mx_free_pages(sim), free0 + 100);
	assert_int_equal(mx_swpout(sim), 0);
	expect_pages(mm, a, 0, 100, 30);
	expect_pages(mm, a, 200, NR, 30);
	assert_int_equal(folio_at(sim, mm, a + 300 * PS)->order, 0);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* A full unmap never queues: a PMD-mapped THP (PMD zap), a PTE-mapped one
 * (one batch of 512 ptes); both are freed on the spot. */
static void test_full_unmap_not_queued(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, 2 * PMD), b = a + PMD;
	struct simmm_page *fa = map_thp(sim, mm, a, 40), *fb = map_thp(sim, mm, b, 50);
	simmm_pfn_t pa = fa->pfn, pb = fb->pfn;
	uint64_t free0;

	pte_map(sim, mm, b);
	free0 = mx_free_pages(sim);
	TU_ASSERT_OK(simmm_munmap(mm, a, PMD));
	TU_CHECK(sim);
	assert_true(mx_page(sim, pa).free);
	TU_ASSERT_OK(simmm_madvise(mm, b, PMD, SIMMM_MADV_DONTNEED));
	TU_CHECK(sim);
	assert_true(mx_page(sim, pb).free);
	assert_true(mx_free_pages(sim) >= free0 + 2 * NR);
	assert_int_equal(thp_stats(sim).deferred_split_queued, 0);
	assert_int_equal(thp_stats(sim).nr_partially_mapped, 0);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* Upstream's batching caveat: a THP moved to an address that is not
 * PMD-aligned has its ptes in two pte tables; a munmap of the whole
 * removes them in two batches, and the first leaves the folio partially
 * mapped: queued (thp_deferred_split_page counts it), then freed by the
 * second batch all the same, leaving the queue. */
static void test_full_unmap_two_tables(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD), b = mx_anon_aligned(mm, PMD, 2 * PMD), n = 0;
	struct simmm_page *folio = map_thp(sim, mm, a, 60);
	simmm_pfn_t pfn = folio->pfn;

	TU_ASSERT_OK(simmm_mremap(mm, a, PMD, PMD, SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED,
				  b + PMD / 2, &n));
	TU_CHECK(sim);
	assert_int_equal(n, b + PMD / 2);
	assert_int_equal(mx_tr(mm, n).level, SIMMM_LVL_PTE);
	assert_ptr_equal(folio_at(sim, mm, n + (NR - 1) * PS), folio);
	expect_pages(mm, n, 0, NR, 60);
	assert_int_equal(thp_stats(sim).deferred_split_queued, 0);
	TU_ASSERT_OK(simmm_munmap(mm, n, PMD));
	TU_CHECK(sim);
	assert_int_equal(thp_stats(sim).deferred_split_queued, 1);
	assert_int_equal(thp_stats(sim).nr_partially_mapped, 0);
	assert_true(mx_page(sim, pfn).free);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* A pinned folio cannot be split: the scan leaves it queued (failed + 1)
 * and frees nothing; reclaim swaps nothing either (a pinned anonymous
 * folio is not added to swap). Unpinned, the next reclaim splits it. */
static void test_pinned_stays_queued(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);
	struct simmm_page *folio = map_thp(sim, mm, a, 70);
	struct simmm_thp_stats st;
	simmm_pfn_t pin;
	uint64_t got = 0, free0;

	assert_int_equal(simmm_pin_user_pages(mm, a + 5 * PS, 1, SIMMM_FOLL_WRITE, &pin), 1);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_munmap(mm, a + PMD / 2, PMD / 2));
	TU_CHECK(sim);
	assert_int_equal(thp_stats(sim).nr_partially_mapped, 1);
	free0 = mx_free_pages(sim);
	TU_ASSERT_OK(simmm_reclaim(sim, NR / 2, &got));
	TU_CHECK(sim);
	assert_int_equal(got, 0);
	assert_int_equal(mx_free_pages(sim), free0);
	assert_int_equal(mx_swpout(sim), 0);
	st = thp_stats(sim);
	assert_int_equal(st.deferred_split_failed, 1);
	assert_int_equal(st.deferred_split_split, 0);
	assert_int_equal(st.nr_partially_mapped, 1);
	assert_int_equal(folio->order, 9);
	assert_true(folio->flags & PG_partially_mapped);
	/* A second reclaim fails the same way; still queued once. */
	TU_ASSERT_OK(simmm_reclaim(sim, NR / 2, &got));
	TU_CHECK(sim);
	assert_int_equal(thp_stats(sim).deferred_split_failed, 2);
	assert_int_equal(thp_stats(sim).nr_partially_mapped, 1);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pin, 1));
	TU_CHECK(sim);
	reclaim_splits(sim, mm, a, folio, 0, NR / 2, 70);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* A queued folio that is then unmapped whole is freed and leaves the
 * queue (lazily: its entry goes stale); one split by another path
 * (MADV_PAGEOUT) leaves it too. Nothing leaks at destroy. */
static void test_queued_then_freed_or_split(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, 2 * PMD), b = a + PMD;
	struct simmm_page *fa = map_thp(sim, mm, a, 80), *fb = map_thp(sim, mm, b, 90);
	simmm_pfn_t pa = fa->pfn;
	struct simmm_thp_stats st;

	TU_ASSERT_OK(simmm_munmap(mm, a, PMD / 4));
	TU_ASSERT_OK(simmm_madvise(mm, b + PMD / 2, PMD / 2, SIMMM_MADV_DONTNEED));
	TU_CHECK(sim);
	assert_int_equal(thp_stats(sim).nr_partially_mapped, 2);
	TU_ASSERT_OK(simmm_munmap(mm, a + PMD / 4, 3 * PMD / 4));
	TU_CHECK(sim);
	assert_true(mx_page(sim, pa).free);
	assert_int_equal(thp_stats(sim).nr_partially_mapped, 1);
	/* MADV_PAGEOUT splits the other before reclaiming it: unqueued. */
	TU_ASSERT_OK(simmm_madvise(mm, b, PMD / 2, SIMMM_MADV_PAGEOUT));
	TU_CHECK(sim);
	assert_int_equal(fb->order, 0);
	assert_false(fb->flags & PG_partially_mapped);
	st = thp_stats(sim);
	assert_int_equal(st.nr_partially_mapped, 0);
	assert_int_equal(st.deferred_split_queued, 2);
	assert_int_equal(st.deferred_split_split, 0);
	/* The scan finds only stale entries. */
	uint64_t got = 0;

	TU_ASSERT_OK(simmm_reclaim(sim, 1, &got));
	TU_CHECK(sim);
	st = thp_stats(sim);
	assert_int_equal(st.deferred_split_split + st.deferred_split_failed, 0);
	expect_pages(mm, b, 0, 8, 90); /* swapped in again */
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* fork: the child unmaps half of a THP the parent maps by its PMD: no page
 * lost its last mapping for good (the PMD maps them all), nothing queued.
 * The parent unmaps the THP: its PMD was the last entire mapping and the
 * child still maps half by ptes: queued. Reclaim frees the other half and
 * the child keeps its pages. */
static void test_fork_child_partial(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = thp_region(mm, PMD);
	struct simmm_page *folio = map_thp(sim, mm, a, 100);

	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(child, a).level, SIMMM_LVL_PMD);
	TU_ASSERT_OK(simmm_munmap(child, a + PMD / 2, PMD / 2));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PMD);
	assert_int_equal(mx_tr(child, a).level, SIMMM_LVL_PTE);
	assert_int_equal(thp_stats(sim).deferred_split_queued, 0);
	assert_false(folio->flags & PG_partially_mapped);
	TU_ASSERT_OK(simmm_munmap(mm, a, PMD));
	TU_CHECK(sim);
	assert_int_equal(thp_stats(sim).deferred_split_queued, 1);
	assert_int_equal(thp_stats(sim).nr_partially_mapped, 1);
	assert_int_equal(folio->order, 9);
	for (unsigned i = 0; i < NR; i++) /* no page of it was freed */
		assert_false(mx_page(sim, folio->pfn + i).free);
	reclaim_splits(sim, child, a, folio, 0, NR / 2, 100);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* Direct reclaim runs the scan too: with RAM full, a fault's allocation
 * gets its page from a partially mapped THP's unmapped half (there is no
 * swap: nothing else could be reclaimed). */
static void test_direct_reclaim(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 8 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD), f;
	struct simmm_page *folio = map_thp(sim, mm, a, 110);
	uint64_t n, last_free = 0;

	TU_ASSERT_OK(simmm_munmap(mm, a + PMD / 2, PMD / 2));
	TU_CHECK(sim);
	assert_int_equal(thp_stats(sim).nr_partially_mapped, 1);
	/* Small pages (no MADV_HUGEPAGE) until an allocation had to reclaim. */
	f = mx_anon(mm, 0, 8 * MIB);
	for (n = 0; thp_stats(sim).deferred_split_split == 0; n++) {
		assert_true(n < 8 * MIB / PS);
		last_free = mx_free_pages(sim);
		mx_write(mm, f + n * PS, 1 + (unsigned)n);
	}
	TU_CHECK(sim);
	assert_true(last_free <= 1); /* a pte table, then no page for the fault */
	assert_int_equal(thp_stats(sim).deferred_split_freed, NR / 2);
	assert_int_equal(folio->order, 0);
	expect_pages(mm, a, 0, NR / 2, 110);
	for (uint64_t i = 0; i < n; i++)
		mx_expect(mm, f + i * PS, 1 + (unsigned)i);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_munmap_half_pte_mapped),
		cmocka_unit_test(test_munmap_first_half),
		cmocka_unit_test(test_dontneed_part_pmd_mapped),
		cmocka_unit_test(test_full_unmap_not_queued),
		cmocka_unit_test(test_full_unmap_two_tables),
		cmocka_unit_test(test_pinned_stays_queued),
		cmocka_unit_test(test_queued_then_freed_or_split),
		cmocka_unit_test(test_fork_child_partial),
		cmocka_unit_test(test_direct_reclaim),
	};

	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
