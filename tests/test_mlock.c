// SPDX-License-Identifier: MIT
/*
 * mlock(2), mlock2(2), munlock(2), mlockall(2), munlockall(2) and the
 * unevictable LRU (src/mm/mlock.c, src/mm/reclaim.c):
 *  1. arguments: zero length, an unaligned start, a wrapping or a
 *     PAGE_ALIGN-wrapped length, bad flags, holes (the VMAs before the hole
 *     are changed, nothing is populated);
 *  2. mlock populates (write faults in private writable mappings, the zero
 *     page for read-only ones, page-cache folios for shared ones) and puts
 *     the folios on the unevictable list with a count of 1; munlock puts
 *     them back on the inactive list;
 *  3. VMAs are split at the range's edges and merged again; locked_vm;
 *     mlocking a locked range twice counts nothing twice;
 *  4. mlock2(MLOCK_ONFAULT): nothing populated, faults mlock new folios;
 *  5. reclaim takes no page of a VM_LOCKED VMA, and mlocks the folios it
 *     finds there unmlocked (a swapped-in folio), freeing their swap;
 *  6. special, hugetlb, PROT_NONE VMAs, a page beyond EOF, write- and
 *     exec-only mappings;
 *  7. RLIMIT_MEMLOCK and CAP_IPC_LOCK (mlock, mlockall, mmap, mremap);
 *     MAP_LOCKED (-EPERM, -EAGAIN, populated, hugetlb loses the lock);
 *  8. mlockall(MCL_CURRENT / MCL_FUTURE / MCL_ONFAULT), munlockall;
 *  9. fork (no lock inherited), COW of an mlocked page;
 * 10. mremap: moved pages stay mlocked, a grown locked VMA is populated,
 *     DONTUNMAP unlocks the whole old VMA without splitting it (and leaves
 *     it charged), what it still maps staying mlocked;
 * 11. munmap, mmput, MADV_DONTNEED/FREE/COLD/PAGEOUT (-EINVAL), msync
 *     MS_INVALIDATE (-EBUSY);
 * 12. THP: a PMD-mapped THP is mlocked whole, stays so across a PMD split,
 *     splits into mlocked pages; a partially unmapped one is munlocked and
 *     its pages mlocked again by reclaim;
 * 13. device migration of mlocked pages (munlocked when collected, the
 *     page faulted back is mlocked; a failed migration mlocks again);
 *     hmm_range_fault on a VM_LOCKED VMA; a munlock that meets a
 *     device-exclusive entry leaves its folio mlocked (as upstream's
 *     mlock_pte_range()), which the checker accepts, until it is freed;
 * 14. allocation failure injection: -ENOMEM (VMAs up to the failing split
 *     changed) or -EAGAIN (populate), a consistent mm, no leak;
 * 15. reclaim racing mlock on the deterministic scheduler: the page mlock
 *     populated is not unmapped by a reclaim that was already inside its
 *     unmap; munlock afterwards; and mlock + munlock while reclaim holds
 *     the folio isolated: munlocked off the LRU, then reclaimed;
 * 16. the checker catches an mlock_count above the VM_LOCKED mappings, an
 *     unevictable flag without PG_mlocked, and a wrong locked_vm.
 * Every step runs the invariant checker.
 */
#include "test_mm_ext_util.h"
#include "test_migrate_util.h"

#define RW (SIMMM_PROT_READ | SIMMM_PROT_WRITE)
#define PRIV_ANON (SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS)

static uint64_t vmflags(struct simmm_mm *mm, simmm_addr_t a)
{
	struct simmm_vma_info vi;

	TU_ASSERT_OK(simmm_vma_info(mm, a, &vi));
	return vi.vm_flags;
}

static bool present(struct simmm_mm *mm, simmm_addr_t a)
{
	struct simmm_translation t;

	return simmm_pgtable_translate(simmm_mm_pgtable(mm), a, &t) == 0 && t.present;
}

/* On the unevictable list, mlocked, counting @count mlocks. */
static void expect_mlocked(struct simmm_mm *mm, simmm_addr_t a, unsigned count)
{
	struct simmm_page *f = mx_folio_at(mm, a);

	assert_int_equal(f->flags & (PG_mlocked | PG_unevictable | PG_lru | PG_active),
			 PG_mlocked | PG_unevictable | PG_lru);
	assert_int_equal(f->mlock_count, count);
}

/* On an evictable list, not mlocked. */
static void expect_evictable(struct simmm_mm *mm, simmm_addr_t a)
{
	struct simmm_page *f = mx_folio_at(mm, a);

	assert_int_equal(f->flags & (PG_mlocked | PG_unevictable | PG_lru), PG_lru);
}

static uint64_t locked_vm(struct simmm_mm *mm)
{
	return mx_stats(mm).locked_vm;
}

static simmm_addr_t map(struct simmm_mm *mm, uint64_t len, int prot, int flags,
			struct simmm_file *f)
{
	simmm_addr_t a = 0;

	TU_ASSERT_OK(simmm_mmap(mm, 0, len, prot, flags, f, 0, &a));
	return a;
}

/* ---- 1. arguments ------------------------------------------------------------------- */

static void test_args(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 8 * PS);

	assert_int_equal(simmm_mlock(NULL, a, PS), -EINVAL);
	assert_int_equal(simmm_munlock(NULL, a, PS), -EINVAL);
	assert_int_equal(simmm_mlockall(NULL, SIMMM_MCL_CURRENT), -EINVAL);
	assert_int_equal(simmm_munlockall(NULL), -EINVAL);
	assert_int_equal(simmm_mlock2(mm, a, PS, 2), -EINVAL);
	assert_int_equal(simmm_mlockall(mm, 0), -EINVAL);
	assert_int_equal(simmm_mlockall(mm, 8), -EINVAL);
	assert_int_equal(simmm_mlockall(mm, SIMMM_MCL_ONFAULT), -EINVAL);
	/* Zero length: nothing; PAGE_ALIGN() wrapping to 0 too (upstream). */
	TU_ASSERT_OK(simmm_mlock(mm, a, 0));
	TU_ASSERT_OK(simmm_mlock(mm, a, UINT64_MAX));
	assert_false(vmflags(mm, a) & SIMMM_VM_LOCKED);
	/* The end wraps: -EINVAL. */
	assert_int_equal(simmm_mlock(mm, a, UINT64_MAX - a + 1), -EINVAL);
	TU_CHECK(sim);

	/* An unaligned start: its page, and the length grows by the offset. */
	TU_ASSERT_OK(simmm_mlock(mm, a + 5, PS));
	assert_true(vmflags(mm, a) & SIMMM_VM_LOCKED);
	assert_true(vmflags(mm, a + PS) & SIMMM_VM_LOCKED);
	assert_false(vmflags(mm, a + 2 * PS) & SIMMM_VM_LOCKED);
	assert_true(present(mm, a) && present(mm, a + PS) && !present(mm, a + 2 * PS));
	assert_int_equal(mx_stats(mm).nr_vmas, 2);
	assert_int_equal(locked_vm(mm), 2);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_munlock(mm, a + PS - 1, 2));
	assert_false(vmflags(mm, a) & SIMMM_VM_LOCKED);
	assert_int_equal(mx_stats(mm).nr_vmas, 1); /* merged again */
	assert_int_equal(locked_vm(mm), 0);
	TU_CHECK(sim);

	/* A hole at the start: nothing changes. */
	TU_ASSERT_OK(simmm_munmap(mm, a + 3 * PS, PS));
	assert_int_equal(simmm_mlock(mm, a + 3 * PS, 2 * PS), -ENOMEM);
	assert_false(vmflags(mm, a + 4 * PS) & SIMMM_VM_LOCKED);
	assert_int_equal(simmm_munlock(mm, a + 3 * PS, 2 * PS), -ENOMEM);
	/* A hole inside: the VMA before it is locked, nothing populated. */
	assert_int_equal(simmm_mlock(mm, a, 8 * PS), -ENOMEM);
	assert_true(vmflags(mm, a) & SIMMM_VM_LOCKED);
	assert_false(vmflags(mm, a + 4 * PS) & SIMMM_VM_LOCKED);
	assert_false(present(mm, a + 2 * PS));
	assert_int_equal(locked_vm(mm), 3);
	TU_CHECK(sim);
	/* A hole at the end, for munlock: the VMAs before it are unlocked. */
	assert_int_equal(simmm_munlock(mm, a, 4 * PS), -ENOMEM);
	assert_false(vmflags(mm, a) & SIMMM_VM_LOCKED);
	assert_int_equal(locked_vm(mm), 0);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmgrab(mm));
	TU_ASSERT_OK(simmm_mmput(mm));
	assert_int_equal(simmm_mlock(mm, a, PS), -EINVAL); /* no users left */
	assert_int_equal(simmm_mlockall(mm, SIMMM_MCL_CURRENT), -EINVAL);
	TU_ASSERT_OK(simmm_mmdrop(mm));
	tu_sim_free(&sim);
}

