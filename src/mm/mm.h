/* SPDX-License-Identifier: MIT */
/*
 * Address-space internals shared by the files of src/mm/ and by the layers
 * above (notifier, hmm, migrate, device).
 *
 * Files (one concept each):
 *   mm.c       mm lifetimes, the mmap lock, stats, the mm checker
 *   vma.c      VMA tree, lookup, split/merge, placement (get_unmapped_area)
 *   mmap.c     mmap, munmap, mremap, exit_mmap
 *   change.c   the one "change a range" path: notifier bracketing + zap;
 *              mprotect and the madvise syscall
 *   madvise.c  MADV_FREE, MADV_COLD, MADV_PAGEOUT page-table walks,
 *              MADV_WILLNEED, MADV_GUARD_INSTALL / MADV_GUARD_REMOVE
 *   fault.c    handle_mm_fault: anon, zero page, COW/reuse, file, shmem,
 *              swap-in, migration wait, device-private, device-exclusive
 *   fault_around.c do_fault_around / filemap_map_pages for read faults
 *   access.c   simmm_mm_access (CPU load/store/fetch)
 *   fork.c     dup_mmap / copy_page_range / copy_nonpresent_pte
 *   huge.c     THP (fault, split, collapse, huge zero page), hugetlb
 *   rmap.c     anon_vma, mapcounts, rmap walks, try_to_unmap, referenced
 *   file.c     files, page cache, backing store, shmem
 *   truncate.c ftruncate, hole punch (MADV_REMOVE), unmap_mapping_range()
 *   swap.c     swap device, swap cache, swap counts
 *   reclaim.c  LRU and reclaim
 *   mlock.c    mlock/mlock2/munlock/mlockall/munlockall, mlocked folios
 *   gup.c      get/pin_user_pages
 *   softdirty.c clear_refs soft-dirty (the SOFT_DIRTY notifier event)
 *
 * Invariants (checked by the mm checker):
 *  - VMAs are page aligned, non-empty, non-overlapping, inside the user VA
 *    range; the tree count matches; file VMAs are in their file's i_mmap.
 *  - A folio naming a file is in that file's page cache at its index;
 *    unless the file's i_rwsem is held, no page-cache folio and no pte of
 *    a (non-hugetlb) file VMA maps a page of its file at or past EOF.
 *  - Every present leaf maps a frame whose mapcount counts it (PTE: the
 *    page's mapcount; PMD/PUD leaf: the folio's entire mapcount) and each
 *    mapping holds one folio reference; special/pfnmap entries excepted.
 *  - No entry exists outside a VMA.
 *  - A swap entry's slot has a swap count covering every entry and swap
 *    cache reference to it.
 *  - rss counters equal what the page table maps.
 *  - VM_LOCKONFAULT only with VM_LOCKED, neither on a VM_SPECIAL or hugetlb
 *    VMA; locked_vm = the pages of VM_LOCKED VMAs + locked_vm_stale.
 *  - A folio on the unevictable list counts no more mlocks (mlock_count)
 *    than VM_LOCKED VMAs map it (upstream's count may fall short: an
 *    isolated folio's mlock is not counted, and a munlock of any mapping
 *    of it counts down; reclaim mlocks it again when it meets the VMA),
 *    unless a munlock skipped its device-exclusive entry or
 *    MREMAP_DONTUNMAP unlocked a VMA mapping it (PG_mlock_missed: then the
 *    count may be too high, as upstream's, until freed).
 *
 * Accounting contract (everything that changes entries follows it):
 *  - A present non-special entry holds one folio reference and one
 *    mapcount (PTE: page->mapcount; PMD/PUD leaf: the entire mapcount in
 *    head[1].u.pincount). Special entries (zero page, PFNMAP) hold neither.
 *  - Device-private and device-exclusive entries hold a reference and a
 *    mapcount like a present entry (the folio stays mapped).
 *  - Migration entries hold neither (try_to_migrate dropped them) but, as
 *    in the kernel, still count in rss; real swap entries count in
 *    swap_ents and hold a swap count.
 *  - rss counts present non-special entries and pfn-carrying swap entries
 *    by the folio's type (simmm__mm_counter()), in pages (a PMD leaf counts
 *    its pages); hugetlb mappings are not counted (HugetlbPages, not rss).
 *  - The last reference of an LRU folio is dropped with
 *    simmm__put_user_folio() so that it leaves the LRU first.
 */
#ifndef SIMMM_MM_MM_H
#define SIMMM_MM_MM_H

#include <simmm/mm.h>
#include <simmm/pgtable.h>
#include <simmm/sched.h>

#include "core/internal.h"
#include "core/itree.h"
#include "page/page.h"

struct simmm_mmu_notifier_subscriptions; /* src/notifier */
struct simmm_anon_vma;

/**
 * struct simmm_vma - a VMA (vm_area_struct).
 * @node: in mm->vmas, interval [vm_start, vm_end - 1].
 * @file_node: in file->i_mmap, interval [vm_pgoff, vm_pgoff + pages - 1].
 * @vm_pgoff: for file VMAs the file offset in pages; for anonymous VMAs
 *            the kernel's "linear index" base (vm_start >> PAGE_SHIFT at
 *            creation, preserved by mremap) so anon rmap can compute
 *            addresses: addr = vm_start + ((index - vm_pgoff) << shift).
 * @anon_vma: the anon_vma of the fork family (NULL until the first
 *            anonymous page); every VMA of the family is in its tree.
 * @anon_node: in anon_vma->vmas (by pgoff range like @file_node).
 * @hugetlb_order: the huge page order of a VM_HUGETLB VMA.
 * @vm_private: a driver's vm_private_data.
 */
struct simmm_vma {
	struct simmm_itree_node node;
	struct simmm_itree_node file_node;
	struct simmm_itree_node anon_node;
	struct simmm_mm *mm;
	simmm_addr_t vm_start, vm_end;
	uint64_t vm_flags;
	uint64_t vm_pgoff;
	struct simmm_file *file;
	struct simmm_anon_vma *anon_vma;
	unsigned hugetlb_order;
	void *vm_private;
};

