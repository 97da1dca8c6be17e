// SPDX-License-Identifier: MIT
/*
 * mremap's new VMA merges with its neighbours, as copy_vma() does:
 *  - an anonymous range moved back next to the rest of its VMA (same
 *    anon_vma, continuing linear index) merges with it, with prev, with
 *    next, and with both;
 *  - a never-faulted anonymous VMA takes the new address's linear index,
 *    so it merges with a faulted neighbour; unmerged, it keeps that index;
 *  - a never-faulted VMA moved right next to itself merges with itself:
 *    its old range is then unmapped from the merged VMA (a split, with a
 *    spare VMA allocated beforehand: -ENOMEM at every allocation leaves
 *    the mm as it was), or stays with MREMAP_DONTUNMAP;
 *  - no merge with a different protection or a different anon_vma;
 *  - a file range moved to continue a mapping of the same file at the
 *    right offset merges;
 *  - MREMAP_DONTUNMAP merges the same way; the old VMA stays, whole (not
 *    split around the range), and leaves its anon_vma when the range was
 *    all of it (dontunmap_complete());
 *  - a fresh new VMA takes no rmap locks for pte moves (need_rmap_locks
 *    false): a reclaim walk asleep in its CLEAR bracket on the old VMA
 *    while the ptes move still finds them, in the new VMA, which comes
 *    after the old one in the anon_vma tree.
 * After each merge, rmap still finds every folio: reclaim swaps (or writes
 * back) and unmaps them all, and the data faults back in. simmm_check()
 * (TU_CHECK) after every step.
 *
 * And which ranges mremap() accepts (check_prep_vma(), mremap_at()): a
 * shrink or a same-size call without a new address only unmaps the tail,
 * which may span VMAs and holes; a FIXED move that shrinks needs only its
 * new length inside the VMA (the tail is unmapped first); growing or
 * moving a range that crosses the VMA's end, or one without a VMA at its
 * address, is -EFAULT.
 */
#include "test_mm_ext_util.h"

#include <simmm/mmu_notifier.h>

/* Fixed places in the default layout, far from mmap_base. */
#define AREA (64 * MIB)
#define FAR (256 * MIB)

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

/* The VMA at @a is exactly [@start, @end) with linear index / offset @pgoff. */
static void expect_vma(struct simmm_mm *mm, simmm_addr_t a, simmm_addr_t start, simmm_addr_t end,
		       uint64_t pgoff)
{
	struct simmm_vma_info vi = vinfo(mm, a);

	assert_int_equal(vi.start, start);
	assert_int_equal(vi.end, end);
	assert_int_equal(vi.pgoff, pgoff);
}

static void expect_unmapped(struct simmm_mm *mm, simmm_addr_t a)
{
	struct simmm_vma_info vi;

	assert_int_equal(simmm_vma_info(mm, a, &vi), -ENOENT);
}

static uint64_t nr_vmas(struct simmm_mm *mm)
{
	uint64_t n = 0;

	for (struct simmm_itree_node *x = simmm__itree_first(&mm->vmas); x; x = simmm__itree_next(x))
		n++;
	return n;
}

