// SPDX-License-Identifier: MIT
/* fork/COW, shared anonymous memory, files, munmap, mremap, madvise. */
#include "test_mm_util.h"

static simmm_sim *new_sim(struct simmm_mm **mm)
{
	simmm_sim *sim = tu_sim_new(NULL, 16 << 20, 1);

	TU_ASSERT_OK(simmm_mm_create(sim, mm));
	return sim;
}

static void test_fork_cow(void **state)
{
	struct simmm_mm *p, *c;
	simmm_sim *sim = new_sim(&p);
	struct simmm_page_info pi;
	simmm_addr_t a = tm_mmap(p, 2 * PS(sim), RW, PRIV_ANON);

	(void)state;
	tm_write8(p, a, 1);
	TU_ASSERT_OK(simmm_fork(p, &c));
	TU_CHECK(sim);
	/* Shared, write-protected on both sides, mapcount 2, not exclusive. */
	assert_int_equal(tm_pfn(p, a), tm_pfn(c, a));
	assert_false(simmm_pte_write(tm_pte(p, a)));
	assert_false(simmm_pte_write(tm_pte(c, a)));
	TU_ASSERT_OK(simmm_page_info(sim, tm_pfn(p, a), &pi));
	assert_int_equal(pi.mapcount, 2);
	assert_int_equal(pi.refcount, 2);
	assert_int_equal(tm_stats(c).rss_anon, 1);
	/* The child writes: COW copy; the parent keeps its data. */
	tm_write8(c, a, 2);
	TU_CHECK(sim);
	assert_int_equal(tm_stats(c).cow_faults, 1);
	assert_int_equal(tm_read8(p, a), 1);
	assert_int_equal(tm_read8(c, a), 2);
	assert_int_not_equal(tm_pfn(p, a), tm_pfn(c, a));
	/* The parent is now the only mapper: its write reuses the page. */
	tm_write8(p, a, 3);
	assert_int_equal(tm_stats(p).reuse_faults, 1);
	assert_int_equal(tm_stats(p).cow_faults, 0);
	assert_int_equal(tm_read8(c, a), 2);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(c));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(p));
	tu_sim_free(&sim);
}

static void test_fork_shared_and_flags(void **state)
{
	struct simmm_mm *p, *c;
	simmm_sim *sim = new_sim(&p);
	simmm_addr_t s = tm_mmap(p, 2 * PS(sim), RW, SHARED_ANON);
	simmm_addr_t w = tm_mmap(p, PS(sim), RW, PRIV_ANON);

	(void)state;
	tm_write8(p, s, 5);
	tm_write8(p, w, 6);
	simmm__vma_lookup(p, w)->vm_flags |= SIMMM_VM_WIPEONFORK;
	TU_ASSERT_OK(simmm_fork(p, &c));
	TU_CHECK(sim);
	assert_int_equal(tm_read8(c, s), 5);
	tm_write8(c, s + 1, 7);
	assert_int_equal(tm_read8(p, s + 1), 7); /* shared mapping visible */
	assert_int_equal(tm_read8(c, w), 0);     /* wiped */
	assert_int_equal(tm_read8(p, w), 6);
	TU_CHECK(sim);
	assert_true(tm_stats(p).rss_shmem >= 1);
	simmm_mmput(c);
	TU_CHECK(sim);
	simmm_mmput(p);
	tu_sim_free(&sim);
}

