// SPDX-License-Identifier: MIT
/*
 * MADV_FREE and MADV_PAGEOUT against upstream's madvise_free_pte_range(),
 * madvise_free_huge_pmd() and madvise_cold_or_pageout_pte_range():
 *
 * MADV_FREE: a THP covered whole becomes lazyfree at PMD level (reclaim
 * discards it; written again, it is kept); a part of a THP splits the
 * folio (not when it is pinned); a pte-mapped large folio covered whole
 * stays large; pinned or referenced pages become lazyfree and reclaim
 * keeps them (swap-backed again once written through a write pin);
 * swap-cache folios leave the swap cache, unless another mm's swap entry
 * needs the slot; a dirty folio another mm maps is skipped, a clean one is
 * not (the other mapping's dirty bit keeps it); swap entries, hwpoison
 * entries and poison markers go, guard markers stay.
 *
 * MADV_PAGEOUT: anonymous pages go to swap at once, young or not; pages
 * shared with a forked child stay; clean file pages leave the page cache,
 * dirty ones are unmapped and stay dirty in it; THPs are split and swapped
 * out, whole or in part; pinned pages stay, pages with a FOLL_GET
 * reference are unmapped but stay in the swap cache; lazyfree pages are
 * discarded.
 */
#include "test_mm_ext_util.h"

static struct simmm_page *folio_at(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t a)
{
	struct simmm_translation t = mx_tr(mm, a);

	assert_true(t.present);
	return simmm__compound_head(sim, simmm__pfn_to_page(sim, t.pfn));
}

static bool is_lazyfree(const struct simmm_page *folio)
{
	return (folio->flags & (PG_anon | PG_swapbacked)) == PG_anon;
}

/* simmm_reclaim() of everything it can: the pages freed. Without swap, or
 * with nothing freeable, -ENOSPC is fine too. */
static uint64_t reclaim_all(simmm_sim *sim)
{
	uint64_t n = 0;
	int rc = simmm_reclaim(sim, 1ULL << 20, &n);

	assert_true(rc == 0 || rc == -ENOSPC);
	TU_CHECK(sim);
	return n;
}

static void expect_swap_entry(struct simmm_mm *mm, simmm_addr_t a)
{
	struct simmm_translation t = mx_tr(mm, a);

	assert_false(t.present);
	assert_true(simmm_is_real_swap_entry(t.entry));
}

/* ---- MADV_FREE ------------------------------------------------------------------------ */

/* A THP covered whole is lazyfree as it is: PMD old and clean, folio clean
 * and no longer swap-backed. Reclaim discards it; a THP written again after
 * MADV_FREE (its PMD dirty) is kept whole in content. */
static void test_free_thp_whole_pmd(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, 2 * PMD), b = a + PMD;

	for (unsigned i = 0; i < 2; i++) {
		mx_write(mm, a + i * PMD, 1 + i);
		mx_write(mm, a + i * PMD + 7 * PS, 3 + i);
		mx_write(mm, a + i * PMD + (NR - 1) * PS, 5 + i);
	}
	TU_CHECK(sim);
	struct simmm_page *fa = folio_at(sim, mm, a), *fb = folio_at(sim, mm, b);
	assert_int_equal(fa->order, 9);
	assert_false(is_lazyfree(fa));
	TU_ASSERT_OK(simmm_madvise(mm, a, 2 * PMD, SIMMM_MADV_FREE));
	TU_CHECK(sim);
	for (unsigned i = 0; i < 2; i++) {
		struct simmm_translation t = mx_tr(mm, a + i * PMD);
		struct simmm_page *f = folio_at(sim, mm, a + i * PMD);

		assert_int_equal(t.level, SIMMM_LVL_PMD);
		assert_false(simmm_pte_dirty(t.entry));
		assert_false(simmm_pte_young(t.entry));
		assert_int_equal(f->order, 9);
		assert_true(is_lazyfree(f));
		assert_false(f->flags & PG_dirty);
	}
	assert_ptr_equal(folio_at(sim, mm, a), fa);
	/* Written again: the PMD is dirty, the folio must not be discarded. */
	mx_write(mm, b + 7 * PS, 70);
	TU_CHECK(sim);
	assert_true(simmm_pte_dirty(mx_tr(mm, b).entry));
	assert_int_equal(reclaim_all(sim), NR); /* the first THP, every page of it */
	mx_expect_zero(mm, a);
	mx_expect_zero(mm, a + 7 * PS);
	mx_expect_zero(mm, a + (NR - 1) * PS);
	TU_CHECK(sim);
	mx_expect(mm, b, 2);
	mx_expect(mm, b + 7 * PS, 70);
	mx_expect(mm, b + (NR - 1) * PS, 6);
	/* Reclaim split it (no THP swap-out) and found its ptes dirty: its
	 * pages are swap-backed again. */
	fb = folio_at(sim, mm, b + 7 * PS);
	assert_int_equal(fb->order, 0);
	assert_false(is_lazyfree(fb));
	assert_int_equal(mx_stats(mm).rss_anon, NR); /* a reads the zero page again */
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* A part of a THP: the folio is split (split_folio(): the PMD mapping
 * first), then the covered small pages are lazyfree; the others are not. */
