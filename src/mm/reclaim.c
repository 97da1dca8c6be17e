// SPDX-License-Identifier: MIT
/*
 * The LRU and page reclaim (mm/vmscan.c, mm/swap.c's LRU half).
 *
 * The classic (lru_gen off) LRU, one per machine (no memcg, no per-node
 * lists): an inactive and an active list for each type, anon and file
 * (folio_is_file_lru(): a folio that is not swap-backed, so page-cache
 * folios and lazyfree anonymous ones, is on the file lists; anonymous
 * and shmem folios on the anon lists), and the unevictable list of the
 * mlocked folios (mlock.c), which reclaim never scans. Each list is a FIFO
 * of folio head pfns with lazy deletion (pfnq.c): PG_lru marks a folio on
 * the LRU, PG_unevictable, else PG_swapbacked and PG_active name its list,
 * and the three change on an LRU folio only through simmm__lru_move()
 * (MADV_FREE's lru_lazyfree() moves a folio to the inactive file list so;
 * reclaim finds a lazyfree folio written again and makes it swap-backed
 * while it holds it isolated, and puts it back on the active anon list).
 * simmm__lru_del() clears PG_lru and the queue entry is dropped when the
 * scan meets it (a freed folio's flags are wiped, so it drops out the same
 * way; so does an entry of a folio that moved to another list). A queue
 * is compacted (stale and duplicate entries removed) when it grows past
 * twice its live count. List sizes are in folios (the kernel counts
 * pages), and so are the costs below.
 *
 * Aging: new folios go to the inactive list of their type (lru_add());
 * reads through the page cache mark folios accessed (referenced, then
 * active); when a type's inactive list is smaller than its active one
 * (inactive_is_low() with the kernel's ratio of 1 for small machines),
 * shrink_active_list() moves active folios of that type to its inactive
 * list, clearing their young bits and setting PG_workingset, except
 * referenced executable file folios; MADV_COLD deactivates (madvise.c).
 * Workingset refault detection (workingset.c): an evicted page-cache or
 * swap-cache folio leaves a shadow entry, and a folio that refaults onto
 * a recent one is added active (workingset_refault()); evictions and
 * activations (folio_mark_accessed(), reclaim's putback of active folios,
 * refault activations) age the LRU's nonresident_age.
 *
 * Scan balance (shrink_node()'s prepare_scan_control() and
 * get_scan_count() as mm/vmscan.c has them at torvalds/linux 538d5baa,
 * a 6.1x tree, global reclaim): at each priority, without
 * a free swap slot only the file lists are scanned; at priority 0 with a
 * swappiness every list for its size (SCAN_EQUAL); when the file folios
 * and free memory together are within the high watermark (file_is_tiny,
 * see high_wmark_pages()) only the anon lists; with enough inactive file
 * folios not low (cache_trim_mode) only the file lists; else each type
 * for its share (SCAN_FRACT), swappiness (vm.swappiness,
 * simmm_set_swappiness(), default 60) against 200 - swappiness, each
 * divided by the type's recent cost. lru_note_cost() notes the cost of
 * each shrink_inactive_list() batch (32 per folio written out, 1 per
 * folio looked at and not freed) and of shrink_active_list()'s
 * rotations, and of each refault that restored a workingset folio
 * (lru_note_cost_refault(): 32, as a pageout). A type that refaults
 * (refault activations since the last reclaim's end, snapshot_refaults())
 * has its active list aged whether or not its inactive list is low.
 * shrink_lruvec()
 * scans the targets round-robin over the four lists, adjusts them
 * proportionally once the goal is met (for kswapd and simmm_reclaim();
 * not for a direct reclaimer at DEF_PRIORITY, which scans them all), and
 * ages a low inactive anon list once more at its end when there is a swap
 * device.
 *
 * Reclaim is shrink_folio_list() over an inactive list, reduced to what
 * simmm models (each folio trylocked first, everything else under its
 * lock; a folio somebody else holds locked is kept, untouched):
 *  - an unevictable (mlocked) folio goes straight to activate_locked, and
 *    the putback culls it to the unevictable list (move_folios_to_lru():
 *    folio_putback_lru(); lru_add() below); so does one that reclaim finds
 *    mapped by a VM_LOCKED VMA: folio_referenced() and try_to_unmap() mlock
 *    it there (rmap.c), an mlocked folio is not activated, and with it
 *    goes its swap slot, if no swap entry needs it (folio_free_swap());
 *  - folio_check_references() (rmap: test-and-clear young bits, notifier
 *    clear_young, the VMA flags): young with PG_referenced
 *    already set, young in two mappings, or young in an executable file
 *    mapping activate; young once sets PG_referenced and keeps it on the
 *    inactive list (so does a busy rmap lock); PG_referenced alone lets a
 *    clean file folio go and keeps a dirty one (FOLIOREF_RECLAIM_CLEAN),
 *    and does not save an anonymous one;
 *  - references beyond the mappings and the caches do not stop reclaim
 *    before it unmaps, as in the kernel: a maybe-DMA-pinned anonymous
 *    folio is not added to swap, try_to_unmap() leaves an anon-exclusive
 *    page of a maybe-pinned folio mapped (folio_try_share_anon_rmap_pte()
 *    fails) and a lazyfree folio with extra references too, a pinned folio
 *    is kept once unmapped; anything else (a FOLL_GET reference, a fault
 *    or COW copy in progress) is unmapped and written out, and only then
 *    does __remove_mapping()'s refcount freeze (isolation + cache) fail:
 *    the folio stays in the swap or page cache, unmapped, and goes back
 *    to the inactive list (not freed, not counted); a folio still mapped
 *    after try_to_unmap(), or pinned once unmapped, is activated
 *    (activate_locked). The next fault finds it there (a
 *    swap-cache hit: the same frame, no I/O). A FOLL_GET reference keeps
 *    a page alive, not mapped: FOLL_PIN exists for that;
 *  - large anonymous folios are split first (split_folio_to_list(), as
 *    shrink_folio_list() does when a THP cannot be swapped as a unit) and
 *    their pages are reclaimed one by one; a folio with extra references
 *    cannot be split (upstream's can_split_folio()) and is activated;
 *  - lazyfree (MADV_FREE'd: anon, !PG_swapbacked) folios are never added
 *    to swap: try_to_unmap() without a swap entry discards the clean ones;
 *    a dirty pte or folio (written since, through a mapping or a GUP write)
 *    makes it swap-backed again and keeps it for this round (activated:
 *    to the active anon list), references beyond the mappings keep it
 *    lazyfree (6.14+);
 *  - other anonymous folios go to swap: add_to_swap() (which marks the
 *    folio dirty), try_to_unmap() to swap entries (the ptes' dirty bits go
 *    to the folio), pageout of a dirty folio only (a clean swap-cache
 *    folio's slot holds its contents already), then they leave the swap
 *    cache and are freed; without a swap slot they are activated;
 *  - file folios are unmapped, their data written back to the file's
 *    backing store if dirty, and dropped from the page cache
 *    (filemap_evict());
 *    shmem (swap-backed file) folios are not reclaimed (simmm has no
 *    shmem swap-out path: they leave the LRU). Writing a
 *    dirty file folio back is kswapd's privilege; simmm's LRU shrinks take
 *    it (simmm has no flusher threads), reclaim_pages() does not.
 *
 * Two entries: simmm__shrink_lru() scans the LRU (simmm_reclaim(), and
 * direct reclaim when the buddy allocator runs dry under
 * simmm__alloc_user_folio() with auto reclaim on); simmm__reclaim_folios()
 * is reclaim_pages() for folios a caller isolated (MADV_PAGEOUT, through
 * src/mm/madvise.c): the same per-folio paths with references ignored and
 * dirty file folios kept (activated). Both count in the scanned/reclaimed
 * totals (and the per-type ones: the list's type for the shrinks, the
 * folio's for reclaim_pages()); what they keep goes back to the list its
 * fate names. (Tests reach one batch of each inactive list,
 * simmm__shrink_inactive_batch(), to give a folio exactly one look.)
 *
 * Concurrency, as in the kernel, where reclaimers are independent:
 *  - isolation: a shrink takes a batch of folios off the LRU before
 *    working on them (isolate_lru_folios(): PG_lru cleared, a reference
 *    taken, under the lru_lock, so no scheduling point; up to
 *    SWAP_CLUSTER_MAX, fewer at the high scan priorities of a small
 *    machine); what it keeps it puts back at the end of the batch
 *    (move_folios_to_lru()), to the list its flags name, and what it
 *    freed returns to the buddy allocator only then; so does
 *    shrink_active_list(). The batches count in nr_isolated
 *    (NR_ISOLATED_ANON + _FILE, by the type of the list they came from),
 *    folio_isolate_lru()'s do not. A folio belongs to one
 *    isolator: another shrink, MADV_PAGEOUT's folio_isolate_lru() and
 *    migration's all fail on it meanwhile, and nobody else sets PG_lru on
 *    it again. A large folio is split by its isolator, whose tails then go
 *    to the LRU (upstream: onto the reclaimer's private list);
 *  - no recursion, per task: both entries mark the current task as
 *    reclaiming (PF_MEMALLOC in its flags word, memalloc_noreclaim_save()
 *    and _restore()), and an allocation made meanwhile by that task (a
 *    notifier callback's fault, say) fails rather than reclaim again; the
 *    allocations of other tasks reclaim as usual while it sleeps inside;
 *  - throttling, twice: a direct reclaimer about to isolate a batch of a
 *    type while the shrinks hold more folios of that type isolated than an
 *    eighth of its inactive list (too_many_isolated(), NR_ISOLATED_ANON or
 *    _FILE) waits until another reclaimer finds the count
 *    low again, or 20 ms of virtual time (reclaim_throttle(
 *    VMSCAN_THROTTLE_ISOLATED), HZ/50), once, and gives that batch up if
 *    it is still too many; and a direct reclaimer that freed nothing while
 *    others hold folios isolated waits for one of those isolations to end,
 *    or 20 ms, and tries again, at most MAX_RECLAIM_RETRIES (16) times per
 *    allocation (__alloc_pages_slowpath()'s no-progress retries): it ends,
 *    with a page or -ENOMEM, whatever the others do. Only tasks wait:
 *    outside them nothing else could end an isolation.
 */
#include <string.h>

#include "mm/mm_ext.h"

#define SWAP_CLUSTER_MAX 32 /* the kernel's direct-reclaim batch */
#define MAX_RECLAIM_RETRIES 16 /* the page allocator's no-progress retries */
#define THROTTLE_ISOLATED_MS 20 /* reclaim_throttle(VMSCAN_THROTTLE_ISOLATED): HZ/50 */

static struct simmm_lru *lru_of(simmm_sim *sim)
{
	struct simmm_mm_global *g = simmm__mm_global(sim);

	if (!g)
		return NULL;
	if (!g->lru && simmm__swap_init(sim))
		return NULL;
	return g->lru;
}

/* The LRU if it exists (without creating it). */
static struct simmm_lru *lru_peek(simmm_sim *sim)
{
	struct simmm_mm_global *g = simmm__mm_global(sim);

	return g ? g->lru : NULL;
}

/* ---- PF_MEMALLOC ------------------------------------------------------------ */

/* Is the current task reclaiming (current->flags & PF_MEMALLOC)? */
static bool current_is_reclaiming(simmm_sim *sim)
{
	return (*simmm__task_flags(sim) & SIMMM_PF_MEMALLOC) != 0;
}

