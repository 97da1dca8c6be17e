// SPDX-License-Identifier: MIT
/*
 * memory_failure() and MADV_HWPOISON (src/mm/memory_failure.c) against
 * upstream's mm/memory-failure.c, one case per page state:
 *  1. an anonymous page: unmapped to a hwpoison entry (access SIGBUS,
 *     GUP -EFAULT, fork copies the entry, munmap drops it), the frame is
 *     never handed out again; MF_ACTION_REQUIRED signals the current
 *     process (BUS_MCEERR_AR), a second failure gives -EHWPOISON and
 *     signals again only while the process still maps the frame;
 *     a device mirror sees MMU_NOTIFY_CLEAR and hmm_range_fault() -EFAULT;
 *  2. a free frame is taken off the buddy; page tables and the zero page
 *     are refused (-EBUSY) and stay unpoisoned;
 *  3. page cache: a clean page of a regular file is just dropped (the
 *     next fault reads the file again, no signal), a dirty one is lost
 *     (hwpoison entry, the file keeps the old data, fsync reports -EIO
 *     once); a shmem page stays cached, poisoned (read/write -EIO, fault
 *     SIGBUS); an extra reference makes the result -EBUSY;
 *  4. swap cache: a clean folio leaves it (the next fault reads the slot
 *     again), a dirty one (read back, then written through its pte) stays
 *     in it and its fault SIGBUSes;
 *  5. a THP is split and only the poisoned page goes; a pinned THP cannot
 *     be split (-EHWPOISON, the current process signalled);
 *  6. an mlocked page is unmapped anyway;
 *  7. MADV_HWPOISON: CAP_SYS_ADMIN, each page in turn, a THP skipped whole
 *     after its first page, the zero page refused, a hole -EFAULT;
 *     unpoison_memory() frees a frame held for its poison alone, refuses
 *     one still referenced, and every one after a hardware failure;
 *  8. device memory: the pagemap's ->memory_failure() decides, without it
 *     -EBUSY;
 *  9. argument checks, and an allocation-failure sweep (a failure with
 *     ACTION_REQUIRED, one of a free frame, a fork).
 * Every step runs the invariant checker.
 */
#include <simmm/hmm.h>
#include <simmm/memremap.h>

#include "test_mm_ext_util.h"

#define RW (SIMMM_PROT_READ | SIMMM_PROT_WRITE)

static struct simmm_mf_stats mf_stats(simmm_sim *sim)
{
	struct simmm_mf_stats st;

	TU_ASSERT_OK(simmm_memory_failure_stats(sim, &st));
	return st;
}

static bool poisoned(simmm_sim *sim, simmm_pfn_t pfn)
{
	return mx_page(sim, pfn).flags & PG_hwpoison;
}

static bool hwpoison_at(struct simmm_mm *mm, simmm_addr_t a, simmm_pfn_t pfn)
{
	simmm_entry_t e = mx_tr(mm, a).entry;
	simmm_pfn_t p = 0;

	return simmm_is_hwpoison_entry(e) && simmm_entry_pfn(e, &p) && p == pfn;
}

static int access8(struct simmm_mm *mm, simmm_addr_t a, enum simmm_access acc)
{
	uint8_t b = 0x5a;

	return simmm_mm_access(mm, a, &b, 1, acc);
}

static simmm_addr_t map_file(struct simmm_mm *mm, struct simmm_file *f, uint64_t len, int flags)
{
	simmm_addr_t a = 0;

	TU_ASSERT_OK(simmm_mmap(mm, 0, len, RW, flags, f, 0, &a));
	return a;
}

static struct simmm_file *file_with(simmm_sim *sim, unsigned pages, unsigned tag, unsigned flags)
{
	struct simmm_file *f = NULL;

	TU_ASSERT_OK(simmm_file_create(sim, pages * PS, flags, &f));
	for (unsigned p = 0; p < pages; p++) {
		uint8_t b = (uint8_t)(tag + p);

		assert_int_equal(simmm_file_pwrite(f, &b, 1, p * PS), 1);
	}
	if (!(flags & SIMMM_FILE_SHMEM))
		TU_ASSERT_OK(simmm_file_fsync(f));
	return f;
}

static uint8_t file_byte(struct simmm_file *f, uint64_t off)
{
	uint8_t b = 0;

	assert_int_equal(simmm_file_pread(f, &b, 1, off), 1);
	return b;
}

/* ---- 1. anonymous pages ------------------------------------------------------------------- */