static void test_free_thp_partial(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);

	for (unsigned i = 0; i < 6; i++)
		mx_write(mm, a + i * PS, 10 + i);
	simmm_pfn_t head = mx_tr(mm, a).pfn;
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_madvise(mm, a + 2 * PS, 2 * PS, SIMMM_MADV_FREE));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PTE);
	for (unsigned i = 0; i < 6; i++) {
		struct simmm_translation t = mx_tr(mm, a + i * PS);
		struct simmm_page *p = simmm__pfn_to_page(sim, head + i);

		assert_int_equal(t.pfn, head + i);
		assert_int_equal(p->order, 0);
		assert_int_equal(p->refcount, 1);
		assert_int_equal(is_lazyfree(p), i == 2 || i == 3);
		assert_int_equal(simmm_pte_dirty(t.entry), i != 2 && i != 3);
	}
	assert_int_equal(mx_page(sim, head + NR - 1).order, 0);
	assert_int_equal(reclaim_all(sim), 2);
	for (unsigned i = 0; i < 6; i++) {
		if (i == 2 || i == 3)
			mx_expect_zero(mm, a + i * PS);
		else
			mx_expect(mm, a + i * PS, 10 + i);
		TU_CHECK(sim);
	}
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* The split fails on a pinned THP: nothing changes (upstream leaves the
 * PMD mapped, where splitting only the PMD at the range's edges would not).
 * Unpinned, the same call splits it. */
static void test_free_thp_partial_pinned(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);
	simmm_pfn_t pin = 0;

	mx_write(mm, a + 3 * PS, 3);
	assert_int_equal(simmm_pin_user_pages(mm, a, 1, 0, &pin), 1);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_madvise(mm, a + 2 * PS, 2 * PS, SIMMM_MADV_FREE));
	TU_CHECK(sim);
	struct simmm_translation t = mx_tr(mm, a);
	struct simmm_page *f = folio_at(sim, mm, a);
	assert_int_equal(t.level, SIMMM_LVL_PMD);
	assert_true(simmm_pte_dirty(t.entry));
	assert_int_equal(f->order, 9);
	assert_false(is_lazyfree(f));
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pin, 1));
	TU_ASSERT_OK(simmm_madvise(mm, a + 2 * PS, 2 * PS, SIMMM_MADV_FREE));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PTE);
	assert_true(is_lazyfree(folio_at(sim, mm, a + 3 * PS)));
	assert_false(is_lazyfree(folio_at(sim, mm, a + 4 * PS)));
	assert_int_equal(folio_at(sim, mm, a)->order, 0);
	mx_expect(mm, a + 3 * PS, 3);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* A large folio mapped by ptes (FOLL_SPLIT_PMD split its PMD): covered
 * whole, it stays large and becomes lazyfree with every pte cleaned;
 * covered in part, it is split. */
