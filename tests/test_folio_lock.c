// SPDX-License-Identifier: MIT
/*
 * The folio lock around the swap cache, on fixed round-robin schedules
 * (docs/mm-ext.md, "Swap" and "Folio locks"):
 *  1. a read fault whose swap-in allocation sleeps in direct reclaim while
 *     another task faults the same pte in: the slot is freed meanwhile,
 *     and the first fault backs off instead of mapping its folio over the
 *     other's page; or, with task b zapping the page instead, the read
 *     fails as swapcache_prepare() does rather than put its folio in the
 *     swap cache of a free slot;
 *  2. a GUP fault (no FAULT_FLAG_ALLOW_RETRY) sleeps in folio_lock() on a
 *     swap-cache folio; meanwhile the lock holder zaps the pte, frees the
 *     folio's swap (folio_free_swap()), and a new page written there is
 *     swapped out to the same slot, so the pte holds the same entry again:
 *     once it has the lock the fault finds the folio out of the swap cache
 *     and reads the slot again (do_swap_page()'s folio_test_swapcache()
 *     check; pte_same() alone would map the stale folio);
 *  3. the same with only the zap: the pte changed, the fault backs off;
 *     or with memory_failure() taking the lock first: the folio stays in
 *     the swap cache, poisoned, and the fault gets SIGBUS;
 *  4. a CPU fault (ALLOW_RETRY) on a page reclaim holds locked between the
 *     unmaps of its two mappings waits for the lock and retries: reclaim
 *     finishes its pageout, and the retry maps the same folio from the
 *     swap cache without I/O (it used to map the folio under reclaim's
 *     lock, and reclaim found it mapped again and gave up);
 *  5. do_wp_page()'s reuse frees the swap cache under the folio lock: a
 *     busy lock means a copy, an idle one a reuse without a WARN;
 *  6. shrink_folio_list() trylocks first: a folio locked by someone else is
 *     kept with its young bits and flags untouched;
 *  7. folio_free_swap()'s lock contract.
 * Task bodies only record; the assertions run after simmm_sched_run().
 */
#include "test_mm_ext_util.h"

#define WAIT_YIELDS 1000
#define REGION_PAGES 512

struct fl;
struct gate {
	struct simmm_mmu_notifier mn; /* first */
	struct fl *t;
	struct simmm_mm *mm;
};

struct fl {
	simmm_sim *sim;
	struct simmm_mm *mm, *mm2;
	simmm_addr_t a;
	struct simmm_page *folio;
	simmm_entry_t orig;       /* the pte of the swapped-out page */
	uint32_t holder, faulter, mf; /* task ids */
	unsigned filled;
	/* the holder */
	bool blocked;             /* saw the faulter blocked on the lock */
	bool kept_locked;         /* the zap left the locked folio in the swap cache */
	bool freed_swap;
	simmm_entry_t now;        /* the pte when the holder let go */
	int rc_h, rc_mf;
	/* the faulter */
	long n;
	simmm_pfn_t got;
	unsigned gup_flags;
	int rc_f;
	uint8_t buf[64], buf_b[64];
	/* the gate (cases 1 and 4) */
	struct gate g1, g2;
	unsigned stops;
	bool inside, done, done_inside;
	struct simmm_mm *target;  /* case 4: the mm whose pte is a swap entry */
	uint64_t swpout_stop;
	uint64_t swpin0;          /* the device reads before the run */
};

static void pattern(uint8_t *buf, unsigned tag)
{
	for (unsigned i = 0; i < 64; i++)
		buf[i] = (uint8_t)(tag * 31 + i);
}

/* simmm_mm_access() store of tag's pattern; usable in a task. */
static int wr(struct simmm_mm *mm, simmm_addr_t addr, unsigned tag)
{
	uint8_t buf[64];

	pattern(buf, tag);
	return simmm_mm_access(mm, addr, buf, sizeof(buf), SIMMM_ACCESS_WRITE);
}

static void expect_buf(const uint8_t *buf, unsigned tag)
{
	uint8_t want[64];

	pattern(want, tag);
	assert_memory_equal(buf, want, sizeof(want));
}

