// SPDX-License-Identifier: MIT
/*
 * mremap() of several VMAs at once (6.17+, mm/mremap.c remap_move()): a
 * same-size MREMAP_FIXED move (MREMAP_DONTUNMAP allowed) takes every VMA
 * of the old range, each to the same offset from the new address:
 *  - gaps between VMAs stay gaps, and what the target holds there stays
 *    mapped; each VMA's own target is unmapped first; a VMA's part at
 *    the range's end moves, one that only starts in the range moves its
 *    head; the call returns the new address;
 *  - anonymous, private and shared file and shmem VMAs keep their flags,
 *    vm_pgoff and anon_vma; every folio keeps its references and
 *    mapcounts and is found by rmap at its new address (reclaim);
 *  - mlocked VMAs stay locked (locked_vm unchanged, folios mlocked);
 *  - a PMD-mapped THP, swap, device-private and migration entries move
 *    with their page tables;
 *  - per VMA: an MMU_NOTIFY_UNMAP invalidation of its target when mapped,
 *    one of the old range around the move and one of the old range's
 *    munmap, in address order, as an interval notifier sees them;
 *  - refused: a gap at the old address, no VMA at all (-EFAULT); a VMA
 *    with a userfaultfd context that is not alone (-EFAULT: when it is
 *    not the first, the VMAs before it stay moved); a DONTUNMAP move
 *    meeting a VM_PFNMAP VMA (-EINVAL, what moved stays moved); a move
 *    that changes the size, or DONTUNMAP without FIXED (the old rules:
 *    one VMA);
 *  - -ENOMEM at every allocation: the VMAs before the failing one moved,
 *    the rest did not;
 *  - a destination that merges with a VMA still to move (the new range
 *    starts where the old one ends) is found and moved on.
 * simmm_check() (TU_CHECK) after every step. Before this model simmm
 * returned -EFAULT for any of these moves.
 */
#include "test_mm_ext_util.h"
#include "test_migrate_util.h"

#include <simmm/mmu_notifier.h>

#define AREA (64 * MIB)
#define FAR (256 * MIB)
#define RW (SIMMM_PROT_READ | SIMMM_PROT_WRITE)
#define MOVE (SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED)

static simmm_sim *new_sim(void)
{
	return mx_sim(NULL, 64 * MIB, 16 * MIB);
}

static struct simmm_vma_info vinfo(struct simmm_mm *mm, simmm_addr_t a)
{
	struct simmm_vma_info vi;

	TU_ASSERT_OK(simmm_vma_info(mm, a, &vi));
	return vi;
}

static void expect_vma(struct simmm_mm *mm, simmm_addr_t a, simmm_addr_t start, simmm_addr_t end,
		       uint64_t pgoff)
{
	struct simmm_vma_info vi = vinfo(mm, a);

	assert_int_equal(vi.start, start);
	assert_int_equal(vi.end, end);
	assert_int_equal(vi.pgoff, pgoff);
}

static void expect_unmapped(struct simmm_mm *mm, simmm_addr_t a, unsigned n)
{
	struct simmm_vma_info vi;

	for (unsigned i = 0; i < n; i++)
		assert_int_equal(simmm_vma_info(mm, a + i * PS, &vi), -ENOENT);
}

static void write_pages(struct simmm_mm *mm, simmm_addr_t a, unsigned n, unsigned tag)
{
	for (unsigned i = 0; i < n; i++)
		mx_write(mm, a + i * PS, tag + i);
}

static void expect_pages(struct simmm_mm *mm, simmm_addr_t a, unsigned n, unsigned tag)
{
	for (unsigned i = 0; i < n; i++)
		mx_expect(mm, a + i * PS, tag + i);
}

static int remap(struct simmm_mm *mm, simmm_addr_t from, uint64_t len, simmm_addr_t to, int flags,
		 simmm_addr_t *out)
{
	return simmm_mremap(mm, from, len, len, MOVE | flags, to, out);
}

/*
 * [a, a + 10 pages), written with @tag + page: A = pages 0..3 (rw),
 * B = 4..5 (read-only, so a VMA of its own), a hole at 6, C = 7..9 (rw).
 */
static simmm_addr_t three_vmas(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t a, unsigned tag)
{
	a = mx_anon(mm, a, 10 * PS);
	write_pages(mm, a, 10, tag);
	TU_ASSERT_OK(simmm_mprotect(mm, a + 4 * PS, 2 * PS, SIMMM_PROT_READ));
	TU_ASSERT_OK(simmm_munmap(mm, a + 6 * PS, PS));
	TU_CHECK(sim);
	return a;
}

