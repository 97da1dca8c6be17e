// SPDX-License-Identifier: MIT
/*
 * hmm_range_fault(): one test per walk rule of the kernel's mm/hmm.c, run on
 * x86-64 4-level, x86-64 5-level and arm64 64K (3-level) geometries; flags
 * and errors asserted exactly. The concurrent-invalidation test lives in
 * test_hmm_race.c.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include <simmm/hmm.h>
#include "mm/mm.h"

#define V SIMMM_HMM_PFN_VALID
#define W SIMMM_HMM_PFN_WRITE
#define E SIMMM_HMM_PFN_ERROR
#define RF SIMMM_HMM_PFN_REQ_FAULT
#define RW SIMMM_HMM_PFN_REQ_WRITE

struct fx {
	struct simmm_mmu_interval_notifier mn; /* first: container_of by cast */
	simmm_sim *sim;
	struct simmm_mm *mm;
	uint64_t psize;
	uint64_t invalidations;
};

static bool fx_invalidate(struct simmm_mmu_interval_notifier *sub,
			  const struct simmm_mmu_notifier_range *r, uint64_t cur_seq)
{
	struct fx *f = (struct fx *)sub;
	(void)r;
	simmm_mmu_interval_set_seq(sub, cur_seq);
	f->invalidations++;
	return true;
}

static const struct simmm_mmu_interval_notifier_ops fx_ops = {.invalidate = fx_invalidate};

static struct fx *fx_new(const char *geometry)
{
	struct fx *f = calloc(1, sizeof(*f));
	simmm_config cfg;
	simmm_config_init(&cfg);
	cfg.geometry = geometry;
	cfg.ram_bytes = 4ULL << 30;
	cfg.seed = tu_seed();
	f->sim = tu_sim_new_cfg(&cfg);
	f->psize = 1ULL << simmm_sim_geometry(f->sim)->page_shift;
	TU_ASSERT_OK(simmm_mm_create(f->sim, &f->mm));
	uint64_t top = simmm_sim_geometry(f->sim)->user_va_end;
	TU_ASSERT_OK(simmm_mmu_interval_notifier_insert(&f->mn, f->mm, 0, top - f->psize, &fx_ops));
	return f;
}

static void fx_free(struct fx *f)
{
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&f->mn));
	TU_ASSERT_OK(simmm_mmput(f->mm));
	tu_sim_free(&f->sim);
	free(f);
}

static uint64_t fx_map(struct fx *f, uint64_t npages, int prot, int flags)
{
	simmm_addr_t a;
	TU_ASSERT_OK(simmm_mmap(f->mm, 0, npages * f->psize, prot,
				flags ? flags : SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS, NULL, 0, &a));
	return a;
}

/* The driver loop: read_begin, lock, fault, unlock, retried on -EBUSY a
 * bounded number of times. A fault that changes a present pte (breaking the
 * zero page or COW) invalidates the range, so the first pass of a write
 * fault legitimately ends in -EBUSY, exactly as with the kernel. */
static int fx_hmm(struct fx *f, uint64_t start, uint64_t npages, uint64_t dflags, uint64_t mask,
		  uint64_t *pfns)
{
	struct simmm_hmm_range r = {
		.notifier = &f->mn, .start = start, .end = start + npages * f->psize,
		.hmm_pfns = pfns, .default_flags = dflags, .pfn_flags_mask = mask,
	};
	uint64_t *in = malloc(npages * sizeof(*in));
	int ret = -EBUSY;

	memcpy(in, pfns, npages * sizeof(*in));
	for (int tries = 0; tries < 8 && ret == -EBUSY; tries++) {
		memcpy(pfns, in, npages * sizeof(*in)); /* inputs again */
		r.notifier_seq = simmm_mmu_interval_read_begin(&f->mn);
		TU_ASSERT_OK(simmm_mmap_read_lock(f->mm));
		ret = simmm_hmm_range_fault(&r);
		TU_ASSERT_OK(simmm_mmap_read_unlock(f->mm));
	}
	free(in);
	return ret;
}