static void test_anon(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, 3 * PS);
	simmm_pfn_t pfn, got;
	struct simmm_mm_stats st;

	for (unsigned i = 0; i < 3; i++)
		mx_write(mm, a + i * PS, i + 1);
	pfn = mx_tr(mm, a + PS).pfn;
	assert_int_equal(simmm_memory_failure(sim, pfn, 0, NULL), 0);
	TU_CHECK(sim);
	/* The pte is a hwpoison entry of the frame; the frame is poisoned,
	 * off the LRU, held (one reference, nothing else). */
	assert_true(hwpoison_at(mm, a + PS, pfn));
	assert_true(poisoned(sim, pfn));
	assert_int_equal(mx_page(sim, pfn).refcount, 1);
	assert_int_equal(mx_page(sim, pfn).flags, PG_hwpoison);
	assert_int_equal(mf_stats(sim).recovered, 1);
	assert_int_equal(mf_stats(sim).poisoned, 1);
	/* Nobody was told at once (no early kill, no ACTION_REQUIRED). */
	st = mx_stats(mm);
	assert_int_equal(st.mce_sigbus_ar + st.mce_sigbus_ao + st.mce_sigkill, 0);
	assert_int_equal(st.rss_anon, 2);
	/* The neighbours are untouched; the page itself SIGBUSes. */
	mx_expect(mm, a, 1);
	mx_expect(mm, a + 2 * PS, 3);
	assert_int_equal(access8(mm, a + PS, SIMMM_ACCESS_READ), -EFAULT);
	assert_int_equal(access8(mm, a + PS, SIMMM_ACCESS_WRITE), -EFAULT);
	assert_int_equal(mx_stats(mm).sigbus, 2);
	assert_int_equal(simmm_get_user_pages(mm, a + PS, 1, 0, &got), -EFAULT);
	TU_CHECK(sim);
	/* fork copies the entry: the child SIGBUSes too. */
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	assert_true(hwpoison_at(child, a + PS, pfn));
	assert_int_equal(access8(child, a + PS, SIMMM_ACCESS_READ), -EFAULT);
	mx_expect(child, a + 2 * PS, 3);
	TU_ASSERT_OK(simmm_mmput(child));
	/* munmap drops the entries; the frame stays out of the buddy. */
	TU_ASSERT_OK(simmm_munmap(mm, a, 3 * PS));
	TU_CHECK(sim);
	assert_true(mx_page(sim, pfn - 1).free || mx_page(sim, pfn + 1).free);
	assert_true(poisoned(sim, pfn));
	assert_false(mx_page(sim, pfn).free);
	/* A new mapping there faults a fresh page, never that frame. */
	a = mx_anon(mm, a, 3 * PS);
	for (unsigned i = 0; i < 3; i++) {
		mx_write(mm, a + i * PS, 7);
		assert_int_not_equal(mx_tr(mm, a + i * PS).pfn, pfn);
	}
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* What a device driver sees: its interval notifier gets the unmap as an
 * MMU_NOTIFY_CLEAR over the page, and hmm_range_fault() then fails with
 * -EFAULT on the hwpoison entry (asked to fault) or reports no pfn (a
 * snapshot), while the page beside it mirrors as before. */
