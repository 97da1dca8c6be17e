// SPDX-License-Identifier: MIT
/*
 * svm-driver: a GPU-SVM-style driver loop on simmm, with a walkthrough.
 *
 * A shared-virtual-memory GPU driver (amdgpu SVM, nouveau, xe's
 * drm_gpusvm) mirrors parts of a process address space into the GPU page
 * table. This example is such a driver in miniature:
 *
 *  1. The GPU "faults" on an address. The driver finds or creates the
 *     range (a fixed-size chunk, like drm_gpusvm's ranges) that covers it
 *     and inserts an interval notifier for the chunk.
 *  2. It calls hmm_range_fault() inside the sequence protocol:
 *         seq = read_begin(notifier)
 *         mmap_read_lock; ret = hmm_range_fault(range); mmap_read_unlock
 *         ret == -EBUSY → again (bounded by HMM_RANGE_DEFAULT_TIMEOUT of
 *                                 virtual time)
 *         lock(driver); if read_retry(notifier, seq) → unlock, again
 *         program the GPU page table from the hmm_pfns; unlock(driver)
 *  3. The GPU page table skips huge spans: an entry with map order k is
 *     programmed once for its 2^k pages (hmm_pfn_to_map_order()).
 *  4. The notifier's invalidate callback (called by the CPU side before it
 *     changes the range) takes the driver lock, records the new sequence
 *     (set_seq) and zaps the GPU entries of the range. On UNMAP it also
 *     marks the range for garbage collection: the driver frees ranges whose
 *     memory is gone on its next pass, outside the callback (a callback may
 *     not remove its own notifier).
 *
 * What the example prints is the driver's view: faults served, retries,
 * GPU entries programmed (and how many huge ones), invalidations seen,
 * ranges collected.
 *
 *   svm-driver [--seed N]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <simmm/simmm.h>

#define CHUNK_PAGES 512 /* one range = 512 pages (a PMD on x86-64 4K) */
#define MAX_RANGES 16

struct svm_range {
	struct simmm_mmu_interval_notifier mn; /* first: the callback casts */
	struct gpu *gpu;
	uint64_t start, end;
	uint64_t *gpu_pte;   /* the "GPU page table" of this range */
	bool live, gc;
};

struct gpu {
	simmm_sim *sim;
	struct simmm_mm *mm;
	struct simmm_mutex lock; /* the driver lock: read_retry and invalidate */
	struct svm_range ranges[MAX_RANGES];
	uint64_t psize;
	unsigned faults, retries, programmed, huge, invalidations, collected;
};

static bool svm_invalidate(struct simmm_mmu_interval_notifier *mn,
			   const struct simmm_mmu_notifier_range *r, uint64_t cur_seq)
{
	struct svm_range *sr = (struct svm_range *)mn;
	struct gpu *gpu = sr->gpu;

	/* Non-blockable (OOM reaper): may not sleep on the driver lock. */
	if (simmm_mmu_notifier_range_blockable(r))
		simmm_mutex_lock(gpu->sim, &gpu->lock);
	else if (simmm_mutex_trylock(gpu->sim, &gpu->lock) != 1)
		return false;
	simmm_mmu_interval_set_seq(mn, cur_seq);
	uint64_t s = r->start > sr->start ? r->start : sr->start;
	uint64_t e = r->end < sr->end ? r->end : sr->end;
	for (uint64_t a = s; a < e; a += gpu->psize)
		sr->gpu_pte[(a - sr->start) / gpu->psize] = 0;
	if (r->event == SIMMM_MMU_NOTIFY_UNMAP && s == sr->start && e == sr->end)
		sr->gc = true; /* the whole range is gone: collect it later */
	gpu->invalidations++;
	simmm_mutex_unlock(gpu->sim, &gpu->lock);
	return true;
}

static const struct simmm_mmu_interval_notifier_ops svm_ops = {.invalidate = svm_invalidate};

static struct svm_range *range_get(struct gpu *gpu, uint64_t addr)
{
	uint64_t span = CHUNK_PAGES * gpu->psize, start = addr & ~(span - 1);
	struct svm_range *free_slot = NULL;