static void rr_config(simmm_sim *sim)
{
	struct simmm_sched_config cfg;

	simmm_sched_config_init(sim, &cfg);
	cfg.policy = SIMMM_SCHED_RR;
	TU_ASSERT_OK(simmm_sched_configure(sim, &cfg));
}

static void run(struct fl *t, simmm_task_fn holder, simmm_task_fn faulter)
{
	int h = simmm_sched_spawn(t->sim, "holder", holder, t);
	int f;

	assert_true(h > 0);
	t->holder = (uint32_t)h;
	f = simmm_sched_spawn(t->sim, "faulter", faulter, t);
	assert_true(f > 0);
	t->faulter = (uint32_t)f;
	assert_int_equal(simmm_sched_run(t->sim, 1000000), SIMMM_SCHED_DONE);
	assert_int_equal(simmm_reports_count(t->sim, 0), 0);
	TU_CHECK(t->sim);
}

/* Yield until task @id sleeps (on the folio lock), or give up. */
static bool wait_blocked(simmm_sim *sim, uint32_t id)
{
	for (int i = 0; i < WAIT_YIELDS; i++) {
		if (simmm_sched_task_state(sim, id) == SIMMM_TASK_BLOCKED)
			return true;
		simmm_sched_yield(sim);
	}
	return false;
}

/* A page written with @tag, then paged out while a GUP reference holds its
 * folio: unmapped, written to its slot, kept in the swap cache (clean,
 * the cache's reference only once the GUP one is dropped). */
static struct simmm_page *swapped_cached(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t a,
					 unsigned tag)
{
	simmm_pfn_t pfn = 0;
	struct simmm_page *folio;

	mx_write(mm, a, tag);
	assert_int_equal(simmm_get_user_pages(mm, a, 1, 0, &pfn), 1);
	TU_ASSERT_OK(simmm_madvise(mm, a, PS, SIMMM_MADV_PAGEOUT));
	TU_ASSERT_OK(simmm_put_user_pages(sim, &pfn, 1));
	folio = simmm__pfn_to_page(sim, pfn);
	assert_true(folio->flags & PG_swapcache);
	assert_int_equal(folio->refcount, 1);
	assert_true(simmm_is_real_swap_entry(mx_tr(mm, a).entry));
	TU_CHECK(sim);
	return folio;
}

static struct fl *fl_new(uint64_t ram)
{
	struct fl *t = calloc(1, sizeof(*t));

	t->sim = mx_sim(NULL, ram, 16 * MIB);
	t->mm = mx_mm(t->sim);
	return t;
}

static void fl_free(struct fl *t)
{
	if (t->mm2)
		TU_ASSERT_OK(simmm_mmput(t->mm2));
	TU_ASSERT_OK(simmm_mmput(t->mm));
	TU_CHECK(t->sim);
	tu_sim_free(&t->sim);
	free(t);
}

/* ---- 1. two read faults, one asleep in its allocation's reclaim ------------------ */

static int gate_start(struct simmm_mmu_notifier *sub, const struct simmm_mmu_notifier_range *r);

static const struct simmm_mmu_notifier_ops gate_ops = {
	.invalidate_range_start = gate_start,
};

static void gate_register(struct fl *t, struct gate *g, struct simmm_mm *mm)
{
	g->mn.ops = &gate_ops;
	g->t = t;
	g->mm = mm;
	TU_ASSERT_OK(simmm_mmu_notifier_register(&g->mn, mm));
}

static void task_read_a(simmm_sim *sim, void *arg)
{
	struct fl *t = arg;

	(void)sim;
	t->rc_h = simmm_mm_access(t->mm, t->a, t->buf, 64, SIMMM_ACCESS_READ);
}

static void task_read_b(simmm_sim *sim, void *arg)
{
	struct fl *t = arg;

	for (int i = 0; i < WAIT_YIELDS * 100 && !t->inside; i++)
		simmm_sched_yield(sim);
	t->rc_f = simmm_mm_access(t->mm, t->a, t->buf_b, 64, SIMMM_ACCESS_READ);
	t->done = true;
}

