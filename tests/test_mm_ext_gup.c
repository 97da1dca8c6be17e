// SPDX-License-Identifier: MIT
/*
 * GUP: get/pin/unpin with exact refcounts, FOLL_WRITE breaking COW, pins
 * unsharing COW pages (FAULT_FLAG_UNSHARE: reuse or a read-only copy, in
 * writable and read-only VMAs, from swap, the notifier event), FOLL_SPLIT_PMD,
 * FOLL_NOFAULT, FOLL_FORCE, the zero pages, bad input; fork copying pinned
 * pages for the child (small pages, THPs, hugetlb; out of memory).
 */
#include "test_mm_ext_util.h"

#include <simmm/mmu_notifier.h>

#define BIAS SIMMM_GUP_PIN_COUNTING_BIAS

static bool anon_exclusive(simmm_sim *sim, simmm_pfn_t pfn)
{
	return simmm__pfn_to_page(sim, pfn)->flags & PG_anon_exclusive;
}

/* What an unshare leaves: @t maps @pfn read-only and clean, and the page is
 * PG_anon_exclusive. */
static void assert_unshared(simmm_sim *sim, struct simmm_translation t, simmm_pfn_t pfn)
{
	assert_true(t.present);
	assert_int_equal(t.pfn, pfn);
	assert_false(t.write);
	assert_false(simmm_pte_dirty(t.entry));
	assert_true(anon_exclusive(sim, pfn));
}

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
 * must not free it from under the copy (do_wp_page() holds a reference on
 * the old folio across wp_page_copy()): the pin fails with -ENOMEM, as the
 * machine really is out of memory. Reclaimed and freed, the copy read a
 * freed page and GUP swapped the page in and lost it again until its
 * retries ran out: -EFAULT (found by fuzz_mm_ops). As upstream, reclaim
 * still unmaps the page (the copy's reference does not keep it mapped) and
 * writes it out; only __remove_mapping()'s refcount freeze fails, so the
 * page stays in the swap cache, where the next fault finds it.
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
	/* The page survived in the swap cache; the child's pte is a swap
	 * entry for it again, and both sides fault it back without I/O. */
	struct simmm_translation t = mx_tr(child, a);
	assert_false(t.present);
	assert_true(simmm_is_real_swap_entry(t.entry));
	assert_non_null(simmm__swap_cache_lookup(sim, simmm_pte_to_swp_entry(t.entry)));
	uint64_t major = mx_stats(child).major_faults + mx_stats(mm).major_faults;
	mx_expect(mm, a, 7);
	mx_expect(child, a, 7);
	assert_int_equal(mx_stats(child).major_faults + mx_stats(mm).major_faults, major);
	assert_true(mx_tr(child, a).present);
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

/*
 * FAULT_FLAG_UNSHARE (5.17+): a read pin of a page fork shared, in a
 * writable VMA, gets an exclusive copy mapped read-only and clean
 * (wp_page_copy() with unshare), not a write fault's writable, dirty one;
 * the child keeps the old page. The parent's next write reuses the pinned
 * copy: the pin and the page table stay coherent, no second copy.
 */
static void test_pin_unshare_copy_writable_vma(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, PS);
	simmm_pfn_t pfn = 0;
	uint8_t b = 0;

	mx_write(mm, a, 1);
	simmm_pfn_t orig = mx_tr(mm, a).pfn;
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	struct simmm_mm_stats st = mx_stats(mm);
	assert_int_equal(simmm_pin_user_pages(mm, a, 1, 0, &pfn), 1);
	TU_CHECK(sim);
	struct simmm_translation t = mx_tr(mm, a);
	assert_int_not_equal(pfn, orig);
	assert_unshared(sim, t, pfn);
	assert_int_equal(mx_page(sim, pfn).refcount, 1 + BIAS);
	assert_int_equal(mx_page(sim, pfn).mapcount, 1);
	assert_int_equal(mx_page(sim, orig).mapcount, 1);
	assert_int_equal(mx_stats(mm).cow_faults, st.cow_faults + 1);
	assert_int_equal(mx_tr(child, a).pfn, orig);
	mx_expect(child, a, 1);
	mx_expect(mm, a, 1);
	TU_CHECK(sim);
	/* The parent's write: reuse, the pinned page becomes writable. */
	st = mx_stats(mm);
	mx_write(mm, a, 2);
	TU_CHECK(sim);
	t = mx_tr(mm, a);
	assert_int_equal(t.pfn, pfn);
	assert_true(t.write);
	assert_true(simmm_pte_dirty(t.entry));
	assert_int_equal(mx_stats(mm).reuse_faults, st.reuse_faults + 1);
	assert_int_equal(mx_stats(mm).cow_faults, st.cow_faults);
	TU_ASSERT_OK(simmm_page_read(sim, pfn, 0, &b, 1));
	assert_int_equal(b, (uint8_t)(2 * 31));
	mx_expect(child, a, 1);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pfn, 1));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * The same in a PROT_READ VMA: the unshare fault is allowed without
 * VM_WRITE (a COW mapping) and copies, as upstream since 5.17; before,
 * the pin held the page the child shares.
 */
static void test_pin_unshare_copy_readonly_vma(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, PS);
	simmm_pfn_t pfn = 0;

	mx_write(mm, a, 1);
	simmm_pfn_t orig = mx_tr(mm, a).pfn;
	TU_ASSERT_OK(simmm_mprotect(mm, a, PS, SIMMM_PROT_READ));
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	assert_int_equal(simmm_pin_user_pages(mm, a, 1, 0, &pfn), 1);
	TU_CHECK(sim);
	struct simmm_translation t = mx_tr(mm, a);
	assert_int_not_equal(pfn, orig);
	assert_unshared(sim, t, pfn);
	assert_int_equal(mx_page(sim, orig).mapcount, 1);
	assert_int_equal(mx_tr(child, a).pfn, orig);
	mx_expect(mm, a, 1);
	mx_expect(child, a, 1);
	/* The child, writable again, now reuses the old page alone. */
	TU_ASSERT_OK(simmm_mprotect(child, a, PS, SIMMM_PROT_READ | SIMMM_PROT_WRITE));
	mx_write(child, a, 3);
	TU_CHECK(sim);
	assert_int_equal(mx_tr(child, a).pfn, orig);
	mx_expect(child, a, 3);
	mx_expect(mm, a, 1);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pfn, 1));
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * No copy where the page is ours: an exclusive page is pinned without a
 * fault; a page fork shared whose other user is gone is unshared by reuse
 * (marked exclusive, the entry left read-only and clean: no write fault).
 */
static void test_pin_unshare_reuse(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);
	simmm_pfn_t pfn = 0;

	mx_write(mm, a, 1);
	simmm_entry_t before = mx_tr(mm, a).entry;
	struct simmm_mm_stats st = mx_stats(mm);
	assert_int_equal(simmm_pin_user_pages(mm, a, 1, 0, &pfn), 1);
	TU_CHECK(sim);
	assert_int_equal(pfn, simmm_pte_pfn(before));
	assert_int_equal(mx_tr(mm, a).entry, before);
	assert_int_equal(mx_stats(mm).minor_faults, st.minor_faults);
	assert_int_equal(mx_page(sim, pfn).refcount, 1 + BIAS);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pfn, 1));
	/* Page 1: shared by fork, then the child unmaps it. */
	mx_write(mm, a + PS, 2);
	simmm_pfn_t orig = mx_tr(mm, a + PS).pfn;
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_ASSERT_OK(simmm_munmap(child, a + PS, PS));
	TU_CHECK(sim);
	before = mx_tr(mm, a + PS).entry;
	assert_false(simmm_pte_write(before));
	assert_false(anon_exclusive(sim, orig));
	st = mx_stats(mm);
	assert_int_equal(simmm_pin_user_pages(mm, a + PS, 1, 0, &pfn), 1);
	TU_CHECK(sim);
	assert_int_equal(pfn, orig);
	assert_true(anon_exclusive(sim, orig));
	assert_int_equal(mx_tr(mm, a + PS).entry, before);
	assert_int_equal(mx_stats(mm).cow_faults, st.cow_faults);
	assert_int_equal(mx_stats(mm).reuse_faults, st.reuse_faults); /* no PGREUSE */
	assert_int_equal(mx_stats(mm).minor_faults, st.minor_faults + 1);
	mx_expect(mm, a + PS, 2);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pfn, 1));
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * A read pin of a swapped-out page fork shared. do_swap_page() treats the
 * unshare as a read fault: the page comes back read-only and shared (its
 * swap entry was not exclusive); GUP's next round unshares it with a
 * read-only copy, the child's swap entry and the swap cache untouched.
 * When the child is gone first, the swapped-in page is reused instead.
 */
