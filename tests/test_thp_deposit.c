// SPDX-License-Identifier: MIT
/*
 * Deposited page tables (pgtable_trans_huge_deposit()/withdraw()): every
 * anonymous PMD mapping brings a PTE table with it, so a PMD split never
 * allocates. The THP and huge zero faults allocate the table first
 * (VM_FAULT_OOM without it), fork gives the child its own (-ENOMEM, the
 * parent intact), collapse deposits the old PTE table, zap/munmap/exit
 * free it, mremap moves it with its PMD, and the checkers catch a missing or
 * leaked deposit. Every step is checked with TU_CHECK.
 */
#include "test_mm_ext_util.h"


/* Tables deposited with the PMD table of @a. */
static uint64_t deposits(struct simmm_mm *mm, simmm_addr_t a)
{
	simmm_pfn_t tbl;

	return simmm__pgtable_nr_deposited(simmm_mm_pgtable(mm), a, &tbl);
}

static uint64_t deposits_total(struct simmm_mm *mm)
{
	return simmm__pgtable_deposited_total(simmm_mm_pgtable(mm));
}

static uint64_t tables(struct simmm_mm *mm)
{
	return mx_stats(mm).pgtable_pages;
}

/* A write fault maps a THP at @a: one deposit more in its PMD table. */
static void map_thp(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t a, unsigned tag)
{
	uint64_t dep = deposits(mm, a), tot = deposits_total(mm);

	mx_write(mm, a, tag);
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PMD);
	assert_true(mx_tr(mm, a).present);
	assert_int_equal(deposits(mm, a), dep + 1);
	assert_int_equal(deposits_total(mm), tot + 1);
}

static void inject_from(simmm_sim *sim, uint64_t nth)
{
	struct simmm_fault_config fc = {.mode = SIMMM_FAULT_FROM_NTH, .nth = nth};

	TU_ASSERT_OK(simmm_fault_inject(sim, &fc));
}

/*
 * The fault deposits a table; the split populates it: with every later
 * allocation failing, splits by a partial MADV_DONTNEED or MADV_FREE
 * still succeed and add no table; so do those of a partial mprotect and
 * munmap (which allocate VMAs, so they run without the injection).
 */
static void test_split_needs_no_allocation(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, 3 * PMD);

	map_thp(sim, mm, a, 1);
	map_thp(sim, mm, a + PMD, 2);
	map_thp(sim, mm, a + 2 * PMD, 3);
	assert_int_equal(deposits(mm, a), 3);
	uint64_t nt = tables(mm), nfree = mx_free_pages(sim);

	inject_from(sim, 1);
	/* MADV_DONTNEED of a part of the first THP. */
	TU_ASSERT_OK(simmm_madvise(mm, a + 3 * PS, 2 * PS, SIMMM_MADV_DONTNEED));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PTE);
	assert_int_equal(deposits(mm, a), 2);
	/* MADV_FREE of a part of the second. */
	TU_ASSERT_OK(simmm_madvise(mm, a + PMD + 3 * PS, 2 * PS, SIMMM_MADV_FREE));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a + PMD).level, SIMMM_LVL_PTE);
	assert_int_equal(deposits(mm, a), 1);
	/* Every table split into was a deposited one. */
	assert_int_equal(tables(mm), nt);
	TU_ASSERT_OK(simmm_fault_inject(sim, NULL));
	/* Nothing allocated (the zapped pages stay with their large folio
	 * until it is split, as the deferred split does upstream). */
	assert_int_equal(mx_free_pages(sim), nfree);
	/* mprotect of a page of the third: its split adds no table either
	 * (the VMA splits are not page tables). */
	TU_ASSERT_OK(simmm_mprotect(mm, a + 2 * PMD + 7 * PS, PS, SIMMM_PROT_READ));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a + 2 * PMD).level, SIMMM_LVL_PTE);
	assert_int_equal(deposits_total(mm), 0);
	assert_int_equal(tables(mm), nt);
	mx_expect(mm, a, 1);
	mx_expect(mm, a + PMD, 2);
	mx_expect(mm, a + 2 * PMD, 3);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * __do_huge_pmd_anonymous_page(): the folio is had, the table to deposit
 * is not: VM_FAULT_OOM (-ENOMEM), not a fallback to small pages; the
 * folio goes back. The read fault's table comes first too
 * (do_huge_pmd_anonymous_page(): pte_alloc_one() before the huge zero
 * folio). The PMD table already exists (another THP in it), so the table
 * to deposit is the fault's only allocation.
 */
