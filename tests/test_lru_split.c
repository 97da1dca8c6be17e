// SPDX-License-Identifier: MIT
/*
 * The LRU's anon/file split and get_scan_count()'s scan balance
 * (src/mm/reclaim.c; upstream mm/vmscan.c of a 6.1x tree, lru_gen off):
 *  - folio_is_file_lru(): lazyfree (MADV_FREE'd) anonymous folios are on
 *    the file lists (lru_lazyfree() moves them to the inactive file list),
 *    tmpfs folios on the anon lists; a lazyfree folio written again goes
 *    back to the active anon list when reclaim finds it dirty;
 *  - no free swap slot: the anon lists are not scanned at all (no young
 *    bit cleared, no scan counted), the file lists are, lazyfree folios
 *    included; -ENOSPC when nothing else could go;
 *  - swappiness: 200 reclaims anon first, 0 file first (SCAN_FRACT); at 0
 *    anon is scanned only when the file lists are tiny (file_is_tiny: a
 *    machine out of memory), not by a reclaim with free memory;
 *  - SCAN_EQUAL at priority 0: file folios are scanned at swappiness 200
 *    when nothing else frees, but only there;
 *  - shrink_lruvec()'s proportional adjustment once the goal is met;
 *  - inactive_is_low() per type: a low inactive anon list ages the active
 *    anon list even when the lists together are not low, and a file type
 *    that is not low keeps its active folios;
 *  - lru_note_cost(): 32 per folio written out, halved past a quarter of
 *    the lists;
 *  - the checker: a folio whose PG_swapbacked changed behind the LRU's
 *    back is not on the list its flags name.
 * Every step runs the invariant checker.
 */
#include "test_mm_ext_util.h"

/* A file of @n pages, each read @reads times through the page cache:
 * once leaves it inactive and referenced (its first look frees it:
 * FOLIOREF_RECLAIM_CLEAN, clean), twice makes it active. */
static struct simmm_file *file_pages(simmm_sim *sim, unsigned n, unsigned reads, unsigned flags)
{
	struct simmm_file *f = NULL;
	uint8_t b;

	TU_ASSERT_OK(simmm_file_create(sim, n * PS, flags, &f));
	for (unsigned r = 0; r < reads; r++)
		for (unsigned i = 0; i < n; i++)
			assert_int_equal(simmm_file_pread(f, &b, 1, i * PS), 1);
	TU_CHECK(sim);
	return f;
}

static void reclaim(simmm_sim *sim, uint64_t goal, int rc, uint64_t *got)
{
	uint64_t n = 0;

	assert_int_equal(simmm_reclaim(sim, goal, &n), rc);
	TU_CHECK(sim);
	if (got)
		*got = n;
}

/* ---- the lists --------------------------------------------------------------------- */

/*
 * Anonymous folios are on the anon lists, tmpfs folios too (swap-backed);
 * page-cache folios on the file lists. MADV_FREE makes an anonymous
 * folio lazyfree: lru_lazyfree() moves it to the inactive file list. A
 * write to it leaves it there (the pte is dirty, the folio still
 * lazyfree) until reclaim looks: try_to_unmap() finds the dirty pte,
 * makes the folio swap-backed again and keeps it, and the putback puts it
 * on the active anon list; the clean one is discarded.
 */