static void test_file_mappings(void **state)
{
	struct simmm_mm *mm;
	simmm_sim *sim = new_sim(&mm);
	struct simmm_file *f;
	simmm_addr_t sh, pr;
	char buf[8] = "abcdefg";
	uint8_t v;

	(void)state;
	TU_ASSERT_OK(simmm_file_create(sim, 4 * PS(sim), 0, &f));
	assert_int_equal(simmm_file_pwrite(f, buf, 7, PS(sim)), 7);
	TU_ASSERT_OK(simmm_mmap(mm, 0, 4 * PS(sim), RW, SIMMM_MAP_SHARED, f, 0, &sh));
	TU_ASSERT_OK(simmm_mmap(mm, 0, 2 * PS(sim), RW, SIMMM_MAP_PRIVATE, f, 1, &pr));
	TU_CHECK(sim);
	assert_int_equal(tm_read8(mm, sh + PS(sim)), 'a');
	assert_int_equal(tm_read8(mm, pr), 'a');
	assert_int_equal(tm_stats(mm).file_faults, 2);
	assert_int_equal(tm_stats(mm).rss_file, 2);
	/* Shared store -> pread sees it; private mapping sees it too until COW. */
	tm_write8(mm, sh + PS(sim), 'X');
	assert_int_equal(simmm_file_pread(f, &v, 1, PS(sim)), 1);
	assert_int_equal(v, 'X');
	assert_int_equal(tm_read8(mm, pr), 'X');
	tm_write8(mm, pr, 'P');
	assert_int_equal(tm_stats(mm).cow_faults, 1);
	assert_int_equal(simmm_file_pread(f, &v, 1, PS(sim)), 1);
	assert_int_equal(v, 'X');
	/* pwrite -> shared mapping sees it; the COWed private page not. */
	v = 'W';
	assert_int_equal(simmm_file_pwrite(f, &v, 1, PS(sim)), 1);
	assert_int_equal(tm_read8(mm, sh + PS(sim)), 'W');
	assert_int_equal(tm_read8(mm, pr), 'P');
	TU_CHECK(sim);
	/* Beyond EOF: SIGBUS. */
	TU_ASSERT_OK(simmm_munmap(mm, pr, 2 * PS(sim)));
	TU_ASSERT_OK(simmm_mmap(mm, 0, 2 * PS(sim), RW, SIMMM_MAP_SHARED, f, 4, &pr));
	assert_int_equal(simmm_mm_access(mm, pr, &v, 1, SIMMM_ACCESS_READ), -EFAULT);
	assert_int_equal(tm_stats(mm).sigbus, 1);
	TU_ASSERT_OK(simmm_file_put(f));
	assert_int_equal(simmm_file_put(f), -EINVAL);
	TU_CHECK(sim);
	/* Read-only file: no writable shared mapping. */
	TU_ASSERT_OK(simmm_file_create(sim, PS(sim), SIMMM_FILE_RDONLY, &f));
	assert_int_equal(simmm_mmap(mm, 0, PS(sim), RW, SIMMM_MAP_SHARED, f, 0, &pr), -EACCES);
	TU_ASSERT_OK(simmm_mmap(mm, 0, PS(sim), SIMMM_PROT_READ, SIMMM_MAP_SHARED, f, 0, &pr));
	assert_int_equal(simmm_mprotect(mm, pr, PS(sim), RW), -EACCES);
	TU_ASSERT_OK(simmm_file_put(f));
	simmm_mmput(mm);
	tu_sim_free(&sim);
}

static void test_munmap_split(void **state)
{
	struct simmm_mm *mm;
	simmm_sim *sim = new_sim(&mm);
	simmm_addr_t a = tm_mmap(mm, 8 * PS(sim), RW, PRIV_ANON);

	(void)state;
	for (int i = 0; i < 8; i++)
		tm_write8(mm, a + i * PS(sim), (uint8_t)(i + 1));
	TU_ASSERT_OK(simmm_munmap(mm, a + 2 * PS(sim), 3 * PS(sim)));
	TU_CHECK(sim);
	assert_int_equal(tm_stats(mm).nr_vmas, 2);
	assert_int_equal(tm_stats(mm).rss_anon, 5);
	assert_int_equal(tm_read8(mm, a + PS(sim)), 2);
	assert_int_equal(tm_read8(mm, a + 5 * PS(sim)), 6);
	uint8_t v;
	assert_int_equal(simmm_mm_access(mm, a + 3 * PS(sim), &v, 1, SIMMM_ACCESS_READ), -EFAULT);
	TU_ASSERT_OK(simmm_munmap(mm, a, 8 * PS(sim)));
	TU_ASSERT_OK(simmm_munmap(mm, a, 8 * PS(sim))); /* nothing there: 0 */
	TU_CHECK(sim);
	assert_int_equal(tm_stats(mm).nr_vmas, 0);
	assert_int_equal(tm_stats(mm).rss_anon, 0);
	assert_int_equal(tm_stats(mm).pgtable_pages, 1); /* only the root */
	assert_int_equal(simmm_munmap(mm, a + 1, PS(sim)), -EINVAL);
	assert_int_equal(simmm_munmap(mm, a, 0), -EINVAL);
	assert_int_equal(simmm_munmap(mm, UINT64_MAX - PS(sim) + 1, PS(sim)), -EINVAL);
	simmm_mmput(mm);
	tu_sim_free(&sim);
}

