// SPDX-License-Identifier: MIT
/*
 * hugetlb: PMD and PUD mappings (x86_64-4level: 2M and 1G; arm64-64k-48:
 * 512M), private COW across fork, shared pages shared, no rss.
 */
#include "test_mm_ext_util.h"

#include <simmm/mmu_notifier.h>

#define HUGE(shift) (SIMMM_MAP_HUGETLB | ((shift) << SIMMM_MAP_HUGE_SHIFT))

static simmm_addr_t map_huge(struct simmm_mm *mm, uint64_t len, int flags)
{
	simmm_addr_t a = 0;

	TU_ASSERT_OK(simmm_mmap(mm, 0, len, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				flags | SIMMM_MAP_ANONYMOUS, NULL, 0, &a));
	return a;
}

static void check_private(const char *geo, uint64_t ram, unsigned shift, enum simmm_level lvl)
{
	simmm_sim *sim = mx_sim(geo, ram, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	uint64_t sz = 1ULL << shift, ps = simmm_sim_geometry(sim)->page_shift;
	simmm_addr_t a = map_huge(mm, sz, SIMMM_MAP_PRIVATE | HUGE(shift));

	ps = 1ULL << ps;
	assert_int_equal(a & (sz - 1), 0);
	mx_write(mm, a + 3 * ps, 3);
	TU_CHECK(sim);
	struct simmm_translation t = mx_tr(mm, a);
	assert_int_equal(t.level, lvl);
	assert_true(t.present && t.write);
	simmm_pfn_t head = simmm_pte_pfn(t.entry);
	assert_int_equal(mx_page(sim, head).order, shift - simmm_sim_geometry(sim)->page_shift);
	assert_int_equal(mx_page(sim, head).refcount, 1);
	assert_int_equal(mx_stats(mm).rss_anon, 0); /* HugetlbPages, not rss */
	assert_int_equal(mx_stats(mm).hugetlb_faults, 1);
	mx_expect(mm, a + 3 * ps, 3);
	/* fork: shared read-only, then COW of the whole huge page. */
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	assert_int_equal(simmm_pte_pfn(mx_tr(child, a).entry), head);
	mx_write(child, a, 4);
	TU_CHECK(sim);
	simmm_pfn_t copy = simmm_pte_pfn(mx_tr(child, a).entry);
	assert_int_not_equal(copy, head);
	assert_int_equal(mx_tr(child, a).level, lvl);
	mx_expect(child, a + 3 * ps, 3);
	mx_expect(child, a, 4);
	mx_expect_zero(mm, a);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_CHECK(sim);
	/* Alone again: the parent's write reuses its page, although a
	 * FOLL_GET reference is held on it (hugetlb_wp() goes by the
	 * mapcount alone, unlike do_wp_page()). */
	simmm_pfn_t got = 0;

	assert_false(simmm_pte_write(mx_tr(mm, a).entry));
	assert_int_equal(simmm_get_user_pages(mm, a, 1, 0, &got), 1);
	assert_int_equal(got, head);
	assert_int_equal(mx_page(sim, head).refcount, 2);
	mx_write(mm, a, 5);
	assert_int_equal(simmm_pte_pfn(mx_tr(mm, a).entry), head);
	assert_true(mx_tr(mm, a).write);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_put_user_pages(sim, &got, 1));
	assert_int_equal(mx_page(sim, head).refcount, 1);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_munmap(mm, a, sz));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_hugetlb_x86_2m(void **state)
{
	(void)state;
	check_private("x86_64-4level", 64 * MIB, 21, SIMMM_LVL_PMD);
}

static void test_hugetlb_x86_1g(void **state)
{
	(void)state;
	check_private("x86_64-4level", 4 * GIB, 30, SIMMM_LVL_PUD);
}

static void test_hugetlb_arm64_512m(void **state)
{
	(void)state;
	check_private("arm64-64k-48", 2 * GIB, 29, SIMMM_LVL_PMD);
}

