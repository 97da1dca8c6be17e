// SPDX-License-Identifier: MIT
/*
 * Interval notifiers and their collision-retry sequence protocol
 * (mm/mmu_notifier.c: mn_itree_*, mmu_interval_*).
 *
 * The "lock" is the mm's invalidate_seq. Even: no invalidation touches any
 * interval notifier. Odd: one or more ranges overlapping some notifier
 * have started and not all have ended. A mirror reads:
 *
 *   seq = read_begin(sub)        waits while sub->seq == mm seq
 *   ... walk the CPU page table ...
 *   lock(driver)
 *   if read_retry(sub, seq)      sub->seq moved: an invalidate ran
 *       unlock, goto again
 *   publish translations
 *   unlock(driver)
 *
 * and its ->invalidate takes the driver lock and stores the odd cur_seq
 * with set_seq, so any read side that began earlier sees a different seq.
 *
 *   mm seq:    2 ... start(overlap) -> 3 ... end(last active) -> 4
 *   sub seq:   1 ............ set_seq(3) ........................
 *   read_begin during [3]: sub seq 3 == mm seq 3 -> sleep until 4
 *
 * The tree is not edited while the seq is odd (a walker may sleep inside a
 * callback holding a pointer into it): inserts and removes are queued on
 * the deferred list and applied by the last end, like rtnl_unlock, which
 * keeps the algorithm free of retry loops.
 */
#include <stddef.h>

#include "mm/mm.h"
#include "notifier/notifier.h"

_Static_assert(sizeof(((struct simmm_mmu_interval_notifier *)0)->mn_node) >=
		       sizeof(struct simmm_itree_node),
	       "mn_node storage too small for an itree node");
_Static_assert(_Alignof(struct simmm_itree_node) <= 8, "mn_node storage under-aligned");

struct simmm_itree_node *simmm__mn_node(struct simmm_mmu_interval_notifier *sub)
{
	return (struct simmm_itree_node *)(void *)sub->mn_node.bytes;
}

struct simmm_mmu_interval_notifier *simmm__mn_from_node(struct simmm_itree_node *n)
{
	return (struct simmm_mmu_interval_notifier *)(void *)((char *)n -
		offsetof(struct simmm_mmu_interval_notifier, mn_node));
}

/* ---- deferred list ---------------------------------------------------------------- */

static void deferred_add(struct simmm_mmu_notifier_subscriptions *s,
			 struct simmm_mmu_interval_notifier *sub)
{
	sub->mn_deferred_next = s->deferred;
	if (s->deferred)
		s->deferred->mn_deferred_pprev = &sub->mn_deferred_next;
	s->deferred = sub;
	sub->mn_deferred_pprev = &s->deferred;
	s->nr_deferred++;
}

static void deferred_del(struct simmm_mmu_notifier_subscriptions *s,
			 struct simmm_mmu_interval_notifier *sub)
{
	*sub->mn_deferred_pprev = sub->mn_deferred_next;
	if (sub->mn_deferred_next)
		sub->mn_deferred_next->mn_deferred_pprev = sub->mn_deferred_pprev;
	sub->mn_deferred_next = NULL;
	sub->mn_deferred_pprev = NULL;
	s->nr_deferred--;
}

static void tree_insert(struct simmm_mmu_notifier_subscriptions *s,
			struct simmm_mmu_interval_notifier *sub)
{
	simmm__itree_insert(&s->itree, simmm__mn_node(sub));
	sub->mn_in_tree = true;
}

static void tree_remove(struct simmm_mmu_notifier_subscriptions *s,
			struct simmm_mmu_interval_notifier *sub)
{
	simmm__itree_remove(&s->itree, simmm__mn_node(sub));
	sub->mn_in_tree = false;
}

/* ---- the invalidation side ---------------------------------------------------------- */

