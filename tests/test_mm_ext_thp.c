// SPDX-License-Identifier: MIT
/*
 * THP: the anonymous PMD fault, the huge zero page, splits on partial
 * munmap/mprotect, COW after fork, MADV_COLLAPSE, reclaim of a THP
 * (split + swap), policy, and an allocation-failure sweep over a THP
 * fault.
 */
#include "test_mm_ext_util.h"

#define PMD (2 * MIB)
#define NR (PMD / PS)

static simmm_addr_t thp_region(struct simmm_mm *mm, uint64_t len)
{
	simmm_addr_t a = mx_anon_aligned(mm, PMD, len);

	TU_ASSERT_OK(simmm_madvise(mm, a, len, SIMMM_MADV_HUGEPAGE));
	return a;
}

static void test_thp_fault(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);

	mx_write(mm, a + 5 * PS, 5);
	TU_CHECK(sim);
	struct simmm_translation t = mx_tr(mm, a);
	assert_int_equal(t.level, SIMMM_LVL_PMD);
	assert_true(t.present && t.write);
	struct simmm_mm_stats st = mx_stats(mm);
	assert_int_equal(st.thp_faults, 1);
	assert_int_equal(st.rss_anon, NR);
	struct simmm_page_info pi = mx_page(sim, simmm_pte_pfn(t.entry));
	assert_int_equal(pi.order, 9);
	assert_int_equal(pi.refcount, 1);
	assert_int_equal(pi.mapcount, 0); /* the entire mapcount holds the mapping */
	mx_expect(mm, a + 5 * PS, 5);
	mx_expect_zero(mm, a + 6 * PS);
	TU_CHECK(sim);
	/* Policy never: small pages. */
	TU_ASSERT_OK(simmm_set_thp_policy(sim, SIMMM_THP_NEVER));
	simmm_addr_t b = thp_region(mm, PMD);
	mx_write(mm, b, 1);
	assert_int_equal(mx_tr(mm, b).level, SIMMM_LVL_PTE);
	assert_int_equal(simmm_set_thp_policy(sim, 7), -EINVAL);
	assert_int_equal(simmm_set_thp_policy(NULL, SIMMM_THP_ALWAYS), -EINVAL);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_thp_policy_always_and_fallback(void **state)
{
	(void)state;
	/* 4 MiB of RAM: one PMD folio fits, the second fault falls back. */
	simmm_sim *sim = mx_sim(NULL, 4 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);

	TU_ASSERT_OK(simmm_set_thp_policy(sim, SIMMM_THP_ALWAYS));
	simmm_addr_t a = mx_anon_aligned(mm, PMD, 2 * PMD);
	mx_write(mm, a, 1);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PMD);
	mx_write(mm, a + PMD, 2);
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a + PMD).level, SIMMM_LVL_PTE);
	assert_int_equal(mx_stats(mm).thp_faults, 1);
	mx_expect(mm, a, 1);
	mx_expect(mm, a + PMD, 2);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_huge_zero(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);

	mx_expect_zero(mm, a + 3 * PS);
	TU_CHECK(sim);
	struct simmm_translation t = mx_tr(mm, a);
	assert_int_equal(t.level, SIMMM_LVL_PMD);
	assert_false(t.write);
	assert_true(simmm_pte_special(t.entry));
	assert_int_equal(simmm_pte_pfn(t.entry), simmm__huge_zero_pfn(sim));
	assert_int_equal(mx_stats(mm).zero_faults, 1);
	assert_int_equal(mx_stats(mm).rss_anon, 0);
	/* A write maps a new THP in its place (v6.13; the split fallback is
	 * test_huge_zero_wp_fallback). */
	mx_write(mm, a + 3 * PS, 9);
	TU_CHECK(sim);
	t = mx_tr(mm, a);
	assert_int_equal(t.level, SIMMM_LVL_PMD);
	assert_true(t.write);
	assert_false(simmm__is_huge_zero_pfn(sim, t.pfn));
	assert_int_equal(mx_stats(mm).rss_anon, NR);
	mx_expect(mm, a + 3 * PS, 9);
	mx_expect_zero(mm, a + 4 * PS);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_thp_partial_munmap_mprotect(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);

	for (unsigned i = 0; i < NR; i += 64)
		mx_write(mm, a + i * PS, i);
	simmm_pfn_t head = simmm_pte_pfn(mx_tr(mm, a).entry);
	TU_ASSERT_OK(simmm_munmap(mm, a, PS));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a + PS).level, SIMMM_LVL_PTE);
	assert_int_equal(mx_stats(mm).rss_anon, NR - 1);
	struct simmm_page_info pi = mx_page(sim, head);
	assert_int_equal(pi.order, 9); /* the folio stays large */
	assert_int_equal(pi.refcount, NR - 1);
	assert_int_equal(pi.mapcount, 0);
	assert_int_equal(mx_page(sim, head + 1).mapcount, 1);
	TU_ASSERT_OK(simmm_mprotect(mm, a + 64 * PS, PS, SIMMM_PROT_READ));
	TU_CHECK(sim);
	assert_false(mx_tr(mm, a + 64 * PS).write);
	for (unsigned i = 64; i < NR; i += 64)
		mx_expect(mm, a + i * PS, i);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