/* memalloc_noreclaim_save(): mark the current task as reclaiming; returns
 * the previous state for memalloc_noreclaim_restore(), so that nested
 * entries (a reclaim_pages() from a notifier callback of a shrink) leave
 * it set for the outer one. */
static uint32_t memalloc_noreclaim_save(simmm_sim *sim)
{
	uint32_t *flags = simmm__task_flags(sim);
	uint32_t old = *flags & SIMMM_PF_MEMALLOC;

	*flags |= SIMMM_PF_MEMALLOC;
	return old;
}

static void memalloc_noreclaim_restore(simmm_sim *sim, uint32_t old)
{
	uint32_t *flags = simmm__task_flags(sim); /* the same task: it did not change */

	*flags = (*flags & ~SIMMM_PF_MEMALLOC) | old;
}

/* ---- the lists ------------------------------------------------------------- */

/* The page-cache LRU type (folio_is_file_lru()): not swap-backed, so file
 * folios and lazyfree anonymous ones; shmem counts as anon. */
static bool folio_is_file_lru(const struct simmm_page *folio)
{
	return !(folio->flags & PG_swapbacked);
}

/* The list a folio with PG_lru is on (folio_lru_list()). */
static enum simmm_lru_list folio_lru_list(const struct simmm_page *folio)
{
	unsigned lru;

	if (folio->flags & PG_unevictable)
		return SIMMM_LRU_UNEVICTABLE;
	lru = folio_is_file_lru(folio) ? SIMMM_LRU_INACTIVE_FILE : SIMMM_LRU_INACTIVE_ANON;
	if (folio->flags & PG_active)
		lru += SIMMM_LRU_ACTIVE;
	return (enum simmm_lru_list)lru;
}

/* is_file_lru() / is_active_lru() of an evictable list. */
static bool is_file_lru(unsigned lru)
{
	return lru >= SIMMM_LRU_INACTIVE_FILE;
}

static bool is_active_lru(unsigned lru)
{
	return lru % 2 == SIMMM_LRU_ACTIVE;
}

/* A queue entry of list @lru names a folio on that list: an in-use head
 * with PG_lru whose flags name @lru. */
static struct simmm_page *lru_entry_live(simmm_sim *sim, simmm_pfn_t pfn,
					 enum simmm_lru_list lru)
{
	struct simmm_page *p = simmm__pfn_to_page(sim, pfn);

	if (!p || p->refcount <= 0 || p->head_delta || !(p->flags & PG_lru) ||
	    folio_lru_list(p) != lru)
		return NULL;
	return p;
}

static struct simmm_page *live_inactive_anon(simmm_sim *sim, simmm_pfn_t pfn)
{
	return lru_entry_live(sim, pfn, SIMMM_LRU_INACTIVE_ANON);
}

static struct simmm_page *live_active_anon(simmm_sim *sim, simmm_pfn_t pfn)
{
	return lru_entry_live(sim, pfn, SIMMM_LRU_ACTIVE_ANON);
}

static struct simmm_page *live_inactive_file(simmm_sim *sim, simmm_pfn_t pfn)
{
	return lru_entry_live(sim, pfn, SIMMM_LRU_INACTIVE_FILE);
}

static struct simmm_page *live_active_file(simmm_sim *sim, simmm_pfn_t pfn)
{
	return lru_entry_live(sim, pfn, SIMMM_LRU_ACTIVE_FILE);
}

static struct simmm_page *live_unevictable(simmm_sim *sim, simmm_pfn_t pfn)
{
	return lru_entry_live(sim, pfn, SIMMM_LRU_UNEVICTABLE);
}

static const simmm_pfnq_live_fn lru_live[SIMMM_NR_LRU_LISTS] = {
	[SIMMM_LRU_INACTIVE_ANON] = live_inactive_anon,
	[SIMMM_LRU_ACTIVE_ANON] = live_active_anon,
	[SIMMM_LRU_INACTIVE_FILE] = live_inactive_file,
	[SIMMM_LRU_ACTIVE_FILE] = live_active_file,
	[SIMMM_LRU_UNEVICTABLE] = live_unevictable,
};

/* The folios on the four evictable lists. */
static uint64_t lru_evictable(const struct simmm_lru *l)
{
	uint64_t n = 0;

	for (unsigned lru = 0; lru < SIMMM_NR_EVICTABLE_LRU; lru++)
		n += l->nr_live[lru];
	return n;
}

/**
 * simmm__lruvec_add() - lruvec_add_folio(): put @folio (off the LRU) at the
 * tail (the newest end) of the list its flags name, as it is. A folio
 * already on the LRU is left where it is.
 * Context: no scheduling point.
 */
void simmm__lruvec_add(simmm_sim *sim, struct simmm_page *folio)
{
	struct simmm_lru *l = lru_of(sim);
	enum simmm_lru_list lru;

	folio = simmm__compound_head(sim, folio);
	if (!l || (folio->flags & (PG_lru | PG_reserved | PG_table)))
		return;
	lru = folio_lru_list(folio);
	/* Compaction recounts nr_live: every folio with PG_lru has an entry,
	 * so the survivors are exactly those folios (a folio freed by a bare
	 * folio_put(), without simmm__lru_del(), left nr_live one too high
	 * until now). Hence before this folio gets PG_lru: the recount must
	 * not see one whose entry is not queued yet. */
	if (simmm__pfnq_bloated(&l->q[lru], l->nr_live[lru]))
		l->nr_live[lru] = simmm__pfnq_compact(sim, &l->q[lru], lru_live[lru]);
	folio->flags |= PG_lru;
	l->nr_live[lru]++;
	simmm__pfnq_push(sim, &l->q[lru], folio->pfn);
}

/**
 * simmm__lru_add() - folio_add_lru() and folio_putback_lru() (the kernel's
 * lru_add() on the folio batch): a user folio off the LRU goes to the
 * list it belongs on. An evictable one goes to the list its flags name,
 * anon or file by PG_swapbacked, active or inactive by PG_active (a new
 * folio to an inactive list: modern kernels activate none on insertion;
 * the workingset activates a recent refault before this, see
 * workingset.c), losing
 * PG_unevictable if it had it (unevictable_pgs_rescued: munlocked while
 * isolated). An mlocked one is culled to the unevictable list without
 * PG_active, its mlock_count reset to 0: whoever isolated it may have
 * missed or double-counted mlocks, and upstream errs on the low side,
 * reclaim counting it up again. A folio already on the LRU is left where
 * it is.
 * Context: no scheduling point.
 */
void simmm__lru_add(simmm_sim *sim, struct simmm_page *folio)
{
	struct simmm_lru *l = lru_of(sim);
	uint64_t nr;

	folio = simmm__compound_head(sim, folio);
	if (!l || (folio->flags & (PG_lru | PG_reserved | PG_table)))
		return;
	nr = 1ULL << folio->order;
	if (simmm__folio_evictable(folio)) {
		if (folio->flags & PG_unevictable) {
			folio->flags &= ~PG_unevictable;
			l->rescued += nr;
		}
	} else {
		if (!(folio->flags & PG_unevictable))
			l->culled += nr;
		folio->flags = (folio->flags & ~PG_active) | PG_unevictable;
		folio->mlock_count = 0;
	}
	simmm__lruvec_add(sim, folio);
}

/**
 * simmm__lru_del() - lruvec_del_folio(): take a folio off its list (lazily:
 * its queue entry is skipped later).
 */
void simmm__lru_del(simmm_sim *sim, struct simmm_page *folio)
{
	struct simmm_lru *l = lru_peek(sim);
	enum simmm_lru_list lru;

	folio = simmm__compound_head(sim, folio);
	if (!(folio->flags & PG_lru))
		return;
	lru = folio_lru_list(folio);
	folio->flags &= ~PG_lru;
	if (l && l->nr_live[lru])
		l->nr_live[lru]--;
}

void simmm__lru_move(simmm_sim *sim, struct simmm_page *folio, uint32_t clear, uint32_t set)
{
	bool on_lru;

	folio = simmm__compound_head(sim, folio);
	on_lru = folio->flags & PG_lru;
	if (on_lru)
		simmm__lru_del(sim, folio);
	folio->flags = (folio->flags & ~clear) | set;
	if (on_lru)
		simmm__lruvec_add(sim, folio);
}

/* lru_activate() (folio_activate() on an LRU folio), counted as pgactivate. */
static void lru_activate(simmm_sim *sim, struct simmm_page *folio)
{
	struct simmm_lru *l = lru_peek(sim);

	if (folio->flags & (PG_active | PG_unevictable) || !(folio->flags & PG_lru))
		return;
	simmm__lru_move(sim, folio, 0, PG_active);
	if (l)
		l->activated++;
}

/**
 * simmm__folio_mark_accessed() - folio_mark_accessed() with the classic
 * two-list LRU: the first access sets PG_referenced; the next one, on an
 * inactive folio, activates it and clears PG_referenced (a folio off the
 * LRU, isolated by someone, is not activated: the kernel looks only in the
 * per-cpu lru_add batch, which simmm does not have). Either way the
 * activation ages the LRU for the workingset (workingset_activation()).
 * Called for reads through the page cache (filemap_read()).
 * Context: no scheduling point.
 */
void simmm__folio_mark_accessed(simmm_sim *sim, struct simmm_page *folio)
{
	folio = simmm__compound_head(sim, folio);
	if (!(folio->flags & PG_referenced)) {
		folio->flags |= PG_referenced;
	} else if (!(folio->flags & (PG_unevictable | PG_active))) {
		lru_activate(sim, folio);
		folio->flags &= ~PG_referenced;
		simmm__workingset_activation(sim, folio);
	}
}

/**
 * simmm__folio_deactivate() - folio_deactivate() (lru_deactivate()): an
 * active, evictable folio on the LRU goes to the tail of the inactive
 * list without PG_active and PG_referenced; any other folio is left as it
 * is (MADV_COLD clears PG_referenced itself).
 * Context: no scheduling point.
 */
void simmm__folio_deactivate(simmm_sim *sim, struct simmm_page *folio)
{
	struct simmm_lru *l = lru_peek(sim);

	folio = simmm__compound_head(sim, folio);
	if ((folio->flags & (PG_lru | PG_active | PG_unevictable)) != (PG_lru | PG_active))
		return;
	simmm__lru_move(sim, folio, PG_active | PG_referenced, 0);
	if (l)
		l->deactivated++;
}

void simmm__lru_stats(simmm_sim *sim, uint64_t *nr_lru, uint64_t *reclaimed)
{
	struct simmm_lru *l = lru_peek(sim);

	if (nr_lru)
		*nr_lru = l ? lru_evictable(l) : 0;
	if (reclaimed)
		*reclaimed = l ? l->reclaimed : 0;
}

/* ---- shrink_folio_list ----------------------------------------------------------- */

/* What simmm models of shrink_folio_list()'s struct scan_control and
 * struct reclaim_stat. */
struct scan_ctl {
	bool ignore_refs;    /* reclaim_pages(): references not looked at (ignore_references) */
	bool file_write;     /* dirty file folios may be written back: kswapd's right,
			      * which simmm's LRU shrinks always take */
	unsigned nr_pageout; /* folios pageout() wrote (stat.nr_pageout), for lru_note_cost() */
};

/* What shrink_folio_list() does with a folio (its labels). */
enum scan_result {
	SCAN_RECLAIMED,  /* freed */
	SCAN_KEEP,       /* keep_locked: back to the inactive list's tail */
	SCAN_ACTIVATE,   /* activate_locked: PG_active, to the active list */
	SCAN_DROP,       /* leave the LRU (unevictable) */
	SCAN_NOSWAP,     /* anon folio, but no swap slot (activate_locked_split) */
};

