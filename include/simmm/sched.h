/* SPDX-License-Identifier: MIT */
/**
 * DOC: deterministic concurrency
 *
 * Simulated tasks (the CPU threads of an mm, device workers, a reclaim
 * thread) are fibers that run on the one OS thread that calls
 * simmm_sched_run(). A task runs until it reaches a scheduling point: every
 * lock acquire and release, every wait and wake, simmm_sched_yield() and
 * simmm_sched_point(). There the scheduler policy picks which runnable task
 * continues, and the choice is recorded. The same seed (or the same replay
 * byte string) gives the same schedule and the same trace, byte for byte.
 *
 * Code that never spawns a task runs without any switching: a lock
 * operation is then a plain state update plus the lock checks below, and a
 * lock that would have to wait is a deadlock by construction (nothing could
 * ever release it): it is reported as SIMMM_REPORT_DEADLOCK and the call
 * returns -EDEADLK instead of hanging.
 *
 * Lock checking (a small lockdep) runs in both modes: lock-order inversion
 * (a cycle in the dependency graph of lock classes, over the whole life of
 * the instance), recursion on a non-recursive lock, release of a lock not
 * held, sleeping while atomic (a spinlock held) or inside a non-blockable
 * section, and locks still held when a task exits. Each is a
 * SIMMM_REPORT_LOCKDEP naming the tasks and locks; the offending call
 * returns an error and leaves the lock state as it was, except for an order
 * inversion, which is reported once and then proceeds (like the kernel, the
 * order is a hazard, not an error of this particular acquisition).
 *
 * Virtual time: a clock in nanoseconds that advances by a quantum at every
 * scheduling point inside a run, and by simmm_sched_sleep(). Timeouts are
 * measured on it, so they are as deterministic as the schedule.
 *
 * Locks are plain structs embedded in the caller's objects, initialised with
 * the *_init() functions (or the SIMMM_*_INIT() initialisers) and used with
 * one instance. Every lock function takes the instance first. A lock has no
 * destructor; after simmm_sched_reset() locks that abandoned tasks held must
 * be initialised again.
 *
 * Context: an instance and its tasks belong to one OS thread at a time.
 */
#ifndef SIMMM_SCHED_H
#define SIMMM_SCHED_H

#include <simmm/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==================================================================== */
/* Tasks and the scheduler                                              */
/* ==================================================================== */

/** SIMMM_SCHED_STACK_DEFAULT - default task stack size in bytes. */
#define SIMMM_SCHED_STACK_DEFAULT (64u * 1024u)
/** SIMMM_SCHED_STACK_MIN - smallest accepted task stack. */
#define SIMMM_SCHED_STACK_MIN (16u * 1024u)
/** SIMMM_SCHED_NAME_MAX - task names are truncated to this many bytes. */
#define SIMMM_SCHED_NAME_MAX 31
/** SIMMM_HZ - simulated jiffies per second (a jiffy is 1 ms). */
#define SIMMM_HZ 1000

/** typedef simmm_task_fn - a task's body; the task exits when it returns. */
typedef void (*simmm_task_fn)(simmm_sim *sim, void *arg);

/** enum simmm_task_state - what a task is doing. */
enum simmm_task_state {
	SIMMM_TASK_RUNNABLE = 0, /* ready, waiting to be picked */
	SIMMM_TASK_RUNNING,      /* the current task */
	SIMMM_TASK_BLOCKED,      /* waiting for a lock, event or wake-up */
	SIMMM_TASK_SLEEPING,     /* waiting with a deadline on the virtual clock */
	SIMMM_TASK_DONE,         /* returned from its function */
};

/** enum simmm_sched_policy - how the next task is picked. */
enum simmm_sched_policy {
	SIMMM_SCHED_RANDOM = 0,  /* uniform among runnable tasks (the default) */
	SIMMM_SCHED_RR,          /* round robin: the next runnable id after the last */
	SIMMM_SCHED_PCT,         /* probabilistic concurrency testing, depth d */
	SIMMM_SCHED_REPLAY,      /* choices from a byte string, then round robin */
};

/** enum simmm_sched_result - positive outcomes of simmm_sched_run(). */
enum simmm_sched_result {
	SIMMM_SCHED_DONE = 0,       /* every task finished */
	SIMMM_SCHED_DEADLOCK = 1,   /* every live task is blocked with no deadline */
	SIMMM_SCHED_STEP_LIMIT = 2, /* @max_steps scheduling points were taken */
};

