/* SPDX-License-Identifier: MIT */
/*
 * Deterministic scheduler internals (src/core/sched*.c, lockdep.c).
 *
 * One struct simmm_sched hangs off an instance, created on first use.
 * Tasks are fibers; the context outside tasks is the pseudo-task "main"
 * (id 0), which owns its own held-lock stack so that lock checking works
 * without any task.
 *
 * Invariants:
 *  - s->cur is the running task, &s->main outside tasks and in the run
 *    loop; sim->cur_task == s->cur->id.
 *  - tasks[id - base] for base <= id < next_id; NULL once discarded.
 *  - nr_live counts tasks not DONE; nr_blocked counts BLOCKED + SLEEPING.
 *  - A BLOCKED task has a wait object; a SLEEPING one also a deadline.
 *    Wake-ups match (wait.obj, wait.key) exactly.
 *  - Only the running task changes lock state; control moves between tasks
 *    only at scheduling points (sched_fiber.c), so no lock here needs
 *    atomics.
 */
#ifndef SIMMM_CORE_SCHED_INTERNAL_H
#define SIMMM_CORE_SCHED_INTERNAL_H

#include <simmm/sched.h>

#include "core/internal.h"

struct simmm_fiber; /* ucontext and stack; sched_fiber.c only */

/* One held lock, as lockdep sees it. */
struct simmm_held {
	const void *obj;   /* the lock map, or the word of a bit lock */
	uint64_t key;      /* bit-lock key; srcu slot */
	const char *name;  /* copied at acquire: never dereference @obj later */
	uint32_t id;       /* lock id (trace addr) */
	uint32_t cls;      /* lockdep class; 0 = not in the order graph */
	uint8_t kind;      /* enum simmm_lock_kind */
	uint8_t mode;      /* enum simmm_lock_mode */
};

/* What a blocked task waits for (shown in deadlock reports). */
struct simmm_waitinfo {
	const void *obj;   /* matched by wake-ups */
	uint64_t key;
	const char *what;  /* "mutex", "rwsem write", "sleep", ... */
	const char *name;  /* the object's name */
	uint64_t id;       /* lock id (or bit-lock key) */
	int64_t owner;     /* exclusive holder's task id, -1 unknown */
	uint8_t kind;      /* enum simmm_lock_kind, 0 for sleep */
};

struct simmm_task {
	uint32_t id;
	uint8_t state;                /* enum simmm_task_state (never RUNNING) */
	bool timed_out;               /* the last wait ended by its deadline */
	char name[SIMMM_SCHED_NAME_MAX + 1];
	simmm_task_fn fn;
	void *arg;
	struct simmm_sched *sched;
	struct simmm_fiber *fiber;    /* main: the run loop's context */
	struct simmm_waitinfo wait;
	uint64_t deadline;            /* SLEEPING: wake at this virtual ns */
	const char *last_point;       /* label of the last simmm_sched_point() */
	struct simmm_held *held;      /* lockdep: held locks, oldest first */
	size_t nr_held, cap_held;
	/* Held bit locks (folio locks: a migration holds hundreds), apart
	 * from @held so the order check never walks them (they have no
	 * class): live entries in [bits_lo, bits_hi), oldest first; a
	 * released one is a hole (obj NULL) until an end reaches it. Found
	 * through the scheduler's owner table (struct simmm_bit_owner). */
	struct simmm_held *bits;
	size_t bits_lo, bits_hi, bits_live, cap_bits;
	unsigned atomic;              /* spinlocks held */
	unsigned nonblock;            /* non-blockable sections entered */
	uint64_t prio;                /* PCT priority, higher runs first */
	uint64_t nr_woken;            /* blocking waits another task ended */
	uint32_t flags;               /* the upper layers' bits (simmm__task_flags()) */
};

/* Lockdep state: classes, the dependency graph, the key -> class map. */
struct ld_class;
struct simmm_lockdep {
	bool enabled;
	uint32_t next_id;             /* lock ids handed out */
	struct ld_class *classes;     /* [0] unused */
	size_t nr_classes, cap_classes;
	uint64_t *edges;              /* hash set of (from << 32 | to) */
	size_t nr_edges, cap_edges;   /* cap: 0 or a power of two */
	const void **keys;            /* hash map class key -> class */
	uint32_t *key_cls;
	size_t nr_keys, cap_keys;
	uint32_t *dfs;                /* scratch stack for cycle search */
	size_t cap_dfs;
	uint32_t gen;                 /* DFS visit mark */
};

enum { SCHED_STOP_NONE = 0, SCHED_STOP_LIMIT };

/* Who holds a bit lock: (word, key) -> task and index in its @bits. A
 * bit lock has one holder, so one table per scheduler finds it in O(1)
 * for any release order and for a release by another task (hand-off).
 * Open addressing, linear probing; word NULL = empty slot. */
struct simmm_bit_owner {
	const void *word;
	uint64_t key;
	struct simmm_task *t;
	size_t idx;
};

struct simmm_sched {
	simmm_sim *sim;
	struct simmm_task main;       /* id 0: the context outside tasks */
	struct simmm_task *cur;
	struct simmm_bit_owner *bo;   /* held bit locks (lockdep.c) */
	size_t bo_cap, bo_n;
	struct simmm_task **tasks;    /* by id - base */
	size_t cap_tasks;
	uint32_t base, next_id;
	uint32_t nr_live, nr_blocked;
	bool running;                 /* inside simmm_sched_run() */
	int stop;                     /* SCHED_STOP_*: why main was resumed */
	uint64_t max_step;            /* absolute step limit of this run, 0 none */
	bool from_main;               /* ASan: the switch in flight left main */