static void test_mirror(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);
	struct tu_counter c = {0};
	uint64_t pfns[2] = {0};
	struct simmm_hmm_range r = {.notifier = &c.mn, .start = a, .end = a + 2 * PS,
				     .hmm_pfns = pfns};
	simmm_pfn_t pfn;

	mx_write(mm, a, 1);
	mx_write(mm, a + PS, 2);
	pfn = mx_tr(mm, a).pfn;
	TU_ASSERT_OK(simmm_mmu_interval_notifier_insert(&c.mn, mm, a, 2 * PS, &tu_counter_ops));
	assert_int_equal(simmm_memory_failure(sim, pfn, 0, NULL), 0);
	TU_CHECK(sim);
	assert_int_equal(c.events[SIMMM_MMU_NOTIFY_CLEAR], 1);
	assert_true(c.last_start <= a && c.last_end >= a + PS);
	r.default_flags = SIMMM_HMM_PFN_REQ_FAULT;
	assert_int_equal(simmm_hmm_range_fault_retry(&r, 1000), -EFAULT);
	r.default_flags = 0;
	TU_ASSERT_OK(simmm_hmm_range_fault_retry(&r, 1000));
	assert_false(pfns[0] & SIMMM_HMM_PFN_VALID);
	assert_true(pfns[1] & SIMMM_HMM_PFN_VALID);
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&c.mn));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_action_required(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *other = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);
	simmm_pfn_t pfn;

	mx_write(mm, a, 1);
	pfn = mx_tr(mm, a).pfn;
	/* The current process consumed the poison: SIGBUS BUS_MCEERR_AR
	 * (the page was dirty: its data is lost). */
	assert_int_equal(simmm_memory_failure(sim, pfn, SIMMM_MF_ACTION_REQUIRED, mm), 0);
	TU_CHECK(sim);
	assert_int_equal(mx_stats(mm).mce_sigbus_ar, 1);
	assert_true(hwpoison_at(mm, a, pfn));
	/* Again: poisoned already; the process still has the hwpoison entry
	 * (kill_accessing_process() finds it): another SIGBUS. */
	assert_int_equal(simmm_memory_failure(sim, pfn, SIMMM_MF_ACTION_REQUIRED, mm), -EHWPOISON);
	assert_int_equal(mx_stats(mm).mce_sigbus_ar, 2);
	/* A process that does not map it: nothing to signal, 0. */
	assert_int_equal(simmm_memory_failure(sim, pfn, SIMMM_MF_ACTION_REQUIRED, other), 0);
	assert_int_equal(mx_stats(other).mce_sigbus_ar, 0);
	/* Without ACTION_REQUIRED: just -EHWPOISON. */
	assert_int_equal(simmm_memory_failure(sim, pfn, 0, mm), -EHWPOISON);
	assert_int_equal(mx_stats(mm).mce_sigbus_ar, 2);
	assert_int_equal(mf_stats(sim).failed, 3);
	assert_int_equal(mf_stats(sim).poisoned, 1);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(other));
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* ---- 2. free frames and kernel pages ------------------------------------------------------ */

static void test_free_and_kernel(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_pfn_t last = 64 * MIB / PS - 1, zero, table;
	simmm_addr_t a = mx_anon(mm, 0, PS);
	uint64_t free_before = mx_free_pages(sim);
	uint8_t b;

	/* The last frame is free (allocation starts at low pfns). */
	assert_true(mx_page(sim, last).free);
	assert_int_equal(simmm_memory_failure(sim, last, 0, NULL), 0);
	TU_CHECK(sim);
	assert_false(mx_page(sim, last).free);
	assert_true(poisoned(sim, last));
	assert_int_equal(mx_free_pages(sim), free_before - 1);
	assert_int_equal(simmm_memory_failure(sim, last, 0, NULL), -EHWPOISON);
	/* The rest of its block is still free: a frame in the middle too. */
	assert_true(mx_page(sim, last - 1).free);
	assert_int_equal(simmm_memory_failure(sim, last - 7, 0, NULL), 0);
	assert_true(mx_page(sim, last - 6).free && mx_page(sim, last - 8).free);
	TU_CHECK(sim);
	/* The zero page (a read fault maps it) and a page table: refused,
	 * and left unpoisoned. */
	TU_ASSERT_OK(simmm_mm_access(mm, a, &b, 1, SIMMM_ACCESS_READ));
	zero = mx_tr(mm, a).pfn;
	assert_true(mx_page(sim, zero).flags & PG_zero);
	assert_int_equal(simmm_memory_failure(sim, zero, 0, NULL), -EBUSY);
	assert_false(poisoned(sim, zero));
	table = 0;
	for (simmm_pfn_t p = 0; p < 64 && !table; p++)
		if (mx_page(sim, p).table)
			table = p;
	assert_true(table != 0);
	assert_int_equal(simmm_memory_failure(sim, table, 0, NULL), -EBUSY);
	assert_false(poisoned(sim, table));
	assert_int_equal(mf_stats(sim).ignored, 2);
	assert_int_equal(mf_stats(sim).recovered, 2);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* ---- 3. page cache -------------------------------------------------------------------------- */

static void test_file_clean(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = file_with(sim, 2, 0x40, 0);
	simmm_addr_t a = map_file(mm, f, 2 * PS, SIMMM_MAP_SHARED);
	simmm_pfn_t pfn;
	uint8_t b = 0;

	TU_ASSERT_OK(simmm_mm_access(mm, a, &b, 1, SIMMM_ACCESS_READ));
	assert_int_equal(b, 0x40);
	pfn = mx_tr(mm, a).pfn;
	/* Clean, and the file has writeback: dropped without side effects;
	 * the pte is none, not a hwpoison entry. */
	assert_int_equal(simmm_memory_failure(sim, pfn, SIMMM_MF_ACTION_REQUIRED, mm), 0);
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a).entry, 0);
	assert_int_equal(mx_stats(mm).mce_sigbus_ar, 0);
	assert_true(poisoned(sim, pfn));
	/* The next fault reads the file again into another page. */
	b = 0;
	TU_ASSERT_OK(simmm_mm_access(mm, a, &b, 1, SIMMM_ACCESS_READ));
	assert_int_equal(b, 0x40);
	assert_int_not_equal(mx_tr(mm, a).pfn, pfn);
	TU_ASSERT_OK(simmm_file_fsync(f));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	simmm_file_put(f);
	tu_sim_free(&sim);
}

