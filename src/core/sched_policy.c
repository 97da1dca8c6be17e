// SPDX-License-Identifier: MIT
/*
 * Choosing the next task: round robin, seeded random, PCT and replay, and
 * recording every choice so that a run can be replayed exactly.
 *
 * A choice exists only where more than one task is runnable; only those
 * consume replay bytes and produce exported bytes, so a fuzzer's input
 * bytes are all spent on real decisions. Runnable tasks are always listed
 * by ascending id, which makes an index a stable name for a choice.
 *
 * PCT (Burckhardt et al., ASPLOS 2010): tasks get distinct random initial
 * priorities above d; d - 1 change points are drawn uniformly from the
 * first k steps; at the i-th change point the running task drops to
 * priority d - 1 - i. The highest-priority runnable task always runs. A bug
 * of depth d is then found with probability at least 1 / (n k^(d-1)).
 */
#include <string.h>

#include "core/sched_internal.h"

#define QUANTUM_DEFAULT_NS 1000ULL
#define PCT_DEFAULT_DEPTH 3u
#define PCT_DEFAULT_STEPS 1000ULL
#define PCT_BASE_PRIO 64ULL /* above every change-point priority */

void simmm_sched_config_init(simmm_sim *sim, struct simmm_sched_config *cfg)
{
	if (!cfg)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->policy = SIMMM_SCHED_RANDOM;
	cfg->seed = simmm__sim_ok(sim) ? sim->seed : 1;
	cfg->pct_depth = PCT_DEFAULT_DEPTH;
	cfg->quantum_ns = QUANTUM_DEFAULT_NS;
}

static uint64_t pct_initial_prio(struct simmm_sched *s)
{
	return PCT_BASE_PRIO + (simmm__rng_next(&s->rng) >> 8);
}

void simmm__policy_reset(struct simmm_sched *s)
{
	unsigned d = s->cfg.pct_depth ? s->cfg.pct_depth : PCT_DEFAULT_DEPTH;
	uint64_t k = s->cfg.pct_steps;

	simmm__rng_seed(&s->rng, s->cfg.seed);
	s->replay_pos = 0;
	s->last_pick = 0;
	s->pct_nr = 0;
	if (s->cfg.policy != SIMMM_SCHED_PCT)
		return;
	if (!k)
		k = s->last_run_steps ? s->last_run_steps : PCT_DEFAULT_STEPS;
	for (uint32_t id = s->base; id < s->next_id; id++)
		if (s->tasks[id - s->base])
			s->tasks[id - s->base]->prio = pct_initial_prio(s);
	s->pct_nr = d - 1 < SIMMM_ARRAY_SIZE(s->pct_change) ? d - 1
							    : (unsigned)SIMMM_ARRAY_SIZE(s->pct_change);
	for (unsigned i = 0; i < s->pct_nr; i++)
		s->pct_change[i] = s->steps + 1 + simmm__rng_below(&s->rng, k);
}

void simmm__policy_spawned(struct simmm_sched *s, struct simmm_task *t)
{
	if (s->cfg.policy == SIMMM_SCHED_PCT)
		t->prio = pct_initial_prio(s);
}

void simmm__policy_fini(struct simmm_sched *s)
{
	simmm__free(s->sim, SIMMM_ALLOC_SCHED, s->replay, s->cfg.replay_len);
	simmm__free(s->sim, SIMMM_ALLOC_SCHED, s->runnable,
		    s->cap_runnable * sizeof(*s->runnable));
	s->replay = NULL;
	s->runnable = NULL;
}

static int configure(struct simmm_sched *s, const struct simmm_sched_config *cfg)
{
	uint8_t *copy = NULL;

	if (cfg->replay_len) {
		copy = simmm__malloc(s->sim, SIMMM_ALLOC_SCHED, cfg->replay_len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, cfg->replay, cfg->replay_len);
	}
	simmm__free(s->sim, SIMMM_ALLOC_SCHED, s->replay, s->cfg.replay_len);
	s->cfg = *cfg;
	if (!s->cfg.quantum_ns)
		s->cfg.quantum_ns = QUANTUM_DEFAULT_NS;
	s->replay = copy;
	s->cfg.replay = copy;
	simmm__policy_reset(s);
	return 0;
}

int simmm_sched_configure(simmm_sim *sim, const struct simmm_sched_config *cfg)
{
	struct simmm_sched *s;

	if (!simmm__sim_ok(sim) || !cfg || (unsigned)cfg->policy > SIMMM_SCHED_REPLAY ||
	    (!cfg->replay && cfg->replay_len))
		return -EINVAL;
	if (sim->sched && (sim->sched->running || sim->sched->cur != &sim->sched->main))
		return -EBUSY;
	s = simmm__sched_get(sim);
	if (!s)
		return -ENOMEM;
	return configure(s, cfg);
}

int simmm_sched_replay(simmm_sim *sim, const uint8_t *bytes, size_t len)
{
	struct simmm_sched_config cfg;

	simmm_sched_config_init(sim, &cfg);
	cfg.policy = SIMMM_SCHED_REPLAY;
	cfg.replay = bytes;
	cfg.replay_len = len;
	return simmm_sched_configure(sim, &cfg);
}

