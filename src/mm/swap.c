// SPDX-License-Identifier: MIT
/*
 * The swap device, swap counts and the swap cache (mm/swapfile.c,
 * mm/swap_state.c).
 *
 * One device of sim->swap_pages slots, swap type 0. A slot's swap_map
 * entry is split into @count (swap entries referencing it, as
 * swap_duplicate()/swap_free() count them) and the SWAP_HAS_CACHE bit,
 * represented by @cache_pfn: the swap-cache folio, which holds one folio
 * reference for the cache (as the kernel's swap cache does per page).
 *
 * Lifetime of a slot, as the kernel's:
 *   add_to_swap()        slot allocated, count 0, folio in the swap cache,
 *                        marked dirty (reclaim.c);
 *   try_to_unmap()       each pte becomes a swap entry: swap_duplicate (+1);
 *                        the ptes' dirty bits go to the folio;
 *   pageout              a dirty folio's contents copied to the slot, the
 *                        folio clean (a clean one's are the slot's);
 *   __remove_mapping()   folio leaves the swap cache (cache ref dropped),
 *                        a shadow entry in its place (workingset.c);
 *   do_swap_page()       swap cache hit or a read into a new swap-cache
 *                        folio, locked (fault.c rechecks it is still the
 *                        swap cache's and the pte unchanged); the pte's
 *                        swap_free (-1); the folio stays in the swap cache
 *                        unless should_try_to_free_swap() (swap more than
 *                        half full, VM_LOCKED or mlocked, a write fault
 *                        nobody else holds) has folio_free_swap() take it out;
 *   count 0, no cache    the slot is free again (its shadow dropped:
 *                        clear_shadow_from_swap_cache()).
 * A swap-in onto a slot with a shadow entry is a refault:
 * workingset_refault() judges it before the folio joins the LRU.
 * So a folio swapped in by a read fault normally stays mapped, clean, in
 * the swap cache, with a swap count of 0 (only SWAP_HAS_CACHE holds the
 * slot): a later reclaim unmaps it to the same slot and frees it without
 * writing, unless a pte or a writer dirtied it meanwhile. It leaves the
 * cache when it is dirtied for good (do_wp_page()'s reuse, MADV_FREE,
 * migration to a device: folio_free_swap()), when its last mapping goes
 * (a zap or a COW copy: free_swap_cache()), when the last swap entry of
 * an unmapped one goes or swap is full (free_swap_and_cache()), and at
 * reclaim (__remove_mapping(), or activate_locked when swap is full or
 * the folio mlocked). Leaving the cache while in use dirties the folio
 * (folio_free_swap()): nothing else holds its contents any more.
 * As in the kernel, removal needs the folio lock (folio_free_swap() checks
 * it; __try_to_reclaim_swap() and free_swap_cache() only trylock): a folio
 * locked by someone else (reclaim between add_to_swap() and pageout, a
 * migration, a swap-in) stays in the cache, and its owner decides (found
 * by fuzz_races: MADV_DONTNEED took the folio out of the swap cache under
 * reclaim's try_to_unmap()).
 *
 * Slots are allocated from a stack of freed offsets, then from a high-water
 * mark, so the slot array grows only with use (16 TiB devices cost nothing
 * until written).
 */
#include <string.h>

#include "mm/mm_ext.h"

/* ---- slot bookkeeping ----------------------------------------------------- */

static struct simmm_swap *swap_of(simmm_sim *sim)
{
	return simmm__mm_global(sim)->swap;
}

/* The slot of a swap-device entry, or NULL if it is not one of ours. */
static struct simmm_swap_slot *slot_of(struct simmm_swap *sw, simmm_entry_t swp)
{
	uint64_t off;

	if (!sw || !simmm_is_real_swap_entry(swp) || simmm_swp_type(swp) != 0)
		return NULL;
	off = simmm_swp_offset(swp);
	if (off == 0 || off > sw->hiwater)
		return NULL;
	return &sw->slots[off - 1];
}

static simmm_entry_t slot_entry(struct simmm_swap *sw, struct simmm_swap_slot *s)
{
	return simmm_swp_entry(0, (uint64_t)(s - sw->slots) + 1);
}

