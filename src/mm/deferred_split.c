// SPDX-License-Identifier: MIT
/*
 * The THP deferred split queue (mm/huge_memory.c: deferred_split_folio(),
 * deferred_split_scan(), folio_unqueue_deferred_split()), modelled on
 * Linux 6.12 to 6.18: the PG_partially_mapped flag, the scan that trylocks
 * and splits queued folios, failures left queued.
 *
 * Partially unmapping a large anonymous folio (munmap, MADV_DONTNEED or
 * mremap of part of a THP, a COW of one of its pages) frees nothing: the
 * folio stays whole as long as one page is mapped. rmap.c notices when
 * pages lose their last mapping while the folio stays mapped by ptes
 * (__folio_remove_rmap()'s "partially mapped", tested once per batch of
 * ptes as upstream's zap batches folio_remove_rmap_ptes(), so a full zap
 * of a PTE-mapped THP does not queue it) and queues the folio here.
 * Reclaim runs the scan (the deferred split shrinker, which shrink_slab()
 * runs) before it scans the LRU: each queued folio is trylocked and split
 * (split_folio()); the unmapped pages are freed at once and the mapped
 * ones become order-0 folios on the LRU, so the memory comes back without
 * writing to swap what is still in use. A folio that cannot be split (its
 * lock busy, references beyond its mappings such as a GUP pin) stays
 * queued for the next reclaim.
 *
 * The queue is a FIFO of head pfns with lazy deletion (pfnq.c), as the
 * LRU is: PG_partially_mapped marks a queued folio. A folio that leaves
 * the queue otherwise does not touch it: freed, its flags are wiped;
 * split by another path (reclaim's LRU scan, MADV_FREE, MADV_PAGEOUT,
 * migration), the split clears the flag (__folio_split() unqueues it).
 * Either way its entry goes stale and is dropped when met
 * (folio_unqueue_deferred_split()). Compaction, when the queue is bloated
 * past what the last one left, also drops duplicates (a pfn freed, reused
 * by a new THP and queued again).
 *
 * Left out:
 *  - the "underused THP" half (6.12: split_underused_thp, thp_underused()):
 *    upstream also queues every new PMD-sized anonymous THP (fault,
 *    khugepaged collapse, huge zero page write) without PG_partially_mapped
 *    and splits those whose pages are mostly zero-filled, remapping the
 *    zero pages to the shared zero page (THP_UNDERUSED_SPLIT_PAGE). simmm
 *    queues only partially mapped folios, so every queued folio is one;
 *  - per-memcg and per-node queues, and shrinker batching and priorities:
 *    one queue per machine, each scan visits it once;
 *  - mTHP per-order counters (simmm's anonymous large folios are THPs);
 *  - ZONE_DEVICE folios (device THPs, 6.19+) are never queued: they are
 *    not on the LRU and their driver owns their memory.
 *
 * Invariants (simmm__deferred_split_check(), part of the "mm-ext" checker):
 * a RAM folio with PG_partially_mapped is a live anonymous folio of order
 * >= 2, not ZONE_DEVICE, and is on the queue (or is the one the scan works
 * on); queue bounds hold.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mm/mm_ext.h"

static struct simmm_deferred_split *ds_of(simmm_sim *sim)
{
	struct simmm_mm_global *g = simmm__mm_global(sim);

	return g ? g->ds : NULL;
}

/* Created on first use; queueing cannot fail (list_add()), so neither can
 * this: bookkeeping bypasses the allocation-failure injector. */
static struct simmm_deferred_split *ds_get(simmm_sim *sim)
{
	struct simmm_mm_global *g = simmm__mm_global(sim);

	if (g && !g->ds)
		g->ds = simmm__zalloc_nofail(sim, SIMMM_ALLOC_META, sizeof(*g->ds));
	return g ? g->ds : NULL;
}

/* ---- the queue ------------------------------------------------------------------ */

/* A queue entry names a folio still queued: a live head of order >= 2
 * that has the flag (a freed folio lost its flags, a split one its order
 * and the flag). */
static struct simmm_page *entry_live(simmm_sim *sim, simmm_pfn_t pfn)
{
	struct simmm_page *p = simmm__pfn_to_page(sim, pfn);

	if (!p || p->refcount <= 0 || p->head_delta || p->order < 2 ||
	    !(p->flags & PG_partially_mapped))
		return NULL;
	return p;
}

static void ds_push(simmm_sim *sim, struct simmm_deferred_split *ds, simmm_pfn_t pfn)
{
	if (simmm__pfnq_bloated(&ds->q, ds->compacted))
		ds->compacted = simmm__pfnq_compact(sim, &ds->q, entry_live);
	simmm__pfnq_push(sim, &ds->q, pfn);
}