static void test_pin_unshare_swapped(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);
	simmm_pfn_t pfn = 0;
	uint64_t n = 0;

	mx_write(mm, a, 1);
	mx_write(mm, a + PS, 2);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	assert_int_equal(n, 2);
	TU_CHECK(sim);
	simmm_entry_t swp = simmm_pte_to_swp_entry(mx_tr(mm, a).entry);
	assert_false(simmm_pte_swp_exclusive(mx_tr(mm, a).entry));
	struct simmm_mm_stats st = mx_stats(mm);
	assert_int_equal(simmm_pin_user_pages(mm, a, 1, 0, &pfn), 1);
	TU_CHECK(sim);
	struct simmm_translation t = mx_tr(mm, a);
	assert_unshared(sim, t, pfn);
	assert_int_equal(mx_stats(mm).swapin_faults, st.swapin_faults + 1);
	assert_int_equal(mx_stats(mm).cow_faults, st.cow_faults + 1);
	/* The swapped-in page stays in the swap cache for the child. */
	assert_true(simmm_is_real_swap_entry(mx_tr(child, a).entry));
	assert_int_equal(simmm__swap_count(sim, swp), 1);
	struct simmm_page *cached = simmm__swap_cache_lookup(sim, swp);
	assert_non_null(cached);
	assert_int_not_equal(cached->pfn, pfn);
	mx_expect(mm, a, 1);
	mx_expect(child, a, 1);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pfn, 1));
	/* Page 1: the child exits first, the swap entry is the parent's alone
	 * but not exclusive: swapped in read-only, then reused. */
	TU_ASSERT_OK(simmm_mmput(child));
	TU_CHECK(sim);
	assert_false(simmm_pte_swp_exclusive(mx_tr(mm, a + PS).entry));
	st = mx_stats(mm);
	assert_int_equal(simmm_pin_user_pages(mm, a + PS, 1, 0, &pfn), 1);
	TU_CHECK(sim);
	t = mx_tr(mm, a + PS);
	assert_unshared(sim, t, pfn);
	assert_int_equal(mx_stats(mm).cow_faults, st.cow_faults);
	assert_int_equal(mx_stats(mm).swapin_faults, st.swapin_faults + 1);
	assert_int_equal(mx_swap_used(sim), 0);
	mx_expect(mm, a + PS, 2);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pfn, 1));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* A notifier watching the unshare: the event, the range, and that the
 * pte moves to the copy inside the bracket. */
struct unshare_log {
	struct simmm_mmu_notifier mn;
	struct simmm_mm *mm;
	simmm_addr_t addr;
	int nstart, nend;
	struct simmm_mmu_notifier_range last;
	simmm_pfn_t pfn_at_start, pfn_at_end;
};

static int unshare_log_start(struct simmm_mmu_notifier *mn,
			     const struct simmm_mmu_notifier_range *r)
{
	struct unshare_log *l = (struct unshare_log *)(void *)mn;

	l->nstart++;
	l->last = *r;
	l->pfn_at_start = mx_tr(l->mm, l->addr).pfn;
	return 0;
}

static void unshare_log_end(struct simmm_mmu_notifier *mn,
			    const struct simmm_mmu_notifier_range *r)
{
	struct unshare_log *l = (struct unshare_log *)(void *)mn;

	(void)r;
	l->nend++;
	l->pfn_at_end = mx_tr(l->mm, l->addr).pfn;
}

static const struct simmm_mmu_notifier_ops unshare_log_ops = {
	.invalidate_range_start = unshare_log_start,
	.invalidate_range_end = unshare_log_end,
};

/*
 * The unshare copy is bracketed by one MMU_NOTIFY_CLEAR invalidation of
 * the page, as upstream's wp_page_copy() does for COW and unshare alike;
 * an unshare that reuses the page changes no entry and notifies nothing.
 */
static void test_pin_unshare_notifier(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);
	struct unshare_log l;
	simmm_pfn_t pfn = 0;

	memset(&l, 0, sizeof(l));
	mx_write(mm, a, 1);
	mx_write(mm, a + PS, 2);
	simmm_pfn_t orig = mx_tr(mm, a).pfn;
	TU_ASSERT_OK(simmm_fork(mm, &child));
	l.mn.ops = &unshare_log_ops;
	l.mm = mm;
	l.addr = a;
	TU_ASSERT_OK(simmm_mmu_notifier_register(&l.mn, mm));
	assert_int_equal(simmm_pin_user_pages(mm, a, 1, 0, &pfn), 1);
	TU_CHECK(sim);
	assert_int_equal(l.nstart, 1);
	assert_int_equal(l.nend, 1);
	assert_int_equal(l.last.event, SIMMM_MMU_NOTIFY_CLEAR);
	assert_int_equal(l.last.start, a);
	assert_int_equal(l.last.end, a + PS);
	assert_ptr_equal(l.last.mm, mm);
	assert_int_equal(l.pfn_at_start, orig);
	assert_int_equal(l.pfn_at_end, pfn);
	assert_int_not_equal(pfn, orig);
	assert_false(mx_tr(mm, a).write);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pfn, 1));
	/* Reuse: the child's side is gone, nothing to invalidate. */
	TU_ASSERT_OK(simmm_munmap(child, a + PS, PS));
	l.nstart = l.nend = 0;
	assert_int_equal(simmm_pin_user_pages(mm, a + PS, 1, 0, &pfn), 1);
	TU_CHECK(sim);
	assert_true(anon_exclusive(sim, pfn));
	assert_int_equal(l.nstart, 0);
	assert_int_equal(l.nend, 0);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pfn, 1));
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&l.mn, mm));
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * handle_mm_fault(FAULT_FLAG_UNSHARE) itself. sanitize_fault_flags(): with
 * FAULT_FLAG_WRITE it is a WARN and SIGSEGV; outside a COW mapping it is
 * an ordinary read fault (a PROT_READ shared page stays read-only, where
 * do_wp_page() would have made it writable). In a COW mapping do_wp_page()
 * breaks COW on anything but an exclusive anonymous page (6.2, "mm: extend
 * FAULT_FLAG_UNSHARE support to anything in a COW mapping"): the zero page
 * and a page-cache page give way to read-only anonymous copies.
 */
static void test_unshare_fault_flags(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = NULL;
	simmm_addr_t z = mx_anon(mm, 0, PS), sh = 0, pr = 0;
	struct simmm_translation t;
	uint8_t v = 'a';

	TU_ASSERT_OK(simmm_file_create(sim, PS, 0, &f));
	assert_int_equal(simmm_file_pwrite(f, &v, 1, 0), 1);
	TU_ASSERT_OK(simmm_mmap(mm, 0, PS, SIMMM_PROT_READ, SIMMM_MAP_SHARED, f, 0, &sh));
	TU_ASSERT_OK(simmm_mmap(mm, 0, PS, SIMMM_PROT_READ, SIMMM_MAP_PRIVATE, f, 0, &pr));
	mx_expect_zero(mm, z);
	TU_ASSERT_OK(simmm_mm_access(mm, sh, &v, 1, SIMMM_ACCESS_READ));
	TU_ASSERT_OK(simmm_mm_access(mm, pr, &v, 1, SIMMM_ACCESS_READ));
	TU_CHECK(sim);
	simmm_pfn_t cache = mx_tr(mm, pr).pfn;
	simmm_entry_t sh_before = mx_tr(mm, sh).entry;
	struct simmm_mm_stats st = mx_stats(mm);
	TU_ASSERT_OK(simmm_mmap_read_lock(mm));
	assert_int_equal(simmm_handle_mm_fault(mm, z, SIMMM_FAULT_FLAG_UNSHARE |
						      SIMMM_FAULT_FLAG_WRITE),
			 SIMMM_VM_FAULT_SIGSEGV);
	assert_int_equal(simmm_reports_count(sim, SIMMM_REPORT_WARN), 1);
	simmm_reports_clear(sim);
	assert_int_equal(mx_tr(mm, z).pfn, simmm_zero_pfn(sim));
	assert_int_equal(simmm_handle_mm_fault(mm, sh, SIMMM_FAULT_FLAG_UNSHARE), 0);
	assert_int_equal(simmm_handle_mm_fault(mm, z, SIMMM_FAULT_FLAG_UNSHARE), 0);
	assert_int_equal(simmm_handle_mm_fault(mm, pr, SIMMM_FAULT_FLAG_UNSHARE), 0);
	TU_ASSERT_OK(simmm_mmap_read_unlock(mm));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, sh).entry & ~SIMMM_E_YOUNG, sh_before & ~SIMMM_E_YOUNG);
	t = mx_tr(mm, z);
	assert_int_not_equal(t.pfn, simmm_zero_pfn(sim));
	assert_false(t.write);
	assert_false(simmm_pte_dirty(t.entry));
	assert_true(anon_exclusive(sim, t.pfn));
	t = mx_tr(mm, pr);
	assert_int_not_equal(t.pfn, cache);
	assert_false(t.write);
	assert_true(simmm__pfn_to_page(sim, t.pfn)->flags & PG_anon);
	assert_true(anon_exclusive(sim, t.pfn));
	assert_int_equal(mx_stats(mm).rss_anon, st.rss_anon + 2);
	assert_int_equal(mx_stats(mm).rss_file, st.rss_file - 1);
	/* The private copy no longer follows the file. */
	v = 'b';
	assert_int_equal(simmm_file_pwrite(f, &v, 1, 0), 1);
	TU_ASSERT_OK(simmm_mm_access(mm, sh, &v, 1, SIMMM_ACCESS_READ));
	assert_int_equal(v, 'b');
	TU_ASSERT_OK(simmm_mm_access(mm, pr, &v, 1, SIMMM_ACCESS_READ));
	assert_int_equal(v, 'a');
	mx_expect_zero(mm, z);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* A PMD-mapped THP written at @a: its head pfn. */