/* ---- 2. populate and the lists ---------------------------------------------------------- */

static void test_populate_lists(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = NULL;
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS), r, s, p;
	struct simmm_lru_stats st0, st;

	mx_write(mm, a, 1);
	expect_evictable(mm, a);
	st0 = mx_lru(sim);
	TU_ASSERT_OK(simmm_mlock(mm, a, 4 * PS));
	for (int i = 0; i < 4; i++) {
		struct simmm_translation t = mx_tr(mm, a + i * PS);

		assert_true(t.present && t.write); /* write-faulted: COW broken */
		expect_mlocked(mm, a + i * PS, 1);
	}
	mx_expect(mm, a, 1);
	st = mx_lru(sim);
	assert_int_equal(st.nr_unevictable, st0.nr_unevictable + 4);
	assert_int_equal(st.nr_mlock, 4);
	assert_int_equal(st.mlocked - st0.mlocked, 4);
	assert_int_equal(st.culled - st0.culled, 4);
	TU_CHECK(sim);

	/* Read-only private anonymous memory: the zero page, not mlocked. */
	r = map(mm, 2 * PS, SIMMM_PROT_READ, PRIV_ANON, NULL);
	TU_ASSERT_OK(simmm_mlock(mm, r, 2 * PS));
	assert_int_equal(mx_tr(mm, r).pfn, simmm_zero_pfn(sim));
	assert_int_equal(mx_lru(sim).nr_mlock, 4);
	/* A shared file mapping: the page-cache folio, read-faulted. */
	TU_ASSERT_OK(simmm_file_create(sim, 2 * PS, 0, &f));
	s = map(mm, 2 * PS, RW, SIMMM_MAP_SHARED, f);
	TU_ASSERT_OK(simmm_mlock(mm, s, 2 * PS));
	assert_false(mx_tr(mm, s).write);
	expect_mlocked(mm, s, 1);
	/* A private file mapping: written, so an anonymous copy. */
	p = map(mm, 2 * PS, RW, SIMMM_MAP_PRIVATE, f);
	TU_ASSERT_OK(simmm_mlock(mm, p, 2 * PS));
	assert_true(mx_folio_at(mm, p)->flags & PG_anon);
	expect_mlocked(mm, p, 1);
	assert_int_equal(mx_lru(sim).nr_mlock, 8);
	TU_CHECK(sim);

	/* munlock: back to the inactive list. */
	st0 = mx_lru(sim);
	TU_ASSERT_OK(simmm_munlock(mm, a, 4 * PS));
	for (int i = 0; i < 4; i++) {
		expect_evictable(mm, a + i * PS);
		assert_false(mx_folio_at(mm, a + i * PS)->flags & PG_active);
	}
	st = mx_lru(sim);
	assert_int_equal(st.munlocked - st0.munlocked, 4);
	assert_int_equal(st.rescued - st0.rescued, 4);
	assert_int_equal(st.nr_unevictable, st0.nr_unevictable - 4);
	assert_int_equal(st.nr_mlock, 4);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	assert_int_equal(mx_lru(sim).nr_mlock, 0);
	TU_ASSERT_OK(simmm_file_put(f));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* ---- 3. split, merge, locked_vm ---------------------------------------------------------- */

static void test_split_merge(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 8 * PS);

	TU_ASSERT_OK(simmm_mlock(mm, a + 2 * PS, 4 * PS));
	assert_int_equal(mx_stats(mm).nr_vmas, 3);
	assert_false(vmflags(mm, a + PS) & SIMMM_VM_LOCKED);
	assert_true(vmflags(mm, a + 2 * PS) & SIMMM_VM_LOCKED);
	assert_false(vmflags(mm, a + 6 * PS) & SIMMM_VM_LOCKED);
	assert_int_equal(locked_vm(mm), 4);
	/* Again: nothing to do ("mlocking twice would be wrong"). */
	TU_ASSERT_OK(simmm_mlock(mm, a + 2 * PS, 4 * PS));
	expect_mlocked(mm, a + 3 * PS, 1);
	assert_int_equal(locked_vm(mm), 4);
	/* The whole range: one VMA; the locked part was not walked again. */
	TU_ASSERT_OK(simmm_mlock(mm, a, 8 * PS));
	assert_int_equal(mx_stats(mm).nr_vmas, 1);
	assert_int_equal(locked_vm(mm), 8);
	for (int i = 0; i < 8; i++)
		expect_mlocked(mm, a + i * PS, 1);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_munlock(mm, a + 4 * PS, 4 * PS));
	assert_int_equal(mx_stats(mm).nr_vmas, 2);
	assert_int_equal(locked_vm(mm), 4);
	expect_evictable(mm, a + 5 * PS);
	expect_mlocked(mm, a + 3 * PS, 1);
	TU_ASSERT_OK(simmm_munlock(mm, a, 8 * PS));
	assert_int_equal(mx_stats(mm).nr_vmas, 1);
	assert_int_equal(locked_vm(mm), 0);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* ---- 4. MLOCK_ONFAULT ------------------------------------------------------------------- */

static void test_onfault(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS);
	uint8_t b;

	mx_write(mm, a, 1); /* present before: mlocked by the walk */
	TU_ASSERT_OK(simmm_mlock2(mm, a, 4 * PS, SIMMM_MLOCK_ONFAULT));
	assert_int_equal(vmflags(mm, a) & SIMMM_VM_LOCKED_MASK, SIMMM_VM_LOCKED_MASK);
	expect_mlocked(mm, a, 1);
	assert_false(present(mm, a + PS) || present(mm, a + 2 * PS));
	mx_write(mm, a + PS, 2); /* mlock_new_folio() */
	expect_mlocked(mm, a + PS, 1);
	TU_ASSERT_OK(simmm_mm_access(mm, a + 2 * PS, &b, 1, SIMMM_ACCESS_READ));
	assert_int_equal(mx_tr(mm, a + 2 * PS).pfn, simmm_zero_pfn(sim));
	assert_int_equal(locked_vm(mm), 4);
	TU_CHECK(sim);
	/* Plain mlock: VM_LOCKONFAULT cleared and the range populated; the
	 * folios already mlocked are not counted again. */
	TU_ASSERT_OK(simmm_mlock(mm, a, 4 * PS));
	assert_int_equal(vmflags(mm, a) & SIMMM_VM_LOCKED_MASK, SIMMM_VM_LOCKED);
	for (int i = 0; i < 4; i++)
		expect_mlocked(mm, a + i * PS, 1); /* page 2: the zero page COW-broken */
	assert_int_equal(locked_vm(mm), 4);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* ---- 5. reclaim ------------------------------------------------------------------------- */

static void test_reclaim_skips_locked(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 32 * PS);
	uint64_t n = 0;

	for (int i = 0; i < 32; i++)
		mx_write(mm, a + i * PS, (unsigned)i);
	TU_ASSERT_OK(simmm_mlock(mm, a, 16 * PS));
	TU_ASSERT_OK(simmm_reclaim(sim, 1000, &n));
	assert_true(n >= 16);
	for (int i = 0; i < 32; i++)
		assert_int_equal(present(mm, a + i * PS), i < 16);
	for (int i = 0; i < 32; i++)
		mx_expect(mm, a + i * PS, (unsigned)i);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* A folio mapped in a VM_LOCKED VMA without PG_mlocked (swapped in fresh:
 * do_swap_page() does not mlock it) is mlocked by the reclaim that meets it
 * (folio_referenced_one()), culled, and not unmapped. */