static void task_zap_b(simmm_sim *sim, void *arg)
{
	struct fl *t = arg;

	for (int i = 0; i < WAIT_YIELDS * 100 && !t->inside; i++)
		simmm_sched_yield(sim);
	t->rc_f = simmm_madvise(t->mm, t->a, PS, SIMMM_MADV_DONTNEED);
	t->done = true;
}

/* Page 0 swapped out, the RAM filled with pages of which all but page 1
 * are pinned (reclaim adds no pinned folio to swap: no slot is taken
 * after the zap below); returns the pins. */
static simmm_pfn_t *fill_pinned(struct fl *t, uint64_t *npin)
{
	simmm_pfn_t *pins;
	int rc = 0;

	t->a = mx_anon(t->mm, 0, REGION_PAGES * PS);
	mx_write(t->mm, t->a, 0);
	TU_ASSERT_OK(simmm_madvise(t->mm, t->a, PS, SIMMM_MADV_PAGEOUT));
	assert_true(simmm_is_real_swap_entry(mx_tr(t->mm, t->a).entry));
	TU_ASSERT_OK(simmm_set_auto_reclaim(t->sim, false));
	for (t->filled = 1; t->filled < REGION_PAGES; t->filled++) {
		rc = wr(t->mm, t->a + t->filled * PS, t->filled);
		if (rc)
			break;
	}
	assert_int_equal(rc, -ENOMEM);
	TU_ASSERT_OK(simmm_set_auto_reclaim(t->sim, true));
	*npin = t->filled - 2;
	pins = calloc(*npin, sizeof(*pins));
	assert_int_equal(simmm_pin_user_pages(t->mm, t->a + 2 * PS, *npin, SIMMM_FOLL_WRITE, pins),
			 (long)*npin);
	TU_CHECK(t->sim);
	return pins;
}

/* Case 1b: the swap-in's allocation sleeps in reclaim (unmapping page 1,
 * the only page it can reclaim) while task b zaps the swapped-out page:
 * the slot is free when the allocation returns. The read fails as
 * swapcache_prepare() would (-ENOENT); the fault sees its pte gone and
 * the access retries: the zero page. (Putting the folio in the swap cache
 * of the free slot left the swap checker a slot not in use with a cache
 * folio.) */
static void test_swapin_read_after_slot_zapped(void **state)
{
	(void)state;
	struct fl *t = fl_new(1 * MIB);
	uint64_t npin;
	simmm_pfn_t *pins = fill_pinned(t, &npin);

	gate_register(t, &t->g1, t->mm);
	rr_config(t->sim);
	run(t, task_read_a, task_zap_b);
	assert_int_equal(t->stops, 1);
	assert_true(t->done_inside);
	TU_ASSERT_OK(t->rc_h);
	TU_ASSERT_OK(t->rc_f);
	assert_memory_equal(t->buf, (uint8_t[64]){0}, 64);
	assert_int_equal(mx_swap_used(t->sim), 1); /* page 1's */
	mx_expect(t->mm, t->a + PS, 1);
	TU_ASSERT_OK(simmm_unpin_user_pages(t->sim, pins, npin));
	free(pins);
	TU_CHECK(t->sim);
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&t->g1.mn, t->mm));
	fl_free(t);
}

/* Case 1: page 0 is swapped out, then the RAM is filled; task a reads it
 * and its swap-in allocation reclaims, stopping inside the unmap's
 * notifier bracket until task b has read the same page (its own reclaim
 * found it a page; its fault mapped the page and freed the slot). */
