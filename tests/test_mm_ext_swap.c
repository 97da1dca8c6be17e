// SPDX-License-Identifier: MIT
/*
 * Swap and reclaim: round trips, sharing after fork, a full device, file
 * pages, MADV_FREE, pinned pages, pages with FOLL_GET references (unmapped,
 * not freed), pageout of dirty folios only (a clean swap-cache or page-cache
 * folio goes without a write; add_to_swap(), a pte's dirty bit at unmap and
 * a write through a reference dirty one), auto reclaim under a tiny RAM, and
 * an allocation-failure sweep over a reclaim scenario. The cases that need
 * one look per folio use simmm__shrink_inactive_batch().
 */
#include "test_mm_ext_util.h"

static void test_swap_roundtrip(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 8 * PS);
	uint64_t n = 0;

	for (unsigned i = 0; i < 8; i++)
		mx_write(mm, a + i * PS, i + 1);
	TU_CHECK(sim);
	assert_int_equal(mx_stats(mm).rss_anon, 8);
	/* First pass clears the young bits (second chance), second reclaims. */
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 8);
	assert_int_equal(mx_swap_used(sim), 8);
	struct simmm_mm_stats st = mx_stats(mm);
	assert_int_equal(st.rss_anon, 0);
	assert_int_equal(st.swap_ents, 8);
	for (unsigned i = 0; i < 8; i++) {
		struct simmm_translation t = mx_tr(mm, a + i * PS);
		assert_false(t.present);
		assert_true(simmm_is_real_swap_entry(t.entry));
		assert_true(simmm_pte_swp_exclusive(t.entry));
		assert_int_equal(simmm__swap_count(sim, simmm_pte_to_swp_entry(t.entry)), 1);
	}
	uint64_t major = st.major_faults;
	for (unsigned i = 0; i < 8; i++) {
		mx_expect(mm, a + i * PS, i + 1);
		TU_CHECK(sim);
	}
	st = mx_stats(mm);
	assert_int_equal(st.major_faults, major + 8);
	assert_int_equal(st.swapin_faults, 8);
	assert_int_equal(st.rss_anon, 8);
	assert_int_equal(st.swap_ents, 0);
	/* Read faults with swap mostly free: the pages stay in the swap
	 * cache, which alone holds their slots (should_try_to_free_swap()). */
	assert_int_equal(mx_swap_used(sim), 8);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	assert_int_equal(mx_swap_used(sim), 0); /* the zaps freed them */
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