static void test_reclaim_mlocks_missed(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);
	struct simmm_page *f;
	uint64_t n = 0;

	mx_write(mm, a, 7);
	TU_ASSERT_OK(simmm_madvise(mm, a, PS, SIMMM_MADV_PAGEOUT));
	assert_false(present(mm, a));
	TU_ASSERT_OK(simmm_mlock(mm, a, 2 * PS));
	f = mx_folio_at(mm, a);
	assert_false(f->flags & PG_mlocked);
	expect_evictable(mm, a);
	expect_mlocked(mm, a + PS, 1); /* a new folio */
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_reclaim(sim, 64, &n));
	assert_true(present(mm, a));
	expect_mlocked(mm, a, 0); /* culled at the putback: count reset */
	assert_true(mx_folio_at(mm, a) == f);
	mx_expect(mm, a, 7);
	TU_CHECK(sim);
	/* A count of 0 is taken as the last mlock: munlock rescues it. */
	TU_ASSERT_OK(simmm_munlock(mm, a, PS));
	expect_evictable(mm, a);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* ---- 6. special VMAs and faults that fail ------------------------------------------------- */

static void test_special_and_failures(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = NULL;
	simmm_addr_t pfn_map, mixed, huge, none, eof, wo, xo;
	simmm_pfn_t pg;

	/* PFNMAP: no VM_LOCKED, no error, nothing populated. */
	pfn_map = map(mm, 2 * PS, RW, SIMMM_MAP_SHARED | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_PFNMAP,
		      NULL);
	TU_ASSERT_OK(simmm_mlock(mm, pfn_map, 2 * PS));
	assert_false(vmflags(mm, pfn_map) & SIMMM_VM_LOCKED);
	/* MIXEDMAP: populated like any VMA; a page the driver did not insert
	 * cannot be faulted (SIGBUS: -EFAULT, so -ENOMEM). */
	mixed = map(mm, 2 * PS, RW, SIMMM_MAP_SHARED | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_MIXEDMAP,
		    NULL);
	TU_ASSERT_OK(simmm_page_alloc(sim, 0, &pg));
	TU_ASSERT_OK(simmm_mmap_write_lock(mm));
	TU_ASSERT_OK(simmm_vm_insert_page(mm, mixed, pg));
	TU_ASSERT_OK(simmm_mmap_write_unlock(mm));
	TU_ASSERT_OK(simmm_mlock(mm, mixed, PS));
	assert_int_equal(simmm_mlock(mm, mixed, 2 * PS), -ENOMEM);
	assert_false(vmflags(mm, mixed) & SIMMM_VM_LOCKED);
	assert_false(mx_page(sim, pg).flags & PG_mlocked);
	assert_int_equal(locked_vm(mm), 0);
	TU_CHECK(sim);
	/* hugetlb: not locked, but populated. */
	huge = map(mm, PMD, RW, PRIV_ANON | SIMMM_MAP_HUGETLB, NULL);
	TU_ASSERT_OK(simmm_mlock(mm, huge, PMD));
	assert_false(vmflags(mm, huge) & SIMMM_VM_LOCKED);
	assert_true(present(mm, huge));
	assert_int_equal(locked_vm(mm), 0);
	/* PROT_NONE: locked, not populated, -ENOMEM (-EFAULT from populate). */
	none = map(mm, 2 * PS, SIMMM_PROT_NONE, PRIV_ANON, NULL);
	assert_int_equal(simmm_mlock(mm, none, 2 * PS), -ENOMEM);
	assert_true(vmflags(mm, none) & SIMMM_VM_LOCKED);
	assert_false(present(mm, none));
	assert_int_equal(locked_vm(mm), 2);
	TU_CHECK(sim);
	/* Beyond EOF: the pages before it are populated, then -ENOMEM. */
	TU_ASSERT_OK(simmm_file_create(sim, PS, 0, &f));
	eof = map(mm, 2 * PS, SIMMM_PROT_READ, SIMMM_MAP_SHARED, f);
	assert_int_equal(simmm_mlock(mm, eof, 2 * PS), -ENOMEM);
	expect_mlocked(mm, eof, 1);
	assert_false(present(mm, eof + PS));
	/* Write-only: write-faulted; exec-only: a FOLL_FORCE read fault. */
	wo = map(mm, PS, SIMMM_PROT_WRITE, PRIV_ANON, NULL);
	TU_ASSERT_OK(simmm_mlock(mm, wo, PS));
	expect_mlocked(mm, wo, 1);
	xo = map(mm, PS, SIMMM_PROT_EXEC, PRIV_ANON, NULL);
	TU_ASSERT_OK(simmm_mlock(mm, xo, PS));
	assert_int_equal(mx_tr(mm, xo).pfn, simmm_zero_pfn(sim));
	TU_CHECK(sim);
	/* mlockall ignores what populate cannot do. */
	TU_ASSERT_OK(simmm_mlockall(mm, SIMMM_MCL_CURRENT));
	assert_true(vmflags(mm, none) & SIMMM_VM_LOCKED);
	assert_false(vmflags(mm, huge) & SIMMM_VM_LOCKED);
	assert_false(vmflags(mm, pfn_map) & SIMMM_VM_LOCKED);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_munmap(mm, mixed, 2 * PS));
	assert_int_equal(simmm_page_put(sim, pg), 0);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	tu_sim_free(&sim);
}

/* ---- 7. RLIMIT_MEMLOCK ------------------------------------------------------------------- */

static void test_rlimit(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, 8 * PS), b = 0, r = 0;

	TU_ASSERT_OK(simmm_mm_set_memlock_limit(mm, 2 * PS));
	assert_int_equal(simmm_mlock(mm, a, 4 * PS), -ENOMEM);
	assert_false(vmflags(mm, a) & SIMMM_VM_LOCKED);
	TU_ASSERT_OK(simmm_mlock(mm, a, 2 * PS));
	TU_ASSERT_OK(simmm_mlock(mm, a, 2 * PS)); /* locked already: not counted again */
	assert_int_equal(simmm_mlock(mm, a, 3 * PS), -ENOMEM);
	assert_int_equal(simmm_mlockall(mm, SIMMM_MCL_CURRENT), -ENOMEM);
	TU_ASSERT_OK(simmm_mlockall(mm, SIMMM_MCL_FUTURE)); /* not checked */
	assert_int_equal(simmm_mmap(mm, 0, PS, RW, PRIV_ANON, NULL, 0, &b), -EAGAIN);
	assert_int_equal(simmm_mremap(mm, a, 2 * PS, 3 * PS, SIMMM_MREMAP_MAYMOVE, 0, &r),
			 -EAGAIN);
	TU_ASSERT_OK(simmm_munlockall(mm));
	TU_CHECK(sim);
	/* Limit 0: -EPERM, munlock still works. */
	TU_ASSERT_OK(simmm_mm_set_memlock_limit(mm, 0));
	assert_int_equal(simmm_mlock(mm, a, PS), -EPERM);
	assert_int_equal(simmm_mlockall(mm, SIMMM_MCL_CURRENT), -EPERM);
	/* CAP_IPC_LOCK: no limit, and a fork child inherits both. */
	TU_ASSERT_OK(simmm_mm_set_cap_ipc_lock(mm, true));
	TU_ASSERT_OK(simmm_mlock(mm, a, 8 * PS));
	assert_int_equal(locked_vm(mm), 8);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_ASSERT_OK(simmm_mlock(child, a, 8 * PS));
	TU_ASSERT_OK(simmm_mm_set_cap_ipc_lock(child, false));
	assert_int_equal(simmm_mlock(child, a, PS), -EPERM);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* MAP_LOCKED: VM_LOCKED, populated and mlocked at once, charged to
 * locked_vm; -EPERM without any right to lock, -EAGAIN over the limit
 * (the limit checked before hugetlb drops the lock); populate errors are
 * ignored (PROT_NONE: locked, nothing populated). */
