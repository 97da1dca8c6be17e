// SPDX-License-Identifier: MIT
/*
 * soft_offline_page() (simmm_soft_offline_page(), src/migrate/soft_offline.c)
 * against upstream's mm/memory-failure.c:
 *  1. an anonymous page mapped by two mms (fork) moves to a new frame in
 *     both, contents kept, no SIGBUS; the old frame is held hwpoisoned and
 *     never handed out again; a second call is 0 and changes nothing;
 *  2. a swap-cache folio moves with its swap-cache slot;
 *  3. page cache: a clean page of a regular file nobody maps is dropped
 *     from the cache (the file still reads its bytes); a mapped dirty one
 *     is migrated (cache slot, dirt and mapping move to the new frame);
 *  4. a free frame leaves the buddy allocator;
 *  5. a pinned page does not move (-EBUSY, nothing changed); page tables,
 *     the zero page and device memory are refused (-EIO); bad pfns -ENXIO;
 *  6. a THP is split and only the offlined page moves.
 * Every step runs the invariant checker.
 */
#include "test_mm_ext_util.h"

#define RW (SIMMM_PROT_READ | SIMMM_PROT_WRITE)

static uint64_t nr_poisoned(simmm_sim *sim)
{
	struct simmm_mf_stats st;

	TU_ASSERT_OK(simmm_memory_failure_stats(sim, &st));
	return st.poisoned;
}

static bool held_poisoned(simmm_sim *sim, simmm_pfn_t pfn)
{
	struct simmm_page_info pi = mx_page(sim, pfn);

	return (pi.flags & PG_hwpoison) && !pi.free && pi.refcount == 1;
}

static simmm_pfn_t pfn_at(struct simmm_mm *mm, simmm_addr_t a)
{
	struct simmm_translation t = mx_tr(mm, a);

	assert_true(t.present);
	return t.pfn;
}

static int offline(simmm_sim *sim, simmm_pfn_t pfn)
{
	int err = simmm_soft_offline_page(sim, pfn);

	TU_CHECK(sim);
	return err;
}

static void test_anon_shared_by_fork(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);

	mx_write(mm, a, 1);
	mx_write(mm, a + PS, 2);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	simmm_pfn_t old = pfn_at(mm, a);

	assert_int_equal(pfn_at(child, a), old);
	assert_int_equal(offline(sim, old), 0);
	simmm_pfn_t moved = pfn_at(mm, a);

	assert_int_not_equal(moved, old);
	assert_int_equal(pfn_at(child, a), moved); /* the rmap found both */
	assert_int_equal(mx_page(sim, moved).mapcount, 2);
	assert_true(held_poisoned(sim, old));
	assert_int_equal(nr_poisoned(sim), 1);
	mx_expect(mm, a, 1);
	mx_expect(child, a, 1);
	assert_int_equal(mx_stats(mm).sigbus, 0);
	/* COW still works on the new frame; the neighbour is untouched */
	mx_write(child, a, 3);
	mx_expect(mm, a, 1);
	mx_expect(child, a, 3);
	mx_expect(mm, a + PS, 2);
	/* again: already poisoned, nothing changes */
	assert_int_equal(offline(sim, old), 0);
	assert_int_equal(nr_poisoned(sim), 1);
	/* the frame is never allocated again */
	simmm_addr_t b = mx_anon(mm, 0, 256 * PS);

	for (unsigned i = 0; i < 256; i++) {
		mx_write(mm, b + i * PS, 4);
		assert_int_not_equal(pfn_at(mm, b + i * PS), old);
	}
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	assert_true(held_poisoned(sim, old));
	tu_sim_free(&sim);
}

/* A swap-cache folio (swapped in by the parent; the child still has the
 * swap entry) moves with its swap-cache slot: the child's next fault
 * finds the new frame in the cache, with the data. */
static void test_swap_cache(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, PS);
	uint64_t got = 0;

	mx_write(mm, a, 6);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_ASSERT_OK(simmm_reclaim(sim, 1 << 14, &got));
	TU_CHECK(sim);
	assert_false(mx_tr(mm, a).present);
	assert_false(mx_tr(child, a).present);
	mx_expect(mm, a, 6); /* swap-in: the folio stays in the swap cache */
	simmm_pfn_t old = pfn_at(mm, a);

	assert_true(mx_page(sim, old).flags & PG_swapcache);
	assert_int_equal(offline(sim, old), 0);
	simmm_pfn_t moved = pfn_at(mm, a);

	assert_int_not_equal(moved, old);
	assert_true(mx_page(sim, moved).flags & PG_swapcache);
	assert_true(held_poisoned(sim, old));
	assert_false(mx_tr(child, a).present);
	mx_expect(child, a, 6);
	assert_int_equal(pfn_at(child, a), moved); /* found in the swap cache */
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