static void test_free_pte_mapped_large(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, 2 * PMD), b = a + PMD;
	simmm_pfn_t pfn = 0;

	for (unsigned i = 0; i < 2; i++) {
		mx_write(mm, a + i * PMD + 5 * PS, 5);
		assert_int_equal(simmm_get_user_pages(mm, a + i * PMD, 1, SIMMM_FOLL_SPLIT_PMD, &pfn),
				 1);
		TU_ASSERT_OK(simmm_put_user_pages(sim, &pfn, 1));
		assert_int_equal(mx_tr(mm, a + i * PMD).level, SIMMM_LVL_PTE);
		assert_int_equal(folio_at(sim, mm, a + i * PMD)->order, 9);
	}
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_madvise(mm, a, PMD, SIMMM_MADV_FREE));
	TU_CHECK(sim);
	struct simmm_page *f = folio_at(sim, mm, a);
	assert_int_equal(f->order, 9);
	assert_true(is_lazyfree(f));
	for (unsigned i = 0; i < NR; i++) {
		simmm_entry_t e = mx_tr(mm, a + i * PS).entry;

		assert_false(simmm_pte_dirty(e) || simmm_pte_young(e));
	}
	TU_ASSERT_OK(simmm_madvise(mm, b + PS, NR / 2 * PS, SIMMM_MADV_FREE));
	TU_CHECK(sim);
	assert_int_equal(folio_at(sim, mm, b)->order, 0);
	assert_false(is_lazyfree(folio_at(sim, mm, b)));
	assert_true(is_lazyfree(folio_at(sim, mm, b + PS)));
	assert_true(is_lazyfree(folio_at(sim, mm, b + 5 * PS)));
	assert_false(is_lazyfree(folio_at(sim, mm, b + (NR / 2 + 1) * PS)));
	/* The whole folio is discarded as one, after reclaim splits it. */
	assert_int_equal(reclaim_all(sim), NR + NR / 2);
	mx_expect_zero(mm, a + 5 * PS);
	mx_expect_zero(mm, b + 5 * PS);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* A pinned page becomes lazyfree all the same (no reference check at
 * MADV_FREE time). Reclaim does not discard it while the pin holds it
 * (try_to_unmap_one(): references beyond the mappings) and, since 6.14,
 * leaves it lazyfree; once unpinned, it is discarded. */
static void test_free_pinned_page_kept(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);
	simmm_pfn_t pin = 0;

	mx_write(mm, a, 4);
	assert_int_equal(simmm_pin_user_pages(mm, a, 1, SIMMM_FOLL_WRITE, &pin), 1);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_madvise(mm, a, PS, SIMMM_MADV_FREE));
	TU_CHECK(sim);
	struct simmm_page *f = simmm__pfn_to_page(sim, pin);
	assert_true(is_lazyfree(f));
	assert_false(simmm_pte_dirty(mx_tr(mm, a).entry));
	assert_int_equal(reclaim_all(sim), 0);
	assert_true(mx_tr(mm, a).present);
	assert_int_equal(mx_tr(mm, a).pfn, pin);
	assert_true(is_lazyfree(f));
	assert_int_equal(mx_swap_used(sim), 0);
	mx_expect(mm, a, 4);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pin, 1));
	TU_CHECK(sim);
	assert_int_equal(reclaim_all(sim), 1);
	mx_expect_zero(mm, a);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* A write pin taken after MADV_FREE dirties the folio (FOLL_TOUCH): reclaim
 * makes it swap-backed again instead of discarding it, and what the pin's
 * holder wrote reaches swap once the pin is gone. */
