/* SPDX-License-Identifier: MIT */
/**
 * DOC: page tables
 *
 * Entries. Every level uses one 64-bit generic entry, &simmm_entry_t. The
 * value 0 is the none entry. Otherwise the entry is one of:
 *
 *  - present (SIMMM_E_PRESENT, or SIMMM_E_PROTNONE for a PROT_NONE/NUMA
 *    hinting entry, which the kernel also counts as pte_present()): a pfn in
 *    bits 14..63 plus flag bits. Above the PTE level a present entry is a
 *    *leaf* (huge page / block) when SIMMM_E_LEAF is set, else a *table*
 *    pointer whose pfn is the next-level table page;
 *  - swap-format (SIMMM_E_SWP set, present bits clear): a 5-bit type in bits
 *    8..12 and a 50-bit offset in bits 14..63, plus the swap-pte bits
 *    (exclusive, soft-dirty, uffd-wp). Types follow the kernel's layout:
 *    0..SIMMM_MAX_SWAPFILES-1 are swap devices, then hwpoison, three
 *    migration types, three device types and the PTE marker.
 *
 * The layout is generic; simmm_entry_arch_view() decodes an entry into the
 * bits x86-64, arm64 or RISC-V hardware would hold. See docs/pgtable.md.
 *
 * Entry helpers are pure functions. Modifiers that only make sense for one
 * kind (mkwrite on a present entry, swp-exclusive on a swap entry) return
 * the entry unchanged when given another kind, so they never corrupt it.
 *
 * Tables. &struct simmm_pgtable is one address space's page-table tree,
 * built of simulated table frames (PG_table). Only user addresses
 * [0, user_va_end) of the geometry can be mapped. The kernel's levels are
 * used by name (enum simmm_level); a folded level is served by the real
 * table above it, as with Linux's pgtable-nop*d.h.
 *
 * Address errors, common to every function taking an address or range:
 *  -EINVAL: an address not aligned as required (page, or the size of the
 *           level named), an empty range (start >= end), a range whose end
 *           wraps, or a non-canonical address (bits above the VA width that
 *           are not a sign extension, or set at all on non-canonical
 *           geometries);
 *  -EFAULT: a well-formed address outside the user half (at or above
 *           user_va_end, e.g. in the canonical kernel half).
 *
 * Locking: a page table belongs to one simulated machine, which is
 * single-threaded; callers running as simulated tasks hold the mm's page
 * table lock as the kernel would. Nothing here sleeps or yields.
 */
#ifndef SIMMM_PGTABLE_H
#define SIMMM_PGTABLE_H

#include <simmm/common.h>
#include <simmm/geometry.h>

#ifdef __cplusplus
extern "C" {
#endif

/** typedef simmm_entry_t - a generic page-table entry of any level. */
typedef uint64_t simmm_entry_t;

/* ---- entry bits ------------------------------------------------------- */

/* Bits of every entry kind. */
#define SIMMM_E_PRESENT     (1ULL << 0)  /* hardware-valid */
#define SIMMM_E_PROTNONE    (1ULL << 1)  /* present to the kernel, invalid to hw */
#define SIMMM_E_SWP         (1ULL << 2)  /* non-present swap-format entry */
/* Present entries. */
#define SIMMM_E_WRITE       (1ULL << 3)
#define SIMMM_E_USER        (1ULL << 4)
#define SIMMM_E_YOUNG       (1ULL << 5)  /* accessed */
#define SIMMM_E_DIRTY       (1ULL << 6)
#define SIMMM_E_LEAF        (1ULL << 7)  /* huge leaf above PTE (x86 PSE) */
#define SIMMM_E_EXEC        (1ULL << 8)
#define SIMMM_E_SPECIAL     (1ULL << 9)  /* no struct page behind (pfnmap) */
#define SIMMM_E_DEVMAP      (1ULL << 10) /* ZONE_DEVICE pfn */
#define SIMMM_E_SOFT_DIRTY  (1ULL << 11)
#define SIMMM_E_UFFD_WP     (1ULL << 12)
#define SIMMM_E_GLOBAL      (1ULL << 13)
#define SIMMM_E_FLAGS_MASK  ((1ULL << 14) - 1)
#define SIMMM_E_PFN_SHIFT   14
#define SIMMM_E_PFN_BITS    50
#define SIMMM_E_PFN_MAX     ((1ULL << SIMMM_E_PFN_BITS) - 1)
/* Swap-format entries: the kernel's arch-specific swap-pte bits ... */
#define SIMMM_E_SWP_EXCLUSIVE   (1ULL << 3)
#define SIMMM_E_SWP_SOFT_DIRTY  (1ULL << 4)
#define SIMMM_E_SWP_UFFD_WP     (1ULL << 5)
#define SIMMM_E_SWP_PTE_BITS    (SIMMM_E_SWP_EXCLUSIVE | SIMMM_E_SWP_SOFT_DIRTY | \
				 SIMMM_E_SWP_UFFD_WP)
/* ... and the swp_entry_t fields. */
#define SIMMM_SWP_TYPE_SHIFT    8
#define SIMMM_SWP_TYPE_BITS     5
#define SIMMM_SWP_OFFSET_SHIFT  SIMMM_E_PFN_SHIFT
#define SIMMM_SWP_OFFSET_BITS   SIMMM_E_PFN_BITS
#define SIMMM_SWP_OFFSET_MAX    ((1ULL << SIMMM_SWP_OFFSET_BITS) - 1)
/* pfn-carrying entries keep the pfn in the low offset bits and, like the
 * kernel's SWP_MIG_YOUNG_BIT/SWP_MIG_DIRTY_BIT, migration entries keep the
 * young and dirty state of the unmapped pte just above it. */
#define SIMMM_SWP_PFN_BITS      48
#define SIMMM_SWP_PFN_MASK      ((1ULL << SIMMM_SWP_PFN_BITS) - 1)
#define SIMMM_SWP_MIG_YOUNG     (1ULL << SIMMM_SWP_PFN_BITS)      /* offset bit */
#define SIMMM_SWP_MIG_DIRTY     (1ULL << (SIMMM_SWP_PFN_BITS + 1))

/* Swap types: include/linux/swap.h's layout with 5 type bits. */
#define SIMMM_MAX_SWAPFILES            24
#define SIMMM_SWP_HWPOISON             24
#define SIMMM_SWP_MIGRATION_READ       25
#define SIMMM_SWP_MIGRATION_READ_EXCLUSIVE 26
#define SIMMM_SWP_MIGRATION_WRITE      27
#define SIMMM_SWP_DEVICE_WRITE         28
#define SIMMM_SWP_DEVICE_READ          29
#define SIMMM_SWP_DEVICE_EXCLUSIVE     30
#define SIMMM_SWP_PTE_MARKER           31

/* PTE marker bits (swp offset of a SIMMM_SWP_PTE_MARKER entry). */
#define SIMMM_PTE_MARKER_UFFD_WP   (1ULL << 0)
#define SIMMM_PTE_MARKER_POISONED  (1ULL << 1)
#define SIMMM_PTE_MARKER_GUARD     (1ULL << 2)
#define SIMMM_PTE_MARKER_MASK      (0x7ULL)

/* Protections for simmm_mk_entry(), after the kernel's PAGE_* values. */
#define SIMMM_PAGE_NONE          (SIMMM_E_PROTNONE | SIMMM_E_USER | SIMMM_E_YOUNG)
#define SIMMM_PAGE_READONLY      (SIMMM_E_PRESENT | SIMMM_E_USER | SIMMM_E_YOUNG)
#define SIMMM_PAGE_READONLY_EXEC (SIMMM_PAGE_READONLY | SIMMM_E_EXEC)
#define SIMMM_PAGE_SHARED        (SIMMM_PAGE_READONLY | SIMMM_E_WRITE)
#define SIMMM_PAGE_SHARED_EXEC   (SIMMM_PAGE_SHARED | SIMMM_E_EXEC)
#define SIMMM_PAGE_KERNEL        (SIMMM_E_PRESENT | SIMMM_E_WRITE | SIMMM_E_YOUNG | \
				  SIMMM_E_DIRTY | SIMMM_E_GLOBAL)
