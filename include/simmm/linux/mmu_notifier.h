/* SPDX-License-Identifier: MIT */
/**
 * DOC: kernel-named mmu_notifier aliases (opt-in)
 *
 * For driver code written against <linux/mmu_notifier.h>: struct tags,
 * constants and functions under their kernel names. Struct names are
 * macros (struct mmu_notifier is struct simmm_mmu_notifier), so a driver's
 * callbacks with kernel signatures fit the simmm ops directly. Addresses
 * and sequence numbers are uint64_t, which is unsigned long on LP64 hosts.
 *
 * Functions that return ERR_PTR() in the kernel do so here too; ERR_PTR,
 * PTR_ERR and IS_ERR are defined unless the includer has them already.
 */
#ifndef SIMMM_LINUX_MMU_NOTIFIER_H
#define SIMMM_LINUX_MMU_NOTIFIER_H

#include <stdint.h>

#include <simmm/mm.h>
#include <simmm/mmu_notifier.h>

#ifndef mm_struct
#define mm_struct simmm_mm
#endif
#define mmu_notifier simmm_mmu_notifier
#define mmu_notifier_ops simmm_mmu_notifier_ops
#define mmu_notifier_range simmm_mmu_notifier_range
#define mmu_notifier_event simmm_mmu_notifier_event
#define mmu_interval_notifier simmm_mmu_interval_notifier
#define mmu_interval_notifier_ops simmm_mmu_interval_notifier_ops

#define MMU_NOTIFY_UNMAP            SIMMM_MMU_NOTIFY_UNMAP
#define MMU_NOTIFY_CLEAR            SIMMM_MMU_NOTIFY_CLEAR
#define MMU_NOTIFY_PROTECTION_VMA   SIMMM_MMU_NOTIFY_PROTECTION_VMA
#define MMU_NOTIFY_PROTECTION_PAGE  SIMMM_MMU_NOTIFY_PROTECTION_PAGE
#define MMU_NOTIFY_SOFT_DIRTY       SIMMM_MMU_NOTIFY_SOFT_DIRTY
#define MMU_NOTIFY_RELEASE          SIMMM_MMU_NOTIFY_RELEASE
#define MMU_NOTIFY_MIGRATE          SIMMM_MMU_NOTIFY_MIGRATE
#define MMU_NOTIFY_EXCLUSIVE        SIMMM_MMU_NOTIFY_EXCLUSIVE
#define MMU_NOTIFIER_RANGE_BLOCKABLE SIMMM_MMU_NOTIFIER_RANGE_BLOCKABLE

#ifndef ERR_PTR
#define MAX_ERRNO 4095
static inline void *ERR_PTR(long error) { return (void *)(intptr_t)error; }
static inline long PTR_ERR(const void *ptr) { return (long)(intptr_t)ptr; }
static inline bool IS_ERR(const void *ptr) { return (uintptr_t)ptr >= (uintptr_t)-MAX_ERRNO; }
#define ERR_PTR ERR_PTR
#endif

/* ---- ranges ---- */

static inline bool mmu_notifier_range_blockable(const struct mmu_notifier_range *r)
{
	return simmm_mmu_notifier_range_blockable(r);
}

static inline void mmu_notifier_range_init(struct mmu_notifier_range *r,
					   enum mmu_notifier_event event, unsigned flags,
					   struct mm_struct *mm, unsigned long start,
					   unsigned long end)
{
	simmm_mmu_notifier_range_init(r, event, flags, mm, start, end);
}

static inline void mmu_notifier_range_init_owner(struct mmu_notifier_range *r,
						 enum mmu_notifier_event event, unsigned flags,
						 struct mm_struct *mm, unsigned long start,
						 unsigned long end, void *owner)
{
	simmm_mmu_notifier_range_init_owner(r, event, flags, mm, start, end, owner);
}