static void test_swap_untouched_zero_page(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);
	uint8_t z = 0;
	uint64_t n = 0;

	/* A written-zero page: contents allocated; swap stores them. */
	TU_ASSERT_OK(simmm_mm_access(mm, a, &z, 1, SIMMM_ACCESS_WRITE));
	TU_ASSERT_OK(simmm_reclaim(sim, 10, &n));
	assert_int_equal(n, 1);
	TU_CHECK(sim);
	mx_expect_zero(mm, a);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_swap_fork_share(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, PS);
	uint64_t n = 0;

	mx_write(mm, a, 7);
	TU_ASSERT_OK(simmm_reclaim(sim, 10, &n));
	assert_int_equal(n, 1);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	struct simmm_translation t = mx_tr(child, a);
	simmm_entry_t swp = simmm_pte_to_swp_entry(t.entry);
	assert_true(simmm_is_real_swap_entry(t.entry));
	assert_false(simmm_pte_swp_exclusive(t.entry)); /* cleared at fork */
	assert_int_equal(simmm__swap_count(sim, swp), 2);
	/* The child reads it from the device; the parent finds it in the
	 * swap cache: the same page, no second read. */
	mx_expect(child, a, 7);
	TU_CHECK(sim);
	assert_int_equal(simmm__swap_count(sim, swp), 1);
	assert_non_null(simmm__swap_cache_lookup(sim, swp));
	uint64_t major = mx_stats(mm).major_faults;
	mx_expect(mm, a, 7);
	TU_CHECK(sim);
	assert_int_equal(mx_stats(mm).major_faults, major);
	assert_int_equal(mx_tr(mm, a).pfn, mx_tr(child, a).pfn);
	assert_int_equal(mx_page(sim, mx_tr(mm, a).pfn).mapcount, 2);
	assert_int_equal(simmm__swap_count(sim, swp), 0);
	assert_int_equal(mx_swap_used(sim), 1); /* held by the swap cache alone */
	/* A write COWs; the other side keeps its data. */
	mx_write(mm, a, 8);
	TU_CHECK(sim);
	assert_int_not_equal(mx_tr(mm, a).pfn, mx_tr(child, a).pfn);
	mx_expect(child, a, 7);
	mx_expect(mm, a, 8);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * do_swap_page() maps an exclusive page of a writable VMA writable even on
 * a read fault (6.11, "mm: swap: reuse exclusive folio directly instead of
 * wp page faults"), clean; the next store needs no fault. A page shared
 * after fork (swap entry not exclusive) stays read-only. simmm mapped every
 * read swap-in read-only (fuzz_races: a device that migrated such a page
 * got a read-only device entry and its WRITE failed with -EFAULT).
 */
static void test_swap_in_read_exclusive_writable(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);
	struct simmm_translation t;
	struct simmm_mm_stats st;
	uint64_t n = 0;

	mx_write(mm, a, 1);
	mx_write(mm, a + PS, 2);
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	assert_int_equal(n, 2);
	assert_true(simmm_pte_swp_exclusive(mx_tr(mm, a).entry));
	mx_expect(mm, a, 1);
	TU_CHECK(sim);
	t = mx_tr(mm, a);
	assert_true(t.present);
	assert_true(t.write);
	assert_false(simmm_pte_dirty(t.entry));
	st = mx_stats(mm);
	mx_write(mm, a, 3);
	assert_int_equal(mx_stats(mm).reuse_faults, st.reuse_faults);
	assert_int_equal(mx_stats(mm).minor_faults, st.minor_faults);
	assert_true(simmm_pte_dirty(mx_tr(mm, a).entry));
	mx_expect(mm, a, 3);
	/* Page 1: swapped, then shared by fork: read-only in both. */
	TU_ASSERT_OK(simmm_fork(mm, &child));
	assert_false(simmm_pte_swp_exclusive(mx_tr(mm, a + PS).entry));
	mx_expect(mm, a + PS, 2);
	mx_expect(child, a + PS, 2);
	TU_CHECK(sim);
	assert_false(mx_tr(mm, a + PS).write);
	assert_false(mx_tr(child, a + PS).write);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

static void test_swap_full(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 2 * PS);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS);
	uint64_t n = 0;

	for (unsigned i = 0; i < 4; i++)
		mx_write(mm, a + i * PS, i);
	TU_ASSERT_OK(simmm_reclaim(sim, 4, &n));
	assert_int_equal(n, 2);
	TU_CHECK(sim);
	assert_int_equal(simmm_reclaim(sim, 4, &n), -ENOSPC);
	assert_int_equal(n, 0);
	TU_CHECK(sim);
	for (unsigned i = 0; i < 4; i++)
		mx_expect(mm, a + i * PS, i);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_no_swap(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);
	uint64_t n = 1;

	mx_write(mm, a, 1);
	mx_write(mm, a + PS, 2);
	assert_int_equal(simmm_reclaim(sim, 4, &n), -ENOSPC);
	assert_int_equal(n, 0);
	assert_true(mx_tr(mm, a).present);
	TU_CHECK(sim);
	assert_int_equal(simmm_reclaim(NULL, 4, &n), -EINVAL);
	assert_int_equal(simmm_set_auto_reclaim(NULL, true), -EINVAL);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* Pages written back to @f's store since it was created. */
static uint64_t fwritten(struct simmm_file *f)
{
	struct simmm_file_stats st;

	TU_ASSERT_OK(simmm_file_stats(f, &st));
	return st.written;
}

static void test_file_reclaim(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = NULL;
	simmm_addr_t a = 0;
	uint64_t n = 0;
	uint8_t buf[64];

	TU_ASSERT_OK(simmm_file_create(sim, 2 * PS, 0, &f));
	TU_ASSERT_OK(simmm_mmap(mm, 0, 2 * PS, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				SIMMM_MAP_SHARED, f, 0, &a));
	mx_write(mm, a, 3);      /* dirty */
	mx_expect_zero(mm, a + PS); /* clean */
	TU_CHECK(sim);
	/* One look at both per batch. Each page is young from its fault: the
	 * first look only sets PG_referenced; the second finds PG_referenced
	 * alone, which is FOLIOREF_RECLAIM_CLEAN for file folios: the clean
	 * page goes, without a write (its bytes are the store's), the dirty
	 * one is unmapped but deferred (kept, dirty, its PG_referenced
	 * consumed). The third look writes it back and frees it. */
	uint64_t written = fwritten(f);
	struct simmm_page *dirty = simmm__pfn_to_page(sim, mx_tr(mm, a).pfn);
	assert_int_equal(simmm__shrink_inactive_batch(sim, 2), 0);
	TU_CHECK(sim);
	assert_true(mx_tr(mm, a).present);
	assert_int_equal(simmm__shrink_inactive_batch(sim, 2), 1);
	TU_CHECK(sim);
	assert_false(mx_tr(mm, a).present);
	assert_false(mx_tr(mm, a + PS).present);
	assert_int_equal(fwritten(f), written); /* the clean page: no I/O */
	assert_true(dirty->flags & PG_dirty);
	assert_int_equal(f->nrpages, 1);
	assert_int_equal(simmm__shrink_inactive_batch(sim, 2), 1);
	TU_CHECK(sim);
	assert_int_equal(fwritten(f), written + 1);
	assert_int_equal(f->nrpages, 0);
	assert_int_equal(mx_stats(mm).rss_file, 0);
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	assert_int_equal(n, 0);
	/* The dirty page was written back: read(2) and a new fault see it. */
	assert_int_equal(simmm_file_pread(f, buf, sizeof(buf), 0), (long)sizeof(buf));
	assert_int_equal(buf[1], (uint8_t)(3 * 31 + 1));
	uint64_t major = mx_stats(mm).major_faults;
	mx_expect(mm, a, 3);
	TU_CHECK(sim);
	assert_true(mx_stats(mm).major_faults >= major);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

static void test_madv_free(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);
	uint64_t n = 0;

	mx_write(mm, a, 1);
	mx_write(mm, a + PS, 2);
	TU_ASSERT_OK(simmm_madvise(mm, a, 2 * PS, SIMMM_MADV_FREE));
	TU_CHECK(sim);
	mx_write(mm, a + PS, 5); /* written again: must survive */
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 1); /* no swap needed for the lazyfree page */
	mx_expect_zero(mm, a);
	mx_expect(mm, a + PS, 5);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_pinned_not_reclaimed(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);
	simmm_pfn_t pfn = 0;
	uint64_t n = 0;

	mx_write(mm, a, 1);
	mx_write(mm, a + PS, 2);
	assert_int_equal(simmm_pin_user_pages(mm, a, 1, SIMMM_FOLL_WRITE, &pfn), 1);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 1);
	assert_true(mx_tr(mm, a).present);
	assert_int_equal(mx_tr(mm, a).pfn, pfn);
	assert_false(mx_tr(mm, a + PS).present);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pfn, 1));
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	assert_int_equal(n, 1);
	TU_CHECK(sim);
	mx_expect(mm, a, 1);
	mx_expect(mm, a + PS, 2);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* Pages read or written from the swap device so far. */
