// SPDX-License-Identifier: MIT
/*
 * The classic LRU (src/mm/reclaim.c) and MADV_COLD (src/mm/madvise.c);
 * the anon/file split and the scan balance are in test_lru_split.c:
 *  - folio_check_references(): one young look sets PG_referenced and keeps
 *    the folio inactive, a second activates it; an executable file mapping
 *    activates at once; PG_referenced alone lets a clean file folio go;
 *  - shrink_active_list() refills a low inactive list, clearing PG_active;
 *  - folio_mark_accessed() from simmm_file_pread(): referenced, then active;
 *  - MADV_COLD: exclusive folios are deactivated and their entries made
 *    old, shared ones are left alone; a THP covered whole is handled at PMD
 *    level, one covered in part is split; VM_LOCKED gives -EINVAL;
 *  - isolation puts a folio back on the list PG_active names, and
 *    folio_isolate_lru()'s isolations are not counted in nr_isolated;
 *  - the checker catches PG_active flipped behind the LRU's back;
 *  - the scan priorities (size >> priority from DEF_PRIORITY down), the
 *    batches of at most 32 folios isolated at once and freed at their end,
 *    and simmm_reclaim()'s passes with memory.reclaim's 16 retries.
 * The rules for a single look use simmm__shrink_inactive_batch(), one
 * batch of each inactive list's shrink. Every step runs the invariant
 * checker.
 */
#include "test_mm_ext_util.h"

/* @n page-cache pages of a new file, read once each: unmapped, inactive,
 * PG_referenced. folio_check_references() gives them FOLIOREF_RECLAIM_CLEAN:
 * each goes at its first look, so that a reclaim of one page stops there. */
static struct simmm_file *fodder(simmm_sim *sim, unsigned n)
{
	struct simmm_file *f = NULL;
	uint8_t b;

	TU_ASSERT_OK(simmm_file_create(sim, n * PS, 0, &f));
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(simmm_file_pread(f, &b, 1, i * PS), 1);
	return f;
}

static void reclaim1(simmm_sim *sim, uint64_t want)
{
	uint64_t n = 0;

	TU_ASSERT_OK(simmm_reclaim(sim, 1, &n));
	assert_int_equal(n, want);
	TU_CHECK(sim);
}

/* One look at the folio at the head of the inactive list: one batch of
 * one (simmm__shrink_inactive_batch()), which frees @want pages. */
static void look1(simmm_sim *sim, uint64_t want)
{
	assert_int_equal(simmm__shrink_inactive_batch(sim, 1), want);
	TU_CHECK(sim);
}

/* Activate the anonymous page at @a (written, so young), the only folio
 * on the inactive list: its first look finds it young (PG_referenced,
 * kept inactive); written again, the second finds it young and
 * referenced: activated. */
static struct simmm_page *make_active(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t a)
{
	struct simmm_page *folio = mx_folio_at(mm, a);
	struct simmm_lru_stats st = mx_lru(sim);

	assert_int_equal(st.nr_inactive, 1);
	assert_false(folio->flags & (PG_active | PG_referenced));
	look1(sim, 0);
	assert_true(folio->flags & PG_referenced);
	assert_false(folio->flags & PG_active);
	assert_int_equal(mx_lru(sim).activated, st.activated);
	assert_int_equal(mx_lru(sim).scanned, st.scanned + 1);
	mx_write(mm, a, 2);
	look1(sim, 0);
	assert_true(folio->flags & PG_active);
	assert_true(folio->flags & PG_referenced); /* kept on activation */
	assert_int_equal(mx_lru(sim).activated, st.activated + 1);
	assert_int_equal(mx_lru(sim).scanned, st.scanned + 2);
	return folio;
}

