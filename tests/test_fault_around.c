// SPDX-License-Identifier: MIT
/*
 * Fault-around (src/mm/fault_around.c: do_read_fault() -> do_fault_around()
 * -> filemap_map_pages()):
 *  1. the window: fault_around_bytes (16 pages of 4 KiB by default)
 *     aligned down to its size, or from the VMA's first page when that is
 *     later, clipped to the VMA's end, to the pte table (one PMD) and to
 *     EOF; a fault beyond EOF still maps the cached pages of its window
 *     before it gets SIGBUS;
 *  2. only cached, uptodate, unlocked, unpoisoned pages are mapped; a
 *     missing faulting page is read in afterwards; existing entries (an
 *     anonymous COW copy, a guard marker) are left alone;
 *  3. write faults (private: do_cow_fault, shared: do_shared_fault) map one
 *     page; a private mapping's prefaulted pages are read-only and a write
 *     COWs only its own page; a shared write-notify mapping's are
 *     read-only and clean, a write dirties only its own folio; shmem
 *     (MAP_SHARED of a tmpfs file, shared anonymous memory after fork);
 *  4. a VM_LOCKED (MLOCK_ONFAULT) VMA mlocks every small folio it maps;
 *  5. the knob: rounding, -EINVAL above PTRS_PER_PTE pages, one page (and
 *     a VM_UFFD_WP VMA) disables it, per-geometry defaults;
 *  6. arm64 prefaults old entries (the faulting one young), x86 young;
 *  7. reclaim finds every extra mapping through the rmap.
 * Mapcounts, refcounts and rss are checked, and the invariant checker runs
 * after each step.
 */
#include "test_mm_ext_util.h"

#define RW (SIMMM_PROT_READ | SIMMM_PROT_WRITE)
#define BASE (1ULL << 30) /* PMD aligned */

struct env {
	simmm_sim *sim;
	struct simmm_mm *mm;
	struct simmm_file *f;
	uint64_t ps;
};

static struct env env_new(const char *geo, uint64_t pages, unsigned fflags)
{
	/* The toy geometry's 15-bit physical space holds 128 KiB. */
	struct env e = {.sim = mx_sim(geo, geo && !strcmp(geo, "toy-15bit") ? 128 * KIB : 64 * MIB,
				      0)};

	e.mm = mx_mm(e.sim);
	e.ps = e.sim->page_size;
	TU_ASSERT_OK(simmm_file_create(e.sim, pages * e.ps, fflags, &e.f));
	return e;
}

static void env_free(struct env *e)
{
	TU_CHECK(e->sim);
	TU_ASSERT_OK(simmm_mmput(e->mm));
	TU_ASSERT_OK(simmm_file_put(e->f));
	tu_sim_free(&e->sim);
}

/* Bring pages [first, first + n) of the file into the page cache (clean,
 * uptodate) with read(2). */
static void cache(struct env *e, uint64_t first, uint64_t n)
{
	uint8_t b;

	for (uint64_t i = first; i < first + n; i++)
		assert_int_equal(simmm_file_pread(e->f, &b, 1, i * e->ps), 1);
}

static simmm_addr_t map_at(struct env *e, simmm_addr_t at, uint64_t pages, int prot, int flags,
			   uint64_t pgoff)
{
	simmm_addr_t a = 0;

	TU_ASSERT_OK(simmm_mmap(e->mm, at, pages * e->ps, prot, flags | SIMMM_MAP_FIXED, e->f,
				pgoff, &a));
	assert_true(a == at);
	return a;
}

static int read1(struct env *e, simmm_addr_t a)
{
	uint8_t b;

	return simmm_mm_access(e->mm, a, &b, 1, SIMMM_ACCESS_READ);
}

static void write1(struct env *e, simmm_addr_t a)
{
	uint8_t b = 0x5a;

	TU_ASSERT_OK(simmm_mm_access(e->mm, a, &b, 1, SIMMM_ACCESS_WRITE));
}

/* Bit i of the result: page i of [a, a + n pages) is mapped (present). */
static uint64_t mapped(struct env *e, simmm_addr_t a, unsigned n)
{
	uint64_t m = 0;

	for (unsigned i = 0; i < n; i++)
		if (mx_tr(e->mm, a + i * e->ps).present)
			m |= 1ULL << i;
	return m;
}

