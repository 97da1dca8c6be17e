/* SPDX-License-Identifier: MIT */
/**
 * DOC: kernel-named page-table aliases (opt-in)
 *
 * For driver code written against <linux/pgtable.h>: pte_t, pmd_t and pud_t
 * are all &simmm_entry_t, and the helpers below forward to the generic
 * simmm_pte_* functions, which work at every level. Semantics, including
 * "other kinds pass through unchanged", are those of <simmm/pgtable.h>.
 */
#ifndef SIMMM_LINUX_PGTABLE_H
#define SIMMM_LINUX_PGTABLE_H

#include <simmm/pgtable.h>

typedef simmm_entry_t pte_t;
typedef simmm_entry_t pmd_t;
typedef simmm_entry_t pud_t;
typedef uint64_t pgprot_t;

#define PAGE_NONE          SIMMM_PAGE_NONE
#define PAGE_READONLY      SIMMM_PAGE_READONLY
#define PAGE_READONLY_EXEC SIMMM_PAGE_READONLY_EXEC
#define PAGE_SHARED        SIMMM_PAGE_SHARED
#define PAGE_SHARED_EXEC   SIMMM_PAGE_SHARED_EXEC
#define PAGE_KERNEL        SIMMM_PAGE_KERNEL

/* Helpers generic over levels, named once per level as the kernel does. */
#define SIMMM__LEVEL_ALIASES(l)                                                              \
	static inline bool l##_none(l##_t e) { return simmm_entry_none(e); }                \
	static inline bool l##_present(l##_t e) { return simmm_pte_present(e); }            \
	static inline bool l##_write(l##_t e) { return simmm_pte_write(e); }                \
	static inline bool l##_dirty(l##_t e) { return simmm_pte_dirty(e); }                \
	static inline bool l##_young(l##_t e) { return simmm_pte_young(e); }                \
	static inline bool l##_special(l##_t e) { return simmm_pte_special(e); }            \
	static inline bool l##_devmap(l##_t e) { return simmm_pte_devmap(e); }              \
	static inline bool l##_soft_dirty(l##_t e) { return simmm_pte_soft_dirty(e); }      \
	static inline bool l##_uffd_wp(l##_t e) { return simmm_pte_uffd_wp(e); }            \
	static inline bool l##_protnone(l##_t e) { return simmm_pte_protnone(e); }          \
	static inline unsigned long l##_pfn(l##_t e) { return (unsigned long)simmm_pte_pfn(e); } \
	static inline l##_t l##_mkwrite_novma(l##_t e) { return simmm_pte_mkwrite(e); }     \
	static inline l##_t l##_wrprotect(l##_t e) { return simmm_pte_wrprotect(e); }       \
	static inline l##_t l##_mkdirty(l##_t e) { return simmm_pte_mkdirty(e); }           \
	static inline l##_t l##_mkclean(l##_t e) { return simmm_pte_mkclean(e); }           \
	static inline l##_t l##_mkyoung(l##_t e) { return simmm_pte_mkyoung(e); }           \
	static inline l##_t l##_mkold(l##_t e) { return simmm_pte_mkold(e); }               \
	static inline l##_t l##_mkspecial(l##_t e) { return simmm_pte_mkspecial(e); }       \
	static inline l##_t l##_mkdevmap(l##_t e) { return simmm_pte_mkdevmap(e); }         \
	static inline l##_t l##_mksoft_dirty(l##_t e) { return simmm_pte_mksoft_dirty(e); } \
	static inline l##_t l##_clear_soft_dirty(l##_t e) { return simmm_pte_clear_soft_dirty(e); } \
	static inline l##_t l##_mkuffd_wp(l##_t e) { return simmm_pte_mkuffd_wp(e); }       \
	static inline l##_t l##_clear_uffd_wp(l##_t e) { return simmm_pte_clear_uffd_wp(e); } \
	static inline l##_t l##_modify(l##_t e, pgprot_t p) { return simmm_entry_modify(e, p); } \
	static inline l##_t pfn_##l(unsigned long pfn, pgprot_t p) { return simmm_mk_entry(pfn, p); }

SIMMM__LEVEL_ALIASES(pte)
SIMMM__LEVEL_ALIASES(pmd)
SIMMM__LEVEL_ALIASES(pud)

/** pmd_leaf()/pud_leaf() - a present huge leaf. */
static inline bool pmd_leaf(pmd_t e) { return simmm_entry_is_leaf(e, SIMMM_LVL_PMD); }
static inline bool pud_leaf(pud_t e) { return simmm_entry_is_leaf(e, SIMMM_LVL_PUD); }
/** pmd_mkhuge()/pud_mkhuge() - set the leaf bit. */
static inline pmd_t pmd_mkhuge(pmd_t e) { return simmm_entry_mkleaf(e); }
static inline pud_t pud_mkhuge(pud_t e) { return simmm_entry_mkleaf(e); }
/** pte_mkexec()/pte_exec(). */
static inline pte_t pte_mkexec(pte_t e) { return simmm_pte_mkexec(e); }
static inline bool pte_exec(pte_t e) { return simmm_pte_exec(e); }

#endif
