// SPDX-License-Identifier: MIT
/*
 * Legacy notifiers: register / unregister, the refcounted get / put, and
 * the SRCU-deferred free of put notifiers (mm/mmu_notifier.c).
 *
 * References: a registered notifier holds one mm_count reference (mmgrab
 * in register; mmdrop in unregister or after the final put's grace
 * period). mm_users must be positive at registration.
 *
 * The kernel frees a put notifier from an SRCU callback (call_srcu).
 * simmm has no callbacks of its own, so the queue is drained at points
 * where a grace period is known to have passed: synchronize(), a later get
 * on the mm, and the mm's exit, the last two only when no dispatch of the
 * mm is in flight. free_notifier runs in non-blockable context there, as an
 * SRCU callback cannot sleep.
 */
#include <string.h>

#include "mm/mm.h"
#include "notifier/notifier.h"

static void hash_add(struct simmm_mmu_notifier_subscriptions *s, struct simmm_mmu_notifier *sub)
{
	sub->mn_next = s->list;
	if (s->list)
		s->list->mn_pprev = &sub->mn_next;
	s->list = sub;
	sub->mn_pprev = &s->list;
	s->nr_list++;
}

/* hlist_del_init_rcu: keep mn_next so a walker sitting on @sub goes on. */
static void hash_del(struct simmm_mmu_notifier_subscriptions *s, struct simmm_mmu_notifier *sub)
{
	*sub->mn_pprev = sub->mn_next;
	if (sub->mn_next)
		sub->mn_next->mn_pprev = sub->mn_pprev;
	sub->mn_pprev = NULL;
	s->nr_list--;
}

static bool mmap_write_held(struct simmm_mm *mm, const char *what)
{
	if (simmm_lock_held(mm->sim, &mm->mmap_lock.map) == SIMMM_LOCK_WRITE)
		return true;
	simmm__report(mm->sim, SIMMM_REPORT_MISUSE,
		      "%s without the mmap lock held for write (mm %llu)", what,
		      (unsigned long long)mm->id);
	return false;
}

/* ---- register ------------------------------------------------------------------- */

static int register_check(struct simmm_mmu_notifier *sub, struct simmm_mm *mm)
{
	if (!sub || !sub->ops || !simmm__mm_ok(mm) || mm->mm_users <= 0)
		return -EINVAL;
	if (sub->mn_registered || sub->mn_pprev)
		return -EBUSY;
	return 0;
}

int simmm__mn_register_locked(struct simmm_mmu_notifier *sub, struct simmm_mm *mm)
{
	struct simmm_mmu_notifier_subscriptions *s;

	/* A subscriber uses either the secondary-TLB hook or start/end: the
	 * former is called under the PTL, where start/end users would block. */
	if (sub && sub->ops->arch_invalidate_secondary_tlbs &&
	    (sub->ops->invalidate_range_start || sub->ops->invalidate_range_end)) {
		simmm__report(mm->sim, SIMMM_REPORT_WARN,
			      "mmu notifier %p registers arch_invalidate_secondary_tlbs together "
			      "with invalidate_range_start/end", (void *)sub);
		return -EINVAL;
	}
	s = simmm__mn_subs_get(mm);
	if (!s)
		return -ENOMEM;
	if (!sub) {
		s->has_itree = true;
		return 0;
	}
	/* Pairs with the mmdrop in unregister / the final put's free. */
	simmm_mmgrab(mm);
	sub->mm = mm;
	sub->users = 1;
	sub->mn_registered = true;
	sub->mn_free_next = NULL;
	simmm_spin_lock(s->sim, &s->lock);
	hash_add(s, sub);
	simmm_spin_unlock(s->sim, &s->lock);
	simmm__trace(s->sim, SIMMM_EV_MN_REGISTER, 0, mm->id, sub->users, 0);
	return 0;
}

int simmm_mmu_notifier_register_locked(struct simmm_mmu_notifier *sub, struct simmm_mm *mm)
{
	int err = register_check(sub, mm);

	if (err)
		return err;
	if (!mmap_write_held(mm, "__mmu_notifier_register"))
		return -EPERM;
	return simmm__mn_register_locked(sub, mm);
}

int simmm_mmu_notifier_register(struct simmm_mmu_notifier *sub, struct simmm_mm *mm)
{
	int err = register_check(sub, mm);

	if (err)
		return err;
	err = simmm_mmap_write_lock(mm);
	if (err)
		return err;
	err = simmm__mn_register_locked(sub, mm);
	simmm_mmap_write_unlock(mm);
	return err;
}

/* ---- unregister --------------------------------------------------------------------- */

