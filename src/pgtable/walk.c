// SPDX-License-Identifier: MIT
/*
 * The range walker, modelled on mm/pagewalk.c: one loop shape for every
 * level (addr_end, hole, hook, descend only if needed), steering through
 * walk->action, and the 0 / >0 stop / <0 errno return protocol.
 *
 * Geometry is a run-time property, so instead of walk_pgd_range() ..
 * walk_pmd_range() there is one upper-level function parameterised by the
 * real level, plus the PTE loop, which is the hot path and kept minimal.
 * Absent subtrees are never entered: a none entry costs one load and, if
 * the caller asked for holes, one callback; an entirely empty table with no
 * hole callback is skipped without looking at its slots (pt_live == 0).
 */
#include "pgtable/pt.h"

#define WALK_AGAIN_MAX 64

struct walk_ctx {
	struct simmm_walk w;                     /* first: callbacks get &w */
	simmm_walk_entry_fn cb[SIMMM_NR_LEVELS]; /* by kernel level */
	bool descend[PT_MAX_REAL];               /* a callback lives below r */
};

static int walk_level(struct walk_ctx *c, unsigned r, struct simmm_page *tbl,
		      simmm_addr_t addr, simmm_addr_t end);

static int walk_hole(struct walk_ctx *c, unsigned r, simmm_addr_t addr, simmm_addr_t next)
{
	const struct simmm_walk_ops *ops = c->w.ops;

	return ops->pte_hole ? ops->pte_hole(addr, next, c->w.pt->lv[r].depth, &c->w) : 0;
}

/* pmd_bad(): the kernel clears such an entry with a complaint; a read-only
 * walker reports it to the caller and skips it instead. */
static int walk_bad(struct walk_ctx *c, unsigned r, simmm_entry_t *slot, simmm_addr_t addr,
		    simmm_addr_t next)
{
	const struct simmm_walk_ops *ops = c->w.ops;
	int depth = c->w.pt->lv[r].depth;

	if (ops->bad_entry)
		return ops->bad_entry(slot, addr, next, depth, &c->w);
	return walk_hole(c, r, addr, next);
}

/* The callbacks of real level r and the levels folded under it, top down,
 * as the kernel calls pgd_entry, then p4d_entry on the same folded slot.
 * A callback that asks for anything but SUBTREE ends the chain. */
static int walk_hooks(struct walk_ctx *c, unsigned r, struct simmm_page *tbl,
		      simmm_entry_t *slot, simmm_addr_t addr, simmm_addr_t next)
{
	const struct pt_level *l = &c->w.pt->lv[r];
	int err;

	c->w.action = SIMMM_WALK_SUBTREE;
	for (int k = l->hi; k >= l->lo; k--) {
		if (!c->cb[k])
			continue;
		c->w.level = (enum simmm_level)k;
		c->w.table = tbl;
		c->w.action = SIMMM_WALK_SUBTREE;
		err = c->cb[k](slot, addr, next, &c->w);
		if (err || c->w.action != SIMMM_WALK_SUBTREE)
			return err;
	}
	return 0;
}

/* One entry above PTE level: hole, bad, hooks, then maybe descend. */
static int walk_entry(struct walk_ctx *c, unsigned r, struct simmm_page *tbl,
		      simmm_entry_t *slot, simmm_addr_t addr, simmm_addr_t next)
{
	struct simmm_pgtable *pt = c->w.pt;
	struct simmm_page *child;
	int err;

	for (unsigned tries = 0; tries < WALK_AGAIN_MAX; tries++) {
		if (*slot == 0)
			return walk_hole(c, r, addr, next);
		child = pt_child(pt, r, *slot);
		if (!child && !pt_entry_ok(pt, r, *slot))
			return walk_bad(c, r, slot, addr, next);
		err = walk_hooks(c, r, tbl, slot, addr, next);
		if (err)
			return err;
		if (c->w.action == SIMMM_WALK_AGAIN)
			continue;
		if (c->w.action == SIMMM_WALK_CONTINUE || !c->descend[r])
			return 0;
		/* Re-read: a hook may have replaced the entry. Leaves and
		 * swap-format entries are never descended (huge-leaf path). */
		child = pt_child(pt, r, *slot);
		return child ? walk_level(c, r + 1, child, addr, next) : 0;
	}
	return -ELOOP;
}

static int walk_upper(struct walk_ctx *c, unsigned r, struct simmm_page *tbl,
		      simmm_addr_t addr, simmm_addr_t end)
{
	const struct simmm_pgtable *pt = c->w.pt;
	uint64_t *ents = pt_ents(tbl);
	unsigned i = pt_index(pt, r, addr);
	simmm_addr_t next;
	int err;

	bool holes = c->w.ops->pte_hole != NULL;

	if (tbl->u.pt_live == 0 && !holes)
		return 0;
	for (; addr < end; addr = next, i++) {
		next = pt_addr_end(pt, r, addr, end);
		/* Without a hole callback a none entry costs one load: most
		 * of a sparse table is none (the checker walks every table). */
		if (!holes && ents[i] == 0)
			continue;
		err = walk_entry(c, r, tbl, &ents[i], addr, next);
		if (err)
			return err;
	}
	return 0;
}

