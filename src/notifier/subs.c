// SPDX-License-Identifier: MIT
/*
 * The per-mm notifier state (struct mmu_notifier_subscriptions): creation
 * on first registration, destruction with the mm struct, the frames of
 * dispatches in flight, the list of active ranges, the invariant checker,
 * and the read-only queries.
 */
#include <string.h>

#include "mm/mm.h"
#include "notifier/notifier.h"

/* ---- checker --------------------------------------------------------------------- */

static int mn_check(simmm_sim *sim, void *arg)
{
	struct simmm_mmu_notifier_subscriptions *s = arg;
	struct simmm_itree_node *n;
	uint64_t in_tree = 0;
	int bad = 0;

#define MN_BAD(...)                                                                 \
	do {                                                                        \
		simmm__report(sim, SIMMM_REPORT_INVARIANT, __VA_ARGS__);            \
		bad++;                                                              \
	} while (0)

	if (s->active_invalidate_ranges != s->nr_active)
		MN_BAD("notifier mm %llu: active_invalidate_ranges %llu but %zu active ranges",
		       (unsigned long long)s->mm->id,
		       (unsigned long long)s->active_invalidate_ranges, s->nr_active);
	if ((s->invalidate_seq & 1) && !s->active_invalidate_ranges)
		MN_BAD("notifier mm %llu: odd invalidate_seq %llu with no active range",
		       (unsigned long long)s->mm->id, (unsigned long long)s->invalidate_seq);
	if (s->deferred && !(s->invalidate_seq & 1))
		MN_BAD("notifier mm %llu: deferred tree edits while idle (seq %llu)",
		       (unsigned long long)s->mm->id, (unsigned long long)s->invalidate_seq);
	if (s->invalidate_seq < 2)
		MN_BAD("notifier mm %llu: invalidate_seq %llu below its start value 2",
		       (unsigned long long)s->mm->id, (unsigned long long)s->invalidate_seq);
	if (simmm__itree_verify(&s->itree))
		MN_BAD("notifier mm %llu: interval tree unsound", (unsigned long long)s->mm->id);
	for (n = simmm__itree_first(&s->itree); n; n = simmm__itree_next(n)) {
		struct simmm_mmu_interval_notifier *sub = simmm__mn_from_node(n);

		in_tree++;
		if (!sub->mn_in_tree || sub->mm != s->mm)
			MN_BAD("notifier mm %llu: tree node [%llx, %llx] not marked in tree",
			       (unsigned long long)s->mm->id, (unsigned long long)n->start,
			       (unsigned long long)n->last);
		if (!(sub->invalidate_seq & 1))
			MN_BAD("notifier mm %llu: interval [%llx, %llx] has even seq %llu "
			       "(set_seq with a value not from ->invalidate?)",
			       (unsigned long long)s->mm->id, (unsigned long long)n->start,
			       (unsigned long long)n->last,
			       (unsigned long long)sub->invalidate_seq);
	}
	if (in_tree != s->itree.count)
		MN_BAD("notifier mm %llu: tree count %zu, walked %llu", (unsigned long long)s->mm->id,
		       s->itree.count, (unsigned long long)in_tree);
	{
		uint64_t nr = 0;

		for (struct simmm_mmu_notifier *m = s->list; m; m = m->mn_next) {
			nr++;
			if (m->mm != s->mm || !m->users || m->mn_pprev == NULL)
				MN_BAD("notifier mm %llu: hashed notifier %p with mm %p users %u",
				       (unsigned long long)s->mm->id, (void *)m, (void *)m->mm,
				       m->users);
		}
		if (nr != s->nr_list)
			MN_BAD("notifier mm %llu: %llu notifiers listed, count %llu",
			       (unsigned long long)s->mm->id, (unsigned long long)nr,
			       (unsigned long long)s->nr_list);
	}
#undef MN_BAD
	return bad;
}

/* ---- create / destroy --------------------------------------------------------------- */

struct simmm_mmu_notifier_subscriptions *simmm__mn_subs_get(struct simmm_mm *mm)
{
	struct simmm_mmu_notifier_subscriptions *s = mm->notifier_subscriptions;
	simmm_sim *sim = mm->sim;