static void test_activation_on_second_reference(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);

	mx_write(mm, a, 1);
	TU_CHECK(sim);
	assert_int_equal(mx_lru(sim).nr_active, 0);
	struct simmm_page *folio = make_active(sim, mm, a);
	assert_int_equal(mx_lru(sim).nr_active, 1);
	struct simmm_file *f = fodder(sim, 1);
	/* Active, with an anonymous page still inactive beside it (the
	 * inactive anon list is not low) and a fodder page on the file list:
	 * the next reclaim takes the fodder page and leaves the active folio
	 * alone. (Alone on the anon lists it would be aged: inactive_is_low()
	 * compares the lists of one type.) */
	mx_write(mm, a + PS, 3);
	reclaim1(sim, 1);
	assert_true(folio->flags & PG_active);
	assert_true(mx_tr(mm, a).present);
	assert_true(mx_tr(mm, a + PS).present);
	mx_expect(mm, a, 2);
	mx_expect(mm, a + PS, 3);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	tu_sim_free(&sim);
}

/* The inactive list empty, shrink_active_list() moves the active folio
 * back (PG_active cleared, young bits cleared), where its PG_referenced
 * alone no longer saves an anonymous folio: it goes to swap. */
static void test_deactivation_by_shrink_active_list(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);

	mx_write(mm, a, 1);
	make_active(sim, mm, a);
	struct simmm_lru_stats st = mx_lru(sim);
	assert_int_equal(st.nr_inactive, 0);
	mx_write(mm, a, 3); /* young again: shrink_active_list() ignores it (anon) */
	reclaim1(sim, 1);
	assert_int_equal(mx_lru(sim).deactivated, st.deactivated + 1);
	assert_false(mx_tr(mm, a).present); /* swapped out */
	mx_expect(mm, a, 3);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* A young page of an executable file mapping is activated at its first
 * look (FOLIOREF_ACTIVATE for VM_EXEC on the file LRU). */
static void test_exec_file_activated_at_once(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *x = NULL;
	simmm_addr_t a = 0;
	uint8_t b;

	TU_ASSERT_OK(simmm_file_create(sim, PS, 0, &x));
	TU_ASSERT_OK(simmm_mmap(mm, 0, PS, SIMMM_PROT_READ | SIMMM_PROT_EXEC, SIMMM_MAP_PRIVATE,
				x, 0, &a));
	TU_ASSERT_OK(simmm_mm_access(mm, a, &b, 1, SIMMM_ACCESS_READ));
	struct simmm_file *f = fodder(sim, 1);
	struct simmm_page *folio = mx_folio_at(mm, a);
	TU_CHECK(sim);
	reclaim1(sim, 1);
	assert_true(folio->flags & PG_active);
	assert_true(mx_tr(mm, a).present);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	TU_ASSERT_OK(simmm_file_put(x));
	tu_sim_free(&sim);
}

/* folio_mark_accessed() through read(2): the first read sets
 * PG_referenced, the second activates (PG_referenced cleared), the third
 * sets it again; writes do not count. An unmapped page read once is
 * reclaimed at its first look (PG_referenced alone: RECLAIM_CLEAN). */
static void test_file_read_referenced_then_active(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_file *f = NULL;
	uint8_t b = 7;

	TU_ASSERT_OK(simmm_file_create(sim, 2 * PS, 0, &f));
	assert_int_equal(simmm_file_pwrite(f, &b, 1, 0), 1);
	struct simmm_page *folio = simmm__pfn_to_page(sim, f->cache[0] - 1);
	assert_false(folio->flags & (PG_referenced | PG_active));
	assert_int_equal(simmm_file_pwrite(f, &b, 1, 0), 1);
	assert_false(folio->flags & (PG_referenced | PG_active));
	assert_int_equal(simmm_file_pread(f, &b, 1, 0), 1);
	assert_true(folio->flags & PG_referenced);
	assert_false(folio->flags & PG_active);
	TU_CHECK(sim);
	assert_int_equal(simmm_file_pread(f, &b, 1, 0), 1);
	assert_false(folio->flags & PG_referenced);
	assert_true(folio->flags & PG_active);
	assert_int_equal(mx_lru(sim).nr_active, 1);
	TU_CHECK(sim);
	assert_int_equal(simmm_file_pread(f, &b, 1, 0), 1);
	assert_true(folio->flags & (PG_referenced | PG_active));
	/* Page 1, read once: inactive and referenced, reclaimed first. */
	assert_int_equal(simmm_file_pread(f, &b, 1, PS), 1);
	reclaim1(sim, 1);
	assert_int_equal(f->nrpages, 1);
	assert_true(folio->flags & PG_active);
	TU_ASSERT_OK(simmm_file_put(f));
	tu_sim_free(&sim);
}

