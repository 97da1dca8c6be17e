/* SPDX-License-Identifier: MIT */
/*
 * Kernel-named aliases for <simmm/migrate.h> (opt-in): code written against
 * include/linux/migrate.h compiles against simmm with this header. Pages
 * are pfns (simmm_pfn_t, 0 = NULL) and the VMA-less calls take the machine
 * as an extra first argument.
 */
#ifndef SIMMM_LINUX_MIGRATE_H
#define SIMMM_LINUX_MIGRATE_H

#include <simmm/migrate.h>

#define MIGRATE_PFN_VALID    SIMMM_MIGRATE_PFN_VALID
#define MIGRATE_PFN_MIGRATE  SIMMM_MIGRATE_PFN_MIGRATE
#define MIGRATE_PFN_WRITE    SIMMM_MIGRATE_PFN_WRITE
#define MIGRATE_PFN_COMPOUND SIMMM_MIGRATE_PFN_COMPOUND
#define MIGRATE_PFN_SHIFT    SIMMM_MIGRATE_PFN_SHIFT

#define MIGRATE_VMA_SELECT_SYSTEM          SIMMM_MIGRATE_VMA_SELECT_SYSTEM
#define MIGRATE_VMA_SELECT_DEVICE_PRIVATE  SIMMM_MIGRATE_VMA_SELECT_DEVICE_PRIVATE
#define MIGRATE_VMA_SELECT_DEVICE_COHERENT SIMMM_MIGRATE_VMA_SELECT_DEVICE_COHERENT
#define MIGRATE_VMA_SELECT_COMPOUND        SIMMM_MIGRATE_VMA_SELECT_COMPOUND

#define migrate_vma simmm_migrate_vma
#define migrate_vma_ops simmm_migrate_vma_ops
#define migrate_pfn simmm_migrate_pfn
#define migrate_pfn_to_page simmm_migrate_pfn_to_page
#define migrate_vma_setup simmm_migrate_vma_setup
#define migrate_vma_pages simmm_migrate_vma_pages
#define migrate_vma_finalize simmm_migrate_vma_finalize
#define migrate_device_range simmm_migrate_device_range
#define migrate_device_pfns simmm_migrate_device_pfns
#define migrate_device_pages simmm_migrate_device_pages
#define migrate_device_finalize simmm_migrate_device_finalize
#define migrate_device_coherent_folio simmm_migrate_device_coherent_folio
#define make_device_exclusive simmm_make_device_exclusive
#define vma_lookup simmm_vma_lookup

#endif
