// SPDX-License-Identifier: MIT
/*
 * mmu notifiers without page tables: legacy register/unregister/get/put,
 * non-blockable starts, interval notifiers and the sequence protocol case
 * by case (mm/mmu_notifier.c semantics), tree edits during invalidation,
 * read_begin/remove sleeping on the scheduler, release at exit, refusal
 * of remove/unregister from callbacks, the checker, and a randomized model
 * test. Ranges are driven through the public invalidation wrappers.
 */
#include <string.h>

#include "testutil.h"

#include "mm/mm.h"
#include "notifier/notifier.h"

#define EV_UNMAP SIMMM_MMU_NOTIFY_UNMAP

/* ---- fixtures --------------------------------------------------------------------- */

struct fix {
	simmm_sim *sim;
	struct simmm_mm *mm;
};

static struct fix fix_new(void)
{
	struct fix f;

	f.sim = tu_sim_new(NULL, 0, tu_seed());
	TU_ASSERT_OK(simmm_mm_create(f.sim, &f.mm));
	TU_CHECK(f.sim);
	return f;
}

static void fix_free(struct fix *f)
{
	if (f->mm)
		TU_ASSERT_OK(simmm_mmput(f->mm));
	f->mm = NULL;
	TU_CHECK(f->sim);
	tu_sim_free(&f->sim);
}

static void expect_reports(simmm_sim *sim, enum simmm_report_kind kind, uint64_t n)
{
	uint64_t got = simmm_reports_count(sim, kind);

	if (got != n)
		fail_msg("expected %llu reports of kind %d, got %llu:\n%s", (unsigned long long)n,
			 kind, (unsigned long long)got, simmm_reports(sim, NULL));
	simmm_reports_clear(sim);
}

static struct simmm_mmu_notifier_mm_info info(struct simmm_mm *mm)
{
	struct simmm_mmu_notifier_mm_info i;

	TU_ASSERT_OK(simmm_mmu_notifier_mm_info(mm, &i));
	return i;
}

static int range(struct simmm_mm *mm, uint64_t start, uint64_t end, bool begin, bool nonblock)
{
	struct simmm_mmu_notifier_range r;

	simmm_mmu_notifier_range_init(&r, EV_UNMAP, 0, mm, start, end);
	if (!begin)
		return simmm_mmu_notifier_invalidate_range_end(&r);
	return nonblock ? simmm_mmu_notifier_invalidate_range_start_nonblock(&r)
			: simmm_mmu_notifier_invalidate_range_start(&r);
}

#define START(mm, s, e) range((mm), (s), (e), true, false)
#define END(mm, s, e) range((mm), (s), (e), false, false)

/* ---- a recording legacy notifier ---------------------------------------------------- */

struct rec {
	struct simmm_mmu_notifier mn;
	int id;
	int *order;             /* shared call log of ids */
	int *nr_order;
	int nonblock_fail;      /* start returns this on non-blockable ranges */
	int block_fail;         /* ... and this on blockable ones (a bug) */
	bool sleep_in_start;    /* try to sleep; fail with -EAGAIN if refused */
	bool unregister_in_start;
	int unregister_rc;
	struct simmm_mmu_notifier_range last;
	int young;
	int frees;
	struct simmm_mutex mutex;
};

#define REC(m) ((struct rec *)(void *)(m))

static int rec_start(struct simmm_mmu_notifier *mn, const struct simmm_mmu_notifier_range *r)
{
	struct rec *x = REC(mn);

	x->last = *r;
	if (x->order)
		x->order[(*x->nr_order)++] = x->id;
	if (x->unregister_in_start)
		x->unregister_rc = simmm_mmu_notifier_unregister(mn, r->mm);
	if (x->sleep_in_start) {
		int rc = simmm_mutex_lock(simmm_mm_sim(r->mm), &x->mutex);

		if (rc)
			return -EAGAIN;
		simmm_mutex_unlock(simmm_mm_sim(r->mm), &x->mutex);
	}
	if (!simmm_mmu_notifier_range_blockable(r))
		return x->nonblock_fail;
	return x->block_fail;
}

static void rec_end(struct simmm_mmu_notifier *mn, const struct simmm_mmu_notifier_range *r)
{
	REC(mn)->last = *r;
}

static void rec_release(struct simmm_mmu_notifier *mn, struct simmm_mm *mm)
{
	(void)mn, (void)mm;
}

static int rec_young(struct simmm_mmu_notifier *mn, struct simmm_mm *mm, uint64_t s, uint64_t e)
{
	(void)mm, (void)s, (void)e;
	return REC(mn)->young;
}

static int rec_test_young(struct simmm_mmu_notifier *mn, struct simmm_mm *mm, uint64_t a)
{
	(void)mm, (void)a;
	return REC(mn)->young;
}

static const struct simmm_mmu_notifier_ops rec_ops = {
	.release = rec_release,
	.invalidate_range_start = rec_start,
	.invalidate_range_end = rec_end,
	.clear_flush_young = rec_young,
	.clear_young = rec_young,
	.test_young = rec_test_young,
};

/* can fail: no end, as the contract asks */
static const struct simmm_mmu_notifier_ops rec_ops_noend = {
	.release = rec_release,
	.invalidate_range_start = rec_start,
};

static struct simmm_mmu_notifier_counters counters(const struct simmm_mmu_notifier *mn)
{
	struct simmm_mmu_notifier_counters c;

	TU_ASSERT_OK(simmm_mmu_notifier_counters(mn, &c));
	return c;
}

/* ---- a recording interval notifier ---------------------------------------------------- */

struct irec {
	struct simmm_mmu_interval_notifier sub;
	int calls;
	uint64_t cur_seq;
	struct simmm_mmu_notifier_range last;
	bool refuse_nonblock;   /* return false on non-blockable ranges */
	bool refuse_always;
	bool remove_self;
	int remove_rc;
	int begin_in_cb;
	bool set_seq;
};

#define IREC(s) ((struct irec *)(void *)(s))

static bool irec_invalidate(struct simmm_mmu_interval_notifier *sub,
			    const struct simmm_mmu_notifier_range *r, uint64_t cur_seq)
{
	struct irec *x = IREC(sub);

	x->calls++;
	x->cur_seq = cur_seq;
	x->last = *r;
	if (x->remove_self)
		x->remove_rc = simmm_mmu_interval_notifier_remove(sub);
	if (x->refuse_always || (x->refuse_nonblock && !simmm_mmu_notifier_range_blockable(r)))
		return false;
	if (x->set_seq)
		simmm_mmu_interval_set_seq(sub, cur_seq);
	return true;
}

static const struct simmm_mmu_interval_notifier_ops irec_ops = {.invalidate = irec_invalidate};

static struct irec *irec_new(struct simmm_mm *mm, uint64_t start, uint64_t len)
{
	struct irec *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	x->set_seq = true;
	TU_ASSERT_OK(simmm_mmu_interval_notifier_insert(&x->sub, mm, start, len, &irec_ops));
	return x;
}

/* ==================================================================== */
/* Legacy notifiers                                                     */
/* ==================================================================== */

