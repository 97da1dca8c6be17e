// SPDX-License-Identifier: MIT
/*
 * soft_offline_page() (mm/memory-failure.c): take a frame that reported
 * correctable errors out of use before it fails for real, without losing
 * what it holds (the sysfs soft_offline_page interface). A free frame
 * leaves the buddy allocator; a frame in use has its contents moved to a
 * new frame by migration (the reference map finds every mapping, as
 * migrate_pages() with MR_MEMORY_FAILURE does), or, a clean page-cache
 * page nobody maps, is simply dropped from the cache (the file still holds
 * its bytes); either way the old frame is then held hwpoisoned, never
 * allocated again. Nothing is killed and nobody sees SIGBUS: that is the
 * difference from memory_failure().
 *
 * It lives here, not with memory_failure() in src/mm, because it migrates
 * (this layer's machinery).
 */
#include "migrate/migrate.h"

/* mapping_evict_folio(): a clean, unmapped page-cache folio of a regular
 * file that only the cache and the caller reference leaves the cache.
 * (simmm keeps shmem pages to migration: their only copy is the page.)
 * Called with the folio locked and referenced. */
static bool evict_clean(simmm_sim *sim, struct simmm_page *folio)
{
	struct simmm_file *file = folio->mapping;

	if ((folio->flags & (PG_anon | PG_dirty | PG_swapcache)) || !(folio->flags & PG_lru) ||
	    !file || (file->flags & SIMMM_FILE_SHMEM) || folio->refcount != 2 ||
	    simmm__filemap_lookup(file, folio->index) != folio)
		return false;
	simmm__filemap_evict(file, folio, 0);
	simmm__lru_del(sim, folio);
	folio->flags &= ~(PG_active | PG_referenced | PG_workingset);
	return true;
}

/* soft_offline_in_use_page(): @page's folio holds the caller's reference,
 * which this consumes. */
static int offline_in_use(simmm_sim *sim, struct simmm_page *page)
{
	struct simmm_page *folio = simmm__compound_head(sim, page);
	int err;

	if (folio->order) {
		/* the reference moves to @page's new folio */
		err = simmm__try_to_split_thp_page(sim, folio, page);
		if (err) {
			simmm__put_user_folio(sim, folio);
			return -EBUSY; /* "thp split failed" */
		}
		folio = page;
	}
	err = simmm__folio_lock(sim, folio);
	if (err) {
		simmm__put_user_folio(sim, folio);
		return err;
	}
	if (folio->flags & PG_hwpoison) { /* poisoned meanwhile */
		simmm__folio_unlock(sim, folio);
		simmm__put_user_folio(sim, folio);
		return 0;
	}
	if (evict_clean(sim, folio)) {
		/* page_handle_poison(page, false, true): the frame is held for
		 * its poison once our reference goes. */
		simmm__page_test_set_hwpoison(sim, folio);
		simmm__folio_unlock(sim, folio);
		simmm__put_user_folio(sim, folio);
		return 0;
	}
	simmm__folio_unlock(sim, folio);
	/* isolate + migrate_pages(MIGRATE_SYNC, MR_MEMORY_FAILURE): a folio
	 * off the LRU, still mapped after the unmap, or referenced beyond its
	 * mappings (a pin) does not move. */
	return simmm__migrate_folio_away(sim, folio, true);
}

int simmm_soft_offline_page(simmm_sim *sim, simmm_pfn_t pfn)
{
	struct simmm_mm_global *g;
	struct simmm_page *page, *folio;
	int err;

	if (!simmm__sim_ok(sim))
		return -EINVAL;
	if (!simmm__pfn_valid(sim, pfn))
		return -ENXIO;
	/* pfn_to_online_page(): system RAM only, not device memory. */
	if (pfn >= sim->ram_pages)
		return -EIO;
	g = simmm__mm_global(sim);
	page = simmm__pfn_to_page_alloc(sim, pfn);
	if (!g || !page)
		return -ENOMEM;
	err = simmm_mutex_lock(sim, &g->mf_mutex);
	if (err)
		return err;
	folio = simmm__compound_head(sim, page);
	if (page->flags & PG_hwpoison) {
		err = 0; /* "page already poisoned" */
	} else if (folio->refcount > 0 && simmm__folio_is_hugetlb(sim, folio)) {
		/* hugetlb: migrating and dissolving the huge page is not
		 * modelled; as a failed migration. */
		err = -EBUSY;
	} else if (folio->refcount <= 0) {
		/* A free frame: page_handle_poison(page, true, false) takes it
		 * off the buddy (-EBUSY if it is not free after all). */
		if (simmm__take_page_off_buddy(sim, pfn)) {
			simmm__page_test_set_hwpoison(sim, page);
			page->flags = PG_hwpoison;
			err = 0;
		} else {
			err = -EBUSY;
		}
	} else if (!(folio->flags & PG_lru) || (folio->flags & (PG_reserved | PG_table | PG_zero))) {
		/* get_any_page(): not HWPoisonHandlable (kernel frames, the
		 * zero page, a folio someone isolated: shake_page() cannot
		 * help in simmm), "unhandlable page". */
		err = -EIO;
	} else {
		simmm__folio_get(sim, folio);
		err = offline_in_use(sim, page);
	}
	simmm_mutex_unlock(sim, &g->mf_mutex);
	return err;
}