/* get_swap_pages(): a free slot, or NULL when the device is full (or has
 * no room to grow its bookkeeping: -ENOMEM is treated like full). */
static struct simmm_swap_slot *slot_alloc(simmm_sim *sim, struct simmm_swap *sw)
{
	struct simmm_swap_slot *s;
	uint64_t off;

	if (sw->nr_used >= sw->nr_slots)
		return NULL;
	if (sw->free_nr) {
		off = sw->free[--sw->free_nr];
	} else {
		/* Reserve the free-stack room now so freeing never allocates. */
		if (simmm__grow(sim, SIMMM_ALLOC_META, (void **)&sw->free, sizeof(*sw->free),
				&sw->free_cap, sw->hiwater + 1, false) ||
		    simmm__grow(sim, SIMMM_ALLOC_META, (void **)&sw->slots, sizeof(*sw->slots),
				&sw->slots_cap, sw->hiwater + 1, false))
			return NULL;
		off = ++sw->hiwater;
		memset(&sw->slots[off - 1], 0, sizeof(sw->slots[0]));
	}
	s = &sw->slots[off - 1];
	s->used = true;
	sw->nr_used++;
	return s;
}

static void slot_release(simmm_sim *sim, struct simmm_swap *sw, struct simmm_swap_slot *s)
{
	if (s->data)
		simmm__free(sim, SIMMM_ALLOC_META, s->data, sim->page_size);
	memset(s, 0, sizeof(*s));
	sw->free[sw->free_nr++] = (uint64_t)(s - sw->slots) + 1;
	sw->nr_used--;
}

static void slot_maybe_release(simmm_sim *sim, struct simmm_swap *sw, struct simmm_swap_slot *s)
{
	if (s->used && s->count == 0 && s->cache_pfn == 0)
		slot_release(sim, sw, s);
}

/* ---- init / fini ------------------------------------------------------------ */

static void mm_ext_fini_hook(simmm_sim *sim, void *arg)
{
	(void)arg;
	simmm__mm_ext_fini(sim);
}

static int lru_init(simmm_sim *sim, struct simmm_mm_global *g)
{
	g->lru = simmm__zalloc(sim, SIMMM_ALLOC_META, sizeof(*g->lru));
	if (!g->lru)
		return -ENOMEM;
	simmm_waitqueue_init(&g->lru->throttle_wq, "reclaim_throttle");
	simmm_waitqueue_init(&g->lru->isolated_wq, "reclaim_throttle_isolated");
	g->lru->swappiness = SIMMM_DEF_SWAPPINESS;
	return 0;
}

/**
 * simmm__swap_init() - create the swap device and the LRU for @sim.
 * Called once by mm.c when the per-machine mm state is created.
 * Return: 0; -ENOMEM (nothing left allocated).
 */
int simmm__swap_init(simmm_sim *sim)
{
	struct simmm_mm_global *g = simmm__mm_global(sim);
	int err;

	if (g->swap)
		return 0;
	g->swap = simmm__zalloc(sim, SIMMM_ALLOC_META, sizeof(*g->swap));
	if (!g->swap)
		return -ENOMEM;
	g->swap->nr_slots = sim->swap_pages;
	err = lru_init(sim, g);
	if (!err)
		err = simmm__add_checker(sim, "mm-ext", simmm__mm_ext_check, NULL);
	if (!err) {
		err = simmm__add_fini(sim, "mm-ext", mm_ext_fini_hook, NULL);
		if (err)
			simmm__remove_checker(sim, simmm__mm_ext_check, NULL);
	}
	if (err) {
		simmm__free(sim, SIMMM_ALLOC_META, g->lru, sizeof(*g->lru));
		simmm__free(sim, SIMMM_ALLOC_META, g->swap, sizeof(*g->swap));
		g->lru = NULL;
		g->swap = NULL;
	}
	return err;
}

/* Drops every swap-cache reference (the folios may be freed) and frees
 * the slot data. */
