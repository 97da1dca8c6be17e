// SPDX-License-Identifier: MIT
/*
 * mm/memremap.c: registering device memory (memremap_pages /
 * memunmap_pages), handing device pages out (zone_device_folio_init) and
 * the public page-type predicates. The frames and struct pages themselves
 * live in src/page/devmem.c.
 */
#include "migrate/migrate.h"

/* memremap_pages()'s per-type checks (it WARNs and fails the same way). */
static bool pgmap_ok(const struct simmm_dev_pagemap *pgmap)
{
	const struct simmm_dev_pagemap_ops *ops = pgmap->ops;

	switch (pgmap->type) {
	case SIMMM_MEM_DEVICE_PRIVATE:
		return ops && ops->folio_free && ops->migrate_to_ram && pgmap->owner;
	case SIMMM_MEM_DEVICE_COHERENT:
		return ops && ops->folio_free && pgmap->owner;
	case SIMMM_MEM_FS_DAX:
	case SIMMM_MEM_GENERIC:
	case SIMMM_MEM_PCI_P2PDMA:
		return true;
	default:
		return false; /* 0 is reserved to catch uninitialised types */
	}
}

int simmm_memremap_pages(simmm_sim *sim, struct simmm_dev_pagemap *pgmap, uint64_t nr_pages)
{
	int err;

	if (!simmm__sim_ok(sim) || !pgmap || !nr_pages || nr_pages > SIMMM_DEVMEM_MAX_PAGES ||
	    !pgmap_ok(pgmap))
		return -EINVAL;
	if (pgmap->sim || pgmap->id || pgmap->dying)
		return -EBUSY;
	/* Coherent pages must never be pinned long-term: GUP migrates them
	 * to system memory first (check_and_migrate_movable_pages()). */
	if (pgmap->type == SIMMM_MEM_DEVICE_COHERENT) {
		err = simmm__migrate_install_gup_hook(sim);
		if (err)
			return err;
	}
	err = simmm__devmem_add(sim, pgmap, nr_pages);
	if (err)
		return err;
	pgmap->sim = sim;
	return 0;
}

static bool range_idle(simmm_sim *sim, void *arg)
{
	(void)sim;
	return ((struct simmm_devrange *)arg)->nr_used == 0;
}

static struct simmm_devrange *registered_range(struct simmm_dev_pagemap *pgmap)
{
	struct simmm_devrange *r;

	if (!pgmap || !simmm__sim_ok(pgmap->sim) || !pgmap->nr_pages)
		return NULL;
	r = simmm__devmem_range(pgmap->sim, pgmap->start_pfn);
	return r && r->pgmap == pgmap ? r : NULL;
}

int simmm_memunmap_pages(struct simmm_dev_pagemap *pgmap)
{
	struct simmm_devrange *r = registered_range(pgmap);
	struct simmm_devmem *dm;
	simmm_sim *sim;

	if (!r)
		return -EINVAL;
	sim = pgmap->sim;
	dm = simmm__devmem_state(sim);
	pgmap->dying = true; /* percpu_ref_kill(): no new pages */
	if (r->nr_used && !sim->cur_task) {
		simmm__report(sim, SIMMM_REPORT_WARN,
			      "memunmap_pages: %llu device pages of [%#llx, %#llx) still in use",
			      (unsigned long long)r->nr_used, (unsigned long long)r->start,
			      (unsigned long long)(r->start + r->nr));
		pgmap->dying = false;
		return -EBUSY;
	}
	if (r->nr_used) {
		dm->waiters++;
		simmm_wait_event(sim, &dm->wq, range_idle, r); /* wait_for_completion(done) */
		dm->waiters--;
	}
	simmm__devmem_remove(sim, r);
	pgmap->sim = NULL;
	pgmap->id = 0;
	pgmap->dying = false;
	pgmap->start_pfn = 0;
	pgmap->nr_pages = 0;
	return 0;
}

/* ---- pages ------------------------------------------------------------------------- */

static struct simmm_page *device_page(simmm_sim *sim, simmm_pfn_t pfn)
{
	struct simmm_page *p;

	if (!simmm__sim_ok(sim) || pfn < sim->ram_pages)
		return NULL;
	p = simmm__pfn_to_page(sim, pfn);
	return p && simmm__is_zone_device_page(p) ? p : NULL;
}

struct simmm_dev_pagemap *simmm_page_pgmap(simmm_sim *sim, simmm_pfn_t pfn)
{
	struct simmm_page *p = device_page(sim, pfn);

	return p ? simmm__page_pgmap(sim, p) : NULL;
}

static bool is_type(simmm_sim *sim, simmm_pfn_t pfn, enum simmm_memtype t)
{
	struct simmm_page *p = device_page(sim, pfn);

	return p && p->memtype == t;
}

bool simmm_is_device_private_page(simmm_sim *sim, simmm_pfn_t pfn)
{
	return is_type(sim, pfn, SIMMM_MEM_DEVICE_PRIVATE);
}

bool simmm_is_device_coherent_page(simmm_sim *sim, simmm_pfn_t pfn)
{
	return is_type(sim, pfn, SIMMM_MEM_DEVICE_COHERENT);
}

bool simmm_is_zone_device_page(simmm_sim *sim, simmm_pfn_t pfn)
{
	return device_page(sim, pfn) != NULL;
}

bool simmm_is_pci_p2pdma_page(simmm_sim *sim, simmm_pfn_t pfn)
{
	return is_type(sim, pfn, SIMMM_MEM_PCI_P2PDMA);
}

bool simmm_is_fsdax_page(simmm_sim *sim, simmm_pfn_t pfn)
{
	return is_type(sim, pfn, SIMMM_MEM_FS_DAX);
}

int simmm_zone_device_folio_init(simmm_sim *sim, simmm_pfn_t pfn, unsigned order)
{
	struct simmm_page *p = device_page(sim, pfn);
	int err;

	if (!p || order > simmm__pmd_order(sim))
		return -EINVAL;
	err = simmm__devmem_folio_init(sim, pfn, order);
	if (err)
		return err;
	/* The fresh folio is returned locked, as lock_page() there does. A
	 * pfn scanner can see it as soon as it has a reference: eviction's
	 * migrate_device_range() (folio_get_nontail_page() + folio_trylock())
	 * of the chunk being removed. In the kernel such a scanner makes
	 * lock_page() sleep until it lets go; here the lock is taken without a
	 * scheduling point in between (like the PTL-protected trylock), so the
	 * scanner finds the folio locked and skips it, and this trylock cannot
	 * fail. */
	if (NEVER(!simmm__folio_trylock_atomic(sim, p))) {
		simmm__folio_put(sim, p);
		return -EBUSY;
	}
	return 0;
}

int simmm_zone_device_page_init(simmm_sim *sim, simmm_pfn_t pfn)
{
	return simmm_zone_device_folio_init(sim, pfn, 0);
}

void *simmm_zone_device_data(simmm_sim *sim, simmm_pfn_t pfn)
{
	struct simmm_page *p = device_page(sim, pfn);

	return p ? (void *)(uintptr_t)p->private : NULL;
}

int simmm_set_zone_device_data(simmm_sim *sim, simmm_pfn_t pfn, void *data)
{
	struct simmm_page *p = device_page(sim, pfn);

	if (!p)
		return -EINVAL;
	p->private = (uint64_t)(uintptr_t)data;
	return 0;
}