/* MADV_COLD deactivates an active folio only this mm maps, clears its
 * PG_referenced and young pte; after fork the folio is shared and COLD
 * leaves it alone. Contents never change. */
static void test_cold_exclusive_vs_shared(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, PS);

	mx_write(mm, a, 1);
	struct simmm_page *folio = make_active(sim, mm, a);
	struct simmm_lru_stats st = mx_lru(sim);
	struct simmm_file *f = fodder(sim, 1);

	/* Shared with a child (read-only COW): skipped. */
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	mx_expect(mm, a, 2); /* young again */
	assert_true(simmm_pte_young(mx_tr(mm, a).entry));
	TU_ASSERT_OK(simmm_madvise(mm, a, PS, SIMMM_MADV_COLD));
	TU_CHECK(sim);
	assert_true(folio->flags & PG_active);
	assert_true(simmm_pte_young(mx_tr(mm, a).entry));
	TU_ASSERT_OK(simmm_mmput(child));
	TU_CHECK(sim);
	/* Exclusive again: deactivated, old, unreferenced. */
	TU_ASSERT_OK(simmm_madvise(mm, a, PS, SIMMM_MADV_COLD));
	TU_CHECK(sim);
	assert_false(folio->flags & (PG_active | PG_referenced));
	assert_true(folio->flags & PG_lru);
	assert_false(simmm_pte_young(mx_tr(mm, a).entry));
	assert_int_equal(mx_lru(sim).deactivated, st.deactivated + 1);
	assert_int_equal(mx_lru(sim).nr_active, 0);
	/* Cold and old, queued behind the fodder page: the next reclaim
	 * takes the fodder page, then it at its first look. */
	TU_ASSERT_OK(simmm_reclaim(sim, 2, &st.reclaimed));
	assert_int_equal(st.reclaimed, 2);
	TU_CHECK(sim);
	assert_false(mx_tr(mm, a).present);
	mx_expect(mm, a, 2);
	/* Holes: -ENOMEM after advising the mapped part; bad advice -EINVAL. */
	assert_int_equal(simmm_madvise(mm, a, 2 * PS, SIMMM_MADV_COLD), -ENOMEM);
	assert_int_equal(simmm_madvise(mm, a, PS, 7), -EINVAL); /* no such advice (5-7 are unused) */
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	tu_sim_free(&sim);
}

/* A THP: MADV_COLD over the whole PMD makes the PMD old and keeps the
 * folio whole; over part of it, the folio is split first and only the
 * covered ptes are made old. */