void simmm__swap_fini(simmm_sim *sim)
{
	struct simmm_mm_global *g = simmm__mm_global(sim);
	struct simmm_swap *sw = g->swap;

	if (!sw)
		return;
	for (uint64_t i = 0; i < sw->hiwater; i++) {
		struct simmm_swap_slot *s = &sw->slots[i];
		struct simmm_page *f = s->cache_pfn ? simmm__pfn_to_page(sim, s->cache_pfn) : NULL;
		if (f) {
			f->flags &= ~PG_swapcache;
			f->private = 0;
			simmm__folio_put(sim, f);
		}
		if (s->data)
			simmm__free(sim, SIMMM_ALLOC_META, s->data, sim->page_size);
	}
	simmm__free(sim, SIMMM_ALLOC_META, sw->slots, sw->slots_cap * sizeof(*sw->slots));
	simmm__free(sim, SIMMM_ALLOC_META, sw->free, sw->free_cap * sizeof(*sw->free));
	simmm__free(sim, SIMMM_ALLOC_META, sw, sizeof(*sw));
	g->swap = NULL;
}

void simmm__mm_ext_fini(simmm_sim *sim)
{
	struct simmm_mm_global *g = simmm__mm_global(sim);

	if (!g)
		return;
	simmm__hugetlb_fini(sim);
	simmm__swap_fini(sim);
	simmm__lru_fini(sim);
	simmm__deferred_split_fini(sim);
	simmm__remove_checker(sim, simmm__mm_ext_check, NULL);
}

int simmm__mm_ext_check(simmm_sim *sim, void *arg)
{
	(void)arg;
	return simmm__swap_check(sim) + simmm__lru_check(sim) + simmm__deferred_split_check(sim);
}

/* ---- the swap cache ------------------------------------------------------------ */

struct simmm_page *simmm__swap_cache_lookup(simmm_sim *sim, simmm_entry_t swp)
{
	struct simmm_swap_slot *s = slot_of(swap_of(sim), swp);

	if (!s || !s->used || !s->cache_pfn)
		return NULL;
	return simmm__pfn_to_page(sim, s->cache_pfn);
}

/* What a read of the swapped-out page @swp would see, without reading it
 * in (simmm_mm_peek()): the swap-cache folio if there is one (it is newer
 * than the slot), else the slot's written contents, else zeros. 0, or
 * -ENOENT for an entry that is not an allocated slot of our device. */
int simmm__swap_peek(simmm_sim *sim, simmm_entry_t swp, uint64_t off, void *buf, uint64_t n)
{
	struct simmm_swap_slot *s = slot_of(swap_of(sim), swp);
	const void *data;

	if (!s || !s->used)
		return -ENOENT;
	if (s->cache_pfn)
		data = simmm__page_data(sim, simmm__pfn_to_page(sim, s->cache_pfn), false);
	else
		data = s->data;
	if (data)
		memcpy(buf, (const uint8_t *)data + off, n);
	else
		memset(buf, 0, n);
	return 0;
}

/* add_to_swap_cache(): the cache takes a folio reference; the folio
 * replaces the slot's shadow entry, if any (the caller read it first). */
static void cache_add(simmm_sim *sim, struct simmm_swap *sw, struct simmm_swap_slot *s,
		      struct simmm_page *folio)
{
	s->shadow = 0;
	s->cache_pfn = folio->pfn;
	folio->flags |= PG_swapcache | PG_swapbacked;
	folio->private = slot_entry(sw, s);
	simmm__folio_get(sim, folio);
	sw->nr_cached++;
}

/* __folio_migrate_mapping() of a swap-cache folio: the slot's cache entry
 * and the cache's reference move to @newfolio; the old folio keeps the
 * caller's (migration) reference. */
void simmm__swap_cache_migrate(simmm_sim *sim, struct simmm_page *folio,
			       struct simmm_page *newfolio)
{
	struct simmm_swap_slot *s = slot_of(swap_of(sim), folio->private);

	if (NEVER(!(folio->flags & PG_swapcache) || !s || s->cache_pfn != folio->pfn))
		return;
	s->cache_pfn = newfolio->pfn;
	newfolio->flags |= PG_swapcache | PG_swapbacked;
	newfolio->private = folio->private;
	simmm__folio_get(sim, newfolio);
	folio->flags &= ~PG_swapcache;
	folio->private = 0;
	simmm__folio_put(sim, folio);
}