/**
 * struct simmm_anon_vma - the reverse map of anonymous pages. simmm keeps
 * one per fork family (the kernel's anon_vma root): an anonymous folio's
 * mapping points at it, and its tree holds every VMA that may map the
 * folio. Walks check each candidate PTE, as page_vma_mapped_walk() does.
 * @rwsem: the kernel's anon_vma->root->rwsem. Held for write to add or
 *         remove a VMA of @vmas (vma.c), for read by every walk of @vmas
 *         (rmap.c, migrate/rmap.c), so a walker's VMAs cannot be unlinked
 *         and freed under it while it sleeps (notifier brackets).
 * @refcount: VMAs in @vmas plus pins: a walker between reading
 *         folio->mapping and unlocking, a migration source
 *         (PG_migrate_pin). Folios do not pin it: as in
 *         folio_lock_anon_vma_read(), a walker only follows folio->mapping
 *         while the folio is mapped (then a VMA of the family keeps it
 *         alive) and pins it before it may sleep on @rwsem.
 */
struct simmm_anon_vma {
	struct simmm_rwsem rwsem;
	struct simmm_itree vmas;
	int refcount;
};

/** struct simmm_file - a file (inode + address_space). */
struct simmm_file {
	simmm_sim *sim;
	uint32_t magic;        /* SIMMM_FILE_MAGIC while alive */
	bool creator_ref;      /* the creator's reference is still held */
	int refcount;          /* creator + VMAs (cached folios do not pin it) */
	unsigned flags;        /* SIMMM_FILE_* */
	uint64_t size;         /* bytes */
	uint64_t *cache;       /* index -> page cache slot: 0 empty, a folio's
				* pfn + 1, or a shadow entry (see file.c) */
	uint64_t cache_cap;    /* slots */
	uint8_t **store;       /* backing store: index -> written-back data */
	uint64_t store_cap;
	struct simmm_itree i_mmap;
	struct simmm_rwsem i_mmap_rwsem; /* i_mmap: write to link/unlink, read to walk */
	uint64_t nrpages;
	uint64_t nr_written;   /* pages written back to the store */
	int wb_err;            /* mapping_set_error(): the next fsync's error */
	/* inode->i_rwsem: held for write by truncation, hole punching and
	 * write(2) (truncate.c, file.c); taken before mmap locks and folio
	 * locks, never under them. While it is held the EOF invariants
	 * (mm_check.c) are not checked: a truncation's page cache and page
	 * tables lag its new i_size until truncate_pagecache() returns, and
	 * a write's folio precedes the i_size it extends. */
	struct simmm_rwsem i_rwsem;
};

/* The page index of @file's end (DIV_ROUND_UP(i_size, PAGE_SIZE): the
 * max_idx of filemap_fault()): pages at or beyond it are past EOF. */
static inline uint64_t simmm__file_eof_index(const struct simmm_file *file)
{
	return (file->size + file->sim->page_size - 1) >> file->sim->geo.page_shift;
}

#define SIMMM_FILE_MAGIC 0x46494c45u /* "FILE" */

/* A shadow entry (src/mm/workingset.c): what reclaim leaves in the
 * page-cache or swap-cache slot of a folio it evicted (workingset_eviction()
 * packs the eviction timestamp and PG_workingset), tagged with bit 63 as
 * the kernel's xa_mk_value() tags it, so that a page-cache slot tells it
 * from a folio's pfn + 1, and 0 stays "nothing". */
#define SIMMM_SHADOW_TAG (1ULL << 63)

static inline bool simmm__is_shadow(uint64_t slot)
{
	return (slot & SIMMM_SHADOW_TAG) != 0;
}

/** struct simmm_mm - mm_struct. */
struct simmm_mm {
	simmm_sim *sim;
	uint32_t magic;
	int mm_users;
	int mm_count;
	struct simmm_rwsem mmap_lock;
	struct simmm_spinlock page_table_lock; /* one PTL per mm (!SPLIT_PTLOCKS) */
	struct simmm_pgtable *pgt;
	struct simmm_itree vmas;
	simmm_addr_t mmap_base;     /* top of the mmap area */
	struct simmm_mm_stats stats;
	struct simmm_mmu_notifier_subscriptions *notifier_subscriptions;
	struct simmm_mm *next, *prev; /* in the machine's list of mms */
	uint64_t id;                  /* 1, 2, ... per machine, for traces */
	/* MMF_HAS_PINNED: a FOLL_PIN GUP was started on this mm. Sticky for
	 * the mm's life and not inherited by fork (not in MMF_INIT_MASK). */
	bool has_pinned;
	/* mlock (mlock.c). @def_flags: VM_LOCKED[|VM_LOCKONFAULT] that new
	 * mappings get after mlockall(MCL_FUTURE) (the only def_flags bits
	 * simmm models). @locked_vm: pages charged for VM_LOCKED VMAs; it
	 * equals their size plus @locked_vm_stale, the pages an
	 * MREMAP_DONTUNMAP move left charged after unlocking the old range
	 * (upstream's dontunmap_complete() does not uncharge them either).
	 * @memlock_limit: RLIMIT_MEMLOCK in bytes; @cap_ipc_lock: the
	 * process has CAP_IPC_LOCK. The last two are process attributes
	 * that simmm keeps per mm; fork copies them. */
	uint64_t def_flags;
	uint64_t locked_vm, locked_vm_stale;
	uint64_t memlock_limit;
	bool cap_ipc_lock;
	bool cap_sys_admin; /* MADV_HWPOISON */
	bool cap_sys_nice;  /* process_madvise() of another process */
};

/* Per-machine mm state, hung off sim via a finaliser-owned object. */
struct simmm_mm_global {
	struct simmm_mm *mms;          /* list of live mms */
	uint64_t next_id;
	enum simmm_thp_policy thp;
	bool auto_reclaim;
	simmm_pfn_t huge_zero_pfn;     /* 0 = not allocated yet */
	struct simmm_swap *swap;       /* swap.c */
	struct simmm_lru *lru;         /* reclaim.c */
	struct simmm_deferred_split *ds; /* deferred_split.c; NULL until used */
	struct simmm_waitqueue migration_wq; /* migration-entry waiters */
	struct simmm_mutex mf_mutex;   /* memory_failure.c: one failure at a time */
	struct simmm_mf_stats mf;      /* its results (poisoned: see page.h) */
	bool hw_memory_failure;        /* a failure without MF_SW_SIMULATED was seen */
	uint64_t fault_around_pages;   /* fault_around.c; 0 = the default */
};

/* The machine's mm state, created on first use (NULL on -ENOMEM); freed by
 * a finaliser that reports (and frees) mms still alive at destroy. */
struct simmm_mm_global *simmm__mm_global(simmm_sim *sim);