static void test_cold_thp(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);

	mx_write(mm, a, 1);
	struct simmm_page *folio = mx_folio_at(mm, a);
	assert_int_equal(folio->order, 9);
	struct simmm_translation t = mx_tr(mm, a);
	assert_int_not_equal(t.level, SIMMM_LVL_PTE);
	assert_true(simmm_pte_young(t.entry));
	folio->flags |= PG_referenced;
	TU_ASSERT_OK(simmm_madvise(mm, a, PMD, SIMMM_MADV_COLD));
	TU_CHECK(sim);
	t = mx_tr(mm, a);
	assert_int_not_equal(t.level, SIMMM_LVL_PTE);
	assert_false(simmm_pte_young(t.entry));
	assert_false(folio->flags & (PG_referenced | PG_active));
	assert_int_equal(folio->order, 9);
	/* Young again, then COLD over its second half: split. */
	mx_write(mm, a, 2);
	mx_write(mm, a + PMD / 2, 3);
	TU_ASSERT_OK(simmm_madvise(mm, a + PMD / 2, PMD / 2, SIMMM_MADV_COLD));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PTE);
	assert_int_equal(mx_folio_at(mm, a)->order, 0);
	assert_true(simmm_pte_young(mx_tr(mm, a).entry));
	assert_false(simmm_pte_young(mx_tr(mm, a + PMD / 2).entry));
	mx_expect(mm, a, 2);
	mx_expect(mm, a + PMD / 2, 3);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* can_madv_lru_vma(): VM_LOCKED (also VM_PFNMAP, VM_HUGETLB) refuses. */
static void test_cold_locked_einval(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);

	mx_write(mm, a, 1);
	TU_ASSERT_OK(simmm_mlock(mm, a, PS));
	assert_int_equal(simmm_madvise(mm, a, PS, SIMMM_MADV_COLD), -EINVAL);
	assert_int_equal(simmm_madvise(mm, a, PS, SIMMM_MADV_PAGEOUT), -EINVAL);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_munlock(mm, a, PS));
	TU_ASSERT_OK(simmm_madvise(mm, a, PS, SIMMM_MADV_COLD));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* folio_isolate_lru() takes a folio off its list; folio_putback_lru()
 * returns it to the list its PG_active names. */
static void test_isolate_putback_right_list(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);

	mx_write(mm, a, 1);
	struct simmm_page *act = make_active(sim, mm, a);
	mx_write(mm, a + PS, 2);
	struct simmm_page *inact = mx_folio_at(mm, a + PS);
	struct simmm_lru_stats st = mx_lru(sim);

	assert_false(inact->flags & PG_active);
	assert_true(simmm__folio_isolate_lru(sim, act));
	assert_true(simmm__folio_isolate_lru(sim, inact));
	assert_false(simmm__folio_isolate_lru(sim, act)); /* already isolated */
	assert_int_equal(mx_lru(sim).nr_active, st.nr_active - 1);
	assert_int_equal(mx_lru(sim).nr_inactive, st.nr_inactive - 1);
	/* folio_isolate_lru() is not counted in NR_ISOLATED_* (the shrinks'
	 * batches are, which too_many_isolated() compares): simmm keeps its
	 * isolations apart. */
	assert_int_equal(mx_lru(sim).nr_isolated_other, 2);
	assert_int_equal(mx_lru(sim).nr_isolated, 0);
	TU_CHECK(sim);
	simmm__folio_putback_lru(sim, act);
	simmm__folio_putback_lru(sim, inact);
	TU_CHECK(sim);
	assert_true((act->flags & (PG_lru | PG_active)) == (PG_lru | PG_active));
	assert_true((inact->flags & (PG_lru | PG_active)) == PG_lru);
	assert_int_equal(mx_lru(sim).nr_active, st.nr_active);
	assert_int_equal(mx_lru(sim).nr_inactive, st.nr_inactive);
	assert_int_equal(mx_lru(sim).nr_isolated_other, 0);
	assert_int_equal(mx_lru(sim).nr_isolated, 0);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* PG_active flipped on an LRU folio without moving it (bypassing
 * simmm__lru_move()): the checker reports the folio missing from the
 * list its flag names, and the counts. */
static void test_check_catches_flipped_active(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);

	mx_write(mm, a, 1);
	struct simmm_page *folio = mx_folio_at(mm, a);
	TU_CHECK(sim);
	folio->flags |= PG_active;
	assert_true(simmm_check(sim) > 0);
	assert_non_null(strstr(simmm_reports(sim, NULL), "not queued on the active list"));
	folio->flags &= ~PG_active;
	simmm_reports_clear(sim);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* ---- scan priorities, batches, memory.reclaim's passes ---------------------------- */