static void test_free_then_write_pin(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);
	simmm_pfn_t pin = 0;
	uint8_t dma = 0xd5, got = 0;

	mx_write(mm, a, 6);
	TU_ASSERT_OK(simmm_madvise(mm, a, PS, SIMMM_MADV_FREE));
	TU_CHECK(sim);
	assert_false(simmm_pte_dirty(mx_tr(mm, a).entry));
	assert_int_equal(simmm_pin_user_pages(mm, a, 1, SIMMM_FOLL_WRITE, &pin), 1);
	TU_CHECK(sim);
	struct simmm_page *f = simmm__pfn_to_page(sim, pin);
	assert_true(f->flags & PG_dirty);
	TU_ASSERT_OK(simmm_page_write(sim, pin, 100, &dma, 1)); /* the device writes */
	assert_int_equal(reclaim_all(sim), 0);
	assert_true(mx_tr(mm, a).present);
	assert_false(is_lazyfree(f));
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pin, 1));
	TU_CHECK(sim);
	uint64_t out = mx_swpout(sim);
	assert_int_equal(reclaim_all(sim), 1);
	assert_int_equal(mx_swpout(sim), out + 1);
	expect_swap_entry(mm, a);
	TU_ASSERT_OK(simmm_mm_access(mm, a + 100, &got, 1, SIMMM_ACCESS_READ));
	assert_int_equal(got, dma);
	mx_expect(mm, a, 6);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* A mapped swap-cache folio whose slot no swap entry needs (add_to_swap()
 * done, try_to_unmap() not: reclaim's state when the unmap failed): the
 * slot is freed (folio_free_swap()), the folio is clean and lazyfree. */
static void test_free_swapcache_slot_freed(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);

	mx_write(mm, a, 7);
	struct simmm_page *f = folio_at(sim, mm, a);
	simmm_entry_t swp = simmm__swap_add_to_cache(sim, f);
	assert_true(swp != 0);
	assert_int_equal(mx_swap_used(sim), 1);
	assert_int_equal(f->refcount, 2);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_madvise(mm, a, PS, SIMMM_MADV_FREE));
	TU_CHECK(sim);
	assert_int_equal(mx_swap_used(sim), 0);
	assert_int_equal(simmm__swap_count(sim, swp), -1);
	assert_false(f->flags & (PG_swapcache | PG_dirty));
	assert_true(is_lazyfree(f));
	assert_int_equal(f->refcount, 1);
	assert_int_equal(reclaim_all(sim), 1);
	mx_expect_zero(mm, a);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* A swap-cache folio whose slot a forked child's swap entry still needs is
 * skipped. When the child's entry goes, the folio, still mapped by the
 * parent, stays in the swap cache, clean (free_swap_and_cache() frees only
 * an unmapped one while swap is not full). MADV_FREE then takes it out of
 * the swap cache (folio_free_swap(), the slot freed), cleans it and makes
 * it lazyfree, and reclaim discards it. */
static void test_free_swapcache_slot_in_use(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, PS);

	mx_write(mm, a, 8);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	assert_int_equal(reclaim_all(sim), 1);
	expect_swap_entry(mm, a);
	expect_swap_entry(child, a);
	mx_expect(mm, a, 8); /* swapped in, the child's entry still there */
	TU_CHECK(sim);
	struct simmm_page *f = folio_at(sim, mm, a);
	assert_true(f->flags & PG_swapcache);
	assert_int_equal(simmm__swap_count(sim, f->private), 1);
	TU_ASSERT_OK(simmm_madvise(mm, a, PS, SIMMM_MADV_FREE));
	TU_CHECK(sim);
	assert_true(f->flags & PG_swapcache);
	assert_false(is_lazyfree(f));
	assert_int_equal(mx_swap_used(sim), 1);
	TU_ASSERT_OK(simmm_munmap(child, a, PS));
	TU_CHECK(sim);
	assert_true(f->flags & PG_swapcache);
	assert_false(f->flags & PG_dirty);
	assert_int_equal(simmm__swap_count(sim, f->private), 0);
	assert_int_equal(mx_swap_used(sim), 1);
	TU_ASSERT_OK(simmm_madvise(mm, a, PS, SIMMM_MADV_FREE));
	TU_CHECK(sim);
	assert_false(f->flags & PG_swapcache);
	assert_int_equal(mx_swap_used(sim), 0);
	assert_true(is_lazyfree(f));
	assert_false(f->flags & PG_dirty);
	assert_int_equal(reclaim_all(sim), 1);
	mx_expect_zero(mm, a);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* A dirty folio a forked child maps too is skipped (its dirty bit cannot be
 * cleared for the child): it stays swap-backed and goes to swap. The folio
 * is dirty because a write fault brought it back from swap
 * (should_try_to_free_swap(), folio_free_swap()). */
static void test_free_shared_dirty_skipped(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, PS);

	mx_write(mm, a, 8);
	assert_int_equal(reclaim_all(sim), 1);
	mx_write(mm, a, 9);
	struct simmm_page *f = folio_at(sim, mm, a);
	assert_false(f->flags & PG_swapcache);
	assert_true(f->flags & PG_dirty);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	assert_int_equal(f->mapcount, 2);
	TU_ASSERT_OK(simmm_madvise(mm, a, PS, SIMMM_MADV_FREE));
	TU_CHECK(sim);
	assert_false(is_lazyfree(f));
	assert_true(f->flags & PG_dirty);
	assert_int_equal(reclaim_all(sim), 1); /* to swap, not discarded */
	expect_swap_entry(mm, a);
	expect_swap_entry(child, a);
	mx_expect(mm, a, 9);
	mx_expect(child, a, 9);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* A clean folio (PG_dirty clear: written through ptes only) a forked child
 * maps too is made lazyfree by the parent's MADV_FREE, as upstream: only
 * the parent's pte is cleaned. The child's dirty pte makes reclaim keep the
 * folio and swap-back it again; the child's data survives (the parent may
 * lose its own mapping first: it asked for that). */
