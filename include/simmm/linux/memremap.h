/* SPDX-License-Identifier: MIT */
/*
 * Kernel-named aliases for <simmm/memremap.h> (opt-in): code written
 * against include/linux/memremap.h compiles against simmm with this header.
 * Pages are pfns and the calls take the machine as an extra argument where
 * the kernel finds it through the page.
 */
#ifndef SIMMM_LINUX_MEMREMAP_H
#define SIMMM_LINUX_MEMREMAP_H

#include <simmm/memremap.h>

#define MEMORY_DEVICE_PRIVATE   SIMMM_MEM_DEVICE_PRIVATE
#define MEMORY_DEVICE_COHERENT  SIMMM_MEM_DEVICE_COHERENT
#define MEMORY_DEVICE_FS_DAX    SIMMM_MEM_FS_DAX
#define MEMORY_DEVICE_GENERIC   SIMMM_MEM_GENERIC
#define MEMORY_DEVICE_PCI_P2PDMA SIMMM_MEM_PCI_P2PDMA

#define dev_pagemap simmm_dev_pagemap
#define dev_pagemap_ops simmm_dev_pagemap_ops
#define vm_fault simmm_vm_fault
#define memremap_pages simmm_memremap_pages
#define memunmap_pages simmm_memunmap_pages
#define page_pgmap simmm_page_pgmap
#define is_device_private_page simmm_is_device_private_page
#define is_device_coherent_page simmm_is_device_coherent_page
#define is_zone_device_page simmm_is_zone_device_page
#define is_pci_p2pdma_page simmm_is_pci_p2pdma_page
#define is_fsdax_page simmm_is_fsdax_page
#define zone_device_page_init simmm_zone_device_page_init
#define zone_device_folio_init simmm_zone_device_folio_init

#endif
