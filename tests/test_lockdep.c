// SPDX-License-Identifier: MIT
/*
 * Every lockdep report, triggered once: ABBA order (plain mode, tasks,
 * class keys, SRCU), lock held at task exit, unlock of a lock not held,
 * recursion, sleeping while atomic or non-blockable. Each must name the
 * locks and tasks, fail the offending call, and leave the state sane.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define RAM (64ULL << 20)

static simmm_sim *new_sim(void)
{
	return tu_sim_new(NULL, RAM, tu_seed());
}

/* Assert exactly @n reports of @kind, each mentioning every string in
 * @needles (NULL-terminated), then forget them. */
static void expect_reports(simmm_sim *sim, enum simmm_report_kind kind, uint64_t n,
			   const char *const *needles)
{
	const char *log = simmm_reports(sim, NULL);

	if (simmm_reports_count(sim, kind) != n || simmm_reports_count(sim, 0) != n)
		fail_msg("expected %llu report(s) of kind %d, log:\n%s", (unsigned long long)n,
			 kind, log);
	for (; needles && *needles; needles++)
		if (!strstr(log, *needles))
			fail_msg("report lacks \"%s\":\n%s", *needles, log);
	simmm_reports_clear(sim);
}

#define NEEDLES(...) ((const char *const[]){__VA_ARGS__, NULL})

/* {==================================================================== */
/* ABBA                                                                   */

static void test_abba_plain_mode(void **state)
{
	simmm_sim *sim = new_sim();
	struct simmm_mutex a = SIMMM_MUTEX_INIT("alpha"), b = SIMMM_MUTEX_INIT("beta");

	(void)state;
	TU_ASSERT_OK(simmm_mutex_lock(sim, &a));
	TU_ASSERT_OK(simmm_mutex_lock(sim, &b));
	TU_ASSERT_OK(simmm_mutex_unlock(sim, &b));
	TU_ASSERT_OK(simmm_mutex_unlock(sim, &a));
	assert_int_equal(simmm_reports_count(sim, 0), 0);

	TU_ASSERT_OK(simmm_mutex_lock(sim, &b));
	TU_ASSERT_OK(simmm_mutex_lock(sim, &a)); /* reported, but proceeds */
	expect_reports(sim, SIMMM_REPORT_LOCKDEP, 1,
		       NEEDLES("circular", "'alpha'", "'beta'", "task 0 'main'"));
	TU_ASSERT_OK(simmm_mutex_unlock(sim, &a));
	TU_ASSERT_OK(simmm_mutex_unlock(sim, &b));

	/* Once per inversion. */
	TU_ASSERT_OK(simmm_mutex_lock(sim, &b));
	TU_ASSERT_OK(simmm_mutex_lock(sim, &a));
	TU_ASSERT_OK(simmm_mutex_unlock(sim, &a));
	TU_ASSERT_OK(simmm_mutex_unlock(sim, &b));
	assert_int_equal(simmm_reports_count(sim, 0), 0);
	tu_sim_free(&sim);
}

struct chain {
	struct simmm_mutex m[3];
	struct simmm_rwsem sem;
	struct simmm_spinlock ptl;
};

static void take_01(simmm_sim *sim, void *arg)
{
	struct chain *c = arg;
	simmm_mutex_lock(sim, &c->m[0]);
	simmm_mutex_lock(sim, &c->m[1]);
	simmm_mutex_unlock(sim, &c->m[1]);
	simmm_mutex_unlock(sim, &c->m[0]);
}

static void take_12(simmm_sim *sim, void *arg)
{
	struct chain *c = arg;
	simmm_mutex_lock(sim, &c->m[1]);
	simmm_mutex_lock(sim, &c->m[2]);
	simmm_mutex_unlock(sim, &c->m[2]);
	simmm_mutex_unlock(sim, &c->m[1]);
}