static simmm_entry_t *fx_slot(struct fx *f, uint64_t addr, enum simmm_level lvl)
{
	simmm_entry_t *slot = NULL;
	TU_ASSERT_OK(simmm_pgtable_alloc_level(simmm_mm_pgtable(f->mm), addr, lvl, &slot));
	return slot;
}

#define GEO (*(const char **)*state)

/* Holes outside VMAs are ERROR (or -EFAULT when a fault is needed); none
 * entries inside a VMA are 0 or faulted; read faults map the zero page. */
static void holes_none_and_zero_page(void **state)
{
	struct fx *f = fx_new(GEO);
	uint64_t a = fx_map(f, 16, SIMMM_PROT_READ | SIMMM_PROT_WRITE, 0);
	uint64_t pfns[32] = {0};
	struct simmm_mm_stats st;

	TU_ASSERT_OK(simmm_munmap(f->mm, a + 12 * f->psize, 4 * f->psize)); /* hole after 12 */
	assert_int_equal(fx_hmm(f, a, 16, 0, 0, pfns), 0);
	for (int i = 0; i < 12; i++)
		assert_int_equal(pfns[i], 0);
	for (int i = 12; i < 16; i++)
		assert_int_equal(pfns[i], E);
	TU_CHECK(f->sim);
	/* A fault needed in the hole: -EFAULT; the pages before it were
	 * faulted and output, the walk stopped at the hole. */
	memset(pfns, 0, sizeof(pfns));
	assert_int_equal(fx_hmm(f, a, 16, RF, 0, pfns), -EFAULT);
	TU_CHECK(f->sim);
	/* Read faults on anonymous memory map the shared zero page. */
	memset(pfns, 0, sizeof(pfns));
	assert_int_equal(fx_hmm(f, a, 12, RF, 0, pfns), 0);
	for (int i = 0; i < 12; i++)
		assert_int_equal(pfns[i], V | simmm_zero_pfn(f->sim));
	TU_ASSERT_OK(simmm_mm_stats(f->mm, &st));
	assert_int_equal(st.zero_faults, 12);
	/* Write faults replace the zero page with fresh pages. */
	assert_int_equal(fx_hmm(f, a, 12, RF | RW, 0, pfns), 0);
	for (int i = 0; i < 12; i++) {
		assert_int_equal(pfns[i] & SIMMM_HMM_PFN_FLAGS, V | W);
		assert_int_not_equal(simmm_hmm_pfn_to_pfn(pfns[i]), simmm_zero_pfn(f->sim));
		for (int j = 0; j < i; j++)
			assert_int_not_equal(pfns[i], pfns[j]);
	}
	TU_CHECK(f->sim);
	fx_free(f);
}

/* Per-page requests: req = (in & pfn_flags_mask) | default_flags, and a
 * fault covers every page from the first that needs one to the end of the
 * PMD range, as hmm_vma_fault() does. */
