// SPDX-License-Identifier: MIT
/*
 * The "pgtable" invariant checker (see the list in pt.h). It visits every
 * table reachable from the root; reports are capped per run so a corrupt
 * 1 GiB range does not flood the log, but every violation is counted.
 */
#include "pgtable/pt.h"

#define CHECK_MAX_REPORTS 16

struct check_ctx {
	struct simmm_pgtable *pt;
	int bad;
	uint64_t tables;
	uint64_t deposited;
	int deposit_r;   /* real level of the tables PMD tables deposit, or -1 */
};

SIMMM_PRINTF(2, 3)
static void check_fail(struct check_ctx *c, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (c->bad++ >= CHECK_MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	simmm__report(c->pt->sim, SIMMM_REPORT_INVARIANT, "pgtable: %s", msg);
}

/* A frame a leaf refers to must be allocated and not a page table. Frames
 * outside RAM (device pfns) and special entries (no struct page, like
 * vm_normal_page() returning NULL) are not checked. */
static void check_frame(struct check_ctx *c, simmm_pfn_t pfn, simmm_addr_t addr)
{
	simmm_sim *sim = c->pt->sim;
	struct simmm_page *p;

	if (!simmm__pfn_valid(sim, pfn))
		return;
	p = simmm__pfn_to_page(sim, pfn);
	if (p)
		p = simmm__compound_head(sim, p);
	if (!p || p->refcount <= 0)
		check_fail(c, "entry at %#llx maps free frame %#llx", (unsigned long long)addr,
			   (unsigned long long)pfn);
	else if (p->flags & PG_table)
		check_fail(c, "entry at %#llx maps page-table frame %#llx",
			   (unsigned long long)addr, (unsigned long long)pfn);
}

static void check_leaf(struct check_ctx *c, unsigned r, simmm_entry_t e, simmm_addr_t addr)
{
	const struct simmm_pgtable *pt = c->pt;
	uint64_t pages = pt->lv[r].size >> pt->page_shift;
	simmm_pfn_t pfn;

	if (!pt_entry_ok(pt, r, e)) {
		check_fail(c, "bad %s entry %#llx at %#llx", simmm_level_name(pt_leaf_level(pt, r)),
			   (unsigned long long)e, (unsigned long long)addr);
		return;
	}
	if (simmm_pte_special(e) || simmm_is_hwpoison_entry(e) || !simmm_entry_pfn(e, &pfn))
		return;
	check_frame(c, pfn, addr);
	if (pages > 1)
		check_frame(c, pfn + pages - 1, addr);
}

static void check_table(struct check_ctx *c, unsigned r, struct simmm_page *tbl,
			simmm_addr_t base);

static void check_entry(struct check_ctx *c, unsigned r, simmm_entry_t e, simmm_addr_t addr)
{
	struct simmm_pgtable *pt = c->pt;
	struct simmm_page *child = pt_child(pt, r, e);

	if (child) {
		if (child->index != addr)
			check_fail(c, "table %#llx index %#llx, covers %#llx",
				   (unsigned long long)child->pfn,
				   (unsigned long long)child->index, (unsigned long long)addr);
		check_table(c, r + 1, child, addr);
	} else if (simmm_entry_is_table(e, (enum simmm_level)pt->lv[r].hi)) {
		check_fail(c, "%s entry %#llx at %#llx points to a non-table or foreign frame",
			   simmm_level_name((enum simmm_level)pt->lv[r].hi),
			   (unsigned long long)e, (unsigned long long)addr);
	} else {
		check_leaf(c, r, e, addr);
	}
}

static void check_table(struct check_ctx *c, unsigned r, struct simmm_page *tbl,
			simmm_addr_t base)
{
	const struct pt_level *l = &c->pt->lv[r];
	const uint64_t *ents = pt_ents(tbl);
	uint32_t live = 0;

	c->tables++;
	if (!(tbl->flags & PG_table) || tbl->mapping != c->pt || tbl->pt_level != l->hi)
		check_fail(c, "table %#llx: not a %s table of this pgtable",
			   (unsigned long long)tbl->pfn, simmm_level_name((enum simmm_level)l->hi));
	for (uint64_t i = 0; i < l->nent; i++) {
		if (!ents[i])
			continue;
		live++;
		check_entry(c, r, ents[i], base + i * l->size);
	}
	if (live != tbl->u.pt_live)
		check_fail(c, "table %#llx: pt_live %u, %u entries in use",
			   (unsigned long long)tbl->pfn, tbl->u.pt_live, live);
	if (c->deposit_r == (int)r + 1) {
		uint64_t n;

		c->bad += pt_check_deposits(c->pt, tbl, r + 1, &n);
		c->deposited += n;
	} else if (tbl->pt_deposit) {
		check_fail(c, "%s table %#llx has deposited tables",
			   simmm_level_name((enum simmm_level)l->hi), (unsigned long long)tbl->pfn);
	}
}

int pt_check(simmm_sim *sim, void *arg)
{
	struct check_ctx c = {.pt = arg, .deposit_r = -1};
	int rp = pt_real_level(c.pt, SIMMM_LVL_PMD);

	if (rp >= 0 && !pt_is_bottom(c.pt, (unsigned)rp) && c.pt->lv[rp].leaf)
		c.deposit_r = rp + 1;
	check_table(&c, 0, c.pt->root, 0);
	if (c.deposited != c.pt->nr_deposited)
		check_fail(&c, "%llu tables on deposit lists, %llu accounted",
			   (unsigned long long)c.deposited, (unsigned long long)c.pt->nr_deposited);
	if (c.tables + c.deposited != c.pt->nr_tables)
		check_fail(&c, "%llu tables reachable + %llu deposited, %llu accounted",
			   (unsigned long long)c.tables, (unsigned long long)c.deposited,
			   (unsigned long long)c.pt->nr_tables);
	return c.bad;
}