static void take_20(simmm_sim *sim, void *arg)
{
	struct chain *c = arg;
	simmm_mutex_lock(sim, &c->m[2]);
	simmm_mutex_lock(sim, &c->m[0]);
	simmm_mutex_unlock(sim, &c->m[0]);
	simmm_mutex_unlock(sim, &c->m[2]);
}

static void test_abba_three_way_across_tasks(void **state)
{
	simmm_sim *sim = new_sim();
	struct chain c;
	struct simmm_sched_config cfg;

	(void)state;
	simmm_mutex_init(&c.m[0], "m0");
	simmm_mutex_init(&c.m[1], "m1");
	simmm_mutex_init(&c.m[2], "m2");
	/* Serial runs: no actual deadlock, but the cycle is in the graph. */
	simmm_sched_config_init(sim, &cfg);
	cfg.policy = SIMMM_SCHED_RR;
	TU_ASSERT_OK(simmm_sched_configure(sim, &cfg));
	simmm_sched_spawn(sim, "t01", take_01, &c);
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
	simmm_sched_spawn(sim, "t12", take_12, &c);
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
	assert_int_equal(simmm_reports_count(sim, 0), 0);
	simmm_sched_spawn(sim, "t20", take_20, &c);
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
	expect_reports(sim, SIMMM_REPORT_LOCKDEP, 1,
		       NEEDLES("task 3 't20'", "'m0' -> 'm1' -> 'm2'", "task 1 't01'"));
	tu_sim_free(&sim);
}

static void test_abba_class_keys(void **state)
{
	simmm_sim *sim = new_sim();
	static const struct simmm_lock_class_key mm_key, ptl_key;
	struct simmm_rwsem mmap1, mmap2;
	struct simmm_spinlock ptl1, ptl2;

	(void)state;
	simmm_rwsem_init(&mmap1, "mmap_lock");
	simmm_rwsem_init(&mmap2, "mmap_lock");
	simmm_spin_lock_init(&ptl1, "ptl");
	simmm_spin_lock_init(&ptl2, "ptl");
	TU_ASSERT_OK(simmm_lockdep_set_class(&mmap1.map, &mm_key));
	TU_ASSERT_OK(simmm_lockdep_set_class(&mmap2.map, &mm_key));
	TU_ASSERT_OK(simmm_lockdep_set_class(&ptl1.map, &ptl_key));
	TU_ASSERT_OK(simmm_lockdep_set_class(&ptl2.map, &ptl_key));

	/* mm1: mmap_lock then ptl; mm2: ptl then mmap_lock: different locks,
	 * same classes, so the inversion is seen. */
	TU_ASSERT_OK(simmm_down_read(sim, &mmap1));
	TU_ASSERT_OK(simmm_spin_lock(sim, &ptl1));
	TU_ASSERT_OK(simmm_spin_unlock(sim, &ptl1));
	TU_ASSERT_OK(simmm_up_read(sim, &mmap1));
	TU_ASSERT_OK(simmm_spin_lock(sim, &ptl2));
	assert_int_equal(simmm_down_write_trylock(sim, &mmap2), 1); /* trylock: no order */
	TU_ASSERT_OK(simmm_up_write(sim, &mmap2));
	assert_int_equal(simmm_reports_count(sim, 0), 0);
	TU_ASSERT_OK(simmm_spin_unlock(sim, &ptl2));
	assert_int_equal(simmm_lockdep_set_class(&ptl2.map, NULL), -EBUSY);
	assert_int_equal(simmm_lockdep_set_class(NULL, NULL), -EINVAL);

	/* A per-object lock of a fresh class is not confused with them. */
	{
		struct simmm_mutex m;
		simmm_mutex_init(&m, "other");
		TU_ASSERT_OK(simmm_mutex_lock(sim, &m));
		TU_ASSERT_OK(simmm_down_read(sim, &mmap2));
		TU_ASSERT_OK(simmm_up_read(sim, &mmap2));
		TU_ASSERT_OK(simmm_mutex_unlock(sim, &m));
		assert_int_equal(simmm_reports_count(sim, 0), 0);
	}
	/* ptl class -> mmap class: inversion of mm1's order. The sleep in
	 * atomic is reported first and fails the call. */
	TU_ASSERT_OK(simmm_spin_lock(sim, &ptl2));
	assert_int_equal(simmm_down_read(sim, &mmap2), -EPERM);
	expect_reports(sim, SIMMM_REPORT_LOCKDEP, 1, NEEDLES("while atomic", "'ptl'"));
	TU_ASSERT_OK(simmm_spin_unlock(sim, &ptl2));

	/* Same inversion with sleeping locks only. */
	{
		static const struct simmm_lock_class_key a_key, b_key;
		struct simmm_mutex a1, a2, b1, b2;
		simmm_mutex_init(&a1, "A");
		simmm_mutex_init(&a2, "A");
		simmm_mutex_init(&b1, "B");
		simmm_mutex_init(&b2, "B");
		simmm_lockdep_set_class(&a1.map, &a_key);
		simmm_lockdep_set_class(&a2.map, &a_key);
		simmm_lockdep_set_class(&b1.map, &b_key);
		simmm_lockdep_set_class(&b2.map, &b_key);
		TU_ASSERT_OK(simmm_mutex_lock(sim, &a1));
		TU_ASSERT_OK(simmm_mutex_lock(sim, &b1));
		TU_ASSERT_OK(simmm_mutex_unlock(sim, &b1));
		TU_ASSERT_OK(simmm_mutex_unlock(sim, &a1));
		TU_ASSERT_OK(simmm_mutex_lock(sim, &b2));
		TU_ASSERT_OK(simmm_mutex_lock(sim, &a2));
		expect_reports(sim, SIMMM_REPORT_LOCKDEP, 1, NEEDLES("circular", "'A'", "'B'"));
		TU_ASSERT_OK(simmm_mutex_unlock(sim, &a2));
		TU_ASSERT_OK(simmm_mutex_unlock(sim, &b2));
	}
	tu_sim_free(&sim);
}

