// SPDX-License-Identifier: MIT
/*
 * mmu-notifier dispatch: the entry points the page-table-changing code
 * calls (range start/end, exit release, young bits, secondary TLBs) and
 * their public wrappers. The legacy half walks the mm's subscriber list
 * (mn_hlist_*), the interval half lives in interval.c (mn_itree_*).
 *
 * Every dispatch runs in a frame (subs.c): an SRCU read section of the
 * mm's notifier domain, so unregister's synchronize_srcu waits for it, and
 * a record that lets remove/unregister see they are called from a
 * callback. The list may change under a sleeping callback: unhooked
 * notifiers keep their next pointer (hlist_del_init_rcu) and are not freed
 * before a grace period, so a walker always finds its way on.
 *
 * An mm without notifier state is never notified and costs one load, as
 * the kernel's mm_has_notifiers().
 */
#include "mm/mm.h"
#include "notifier/notifier.h"

static bool range_ok(const struct simmm_mmu_notifier_range *r)
{
	return r && simmm__mm_ok(r->mm) && r->start < r->end &&
	       (unsigned)r->event < SIMMM_MMU_NOTIFY_NR_EVENTS;
}

static void nonblock_enter(simmm_sim *sim, bool blockable)
{
	if (!blockable)
		simmm_sched_enter_nonblock(sim);
}

static void nonblock_exit(simmm_sim *sim, bool blockable)
{
	if (!blockable)
		simmm_sched_exit_nonblock(sim);
}

/* ---- legacy subscribers ------------------------------------------------------------ */

static int mn_hlist_start(struct simmm_mmu_notifier_subscriptions *s,
			  const struct simmm_mmu_notifier_range *r, uint64_t gen)
{
	bool blockable = simmm_mmu_notifier_range_blockable(r);
	int ret = 0;

	for (struct simmm_mmu_notifier *m = s->list; m; m = m->mn_next) {
		const struct simmm_mmu_notifier_ops *ops = m->ops;
		int rc;

		if (!ops->invalidate_range_start)
			continue;
		m->stats.starts[r->event]++;
		nonblock_enter(s->sim, blockable);
		rc = ops->invalidate_range_start(m, r);
		nonblock_exit(s->sim, blockable);
		if (!rc)
			continue;
		m->stats.failures++;
		if (blockable || rc != -EAGAIN)
			simmm__report(s->sim, SIMMM_REPORT_WARN,
				      "mmu notifier %p invalidate_range_start failed with %d in "
				      "%sblockable context (only -EAGAIN, only non-blockable)",
				      (void *)m, rc, blockable ? "" : "non-");
		/* A subscriber cannot know whether its own start failed when end
		 * comes, so one that can fail must not implement end. */
		if (ops->invalidate_range_end)
			simmm__report(s->sim, SIMMM_REPORT_WARN,
				      "mmu notifier %p failed invalidate_range_start but implements "
				      "invalidate_range_end", (void *)m);
		if (blockable)
			continue; /* WARNed; a blockable start cannot fail */
		m->mn_fail_gen = gen;
		ret = -EAGAIN;
		/* Like the kernel, every subscriber still gets its start. */
	}
	if (!ret)
		return 0;
	/* Non-blockable failure: the caller will not call end, so those whose
	 * start succeeded get their end now. */
	for (struct simmm_mmu_notifier *m = s->list; m; m = m->mn_next) {
		if (!m->ops->invalidate_range_end || !m->ops->invalidate_range_start ||
		    m->mn_fail_gen == gen)
			continue;
		m->stats.ends[r->event]++;
		nonblock_enter(s->sim, blockable);
		m->ops->invalidate_range_end(m, r);
		nonblock_exit(s->sim, blockable);
	}
	return ret;
}

static void mn_hlist_end(struct simmm_mmu_notifier_subscriptions *s,
			 const struct simmm_mmu_notifier_range *r)
{
	bool blockable = simmm_mmu_notifier_range_blockable(r);

	for (struct simmm_mmu_notifier *m = s->list; m; m = m->mn_next) {
		if (!m->ops->invalidate_range_end)
			continue;
		m->stats.ends[r->event]++;
		nonblock_enter(s->sim, blockable);
		m->ops->invalidate_range_end(m, r);
		nonblock_exit(s->sim, blockable);
	}
}

/* ---- range start / end ---------------------------------------------------------------- */