/**
 * simmm__deferred_split_folio() - deferred_split_folio(@folio, true): put a
 * partially mapped folio on the deferred split queue, once.
 * @sim: the machine.
 * @folio: the head of an anonymous large folio some pages of which just
 *   lost their last mapping while others stay mapped (rmap.c decides).
 *
 * Order-1 folios are never queued (upstream: no room for the list in
 * them; simmm: no room for the mapped-page count they would need), nor
 * swap-cache folios (reclaim is handling them already), nor ZONE_DEVICE
 * ones (see the top of this file). THP_DEFERRED_SPLIT_PAGE counts the
 * folio when it gets the flag.
 * Context: no scheduling point (the kernel holds split_queue_lock).
 */
void simmm__deferred_split_folio(simmm_sim *sim, struct simmm_page *folio)
{
	struct simmm_deferred_split *ds;

	if (folio->order < 2 || !(folio->flags & PG_anon) ||
	    (folio->flags & (PG_partially_mapped | PG_swapcache)) ||
	    simmm__is_zone_device_page(folio))
		return;
	ds = ds_get(sim);
	if (!ds)
		return;
	folio->flags |= PG_partially_mapped;
	ds->queued++;
	ds_push(sim, ds, folio->pfn);
}

/* ---- the scan (the deferred split shrinker) ---------------------------------------- */

/* Pages of the folio at @pfn (of @nr) the split just freed: those back in
 * the buddy allocator. Called with no scheduling point since the split. */
static uint64_t freed_by_split(simmm_sim *sim, simmm_pfn_t pfn, uint64_t nr)
{
	uint64_t freed = 0;

	for (uint64_t i = 1; i < nr; i++)
		freed += simmm__pfn_to_page(sim, pfn + i)->refcount == 0;
	return freed;
}

/*
 * One queued folio, referenced by the scan (folio_try_get()). trylock and
 * split_folio(), as deferred_split_scan() does; the split unqueues it (it
 * clears the flag) and frees the unmapped pages. Then the scan's reference
 * goes, with the head if it was unmapped too. Return: pages freed, or -1
 * when the folio stays queued.
 */
static int64_t split_queued(simmm_sim *sim, struct simmm_deferred_split *ds,
			    struct simmm_page *folio)
{
	uint64_t nr = 1ULL << folio->order, freed;

	bool locked = simmm__folio_trylock(sim, folio);

	if (!locked || simmm__split_folio(sim, folio)) {
		/* Still partially mapped: back at the tail (the kernel
		 * splices its scan list back onto the queue). */
		if (entry_live(sim, folio->pfn))
			ds_push(sim, ds, folio->pfn);
		if (locked)
			simmm__folio_unlock_put(sim, folio);
		else
			simmm__put_user_folio(sim, folio);
		return -1;
	}
	freed = freed_by_split(sim, folio->pfn, nr);
	freed += folio->refcount == 1; /* our reference is the head's last */
	simmm__folio_unlock_put(sim, folio);
	return (int64_t)freed;
}

/**
 * simmm__deferred_split_scan() - deferred_split_scan(): try to split every
 * folio on the deferred split queue once, oldest first.
 * @sim: the machine.
 *
 * Each folio the queue still holds is referenced and trylocked; a split
 * frees its unmapped pages and leaves its mapped ones as order-0 folios
 * (on the LRU if it was); a folio whose lock is busy or whose split is
 * refused (pins, references beyond the mappings) goes back to the tail.
 * Context: reclaim (simmm_reclaim(), direct reclaim in
 * simmm__alloc_user_folio()); takes folio locks (trylock) and the rmap
 * locks of the split, may sleep. One scan at a time: a scan that finds
 * another running does nothing (it does not recurse either).
 * Return: the pages freed.
 */
uint64_t simmm__deferred_split_scan(simmm_sim *sim)
{
	struct simmm_deferred_split *ds = ds_of(sim);
	struct simmm_page *folio;
	uint64_t budget, freed = 0;

	if (!ds || ds->in_scan || !simmm__pfnq_len(&ds->q))
		return 0;
	ds->in_scan = true;
	ds->compacted = simmm__pfnq_compact(sim, &ds->q, entry_live);
	budget = simmm__pfnq_len(&ds->q);
	while (budget-- && (folio = simmm__pfnq_pop(sim, &ds->q, entry_live))) {
		int64_t r;

		simmm__folio_get(sim, folio); /* pairs with split_queued()'s put */
		ds->scanning = folio->pfn;
		r = split_queued(sim, ds, folio);
		ds->scanning = 0;
		if (r < 0) {
			ds->failed++;
			continue;
		}
		ds->split++;
		freed += (uint64_t)r;
	}
	ds->freed += freed;
	ds->in_scan = false;
	return freed;
}

/* ---- counters, teardown, checks -------------------------------------------------------- */

static int pfn_cmp(const void *a, const void *b)
{
	simmm_pfn_t x = *(const simmm_pfn_t *)a, y = *(const simmm_pfn_t *)b;

	return (x > y) - (x < y);
}