static void test_hugetlb_shared(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = map_huge(mm, 4 * MIB, SIMMM_MAP_SHARED | HUGE(21));

	mx_write(mm, a, 1);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	mx_write(child, a + 2 * MIB, 2); /* faults the second page in the child */
	mx_write(child, a + PS, 3);
	TU_CHECK(sim);
	assert_int_equal(simmm_pte_pfn(mx_tr(child, a).entry), simmm_pte_pfn(mx_tr(mm, a).entry));
	mx_expect(mm, a + PS, 3);
	mx_expect(mm, a + 2 * MIB, 2);
	assert_int_equal(simmm_pte_pfn(mx_tr(child, a + 2 * MIB).entry),
			 simmm_pte_pfn(mx_tr(mm, a + 2 * MIB).entry));
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

static void test_hugetlb_no_memory(void **state)
{
	(void)state;
	/* 1 GiB pages on a 64 MiB machine: SIGBUS-like failure, or refused. */
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = 0;
	int rc = simmm_mmap(mm, 0, GIB, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
			    SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS | HUGE(30), NULL, 0, &a);

	if (rc == 0) {
		assert_int_equal(simmm_mm_access(mm, a, &a, 1, SIMMM_ACCESS_WRITE), -EFAULT);
		assert_int_equal(mx_stats(mm).sigbus, 1);
	} else {
		assert_true(rc == -EINVAL || rc == -ENOMEM);
	}
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* Records the events of the invalidations that cover a whole range. */
struct ev_rec {
	struct simmm_mmu_notifier mn; /* first */
	unsigned n, clear, unmap;
};

static int ev_start(struct simmm_mmu_notifier *mn, const struct simmm_mmu_notifier_range *r)
{
	struct ev_rec *x = (struct ev_rec *)mn;

	x->n++;
	x->clear += r->event == SIMMM_MMU_NOTIFY_CLEAR;
	x->unmap += r->event == SIMMM_MMU_NOTIFY_UNMAP;
	return 0;
}

static const struct simmm_mmu_notifier_ops ev_ops = {.invalidate_range_start = ev_start};

/*
 * mremap of a hugetlb VMA (5.16+, move_hugetlb_page_tables()): the huge
 * entries move whole, keeping their pages (no copy, same refcount and
 * mapcount), under an MMU_NOTIFY_CLEAR invalidation; a fork child that
 * shares the pages still reaches them through the rmap after the move
 * (its COW copies them); the old range is unmapped.
 */
static void test_hugetlb_mremap_move(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim("x86_64-4level", 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = map_huge(mm, 4 * MIB, SIMMM_MAP_PRIVATE | HUGE(21)), dst = a + 64 * MIB, got = 0;
	struct ev_rec x = {.mn = {.ops = &ev_ops}};
	struct simmm_vma_info vi;
	simmm_pfn_t p0, p1;

	mx_write(mm, a + PS, 1);
	mx_write(mm, a + 2 * MIB, 2);
	p0 = simmm_pte_pfn(mx_tr(mm, a).entry);
	p1 = simmm_pte_pfn(mx_tr(mm, a + 2 * MIB).entry);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	assert_int_equal(mx_page(sim, p0).refcount, 2); /* one per mapping */
	TU_ASSERT_OK(simmm_mmu_notifier_register(&x.mn, mm));
	TU_ASSERT_OK(simmm_mremap(mm, a, 4 * MIB, 4 * MIB,
				  SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED, dst, &got));
	TU_CHECK(sim);
	assert_int_equal(got, dst);
	/* The move's CLEAR (move_page_tables() would send UNMAP), then the
	 * old VMA's munmap (unmap_vmas(): UNMAP, although nothing is left). */
	assert_int_equal(x.n, 2);
	assert_int_equal(x.clear, 1);
	assert_int_equal(x.unmap, 1);
	/* The entries moved, pages and counts unchanged. */
	assert_int_equal(mx_tr(mm, dst).level, SIMMM_LVL_PMD);
	assert_int_equal(simmm_pte_pfn(mx_tr(mm, dst).entry), p0);
	assert_int_equal(simmm_pte_pfn(mx_tr(mm, dst + 2 * MIB).entry), p1);
	assert_int_equal(mx_page(sim, p0).refcount, 2);
	assert_int_equal(mx_page(sim, p1).refcount, 2);
	assert_int_equal(simmm_vma_info(mm, a, &vi), -ENOENT);
	TU_ASSERT_OK(simmm_vma_info(mm, dst, &vi));
	assert_int_equal(vi.end - vi.start, 4 * MIB);
	assert_int_equal(vi.hugetlb_order, 9);
	assert_true(vi.vm_flags & SIMMM_VM_HUGETLB);
	assert_true(vi.vm_flags & SIMMM_VM_DONTEXPAND); /* hugetlbfs_file_mmap() */
	mx_expect(mm, dst + PS, 1);
	mx_expect(mm, dst + 2 * MIB, 2);
	/* The parent's write at the new address copies (shared with the
	 * child); the child keeps the original page. */
	mx_write(mm, dst + PS, 3);
	TU_CHECK(sim);
	assert_int_not_equal(simmm_pte_pfn(mx_tr(mm, dst).entry), p0);
	assert_int_equal(simmm_pte_pfn(mx_tr(child, a).entry), p0);
	mx_expect(child, a + PS, 1);
	assert_int_equal(mx_page(sim, p0).refcount, 1);
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&x.mn, mm));
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * align_hugetlb()'s rules: lengths round up to the huge page size, both
 * addresses must be aligned to it (new_addr as passed, even without
 * MREMAP_FIXED), no growth; VM_DONTEXPAND refuses MREMAP_DONTUNMAP; a
 * shrink unmaps whole huge pages; a shrinking FIXED move takes whole huge
 * pages too.
 */
static void test_hugetlb_mremap_rules(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim("x86_64-4level", 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = map_huge(mm, 6 * MIB, SIMMM_MAP_PRIVATE | HUGE(21)), got = 0;
	simmm_addr_t far = a + 256 * MIB;
	const int mv = SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED;
	struct simmm_vma_info vi;

	for (unsigned i = 0; i < 3; i++)
		mx_write(mm, a + i * 2 * MIB, 10 + i);
	TU_CHECK(sim);
	assert_int_equal(simmm_mremap(mm, a + PS, 2 * MIB, 2 * MIB, mv, far, &got), -EINVAL);
	assert_int_equal(simmm_mremap(mm, a, 2 * MIB, 2 * MIB, mv, far + PS, &got), -EINVAL);
	assert_int_equal(simmm_mremap(mm, a, 6 * MIB, 8 * MIB, SIMMM_MREMAP_MAYMOVE, 0, &got),
			 -EINVAL); /* no growth */
	assert_int_equal(simmm_mremap(mm, a, 6 * MIB, 6 * MIB + PS, SIMMM_MREMAP_MAYMOVE, 0, &got),
			 -EINVAL); /* rounds up to 8M: growth */
	assert_int_equal(simmm_mremap(mm, a, 2 * MIB, 2 * MIB, SIMMM_MREMAP_MAYMOVE, PS, &got),
			 -EINVAL); /* new_addr checked without FIXED too */
	assert_int_equal(simmm_mremap(mm, a, 2 * MIB, 2 * MIB,
				      mv | SIMMM_MREMAP_DONTUNMAP, far, &got), -EINVAL);
	TU_CHECK(sim);
	/* 6M -> 4M + 1 byte rounds up to 6M: nothing to do. */
	TU_ASSERT_OK(simmm_mremap(mm, a, 6 * MIB, 4 * MIB + 1, 0, 0, &got));
	assert_int_equal(got, a);
	TU_ASSERT_OK(simmm_vma_info(mm, a, &vi));
	assert_int_equal(vi.end - vi.start, 6 * MIB);
	/* A shrink to 3M rounds to 4M: the last huge page goes. */
	TU_ASSERT_OK(simmm_mremap(mm, a, 6 * MIB, 3 * MIB, 0, 0, &got));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_vma_info(mm, a, &vi));
	assert_int_equal(vi.end, a + 4 * MIB);
	assert_int_equal(mx_tr(mm, a + 4 * MIB).entry, 0);
	assert_int_equal(mx_stats(mm).hugetlb_faults, 3);
	/* A shrinking FIXED move of the second huge page alone (old_len
	 * rounds 1M + 1 up to 2M). */
	TU_ASSERT_OK(simmm_mremap(mm, a + 2 * MIB, MIB + 1, 2 * MIB, mv, far, &got));
	TU_CHECK(sim);
	assert_int_equal(got, far);
	mx_expect(mm, far, 11);
	mx_expect(mm, a, 10);
	TU_ASSERT_OK(simmm_vma_info(mm, a, &vi));
	assert_int_equal(vi.end, a + 2 * MIB);
	/* The first huge page moves next to it, contents kept. */
	TU_ASSERT_OK(simmm_mremap(mm, a, 2 * MIB, 2 * MIB, SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED,
				  far + 4 * MIB, &got));
	TU_CHECK(sim);
	mx_expect(mm, far + 4 * MIB, 10);
	assert_int_equal(mx_stats(mm).hugetlb_faults, 3); /* nothing faulted again */
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * MADV_DONTNEED of hugetlb VMAs (madvise_dontneed_free_valid_vma(), 5.18+;
 * fuzz_mm_ops finding 21): whole huge pages from a huge-page boundary, the
 * end rounded down; a start inside a huge page is -EINVAL; a private page
 * is freed (zeros after), a shared one stays in the pool (its contents
 * after). FREE, COLD and PAGEOUT stay refused.
 */
static void test_hugetlb_dontneed(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim("x86_64-4level", 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = map_huge(mm, 6 * MIB, SIMMM_MAP_PRIVATE | HUGE(21));
	simmm_addr_t sh = map_huge(mm, 2 * MIB, SIMMM_MAP_SHARED | HUGE(21));
	static const int refused[] = {SIMMM_MADV_FREE, SIMMM_MADV_COLD, SIMMM_MADV_PAGEOUT};
	simmm_pfn_t p1, psh;

	for (unsigned i = 0; i < 3; i++)
		mx_write(mm, a + i * 2 * MIB + PS, 10 + i);
	mx_write(mm, sh + PS, 7);
	p1 = simmm_pte_pfn(mx_tr(mm, a + 2 * MIB).entry);
	psh = simmm_pte_pfn(mx_tr(mm, sh).entry);
	TU_CHECK(sim);
	/* From inside a huge page: refused, nothing zapped. */
	assert_int_equal(simmm_madvise(mm, a + PS, 2 * MIB, SIMMM_MADV_DONTNEED), -EINVAL);
	for (unsigned k = 0; k < 3; k++)
		assert_int_equal(simmm_madvise(mm, a, 2 * MIB, refused[k]), -EINVAL);
	TU_CHECK(sim);
	assert_true(mx_tr(mm, a).present);
	/* Less than a huge page: rounds down to nothing. */
	TU_ASSERT_OK(simmm_madvise(mm, a, 2 * MIB - PS, SIMMM_MADV_DONTNEED));
	assert_true(mx_tr(mm, a).present);
	mx_expect(mm, a + PS, 10);
	/* [a, a + 4M + 1 page): the first two huge pages go, the third stays. */
	TU_ASSERT_OK(simmm_madvise(mm, a, 4 * MIB + PS, SIMMM_MADV_DONTNEED));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, a).entry, 0);
	assert_int_equal(mx_tr(mm, a + 2 * MIB).entry, 0);
	assert_int_equal(mx_page(sim, p1).refcount, 0); /* freed */
	assert_true(mx_tr(mm, a + 4 * MIB).present);
	mx_expect(mm, a + 4 * MIB + PS, 12);
	mx_expect_zero(mm, a + PS);         /* a new, zeroed huge page */
	mx_expect_zero(mm, a + 2 * MIB + PS);
	/* Shared: the entry goes, the page stays in the pool. */
	TU_ASSERT_OK(simmm_madvise(mm, sh, 2 * MIB, SIMMM_MADV_DONTNEED));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, sh).entry, 0);
	mx_expect(mm, sh + PS, 7);
	assert_int_equal(simmm_pte_pfn(mx_tr(mm, sh).entry), psh);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/*
 * mremap() to the same size without MREMAP_FIXED / DONTUNMAP does nothing
 * (mremap_at(): MREMAP_NO_RESIZE), wherever its range ends: no split of
 * the VMA there, and no -EINVAL when the end falls inside a huge page of a
 * hugetlb VMA (fuzz_mm_ops finding 22). A hugetlb range that rounds up to
 * its own length is the same size too.
 */
static void test_mremap_same_size_noop(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim("x86_64-4level", 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = map_huge(mm, 4 * MIB, SIMMM_MAP_PRIVATE | HUGE(21)), got = 0;
	simmm_addr_t below = mx_anon(mm, a - 2 * PS, 2 * PS), b;
	struct simmm_vma_info vi, before;

	mx_write(mm, below + PS, 1);
	mx_write(mm, a + PS, 2);
	/* [a - 2 pages, a + 1 page): ends inside the first huge page */
	TU_ASSERT_OK(simmm_mremap(mm, below, 3 * PS, 3 * PS, 0, 0, &got));
	TU_CHECK(sim);
	assert_int_equal(got, below);
	TU_ASSERT_OK(simmm_vma_info(mm, a, &vi));
	assert_int_equal(vi.start, a);
	assert_int_equal(vi.end, a + 4 * MIB);
	mx_expect(mm, a + PS, 2);
	mx_expect(mm, below + PS, 1);
	/* 3 MiB of the 4 MiB hugetlb VMA rounds up to 4 MiB: nothing, no split */
	TU_ASSERT_OK(simmm_mremap(mm, a, 3 * MIB, 3 * MIB + PS, 0, a, &got));
	TU_ASSERT_OK(simmm_vma_info(mm, a, &vi));
	assert_int_equal(vi.end, a + 4 * MIB);
	/* A plain VMA is not split at the range's end. */
	b = mx_anon(mm, 0, 8 * PS);
	TU_ASSERT_OK(simmm_vma_info(mm, b, &before));
	TU_ASSERT_OK(simmm_mremap(mm, b, 3 * PS, 3 * PS, 0, 0, &got));
	TU_ASSERT_OK(simmm_vma_info(mm, b, &vi));
	assert_int_equal(vi.start, before.start);
	assert_int_equal(vi.end, before.end);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/*
 * Two write faults on one private huge page that fork shares, each
 * breaking COW (hugetlb_wp()), while an interval notifier sleeps in its
 * invalidation (a mutex a third task holds over some yields): the first
 * copies and waits in the notifier, the second copies and waits too.
 * Upstream retakes the page-table lock and tests pte_same() before it
 * replaces the entry, so the one that wakes second finds the first one's
 * copy, drops its own and refaults (the page is then exclusive: reused).
 * Without the test the second copy replaced the first (its write lost,
 * the copy leaked) and the original lost a second reference: freed while
 * the child mapped it. (fuzz_races' Z ops found it: a device fault-write
 * through hmm_range_fault() racing a CPU write after a fork.)
 */
struct wp_race {
	struct simmm_mmu_interval_notifier mn; /* first */
	struct simmm_mutex lock;
	simmm_sim *sim;
	struct simmm_mm *mm;
	simmm_addr_t a;
	uint64_t ps;
	int rc[2];
};

static bool wp_invalidate(struct simmm_mmu_interval_notifier *sub,
			  const struct simmm_mmu_notifier_range *r, uint64_t seq)
{
	struct wp_race *w = (struct wp_race *)sub;

	if (!simmm_mmu_notifier_range_blockable(r))
		return false;
	assert_int_equal(simmm_mutex_lock(w->sim, &w->lock), 0);
	simmm_mmu_interval_set_seq(sub, seq);
	simmm_mutex_unlock(w->sim, &w->lock);
	return true;
}

static const struct simmm_mmu_interval_notifier_ops wp_ops = {.invalidate = wp_invalidate};

static void wp_holder(simmm_sim *sim, void *arg)
{
	struct wp_race *w = arg;

	assert_int_equal(simmm_mutex_lock(sim, &w->lock), 0);
	for (int i = 0; i < 8; i++)
		simmm_sched_yield(sim);
	simmm_mutex_unlock(sim, &w->lock);
}

static void wp_writer(simmm_sim *sim, void *arg)
{
	struct wp_race *w = arg;
	unsigned k = simmm_sched_current(sim) == 2 ? 0 : 1; /* ids: holder 1, writers 2, 3 */
	uint8_t v = (uint8_t)(0x50 + k);

	w->rc[k] = simmm_mm_access(w->mm, w->a + k * w->ps, &v, 1, SIMMM_ACCESS_WRITE);
}

/* The holder and the two writers of @w's huge page of @sz bytes, run to
 * the end with the interval notifier in place. */
static void wp_race_run(struct wp_race *w, uint64_t sz)
{
	simmm_mutex_init(&w->lock, "wp_race");
	TU_ASSERT_OK(simmm_mmu_interval_notifier_insert(&w->mn, w->mm, w->a, sz, &wp_ops));
	assert_int_equal(simmm_sched_spawn(w->sim, "holder", wp_holder, w), 1);
	assert_int_equal(simmm_sched_spawn(w->sim, "writer0", wp_writer, w), 2);
	assert_int_equal(simmm_sched_spawn(w->sim, "writer1", wp_writer, w), 3);
	assert_int_equal(simmm_sched_run(w->sim, 100000), SIMMM_SCHED_DONE);
}

/* Both writes landed in the parent's one copy (one COW), the child keeps
 * the original's first page; then everything goes. */
static void wp_race_finish(struct wp_race *w, struct simmm_mm *child)
{
	uint8_t v;

	assert_int_equal(mx_stats(w->mm).cow_faults, 1);
	TU_ASSERT_OK(simmm_mm_access(w->mm, w->a, &v, 1, SIMMM_ACCESS_READ));
	assert_int_equal(v, 0x50);
	TU_ASSERT_OK(simmm_mm_access(w->mm, w->a + w->ps, &v, 1, SIMMM_ACCESS_READ));
	assert_int_equal(v, 0x51);
	mx_expect(child, w->a, 3);
	TU_CHECK(w->sim);
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&w->mn));
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(w->mm));
	tu_sim_free(&w->sim);
}

