/* SPDX-License-Identifier: MIT */
/*
 * The "extension half" of the address-space layer: swap, LRU + reclaim,
 * THP, hugetlb and GUP. The contracts shared with the rest of src/mm are in
 * mm.h; this header holds the state structs of these files and the few
 * extra internal entry points they offer (see docs/mm-ext.md).
 *
 * Where the state hangs: mm_global->swap (struct simmm_swap, swap.c) and
 * mm_global->lru (struct simmm_lru, reclaim.c). Both are created by
 * simmm__swap_init(), which mm.c calls once per machine, and torn down by
 * simmm__mm_ext_fini(). The hugetlb pool and the GUP long-term hook live in
 * struct simmm_lru (mm_global has no slot of its own for them). The THP
 * deferred split queue is mm_global->ds (struct simmm_deferred_split,
 * deferred_split.c), created when the first folio is queued and freed by
 * simmm__mm_ext_fini() too.
 *
 * Invariants (checked by simmm__mm_ext_check(), registered as a checker):
 *  - swap: every slot in use has count > 0 or a swap-cache folio; a
 *    swap-cache folio is PG_swapcache with page->private == its entry and
 *    holds one reference for the cache; free slots hold nothing (no
 *    shadow entry either); a slot holds a swap-cache folio or a shadow
 *    entry, not both, and a shadow's timestamp is behind the LRU's
 *    nonresident_age; the used-slot counter matches.
 *  - LRU: every in-use folio head with PG_lru appears in the queue of the
 *    list its flags name (unevictable if PG_unevictable, else the anon or
 *    file list by PG_swapbacked, active or inactive by PG_active), and
 *    their number is that list's nr_live;
 *    queue entries of folios without PG_lru, or now on another list, are
 *    stale (lazy deletion) and are dropped when met; a queue never
 *    exceeds 2 * live + 64 after compaction. PG_active, PG_unevictable and
 *    PG_swapbacked change on a folio with PG_lru only through
 *    simmm__lru_move(). A folio off the LRU that reclaim isolated is
 *    counted, a shrink's batch in nr_isolated (and by its list's type in
 *    nr_isolated_lru), folio_isolate_lru()'s in nr_isolated_other, and
 *    belongs to its isolator alone: only it sets PG_lru again.
 *  - unevictable: on the LRU, PG_unevictable <=> PG_mlocked, and never
 *    with PG_active; nr_mlock counts the pages of the folios with
 *    PG_mlocked (small machines: O(RAM) scan). Off the LRU a folio may be
 *    mlocked (isolated; or a shmem folio reclaim dropped off the LRU,
 *    simmm having no shmem swap-out), and its putback culls it.
 *  - deferred split: a RAM folio with PG_partially_mapped is a live
 *    anonymous folio of order >= 2 (not ZONE_DEVICE) and is on the queue,
 *    or is the folio the scan is working on; other entries are stale.
 */
#ifndef SIMMM_MM_MM_EXT_H
#define SIMMM_MM_MM_EXT_H

#include <simmm/mmu_notifier.h>

#include "mm/mm.h"

/* ---- swap.c ------------------------------------------------------------------- */

/**
 * struct simmm_swap_slot - one slot of the swap device (swap_map entry).
 * @count: swap ptes (and other swap-entry holders) referencing the slot.
 * @cache_pfn: the swap-cache folio (SWAP_HAS_CACHE), 0 if none.
 * @data: the written-back contents; NULL reads as zeros.
 * @used: the slot is allocated.
 * @shadow: the shadow entry reclaim left in the swap cache when it evicted
 *   the slot's folio (workingset.c), 0 if none: only on a used slot
 *   without a swap-cache folio; a swap-in takes it, freeing the slot drops
 *   it (clear_shadow_from_swap_cache()).
 */
struct simmm_swap_slot {
	uint32_t count;
	bool used;
	simmm_pfn_t cache_pfn;
	void *data;
	uint64_t shadow;
};

/**
 * struct simmm_swap - the single swap device (type 0). Slot offsets start
 * at 1: offset 0 is the swap header page, as on a real swap device.
 * @nr_slots: capacity (sim->swap_pages).
 * @slots: slots [1, hiwater] (index = offset - 1), grown on demand.
 * @free: stack of released offsets (lowest-first reuse is not needed).
 * @hiwater: highest offset ever allocated.
 * @nr_used: slots in use.
 * @nr_cached: swap-cache folios.
 * @swpout, @swpin: pages written / read (the kernel's pswpout/pswpin).
 */
