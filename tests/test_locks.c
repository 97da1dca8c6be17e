// SPDX-License-Identifier: MIT
/*
 * Semantics of each lock and wait kind, with and without tasks. Task
 * bodies record observations; assertions run after simmm_sched_run().
 */
#include "testutil.h"

#include <string.h>

#define RAM (64ULL << 20)

static simmm_sim *new_sim(uint64_t seed)
{
	return tu_sim_new(NULL, RAM, seed);
}

static void use_policy(simmm_sim *sim, enum simmm_sched_policy pol)
{
	struct simmm_sched_config cfg;
	simmm_sched_config_init(sim, &cfg);
	cfg.policy = pol;
	TU_ASSERT_OK(simmm_sched_configure(sim, &cfg));
}

/* {==================================================================== */
/* no tasks                                                               */

static void test_no_tasks_plain_locks(void **state)
{
	simmm_sim *sim = new_sim(tu_seed());
	struct simmm_mutex m = SIMMM_MUTEX_INIT("m");
	struct simmm_spinlock l;
	struct simmm_rwsem sem;
	uint32_t flags = 0;

	(void)state;
	simmm_spin_lock_init(&l, "ptl");
	simmm_rwsem_init(&sem, "mmap_lock");
	TU_ASSERT_OK(simmm_mutex_lock(sim, &m));
	assert_true(simmm_mutex_is_locked(&m));
	assert_int_equal(simmm_lock_held(sim, &m.map), SIMMM_LOCK_WRITE);
	assert_int_equal(simmm_mutex_trylock(sim, &m), 0);
	TU_ASSERT_OK(simmm_mutex_unlock(sim, &m));
	assert_int_equal(simmm_mutex_trylock(sim, &m), 1);
	TU_ASSERT_OK(simmm_mutex_unlock(sim, &m));

	TU_ASSERT_OK(simmm_spin_lock(sim, &l));
	assert_true(simmm_sched_in_atomic(sim));
	TU_ASSERT_OK(simmm_spin_unlock(sim, &l));
	assert_false(simmm_sched_in_atomic(sim));

	TU_ASSERT_OK(simmm_down_read(sim, &sem));
	assert_int_equal(simmm_lock_held(sim, &sem.map), SIMMM_LOCK_READ);
	assert_int_equal(simmm_down_write_trylock(sim, &sem), 0);
	TU_ASSERT_OK(simmm_up_read(sim, &sem));
	TU_ASSERT_OK(simmm_down_write(sim, &sem));
	TU_ASSERT_OK(simmm_downgrade_write(sim, &sem));
	assert_int_equal(simmm_lock_held(sim, &sem.map), SIMMM_LOCK_READ);
	TU_ASSERT_OK(simmm_up_read(sim, &sem));
	assert_false(simmm_rwsem_is_locked(&sem));

	TU_ASSERT_OK(simmm_bit_lock(sim, &flags, 1u << 0, 42));
	assert_int_equal(flags, 1);
	assert_int_equal(simmm_bit_trylock(sim, &flags, 1u << 0, 42), 0);
	TU_ASSERT_OK(simmm_bit_unlock(sim, &flags, 1u << 0, 42));
	assert_int_equal(flags, 0);

	/* Nothing ran: no switch, no step, no time. */
	assert_int_equal(simmm_sched_steps(sim), 0);
	assert_int_equal(simmm_sched_now_ns(sim), 0);
	assert_int_equal(simmm_lock_held_count(sim), 0);
	assert_int_equal(simmm_mutex_lock(NULL, &m), -EINVAL);
	assert_int_equal(simmm_mutex_lock(sim, NULL), -EINVAL);
	assert_int_equal(simmm_bit_lock(sim, &flags, 3, 1), -EINVAL);
	assert_int_equal(simmm_bit_lock(sim, NULL, 1, 1), -EINVAL);
	tu_sim_free(&sim);
}