/* {==================================================================== */
/* the runnable set                                                       */

static void fire_timer(struct simmm_sched *s, struct simmm_task *t)
{
	t->state = SIMMM_TASK_RUNNABLE;
	t->timed_out = true;
	s->nr_blocked--;
}

/* Fill s->runnable (ids ascending) after firing expired timers; returns
 * the earliest pending deadline through @next_deadline. */
static size_t scan_runnable(struct simmm_sched *s, uint64_t *next_deadline)
{
	size_t n = 0;

	*next_deadline = UINT64_MAX;
	for (uint32_t id = s->base; id < s->next_id; id++) {
		struct simmm_task *t = s->tasks[id - s->base];
		if (!t)
			continue;
		if (t->state == SIMMM_TASK_SLEEPING && t->deadline <= s->now_ns)
			fire_timer(s, t);
		if (t->state == SIMMM_TASK_RUNNABLE)
			s->runnable[n++] = id;
		else if (t->state == SIMMM_TASK_SLEEPING && t->deadline < *next_deadline)
			*next_deadline = t->deadline;
	}
	return n;
}

static size_t collect_runnable(struct simmm_sched *s)
{
	uint64_t next_deadline;
	size_t n;

	simmm__grow(s->sim, SIMMM_ALLOC_SCHED, (void **)&s->runnable, sizeof(*s->runnable),
		    &s->cap_runnable, s->next_id - s->base + 1, true);
	n = scan_runnable(s, &next_deadline);
	if (n == 0 && next_deadline != UINT64_MAX) {
		/* Everyone sleeps: jump the clock to the first deadline. */
		s->now_ns = next_deadline;
		n = scan_runnable(s, &next_deadline);
	}
	return n;
}

/* }==================================================================== */
/* {==================================================================== */
/* policies                                                               */

static size_t choose_rr(const struct simmm_sched *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s->runnable[i] > s->last_pick)
			return i;
	return 0;
}

static size_t choose_pct(struct simmm_sched *s, size_t n)
{
	size_t best = 0;

	for (size_t i = 1; i < n; i++)
		if (s->tasks[s->runnable[i] - s->base]->prio >
		    s->tasks[s->runnable[best] - s->base]->prio)
			best = i;
	return best;
}

/* Next LEB128 varint of the replay bytes; false once they run out (also in
 * the middle of a varint). Any byte string is accepted. */
static bool replay_next(struct simmm_sched *s, uint64_t *v)
{
	uint64_t x = 0;
	unsigned shift = 0;

	while (s->replay_pos < s->cfg.replay_len) {
		uint8_t b = s->replay[s->replay_pos++];
		if (shift < 64)
			x |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

static size_t choose(struct simmm_sched *s, size_t n)
{
	uint64_t v;

	switch (s->cfg.policy) {
	case SIMMM_SCHED_RANDOM:
		return (size_t)simmm__rng_below(&s->rng, n);
	case SIMMM_SCHED_PCT:
		return choose_pct(s, n);
	case SIMMM_SCHED_REPLAY:
		if (replay_next(s, &v))
			return (size_t)(v % n);
		return choose_rr(s, n);
	case SIMMM_SCHED_RR:
	default:
		return choose_rr(s, n);
	}
}

static void pct_change_points(struct simmm_sched *s)
{
	for (unsigned i = 0; i < s->pct_nr; i++)
		if (s->pct_change[i] == s->steps + 1 && s->cur != &s->main)
			s->cur->prio = s->pct_nr - i - 1;
}

/* }==================================================================== */
/* {==================================================================== */
/* recording                                                              */

static void record_choice(struct simmm_sched *s, uint64_t idx)
{
	do {
		uint8_t b = (uint8_t)(idx & 0x7f);
		idx >>= 7;
		simmm__grow(s->sim, SIMMM_ALLOC_SCHED, (void **)&s->choices, 1, &s->cap_choices,
			    s->nr_choices + 1, true);
		s->choices[s->nr_choices++] = b | (idx ? 0x80 : 0);
	} while (idx);
}

struct simmm_task *simmm__sched_pick(struct simmm_sched *s)
{
	size_t n = collect_runnable(s);
	size_t idx = 0;
	struct simmm_task *t;

	if (n == 0)
		return NULL;
	if (s->cfg.policy == SIMMM_SCHED_PCT)
		pct_change_points(s);
	if (n > 1) {
		idx = choose(s, n);
		record_choice(s, idx);
	}
	t = s->tasks[s->runnable[idx] - s->base];
	simmm__grow(s->sim, SIMMM_ALLOC_SCHED, (void **)&s->log, sizeof(*s->log), &s->cap_log,
		    s->nr_log + 1, true);
	s->log[s->nr_log++] = t->id;
	s->steps++;
	s->now_ns += s->cfg.quantum_ns;
	s->last_pick = t->id;
	return t;
}

/* }==================================================================== */