#define SIMMM_MM_MAGIC 0x4d4d4d53u /* "SMMM" */
static SIMMM_ALWAYS_INLINE bool simmm__mm_ok(const struct simmm_mm *mm)
{
	return mm && mm->magic == SIMMM_MM_MAGIC && simmm__sim_ok(mm->sim);
}
static inline unsigned simmm__page_shift(const struct simmm_mm *mm)
{
	return mm->sim->geo.page_shift;
}
static inline uint64_t simmm__vma_pages(const struct simmm_vma *vma)
{
	return (vma->vm_end - vma->vm_start) >> simmm__page_shift(vma->mm);
}
/* is_cow_mapping(): private and possibly writable. */
static inline bool simmm__is_cow_mapping(uint64_t vm_flags)
{
	return (vm_flags & (SIMMM_VM_SHARED | SIMMM_VM_MAYWRITE)) == SIMMM_VM_MAYWRITE;
}

/* ---- fault_around.c -------------------------------------------------------------
 * do_fault_around() / filemap_map_pages() for a read fault on a missing pte
 * of a file or shmem VMA at page-aligned @addr (its pte table allocated):
 * maps the cached, uptodate, unlocked pages of the window around @addr
 * where the pte is none. No scheduling point. Return: VM_FAULT_NOPAGE when
 * the page at @addr itself was mapped, else 0. */
unsigned simmm__do_fault_around(struct simmm_vma *vma, simmm_addr_t addr);

/* ---- vm_fault ----------------------------------------------------------------
 * struct simmm_vm_fault is public (drivers' migrate_to_ram receives it);
 * declared in <simmm/memremap.h>. */
struct simmm_vm_fault;

/* ---- mm.c ---------------------------------------------------------------------- */
void simmm__mm_stat_add(struct simmm_mm *mm, int64_t *counter, int64_t delta);
/* mm_counter(): the rss counter of @folio's type (anon, shmem, file). */
int64_t *simmm__mm_counter(struct simmm_mm *mm, const struct simmm_page *folio);
/* add_mm_counter() for @nr pages of @folio mapped in @vma (no-op for
 * hugetlb VMAs, see the accounting contract). */
void simmm__rss_add(struct simmm_mm *mm, struct simmm_vma *vma, const struct simmm_page *folio,
		    int64_t nr);
/* exit_mmap(): release notifiers, unmap everything, free the tables. */
void simmm__exit_mmap(struct simmm_mm *mm);

/* ---- vma.c --------------------------------------------------------------------- */
struct simmm_vma *simmm__vma_lookup(struct simmm_mm *mm, simmm_addr_t addr);  /* containing */
struct simmm_vma *simmm__find_vma(struct simmm_mm *mm, simmm_addr_t addr);    /* first end > addr */
struct simmm_vma *simmm__vma_next(struct simmm_vma *vma);
struct simmm_vma *simmm__vma_prev(struct simmm_vma *vma);
/* Split so that a VMA boundary exists at @addr (0 or -ENOMEM). */
int simmm__vma_split(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t addr);
/* The same, consuming the preallocated *@spare (set to NULL when used). */
int simmm__vma_split_with(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t addr,
			  struct simmm_vma **spare);
/* Change a linked VMA's bounds and offset (re-keys every tree). */
void simmm__vma_set_range(struct simmm_vma *vma, simmm_addr_t start, simmm_addr_t end,
			  uint64_t pgoff);
/* Try merging @vma with its neighbours (same flags, file, contiguous pgoff, anon_vma). */
struct simmm_vma *simmm__vma_merge(struct simmm_mm *mm, struct simmm_vma *vma);
/* Merge @vma with the VMA right after it when they line up (mremap's growth
 * in place, vma_merge_extend()); returns @vma. */
struct simmm_vma *simmm__vma_merge_next(struct simmm_mm *mm, struct simmm_vma *vma);
/* copy_vma() for an mremap move (see vma.c): link the preallocated @nv as
 * the copy of *@vmap's part at @old_addr, at [@addr, @addr + @len), and
 * merge it; never fails. */
struct simmm_vma *simmm__copy_vma(struct simmm_mm *mm, struct simmm_vma **vmap,
				  struct simmm_vma *nv, simmm_addr_t old_addr, simmm_addr_t addr,
				  uint64_t len, bool *need_rmap_locks);
/* Find a free range of @len (aligned to @align) below mmap_base, top-down. */
int simmm__get_unmapped_area(struct simmm_mm *mm, simmm_addr_t hint, uint64_t len,
			     uint64_t align, simmm_addr_t *out);
struct simmm_vma *simmm__vma_alloc(struct simmm_mm *mm);
void simmm__vma_link(struct simmm_mm *mm, struct simmm_vma *vma);
void simmm__vma_unlink(struct simmm_mm *mm, struct simmm_vma *vma);
/* unlink_anon_vmas() of a VMA that stays (MREMAP_DONTUNMAP moved all it
 * mapped): it leaves its anon_vma; a later fault prepares a new one. */
void simmm__vma_unlink_anon(struct simmm_mm *mm, struct simmm_vma *vma);
void simmm__vma_free(struct simmm_mm *mm, struct simmm_vma *vma);
static inline bool simmm__vma_is_anonymous(const struct simmm_vma *vma)
{
	return vma->file == NULL;
}
static inline uint64_t simmm__linear_page_index(const struct simmm_vma *vma, simmm_addr_t addr,
						unsigned page_shift)
{
	return ((addr - vma->vm_start) >> page_shift) + vma->vm_pgoff;
}

/* ---- change.c: the one path for page-table changes ----------------------------- */
/*
 * simmm__change_begin()/end() bracket every page-table change with
 * mmu-notifier invalidate_range_start()/end() for [start, end) and @event
 * (enum simmm_mmu_notifier_event), exactly once per subscriber.
 */
struct simmm_change {
	struct simmm_mm *mm;
	simmm_addr_t start, end;
	int event;
	void *owner;
	bool blockable;
	bool started;
};
int simmm__change_begin(struct simmm_change *c, struct simmm_mm *mm, simmm_addr_t start,
			simmm_addr_t end, int event, void *owner);
void simmm__change_end(struct simmm_change *c);
/* unmap_vmas() (munmap, exit): clear entries in [start, end) of @vma
 * dropping rmap, refs, swap counts and PMDs' deposited tables, guard
 * markers too (ZAP_FLAG_DROP_MARKER); inside an already-begun change. */
