// SPDX-License-Identifier: MIT
/*
 * Reclaim under concurrency, on fixed round-robin schedules (the kernel's
 * reclaimers are independent; see the header of src/mm/reclaim.c):
 *  1. two tasks fault new pages into a RAM full of reclaimable anonymous
 *     memory, one of them stopped inside its reclaim's notifier bracket:
 *     the other reclaims on its own and both succeed (simmm once kept one
 *     machine-wide "in reclaim" flag, and the second fault got -ENOMEM);
 *  2. an allocation made inside reclaim by the reclaiming task itself does
 *     not reclaim again (PF_MEMALLOC), while another task's does; outside
 *     tasks the mark is cleared when reclaim returns;
 *  3. MADV_PAGEOUT while a shrink works on a folio: the shrink isolated it
 *     (folio_isolate_lru() fails on it), so the advice leaves it to the
 *     shrink and every page is reclaimed exactly once;
 *  4. a faulting task that finds nothing to reclaim while another task
 *     holds every reclaimable folio isolated is throttled and retries
 *     within a bound: it gets the page once the other frees one, or
 *     -ENOMEM after the last retry, while the other still sleeps;
 *  5. too_many_isolated(): a direct reclaimer that finds more folios
 *     isolated by the shrinks than an eighth of the inactive list waits
 *     (20 ms at most) before it isolates a batch, and gives that batch up
 *     if it is still too many; MADV_PAGEOUT's isolations do not count.
 * A shrink isolates a batch of up to 32 folios at once, so the first task
 * stops holding a batch: the machines are sized so that the second task's
 * reclaim is not throttled by it where the scenario needs it to run (an
 * isolated batch of at most an eighth of the inactive list), and so that
 * it is where the scenario is the throttle.
 * A "gate" notifier stops the first task inside its first CLEAR
 * invalidation (reclaim's try_to_unmap()) so that the second one runs its
 * operation in the window. Task bodies only record; the assertions run
 * after simmm_sched_run().
 */
#include "test_mm_ext_util.h"

#define RW (SIMMM_PROT_READ | SIMMM_PROT_WRITE)
#define PMD (2 * MIB)
#define REGION_PAGES 512 /* one PTE table: faults in it allocate no table */
#define WAIT_YIELDS 100000
#define MS 1000000ULL

struct rr;
typedef void (*gate_fn)(struct rr *r);

/* The LRU counters a gate records when it stops and when it goes on. */
struct lru_snap {
	uint64_t isolated, scanned, throttled, throttled_isolated;
};

/* Stops task @task at its first CLEAR invalidation start. */
struct gate {
	struct simmm_mmu_notifier mn; /* first */
	struct rr *r;
	uint32_t task;
	gate_fn fn;                   /* what the stopped task does there */
	unsigned stops;
	bool inside;
	uint64_t start;               /* the range of the stop */
	uint64_t woke_ns;             /* when the stopped task went on */
	struct lru_snap stop, woke;   /* the LRU then */
};

struct rr {
	simmm_sim *sim;
	struct simmm_mm *mm;
	struct gate g;
	simmm_addr_t a;               /* REGION_PAGES pages, PMD-aligned */
	unsigned filled;              /* pages written before RAM ran out */
	uint64_t sleep_ms;            /* 4.: how long the gate holds */
	int rc_a, rc_b;
	bool b_done, b_done_inside;
	uint64_t reclaimed_a;
	/* 2. */
	bool nested_null;
	uint64_t nested_scanned;      /* LRU scans during the nested allocation */
	uint64_t b_reclaimed;         /* LRU reclaim total's growth during B's fault */
	/* 3. */
	bool isolated_by_b;
	/* 4., 5. */
	uint64_t b_start_ns, b_end_ns;
	unsigned b_page;              /* b faults page filled + b_page */
};

static void wr(struct simmm_mm *mm, simmm_addr_t addr, unsigned tag, int *rc)
{
	uint8_t buf[64];

	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(tag * 31 + i);
	*rc = simmm_mm_access(mm, addr, buf, sizeof(buf), SIMMM_ACCESS_WRITE);
}