static void test_fault_without_table_is_oom(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, 3 * PMD);
	uint8_t v = 1;

	map_thp(sim, mm, a, 1);
	/* The huge zero folio exists before the injection. */
	mx_expect_zero(mm, a + 2 * PMD);
	assert_true(simmm__is_huge_zero_pfn(sim, mx_tr(mm, a + 2 * PMD).pfn));
	TU_CHECK(sim);
	uint64_t nt = tables(mm), nfree = mx_free_pages(sim);
	struct simmm_mm_stats before = mx_stats(mm);

	/* Only the table fails (a fallback to small pages would succeed:
	 * its PTE table and page are later allocations). */
	uint64_t hits = simmm_fault_hits(sim);
	struct simmm_fault_config once = {.mode = SIMMM_FAULT_NTH, .nth = 1};

	TU_ASSERT_OK(simmm_fault_inject(sim, &once));
	assert_int_equal(simmm_mm_access(mm, a + PMD, &v, 1, SIMMM_ACCESS_WRITE), -ENOMEM);
	assert_int_equal(simmm_fault_hits(sim), hits + 1);
	TU_CHECK(sim);
	assert_int_equal(simmm_pgtable_translate(simmm_mm_pgtable(mm), a + PMD,
						 &(struct simmm_translation){0}), -ENOENT);
	TU_ASSERT_OK(simmm_fault_inject(sim, &once));
	assert_int_equal(simmm_mm_access(mm, a + PMD, &v, 1, SIMMM_ACCESS_READ), -ENOMEM);
	assert_int_equal(simmm_fault_hits(sim), hits + 2);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_fault_inject(sim, NULL));
	assert_int_equal(tables(mm), nt);
	assert_int_equal(mx_free_pages(sim), nfree);
	assert_int_equal(mx_stats(mm).thp_faults, before.thp_faults);
	assert_int_equal(mx_stats(mm).zero_faults, before.zero_faults);
	assert_int_equal(mx_stats(mm).rss_anon, before.rss_anon);
	assert_int_equal(deposits(mm, a), 2);
	/* With memory again, the same faults map the huge zero PMD and a THP. */
	mx_expect_zero(mm, a + PMD);
	assert_int_equal(deposits(mm, a), 3);
	TU_CHECK(sim);
	mx_write(mm, a + PMD + PS, 7);
	assert_int_equal(mx_tr(mm, a + PMD).level, SIMMM_LVL_PMD);
	assert_int_equal(deposits(mm, a), 3); /* the zero PMD's table stays */
	assert_int_equal(tables(mm), nt + 1);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * copy_huge_pmd(): the child's deposit is allocated before anything
 * else; without it fork fails with -ENOMEM and the parent keeps its PMDs
 * (a THP, the huge zero PMD, a pinned THP that is not split either).
 * With memory, every PMD of the child has its own deposit.
 */