int simmm__mmu_notifier_invalidate_range_start(struct simmm_mmu_notifier_range *r)
{
	struct simmm_mmu_notifier_subscriptions *s = r->mm->notifier_subscriptions;
	struct mn_frame f;
	uint64_t gen;
	int ret;

	if (SIMMM_LIKELY(!s))
		return 0;
	if (simmm_mmu_notifier_range_blockable(r))
		simmm_might_sleep(s->sim, "mmu_notifier_invalidate_range_start");
	gen = ++s->gen;
	simmm__mn_trace_range(s, SIMMM_EV_MN_START, r, 0);
	simmm__mn_frame_push(s, &f, MN_FRAME_INVALIDATE);
	ret = simmm__mn_itree_invalidate(s, r);
	if (!ret && s->list) {
		simmm__mn_frame_srcu(s, &f);
		ret = mn_hlist_start(s, r, gen);
		/* The kernel returns here with the interval half still counted
		 * active (the OOM reaper never calls end), which would leave the
		 * seq odd for good; simmm ends it. */
		if (ret)
			simmm__mn_itree_inv_end(s, r, NULL);
	}
	simmm__mn_frame_pop(s, &f);
	if (ret) {
		s->stats.nonblock_failures++;
		simmm__mn_trace_range(s, SIMMM_EV_MN_START_FAIL, r, 0);
	} else {
		s->stats.range_starts[r->event]++;
	}
	return ret;
}

void simmm__mmu_notifier_invalidate_range_end(struct simmm_mmu_notifier_range *r)
{
	struct simmm_mmu_notifier_subscriptions *s = r->mm->notifier_subscriptions;
	struct simmm_mmu_notifier_range started;
	struct mn_frame f;

	if (SIMMM_LIKELY(!s))
		return;
	simmm__mn_frame_push(s, &f, MN_FRAME_INVALIDATE);
	/* End sees the range as start did: callers may pass a fresh copy
	 * without the BLOCKABLE flag the start set. */
	started = *r;
	if (!simmm__mn_itree_inv_end(s, r, &started.flags)) {
		/* Started before the mm had notifier state: nobody saw the
		 * start, so nobody gets the end. */
		s->stats.unmatched_ends++;
		simmm__mn_frame_pop(s, &f);
		return;
	}
	s->stats.range_ends[r->event]++;
	simmm__mn_trace_range(s, SIMMM_EV_MN_END, &started, 0);
	if (s->list) {
		simmm__mn_frame_srcu(s, &f);
		mn_hlist_end(s, &started);
	}
	simmm__mn_frame_pop(s, &f);
}

/* ---- exit ------------------------------------------------------------------------------- */

void simmm__mmu_notifier_release(struct simmm_mm *mm)
{
	struct simmm_mmu_notifier_subscriptions *s = mm->notifier_subscriptions;
	struct mn_frame f;

	if (!s)
		return;
	s->stats.releases++;
	simmm__trace(s->sim, SIMMM_EV_MN_RELEASE, 0, mm->id, s->nr_list + s->itree.count, 0);
	if (s->has_itree) {
		/* Interval notifiers get one blockable RELEASE over everything
		 * (mn_itree_release); a false return is a WARN. */
		struct simmm_mmu_notifier_range r;

		simmm_mmu_notifier_range_init(&r, SIMMM_MMU_NOTIFY_RELEASE,
					      SIMMM_MMU_NOTIFIER_RANGE_BLOCKABLE, mm, 0, UINT64_MAX);
		simmm__mn_frame_push(s, &f, MN_FRAME_INVALIDATE);
		simmm__mn_itree_invalidate(s, &r);
		simmm__mn_itree_inv_end(s, &r, NULL);
		simmm__mn_frame_pop(s, &f);
		s->stats.range_starts[SIMMM_MMU_NOTIFY_RELEASE]++;
		s->stats.range_ends[SIMMM_MMU_NOTIFY_RELEASE]++;
	}
	if (s->list) {
		simmm__mn_frame_push(s, &f, MN_FRAME_RELEASE);
		simmm__mn_frame_srcu(s, &f);
		for (struct simmm_mmu_notifier *m = s->list; m; m = m->mn_next) {
			if (!m->ops->release)
				continue;
			m->stats.releases++;
			m->ops->release(m, mm);
		}
		/* Unhook them all: a later unregister must not call ->release
		 * again, and nothing is called after this. */
		simmm_spin_lock(s->sim, &s->lock);
		while (s->list) {
			struct simmm_mmu_notifier *m = s->list;

			s->list = m->mn_next;
			if (s->list)
				s->list->mn_pprev = &s->list;
			m->mn_pprev = NULL;
			s->nr_list--;
		}
		simmm_spin_unlock(s->sim, &s->lock);
		simmm__mn_frame_pop(s, &f);
		/* ->release of a concurrent unregister must finish before the
		 * pages go. */
		simmm_synchronize_srcu(s->sim, &s->srcu);
	}
	simmm__mn_free_pending(s);
}

