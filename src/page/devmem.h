/* SPDX-License-Identifier: MIT */
/*
 * ZONE_DEVICE frames (src/page/devmem.c): device pfn ranges above RAM, each
 * with its own struct page array, and the registry of their pagemaps.
 *
 * Invariants (checked by simmm__devmem_check(), part of the phys checker):
 *  - Ranges never overlap, start above RAM and are sorted by start pfn.
 *  - Every frame of a range records its pfn, the pagemap's memory type and
 *    the pagemap's id.
 *  - A free device frame has refcount 0, mapcount 0, no flags, no
 *    contents, head_delta 0 and order 0 (a freed folio is taken apart; the
 *    driver builds it again with zone_device_folio_init()).
 *  - A folio in use is a head with refcount >= its mappings and pins and
 *    tails pointing at it; the range's nr_used counts the frames in use.
 *
 * ZONE_DEVICE refcount rules (free_zone_device_folio()): a device folio is
 * handed out with refcount 1 by zone_device_folio_init(); the put that
 * drops it to zero does not return it to the buddy allocator but to the
 * driver, through the pagemap's ->folio_free().
 */
#ifndef SIMMM_PAGE_DEVMEM_H
#define SIMMM_PAGE_DEVMEM_H

#include <simmm/memremap.h>
#include <simmm/sched.h>

#include "page/page.h"

struct simmm_phys;

/**
 * struct simmm_devrange - the frames of one pagemap.
 * @start, @nr: [start, start + nr).
 * @nr_used: frames currently handed out.
 * @pages: their struct pages (one per frame).
 * @pgmap: the owner (the caller's struct).
 */
struct simmm_devrange {
	simmm_pfn_t start;
	uint64_t nr;
	uint64_t nr_used;
	struct simmm_page *pages;
	struct simmm_dev_pagemap *pgmap;
};

/**
 * struct simmm_devmem - the device-memory state of one machine
 * (phys->devmem, created by the first memremap).
 * @by_id: pagemap id -> range (NULL: free id), SIMMM_DEVMEM_MAX_PGMAPS slots.
 * @sorted: the live ranges by start pfn, @nr of them.
 * @last: the range of the last lookup (pfn_to_page fast path).
 * @next_pfn: where the next range may start.
 * @wq: memunmap_pages() waiting for pages to be freed; @waiters of them.
 */
struct simmm_devmem {
	struct simmm_devrange **by_id;
	struct simmm_devrange **sorted;
	size_t nr;
	struct simmm_devrange *last;
	simmm_pfn_t next_pfn;
	struct simmm_waitqueue wq;
	unsigned waiters;
};

/* The struct page of a device pfn (pfn >= RAM), or NULL. */
struct simmm_page *simmm__devmem_page(struct simmm_phys *ph, simmm_pfn_t pfn);
/* The machine's device-memory state (NULL before the first memremap). */
struct simmm_devmem *simmm__devmem_state(simmm_sim *sim);
/* The range holding @pfn, or NULL. */
struct simmm_devrange *simmm__devmem_range(simmm_sim *sim, simmm_pfn_t pfn);
/* The pagemap with @id, or NULL. */
struct simmm_dev_pagemap *simmm__devmem_pgmap(const simmm_sim *sim, uint16_t id);
/* Add / remove a range for @pgmap (memremap_pages / memunmap_pages). */
int simmm__devmem_add(simmm_sim *sim, struct simmm_dev_pagemap *pgmap, uint64_t nr_pages);
void simmm__devmem_remove(simmm_sim *sim, struct simmm_devrange *r);
/* Hand out [@pfn, @pfn + 2^@order) as a folio (refcount 1, not locked). */
int simmm__devmem_folio_init(simmm_sim *sim, simmm_pfn_t pfn, unsigned order);
/* folio_put() reached zero on a device folio (free_zone_device_folio()). */
void simmm__devmem_free(simmm_sim *sim, struct simmm_page *head);
/* Checker part: violations found; *@contents += device frames with data,
 * *@memmap += bytes of device struct pages. */
int simmm__devmem_check(simmm_sim *sim, uint64_t *contents, uint64_t *memmap);
/* Teardown at destroy (from the memmap teardown): frees every range,
 * reporting frames still in use as leaks. */
void simmm__devmem_fini(simmm_sim *sim);

#endif
