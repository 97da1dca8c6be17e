/* SPDX-License-Identifier: MIT */
/**
 * DOC: mmu notifiers
 *
 * Subscribers are told about every change of an address space's page
 * table: invalidate_range_start() before any entry in the range changes
 * and invalidate_range_end() after, with the event that caused it. Two
 * kinds of subscriber exist, as in the kernel (mm/mmu_notifier.c):
 *
 * - struct simmm_mmu_notifier ("legacy" notifiers, KVM-style): a list of
 *   subscribers per mm, each called for every invalidation of the mm, plus
 *   ->release at exit and the young-bit hooks. Registered with
 *   simmm_mmu_notifier_register() or refcounted with simmm_mmu_notifier_get().
 * - struct simmm_mmu_interval_notifier (mirrors, HMM-style): a subscriber
 *   for one address interval, found through an interval tree (one
 *   invalidation costs O(log n + k) for n notifiers of which k overlap),
 *   with the collision-retry sequence protocol: read_begin / read_retry.
 *
 * The sequence protocol (per mm): invalidate_seq starts at 2; even means
 * idle, odd means an invalidation overlapping some interval notifier is in
 * progress. Starting a range that overlaps a notifier makes the seq odd and
 * hands that odd value to each overlapping notifier's ->invalidate, which
 * stores it with simmm_mmu_interval_set_seq() under the driver's lock.
 * When the last active range ends the seq becomes even again, tree edits
 * queued meanwhile are applied, and read_begin() sleepers wake up.
 *
 * All callbacks run inside an SRCU read section of the mm's notifier
 * domain; unregister waits for them with synchronize_srcu. Callbacks for a
 * non-blockable range (the OOM reaper) run in the scheduler's non-blockable
 * context: anything that sleeps there is a lockdep report.
 *
 * Subscriber structs belong to the caller (embed them, as kernel drivers
 * do). Zero them before the first registration (the kernel drivers'
 * kzalloc); the fields marked private are simmm's.
 */
#ifndef SIMMM_MMU_NOTIFIER_H
#define SIMMM_MMU_NOTIFIER_H

#include <simmm/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct simmm_mm;

/** enum simmm_mmu_notifier_event - why a range is invalidated (kernel order). */
enum simmm_mmu_notifier_event {
	SIMMM_MMU_NOTIFY_UNMAP = 0,      /* munmap, mremap's old range */
	SIMMM_MMU_NOTIFY_CLEAR,          /* madvise, zap, reclaim, swap-out */
	SIMMM_MMU_NOTIFY_PROTECTION_VMA, /* mprotect */
	SIMMM_MMU_NOTIFY_PROTECTION_PAGE,/* write-protect at fork (COW), writeback (mkclean) */
	SIMMM_MMU_NOTIFY_SOFT_DIRTY,     /* clearing soft-dirty */
	SIMMM_MMU_NOTIFY_RELEASE,        /* exit: the whole address space */
	SIMMM_MMU_NOTIFY_MIGRATE,        /* migrate_vma / device migration (owner set) */
	SIMMM_MMU_NOTIFY_EXCLUSIVE,      /* conversion to device-exclusive (owner set); the
					  * CPU's fault-back is CLEAR, owner NULL (6.15+) */
	SIMMM_MMU_NOTIFY_NR_EVENTS,
};

/** MMU_NOTIFIER_RANGE_BLOCKABLE: the subscriber may sleep. */
#define SIMMM_MMU_NOTIFIER_RANGE_BLOCKABLE (1u << 0)

/**
 * struct simmm_mmu_notifier_range - one invalidation.
 * @mm: the address space.
 * @start, @end: the range, end exclusive.
 * @flags: SIMMM_MMU_NOTIFIER_RANGE_BLOCKABLE or 0 (non-blockable: OOM reaper).
 * @event: why.
 * @owner: for MIGRATE and EXCLUSIVE, the owner the caller passed (a device
 *         driver ignores its own migrations).
 */
struct simmm_mmu_notifier_range {
	struct simmm_mm *mm;
	uint64_t start, end;
	unsigned flags;
	enum simmm_mmu_notifier_event event;
	void *owner;
};