static uint64_t swpin(simmm_sim *sim)
{
	return simmm__mm_global(sim)->swap->swpin;
}

/*
 * A FOLL_GET reference does not keep a page mapped (FOLL_PIN exists for
 * that): reclaim unmaps a referenced anonymous page into a swap entry and
 * writes it out, as shrink_folio_list() does, but __remove_mapping()'s
 * refcount freeze fails. The folio stays in the swap cache, unmapped, is
 * neither freed nor counted, and the next access faults the same frame
 * back from the swap cache, with what the reference's holder wrote, no
 * swap-in I/O. Dropped, the reference no longer keeps it: the next
 * reclaim frees it.
 */
static void test_gup_get_unmapped_not_freed(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);
	simmm_pfn_t pfn = 0;
	uint64_t n = 0, out, in, nr_lru;
	uint8_t v = 0x5a;

	mx_write(mm, a, 4);
	assert_int_equal(simmm_get_user_pages(mm, a, 1, 0, &pfn), 1);
	TU_CHECK(sim);
	assert_int_equal(mx_page(sim, pfn).refcount, 2); /* mapping + GUP */
	out = simmm__mm_global(sim)->swap->swpout;
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 0); /* not freed, not counted */
	struct simmm_translation t = mx_tr(mm, a);
	assert_false(t.present);
	assert_true(simmm_is_real_swap_entry(t.entry));
	assert_true(simmm_pte_swp_exclusive(t.entry));
	simmm_entry_t swp = simmm_pte_to_swp_entry(t.entry);
	assert_int_equal(simmm__swap_count(sim, swp), 1);
	assert_non_null(simmm__swap_cache_lookup(sim, swp));
	assert_int_equal(simmm__swap_cache_lookup(sim, swp)->pfn, pfn);
	assert_int_equal(simmm__mm_global(sim)->swap->swpout, out + 1); /* written out */
	struct simmm_page_info pi = mx_page(sim, pfn);
	assert_false(pi.free);
	assert_int_equal(pi.refcount, 2); /* swap cache + GUP */
	assert_int_equal(pi.mapcount, 0);
	assert_true(pi.flags & PG_swapcache);
	assert_true(pi.flags & PG_lru); /* rotated, still on the LRU */
	simmm__lru_stats(sim, &nr_lru, NULL);
	assert_int_equal(nr_lru, 1);
	assert_int_equal(mx_stats(mm).rss_anon, 0);
	assert_int_equal(mx_stats(mm).swap_ents, 1);
	/* Again: it stays, still not counted. */
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 0);
	assert_int_equal(simmm__swap_cache_lookup(sim, swp)->pfn, pfn);
	/* The holder writes through its reference; the process sees it. */
	TU_ASSERT_OK(simmm_page_write(sim, pfn, 1, &v, 1));
	in = swpin(sim);
	uint64_t major = mx_stats(mm).major_faults;
	uint8_t buf[2];
	TU_ASSERT_OK(simmm_mm_access(mm, a, buf, 2, SIMMM_ACCESS_READ));
	TU_CHECK(sim);
	assert_int_equal(buf[0], (uint8_t)(4 * 31));
	assert_int_equal(buf[1], 0x5a);
	t = mx_tr(mm, a);
	assert_true(t.present);
	assert_int_equal(t.pfn, pfn);
	assert_true(t.write); /* the exclusive swap entry: writable again */
	assert_int_equal(swpin(sim), in);
	assert_int_equal(mx_stats(mm).major_faults, major);
	assert_int_equal(mx_stats(mm).swapin_faults, 1);
	/* A read fault: the folio stays in the swap cache, dirty from the
	 * holder's write, its slot held by the cache alone. */
	assert_int_equal(mx_swap_used(sim), 1);
	assert_int_equal(simmm__swap_count(sim, swp), 0);
	assert_true(mx_page(sim, pfn).flags & PG_swapcache);
	assert_true(mx_page(sim, pfn).flags & PG_dirty);
	assert_int_equal(mx_page(sim, pfn).refcount, 3); /* mapping + swap cache + GUP */
	/* The reference dropped, the next reclaim frees the page. */
	TU_ASSERT_OK(simmm_put_user_pages(sim, &pfn, 1));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 1);
	assert_true(mx_page(sim, pfn).free);
	assert_true(simmm_is_real_swap_entry(mx_tr(mm, a).entry));
	TU_ASSERT_OK(simmm_mm_access(mm, a, buf, 2, SIMMM_ACCESS_READ));
	assert_int_equal(buf[1], 0x5a);
	assert_int_equal(swpin(sim), in + 1); /* this time from the device */
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * Only a dirty swap-cache folio is written (shrink_folio_list() calls
 * pageout() for dirty folios alone; add_to_swap() dirtied the new one).
 * A FOLL_GET reference keeps a page reclaim unmapped and wrote in the swap
 * cache, clean: reclaim after reclaim finds it there and writes nothing;
 * the reference gone, it is freed without a second write, and the
 * process reads its data back from the slot.
 */