/* The folios still queued, sorted, without duplicates: the live entries
 * and the scan's folio; @n of them. The caller frees the array, of *@len
 * entries. */
static simmm_pfn_t *queued_set(simmm_sim *sim, struct simmm_deferred_split *ds, size_t *n,
			       size_t *len)
{
	size_t k = 0;
	simmm_pfn_t *v;

	*len = simmm__pfnq_len(&ds->q) + 1;
	v = simmm__zalloc_nofail(sim, SIMMM_ALLOC_META, *len * sizeof(*v));

	simmm_pfnq_for_each(&ds->q, i)
		if (entry_live(sim, ds->q.pfn[i]))
			v[k++] = ds->q.pfn[i];
	if (ds->scanning && entry_live(sim, ds->scanning))
		v[k++] = ds->scanning;
	qsort(v, k, sizeof(*v), pfn_cmp);
	*n = 0;
	for (size_t i = 0; i < k; i++)
		if (!*n || v[*n - 1] != v[i])
			v[(*n)++] = v[i];
	return v;
}

/**
 * simmm_thp_stats() - the machine's THP counters (see <simmm/mm.h>).
 * Return: 0; -EINVAL for NULL arguments or a bad @sim; -ENOMEM when the
 * mm state cannot be created.
 */
int simmm_thp_stats(simmm_sim *sim, struct simmm_thp_stats *out)
{
	struct simmm_deferred_split *ds;
	simmm_pfn_t *set;
	size_t n = 0, len;

	if (!simmm__sim_ok(sim) || !out)
		return -EINVAL;
	if (!simmm__mm_global(sim))
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	ds = ds_of(sim);
	if (!ds)
		return 0;
	set = queued_set(sim, ds, &n, &len);
	simmm__free(sim, SIMMM_ALLOC_META, set, len * sizeof(*set));
	*out = (struct simmm_thp_stats){
		.deferred_split_queued = ds->queued,
		.deferred_split_split = ds->split,
		.deferred_split_failed = ds->failed,
		.deferred_split_freed = ds->freed,
		.nr_partially_mapped = n,
	};
	return 0;
}

void simmm__deferred_split_fini(simmm_sim *sim)
{
	struct simmm_mm_global *g = simmm__mm_global(sim);
	struct simmm_deferred_split *ds = g ? g->ds : NULL;

	if (!ds)
		return;
	simmm__pfnq_fini(sim, &ds->q);
	simmm__free(sim, SIMMM_ALLOC_META, ds, sizeof(*ds));
	g->ds = NULL;
}

#define BAD(...)                                                             \
	do {                                                                 \
		if (++bad <= 16)                                             \
			simmm__report(sim, SIMMM_REPORT_INVARIANT, __VA_ARGS__); \
	} while (0)

/* A flagged RAM folio @p: what the queue may hold, and held by it. */
static int check_flagged(simmm_sim *sim, const struct simmm_page *p, const simmm_pfn_t *set,
			 size_t n)
{
	int bad = 0;

	if (p->order < 2 || !(p->flags & PG_anon) || simmm__is_zone_device_page(p))
		BAD("deferred split: folio %#llx (order %u, flags %#x) is flagged partially mapped",
		    (unsigned long long)p->pfn, p->order, p->flags);
	else if (!bsearch(&p->pfn, set, n, sizeof(*set), pfn_cmp))
		BAD("deferred split: partially mapped folio %#llx is not on the queue",
		    (unsigned long long)p->pfn);
	return bad;
}

/**
 * simmm__deferred_split_check() - the deferred split queue's invariants
 * (see the top of this file). Walks RAM folio by folio (free and tail
 * frames one by one). Return: violations found.
 */
int simmm__deferred_split_check(simmm_sim *sim)
{
	struct simmm_mm_global *g = simmm__mm_global(sim);
	struct simmm_deferred_split *ds = g ? g->ds : NULL;
	simmm_pfn_t *set = NULL;
	size_t n = 0, len = 0;
	int bad = 0;

	if (ds && simmm__pfnq_check(sim, &ds->q, "deferred split"))
		return 1;
	if (ds)
		set = queued_set(sim, ds, &n, &len);
	for (simmm_pfn_t pfn = 0; pfn < sim->ram_pages;) {
		const struct simmm_page *p = simmm__pfn_to_page(sim, pfn);

		if (!p) { /* a memmap section never needed: all free */
			pfn = (pfn | (SIMMM_SECTION_PAGES - 1)) + 1;
			continue;
		}
		if (p->head_delta || p->refcount <= 0 || (p->flags & PG_table)) {
			pfn++;
			continue;
		}
		if (p->flags & PG_partially_mapped)
			bad += check_flagged(sim, p, set, n);
		pfn += 1ULL << p->order;
	}
	if (set)
		simmm__free(sim, SIMMM_ALLOC_META, set, len * sizeof(*set));
	return bad;
}