/** simmm_mmu_notifier_range_blockable() - may subscribers sleep? */
static inline bool simmm_mmu_notifier_range_blockable(const struct simmm_mmu_notifier_range *r)
{
	return r->flags & SIMMM_MMU_NOTIFIER_RANGE_BLOCKABLE;
}

/**
 * simmm_mmu_notifier_range_init() - fill a range (mmu_notifier_range_init).
 * @r: the range to fill; nothing happens for NULL.
 * @event: why.
 * @flags: SIMMM_MMU_NOTIFIER_RANGE_BLOCKABLE or 0. The start functions set
 *         or clear the flag themselves, as the kernel's do.
 * @mm: the address space.
 * @start, @end: the range, end exclusive.
 *
 * Context: any.
 */
static inline void simmm_mmu_notifier_range_init(struct simmm_mmu_notifier_range *r,
						 enum simmm_mmu_notifier_event event,
						 unsigned flags, struct simmm_mm *mm,
						 uint64_t start, uint64_t end)
{
	if (!r)
		return;
	r->mm = mm;
	r->start = start;
	r->end = end;
	r->flags = flags;
	r->event = event;
	r->owner = NULL;
}

/**
 * simmm_mmu_notifier_range_init_owner() - as range_init, with @owner
 * (mmu_notifier_range_init_owner; for MIGRATE and EXCLUSIVE).
 * @r: the range to fill; nothing happens for NULL.
 * @event: why.
 * @flags: as for simmm_mmu_notifier_range_init().
 * @mm: the address space.
 * @start, @end: the range, end exclusive.
 * @owner: the owner cookie (a driver's pgmap owner).
 *
 * Context: any.
 */
static inline void simmm_mmu_notifier_range_init_owner(struct simmm_mmu_notifier_range *r,
						       enum simmm_mmu_notifier_event event,
						       unsigned flags, struct simmm_mm *mm,
						       uint64_t start, uint64_t end, void *owner)
{
	simmm_mmu_notifier_range_init(r, event, flags, mm, start, end);
	if (r)
		r->owner = owner;
}

/** simmm_mmu_notifier_event_name() - "UNMAP", "CLEAR", ...; "?" otherwise. */
SIMMM_API const char *simmm_mmu_notifier_event_name(enum simmm_mmu_notifier_event ev);

/* ==================================================================== */
/* Counters                                                             */
/* ==================================================================== */

/**
 * struct simmm_mmu_notifier_counters - what one subscriber was told.
 * @starts: ->invalidate_range_start calls, by event (legacy notifiers).
 * @ends: ->invalidate_range_end calls, by event (legacy notifiers).
 * @invalidates: ->invalidate calls, by event (interval notifiers).
 * @failures: starts that returned an error / invalidates that returned false.
 * @releases: ->release calls.
 * @young: clear_flush_young + clear_young + test_young calls.
 * @secondary_tlbs: ->arch_invalidate_secondary_tlbs calls.
 *
 * Only calls of callbacks the subscriber implements are counted.
 */
struct simmm_mmu_notifier_counters {
	uint64_t starts[SIMMM_MMU_NOTIFY_NR_EVENTS];
	uint64_t ends[SIMMM_MMU_NOTIFY_NR_EVENTS];
	uint64_t invalidates[SIMMM_MMU_NOTIFY_NR_EVENTS];
	uint64_t failures;
	uint64_t releases;
	uint64_t young;
	uint64_t secondary_tlbs;
};

/**
 * struct simmm_mmu_notifier_mm_info - the notifier state of one mm.
 * @invalidate_seq: the interval sequence (2 before any use; odd while an
 *                  invalidation overlapping an interval notifier runs).
 * @active_invalidate_ranges: ranges started and not yet ended.
 * @nr_subscribers: legacy notifiers registered.
 * @nr_interval: interval notifiers in the tree.
 * @nr_deferred: tree inserts/removes waiting for the invalidation to end.
 * @nr_pending_free: put notifiers waiting for the SRCU grace period.
 * @range_starts: successful range starts, by event.
 * @range_ends: range ends, by event.
 * @nonblock_failures: starts that failed with -EAGAIN.
 * @unmatched_ends: ends without a recorded start (started before the mm
 *                  had notifier state: ignored, like the kernel would skip
 *                  them for an mm without notifiers).
 * @releases: exit-time releases (simmm__mmu_notifier_release).
 */
