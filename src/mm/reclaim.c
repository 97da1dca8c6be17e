// SPDX-License-Identifier: MIT
/*
 * The LRU and page reclaim (mm/vmscan.c, mm/swap.c's LRU half).
 *
 * One LRU list per machine (no active/inactive split, no memcg, no
 * per-node lists): a FIFO of folio head pfns with lazy deletion (pfnq.c).
 * simmm__lru_del() clears PG_lru and the queue entry is dropped when the
 * scan meets it (a freed folio's flags are wiped, so it drops out the same
 * way). The queue is compacted (stale and duplicate entries removed) when
 * it grows past twice the live count.
 *
 * Reclaim is shrink_folio_list() reduced to what simmm models:
 *  - second chance: folio_referenced() (rmap: test-and-clear young bits,
 *    notifier clear_young) > 0, or PG_referenced on an unmapped folio,
 *    rotates the folio to the tail instead of reclaiming it; so does a
 *    busy rmap lock (folio_referenced() only trylocks it);
 *  - references beyond the mappings and the caches do not stop reclaim
 *    before it unmaps, as in the kernel: a maybe-DMA-pinned anonymous
 *    folio is not added to swap, try_to_unmap() leaves an anon-exclusive
 *    page of a maybe-pinned folio mapped (folio_try_share_anon_rmap_pte()
 *    fails) and a lazyfree folio with extra references too, a pinned folio
 *    is kept once unmapped; anything else (a FOLL_GET reference, a fault
 *    or COW copy in progress) is unmapped and written out, and only then
 *    does __remove_mapping()'s refcount freeze (isolation + cache) fail:
 *    the folio stays in the swap or page cache, unmapped, and rotates
 *    (not freed, not counted). The next fault finds it there (a
 *    swap-cache hit: the same frame, no I/O). A FOLL_GET reference keeps
 *    a page alive, not mapped: FOLL_PIN exists for that;
 *  - large anonymous folios are split first (split_folio_to_list(), as
 *    shrink_folio_list() does when a THP cannot be swapped as a unit) and
 *    their pages are reclaimed one by one; a folio with extra references
 *    cannot be split (upstream's can_split_folio()) and is kept;
 *  - lazyfree (MADV_FREE'd: anon, !PG_swapbacked) folios are never added
 *    to swap: try_to_unmap() without a swap entry discards the clean ones;
 *    a dirty pte or folio (written since, through a mapping or a GUP write)
 *    makes it swap-backed again and keeps it for this round, references
 *    beyond the mappings keep it lazyfree (6.14+);
 *  - other anonymous folios go to swap: add_to_swap(), try_to_unmap() to
 *    swap entries, pageout, then they leave the swap cache and are freed;
 *  - file folios are unmapped, their data written back to the file's
 *    backing store, and dropped from the page cache (filemap_evict());
 *    shmem (swap-backed file) folios are not reclaimed (simmm has no
 *    shmem swap-out path) and unevictable/mlocked folios stay. Writing a
 *    dirty file folio back is kswapd's privilege; simmm's LRU shrinks take
 *    it (simmm has no flusher threads), reclaim_pages() does not.
 *
 * Two entries: simmm__shrink_lru() scans the LRU (simmm_reclaim(), and
 * direct reclaim when the buddy allocator runs dry under
 * simmm__alloc_user_folio() with auto reclaim on); simmm__reclaim_folios()
 * is reclaim_pages() for folios a caller isolated (MADV_PAGEOUT, through
 * src/mm/madvise.c): the same per-folio paths with references ignored and
 * dirty file folios kept. Both count in the scanned/reclaimed totals.
 *
 * Concurrency, as in the kernel, where reclaimers are independent:
 *  - isolation: a shrink takes each folio off the LRU before working on it
 *    (isolate_lru_folios(): PG_lru cleared, a reference taken, under the
 *    lru_lock, so no scheduling point), one folio at a time where the
 *    kernel isolates a batch of SWAP_CLUSTER_MAX; what it keeps it puts
 *    back at the tail (move_folios_to_lru()). A folio belongs to one
 *    isolator: another shrink, MADV_PAGEOUT's folio_isolate_lru() and
 *    migration's all fail on it meanwhile, and nobody else sets PG_lru on
 *    it again. A large folio is split by its isolator, whose tails then go
 *    to the LRU (upstream: onto the reclaimer's private list);
 *  - no recursion, per task: both entries mark the current task as
 *    reclaiming (PF_MEMALLOC in its flags word, memalloc_noreclaim_save()
 *    and _restore()), and an allocation made meanwhile by that task (a
 *    notifier callback's fault, say) fails rather than reclaim again; the
 *    allocations of other tasks reclaim as usual while it sleeps inside;
 *  - throttling: a direct reclaimer that freed nothing while others hold
 *    folios isolated waits for one of those isolations to end, or 20 ms of
 *    virtual time (reclaim_throttle(VMSCAN_THROTTLE_ISOLATED), HZ/50), and
 *    tries again, at most MAX_RECLAIM_RETRIES (16) times per allocation
 *    (__alloc_pages_slowpath()'s no-progress retries): it ends, with a
 *    page or -ENOMEM, whatever the others do. Only tasks wait: outside
 *    them nothing else could end an isolation.
 */
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

