// SPDX-License-Identifier: MIT
/*
 * Completions, wait queues with conditions, and SRCU.
 *
 * All waits go through wait_cond(): check the condition, sleep on the
 * object until woken (or the deadline), check again. Conditions are only
 * re-evaluated after a wake-up, so a waker that forgets to wake leaves the
 * waiter asleep, and the run ends in a reported deadlock, as a lost wake-up
 * would in the kernel.
 */
#include "core/sched_internal.h"

typedef bool (*ready_fn)(simmm_sim *sim, void *arg);

#define NO_TIMEOUT UINT64_MAX

static uint64_t ms_to_ns(uint64_t ms)
{
	return ms > UINT64_MAX / 1000000ULL - 1 ? UINT64_MAX - 1 : ms * 1000000ULL;
}

/* Wait on @w until @ready(@arg): 0, -ETIMEDOUT, or -EDEADLK. */
static int wait_cond(struct simmm_sched *s, const struct simmm_waitinfo *w, ready_fn ready,
		     void *arg, uint64_t timeout_ns)
{
	uint64_t now = s ? s->now_ns : 0;
	uint64_t deadline = timeout_ns == NO_TIMEOUT || timeout_ns > UINT64_MAX - now
				    ? NO_TIMEOUT
				    : now + timeout_ns;
	int err;

	for (;;) {
		if (ready(s ? s->sim : NULL, arg))
			return 0;
		if (deadline == NO_TIMEOUT) {
			err = simmm__sched_wait(s, w, 0);
		} else {
			if (!s || s->now_ns >= deadline)
				return -ETIMEDOUT;
			err = simmm__sched_wait(s, w, deadline - s->now_ns);
		}
		if (err == -ETIMEDOUT)
			return ready(s->sim, arg) ? 0 : -ETIMEDOUT;
		if (err)
			return err;
	}
}

/* Entry of every sleeping wait: number the object, check, scheduling point. */
static int wait_checks(struct simmm_sched *s, struct simmm_lock_map *map, const char *what)
{
	int err;

	simmm__ld_map_id(s, map);
	err = simmm__ld_might_sleep(s, what, map->name);
	if (err)
		return err;
	simmm__sched_point(s, what);
	return 0;
}

static struct simmm_waitinfo map_wait(const struct simmm_lock_map *map, const char *what,
				      uint8_t kind)
{
	return (struct simmm_waitinfo){.obj = map, .what = what, .name = map->name,
				       .id = map->id, .owner = -1, .kind = kind};
}

/* {==================================================================== */
/* completions                                                            */

void simmm_init_completion(struct simmm_completion *c, const char *name)
{
	if (!c)
		return;
	simmm__ld_map_init(&c->map, name, "completion");
	c->done = 0;
}

void simmm_reinit_completion(struct simmm_completion *c)
{
	if (c)
		c->done = 0;
}

static int complete_n(simmm_sim *sim, struct simmm_completion *c, bool all)
{
	struct simmm_sched *s;

	if (!simmm__sim_ok(sim) || !c)
		return -EINVAL;
	s = simmm__sched_get(sim);
	simmm__ld_map_id(s, &c->map);
	if (all)
		c->done = UINT32_MAX;
	else if (c->done < UINT32_MAX - 1)
		c->done++;
	simmm__sched_wake(s, &c->map, 0, c->map.id);
	simmm__sched_point(s, "complete");
	return 0;
}

int simmm_complete(simmm_sim *sim, struct simmm_completion *c)
{
	return complete_n(sim, c, false);
}

int simmm_complete_all(simmm_sim *sim, struct simmm_completion *c)
{
	return complete_n(sim, c, true);
}

static bool completion_ready(simmm_sim *sim, void *arg)
{
	(void)sim;
	return ((struct simmm_completion *)arg)->done != 0;
}

static void completion_consume(struct simmm_completion *c)
{
	if (c->done != UINT32_MAX)
		c->done--;
}

static int wait_completion(simmm_sim *sim, struct simmm_completion *c, uint64_t timeout_ns)
{
	struct simmm_sched *s;
	struct simmm_waitinfo w;
	int err;

	if (!simmm__sim_ok(sim) || !c)
		return -EINVAL;
	s = simmm__sched_get(sim);
	err = wait_checks(s, &c->map, "wait_for_completion");
	if (err)
		return err;
	w = map_wait(&c->map, "completion", SIMMM_LOCK_COMPLETION);
	err = wait_cond(s, &w, completion_ready, c, timeout_ns);
	if (!err)
		completion_consume(c);
	return err;
}

