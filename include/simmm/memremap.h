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
};

/**
 * struct simmm_dev_pagemap_ops - a driver's callbacks.
 * @folio_free: a device folio's refcount reached zero (page_free before 6.19).
 * @migrate_to_ram: a CPU fault on a device-private entry: migrate the page
 *   back (migrate_vma_setup with fault_page = vmf->page). Returns vm_fault_t
 *   bits: 0 on success, SIMMM_VM_FAULT_SIGBUS if the driver declines.
 * @folio_split: a device folio is being split (6.19+).
 */
struct simmm_dev_pagemap_ops {
	void (*folio_free)(struct simmm_dev_pagemap *pgmap, simmm_pfn_t pfn, void *data);
	unsigned (*migrate_to_ram)(struct simmm_vm_fault *vmf);
	void (*folio_split)(struct simmm_dev_pagemap *pgmap, simmm_pfn_t head, simmm_pfn_t tail);
};

/**
 * struct simmm_dev_pagemap - a device memory range.
 * @type: SIMMM_MEM_DEVICE_PRIVATE, _COHERENT, _FS_DAX, _GENERIC, _PCI_P2PDMA.
 * @ops: callbacks.
 * @owner: the driver's cookie (HMM's dev_private_owner, migrate's pgmap_owner).
 * @start_pfn, @nr_pages: the frames (filled by memremap).
 * @driver_data: free for the driver.
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
};

#ifdef __cplusplus
}
#endif
#endif
