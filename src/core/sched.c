// SPDX-License-Identifier: MIT
/*
 * The deterministic scheduler: lifecycle, tasks, runs and inspection.
 * Context switching lives in sched_fiber.c, the choice of the next task in
 * sched_policy.c, locks in sched_locks.c and sched_wait.c, checking in
 * lockdep.c.
 */
#include <string.h>

#include "core/sched_internal.h"

#define SCHED_STACK_MAX (1ULL << 30)

/* {==================================================================== */
/* lifecycle                                                              */

static void sched_free_task(struct simmm_sched *s, struct simmm_task *t)
{
	simmm__fiber_free(s, t);
	simmm__ld_forget_bits(s, t); /* a task dropped while holding bit locks */
	simmm__free(s->sim, SIMMM_ALLOC_SCHED, t->held, t->cap_held * sizeof(*t->held));
	simmm__free(s->sim, SIMMM_ALLOC_SCHED, t->bits, t->cap_bits * sizeof(*t->bits));
	simmm__free(s->sim, SIMMM_ALLOC_SCHED, t, sizeof(*t));
}

static void sched_drop_tasks(struct simmm_sched *s)
{
	for (uint32_t id = s->base; id < s->next_id; id++) {
		struct simmm_task *t = s->tasks[id - s->base];
		if (t)
			sched_free_task(s, t);
		s->tasks[id - s->base] = NULL;
	}
	s->base = s->next_id;
	s->nr_live = 0;
	s->nr_blocked = 0;
	s->nr_log = 0;
	s->nr_choices = 0;
}

static void sched_fini(simmm_sim *sim, void *arg)
{
	struct simmm_sched *s = arg;

	sched_drop_tasks(s);
	simmm__free(sim, SIMMM_ALLOC_SCHED, s->tasks, s->cap_tasks * sizeof(*s->tasks));
	simmm__free(sim, SIMMM_ALLOC_SCHED, s->log, s->cap_log * sizeof(*s->log));
	simmm__free(sim, SIMMM_ALLOC_SCHED, s->choices, s->cap_choices);
	simmm__free(sim, SIMMM_ALLOC_SCHED, s->main.held,
		    s->main.cap_held * sizeof(*s->main.held));
	simmm__free(sim, SIMMM_ALLOC_SCHED, s->main.bits,
		    s->main.cap_bits * sizeof(*s->main.bits));
	simmm__free(sim, SIMMM_ALLOC_SCHED, s->bo, s->bo_cap * sizeof(*s->bo));
	simmm__policy_fini(s);
	simmm__ld_fini(s);
	simmm__fiber_main_fini(s);
	simmm__free(sim, SIMMM_ALLOC_SCHED, s, sizeof(*s));
	sim->sched = NULL;
	sim->cur_task = 0;
}

/* Slow path of simmm__sched_get(). The scheduler is bookkeeping that a
 * lock operation cannot fail on: it never returns NULL. */
SIMMM_NOINLINE struct simmm_sched *simmm__sched_create(simmm_sim *sim)
{
	struct simmm_sched *s;

	if (sim->sched)
		return sim->sched;
	s = simmm__zalloc_nofail(sim, SIMMM_ALLOC_SCHED, sizeof(*s));
	/* Torn down after every other subsystem (their finalisers may still
	 * take locks), so it is not on the finaliser list. */
	sim->sched_fini = sched_fini;
	s->sim = sim;
	s->main.sched = s;
	memcpy(s->main.name, "main", 5);
	s->cur = &s->main;
	s->base = s->next_id = 1;
	s->ld.enabled = true;
	simmm__fiber_main_init(s);
	simmm_sched_config_init(sim, &s->cfg);
	simmm__policy_reset(s);
	sim->sched = s;
	return s;
}

/* }==================================================================== */
/* {==================================================================== */
/* tasks                                                                  */

struct simmm_task *simmm__sched_task(const struct simmm_sched *s, uint32_t id)
{
	if (!s)
		return NULL;
	if (id == 0)
		return (struct simmm_task *)&s->main;
	if (id < s->base || id >= s->next_id)
		return NULL;
	return s->tasks[id - s->base];
}