static void test_map_locked(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = 0, b = 0;

	TU_ASSERT_OK(simmm_mmap(mm, 0, 4 * PS, RW, PRIV_ANON | SIMMM_MAP_LOCKED, NULL, 0, &a));
	TU_CHECK(sim);
	assert_true(vmflags(mm, a) & SIMMM_VM_LOCKED);
	assert_false(vmflags(mm, a) & SIMMM_VM_LOCKONFAULT);
	assert_int_equal(locked_vm(mm), 4);
	for (unsigned i = 0; i < 4; i++)
		expect_mlocked(mm, a + i * PS, 1);
	/* PROT_NONE: locked, charged, nothing populated, no error. */
	TU_ASSERT_OK(simmm_mmap(mm, 0, 2 * PS, SIMMM_PROT_NONE, PRIV_ANON | SIMMM_MAP_LOCKED,
				NULL, 0, &b));
	assert_true(vmflags(mm, b) & SIMMM_VM_LOCKED);
	assert_false(present(mm, b));
	assert_int_equal(locked_vm(mm), 6);
	TU_CHECK(sim);
	/* hugetlb: the lock is dropped, but the mapping is populated. */
	TU_ASSERT_OK(simmm_mmap(mm, 0, PMD, RW, PRIV_ANON | SIMMM_MAP_HUGETLB | SIMMM_MAP_LOCKED,
				NULL, 0, &b));
	assert_false(vmflags(mm, b) & SIMMM_VM_LOCKED);
	assert_true(present(mm, b));
	assert_int_equal(locked_vm(mm), 6);
	TU_CHECK(sim);
	/* Over the limit: -EAGAIN (hugetlb too: checked first); limit 0: -EPERM. */
	TU_ASSERT_OK(simmm_mm_set_memlock_limit(mm, 7 * PS));
	assert_int_equal(simmm_mmap(mm, 0, 2 * PS, RW, PRIV_ANON | SIMMM_MAP_LOCKED, NULL, 0, &b),
			 -EAGAIN);
	assert_int_equal(simmm_mmap(mm, 0, PMD, RW,
				    PRIV_ANON | SIMMM_MAP_HUGETLB | SIMMM_MAP_LOCKED, NULL, 0, &b),
			 -EAGAIN);
	TU_ASSERT_OK(simmm_mmap(mm, 0, PS, RW, PRIV_ANON | SIMMM_MAP_LOCKED, NULL, 0, &b));
	assert_int_equal(locked_vm(mm), 7);
	TU_ASSERT_OK(simmm_mm_set_memlock_limit(mm, 0));
	assert_int_equal(simmm_mmap(mm, 0, PS, RW, PRIV_ANON | SIMMM_MAP_LOCKED, NULL, 0, &b),
			 -EPERM);
	TU_ASSERT_OK(simmm_mmap(mm, 0, PS, RW, PRIV_ANON, NULL, 0, &b)); /* unlocked: fine */
	TU_ASSERT_OK(simmm_mm_set_cap_ipc_lock(mm, true));
	TU_ASSERT_OK(simmm_mmap(mm, 0, 2 * PS, RW, PRIV_ANON | SIMMM_MAP_LOCKED, NULL, 0, &b));
	expect_mlocked(mm, b + PS, 1);
	TU_CHECK(sim);
	/* munlock undoes it like any lock. */
	TU_ASSERT_OK(simmm_munlock(mm, a, 4 * PS));
	expect_evictable(mm, a);
	assert_int_equal(locked_vm(mm), 5);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* ---- 8. mlockall / munlockall ------------------------------------------------------------ */

static void test_mlockall(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = NULL;
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS), s, n, b, c, d;

	TU_ASSERT_OK(simmm_file_create(sim, 2 * PS, 0, &f));
	s = map(mm, 2 * PS, RW, SIMMM_MAP_SHARED, f);
	n = map(mm, PS, SIMMM_PROT_NONE, PRIV_ANON, NULL);
	/* MCL_FUTURE alone: nothing existing changes. */
	TU_ASSERT_OK(simmm_mlockall(mm, SIMMM_MCL_FUTURE));
	assert_false(vmflags(mm, a) & SIMMM_VM_LOCKED);
	b = map(mm, 2 * PS, RW, PRIV_ANON, NULL);
	assert_true(vmflags(mm, b) & SIMMM_VM_LOCKED);
	expect_mlocked(mm, b + PS, 1); /* populated at mmap */
	assert_int_equal(locked_vm(mm), 2);
	TU_CHECK(sim);
	/* MCL_CURRENT: every VMA, populated but for PROT_NONE. */
	TU_ASSERT_OK(simmm_mlockall(mm, SIMMM_MCL_CURRENT));
	assert_true(vmflags(mm, a) & vmflags(mm, s) & vmflags(mm, n) & SIMMM_VM_LOCKED);
	expect_mlocked(mm, a, 1);
	expect_mlocked(mm, s + PS, 1);
	assert_false(present(mm, n));
	assert_int_equal(locked_vm(mm), 7);
	/* ... and without MCL_FUTURE, def_flags are cleared. */
	c = map(mm, PS, RW, PRIV_ANON, NULL);
	assert_false(vmflags(mm, c) & SIMMM_VM_LOCKED);
	TU_CHECK(sim);
	/* MCL_ONFAULT: locked on fault; new mappings not populated, even
	 * with MAP_POPULATE. */
	TU_ASSERT_OK(simmm_mlockall(mm, SIMMM_MCL_CURRENT | SIMMM_MCL_FUTURE | SIMMM_MCL_ONFAULT));
	assert_int_equal(vmflags(mm, c) & SIMMM_VM_LOCKED_MASK, SIMMM_VM_LOCKED_MASK);
	d = map(mm, 2 * PS, RW, PRIV_ANON | SIMMM_MAP_POPULATE, NULL);
	assert_int_equal(vmflags(mm, d) & SIMMM_VM_LOCKED_MASK, SIMMM_VM_LOCKED_MASK);
	assert_false(present(mm, d));
	mx_write(mm, d, 1);
	expect_mlocked(mm, d, 1);
	TU_CHECK(sim);
	/* munlockall: everything, and def_flags. */
	TU_ASSERT_OK(simmm_munlockall(mm));
	assert_false((vmflags(mm, a) | vmflags(mm, s) | vmflags(mm, d)) & SIMMM_VM_LOCKED_MASK);
	expect_evictable(mm, a);
	expect_evictable(mm, d);
	assert_int_equal(locked_vm(mm), 0);
	assert_int_equal(mx_lru(sim).nr_mlock, 0);
	c = map(mm, PS, RW, PRIV_ANON, NULL);
	assert_false(vmflags(mm, c) & SIMMM_VM_LOCKED);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	tu_sim_free(&sim);
}

/* ---- 9. fork and COW --------------------------------------------------------------------- */

static void test_fork_cow(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS), b;
	struct simmm_page *old;

	mx_write(mm, a, 1);
	mx_write(mm, a + PS, 2);
	TU_ASSERT_OK(simmm_mlockall(mm, SIMMM_MCL_CURRENT | SIMMM_MCL_FUTURE));
	TU_ASSERT_OK(simmm_fork(mm, &child));
	assert_false(vmflags(child, a) & SIMMM_VM_LOCKED_MASK);
	assert_int_equal(locked_vm(child), 0);
	b = map(child, PS, RW, PRIV_ANON, NULL); /* def_flags not inherited */
	assert_false(vmflags(child, b) & SIMMM_VM_LOCKED);
	old = mx_folio_at(mm, a);
	expect_mlocked(mm, a, 1); /* the child's mapping counts nothing */
	TU_CHECK(sim);
	/* The child's COW: its copy is not mlocked, the parent's page stays. */
	mx_write(child, a + PS, 3);
	expect_evictable(child, a + PS);
	expect_mlocked(mm, a + PS, 1);
	/* The parent's COW: the copy is mlocked, the old folio munlocked. */
	mx_write(mm, a, 4);
	expect_mlocked(mm, a, 1);
	assert_true(mx_folio_at(mm, a) != old);
	assert_true(mx_folio_at(child, a) == old);
	expect_evictable(child, a);
	mx_expect(child, a, 1);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	assert_int_equal(mx_lru(sim).nr_mlock, 0);
	tu_sim_free(&sim);
}