	if (s)
		return s;
	s = simmm__zalloc(sim, SIMMM_ALLOC_META, sizeof(*s));
	if (!s)
		return NULL;
	s->sim = sim;
	s->mm = mm;
	simmm_spin_lock_init(&s->lock, "mmu_notifier_subscriptions.lock");
	simmm_srcu_init(&s->srcu, "mmu_notifier_srcu");
	simmm_waitqueue_init(&s->wq, "mmu_notifier_wq");
	/* The kernel starts at 2 so that insert's "seq - 1" is odd and never
	 * equal to a live seq. */
	s->invalidate_seq = 2;
	if (simmm__add_checker(sim, "mmu_notifier", mn_check, s)) {
		simmm__free(sim, SIMMM_ALLOC_META, s, sizeof(*s));
		return NULL;
	}
	mm->notifier_subscriptions = s;
	return s;
}

void simmm__mmu_notifier_subscriptions_destroy(struct simmm_mm *mm)
{
	struct simmm_mmu_notifier_subscriptions *s = mm->notifier_subscriptions;
	simmm_sim *sim = mm->sim;

	if (!s)
		return;
	/* Every subscriber holds an mm_count reference (insert, register, a
	 * pending free), so none can be left when the struct goes. */
	if (NEVER(s->list || s->itree.count || s->deferred || s->pending_free || s->frames))
		simmm__report(sim, SIMMM_REPORT_LEAK, "notifier mm %llu: subscribers left at free",
			      (unsigned long long)mm->id);
	simmm__remove_checker(sim, mn_check, s);
	if (s->active)
		simmm__free(sim, SIMMM_ALLOC_META, s->active, s->cap_active * sizeof(*s->active));
	simmm__free(sim, SIMMM_ALLOC_META, s, sizeof(*s));
	mm->notifier_subscriptions = NULL;
}

/* ---- frames ------------------------------------------------------------------------- */

void simmm__mn_frame_push(struct simmm_mmu_notifier_subscriptions *s, struct mn_frame *f,
			  enum mn_frame_kind kind)
{
	f->task = simmm_sched_current(s->sim);
	f->kind = kind;
	f->srcu_idx = -1;
	f->prev = NULL;
	f->next = s->frames;
	if (s->frames)
		s->frames->prev = f;
	s->frames = f;
}

void simmm__mn_frame_srcu(struct simmm_mmu_notifier_subscriptions *s, struct mn_frame *f)
{
	int idx;

	if (f->srcu_idx != -1)
		return;
	/* SRCU read sections of one domain do not nest in simmm (they hide
	 * synchronize_srcu deadlocks); an outer frame of this task that holds
	 * one already protects the walk. */
	for (struct mn_frame *o = f->next; o; o = o->next) {
		if (o->task == f->task && o->srcu_idx >= 0) {
			f->srcu_idx = -2;
			return;
		}
	}
	idx = simmm_srcu_read_lock(s->sim, &s->srcu);
	f->srcu_idx = idx >= 0 ? idx : -2;
}

void simmm__mn_frame_pop(struct simmm_mmu_notifier_subscriptions *s, struct mn_frame *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		s->frames = f->next;
	if (f->next)
		f->next->prev = f->prev;
	if (f->srcu_idx >= 0)
		simmm_srcu_read_unlock(s->sim, &s->srcu, f->srcu_idx);
}

bool simmm__mn_in_frame(const struct simmm_mmu_notifier_subscriptions *s, enum mn_frame_kind kind)
{
	uint32_t task = simmm_sched_current(s->sim);

	for (const struct mn_frame *f = s->frames; f; f = f->next)
		if (f->task == task && (!kind || f->kind == kind))
			return true;
	return false;
}

bool simmm__mn_in_any_frame(simmm_sim *sim, enum mn_frame_kind kind)
{
	struct simmm_mm_global *g = simmm__mm_global(sim);

	if (!g)
		return false;
	for (struct simmm_mm *mm = g->mms; mm; mm = mm->next)
		if (mm->notifier_subscriptions && simmm__mn_in_frame(mm->notifier_subscriptions, kind))
			return true;
	return false;
}

/* ---- active ranges -------------------------------------------------------------------- */

void simmm__mn_active_add(struct simmm_mmu_notifier_subscriptions *s,
			  const struct simmm_mmu_notifier_range *r)
{
	/* No-fail growth: a start cannot fail for lack of bookkeeping memory
	 * (the kernel's start allocates nothing). */
	if (s->nr_active == s->cap_active)
		simmm__grow(s->sim, SIMMM_ALLOC_META, (void **)&s->active, sizeof(*s->active),
			    &s->cap_active, s->nr_active + 1, true);
	s->active[s->nr_active++] = (struct mn_active){
		.start = r->start, .end = r->end, .owner = r->owner,
		.task = simmm_sched_current(s->sim), .flags = r->flags, .event = r->event};
	s->active_invalidate_ranges++;
}