int simmm__mn_itree_invalidate(struct simmm_mmu_notifier_subscriptions *s,
			       const struct simmm_mmu_notifier_range *r)
{
	bool blockable = simmm_mmu_notifier_range_blockable(r);
	uint64_t last = r->end - 1, cur_seq;
	struct simmm_itree_node *n;

	simmm_spin_lock(s->sim, &s->lock);
	simmm__mn_active_add(s, r);
	n = simmm__itree_iter_first(&s->itree, r->start, last);
	if (n)
		s->invalidate_seq |= 1;
	cur_seq = s->invalidate_seq;
	simmm_spin_unlock(s->sim, &s->lock);

	/* Walking without the lock is safe: the seq is odd from here to the
	 * last end, so every tree edit is deferred. */
	for (; n; n = simmm__itree_iter_next(n, r->start, last)) {
		struct simmm_mmu_interval_notifier *sub = simmm__mn_from_node(n);
		bool ok;

		simmm__trace(s->sim, SIMMM_EV_MN_INVALIDATE, n->start, s->mm->id, n->last,
			     (uint64_t)r->event | ((uint64_t)blockable << 8) | (cur_seq << 16));
		sub->stats.invalidates[r->event]++;
		if (!blockable)
			simmm_sched_enter_nonblock(s->sim);
		ok = sub->ops->invalidate(sub, r, cur_seq);
		if (!blockable)
			simmm_sched_exit_nonblock(s->sim);
		if (ok)
			continue;
		sub->stats.failures++;
		if (blockable) {
			/* Only a non-blockable range may be refused. */
			simmm__report(s->sim, SIMMM_REPORT_WARN,
				      "mmu_interval_notifier [%llx, %llx] of mm %llu returned false "
				      "for blockable %s range [%llx, %llx)",
				      (unsigned long long)n->start, (unsigned long long)n->last,
				      (unsigned long long)s->mm->id,
				      simmm_mmu_notifier_event_name(r->event),
				      (unsigned long long)r->start, (unsigned long long)r->end);
			continue;
		}
		/* A non-blocking caller that gets -EAGAIN must not call end, so
		 * the interval half is ended here. */
		simmm__mn_itree_inv_end(s, r, NULL);
		return -EAGAIN;
	}
	return 0;
}

bool simmm__mn_itree_inv_end(struct simmm_mmu_notifier_subscriptions *s,
			     const struct simmm_mmu_notifier_range *r, unsigned *flags)
{
	simmm_spin_lock(s->sim, &s->lock);
	if (!simmm__mn_active_del(s, r, flags)) {
		simmm_spin_unlock(s->sim, &s->lock);
		return false;
	}
	if (s->active_invalidate_ranges || !(s->invalidate_seq & 1)) {
		simmm_spin_unlock(s->sim, &s->lock);
		return true;
	}
	/* The last active range: back to even, then apply the queued edits. */
	s->invalidate_seq++;
	while (s->deferred) {
		struct simmm_mmu_interval_notifier *sub = s->deferred;

		deferred_del(s, sub);
		if (sub->mn_in_tree)
			tree_remove(s, sub);
		else
			tree_insert(s, sub);
	}
	simmm_spin_unlock(s->sim, &s->lock);
	simmm_wake_up_all(s->sim, &s->wq);
	return true;
}

/* ---- insert ---------------------------------------------------------------------------- */

static int insert_check(struct simmm_mmu_interval_notifier *sub, struct simmm_mm *mm,
			uint64_t start, uint64_t length,
			const struct simmm_mmu_interval_notifier_ops *ops)
{
	if (!sub || !simmm__mm_ok(mm) || !ops || !ops->invalidate)
		return -EINVAL;
	if (sub->mn_inserted)
		return -EBUSY;
	/* The tree stores closed intervals: last = start + length - 1. */
	if (length == 0 || start + (length - 1) < start)
		return -EOVERFLOW;
	/* Must be called with a user reference (mmget). */
	if (mm->mm_users <= 0)
		return -EINVAL;
	return 0;
}

static int insert_now(struct simmm_mmu_interval_notifier *sub, struct simmm_mm *mm,
		      uint64_t start, uint64_t length,
		      const struct simmm_mmu_interval_notifier_ops *ops)
{
	struct simmm_mmu_notifier_subscriptions *s = mm->notifier_subscriptions;
	struct simmm_itree_node *n = simmm__mn_node(sub);
	bool deferred = false;

	*n = (struct simmm_itree_node){.start = start, .last = start + (length - 1)};
	sub->mm = mm;
	sub->ops = ops;
	sub->mn_in_tree = false;
	sub->mn_deferred_next = NULL;
	sub->mn_deferred_pprev = NULL;
	/* Pairs with the mmdrop in simmm_mmu_interval_notifier_remove(). */
	simmm_mmgrab(mm);

	simmm_spin_lock(s->sim, &s->lock);
	if (s->active_invalidate_ranges) {
		/* Some range is in flight and we cannot know whether it covers
		 * the new interval: treat it as being invalidated, so
		 * read_begin waits for the end. An odd seq means walkers may be
		 * in the tree: defer the edit. */
		if (s->invalidate_seq & 1) {
			deferred_add(s, sub);
			deferred = true;
		} else {
			s->invalidate_seq |= 1;
			tree_insert(s, sub);
		}
		sub->invalidate_seq = s->invalidate_seq;
	} else {
		/* Odd, different from the mm's seq, and far from wrapping. */
		sub->invalidate_seq = s->invalidate_seq - 1;
		tree_insert(s, sub);
	}
	sub->mn_inserted = true;
	simmm_spin_unlock(s->sim, &s->lock);
	simmm__trace(s->sim, SIMMM_EV_MN_INSERT, n->start, mm->id, n->last, deferred);
	return 0;
}

