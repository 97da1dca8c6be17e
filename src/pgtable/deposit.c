// SPDX-License-Identifier: MIT
/*
 * Deposited page tables: the generic pgtable_trans_huge_deposit() and
 * pgtable_trans_huge_withdraw() of mm/pgtable-generic.c, pte_alloc_one()
 * and pte_free(), and the split and collapse of a PMD leaf that take their
 * table from, or give it to, the deposit.
 *
 * A PMD table keeps a list of spare PTE tables (the kernel's pmd_huge_pte
 * in the PMD table's ptdesc), threaded through page->pt_deposit: the PMD
 * table holds the pfn of the first, each deposited table that of the next,
 * 0 ends it. The kernel threads them through ptdesc->pt_list and pops the
 * most recent; simmm's list is a stack too (every deposited table is an
 * equally empty PTE table, so which one a withdraw returns is invisible).
 *
 * This layer knows nothing of THPs: the mm layer decides when a table is
 * deposited (one per anonymous PMD mapping) and withdrawn (split, zap,
 * mremap). Deposited tables are counted in nr_tables (the kernel's
 * mm_inc_nr_ptes() at deposit time) and in nr_deposited; the checker
 * verifies that they are empty PG_table frames of this pgtable's PTE
 * level, reachable only through one deposit list.
 */
#include "pgtable/pt.h"

/* The real level whose tables are deposited: the one below the PMD's.
 * -EINVAL when the geometry has no PMD leaves to split into it. */
static int pt_deposit_level(const struct simmm_pgtable *pt, unsigned *r)
{
	int rp = pt_real_level(pt, SIMMM_LVL_PMD);

	if (rp < 0 || pt_is_bottom(pt, (unsigned)rp) || !pt->lv[rp].leaf)
		return -EINVAL;
	*r = (unsigned)rp + 1;
	return 0;
}

/* The table holding the PMD entry of @addr (the kernel's pmd_ptdesc()). */
static struct simmm_page *pt_pmd_table(struct simmm_pgtable *pt, simmm_addr_t addr)
{
	struct pt_loc loc;
	unsigned r;

	if (pt_deposit_level(pt, &r) || pt_check_addr(pt, addr) ||
	    pt_locate(pt, addr, r - 1, false, &loc))
		return NULL;
	return loc.table;
}

static struct simmm_page *pt_deposit_next(struct simmm_pgtable *pt, struct simmm_page *tbl)
{
	return tbl->pt_deposit ? simmm__pfn_to_page(pt->sim, tbl->pt_deposit) : NULL;
}

/**
 * simmm__pte_alloc_one() - pte_alloc_one(): a new, empty table of the level
 * below the PMD, linked nowhere yet, counted in the pgtable's tables.
 * @pt: the page table it is for.
 * Return: the table page; NULL on -ENOMEM or when PMD leaves are not
 * possible in this geometry.
 */
struct simmm_page *simmm__pte_alloc_one(struct simmm_pgtable *pt)
{
	unsigned r;

	if (!pt || pt_deposit_level(pt, &r))
		return NULL;
	return pt_table_alloc(pt, r, 0);
}

/**
 * simmm__pte_free() - pte_free(): free a table from simmm__pte_alloc_one()
 * or simmm__pgtable_withdraw() that was never linked (or is no more).
 * @pt: its page table.
 * @tbl: the table page (empty).
 */
void simmm__pte_free(struct simmm_pgtable *pt, struct simmm_page *tbl)
{
	unsigned r;

	if (NEVER(pt_deposit_level(pt, &r)))
		return;
	pt_table_free(pt, tbl, r);
}

/**
 * simmm__pgtable_deposit() - pgtable_trans_huge_deposit(): hang @tbl off
 * the PMD table that holds the PMD entry of @addr, for a later split of
 * that entry.
 * @pt: the page table.
 * @addr: an address the PMD entry covers.
 * @tbl: an empty table from simmm__pte_alloc_one() (or a withdraw).
 * Context: the PMD table exists (the caller set the PMD entry in it).
 */