static uint64_t lru_scanned(simmm_sim *sim)
{
	return simmm__mm_global(sim)->lru->scanned;
}

static struct lru_snap lru_snap(simmm_sim *sim)
{
	const struct simmm_lru *l = simmm__mm_global(sim)->lru;

	return (struct lru_snap){.isolated = l->nr_isolated,
				 .scanned = l->scanned,
				 .throttled = l->throttled,
				 .throttled_isolated = l->throttled_isolated};
}

static int gate_start(struct simmm_mmu_notifier *sub, const struct simmm_mmu_notifier_range *r)
{
	struct gate *g = (struct gate *)sub;

	if (g->stops || r->event != SIMMM_MMU_NOTIFY_CLEAR ||
	    simmm_sched_current(g->r->sim) != g->task)
		return 0;
	g->stops++;
	g->start = r->start;
	g->stop = lru_snap(g->r->sim);
	g->fn(g->r);
	g->woke_ns = simmm_sched_now_ns(g->r->sim);
	g->woke = lru_snap(g->r->sim);
	return 0;
}

static const struct simmm_mmu_notifier_ops gate_ops = {
	.invalidate_range_start = gate_start,
};

/* Hold the gate until the other task is done (or WAIT_YIELDS yields). */
static void gate_yield(struct rr *r)
{
	r->g.inside = true;
	for (int i = 0; i < WAIT_YIELDS && !r->b_done; i++)
		simmm_sched_yield(r->sim);
	r->b_done_inside = r->b_done;
	r->g.inside = false;
}

/* The other task's start: once the gated one is inside. */
static void wait_inside(struct rr *r)
{
	for (int i = 0; i < WAIT_YIELDS && !r->g.inside; i++)
		simmm_sched_yield(r->sim);
}

/* A machine of @ram bytes; @pages: so many anonymous pages of the region
 * written, or 0: its RAM filled with them (auto reclaim off while filling,
 * on again after). */
static struct rr *rr_new(uint64_t ram, unsigned pages, gate_fn fn)
{
	struct rr *r = calloc(1, sizeof(*r));
	struct simmm_sched_config cfg;
	int rc = 0;

	r->sim = mx_sim(NULL, ram, 8 * MIB);
	r->mm = mx_mm(r->sim);
	r->a = mx_anon_aligned(r->mm, PMD, REGION_PAGES * PS);
	if (!pages) {
		TU_ASSERT_OK(simmm_set_auto_reclaim(r->sim, false));
		for (r->filled = 0; r->filled < REGION_PAGES; r->filled++) {
			wr(r->mm, r->a + r->filled * PS, r->filled, &rc);
			if (rc)
				break;
		}
		assert_int_equal(rc, -ENOMEM);
		assert_true(r->filled > 64 && r->filled + 2 < REGION_PAGES);
		TU_ASSERT_OK(simmm_set_auto_reclaim(r->sim, true));
	} else {
		for (r->filled = 0; r->filled < pages; r->filled++)
			mx_write(r->mm, r->a + r->filled * PS, r->filled);
	}
	TU_CHECK(r->sim);
	r->g.mn.ops = &gate_ops;
	r->g.r = r;
	r->g.fn = fn;
	TU_ASSERT_OK(simmm_mmu_notifier_register(&r->g.mn, r->mm));
	simmm_sched_config_init(r->sim, &cfg);
	cfg.policy = SIMMM_SCHED_RR;
	TU_ASSERT_OK(simmm_sched_configure(r->sim, &cfg));
	return r;
}

static void rr_run(struct rr *r, simmm_task_fn afn, simmm_task_fn bfn)
{
	int a = simmm_sched_spawn(r->sim, "a", afn, r);

	assert_true(a > 0);
	r->g.task = (uint32_t)a;
	assert_true(simmm_sched_spawn(r->sim, "b", bfn, r) > 0);
	assert_int_equal(simmm_sched_run(r->sim, 1000000), SIMMM_SCHED_DONE);
	assert_int_equal(simmm_reports_count(r->sim, 0), 0);
	TU_CHECK(r->sim);
}