/* What this layer writes into a table-pointer entry (x86 _PAGE_TABLE). */
#define SIMMM_PAGE_TABLE         (SIMMM_E_PRESENT | SIMMM_E_WRITE | SIMMM_E_USER | \
				  SIMMM_E_YOUNG | SIMMM_E_EXEC)

/* ---- entry kinds ---------------------------------------------------------- */

/** simmm_entry_none() - pte_none(). Return: true for the none entry (0). */
static inline bool simmm_entry_none(simmm_entry_t e)
{
	return e == 0;
}

/**
 * simmm_pte_present() - pte_present(): valid or PROT_NONE (any level).
 * Return: true if @e is present to the kernel, false otherwise.
 */
static inline bool simmm_pte_present(simmm_entry_t e)
{
	return (e & (SIMMM_E_PRESENT | SIMMM_E_PROTNONE)) != 0;
}

/**
 * simmm_pte_protnone() - pte_protnone(): present to the kernel, no access.
 * Return: true only for a PROT_NONE present entry.
 */
static inline bool simmm_pte_protnone(simmm_entry_t e)
{
	return (e & (SIMMM_E_PRESENT | SIMMM_E_PROTNONE)) == SIMMM_E_PROTNONE;
}

/**
 * simmm_is_swap_pte() - is_swap_pte(): neither none nor present.
 * Return: true for any swap-format entry (swap, migration, device, marker...).
 */
static inline bool simmm_is_swap_pte(simmm_entry_t e)
{
	return !simmm_pte_present(e) && (e & SIMMM_E_SWP);
}

/**
 * simmm_entry_is_leaf() - pte_present() at PTE, pmd_leaf()/pud_leaf() above.
 * @e: the entry. @lvl: the level it was read from.
 * Return: true for a present leaf; false otherwise (also for a bad @lvl).
 */
static inline bool simmm_entry_is_leaf(simmm_entry_t e, enum simmm_level lvl)
{
	if (!simmm_pte_present(e) || (unsigned)lvl >= SIMMM_NR_LEVELS)
		return false;
	return lvl == SIMMM_LVL_PTE || (e & SIMMM_E_LEAF);
}

/**
 * simmm_entry_is_table() - a pointer to a next-level table.
 * @e: the entry. @lvl: the level it was read from.
 * Return: true for a hardware-present non-leaf entry above PTE; false for
 * everything else, including any entry at PTE level or a bad @lvl.
 */
static inline bool simmm_entry_is_table(simmm_entry_t e, enum simmm_level lvl)
{
	return lvl > SIMMM_LVL_PTE && (unsigned)lvl < SIMMM_NR_LEVELS &&
	       (e & (SIMMM_E_PRESENT | SIMMM_E_PROTNONE | SIMMM_E_LEAF)) == SIMMM_E_PRESENT;
}

/* ---- present entries ------------------------------------------------------ */

/**
 * simmm_mk_entry() - pfn_pte()/pfn_pmd(): a present entry.
 * @pfn: frame number; at most SIMMM_E_PFN_MAX.
 * @prot: flag bits (SIMMM_PAGE_* or SIMMM_E_*); must contain SIMMM_E_PRESENT
 *        or SIMMM_E_PROTNONE. Bits outside the present flags are ignored.
 * Return: the entry (no leaf bit: add it with simmm_entry_mkleaf() above
 * PTE), or 0 (none) for a pfn above SIMMM_E_PFN_MAX or a @prot that is not
 * present or has SIMMM_E_SWP.
 */
static inline simmm_entry_t simmm_mk_entry(simmm_pfn_t pfn, uint64_t prot)
{
	prot &= SIMMM_E_FLAGS_MASK & ~SIMMM_E_LEAF;
	if (pfn > SIMMM_E_PFN_MAX || !simmm_pte_present(prot) || (prot & SIMMM_E_SWP))
		return 0;
	return pfn << SIMMM_E_PFN_SHIFT | prot;
}

/** simmm_pte_pfn() - pte_pfn(). Return: the pfn of a present entry, else 0. */
static inline simmm_pfn_t simmm_pte_pfn(simmm_entry_t e)
{
	return simmm_pte_present(e) ? e >> SIMMM_E_PFN_SHIFT : 0;
}

/** simmm_pte_flags() - pte_flags(). Return: flag bits of a present entry, else 0. */
static inline uint64_t simmm_pte_flags(simmm_entry_t e)
{
	return simmm_pte_present(e) ? e & SIMMM_E_FLAGS_MASK : 0;
}

/**
 * simmm__pte_set() - (internal) set @bits in a present entry.
 * Return: @e | @bits if @e is present, else @e unchanged.
 */
static inline simmm_entry_t simmm__pte_set(simmm_entry_t e, uint64_t bits)
{
	return simmm_pte_present(e) ? e | bits : e;
}

/**
 * simmm__pte_clr() - (internal) clear @bits in a present entry.
 * Return: @e & ~@bits if @e is present, else @e unchanged.
 */
static inline simmm_entry_t simmm__pte_clr(simmm_entry_t e, uint64_t bits)
{
	return simmm_pte_present(e) ? e & ~bits : e;
}

/**
 * simmm__pte_test() - (internal) test @bit of a present entry.
 * Return: true if @e is present and has @bit.
 */
static inline bool simmm__pte_test(simmm_entry_t e, uint64_t bit)
{
	return simmm_pte_present(e) && (e & bit);
}

/** simmm_pte_write() - pte_write(). Return: true if present and writable. */
static inline bool simmm_pte_write(simmm_entry_t e) { return simmm__pte_test(e, SIMMM_E_WRITE); }
/** simmm_pte_dirty() - pte_dirty(). Return: true if present and dirty. */
static inline bool simmm_pte_dirty(simmm_entry_t e) { return simmm__pte_test(e, SIMMM_E_DIRTY); }
/** simmm_pte_young() - pte_young(). Return: true if present and accessed. */
static inline bool simmm_pte_young(simmm_entry_t e) { return simmm__pte_test(e, SIMMM_E_YOUNG); }
/** simmm_pte_user() - pte_user(). Return: true if present and user-accessible. */
static inline bool simmm_pte_user(simmm_entry_t e) { return simmm__pte_test(e, SIMMM_E_USER); }
/** simmm_pte_exec() - pte_exec(). Return: true if present and executable. */
static inline bool simmm_pte_exec(simmm_entry_t e) { return simmm__pte_test(e, SIMMM_E_EXEC); }
/** simmm_pte_special() - pte_special(). Return: true if present and special. */
static inline bool simmm_pte_special(simmm_entry_t e) { return simmm__pte_test(e, SIMMM_E_SPECIAL); }
/** simmm_pte_devmap() - pte_devmap(). Return: true if present and devmap. */
static inline bool simmm_pte_devmap(simmm_entry_t e) { return simmm__pte_test(e, SIMMM_E_DEVMAP); }
/** simmm_pte_soft_dirty() - pte_soft_dirty(). Return: true if present and soft-dirty. */
static inline bool simmm_pte_soft_dirty(simmm_entry_t e) { return simmm__pte_test(e, SIMMM_E_SOFT_DIRTY); }
/** simmm_pte_uffd_wp() - pte_uffd_wp(). Return: true if present and uffd-wp. */
static inline bool simmm_pte_uffd_wp(simmm_entry_t e) { return simmm__pte_test(e, SIMMM_E_UFFD_WP); }
/** simmm_pte_global() - the x86 G / arm64 !nG bit. Return: true if present and global. */
static inline bool simmm_pte_global(simmm_entry_t e) { return simmm__pte_test(e, SIMMM_E_GLOBAL); }