static void test_names_and_range_init(void **state)
{
	struct simmm_mmu_notifier_range r;
	int owner;

	(void)state;
	assert_string_equal(simmm_mmu_notifier_event_name(SIMMM_MMU_NOTIFY_UNMAP), "UNMAP");
	assert_string_equal(simmm_mmu_notifier_event_name(SIMMM_MMU_NOTIFY_EXCLUSIVE), "EXCLUSIVE");
	assert_string_equal(simmm_mmu_notifier_event_name(SIMMM_MMU_NOTIFY_NR_EVENTS), "?");
	assert_string_equal(simmm_mmu_notifier_trace_name(SIMMM_EV_MN_START), "mn_start");
	assert_string_equal(simmm_mmu_notifier_trace_name(SIMMM_EV_MN_REMOVE), "mn_remove");
	assert_null(simmm_mmu_notifier_trace_name(SIMMM_EV_MN_REMOVE + 1));
	assert_null(simmm_mmu_notifier_trace_name(SIMMM_EV_NOTIFIER_BASE - 1));
	simmm_mmu_notifier_range_init_owner(&r, SIMMM_MMU_NOTIFY_MIGRATE, 0, NULL, 0x1000, 0x3000,
					    &owner);
	assert_int_equal(r.event, SIMMM_MMU_NOTIFY_MIGRATE);
	assert_ptr_equal(r.owner, &owner);
	assert_int_equal(r.start, 0x1000);
	assert_int_equal(r.end, 0x3000);
	assert_false(simmm_mmu_notifier_range_blockable(&r));
	simmm_mmu_notifier_range_init_owner(NULL, SIMMM_MMU_NOTIFY_MIGRATE, 0, NULL, 0, 1, NULL);
}

static void test_register_dispatch_unregister(void **state)
{
	struct fix f = fix_new();
	struct rec a = {.id = 1}, b = {.id = 2};
	int order[8], n = 0;
	struct simmm_mmu_notifier_counters c;

	(void)state;
	a.mn.ops = &rec_ops;
	b.mn.ops = &rec_ops;
	a.order = b.order = order;
	a.nr_order = b.nr_order = &n;
	assert_null(f.mm->notifier_subscriptions);
	assert_int_equal(info(f.mm).invalidate_seq, 2);
	TU_ASSERT_OK(simmm_mmu_notifier_register(&a.mn, f.mm));
	TU_CHECK(f.sim);
	TU_ASSERT_OK(simmm_mmu_notifier_register(&b.mn, f.mm));
	TU_CHECK(f.sim);
	assert_int_equal(simmm_mm_count(f.mm), 3);
	assert_int_equal(a.mn.users, 1);
	assert_ptr_equal(a.mn.mm, f.mm);
	assert_int_equal(info(f.mm).nr_subscribers, 2);

	assert_int_equal(START(f.mm, 0x1000, 0x5000), 0);
	TU_CHECK(f.sim);
	assert_int_equal(simmm_mmu_notifier_range_in_progress(f.mm, 0x4000, 0x9000), 1);
	assert_int_equal(simmm_mmu_notifier_range_in_progress(f.mm, 0x5000, 0x9000), 0);
	assert_int_equal(info(f.mm).active_invalidate_ranges, 1);
	assert_int_equal(END(f.mm, 0x1000, 0x5000), 0);
	TU_CHECK(f.sim);
	assert_int_equal(simmm_mmu_notifier_range_in_progress(f.mm, 0x1000, 0x5000), 0);
	/* Newest first, as hlist_add_head. */
	assert_int_equal(n, 2);
	assert_int_equal(order[0], 2);
	assert_int_equal(order[1], 1);
	c = counters(&a.mn);
	assert_int_equal(c.starts[EV_UNMAP], 1);
	assert_int_equal(c.ends[EV_UNMAP], 1);
	assert_int_equal(a.last.start, 0x1000);
	assert_int_equal(a.last.end, 0x5000);
	assert_true(simmm_mmu_notifier_range_blockable(&a.last));
	assert_int_equal(info(f.mm).range_starts[EV_UNMAP], 1);
	assert_int_equal(info(f.mm).range_ends[EV_UNMAP], 1);

	/* Unregister calls ->release while still hooked, then drops the mm ref. */
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&a.mn, f.mm));
	TU_CHECK(f.sim);
	assert_int_equal(counters(&a.mn).releases, 1);
	assert_int_equal(simmm_mm_count(f.mm), 2);
	assert_int_equal(START(f.mm, 0, 0x1000), 0);
	assert_int_equal(END(f.mm, 0, 0x1000), 0);
	assert_int_equal(counters(&a.mn).starts[EV_UNMAP], 1);
	assert_int_equal(counters(&b.mn).starts[EV_UNMAP], 2);
	assert_int_equal(simmm_mmu_notifier_unregister(&a.mn, f.mm), -EINVAL);
	/* Re-registering a struct after unregister works. */
	TU_ASSERT_OK(simmm_mmu_notifier_register(&a.mn, f.mm));
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&a.mn, f.mm));
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&b.mn, f.mm));
	TU_CHECK(f.sim);
	assert_int_equal(simmm_mm_count(f.mm), 1);
	fix_free(&f);
}

static void test_register_bad_input(void **state)
{
	struct fix f = fix_new();
	struct rec a = {.id = 1}, z = {.id = 0};
	struct simmm_mmu_notifier_range r;

	(void)state;
	a.mn.ops = &rec_ops;
	assert_int_equal(simmm_mmu_notifier_register(NULL, f.mm), -EINVAL);
	assert_int_equal(simmm_mmu_notifier_register(&a.mn, NULL), -EINVAL);
	assert_int_equal(simmm_mmu_notifier_register(&z.mn, f.mm), -EINVAL); /* no ops */
	assert_int_equal(simmm_mmu_notifier_register_locked(&a.mn, f.mm), -EPERM);
	expect_reports(f.sim, SIMMM_REPORT_MISUSE, 1);
	TU_ASSERT_OK(simmm_mmap_write_lock(f.mm));
	TU_ASSERT_OK(simmm_mmu_notifier_register_locked(&a.mn, f.mm));
	TU_ASSERT_OK(simmm_mmap_write_unlock(f.mm));
	assert_int_equal(simmm_mmu_notifier_register(&a.mn, f.mm), -EBUSY);
	assert_int_equal(simmm_mmu_notifier_unregister(NULL, f.mm), -EINVAL);
	assert_int_equal(simmm_mmu_notifier_unregister(&a.mn, NULL), -EINVAL);
	assert_int_equal(simmm_mmu_notifier_counters(NULL, NULL), -EINVAL);
	/* Public range entry points validate. */
	assert_int_equal(simmm_mmu_notifier_invalidate_range_start(NULL), -EINVAL);
	simmm_mmu_notifier_range_init(&r, EV_UNMAP, 0, f.mm, 0x2000, 0x2000);
	assert_int_equal(simmm_mmu_notifier_invalidate_range_start(&r), -EINVAL);
	assert_int_equal(simmm_mmu_notifier_invalidate_range_start_nonblock(&r), -EINVAL);
	assert_int_equal(simmm_mmu_notifier_invalidate_range_end(&r), -EINVAL);
	simmm_mmu_notifier_range_init(&r, SIMMM_MMU_NOTIFY_NR_EVENTS, 0, f.mm, 0, 0x2000);
	assert_int_equal(simmm_mmu_notifier_invalidate_range_start(&r), -EINVAL);
	assert_int_equal(simmm_mmu_notifier_range_in_progress(NULL, 0, 1), -EINVAL);
	assert_int_equal(simmm_mmu_notifier_range_in_progress(f.mm, 1, 1), -EINVAL);
	assert_int_equal(simmm_mmu_notifier_mm_info(NULL, NULL), -EINVAL);
	assert_int_equal(simmm_mmu_notifier_arch_invalidate_secondary_tlbs(f.mm, 2, 1), -EINVAL);
	assert_int_equal(counters(&a.mn).starts[EV_UNMAP], 0);
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&a.mn, f.mm));
	TU_CHECK(f.sim);
	fix_free(&f);
}

