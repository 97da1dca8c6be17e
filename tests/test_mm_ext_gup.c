// SPDX-License-Identifier: MIT
/*
 * GUP: get/pin/unpin with exact refcounts, FOLL_WRITE breaking COW, pins
 * unsharing COW pages, FOLL_SPLIT_PMD, FOLL_NOFAULT, FOLL_FORCE, the zero
 * pages, bad input.
 */
#include "test_mm_ext_util.h"

#define BIAS SIMMM_GUP_PIN_COUNTING_BIAS

static void test_get_put(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS);
	simmm_pfn_t pfns[4];

	/* Missing pages are faulted in (read: the zero page, no reference). */
	assert_int_equal(simmm_get_user_pages(mm, a, 2, 0, pfns), 2);
	TU_CHECK(sim);
	assert_int_equal(pfns[0], simmm_zero_pfn(sim));
	TU_ASSERT_OK(simmm_put_user_pages(sim, pfns, 2));
	/* Write: real pages, one reference each on top of the mapping's. */
	assert_int_equal(simmm_get_user_pages(mm, a, 4, SIMMM_FOLL_WRITE, pfns), 4);
	TU_CHECK(sim);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(mx_tr(mm, a + i * PS).pfn, pfns[i]);
		assert_int_equal(mx_page(sim, pfns[i]).refcount, 2);
		assert_int_equal(mx_page(sim, pfns[i]).mapcount, 1);
	}
	TU_ASSERT_OK(simmm_put_user_pages(sim, pfns, 4));
	TU_CHECK(sim);
	for (int i = 0; i < 4; i++)
		assert_int_equal(mx_page(sim, pfns[i]).refcount, 1);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_pin_unpin(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);
	simmm_pfn_t pfns[2];

	assert_int_equal(simmm_pin_user_pages(mm, a, 2, SIMMM_FOLL_WRITE | SIMMM_FOLL_LONGTERM,
					      pfns), 2);
	TU_CHECK(sim);
	assert_int_equal(mx_page(sim, pfns[0]).refcount, 1 + BIAS);
	assert_int_equal(mx_page(sim, pfns[1]).refcount, 1 + BIAS);
	assert_true(simmm__folio_maybe_dma_pinned(sim, simmm__pfn_to_page(sim, pfns[0])));
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, pfns, 2));
	TU_CHECK(sim);
	assert_int_equal(mx_page(sim, pfns[0]).refcount, 1);
	/* Unpinning what is not pinned is refused, nothing changes. */
	assert_int_equal(simmm_unpin_user_pages(sim, pfns, 1), -EINVAL);
	assert_int_equal(mx_page(sim, pfns[0]).refcount, 1);
	assert_int_equal(simmm_reports_count(sim, SIMMM_REPORT_MISUSE), 1);
	simmm_reports_clear(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_pin_thp_pincount(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon_aligned(mm, 2 * MIB, 2 * MIB);
	simmm_pfn_t pfns[3];

	TU_ASSERT_OK(simmm_madvise(mm, a, 2 * MIB, SIMMM_MADV_HUGEPAGE));
	assert_int_equal(simmm_pin_user_pages(mm, a, 3, SIMMM_FOLL_WRITE, pfns), 3);
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PMD);
	assert_int_equal(pfns[1], pfns[0] + 1);
	struct simmm_page_info pi = mx_page(sim, pfns[0]);
	assert_int_equal(pi.refcount, 1 + 3);
	assert_int_equal(pi.pincount, 3);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, pfns, 3));
	pi = mx_page(sim, pfns[0]);
	assert_int_equal(pi.refcount, 1);
	assert_int_equal(pi.pincount, 0);
	TU_CHECK(sim);
	/* FOLL_SPLIT_PMD: the PMD becomes a PTE table before the get. */
	assert_int_equal(simmm_get_user_pages(mm, a + PS, 1, SIMMM_FOLL_SPLIT_PMD, pfns), 1);
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PTE);
	assert_int_equal(mx_page(sim, pfns[0]).refcount, 512 + 1);
	TU_ASSERT_OK(simmm_put_user_pages(sim, pfns, 1));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_foll_write_breaks_cow(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);
	simmm_pfn_t pfn = 0, pfn2 = 0;

	mx_write(mm, a, 1);
	mx_write(mm, a + PS, 2);
	simmm_pfn_t orig = mx_tr(mm, a).pfn;
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	assert_int_equal(mx_page(sim, orig).mapcount, 2);
	/* FOLL_WRITE in the child: a private copy, the parent keeps orig. */
	assert_int_equal(simmm_get_user_pages(child, a, 1, SIMMM_FOLL_WRITE, &pfn), 1);
	TU_CHECK(sim);
	assert_int_not_equal(pfn, orig);
	assert_int_equal(mx_tr(child, a).pfn, pfn);
	assert_true(mx_tr(child, a).write);
	assert_int_equal(mx_page(sim, pfn).refcount, 2);
	assert_int_equal(mx_page(sim, orig).mapcount, 1);
	TU_ASSERT_OK(simmm_put_user_pages(sim, &pfn, 1));
	/* A read pin of a shared page unshares it too (gup_must_unshare). */
	simmm_pfn_t shared = mx_tr(mm, a + PS).pfn;
	assert_int_equal(simmm_pin_user_pages(mm, a + PS, 1, 0, &pfn2), 1);
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a + PS).pfn, pfn2);
	assert_int_not_equal(pfn2, shared);
	assert_int_equal(mx_page(sim, pfn2).refcount, 1 + BIAS);
	mx_expect(mm, a + PS, 2);
	mx_expect(child, a + PS, 2);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pfn2, 1));
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