static void test_swapcache_clean_not_rewritten(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);
	simmm_pfn_t pfn = 0;
	uint64_t n = 0, out = mx_swpout(sim), in;

	mx_write(mm, a, 5);
	assert_int_equal(simmm_get_user_pages(mm, a, 1, 0, &pfn), 1);
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 0);
	assert_int_equal(mx_swpout(sim), out + 1);
	assert_true(mx_page(sim, pfn).flags & PG_swapcache);
	assert_false(mx_page(sim, pfn).flags & PG_dirty);
	for (int i = 0; i < 3; i++) {
		TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
		TU_CHECK(sim);
		assert_int_equal(n, 0);
	}
	assert_int_equal(mx_swpout(sim), out + 1); /* clean: not written again */
	TU_ASSERT_OK(simmm_put_user_pages(sim, &pfn, 1));
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 1);
	assert_true(mx_page(sim, pfn).free);
	assert_int_equal(mx_swpout(sim), out + 1); /* freed without I/O */
	in = swpin(sim);
	mx_expect(mm, a, 5);
	assert_int_equal(swpin(sim), in + 1);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * A clean swap-cache folio mapped again and written through its pte: the
 * next reclaim's try_to_unmap() moves the pte's dirty bit to the folio,
 * which is then written again. The state is the one a read fault leaves:
 * do_swap_page() maps the page of an exclusive entry writable and clean,
 * and should_try_to_free_swap() leaves it in the swap cache.
 */
static void test_swapcache_pte_dirty_moved_at_unmap(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);
	uint64_t n = 0, out = mx_swpout(sim);
	uint8_t buf[8];

	mx_write(mm, a, 3);
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 1);
	assert_int_equal(mx_swpout(sim), out + 1);
	TU_ASSERT_OK(simmm_mm_access(mm, a, buf, sizeof(buf), SIMMM_ACCESS_READ));
	TU_CHECK(sim);
	struct simmm_translation t = mx_tr(mm, a);
	simmm_pfn_t pfn = t.pfn;
	struct simmm_page *folio = simmm__pfn_to_page(sim, pfn);
	assert_true(t.present && t.write);
	assert_false(simmm_pte_dirty(t.entry));
	assert_true((folio->flags & (PG_swapcache | PG_dirty)) == PG_swapcache);
	uint64_t faults = mx_stats(mm).minor_faults + mx_stats(mm).major_faults;
	mx_write(mm, a, 8); /* through the writable pte: the pte is dirty */
	TU_CHECK(sim);
	assert_int_equal(mx_stats(mm).minor_faults + mx_stats(mm).major_faults, faults);
	assert_true(simmm_pte_dirty(mx_tr(mm, a).entry));
	assert_false(folio->flags & PG_dirty);
	assert_true(folio->flags & PG_swapcache);
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 1);
	assert_true(mx_page(sim, pfn).free);
	assert_int_equal(mx_swpout(sim), out + 2);
	mx_expect(mm, a, 8);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * wp_page_reuse() dirties the pte, not the folio. An exclusive page read
 * back from swap stays in the swap cache, clean (a read fault); clear_refs
 * write-protects it; the next store takes a wp fault that reuses it
 * (PageAnonExclusive) while it is still in the swap cache: pte dirty and
 * writable, folio clean, as upstream. The next reclaim's try_to_unmap()
 * moves the pte's dirt to the folio and pageout() writes it again: the
 * store is read back from swap, not the stale slot. A second round ends
 * with a zap instead: the reused page and its slot go without I/O.
 */