struct simmm_swap {
	uint64_t nr_slots;
	struct simmm_swap_slot *slots;
	size_t slots_cap;
	uint64_t *free;
	size_t free_nr, free_cap;
	uint64_t hiwater;
	uint64_t nr_used;
	uint64_t nr_cached;
	uint64_t swpout, swpin;
};

/* simmm__swap_in() that also says whether the device was read (a major
 * fault, as do_swap_page() returns VM_FAULT_MAJOR) or the swap cache hit. */
struct simmm_page *simmm__swap_in_major(simmm_sim *sim, simmm_entry_t swp, int *err,
					bool *major);
/* Swap count of the slot of @swp (ptes only, not the cache); -1 for a
 * slot not in use or an entry that is not a swap-device entry. */
int simmm__swap_count(simmm_sim *sim, simmm_entry_t swp);
/* The swap-cache folio of @swp (no reference taken), or NULL. */
struct simmm_page *simmm__swap_cache_lookup(simmm_sim *sim, simmm_entry_t swp);
int simmm__swap_peek(simmm_sim *sim, simmm_entry_t swp, uint64_t off, void *buf, uint64_t n);
/* delete_from_swap_cache(): drop @folio from the swap cache (and its
 * cache reference); frees the slot when no swap entry references it. */
void simmm__swap_cache_del(simmm_sim *sim, struct simmm_page *folio);
/* __remove_mapping()'s __delete_from_swap_cache(folio, swap, shadow): the
 * same, leaving @shadow in the slot (dropped with it if it is freed). */
void simmm__swap_cache_evict(simmm_sim *sim, struct simmm_page *folio, uint64_t shadow);
/* Migration of a swap-cache folio to system memory (__folio_migrate_mapping()):
 * the slot's cache entry and the cache's reference move to @newfolio. */
void simmm__swap_cache_migrate(simmm_sim *sim, struct simmm_page *folio,
			       struct simmm_page *newfolio);
/* Copy @folio's contents into its swap slot (swap_writepage()); 0/-ENOMEM. */
int simmm__swap_writepage(simmm_sim *sim, struct simmm_page *folio);
/* Allocate a slot and put @folio in the swap cache without writing
 * (add_to_swap()); 0 if no slot. */
simmm_entry_t simmm__swap_add_to_cache(simmm_sim *sim, struct simmm_page *folio);
/* Slots in use / total (for tests and stats). */
void simmm__swap_usage(simmm_sim *sim, uint64_t *used, uint64_t *total);
/* Teardown (drops swap-cache references) and the swap part of the checker. */
void simmm__swap_fini(simmm_sim *sim);
int simmm__swap_check(simmm_sim *sim);

/* ---- pfnq.c ------------------------------------------------------------------- */

/**
 * struct simmm_pfnq - a FIFO of folio head pfns with lazy deletion (pfnq.c).
 * @pfn: the entries, live or stale, in [head, tail); @cap allocated.
 */
struct simmm_pfnq {
	simmm_pfn_t *pfn;
	uint64_t cap, head, tail;
};

/* Does the entry @pfn still name a member? Its folio, or NULL (stale). */
typedef struct simmm_page *(*simmm_pfnq_live_fn)(simmm_sim *sim, simmm_pfn_t pfn);

/* Each entry's index, live or stale, oldest first (for checkers). */
#define simmm_pfnq_for_each(pq, i) for (uint64_t i = (pq)->head; i < (pq)->tail; i++)

static inline uint64_t simmm__pfnq_len(const struct simmm_pfnq *pq)
{
	return pq->tail - pq->head;
}

/* Worth compacting: more than twice @nr_live entries, and some slack. */
static inline bool simmm__pfnq_bloated(const struct simmm_pfnq *pq, uint64_t nr_live)
{
	return simmm__pfnq_len(pq) > 2 * nr_live + 64;
}

void simmm__pfnq_push(simmm_sim *sim, struct simmm_pfnq *pq, simmm_pfn_t pfn);
struct simmm_page *simmm__pfnq_pop(simmm_sim *sim, struct simmm_pfnq *pq,
				   simmm_pfnq_live_fn live);
