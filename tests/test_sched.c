// SPDX-License-Identifier: MIT
/*
 * The deterministic scheduler: runs, policies, determinism, replay, virtual
 * time, and the classic bugs it is there to find (a lost update, an ABBA
 * deadlock).
 *
 * CMocka assertions longjmp, which must not cross fiber stacks: task bodies
 * only record what they see, and the test asserts after the run.
 */
#include "testutil.h"
#include "core/rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RAM (64ULL << 20)

static simmm_sim *new_sim(uint64_t seed)
{
	return tu_sim_new(NULL, RAM, seed);
}

static void clear_reports(simmm_sim *sim)
{
	simmm_reports_clear(sim);
}

/* {==================================================================== */
/* basics                                                                 */

struct counter_prog {
	int counter;
	int iters;
	uint32_t seen_id[8];
	int nr_seen;
};

static void count_task(simmm_sim *sim, void *arg)
{
	struct counter_prog *p = arg;
	for (int i = 0; i < p->iters; i++) {
		p->counter++;
		simmm_sched_yield(sim);
	}
	if (p->nr_seen < 8)
		p->seen_id[p->nr_seen++] = simmm_sched_current(sim);
}

static void test_run_basic(void **state)
{
	simmm_sim *sim = new_sim(tu_seed());
	struct counter_prog p = {.iters = 5};
	const uint32_t *ids;
	int a, b, c;

	(void)state;
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE); /* nothing to run */
	a = simmm_sched_spawn(sim, "alpha", count_task, &p);
	b = simmm_sched_spawn(sim, "beta", count_task, &p);
	c = simmm_sched_spawn(sim, NULL, count_task, &p);
	assert_int_equal(a, 1);
	assert_int_equal(b, 2);
	assert_int_equal(c, 3);
	assert_int_equal(simmm_sched_nr_tasks(sim), 3);
	assert_string_equal(simmm_sched_task_name(sim, 1), "alpha");
	assert_string_equal(simmm_sched_task_name(sim, 3), "task3");
	assert_string_equal(simmm_sched_task_name(sim, 0), "main");
	assert_null(simmm_sched_task_name(sim, 9));
	assert_int_equal(simmm_sched_task_state(sim, 1), SIMMM_TASK_RUNNABLE);
	assert_int_equal(simmm_sched_current(sim), 0);

	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
	assert_int_equal(p.counter, 15);
	assert_int_equal(p.nr_seen, 3);
	for (int i = 0; i < 3; i++)
		assert_true(p.seen_id[i] >= 1 && p.seen_id[i] <= 3);
	for (uint32_t id = 1; id <= 3; id++)
		assert_int_equal(simmm_sched_task_state(sim, id), SIMMM_TASK_DONE);
	assert_int_equal(simmm_sched_current(sim), 0);
	assert_true(simmm_sched_schedule(sim, &ids) >= 18); /* 5 yields + start, per task */
	assert_true(simmm_sched_steps(sim) > 0);
	assert_true(simmm_sched_now_ns(sim) > 0);
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

static void test_bad_args(void **state)
{
	simmm_sim *sim = new_sim(1);
	struct simmm_sched_config cfg;
	uint8_t buf[4];

	(void)state;
	assert_int_equal(simmm_sched_spawn(NULL, "x", count_task, NULL), -EINVAL);
	assert_int_equal(simmm_sched_spawn(sim, "x", NULL, NULL), -EINVAL);
	assert_int_equal(simmm_sched_spawn_stack(sim, "x", count_task, NULL, 100), -EINVAL);
	assert_int_equal(simmm_sched_run(NULL, 0), -EINVAL);
	assert_int_equal(simmm_sched_reset(NULL), -EINVAL);
	assert_int_equal(simmm_sched_configure(sim, NULL), -EINVAL);
	simmm_sched_config_init(sim, &cfg);
	cfg.policy = (enum simmm_sched_policy)42;
	assert_int_equal(simmm_sched_configure(sim, &cfg), -EINVAL);
	assert_int_equal(simmm_sched_replay(sim, NULL, 3), -EINVAL);
	assert_int_equal(simmm_sched_export(NULL, buf, 4), -EINVAL);
	assert_int_equal(simmm_sched_export(sim, NULL, 4), -EINVAL);
	assert_int_equal(simmm_sched_task_state(sim, 0), -ENOENT);
	assert_int_equal(simmm_sched_task_state(sim, 7), -ENOENT);
	assert_int_equal(simmm_sched_task_state(NULL, 1), -EINVAL);
	assert_int_equal(simmm_sched_current(NULL), 0);
	assert_int_equal(simmm_sched_sleep(NULL, 1), -EINVAL);
	simmm_sched_yield(NULL);
	simmm_sched_point(NULL, "x");
	tu_sim_free(&sim);
}