#define RANGE(lo, hi) ((((hi) >= 63 ? 0 : 1ULL << ((hi) + 1)) - 1) & ~((1ULL << (lo)) - 1))

/* The page cache's folio at @index. */
static struct simmm_page *cached(struct env *e, uint64_t index)
{
	struct simmm_page *p = simmm__filemap_lookup(e->f, index);

	assert_non_null(p);
	return p;
}

/* Pages [lo, hi] of the mapping at @a map the cache's folios, each once
 * (mapcount 1, the cache's reference and the mapping's). */
static void expect_file_mapped(struct env *e, simmm_addr_t a, uint64_t pgoff, unsigned lo,
			       unsigned hi)
{
	for (unsigned i = lo; i <= hi; i++) {
		struct simmm_translation t = mx_tr(e->mm, a + i * e->ps);
		struct simmm_page *p = cached(e, pgoff + i);

		assert_true(t.present);
		assert_int_equal(t.pfn, p->pfn);
		assert_int_equal(p->mapcount, 1);
		assert_int_equal(p->refcount, 2);
	}
}

/* ---- 1. the window ------------------------------------------------------------- */

static void test_window_aligned(void **state)
{
	struct env e = env_new(NULL, 64, 0);
	simmm_addr_t a;
	uint64_t bytes = 0;

	(void)state;
	TU_ASSERT_OK(simmm_get_fault_around_bytes(e.sim, &bytes));
	assert_int_equal(bytes, 65536);
	cache(&e, 0, 64);
	a = map_at(&e, BASE, 64, SIMMM_PROT_READ, SIMMM_MAP_PRIVATE, 0);
	TU_CHECK(e.sim);
	TU_ASSERT_OK(read1(&e, a + 21 * PS));
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 64), RANGE(16, 31));
	expect_file_mapped(&e, a, 0, 16, 31);
	assert_int_equal(mx_stats(e.mm).rss_file, 16);
	assert_int_equal(mx_stats(e.mm).file_faults, 1);
	assert_int_equal(mx_stats(e.mm).minor_faults, 1);
	assert_int_equal(mx_stats(e.mm).major_faults, 0);
	/* x86: every entry young, read-only. */
	for (unsigned i = 16; i < 32; i++) {
		assert_true(simmm_pte_young(mx_tr(e.mm, a + i * PS).entry));
		assert_false(simmm_pte_write(mx_tr(e.mm, a + i * PS).entry));
	}
	/* A mapped page: no fault. The next window. */
	TU_ASSERT_OK(read1(&e, a + 31 * PS));
	assert_int_equal(mx_stats(e.mm).minor_faults, 1);
	TU_ASSERT_OK(read1(&e, a + 32 * PS));
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 64), RANGE(16, 47));
	assert_int_equal(mx_stats(e.mm).rss_file, 32);
	env_free(&e);
}

/* The window stops at the VMA's first and last page: other VMAs of the same
 * file around it stay unmapped. */
static void test_window_vma_clip(void **state)
{
	struct env e = env_new(NULL, 64, 0);
	simmm_addr_t a;

	(void)state;
	cache(&e, 0, 64);
	/* Three VMAs of the same file, not mergeable (different prot):
	 * [0,3) RO, [3,13) RW private, [13,32) RO. */
	map_at(&e, BASE, 3, SIMMM_PROT_READ, SIMMM_MAP_PRIVATE, 0);
	a = map_at(&e, BASE + 3 * PS, 10, RW, SIMMM_MAP_PRIVATE, 3);
	map_at(&e, BASE + 13 * PS, 19, SIMMM_PROT_READ, SIMMM_MAP_PRIVATE, 13);
	TU_ASSERT_OK(read1(&e, a + PS));
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, BASE, 32), RANGE(3, 12));
	expect_file_mapped(&e, a, 3, 0, 9);
	assert_int_equal(mx_stats(e.mm).rss_file, 10);
	/* The last VMA: the aligned window [0, 16) would start before it,
	 * so the window starts at the VMA and runs 16 pages from there
	 * (do_fault_around()'s from_pte/to_pte): [13, 29). */
	TU_ASSERT_OK(read1(&e, BASE + 14 * PS));
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, BASE, 32), RANGE(3, 28));
	assert_int_equal(mx_stats(e.mm).rss_file, 26);
	env_free(&e);
}

/* A VMA that starts 8 pages before a PMD boundary: the window starts at the
 * VMA and would run 8 pages into the next pte table; it stops at the
 * boundary. */