bool simmm__mn_active_del(struct simmm_mmu_notifier_subscriptions *s,
			  const struct simmm_mmu_notifier_range *r, unsigned *flags)
{
	/* Match by value: callers may build a fresh range for the end. Prefer
	 * the entry this task started (identical ranges of two tasks are
	 * interchangeable anyway). */
	size_t hit = SIZE_MAX;
	uint32_t task = simmm_sched_current(s->sim);

	for (size_t i = 0; i < s->nr_active; i++) {
		const struct mn_active *a = &s->active[i];

		if (a->start != r->start || a->end != r->end || a->event != r->event ||
		    a->owner != r->owner)
			continue;
		hit = i;
		if (a->task == task)
			break;
	}
	if (hit == SIZE_MAX)
		return false;
	if (flags)
		*flags = s->active[hit].flags;
	s->active[hit] = s->active[--s->nr_active];
	s->active_invalidate_ranges--;
	return true;
}

int simmm_mmu_notifier_range_in_progress(struct simmm_mm *mm, uint64_t start, uint64_t end)
{
	const struct simmm_mmu_notifier_subscriptions *s;

	if (!simmm__mm_ok(mm) || start >= end)
		return -EINVAL;
	s = mm->notifier_subscriptions;
	if (!s)
		return 0;
	for (size_t i = 0; i < s->nr_active; i++)
		if (s->active[i].start < end && start < s->active[i].end)
			return 1;
	return 0;
}

/* ---- queries ---------------------------------------------------------------------------- */

int simmm_mmu_notifier_mm_info(struct simmm_mm *mm, struct simmm_mmu_notifier_mm_info *out)
{
	const struct simmm_mmu_notifier_subscriptions *s;

	if (!simmm__mm_ok(mm) || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->invalidate_seq = 2;
	s = mm->notifier_subscriptions;
	if (!s)
		return 0;
	*out = s->stats;
	out->invalidate_seq = s->invalidate_seq;
	out->active_invalidate_ranges = s->active_invalidate_ranges;
	out->nr_subscribers = s->nr_list;
	out->nr_interval = s->itree.count;
	out->nr_deferred = s->nr_deferred;
	out->nr_pending_free = s->nr_pending_free;
	return 0;
}

int simmm_mmu_notifier_counters(const struct simmm_mmu_notifier *sub,
				struct simmm_mmu_notifier_counters *out)
{
	if (!sub || !out)
		return -EINVAL;
	*out = sub->stats;
	return 0;
}

int simmm_mmu_interval_notifier_counters(const struct simmm_mmu_interval_notifier *sub,
					 struct simmm_mmu_notifier_counters *out)
{
	if (!sub || !out)
		return -EINVAL;
	*out = sub->stats;
	return 0;
}

const char *simmm_mmu_notifier_event_name(enum simmm_mmu_notifier_event ev)
{
	static const char *const names[] = {"UNMAP", "CLEAR", "PROTECTION_VMA",
					    "PROTECTION_PAGE", "SOFT_DIRTY", "RELEASE",
					    "MIGRATE", "EXCLUSIVE"};
	return (unsigned)ev < SIMMM_ARRAY_SIZE(names) ? names[ev] : "?";
}

const char *simmm_mmu_notifier_trace_name(uint32_t type)
{
	static const char *const names[] = {"mn_start", "mn_end", "mn_start_fail",
					    "mn_invalidate", "mn_release", "mn_read_begin_wait",
					    "mn_register", "mn_unregister", "mn_insert",
					    "mn_remove"};
	uint32_t i = type - SIMMM_EV_MN_START;

	return type >= SIMMM_EV_MN_START && i < SIMMM_ARRAY_SIZE(names) ? names[i] : NULL;
}

void simmm__mn_trace_range(struct simmm_mmu_notifier_subscriptions *s, uint32_t type,
			   const struct simmm_mmu_notifier_range *r, uint64_t extra)
{
	uint64_t a1 = (uint64_t)r->event | ((uint64_t)simmm_mmu_notifier_range_blockable(r) << 8) |
		      (extra << 16);

	simmm__trace(s->sim, type, r->start, s->mm->id, r->end, a1);
}