struct simmm_mmu_notifier_mm_info {
	uint64_t invalidate_seq;
	uint64_t active_invalidate_ranges;
	uint64_t nr_subscribers;
	uint64_t nr_interval;
	uint64_t nr_deferred;
	uint64_t nr_pending_free;
	uint64_t range_starts[SIMMM_MMU_NOTIFY_NR_EVENTS];
	uint64_t range_ends[SIMMM_MMU_NOTIFY_NR_EVENTS];
	uint64_t nonblock_failures;
	uint64_t unmatched_ends;
	uint64_t releases;
};

/* ==================================================================== */
/* Legacy notifiers                                                     */
/* ==================================================================== */

struct simmm_mmu_notifier;

/**
 * struct simmm_mmu_notifier_ops - callbacks of a legacy notifier; each may
 * be NULL.
 * @release: the address space is going away (exit), or the notifier is
 *           unregistered while still hashed. Called once.
 * @clear_flush_young: clear the young bits of [start, end) in the
 *           secondary MMU and flush; return nonzero if any was young.
 * @clear_young: the same without flush.
 * @test_young: nonzero if @addr is young in the secondary MMU.
 * @invalidate_range_start: before the CPU page table changes in the
 *           range. Return 0, or -EAGAIN only when the range is not
 *           blockable and the subscriber would have to sleep (anything
 *           else, or -EAGAIN on a blockable range, is a WARN). A subscriber
 *           that can fail must not implement @invalidate_range_end (WARN).
 * @invalidate_range_end: after the change.
 * @arch_invalidate_secondary_tlbs: flush secondary TLBs for [start, end)
 *           (IOMMU SVA). Registering it together with start or end is
 *           refused with -EINVAL, as upstream.
 * @alloc_notifier: for simmm_mmu_notifier_get(): allocate the notifier
 *           (ops is set by the caller); NULL means -ENOMEM, and a
 *           kernel-style ERR_PTR(-errno) value that error.
 * @free_notifier: for simmm_mmu_notifier_put(): free it, after the SRCU
 *           grace period. Runs like an SRCU callback: must not sleep.
 */
struct simmm_mmu_notifier_ops {
	void (*release)(struct simmm_mmu_notifier *sub, struct simmm_mm *mm);
	int (*clear_flush_young)(struct simmm_mmu_notifier *sub, struct simmm_mm *mm,
				 uint64_t start, uint64_t end);
	int (*clear_young)(struct simmm_mmu_notifier *sub, struct simmm_mm *mm, uint64_t start,
			   uint64_t end);
	int (*test_young)(struct simmm_mmu_notifier *sub, struct simmm_mm *mm, uint64_t addr);
	int (*invalidate_range_start)(struct simmm_mmu_notifier *sub,
				      const struct simmm_mmu_notifier_range *range);
	void (*invalidate_range_end)(struct simmm_mmu_notifier *sub,
				     const struct simmm_mmu_notifier_range *range);
	void (*arch_invalidate_secondary_tlbs)(struct simmm_mmu_notifier *sub,
					       struct simmm_mm *mm, uint64_t start, uint64_t end);
	struct simmm_mmu_notifier *(*alloc_notifier)(struct simmm_mm *mm);
	void (*free_notifier)(struct simmm_mmu_notifier *sub);
};

/**
 * struct simmm_mmu_notifier - a legacy subscriber (struct mmu_notifier).
 * @ops: the callbacks (set before registering).
 * @mm: the address space, set by registration.
 * @users: references of the get/put interface (1 after register).
 * @mn_next, @mn_pprev: private: the mm's list (@mn_pprev NULL = unhashed).
 * @mn_free_next: private: the pending-free list after the last put.
 * @mn_registered: private: registered and not yet unregistered / put.
 * @mn_fail_gen: private: the start call in which this subscriber failed.
 * @stats: what it was told (read with simmm_mmu_notifier_counters()).
 */