static simmm_pfn_t thp_at(struct simmm_mm *mm, simmm_addr_t a, unsigned tag)
{
	TU_ASSERT_OK(simmm_madvise(mm, a, 2 * MIB, SIMMM_MADV_HUGEPAGE));
	mx_write(mm, a, tag);
	mx_write(mm, a + PS, tag + 1);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PMD);
	return mx_tr(mm, a).pfn;
}

static bool thp_all_exclusive(simmm_sim *sim, simmm_pfn_t head)
{
	for (uint64_t i = 0; i < 512; i++)
		if (!anon_exclusive(sim, head + i))
			return false;
	return true;
}

/*
 * Unshare on a PMD-mapped THP (do_huge_pmd_wp_page() with unshare). Shared
 * after fork: the PMD is split and the PTE path copies the one small page,
 * read-only. Alone again (the child unmapped it): the THP is marked
 * exclusive and the PMD left as it was, in a writable VMA and a PROT_READ
 * one alike; a later write reuses it whole. A FOLL_FORCE write into a
 * PROT_READ VMA reuses a THP nobody else maps too, without making the PMD
 * writable (maybe_pmd_mkwrite()).
 */
static void test_pin_unshare_thp(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon_aligned(mm, 2 * MIB, 8 * MIB);
	simmm_addr_t b = a + 2 * MIB, c = a + 4 * MIB, d = a + 6 * MIB;
	simmm_pfn_t pfn = 0;

	simmm_pfn_t ha = thp_at(mm, a, 1), hb = thp_at(mm, b, 3), hc = thp_at(mm, c, 5);
	simmm_pfn_t hd = thp_at(mm, d, 7);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_ASSERT_OK(simmm_munmap(child, b, 6 * MIB));
	TU_ASSERT_OK(simmm_mprotect(mm, c, 4 * MIB, SIMMM_PROT_READ));
	TU_CHECK(sim);
	/* Shared: split, one small read-only copy. */
	assert_int_equal(simmm_pin_user_pages(mm, a + PS, 1, 0, &pfn), 1);
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PTE);
	assert_int_equal(mx_tr(mm, a).pfn, ha);
	struct simmm_translation t = mx_tr(mm, a + PS);
	assert_true(pfn < ha || pfn >= ha + 512);
	assert_unshared(sim, t, pfn);
	assert_int_equal(mx_tr(child, a).level, SIMMM_LVL_PMD);
	assert_int_equal(mx_tr(child, a + PS).pfn, ha + 1);
	mx_expect(mm, a + PS, 2);
	mx_expect(child, a + PS, 2);
	mx_expect(mm, a, 1);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pfn, 1));
	/* Alone, writable VMA: exclusive, the PMD untouched. */
	simmm_entry_t before = mx_tr(mm, b).entry;
	assert_false(simmm_pte_write(before));
	assert_false(thp_all_exclusive(sim, hb));
	assert_int_equal(simmm_pin_user_pages(mm, b + PS, 1, 0, &pfn), 1);
	TU_CHECK(sim);
	assert_int_equal(pfn, hb + 1);
	assert_int_equal(mx_tr(mm, b).level, SIMMM_LVL_PMD);
	assert_int_equal(mx_tr(mm, b).entry, before);
	assert_true(thp_all_exclusive(sim, hb));
	assert_int_equal(mx_page(sim, hb).pincount, 1);
	struct simmm_mm_stats st = mx_stats(mm);
	mx_write(mm, b + 2 * PS, 9);
	TU_CHECK(sim);
	assert_true(mx_tr(mm, b).write);
	assert_int_equal(mx_tr(mm, b).pfn, hb);
	assert_int_equal(mx_stats(mm).reuse_faults, st.reuse_faults + 1);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pfn, 1));
	/* Alone, PROT_READ VMA: the same. */
	before = mx_tr(mm, c).entry;
	assert_int_equal(simmm_pin_user_pages(mm, c, 1, 0, &pfn), 1);
	TU_CHECK(sim);
	assert_int_equal(pfn, hc);
	assert_int_equal(mx_tr(mm, c).level, SIMMM_LVL_PMD);
	assert_int_equal(mx_tr(mm, c).entry, before);
	assert_true(thp_all_exclusive(sim, hc));
	mx_expect(mm, c + PS, 6);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pfn, 1));
	/* FOLL_FORCE write, PROT_READ VMA: reused, dirty, still read-only. */
	assert_int_equal(simmm_get_user_pages(mm, d, 1, SIMMM_FOLL_WRITE | SIMMM_FOLL_FORCE, &pfn),
			 1);
	TU_CHECK(sim);
	assert_int_equal(pfn, hd);
	t = mx_tr(mm, d);
	assert_int_equal(t.level, SIMMM_LVL_PMD);
	assert_false(t.write);
	assert_true(simmm_pte_dirty(t.entry));
	assert_true(thp_all_exclusive(sim, hd));
	TU_ASSERT_OK(simmm_put_user_pages(sim, &pfn, 1));
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * FOLL_FORCE writes into a PROT_READ private VMA (ptrace): a page fork
 * shared is copied, a page nobody else maps is reused; either way the
 * entry is dirty but stays read-only (maybe_mkwrite()) and GUP follows it
 * (can_follow_write_pte()). The reuse used to make the entry writable.
 */
