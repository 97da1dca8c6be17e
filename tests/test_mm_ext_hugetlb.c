// SPDX-License-Identifier: MIT
/*
 * hugetlb: PMD and PUD mappings (x86_64-4level: 2M and 1G; arm64-64k-48:
 * 512M), private COW across fork, shared pages shared, no rss.
 */
#include "test_mm_ext_util.h"

#define HUGE(shift) (SIMMM_MAP_HUGETLB | ((shift) << SIMMM_MAP_HUGE_SHIFT))

static simmm_addr_t map_huge(struct simmm_mm *mm, uint64_t len, int flags)
{
	simmm_addr_t a = 0;

	TU_ASSERT_OK(simmm_mmap(mm, 0, len, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				flags | SIMMM_MAP_ANONYMOUS, NULL, 0, &a));
	return a;
}

static void check_private(const char *geo, uint64_t ram, unsigned shift, enum simmm_level lvl)
{
	simmm_sim *sim = mx_sim(geo, ram, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	uint64_t sz = 1ULL << shift, ps = simmm_sim_geometry(sim)->page_shift;
	simmm_addr_t a = map_huge(mm, sz, SIMMM_MAP_PRIVATE | HUGE(shift));

	ps = 1ULL << ps;
	assert_int_equal(a & (sz - 1), 0);
	mx_write(mm, a + 3 * ps, 3);
	TU_CHECK(sim);
	struct simmm_translation t = mx_tr(mm, a);
	assert_int_equal(t.level, lvl);
	assert_true(t.present && t.write);
	simmm_pfn_t head = simmm_pte_pfn(t.entry);
	assert_int_equal(mx_page(sim, head).order, shift - simmm_sim_geometry(sim)->page_shift);
	assert_int_equal(mx_page(sim, head).refcount, 1);
	assert_int_equal(mx_stats(mm).rss_anon, 0); /* HugetlbPages, not rss */
	assert_int_equal(mx_stats(mm).hugetlb_faults, 1);
	mx_expect(mm, a + 3 * ps, 3);
	/* fork: shared read-only, then COW of the whole huge page. */
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	assert_int_equal(simmm_pte_pfn(mx_tr(child, a).entry), head);
	mx_write(child, a, 4);
	TU_CHECK(sim);
	simmm_pfn_t copy = simmm_pte_pfn(mx_tr(child, a).entry);
	assert_int_not_equal(copy, head);
	assert_int_equal(mx_tr(child, a).level, lvl);
	mx_expect(child, a + 3 * ps, 3);
	mx_expect(child, a, 4);
	mx_expect_zero(mm, a);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_CHECK(sim);
	/* Alone again: the parent's write reuses its page, although a
	 * FOLL_GET reference is held on it (hugetlb_wp() goes by the
	 * mapcount alone, unlike do_wp_page()). */
	simmm_pfn_t got = 0;

	assert_false(simmm_pte_write(mx_tr(mm, a).entry));
	assert_int_equal(simmm_get_user_pages(mm, a, 1, 0, &got), 1);
	assert_int_equal(got, head);
	assert_int_equal(mx_page(sim, head).refcount, 2);
	mx_write(mm, a, 5);
	assert_int_equal(simmm_pte_pfn(mx_tr(mm, a).entry), head);
	assert_true(mx_tr(mm, a).write);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_put_user_pages(sim, &got, 1));
	assert_int_equal(mx_page(sim, head).refcount, 1);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_munmap(mm, a, sz));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_hugetlb_x86_2m(void **state)
{
	(void)state;
	check_private("x86_64-4level", 64 * MIB, 21, SIMMM_LVL_PMD);
}

static void test_hugetlb_x86_1g(void **state)
{
	(void)state;
	check_private("x86_64-4level", 4 * GIB, 30, SIMMM_LVL_PUD);
}

static void test_hugetlb_arm64_512m(void **state)
{
	(void)state;
	check_private("arm64-64k-48", 2 * GIB, 29, SIMMM_LVL_PMD);
}

static void test_hugetlb_shared(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = map_huge(mm, 4 * MIB, SIMMM_MAP_SHARED | HUGE(21));

	mx_write(mm, a, 1);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	mx_write(child, a + 2 * MIB, 2); /* faults the second page in the child */
	mx_write(child, a + PS, 3);
	TU_CHECK(sim);
	assert_int_equal(simmm_pte_pfn(mx_tr(child, a).entry), simmm_pte_pfn(mx_tr(mm, a).entry));
	mx_expect(mm, a + PS, 3);
	mx_expect(mm, a + 2 * MIB, 2);
	assert_int_equal(simmm_pte_pfn(mx_tr(child, a + 2 * MIB).entry),
			 simmm_pte_pfn(mx_tr(mm, a + 2 * MIB).entry));
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

static void test_hugetlb_no_memory(void **state)
{
	(void)state;
	/* 1 GiB pages on a 64 MiB machine: SIGBUS-like failure, or refused. */
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = 0;
	int rc = simmm_mmap(mm, 0, GIB, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
			    SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS | HUGE(30), NULL, 0, &a);

	if (rc == 0) {
		assert_int_equal(simmm_mm_access(mm, a, &a, 1, SIMMM_ACCESS_WRITE), -EFAULT);
		assert_int_equal(mx_stats(mm).sigbus, 1);
	} else {
		assert_true(rc == -EINVAL || rc == -ENOMEM);
	}
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hugetlb_x86_2m),
		cmocka_unit_test(test_hugetlb_x86_1g),
		cmocka_unit_test(test_hugetlb_arm64_512m),
		cmocka_unit_test(test_hugetlb_shared),
		cmocka_unit_test(test_hugetlb_no_memory),
	};
	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