/* ---- the queue ------------------------------------------------------------- */

/* A queue entry names a folio on the LRU: an in-use head with PG_lru. */
static struct simmm_page *lru_entry_live(simmm_sim *sim, simmm_pfn_t pfn)
{
	struct simmm_page *p = simmm__pfn_to_page(sim, pfn);

	if (!p || p->refcount <= 0 || p->head_delta || !(p->flags & PG_lru))
		return NULL;
	return p;
}

/**
 * simmm__lru_add() - folio_add_lru(): put a user folio at the LRU tail.
 * A folio already on the LRU is left where it is.
 */
void simmm__lru_add(simmm_sim *sim, struct simmm_page *folio)
{
	struct simmm_lru *l = lru_of(sim);

	folio = simmm__compound_head(sim, folio);
	if (!l || (folio->flags & (PG_lru | PG_reserved | PG_table)))
		return;
	/* Compaction recounts nr_live: every folio with PG_lru has an entry,
	 * so the survivors are exactly those folios (a folio freed by a bare
	 * folio_put(), without simmm__lru_del(), left nr_live one too high
	 * until now). Hence before this folio gets PG_lru: the recount must
	 * not see one whose entry is not queued yet. */
	if (simmm__pfnq_bloated(&l->q, l->nr_live))
		l->nr_live = simmm__pfnq_compact(sim, &l->q, lru_entry_live);
	folio->flags |= PG_lru;
	l->nr_live++;
	simmm__pfnq_push(sim, &l->q, folio->pfn);
}

/**
 * simmm__lru_del() - lruvec_del_folio(): take a folio off the LRU (lazily:
 * its queue entry is skipped later).
 */
void simmm__lru_del(simmm_sim *sim, struct simmm_page *folio)
{
	struct simmm_lru *l = lru_peek(sim);

	folio = simmm__compound_head(sim, folio);
	if (!(folio->flags & PG_lru))
		return;
	folio->flags &= ~PG_lru;
	if (l && l->nr_live)
		l->nr_live--;
}

void simmm__lru_stats(simmm_sim *sim, uint64_t *nr_lru, uint64_t *reclaimed)
{
	struct simmm_lru *l = lru_peek(sim);

	if (nr_lru)
		*nr_lru = l ? l->nr_live : 0;
	if (reclaimed)
		*reclaimed = l ? l->reclaimed : 0;
}

/* ---- shrink_folio_list ----------------------------------------------------------- */

/* What simmm models of struct scan_control. */
struct scan_ctl {
	bool ignore_refs; /* reclaim_pages(): no second chance (ignore_references) */
	bool file_write;  /* dirty file folios may be written back: kswapd's right,
			   * which simmm's LRU shrinks always take */
};