static void test_window_pmd_clip(void **state)
{
	struct env e = env_new(NULL, 64, 0);
	simmm_addr_t a = BASE + PMD - 8 * PS;

	(void)state;
	cache(&e, 0, 64);
	map_at(&e, a, 32, SIMMM_PROT_READ, SIMMM_MAP_PRIVATE, 0);
	/* The next table's first window, then zapped: the table stays. */
	TU_ASSERT_OK(read1(&e, a + 20 * PS));
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 32), RANGE(8, 23));
	TU_ASSERT_OK(simmm_madvise(e.mm, a + 8 * PS, 8 * PS, SIMMM_MADV_DONTNEED));
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 32), RANGE(16, 23));
	TU_ASSERT_OK(read1(&e, a + 7 * PS)); /* the first table's last entry */
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 32), RANGE(0, 7) | RANGE(16, 23));
	expect_file_mapped(&e, a, 0, 0, 7);
	assert_int_equal(mx_stats(e.mm).rss_file, 16);
	env_free(&e);
}

/* Nothing is mapped at or past EOF (the last page is partial); a fault past
 * EOF maps the window's cached pages before EOF, then gets SIGBUS (as
 * upstream: do_fault_around() runs before filemap_fault()'s EOF check). */
static void test_window_eof_clip(void **state)
{
	struct env e = env_new(NULL, 20, 0);
	simmm_addr_t a;

	(void)state;
	TU_ASSERT_OK(simmm_file_truncate(e.f, 20 * PS + 100)); /* pages 0..20 */
	cache(&e, 0, 21);
	a = map_at(&e, BASE, 32, SIMMM_PROT_READ, SIMMM_MAP_SHARED, 0);
	TU_ASSERT_OK(read1(&e, a + 18 * PS));
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 32), RANGE(16, 20));
	TU_ASSERT_OK(simmm_munmap(e.mm, a, 32 * PS));
	a = map_at(&e, BASE, 32, SIMMM_PROT_READ, SIMMM_MAP_SHARED, 0);
	assert_int_equal(read1(&e, a + 25 * PS), -EFAULT);
	assert_int_equal(mx_stats(e.mm).sigbus, 1);
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 32), RANGE(16, 20));
	expect_file_mapped(&e, a, 0, 16, 20);
	env_free(&e);
}

/* A truncation in progress (i_size already lowered, i_rwsem held, the
 * page cache not yet shrunk, as between truncate_setsize() and
 * truncate_pagecache()): fault-around maps nothing at or past the new EOF,
 * though the folios are still cached. */
static void test_window_eof_during_truncate(void **state)
{
	struct env e = env_new(NULL, 32, 0);
	simmm_addr_t a;

	(void)state;
	cache(&e, 0, 32);
	a = map_at(&e, BASE, 32, SIMMM_PROT_READ, SIMMM_MAP_SHARED, 0);
	TU_ASSERT_OK(simmm_down_write(e.sim, &e.f->i_rwsem));
	e.f->size = 18 * PS;
	TU_ASSERT_OK(read1(&e, a + 16 * PS));
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 32), RANGE(16, 17));
	assert_non_null(simmm__filemap_lookup(e.f, 20));
	assert_int_equal(read1(&e, a + 20 * PS), -EFAULT);
	e.f->size = 32 * PS;
	simmm_up_write(e.sim, &e.f->i_rwsem);
	TU_CHECK(e.sim);
	env_free(&e);
}

/* ---- 2. what is mapped --------------------------------------------------------- */

/* Only cached, uptodate pages; the faulting page, not cached, is read in
 * by the fault itself (a major fault). */
static void test_only_cached_uptodate(void **state)
{
	struct env e = env_new(NULL, 16, 0);
	simmm_addr_t a;
	struct simmm_page *p5;

	(void)state;
	cache(&e, 2, 1);
	cache(&e, 5, 1);
	cache(&e, 9, 1);
	p5 = cached(&e, 5);
	p5->flags &= ~PG_uptodate; /* a read in flight, say */
	a = map_at(&e, BASE, 16, SIMMM_PROT_READ, SIMMM_MAP_PRIVATE, 0);
	TU_ASSERT_OK(read1(&e, a));
	p5->flags |= PG_uptodate;
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 16), (1ULL << 0) | (1ULL << 2) | (1ULL << 9));
	assert_int_equal(mx_stats(e.mm).major_faults, 1);
	assert_int_equal(mx_stats(e.mm).rss_file, 3);
	assert_int_equal(p5->mapcount, 0);
	assert_int_equal(p5->refcount, 1);
	/* Page 5 is uptodate now: a fault elsewhere in the window maps it. */
	TU_ASSERT_OK(read1(&e, a + 7 * PS));
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 16), (1ULL << 0) | (1ULL << 2) | (1ULL << 5) |
						   (1ULL << 7) | (1ULL << 9));
	env_free(&e);
}

