/* SPDX-License-Identifier: MIT */
/*
 * Page-table internals: the table object, per-real-level geometry
 * precomputed at create, and the hot inline helpers shared by the walker,
 * mutation, teardown and checker code.
 *
 * Invariants (checked by pt_check(), registered as the "pgtable" checker):
 *  - Every table page is a PG_table frame with mapping == the pgtable,
 *    pt_level == the kernel level of its entries (the real level, "hi"),
 *    index == the first address it covers, and u.pt_live == the number of
 *    non-none entries in it.
 *  - A present entry above PTE is either a table pointer (no leaf bit) to
 *    such a page of the next real level, or a leaf (leaf bit) at a real
 *    level that may hold leaves. PTE entries never carry the leaf bit.
 *  - Swap-format entries above PTE only at leaf-capable levels (PMD
 *    migration entries).
 *  - nr_tables == table pages reachable from the root, root included, plus
 *    nr_deposited, the tables on deposit lists (deposit.c): a PMD table's
 *    pt_deposit heads a list of empty PTE-level tables of this pgtable,
 *    linked through their pt_deposit; no other table has one.
 *  - A table is freed with no deposits (a WARN otherwise, as the kernel's
 *    pagetable_pmd_dtor() checks pmd_huge_pte).
 *  - A present (non-special) leaf or pfn-carrying swap entry whose pfn is
 *    RAM refers to an allocated frame, never a free or table frame.
 *
 * Real levels are numbered r = 0 (the root) .. nreal-1 (PTE). Real level r
 * serves kernel levels hi (itself) down to lo (the lowest level folded
 * into it): x86 4-level's root has hi = PGD, lo = P4D. A leaf there is,
 * for the kernel, a leaf of lo (arm64 39-bit's root blocks are PUD leaves).
 */
#ifndef SIMMM_PGTABLE_PT_H
#define SIMMM_PGTABLE_PT_H

#include <simmm/pgtable.h>

#include "core/internal.h"
#include "page/page.h"

#define PT_MAX_REAL 5

/* One real level, top = 0. */
struct pt_level {
	uint8_t hi, lo;     /* kernel levels served (hi >= lo) */
	uint8_t shift;      /* log2 bytes per entry */
	uint8_t depth;      /* pte_hole depth: PGD (4) - lo */
	bool leaf;          /* entries may be leaves */
	uint32_t nent;      /* entries per table */
	uint64_t mask;      /* nent - 1 */
	uint64_t size;      /* bytes per entry */
};

struct simmm_pgtable {
	simmm_sim *sim;
	struct simmm_page *root;
	unsigned nreal;
	struct pt_level lv[PT_MAX_REAL];
	int8_t real_of[SIMMM_NR_LEVELS]; /* kernel level -> real level */
	uint8_t page_shift;
	uint64_t va_end;                 /* user_va_end */
	uint64_t nr_tables;              /* linked and deposited */
	uint64_t nr_deposited;           /* on PMD tables' deposit lists */
};

/* A slot found by pt_locate(): the table page, index and real level. */
struct pt_loc {
	struct simmm_page *table;
	uint64_t *slot;
	unsigned r;
	simmm_addr_t base;  /* first address of the slot's entry */
};

static SIMMM_ALWAYS_INLINE uint64_t *pt_ents(struct simmm_page *tbl)
{
	return (uint64_t *)tbl->data;
}

static SIMMM_ALWAYS_INLINE unsigned pt_index(const struct simmm_pgtable *pt, unsigned r,
					     simmm_addr_t a)
{
	return (unsigned)((a >> pt->lv[r].shift) & pt->lv[r].mask);
}

/* pmd_addr_end(): the end of @a's entry at level r, clamped to @end. The
 * "- 1" comparison is the kernel's trick to stay right when the boundary
 * wraps to 0 at the top of the address space. */
static inline simmm_addr_t pt_addr_end(const struct simmm_pgtable *pt, unsigned r,
				       simmm_addr_t a, simmm_addr_t end)
{
	simmm_addr_t b = (a + pt->lv[r].size) & ~(pt->lv[r].size - 1);
	return b - 1 < end - 1 ? b : end;
}