/** simmm_pte_mkwrite() - pte_mkwrite_novma(). Return: @e writable (present only). */
static inline simmm_entry_t simmm_pte_mkwrite(simmm_entry_t e) { return simmm__pte_set(e, SIMMM_E_WRITE); }
/** simmm_pte_wrprotect() - pte_wrprotect(). Return: @e read-only (present only). */
static inline simmm_entry_t simmm_pte_wrprotect(simmm_entry_t e) { return simmm__pte_clr(e, SIMMM_E_WRITE); }
/** simmm_pte_mkdirty() - pte_mkdirty(); like x86 it also sets soft-dirty. Return: @e dirty. */
static inline simmm_entry_t simmm_pte_mkdirty(simmm_entry_t e)
{
	return simmm__pte_set(e, SIMMM_E_DIRTY | SIMMM_E_SOFT_DIRTY);
}
/** simmm_pte_mkclean() - pte_mkclean(). Return: @e clean (present only). */
static inline simmm_entry_t simmm_pte_mkclean(simmm_entry_t e) { return simmm__pte_clr(e, SIMMM_E_DIRTY); }
/** simmm_pte_mkyoung() - pte_mkyoung(). Return: @e accessed (present only). */
static inline simmm_entry_t simmm_pte_mkyoung(simmm_entry_t e) { return simmm__pte_set(e, SIMMM_E_YOUNG); }
/** simmm_pte_mkold() - pte_mkold(). Return: @e not accessed (present only). */
static inline simmm_entry_t simmm_pte_mkold(simmm_entry_t e) { return simmm__pte_clr(e, SIMMM_E_YOUNG); }
/** simmm_pte_mkexec() - pte_mkexec(). Return: @e executable (present only). */
static inline simmm_entry_t simmm_pte_mkexec(simmm_entry_t e) { return simmm__pte_set(e, SIMMM_E_EXEC); }
/** simmm_pte_mknoexec() - clear exec (x86 sets NX). Return: @e (present only). */
static inline simmm_entry_t simmm_pte_mknoexec(simmm_entry_t e) { return simmm__pte_clr(e, SIMMM_E_EXEC); }
/** simmm_pte_mkuser() - set the user bit. Return: @e (present only). */
static inline simmm_entry_t simmm_pte_mkuser(simmm_entry_t e) { return simmm__pte_set(e, SIMMM_E_USER); }
/** simmm_pte_mkspecial() - pte_mkspecial(). Return: @e special (present only). */
static inline simmm_entry_t simmm_pte_mkspecial(simmm_entry_t e) { return simmm__pte_set(e, SIMMM_E_SPECIAL); }
/** simmm_pte_mkdevmap() - pte_mkdevmap(); sets special too, as x86 does. Return: @e. */
static inline simmm_entry_t simmm_pte_mkdevmap(simmm_entry_t e)
{
	return simmm__pte_set(e, SIMMM_E_DEVMAP | SIMMM_E_SPECIAL);
}
/** simmm_pte_mksoft_dirty() - pte_mksoft_dirty(). Return: @e (present only). */
static inline simmm_entry_t simmm_pte_mksoft_dirty(simmm_entry_t e) { return simmm__pte_set(e, SIMMM_E_SOFT_DIRTY); }
/** simmm_pte_clear_soft_dirty() - pte_clear_soft_dirty(). Return: @e (present only). */
static inline simmm_entry_t simmm_pte_clear_soft_dirty(simmm_entry_t e) { return simmm__pte_clr(e, SIMMM_E_SOFT_DIRTY); }
/** simmm_pte_mkuffd_wp() - pte_mkuffd_wp(); also write-protects, as x86 does. Return: @e. */
static inline simmm_entry_t simmm_pte_mkuffd_wp(simmm_entry_t e)
{
	return simmm_pte_wrprotect(simmm__pte_set(e, SIMMM_E_UFFD_WP));
}
/** simmm_pte_clear_uffd_wp() - pte_clear_uffd_wp(). Return: @e (present only). */
static inline simmm_entry_t simmm_pte_clear_uffd_wp(simmm_entry_t e) { return simmm__pte_clr(e, SIMMM_E_UFFD_WP); }

/**
 * simmm_pte_mkprotnone() - make a present entry PROT_NONE (NUMA hinting):
 * hardware-invalid but still pte_present(), pfn and other bits kept.
 * Return: the PROT_NONE entry; other kinds unchanged.
 */
static inline simmm_entry_t simmm_pte_mkprotnone(simmm_entry_t e)
{
	return simmm_pte_present(e) ? (e & ~SIMMM_E_PRESENT) | SIMMM_E_PROTNONE : e;
}

/**
 * simmm_pte_mkpresent() - undo simmm_pte_mkprotnone().
 * Return: the hardware-valid entry; other kinds unchanged.
 */
static inline simmm_entry_t simmm_pte_mkpresent(simmm_entry_t e)
{
	return simmm_pte_present(e) ? (e & ~SIMMM_E_PROTNONE) | SIMMM_E_PRESENT : e;
}

/**
 * simmm_entry_mkleaf() - pmd_mkhuge()/pud_mkhuge(): mark a present entry a
 * leaf. Only meaningful above PTE (the walker and checker insist).
 * Return: @e with SIMMM_E_LEAF; other kinds unchanged.
 */
static inline simmm_entry_t simmm_entry_mkleaf(simmm_entry_t e) { return simmm__pte_set(e, SIMMM_E_LEAF); }

/** simmm_entry_clrleaf() - drop the leaf bit. Return: @e (present only). */
static inline simmm_entry_t simmm_entry_clrleaf(simmm_entry_t e) { return simmm__pte_clr(e, SIMMM_E_LEAF); }

/**
 * simmm_entry_modify() - pte_modify(): replace the protection of a present
 * entry keeping pfn, dirty, young, soft-dirty, special, devmap, uffd-wp and
 * leaf (the kernel's _PAGE_CHG_MASK idea).
 * @e: the entry. @prot: SIMMM_PAGE_* bits.
 * Return: the new entry; @e unchanged if it is not present or @prot is not.
 */
static inline simmm_entry_t simmm_entry_modify(simmm_entry_t e, uint64_t prot)
{
	const uint64_t keep = ~SIMMM_E_FLAGS_MASK | SIMMM_E_DIRTY | SIMMM_E_YOUNG |
			      SIMMM_E_SOFT_DIRTY | SIMMM_E_SPECIAL | SIMMM_E_DEVMAP |
			      SIMMM_E_UFFD_WP | SIMMM_E_LEAF;
	const uint64_t chg = SIMMM_E_PRESENT | SIMMM_E_PROTNONE | SIMMM_E_WRITE |
			     SIMMM_E_USER | SIMMM_E_EXEC | SIMMM_E_GLOBAL;
	if (!simmm_pte_present(e) || !simmm_pte_present(prot))
		return e;
	return (e & keep) | (prot & chg);
}

/* ---- swap-format entries (swapops.h) ---------------------------------- */

/**
 * simmm_swp_entry() - swp_entry() stored as a swap-format pte.
 * @type: 0..31 (SIMMM_SWP_* or a swap device index).
 * @offset: 0..SIMMM_SWP_OFFSET_MAX.
 * Return: the entry without swap-pte bits, or 0 (none) when @type or
 * @offset is out of range.
 */