/* ---- 10. mremap -------------------------------------------------------------------------- */

static void test_mremap(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS), dst = mx_anon(mm, 0, 16 * PS), r = 0, r2 = 0, s2;
	simmm_pfn_t pfn;

	TU_ASSERT_OK(simmm_munmap(mm, dst, 16 * PS));
	for (int i = 0; i < 4; i++)
		mx_write(mm, a + i * PS, (unsigned)i);
	TU_ASSERT_OK(simmm_mlock(mm, a, 4 * PS));
	pfn = mx_tr(mm, a + PS).pfn;
	/* Moved: the same folios, still mlocked, in a VM_LOCKED VMA. */
	TU_ASSERT_OK(simmm_mremap(mm, a, 4 * PS, 4 * PS, SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED,
				  dst, &r));
	assert_int_equal(r, dst);
	assert_int_equal(mx_tr(mm, r + PS).pfn, pfn);
	expect_mlocked(mm, r + PS, 1);
	assert_true(vmflags(mm, r) & SIMMM_VM_LOCKED);
	assert_int_equal(locked_vm(mm), 4);
	TU_CHECK(sim);
	/* Grown in place: the new part is populated and mlocked. */
	TU_ASSERT_OK(simmm_mremap(mm, r, 4 * PS, 6 * PS, 0, 0, &r2));
	assert_int_equal(r2, r);
	expect_mlocked(mm, r + 5 * PS, 1);
	assert_int_equal(locked_vm(mm), 6);
	for (int i = 0; i < 4; i++)
		mx_expect(mm, r + i * PS, (unsigned)i);
	TU_CHECK(sim);
	/* DONTUNMAP: the old range stays, empty and unlocked, and charged
	 * (upstream's dontunmap_complete() does not uncharge it). */
	TU_ASSERT_OK(simmm_mremap(mm, r, 6 * PS, 6 * PS,
				  SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_DONTUNMAP, 0, &r2));
	assert_false(vmflags(mm, r) & SIMMM_VM_LOCKED_MASK);
	assert_false(present(mm, r));
	expect_mlocked(mm, r2 + PS, 1);
	assert_int_equal(locked_vm(mm), 12);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_munmap(mm, r2, 6 * PS));
	assert_int_equal(locked_vm(mm), 6);
	assert_int_equal(mx_lru(sim).nr_mlock, 0);
	TU_CHECK(sim);
	/* DONTUNMAP next to its own source: a locked anonymous VMA never
	 * faulted (no anon_vma; PROT_NONE here, which mlock() locks before
	 * its populate fails with -ENOMEM, as upstream) has its pgoff follow
	 * the address, so copy_vma() merges the new range into the source
	 * (not split: all of it), and dontunmap_complete() unlocks the merged
	 * VMA, new range and all (found by fuzz_mm_ops: its model had the new
	 * range locked). */
	s2 = map(mm, 3 * PS, SIMMM_PROT_NONE, SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS, NULL);
	assert_int_equal(simmm_mlock(mm, s2, 3 * PS), -ENOMEM); /* locked, not populated */
	assert_true(vmflags(mm, s2) & SIMMM_VM_LOCKED);
	TU_ASSERT_OK(simmm_mremap(mm, s2 + PS, PS, PS,
				  SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED | SIMMM_MREMAP_DONTUNMAP,
				  s2, &r2));
	assert_int_equal(r2, s2);
	struct simmm_vma_info vi;
	TU_ASSERT_OK(simmm_vma_info(mm, s2, &vi));
	assert_int_equal(vi.start, s2);
	assert_int_equal(vi.end, s2 + 3 * PS); /* one VMA: the merge, source whole */
	assert_false(vi.vm_flags & SIMMM_VM_LOCKED_MASK);
	TU_CHECK(sim);
	/* Onto the page before: the new range joins the VMA before it and the
	 * source after it, and the whole merged VMA is unlocked. */
	s2 = map(mm, 3 * PS, SIMMM_PROT_NONE, SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS, NULL);
	assert_int_equal(simmm_mlock(mm, s2, 3 * PS), -ENOMEM);
	TU_ASSERT_OK(simmm_mremap(mm, s2 + 2 * PS, PS, PS,
				  SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED | SIMMM_MREMAP_DONTUNMAP,
				  s2 + PS, &r2));
	TU_ASSERT_OK(simmm_vma_info(mm, s2, &vi));
	assert_int_equal(vi.start, s2);
	assert_int_equal(vi.end, s2 + 3 * PS);
	assert_false(vi.vm_flags & SIMMM_VM_LOCKED_MASK);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/*
 * DONTUNMAP of part of a locked VMA: move_vma() splits nothing, and
 * dontunmap_complete() clears VM_LOCKED_MASK on the whole old VMA. The
 * pages it still maps are not munlocked (upstream does not walk them):
 * they stay mlocked on the unevictable list, out of reclaim's reach,
 * until the VMA goes and their last reference with it. locked_vm keeps
 * the old VMA charged and adds the new range.
 */
static void test_mremap_dontunmap_partial(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 6 * PS), r = 0;
	struct simmm_vma_info vi;
	uint64_t n = 0;

	for (int i = 0; i < 6; i++)
		mx_write(mm, a + i * PS, 10u + (unsigned)i);
	TU_ASSERT_OK(simmm_mlock(mm, a, 6 * PS));
	assert_int_equal(locked_vm(mm), 6);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mremap(mm, a + 2 * PS, 2 * PS, 2 * PS,
				  SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_DONTUNMAP, 0, &r));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_vma_info(mm, a, &vi));
	assert_int_equal(vi.start, a);
	assert_int_equal(vi.end, a + 6 * PS); /* not split */
	assert_false(vi.vm_flags & SIMMM_VM_LOCKED_MASK);
	assert_true(vmflags(mm, r) & SIMMM_VM_LOCKED);
	assert_int_equal(locked_vm(mm), 8);
	assert_false(present(mm, a + 2 * PS));
	assert_false(present(mm, a + 3 * PS));
	expect_mlocked(mm, r, 1);
	expect_mlocked(mm, a, 1); /* still mlocked, in an unlocked VMA */
	expect_mlocked(mm, a + 5 * PS, 1);
	TU_ASSERT_OK(simmm_reclaim(sim, 64, &n));
	TU_CHECK(sim);
	assert_int_equal(n, 0);
	for (int i = 0; i < 6; i++)
		if (i < 2 || i > 3)
			mx_expect(mm, a + i * PS, 10u + (unsigned)i);
	mx_expect(mm, r + PS, 13);
	mx_expect_zero(mm, a + 2 * PS);
	assert_int_equal(mx_lru(sim).nr_mlock, 6);
	TU_CHECK(sim);
	/* The unlocked VMA's munmap uncharges nothing and munlocks nothing;
	 * freeing the folios clears their PG_mlocked. */
	TU_ASSERT_OK(simmm_munmap(mm, a, 6 * PS));
	assert_int_equal(locked_vm(mm), 8);
	assert_int_equal(mx_lru(sim).nr_mlock, 2);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_munmap(mm, r, 2 * PS));
	assert_int_equal(locked_vm(mm), 6);
	assert_int_equal(mx_lru(sim).nr_mlock, 0);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * A folio DONTUNMAP left mlocked in its now unlocked VMA, zapped there by
 * MADV_DONTNEED (which the unlocked VMA allows) while a driver holds a
 * reference: the zap does not munlock (munlock_vma_folio() wants
 * VM_LOCKED), and the driver's bare put (simmm_page_put(), folio_put())
 * frees it still mlocked; __page_cache_release() clears PG_mlocked and
 * NR_MLOCK follows (found by fuzz_races: the LRU checker counted one
 * mlocked page more than there were).
 */