void simmm__swap_cache_evict(simmm_sim *sim, struct simmm_page *folio, uint64_t shadow)
{
	struct simmm_swap *sw = swap_of(sim);
	struct simmm_swap_slot *s;

	if (!(folio->flags & PG_swapcache))
		return;
	s = slot_of(sw, folio->private);
	folio->flags &= ~PG_swapcache;
	folio->private = 0;
	if (NEVER(!s || s->cache_pfn != folio->pfn))
		return;
	s->cache_pfn = 0;
	s->shadow = shadow;
	sw->nr_cached--;
	/* A slot no swap entry needs any more is freed, and its shadow with
	 * it (swap_range_free()'s clear_shadow_from_swap_cache()): nothing
	 * can fault it back. */
	slot_maybe_release(sim, sw, s);
	/* pairs with folio_get in cache_add(). It may be the last reference:
	 * a folio that reclaim unmapped but could not free (an extra
	 * reference, since dropped) leaves the swap cache when a zap frees
	 * its last swap entry. */
	simmm__put_user_folio(sim, folio);
}

void simmm__swap_cache_del(simmm_sim *sim, struct simmm_page *folio)
{
	simmm__swap_cache_evict(sim, folio, 0);
}

simmm_entry_t simmm__swap_add_to_cache(simmm_sim *sim, struct simmm_page *folio)
{
	struct simmm_swap *sw = swap_of(sim);
	struct simmm_swap_slot *s;

	if (!sw || folio->order || (folio->flags & PG_swapcache))
		return 0;
	s = slot_alloc(sim, sw);
	if (!s)
		return 0;
	cache_add(sim, sw, s, folio);
	return slot_entry(sw, s);
}

int simmm__swap_writepage(simmm_sim *sim, struct simmm_page *folio)
{
	struct simmm_swap *sw = swap_of(sim);
	struct simmm_swap_slot *s = slot_of(sw, folio->private);

	if (NEVER(!s || !(folio->flags & PG_swapcache)))
		return -EINVAL;
	/* A never-written page needs no storage: it reads back as zeros. */
	if (!folio->data) {
		if (s->data)
			simmm__free(sim, SIMMM_ALLOC_META, s->data, sim->page_size);
		s->data = NULL;
	} else {
		if (!s->data)
			s->data = simmm__malloc(sim, SIMMM_ALLOC_META, sim->page_size);
		if (!s->data)
			return -ENOMEM;
		memcpy(s->data, folio->data, sim->page_size);
	}
	sw->swpout++;
	return 0;
}

/* ---- the mm.h contracts ------------------------------------------------------------ */

/* swapin_readahead() without the readahead: a new order-0 swap-cache folio
 * with the slot's contents, returned with the caller's reference. */
static struct simmm_page *swap_read(simmm_sim *sim, struct simmm_swap *sw, simmm_entry_t swp,
				    int *err)
{
	struct simmm_page *folio = simmm__alloc_user_folio(sim, 0);
	struct simmm_swap_slot *s;
	uint64_t shadow;

	if (!folio) {
		*err = -ENOMEM;
		return NULL;
	}
	/* The allocation may have reclaimed, which swaps other pages out and
	 * may grow (move) the slot array: look the slot up again (found by
	 * fuzz_mm_ops as a use-after-free). It may also have slept, and the
	 * entry the caller read may be gone meanwhile: another fault on the
	 * same pte mapped the page and freed the slot, or a zap freed it. The
	 * read then fails, as __read_swap_cache_async() fails when
	 * swapcache_prepare() finds the entry freed (-ENOENT), and the caller
	 * looks at its pte again. Without this the fault put a folio in the
	 * swap cache of a free slot and mapped it over the other fault's page
	 * (the fault sleeping in reclaim's notifier bracket while another
	 * task faulted the same page). */
	s = slot_of(sw, swp);
	if (!s || !s->used || !s->count) {
		simmm__folio_put(sim, folio);
		*err = -ENOENT;
		return NULL;
	}
	if (s->cache_pfn) {
		struct simmm_page *cached = simmm__pfn_to_page(sim, s->cache_pfn);
		simmm__folio_put(sim, folio);
		simmm__folio_get(sim, cached);
		return cached;
	}
	shadow = s->shadow;
	if (s->data) {
		void *d = simmm__page_data(sim, folio, true);
		if (!d && !(sim->flags & SIMMM_CFG_NO_CONTENTS)) {
			simmm__folio_put(sim, folio);
			*err = -ENOMEM;
			return NULL;
		}
		if (d)
			memcpy(d, s->data, sim->page_size);
	}
	folio->flags |= PG_uptodate;
	cache_add(sim, sw, s, folio);
	/* __read_swap_cache_async(): the new folio took the place of the
	 * slot's shadow entry; a refault it describes is judged before the
	 * folio joins the LRU (workingset_refault(), then folio_add_lru()). */
	if (shadow)
		simmm__workingset_refault(sim, folio, shadow);
	simmm__lru_add(sim, folio);
	sw->swpin++;
	return folio;
}