static int tlb_calls;
static void tlbs_cb(struct simmm_mmu_notifier *mn, struct simmm_mm *mm, uint64_t s, uint64_t e)
{
	(void)mn, (void)mm;
	assert_true(s < e);
	tlb_calls++;
}

static void test_secondary_tlbs(void **state)
{
	static const struct simmm_mmu_notifier_ops bad = {
		.invalidate_range_end = rec_end,
		.arch_invalidate_secondary_tlbs = tlbs_cb,
	};
	static const struct simmm_mmu_notifier_ops good = {
		.arch_invalidate_secondary_tlbs = tlbs_cb,
	};
	struct fix f = fix_new();
	struct simmm_mmu_notifier m1 = {.ops = &bad}, m2 = {.ops = &good};

	(void)state;
	tlb_calls = 0;
	assert_int_equal(simmm_mmu_notifier_register(&m1, f.mm), -EINVAL);
	expect_reports(f.sim, SIMMM_REPORT_WARN, 1);
	assert_int_equal(simmm_mm_count(f.mm), 1);
	TU_ASSERT_OK(simmm_mmu_notifier_register(&m2, f.mm));
	TU_ASSERT_OK(simmm_mmu_notifier_arch_invalidate_secondary_tlbs(f.mm, 0x1000, 0x2000));
	assert_int_equal(tlb_calls, 1);
	assert_int_equal(counters(&m2).secondary_tlbs, 1);
	/* start/end do not call it: only TLB flushes do. */
	assert_int_equal(START(f.mm, 0x1000, 0x2000), 0);
	assert_int_equal(END(f.mm, 0x1000, 0x2000), 0);
	assert_int_equal(tlb_calls, 1);
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&m2, f.mm));
	TU_CHECK(f.sim);
	fix_free(&f);
}

static void test_young_hooks(void **state)
{
	struct fix f = fix_new();
	struct rec a = {.id = 1, .young = 0}, b = {.id = 2, .young = 1};

	(void)state;
	a.mn.ops = b.mn.ops = &rec_ops;
	assert_int_equal(simmm__mmu_notifier_clear_young(f.mm, 0, 0x1000), 0);
	TU_ASSERT_OK(simmm_mmu_notifier_register(&a.mn, f.mm));
	assert_int_equal(simmm__mmu_notifier_clear_flush_young(f.mm, 0, 0x1000), 0);
	TU_ASSERT_OK(simmm_mmu_notifier_register(&b.mn, f.mm));
	assert_int_equal(simmm__mmu_notifier_clear_flush_young(f.mm, 0, 0x1000), 1);
	assert_int_equal(simmm__mmu_notifier_clear_young(f.mm, 0, 0x1000), 1);
	assert_int_equal(counters(&a.mn).young, 3);
	assert_int_equal(counters(&b.mn).young, 2);
	/* test_young stops at the first young answer (b is first: newest). */
	assert_int_equal(simmm__mmu_notifier_test_young(f.mm, 0x1000), 1);
	assert_int_equal(counters(&a.mn).young, 3);
	b.young = 0;
	assert_int_equal(simmm__mmu_notifier_test_young(f.mm, 0x1000), 0);
	assert_int_equal(counters(&a.mn).young, 4);
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&a.mn, f.mm));
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&b.mn, f.mm));
	TU_CHECK(f.sim);
	fix_free(&f);
}

/* ---- get / put ---- */

struct getrec {
	struct rec r;
	int *frees;
};

static int nr_allocs, nr_frees;
static bool fail_alloc;

static struct simmm_mmu_notifier *get_alloc(struct simmm_mm *mm)
{
	struct getrec *g;

	(void)mm;
	if (fail_alloc)
		return NULL;
	g = calloc(1, sizeof(*g));
	assert_non_null(g);
	/* Garbage in simmm's fields must not matter. */
	memset(&g->r.mn, 0xa5, sizeof(g->r.mn));
	nr_allocs++;
	return &g->r.mn;
}

static void get_free(struct simmm_mmu_notifier *mn)
{
	nr_frees++;
	free(REC(mn));
}

static const struct simmm_mmu_notifier_ops get_ops = {
	.invalidate_range_start = rec_start,
	.invalidate_range_end = rec_end,
	.alloc_notifier = get_alloc,
	.free_notifier = get_free,
};

static const struct simmm_mmu_notifier_ops get_ops2 = {
	.invalidate_range_start = rec_start,
	.alloc_notifier = get_alloc,
	.free_notifier = get_free,
};

static void test_get_put(void **state)
{
	struct fix f = fix_new();
	struct simmm_mmu_notifier *m1, *m2, *m3, *o;

	(void)state;
	nr_allocs = nr_frees = 0;
	fail_alloc = false;
	TU_ASSERT_OK(simmm_mmu_notifier_get(&get_ops, f.mm, &m1));
	TU_CHECK(f.sim);
	TU_ASSERT_OK(simmm_mmu_notifier_get(&get_ops, f.mm, &m2));
	TU_ASSERT_OK(simmm_mmu_notifier_get(&get_ops2, f.mm, &o));
	TU_CHECK(f.sim);
	assert_ptr_equal(m1, m2);
	assert_ptr_not_equal(m1, o);
	assert_int_equal(m1->users, 2);
	assert_int_equal(nr_allocs, 2);
	assert_int_equal(counters(m1).starts[EV_UNMAP], 0);
	assert_int_equal(simmm_mm_count(f.mm), 3);
	assert_int_equal(START(f.mm, 0, 0x1000), 0);
	assert_int_equal(END(f.mm, 0, 0x1000), 0);
	assert_int_equal(counters(m1).starts[EV_UNMAP], 1);

	TU_ASSERT_OK(simmm_mmu_notifier_put(m1));
	assert_int_equal(m1->users, 1);
	assert_int_equal(info(f.mm).nr_subscribers, 2);
	TU_ASSERT_OK(simmm_mmu_notifier_put(m1));
	TU_CHECK(f.sim);
	/* Unhooked now, freed after the grace period (no ->release). */
	assert_int_equal(info(f.mm).nr_subscribers, 1);
	assert_int_equal(info(f.mm).nr_pending_free, 1);
	assert_int_equal(nr_frees, 0);
	assert_int_equal(simmm_mm_count(f.mm), 3);
	assert_int_equal(simmm_mmu_notifier_put(m1), -EINVAL); /* no longer registered */
	assert_int_equal(simmm_mmu_notifier_synchronize(f.sim), 1);
	TU_CHECK(f.sim);
	assert_int_equal(nr_frees, 1);
	assert_int_equal(simmm_mm_count(f.mm), 2);
	assert_int_equal(info(f.mm).nr_pending_free, 0);

	/* A new get after the last put makes a new notifier. */
	TU_ASSERT_OK(simmm_mmu_notifier_get(&get_ops, f.mm, &m3));
	assert_int_equal(nr_allocs, 3);
	assert_int_equal(m3->users, 1);
	TU_ASSERT_OK(simmm_mmu_notifier_put(m3));
	/* A later get on the mm drains the queue too. */
	TU_ASSERT_OK(simmm_mmu_notifier_get(&get_ops2, f.mm, &m2));
	assert_ptr_equal(m2, o);
	assert_int_equal(nr_frees, 2);
	TU_ASSERT_OK(simmm_mmu_notifier_put(o));
	TU_ASSERT_OK(simmm_mmu_notifier_put(o));
	TU_CHECK(f.sim);

	/* Bad input. */
	fail_alloc = true;
	assert_int_equal(simmm_mmu_notifier_get(&get_ops, f.mm, &m1), -ENOMEM);
	assert_null(m1);
	fail_alloc = false;
	assert_int_equal(simmm_mmu_notifier_get(&rec_ops, f.mm, &m1), -EINVAL);
	assert_int_equal(simmm_mmu_notifier_get(&get_ops, NULL, &m1), -EINVAL);
	assert_int_equal(simmm_mmu_notifier_get(&get_ops, f.mm, NULL), -EINVAL);
	assert_int_equal(simmm_mmu_notifier_get_locked(&get_ops, f.mm, &m1), -EPERM);
	expect_reports(f.sim, SIMMM_REPORT_MISUSE, 1);
	TU_ASSERT_OK(simmm_mmap_write_lock(f.mm));
	TU_ASSERT_OK(simmm_mmu_notifier_get_locked(&get_ops, f.mm, &m1));
	TU_ASSERT_OK(simmm_mmap_write_unlock(f.mm));
	TU_ASSERT_OK(simmm_mmu_notifier_put(m1));
	assert_int_equal(simmm_mmu_notifier_put(NULL), -EINVAL);
	assert_int_equal(simmm_mmu_notifier_synchronize(NULL), -EINVAL);
	assert_int_equal(simmm_mmu_notifier_synchronize(f.sim), 1); /* o went with the failed get */
	assert_int_equal(nr_frees, nr_allocs);
	assert_int_equal(simmm_mm_count(f.mm), 1);
	TU_CHECK(f.sim);
	fix_free(&f);
}