static void test_free_shared_clean_child_keeps(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, PS);
	uint8_t buf[64];

	mx_write(mm, a, 11);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	struct simmm_page *f = folio_at(sim, mm, a);
	assert_false(f->flags & PG_dirty);
	assert_true(simmm_pte_dirty(mx_tr(child, a).entry));
	TU_ASSERT_OK(simmm_madvise(mm, a, PS, SIMMM_MADV_FREE));
	TU_CHECK(sim);
	assert_true(is_lazyfree(f));
	assert_false(simmm_pte_dirty(mx_tr(mm, a).entry));
	assert_true(simmm_pte_dirty(mx_tr(child, a).entry));
	assert_int_equal(reclaim_all(sim), 0);
	assert_ptr_equal(folio_at(sim, child, a), f);
	assert_false(is_lazyfree(f));
	mx_expect(child, a, 11);
	TU_ASSERT_OK(simmm_mm_access(mm, a, buf, sizeof(buf), SIMMM_ACCESS_READ));
	assert_true(buf[1] == (uint8_t)(11 * 31 + 1) || buf[1] == 0);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* Non-present entries: a swap entry is freed, a hwpoison entry and a poison
 * marker are cleared, a guard marker stays. */
static void test_free_nonpresent(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS);
	struct simmm_pgtable *pt = simmm_mm_pgtable(mm);

	mx_write(mm, a, 1);
	assert_int_equal(reclaim_all(sim), 1);
	expect_swap_entry(mm, a);
	TU_ASSERT_OK(simmm_pgtable_set(pt, a + PS, SIMMM_LVL_PTE, simmm_make_hwpoison_entry(0x42)));
	TU_ASSERT_OK(simmm_pgtable_set(pt, a + 2 * PS, SIMMM_LVL_PTE,
				       simmm_make_poisoned_swp_entry()));
	TU_ASSERT_OK(simmm_pgtable_set(pt, a + 3 * PS, SIMMM_LVL_PTE, simmm_make_guard_swp_entry()));
	TU_CHECK(sim);
	assert_int_equal(mx_stats(mm).swap_ents, 1);
	TU_ASSERT_OK(simmm_madvise(mm, a, 4 * PS, SIMMM_MADV_FREE));
	TU_CHECK(sim);
	for (unsigned i = 0; i < 3; i++)
		assert_true(simmm_entry_none(mx_tr(mm, a + i * PS).entry));
	assert_true(simmm_pte_marker_get(mx_tr(mm, a + 3 * PS).entry) & SIMMM_PTE_MARKER_GUARD);
	assert_int_equal(mx_stats(mm).swap_ents, 0);
	assert_int_equal(mx_swap_used(sim), 0);
	mx_expect_zero(mm, a);
	mx_expect_zero(mm, a + PS);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* ---- MADV_PAGEOUT --------------------------------------------------------------------- */

/* Anonymous pages go to swap now, young as they are (no second chance):
 * swap entries in their ptes, written out, counted as reclaimed. */