/* Every page written still reads back (from RAM or swap). */
static void rr_expect(struct rr *r, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		mx_expect(r->mm, r->a + i * PS, i);
	TU_CHECK(r->sim);
}

static void rr_free(struct rr *r)
{
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&r->g.mn, r->mm));
	TU_ASSERT_OK(simmm_mmput(r->mm));
	TU_CHECK(r->sim);
	tu_sim_free(&r->sim);
	free(r);
}

/* ---- 1. two faulting tasks ------------------------------------------------------------- */

static void task_fault_a(simmm_sim *sim, void *arg)
{
	struct rr *r = arg;

	(void)sim;
	wr(r->mm, r->a + r->filled * PS, r->filled, &r->rc_a);
}

static void task_fault_b(simmm_sim *sim, void *arg)
{
	struct rr *r = arg;
	uint64_t before;

	(void)sim;
	wait_inside(r);
	before = mx_lru_reclaimed(r->sim);
	wr(r->mm, r->a + (r->filled + 1) * PS, r->filled + 1, &r->rc_b);
	r->b_reclaimed = mx_lru_reclaimed(r->sim) - before;
	r->b_done = true;
}

/* The machine of cases 1 and 2: 2 MiB, so that the batch the gate stops
 * task a with (32 folios) is not more than an eighth of the inactive list
 * and task b's reclaim is not throttled by it (too_many_isolated()). */
#define RAM_UNTHROTTLED (2 * MIB)

/* b ran its reclaim while a held a batch isolated, unthrottled. */
static void expect_b_unthrottled(const struct rr *r)
{
	assert_true(r->g.stop.isolated > 1 && r->g.stop.isolated <= 32);
	assert_true(r->g.stop.isolated <= (r->filled - r->g.stop.isolated) / 8);
	assert_int_equal(r->g.woke.throttled_isolated, r->g.stop.throttled_isolated);
	assert_true(r->g.woke.scanned > r->g.stop.scanned); /* b's scans */
}

/* Task a's fault reclaims and stops inside its first unmap, a batch of
 * folios isolated; task b's fault meanwhile finds the RAM empty too,
 * reclaims other folios and gets its page: both faults succeed, and no
 * data is lost. */
static void test_two_faults_both_reclaim(void **state)
{
	(void)state;
	struct rr *r = rr_new(RAM_UNTHROTTLED, 0, gate_yield);

	rr_run(r, task_fault_a, task_fault_b);
	assert_int_equal(r->g.stops, 1);
	assert_true(r->b_done_inside); /* b's fault ran while a was in reclaim */
	expect_b_unthrottled(r);
	TU_ASSERT_OK(r->rc_a);
	TU_ASSERT_OK(r->rc_b);
	assert_true(r->b_reclaimed > 0);
	rr_expect(r, r->filled + 2);
	rr_free(r);
}

/* ---- 2. no recursion, per task --------------------------------------------------------- */

/* Inside a's reclaim: an allocation of a's own (as a notifier callback
 * faulting memory would make) fails without reclaiming (the RAM is full);
 * then let b run. */
static void gate_nested_alloc(struct rr *r)
{
	uint64_t scanned = lru_scanned(r->sim);
	struct simmm_page *p = simmm__alloc_user_folio(r->sim, 0);

	r->nested_scanned = lru_scanned(r->sim) - scanned;
	r->nested_null = p == NULL;
	if (p)
		simmm__folio_put(r->sim, p);
	gate_yield(r);
}

static void test_nested_alloc_no_recursion(void **state)
{
	(void)state;
	struct rr *r = rr_new(RAM_UNTHROTTLED, 0, gate_nested_alloc);

	rr_run(r, task_fault_a, task_fault_b);
	assert_int_equal(r->g.stops, 1);
	assert_true(r->nested_null);
	assert_int_equal(r->nested_scanned, 0);
	assert_true(r->b_done_inside);
	expect_b_unthrottled(r);
	TU_ASSERT_OK(r->rc_b);       /* b reclaimed while a was inside */
	assert_true(r->b_reclaimed > 0);
	TU_ASSERT_OK(r->rc_a);
	rr_expect(r, r->filled + 2);
	rr_free(r);
}