struct simmm_page *simmm__swap_in_major(simmm_sim *sim, simmm_entry_t swp, int *err,
					bool *major)
{
	struct simmm_swap *sw = swap_of(sim);
	struct simmm_swap_slot *s = slot_of(sw, swp);
	struct simmm_page *folio;
	int dummy;

	if (!err)
		err = &dummy;
	if (major)
		*major = false;
	*err = 0;
	if (!s || !s->used) {
		*err = -EINVAL; /* a stale entry: the kernel would SIGBUS */
		return NULL;
	}
	if (s->cache_pfn) {
		/* Swap-cache hit: a sharer (fork) already read it, or it was
		 * never fully unmapped. */
		folio = simmm__pfn_to_page(sim, s->cache_pfn);
		simmm__folio_get(sim, folio);
		return folio;
	}
	folio = swap_read(sim, sw, swp, err);
	if (folio && major)
		*major = true;
	return folio;
}

/**
 * simmm__swap_in() - do_swap_page()'s lookup: the swap-cache folio of @swp
 * or a new one read from the slot (it enters the swap cache and the LRU).
 * Return: the folio with a reference for the caller; NULL with *@err =
 * -ENOMEM (no memory even after reclaim) or -EINVAL (not a live slot).
 */
struct simmm_page *simmm__swap_in(simmm_sim *sim, simmm_entry_t swp, int *err)
{
	return simmm__swap_in_major(sim, swp, err, NULL);
}

/**
 * simmm__swap_dup() - swap_duplicate(): one more swap entry references the
 * slot (a pte installed by try_to_unmap(), a copy at fork). A stale entry
 * is reported as a WARN.
 */
void simmm__swap_dup(simmm_sim *sim, simmm_entry_t swp)
{
	struct simmm_swap_slot *s = slot_of(swap_of(sim), swp);

	if (!s || !s->used) {
		simmm__report(sim, SIMMM_REPORT_WARN, "swap_duplicate of unused entry 0x%llx",
			      (unsigned long long)swp);
		return;
	}
	s->count++;
}

/**
 * simmm__vm_swap_full() - vm_swap_full() (what mem_cgroup_swap_full() comes
 * to without a memory cgroup): more than half of the swap slots are in
 * use, counting those only the swap cache holds. The policies that keep a
 * clean folio in the swap cache give it up then, so that reclaim finds
 * free slots. No device (or one of no slots): false.
 */
bool simmm__vm_swap_full(simmm_sim *sim)
{
	struct simmm_swap *sw = swap_of(sim);

	return sw && (sw->nr_slots - sw->nr_used) * 2 < sw->nr_slots;
}

/* folio_free_swap() under a trylock (no scheduling point: upstream runs
 * these under no sleeping lock), for __try_to_reclaim_swap() and
 * free_swap_cache(). A folio someone else holds locked stays in the
 * cache, for its lock holder (or a later reclaim) to decide. The folio
 * may have nothing but the cache's reference to keep it (folio_free_swap()
 * may drop the last one) once unlocked: a reference of our own
 * (filemap_get_folio()'s, in __try_to_reclaim_swap()) spans the unlock. */