/* A put notifier still queued at exit is freed by the exit path. */
static void test_put_freed_at_exit(void **state)
{
	struct fix f = fix_new();
	struct simmm_mmu_notifier *m;

	(void)state;
	nr_allocs = nr_frees = 0;
	fail_alloc = false;
	TU_ASSERT_OK(simmm_mmu_notifier_get(&get_ops, f.mm, &m));
	TU_ASSERT_OK(simmm_mmu_notifier_put(m));
	assert_int_equal(nr_frees, 0);
	fix_free(&f); /* mmput -> exit -> release drains the queue */
	assert_int_equal(nr_frees, 1);
}

/* ---- non-blockable starts ---- */

static void test_nonblock_partial_end(void **state)
{
	struct fix f = fix_new();
	struct rec a = {.id = 1}, b = {.id = 2, .nonblock_fail = -EAGAIN}, c = {.id = 3};
	struct simmm_mmu_notifier_mm_info i;

	(void)state;
	a.mn.ops = &rec_ops;
	b.mn.ops = &rec_ops_noend;
	c.mn.ops = &rec_ops;
	TU_ASSERT_OK(simmm_mmu_notifier_register(&a.mn, f.mm));
	TU_ASSERT_OK(simmm_mmu_notifier_register(&b.mn, f.mm));
	TU_ASSERT_OK(simmm_mmu_notifier_register(&c.mn, f.mm));
	assert_int_equal(range(f.mm, 0x1000, 0x3000, true, true), -EAGAIN);
	TU_CHECK(f.sim);
	/* Every subscriber got its start; those that succeeded got their end. */
	assert_int_equal(counters(&a.mn).starts[EV_UNMAP], 1);
	assert_int_equal(counters(&b.mn).starts[EV_UNMAP], 1);
	assert_int_equal(counters(&c.mn).starts[EV_UNMAP], 1);
	assert_int_equal(counters(&a.mn).ends[EV_UNMAP], 1);
	assert_int_equal(counters(&c.mn).ends[EV_UNMAP], 1);
	assert_int_equal(counters(&b.mn).ends[EV_UNMAP], 0);
	assert_int_equal(counters(&b.mn).failures, 1);
	assert_false(simmm_mmu_notifier_range_blockable(&a.last));
	i = info(f.mm);
	assert_int_equal(i.nonblock_failures, 1);
	assert_int_equal(i.active_invalidate_ranges, 0);
	assert_int_equal(i.range_starts[EV_UNMAP], 0);
	assert_int_equal(simmm_mmu_notifier_range_in_progress(f.mm, 0, 0x10000), 0);
	/* The caller must not call end; if it does, nothing is delivered. */
	assert_int_equal(END(f.mm, 0x1000, 0x3000), 0);
	assert_int_equal(counters(&a.mn).ends[EV_UNMAP], 1);
	assert_int_equal(info(f.mm).unmatched_ends, 1);

	/* The same set succeeds when nobody refuses. */
	b.nonblock_fail = 0;
	assert_int_equal(range(f.mm, 0x1000, 0x3000, true, true), 0);
	assert_int_equal(simmm_mmu_notifier_range_in_progress(f.mm, 0x2000, 0x2001), 1);
	assert_int_equal(END(f.mm, 0x1000, 0x3000), 0);
	assert_int_equal(counters(&a.mn).ends[EV_UNMAP], 2);
	assert_int_equal(counters(&c.mn).ends[EV_UNMAP], 2);
	TU_CHECK(f.sim);
	simmm_reports_clear(f.sim);
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&a.mn, f.mm));
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&b.mn, f.mm));
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&c.mn, f.mm));
	fix_free(&f);
}

static void test_nonblock_sleep_is_lockdep(void **state)
{
	struct fix f = fix_new();
	struct rec s = {.id = 1, .sleep_in_start = true};

	(void)state;
	s.mn.ops = &rec_ops_noend;
	simmm_mutex_init(&s.mutex, "driver");
	TU_ASSERT_OK(simmm_mmu_notifier_register(&s.mn, f.mm));
	/* Blockable: sleeping is fine. */
	assert_int_equal(START(f.mm, 0, 0x1000), 0);
	assert_int_equal(END(f.mm, 0, 0x1000), 0);
	expect_reports(f.sim, SIMMM_REPORT_LOCKDEP, 0);
	/* Non-blockable: the mutex is refused with a lockdep report, the
	 * subscriber answers -EAGAIN. */
	assert_int_equal(range(f.mm, 0, 0x1000, true, true), -EAGAIN);
	expect_reports(f.sim, SIMMM_REPORT_LOCKDEP, 1);
	assert_false(simmm_sched_in_atomic(f.sim)); /* section left */
	TU_CHECK(f.sim);
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&s.mn, f.mm));
	fix_free(&f);
}

static void test_blockable_failure_warns(void **state)
{
	struct fix f = fix_new();
	struct rec a = {.id = 1}, b = {.id = 2, .nonblock_fail = -EAGAIN};

	(void)state;
	a.mn.ops = &rec_ops;
	b.mn.ops = &rec_ops;  /* fails AND has end: two WARNs on a non-blockable start */
	TU_ASSERT_OK(simmm_mmu_notifier_register(&a.mn, f.mm));
	TU_ASSERT_OK(simmm_mmu_notifier_register(&b.mn, f.mm));
	b.nonblock_fail = -ENOMEM; /* not -EAGAIN: WARN */
	assert_int_equal(range(f.mm, 0, 0x1000, true, true), -EAGAIN);
	expect_reports(f.sim, SIMMM_REPORT_WARN, 2);
	assert_int_equal(counters(&b.mn).ends[EV_UNMAP], 0);
	assert_int_equal(counters(&a.mn).ends[EV_UNMAP], 1);
	TU_CHECK(f.sim);
	/* A blockable start cannot fail: WARN, and everybody gets start + end. */
	b.nonblock_fail = 0;
	b.block_fail = -EAGAIN;
	assert_int_equal(START(f.mm, 0, 0x1000), 0);
	expect_reports(f.sim, SIMMM_REPORT_WARN, 2);
	assert_int_equal(info(f.mm).active_invalidate_ranges, 1);
	assert_int_equal(END(f.mm, 0, 0x1000), 0);
	assert_int_equal(counters(&b.mn).ends[EV_UNMAP], 1);
	assert_int_equal(counters(&a.mn).ends[EV_UNMAP], 2);
	TU_CHECK(f.sim);
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&a.mn, f.mm));
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&b.mn, f.mm));
	fix_free(&f);
}

