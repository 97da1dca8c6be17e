// SPDX-License-Identifier: MIT
/*
 * A folio swapped back in stays in the swap cache, as upstream keeps it:
 * do_swap_page() frees the swap cache only when should_try_to_free_swap()
 * says so (swap more than half full, a VM_LOCKED VMA or an mlocked folio,
 * a write fault nobody else holds). Each consequence, one case each:
 *  1. a read fault leaves the folio mapped, clean, in the swap cache, its
 *     slot held by the cache alone (swap count 0); reclaim unmaps it to
 *     the same slot and frees it without writing;
 *  2. with swap more than half full (vm_swap_full()) the fault frees it;
 *  3. a write fault frees it when nobody else holds it (the folio is then
 *     exclusive, mapped writable, even from a shared swap entry); an extra
 *     reference keeps it in the cache under a dirty pte, which reclaim
 *     writes;
 *  4. do_wp_page() on the read-only pte of a swap-cache folio: reuse after
 *     folio_free_swap(), a copy while a swap entry still needs the slot,
 *     and wp_page_copy()'s free_swap_cache() of the old folio it unmapped;
 *  5. zaps: the last mapping's zap frees the folio with its slot
 *     (free_swap_cache()), a zap of another mapping keeps it; a zap of the
 *     last swap entry frees an unmapped cached folio
 *     (free_swap_and_cache());
 *  6. fork and COW of a swap-cache folio;
 *  7. mlock: a VM_LOCKED VMA and an mlocked folio free it at the fault;
 *  8. reclaim's activate_locked frees it when swap is more than half full.
 * MADV_FREE of a swap-cache folio is in test_madvise.c, memory failure of
 * a dirty one in test_memory_failure.c. Every step runs the checker.
 */
#include "test_mm_ext_util.h"

static uint64_t swpin(simmm_sim *sim)
{
	return simmm__mm_global(sim)->swap->swpin;
}

static struct simmm_page *folio_at(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t a)
{
	struct simmm_translation t = mx_tr(mm, a);

	assert_true(t.present);
	return simmm__pfn_to_page(sim, t.pfn);
}

/* Reclaim until @mm's page at @a is a swap entry. */
static void swap_out(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t a)
{
	uint64_t n;

	for (int i = 0; i < 8 && !simmm_is_real_swap_entry(mx_tr(mm, a).entry); i++)
		TU_ASSERT_OK(simmm_reclaim(sim, 1 << 20, &n));
	TU_CHECK(sim);
	assert_true(simmm_is_real_swap_entry(mx_tr(mm, a).entry));
}

static simmm_entry_t swp_at(struct simmm_mm *mm, simmm_addr_t a)
{
	struct simmm_translation t = mx_tr(mm, a);

	assert_true(simmm_is_real_swap_entry(t.entry));
	return simmm_pte_to_swp_entry(t.entry);
}

/* A folio in the swap cache under @swp, its slot held by the cache alone. */
static void expect_cached(simmm_sim *sim, struct simmm_page *f, simmm_entry_t swp)
{
	assert_true(f->flags & PG_swapcache);
	assert_int_equal(f->private, swp);
	assert_int_equal(simmm__swap_count(sim, swp), 0);
	assert_ptr_equal(simmm__swap_cache_lookup(sim, swp), f);
}

/* ---- 1. a read fault keeps it; reclaim drops it without I/O --------------------------- */

static void test_read_fault_keeps_swapcache(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);
	uint64_t n = 0, out, in;

	mx_write(mm, a, 1);
	mx_write(mm, a + PS, 2);
	swap_out(sim, mm, a);
	swap_out(sim, mm, a + PS);
	simmm_entry_t swp = swp_at(mm, a);
	out = mx_swpout(sim);
	in = swpin(sim);
	mx_expect(mm, a, 1);
	TU_CHECK(sim);
	assert_int_equal(swpin(sim), in + 1);
	struct simmm_page *f = folio_at(sim, mm, a);
	struct simmm_translation t = mx_tr(mm, a);
	expect_cached(sim, f, swp);
	assert_false(f->flags & PG_dirty);
	assert_true(t.write); /* exclusive: writable, clean */
	assert_false(simmm_pte_dirty(t.entry));
	assert_int_equal(f->refcount, 2); /* the mapping's and the cache's */
	assert_int_equal(mx_swap_used(sim), 2);
	assert_int_equal(mx_stats(mm).swap_ents, 1);
	/* Reclaim unmaps it to the slot it still holds, and frees it without
	 * writing: its slot has its contents. */
	simmm_pfn_t pfn = f->pfn;
	TU_ASSERT_OK(simmm_reclaim(sim, 1 << 20, &n));
	TU_CHECK(sim);
	assert_true(mx_page(sim, pfn).free);
	assert_int_equal(swp_at(mm, a), swp);
	assert_true(simmm_pte_swp_exclusive(mx_tr(mm, a).entry));
	assert_int_equal(simmm__swap_count(sim, swp), 1);
	assert_int_equal(mx_swpout(sim), out); /* no write */
	mx_expect(mm, a, 1);
	assert_int_equal(swpin(sim), in + 2); /* read from the slot again */
	mx_expect(mm, a + PS, 2);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	assert_int_equal(mx_swap_used(sim), 0);
	tu_sim_free(&sim);
}