static void free_swap_trylocked(simmm_sim *sim, struct simmm_page *folio)
{
	if (!simmm__folio_trylock_atomic(sim, folio))
		return;
	simmm__folio_get(sim, folio);
	simmm__folio_free_swap(sim, folio);
	simmm__bit_unlock_nosched(sim, &folio->flags, PG_locked, folio->pfn);
	simmm__put_user_folio(sim, folio);
}

/* Drop one swap count of the slot of @swp. Return: the slot when this was
 * its last swap entry and the swap cache still holds it (the caller's
 * policy decides the folio's fate), else NULL (a slot no longer used by
 * anything is freed here). */
static struct simmm_swap_slot *swap_put(simmm_sim *sim, simmm_entry_t swp)
{
	struct simmm_swap *sw = swap_of(sim);
	struct simmm_swap_slot *s = slot_of(sw, swp);

	if (!s || !s->used || s->count == 0) {
		if (sw)
			simmm__report(sim, SIMMM_REPORT_WARN, "swap_free of unused entry 0x%llx",
				      (unsigned long long)swp);
		return NULL;
	}
	if (--s->count)
		return NULL;
	if (!s->cache_pfn) {
		slot_maybe_release(sim, sw, s);
		return NULL;
	}
	return s;
}

/**
 * simmm__swap_free() - swap_free(): a swap entry is gone because a fault
 * mapped its page (do_swap_page()). The count drops by one; at zero a slot
 * without a swap-cache folio is freed, and one with a folio stays held by
 * the swap cache alone (SWAP_HAS_CACHE): the caller holds that folio
 * locked and decides (should_try_to_free_swap(), then
 * simmm__folio_free_swap()). A stale entry is reported as a WARN.
 * Context: no scheduling point.
 */
void simmm__swap_free(simmm_sim *sim, simmm_entry_t swp)
{
	swap_put(sim, swp);
}

/**
 * simmm__free_swap_and_cache() - free_swap_and_cache(): a swap entry is
 * gone because a zap (munmap, MADV_DONTNEED, exit), MADV_FREE or
 * MADV_WILLNEED's hold on the slot dropped it. At count zero the
 * swap-cache folio, if there is one, leaves the cache when nothing maps it
 * or swap is full (__try_to_reclaim_swap(TTRS_UNMAPPED | TTRS_FULL)) and
 * its lock can be had (trylock; a locked folio stays for its lock holder,
 * or a later reclaim, to decide). A folio still mapped (the other side of
 * a fork faulted it in) stays in the cache, clean. A stale entry is
 * reported as a WARN.
 * Context: no scheduling point.
 */
void simmm__free_swap_and_cache(simmm_sim *sim, simmm_entry_t swp)
{
	struct simmm_swap_slot *s = swap_put(sim, swp);
	struct simmm_page *folio;

	if (!s)
		return;
	folio = simmm__pfn_to_page(sim, s->cache_pfn);
	if (simmm__folio_mapcount(sim, folio) && !simmm__vm_swap_full(sim))
		return;
	free_swap_trylocked(sim, folio);
}

/**
 * simmm__free_swap_cache() - free_swap_cache(): a caller about to drop its
 * reference on @folio after unmapping it (a zap's TLB batch,
 * free_pages_and_swap_cache(); wp_page_copy()'s old folio) takes it out of
 * the swap cache if it is in it, no longer mapped, no swap entry needs its
 * slot (folio_free_swap()) and its lock can be had (trylock). Without it
 * an unmapped clean folio would hold its slot and its memory until
 * reclaim.
 * Context: the caller holds a reference; no scheduling point.
 */
void simmm__free_swap_cache(simmm_sim *sim, struct simmm_page *folio)
{
	if ((folio->flags & PG_swapcache) && !simmm__folio_mapcount(sim, folio))
		free_swap_trylocked(sim, folio);
}

