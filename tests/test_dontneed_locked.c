// SPDX-License-Identifier: MIT
/*
 * MADV_DONTNEED_LOCKED (Linux 5.18+, src/mm/change.c's advise_zap()):
 * MADV_DONTNEED that VM_LOCKED VMAs accept. The pages of the range are
 * munlocked (NR_MLOCK drops) and zapped, the VMA stays VM_LOCKED, and the
 * next fault maps a new page and mlocks it again; plain DONTNEED still
 * refuses the VMA; VM_PFNMAP is refused by both; hugetlb takes it as it
 * takes DONTNEED (whole huge pages from a huge-page boundary). Every step
 * runs the invariant checker.
 */
#include "test_mm_ext_util.h"

static uint64_t nr_mlock(simmm_sim *sim)
{
	struct simmm_lru_stats st;

	TU_ASSERT_OK(simmm_lru_stats(sim, &st));
	return st.nr_mlock;
}

static void test_locked_range(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS);

	for (unsigned i = 0; i < 4; i++)
		mx_write(mm, a + i * PS, 1 + i);
	TU_ASSERT_OK(simmm_mlock(mm, a, 4 * PS));
	TU_CHECK(sim);
	assert_int_equal(nr_mlock(sim), 4);
	assert_int_equal(simmm_madvise(mm, a, 4 * PS, SIMMM_MADV_DONTNEED), -EINVAL);
	TU_CHECK(sim);
	mx_expect(mm, a + PS, 2);

	TU_ASSERT_OK(simmm_madvise(mm, a + PS, 2 * PS, SIMMM_MADV_DONTNEED_LOCKED));
	TU_CHECK(sim);
	assert_int_equal(nr_mlock(sim), 2);
	assert_false(mx_tr(mm, a + PS).present);
	assert_false(mx_tr(mm, a + 2 * PS).present);
	assert_true(mx_tr(mm, a).present);
	struct simmm_vma_info vi;

	TU_ASSERT_OK(simmm_vma_info(mm, a + PS, &vi));
	assert_true(vi.vm_flags & SIMMM_VM_LOCKED);
	assert_int_equal(vi.start, a); /* no split: the flags did not change */
	/* A read fault maps the zero page (nothing to mlock), a write one a
	 * new page, mlocked at the fault (mlock_new_folio()). */
	mx_expect_zero(mm, a + PS);
	assert_int_equal(nr_mlock(sim), 2);
	mx_write(mm, a + PS, 9);
	TU_CHECK(sim);
	assert_int_equal(nr_mlock(sim), 3);
	mx_expect(mm, a + PS, 9);
	mx_expect(mm, a, 1);
	mx_expect(mm, a + 3 * PS, 4);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_refused_and_hugetlb(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t pfn = 0, h = 0;

	TU_ASSERT_OK(simmm_mmap(mm, 0, 2 * PS, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				SIMMM_MAP_SHARED | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_PFNMAP, NULL, 0,
				&pfn));
	assert_int_equal(simmm_madvise(mm, pfn, PS, SIMMM_MADV_DONTNEED_LOCKED), -EINVAL);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmap(mm, 0, 2 * PMD, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_HUGETLB, NULL, 0,
				&h));
	mx_write(mm, h, 1);
	mx_write(mm, h + PMD, 2);
	/* not from a huge-page boundary: -EINVAL; an end inside a huge page
	 * rounds down: only the first one goes */
	assert_int_equal(simmm_madvise(mm, h + PS, PS, SIMMM_MADV_DONTNEED_LOCKED), -EINVAL);
	TU_ASSERT_OK(simmm_madvise(mm, h, PMD + PS, SIMMM_MADV_DONTNEED_LOCKED));
	TU_CHECK(sim);
	assert_false(mx_tr(mm, h).present);
	mx_expect(mm, h + PMD, 2);
	mx_expect_zero(mm, h);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_locked_range),
		cmocka_unit_test(test_refused_and_hugetlb),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