/* Data of three_vmas() at @a (the hole skipped). */
static void expect_three(struct simmm_mm *mm, simmm_addr_t a, unsigned tag)
{
	expect_pages(mm, a, 6, tag);
	expect_pages(mm, a + 7 * PS, 3, tag + 7);
}

static void expect_three_vmas(struct simmm_mm *mm, simmm_addr_t a, uint64_t idx)
{
	expect_vma(mm, a, a, a + 4 * PS, idx);
	expect_vma(mm, a + 4 * PS, a + 4 * PS, a + 6 * PS, idx + 4);
	expect_vma(mm, a + 7 * PS, a + 7 * PS, a + 10 * PS, idx + 7);
}

static void finish(simmm_sim **sim, struct simmm_mm *mm)
{
	TU_CHECK(*sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(*sim);
	tu_sim_free(sim);
}

/*
 * Three VMAs and a hole move to FAR: each VMA at its offset (keeping its
 * linear index: they were faulted), the hole's place in the target keeps
 * the mapping there, the mapping over A's place is unmapped. Every page
 * is the same frame with the same references and mapcount; rmap finds
 * them all (reclaim swaps every one out), and they read back.
 */
static void test_move_with_gaps(void **state)
{
	(void)state;
	simmm_sim *sim = new_sim();
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = three_vmas(sim, mm, AREA, 10), out = 0;
	struct simmm_page_info was[10];
	uint64_t got = 0;

	/* the target: an unfaulted VMA over A's place, a written one at the
	 * hole's place */
	mx_anon(mm, FAR, 2 * PS);
	mx_map(mm, FAR + 6 * PS, PS, SIMMM_MAP_SHARED | SIMMM_MAP_ANONYMOUS);
	mx_write(mm, FAR + 6 * PS, 99);
	for (unsigned i = 0; i < 10; i++)
		if (i != 6)
			was[i] = mx_page(sim, mx_tr(mm, a + i * PS).pfn);
	TU_CHECK(sim);
	TU_ASSERT_OK(remap(mm, a, 10 * PS, FAR, 0, &out));
	assert_int_equal(out, FAR);
	TU_CHECK(sim);
	expect_unmapped(mm, a, 10);
	expect_three_vmas(mm, FAR, a / PS);
	assert_false(vinfo(mm, FAR + 4 * PS).vm_flags & SIMMM_VM_WRITE);
	assert_true(vinfo(mm, FAR + 7 * PS).vm_flags & SIMMM_VM_WRITE);
	/* the hole's place: the shared page is still there */
	assert_true(vinfo(mm, FAR + 6 * PS).vm_flags & SIMMM_VM_SHARED);
	mx_expect(mm, FAR + 6 * PS, 99);
	for (unsigned i = 0; i < 10; i++) {
		struct simmm_page_info now;

		if (i == 6)
			continue;
		assert_true(mx_tr(mm, FAR + i * PS).present);
		now = mx_page(sim, mx_tr(mm, FAR + i * PS).pfn);
		assert_int_equal(now.pfn, was[i].pfn);
		assert_int_equal(now.refcount, was[i].refcount);
		assert_int_equal(now.mapcount, was[i].mapcount);
	}
	assert_int_equal(mx_stats(mm).rss_anon, 9);
	expect_three(mm, FAR, 10);
	TU_CHECK(sim);
	/* rmap finds every moved folio at its new address */
	TU_ASSERT_OK(simmm_reclaim(sim, 64, &got));
	TU_CHECK(sim);
	assert_int_equal(mx_stats(mm).rss_anon, 0);
	assert_int_equal(mx_stats(mm).swap_ents, 9);
	expect_three(mm, FAR, 10);
	mx_expect(mm, FAR + 6 * PS, 99);
	finish(&sim, mm);
}

/*
 * Mixed VMAs, back to back: anonymous, a private file mapping (offset 3,
 * one page written: a COW copy), a shared file mapping (offset 8) and
 * shared anonymous memory (shmem). Each keeps its kind, flags and offset;
 * the page cache keeps its pages (references unchanged) and the copy its
 * frame; a write through the moved shared mapping reaches the file.
 */
static void test_move_mixed_kinds(void **state)
{
	(void)state;
	simmm_sim *sim = new_sim();
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = NULL;
	simmm_addr_t a = AREA, b = 0, out = 0;
	struct simmm_vma_info vi;
	uint8_t byte = 0;
	int refs;

	TU_ASSERT_OK(simmm_file_create(sim, 16 * PS, 0, &f));
	mx_anon(mm, a, 2 * PS);
	write_pages(mm, a, 2, 20);
	TU_ASSERT_OK(simmm_mmap(mm, a + 2 * PS, 2 * PS, RW, SIMMM_MAP_PRIVATE | SIMMM_MAP_FIXED, f,
				3, &b));
	TU_ASSERT_OK(simmm_mmap(mm, a + 4 * PS, 2 * PS, RW, SIMMM_MAP_SHARED | SIMMM_MAP_FIXED, f,
				8, &b));
	mx_map(mm, a + 6 * PS, 2 * PS, SIMMM_MAP_SHARED | SIMMM_MAP_ANONYMOUS);
	write_pages(mm, a + 4 * PS, 4, 40);
	mx_write(mm, a + 3 * PS, 33);            /* the private COW copy */
	mx_expect_zero(mm, a + 2 * PS);          /* the file's page, mapped */
	refs = mx_page(sim, mx_tr(mm, a + 4 * PS).pfn).refcount;
	TU_CHECK(sim);
	TU_ASSERT_OK(remap(mm, a, 8 * PS, FAR, 0, &out));
	assert_int_equal(out, FAR);
	TU_CHECK(sim);
	expect_unmapped(mm, a, 8);
	vi = vinfo(mm, FAR);
	assert_true(vi.anon && vi.end == FAR + 2 * PS && vi.pgoff == a / PS);
	vi = vinfo(mm, FAR + 2 * PS);
	assert_true(!vi.anon && !(vi.vm_flags & SIMMM_VM_SHARED) && vi.pgoff == 3);
	vi = vinfo(mm, FAR + 4 * PS);
	assert_true(!vi.anon && (vi.vm_flags & SIMMM_VM_SHARED) && vi.pgoff == 8);
	assert_int_equal(vi.end, FAR + 6 * PS);
	vi = vinfo(mm, FAR + 6 * PS);
	assert_true(!vi.anon && (vi.vm_flags & SIMMM_VM_SHARED) && vi.pgoff == 0);
	assert_int_equal(mx_page(sim, mx_tr(mm, FAR + 4 * PS).pfn).refcount, refs);
	expect_pages(mm, FAR, 2, 20);
	mx_expect_zero(mm, FAR + 2 * PS);
	mx_expect(mm, FAR + 3 * PS, 33);
	expect_pages(mm, FAR + 4 * PS, 4, 40);
	TU_CHECK(sim);
	mx_write(mm, FAR + 5 * PS, 77);
	assert_int_equal(simmm_file_pread(f, &byte, 1, 9 * PS), 1);
	assert_int_equal(byte, (uint8_t)(77 * 31));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* Arm a userfaultfd context on the VMA at @a (simmm has no userfaultfd
 * API: the flag userfaultfd_armed() tests). */
static void uffd_arm(struct simmm_mm *mm, simmm_addr_t a)
{
	simmm__vma_lookup(mm, a)->vm_flags |= SIMMM_VM_UFFD_MISSING;
}

/*
 * vma_multi_allowed(): a VMA with a userfaultfd context moves only
 * alone. In the middle: -EFAULT once A moved (A stays moved); first with
 * more to come: -EFAULT, nothing moved; first with only a hole after it
 * in the range: -EFAULT; alone: it moves. A DONTUNMAP move meeting a
 * VM_PFNMAP VMA fails there with -EINVAL (check_prep_vma()), after A.
 */
static void test_refused_in_the_middle(void **state)
{
	(void)state;
	simmm_sim *sim = new_sim();
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = three_vmas(sim, mm, AREA, 30), out = 0;
	uint64_t idx = a / PS;

	uffd_arm(mm, a + 4 * PS);
	assert_int_equal(remap(mm, a, 10 * PS, FAR, 0, &out), -EFAULT);
	TU_CHECK(sim);
	expect_vma(mm, FAR, FAR, FAR + 4 * PS, idx); /* A moved */
	expect_pages(mm, FAR, 4, 30);
	expect_unmapped(mm, a, 4);
	expect_unmapped(mm, FAR + 4 * PS, 6);
	expect_vma(mm, a + 4 * PS, a + 4 * PS, a + 6 * PS, idx + 4); /* B, C did not */
	expect_vma(mm, a + 7 * PS, a + 7 * PS, a + 10 * PS, idx + 7);
	expect_pages(mm, a + 4 * PS, 2, 34);
	expect_pages(mm, a + 7 * PS, 3, 37);
	/* B first, C after it: nothing moves */
	assert_int_equal(remap(mm, a + 4 * PS, 6 * PS, FAR + 4 * PS, 0, &out), -EFAULT);
	TU_CHECK(sim);
	expect_unmapped(mm, FAR + 4 * PS, 6);
	expect_vma(mm, a + 4 * PS, a + 4 * PS, a + 6 * PS, idx + 4);
	/* B and the hole after it: still -EFAULT (a single such VMA may not
	 * leave the range either) */
	assert_int_equal(remap(mm, a + 4 * PS, 3 * PS, FAR + 4 * PS, 0, &out), -EFAULT);
	/* B alone moves */
	TU_ASSERT_OK(remap(mm, a + 4 * PS, 2 * PS, FAR + 4 * PS, 0, &out));
	assert_int_equal(out, FAR + 4 * PS);
	TU_CHECK(sim);
	expect_vma(mm, FAR + 4 * PS, FAR + 4 * PS, FAR + 6 * PS, idx + 4);
	expect_pages(mm, FAR + 4 * PS, 2, 34);
	assert_true(vinfo(mm, FAR + 4 * PS).vm_flags & SIMMM_VM_UFFD_MISSING);
	finish(&sim, mm);

	/* DONTUNMAP across A and a VM_PFNMAP VMA: A moved, leaving its old
	 * range empty; the PFNMAP VMA refuses with -EINVAL and stays. */
	sim = new_sim();
	mm = mx_mm(sim);
	a = mx_anon(mm, AREA, 2 * PS);
	write_pages(mm, a, 2, 50);
	mx_map(mm, a + 2 * PS, 2 * PS, SIMMM_MAP_SHARED | SIMMM_MAP_PFNMAP);
	TU_CHECK(sim);
	assert_int_equal(remap(mm, a, 4 * PS, FAR, SIMMM_MREMAP_DONTUNMAP, &out), -EINVAL);
	TU_CHECK(sim);
	expect_pages(mm, FAR, 2, 50);
	expect_vma(mm, a, a, a + 2 * PS, a / PS); /* the old range, empty */
	assert_false(mx_tr(mm, a).present);
	assert_true(vinfo(mm, a + 2 * PS).vm_flags & SIMMM_VM_PFNMAP);
	expect_unmapped(mm, FAR + 2 * PS, 2);
	/* a plain move takes the PFNMAP VMA along */
	TU_ASSERT_OK(remap(mm, a + 2 * PS, 2 * PS, FAR + 2 * PS, 0, &out));
	TU_CHECK(sim);
	assert_true(vinfo(mm, FAR + 2 * PS).vm_flags & SIMMM_VM_PFNMAP);
	finish(&sim, mm);
}

/*
 * MREMAP_DONTUNMAP with MREMAP_FIXED moves several VMAs too (each old
 * range stays, empty and unlocked; anonymous pages fault in as zeros);
 * without MREMAP_FIXED the range must be one VMA (-EFAULT).
 */
static void test_dontunmap(void **state)
{
	(void)state;
	simmm_sim *sim = new_sim();
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = three_vmas(sim, mm, AREA, 60), out = 0;
	uint64_t idx = a / PS;

	assert_int_equal(simmm_mremap(mm, a, 10 * PS, 10 * PS,
				      SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_DONTUNMAP, 0, &out),
			 -EFAULT);
	TU_CHECK(sim);
	expect_three(mm, a, 60);
	TU_ASSERT_OK(simmm_mlock(mm, a + 7 * PS, 3 * PS));
	TU_ASSERT_OK(remap(mm, a, 10 * PS, FAR, SIMMM_MREMAP_DONTUNMAP, &out));
	assert_int_equal(out, FAR);
	TU_CHECK(sim);
	expect_three_vmas(mm, FAR, idx);
	expect_three_vmas(mm, a, idx);
	expect_unmapped(mm, a + 6 * PS, 1);
	expect_unmapped(mm, FAR + 6 * PS, 1);
	assert_true(vinfo(mm, FAR + 7 * PS).vm_flags & SIMMM_VM_LOCKED);
	assert_false(vinfo(mm, a + 7 * PS).vm_flags & SIMMM_VM_LOCKED);
	for (unsigned i = 0; i < 10; i++)
		assert_false(mx_tr(mm, a + i * PS).present);
	expect_three(mm, FAR, 60);
	mx_expect_zero(mm, a);
	mx_expect_zero(mm, a + 8 * PS);
	finish(&sim, mm);
}

/*
 * Only same-size FIXED moves take several VMAs: growing or shrinking with
 * MREMAP_FIXED over A and B is -EFAULT as before (a shrink whose kept
 * part stays inside A moves, having unmapped the tail), and nothing
 * changed but that.
 */
static void test_size_change_refused(void **state)
{
	(void)state;
	simmm_sim *sim = new_sim();
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = three_vmas(sim, mm, AREA, 70), out = 0;

	assert_int_equal(simmm_mremap(mm, a, 6 * PS, 7 * PS, MOVE, FAR, &out), -EFAULT);
	assert_int_equal(simmm_mremap(mm, a, 10 * PS, 5 * PS, MOVE, FAR, &out), -EFAULT);
	TU_CHECK(sim);
	expect_three_vmas(mm, a, a / PS);
	expect_three(mm, a, 70);
	expect_unmapped(mm, FAR, 10);
	/* without MREMAP_FIXED, the same size over several VMAs changes nothing */
	TU_ASSERT_OK(simmm_mremap(mm, a, 10 * PS, 10 * PS, SIMMM_MREMAP_MAYMOVE, 0, &out));
	assert_int_equal(out, a);
	expect_three_vmas(mm, a, a / PS);
	TU_ASSERT_OK(simmm_mremap(mm, a, 10 * PS, 3 * PS, MOVE, FAR, &out));
	TU_CHECK(sim);
	expect_vma(mm, FAR, FAR, FAR + 3 * PS, a / PS);
	expect_unmapped(mm, a, 10);
	expect_pages(mm, FAR, 3, 70);
	finish(&sim, mm);
}

/*
 * The old address must be mapped: a hole there is -EFAULT, even with
 * VMAs later in the range, and so is a range without any VMA. A hole at
 * the end is fine: a VMA followed by one moves alone; a VMA that only
 * begins in the range moves its part, one that ends past the range its
 * head (the rest stays).
 */
static void test_holes_at_the_ends(void **state)
{
	(void)state;
	simmm_sim *sim = new_sim();
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = three_vmas(sim, mm, AREA, 80), out = 0;
	uint64_t idx = a / PS;

	assert_int_equal(remap(mm, a + 6 * PS, 4 * PS, FAR, 0, &out), -EFAULT);
	assert_int_equal(remap(mm, a - 4 * PS, 6 * PS, FAR, 0, &out), -EFAULT);
	assert_int_equal(remap(mm, a + 10 * PS, 4 * PS, FAR, 0, &out), -EFAULT);
	TU_CHECK(sim);
	expect_three_vmas(mm, a, idx);
	expect_unmapped(mm, FAR, 10);
	/* B and the hole after it */
	TU_ASSERT_OK(remap(mm, a + 4 * PS, 3 * PS, FAR + 4 * PS, 0, &out));
	assert_int_equal(out, FAR + 4 * PS);
	TU_CHECK(sim);
	expect_vma(mm, FAR + 4 * PS, FAR + 4 * PS, FAR + 6 * PS, idx + 4);
	expect_pages(mm, FAR + 4 * PS, 2, 84);
	expect_unmapped(mm, FAR + 6 * PS, 1);
	/* the tail of A and the head of C, around the holes B left */
	TU_ASSERT_OK(remap(mm, a + 2 * PS, 6 * PS, FAR + 2 * PS, 0, &out));
	assert_int_equal(out, FAR + 2 * PS);
	TU_CHECK(sim);
	expect_vma(mm, a, a, a + 2 * PS, idx);
	expect_vma(mm, FAR + 2 * PS, FAR + 2 * PS, FAR + 4 * PS, idx + 2);
	expect_vma(mm, FAR + 7 * PS, FAR + 7 * PS, FAR + 8 * PS, idx + 7);
	expect_vma(mm, a + 8 * PS, a + 8 * PS, a + 10 * PS, idx + 8);
	expect_pages(mm, FAR + 2 * PS, 4, 82);
	mx_expect(mm, FAR + 7 * PS, 87);
	expect_pages(mm, a, 2, 80);
	expect_pages(mm, a + 8 * PS, 2, 88);
	finish(&sim, mm);
}

/* ---- notifier events ------------------------------------------------------------------ */

#define MAXEV 16

struct evlog {
	struct simmm_mmu_interval_notifier sub; /* first */
	unsigned n;
	struct {
		simmm_addr_t start, end;
		enum simmm_mmu_notifier_event event;
	} ev[MAXEV];
};

static bool ev_invalidate(struct simmm_mmu_interval_notifier *sub,
			  const struct simmm_mmu_notifier_range *r, uint64_t cur_seq)
{
	struct evlog *l = (struct evlog *)(void *)sub;

	simmm_mmu_interval_set_seq(sub, cur_seq);
	if (l->n < MAXEV)
		l->ev[l->n] = (__typeof__(l->ev[0])){r->start, r->end, r->event};
	l->n++;
	return true;
}

static const struct simmm_mmu_interval_notifier_ops ev_ops = {.invalidate = ev_invalidate};

static void expect_ev(const struct evlog *l, unsigned i, simmm_addr_t start, simmm_addr_t end)
{
	assert_true(i < l->n);
	assert_int_equal(l->ev[i].start, start);
	assert_int_equal(l->ev[i].end, end);
	assert_int_equal(l->ev[i].event, SIMMM_MMU_NOTIFY_UNMAP);
}

/*
 * An interval notifier on the old range sees, VMA by VMA in address
 * order, the UNMAP around the move of its entries and the UNMAP of its
 * munmap; one on the new range sees the unmap of the only target part
 * that was mapped (A's), nothing for the hole's part (not unmapped) nor
 * for the free parts.
 */
static void test_notifier_events(void **state)
{
	(void)state;
	simmm_sim *sim = new_sim();
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = three_vmas(sim, mm, AREA, 90), out = 0;
	struct evlog src = {.n = 0}, dst = {.n = 0};

	mx_anon(mm, FAR + PS, 2 * PS);
	mx_anon(mm, FAR + 6 * PS, PS);
	TU_ASSERT_OK(simmm_mmu_interval_notifier_insert(&src.sub, mm, a, 10 * PS, &ev_ops));
	TU_ASSERT_OK(simmm_mmu_interval_notifier_insert(&dst.sub, mm, FAR, 10 * PS, &ev_ops));
	TU_CHECK(sim);
	TU_ASSERT_OK(remap(mm, a, 10 * PS, FAR, 0, &out));
	TU_CHECK(sim);
	assert_int_equal(src.n, 6);
	expect_ev(&src, 0, a, a + 4 * PS);
	expect_ev(&src, 1, a, a + 4 * PS);
	expect_ev(&src, 2, a + 4 * PS, a + 6 * PS);
	expect_ev(&src, 3, a + 4 * PS, a + 6 * PS);
	expect_ev(&src, 4, a + 7 * PS, a + 10 * PS);
	expect_ev(&src, 5, a + 7 * PS, a + 10 * PS);
	assert_int_equal(dst.n, 1);
	expect_ev(&dst, 0, FAR + PS, FAR + 3 * PS);
	expect_three(mm, FAR, 90);
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&src.sub));
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&dst.sub));
	finish(&sim, mm);
}