static void test_dontunmap_mlocked_freed_by_put(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS), r = 0;
	simmm_pfn_t pfn;

	for (int i = 0; i < 4; i++)
		mx_write(mm, a + i * PS, 30u + (unsigned)i);
	TU_ASSERT_OK(simmm_mlock(mm, a, 4 * PS));
	TU_ASSERT_OK(simmm_mremap(mm, a + 2 * PS, 2 * PS, 2 * PS,
				  SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_DONTUNMAP, 0, &r));
	TU_CHECK(sim);
	pfn = mx_tr(mm, a).pfn;
	expect_mlocked(mm, a, 1);
	assert_int_equal(mx_lru(sim).nr_mlock, 4);
	TU_ASSERT_OK(simmm_page_get(sim, pfn));
	TU_ASSERT_OK(simmm_madvise(mm, a, PS, SIMMM_MADV_DONTNEED));
	TU_CHECK(sim);
	assert_false(present(mm, a));
	assert_true(mx_page(sim, pfn).flags & PG_mlocked); /* unmapped, held, mlocked */
	uint64_t cleared = mx_lru(sim).cleared;

	assert_int_equal(simmm_page_put(sim, pfn), 0);
	TU_CHECK(sim);
	assert_true(mx_page(sim, pfn).free);
	assert_int_equal(mx_lru(sim).nr_mlock, 3);
	assert_int_equal(mx_lru(sim).cleared, cleared + 1);
	mx_expect(mm, r, 32);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	assert_int_equal(mx_lru(sim).nr_mlock, 0);
	tu_sim_free(&sim);
}

/* ---- 11. munmap, madvise, msync, exit ---------------------------------------------------- */

static void test_unmap_madvise_msync(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = NULL;
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS), s;
	static const int advs[] = {SIMMM_MADV_DONTNEED, SIMMM_MADV_FREE, SIMMM_MADV_COLD,
				   SIMMM_MADV_PAGEOUT};
	uint64_t freed;

	TU_ASSERT_OK(simmm_file_create(sim, 2 * PS, 0, &f));
	s = map(mm, 2 * PS, RW, SIMMM_MAP_SHARED, f);
	TU_ASSERT_OK(simmm_mlock(mm, a, 4 * PS));
	TU_ASSERT_OK(simmm_mlock(mm, s, 2 * PS));
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(simmm_madvise(mm, a, 4 * PS, advs[i]), -EINVAL);
	expect_mlocked(mm, a, 1);
	assert_int_equal(simmm_msync(mm, s, 2 * PS, SIMMM_MS_INVALIDATE), -EBUSY);
	TU_ASSERT_OK(simmm_msync(mm, s, 2 * PS, SIMMM_MS_SYNC));
	TU_CHECK(sim);
	/* munmap: the folios are freed, munlocked by the zap on the way. */
	freed = mx_free_pages(sim);
	TU_ASSERT_OK(simmm_munmap(mm, a + PS, 2 * PS));
	assert_int_equal(mx_free_pages(sim), freed + 2);
	assert_int_equal(mx_lru(sim).nr_mlock, 4);
	assert_int_equal(mx_lru(sim).cleared, 0);
	assert_int_equal(locked_vm(mm), 4);
	TU_CHECK(sim);
	/* exit: the page-cache folios stay, munlocked. */
	TU_ASSERT_OK(simmm_mmput(mm));
	assert_int_equal(mx_lru(sim).nr_mlock, 0);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_file_put(f));
	tu_sim_free(&sim);
}

/* ---- 12. THP ----------------------------------------------------------------------------- */

static void test_thp(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);
	struct simmm_page *f;

	TU_ASSERT_OK(simmm_mlock(mm, a, PMD));
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PMD);
	f = mx_folio_at(mm, a);
	assert_int_equal(f->order, 9);
	expect_mlocked(mm, a, 1);
	assert_int_equal(mx_lru(sim).nr_mlock, NR);
	TU_CHECK(sim);
	/* The PMD split by an mprotect of half: still mlocked, same count. */
	TU_ASSERT_OK(simmm_mprotect(mm, a + PMD / 2, PMD / 2, SIMMM_PROT_READ));
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PTE);
	assert_true(mx_folio_at(mm, a) == f);
	expect_mlocked(mm, a, 1);
	TU_CHECK(sim);
	/* The folio split: every page an mlocked folio of its own, the head
	 * keeping its count, the tails 0 (lru_add_split_folio()). */
	simmm__folio_get(sim, f);
	TU_ASSERT_OK(simmm__split_folio(sim, f));
	simmm__put_user_folio(sim, f);
	expect_mlocked(mm, a, 1);
	expect_mlocked(mm, a + 5 * PS, 0);
	assert_int_equal(mx_folio_at(mm, a + 5 * PS)->order, 0);
	assert_int_equal(mx_lru(sim).nr_mlock, NR);
	TU_CHECK(sim);
	/* munlock of a count of 0 clears it too (the last, as far as it knows). */
	TU_ASSERT_OK(simmm_munlock(mm, a, PMD));
	expect_evictable(mm, a);
	expect_evictable(mm, a + 300 * PS);
	assert_int_equal(mx_lru(sim).nr_mlock, 0);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* A locked THP unmapped in part: munlocked (count down to 0), partially
 * mapped, split by reclaim's deferred split scan; its pages in the locked
 * VMA are then mlocked one by one by reclaim and never swapped out. */
static void test_thp_partial_unmap(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, PMD);
	uint64_t n = 0;

	TU_ASSERT_OK(simmm_mlock(mm, a, PMD));
	mx_write(mm, a + 3 * PS, 3);
	TU_ASSERT_OK(simmm_munmap(mm, a + PMD / 2, PMD / 2));
	assert_false(mx_folio_at(mm, a)->flags & PG_mlocked);
	assert_true(mx_folio_at(mm, a)->flags & PG_partially_mapped);
	TU_CHECK(sim);
	for (int i = 0; i < 8; i++)
		TU_ASSERT_OK(simmm_reclaim(sim, 2 * NR, &n));
	for (uint64_t i = 0; i < NR / 2; i++) {
		assert_true(present(mm, a + i * PS));
		assert_int_equal(mx_folio_at(mm, a + i * PS)->order, 0);
	}
	expect_mlocked(mm, a + 3 * PS, 0);
	mx_expect(mm, a + 3 * PS, 3);
	assert_int_equal(mx_lru(sim).nr_mlock, NR / 2);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* ---- 13. device migration, HMM ------------------------------------------------------------ */

#define SYS SIMMM_MIGRATE_VMA_SELECT_SYSTEM

static void test_migrate_device(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS);
	struct tdev dev;
	uint64_t n = 0;

	TU_ASSERT_OK(tdev_init(&dev, sim, SIMMM_MEM_DEVICE_PRIVATE, 16));
	TU_ASSERT_OK(tu_fill(mm, a, 4, PS, 10));
	TU_ASSERT_OK(simmm_mlock(mm, a, 4 * PS));
	assert_int_equal(mx_lru(sim).nr_mlock, 4);
	/* Migrating mlocked pages is allowed: collected, they are munlocked
	 * (folio_remove_rmap_pte() in a VM_LOCKED VMA) and freed. */
	TU_ASSERT_OK(tdev_migrate(&dev, mm, a, 4, SYS, &n));
	assert_int_equal(n, 4);
	assert_true(simmm_is_device_private_entry(tu_pte(mm, a)));
	assert_int_equal(mx_lru(sim).nr_mlock, 0);
	TU_CHECK(sim);
	/* A CPU read faults each page back: remove_migration_ptes() mlocks
	 * the new RAM folio in the VM_LOCKED VMA. */
	TU_ASSERT_OK(tu_verify(mm, a, 4, PS, 10));
	for (int i = 0; i < 4; i++)
		expect_mlocked(mm, a + i * PS, 1);
	TU_CHECK(sim);
	/* A migration that fails (no device page) restores the mapping and
	 * mlocks the folio again. */
	dev.fail_alloc = true;
	TU_ASSERT_OK(tdev_migrate(&dev, mm, a, 1, SYS, &n));
	assert_int_equal(n, 0);
	expect_mlocked(mm, a, 1);
	assert_int_equal(mx_lru(sim).nr_mlock, 4);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_memunmap_pages(&dev.pgmap));
	tu_sim_free(&sim);
}