static void test_unregister_from_callback_refused(void **state)
{
	struct fix f = fix_new();
	struct rec a = {.id = 1, .unregister_in_start = true};

	(void)state;
	a.mn.ops = &rec_ops;
	TU_ASSERT_OK(simmm_mmu_notifier_register(&a.mn, f.mm));
	assert_int_equal(START(f.mm, 0, 0x1000), 0);
	assert_int_equal(a.unregister_rc, -EDEADLK);
	expect_reports(f.sim, SIMMM_REPORT_LOCKDEP, 1);
	a.unregister_in_start = false;
	assert_int_equal(END(f.mm, 0, 0x1000), 0);
	assert_int_equal(counters(&a.mn).ends[EV_UNMAP], 1);
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&a.mn, f.mm));
	TU_CHECK(f.sim);
	fix_free(&f);
}

/* ---- release at exit ---- */

static void test_release_at_exit(void **state)
{
	struct fix f = fix_new();
	struct rec a = {.id = 1};
	struct irec *x;
	struct simmm_mm *mm = f.mm;

	(void)state;
	a.mn.ops = &rec_ops;
	TU_ASSERT_OK(simmm_mmu_notifier_register(&a.mn, mm));
	x = irec_new(mm, 0x10000, 0x1000);
	TU_CHECK(f.sim);
	assert_int_equal(simmm_mm_count(mm), 3);
	/* Last user: exit releases. The struct stays (two mm_count refs). */
	TU_ASSERT_OK(simmm_mmput(mm));
	f.mm = NULL;
	TU_CHECK(f.sim);
	assert_int_equal(simmm_mm_count(mm), 2);
	assert_int_equal(counters(&a.mn).releases, 1);
	assert_int_equal(x->calls, 1);
	assert_int_equal(x->last.event, SIMMM_MMU_NOTIFY_RELEASE);
	assert_int_equal(x->last.start, 0);
	assert_int_equal(x->last.end, UINT64_MAX);
	assert_true(simmm_mmu_notifier_range_blockable(&x->last));
	assert_int_equal(x->sub.stats.invalidates[SIMMM_MMU_NOTIFY_RELEASE], 1);
	assert_int_equal(info(mm).releases, 1);
	assert_int_equal(info(mm).invalidate_seq, 4);
	assert_int_equal(info(mm).nr_subscribers, 0);
	/* Unregister after exit does not call ->release again. */
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&a.mn, mm));
	assert_int_equal(counters(&a.mn).releases, 1);
	/* Insert needs a user. */
	{
		struct irec y = {0};

		assert_int_equal(simmm_mmu_interval_notifier_insert(&y.sub, mm, 0, 0x1000, &irec_ops),
				 -EINVAL);
	}
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&x->sub)); /* frees the mm */
	free(x);
	TU_CHECK(f.sim);
	fix_free(&f);
}

/* ==================================================================== */
/* Interval notifiers: the sequence protocol                            */
/* ==================================================================== */

static void test_interval_bad_input(void **state)
{
	struct fix f = fix_new();
	struct irec x = {0};
	static const struct simmm_mmu_interval_notifier_ops noop = {.invalidate = NULL};

	(void)state;
	assert_int_equal(simmm_mmu_interval_notifier_insert(NULL, f.mm, 0, 1, &irec_ops), -EINVAL);
	assert_int_equal(simmm_mmu_interval_notifier_insert(&x.sub, NULL, 0, 1, &irec_ops), -EINVAL);
	assert_int_equal(simmm_mmu_interval_notifier_insert(&x.sub, f.mm, 0, 1, NULL), -EINVAL);
	assert_int_equal(simmm_mmu_interval_notifier_insert(&x.sub, f.mm, 0, 1, &noop), -EINVAL);
	assert_int_equal(simmm_mmu_interval_notifier_insert(&x.sub, f.mm, 0x1000, 0, &irec_ops),
			 -EOVERFLOW);
	assert_int_equal(simmm_mmu_interval_notifier_insert(&x.sub, f.mm, UINT64_MAX - 10, 12,
							    &irec_ops), -EOVERFLOW);
	assert_int_equal(simmm_mmu_interval_notifier_insert_locked(&x.sub, f.mm, 0, 1, &irec_ops),
			 -EPERM);
	expect_reports(f.sim, SIMMM_REPORT_MISUSE, 1);
	assert_null(f.mm->notifier_subscriptions); /* nothing was set up */
	assert_int_equal(simmm_mm_count(f.mm), 1);
	/* The full range up to UINT64_MAX is fine. */
	TU_ASSERT_OK(simmm_mmu_interval_notifier_insert(&x.sub, f.mm, UINT64_MAX - 10, 11,
							&irec_ops));
	assert_int_equal(simmm_mmu_interval_notifier_insert(&x.sub, f.mm, 0, 1, &irec_ops), -EBUSY);
	{
		uint64_t s, l;

		TU_ASSERT_OK(simmm_mmu_interval_notifier_range(&x.sub, &s, &l));
		assert_true(s == UINT64_MAX - 10 && l == UINT64_MAX);
	}
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&x.sub));
	assert_int_equal(simmm_mmu_interval_notifier_remove(&x.sub), -EINVAL);
	assert_int_equal(simmm_mmu_interval_notifier_remove(NULL), -EINVAL);
	assert_int_equal(simmm_mmu_interval_read_begin(NULL) & 1, 0);
	assert_true(simmm_mmu_interval_read_retry(NULL, 1));
	assert_int_equal(simmm_mmu_interval_notifier_counters(NULL, NULL), -EINVAL);
	/* insert_locked with the lock held */
	TU_ASSERT_OK(simmm_mmap_write_lock(f.mm));
	TU_ASSERT_OK(simmm_mmu_interval_notifier_insert_locked(&x.sub, f.mm, 0, 1, &irec_ops));
	TU_ASSERT_OK(simmm_mmap_write_unlock(f.mm));
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&x.sub));
	assert_int_equal(simmm_mm_count(f.mm), 1);
	TU_CHECK(f.sim);
	fix_free(&f);
}

