// SPDX-License-Identifier: MIT
/*
 * Read-only text dump of a range, built on the walker: one line per table
 * pointer and per non-none leaf, indented by real level, named after the
 * kernel level (a table pointer by its real level, a leaf by the level the
 * kernel would see it at), with the architecture view of each entry.
 */
#include "pgtable/pt.h"
#include "pgtable/textbuf.h"

static void dump_line(struct simmm_walk *walk, unsigned r, simmm_entry_t e,
		      simmm_addr_t addr, const char *what)
{
	struct textbuf *t = walk->private;
	struct simmm_pgtable *pt = walk->pt;
	simmm_addr_t base = addr & ~(pt->lv[r].size - 1);
	bool table = simmm_entry_is_table(e, (enum simmm_level)pt->lv[r].hi);
	enum simmm_level name = (enum simmm_level)(table ? pt->lv[r].hi : pt->lv[r].lo);

	tb_printf(t, "%*s%s %#llx-%#llx: %s", (int)(2 * r), "", simmm_level_name(name),
		  (unsigned long long)base, (unsigned long long)(base + pt->lv[r].size - 1), what);
	pt_format_entry(t, &pt->sim->geo, name, e);
	tb_printf(t, "\n");
}

/* Called once per level of a folded chain: print only at its lowest. */
static int dump_entry(simmm_entry_t *entry, simmm_addr_t addr, simmm_addr_t next,
		      struct simmm_walk *walk)
{
	int r = pt_real_level(walk->pt, walk->level);

	if (*entry && walk->level == walk->pt->lv[r].lo)
		dump_line(walk, (unsigned)r, *entry, addr, "");
	return 0;
}

static int dump_bad(simmm_entry_t *entry, simmm_addr_t addr, simmm_addr_t next, int depth,
		    struct simmm_walk *walk)
{
	int r = pt_real_level(walk->pt, (enum simmm_level)(SIMMM_LVL_PGD - depth));

	dump_line(walk, (unsigned)r, *entry, addr, "BAD ");
	return 0;
}

static const struct simmm_walk_ops dump_ops = {
	.pgd_entry = dump_entry,
	.p4d_entry = dump_entry,
	.pud_entry = dump_entry,
	.pmd_entry = dump_entry,
	.pte_entry = dump_entry,
	.bad_entry = dump_bad,
	.pte_skip_none = true,
};

long simmm_pgtable_dump(struct simmm_pgtable *pt, simmm_addr_t start, simmm_addr_t end,
			char *buf, size_t len)
{
	struct textbuf t;
	int err;

	if (!pt || (!buf && len))
		return -EINVAL;
	tb_init(&t, buf, len);
	tb_printf(&t, "pgtable %s [%#llx, %#llx) tables=%llu\n", pt->sim->geo.name,
		  (unsigned long long)start, (unsigned long long)end,
		  (unsigned long long)pt->nr_tables);
	err = simmm_walk_range(pt, start, end, &dump_ops, &t);
	if (err < 0)
		return err;
	return (long)t.pos;
}