static inline simmm_entry_t simmm_swp_entry(unsigned type, uint64_t offset)
{
	if (type >= (1u << SIMMM_SWP_TYPE_BITS) || offset > SIMMM_SWP_OFFSET_MAX)
		return 0;
	return offset << SIMMM_SWP_OFFSET_SHIFT | (uint64_t)type << SIMMM_SWP_TYPE_SHIFT |
	       SIMMM_E_SWP;
}

/** simmm_swp_type() - swp_type(). Return: the type, or 0 for a non-swap entry. */
static inline unsigned simmm_swp_type(simmm_entry_t e)
{
	if (!simmm_is_swap_pte(e))
		return 0;
	return (unsigned)(e >> SIMMM_SWP_TYPE_SHIFT) & ((1u << SIMMM_SWP_TYPE_BITS) - 1);
}

/** simmm_swp_offset() - swp_offset(). Return: the offset, or 0 for a non-swap entry. */
static inline uint64_t simmm_swp_offset(simmm_entry_t e)
{
	return simmm_is_swap_pte(e) ? e >> SIMMM_SWP_OFFSET_SHIFT : 0;
}

/**
 * simmm_pte_to_swp_entry() - pte_to_swp_entry(): strip the swap-pte bits.
 * Return: type/offset only; 0 for a non-swap entry.
 */
static inline simmm_entry_t simmm_pte_to_swp_entry(simmm_entry_t e)
{
	return simmm_is_swap_pte(e) ? e & ~SIMMM_E_SWP_PTE_BITS : 0;
}

/** simmm_non_swap_entry() - non_swap_entry(). Return: true for special types. */
static inline bool simmm_non_swap_entry(simmm_entry_t e)
{
	return simmm_swp_type(e) >= SIMMM_MAX_SWAPFILES;
}

/** simmm_is_real_swap_entry() - a swap-device entry. Return: true if so. */
static inline bool simmm_is_real_swap_entry(simmm_entry_t e)
{
	return simmm_is_swap_pte(e) && !simmm_non_swap_entry(e);
}

/**
 * simmm__swp_type_is() - (internal) a swap-format entry with type in [@lo, @hi].
 * Return: true if so; false for any other entry.
 */
static inline bool simmm__swp_type_is(simmm_entry_t e, unsigned lo, unsigned hi)
{
	unsigned t = simmm_swp_type(e);
	return simmm_is_swap_pte(e) && t >= lo && t <= hi;
}

/**
 * simmm__swp_set() - (internal) set swap-pte @bits.
 * Return: @e | @bits for a swap-format entry, else @e unchanged.
 */
static inline simmm_entry_t simmm__swp_set(simmm_entry_t e, uint64_t bits)
{
	return simmm_is_swap_pte(e) ? e | bits : e;
}

/**
 * simmm__swp_clr() - (internal) clear swap-pte @bits.
 * Return: @e & ~@bits for a swap-format entry, else @e unchanged.
 */
static inline simmm_entry_t simmm__swp_clr(simmm_entry_t e, uint64_t bits)
{
	return simmm_is_swap_pte(e) ? e & ~bits : e;
}

/** simmm_pte_swp_exclusive() - pte_swp_exclusive(). Return: true if set. */
static inline bool simmm_pte_swp_exclusive(simmm_entry_t e)
{
	return simmm_is_swap_pte(e) && (e & SIMMM_E_SWP_EXCLUSIVE);
}
/** simmm_pte_swp_mkexclusive() - pte_swp_mkexclusive(). Return: @e (swap only). */
static inline simmm_entry_t simmm_pte_swp_mkexclusive(simmm_entry_t e) { return simmm__swp_set(e, SIMMM_E_SWP_EXCLUSIVE); }
/** simmm_pte_swp_clear_exclusive() - pte_swp_clear_exclusive(). Return: @e (swap only). */
static inline simmm_entry_t simmm_pte_swp_clear_exclusive(simmm_entry_t e) { return simmm__swp_clr(e, SIMMM_E_SWP_EXCLUSIVE); }
/** simmm_pte_swp_soft_dirty() - pte_swp_soft_dirty(). Return: true if set. */
static inline bool simmm_pte_swp_soft_dirty(simmm_entry_t e)
{
	return simmm_is_swap_pte(e) && (e & SIMMM_E_SWP_SOFT_DIRTY);
}
/** simmm_pte_swp_mksoft_dirty() - pte_swp_mksoft_dirty(). Return: @e (swap only). */
static inline simmm_entry_t simmm_pte_swp_mksoft_dirty(simmm_entry_t e) { return simmm__swp_set(e, SIMMM_E_SWP_SOFT_DIRTY); }
/** simmm_pte_swp_clear_soft_dirty() - pte_swp_clear_soft_dirty(). Return: @e (swap only). */
static inline simmm_entry_t simmm_pte_swp_clear_soft_dirty(simmm_entry_t e) { return simmm__swp_clr(e, SIMMM_E_SWP_SOFT_DIRTY); }
/** simmm_pte_swp_uffd_wp() - pte_swp_uffd_wp(). Return: true if set. */
static inline bool simmm_pte_swp_uffd_wp(simmm_entry_t e)
{
	return simmm_is_swap_pte(e) && (e & SIMMM_E_SWP_UFFD_WP);
}
/** simmm_pte_swp_mkuffd_wp() - pte_swp_mkuffd_wp(). Return: @e (swap only). */
static inline simmm_entry_t simmm_pte_swp_mkuffd_wp(simmm_entry_t e) { return simmm__swp_set(e, SIMMM_E_SWP_UFFD_WP); }
/** simmm_pte_swp_clear_uffd_wp() - pte_swp_clear_uffd_wp(). Return: @e (swap only). */
static inline simmm_entry_t simmm_pte_swp_clear_uffd_wp(simmm_entry_t e) { return simmm__swp_clr(e, SIMMM_E_SWP_UFFD_WP); }

/**
 * simmm__pfn_swp() - (internal) a pfn-carrying swap entry of @type.
 * Return: the entry, or 0 (none) if @pfn exceeds SIMMM_SWP_PFN_MASK.
 */
static inline simmm_entry_t simmm__pfn_swp(unsigned type, simmm_pfn_t pfn)
{
	return pfn > SIMMM_SWP_PFN_MASK ? 0 : simmm_swp_entry(type, pfn);
}