static void test_file_dirty(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = file_with(sim, 2, 0x40, 0);
	simmm_addr_t a = map_file(mm, f, 2 * PS, SIMMM_MAP_SHARED);
	simmm_pfn_t pfn;
	uint8_t b = 0x99;

	TU_ASSERT_OK(simmm_mm_access(mm, a, &b, 1, SIMMM_ACCESS_WRITE));
	pfn = mx_tr(mm, a).pfn;
	assert_int_equal(simmm_memory_failure(sim, pfn, SIMMM_MF_ACTION_REQUIRED, mm), 0);
	TU_CHECK(sim);
	/* The write is lost: the mapping SIGBUSes (the process was told),
	 * read() gets what the disk has, fsync reports -EIO once. */
	assert_true(hwpoison_at(mm, a, pfn));
	assert_int_equal(mx_stats(mm).mce_sigbus_ar, 1);
	assert_int_equal(access8(mm, a, SIMMM_ACCESS_READ), -EFAULT);
	assert_int_equal(file_byte(f, 0), 0x40);
	assert_int_equal(simmm_file_fsync(f), -EIO);
	TU_ASSERT_OK(simmm_file_fsync(f));
	/* The other page is fine. */
	b = 0;
	TU_ASSERT_OK(simmm_mm_access(mm, a + PS, &b, 1, SIMMM_ACCESS_READ));
	assert_int_equal(b, 0x41);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	simmm_file_put(f);
	tu_sim_free(&sim);
}

static void test_file_extra_ref(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = file_with(sim, 1, 0x40, 0);
	simmm_addr_t a = map_file(mm, f, PS, SIMMM_MAP_SHARED);
	simmm_pfn_t pfn;

	assert_int_equal(simmm_get_user_pages(mm, a, 1, 0, &pfn), 1);
	/* Truncated out of the cache and unmapped, but someone still holds
	 * it: "still referenced by 1 users", failed. */
	assert_int_equal(simmm_memory_failure(sim, pfn, 0, NULL), -EBUSY);
	TU_CHECK(sim);
	assert_int_equal(mf_stats(sim).failed, 1);
	assert_int_equal(mx_tr(mm, a).entry, 0);
	TU_ASSERT_OK(simmm_put_user_pages(sim, &pfn, 1));
	TU_CHECK(sim);
	/* The last reference gone, the frame is held, not freed. */
	assert_true(poisoned(sim, pfn));
	assert_false(mx_page(sim, pfn).free);
	assert_int_equal(file_byte(f, 0), 0x40);
	TU_ASSERT_OK(simmm_mmput(mm));
	simmm_file_put(f);
	tu_sim_free(&sim);
}

static void test_shmem(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *mm2 = mx_mm(sim);
	struct simmm_file *f = file_with(sim, 2, 0x40, SIMMM_FILE_SHMEM);
	simmm_addr_t a = map_file(mm, f, 2 * PS, SIMMM_MAP_SHARED), a2;
	simmm_pfn_t pfn;
	uint8_t b = 0;

	TU_ASSERT_OK(simmm_mm_access(mm, a, &b, 1, SIMMM_ACCESS_READ));
	pfn = mx_tr(mm, a).pfn;
	/* shmem has no writeback: the page is lost even clean, and stays in
	 * the cache poisoned. */
	assert_int_equal(simmm_memory_failure(sim, pfn, 0, NULL), 0);
	TU_CHECK(sim);
	assert_true(hwpoison_at(mm, a, pfn));
	assert_int_equal(simmm_file_pread(f, &b, 1, 0), -EIO);
	assert_int_equal(simmm_file_pwrite(f, &b, 1, 0), -EIO);
	assert_int_equal(file_byte(f, PS), 0x41);
	/* A new mapping faults on the cached poisoned page: SIGBUS. */
	a2 = map_file(mm2, f, 2 * PS, SIMMM_MAP_SHARED);
	assert_int_equal(access8(mm2, a2, SIMMM_ACCESS_READ), -EFAULT);
	assert_int_equal(mx_stats(mm2).sigbus, 1);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm2));
	TU_ASSERT_OK(simmm_mmput(mm));
	simmm_file_put(f);
	tu_sim_free(&sim);
}