static void test_page_cache(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = NULL;
	struct simmm_file_stats fs;
	simmm_addr_t a = 0;
	uint8_t buf[8] = {0x11, 0x22}, got[8];

	TU_ASSERT_OK(simmm_file_create(sim, 4 * PS, 0, &f));
	assert_int_equal(simmm_file_pwrite(f, buf, 2, 0), 2);
	assert_int_equal(simmm_file_pwrite(f, buf, 2, PS), 2);
	TU_ASSERT_OK(simmm_file_fsync(f));
	TU_ASSERT_OK(simmm_file_stats(f, &fs));
	assert_int_equal(fs.cached, 2);
	assert_int_equal(fs.dirty, 0);
	/* page 1 mapped shared and dirtied; page 0 clean, unmapped */
	TU_ASSERT_OK(simmm_mmap(mm, 0, 2 * PS, RW, SIMMM_MAP_SHARED, f, 0, &a));
	mx_write(mm, a + PS, 7);
	simmm_pfn_t clean = 0, dirty = pfn_at(mm, a + PS);
	struct simmm_translation t;

	/* the clean page's frame: map it read-only elsewhere to find it,
	 * then unmap again so that nobody maps it */
	simmm_addr_t r = 0;

	TU_ASSERT_OK(simmm_mmap(mm, 0, PS, SIMMM_PROT_READ, SIMMM_MAP_SHARED, f, 0, &r));
	assert_int_equal(simmm_mm_access(mm, r, got, 1, SIMMM_ACCESS_READ), 0);
	clean = pfn_at(mm, r);
	TU_ASSERT_OK(simmm_munmap(mm, r, PS));
	TU_CHECK(sim);

	assert_int_equal(offline(sim, clean), 0);
	TU_ASSERT_OK(simmm_file_stats(f, &fs));
	assert_int_equal(fs.cached, 1); /* dropped, not migrated */
	assert_true(held_poisoned(sim, clean));
	assert_int_equal(simmm_file_pread(f, got, 2, 0), 2);
	assert_int_equal(got[0], 0x11);
	assert_int_equal(got[1], 0x22);

	assert_int_equal(offline(sim, dirty), 0);
	TU_ASSERT_OK(simmm_pgtable_translate(simmm_mm_pgtable(mm), a + PS, &t));
	assert_true(t.present);
	assert_int_not_equal(t.pfn, dirty);
	assert_true(held_poisoned(sim, dirty));
	TU_ASSERT_OK(simmm_file_stats(f, &fs));
	assert_int_equal(fs.dirty, 1); /* the dirt moved with the data */
	mx_expect(mm, a + PS, 7);
	TU_ASSERT_OK(simmm_file_fsync(f));
	assert_int_equal(simmm_file_pread(f, got, 1, PS), 1);
	assert_int_equal(got[0], (uint8_t)(7 * 31));
	assert_int_equal(nr_poisoned(sim), 2);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

static void test_free_and_refused(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);
	simmm_pfn_t pinned, free_pfn, zero, table;
	uint64_t free0;
	uint8_t v;

	mx_write(mm, a, 1);
	pinned = pfn_at(mm, a);
	assert_int_equal(simmm_pin_user_pages(mm, a, 1, SIMMM_FOLL_WRITE, &pinned), 1);
	assert_int_equal(offline(sim, pinned), -EBUSY);
	assert_int_equal(pfn_at(mm, a), pinned);
	assert_false(mx_page(sim, pinned).flags & PG_hwpoison);
	mx_expect(mm, a, 1);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pinned, 1));
	TU_CHECK(sim);
	/* the zero page and page tables: not on the LRU, -EIO */
	assert_int_equal(simmm_mm_access(mm, a + PS, &v, 1, SIMMM_ACCESS_READ), 0);
	zero = pfn_at(mm, a + PS);
	assert_int_equal(offline(sim, zero), -EIO);
	table = 0;
	for (simmm_pfn_t p = 0; p < (64 * MIB) / PS && !table; p++)
		if (mx_page(sim, p).table)
			table = p;
	assert_int_not_equal(table, 0);
	assert_int_equal(offline(sim, table), -EIO);
	assert_int_equal(nr_poisoned(sim), 0);
	/* a free frame leaves the buddy */
	free0 = mx_free_pages(sim);
	free_pfn = 0;
	for (simmm_pfn_t p = (64 * MIB) / PS - 1; p > 0 && !free_pfn; p--)
		if (mx_page(sim, p).free)
			free_pfn = p;
	assert_int_equal(offline(sim, free_pfn), 0);
	assert_int_equal(mx_free_pages(sim), free0 - 1);
	assert_true(held_poisoned(sim, free_pfn));
	assert_int_equal(nr_poisoned(sim), 1);
	/* bad arguments */
	assert_int_equal(simmm_soft_offline_page(NULL, free_pfn), -EINVAL);
	assert_int_equal(offline(sim, (64 * MIB) / PS + (1ULL << 40)), -ENXIO);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_thp_split(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);

	for (unsigned i = 0; i < 4; i++)
		mx_write(mm, a + i * PS, 1 + i);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PMD);
	simmm_pfn_t head = pfn_at(mm, a), victim = head + 2;

	assert_int_equal(offline(sim, victim), 0);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PTE);
	assert_int_equal(pfn_at(mm, a), head);                /* the rest stays */
	assert_int_equal(pfn_at(mm, a + 3 * PS), head + 3);
	assert_int_not_equal(pfn_at(mm, a + 2 * PS), victim); /* moved */
	assert_true(held_poisoned(sim, victim));
	for (unsigned i = 0; i < 4; i++)
		mx_expect(mm, a + i * PS, 1 + i);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anon_shared_by_fork),
		cmocka_unit_test(test_swap_cache),
		cmocka_unit_test(test_page_cache),
		cmocka_unit_test(test_free_and_refused),
		cmocka_unit_test(test_thp_split),
	};
	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