int simmm__zap_range(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t start,
		     simmm_addr_t end);
/* zap_page_range_single() with no zap_details (MADV_DONTNEED,
 * MADV_GUARD_INSTALL's zap): the same, but guard markers stay. */
int simmm__zap_range_single(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t start,
			    simmm_addr_t end);
/* Split a THP leaf straddling @addr (munmap/mprotect/zap edges): 0, or a
 * notifier's error (the split uses the deposited table). */
int simmm__split_edge(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t addr);
/**
 * struct simmm_zap - a zap in progress: its VMA and the batch of ptes of one
 * large folio whose rmap removal is not finished (change.c: the deferred
 * split test runs once per batch, as upstream's folio_remove_rmap_ptes()).
 * Fields are change.c's.
 */
struct simmm_zap {
	struct simmm_mm *mm;
	struct simmm_vma *vma;
	struct simmm_page *folio; /* the batch's folio, referenced; NULL: none */
	simmm_addr_t next;        /* the address its next pte would have */
	simmm_pfn_t next_pfn;     /* the pfn that pte would map */
	simmm_entry_t flags;      /* the flags its ptes share */
	unsigned unmapped;        /* pages whose last mapping it removed */
};
/* Drop what entries cleared in address order held (collapse), batched as
 * a zap: begin, simmm__zap_one() per cleared entry (the simmm_pt_clear_fn
 * of zaps), end. No scheduling point may come between begin and end. */
void simmm__zap_begin(struct simmm_zap *z, struct simmm_mm *mm, struct simmm_vma *vma);
void simmm__zap_one(struct simmm_zap *z, simmm_addr_t addr, enum simmm_level lvl,
		    simmm_entry_t old);
void simmm__zap_end(struct simmm_zap *z);

/* Split VMAs so that boundaries exist at @start and @end, every allocation
 * made before the first change (mprotect's carve): 0; -ENOMEM (nothing
 * changed); -EINVAL (a hugetlb VMA cut off its huge-page alignment); a
 * THP edge split's error. */
int simmm__carve_range(struct simmm_mm *mm, simmm_addr_t start, simmm_addr_t end);

/* ---- mlock.c: mlock(2) and the folio side of mlock --------------------------------- */
/*
 * mlock_folio(), mlock_new_folio(), munlock_folio() of mm/mlock.c, applied
 * at once (upstream batches them per CPU in mlock_fbatch, draining with
 * lru_add_drain(); simmm has one CPU's worth of order and no batch).
 * ZONE_DEVICE folios are left alone (see mlock.c). No scheduling point.
 */
void simmm__mlock_folio(simmm_sim *sim, struct simmm_page *folio);
void simmm__mlock_new_folio(simmm_sim *sim, struct simmm_page *folio);
void simmm__munlock_folio(simmm_sim *sim, struct simmm_page *folio);
/* mlock_vma_folio(): @folio was just mapped whole in @vma (a small folio's
 * pte, a PMD, or every page of a large folio at once): mlock it if @vma is
 * VM_LOCKED and not VM_SPECIAL. munlock_vma_folio(): a mapping of @folio
 * in @vma went (any part of it): munlock it if @vma is VM_LOCKED. */
void simmm__mlock_vma_folio(simmm_sim *sim, struct simmm_page *folio,
			    const struct simmm_vma *vma);
void simmm__munlock_vma_folio(simmm_sim *sim, struct simmm_page *folio,
			      const struct simmm_vma *vma);
/* folio_add_lru_vma(): a new folio about to be mapped in @vma joins the LRU,
 * mlocked straight onto the unevictable list in a VM_LOCKED VMA. */
void simmm__folio_add_lru_vma(simmm_sim *sim, struct simmm_page *folio,
			      const struct simmm_vma *vma);
/* The last reference of @folio is going (__page_cache_release()): a folio
 * still mlocked loses PG_mlocked (unevictable_pgs_cleared). */
void simmm__mlock_release(simmm_sim *sim, struct simmm_page *folio);
/* @vma lost VM_LOCKED_MASK without a munlock of what it maps
 * (dontunmap_complete()): its mlocked folios stay mlocked, counted above
 * the VM_LOCKED VMAs mapping them; mark them PG_mlock_missed. */
void simmm__mlock_flags_dropped(struct simmm_vma *vma);
/* NR_MLOCK after folios freed mlocked by a bare put (the page layer
 * cleared their PG_mlocked, __page_cache_release()): nr_mlock drops, the
 * pages count as cleared. Readers of nr_mlock call it first. */
void simmm__mlock_sync(simmm_sim *sim);
/* can_do_mlock(): may this mm lock anything (RLIMIT_MEMLOCK, CAP_IPC_LOCK)? */
bool simmm__can_do_mlock(const struct simmm_mm *mm);
/* mlock_future_ok(): may @bytes more of a VMA with @vm_flags be locked? */
bool simmm__mlock_future_ok(const struct simmm_mm *mm, uint64_t vm_flags, uint64_t bytes);
/* __mm_populate(): fault in [@start, @start + @len) with the mmap lock taken
 * for read (the caller holds none); errors stop it unless @ignore_errors.
 * 0 or the first error (-EFAULT, -ENOMEM, the lock's). */
int simmm__mm_populate(struct simmm_mm *mm, simmm_addr_t start, uint64_t len,
		       bool ignore_errors);

/* ---- madvise.c: the per-VMA advice walks over one VMA's range -------------------- */
/* madvise_free_single_vma()'s walk (inside the caller's CLEAR bracket). */
int simmm__madvise_free(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t s,
			simmm_addr_t e);
/* madvise_cold_page_range(): old young bits, deactivate the range's folios. */
int simmm__madvise_cold(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t s,
			simmm_addr_t e);
/* madvise_pageout_page_range(): isolate and reclaim the range's folios. */
int simmm__madvise_pageout(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t s,
			   simmm_addr_t e);
/* madvise_willneed(): read the range's swapped-out anonymous pages into
 * the swap cache, or a file's pages into the page cache, mapping nothing. */
int simmm__madvise_willneed(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t s,
			    simmm_addr_t e);
/* madvise_remove(): punch the hole [s, e) of a shared writable file VMA
 * maps. Drops the mmap lock (held for read) around the punch and takes it
 * again: @vma is stale on return. */
int simmm__madvise_remove(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t s,
			  simmm_addr_t e);
