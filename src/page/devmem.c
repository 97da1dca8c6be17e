// SPDX-License-Identifier: MIT
/*
 * ZONE_DEVICE frames: device pfn ranges above RAM with their own struct
 * pages (the memmap memremap_pages() creates), the registry that maps a
 * page's pgmap_id back to its pagemap, and the device side of folio_put()
 * (free_zone_device_folio()). See devmem.h for the invariants.
 *
 * Ranges are placed one after the other above RAM, each aligned to a
 * memmap section so that device THPs can be PMD aligned, and are never
 * moved: a pfn is looked up by binary search over the live ranges, with
 * the last range hit cached (migration walks one range at a time).
 */
#include <string.h>

#include "page/devmem.h"
#include "page/phys.h"
#include <simmm/pgtable.h>

static size_t pages_bytes(uint64_t nr)
{
	return (size_t)nr * sizeof(struct simmm_page);
}

static struct simmm_devmem *devmem_of(const simmm_sim *sim)
{
	return phys_of(sim)->devmem;
}

/* ---- lookup ------------------------------------------------------------------ */

static bool in_range(const struct simmm_devrange *r, simmm_pfn_t pfn)
{
	return pfn >= r->start && pfn - r->start < r->nr;
}

static struct simmm_devrange *find_range(struct simmm_devmem *dm, simmm_pfn_t pfn)
{
	size_t lo = 0, hi = dm->nr;

	if (dm->last && in_range(dm->last, pfn))
		return dm->last;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct simmm_devrange *r = dm->sorted[mid];

		if (pfn < r->start)
			hi = mid;
		else if (pfn - r->start >= r->nr)
			lo = mid + 1;
		else
			return dm->last = r;
	}
	return NULL;
}

struct simmm_page *simmm__devmem_page(struct simmm_phys *ph, simmm_pfn_t pfn)
{
	struct simmm_devrange *r;

	if (!ph->devmem)
		return NULL;
	r = find_range(ph->devmem, pfn);
	return r ? &r->pages[pfn - r->start] : NULL;
}

struct simmm_devmem *simmm__devmem_state(simmm_sim *sim)
{
	return devmem_of(sim);
}

struct simmm_devrange *simmm__devmem_range(simmm_sim *sim, simmm_pfn_t pfn)
{
	struct simmm_devmem *dm = devmem_of(sim);

	return dm ? find_range(dm, pfn) : NULL;
}

struct simmm_dev_pagemap *simmm__devmem_pgmap(const simmm_sim *sim, uint16_t id)
{
	struct simmm_devmem *dm = devmem_of(sim);

	if (!dm || id >= SIMMM_DEVMEM_MAX_PGMAPS || !dm->by_id[id])
		return NULL;
	return dm->by_id[id]->pgmap;
}

/* ---- ranges -------------------------------------------------------------------- */

static struct simmm_devmem *devmem_get(simmm_sim *sim)
{
	struct simmm_phys *ph = phys_of(sim);
	struct simmm_devmem *dm = ph->devmem;

	if (dm)
		return dm;
	dm = simmm__zalloc(sim, SIMMM_ALLOC_META, sizeof(*dm));
	if (!dm)
		return NULL;
	dm->by_id = simmm__zalloc(sim, SIMMM_ALLOC_META,
				  SIMMM_DEVMEM_MAX_PGMAPS * sizeof(*dm->by_id));
	dm->sorted = simmm__zalloc(sim, SIMMM_ALLOC_META,
				   SIMMM_DEVMEM_MAX_PGMAPS * sizeof(*dm->sorted));
	if (!dm->by_id || !dm->sorted) {
		simmm__free(sim, SIMMM_ALLOC_META, dm->by_id,
			    SIMMM_DEVMEM_MAX_PGMAPS * sizeof(*dm->by_id));
		simmm__free(sim, SIMMM_ALLOC_META, dm->sorted,
			    SIMMM_DEVMEM_MAX_PGMAPS * sizeof(*dm->sorted));
		simmm__free(sim, SIMMM_ALLOC_META, dm, sizeof(*dm));
		return NULL;
	}
	/* Device frames start above RAM, on a section boundary. */
	dm->next_pfn = (ph->nr_pages + SIMMM_SECTION_PAGES - 1) & ~(SIMMM_SECTION_PAGES - 1);
	simmm_waitqueue_init(&dm->wq, "devmem_free");
	ph->devmem = dm;
	return dm;
}