static void test_lists_by_type(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);
	struct simmm_lru_stats st;

	mx_write(mm, a, 1);
	mx_write(mm, a + PS, 2);
	struct simmm_file *shm = file_pages(sim, 3, 1, SIMMM_FILE_SHMEM);
	struct simmm_file *f = file_pages(sim, 4, 1, 0);
	st = mx_lru(sim);
	assert_int_equal(st.nr_inactive_anon, 2 + 3);
	assert_int_equal(st.nr_inactive_file, 4);
	assert_int_equal(st.nr_active_anon + st.nr_active_file, 0);
	assert_int_equal(st.nr_inactive, st.nr_inactive_anon + st.nr_inactive_file);

	TU_ASSERT_OK(simmm_madvise(mm, a, 2 * PS, SIMMM_MADV_FREE));
	TU_CHECK(sim);
	struct simmm_page *p0 = mx_folio_at(mm, a), *p1 = mx_folio_at(mm, a + PS);
	assert_int_equal(p0->flags & (PG_swapbacked | PG_lru | PG_active), PG_lru);
	assert_int_equal(p1->flags & (PG_swapbacked | PG_lru | PG_active), PG_lru);
	st = mx_lru(sim);
	assert_int_equal(st.nr_inactive_anon, 3);
	assert_int_equal(st.nr_inactive_file, 4 + 2);

	/* Written again: still lazyfree, on the file list. */
	mx_write(mm, a + PS, 3);
	assert_false(p1->flags & PG_swapbacked);
	assert_int_equal(mx_lru(sim).nr_inactive_file, 6);
	TU_CHECK(sim);
	/* One look at each list: the anon batch (the tmpfs pages, which simmm
	 * drops from the LRU: no shmem swap-out), then the file batch: the
	 * page-cache pages and the clean lazyfree page go, the written one is
	 * young (PG_referenced, kept). */
	uint64_t freed = simmm__shrink_inactive_batch(sim, 32);
	TU_CHECK(sim);
	assert_int_equal(freed, 4 + 1);
	assert_false(mx_tr(mm, a).present);
	mx_expect_zero(mm, a);
	assert_int_equal(p1->flags & (PG_swapbacked | PG_lru | PG_active | PG_referenced),
			 PG_lru | PG_referenced);
	st = mx_lru(sim);
	assert_int_equal(st.nr_inactive_anon, 0);
	assert_int_equal(st.nr_inactive_file, 1);
	assert_int_equal(st.scanned_anon, 3);
	assert_int_equal(st.scanned_file, 6);
	assert_int_equal(st.reclaimed_file, 5);
	/* The next look tries to discard it and finds the dirty pte: it is
	 * swap-backed again, activated, on the active anon list. */
	assert_int_equal(simmm__shrink_inactive_batch(sim, 32), 0);
	TU_CHECK(sim);
	assert_true(mx_tr(mm, a + PS).present);
	assert_int_equal(p1->flags & (PG_swapbacked | PG_lru | PG_active),
			 PG_swapbacked | PG_lru | PG_active);
	st = mx_lru(sim);
	assert_int_equal(st.nr_active_anon, 1);
	assert_int_equal(st.nr_inactive_file, 0);
	assert_int_equal(st.nr_isolated_anon + st.nr_isolated_file, 0);
	assert_int_equal(st.scanned_file, 7);
	assert_int_equal(st.reclaimed_anon, 0);
	mx_expect(mm, a + PS, 3);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	TU_ASSERT_OK(simmm_file_put(shm));
	tu_sim_free(&sim);
}

/* PG_swapbacked flipped on an LRU folio without moving it (bypassing
 * simmm__lru_move()): the checker finds the folio missing from the list
 * its flags name. */
static void test_check_catches_flipped_swapbacked(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);

	mx_write(mm, a, 1);
	struct simmm_page *folio = mx_folio_at(mm, a);
	TU_CHECK(sim);
	folio->flags &= ~PG_swapbacked;
	assert_true(simmm_check(sim) > 0);
	assert_non_null(strstr(simmm_reports(sim, NULL), "not queued on the inactive list (file)"));
	folio->flags |= PG_swapbacked;
	simmm_reports_clear(sim);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* ---- swap full: the anon lists are not scanned ------------------------------------- */

/*
 * With every swap slot taken, get_scan_count() scans the file lists only
 * (can_reclaim_anon_pages()): the anonymous folios' young ptes stay young,
 * none gets PG_referenced, none counts as scanned; the page-cache pages
 * and the lazyfree page (file LRU: no swap needed) go. With nothing left
 * on the file lists, simmm_reclaim() returns -ENOSPC, still without
 * looking at an anonymous folio.
 */
