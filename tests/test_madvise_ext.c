// SPDX-License-Identifier: MIT
/*
 * The madvise advice beyond reclaim (src/mm/change.c, src/mm/madvise.c,
 * src/mm/gup.c), against upstream's madvise_vma_behavior(),
 * madvise_populate() + faultin_page_range() and madvise_willneed():
 *  1. MADV_DONTFORK / MADV_DOFORK: VM_DONTCOPY on the range's VMAs (split
 *     and merged again); fork leaves the range out of the child, the
 *     parent's pages stay exclusive (no COW after the fork: the RDMA use);
 *     DOFORK refuses VM_IO;
 *  2. MADV_WIPEONFORK / MADV_KEEPONFORK: the child gets the range empty
 *     (zeros), the flag is inherited by the child's VMA; refused (-EINVAL)
 *     on file, shared, driver and hugetlb mappings, the VMAs before the
 *     refused one keep the new flag; holes give -ENOMEM after the mapped
 *     parts are advised;
 *  3. MADV_POPULATE_READ / WRITE: read populate maps the zero page (or the
 *     page cache), write populate breaks COW and dirties shared file pages;
 *     errors stop at the first failing page: a hole -ENOMEM, PROT_NONE or
 *     a write to a read-only mapping or a PFNMAP -EINVAL, past EOF
 *     -EFAULT, a hwpoison entry -EHWPOISON;
 *  4. MADV_WILLNEED: swapped-out anonymous pages are read into the swap
 *     cache (the next fault is a minor one), file pages into the page cache
 *     up to EOF; nothing is mapped;
 *  5. allocation failures: the flag advice fails with -ENOMEM leaving a
 *     consistent mm (the sweep); the checker catches VM_WIPEONFORK on a
 *     file VMA.
 * Every step runs the invariant checker.
 */
#include "test_mm_ext_util.h"

#define RW (SIMMM_PROT_READ | SIMMM_PROT_WRITE)
#define PRIV_ANON (SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS)

static uint64_t vmflags(struct simmm_mm *mm, simmm_addr_t a)
{
	struct simmm_vma_info vi;

	TU_ASSERT_OK(simmm_vma_info(mm, a, &vi));
	return vi.vm_flags;
}

static struct simmm_vma_info vma_at(struct simmm_mm *mm, simmm_addr_t a)
{
	struct simmm_vma_info vi;

	TU_ASSERT_OK(simmm_vma_info(mm, a, &vi));
	return vi;
}

static simmm_addr_t map(struct simmm_mm *mm, uint64_t len, int prot, int flags,
			struct simmm_file *f)
{
	simmm_addr_t a = 0;

	TU_ASSERT_OK(simmm_mmap(mm, 0, len, prot, flags, f, 0, &a));
	return a;
}

static bool present(struct simmm_mm *mm, simmm_addr_t a)
{
	return mx_tr(mm, a).present;
}

static struct simmm_page *page_at(struct simmm_mm *mm, simmm_addr_t a)
{
	struct simmm_translation t = mx_tr(mm, a);

	assert_true(t.present);
	return simmm__pfn_to_page(simmm_mm_sim(mm), t.pfn);
}

static struct simmm_file *file_with(simmm_sim *sim, uint64_t pages, uint64_t size)
{
	struct simmm_file *f = NULL;
	uint8_t buf[64];

	TU_ASSERT_OK(simmm_file_create(sim, size, 0, &f));
	for (uint64_t p = 0; p < pages && p * PS < size; p++) {
		for (unsigned i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)((p + 1) * 31 + i);
		assert_int_equal(simmm_file_pwrite(f, buf, sizeof(buf), p * PS), sizeof(buf));
	}
	TU_ASSERT_OK(simmm_file_fsync(f));
	return f;
}

/* Drop every clean page-cache page nobody maps (reclaim until nothing
 * more goes). */