/* ---- 2. swap more than half full ------------------------------------------------------ */

static void test_swap_full_frees_at_fault(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 4 * PS);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 3 * PS);

	for (unsigned i = 0; i < 3; i++)
		mx_write(mm, a + i * PS, 10 + i);
	for (unsigned i = 0; i < 3; i++)
		swap_out(sim, mm, a + i * PS);
	assert_int_equal(mx_swap_used(sim), 3);
	assert_true(simmm__vm_swap_full(sim)); /* 1 free of 4: 2 < 4 */
	/* Full: the read fault frees the swap cache, the folio dirty. */
	mx_expect(mm, a, 10);
	TU_CHECK(sim);
	struct simmm_page *f = folio_at(sim, mm, a);
	assert_false(f->flags & PG_swapcache);
	assert_true(f->flags & PG_dirty);
	assert_int_equal(mx_swap_used(sim), 2);
	/* 2 free of 4 is not more than half used: the next one stays. */
	assert_false(simmm__vm_swap_full(sim));
	simmm_entry_t swp = swp_at(mm, a + PS);
	mx_expect(mm, a + PS, 11);
	TU_CHECK(sim);
	f = folio_at(sim, mm, a + PS);
	expect_cached(sim, f, swp);
	assert_false(f->flags & PG_dirty);
	assert_int_equal(mx_swap_used(sim), 2);
	mx_expect(mm, a + 2 * PS, 12);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* ---- 3. write faults -------------------------------------------------------------------- */

/* Exclusive entry, nobody else: freed, mapped writable and dirty. */
static void test_write_fault_frees_alone(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);

	mx_write(mm, a, 3);
	swap_out(sim, mm, a);
	mx_write(mm, a, 4);
	TU_CHECK(sim);
	struct simmm_page *f = folio_at(sim, mm, a);
	assert_false(f->flags & PG_swapcache);
	assert_true(f->flags & PG_dirty);
	assert_true(mx_tr(mm, a).write);
	assert_true(simmm_pte_dirty(mx_tr(mm, a).entry));
	assert_int_equal(f->refcount, 1);
	assert_int_equal(mx_swap_used(sim), 0);
	mx_expect(mm, a, 4);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* A shared (fork) swap entry whose other side is gone: the write fault's
 * folio_free_swap() leaves the lookup's reference alone, so the page is
 * exclusive and mapped writable at once (do_swap_page()'s
 * "folio_ref_count(folio) == 1"), without going through do_wp_page(). */
static void test_write_fault_shared_entry_exclusive(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, PS);

	mx_write(mm, a, 5);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	swap_out(sim, mm, a);
	assert_false(simmm_pte_swp_exclusive(mx_tr(mm, a).entry));
	TU_ASSERT_OK(simmm_mmput(child));
	TU_CHECK(sim);
	assert_int_equal(simmm__swap_count(sim, swp_at(mm, a)), 1);
	struct simmm_mm_stats st = mx_stats(mm);
	mx_write(mm, a, 6);
	TU_CHECK(sim);
	struct simmm_page *f = folio_at(sim, mm, a);
	assert_int_equal(mx_stats(mm).reuse_faults, st.reuse_faults);
	assert_int_equal(mx_stats(mm).cow_faults, st.cow_faults);
	assert_true(f->flags & PG_anon_exclusive);
	assert_false(f->flags & PG_swapcache);
	assert_true(mx_tr(mm, a).write);
	assert_int_equal(mx_swap_used(sim), 0);
	mx_expect(mm, a, 6);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* A reference beyond the lookup's and the cache's (a FOLL_GET that outlived
 * reclaim): the write fault keeps the folio in the swap cache, mapped
 * writable under a dirty pte; the next reclaim moves the pte's dirty bit
 * to the folio and writes it. */