static void test_force_write_readonly_vma(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);
	simmm_pfn_t pfn = 0;
	uint8_t v = 0x5a;

	mx_write(mm, a, 1);
	mx_write(mm, a + PS, 2);
	simmm_pfn_t orig0 = mx_tr(mm, a).pfn, orig1 = mx_tr(mm, a + PS).pfn;
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_ASSERT_OK(simmm_munmap(child, a + PS, PS));
	TU_ASSERT_OK(simmm_mprotect(mm, a, 2 * PS, SIMMM_PROT_READ));
	TU_CHECK(sim);
	for (int i = 0; i < 2; i++) {
		simmm_addr_t at = a + (simmm_addr_t)i * PS;

		assert_int_equal(simmm_get_user_pages(mm, at, 1, SIMMM_FOLL_WRITE | SIMMM_FOLL_FORCE,
						      &pfn), 1);
		TU_CHECK(sim);
		struct simmm_translation t = mx_tr(mm, at);
		assert_int_equal(t.pfn, pfn);
		assert_false(t.write);
		assert_true(simmm_pte_dirty(t.entry));
		assert_true(anon_exclusive(sim, pfn));
		if (i == 0)
			assert_int_not_equal(pfn, orig0);
		else
			assert_int_equal(pfn, orig1);
		TU_ASSERT_OK(simmm_page_write(sim, pfn, 0, &v, 1));
		TU_ASSERT_OK(simmm_put_user_pages(sim, &pfn, 1));
	}
	TU_ASSERT_OK(simmm_mm_access(mm, a + PS, &v, 1, SIMMM_ACCESS_READ));
	assert_int_equal(v, 0x5a);
	mx_expect(child, a, 1);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * Unshare of private hugetlb pages (hugetlb_wp() with unshare): shared
 * after fork, the whole huge page is copied and mapped read-only and clean;
 * alone again, it is marked exclusive and its entry left as it was. The
 * parent's later write reuses the pinned copy.
 */
static void test_pin_unshare_hugetlb(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim("x86_64-4level", 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = 0, b;
	simmm_pfn_t pfn = 0;

	TU_ASSERT_OK(simmm_mmap(mm, 0, 4 * MIB, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_HUGETLB |
					(21 << SIMMM_MAP_HUGE_SHIFT),
				NULL, 0, &a));
	b = a + 2 * MIB;
	mx_write(mm, a + PS, 1);
	mx_write(mm, b, 2);
	simmm_pfn_t ha = mx_tr(mm, a).pfn, hb = mx_tr(mm, b).pfn;
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PMD);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_ASSERT_OK(simmm_munmap(child, b, 2 * MIB));
	TU_CHECK(sim);
	struct simmm_mm_stats st = mx_stats(mm);
	assert_int_equal(simmm_pin_user_pages(mm, a + PS, 1, 0, &pfn), 1);
	TU_CHECK(sim);
	struct simmm_translation t = mx_tr(mm, a);
	assert_int_equal(t.level, SIMMM_LVL_PMD);
	assert_int_not_equal(t.pfn, ha);
	assert_int_equal(pfn, t.pfn + 1);
	assert_false(t.write);
	assert_false(simmm_pte_dirty(t.entry));
	assert_true(anon_exclusive(sim, t.pfn) && anon_exclusive(sim, pfn));
	assert_int_equal(mx_stats(mm).cow_faults, st.cow_faults + 1);
	assert_int_equal(mx_tr(child, a).pfn, ha);
	mx_expect(mm, a + PS, 1);
	mx_expect(child, a + PS, 1);
	st = mx_stats(mm);
	mx_write(mm, a, 3);
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a).pfn, pfn - 1);
	assert_true(mx_tr(mm, a).write);
	assert_int_equal(mx_stats(mm).reuse_faults, st.reuse_faults + 1);
	mx_expect_zero(child, a);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pfn, 1));
	/* Alone: exclusive, entry untouched. */
	simmm_entry_t before = mx_tr(mm, b).entry;
	assert_false(simmm_pte_write(before));
	assert_int_equal(simmm_pin_user_pages(mm, b, 1, 0, &pfn), 1);
	TU_CHECK(sim);
	assert_int_equal(pfn, hb);
	assert_int_equal(mx_tr(mm, b).entry, before);
	assert_true(anon_exclusive(sim, hb));
	mx_expect(mm, b, 2);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pfn, 1));
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * R/O FOLL_LONGTERM pins in COW mappings (6.2, "mm/gup: reliable R/O
 * long-term pinning in COW mappings"): the zero page and a page-cache page
 * of a private file mapping are unshared into exclusive anonymous copies
 * mapped read-only, so that a later write cannot replace what the pin holds
 * (it reuses the copy). The huge zero page is unshared into a whole new THP
 * since v6.13 ("mm: Allocate THP on hugezeropage wp-fault"), which
 * do_huge_zero_wp_pmd() maps dirty and writable (VM_WRITE) for an unshare
 * as for a write. A short-term pin keeps the zero page (snapshot
 * semantics); a shared mapping keeps its page-cache page.
 */
static void test_pin_longterm_unshare_cow(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = NULL;
	simmm_addr_t z = mx_anon(mm, 0, PS), h = mx_anon_aligned(mm, 2 * MIB, 2 * MIB);
	simmm_addr_t pr = 0, sh = 0;
	simmm_pfn_t pfn = 0, pins[4];
	struct simmm_translation t;
	uint8_t v = 'a';

	TU_ASSERT_OK(simmm_file_create(sim, PS, 0, &f));
	assert_int_equal(simmm_file_pwrite(f, &v, 1, 0), 1);
	TU_ASSERT_OK(simmm_mmap(mm, 0, PS, SIMMM_PROT_READ | SIMMM_PROT_WRITE, SIMMM_MAP_PRIVATE,
				f, 0, &pr));
	TU_ASSERT_OK(simmm_mmap(mm, 0, PS, SIMMM_PROT_READ | SIMMM_PROT_WRITE, SIMMM_MAP_SHARED,
				f, 0, &sh));
	TU_ASSERT_OK(simmm_madvise(mm, h, 2 * MIB, SIMMM_MADV_HUGEPAGE));
	mx_expect_zero(mm, z);
	mx_expect_zero(mm, h);
	assert_int_equal(mx_tr(mm, h).level, SIMMM_LVL_PMD);
	assert_true(simmm__is_huge_zero_pfn(sim, mx_tr(mm, h).pfn));
	TU_ASSERT_OK(simmm_mm_access(mm, pr, &v, 1, SIMMM_ACCESS_READ));
	TU_ASSERT_OK(simmm_mm_access(mm, sh, &v, 1, SIMMM_ACCESS_READ));
	simmm_pfn_t cache = mx_tr(mm, sh).pfn;
	assert_int_equal(mx_tr(mm, pr).pfn, cache);
	TU_CHECK(sim);
	/* Short-term: the zero page itself. */
	assert_int_equal(simmm_pin_user_pages(mm, z, 1, 0, &pfn), 1);
	assert_int_equal(pfn, simmm_zero_pfn(sim));
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pfn, 1));
	/* Long-term: copies, read-only. */
	assert_int_equal(simmm_pin_user_pages(mm, z, 1, SIMMM_FOLL_LONGTERM, &pins[0]), 1);
	assert_int_equal(simmm_pin_user_pages(mm, pr, 1, SIMMM_FOLL_LONGTERM, &pins[1]), 1);
	assert_int_equal(simmm_pin_user_pages(mm, sh, 1, SIMMM_FOLL_LONGTERM, &pins[2]), 1);
	assert_int_equal(simmm_pin_user_pages(mm, h + PS, 1, SIMMM_FOLL_LONGTERM, &pins[3]), 1);
	TU_CHECK(sim);
	simmm_addr_t at[4] = {z, pr, sh, h + PS};
	for (int i = 0; i < 4; i++) {
		t = mx_tr(mm, at[i]);
		assert_int_equal(t.pfn, pins[i]);
		if (i == 2) { /* shared: the page-cache page */
			assert_int_equal(pins[i], cache);
			assert_int_equal(mx_page(sim, pins[i]).refcount, 1 + BIAS + 1);
			continue;
		}
		if (i == 3) { /* the huge zero page: a THP, pinned once */
			assert_int_equal(t.level, SIMMM_LVL_PMD);
			assert_true(t.write);
			assert_true(simmm_pte_dirty(t.entry));
			assert_int_equal(mx_page(sim, pins[i]).refcount, 1 + 1);
			assert_int_equal(mx_page(sim, pins[i]).pincount, 1);
			assert_true(anon_exclusive(sim, pins[i]));
			continue;
		}
		assert_int_equal(mx_page(sim, pins[i]).refcount, 1 + BIAS);
		assert_false(t.write);
		assert_false(simmm_pte_dirty(t.entry));
		assert_true(simmm__pfn_to_page(sim, pins[i])->flags & PG_anon);
		assert_true(anon_exclusive(sim, pins[i]));
	}
	assert_int_not_equal(pins[0], simmm_zero_pfn(sim));
	assert_int_not_equal(pins[1], cache);
	assert_false(simmm__is_huge_zero_pfn(sim, pins[3]));
	assert_int_equal(mx_tr(mm, h).pfn, pins[3] - 1); /* the THP's head */
	assert_int_equal(mx_page(sim, pins[3]).order, 9);
	mx_expect_zero(mm, h);
	/* The private copy no longer follows the file; the shared page does. */
	v = 'b';
	assert_int_equal(simmm_file_pwrite(f, &v, 1, 0), 1);
	TU_ASSERT_OK(simmm_page_read(sim, pins[1], 0, &v, 1));
	assert_int_equal(v, 'a');
	TU_ASSERT_OK(simmm_page_read(sim, pins[2], 0, &v, 1));
	assert_int_equal(v, 'b');
	/* A write reuses the pinned copy: the pin keeps seeing the memory. */
	mx_write(mm, z, 5);
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, z).pfn, pins[0]);
	TU_ASSERT_OK(simmm_page_read(sim, pins[0], 0, &v, 1));
	assert_int_equal(v, (uint8_t)(5 * 31));
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, pins, 4));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * fork with DMA-pinned exclusive small pages (copy_present_page()): the
 * child gets its own copy at once, so that no later COW can take a pinned
 * page away from the parent. The copy is mapped maybe_mkwrite(pte_mkdirty()):
 * writable and dirty where the VMA has VM_WRITE, whatever the parent's entry
 * (page 1 is read-only, left so by an unshare), dirty but read-only where it
 * does not (page 2, written by FOLL_FORCE). The parent's entries and pins
 * are untouched, and the pins keep seeing what the parent maps.
 */
