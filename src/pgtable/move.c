// SPDX-License-Identifier: MIT
/*
 * Moving a whole table from one slot to another: the page-table half of
 * mremap's move_normal_pmd() and move_normal_pud() (mm/mremap.c), which
 * hand a PTE table (or a PMD table, with everything below it) to the new
 * address instead of moving its entries one by one. The entries below keep
 * their values: only the slot pointing at the table changes, and the
 * tables' index (the first address each covers) follows. A PMD table's
 * deposited tables hang off the table itself, so they move with it.
 *
 * The mm layer decides when a table moves (a whole, mutually aligned
 * extent, nothing at the destination), allocates the destination's upper
 * tables beforehand and brackets the move with its notifiers; nothing here
 * allocates, so a move cannot fail for memory.
 */
#include "pgtable/pt.h"

/* The tables below @tbl (real level r) cover addresses from @base on:
 * rewrite their index, as pt_table_alloc() would have set it there. */
static void pt_reindex(struct simmm_pgtable *pt, unsigned r, struct simmm_page *tbl,
		       simmm_addr_t base)
{
	tbl->index = base;
	if (pt_is_bottom(pt, r))
		return;
	for (uint64_t i = 0; i < pt->lv[r].nent; i++) {
		struct simmm_page *child = pt_child(pt, r, pt_ents(tbl)[i]);

		if (child)
			pt_reindex(pt, r + 1, child, base + i * pt->lv[r].size);
	}
}

/**
 * simmm__pgtable_move_table() - move the table the @lvl entry for @old
 * points to, with everything below it, to the (none) @lvl slot for @new:
 * pmd_clear() of the old slot and pmd_populate()/pud_populate() of the new
 * one, as move_normal_pmd()/move_normal_pud() do. Traces SIMMM_EV_PT_CLEAR
 * at @old and SIMMM_EV_PT_SET at @new (arg1: the table entry).
 * @pt: the page table.
 * @old, @new: addresses aligned to the size of an @lvl entry.
 * @lvl: a level whose entries may point to tables (not PTE); a folded
 *   level resolves to the real table holding it.
 *
 * Context: the machine's thread; allocates nothing.
 * Return: 0; -ENOENT when the @lvl entry for @old is not a table pointer
 * (none, a leaf, a swap-format entry, or a table above it missing), or
 * when the table holding @new's slot does not exist; -EEXIST when @new's
 * slot is not none (the kernel's WARN_ON_ONCE(!pmd_none(*new_pmd)), then
 * "not moved"); -EINVAL for a bad @lvl, misaligned or equal addresses;
 * -EFAULT, -EUCLEAN as simmm_pgtable_lookup(). Nothing changes on error.
 */
int simmm__pgtable_move_table(struct simmm_pgtable *pt, simmm_addr_t old, simmm_addr_t new,
			      enum simmm_level lvl)
{
	struct pt_loc from, to;
	struct simmm_page *child;
	simmm_entry_t e;
	int r, err;

	if (!pt || (r = pt_real_level(pt, lvl)) < 0 || pt_is_bottom(pt, (unsigned)r))
		return -EINVAL;
	if (((old | new) & (pt->lv[r].size - 1)) || old == new)
		return -EINVAL;
	err = pt_check_addr(pt, old);
	if (!err)
		err = pt_check_addr(pt, new);
	if (!err)
		err = pt_locate(pt, old, (unsigned)r, false, &from);
	if (err)
		return err == -EEXIST ? -ENOENT : err;
	child = pt_child(pt, (unsigned)r, *from.slot);
	if (!child)
		return *from.slot && simmm_entry_is_table(*from.slot, (enum simmm_level)pt->lv[r].hi)
			       ? -EUCLEAN
			       : -ENOENT;
	err = pt_locate(pt, new, (unsigned)r, false, &to);
	if (err)
		return err == -EEXIST ? -ENOENT : err;
	if (*to.slot)
		return -EEXIST;
	/* Both slots were found before either changes: a store never moves
	 * a table, so @from and @to stay valid across the first one. */
	e = *from.slot;
	pt_set_traced(pt, &from, 0);
	pt_set_traced(pt, &to, e);
	pt_reindex(pt, (unsigned)r + 1, child, to.base);
	return 0;
}