static void test_fork(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = thp_region(mm, 3 * PMD);
	simmm_pfn_t pin = 0;

	map_thp(sim, mm, a, 1);
	mx_expect_zero(mm, a + PMD); /* the huge zero PMD */
	map_thp(sim, mm, a + 2 * PMD, 3);
	assert_int_equal(simmm_pin_user_pages(mm, a + 2 * PMD, 1,
					      SIMMM_FOLL_WRITE | SIMMM_FOLL_LONGTERM, &pin), 1);
	assert_int_equal(deposits(mm, a), 3);
	TU_CHECK(sim);
	uint64_t nfree = mx_free_pages(sim), nt = tables(mm), fails = 0;
	bool split;

	/* Fail from the first allocation on (the child's mm struct), then
	 * from each later one: every failure is -ENOMEM, the parent intact. */
	for (uint64_t nth = 1; nth < 64; nth++) {
		int rc;

		inject_from(sim, nth);
		rc = simmm_fork(mm, &child);
		TU_ASSERT_OK(simmm_fault_inject(sim, NULL));
		TU_CHECK(sim);
		if (!rc)
			break;
		assert_int_equal(rc, -ENOMEM);
		assert_null(child);
		/* Shared PMDs stay; the pinned THP is split once its child
		 * table was had (the copies of its pages may fail later),
		 * into its deposit. */
		assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PMD);
		assert_int_equal(mx_tr(mm, a + PMD).level, SIMMM_LVL_PMD);
		split = mx_tr(mm, a + 2 * PMD).level == SIMMM_LVL_PTE;
		assert_int_equal(deposits(mm, a), split ? 2 : 3);
		assert_int_equal(tables(mm), nt);
		assert_int_equal(mx_free_pages(sim), nfree);
		fails++;
	}
	assert_true(fails > 3);
	assert_non_null(child);
	/* The child: a shared THP and the huge zero PMD with a deposit each;
	 * the pinned THP was split in the parent and copied as small pages. */
	assert_int_equal(mx_tr(child, a).level, SIMMM_LVL_PMD);
	assert_int_equal(mx_tr(child, a + PMD).level, SIMMM_LVL_PMD);
	assert_int_equal(mx_tr(child, a + 2 * PMD).level, SIMMM_LVL_PTE);
	assert_int_equal(mx_tr(mm, a + 2 * PMD).level, SIMMM_LVL_PTE);
	assert_int_equal(deposits(child, a), 2);
	assert_int_equal(deposits(mm, a), 2);
	assert_int_equal(tables(mm), nt); /* the pinned THP split into its deposit */
	mx_expect(child, a, 1);
	mx_expect(child, a + 2 * PMD, 3);
	/* The child's write splits its shared THP into its own deposit. */
	uint64_t ct = tables(child);
	mx_write(child, a + 5 * PS, 9);
	TU_CHECK(sim);
	assert_int_equal(mx_tr(child, a).level, SIMMM_LVL_PTE);
	assert_int_equal(deposits(child, a), 1);
	assert_int_equal(tables(child), ct);
	mx_expect(child, a + 5 * PS, 9);
	mx_expect_zero(mm, a + 5 * PS); /* the parent's page is its own */
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pin, 1));
	TU_ASSERT_OK(simmm_mmput(child));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * MADV_COLLAPSE: the PTE table the range was mapped by becomes the new
 * THP's deposit; the number of table frames does not change.
 */
static void test_collapse_reuses_table(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon_aligned(mm, PMD, PMD); /* no VM_HUGEPAGE: small pages */

	for (uint64_t i = 0; i < NR; i += 17)
		mx_write(mm, a + i * PS, (unsigned)i);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PTE);
	TU_CHECK(sim);
	uint64_t nt = tables(mm);

	TU_ASSERT_OK(simmm_madvise(mm, a, PMD, SIMMM_MADV_COLLAPSE));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PMD);
	assert_int_equal(deposits(mm, a), 1);
	assert_int_equal(tables(mm), nt);
	for (uint64_t i = 0; i < NR; i += 17)
		mx_expect(mm, a + i * PS, (unsigned)i);
	/* And it splits back into that table without allocating. */
	inject_from(sim, 1);
	TU_ASSERT_OK(simmm_madvise(mm, a + PS, PS, SIMMM_MADV_DONTNEED));
	TU_ASSERT_OK(simmm_fault_inject(sim, NULL));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PTE);
	assert_int_equal(deposits(mm, a), 0);
	assert_int_equal(tables(mm), nt);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * zap_huge_pmd() frees the deposit (zap_deposited_table()): a whole-PMD
 * munmap and MADV_DONTNEED of a THP and of the huge zero PMD, and exit,
 * give every frame back.
 */