/* ---- 4. swap cache -------------------------------------------------------------------------- */

/* An anonymous page swapped out by reclaim (of @child's mapping too, when
 * @child shares it) and read back by @mm: mapped there and still in the
 * swap cache, clean (a read fault leaves it there, and @child's swap entry
 * needs the slot anyway). */
static simmm_pfn_t swapcache_page(struct simmm_mm *mm, struct simmm_mm *child, simmm_addr_t a)
{
	simmm_sim *sim = simmm_mm_sim(mm);
	uint64_t got;
	uint8_t b;

	for (int i = 0; i < 8 && !simmm_is_real_swap_entry(mx_tr(mm, a).entry); i++)
		TU_ASSERT_OK(simmm_reclaim(sim, 64 * MIB / PS, &got));
	assert_true(simmm_is_real_swap_entry(mx_tr(mm, a).entry));
	if (child)
		assert_true(simmm_is_real_swap_entry(mx_tr(child, a).entry));
	TU_ASSERT_OK(simmm_mm_access(mm, a, &b, 1, SIMMM_ACCESS_READ));
	assert_true(mx_tr(mm, a).present);
	assert_true(mx_page(sim, mx_tr(mm, a).pfn).flags & PG_swapcache);
	assert_false(mx_page(sim, mx_tr(mm, a).pfn).flags & PG_dirty);
	return mx_tr(mm, a).pfn;
}

static void test_swapcache(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, PS), b;
	simmm_pfn_t clean, dirty;

	mx_write(mm, a, 3);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	b = mx_anon(mm, 0, PS); /* the parent's alone */
	mx_write(mm, b, 4);
	clean = swapcache_page(mm, child, a);
	dirty = swapcache_page(mm, NULL, b);
	TU_CHECK(sim);
	/* Clean: the slot has the data. The pte becomes a swap entry again,
	 * the folio leaves the cache, the next faults read the slot. */
	assert_int_equal(simmm_memory_failure(sim, clean, 0, NULL), 0);
	TU_CHECK(sim);
	assert_true(simmm_is_real_swap_entry(mx_tr(mm, a).entry));
	assert_false(mx_page(sim, clean).flags & PG_swapcache);
	mx_expect(mm, a, 3);
	mx_expect(child, a, 3);
	assert_int_not_equal(mx_tr(mm, a).pfn, clean);
	/* Dirty: the read fault mapped the exclusive page writable and left it
	 * in the swap cache (do_swap_page()); a store through the pte dirties
	 * the pte, and the unmap moves that to the folio. Only memory has the
	 * data: it stays in the swap cache, !uptodate, and every fault on its
	 * slot SIGBUSes. */
	mx_write(mm, b, 5);
	assert_int_equal(mx_tr(mm, b).pfn, dirty);
	assert_true(simmm_pte_dirty(mx_tr(mm, b).entry));
	assert_true(mx_page(sim, dirty).flags & PG_swapcache);
	TU_CHECK(sim);
	assert_int_equal(simmm_memory_failure(sim, dirty, 0, NULL), 0);
	TU_CHECK(sim);
	assert_int_equal(mf_stats(sim).delayed, 1);
	assert_true(simmm_is_real_swap_entry(mx_tr(mm, b).entry));
	assert_true(mx_page(sim, dirty).flags & PG_swapcache);
	assert_false(mx_page(sim, dirty).flags & (PG_dirty | PG_uptodate));
	assert_int_equal(access8(mm, b, SIMMM_ACCESS_READ), -EFAULT);
	assert_int_equal(mx_stats(mm).sigbus, 1);
	/* Once no entry refers to the slot, the cache lets go and the frame
	 * is held. */
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_munmap(mm, a, PS));
	TU_ASSERT_OK(simmm_munmap(mm, b, PS));
	TU_CHECK(sim);
	assert_int_equal(mx_swap_used(sim), 0);
	assert_int_equal(mx_page(sim, dirty).flags, PG_hwpoison);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* ---- 5. THP ---------------------------------------------------------------------------------- */