static void test_abba_srcu_sync_under_lock(void **state)
{
	simmm_sim *sim = new_sim();
	struct simmm_mutex m = SIMMM_MUTEX_INIT("driver_lock");
	struct simmm_srcu sp;
	int idx;

	(void)state;
	simmm_srcu_init(&sp, "notifier_srcu");
	/* A reader takes the lock inside its section ... */
	idx = simmm_srcu_read_lock(sim, &sp);
	TU_ASSERT_OK(simmm_mutex_lock(sim, &m));
	TU_ASSERT_OK(simmm_mutex_unlock(sim, &m));
	TU_ASSERT_OK(simmm_srcu_read_unlock(sim, &sp, idx));
	/* ... so synchronizing under the lock can deadlock. */
	TU_ASSERT_OK(simmm_mutex_lock(sim, &m));
	TU_ASSERT_OK(simmm_synchronize_srcu(sim, &sp));
	TU_ASSERT_OK(simmm_mutex_unlock(sim, &m));
	expect_reports(sim, SIMMM_REPORT_LOCKDEP, 1,
		       NEEDLES("circular", "'notifier_srcu'", "'driver_lock'"));
	tu_sim_free(&sim);
}

static void test_lockdep_disable(void **state)
{
	simmm_sim *sim = new_sim();
	struct simmm_mutex a = SIMMM_MUTEX_INIT("a"), b = SIMMM_MUTEX_INIT("b");

	(void)state;
	assert_int_equal(simmm_lockdep_enable(sim, false), 1);
	simmm_mutex_lock(sim, &a);
	simmm_mutex_lock(sim, &b);
	simmm_mutex_unlock(sim, &b);
	simmm_mutex_unlock(sim, &a);
	simmm_mutex_lock(sim, &b);
	simmm_mutex_lock(sim, &a);
	simmm_mutex_unlock(sim, &a);
	simmm_mutex_unlock(sim, &b);
	assert_int_equal(simmm_reports_count(sim, 0), 0);
	assert_int_equal(simmm_lockdep_enable(sim, true), 0);
	assert_int_equal(simmm_lockdep_enable(NULL, true), -EINVAL);
	tu_sim_free(&sim);
}