uint64_t simmm__pfnq_compact(simmm_sim *sim, struct simmm_pfnq *pq, simmm_pfnq_live_fn live);
int simmm__pfnq_check(simmm_sim *sim, const struct simmm_pfnq *pq, const char *who);
void simmm__pfnq_fini(simmm_sim *sim, struct simmm_pfnq *pq);

/* ---- reclaim.c ---------------------------------------------------------------- */

struct simmm_hugetlb_pool;

/* Long-term pin policy hook (check_and_migrate_movable_pages()): called by
 * GUP for a page a FOLL_LONGTERM pin must not hold (device-coherent memory).
 * The migrate layer installs it; it returns 0 when it moved the page away
 * (GUP then retries the address) or a negative errno. Unset: -EFAULT. */
typedef int (*simmm_gup_longterm_fn)(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t addr,
				     struct simmm_page *page);

/* The kernel's PF_MEMALLOC, in the current context's flags word
 * (simmm__task_flags()): this task is reclaiming, and its allocations do
 * not reclaim again (memalloc_noreclaim_save()). Per task, not per
 * machine: another task's allocation reclaims meanwhile. */
#define SIMMM_PF_MEMALLOC (1u << 0)

/* The LRU lists, in the kernel's enum lru_list order (LRU_BASE, + LRU_ACTIVE,
 * + LRU_FILE): folio_is_file_lru() (not PG_swapbacked: file folios and
 * lazyfree anonymous ones; shmem is swap-backed, so anon) picks the type,
 * PG_active the list of a type, and PG_unevictable overrides both. */
enum simmm_lru_list {
	SIMMM_LRU_INACTIVE_ANON,
	SIMMM_LRU_ACTIVE_ANON,
	SIMMM_LRU_INACTIVE_FILE,
	SIMMM_LRU_ACTIVE_FILE,
	SIMMM_LRU_UNEVICTABLE,
	SIMMM_NR_LRU_LISTS,
};
#define SIMMM_LRU_ACTIVE 1       /* an inactive list + this: its active list (LRU_ACTIVE) */
#define SIMMM_LRU_FILE 2         /* an anon list + this: the file one (LRU_FILE) */
#define SIMMM_NR_EVICTABLE_LRU 4 /* for_each_evictable_lru() */
#define SIMMM_DEF_SWAPPINESS 60  /* vm_swappiness's default */
#define SIMMM_MAX_SWAPPINESS 200 /* MAX_SWAPPINESS */

/* folio_evictable(): may reclaim take @folio? Not while mlocked (simmm has
 * no unevictable mappings: SHM_LOCK, ramfs). */
static inline bool simmm__folio_evictable(const struct simmm_page *folio)
{
	return !(folio->flags & PG_mlocked);
}