const char *simmm__task_name(const struct simmm_sched *s, uint32_t id)
{
	const struct simmm_task *t = simmm__sched_task(s, id);
	return t ? t->name : "?";
}

void simmm__sched_trace(struct simmm_sched *s, uint32_t type, uint64_t addr, uint64_t arg0,
			uint64_t arg1)
{
	simmm__trace(s->sim, type, addr, 0, arg0, arg1);
}

static void task_set_name(struct simmm_task *t, const char *name)
{
	if (name) {
		size_t n = 0;
		while (n < SIMMM_SCHED_NAME_MAX && name[n]) /* strnlen is POSIX, not C11 */
			n++;
		memcpy(t->name, name, n);
		t->name[n] = '\0';
	} else {
		snprintf(t->name, sizeof(t->name), "task%u", t->id);
	}
}

static int spawn_check(simmm_sim *sim, simmm_task_fn fn, size_t *stack_size)
{
	if (!simmm__sim_ok(sim) || !fn)
		return -EINVAL;
	if (*stack_size == 0)
		*stack_size = SIMMM_SCHED_STACK_DEFAULT;
	if (*stack_size < SIMMM_SCHED_STACK_MIN || *stack_size > SCHED_STACK_MAX)
		return -EINVAL;
	*stack_size = (*stack_size + 15) & ~(size_t)15;
	return 0;
}

int simmm_sched_spawn_stack(simmm_sim *sim, const char *name, simmm_task_fn fn, void *arg,
			    size_t stack_size)
{
	struct simmm_sched *s;
	struct simmm_task *t;
	int err = spawn_check(sim, fn, &stack_size);

	if (err)
		return err;
	s = simmm__sched_get(sim);
	if (!s)
		return -ENOMEM;
	if (s->next_id == UINT32_MAX)
		return -ENOMEM;
	err = simmm__grow(sim, SIMMM_ALLOC_SCHED, (void **)&s->tasks, sizeof(*s->tasks),
			  &s->cap_tasks, s->next_id - s->base + 1, false);
	if (err)
		return err;
	t = simmm__zalloc(sim, SIMMM_ALLOC_SCHED, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->sched = s;
	t->id = s->next_id;
	t->fn = fn;
	t->arg = arg;
	task_set_name(t, name);
	if (simmm__fiber_new(s, t, stack_size)) {
		simmm__free(sim, SIMMM_ALLOC_SCHED, t, sizeof(*t));
		return -ENOMEM;
	}
	s->tasks[s->next_id++ - s->base] = t;
	s->nr_live++;
	simmm__policy_spawned(s, t);
	simmm__sched_trace(s, SIMMM_EV_TASK_SPAWN, 0, t->id, 0);
	return (int)t->id;
}

int simmm_sched_spawn(simmm_sim *sim, const char *name, simmm_task_fn fn, void *arg)
{
	return simmm_sched_spawn_stack(sim, name, fn, arg, 0);
}

/* }==================================================================== */
/* {==================================================================== */
/* runs                                                                   */

/* One line naming every blocked task, what it waits for and what it holds. */
static void report_deadlock(struct simmm_sched *s)
{
	char buf[1000];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "deadlock: %u task(s) blocked, none can run:",
				    s->nr_blocked);

	for (uint32_t id = s->base; id < s->next_id && n < sizeof(buf); id++) {
		const struct simmm_task *t = s->tasks[id - s->base];
		const struct simmm_waitinfo *w;

		if (!t || t->state == SIMMM_TASK_DONE)
			continue;
		w = &t->wait;
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " task %u '%s' waits for %s '%s' (id %llu)",
				      t->id, t->name, w->what, w->name, (unsigned long long)w->id);
		if (n < sizeof(buf) && w->owner >= 0)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, " (held by task %u '%s')",
					      (uint32_t)w->owner,
					      simmm__task_name(s, (uint32_t)w->owner));
		if (n < sizeof(buf))
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, ", holding [");
		if (n < sizeof(buf))
			n += simmm__ld_describe_held(t, buf + n, sizeof(buf) - n);
		if (n < sizeof(buf))
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "];");
	}
	simmm__report(s->sim, SIMMM_REPORT_DEADLOCK, "%s", buf);
}