static inline bool pt_is_bottom(const struct simmm_pgtable *pt, unsigned r)
{
	return r + 1 == pt->nreal;
}

/* The kernel level a leaf of real level r is, for callbacks and reports. */
static inline enum simmm_level pt_leaf_level(const struct simmm_pgtable *pt, unsigned r)
{
	return (enum simmm_level)pt->lv[r].lo;
}

/* Store @e in @slot of @tbl keeping pt_live exact (no trace). */
static inline void pt_store(struct simmm_page *tbl, uint64_t *slot, simmm_entry_t e)
{
	tbl->u.pt_live += (uint32_t)(e != 0) - (uint32_t)(*slot != 0);
	*slot = e;
}

/* The child table of a table-pointer entry at real level r, or NULL when
 * the pfn is not a table page of this pgtable for level r + 1. Inline: it
 * runs at every level of every walk. */
static SIMMM_ALWAYS_INLINE struct simmm_page *pt_child(struct simmm_pgtable *pt, unsigned r,
							simmm_entry_t e)
{
	struct simmm_page *c;

	if (pt_is_bottom(pt, r) || !simmm_entry_is_table(e, (enum simmm_level)pt->lv[r].hi))
		return NULL;
	/* No separate simmm__pfn_valid(): pfn_to_page() is NULL exactly for
	 * the pfns it rejects (and for RAM whose memmap was never needed,
	 * which holds no table either). */
	c = simmm__pfn_to_page(pt->sim, simmm_pte_pfn(e));
	if (!c || !(c->flags & PG_table) || c->mapping != pt || c->pt_level != pt->lv[r + 1].hi)
		return NULL;
	return c;
}

/* Is @e acceptable as a non-table entry at real level r? */
bool pt_entry_ok(const struct simmm_pgtable *pt, unsigned r, simmm_entry_t e);

/* Address and range validation (see the DOC in <simmm/pgtable.h>). */
int pt_check_addr(const struct simmm_pgtable *pt, simmm_addr_t a);
int pt_check_range(const struct simmm_pgtable *pt, simmm_addr_t start, simmm_addr_t end,
		   uint64_t align);
/* Resolve a public level argument to a real level; -EINVAL if bad. */
int pt_real_level(const struct simmm_pgtable *pt, enum simmm_level lvl);

/* Table pages: allocate (traced, counted; index = first address covered)
 * and free (traced, counted). */
struct simmm_page *pt_table_alloc(struct simmm_pgtable *pt, unsigned r, simmm_addr_t a);
void pt_table_free(struct simmm_pgtable *pt, struct simmm_page *tbl, unsigned r);

/* Walk down to real level @r for @a. With @alloc, missing tables are
 * created (all allocated before any is linked). */
int pt_locate(struct simmm_pgtable *pt, simmm_addr_t a, unsigned r, bool alloc,
	      struct pt_loc *loc);

/* Traced stores. */
void pt_set_traced(struct simmm_pgtable *pt, struct pt_loc *loc, simmm_entry_t e);

/* Split the leaf at @loc into @child (a fresh table of real level r + 1). */
int pt_split_into(struct simmm_pgtable *pt, struct pt_loc *loc, struct simmm_page *child);
/* Would a split of the leaf at @loc work? 0 or the error of split. */
int pt_split_ok(const struct simmm_pgtable *pt, const struct pt_loc *loc);

/* simmm_pgtable_collapse(); with @deposit the emptied table becomes the
 * new leaf's deposit (deposit.c) instead of being freed. */
int pt_collapse(struct simmm_pgtable *pt, simmm_addr_t addr, enum simmm_level lvl, bool deposit);
/* Check the deposit list of PMD table @pmd (its tables are of real level
 * @r); *@n gets its length. Returns the number of violations reported. */
int pt_check_deposits(struct simmm_pgtable *pt, struct simmm_page *pmd, unsigned r,
		      uint64_t *n);

/* Clear [start, end) below the root, freeing emptied tables. Leaves are
 * assumed not to straddle the range boundaries. */
void pt_zap(struct simmm_pgtable *pt, simmm_addr_t start, simmm_addr_t end,
	    simmm_pt_clear_fn fn, void *arg);

int pt_check(simmm_sim *sim, void *arg);

#endif