static void test_fork_copies_pinned_pages(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *other = NULL, *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS), r = 0;
	simmm_pfn_t pins[3], pfn = 0;
	simmm_entry_t before[3];
	uint8_t v = 0x77;

	TU_ASSERT_OK(simmm_mmap(mm, 0, PS, SIMMM_PROT_READ, SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS,
				NULL, 0, &r));
	simmm_addr_t at[3] = {a, a + PS, r};
	mx_write(mm, a, 1);
	mx_write(mm, a + PS, 2);
	TU_ASSERT_OK(simmm_fork(mm, &other));
	/* Page 0: a write pin breaks COW (writable, dirty); page 1: a read
	 * pin unshares (read-only, clean); page 2: FOLL_FORCE, read-only. */
	assert_int_equal(simmm_pin_user_pages(mm, at[0], 1, SIMMM_FOLL_WRITE | SIMMM_FOLL_LONGTERM,
					      &pins[0]), 1);
	assert_int_equal(simmm_pin_user_pages(mm, at[1], 1, SIMMM_FOLL_LONGTERM, &pins[1]), 1);
	assert_int_equal(simmm_get_user_pages(mm, r, 1, SIMMM_FOLL_WRITE | SIMMM_FOLL_FORCE, &pfn),
			 1);
	TU_ASSERT_OK(simmm_page_write(sim, pfn, 0, &v, 1));
	TU_ASSERT_OK(simmm_put_user_pages(sim, &pfn, 1));
	assert_int_equal(simmm_pin_user_pages(mm, r, 1, SIMMM_FOLL_LONGTERM, &pins[2]), 1);
	TU_ASSERT_OK(simmm_mmput(other));
	TU_CHECK(sim);
	for (int i = 0; i < 3; i++) {
		before[i] = mx_tr(mm, at[i]).entry;
		assert_true(anon_exclusive(sim, pins[i]));
	}
	assert_true(simmm_pte_write(before[0]));
	assert_false(simmm_pte_write(before[1]));
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	for (int i = 0; i < 3; i++) {
		struct simmm_translation t = mx_tr(child, at[i]);

		assert_int_equal(mx_tr(mm, at[i]).entry, before[i]);
		assert_int_equal(mx_tr(mm, at[i]).pfn, pins[i]);
		assert_true(anon_exclusive(sim, pins[i]));
		assert_int_equal(mx_page(sim, pins[i]).refcount, 1 + BIAS);
		assert_int_equal(mx_page(sim, pins[i]).mapcount, 1);
		assert_true(t.present);
		assert_int_not_equal(t.pfn, pins[i]);
		assert_true(anon_exclusive(sim, t.pfn));
		assert_int_equal(mx_page(sim, t.pfn).refcount, 1);
		assert_int_equal(mx_page(sim, t.pfn).mapcount, 1);
		assert_true(simmm_pte_dirty(t.entry));
		assert_int_equal(t.write, i < 2);
	}
	assert_int_equal(mx_stats(child).rss_anon, 3);
	mx_expect(child, a, 1);
	mx_expect(child, a + PS, 2);
	TU_ASSERT_OK(simmm_mm_access(child, r, &v, 1, SIMMM_ACCESS_READ));
	assert_int_equal(v, 0x77);
	/* The child's writes need no fault and stay in the child. */
	mx_write(child, a, 3);
	mx_write(child, a + PS, 4);
	assert_int_equal(mx_stats(child).cow_faults, 0);
	assert_int_equal(mx_stats(child).reuse_faults, 0);
	mx_expect(mm, a, 1);
	mx_expect(mm, a + PS, 2);
	/* A DMA write through the pin is the parent's memory alone. */
	v = 0x5a;
	TU_ASSERT_OK(simmm_page_write(sim, pins[0], 0, &v, 1));
	TU_ASSERT_OK(simmm_mm_access(mm, a, &v, 1, SIMMM_ACCESS_READ));
	assert_int_equal(v, 0x5a);
	mx_expect(child, a, 3);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, pins, 3));
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * folio_needs_cow_for_dma() asks MMF_HAS_PINNED first: a small folio with
 * GUP_PIN_COUNTING_BIAS plain references "may be pinned", but in an mm
 * that never pinned fork shares it copy-on-write; once the mm has pinned
 * anything (the flag is sticky and not inherited), the same page is
 * copied for the child.
 */
static void test_fork_has_pinned_flag(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL, *grandchild = NULL;
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);
	simmm_pfn_t held, pin;
	struct simmm_translation t;

	mx_write(mm, a, 1);
	mx_write(mm, a + PS, 2);
	held = mx_tr(mm, a).pfn;
	for (int i = 0; i < BIAS; i++)
		TU_ASSERT_OK(simmm_page_get(sim, held));
	assert_true(anon_exclusive(sim, held));
	TU_CHECK(sim);
	/* Never pinned: shared. */
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	t = mx_tr(child, a);
	assert_int_equal(t.pfn, held);
	assert_false(t.write);
	assert_false(anon_exclusive(sim, held));
	assert_int_equal(mx_page(sim, held).mapcount, 2);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_CHECK(sim);
	/* The parent's write copies (the page is its alone again, but the
	 * references make do_wp_page() copy): a fresh exclusive page. */
	mx_write(mm, a, 3);
	assert_int_not_equal(mx_tr(mm, a).pfn, held);
	for (int i = 0; i < BIAS - 1; i++)
		assert_true(simmm_page_put(sim, held) > 0);
	assert_int_equal(mx_page(sim, held).refcount, 1); /* the last one is ours */
	assert_int_equal(simmm_page_put(sim, held), 0);
	held = mx_tr(mm, a).pfn;
	for (int i = 0; i < BIAS; i++)
		TU_ASSERT_OK(simmm_page_get(sim, held));
	assert_true(anon_exclusive(sim, held));
	/* A pin of page 1 sets MMF_HAS_PINNED: page 0 is copied now. */
	assert_int_equal(simmm_pin_user_pages(mm, a + PS, 1, 0, &pin), 1);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pin, 1));
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	t = mx_tr(child, a);
	assert_int_not_equal(t.pfn, held);
	assert_true(anon_exclusive(sim, held));
	assert_int_equal(mx_page(sim, held).mapcount, 1);
	mx_expect(child, a, 3);
	/* Page 1 (no longer pinned) is shared. */
	assert_int_equal(mx_tr(child, a + PS).pfn, mx_tr(mm, a + PS).pfn);
	/* Not inherited: the child never pinned, so its fork shares even a
	 * page with the bias of references. */
	simmm_pfn_t cp = t.pfn;

	for (int i = 0; i < BIAS; i++)
		TU_ASSERT_OK(simmm_page_get(sim, cp));
	TU_ASSERT_OK(simmm_fork(child, &grandchild));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(grandchild, a).pfn, cp);
	for (int i = 0; i < BIAS; i++) {
		assert_true(simmm_page_put(sim, held) > 0);
		assert_true(simmm_page_put(sim, cp) > 0);
	}
	TU_ASSERT_OK(simmm_mmput(grandchild));
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * The pinned page's copy keeps the parent's uffd-wp bit in a VMA that keeps
 * uffd-wp (copy_present_page(), and hugetlb_install_folio() for a huge
 * page), write-protected as pte_mkuffd_wp() makes it; elsewhere the fresh
 * entry has none. simmm has no userfaultfd API: the test sets VM_UFFD_WP
 * and the bit by hand.
 */