static void test_mremap(void **state)
{
	struct simmm_mm *mm;
	simmm_sim *sim = new_sim(&mm);
	simmm_addr_t a = tm_mmap(mm, 4 * PS(sim), RW, PRIV_ANON), b, blocker;
	struct simmm_mm *c;

	(void)state;
	for (int i = 0; i < 4; i++)
		tm_write8(mm, a + i * PS(sim), (uint8_t)(10 + i));
	/* Block growth in place. */
	TU_ASSERT_OK(simmm_mmap(mm, a + 4 * PS(sim), PS(sim), RW, PRIV_ANON | SIMMM_MAP_FIXED,
				NULL, 0, &blocker));
	assert_int_equal(simmm_mremap(mm, a, 4 * PS(sim), 8 * PS(sim), 0, 0, &b), -ENOMEM);
	TU_ASSERT_OK(simmm_fork(mm, &c)); /* shared pages must keep rmap working */
	TU_ASSERT_OK(simmm_mremap(mm, a, 4 * PS(sim), 8 * PS(sim), SIMMM_MREMAP_MAYMOVE, 0, &b));
	TU_CHECK(sim);
	assert_int_not_equal(a, b);
	for (int i = 0; i < 4; i++)
		assert_int_equal(tm_read8(mm, b + i * PS(sim)), 10 + i);
	assert_int_equal(tm_read8(mm, b + 6 * PS(sim)), 0);
	tm_write8(mm, b, 99); /* COW after the move */
	assert_int_equal(tm_read8(c, a), 10);
	TU_CHECK(sim);
	/* DONTUNMAP keeps an empty old VMA. */
	simmm_addr_t d;
	TU_ASSERT_OK(simmm_mremap(mm, b, PS(sim), PS(sim),
				  SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_DONTUNMAP, 0, &d));
	TU_CHECK(sim);
	assert_int_equal(tm_read8(mm, d), 99);
	assert_int_equal(tm_read8(mm, b), 0);
	/* Shrink in place; bad input. */
	TU_ASSERT_OK(simmm_mremap(mm, d, PS(sim), PS(sim), 0, 0, &d));
	assert_int_equal(simmm_mremap(mm, b, PS(sim), PS(sim), SIMMM_MREMAP_FIXED, b, &d), -EINVAL);
	assert_int_equal(simmm_mremap(mm, b, PS(sim), 2 * PS(sim),
				      SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_DONTUNMAP, 0, &d),
			 -EINVAL);
	assert_int_equal(simmm_mremap(mm, a, PS(sim), PS(sim), SIMMM_MREMAP_MAYMOVE, 0, &d),
			 -EFAULT);
	TU_CHECK(sim);
	simmm_mmput(c);
	simmm_mmput(mm);
	tu_sim_free(&sim);
}

static void test_madvise(void **state)
{
	struct simmm_mm *mm;
	simmm_sim *sim = new_sim(&mm);
	simmm_addr_t a = tm_mmap(mm, 4 * PS(sim), RW, PRIV_ANON);

	(void)state;
	for (int i = 0; i < 4; i++)
		tm_write8(mm, a + i * PS(sim), 1);
	TU_ASSERT_OK(simmm_madvise(mm, a + PS(sim), PS(sim), SIMMM_MADV_DONTNEED));
	TU_CHECK(sim);
	assert_int_equal(tm_read8(mm, a + PS(sim)), 0);
	assert_int_equal(tm_read8(mm, a), 1);
	assert_int_equal(tm_stats(mm).rss_anon, 3);
	TU_ASSERT_OK(simmm_madvise(mm, a, PS(sim), SIMMM_MADV_HUGEPAGE));
	assert_int_equal(tm_stats(mm).nr_vmas, 2);
	TU_ASSERT_OK(simmm_madvise(mm, a, PS(sim), SIMMM_MADV_FREE));
	TU_CHECK(sim);
	assert_false(simmm_pte_dirty(tm_pte(mm, a)));
	assert_int_equal(simmm_madvise(mm, a, PS(sim), 999), -EINVAL);
	assert_int_equal(simmm_madvise(mm, a, 8 * PS(sim), SIMMM_MADV_DONTNEED), -ENOMEM);
	TU_CHECK(sim);
	simmm_mmput(mm);
	tu_sim_free(&sim);
}