/**
 * struct simmm_lru - the LRU (the four evictable lists, inactive and
 * active for anon and for file, and the unevictable list, each a struct
 * simmm_pfnq: PG_lru marks their members, PG_unevictable, else
 * PG_swapbacked and PG_active pick the list) and the rest of the
 * memory-pressure state.
 * @q: the queues of folio heads, indexed by enum simmm_lru_list.
 * @nr_live: folios with PG_lru on each list (the queues may hold stale
 *   extras; a folio freed by a bare folio_put() stays counted until the
 *   next compaction of its queue recounts).
 * @nr_isolated: folios the LRU shrinks hold off the lists, batch by batch
 *   (shrink_inactive_list(), shrink_active_list()), in folios: the
 *   kernel's NR_ISOLATED_ANON + NR_ISOLATED_FILE.
 * @nr_isolated_lru: the same by the type of the list they were taken from
 *   ([0] anon, [1] file: NR_ISOLATED_ANON + file), what too_many_isolated()
 *   compares with that type's inactive list; their sum is @nr_isolated.
 * @nr_isolated_other: folios simmm__folio_isolate_lru() holds until
 *   reclaimed or put back (MADV_PAGEOUT's reclaim_pages()), which the
 *   kernel's folio_isolate_lru() does not count in NR_ISOLATED_*.
 * @isolation_ends: how many isolations of either kind ended (put back,
 *   freed or dropped); a direct reclaimer that made no progress waits for
 *   it to move (reclaim_throttle() after a fruitless scan).
 * @nr_throttled: tasks waiting for it (wake only then).
 * @throttle_wq: where they wait.
 * @nr_throttled_isolated: direct reclaimers waiting in shrink_inactive_list()
 *   because too_many_isolated() (pgdat->reclaim_wait[VMSCAN_THROTTLE_ISOLATED]).
 * @isolated_wq: where they wait; woken by the next too_many_isolated()
 *   that finds the count low again (wake_throttle_isolated()).
 * @isolated_wakes: how many such wake-ups were made.
 * @throttled_isolated: too_many_isolated() waits since boot.
 * @reclaimed, @scanned: totals since boot (pgsteal / pgscan: inactive-list
 *   folios looked at by shrink_folio_list()).
 * @pgsteal, @pgscan: the same by type ([0] anon, [1] file: pgsteal_anon,
 *   pgscan_file...: the type of the list a shrink took the folio from,
 *   folio_is_file_lru() for reclaim_pages()' folios).
 * @activated, @deactivated: folios moved to the active list (pgactivate:
 *   reclaim's FOLIOREF_ACTIVATE and activate_locked, folio_mark_accessed())
 *   and back (pgdeactivate: shrink_active_list(), folio_deactivate()).
 * @throttled: reclaim_throttle() waits since boot.
 * @swappiness: vm.swappiness (0..SIMMM_MAX_SWAPPINESS), the relative cost
 *   of anon I/O that get_scan_count() weighs the types' scan shares by.
 * @anon_cost, @file_cost: the lruvec's anon_cost and file_cost
 *   (lru_note_cost(): what reclaiming each type cost lately, halved
 *   together when they exceed a quarter of the evictable lists).
 * @nonresident_age: the lruvec's nonresident_age (workingset.c): pages
 *   evicted plus pages activated since boot, the clock of shadow entries.
 * @workingset_refault, @workingset_activate, @workingset_restore: pages
 *   that refaulted onto a shadow entry, those of them activated, and those
 *   of these that were in the workingset before ([0] anon, [1] file:
 *   WORKINGSET_REFAULT_ANON, ..._FILE and so on).
 * @refaults: @workingset_activate as the last reclaim left it (the
 *   lruvec's refaults[], snapshot_refaults()): a type whose count moved
 *   since has its active list aged (prepare_scan_control()).
 * @nr_mlock: pages of folios with PG_mlocked (NR_MLOCK), kept by mlock.c.
 * @mlocked, @munlocked, @culled, @rescued, @stranded, @cleared: the
 *   unevictable_pgs_* events, in pages (see &struct simmm_lru_stats).
 * @hugetlb: the hugetlb pools (hugetlb.c).
 * @longterm_fn: see simmm_gup_longterm_fn.
 */
struct simmm_lru {
	struct simmm_pfnq q[SIMMM_NR_LRU_LISTS];
	uint64_t nr_live[SIMMM_NR_LRU_LISTS];
	uint64_t nr_isolated, nr_isolated_lru[2], nr_isolated_other, isolation_ends;
	unsigned nr_throttled, nr_throttled_isolated;
	struct simmm_waitqueue throttle_wq, isolated_wq;
	uint64_t isolated_wakes, throttled_isolated;
	uint64_t reclaimed, scanned, throttled;
	uint64_t pgsteal[2], pgscan[2];
	uint64_t activated, deactivated;
	int swappiness;
	uint64_t anon_cost, file_cost;
	uint64_t nonresident_age;
	uint64_t workingset_refault[2], workingset_activate[2], workingset_restore[2];
	uint64_t refaults[2];
	uint64_t nr_mlock;
	uint64_t mlocked, munlocked, culled, rescued, stranded, cleared;
	struct simmm_hugetlb_pool *hugetlb;
	simmm_gup_longterm_fn longterm_fn;
};

/* lruvec_add_folio(): @folio (off the LRU) joins the list its flags name,
 * as it is: no evictability check (simmm__lru_add() makes that). */
void simmm__lruvec_add(simmm_sim *sim, struct simmm_page *folio);
/* Pages reclaimed so far, reclaimable folios on the LRU (the four
 * evictable lists). */
void simmm__lru_stats(simmm_sim *sim, uint64_t *nr_lru, uint64_t *reclaimed);
/* Shrink up to @nr pages (@direct: an allocation's reclaim, throttled by
 * too_many_isolated()); returns pages freed (see reclaim.c). */