static void test_thp(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);
	simmm_pfn_t head, bad;

	mx_write(mm, a, 1);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PMD);
	mx_write(mm, a + 5 * PS, 6);
	head = mx_tr(mm, a).pfn;
	bad = head + 5;
	assert_int_equal(simmm_memory_failure(sim, bad, 0, NULL), 0);
	TU_CHECK(sim);
	/* Split: the other 511 pages stay mapped with their data. */
	assert_true(hwpoison_at(mm, a + 5 * PS, bad));
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PTE);
	mx_expect(mm, a, 1);
	assert_int_equal(mx_tr(mm, a + 4 * PS).pfn, head + 4);
	assert_int_equal(mx_tr(mm, a + 6 * PS).pfn, head + 6);
	assert_int_equal(mx_page(sim, head).order, 0);
	assert_int_equal(mx_stats(mm).rss_anon, NR - 1);
	TU_ASSERT_OK(simmm_munmap(mm, a, PMD));
	TU_CHECK(sim);
	assert_int_equal(mx_page(sim, bad).flags, PG_hwpoison);
	assert_true(mx_page(sim, head).free);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_thp_pinned(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);
	simmm_pfn_t pin, head;

	mx_write(mm, a, 1);
	head = mx_tr(mm, a).pfn;
	assert_int_equal(simmm_pin_user_pages(mm, a, 1, SIMMM_FOLL_WRITE, &pin), 1);
	/* The pin keeps the THP whole: the current process is told at once,
	 * the page is poisoned but stays mapped. */
	assert_int_equal(simmm_memory_failure(sim, head + 3, SIMMM_MF_ACTION_REQUIRED, mm),
			 -EHWPOISON);
	TU_CHECK(sim);
	assert_int_equal(mx_stats(mm).mce_sigbus_ar, 1);
	assert_true(poisoned(sim, head + 3));
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PMD);
	/* Touching the poisoned page consumes the poison: SIGBUS, no data. */
	assert_int_equal(access8(mm, a + 3 * PS, SIMMM_ACCESS_READ), -EFAULT);
	assert_int_equal(mx_stats(mm).mce_sigbus_ar, 2);
	mx_expect(mm, a, 1);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pin, 1));
	TU_ASSERT_OK(simmm_munmap(mm, a, PMD));
	TU_CHECK(sim);
	/* Freed: the healthy pages went back, the poisoned one is held. */
	assert_int_equal(mx_page(sim, head + 3).flags, PG_hwpoison);
	assert_true(mx_page(sim, head).free && mx_page(sim, head + 4).free);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* ---- 6. mlock -------------------------------------------------------------------------------- */

static void test_mlocked(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);
	simmm_pfn_t pfn;
	struct simmm_lru_stats before, after;

	mx_write(mm, a, 1);
	TU_ASSERT_OK(simmm_mlock(mm, a, PS));
	pfn = mx_tr(mm, a).pfn;
	assert_true(mx_page(sim, pfn).flags & PG_mlocked);
	TU_ASSERT_OK(simmm_lru_stats(sim, &before));
	/* TTU_IGNORE_MLOCK: unmapped in the VM_LOCKED VMA too, munlocked. */
	assert_int_equal(simmm_memory_failure(sim, pfn, 0, NULL), 0);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_lru_stats(sim, &after));
	assert_true(hwpoison_at(mm, a, pfn));
	assert_int_equal(after.nr_mlock, before.nr_mlock - 1);
	assert_int_equal(after.munlocked, before.munlocked + 1);
	assert_int_equal(mx_page(sim, pfn).flags, PG_hwpoison);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* ---- 7. MADV_HWPOISON ------------------------------------------------------------------------ */