int simmm_mmu_interval_notifier_insert(struct simmm_mmu_interval_notifier *sub,
				       struct simmm_mm *mm, uint64_t start, uint64_t length,
				       const struct simmm_mmu_interval_notifier_ops *ops)
{
	struct simmm_mmu_notifier_subscriptions *s;
	int err = insert_check(sub, mm, start, length, ops);

	if (err)
		return err;
	s = mm->notifier_subscriptions;
	if (!s || !s->has_itree) {
		err = simmm_mmap_write_lock(mm);
		if (err)
			return err;
		err = simmm__mn_register_locked(NULL, mm);
		simmm_mmap_write_unlock(mm);
		if (err)
			return err;
	}
	return insert_now(sub, mm, start, length, ops);
}

int simmm_mmu_interval_notifier_insert_locked(struct simmm_mmu_interval_notifier *sub,
					      struct simmm_mm *mm, uint64_t start,
					      uint64_t length,
					      const struct simmm_mmu_interval_notifier_ops *ops)
{
	struct simmm_mmu_notifier_subscriptions *s;
	int err = insert_check(sub, mm, start, length, ops);

	if (err)
		return err;
	if (simmm_lock_held(mm->sim, &mm->mmap_lock.map) != SIMMM_LOCK_WRITE) {
		simmm__report(mm->sim, SIMMM_REPORT_MISUSE,
			      "mmu_interval_notifier_insert_locked without the mmap lock held "
			      "for write (mm %llu)", (unsigned long long)mm->id);
		return -EPERM;
	}
	s = mm->notifier_subscriptions;
	if (!s || !s->has_itree) {
		err = simmm__mn_register_locked(NULL, mm);
		if (err)
			return err;
	}
	return insert_now(sub, mm, start, length, ops);
}

/* ---- remove ------------------------------------------------------------------------------ */

struct seq_wait {
	const struct simmm_mmu_notifier_subscriptions *s;
	uint64_t seq;
};

static bool seq_changed(simmm_sim *sim, void *arg)
{
	const struct seq_wait *w = arg;

	(void)sim;
	return w->s->invalidate_seq != w->seq;
}

