/* SPDX-License-Identifier: MIT */
/*
 * mmu notifiers: the interface the page-table-changing code (src/mm,
 * src/migrate) uses to notify subscribers (the kernel's
 * mmu_notifier_invalidate_range_start()/end(), release at exit, the
 * young-bit hooks), and the state shared by the files of src/notifier/.
 *
 * Files:
 *   notifier.c   dispatch: range start/end, release, young hooks, public
 *                invalidation wrappers
 *   subs.c       per-mm state: create/destroy, callback frames, active
 *                ranges, checker, info, trace names
 *   register.c   legacy notifiers: register/unregister/get/put/synchronize
 *   interval.c   interval notifiers: insert/remove, the sequence protocol
 *
 * Subscriptions live in mm->notifier_subscriptions (NULL until the first
 * registration; an mm without them is never notified, as the kernel's
 * mm_has_notifiers()). They are freed with the mm struct.
 *
 * Invariants (checked by the notifier checker, one per mm state):
 *  - active_invalidate_ranges == number of recorded active ranges.
 *  - invalidate_seq odd => active_invalidate_ranges > 0.
 *  - the deferred list is non-empty only while the seq is odd.
 *  - the interval tree is sound (simmm__itree_verify) and holds exactly the
 *    notifiers marked in-tree; every notifier in it has an odd seq.
 *  - every hashed legacy notifier points at this mm and has users > 0.
 */
#ifndef SIMMM_NOTIFIER_NOTIFIER_H
#define SIMMM_NOTIFIER_NOTIFIER_H

#include <simmm/mmu_notifier.h>
#include <simmm/sched.h>

#include "core/internal.h"
#include "core/itree.h"

struct simmm_mm;

/* ---- the interface of src/mm and src/migrate ------------------------------------ */

/* Returns 0, or -EAGAIN when the range is non-blockable and a subscriber
 * would have to sleep (then end() is called only for those that started,
 * and the caller must not call end). */
int simmm__mmu_notifier_invalidate_range_start(struct simmm_mmu_notifier_range *r);
void simmm__mmu_notifier_invalidate_range_end(struct simmm_mmu_notifier_range *r);
/* exit_mmap(): RELEASE to interval notifiers over [0, UINT64_MAX), then
 * ->release for every legacy subscriber, which are unhooked. */
void simmm__mmu_notifier_release(struct simmm_mm *mm);
/* Young-bit hooks; results OR'ed over subscribers. */
int simmm__mmu_notifier_clear_flush_young(struct simmm_mm *mm, uint64_t start, uint64_t end);
int simmm__mmu_notifier_clear_young(struct simmm_mm *mm, uint64_t start, uint64_t end);
int simmm__mmu_notifier_test_young(struct simmm_mm *mm, uint64_t addr);
/* After a CPU TLB flush of [start, end): arch_invalidate_secondary_tlbs. */
void simmm__mmu_notifier_arch_invalidate_secondary_tlbs(struct simmm_mm *mm, uint64_t start,
							uint64_t end);
/* Free the subscriptions when the mm struct is freed (mmdrop to zero). */
void simmm__mmu_notifier_subscriptions_destroy(struct simmm_mm *mm);

/* ---- shared state of src/notifier ------------------------------------------------ */

/* A range between start and end (for range_in_progress and matching ends). */
struct mn_active {
	uint64_t start, end;
	void *owner;
	uint32_t task;
	unsigned flags;
	enum simmm_mmu_notifier_event event;
};

enum mn_frame_kind {
	MN_FRAME_INVALIDATE = 1, /* range start/end, itree release */
	MN_FRAME_RELEASE,        /* legacy ->release */
	MN_FRAME_OTHER,          /* young hooks, secondary TLBs */
};

/* A dispatch in progress on some task's stack: what kind of callbacks it
 * runs and the SRCU read section it holds. Frames tell "am I inside a
 * callback of this mm" (remove/unregister from a callback). As in the
 * kernel, only walks of the legacy list take the read section (the
 * interval tree is protected by the odd seq), lazily, and a nested
 * dispatch on one task shares the outer section. */