struct nested {
	int children_ran;
	int run_rc_inside;
};

static void child_task(simmm_sim *sim, void *arg)
{
	struct nested *n = arg;
	simmm_sched_yield(sim);
	n->children_ran++;
}

static void parent_task(simmm_sim *sim, void *arg)
{
	struct nested *n = arg;
	simmm_sched_spawn(sim, "child", child_task, n);
	simmm_sched_spawn_stack(sim, "child-big", child_task, n, 256 * 1024);
	n->run_rc_inside = simmm_sched_run(sim, 0); /* nested run: refused */
}

static void test_spawn_from_task(void **state)
{
	simmm_sim *sim = new_sim(tu_seed());
	struct nested n = {0};

	(void)state;
	simmm_sched_spawn(sim, "parent", parent_task, &n);
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
	assert_int_equal(n.children_ran, 2);
	assert_int_equal(n.run_rc_inside, -EBUSY);
	assert_int_equal(simmm_sched_nr_tasks(sim), 3);
	tu_sim_free(&sim);
}

static void test_step_limit_and_reset(void **state)
{
	simmm_sim *sim = new_sim(tu_seed());
	struct counter_prog p = {.iters = 50};

	(void)state;
	simmm_sched_spawn(sim, "a", count_task, &p);
	simmm_sched_spawn(sim, "b", count_task, &p);
	assert_int_equal(simmm_sched_run(sim, 10), SIMMM_SCHED_STEP_LIMIT);
	assert_true(p.counter < 100);
	assert_int_equal(simmm_sched_steps(sim), 10);
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
	assert_int_equal(p.counter, 100);

	/* Reset drops unfinished tasks; ids keep counting. */
	simmm_sched_spawn(sim, "c", count_task, &p);
	assert_int_equal(simmm_sched_run(sim, 3), SIMMM_SCHED_STEP_LIMIT);
	assert_int_equal(simmm_sched_reset(sim), 0);
	assert_int_equal(simmm_sched_nr_tasks(sim), 0);
	assert_int_equal(simmm_sched_task_state(sim, 3), -ENOENT);
	assert_int_equal(simmm_sched_spawn(sim, "d", count_task, &p), 4);
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
	tu_sim_free(&sim);
}

/* }==================================================================== */
/* {==================================================================== */
/* determinism                                                            */

/* A small program with real choices: three workers sharing a mutex. */
struct mutex_prog {
	struct simmm_mutex m;
	int shared;
};

static void mutex_worker(simmm_sim *sim, void *arg)
{
	struct mutex_prog *p = arg;
	for (int i = 0; i < 3; i++) {
		simmm_mutex_lock(sim, &p->m);
		p->shared++;
		simmm_sched_yield(sim);
		simmm_mutex_unlock(sim, &p->m);
	}
}

struct outcome {
	uint64_t trace_hash;
	uint64_t sched_hash;
	size_t nr_picks;
	int rc;
	int shared;
	uint8_t bytes[4096];
	long nr_bytes;
};

static uint64_t hash_ids(const uint32_t *ids, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ ids[i]) * 1099511628211ULL;
	return h;
}

static void finish(simmm_sim *sim, struct outcome *o, int rc)
{
	const uint32_t *ids;
	o->rc = rc;
	o->nr_picks = simmm_sched_schedule(sim, &ids);
	o->sched_hash = hash_ids(ids, o->nr_picks);
	o->trace_hash = simmm_trace_hash(sim);
	o->nr_bytes = simmm_sched_export(sim, o->bytes, sizeof(o->bytes));
}

static void run_mutex_prog(uint64_t seed, enum simmm_sched_policy pol, struct outcome *o)
{
	simmm_sim *sim = new_sim(seed);
	struct mutex_prog p = {0};
	struct simmm_sched_config cfg;

	simmm_mutex_init(&p.m, "m");
	simmm_sched_config_init(sim, &cfg);
	cfg.policy = pol;
	TU_ASSERT_OK(simmm_sched_configure(sim, &cfg));
	for (int i = 0; i < 3; i++)
		simmm_sched_spawn(sim, "worker", mutex_worker, &p);
	finish(sim, o, simmm_sched_run(sim, 0));
	o->shared = p.shared;
	tu_sim_free(&sim);
}