int simmm_mmu_notifier_unregister(struct simmm_mmu_notifier *sub, struct simmm_mm *mm)
{
	struct simmm_mmu_notifier_subscriptions *s;
	simmm_sim *sim;
	int err;

	if (!sub || !simmm__mm_ok(mm) || !sub->mn_registered || sub->mm != mm ||
	    !mm->notifier_subscriptions)
		return -EINVAL;
	sim = mm->sim;
	s = mm->notifier_subscriptions;
	/* synchronize_srcu from inside a read section waits for itself. */
	if (simmm__mn_in_any_frame(sim, 0)) {
		simmm__report(sim, SIMMM_REPORT_LOCKDEP,
			      "mmu_notifier_unregister of %p (mm %llu) from an mmu notifier "
			      "callback (synchronize_srcu would wait for itself)",
			      (void *)sub, (unsigned long long)mm->id);
		return -EDEADLK;
	}
	err = simmm_might_sleep(sim, "mmu_notifier_unregister");
	if (err)
		return err;
	if (sub->mn_pprev) {
		struct mn_frame f;

		/* Still hooked (exit has not released it): ->release now, in
		 * a read section so that a racing exit waits for it. */
		simmm__mn_frame_push(s, &f, MN_FRAME_RELEASE);
		simmm__mn_frame_srcu(s, &f);
		if (sub->ops->release) {
			sub->stats.releases++;
			sub->ops->release(sub, mm);
		}
		simmm__mn_frame_pop(s, &f);
		simmm_spin_lock(sim, &s->lock);
		/* Exit may have unhooked it while ->release slept. */
		if (sub->mn_pprev)
			hash_del(s, sub);
		simmm_spin_unlock(sim, &s->lock);
	}
	sub->mn_registered = false;
	simmm__trace(sim, SIMMM_EV_MN_UNREGISTER, 0, mm->id, sub->users, 0);
	/* Wait for every callback in flight, ->release of exit included. */
	simmm_synchronize_srcu(sim, &s->srcu);
	/* Pairs with the mmgrab in register. */
	simmm_mmdrop(mm);
	return 0;
}

/* ---- get / put --------------------------------------------------------------------------- */

static struct simmm_mmu_notifier *find_get(struct simmm_mmu_notifier_subscriptions *s,
					   const struct simmm_mmu_notifier_ops *ops)
{
	struct simmm_mmu_notifier *found = NULL;

	simmm_spin_lock(s->sim, &s->lock);
	for (struct simmm_mmu_notifier *m = s->list; m; m = m->mn_next) {
		if (m->ops != ops || m->users == UINT32_MAX)
			continue;
		m->users++;
		found = m;
		break;
	}
	simmm_spin_unlock(s->sim, &s->lock);
	return found;
}

static int get_locked(const struct simmm_mmu_notifier_ops *ops, struct simmm_mm *mm,
		      struct simmm_mmu_notifier **out)
{
	struct simmm_mmu_notifier *sub;
	int err;

	if (mm->notifier_subscriptions) {
		simmm__mn_free_pending(mm->notifier_subscriptions);
		sub = find_get(mm->notifier_subscriptions, ops);
		if (sub) {
			*out = sub;
			return 0;
		}
	}
	sub = ops->alloc_notifier(mm);
	if (!sub)
		return -ENOMEM;
	/* Kernel-style allocators return ERR_PTR(-errno). */
	if ((uintptr_t)sub >= (uintptr_t)-4095)
		return (int)(intptr_t)sub;
	/* The allocator owns the rest of the struct, simmm its own fields. */
	sub->ops = ops;
	sub->mm = NULL;
	sub->users = 0;
	sub->mn_next = NULL;
	sub->mn_pprev = NULL;
	sub->mn_free_next = NULL;
	sub->mn_registered = false;
	sub->mn_fail_gen = 0;
	memset(&sub->stats, 0, sizeof(sub->stats));
	err = simmm__mn_register_locked(sub, mm);
	if (err) {
		ops->free_notifier(sub);
		return err;
	}
	*out = sub;
	return 0;
}

static int get_check(const struct simmm_mmu_notifier_ops *ops, struct simmm_mm *mm,
		     struct simmm_mmu_notifier **out)
{
	if (out)
		*out = NULL;
	if (!ops || !ops->alloc_notifier || !ops->free_notifier || !simmm__mm_ok(mm) || !out ||
	    mm->mm_users <= 0)
		return -EINVAL;
	return 0;
}

int simmm_mmu_notifier_get_locked(const struct simmm_mmu_notifier_ops *ops, struct simmm_mm *mm,
				  struct simmm_mmu_notifier **out)
{
	int err = get_check(ops, mm, out);

	if (err)
		return err;
	if (!mmap_write_held(mm, "mmu_notifier_get_locked"))
		return -EPERM;
	return get_locked(ops, mm, out);
}

