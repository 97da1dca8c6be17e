// SPDX-License-Identifier: MIT
/* mm lifetimes, mmap placement and errors, faults and their counters. */
#include "test_mm_util.h"

static void test_lifetimes(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 16 << 20, 1);
	struct simmm_mm *mm;

	(void)state;
	assert_int_equal(simmm_mm_create(NULL, &mm), -EINVAL);
	assert_int_equal(simmm_mm_create(sim, NULL), -EINVAL);
	TU_ASSERT_OK(simmm_mm_create(sim, &mm));
	TU_CHECK(sim);
	assert_int_equal(simmm_mm_users(mm), 1);
	assert_int_equal(simmm_mm_count(mm), 1);
	TU_ASSERT_OK(simmm_mmgrab(mm));
	TU_ASSERT_OK(simmm_mmget(mm));
	assert_true(simmm_mmget_not_zero(mm));
	assert_int_equal(simmm_mm_users(mm), 3);
	tm_write8(mm, tm_mmap(mm, 4 * PS(sim), RW, PRIV_ANON), 7);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_mmput(mm)); /* exit_mmap */
	TU_CHECK(sim);
	assert_int_equal(simmm_mm_users(mm), 0);
	assert_int_equal(simmm_mm_count(mm), 1);
	assert_int_equal(simmm_mmget(mm), -EINVAL);
	assert_false(simmm_mmget_not_zero(mm));
	assert_int_equal(simmm_mmput(mm), -EINVAL);
	TU_ASSERT_OK(simmm_mmdrop(mm)); /* freed */
	assert_int_equal(simmm_mmget(NULL), -EINVAL);
	assert_int_equal(simmm_mmdrop(NULL), -EINVAL);
	tu_sim_free(&sim);
}

static void test_leak_report(void **state)
{
	simmm_config cfg;
	simmm_sim *sim;
	struct simmm_mm *mm;

	(void)state;
	simmm_config_init(&cfg);
	cfg.flags = SIMMM_CFG_QUIET;
	cfg.ram_bytes = 16 << 20;
	sim = tu_sim_new_cfg(&cfg);
	TU_ASSERT_OK(simmm_mm_create(sim, &mm));
	tm_write8(mm, tm_mmap(mm, PS(sim), RW, PRIV_ANON), 1);
	/* Destroy with the mm alive: reported as a leak (SIMMM_REPORT_LEAK,
	 * printed unless quiet), and the finaliser frees it, so the allocator
	 * and physical memory see nothing leaked. */
	assert_int_equal(simmm_sim_destroy(&sim), 0);
}

