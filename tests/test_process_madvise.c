// SPDX-License-Identifier: MIT
/*
 * process_madvise(2) (simmm_process_madvise(), src/mm/change.c), as
 * upstream's vector_madvise() since 6.15 and the 6.13 rules for who may
 * give which advice:
 *  - a vector of ranges advised in order under one madvise lock; the
 *    return is the bytes of the ranges advised whole, the error only when
 *    none was;
 *  - a range that fails stops the walk: the ranges before it stay advised,
 *    and so do the mapped parts of the failing one (holes: -ENOMEM);
 *  - a process advising itself may give any advice madvise takes; another
 *    process only COLD, PAGEOUT, WILLNEED, COLLAPSE, and only with
 *    CAP_SYS_NICE (inherited by fork);
 *  - import_iovec(): flags, UIO_MAXIOV, NULL vectors, the MAX_RW_COUNT
 *    clamp; empty vectors skipped; an exited target is -ESRCH.
 * Every step runs the invariant checker.
 */
#include "test_mm_ext_util.h"

static int64_t pmadv(struct simmm_mm *caller, struct simmm_mm *target,
		     const struct simmm_iovec *v, size_t n, int advice)
{
	int64_t r = simmm_process_madvise(caller, target, v, n, advice, 0);

	TU_CHECK(simmm_mm_sim(target));
	return r;
}

/* @n pages of anonymous memory in @mm, page i holding tag 1 + i. */
static simmm_addr_t filled(struct simmm_mm *mm, unsigned n)
{
	simmm_addr_t a = mx_anon(mm, 0, n * PS);

	for (unsigned i = 0; i < n; i++)
		mx_write(mm, a + i * PS, 1 + i);
	TU_CHECK(simmm_mm_sim(mm));
	return a;
}

/* Self: three ranges of DONTNEED, one of them not page-sized in length
 * (rounded up, counted as given); the bytes come back, the pages go. */