static void move(struct simmm_mm *mm, simmm_addr_t from, uint64_t len, simmm_addr_t to, int flags)
{
	simmm_addr_t out = 0;

	TU_ASSERT_OK(simmm_mremap(mm, from, len, len,
				  SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED | flags, to, &out));
	assert_int_equal(out, to);
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

/* Reclaim must find every one of the @n anonymous pages through rmap and
 * swap it out: none left in rss, all in swap entries; then they fault
 * back in with their data. */
static void swap_out_all(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t a, unsigned n)
{
	uint64_t got = 0;

	assert_int_equal(mx_stats(mm).rss_anon, n);
	TU_ASSERT_OK(simmm_reclaim(sim, 4 * n, &got));
	TU_CHECK(sim);
	assert_int_equal(mx_stats(mm).rss_anon, 0);
	assert_int_equal(mx_stats(mm).swap_ents, n);
	for (unsigned i = 0; i < n; i++)
		assert_false(mx_tr(mm, a + i * PS).present);
}

static void swap_all_back(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t a, unsigned n,
			  unsigned tag)
{
	swap_out_all(sim, mm, a, n);
	expect_pages(mm, a, n, tag);
	TU_CHECK(sim);
	assert_int_equal(mx_stats(mm).swap_ents, 0);
}

static void finish(simmm_sim **sim, struct simmm_mm *mm)
{
	TU_CHECK(*sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(*sim);
	tu_sim_free(sim);
}

/* Faulted [AREA, +8): its upper half moved away and back merges with prev. */
static void test_anon_back_merges_prev(void **state)
{
	(void)state;
	simmm_sim *sim = new_sim();
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, AREA, 8 * PS);
	uint64_t idx = a / PS;

	write_pages(mm, a, 8, 10);
	move(mm, a + 4 * PS, 4 * PS, FAR, 0);
	TU_CHECK(sim);
	/* A faulted range keeps its linear index: no merge away from home. */
	expect_vma(mm, a, a, a + 4 * PS, idx);
	expect_vma(mm, FAR, FAR, FAR + 4 * PS, idx + 4);
	assert_int_equal(nr_vmas(mm), 2);
	move(mm, FAR, 4 * PS, a + 4 * PS, 0);
	TU_CHECK(sim);
	expect_vma(mm, a, a, a + 8 * PS, idx);
	expect_unmapped(mm, FAR);
	assert_int_equal(nr_vmas(mm), 1);
	expect_pages(mm, a, 8, 10);
	swap_all_back(sim, mm, a, 8, 10);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* The lower half moved away and back merges with next; the middle with
 * both (three VMAs become one). */
static void test_anon_back_merges_next_and_both(void **state)
{
	(void)state;
	simmm_sim *sim = new_sim();
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, AREA, 12 * PS);
	uint64_t idx = a / PS;

	write_pages(mm, a, 12, 40);
	move(mm, a, 4 * PS, FAR, 0);
	TU_CHECK(sim);
	move(mm, FAR, 4 * PS, a, 0);
	TU_CHECK(sim);
	expect_vma(mm, a, a, a + 12 * PS, idx);
	assert_int_equal(nr_vmas(mm), 1);
	/* The middle: prev and next are both the same family, linear. */
	move(mm, a + 4 * PS, 4 * PS, FAR, 0);
	TU_CHECK(sim);
	assert_int_equal(nr_vmas(mm), 3);
	move(mm, FAR, 4 * PS, a + 4 * PS, 0);
	TU_CHECK(sim);
	expect_vma(mm, a + 6 * PS, a, a + 12 * PS, idx);
	assert_int_equal(nr_vmas(mm), 1);
	expect_pages(mm, a, 12, 40);
	swap_all_back(sim, mm, a, 12, 40);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* A never-faulted VMA takes the destination's linear index: next to a
 * faulted VMA it continues, and merges (sharing its anon_vma); alone it
 * keeps the new index. */
static void test_unfaulted_takes_new_index(void **state)
{
	(void)state;
	simmm_sim *sim = new_sim();
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t p = mx_anon(mm, AREA, 4 * PS);
	simmm_addr_t u = mx_anon(mm, FAR, 4 * PS);
	simmm_addr_t w = FAR + 64 * PS;

	write_pages(mm, p, 4, 70);
	mx_expect_zero(mm, u + PS); /* the zero page: still no anon_vma */
	move(mm, u, 4 * PS, w, 0);
	TU_CHECK(sim);
	expect_vma(mm, w, w, w + 4 * PS, w / PS);
	mx_expect_zero(mm, w + PS);
	move(mm, w, 4 * PS, p + 4 * PS, 0);
	TU_CHECK(sim);
	expect_vma(mm, p, p, p + 8 * PS, p / PS);
	assert_int_equal(nr_vmas(mm), 1);
	mx_expect_zero(mm, p + 5 * PS);
	write_pages(mm, p + 4 * PS, 4, 74);
	TU_CHECK(sim);
	expect_pages(mm, p, 8, 70);
	swap_all_back(sim, mm, p, 8, 70);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* The other way round: a faulted range moved after a never-faulted VMA
 * whose index it continues; the merged VMA adopts its anon_vma
 * (dup_anon_vma()) and rmap finds the folios through it. */
static void test_faulted_onto_unfaulted(void **state)
{
	(void)state;
	simmm_sim *sim = new_sim();
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, AREA, 8 * PS);

	write_pages(mm, a + 4 * PS, 4, 90);
	/* [a, +4) never faulted; [a+4, +8) has the anon_vma. Split them. */
	move(mm, a + 4 * PS, 4 * PS, FAR, 0);
	TU_CHECK(sim);
	expect_vma(mm, a, a, a + 4 * PS, a / PS);
	move(mm, FAR, 4 * PS, a + 4 * PS, 0);
	TU_CHECK(sim);
	expect_vma(mm, a, a, a + 8 * PS, a / PS);
	write_pages(mm, a, 4, 86);
	TU_CHECK(sim);
	swap_all_back(sim, mm, a, 8, 86);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* Adjacent, linear, but a different protection or a different anon_vma:
 * no merge. */
static void test_incompatible_no_merge(void **state)
{
	(void)state;
	simmm_sim *sim = new_sim();
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t p = mx_anon(mm, AREA, 4 * PS), q, r = 0;

	write_pages(mm, p, 4, 1);
	/* Different protection, never faulted (would take the index). */
	TU_ASSERT_OK(simmm_mmap(mm, FAR, 4 * PS, SIMMM_PROT_READ,
				SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_FIXED, NULL, 0, &r));
	move(mm, FAR, 4 * PS, p + 4 * PS, 0);
	TU_CHECK(sim);
	expect_vma(mm, p, p, p + 4 * PS, p / PS);
	expect_vma(mm, p + 4 * PS, p + 4 * PS, p + 8 * PS, (p + 4 * PS) / PS);
	TU_ASSERT_OK(simmm_munmap(mm, p + 4 * PS, 4 * PS));
	/* Different anon_vma: q faulted at p + 4 pages before p existed, so
	 * its index continues p's, then moved away and back. */
	TU_ASSERT_OK(simmm_munmap(mm, p, 4 * PS));
	q = mx_anon(mm, p + 4 * PS, 4 * PS);
	write_pages(mm, q, 4, 20);
	move(mm, q, 4 * PS, FAR, 0);
	p = mx_anon(mm, AREA, 4 * PS);
	write_pages(mm, p, 4, 1);
	TU_CHECK(sim);
	move(mm, FAR, 4 * PS, p + 4 * PS, 0);
	TU_CHECK(sim);
	expect_vma(mm, p, p, p + 4 * PS, p / PS);
	expect_vma(mm, p + 4 * PS, p + 4 * PS, p + 8 * PS, p / PS + 4);
	assert_int_equal(nr_vmas(mm), 2);
	assert_ptr_not_equal(simmm__vma_lookup(mm, p)->anon_vma,
			     simmm__vma_lookup(mm, p + 4 * PS)->anon_vma);
	expect_pages(mm, p, 4, 1);
	expect_pages(mm, p + 4 * PS, 4, 20);
	swap_out_all(sim, mm, p, 8);
	expect_pages(mm, p, 4, 1);
	expect_pages(mm, p + 4 * PS, 4, 20);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* A shared file range moved to continue a mapping of the same file at the
 * right offset merges; at the wrong offset it does not. Reclaim unmaps
 * every page through i_mmap and writes the dirty ones back. */
static void test_file_merges(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = NULL;
	simmm_addr_t a = 0, b = 0, c = 0;
	uint64_t got = 0;
	int rw = SIMMM_PROT_READ | SIMMM_PROT_WRITE;

	TU_ASSERT_OK(simmm_file_create(sim, 12 * PS, 0, &f));
	TU_ASSERT_OK(simmm_mmap(mm, AREA, 4 * PS, rw, SIMMM_MAP_SHARED | SIMMM_MAP_FIXED, f, 0, &a));
	TU_ASSERT_OK(simmm_mmap(mm, FAR, 4 * PS, rw, SIMMM_MAP_SHARED | SIMMM_MAP_FIXED, f, 4, &b));
	TU_ASSERT_OK(simmm_mmap(mm, FAR + 64 * PS, 4 * PS, rw, SIMMM_MAP_SHARED | SIMMM_MAP_FIXED,
				f, 8, &c));
	write_pages(mm, a, 4, 100);
	write_pages(mm, b, 4, 104);
	write_pages(mm, c, 4, 108);
	/* Offset 8 does not continue offset 0..3 at a + 4 pages. */
	move(mm, c, 4 * PS, a + 4 * PS, 0);
	TU_CHECK(sim);
	expect_vma(mm, a, a, a + 4 * PS, 0);
	expect_vma(mm, a + 4 * PS, a + 4 * PS, a + 8 * PS, 8);
	move(mm, a + 4 * PS, 4 * PS, c, 0);
	move(mm, b, 4 * PS, a + 4 * PS, 0);
	TU_CHECK(sim);
	expect_vma(mm, a, a, a + 8 * PS, 0);
	assert_int_equal(nr_vmas(mm), 2);
	expect_pages(mm, a, 8, 100);
	TU_ASSERT_OK(simmm_reclaim(sim, 64, &got));
	TU_CHECK(sim);
	for (unsigned i = 0; i < 8; i++)
		assert_false(mx_tr(mm, a + i * PS).present);
	expect_pages(mm, a, 8, 100);
	expect_pages(mm, c, 4, 108);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* MREMAP_DONTUNMAP merges the new range the same way; the old VMA stays,
 * empty, and faults in fresh zeroed pages. */
static void test_dontunmap_merges(void **state)
{
	(void)state;
	simmm_sim *sim = new_sim();
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, AREA, 8 * PS);

	write_pages(mm, a, 8, 120);
	move(mm, a + 4 * PS, 4 * PS, FAR, 0);
	TU_CHECK(sim);
	move(mm, FAR, 4 * PS, a + 4 * PS, SIMMM_MREMAP_DONTUNMAP);
	TU_CHECK(sim);
	expect_vma(mm, a, a, a + 8 * PS, a / PS);
	expect_vma(mm, FAR, FAR, FAR + 4 * PS, a / PS + 4);
	assert_int_equal(nr_vmas(mm), 2);
	assert_false(mx_tr(mm, FAR).present);
	expect_pages(mm, a, 8, 120);
	swap_all_back(sim, mm, a, 8, 120);
	mx_expect_zero(mm, FAR + PS);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* MREMAP_DONTUNMAP of part of a VMA: move_vma() does not split the old
 * VMA (only the unmap of a plain move would); the range is left empty in
 * it, the rest keeps its pages, and the VMA keeps its anon_vma (pages
 * outside the range still need it). The new VMA gets the linear index of
 * the range's start, so rmap finds the moved pages there. */
static void test_dontunmap_no_split(void **state)
{
	(void)state;
	simmm_sim *sim = new_sim();
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, AREA, 8 * PS);

	write_pages(mm, a, 8, 150);
	struct simmm_anon_vma *av = simmm__vma_lookup(mm, a)->anon_vma;

	move(mm, a + 2 * PS, 3 * PS, FAR, SIMMM_MREMAP_DONTUNMAP);
	TU_CHECK(sim);
	expect_vma(mm, a, a, a + 8 * PS, a / PS);
	expect_vma(mm, FAR, FAR, FAR + 3 * PS, a / PS + 2);
	assert_int_equal(nr_vmas(mm), 2);
	assert_ptr_equal(simmm__vma_lookup(mm, a)->anon_vma, av);
	assert_ptr_equal(simmm__vma_lookup(mm, FAR)->anon_vma, av);
	for (unsigned i = 2; i < 5; i++)
		assert_false(mx_tr(mm, a + i * PS).present);
	expect_pages(mm, FAR, 3, 152);
	expect_pages(mm, a, 2, 150);
	expect_pages(mm, a + 5 * PS, 3, 155);
	TU_CHECK(sim);
	/* rmap finds all eight, in both VMAs. */
	swap_out_all(sim, mm, a, 8);
	expect_pages(mm, FAR, 3, 152);
	expect_pages(mm, a, 2, 150);
	expect_pages(mm, a + 5 * PS, 3, 155);
	mx_expect_zero(mm, a + 3 * PS);
	TU_CHECK(sim);
	finish(&sim, mm);
}

/* MREMAP_DONTUNMAP of a whole VMA: unlink_anon_vmas() takes the old VMA
 * out of its anon_vma (all its pages moved away), so the next fault there
 * prepares a new one, which the moved pages' VMA does not share. */
static void test_dontunmap_whole_unlinks_anon_vma(void **state)
{
	(void)state;
	simmm_sim *sim = new_sim();
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, AREA, 4 * PS);

	write_pages(mm, a, 4, 170);
	struct simmm_anon_vma *av = simmm__vma_lookup(mm, a)->anon_vma;

	assert_non_null(av);
	move(mm, a, 4 * PS, FAR, SIMMM_MREMAP_DONTUNMAP);
	TU_CHECK(sim);
	expect_vma(mm, a, a, a + 4 * PS, a / PS);
	assert_null(simmm__vma_lookup(mm, a)->anon_vma);
	assert_ptr_equal(simmm__vma_lookup(mm, FAR)->anon_vma, av);
	write_pages(mm, a, 2, 180);
	TU_CHECK(sim);
	assert_non_null(simmm__vma_lookup(mm, a)->anon_vma);
	assert_ptr_not_equal(simmm__vma_lookup(mm, a)->anon_vma, av);
	swap_out_all(sim, mm, a, 6);
	expect_pages(mm, a, 2, 180);
	expect_pages(mm, FAR, 4, 170);
	mx_expect_zero(mm, a + 3 * PS);
	TU_CHECK(sim);
	finish(&sim, mm);
}

/* A never-faulted VMA moved right after (or before) itself: its reset
 * index continues its own, so the new range merges with the source (the
 * "vma_start >= new_vma->vm_start" case of copy_vma()); the zero-page
 * entries move inside the merged VMA, then the old range is unmapped
 * from it, or (DONTUNMAP) stays in it. */
static void test_merge_with_self(void **state)
{
	(void)state;
	for (int flags = 0; flags < 2; flags++) {
		for (int below = 0; below < 2; below++) {
			simmm_sim *sim = new_sim();
			struct simmm_mm *mm = mx_mm(sim);
			simmm_addr_t u = mx_anon(mm, AREA, 4 * PS);
			simmm_addr_t d = below ? u - 4 * PS : u + 4 * PS;
			int f = flags ? SIMMM_MREMAP_DONTUNMAP : 0;

			mx_expect_zero(mm, u + PS);
			assert_true(mx_tr(mm, u + PS).present);
			move(mm, u, 4 * PS, d, f);
			TU_CHECK(sim);
			assert_true(mx_tr(mm, d + PS).present); /* the zero page, moved */
			assert_false(mx_tr(mm, u + PS).present);
			if (f)
				expect_vma(mm, u, below ? d : u, below ? u + 4 * PS : d + 4 * PS,
					   (below ? d : u) / PS);
			else
				expect_vma(mm, d, d, d + 4 * PS, d / PS);
			if (!f)
				expect_unmapped(mm, u);
			assert_int_equal(nr_vmas(mm), 1);
			write_pages(mm, d, 4, 140);
			TU_CHECK(sim);
			swap_all_back(sim, mm, d, 4, 140);
			TU_ASSERT_OK(simmm_mmput(mm));
			TU_CHECK(sim);
			tu_sim_free(&sim);
		}
	}
}

/* -ENOMEM at each allocation of a move that merges with itself (the
 * spare for the split of the merged VMA included) leaves the mm as it
 * was: one VMA at the old place, nothing at the destination. */
static void test_merge_with_self_enomem(void **state)
{
	(void)state;
	bool done = false;

	for (uint64_t nth = 1; nth < 64 && !done; nth++) {
		simmm_sim *sim = new_sim();
		struct simmm_mm *mm = mx_mm(sim);
		simmm_addr_t u = mx_anon(mm, AREA, 4 * PS), out = 0;
		struct simmm_fault_config fc = {.mode = SIMMM_FAULT_NTH, .nth = nth};
		int rc;

		mx_expect_zero(mm, u);
		TU_ASSERT_OK(simmm_fault_inject(sim, &fc));
		rc = simmm_mremap(mm, u, 4 * PS, 4 * PS, SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED,
				  u + 4 * PS, &out);
		simmm_fault_inject(sim, NULL);
		TU_CHECK(sim);
		if (rc) {
			assert_int_equal(rc, -ENOMEM);
			expect_vma(mm, u, u, u + 4 * PS, u / PS);
			expect_unmapped(mm, u + 4 * PS);
			assert_true(mx_tr(mm, u).present);
		} else {
			expect_vma(mm, u + 4 * PS, u + 4 * PS, u + 8 * PS, (u + 4 * PS) / PS);
			expect_unmapped(mm, u);
			assert_true(nth > 1); /* at least one allocation was failed */
			done = true;
		}
		assert_int_equal(nr_vmas(mm), 1);
		TU_ASSERT_OK(simmm_mmput(mm));
		TU_CHECK(sim);
		tu_sim_free(&sim);
	}
	assert_true(done);
}

/*
 * The mremap task, inside its UNMAP bracket (the new VMA linked, nothing
 * moved), lets reclaim start; reclaim's try_to_unmap() walk stops in its
 * first CLEAR bracket on the old VMA, anon_vma read-locked. The ptes move
 * meanwhile: the new VMA is fresh, so the move takes no rmap lock and
 * does not wait. The walk rescans the old VMA (nothing left), then meets
 * the new VMA, later in the tree, and unmaps every page there.
 */
struct nl_race {
	struct simmm_mmu_notifier mn; /* first */
	simmm_sim *sim;
	struct simmm_mm *mm;
	simmm_addr_t a, b;
	uint32_t walker, mover;
	bool in_unmap, inside, moved, moved_inside;
	int stops, unmaps, err_mremap;
	uint64_t reclaimed;
};

static void nl_wait(simmm_sim *sim, const bool *flag)
{
	for (int i = 0; i < 10000 && !*flag; i++)
		simmm_sched_yield(sim);
}

static int nl_start(struct simmm_mmu_notifier *mn, const struct simmm_mmu_notifier_range *r)
{
	struct nl_race *x = (struct nl_race *)(void *)mn;
	uint32_t cur = simmm_sched_current(x->sim);

	if (r->event == SIMMM_MMU_NOTIFY_UNMAP && cur == x->mover && !x->unmaps++) {
		x->in_unmap = true;
		nl_wait(x->sim, &x->inside);
	} else if (r->event == SIMMM_MMU_NOTIFY_CLEAR && cur == x->walker && !x->stops++) {
		x->inside = true;
		nl_wait(x->sim, &x->moved);
		x->moved_inside = x->moved;
	}
	return 0;
}

static void nl_end(struct simmm_mmu_notifier *mn, const struct simmm_mmu_notifier_range *r)
{
	struct nl_race *x = (struct nl_race *)(void *)mn;

	if (r->event == SIMMM_MMU_NOTIFY_UNMAP && simmm_sched_current(x->sim) == x->mover)
		x->moved = true;
}

static const struct simmm_mmu_notifier_ops nl_ops = {.invalidate_range_start = nl_start,
						     .invalidate_range_end = nl_end};

static void nl_reclaim(simmm_sim *sim, void *arg)
{
	struct nl_race *x = arg;

	nl_wait(sim, &x->in_unmap);
	TU_ASSERT_OK(simmm_reclaim(sim, 64, &x->reclaimed));
}

static void nl_mremap(simmm_sim *sim, void *arg)
{
	struct nl_race *x = arg;
	simmm_addr_t r = 0;

	x->err_mremap = simmm_mremap(x->mm, x->a, 8 * PS, 8 * PS,
				     SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED, x->b, &r);
}

static void test_fresh_vma_moves_without_rmap_locks(void **state)
{
	(void)state;
	struct nl_race x = {.mn.ops = &nl_ops};
	struct simmm_sched_config cfg;
	int t;

	x.sim = new_sim();
	x.mm = mx_mm(x.sim);
	x.a = mx_anon(x.mm, AREA + 8 * PS, 8 * PS);
	x.b = FAR + 24 * PS; /* another PMD, not whole extents: move_ptes() */
	write_pages(x.mm, x.a, 8, 160);
	TU_ASSERT_OK(simmm_mmu_notifier_register(&x.mn, x.mm));
	simmm_sched_config_init(x.sim, &cfg);
	cfg.policy = SIMMM_SCHED_RR;
	TU_ASSERT_OK(simmm_sched_configure(x.sim, &cfg));
	t = simmm_sched_spawn(x.sim, "reclaim", nl_reclaim, &x);
	assert_true(t > 0);
	x.walker = (uint32_t)t;
	t = simmm_sched_spawn(x.sim, "mremap", nl_mremap, &x);
	assert_true(t > 0);
	x.mover = (uint32_t)t;
	assert_int_equal(simmm_sched_run(x.sim, 1000000), SIMMM_SCHED_DONE);
	TU_CHECK(x.sim);
	TU_ASSERT_OK(x.err_mremap);
	assert_true(x.stops >= 1); /* one CLEAR per page unmapped; the first waited */
	assert_true(x.moved_inside); /* the move did not wait for the walk */
	assert_int_equal(x.reclaimed, 8);
	assert_int_equal(mx_stats(x.mm).rss_anon, 0);
	assert_int_equal(mx_stats(x.mm).swap_ents, 8);
	expect_unmapped(x.mm, x.a);
	expect_vma(x.mm, x.b, x.b, x.b + 8 * PS, x.a / PS);
	expect_pages(x.mm, x.b, 8, 160);
	TU_CHECK(x.sim);
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&x.mn, x.mm));
	TU_ASSERT_OK(simmm_mmput(x.mm));
	TU_CHECK(x.sim);
	tu_sim_free(&x.sim);
}

/* [a, +8) in three VMAs (pages 4..5 read-only) with a hole at page 7. */
static simmm_addr_t split_area(struct simmm_mm *mm, simmm_addr_t fixed, unsigned tag)
{
	simmm_addr_t a = mx_anon(mm, fixed, 8 * PS);

	write_pages(mm, a, 8, tag);
	TU_ASSERT_OK(simmm_mprotect(mm, a + 4 * PS, 2 * PS, SIMMM_PROT_READ));
	TU_ASSERT_OK(simmm_munmap(mm, a + 7 * PS, PS));
	return a;
}

/* Shrinking in place, or keeping the size, works across VMA boundaries
 * and holes (fuzz_races: fuzz/regressions/fuzz_races/mremap-shrink-across-vmas). */
static void test_shrink_across_vmas(void **state)
{
	(void)state;
	simmm_sim *sim = new_sim();
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = split_area(mm, AREA, 30), out = 0;

	/* the same size, with or without MAYMOVE: nothing changes */
	TU_ASSERT_OK(simmm_mremap(mm, a + 2 * PS, 6 * PS, 6 * PS, 0, 0, &out));
	assert_int_equal(out, a + 2 * PS);
	TU_ASSERT_OK(simmm_mremap(mm, a, 8 * PS, 8 * PS, SIMMM_MREMAP_MAYMOVE, 0, &out));
	assert_int_equal(out, a);
	expect_vma(mm, a + 5 * PS, a + 4 * PS, a + 6 * PS, (a + 4 * PS) / PS);
	expect_pages(mm, a, 7, 30);
	/* growing across them is -EFAULT */
	assert_int_equal(simmm_mremap(mm, a + 2 * PS, 4 * PS, 5 * PS, SIMMM_MREMAP_MAYMOVE, 0, &out),
			 -EFAULT);
	/* shrink [a + 2, a + 8) to one page: pages 3..7 go, across both
	 * boundaries and the hole */
	TU_ASSERT_OK(simmm_mremap(mm, a + 2 * PS, 6 * PS, PS, 0, 0, &out));
	assert_int_equal(out, a + 2 * PS);
	TU_CHECK(sim);
	expect_vma(mm, a, a, a + 3 * PS, a / PS);
	for (unsigned i = 3; i < 8; i++)
		expect_unmapped(mm, a + i * PS);
	expect_pages(mm, a, 3, 30);
	/* no VMA at the address: -EFAULT, even for a shrink */
	assert_int_equal(simmm_mremap(mm, a + 4 * PS, 2 * PS, PS, 0, 0, &out), -EFAULT);
	assert_int_equal(nr_vmas(mm), 1);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* A FIXED move that shrinks needs only its new length inside the VMA:
 * the tail, across VMAs and the hole, is unmapped first. */
static void test_fixed_shrink_across_vmas(void **state)
{
	(void)state;
	simmm_sim *sim = new_sim();
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = split_area(mm, AREA, 50), out = 0;

	/* the moved part itself crosses the VMA's end: -EFAULT, nothing changed */
	assert_int_equal(simmm_mremap(mm, a + 2 * PS, 6 * PS, 3 * PS,
				      SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED, FAR, &out),
			 -EFAULT);
	expect_unmapped(mm, FAR);
	expect_pages(mm, a, 7, 50);
	TU_ASSERT_OK(simmm_mremap(mm, a + 2 * PS, 6 * PS, 2 * PS,
				  SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED, FAR, &out));
	assert_int_equal(out, FAR);
	TU_CHECK(sim);
	expect_vma(mm, a, a, a + 2 * PS, a / PS);
	for (unsigned i = 2; i < 8; i++)
		expect_unmapped(mm, a + i * PS);
	expect_vma(mm, FAR, FAR, FAR + 2 * PS, (a + 2 * PS) / PS);
	expect_pages(mm, a, 2, 50);
	expect_pages(mm, FAR, 2, 52);
	assert_int_equal(mx_stats(mm).rss_anon, 4);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * Growing in place merges with the next VMA when the grown end reaches it
 * and they are compatible (vma_merge_extend()): A = [a, a + 4) and B =
 * [a + 6, a + 8) of one faulted VMA; A grown to 6 pages is one VMA with
 * B, its new pages zero, and rmap still finds every folio (reclaim swaps
 * them all out, they read back). Not reaching B, or B read-only: no merge.
 */
static void test_grow_merges_next(void **state)
{
	(void)state;
	for (int mode = 0; mode < 3; mode++) {
		simmm_sim *sim = new_sim();
		struct simmm_mm *mm = mx_mm(sim);
		simmm_addr_t a = mx_anon(mm, AREA, 8 * PS), out = 0;
		uint64_t idx = a / PS, got = 0;
		unsigned grow = mode == 1 ? 5 : 6;

		write_pages(mm, a, 8, 170);
		TU_ASSERT_OK(simmm_munmap(mm, a + 4 * PS, 2 * PS));
		if (mode == 2)
			TU_ASSERT_OK(simmm_mprotect(mm, a + 6 * PS, 2 * PS, SIMMM_PROT_READ));
		TU_CHECK(sim);
		TU_ASSERT_OK(simmm_mremap(mm, a, 4 * PS, grow * PS, 0, 0, &out));
		assert_int_equal(out, a);
		TU_CHECK(sim);
		if (mode == 0) {
			expect_vma(mm, a, a, a + 8 * PS, idx);
			assert_int_equal(nr_vmas(mm), 1);
		} else {
			expect_vma(mm, a, a, a + grow * PS, idx);
			expect_vma(mm, a + 6 * PS, a + 6 * PS, a + 8 * PS, idx + 6);
			assert_int_equal(nr_vmas(mm), 2);
		}
		mx_expect_zero(mm, a + 4 * PS);
		expect_pages(mm, a, 4, 170);
		expect_pages(mm, a + 6 * PS, 2, 176);
		TU_ASSERT_OK(simmm_reclaim(sim, 64, &got));
		TU_CHECK(sim);
		assert_int_equal(mx_stats(mm).rss_anon, 0);
		expect_pages(mm, a, 4, 170);
		expect_pages(mm, a + 6 * PS, 2, 176);
		finish(&sim, mm);
	}
}

/*
 * A never-faulted VMA grown up to a faulted one merges with it and
 * shares its anon_vma (the linear indexes continue): rmap finds the
 * faulted VMA's folios, and a page written in the grown part, through
 * the merged VMA. A shared file mapping grown up to a mapping of the same
 * file at the continuing offset merges; at another offset it does not.
 */
static void test_grow_merges_unfaulted_and_file(void **state)
{
	(void)state;
	simmm_sim *sim = new_sim();
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = NULL;
	simmm_addr_t a = mx_anon(mm, AREA, 2 * PS), b = mx_anon(mm, AREA + 4 * PS, 2 * PS), out = 0;
	simmm_addr_t c = 0, d = 0;
	int rw = SIMMM_PROT_READ | SIMMM_PROT_WRITE;
	uint64_t got = 0;

	write_pages(mm, b, 2, 180);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mremap(mm, a, 2 * PS, 4 * PS, 0, 0, &out));
	TU_CHECK(sim);
	expect_vma(mm, a, a, a + 6 * PS, a / PS);
	mx_write(mm, a + 3 * PS, 183);
	TU_ASSERT_OK(simmm_reclaim(sim, 64, &got));
	TU_CHECK(sim);
	assert_int_equal(mx_stats(mm).rss_anon, 0);
	assert_int_equal(mx_stats(mm).swap_ents, 3);
	expect_pages(mm, b, 2, 180);
	mx_expect(mm, a + 3 * PS, 183);

	TU_ASSERT_OK(simmm_file_create(sim, 16 * PS, 0, &f));
	TU_ASSERT_OK(simmm_mmap(mm, FAR, 2 * PS, rw, SIMMM_MAP_SHARED | SIMMM_MAP_FIXED, f, 0, &c));
	TU_ASSERT_OK(simmm_mmap(mm, FAR + 3 * PS, 2 * PS, rw, SIMMM_MAP_SHARED | SIMMM_MAP_FIXED,
				f, 3, &d));
	TU_ASSERT_OK(simmm_mmap(mm, FAR + 8 * PS, 2 * PS, rw, SIMMM_MAP_SHARED | SIMMM_MAP_FIXED,
				f, 12, &d));
	write_pages(mm, FAR + 3 * PS, 2, 190);
	TU_ASSERT_OK(simmm_mremap(mm, FAR, 2 * PS, 3 * PS, 0, 0, &out));
	TU_CHECK(sim);
	expect_vma(mm, FAR, FAR, FAR + 5 * PS, 0);
	TU_ASSERT_OK(simmm_mremap(mm, FAR, 5 * PS, 8 * PS, 0, 0, &out));
	TU_CHECK(sim);
	expect_vma(mm, FAR, FAR, FAR + 8 * PS, 0);
	expect_vma(mm, FAR + 8 * PS, FAR + 8 * PS, FAR + 10 * PS, 12);
	expect_pages(mm, FAR + 3 * PS, 2, 190);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * Locked VMAs: the growth is charged (locked_vm), populated, and merges
 * with a locked neighbour. A VM_MIXEDMAP mapping cannot grow in place:
 * vma_merge_new_range() merges no special VMA, so vma_merge_extend()
 * fails with -ENOMEM even with MREMAP_MAYMOVE; a DONTUNMAP move of a
 * VM_PFNMAP one is -EINVAL (check_prep_vma()).
 */
static void test_grow_locked_and_special(void **state)
{
	(void)state;
	simmm_sim *sim = new_sim();
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, AREA, 8 * PS), m = 0, out = 0;

	write_pages(mm, a, 8, 200);
	TU_ASSERT_OK(simmm_munmap(mm, a + 3 * PS, 2 * PS));
	TU_ASSERT_OK(simmm_mlock(mm, a, 3 * PS));
	TU_ASSERT_OK(simmm_mlock(mm, a + 5 * PS, 3 * PS));
	assert_int_equal(mx_stats(mm).locked_vm, 6);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mremap(mm, a, 3 * PS, 5 * PS, 0, 0, &out));
	TU_CHECK(sim);
	expect_vma(mm, a, a, a + 8 * PS, a / PS);
	assert_int_equal(mx_stats(mm).locked_vm, 8);
	assert_true(mx_tr(mm, a + 3 * PS).present);
	assert_true(mx_tr(mm, a + 4 * PS).present);
	expect_pages(mm, a + 5 * PS, 3, 205);

	m = mx_map(mm, FAR, 2 * PS, SIMMM_MAP_SHARED | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_MIXEDMAP);
	assert_int_equal(simmm_mremap(mm, m, 2 * PS, 3 * PS, 0, 0, &out), -ENOMEM);
	assert_int_equal(simmm_mremap(mm, m, 2 * PS, 3 * PS, SIMMM_MREMAP_MAYMOVE, 0, &out),
			 -ENOMEM);
	TU_CHECK(sim);
	expect_vma(mm, m, m, m + 2 * PS, m / PS);
	TU_ASSERT_OK(simmm_munmap(mm, m, 2 * PS));
	m = mx_map(mm, FAR, 2 * PS, SIMMM_MAP_SHARED | SIMMM_MAP_PFNMAP);
	assert_int_equal(simmm_mremap(mm, m, 2 * PS, 2 * PS,
				      SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_DONTUNMAP, 0, &out),
			 -EINVAL);
	TU_CHECK(sim);
	expect_vma(mm, m, m, m + 2 * PS, m / PS);
	finish(&sim, mm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anon_back_merges_prev),
		cmocka_unit_test(test_anon_back_merges_next_and_both),
		cmocka_unit_test(test_unfaulted_takes_new_index),
		cmocka_unit_test(test_faulted_onto_unfaulted),
		cmocka_unit_test(test_incompatible_no_merge),
		cmocka_unit_test(test_file_merges),
		cmocka_unit_test(test_dontunmap_merges),
		cmocka_unit_test(test_dontunmap_no_split),
		cmocka_unit_test(test_dontunmap_whole_unlinks_anon_vma),
		cmocka_unit_test(test_merge_with_self),
		cmocka_unit_test(test_merge_with_self_enomem),
		cmocka_unit_test(test_fresh_vma_moves_without_rmap_locks),
		cmocka_unit_test(test_shrink_across_vmas),
		cmocka_unit_test(test_fixed_shrink_across_vmas),
		cmocka_unit_test(test_grow_merges_next),
		cmocka_unit_test(test_grow_merges_unfaulted_and_file),
		cmocka_unit_test(test_grow_locked_and_special),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
