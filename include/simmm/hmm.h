/* SPDX-License-Identifier: MIT */
/**
 * DOC: HMM — hmm_range_fault()
 *
 * A device driver mirrors a range of a process address space: it asks
 * simmm_hmm_range_fault() for the CPU mapping of each page of
 * [start, end), optionally faulting pages in first, and programs its own
 * page table from the answer. The answer is valid until the interval
 * notifier that covers the range is invalidated, which the driver detects
 * with the sequence protocol:
 *
 *   again:
 *     range.notifier_seq = simmm_mmu_interval_read_begin(range.notifier);
 *     simmm_mmap_read_lock(mm);
 *     ret = simmm_hmm_range_fault(&range);
 *     simmm_mmap_read_unlock(mm);
 *     if (ret == -EBUSY) goto again;      (bounded by a timeout)
 *     if (ret) return ret;
 *     lock(driver);
 *     if (simmm_mmu_interval_read_retry(range.notifier, range.notifier_seq)) {
 *             unlock(driver); goto again;
 *     }
 *     program the device from range.hmm_pfns; unlock(driver);
 *
 * simmm_hmm_range_fault_retry() packages that loop (minus the driver's own
 * lock) with a timeout on the scheduler's virtual clock.
 *
 * Entry format (64-bit, as upstream with BITS_PER_LONG == 64): the low bits
 * hold the pfn, the top bits the flags below, and bits 53..57 the CPU
 * mapping order (hmm_pfn_to_map_order()). Every page inside a huge mapping
 * gets identical flags.
 */
#ifndef SIMMM_HMM_H
#define SIMMM_HMM_H

#include <simmm/common.h>
#include <simmm/mmu_notifier.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Output flags. */
#define SIMMM_HMM_PFN_VALID      (1ULL << 63)
#define SIMMM_HMM_PFN_WRITE      (1ULL << 62)
#define SIMMM_HMM_PFN_ERROR      (1ULL << 61)
/* Sticky flags: kept from input to output (HMM_PFN_INOUT_FLAGS). */
#define SIMMM_HMM_PFN_DMA_MAPPED (1ULL << 60)
#define SIMMM_HMM_PFN_P2PDMA     (1ULL << 59)
#define SIMMM_HMM_PFN_P2PDMA_BUS (1ULL << 58)
#define SIMMM_HMM_PFN_INOUT_FLAGS \
	(SIMMM_HMM_PFN_DMA_MAPPED | SIMMM_HMM_PFN_P2PDMA | SIMMM_HMM_PFN_P2PDMA_BUS)
/* The CPU mapping order: (hmm_pfn >> SHIFT) & 0x1F. */
#define SIMMM_HMM_PFN_ORDER_SHIFT 53
#define SIMMM_HMM_PFN_ORDER_MASK  0x1FULL
/* Everything that is not pfn. */
#define SIMMM_HMM_PFN_FLAGS (~((1ULL << SIMMM_HMM_PFN_ORDER_SHIFT) - 1))
/* Input flags. */
#define SIMMM_HMM_PFN_REQ_FAULT  SIMMM_HMM_PFN_VALID
#define SIMMM_HMM_PFN_REQ_WRITE  SIMMM_HMM_PFN_WRITE

/** HMM_RANGE_DEFAULT_TIMEOUT, in (virtual) milliseconds. */
#define SIMMM_HMM_RANGE_DEFAULT_TIMEOUT 1000

struct simmm_mmu_interval_notifier;

/**
 * struct simmm_hmm_range - one hmm_range_fault() request (struct hmm_range).
 * @notifier: the interval notifier covering the range; its mm is walked.
 * @notifier_seq: from simmm_mmu_interval_read_begin().
 * @start, @end: the range, page aligned, end exclusive.
 * @hmm_pfns: one entry per page: input request flags, output pfn + flags.
 * @default_flags: request flags applied to every page.
 * @pfn_flags_mask: which per-page input flags are honoured.
 * @dev_private_owner: device-private pages whose pagemap owner equals this
 *                     are reported (device pfn), never faulted.
 */
