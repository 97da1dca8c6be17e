// SPDX-License-Identifier: MIT
/*
 * mmu-notifier benchmarks:
 *  notifier.dispatch_1      one invalidation (range start + end) on an mm
 *  notifier.dispatch_1k     with 1, 1 000 and 100 000 interval notifiers of
 *  notifier.dispatch_100k   which exactly one overlaps the range
 *
 * Calls the dispatch the page-table code uses
 * (simmm__mmu_notifier_invalidate_range_start/end) directly. pages is 1
 * and ns_per_page is ns per invalidation; "notifiers" is n. The interval
 * tree makes the cost O(log n + k): target < 1 us at 100 000.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "bench.h"
#include "mm/mm.h"
#include "notifier/notifier.h"

void bench_notifier_dispatch(const struct bench_opts *o);

static bool bench_inv(struct simmm_mmu_interval_notifier *sub,
		      const struct simmm_mmu_notifier_range *r, uint64_t cur_seq)
{
	(void)r;
	simmm_mmu_interval_set_seq(sub, cur_seq);
	return true;
}

static const struct simmm_mmu_interval_notifier_ops bench_ops = {.invalidate = bench_inv};

/* A driver object embedding the notifier, cache-line aligned as kernel
 * objects from kmalloc are: the tree node (first in the notifier) then
 * sits in one line. */
struct bench_sub {
	_Alignas(64) struct simmm_mmu_interval_notifier sub;
};

/* Notifier i watches one page at slot i; slots are two pages apart so a
 * one-page range overlaps exactly one notifier. Slots are shuffled so
 * consecutive invalidations hit unrelated parts of the tree. */
static void one(const struct bench_opts *o, const char *name, unsigned n)
{
	const uint64_t ps = 4096, base = 1ull << 30;
	struct bench_sub *subs = NULL;
	unsigned reps = o->quick ? 3 : 9, iters = o->quick ? 20000 : 200000;
	double v[9], best, median;
	uint64_t *order = NULL, x = 88172645463325252ull;
	struct simmm_mm *mm = NULL;
	simmm_sim *sim = NULL;
	char extra[160];
	simmm_config cfg;
	unsigned calls_ok = 1;
	size_t subs_bytes = 0;

	simmm_config_init(&cfg);
	cfg.ram_bytes = 64ull << 20;
	if (simmm_sim_create(&cfg, &sim) || simmm_mm_create(sim, &mm)) {
		bench_emit_error(name, 1, NULL, "setup failed");
		goto out;
	}
	simmm_lockdep_enable(sim, false);
	/* Kernel objects live in the huge-page direct map: back the notifier
	 * array with THP so the lookup measures cache misses, not the host's
	 * 4 KiB TLB reach. */
	subs_bytes = ((size_t)n * sizeof(*subs) + (2u << 20) - 1) & ~(size_t)((2u << 20) - 1);
	subs = mmap(NULL, subs_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (subs == MAP_FAILED)
		subs = NULL;
	else
		madvise(subs, subs_bytes, MADV_HUGEPAGE);
	order = malloc((size_t)iters * sizeof(*order));
	if (!subs || !order) {
		bench_emit_error(name, 1, NULL, "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < n; i++)
		if (simmm_mmu_interval_notifier_insert(&subs[i].sub, mm, base + 2 * ps * i, ps,
						       &bench_ops)) {
			bench_emit_error(name, 1, NULL, "insert failed");
			goto out;
		}
	for (unsigned i = 0; i < iters; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		order[i] = base + 2 * ps * (x % n);
	}
	for (unsigned r = 0; r < reps; r++) {
		uint64_t t0 = bench_now_ns();

		for (unsigned i = 0; i < iters; i++) {
			struct simmm_mmu_notifier_range rg;

			simmm_mmu_notifier_range_init(&rg, SIMMM_MMU_NOTIFY_CLEAR,
						      SIMMM_MMU_NOTIFIER_RANGE_BLOCKABLE, mm,
						      order[i], order[i] + ps);
			simmm__mmu_notifier_invalidate_range_start(&rg);
			simmm__mmu_notifier_invalidate_range_end(&rg);
		}
		v[r] = (double)(bench_now_ns() - t0) / iters;
	}
	/* Each invalidation reached exactly one notifier. */
	{
		uint64_t total = 0;

		for (unsigned i = 0; i < n; i++)
			total += subs[i].sub.stats.invalidates[SIMMM_MMU_NOTIFY_CLEAR];
		calls_ok = total == (uint64_t)iters * reps;
	}
	median = bench_median(v, reps, &best);
	snprintf(extra, sizeof(extra),
		 ",\"notifiers\":%u,\"best_ns\":%.1f,\"median_ns\":%.1f,\"one_call_each\":%s", n,
		 best, median, calls_ok ? "true" : "false");
	bench_emit(name, 1, median, NULL, extra);
out:
	if (subs && mm)
		for (unsigned i = 0; i < n; i++)
			if (subs[i].sub.mn_inserted)
				simmm_mmu_interval_notifier_remove(&subs[i].sub);
	if (mm)
		simmm_mmput(mm);
	if (sim)
		simmm_sim_destroy(&sim);
	if (subs)
		munmap(subs, subs_bytes);
	free(order);
}

void bench_notifier_dispatch(const struct bench_opts *o)
{
	one(o, "notifier.dispatch_1", 1);
	one(o, "notifier.dispatch_1k", 1000);
	one(o, "notifier.dispatch_100k", 100000);
}