static void test_mmap_placement(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 16 << 20, 1);
	const struct simmm_geometry *g = simmm_sim_geometry(sim);
	struct simmm_mm *mm;
	struct simmm_vma_info vi;
	simmm_addr_t a, b, c;

	(void)state;
	TU_ASSERT_OK(simmm_mm_create(sim, &mm));
	a = tm_mmap(mm, 3 * PS(sim), RW, PRIV_ANON);
	b = tm_mmap(mm, PS(sim), SIMMM_PROT_READ, PRIV_ANON);
	TU_CHECK(sim);
	assert_true(a < g->user_va_end && b < a); /* top-down */
	assert_int_equal(b + PS(sim), a);
	TU_ASSERT_OK(simmm_vma_info(mm, a, &vi));
	assert_int_equal(vi.start, a);
	assert_int_equal(vi.end, a + 3 * PS(sim));
	assert_true(vi.anon);
	assert_int_equal(simmm_vma_info(mm, a - 2 * PS(sim), &vi), -ENOENT);
	/* A free hint is used as is. */
	TU_ASSERT_OK(simmm_mmap(mm, 0x10000000, PS(sim), RW, PRIV_ANON, NULL, 0, &c));
	assert_int_equal(c, 0x10000000);
	/* FIXED_NOREPLACE over a mapping. */
	assert_int_equal(simmm_mmap(mm, c, PS(sim), RW, PRIV_ANON | SIMMM_MAP_FIXED_NOREPLACE,
				    NULL, 0, &c), -EEXIST);
	/* MAP_FIXED replaces. */
	tm_write8(mm, a, 9);
	TU_ASSERT_OK(simmm_mmap(mm, a, PS(sim), RW, PRIV_ANON | SIMMM_MAP_FIXED, NULL, 0, &c));
	assert_int_equal(c, a);
	assert_int_equal(tm_read8(mm, a), 0);
	TU_CHECK(sim);
	/* Bad input. */
	assert_int_equal(simmm_mmap(NULL, 0, PS(sim), RW, PRIV_ANON, NULL, 0, &c), -EINVAL);
	assert_int_equal(simmm_mmap(mm, 0, 0, RW, PRIV_ANON, NULL, 0, &c), -EINVAL);
	assert_int_equal(simmm_mmap(mm, 0, PS(sim), RW, SIMMM_MAP_ANONYMOUS, NULL, 0, &c), -EINVAL);
	assert_int_equal(simmm_mmap(mm, 0, PS(sim), RW, PRIV_ANON | SIMMM_MAP_SHARED, NULL, 0, &c),
			 -EINVAL);
	assert_int_equal(simmm_mmap(mm, 0, PS(sim), 0x10, PRIV_ANON, NULL, 0, &c), -EINVAL);
	assert_int_equal(simmm_mmap(mm, 0, UINT64_MAX, RW, PRIV_ANON, NULL, 0, &c), -EINVAL);
	assert_int_equal(simmm_mmap(mm, 1, PS(sim), RW, PRIV_ANON | SIMMM_MAP_FIXED, NULL, 0, &c),
			 -EINVAL);
	assert_int_equal(simmm_mmap(mm, g->user_va_end, PS(sim), RW, PRIV_ANON | SIMMM_MAP_FIXED,
				    NULL, 0, &c), -ENOMEM);
	assert_int_equal(simmm_mmap(mm, 0, g->user_va_end, RW, PRIV_ANON, NULL, 0, &c), -ENOMEM);
	assert_int_equal(simmm_mmap(mm, 0, PS(sim), RW, SIMMM_MAP_PRIVATE, NULL, 0, &c), -EINVAL);
	assert_int_equal(simmm_mmap(mm, 0, PS(sim), RW, PRIV_ANON, NULL, 0, NULL), -EINVAL);
	TU_CHECK(sim);
	simmm_mmput(mm);
	tu_sim_free(&sim);
}

static void test_anon_faults(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 16 << 20, 1);
	struct simmm_mm *mm;
	struct simmm_mm_stats st;
	simmm_addr_t a;
	uint8_t buf[64];

	(void)state;
	TU_ASSERT_OK(simmm_mm_create(sim, &mm));
	a = tm_mmap(mm, 4 * PS(sim), RW, PRIV_ANON);
	/* Read: the zero page, special and read-only. */
	assert_int_equal(tm_read8(mm, a), 0);
	TU_CHECK(sim);
	st = tm_stats(mm);
	assert_int_equal(st.zero_faults, 1);
	assert_int_equal(st.minor_faults, 1);
	assert_int_equal(st.rss_anon, 0);
	assert_int_equal(tm_pfn(mm, a), simmm_zero_pfn(sim));
	assert_true(simmm_pte_special(tm_pte(mm, a)));
	/* Write: COW of the zero page -> a new anonymous page. */
	tm_write8(mm, a + 1, 0x5a);
	TU_CHECK(sim);
	st = tm_stats(mm);
	assert_int_equal(st.anon_faults, 1);
	assert_int_equal(st.minor_faults, 2);
	assert_int_equal(st.rss_anon, 1);
	assert_int_equal(tm_read8(mm, a + 1), 0x5a);
	assert_int_equal(tm_read8(mm, a), 0);
	assert_true(simmm_pte_dirty(tm_pte(mm, a)) && simmm_pte_write(tm_pte(mm, a)));
	/* No fault on a mapped page. */
	assert_int_equal(tm_stats(mm).minor_faults, 2);
	/* Write fault on a none pte: one fault. */
	tm_write8(mm, a + PS(sim), 1);
	assert_int_equal(tm_stats(mm).anon_faults, 2);
	assert_int_equal(tm_stats(mm).minor_faults, 3);
	/* Multi-page access crossing pages. */
	memset(buf, 0xab, sizeof(buf));
	TU_ASSERT_OK(simmm_mm_access(mm, a + 2 * PS(sim) - 32, buf, 64, SIMMM_ACCESS_WRITE));
	memset(buf, 0, sizeof(buf));
	TU_ASSERT_OK(simmm_mm_access(mm, a + 2 * PS(sim) - 32, buf, 64, SIMMM_ACCESS_READ));
	for (int i = 0; i < 64; i++)
		assert_int_equal(buf[i], 0xab);
	TU_CHECK(sim);
	/* Errors: unmapped, exec without PROT_EXEC, NULL, overflow. */
	assert_int_equal(simmm_mm_access(mm, a - PS(sim), buf, 1, SIMMM_ACCESS_READ), -EFAULT);
	assert_int_equal(simmm_mm_access(mm, a, buf, 1, SIMMM_ACCESS_EXEC), -EFAULT);
	assert_int_equal(tm_stats(mm).sigsegv, 2);
	assert_int_equal(simmm_mm_access(NULL, a, buf, 1, SIMMM_ACCESS_READ), -EINVAL);
	assert_int_equal(simmm_mm_access(mm, UINT64_MAX, buf, 2, SIMMM_ACCESS_READ), -EINVAL);
	assert_int_equal(simmm_mm_access(mm, a, NULL, 1, SIMMM_ACCESS_WRITE), -EINVAL);
	TU_CHECK(sim);
	simmm_mmput(mm);
	tu_sim_free(&sim);
}