static void test_fork_pinned_page_uffd_wp(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim("x86_64-4level", 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, 3 * PS), b = a + 2 * PS, h = 0;
	simmm_pfn_t pins[3];

	TU_ASSERT_OK(simmm_munmap(mm, a + PS, PS)); /* two VMAs */
	TU_ASSERT_OK(simmm_mmap(mm, 0, 2 * MIB, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_HUGETLB |
					(21 << SIMMM_MAP_HUGE_SHIFT),
				NULL, 0, &h));
	simmm_addr_t at[3] = {a, b, h};
	for (int i = 0; i < 3; i++) {
		mx_write(mm, at[i], (unsigned)i + 1);
		assert_int_equal(simmm_pin_user_pages(mm, at[i], 1, SIMMM_FOLL_WRITE, &pins[i]), 1);
		struct simmm_translation t = mx_tr(mm, at[i]);
		TU_ASSERT_OK(simmm_pgtable_set(simmm_mm_pgtable(mm), at[i], t.level,
					       simmm_pte_mkuffd_wp(t.entry)));
	}
	simmm__vma_lookup(mm, a)->vm_flags |= SIMMM_VM_UFFD_WP;
	simmm__vma_lookup(mm, h)->vm_flags |= SIMMM_VM_UFFD_WP;
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	for (int i = 0; i < 3; i++) {
		struct simmm_translation t = mx_tr(child, at[i]);

		assert_true(t.present);
		assert_int_not_equal(t.pfn, pins[i]);
		assert_int_equal(simmm_pte_uffd_wp(t.entry), i != 1);
		assert_int_equal(t.write, i == 1);
	}
	assert_int_equal(mx_tr(child, h).level, SIMMM_LVL_PMD);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, pins, 3));
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* Every notifier call on the parent during a fork, in order. */
struct fork_event {
	bool start;
	int event;
	simmm_addr_t start_addr, end_addr;
};

struct fork_log {
	struct simmm_mmu_notifier mn;
	int n;
	struct fork_event ev[8];
};

static void fork_log_add(struct simmm_mmu_notifier *mn, const struct simmm_mmu_notifier_range *r,
			 bool start)
{
	struct fork_log *l = (struct fork_log *)(void *)mn;

	if (l->n < 8)
		l->ev[l->n] = (struct fork_event){start, r->event, r->start, r->end};
	l->n++;
}

static int fork_log_start(struct simmm_mmu_notifier *mn, const struct simmm_mmu_notifier_range *r)
{
	fork_log_add(mn, r, true);
	return 0;
}

static void fork_log_end(struct simmm_mmu_notifier *mn, const struct simmm_mmu_notifier_range *r)
{
	fork_log_add(mn, r, false);
}

static const struct simmm_mmu_notifier_ops fork_log_ops = {
	.invalidate_range_start = fork_log_start,
	.invalidate_range_end = fork_log_end,
};

static void assert_fork_event(const struct fork_log *l, int i, bool start, int event,
			      simmm_addr_t s, simmm_addr_t e)
{
	assert_int_equal(l->ev[i].start, start);
	assert_int_equal(l->ev[i].event, event);
	assert_int_equal(l->ev[i].start_addr, s);
	assert_int_equal(l->ev[i].end_addr, e);
}

/*
 * fork with a DMA-pinned, anon-exclusive THP mapped by a PMD. copy_huge_pmd()
 * will not share it: it splits the parent's PMD (a CLEAR invalidation of the
 * PMD inside fork's PROTECTION_PAGE one) and copy_pte_range() gives the
 * child a small copy of every exclusive page, the whole folio being maybe
 * pinned, not only the two pinned pages. The parent keeps its folio, large,
 * exclusive, writable, now PTE-mapped, and its pins; writes stay on their
 * side and the pinned frames stay the parent's memory. The THP next to it,
 * not pinned, is still shared by one read-only PMD.
 */
static void test_fork_pinned_thp(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon_aligned(mm, 2 * MIB, 4 * MIB), b = a + 2 * MIB;
	simmm_pfn_t pins[2], ha = thp_at(mm, a, 1), hb = thp_at(mm, b, 3);
	struct fork_log l;
	uint8_t v = 0;

	mx_write(mm, a + 511 * PS, 5);
	assert_int_equal(simmm_pin_user_pages(mm, a + PS, 2, SIMMM_FOLL_WRITE | SIMMM_FOLL_LONGTERM,
					      pins), 2);
	assert_int_equal(pins[0], ha + 1);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PMD);
	assert_true(thp_all_exclusive(sim, ha));
	TU_CHECK(sim);
	memset(&l, 0, sizeof(l));
	l.mn.ops = &fork_log_ops;
	TU_ASSERT_OK(simmm_mmu_notifier_register(&l.mn, mm));
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&l.mn, mm));
	assert_int_equal(l.n, 4);
	assert_fork_event(&l, 0, true, SIMMM_MMU_NOTIFY_PROTECTION_PAGE, a, a + 4 * MIB);
	assert_fork_event(&l, 1, true, SIMMM_MMU_NOTIFY_CLEAR, a, a + 2 * MIB);
	assert_fork_event(&l, 2, false, SIMMM_MMU_NOTIFY_CLEAR, a, a + 2 * MIB);
	assert_fork_event(&l, 3, false, SIMMM_MMU_NOTIFY_PROTECTION_PAGE, a, a + 4 * MIB);
	/* The parent: the same folio, split, pinned, exclusive, writable. */
	struct simmm_page_info pi = mx_page(sim, ha);
	assert_int_equal(pi.order, 9);
	assert_int_equal(pi.refcount, 512 + 2);
	assert_int_equal(pi.pincount, 2);
	for (uint64_t i = 0; i < 512; i++) {
		struct simmm_translation t = mx_tr(mm, a + i * PS), ct = mx_tr(child, a + i * PS);

		assert_int_equal(t.level, SIMMM_LVL_PTE);
		assert_int_equal(t.pfn, ha + i);
		assert_true(t.write);
		assert_true(anon_exclusive(sim, ha + i));
		assert_int_equal(mx_page(sim, ha + i).mapcount, 1);
		/* The child: a small exclusive copy of each page, writable. */
		assert_int_equal(ct.level, SIMMM_LVL_PTE);
		assert_true(ct.present && ct.write && simmm_pte_dirty(ct.entry));
		assert_true(ct.pfn < ha || ct.pfn >= ha + 512);
		pi = mx_page(sim, ct.pfn);
		assert_int_equal(pi.order, 0);
		assert_int_equal(pi.refcount, 1);
		assert_int_equal(pi.mapcount, 1);
		assert_true(anon_exclusive(sim, ct.pfn));
	}
	assert_int_equal(mx_stats(mm).rss_anon, 1024);
	assert_int_equal(mx_stats(child).rss_anon, 1024);
	/* The THP nobody pinned: one read-only PMD on both sides. */
	assert_int_equal(mx_tr(child, b).level, SIMMM_LVL_PMD);
	assert_int_equal(mx_tr(child, b).pfn, hb);
	assert_int_equal(mx_tr(mm, b).level, SIMMM_LVL_PMD);
	assert_false(mx_tr(mm, b).write);
	assert_false(mx_tr(child, b).write);
	assert_int_equal(mx_page(sim, hb).refcount, 2);
	assert_false(anon_exclusive(sim, hb));
	mx_expect(child, b + PS, 4);
	/* Same contents in other frames; writes stay on their side, and
	 * neither side's write faults. */
	mx_expect(child, a, 1);
	mx_expect(child, a + PS, 2);
	mx_expect(child, a + 511 * PS, 5);
	mx_expect_zero(child, a + 2 * PS);
	struct simmm_mm_stats pst = mx_stats(mm), cst = mx_stats(child);
	mx_write(child, a + PS, 7);
	mx_write(mm, a + 511 * PS, 8);
	TU_CHECK(sim);
	assert_int_equal(mx_stats(child).cow_faults, cst.cow_faults);
	assert_int_equal(mx_stats(mm).cow_faults, pst.cow_faults);
	assert_int_equal(mx_stats(mm).reuse_faults, pst.reuse_faults);
	assert_int_equal(mx_tr(mm, a + 511 * PS).pfn, ha + 511);
	mx_expect(mm, a + PS, 2);
	mx_expect(child, a + 511 * PS, 5);
	/* The pins are the parent's memory, both ways. */
	v = 0xa5;
	TU_ASSERT_OK(simmm_page_write(sim, pins[0], 0, &v, 1));
	TU_ASSERT_OK(simmm_mm_access(mm, a + PS, &v, 1, SIMMM_ACCESS_READ));
	assert_int_equal(v, 0xa5);
	TU_ASSERT_OK(simmm_mm_access(child, a + PS, &v, 1, SIMMM_ACCESS_READ));
	assert_int_equal(v, (uint8_t)(7 * 31));
	mx_write(mm, a + 2 * PS, 9);
	TU_ASSERT_OK(simmm_page_read(sim, pins[1], 0, &v, 1));
	assert_int_equal(v, (uint8_t)(9 * 31));
	mx_expect_zero(child, a + 2 * PS);
	TU_CHECK(sim);
	/* Unpinned, the split folio's pages are shared COW by the next fork. */
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, pins, 2));
	TU_ASSERT_OK(simmm_mmput(child));
	TU_CHECK(sim);
	assert_int_equal(mx_page(sim, ha).refcount, 512);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(child, a + PS).pfn, ha + 1);
	assert_false(mx_tr(mm, a + PS).write);
	assert_false(anon_exclusive(sim, ha + 1));
	assert_int_equal(mx_page(sim, ha + 1).mapcount, 2);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * The child's copies exhaust RAM half-way (4 MiB: the THP is half of it):
 * fork fails with -ENOMEM and leaves the parent split but otherwise as it
 * was, pinned and intact; all the child got goes back with it, so RAM is
 * what it was: the parent's split populated the THP's deposited table.
 */