/* }==================================================================== */
/* {==================================================================== */
/* held at exit, unbalanced unlock, recursion                             */

struct exit_prog {
	struct simmm_mutex m;
	struct simmm_rwsem sem;
	uint32_t flags;
	int other_rc;
};

static void leaves_locked(simmm_sim *sim, void *arg)
{
	struct exit_prog *p = arg;
	simmm_mutex_lock(sim, &p->m);
	simmm_down_read(sim, &p->sem);
	simmm_bit_lock(sim, &p->flags, 1u, 77);
}

static void waits_forever(simmm_sim *sim, void *arg)
{
	struct exit_prog *p = arg;
	simmm_sched_yield(sim);
	simmm_sched_yield(sim);
	p->other_rc = simmm_mutex_lock(sim, &p->m);
}

static void test_held_at_exit(void **state)
{
	simmm_sim *sim = new_sim();
	struct exit_prog p = {0};
	struct simmm_sched_config cfg;

	(void)state;
	simmm_mutex_init(&p.m, "leaky_mutex");
	simmm_rwsem_init(&p.sem, "leaky_sem");
	simmm_sched_config_init(sim, &cfg);
	cfg.policy = SIMMM_SCHED_RR;
	TU_ASSERT_OK(simmm_sched_configure(sim, &cfg));
	simmm_sched_spawn(sim, "leaker", leaves_locked, &p);
	simmm_sched_spawn(sim, "victim", waits_forever, &p);
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DEADLOCK);
	assert_int_equal(simmm_reports_count(sim, SIMMM_REPORT_DEADLOCK), 1);
	assert_non_null(strstr(simmm_reports(sim, NULL), "task 2 'victim' waits for mutex "
							 "'leaky_mutex' (id 1) (held by task 1 'leaker')"));
	simmm_reports_clear(sim);
	/* Only the lockdep report left to check: re-run the story for it. */
	TU_ASSERT_OK(simmm_sched_reset(sim));
	simmm_mutex_init(&p.m, "leaky_mutex");
	simmm_rwsem_init(&p.sem, "leaky_sem");
	p.flags = 0;
	simmm_sched_spawn(sim, "leaker", leaves_locked, &p);
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
	expect_reports(sim, SIMMM_REPORT_LOCKDEP, 1,
		       NEEDLES("task 3 'leaker' exited with 3 lock(s) held", "mutex 'leaky_mutex'",
			       "rwsem(read) 'leaky_sem'", "bit lock key 0x4d"));
	/* The locks stay taken: the owner is gone. */
	assert_true(simmm_mutex_is_locked(&p.m));
	tu_sim_free(&sim);
}

static void test_unlock_not_held(void **state)
{
	simmm_sim *sim = new_sim();
	struct simmm_mutex m = SIMMM_MUTEX_INIT("never_taken");
	struct simmm_spinlock l = SIMMM_SPINLOCK_INIT("spin_never");
	struct simmm_rwsem sem = SIMMM_RWSEM_INIT("sem");
	struct simmm_srcu sp;
	uint32_t flags = 0;

	(void)state;
	simmm_srcu_init(&sp, "srcu");
	assert_int_equal(simmm_mutex_unlock(sim, &m), -EPERM);
	expect_reports(sim, SIMMM_REPORT_LOCKDEP, 1,
		       NEEDLES("bad unlock balance", "'main'", "mutex 'never_taken'"));
	assert_false(simmm_mutex_is_locked(&m));

	assert_int_equal(simmm_spin_unlock(sim, &l), -EPERM);
	expect_reports(sim, SIMMM_REPORT_LOCKDEP, 1, NEEDLES("'spin_never'"));
	assert_int_equal(simmm_up_read(sim, &sem), -EPERM);
	expect_reports(sim, SIMMM_REPORT_LOCKDEP, 1, NEEDLES("rwsem(read) 'sem'"));
	TU_ASSERT_OK(simmm_down_read(sim, &sem));
	assert_int_equal(simmm_up_write(sim, &sem), -EPERM); /* wrong mode */
	assert_int_equal(simmm_downgrade_write(sim, &sem), -EPERM);
	expect_reports(sim, SIMMM_REPORT_LOCKDEP, 2, NEEDLES("rwsem(write) 'sem'"));
	TU_ASSERT_OK(simmm_up_read(sim, &sem));
	assert_int_equal(simmm_bit_unlock(sim, &flags, 4, 9), -EPERM);
	expect_reports(sim, SIMMM_REPORT_LOCKDEP, 1, NEEDLES("bit lock"));
	assert_int_equal(simmm_srcu_read_unlock(sim, &sp, 0), -EPERM);
	expect_reports(sim, SIMMM_REPORT_LOCKDEP, 1, NEEDLES("'srcu'"));
	assert_int_equal(simmm_sched_exit_nonblock(sim), -EPERM);
	expect_reports(sim, SIMMM_REPORT_LOCKDEP, 1, NEEDLES("non-blockable"));
	tu_sim_free(&sim);
}