static void test_prot_none_and_readonly(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 16 << 20, 1);
	struct simmm_mm *mm;
	simmm_addr_t a;
	uint8_t v = 3;

	(void)state;
	TU_ASSERT_OK(simmm_mm_create(sim, &mm));
	a = tm_mmap(mm, 2 * PS(sim), RW, PRIV_ANON);
	tm_write8(mm, a, 42);
	TU_ASSERT_OK(simmm_mprotect(mm, a, PS(sim), SIMMM_PROT_NONE));
	TU_CHECK(sim);
	assert_true(simmm_pte_protnone(tm_pte(mm, a)));
	assert_int_equal(simmm_mm_access(mm, a, &v, 1, SIMMM_ACCESS_READ), -EFAULT);
	assert_int_equal(tm_stats(mm).nr_vmas, 2);
	TU_ASSERT_OK(simmm_mprotect(mm, a, PS(sim), SIMMM_PROT_READ));
	assert_int_equal(tm_read8(mm, a), 42);
	assert_int_equal(simmm_mm_access(mm, a, &v, 1, SIMMM_ACCESS_WRITE), -EFAULT);
	assert_false(simmm_pte_write(tm_pte(mm, a)));
	/* Back to RW: the exclusive anon page becomes writable again without
	 * a fault (can_change_pte_writable), and VMAs merge. */
	TU_ASSERT_OK(simmm_mprotect(mm, a, PS(sim), RW));
	assert_true(simmm_pte_write(tm_pte(mm, a)));
	assert_int_equal(tm_stats(mm).nr_vmas, 1);
	TU_CHECK(sim);
	assert_int_equal(simmm_mprotect(mm, a + 1, PS(sim), RW), -EINVAL);
	assert_int_equal(simmm_mprotect(mm, a, PS(sim), 0x40), -EINVAL);
	assert_int_equal(simmm_mprotect(mm, a, 3 * PS(sim), RW), -ENOMEM);
	assert_int_equal(simmm_mprotect(mm, a, 0, RW), 0);
	simmm_mmput(mm);
	tu_sim_free(&sim);
}

/* mmap merges a new VMA with its neighbours as vma_merge_new_range() does,
 * file mappings included: the same file at the contiguous offset, the same
 * flags. A different offset, file, protection or sharing keeps VMAs apart;
 * shared anonymous mappings (a tmpfs file each) never merge. */
