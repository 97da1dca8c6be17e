/* SPDX-License-Identifier: MIT */
/**
 * DOC: kernel-named swapops aliases (opt-in)
 *
 * For code written against <linux/swapops.h>. swp_entry_t wraps the
 * swap-format entry without its swap-pte bits, as the kernel separates
 * swp_entry_t from the pte that stores it; pte_to_swp_entry() and
 * swp_entry_to_pte() convert. Predicates take swp_entry_t like the kernel's.
 */
#ifndef SIMMM_LINUX_SWAPOPS_H
#define SIMMM_LINUX_SWAPOPS_H

#include <simmm/linux/pgtable.h>

typedef struct { simmm_entry_t val; } swp_entry_t;

#define MAX_SWAPFILES                 SIMMM_MAX_SWAPFILES
#define SWP_HWPOISON                  SIMMM_SWP_HWPOISON
#define SWP_MIGRATION_READ            SIMMM_SWP_MIGRATION_READ
#define SWP_MIGRATION_READ_EXCLUSIVE  SIMMM_SWP_MIGRATION_READ_EXCLUSIVE
#define SWP_MIGRATION_WRITE           SIMMM_SWP_MIGRATION_WRITE
#define SWP_DEVICE_WRITE              SIMMM_SWP_DEVICE_WRITE
#define SWP_DEVICE_READ               SIMMM_SWP_DEVICE_READ
#define SWP_DEVICE_EXCLUSIVE          SIMMM_SWP_DEVICE_EXCLUSIVE
#define SWP_PTE_MARKER                SIMMM_SWP_PTE_MARKER
#define PTE_MARKER_UFFD_WP            SIMMM_PTE_MARKER_UFFD_WP
#define PTE_MARKER_POISONED           SIMMM_PTE_MARKER_POISONED
#define PTE_MARKER_GUARD              SIMMM_PTE_MARKER_GUARD

static inline swp_entry_t simmm__swp(simmm_entry_t e) { swp_entry_t s = {e}; return s; }

static inline swp_entry_t swp_entry(unsigned type, unsigned long offset) { return simmm__swp(simmm_swp_entry(type, offset)); }
static inline unsigned swp_type(swp_entry_t s) { return simmm_swp_type(s.val); }
static inline unsigned long swp_offset(swp_entry_t s) { return (unsigned long)simmm_swp_offset(s.val); }
static inline unsigned long swp_offset_pfn(swp_entry_t s) { return (unsigned long)simmm_swp_offset_pfn(s.val); }
static inline bool non_swap_entry(swp_entry_t s) { return simmm_non_swap_entry(s.val); }
static inline bool is_swap_pte(pte_t p) { return simmm_is_swap_pte(p); }
static inline swp_entry_t pte_to_swp_entry(pte_t p) { return simmm__swp(simmm_pte_to_swp_entry(p)); }
static inline pte_t swp_entry_to_pte(swp_entry_t s) { return s.val; }
static inline swp_entry_t pmd_to_swp_entry(pmd_t p) { return simmm__swp(simmm_pte_to_swp_entry(p)); }
static inline pmd_t swp_entry_to_pmd(swp_entry_t s) { return s.val; }

static inline swp_entry_t make_readable_migration_entry(unsigned long pfn) { return simmm__swp(simmm_make_readable_migration_entry(pfn)); }
static inline swp_entry_t make_readable_exclusive_migration_entry(unsigned long pfn) { return simmm__swp(simmm_make_readable_exclusive_migration_entry(pfn)); }
static inline swp_entry_t make_writable_migration_entry(unsigned long pfn) { return simmm__swp(simmm_make_writable_migration_entry(pfn)); }
static inline bool is_migration_entry(swp_entry_t s) { return simmm_is_migration_entry(s.val); }
static inline bool is_readable_migration_entry(swp_entry_t s) { return simmm_is_readable_migration_entry(s.val); }
static inline bool is_readable_exclusive_migration_entry(swp_entry_t s) { return simmm_is_readable_exclusive_migration_entry(s.val); }
static inline bool is_writable_migration_entry(swp_entry_t s) { return simmm_is_writable_migration_entry(s.val); }
static inline swp_entry_t make_migration_entry_young(swp_entry_t s) { return simmm__swp(simmm_make_migration_entry_young(s.val)); }
static inline bool is_migration_entry_young(swp_entry_t s) { return simmm_is_migration_entry_young(s.val); }
static inline swp_entry_t make_migration_entry_dirty(swp_entry_t s) { return simmm__swp(simmm_make_migration_entry_dirty(s.val)); }
static inline bool is_migration_entry_dirty(swp_entry_t s) { return simmm_is_migration_entry_dirty(s.val); }
static inline bool is_pmd_migration_entry(pmd_t p) { return simmm_is_migration_entry(p); }