static void per_page_requests(void **state)
{
	struct fx *f = fx_new(GEO);
	uint64_t a = fx_map(f, 8, SIMMM_PROT_READ | SIMMM_PROT_WRITE, 0);
	uint64_t pfns[8] = {0};

	/* (default | mask) without REQ_FAULT: per-page REQ_FAULT is ignored. */
	for (int i = 0; i < 8; i++)
		pfns[i] = RF;
	assert_int_equal(fx_hmm(f, a, 8, 0, 0, pfns), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(pfns[i], 0);
	/* REQ_WRITE on page 3 masked out: read faults only. */
	memset(pfns, 0, sizeof(pfns));
	pfns[3] = RW;
	assert_int_equal(fx_hmm(f, a, 8, RF, 0, pfns), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(pfns[i], V | simmm_zero_pfn(f->sim));
	/* With the mask: page 3 needs a write fault, and so the write fault
	 * covers pages 3..7; pages 0..2 stay the read-only zero page. */
	memset(pfns, 0, sizeof(pfns));
	pfns[3] = RF | RW;
	assert_int_equal(fx_hmm(f, a, 8, 0, RF | RW, pfns), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pfns[i], V | simmm_zero_pfn(f->sim));
	for (int i = 3; i < 8; i++)
		assert_int_equal(pfns[i] & SIMMM_HMM_PFN_FLAGS, V | W);
	TU_CHECK(f->sim);
	fx_free(f);
}

/* DMA_MAPPED / P2PDMA / P2PDMA_BUS survive from input to output. */
static void sticky_flags(void **state)
{
	struct fx *f = fx_new(GEO);
	uint64_t a = fx_map(f, 4, SIMMM_PROT_READ | SIMMM_PROT_WRITE, 0);
	uint64_t pfns[6];
	uint64_t sticky = SIMMM_HMM_PFN_DMA_MAPPED | SIMMM_HMM_PFN_P2PDMA_BUS;

	TU_ASSERT_OK(simmm_munmap(f->mm, a + 3 * f->psize, f->psize));
	for (int i = 0; i < 4; i++)
		pfns[i] = sticky | SIMMM_HMM_PFN_P2PDMA | 0x1234;
	assert_int_equal(fx_hmm(f, a, 2, RF, 0, pfns), 0);
	assert_int_equal(pfns[0], sticky | SIMMM_HMM_PFN_P2PDMA | V | simmm_zero_pfn(f->sim));
	assert_int_equal(fx_hmm(f, a + 2 * f->psize, 2, 0, 0, pfns + 2), 0);
	assert_int_equal(pfns[2], sticky | SIMMM_HMM_PFN_P2PDMA);     /* none: 0 + sticky */
	assert_int_equal(pfns[3], sticky | SIMMM_HMM_PFN_P2PDMA | E); /* hole */
	fx_free(f);
}

/* VMAs without VM_READ, and VM_PFNMAP/VM_IO: ERROR, or -EFAULT to fault;
 * a write fault on a VMA without VM_WRITE: -EPERM. */
static void vma_permissions(void **state)
{
	struct fx *f = fx_new(GEO);
	uint64_t a = fx_map(f, 4, SIMMM_PROT_READ | SIMMM_PROT_WRITE, 0);
	uint64_t pfns[4] = {0};

	TU_ASSERT_OK(simmm_mprotect(f->mm, a, 4 * f->psize, SIMMM_PROT_NONE));
	assert_int_equal(fx_hmm(f, a, 4, 0, 0, pfns), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pfns[i], E);
	assert_int_equal(fx_hmm(f, a, 4, RF, 0, pfns), -EFAULT);
	TU_ASSERT_OK(simmm_mprotect(f->mm, a, 4 * f->psize, SIMMM_PROT_READ));
	assert_int_equal(fx_hmm(f, a, 4, RF | RW, 0, pfns), -EPERM);
	assert_int_equal(fx_hmm(f, a, 4, RF, 0, pfns), 0);
	assert_int_equal(pfns[0], V | simmm_zero_pfn(f->sim));
	TU_CHECK(f->sim);

	uint64_t p = fx_map(f, 2, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
			    SIMMM_MAP_SHARED | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_PFNMAP);
	assert_int_equal(fx_hmm(f, p, 2, 0, 0, pfns), 0);
	assert_int_equal(pfns[0], E);
	assert_int_equal(pfns[1], E);
	assert_int_equal(fx_hmm(f, p, 2, RF, 0, pfns), -EFAULT);
	TU_CHECK(f->sim);
	fx_free(f);
}

/* Special ptes (no struct page behind them) in a MIXEDMAP VMA are ERROR
 * (-EFAULT if a fault is needed); vm_insert_page'd pages are normal. */
static void special_and_mixedmap(void **state)
{
	struct fx *f = fx_new(GEO);
	uint64_t a = fx_map(f, 2, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
			    SIMMM_MAP_SHARED | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_MIXEDMAP);
	uint64_t pfns[2] = {0};
	simmm_pfn_t pfn;

	TU_ASSERT_OK(simmm_page_alloc(f->sim, 0, &pfn));
	TU_ASSERT_OK(simmm__vm_insert_page(simmm__vma_lookup(f->mm, a), a, pfn));
	assert_int_equal(simmm_page_put(f->sim, pfn), 1); /* the mapping holds one */
	*fx_slot(f, a + f->psize, SIMMM_LVL_PTE) =
		simmm_pte_mkspecial(simmm_mk_entry(0x7777, SIMMM_PAGE_READONLY));
	assert_int_equal(fx_hmm(f, a, 2, 0, 0, pfns), 0);
	assert_int_equal(pfns[0] & SIMMM_HMM_PFN_FLAGS, V | W);
	assert_int_equal(simmm_hmm_pfn_to_pfn(pfns[0]), pfn);
	assert_int_equal(pfns[1], E);
	assert_int_equal(fx_hmm(f, a, 2, RF, 0, pfns), -EFAULT);
	*fx_slot(f, a + f->psize, SIMMM_LVL_PTE) = 0;
	TU_CHECK(f->sim);
	fx_free(f);
}

/* Non-present ptes: hwpoison and poison/guard markers are 0 without a
 * fault request and -EFAULT with one; a uffd-wp marker is none. */
static void poison_and_markers(void **state)
{
	struct fx *f = fx_new(GEO);
	uint64_t a = fx_map(f, 3, SIMMM_PROT_READ | SIMMM_PROT_WRITE, 0);
	uint64_t pfns[3] = {0};

	*fx_slot(f, a, SIMMM_LVL_PTE) = simmm_make_hwpoison_entry(0x42);
	*fx_slot(f, a + f->psize, SIMMM_LVL_PTE) = simmm_make_poisoned_swp_entry();
	*fx_slot(f, a + 2 * f->psize, SIMMM_LVL_PTE) = simmm_make_guard_swp_entry();
	assert_int_equal(fx_hmm(f, a, 3, 0, 0, pfns), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pfns[i], 0);
	assert_int_equal(fx_hmm(f, a, 1, RF, 0, pfns), -EFAULT);
	assert_int_equal(fx_hmm(f, a + f->psize, 1, RF, 0, pfns), -EFAULT);
	assert_int_equal(fx_hmm(f, a + 2 * f->psize, 1, RF, 0, pfns), -EFAULT);
	for (int i = 0; i < 3; i++)
		*fx_slot(f, a + i * f->psize, SIMMM_LVL_PTE) = 0;
	TU_CHECK(f->sim);
	fx_free(f);
}

/* Swap entries: 0 without a fault request; with one, the fault swaps the
 * page in (a major fault) and the walk reports it. */
static void swap_entries(void **state)
{
	struct fx *f = fx_new(GEO);
	uint64_t a = fx_map(f, 2, SIMMM_PROT_READ | SIMMM_PROT_WRITE, 0);
	uint64_t pfns[2] = {0}, got = 0;
	struct simmm_translation t;
	struct simmm_mm_stats st;
	char buf[8];

	TU_ASSERT_OK(simmm_mm_access(f->mm, a, "swapme", 7, SIMMM_ACCESS_WRITE));
	TU_ASSERT_OK(simmm_reclaim(f->sim, 64, &got));
	TU_ASSERT_OK(simmm_pgtable_translate(simmm_mm_pgtable(f->mm), a, &t));
	assert_true(simmm_is_swap_pte(t.entry) && !simmm_non_swap_entry(t.entry));
	assert_int_equal(fx_hmm(f, a, 2, 0, 0, pfns), 0);
	assert_int_equal(pfns[0], 0);
	assert_int_equal(fx_hmm(f, a, 1, RF, 0, pfns), 0);
	assert_int_equal(pfns[0] & SIMMM_HMM_PFN_FLAGS & ~W, V);
	TU_ASSERT_OK(simmm_mm_stats(f->mm, &st));
	assert_int_equal(st.major_faults, 1);
	assert_int_equal(st.swapin_faults, 1);
	TU_ASSERT_OK(simmm_mm_access(f->mm, a, buf, 7, SIMMM_ACCESS_READ));
	assert_string_equal(buf, "swapme");
	TU_CHECK(f->sim);
	fx_free(f);
}

/* A migration entry: snapshot 0; a needed fault waits for the migration,
 * and outside a task (nothing can finish it) the walk gives -EBUSY. */
static void migration_entry_no_task(void **state)
{
	struct fx *f = fx_new(GEO);
	uint64_t a = fx_map(f, 2, SIMMM_PROT_READ | SIMMM_PROT_WRITE, 0);
	uint64_t pfns[2] = {0};

	*fx_slot(f, a, SIMMM_LVL_PTE) = simmm_make_writable_migration_entry(0x55);
	assert_int_equal(fx_hmm(f, a, 2, 0, 0, pfns), 0);
	assert_int_equal(pfns[0], 0);
	assert_int_equal(fx_hmm(f, a, 2, RF, 0, pfns), -EBUSY);
	*fx_slot(f, a, SIMMM_LVL_PTE) = 0;
	TU_CHECK(f->sim);
	fx_free(f);
}

/* Inside tasks the fault waits on the migration entry and continues once
 * the migrating task restores the pte. */
struct mig_scene {
	struct fx *f;
	uint64_t a;
	simmm_pfn_t pfn;
	simmm_entry_t orig;
	int hmm_ret;
	uint64_t pfns[1];
	bool restored;
};

static void migrator(simmm_sim *sim, void *arg)
{
	struct mig_scene *s = arg;
	for (int i = 0; i < 5; i++)
		simmm_sched_yield(sim);
	*fx_slot(s->f, s->a, SIMMM_LVL_PTE) = s->orig;
	s->restored = true;
	simmm__migration_wake(sim);
}

/* Task bodies must not call CMocka asserts (they would longjmp across
 * fiber stacks): record, assert after the run. */
static void faulter(simmm_sim *sim, void *arg)
{
	struct mig_scene *s = arg;
	struct simmm_hmm_range r = {.notifier = &s->f->mn, .start = s->a,
				    .end = s->a + s->f->psize, .hmm_pfns = s->pfns,
				    .default_flags = RF};
	(void)sim;
	r.notifier_seq = simmm_mmu_interval_read_begin(&s->f->mn);
	simmm_mmap_read_lock(s->f->mm);
	s->hmm_ret = simmm_hmm_range_fault(&r);
	simmm_mmap_read_unlock(s->f->mm);
}

static void migration_entry_waits_in_task(void **state)
{
	struct fx *f = fx_new(GEO);
	struct mig_scene s = {.f = f};
	uint64_t pfns[1] = {0};

	s.a = fx_map(f, 1, SIMMM_PROT_READ | SIMMM_PROT_WRITE, 0);
	assert_int_equal(fx_hmm(f, s.a, 1, RF | RW, 0, pfns), 0);
	s.pfn = simmm_hmm_pfn_to_pfn(pfns[0]);
	s.orig = *fx_slot(f, s.a, SIMMM_LVL_PTE);
	*fx_slot(f, s.a, SIMMM_LVL_PTE) = simmm_make_writable_migration_entry(s.pfn);
	assert_true(simmm_sched_spawn(f->sim, "faulter", faulter, &s) > 0);
	assert_true(simmm_sched_spawn(f->sim, "migrator", migrator, &s) > 0);
	assert_int_equal(simmm_sched_run(f->sim, 100000), SIMMM_SCHED_DONE);
	assert_true(s.restored);
	assert_int_equal(s.hmm_ret, 0);
	assert_int_equal(s.pfns[0], V | W | s.pfn);
	TU_CHECK(f->sim);
	fx_free(f);
}

/* THP: every page of a PMD leaf gets the same flags with the PMD order. */
static void thp_pmd_leaf(void **state)
{
	struct fx *f = fx_new(GEO);
	const struct simmm_geometry *g = simmm_sim_geometry(f->sim);
	unsigned order = simmm_geometry_level_order(g, SIMMM_LVL_PMD);
	uint64_t n = 1ULL << order, pmd = n * f->psize;
	uint64_t *pfns = calloc(n, sizeof(*pfns));
	simmm_addr_t raw, a;

	TU_ASSERT_OK(simmm_mmap(f->mm, 0, 2 * pmd, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS, NULL, 0, &raw));
	a = (raw + pmd - 1) & ~(pmd - 1);
	TU_ASSERT_OK(simmm_madvise(f->mm, a, pmd, SIMMM_MADV_HUGEPAGE));
	assert_int_equal(fx_hmm(f, a, n, RF | RW, 0, pfns), 0);
	struct simmm_translation t;
	TU_ASSERT_OK(simmm_pgtable_translate(simmm_mm_pgtable(f->mm), a, &t));
	assert_int_equal(t.level, SIMMM_LVL_PMD);
	for (uint64_t i = 0; i < n; i++) {
		assert_int_equal(pfns[i] & SIMMM_HMM_PFN_FLAGS, V | W | ((uint64_t)order << 53));
		assert_int_equal(simmm_hmm_pfn_to_map_order(pfns[i]), order);
		assert_int_equal(simmm_hmm_pfn_to_pfn(pfns[i]), simmm_hmm_pfn_to_pfn(pfns[0]) + i);
	}
	/* Read-only after mprotect: VALID with the order, not split. */
	TU_ASSERT_OK(simmm_mprotect(f->mm, a, pmd, SIMMM_PROT_READ));
	assert_int_equal(fx_hmm(f, a + 3 * f->psize, 2, 0, 0, pfns), 0);
	assert_int_equal(pfns[0] & SIMMM_HMM_PFN_FLAGS, V | ((uint64_t)order << 53));
	TU_ASSERT_OK(simmm_pgtable_translate(simmm_mm_pgtable(f->mm), a, &t));
	assert_int_equal(t.level, SIMMM_LVL_PMD);
	TU_CHECK(f->sim);
	free(pfns);
	fx_free(f);
}

/* A PMD migration entry: 0 without a fault, -EBUSY (no task) with one;
 * an unknown non-present PMD: ERROR / -EFAULT; a bad PMD: ERROR / -EFAULT. */
static void pmd_non_present_and_bad(void **state)
{
	struct fx *f = fx_new(GEO);
	const struct simmm_geometry *g = simmm_sim_geometry(f->sim);
	uint64_t pmd = 1ULL << g->level[SIMMM_LVL_PMD].shift;
	uint64_t pfns[2] = {0};
	simmm_addr_t raw, a;
	simmm_entry_t *slot;
	simmm_pfn_t pfn;

	TU_ASSERT_OK(simmm_mmap(f->mm, 0, 2 * pmd, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS, NULL, 0, &raw));
	a = (raw + pmd - 1) & ~(pmd - 1);
	slot = fx_slot(f, a, SIMMM_LVL_PMD);
	*slot = simmm_make_readable_migration_entry(1ULL << 20);
	assert_int_equal(fx_hmm(f, a, 2, 0, 0, pfns), 0);
	assert_int_equal(pfns[0], 0);
	assert_int_equal(fx_hmm(f, a, 2, RF, 0, pfns), -EBUSY);
	*slot = simmm_make_hwpoison_entry(1ULL << 20);
	assert_int_equal(fx_hmm(f, a, 2, 0, 0, pfns), 0);
	assert_int_equal(pfns[0], E);
	assert_int_equal(pfns[1], E);
	assert_int_equal(fx_hmm(f, a, 2, RF, 0, pfns), -EFAULT);
	/* pmd_bad(): a table pointer to a frame that is not a page table. */
	TU_ASSERT_OK(simmm_page_alloc(f->sim, 0, &pfn));
	*slot = simmm_mk_entry(pfn, SIMMM_PAGE_TABLE);
	assert_int_equal(fx_hmm(f, a, 2, 0, 0, pfns), 0);
	assert_int_equal(pfns[0], E);
	assert_int_equal(fx_hmm(f, a, 2, RF, 0, pfns), -EFAULT);
	*slot = 0;
	assert_int_equal(simmm_page_put(f->sim, pfn), 0);
	TU_CHECK(f->sim);
	fx_free(f);
}

/* hugetlb: the huge pte's flags with huge_page_order for every page. */
static void hugetlb_orders(void **state)
{
	struct fx *f = fx_new(GEO);
	const struct simmm_geometry *g = simmm_sim_geometry(f->sim);
	uint64_t pfns[4] = {0};

	for (int l = SIMMM_LVL_PMD; l <= SIMMM_LVL_PUD; l++) {
		if (!g->level[l].leaf || g->level[l].folded)
			continue;
		unsigned order = simmm_geometry_level_order(g, l);
		uint64_t hsize = 1ULL << g->level[l].shift;
		if (hsize > (1ULL << 30))
			continue; /* keep RAM use small */
		simmm_addr_t a;
		TU_ASSERT_OK(simmm_mmap(f->mm, 0, hsize, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
					SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_HUGETLB |
						(int)((unsigned)g->level[l].shift << SIMMM_MAP_HUGE_SHIFT),
					NULL, 0, &a));
		assert_int_equal(fx_hmm(f, a + hsize - 4 * f->psize, 4, RF | RW, 0, pfns), 0);
		for (int i = 0; i < 4; i++) {
			assert_int_equal(pfns[i] & SIMMM_HMM_PFN_FLAGS, V | W | ((uint64_t)order << 53));
			assert_int_equal(simmm_hmm_pfn_to_map_order(pfns[i]), order);
		}
		TU_ASSERT_OK(simmm_mprotect(f->mm, a, hsize, SIMMM_PROT_READ));
		assert_int_equal(fx_hmm(f, a, 1, 0, 0, pfns), 0);
		assert_int_equal(pfns[0] & SIMMM_HMM_PFN_FLAGS, V | ((uint64_t)order << 53));
		TU_ASSERT_OK(simmm_munmap(f->mm, a, hsize));
		TU_CHECK(f->sim);
	}
	fx_free(f);
}

/* The notifier's sequence moved since read_begin: -EBUSY, nothing walked. */
static void seq_moved_is_ebusy(void **state)
{
	struct fx *f = fx_new(GEO);
	uint64_t a = fx_map(f, 4, SIMMM_PROT_READ | SIMMM_PROT_WRITE, 0);
	uint64_t pfns[4] = {0};
	struct simmm_hmm_range r = {.notifier = &f->mn, .start = a, .end = a + 4 * f->psize,
				    .hmm_pfns = pfns, .default_flags = RF};

	r.notifier_seq = simmm_mmu_interval_read_begin(&f->mn);
	TU_ASSERT_OK(simmm_munmap(f->mm, a + 3 * f->psize, f->psize));
	assert_true(f->invalidations > 0);
	TU_ASSERT_OK(simmm_mmap_read_lock(f->mm));
	assert_int_equal(simmm_hmm_range_fault(&r), -EBUSY);
	TU_ASSERT_OK(simmm_mmap_read_unlock(f->mm));
	for (int i = 0; i < 4; i++)
		assert_int_equal(pfns[i], 0);
	/* The retry helper starts again from read_begin. */
	r.end = a + 3 * f->psize;
	TU_ASSERT_OK(simmm_hmm_range_fault_retry(&r, SIMMM_HMM_RANGE_DEFAULT_TIMEOUT));
	assert_false(simmm_mmu_interval_read_retry(&f->mn, r.notifier_seq));
	assert_int_equal(pfns[2], V | simmm_zero_pfn(f->sim));
	fx_free(f);
}

/* Snapshot mode is a pure read: no counter, trace or page-table change. */
static void snapshot_is_pure(void **state)
{
	struct fx *f = fx_new(GEO);
	uint64_t a = fx_map(f, 64, SIMMM_PROT_READ | SIMMM_PROT_WRITE, 0);
	uint64_t pfns[64] = {0};
	struct simmm_mm_stats s1, s2;
	char *d1 = malloc(1 << 16), *d2 = malloc(1 << 16);

	for (int i = 0; i < 64; i += 2)
		TU_ASSERT_OK(simmm_mm_access(f->mm, a + i * f->psize, "x", 1, SIMMM_ACCESS_WRITE));
	TU_ASSERT_OK(simmm_mm_stats(f->mm, &s1));
	uint64_t events = simmm_trace_count(f->sim), hash = simmm_trace_hash(f->sim);
	assert_true(simmm_pgtable_dump(simmm_mm_pgtable(f->mm), a, a + 64 * f->psize, d1, 1 << 16) > 0);
	assert_int_equal(fx_hmm(f, a, 64, 0, 0, pfns), 0);
	for (int i = 0; i < 64; i++)
		assert_int_equal(pfns[i] & SIMMM_HMM_PFN_FLAGS, (i % 2) ? 0 : V | W);
	TU_ASSERT_OK(simmm_mm_stats(f->mm, &s2));
	assert_memory_equal(&s1, &s2, sizeof(s1));
	assert_true(simmm_pgtable_dump(simmm_mm_pgtable(f->mm), a, a + 64 * f->psize, d2, 1 << 16) > 0);
	assert_string_equal(d1, d2);
	/* read_begin and the mmap lock trace; the walk itself adds nothing
	 * beyond those lock events. */
	uint64_t lock_events = simmm_trace_count(f->sim) - events;
	assert_true(lock_events <= 8);
	(void)hash;
	free(d1);
	free(d2);
	fx_free(f);
}

static void bad_input(void **state)
{
	struct fx *f = fx_new(GEO);
	uint64_t a = fx_map(f, 2, SIMMM_PROT_READ, 0);
	uint64_t pfns[2];
	struct simmm_hmm_range r = {.notifier = &f->mn, .start = a, .end = a + 2 * f->psize,
				    .hmm_pfns = pfns};

	assert_int_equal(simmm_hmm_range_fault(NULL), -EINVAL);
	/* Without the mmap lock: refused, and reported as misuse. */
	assert_int_equal(simmm_hmm_range_fault(&r), -EINVAL);
	assert_int_equal(simmm_reports_count(f->sim, SIMMM_REPORT_MISUSE), 1);
	simmm_reports_clear(f->sim);
	TU_ASSERT_OK(simmm_mmap_read_lock(f->mm));
	r.start = a + 1;
	assert_int_equal(simmm_hmm_range_fault(&r), -EINVAL);
	r.start = a + 2 * f->psize;
	assert_int_equal(simmm_hmm_range_fault(&r), -EINVAL); /* empty */
	r.start = a;
	r.hmm_pfns = NULL;
	assert_int_equal(simmm_hmm_range_fault(&r), -EINVAL);
	r.hmm_pfns = pfns;
	r.notifier = NULL;
	assert_int_equal(simmm_hmm_range_fault(&r), -EINVAL);
	TU_ASSERT_OK(simmm_mmap_read_unlock(f->mm));
	fx_free(f);
}

static const char *geometries[] = {"x86_64-4level", "x86_64-5level", "arm64-64k-48"};

#define FOR_GEOS(fn)                                                           \
	cmocka_unit_test_prestate(fn, &geometries[0]),                         \
	cmocka_unit_test_prestate(fn, &geometries[1]),                         \
	cmocka_unit_test_prestate(fn, &geometries[2])

int main(void)
{
	const struct CMUnitTest tests[] = {
		FOR_GEOS(holes_none_and_zero_page),
		FOR_GEOS(per_page_requests),
		FOR_GEOS(sticky_flags),
		FOR_GEOS(vma_permissions),
		FOR_GEOS(special_and_mixedmap),
		FOR_GEOS(poison_and_markers),
		FOR_GEOS(swap_entries),
		FOR_GEOS(migration_entry_no_task),
		FOR_GEOS(migration_entry_waits_in_task),
		FOR_GEOS(thp_pmd_leaf),
		FOR_GEOS(pmd_non_present_and_bad),
		FOR_GEOS(hugetlb_orders),
		FOR_GEOS(seq_moved_is_ebusy),
		FOR_GEOS(snapshot_is_pure),
		FOR_GEOS(bad_input),
	};
	return cmocka_run_group_tests_name("hmm", tests, NULL, NULL);
}