static void test_write_fault_extra_ref_keeps(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);
	simmm_pfn_t pfn = 0;
	uint64_t n = 0, out;

	mx_write(mm, a, 7);
	assert_int_equal(simmm_get_user_pages(mm, a, 1, 0, &pfn), 1);
	swap_out(sim, mm, a);
	simmm_entry_t swp = swp_at(mm, a);
	struct simmm_page *f = simmm__pfn_to_page(sim, pfn);
	assert_ptr_equal(simmm__swap_cache_lookup(sim, swp), f);
	out = mx_swpout(sim);
	mx_write(mm, a, 8);
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a).pfn, pfn);
	expect_cached(sim, f, swp);
	assert_false(f->flags & PG_dirty);
	assert_true(mx_tr(mm, a).write);
	assert_true(simmm_pte_dirty(mx_tr(mm, a).entry));
	TU_ASSERT_OK(simmm_put_user_pages(sim, &pfn, 1));
	TU_ASSERT_OK(simmm_reclaim(sim, 1 << 20, &n));
	TU_CHECK(sim);
	assert_true(mx_page(sim, pfn).free);
	assert_int_equal(mx_swpout(sim), out + 1);
	mx_expect(mm, a, 8);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* ---- 4. do_wp_page() on a swap-cache folio ---------------------------------------------- */

/* Shared by fork, swapped out of both, read back by both: one folio, two
 * read-only mappings, in the swap cache with count 0. The child goes (its
 * zap keeps the folio in the cache: the parent maps it); the parent's
 * write reuses it after folio_free_swap(). */
static void test_wp_reuse_frees_swap(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, PS);

	mx_write(mm, a, 9);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	swap_out(sim, mm, a);
	swap_out(sim, child, a);
	simmm_entry_t swp = swp_at(mm, a);
	mx_expect(mm, a, 9);
	mx_expect(child, a, 9);
	TU_CHECK(sim);
	struct simmm_page *f = folio_at(sim, mm, a);
	assert_ptr_equal(folio_at(sim, child, a), f);
	expect_cached(sim, f, swp);
	assert_false(mx_tr(mm, a).write);
	assert_false(mx_tr(child, a).write);
	assert_int_equal(f->mapcount, 2);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_CHECK(sim);
	expect_cached(sim, f, swp);
	assert_int_equal(mx_swap_used(sim), 1);
	struct simmm_mm_stats st = mx_stats(mm);
	mx_write(mm, a, 10);
	TU_CHECK(sim);
	assert_ptr_equal(folio_at(sim, mm, a), f); /* reused, not copied */
	assert_int_equal(mx_stats(mm).reuse_faults, st.reuse_faults + 1);
	assert_false(f->flags & PG_swapcache);
	assert_true(f->flags & PG_dirty);
	assert_true(f->flags & PG_anon_exclusive);
	assert_int_equal(f->refcount, 1);
	assert_int_equal(mx_swap_used(sim), 0);
	mx_expect(mm, a, 10);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* The child's swap entry still needs the slot: folio_free_swap() fails,
 * the parent's write copies, and the child faults the old folio in from
 * the swap cache (no I/O). */
static void test_wp_copy_while_slot_needed(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, PS);

	mx_write(mm, a, 11);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	swap_out(sim, mm, a);
	swap_out(sim, child, a);
	simmm_entry_t swp = swp_at(mm, a);
	mx_expect(mm, a, 11);
	TU_CHECK(sim);
	struct simmm_page *f = folio_at(sim, mm, a);
	assert_int_equal(simmm__swap_count(sim, swp), 1);
	assert_false(mx_tr(mm, a).write);
	struct simmm_mm_stats st = mx_stats(mm);
	mx_write(mm, a, 12);
	TU_CHECK(sim);
	assert_int_equal(mx_stats(mm).cow_faults, st.cow_faults + 1);
	assert_ptr_not_equal(folio_at(sim, mm, a), f);
	assert_true(f->flags & PG_swapcache);
	assert_int_equal(simmm__swap_count(sim, swp), 1);
	uint64_t in = swpin(sim);
	mx_expect(child, a, 11);
	assert_int_equal(swpin(sim), in);
	assert_ptr_equal(folio_at(sim, child, a), f);
	mx_expect(mm, a, 12);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	assert_int_equal(mx_swap_used(sim), 0);
	tu_sim_free(&sim);
}