struct simmm_hmm_range {
	struct simmm_mmu_interval_notifier *notifier;
	uint64_t notifier_seq;
	uint64_t start;
	uint64_t end;
	uint64_t *hmm_pfns;
	uint64_t default_flags;
	uint64_t pfn_flags_mask;
	void *dev_private_owner;
};

/**
 * simmm_hmm_range_fault() - fill @range->hmm_pfns with the CPU mapping of
 * each page, faulting pages in where the request flags ask for it.
 * @range: the request.
 *
 * Per page, req = (input & pfn_flags_mask) | default_flags. Without
 * REQ_FAULT the page is only read ("snapshot": nothing in the machine
 * changes, not even accessed bits). With REQ_FAULT a missing page, or a
 * read-only one under REQ_WRITE, is faulted in with handle_mm_fault()
 * (FAULT_FLAG_REMOTE), after which the walk resumes at the first page not
 * yet output. Entries before that point are output, the rest still input.
 *
 * Context: the caller holds the mmap lock of @range->notifier->mm for read
 * (simmm_mmap_read_lock()). No page references are taken.
 * Return:
 * 0 on success;
 * -EBUSY: the notifier's sequence moved (the range was invalidated), or a
 *   fault met a migration entry while no scheduler task runs (inside a task
 *   the walk waits for the migration to end and continues, as upstream):
 *   the caller retries from read_begin;
 * -EFAULT: a fault was needed and is impossible: no VMA, a VMA without
 *   VM_READ or with VM_IO/VM_PFNMAP, a special pte, a hwpoison entry or
 *   poison/guard marker, a bad or non-present non-migration PMD, or the
 *   fault failed (VM_FAULT_ERROR);
 * -EPERM: a write fault was needed on a VMA without VM_WRITE;
 * -EINVAL: NULL @range, notifier or hmm_pfns; start/end unaligned, empty
 *   or beyond the user address space; the mmap lock not held (also a
 *   MISUSE report);
 * -ENOMEM: the fault could not allocate.
 */
SIMMM_API int simmm_hmm_range_fault(struct simmm_hmm_range *range);

/**
 * simmm_hmm_range_fault_retry() - the driver loop of the DOC section:
 * read_begin, take the mmap read lock, hmm_range_fault, drop it, and retry
 * on -EBUSY until @timeout_ms of virtual time have passed.
 * @range: the request (notifier_seq is set by this function).
 * @timeout_ms: e.g. SIMMM_HMM_RANGE_DEFAULT_TIMEOUT.
 *
 * On return 0 the caller must still take its own lock and check
 * simmm_mmu_interval_read_retry(range->notifier, range->notifier_seq)
 * before using the result.
 * Context: may sleep; not holding the mmap lock.
 * Return: 0; -EBUSY when the timeout expired; any other error of
 * simmm_hmm_range_fault(); -EINVAL.
 */
SIMMM_API int simmm_hmm_range_fault_retry(struct simmm_hmm_range *range, uint64_t timeout_ms);

/** simmm_hmm_pfn_to_pfn() - the pfn of an output entry. */
static inline uint64_t simmm_hmm_pfn_to_pfn(uint64_t hmm_pfn)
{
	return hmm_pfn & ~SIMMM_HMM_PFN_FLAGS;
}

/** simmm_hmm_pfn_to_map_order() - order of the CPU mapping (0, PMD, PUD, hugetlb). */
static inline unsigned simmm_hmm_pfn_to_map_order(uint64_t hmm_pfn)
{
	return (unsigned)((hmm_pfn >> SIMMM_HMM_PFN_ORDER_SHIFT) & SIMMM_HMM_PFN_ORDER_MASK);
}

/**
 * simmm_hmm_pfn_to_phys() - physical address of an output entry in @sim
 * (hmm_pfn_to_phys()). Return: the address; 0 for a NULL or destroyed @sim.
 */
SIMMM_API uint64_t simmm_hmm_pfn_to_phys(const simmm_sim *sim, uint64_t hmm_pfn);

#ifdef __cplusplus
}
#endif
#endif