static void test_fork_pinned_thp_out_of_memory(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 4 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon_aligned(mm, 2 * MIB, 2 * MIB);
	simmm_pfn_t pin = 0, ha = thp_at(mm, a, 1);
	struct simmm_phys_stats before, after;

	assert_int_equal(simmm_pin_user_pages(mm, a, 1, SIMMM_FOLL_WRITE | SIMMM_FOLL_LONGTERM,
					      &pin), 1);
	TU_ASSERT_OK(simmm_phys_stats(sim, &before));
	assert_true(before.free_pages < 512);
	assert_int_equal(simmm_fork(mm, &child), -ENOMEM);
	assert_null(child);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_phys_stats(sim, &after));
	assert_int_equal(after.free_pages, before.free_pages);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PTE);
	for (uint64_t i = 0; i < 512; i++)
		assert_int_equal(mx_tr(mm, a + i * PS).pfn, ha + i);
	assert_true(thp_all_exclusive(sim, ha));
	assert_int_equal(mx_page(sim, ha).refcount, 512 + 1);
	assert_int_equal(mx_stats(mm).rss_anon, 512);
	mx_expect(mm, a, 1);
	mx_expect(mm, a + PS, 2);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pin, 1));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* Allocation failures around a fork of a pinned THP: each run must fail
 * cleanly (checked and leak-checked by simmm_fault_sweep()); a fork that
 * fails leaves the parent's pinned page mapped, with its data. */
struct pinned_thp_sweep {
	uint64_t failed_after_split; /* forks that failed with the PMD split */
	uint64_t forked;
};

static int sweep_fork_pinned_thp(simmm_sim *sim, void *arg)
{
	struct pinned_thp_sweep *sw = arg;
	struct simmm_mm *mm = NULL, *child = NULL;
	struct simmm_translation t;
	simmm_addr_t a = 0;
	simmm_pfn_t pin = 0;
	uint8_t v = 'x';
	bool pinned = false;
	int rc = simmm_mm_create(sim, &mm);

	if (rc)
		return rc;
	rc = simmm_set_thp_policy(sim, SIMMM_THP_ALWAYS);
	if (!rc)
		rc = simmm_mmap(mm, 0x40000000, 2 * MIB, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_FIXED, NULL, 0,
				&a);
	if (!rc)
		rc = simmm_mm_access(mm, a + PS, &v, 1, SIMMM_ACCESS_WRITE);
	if (!rc) {
		long n = simmm_pin_user_pages(mm, a + PS, 1,
					      SIMMM_FOLL_WRITE | SIMMM_FOLL_LONGTERM, &pin);
		pinned = n == 1;
		rc = pinned ? 0 : (int)n;
	}
	if (!rc) {
		bool was_pmd = mx_tr(mm, a).level == SIMMM_LVL_PMD;

		rc = simmm_fork(mm, &child);
		TU_ASSERT_OK(simmm_pgtable_translate(simmm_mm_pgtable(mm), a + PS, &t));
		assert_int_equal(t.pfn, pin);
		assert_true(t.write);
		TU_ASSERT_OK(simmm_page_read(sim, pin, 0, &v, 1));
		assert_int_equal(v, 'x');
		if (rc == -ENOMEM && was_pmd && t.level == SIMMM_LVL_PTE)
			sw->failed_after_split++;
		assert_true(rc == 0 || rc == -ENOMEM);
	}
	if (!rc) {
		sw->forked++;
		TU_ASSERT_OK(simmm_pgtable_translate(simmm_mm_pgtable(child), a + PS, &t));
		assert_int_not_equal(t.pfn, pin);
		v = 0;
		rc = simmm_mm_access(child, a + PS, &v, 1, SIMMM_ACCESS_READ);
		assert_true(rc || v == 'x');
	}
	if (pinned)
		TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pin, 1));
	if (child)
		simmm_mmput(child);
	simmm_mmput(mm);
	return rc;
}

static void test_fork_pinned_thp_enomem(void **state)
{
	(void)state;
	simmm_config cfg;
	struct simmm_sweep_result res;
	struct pinned_thp_sweep sw = {0};

	simmm_config_init(&cfg);
	cfg.ram_bytes = 64 * MIB;
	cfg.flags |= SIMMM_CFG_QUIET;
	TU_ASSERT_OK(simmm_fault_sweep(&cfg, sweep_fork_pinned_thp, &sw, 5000, &res));
	assert_int_equal(res.violations, 0);
	assert_true(res.enomem > 0);
	assert_true(sw.failed_after_split > 0); /* failures inside the copy */
	assert_true(sw.forked > 0);
}

/* A private hugetlb mapping of @len bytes of 1 << @shift pages. */
static simmm_addr_t map_hugetlb(struct simmm_mm *mm, uint64_t len, unsigned shift)
{
	simmm_addr_t a = 0;

	TU_ASSERT_OK(simmm_mmap(mm, 0, len, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_HUGETLB |
					((int)shift << SIMMM_MAP_HUGE_SHIFT),
				NULL, 0, &a));
	return a;
}

/*
 * fork with a pinned private hugetlb page (copy_hugetlb_page_range():
 * hugetlb_try_dup_anon_rmap() refuses): the child gets a new huge page with
 * the same contents, mapped writable and dirty at the same level
 * (hugetlb_install_folio()); the parent keeps its page, entry and pin, and
 * writes stay on their side. The unpinned huge page next to it is shared
 * read-only, as before.
 */