/* madvise_guard_install() / madvise_guard_remove() (see madvise.c). */
int simmm__madvise_guard_install(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t s,
				 simmm_addr_t e);
int simmm__madvise_guard_remove(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t s,
				simmm_addr_t e);
/* The kernel's ERESTARTNOINTR (restart_syscall()): never returned to
 * callers of the public API; simmm_madvise() restarts on it. */
#define SIMMM__ERESTARTNOINTR 513
/* faultin_page_range() (gup.c): MADV_POPULATE_(READ|WRITE)'s faults, which
 * may drop the mmap lock (*@locked = 0 then). */
long simmm__faultin_page_range(struct simmm_mm *mm, simmm_addr_t start, simmm_addr_t end,
			       bool write, int *locked);

/* ---- fault.c ------------------------------------------------------------------- */
/* handle_mm_fault() with the mmap lock held (see simmm_handle_mm_fault() for
 * VM_FAULT_RETRY: with FAULT_FLAG_ALLOW_RETRY and without RETRY_NOWAIT it
 * returns with the lock released, and the caller must not touch @vma). */
unsigned simmm__handle_mm_fault(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t addr,
				unsigned flags);
/* VM_FAULT_RETRY from a fault that gives up without waiting (outside tasks
 * nothing could end the wait): the mmap lock released as that contract
 * says (release_fault_lock()). */
unsigned simmm__fault_retry(struct simmm_mm *mm, unsigned flags);
/* Build a present entry for @vma's protection (vm_get_page_prot). */
/* maybe_mkwrite(): @e made writable if @vma has VM_WRITE, else as it is
 * (a FOLL_FORCE write into a read-only private VMA). */
simmm_entry_t simmm__maybe_mkwrite(const struct simmm_vma *vma, simmm_entry_t e);
simmm_entry_t simmm__mk_pte(struct simmm_mm *mm, struct simmm_vma *vma, simmm_pfn_t pfn,
			    bool write);
/* The same for a page-cache folio (set_pte_range()): a read fault's
 * writable entry of a dirty folio is dirty (6.15+). */
simmm_entry_t simmm__mk_file_pte(struct simmm_mm *mm, struct simmm_vma *vma,
				 struct simmm_page *folio, bool write);
uint64_t simmm__vm_get_page_prot(uint64_t vm_flags);
/* writeback.c: write-notify of shared file mappings (vma_wants_writenotify())
 * and the VMA's page protection (vm_page_prot: no write bit then). */
bool simmm__vma_wants_writenotify(const struct simmm_vma *vma);
uint64_t simmm__vma_page_prot(const struct simmm_vma *vma);
/* can_change_pte_writable() for a present pte of a shared writable VMA:
 * always without write-notify, else only a dirty pte. */
bool simmm__shared_pte_may_write(const struct simmm_vma *vma, simmm_entry_t e);
/* folio_mkclean(): write-protect and clean the ptes of a file folio in
 * every shared VMA; the number of VMAs where some pte was cleaned. */
int simmm__folio_mkclean(simmm_sim *sim, struct simmm_page *folio);
/* Write back the dirty folios of pages [first, last] of @file (fsync). */
int simmm__file_sync_range(struct simmm_file *file, uint64_t first, uint64_t last);
/* The checker's rule: a writable pte of a write-notify VMA maps a dirty folio. */
bool simmm__writenotify_pte_ok(const struct simmm_vma *vma, simmm_entry_t e,
			       const struct simmm_page *folio);
/* vm_normal_page(): the page behind a present entry, NULL for special
 * entries (zero page, PFNMAP) and pfns without a struct page. */
struct simmm_page *simmm__vm_normal_page(struct simmm_vma *vma, simmm_entry_t e);
/* vm_insert_page() for drivers' MIXEDMAP mmap handlers: map @pfn (a
 * referenced, non-anonymous page) at @addr; takes a reference and a
 * mapcount, counts it as a file page. Caller holds the mmap lock.
 * 0; -EINVAL (not MIXEDMAP, outside the VMA, misaligned, anon page);
 * -EBUSY (something mapped there); -ENOMEM. */
int simmm__vm_insert_page(struct simmm_vma *vma, simmm_addr_t addr, simmm_pfn_t pfn);
/* Lock/unlock a folio (PG_locked bit lock keyed by pfn). */
int simmm__folio_lock(simmm_sim *sim, struct simmm_page *folio);
bool simmm__folio_trylock(simmm_sim *sim, struct simmm_page *folio);
/* trylock_page() under the PTL: no scheduling point (see internal.h). */
bool simmm__folio_trylock_atomic(simmm_sim *sim, struct simmm_page *folio);
void simmm__folio_unlock(simmm_sim *sim, struct simmm_page *folio);
/* folio_unlock() then folio_put() with no scheduling point between them. */
void simmm__folio_unlock_put(simmm_sim *sim, struct simmm_page *folio);
/* access_error()/check_vma_flags(): does @vma allow this fault? */
bool simmm__fault_access_ok(const struct simmm_vma *vma, unsigned flags);
/* Wait until the migration entry at @addr is gone (migration_entry_wait).
 * Outside a task nothing could remove it: returns at once (the fault then
 * reports VM_FAULT_RETRY). */
void simmm__migration_entry_wait(struct simmm_mm *mm, simmm_addr_t addr, simmm_pfn_t pfn);
/* Wake migration-entry waiters (called when migration entries are removed). */
void simmm__migration_wake(simmm_sim *sim);

/* ---- rmap.c -------------------------------------------------------------------- */
/*
 * Reverse-map locking, as the kernel's (mm/rmap.c "Lock ordering"):
 *   mmap_lock -> folio lock -> file->i_mmap_rwsem -> anon_vma->rwsem -> PTL
 * Linking or unlinking a VMA in a file's i_mmap or an anon_vma's tree takes
 * that rwsem for write (vma_prepare(), unlink_file_vma(),
 * unlink_anon_vmas()); every rmap walk holds it for read, with the
 * anon_vma or file pinned (a reference) from before it may sleep on the
 * lock until after the unlock.
 */
int simmm__anon_vma_prepare(struct simmm_mm *mm, struct simmm_vma *vma);
/* Pin / unpin an anon_vma (put frees it at zero; pairs with get, or with
 * the reference a VMA took when it joined the tree). */