int simmm_mmu_interval_notifier_remove(struct simmm_mmu_interval_notifier *sub)
{
	struct simmm_mmu_notifier_subscriptions *s;
	struct simmm_itree_node *n;
	struct simmm_mm *mm;
	uint64_t seq = 0;
	simmm_sim *sim;
	int err;

	if (!sub || !sub->mn_inserted || !simmm__mm_ok(sub->mm) ||
	    !sub->mm->notifier_subscriptions)
		return -EINVAL;
	mm = sub->mm;
	sim = mm->sim;
	s = mm->notifier_subscriptions;
	n = simmm__mn_node(sub);
	/* Remove may sleep until the invalidation ends: from inside one of
	 * its callbacks that is a wait for ourselves. The kernel catches it
	 * with the invalidate_range_start lockdep map; so does simmm. */
	if (simmm__mn_in_any_frame(sim, MN_FRAME_INVALIDATE)) {
		simmm__report(sim, SIMMM_REPORT_LOCKDEP,
			      "mmu_interval_notifier_remove [%llx, %llx] of mm %llu called from an "
			      "mmu notifier invalidation callback (would wait for itself)",
			      (unsigned long long)n->start, (unsigned long long)n->last,
			      (unsigned long long)mm->id);
		return -EDEADLK;
	}
	err = simmm_might_sleep(sim, "mmu_interval_notifier_remove");
	if (err)
		return err;
	if ((s->invalidate_seq & 1) && sub->mn_in_tree && simmm_sched_current(sim) == 0) {
		/* Outside a scheduler run nobody can end the invalidation. */
		simmm__report(sim, SIMMM_REPORT_DEADLOCK,
			      "mmu_interval_notifier_remove [%llx, %llx] of mm %llu during an "
			      "invalidation outside a scheduler run would wait forever",
			      (unsigned long long)n->start, (unsigned long long)n->last,
			      (unsigned long long)mm->id);
		return -EDEADLK;
	}

	simmm_spin_lock(sim, &s->lock);
	if (s->invalidate_seq & 1) {
		if (!sub->mn_in_tree) {
			/* Inserted during this invalidation and not yet added:
			 * just cancel the queued insert. */
			deferred_del(s, sub);
		} else {
			deferred_add(s, sub);
			seq = s->invalidate_seq;
		}
	} else {
		if (ALWAYS(sub->mn_in_tree))
			tree_remove(s, sub);
	}
	sub->mn_inserted = false;
	simmm_spin_unlock(sim, &s->lock);
	simmm__trace(sim, SIMMM_EV_MN_REMOVE, n->start, mm->id, n->last, seq != 0);

	if (seq) {
		struct seq_wait w = {.s = s, .seq = seq};

		/* No callback may run on @sub once we return: wait for the
		 * end that applies the queued removal. */
		simmm_wait_event(sim, &s->wq, seq_changed, &w);
	}
	/* Pairs with the mmgrab in insert_now(). */
	simmm_mmdrop(mm);
	return 0;
}

/* ---- the read side ------------------------------------------------------------------------- */

uint64_t simmm_mmu_interval_read_begin(struct simmm_mmu_interval_notifier *sub)
{
	struct simmm_mmu_notifier_subscriptions *s;
	struct seq_wait w;
	bool invalidating;
	uint64_t seq;
	simmm_sim *sim;

	if (!sub || !sub->mn_inserted || !simmm__mm_ok(sub->mm) ||
	    !sub->mm->notifier_subscriptions)
		return 0;
	s = sub->mm->notifier_subscriptions;
	sim = s->sim;
	simmm_spin_lock(sim, &s->lock);
	seq = sub->invalidate_seq;
	invalidating = seq == s->invalidate_seq;
	simmm_spin_unlock(sim, &s->lock);
	if (!invalidating)
		return seq;
	/* Between start and end: wait for the end. A read side inside a
	 * callback of this very invalidation would wait for itself. */
	if (simmm__mn_in_frame(s, MN_FRAME_INVALIDATE)) {
		simmm__report(sim, SIMMM_REPORT_LOCKDEP,
			      "mmu_interval_read_begin from an mmu notifier callback of mm %llu "
			      "while invalidating (would wait for itself)",
			      (unsigned long long)s->mm->id);
		return seq + 1;
	}
	simmm__trace(sim, SIMMM_EV_MN_READ_BEGIN_WAIT, simmm__mn_node(sub)->start, s->mm->id, seq,
		     0);
	w = (struct seq_wait){.s = s, .seq = seq};
	if (simmm_wait_event(sim, &s->wq, seq_changed, &w))
		return seq + 1; /* even: read_retry always says retry */
	/* read_retry may already be true here; not looping lets the caller
	 * bound its own time. */
	return seq;
}

bool simmm_mmu_interval_read_retry(const struct simmm_mmu_interval_notifier *sub, uint64_t seq)
{
	return !sub || sub->invalidate_seq != seq;
}

bool simmm_mmu_interval_check_retry(const struct simmm_mmu_interval_notifier *sub, uint64_t seq)
{
	return !sub || sub->invalidate_seq != seq;
}

void simmm_mmu_interval_set_seq(struct simmm_mmu_interval_notifier *sub, uint64_t cur_seq)
{
	if (sub)
		sub->invalidate_seq = cur_seq;
}

int simmm_mmu_interval_notifier_range(const struct simmm_mmu_interval_notifier *sub,
				      uint64_t *start, uint64_t *last)
{
	const struct simmm_itree_node *n;

	if (!sub || !sub->mm)
		return -EINVAL;
	n = (const struct simmm_itree_node *)(const void *)sub->mn_node.bytes;
	if (start)
		*start = n->start;
	if (last)
		*last = n->last;
	return 0;
}