static void drop_caches(simmm_sim *sim)
{
	uint64_t got;

	while (simmm_reclaim(sim, 1024, &got) == 0 && got)
		;
}

/* ---- 1. DONTFORK / DOFORK ---------------------------------------------------------------- */

static void test_dontfork(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL, *child2 = NULL;
	simmm_addr_t a = mx_anon(mm, 0, 3 * PS), r;
	simmm_pfn_t mid;
	struct simmm_vma_info vi;

	for (unsigned i = 0; i < 3; i++)
		mx_write(mm, a + i * PS, i + 1);
	mid = mx_tr(mm, a + PS).pfn;
	TU_ASSERT_OK(simmm_madvise(mm, a + PS, PS, SIMMM_MADV_DONTFORK));
	TU_CHECK(sim);
	/* The middle page is a VMA of its own with VM_DONTCOPY. */
	vi = vma_at(mm, a + PS);
	assert_int_equal(vi.start, a + PS);
	assert_int_equal(vi.end, a + 2 * PS);
	assert_true(vi.vm_flags & SIMMM_VM_DONTCOPY);
	assert_false(vmflags(mm, a) & SIMMM_VM_DONTCOPY);
	assert_false(vmflags(mm, a + 2 * PS) & SIMMM_VM_DONTCOPY);
	assert_int_equal(mx_stats(mm).nr_vmas, 3);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	/* The child has no VMA there; the others are copied. */
	assert_int_equal(simmm_vma_info(child, a + PS, &vi), -ENOENT);
	assert_int_equal(mx_stats(child).nr_vmas, 2);
	mx_expect(child, a, 1);
	mx_expect(child, a + 2 * PS, 3);
	/* The parent's page was not made COW: still exclusive, written in
	 * place (what DONTFORK is for: a DMA buffer survives a fork). */
	assert_true(page_at(mm, a + PS)->flags & PG_anon_exclusive);
	assert_true(simmm_pte_write(mx_tr(mm, a + PS).entry));
	mx_write(mm, a + PS, 9);
	assert_int_equal(mx_tr(mm, a + PS).pfn, mid);
	mx_expect(mm, a, 1);
	TU_CHECK(sim);
	/* DOFORK: the flag goes and the VMAs merge back into one. */
	TU_ASSERT_OK(simmm_madvise(mm, a, 3 * PS, SIMMM_MADV_DOFORK));
	TU_CHECK(sim);
	vi = vma_at(mm, a + PS);
	assert_int_equal(vi.start, a);
	assert_int_equal(vi.end, a + 3 * PS);
	assert_false(vi.vm_flags & SIMMM_VM_DONTCOPY);
	TU_ASSERT_OK(simmm_fork(mm, &child2));
	TU_CHECK(sim);
	mx_expect(child2, a + PS, 9);
	/* Holes: -ENOMEM after the mapped part is advised. */
	TU_ASSERT_OK(simmm_munmap(mm, a + PS, PS));
	assert_int_equal(simmm_madvise(mm, a, 3 * PS, SIMMM_MADV_DONTFORK), -ENOMEM);
	assert_true(vmflags(mm, a) & SIMMM_VM_DONTCOPY);
	assert_true(vmflags(mm, a + 2 * PS) & SIMMM_VM_DONTCOPY);
	/* mremap keeps the flag with the VMA. */
	TU_ASSERT_OK(simmm_mremap(mm, a, PS, PS, SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED,
				  a + PS, &r));
	assert_true(vmflags(mm, a + PS) & SIMMM_VM_DONTCOPY);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(child2));
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* DONTFORK on a driver mapping is fine, DOFORK refuses VM_IO (and stops
 * there: the VMA before it is advised, the one after is not). */
