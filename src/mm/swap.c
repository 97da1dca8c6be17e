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
 *   __remove_mapping()   folio leaves the swap cache (cache ref dropped);
 *   do_swap_page()       swap cache hit or a read into a new swap-cache
 *                        folio, locked (fault.c rechecks it is still the
 *                        swap cache's and the pte unchanged); the pte's
 *                        swap_free (-1), folio_free_swap() under the lock;
 *   count 0, no cache    the slot is free again.
 * Unlike the kernel, a swap-cache folio leaves the cache as soon as the
 * last swap entry for it is gone (free_swap_and_cache() / folio_free_swap()
 * behaviour, applied on read faults too): simmm keeps a clean swap-cache
 * folio only while something else keeps it in the cache (a reference
 * that outlived reclaim, a swap entry still shared, a lock holder), so a
 * page swapped in by a read is written again by the next reclaim where
 * the kernel would drop it clean. Leaving the cache dirties the folio
 * (folio_free_swap()): nothing else holds its contents any more.
 * As in the kernel, removal needs the folio lock (folio_free_swap() checks
 * it; __try_to_reclaim_swap() only trylocks): a folio locked by someone
 * else (reclaim between add_to_swap() and pageout, a migration, a swap-in)
 * stays in the cache with no swap entry left, and its owner decides (found
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

/* add_to_swap_cache(): the cache takes a folio reference. */
static void cache_add(simmm_sim *sim, struct simmm_swap *sw, struct simmm_swap_slot *s,
		      struct simmm_page *folio)
{
	s->cache_pfn = folio->pfn;
	folio->flags |= PG_swapcache | PG_swapbacked;
	folio->private = slot_entry(sw, s);
	simmm__folio_get(sim, folio);
	sw->nr_cached++;
}

void simmm__swap_cache_del(simmm_sim *sim, struct simmm_page *folio)
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
	sw->nr_cached--;
	slot_maybe_release(sim, sw, s);
	/* pairs with folio_get in cache_add(). It may be the last reference:
	 * a folio that reclaim unmapped but could not free (an extra
	 * reference, since dropped) leaves the swap cache when a zap frees
	 * its last swap entry. */
	simmm__put_user_folio(sim, folio);
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

/* __try_to_reclaim_swap(): the swap-cache folio of a slot no swap entry
 * references any more leaves the cache, if its lock can be had; a folio
 * someone else holds locked stays, for its lock holder (or a later
 * reclaim) to decide. The trylock and the unlock are modelled without a
 * scheduling point: upstream calls this under no sleeping lock, and the
 * folio has nothing but the cache's reference to keep it (folio_free_swap()
 * may drop the last one) once it is unlocked. */
static void try_to_reclaim_swap(simmm_sim *sim, struct simmm_page *folio)
{
	if (!simmm__folio_trylock_atomic(sim, folio))
		return;
	simmm__folio_get(sim, folio); /* filemap_get_folio()'s, across the unlock */
	simmm__folio_free_swap(sim, folio);
	simmm__bit_unlock_nosched(sim, &folio->flags, PG_locked, folio->pfn);
	simmm__put_user_folio(sim, folio);
}

/**
 * simmm__swap_free() - swap_free()/free_swap_and_cache(): a swap entry is
 * gone (zap, or a fault mapped the page). At count zero the swap-cache
 * folio leaves the cache and the slot is freed, unless the folio is
 * locked (__try_to_reclaim_swap() only trylocks): then its lock holder,
 * or a later reclaim, frees the slot. A caller that holds the folio lock
 * itself (do_swap_page()) calls simmm__folio_free_swap() next.
 * Context: no scheduling point.
 */
void simmm__swap_free(simmm_sim *sim, simmm_entry_t swp)
{
	struct simmm_swap *sw = swap_of(sim);
	struct simmm_swap_slot *s = slot_of(sw, swp);

	if (!s || !s->used || s->count == 0) {
		if (sw)
			simmm__report(sim, SIMMM_REPORT_WARN, "swap_free of unused entry 0x%llx",
				      (unsigned long long)swp);
		return;
	}
	if (--s->count)
		return;
	if (!s->cache_pfn) {
		slot_maybe_release(sim, sw, s);
		return;
	}
	try_to_reclaim_swap(sim, simmm__pfn_to_page(sim, s->cache_pfn));
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
		if (s->count || s->cache_pfn || s->data)
			bad++;
		return bad;
	}
	if (!s->count && !s->cache_pfn)
		bad++;
	if (s->cache_pfn) {
		f = simmm__pfn_to_page(sim, s->cache_pfn);
		if (!f || f->refcount <= 0 || !(f->flags & PG_swapcache) ||
		    f->private != slot_entry(sw, s))
			bad++;
	}
	if (bad)
		simmm__report(sim, SIMMM_REPORT_INVARIANT,
			      "swap: slot %llu inconsistent (count %u cache 0x%llx)",
			      (unsigned long long)(s - sw->slots) + 1, s->count,
			      (unsigned long long)s->cache_pfn);
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