static void test_hugetlb_wp_race(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim("x86_64-4level", 2560 * 4096ULL, 0);
	struct wp_race w = {.sim = sim, .mm = mx_mm(sim)};
	struct simmm_mm *child = NULL;
	uint64_t sz = 2ULL << 20;

	w.ps = 1ULL << simmm_sim_geometry(sim)->page_shift;
	w.a = map_huge(w.mm, sz, SIMMM_MAP_PRIVATE | HUGE(21));
	mx_write(w.mm, w.a, 3);
	mx_write(w.mm, w.a + w.ps, 4);
	simmm_pfn_t head = simmm_pte_pfn(mx_tr(w.mm, w.a).entry);
	TU_ASSERT_OK(simmm_fork(w.mm, &child));
	wp_race_run(&w, sz);
	assert_int_equal(w.rc[0], 0);
	assert_int_equal(w.rc[1], 0);
	TU_CHECK(sim);
	/* the parent: one copy with both writes; the child: the original */
	simmm_pfn_t copy = simmm_pte_pfn(mx_tr(w.mm, w.a).entry);
	assert_int_not_equal(copy, head);
	assert_int_equal(mx_page(sim, copy).refcount, 1);
	assert_int_equal(mx_page(sim, head).refcount, 1);
	assert_int_equal(simmm_pte_pfn(mx_tr(child, w.a).entry), head);
	mx_expect(child, w.a + w.ps, 4);
	wp_race_finish(&w, child);
}