/* walk_pte_range(): every slot, none included, goes to pte_entry (none
 * slots skipped for ops->pte_skip_none). */
static int walk_pte(struct walk_ctx *c, unsigned r, struct simmm_page *tbl,
		    simmm_addr_t addr, simmm_addr_t end)
{
	const uint64_t size = c->w.pt->lv[r].size;
	simmm_walk_entry_fn fn = c->cb[SIMMM_LVL_PTE];
	uint64_t *slot = &pt_ents(tbl)[pt_index(c->w.pt, r, addr)];
	unsigned tries;
	int err;

	bool skip_none = c->w.ops->pte_skip_none;

	c->w.level = SIMMM_LVL_PTE;
	c->w.table = tbl;
	if (skip_none && tbl->u.pt_live == 0)
		return 0;
	for (; addr < end; addr += size, slot++) {
		if (skip_none && *slot == 0)
			continue;
		tries = 0;
		do {
			c->w.action = SIMMM_WALK_SUBTREE;
			err = fn(slot, addr, addr + size, &c->w);
			if (err)
				return err;
		} while (c->w.action == SIMMM_WALK_AGAIN && ++tries < WALK_AGAIN_MAX);
		if (c->w.action == SIMMM_WALK_AGAIN)
			return -ELOOP;
	}
	return 0;
}

static int walk_level(struct walk_ctx *c, unsigned r, struct simmm_page *tbl,
		      simmm_addr_t addr, simmm_addr_t end)
{
	if (pt_is_bottom(c->w.pt, r))
		return walk_pte(c, r, tbl, addr, end);
	return walk_upper(c, r, tbl, addr, end);
}

static void walk_init(struct walk_ctx *c, struct simmm_pgtable *pt,
		      const struct simmm_walk_ops *ops, void *private)
{
	int lowest = SIMMM_NR_LEVELS;

	c->w = (struct simmm_walk){.ops = ops, .pt = pt, .private = private};
	c->cb[SIMMM_LVL_PGD] = ops->pgd_entry;
	c->cb[SIMMM_LVL_P4D] = ops->p4d_entry;
	c->cb[SIMMM_LVL_PUD] = ops->pud_entry;
	c->cb[SIMMM_LVL_PMD] = ops->pmd_entry;
	c->cb[SIMMM_LVL_PTE] = ops->pte_entry;
	for (int k = SIMMM_NR_LEVELS - 1; k >= 0; k--)
		if (c->cb[k])
			lowest = k;
	/* Descend below r only for a callback of a level a deeper table
	 * serves, as walk_pud_range() skips walk_pmd_range() without
	 * pmd_entry/pte_entry. */
	for (unsigned r = 0; r < pt->nreal; r++)
		c->descend[r] = lowest < pt->lv[r].lo;
}

int simmm_walk_range(struct simmm_pgtable *pt, simmm_addr_t start, simmm_addr_t end,
		     const struct simmm_walk_ops *ops, void *private)
{
	struct walk_ctx c;
	int err;

	if (!pt || !ops)
		return -EINVAL;
	err = pt_check_range(pt, start, end, 1ULL << pt->page_shift);
	if (err)
		return err;
	walk_init(&c, pt, ops, private);
	if (ops->test_walk) {
		err = ops->test_walk(start, end, &c.w);
		if (err)
			return err > 0 ? 0 : err;
	}
	return walk_level(&c, 0, pt->root, start, end);
}

int simmm_walk_update(struct simmm_walk *walk, simmm_entry_t *entry, simmm_entry_t e)
{
	struct simmm_pgtable *pt;
	struct pt_loc loc;
	int r;

	if (!walk || !entry || !walk->pt || !walk->table)
		return -EINVAL;
	pt = walk->pt;
	r = pt_real_level(pt, walk->level);
	if (r < 0)
		return -EINVAL;
	loc.table = walk->table;
	loc.r = (unsigned)r;
	if (entry < pt_ents(loc.table) || entry >= pt_ents(loc.table) + pt->lv[r].nent)
		return -EINVAL;
	if (simmm_entry_is_table(*entry, (enum simmm_level)pt->lv[r].hi))
		return -EISDIR;
	if (!pt_entry_ok(pt, loc.r, e))
		return -EINVAL;
	loc.slot = entry;
	loc.base = loc.table->index + (uint64_t)(entry - pt_ents(loc.table)) * pt->lv[r].size;
	pt_set_traced(pt, &loc, e);
	return 0;
}