/** simmm_make_readable_migration_entry() - Return: the entry, 0 if @pfn is too big. */
static inline simmm_entry_t simmm_make_readable_migration_entry(simmm_pfn_t pfn)
{
	return simmm__pfn_swp(SIMMM_SWP_MIGRATION_READ, pfn);
}
/** simmm_make_readable_exclusive_migration_entry() - Return: the entry, 0 if @pfn is too big. */
static inline simmm_entry_t simmm_make_readable_exclusive_migration_entry(simmm_pfn_t pfn)
{
	return simmm__pfn_swp(SIMMM_SWP_MIGRATION_READ_EXCLUSIVE, pfn);
}
/** simmm_make_writable_migration_entry() - Return: the entry, 0 if @pfn is too big. */
static inline simmm_entry_t simmm_make_writable_migration_entry(simmm_pfn_t pfn)
{
	return simmm__pfn_swp(SIMMM_SWP_MIGRATION_WRITE, pfn);
}
/** simmm_is_migration_entry() - is_migration_entry(). Return: true for any of the 3. */
static inline bool simmm_is_migration_entry(simmm_entry_t e)
{
	return simmm__swp_type_is(e, SIMMM_SWP_MIGRATION_READ, SIMMM_SWP_MIGRATION_WRITE);
}
/** simmm_is_readable_migration_entry() - Return: true for a read migration entry. */
static inline bool simmm_is_readable_migration_entry(simmm_entry_t e)
{
	return simmm__swp_type_is(e, SIMMM_SWP_MIGRATION_READ, SIMMM_SWP_MIGRATION_READ);
}
/** simmm_is_readable_exclusive_migration_entry() - Return: true for that type. */
static inline bool simmm_is_readable_exclusive_migration_entry(simmm_entry_t e)
{
	return simmm__swp_type_is(e, SIMMM_SWP_MIGRATION_READ_EXCLUSIVE,
				  SIMMM_SWP_MIGRATION_READ_EXCLUSIVE);
}
/** simmm_is_writable_migration_entry() - Return: true for a write migration entry. */
static inline bool simmm_is_writable_migration_entry(simmm_entry_t e)
{
	return simmm__swp_type_is(e, SIMMM_SWP_MIGRATION_WRITE, SIMMM_SWP_MIGRATION_WRITE);
}
/** simmm_make_migration_entry_young() - keep pte young. Return: @e (migration only). */
static inline simmm_entry_t simmm_make_migration_entry_young(simmm_entry_t e)
{
	return simmm_is_migration_entry(e) ? e | SIMMM_SWP_MIG_YOUNG << SIMMM_SWP_OFFSET_SHIFT : e;
}
/** simmm_is_migration_entry_young() - Return: true if the young bit is kept. */
static inline bool simmm_is_migration_entry_young(simmm_entry_t e)
{
	return simmm_is_migration_entry(e) && (simmm_swp_offset(e) & SIMMM_SWP_MIG_YOUNG);
}
/** simmm_make_migration_entry_dirty() - keep pte dirty. Return: @e (migration only). */
static inline simmm_entry_t simmm_make_migration_entry_dirty(simmm_entry_t e)
{
	return simmm_is_migration_entry(e) ? e | SIMMM_SWP_MIG_DIRTY << SIMMM_SWP_OFFSET_SHIFT : e;
}
/** simmm_is_migration_entry_dirty() - Return: true if the dirty bit is kept. */
static inline bool simmm_is_migration_entry_dirty(simmm_entry_t e)
{
	return simmm_is_migration_entry(e) && (simmm_swp_offset(e) & SIMMM_SWP_MIG_DIRTY);
}

/** simmm_make_readable_device_private_entry() - Return: the entry, 0 if @pfn is too big. */
static inline simmm_entry_t simmm_make_readable_device_private_entry(simmm_pfn_t pfn)
{
	return simmm__pfn_swp(SIMMM_SWP_DEVICE_READ, pfn);
}
/** simmm_make_writable_device_private_entry() - Return: the entry, 0 if @pfn is too big. */
static inline simmm_entry_t simmm_make_writable_device_private_entry(simmm_pfn_t pfn)
{
	return simmm__pfn_swp(SIMMM_SWP_DEVICE_WRITE, pfn);
}
/** simmm_is_device_private_entry() - Return: true for device-private read or write. */
static inline bool simmm_is_device_private_entry(simmm_entry_t e)
{
	return simmm__swp_type_is(e, SIMMM_SWP_DEVICE_WRITE, SIMMM_SWP_DEVICE_READ);
}
/** simmm_is_writable_device_private_entry() - Return: true for device-private write. */
static inline bool simmm_is_writable_device_private_entry(simmm_entry_t e)
{
	return simmm__swp_type_is(e, SIMMM_SWP_DEVICE_WRITE, SIMMM_SWP_DEVICE_WRITE);
}
/** simmm_make_device_exclusive_entry() - Return: the entry, 0 if @pfn is too big. */
static inline simmm_entry_t simmm_make_device_exclusive_entry(simmm_pfn_t pfn)
{
	return simmm__pfn_swp(SIMMM_SWP_DEVICE_EXCLUSIVE, pfn);
}
/** simmm_is_device_exclusive_entry() - Return: true for a device-exclusive entry. */
static inline bool simmm_is_device_exclusive_entry(simmm_entry_t e)
{
	return simmm__swp_type_is(e, SIMMM_SWP_DEVICE_EXCLUSIVE, SIMMM_SWP_DEVICE_EXCLUSIVE);
}
/** simmm_make_hwpoison_entry() - Return: the entry, 0 if @pfn is too big. */
static inline simmm_entry_t simmm_make_hwpoison_entry(simmm_pfn_t pfn)
{
	return simmm__pfn_swp(SIMMM_SWP_HWPOISON, pfn);
}
/** simmm_is_hwpoison_entry() - Return: true for a hwpoison entry. */
static inline bool simmm_is_hwpoison_entry(simmm_entry_t e)
{
	return simmm__swp_type_is(e, SIMMM_SWP_HWPOISON, SIMMM_SWP_HWPOISON);
}

/**
 * simmm_make_pte_marker() - make_pte_marker_entry().
 * @marker: SIMMM_PTE_MARKER_* bits, not 0.
 * Return: the entry, or 0 (none) for 0 or unknown bits.
 */
static inline simmm_entry_t simmm_make_pte_marker(uint64_t marker)
{
	if (!marker || (marker & ~SIMMM_PTE_MARKER_MASK))
		return 0;
	return simmm_swp_entry(SIMMM_SWP_PTE_MARKER, marker);
}
/** simmm_is_pte_marker() - is_pte_marker(). Return: true for a marker entry. */
static inline bool simmm_is_pte_marker(simmm_entry_t e)
{
	return simmm__swp_type_is(e, SIMMM_SWP_PTE_MARKER, SIMMM_SWP_PTE_MARKER);
}
/** simmm_pte_marker_get() - pte_marker_get(). Return: the marker bits, 0 if not a marker. */
static inline uint64_t simmm_pte_marker_get(simmm_entry_t e)
{
	return simmm_is_pte_marker(e) ? simmm_swp_offset(e) & SIMMM_PTE_MARKER_MASK : 0;
}
/** simmm_make_poisoned_swp_entry() - a POISONED marker. Return: the entry. */
static inline simmm_entry_t simmm_make_poisoned_swp_entry(void)
{
	return simmm_make_pte_marker(SIMMM_PTE_MARKER_POISONED);
}
/** simmm_is_poisoned_swp_entry() - Return: true for a marker with POISONED. */
static inline bool simmm_is_poisoned_swp_entry(simmm_entry_t e)
{
	return (simmm_pte_marker_get(e) & SIMMM_PTE_MARKER_POISONED) != 0;
}
/** simmm_make_guard_swp_entry() - a GUARD marker (MADV_GUARD_INSTALL). Return: the entry. */
static inline simmm_entry_t simmm_make_guard_swp_entry(void)
{
	return simmm_make_pte_marker(SIMMM_PTE_MARKER_GUARD);
}
/** simmm_is_guard_swp_entry() - Return: true for a marker with GUARD. */
static inline bool simmm_is_guard_swp_entry(simmm_entry_t e)
{
	return (simmm_pte_marker_get(e) & SIMMM_PTE_MARKER_GUARD) != 0;
}
/**
 * simmm_pte_none_mostly() - pte_none_mostly(): none or a marker entry.
 * Return: true if a fault would treat the slot as unpopulated.
 */
static inline bool simmm_pte_none_mostly(simmm_entry_t e)
{
	return simmm_entry_none(e) || simmm_is_pte_marker(e);
}

/**
 * simmm_is_pfn_swap_entry() - is_pfn_swap_entry(): migration, device-private,
 * device-exclusive or hwpoison. Return: true if the offset holds a pfn.
 */
static inline bool simmm_is_pfn_swap_entry(simmm_entry_t e)
{
	return simmm__swp_type_is(e, SIMMM_SWP_HWPOISON, SIMMM_SWP_DEVICE_EXCLUSIVE);
}

