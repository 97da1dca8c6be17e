// SPDX-License-Identifier: MIT
/*
 * Knobs and failure output shared by the harnesses and their drivers
 * (libFuzzer, <harness>-replay, simmm-replay). See fuzz_common.h.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <simmm/sched.h>
#include <simmm/simmm.h>

#include <simmm/trace.h>

#include "fuzz_common.h"

unsigned fz_check_every;
uint32_t fz_trace_ring;
int fz_verbose;
void (*fz_dump_hook)(void);
simmm_sim *fz_cur_sim;

uint64_t fz_run_digest;

void fz_note_sim(const simmm_sim *sim)
{
	fz_run_digest = (fz_run_digest ^ simmm_trace_hash(sim)) * 0x100000001b3ULL;
	fz_run_digest = (fz_run_digest ^ simmm_trace_count(sim)) * 0x100000001b3ULL;
}

/*
 * One block pool for every instance the process creates (the harnesses run
 * one input at a time): the next input's instance starts on the memory the
 * last one freed instead of cold pages (docs/fuzzing.md, "Sixth round").
 * FUZZ_NO_POOL=1 gives each instance the default allocator instead.
 */
void fz_config_allocator(simmm_config *cfg)
{
	static struct simmm_pool *pool;
	static int off = -1;

	if (off < 0)
		off = getenv("FUZZ_NO_POOL") && atoi(getenv("FUZZ_NO_POOL")) > 0;
	if (off || (!pool && simmm_pool_create(0, &pool)))
		return;
	cfg->allocator = SIMMM_ALLOCATOR_CUSTOM;
	cfg->custom_allocator = simmm_pool_allocator(pool);
}

unsigned fz_check_every_get(unsigned harness_default)
{
	const char *e = getenv("FUZZ_CHECK_EVERY");

	if (e && atoi(e) > 0)
		return (unsigned)atoi(e);
	return fz_check_every ? fz_check_every : harness_default;
}

void fz_print_trace(simmm_sim *sim, FILE *f)
{
	struct simmm_trace_event *ev;
	uint32_t ntasks;
	long n;
	char line[256];

	if (!sim)
		return;
	ntasks = simmm_sched_nr_tasks(sim);
	fprintf(f, "---- tasks ----\n");
	for (uint32_t id = 1; id <= ntasks; id++) {
		const char *name = simmm_sched_task_name(sim, id);
		int st = simmm_sched_task_state(sim, id);

		fprintf(f, "  task %u: %s (state %d)\n", id, name ? name : "?", st);
	}
	ev = calloc(fz_trace_ring ? fz_trace_ring : 16, sizeof(*ev));
	if (!ev)
		return;
	n = simmm_trace_read(sim, ev, fz_trace_ring ? fz_trace_ring : 16);
	fprintf(f, "---- last %ld of %llu trace events ----\n", n,
		(unsigned long long)simmm_trace_count(sim));
	for (long i = 0; i < n; i++) {
		simmm_trace_format(&ev[i], line, sizeof(line));
		fprintf(f, "%s\n", line);
	}
	free(ev);
}

void fz_dump_context(void)
{
	static bool dumped; /* FZ_FAIL dumps, then its abort() may dump again */

	if (dumped)
		return;
	dumped = true;
	if (fz_dump_hook)
		fz_dump_hook();
	if (fz_trace_ring && fz_cur_sim)
		fz_print_trace(fz_cur_sim, stderr);
	fflush(stderr);
}

void fz_vlog(char *buf, size_t cap, size_t *len, const char *fmt, va_list ap)
{
	int n;

	if (*len >= cap - 1)
		return;
	n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	if (n > 0)
		*len += (size_t)n < cap - *len ? (size_t)n : cap - *len - 1;
}