	/* policy (sched_policy.c) */
	struct simmm_sched_config cfg;/* cfg.replay points at @replay */
	uint8_t *replay;
	size_t replay_pos;
	struct simmm_rng rng;
	uint64_t pct_change[64];      /* absolute steps of PCT change points */
	unsigned pct_nr;
	uint32_t last_pick;
	uint32_t *runnable;           /* scratch: runnable ids */
	size_t cap_runnable;

	/* record */
	uint32_t *log;                /* ids picked */
	size_t nr_log, cap_log;
	uint8_t *choices;             /* replay encoding */
	size_t nr_choices, cap_choices;

	/* time */
	uint64_t now_ns, steps, run_start, last_run_steps;

	struct simmm_lockdep ld;
};

/* ---- sched.c ----------------------------------------------------------- */

struct simmm_sched *simmm__sched_create(simmm_sim *sim);

/* The scheduler, created on first use; NULL only if that failed (callers
 * then run in plain mode without checks). */
static inline struct simmm_sched *simmm__sched_get(simmm_sim *sim)
{
	return SIMMM_LIKELY(sim->sched != NULL) ? sim->sched : simmm__sched_create(sim);
}

static inline uint32_t simmm__sched_cur_id(const struct simmm_sched *s)
{
	return s ? s->cur->id : 0;
}

struct simmm_task *simmm__sched_task(const struct simmm_sched *s, uint32_t id);
const char *simmm__task_name(const struct simmm_sched *s, uint32_t id);
void simmm__sched_trace(struct simmm_sched *s, uint32_t type, uint64_t addr,
			uint64_t arg0, uint64_t arg1);

/* ---- sched_fiber.c ------------------------------------------------------ */

int simmm__fiber_new(struct simmm_sched *s, struct simmm_task *t, size_t stack_size);
void simmm__fiber_free(struct simmm_sched *s, struct simmm_task *t);
void simmm__fiber_main_init(struct simmm_sched *s);
void simmm__fiber_main_fini(struct simmm_sched *s);
/* Switch from the run loop to @next; returns when a task hands back. */
void simmm__sched_enter(struct simmm_sched *s, struct simmm_task *next);
void simmm__sched_point_slow(struct simmm_sched *s, const char *label);

/* A scheduling point: nothing at all outside a run. */
static inline void simmm__sched_point(struct simmm_sched *s, const char *label)
{
	if (s && s->running)
		simmm__sched_point_slow(s, label);
}

/* Wait for @w to be woken (0), the timeout to pass (-ETIMEDOUT; 0 ns =
 * none), or fail with -EDEADLK when nothing could ever wake the caller
 * (outside a run: reported). Callers re-check their condition on 0. */
int simmm__sched_wait(struct simmm_sched *s, const struct simmm_waitinfo *w,
		      uint64_t timeout_ns);
/* Wake every task waiting on (@obj, @key); returns how many. @id is the
 * object's id for the trace. */
int simmm__sched_wake(struct simmm_sched *s, const void *obj, uint64_t key, uint64_t id);

/* ---- sched_policy.c ----------------------------------------------------- */

void simmm__policy_reset(struct simmm_sched *s);
void simmm__policy_spawned(struct simmm_sched *s, struct simmm_task *t);
/* Pick and record the next task (advancing the clock); NULL if none can run. */
struct simmm_task *simmm__sched_pick(struct simmm_sched *s);
void simmm__policy_fini(struct simmm_sched *s);

/* ---- lockdep.c ---------------------------------------------------------- */

void simmm__ld_map_init(struct simmm_lock_map *map, const char *name, const char *dflt);
/* Number @map in @s on first use; returns its id (0 without @s). */
uint32_t simmm__ld_map_id(struct simmm_sched *s, struct simmm_lock_map *map);
/* 0, or -EPERM after a report when the current context may not sleep. */
int simmm__ld_might_sleep(struct simmm_sched *s, const char *what, const char *name);
struct simmm_held *simmm__ld_find(const struct simmm_task *t, const void *obj, uint64_t key);
struct simmm_held *simmm__ld_find_bit(const struct simmm_task *t, const void *word, uint64_t key);
size_t simmm__ld_nr_held(const struct simmm_task *t);
/* Forget bit lock (@word, @key) in whichever task holds it (a bit lock
 * may be released by another task: hand-off); false if none does. */
bool simmm__ld_release_bit(struct simmm_sched *s, const void *word, uint64_t key);
/* Forget every bit lock @t holds (its exit or its freeing). */
void simmm__ld_forget_bits(struct simmm_sched *s, struct simmm_task *t);
/* Learn "held locks before @h" and report an inversion. Blocking acquires
 * call it before they wait, so an inversion is reported even when this
 * very run deadlocks on it; trylocks never (they cannot wait). */
void simmm__ld_order(struct simmm_sched *s, const struct simmm_held *h);
/* Record an acquisition by the current context (and its order if @order). */
void simmm__ld_acquire(struct simmm_sched *s, const struct simmm_held *h, bool order);
/* Forget @obj/@key held by @t; false if @t did not hold it. */
bool simmm__ld_release(struct simmm_sched *s, struct simmm_task *t, const void *obj,
		       uint64_t key);
void simmm__ld_report_recursion(struct simmm_sched *s, const char *what, const char *name,
				uint64_t id);
void simmm__ld_report_unheld(struct simmm_sched *s, const char *what, const char *name,
			     uint64_t id);
void simmm__ld_task_exit(struct simmm_sched *s, struct simmm_task *t);
/* "mutex 'a' (id 1), ..." into @buf; returns the length written. */
size_t simmm__ld_describe_held(const struct simmm_task *t, char *buf, size_t len);
void simmm__ld_fini(struct simmm_sched *s);

#endif