/* __remove_mapping()'s refcount freeze: an unmapped folio can go only if
 * nobody but our isolation reference and its page or swap cache (one
 * reference in simmm, where cached folios are order 0) holds it. Anything
 * else (a FOLL_GET reference, a fault or a COW copy in progress) makes the
 * kernel's folio_ref_freeze(folio, 1 + nr) fail: the folio stays in its
 * cache, unmapped, for the next fault to find. */
static bool folio_ref_freezable(struct simmm_page *folio, int cache_refs)
{
	return folio->refcount == 1 + cache_refs;
}

/* folio_check_references()'s answers. */
enum folio_references {
	FOLIOREF_RECLAIM,       /* go on and reclaim */
	FOLIOREF_RECLAIM_CLEAN, /* reclaim if clean, else keep (file LRU) */
	FOLIOREF_KEEP,          /* back to the inactive list */
	FOLIOREF_ACTIVATE,      /* to the active list */
};

/* folio_check_references() of the classic (lru_gen off) LRU. Every mapped
 * folio starts young from the fault that mapped it, so one young look only
 * earns PG_referenced and another trip round the inactive list; a second
 * (PG_referenced already set), or young ptes in two mappings at once,
 * activates it, anon and file alike (since v5.9 anon folios no longer
 * activate on their first reference); file-backed executable mappings
 * activate at once. Without young ptes, PG_referenced alone (a read
 * through the page cache, folio_mark_accessed()) does not save a folio:
 * FOLIOREF_RECLAIM_CLEAN lets a clean file folio go and keeps a dirty one;
 * anon ones are reclaimed. */
static enum folio_references folio_check_references(simmm_sim *sim, struct simmm_page *folio)
{
	uint64_t vm_flags;
	int referenced_ptes = simmm__folio_referenced_flags(sim, folio, &vm_flags);
	bool referenced_folio;

	/* Found in a VM_LOCKED VMA: folio_referenced_one() mlocked it (when
	 * the VMA maps it whole), so activate_locked leaves it inactive and
	 * the putback culls it to the unevictable list. */
	if (vm_flags & SIMMM_VM_LOCKED)
		return FOLIOREF_ACTIVATE;
	if (referenced_ptes == -1)
		return FOLIOREF_KEEP; /* rmap lock contention: rotate */
	referenced_folio = folio->flags & PG_referenced;
	folio->flags &= ~PG_referenced;
	if (referenced_ptes) {
		/* The mark is set on activated folios too, so that one used
		 * again soon after deactivation comes back at once. */
		folio->flags |= PG_referenced;
		if (referenced_folio || referenced_ptes > 1)
			return FOLIOREF_ACTIVATE;
		if ((vm_flags & SIMMM_VM_EXEC) && folio_is_file_lru(folio))
			return FOLIOREF_ACTIVATE;
		return FOLIOREF_KEEP;
	}
	if (referenced_folio && folio_is_file_lru(folio))
		return FOLIOREF_RECLAIM_CLEAN;
	return FOLIOREF_RECLAIM;
}

static enum scan_result reclaim_lazyfree(simmm_sim *sim, struct simmm_page *folio)
{
	/* try_to_unmap_one() without a swap entry on a lazyfree folio drops
	 * clean ptes; a pte dirtied since MADV_FREE makes it give up and
	 * mark the folio swap-backed again, and so do references beyond the
	 * mappings, without swap-backing it (see ttu_must_abort()). */
	if (!simmm__try_to_unmap(sim, folio, 0))
		return SCAN_ACTIVATE; /* still mapped: activate_locked */
	if (folio->flags & PG_dirty) {
		folio->flags |= PG_swapbacked;
		return SCAN_ACTIVATE;
	}
	/* shrink_folio_list(): a pinned folio is activated once unmapped,
	 * and a lazyfree one is freed only if folio_ref_freeze(folio, 1)
	 * works: a reference taken since the unmap keeps it. */
	if (simmm__folio_maybe_dma_pinned(sim, folio))
		return SCAN_ACTIVATE;
	if (!folio_ref_freezable(folio, 0))
		return SCAN_KEEP;
	return SCAN_RECLAIMED;
}

static enum scan_result reclaim_anon(simmm_sim *sim, struct simmm_page *folio,
				     struct scan_ctl *sc)
{
	simmm_entry_t swp;

	/* shrink_folio_list() adds only swap-backed folios to swap: a lazyfree
	 * one dirtied since MADV_FREE (a GUP write, a split dirty PMD) goes to
	 * try_to_unmap(), which makes it swap-backed and keeps it this round. */
	if (!(folio->flags & PG_swapbacked))
		return reclaim_lazyfree(sim, folio);
	if (folio->flags & PG_swapcache) {
		swp = folio->private;
	} else {
		/* add_to_swap(): a slot and the swap cache, nothing written
		 * yet (pageout() below writes, after the unmap). The folio is
		 * marked dirty at once (folio_mark_dirty()): its slot holds
		 * nothing yet, and the unmap cannot be relied on to dirty it
		 * (upstream's comment there: a MADV_FREE'd pte cleaned while
		 * the folio stayed swap-backed would otherwise never be
		 * written, and read back as garbage). */
		swp = simmm__swap_add_to_cache(sim, folio);
		if (!swp)
			return SCAN_NOSWAP;
		folio->flags |= PG_dirty;
	}
	/* An anon-exclusive page of a maybe-pinned folio stays mapped
	 * (folio_try_share_anon_rmap_pte() fails); a page with a FOLL_GET
	 * reference is unmapped like any other. */
	if (!simmm__try_to_unmap(sim, folio, swp))
		return SCAN_ACTIVATE; /* still mapped: activate_locked, in the swap cache */
	/* The walk slept (notifier brackets). Our folio lock keeps the folio
	 * in the swap cache (simmm__swap_free() leaves a locked folio there);
	 * should it have left anyway, pageout() keeps a folio without a
	 * mapping rather than writing it. */
	if (!(folio->flags & PG_swapcache) || folio->private != swp)
		return SCAN_KEEP;
	/* Unmapped, it cannot be newly pinned: a pinned one is activated
	 * before pageout (shrink_folio_list() since 6.4, "mm: do not reclaim
	 * private data from pinned page"). */
	if (simmm__folio_maybe_dma_pinned(sim, folio))
		return SCAN_ACTIVATE;
	/* pageout() after the unmap, which moved the ptes' dirty bits to the
	 * folio: shrink_folio_list() writes only a dirty folio. A clean one
	 * has contents its slot already holds (written by an earlier
	 * pageout, or read from it and not changed since: every writer
	 * dirties the folio or a pte mapping it), and goes without I/O. */
	if (folio->flags & PG_dirty) {
		if (simmm__swap_writepage(sim, folio))
			return SCAN_KEEP;
		folio->flags &= ~PG_dirty;
		sc->nr_pageout++;
	}
	/* __remove_mapping(): with an extra reference the folio stays in the
	 * swap cache, clean and unmapped; the swap entries now in the ptes
	 * fault this very folio back (a swap-cache hit, no I/O), and a later
	 * reclaim frees it without writing it again. */
	if (!folio_ref_freezable(folio, 1))
		return SCAN_KEEP;
	/* __remove_mapping(): the slot keeps a shadow entry in the folio's
	 * place (workingset_eviction()), for the swap-in to judge the
	 * refault by. */
	simmm__swap_cache_evict(sim, folio, simmm__workingset_eviction(sim, folio));
	return SCAN_RECLAIMED;
}

/* @clean_only: FOLIOREF_RECLAIM_CLEAN, a dirty folio is kept. */
static enum scan_result reclaim_file(simmm_sim *sim, struct simmm_page *folio,
				     struct scan_ctl *sc, bool clean_only)
{
	struct simmm_file *file = folio->mapping;
	enum scan_result r = SCAN_KEEP;

	if ((folio->flags & PG_swapbacked) || !file)
		return SCAN_DROP; /* shmem: no swap-out path in simmm */
	/* try_to_unmap() may sleep and the file's last VMA may go meanwhile:
	 * our reference keeps the inode (the kernel's folio lock holds off
	 * truncation and eviction of the inode). File pages are unmapped
	 * whatever references they have, pins included. */
	simmm__file_get(file);
	if (!simmm__try_to_unmap(sim, folio, 0)) {
		r = SCAN_ACTIVATE; /* still mapped (a VM_LOCKED VMA: now mlocked) */
	} else if (folio->mapping != file) {
		r = SCAN_KEEP;
	} else if (simmm__folio_maybe_dma_pinned(sim, folio)) {
		r = SCAN_ACTIVATE;
	} else if ((folio->flags & PG_dirty) && (clean_only || !sc->file_write)) {
		/* Unmapped (the unmap moved the ptes' dirty bits to it) and
		 * dirty, it stays in the page cache: FOLIOREF_RECLAIM_CLEAN
		 * keeps it on the inactive list; without kswapd's right to
		 * write it back (reclaim_pages()), it is activated with
		 * PG_reclaim for the flusher, which simmm does not have. */
		r = clean_only ? SCAN_KEEP : SCAN_ACTIVATE;
	} else {
		/* pageout() writes a dirty folio back (only kswapd writes a
		 * dirty file folio back; simmm's LRU shrinks act as kswapd); a
		 * clean one matches the file's store already. Then
		 * __remove_mapping() drops the cache's reference unless
		 * someone else holds one: the folio stays in the page cache,
		 * clean and unmapped. */
		if (folio->flags & PG_dirty) {
			simmm__filemap_writeback(file, folio);
			sc->nr_pageout++;
		}
		if (folio_ref_freezable(folio, 1)) {
			/* With a shadow entry in its page-cache slot. */
			simmm__filemap_evict(file, folio, simmm__workingset_eviction(sim, folio));
			r = SCAN_RECLAIMED;
		}
	}
	simmm__file_put(file);
	return r;
}

/* Put the tails of a just split, isolated (off-LRU) folio on the LRU,
 * last first (the order the split of an LRU folio queues them in). Called
 * with no scheduling point since the split: a tail it freed (unmapped) is
 * still free. */
static void split_tails_to_lru(simmm_sim *sim, struct simmm_page *head, uint64_t nr)
{
	for (uint64_t i = nr; i-- > 1;) {
		struct simmm_page *p = simmm__pfn_to_page(sim, head->pfn + i);

		if (p->refcount > 0)
			simmm__lru_add(sim, p);
	}
}

/* activate_locked: "not a candidate for swapping, so reclaim swap space":
 * a swap-cache folio going back to the LRU gives up its swap slot
 * (folio_free_swap(), only when no swap entry still needs it) when swap
 * is more than half full (mem_cgroup_swap_full(): vm_swap_full()) or the
 * folio is mlocked (it will not be swapped out). Otherwise it keeps the
 * slot for the next pass. The folio is locked. */
static void activate_locked_swap(simmm_sim *sim, struct simmm_page *folio)
{
	if ((folio->flags & PG_swapcache) &&
	    (simmm__vm_swap_full(sim) || (folio->flags & PG_mlocked)))
		simmm__folio_free_swap(sim, folio);
}

/* shrink_folio_list() for one folio it holds locked (and isolated, with a
 * reference). */
static enum scan_result reclaim_locked(simmm_sim *sim, struct simmm_page *folio,
				       struct scan_ctl *sc)
{
	enum folio_references refs = FOLIOREF_RECLAIM;