/* ---- mlock, THP and non-present entries -------------------------------------------- */

static struct simmm_page *folio_at(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t a)
{
	return simmm__pfn_to_page(sim, mx_tr(mm, a).pfn);
}

/*
 * Locked A and C around an unlocked B: the move charges each locked part
 * at its new place and uncharges the old (locked_vm unchanged), the
 * folios stay mlocked, and reclaim cannot take them; B's can go.
 */
static void test_locked_vmas(void **state)
{
	(void)state;
	simmm_sim *sim = new_sim();
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = three_vmas(sim, mm, AREA, 100), out = 0;
	uint64_t got = 0;

	TU_ASSERT_OK(simmm_mlock(mm, a, 4 * PS));
	TU_ASSERT_OK(simmm_mlock(mm, a + 7 * PS, 3 * PS));
	TU_CHECK(sim);
	assert_int_equal(mx_stats(mm).locked_vm, 7);
	TU_ASSERT_OK(remap(mm, a, 10 * PS, FAR, 0, &out));
	TU_CHECK(sim);
	assert_int_equal(mx_stats(mm).locked_vm, 7);
	assert_true(vinfo(mm, FAR).vm_flags & SIMMM_VM_LOCKED);
	assert_false(vinfo(mm, FAR + 4 * PS).vm_flags & SIMMM_VM_LOCKED);
	assert_true(vinfo(mm, FAR + 7 * PS).vm_flags & SIMMM_VM_LOCKED);
	for (unsigned i = 0; i < 10; i++)
		if (i < 4 || i > 6)
			assert_true(folio_at(sim, mm, FAR + i * PS)->flags & PG_mlocked);
	TU_ASSERT_OK(simmm_reclaim(sim, 64, &got));
	TU_CHECK(sim);
	assert_int_equal(mx_stats(mm).rss_anon, 7);
	assert_int_equal(mx_stats(mm).swap_ents, 2);
	expect_three(mm, FAR, 100);
	TU_ASSERT_OK(simmm_munmap(mm, FAR, 10 * PS));
	assert_int_equal(mx_stats(mm).locked_vm, 0);
	finish(&sim, mm);
}

