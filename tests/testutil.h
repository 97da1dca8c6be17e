/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers for the CMocka suite.
 *
 * Randomised tests take their seed from tu_seed(): SIMMM_SEED in the
 * environment, else a fixed default; it is always printed so a failure can
 * be replayed with SIMMM_SEED=<n>. TU_CHECK() runs the deep invariant
 * checker and fails the test with the reports when anything is wrong.
 */
#ifndef SIMMM_TESTUTIL_H
#define SIMMM_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <simmm/simmm.h>

/* Create a machine; asserts success. geometry NULL = default. */
simmm_sim *tu_sim_new(const char *geometry, uint64_t ram_bytes, uint64_t seed);
/* Create from a full config; asserts success. */
simmm_sim *tu_sim_new_cfg(const simmm_config *cfg);
/* Destroy; asserts that nothing leaked and no report is pending. */
void tu_sim_free(simmm_sim **sim);
/* Assert that simmm_check() finds nothing. */
void tu_check(simmm_sim *sim, const char *file, int line);
#define TU_CHECK(sim) tu_check((sim), __FILE__, __LINE__)
/* simmm_fault_sweep() of @fn on a quiet machine of @ram_bytes (no step
 * limit): asserts no violation, more than 10 steps and at least one
 * -ENOMEM seen. */
void tu_sweep_clean(simmm_sweep_fn fn, uint64_t ram_bytes);
/* An interval notifier that counts its invalidations by event and keeps
 * the last range (it advances the sequence, as a driver must). Insert
 * &c.mn with &tu_counter_ops. */
struct tu_counter {
	struct simmm_mmu_interval_notifier mn; /* first */
	unsigned events[SIMMM_MMU_NOTIFY_NR_EVENTS];
	uint64_t last_start, last_end;
};
extern const struct simmm_mmu_interval_notifier_ops tu_counter_ops;
/* The seed for randomised tests (printed once per process). */
uint64_t tu_seed(void);
/* Iterations for randomised tests: SIMMM_ITERS or @dflt. */
uint64_t tu_iters(uint64_t dflt);

#define TU_ASSERT_OK(expr)                                                      \
	do {                                                                    \
		int tu_rc_ = (expr);                                            \
		if (tu_rc_ != 0)                                                \
			fail_msg("%s returned %d (%s)", #expr, tu_rc_,          \
				 simmm_strerror(tu_rc_));                       \
	} while (0)

#endif