struct simmm_mmu_notifier {
	const struct simmm_mmu_notifier_ops *ops;
	struct simmm_mm *mm;
	unsigned users;
	struct simmm_mmu_notifier *mn_next, **mn_pprev;
	struct simmm_mmu_notifier *mn_free_next;
	bool mn_registered;
	uint64_t mn_fail_gen;
	struct simmm_mmu_notifier_counters stats;
};

/**
 * simmm_mmu_notifier_register() - subscribe @sub to @mm (mmu_notifier_register).
 * @sub: the notifier, zeroed except @sub->ops.
 * @mm: the address space; the caller holds a user reference (mm_users > 0).
 *
 * Takes the mmap lock for write. The notifier takes an mm_count reference
 * (dropped by unregister or by the final put). New subscribers are called
 * first, as the kernel's hlist_add_head.
 *
 * Context: may sleep; not from a notifier callback.
 * Return: 0; -EINVAL: NULL @sub/@mm/@sub->ops, @mm without users,
 * arch_invalidate_secondary_tlbs together with invalidate_range_start or
 * _end (also a WARN, as upstream); -EBUSY: @sub is already registered;
 * -ENOMEM: the mm's notifier state could not be allocated; the mmap lock's
 * errors (-EPERM when called in atomic context, -EDEADLK).
 */
SIMMM_API int simmm_mmu_notifier_register(struct simmm_mmu_notifier *sub, struct simmm_mm *mm);

/**
 * simmm_mmu_notifier_register_locked() - register with the mmap lock held
 * for write (__mmu_notifier_register).
 * @sub: as for simmm_mmu_notifier_register().
 * @mm: the address space, mmap lock held for write by the caller.
 *
 * Context: mmap lock held for write.
 * Return: as simmm_mmu_notifier_register(); -EPERM (and a MISUSE report)
 * when the caller does not hold the mmap lock for write.
 */
SIMMM_API int simmm_mmu_notifier_register_locked(struct simmm_mmu_notifier *sub,
						 struct simmm_mm *mm);

/**
 * simmm_mmu_notifier_unregister() - unsubscribe (mmu_notifier_unregister).
 * @sub: a notifier registered on @mm.
 * @mm: its address space.
 *
 * If @sub is still on the mm's list (exit has not released it), calls
 * ->release first, as the kernel does. Then waits with synchronize_srcu for
 * every callback in flight, and drops the mm_count reference taken at
 * registration (the mm struct may be freed here).
 *
 * Context: may sleep; not from a notifier callback (that would wait for
 * itself: reported, -EDEADLK).
 * Return: 0; -EINVAL: NULL, @sub not registered, or registered on another
 * mm; -EDEADLK: called from a notifier callback (nothing changes);
 * -EPERM: called in atomic context (nothing changes).
 */
SIMMM_API int simmm_mmu_notifier_unregister(struct simmm_mmu_notifier *sub,
					    struct simmm_mm *mm);

/**
 * simmm_mmu_notifier_get() - the notifier of @ops on @mm, created on first
 * use (mmu_notifier_get): a registered notifier with the same @ops gets one
 * more user; otherwise @ops->alloc_notifier makes one, which is registered.
 * @ops: the callbacks, with alloc_notifier and free_notifier.
 * @mm: the address space (mm_users > 0).
 * @out: receives the notifier.
 *
 * Takes the mmap lock for write. Pair with simmm_mmu_notifier_put().
 *
 * Context: may sleep; not from a notifier callback.
 * Return: 0; -EINVAL: NULL argument, no alloc_notifier or free_notifier,
 * mm without users, the ops mix rejected by register; -ENOMEM:
 * alloc_notifier returned NULL or the mm state could not be allocated
 * (a notifier allocated then is handed to free_notifier); the error an
 * alloc_notifier returned as ERR_PTR; the mmap lock's errors.
 */