static void test_dofork_vm_io(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t base = mx_anon(mm, 0, 3 * PS), io;
	struct simmm_vma_info vi;

	TU_ASSERT_OK(simmm_madvise(mm, base, 3 * PS, SIMMM_MADV_DONTFORK));
	io = base + PS;
	TU_ASSERT_OK(simmm_mmap(mm, io, PS, RW,
				SIMMM_MAP_SHARED | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_PFNMAP |
					SIMMM_MAP_FIXED,
				NULL, 0, &io));
	assert_true(vmflags(mm, io) & SIMMM_VM_IO);
	TU_ASSERT_OK(simmm_madvise(mm, io, PS, SIMMM_MADV_DONTFORK));
	assert_true(vmflags(mm, io) & SIMMM_VM_DONTCOPY);
	TU_CHECK(sim);
	assert_int_equal(simmm_madvise(mm, base, 3 * PS, SIMMM_MADV_DOFORK), -EINVAL);
	TU_CHECK(sim);
	assert_false(vmflags(mm, base) & SIMMM_VM_DONTCOPY);
	assert_true(vmflags(mm, io) & SIMMM_VM_DONTCOPY);
	assert_true(vmflags(mm, base + 2 * PS) & SIMMM_VM_DONTCOPY);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_vma_info(child, base, &vi));
	assert_int_equal(simmm_vma_info(child, io, &vi), -ENOENT);
	assert_int_equal(simmm_vma_info(child, base + 2 * PS, &vi), -ENOENT);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* ---- 2. WIPEONFORK / KEEPONFORK ----------------------------------------------------------- */

static void test_wipeonfork(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL, *grand = NULL, *child2 = NULL;
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS);

	for (unsigned i = 0; i < 4; i++)
		mx_write(mm, a + i * PS, i + 1);
	/* One page swapped out: the child gets no swap entry either. */
	TU_ASSERT_OK(simmm_madvise(mm, a + 3 * PS, PS, SIMMM_MADV_PAGEOUT));
	assert_true(simmm_is_real_swap_entry(mx_tr(mm, a + 3 * PS).entry));
	TU_ASSERT_OK(simmm_madvise(mm, a, 4 * PS, SIMMM_MADV_WIPEONFORK));
	TU_CHECK(sim);
	assert_true(vmflags(mm, a) & SIMMM_VM_WIPEONFORK);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	/* The child's VMA is there, empty, and keeps the flag. */
	assert_true(vmflags(child, a) & SIMMM_VM_WIPEONFORK);
	assert_int_equal(mx_stats(child).rss_anon, 0);
	assert_int_equal(mx_stats(child).swap_ents, 0);
	for (unsigned i = 0; i < 4; i++)
		assert_true(simmm_entry_none(mx_tr(child, a + i * PS).entry));
	mx_expect_zero(child, a);
	mx_expect_zero(child, a + 3 * PS);
	/* The parent is untouched: its pages stay exclusive and writable. */
	assert_true(page_at(mm, a)->flags & PG_anon_exclusive);
	for (unsigned i = 0; i < 4; i++)
		mx_expect(mm, a + i * PS, i + 1);
	/* The child's own writes are wiped from a grandchild too. */
	mx_write(child, a + PS, 7);
	TU_ASSERT_OK(simmm_fork(child, &grand));
	TU_CHECK(sim);
	mx_expect_zero(grand, a + PS);
	mx_expect(child, a + PS, 7);
	/* KEEPONFORK: the next child shares the pages again (COW). */
	TU_ASSERT_OK(simmm_madvise(mm, a, 4 * PS, SIMMM_MADV_KEEPONFORK));
	assert_false(vmflags(mm, a) & SIMMM_VM_WIPEONFORK);
	TU_ASSERT_OK(simmm_fork(mm, &child2));
	TU_CHECK(sim);
	for (unsigned i = 0; i < 4; i++)
		mx_expect(child2, a + i * PS, i + 1);
	TU_ASSERT_OK(simmm_mmput(grand));
	TU_ASSERT_OK(simmm_mmput(child2));
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* Private anonymous memory only: file, shared anonymous (shmem), driver
 * and hugetlb mappings are refused; the walk stops at the first refused
 * VMA, whose predecessors keep the flag and whose pages are not split
 * off; a hole is reported after the rest is advised. */