static void test_self_vector(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = filled(mm, 8);
	struct simmm_iovec v[] = {{a, PS}, {a + 3 * PS, 2 * PS}, {a + 6 * PS, PS / 2}};

	assert_int_equal(pmadv(mm, mm, v, 3, SIMMM_MADV_DONTNEED), PS + 2 * PS + PS / 2);
	for (unsigned i = 0; i < 8; i++) {
		bool gone = i == 0 || i == 3 || i == 4 || i == 6;

		assert_int_equal(mx_tr(mm, a + i * PS).present, !gone);
		if (gone)
			mx_expect_zero(mm, a + i * PS);
		else
			mx_expect(mm, a + i * PS, 1 + i);
	}
	/* Self may also give VMA-flag advice (6.13+): DONTFORK over two
	 * ranges splits the VMA around each. */
	struct simmm_iovec f[] = {{a + PS, PS}, {a + 5 * PS, PS}};
	struct simmm_vma_info vi;

	assert_int_equal(pmadv(mm, mm, f, 2, SIMMM_MADV_DONTFORK), 2 * PS);
	TU_ASSERT_OK(simmm_vma_info(mm, a + 5 * PS, &vi));
	assert_true(vi.vm_flags & SIMMM_VM_DONTCOPY);
	assert_int_equal(vi.start, a + 5 * PS);
	TU_ASSERT_OK(simmm_vma_info(mm, a + 2 * PS, &vi));
	assert_false(vi.vm_flags & SIMMM_VM_DONTCOPY);
	assert_int_equal(mx_stats(mm).nr_vmas, 5);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* The walk stops at the first failing range: the bytes before it are the
 * return; the failing range's mapped part is advised all the same; with
 * nothing advised whole, the error. */
static void test_partial(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = filled(mm, 8);

	TU_ASSERT_OK(simmm_munmap(mm, a + 5 * PS, PS));
	TU_CHECK(sim);
	/* second range: pages 4..5, page 5 a hole; third never looked at */
	struct simmm_iovec v[] = {{a, 2 * PS}, {a + 4 * PS, 2 * PS}, {a + 7 * PS, PS}};

	assert_int_equal(pmadv(mm, mm, v, 3, SIMMM_MADV_DONTNEED), 2 * PS);
	assert_false(mx_tr(mm, a).present);
	assert_false(mx_tr(mm, a + 4 * PS).present); /* the failing range's mapped part */
	assert_true(mx_tr(mm, a + 7 * PS).present);  /* after the failure: untouched */
	mx_expect(mm, a + 7 * PS, 8);
	/* the first range fails: its error */
	struct simmm_iovec h[] = {{a + 5 * PS, PS}, {a + 7 * PS, PS}};

	assert_int_equal(pmadv(mm, mm, h, 2, SIMMM_MADV_DONTNEED), -ENOMEM);
	assert_true(mx_tr(mm, a + 7 * PS).present);
	/* misaligned second range: the first's bytes; misaligned first: -EINVAL */
	struct simmm_iovec m[] = {{a + 6 * PS, PS}, {a + 7 * PS + 1, PS}};

	assert_int_equal(pmadv(mm, mm, m, 2, SIMMM_MADV_DONTNEED), PS);
	assert_true(mx_tr(mm, a + 7 * PS).present);
	assert_int_equal(pmadv(mm, mm, &m[1], 1, SIMMM_MADV_DONTNEED), -EINVAL);
	/* unknown advice on itself: -EINVAL from the first range */
	assert_int_equal(pmadv(mm, mm, m, 1, 9999), -EINVAL);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* Another process: only the non-destructive advice, only with
 * CAP_SYS_NICE, which a fork child inherits. PAGEOUT of the target's pages
 * swaps them out; its contents come back on the next access. */
static void test_remote(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim), *other = mx_mm(sim), *child = NULL;
	simmm_addr_t a = filled(other, 4);
	struct simmm_iovec v[] = {{a, 2 * PS}, {a + 2 * PS, 2 * PS}};

	assert_int_equal(pmadv(mm, other, v, 2, SIMMM_MADV_PAGEOUT), -EPERM);
	assert_int_equal(mx_stats(other).swap_ents, 0);
	TU_ASSERT_OK(simmm_mm_set_cap_sys_nice(mm, true));
	assert_int_equal(pmadv(mm, other, v, 2, SIMMM_MADV_DONTNEED), -EINVAL);
	assert_int_equal(pmadv(mm, other, v, 2, SIMMM_MADV_FREE), -EINVAL);
	assert_int_equal(pmadv(mm, other, v, 2, SIMMM_MADV_HWPOISON), -EINVAL);
	assert_true(mx_tr(other, a).present);
	assert_int_equal(pmadv(mm, other, v, 2, SIMMM_MADV_PAGEOUT), 4 * PS);
	assert_int_equal(mx_stats(other).swap_ents, 4);
	for (unsigned i = 0; i < 4; i++)
		mx_expect(other, a + i * PS, 1 + i);
	assert_int_equal(pmadv(mm, other, v, 1, SIMMM_MADV_COLD), 2 * PS);
	assert_int_equal(pmadv(mm, other, v, 1, SIMMM_MADV_WILLNEED), 2 * PS);
	/* the capability goes with fork; without it, -EPERM again */
	TU_ASSERT_OK(simmm_fork(mm, &child));
	assert_int_equal(pmadv(child, other, v, 1, SIMMM_MADV_COLD), 2 * PS);
	TU_ASSERT_OK(simmm_mm_set_cap_sys_nice(child, false));
	assert_int_equal(pmadv(child, other, v, 1, SIMMM_MADV_COLD), -EPERM);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(other));
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* import_iovec() and the target's lifetime. */
static void test_arguments(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *other = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS);
	struct simmm_iovec v[] = {{a, PS}, {a + PS, 0}, {a + 2 * PS + 1, 0}, {a + 2 * PS, PS}};
	static struct simmm_iovec many[SIMMM_UIO_MAXIOV + 1];

	TU_ASSERT_OK(simmm_mm_set_cap_sys_nice(mm, true));
	assert_int_equal(simmm_process_madvise(mm, mm, v, 1, SIMMM_MADV_COLD, 1), -EINVAL);
	assert_int_equal(simmm_process_madvise(NULL, mm, v, 1, SIMMM_MADV_COLD, 0), -EINVAL);
	assert_int_equal(simmm_process_madvise(mm, NULL, v, 1, SIMMM_MADV_COLD, 0), -EINVAL);
	assert_int_equal(pmadv(mm, mm, NULL, 1, SIMMM_MADV_COLD), -EFAULT);
	assert_int_equal(pmadv(mm, mm, NULL, 0, SIMMM_MADV_COLD), 0);
	assert_int_equal(pmadv(mm, mm, many, SIMMM_UIO_MAXIOV + 1, SIMMM_MADV_COLD), -EINVAL);
	struct simmm_iovec huge = {a, (uint64_t)INT64_MAX + 1};

	assert_int_equal(pmadv(mm, mm, &huge, 1, SIMMM_MADV_COLD), -EINVAL);
	/* Empty vectors after the first are stepped over unchecked (the
	 * misaligned one too); all four give PS + PS. */
	assert_int_equal(pmadv(mm, mm, v, 4, SIMMM_MADV_COLD), 2 * PS);
	/* A leading empty vector is checked: misaligned, -EINVAL. */
	assert_int_equal(pmadv(mm, mm, &v[2], 2, SIMMM_MADV_COLD), -EINVAL);
	/* Nothing but empty vectors: nothing to walk, 0. */
	assert_int_equal(pmadv(mm, mm, &v[1], 2, SIMMM_MADV_COLD), 0);
	/* MAX_RW_COUNT: a 4 GiB range counts INT_MAX rounded down to a page
	 * (the VMA maps it all: COLD of untouched memory changes nothing). */
	simmm_addr_t big = mx_anon(other, 0, 4ULL << 30);
	struct simmm_iovec b[] = {{big, 4ULL << 30}, {big, PS}};

	assert_int_equal(pmadv(mm, other, b, 2, SIMMM_MADV_COLD),
			 (int64_t)((uint64_t)INT32_MAX & ~(PS - 1)));
	/* An exited process: -ESRCH while its struct lives (mmgrab). */
	TU_ASSERT_OK(simmm_mmgrab(other));
	TU_ASSERT_OK(simmm_mmput(other));
	assert_int_equal(simmm_process_madvise(mm, other, b, 1, SIMMM_MADV_COLD, 0), -ESRCH);
	TU_ASSERT_OK(simmm_mmdrop(other));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self_vector),
		cmocka_unit_test(test_partial),
		cmocka_unit_test(test_remote),
		cmocka_unit_test(test_arguments),
	};
	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