/* Outside tasks: the same nested allocation during simmm_reclaim() fails
 * without reclaiming; once reclaim returned, allocations reclaim again.
 * The reclaim of one page finishes the batch it stopped in: it frees up to
 * a batch. */
static void test_nested_alloc_main_context(void **state)
{
	(void)state;
	struct rr *r = rr_new(1 * MIB, 0, gate_nested_alloc);
	uint64_t n = 0, before;
	int rc = 0;

	r->b_done = true; /* nobody to wait for */
	r->g.task = 0;    /* the main context */
	TU_ASSERT_OK(simmm_reclaim(r->sim, 1, &n));
	assert_int_equal(r->g.stops, 1);
	assert_true(r->nested_null);
	assert_int_equal(r->nested_scanned, 0);
	assert_true(n >= 1 && n <= r->g.stop.isolated && n <= 32);
	assert_int_equal(mx_free_pages(r->sim), n);
	TU_CHECK(r->sim);
	/* Take the pages reclaim freed, then fault one more: it reclaims. */
	before = mx_lru_reclaimed(r->sim);
	for (uint64_t i = 0; i < n; i++) {
		wr(r->mm, r->a + (r->filled + i) * PS, (unsigned)(r->filled + i), &rc);
		TU_ASSERT_OK(rc);
	}
	assert_int_equal(mx_lru_reclaimed(r->sim), before);
	wr(r->mm, r->a + (r->filled + n) * PS, (unsigned)(r->filled + n), &rc);
	TU_ASSERT_OK(rc);
	assert_true(mx_lru_reclaimed(r->sim) > before);
	rr_expect(r, r->filled + (unsigned)n + 1);
	rr_free(r);
}

/* ---- 3. MADV_PAGEOUT vs a shrink ------------------------------------------------------- */

static void task_shrink_a(simmm_sim *sim, void *arg)
{
	struct rr *r = arg;

	r->rc_a = simmm_reclaim(sim, 1, &r->reclaimed_a);
}

static void task_pageout_b(simmm_sim *sim, void *arg)
{
	struct rr *r = arg;
	struct simmm_page *folio;

	wait_inside(r);
	folio = simmm__compound_head(sim, simmm__pfn_to_page(sim, mx_tr(r->mm, r->g.start).pfn));
	uint64_t before;

	wait_inside(r);
	folio = simmm__compound_head(sim, simmm__pfn_to_page(sim, mx_tr(r->mm, r->g.start).pfn));
	r->isolated_by_b = simmm__folio_isolate_lru(sim, folio);
	if (r->isolated_by_b)
		simmm__folio_putback_lru(sim, folio);
	before = mx_lru_reclaimed(r->sim);
	r->rc_b = simmm_madvise(r->mm, r->a, r->filled * PS, SIMMM_MADV_PAGEOUT);
	r->b_reclaimed = mx_lru_reclaimed(r->sim) - before;
	r->b_done = true;
}

/* The shrink stops while unmapping the first folio it reclaims, holding
 * its batch (32 of the 64 folios) isolated; MADV_PAGEOUT over the whole
 * range can isolate none of the batch (that folio included) and pages
 * the others out; the shrink then finishes its batch. Each page is
 * swapped out and freed at most once: what stayed is the batch's folios
 * the shrink kept (seen young for the first time). */
