// SPDX-License-Identifier: MIT
/*
 * HMM benchmarks:
 *  kernel.faultin_1g     the host kernel faulting in a real 1 GiB anonymous
 *                        mapping touched page by page (THP off)
 *  hmm.fault_4k_1g       hmm_range_fault in fault mode over an unpopulated
 *                        1 GiB range of 4 KiB pages; baseline kernel.faultin_1g
 *  hmm.snapshot_4k_1g    snapshot of that populated range; baseline
 *                        kernel.pagemap_1g (target ratio >= 10)
 *  hmm.snapshot_pmd_1g   the same range PMD-mapped (target >= 3 G pages/s)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <simmm/hmm.h>

#include "bench.h"

#define GIB (1ULL << 30)
#define PAGES_1G (GIB >> 12)

struct hmm_ctx {
	simmm_sim *sim;
	struct simmm_mm *mm;
	struct simmm_mmu_interval_notifier mn;
	uint64_t a;
	uint64_t *pfns;
};

static bool inv(struct simmm_mmu_interval_notifier *sub, const struct simmm_mmu_notifier_range *r,
		uint64_t cur_seq)
{
	(void)r;
	simmm_mmu_interval_set_seq(sub, cur_seq);
	return true;
}

static const struct simmm_mmu_interval_notifier_ops inv_ops = {.invalidate = inv};

static int ctx_init(struct hmm_ctx *c, bool huge)
{
	simmm_config cfg;
	simmm_addr_t raw;

	memset(c, 0, sizeof(*c));
	simmm_config_init(&cfg);
	cfg.ram_bytes = 4 * GIB;
	cfg.flags = SIMMM_CFG_NO_CONTENTS;
	if (simmm_sim_create(&cfg, &c->sim) || simmm_mm_create(c->sim, &c->mm))
		return -1;
	simmm_lockdep_enable(c->sim, false);
	if (simmm_mmap(c->mm, 0, 2 * GIB, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
		       SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS, NULL, 0, &raw))
		return -1;
	c->a = (raw + GIB - 1) & ~(GIB - 1);
	if (simmm_madvise(c->mm, c->a, GIB, huge ? SIMMM_MADV_HUGEPAGE : SIMMM_MADV_NOHUGEPAGE))
		return -1;
	if (simmm_mmu_interval_notifier_insert(&c->mn, c->mm, c->a, GIB, &inv_ops))
		return -1;
	c->pfns = calloc(PAGES_1G, sizeof(*c->pfns));
	return c->pfns ? 0 : -1;
}

static void ctx_fini(struct hmm_ctx *c)
{
	free(c->pfns);
	simmm_mmu_interval_notifier_remove(&c->mn);
	simmm_mmput(c->mm);
	simmm_sim_destroy(&c->sim);
}

static int run_hmm(struct hmm_ctx *c, uint64_t flags)
{
	struct simmm_hmm_range r = {.notifier = &c->mn, .start = c->a, .end = c->a + GIB,
				    .hmm_pfns = c->pfns, .default_flags = flags};
	return simmm_hmm_range_fault_retry(&r, SIMMM_HMM_RANGE_DEFAULT_TIMEOUT);
}

static double snapshot_ns(struct hmm_ctx *c, unsigned reps)
{
	double v[64], best;
	for (unsigned i = 0; i < reps; i++) {
		uint64_t t0 = bench_now_ns();
		if (run_hmm(c, 0))
			return -1;
		v[i] = (double)(bench_now_ns() - t0);
	}
	bench_median(v, reps, &best);
	return best;
}

void bench_kernel_faultin_1g(const struct bench_opts *o)
{
	(void)o;
	uint64_t t0, t1;
	char *p = mmap(NULL, GIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		bench_emit_error("kernel.faultin_1g", PAGES_1G, NULL, "mmap failed");
		return;
	}
	madvise(p, GIB, MADV_NOHUGEPAGE);
	t0 = bench_now_ns();
	for (uint64_t off = 0; off < GIB; off += 4096)
		p[off] = 1;
	t1 = bench_now_ns();
	munmap(p, GIB);
	bench_emit("kernel.faultin_1g", PAGES_1G, (double)(t1 - t0) / PAGES_1G, NULL, NULL);
}

void bench_hmm_4k_1g(const struct bench_opts *o)
{
	struct hmm_ctx c;
	uint64_t t0, t1;
	char extra[96];

	if (ctx_init(&c, false)) {
		bench_emit_error("hmm.fault_4k_1g", PAGES_1G, "kernel.faultin_1g", "setup failed");
		return;
	}
	t0 = bench_now_ns();
	int ret = run_hmm(&c, SIMMM_HMM_PFN_REQ_FAULT | SIMMM_HMM_PFN_REQ_WRITE);
	t1 = bench_now_ns();
	if (ret) {
		bench_emit_error("hmm.fault_4k_1g", PAGES_1G, "kernel.faultin_1g", simmm_strerror(ret));
		ctx_fini(&c);
		return;
	}
	bench_emit("hmm.fault_4k_1g", PAGES_1G, (double)(t1 - t0) / PAGES_1G, "kernel.faultin_1g",
		   NULL);
	double best = snapshot_ns(&c, o->quick ? 3 : 15);
	snprintf(extra, sizeof(extra), ",\"best_ns\":%.0f,\"target_ratio\":10,\"pass\":%s", best,
		 bench_lookup("kernel.pagemap_1g") / (best / PAGES_1G) >= 10 ? "true" : "false");
	bench_emit("hmm.snapshot_4k_1g", PAGES_1G, best / PAGES_1G, "kernel.pagemap_1g", extra);
	ctx_fini(&c);
}

void bench_hmm_snapshot_pmd_1g(const struct bench_opts *o)
{
	struct hmm_ctx c;
	char extra[128];

	if (ctx_init(&c, true) || run_hmm(&c, SIMMM_HMM_PFN_REQ_FAULT | SIMMM_HMM_PFN_REQ_WRITE)) {
		bench_emit_error("hmm.snapshot_pmd_1g", PAGES_1G, NULL, "setup failed");
		return;
	}
	double best = snapshot_ns(&c, o->quick ? 5 : 40);
	double gps = PAGES_1G / best; /* pages per ns = G pages/s */
	snprintf(extra, sizeof(extra),
		 ",\"best_ns\":%.0f,\"gpages_per_s\":%.2f,\"order\":%u,\"target_gpages_per_s\":3,"
		 "\"pass\":%s",
		 best, gps, simmm_hmm_pfn_to_map_order(c.pfns[0]), gps >= 3 ? "true" : "false");
	bench_emit("hmm.snapshot_pmd_1g", PAGES_1G, best / PAGES_1G, NULL, extra);
	ctx_fini(&c);
}