static void test_swapin_backs_off_when_slot_freed_meanwhile(void **state)
{
	(void)state;
	struct fl *t = fl_new(2 * MIB);
	int rc = 0;

	t->a = mx_anon(t->mm, 0, REGION_PAGES * PS);
	mx_write(t->mm, t->a, 0);
	TU_ASSERT_OK(simmm_madvise(t->mm, t->a, PS, SIMMM_MADV_PAGEOUT));
	assert_true(simmm_is_real_swap_entry(mx_tr(t->mm, t->a).entry));
	assert_int_equal(mx_swap_used(t->sim), 1);
	TU_ASSERT_OK(simmm_set_auto_reclaim(t->sim, false));
	for (t->filled = 1; t->filled < REGION_PAGES; t->filled++) {
		rc = wr(t->mm, t->a + t->filled * PS, t->filled);
		if (rc)
			break;
	}
	assert_int_equal(rc, -ENOMEM);
	assert_true(t->filled > 64);
	TU_ASSERT_OK(simmm_set_auto_reclaim(t->sim, true));
	gate_register(t, &t->g1, t->mm);
	rr_config(t->sim);
	run(t, task_read_a, task_read_b);
	assert_int_equal(t->stops, 1);
	assert_true(t->done_inside); /* b's fault ran while a slept in reclaim */
	TU_ASSERT_OK(t->rc_h);
	TU_ASSERT_OK(t->rc_f);
	expect_buf(t->buf, 0);
	expect_buf(t->buf_b, 0);
	mx_expect(t->mm, t->a, 0);
	for (unsigned i = 1; i < t->filled; i++)
		mx_expect(t->mm, t->a + i * PS, i);
	TU_CHECK(t->sim);
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&t->g1.mn, t->mm));
	fl_free(t);
}

/* ---- 2., 3. a GUP fault asleep on the folio lock -------------------------------- */

/* Holds the swap-cache folio locked (with a reference) until the faulter
 * sleeps on it, then zaps the pte (the zap's free_swap_and_cache() finds
 * the folio locked and leaves it in the swap cache) and, if @reuse, frees
 * the folio's swap under the lock and swaps a new page out to the slot. */
static void holder(struct fl *t, bool reuse)
{
	simmm_sim *sim = t->sim;
	struct simmm_page *f = t->folio;

	simmm__folio_get(sim, f);
	if (simmm__folio_lock(sim, f)) {
		simmm__put_user_folio(sim, f);
		return;
	}
	t->blocked = wait_blocked(sim, t->faulter);
	t->rc_h = simmm_madvise(t->mm, t->a, PS, SIMMM_MADV_DONTNEED);
	t->kept_locked = (f->flags & PG_swapcache) && simmm__swap_count(sim, f->private) == 0;
	if (reuse) {
		t->freed_swap = simmm__folio_free_swap(sim, f);
		t->rc_h |= wr(t->mm, t->a, 2);
		t->rc_h |= simmm_madvise(t->mm, t->a, PS, SIMMM_MADV_PAGEOUT);
	}
	t->now = mx_tr(t->mm, t->a).entry;
	simmm__folio_unlock(sim, f);
	simmm__put_user_folio(sim, f);
}

static void holder_reuse(simmm_sim *sim, void *arg)
{
	(void)sim;
	holder(arg, true);
}

static void holder_zap(simmm_sim *sim, void *arg)
{
	(void)sim;
	holder(arg, false);
}

static void faulter_gup(simmm_sim *sim, void *arg)
{
	struct fl *t = arg;

	(void)sim;
	t->n = simmm_get_user_pages(t->mm, t->a, 1, t->gup_flags, &t->got);
}

static struct fl *gup_case(simmm_task_fn h, unsigned gup_flags)
{
	struct fl *t = fl_new(64 * MIB);

	t->a = mx_anon(t->mm, 0, PS);
	t->folio = swapped_cached(t->sim, t->mm, t->a, 1);
	t->orig = mx_tr(t->mm, t->a).entry;
	t->gup_flags = gup_flags;
	t->swpin0 = simmm__mm_global(t->sim)->swap->swpin;
	rr_config(t->sim);
	run(t, h, faulter_gup);
	assert_true(t->blocked); /* the fault slept in folio_lock() */
	TU_ASSERT_OK(t->rc_h);
	assert_true(t->kept_locked);
	assert_int_equal(t->n, 1);
	return t;
}

/* Case 2: same pte, same slot, other contents: the fault must notice that
 * the folio it locked left the swap cache, and read the slot again. */