/**
 * simmm_swp_offset_pfn() - swp_offset_pfn(): the pfn of a pfn-carrying
 * entry, without the migration young/dirty bits.
 * Return: the pfn; 0 for any other entry.
 */
static inline simmm_pfn_t simmm_swp_offset_pfn(simmm_entry_t e)
{
	return simmm_is_pfn_swap_entry(e) ? simmm_swp_offset(e) & SIMMM_SWP_PFN_MASK : 0;
}

/**
 * simmm_entry_pfn() - the frame an entry refers to: the pfn of a present
 * entry or of a pfn-carrying swap entry.
 * Return: true and *@pfn set, or false (none, swap device, marker).
 */
static inline bool simmm_entry_pfn(simmm_entry_t e, simmm_pfn_t *pfn)
{
	if (simmm_pte_present(e)) {
		*pfn = simmm_pte_pfn(e);
		return true;
	}
	if (simmm_is_pfn_swap_entry(e)) {
		*pfn = simmm_swp_offset_pfn(e);
		return true;
	}
	return false;
}

/* ---- per-architecture view ------------------------------------------------ */

/**
 * struct simmm_arch_view - an entry as hardware of @arch would hold it.
 * @arch: which family filled the struct (GENERIC gives only @valid/@pa).
 * @raw: the hardware descriptor value (0 for an invalid entry: swap and
 *       marker encodings are software-defined and not modelled per arch).
 * @valid: hardware would use the entry (x86 P, arm64 bit 0, RISC-V V).
 * @leaf: maps memory (not a table pointer).
 * @pa: output address (frame or next table), 0 when invalid.
 * @x86: P, RW, US, A, D, PS, G, NX.
 * @arm64: valid, @table (bit 1: table/page = 1, block = 0), @ap (AP[2:1]:
 *         bit 1 = read-only, bit 0 = EL0 access), AF, nG, DBM, PXN, UXN.
 * @riscv: V, R, W, X, U, G, A, D and the PPN.
 */
struct simmm_arch_view {
	enum simmm_arch arch;
	uint64_t raw;
	bool valid;
	bool leaf;
	uint64_t pa;
	struct { bool p, rw, us, a, d, ps, g, nx; } x86;
	struct { bool valid, table; unsigned ap; bool af, ng, dbm, pxn, uxn; } arm64;
	struct { bool v, r, w, x, u, g, a, d; uint64_t ppn; } riscv;
};

/**
 * simmm_entry_arch_view() - decode @e into @g's hardware format.
 * @g: geometry (its @arch, page shift and PA width are used).
 * @lvl: the level the entry was read from (leaf vs table encodings differ).
 * @e: the entry.
 * @out: filled on success.
 *
 * Follows what Linux writes: arm64 keeps writable-clean entries read-only
 * with DBM set (PTE_WRITE == PTE_DBM, PTE_RDONLY until dirty), user entries
 * are PXN; x86 NX is !exec; RISC-V table pointers have R=W=X=0.
 *
 * Context: any; pure function.
 * Return: 0; -EINVAL for NULL @g/@out or a bad @lvl.
 */
SIMMM_API int simmm_entry_arch_view(const struct simmm_geometry *g, enum simmm_level lvl,
				    simmm_entry_t e, struct simmm_arch_view *out);

/**
 * simmm_entry_format() - describe an entry in one line of text: its kind
 * and generic fields, then the hardware view of @g's architecture, e.g.
 * "leaf pfn=0x1234 W U A D | x86 P RW US A D NX pa=0x1234000".
 * @g, @lvl, @e: as simmm_entry_arch_view().
 * @buf, @len: output (always NUL-terminated when @len > 0).
 *
 * Context: any; pure function.
 * Return: as snprintf (the length the full text needs); -EINVAL for NULL
 * @g, a NULL @buf with @len > 0, or a bad @lvl.
 */
SIMMM_API int simmm_entry_format(const struct simmm_geometry *g, enum simmm_level lvl,
				 simmm_entry_t e, char *buf, size_t len);

/* ---- the page-table object ------------------------------------------------ */

struct simmm_pgtable;

/**
 * typedef simmm_pt_clear_fn - told about each entry a teardown clears.
 * @arg: the caller's argument.
 * @addr: first address the entry mapped.
 * @lvl: its level (a leaf above PTE maps the level's size).
 * @old: the entry (present leaf or swap-format), already cleared.
 *
 * Upper layers drop the references and mapcounts the entry held (this
 * layer never puts pages). Must not call back into the page table.
 */
typedef void (*simmm_pt_clear_fn)(void *arg, simmm_addr_t addr, enum simmm_level lvl,
				  simmm_entry_t old);

/**
 * simmm_pgtable_create() - pgd_alloc(): an empty page table with its root.
 * @sim: the simulated machine.
 * @out: receives the table; NULL on failure.
 *
 * Registers the "pgtable" invariant checker with @sim.
 * Context: the machine's thread.
 * Return: 0; -EINVAL for NULL or dead @sim or NULL @out; -ENOMEM when the
 * root table or metadata cannot be allocated (nothing changes).
 */
SIMMM_API int simmm_pgtable_create(simmm_sim *sim, struct simmm_pgtable **out);

/**
 * simmm_pgtable_destroy() - tear everything down and free the table.
 * @ptp: pointer to the table pointer, set to NULL.
 * @fn: called for each non-none leaf cleared (may be NULL).
 * @arg: passed to @fn.
 *
 * Context: the machine's thread.
 * Return: 0; -EINVAL for NULL @ptp or *@ptp.
 */
SIMMM_API int simmm_pgtable_destroy(struct simmm_pgtable **ptp, simmm_pt_clear_fn fn, void *arg);

/** simmm_pgtable_sim() - the machine a table belongs to. Return: it, or NULL for NULL. */
SIMMM_API simmm_sim *simmm_pgtable_sim(const struct simmm_pgtable *pt);

/**
 * simmm_pgtable_nr_tables() - table pages in use, the root included.
 * Return: the count; 0 for NULL.
 */
SIMMM_API uint64_t simmm_pgtable_nr_tables(const struct simmm_pgtable *pt);

/**
 * simmm_level_size() - bytes one entry of @lvl maps (PMD_SIZE, ...).
 * Return: the size; 0 for NULL @pt or a bad @lvl.
 */
SIMMM_API uint64_t simmm_level_size(const struct simmm_pgtable *pt, enum simmm_level lvl);

/**
 * simmm_level_can_leaf() - may a leaf live at @lvl in this geometry?
 * Folded levels answer for the real table that holds them (arm64 39-bit:
 * PUD yes, through its level-1 blocks).
 * Return: true or false (false for NULL @pt or a bad @lvl).
 */
SIMMM_API bool simmm_level_can_leaf(const struct simmm_pgtable *pt, enum simmm_level lvl);

/**
 * simmm_pgtable_lookup() - pte_offset_map()-like: find the slot of @lvl
 * for @addr without allocating.
 * @pt: the table. @addr: any address in the entry's range.
 * @lvl: a kernel level; a folded one resolves to the real table holding it.
 * @slot: receives a pointer to the entry (valid until the next mutation).
 *
 * Writing through @slot bypasses pt_live accounting: use simmm_pgtable_set().
 * Context: the machine's thread.
 * Return: 0; -ENOENT when a table on the way is missing; -EEXIST when a
 * leaf or swap-format entry above @lvl covers @addr; -EUCLEAN for an entry
 * that is neither (a corrupt table); -EINVAL/-EFAULT for a bad address (see
 * DOC), a bad @lvl or NULL arguments.
 */
SIMMM_API int simmm_pgtable_lookup(struct simmm_pgtable *pt, simmm_addr_t addr,
				   enum simmm_level lvl, simmm_entry_t **slot);