static void test_madv_hwpoison(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS), t = thp_region(mm, PMD);
	simmm_pfn_t p[3], head;

	for (unsigned i = 0; i < 3; i++) {
		mx_write(mm, a + i * PS, i + 1);
		p[i] = mx_tr(mm, a + i * PS).pfn;
	}
	assert_int_equal(simmm_madvise(mm, a, PS, SIMMM_MADV_HWPOISON), -EPERM);
	assert_false(poisoned(sim, p[0]));
	TU_ASSERT_OK(simmm_mm_set_cap_sys_admin(mm, true));
	/* Each page in turn, with ACTION_REQUIRED for this process. */
	TU_ASSERT_OK(simmm_madvise(mm, a, 3 * PS, SIMMM_MADV_HWPOISON));
	TU_CHECK(sim);
	for (unsigned i = 0; i < 3; i++)
		assert_true(hwpoison_at(mm, a + i * PS, p[i]));
	assert_int_equal(mx_stats(mm).mce_sigbus_ar, 3);
	/* Again: poisoned already, the first page stops the loop. */
	assert_int_equal(simmm_madvise(mm, a, 3 * PS, SIMMM_MADV_HWPOISON), -EFAULT);
	/* A never-written page reads as the zero page: refused. */
	assert_int_equal(simmm_madvise(mm, a + 3 * PS, PS, SIMMM_MADV_HWPOISON), -EBUSY);
	/* A hole: GUP fails. */
	assert_int_equal(simmm_madvise(mm, a + 4 * PS, PS, SIMMM_MADV_HWPOISON), -EFAULT);
	/* A THP: the first page's failure splits it, and the loop goes on
	 * after the whole folio (its size was read before the split). */
	mx_write(mm, t, 1);
	head = mx_tr(mm, t).pfn;
	TU_ASSERT_OK(simmm_madvise(mm, t, 3 * PS, SIMMM_MADV_HWPOISON));
	TU_CHECK(sim);
	assert_true(poisoned(sim, head));
	assert_false(poisoned(sim, head + 1));
	assert_false(poisoned(sim, head + 2));
	mx_expect_zero(mm, t + PS);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_unpoison(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);
	simmm_pfn_t pfn, last = 64 * MIB / PS - 1, ref;

	mx_write(mm, a, 1);
	mx_write(mm, a + PS, 2);
	pfn = mx_tr(mm, a).pfn;
	TU_ASSERT_OK(simmm_mm_set_cap_sys_admin(mm, true));
	TU_ASSERT_OK(simmm_madvise(mm, a, PS, SIMMM_MADV_HWPOISON));
	/* The held frame goes back; the hwpoison entry stays and still
	 * SIGBUSes (it is the pte's, as upstream). */
	TU_ASSERT_OK(simmm_unpoison_memory(sim, pfn));
	TU_CHECK(sim);
	assert_true(mx_page(sim, pfn).free);
	assert_int_equal(mf_stats(sim).poisoned, 0);
	assert_true(hwpoison_at(mm, a, pfn));
	assert_int_equal(access8(mm, a, SIMMM_ACCESS_READ), -EFAULT);
	assert_int_equal(simmm_unpoison_memory(sim, pfn), -EBUSY); /* not poisoned */
	/* A free frame taken off the buddy comes back too. */
	TU_ASSERT_OK(simmm_memory_failure(sim, last, SIMMM_MF_SW_SIMULATED, NULL));
	assert_false(mx_page(sim, last).free);
	TU_ASSERT_OK(simmm_unpoison_memory(sim, last));
	assert_true(mx_page(sim, last).free);
	TU_CHECK(sim);
	/* Still referenced (a GUP reference taken before the failure), it
	 * stays poisoned until the last user lets go. */
	assert_int_equal(simmm_get_user_pages(mm, a + PS, 1, 0, &ref), 1);
	TU_ASSERT_OK(simmm_memory_failure(sim, ref, SIMMM_MF_SW_SIMULATED, NULL));
	assert_int_equal(simmm_unpoison_memory(sim, ref), -EBUSY);
	TU_ASSERT_OK(simmm_put_user_pages(sim, &ref, 1));
	TU_ASSERT_OK(simmm_unpoison_memory(sim, ref));
	TU_CHECK(sim);
	/* A failure the hardware reported disables unpoisoning. */
	TU_ASSERT_OK(simmm_memory_failure(sim, last, 0, NULL));
	assert_int_equal(simmm_unpoison_memory(sim, last), -EOPNOTSUPP);
	assert_int_equal(simmm_unpoison_memory(sim, 1ULL << 40), -ENXIO);
	assert_int_equal(simmm_unpoison_memory(NULL, last), -EINVAL);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* ---- 8. device memory ------------------------------------------------------------------------ */

static unsigned calls;

static void dev_free(struct simmm_dev_pagemap *pgmap, simmm_pfn_t pfn, unsigned order, void *data)
{
	(void)pgmap, (void)pfn, (void)order, (void)data;
}

static unsigned dev_fault(struct simmm_vm_fault *vmf)
{
	(void)vmf;
	return SIMMM_VM_FAULT_SIGBUS;
}

static int dev_mf(struct simmm_dev_pagemap *pgmap, simmm_pfn_t pfn, uint64_t nr, int flags)
{
	calls++;
	assert_true(pfn >= pgmap->start_pfn && pfn < pgmap->start_pfn + pgmap->nr_pages);
	assert_int_equal(nr, 1);
	return flags & SIMMM_MF_MUST_KILL ? -EOPNOTSUPP : 0;
}