	if (folio->flags & (PG_reserved | PG_zero) || simmm__is_zone_device_page(folio))
		return SCAN_DROP;
	/* shrink_folio_list(): an unevictable folio (mlocked since it was
	 * isolated) goes to activate_locked; the putback culls it. */
	if (!simmm__folio_evictable(folio))
		return SCAN_ACTIVATE;
	if (!sc->ignore_refs) {
		refs = folio_check_references(sim, folio);
		if (refs == FOLIOREF_KEEP)
			return SCAN_KEEP;
		if (refs == FOLIOREF_ACTIVATE)
			return SCAN_ACTIVATE;
	}
	/* shrink_folio_list() adds no maybe-pinned anonymous folio to swap
	 * ("mm: don't put pinned pages into the swap cache", 5.13). Other
	 * references do not stop it here: they are met by try_to_unmap()'s
	 * and __remove_mapping()'s rules below. */
	if ((folio->flags & (PG_anon | PG_swapbacked | PG_swapcache)) ==
		    (PG_anon | PG_swapbacked) &&
	    simmm__folio_maybe_dma_pinned(sim, folio))
		return SCAN_KEEP;
	if (folio->order) {
		/* split_folio() fails (-EBUSY) on a folio with references
		 * beyond its mappings, ours and the swap cache, as upstream's
		 * can_split_folio() check refuses it (activate_locked). */
		uint64_t nr = 1ULL << folio->order;

		if (!(folio->flags & PG_anon))
			return SCAN_KEEP;
		if (simmm__split_folio(sim, folio))
			return SCAN_ACTIVATE;
		/* Both callers isolated the folio, so the split left its tails
		 * off the LRU (it requeues only an LRU folio's): they go there
		 * now, for a later pass (upstream puts them on the list being
		 * reclaimed). Nobody else can split it meanwhile: our isolation
		 * reference fails their can_split_folio(). Go on with the head,
		 * still isolated and locked (the tails are not: split_one()
		 * does not copy PG_locked, as __split_unmapped_folio() unlocks
		 * every new folio but the one the caller locked). */
		split_tails_to_lru(sim, folio, nr);
	}
	/* A swap-cache folio nothing has mapped yet (swap readahead,
	 * MADV_WILLNEED) is not PG_anon until a fault maps it, but it is
	 * swap-backed anonymous memory all the same: shrink_folio_list()
	 * frees it from the swap cache (__remove_mapping()) like any clean
	 * one; reclaim_file() would take it for shmem and drop it off the
	 * LRU for good. */
	return (folio->flags & (PG_anon | PG_swapcache))
		       ? reclaim_anon(sim, folio, sc)
		       : reclaim_file(sim, folio, sc, refs == FOLIOREF_RECLAIM_CLEAN);
}

/*
 * One folio, isolated by the caller (off the LRU, with a reference).
 * shrink_folio_list() trylocks each folio first and does everything else
 * under its lock: the references check, the split, add_to_swap(), the
 * unmap, pageout and __remove_mapping(). A folio someone else holds
 * locked (a fault swapping it in, a migration, a writeback, a split) is
 * kept for a later pass, untouched. The trylock is a scheduling point;
 * the isolation reference keeps the folio meanwhile.
 */
static enum scan_result reclaim_folio(simmm_sim *sim, struct simmm_page *folio,
				      struct scan_ctl *sc)
{
	enum scan_result r;

	/* Isolation is exclusive: nobody puts a folio on the LRU that
	 * another holds isolated (shrink_folio_list()'s VM_BUG_ON_FOLIO()). */
	if (NEVER(folio->flags & PG_lru))
		return SCAN_KEEP;
	if (!simmm__folio_trylock(sim, folio))
		return SCAN_KEEP;
	r = reclaim_locked(sim, folio, sc);
	if (r == SCAN_ACTIVATE)
		activate_locked_swap(sim, folio);
	simmm__folio_unlock(sim, folio);
	return r;
}

/* isolate_lru_folios(): up to @nr folios from the head of list @lru leave
 * the LRU (PG_lru cleared) into @batch, each with the isolation
 * reference, so that no other isolator (another shrink,
 * folio_isolate_lru(), migration) takes them until they are put back; the
 * batch counts in NR_ISOLATED_ANON + file (nr_isolated, by the list's
 * type) meanwhile. Under the kernel's lru_lock: no scheduling point.
 * Return: how many were taken. */
static unsigned isolate_lru_folios(simmm_sim *sim, struct simmm_lru *l, unsigned lru,
				   unsigned nr, struct simmm_page **batch)
{
	unsigned n = 0;

	while (n < nr && (batch[n] = simmm__pfnq_pop(sim, &l->q[lru], lru_live[lru]))) {
		simmm__folio_get(sim, batch[n]); /* pairs with the put after the batch */
		simmm__lru_del(sim, batch[n]);
		n++;
	}
	l->nr_isolated += n;
	l->nr_isolated_lru[is_file_lru(lru)] += n;
	return n;
}

/* @n isolations ended (the folios were put back, freed or left off the
 * LRU, and their references dropped): a direct reclaimer that made no
 * progress may find a page, or a folio to reclaim, now. The wake-up is a
 * scheduling point, taken only when someone waits. */
static void lru_isolation_end(simmm_sim *sim, struct simmm_lru *l, unsigned n)
{
	l->isolation_ends += n;
	if (l->nr_throttled)
		simmm_wake_up_all(sim, &l->throttle_wq);
}

/* move_folios_to_lru() for a shrink's batch taken from a list of type
 * @file, then the batch leaves NR_ISOLATED_ANON + @file (whatever list its
 * folios go back to: a lazyfree folio dirtied since MADV_FREE leaves the
 * file list and returns to the anon one, as the kernel's accounting does
 * too) and the isolation references go (free_unref_folios() for the
 * folios the shrink freed: they return to the buddy allocator only now,
 * at the end of the batch, as in the kernel). Each folio kept goes to the
 * list its flags name, an mlocked one culled to the unevictable list
 * (simmm__lru_add(): the evictability is checked now, at the putback, as
 * move_folios_to_lru() does, so a folio mlocked while the rest of its
 * batch was worked on is culled too); freed ones, and those that are no
 * LRU material (shmem without a swap-out path in simmm, zero and device
 * pages), stay off. Each folio that goes to an active list ages the LRU
 * for the workingset (workingset_age_nonresident()), as
 * move_folios_to_lru() does. Return: how many of the folios @count marks
 * (may be NULL) went to an evictable list (move_folios_to_lru()'s
 * nr_moved, which shrink_active_list() counts as pgdeactivate). */
static unsigned lru_putback_batch(simmm_sim *sim, struct simmm_lru *l, bool file,
				  struct simmm_page **batch, const bool *off, const bool *count,
				  unsigned n)
{
	unsigned moved = 0;

	for (unsigned i = 0; i < n; i++) {
		if (off[i])
			continue;
		simmm__lru_add(sim, batch[i]);
		if (batch[i]->flags & PG_active)
			simmm__workingset_age_nonresident(l, 1ULL << batch[i]->order);
		if (count && count[i] && !(batch[i]->flags & PG_unevictable))
			moved++;
	}
	if (ALWAYS(l->nr_isolated >= n && l->nr_isolated_lru[file] >= n)) {
		l->nr_isolated -= n;
		l->nr_isolated_lru[file] -= n;
	}
	for (unsigned i = 0; i < n; i++)
		simmm__put_user_folio(sim, batch[i]);
	lru_isolation_end(sim, l, n);
	return moved;
}

/* What shrink_folio_list()'s fate @r does to @folio's list: activated ones
 * (activate_locked) get PG_active, but for an mlocked folio, which
 * activate_locked leaves inactive and the putback culls; true when it
 * stays off the LRU (freed, or no LRU material: SCAN_DROP). */
static bool scan_result_off_lru(struct simmm_lru *l, struct simmm_page *folio,
				enum scan_result r)
{
	if (r == SCAN_RECLAIMED || r == SCAN_DROP)
		return true;
	if ((r == SCAN_ACTIVATE || r == SCAN_NOSWAP) &&
	    !(folio->flags & (PG_active | PG_mlocked))) {
		folio->flags |= PG_active;
		l->activated++;
	}
	return false;
}

/* lru_note_cost() (mm/swap.c) as recent shrink_inactive_list() calls it,
 * with its pageouts and its folios scanned but not reclaimed: a
 * shrink of a type cost @nr_io folios written out, each as much as
 * SWAP_CLUSTER_MAX looks, and @nr_rotated folios looked at but kept;
 * get_scan_count() leans towards the cheaper type. Both costs are halved
 * once they sum to more than a quarter of the evictable lists, so that
 * they follow recent reclaim. The kernel counts pages, simmm folios. */
static void lru_note_cost(struct simmm_lru *l, bool file, uint64_t nr_io, uint64_t nr_rotated)
{
	uint64_t cost = nr_io * SWAP_CLUSTER_MAX + nr_rotated;

	if (file)
		l->file_cost += cost;
	else
		l->anon_cost += cost;
	if (l->anon_cost + l->file_cost > lru_evictable(l) / 4) {
		l->anon_cost /= 2;
		l->file_cost /= 2;
	}
}

/**
 * simmm__lru_note_cost_refault() - lru_note_cost_refault(): a refault that
 * restored a workingset folio (workingset_refault()) costs its type as
 * much as writing the folio out did: lru_note_cost() with the folio as
 * I/O, so that get_scan_count() turns from a type that thrashes.
 * Context: no scheduling point.
 */
void simmm__lru_note_cost_refault(simmm_sim *sim, struct simmm_page *folio)
{
	struct simmm_lru *l = lru_peek(sim);

	if (l)
		lru_note_cost(l, folio_is_file_lru(folio), 1, 0);
}

/* inactive_is_low() for the lists of type @file: the kernel keeps
 * inactive * ratio >= active, the ratio being int_sqrt(10 * GiB of the
 * type's two lists) and 1 below 1 GiB; simmm's machines are small, so the
 * ratio is 1 (in folios, where the kernel counts pages). */
static bool inactive_is_low(const struct simmm_lru *l, bool file)
{
	unsigned inactive = file ? SIMMM_LRU_INACTIVE_FILE : SIMMM_LRU_INACTIVE_ANON;

	return l->nr_live[inactive] < l->nr_live[inactive + SIMMM_LRU_ACTIVE];
}

/* shrink_active_list(): isolate up to @nr_to_scan folios from the head of
 * the active list of type @file, look at each (folio_referenced(), which
 * clears their young bits and may sleep) and move them to the inactive
 * list of their type, clearing PG_active, except referenced folios of
 * executable file mappings, which get another trip round the active list
 * (anon VM_EXEC folios do not: JIT heaps) and count as rotated in
 * lru_note_cost(). A deactivated folio gets PG_workingset: it was active,
 * so its eviction's shadow will say so. PG_referenced is left as it is.
 * A folio that is, or that the walk found in a VM_LOCKED VMA and mlocked,
 * unevictable goes to the unevictable list instead (folio_putback_lru(),
 * and move_folios_to_lru()'s evictability check at the putback). The batch
 * goes back at the end, as one; pgdeactivate counts the folios that
 * reached an inactive list. */