struct steal {
	struct simmm_mutex m;
	int rc;
};

static void owner_task(simmm_sim *sim, void *arg)
{
	struct steal *s = arg;
	simmm_mutex_lock(sim, &s->m);
	simmm_sched_yield(sim);
	simmm_sched_yield(sim);
	simmm_mutex_unlock(sim, &s->m);
}

static void thief_task(simmm_sim *sim, void *arg)
{
	struct steal *s = arg;
	simmm_sched_yield(sim);
	s->rc = simmm_mutex_unlock(sim, &s->m);
}

static void test_unlock_by_non_owner(void **state)
{
	simmm_sim *sim = new_sim();
	struct steal s = {.rc = 1};
	struct simmm_sched_config cfg;

	(void)state;
	simmm_mutex_init(&s.m, "owned");
	simmm_sched_config_init(sim, &cfg);
	cfg.policy = SIMMM_SCHED_RR;
	TU_ASSERT_OK(simmm_sched_configure(sim, &cfg));
	simmm_sched_spawn(sim, "owner", owner_task, &s);
	simmm_sched_spawn(sim, "thief", thief_task, &s);
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
	assert_int_equal(s.rc, -EPERM);
	expect_reports(sim, SIMMM_REPORT_LOCKDEP, 1, NEEDLES("task 2 'thief'", "'owned'"));
	assert_false(simmm_mutex_is_locked(&s.m)); /* the owner released it */
	tu_sim_free(&sim);
}

