/* SPDX-License-Identifier: MIT */
/*
 * simmm-bench: shared helpers. Every benchmark prints one JSON object per
 * line with at least name, pages and ns_per_page; comparisons add baseline
 * (the name of the line compared against) and ratio (baseline ns_per_page
 * divided by this ns_per_page, so > 1 means faster than the baseline).
 *
 * A benchmark is a function in the table of bench_main.c; later issues add
 * theirs by writing a bench_*.c file and one table entry.
 */
#ifndef SIMMM_BENCH_H
#define SIMMM_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include <simmm/simmm.h>

struct bench_opts {
	bool quick;          /* fewer repetitions, for CI smoke runs */
	const char *filter;  /* run only names containing this, or NULL */
};

typedef void (*bench_fn)(const struct bench_opts *o);

struct bench_entry {
	const char *name;    /* as printed; the filter matches it */
	bench_fn fn;
};

/* Monotonic nanoseconds. */
uint64_t bench_now_ns(void);
/* Sort @n samples and return the median; *@best gets the minimum. */
double bench_median(double *v, unsigned n, double *best);

/*
 * Print one result line and remember ns_per_page under @name, so later
 * lines can name it as their baseline. @baseline may be NULL; the ratio is
 * printed only when the baseline ran earlier in this process. @extra is
 * appended verbatim inside the object (",\"k\":v" pieces) or NULL.
 */
void bench_emit(const char *name, uint64_t pages, double ns_per_page, const char *baseline,
		const char *extra);
/* A line for a benchmark that could not run. */
void bench_emit_error(const char *name, uint64_t pages, const char *baseline, const char *why);
/* ns_per_page of a line already printed, or 0. */
double bench_lookup(const char *name);

/* bench_walk.c */
void bench_kernel_pagemap_1g(const struct bench_opts *o);
void bench_walk_populated_4k_1g(const struct bench_opts *o);
void bench_walk_empty_2p47(const struct bench_opts *o);
void bench_walk_pmd_1g(const struct bench_opts *o);

/* bench_hmm.c */
void bench_kernel_faultin_1g(const struct bench_opts *o);
void bench_hmm_4k_1g(const struct bench_opts *o);       /* hmm.fault_4k_1g + hmm.snapshot_4k_1g */
void bench_hmm_snapshot_pmd_1g(const struct bench_opts *o);

/* bench_migrate.c */
void bench_migrate(const struct bench_opts *o);

/* bench_notifier.c */
void bench_notifier_dispatch(const struct bench_opts *o);

#endif