static inline void mmu_notifier_invalidate_range_start(struct mmu_notifier_range *r)
{
	(void)simmm_mmu_notifier_invalidate_range_start(r);
}

static inline int mmu_notifier_invalidate_range_start_nonblock(struct mmu_notifier_range *r)
{
	return simmm_mmu_notifier_invalidate_range_start_nonblock(r);
}

static inline void mmu_notifier_invalidate_range_end(struct mmu_notifier_range *r)
{
	(void)simmm_mmu_notifier_invalidate_range_end(r);
}

static inline void mmu_notifier_arch_invalidate_secondary_tlbs(struct mm_struct *mm,
							       unsigned long start,
							       unsigned long end)
{
	(void)simmm_mmu_notifier_arch_invalidate_secondary_tlbs(mm, start, end);
}

/* ---- legacy notifiers ---- */

static inline int mmu_notifier_register(struct mmu_notifier *sub, struct mm_struct *mm)
{
	return simmm_mmu_notifier_register(sub, mm);
}

static inline int __mmu_notifier_register(struct mmu_notifier *sub, struct mm_struct *mm)
{
	return simmm_mmu_notifier_register_locked(sub, mm);
}

static inline void mmu_notifier_unregister(struct mmu_notifier *sub, struct mm_struct *mm)
{
	(void)simmm_mmu_notifier_unregister(sub, mm);
}

static inline struct mmu_notifier *mmu_notifier_get_locked(const struct mmu_notifier_ops *ops,
							   struct mm_struct *mm)
{
	struct mmu_notifier *sub;
	int err = simmm_mmu_notifier_get_locked(ops, mm, &sub);

	return err ? (struct mmu_notifier *)ERR_PTR(err) : sub;
}

static inline struct mmu_notifier *mmu_notifier_get(const struct mmu_notifier_ops *ops,
						    struct mm_struct *mm)
{
	struct mmu_notifier *sub;
	int err = simmm_mmu_notifier_get(ops, mm, &sub);

	return err ? (struct mmu_notifier *)ERR_PTR(err) : sub;
}

static inline void mmu_notifier_put(struct mmu_notifier *sub)
{
	(void)simmm_mmu_notifier_put(sub);
}

static inline void mmu_notifier_synchronize(simmm_sim *sim)
{
	(void)simmm_mmu_notifier_synchronize(sim);
}

/* ---- interval notifiers ---- */

static inline int mmu_interval_notifier_insert(struct mmu_interval_notifier *sub,
					       struct mm_struct *mm, unsigned long start,
					       unsigned long length,
					       const struct mmu_interval_notifier_ops *ops)
{
	return simmm_mmu_interval_notifier_insert(sub, mm, start, length, ops);
}

static inline int mmu_interval_notifier_insert_locked(struct mmu_interval_notifier *sub,
						      struct mm_struct *mm, unsigned long start,
						      unsigned long length,
						      const struct mmu_interval_notifier_ops *ops)
{
	return simmm_mmu_interval_notifier_insert_locked(sub, mm, start, length, ops);
}

static inline void mmu_interval_notifier_remove(struct mmu_interval_notifier *sub)
{
	(void)simmm_mmu_interval_notifier_remove(sub);
}

static inline unsigned long mmu_interval_read_begin(struct mmu_interval_notifier *sub)
{
	return (unsigned long)simmm_mmu_interval_read_begin(sub);
}

static inline bool mmu_interval_read_retry(struct mmu_interval_notifier *sub, unsigned long seq)
{
	return simmm_mmu_interval_read_retry(sub, seq);
}

static inline bool mmu_interval_check_retry(struct mmu_interval_notifier *sub, unsigned long seq)
{
	return simmm_mmu_interval_check_retry(sub, seq);
}

static inline void mmu_interval_set_seq(struct mmu_interval_notifier *sub, unsigned long cur_seq)
{
	simmm_mmu_interval_set_seq(sub, cur_seq);
}

#endif
