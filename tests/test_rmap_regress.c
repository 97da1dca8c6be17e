// SPDX-License-Identifier: MIT
/*
 * Reverse-map regressions found while building the demo:
 *  1. try_to_unmap did not see PROT_NONE (protnone) mappings, so a page
 *     mapped PROT_NONE was never reclaimed;
 *  2. reclaim of a child-only COW copy sent a CLEAR to the parent's
 *     notifiers (simmm's anon_vma is per fork family, so the rmap walk
 *     visits the parent's VMA, which does not map that copy).
 */
#include "testutil.h"

struct counter {
	struct simmm_mmu_interval_notifier mn; /* first */
	unsigned clears;
};

static bool count_inv(struct simmm_mmu_interval_notifier *sub,
		      const struct simmm_mmu_notifier_range *r, uint64_t cur_seq)
{
	struct counter *c = (struct counter *)sub;
	simmm_mmu_interval_set_seq(sub, cur_seq);
	c->clears += r->event == SIMMM_MMU_NOTIFY_CLEAR;
	return true;
}

static const struct simmm_mmu_interval_notifier_ops count_ops = {.invalidate = count_inv};

static void protnone_pages_are_reclaimed(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 64 << 20, 1);
	struct simmm_mm *mm;
	struct simmm_translation t;
	simmm_addr_t a;
	uint64_t got = 0;
	char buf[4];
	(void)state;

	TU_ASSERT_OK(simmm_mm_create(sim, &mm));
	TU_ASSERT_OK(simmm_mmap(mm, 0, 4096, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS, NULL, 0, &a));
	TU_ASSERT_OK(simmm_mm_access(mm, a, "abc", 4, SIMMM_ACCESS_WRITE));
	TU_ASSERT_OK(simmm_mprotect(mm, a, 4096, SIMMM_PROT_NONE));
	/* translate reports the frame of a PROT_NONE leaf, with no rights. */
	TU_ASSERT_OK(simmm_pgtable_translate(simmm_mm_pgtable(mm), a, &t));
	assert_true(t.present && t.pfn != 0 && !t.write && !t.user);
	TU_ASSERT_OK(simmm_reclaim(sim, 8, &got));
	assert_int_equal(got, 1);
	TU_ASSERT_OK(simmm_pgtable_translate(simmm_mm_pgtable(mm), a, &t));
	assert_true(simmm_is_swap_pte(t.entry));
	TU_CHECK(sim);
	assert_int_equal(simmm_mm_access(mm, a, buf, 4, SIMMM_ACCESS_READ), -EFAULT);
	TU_ASSERT_OK(simmm_mprotect(mm, a, 4096, SIMMM_PROT_READ));
	TU_ASSERT_OK(simmm_mm_access(mm, a, buf, 4, SIMMM_ACCESS_READ));
	assert_string_equal(buf, "abc");
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void reclaim_notifies_only_mappers(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 64 << 20, 1);
	struct simmm_mm *mm, *child;
	struct counter c = {0};
	simmm_addr_t a;
	uint64_t got = 0;
	(void)state;

	TU_ASSERT_OK(simmm_mm_create(sim, &mm));
	TU_ASSERT_OK(simmm_mmap(mm, 0, 4096, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS, NULL, 0, &a));
	TU_ASSERT_OK(simmm_mm_access(mm, a, "p", 2, SIMMM_ACCESS_WRITE));
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_ASSERT_OK(simmm_mm_access(child, a, "c", 2, SIMMM_ACCESS_WRITE)); /* child's copy */
	/* The parent's page is pinned so only the child's copy can go. */
	simmm_pfn_t pfn;
	assert_int_equal(simmm_pin_user_pages(mm, a, 1, 0, &pfn), 1);
	TU_ASSERT_OK(simmm_mmu_interval_notifier_insert(&c.mn, mm, a, 4096, &count_ops));
	TU_ASSERT_OK(simmm_reclaim(sim, 8, &got));
	assert_int_equal(got, 1);
	assert_int_equal(c.clears, 0);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pfn, 1));
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&c.mn));
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(protnone_pages_are_reclaimed),
		cmocka_unit_test(reclaim_notifies_only_mappers),
	};
	return cmocka_run_group_tests_name("rmap_regress", tests, NULL, NULL);
}