/*
 * The scan priorities: from DEF_PRIORITY (12) down, each scans the
 * inactive list for its size >> priority folios, in batches of at most 32
 * (no swap: get_scan_count() scans the file lists only, whole). Each
 * priority's shrink_lruvec() goes on until it alone has freed the goal
 * (its own count against all of nr_to_reclaim, as the kernel's), then
 * stops at the end of that batch (no anon scan to adjust); the priorities
 * stop once their sum meets it. 2000 read-once page-cache pages, each
 * freed at its look (FOLIOREF_RECLAIM_CLEAN, clean): priorities 12 and 11
 * scan nothing, 10 one folio, 9 three (1999 >> 9), 8 seven, 7 fifteen,
 * 6 thirty, 5 sixty (1944 >> 5) as a batch of 32 and one of 28. A goal of
 * 57 is not met by priority 5's first batch alone (32 < 57): the second
 * follows, where a shared running total (simmm before the anon/file split)
 * stopped at 88.
 */
static void test_priority_scan_amounts(void **state)
{
	(void)state;
	static const struct {
		uint64_t goal, freed;
	} c[] = {
		{1, 1}, {2, 4}, {5, 11}, {12, 26}, {27, 56}, {57, 116}, {88, 116}, {89, 116},
	};

	for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
		struct simmm_file *f = fodder(sim, 2000);
		struct simmm_lru_stats st = mx_lru(sim);
		uint64_t n = 0;

		assert_int_equal(st.nr_inactive, 2000);
		TU_ASSERT_OK(simmm_reclaim(sim, c[i].goal, &n));
		TU_CHECK(sim);
		assert_int_equal(n, c[i].freed);
		assert_int_equal(mx_lru(sim).scanned - st.scanned, c[i].freed);
		assert_int_equal(mx_lru(sim).nr_inactive, 2000 - c[i].freed);
		assert_int_equal(f->nrpages, 2000 - c[i].freed);
		TU_ASSERT_OK(simmm_file_put(f));
		tu_sim_free(&sim);
	}
}

/* A notifier that records, at each CLEAR start (reclaim's try_to_unmap()
 * of one folio), the shrinks' isolated count and the free pages. */
struct batch_probe {
	struct simmm_mmu_notifier mn; /* first */
	simmm_sim *sim;
	unsigned n;
	uint64_t isolated[512], free[512];
};

static int probe_start(struct simmm_mmu_notifier *sub, const struct simmm_mmu_notifier_range *r)
{
	struct batch_probe *p = (struct batch_probe *)sub;

	if (r->event == SIMMM_MMU_NOTIFY_CLEAR && p->n < 512) {
		p->isolated[p->n] = mx_lru(p->sim).nr_isolated;
		p->free[p->n++] = mx_free_pages(p->sim);
	}
	return 0;
}

static const struct simmm_mmu_notifier_ops probe_ops = {
	.invalidate_range_start = probe_start,
};

/*
 * isolate_lru_folios() takes at most SWAP_CLUSTER_MAX (32) folios at once,
 * they count in nr_isolated (NR_ISOLATED_*) while the shrink works on
 * them, and what it frees returns to the buddy allocator only when the
 * batch is put back: seen from reclaim's unmap of each folio, the free
 * page count stays the same within a batch and grows between batches.
 */