void simmm__anon_vma_get(struct simmm_anon_vma *av);
void simmm__anon_vma_put(simmm_sim *sim, struct simmm_anon_vma *av);
/* Initialise a file's i_mmap_rwsem (its lockdep class is shared). */
void simmm__i_mmap_lock_init(struct simmm_file *file);
/* The rmap write locks of @vma (i_mmap, then anon_vma), for a change of the
 * trees it is linked in; unlock releases what lock took. */
struct simmm_rmap_wlock {
	struct simmm_file *file;
	struct simmm_anon_vma *av;
};
void simmm__rmap_lock_write(struct simmm_vma *vma, struct simmm_rmap_wlock *l);
void simmm__rmap_unlock_write(simmm_sim *sim, struct simmm_rmap_wlock *l);
/* A folio's reverse map locked for a walk (rmap_walk_anon_lock() /
 * i_mmap_lock_read()), see simmm__rmap_lock_read(). */
struct simmm_rmap_rlock {
	struct simmm_itree *tree;  /* anon_vma->vmas or file->i_mmap */
	size_t off;                /* offsetof() of that tree's node in a VMA */
	struct simmm_anon_vma *av; /* pinned and read-locked, or NULL */
	struct simmm_file *file;   /* pinned and read-locked, or NULL */
};
/* Lock @folio's reverse map for reading. An anonymous folio's anon_vma is
 * @pinned (a migration's pin; then the folio need not be mapped) or, with
 * @pinned NULL, only followed while the folio is mapped
 * (folio_lock_anon_vma_read()). @try: trylock (folio_referenced()).
 * Return: 1 locked (unlock with simmm__rmap_unlock_read()); 0 nothing to
 * walk; -EAGAIN contended (@try) or the lock could not be taken. */
int simmm__rmap_lock_read(simmm_sim *sim, struct simmm_page *folio,
			  struct simmm_anon_vma *pinned, bool try, struct simmm_rmap_rlock *l);
void simmm__rmap_unlock_read(simmm_sim *sim, struct simmm_rmap_rlock *l);
/* New anonymous folio mapped at @addr (folio_add_new_anon_rmap). */
void simmm__folio_add_new_anon_rmap(struct simmm_page *folio, struct simmm_vma *vma,
				    simmm_addr_t addr, bool exclusive);
/* Map one more PTE / whole PMD of an existing folio (+1 mapcount, caller
 * holds or takes the reference). */
void simmm__page_add_rmap_pte(simmm_sim *sim, struct simmm_page *page);
void simmm__folio_add_rmap_entire(simmm_sim *sim, struct simmm_page *folio);
/* Unmap one PTE / the whole PMD of a folio (-1 mapcount; the caller drops
 * the reference). Like __folio_remove_rmap(), they queue an anonymous
 * large folio left partially mapped for deferred split (deferred_split.c). */
void simmm__page_remove_rmap_pte(simmm_sim *sim, struct simmm_page *page);
void simmm__folio_remove_rmap_entire(simmm_sim *sim, struct simmm_page *folio);
/* folio_remove_rmap_ptes() in two halves, for callers that unmap a run of
 * ptes of one folio one by one (the zap): _batched() drops one pte's
 * mapcount without the deferred split test (true: the page has no mapping
 * left), _done() runs the test once for the run, given how many pages
 * lost their last mapping in it. Context: no scheduling point between
 * the halves. */
bool simmm__page_remove_rmap_pte_batched(simmm_sim *sim, struct simmm_page *page);
void simmm__folio_remove_rmap_ptes_done(simmm_sim *sim, struct simmm_page *folio,
					unsigned nr_unmapped);
void simmm__folio_add_file_rmap(struct simmm_page *folio, struct simmm_file *file, uint64_t index);
/* Is the folio mapped anywhere? Total mapcount. */
int simmm__folio_mapcount(simmm_sim *sim, struct simmm_page *folio);
/* folio_put() for user folios: leaves the LRU before the last reference
 * goes (reclaim.c's list must never hold a freed folio). */
void simmm__put_user_folio(simmm_sim *sim, struct simmm_page *folio);
/* folio_maybe_dma_pinned(). */
bool simmm__folio_maybe_dma_pinned(simmm_sim *sim, struct simmm_page *folio);
/* folio_maybe_mapped_shared(): may another mm map @folio (see rmap.c)? */
bool simmm__folio_maybe_mapped_shared(simmm_sim *sim, struct simmm_page *folio);
/* Visit every (mm, vma, addr) that may map @folio; fn returns false to stop.
 * The folio's rmap lock is held for read across the walk: @fn may sleep
 * (notifier brackets) but must not walk the rmap or (un)link VMAs. */
typedef bool (*simmm_rmap_fn)(struct simmm_page *folio, struct simmm_vma *vma,
			      simmm_addr_t addr, void *arg);
void simmm__rmap_walk(simmm_sim *sim, struct simmm_page *folio, simmm_rmap_fn fn, void *arg);
/* The end of @folio's span in @vma from @addr (the address of its first
 * page there): where the folio's last page would be mapped, or vm_end. */
void simmm__folio_span(const struct simmm_page *folio, const struct simmm_vma *vma,
		       simmm_addr_t addr, simmm_addr_t *hi);
/* page_vma_mapped_walk() for one address: does @vma map a page of @folio
 * at @addr (present leaf, device-private or device-exclusive entry)? Then
 * *@slot and *@lvl give the entry. */
bool simmm__page_vma_mapped(struct simmm_vma *vma, simmm_addr_t addr, struct simmm_page *folio,
			    simmm_entry_t **slot, enum simmm_level *lvl);
/* try_to_unmap: replace every mapping by a swap entry (anon, @swp != 0) or
 * none (file); notifier CLEAR per mapping. Returns true if fully unmapped.
 * The caller holds one reference of its own (reclaim's isolation). As
 * try_to_unmap_one(), it leaves mapped (and stops the walk at) an
 * anon-exclusive page of a maybe-DMA-pinned folio, and a lazyfree folio
 * that is dirty or has references beyond its mappings and the caller's;
 * other references (FOLL_GET) do not keep a page mapped. */
bool simmm__try_to_unmap(simmm_sim *sim, struct simmm_page *folio, simmm_entry_t swp);
/* try_to_unmap() with enum ttu_flags: TTU_IGNORE_MLOCK unmaps in VM_LOCKED
 * VMAs too (munlocking there); TTU_HWPOISON replaces each pte of a
 * PG_hwpoison page by a hwpoison entry, whatever the folio and its pins
 * (memory_failure()). */