/* ---- young bits, secondary TLBs -------------------------------------------------------- */

enum young_op { YOUNG_CLEAR_FLUSH, YOUNG_CLEAR, YOUNG_TEST };

static int mn_young(struct simmm_mm *mm, enum young_op op, uint64_t start, uint64_t end)
{
	struct simmm_mmu_notifier_subscriptions *s = mm->notifier_subscriptions;
	struct mn_frame f;
	int young = 0;

	if (!s || !s->list)
		return 0;
	simmm__mn_frame_push(s, &f, MN_FRAME_OTHER);
	simmm__mn_frame_srcu(s, &f);
	for (struct simmm_mmu_notifier *m = s->list; m; m = m->mn_next) {
		const struct simmm_mmu_notifier_ops *ops = m->ops;

		switch (op) {
		case YOUNG_CLEAR_FLUSH:
			if (!ops->clear_flush_young)
				continue;
			m->stats.young++;
			young |= ops->clear_flush_young(m, mm, start, end);
			break;
		case YOUNG_CLEAR:
			if (!ops->clear_young)
				continue;
			m->stats.young++;
			young |= ops->clear_young(m, mm, start, end);
			break;
		case YOUNG_TEST:
			if (!ops->test_young)
				continue;
			m->stats.young++;
			young |= ops->test_young(m, mm, start);
			break;
		}
		/* test_young stops at the first young answer, as upstream: the
		 * OR is already decided. */
		if (op == YOUNG_TEST && young)
			break;
	}
	simmm__mn_frame_pop(s, &f);
	return young;
}

int simmm__mmu_notifier_clear_flush_young(struct simmm_mm *mm, uint64_t start, uint64_t end)
{
	return mn_young(mm, YOUNG_CLEAR_FLUSH, start, end);
}

int simmm__mmu_notifier_clear_young(struct simmm_mm *mm, uint64_t start, uint64_t end)
{
	return mn_young(mm, YOUNG_CLEAR, start, end);
}

int simmm__mmu_notifier_test_young(struct simmm_mm *mm, uint64_t addr)
{
	return mn_young(mm, YOUNG_TEST, addr, addr);
}

void simmm__mmu_notifier_arch_invalidate_secondary_tlbs(struct simmm_mm *mm, uint64_t start,
							uint64_t end)
{
	struct simmm_mmu_notifier_subscriptions *s = mm->notifier_subscriptions;
	struct mn_frame f;

	if (!s || !s->list)
		return;
	simmm__mn_frame_push(s, &f, MN_FRAME_OTHER);
	simmm__mn_frame_srcu(s, &f);
	for (struct simmm_mmu_notifier *m = s->list; m; m = m->mn_next) {
		if (!m->ops->arch_invalidate_secondary_tlbs)
			continue;
		m->stats.secondary_tlbs++;
		/* Called from TLB flush paths, which may hold the PTL. */
		simmm_sched_enter_nonblock(s->sim);
		m->ops->arch_invalidate_secondary_tlbs(m, mm, start, end);
		simmm_sched_exit_nonblock(s->sim);
	}
	simmm__mn_frame_pop(s, &f);
}

/* ---- public wrappers ----------------------------------------------------------------------- */

int simmm_mmu_notifier_invalidate_range_start(struct simmm_mmu_notifier_range *range)
{
	if (!range_ok(range))
		return -EINVAL;
	range->flags |= SIMMM_MMU_NOTIFIER_RANGE_BLOCKABLE;
	simmm__mmu_notifier_invalidate_range_start(range);
	return 0;
}

int simmm_mmu_notifier_invalidate_range_start_nonblock(struct simmm_mmu_notifier_range *range)
{
	if (!range_ok(range))
		return -EINVAL;
	range->flags &= ~SIMMM_MMU_NOTIFIER_RANGE_BLOCKABLE;
	return simmm__mmu_notifier_invalidate_range_start(range);
}

int simmm_mmu_notifier_invalidate_range_end(struct simmm_mmu_notifier_range *range)
{
	if (!range_ok(range))
		return -EINVAL;
	simmm__mmu_notifier_invalidate_range_end(range);
	return 0;
}

int simmm_mmu_notifier_arch_invalidate_secondary_tlbs(struct simmm_mm *mm, uint64_t start,
						      uint64_t end)
{
	if (!simmm__mm_ok(mm) || start >= end)
		return -EINVAL;
	simmm__mmu_notifier_arch_invalidate_secondary_tlbs(mm, start, end);
	return 0;
}