static void check_fork_pinned_hugetlb(const char *geo, uint64_t ram, unsigned shift,
				      enum simmm_level lvl)
{
	simmm_sim *sim = mx_sim(geo, ram, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	uint64_t sz = 1ULL << shift, nr = sz / PS;
	simmm_addr_t a = map_hugetlb(mm, 2 * sz, shift), b = a + sz;
	simmm_pfn_t pin = 0;
	uint8_t v = 0;

	mx_write(mm, a + PS, 1);
	mx_write(mm, b, 2);
	simmm_pfn_t ha = mx_tr(mm, a).pfn, hb = mx_tr(mm, b).pfn;
	assert_int_equal(mx_tr(mm, a).level, lvl);
	assert_int_equal(simmm_pin_user_pages(mm, a + PS, 1, SIMMM_FOLL_WRITE | SIMMM_FOLL_LONGTERM,
					      &pin), 1);
	assert_int_equal(pin, ha + 1);
	simmm_entry_t before = mx_tr(mm, a).entry;
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	/* The parent: as it was. */
	assert_int_equal(mx_tr(mm, a).entry, before);
	assert_true(mx_tr(mm, a).write);
	assert_true(anon_exclusive(sim, ha));
	assert_int_equal(mx_page(sim, ha).refcount, 2);
	assert_int_equal(mx_page(sim, ha).pincount, 1);
	/* The child: its own huge page. */
	struct simmm_translation t = mx_tr(child, a);
	assert_int_equal(t.level, lvl);
	assert_true(t.write && simmm_pte_dirty(t.entry));
	assert_true(t.pfn < ha || t.pfn >= ha + nr);
	assert_int_equal(mx_page(sim, t.pfn).order, shift - 12);
	assert_int_equal(mx_page(sim, t.pfn).refcount, 1);
	assert_true(anon_exclusive(sim, t.pfn));
	assert_int_equal(mx_stats(child).rss_anon, 0);
	/* The unpinned one: shared read-only. */
	assert_int_equal(mx_tr(child, b).pfn, hb);
	assert_false(mx_tr(child, b).write);
	assert_false(mx_tr(mm, b).write);
	assert_int_equal(mx_page(sim, hb).refcount, 2);
	/* Contents, writes, and the pin as the parent's memory. */
	mx_expect(child, a + PS, 1);
	mx_expect_zero(child, a);
	mx_expect(child, b, 2);
	struct simmm_mm_stats cst = mx_stats(child);
	mx_write(child, a + PS, 3);
	assert_int_equal(mx_stats(child).cow_faults, cst.cow_faults);
	mx_expect(mm, a + PS, 1);
	v = 0x3c;
	TU_ASSERT_OK(simmm_page_write(sim, pin, 1, &v, 1));
	TU_ASSERT_OK(simmm_mm_access(mm, a + PS + 1, &v, 1, SIMMM_ACCESS_READ));
	assert_int_equal(v, 0x3c);
	TU_ASSERT_OK(simmm_mm_access(child, a + PS + 1, &v, 1, SIMMM_ACCESS_READ));
	assert_int_equal(v, (uint8_t)(3 * 31 + 1));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pin, 1));
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

static void test_fork_pinned_hugetlb(void **state)
{
	(void)state;
	check_fork_pinned_hugetlb("x86_64-4level", 64 * MIB, 21, SIMMM_LVL_PMD);
	check_fork_pinned_hugetlb("x86_64-4level", 4 * GIB, 30, SIMMM_LVL_PUD);
}

/*
 * No free huge page for the child's copy: fork fails with
 * alloc_hugetlb_folio()'s -ENOSPC, as upstream's copy_hugetlb_page_range()
 * passes it on, and leaves the parent and RAM as they were. Unpinned, the
 * page is shared again and the same fork succeeds.
 */
static void test_fork_pinned_hugetlb_no_page(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim("x86_64-4level", 4 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = map_hugetlb(mm, 2 * MIB, 21);
	struct simmm_phys_stats before, after;
	simmm_pfn_t pin = 0;

	mx_write(mm, a, 1);
	simmm_pfn_t ha = mx_tr(mm, a).pfn;
	assert_int_equal(simmm_pin_user_pages(mm, a, 1, SIMMM_FOLL_WRITE, &pin), 1);
	simmm_entry_t entry = mx_tr(mm, a).entry;
	TU_ASSERT_OK(simmm_phys_stats(sim, &before));
	assert_int_equal(simmm_fork(mm, &child), -ENOSPC);
	assert_null(child);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_phys_stats(sim, &after));
	assert_int_equal(after.free_pages, before.free_pages);
	assert_int_equal(mx_tr(mm, a).entry, entry);
	assert_true(anon_exclusive(sim, ha));
	assert_int_equal(mx_page(sim, ha).refcount, 2);
	mx_expect(mm, a, 1);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pin, 1));
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(child, a).pfn, ha);
	assert_false(anon_exclusive(sim, ha));
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* Injected failures around the fork of a pinned hugetlb page: each run
 * fails cleanly, and a failed bookkeeping allocation is -ENOMEM, never the
 * -ENOSPC of a pool with no page (which the sweep would return). */
static int sweep_fork_pinned_hugetlb(simmm_sim *sim, void *arg)
{
	uint64_t *forked = arg;
	struct simmm_mm *mm = NULL, *child = NULL;
	simmm_addr_t a = 0;
	simmm_pfn_t pin = 0;
	uint8_t v = 'h';
	bool pinned = false;
	int rc = simmm_mm_create(sim, &mm);

	if (rc)
		return rc;
	rc = simmm_mmap(mm, 0, 2 * MIB, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
			SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_HUGETLB |
				(21 << SIMMM_MAP_HUGE_SHIFT),
			NULL, 0, &a);
	if (!rc)
		rc = simmm_mm_access(mm, a, &v, 1, SIMMM_ACCESS_WRITE);
	/* An injected failure in the huge page fault surfaces as SIGBUS. */
	if (rc == -EFAULT && simmm_fault_hits(sim))
		rc = -ENOMEM;
	if (!rc) {
		long n = simmm_pin_user_pages(mm, a, 1, SIMMM_FOLL_WRITE, &pin);

		pinned = n == 1;
		rc = pinned ? 0 : (int)n;
	}
	if (!rc)
		rc = simmm_fork(mm, &child);
	if (!rc) {
		(*forked)++;
		assert_int_not_equal(mx_tr(child, a).pfn, pin);
		v = 0;
		rc = simmm_mm_access(child, a, &v, 1, SIMMM_ACCESS_READ);
		assert_true(rc || v == 'h');
	}
	if (pinned)
		TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pin, 1));
	if (child)
		simmm_mmput(child);
	simmm_mmput(mm);
	return rc;
}

static void test_fork_pinned_hugetlb_enomem(void **state)
{
	(void)state;
	simmm_config cfg;
	struct simmm_sweep_result res;
	uint64_t forked = 0;

	simmm_config_init(&cfg);
	cfg.geometry = "x86_64-4level";
	cfg.ram_bytes = 64 * MIB;
	cfg.flags |= SIMMM_CFG_QUIET;
	TU_ASSERT_OK(simmm_fault_sweep(&cfg, sweep_fork_pinned_hugetlb, &forked, 5000, &res));
	assert_int_equal(res.violations, 0);
	assert_true(res.enomem > 0);
	assert_true(forked > 0);
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
		cmocka_unit_test(test_pin_unshare_copy_writable_vma),
		cmocka_unit_test(test_pin_unshare_copy_readonly_vma),
		cmocka_unit_test(test_pin_unshare_reuse),
		cmocka_unit_test(test_pin_unshare_swapped),
		cmocka_unit_test(test_pin_unshare_notifier),
		cmocka_unit_test(test_unshare_fault_flags),
		cmocka_unit_test(test_pin_unshare_thp),
		cmocka_unit_test(test_force_write_readonly_vma),
		cmocka_unit_test(test_pin_unshare_hugetlb),
		cmocka_unit_test(test_pin_longterm_unshare_cow),
		cmocka_unit_test(test_fork_copies_pinned_pages),
		cmocka_unit_test(test_fork_has_pinned_flag),
		cmocka_unit_test(test_fork_pinned_page_uffd_wp),
		cmocka_unit_test(test_fork_pinned_thp),
		cmocka_unit_test(test_fork_pinned_thp_out_of_memory),
		cmocka_unit_test(test_fork_pinned_thp_enomem),
		cmocka_unit_test(test_fork_pinned_hugetlb),
		cmocka_unit_test(test_fork_pinned_hugetlb_no_page),
		cmocka_unit_test(test_fork_pinned_hugetlb_enomem),
	};
	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