static void test_thp_cow_after_fork(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = thp_region(mm, PMD);

	mx_write(mm, a, 1);
	mx_write(mm, a + PS, 2);
	simmm_pfn_t head = simmm_pte_pfn(mx_tr(mm, a).entry);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(child, a).level, SIMMM_LVL_PMD);
	assert_int_equal(mx_page(sim, head).refcount, 2);
	/* The child's write splits its PMD and copies one small page. */
	mx_write(child, a, 3);
	TU_CHECK(sim);
	assert_int_equal(mx_tr(child, a).level, SIMMM_LVL_PTE);
	assert_int_not_equal(mx_tr(child, a).pfn, head);
	assert_int_equal(mx_tr(child, a + PS).pfn, head + 1);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PMD);
	mx_expect(mm, a, 1);
	mx_expect(child, a, 3);
	mx_expect(child, a + PS, 2);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_CHECK(sim);
	/* Alone again: the parent's write reuses the THP. */
	mx_write(mm, a, 4);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PMD);
	assert_int_equal(simmm_pte_pfn(mx_tr(mm, a).entry), head);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_madvise_collapse(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon_aligned(mm, PMD, PMD);
	simmm_pfn_t pin = 0;

	/* Default policy (madvise) without MADV_HUGEPAGE: small pages. */
	for (unsigned i = 0; i < NR; i += 3)
		mx_write(mm, a + i * PS, i);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PTE);
	assert_int_equal(simmm_pin_user_pages(mm, a, 1, 0, &pin), 1);
	assert_int_equal(simmm_madvise(mm, a, PMD, SIMMM_MADV_COLLAPSE), -EAGAIN);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pin, 1));
	TU_ASSERT_OK(simmm_madvise(mm, a, PMD, SIMMM_MADV_COLLAPSE));
	TU_CHECK(sim);
	struct simmm_translation t = mx_tr(mm, a);
	assert_int_equal(t.level, SIMMM_LVL_PMD);
	assert_int_equal(mx_page(sim, simmm_pte_pfn(t.entry)).order, 9);
	assert_int_equal(mx_stats(mm).rss_anon, NR);
	for (unsigned i = 0; i < NR; i += 3)
		mx_expect(mm, a + i * PS, i);
	mx_expect_zero(mm, a + PS);
	/* Already collapsed: success again. Not eligible: -EINVAL. */
	TU_ASSERT_OK(simmm_madvise(mm, a, PMD, SIMMM_MADV_COLLAPSE));
	TU_ASSERT_OK(simmm_madvise(mm, a, PMD, SIMMM_MADV_NOHUGEPAGE));
	assert_int_equal(simmm_madvise(mm, a, PMD, SIMMM_MADV_COLLAPSE), -EINVAL);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_thp_reclaim_split(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);
	uint64_t n = 0;

	mx_write(mm, a, 1);
	mx_write(mm, a + 100 * PS, 2);
	TU_ASSERT_OK(simmm_reclaim(sim, 2 * NR, &n));
	TU_CHECK(sim);
	assert_int_equal(n, NR);
	assert_int_equal(mx_stats(mm).rss_anon, 0);
	assert_int_equal(mx_stats(mm).swap_ents, NR);
	mx_expect(mm, a, 1);
	mx_expect(mm, a + 100 * PS, 2);
	mx_expect_zero(mm, a + 101 * PS);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_split_folio_refuses_pinned(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);
	simmm_pfn_t pin = 0;

	mx_write(mm, a, 1);
	assert_int_equal(simmm_pin_user_pages(mm, a + PS, 1, 0, &pin), 1);
	struct simmm_page *folio = simmm__pfn_to_page(sim, pin - 1);
	simmm__folio_get(sim, folio);
	assert_int_equal(simmm__split_folio(sim, folio), -EBUSY);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pin, 1));
	TU_ASSERT_OK(simmm__split_folio(sim, folio));
	TU_CHECK(sim);
	assert_int_equal(mx_page(sim, pin - 1).order, 0);
	assert_int_equal(mx_page(sim, pin).refcount, 1);
	simmm__put_user_folio(sim, folio);
	TU_CHECK(sim);
	mx_expect(mm, a, 1);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* ---- allocation-failure sweep over a THP fault -------------------------------------- */

static int sweep_thp(simmm_sim *sim, void *arg)
{
	struct simmm_mm *mm = NULL, *child = NULL;
	simmm_addr_t a = 0;
	int rc;

	(void)arg;
	rc = simmm_mm_create(sim, &mm);
	if (rc)
		return rc;
	rc = simmm_set_thp_policy(sim, SIMMM_THP_ALWAYS);
	if (!rc)
		rc = simmm_mmap(mm, 0x40000000, PMD, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_FIXED, NULL, 0,
				&a);
	if (!rc)
		rc = simmm_mm_access(mm, a, &a, sizeof(a), SIMMM_ACCESS_WRITE);
	if (!rc)
		rc = simmm_fork(mm, &child);
	if (!rc)
		rc = simmm_mm_access(child, a + PS, &a, sizeof(a), SIMMM_ACCESS_WRITE);
	if (!rc)
		rc = simmm_munmap(mm, a, PS);
	if (child)
		simmm_mmput(child);
	simmm_mmput(mm);
	return rc;
}

static void test_sweep_thp(void **state)
{
	(void)state;
	simmm_config cfg;
	struct simmm_sweep_result res;

	simmm_config_init(&cfg);
	cfg.ram_bytes = 64 * MIB;
	cfg.flags |= SIMMM_CFG_QUIET;
	TU_ASSERT_OK(simmm_fault_sweep(&cfg, sweep_thp, NULL, 2000, &res));
	assert_true(res.steps > 10); /* the scenario allocates: failures were injected */
	assert_true(res.enomem > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thp_fault),
		cmocka_unit_test(test_thp_policy_always_and_fallback),
		cmocka_unit_test(test_huge_zero),
		cmocka_unit_test(test_thp_partial_munmap_mprotect),
		cmocka_unit_test(test_thp_cow_after_fork),
		cmocka_unit_test(test_madvise_collapse),
		cmocka_unit_test(test_thp_reclaim_split),
		cmocka_unit_test(test_split_folio_refuses_pinned),
		cmocka_unit_test(test_sweep_thp),
	};
	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
