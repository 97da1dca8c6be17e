// SPDX-License-Identifier: MIT
/*
 * Page-table walk benchmarks.
 *
 *  kernel.pagemap_1g     the host kernel's own walk: /proc/self/pagemap read
 *                        for a touched 1 GiB anonymous mapping of this process
 *  walk.populated_4k_1g  simmm walk of 1 GiB mapped by 4 KiB leaves
 *  walk.empty_2p47       simmm walk of an empty 2^47-byte range
 *  walk.pmd_1g           simmm walk of 1 GiB mapped by 2 MiB PMD leaves
 *
 * Each measurement repeats the walk and reports the best run per page
 * (median alongside): the best is the least disturbed by the host.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"

#define GiB (1ULL << 30)
#define MiB (1ULL << 20)
#define PAGES_1G (GiB / 4096)
#define BASE_VA (64 * GiB) /* where the simulated 1 GiB lives */

static unsigned reps(const struct bench_opts *o, unsigned full)
{
	return o->quick ? (full / 4 ? full / 4 : 1) : full;
}

/* ---- a simulated machine with 1 GiB mapped --------------------------------- */

struct fixture {
	simmm_sim *sim;
	struct simmm_pgtable *pt;
	simmm_pfn_t folios[512];
};

static int fixture_init(struct fixture *f)
{
	simmm_config cfg;
	int err;

	memset(f, 0, sizeof(*f));
	simmm_config_init(&cfg);
	cfg.ram_bytes = 2 * GiB;
	cfg.flags = SIMMM_CFG_NO_CONTENTS | SIMMM_CFG_QUIET;
	err = simmm_sim_create(&cfg, &f->sim);
	if (!err)
		err = simmm_pgtable_create(f->sim, &f->pt);
	for (unsigned i = 0; i < 512 && !err; i++)
		err = simmm_page_alloc(f->sim, 9, &f->folios[i]);
	return err;
}

static void fixture_fini(struct fixture *f)
{
	if (f->pt)
		simmm_pgtable_destroy(&f->pt, NULL, NULL);
	for (unsigned i = 0; i < 512 && f->folios[i]; i++)
		simmm_page_put(f->sim, f->folios[i]);
	if (f->sim)
		simmm_sim_destroy(&f->sim);
}

/* Map the 512 folios at BASE_VA, as 4 KiB leaves or as 2 MiB leaves. */
static int fixture_map(struct fixture *f, bool huge)
{
	int err = 0;

	for (unsigned i = 0; i < 512 && !err; i++) {
		simmm_addr_t a = BASE_VA + (uint64_t)i * 2 * MiB;
		simmm_entry_t e = simmm_mk_entry(f->folios[i], SIMMM_PAGE_SHARED);
		if (huge)
			err = simmm_pgtable_set(f->pt, a, SIMMM_LVL_PMD, simmm_entry_mkleaf(e));
		else
			err = simmm_pgtable_fill(f->pt, a, a + 2 * MiB, SIMMM_LVL_PTE, e);
	}
	return err;
}

/* ---- the walks timed ----------------------------------------------------------- */

static int count_pte(simmm_entry_t *e, simmm_addr_t a, simmm_addr_t n, struct simmm_walk *w)
{
	*(uint64_t *)w->private += simmm_pte_present(*e);
	return 0;
}

static int count_pmd(simmm_entry_t *e, simmm_addr_t a, simmm_addr_t n, struct simmm_walk *w)
{
	if (simmm_entry_is_leaf(*e, SIMMM_LVL_PMD)) {
		*(uint64_t *)w->private += (n - a) >> 12;
		w->action = SIMMM_WALK_CONTINUE;
	}
	return 0;
}

static const struct simmm_walk_ops pte_ops = {.pte_entry = count_pte};
static const struct simmm_walk_ops pmd_ops = {.pmd_entry = count_pmd, .pte_entry = count_pte};

/* Time @n walks of [start, end); returns the best ns, median in *@median. */
static double time_walks(struct simmm_pgtable *pt, simmm_addr_t start, simmm_addr_t end,
			 const struct simmm_walk_ops *ops, unsigned n, uint64_t *count,
			 double *median)
{
	double v[64], best;

	n = n > 64 ? 64 : n;
	for (unsigned i = 0; i < n; i++) {
		uint64_t t0;
		*count = 0;
		t0 = bench_now_ns();
		simmm_walk_range(pt, start, end, ops, count);
		v[i] = (double)(bench_now_ns() - t0);
	}
	*median = bench_median(v, n, &best);
	return best;
}