SIMMM_API int simmm_mmu_notifier_get(const struct simmm_mmu_notifier_ops *ops,
				     struct simmm_mm *mm, struct simmm_mmu_notifier **out);

/**
 * simmm_mmu_notifier_get_locked() - simmm_mmu_notifier_get() with the mmap
 * lock held for write (mmu_notifier_get_locked).
 * @ops: as for simmm_mmu_notifier_get().
 * @mm: the address space, mmap lock held for write.
 * @out: receives the notifier.
 *
 * Return: as simmm_mmu_notifier_get(); -EPERM (MISUSE report) when the
 * mmap lock is not held for write.
 */
SIMMM_API int simmm_mmu_notifier_get_locked(const struct simmm_mmu_notifier_ops *ops,
					    struct simmm_mm *mm,
					    struct simmm_mmu_notifier **out);

/**
 * simmm_mmu_notifier_put() - drop a user of a notifier from get (mmu_notifier_put).
 * @sub: the notifier.
 *
 * The last put unhooks the notifier (->release is not called) and queues
 * it: after an SRCU grace period ->free_notifier runs and the mm_count
 * reference is dropped. Queued notifiers are freed by
 * simmm_mmu_notifier_synchronize(), by a later get on the same mm, and at
 * exit of the mm, each once no callback of the mm is in flight.
 *
 * Context: any (does not sleep).
 * Return: 0; -EINVAL: NULL, not registered, or @sub has no users (also a
 * WARN, as upstream), or its ops lack free_notifier.
 */
SIMMM_API int simmm_mmu_notifier_put(struct simmm_mmu_notifier *sub);

/**
 * simmm_mmu_notifier_synchronize() - wait for every pending free of @sim's
 * put notifiers (mmu_notifier_synchronize; call before unloading the code
 * of free_notifier, e.g. before destroying the machine).
 * @sim: the machine.
 *
 * Context: may sleep; not from a notifier callback.
 * Return: the number of notifiers freed (>= 0); -EINVAL for NULL @sim;
 * -EDEADLK from a notifier callback; -EPERM in atomic context.
 */
SIMMM_API int simmm_mmu_notifier_synchronize(simmm_sim *sim);

/**
 * simmm_mmu_notifier_counters() - read what @sub was told.
 * @sub: a legacy notifier (registered or not).
 * @out: receives the counters.
 * Return: 0; -EINVAL for NULL.
 */
SIMMM_API int simmm_mmu_notifier_counters(const struct simmm_mmu_notifier *sub,
					  struct simmm_mmu_notifier_counters *out);

/* ==================================================================== */
/* Invalidation entry points (drivers, tests, the OOM reaper)           */
/* ==================================================================== */

/**
 * simmm_mmu_notifier_invalidate_range_start() - notify every subscriber of
 * @range->mm that [start, end) is about to change (blockable: sets
 * SIMMM_MMU_NOTIFIER_RANGE_BLOCKABLE in @range->flags).
 * @range: the range (see simmm_mmu_notifier_range_init()).
 *
 * The page-table code calls this itself; the public entry point is for
 * drivers and tests that model their own page-table changes. Pair with
 * simmm_mmu_notifier_invalidate_range_end() with the same range values.
 *
 * Context: may sleep (subscribers may).
 * Return: 0 (a blockable start cannot fail; a subscriber's error is a WARN
 * and ignored); -EINVAL: NULL @range or mm, start >= end, unknown event.
 */
SIMMM_API int simmm_mmu_notifier_invalidate_range_start(struct simmm_mmu_notifier_range *range);

/**
 * simmm_mmu_notifier_invalidate_range_start_nonblock() - non-blockable
 * start (mmu_notifier_invalidate_range_start_nonblock; the OOM reaper).
 * @range: the range; SIMMM_MMU_NOTIFIER_RANGE_BLOCKABLE is cleared.
 *
 * Subscribers run in the scheduler's non-blockable context. One that would
 * have to sleep returns -EAGAIN (legacy) or false (interval). Then the
 * start fails: every legacy subscriber whose start succeeded gets its
 * ->invalidate_range_end now, the interval part is ended, and the caller
 * must NOT call invalidate_range_end.
 *
 * Context: any (does not sleep).
 * Return: 0 (then call _end); -EAGAIN (do not call _end); -EINVAL as for
 * the blockable start.
 */