static void test_seq_protocol(void **state)
{
	struct fix f = fix_new();
	struct irec *a, *b;
	uint64_t seq, seq2;

	(void)state;
	a = irec_new(f.mm, 0x10000, 0x4000);  /* [0x10000, 0x13fff] */
	b = irec_new(f.mm, 0x40000, 0x1000);
	TU_CHECK(f.sim);
	/* Idle insert: sub seq = mm seq - 1. */
	assert_int_equal(info(f.mm).invalidate_seq, 2);
	assert_int_equal(a->sub.invalidate_seq, 1);
	assert_int_equal(info(f.mm).nr_interval, 2);
	seq = simmm_mmu_interval_read_begin(&a->sub);
	assert_int_equal(seq, 1);
	assert_false(simmm_mmu_interval_read_retry(&a->sub, seq));

	/* A range that overlaps nobody keeps the seq even. */
	assert_int_equal(START(f.mm, 0x20000, 0x30000), 0);
	TU_CHECK(f.sim);
	assert_int_equal(info(f.mm).invalidate_seq, 2);
	assert_int_equal(info(f.mm).active_invalidate_ranges, 1);
	assert_int_equal(END(f.mm, 0x20000, 0x30000), 0);
	assert_int_equal(a->calls + b->calls, 0);

	/* Overlap at the last byte only ([start, end) vs [start, last]). */
	assert_int_equal(START(f.mm, 0x13fff, 0x14000), 0);
	TU_CHECK(f.sim);
	assert_int_equal(info(f.mm).invalidate_seq, 3);
	assert_int_equal(a->calls, 1);
	assert_int_equal(a->cur_seq, 3);
	assert_int_equal(a->sub.invalidate_seq, 3);
	assert_int_equal(b->calls, 0);
	assert_true(simmm_mmu_interval_read_retry(&a->sub, seq));
	assert_true(simmm_mmu_interval_check_retry(&a->sub, seq));
	/* b is not being invalidated: read_begin does not wait. */
	assert_int_equal(simmm_mmu_interval_read_begin(&b->sub), 1);
	assert_int_equal(END(f.mm, 0x13fff, 0x14000), 0);
	TU_CHECK(f.sim);
	assert_int_equal(info(f.mm).invalidate_seq, 4);
	seq2 = simmm_mmu_interval_read_begin(&a->sub);
	assert_int_equal(seq2, 3);
	assert_false(simmm_mmu_interval_read_retry(&a->sub, seq2));

	/* End exactly at the start does not overlap. */
	assert_int_equal(START(f.mm, 0x0, 0x10000), 0);
	assert_int_equal(info(f.mm).invalidate_seq, 4);
	assert_int_equal(END(f.mm, 0x0, 0x10000), 0);

	/* Nested ranges: the seq becomes even only at the last end. */
	assert_int_equal(START(f.mm, 0x10000, 0x11000), 0);
	assert_int_equal(START(f.mm, 0x40000, 0x41000), 0);
	assert_int_equal(info(f.mm).invalidate_seq, 5);
	assert_int_equal(b->cur_seq, 5);
	assert_int_equal(END(f.mm, 0x10000, 0x11000), 0);
	TU_CHECK(f.sim);
	assert_int_equal(info(f.mm).invalidate_seq, 5);
	assert_int_equal(info(f.mm).active_invalidate_ranges, 1);
	assert_int_equal(END(f.mm, 0x40000, 0x41000), 0);
	assert_int_equal(info(f.mm).invalidate_seq, 6);
	/* read_begin outside a run while invalidating: a deadlock, reported;
	 * the even result never validates. */
	assert_int_equal(START(f.mm, 0x10000, 0x11000), 0);
	seq = simmm_mmu_interval_read_begin(&a->sub);
	assert_int_equal(seq & 1, 0);
	assert_true(simmm_mmu_interval_read_retry(&a->sub, seq));
	expect_reports(f.sim, SIMMM_REPORT_DEADLOCK, 1);
	assert_int_equal(END(f.mm, 0x10000, 0x11000), 0);

	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&a->sub));
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&b->sub));
	free(a);
	free(b);
	assert_int_equal(simmm_mm_count(f.mm), 1);
	TU_CHECK(f.sim);
	fix_free(&f);
}

static void test_insert_during_invalidation(void **state)
{
	struct fix f = fix_new();
	struct irec *a, *b, *c, d = {0};

	(void)state;
	a = irec_new(f.mm, 0x10000, 0x1000);
	/* Odd seq: the insert is deferred, and the new notifier counts as
	 * being invalidated. */
	assert_int_equal(START(f.mm, 0x10000, 0x11000), 0);
	assert_int_equal(info(f.mm).invalidate_seq, 3);
	b = irec_new(f.mm, 0x10000, 0x1000);
	TU_CHECK(f.sim);
	assert_int_equal(info(f.mm).nr_deferred, 1);
	assert_int_equal(info(f.mm).nr_interval, 1);
	assert_int_equal(b->sub.invalidate_seq, 3);
	assert_int_equal(b->calls, 0);
	/* Cancel a deferred insert: no wait, never added. */
	d.set_seq = true;
	TU_ASSERT_OK(simmm_mmu_interval_notifier_insert(&d.sub, f.mm, 0x50000, 0x1000, &irec_ops));
	assert_int_equal(info(f.mm).nr_deferred, 2);
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&d.sub));
	TU_CHECK(f.sim);
	assert_int_equal(info(f.mm).nr_deferred, 1);
	assert_int_equal(END(f.mm, 0x10000, 0x11000), 0);
	TU_CHECK(f.sim);
	assert_int_equal(info(f.mm).nr_deferred, 0);
	assert_int_equal(info(f.mm).nr_interval, 2);
	assert_int_equal(info(f.mm).invalidate_seq, 4);
	assert_false(simmm_mmu_interval_read_retry(&b->sub, simmm_mmu_interval_read_begin(&b->sub)));
	assert_int_equal(simmm_mmu_interval_read_begin(&b->sub), 3);

	/* Even seq with an active range: added now, seq made odd. */
	assert_int_equal(START(f.mm, 0x90000, 0x91000), 0);
	assert_int_equal(info(f.mm).invalidate_seq, 4);
	c = irec_new(f.mm, 0x70000, 0x1000);
	TU_CHECK(f.sim);
	assert_int_equal(info(f.mm).invalidate_seq, 5);
	assert_int_equal(c->sub.invalidate_seq, 5);
	assert_int_equal(info(f.mm).nr_deferred, 0);
	assert_int_equal(info(f.mm).nr_interval, 3);
	/* A second range now sees c in the tree. */
	assert_int_equal(START(f.mm, 0x70000, 0x71000), 0);
	assert_int_equal(c->calls, 1);
	assert_int_equal(END(f.mm, 0x70000, 0x71000), 0);
	assert_int_equal(info(f.mm).invalidate_seq, 5);
	assert_int_equal(END(f.mm, 0x90000, 0x91000), 0);
	assert_int_equal(info(f.mm).invalidate_seq, 6);
	TU_CHECK(f.sim);

	/* Remove during invalidation outside a run would wait forever. */
	assert_int_equal(START(f.mm, 0x10000, 0x11000), 0);
	assert_int_equal(simmm_mmu_interval_notifier_remove(&a->sub), -EDEADLK);
	expect_reports(f.sim, SIMMM_REPORT_DEADLOCK, 1);
	assert_int_equal(END(f.mm, 0x10000, 0x11000), 0);

	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&a->sub));
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&b->sub));
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&c->sub));
	free(a);
	free(b);
	free(c);
	assert_int_equal(simmm_mm_count(f.mm), 1);
	TU_CHECK(f.sim);
	fix_free(&f);
}

static void test_interval_nonblock_refuse(void **state)
{
	struct fix f = fix_new();
	struct irec *a, *b;
	struct rec l = {.id = 1};

	(void)state;
	l.mn.ops = &rec_ops;
	TU_ASSERT_OK(simmm_mmu_notifier_register(&l.mn, f.mm));
	a = irec_new(f.mm, 0x10000, 0x1000);
	a->refuse_nonblock = true;
	assert_int_equal(range(f.mm, 0x10000, 0x11000, true, true), -EAGAIN);
	TU_CHECK(f.sim);
	assert_int_equal(a->calls, 1);
	assert_int_equal(a->sub.stats.failures, 1);
	/* The interval half failed first: legacy subscribers are not called. */
	assert_int_equal(counters(&l.mn).starts[EV_UNMAP], 0);
	assert_int_equal(info(f.mm).invalidate_seq, 4);
	assert_int_equal(info(f.mm).active_invalidate_ranges, 0);
	/* Blockable: false is a WARN and ignored. */
	b = irec_new(f.mm, 0x10000, 0x1000);
	b->refuse_always = true;
	assert_int_equal(START(f.mm, 0x10000, 0x11000), 0);
	expect_reports(f.sim, SIMMM_REPORT_WARN, 1);
	assert_int_equal(a->calls, 2);
	assert_int_equal(counters(&l.mn).starts[EV_UNMAP], 1);
	assert_int_equal(END(f.mm, 0x10000, 0x11000), 0);
	TU_CHECK(f.sim);
	/* A legacy failure after the interval half succeeded ends it too. */
	b->refuse_always = false;
	a->refuse_nonblock = false;
	l.mn.ops = &rec_ops_noend;
	l.nonblock_fail = -EAGAIN;
	assert_int_equal(range(f.mm, 0x10000, 0x11000, true, true), -EAGAIN);
	assert_int_equal(info(f.mm).active_invalidate_ranges, 0);
	assert_int_equal(info(f.mm).invalidate_seq % 2, 0);
	TU_CHECK(f.sim);
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&a->sub));
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&b->sub));
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&l.mn, f.mm));
	free(a);
	free(b);
	fix_free(&f);
}

