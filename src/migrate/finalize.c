// SPDX-License-Identifier: MIT
/*
 * migrate_vma_finalize() / migrate_device_finalize(): every migration
 * entry now maps the destination (migrated) or the source again (failed),
 * both pages are unlocked and the migration's references dropped. CPU
 * faults waiting on the migration entries are woken once at the end.
 */
#include "migrate/migrate.h"

/* The driver's destination: unlock (if the driver did lock it) and drop
 * its reference; an unused destination is freed (back to its driver). */
static void release_dst(simmm_sim *sim, struct simmm_page *dfolio)
{
	if (dfolio->flags & PG_locked)
		simmm__folio_unlock_put(sim, dfolio);
	else
		simmm__put_user_folio(sim, dfolio);
}

void simmm__migrate_finalize(simmm_sim *sim, uint64_t *src, uint64_t *dst, uint64_t npages,
			     simmm_pfn_t fault_page)
{
	struct simmm_page *fault_folio = NULL;

	if (fault_page)
		fault_folio = simmm__compound_head(sim, simmm__pfn_to_page(sim, fault_page));
	for (uint64_t i = 0; i < npages; i++) {
		struct simmm_page *dfolio = simmm__mig_folio(sim, dst[i]);
		struct simmm_page *folio = simmm__mig_folio(sim, src[i]);

		if (!folio) {
			if (dfolio)
				release_dst(sim, dfolio);
			continue;
		}
		if (!(src[i] & SIMMM_MIGRATE_PFN_MIGRATE) || !dfolio) {
			if (dfolio)
				release_dst(sim, dfolio);
			dfolio = folio;
		}
		if (!simmm__is_zone_device_page(dfolio))
			simmm__lru_add(sim, dfolio);
		simmm__remove_migration_ptes(sim, folio, dfolio);
		simmm__mig_release_src(sim, folio, fault_folio);
		if (dfolio != folio)
			release_dst(sim, dfolio);
	}
	simmm__migration_wake(sim);
}

int simmm_migrate_vma_finalize(struct simmm_migrate_vma *migrate)
{
	if (!migrate || !migrate->vma || !simmm__mm_ok(migrate->vma->mm) || !migrate->src ||
	    !migrate->dst)
		return -EINVAL;
	simmm__migrate_finalize(migrate->vma->mm->sim, migrate->src, migrate->dst,
				migrate->npages, migrate->fault_page);
	return 0;
}
