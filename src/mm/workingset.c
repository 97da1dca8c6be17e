// SPDX-License-Identifier: MIT
/*
 * Workingset detection (mm/workingset.c) for the classic (lru_gen off)
 * LRU of reclaim.c, with simmm's one node and no memory cgroup: one
 * lruvec, so no memcg id or node in a shadow entry and no
 * parent_lruvec() walk.
 *
 * A folio that reclaim evicts leaves a shadow entry in its slot: the
 * page-cache slot of a file folio (simmm__filemap_evict()), the swap slot
 * of an anonymous one (simmm__swap_cache_evict()), as __remove_mapping()
 * does; lazyfree folios, discarded, leave none, and neither do shmem
 * folios (simmm has no shmem swap-out). The entry packs the lruvec's
 * nonresident_age at the eviction (pack_shadow(), simmm's timestamp
 * uncut: bucket_order is 0) and PG_workingset, the folio's "was active
 * before" bit.
 *
 * nonresident_age counts, in pages, the evictions and the activations
 * (workingset_age_nonresident()): each eviction; each folio that
 * folio_mark_accessed() activates (workingset_activation()); each folio
 * that reclaim puts back on an active list (move_folios_to_lru():
 * shrink_inactive_list()'s activations and shrink_active_list()'s
 * rotations); each refault it activates. The refault distance of a
 * shadow is nonresident_age now less its timestamp: how much the
 * inactive list was pushed on since, the minimum access distance of a
 * folio that had stayed in memory.
 *
 * A folio created where a shadow is (filemap_add_folio() for a read or a
 * fault, not write(2)'s; __read_swap_cache_async() for a swap-in) goes to
 * workingset_refault() before it joins the LRU: counted as
 * WORKINGSET_REFAULT; if the distance is within the workingset size
 * (workingset_test_recent(), below) it becomes active (folio_set_active(),
 * so lru_add() puts it on the active list), ages the lruvec and counts as
 * WORKINGSET_ACTIVATE; if its shadow said PG_workingset it gets that bit
 * back, counts as WORKINGSET_RESTORE and its refault is a cost of its
 * type for get_scan_count() (lru_note_cost_refault(): 32 units, as a
 * pageout).
 *
 * PG_workingset is set by shrink_active_list() on every folio it
 * deactivates (reclaim.c), by a restoring refault, and inherited by
 * splits and migrations; folio_mark_accessed() only ages.
 *
 * The workingset size, as torvalds/linux 00c010e1 (6.16-rc) has
 * workingset_test_recent(): the active file list; for an anon refault
 * also the inactive file list; and, when a swap slot is free
 * (get_nr_swap_pages() > 0), the active anon list, and for a file refault
 * the inactive anon list too. simmm's lists count folios where the kernel
 * counts pages: the same for the order-0 page-cache folios, fewer for the
 * anon lists while they hold large folios.
 *
 * Not modelled: the shadow node shrinker (count_shadow_nodes(): simmm
 * keeps every shadow until its slot is refilled, truncated or freed, or
 * the file dies); MGLRU's tiers and generations (lru_gen_eviction());
 * the refault's PSI memstall accounting; cachestat's use of
 * workingset_test_recent().
 */
#include "mm/mm_ext.h"

#define WORKINGSET_SHIFT 1 /* the PG_workingset bit under the timestamp */
/* The timestamp bits a shadow keeps: all but the tag and PG_workingset. */
#define EVICTION_MASK (~0ULL >> (1 + WORKINGSET_SHIFT))

static struct simmm_lru *ws_lru(simmm_sim *sim)
{
	struct simmm_mm_global *g = simmm__mm_global(sim);

	return g ? g->lru : NULL;
}

/* pack_shadow() without memcg id and node. */
static uint64_t pack_shadow(uint64_t eviction, bool workingset)
{
	return SIMMM_SHADOW_TAG | (eviction & EVICTION_MASK) << WORKINGSET_SHIFT |
	       (workingset ? 1 : 0);
}

static void unpack_shadow(uint64_t shadow, uint64_t *eviction, bool *workingset)
{
	*workingset = shadow & 1;
	*eviction = (shadow >> WORKINGSET_SHIFT) & EVICTION_MASK;
}

/**
 * simmm__workingset_age_nonresident() - workingset_age_nonresident(): the
 * LRU aged by @nr pages (an eviction or an activation), and the
 * non-resident folios' distances with it.
 */
void simmm__workingset_age_nonresident(struct simmm_lru *l, uint64_t nr)
{
	l->nonresident_age += nr;
}

/**
 * simmm__workingset_eviction() - workingset_eviction(): the shadow entry
 * of @folio, which reclaim is about to drop from the page or swap cache
 * (its refcount frozen, off the LRU, locked): the timestamp now and
 * PG_workingset; the eviction ages the LRU by the folio's pages.
 * Context: no scheduling point.
 * Return: the shadow (tagged, never 0); 0 when the LRU does not exist.
 */