static void test_remove_from_callback_refused(void **state)
{
	struct fix f = fix_new();
	struct irec *a;

	(void)state;
	a = irec_new(f.mm, 0x10000, 0x1000);
	a->remove_self = true;
	assert_int_equal(START(f.mm, 0x10000, 0x11000), 0);
	assert_int_equal(a->remove_rc, -EDEADLK);
	expect_reports(f.sim, SIMMM_REPORT_LOCKDEP, 1);
	assert_int_equal(END(f.mm, 0x10000, 0x11000), 0);
	TU_CHECK(f.sim);
	/* Still inserted: a normal remove works. */
	a->remove_self = false;
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&a->sub));
	free(a);
	TU_CHECK(f.sim);
	fix_free(&f);
}

/* ---- on the scheduler ---- */

struct sched_ctx {
	struct simmm_mm *mm;
	struct irec *a;
	int log[8];
	int nr;
	uint64_t seq;
	int rc;
	uint64_t t_end, t_back;
};

static void task_invalidate(simmm_sim *sim, void *arg)
{
	struct sched_ctx *c = arg;

	assert_int_equal(START(c->mm, 0x10000, 0x11000), 0);
	c->log[c->nr++] = 1;
	simmm_sched_sleep(sim, 10);
	c->log[c->nr++] = 2;
	c->t_end = simmm_sched_now_ns(sim);
	assert_int_equal(END(c->mm, 0x10000, 0x11000), 0);
}

static void task_reader(simmm_sim *sim, void *arg)
{
	struct sched_ctx *c = arg;

	simmm_sched_sleep(sim, 1);
	c->log[c->nr++] = 3;
	c->seq = simmm_mmu_interval_read_begin(&c->a->sub);
	c->t_back = simmm_sched_now_ns(sim);
	c->log[c->nr++] = 4;
}

static void task_remover(simmm_sim *sim, void *arg)
{
	struct sched_ctx *c = arg;

	simmm_sched_sleep(sim, 1);
	c->log[c->nr++] = 3;
	c->rc = simmm_mmu_interval_notifier_remove(&c->a->sub);
	c->t_back = simmm_sched_now_ns(sim);
	c->log[c->nr++] = 4;
}

static bool has_trace(simmm_sim *sim, uint32_t type)
{
	struct simmm_trace_event ev[512];
	long n = simmm_trace_read(sim, ev, 512);

	for (long i = 0; i < n; i++)
		if (ev[i].type == type)
			return true;
	return false;
}

static void test_read_begin_blocks_until_end(void **state)
{
	struct fix f = fix_new();
	struct sched_ctx c = {0};

	(void)state;
	c.mm = f.mm;
	c.a = irec_new(f.mm, 0x10000, 0x1000);
	assert_true(simmm_sched_spawn(f.sim, "invalidate", task_invalidate, &c) > 0);
	assert_true(simmm_sched_spawn(f.sim, "reader", task_reader, &c) > 0);
	assert_int_equal(simmm_sched_run(f.sim, 0), SIMMM_SCHED_DONE);
	TU_CHECK(f.sim);
	/* The reader began while invalidating and came back only after end. */
	assert_int_equal(c.nr, 4);
	assert_int_equal(c.log[0], 1);
	assert_int_equal(c.log[1], 3);
	assert_int_equal(c.log[2], 2);
	assert_int_equal(c.log[3], 4);
	assert_true(c.t_back >= c.t_end);
	assert_int_equal(c.seq, 3);
	assert_false(simmm_mmu_interval_read_retry(&c.a->sub, c.seq));
	assert_int_equal(info(f.mm).invalidate_seq, 4);
	assert_true(has_trace(f.sim, SIMMM_EV_MN_READ_BEGIN_WAIT));
	assert_true(has_trace(f.sim, SIMMM_EV_MN_INVALIDATE));
	TU_ASSERT_OK(simmm_sched_reset(f.sim));
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&c.a->sub));
	free(c.a);
	fix_free(&f);
}

static void test_remove_waits_for_end(void **state)
{
	struct fix f = fix_new();
	struct sched_ctx c = {0};

	(void)state;
	c.mm = f.mm;
	c.a = irec_new(f.mm, 0x10000, 0x1000);
	assert_int_equal(simmm_mm_count(f.mm), 2);
	assert_true(simmm_sched_spawn(f.sim, "invalidate", task_invalidate, &c) > 0);
	assert_true(simmm_sched_spawn(f.sim, "remover", task_remover, &c) > 0);
	assert_int_equal(simmm_sched_run(f.sim, 0), SIMMM_SCHED_DONE);
	TU_CHECK(f.sim);
	assert_int_equal(c.rc, 0);
	assert_int_equal(c.log[2], 2);
	assert_int_equal(c.log[3], 4);
	assert_true(c.t_back >= c.t_end);
	assert_int_equal(c.a->calls, 1);
	assert_int_equal(info(f.mm).nr_interval, 0);
	assert_int_equal(info(f.mm).nr_deferred, 0);
	assert_int_equal(simmm_mm_count(f.mm), 1);
	/* Gone: later ranges do not call it. */
	assert_int_equal(START(f.mm, 0x10000, 0x11000), 0);
	assert_int_equal(END(f.mm, 0x10000, 0x11000), 0);
	assert_int_equal(c.a->calls, 1);
	TU_ASSERT_OK(simmm_sched_reset(f.sim));
	free(c.a);
	fix_free(&f);
}

/* Unregister waits for a callback sleeping in another task. */
struct slow {
	struct simmm_mmu_notifier mn;
	int in_cb, done_cb;
};

static int slow_start(struct simmm_mmu_notifier *mn, const struct simmm_mmu_notifier_range *r)
{
	struct slow *s = (struct slow *)(void *)mn;

	s->in_cb = 1;
	simmm_sched_sleep(simmm_mm_sim(r->mm), 10);
	s->done_cb = 1;
	return 0;
}

static const struct simmm_mmu_notifier_ops slow_ops = {.invalidate_range_start = slow_start};

struct unreg_ctx {
	struct simmm_mm *mm;
	struct slow *s;
	int seen_done;
};

static void task_slow_range(simmm_sim *sim, void *arg)
{
	struct unreg_ctx *c = arg;

	(void)sim;
	assert_int_equal(START(c->mm, 0, 0x1000), 0);
	assert_int_equal(END(c->mm, 0, 0x1000), 0);
}

static void task_unregister(simmm_sim *sim, void *arg)
{
	struct unreg_ctx *c = arg;

	simmm_sched_sleep(sim, 1);
	assert_int_equal(c->s->in_cb, 1);
	assert_int_equal(simmm_mmu_notifier_unregister(&c->s->mn, c->mm), 0);
	c->seen_done = c->s->done_cb;
}

