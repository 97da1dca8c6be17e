// SPDX-License-Identifier: MIT
/*
 * migrate_device_unmap(): the second half of migrate_vma_setup() and of
 * the VMA-less eviction. Every collected page is isolated from the LRU
 * (ZONE_DEVICE pages are never on it), any mapping the collect walk did
 * not see (another VMA, another process after fork) is replaced through
 * the reverse map (try_to_migrate()), and pages that are still mapped or
 * pinned are restored and dropped from the migration.
 */
#include "migrate/migrate.h"

/* folio_mapping() != NULL: a page-cache folio, or an anonymous folio in
 * the swap cache. Either holds one more reference (no buffer heads, so
 * folio_has_private() is always false here). */
static bool has_mapping_ref(const struct simmm_page *folio)
{
	if (folio->flags & PG_anon)
		return folio->flags & PG_swapcache;
	return folio->mapping != NULL;
}

/* migrate_vma_check_page(): is the page referenced by anyone but its
 * mappings and us? Same test as folio_migrate_mapping(), except that a
 * ZONE_DEVICE page is allowed one more reference. */
static bool check_page(simmm_sim *sim, struct simmm_page *page, struct simmm_page *fault_page)
{
	struct simmm_page *folio = simmm__compound_head(sim, page);
	int extra = 1 + (fault_page && simmm__compound_head(sim, fault_page) == folio);

	if (folio->order && (folio->flags & PG_swapcache))
		return false; /* the swap cache holds one reference per page */
	if (simmm__is_zone_device_page(folio))
		extra++;
	if (has_mapping_ref(folio))
		extra++;
	return folio->refcount - extra <= simmm__folio_mapcount(sim, folio);
}

/* folio_isolate_lru(): the collect reference becomes the isolation one. */
static bool isolate_lru(simmm_sim *sim, struct simmm_page *folio)
{
	if (!(folio->flags & PG_lru))
		return false;
	simmm__lru_del(sim, folio);
	return true;
}

/* Put back what cannot migrate: restore its ptes, unlock, drop. */
static void restore_failed(simmm_sim *sim, uint64_t *src, uint64_t npages,
			   struct simmm_page *fault_folio)
{
	for (uint64_t i = 0; i < npages; i++) {
		struct simmm_page *folio = simmm__mig_folio(sim, src[i]);

		if (!folio || (src[i] & SIMMM_MIGRATE_PFN_MIGRATE))
			continue;
		simmm__remove_migration_ptes(sim, folio, folio);
		src[i] = 0;
		simmm__mig_release_src(sim, folio, fault_folio);
	}
	simmm__migration_wake(sim);
}

static bool unmap_one(simmm_sim *sim, struct simmm_page *page, struct simmm_page *fault_page)
{
	struct simmm_page *folio = simmm__compound_head(sim, page);
	bool device = simmm__is_zone_device_page(folio);

	if (!device && !isolate_lru(sim, folio))
		return false;
	if (simmm__folio_mapcount(sim, folio))
		simmm__try_to_migrate(sim, folio);
	if (simmm__folio_mapcount(sim, folio) || !check_page(sim, page, fault_page)) {
		if (!device)
			simmm__lru_add(sim, folio); /* folio_putback_lru(), our ref stays */
		return false;
	}
	return true;
}

uint64_t simmm__migrate_device_unmap(simmm_sim *sim, uint64_t *src, uint64_t npages,
				     struct simmm_page *fault_page)
{
	struct simmm_page *fault_folio = fault_page ? simmm__compound_head(sim, fault_page) : NULL;
	uint64_t unmapped = 0, restore = 0;

	for (uint64_t i = 0; i < npages; i++) {
		struct simmm_page *page = simmm__mig_page(sim, src[i]);

		if (!page) {
			if (src[i] & SIMMM_MIGRATE_PFN_MIGRATE)
				unmapped++;
			continue;
		}
		if (!unmap_one(sim, page, fault_page)) {
			src[i] &= ~SIMMM_MIGRATE_PFN_MIGRATE;
			restore++;
			continue;
		}
		unmapped++;
	}
	if (restore)
		restore_failed(sim, src, npages, fault_folio);
	return unmapped;
}