static void test_wipeonfork_einval(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = file_with(sim, 2, 2 * PS);
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS), b, shm, huge, io;
	struct simmm_vma_info vi;

	/* [a, a+2) anon, [a+2, a+4) private file. */
	b = a + 2 * PS;
	TU_ASSERT_OK(simmm_mmap(mm, b, 2 * PS, RW, SIMMM_MAP_PRIVATE | SIMMM_MAP_FIXED, f, 0, &b));
	assert_int_equal(simmm_madvise(mm, a + PS, 3 * PS, SIMMM_MADV_WIPEONFORK), -EINVAL);
	TU_CHECK(sim);
	vi = vma_at(mm, a + PS);
	assert_int_equal(vi.start, a + PS);
	assert_true(vi.vm_flags & SIMMM_VM_WIPEONFORK);
	assert_false(vmflags(mm, a) & SIMMM_VM_WIPEONFORK);
	vi = vma_at(mm, b);
	assert_int_equal(vi.start, b);
	assert_int_equal(vi.end, b + 2 * PS);
	assert_false(vi.vm_flags & SIMMM_VM_WIPEONFORK);
	shm = map(mm, 2 * PS, RW, SIMMM_MAP_SHARED | SIMMM_MAP_ANONYMOUS, NULL);
	assert_int_equal(simmm_madvise(mm, shm, 2 * PS, SIMMM_MADV_WIPEONFORK), -EINVAL);
	huge = map(mm, 2 * MIB, RW, PRIV_ANON | SIMMM_MAP_HUGETLB, NULL);
	assert_int_equal(simmm_madvise(mm, huge, 2 * MIB, SIMMM_MADV_WIPEONFORK), -EINVAL);
	io = map(mm, PS, RW, SIMMM_MAP_SHARED | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_PFNMAP, NULL);
	assert_int_equal(simmm_madvise(mm, io, PS, SIMMM_MADV_WIPEONFORK), -EINVAL);
	assert_false(vmflags(mm, shm) & SIMMM_VM_WIPEONFORK);
	assert_false(vmflags(mm, huge) & SIMMM_VM_WIPEONFORK);
	TU_CHECK(sim);
	/* KEEPONFORK has nothing to refuse; a hole is -ENOMEM at the end. */
	TU_ASSERT_OK(simmm_munmap(mm, a, PS));
	assert_int_equal(simmm_madvise(mm, a, 2 * PS, SIMMM_MADV_KEEPONFORK), -ENOMEM);
	assert_false(vmflags(mm, a + PS) & SIMMM_VM_WIPEONFORK);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	tu_sim_free(&sim);
}

/* ---- 3. POPULATE_READ / POPULATE_WRITE --------------------------------------------------- */