/*
 * The entries move as they are: a PMD-mapped THP (same folio, PMD-mapped
 * at the new, aligned address), swap entries (a hole after them), a
 * device-private VMA, and one whose device pages are being evicted
 * (migration entries: migrate_device_range() takes no mmap lock); the
 * eviction then finishes through rmap at the new address.
 */
static void test_entries_move(void **state)
{
	(void)state;
	simmm_sim *sim = new_sim();
	struct simmm_mm *mm = mx_mm(sim);
	struct tdev dev;
	simmm_addr_t t = thp_region(mm, PMD), s = t + PMD, d = s + 5 * PS, m = d + 5 * PS;
	simmm_addr_t to = t + GIB, out = 0;
	uint64_t len = m + 2 * PS - t, n = 0, src[2], dst[2];
	simmm_pfn_t head, dpfn;

	TU_ASSERT_OK(tdev_init(&dev, sim, SIMMM_MEM_DEVICE_PRIVATE, 16));
	for (unsigned i = 0; i < NR; i += 64)
		mx_write(mm, t + i * PS, 110 + i);
	assert_int_equal(mx_tr(mm, t).level, SIMMM_LVL_PMD);
	head = mx_tr(mm, t).pfn;
	mx_anon(mm, s, 4 * PS);
	write_pages(mm, s, 4, 120);
	TU_ASSERT_OK(simmm_madvise(mm, s, 4 * PS, SIMMM_MADV_PAGEOUT));
	mx_anon(mm, d, 4 * PS);
	mx_anon(mm, m, 2 * PS);
	TU_ASSERT_OK(tu_fill(mm, d, 4, PS, 130));
	TU_ASSERT_OK(tu_fill(mm, m, 2, PS, 140));
	TU_ASSERT_OK(tdev_migrate(&dev, mm, d, 4, SIMMM_MIGRATE_VMA_SELECT_SYSTEM, &n));
	assert_int_equal(n, 4);
	TU_ASSERT_OK(tdev_migrate(&dev, mm, m, 2, SIMMM_MIGRATE_VMA_SELECT_SYSTEM, &n));
	assert_int_equal(n, 2);
	dpfn = simmm_swp_offset_pfn(tu_pte(mm, d));
	for (unsigned i = 0; i < 2; i++)
		src[i] = simmm_swp_offset_pfn(tu_pte(mm, m + i * PS));
	TU_ASSERT_OK(simmm_migrate_device_pfns(sim, src, 2));
	assert_true(simmm_is_migration_entry(tu_pte(mm, m)));
	TU_CHECK(sim);
	assert_int_equal(mx_stats(mm).swap_ents, 4);

	TU_ASSERT_OK(remap(mm, t, len, to, 0, &out));
	assert_int_equal(out, to);
	TU_CHECK(sim);
	expect_unmapped(mm, t, 1);
	expect_unmapped(mm, s, 14);
	assert_int_equal(mx_tr(mm, to).level, SIMMM_LVL_PMD);
	assert_int_equal(mx_tr(mm, to).pfn, head);
	for (unsigned i = 0; i < 4; i++) {
		assert_true(simmm_is_real_swap_entry(tu_pte(mm, to + PMD + i * PS)));
		assert_true(simmm_is_device_private_entry(tu_pte(mm, to + PMD + (5 + i) * PS)));
	}
	assert_int_equal(simmm_swp_offset_pfn(tu_pte(mm, to + PMD + 5 * PS)), dpfn);
	for (unsigned i = 0; i < 2; i++)
		assert_true(simmm_is_migration_entry(tu_pte(mm, to + PMD + (10 + i) * PS)));
	assert_int_equal(mx_stats(mm).swap_ents, 4);
	expect_unmapped(mm, to + PMD + 4 * PS, 1);
	/* the eviction ends where the entries are now */
	tdev_fill_dst(&dev, src, dst, 2);
	TU_ASSERT_OK(simmm_migrate_device_pages(sim, src, dst, 2));
	TU_ASSERT_OK(simmm_migrate_device_finalize(sim, src, dst, 2));
	TU_CHECK(sim);
	assert_true(mx_tr(mm, to + PMD + 10 * PS).present);
	for (unsigned i = 0; i < NR; i += 64)
		mx_expect(mm, to + i * PS, 110 + i);
	expect_pages(mm, to + PMD, 4, 120);
	TU_ASSERT_OK(tu_verify(mm, to + PMD + 5 * PS, 4, PS, 130));
	TU_ASSERT_OK(tu_verify(mm, to + PMD + 10 * PS, 2, PS, 140));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_memunmap_pages(&dev.pgmap));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* ---- failures and merges ------------------------------------------------------------- */

