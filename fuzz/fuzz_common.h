/* SPDX-License-Identifier: MIT */
/*
 * Shared by the fuzz harnesses: a byte reader that yields zeros once the
 * input runs out (so every input decodes to something), and FZ_CHECK(),
 * which prints the failed condition and aborts (libFuzzer then reports
 * the input as a crash; the replay driver dies with SIGABRT).
 */
#ifndef SIMMM_FUZZ_COMMON_H
#define SIMMM_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

/* Called before aborting: the harness prints its context (op trace). */
void fz_dump_context(void);

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