static void test_populate(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	struct simmm_file *f = file_with(sim, 2, 2 * PS);
	struct simmm_file_stats fs;
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS), s;
	simmm_pfn_t before;

	/* Read: the zero page, read-only; nothing allocated. */
	TU_ASSERT_OK(simmm_madvise(mm, a, 2 * PS, SIMMM_MADV_POPULATE_READ));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a).pfn, simmm_zero_pfn(sim));
	assert_false(simmm_pte_write(mx_tr(mm, a).entry));
	assert_false(present(mm, a + 2 * PS));
	assert_int_equal(mx_stats(mm).rss_anon, 0);
	/* Write: own pages, writable and dirty, the zero page replaced. */
	TU_ASSERT_OK(simmm_madvise(mm, a, 4 * PS, SIMMM_MADV_POPULATE_WRITE));
	TU_CHECK(sim);
	for (unsigned i = 0; i < 4; i++) {
		struct simmm_translation t = mx_tr(mm, a + i * PS);

		assert_true(t.present);
		assert_int_not_equal(t.pfn, simmm_zero_pfn(sim));
		assert_true(simmm_pte_write(t.entry));
		assert_true(simmm_pte_dirty(t.entry));
	}
	assert_int_equal(mx_stats(mm).rss_anon, 4);
	/* After fork, a write populate breaks COW in the parent. */
	mx_write(mm, a, 1);
	before = mx_tr(mm, a).pfn;
	TU_ASSERT_OK(simmm_fork(mm, &child));
	assert_false(simmm_pte_write(mx_tr(mm, a).entry));
	TU_ASSERT_OK(simmm_madvise(mm, a, PS, SIMMM_MADV_POPULATE_WRITE));
	TU_CHECK(sim);
	assert_int_not_equal(mx_tr(mm, a).pfn, before);
	assert_int_equal(mx_tr(child, a).pfn, before);
	mx_expect(mm, a, 1);
	mx_expect(child, a, 1);
	/* A shared file mapping: read populate maps the page cache
	 * read-only (write-notify), write populate dirties it. */
	s = map(mm, 2 * PS, RW, SIMMM_MAP_SHARED, f);
	TU_ASSERT_OK(simmm_madvise(mm, s, 2 * PS, SIMMM_MADV_POPULATE_READ));
	TU_CHECK(sim);
	assert_true(present(mm, s + PS));
	assert_false(simmm_pte_write(mx_tr(mm, s).entry));
	TU_ASSERT_OK(simmm_file_stats(f, &fs));
	assert_int_equal(fs.dirty, 0);
	TU_ASSERT_OK(simmm_madvise(mm, s, 2 * PS, SIMMM_MADV_POPULATE_WRITE));
	TU_CHECK(sim);
	assert_true(simmm_pte_write(mx_tr(mm, s + PS).entry));
	TU_ASSERT_OK(simmm_file_stats(f, &fs));
	assert_int_equal(fs.dirty, 2);
	mx_expect(mm, s + PS, 2);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	tu_sim_free(&sim);
}

static void test_populate_errors(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = file_with(sim, 1, PS);
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS), ro, none, io, eof;

	/* A hole: the pages before it are populated, then -ENOMEM. */
	TU_ASSERT_OK(simmm_munmap(mm, a + 2 * PS, PS));
	assert_int_equal(simmm_madvise(mm, a, 4 * PS, SIMMM_MADV_POPULATE_WRITE), -ENOMEM);
	TU_CHECK(sim);
	assert_true(present(mm, a + PS));
	assert_false(present(mm, a + 3 * PS));
	/* Permissions: PROT_NONE for both, PROT_READ for write; -EINVAL. */
	none = map(mm, PS, SIMMM_PROT_NONE, PRIV_ANON, NULL);
	assert_int_equal(simmm_madvise(mm, none, PS, SIMMM_MADV_POPULATE_READ), -EINVAL);
	ro = map(mm, PS, SIMMM_PROT_READ, PRIV_ANON, NULL);
	assert_int_equal(simmm_madvise(mm, ro, PS, SIMMM_MADV_POPULATE_WRITE), -EINVAL);
	assert_false(present(mm, ro));
	TU_ASSERT_OK(simmm_madvise(mm, ro, PS, SIMMM_MADV_POPULATE_READ));
	assert_true(present(mm, ro));
	/* A driver mapping: -EINVAL. */
	io = map(mm, PS, RW, SIMMM_MAP_SHARED | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_PFNMAP, NULL);
	assert_int_equal(simmm_madvise(mm, io, PS, SIMMM_MADV_POPULATE_READ), -EINVAL);
	TU_CHECK(sim);
	/* Past EOF the fault SIGBUSes: -EFAULT, the page before populated. */
	eof = map(mm, 2 * PS, SIMMM_PROT_READ, SIMMM_MAP_SHARED, f);
	assert_int_equal(simmm_madvise(mm, eof, 2 * PS, SIMMM_MADV_POPULATE_READ), -EFAULT);
	assert_true(present(mm, eof));
	assert_false(present(mm, eof + PS));
	/* A hwpoison entry: -EHWPOISON (FOLL_HWPOISON), the page before it
	 * populated. */
	TU_ASSERT_OK(simmm_pgtable_set(simmm_mm_pgtable(mm), a + 3 * PS, SIMMM_LVL_PTE, 0));
	TU_ASSERT_OK(simmm_mmap(mm, a + 2 * PS, 2 * PS, RW, PRIV_ANON | SIMMM_MAP_FIXED, NULL, 0,
				&a));
	a -= 2 * PS;
	TU_ASSERT_OK(simmm_pgtable_set(simmm_mm_pgtable(mm), a + 3 * PS, SIMMM_LVL_PTE,
				       simmm_make_hwpoison_entry(0x42)));
	assert_int_equal(simmm_madvise(mm, a + 2 * PS, 2 * PS, SIMMM_MADV_POPULATE_READ),
			 -EHWPOISON);
	assert_true(present(mm, a + 2 * PS));
	TU_ASSERT_OK(simmm_pgtable_set(simmm_mm_pgtable(mm), a + 3 * PS, SIMMM_LVL_PTE, 0));
	TU_CHECK(sim);
	/* Bad arguments are checked before anything. */
	assert_int_equal(simmm_madvise(mm, a + 1, PS, SIMMM_MADV_POPULATE_READ), -EINVAL);
	TU_ASSERT_OK(simmm_madvise(mm, a, 0, SIMMM_MADV_POPULATE_WRITE));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	tu_sim_free(&sim);
}

