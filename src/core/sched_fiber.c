// SPDX-License-Identifier: MIT
/*
 * Fibers: ucontext switching with the AddressSanitizer fiber annotations,
 * scheduling points, blocking and wake-ups.
 *
 * The run loop (simmm_sched_run(), on the caller's stack) enters the first
 * task; from then on tasks switch directly to each other at scheduling
 * points, and hand back to the run loop only when nothing can run or the
 * step limit is hit. A point that picks the running task again costs no
 * switch at all.
 */
#define _GNU_SOURCE /* ucontext: getcontext/makecontext/swapcontext */
#include <string.h>
#include <ucontext.h>

#include "core/sched_internal.h"

#ifdef SIMMM_HAVE_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#define STACK_CANARY_WORDS 8
#define STACK_CANARY 0x5ca1ab1ec0ffee11ULL

struct simmm_fiber {
	ucontext_t ctx;
	void *stack;          /* lowest address; NULL for main until learnt */
	size_t stack_size;
	size_t alloc_size;    /* of this struct plus the stack */
};

/* {==================================================================== */
/* creation                                                               */

static void task_entry(int hi, int lo);

void simmm__fiber_main_init(struct simmm_sched *s)
{
	s->main.fiber = simmm__zalloc_nofail(s->sim, SIMMM_ALLOC_SCHED, sizeof(*s->main.fiber));
	s->main.fiber->alloc_size = sizeof(*s->main.fiber);
}

void simmm__fiber_main_fini(struct simmm_sched *s)
{
	simmm__free(s->sim, SIMMM_ALLOC_SCHED, s->main.fiber, sizeof(*s->main.fiber));
	s->main.fiber = NULL;
}

int simmm__fiber_new(struct simmm_sched *s, struct simmm_task *t, size_t stack_size)
{
	size_t hdr = (sizeof(struct simmm_fiber) + 15) & ~(size_t)15;
	size_t size = hdr + stack_size + 16;
	struct simmm_fiber *f = simmm__malloc(s->sim, SIMMM_ALLOC_SCHED, size);
	uintptr_t p = (uintptr_t)t;
	uint64_t *canary;

	if (!f)
		return -ENOMEM;
	memset(f, 0, sizeof(*f));
	f->alloc_size = size;
	f->stack = (void *)(((uintptr_t)f + hdr + 15) & ~(uintptr_t)15);
	f->stack_size = stack_size;
	canary = f->stack;
	for (int i = 0; i < STACK_CANARY_WORDS; i++)
		canary[i] = STACK_CANARY;
	if (getcontext(&f->ctx)) {
		simmm__free(s->sim, SIMMM_ALLOC_SCHED, f, size);
		return -ENOMEM;
	}
	f->ctx.uc_stack.ss_sp = f->stack;
	f->ctx.uc_stack.ss_size = stack_size;
	f->ctx.uc_link = NULL;
	/* makecontext passes ints: hand the task pointer over in two halves. */
	makecontext(&f->ctx, (void (*)(void))task_entry, 2, (int)(uint32_t)((uint64_t)p >> 32),
		    (int)(uint32_t)p);
	t->fiber = f;
	return 0;
}

void simmm__fiber_free(struct simmm_sched *s, struct simmm_task *t)
{
	struct simmm_fiber *f = t->fiber;

	if (!f)
		return;
#ifdef SIMMM_HAVE_ASAN
	/* A task abandoned mid-run leaves stack redzones poisoned. */
	ASAN_UNPOISON_MEMORY_REGION(f->stack, f->stack_size);
#endif
	simmm__free(s->sim, SIMMM_ALLOC_SCHED, f, f->alloc_size);
	t->fiber = NULL;
}

static void canary_check(const struct simmm_task *t)
{
	const uint64_t *c;

	if (t->id == 0)
		return;
	c = t->fiber->stack;
	for (int i = 0; i < STACK_CANARY_WORDS; i++) {
		if (c[i] != STACK_CANARY) {
			fprintf(stderr, "simmm: task %u '%s' overflowed its %zu-byte stack\n",
				t->id, t->name, t->fiber->stack_size);
			SIMMM_BUG_ON(1);
		}
	}
}

/* }==================================================================== */
/* {==================================================================== */
/* switching                                                              */

/* Called on the new stack right after every switch. The first switch of
 * every run leaves main, which is how the bounds of main's stack (needed to
 * annotate switches back to it) are learnt. */
static void fiber_landed(struct simmm_sched *s, void *fake_stack)
{
#ifdef SIMMM_HAVE_ASAN
	const void *bottom = NULL;
	size_t size = 0;

	__sanitizer_finish_switch_fiber(fake_stack, &bottom, &size);
	if (s->from_main) {
		s->main.fiber->stack = (void *)bottom;
		s->main.fiber->stack_size = size;
	}
#else
	(void)fake_stack;
#endif
	s->from_main = false;
	s->sim->cur_task = s->cur->id;
}

/* Switch from @from (the running context) to @to. @exiting: @from never
 * runs again, so ASan may drop its fake stack. */