/**
 * struct simmm_sched_config - scheduler settings.
 * @policy: see enum simmm_sched_policy.
 * @seed: seeds RANDOM and PCT choices; simmm_sched_config_init() sets it
 *        from the instance seed.
 * @pct_depth: PCT bug depth d >= 1 (d - 1 priority change points); 0 = 3.
 * @pct_steps: PCT estimate k of the scheduling points in a run; change
 *             points are drawn from [1, k]. 0 = the step count of the
 *             previous run of this instance, or 1000 before any run.
 * @replay: for SIMMM_SCHED_REPLAY, the choice bytes (copied; any bytes are
 *          accepted). Each choice among n > 1 runnable tasks reads one
 *          LEB128 varint v and picks runnable[v % n] (ids ascending); when
 *          the bytes run out (or end inside a varint) the policy continues
 *          as round robin.
 * @replay_len: length of @replay.
 * @quantum_ns: virtual time added at every scheduling point; 0 = 1000 ns.
 */
struct simmm_sched_config {
	enum simmm_sched_policy policy;
	uint64_t seed;
	unsigned pct_depth;
	uint64_t pct_steps;
	const uint8_t *replay;
	size_t replay_len;
	uint64_t quantum_ns;
};

/**
 * simmm_sched_config_init() - fill @cfg with the defaults.
 * @sim: the instance (its seed becomes @cfg->seed); may be NULL (seed 1).
 * @cfg: the configuration to fill; nothing happens for NULL.
 *
 * Defaults: SIMMM_SCHED_RANDOM, seed = instance seed, PCT depth 3, k from
 * the previous run, no replay bytes, 1 us quantum.
 *
 * Context: any; does not touch the scheduler.
 */
SIMMM_API void simmm_sched_config_init(simmm_sim *sim, struct simmm_sched_config *cfg);

/**
 * simmm_sched_configure() - set the policy for the following choices.
 * @sim: the instance.
 * @cfg: the settings (copied, replay bytes included).
 *
 * Restarts the policy's random stream (and PCT priorities and change
 * points, the replay cursor) but not the recorded schedule or the clock.
 * Normally called before the first simmm_sched_run().
 *
 * Context: outside a run (not from a task).
 * Return: 0; -EINVAL for NULL @sim or @cfg, an unknown policy, or a replay
 * policy with NULL @replay and nonzero @replay_len; -EBUSY when called from
 * a task; -ENOMEM if the scheduler or the replay copy cannot be allocated
 * (the previous settings stay).
 */
SIMMM_API int simmm_sched_configure(simmm_sim *sim, const struct simmm_sched_config *cfg);

/**
 * simmm_sched_replay() - shorthand: replay @bytes, other settings default.
 * @sim: the instance.
 * @bytes: a schedule from simmm_sched_export() or any byte string
 *         (e.g. a fuzzer input); NULL only with @len 0.
 * @len: its length.
 *
 * Context: outside a run.
 * Return: as simmm_sched_configure().
 */
SIMMM_API int simmm_sched_replay(simmm_sim *sim, const uint8_t *bytes, size_t len);

/**
 * simmm_sched_spawn() - create a task that will run @fn(@sim, @arg).
 * @sim: the instance.
 * @name: for reports and simmm_sched_task_name() (copied, truncated to
 *        SIMMM_SCHED_NAME_MAX bytes); NULL gives "task<id>".
 * @fn: the task body.
 * @arg: its argument.
 *
 * The task gets a SIMMM_SCHED_STACK_DEFAULT stack and the next id (ids
 * start at 1 and are never reused by an instance). It first runs inside
 * simmm_sched_run(); a task may spawn further tasks.
 *
 * Context: outside a run or from a task.
 * Return: the task id (> 0); -EINVAL for NULL @sim or @fn; -ENOMEM if the
 * task or its stack cannot be allocated (nothing changes).
 */
SIMMM_API int simmm_sched_spawn(simmm_sim *sim, const char *name, simmm_task_fn fn,
				void *arg);

/**
 * simmm_sched_spawn_stack() - simmm_sched_spawn() with a stack size.
 * @sim: the instance.
 * @name: as for simmm_sched_spawn().
 * @fn: the task body.
 * @arg: its argument.
 * @stack_size: bytes (rounded up to 16); 0 = SIMMM_SCHED_STACK_DEFAULT.
 *
 * The lowest bytes of the stack hold a canary checked at every switch: an
 * overflow aborts with a message instead of corrupting the heap silently.
 *
 * Context: outside a run or from a task.
 * Return: the task id; -EINVAL also for @stack_size below
 * SIMMM_SCHED_STACK_MIN or above 1 GiB; otherwise as simmm_sched_spawn().
 */
SIMMM_API int simmm_sched_spawn_stack(simmm_sim *sim, const char *name, simmm_task_fn fn,
				      void *arg, size_t stack_size);

/**
 * simmm_sched_run() - run the tasks until they finish, block or hit a limit.
 * @sim: the instance.
 * @max_steps: stop after this many scheduling points (0 = no limit).
 *
 * Called again after SIMMM_SCHED_STEP_LIMIT, the run continues where it
 * stopped. On a deadlock one SIMMM_REPORT_DEADLOCK report lists every
 * blocked task with its wait reason and held locks; the tasks stay blocked
 * (simmm_sched_reset() discards them).
 *
 * Context: from the thread that owns @sim, not from a task.
 * Return: SIMMM_SCHED_DONE (0) when every task has finished (also when
 * there was none); SIMMM_SCHED_DEADLOCK (1); SIMMM_SCHED_STEP_LIMIT (2);
 * -EINVAL for NULL @sim; -EBUSY when called from a task.
 */