static void test_pageout_anon_to_swap(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS);

	for (unsigned i = 0; i < 4; i++)
		mx_write(mm, a + i * PS, 20 + i);
	TU_CHECK(sim);
	assert_true(simmm_pte_young(mx_tr(mm, a + PS).entry));
	uint64_t out = mx_swpout(sim), rec = mx_lru_reclaimed(sim);
	TU_ASSERT_OK(simmm_madvise(mm, a + PS, 2 * PS, SIMMM_MADV_PAGEOUT));
	TU_CHECK(sim);
	expect_swap_entry(mm, a + PS);
	expect_swap_entry(mm, a + 2 * PS);
	assert_true(simmm_pte_swp_exclusive(mx_tr(mm, a + PS).entry));
	assert_true(mx_tr(mm, a).present);
	assert_true(mx_tr(mm, a + 3 * PS).present);
	assert_int_equal(mx_swap_used(sim), 2);
	assert_int_equal(mx_swpout(sim), out + 2);
	assert_int_equal(mx_lru_reclaimed(sim), rec + 2);
	struct simmm_mm_stats st = mx_stats(mm);
	assert_int_equal(st.rss_anon, 2);
	assert_int_equal(st.swap_ents, 2);
	uint64_t major = st.major_faults;
	for (unsigned i = 0; i < 4; i++)
		mx_expect(mm, a + i * PS, 20 + i);
	TU_CHECK(sim);
	assert_int_equal(mx_stats(mm).major_faults, major + 2);
	/* Read faults: the two stay in the swap cache, clean, with their
	 * slots, and a second pageout writes nothing. */
	assert_int_equal(mx_swap_used(sim), 2);
	TU_ASSERT_OK(simmm_madvise(mm, a + PS, 2 * PS, SIMMM_MADV_PAGEOUT));
	TU_CHECK(sim);
	expect_swap_entry(mm, a + PS);
	expect_swap_entry(mm, a + 2 * PS);
	assert_int_equal(mx_swpout(sim), out + 2);
	assert_int_equal(mx_lru_reclaimed(sim), rec + 4);
	for (unsigned i = 1; i < 3; i++)
		mx_expect(mm, a + i * PS, 20 + i);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* A page a forked child maps too is left alone; the parent's own COW copy
 * next to it goes to swap. */
static void test_pageout_skips_shared(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);

	mx_write(mm, a, 1);
	mx_write(mm, a + PS, 2);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	mx_write(mm, a + PS, 3); /* COW: the parent's own copy */
	TU_CHECK(sim);
	simmm_pfn_t shared = mx_tr(mm, a).pfn;
	TU_ASSERT_OK(simmm_madvise(mm, a, 2 * PS, SIMMM_MADV_PAGEOUT));
	TU_CHECK(sim);
	assert_true(mx_tr(mm, a).present);
	assert_int_equal(mx_tr(mm, a).pfn, shared);
	assert_int_equal(mx_tr(child, a).pfn, shared);
	expect_swap_entry(mm, a + PS);
	assert_true(mx_tr(child, a + PS).present);
	assert_int_equal(mx_swap_used(sim), 1);
	mx_expect(mm, a, 1);
	mx_expect(mm, a + PS, 3);
	mx_expect(child, a, 1);
	mx_expect(child, a + PS, 2);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* A one-page file written and written back (evicted by reclaim), mapped
 * shared at *@a and read: a clean page-cache page. */
static struct simmm_file *clean_file_page(simmm_sim *sim, struct simmm_mm *mm, unsigned tag,
					  simmm_addr_t *a)
{
	struct simmm_file *f = NULL;
	uint8_t buf[64];

	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(tag * 31 + i);
	TU_ASSERT_OK(simmm_file_create(sim, PS, 0, &f));
	assert_int_equal(simmm_file_pwrite(f, buf, sizeof(buf), 0), (long)sizeof(buf));
	assert_int_equal(reclaim_all(sim), 1);
	assert_int_equal(f->nrpages, 0);
	TU_ASSERT_OK(simmm_mmap(mm, 0, PS, SIMMM_PROT_READ | SIMMM_PROT_WRITE, SIMMM_MAP_SHARED,
				f, 0, a));
	mx_expect(mm, *a, tag);
	TU_CHECK(sim);
	return f;
}