enum scan_result {
	SCAN_RECLAIMED,  /* freed */
	SCAN_KEEP,       /* rotate to the tail */
	SCAN_DROP,       /* leave the LRU (unevictable) */
	SCAN_NOSWAP,     /* anon folio, but no swap slot */
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

/* folio_check_references(), reduced to second chance. */
static bool folio_recently_used(simmm_sim *sim, struct simmm_page *folio)
{
	int young = simmm__folio_referenced(sim, folio);

	if (young != 0)
		return true; /* young, or -1: the rmap lock was busy (FOLIOREF_KEEP) */
	if (folio->flags & PG_referenced) {
		folio->flags &= ~PG_referenced;
		return true;
	}
	return false;
}

static enum scan_result reclaim_lazyfree(simmm_sim *sim, struct simmm_page *folio)
{
	/* try_to_unmap_one() without a swap entry on a lazyfree folio drops
	 * clean ptes; a pte dirtied since MADV_FREE makes it give up and
	 * mark the folio swap-backed again, and so do references beyond the
	 * mappings, without swap-backing it (see ttu_must_abort()). */
	if (!simmm__try_to_unmap(sim, folio, 0))
		return SCAN_KEEP;
	if (folio->flags & PG_dirty) {
		folio->flags |= PG_swapbacked;
		return SCAN_KEEP;
	}
	/* shrink_folio_list(): a pinned folio is kept once unmapped, and a
	 * lazyfree one is freed only if folio_ref_freeze(folio, 1) works: a
	 * reference taken since the unmap keeps it. */
	if (simmm__folio_maybe_dma_pinned(sim, folio) || !folio_ref_freezable(folio, 0))
		return SCAN_KEEP;
	return SCAN_RECLAIMED;
}

static enum scan_result reclaim_anon(simmm_sim *sim, struct simmm_page *folio)
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
		 * yet (pageout() below writes, after the unmap). */
		swp = simmm__swap_add_to_cache(sim, folio);
		if (!swp)
			return SCAN_NOSWAP;
	}
	/* An anon-exclusive page of a maybe-pinned folio stays mapped
	 * (folio_try_share_anon_rmap_pte() fails); a page with a FOLL_GET
	 * reference is unmapped like any other. */
	if (!simmm__try_to_unmap(sim, folio, swp))
		return SCAN_KEEP; /* stays in the swap cache for the rest */
	/* The walk slept (notifier brackets). Our folio lock keeps the folio
	 * in the swap cache (simmm__swap_free() leaves a locked folio there);
	 * should it have left anyway, pageout() keeps a folio without a
	 * mapping rather than writing it. */
	if (!(folio->flags & PG_swapcache) || folio->private != swp)
		return SCAN_KEEP;
	/* Unmapped, it cannot be newly pinned: a pinned one is kept before
	 * pageout (shrink_folio_list() since 6.4, "mm: do not reclaim
	 * private data from pinned page"). */
	if (simmm__folio_maybe_dma_pinned(sim, folio))
		return SCAN_KEEP;
	/* pageout() after the unmap: the contents are final now. */
	if (simmm__swap_writepage(sim, folio))
		return SCAN_KEEP;
	folio->flags &= ~PG_dirty;
	/* __remove_mapping(): with an extra reference the folio stays in the
	 * swap cache, clean and unmapped; the swap entries now in the ptes
	 * fault this very folio back (a swap-cache hit, no I/O). */
	if (!folio_ref_freezable(folio, 1))
		return SCAN_KEEP;
	simmm__swap_cache_del(sim, folio);
	return SCAN_RECLAIMED;
}