SIMMM_API int simmm_sched_run(simmm_sim *sim, uint64_t max_steps);

/**
 * simmm_sched_reset() - discard every task and the recorded schedule.
 * @sim: the instance.
 *
 * Unfinished tasks are dropped without running further (their stacks are
 * freed; locks they held stay held and must be re-initialised by the
 * owner). The clock, the policy settings and the lockdep graph are kept;
 * ids keep counting. Nothing is reported.
 *
 * Context: outside a run.
 * Return: 0; -EINVAL for NULL @sim; -EBUSY from a task.
 */
SIMMM_API int simmm_sched_reset(simmm_sim *sim);

/**
 * simmm_sched_yield() - an explicit scheduling point (traced as a yield).
 * @sim: the instance.
 *
 * Context: any; does nothing outside a run. Not a sleep: allowed while
 * atomic.
 */
SIMMM_API void simmm_sched_yield(simmm_sim *sim);

/**
 * simmm_sched_point() - a cheap untraced scheduling point.
 * @sim: the instance.
 * @label: a static string remembered as the task's last point (shown in
 *         deadlock reports); may be NULL.
 *
 * Context: any; one load and a branch outside a run.
 */
SIMMM_API void simmm_sched_point(simmm_sim *sim, const char *label);

/**
 * simmm_sched_sleep() - sleep for @ms milliseconds of virtual time.
 * @sim: the instance.
 * @ms: milliseconds (0 is a plain scheduling point).
 *
 * In a task the task sleeps and others run; outside a run the clock simply
 * advances.
 *
 * Context: may sleep: not while atomic or non-blockable.
 * Return: 0; -EINVAL for NULL @sim; -EPERM (and a lockdep report) when
 * called while atomic or non-blockable.
 */
SIMMM_API int simmm_sched_sleep(simmm_sim *sim, uint64_t ms);

/** simmm_sched_current() - id of the running task; 0 outside tasks or for NULL. */
SIMMM_API uint32_t simmm_sched_current(const simmm_sim *sim);

/**
 * simmm_sched_nr_tasks() - tasks spawned since create or the last reset.
 * @sim: the instance; 0 for NULL or before the first spawn.
 *
 * Return: the count, finished tasks included.
 */
SIMMM_API uint32_t simmm_sched_nr_tasks(const simmm_sim *sim);

/**
 * simmm_sched_task_state() - a task's state.
 * @sim: the instance.
 * @id: a task id.
 *
 * Return: an enum simmm_task_state value; -EINVAL for NULL @sim; -ENOENT
 * for id 0, an unknown id or a task discarded by simmm_sched_reset().
 */
SIMMM_API int simmm_sched_task_state(const simmm_sim *sim, uint32_t id);

/**
 * simmm_sched_task_name() - a task's name.
 * @sim: the instance.
 * @id: a task id; 0 names the context outside tasks ("main").
 *
 * Return: the name, valid until reset or destroy; NULL for NULL @sim or an
 * unknown id.
 */
SIMMM_API const char *simmm_sched_task_name(const simmm_sim *sim, uint32_t id);

/**
 * simmm_sched_schedule() - the recorded schedule.
 * @sim: the instance.
 * @ids: receives the array of task ids picked at each scheduling point
 *       (oldest first; valid until the next run, reset or destroy); may be
 *       NULL to ask for the length only.
 *
 * Return: the number of recorded picks (0 for NULL @sim or none).
 */
SIMMM_API size_t simmm_sched_schedule(const simmm_sim *sim, const uint32_t **ids);

/**
 * simmm_sched_export() - the schedule as a replay byte string.
 * @sim: the instance.
 * @buf: receives up to @len bytes; may be NULL when @len is 0.
 * @len: capacity of @buf.
 *
 * Only real choices (more than one runnable task) are encoded, as LEB128
 * varints of the index among runnable tasks. Feeding the bytes to
 * simmm_sched_replay() on a fresh instance running the same program
 * reproduces the schedule and the trace exactly.
 *
 * Return: the full length of the encoding (copy truncated to @len, like
 * snprintf); -EINVAL for NULL @sim, or NULL @buf with nonzero @len.
 */
SIMMM_API long simmm_sched_export(const simmm_sim *sim, uint8_t *buf, size_t len);

/** simmm_sched_steps() - scheduling points taken in runs since create (0 for NULL). */
SIMMM_API uint64_t simmm_sched_steps(const simmm_sim *sim);