/*
 * The fault mutex against spurious SIGBUS (hugetlb_fault()'s reason for
 * it): the same two writers of a COW-shared huge page, with exactly one
 * huge page left free. The first copies into it and sleeps in the
 * notifiers holding the page's fault mutex; the second waits for the
 * mutex and then finds the entry writable. Without the mutex the second
 * would also try to copy, find no huge page and get SIGBUS.
 */
static void test_hugetlb_fault_mutex_cow(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim("x86_64-4level", 2560 * 4096ULL, 0);
	struct wp_race w = {.sim = sim, .mm = mx_mm(sim)};
	struct simmm_mm *child = NULL;
	uint64_t sz = 2ULL << 20;
	simmm_addr_t b;
	unsigned n = 0;
	uint8_t v = 1;

	w.ps = 1ULL << simmm_sim_geometry(sim)->page_shift;
	w.a = map_huge(w.mm, sz, SIMMM_MAP_PRIVATE | HUGE(21));
	mx_write(w.mm, w.a, 3);
	TU_ASSERT_OK(simmm_fork(w.mm, &child));
	/* use up the huge pages, then give exactly one back */
	b = map_huge(w.mm, 8 * sz, SIMMM_MAP_PRIVATE | HUGE(21));
	while (n < 8 && simmm_mm_access(w.mm, b + n * sz, &v, 1, SIMMM_ACCESS_WRITE) == 0)
		n++;
	assert_true(n >= 1 && n < 8);
	TU_ASSERT_OK(simmm_munmap(w.mm, b + (n - 1) * sz, sz));
	TU_CHECK(sim);
	wp_race_run(&w, sz);
	TU_CHECK(sim);
	assert_int_equal(w.rc[0], 0);
	assert_int_equal(w.rc[1], 0);
	wp_race_finish(&w, child);
}