static void test_unregister_waits_for_callbacks(void **state)
{
	struct fix f = fix_new();
	struct slow s = {.mn.ops = &slow_ops};
	struct unreg_ctx c = {.mm = f.mm, .s = &s};

	(void)state;
	TU_ASSERT_OK(simmm_mmu_notifier_register(&s.mn, f.mm));
	assert_true(simmm_sched_spawn(f.sim, "range", task_slow_range, &c) > 0);
	assert_true(simmm_sched_spawn(f.sim, "unregister", task_unregister, &c) > 0);
	assert_int_equal(simmm_sched_run(f.sim, 0), SIMMM_SCHED_DONE);
	assert_int_equal(c.seen_done, 1);
	TU_CHECK(f.sim);
	TU_ASSERT_OK(simmm_sched_reset(f.sim));
	fix_free(&f);
}

/* ---- checker ---- */

static void test_checker_detects_corruption(void **state)
{
	struct fix f = fix_new();
	struct irec *a;
	struct simmm_mmu_notifier_subscriptions *s;

	(void)state;
	a = irec_new(f.mm, 0x10000, 0x1000);
	s = f.mm->notifier_subscriptions;
	s->invalidate_seq |= 1; /* odd without an active range */
	assert_true(simmm_check(f.sim) > 0);
	simmm_reports_clear(f.sim);
	s->invalidate_seq++;
	TU_CHECK(f.sim);
	a->sub.invalidate_seq = 8; /* an even seq: set_seq with a bad value */
	assert_true(simmm_check(f.sim) > 0);
	simmm_reports_clear(f.sim);
	a->sub.invalidate_seq = 3;
	s->active_invalidate_ranges++; /* count without a range */
	assert_true(simmm_check(f.sim) > 0);
	simmm_reports_clear(f.sim);
	s->active_invalidate_ranges--;
	TU_CHECK(f.sim);
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&a->sub));
	free(a);
	fix_free(&f);
}

/* ---- randomized model test ---- */

#define RN 24

struct model {
	struct simmm_mmu_interval_notifier sub[RN];
	uint64_t start[RN], last[RN];
	bool inserted[RN], in_tree[RN];
	int calls[RN];
	uint64_t cur[RN];
};

static struct model *g_model;

static bool model_invalidate(struct simmm_mmu_interval_notifier *sub,
			     const struct simmm_mmu_notifier_range *r, uint64_t cur_seq)
{
	size_t i = (size_t)(sub - g_model->sub);

	(void)r;
	g_model->calls[i]++;
	g_model->cur[i] = cur_seq;
	simmm_mmu_interval_set_seq(sub, cur_seq);
	return true;
}

static const struct simmm_mmu_interval_notifier_ops model_ops = {.invalidate = model_invalidate};

static void test_randomized_protocol(void **state)
{
	struct fix f = fix_new();
	struct model *m = calloc(1, sizeof(*m));
	uint64_t seed = tu_seed(), x = seed * 2654435761u + 1, iters = tu_iters(4000);
	uint64_t as[8], ae[8], mseq = 2;
	int nact = 0;

	(void)state;
	g_model = m;
	/* The mm gets notifier state before the first range (an mm without
	 * it does not track ranges; see test_nonblock_partial_end). */
	TU_ASSERT_OK(simmm_mmu_interval_notifier_insert(&m->sub[0], f.mm, 1ull << 40, 4096,
							&model_ops));
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&m->sub[0]));
#define RND() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
	for (uint64_t it = 0; it < iters; it++) {
		unsigned op = (unsigned)(RND() % 4);
		size_t i = (size_t)(RND() % RN);

		if (op == 0 && !m->inserted[i]) {
			uint64_t s = (RND() % 256) << 12, len = ((RND() % 16) + 1) << 12;

			TU_ASSERT_OK(simmm_mmu_interval_notifier_insert(&m->sub[i], f.mm, s, len,
									&model_ops));
			m->inserted[i] = true;
			m->start[i] = s;
			m->last[i] = s + len - 1;
			if (nact == 0) {
				m->in_tree[i] = true;
				assert_int_equal(m->sub[i].invalidate_seq, mseq - 1);
			} else {
				if (!(mseq & 1))
					mseq |= 1, m->in_tree[i] = true;
				assert_int_equal(m->sub[i].invalidate_seq, mseq);
			}
		} else if (op == 1 && m->inserted[i]) {
			/* Removing an in-tree notifier while odd would wait. */
			if ((mseq & 1) && m->in_tree[i])
				continue;
			TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&m->sub[i]));
			m->inserted[i] = false;
			m->in_tree[i] = false;
		} else if (op == 2 && nact < 8) {
			uint64_t s = (RND() % 300) << 12, e = s + (((RND() % 32) + 1) << 12);
			int before[RN];
			bool any = false;

			memcpy(before, m->calls, sizeof(before));
			assert_int_equal(START(f.mm, s, e), 0);
			for (size_t k = 0; k < RN; k++) {
				bool ov = m->in_tree[k] && m->start[k] < e && s <= m->last[k];

				any |= ov;
				assert_int_equal(m->calls[k] - before[k], ov ? 1 : 0);
			}
			if (any)
				mseq |= 1;
			for (size_t k = 0; k < RN; k++)
				if (m->calls[k] != before[k])
					assert_int_equal(m->cur[k], mseq);
			as[nact] = s;
			ae[nact++] = e;
		} else if (op == 3 && nact > 0) {
			int k = (int)(RND() % (uint64_t)nact);

			assert_int_equal(END(f.mm, as[k], ae[k]), 0);
			as[k] = as[nact - 1];
			ae[k] = ae[nact - 1];
			nact--;
			if (nact == 0 && (mseq & 1)) {
				mseq++;
				for (size_t j = 0; j < RN; j++)
					if (m->inserted[j])
						m->in_tree[j] = true;
			}
		}
		assert_int_equal(info(f.mm).invalidate_seq, mseq);
		assert_int_equal(info(f.mm).active_invalidate_ranges, (uint64_t)nact);
		TU_CHECK(f.sim);
	}
	while (nact > 0) {
		nact--;
		assert_int_equal(END(f.mm, as[nact], ae[nact]), 0);
	}
	for (size_t i = 0; i < RN; i++)
		if (m->inserted[i])
			TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&m->sub[i]));
#undef RND
	assert_int_equal(simmm_mm_count(f.mm), 1);
	TU_CHECK(f.sim);
	free(m);
	g_model = NULL;
	fix_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_range_init),
		cmocka_unit_test(test_register_dispatch_unregister),
		cmocka_unit_test(test_register_bad_input),
		cmocka_unit_test(test_secondary_tlbs),
		cmocka_unit_test(test_young_hooks),
		cmocka_unit_test(test_get_put),
		cmocka_unit_test(test_put_freed_at_exit),
		cmocka_unit_test(test_nonblock_partial_end),
		cmocka_unit_test(test_nonblock_sleep_is_lockdep),
		cmocka_unit_test(test_blockable_failure_warns),
		cmocka_unit_test(test_unregister_from_callback_refused),
		cmocka_unit_test(test_release_at_exit),
		cmocka_unit_test(test_interval_bad_input),
		cmocka_unit_test(test_seq_protocol),
		cmocka_unit_test(test_insert_during_invalidation),
		cmocka_unit_test(test_interval_nonblock_refuse),
		cmocka_unit_test(test_remove_from_callback_refused),
		cmocka_unit_test(test_read_begin_blocks_until_end),
		cmocka_unit_test(test_remove_waits_for_end),
		cmocka_unit_test(test_unregister_waits_for_callbacks),
		cmocka_unit_test(test_checker_detects_corruption),
		cmocka_unit_test(test_randomized_protocol),
	};
	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