/** simmm_sched_now_ns() - the virtual clock in ns (0 for NULL or before use). */
SIMMM_API uint64_t simmm_sched_now_ns(const simmm_sim *sim);

/** simmm_sched_jiffies() - the virtual clock in jiffies (SIMMM_HZ per second; 0 for NULL). */
SIMMM_API uint64_t simmm_sched_jiffies(const simmm_sim *sim);

/**
 * simmm_msecs_to_jiffies() - convert milliseconds to jiffies.
 * @ms: milliseconds.
 * Return: jiffies (with SIMMM_HZ 1000, the same number).
 */
static inline uint64_t simmm_msecs_to_jiffies(uint64_t ms)
{
	return ms * SIMMM_HZ / 1000;
}

/**
 * simmm_sched_enter_nonblock() - enter a non-blockable section.
 * @sim: the instance.
 *
 * Until the matching simmm_sched_exit_nonblock(), anything that may sleep
 * (mutex, rwsem, bit lock, waits, synchronize_srcu, sleep) is reported as
 * "sleeping in non-blockable context" and fails with -EPERM; trylocks and
 * spinlocks stay allowed. Sections nest. Used for mmu-notifier invalidation
 * without MMU_NOTIFIER_RANGE_BLOCKABLE.
 *
 * Context: any (per task; outside tasks per instance).
 * Return: 0; -EINVAL for NULL @sim.
 */
SIMMM_API int simmm_sched_enter_nonblock(simmm_sim *sim);

/**
 * simmm_sched_exit_nonblock() - leave a non-blockable section.
 * @sim: the instance.
 *
 * Return: 0; -EINVAL for NULL @sim; -EPERM (and a lockdep report) when not
 * inside a section.
 */
SIMMM_API int simmm_sched_exit_nonblock(simmm_sim *sim);

/**
 * simmm_sched_in_atomic() - may the current context not sleep?
 * @sim: the instance.
 *
 * Return: true while a spinlock is held or inside a non-blockable section;
 * false otherwise and for NULL.
 */
SIMMM_API bool simmm_sched_in_atomic(const simmm_sim *sim);

/**
 * simmm_might_sleep() - assert that the caller may sleep (kernel might_sleep()).
 * @sim: the instance.
 * @what: names the operation in the report (NULL = "might_sleep").
 *
 * Return: 0 when sleeping is allowed; -EPERM after a "sleeping in atomic"
 * or "non-blockable" lockdep report otherwise; -EINVAL for NULL @sim.
 */
SIMMM_API int simmm_might_sleep(simmm_sim *sim, const char *what);

/* ==================================================================== */
/* Lock identity and lockdep                                            */
/* ==================================================================== */

/**
 * struct simmm_lock_class_key - a shared lock class.
 *
 * Locks are each their own class by default. Give several locks one class
 * (the kernel's static key per init site) by pointing them at one key that
 * outlives them; ordering rules learnt on one then apply to all.
 */
struct simmm_lock_class_key {
	char unused;
};

/**
 * struct simmm_lock_map - identity of a lock or wait object (embedded).
 * @name: for reports (not copied: keep the string alive).
 * @key: class key or NULL (own class).
 * @sim: the instance that numbered it.
 * @id: 1, 2, ... in order of first use in @sim (the "addr" of its trace
 *      events); 0 before.
 * @cls: lockdep class index (0 = not yet known).
 */
struct simmm_lock_map {
	const char *name;
	const struct simmm_lock_class_key *key;
	simmm_sim *sim;
	uint32_t id;
	uint32_t cls;
};

/** enum simmm_lock_kind - lock kinds (arg0 of LOCK_* trace events). */
enum simmm_lock_kind {
	SIMMM_LOCK_MUTEX = 1,
	SIMMM_LOCK_SPIN,
	SIMMM_LOCK_RWSEM,
	SIMMM_LOCK_BIT,
	SIMMM_LOCK_SRCU,
	SIMMM_LOCK_COMPLETION,
	SIMMM_LOCK_WAITQUEUE,
};

/** enum simmm_lock_mode - arg1 of LOCK_* events; simmm_lock_held() result. */
enum simmm_lock_mode {
	SIMMM_LOCK_NOT_HELD = 0,
	SIMMM_LOCK_READ = 1,
	SIMMM_LOCK_WRITE = 2, /* exclusive: mutex, spin, rwsem write, bit */
};

/**
 * simmm_lockdep_set_class() - put a lock into the class of @key.
 * @map: the lock's map (e.g. &mutex->map), before its first use.
 * @key: the shared class key; NULL returns to a class of its own.
 *
 * Return: 0; -EINVAL for NULL @map; -EBUSY once the lock has been used.
 */
SIMMM_API int simmm_lockdep_set_class(struct simmm_lock_map *map,
				      const struct simmm_lock_class_key *key);

