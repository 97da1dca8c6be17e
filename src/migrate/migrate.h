/* SPDX-License-Identifier: MIT */
/*
 * Device memory migration internals (mm/migrate_device.c, the device parts
 * of mm/migrate.c and mm/rmap.c, mm/memremap.c).
 *
 * Files (one concept each):
 *   memremap.c  memremap_pages / memunmap_pages, zone_device_*_init, the
 *               public page-type predicates, page lock and copy helpers
 *   collect.c   migrate_vma_setup(): argument checks and the collect walk
 *   unmap.c     migrate_device_unmap(): isolate, try_to_migrate, the
 *               pinned check, restore of what cannot move
 *   rmap.c      the rmap walk of a folio under migration, try_to_migrate()
 *               and remove_migration_ptes()
 *   pages.c     migrate_vma_pages(): insert into holes, move struct page
 *               state (folio_migrate_mapping / _flags)
 *   finalize.c  migrate_vma_finalize() / migrate_device_finalize()
 *   device.c    VMA-less eviction (migrate_device_range / _pfns) and
 *               migrate_device_coherent_folio() with the long-term GUP hook
 *   exclusive.c make_device_exclusive()
 *   legacy.c    the 2017 one-call migrate_vma()
 *
 * Reference protocol of a source page (as upstream):
 *  - collect (or migrate_device_pfn_lock) takes one reference ("the
 *    migration reference") and the folio lock; for a mapped anonymous
 *    folio it also pins the anon_vma (PG_migrate_pin) so that the reverse
 *    map stays walkable without the mmap lock (folio_get_anon_vma() in
 *    migrate_folio_unmap()); every walk holds the anon_vma (or i_mmap)
 *    rwsem for read (see src/mm/mm.h, rmap.c).
 *  - Replacing a pte by a migration entry drops the pte's mapcount and
 *    reference: migration entries hold neither but stay in rss.
 *  - Isolation from the LRU keeps the migration reference as the isolation
 *    reference (folio_isolate_lru() + folio_put() of the collect ref).
 *  - finalize (or the unmap-time restore) removes the migration entries,
 *    unlocks, unpins the anon_vma and drops the migration reference: a
 *    migrated system source is then freed, a device source goes back to
 *    its driver (->folio_free()).
 * A destination page arrives from the driver locked with one reference;
 * each restored entry takes a reference and a mapcount on it, and finalize
 * drops the driver's.
 */
#ifndef SIMMM_MIGRATE_MIGRATE_H
#define SIMMM_MIGRATE_MIGRATE_H

#include <simmm/migrate.h>
#include <simmm/mmu_notifier.h>

#include "mm/mm.h"
#include "mm/mm_ext.h"
#include "page/devmem.h"

/* The folio of a migrate entry, or NULL (no VALID bit, no page in use). */
struct simmm_page *simmm__mig_folio(simmm_sim *sim, uint64_t mpfn);
/* The page (not the head) of a migrate entry, or NULL. */
struct simmm_page *simmm__mig_page(simmm_sim *sim, uint64_t mpfn);

/* Pin / unpin the anon_vma of a locked anonymous folio (no-op otherwise,
 * and when already pinned). Pin only while the folio is mapped, or was at
 * the caller's last scheduling point: a stale mapping may be freed. */
void simmm__mig_anon_vma_get(struct simmm_page *folio);
void simmm__mig_anon_vma_put(simmm_sim *sim, struct simmm_page *folio);
/* The anon_vma a migration source pinned, or NULL. */
struct simmm_anon_vma *simmm__mig_anon_vma(const struct simmm_page *folio);

/* Unlock (unless it is the fault page's folio), unpin and put a source. */
void simmm__mig_release_src(simmm_sim *sim, struct simmm_page *folio,
			    struct simmm_page *fault_folio);

/* ---- unmap.c -------------------------------------------------------------------- */
/* migrate_device_unmap(): returns the entries still migrating. */
uint64_t simmm__migrate_device_unmap(simmm_sim *sim, uint64_t *src, uint64_t npages,
				     struct simmm_page *fault_page);

/* ---- rmap.c --------------------------------------------------------------------- */
/* try_to_migrate(): every pte / device-private entry mapping @folio becomes
 * a migration entry (notifier CLEAR per VMA). */
void simmm__try_to_migrate(simmm_sim *sim, struct simmm_page *folio);
/* remove_migration_ptes(): migration entries of @src become entries of
 * @dst (== @src to restore). Wakes nobody (callers do, once). */
void simmm__remove_migration_ptes(simmm_sim *sim, struct simmm_page *src,
				  struct simmm_page *dst);
/* Call @fn(folio, vma, start of the folio's span in vma, arg) for every VMA
 * that may map @folio (under migration: its anon_vma is pinned); stops when
 * @fn returns false. */
void simmm__mig_rmap_walk_all(simmm_sim *sim, struct simmm_page *folio,
			      bool (*fn)(struct simmm_page *folio, struct simmm_vma *vma,
					 simmm_addr_t addr, void *arg),
			      void *arg);
/* The migration entry replacing @old (a present pte or a device-private
 * entry of @page), keeping young/dirty/soft-dirty/uffd-wp. */
simmm_entry_t simmm__mig_entry(simmm_entry_t old, struct simmm_page *page, bool write,
			       bool exclusive);

/* ---- pages.c / finalize.c ------------------------------------------------------- */
int simmm__migrate_pages(simmm_sim *sim, uint64_t *src, uint64_t *dst, uint64_t npages,
			 struct simmm_migrate_vma *m);
void simmm__migrate_finalize(simmm_sim *sim, uint64_t *src, uint64_t *dst, uint64_t npages,
			     simmm_pfn_t fault_page);

/* ---- device.c ------------------------------------------------------------------- */
/* migrate_device_coherent_folio() on a referenced folio (ref consumed), also
 * soft offline's migration of a system folio (@poison: the source frame is
 * kept out of use once freed). 0 when it moved; -EBUSY. */
int simmm__migrate_folio_away(simmm_sim *sim, struct simmm_page *folio, bool poison);
/* Install the FOLL_LONGTERM hook (memremap of coherent memory). */
int simmm__migrate_install_gup_hook(simmm_sim *sim);

#endif