/**
 * simmm_pgtable_alloc_level() - pud_alloc()/pmd_alloc()/pte_alloc(): like
 * simmm_pgtable_lookup() but allocates the missing tables down to @lvl.
 * @slot: receives the slot (may be NULL to only allocate).
 *
 * All missing tables are allocated before any is linked, so -ENOMEM leaves
 * the table as it was.
 * Context: the machine's thread.
 * Return: 0; -ENOMEM; -EEXIST when a leaf or swap-format entry above @lvl
 * covers @addr; -EUCLEAN for a corrupt entry on the way; -EINVAL/-EFAULT for
 * a bad address, bad @lvl or NULL @pt.
 */
SIMMM_API int simmm_pgtable_alloc_level(struct simmm_pgtable *pt, simmm_addr_t addr,
					enum simmm_level lvl, simmm_entry_t **slot);

/**
 * simmm_pgtable_set() - set_pte_at()/set_pmd_at(): store a leaf, swap-format
 * entry or none at @lvl, allocating tables on the way.
 * @addr: aligned to the size of @lvl.
 * @e: a present entry (SIMMM_E_LEAF required above PTE, forbidden at PTE),
 *     a swap-format entry, or 0.
 *
 * The old entry, if any, is overwritten (the caller owns its references).
 * Traces SIMMM_EV_PT_SET (or SIMMM_EV_PT_CLEAR for @e == 0).
 * Context: the machine's thread.
 * Return: 0; -EINVAL for a misaligned @addr, a bad @lvl, a leaf at a level
 * that cannot hold leaves, a present @e with the wrong leaf bit, or an @e
 * with unknown bits; -EEXIST when @lvl's slot holds a table pointer or a
 * leaf above covers @addr; -ENOMEM (nothing changed); -EUCLEAN; -EFAULT.
 */
SIMMM_API int simmm_pgtable_set(struct simmm_pgtable *pt, simmm_addr_t addr,
				enum simmm_level lvl, simmm_entry_t e);

/**
 * simmm_pgtable_clear() - ptep_get_and_clear(): clear the entry at @lvl.
 * @old: receives the previous entry (0 if it was none); may be NULL.
 *
 * Tables are not freed (free_pgtables() happens at teardown).
 * Context: the machine's thread.
 * Return: 0 (also when nothing was mapped: *@old = 0); -EISDIR when the
 * slot holds a table pointer; -EEXIST when a leaf above covers @addr;
 * -EINVAL/-EFAULT for bad arguments; -EUCLEAN for a corrupt path.
 */
SIMMM_API int simmm_pgtable_clear(struct simmm_pgtable *pt, simmm_addr_t addr,
				  enum simmm_level lvl, simmm_entry_t *old);

/**
 * struct simmm_translation - result of simmm_pgtable_translate().
 * @entry: the leaf (present or swap-format) entry found, or 0.
 * @level: where the walk stopped (the leaf's level, or the level whose
 *         entry was none).
 * @pfn: for a present leaf (PROT_NONE included), the frame holding @addr
 *       (the leaf's pfn plus the page offset inside a huge leaf); else 0.
 * @present: @entry is pte_present() (PROT_NONE included).
 * @write, @user, @exec: effective permissions: a right is granted only if
 *       the leaf and every table entry above it grant it (x86 semantics for
 *       RW/US/NX at table level; arm64 APTable/XNTable behave alike).
 *       All false for non-present and PROT_NONE leaves.
 */
struct simmm_translation {
	simmm_entry_t entry;
	enum simmm_level level;
	simmm_pfn_t pfn;
	bool present;
	bool write, user, exec;
};

/**
 * simmm_pgtable_translate() - walk the tables for one address.
 * @addr: any (not necessarily aligned) user address.
 * @out: filled (also on -ENOENT, with @level of the none entry).
 *
 * Context: the machine's thread.
 * Return: 0 when a leaf (present or swap-format) maps @addr; -ENOENT when
 * nothing does; -EUCLEAN for a corrupt entry; -EINVAL for NULL arguments or
 * a non-canonical @addr; -EFAULT for an address outside the user half.
 */
SIMMM_API int simmm_pgtable_translate(struct simmm_pgtable *pt, simmm_addr_t addr,
				      struct simmm_translation *out);

/**
 * simmm_pgtable_split() - __split_huge_pmd()/pud(): replace the leaf at @lvl
 * covering @addr by a table of next-level entries mapping the same frames
 * with the same flags (consecutive pfns). A pfn-carrying swap-format leaf
 * (a PMD migration entry) splits into entries with consecutive offsets, as
 * the kernel does. The new table is allocated before anything changes.
 * Traces SIMMM_EV_PT_ALLOC and SIMMM_EV_PT_SPLIT.
 * @addr: any address inside the leaf.
 *
 * Context: the machine's thread.
 * Return: 0; -ENOENT when there is no leaf at @lvl for @addr; -EINVAL for a
 * bad @lvl (PTE, or a level that cannot hold leaves), a swap-format leaf
 * that carries no pfn, or bad address; -EOPNOTSUPP when the level below
 * cannot hold leaves (custom geometries); -ENOMEM (nothing changed);
 * -EUCLEAN; -EFAULT.
 */
SIMMM_API int simmm_pgtable_split(struct simmm_pgtable *pt, simmm_addr_t addr,
				  enum simmm_level lvl);

/**
 * simmm_pgtable_collapse() - the page-table half of khugepaged's collapse:
 * replace the table under @lvl's entry for @addr by one leaf, when the
 * table is full of present leaves with identical flags and consecutive
 * pfns starting at a pfn aligned to the leaf size. Frees the table.
 * Traces SIMMM_EV_PT_COLLAPSE and SIMMM_EV_PT_FREE.
 *
 * Context: the machine's thread.
 * Return: 0; -ENOENT when @lvl's entry is none or missing; -EEXIST when it
 * is already a leaf; -EBUSY when the table below is not collapsible;
 * -EINVAL when @lvl cannot hold leaves or for bad arguments; -EUCLEAN;
 * -EFAULT.
 */
SIMMM_API int simmm_pgtable_collapse(struct simmm_pgtable *pt, simmm_addr_t addr,
				     enum simmm_level lvl);

/**
 * simmm_pgtable_teardown() - zap_page_range() + free_pgtables(): clear every
 * entry in [@start, @end) and free the tables that are empty afterwards
 * (the root is kept). A leaf straddling @start or @end is split first (the
 * tables needed are allocated before anything changes).
 * @fn: called for each non-none leaf cleared (may be NULL); pages are not
 *      put by this layer.
 * @arg: passed to @fn.
 *
 * Context: the machine's thread.
 * Return: 0; -ENOMEM (nothing changed); -EINVAL/-EFAULT for a bad range.
 * Corrupt entries met are reported (SIMMM_REPORT_WARN) and left alone.
 */
SIMMM_API int simmm_pgtable_teardown(struct simmm_pgtable *pt, simmm_addr_t start,
				     simmm_addr_t end, simmm_pt_clear_fn fn, void *arg);

/**
 * simmm_pgtable_fill() - bulk-map [@start, @end) with leaves at @lvl: entry
 * i gets @proto's flags and pfn + i * (pages per @lvl entry). For building
 * large populated ranges quickly in tests and benchmarks.
 * @start, @end: aligned to the size of @lvl.
 * @proto: a present entry with the leaf bit set as @lvl requires; its pfn
 *         is the first frame. The frames are not referenced.
 *
 * Context: the machine's thread.
 * Return: 0; -EEXIST when any slot in the range is not none (checked
 * first, nothing changes); -ENOMEM (what was filled is torn down again and
 * the tables it allocated freed); -EINVAL for a bad @proto, @lvl, a pfn
 * overflow or bad range; -EFAULT.
 */