static void test_swap_full_scans_file_only(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 2 * PS);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t s = mx_anon(mm, 0, 2 * PS), a;
	uint64_t n = 0;

	/* Fill swap: two pages, each young once, taken by the second pass. */
	mx_write(mm, s, 1);
	mx_write(mm, s + PS, 2);
	reclaim(sim, 2, 0, &n);
	assert_int_equal(n, 2);
	assert_int_equal(mx_swap_used(sim), 2);

	a = mx_anon(mm, 0, 5 * PS);
	for (unsigned i = 0; i < 5; i++)
		mx_write(mm, a + i * PS, 10 + i);
	TU_ASSERT_OK(simmm_madvise(mm, a + 4 * PS, PS, SIMMM_MADV_FREE));
	struct simmm_file *f = file_pages(sim, 8, 1, 0);
	struct simmm_lru_stats st = mx_lru(sim);
	assert_int_equal(st.nr_inactive_anon, 4);
	assert_int_equal(st.nr_inactive_file, 8 + 1);

	reclaim(sim, 100, 0, &n);
	assert_int_equal(n, 8 + 1);
	assert_int_equal(f->nrpages, 0);
	assert_false(mx_tr(mm, a + 4 * PS).present); /* lazyfree: discarded */
	for (unsigned i = 0; i < 4; i++) {
		struct simmm_translation t = mx_tr(mm, a + i * PS);

		assert_true(t.present);
		assert_true(simmm_pte_young(t.entry));
		assert_false(mx_folio_at(mm, a + i * PS)->flags & (PG_referenced | PG_active));
	}
	assert_int_equal(mx_lru(sim).scanned_anon, st.scanned_anon);
	assert_int_equal(mx_lru(sim).scanned_file, st.scanned_file + 9);

	/* Only anon left: nothing could go for want of swap. */
	reclaim(sim, 4, -ENOSPC, &n);
	assert_int_equal(n, 0);
	assert_int_equal(mx_lru(sim).scanned_anon, st.scanned_anon);
	for (unsigned i = 0; i < 4; i++) {
		assert_true(simmm_pte_young(mx_tr(mm, a + i * PS).entry));
		mx_expect(mm, a + i * PS, 10 + i);
	}
	mx_expect(mm, s, 1);
	mx_expect(mm, s + PS, 2);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	tu_sim_free(&sim);
}

/* ---- swappiness ---------------------------------------------------------------------- */

/*
 * The same machine reclaimed at swappiness 200 and at 0: 64 cold
 * anonymous pages (first on the LRU), 64 read-once page-cache pages and
 * 128 active ones, so that the inactive file list is low (no
 * cache_trim_mode) and free memory is plenty (no file_is_tiny):
 * SCAN_FRACT. At 200 file's share is 0 (200 - swappiness): the goal of 8
 * is met by anonymous pages alone, written to swap; at 0 anon's share is
 * 0: by page-cache pages alone, swap untouched.
 */
static void swappiness_case(int swappiness, bool anon_first)
{
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	uint64_t n = 0;

	simmm_addr_t a = mx_cold_anon(mm, 64, 1);
	struct simmm_file *f = file_pages(sim, 64, 1, 0);
	struct simmm_file *act = file_pages(sim, 128, 2, 0);
	struct simmm_lru_stats st = mx_lru(sim);

	assert_int_equal(st.nr_inactive_anon, 64);
	assert_int_equal(st.nr_inactive_file, 64);
	assert_int_equal(st.nr_active_file, 128);
	assert_int_equal(simmm_set_swappiness(sim, swappiness), 0);
	reclaim(sim, 8, 0, &n);
	assert_true(n >= 8);
	if (anon_first) {
		assert_int_equal(mx_swap_used(sim), n);
		assert_int_equal(f->nrpages, 64);
		assert_int_equal(mx_lru(sim).reclaimed_file, 0);
		assert_int_equal(mx_lru(sim).reclaimed_anon, n);
	} else {
		assert_int_equal(mx_swap_used(sim), 0);
		assert_int_equal(f->nrpages, 64 - n);
		assert_int_equal(mx_lru(sim).scanned_anon, 0);
		assert_int_equal(mx_lru(sim).reclaimed_file, n);
	}
	assert_int_equal(act->nrpages, 128);
	for (unsigned i = 0; i < 64; i++)
		mx_expect(mm, a + i * PS, 1 + i);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	TU_ASSERT_OK(simmm_file_put(act));
	tu_sim_free(&sim);
}

