// SPDX-License-Identifier: MIT
/*
 * Bulk fill: map a large aligned range with leaves of one level in one call
 * (a 1 GiB range of 4 KiB leaves is 262144 entries in 513 tables). Entries
 * of one table are written in a tight loop; tables come from pt_locate()
 * once per table, not once per entry.
 */
#include "pgtable/pt.h"

/* Pre-check through the walker: anything but none at the target level, or
 * anything but a table pointer above it, makes the fill fail. */
static int fill_busy(simmm_entry_t *entry, simmm_addr_t addr, simmm_addr_t next,
		     struct simmm_walk *walk)
{
	unsigned target = *(unsigned *)walk->private;
	int r = pt_real_level(walk->pt, walk->level);

	if ((unsigned)r < target)
		return pt_child(walk->pt, (unsigned)r, *entry) ? 0 : 1;
	return *entry != 0;
}

static int fill_check(struct simmm_pgtable *pt, simmm_addr_t start, simmm_addr_t end,
		      unsigned r)
{
	struct simmm_walk_ops ops = {0};
	simmm_walk_entry_fn *cb[SIMMM_NR_LEVELS] = {
		&ops.pte_entry, &ops.pmd_entry, &ops.pud_entry, &ops.p4d_entry, &ops.pgd_entry,
	};
	int err;

	for (int k = pt->lv[r].lo; k < SIMMM_NR_LEVELS; k++)
		*cb[k] = fill_busy;
	err = simmm_walk_range(pt, start, end, &ops, &r);
	return err > 0 ? -EEXIST : err;
}

/* Fill the slots of one table from @loc on; returns the next address. */
static simmm_addr_t fill_table(struct simmm_pgtable *pt, struct pt_loc *loc, simmm_addr_t addr,
			       simmm_addr_t end, simmm_entry_t *e, uint64_t inc)
{
	const struct pt_level *l = &pt->lv[loc->r];
	unsigned idx = pt_index(pt, loc->r, addr);
	uint64_t room = l->nent - idx, left = (end - addr) >> l->shift;
	uint64_t n = room < left ? room : left;

	for (uint64_t i = 0; i < n; i++, loc->slot++, addr += l->size) {
		loc->base = addr;
		pt_set_traced(pt, loc, *e);
		*e += inc;
	}
	return addr;
}

static int fill_args(struct simmm_pgtable *pt, simmm_addr_t start, simmm_addr_t end,
		     unsigned r, simmm_entry_t proto)
{
	uint64_t step = pt->lv[r].size >> pt->page_shift;
	uint64_t nr;
	int err;

	err = pt_check_range(pt, start, end, pt->lv[r].size);
	if (err)
		return err;
	if (!simmm_pte_present(proto) || !pt_entry_ok(pt, r, proto))
		return -EINVAL;
	nr = (end - start) >> pt->lv[r].shift;
	if ((nr - 1) * step > SIMMM_E_PFN_MAX - simmm_pte_pfn(proto))
		return -EINVAL;
	return 0;
}

int simmm_pgtable_fill(struct simmm_pgtable *pt, simmm_addr_t start, simmm_addr_t end,
		       enum simmm_level lvl, simmm_entry_t proto)
{
	struct pt_loc loc;
	simmm_addr_t addr = start;
	uint64_t inc;
	int r, err;

	if (!pt || (r = pt_real_level(pt, lvl)) < 0)
		return -EINVAL;
	err = fill_args(pt, start, end, (unsigned)r, proto);
	if (!err)
		err = fill_check(pt, start, end, (unsigned)r);
	if (err)
		return err;
	inc = (pt->lv[r].size >> pt->page_shift) << SIMMM_E_PFN_SHIFT;
	while (addr < end) {
		err = pt_locate(pt, addr, (unsigned)r, true, &loc);
		if (err)
			goto err_undo;
		addr = fill_table(pt, &loc, addr, end, &proto, inc);
	}
	return 0;

err_undo:
	if (addr > start)
		pt_zap(pt, start, addr, NULL, NULL);
	return err;
}