uint64_t simmm__workingset_eviction(simmm_sim *sim, struct simmm_page *folio)
{
	struct simmm_lru *l = ws_lru(sim);
	uint64_t eviction;

	if (!l)
		return 0;
	eviction = l->nonresident_age;
	simmm__workingset_age_nonresident(l, 1ULL << folio->order);
	return pack_shadow(eviction, folio->flags & PG_workingset);
}

/**
 * simmm__workingset_test_recent() - workingset_test_recent(): was the
 * folio of @shadow evicted recently enough that it would have stayed in
 * memory had the workingset size (see the top of this file) been all its
 * own? The refault distance is the unsigned difference of the timestamps
 * (masked: a wrapped counter still gives the right distance).
 * @file: the refaulting folio is on the file LRU (folio_is_file_lru()).
 * @workingset: set to the shadow's PG_workingset.
 * Context: no scheduling point.
 * Return: true when the distance is at most the workingset size.
 */
bool simmm__workingset_test_recent(simmm_sim *sim, uint64_t shadow, bool file, bool *workingset)
{
	struct simmm_mm_global *g = simmm__mm_global(sim);
	struct simmm_lru *l = g ? g->lru : NULL;
	uint64_t eviction, distance, size;

	unpack_shadow(shadow, &eviction, workingset);
	if (!l)
		return false;
	distance = (l->nonresident_age - eviction) & EVICTION_MASK;
	size = l->nr_live[SIMMM_LRU_ACTIVE_FILE];
	if (!file)
		size += l->nr_live[SIMMM_LRU_INACTIVE_FILE];
	/* Anon competes for memory only while it can be swapped out. */
	if (g->swap && g->swap->nr_used < g->swap->nr_slots) {
		size += l->nr_live[SIMMM_LRU_ACTIVE_ANON];
		if (file)
			size += l->nr_live[SIMMM_LRU_INACTIVE_ANON];
	}
	return distance <= size;
}

/**
 * simmm__workingset_refault() - workingset_refault(): @folio, new and not
 * on the LRU yet, takes the place of the evicted folio of @shadow (the
 * page-cache or swap-cache insertion found the shadow there). Counted as
 * a refault of its type; a recent one (see
 * simmm__workingset_test_recent()) is made active and ages the LRU, and
 * one that was in the workingset before gets PG_workingset back and
 * notes a refault cost (lru_note_cost_refault()).
 * Context: the caller adds @folio to the LRU next (lru_add()); no
 * scheduling point.
 */
void simmm__workingset_refault(simmm_sim *sim, struct simmm_page *folio, uint64_t shadow)
{
	struct simmm_lru *l = ws_lru(sim);
	bool file = !(folio->flags & PG_swapbacked);
	uint64_t nr = 1ULL << folio->order;
	bool workingset;

	if (!l)
		return;
	l->workingset_refault[file] += nr;
	if (!simmm__workingset_test_recent(sim, shadow, file, &workingset))
		return;
	folio->flags |= PG_active;
	simmm__workingset_age_nonresident(l, nr);
	l->workingset_activate[file] += nr;
	if (workingset) {
		folio->flags |= PG_workingset;
		simmm__lru_note_cost_refault(sim, folio);
		l->workingset_restore[file] += nr;
	}
}

/**
 * simmm__workingset_activation() - workingset_activation():
 * folio_mark_accessed() activated @folio (or would have: it was off the
 * LRU); the LRU ages by its pages.
 * Context: no scheduling point.
 */
void simmm__workingset_activation(simmm_sim *sim, struct simmm_page *folio)
{
	struct simmm_lru *l = ws_lru(sim);

	if (l)
		simmm__workingset_age_nonresident(l, 1ULL << folio->order);
}

/**
 * simmm__workingset_check_shadow() - for the checkers: is @shadow a shadow
 * entry whose timestamp is not ahead of the LRU's nonresident_age (one
 * workingset_eviction() could have made)?
 * Return: 0 when it is, else 1 (reported as an invariant violation).
 */
int simmm__workingset_check_shadow(simmm_sim *sim, uint64_t shadow)
{
	struct simmm_lru *l = ws_lru(sim);
	uint64_t eviction;
	bool workingset;

	unpack_shadow(shadow, &eviction, &workingset);
	if (simmm__is_shadow(shadow) && l && eviction < l->nonresident_age)
		return 0;
	simmm__report(sim, SIMMM_REPORT_INVARIANT,
		      "workingset: shadow entry %#llx (eviction %llu) with nonresident_age %llu",
		      (unsigned long long)shadow, (unsigned long long)eviction,
		      (unsigned long long)(l ? l->nonresident_age : 0));
	return 1;
}