int simmm_wait_for_completion(simmm_sim *sim, struct simmm_completion *c)
{
	return wait_completion(sim, c, NO_TIMEOUT);
}

int simmm_wait_for_completion_timeout(simmm_sim *sim, struct simmm_completion *c, uint64_t ms)
{
	return wait_completion(sim, c, ms_to_ns(ms));
}

int simmm_try_wait_for_completion(simmm_sim *sim, struct simmm_completion *c)
{
	if (!simmm__sim_ok(sim) || !c)
		return -EINVAL;
	if (!c->done)
		return 0;
	completion_consume(c);
	return 1;
}

bool simmm_completion_done(const struct simmm_completion *c)
{
	return c && c->done;
}

/* }==================================================================== */
/* {==================================================================== */
/* wait queues                                                            */

void simmm_waitqueue_init(struct simmm_waitqueue *wq, const char *name)
{
	if (wq)
		simmm__ld_map_init(&wq->map, name, "waitqueue");
}

static int wait_event(simmm_sim *sim, struct simmm_waitqueue *wq, simmm_wait_cond_fn cond,
		      void *arg, uint64_t timeout_ns)
{
	struct simmm_sched *s;
	struct simmm_waitinfo w;
	int err;

	if (!simmm__sim_ok(sim) || !wq || !cond)
		return -EINVAL;
	s = simmm__sched_get(sim);
	err = wait_checks(s, &wq->map, "wait_event");
	if (err)
		return err;
	w = map_wait(&wq->map, "waitqueue", SIMMM_LOCK_WAITQUEUE);
	if (!s) /* plain mode: the condition is all there is */
		return cond(sim, arg) ? 0 : (timeout_ns == NO_TIMEOUT ? -EDEADLK : -ETIMEDOUT);
	return wait_cond(s, &w, cond, arg, timeout_ns);
}

int simmm_wait_event(simmm_sim *sim, struct simmm_waitqueue *wq, simmm_wait_cond_fn cond,
		     void *arg)
{
	return wait_event(sim, wq, cond, arg, NO_TIMEOUT);
}

int simmm_wait_event_timeout(simmm_sim *sim, struct simmm_waitqueue *wq,
			     simmm_wait_cond_fn cond, void *arg, uint64_t ms)
{
	return wait_event(sim, wq, cond, arg, ms_to_ns(ms));
}

int simmm_wake_up_all(simmm_sim *sim, struct simmm_waitqueue *wq)
{
	struct simmm_sched *s;
	int n;

	if (!simmm__sim_ok(sim) || !wq)
		return -EINVAL;
	s = simmm__sched_get(sim);
	simmm__ld_map_id(s, &wq->map);
	n = simmm__sched_wake(s, &wq->map, 0, wq->map.id);
	simmm__sched_point(s, "wake_up_all");
	return n;
}

/* }==================================================================== */
/* {==================================================================== */
/* SRCU                                                                   */

/* Held records of a read section use the slot as key; synchronize_srcu's
 * momentary acquisition (which teaches lockdep "sync under X" orders) uses
 * SRCU_SYNC_KEY. */
#define SRCU_SYNC_KEY 2

void simmm_srcu_init(struct simmm_srcu *sp, const char *name)
{
	if (!sp)
		return;
	simmm__ld_map_init(&sp->map, name, "srcu");
	sp->readers[0] = sp->readers[1] = 0;
	sp->idx = 0;
	sp->syncing = 0;
}

static bool srcu_reader(const struct simmm_sched *s, const struct simmm_srcu *sp)
{
	return s && (simmm__ld_find(s->cur, &sp->map, 0) || simmm__ld_find(s->cur, &sp->map, 1));
}

int simmm_srcu_read_lock(simmm_sim *sim, struct simmm_srcu *sp)
{
	struct simmm_sched *s;
	struct simmm_held h;
	uint32_t idx;

	if (!simmm__sim_ok(sim) || !sp)
		return -EINVAL;
	s = simmm__sched_get(sim);
	simmm__ld_map_id(s, &sp->map);
	if (srcu_reader(s, sp)) {
		simmm__ld_report_recursion(s, "srcu read section", sp->map.name, sp->map.id);
		return -EDEADLK;
	}
	simmm__sched_point(s, "srcu_read_lock");
	idx = sp->idx & 1;
	sp->readers[idx]++;
	h = (struct simmm_held){.obj = &sp->map, .key = idx, .name = sp->map.name,
				.id = sp->map.id, .cls = sp->map.cls, .kind = SIMMM_LOCK_SRCU,
				.mode = SIMMM_LOCK_READ};
	simmm__ld_acquire(s, &h, true);
	if (s && s->running)
		simmm__sched_trace(s, SIMMM_EV_LOCK_ACQUIRE, sp->map.id, SIMMM_LOCK_SRCU,
				   SIMMM_LOCK_READ);
	return (int)idx;
}