static void test_swappiness_200_anon_first(void **state)
{
	(void)state;
	swappiness_case(200, true);
}

static void test_swappiness_0_file_first(void **state)
{
	(void)state;
	swappiness_case(0, false);
}

/* simmm_set_swappiness() takes 0..200 only. */
static void test_swappiness_range(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);

	assert_int_equal(simmm_set_swappiness(sim, -1), -EINVAL);
	assert_int_equal(simmm_set_swappiness(sim, 201), -EINVAL);
	assert_int_equal(simmm_set_swappiness(NULL, 60), -EINVAL);
	TU_ASSERT_OK(simmm_set_swappiness(sim, 0));
	TU_ASSERT_OK(simmm_set_swappiness(sim, 200));
	assert_int_equal(simmm__mm_global(sim)->lru->swappiness, 200);
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * Swappiness 0 scans anon only when file_is_tiny: the file folios plus
 * the free pages within the high watermark (67 pages on a 2 MiB machine
 * of 4 KiB pages), the inactive anon list not low. A reclaim with free
 * memory leaves the anonymous pages alone, at every priority (no
 * SCAN_EQUAL at 0): nothing freed, and not -ENOSPC (swap has room). An
 * allocation that finds RAM exhausted reclaims anon (direct reclaim,
 * free pages near 0, no file folios): writing twice the machine's RAM
 * succeeds, swapping.
 */
static void test_swappiness_0_anon_when_file_is_tiny(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 2 * MIB, 8 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_cold_anon(mm, 8, 1);
	uint64_t n = 1;

	TU_ASSERT_OK(simmm_set_swappiness(sim, 0));
	reclaim(sim, 8, 0, &n);
	assert_int_equal(n, 0);
	assert_int_equal(mx_lru(sim).scanned_anon, 0);
	assert_int_equal(mx_swap_used(sim), 0);

	simmm_addr_t b = mx_anon(mm, 0, 1024 * PS);
	for (unsigned i = 0; i < 1024; i++)
		mx_write(mm, b + i * PS, 100 + i);
	TU_CHECK(sim);
	assert_true(mx_lru(sim).reclaimed_anon > 0);
	assert_true(mx_swap_used(sim) > 0);
	for (unsigned i = 0; i < 8; i++)
		mx_expect(mm, a + i * PS, 1 + i);
	for (unsigned i = 0; i < 1024; i++)
		mx_expect(mm, b + i * PS, 100 + i);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/*
 * SCAN_EQUAL: at priority 0, with a swappiness, every list is scanned for
 * its whole size. At swappiness 200 file's SCAN_FRACT share is 0, so a
 * page-cache page (its inactive list low beside two active pages: no
 * cache_trim_mode) is looked at only at priority 0, after four pinned
 * anonymous pages (never swapped: kept each look) were looked at for
 * their full share at priorities 2 (4 >> 2) and 1 (4 >> 1), then at 0.
 */
static void test_scan_equal_at_priority_0(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_cold_anon(mm, 4, 1);
	struct simmm_file *act = file_pages(sim, 2, 2, 0);
	struct simmm_file *f = file_pages(sim, 1, 1, 0);
	simmm_pfn_t pins[4];
	uint64_t n = 0;

	assert_int_equal(simmm_pin_user_pages(mm, a, 4, SIMMM_FOLL_WRITE, pins), 4);
	TU_ASSERT_OK(simmm_set_swappiness(sim, 200));
	struct simmm_lru_stats st = mx_lru(sim);
	assert_int_equal(st.nr_inactive_file, 1);
	assert_int_equal(st.nr_active_file, 2);
	reclaim(sim, 1, 0, &n);
	assert_int_equal(n, 1);
	assert_int_equal(f->nrpages, 0);
	assert_int_equal(mx_lru(sim).scanned_file - st.scanned_file, 1);
	assert_int_equal(mx_lru(sim).scanned_anon - st.scanned_anon, 1 + 2 + 4);
	assert_int_equal(mx_swap_used(sim), 0);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, pins, 4));
	for (unsigned i = 0; i < 4; i++)
		mx_expect(mm, a + i * PS, 1 + i);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	TU_ASSERT_OK(simmm_file_put(act));
	tu_sim_free(&sim);
}