#define SIMMM__TTU_IGNORE_MLOCK 0x1
#define SIMMM__TTU_HWPOISON     0x2
bool simmm__try_to_unmap_flags(simmm_sim *sim, struct simmm_page *folio, simmm_entry_t swp,
			       unsigned ttu);
/* folio_referenced: test-and-clear young bits through the rmap; the
 * number of young mappings, or -1 when the rmap lock was contended (the
 * kernel's rwc.try_lock: the caller keeps the folio). */
int simmm__folio_referenced(simmm_sim *sim, struct simmm_page *folio);
/* The same, also ORing into *@vm_flags the flags of the VMAs that found it
 * young, and SIMMM_VM_LOCKED when a VM_LOCKED VMA maps it (the walk stops
 * there, as folio_referenced_one() does). */
int simmm__folio_referenced_flags(simmm_sim *sim, struct simmm_page *folio,
				  uint64_t *vm_flags);

/* ---- file.c -------------------------------------------------------------------- */
/* Page-cache folio at @index, created (from the backing store) if absent;
 * returned with a reference. NULL and *err on failure: -ENOMEM, or -EINVAL
 * when @index is at or past EOF once the allocation is done (nothing is
 * created there: shmem_get_folio_gfp()'s i_size check after its
 * allocation; a regular file's fault creates its folio under the
 * invalidate_lock that truncation holds exclusively). */
struct simmm_page *simmm__filemap_get(struct simmm_file *file, uint64_t index, int *err,
				      bool *major);
/* truncate_inode_folio()'s removal (filemap_remove_folio(), the dirty bit
 * cancelled): the locked @folio leaves @file's page cache and loses its
 * mapping; its other references (pins, GUP) keep it alive. */
void simmm__filemap_remove(struct simmm_file *file, struct simmm_page *folio);
/* The backing store's bytes [@start, @end) read as zeros from now on
 * (whole pages dropped): the filesystem's block truncation or hole punch
 * after the page cache's. */
void simmm__file_store_zero(struct simmm_file *file, uint64_t start, uint64_t end);
void simmm__file_get(struct simmm_file *file);
void simmm__file_put(struct simmm_file *file);
/* Drop a clean page-cache page from the cache, without I/O (reclaim of a
 * clean or written-back file page: __remove_mapping()), leaving @shadow
 * (workingset_eviction()'s, simmm__workingset_eviction(); 0 for none) in
 * its slot. */
void simmm__filemap_evict(struct simmm_file *file, struct simmm_page *page, uint64_t shadow);
/* The shadow entry in page-cache slot @index of @file, or 0. */
uint64_t simmm__filemap_shadow(const struct simmm_file *file, uint64_t index);
/* Drop the shadow entries of page-cache slots [@start, @end) (truncation
 * and hole punching: truncate_folio_batch_exceptionals()). */
void simmm__filemap_drop_shadows(struct simmm_file *file, uint64_t start, uint64_t end);
/* Only the write-back half: the store gets the page's data, the page is
 * clean and stays in the cache (pageout() without __remove_mapping()). */
void simmm__filemap_writeback(struct simmm_file *file, struct simmm_page *page);
/* The page-cache folio at @index of @file, or NULL (no reference taken). */
struct simmm_page *simmm__filemap_lookup(struct simmm_file *file, uint64_t index);
bool simmm__file_ok(const struct simmm_file *file);
void simmm__filemap_peek(struct simmm_file *file, uint64_t index, uint64_t off, void *buf,
			 uint64_t n);
/* folio_migrate_mapping() for a page-cache folio: @newfolio takes its
 * cache slot, mapping, index and the cache's reference. */
void simmm__filemap_migrate(struct simmm_file *file, struct simmm_page *folio,
			    struct simmm_page *newfolio);
int simmm__shmem_create(simmm_sim *sim, uint64_t size, struct simmm_file **out);

/* ---- truncate.c ---------------------------------------------------------------- */
/* fallocate(PUNCH_HOLE | KEEP_SIZE) of [@off, @off + @len) without the
 * argument checks (simmm_file_punch_hole()); the caller holds a reference
 * on @file and no mmap lock. 0 or the i_rwsem's error. */
int simmm__file_punch_hole(struct simmm_file *file, uint64_t off, uint64_t len);

/* ---- swap.c -------------------------------------------------------------------- */
int simmm__swap_init(simmm_sim *sim);
/* Read the slot into a new page (or find it in the swap cache). */
struct simmm_page *simmm__swap_in(simmm_sim *sim, simmm_entry_t swp, int *err);
void simmm__swap_dup(simmm_sim *sim, simmm_entry_t swp);  /* swap_duplicate */
/* swap_free() after a swap-in: at count zero the swap cache alone holds
 * the slot; the fault decides about its (locked) folio. */
void simmm__swap_free(simmm_sim *sim, simmm_entry_t swp);
/* free_swap_and_cache(): a zap's swap_free; at count zero an unmapped
 * swap-cache folio (any, when swap is full) leaves the cache (trylock). */
void simmm__free_swap_and_cache(simmm_sim *sim, simmm_entry_t swp);
/* free_swap_cache(): an unmapped swap-cache folio whose slot no swap entry
 * needs leaves the cache (trylock); the caller holds a reference. */
void simmm__free_swap_cache(simmm_sim *sim, struct simmm_page *folio);
/* vm_swap_full(): more than half of the swap slots in use. */
bool simmm__vm_swap_full(simmm_sim *sim);
/* folio_free_swap(): @folio (locked, referenced) leaves the swap cache if
 * no swap entry refers to its slot, and is dirty from then on. */
bool simmm__folio_free_swap(simmm_sim *sim, struct simmm_page *folio);

/* ---- reclaim.c ----------------------------------------------------------------- */
/* folio_add_lru() / putback: to the list the folio belongs on, culled to
 * the unevictable list when mlocked (see reclaim.c). */
void simmm__lru_add(simmm_sim *sim, struct simmm_page *folio);
void simmm__lru_del(simmm_sim *sim, struct simmm_page *folio);
/* lruvec_del_folio(), flags changed (@clear, then @set), lruvec_add_folio():
 * the only way PG_active, PG_unevictable and PG_swapbacked (anon or file
 * list) change on a folio with PG_lru; a folio off the LRU just has its
 * flags changed. No scheduling point. */
void simmm__lru_move(simmm_sim *sim, struct simmm_page *folio, uint32_t clear, uint32_t set);
/* folio_mark_accessed() (classic LRU): inactive and unreferenced ->
 * referenced; inactive and referenced -> active (PG_referenced cleared). */