/* Entries that are not none stay as they are: an anonymous COW copy and a
 * guard marker. */
static void test_existing_entries_untouched(void **state)
{
	struct env e = env_new(NULL, 16, 0);
	simmm_addr_t a;
	struct simmm_translation t3;

	(void)state;
	cache(&e, 0, 16);
	a = map_at(&e, BASE, 16, RW, SIMMM_MAP_PRIVATE, 0);
	/* A write fault (do_cow_fault) maps its page alone. */
	write1(&e, a + 3 * PS);
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 16), 1ULL << 3);
	assert_int_equal(mx_stats(e.mm).rss_anon, 1);
	assert_int_equal(mx_stats(e.mm).rss_file, 0);
	t3 = mx_tr(e.mm, a + 3 * PS);
	TU_ASSERT_OK(simmm_madvise(e.mm, a + 7 * PS, PS, SIMMM_MADV_GUARD_INSTALL));
	TU_CHECK(e.sim);
	TU_ASSERT_OK(read1(&e, a));
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 16), RANGE(0, 15) & ~(1ULL << 7));
	assert_true(mx_tr(e.mm, a + 3 * PS).entry == t3.entry);
	assert_int_equal(mx_stats(e.mm).rss_anon, 1);
	assert_int_equal(mx_stats(e.mm).rss_file, 14);
	assert_int_equal(cached(&e, 3)->mapcount, 0);
	assert_int_equal(cached(&e, 7)->mapcount, 0);
	assert_int_equal(read1(&e, a + 7 * PS), -EFAULT); /* still a guard */
	env_free(&e);
}

/* A folio someone holds locked is skipped; its own fault maps it once the
 * lock is gone. */
static void test_locked_folio_skipped(void **state)
{
	struct env e = env_new(NULL, 16, 0);
	simmm_addr_t a;
	struct simmm_page *p4;

	(void)state;
	cache(&e, 0, 16);
	p4 = cached(&e, 4);
	a = map_at(&e, BASE, 16, SIMMM_PROT_READ, SIMMM_MAP_SHARED, 0);
	assert_true(simmm__folio_trylock(e.sim, p4));
	TU_ASSERT_OK(read1(&e, a + 9 * PS));
	assert_int_equal(mapped(&e, a, 16), RANGE(0, 15) & ~(1ULL << 4));
	assert_int_equal(p4->mapcount, 0);
	simmm__folio_unlock(e.sim, p4);
	TU_CHECK(e.sim);
	TU_ASSERT_OK(read1(&e, a + 4 * PS));
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 16), RANGE(0, 15));
	expect_file_mapped(&e, a, 0, 0, 15);
	env_free(&e);
}

/* A poisoned page memory_failure() left in a shmem file's cache is never
 * mapped; its own fault gets SIGBUS. */
static void test_hwpoison_skipped(void **state)
{
	struct env e = env_new(NULL, 16, SIMMM_FILE_SHMEM);
	simmm_addr_t a;
	struct simmm_page *p6;

	(void)state;
	cache(&e, 0, 16);
	p6 = cached(&e, 6);
	TU_ASSERT_OK(simmm_memory_failure(e.sim, p6->pfn, SIMMM_MF_SW_SIMULATED, NULL));
	assert_ptr_equal(simmm__filemap_lookup(e.f, 6), p6);
	assert_true(p6->flags & PG_hwpoison);
	TU_CHECK(e.sim);
	a = map_at(&e, BASE, 16, RW, SIMMM_MAP_SHARED, 0);
	TU_ASSERT_OK(read1(&e, a));
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 16), RANGE(0, 15) & ~(1ULL << 6));
	assert_int_equal(mx_stats(e.mm).rss_shmem, 15);
	assert_int_equal(p6->mapcount, 0);
	assert_int_equal(read1(&e, a + 6 * PS), -EFAULT);
	TU_CHECK(e.sim);
	env_free(&e);
}