static void test_batches_of_32(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 200 * PS);
	struct batch_probe *p = calloc(1, sizeof(*p));
	uint64_t n = 0, run = 0, runs32 = 0;

	for (unsigned i = 0; i < 200; i++)
		mx_write(mm, a + i * PS, i);
	p->mn.ops = &probe_ops;
	p->sim = sim;
	TU_ASSERT_OK(simmm_mmu_notifier_register(&p->mn, mm));
	TU_ASSERT_OK(simmm_reclaim(sim, 200, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 200);
	assert_int_equal(p->n, 200); /* each folio unmapped once */
	assert_int_equal(mx_lru(sim).nr_isolated, 0);
	for (unsigned i = 0; i < p->n; i++) {
		assert_true(p->isolated[i] >= 1 && p->isolated[i] <= 32);
		if (i && p->free[i] == p->free[i - 1]) {
			/* the same batch: nothing freed since */
			assert_int_equal(p->isolated[i], p->isolated[i - 1]);
			run++;
		} else {
			assert_true(!i || p->free[i] > p->free[i - 1]);
			run = 1;
		}
		assert_true(run <= p->isolated[i]);
		runs32 += run == 32;
	}
	assert_true(runs32 > 0); /* some batch was full */
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&p->mn, mm));
	free(p);
	for (unsigned i = 0; i < 200; i++)
		mx_expect(mm, a + i * PS, i);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/*
 * simmm_reclaim() repeats its pass over the priorities as memory.reclaim
 * repeats try_to_free_mem_cgroup_pages(): a young folio's one look in the
 * first pass only marks it referenced, the second pass frees it. Passes
 * that free nothing are retried MAX_RECLAIM_RETRIES (16) times, then it
 * gives up: four pinned anonymous folios, looked at four times a pass,
 * are looked at 17 * 4 times. (get_scan_count() gives anon 60 / 200 of
 * 4 >> 2 and of 4 >> 1 at swappiness 60, which rounds to nothing, and
 * all four at priority 0, SCAN_EQUAL.)
 */
static void test_reclaim_passes_and_retries(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);
	struct simmm_lru_stats st;
	simmm_pfn_t pins[4];
	uint64_t n = 0;

	mx_write(mm, a, 1);
	st = mx_lru(sim);
	TU_ASSERT_OK(simmm_reclaim(sim, 1, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 1);
	assert_int_equal(mx_lru(sim).scanned - st.scanned, 2); /* one look per pass */
	assert_false(mx_tr(mm, a).present);
	TU_ASSERT_OK(simmm_munmap(mm, a, PS));
	TU_CHECK(sim);

	/* Pinned: never added to swap (maybe DMA-pinned), kept each look. */
	a = mx_anon(mm, 0, 4 * PS);
	for (unsigned i = 0; i < 4; i++)
		mx_write(mm, a + i * PS, i + 2);
	assert_int_equal(simmm_pin_user_pages(mm, a, 4, SIMMM_FOLL_WRITE, pins), 4);
	st = mx_lru(sim);
	assert_int_equal(st.nr_inactive, 4);
	TU_ASSERT_OK(simmm_reclaim(sim, 4, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 0);
	assert_int_equal(mx_lru(sim).scanned - st.scanned, 17 * 4);
	assert_int_equal(mx_lru(sim).nr_inactive, 4);
	/* A goal of 0 asks for nothing: no pass at all. */
	st = mx_lru(sim);
	TU_ASSERT_OK(simmm_reclaim(sim, 0, &n));
	assert_int_equal(mx_lru(sim).scanned, st.scanned);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, pins, 4));
	for (unsigned i = 0; i < 4; i++)
		mx_expect(mm, a + i * PS, i + 2);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_activation_on_second_reference),
		cmocka_unit_test(test_deactivation_by_shrink_active_list),
		cmocka_unit_test(test_exec_file_activated_at_once),
		cmocka_unit_test(test_file_read_referenced_then_active),
		cmocka_unit_test(test_cold_exclusive_vs_shared),
		cmocka_unit_test(test_cold_thp),
		cmocka_unit_test(test_cold_locked_einval),
		cmocka_unit_test(test_isolate_putback_right_list),
		cmocka_unit_test(test_check_catches_flipped_active),
		cmocka_unit_test(test_priority_scan_amounts),
		cmocka_unit_test(test_batches_of_32),
		cmocka_unit_test(test_reclaim_passes_and_retries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