static void test_pageout_vs_shrink(void **state)
{
	(void)state;
	struct rr *r = rr_new(64 * MIB, 64, gate_yield);
	uint64_t rec = mx_lru_reclaimed(r->sim), out = simmm__mm_global(r->sim)->swap->swpout;
	unsigned gone = 0;

	rr_run(r, task_shrink_a, task_pageout_b);
	assert_int_equal(r->g.stops, 1);
	assert_true(r->b_done_inside);
	assert_false(r->isolated_by_b);
	TU_ASSERT_OK(r->rc_a);
	TU_ASSERT_OK(r->rc_b);
	assert_true(r->g.stop.isolated > 1 && r->g.stop.isolated < r->filled);
	assert_int_equal(r->b_reclaimed, r->filled - r->g.stop.isolated);
	assert_true(r->reclaimed_a >= 1 && r->reclaimed_a <= r->g.stop.isolated);
	for (unsigned i = 0; i < r->filled; i++) {
		struct simmm_translation t = mx_tr(r->mm, r->a + i * PS);

		if (t.present)
			continue;
		assert_true(simmm_is_real_swap_entry(t.entry));
		gone++;
	}
	assert_int_equal(gone, r->reclaimed_a + r->b_reclaimed);
	assert_int_equal(mx_lru_reclaimed(r->sim) - rec, gone);
	assert_int_equal(simmm__mm_global(r->sim)->swap->swpout - out, gone);
	assert_int_equal(mx_swap_used(r->sim), gone);
	rr_expect(r, r->filled);
	rr_free(r);
}

/* ---- 4. throttling and its bound ------------------------------------------------------- */

#define ISOLATED_PAGES 32 /* one MADV_PAGEOUT batch */

static void gate_sleep(struct rr *r)
{
	r->g.inside = true;
	simmm_sched_sleep(r->sim, r->sleep_ms);
	r->g.inside = false;
}

static void task_pageout_a(simmm_sim *sim, void *arg)
{
	struct rr *r = arg;

	(void)sim;
	r->rc_a = simmm_madvise(r->mm, r->a, ISOLATED_PAGES * PS, SIMMM_MADV_PAGEOUT);
}

static void task_fault_timed_b(simmm_sim *sim, void *arg)
{
	struct rr *r = arg;

	wait_inside(r);
	r->b_start_ns = simmm_sched_now_ns(sim);
	wr(r->mm, r->a + (r->filled + r->b_page) * PS, r->filled + r->b_page, &r->rc_b);
	r->b_end_ns = simmm_sched_now_ns(sim);
	r->b_done = true;
}

/* The RAM is full: the first ISOLATED_PAGES pages are reclaimable, the
 * rest pinned. Task a pages the reclaimable ones out, isolating all of
 * them at once, and sleeps @sleep_ms inside the first unmap. Task b's
 * fault meanwhile scans only pinned folios: throttled, it waits for a's
 * isolations to end (20 ms each time at most) and retries. */
static void throttle_case(uint64_t sleep_ms)
{
	struct rr *r = rr_new(1 * MIB, 0, gate_sleep);
	uint64_t npin;
	simmm_pfn_t *pins;

	r->sleep_ms = sleep_ms;
	npin = r->filled - ISOLATED_PAGES;
	pins = calloc(npin, sizeof(*pins));
	assert_int_equal(simmm_pin_user_pages(r->mm, r->a + ISOLATED_PAGES * PS, npin,
					      SIMMM_FOLL_WRITE, pins),
			 (long)npin);
	TU_CHECK(r->sim);
	rr_run(r, task_pageout_a, task_fault_timed_b);
	assert_int_equal(r->g.stops, 1);
	TU_ASSERT_OK(r->rc_a);
	/* MADV_PAGEOUT's isolations (folio_isolate_lru()) are not NR_ISOLATED:
	 * b's reclaim is throttled for want of progress only, never by
	 * too_many_isolated() (32 such isolations are more than an eighth of
	 * the inactive list here). */
	assert_int_equal(r->g.stop.isolated, 0);
	assert_int_equal(r->g.woke.throttled_isolated, r->g.stop.throttled_isolated);
	assert_true(r->g.woke.throttled > r->g.stop.throttled);
	/* b waited at least one throttle period, never for a's whole sleep
	 * when that is longer than every retry together. */
	assert_true(r->b_end_ns - r->b_start_ns >= 20 * MS);
	if (sleep_ms > 16 * 20) {
		/* Sixteen fruitless retries, then -ENOMEM, a still asleep. */
		assert_int_equal(r->rc_b, -ENOMEM);
		assert_true(r->b_end_ns - r->b_start_ns >= 16 * 20 * MS);
		assert_true(r->b_end_ns < r->g.woke_ns);
	} else {
		/* a freed a page when it woke up: b got it. */
		TU_ASSERT_OK(r->rc_b);
		assert_true(r->b_end_ns >= r->g.woke_ns);
	}
	TU_ASSERT_OK(simmm_unpin_user_pages(r->sim, pins, npin));
	free(pins);
	TU_CHECK(r->sim);
	rr_expect(r, r->filled + (r->rc_b == 0));
	rr_free(r);
}

