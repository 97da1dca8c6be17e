// SPDX-License-Identifier: MIT
/*
 * Splitting a huge leaf into a table of smaller leaves (the page-table part
 * of __split_huge_pmd_locked()/__split_huge_pud_locked()) and the reverse,
 * collapsing a full table of uniform leaves back into one leaf (the
 * page-table part of khugepaged's collapse_huge_page()).
 *
 * Both keep the mapping equivalent: every address translates to the same
 * frame with the same flags before and after. Reference counts and
 * mapcounts are the caller's business, as in the kernel where the THP code
 * adjusts them around the page-table change.
 */
#include "pgtable/pt.h"

/* The entry for child i of @e, which maps @step pages per child. */
static simmm_entry_t pt_child_entry(const struct simmm_pgtable *pt, unsigned cr,
				    simmm_entry_t e, uint64_t i, uint64_t step)
{
	if (simmm_pte_present(e)) {
		simmm_entry_t c = e + ((i * step) << SIMMM_E_PFN_SHIFT);
		return pt_is_bottom(pt, cr) ? simmm_entry_clrleaf(c) : c;
	}
	/* A PMD migration entry becomes PTE migration entries for
	 * consecutive pfns, keeping the young/dirty and swap-pte bits. */
	return e + ((i * step) << SIMMM_SWP_OFFSET_SHIFT);
}

int pt_split_ok(const struct simmm_pgtable *pt, const struct pt_loc *loc)
{
	simmm_entry_t e = *loc->slot;
	unsigned cr = loc->r + 1;

	if (pt_is_bottom(pt, loc->r) || !pt->lv[loc->r].leaf)
		return -EINVAL;
	if (e == 0 || simmm_entry_is_table(e, (enum simmm_level)pt->lv[loc->r].hi))
		return -ENOENT;
	if (!pt_entry_ok(pt, loc->r, e))
		return -EUCLEAN;
	if (!simmm_pte_present(e) && !simmm_is_pfn_swap_entry(e))
		return -EINVAL;
	if (!pt_is_bottom(pt, cr) && !pt->lv[cr].leaf)
		return -EOPNOTSUPP;
	return 0;
}

int pt_split_into(struct simmm_pgtable *pt, struct pt_loc *loc, struct simmm_page *child)
{
	unsigned cr = loc->r + 1;
	uint64_t step = pt->lv[cr].size >> pt->page_shift;
	uint64_t *ents = pt_ents(child);
	simmm_entry_t e = *loc->slot;

	for (uint64_t i = 0; i < pt->lv[cr].nent; i++)
		ents[i] = pt_child_entry(pt, cr, e, i, step);
	child->u.pt_live = pt->lv[cr].nent;
	child->index = loc->base;
	/* Like pmd_populate() after the entries are written: the table is
	 * complete before it becomes reachable. */
	*loc->slot = simmm_mk_entry(child->pfn, SIMMM_PAGE_TABLE);
	simmm__trace(pt->sim, SIMMM_EV_PT_SPLIT, loc->base, child->pfn, pt_leaf_level(pt, loc->r), e);
	return 0;
}

static int pt_locate_leaf(struct simmm_pgtable *pt, simmm_addr_t addr, enum simmm_level lvl,
			  struct pt_loc *loc)
{
	int r, err;

	if (!pt || (r = pt_real_level(pt, lvl)) < 0)
		return -EINVAL;
	err = pt_check_addr(pt, addr);
	if (err)
		return err;
	return pt_locate(pt, addr, (unsigned)r, false, loc);
}

int simmm_pgtable_split(struct simmm_pgtable *pt, simmm_addr_t addr, enum simmm_level lvl)
{
	struct simmm_page *child;
	struct pt_loc loc;
	int r, err;

	if (!pt || (r = pt_real_level(pt, lvl)) < 0)
		return -EINVAL;
	if (pt_is_bottom(pt, (unsigned)r) || !pt->lv[r].leaf)
		return -EINVAL;
	err = pt_locate_leaf(pt, addr, lvl, &loc);
	if (err)
		return err == -EEXIST ? -ENOENT : err; /* a bigger leaf covers addr */
	err = pt_split_ok(pt, &loc);
	if (err)
		return err;
	child = pt_table_alloc(pt, loc.r + 1, addr);
	if (!child)
		return -ENOMEM;
	return pt_split_into(pt, &loc, child);
}

/* ---- collapse -------------------------------------------------------------- */

/* A table is collapsible when every entry is a present leaf, with the flags
 * of entry 0, and pfns run on from entry 0's, which is aligned to the size
 * of the leaf being made. */
static bool pt_collapsible(const struct simmm_pgtable *pt, unsigned cr, struct simmm_page *tbl)
{
	const uint64_t *ents = pt_ents(tbl);
	uint64_t step = pt->lv[cr].size >> pt->page_shift;
	uint64_t span = step * pt->lv[cr].nent;
	simmm_entry_t first = ents[0];

	if (tbl->u.pt_live != pt->lv[cr].nent || !simmm_pte_present(first))
		return false;
	if (!pt_entry_ok(pt, cr, first) || simmm_pte_pfn(first) & (span - 1))
		return false;
	for (uint64_t i = 1; i < pt->lv[cr].nent; i++)
		if (ents[i] != first + ((i * step) << SIMMM_E_PFN_SHIFT))
			return false;
	return true;
}

int pt_collapse(struct simmm_pgtable *pt, simmm_addr_t addr, enum simmm_level lvl, bool deposit)
{
	struct simmm_page *child;
	struct pt_loc loc;
	simmm_entry_t e;
	int r, err;

	if (!pt || (r = pt_real_level(pt, lvl)) < 0)
		return -EINVAL;
	if (pt_is_bottom(pt, (unsigned)r) || !pt->lv[r].leaf)
		return -EINVAL;
	err = pt_locate_leaf(pt, addr, lvl, &loc);
	if (err)
		return err;
	e = *loc.slot;
	if (e == 0)
		return -ENOENT;
	child = pt_child(pt, loc.r, e);
	if (!child)
		return pt_entry_ok(pt, loc.r, e) ? -EEXIST : -EUCLEAN;
	if (!pt_collapsible(pt, loc.r + 1, child))
		return -EBUSY;
	e = simmm_entry_mkleaf(pt_ents(child)[0]);
	/* The leaf replaces the table pointer in one store; the emptied table
	 * is then freed, or kept as the leaf's deposit (collapse_huge_page()
	 * deposits pmd_pgtable() of the old PMD: no allocation). */
	*loc.slot = e;
	for (uint64_t i = 0; i < pt->lv[loc.r + 1].nent; i++)
		pt_ents(child)[i] = 0;
	child->u.pt_live = 0;
	simmm__trace(pt->sim, SIMMM_EV_PT_COLLAPSE, loc.base, simmm_pte_pfn(e),
		     pt_leaf_level(pt, loc.r), e);
	if (deposit)
		simmm__pgtable_deposit(pt, addr, child);
	else
		pt_table_free(pt, child, loc.r + 1);
	return 0;
}

int simmm_pgtable_collapse(struct simmm_pgtable *pt, simmm_addr_t addr, enum simmm_level lvl)
{
	return pt_collapse(pt, addr, lvl, false);
}