static void shrink_active_list(simmm_sim *sim, struct simmm_lru *l, bool file,
			       unsigned nr_to_scan)
{
	struct simmm_page *batch[SWAP_CLUSTER_MAX];
	bool off[SWAP_CLUSTER_MAX] = {false}, deact[SWAP_CLUSTER_MAX] = {false};
	unsigned lru = (file ? SIMMM_LRU_INACTIVE_FILE : SIMMM_LRU_INACTIVE_ANON) + SIMMM_LRU_ACTIVE;
	uint64_t nr_rotated = 0;
	unsigned n;

	if (nr_to_scan > SWAP_CLUSTER_MAX)
		nr_to_scan = SWAP_CLUSTER_MAX;
	n = isolate_lru_folios(sim, l, lru, nr_to_scan, batch);
	for (unsigned i = 0; i < n; i++) {
		struct simmm_page *folio = batch[i];
		uint64_t vm_flags;

		deact[i] = false;
		if (!simmm__folio_evictable(folio))
			continue; /* folio_putback_lru(): culled */
		if (simmm__folio_referenced_flags(sim, folio, &vm_flags) != 0 &&
		    (vm_flags & SIMMM_VM_EXEC) && folio_is_file_lru(folio)) {
			nr_rotated++;
			continue; /* rotated (culled if now mlocked) */
		}
		folio->flags = (folio->flags & ~PG_active) | PG_workingset;
		deact[i] = true;
	}
	l->deactivated += lru_putback_batch(sim, l, file, batch, off, deact, n);
	if (nr_rotated)
		lru_note_cost(l, file, 0, nr_rotated);
}

/* too_many_isolated() for a direct reclaimer about to shrink the inactive
 * list of type @file (kswapd, which simmm_reclaim() plays, is never
 * throttled so): more folios of that type isolated by the shrinks
 * (NR_ISOLATED_ANON or _FILE) than an eighth of that inactive list
 * (GFP_KERNEL allocations may do I/O, so the kernel shifts the inactive
 * count by 3). Finding it low again wakes the reclaimers it throttled
 * (wake_throttle_isolated()), whichever type they wait on, as the
 * kernel's one waitqueue does. */
static bool too_many_isolated(simmm_sim *sim, struct simmm_lru *l, bool file)
{
	unsigned inactive = file ? SIMMM_LRU_INACTIVE_FILE : SIMMM_LRU_INACTIVE_ANON;
	bool too_many = l->nr_isolated_lru[file] > l->nr_live[inactive] >> 3;

	if (!too_many && l->nr_throttled_isolated) {
		l->isolated_wakes++;
		simmm_wake_up_all(sim, &l->isolated_wq);
	}
	return too_many;
}

/* A wait condition: the event counter *@ctr moved past @seen (a wake of
 * the isolated or of the throttle waitqueue happened since we looked). */
struct counter_wait {
	const uint64_t *ctr;
	uint64_t seen;
};

static bool counter_moved(simmm_sim *sim, void *arg)
{
	const struct counter_wait *w = arg;

	(void)sim;
	return *w->ctr != w->seen;
}

/* reclaim_throttle(pgdat, VMSCAN_THROTTLE_ISOLATED) from
 * shrink_inactive_list(): sleep until another reclaimer's
 * too_many_isolated() finds the count low again, or HZ/50 (20 ms of
 * virtual time) pass. Return: false, without waiting, outside tasks or in
 * an atomic section (the caller then gives up as if it had stalled). */
static bool throttle_isolated(simmm_sim *sim, struct simmm_lru *l)
{
	struct counter_wait w = {.ctr = &l->isolated_wakes, .seen = l->isolated_wakes};

	if (!sim->cur_task || simmm_sched_in_atomic(sim))
		return false;
	l->nr_throttled_isolated++;
	l->throttled_isolated++;
	(void)simmm_wait_event_timeout(sim, &l->isolated_wq, counter_moved, &w,
				       THROTTLE_ISOLATED_MS);
	l->nr_throttled_isolated--;
	return true;
}

/* shrink_inactive_list() + shrink_folio_list() on the inactive list of
 * type @file: a direct reclaimer first waits while too many folios of
 * that type are isolated (once: a second finding gives up with nothing
 * done, as the kernel's "stalled" does), then isolates up to @nr_to_scan
 * folios from the head of the list at once and works through them (each
 * may sleep: rmap walks, folio locks, notifier callbacks, with the rest of
 * the batch still isolated), then puts the batch back
 * (move_folios_to_lru()): kept folios to their inactive list, activated
 * ones to their active list, and notes what the batch cost
 * (lru_note_cost(): its pageouts, and its folios not freed). Return: the
 * pages freed. */
static uint64_t shrink_inactive_list(simmm_sim *sim, struct simmm_lru *l, bool file,
				     unsigned nr_to_scan, bool direct, bool *no_swap)
{
	struct scan_ctl sc = {.file_write = true};
	struct simmm_page *batch[SWAP_CLUSTER_MAX];
	bool off[SWAP_CLUSTER_MAX] = {false};
	unsigned lru = file ? SIMMM_LRU_INACTIVE_FILE : SIMMM_LRU_INACTIVE_ANON;
	uint64_t freed = 0, nr_freed = 0;
	bool stalled = false;
	unsigned n;

	while (direct && too_many_isolated(sim, l, file)) {
		if (stalled || !throttle_isolated(sim, l))
			return 0;
		stalled = true;
	}
	if (nr_to_scan > SWAP_CLUSTER_MAX)
		nr_to_scan = SWAP_CLUSTER_MAX;
	n = isolate_lru_folios(sim, l, lru, nr_to_scan, batch);
	l->scanned += n;
	l->pgscan[file] += n;
	for (unsigned i = 0; i < n; i++) {
		struct simmm_page *folio = batch[i];
		enum scan_result r;

		r = reclaim_folio(sim, folio, &sc);
		if (r == SCAN_NOSWAP && no_swap)
			*no_swap = true;
		if (r == SCAN_RECLAIMED) {
			freed += 1ULL << folio->order;
			nr_freed++;
		}
		off[i] = scan_result_off_lru(l, folio, r);
	}
	lru_putback_batch(sim, l, file, batch, off, NULL, n);
	l->pgsteal[file] += freed;
	if (n)
		lru_note_cost(l, file, sc.nr_pageout, n - nr_freed);
	return freed;
}

#define DEF_PRIORITY 12 /* the kernel's first scan priority */

/* What simmm models of the reclaim-wide struct scan_control (and of the
 * lruvec state prepare_scan_control() copies into it). */
struct shrink_ctl {
	uint64_t nr_to_reclaim;   /* the goal of each shrink_lruvec() call */
	uint64_t nr_reclaimed;    /* pages freed so far */
	int priority;             /* scan (list size >> priority) folios */
	bool direct;              /* an allocation's reclaim: throttled, and
				   * proportional_reclaim at DEF_PRIORITY */
	unsigned may_deactivate;  /* DEACTIVATE_ANON | DEACTIVATE_FILE */
	bool force_deactivate;    /* the retry after skipped_deactivate */
	bool skipped_deactivate;  /* an active list was left unaged */
	bool cache_trim_mode;     /* plenty of inactive file: scan file only */
	bool file_is_tiny;        /* file folios nearly gone: scan anon only */
	uint64_t anon_cost, file_cost; /* the lruvec's costs, as of this priority */
	bool can_reclaim_anon;    /* a free swap slot, as of this priority */
	bool can_age_anon;        /* a swap device, full or not */
	const struct simmm_swap *swap; /* the swap device */
	bool *no_swap;            /* may be NULL: see simmm__shrink_lru() */
};

#define DEACTIVATE_ANON 1u
#define DEACTIVATE_FILE 2u

/* get_scan_count()'s answers. */
enum scan_balance {
	SCAN_EQUAL, /* every list for its size >> priority */
	SCAN_FRACT, /* anon and file by swappiness and cost */
	SCAN_ANON,  /* the anon lists only */
	SCAN_FILE,  /* the file lists only */
};

/* int_sqrt(): the integer square root, bit by bit. */
static uint64_t int_sqrt(uint64_t x)
{
	uint64_t r = 0;

	for (uint64_t b = 1ULL << 62; b; b >>= 2) {
		if (x >= r + b) {
			x -= r + b;
			r = (r >> 1) + b;
		} else {
			r >>= 1;
		}
	}
	return r;
}

/* The sum of the zones' high watermarks as __setup_per_zone_wmarks()
 * derives them from min_free_kbytes (calculate_min_free_kbytes():
 * int_sqrt(lowmem_kbytes * 16), clamped to 128 KiB..256 MiB) and
 * watermark_scale_factor's default of 10 (0.1 %): min + 2 * max(min / 4,
 * 0.1 % of the machine). simmm has one zone, all of RAM; no boost. */
static uint64_t high_wmark_pages(const simmm_sim *sim)
{
	uint64_t kib_per_page = sim->page_size >= 1024 ? sim->page_size / 1024 : 1;
	uint64_t kbytes = sim->ram_pages * kib_per_page;
	uint64_t min_kbytes = int_sqrt(kbytes * 16), min, tmp;

	if (min_kbytes < 128)
		min_kbytes = 128;
	if (min_kbytes > 262144)
		min_kbytes = 262144;
	min = min_kbytes / kib_per_page;
	tmp = sim->ram_pages * 10 / 10000;
	if (tmp < min / 4)
		tmp = min / 4;
	return min + 2 * tmp;
}

/* prepare_scan_control() for global reclaim at sc->priority: the costs
 * and the swap space as they are now (can_reclaim_anon_pages(): a free
 * slot, get_nr_swap_pages() > 0, simmm demoting nothing;
 * can_age_anon_pages(): a swap device, total_swap_pages > 0); which
 * active lists may be aged (may_deactivate: the type's inactive list is
 * low, or the type had refaults activated since the last reclaim ended,
 * WORKINGSET_ACTIVATE_* against the lruvec's refaults[] snapshot: a new
 * workingset is forming, and the stale active folios should make room);
 * cache_trim_mode: enough inactive file folios, not low, to take them
 * first; file_is_tiny: the file folios and free memory together no more
 * than the high watermark while the inactive anon list is not low and has
 * folios for this priority, so that reclaim turns to anon rather than
 * thrash the last of the page cache. (The kswapd restart that turns
 * cache_trim_mode off after it failed, no_cache_trim_mode, is not
 * modelled.) */
static void prepare_scan_control(simmm_sim *sim, const struct simmm_lru *l,
				 struct shrink_ctl *sc)
{
	struct simmm_phys_stats ps;
	uint64_t file;

	sc->anon_cost = l->anon_cost;
	sc->file_cost = l->file_cost;
	sc->can_reclaim_anon = sc->swap->nr_used < sc->swap->nr_slots;
	sc->can_age_anon = sc->swap->nr_slots > 0;
	if (sc->force_deactivate) {
		sc->may_deactivate = DEACTIVATE_ANON | DEACTIVATE_FILE;
	} else {
		sc->may_deactivate = 0;
		for (unsigned type = 0; type < 2; type++) /* DEACTIVATE_ANON, _FILE */
			if (l->workingset_activate[type] != l->refaults[type] ||
			    inactive_is_low(l, type))
				sc->may_deactivate |= 1u << type;
	}
	sc->cache_trim_mode = (l->nr_live[SIMMM_LRU_INACTIVE_FILE] >> sc->priority) &&
			      !(sc->may_deactivate & DEACTIVATE_FILE);
	/* The free page count last: the other terms are cheaper. */
	file = l->nr_live[SIMMM_LRU_INACTIVE_FILE] + l->nr_live[SIMMM_LRU_ACTIVE_FILE];
	sc->file_is_tiny = !(sc->may_deactivate & DEACTIVATE_ANON) &&
			   (l->nr_live[SIMMM_LRU_INACTIVE_ANON] >> sc->priority) &&
			   file <= high_wmark_pages(sim) && !simmm_phys_stats(sim, &ps) &&
			   file + ps.free_pages <= high_wmark_pages(sim);
}