/**
 * simmm__folio_free_swap() - folio_free_swap(): @folio leaves the swap
 * cache when no swap entry refers to its slot any more. Its contents then
 * exist nowhere else, so it is dirty from now on, as upstream sets it: a
 * later reclaim writes it out again, and MADV_FREE does not take a page
 * swapped in and mapped clean for one it may discard. simmm writes swap
 * synchronously, so there is no writeback to wait for.
 * Context: the folio is locked (upstream's VM_BUG_ON_FOLIO(); here a WARN
 * report, and nothing done): a fault that swapped the folio in and waits
 * for its lock relies on that, finding the folio out of the swap cache
 * once it has the lock (do_swap_page()'s recheck). The caller holds a
 * reference unless the cache's is the last one (then the folio is freed).
 * Return: true when it left the swap cache; false when it was not in it, a
 * swap entry still refers to its slot, or it is not locked.
 */
bool simmm__folio_free_swap(simmm_sim *sim, struct simmm_page *folio)
{
	if (!(folio->flags & PG_swapcache) || simmm__swap_count(sim, folio->private) != 0)
		return false;
	if (!(folio->flags & PG_locked)) {
		simmm__report(sim, SIMMM_REPORT_WARN, "folio_free_swap of unlocked folio %#llx",
			      (unsigned long long)folio->pfn);
		return false;
	}
	folio->flags |= PG_dirty;
	simmm__swap_cache_del(sim, folio);
	return true;
}

int simmm__swap_count(simmm_sim *sim, simmm_entry_t swp)
{
	struct simmm_swap_slot *s = slot_of(swap_of(sim), swp);

	return s && s->used ? (int)s->count : -1;
}

void simmm__swap_usage(simmm_sim *sim, uint64_t *used, uint64_t *total)
{
	struct simmm_swap *sw = swap_of(sim);

	if (used)
		*used = sw ? sw->nr_used : 0;
	if (total)
		*total = sw ? sw->nr_slots : 0;
}

/* ---- checker ------------------------------------------------------------------------ */

static int check_slot(simmm_sim *sim, struct simmm_swap *sw, struct simmm_swap_slot *s)
{
	struct simmm_page *f;
	int bad = 0;

	if (!s->used) {
		if (s->count || s->cache_pfn || s->data || s->shadow)
			bad++;
		return bad;
	}
	if (!s->count && !s->cache_pfn)
		bad++;
	/* A slot holds a folio or a shadow entry, never both; a shadow is
	 * one workingset_eviction() made. */
	if (s->shadow && (s->cache_pfn || simmm__workingset_check_shadow(sim, s->shadow)))
		bad++;
	if (s->cache_pfn) {
		f = simmm__pfn_to_page(sim, s->cache_pfn);
		if (!f || f->refcount <= 0 || !(f->flags & PG_swapcache) ||
		    f->private != slot_entry(sw, s))
			bad++;
	}
	if (bad)
		simmm__report(sim, SIMMM_REPORT_INVARIANT,
			      "swap: slot %llu inconsistent (count %u cache 0x%llx shadow %#llx)",
			      (unsigned long long)(s - sw->slots) + 1, s->count,
			      (unsigned long long)s->cache_pfn, (unsigned long long)s->shadow);
	return bad;
}

int simmm__swap_check(simmm_sim *sim)
{
	struct simmm_swap *sw = swap_of(sim);
	uint64_t used = 0, cached = 0;
	int bad = 0;

	if (!sw)
		return 0;
	for (uint64_t i = 0; i < sw->hiwater; i++) {
		bad += check_slot(sim, sw, &sw->slots[i]);
		used += sw->slots[i].used;
		cached += sw->slots[i].cache_pfn != 0;
	}
	if (used != sw->nr_used || cached != sw->nr_cached || used > sw->nr_slots ||
	    sw->free_nr + used != sw->hiwater) {
		simmm__report(sim, SIMMM_REPORT_INVARIANT,
			      "swap: %llu slots used (counter %llu), %llu cached (counter %llu)",
			      (unsigned long long)used, (unsigned long long)sw->nr_used,
			      (unsigned long long)cached, (unsigned long long)sw->nr_cached);
		bad++;
	}
	return bad;
}