/* A reference beyond the mapping's and the cache's makes the write copy;
 * the old folio, unmapped now, leaves the swap cache (wp_page_copy()'s
 * free_swap_cache()) and its slot is freed; the reference keeps it until
 * it is put. */
static void test_wp_copy_frees_old_swapcache(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, PS);
	simmm_pfn_t pfn = 0;

	mx_write(mm, a, 13);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	swap_out(sim, mm, a);
	swap_out(sim, child, a);
	simmm_entry_t swp = swp_at(mm, a);
	mx_expect(mm, a, 13);
	TU_ASSERT_OK(simmm_munmap(child, a, PS)); /* the last swap entry goes */
	TU_CHECK(sim);
	struct simmm_page *f = folio_at(sim, mm, a);
	expect_cached(sim, f, swp); /* still mapped: kept */
	assert_int_equal(simmm_get_user_pages(mm, a, 1, 0, &pfn), 1);
	assert_int_equal(pfn, f->pfn);
	assert_int_equal(f->refcount, 3); /* mapping, cache, GUP */
	mx_write(mm, a, 14);
	TU_CHECK(sim);
	assert_ptr_not_equal(folio_at(sim, mm, a), f);
	assert_false(f->flags & PG_swapcache);
	assert_int_equal(f->mapcount, 0);
	assert_int_equal(f->refcount, 1); /* GUP's */
	assert_int_equal(mx_swap_used(sim), 0);
	TU_ASSERT_OK(simmm_put_user_pages(sim, &pfn, 1));
	TU_CHECK(sim);
	assert_true(mx_page(sim, pfn).free);
	mx_expect(mm, a, 14);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* ---- 5. zaps ---------------------------------------------------------------------------- */

/* The last mapping's zap frees the folio and its slot (free_swap_cache()
 * at the TLB flush); a zap that leaves a mapping keeps both. */
