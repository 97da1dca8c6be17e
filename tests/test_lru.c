// SPDX-License-Identifier: MIT
/*
 * The two-list LRU (src/mm/reclaim.c) and MADV_COLD (src/mm/madvise.c):
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
 *  - the checker catches PG_active flipped behind the LRU's back.
 * The rules for a single look use simmm__shrink_inactive_batch(), one
 * batch of the inactive list's shrink. Every step runs the invariant
 * checker.
 */
#include "test_mm_ext_util.h"

static struct simmm_lru_stats lru(simmm_sim *sim)
{
	struct simmm_lru_stats st;

	TU_ASSERT_OK(simmm_lru_stats(sim, &st));
	return st;
}

/* The folio an address of @mm maps (present). */
static struct simmm_page *folio_at(struct simmm_mm *mm, simmm_addr_t a)
{
	struct simmm_translation t = mx_tr(mm, a);

	assert_true(t.present);
	return simmm__compound_head(simmm_mm_sim(mm), simmm__pfn_to_page(simmm_mm_sim(mm), t.pfn));
}

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
	struct simmm_page *folio = folio_at(mm, a);
	struct simmm_lru_stats st = lru(sim);

	assert_int_equal(st.nr_inactive, 1);
	assert_false(folio->flags & (PG_active | PG_referenced));
	look1(sim, 0);
	assert_true(folio->flags & PG_referenced);
	assert_false(folio->flags & PG_active);
	assert_int_equal(lru(sim).activated, st.activated);
	assert_int_equal(lru(sim).scanned, st.scanned + 1);
	mx_write(mm, a, 2);
	look1(sim, 0);
	assert_true(folio->flags & PG_active);
	assert_true(folio->flags & PG_referenced); /* kept on activation */
	assert_int_equal(lru(sim).activated, st.activated + 1);
	assert_int_equal(lru(sim).scanned, st.scanned + 2);
	return folio;
}

static void test_activation_on_second_reference(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);

	mx_write(mm, a, 1);
	TU_CHECK(sim);
	assert_int_equal(lru(sim).nr_active, 0);
	struct simmm_page *folio = make_active(sim, mm, a);
	assert_int_equal(lru(sim).nr_active, 1);
	struct simmm_file *f = fodder(sim, 1);
	/* Active, with a fodder page still inactive (not low): the next
	 * reclaim takes the fodder page and leaves the active folio alone. */
	reclaim1(sim, 1);
	assert_true(folio->flags & PG_active);
	assert_true(mx_tr(mm, a).present);
	mx_expect(mm, a, 2);
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
	struct simmm_lru_stats st = lru(sim);
	assert_int_equal(st.nr_inactive, 0);
	mx_write(mm, a, 3); /* young again: shrink_active_list() ignores it (anon) */
	reclaim1(sim, 1);
	assert_int_equal(lru(sim).deactivated, st.deactivated + 1);
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
	struct simmm_page *folio = folio_at(mm, a);
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
	assert_int_equal(lru(sim).nr_active, 1);
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
	struct simmm_lru_stats st = lru(sim);
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
	assert_int_equal(lru(sim).deactivated, st.deactivated + 1);
	assert_int_equal(lru(sim).nr_active, 0);
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
	struct simmm_page *folio = folio_at(mm, a);
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
	assert_int_equal(folio_at(mm, a)->order, 0);
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
	struct simmm_page *inact = folio_at(mm, a + PS);
	struct simmm_lru_stats st = lru(sim);

	assert_false(inact->flags & PG_active);
	assert_true(simmm__folio_isolate_lru(sim, act));
	assert_true(simmm__folio_isolate_lru(sim, inact));
	assert_false(simmm__folio_isolate_lru(sim, act)); /* already isolated */
	assert_int_equal(lru(sim).nr_active, st.nr_active - 1);
	assert_int_equal(lru(sim).nr_inactive, st.nr_inactive - 1);
	/* folio_isolate_lru() is not counted in NR_ISOLATED_* (the shrinks'
	 * batches are, which too_many_isolated() compares): simmm keeps its
	 * isolations apart. */
	assert_int_equal(lru(sim).nr_isolated_other, 2);
	assert_int_equal(lru(sim).nr_isolated, 0);
	TU_CHECK(sim);
	simmm__folio_putback_lru(sim, act);
	simmm__folio_putback_lru(sim, inact);
	TU_CHECK(sim);
	assert_true((act->flags & (PG_lru | PG_active)) == (PG_lru | PG_active));
	assert_true((inact->flags & (PG_lru | PG_active)) == PG_lru);
	assert_int_equal(lru(sim).nr_active, st.nr_active);
	assert_int_equal(lru(sim).nr_inactive, st.nr_inactive);
	assert_int_equal(lru(sim).nr_isolated_other, 0);
	assert_int_equal(lru(sim).nr_isolated, 0);
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
	struct simmm_page *folio = folio_at(mm, a);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