int simmm_sched_run(simmm_sim *sim, uint64_t max_steps)
{
	struct simmm_sched *s;
	struct simmm_task *next;

	if (!simmm__sim_ok(sim))
		return -EINVAL;
	s = sim->sched;
	if (!s || s->nr_live == 0)
		return SIMMM_SCHED_DONE;
	if (s->running)
		return -EBUSY;
	s->running = true;
	s->stop = SCHED_STOP_NONE;
	s->run_start = s->steps;
	s->max_step = max_steps ? s->steps + max_steps : 0;
	/* Tasks switch among themselves and hand back to this context only
	 * when none can run or the step limit is reached. */
	next = simmm__sched_pick(s);
	if (next)
		simmm__sched_enter(s, next);
	s->running = false;
	s->last_run_steps = s->steps - s->run_start;
	if (s->nr_live == 0)
		return SIMMM_SCHED_DONE;
	if (s->stop == SCHED_STOP_LIMIT)
		return SIMMM_SCHED_STEP_LIMIT;
	report_deadlock(s);
	return SIMMM_SCHED_DEADLOCK;
}

static bool in_task(const simmm_sim *sim)
{
	return sim->sched && sim->sched->cur != &sim->sched->main;
}

int simmm_sched_reset(simmm_sim *sim)
{
	if (!simmm__sim_ok(sim))
		return -EINVAL;
	if (in_task(sim) || (sim->sched && sim->sched->running))
		return -EBUSY;
	if (!sim->sched)
		return 0;
	sched_drop_tasks(sim->sched);
	simmm__policy_reset(sim->sched);
	return 0;
}

/* }==================================================================== */
/* {==================================================================== */
/* scheduling points, time, contexts                                      */

void simmm_sched_yield(simmm_sim *sim)
{
	struct simmm_sched *s;

	if (!simmm__sim_ok(sim) || !(s = sim->sched) || !s->running)
		return;
	simmm__sched_trace(s, SIMMM_EV_YIELD, 0, 0, 0);
	simmm__sched_point_slow(s, "yield");
}

void simmm_sched_point(simmm_sim *sim, const char *label)
{
	if (simmm__sim_ok(sim))
		simmm__sched_point(sim->sched, label);
}

int simmm_sched_sleep(simmm_sim *sim, uint64_t ms)
{
	struct simmm_sched *s;
	struct simmm_waitinfo w = {.what = "sleep", .name = "timer", .owner = -1};
	int err;

	if (!simmm__sim_ok(sim))
		return -EINVAL;
	s = simmm__sched_get(sim);
	if (!s)
		return 0;
	err = simmm__ld_might_sleep(s, "sleep", "timer");
	if (err)
		return err;
	if (ms == 0) {
		simmm__sched_point(s, "sleep");
		return 0;
	}
	/* No wake-up can match a NULL object, so only the deadline ends it;
	 * outside a run that just advances the clock. */
	err = simmm__sched_wait(s, &w, ms * 1000000ULL);
	return err == -ETIMEDOUT ? 0 : err;
}

uint32_t simmm_sched_current(const simmm_sim *sim)
{
	return simmm__sim_ok(sim) ? sim->cur_task : 0;
}

uint64_t simmm__sched_nr_woken(simmm_sim *sim)
{
	return sim->sched && sim->cur_task ? sim->sched->cur->nr_woken : 0;
}

/**
 * simmm__task_flags() - the current context's flags word (see internal.h).
 * @sim: the instance.
 *
 * Why: reclaim marks the task that reclaims (the kernel's PF_MEMALLOC in
 * current->flags), not the machine: another task's allocation must still
 * reclaim while this one sleeps inside reclaim. Core gives every context
 * a word and leaves the bits to their owners (lower layers never call up).
 * Return: the word; the main context's outside tasks, also before the
 * scheduler exists.
 */
uint32_t *simmm__task_flags(simmm_sim *sim)
{
	if (sim->cur_task && sim->sched)
		return &sim->sched->cur->flags;
	return &sim->main_task_flags;
}