SIMMM_API int simmm_mmu_notifier_invalidate_range_start_nonblock(
	struct simmm_mmu_notifier_range *range);

/**
 * simmm_mmu_notifier_invalidate_range_end() - the change is done.
 * @range: the range given to a successful start (same values).
 *
 * Context: as the start.
 * Return: 0; -EINVAL: NULL @range or mm, start >= end, unknown event.
 */
SIMMM_API int simmm_mmu_notifier_invalidate_range_end(struct simmm_mmu_notifier_range *range);

/**
 * simmm_mmu_notifier_arch_invalidate_secondary_tlbs() - call every
 * subscriber's arch_invalidate_secondary_tlbs for [start, end)
 * (mmu_notifier_arch_invalidate_secondary_tlbs: after a CPU TLB flush).
 * @mm: the address space.
 * @start, @end: the range, end exclusive.
 *
 * Context: any; subscribers must not sleep.
 * Return: 0; -EINVAL for a bad @mm or start >= end.
 */
SIMMM_API int simmm_mmu_notifier_arch_invalidate_secondary_tlbs(struct simmm_mm *mm,
								uint64_t start, uint64_t end);

/**
 * simmm_mmu_notifier_range_in_progress() - is some part of [start, end) of
 * @mm being invalidated right now (started and not yet ended)?
 * @mm: the address space.
 * @start, @end: the range, end exclusive.
 *
 * Answers from the mm's list of active ranges, which exists once the mm has
 * notifier state (the first registration); an mm without subscribers has
 * nobody to ask and answers 0.
 *
 * Context: any.
 * Return: 1 if an active range overlaps; 0 if none does; -EINVAL for a bad
 * @mm or start >= end.
 */
SIMMM_API int simmm_mmu_notifier_range_in_progress(struct simmm_mm *mm, uint64_t start,
						   uint64_t end);

/**
 * simmm_mmu_notifier_mm_info() - the notifier state of @mm.
 * @mm: the address space.
 * @out: receives the state (all zero except invalidate_seq = 2 when the mm
 *       has no notifier state yet).
 * Return: 0; -EINVAL for a bad @mm or NULL @out.
 */
SIMMM_API int simmm_mmu_notifier_mm_info(struct simmm_mm *mm,
					 struct simmm_mmu_notifier_mm_info *out);

/* ==================================================================== */
/* Interval notifiers                                                   */
/* ==================================================================== */

struct simmm_mmu_interval_notifier;

/**
 * struct simmm_mmu_interval_notifier_ops - callbacks of an interval notifier.
 * @invalidate: [range->start, range->end) overlapping the notifier is
 *   being invalidated. Under the driver lock that read_retry uses, call
 *   simmm_mmu_interval_set_seq(sub, cur_seq) and drop the mirrored
 *   translations. Return true; false only when the range is not blockable
 *   and the driver would have to sleep (the start then fails with
 *   -EAGAIN). false on a blockable range is a WARN and is ignored.
 */
struct simmm_mmu_interval_notifier_ops {
	bool (*invalidate)(struct simmm_mmu_interval_notifier *sub,
			   const struct simmm_mmu_notifier_range *range, uint64_t cur_seq);
};

/**
 * struct simmm_mmu_interval_notifier - a subscriber for one interval
 * (struct mmu_interval_notifier).
 * @mn_node: private: interval tree node storage; first, so that a lookup
 *           touches one cache line per tree level.
 * @ops: the callbacks, set by insert.
 * @mm: the address space, set by insert.
 * @invalidate_seq: the notifier's sequence (odd values only), read by
 *                  read_begin/read_retry, written by set_seq.
 * @mn_deferred_next, @mn_deferred_pprev: private: deferred tree edit queue.
 * @mn_in_tree: private: linked in the interval tree.
 * @mn_inserted: private: between insert and remove.
 * @stats: what it was told (simmm_mmu_interval_notifier_counters()).
 */