uint64_t simmm__shrink_lru(simmm_sim *sim, uint64_t nr, bool direct, bool *no_swap);
/* One batch of each inactive list's shrink, anon then file (for tests: one
 * look per folio; see reclaim.c); returns pages freed. */
uint64_t simmm__shrink_inactive_batch(simmm_sim *sim, unsigned nr);
void simmm__lru_fini(simmm_sim *sim);
int simmm__lru_check(simmm_sim *sim);
/* lru_note_cost_refault(): a refault of @folio's type that restored a
 * workingset folio costs as much as its pageout (see reclaim.c). */
void simmm__lru_note_cost_refault(simmm_sim *sim, struct simmm_page *folio);

/* ---- workingset.c -------------------------------------------------------------- */

/* See workingset.c: the shadow entries of evicted folios, the refault
 * distance and the refault activation. */
void simmm__workingset_age_nonresident(struct simmm_lru *l, uint64_t nr);
uint64_t simmm__workingset_eviction(simmm_sim *sim, struct simmm_page *folio);
bool simmm__workingset_test_recent(simmm_sim *sim, uint64_t shadow, bool file, bool *workingset);
void simmm__workingset_refault(simmm_sim *sim, struct simmm_page *folio, uint64_t shadow);
void simmm__workingset_activation(simmm_sim *sim, struct simmm_page *folio);
int simmm__workingset_check_shadow(simmm_sim *sim, uint64_t shadow);

/* ---- gup.c --------------------------------------------------------------------- */

/* simmm__gup_locked() without pages (__get_user_pages() with pages NULL,
 * as populate_vma_page_range() calls it): fault the pages in, take no
 * reference; @pfns may be NULL. Internal: not a FOLL_* bit of the API. */
#define SIMMM__FOLL_POPULATE (1u << 30)
/* FOLL_MADV_POPULATE (with FOLL_HWPOISON): MADV_POPULATE_(READ|WRITE)'s
 * faults, no reference taken, its own errors (see simmm__gup_locked()). */
#define SIMMM__FOLL_MADV_POPULATE (1u << 29)

/* ---- huge.c ------------------------------------------------------------------- */

/* do_huge_pmd_wp_page(): a write or unshare fault (@flags) on a present
 * read-only PMD leaf. The huge zero PMD is replaced by a new THP, mapped
 * dirty and writable where the VMA is, for a write and an unshare alike
 * (since v6.13). A THP nobody else can see is reused: marked
 * anon-exclusive and, for a write, dirty and writable where the VMA is (an
 * unshare leaves the PMD as it was). Otherwise (a shared THP, or no THP to
 * replace the huge zero page with) the PMD is split (huge zero page: into
 * zero-page ptes) and VM_FAULT_FALLBACK returned so the caller retries at
 * PTE level, where the small-page COW or unshare copy happens (upstream
 * since v5.8); the split uses the deposited table and cannot fail for
 * memory. Called by fault.c with the mmap lock held for read. */
unsigned simmm__do_huge_pmd_wp_page(struct simmm_mm *mm, struct simmm_vma *vma,
				    simmm_addr_t addr, unsigned flags);
/* move_huge_pmd(): mremap moves the huge PMD (THP, huge zero, PMD
 * migration or device THP entry) at @old_addr whole to the none PMD slot
 * of @new_addr (its PMD table allocated), its deposit following it to
 * another PMD table; false when it could not (the caller splits). */
bool simmm__move_huge_pmd(struct simmm_mm *mm, simmm_addr_t old_addr, simmm_addr_t new_addr);
/* Is @pfn the huge zero folio (any of its pages)? */
bool simmm__is_huge_zero_pfn(simmm_sim *sim, simmm_pfn_t pfn);
/* PMD order of the geometry, or 0 when PMD leaves are not possible. */
unsigned simmm__pmd_order(simmm_sim *sim);

/* ---- deferred_split.c ---------------------------------------------------------- */