static void test_swapin_rechecks_swapcache_after_lock(void **state)
{
	(void)state;
	struct fl *t = gup_case(holder_reuse, 0);

	assert_true(t->freed_swap);
	assert_int_equal(t->now, t->orig); /* the pte alone cannot tell */
	mx_expect(t->mm, t->a, 2);         /* the new page's data, not the old */
	assert_int_equal(mx_tr(t->mm, t->a).pfn, t->got);
	assert_int_equal(simmm__mm_global(t->sim)->swap->swpin, t->swpin0 + 1); /* the GUP's */
	/* A read fault: the new page stays in the swap cache, clean, its
	 * slot held by the cache alone (should_try_to_free_swap()). */
	assert_true(mx_page(t->sim, t->got).flags & PG_swapcache);
	assert_false(mx_page(t->sim, t->got).flags & PG_dirty);
	assert_int_equal(simmm__swap_count(t->sim, simmm__pfn_to_page(t->sim, t->got)->private), 0);
	assert_int_equal(mx_swap_used(t->sim), 1);
	TU_ASSERT_OK(simmm_put_user_pages(t->sim, &t->got, 1));
	fl_free(t);
}

/* Case 3: the pte was zapped while the fault slept: it backs off (the
 * locked folio is still the swap cache's for its entry, with no swap entry
 * left), and GUP's next round faults a new page in. The folio stays in
 * the swap cache, clean, for reclaim to drop without I/O. */
static void test_swapin_backs_off_when_pte_changed(void **state)
{
	(void)state;
	struct fl *t = gup_case(holder_zap, SIMMM_FOLL_WRITE);
	uint64_t n = 0, out = mx_swpout(t->sim);

	assert_true(simmm_entry_none(t->now));
	mx_expect_zero(t->mm, t->a);
	assert_true(t->folio->flags & PG_swapcache);
	assert_int_equal(simmm__swap_count(t->sim, t->folio->private), 0);
	assert_int_equal(t->folio->refcount, 1);
	assert_false(t->folio->flags & PG_dirty);
	assert_int_not_equal(t->got, t->folio->pfn);
	TU_ASSERT_OK(simmm_put_user_pages(t->sim, &t->got, 1));
	TU_ASSERT_OK(simmm_munmap(t->mm, t->a, PS)); /* the new page goes */
	TU_ASSERT_OK(simmm_reclaim(t->sim, 1 << 20, &n));
	TU_CHECK(t->sim);
	assert_true(mx_page(t->sim, t->folio->pfn).free);
	assert_int_equal(mx_swpout(t->sim), out);
	assert_int_equal(mx_swap_used(t->sim), 0);
	fl_free(t);
}

/* Case 3b: the faulter sleeps on the lock; the holder dirties the folio
 * (a write through its reference) and lets go once memory_failure() of
 * the frame waits for the lock too, and memory_failure() gets it first:
 * the dirty swap-cache folio stays in the swap cache, poisoned (its data
 * is lost). The fault finds it so once it has the lock: SIGBUS (GUP's
 * -EFAULT), as do_swap_page()'s !folio_test_uptodate() check. */
static void holder_dirty(simmm_sim *sim, void *arg)
{
	struct fl *t = arg;
	struct simmm_page *f = t->folio;
	uint8_t byte = 0x5a;

	simmm__folio_get(sim, f);
	if (simmm__folio_lock(sim, f)) {
		simmm__put_user_folio(sim, f);
		return;
	}
	t->blocked = wait_blocked(sim, t->faulter);
	t->rc_h = simmm_page_write(sim, f->pfn, 0, &byte, 1);
	t->kept_locked = wait_blocked(sim, t->mf);
	simmm__folio_unlock(sim, f);
	simmm__put_user_folio(sim, f);
}

static void task_mf(simmm_sim *sim, void *arg)
{
	struct fl *t = arg;

	if (wait_blocked(sim, t->faulter))
		t->rc_mf = simmm_memory_failure(sim, t->folio->pfn, 0, NULL);
}