/*
 * shrink_lruvec()'s proportional adjustment (kswapd's, which
 * simmm_reclaim() plays: the goal is checked after each round of batches).
 * Swappiness 200 and a low inactive file list keep file out until
 * priority 0 (SCAN_FRACT, no cache_trim_mode), where SCAN_EQUAL targets 64
 * pinned anonymous pages (kept at every look, 63 looks before priority 0),
 * 40 read-once page-cache pages and 50 active ones. The first round (32
 * anon kept, 32 file freed, 32 active file aged) meets the goal of 20
 * with 32 anon and 26 file folios left to scan: file, with less left,
 * stops, having scanned 72 % of its targets (26 * 100 / 91 = 28 % left),
 * and anon's target shrinks to 72 % of 64, 46, of which 32 are done: 14
 * more anon looks, then the loop ends (one type is done).
 */
static void test_proportional_adjustment(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_cold_anon(mm, 64, 1);
	struct simmm_file *f = file_pages(sim, 40, 1, 0);
	struct simmm_file *act = file_pages(sim, 50, 2, 0);
	simmm_pfn_t pins[64];
	uint64_t n = 0;

	assert_int_equal(simmm_pin_user_pages(mm, a, 64, SIMMM_FOLL_WRITE, pins), 64);
	TU_ASSERT_OK(simmm_set_swappiness(sim, 200));
	struct simmm_lru_stats st = mx_lru(sim);
	assert_int_equal(st.nr_inactive_anon, 64);
	assert_int_equal(st.nr_inactive_file, 40);
	assert_int_equal(st.nr_active_file, 50);
	reclaim(sim, 20, 0, &n);
	assert_int_equal(n, 32);
	assert_int_equal(f->nrpages, 8);
	assert_int_equal(act->nrpages, 50);
	assert_int_equal(mx_lru(sim).scanned_file - st.scanned_file, 32);
	assert_int_equal(mx_lru(sim).scanned_anon - st.scanned_anon, 1 + 2 + 4 + 8 + 16 + 32 + 46);
	assert_int_equal(mx_lru(sim).deactivated - st.deactivated, 32);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, pins, 64));
	for (unsigned i = 0; i < 64; i++)
		mx_expect(mm, a + i * PS, 1 + i);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	TU_ASSERT_OK(simmm_file_put(act));
	tu_sim_free(&sim);
}

/* ---- aging by type ----------------------------------------------------------------------- */

/*
 * inactive_is_low() compares the lists of one type. Four active
 * anonymous pages and no inactive one: the inactive anon list is low,
 * although the lists together are not (ten inactive page-cache pages
 * against six active folios). The first priority already ages them (the
 * extra shrink_active_list() at the end of shrink_lruvec(): a swap device
 * exists): inactive, young bits cleared, still mapped. The two active
 * page-cache pages stay active (their inactive list is not low), and the
 * goal of one page is met by a read-once page-cache page
 * (cache_trim_mode).
 */