static void test_hmm_locked(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS);
	struct tu_counter c = {0};
	uint64_t pfns[4] = {0};
	struct simmm_hmm_range r = {.notifier = &c.mn, .start = a, .end = a + 4 * PS,
				    .hmm_pfns = pfns,
				    .default_flags = SIMMM_HMM_PFN_REQ_FAULT | SIMMM_HMM_PFN_REQ_WRITE};

	TU_ASSERT_OK(simmm_mlock2(mm, a, 4 * PS, SIMMM_MLOCK_ONFAULT));
	TU_ASSERT_OK(simmm_mmu_interval_notifier_insert(&c.mn, mm, a, 4 * PS, &tu_counter_ops));
	TU_ASSERT_OK(simmm_hmm_range_fault_retry(&r, SIMMM_HMM_RANGE_DEFAULT_TIMEOUT));
	for (int i = 0; i < 4; i++) {
		assert_true(pfns[i] & SIMMM_HMM_PFN_VALID);
		assert_true(pfns[i] & SIMMM_HMM_PFN_WRITE);
		expect_mlocked(mm, a + i * PS, 1); /* faulted into a VM_LOCKED VMA */
	}
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&c.mn));
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* munlock while the pages are device-exclusive: mlock_pte_range() skips
 * the non-present entries, so the folios keep PG_mlocked and their count
 * though no VM_LOCKED VMA maps them any more (fuzz_races' Y ops found the
 * checker calling that a violation). Restoring the ptes changes nothing:
 * the folios stay unevictable. MADV_PAGEOUT puts one back on the
 * unevictable list, counting 0 (lru_add()); an mlock + munlock cycle then
 * makes it evictable. The other is freed still mlocked, which clears
 * PG_mlocked (unevictable_pgs_cleared). */
static void test_munlock_device_exclusive(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);
	struct tdev dev;
	simmm_pfn_t p;
	uint64_t cleared;

	TU_ASSERT_OK(tdev_init(&dev, sim, SIMMM_MEM_DEVICE_PRIVATE, 4));
	TU_ASSERT_OK(tu_fill(mm, a, 2, PS, 30));
	TU_ASSERT_OK(simmm_mlock(mm, a, 2 * PS));
	for (int i = 0; i < 2; i++) {
		expect_mlocked(mm, a + i * PS, 1);
		TU_ASSERT_OK(simmm_mmap_read_lock(mm));
		TU_ASSERT_OK(simmm_make_device_exclusive(mm, a + i * PS, &dev, &p));
		TU_ASSERT_OK(simmm_mmap_read_unlock(mm));
		TU_ASSERT_OK(simmm_unlock_page(sim, p));
		simmm_page_put(sim, p);
		assert_true(simmm_is_device_exclusive_entry(tu_pte(mm, a + i * PS)));
	}
	TU_ASSERT_OK(simmm_munlock(mm, a, 2 * PS));
	assert_false(vmflags(mm, a) & SIMMM_VM_LOCKED);
	TU_CHECK(sim);
	/* The CPU takes the pages back: still mlocked. */
	TU_ASSERT_OK(tu_verify(mm, a, 2, PS, 30));
	expect_mlocked(mm, a, 1);
	expect_mlocked(mm, a + PS, 1);
	/* reclaim_pages() keeps an unevictable folio, its count reset. */
	TU_ASSERT_OK(simmm_madvise(mm, a + PS, PS, SIMMM_MADV_PAGEOUT));
	assert_true(present(mm, a + PS));
	expect_mlocked(mm, a + PS, 0);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mlock(mm, a + PS, PS));
	expect_mlocked(mm, a + PS, 1);
	TU_ASSERT_OK(simmm_munlock(mm, a + PS, PS));
	expect_evictable(mm, a + PS);
	TU_CHECK(sim);
	/* Freed at munmap: PG_mlocked cleared then. */
	cleared = mx_lru(sim).cleared;
	TU_ASSERT_OK(simmm_munmap(mm, a, PS));
	assert_int_equal(mx_lru(sim).cleared, cleared + 1);
	assert_int_equal(mx_lru(sim).nr_mlock, 0);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_memunmap_pages(&dev.pgmap));
	tu_sim_free(&sim);
}

/* ---- 14. allocation failures ------------------------------------------------------------- */

/* mlock over two VMAs, each needing a split, with the nth allocation
 * failing: -ENOMEM with the VMAs before the failing split changed (and
 * nothing populated), or -EAGAIN (populate), or 0; the mm stays consistent
 * and, once the injection is off, mlock completes. */
static void test_enomem(void **state)
{
	(void)state;
	for (uint64_t nth = 1; nth < 64; nth++) {
		simmm_sim *sim = mx_sim(NULL, 16 * MIB, 0);
		struct simmm_mm *mm = mx_mm(sim);
		struct simmm_fault_config fc = {.mode = SIMMM_FAULT_NTH, .nth = nth};
		simmm_addr_t a = mx_anon(mm, 0, 8 * PS);
		uint64_t hits;
		int rc;

		TU_ASSERT_OK(simmm_mprotect(mm, a + 4 * PS, 4 * PS, SIMMM_PROT_READ));
		TU_ASSERT_OK(simmm_fault_inject(sim, &fc));
		rc = simmm_mlock(mm, a + PS, 6 * PS);
		hits = simmm_fault_hits(sim);
		TU_ASSERT_OK(simmm_fault_inject(sim, NULL));
		TU_CHECK(sim);
		if (rc == -ENOMEM) {
			/* The second VMA never changes before the first. */
			assert_true(!(vmflags(mm, a + 4 * PS) & SIMMM_VM_LOCKED) ||
				    (vmflags(mm, a + PS) & SIMMM_VM_LOCKED));
			assert_false(vmflags(mm, a) & SIMMM_VM_LOCKED);
		} else if (rc == -EAGAIN) {
			assert_true(vmflags(mm, a + PS) & vmflags(mm, a + 4 * PS) &
				    SIMMM_VM_LOCKED);
		} else {
			TU_ASSERT_OK(rc);
		}
		TU_ASSERT_OK(simmm_mlock(mm, a + PS, 6 * PS));
		for (int i = 1; i < 7; i++)
			assert_true(present(mm, a + i * PS));
		assert_int_equal(locked_vm(mm), 6);
		TU_CHECK(sim);
		TU_ASSERT_OK(simmm_mmput(mm));
		tu_sim_free(&sim);
		if (rc == 0 && !hits)
			break;
	}
}

static int sweep_scenario(simmm_sim *sim, void *arg)
{
	struct simmm_mm *mm = NULL, *child = NULL;
	uint64_t ps = sim->page_size;
	simmm_addr_t a = 0, r = 0;
	uint8_t v = 1;
	int err;

	(void)arg;
	err = simmm_mm_create(sim, &mm);
	if (!err)
		err = simmm_mmap(mm, 0, 8 * ps, RW, PRIV_ANON, NULL, 0, &a);
	if (!err)
		err = simmm_mm_access(mm, a, &v, 1, SIMMM_ACCESS_WRITE);
	if (!err)
		err = simmm_mlock(mm, a + ps, 4 * ps);
	if (!err)
		err = simmm_fork(mm, &child);
	if (!err)
		err = simmm_mm_access(mm, a + ps, &v, 1, SIMMM_ACCESS_WRITE);
	if (!err)
		err = simmm_mremap(mm, a + ps, 4 * ps, 6 * ps, SIMMM_MREMAP_MAYMOVE, 0, &r);
	if (!err)
		err = simmm_mlockall(mm, SIMMM_MCL_CURRENT | SIMMM_MCL_FUTURE);
	if (!err)
		err = simmm_munlock(mm, a, ps);
	if (!err)
		err = simmm_munlockall(mm);
	if (!err && simmm_check(sim))
		err = -EUCLEAN;
	if (child)
		simmm_mmput(child);
	if (mm)
		simmm_mmput(mm);
	return err == -EAGAIN ? -ENOMEM : err;
}

