/* SPDX-License-Identifier: MIT */
/**
 * DOC: device memory (ZONE_DEVICE)
 *
 * A &simmm_dev_pagemap describes a range of device frames with their own
 * struct pages (memremap_pages()). DEVICE_PRIVATE frames are never mapped
 * by CPU ptes, only by device-private swap-format entries; a CPU fault on
 * such an entry calls the pagemap's ->migrate_to_ram() with a
 * &simmm_vm_fault, as do_swap_page() does. DEVICE_COHERENT frames are
 * mapped by normal ptes but may never be long-term pinned.
 */
#ifndef SIMMM_MEMREMAP_H
#define SIMMM_MEMREMAP_H

#include <simmm/common.h>
#include <simmm/page.h>

#ifdef __cplusplus
extern "C" {
#endif

struct simmm_mm;
struct simmm_vma;
struct simmm_dev_pagemap;

/**
 * struct simmm_vm_fault - the fault being handled (struct vm_fault).
 * @mm, @vma: where.
 * @address: the faulting address, page aligned.
 * @real_address: the address as accessed.
 * @flags: SIMMM_FAULT_FLAG_*.
 * @pgoff: linear page index of @address in the VMA.
 * @orig_pte: the entry seen when the fault started (pte_same() checks).
 * @page: for a device-private fault, the device page (locked, referenced).
 * @pmd: the fault is on a device-private PMD entry (a device THP, 6.19+'s
 *   do_huge_pmd_device_private(); upstream's vmf->pte is NULL then):
 *   @page is the folio's head and the driver may migrate the whole folio.
 *   False for a pte, even when the page belongs to a large folio that is
 *   mapped by ptes: then only that page can be migrated (the driver's
 *   migrate_vma_setup() splits the folio).
 */
struct simmm_vm_fault {
	struct simmm_mm *mm;
	struct simmm_vma *vma;
	uint64_t address;
	uint64_t real_address;
	unsigned flags;
	uint64_t pgoff;
	uint64_t orig_pte;
	simmm_pfn_t page;
	bool pmd;
};

/**
 * struct simmm_dev_pagemap_ops - a driver's callbacks (struct dev_pagemap_ops).
 * @folio_free: a device folio's refcount reached zero (free_zone_device_folio();
 *   page_free before 6.19). @pfn is the head, @order its order, @data its
 *   zone_device_data. The folio is already free when this runs: the driver
 *   may put it on a free list (zone_device_data may be set again) and later
 *   hand it out with simmm_zone_device_page_init(). Called for PRIVATE,
 *   COHERENT and PCI_P2PDMA memory; required for PRIVATE and COHERENT.
 * @migrate_to_ram: a CPU fault on a device-private entry: migrate the page
 *   back (simmm_migrate_vma_setup() with fault_page = vmf->page, which is
 *   locked and referenced). Returns vm_fault_t bits: 0 on success,
 *   SIMMM_VM_FAULT_SIGBUS if the driver declines. Required for PRIVATE.
 * @folio_split: a device folio is being split (6.19+): called once per new
 *   folio with the old head and the new folio's head. Optional.
 * @memory_failure: simmm_memory_failure() on @nr frames from @pfn of this
 *   pagemap (flags SIMMM_MF_*): 0 handled, a negative errno returned as is,
 *   -EOPNOTSUPP to fall back to the generic handling (which refuses
 *   device-private and coherent memory with -EBUSY). Optional.
 */
struct simmm_dev_pagemap_ops {
	void (*folio_free)(struct simmm_dev_pagemap *pgmap, simmm_pfn_t pfn, unsigned order,
			   void *data);
	unsigned (*migrate_to_ram)(struct simmm_vm_fault *vmf);
	void (*folio_split)(struct simmm_dev_pagemap *pgmap, simmm_pfn_t head, simmm_pfn_t tail);
	int (*memory_failure)(struct simmm_dev_pagemap *pgmap, simmm_pfn_t pfn, uint64_t nr,
			      int flags);
};

/**
 * struct simmm_dev_pagemap - a device memory range (struct dev_pagemap).
 * @type: SIMMM_MEM_DEVICE_PRIVATE, _COHERENT, _FS_DAX, _GENERIC, _PCI_P2PDMA.
 * @ops: callbacks (see &simmm_dev_pagemap_ops for which are required).
 * @owner: the driver's cookie (HMM's dev_private_owner, migrate's
 *   pgmap_owner); required for PRIVATE and COHERENT.
 * @start_pfn, @nr_pages: the frames (filled by simmm_memremap_pages()).
 * @driver_data: free for the driver.
 * @sim, @id, @dying: internal; must be zero before simmm_memremap_pages().
 *
 * The struct is the caller's; it must stay valid until
 * simmm_memunmap_pages() returned 0 (or the machine is destroyed).
 */
struct simmm_dev_pagemap {
	enum simmm_memtype type;
	const struct simmm_dev_pagemap_ops *ops;
	void *owner;
	simmm_pfn_t start_pfn;
	uint64_t nr_pages;
	void *driver_data;
	/* internal */
	simmm_sim *sim;
	uint16_t id;
	bool dying;
};

/* Largest single pagemap (frames); keeps the memmap of one range below 64 GiB. */
#define SIMMM_DEVMEM_MAX_PAGES (1ULL << 30)
/* Pagemaps one machine can hold at a time. */
#define SIMMM_DEVMEM_MAX_PGMAPS 4096

/**
 * simmm_memremap_pages() - memremap_pages(): give @pgmap @nr_pages device
 * frames with their own struct pages, above RAM (and above every earlier
 * range, aligned to a memmap section so device THPs can be PMD aligned).
 * @sim: the machine.
 * @pgmap: the pagemap; @type, @ops, @owner set, internal fields zero.
 * @nr_pages: frames, 1 .. SIMMM_DEVMEM_MAX_PAGES.
 *
 * The frames start free (refcount 0): a driver hands one out with
 * simmm_zone_device_page_init(). DEVICE_COHERENT memory also installs the
 * long-term GUP hook that migrates such pages to system memory first.
 * Context: the machine's thread or a task; no locks needed.
 * Return: 0 with @pgmap->start_pfn and @pgmap->nr_pages set; -EINVAL: NULL
 * or dead @sim, NULL @pgmap, @nr_pages 0 or too large, unknown @type,
 * PRIVATE without folio_free, migrate_to_ram or owner, COHERENT without
 * folio_free or owner; -EBUSY: @pgmap is already registered (its internal
 * fields are not zero); -ENOSPC: SIMMM_DEVMEM_MAX_PGMAPS pagemaps exist or
 * the device pfn space is exhausted; -ENOMEM (nothing changes).
 */
SIMMM_API int simmm_memremap_pages(simmm_sim *sim, struct simmm_dev_pagemap *pgmap,
				   uint64_t nr_pages);

/**
 * simmm_memunmap_pages() - memunmap_pages(): retire @pgmap. As upstream,
 * new pages can no longer be handed out (percpu_ref_kill()) and the call
 * waits until every page of the range is free (wait_for_completion(done)),
 * then the frames and their struct pages go away.
 * @pgmap: a registered pagemap.
 *
 * Outside a scheduler task nothing could ever drop the remaining
 * references, so instead of hanging the call reports the pages still in
 * use (SIMMM_REPORT_WARN) and returns -EBUSY with nothing changed.
 * Context: a task (may sleep) or the machine's thread.
 * Return: 0; -EINVAL for NULL or an unregistered @pgmap (or a dead
 * machine); -EBUSY: pages are still in use and the caller is not a task.
 */
SIMMM_API int simmm_memunmap_pages(struct simmm_dev_pagemap *pgmap);

/**
 * simmm_page_pgmap() - page_pgmap() / get_dev_pagemap() without the
 * reference: the pagemap owning @pfn.
 * Return: the pagemap, or NULL for NULL @sim, system RAM or an unknown pfn.
 */
SIMMM_API struct simmm_dev_pagemap *simmm_page_pgmap(simmm_sim *sim, simmm_pfn_t pfn);

/**
 * simmm_is_device_private_page() ... simmm_is_fsdax_page() - the memory
 * type of @pfn (is_device_private_page(), is_device_coherent_page(),
 * is_zone_device_page(), is_pci_p2pdma_page(), is_fsdax_page()).
 * Return: true if @pfn is a frame of that type; false otherwise, also for
 * NULL @sim or an unknown pfn.
 */
SIMMM_API bool simmm_is_device_private_page(simmm_sim *sim, simmm_pfn_t pfn);
SIMMM_API bool simmm_is_device_coherent_page(simmm_sim *sim, simmm_pfn_t pfn);
SIMMM_API bool simmm_is_zone_device_page(simmm_sim *sim, simmm_pfn_t pfn);
SIMMM_API bool simmm_is_pci_p2pdma_page(simmm_sim *sim, simmm_pfn_t pfn);
SIMMM_API bool simmm_is_fsdax_page(simmm_sim *sim, simmm_pfn_t pfn);

/**
 * simmm_zone_device_folio_init() - zone_device_folio_init(): hand out the
 * free device frames [@pfn, @pfn + 2^@order) as one folio: refcount 1,
 * locked (the caller's task holds the lock), no mapping, no contents.
 * @sim: the machine. @pfn: the head, aligned to 2^@order.
 * @order: 0 .. the PMD order of the geometry.
 *
 * Context: the machine's thread or a task.
 * Return: 0; -EINVAL: NULL @sim, @pfn not a device frame, misaligned, the
 * folio not inside one pagemap, @order too large, or a pagemap being
 * removed (memunmap_pages); -EBUSY: a frame of the range is in use.
 */
SIMMM_API int simmm_zone_device_folio_init(simmm_sim *sim, simmm_pfn_t pfn, unsigned order);

/**
 * simmm_zone_device_page_init() - zone_device_page_init(): the order-0
 * case of simmm_zone_device_folio_init().
 * Return: as simmm_zone_device_folio_init().
 */
SIMMM_API int simmm_zone_device_page_init(simmm_sim *sim, simmm_pfn_t pfn);

/**
 * simmm_zone_device_data() / simmm_set_zone_device_data() - the driver's
 * per-page pointer (page->zone_device_data / folio_zone_device_data()),
 * kept while the page is free too (drivers thread free lists through it).
 * Return: get: the pointer, NULL for NULL @sim or a non-device pfn; set: 0,
 * or -EINVAL for NULL @sim or a non-device pfn.
 */
SIMMM_API void *simmm_zone_device_data(simmm_sim *sim, simmm_pfn_t pfn);
SIMMM_API int simmm_set_zone_device_data(simmm_sim *sim, simmm_pfn_t pfn, void *data);

#ifdef __cplusplus
}
#endif
#endif