void simmm__pgtable_deposit(struct simmm_pgtable *pt, simmm_addr_t addr, struct simmm_page *tbl)
{
	struct simmm_page *pmd = pt_pmd_table(pt, addr);

	if (NEVER(!pmd || tbl->u.pt_live)) {
		simmm__pte_free(pt, tbl);
		return;
	}
	tbl->index = 0; /* linked nowhere: covers nothing */
	tbl->pt_deposit = pmd->pt_deposit;
	pmd->pt_deposit = tbl->pfn;
	pt->nr_deposited++;
}

/**
 * simmm__pgtable_withdraw() - pgtable_trans_huge_withdraw(): take a
 * deposited table back from the PMD table holding the PMD entry of @addr.
 * @pt: the page table.
 * @addr: an address the PMD entry covers.
 * Return: the empty table, still counted in the pgtable's tables (link it
 * or simmm__pte_free() it); NULL when nothing is deposited there.
 */
struct simmm_page *simmm__pgtable_withdraw(struct simmm_pgtable *pt, simmm_addr_t addr)
{
	struct simmm_page *pmd = pt_pmd_table(pt, addr), *tbl;

	if (!pmd || !pmd->pt_deposit)
		return NULL;
	tbl = pt_deposit_next(pt, pmd);
	pmd->pt_deposit = tbl->pt_deposit;
	tbl->pt_deposit = 0;
	pt->nr_deposited--;
	return tbl;
}

/**
 * simmm__pgtable_move_deposit() - move_huge_pmd()'s deposit: when the PMD
 * entries of @old and @new live in different PMD tables, withdraw a table
 * from the first and deposit it with the second (pmd_move_must_withdraw():
 * with split PMD locks every PMD table has its own lock and its own
 * pmd_huge_pte list, so the deposit follows the entry to the other table;
 * in the same table it stays where it is).
 * @pt: the page table.
 * @old: an address the moved PMD entry covered.
 * @new: an address it covers now.
 * Context: both PMD tables exist.
 * Return: 0 (also when both share their PMD table: nothing to do);
 * -ENOENT when either PMD table is missing; -ENOSPC when nothing is
 * deposited with @old's table (the caller's bug). Nothing changes on error.
 */
int simmm__pgtable_move_deposit(struct simmm_pgtable *pt, simmm_addr_t old, simmm_addr_t new)
{
	struct simmm_page *from = pt_pmd_table(pt, old), *to = pt_pmd_table(pt, new), *tbl;

	if (!from || !to)
		return -ENOENT;
	if (from == to)
		return 0;
	tbl = simmm__pgtable_withdraw(pt, old);
	if (!tbl)
		return -ENOSPC;
	simmm__pgtable_deposit(pt, new, tbl);
	return 0;
}

/**
 * simmm__pgtable_nr_deposited() - how many tables are deposited with the
 * PMD table holding the PMD entry of @addr (for checkers).
 * @pt: the page table.
 * @addr: any address that PMD table covers.
 * @table: receives that PMD table's pfn, 0 when there is none (then 0 is
 *   returned).
 */
uint64_t simmm__pgtable_nr_deposited(struct simmm_pgtable *pt, simmm_addr_t addr,
				     simmm_pfn_t *table)
{
	struct simmm_page *pmd = pt_pmd_table(pt, addr);
	uint64_t n = 0;

	*table = pmd ? pmd->pfn : 0;
	for (struct simmm_page *t = pmd ? pt_deposit_next(pt, pmd) : NULL;
	     t && n <= pt->nr_tables; t = pt_deposit_next(pt, t))
		n++;
	return n;
}

/**
 * simmm__pgtable_deposited_total() - tables deposited in all of @pt.
 * @pt: the page table.
 */
uint64_t simmm__pgtable_deposited_total(const struct simmm_pgtable *pt)
{
	return pt ? pt->nr_deposited : 0;
}