static void test_sweep(void **state)
{
	(void)state;
	tu_sweep_clean(sweep_scenario, 8 << 20);
}

/* ---- 15. reclaim racing mlock -------------------------------------------------------------- */

struct race {
	struct simmm_mmu_notifier mn; /* first */
	simmm_sim *sim;
	struct simmm_mm *mm;
	simmm_addr_t a;
	uint32_t reclaimer;
	bool unlock_too; /* munlock again while the reclaimer still waits */
	bool inside, done;
	uint64_t munlocked, stranded; /* lru stats' growth over the munlock */
	unsigned stops;
	int rc_mlock, rc_reclaim;
	uint64_t reclaimed;
};

/* Stop the reclaimer in its first CLEAR bracket (try_to_unmap()) until
 * the other task has mlocked the range. */
static int race_start(struct simmm_mmu_notifier *sub, const struct simmm_mmu_notifier_range *r)
{
	struct race *x = (struct race *)sub;

	if (x->stops || r->event != SIMMM_MMU_NOTIFY_CLEAR ||
	    simmm_sched_current(x->sim) != x->reclaimer)
		return 0;
	x->stops++;
	x->inside = true;
	for (int i = 0; i < 100000 && !x->done; i++)
		simmm_sched_yield(x->sim);
	x->inside = false;
	return 0;
}

static const struct simmm_mmu_notifier_ops race_ops = {
	.invalidate_range_start = race_start,
};

static void task_reclaim(simmm_sim *sim, void *arg)
{
	struct race *x = arg;

	x->rc_reclaim = simmm_reclaim(sim, 1, &x->reclaimed);
}

static void task_mlock(simmm_sim *sim, void *arg)
{
	struct race *x = arg;

	for (int i = 0; i < 100000 && !x->inside; i++)
		simmm_sched_yield(sim);
	x->rc_mlock = simmm_mlock(x->mm, x->a, PS);
	if (x->unlock_too) {
		struct simmm_lru_stats st = mx_lru(sim);

		TU_ASSERT_OK(simmm_munlock(x->mm, x->a, PS));
		x->munlocked = mx_lru(sim).munlocked - st.munlocked;
		x->stranded = mx_lru(sim).stranded - st.stranded;
	}
	x->done = true;
}

static void race_run(struct race *x)
{
	struct simmm_sched_config cfg;
	int t;

	x->mn.ops = &race_ops;
	x->sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	x->mm = mx_mm(x->sim);
	x->a = mx_anon(x->mm, 0, PS);
	mx_write(x->mm, x->a, 5); /* the only folio on the LRU */
	TU_ASSERT_OK(simmm_mmu_notifier_register(&x->mn, x->mm));
	simmm_sched_config_init(x->sim, &cfg);
	cfg.policy = SIMMM_SCHED_RR;
	TU_ASSERT_OK(simmm_sched_configure(x->sim, &cfg));
	t = simmm_sched_spawn(x->sim, "reclaim", task_reclaim, x);
	assert_true(t > 0);
	x->reclaimer = (uint32_t)t;
	assert_true(simmm_sched_spawn(x->sim, "mlock", task_mlock, x) > 0);
	assert_int_equal(simmm_sched_run(x->sim, 1000000), SIMMM_SCHED_DONE);
	assert_int_equal(x->stops, 1);
	TU_ASSERT_OK(x->rc_mlock);
	TU_ASSERT_OK(x->rc_reclaim);
	TU_CHECK(x->sim);
}

static void race_free(struct race *x)
{
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&x->mn, x->mm));
	TU_ASSERT_OK(simmm_mmput(x->mm));
	tu_sim_free(&x->sim);
}

static void test_race_reclaim_mlock(void **state)
{
	(void)state;
	struct race x = {0};

	race_run(&x);
	/* The reclaim that was inside its unmap when mlock() populated the
	 * page did not take it: it met VM_LOCKED, mlocked the folio, and the
	 * putback culled it. */
	assert_int_equal(x.reclaimed, 0);
	assert_true(present(x.mm, x.a));
	expect_mlocked(x.mm, x.a, 0);
	/* activate_locked gave the swap slot add_to_swap() took back. */
	assert_false(mx_folio_at(x.mm, x.a)->flags & PG_swapcache);
	assert_int_equal(mx_swap_used(x.sim), 0);
	mx_expect(x.mm, x.a, 5);
	TU_CHECK(x.sim);
	TU_ASSERT_OK(simmm_munlock(x.mm, x.a, PS));
	expect_evictable(x.mm, x.a);
	TU_CHECK(x.sim);
	race_free(&x);
}

/* mlock() and munlock() while the reclaimer holds the folio isolated:
 * both flip PG_mlocked only (an isolated folio is left to its isolator),
 * the munlock counts as such (not stranded: it never reached the
 * unevictable list); the reclaim, resumed, finds the VMA unlocked and
 * swaps the page out. */
static void test_race_reclaim_munlock(void **state)
{
	(void)state;
	struct race x = {.unlock_too = true};

	race_run(&x);
	assert_int_equal(x.munlocked, 1);
	assert_int_equal(x.stranded, 0);
	assert_int_equal(x.reclaimed, 1);
	assert_false(present(x.mm, x.a));
	assert_int_equal(mx_lru(x.sim).nr_mlock, 0);
	mx_expect(x.mm, x.a, 5);
	TU_CHECK(x.sim);
	race_free(&x);
}

/* ---- 16. the checker ----------------------------------------------------------------------- */

static void test_checker_catches(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);
	struct simmm_page *f;

	TU_ASSERT_OK(simmm_mlock(mm, a, PS));
	mx_write(mm, a + PS, 1);
	/* An mlock_count above the VM_LOCKED mappings (one). */
	f = mx_folio_at(mm, a);
	f->mlock_count = 2;
	assert_true(simmm_check(sim) > 0);
	f->mlock_count = 1;
	simmm_reports_clear(sim);
	TU_CHECK(sim);
	/* PG_mlocked on an evictable list (and nr_mlock not counting it). */
	f = mx_folio_at(mm, a + PS);
	f->flags |= PG_mlocked;
	assert_true(simmm_check(sim) > 0);
	f->flags &= ~PG_mlocked;
	simmm_reports_clear(sim);
	TU_CHECK(sim);
	/* VM_LOCKONFAULT without VM_LOCKED; VM_LOCKED not charged. */
	simmm__find_vma(mm, a + PS)->vm_flags |= SIMMM_VM_LOCKONFAULT;
	assert_true(simmm_check(sim) > 0);
	simmm__find_vma(mm, a + PS)->vm_flags &= ~SIMMM_VM_LOCKONFAULT;
	simmm_reports_clear(sim);
	simmm__find_vma(mm, a + PS)->vm_flags |= SIMMM_VM_LOCKED;
	assert_true(simmm_check(sim) > 0);
	simmm__find_vma(mm, a + PS)->vm_flags &= ~SIMMM_VM_LOCKED;
	simmm_reports_clear(sim);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_populate_lists),
		cmocka_unit_test(test_split_merge),
		cmocka_unit_test(test_onfault),
		cmocka_unit_test(test_reclaim_skips_locked),
		cmocka_unit_test(test_reclaim_mlocks_missed),
		cmocka_unit_test(test_special_and_failures),
		cmocka_unit_test(test_rlimit),
		cmocka_unit_test(test_map_locked),
		cmocka_unit_test(test_mlockall),
		cmocka_unit_test(test_fork_cow),
		cmocka_unit_test(test_mremap),
		cmocka_unit_test(test_mremap_dontunmap_partial),
		cmocka_unit_test(test_dontunmap_mlocked_freed_by_put),
		cmocka_unit_test(test_unmap_madvise_msync),
		cmocka_unit_test(test_thp),
		cmocka_unit_test(test_thp_partial_unmap),
		cmocka_unit_test(test_migrate_device),
		cmocka_unit_test(test_hmm_locked),
		cmocka_unit_test(test_munlock_device_exclusive),
		cmocka_unit_test(test_enomem),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_race_reclaim_mlock),
		cmocka_unit_test(test_race_reclaim_munlock),
		cmocka_unit_test(test_checker_catches),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