static void test_gup_errors(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS), r = 0;
	simmm_pfn_t pfns[4];

	/* FOLL_NOFAULT on a missing page. */
	assert_int_equal(simmm_get_user_pages(mm, a, 1, SIMMM_FOLL_NOFAULT, pfns), -EFAULT);
	/* A partial run returns the pages it got. */
	mx_write(mm, a, 1);
	assert_int_equal(simmm_get_user_pages(mm, a, 2, SIMMM_FOLL_NOFAULT, pfns), 1);
	TU_ASSERT_OK(simmm_put_user_pages(sim, pfns, 1));
	/* No VMA; beyond the VMA. */
	assert_int_equal(simmm_get_user_pages(mm, a + 2 * PS, 1, 0, pfns), -EFAULT);
	assert_int_equal(simmm_get_user_pages(mm, a, 4, SIMMM_FOLL_WRITE, pfns), 2);
	TU_ASSERT_OK(simmm_put_user_pages(sim, pfns, 2));
	/* Write to a read-only mapping: -EFAULT, FORCE allowed (COW). */
	TU_ASSERT_OK(simmm_mmap(mm, 0, PS, SIMMM_PROT_READ, SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS,
				NULL, 0, &r));
	assert_int_equal(simmm_get_user_pages(mm, r, 1, SIMMM_FOLL_WRITE, pfns), -EFAULT);
	/* Bad input. */
	assert_int_equal(simmm_get_user_pages(NULL, a, 1, 0, pfns), -EINVAL);
	assert_int_equal(simmm_get_user_pages(mm, a + 1, 1, 0, pfns), -EINVAL);
	assert_int_equal(simmm_get_user_pages(mm, a, 0, 0, pfns), -EINVAL);
	assert_int_equal(simmm_get_user_pages(mm, a, 1, 0, NULL), -EINVAL);
	assert_int_equal(simmm_get_user_pages(mm, a, 1, SIMMM_FOLL_PIN, pfns), -EINVAL);
	assert_int_equal(simmm_pin_user_pages(mm, a, 1, 0x80000000u, pfns), -EINVAL);
	assert_int_equal(simmm_put_user_pages(NULL, pfns, 1), -EINVAL);
	assert_int_equal(simmm_unpin_user_pages(sim, NULL, 1), -EINVAL);
	TU_ASSERT_OK(simmm_put_user_pages(sim, NULL, 0));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/*
 * A read pin of a swapped-out page that fork shared, with RAM full but for
 * one page: the swap-in takes it, the unshare (a COW write fault here)
 * needs another, and direct reclaim finds only the page being copied. It
 * must not reclaim it from under the copy (do_wp_page() holds a reference
 * on the old folio across wp_page_copy()): the pin fails with -ENOMEM, as
 * the machine really is out of memory. Reclaimed and freed, the copy read a
 * freed page and GUP swapped the page in and lost it again until its
 * retries ran out: -EFAULT (found by fuzz_mm_ops).
 */
static void test_pin_unshare_source_not_reclaimed(void **state)
{
	(void)state;
	enum { NF = 512 };
	simmm_sim *sim = mx_sim(NULL, 1 * MIB, 8 * MIB);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, PS), f = mx_anon(mm, 0, NF * PS);
	static simmm_pfn_t fill[NF];
	simmm_pfn_t pfn = 0;
	unsigned n = 0;
	long rc = 0;

	mx_write(mm, a, 7);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	/* Fill RAM with pinned pages (reclaim skips them); direct reclaim
	 * swaps the shared page out on the way. */
	while (n < NF && (rc = simmm_pin_user_pages(mm, f + n * PS, 1, SIMMM_FOLL_WRITE,
						    &fill[n])) == 1)
		n++;
	assert_int_equal(rc, -ENOMEM);
	TU_CHECK(sim);
	assert_false(mx_tr(mm, a).present);
	assert_false(mx_tr(child, a).present);
	/* One free page. */
	assert_true(n > 0);
	n--;
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &fill[n], 1));
	TU_ASSERT_OK(simmm_madvise(mm, f + n * PS, PS, SIMMM_MADV_DONTNEED));
	TU_CHECK(sim);
	assert_int_equal(simmm_pin_user_pages(child, a, 1, 0, &pfn), -ENOMEM);
	TU_CHECK(sim);
	/* The page survived in the swap cache, mapped by the child. */
	assert_true(mx_tr(child, a).present);
	mx_expect(mm, a, 7);
	mx_expect(child, a, 7);
	TU_CHECK(sim);
	/* With memory back, the pin unshares. */
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, fill, n));
	assert_int_equal(simmm_pin_user_pages(child, a, 1, 0, &pfn), 1);
	TU_CHECK(sim);
	assert_int_equal(mx_tr(child, a).pfn, pfn);
	assert_int_not_equal(mx_tr(mm, a).pfn, pfn);
	mx_expect(child, a, 7);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pfn, 1));
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_put),
		cmocka_unit_test(test_pin_unpin),
		cmocka_unit_test(test_pin_thp_pincount),
		cmocka_unit_test(test_foll_write_breaks_cow),
		cmocka_unit_test(test_gup_errors),
		cmocka_unit_test(test_pin_unshare_source_not_reclaimed),
	};
	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