static void test_swapcache_reuse_dirties_pte(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);
	uint64_t n = 0, out = mx_swpout(sim), in;
	uint8_t buf[8];

	mx_write(mm, a, 3);
	mx_write(mm, a + PS, 4);
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	TU_CHECK(sim);
	assert_int_equal(mx_swpout(sim), out + 2);
	for (int round = 0; round < 2; round++) {
		simmm_addr_t at = a + (simmm_addr_t)round * PS;

		out = mx_swpout(sim);
		TU_ASSERT_OK(simmm_mm_access(mm, at, buf, sizeof(buf), SIMMM_ACCESS_READ));
		TU_CHECK(sim);
		struct simmm_translation t = mx_tr(mm, at);
		struct simmm_page *folio = simmm__pfn_to_page(sim, t.pfn);
		simmm_pfn_t pfn = t.pfn;

		assert_true(t.present && t.write && !simmm_pte_dirty(t.entry));
		assert_true((folio->flags & (PG_swapcache | PG_dirty)) == PG_swapcache);
		assert_true(folio->flags & PG_anon_exclusive);
		TU_ASSERT_OK(simmm_clear_refs_soft_dirty(mm));
		TU_CHECK(sim);
		assert_false(mx_tr(mm, at).write);
		uint64_t reuse = mx_stats(mm).reuse_faults;

		mx_write(mm, at, 8 + round);
		TU_CHECK(sim);
		assert_int_equal(mx_stats(mm).reuse_faults, reuse + 1);
		t = mx_tr(mm, at);
		assert_int_equal(t.pfn, pfn);
		assert_true(t.write && simmm_pte_dirty(t.entry));
		assert_true(folio->flags & PG_swapcache);
		assert_false(folio->flags & PG_dirty); /* only the pte */
		if (round == 0) {
			TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
			TU_CHECK(sim);
			assert_true(mx_page(sim, pfn).free);
			assert_int_equal(mx_swpout(sim), out + 1); /* written again */
			in = swpin(sim);
			mx_expect(mm, at, 8);
			assert_int_equal(swpin(sim), in + 1);
		} else {
			uint64_t used = mx_swap_used(sim);

			TU_ASSERT_OK(simmm_madvise(mm, at, PS, SIMMM_MADV_DONTNEED));
			TU_CHECK(sim);
			assert_true(mx_page(sim, pfn).free);
			assert_int_equal(mx_swap_used(sim), used - 1);
			assert_int_equal(mx_swpout(sim), out);
			mx_expect_zero(mm, at);
		}
		TU_CHECK(sim);
	}
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * add_to_swap() dirties the folio it adds: a swap-backed folio whose ptes
 * are clean and which is not dirty itself is written out all the same.
 * Upstream's case: MADV_FREE cleans the pte of a folio another isolator
 * holds off the LRU, so lru_lazyfree() skips it and it stays swap-backed
 * (not lazyfree); reclaim must not free it unwritten, the process would
 * read zeros where its data was.
 */
static void test_add_to_swap_dirties(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);
	uint64_t n = 0, out = mx_swpout(sim);

	mx_write(mm, a, 4);
	struct simmm_page *folio = simmm__pfn_to_page(sim, mx_tr(mm, a).pfn);
	assert_true(simmm__folio_isolate_lru(sim, folio));
	TU_ASSERT_OK(simmm_madvise(mm, a, PS, SIMMM_MADV_FREE));
	simmm__folio_putback_lru(sim, folio);
	TU_CHECK(sim);
	assert_true(folio->flags & PG_swapbacked); /* not made lazyfree */
	assert_false(folio->flags & PG_dirty);
	assert_false(simmm_pte_dirty(mx_tr(mm, a).entry));
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 1);
	assert_int_equal(mx_swpout(sim), out + 1);
	assert_true(simmm_is_real_swap_entry(mx_tr(mm, a).entry));
	mx_expect(mm, a, 4);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * A clean swap-cache folio written through a reference (a device's DMA
 * into a page it got from GUP; simmm_page_write() dirties the folio, as
 * its driver must): the next reclaim writes it out again, and the
 * process reads the new data back from swap.
 */
static void test_swapcache_written_rewritten(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);
	simmm_pfn_t pfn = 0;
	uint64_t n = 0, out = mx_swpout(sim), in;
	uint8_t v = 0xa7, got = 0;

	mx_write(mm, a, 9);
	assert_int_equal(simmm_get_user_pages(mm, a, 1, 0, &pfn), 1);
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	TU_CHECK(sim);
	assert_int_equal(mx_swpout(sim), out + 1);
	assert_false(mx_page(sim, pfn).flags & PG_dirty);
	TU_ASSERT_OK(simmm_page_write(sim, pfn, 200, &v, 1));
	assert_true(mx_page(sim, pfn).flags & PG_dirty);
	assert_true(mx_page(sim, pfn).flags & PG_swapcache);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_put_user_pages(sim, &pfn, 1));
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 1);
	assert_true(mx_page(sim, pfn).free);
	assert_int_equal(mx_swpout(sim), out + 2); /* written again */
	in = swpin(sim);
	TU_ASSERT_OK(simmm_mm_access(mm, a + 200, &got, 1, SIMMM_ACCESS_READ));
	assert_int_equal(got, v);
	assert_int_equal(swpin(sim), in + 1); /* read from the slot */
	mx_expect(mm, a, 9);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * The reference outlives the mapping: the process unmaps the page while
 * it sits in the swap cache, then the holder lets go. The swap cache's
 * reference is the last one and frees the page, which leaves the LRU
 * first (simmm__put_user_folio()).
 */