static void test_no_tasks_would_block_is_deadlock(void **state)
{
	simmm_sim *sim = new_sim(tu_seed());
	struct simmm_completion c;
	struct simmm_srcu sp;
	uint32_t flags = 1u << 3; /* set behind the lock's back (page allocated locked) */
	int idx;

	(void)state;
	simmm_init_completion(&c, "never-done");
	assert_int_equal(simmm_wait_for_completion(sim, &c), -EDEADLK);
	assert_int_equal(simmm_reports_count(sim, SIMMM_REPORT_DEADLOCK), 1);
	assert_non_null(strstr(simmm_reports(sim, NULL), "'never-done'"));

	assert_int_equal(simmm_bit_lock(sim, &flags, 1u << 3, 7), -EDEADLK);
	assert_int_equal(simmm_reports_count(sim, SIMMM_REPORT_DEADLOCK), 2);

	/* A timed wait cannot deadlock: it times out on the virtual clock. */
	assert_int_equal(simmm_wait_for_completion_timeout(sim, &c, 5), -ETIMEDOUT);
	assert_int_equal(simmm_sched_now_ns(sim), 5 * 1000000ULL);

	simmm_srcu_init(&sp, "srcu");
	idx = simmm_srcu_read_lock(sim, &sp);
	assert_true(idx == 0 || idx == 1);
	TU_ASSERT_OK(simmm_srcu_read_unlock(sim, &sp, idx));
	TU_ASSERT_OK(simmm_synchronize_srcu(sim, &sp)); /* no readers: no wait */
	simmm_reports_clear(sim);
	tu_sim_free(&sim);
}

/* }==================================================================== */
/* {==================================================================== */
/* rwsem                                                                  */

struct rw_prog {
	struct simmm_rwsem sem;
	int readers_in, max_readers;
	int writers_in;
	int overlap;  /* a writer with anyone else inside */
	int rounds;
};

static void rw_reader(simmm_sim *sim, void *arg)
{
	struct rw_prog *p = arg;
	for (int i = 0; i < p->rounds; i++) {
		simmm_down_read(sim, &p->sem);
		p->readers_in++;
		if (p->readers_in > p->max_readers)
			p->max_readers = p->readers_in;
		p->overlap |= p->writers_in != 0;
		simmm_sched_yield(sim);
		p->readers_in--;
		simmm_up_read(sim, &p->sem);
	}
}

static void rw_writer(simmm_sim *sim, void *arg)
{
	struct rw_prog *p = arg;
	for (int i = 0; i < p->rounds; i++) {
		simmm_down_write(sim, &p->sem);
		p->writers_in++;
		p->overlap |= p->readers_in != 0 || p->writers_in > 1;
		simmm_sched_yield(sim);
		p->writers_in--;
		simmm_up_write(sim, &p->sem);
	}
}

static void test_rwsem_share_and_exclude(void **state)
{
	int max_readers = 0;

	(void)state;
	for (uint64_t seed = 0; seed < 20; seed++) {
		simmm_sim *sim = new_sim(tu_seed() + seed);
		struct rw_prog p = {.rounds = 4};
		simmm_rwsem_init(&p.sem, "mmap_lock");
		simmm_sched_spawn(sim, "r1", rw_reader, &p);
		simmm_sched_spawn(sim, "r2", rw_reader, &p);
		simmm_sched_spawn(sim, "w1", rw_writer, &p);
		simmm_sched_spawn(sim, "w2", rw_writer, &p);
		assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
		assert_int_equal(p.overlap, 0);
		assert_false(simmm_rwsem_is_locked(&p.sem));
		if (p.max_readers > max_readers)
			max_readers = p.max_readers;
		tu_sim_free(&sim);
	}
	assert_int_equal(max_readers, 2); /* readers did share */
}

struct downgrade_prog {
	struct simmm_rwsem sem;
	int phase;          /* 1: writer downgraded */
	int reader_saw;     /* phase seen by the reader inside */
	int writer_blocked; /* writer2 got in while downgraded reader held? */
	int read_try_with_writer_waiting;
};

static void dg_writer(simmm_sim *sim, void *arg)
{
	struct downgrade_prog *p = arg;
	simmm_down_write(sim, &p->sem);
	simmm_sched_yield(sim);
	p->phase = 1; /* before: downgrade_write is itself a scheduling point */
	simmm_downgrade_write(sim, &p->sem);
	for (int i = 0; i < 5; i++)
		simmm_sched_yield(sim);
	p->phase = 2;
	simmm_up_read(sim, &p->sem);
}

static void dg_reader(simmm_sim *sim, void *arg)
{
	struct downgrade_prog *p = arg;
	simmm_down_read(sim, &p->sem);
	if (!p->reader_saw)
		p->reader_saw = p->phase;
	simmm_up_read(sim, &p->sem);
}