static void test_swapin_sees_poison_after_lock(void **state)
{
	(void)state;
	struct fl *t = fl_new(64 * MIB);
	int h, m, f;

	t->a = mx_anon(t->mm, 0, PS);
	t->folio = swapped_cached(t->sim, t->mm, t->a, 1);
	rr_config(t->sim);
	h = simmm_sched_spawn(t->sim, "holder", holder_dirty, t);
	m = simmm_sched_spawn(t->sim, "mf", task_mf, t);
	f = simmm_sched_spawn(t->sim, "faulter", faulter_gup, t);
	assert_true(h > 0 && m > 0 && f > 0);
	t->holder = (uint32_t)h;
	t->mf = (uint32_t)m;
	t->faulter = (uint32_t)f;
	assert_int_equal(simmm_sched_run(t->sim, 1000000), SIMMM_SCHED_DONE);
	assert_int_equal(simmm_reports_count(t->sim, 0), 0);
	TU_CHECK(t->sim);
	assert_true(t->blocked);
	assert_true(t->kept_locked); /* memory_failure() waited for the lock too */
	TU_ASSERT_OK(t->rc_h);
	/* "failed": the waiting fault's reference is one too many
	 * (has_extra_refcount()), as upstream; the poison stays all the same. */
	assert_int_equal(t->rc_mf, -EBUSY);
	assert_int_equal(t->n, -EFAULT);
	assert_true(t->folio->flags & PG_hwpoison);
	assert_true(t->folio->flags & PG_swapcache);
	assert_true(simmm_is_real_swap_entry(mx_tr(t->mm, t->a).entry));
	fl_free(t);
}

/* ---- 4. a CPU fault waits for reclaim's lock -------------------------------------- */

static bool swapped_in(struct simmm_mm *mm, simmm_addr_t a)
{
	return simmm_is_real_swap_entry(mx_tr(mm, a).entry);
}

/* Stops the holder (reclaim) at the CLEAR bracket of the second mapping's
 * unmap: the first mm's pte is a swap entry by then. Case 1 stops task a's
 * first CLEAR instead (no fork there). */
static int gate_start(struct simmm_mmu_notifier *sub, const struct simmm_mmu_notifier_range *r)
{
	struct gate *g = (struct gate *)sub;
	struct fl *t = g->t;

	if (t->stops || r->event != SIMMM_MMU_NOTIFY_CLEAR ||
	    simmm_sched_current(t->sim) != t->holder)
		return 0;
	if (t->mm2) {
		struct simmm_mm *other = g->mm == t->mm ? t->mm2 : t->mm;

		if (!swapped_in(other, t->a))
			return 0;
		t->target = other;
		t->stops++;
		t->inside = true;
		t->blocked = wait_blocked(t->sim, t->faulter);
		t->swpout_stop = mx_swpout(t->sim);
		t->inside = false;
		return 0;
	}
	t->stops++;
	t->inside = true;
	for (int i = 0; i < WAIT_YIELDS * 100 && !t->done; i++)
		simmm_sched_yield(t->sim);
	t->done_inside = t->done;
	t->inside = false;
	return 0;
}

static void task_reclaim(simmm_sim *sim, void *arg)
{
	struct fl *t = arg;

	if (!simmm__folio_isolate_lru(sim, t->folio))
		return;
	t->n = (long)simmm__reclaim_folios(sim, &t->folio, 1);
}

static void task_cpu_read(simmm_sim *sim, void *arg)
{
	struct fl *t = arg;

	for (int i = 0; i < WAIT_YIELDS * 100 && !t->inside; i++)
		simmm_sched_yield(sim);
	t->rc_f = t->target ? simmm_mm_access(t->target, t->a, t->buf, 64, SIMMM_ACCESS_READ)
			    : -ESRCH;
}