static void test_inactive_is_low_per_type(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS);
	struct simmm_page *anon[4];
	uint64_t n = 0;

	/* Activate: young once (PG_referenced), young again (activated). */
	for (unsigned i = 0; i < 4; i++)
		mx_write(mm, a + i * PS, 1 + i);
	assert_int_equal(simmm__shrink_inactive_batch(sim, 4), 0);
	for (unsigned i = 0; i < 4; i++)
		mx_write(mm, a + i * PS, 5 + i);
	assert_int_equal(simmm__shrink_inactive_batch(sim, 4), 0);
	TU_CHECK(sim);
	for (unsigned i = 0; i < 4; i++) {
		anon[i] = mx_folio_at(mm, a + i * PS);
		assert_true(anon[i]->flags & PG_active);
		mx_expect(mm, a + i * PS, 5 + i); /* young again */
	}
	struct simmm_file *act = file_pages(sim, 2, 2, 0);
	struct simmm_file *f = file_pages(sim, 10, 1, 0);
	struct simmm_lru_stats st = mx_lru(sim);
	assert_int_equal(st.nr_active_anon, 4);
	assert_int_equal(st.nr_inactive_anon, 0);
	assert_int_equal(st.nr_active_file, 2);
	assert_int_equal(st.nr_inactive_file, 10);

	reclaim(sim, 1, 0, &n);
	assert_int_equal(n, 1);
	for (unsigned i = 0; i < 4; i++) {
		struct simmm_translation t = mx_tr(mm, a + i * PS);

		assert_true(t.present);
		assert_false(simmm_pte_young(t.entry));
		assert_int_equal(anon[i]->flags & (PG_active | PG_lru), PG_lru);
	}
	assert_int_equal(mx_lru(sim).deactivated - st.deactivated, 4);
	assert_int_equal(mx_lru(sim).nr_active_file, 2);
	assert_int_equal(mx_lru(sim).nr_inactive_anon, 4);
	assert_int_equal(f->nrpages, 9);
	assert_int_equal(act->nrpages, 2);
	for (unsigned i = 0; i < 4; i++)
		mx_expect(mm, a + i * PS, 5 + i);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	TU_ASSERT_OK(simmm_file_put(act));
	tu_sim_free(&sim);
}

/* ---- costs --------------------------------------------------------------------------------- */

/*
 * lru_note_cost() after each batch of an inactive list: 32 per folio
 * written out, 1 per folio looked at and kept. Four cold, dirty
 * anonymous pages go to swap in one batch (4 * 32 = 128 to anon), four
 * read-once page-cache pages go without I/O (0 to file). 128 exceeds a
 * quarter of the 204 folios left on the lists after the anon batch, so
 * both costs are halved (anon 64); the check runs after the file batch
 * too, which added nothing, and halves them again (64 > 200 / 4).
 */
static void test_note_cost(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_cold_anon(mm, 4, 1);
	struct simmm_file *f = file_pages(sim, 4, 1, 0);
	struct simmm_file *big = file_pages(sim, 200, 2, 0);

	assert_int_equal(mx_lru(sim).anon_cost + mx_lru(sim).file_cost, 0);
	assert_int_equal(simmm__shrink_inactive_batch(sim, 4), 8);
	TU_CHECK(sim);
	assert_int_equal(mx_swap_used(sim), 4);
	assert_int_equal(mx_lru(sim).anon_cost, 32);
	assert_int_equal(mx_lru(sim).file_cost, 0);
	for (unsigned i = 0; i < 4; i++)
		mx_expect(mm, a + i * PS, 1 + i);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	TU_ASSERT_OK(simmm_file_put(big));
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lists_by_type),
		cmocka_unit_test(test_check_catches_flipped_swapbacked),
		cmocka_unit_test(test_swap_full_scans_file_only),
		cmocka_unit_test(test_swappiness_200_anon_first),
		cmocka_unit_test(test_swappiness_0_file_first),
		cmocka_unit_test(test_swappiness_range),
		cmocka_unit_test(test_swappiness_0_anon_when_file_is_tiny),
		cmocka_unit_test(test_scan_equal_at_priority_0),
		cmocka_unit_test(test_proportional_adjustment),
		cmocka_unit_test(test_inactive_is_low_per_type),
		cmocka_unit_test(test_note_cost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