/* ---- 3. private, shared, shmem -------------------------------------------------- */

/* Private: the prefaulted pages are the cache's, read-only; a write COWs
 * its own page only. */
static void test_private_then_write_cows_one(void **state)
{
	struct env e = env_new(NULL, 16, 0);
	simmm_addr_t a;
	struct simmm_page *p5;

	(void)state;
	cache(&e, 0, 16);
	p5 = cached(&e, 5);
	a = map_at(&e, BASE, 16, RW, SIMMM_MAP_PRIVATE, 0);
	TU_ASSERT_OK(read1(&e, a));
	TU_CHECK(e.sim);
	expect_file_mapped(&e, a, 0, 0, 15);
	write1(&e, a + 5 * PS);
	TU_CHECK(e.sim);
	assert_int_equal(mx_stats(e.mm).cow_faults, 1);
	assert_int_equal(mx_stats(e.mm).rss_anon, 1);
	assert_int_equal(mx_stats(e.mm).rss_file, 15);
	assert_true(mx_tr(e.mm, a + 5 * PS).pfn != p5->pfn);
	assert_true(simmm_pte_write(mx_tr(e.mm, a + 5 * PS).entry));
	assert_int_equal(p5->mapcount, 0);
	assert_int_equal(p5->refcount, 1);
	assert_false(p5->flags & PG_dirty);
	expect_file_mapped(&e, a, 0, 0, 4);
	expect_file_mapped(&e, a, 0, 6, 15);
	for (unsigned i = 0; i < 16; i++)
		if (i != 5)
			assert_false(simmm_pte_write(mx_tr(e.mm, a + i * PS).entry));
	env_free(&e);
}

/* Shared (write-notify): read-only and clean; a write dirties its own
 * folio only; a write fault on a missing pte (do_shared_fault) maps one
 * page. */
static void test_shared_mapping(void **state)
{
	struct env e = env_new(NULL, 32, 0);
	simmm_addr_t a;
	struct simmm_file_stats fs;

	(void)state;
	cache(&e, 0, 32);
	a = map_at(&e, BASE, 32, RW, SIMMM_MAP_SHARED, 0);
	write1(&e, a + 20 * PS);
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 32), 1ULL << 20);
	TU_ASSERT_OK(read1(&e, a + 2 * PS));
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 32), RANGE(0, 15) | (1ULL << 20));
	expect_file_mapped(&e, a, 0, 0, 15);
	for (unsigned i = 0; i < 16; i++) {
		simmm_entry_t pte = mx_tr(e.mm, a + i * PS).entry;

		assert_false(simmm_pte_write(pte));
		assert_false(simmm_pte_dirty(pte));
	}
	write1(&e, a + 9 * PS);
	TU_CHECK(e.sim);
	TU_ASSERT_OK(simmm_file_stats(e.f, &fs));
	assert_int_equal(fs.dirty, 2);
	assert_true(cached(&e, 9)->flags & PG_dirty);
	assert_true(simmm_pte_write(mx_tr(e.mm, a + 9 * PS).entry));
	assert_false(simmm_pte_write(mx_tr(e.mm, a + 8 * PS).entry));
	assert_int_equal(mx_stats(e.mm).rss_file, 17);
	assert_int_equal(mx_stats(e.mm).rss_anon, 0);
	env_free(&e);
}

/* shmem: a MAP_SHARED tmpfs file (no write-notify: writable entries), and
 * shared anonymous memory after fork (fork copies no pte of a shared
 * mapping, the child's first read faults around). */