int simmm_mmu_notifier_get(const struct simmm_mmu_notifier_ops *ops, struct simmm_mm *mm,
			   struct simmm_mmu_notifier **out)
{
	int err = get_check(ops, mm, out);

	if (err)
		return err;
	err = simmm_mmap_write_lock(mm);
	if (err)
		return err;
	err = get_locked(ops, mm, out);
	simmm_mmap_write_unlock(mm);
	return err;
}

int simmm_mmu_notifier_put(struct simmm_mmu_notifier *sub)
{
	struct simmm_mmu_notifier_subscriptions *s;
	struct simmm_mm *mm;

	if (!sub || !sub->mn_registered || !simmm__mm_ok(sub->mm) || !sub->ops ||
	    !sub->ops->free_notifier || !sub->mm->notifier_subscriptions)
		return -EINVAL;
	mm = sub->mm;
	s = mm->notifier_subscriptions;
	simmm_spin_lock(s->sim, &s->lock);
	if (!sub->users) {
		simmm_spin_unlock(s->sim, &s->lock);
		simmm__report(s->sim, SIMMM_REPORT_WARN, "mmu_notifier_put of %p without users",
			      (void *)sub);
		return -EINVAL;
	}
	if (--sub->users) {
		simmm_spin_unlock(s->sim, &s->lock);
		return 0;
	}
	if (sub->mn_pprev)
		hash_del(s, sub);
	sub->mn_registered = false;
	/* call_srcu(): freed once the walkers that may see it are gone. */
	sub->mn_free_next = s->pending_free;
	s->pending_free = sub;
	s->nr_pending_free++;
	simmm_spin_unlock(s->sim, &s->lock);
	simmm__trace(s->sim, SIMMM_EV_MN_UNREGISTER, 0, mm->id, 0, 1);
	return 0;
}

/* Free a detached list whose grace period is over; returns how many.
 * The caller drops the mm_count references afterwards. */
static int free_detached(simmm_sim *sim, struct simmm_mmu_notifier *list)
{
	int n = 0;

	while (list) {
		struct simmm_mmu_notifier *m = list;

		list = m->mn_free_next;
		/* An SRCU callback cannot sleep. */
		simmm_sched_enter_nonblock(sim);
		m->ops->free_notifier(m);
		simmm_sched_exit_nonblock(sim);
		n++;
	}
	return n;
}

int simmm__mn_free_pending(struct simmm_mmu_notifier_subscriptions *s)
{
	struct simmm_mm *mm = s->mm;
	simmm_sim *sim = s->sim;
	struct simmm_mmu_notifier *list;
	int n;

	/* A dispatch in flight may still walk a put notifier. */
	if (s->frames || !s->pending_free)
		return 0;
	list = s->pending_free;
	s->pending_free = NULL;
	s->nr_pending_free = 0;
	n = free_detached(sim, list);
	/* Pairs with the mmgrab in register; the last may free the mm. */
	for (int i = 0; i < n; i++)
		simmm_mmdrop(mm);
	return n;
}

int simmm_mmu_notifier_synchronize(simmm_sim *sim)
{
	struct simmm_mm_global *g;
	int total = 0, err;

	if (!simmm__sim_ok(sim))
		return -EINVAL;
	if (simmm__mn_in_any_frame(sim, 0)) {
		simmm__report(sim, SIMMM_REPORT_LOCKDEP,
			      "mmu_notifier_synchronize from an mmu notifier callback");
		return -EDEADLK;
	}
	err = simmm_might_sleep(sim, "mmu_notifier_synchronize");
	if (err)
		return err;
	g = simmm__mm_global(sim);
	if (!g)
		return 0;
	for (;;) {
		struct simmm_mmu_notifier_subscriptions *s = NULL;
		struct simmm_mmu_notifier *list;
		struct simmm_mm *mm;
		int n;

		for (mm = g->mms; mm; mm = mm->next)
			if (mm->notifier_subscriptions && mm->notifier_subscriptions->pending_free)
				break;
		if (!mm)
			break;
		s = mm->notifier_subscriptions;
		/* Detach what is queued now, wait out the readers that could
		 * see it, then free it (srcu_barrier). Our own reference keeps
		 * the mm alive across the wait. */
		simmm_mmgrab(mm);
		list = s->pending_free;
		s->pending_free = NULL;
		s->nr_pending_free = 0;
		simmm_synchronize_srcu(sim, &s->srcu);
		n = free_detached(sim, list);
		for (int i = 0; i < n; i++)
			simmm_mmdrop(mm);
		simmm_mmdrop(mm);
		total += n;
	}
	return total;
}