/* ksys_mmap_pgoff(): MAP_HUGETLB with a file that is not on hugetlbfs is
 * -EINVAL (simmm has no hugetlbfs, so any file), before MAP_FIXED unmaps
 * anything and before the read-only file's -EACCES. Anonymous MAP_HUGETLB,
 * private or shared, still maps. */
static void test_hugetlb_file_einval(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *reg = NULL, *shm = NULL, *ro = NULL;
	const int rw = SIMMM_PROT_READ | SIMMM_PROT_WRITE;
	simmm_addr_t a = 0, out = 0;

	TU_ASSERT_OK(simmm_file_create(sim, 4 * MIB, 0, &reg));
	TU_ASSERT_OK(simmm_file_create(sim, 4 * MIB, SIMMM_FILE_SHMEM, &shm));
	TU_ASSERT_OK(simmm_file_create(sim, 4 * MIB, SIMMM_FILE_RDONLY, &ro));
	struct simmm_file *files[] = {reg, shm};

	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(simmm_mmap(mm, 0, 2 * MIB, rw, SIMMM_MAP_PRIVATE | HUGE(21),
					    files[i], 0, &out), -EINVAL);
		assert_int_equal(simmm_mmap(mm, 0, 2 * MIB, rw, SIMMM_MAP_SHARED | HUGE(21),
					    files[i], 0, &out), -EINVAL);
		assert_int_equal(simmm_mmap(mm, 0, 2 * MIB, rw, SIMMM_MAP_SHARED | HUGE(0),
					    files[i], 0, &out), -EINVAL);
		TU_CHECK(sim);
	}
	assert_int_equal(simmm_mmap(mm, 0, 2 * MIB, rw, SIMMM_MAP_SHARED | HUGE(21), ro, 0, &out),
			 -EINVAL);
	assert_int_equal(mx_stats(mm).nr_vmas, 0);
	/* MAP_FIXED over a mapping: refused before the old one is unmapped. */
	a = map_huge(mm, 2 * MIB, SIMMM_MAP_SHARED | HUGE(21));
	mx_write(mm, a + PS, 7);
	assert_int_equal(simmm_mmap(mm, a, 2 * MIB, rw, SIMMM_MAP_SHARED | SIMMM_MAP_FIXED | HUGE(21),
				    reg, 0, &out), -EINVAL);
	TU_CHECK(sim);
	mx_expect(mm, a + PS, 7);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PMD);
	assert_int_equal(mx_stats(mm).nr_vmas, 1);
	/* Without MAP_HUGETLB the same file maps. */
	TU_ASSERT_OK(simmm_mmap(mm, 0, 2 * MIB, rw, SIMMM_MAP_SHARED, reg, 0, &out));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_file_put(reg));
	TU_ASSERT_OK(simmm_file_put(shm));
	TU_ASSERT_OK(simmm_file_put(ro));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hugetlb_x86_2m),
		cmocka_unit_test(test_hugetlb_x86_1g),
		cmocka_unit_test(test_hugetlb_arm64_512m),
		cmocka_unit_test(test_hugetlb_shared),
		cmocka_unit_test(test_hugetlb_no_memory),
		cmocka_unit_test(test_hugetlb_mremap_move),
		cmocka_unit_test(test_hugetlb_mremap_rules),
		cmocka_unit_test(test_hugetlb_dontneed),
		cmocka_unit_test(test_mremap_same_size_noop),
		cmocka_unit_test(test_hugetlb_wp_race),
		cmocka_unit_test(test_hugetlb_fault_mutex_cow),
		cmocka_unit_test(test_hugetlb_file_einval),
	};
	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