static void test_rwsem_downgrade(void **state)
{
	simmm_sim *sim = new_sim(tu_seed());
	struct downgrade_prog p = {0};

	(void)state;
	use_policy(sim, SIMMM_SCHED_RR);
	simmm_rwsem_init(&p.sem, "sem");
	simmm_sched_spawn(sim, "writer", dg_writer, &p);
	simmm_sched_spawn(sim, "reader", dg_reader, &p);
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
	/* The reader got in while the downgraded writer still read. */
	assert_int_equal(p.reader_saw, 1);
	tu_sim_free(&sim);
}

/* A waiting writer holds off new readers (kernel fairness). */
struct fair_prog {
	struct simmm_rwsem sem;
	int try_result;
	int writer_done_first;
	int writer_done;
};

static void fair_holder(simmm_sim *sim, void *arg)
{
	struct fair_prog *p = arg;
	simmm_down_read(sim, &p->sem);
	for (int i = 0; i < 4; i++)
		simmm_sched_yield(sim); /* the writer queues meanwhile */
	simmm_up_read(sim, &p->sem);
}

static void fair_writer(simmm_sim *sim, void *arg)
{
	struct fair_prog *p = arg;
	simmm_down_write(sim, &p->sem);
	p->writer_done = 1;
	simmm_up_write(sim, &p->sem);
}

static void fair_late_reader(simmm_sim *sim, void *arg)
{
	struct fair_prog *p = arg;
	simmm_sched_yield(sim);
	p->try_result = simmm_down_read_trylock(sim, &p->sem);
	if (p->try_result == 1)
		simmm_up_read(sim, &p->sem);
	simmm_down_read(sim, &p->sem);
	p->writer_done_first = p->writer_done;
	simmm_up_read(sim, &p->sem);
}

static void test_rwsem_writer_blocks_new_readers(void **state)
{
	simmm_sim *sim = new_sim(tu_seed());
	struct fair_prog p = {0};

	(void)state;
	use_policy(sim, SIMMM_SCHED_RR);
	simmm_rwsem_init(&p.sem, "sem");
	simmm_sched_spawn(sim, "holder", fair_holder, &p);
	simmm_sched_spawn(sim, "writer", fair_writer, &p);
	simmm_sched_spawn(sim, "late", fair_late_reader, &p);
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
	assert_int_equal(p.try_result, 0);
	assert_int_equal(p.writer_done_first, 1);
	tu_sim_free(&sim);
}

/* }==================================================================== */
/* {==================================================================== */
/* mutex, spin                                                            */

struct excl_prog {
	struct simmm_mutex m;
	struct simmm_spinlock l;
	int inside, overlap, total;
	int atomic_seen, not_atomic_after;
};

static void excl_mutex(simmm_sim *sim, void *arg)
{
	struct excl_prog *p = arg;
	for (int i = 0; i < 5; i++) {
		simmm_mutex_lock(sim, &p->m);
		p->overlap |= p->inside++;
		simmm_sched_yield(sim);
		p->inside--;
		p->total++;
		simmm_mutex_unlock(sim, &p->m);
	}
}

static void excl_spin(simmm_sim *sim, void *arg)
{
	struct excl_prog *p = arg;
	for (int i = 0; i < 5; i++) {
		simmm_spin_lock(sim, &p->l);
		p->atomic_seen += simmm_sched_in_atomic(sim);
		p->overlap |= p->inside++;
		simmm_sched_yield(sim); /* another CPU may run, not enter */
		p->inside--;
		p->total++;
		simmm_spin_unlock(sim, &p->l);
		p->not_atomic_after += !simmm_sched_in_atomic(sim);
	}
}

static void test_mutex_and_spin_exclude(void **state)
{
	(void)state;
	for (uint64_t seed = 0; seed < 10; seed++) {
		simmm_sim *sim = new_sim(tu_seed() + seed);
		struct excl_prog p = {0};
		simmm_mutex_init(&p.m, "m");
		simmm_spin_lock_init(&p.l, "l");
		for (int i = 0; i < 3; i++)
			simmm_sched_spawn(sim, "mutexer", excl_mutex, &p);
		assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
		for (int i = 0; i < 3; i++)
			simmm_sched_spawn(sim, "spinner", excl_spin, &p);
		assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
		assert_int_equal(p.overlap, 0);
		assert_int_equal(p.total, 30);
		assert_int_equal(p.atomic_seen, 15);
		assert_int_equal(p.not_atomic_after, 15);
		tu_sim_free(&sim);
	}
}