struct simmm_mmu_interval_notifier {
	struct {
		_Alignas(8) unsigned char bytes[56];
	} mn_node;
	const struct simmm_mmu_interval_notifier_ops *ops;
	struct simmm_mm *mm;
	uint64_t invalidate_seq;
	struct simmm_mmu_interval_notifier *mn_deferred_next, **mn_deferred_pprev;
	bool mn_in_tree;
	bool mn_inserted;
	struct simmm_mmu_notifier_counters stats;
};

/**
 * simmm_mmu_interval_notifier_insert() - watch [start, start + length) of
 * @mm (mmu_interval_notifier_insert).
 * @sub: the notifier (zeroed, or removed before).
 * @mm: the address space; the caller holds a user reference.
 * @start: the first address.
 * @length: bytes, > 0; start + length - 1 must not overflow.
 * @ops: the callbacks (with @invalidate).
 *
 * Takes an mm_count reference (dropped by remove). The first insert on an
 * mm registers the tree, taking the mmap lock for write. If an
 * invalidation is in progress the notifier starts out "being invalidated"
 * (its seq equals the mm's odd seq) so that read_begin waits for the end;
 * the tree edit is deferred to the end if the seq is odd. When idle its seq
 * is the mm's seq - 1.
 *
 * Context: may sleep (the first insert on an mm); not from a callback.
 * Return: 0; -EINVAL: NULL @sub/@mm/@ops/@ops->invalidate, @mm without
 * users (WARN-free: checked first); -EBUSY: @sub already inserted;
 * -EOVERFLOW: @length 0 or the interval overflows; -ENOMEM; the mmap
 * lock's errors.
 */
SIMMM_API int simmm_mmu_interval_notifier_insert(struct simmm_mmu_interval_notifier *sub,
						 struct simmm_mm *mm, uint64_t start,
						 uint64_t length,
						 const struct simmm_mmu_interval_notifier_ops *ops);

/**
 * simmm_mmu_interval_notifier_insert_locked() - insert with the mmap lock
 * held for write (mmu_interval_notifier_insert_locked).
 * @sub, @mm, @start, @length, @ops: as for the insert.
 *
 * Return: as simmm_mmu_interval_notifier_insert(); -EPERM (MISUSE report)
 * when the mmap lock is not held for write.
 */
SIMMM_API int simmm_mmu_interval_notifier_insert_locked(
	struct simmm_mmu_interval_notifier *sub, struct simmm_mm *mm, uint64_t start,
	uint64_t length, const struct simmm_mmu_interval_notifier_ops *ops);

/**
 * simmm_mmu_interval_notifier_remove() - stop watching
 * (mmu_interval_notifier_remove).
 * @sub: an inserted notifier.
 *
 * When idle the notifier leaves the tree at once. During an invalidation
 * (odd seq): a still-deferred insert is simply cancelled; otherwise the
 * removal is queued and the call sleeps until the seq changes, so that no
 * callback can run on @sub after return. Drops the mm_count reference of
 * the insert (the mm struct may be freed here).
 *
 * Context: may sleep. Not from a notifier callback: that would wait for
 * the invalidation it is part of; simmm reports it (LOCKDEP) and refuses.
 * Return: 0; -EINVAL: NULL or not inserted; -EDEADLK: called from a
 * notifier callback (nothing changes); -EPERM: atomic context (nothing
 * changes).
 */
SIMMM_API int simmm_mmu_interval_notifier_remove(struct simmm_mmu_interval_notifier *sub);

/**
 * simmm_mmu_interval_read_begin() - begin a read side critical section
 * (mmu_interval_read_begin).
 * @sub: an inserted notifier.
 *
 * If an invalidation of the notifier is in progress (its seq equals the
 * mm's seq), sleeps on the mm's wait queue until the seq changes. Returns
 * the notifier's seq to pass to read_retry / check_retry.
 *
 * Context: may sleep; not from a notifier callback.
 * Return: the seq (odd). If the wait fails (atomic context, or a deadlock
 * outside a scheduler run; both reported), or for a bad @sub, an even value
 * that never matches: read_retry then always asks to retry.
 */