/* get_scan_count() for global reclaim (no memcg: neither protection nor
 * memcg swappiness) with may_swap always set: how many folios of each
 * evictable list to scan at this priority, into @nr (enum simmm_lru_list
 * order). In this order: no free swap slot, only the file lists (and
 * *sc->no_swap set when that leaves anon folios behind); priority 0 with
 * a swappiness, every list for its whole size (SCAN_EQUAL); file_is_tiny,
 * only the anon lists; cache_trim_mode, only the file lists; else
 * SCAN_FRACT: each list's size >> priority, scaled by its type's share,
 * anon's swappiness and file's 200 - swappiness, each divided by that
 * type's cost (its own plus the total, so that neither type is left out
 * altogether whatever the costs). */
static void get_scan_count(const struct simmm_lru *l, struct shrink_ctl *sc,
			   uint64_t nr[SIMMM_NR_EVICTABLE_LRU])
{
	uint64_t fraction[2] = {0, 0}, denominator = 0;
	int swappiness = l->swappiness;
	enum scan_balance balance;

	if (!sc->can_reclaim_anon) {
		balance = SCAN_FILE;
		if (sc->no_swap && (l->nr_live[SIMMM_LRU_INACTIVE_ANON] ||
				    l->nr_live[SIMMM_LRU_ACTIVE_ANON]))
			*sc->no_swap = true;
	} else if (!sc->priority && swappiness) {
		balance = SCAN_EQUAL;
	} else if (sc->file_is_tiny) {
		balance = SCAN_ANON;
	} else if (sc->cache_trim_mode) {
		balance = SCAN_FILE;
	} else {
		uint64_t total = sc->anon_cost + sc->file_cost;
		uint64_t anon_cost = total + sc->anon_cost, file_cost = total + sc->file_cost;

		total = anon_cost + file_cost;
		balance = SCAN_FRACT;
		fraction[0] = (uint64_t)swappiness * (total + 1) / (anon_cost + 1);
		fraction[1] = (uint64_t)(SIMMM_MAX_SWAPPINESS - swappiness) * (total + 1) /
			      (file_cost + 1);
		denominator = fraction[0] + fraction[1];
	}
	for (unsigned lru = 0; lru < SIMMM_NR_EVICTABLE_LRU; lru++) {
		bool file = is_file_lru(lru);
		uint64_t scan = l->nr_live[lru] >> sc->priority;

		if (balance == SCAN_FRACT)
			scan = scan * fraction[file] / denominator;
		else if ((balance == SCAN_FILE && !file) || (balance == SCAN_ANON && file))
			scan = 0;
		nr[lru] = scan;
	}
}

/* shrink_list(): an inactive list is shrunk; an active one is aged only
 * when its type may be deactivated at this priority (else
 * skipped_deactivate). Return: the pages freed. */
static uint64_t shrink_list(simmm_sim *sim, struct simmm_lru *l, struct shrink_ctl *sc,
			    unsigned lru, unsigned nr_to_scan)
{
	bool file = is_file_lru(lru);

	if (is_active_lru(lru)) {
		if (sc->may_deactivate & (1u << file))
			shrink_active_list(sim, l, file, nr_to_scan);
		else
			sc->skipped_deactivate = true;
		return 0;
	}
	return shrink_inactive_list(sim, l, file, nr_to_scan, sc->direct, sc->no_swap);
}

/* The next batch of what is left to scan of a list (at most
 * SWAP_CLUSTER_MAX), taken off *@left. */
static unsigned next_batch(uint64_t *left)
{
	unsigned batch = *left < SWAP_CLUSTER_MAX ? (unsigned)*left : SWAP_CLUSTER_MAX;

	*left -= batch;
	return batch;
}

/* shrink_lruvec()'s proportional scan adjustment, once the goal is met:
 * the type with less left to scan stops, and the other's targets shrink
 * to the share of its own that the stopped type had not scanned, less
 * what it has scanned already. */
static void scan_adjust(uint64_t nr[SIMMM_NR_EVICTABLE_LRU],
			const uint64_t targets[SIMMM_NR_EVICTABLE_LRU])
{
	uint64_t nr_anon = nr[SIMMM_LRU_INACTIVE_ANON] + nr[SIMMM_LRU_ACTIVE_ANON];
	uint64_t nr_file = nr[SIMMM_LRU_INACTIVE_FILE] + nr[SIMMM_LRU_ACTIVE_FILE];
	unsigned stop = nr_file > nr_anon ? SIMMM_LRU_INACTIVE_ANON : SIMMM_LRU_INACTIVE_FILE;
	unsigned other = stop == SIMMM_LRU_INACTIVE_ANON ? SIMMM_LRU_INACTIVE_FILE
							  : SIMMM_LRU_INACTIVE_ANON;
	uint64_t left = stop == SIMMM_LRU_INACTIVE_ANON ? nr_anon : nr_file;
	uint64_t percentage = left * 100 / (targets[stop] + targets[stop + SIMMM_LRU_ACTIVE] + 1);

	nr[stop] = nr[stop + SIMMM_LRU_ACTIVE] = 0;
	for (unsigned lru = other; lru <= other + SIMMM_LRU_ACTIVE; lru++) {
		uint64_t scanned = targets[lru] - nr[lru];

		nr[lru] = targets[lru] * (100 - percentage) / 100;
		nr[lru] -= nr[lru] < scanned ? nr[lru] : scanned;
	}
}

/* shrink_lruvec(): get_scan_count()'s targets, scanned round-robin over
 * the four lists (inactive anon, active anon, inactive file, active file)
 * in batches of at most SWAP_CLUSTER_MAX for as long as the inactive
 * lists or the active file list have targets left. Once this call has
 * freed the goal (its own count against the whole sc->nr_to_reclaim, as
 * the kernel's local nr_reclaimed is), it stops when one type is done,
 * else adjusts the scan to the targets' proportion (scan_adjust()) and
 * goes on with the other type; a direct reclaimer at DEF_PRIORITY
 * (proportional_reclaim) does neither and scans all its targets. Then,
 * with a swap device, a low inactive anon list gets one more batch of
 * aging, even when anon was not scanned (the final
 * shrink_active_list(SWAP_CLUSTER_MAX, LRU_ACTIVE_ANON)). */
static void shrink_lruvec(simmm_sim *sim, struct simmm_lru *l, struct shrink_ctl *sc)
{
	uint64_t nr[SIMMM_NR_EVICTABLE_LRU], targets[SIMMM_NR_EVICTABLE_LRU], freed = 0;
	bool proportional_reclaim = sc->direct && sc->priority == DEF_PRIORITY;

	get_scan_count(l, sc, nr);
	memcpy(targets, nr, sizeof(nr));
	while (nr[SIMMM_LRU_INACTIVE_ANON] || nr[SIMMM_LRU_ACTIVE_FILE] ||
	       nr[SIMMM_LRU_INACTIVE_FILE]) {
		for (unsigned lru = 0; lru < SIMMM_NR_EVICTABLE_LRU; lru++)
			if (nr[lru])
				freed += shrink_list(sim, l, sc, lru, next_batch(&nr[lru]));
		if (freed < sc->nr_to_reclaim || proportional_reclaim)
			continue;
		/* "It's just vindictive to attack the larger once the
		 * smaller has gone to zero": one nudge at most. */
		if (!(nr[SIMMM_LRU_INACTIVE_ANON] + nr[SIMMM_LRU_ACTIVE_ANON]) ||
		    !(nr[SIMMM_LRU_INACTIVE_FILE] + nr[SIMMM_LRU_ACTIVE_FILE]))
			break;
		scan_adjust(nr, targets);
	}
	sc->nr_reclaimed += freed;
	if (sc->can_age_anon && inactive_is_low(l, false))
		shrink_active_list(sim, l, false, SWAP_CLUSTER_MAX);
}

/**
 * simmm__shrink_lru() - do_try_to_free_pages() over the one lruvec: scan
 * priorities from DEF_PRIORITY down to 0 until @nr pages are freed, each
 * a shrink_node() (prepare_scan_control()) and a shrink_lruvec() (see
 * there: get_scan_count()'s targets over the four lists, the proportional
 * stop, the extra aging of a low inactive anon list). If no priority freed
 * anything and an active list was left unaged for want of a low inactive
 * list (skipped_deactivate), the priorities run once more with every
 * active list aged (force_deactivate). A small machine starts with
 * batches of a folio or two; a list of one folio is scanned at priority
 * 0 only. (The deferred split shrinker, which shrink_node() runs after
 * each lruvec as shrink_slab(), runs once before, in the callers.)
 * @sim: the instance.
 * @nr: pages to free: the goal of every shrink_lruvec() call, as the
 *   kernel's sc->nr_to_reclaim (so a priority that finds it half met
 *   still aims at all of it).
 * @direct: a direct reclaimer (an allocation's, try_to_free_pages()),
 *   throttled while too many folios are isolated and scanning all its
 *   targets at DEF_PRIORITY; false for simmm_reclaim(), which acts as
 *   kswapd (never throttled, proportional stop at every priority).
 * @no_swap: set when anonymous folios were left for lack of swap: their
 *   lists skipped (no free slot) or one kept without a slot (may be NULL).
 *
 * Context: may sleep (rmap walks, folio locks, notifier callbacks,
 * throttling), with the current task marked as reclaiming (PF_MEMALLOC):
 * its own allocations meanwhile do not reclaim; other tasks' do, and they
 * find the batch this one works on isolated.
 * Return: the pages freed; 0 at once when the current task is already
 * reclaiming (no recursion), @nr is 0 or the LRU could not be created.
 */
uint64_t simmm__shrink_lru(simmm_sim *sim, uint64_t nr, bool direct, bool *no_swap)
{
	struct simmm_lru *l = lru_of(sim);
	struct shrink_ctl sc = {.nr_to_reclaim = nr, .direct = direct, .no_swap = no_swap};
	uint32_t noreclaim;

	if (no_swap)
		*no_swap = false;
	if (!l || !nr || current_is_reclaiming(sim))
		return 0;
	sc.swap = simmm__mm_global(sim)->swap; /* created with the LRU */
	noreclaim = memalloc_noreclaim_save(sim);
	for (;;) {
		for (sc.priority = DEF_PRIORITY; sc.priority >= 0; sc.priority--) {
			prepare_scan_control(sim, l, &sc);
			shrink_lruvec(sim, l, &sc);
			if (sc.nr_reclaimed >= nr)
				break;
		}
		/* snapshot_refaults(): the refault activations seen so far no
		 * longer make the next reclaim age the active lists. */
		memcpy(l->refaults, l->workingset_activate, sizeof(l->refaults));
		if (sc.nr_reclaimed || !sc.skipped_deactivate)
			break;
		sc.force_deactivate = true; /* bounded: nothing is skipped now */
		sc.skipped_deactivate = false;
	}
	l->reclaimed += sc.nr_reclaimed;
	memalloc_noreclaim_restore(sim, noreclaim);
	return sc.nr_reclaimed;
}

/**
 * simmm__shrink_inactive_batch() - one shrink_inactive_list() call on each
 * inactive list, anon then file, for tests that must give folios exactly
 * one look each (folio_check_references()'s rules, pageout of a dirty
 * folio): up to @nr folios (at most SWAP_CLUSTER_MAX) are isolated from
 * the head of each list at once, worked through and put back, as one
 * round of simmm__shrink_lru()'s batches at some priority, by a reclaimer
 * that is not throttled (kswapd's). No scan priorities, no scan balance
 * (both lists, whatever the swap), no active-list aging, no retries.
 * @sim: the instance.
 * @nr: folios to isolate from each list.
 *
 * Context: as simmm__shrink_lru().
 * Return: the pages freed; 0 when the current task is already reclaiming
 * or the LRU could not be created.
 */
