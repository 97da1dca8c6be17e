// SPDX-License-Identifier: MIT
/*
 * The kernel-named aliases of <simmm/linux/mmu_notifier.h>: a small
 * driver written the way a kernel driver is (struct mmu_notifier embedded,
 * ops with kernel signatures, mmu_notifier_get returning ERR_PTR, the
 * interval read_begin / read_retry loop) must compile and behave.
 */
#include <stdlib.h>

#include "testutil.h"

#include <simmm/linux/mmu_notifier.h>

struct drv {
	struct mmu_notifier mn;
	struct mmu_interval_notifier notifier;
	int starts, ends, invalidations;
	unsigned long last_start, last_end;
};

static int drv_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct drv *d = (struct drv *)(void *)mn;

	d->starts++;
	d->last_start = range->start;
	d->last_end = range->end;
	return 0;
}

static void drv_end(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	(void)range;
	((struct drv *)(void *)mn)->ends++;
}

static struct mmu_notifier *drv_alloc(struct mm_struct *mm)
{
	struct drv *d = calloc(1, sizeof(*d));

	(void)mm;
	return d ? &d->mn : (struct mmu_notifier *)ERR_PTR(-ENOMEM);
}

static void drv_free(struct mmu_notifier *mn)
{
	free(mn);
}

static const struct mmu_notifier_ops drv_ops = {
	.invalidate_range_start = drv_start,
	.invalidate_range_end = drv_end,
	.alloc_notifier = drv_alloc,
	.free_notifier = drv_free,
};

static bool drv_invalidate(struct mmu_interval_notifier *mni, const struct mmu_notifier_range *range,
			   unsigned long cur_seq)
{
	struct drv *d = (struct drv *)(void *)((char *)mni - offsetof(struct drv, notifier));

	if (!mmu_notifier_range_blockable(range))
		return false;
	mmu_interval_set_seq(mni, cur_seq);
	d->invalidations++;
	return true;
}

static const struct mmu_interval_notifier_ops drv_iops = {.invalidate = drv_invalidate};

static void test_kernel_style_driver(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 0, tu_seed());
	struct mm_struct *mm;
	struct mmu_notifier *mn, *again;
	struct mmu_notifier_range range;
	struct drv *d;
	unsigned long seq;

	(void)state;
	TU_ASSERT_OK(simmm_mm_create(sim, &mm));
	mn = mmu_notifier_get(&drv_ops, mm);
	assert_false(IS_ERR(mn));
	again = mmu_notifier_get(&drv_ops, mm);
	assert_ptr_equal(mn, again);
	mmu_notifier_put(again);
	d = (struct drv *)(void *)mn;
	assert_int_equal(mmu_interval_notifier_insert(&d->notifier, mm, 0x100000, 0x10000, &drv_iops),
			 0);
	TU_CHECK(sim);

	seq = mmu_interval_read_begin(&d->notifier);
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, 0x104000, 0x105000);
	mmu_notifier_invalidate_range_start(&range);
	assert_true(mmu_notifier_range_blockable(&range));
	mmu_notifier_invalidate_range_end(&range);
	TU_CHECK(sim);
	assert_true(mmu_interval_read_retry(&d->notifier, seq));
	assert_true(mmu_interval_check_retry(&d->notifier, seq));
	seq = mmu_interval_read_begin(&d->notifier);
	assert_false(mmu_interval_read_retry(&d->notifier, seq));
	assert_int_equal(d->starts, 1);
	assert_int_equal(d->ends, 1);
	assert_int_equal(d->invalidations, 1);
	assert_int_equal(d->last_start, 0x104000);
	assert_int_equal(d->last_end, 0x105000);

	/* The OOM reaper's path: the interval driver refuses, start fails. */
	mmu_notifier_range_init_owner(&range, MMU_NOTIFY_UNMAP, 0, mm, 0x100000, 0x101000, NULL);
	assert_int_equal(mmu_notifier_invalidate_range_start_nonblock(&range), -EAGAIN);
	TU_CHECK(sim);

	mmu_interval_notifier_remove(&d->notifier);
	mmu_notifier_put(mn);
	mmu_notifier_synchronize(sim);
	assert_int_equal(simmm_mm_count(mm), 1);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_err_ptr_on_failure(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 0, tu_seed());
	static const struct mmu_notifier_ops no_alloc = {.invalidate_range_start = drv_start};
	struct mm_struct *mm;
	struct mmu_notifier *mn;

	(void)state;
	TU_ASSERT_OK(simmm_mm_create(sim, &mm));
	mn = mmu_notifier_get(&no_alloc, mm);
	assert_true(IS_ERR(mn));
	assert_int_equal(PTR_ERR(mn), -EINVAL);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_style_driver),
		cmocka_unit_test(test_err_ptr_on_failure),
	};
	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