/**
 * simmm_lockdep_enable() - turn the lock-order graph on or off.
 * @sim: the instance.
 * @on: true (the default) or false.
 *
 * Off, acquisitions skip the dependency graph (useful in benchmarks);
 * recursion, unbalanced unlock and sleep-in-atomic checks stay on.
 *
 * Return: the previous setting (0 or 1); -EINVAL for NULL @sim.
 */
SIMMM_API int simmm_lockdep_enable(simmm_sim *sim, bool on);

/**
 * simmm_lock_held() - does the current context hold the lock (lockdep_is_held)?
 * @sim: the instance.
 * @map: the lock's map.
 *
 * Return: SIMMM_LOCK_READ or SIMMM_LOCK_WRITE when held by the current task
 * (or by the main context outside tasks), SIMMM_LOCK_NOT_HELD otherwise and
 * for NULL arguments.
 */
SIMMM_API enum simmm_lock_mode simmm_lock_held(const simmm_sim *sim,
					       const struct simmm_lock_map *map);

/**
 * simmm_lock_held_count() - locks held by the current context.
 * @sim: the instance.
 * Return: the count (0 for NULL).
 */
SIMMM_API unsigned simmm_lock_held_count(const simmm_sim *sim);

/* ==================================================================== */
/* Locks                                                                */
/*                                                                      */
/* Common return values of the lock functions:                          */
/*  0        success;                                                   */
/*  -EINVAL  NULL @sim or lock;                                         */
/*  -EDEADLK recursion on a non-recursive lock (lockdep report), or     */
/*           the lock can never be released: outside a run it would     */
/*           have to wait (deadlock report);                            */
/*  -EPERM   a sleeping operation while atomic or non-blockable, or a   */
/*           release of a lock the caller does not hold (lockdep        */
/*           report).                                                   */
/* A failed call leaves the lock as it was.                             */
/* ==================================================================== */

/** struct simmm_mutex - a sleeping mutex. */
struct simmm_mutex {
	struct simmm_lock_map map;
	uint32_t owner; /* task id, valid while @locked */
	bool locked;
};

/** struct simmm_spinlock - a spinning lock; holding it makes the context atomic. */
struct simmm_spinlock {
	struct simmm_lock_map map;
	uint32_t owner;
	bool locked;
};

/**
 * struct simmm_rwsem - a reader/writer semaphore (the mmap lock).
 *
 * A waiting writer blocks new readers, as in the kernel, so a recursive
 * down_read can deadlock against a writer (and is reported as recursion).
 */
struct simmm_rwsem {
	struct simmm_lock_map map;
	uint32_t readers;       /* read holders */
	uint32_t owner;         /* writer task id, valid while @write_locked */
	uint32_t write_waiters; /* writers blocked in down_write */
	bool write_locked;
};

/** struct simmm_completion - the kernel's struct completion. */
struct simmm_completion {
	struct simmm_lock_map map;
	uint32_t done; /* UINT32_MAX after complete_all() */
};

/** struct simmm_waitqueue - a wait queue head for condition waits. */
struct simmm_waitqueue {
	struct simmm_lock_map map;
};

/**
 * struct simmm_srcu - a sleepable-RCU domain.
 *
 * Readers count into one of two slots; synchronize flips the slot and waits
 * for the old one to drain, one synchronizer at a time.
 */
struct simmm_srcu {
	struct simmm_lock_map map;
	uint32_t readers[2];
	uint32_t idx;      /* slot new readers use */
	uint32_t syncing;  /* a synchronize_srcu is in progress */
};

#define SIMMM_LOCK_MAP_INIT(n) { .name = (n), .key = NULL, .sim = NULL, .id = 0, .cls = 0 }
/** SIMMM_MUTEX_INIT() - static initialiser of a struct simmm_mutex named @n. */
#define SIMMM_MUTEX_INIT(n) { .map = SIMMM_LOCK_MAP_INIT(n), .owner = 0, .locked = false }
/** SIMMM_SPINLOCK_INIT() - static initialiser of a struct simmm_spinlock. */
#define SIMMM_SPINLOCK_INIT(n) { .map = SIMMM_LOCK_MAP_INIT(n), .owner = 0, .locked = false }
/** SIMMM_RWSEM_INIT() - static initialiser of a struct simmm_rwsem. */
#define SIMMM_RWSEM_INIT(n) { .map = SIMMM_LOCK_MAP_INIT(n), .readers = 0, .owner = 0, \
			      .write_waiters = 0, .write_locked = false }

/** simmm_mutex_init() - initialise @m as unlocked, named @name (NULL = "mutex"). */
SIMMM_API void simmm_mutex_init(struct simmm_mutex *m, const char *name);

/**
 * simmm_mutex_lock() - acquire a mutex, sleeping while it is taken.
 * @sim: the instance.
 * @m: the mutex.
 *
 * Context: may sleep. Scheduling point before the attempt.
 * Return: the common lock return values.
 */