static void test_gup_get_outlives_swap_entry(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);
	simmm_pfn_t pfn = 0;
	uint64_t n = 0, nr_lru = 0;

	mx_write(mm, a, 6);
	assert_int_equal(simmm_get_user_pages(mm, a, 1, 0, &pfn), 1);
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 0);
	assert_false(mx_tr(mm, a).present);
	/* munmap frees the last swap entry: the folio leaves the swap cache,
	 * the GUP reference keeps it. */
	TU_ASSERT_OK(simmm_munmap(mm, a, PS));
	TU_CHECK(sim);
	assert_int_equal(mx_swap_used(sim), 0);
	assert_false(mx_page(sim, pfn).free);
	assert_int_equal(mx_page(sim, pfn).refcount, 1);
	assert_false(mx_page(sim, pfn).flags & PG_swapcache);
	TU_ASSERT_OK(simmm_put_user_pages(sim, &pfn, 1));
	TU_CHECK(sim);
	assert_true(mx_page(sim, pfn).free);
	simmm__lru_stats(sim, &nr_lru, NULL);
	assert_int_equal(nr_lru, 0);
	/* The other order: the holder lets go first, then the zap frees the
	 * swap cache's reference, the last one, of an LRU folio. */
	a = mx_anon(mm, 0, PS);
	mx_write(mm, a, 7);
	assert_int_equal(simmm_get_user_pages(mm, a, 1, 0, &pfn), 1);
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	assert_int_equal(n, 0);
	TU_ASSERT_OK(simmm_put_user_pages(sim, &pfn, 1));
	TU_CHECK(sim);
	assert_int_equal(mx_page(sim, pfn).refcount, 1); /* the swap cache's */
	TU_ASSERT_OK(simmm_munmap(mm, a, PS));
	TU_CHECK(sim);
	assert_true(mx_page(sim, pfn).free);
	simmm__lru_stats(sim, &nr_lru, NULL);
	assert_int_equal(nr_lru, 0);
	assert_int_equal(mx_swap_used(sim), 0);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * A FOLL_PIN-pinned anon-exclusive page that is already in the swap cache
 * (so reclaim's "no pinned folio into swap" check does not apply) reaches
 * try_to_unmap(), which leaves it mapped: folio_try_share_anon_rmap_pte()
 * fails on a maybe-pinned folio. Unpinned, it goes.
 */
static void test_pinned_swapcache_stays_mapped(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);
	simmm_pfn_t pfn = 0;
	uint64_t n = 0;

	mx_write(mm, a, 9);
	assert_int_equal(simmm_pin_user_pages(mm, a, 1, SIMMM_FOLL_WRITE, &pfn), 1);
	struct simmm_page *folio = simmm__pfn_to_page(sim, pfn);
	assert_true(folio->flags & PG_anon_exclusive);
	simmm_entry_t swp = simmm__swap_add_to_cache(sim, folio);
	assert_true(swp != 0);
	TU_CHECK(sim);
	/* try_to_unmap() itself, with a caller's reference as reclaim's. */
	simmm__folio_get(sim, folio);
	assert_false(simmm__try_to_unmap(sim, folio, swp));
	simmm__put_user_folio(sim, folio);
	TU_CHECK(sim);
	assert_true(mx_tr(mm, a).present);
	assert_int_equal(simmm__swap_count(sim, swp), 0);
	assert_true(folio->flags & PG_anon_exclusive);
	/* And through reclaim. */
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 0);
	struct simmm_translation t = mx_tr(mm, a);
	assert_true(t.present);
	assert_int_equal(t.pfn, pfn);
	assert_true(folio->flags & PG_anon_exclusive);
	assert_int_equal(mx_stats(mm).swap_ents, 0);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pfn, 1));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 1);
	assert_true(simmm_is_real_swap_entry(mx_tr(mm, a).entry));
	mx_expect(mm, a, 9);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/*
 * A FOLL_GET-referenced page of a shared file mapping: reclaim unmaps it
 * and writes it back, but it stays in the page cache (the freeze fails),
 * clean; the next access maps the same frame without I/O. The reference
 * dropped, the next reclaim drops it from the cache.
 */