static void test_cpu_swapin_waits_for_reclaim(void **state)
{
	(void)state;
	struct fl *t = fl_new(64 * MIB);
	struct simmm_mm *other;
	uint64_t in, out;

	t->a = mx_anon(t->mm, 0, PS);
	mx_write(t->mm, t->a, 5);
	TU_ASSERT_OK(simmm_fork(t->mm, &t->mm2));
	t->folio = simmm__pfn_to_page(t->sim, mx_tr(t->mm, t->a).pfn);
	assert_int_equal(simmm__folio_mapcount(t->sim, t->folio), 2);
	gate_register(t, &t->g1, t->mm);
	gate_register(t, &t->g2, t->mm2);
	in = simmm__mm_global(t->sim)->swap->swpin;
	out = mx_swpout(t->sim);
	rr_config(t->sim);
	run(t, task_reclaim, task_cpu_read);
	assert_int_equal(t->stops, 1);
	assert_true(t->blocked); /* the CPU fault waited for reclaim's lock */
	TU_ASSERT_OK(t->rc_f);
	expect_buf(t->buf, 5);
	/* Reclaim unmapped both and wrote the folio out; the waiter's
	 * reference kept it in the swap cache, where the retry found it: a
	 * minor fault, the same frame. */
	assert_int_equal(t->n, 0);
	assert_int_equal(t->swpout_stop, out); /* the fault slept before the pageout */
	assert_int_equal(mx_swpout(t->sim), out + 1);
	assert_int_equal(simmm__mm_global(t->sim)->swap->swpin, in);
	assert_int_equal(mx_tr(t->target, t->a).pfn, t->folio->pfn);
	other = t->target == t->mm ? t->mm2 : t->mm;
	assert_true(swapped_in(other, t->a));
	assert_true(t->folio->flags & PG_swapcache);
	mx_expect(other, t->a, 5);
	mx_expect(t->target, t->a, 5);
	TU_CHECK(t->sim);
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&t->g1.mn, t->mm));
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&t->g2.mn, t->mm2));
	fl_free(t);
}

/* ---- 5. do_wp_page()'s reuse of a swap-cache folio ---------------------------- */

/* A page shared after fork, the child gone: one read-only mapping, not
 * anon-exclusive, put in the swap cache (as add_to_swap() would, under
 * the folio lock) with no swap entry yet: refcount 2, the mapping's and
 * the cache's. */
static struct fl *wp_case(void)
{
	struct fl *t = fl_new(64 * MIB);
	struct simmm_mm *child = NULL;

	t->a = mx_anon(t->mm, 0, PS);
	mx_write(t->mm, t->a, 3);
	TU_ASSERT_OK(simmm_fork(t->mm, &child));
	TU_ASSERT_OK(simmm_mmput(child));
	t->folio = simmm__pfn_to_page(t->sim, mx_tr(t->mm, t->a).pfn);
	assert_false(mx_tr(t->mm, t->a).write);
	assert_true(simmm__folio_trylock(t->sim, t->folio));
	assert_true(simmm__swap_add_to_cache(t->sim, t->folio) != 0);
	simmm__folio_unlock(t->sim, t->folio);
	assert_int_equal(t->folio->refcount, 2);
	TU_CHECK(t->sim);
	return t;
}

/* The lock is free: the fault frees the swap cache under it and reuses
 * the page (folio_free_swap() checks its lock: no WARN). */
static void test_wp_reuse_frees_swap_under_lock(void **state)
{
	(void)state;
	struct fl *t = wp_case();
	uint64_t reuse = mx_stats(t->mm).reuse_faults;

	mx_write(t->mm, t->a, 4);
	assert_int_equal(simmm_reports_count(t->sim, 0), 0);
	assert_int_equal(mx_tr(t->mm, t->a).pfn, t->folio->pfn);
	assert_int_equal(mx_stats(t->mm).reuse_faults, reuse + 1);
	assert_false(t->folio->flags & PG_swapcache);
	assert_int_equal(mx_swap_used(t->sim), 0);
	mx_expect(t->mm, t->a, 4);
	fl_free(t);
}

/* Someone holds the folio locked (as a trylocker under another PTL would):
 * wp_can_reuse_anon_folio()'s trylock fails, so the page is copied and the
 * folio stays in the swap cache under its holder's lock. */
static void test_wp_copies_when_lock_busy(void **state)
{
	(void)state;
	struct fl *t = wp_case();
	uint64_t reuse = mx_stats(t->mm).reuse_faults, n = 0;

	assert_true(simmm__folio_trylock(t->sim, t->folio));
	mx_write(t->mm, t->a, 4);
	assert_int_not_equal(mx_tr(t->mm, t->a).pfn, t->folio->pfn);
	assert_int_equal(mx_stats(t->mm).reuse_faults, reuse);
	assert_true(t->folio->flags & PG_swapcache);
	assert_int_equal(t->folio->refcount, 1); /* the cache's: the mapping went */
	simmm__folio_unlock(t->sim, t->folio);
	TU_CHECK(t->sim);
	mx_expect(t->mm, t->a, 4);
	TU_ASSERT_OK(simmm_munmap(t->mm, t->a, PS)); /* the copy goes */
	TU_ASSERT_OK(simmm_reclaim(t->sim, 1 << 20, &n));
	assert_true(mx_page(t->sim, t->folio->pfn).free);
	assert_int_equal(mx_swap_used(t->sim), 0);
	fl_free(t);
}

