// SPDX-License-Identifier: MIT
/*
 * Tearing a range down (zap_page_range() followed by free_pgtables()) and
 * the bulk fill used to build large populated ranges.
 *
 * Teardown clears entries and frees every table left empty; the frames the
 * entries referenced are reported to a callback and never put here, since
 * rmap, mapcount and refcount belong to the layers above. A leaf straddling
 * a range boundary is split first (as zap_pmd_range() splits a partially
 * covered huge pmd); the tables for those splits are allocated before any
 * change so that -ENOMEM leaves everything as it was.
 */
#include "pgtable/pt.h"

/* ---- zap ------------------------------------------------------------------ */

struct zap_ctx {
	struct simmm_pgtable *pt;
	simmm_pt_clear_fn fn;
	simmm_pt_keep_fn keep; /* leaves to leave in place (may be NULL) */
	void *arg;
};

static void zap_table(struct zap_ctx *z, unsigned r, struct simmm_page *tbl,
		      simmm_addr_t addr, simmm_addr_t end);

static void zap_leaf(struct zap_ctx *z, unsigned r, struct pt_loc *loc)
{
	simmm_entry_t old = *loc->slot;

	pt_set_traced(z->pt, loc, 0);
	if (z->fn)
		z->fn(z->arg, loc->base, pt_leaf_level(z->pt, r), old);
}

/* Clear below a table pointer, then free the child if that emptied it. */
static void zap_child(struct zap_ctx *z, unsigned r, struct pt_loc *loc,
		      struct simmm_page *child, simmm_addr_t addr, simmm_addr_t next)
{
	zap_table(z, r + 1, child, addr, next);
	if (child->u.pt_live)
		return;
	pt_store(loc->table, loc->slot, 0);
	pt_table_free(z->pt, child, r + 1);
}

static void zap_table(struct zap_ctx *z, unsigned r, struct simmm_page *tbl,
		      simmm_addr_t addr, simmm_addr_t end)
{
	struct simmm_pgtable *pt = z->pt;
	struct simmm_page *child;
	struct pt_loc loc = {.table = tbl, .r = r};
	simmm_addr_t next;

	loc.slot = &pt_ents(tbl)[pt_index(pt, r, addr)];
	for (; addr < end && tbl->u.pt_live; addr = next, loc.slot++) {
		next = pt_addr_end(pt, r, addr, end);
		if (*loc.slot == 0)
			continue;
		loc.base = addr & ~(pt->lv[r].size - 1);
		child = pt_child(pt, r, *loc.slot);
		if (child)
			zap_child(z, r, &loc, child, addr, next);
		else if (!pt_entry_ok(pt, r, *loc.slot))
			simmm__report(pt->sim, SIMMM_REPORT_WARN,
				      "pgtable: bad %s entry %#llx at %#llx left in place",
				      simmm_level_name(pt_leaf_level(pt, r)),
				      (unsigned long long)*loc.slot, (unsigned long long)addr);
		else if (!z->keep || !z->keep(z->arg, loc.base, pt_leaf_level(pt, r), *loc.slot))
			zap_leaf(z, r, &loc); /* a kept leaf keeps its table (pt_live) */
	}
}

static void zap_range(struct simmm_pgtable *pt, simmm_addr_t start, simmm_addr_t end,
		      simmm_pt_clear_fn fn, simmm_pt_keep_fn keep, void *arg)
{
	struct zap_ctx z = {.pt = pt, .fn = fn, .keep = keep, .arg = arg};

	zap_table(&z, 0, pt->root, start, end);
}

void pt_zap(struct simmm_pgtable *pt, simmm_addr_t start, simmm_addr_t end,
	    simmm_pt_clear_fn fn, void *arg)
{
	zap_range(pt, start, end, fn, NULL, arg);
}

/* ---- boundary splits --------------------------------------------------------- */

/* The child levels of the splits that make @a a leaf boundary: from the
 * leaf covering @a down, one per level whose entry size @a is not aligned
 * to. Appended to @need; returns the new count. */
static unsigned straddle_levels(struct simmm_pgtable *pt, simmm_addr_t a, unsigned *need,
				unsigned n)
{
	struct pt_loc loc;

	if (a >= pt->va_end)
		return n;
	for (unsigned r = 0; r + 1 < pt->nreal; r++) {
		if (pt_locate(pt, a, r, false, &loc) || *loc.slot == 0)
			return n;
		if (pt_child(pt, r, *loc.slot))
			continue;
		for (unsigned j = r; j + 1 < pt->nreal && (a & (pt->lv[j].size - 1)); j++)
			need[n++] = j + 1;
		return n;
	}
	return n;
}

/* Take a pooled table made for real level @r. */
static struct simmm_page *pool_take(struct simmm_pgtable *pt, struct simmm_page **pool,
				    unsigned n, unsigned r)
{
	for (unsigned i = 0; i < n; i++) {
		struct simmm_page *p = pool[i];
		if (p && p->pt_level == pt->lv[r].hi) {
			pool[i] = NULL;
			return p;
		}
	}
	return NULL;
}

/* Split until @a is a leaf boundary, taking tables from @pool. */
static int split_at(struct simmm_pgtable *pt, simmm_addr_t a, struct simmm_page **pool,
		    unsigned npool)
{
	struct simmm_page *child;
	struct pt_loc loc;
	int err;

	for (unsigned r = 0; r + 1 < pt->nreal; r++) {
		if (pt_locate(pt, a, r, false, &loc) || *loc.slot == 0)
			return 0;
		if (pt_child(pt, r, *loc.slot))
			continue;
		if (!(a & (pt->lv[r].size - 1)))
			return 0;
		err = pt_split_ok(pt, &loc);
		if (err)
			return err;
		child = pool_take(pt, pool, npool, r + 1);
		if (NEVER(!child))
			return -ENOMEM;
		pt_split_into(pt, &loc, child);
	}
	return 0;
}

/* Check every boundary split is possible and allocate its table before
 * changing anything; then split. */
static int split_boundaries(struct simmm_pgtable *pt, simmm_addr_t start, simmm_addr_t end)
{
	struct simmm_page *pool[2 * PT_MAX_REAL] = {0};
	unsigned need[2 * PT_MAX_REAL];
	unsigned n = straddle_levels(pt, start, need, 0), i;
	int err = 0;

	n = straddle_levels(pt, end, need, n);
	for (i = 0; i < n && !err; i++) {
		pool[i] = pt_table_alloc(pt, need[i], start);
		if (!pool[i])
			err = -ENOMEM;
	}
	if (!err)
		err = split_at(pt, start, pool, n);
	if (!err)
		err = split_at(pt, end, pool, n);
	for (i = 0; i < n; i++)
		if (pool[i])
			pt_table_free(pt, pool[i], need[i]);
	return err;
}

int simmm__pgtable_teardown_keep(struct simmm_pgtable *pt, simmm_addr_t start, simmm_addr_t end,
				 simmm_pt_clear_fn fn, simmm_pt_keep_fn keep, void *arg)
{
	int err;

	if (!pt)
		return -EINVAL;
	err = pt_check_range(pt, start, end, 1ULL << pt->page_shift);
	if (err)
		return err;
	err = split_boundaries(pt, start, end);
	if (err)
		return err;
	zap_range(pt, start, end, fn, keep, arg);
	return 0;
}

int simmm_pgtable_teardown(struct simmm_pgtable *pt, simmm_addr_t start, simmm_addr_t end,
			   simmm_pt_clear_fn fn, void *arg)
{
	return simmm__pgtable_teardown_keep(pt, start, end, fn, NULL, arg);
}