SIMMM_API int simmm_mutex_lock(simmm_sim *sim, struct simmm_mutex *m);

/**
 * simmm_mutex_trylock() - acquire a mutex if free.
 * @sim: the instance.
 * @m: the mutex.
 *
 * Context: any (does not sleep). Scheduling point before the attempt.
 * Return: 1 acquired, 0 taken (also by the caller itself); -EINVAL.
 */
SIMMM_API int simmm_mutex_trylock(simmm_sim *sim, struct simmm_mutex *m);

/**
 * simmm_mutex_unlock() - release a mutex held by the caller.
 * @sim: the instance.
 * @m: the mutex.
 *
 * Context: any. Wakes the waiters; scheduling point after the release.
 * Return: 0; -EINVAL; -EPERM when the caller does not hold it.
 */
SIMMM_API int simmm_mutex_unlock(simmm_sim *sim, struct simmm_mutex *m);

/** simmm_mutex_is_locked() - true if anyone holds @m (false for NULL). */
SIMMM_API bool simmm_mutex_is_locked(const struct simmm_mutex *m);

/** simmm_spin_lock_init() - initialise @l as unlocked, named @name (NULL = "spinlock"). */
SIMMM_API void simmm_spin_lock_init(struct simmm_spinlock *l, const char *name);

/**
 * simmm_spin_lock() - acquire a spinlock; the context becomes atomic.
 * @sim: the instance.
 * @l: the lock.
 *
 * Contention is simulated as waiting (the task is not picked until the
 * holder releases), which keeps deadlocks detectable.
 *
 * Context: any. Scheduling point before the attempt.
 * Return: the common lock return values (-EDEADLK for recursion or an
 * impossible wait; never -EPERM).
 */
SIMMM_API int simmm_spin_lock(simmm_sim *sim, struct simmm_spinlock *l);

/**
 * simmm_spin_trylock() - acquire a spinlock if free.
 * @sim: the instance.
 * @l: the lock.
 * Return: 1 acquired, 0 taken; -EINVAL.
 */
SIMMM_API int simmm_spin_trylock(simmm_sim *sim, struct simmm_spinlock *l);

/**
 * simmm_spin_unlock() - release a spinlock held by the caller.
 * @sim: the instance.
 * @l: the lock.
 * Return: 0; -EINVAL; -EPERM when the caller does not hold it.
 */
SIMMM_API int simmm_spin_unlock(simmm_sim *sim, struct simmm_spinlock *l);

/** simmm_spin_is_locked() - true if anyone holds @l (false for NULL). */
SIMMM_API bool simmm_spin_is_locked(const struct simmm_spinlock *l);

/** simmm_rwsem_init() - initialise @sem as unlocked, named @name (NULL = "rwsem"). */
SIMMM_API void simmm_rwsem_init(struct simmm_rwsem *sem, const char *name);

/**
 * simmm_down_read() - acquire @sem shared.
 * @sim: the instance.
 * @sem: the semaphore.
 *
 * Waits while a writer holds it or waits for it.
 * Context: may sleep. Scheduling point before the attempt.
 * Return: the common lock return values (recursive read is -EDEADLK).
 */
SIMMM_API int simmm_down_read(simmm_sim *sim, struct simmm_rwsem *sem);

/**
 * simmm_down_read_trylock() - acquire @sem shared if possible now.
 * @sim: the instance.
 * @sem: the semaphore.
 * Context: any.
 * Return: 1 acquired, 0 not (write-held, a writer waiting, or already held
 * by the caller); -EINVAL.
 */
SIMMM_API int simmm_down_read_trylock(simmm_sim *sim, struct simmm_rwsem *sem);

/**
 * simmm_up_read() - release a shared hold of @sem.
 * @sim: the instance.
 * @sem: the semaphore.
 * Return: 0; -EINVAL; -EPERM when the caller does not hold it shared.
 */
SIMMM_API int simmm_up_read(simmm_sim *sim, struct simmm_rwsem *sem);

/**
 * simmm_down_write() - acquire @sem exclusively.
 * @sim: the instance.
 * @sem: the semaphore.
 * Context: may sleep. Scheduling point before the attempt.
 * Return: the common lock return values.
 */
SIMMM_API int simmm_down_write(simmm_sim *sim, struct simmm_rwsem *sem);

/**
 * simmm_down_write_trylock() - acquire @sem exclusively if free.
 * @sim: the instance.
 * @sem: the semaphore.
 * Return: 1 acquired, 0 not; -EINVAL.
 */
SIMMM_API int simmm_down_write_trylock(simmm_sim *sim, struct simmm_rwsem *sem);

/**
 * simmm_up_write() - release the exclusive hold of @sem.
 * @sim: the instance.
 * @sem: the semaphore.
 * Return: 0; -EINVAL; -EPERM when the caller does not hold it for write.
 */
SIMMM_API int simmm_up_write(simmm_sim *sim, struct simmm_rwsem *sem);