static void test_device(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_dev_pagemap_ops plain = {.folio_free = dev_free, .migrate_to_ram = dev_fault};
	struct simmm_dev_pagemap_ops with = plain;
	struct simmm_dev_pagemap pg = {0};
	int owner;

	with.memory_failure = dev_mf;
	pg.type = SIMMM_MEM_DEVICE_PRIVATE;
	pg.ops = &plain;
	pg.owner = &owner;
	TU_ASSERT_OK(simmm_memremap_pages(sim, &pg, 16));
	/* mf_generic_kill_procs(): device-private memory is refused. */
	assert_int_equal(simmm_memory_failure(sim, pg.start_pfn + 1, 0, NULL), -EBUSY);
	assert_false(poisoned(sim, pg.start_pfn + 1));
	/* The driver's handler decides; -EOPNOTSUPP falls back. */
	pg.ops = &with;
	calls = 0;
	assert_int_equal(simmm_memory_failure(sim, pg.start_pfn + 2, 0, NULL), 0);
	assert_int_equal(simmm_memory_failure(sim, pg.start_pfn + 2, SIMMM_MF_MUST_KILL, NULL),
			 -EBUSY);
	assert_int_equal(calls, 2);
	/* Beyond RAM and every pagemap: no memory. */
	assert_int_equal(simmm_memory_failure(sim, pg.start_pfn + (1ULL << 30), 0, NULL), -ENXIO);
	TU_CHECK(sim);
	pg.ops = &plain;
	TU_ASSERT_OK(simmm_memunmap_pages(&pg));
	tu_sim_free(&sim);
}

/* ---- 9. arguments, allocation failures ---------------------------------------------------------- */

static void test_args(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0), *other = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(other);
	struct simmm_mf_stats st;

	assert_int_equal(simmm_memory_failure(NULL, 1, 0, NULL), -EINVAL);
	assert_int_equal(simmm_memory_failure(sim, 1, 0x1, NULL), -EINVAL); /* COUNT_INCREASED */
	assert_int_equal(simmm_memory_failure(sim, 1, 0x40, NULL), -EINVAL);
	assert_int_equal(simmm_memory_failure(sim, 1, 0, mm), -EINVAL); /* another machine's */
	assert_int_equal(simmm_memory_failure_stats(sim, NULL), -EINVAL);
	assert_int_equal(simmm_memory_failure_stats(NULL, &st), -EINVAL);
	assert_int_equal(simmm_mm_set_cap_sys_admin(NULL, true), -EINVAL);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&other);
	tu_sim_free(&sim);
}

/* An mm with written pages, a failure of one of them (ACTION_REQUIRED),
 * one of a free frame, a fork, under every allocation failure in turn. */
static int sweep_mf(simmm_sim *sim, void *arg)
{
	struct simmm_mm *mm = NULL, *child = NULL;
	simmm_addr_t a = 0;
	uint8_t b = 1;
	int err;

	(void)arg;
	err = simmm_mm_create(sim, &mm);
	if (err)
		return err;
	err = simmm_mmap(mm, 0, 4 * PS, RW, SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS, NULL, 0, &a);
	for (unsigned i = 0; !err && i < 4; i++)
		err = simmm_mm_access(mm, a + i * PS, &b, 1, SIMMM_ACCESS_WRITE);
	if (!err)
		err = simmm_memory_failure(sim, mx_tr(mm, a + PS).pfn, SIMMM_MF_ACTION_REQUIRED, mm);
	if (!err)
		err = simmm_memory_failure(sim, 8 * MIB / PS - 3, 0, NULL);
	if (!err)
		err = simmm_fork(mm, &child);
	if (!err && simmm_mm_access(child, a + PS, &b, 1, SIMMM_ACCESS_READ) != -EFAULT)
		err = -EUCLEAN;
	if (simmm_check(sim))
		err = -EUCLEAN;
	if (child)
		simmm_mmput(child);
	simmm_mmput(mm);
	return err;
}

static void test_sweep(void **state)
{
	(void)state;
	tu_sweep_clean(sweep_mf, 8 << 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anon),
		cmocka_unit_test(test_mirror),
		cmocka_unit_test(test_action_required),
		cmocka_unit_test(test_free_and_kernel),
		cmocka_unit_test(test_file_clean),
		cmocka_unit_test(test_file_dirty),
		cmocka_unit_test(test_file_extra_ref),
		cmocka_unit_test(test_shmem),
		cmocka_unit_test(test_swapcache),
		cmocka_unit_test(test_thp),
		cmocka_unit_test(test_thp_pinned),
		cmocka_unit_test(test_mlocked),
		cmocka_unit_test(test_madv_hwpoison),
		cmocka_unit_test(test_unpoison),
		cmocka_unit_test(test_device),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_sweep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