SIMMM_API int simmm_pgtable_fill(struct simmm_pgtable *pt, simmm_addr_t start,
				 simmm_addr_t end, enum simmm_level lvl, simmm_entry_t proto);

/**
 * simmm_pgtable_dump() - a text dump of the tables and leaves in
 * [@start, @end): one line per table entry and per non-none leaf, indented
 * by level, with level names and the architecture view of each entry.
 * @buf, @len: output, NUL-terminated when @len > 0 (truncated if small).
 *
 * Context: the machine's thread. Read-only.
 * Return: the length of the full dump (as snprintf); -EINVAL/-EFAULT for
 * bad arguments or range.
 */
SIMMM_API long simmm_pgtable_dump(struct simmm_pgtable *pt, simmm_addr_t start,
				  simmm_addr_t end, char *buf, size_t len);

/* ---- the range walker (mm/pagewalk.c) ------------------------------------ */

/**
 * enum simmm_walk_action - what the walker does after an entry callback.
 * @SIMMM_WALK_SUBTREE: descend into the entry if it is a table and a
 *                      lower-level callback exists (the default).
 * @SIMMM_WALK_CONTINUE: do not descend; go to the next entry.
 * @SIMMM_WALK_AGAIN: re-read the entry and call the callbacks again (the
 *                    callback changed it, or split its leaf into a table,
 *                    which the walk then descends into). Bounded: after 64
 *                    AGAINs in a row on one entry the walk fails with -ELOOP.
 */
enum simmm_walk_action {
	SIMMM_WALK_SUBTREE = 0,
	SIMMM_WALK_CONTINUE,
	SIMMM_WALK_AGAIN,
};

struct simmm_walk;

/**
 * typedef simmm_walk_entry_fn - a per-level entry callback.
 * @entry: the slot (in a real table; folded levels see the slot of the
 *         real table above them, as in the kernel).
 * @addr, @next: the part of the walked range this entry covers.
 * @walk: the walk; @walk->private is the caller's state.
 *
 * Return: the walker protocol (see simmm_walk_range()).
 */
typedef int (*simmm_walk_entry_fn)(simmm_entry_t *entry, simmm_addr_t addr,
				   simmm_addr_t next, struct simmm_walk *walk);

/**
 * struct simmm_walk_ops - callbacks of a walk, like struct mm_walk_ops.
 * @pgd_entry, @p4d_entry, @pud_entry, @pmd_entry: called for every non-none
 *     entry of the level: table pointers, leaves (the huge-leaf path: a PMD
 *     or PUD leaf reaches @pmd_entry/@pud_entry and is never descended) and
 *     swap-format entries (PMD migration entries). For an entry of a real
 *     table, the callbacks of the levels folded beneath it are called too,
 *     top down, on the same slot (kernel folding).
 * @pte_entry: called for every slot of each PTE table reached, none
 *     included (as walk_pte_range() does).
 * @pte_hole: called for each none entry above PTE level, with depth 0 (PGD)
 *     .. 3 (PMD) of the lowest level folded into that table (so x86 4-level
 *     reports top-level holes at depth 1, like p4d_none() would).
 * @bad_entry: called (pmd_bad()) for an entry the walker cannot interpret:
 *     a leaf at a level that cannot hold leaves, or a table pointer whose
 *     pfn is not a table page of this table at the right level. The entry
 *     is then skipped. When NULL, @pte_hole is called instead, and the
 *     entry is skipped silently if that is NULL too.
 * @test_walk: called once before the walk (like test_walk() for the one
 *     "VMA" that is the range): 0 walk, 1 skip (the walk returns 0), <0
 *     abort with that error.
 * @pte_skip_none: @pte_entry is not called for none slots (simmm's fast
 *     path for walkers that ignore them: the scan of a table costs one load
 *     per none slot instead of a call; the kernel has no such flag).
 *
 * A walk descends into a table only if a callback exists for a level that
 * table serves or a lower one: cost follows the tables visited.
 */
struct simmm_walk_ops {
	simmm_walk_entry_fn pgd_entry;
	simmm_walk_entry_fn p4d_entry;
	simmm_walk_entry_fn pud_entry;
	simmm_walk_entry_fn pmd_entry;
	simmm_walk_entry_fn pte_entry;
	int (*pte_hole)(simmm_addr_t addr, simmm_addr_t next, int depth,
			struct simmm_walk *walk);
	int (*bad_entry)(simmm_entry_t *entry, simmm_addr_t addr, simmm_addr_t next,
			 int depth, struct simmm_walk *walk);
	int (*test_walk)(simmm_addr_t start, simmm_addr_t end, struct simmm_walk *walk);
	bool pte_skip_none;
};

/**
 * struct simmm_walk - the state of one walk, passed to every callback.
 * @ops: the callbacks.
 * @pt: the table walked.
 * @private: the caller's state.
 * @action: set by entry callbacks, see enum simmm_walk_action; reset to
 *          SIMMM_WALK_SUBTREE before each call.
 * @level: the kernel level of the entry being visited.
 * @table: (internal) the table page of that entry, for simmm_walk_update().
 */
struct simmm_walk {
	const struct simmm_walk_ops *ops;
	struct simmm_pgtable *pt;
	void *private;
	enum simmm_walk_action action;
	enum simmm_level level;
	void *table;
};

/**
 * simmm_walk_range() - walk_page_range(): visit [@start, @end) of @pt.
 * @start, @end: page-aligned range of user addresses.
 * @ops: the callbacks (NULL members are skipped).
 * @private: stored in the &struct simmm_walk handed to callbacks.
 *
 * The return protocol of every callback, and of the walk: 0 continue; a
 * positive value stops the walk and is returned to the caller unchanged
 * (caller-defined meaning); a negative errno stops the walk and is
 * returned. Absent subtrees are skipped at every level, so an empty range
 * costs one look at each populated top-level slot. The walker allocates
 * nothing. Callbacks may change the entry they are given only through
 * simmm_walk_update(), or, above PTE level, replace a leaf they are given
 * by a table of the level below (simmm_pgtable_split(), as copy_huge_pmd()
 * splits a pinned THP for copy_pmd_range() to copy as ptes) and ask for
 * SIMMM_WALK_AGAIN, so that the walk reads the table and descends into it;
 * they must not otherwise mutate @pt.
 *
 * Context: the machine's thread.
 * Return: 0 when the range was walked; a callback's non-zero value; -ELOOP
 * (see SIMMM_WALK_AGAIN); -EINVAL for NULL @pt/@ops or a bad range (see
 * DOC); -EFAULT for a range outside the user half.
 */
SIMMM_API int simmm_walk_range(struct simmm_pgtable *pt, simmm_addr_t start, simmm_addr_t end,
			       const struct simmm_walk_ops *ops, void *private);

/**
 * simmm_walk_update() - set_pte_at() from inside a walk callback: replace
 * the entry being visited, keeping pt_live exact and tracing.
 * @walk: the walk. @entry: the slot the callback was given.
 * @e: a leaf or swap-format entry for @walk->level, or 0.
 *
 * Context: inside a simmm_walk_range() entry callback.
 * Return: 0; -EINVAL for NULL arguments, a slot outside the current table,
 * or an entry invalid for the level (see simmm_pgtable_set()); -EISDIR when
 * the slot holds a table pointer (use CONTINUE and simmm_pgtable_* after
 * the walk).
 */
SIMMM_API int simmm_walk_update(struct simmm_walk *walk, simmm_entry_t *entry, simmm_entry_t e);

#ifdef __cplusplus
}
#endif
#endif