/**
 * simmm_downgrade_write() - turn the caller's write hold into a read hold.
 * @sim: the instance.
 * @sem: the semaphore.
 *
 * Atomically: no writer can get in between. Wakes waiting readers.
 * Return: 0; -EINVAL; -EPERM when the caller does not hold it for write.
 */
SIMMM_API int simmm_downgrade_write(simmm_sim *sim, struct simmm_rwsem *sem);

/** simmm_rwsem_is_locked() - true if @sem has any holder (false for NULL). */
SIMMM_API bool simmm_rwsem_is_locked(const struct simmm_rwsem *sem);

/*
 * Bit locks: a lock that is one bit of a caller's word, with waiters kept
 * by the scheduler under (word, key), like the kernel's folio lock and its
 * hashed folio_wait_table. The page layer keys PG_locked by pfn:
 *   simmm_bit_lock(sim, &page->flags, PG_locked, pfn)
 * so no lock object per page is needed. Bit locks are checked for
 * recursion, unbalanced unlock and held-at-exit, but (as in the kernel) are
 * not part of the lock-order graph. Unlock by another task than the locker
 * is allowed (I/O completion does that); the bit must be set.
 */

/**
 * simmm_bit_lock() - set bit @mask of *@word, waiting while it is set.
 * @sim: the instance.
 * @word: the word holding the bit.
 * @mask: a single-bit mask.
 * @key: identifies the lock in reports and trace (e.g. the pfn).
 *
 * Context: may sleep. Scheduling point before the attempt.
 * Return: the common lock return values; -EINVAL also for a @mask that is
 * not exactly one bit.
 */
SIMMM_API int simmm_bit_lock(simmm_sim *sim, uint32_t *word, uint32_t mask, uint64_t key);

/**
 * simmm_bit_trylock() - set the bit if clear.
 * @sim: the instance.
 * @word: the word.
 * @mask: a single-bit mask.
 * @key: the lock's key.
 * Context: any.
 * Return: 1 acquired, 0 already set; -EINVAL.
 */
SIMMM_API int simmm_bit_trylock(simmm_sim *sim, uint32_t *word, uint32_t mask, uint64_t key);

/**
 * simmm_bit_unlock() - clear the bit and wake its waiters.
 * @sim: the instance.
 * @word: the word.
 * @mask: a single-bit mask.
 * @key: the key it was locked with.
 * Return: 0; -EINVAL; -EPERM when the bit is not set.
 */
SIMMM_API int simmm_bit_unlock(simmm_sim *sim, uint32_t *word, uint32_t mask, uint64_t key);

/**
 * simmm_bit_wait_unlocked() - wait until the bit is clear, without taking it.
 * @sim: the instance.
 * @word: the word.
 * @mask: a single-bit mask.
 * @key: the lock's key.
 *
 * The kernel's folio_wait_locked().
 * Context: may sleep.
 * Return: 0; -EINVAL; -EPERM while atomic; -EDEADLK when the caller holds
 * the bit itself, or outside a run while it is set.
 */
SIMMM_API int simmm_bit_wait_unlocked(simmm_sim *sim, uint32_t *word, uint32_t mask,
				      uint64_t key);

/* ==================================================================== */
/* Waiting                                                              */
/* ==================================================================== */

/** typedef simmm_wait_cond_fn - a wait condition; must not sleep or block. */
typedef bool (*simmm_wait_cond_fn)(simmm_sim *sim, void *arg);

/** simmm_init_completion() - initialise @c as not done, named @name (NULL = "completion"). */
SIMMM_API void simmm_init_completion(struct simmm_completion *c, const char *name);

/**
 * simmm_reinit_completion() - make @c not done again (keeps its identity).
 * @c: the completion; nothing happens for NULL.
 */
SIMMM_API void simmm_reinit_completion(struct simmm_completion *c);

/**
 * simmm_complete() - signal one waiter (or the next wait) of @c.
 * @sim: the instance.
 * @c: the completion.
 * Context: any. Scheduling point after the wake-up.
 * Return: 0; -EINVAL.
 */
SIMMM_API int simmm_complete(simmm_sim *sim, struct simmm_completion *c);

/**
 * simmm_complete_all() - complete @c for every present and future waiter.
 * @sim: the instance.
 * @c: the completion.
 * Return: 0; -EINVAL.
 */
SIMMM_API int simmm_complete_all(simmm_sim *sim, struct simmm_completion *c);

/**
 * simmm_wait_for_completion() - wait until @c is completed, and consume it.
 * @sim: the instance.
 * @c: the completion.
 * Context: may sleep.
 * Return: 0; -EINVAL; -EPERM while atomic; -EDEADLK outside a run when not
 * completed (deadlock report).
 */
SIMMM_API int simmm_wait_for_completion(simmm_sim *sim, struct simmm_completion *c);