static void test_determinism_same_seed(void **state)
{
	struct outcome a, b;
	(void)state;
	for (int pol = SIMMM_SCHED_RANDOM; pol <= SIMMM_SCHED_PCT; pol++) {
		run_mutex_prog(tu_seed(), (enum simmm_sched_policy)pol, &a);
		run_mutex_prog(tu_seed(), (enum simmm_sched_policy)pol, &b);
		assert_int_equal(a.rc, SIMMM_SCHED_DONE);
		assert_int_equal(a.shared, 9);
		assert_int_equal(a.trace_hash, b.trace_hash);
		assert_int_equal(a.sched_hash, b.sched_hash);
		assert_int_equal(a.nr_picks, b.nr_picks);
		assert_int_equal(a.nr_bytes, b.nr_bytes);
		assert_memory_equal(a.bytes, b.bytes, (size_t)a.nr_bytes);
	}
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

static void test_many_seeds_many_interleavings(void **state)
{
	enum { N = 64 };
	uint64_t hashes[N];
	struct outcome o;
	int distinct = 1;

	(void)state;
	for (int i = 0; i < N; i++) {
		run_mutex_prog(tu_seed() + (uint64_t)i, SIMMM_SCHED_RANDOM, &o);
		assert_int_equal(o.shared, 9);
		hashes[i] = o.sched_hash;
	}
	qsort(hashes, N, sizeof(hashes[0]), cmp_u64);
	for (int i = 1; i < N; i++)
		distinct += hashes[i] != hashes[i - 1];
	printf("distinct schedules over %d seeds: %d\n", N, distinct);
	assert_true(distinct >= N / 2);
}

/* }==================================================================== */
/* {==================================================================== */
/* a lost update, found and replayed                                      */

static void racy_increment(simmm_sim *sim, void *arg)
{
	int *counter = arg;
	for (int i = 0; i < 2; i++) {
		int v = *counter;       /* read */
		simmm_sched_yield(sim); /* ... a window ... */
		*counter = v + 1;       /* write */
	}
}

static int run_racy(simmm_sim *sim, struct outcome *o)
{
	int counter = 0;
	simmm_sched_spawn(sim, "inc-a", racy_increment, &counter);
	simmm_sched_spawn(sim, "inc-b", racy_increment, &counter);
	finish(sim, o, simmm_sched_run(sim, 0));
	return counter;
}

static void test_lost_update_found_and_replayed(void **state)
{
	struct outcome bad = {0}, again = {0};
	uint64_t found_seed = 0;
	int found_counter = 4;
	simmm_sim *sim;

	(void)state;
	for (uint64_t i = 0; i < 64 && found_counter == 4; i++) {
		sim = new_sim(tu_seed() + i);
		found_counter = run_racy(sim, &bad);
		found_seed = tu_seed() + i;
		tu_sim_free(&sim);
	}
	assert_true(found_counter < 4);
	printf("lost update (counter %d) with seed %llu, schedule of %ld bytes\n", found_counter,
	       (unsigned long long)found_seed, bad.nr_bytes);

	/* Replay on an instance with another seed: the bytes alone decide
	 * the schedule (the trace differs only by the creation event). */
	sim = new_sim(found_seed + 1000);
	TU_ASSERT_OK(simmm_sched_replay(sim, bad.bytes, (size_t)bad.nr_bytes));
	assert_int_equal(run_racy(sim, &again), found_counter);
	assert_int_equal(again.sched_hash, bad.sched_hash);
	assert_int_equal(again.nr_bytes, bad.nr_bytes);
	assert_memory_equal(again.bytes, bad.bytes, (size_t)bad.nr_bytes);
	tu_sim_free(&sim);

	/* Same seed, replay policy: the trace is identical, byte for byte. */
	sim = new_sim(found_seed);
	TU_ASSERT_OK(simmm_sched_replay(sim, bad.bytes, (size_t)bad.nr_bytes));
	assert_int_equal(run_racy(sim, &again), found_counter);
	assert_int_equal(again.trace_hash, bad.trace_hash);
	assert_int_equal(again.sched_hash, bad.sched_hash);
	tu_sim_free(&sim);
}

static void test_replay_accepts_any_bytes(void **state)
{
	uint8_t junk[64];
	uint64_t x = tu_seed();
	struct outcome o;

	(void)state;
	for (int round = 0; round < 40; round++) {
		simmm_sim *sim = new_sim(3);
		size_t len = (size_t)round * 3 % (sizeof(junk) + 1);
		for (size_t i = 0; i < len; i++)
			junk[i] = (uint8_t)(simmm__splitmix64(&x));
		TU_ASSERT_OK(simmm_sched_replay(sim, junk, len));
		run_racy(sim, &o);
		assert_int_equal(o.rc, SIMMM_SCHED_DONE);
		tu_sim_free(&sim);
	}
	/* Exhausted bytes fall back to round robin deterministically. */
	{
		simmm_sim *s1 = new_sim(1), *s2 = new_sim(2);
		struct outcome a, b;
		struct simmm_sched_config cfg;
		simmm_sched_replay(s1, NULL, 0);
		simmm_sched_config_init(s2, &cfg);
		cfg.policy = SIMMM_SCHED_RR;
		simmm_sched_configure(s2, &cfg);
		run_racy(s1, &a);
		run_racy(s2, &b);
		assert_int_equal(a.sched_hash, b.sched_hash);
		tu_sim_free(&s1);
		tu_sim_free(&s2);
	}
}

static void test_export_truncates(void **state)
{
	simmm_sim *sim = new_sim(tu_seed());
	struct outcome o;
	uint8_t two[2] = {0xee, 0xee};
	long n;

	(void)state;
	run_racy(sim, &o);
	n = simmm_sched_export(sim, NULL, 0);
	assert_int_equal(n, o.nr_bytes);
	assert_true(n > 2);
	assert_int_equal(simmm_sched_export(sim, two, 2), n);
	assert_memory_equal(two, o.bytes, 2);
	tu_sim_free(&sim);
}

/* }==================================================================== */
/* {==================================================================== */
/* an ABBA deadlock found by PCT                                          */

struct abba {
	struct simmm_mutex a, b;
};

static void take_ab(simmm_sim *sim, void *arg)
{
	struct abba *p = arg;
	simmm_mutex_lock(sim, &p->a);
	simmm_mutex_lock(sim, &p->b);
	simmm_mutex_unlock(sim, &p->b);
	simmm_mutex_unlock(sim, &p->a);
}

static void take_ba(simmm_sim *sim, void *arg)
{
	struct abba *p = arg;
	simmm_mutex_lock(sim, &p->b);
	simmm_mutex_lock(sim, &p->a);
	simmm_mutex_unlock(sim, &p->a);
	simmm_mutex_unlock(sim, &p->b);
}

static void test_pct_finds_abba_deadlock(void **state)
{
	int found = 0;

	(void)state;
	for (uint64_t i = 0; i < 200 && !found; i++) {
		simmm_sim *sim = new_sim(tu_seed() + i);
		struct abba p;
		struct simmm_sched_config cfg;
		int rc;

		simmm_mutex_init(&p.a, "lock-A");
		simmm_mutex_init(&p.b, "lock-B");
		simmm_sched_config_init(sim, &cfg);
		cfg.policy = SIMMM_SCHED_PCT;
		cfg.pct_depth = 2;
		cfg.pct_steps = 10;
		TU_ASSERT_OK(simmm_sched_configure(sim, &cfg));
		simmm_sched_spawn(sim, "ab", take_ab, &p);
		simmm_sched_spawn(sim, "ba", take_ba, &p);
		rc = simmm_sched_run(sim, 0);
		if (rc == SIMMM_SCHED_DEADLOCK) {
			const char *log = simmm_reports(sim, NULL);
			found = 1;
			printf("PCT found the ABBA deadlock in run %llu:\n%s",
			       (unsigned long long)i + 1, log);
			assert_int_equal(simmm_reports_count(sim, SIMMM_REPORT_DEADLOCK), 1);
			assert_non_null(strstr(log, "task 1 'ab' waits for mutex 'lock-B'"));
			assert_non_null(strstr(log, "task 2 'ba' waits for mutex 'lock-A'"));
			assert_non_null(strstr(log, "holding [mutex 'lock-A'"));
			assert_non_null(strstr(log, "holding [mutex 'lock-B'"));
			/* lockdep also saw the inversion, before the waits. */
			assert_int_equal(simmm_reports_count(sim, SIMMM_REPORT_LOCKDEP), 1);
			assert_int_equal(simmm_sched_task_state(sim, 1), SIMMM_TASK_BLOCKED);
			TU_ASSERT_OK(simmm_sched_reset(sim));
		} else {
			assert_int_equal(rc, SIMMM_SCHED_DONE);
		}
		clear_reports(sim);
		tu_sim_free(&sim);
	}
	assert_true(found);
}

/* }==================================================================== */
/* {==================================================================== */
/* virtual time                                                           */

struct timing {
	uint64_t before, after;
	int rc;
};

static void sleeper(simmm_sim *sim, void *arg)
{
	struct timing *t = arg;
	t->before = simmm_sched_now_ns(sim);
	t->rc = simmm_sched_sleep(sim, 10);
	t->after = simmm_sched_now_ns(sim);
}

static void test_virtual_time(void **state)
{
	simmm_sim *sim = new_sim(tu_seed());
	struct timing t = {0};
	uint64_t j0;

	(void)state;
	assert_int_equal(simmm_sched_now_ns(sim), 0);
	simmm_sched_spawn(sim, "sleeper", sleeper, &t);
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
	assert_int_equal(t.rc, 0);
	assert_true(t.after - t.before >= 10 * 1000000ULL);
	assert_true(t.after - t.before < 11 * 1000000ULL);

	/* Outside a run a sleep just advances the clock. */
	j0 = simmm_sched_jiffies(sim);
	assert_int_equal(simmm_sched_sleep(sim, 1000), 0);
	assert_int_equal(simmm_sched_jiffies(sim) - j0, simmm_msecs_to_jiffies(1000));
	tu_sim_free(&sim);
}

/* {==================================================================== */
/* trace and allocation failure                                           */

static void test_trace_events(void **state)
{
	simmm_sim *sim = new_sim(tu_seed());
	struct mutex_prog p = {0};
	static struct simmm_trace_event ev[4096];
	unsigned seen[0x40] = {0};
	long n;

	(void)state;
	simmm_mutex_init(&p.m, "m");
	simmm_sched_spawn(sim, "w1", mutex_worker, &p);
	simmm_sched_spawn(sim, "w2", mutex_worker, &p);
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
	n = simmm_trace_read(sim, ev, 4096);
	assert_true(n > 0);
	for (long i = 0; i < n; i++) {
		if (ev[i].type < 0x40)
			seen[ev[i].type]++;
		if (ev[i].type == SIMMM_EV_LOCK_ACQUIRE) {
			assert_int_equal(ev[i].addr, p.m.map.id); /* deterministic lock id */
			assert_int_equal(ev[i].arg0, SIMMM_LOCK_MUTEX);
			assert_true(ev[i].task == 1 || ev[i].task == 2);
		}
	}
	assert_int_equal(seen[SIMMM_EV_TASK_SPAWN], 2);
	assert_int_equal(seen[SIMMM_EV_TASK_EXIT], 2);
	assert_int_equal(seen[SIMMM_EV_LOCK_ACQUIRE], 6);
	assert_int_equal(seen[SIMMM_EV_LOCK_RELEASE], 6);
	assert_int_equal(seen[SIMMM_EV_YIELD], 6);
	assert_true(seen[SIMMM_EV_TASK_SWITCH] >= 2);
	tu_sim_free(&sim);
}

static void test_alloc_failure(void **state)
{
	simmm_sim *sim = new_sim(tu_seed());
	struct simmm_fault_config fc = {.mode = SIMMM_FAULT_FROM_NTH, .nth = 1};
	struct simmm_mutex m = SIMMM_MUTEX_INIT("m");
	struct counter_prog p = {.iters = 1};

	(void)state;
	TU_ASSERT_OK(simmm_fault_inject(sim, &fc));
	/* Locks never fail for memory: without a scheduler they run plain. */
	TU_ASSERT_OK(simmm_mutex_lock(sim, &m));
	TU_ASSERT_OK(simmm_mutex_unlock(sim, &m));
	assert_int_equal(simmm_sched_spawn(sim, "t", count_task, &p), -ENOMEM);
	TU_ASSERT_OK(simmm_fault_inject(sim, NULL));
	assert_int_equal(simmm_sched_spawn(sim, "t", count_task, &p), 1);
	/* Now the scheduler exists: the stack allocation is what fails. */
	TU_ASSERT_OK(simmm_fault_inject(sim, &fc));
	assert_int_equal(simmm_sched_spawn(sim, "t", count_task, &p), -ENOMEM);
	assert_int_equal(simmm_sched_run(sim, 0), SIMMM_SCHED_DONE);
	TU_ASSERT_OK(simmm_fault_inject(sim, NULL));
	assert_int_equal(p.counter, 1);
	tu_sim_free(&sim);
}

/* }==================================================================== */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_basic),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_spawn_from_task),
		cmocka_unit_test(test_step_limit_and_reset),
		cmocka_unit_test(test_determinism_same_seed),
		cmocka_unit_test(test_many_seeds_many_interleavings),
		cmocka_unit_test(test_lost_update_found_and_replayed),
		cmocka_unit_test(test_replay_accepts_any_bytes),
		cmocka_unit_test(test_export_truncates),
		cmocka_unit_test(test_pct_finds_abba_deadlock),
		cmocka_unit_test(test_virtual_time),
		cmocka_unit_test(test_trace_events),
		cmocka_unit_test(test_alloc_failure),
	};
	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