/* ---- 4. WILLNEED --------------------------------------------------------------------------- */

static void test_willneed_swap(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS);
	struct simmm_mm_stats st;
	simmm_entry_t e;

	for (unsigned i = 0; i < 4; i++)
		mx_write(mm, a + i * PS, i + 1);
	TU_ASSERT_OK(simmm_madvise(mm, a, 4 * PS, SIMMM_MADV_PAGEOUT));
	TU_CHECK(sim);
	e = mx_tr(mm, a + PS).entry;
	assert_true(simmm_is_real_swap_entry(e));
	assert_null(simmm__swap_cache_lookup(sim, simmm_pte_to_swp_entry(e)));
	/* Pages 1 and 2 read into the swap cache; nothing mapped. */
	TU_ASSERT_OK(simmm_madvise(mm, a + PS, 2 * PS, SIMMM_MADV_WILLNEED));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a + PS).entry, e);
	assert_non_null(simmm__swap_cache_lookup(sim, simmm_pte_to_swp_entry(e)));
	assert_null(simmm__swap_cache_lookup(
		sim, simmm_pte_to_swp_entry(mx_tr(mm, a + 3 * PS).entry)));
	assert_int_equal(mx_stats(mm).swap_ents, 4);
	assert_int_equal(mx_stats(mm).rss_anon, 0);
	/* The fault that follows is minor; page 3's is major. */
	st = mx_stats(mm);
	mx_expect(mm, a + PS, 2);
	assert_int_equal(mx_stats(mm).major_faults, st.major_faults);
	assert_int_equal(mx_stats(mm).swapin_faults, st.swapin_faults + 1);
	mx_expect(mm, a + 3 * PS, 4);
	assert_int_equal(mx_stats(mm).major_faults, st.major_faults + 1);
	/* Twice is harmless; holes are -ENOMEM after the rest. */
	TU_ASSERT_OK(simmm_madvise(mm, a, 4 * PS, SIMMM_MADV_WILLNEED));
	TU_ASSERT_OK(simmm_munmap(mm, a + 3 * PS, PS));
	assert_int_equal(simmm_madvise(mm, a, 4 * PS, SIMMM_MADV_WILLNEED), -ENOMEM);
	TU_CHECK(sim);
	mx_expect(mm, a, 1);
	mx_expect(mm, a + 2 * PS, 3);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