/**
 * simmm__pgtable_split_deposited() - split the PMD leaf (or PMD migration /
 * device entry) at @addr into a table withdrawn from its PMD table's
 * deposit, as __split_huge_pmd_locked() does (pgtable_trans_huge_withdraw()
 * then pmd_populate()): no allocation, so it cannot fail for memory.
 * @pt: the page table.
 * @addr: an address the entry covers.
 * Return: 0; -ENOENT (no such entry), -EINVAL, -EUCLEAN as
 * simmm_pgtable_split(); -ENOSPC when nothing is deposited there (the
 * caller's bug: nothing changed).
 */
int simmm__pgtable_split_deposited(struct simmm_pgtable *pt, simmm_addr_t addr)
{
	struct simmm_page *tbl;
	struct pt_loc loc;
	unsigned r;
	int err;

	if (!pt || pt_deposit_level(pt, &r))
		return -EINVAL;
	err = pt_check_addr(pt, addr);
	if (err)
		return err;
	err = pt_locate(pt, addr, r - 1, false, &loc);
	if (err)
		return err == -EEXIST ? -ENOENT : err;
	err = pt_split_ok(pt, &loc);
	if (err)
		return err;
	tbl = simmm__pgtable_withdraw(pt, addr);
	if (!tbl)
		return -ENOSPC;
	return pt_split_into(pt, &loc, tbl);
}

/**
 * simmm__pgtable_collapse_deposit() - simmm_pgtable_collapse() at the PMD
 * level of @addr, keeping the emptied table as the new leaf's deposit
 * (collapse_huge_page(): pmd_pgtable() of the old PMD is deposited, not
 * freed).
 * @pt: the page table.
 * @addr: an address the PMD entry covers.
 * Return: as simmm_pgtable_collapse().
 */
int simmm__pgtable_collapse_deposit(struct simmm_pgtable *pt, simmm_addr_t addr)
{
	unsigned r;

	if (!pt || pt_deposit_level(pt, &r))
		return -EINVAL;
	return pt_collapse(pt, addr, SIMMM_LVL_PMD, true);
}

/* ---- checker ------------------------------------------------------------------ */

/* Every table on @pmd's deposit list is an empty PTE-level table of @pt.
 * Returns the number of violations; *@n gets the list's length. */
int pt_check_deposits(struct simmm_pgtable *pt, struct simmm_page *pmd, unsigned r,
		      uint64_t *n)
{
	int bad = 0;

	*n = 0;
	for (simmm_pfn_t pfn = pmd->pt_deposit; pfn;) {
		struct simmm_page *t = simmm__pfn_to_page(pt->sim, pfn);

		if (++*n > pt->nr_tables) {
			simmm__report(pt->sim, SIMMM_REPORT_INVARIANT,
				      "pgtable: deposit list of table %#llx loops",
				      (unsigned long long)pmd->pfn);
			return bad + 1;
		}
		if (!t || !(t->flags & PG_table) || t->refcount != 1 || t->mapping != pt ||
		    t->pt_level != pt->lv[r].hi) {
			simmm__report(pt->sim, SIMMM_REPORT_INVARIANT,
				      "pgtable: frame %#llx deposited with table %#llx is not a %s "
				      "table of this pgtable",
				      (unsigned long long)pfn, (unsigned long long)pmd->pfn,
				      simmm_level_name((enum simmm_level)pt->lv[r].hi));
			return bad + 1;
		}
		if (t->u.pt_live) {
			simmm__report(pt->sim, SIMMM_REPORT_INVARIANT,
				      "pgtable: table %#llx deposited with %#llx has %u live entries",
				      (unsigned long long)pfn, (unsigned long long)pmd->pfn,
				      t->u.pt_live);
			bad++;
		}
		for (uint64_t i = 0; i < pt->lv[r].nent; i++) {
			if (pt_ents(t)[i]) {
				simmm__report(pt->sim, SIMMM_REPORT_INVARIANT,
					      "pgtable: table %#llx deposited with %#llx is not zeroed",
					      (unsigned long long)pfn, (unsigned long long)pmd->pfn);
				bad++;
				break;
			}
		}
		pfn = t->pt_deposit;
	}
	return bad;
}
