// SPDX-License-Identifier: MIT
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

simmm_sim *tu_sim_new_cfg(const simmm_config *cfg)
{
	simmm_sim *sim = NULL;
	int rc = simmm_sim_create(cfg, &sim);
	if (rc)
		fail_msg("simmm_sim_create: %s", simmm_strerror(rc));
	return sim;
}

simmm_sim *tu_sim_new(const char *geometry, uint64_t ram_bytes, uint64_t seed)
{
	simmm_config cfg;
	simmm_config_init(&cfg);
	cfg.geometry = geometry;
	if (ram_bytes)
		cfg.ram_bytes = ram_bytes;
	cfg.seed = seed;
	return tu_sim_new_cfg(&cfg);
}

void tu_check(simmm_sim *sim, const char *file, int line)
{
	int n = simmm_check(sim);
	if (n != 0) {
		const char *log = simmm_reports(sim, NULL);
		fail_msg("%s:%d: invariant checker: %d violation(s):\n%s", file, line, n, log);
	}
}

void tu_sim_free(simmm_sim **sim)
{
	uint64_t reports = 0;
	if (!*sim)
		return;
	tu_check(*sim, __FILE__, __LINE__);
	const char *log = simmm_reports(*sim, &reports);
	if (reports)
		fail_msg("unexpected reports before destroy:\n%s", log);
	int rc = simmm_sim_destroy(sim);
	if (rc != 0)
		fail_msg("simmm_sim_destroy: %d (leaks or error)", rc);
	assert_null(*sim);
}

uint64_t tu_seed(void)
{
	static uint64_t seed;
	static int printed;
	if (!printed) {
		const char *s = getenv("SIMMM_SEED");
		seed = s ? strtoull(s, NULL, 0) : 0x5eed;
		fprintf(stderr, "simmm test seed: SIMMM_SEED=%llu\n", (unsigned long long)seed);
		printed = 1;
	}
	return seed;
}

uint64_t tu_iters(uint64_t dflt)
{
	const char *s = getenv("SIMMM_ITERS");
	return s ? strtoull(s, NULL, 0) : dflt;
}

static bool tu_counter_inv(struct simmm_mmu_interval_notifier *sub,
			   const struct simmm_mmu_notifier_range *r, uint64_t cur_seq)
{
	struct tu_counter *c = (struct tu_counter *)sub;

	simmm_mmu_interval_set_seq(sub, cur_seq);
	c->events[r->event]++;
	c->last_start = r->start;
	c->last_end = r->end;
	return true;
}

const struct simmm_mmu_interval_notifier_ops tu_counter_ops = {.invalidate = tu_counter_inv};

void tu_sweep_clean(simmm_sweep_fn fn, uint64_t ram_bytes)
{
	struct simmm_sweep_result res;
	simmm_config cfg;

	simmm_config_init(&cfg);
	cfg.ram_bytes = ram_bytes;
	cfg.flags = SIMMM_CFG_QUIET;
	TU_ASSERT_OK(simmm_fault_sweep(&cfg, fn, NULL, 0, &res));
	assert_int_equal(res.violations, 0);
	assert_true(res.steps > 10);
	assert_true(res.enomem > 0);
}