/*
 * -ENOMEM at each allocation in turn: the VMAs before the failing one
 * moved (gone from the old place, whole at the new one), the failing one
 * and those after it did not; the failing VMA's target was free anyway.
 * Every data page is where its VMA is. Partial moves are seen, and
 * eventually success.
 */
static void test_enomem_stops_midway(void **state)
{
	(void)state;
	static const unsigned first[3] = {0, 4, 7}, count[3] = {4, 2, 3};
	bool done = false, partial = false;

	for (uint64_t nth = 1; nth < 200 && !done; nth++) {
		simmm_sim *sim = new_sim();
		struct simmm_mm *mm = mx_mm(sim);
		simmm_addr_t a = three_vmas(sim, mm, AREA, 140), out = 0;
		struct simmm_fault_config fc = {.mode = SIMMM_FAULT_NTH, .nth = nth};
		struct simmm_vma_info vi;
		unsigned moved = 0;
		int rc;

		TU_ASSERT_OK(simmm_fault_inject(sim, &fc));
		rc = remap(mm, a, 10 * PS, FAR, 0, &out);
		simmm_fault_inject(sim, NULL);
		TU_CHECK(sim);
		if (rc)
			assert_int_equal(rc, -ENOMEM);
		for (unsigned v = 0; v < 3; v++) {
			simmm_addr_t o = a + first[v] * PS, n = FAR + first[v] * PS;
			bool gone = simmm_vma_info(mm, o, &vi) == -ENOENT;

			if (gone) {
				assert_int_equal(moved, v); /* a prefix */
				moved++;
				expect_vma(mm, n, n, n + count[v] * PS, o / PS);
				expect_pages(mm, n, count[v], 140 + first[v]);
			} else {
				expect_vma(mm, o, o, o + count[v] * PS, o / PS);
				expect_unmapped(mm, n, count[v]);
				expect_pages(mm, o, count[v], 140 + first[v]);
			}
		}
		assert_int_equal(moved == 3, rc == 0);
		partial |= moved == 1 || moved == 2;
		done = rc == 0;
		finish(&sim, mm);
	}
	assert_true(done);
	assert_true(partial);
}