uint64_t simmm__shrink_inactive_batch(simmm_sim *sim, unsigned nr)
{
	struct simmm_lru *l = lru_of(sim);
	uint64_t freed;
	uint32_t noreclaim;

	if (!l || current_is_reclaiming(sim))
		return 0;
	noreclaim = memalloc_noreclaim_save(sim);
	freed = shrink_inactive_list(sim, l, false, nr, false, NULL);
	freed += shrink_inactive_list(sim, l, true, nr, false, NULL);
	l->reclaimed += freed;
	memalloc_noreclaim_restore(sim, noreclaim);
	return freed;
}

/* ---- reclaim_pages(): folios the caller isolated ------------------------------------ */

/**
 * simmm__folio_isolate_lru() - folio_isolate_lru(): take @folio off the LRU
 * with a reference of the caller's, so that no shrink takes it meanwhile.
 * Context: no scheduling point.
 * Return: true when isolated; false when it was not on the LRU (another
 * isolation has it, or it never was: nothing taken).
 */
bool simmm__folio_isolate_lru(simmm_sim *sim, struct simmm_page *folio)
{
	struct simmm_lru *l = lru_peek(sim);

	folio = simmm__compound_head(sim, folio);
	if (!l || !(folio->flags & PG_lru))
		return false;
	simmm__folio_get(sim, folio); /* pairs with simmm__folio_putback_lru() or the reclaim */
	simmm__lru_del(sim, folio);
	l->nr_isolated_other++; /* not NR_ISOLATED: the kernel's folio_isolate_lru() leaves it */
	return true;
}

/**
 * simmm__folio_putback_lru() - folio_putback_lru(): a folio isolated by
 * simmm__folio_isolate_lru() goes back to the LRU tail and the isolation
 * reference is dropped.
 * Context: a scheduling point only when a throttled reclaimer waits.
 */
void simmm__folio_putback_lru(simmm_sim *sim, struct simmm_page *folio)
{
	struct simmm_lru *l = lru_peek(sim);

	folio = simmm__compound_head(sim, folio);
	simmm__lru_add(sim, folio);
	simmm__put_user_folio(sim, folio);
	if (l && ALWAYS(l->nr_isolated_other)) {
		l->nr_isolated_other--;
		lru_isolation_end(sim, l, 1);
	}
}

/**
 * simmm__reclaim_folios() - reclaim_pages(): shrink_folio_list() over
 * folios the caller isolated (MADV_PAGEOUT), with ignore_references: no
 * second chance, whatever the young bits and PG_referenced say. Each folio
 * takes reclaim_folio()'s paths: anonymous ones are added to swap,
 * unmapped and written out at once; lazyfree clean ones are discarded;
 * file ones are unmapped and, clean, dropped from the page cache, while a
 * dirty one stays there, unmapped, dirty (only kswapd writes file folios
 * back, and reclaim_pages() is not kswapd); pinned, extra-referenced or
 * unevictable folios are kept as in any reclaim. A large folio is split
 * (simmm swaps no THP out whole) and its tails go back to the LRU.
 * @folios: @nr isolated folios (simmm__folio_isolate_lru()), whose
 *   isolation references this consumes: each ends freed, back on the LRU,
 *   or (unevictable) off it.
 *
 * Context: the mmap lock may be held (madvise holds it for read); takes
 * the rmap locks and folio locks; may sleep. Counts in the LRU's scanned
 * and reclaimed totals. Like simmm__shrink_lru(), it marks the current
 * task as reclaiming (reclaim_pages()' memalloc_noreclaim_save()): its
 * allocations meanwhile do not reclaim, other tasks' do.
 * Return: the pages freed.
 */
uint64_t simmm__reclaim_folios(simmm_sim *sim, struct simmm_page *const *folios, unsigned nr)
{
	struct scan_ctl sc = {.ignore_refs = true};
	struct simmm_lru *l = lru_peek(sim);
	uint32_t noreclaim = memalloc_noreclaim_save(sim);
	uint64_t freed = 0;

	for (unsigned i = 0; i < nr; i++) {
		struct simmm_page *folio = folios[i];
		bool file = folio_is_file_lru(folio);
		enum scan_result r;

		if (l) {
			l->scanned++;
			l->pgscan[file]++;
		}
		r = reclaim_folio(sim, folio, &sc);
		if (r == SCAN_RECLAIMED) {
			freed += 1ULL << folio->order;
			if (l)
				l->pgsteal[file] += 1ULL << folio->order;
		}
		if (l ? !scan_result_off_lru(l, folio, r) : r != SCAN_RECLAIMED && r != SCAN_DROP)
			simmm__lru_add(sim, folio);
		simmm__put_user_folio(sim, folio); /* the isolation reference */
		if (l && ALWAYS(l->nr_isolated_other)) {
			l->nr_isolated_other--;
			lru_isolation_end(sim, l, 1);
		}
	}
	if (l)
		l->reclaimed += freed;
	memalloc_noreclaim_restore(sim, noreclaim);
	return freed;
}

/* ---- allocation with direct reclaim ---------------------------------------------- */

/* The buddy allocator really lacks a block of @order (as opposed to an
 * injected metadata failure, which must not trigger reclaim: a failed call
 * leaves the state as it was). */
bool simmm__buddy_exhausted(simmm_sim *sim, unsigned order)
{
	struct simmm_phys_stats st;

	if (simmm_phys_stats(sim, &st))
		return false;
	for (unsigned o = order; o <= st.max_order && o < 32; o++)
		if (st.free_blocks[o])
			return false;
	return true;
}


/* A direct reclaimer that freed nothing while others hold folios isolated
 * (a shrink's batch, MADV_PAGEOUT's folios: they may free them, or put
 * them back for it to reclaim) sleeps until one of those isolations ends
 * or THROTTLE_ISOLATED_MS pass, and the allocation retries: simmm's form
 * of __alloc_pages_slowpath()'s no-progress retries, which the kernel
 * spaces with reclaim_throttle(VMSCAN_THROTTLE_NOPROGRESS) in
 * shrink_node() and should_reclaim_retry()'s waits, so that a reclaimer
 * that found the LRU empty does not fail at once. (The throttle before a
 * scan, too_many_isolated(), is shrink_inactive_list()'s, above.)
 * Return: false, without waiting, when nobody else holds an isolated
 * folio, outside tasks (nothing else runs there), or in an atomic or
 * non-blockable section. */
static bool reclaim_throttle(simmm_sim *sim)
{
	struct simmm_lru *l = lru_peek(sim);
	struct counter_wait w;

	if (!l || !(l->nr_isolated + l->nr_isolated_other) || !sim->cur_task ||
	    simmm_sched_in_atomic(sim))
		return false;
	w = (struct counter_wait){.ctr = &l->isolation_ends, .seen = l->isolation_ends};
	l->nr_throttled++;
	l->throttled++;
	/* Ends by a wake-up or the timeout; either way the caller retries. */
	(void)simmm_wait_event_timeout(sim, &l->throttle_wq, counter_moved, &w,
				       THROTTLE_ISOLATED_MS);
	l->nr_throttled--;
	return true;
}

/**
 * simmm__alloc_user_folio() - alloc_pages() for user memory: on failure,
 * with auto reclaim on, reclaim a batch (SWAP_CLUSTER_MAX: the deferred
 * split scan, then the LRU for what it did not free) and retry (direct
 * reclaim), at most 4 times with progress; after a fruitless reclaim, when
 * other tasks hold folios isolated, wait for them (reclaim_throttle()) and
 * retry, at most MAX_RECLAIM_RETRIES times. A task that is reclaiming
 * itself (PF_MEMALLOC) does not reclaim again: its allocation fails at
 * once (__alloc_pages_slowpath(): "Avoid recursion of direct reclaim").
 * Large orders (THP, hugetlb) do not reclaim: their callers fall back
 * (like THP "defrag=madvise" without MADV_HUGEPAGE) or fail.
 * @sim: the instance.
 * @order: the folio order.
 *
 * Context: may sleep (reclaim, throttling) when it reclaims.
 * Return: the folio (refcount 1, no contents), or NULL (-ENOMEM).
 */
struct simmm_page *simmm__alloc_user_folio(simmm_sim *sim, unsigned order)
{
	struct simmm_mm_global *g = simmm__mm_global(sim);
	struct simmm_page *folio = simmm__alloc_pages(sim, order);
	unsigned progress = 0, stalls = 0;

	while (!folio && progress < 4) {
		uint64_t split;

		if (order || !g || !g->auto_reclaim || !simmm__buddy_exhausted(sim, order) ||
		    current_is_reclaiming(sim))
			break;
		split = simmm__deferred_split_scan(sim); /* shrink_slab(), see simmm_reclaim() */
		if (simmm__shrink_lru(sim, split < SWAP_CLUSTER_MAX ? SWAP_CLUSTER_MAX - split : 0,
				      true, NULL) ||
		    split)
			progress++;
		else if (stalls++ == MAX_RECLAIM_RETRIES || !reclaim_throttle(sim))
			break;
		folio = simmm__alloc_pages(sim, order);
	}
	return folio;
}

/* ---- public ------------------------------------------------------------------------ */

/**
 * simmm_reclaim() - split partially mapped THPs, then shrink the LRU, pass
 * after pass, to free @nr_pages (see <simmm/mm.h>).
 * Context: any task, or outside tasks; takes no mmap lock (rmap walks, as
 * the kernel's reclaim); may sleep. Concurrent calls are independent
 * reclaimers (each isolates the batch it works on). Called from inside
 * reclaim by the same task (a notifier callback), it frees nothing
 * (PF_MEMALLOC). Never throttled: it acts as kswapd (too_many_isolated()
 * spares kswapd, as kswapd alone writes dirty file folios back), where
 * memory.reclaim, whose passes it models, is throttled like any direct
 * reclaimer.
 * Return: 0; -EINVAL for a bad @sim; -ENOMEM when the reclaim state could
 * not be created; -ENOSPC when nothing was freed and anonymous folios were
 * left for lack of swap.
 */
int simmm_reclaim(simmm_sim *sim, uint64_t nr_pages, uint64_t *reclaimed)
{
	uint64_t freed;
	bool no_swap = false;

	if (reclaimed)
		*reclaimed = 0;
	if (!simmm__sim_ok(sim))
		return -EINVAL;
	if (!lru_of(sim))
		return -ENOMEM;
	/* The deferred split shrinker first (deferred_split.c): splitting
	 * partially mapped THPs frees their unmapped pages without writing
	 * anything to swap, and counts towards @nr_pages. The kernel's
	 * shrink_node() runs shrink_slab() after each memcg's LRU pass, over
	 * rounds of rising priority; simmm has one pass, so the cheap source
	 * goes first and the LRU only makes up the rest. A goal of 0 asks for
	 * nothing. */
	freed = nr_pages ? simmm__deferred_split_scan(sim) : 0;
	/* Passes over the priorities until the goal is met, as memory.reclaim
	 * (user_proactive_reclaim()) repeats try_to_free_mem_cgroup_pages():
	 * a pass that looked at a young folio once left it referenced, and
	 * the next may take it. Passes that free nothing are retried
	 * MAX_RECLAIM_RETRIES times, then it gives up (memory.reclaim's
	 * -EAGAIN). Each pass asks for all that is left, where memory.reclaim
	 * asks for a quarter of it and at least SWAP_CLUSTER_MAX, which
	 * overshoots a small goal; simmm overshoots by what the priority that
	 * met the goal freed beyond it (shrink_lruvec()'s own count against
	 * the whole goal, then the round of batches that met it). As kswapd,
	 * it is global reclaim to get_scan_count(): a swappiness of 0 does not
	 * stop it from scanning anon when the file lists are tiny, where
	 * memory.reclaim's cgroup reclaim would scan only file. */
	for (unsigned retries = MAX_RECLAIM_RETRIES; freed < nr_pages;) {
		bool ns;
		uint64_t got = simmm__shrink_lru(sim, nr_pages - freed, false, &ns);

		freed += got;
		no_swap = ns;
		if (!got && !retries--)
			break;
	}
	if (reclaimed)
		*reclaimed = freed;
	return (!freed && nr_pages && no_swap) ? -ENOSPC : 0;
}