static inline swp_entry_t make_readable_device_private_entry(unsigned long pfn) { return simmm__swp(simmm_make_readable_device_private_entry(pfn)); }
static inline swp_entry_t make_writable_device_private_entry(unsigned long pfn) { return simmm__swp(simmm_make_writable_device_private_entry(pfn)); }
static inline bool is_device_private_entry(swp_entry_t s) { return simmm_is_device_private_entry(s.val); }
static inline bool is_writable_device_private_entry(swp_entry_t s) { return simmm_is_writable_device_private_entry(s.val); }
static inline swp_entry_t make_device_exclusive_entry(unsigned long pfn) { return simmm__swp(simmm_make_device_exclusive_entry(pfn)); }
static inline bool is_device_exclusive_entry(swp_entry_t s) { return simmm_is_device_exclusive_entry(s.val); }
static inline swp_entry_t make_hwpoison_entry(unsigned long pfn) { return simmm__swp(simmm_make_hwpoison_entry(pfn)); }
static inline bool is_hwpoison_entry(swp_entry_t s) { return simmm_is_hwpoison_entry(s.val); }
static inline bool is_pfn_swap_entry(swp_entry_t s) { return simmm_is_pfn_swap_entry(s.val); }

static inline swp_entry_t make_pte_marker_entry(unsigned long m) { return simmm__swp(simmm_make_pte_marker(m)); }
static inline pte_t make_pte_marker(unsigned long m) { return simmm_make_pte_marker(m); }
static inline bool is_pte_marker_entry(swp_entry_t s) { return simmm_is_pte_marker(s.val); }
static inline bool is_pte_marker(pte_t p) { return simmm_is_pte_marker(p); }
static inline unsigned long pte_marker_get(swp_entry_t s) { return (unsigned long)simmm_pte_marker_get(s.val); }
static inline swp_entry_t make_poisoned_swp_entry(void) { return simmm__swp(simmm_make_poisoned_swp_entry()); }
static inline bool is_poisoned_swp_entry(swp_entry_t s) { return simmm_is_poisoned_swp_entry(s.val); }
static inline swp_entry_t make_guard_swp_entry(void) { return simmm__swp(simmm_make_guard_swp_entry()); }
static inline bool is_guard_swp_entry(swp_entry_t s) { return simmm_is_guard_swp_entry(s.val); }
static inline bool pte_none_mostly(pte_t p) { return simmm_pte_none_mostly(p); }

static inline bool pte_swp_exclusive(pte_t p) { return simmm_pte_swp_exclusive(p); }
static inline pte_t pte_swp_mkexclusive(pte_t p) { return simmm_pte_swp_mkexclusive(p); }
static inline pte_t pte_swp_clear_exclusive(pte_t p) { return simmm_pte_swp_clear_exclusive(p); }
static inline bool pte_swp_soft_dirty(pte_t p) { return simmm_pte_swp_soft_dirty(p); }
static inline pte_t pte_swp_mksoft_dirty(pte_t p) { return simmm_pte_swp_mksoft_dirty(p); }
static inline pte_t pte_swp_clear_soft_dirty(pte_t p) { return simmm_pte_swp_clear_soft_dirty(p); }
static inline bool pte_swp_uffd_wp(pte_t p) { return simmm_pte_swp_uffd_wp(p); }
static inline pte_t pte_swp_mkuffd_wp(pte_t p) { return simmm_pte_swp_mkuffd_wp(p); }
static inline pte_t pte_swp_clear_uffd_wp(pte_t p) { return simmm_pte_swp_clear_uffd_wp(p); }

#endif