static void test_willneed_file(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = file_with(sim, 3, 3 * PS);
	struct simmm_file_stats fs;
	struct simmm_mm_stats st;
	simmm_addr_t a;

	drop_caches(sim);
	TU_ASSERT_OK(simmm_file_stats(f, &fs));
	assert_int_equal(fs.cached, 0);
	/* Four pages mapped over a three-page file: read-ahead stops at EOF
	 * and maps nothing. */
	a = map(mm, 4 * PS, SIMMM_PROT_READ, SIMMM_MAP_PRIVATE, f);
	TU_ASSERT_OK(simmm_madvise(mm, a, 4 * PS, SIMMM_MADV_WILLNEED));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_file_stats(f, &fs));
	assert_int_equal(fs.cached, 3);
	assert_int_equal(fs.dirty, 0);
	assert_false(present(mm, a));
	st = mx_stats(mm);
	mx_expect(mm, a + 2 * PS, 3);
	assert_int_equal(mx_stats(mm).major_faults, st.major_faults);
	assert_int_equal(mx_stats(mm).minor_faults, st.minor_faults + 1);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	tu_sim_free(&sim);
}

/* ---- 5. failures, checker --------------------------------------------------------------- */

static int sweep_advice(simmm_sim *sim, int advice)
{
	struct simmm_mm *mm = NULL, *child = NULL;
	simmm_addr_t a = 0;
	int err;

	err = simmm_mm_create(sim, &mm);
	if (err)
		return err;
	err = simmm_mmap(mm, 0, 8 * PS, RW, PRIV_ANON, NULL, 0, &a);
	if (!err)
		err = simmm_madvise(mm, a + PS, 2 * PS, advice);
	if (!err)
		err = simmm_madvise(mm, a + 5 * PS, 2 * PS, advice);
	if (!err)
		err = simmm_fork(mm, &child);
	if (simmm_check(sim))
		err = -EUCLEAN;
	if (child)
		simmm_mmput(child);
	simmm_mmput(mm);
	return err;
}

static int sweep_dontfork(simmm_sim *sim, void *arg)
{
	(void)arg;
	return sweep_advice(sim, SIMMM_MADV_DONTFORK);
}

static int sweep_wipeonfork(simmm_sim *sim, void *arg)
{
	(void)arg;
	return sweep_advice(sim, SIMMM_MADV_WIPEONFORK);
}

static int sweep_populate(simmm_sim *sim, void *arg)
{
	(void)arg;
	return sweep_advice(sim, SIMMM_MADV_POPULATE_WRITE);
}

static void test_sweep(void **state)
{
	(void)state;
	tu_sweep_clean(sweep_dontfork, 8 << 20);
	tu_sweep_clean(sweep_wipeonfork, 8 << 20);
	tu_sweep_clean(sweep_populate, 8 << 20);
}

static void test_checker_catches(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = file_with(sim, 1, PS);
	simmm_addr_t a = map(mm, PS, RW, SIMMM_MAP_PRIVATE, f);
	struct simmm_vma *v = simmm__vma_lookup(mm, a);

	TU_CHECK(sim);
	v->vm_flags |= SIMMM_VM_WIPEONFORK;
	assert_int_not_equal(simmm_check(sim), 0);
	v->vm_flags &= ~SIMMM_VM_WIPEONFORK;
	simmm_reports_clear(sim);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dontfork),
		cmocka_unit_test(test_dofork_vm_io),
		cmocka_unit_test(test_wipeonfork),
		cmocka_unit_test(test_wipeonfork_einval),
		cmocka_unit_test(test_populate),
		cmocka_unit_test(test_populate_errors),
		cmocka_unit_test(test_willneed_swap),
		cmocka_unit_test(test_willneed_file),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_checker_catches),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