int simmm_srcu_read_unlock(simmm_sim *sim, struct simmm_srcu *sp, int idx)
{
	struct simmm_sched *s;

	if (!simmm__sim_ok(sim) || !sp || idx < 0 || idx > 1)
		return -EINVAL;
	s = simmm__sched_get(sim);
	simmm__ld_map_id(s, &sp->map);
	if (!sp->readers[idx] || (s && !simmm__ld_find(s->cur, &sp->map, (uint64_t)idx))) {
		simmm__ld_report_unheld(s, "srcu read section", sp->map.name, sp->map.id);
		return -EPERM;
	}
	sp->readers[idx]--;
	simmm__ld_release(s, s ? s->cur : NULL, &sp->map, (uint64_t)idx);
	if (s && s->running)
		simmm__sched_trace(s, SIMMM_EV_LOCK_RELEASE, sp->map.id, SIMMM_LOCK_SRCU,
				   SIMMM_LOCK_READ);
	if (!sp->readers[idx])
		simmm__sched_wake(s, &sp->map, 0, sp->map.id);
	simmm__sched_point(s, "srcu_read_unlock");
	return 0;
}

static bool srcu_idle(simmm_sim *sim, void *arg)
{
	(void)sim;
	return !((struct simmm_srcu *)arg)->syncing;
}

struct srcu_drain {
	struct simmm_srcu *sp;
	uint32_t slot;
};

static bool srcu_drained(simmm_sim *sim, void *arg)
{
	const struct srcu_drain *d = arg;
	(void)sim;
	return d->sp->readers[d->slot] == 0;
}

/* Teach lockdep that the caller's held locks come before @sp's readers. */
static void srcu_sync_dependency(struct simmm_sched *s, struct simmm_srcu *sp)
{
	struct simmm_held h = {.obj = &sp->map, .key = SRCU_SYNC_KEY, .name = sp->map.name,
			       .id = sp->map.id, .cls = sp->map.cls, .kind = SIMMM_LOCK_SRCU,
			       .mode = SIMMM_LOCK_WRITE};

	simmm__ld_acquire(s, &h, true);
	simmm__ld_release(s, s ? s->cur : NULL, &sp->map, SRCU_SYNC_KEY);
}

int simmm_synchronize_srcu(simmm_sim *sim, struct simmm_srcu *sp)
{
	struct simmm_sched *s;
	struct simmm_waitinfo w;
	struct srcu_drain d;
	int err;

	if (!simmm__sim_ok(sim) || !sp)
		return -EINVAL;
	s = simmm__sched_get(sim);
	simmm__ld_map_id(s, &sp->map);
	err = simmm__ld_might_sleep(s, "synchronize_srcu", sp->map.name);
	if (err)
		return err;
	if (srcu_reader(s, sp)) {
		simmm__ld_report_recursion(s, "srcu (synchronize inside read section)",
					   sp->map.name, sp->map.id);
		return -EDEADLK;
	}
	/* No scheduling point before the flip: a reader that enters after
	 * the call began is never waited for. */
	srcu_sync_dependency(s, sp);
	w = map_wait(&sp->map, "synchronize_srcu", SIMMM_LOCK_SRCU);
	/* One synchronizer at a time: with two slots, a second flip while the
	 * first waits would let pre-existing readers escape the second. */
	err = wait_cond(s, &w, srcu_idle, sp, NO_TIMEOUT);
	if (err)
		return err;
	sp->syncing = 1;
	d = (struct srcu_drain){.sp = sp, .slot = sp->idx & 1};
	sp->idx = d.slot ^ 1;
	err = wait_cond(s, &w, srcu_drained, &d, NO_TIMEOUT);
	sp->syncing = 0;
	simmm__sched_wake(s, &sp->map, 0, sp->map.id);
	simmm__sched_point(s, "synchronize_srcu");
	return err;
}

/* }==================================================================== */