void simmm__folio_mark_accessed(simmm_sim *sim, struct simmm_page *folio);

/* vma_has_recency(): whether the VMA's accesses count as references for
 * reclaim (not with MADV_RANDOM / MADV_SEQUENTIAL; simmm has no
 * FMODE_NOREUSE files). */
static inline bool simmm__vma_has_recency(const struct simmm_vma *vma)
{
	return !(vma->vm_flags & (SIMMM_VM_SEQ_READ | SIMMM_VM_RAND_READ));
}
/* folio_deactivate(): an active, evictable folio on the LRU moves to the
 * inactive list, losing PG_active and PG_referenced. */
void simmm__folio_deactivate(simmm_sim *sim, struct simmm_page *folio);
/* folio_isolate_lru() / folio_putback_lru(): off the LRU with a reference,
 * and back (dropping it). */
bool simmm__folio_isolate_lru(simmm_sim *sim, struct simmm_page *folio);
void simmm__folio_putback_lru(simmm_sim *sim, struct simmm_page *folio);
/* reclaim_pages(): reclaim @nr isolated folios, references ignored
 * (MADV_PAGEOUT); consumes the isolation references; pages freed. */
uint64_t simmm__reclaim_folios(simmm_sim *sim, struct simmm_page *const *folios, unsigned nr);
/* Allocate a folio for user memory, reclaiming if allowed. */
struct simmm_page *simmm__alloc_user_folio(simmm_sim *sim, unsigned order);
/* After a failed allocation of @order: was RAM out of such blocks (true),
 * or did the injector fail a bookkeeping allocation (false)? */
bool simmm__buddy_exhausted(simmm_sim *sim, unsigned order);

/* ---- huge.c -------------------------------------------------------------------- */
bool simmm__thp_vma_allowable(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t addr);
unsigned simmm__do_huge_pmd_anonymous_page(struct simmm_mm *mm, struct simmm_vma *vma,
					   simmm_addr_t addr, unsigned flags);
/* Split a PMD-mapped THP at @addr into PTE mappings (keeps the folio),
 * into the PMD's deposited table: never fails for memory. */
int simmm__split_huge_pmd(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t addr);
/* Does PMD entry @e carry a deposited PTE table (anonymous or huge zero)? */
bool simmm__pmd_has_deposit(simmm_sim *sim, simmm_entry_t e);
/* Split a large folio into base pages (split_folio); -EBUSY when pinned. */
int simmm__split_folio(simmm_sim *sim, struct simmm_page *folio);
/* The same, and @page's new folio gets a reference (see huge.c). */
int simmm__split_folio_ref(simmm_sim *sim, struct simmm_page *folio, struct simmm_page *page);
/* try_to_split_thp_page() (memory_failure.c): lock and split @folio; on
 * success the caller's reference on it moves to @page's new folio. 0, a
 * lock error, or -EBUSY (pinned: the caller keeps its reference). */
int simmm__try_to_split_thp_page(simmm_sim *sim, struct simmm_page *folio,
				 struct simmm_page *page);
/* Split a locked, unmapped large folio under migration: every new folio is
 * locked with one reference (the head keeps 1 + @extra). -EBUSY if not. */
int simmm__split_folio_unmapped(simmm_sim *sim, struct simmm_page *folio, int extra);
simmm_pfn_t simmm__huge_zero_pfn(simmm_sim *sim); /* 0 on -ENOMEM */
unsigned simmm__hugetlb_fault(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t addr,
			      unsigned flags);
int simmm__madvise_collapse(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t start,
			    simmm_addr_t end);

/* ---- access.c ----------------------------------------------------------------------
 * struct simmm_fault_progress - one round of a retried fault, for the loops
 * that retry faults until they resolve (simmm_mm_access(), GUP's
 * __get_user_pages()). A round that changes the entry at the address, or
 * sleeps until another task wakes it (a folio lock, a migration entry), is
 * progress: the kernel retries for as long as that goes on (a device
 * migrating the page back and forth under a CPU fault; devices taking the
 * folio lock in turn while the CPU waits in remove_device_exclusive_entry()).
 * A round that resolves nothing while another task can still run is not
 * stuck either: what it waits for may be that task's to finish (a reference
 * it holds fails every migrate_to_ram() of the page until it drops it), and
 * on real hardware that task runs on another CPU meanwhile; here it runs
 * when the schedule picks it, which the callers' total caps bound.
 */
struct simmm_fault_progress {
	simmm_entry_t entry;
	uint64_t woken;
};
/* Before a round: note the entry at @addr and the scheduler's wake-ups. */
void simmm__fault_progress_start(struct simmm_fault_progress *p, struct simmm_mm *mm,
				 simmm_addr_t addr);
/* After it: 0 on progress, else @stuck, plus one when no other task can run. */
unsigned simmm__fault_progress_stuck(const struct simmm_fault_progress *p, struct simmm_mm *mm,
				     simmm_addr_t addr, unsigned stuck);

/* ---- memory_failure.c ------------------------------------------------------------ */
/* simmm_memory_failure() without the argument checks; @flags may also
 * hold MF_COUNT_INCREASED (0x1: the caller's reference is handed over). */
int simmm__memory_failure(simmm_sim *sim, simmm_pfn_t pfn, int flags, struct simmm_mm *current);
/* MADV_HWPOISON over [start, end) (no lock held). */
int simmm__madvise_inject_error(struct simmm_mm *mm, simmm_addr_t start, simmm_addr_t end);

/* ---- fork.c -------------------------------------------------------------------- */
int simmm__dup_mmap(struct simmm_mm *parent, struct simmm_mm *child);

/* ---- gup.c --------------------------------------------------------------------- */
/* __get_user_pages_locked(): @locked NULL keeps the caller's mmap lock;
 * else GUP may drop it (see gup.c). */
long simmm__gup_locked(struct simmm_mm *mm, simmm_addr_t start, uint64_t nr, unsigned flags,
		       simmm_pfn_t *pfns, int *locked);

/* ---- mmap.c --------------------------------------------------------------------- */
/* do_vmi_munmap() with the mmap lock held for write. */
int simmm__do_munmap(struct simmm_mm *mm, simmm_addr_t start, simmm_addr_t end);

/* ---- checker (mm_check.c) -------------------------------------------------------- */
int simmm__mm_check(simmm_sim *sim, void *arg);

#endif