static void test_shmem(void **state)
{
	struct env e = env_new(NULL, 16, SIMMM_FILE_SHMEM);
	simmm_addr_t a, s;
	struct simmm_mm *child = NULL;

	(void)state;
	cache(&e, 0, 16);
	a = map_at(&e, BASE, 16, RW, SIMMM_MAP_SHARED, 0);
	TU_ASSERT_OK(read1(&e, a + 15 * PS));
	TU_CHECK(e.sim);
	expect_file_mapped(&e, a, 0, 0, 15);
	assert_int_equal(mx_stats(e.mm).rss_shmem, 16);
	assert_true(simmm_pte_write(mx_tr(e.mm, a).entry));
	/* set_pte_range() (6.15+): writable entries of clean folios stay
	 * clean... */
	for (unsigned i = 0; i < 16; i++)
		assert_false(simmm_pte_dirty(mx_tr(e.mm, a + i * PS).entry));

	s = mx_map(e.mm, BASE + PMD, 16 * PS, SIMMM_MAP_SHARED | SIMMM_MAP_ANONYMOUS);
	for (unsigned i = 0; i < 16; i++)
		mx_write(e.mm, s + i * PS, i);
	TU_ASSERT_OK(simmm_fork(e.mm, &child));
	TU_CHECK(e.sim);
	assert_int_equal(mx_stats(child).rss_shmem, 0);
	mx_expect(child, s + 3 * PS, 3);
	TU_CHECK(e.sim);
	assert_int_equal(mx_stats(child).rss_shmem, 16);
	assert_int_equal(mx_stats(child).minor_faults, 1);
	for (unsigned i = 0; i < 16; i++) {
		assert_int_equal(mx_tr(child, s + i * PS).pfn, mx_tr(e.mm, s + i * PS).pfn);
		assert_int_equal(mx_page(e.sim, mx_tr(child, s + i * PS).pfn).mapcount, 2);
		/* ...those of dirty ones (the parent wrote them) are dirty,
		 * the faulting page's and fault-around's alike */
		assert_true(simmm_pte_write(mx_tr(child, s + i * PS).entry));
		assert_true(simmm_pte_dirty(mx_tr(child, s + i * PS).entry));
		mx_expect(child, s + i * PS, i);
	}
	assert_int_equal(mx_stats(child).minor_faults, 1);
	TU_ASSERT_OK(simmm_mmput(child));
	env_free(&e);
}

/* ---- 4. VM_LOCKED --------------------------------------------------------------- */

/* mlock2(MLOCK_ONFAULT): every small folio fault-around maps is mlocked
 * (__folio_add_file_rmap()'s mlock_vma_folio()); munlock undoes it. */
static void test_vm_locked(void **state)
{
	struct env e = env_new(NULL, 32, 0);
	simmm_addr_t a;
	struct simmm_lru_stats st;

	(void)state;
	cache(&e, 0, 32);
	a = map_at(&e, BASE, 32, SIMMM_PROT_READ, SIMMM_MAP_PRIVATE, 0);
	TU_ASSERT_OK(simmm_mlock2(e.mm, a, 32 * PS, SIMMM_MLOCK_ONFAULT));
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 32), 0);
	TU_ASSERT_OK(read1(&e, a + 17 * PS));
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 32), RANGE(16, 31));
	TU_ASSERT_OK(simmm_lru_stats(e.sim, &st));
	assert_int_equal(st.nr_mlock, 16);
	for (unsigned i = 0; i < 32; i++)
		assert_int_equal(!!(cached(&e, i)->flags & PG_mlocked), i >= 16);
	TU_ASSERT_OK(simmm_munlock(e.mm, a, 32 * PS));
	TU_CHECK(e.sim);
	TU_ASSERT_OK(simmm_lru_stats(e.sim, &st));
	assert_int_equal(st.nr_mlock, 0);
	env_free(&e);
}

/* ---- 5. the knob ---------------------------------------------------------------- */