static void test_zap_frees_deposit(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	uint64_t nfree = mx_free_pages(sim);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, 4 * PMD);

	map_thp(sim, mm, a, 1);
	map_thp(sim, mm, a + PMD, 2);
	mx_expect_zero(mm, a + 2 * PMD);
	map_thp(sim, mm, a + 3 * PMD, 4);
	assert_int_equal(deposits(mm, a), 4);
	uint64_t nt = tables(mm);

	TU_ASSERT_OK(simmm_munmap(mm, a, PMD));
	TU_CHECK(sim);
	assert_int_equal(deposits(mm, a + PMD), 3);
	assert_int_equal(tables(mm), nt - 1);
	TU_ASSERT_OK(simmm_madvise(mm, a + PMD, 2 * PMD, SIMMM_MADV_DONTNEED));
	TU_CHECK(sim);
	assert_int_equal(deposits(mm, a + PMD), 1);
	assert_int_equal(tables(mm), nt - 3);
	TU_ASSERT_OK(simmm_mmput(mm)); /* exit zaps the last THP */
	TU_CHECK(sim);
	/* The huge zero folio stays allocated until destroy. */
	assert_int_equal(mx_free_pages(sim), nfree - NR);
	tu_sim_free(&sim);
}

/*
 * mremap of THPs to a destination in another PMD table: move_huge_pmd()
 * moves each aligned PMD whole (a THP, the huge zero PMD), withdrawing its
 * deposit from the old PMD table and depositing it in the new one, so
 * nothing is left behind there (the emptied old PMD table goes with the
 * old VMA's munmap) and nothing is allocated for a split.
 */
static void test_mremap_across_pmd_tables(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, 2 * PMD), dst = 0x7f0000000000ULL, r = 0;

	map_thp(sim, mm, a, 1);
	mx_expect_zero(mm, a + PMD);
	assert_int_equal(deposits(mm, a), 2);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mremap(mm, a, 2 * PMD, 2 * PMD,
				  SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED, dst, &r));
	assert_int_equal(r, dst);
	TU_CHECK(sim);
	assert_int_equal(deposits(mm, a), 0);
	assert_int_equal(deposits(mm, dst), 2);
	assert_int_equal(deposits_total(mm), 2);
	assert_int_equal(mx_tr(mm, dst).level, SIMMM_LVL_PMD);
	assert_int_equal(mx_tr(mm, dst + PMD).level, SIMMM_LVL_PMD);
	mx_expect(mm, dst, 1);
	mx_expect_zero(mm, dst + PMD + 3 * PS);
	/* A new THP fault at the old place deposits again. */
	TU_ASSERT_OK(simmm_mmap(mm, a, PMD, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_FIXED, NULL, 0,
				&r));
	TU_ASSERT_OK(simmm_madvise(mm, a, PMD, SIMMM_MADV_HUGEPAGE));
	map_thp(sim, mm, a, 5);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * The checkers: a THP without its deposit, a deposit without its THP, a
 * deposited table that is not empty, each is a violation.
 */
static void test_checker_catches_bad_deposits(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_pgtable *pt = simmm_mm_pgtable(mm);
	simmm_addr_t a = thp_region(mm, 2 * PMD);
	struct simmm_page *tbl;

	map_thp(sim, mm, a, 1);
	/* Missing: the THP's table taken away. */
	tbl = simmm__pgtable_withdraw(pt, a);
	assert_non_null(tbl);
	assert_true(simmm_check(sim) > 0);
	/* Leaked: two deposits for one THP. */
	simmm__pgtable_deposit(pt, a, tbl);
	TU_CHECK(sim);
	tbl = simmm__pte_alloc_one(pt);
	assert_non_null(tbl);
	simmm__pgtable_deposit(pt, a, tbl);
	assert_true(simmm_check(sim) > 0);
	assert_ptr_equal(simmm__pgtable_withdraw(pt, a), tbl);
	simmm__pte_free(pt, tbl);
	TU_CHECK(sim);
	/* Not empty. */
	tbl = simmm__pgtable_withdraw(pt, a);
	simmm__pt_entries(tbl)[3] = 1;
	simmm__pgtable_deposit(pt, a, tbl);
	assert_true(simmm_check(sim) > 0);
	simmm__pt_entries(tbl)[3] = 0;
	TU_CHECK(sim);
	simmm_reports_clear(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_needs_no_allocation),
		cmocka_unit_test(test_fault_without_table_is_oom),
		cmocka_unit_test(test_fork),
		cmocka_unit_test(test_collapse_reuses_table),
		cmocka_unit_test(test_zap_frees_deposit),
		cmocka_unit_test(test_mremap_across_pmd_tables),
		cmocka_unit_test(test_checker_catches_bad_deposits),
	};
	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