static void test_recursion(void **state)
{
	simmm_sim *sim = new_sim();
	struct simmm_mutex m = SIMMM_MUTEX_INIT("rec_mutex");
	struct simmm_spinlock l = SIMMM_SPINLOCK_INIT("rec_spin");
	struct simmm_rwsem sem = SIMMM_RWSEM_INIT("rec_sem");
	struct simmm_srcu sp;
	uint32_t flags = 0;
	int idx;

	(void)state;
	simmm_srcu_init(&sp, "rec_srcu");
	TU_ASSERT_OK(simmm_mutex_lock(sim, &m));
	assert_int_equal(simmm_mutex_lock(sim, &m), -EDEADLK);
	expect_reports(sim, SIMMM_REPORT_LOCKDEP, 1,
		       NEEDLES("recursive locking", "'main'", "'rec_mutex'"));
	assert_int_equal(simmm_mutex_trylock(sim, &m), 0); /* trylock: just fails */
	TU_ASSERT_OK(simmm_mutex_unlock(sim, &m));
	assert_false(simmm_mutex_is_locked(&m));

	TU_ASSERT_OK(simmm_spin_lock(sim, &l));
	assert_int_equal(simmm_spin_lock(sim, &l), -EDEADLK);
	expect_reports(sim, SIMMM_REPORT_LOCKDEP, 1, NEEDLES("'rec_spin'"));
	TU_ASSERT_OK(simmm_spin_unlock(sim, &l));

	/* Recursive read can deadlock against a queued writer. */
	TU_ASSERT_OK(simmm_down_read(sim, &sem));
	assert_int_equal(simmm_down_read(sim, &sem), -EDEADLK);
	assert_int_equal(simmm_down_write(sim, &sem), -EDEADLK);
	expect_reports(sim, SIMMM_REPORT_LOCKDEP, 2, NEEDLES("'rec_sem'"));
	TU_ASSERT_OK(simmm_up_read(sim, &sem));
	assert_false(simmm_rwsem_is_locked(&sem));

	TU_ASSERT_OK(simmm_bit_lock(sim, &flags, 2, 0x99));
	assert_int_equal(simmm_bit_lock(sim, &flags, 2, 0x99), -EDEADLK);
	assert_int_equal(simmm_bit_wait_unlocked(sim, &flags, 2, 0x99), -EDEADLK);
	expect_reports(sim, SIMMM_REPORT_LOCKDEP, 2, NEEDLES("bit lock", "153"));
	TU_ASSERT_OK(simmm_bit_unlock(sim, &flags, 2, 0x99));

	idx = simmm_srcu_read_lock(sim, &sp);
	assert_true(idx >= 0);
	assert_int_equal(simmm_srcu_read_lock(sim, &sp), -EDEADLK);
	assert_int_equal(simmm_synchronize_srcu(sim, &sp), -EDEADLK);
	expect_reports(sim, SIMMM_REPORT_LOCKDEP, 2, NEEDLES("'rec_srcu'"));
	TU_ASSERT_OK(simmm_srcu_read_unlock(sim, &sp, idx));
	tu_sim_free(&sim);
}

/* }==================================================================== */
/* {==================================================================== */
/* sleeping where not allowed                                             */

struct atomic_prog {
	struct simmm_spinlock ptl;
	struct simmm_mutex m;
	struct simmm_completion c;
	int rc_mutex, rc_sleep, rc_wait, rc_try;
};

static void sleeps_in_atomic(simmm_sim *sim, void *arg)
{
	struct atomic_prog *p = arg;
	simmm_spin_lock(sim, &p->ptl);
	p->rc_mutex = simmm_mutex_lock(sim, &p->m);
	p->rc_sleep = simmm_sched_sleep(sim, 1);
	p->rc_wait = simmm_wait_for_completion(sim, &p->c);
	p->rc_try = simmm_mutex_trylock(sim, &p->m); /* allowed */
	if (p->rc_try == 1)
		simmm_mutex_unlock(sim, &p->m);
	simmm_spin_unlock(sim, &p->ptl);
}

static void test_sleep_in_atomic(void **state)
{
	simmm_sim *sim = new_sim();
	struct atomic_prog p = {0};

	(void)state;
	simmm_spin_lock_init(&p.ptl, "page_table_lock");
	simmm_mutex_init(&p.m, "sleepy_mutex");
	simmm_init_completion(&p.c, "cmp");
	simmm_sched_spawn(sim, "atomic-task", sleeps_in_atomic, &p);
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
	assert_int_equal(p.rc_mutex, -EPERM);
	assert_int_equal(p.rc_sleep, -EPERM);
	assert_int_equal(p.rc_wait, -EPERM);
	assert_int_equal(p.rc_try, 1);
	expect_reports(sim, SIMMM_REPORT_LOCKDEP, 3,
		       NEEDLES("task 1 'atomic-task'", "'sleepy_mutex'", "'page_table_lock'",
			       "'cmp'", "sleep"));
	assert_false(simmm_mutex_is_locked(&p.m));
	tu_sim_free(&sim);
}