/* }==================================================================== */
/* {==================================================================== */
/* bit locks keyed by pfn                                                 */

struct bit_prog {
	uint32_t flags[2]; /* two "pages" */
	int inside[2], overlap;
	int waited_saw_unlocked;
};

static void bit_worker(simmm_sim *sim, void *arg)
{
	struct bit_prog *p = arg;
	for (int i = 0; i < 4; i++) {
		int pg = i & 1;
		simmm_bit_lock(sim, &p->flags[pg], 1u << 0, 1000 + (uint64_t)pg);
		p->overlap |= p->inside[pg]++;
		simmm_sched_yield(sim);
		p->inside[pg]--;
		simmm_bit_unlock(sim, &p->flags[pg], 1u << 0, 1000 + (uint64_t)pg);
	}
}

static void bit_waiter(simmm_sim *sim, void *arg)
{
	struct bit_prog *p = arg;
	simmm_sched_yield(sim);
	simmm_bit_wait_unlocked(sim, &p->flags[0], 1u << 0, 1000);
	p->waited_saw_unlocked += !(p->flags[0] & 1u);
}

static void test_bit_lock_keyed(void **state)
{
	(void)state;
	for (uint64_t seed = 0; seed < 10; seed++) {
		simmm_sim *sim = new_sim(tu_seed() + seed);
		struct bit_prog p = {.flags = {0xf0, 0xf0}};
		simmm_sched_spawn(sim, "b1", bit_worker, &p);
		simmm_sched_spawn(sim, "b2", bit_worker, &p);
		simmm_sched_spawn(sim, "b3", bit_worker, &p);
		simmm_sched_spawn(sim, "waiter", bit_waiter, &p);
		assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
		assert_int_equal(p.overlap, 0);
		assert_int_equal(p.flags[0], 0xf0); /* other bits untouched */
		assert_int_equal(p.flags[1], 0xf0);
		assert_int_equal(p.waited_saw_unlocked, 1);
		tu_sim_free(&sim);
	}
}

/* Folio unlock from another context (I/O completion) is legal. */
static void bit_locker_exits_locked_then_handoff(void **state)
{
	simmm_sim *sim = new_sim(tu_seed());
	uint32_t flags = 0;

	(void)state;
	TU_ASSERT_OK(simmm_bit_lock(sim, &flags, 1u << 1, 5));
	assert_int_equal(simmm_lock_held_count(sim), 1);
	TU_ASSERT_OK(simmm_bit_unlock(sim, &flags, 1u << 1, 5));
	assert_int_equal(simmm_lock_held_count(sim), 0);
	tu_sim_free(&sim);
}

/* }==================================================================== */
/* {==================================================================== */
/* completion                                                             */

struct comp_prog {
	struct simmm_completion c;
	int order[4], n;
	int rc_timeout;
};

static void comp_waiter(simmm_sim *sim, void *arg)
{
	struct comp_prog *p = arg;
	simmm_wait_for_completion(sim, &p->c);
	p->order[p->n++] = 2;
}

static void comp_signaler(simmm_sim *sim, void *arg)
{
	struct comp_prog *p = arg;
	for (int i = 0; i < 3; i++)
		simmm_sched_yield(sim);
	p->order[p->n++] = 1;
	simmm_complete(sim, &p->c);
}

static void comp_timeout(simmm_sim *sim, void *arg)
{
	struct comp_prog *p = arg;
	p->rc_timeout = simmm_wait_for_completion_timeout(sim, &p->c, 3);
}