static void fiber_switch(struct simmm_sched *s, struct simmm_task *from, struct simmm_task *to,
			 bool exiting)
{
#ifdef SIMMM_HAVE_ASAN
	void *fake = NULL;
	__sanitizer_start_switch_fiber(exiting ? NULL : &fake, to->fiber->stack,
				       to->fiber->stack_size);
#else
	void *fake = NULL;
	(void)exiting;
#endif
	if (to->id != 0)
		simmm__sched_trace(s, SIMMM_EV_TASK_SWITCH, 0, from->id, to->id);
	s->from_main = from == &s->main;
	s->cur = to;
	swapcontext(&from->fiber->ctx, &to->fiber->ctx);
	fiber_landed(s, fake);
}

static void task_exit(struct simmm_sched *s, struct simmm_task *t);

static void task_entry(int hi, int lo)
{
	struct simmm_task *t =
		(struct simmm_task *)(uintptr_t)(((uint64_t)(uint32_t)hi << 32) | (uint32_t)lo);
	struct simmm_sched *s = t->sched;

	fiber_landed(s, NULL);
	t->fn(s->sim, t->arg);
	task_exit(s, t);
}

void simmm__sched_enter(struct simmm_sched *s, struct simmm_task *next)
{
	fiber_switch(s, &s->main, next, false);
}

/* Leave the running task: pick the next one (maybe itself) or hand back to
 * the run loop. Returns when the task is picked again (never if @exiting). */
static void sched_switch_away(struct simmm_sched *s, bool exiting)
{
	struct simmm_task *cur = s->cur;
	struct simmm_task *next = NULL;

	canary_check(cur);
	if (s->max_step && s->steps >= s->max_step && !exiting)
		s->stop = SCHED_STOP_LIMIT;
	else
		next = simmm__sched_pick(s);
	if (next == cur)
		return;
	fiber_switch(s, cur, next ? next : &s->main, exiting);
}

static void task_exit(struct simmm_sched *s, struct simmm_task *t)
{
	simmm__ld_task_exit(s, t);
	t->state = SIMMM_TASK_DONE;
	s->nr_live--;
	simmm__sched_trace(s, SIMMM_EV_TASK_EXIT, 0, t->id, 0);
	sched_switch_away(s, true);
	SIMMM_BUG_ON(1); /* a finished task is never picked */
}

/* }==================================================================== */
/* {==================================================================== */
/* points, waits, wake-ups                                                */

SIMMM_NOINLINE void simmm__sched_point_slow(struct simmm_sched *s, const char *label)
{
	if (s->cur == &s->main)
		return;
	if (label)
		s->cur->last_point = label;
	sched_switch_away(s, false);
}

static int wait_outside_run(struct simmm_sched *s, const struct simmm_waitinfo *w,
			    uint64_t timeout_ns)
{
	char held[600];

	if (timeout_ns) {
		/* Nothing else can run, so the deadline is what comes next. */
		s->now_ns += timeout_ns;
		return -ETIMEDOUT;
	}
	simmm__ld_describe_held(s->cur, held, sizeof(held));
	simmm__report(s->sim, SIMMM_REPORT_DEADLOCK,
		      "deadlock: %s '%s' would wait forever for %s '%s' (id %llu%s) outside a "
		      "run: no task can release it; holding [%s]",
		      s->cur->id ? "task" : "context", s->cur->name, w->what, w->name,
		      (unsigned long long)w->id, w->owner >= 0 ? ", held" : "", held);
	return -EDEADLK;
}

int simmm__sched_wait(struct simmm_sched *s, const struct simmm_waitinfo *w,
		      uint64_t timeout_ns)
{
	struct simmm_task *t;

	if (!s)
		return -EDEADLK;
	t = s->cur;
	if (!s->running || t == &s->main)
		return wait_outside_run(s, w, timeout_ns);
	t->wait = *w;
	t->timed_out = false;
	t->deadline = timeout_ns ? s->now_ns + timeout_ns : 0;
	t->state = timeout_ns ? SIMMM_TASK_SLEEPING : SIMMM_TASK_BLOCKED;
	s->nr_blocked++;
	simmm__sched_trace(s, SIMMM_EV_WAIT, w->id, w->kind, 0);
	sched_switch_away(s, false);
	if (!t->timed_out)
		t->nr_woken++;
	return t->timed_out ? -ETIMEDOUT : 0;
}

int simmm__sched_wake(struct simmm_sched *s, const void *obj, uint64_t key, uint64_t id)
{
	int n = 0;

	if (!s || !s->nr_blocked || !obj)
		return 0;
	for (uint32_t i = s->base; i < s->next_id; i++) {
		struct simmm_task *t = s->tasks[i - s->base];
		if (!t || (t->state != SIMMM_TASK_BLOCKED && t->state != SIMMM_TASK_SLEEPING))
			continue;
		if (t->wait.obj != obj || t->wait.key != key)
			continue;
		t->state = SIMMM_TASK_RUNNABLE;
		s->nr_blocked--;
		n++;
	}
	if (n)
		simmm__sched_trace(s, SIMMM_EV_WAKE, id, (uint64_t)n, 0);
	return n;
}

/* }==================================================================== */