/* A clean file page is unmapped and leaves the page cache at once. */
static void test_pageout_clean_file_dropped(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = 0;
	struct simmm_file *f = clean_file_page(sim, mm, 12, &a);
	simmm_pfn_t pfn = mx_tr(mm, a).pfn;

	assert_false(simmm__pfn_to_page(sim, pfn)->flags & PG_dirty);
	assert_int_equal(f->nrpages, 1);
	assert_int_equal(mx_stats(mm).rss_file, 1);
	uint64_t rec = mx_lru_reclaimed(sim);
	TU_ASSERT_OK(simmm_madvise(mm, a, PS, SIMMM_MADV_PAGEOUT));
	TU_CHECK(sim);
	assert_true(simmm_entry_none(mx_tr(mm, a).entry));
	assert_int_equal(f->nrpages, 0);
	assert_true(mx_page(sim, pfn).free);
	assert_int_equal(mx_stats(mm).rss_file, 0);
	assert_int_equal(mx_lru_reclaimed(sim), rec + 1);
	uint64_t major = mx_stats(mm).major_faults;
	mx_expect(mm, a, 12);
	assert_int_equal(mx_stats(mm).major_faults, major + 1);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* A file page dirtied through the mapping is unmapped (its dirty bit moves
 * to the folio) but stays in the page cache, dirty: reclaim_pages() is not
 * kswapd and writes no file page back. A later reclaim does. */
static void test_pageout_dirty_file_kept(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = 0;
	struct simmm_file *f = clean_file_page(sim, mm, 13, &a);
	uint8_t buf[64];

	mx_write(mm, a, 14);
	simmm_pfn_t pfn = mx_tr(mm, a).pfn;
	assert_true(simmm_pte_dirty(mx_tr(mm, a).entry));
	uint64_t rec = mx_lru_reclaimed(sim);
	TU_ASSERT_OK(simmm_madvise(mm, a, PS, SIMMM_MADV_PAGEOUT));
	TU_CHECK(sim);
	assert_true(simmm_entry_none(mx_tr(mm, a).entry));
	assert_int_equal(f->nrpages, 1);
	struct simmm_page_info pi = mx_page(sim, pfn);
	assert_false(pi.free);
	assert_true(pi.flags & PG_dirty);
	assert_true(pi.flags & PG_lru);
	assert_int_equal(pi.mapcount, 0);
	assert_int_equal(mx_lru_reclaimed(sim), rec);
	assert_int_equal(simmm_file_pread(f, buf, sizeof(buf), 0), (long)sizeof(buf));
	assert_int_equal(buf[1], (uint8_t)(14 * 31 + 1));
	/* Mapped again from the page cache: the same frame, no I/O. */
	uint64_t major = mx_stats(mm).major_faults;
	mx_expect(mm, a, 14);
	assert_int_equal(mx_tr(mm, a).pfn, pfn);
	assert_int_equal(mx_stats(mm).major_faults, major);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	assert_int_equal(reclaim_all(sim), 1); /* written back and dropped */
	assert_int_equal(f->nrpages, 0);
	assert_int_equal(simmm_file_pread(f, buf, sizeof(buf), 0), (long)sizeof(buf));
	assert_int_equal(buf[1], (uint8_t)(14 * 31 + 1));
	TU_ASSERT_OK(simmm_file_put(f));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* THPs: one covered whole is split and every page of it swapped out; of
 * one covered in part, the folio is split and the covered pages go. */
static void test_pageout_thp(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, 2 * PMD), b = a + PMD;

	for (unsigned i = 0; i < 2; i++) {
		mx_write(mm, a + i * PMD, 30 + i);
		mx_write(mm, a + i * PMD + 2 * PS, 32 + i);
		mx_write(mm, a + i * PMD + (NR - 1) * PS, 34 + i);
	}
	TU_CHECK(sim);
	simmm_pfn_t bhead = mx_tr(mm, b).pfn;
	TU_ASSERT_OK(simmm_madvise(mm, a, PMD, SIMMM_MADV_PAGEOUT));
	TU_CHECK(sim);
	for (unsigned i = 0; i < NR; i += 37)
		expect_swap_entry(mm, a + i * PS);
	expect_swap_entry(mm, a + (NR - 1) * PS);
	assert_int_equal(mx_swap_used(sim), NR);
	assert_int_equal(mx_stats(mm).rss_anon, NR);
	assert_int_equal(mx_tr(mm, b).level, SIMMM_LVL_PMD);
	TU_ASSERT_OK(simmm_madvise(mm, b + PS, 2 * PS, SIMMM_MADV_PAGEOUT));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, b).level, SIMMM_LVL_PTE);
	assert_int_equal(mx_tr(mm, b).pfn, bhead);
	assert_int_equal(mx_page(sim, bhead).order, 0);
	expect_swap_entry(mm, b + PS);
	expect_swap_entry(mm, b + 2 * PS);
	assert_true(mx_tr(mm, b + 3 * PS).present);
	assert_int_equal(mx_swap_used(sim), NR + 2);
	assert_int_equal(mx_stats(mm).rss_anon, NR - 2);
	for (unsigned i = 0; i < 2; i++) {
		mx_expect(mm, a + i * PMD, 30 + i);
		mx_expect(mm, a + i * PMD + 2 * PS, 32 + i);
		mx_expect(mm, a + i * PMD + (NR - 1) * PS, 34 + i);
		mx_expect_zero(mm, a + i * PMD + PS);
		TU_CHECK(sim);
	}
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* A pinned page stays mapped and out of swap (shrink_folio_list() adds no
 * maybe-pinned folio to swap); unpinned, it goes. A page with a FOLL_GET
 * reference is unmapped to swap and written, but the reference keeps it in
 * the swap cache (not freed, not counted). */