/**
 * simmm_lru_stats() - the LRU's lists and counters (see <simmm/mm.h>).
 * Return: 0; -EINVAL; -ENOMEM when the LRU could not be created.
 */
int simmm_lru_stats(simmm_sim *sim, struct simmm_lru_stats *out)
{
	struct simmm_lru *l;

	if (!simmm__sim_ok(sim) || !out)
		return -EINVAL;
	l = lru_of(sim);
	if (!l)
		return -ENOMEM;
	simmm__mlock_sync(sim); /* folios freed mlocked meanwhile */
	*out = (struct simmm_lru_stats){
		.nr_inactive = l->nr_live[SIMMM_LRU_INACTIVE_ANON] +
			       l->nr_live[SIMMM_LRU_INACTIVE_FILE],
		.nr_active = l->nr_live[SIMMM_LRU_ACTIVE_ANON] + l->nr_live[SIMMM_LRU_ACTIVE_FILE],
		.nr_isolated = l->nr_isolated,
		.nr_isolated_other = l->nr_isolated_other,
		.scanned = l->scanned,
		.reclaimed = l->reclaimed,
		.activated = l->activated,
		.deactivated = l->deactivated,
		.nr_unevictable = l->nr_live[SIMMM_LRU_UNEVICTABLE],
		.nr_mlock = l->nr_mlock,
		.mlocked = l->mlocked,
		.munlocked = l->munlocked,
		.culled = l->culled,
		.rescued = l->rescued,
		.stranded = l->stranded,
		.cleared = l->cleared,
		.nr_inactive_anon = l->nr_live[SIMMM_LRU_INACTIVE_ANON],
		.nr_active_anon = l->nr_live[SIMMM_LRU_ACTIVE_ANON],
		.nr_inactive_file = l->nr_live[SIMMM_LRU_INACTIVE_FILE],
		.nr_active_file = l->nr_live[SIMMM_LRU_ACTIVE_FILE],
		.nr_isolated_anon = l->nr_isolated_lru[0],
		.nr_isolated_file = l->nr_isolated_lru[1],
		.scanned_anon = l->pgscan[0],
		.scanned_file = l->pgscan[1],
		.reclaimed_anon = l->pgsteal[0],
		.reclaimed_file = l->pgsteal[1],
		.anon_cost = l->anon_cost,
		.file_cost = l->file_cost,
		.nonresident_age = l->nonresident_age,
		.refault_anon = l->workingset_refault[0],
		.refault_file = l->workingset_refault[1],
		.activate_anon = l->workingset_activate[0],
		.activate_file = l->workingset_activate[1],
		.restore_anon = l->workingset_restore[0],
		.restore_file = l->workingset_restore[1],
	};
	return 0;
}

/**
 * simmm_set_auto_reclaim() - direct reclaim on allocation failure on/off.
 * Return: 0; -EINVAL for a bad @sim; -ENOMEM (mm state not creatable).
 */
int simmm_set_auto_reclaim(simmm_sim *sim, bool on)
{
	struct simmm_mm_global *g;

	if (!simmm__sim_ok(sim))
		return -EINVAL;
	g = simmm__mm_global(sim);
	if (!g)
		return -ENOMEM;
	g->auto_reclaim = on;
	return 0;
}

/**
 * simmm_set_swappiness() - vm.swappiness (see <simmm/mm.h>): read by
 * get_scan_count() at each scan priority.
 * Return: 0; -EINVAL for a bad @sim or a value outside 0..200; -ENOMEM
 * when the LRU could not be created.
 */
int simmm_set_swappiness(simmm_sim *sim, int swappiness)
{
	struct simmm_lru *l;

	if (!simmm__sim_ok(sim) || swappiness < 0 || swappiness > SIMMM_MAX_SWAPPINESS)
		return -EINVAL;
	l = lru_of(sim);
	if (!l)
		return -ENOMEM;
	l->swappiness = swappiness;
	return 0;
}

/* ---- teardown and checks ---------------------------------------------------------- */

void simmm__lru_fini(simmm_sim *sim)
{
	struct simmm_mm_global *g = simmm__mm_global(sim);
	struct simmm_lru *l = lru_peek(sim);

	if (!l)
		return;
	for (unsigned lru = 0; lru < SIMMM_NR_LRU_LISTS; lru++)
		simmm__pfnq_fini(sim, &l->q[lru]);
	simmm__free(sim, SIMMM_ALLOC_META, l, sizeof(*l));
	g->lru = NULL;
}

static const char *const lru_name[SIMMM_NR_LRU_LISTS] = {
	"inactive anon", "active anon", "inactive file", "active file", "unevictable",
};

/* Mark (PG_reclaim, as compaction does, for the length of the check: no
 * scheduling point) the folios that have a live entry in the queue of
 * their list. */
static void lru_mark_queued(simmm_sim *sim, const struct simmm_lru *l)
{
	for (unsigned lru = 0; lru < SIMMM_NR_LRU_LISTS; lru++) {
		simmm_pfnq_for_each(&l->q[lru], i) {
			struct simmm_page *p = lru_live[lru](sim, l->q[lru].pfn[i]);

			if (p)
				p->flags |= PG_reclaim;
		}
	}
}

/* The unevictable list's rules for folio @p with PG_lru: PG_unevictable
 * <=> PG_mlocked (culled when mlocked, rescued when munlocked: simmm has
 * no other kind of unevictable folio), and never PG_active there. */
static int lru_check_unevictable(simmm_sim *sim, const struct simmm_page *p)
{
	bool unevictable = p->flags & PG_unevictable;

	if (unevictable == !!(p->flags & PG_mlocked) && !(unevictable && (p->flags & PG_active)))
		return 0;
	simmm__report(sim, SIMMM_REPORT_INVARIANT,
		      "lru: folio %#llx on the LRU with PG_unevictable %d, PG_mlocked %d, PG_active %d",
		      (unsigned long long)p->pfn, unevictable, !!(p->flags & PG_mlocked),
		      !!(p->flags & PG_active));
	return 1;
}

/* Only in-use folio heads carry PG_lru, each has an entry in the queue of
 * the list its flags name (so PG_unevictable <=> on the unevictable list,
 * else PG_swapbacked <=> on an anon list and PG_active <=> on an active
 * list), and each list's nr_live counts
 * them all (small machines only: O(RAM), like the mm checker's orphan
 * scan). It may count more: a folio freed by a bare folio_put()
 * (simmm_page_put()'s last reference; the page layer cannot call up to
 * simmm__lru_del()) stays in it until the next compaction recounts.
 * nr_mlock is recounted exactly: the last put of an mlocked folio clears
 * the flag (simmm__mlock_release(), or the page layer's for a bare put,
 * which simmm__lru_check() syncs in first). */
static int lru_check_flags(simmm_sim *sim, const struct simmm_lru *l)
{
	uint64_t n[SIMMM_NR_LRU_LISTS] = {0}, mlocked = 0;
	int bad = 0;

	if (sim->ram_pages > (1u << 18))
		return 0;
	lru_mark_queued(sim, l);
	for (simmm_pfn_t pfn = 0; pfn < sim->ram_pages; pfn++) {
		struct simmm_page *p = simmm__pfn_to_page(sim, pfn);
		bool queued;

		if (p && (p->flags & PG_mlocked) && !p->head_delta && p->refcount > 0)
			mlocked += 1ULL << p->order;
		if (!p || !(p->flags & PG_lru))
			continue;
		bad += lru_check_unevictable(sim, p);
		queued = p->flags & PG_reclaim;
		p->flags &= ~PG_reclaim;
		n[folio_lru_list(p)]++;
		if (p->head_delta || p->refcount <= 0 || (p->flags & (PG_reserved | PG_table))) {
			simmm__report(sim, SIMMM_REPORT_INVARIANT,
				      "lru: pfn %#llx has PG_lru but is no folio head in use",
				      (unsigned long long)pfn);
			bad++;
		} else if (!queued) {
			enum simmm_lru_list lru = folio_lru_list(p);

			simmm__report(sim, SIMMM_REPORT_INVARIANT,
				      "lru: folio %#llx (PG_active %d, PG_swapbacked %d) is not queued on "
				      "the %s list (%s)",
				      (unsigned long long)pfn, !!(p->flags & PG_active),
				      !!(p->flags & PG_swapbacked),
				      lru == SIMMM_LRU_UNEVICTABLE ? "unevictable"
				      : is_active_lru(lru)         ? "active"
								   : "inactive",
				      lru == SIMMM_LRU_UNEVICTABLE ? "-"
				      : is_file_lru(lru)           ? "file"
								   : "anon");
			bad++;
		}
	}
	for (unsigned lru = 0; lru < SIMMM_NR_LRU_LISTS; lru++) {
		if (n[lru] <= l->nr_live[lru] && n[lru] <= simmm__pfnq_len(&l->q[lru]))
			continue;
		simmm__report(sim, SIMMM_REPORT_INVARIANT,
			      "lru: %llu folios with PG_lru on the %s list, nr_live %llu, %llu queue entries",
			      (unsigned long long)n[lru], lru_name[lru],
			      (unsigned long long)l->nr_live[lru],
			      (unsigned long long)simmm__pfnq_len(&l->q[lru]));
		bad++;
	}
	if (mlocked != l->nr_mlock) {
		simmm__report(sim, SIMMM_REPORT_INVARIANT,
			      "lru: %llu pages of mlocked folios, nr_mlock %llu",
			      (unsigned long long)mlocked, (unsigned long long)l->nr_mlock);
		bad++;
	}
	return bad;
}

int simmm__lru_check(simmm_sim *sim)
{
	struct simmm_lru *l = lru_peek(sim);
	int bad = 0;

	if (!l)
		return 0;
	simmm__mlock_sync(sim); /* folios freed mlocked by a bare put */
	for (unsigned lru = 0; lru < SIMMM_NR_LRU_LISTS; lru++)
		bad += simmm__pfnq_check(sim, &l->q[lru], lru_name[lru]);
	if (l->nr_isolated != l->nr_isolated_lru[0] + l->nr_isolated_lru[1]) {
		simmm__report(sim, SIMMM_REPORT_INVARIANT,
			      "lru: nr_isolated %llu, but %llu anon + %llu file",
			      (unsigned long long)l->nr_isolated,
			      (unsigned long long)l->nr_isolated_lru[0],
			      (unsigned long long)l->nr_isolated_lru[1]);
		bad++;
	}
	return bad ? bad : lru_check_flags(sim, l);
}