	for (int i = 0; i < MAX_RANGES; i++) {
		struct svm_range *r = &gpu->ranges[i];
		if (r->live && r->start == start)
			return r;
		if (!r->live && !free_slot)
			free_slot = r;
	}
	if (!free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->gpu = gpu;
	free_slot->start = start;
	free_slot->end = start + span;
	free_slot->gpu_pte = calloc(CHUNK_PAGES, sizeof(uint64_t));
	if (simmm_mmu_interval_notifier_insert(&free_slot->mn, gpu->mm, start, span, &svm_ops))
		return NULL;
	free_slot->live = true;
	return free_slot;
}

/* Serve a GPU fault at @addr: mirror the whole range it falls in. */
static int gpu_fault(struct gpu *gpu, uint64_t addr, bool write)
{
	struct svm_range *sr = range_get(gpu, addr);
	uint64_t *pfns = calloc(CHUNK_PAGES, sizeof(uint64_t));
	struct simmm_hmm_range r;
	int ret;

	if (!sr || !pfns)
		return -ENOMEM;
	gpu->faults++;
	r = (struct simmm_hmm_range){
		.notifier = &sr->mn, .start = sr->start, .end = sr->end, .hmm_pfns = pfns,
		.default_flags = SIMMM_HMM_PFN_REQ_FAULT | (write ? SIMMM_HMM_PFN_REQ_WRITE : 0),
	};
again:
	/* read_begin + mmap lock + hmm_range_fault, retried on -EBUSY until
	 * HMM_RANGE_DEFAULT_TIMEOUT of virtual time has passed. */
	ret = simmm_hmm_range_fault_retry(&r, SIMMM_HMM_RANGE_DEFAULT_TIMEOUT);
	if (ret)
		goto out;
	simmm_mutex_lock(gpu->sim, &gpu->lock);
	if (simmm_mmu_interval_read_retry(&sr->mn, r.notifier_seq)) {
		/* Invalidated between the walk and now: the answer is stale. */
		simmm_mutex_unlock(gpu->sim, &gpu->lock);
		gpu->retries++;
		goto again;
	}
	for (uint64_t i = 0; i < CHUNK_PAGES;) {
		unsigned order = simmm_hmm_pfn_to_map_order(pfns[i]);
		uint64_t n = 1ULL << order;
		/* A huge CPU mapping is one GPU entry covering its span. */
		n -= ((sr->start / gpu->psize) + i) & (n - 1);
		for (uint64_t k = 0; k < n && i + k < CHUNK_PAGES; k++)
			sr->gpu_pte[i + k] = pfns[i + k];
		gpu->programmed++;
		gpu->huge += order > 0;
		i += n;
	}
	simmm_mutex_unlock(gpu->sim, &gpu->lock);
out:
	free(pfns);
	return ret;
}

/* Free ranges whose memory was unmapped (outside any callback). */
static void gpu_gc(struct gpu *gpu)
{
	for (int i = 0; i < MAX_RANGES; i++) {
		struct svm_range *r = &gpu->ranges[i];
		if (!r->live || !r->gc)
			continue;
		simmm_mmu_interval_notifier_remove(&r->mn);
		free(r->gpu_pte);
		r->live = false;
		gpu->collected++;
	}
}

static unsigned mirrored(struct gpu *gpu)
{
	unsigned n = 0;
	for (int i = 0; i < MAX_RANGES; i++)
		for (int k = 0; gpu->ranges[i].live && k < CHUNK_PAGES; k++)
			n += (gpu->ranges[i].gpu_pte[k] & SIMMM_HMM_PFN_VALID) != 0;
	return n;
}

int main(int argc, char **argv)
{
	simmm_config cfg;
	struct gpu gpu = {0};
	simmm_addr_t raw, a;

	simmm_config_init(&cfg);
	if (argc == 3 && !strcmp(argv[1], "--seed"))
		cfg.seed = strtoull(argv[2], NULL, 0);
	cfg.ram_bytes = 1ULL << 32;
	if (simmm_sim_create(&cfg, &gpu.sim) || simmm_mm_create(gpu.sim, &gpu.mm))
		return 1;
	gpu.psize = 1ULL << simmm_sim_geometry(gpu.sim)->page_shift;
	simmm_mutex_init(&gpu.lock, "svm-driver");
	uint64_t span = CHUNK_PAGES * gpu.psize;

	/* A process allocates 4 chunks; the first half is THP-backed. */
	simmm_mmap(gpu.mm, 0, 5 * span, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
		   SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS, NULL, 0, &raw);
	a = (raw + span - 1) & ~(span - 1);
	simmm_madvise(gpu.mm, a, 2 * span, SIMMM_MADV_HUGEPAGE);
	simmm_mm_access(gpu.mm, a, "cpu", 4, SIMMM_ACCESS_WRITE);

	printf("svm-driver: 4 chunks of %u pages at 0x%" PRIx64 "\n", CHUNK_PAGES, a);
	for (int c = 0; c < 4; c++) {
		int ret = gpu_fault(&gpu, a + c * span + 7 * gpu.psize, true);
		printf("  GPU write fault in chunk %d: %s; GPU entries now %u\n", c,
		       simmm_strerror(ret), mirrored(&gpu));
	}
	printf("  programmed %u GPU entries (%u huge), %u read_retry retries\n", gpu.programmed,
	       gpu.huge, gpu.retries);

	/* The CPU side changes things: the driver sees invalidations. */
	simmm_mprotect(gpu.mm, a + 2 * span, span, SIMMM_PROT_READ);
	simmm_munmap(gpu.mm, a + 3 * span, span);
	printf("  after mprotect(chunk 2, RO) and munmap(chunk 3): %u invalidations, GPU entries %u\n",
	       gpu.invalidations, mirrored(&gpu));
	gpu_gc(&gpu);
	printf("  garbage collection freed %u range(s)\n", gpu.collected);
	int ret = gpu_fault(&gpu, a + 2 * span, true);
	printf("  GPU write fault in read-only chunk 2: %s (as hmm_range_fault: -EPERM)\n",
	       simmm_strerror(ret));
	ret = gpu_fault(&gpu, a + 2 * span, false);
	printf("  GPU read fault in chunk 2: %s; GPU entries now %u\n", simmm_strerror(ret),
	       mirrored(&gpu));

	for (int i = 0; i < MAX_RANGES; i++)
		if (gpu.ranges[i].live) {
			simmm_mmu_interval_notifier_remove(&gpu.ranges[i].mn);
			free(gpu.ranges[i].gpu_pte);
		}
	simmm_mmput(gpu.mm);
	int bad = simmm_check(gpu.sim);
	int leaks = simmm_sim_destroy(&gpu.sim);
	printf("  checker: %d violation(s), %d leak(s)\n", bad, leaks);
	return bad || leaks;
}
