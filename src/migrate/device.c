// SPDX-License-Identifier: MIT
/*
 * Migration without a VMA: evicting device memory (migrate_device_range()
 * and migrate_device_pfns(), e.g. when a driver unloads), and
 * migrate_device_coherent_folio(), which long-term GUP uses to move a
 * device-coherent page to system memory before pinning it.
 */
#include "migrate/migrate.h"

/* migrate_device_pfn_lock(): reference and lock a device folio in use. */
static uint64_t pfn_lock(simmm_sim *sim, simmm_pfn_t pfn)
{
	struct simmm_page *page = simmm__pfn_to_page(sim, pfn);
	uint64_t mpfn;

	/* folio_get_nontail_page(): free pages and tails are skipped. */
	if (!page || page->head_delta || page->refcount <= 0)
		return 0;
	/* Other CPUs run between two pages of the scan, not between the
	 * reference and the trylock: upstream takes both without sleeping,
	 * so a reference without the lock is only ever held for an instant.
	 * With a scheduling point between them the scan could sit preempted
	 * on that reference while a CPU fault on the folio failed its
	 * refcount check (the split of a pte-mapped device THP, the unmap)
	 * and refaulted again and again with nothing to wait for (found by
	 * fuzz_races: -EDEADLK from simmm_mm_access()). */
	simmm_sched_point(sim, "migrate_device_pfn_lock");
	if (page->head_delta || page->refcount <= 0)
		return 0;
	simmm__folio_get(sim, page);
	if (!simmm__folio_trylock_atomic(sim, page)) {
		simmm__folio_put(sim, page);
		return 0;
	}
	/* folio_get_anon_vma() pins only a mapped folio's anon_vma: a device
	 * page whose process exited keeps a stale mapping (found by
	 * fuzz_races as a use-after-free of the freed anon_vma). */
	if (simmm__folio_mapcount(sim, page))
		simmm__mig_anon_vma_get(page);
	mpfn = simmm_migrate_pfn(pfn) | SIMMM_MIGRATE_PFN_MIGRATE;
	if (page->order)
		mpfn |= SIMMM_MIGRATE_PFN_COMPOUND;
	return mpfn;
}

static bool is_device_pfn(simmm_sim *sim, simmm_pfn_t pfn)
{
	return pfn >= sim->ram_pages && simmm__devmem_range(sim, pfn) != NULL;
}

int simmm_migrate_device_range(simmm_sim *sim, uint64_t *src, simmm_pfn_t start_pfn,
			       uint64_t npages)
{
	struct simmm_devrange *r;

	if (!simmm__sim_ok(sim) || !src)
		return -EINVAL;
	if (!npages)
		return 0;
	r = is_device_pfn(sim, start_pfn) ? simmm__devmem_range(sim, start_pfn) : NULL;
	if (!r || npages > r->nr - (start_pfn - r->start))
		return -EINVAL;
	for (uint64_t i = 0; i < npages; i++)
		src[i] = pfn_lock(sim, start_pfn + i);
	simmm__migrate_device_unmap(sim, src, npages, NULL);
	return 0;
}

int simmm_migrate_device_pfns(simmm_sim *sim, uint64_t *src, uint64_t npages)
{
	if (!simmm__sim_ok(sim) || (!src && npages))
		return -EINVAL;
	for (uint64_t i = 0; i < npages; i++)
		if (!is_device_pfn(sim, src[i]))
			return -EINVAL;
	for (uint64_t i = 0; i < npages; i++)
		src[i] = pfn_lock(sim, src[i]);
	simmm__migrate_device_unmap(sim, src, npages, NULL);
	return 0;
}

int simmm_migrate_device_pages(simmm_sim *sim, uint64_t *src, uint64_t *dst, uint64_t npages)
{
	if (!simmm__sim_ok(sim) || ((!src || !dst) && npages))
		return -EINVAL;
	return simmm__migrate_pages(sim, src, dst, npages, NULL);
}

int simmm_migrate_device_finalize(simmm_sim *sim, uint64_t *src, uint64_t *dst, uint64_t npages)
{
	if (!simmm__sim_ok(sim) || ((!src || !dst) && npages))
		return -EINVAL;
	simmm__migrate_finalize(sim, src, dst, npages, 0);
	return 0;
}

/* The caller's reference on @folio is the migration reference: moved to
 * the new folio's mappings on success, dropped on failure. With @poison,
 * a migrated source page is marked hwpoisoned before its last reference
 * goes, so that the allocator keeps the frame out of use (soft offline's
 * MR_MEMORY_FAILURE + page_handle_poison()). */
int simmm__migrate_folio_away(simmm_sim *sim, struct simmm_page *folio, bool poison)
{
	struct simmm_page *dfolio;
	uint64_t src, dst = 0;

	if (folio->order || simmm__folio_lock(sim, folio)) {
		simmm__put_user_folio(sim, folio);
		return -EBUSY;
	}
	if (simmm__folio_mapcount(sim, folio))
		simmm__mig_anon_vma_get(folio);
	src = simmm_migrate_pfn(folio->pfn) | SIMMM_MIGRATE_PFN_MIGRATE;
	/* No VMA and no walk: unmap through the reverse map directly. */
	simmm__migrate_device_unmap(sim, &src, 1, NULL);
	if (!(src & SIMMM_MIGRATE_PFN_MIGRATE))
		return -EBUSY;
	dfolio = simmm__alloc_user_folio(sim, 0);
	/* The copy first, as a driver copies before migrate_vma_pages() and
	 * migrate_folio() before it moves the cache slot: a copy that fails
	 * (no memory for the contents) leaves no destination, so nothing of
	 * the source's state moves. */
	if (dfolio && (simmm__page_copy(sim, dfolio, folio) || !simmm__folio_trylock(sim, dfolio))) {
		simmm__folio_put(sim, dfolio);
		dfolio = NULL;
	}
	if (dfolio)
		dst = simmm_migrate_pfn(dfolio->pfn);
	simmm__migrate_pages(sim, &src, &dst, 1, NULL);
	if (poison && (src & SIMMM_MIGRATE_PFN_MIGRATE))
		simmm__page_test_set_hwpoison(sim, folio);
	simmm__migrate_finalize(sim, &src, &dst, 1, 0);
	return (src & SIMMM_MIGRATE_PFN_MIGRATE) ? 0 : -EBUSY;
}

int simmm_migrate_device_coherent_folio(simmm_sim *sim, simmm_pfn_t pfn)
{
	struct simmm_page *page;

	if (!simmm__sim_ok(sim) || !is_device_pfn(sim, pfn))
		return -EINVAL;
	page = simmm__pfn_to_page(sim, pfn);
	if (!page || !simmm__is_device_coherent_page(page) ||
	    simmm__compound_head(sim, page)->refcount <= 0)
		return -EINVAL;
	return simmm__migrate_folio_away(sim, simmm__compound_head(sim, page), false);
}

/* check_and_migrate_movable_pages() for FOLL_LONGTERM: a coherent page is
 * moved to system memory; 0 makes GUP look the address up again. */
static int gup_longterm_migrate(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t addr,
				struct simmm_page *page)
{
	struct simmm_page *folio = simmm__compound_head(sim, page);

	(void)mm;
	(void)addr;
	simmm__folio_get(sim, folio);
	return simmm__migrate_folio_away(sim, folio, false);
}

int simmm__migrate_install_gup_hook(simmm_sim *sim)
{
	struct simmm_mm_global *g = simmm__mm_global(sim);

	if (!g || !g->lru)
		return -ENOMEM;
	g->lru->longterm_fn = gup_longterm_migrate;
	return 0;
}