static void test_completion(void **state)
{
	simmm_sim *sim = new_sim(tu_seed());
	struct comp_prog p = {0};
	uint64_t t0;

	(void)state;
	simmm_init_completion(&p.c, "done");
	simmm_sched_spawn(sim, "waiter", comp_waiter, &p);
	simmm_sched_spawn(sim, "signaler", comp_signaler, &p);
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.order[0], 1);
	assert_int_equal(p.order[1], 2);
	assert_false(simmm_completion_done(&p.c)); /* consumed */

	t0 = simmm_sched_now_ns(sim);
	simmm_sched_spawn(sim, "timeout", comp_timeout, &p);
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
	assert_int_equal(p.rc_timeout, -ETIMEDOUT);
	assert_true(simmm_sched_now_ns(sim) - t0 >= 3000000ULL);

	/* complete_all lets every present and future waiter through. */
	p.n = 0;
	TU_ASSERT_OK(simmm_complete_all(sim, &p.c));
	for (int i = 0; i < 3; i++)
		simmm_sched_spawn(sim, "waiter", comp_waiter, &p);
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
	assert_int_equal(p.n, 3);
	assert_true(simmm_completion_done(&p.c));
	assert_int_equal(simmm_try_wait_for_completion(sim, &p.c), 1);
	simmm_reinit_completion(&p.c);
	assert_int_equal(simmm_try_wait_for_completion(sim, &p.c), 0);
	tu_sim_free(&sim);
}

/* }==================================================================== */
/* {==================================================================== */
/* wait queue                                                             */

struct wq_prog {
	struct simmm_waitqueue wq;
	int flag;
	int rc, rc_timeout;
	uint64_t waited_ns;
	bool forget_wake;
};

static bool flag_set(simmm_sim *sim, void *arg)
{
	(void)sim;
	return ((struct wq_prog *)arg)->flag != 0;
}

static void wq_waiter(simmm_sim *sim, void *arg)
{
	struct wq_prog *p = arg;
	p->rc = simmm_wait_event(sim, &p->wq, flag_set, p);
}

static void wq_timed(simmm_sim *sim, void *arg)
{
	struct wq_prog *p = arg;
	uint64_t t0 = simmm_sched_now_ns(sim);
	p->rc_timeout = simmm_wait_event_timeout(sim, &p->wq, flag_set, p, 1000);
	p->waited_ns = simmm_sched_now_ns(sim) - t0;
}

static void wq_waker(simmm_sim *sim, void *arg)
{
	struct wq_prog *p = arg;
	simmm_sched_yield(sim);
	simmm_wake_up_all(sim, &p->wq); /* spurious: condition still false */
	simmm_sched_yield(sim);
	p->flag = 1;
	if (!p->forget_wake)
		simmm_wake_up_all(sim, &p->wq);
}

static void test_waitqueue(void **state)
{
	simmm_sim *sim = new_sim(tu_seed());
	struct wq_prog p = {0};

	(void)state;
	use_policy(sim, SIMMM_SCHED_RR); /* the waiter must be asleep before the flag flips */
	simmm_waitqueue_init(&p.wq, "wq");
	simmm_sched_spawn(sim, "waiter", wq_waiter, &p);
	simmm_sched_spawn(sim, "waker", wq_waker, &p);
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
	assert_int_equal(p.rc, 0);

	/* Timeout: HMM_RANGE_DEFAULT_TIMEOUT-style 1000 ms on the virtual clock. */
	p.flag = 0;
	simmm_sched_spawn(sim, "timed", wq_timed, &p);
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
	assert_int_equal(p.rc_timeout, -ETIMEDOUT);
	assert_int_equal(p.waited_ns / 1000000ULL, 1000);

	/* A lost wake-up leaves the waiter asleep: a reported deadlock. */
	p.flag = 0;
	p.forget_wake = true;
	simmm_sched_spawn(sim, "waiter", wq_waiter, &p);
	simmm_sched_spawn(sim, "waker", wq_waker, &p);
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DEADLOCK);
	assert_non_null(strstr(simmm_reports(sim, NULL), "waits for waitqueue 'wq'"));
	simmm_reports_clear(sim);
	TU_ASSERT_OK(simmm_sched_reset(sim));

	/* Outside a run: a true condition returns at once, a false one deadlocks. */
	p.flag = 1;
	TU_ASSERT_OK(simmm_wait_event(sim, &p.wq, flag_set, &p));
	p.flag = 0;
	assert_int_equal(simmm_wait_event(sim, &p.wq, flag_set, &p), -EDEADLK);
	assert_int_equal(simmm_wait_event_timeout(sim, &p.wq, flag_set, &p, 2), -ETIMEDOUT);
	assert_int_equal(simmm_wait_event(sim, &p.wq, NULL, &p), -EINVAL);
	simmm_reports_clear(sim);
	tu_sim_free(&sim);
}

/* }==================================================================== */
/* {==================================================================== */
/* SRCU                                                                   */