static void test_sleep_in_nonblock(void **state)
{
	simmm_sim *sim = new_sim();
	struct simmm_mutex m = SIMMM_MUTEX_INIT("notifier_mutex");
	struct simmm_rwsem sem = SIMMM_RWSEM_INIT("mmap_lock");
	struct simmm_spinlock l = SIMMM_SPINLOCK_INIT("spin");

	(void)state;
	assert_false(simmm_sched_in_atomic(sim));
	TU_ASSERT_OK(simmm_sched_enter_nonblock(sim));
	assert_true(simmm_sched_in_atomic(sim));
	assert_int_equal(simmm_mutex_lock(sim, &m), -EPERM);
	assert_int_equal(simmm_down_read(sim, &sem), -EPERM);
	assert_int_equal(simmm_might_sleep(sim, "invalidate"), -EPERM);
	expect_reports(sim, SIMMM_REPORT_LOCKDEP, 3,
		       NEEDLES("non-blockable", "'notifier_mutex'", "'mmap_lock'", "invalidate"));
	/* What non-blockable code may do: trylock, spin. */
	assert_int_equal(simmm_mutex_trylock(sim, &m), 1);
	TU_ASSERT_OK(simmm_mutex_unlock(sim, &m));
	TU_ASSERT_OK(simmm_spin_lock(sim, &l));
	TU_ASSERT_OK(simmm_spin_unlock(sim, &l));
	TU_ASSERT_OK(simmm_sched_exit_nonblock(sim));
	assert_false(simmm_sched_in_atomic(sim));
	TU_ASSERT_OK(simmm_might_sleep(sim, NULL));
	TU_ASSERT_OK(simmm_mutex_lock(sim, &m));
	TU_ASSERT_OK(simmm_mutex_unlock(sim, &m));
	tu_sim_free(&sim);
}

static void nonblock_leaker(simmm_sim *sim, void *arg)
{
	(void)arg;
	simmm_sched_enter_nonblock(sim);
}

static void test_nonblock_is_per_task(void **state)
{
	simmm_sim *sim = new_sim();

	(void)state;
	simmm_sched_spawn(sim, "leaky-nonblock", nonblock_leaker, NULL);
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
	assert_false(simmm_sched_in_atomic(sim)); /* main is unaffected */
	expect_reports(sim, SIMMM_REPORT_LOCKDEP, 1,
		       NEEDLES("'leaky-nonblock' exited inside 1 non-blockable"));
	tu_sim_free(&sim);
}

/* }==================================================================== */

/* Many bit locks (a migration's batch of folio locks) released oldest
 * first, newest first, and in a scattered order: every one is found (an
 * unlock is never "not held"), re-locking a held one is still recursion,
 * the count is right after every step and the order graph is unaffected.
 * Bit locks are kept apart from the ordered locks, with holes (see
 * struct simmm_task): this walks the holes, the trims and the compaction. */
static void test_many_bit_locks(void **state)
{
	enum { N = 300 };
	simmm_sim *sim = new_sim();
	struct simmm_mutex m = SIMMM_MUTEX_INIT("outer");
	uint32_t *w = calloc(N, sizeof(*w)), *ex = calloc(N, sizeof(*ex));
	unsigned held = 0;

	(void)state;
	assert_non_null(w);
	assert_non_null(ex);
	TU_ASSERT_OK(simmm_mutex_lock(sim, &m));
	for (unsigned round = 0; round < 3; round++) {
		for (unsigned i = 0; i < N; i++) {
			TU_ASSERT_OK(simmm_bit_lock(sim, &w[i], 1, 1000 + i));
			assert_int_equal(simmm_lock_held_count(sim), 1 + ++held);
		}
		/* Recursion on one in the middle is still seen. */
		assert_int_equal(simmm_bit_lock(sim, &w[N / 2], 1, 1000 + N / 2), -EDEADLK);
		expect_reports(sim, SIMMM_REPORT_LOCKDEP, 1, NEEDLES("recursive"));
		for (unsigned k = 0; k < N; k++) {
			/* round 0: oldest first; 1: newest first; 2: stride 7 */
			unsigned i = round == 0 ? k : round == 1 ? N - 1 - k : (k * 7) % N;

			TU_ASSERT_OK(simmm_bit_unlock(sim, &w[i], 1, 1000 + i));
			assert_int_equal(simmm_lock_held_count(sim), 1 + --held);
			/* A sliding window: new locks stay held while the old go,
			 * so the live ones move up until they are squeezed down. */
			if (round == 0) {
				TU_ASSERT_OK(simmm_bit_lock(sim, &ex[k], 1, 5000 + k));
				assert_int_equal(simmm_lock_held_count(sim), 1 + ++held);
			}
		}
		for (unsigned k = 0; round == 0 && k < N; k++) {
			unsigned i = (k * 7) % N;

			TU_ASSERT_OK(simmm_bit_unlock(sim, &ex[i], 1, 5000 + i));
			assert_int_equal(simmm_lock_held_count(sim), 1 + --held);
		}
		assert_int_equal(w[0] | w[N / 2] | w[N - 1] | ex[0] | ex[N - 1], 0);
	}
	TU_ASSERT_OK(simmm_mutex_unlock(sim, &m));
	assert_int_equal(simmm_lock_held_count(sim), 0);
	assert_int_equal(simmm_reports_count(sim, 0), 0);
	free(w);
	free(ex);
	tu_sim_free(&sim);
}