bool simmm__sched_others_can_run(simmm_sim *sim)
{
	struct simmm_sched *s = sim->sched;

	if (!s || !sim->cur_task)
		return false;
	for (uint32_t id = s->base; id < s->next_id; id++) {
		const struct simmm_task *t = s->tasks[id - s->base];

		if (t && t != s->cur &&
		    (t->state == SIMMM_TASK_RUNNABLE || t->state == SIMMM_TASK_SLEEPING))
			return true;
	}
	return false;
}

uint32_t simmm_sched_nr_tasks(const simmm_sim *sim)
{
	if (!simmm__sim_ok(sim) || !sim->sched)
		return 0;
	return sim->sched->next_id - sim->sched->base;
}

int simmm_sched_task_state(const simmm_sim *sim, uint32_t id)
{
	const struct simmm_task *t;

	if (!simmm__sim_ok(sim))
		return -EINVAL;
	if (id == 0)
		return -ENOENT;
	t = simmm__sched_task(sim->sched, id);
	if (!t)
		return -ENOENT;
	if (t == sim->sched->cur)
		return SIMMM_TASK_RUNNING;
	return t->state;
}

const char *simmm_sched_task_name(const simmm_sim *sim, uint32_t id)
{
	const struct simmm_task *t;

	if (!simmm__sim_ok(sim))
		return NULL;
	if (id == 0)
		return "main";
	t = simmm__sched_task(sim->sched, id);
	return t ? t->name : NULL;
}

size_t simmm_sched_schedule(const simmm_sim *sim, const uint32_t **ids)
{
	const struct simmm_sched *s = simmm__sim_ok(sim) ? sim->sched : NULL;

	if (ids)
		*ids = s ? s->log : NULL;
	return s ? s->nr_log : 0;
}

long simmm_sched_export(const simmm_sim *sim, uint8_t *buf, size_t len)
{
	const struct simmm_sched *s;

	if (!simmm__sim_ok(sim) || (!buf && len))
		return -EINVAL;
	s = sim->sched;
	if (!s)
		return 0;
	if (len)
		memcpy(buf, s->choices, len < s->nr_choices ? len : s->nr_choices);
	return (long)s->nr_choices;
}

uint64_t simmm_sched_steps(const simmm_sim *sim)
{
	return simmm__sim_ok(sim) && sim->sched ? sim->sched->steps : 0;
}

uint64_t simmm_sched_now_ns(const simmm_sim *sim)
{
	return simmm__sim_ok(sim) && sim->sched ? sim->sched->now_ns : 0;
}

uint64_t simmm_sched_jiffies(const simmm_sim *sim)
{
	return simmm_sched_now_ns(sim) / (1000000000ULL / SIMMM_HZ);
}

int simmm_sched_enter_nonblock(simmm_sim *sim)
{
	struct simmm_sched *s;

	if (!simmm__sim_ok(sim))
		return -EINVAL;
	s = simmm__sched_get(sim);
	if (s)
		s->cur->nonblock++;
	return 0;
}

int simmm_sched_exit_nonblock(simmm_sim *sim)
{
	struct simmm_sched *s;

	if (!simmm__sim_ok(sim))
		return -EINVAL;
	s = simmm__sched_get(sim);
	if (!s)
		return 0;
	if (s->cur->nonblock == 0) {
		simmm__report(sim, SIMMM_REPORT_LOCKDEP,
			      "lockdep: task %u '%s' leaves a non-blockable section it is not in",
			      s->cur->id, s->cur->name);
		return -EPERM;
	}
	s->cur->nonblock--;
	return 0;
}

bool simmm_sched_in_atomic(const simmm_sim *sim)
{
	const struct simmm_sched *s = simmm__sim_ok(sim) ? sim->sched : NULL;
	return s && (s->cur->atomic || s->cur->nonblock);
}

int simmm_might_sleep(simmm_sim *sim, const char *what)
{
	if (!simmm__sim_ok(sim))
		return -EINVAL;
	return simmm__ld_might_sleep(simmm__sched_get(sim), what ? what : "might_sleep", "");
}

/* }==================================================================== */