static void test_swap_and_special(void **state)
{
	simmm_config cfg;
	simmm_sim *sim;
	struct simmm_mm *mm;
	struct simmm_vma_info vi;
	simmm_addr_t a, d;
	simmm_pfn_t pfn;
	uint64_t n = 0;

	(void)state;
	simmm_config_init(&cfg);
	cfg.ram_bytes = 16 << 20;
	cfg.swap_bytes = 16 << 20;
	sim = tu_sim_new_cfg(&cfg);
	TU_ASSERT_OK(simmm_mm_create(sim, &mm));
	a = tm_mmap(mm, 2 * PS(sim), RW, PRIV_ANON);
	tm_write8(mm, a, 77);
	TU_ASSERT_OK(simmm_reclaim(sim, 64, &n));
	TU_CHECK(sim);
	assert_true(simmm_is_real_swap_entry(tm_pte(mm, a)));
	assert_int_equal(tm_stats(mm).swap_ents, 1);
	assert_int_equal(tm_stats(mm).rss_anon, 0);
	assert_int_equal(tm_read8(mm, a), 77);
	TU_CHECK(sim);
	assert_int_equal(tm_stats(mm).swapin_faults, 1);
	assert_int_equal(tm_stats(mm).major_faults, 1);
	assert_int_equal(tm_stats(mm).swap_ents, 0);
	assert_int_equal(tm_stats(mm).rss_anon, 1);
	/* MIXEDMAP: a driver's vm_insert_page(). */
	TU_ASSERT_OK(simmm_mmap(mm, 0, 2 * PS(sim), RW, SIMMM_MAP_SHARED | SIMMM_MAP_MIXEDMAP,
				NULL, 0, &d));
	TU_ASSERT_OK(simmm_vma_info(mm, d, &vi));
	assert_true(vi.vm_flags & SIMMM_VM_MIXEDMAP);
	TU_ASSERT_OK(simmm_page_alloc(sim, 0, &pfn));
	TU_ASSERT_OK(simmm__vm_insert_page(simmm__vma_lookup(mm, d), d, pfn));
	assert_int_equal(simmm__vm_insert_page(simmm__vma_lookup(mm, d), d, pfn), -EBUSY);
	assert_int_equal(simmm__vm_insert_page(simmm__vma_lookup(mm, a), a, pfn), -EINVAL);
	TU_CHECK(sim);
	tm_write8(mm, d + 3, 4);
	assert_int_equal(tm_stats(mm).rss_file, 1);
	uint8_t v;
	assert_int_equal(simmm_mm_access(mm, d + PS(sim), &v, 1, SIMMM_ACCESS_READ), -EFAULT);
	assert_int_equal(tm_stats(mm).sigbus, 1); /* no ->fault: SIGBUS */
	TU_ASSERT_OK(simmm_page_put(sim, pfn) >= 0 ? 0 : -1);
	TU_ASSERT_OK(simmm_munmap(mm, d, 2 * PS(sim)));
	TU_CHECK(sim);
	simmm_mmput(mm);
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fork_cow),
		cmocka_unit_test(test_fork_shared_and_flags),
		cmocka_unit_test(test_file_mappings),
		cmocka_unit_test(test_munmap_split),
		cmocka_unit_test(test_mremap),
		cmocka_unit_test(test_madvise),
		cmocka_unit_test(test_swap_and_special),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