/* A one-page file mapped shared and written with @val's pattern. */
static struct simmm_file *shared_file_page(simmm_sim *sim, struct simmm_mm *mm, int val,
					   simmm_addr_t *a)
{
	struct simmm_file *f = NULL;

	TU_ASSERT_OK(simmm_file_create(sim, PS, 0, &f));
	TU_ASSERT_OK(simmm_mmap(mm, 0, PS, SIMMM_PROT_READ | SIMMM_PROT_WRITE, SIMMM_MAP_SHARED,
				f, 0, a));
	mx_write(mm, *a, val);
	return f;
}

static void test_gup_get_file_page_stays_cached(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = 0;
	struct simmm_file *f = shared_file_page(sim, mm, 3, &a);
	simmm_pfn_t pfn = 0;
	uint64_t n = 0;
	uint8_t buf[64];

	assert_int_equal(simmm_get_user_pages(mm, a, 1, 0, &pfn), 1);
	TU_CHECK(sim);
	assert_int_equal(mx_page(sim, pfn).refcount, 3); /* cache + mapping + GUP */
	/* Two looks: young once (PG_referenced), then PG_referenced alone
	 * (FOLIOREF_RECLAIM_CLEAN): unmapped, but dirty, so deferred. */
	assert_int_equal(simmm__shrink_inactive_batch(sim, 1), 0);
	assert_int_equal(simmm__shrink_inactive_batch(sim, 1), 0);
	TU_CHECK(sim);
	assert_false(mx_tr(mm, a).present);
	assert_true(mx_page(sim, pfn).flags & PG_dirty);
	/* A reclaim: no reference left: written back, kept by the GUP
	 * reference, look after look. */
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 0);
	struct simmm_translation t = mx_tr(mm, a);
	assert_false(t.present);
	assert_true(simmm_entry_none(t.entry));
	assert_int_equal(mx_stats(mm).rss_file, 0);
	struct simmm_page_info pi = mx_page(sim, pfn);
	assert_int_equal(pi.refcount, 2); /* cache + GUP */
	assert_int_equal(pi.mapcount, 0);
	assert_false(pi.flags & PG_dirty); /* written back */
	assert_true(pi.flags & PG_lru);
	assert_ptr_equal(simmm__pfn_to_page(sim, pfn)->mapping, f);
	/* The next access: the same frame from the page cache, minor. */
	uint64_t major = mx_stats(mm).major_faults;
	mx_expect(mm, a, 3);
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a).pfn, pfn);
	assert_int_equal(mx_stats(mm).major_faults, major);
	/* Unmapped again, then the reference goes: the page leaves the cache,
	 * its data in the backing store. */
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 0);
	assert_false(mx_tr(mm, a).present);
	TU_ASSERT_OK(simmm_put_user_pages(sim, &pfn, 1));
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 1);
	assert_true(mx_page(sim, pfn).free);
	assert_int_equal(simmm_file_pread(f, buf, sizeof(buf), 0), (long)sizeof(buf));
	assert_int_equal(buf[1], (uint8_t)(3 * 31 + 1));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * A FOLL_PIN-pinned page of a shared file mapping is unmapped all the same
 * (try_to_unmap() asks no pin of a file page), then kept before pageout
 * (shrink_folio_list() since 6.4: the pin's holder may still be writing
 * it): still dirty, still cached. Unpinned, it is written back and goes.
 */
static void test_pinned_file_page_unmapped(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = 0;
	struct simmm_file *f = shared_file_page(sim, mm, 8, &a);
	simmm_pfn_t pfn = 0;
	uint64_t n = 0;
	uint8_t buf[64];

	assert_int_equal(simmm_pin_user_pages(mm, a, 1, SIMMM_FOLL_WRITE, &pfn), 1);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 0);
	assert_true(simmm_entry_none(mx_tr(mm, a).entry));
	struct simmm_page_info pi = mx_page(sim, pfn);
	assert_int_equal(pi.mapcount, 0);
	assert_true(pi.flags & PG_dirty); /* not written back */
	assert_ptr_equal(simmm__pfn_to_page(sim, pfn)->mapping, f);
	assert_int_equal(simmm_file_pread(f, buf, sizeof(buf), 0), (long)sizeof(buf));
	assert_int_equal(buf[1], (uint8_t)(8 * 31 + 1)); /* read(2): the cached page */
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pfn, 1));
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 1);
	assert_true(mx_page(sim, pfn).free);
	mx_expect(mm, a, 8);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * A clean MADV_FREE'd page with a FOLL_GET reference (a read GUP: it does
 * not dirty the page) is not discarded: try_to_unmap_one() leaves a
 * lazyfree folio with references beyond its mappings mapped, and lazyfree
 * (not swap-backed: it was not written again), since 6.14. Without the
 * reference it is discarded. (tests/test_madvise.c: references taken
 * before MADV_FREE, write pins.)
 */