static void test_knob(void **state)
{
	struct env e = env_new(NULL, 64, 0);
	uint64_t bytes = 0;
	simmm_addr_t a;

	(void)state;
	assert_int_equal(simmm_set_fault_around_bytes(NULL, 65536), -EINVAL);
	assert_int_equal(simmm_get_fault_around_bytes(NULL, &bytes), -EINVAL);
	assert_int_equal(simmm_get_fault_around_bytes(e.sim, NULL), -EINVAL);
	/* PTRS_PER_PTE (512) pages at most, compared in whole pages. */
	assert_int_equal(simmm_set_fault_around_bytes(e.sim, 513 * PS), -EINVAL);
	TU_ASSERT_OK(simmm_get_fault_around_bytes(e.sim, &bytes));
	assert_int_equal(bytes, 65536);
	TU_ASSERT_OK(simmm_set_fault_around_bytes(e.sim, 513 * PS - 1));
	TU_ASSERT_OK(simmm_get_fault_around_bytes(e.sim, &bytes));
	assert_int_equal(bytes, 512 * PS);
	/* Rounded down to a power of two, then to pages, at least one. */
	TU_ASSERT_OK(simmm_set_fault_around_bytes(e.sim, 100000));
	TU_ASSERT_OK(simmm_get_fault_around_bytes(e.sim, &bytes));
	assert_int_equal(bytes, 65536);
	TU_ASSERT_OK(simmm_set_fault_around_bytes(e.sim, 3 * 8192));
	TU_ASSERT_OK(simmm_get_fault_around_bytes(e.sim, &bytes));
	assert_int_equal(bytes, 4 * PS);
	TU_ASSERT_OK(simmm_set_fault_around_bytes(e.sim, 1000));
	TU_ASSERT_OK(simmm_get_fault_around_bytes(e.sim, &bytes));
	assert_int_equal(bytes, PS);
	TU_ASSERT_OK(simmm_set_fault_around_bytes(e.sim, 0));
	TU_ASSERT_OK(simmm_get_fault_around_bytes(e.sim, &bytes));
	assert_int_equal(bytes, PS);

	cache(&e, 0, 64);
	a = map_at(&e, BASE, 64, SIMMM_PROT_READ, SIMMM_MAP_PRIVATE, 0);
	/* One page: no fault-around. */
	TU_ASSERT_OK(read1(&e, a + 1 * PS));
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 64), 1ULL << 1);
	/* Four pages (3 * 8 KiB rounds to 16 KiB). */
	TU_ASSERT_OK(simmm_set_fault_around_bytes(e.sim, 3 * 8192));
	TU_ASSERT_OK(read1(&e, a + 9 * PS));
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 64), (1ULL << 1) | RANGE(8, 11));
	/* 32 pages. */
	TU_ASSERT_OK(simmm_set_fault_around_bytes(e.sim, 32 * PS + PS / 2));
	TU_ASSERT_OK(read1(&e, a + 40 * PS));
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 64), (1ULL << 1) | RANGE(8, 11) | RANGE(32, 63));
	assert_int_equal(mx_stats(e.mm).rss_file, 1 + 4 + 32);
	env_free(&e);
}

/* A VMA registered for userfaultfd write-protection does not fault around
 * (uffd_disable_fault_around()). simmm has no userfaultfd API: the test
 * sets the flag. */
static void test_uffd_wp_disables(void **state)
{
	struct env e = env_new(NULL, 16, 0);
	simmm_addr_t a;

	(void)state;
	cache(&e, 0, 16);
	a = map_at(&e, BASE, 16, SIMMM_PROT_READ, SIMMM_MAP_SHARED, 0);
	simmm__vma_lookup(e.mm, a)->vm_flags |= SIMMM_VM_UFFD_WP;
	TU_ASSERT_OK(read1(&e, a + 2 * PS));
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 16), 1ULL << 2);
	simmm__vma_lookup(e.mm, a)->vm_flags &= ~SIMMM_VM_UFFD_WP;
	TU_ASSERT_OK(read1(&e, a + 3 * PS));
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 16), RANGE(0, 15));
	env_free(&e);
}

/* 64 KiB pages: the default is one page, no fault-around; PTRS_PER_PTE is
 * 8192 there. The toy geometry's 32-entry tables cap the default. */
static void test_geometry_defaults(void **state)
{
	struct env e = env_new("arm64-64k-48", 16, 0);
	uint64_t bytes = 0;
	simmm_addr_t a;

	(void)state;
	TU_ASSERT_OK(simmm_get_fault_around_bytes(e.sim, &bytes));
	assert_int_equal(bytes, 65536);
	cache(&e, 0, 16);
	a = map_at(&e, BASE, 16, SIMMM_PROT_READ, SIMMM_MAP_PRIVATE, 0);
	TU_ASSERT_OK(read1(&e, a + 5 * e.ps));
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 16), 1ULL << 5);
	assert_int_equal(simmm_set_fault_around_bytes(e.sim, 8193 * e.ps), -EINVAL);
	TU_ASSERT_OK(simmm_set_fault_around_bytes(e.sim, 2 * e.ps));
	TU_ASSERT_OK(read1(&e, a + 8 * e.ps));
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 16), (1ULL << 5) | RANGE(8, 9));
	env_free(&e);

	e = env_new("toy-15bit", 4, 0);
	TU_ASSERT_OK(simmm_get_fault_around_bytes(e.sim, &bytes));
	assert_int_equal(bytes, (1ULL << e.sim->geo.level[SIMMM_LVL_PTE].bits) * e.ps);
	env_free(&e);
}