struct mn_frame {
	struct mn_frame *next, *prev;
	uint32_t task;
	enum mn_frame_kind kind;
	int srcu_idx;            /* -1 none yet, -2 covered by an outer frame */
};

/* struct mmu_notifier_subscriptions */
struct simmm_mmu_notifier_subscriptions {
	simmm_sim *sim;
	struct simmm_mm *mm;
	struct simmm_spinlock lock;     /* list, itree, seq, deferred, active */
	struct simmm_srcu srcu;         /* the notifier SRCU domain of this mm */
	struct simmm_waitqueue wq;      /* read_begin and remove sleepers */
	struct simmm_mmu_notifier *list;/* legacy subscribers, newest first */
	uint64_t nr_list;
	bool has_itree;
	uint64_t invalidate_seq;        /* even idle, odd invalidating */
	uint64_t active_invalidate_ranges;
	struct simmm_itree itree;
	struct simmm_mmu_interval_notifier *deferred; /* newest first */
	uint64_t nr_deferred;
	struct mn_active *active;       /* active ranges, unordered */
	size_t nr_active, cap_active;
	struct mn_frame *frames;        /* dispatches in flight */
	struct simmm_mmu_notifier *pending_free; /* put, waiting for a grace period */
	uint64_t nr_pending_free;
	uint64_t gen;                   /* start calls, for mn_fail_gen */
	struct simmm_mmu_notifier_mm_info stats; /* counters part only */
};

/* subs.c */
struct simmm_mmu_notifier_subscriptions *simmm__mn_subs_get(struct simmm_mm *mm);
void simmm__mn_frame_push(struct simmm_mmu_notifier_subscriptions *s, struct mn_frame *f,
			  enum mn_frame_kind kind);
void simmm__mn_frame_pop(struct simmm_mmu_notifier_subscriptions *s, struct mn_frame *f);
/* Enter the SRCU read section for @f before walking the legacy list. */
void simmm__mn_frame_srcu(struct simmm_mmu_notifier_subscriptions *s, struct mn_frame *f);
/* Does the current task run a dispatch of kind @kind (0 = any) on @s? */
bool simmm__mn_in_frame(const struct simmm_mmu_notifier_subscriptions *s, enum mn_frame_kind kind);
/* ... on any mm of the machine? */
bool simmm__mn_in_any_frame(simmm_sim *sim, enum mn_frame_kind kind);
/* Record / forget an active range; under s->lock. */
void simmm__mn_active_add(struct simmm_mmu_notifier_subscriptions *s,
			  const struct simmm_mmu_notifier_range *r);
bool simmm__mn_active_del(struct simmm_mmu_notifier_subscriptions *s,
			  const struct simmm_mmu_notifier_range *r, unsigned *flags);
void simmm__mn_trace_range(struct simmm_mmu_notifier_subscriptions *s, uint32_t type,
			   const struct simmm_mmu_notifier_range *r, uint64_t extra);

/* register.c: run free_notifier for put notifiers whose grace period is
 * over (no dispatch in flight on the mm); returns how many. */
int simmm__mn_free_pending(struct simmm_mmu_notifier_subscriptions *s);

/* interval.c: the interval half of a range start / end: records the
 * range as active, calls the overlapping ->invalidate; on -EAGAIN the
 * range has been ended again. */
int simmm__mn_itree_invalidate(struct simmm_mmu_notifier_subscriptions *s,
			       const struct simmm_mmu_notifier_range *r);
/* The end half: forgets the active range matching @r; false if none
 * matched (then nothing else happens). @flags (may be NULL) receives the
 * flags the range was started with. */
bool simmm__mn_itree_inv_end(struct simmm_mmu_notifier_subscriptions *s,
			     const struct simmm_mmu_notifier_range *r, unsigned *flags);
/* register.c: __mmu_notifier_register; @sub NULL registers the tree. */
int simmm__mn_register_locked(struct simmm_mmu_notifier *sub, struct simmm_mm *mm);
struct simmm_itree_node *simmm__mn_node(struct simmm_mmu_interval_notifier *sub);
struct simmm_mmu_interval_notifier *simmm__mn_from_node(struct simmm_itree_node *n);

#endif