static void test_madv_free_referenced_kept(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);
	simmm_pfn_t pfn = 0;
	uint64_t n = 0;

	mx_write(mm, a, 2);
	TU_ASSERT_OK(simmm_madvise(mm, a, PS, SIMMM_MADV_FREE));
	assert_int_equal(simmm_get_user_pages(mm, a, 1, 0, &pfn), 1);
	TU_CHECK(sim);
	assert_false(mx_page(sim, pfn).flags & PG_swapbacked);
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 0);
	assert_true(mx_tr(mm, a).present);
	assert_int_equal(mx_tr(mm, a).pfn, pfn);
	assert_false(mx_page(sim, pfn).flags & PG_swapbacked);
	mx_expect(mm, a, 2);
	TU_ASSERT_OK(simmm_put_user_pages(sim, &pfn, 1));
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 1);
	mx_expect_zero(mm, a);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* RAM of 1 MiB, a 2 MiB mapping written in full: the buddy allocator runs
 * dry and direct reclaim swaps the cold pages out. */
static void test_auto_reclaim(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 1 * MIB, 8 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	const unsigned npages = 512;
	simmm_addr_t a = mx_anon(mm, 0, npages * PS);
	uint64_t lru = 0, reclaimed = 0;

	for (unsigned i = 0; i < npages; i++)
		mx_write(mm, a + i * PS, i);
	TU_CHECK(sim);
	simmm__lru_stats(sim, &lru, &reclaimed);
	assert_true(reclaimed > 0);
	assert_true(mx_swap_used(sim) > 0);
	for (unsigned i = 0; i < npages; i++)
		mx_expect(mm, a + i * PS, i);
	TU_CHECK(sim);
	/* With auto reclaim off the same load runs out of memory. */
	TU_ASSERT_OK(simmm_set_auto_reclaim(sim, false));
	simmm_addr_t b = mx_anon(mm, 0, npages * PS);
	int rc = 0;
	for (unsigned i = 0; i < npages && !rc; i++)
		rc = simmm_mm_access(mm, b + i * PS, &i, sizeof(i), SIMMM_ACCESS_WRITE);
	assert_int_equal(rc, -ENOMEM);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* ---- allocation-failure sweep ------------------------------------------------------- */

static int sweep_reclaim(simmm_sim *sim, void *arg)
{
	struct simmm_mm *mm = NULL;
	simmm_addr_t a = 0;
	uint64_t n = 0;
	int rc;

	(void)arg;
	rc = simmm_mm_create(sim, &mm);
	if (rc)
		return rc;
	rc = simmm_mmap(mm, 0, 4 * PS, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
			SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS, NULL, 0, &a);
	for (unsigned i = 0; !rc && i < 4; i++)
		rc = simmm_mm_access(mm, a + i * PS, &i, sizeof(i), SIMMM_ACCESS_WRITE);
	if (!rc)
		rc = simmm_reclaim(sim, 4, &n);
	for (unsigned i = 0; !rc && i < 4; i++) {
		unsigned v = 99;
		rc = simmm_mm_access(mm, a + i * PS, &v, sizeof(v), SIMMM_ACCESS_READ);
		/* Data must survive reclaim. Under an injected failure
		 * simmm_mm_access() may drop a write's contents today (reported
		 * to mm-core), so only the failure-free run checks data. */
		if (!rc && v != i && simmm_fault_hits(sim) == 0)
			rc = -EIO;
	}
	simmm_mmput(mm);
	return rc;
}

static void test_sweep_reclaim(void **state)
{
	(void)state;
	simmm_config cfg;
	struct simmm_sweep_result res;

	simmm_config_init(&cfg);
	cfg.ram_bytes = 16 * MIB;
	cfg.swap_bytes = 1 * MIB;
	cfg.flags |= SIMMM_CFG_QUIET;
	TU_ASSERT_OK(simmm_fault_sweep(&cfg, sweep_reclaim, NULL, 2000, &res));
	assert_true(res.steps > 10); /* the scenario allocates: failures were injected */
	assert_true(res.enomem > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_swap_roundtrip),
		cmocka_unit_test(test_swap_untouched_zero_page),
		cmocka_unit_test(test_swap_fork_share),
		cmocka_unit_test(test_swap_in_read_exclusive_writable),
		cmocka_unit_test(test_swap_full),
		cmocka_unit_test(test_no_swap),
		cmocka_unit_test(test_file_reclaim),
		cmocka_unit_test(test_madv_free),
		cmocka_unit_test(test_pinned_not_reclaimed),
		cmocka_unit_test(test_gup_get_unmapped_not_freed),
		cmocka_unit_test(test_gup_get_outlives_swap_entry),
		cmocka_unit_test(test_swapcache_clean_not_rewritten),
		cmocka_unit_test(test_swapcache_written_rewritten),
		cmocka_unit_test(test_add_to_swap_dirties),
		cmocka_unit_test(test_swapcache_reuse_dirties_pte),
		cmocka_unit_test(test_swapcache_pte_dirty_moved_at_unmap),
		cmocka_unit_test(test_pinned_swapcache_stays_mapped),
		cmocka_unit_test(test_gup_get_file_page_stays_cached),
		cmocka_unit_test(test_pinned_file_page_unmapped),
		cmocka_unit_test(test_madv_free_referenced_kept),
		cmocka_unit_test(test_auto_reclaim),
		cmocka_unit_test(test_sweep_reclaim),
	};
	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