static void test_throttle_then_page(void **state)
{
	(void)state;
	throttle_case(30);
}

static void test_throttle_bound(void **state)
{
	(void)state;
	throttle_case(1000);
}

/* ---- 5. too_many_isolated() ----------------------------------------------------------- */

/* Task a's fault reclaims and sleeps @sleep_ms inside its first unmap,
 * holding a batch of 32 folios isolated: more than an eighth of the
 * inactive list of the 1 MiB machine. Task b's fault reclaims meanwhile:
 * before each batch it would isolate, too_many_isolated() makes it wait
 * (20 ms, or until a reclaimer finds the count low again) and, still too
 * many, give that batch up, so b isolates and scans nothing while a
 * sleeps. */
static struct rr *too_many_case(uint64_t sleep_ms)
{
	struct rr *r = rr_new(1 * MIB, 0, gate_sleep);

	r->sleep_ms = sleep_ms;
	r->b_page = 1; /* a faults page filled */
	rr_run(r, task_fault_a, task_fault_timed_b);
	assert_int_equal(r->g.stops, 1);
	assert_int_equal(r->g.stop.isolated, 32);
	assert_true(r->g.stop.isolated > (r->filled - r->g.stop.isolated) / 8);
	assert_int_equal(r->g.woke.scanned, r->g.stop.scanned); /* b took nothing */
	assert_true(r->g.woke.throttled_isolated >= r->g.stop.throttled_isolated + 2);
	TU_ASSERT_OK(r->rc_a);
	TU_ASSERT_OK(r->rc_b); /* once a's batch went back */
	assert_true(r->b_end_ns >= r->g.woke_ns);
	rr_expect(r, r->filled + 2);
	return r;
}

/* a sleeps 30 ms: b waits 20 ms, gives that batch up, and waits again
 * before its next one; a's batch ends meanwhile and b reclaims. */
static void test_too_many_isolated_throttle(void **state)
{
	(void)state;
	struct rr *r = too_many_case(30);

	assert_int_equal(r->g.woke.throttled_isolated, r->g.stop.throttled_isolated + 2);
	assert_int_equal(r->g.woke.throttled, r->g.stop.throttled); /* no fruitless shrink yet */
	rr_free(r);
}

/* a sleeps 1 s: b gives every batch of its shrinks up after a wait of its
 * own ("stalled"), so whole shrinks come back empty and its allocation
 * retries after the throttle of no progress, again and again, until a's
 * batch is back. */
static void test_too_many_isolated_stall(void **state)
{
	(void)state;
	struct rr *r = too_many_case(1000);

	assert_true(r->g.woke.throttled > r->g.stop.throttled);
	assert_true(r->g.woke.throttled_isolated - r->g.stop.throttled_isolated >= 16);
	rr_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_faults_both_reclaim),
		cmocka_unit_test(test_nested_alloc_no_recursion),
		cmocka_unit_test(test_nested_alloc_main_context),
		cmocka_unit_test(test_pageout_vs_shrink),
		cmocka_unit_test(test_throttle_then_page),
		cmocka_unit_test(test_throttle_bound),
		cmocka_unit_test(test_too_many_isolated_throttle),
		cmocka_unit_test(test_too_many_isolated_stall),
	};

	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