static void test_zap_frees_swapcache(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);

	mx_write(mm, a, 15);
	mx_write(mm, a + PS, 16);
	swap_out(sim, mm, a);
	swap_out(sim, mm, a + PS);
	mx_expect(mm, a, 15);
	mx_expect(mm, a + PS, 16);
	TU_CHECK(sim);
	struct simmm_page *f0 = folio_at(sim, mm, a), *f1 = folio_at(sim, mm, a + PS);
	assert_true(f0->flags & PG_swapcache);
	assert_true(f1->flags & PG_swapcache);
	assert_int_equal(mx_swap_used(sim), 2);
	simmm_pfn_t p0 = f0->pfn, p1 = f1->pfn;
	/* Page 0: the only mapping goes. */
	TU_ASSERT_OK(simmm_madvise(mm, a, PS, SIMMM_MADV_DONTNEED));
	TU_CHECK(sim);
	assert_true(mx_page(sim, p0).free);
	assert_int_equal(mx_swap_used(sim), 1);
	/* Page 1: shared with a child first; its zap keeps the folio, the
	 * parent's frees it. */
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_ASSERT_OK(simmm_munmap(child, a + PS, PS));
	TU_CHECK(sim);
	assert_true(f1->flags & PG_swapcache);
	assert_int_equal(mx_swap_used(sim), 1);
	mx_expect(mm, a + PS, 16);
	TU_ASSERT_OK(simmm_munmap(mm, a + PS, PS));
	TU_CHECK(sim);
	assert_true(mx_page(sim, p1).free);
	assert_int_equal(mx_swap_used(sim), 0);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* free_swap_and_cache(): the zap of the last swap entry frees a cached
 * folio nothing maps (MADV_WILLNEED read it in), and keeps one another mm
 * maps (covered in test_madvise.c's MADV_FREE case too). */
static void test_zap_swap_entry_frees_unmapped_cache(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);

	mx_write(mm, a, 17);
	swap_out(sim, mm, a);
	simmm_entry_t swp = swp_at(mm, a);
	TU_ASSERT_OK(simmm_madvise(mm, a, PS, SIMMM_MADV_WILLNEED));
	TU_CHECK(sim);
	struct simmm_page *f = simmm__swap_cache_lookup(sim, swp);
	assert_non_null(f);
	assert_int_equal(f->mapcount, 0);
	assert_int_equal(simmm__swap_count(sim, swp), 1);
	simmm_pfn_t pfn = f->pfn;
	TU_ASSERT_OK(simmm_munmap(mm, a, PS));
	TU_CHECK(sim);
	assert_true(mx_page(sim, pfn).free);
	assert_int_equal(mx_swap_used(sim), 0);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* A swap-cache folio MADV_WILLNEED read in and nothing mapped is not
 * PG_anon yet; reclaim frees it from the swap cache like any clean one
 * (it went off the LRU for good, as if shmem, and stayed off it once a
 * fault mapped it: found by fuzz_mm_ops's memory-failure op, which found
 * such a page unhandlable). */
static void test_reclaim_frees_unmapped_readahead(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);
	struct simmm_page *f;
	simmm_pfn_t pfn;
	uint64_t n;

	mx_write(mm, a, 23);
	swap_out(sim, mm, a);
	simmm_entry_t swp = swp_at(mm, a);
	TU_ASSERT_OK(simmm_madvise(mm, a, PS, SIMMM_MADV_WILLNEED));
	TU_CHECK(sim);
	f = simmm__swap_cache_lookup(sim, swp);
	assert_non_null(f);
	assert_false(f->flags & PG_anon);
	assert_true(f->flags & PG_lru);
	pfn = f->pfn;
	for (int i = 0; i < 8 && !mx_page(sim, pfn).free; i++)
		TU_ASSERT_OK(simmm_reclaim(sim, 1 << 20, &n));
	TU_CHECK(sim);
	assert_true(mx_page(sim, pfn).free);
	assert_null(simmm__swap_cache_lookup(sim, swp));
	assert_true(simmm_is_real_swap_entry(mx_tr(mm, a).entry));
	/* read back from the slot, on the LRU, reclaimable again */
	mx_expect(mm, a, 23);
	f = folio_at(sim, mm, a);
	assert_true(f->flags & PG_lru);
	swap_out(sim, mm, a);
	mx_expect(mm, a, 23);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* ---- 6. fork and COW ---------------------------------------------------------------------- */

/* A mapped swap-cache folio shared by fork: both read-only; the parent's
 * write copies (mappings and cache hold it); the child keeps the old folio
 * in the swap cache until its exit frees both. */
static void test_fork_cow_swapcache(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, PS);

	mx_write(mm, a, 18);
	swap_out(sim, mm, a);
	simmm_entry_t swp = swp_at(mm, a);
	mx_expect(mm, a, 18);
	struct simmm_page *f = folio_at(sim, mm, a);
	expect_cached(sim, f, swp);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	assert_false(mx_tr(mm, a).write);
	assert_false(mx_tr(child, a).write);
	assert_ptr_equal(folio_at(sim, child, a), f);
	assert_int_equal(f->refcount, 3); /* two mappings, the cache */
	mx_write(mm, a, 19);
	TU_CHECK(sim);
	assert_ptr_not_equal(folio_at(sim, mm, a), f);
	expect_cached(sim, f, swp);
	mx_expect(child, a, 18);
	mx_expect(mm, a, 19);
	simmm_pfn_t pfn = f->pfn;
	TU_ASSERT_OK(simmm_mmput(child));
	TU_CHECK(sim);
	assert_true(mx_page(sim, pfn).free);
	assert_int_equal(mx_swap_used(sim), 0);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* ---- 7. mlock ----------------------------------------------------------------------------- */

/* A read fault in a VM_LOCKED VMA frees the swap cache: the page will not
 * be swapped out again. */
static void test_mlocked_vma_frees_at_fault(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);

	mx_write(mm, a, 20);
	swap_out(sim, mm, a);
	TU_ASSERT_OK(simmm_mlock2(mm, a, PS, SIMMM_MLOCK_ONFAULT));
	TU_CHECK(sim);
	mx_expect(mm, a, 20);
	TU_CHECK(sim);
	struct simmm_page *f = folio_at(sim, mm, a);
	assert_false(f->flags & PG_swapcache);
	assert_true(f->flags & PG_dirty);
	assert_int_equal(mx_swap_used(sim), 0);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* An mlocked folio met through the swap cache by an mm that does not lock
 * it: the parent's locked VMA holds it mlocked (reclaim mlocked it there,
 * and could not free its swap: the child's entry still needed the slot);
 * the child's read fault frees the swap cache (folio_test_mlocked()). */
static void test_mlocked_folio_frees_at_fault(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, PS);
	uint64_t n = 0;

	mx_write(mm, a, 21);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	swap_out(sim, mm, a);
	swap_out(sim, child, a);
	simmm_entry_t swp = swp_at(mm, a);
	TU_ASSERT_OK(simmm_mlock2(mm, a, PS, SIMMM_MLOCK_ONFAULT));
	mx_expect(mm, a, 21);
	TU_CHECK(sim);
	struct simmm_page *f = folio_at(sim, mm, a);
	assert_true(f->flags & PG_swapcache); /* the child's entry needs it */
	assert_int_equal(simmm__swap_count(sim, swp), 1);
	TU_ASSERT_OK(simmm_reclaim(sim, 1 << 20, &n));
	TU_CHECK(sim);
	assert_true(f->flags & PG_mlocked);
	assert_true(f->flags & PG_swapcache);
	assert_true(mx_tr(mm, a).present);
	mx_expect(child, a, 21);
	TU_CHECK(sim);
	assert_ptr_equal(folio_at(sim, child, a), f);
	assert_false(f->flags & PG_swapcache);
	assert_int_equal(mx_swap_used(sim), 0);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* ---- 8. activate_locked ------------------------------------------------------------------- */

/* A pinned swap-cache folio stays mapped through reclaim, which activates
 * it: its slot stays while swap has room and goes once swap is more than
 * half full (activate_locked's mem_cgroup_swap_full()). */
static void test_activate_locked_frees_when_full(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 4 * PS);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 3 * PS);
	simmm_pfn_t pfn = 0;
	uint64_t n = 0;

	mx_write(mm, a, 22);
	swap_out(sim, mm, a);
	simmm_entry_t swp = swp_at(mm, a);
	mx_expect(mm, a, 22);
	TU_CHECK(sim);
	assert_int_equal(simmm_pin_user_pages(mm, a, 1, 0, &pfn), 1);
	struct simmm_page *f = simmm__pfn_to_page(sim, pfn);
	expect_cached(sim, f, swp);
	TU_ASSERT_OK(simmm_reclaim(sim, 1 << 20, &n));
	TU_CHECK(sim);
	assert_true(mx_tr(mm, a).present);
	expect_cached(sim, f, swp); /* swap has room: kept */
	mx_write(mm, a + PS, 23);
	mx_write(mm, a + 2 * PS, 24);
	swap_out(sim, mm, a + PS);
	/* Three of four slots in use once both are out: the reclaim that
	 * meets the pinned folio after that frees its slot. */
	swap_out(sim, mm, a + 2 * PS);
	for (int i = 0; i < 4 && (f->flags & PG_swapcache); i++)
		TU_ASSERT_OK(simmm_reclaim(sim, 1 << 20, &n));
	TU_CHECK(sim);
	assert_true(mx_tr(mm, a).present);
	assert_false(f->flags & PG_swapcache);
	assert_true(f->flags & PG_dirty);
	assert_int_equal(mx_swap_used(sim), 2);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pfn, 1));
	mx_expect(mm, a, 22);
	mx_expect(mm, a + PS, 23);
	mx_expect(mm, a + 2 * PS, 24);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_fault_keeps_swapcache),
		cmocka_unit_test(test_swap_full_frees_at_fault),
		cmocka_unit_test(test_write_fault_frees_alone),
		cmocka_unit_test(test_write_fault_shared_entry_exclusive),
		cmocka_unit_test(test_write_fault_extra_ref_keeps),
		cmocka_unit_test(test_wp_reuse_frees_swap),
		cmocka_unit_test(test_wp_copy_while_slot_needed),
		cmocka_unit_test(test_wp_copy_frees_old_swapcache),
		cmocka_unit_test(test_zap_frees_swapcache),
		cmocka_unit_test(test_zap_swap_entry_frees_unmapped_cache),
		cmocka_unit_test(test_fork_cow_swapcache),
		cmocka_unit_test(test_mlocked_vma_frees_at_fault),
		cmocka_unit_test(test_mlocked_folio_frees_at_fault),
		cmocka_unit_test(test_activate_locked_frees_when_full),
		cmocka_unit_test(test_reclaim_frees_unmapped_readahead),
	};

	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
