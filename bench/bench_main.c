// SPDX-License-Identifier: MIT
/*
 * simmm-bench: run the benchmarks of the table below (all, or those whose
 * name contains --filter), printing one JSON object per line.
 *
 *   simmm-bench [--filter substr] [--quick]
 *
 * Order matters only for baselines: a line's ratio is printed when its
 * baseline ran before it.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

static const struct bench_entry benches[] = {
	{"kernel.pagemap_1g", bench_kernel_pagemap_1g},
	{"walk.populated_4k_1g", bench_walk_populated_4k_1g},
	{"walk.empty_2p47", bench_walk_empty_2p47},
	{"walk.pmd_1g", bench_walk_pmd_1g},
	{"kernel.faultin_1g", bench_kernel_faultin_1g},
	{"hmm.fault_4k_1g+hmm.snapshot_4k_1g", bench_hmm_4k_1g},
	{"hmm.snapshot_pmd_1g", bench_hmm_snapshot_pmd_1g},
	{"notifier.dispatch_1+1k+100k", bench_notifier_dispatch},
	{"migrate.to_device_2m+1g+to_system_1g", bench_migrate},
};

#define MAX_RESULTS 64

static struct {
	const char *name;
	double ns_per_page;
} results[MAX_RESULTS];
static unsigned nr_results;

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double bench_median(double *v, unsigned n, double *best)
{
	qsort(v, n, sizeof(*v), cmp_double);
	if (best)
		*best = v[0];
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bench_lookup(const char *name)
{
	for (unsigned i = 0; i < nr_results; i++)
		if (!strcmp(results[i].name, name))
			return results[i].ns_per_page;
	return 0;
}

void bench_emit(const char *name, uint64_t pages, double ns_per_page, const char *baseline,
		const char *extra)
{
	double base = baseline ? bench_lookup(baseline) : 0;

	printf("{\"name\":\"%s\",\"pages\":%llu,\"ns_per_page\":%.6g", name,
	       (unsigned long long)pages, ns_per_page);
	if (baseline) {
		printf(",\"baseline\":\"%s\"", baseline);
		if (base > 0 && ns_per_page > 0)
			printf(",\"ratio\":%.4g", base / ns_per_page);
	}
	printf("%s}\n", extra ? extra : "");
	fflush(stdout);
	if (nr_results < MAX_RESULTS) {
		results[nr_results].name = name;
		results[nr_results++].ns_per_page = ns_per_page;
	}
}

void bench_emit_error(const char *name, uint64_t pages, const char *baseline, const char *why)
{
	printf("{\"name\":\"%s\",\"pages\":%llu,\"ns_per_page\":null", name,
	       (unsigned long long)pages);
	if (baseline)
		printf(",\"baseline\":\"%s\"", baseline);
	printf(",\"error\":\"%s\"}\n", why);
	fflush(stdout);
}

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--filter substr] [--quick] [--list]\n", argv0);
	return 2;
}

int main(int argc, char **argv)
{
	struct bench_opts o = {0};
	bool list = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			o.quick = true;
		else if (!strcmp(argv[i], "--list"))
			list = true;
		else if (!strcmp(argv[i], "--filter") && i + 1 < argc)
			o.filter = argv[++i];
		else
			return usage(argv[0]);
	}
	for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
		if (o.filter && !strstr(benches[i].name, o.filter))
			continue;
		if (list)
			puts(benches[i].name);
		else
			benches[i].fn(&o);
	}
	return 0;
}
