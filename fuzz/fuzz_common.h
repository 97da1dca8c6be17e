/* SPDX-License-Identifier: MIT */
/*
 * Shared by the fuzz harnesses: a byte reader that yields zeros once the
 * input runs out (so every input decodes to something), FZ_CHECK(), which
 * prints the failed condition and the harness's context and aborts
 * (libFuzzer then reports the input as a crash; the replay drivers die
 * with SIGABRT), and the knobs the drivers set (fuzz_common.c).
 *
 * Each harness defines `int fz_<harness>_one(const uint8_t *, size_t)` and
 * FZ_DEFINE_ENTRY(fz_<harness>_one), which becomes LLVMFuzzerTestOneInput()
 * except in the harness library (FZ_LIBRARY) that links every harness into
 * one program (tools/simmm_replay.c).
 */
#ifndef SIMMM_FUZZ_COMMON_H
#define SIMMM_FUZZ_COMMON_H

#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <simmm/sim.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef FZ_LIBRARY
#define FZ_DEFINE_ENTRY(fn)
#else
#define FZ_DEFINE_ENTRY(fn)                                                     \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)            \
	{                                                                       \
		return fn(data, size);                                          \
	}
#endif

/* The harnesses, for drivers that run them by name (fuzz_harnesses.c). */
typedef int (*fz_harness_fn)(const uint8_t *data, size_t size);
struct fz_harness {
	const char *name;
	fz_harness_fn fn;
};
extern const struct fz_harness fz_harnesses[];

/* ---- knobs (fuzz_common.c) -------------------------------------------------------- */

/*
 * Run the full simmm_check() every this many operations (and always at the
 * end). 0 = the harness's default for libFuzzer runs; the replay drivers
 * set 1 (every op) so a failure is pinned to its op. The environment
 * variable FUZZ_CHECK_EVERY overrides both (read by fz_check_every_get()).
 */
extern unsigned fz_check_every;
unsigned fz_check_every_get(unsigned harness_default);

/*
 * Trace events kept per instance (simmm_config.trace_ring) and printed on
 * a failure: 0 = the harness's small default (fast); simmm-replay sets a
 * large ring so the whole interleaving is printed.
 */
extern uint32_t fz_trace_ring;
extern int fz_verbose; /* print the harness's op log even on success */

/* The harness sets its context printer and its live instance. */
extern void (*fz_dump_hook)(void);
extern simmm_sim *fz_cur_sim;

/*
 * A digest of everything the harness's instances did: fz_note_sim() folds
 * an instance's trace hash and event count into fz_run_digest just before
 * the harness destroys it. simmm-replay --determinism compares the digests
 * of the same input run in different orders in one process: the project
 * promises that the same input gives the same trace, whatever ran before.
 */
extern uint64_t fz_run_digest;
void fz_note_sim(const simmm_sim *sim);

/* Give @cfg the process's block pool (simmm_pool_*) as its allocator. */
void fz_config_allocator(simmm_config *cfg);

/* Print the instance's trace ring (task names, locks, entries changed). */
void fz_print_trace(simmm_sim *sim, FILE *f);

/* Called before aborting: the harness's context, then the trace ring
 * when fz_trace_ring asked for one. */
void fz_dump_context(void);

/* Append printf-style text to a bounded log (*len < cap), truncating
 * silently once full: the op logs both harnesses print on failure. */
void fz_vlog(char *buf, size_t cap, size_t *len, const char *fmt, va_list ap);

/* ---- input cursor ------------------------------------------------------------------ */

/* struct fz_in - a cursor over the fuzzer's input. */
struct fz_in {
	const uint8_t *p;
	size_t left;
};

static inline uint8_t fz_u8(struct fz_in *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static inline uint16_t fz_u16(struct fz_in *in)
{
	uint16_t lo = fz_u8(in);

	return (uint16_t)(lo | (uint16_t)fz_u8(in) << 8);
}

static inline uint64_t fz_u64(struct fz_in *in)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)fz_u8(in) << (8 * i);
	return v;
}

#define FZ_FAIL(...)                                                            \
	do {                                                                    \
		fprintf(stderr, "FUZZ CHECK FAILED at %s:%d: ", __FILE__,        \
			__LINE__);                                               \
		fprintf(stderr, __VA_ARGS__);                                    \
		fputc('\n', stderr);                                             \
		fz_dump_context();                                               \
		abort();                                                         \
	} while (0)

#define FZ_CHECK(cond, ...)                                                     \
	do {                                                                    \
		if (!(cond))                                                    \
			FZ_FAIL("!(" #cond ") " __VA_ARGS__);                   \
	} while (0)

#endif