struct srcu_prog {
	struct simmm_srcu sp;
	int old_reader_out, new_reader_out;
	int sync_done_with_old_out;     /* old reader had left when sync returned */
	int sync_done_before_new_out;   /* sync did not wait for the newer reader */
	bool sync_running;
};

static void srcu_old_reader(simmm_sim *sim, void *arg)
{
	struct srcu_prog *p = arg;
	int idx = simmm_srcu_read_lock(sim, &p->sp);
	for (int i = 0; i < 10; i++)
		simmm_sched_yield(sim);
	p->old_reader_out = 1;
	simmm_srcu_read_unlock(sim, &p->sp, idx);
}

static void srcu_syncer(simmm_sim *sim, void *arg)
{
	struct srcu_prog *p = arg;
	simmm_sched_yield(sim); /* let the old reader in first */
	p->sync_running = true; /* no scheduling point until the call */
	simmm_synchronize_srcu(sim, &p->sp);
	p->sync_done_with_old_out = p->old_reader_out;
	p->sync_done_before_new_out = !p->new_reader_out;
}

static void srcu_new_reader(simmm_sim *sim, void *arg)
{
	struct srcu_prog *p = arg;
	int idx;
	while (!p->sync_running) /* enter strictly after synchronize_srcu began */
		simmm_sched_yield(sim);
	idx = simmm_srcu_read_lock(sim, &p->sp);
	for (int i = 0; i < 40; i++)
		simmm_sched_yield(sim);
	p->new_reader_out = 1;
	simmm_srcu_read_unlock(sim, &p->sp, idx);
}

static void test_srcu_waits_for_older_readers_only(void **state)
{
	simmm_sim *sim = new_sim(tu_seed());
	struct srcu_prog p = {0};

	(void)state;
	use_policy(sim, SIMMM_SCHED_RR);
	simmm_srcu_init(&p.sp, "notifier_srcu");
	simmm_sched_spawn(sim, "old", srcu_old_reader, &p);
	simmm_sched_spawn(sim, "sync", srcu_syncer, &p);
	simmm_sched_spawn(sim, "new", srcu_new_reader, &p);
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
	assert_int_equal(p.sync_done_with_old_out, 1);
	assert_int_equal(p.sync_done_before_new_out, 1);
	assert_int_equal(simmm_srcu_read_unlock(sim, &p.sp, 5), -EINVAL);
	tu_sim_free(&sim);
}

/* }==================================================================== */
/* {==================================================================== */
/* virtual time under contention                                          */

struct sleepers {
	uint64_t woke_at[3];
};

static void sleep_n(simmm_sim *sim, void *arg)
{
	struct sleepers *s = arg;
	uint32_t id = simmm_sched_current(sim);
	simmm_sched_sleep(sim, 10 * id);
	s->woke_at[id - 1] = simmm_sched_now_ns(sim);
}

static void test_sleep_ordering(void **state)
{
	simmm_sim *sim = new_sim(tu_seed());
	struct sleepers s = {0};

	(void)state;
	for (int i = 0; i < 3; i++)
		simmm_sched_spawn(sim, "sleeper", sleep_n, &s);
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
	for (int i = 0; i < 3; i++)
		assert_true(s.woke_at[i] >= (uint64_t)(i + 1) * 10000000ULL);
	assert_true(s.woke_at[0] < s.woke_at[1] && s.woke_at[1] < s.woke_at[2]);
	/* Nobody was runnable while all slept: the clock jumped, not crawled. */
	assert_true(simmm_sched_steps(sim) < 20);
	tu_sim_free(&sim);
}

/* }==================================================================== */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_tasks_plain_locks),
		cmocka_unit_test(test_no_tasks_would_block_is_deadlock),
		cmocka_unit_test(test_rwsem_share_and_exclude),
		cmocka_unit_test(test_rwsem_downgrade),
		cmocka_unit_test(test_rwsem_writer_blocks_new_readers),
		cmocka_unit_test(test_mutex_and_spin_exclude),
		cmocka_unit_test(test_bit_lock_keyed),
		cmocka_unit_test(bit_locker_exits_locked_then_handoff),
		cmocka_unit_test(test_completion),
		cmocka_unit_test(test_waitqueue),
		cmocka_unit_test(test_srcu_waits_for_older_readers_only),
		cmocka_unit_test(test_sleep_ordering),
	};
	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