SIMMM_API uint64_t simmm_mmu_interval_read_begin(struct simmm_mmu_interval_notifier *sub);

/**
 * simmm_mmu_interval_read_retry() - must the read side retry?
 * (mmu_interval_read_retry; call under the lock the driver's invalidate
 * takes, before publishing translations).
 * @sub: the notifier.
 * @seq: the value read_begin returned.
 * Context: any.
 * Return: true if an invalidation started since read_begin (or @sub is
 * NULL); false otherwise.
 */
SIMMM_API bool simmm_mmu_interval_read_retry(const struct simmm_mmu_interval_notifier *sub,
					     uint64_t seq);

/**
 * simmm_mmu_interval_check_retry() - the same test without the driver lock
 * (mmu_interval_check_retry): an early-out hint only.
 * @sub: the notifier.
 * @seq: the value read_begin returned.
 * Return: as read_retry.
 */
SIMMM_API bool simmm_mmu_interval_check_retry(const struct simmm_mmu_interval_notifier *sub,
					      uint64_t seq);

/**
 * simmm_mmu_interval_set_seq() - record the invalidation (mmu_interval_set_seq).
 * @sub: the notifier.
 * @cur_seq: the value passed to ->invalidate.
 *
 * Context: from ->invalidate, under the driver lock read_retry uses.
 */
SIMMM_API void simmm_mmu_interval_set_seq(struct simmm_mmu_interval_notifier *sub,
					  uint64_t cur_seq);

/**
 * simmm_mmu_interval_notifier_range() - the interval of @sub.
 * @sub: the notifier.
 * @start: receives the first address (may be NULL).
 * @last: receives the last address, inclusive (may be NULL).
 * Return: 0; -EINVAL for NULL @sub or a notifier never inserted.
 */
SIMMM_API int simmm_mmu_interval_notifier_range(const struct simmm_mmu_interval_notifier *sub,
						uint64_t *start, uint64_t *last);

/**
 * simmm_mmu_interval_notifier_counters() - read what @sub was told.
 * @sub: an interval notifier.
 * @out: receives the counters.
 * Return: 0; -EINVAL for NULL.
 */
SIMMM_API int simmm_mmu_interval_notifier_counters(const struct simmm_mmu_interval_notifier *sub,
						   struct simmm_mmu_notifier_counters *out);

/* ==================================================================== */
/* Trace events (SIMMM_EV_NOTIFIER_BASE + n)                            */
/* ==================================================================== */

/**
 * enum simmm_notifier_trace_type - notifier trace events.
 *
 * For the range events addr = range start, pfn = mm id, arg0 = range end,
 * arg1 = event | (blockable << 8).
 */
enum simmm_notifier_trace_type {
	SIMMM_EV_MN_START = 0x50,       /* range start (0x50 = SIMMM_EV_NOTIFIER_BASE) */
	SIMMM_EV_MN_END,                /* range end */
	SIMMM_EV_MN_START_FAIL,         /* non-blockable start failed (-EAGAIN) */
	SIMMM_EV_MN_INVALIDATE,         /* one interval ->invalidate; arg1 |= cur_seq << 16 */
	SIMMM_EV_MN_RELEASE,            /* exit release; addr 0, arg0 = subscribers */
	SIMMM_EV_MN_READ_BEGIN_WAIT,    /* read_begin sleeps; addr = notifier start, arg0 = seq */
	SIMMM_EV_MN_REGISTER,           /* legacy register; arg0 = users */
	SIMMM_EV_MN_UNREGISTER,         /* legacy unregister / final put */
	SIMMM_EV_MN_INSERT,             /* interval insert; addr = start, arg0 = last, arg1 = deferred */
	SIMMM_EV_MN_REMOVE,             /* interval remove; addr = start, arg0 = last, arg1 = waited */
};

/** simmm_mmu_notifier_trace_name() - "mn_start", ...; NULL for other types. */
SIMMM_API const char *simmm_mmu_notifier_trace_name(uint32_t type);

#ifdef __cplusplus
}
#endif
#endif