/* A bit lock released by a task that does not hold it (a hand-off, like
 * I/O completion unlocking a folio): the holder's record goes, its other
 * bit locks stay, and nothing is reported. */
struct handoff {
	uint32_t w[3];
	struct simmm_completion locked, done;
	unsigned held_after, unlocker_held;
	int rc;
};

static void handoff_locker(simmm_sim *sim, void *arg)
{
	struct handoff *h = arg;

	for (unsigned i = 0; i < 3; i++)
		simmm_bit_lock(sim, &h->w[i], 1, 70 + i);
	simmm_complete(sim, &h->locked);
	simmm_wait_for_completion(sim, &h->done);
	h->held_after = simmm_lock_held_count(sim);
	simmm_bit_unlock(sim, &h->w[0], 1, 70);
	simmm_bit_unlock(sim, &h->w[2], 1, 72);
}

static void handoff_unlocker(simmm_sim *sim, void *arg)
{
	struct handoff *h = arg;

	simmm_wait_for_completion(sim, &h->locked);
	h->unlocker_held = simmm_lock_held_count(sim);
	h->rc = simmm_bit_unlock(sim, &h->w[1], 1, 71);
	simmm_complete(sim, &h->done);
}

static void test_bit_lock_handoff(void **state)
{
	simmm_sim *sim = new_sim();
	struct handoff h = {.rc = -1, .unlocker_held = 99};

	(void)state;
	simmm_init_completion(&h.locked, "locked");
	simmm_init_completion(&h.done, "done");
	assert_true(simmm_sched_spawn(sim, "locker", handoff_locker, &h) > 0);
	assert_true(simmm_sched_spawn(sim, "unlocker", handoff_unlocker, &h) > 0);
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
	TU_ASSERT_OK(h.rc);
	assert_int_equal(h.held_after, 2);
	assert_int_equal(h.unlocker_held, 0);
	assert_int_equal(h.w[0] | h.w[1] | h.w[2], 0);
	assert_int_equal(simmm_reports_count(sim, 0), 0);
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_abba_plain_mode),
		cmocka_unit_test(test_abba_three_way_across_tasks),
		cmocka_unit_test(test_abba_class_keys),
		cmocka_unit_test(test_abba_srcu_sync_under_lock),
		cmocka_unit_test(test_lockdep_disable),
		cmocka_unit_test(test_held_at_exit),
		cmocka_unit_test(test_unlock_not_held),
		cmocka_unit_test(test_unlock_by_non_owner),
		cmocka_unit_test(test_recursion),
		cmocka_unit_test(test_sleep_in_atomic),
		cmocka_unit_test(test_sleep_in_nonblock),
		cmocka_unit_test(test_nonblock_is_per_task),
		cmocka_unit_test(test_many_bit_locks),
		cmocka_unit_test(test_bit_lock_handoff),
	};
	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