static int free_id(const struct simmm_devmem *dm)
{
	for (int id = 0; id < SIMMM_DEVMEM_MAX_PGMAPS; id++)
		if (!dm->by_id[id])
			return id;
	return -ENOSPC;
}

int simmm__devmem_add(simmm_sim *sim, struct simmm_dev_pagemap *pgmap, uint64_t nr_pages)
{
	struct simmm_devmem *dm = devmem_get(sim);
	struct simmm_devrange *r;
	simmm_pfn_t start;
	int id;

	if (!dm)
		return -ENOMEM;
	id = free_id(dm);
	if (id < 0)
		return id;
	start = dm->next_pfn;
	/* Every pfn must fit the pfn field of swap-format entries. */
	if (start + nr_pages - 1 > SIMMM_SWP_PFN_MASK)
		return -ENOSPC;
	r = simmm__zalloc(sim, SIMMM_ALLOC_META, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->pages = simmm__zalloc(sim, SIMMM_ALLOC_MEMMAP, pages_bytes(nr_pages));
	if (!r->pages) {
		simmm__free(sim, SIMMM_ALLOC_META, r, sizeof(*r));
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < nr_pages; i++) {
		r->pages[i].pfn = start + i;
		r->pages[i].memtype = (uint8_t)pgmap->type;
		r->pages[i].pgmap_id = (uint16_t)id;
	}
	r->start = start;
	r->nr = nr_pages;
	r->pgmap = pgmap;
	dm->by_id[id] = r;
	dm->sorted[dm->nr++] = r; /* starts only grow: stays sorted */
	dm->next_pfn = (start + nr_pages + SIMMM_SECTION_PAGES - 1) & ~(SIMMM_SECTION_PAGES - 1);
	pgmap->start_pfn = start;
	pgmap->nr_pages = nr_pages;
	pgmap->id = (uint16_t)id;
	return 0;
}

static void range_free(simmm_sim *sim, struct simmm_devrange *r)
{
	for (uint64_t i = 0; i < r->nr; i++)
		simmm__page_zero(sim, &r->pages[i]);
	simmm__free(sim, SIMMM_ALLOC_MEMMAP, r->pages, pages_bytes(r->nr));
	simmm__free(sim, SIMMM_ALLOC_META, r, sizeof(*r));
}

void simmm__devmem_remove(simmm_sim *sim, struct simmm_devrange *r)
{
	struct simmm_devmem *dm = devmem_of(sim);
	size_t i;

	for (i = 0; i < dm->nr && dm->sorted[i] != r; i++)
		;
	if (NEVER(i == dm->nr))
		return;
	memmove(&dm->sorted[i], &dm->sorted[i + 1], (dm->nr - i - 1) * sizeof(*dm->sorted));
	dm->nr--;
	dm->by_id[r->pages[0].pgmap_id] = NULL;
	if (dm->last == r)
		dm->last = NULL;
	range_free(sim, r);
}

void simmm__devmem_fini(simmm_sim *sim)
{
	struct simmm_devmem *dm = devmem_of(sim);

	if (!dm)
		return;
	while (dm->nr) {
		struct simmm_devrange *r = dm->sorted[dm->nr - 1];

		/* The pagemap struct is the caller's and may be gone: only
		 * our own state is looked at (devm_memremap_pages()-like). */
		if (r->nr_used)
			simmm__report(sim, SIMMM_REPORT_LEAK,
				      "device pfns [%#llx, %#llx): %llu frames still in use at destroy",
				      (unsigned long long)r->start,
				      (unsigned long long)(r->start + r->nr),
				      (unsigned long long)r->nr_used);
		dm->nr--;
		range_free(sim, r);
	}
	simmm__free(sim, SIMMM_ALLOC_META, dm->by_id, SIMMM_DEVMEM_MAX_PGMAPS * sizeof(*dm->by_id));
	simmm__free(sim, SIMMM_ALLOC_META, dm->sorted,
		    SIMMM_DEVMEM_MAX_PGMAPS * sizeof(*dm->sorted));
	simmm__free(sim, SIMMM_ALLOC_META, dm, sizeof(*dm));
	phys_of(sim)->devmem = NULL;
}

/* ---- handing out and freeing ------------------------------------------------------ */

int simmm__devmem_folio_init(simmm_sim *sim, simmm_pfn_t pfn, unsigned order)
{
	struct simmm_devrange *r = simmm__devmem_range(sim, pfn);
	uint64_t nr = 1ULL << order;
	struct simmm_page *head;

	if (!r || (pfn & (nr - 1)) || pfn - r->start + nr > r->nr || r->pgmap->dying)
		return -EINVAL;
	head = &r->pages[pfn - r->start];
	for (uint64_t i = 0; i < nr; i++)
		if (head[i].refcount || head[i].head_delta || head[i].flags)
			return -EBUSY;
	/* zone_device_folio_init(): refcount 1; prep_compound_page() for
	 * order > 0 (the entire mapcount lives in the first tail). */
	head->refcount = 1;
	head->order = (uint8_t)order;
	if (order) {
		head->flags |= PG_head;
		for (uint64_t i = 1; i < nr; i++)
			head[i].head_delta = (uint32_t)i;
	}
	r->nr_used += nr;
	return 0;
}

/* A freed frame goes back to its pristine free state; zone_device_data
 * (page->private) stays: drivers keep free lists in it. */
static void frame_reset(simmm_sim *sim, struct simmm_page *p)
{
	if (p->mapcount)
		simmm__report(sim, SIMMM_REPORT_MISUSE, "device pfn %#llx freed with mapcount %d",
			      (unsigned long long)p->pfn, p->mapcount);
	if (p->flags & PG_locked)
		simmm__report(sim, SIMMM_REPORT_MISUSE, "device pfn %#llx freed while locked",
			      (unsigned long long)p->pfn);
	simmm__page_zero(sim, p);
	p->flags = 0;
	p->refcount = 0;
	p->mapcount = 0;
	p->head_delta = 0;
	p->order = 0;
	p->u.pincount = 0;
	p->mapping = NULL;
	p->index = 0;
}

void simmm__devmem_free(simmm_sim *sim, struct simmm_page *head)
{
	struct simmm_devrange *r = simmm__devmem_range(sim, head->pfn);
	struct simmm_devmem *dm = devmem_of(sim);
	unsigned order = head->order;
	uint64_t nr = 1ULL << order;
	struct simmm_dev_pagemap *pgmap;

	if (NEVER(!r))
		return;
	pgmap = r->pgmap;
	for (uint64_t i = 0; i < nr; i++)
		frame_reset(sim, &head[i]);
	/* free_zone_device_folio(): private, coherent and p2pdma memory goes
	 * back to the driver; DAX and generic pages are simply idle again. */
	if ((pgmap->type == SIMMM_MEM_DEVICE_PRIVATE || pgmap->type == SIMMM_MEM_DEVICE_COHERENT ||
	     pgmap->type == SIMMM_MEM_PCI_P2PDMA) &&
	    pgmap->ops && pgmap->ops->folio_free)
		pgmap->ops->folio_free(pgmap, head->pfn, order, (void *)(uintptr_t)head->private);
	/*
	 * Only then the pgmap reference the pages held (upstream drops it
	 * after ->folio_free() too): the last one completes a pending
	 * memunmap_pages(), which frees @r as soon as it runs. The driver's
	 * callback may sleep (dmirror takes its lock): counted down before it,
	 * a RELEASE waiting on the range woke there and freed @r under us
	 * (fuzz_races, dmirror-release-vs-exit-devmem-free). Nothing below
	 * the count may touch @r but the test.
	 */
	r->nr_used -= nr;
	if (!r->nr_used && dm->waiters)
		simmm_wake_up_all(sim, &dm->wq);
}

/* ---- checker ------------------------------------------------------------------------ */

#define VIOL(...)                                                            \
	do {                                                                 \
		if (++bad <= 32)                                             \
			simmm__report(sim, SIMMM_REPORT_INVARIANT, __VA_ARGS__); \
	} while (0)

static int check_folio(simmm_sim *sim, struct simmm_devrange *r, struct simmm_page *h,
		       uint64_t *used)
{
	uint64_t nr = 1ULL << h->order;
	long maps = 0, mapped = 0;
	int bad = 0;

	if (h->pfn - r->start + nr > r->nr) {
		VIOL("device folio %#llx of order %u beyond its range", (unsigned long long)h->pfn,
		     h->order);
		return bad;
	}
	for (uint64_t i = 0; i < nr; i++) {
		if (i && h[i].head_delta != i)
			VIOL("device folio %#llx: tail +%llu has head_delta %u",
			     (unsigned long long)h->pfn, (unsigned long long)i, h[i].head_delta);
		maps += h[i].mapcount;
		mapped += h[i].mapcount > 0;
	}
	if (h->order)
		maps += h[1].u.pincount;
	bad += simmm__check_nr_pages_mapped(sim, h, mapped);
	if (h->refcount < maps + (h->order ? h->u.pincount : 0))
		VIOL("device folio %#llx: refcount %d below mappings %ld",
		     (unsigned long long)h->pfn, h->refcount, maps);
	*used += nr;
	return bad;
}

static int check_range(simmm_sim *sim, struct simmm_devrange *r, uint16_t id,
		       uint64_t *contents)
{
	uint64_t used = 0;
	int bad = 0;

	for (uint64_t i = 0; i < r->nr; i++) {
		struct simmm_page *p = &r->pages[i];

		if (p->pfn != r->start + i || p->pgmap_id != id || p->memtype != r->pgmap->type)
			VIOL("device pfn %#llx: memmap says pfn %#llx pgmap %u type %u",
			     (unsigned long long)(r->start + i), (unsigned long long)p->pfn,
			     p->pgmap_id, p->memtype);
		if (p->data)
			(*contents)++;
		if (p->head_delta)
			continue;
		if (p->refcount > 0) {
			bad += check_folio(sim, r, p, &used); /* tails: skipped above */
		} else if (p->refcount || p->mapcount || p->flags || p->data || p->order) {
			VIOL("free device pfn %#llx in use (ref %d map %d flags %#x)",
			     (unsigned long long)p->pfn, p->refcount, p->mapcount, p->flags);
		}
	}
	if (used != r->nr_used)
		VIOL("device pfns [%#llx, +%llu): %llu frames in use, counter says %llu",
		     (unsigned long long)r->start, (unsigned long long)r->nr,
		     (unsigned long long)used, (unsigned long long)r->nr_used);
	return bad;
}

int simmm__devmem_check(simmm_sim *sim, uint64_t *contents, uint64_t *memmap)
{
	struct simmm_devmem *dm = devmem_of(sim);
	simmm_pfn_t prev_end = phys_of(sim)->nr_pages;
	int bad = 0;

	if (!dm)
		return 0;
	for (size_t i = 0; i < dm->nr; i++) {
		struct simmm_devrange *r = dm->sorted[i];
		uint16_t id = r->pages[0].pgmap_id;

		if (r->start < prev_end || dm->by_id[id] != r)
			VIOL("device range %#llx overlaps or is not registered",
			     (unsigned long long)r->start);
		prev_end = r->start + r->nr;
		*memmap += pages_bytes(r->nr);
		bad += check_range(sim, r, id, contents);
	}
	return bad;
}