static void test_mmap_merges_files(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 16 << 20, 1);
	uint64_t ps = PS(sim);
	struct simmm_file *f = NULL, *g = NULL;
	struct simmm_vma_info vi;
	struct simmm_mm *mm;
	simmm_addr_t a, b;

	(void)state;
	TU_ASSERT_OK(simmm_mm_create(sim, &mm));
	TU_ASSERT_OK(simmm_file_create(sim, 32 * ps, 0, &f));
	TU_ASSERT_OK(simmm_file_create(sim, 32 * ps, 0, &g));
	TU_ASSERT_OK(simmm_mmap(mm, 0, 4 * ps, RW, SIMMM_MAP_SHARED, f, 0, &a));
	/* Contiguous offset, same flags: one VMA. */
	TU_ASSERT_OK(simmm_mmap(mm, a + 4 * ps, 4 * ps, RW, SIMMM_MAP_SHARED | SIMMM_MAP_FIXED, f,
				4, &b));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_vma_info(mm, a + 5 * ps, &vi));
	assert_int_equal(vi.start, a);
	assert_int_equal(vi.end, a + 8 * ps);
	assert_int_equal(vi.pgoff, 0);
	/* Below it, at the offset before: merged again, from the other side. */
	TU_ASSERT_OK(simmm_munmap(mm, a, ps));
	TU_ASSERT_OK(simmm_mmap(mm, a, ps, RW, SIMMM_MAP_SHARED | SIMMM_MAP_FIXED, f, 0, &b));
	TU_ASSERT_OK(simmm_vma_info(mm, a, &vi));
	assert_int_equal(vi.end, a + 8 * ps);
	/* A gap in the offsets, another file, another protection, private
	 * instead of shared: separate VMAs. */
	TU_ASSERT_OK(simmm_mmap(mm, a + 8 * ps, ps, RW, SIMMM_MAP_SHARED | SIMMM_MAP_FIXED, f, 9,
				&b));
	TU_ASSERT_OK(simmm_mmap(mm, a + 9 * ps, ps, RW, SIMMM_MAP_SHARED | SIMMM_MAP_FIXED, g, 10,
				&b));
	TU_ASSERT_OK(simmm_mmap(mm, a + 10 * ps, ps, SIMMM_PROT_READ,
				SIMMM_MAP_SHARED | SIMMM_MAP_FIXED, g, 11, &b));
	TU_ASSERT_OK(simmm_mmap(mm, a + 11 * ps, ps, SIMMM_PROT_READ,
				SIMMM_MAP_PRIVATE | SIMMM_MAP_FIXED, g, 12, &b));
	for (unsigned i = 8; i < 12; i++) {
		TU_ASSERT_OK(simmm_vma_info(mm, a + i * ps, &vi));
		assert_int_equal(vi.start, a + i * ps);
		assert_int_equal(vi.end, a + (i + 1) * ps);
	}
	/* Shared anonymous: two mappings, two tmpfs files, two VMAs. */
	TU_ASSERT_OK(simmm_mmap(mm, a + 12 * ps, ps, RW,
				SIMMM_MAP_SHARED | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_FIXED, NULL, 0, &b));
	TU_ASSERT_OK(simmm_mmap(mm, a + 13 * ps, ps, RW,
				SIMMM_MAP_SHARED | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_FIXED, NULL, 0, &b));
	TU_ASSERT_OK(simmm_vma_info(mm, a + 13 * ps, &vi));
	assert_int_equal(vi.start, a + 13 * ps);
	/* The merged file VMA works as one: contents and rmap across it. */
	tm_write8(mm, a + 6 * ps, 0x5a);
	TU_ASSERT_OK(simmm_file_fsync(f));
	{
		uint8_t v = 0;

		assert_int_equal(simmm_file_pread(f, &v, 1, 6 * ps), 1);
		assert_int_equal(v, 0x5a);
	}
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	TU_ASSERT_OK(simmm_file_put(g));
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifetimes),
		cmocka_unit_test(test_leak_report),
		cmocka_unit_test(test_mmap_placement),
		cmocka_unit_test(test_anon_faults),
		cmocka_unit_test(test_prot_none_and_readonly),
		cmocka_unit_test(test_mmap_merges_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