/* ---- 6. reclaim trylocks first ---------------------------------------------------- */

/* A folio somebody holds locked is kept by shrink_folio_list() before
 * anything else: its young pte and PG_referenced untouched, not added to
 * swap. Once unlocked, the same look ages it (young: PG_referenced). */
static void test_reclaim_keeps_locked_folio_untouched(void **state)
{
	(void)state;
	struct fl *t = fl_new(64 * MIB);

	t->a = mx_anon(t->mm, 0, PS);
	mx_write(t->mm, t->a, 6);
	t->folio = simmm__pfn_to_page(t->sim, mx_tr(t->mm, t->a).pfn);
	assert_true(simmm_pte_young(mx_tr(t->mm, t->a).entry));
	assert_true(simmm__folio_trylock(t->sim, t->folio));
	assert_int_equal(simmm__shrink_inactive_batch(t->sim, 1), 0);
	assert_true(simmm_pte_young(mx_tr(t->mm, t->a).entry));
	assert_int_equal(t->folio->flags & (PG_referenced | PG_swapcache | PG_active), 0);
	assert_true(t->folio->flags & PG_lru);
	simmm__folio_unlock(t->sim, t->folio);
	TU_CHECK(t->sim);
	assert_int_equal(simmm__shrink_inactive_batch(t->sim, 1), 0);
	assert_false(simmm_pte_young(mx_tr(t->mm, t->a).entry));
	assert_true(t->folio->flags & PG_referenced);
	TU_CHECK(t->sim);
	mx_expect(t->mm, t->a, 6);
	fl_free(t);
}

/* ---- 7. folio_free_swap() wants the lock ----------------------------------------- */

static void test_free_swap_needs_lock(void **state)
{
	(void)state;
	struct fl *t = fl_new(64 * MIB);

	t->a = mx_anon(t->mm, 0, PS);
	t->folio = swapped_cached(t->sim, t->mm, t->a, 9);
	/* No swap entry left but the folio's own: zap it while locked. */
	assert_true(simmm__folio_trylock(t->sim, t->folio));
	TU_ASSERT_OK(simmm_madvise(t->mm, t->a, PS, SIMMM_MADV_DONTNEED));
	assert_true(t->folio->flags & PG_swapcache);
	simmm__folio_unlock(t->sim, t->folio);
	assert_false(simmm__folio_free_swap(t->sim, t->folio));
	assert_int_equal(simmm_reports_count(t->sim, SIMMM_REPORT_WARN), 1);
	assert_true(t->folio->flags & PG_swapcache);
	simmm_reports_clear(t->sim);
	assert_true(simmm__folio_trylock(t->sim, t->folio));
	simmm__folio_get(t->sim, t->folio);
	assert_true(simmm__folio_free_swap(t->sim, t->folio));
	assert_true(t->folio->flags & PG_dirty);
	simmm__folio_unlock(t->sim, t->folio);
	simmm__put_user_folio(t->sim, t->folio);
	assert_int_equal(mx_swap_used(t->sim), 0);
	fl_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_swapin_backs_off_when_slot_freed_meanwhile),
		cmocka_unit_test(test_swapin_read_after_slot_zapped),
		cmocka_unit_test(test_swapin_rechecks_swapcache_after_lock),
		cmocka_unit_test(test_swapin_backs_off_when_pte_changed),
		cmocka_unit_test(test_swapin_sees_poison_after_lock),
		cmocka_unit_test(test_cpu_swapin_waits_for_reclaim),
		cmocka_unit_test(test_wp_reuse_frees_swap_under_lock),
		cmocka_unit_test(test_wp_copies_when_lock_busy),
		cmocka_unit_test(test_reclaim_keeps_locked_folio_untouched),
		cmocka_unit_test(test_free_swap_needs_lock),
	};

	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