/**
 * struct simmm_deferred_split - the THP deferred split queue (the kernel's
 * struct deferred_split, one per machine).
 * @q: the queue of folio heads (PG_partially_mapped marks its members;
 *   entries of folios freed or split since are stale).
 * @compacted: entries left by the last compaction (the next one comes when
 *   the queue is bloated past it, simmm__pfnq_bloated()).
 * @scanning: the folio the scan took off the queue and works on (0: none):
 *   still queued as far as the checker goes (the kernel's scan moves it to
 *   a list of its own).
 * @in_scan: a scan is running (the machine runs one at a time).
 * @queued: THP_DEFERRED_SPLIT_PAGE, folios queued since boot.
 * @split, @failed, @freed: the scan's folios split, attempts left queued
 *   (lock busy, split refused), pages freed by its splits.
 */
struct simmm_deferred_split {
	struct simmm_pfnq q;
	uint64_t compacted;
	simmm_pfn_t scanning;
	bool in_scan;
	uint64_t queued, split, failed, freed;
};

/* deferred_split_folio(@folio, true): queue a partially mapped anonymous
 * folio of order >= 2 (called by rmap.c). No scheduling point. */
void simmm__deferred_split_folio(simmm_sim *sim, struct simmm_page *folio);
/* The deferred split shrinker's scan: split the queued folios that can
 * be; returns the pages that freed. Reclaim runs it before the LRU. */
uint64_t simmm__deferred_split_scan(simmm_sim *sim);
void simmm__deferred_split_fini(simmm_sim *sim);
int simmm__deferred_split_check(simmm_sim *sim);

/* ---- hugetlb.c ----------------------------------------------------------------- */

/* hugetlb pages in use of @order (0 if the size is not offered). */
uint64_t simmm__hugetlb_in_use(simmm_sim *sim, unsigned order);
/* The leaf level of a huge page of @order (SIMMM_LVL_PTE if the geometry
 * offers no such size). */
enum simmm_level simmm__hugetlb_level(simmm_sim *sim, unsigned order);
/* Is @folio a hugetlb page (marked in its first tail)? */
bool simmm__folio_is_hugetlb(simmm_sim *sim, struct simmm_page *folio);
/* fork: map a copy of the pinned anon-exclusive huge page @src (entry @old
 * in the parent) at @haddr of the child's @dvma; see hugetlb.c. */
int simmm__hugetlb_copy_pinned(struct simmm_vma *dvma, simmm_addr_t haddr,
			       struct simmm_page *src, simmm_entry_t old);
void simmm__hugetlb_fini(simmm_sim *sim);
/* The shared hugetlb page of @file at huge-page index @index, or NULL. */
struct simmm_page *simmm__hugetlb_shared_lookup(simmm_sim *sim, struct simmm_file *file,
						uint64_t index);
/* Drop the shared page at (@file, @index) from the table unless it is
 * mapped (false: unmap it and try again); true when it is gone. */
bool simmm__hugetlb_shared_remove(simmm_sim *sim, struct simmm_file *file, uint64_t index);
/* hugetlbfs_punch_hole() for bytes [@off, @off + @len) of @file, whose huge
 * pages have @order (truncate.c). Context: takes i_rwsem, then each
 * page's fault mutex; no mmap lock. Return: 0 or a lock error. */
int simmm__hugetlb_punch_hole(struct simmm_file *file, uint64_t off, uint64_t len,
			      unsigned order);
/* hugetlb_fault_mutex_table[hugetlb_fault_mutex_hash()]: the fault mutex of
 * huge index @index (in huge pages of its mapping), which faults hold (see
 * hugetlb.c) and a hole punch takes around each page's removal. lock: 0, a
 * lock error (<simmm/sched.h>), -ENOMEM if the pool cannot be created. */
int simmm__hugetlb_fault_mutex_lock(simmm_sim *sim, uint64_t index);
void simmm__hugetlb_fault_mutex_unlock(simmm_sim *sim, uint64_t index);
/* Release the shared hugetlb pages of @file (called when the file dies). */
void simmm__hugetlb_file_release(simmm_sim *sim, struct simmm_file *file);
/* Does @vma map hugetlb pages? */
static inline bool simmm__is_vm_hugetlb(const struct simmm_vma *vma)
{
	return (vma->vm_flags & SIMMM_VM_HUGETLB) != 0;
}

/* ---- teardown and checks ------------------------------------------------------ */

/* Free swap, LRU, hugetlb state (called from mm.c's finaliser after the
 * last mm is gone; also safe to call when nothing was initialised). */
void simmm__mm_ext_fini(simmm_sim *sim);
int simmm__mm_ext_check(simmm_sim *sim, void *arg);

#endif