static void walk_1g(const struct bench_opts *o, const char *name, bool huge,
		    const struct simmm_walk_ops *ops, const char *baseline, double target)
{
	struct fixture f;
	uint64_t count = 0;
	double best, median;
	char extra[256];

	if (fixture_init(&f) || fixture_map(&f, huge)) {
		bench_emit_error(name, PAGES_1G, baseline, "fixture setup failed");
		fixture_fini(&f);
		return;
	}
	best = time_walks(f.pt, BASE_VA, BASE_VA + GiB, ops, reps(o, 40), &count, &median);
	double npp = best / PAGES_1G;
	double base = bench_lookup(baseline);
	snprintf(extra, sizeof(extra),
		 ",\"best_ns\":%.0f,\"median_ns\":%.0f,\"counted\":%llu,\"target_ratio\":%.0f,"
		 "\"pass\":%s",
		 best, median, (unsigned long long)count, target,
		 base > 0 && base / npp >= target ? "true" : "false");
	bench_emit(name, PAGES_1G, npp, baseline, extra);
	fixture_fini(&f);
}

void bench_walk_populated_4k_1g(const struct bench_opts *o)
{
	walk_1g(o, "walk.populated_4k_1g", false, &pte_ops, "kernel.pagemap_1g", 10);
}

void bench_walk_pmd_1g(const struct bench_opts *o)
{
	walk_1g(o, "walk.pmd_1g", true, &pmd_ops, "walk.populated_4k_1g", 3);
}

void bench_walk_empty_2p47(const struct bench_opts *o)
{
	const uint64_t end = 1ULL << 47, pages = end >> 12;
	const unsigned batch = 1000;
	struct fixture f;
	double v[32], best, median;
	uint64_t count = 0;
	unsigned n = reps(o, 32);
	char extra[160];

	if (fixture_init(&f)) {
		bench_emit_error("walk.empty_2p47", pages, NULL, "fixture setup failed");
		fixture_fini(&f);
		return;
	}
	/* One walk is too short for the clock: time batches. */
	for (unsigned i = 0; i < n; i++) {
		uint64_t t0 = bench_now_ns();
		for (unsigned j = 0; j < batch; j++)
			simmm_walk_range(f.pt, 0, end, &pte_ops, &count);
		v[i] = (double)(bench_now_ns() - t0) / batch;
	}
	median = bench_median(v, n, &best);
	snprintf(extra, sizeof(extra),
		 ",\"total_ns\":%.1f,\"median_ns\":%.1f,\"target_total_ns\":1000,\"pass\":%s",
		 best, median, best < 1000 ? "true" : "false");
	bench_emit("walk.empty_2p47", pages, best / (double)pages, NULL, extra);
	fixture_fini(&f);
}

/* ---- the host kernel's walk ------------------------------------------------------ */

/* pread the pagemap entries of [va, va + len) in 512 KiB chunks and count
 * the present ones (bit 63). Returns -1 on a read error. */
static long long pagemap_pass(int fd, uintptr_t va, size_t len, uint64_t *buf, size_t chunk)
{
	size_t n = len / 4096;
	long long present = 0;

	for (size_t done = 0; done < n;) {
		size_t k = n - done < chunk ? n - done : chunk;
		off_t off = (off_t)((va / 4096 + done) * 8);
		ssize_t got = pread(fd, buf, k * 8, off);
		if (got != (ssize_t)(k * 8))
			return -1;
		for (size_t i = 0; i < k; i++)
			present += (long long)(buf[i] >> 63);
		done += k;
	}
	return present;
}

void bench_kernel_pagemap_1g(const struct bench_opts *o)
{
	const size_t chunk = 64 * 1024, len = GiB;
	const char *name = "kernel.pagemap_1g";
	unsigned n = reps(o, 12);
	double v[16], best, median;
	long long present = 0;
	uint64_t *buf;
	char extra[160];
	int fd;

	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		bench_emit_error(name, PAGES_1G, NULL, "mmap failed");
		return;
	}
	for (size_t i = 0; i < len; i += 4096)
		p[i] = 1;
	fd = open("/proc/self/pagemap", O_RDONLY);
	buf = malloc(chunk * 8);
	if (fd < 0 || !buf || pagemap_pass(fd, (uintptr_t)p, len, buf, chunk) < 0) {
		bench_emit_error(name, PAGES_1G, NULL, "/proc/self/pagemap unreadable");
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		uint64_t t0 = bench_now_ns();
		present = pagemap_pass(fd, (uintptr_t)p, len, buf, chunk);
		v[i] = (double)(bench_now_ns() - t0);
	}
	median = bench_median(v, n, &best);
	snprintf(extra, sizeof(extra), ",\"best_ns\":%.0f,\"median_ns\":%.0f,\"counted\":%lld",
		 best, median, present);
	bench_emit(name, PAGES_1G, best / PAGES_1G, NULL, extra);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	munmap(p, len);
}