/* ---- 6. old prefaulted entries -------------------------------------------------- */

/* arm64 (hardware access flag): the prefaulted entries are old, the
 * faulting one young (set_pte_range()'s arch_wants_old_prefaulted_pte()). */
static void test_arm64_old_prefault(void **state)
{
	struct env e = env_new("arm64-4k-48", 16, 0);
	simmm_addr_t a;

	(void)state;
	cache(&e, 0, 16);
	a = map_at(&e, BASE, 16, SIMMM_PROT_READ, SIMMM_MAP_PRIVATE, 0);
	TU_ASSERT_OK(read1(&e, a + 6 * PS));
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 16), RANGE(0, 15));
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(simmm_pte_young(mx_tr(e.mm, a + i * PS).entry), i == 6);
	/* The MMU sets the access flag of a prefaulted page without a fault. */
	TU_ASSERT_OK(read1(&e, a + 7 * PS));
	assert_true(simmm_pte_young(mx_tr(e.mm, a + 7 * PS).entry));
	assert_int_equal(mx_stats(e.mm).minor_faults, 1);
	env_free(&e);
}

/* ---- 7. reclaim ----------------------------------------------------------------- */

/* Reclaim unmaps every page fault-around mapped, through the rmap, in two
 * mms; the cache then lets them go. */
static void test_reclaim_afterwards(void **state)
{
	struct env e = env_new("arm64-4k-48", 16, 0);
	struct simmm_mm *mm2 = mx_mm(e.sim);
	simmm_addr_t a, b = 0;
	struct simmm_file_stats fs;
	uint64_t freed = 0;

	(void)state;
	cache(&e, 0, 16);
	a = map_at(&e, BASE, 16, SIMMM_PROT_READ, SIMMM_MAP_PRIVATE, 0);
	TU_ASSERT_OK(simmm_mmap(mm2, 0, 16 * PS, SIMMM_PROT_READ, SIMMM_MAP_SHARED, e.f, 0, &b));
	TU_ASSERT_OK(read1(&e, a + 15 * PS));
	{
		uint8_t x;

		TU_ASSERT_OK(simmm_mm_access(mm2, b + 15 * PS, &x, 1, SIMMM_ACCESS_READ));
	}
	TU_CHECK(e.sim);
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(cached(&e, i)->mapcount, 2);
	assert_int_equal(mx_stats(mm2).rss_file, 16);
	/* Reclaim until nothing is left: every page is unmapped from both
	 * mms through the file's rmap (the prefaulted entries are old on
	 * arm64, the faulting one is young and takes another pass). */
	TU_ASSERT_OK(simmm_reclaim(e.sim, 64, &freed));
	TU_CHECK(e.sim);
	assert_true(freed >= 16);
	TU_ASSERT_OK(simmm_file_stats(e.f, &fs));
	assert_int_equal(fs.cached, 0);
	assert_int_equal(mapped(&e, a, 16), 0);
	assert_int_equal(mx_stats(e.mm).rss_file, 0);
	assert_int_equal(mx_stats(mm2).rss_file, 0);
	/* The next read faults the first page in again, and around it only
	 * what the cache holds: nothing else. */
	TU_ASSERT_OK(read1(&e, a + 3 * PS));
	TU_CHECK(e.sim);
	assert_int_equal(mapped(&e, a, 16), 1ULL << 3);
	TU_ASSERT_OK(simmm_mmput(mm2));
	env_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_aligned),
		cmocka_unit_test(test_window_vma_clip),
		cmocka_unit_test(test_window_pmd_clip),
		cmocka_unit_test(test_window_eof_clip),
		cmocka_unit_test(test_window_eof_during_truncate),
		cmocka_unit_test(test_only_cached_uptodate),
		cmocka_unit_test(test_existing_entries_untouched),
		cmocka_unit_test(test_locked_folio_skipped),
		cmocka_unit_test(test_hwpoison_skipped),
		cmocka_unit_test(test_private_then_write_cows_one),
		cmocka_unit_test(test_shared_mapping),
		cmocka_unit_test(test_shmem),
		cmocka_unit_test(test_vm_locked),
		cmocka_unit_test(test_knob),
		cmocka_unit_test(test_uffd_wp_disables),
		cmocka_unit_test(test_geometry_defaults),
		cmocka_unit_test(test_arm64_old_prefault),
		cmocka_unit_test(test_reclaim_afterwards),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