/**
 * simmm_wait_for_completion_timeout() - as above, at most @ms virtual ms.
 * @sim: the instance.
 * @c: the completion.
 * @ms: the timeout in milliseconds of virtual time.
 *
 * Outside a run an uncompleted wait advances the clock by @ms and times out.
 * Return: 0 completed; -ETIMEDOUT; -EINVAL; -EPERM while atomic.
 */
SIMMM_API int simmm_wait_for_completion_timeout(simmm_sim *sim, struct simmm_completion *c,
						uint64_t ms);

/**
 * simmm_try_wait_for_completion() - consume @c if completed, without waiting.
 * @sim: the instance.
 * @c: the completion.
 * Return: 1 consumed, 0 not completed; -EINVAL.
 */
SIMMM_API int simmm_try_wait_for_completion(simmm_sim *sim, struct simmm_completion *c);

/** simmm_completion_done() - true if a wait on @c would not block (false for NULL). */
SIMMM_API bool simmm_completion_done(const struct simmm_completion *c);

/** simmm_waitqueue_init() - initialise @wq, named @name (NULL = "waitqueue"). */
SIMMM_API void simmm_waitqueue_init(struct simmm_waitqueue *wq, const char *name);

/**
 * simmm_wait_event() - sleep on @wq until @cond(@sim, @arg) is true.
 * @sim: the instance.
 * @wq: the wait queue.
 * @cond: the condition, evaluated before sleeping and after each wake-up
 *        by simmm_wake_up_all() (a change without a wake-up is not seen,
 *        exactly like a lost wake-up in the kernel).
 * @arg: passed to @cond.
 *
 * Context: may sleep (even when @cond is already true, like might_sleep()).
 * Return: 0 once @cond is true; -EINVAL for NULL @sim, @wq or @cond;
 * -EPERM while atomic; -EDEADLK outside a run when @cond is false.
 */
SIMMM_API int simmm_wait_event(simmm_sim *sim, struct simmm_waitqueue *wq,
			       simmm_wait_cond_fn cond, void *arg);

/**
 * simmm_wait_event_timeout() - simmm_wait_event() for at most @ms virtual ms.
 * @sim: the instance.
 * @wq: the wait queue.
 * @cond: the condition.
 * @arg: passed to @cond.
 * @ms: the timeout in milliseconds.
 *
 * Outside a run a false @cond advances the clock by @ms and times out.
 * Return: 0 once @cond is true (also when it became true exactly at the
 * deadline); -ETIMEDOUT; -EINVAL; -EPERM while atomic.
 */
SIMMM_API int simmm_wait_event_timeout(simmm_sim *sim, struct simmm_waitqueue *wq,
				       simmm_wait_cond_fn cond, void *arg, uint64_t ms);

/**
 * simmm_wake_up_all() - wake every task sleeping on @wq.
 * @sim: the instance.
 * @wq: the wait queue.
 * Context: any. Scheduling point after the wake-up.
 * Return: the number of tasks woken; -EINVAL.
 */
SIMMM_API int simmm_wake_up_all(simmm_sim *sim, struct simmm_waitqueue *wq);

/** simmm_srcu_init() - initialise @sp, named @name (NULL = "srcu"). */
SIMMM_API void simmm_srcu_init(struct simmm_srcu *sp, const char *name);

/**
 * simmm_srcu_read_lock() - enter an SRCU read-side section.
 * @sim: the instance.
 * @sp: the domain.
 *
 * Readers may sleep inside the section.
 * Return: the index to pass to simmm_srcu_read_unlock() (0 or 1); -EINVAL;
 * -EDEADLK when the caller is already a reader of @sp (nested read
 * sections of one domain are legal in the kernel but hide
 * synchronize_srcu() deadlocks, so simmm reports them).
 */
SIMMM_API int simmm_srcu_read_lock(simmm_sim *sim, struct simmm_srcu *sp);

/**
 * simmm_srcu_read_unlock() - leave an SRCU read-side section.
 * @sim: the instance.
 * @sp: the domain.
 * @idx: the value simmm_srcu_read_lock() returned.
 * Return: 0; -EINVAL (also for @idx not 0 or 1); -EPERM when the caller is
 * not a reader of @sp with @idx.
 */
SIMMM_API int simmm_srcu_read_unlock(simmm_sim *sim, struct simmm_srcu *sp, int idx);

/**
 * simmm_synchronize_srcu() - wait for every reader that entered before the call.
 * @sim: the instance.
 * @sp: the domain.
 *
 * Readers that enter during the wait are not waited for.
 * Context: may sleep; not inside a read section of @sp.
 * Return: 0; -EINVAL; -EPERM while atomic; -EDEADLK from inside a read
 * section of @sp, or outside a run while older readers remain.
 */
SIMMM_API int simmm_synchronize_srcu(simmm_sim *sim, struct simmm_srcu *sp);

#ifdef __cplusplus
}
#endif
#endif