static void test_pageout_referenced(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);
	simmm_pfn_t pin = 0, get = 0;

	mx_write(mm, a, 40);
	mx_write(mm, a + PS, 41);
	assert_int_equal(simmm_pin_user_pages(mm, a, 1, SIMMM_FOLL_WRITE, &pin), 1);
	assert_int_equal(simmm_get_user_pages(mm, a + PS, 1, 0, &get), 1);
	TU_CHECK(sim);
	uint64_t rec = mx_lru_reclaimed(sim);
	TU_ASSERT_OK(simmm_madvise(mm, a, 2 * PS, SIMMM_MADV_PAGEOUT));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a).pfn, pin);
	expect_swap_entry(mm, a + PS);
	struct simmm_page_info pi = mx_page(sim, get);
	assert_false(pi.free);
	assert_true(pi.flags & PG_swapcache);
	assert_int_equal(pi.refcount, 2); /* the cache's and the GUP's */
	assert_int_equal(mx_swap_used(sim), 1);
	assert_int_equal(mx_lru_reclaimed(sim), rec);
	mx_expect(mm, a + PS, 41); /* a swap-cache hit: the same frame */
	assert_int_equal(mx_tr(mm, a + PS).pfn, get);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pin, 1));
	TU_ASSERT_OK(simmm_put_user_pages(sim, &get, 1));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_madvise(mm, a, 2 * PS, SIMMM_MADV_PAGEOUT));
	TU_CHECK(sim);
	expect_swap_entry(mm, a);
	expect_swap_entry(mm, a + PS);
	assert_int_equal(mx_lru_reclaimed(sim), rec + 2);
	mx_expect(mm, a, 40);
	mx_expect(mm, a + PS, 41);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* A clean lazyfree page is discarded, not swapped; one written again
 * since MADV_FREE goes to swap. */
static void test_pageout_lazyfree(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);

	mx_write(mm, a, 50);
	mx_write(mm, a + PS, 51);
	TU_ASSERT_OK(simmm_madvise(mm, a, 2 * PS, SIMMM_MADV_FREE));
	mx_write(mm, a + PS, 52);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_madvise(mm, a, 2 * PS, SIMMM_MADV_PAGEOUT));
	TU_CHECK(sim);
	assert_true(simmm_entry_none(mx_tr(mm, a).entry));
	/* The write made it dirty: kept this time, swap-backed again. */
	assert_true(mx_tr(mm, a + PS).present);
	assert_false(is_lazyfree(folio_at(sim, mm, a + PS)));
	assert_int_equal(mx_swap_used(sim), 0);
	TU_ASSERT_OK(simmm_madvise(mm, a, 2 * PS, SIMMM_MADV_PAGEOUT));
	TU_CHECK(sim);
	expect_swap_entry(mm, a + PS);
	mx_expect_zero(mm, a);
	mx_expect(mm, a + PS, 52);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_free_thp_whole_pmd),
		cmocka_unit_test(test_free_thp_partial),
		cmocka_unit_test(test_free_thp_partial_pinned),
		cmocka_unit_test(test_free_pte_mapped_large),
		cmocka_unit_test(test_free_pinned_page_kept),
		cmocka_unit_test(test_free_then_write_pin),
		cmocka_unit_test(test_free_swapcache_slot_freed),
		cmocka_unit_test(test_free_swapcache_slot_in_use),
		cmocka_unit_test(test_free_shared_dirty_skipped),
		cmocka_unit_test(test_free_shared_clean_child_keeps),
		cmocka_unit_test(test_free_nonpresent),
		cmocka_unit_test(test_pageout_anon_to_swap),
		cmocka_unit_test(test_pageout_skips_shared),
		cmocka_unit_test(test_pageout_clean_file_dropped),
		cmocka_unit_test(test_pageout_dirty_file_kept),
		cmocka_unit_test(test_pageout_thp),
		cmocka_unit_test(test_pageout_referenced),
		cmocka_unit_test(test_pageout_lazyfree),
	};

	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