/*
 * The new range starts where the old one ends, so the first VMA, moved
 * there, merges with the last one still to move (the same anon_vma and
 * a continuing linear index): A = the second page of a faulted VMA,
 * moved to s; Z = its first page, moved to s + 2. Moving [s, s + 3) to
 * s + 3 puts A right after Z: A merges into Z, which is then found
 * (covering [s + 2, s + 4)) and its part in the range moves on to s + 5.
 */
static void test_destination_merges_with_source(void **state)
{
	(void)state;
	simmm_sim *sim = new_sim();
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t v = mx_anon(mm, AREA, 2 * PS), s = FAR, out = 0;
	uint64_t idx = v / PS;

	write_pages(mm, v, 2, 150);
	TU_ASSERT_OK(remap(mm, v + PS, PS, s, 0, &out));
	TU_ASSERT_OK(remap(mm, v, PS, s + 2 * PS, 0, &out));
	TU_CHECK(sim);
	expect_vma(mm, s, s, s + PS, idx + 1);
	expect_vma(mm, s + 2 * PS, s + 2 * PS, s + 3 * PS, idx);
	TU_ASSERT_OK(remap(mm, s, 3 * PS, s + 3 * PS, 0, &out));
	assert_int_equal(out, s + 3 * PS);
	TU_CHECK(sim);
	expect_unmapped(mm, s, 3);
	expect_vma(mm, s + 3 * PS, s + 3 * PS, s + 4 * PS, idx + 1);
	expect_unmapped(mm, s + 4 * PS, 1);
	expect_vma(mm, s + 5 * PS, s + 5 * PS, s + 6 * PS, idx);
	mx_expect(mm, s + 3 * PS, 151);
	mx_expect(mm, s + 5 * PS, 150);
	finish(&sim, mm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_move_with_gaps),
		cmocka_unit_test(test_move_mixed_kinds),
		cmocka_unit_test(test_refused_in_the_middle),
		cmocka_unit_test(test_dontunmap),
		cmocka_unit_test(test_size_change_refused),
		cmocka_unit_test(test_holes_at_the_ends),
		cmocka_unit_test(test_notifier_events),
		cmocka_unit_test(test_locked_vmas),
		cmocka_unit_test(test_entries_move),
		cmocka_unit_test(test_enomem_stops_midway),
		cmocka_unit_test(test_destination_merges_with_source),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