static enum scan_result reclaim_file(simmm_sim *sim, struct simmm_page *folio,
				     const struct scan_ctl *sc)
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
	if (simmm__try_to_unmap(sim, folio, 0) && folio->mapping == file &&
	    !simmm__folio_maybe_dma_pinned(sim, folio) &&
	    (sc->file_write || !(folio->flags & PG_dirty))) {
		/* pageout() writes back (simmm: always, when allowed; the
		 * kernel only a dirty folio), then __remove_mapping() drops
		 * the cache's reference unless someone else holds one: then
		 * the folio stays in the page cache, clean and unmapped. Only
		 * kswapd writes a dirty file folio back (simmm's LRU shrinks
		 * act as kswapd); reclaim_pages() keeps it, unmapped (the
		 * unmap moved the ptes' dirty bits to it) and dirty, in the
		 * page cache (the condition above). */
		simmm__filemap_writeback(file, folio);
		if (folio_ref_freezable(folio, 1)) {
			simmm__filemap_evict(file, folio);
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

/* One folio, isolated by the caller (off the LRU, with a reference). */
static enum scan_result reclaim_folio(simmm_sim *sim, struct simmm_page *folio,
				      const struct scan_ctl *sc)
{
	/* Isolation is exclusive: nobody puts a folio on the LRU that
	 * another holds isolated (shrink_folio_list()'s VM_BUG_ON_FOLIO()). */
	if (NEVER(folio->flags & PG_lru))
		return SCAN_KEEP;
	if (folio->flags & (PG_unevictable | PG_mlocked | PG_reserved | PG_zero) ||
	    simmm__is_zone_device_page(folio))
		return SCAN_DROP;
	if (!sc->ignore_refs && folio_recently_used(sim, folio))
		return SCAN_KEEP;
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
		 * can_split_folio() check keeps it (activate_locked). */
		uint64_t nr = 1ULL << folio->order;

		if (!(folio->flags & PG_anon) || simmm__split_folio(sim, folio))
			return SCAN_KEEP;
		/* Both callers isolated the folio, so the split left its tails
		 * off the LRU (it requeues only an LRU folio's): they go there
		 * now, for a later pass (upstream puts them on the list being
		 * reclaimed). Nobody else can split it meanwhile: our isolation
		 * reference fails their can_split_folio(). Go on with the head,
		 * still isolated. */
		split_tails_to_lru(sim, folio, nr);
	}
	if (simmm__folio_trylock(sim, folio) == false)
		return SCAN_KEEP;
	enum scan_result r = (folio->flags & PG_anon) ? reclaim_anon(sim, folio)
						       : reclaim_file(sim, folio, sc);
	simmm__folio_unlock(sim, folio);
	return r;
}

/* isolate_lru_folios() for one folio: the next live entry's folio leaves
 * the LRU (PG_lru cleared) with the isolation reference, so that no other
 * isolator (another shrink, folio_isolate_lru(), migration) takes it until
 * it is put back. Under the kernel's lru_lock: no scheduling point. */
static bool lru_isolate_next(simmm_sim *sim, struct simmm_lru *l, struct simmm_page **out)
{
	*out = simmm__pfnq_pop(sim, &l->q, lru_entry_live);
	if (!*out)
		return false;
	simmm__folio_get(sim, *out); /* pairs with the put after the reclaim */
	simmm__lru_del(sim, *out);
	l->nr_isolated++;
	return true;
}

/* An isolation of reclaim's ended (the folio was put back, freed or left
 * off the LRU, and its reference dropped): throttled reclaimers may find
 * a page, or a folio to reclaim, now (the kernel wakes them as the
 * isolated count falls, wake_throttle_isolated()). The wake-up is a
 * scheduling point, taken only when someone waits. */
static void lru_isolation_end(simmm_sim *sim, struct simmm_lru *l)
{
	if (ALWAYS(l->nr_isolated))
		l->nr_isolated--;
	l->isolation_ends++;
	if (l->nr_throttled)
		simmm_wake_up_all(sim, &l->throttle_wq);
}

/**
 * simmm__shrink_lru() - shrink_inactive_list() + shrink_folio_list() over
 * the LRU: isolate the folio at the head, reclaim it or put it back at the
 * tail, until @nr pages are freed or twice the queue was scanned (every
 * folio gets its second chance once).
 * @sim: the instance.
 * @nr: pages to free.
 * @no_swap: set when an anonymous folio was kept for lack of a swap slot
 *   (may be NULL).
 *
 * Context: may sleep (rmap walks, folio locks, notifier callbacks), with
 * the current task marked as reclaiming (PF_MEMALLOC): its own
 * allocations meanwhile do not reclaim; other tasks' do, and they find
 * the folio this one works on isolated. Not throttled here (see
 * simmm__alloc_user_folio()).
 * Return: the pages freed; 0 at once when the current task is already
 * reclaiming (no recursion) or the LRU could not be created.
 */
uint64_t simmm__shrink_lru(simmm_sim *sim, uint64_t nr, bool *no_swap)
{
	static const struct scan_ctl sc = {.file_write = true};
	struct simmm_lru *l = lru_of(sim);
	uint64_t freed = 0, budget;
	struct simmm_page *folio;
	uint32_t noreclaim;

	if (no_swap)
		*no_swap = false;
	if (!l || current_is_reclaiming(sim))
		return 0;
	noreclaim = memalloc_noreclaim_save(sim);
	budget = 2 * simmm__pfnq_len(&l->q);
	while (freed < nr && budget-- && lru_isolate_next(sim, l, &folio)) {
		uint64_t pages = 1ULL << folio->order;
		enum scan_result r;

		l->scanned++;
		r = reclaim_folio(sim, folio, &sc);
		if (pages > 1 && !folio->order)
			budget += 2 * (pages - 1); /* split: the tails were queued */
		if (r == SCAN_NOSWAP && no_swap)
			*no_swap = true;
		if (r == SCAN_KEEP || r == SCAN_NOSWAP)
			simmm__lru_add(sim, folio); /* putback: move_folios_to_lru() */
		else if (r == SCAN_RECLAIMED)
			freed += 1ULL << folio->order;
		/* SCAN_DROP: it stays off the LRU (no unevictable list here). */
		simmm__put_user_folio(sim, folio); /* the isolation reference */
		lru_isolation_end(sim, l);
	}
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
	l->nr_isolated++;
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
	if (l)
		lru_isolation_end(sim, l);
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
	static const struct scan_ctl sc = {.ignore_refs = true};
	struct simmm_lru *l = lru_peek(sim);
	uint32_t noreclaim = memalloc_noreclaim_save(sim);
	uint64_t freed = 0;

	for (unsigned i = 0; i < nr; i++) {
		struct simmm_page *folio = folios[i];
		enum scan_result r;

		if (l)
			l->scanned++;
		r = reclaim_folio(sim, folio, &sc);
		if (r == SCAN_RECLAIMED)
			freed += 1ULL << folio->order;
		else if (r != SCAN_DROP)
			simmm__lru_add(sim, folio); /* kept, or no swap slot: putback */
		simmm__put_user_folio(sim, folio); /* the isolation reference */
		if (l)
			lru_isolation_end(sim, l);
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

struct throttle_wait {
	const struct simmm_lru *l;
	uint64_t ends;
};

static bool isolation_ended(simmm_sim *sim, void *arg)
{
	const struct throttle_wait *w = arg;

	(void)sim;
	return w->l->isolation_ends != w->ends;
}

/* reclaim_throttle(pgdat, VMSCAN_THROTTLE_ISOLATED) for a direct reclaimer
 * that freed nothing while others hold folios isolated (they may free
 * them, or put them back for it to reclaim): sleep until one of those
 * isolations ends or THROTTLE_ISOLATED_MS pass, so that a reclaimer that
 * found the LRU empty does not fail at once. The kernel throttles on
 * too_many_isolated() (isolated > inactive) before it scans; simmm, whose
 * shrink isolates one folio at a time, on the fruitless scan instead.
 * Return: false, without waiting, when nobody else holds an isolated
 * folio, outside tasks (nothing else runs there), or in an atomic or
 * non-blockable section. */
static bool reclaim_throttle(simmm_sim *sim)
{
	struct simmm_lru *l = lru_peek(sim);
	struct throttle_wait w;

	if (!l || !l->nr_isolated || !sim->cur_task || simmm_sched_in_atomic(sim))
		return false;
	w = (struct throttle_wait){.l = l, .ends = l->isolation_ends};
	l->nr_throttled++;
	l->throttled++;
	/* Ends by a wake-up or the timeout; either way the caller retries. */
	(void)simmm_wait_event_timeout(sim, &l->throttle_wq, isolation_ended, &w,
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
				      NULL) ||
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
 * simmm_reclaim() - split partially mapped THPs, then shrink the LRU, to
 * free up to @nr_pages (see <simmm/mm.h>).
 * Context: any task, or outside tasks; takes no mmap lock (rmap walks, as
 * the kernel's reclaim); may sleep. Concurrent calls are independent
 * reclaimers (each isolates what it works on). Called from inside reclaim
 * by the same task (a notifier callback), it frees nothing (PF_MEMALLOC).
 * Never throttled: it acts as kswapd, as it does for dirty file folios.
 * Return: 0; -EINVAL for a bad @sim; -ENOMEM when the reclaim state could
 * not be created; -ENOSPC when nothing was freed and anonymous folios were
 * left for lack of swap.
 */
int simmm_reclaim(simmm_sim *sim, uint64_t nr_pages, uint64_t *reclaimed)
{
	uint64_t freed;
	bool no_swap;

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
	freed += simmm__shrink_lru(sim, freed < nr_pages ? nr_pages - freed : 0, &no_swap);
	if (reclaimed)
		*reclaimed = freed;
	return (!freed && nr_pages && no_swap) ? -ENOSPC : 0;
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

/* ---- teardown and checks ---------------------------------------------------------- */

void simmm__lru_fini(simmm_sim *sim)
{
	struct simmm_mm_global *g = simmm__mm_global(sim);
	struct simmm_lru *l = lru_peek(sim);

	if (!l)
		return;
	simmm__pfnq_fini(sim, &l->q);
	simmm__free(sim, SIMMM_ALLOC_META, l, sizeof(*l));
	g->lru = NULL;
}

/* Only in-use folio heads carry PG_lru, each has a queue entry, and
 * nr_live counts them all (small machines only: O(RAM), like the mm
 * checker's orphan scan). It may count more: a folio freed by a bare
 * folio_put() (simmm_page_put()'s last reference; the page layer cannot
 * call up to simmm__lru_del()) stays in it until the next compaction
 * recounts. */
static int lru_check_flags(simmm_sim *sim, const struct simmm_lru *l)
{
	uint64_t n = 0;
	int bad = 0;

	if (sim->ram_pages > (1u << 18))
		return 0;
	for (simmm_pfn_t pfn = 0; pfn < sim->ram_pages; pfn++) {
		struct simmm_page *p = simmm__pfn_to_page(sim, pfn);

		if (!p || !(p->flags & PG_lru))
			continue;
		n++;
		if (p->head_delta || p->refcount <= 0 || (p->flags & (PG_reserved | PG_table))) {
			simmm__report(sim, SIMMM_REPORT_INVARIANT,
				      "lru: pfn %#llx has PG_lru but is no folio head in use",
				      (unsigned long long)pfn);
			bad++;
		}
	}
	if (n > l->nr_live || n > simmm__pfnq_len(&l->q)) {
		simmm__report(sim, SIMMM_REPORT_INVARIANT,
			      "lru: %llu folios with PG_lru, nr_live %llu, %llu queue entries",
			      (unsigned long long)n, (unsigned long long)l->nr_live,
			      (unsigned long long)simmm__pfnq_len(&l->q));
		bad++;
	}
	return bad;
}

int simmm__lru_check(simmm_sim *sim)
{
	struct simmm_lru *l = lru_peek(sim);

	if (!l)
		return 0;
	if (simmm__pfnq_check(sim, &l->q, "lru"))
		return 1;
	return lru_check_flags(sim, l);
}
