// SPDX-License-Identifier: MIT
/*
 * The page-table object: creation from the machine's geometry, address
 * validation, descending to a level (with or without allocation), and the
 * single-entry mutations set/clear/translate.
 */
#include <string.h>

#include "pgtable/pt.h"

/* ---- geometry -------------------------------------------------------------- */

/* Precompute per real level what the hot paths need, top first. A real
 * level serves itself and the folded levels directly below it. */
static void pt_setup_levels(struct simmm_pgtable *pt, const struct simmm_geometry *g)
{
	unsigned r = 0;

	for (int k = SIMMM_LVL_PGD; k >= SIMMM_LVL_PTE; k--) {
		const struct simmm_level_desc *d = &g->level[k];
		if (d->folded) {
			pt->lv[r - 1].lo = (uint8_t)k;
			pt->lv[r - 1].leaf |= d->leaf;
			pt->real_of[k] = (int8_t)(r - 1);
			continue;
		}
		struct pt_level *l = &pt->lv[r];
		l->hi = l->lo = (uint8_t)k;
		l->shift = d->shift;
		l->leaf = d->leaf;
		l->nent = 1u << d->bits;
		l->mask = l->nent - 1;
		l->size = 1ULL << d->shift;
		pt->real_of[k] = (int8_t)r++;
	}
	pt->nreal = r;
	for (r = 0; r < pt->nreal; r++)
		pt->lv[r].depth = (uint8_t)(SIMMM_LVL_PGD - pt->lv[r].lo);
	pt->page_shift = g->page_shift;
	pt->va_end = g->user_va_end;
}

int pt_real_level(const struct simmm_pgtable *pt, enum simmm_level lvl)
{
	if ((unsigned)lvl >= SIMMM_NR_LEVELS)
		return -EINVAL;
	return pt->real_of[lvl];
}

/* ---- address validation ---------------------------------------------------- */

/* Canonical geometries sign-extend from bit va_bits-1; the others (arm64,
 * toy) split at va_bits, with all-ones high bits being the TTBR1 kernel
 * half on arm64. Either way: high bits all zero is user, all ones is the
 * kernel half (-EFAULT), anything else is not an address (-EINVAL). */
int pt_check_addr(const struct simmm_pgtable *pt, simmm_addr_t a)
{
	const struct simmm_geometry *g = &pt->sim->geo;
	unsigned split = g->canonical ? g->va_bits - 1u : g->va_bits;
	uint64_t hi = a >> split;
	uint64_t ones = ~0ULL >> split;

	if (hi == 0)
		return a < pt->va_end ? 0 : -EFAULT;
	return hi == ones ? -EFAULT : -EINVAL;
}

int pt_check_range(const struct simmm_pgtable *pt, simmm_addr_t start, simmm_addr_t end,
		   uint64_t align)
{
	int err;

	if ((start | end) & (align - 1))
		return -EINVAL;
	if (start >= end)
		return -EINVAL;
	err = pt_check_addr(pt, start);
	return err ? err : pt_check_addr(pt, end - 1);
}

/* ---- table pages ----------------------------------------------------------- */

struct simmm_page *pt_table_alloc(struct simmm_pgtable *pt, unsigned r, simmm_addr_t a)
{
	uint64_t span = r ? pt->lv[r - 1].size : 0;
	struct simmm_page *tbl;

	tbl = simmm__pt_page_alloc(pt->sim, pt->lv[r].nent, pt, pt->lv[r].hi);
	if (!tbl)
		return NULL;
	tbl->index = span ? a & ~(span - 1) : 0;
	pt->nr_tables++;
	simmm__trace(pt->sim, SIMMM_EV_PT_ALLOC, tbl->index, tbl->pfn, pt->lv[r].hi, 0);
	return tbl;
}

void pt_table_free(struct simmm_pgtable *pt, struct simmm_page *tbl, unsigned r)
{
	/* A PMD table freed with tables still deposited: the kernel's
	 * pagetable_pmd_dtor() warns (VM_BUG_ON_PAGE(pmd_huge_pte)) and they
	 * leak; simmm reports and frees them, so one bug is one report. */
	if (tbl->pt_deposit) {
		simmm__report(pt->sim, SIMMM_REPORT_WARN,
			      "pgtable: %s table %#llx freed with deposited tables",
			      simmm_level_name((enum simmm_level)pt->lv[r].hi),
			      (unsigned long long)tbl->pfn);
		while (tbl->pt_deposit) {
			struct simmm_page *d = simmm__pfn_to_page(pt->sim, tbl->pt_deposit);

			if (NEVER(!d || !(d->flags & PG_table) || r + 1 >= pt->nreal))
				break;
			tbl->pt_deposit = d->pt_deposit;
			d->pt_deposit = 0;
			pt->nr_deposited--;
			pt_table_free(pt, d, r + 1);
		}
	}
	simmm__trace(pt->sim, SIMMM_EV_PT_FREE, tbl->index, tbl->pfn, pt->lv[r].hi, 0);
	pt->nr_tables--;
	simmm__pt_page_free(pt->sim, tbl);
}

/* Swap-format entries have no bits outside type, offset and the three
 * swap-pte bits; present ones never carry SIMMM_E_SWP. */
static bool pt_swp_ok(simmm_entry_t e)
{
	const uint64_t spare = (1ULL << 6) | (1ULL << 7) | (1ULL << 13) | SIMMM_E_PRESENT |
			       SIMMM_E_PROTNONE;
	return (e & SIMMM_E_SWP) && !(e & spare);
}

/* A leaf above PTE maps an aligned run of frames (the low pfn bits are
 * reserved in x86 PMD/PUD leaves); so does a PMD migration entry. */
static bool pt_leaf_aligned(const struct simmm_pgtable *pt, unsigned r, simmm_entry_t e)
{
	uint64_t pages = pt->lv[r].size >> pt->page_shift;
	simmm_pfn_t pfn = 0;

	simmm_entry_pfn(e, &pfn);
	return (pfn & (pages - 1)) == 0;
}

bool pt_entry_ok(const struct simmm_pgtable *pt, unsigned r, simmm_entry_t e)
{
	if (e == 0)
		return true;
	if (pt_is_bottom(pt, r))
		return simmm_pte_present(e) ? !(e & (SIMMM_E_LEAF | SIMMM_E_SWP)) : pt_swp_ok(e);
	if (!pt->lv[r].leaf || !pt_leaf_aligned(pt, r, e))
		return false;
	if (!simmm_pte_present(e))
		return pt_swp_ok(e);
	return !(e & SIMMM_E_SWP) && (e & SIMMM_E_LEAF);
}

/* ---- create / destroy ------------------------------------------------------ */

int simmm_pgtable_create(simmm_sim *sim, struct simmm_pgtable **out)
{
	struct simmm_pgtable *pt;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!simmm__sim_ok(sim))
		return -EINVAL;
	pt = simmm__zalloc(sim, SIMMM_ALLOC_META, sizeof(*pt));
	if (!pt)
		return -ENOMEM;
	pt->sim = sim;
	pt_setup_levels(pt, &sim->geo);
	pt->root = pt_table_alloc(pt, 0, 0);
	if (!pt->root)
		goto err_free;
	if (simmm__add_checker(sim, "pgtable", pt_check, pt))
		goto err_root;
	*out = pt;
	return 0;

err_root:
	pt_table_free(pt, pt->root, 0);
err_free:
	simmm__free(sim, SIMMM_ALLOC_META, pt, sizeof(*pt));
	return -ENOMEM;
}

int simmm_pgtable_destroy(struct simmm_pgtable **ptp, simmm_pt_clear_fn fn, void *arg)
{
	struct simmm_pgtable *pt;

	if (!ptp || !*ptp)
		return -EINVAL;
	pt = *ptp;
	/* Leaves never straddle the whole user range, so no split (and no
	 * allocation) is needed: teardown of everything cannot fail. */
	pt_zap(pt, 0, pt->va_end, fn, arg);
	simmm__remove_checker(pt->sim, pt_check, pt);
	pt_table_free(pt, pt->root, 0);
	simmm__free(pt->sim, SIMMM_ALLOC_META, pt, sizeof(*pt));
	*ptp = NULL;
	return 0;
}

simmm_sim *simmm_pgtable_sim(const struct simmm_pgtable *pt)
{
	return pt ? pt->sim : NULL;
}

uint64_t simmm_pgtable_nr_tables(const struct simmm_pgtable *pt)
{
	return pt ? pt->nr_tables : 0;
}

uint64_t simmm_level_size(const struct simmm_pgtable *pt, enum simmm_level lvl)
{
	int r = pt ? pt_real_level(pt, lvl) : -EINVAL;
	return r < 0 ? 0 : pt->lv[r].size;
}

bool simmm_level_can_leaf(const struct simmm_pgtable *pt, enum simmm_level lvl)
{
	int r = pt ? pt_real_level(pt, lvl) : -EINVAL;
	return r >= 0 && pt->lv[r].leaf;
}

/* ---- descending ------------------------------------------------------------ */

/* Classify a non-none entry met on the way down at real level r. */
static int pt_step(struct simmm_pgtable *pt, unsigned r, simmm_entry_t e,
		   struct simmm_page **child)
{
	*child = pt_child(pt, r, e);
	if (*child)
		return 0;
	if (simmm_entry_is_table(e, (enum simmm_level)pt->lv[r].hi))
		return -EUCLEAN; /* table pointer to something else */
	return pt_entry_ok(pt, r, e) ? -EEXIST : -EUCLEAN;
}

/* Allocate the tables for real levels r+1 .. target under loc (whose slot
 * is none), then link them: either everything is linked or nothing is. */
static int pt_fill_path(struct simmm_pgtable *pt, simmm_addr_t a, unsigned target,
			struct pt_loc *loc)
{
	struct simmm_page *fresh[PT_MAX_REAL];
	unsigned n = target - loc->r, i;

	for (i = 0; i < n; i++) {
		fresh[i] = pt_table_alloc(pt, loc->r + 1 + i, a);
		if (!fresh[i])
			goto err;
	}
	for (i = 0; i < n; i++) {
		pt_store(loc->table, loc->slot, simmm_mk_entry(fresh[i]->pfn, SIMMM_PAGE_TABLE));
		loc->table = fresh[i];
		loc->r++;
		loc->slot = &pt_ents(fresh[i])[pt_index(pt, loc->r, a)];
	}
	return 0;
err:
	while (i--)
		pt_table_free(pt, fresh[i], loc->r + 1 + i);
	return -ENOMEM;
}

int pt_locate(struct simmm_pgtable *pt, simmm_addr_t a, unsigned r, bool alloc,
	      struct pt_loc *loc)
{
	struct simmm_page *child;
	int err;

	loc->table = pt->root;
	for (loc->r = 0;; loc->r++) {
		loc->slot = &pt_ents(loc->table)[pt_index(pt, loc->r, a)];
		if (loc->r == r)
			break;
		if (*loc->slot == 0) {
			if (!alloc)
				return -ENOENT;
			err = pt_fill_path(pt, a, r, loc);
			if (err)
				return err;
			break;
		}
		err = pt_step(pt, loc->r, *loc->slot, &child);
		if (err)
			return err;
		loc->table = child;
	}
	loc->base = a & ~(pt->lv[r].size - 1);
	return 0;
}

static int pt_locate_checked(struct simmm_pgtable *pt, simmm_addr_t a, enum simmm_level lvl,
			     bool alloc, struct pt_loc *loc)
{
	int r, err;

	if (!pt)
		return -EINVAL;
	r = pt_real_level(pt, lvl);
	if (r < 0)
		return r;
	err = pt_check_addr(pt, a);
	return err ? err : pt_locate(pt, a, (unsigned)r, alloc, loc);
}

int simmm_pgtable_lookup(struct simmm_pgtable *pt, simmm_addr_t addr, enum simmm_level lvl,
			 simmm_entry_t **slot)
{
	struct pt_loc loc;
	int err;

	if (!slot)
		return -EINVAL;
	err = pt_locate_checked(pt, addr, lvl, false, &loc);
	if (!err)
		*slot = loc.slot;
	return err;
}

int simmm_pgtable_alloc_level(struct simmm_pgtable *pt, simmm_addr_t addr, enum simmm_level lvl,
			      simmm_entry_t **slot)
{
	struct pt_loc loc;
	int err = pt_locate_checked(pt, addr, lvl, true, &loc);

	if (!err && slot)
		*slot = loc.slot;
	return err;
}

/* ---- set / clear ----------------------------------------------------------- */

void pt_set_traced(struct simmm_pgtable *pt, struct pt_loc *loc, simmm_entry_t e)
{
	simmm_entry_t old = *loc->slot;
	uint64_t lvl = pt_leaf_level(pt, loc->r);

	pt_store(loc->table, loc->slot, e);
	if (e)
		simmm__trace(pt->sim, SIMMM_EV_PT_SET, loc->base, loc->table->pfn, lvl, e);
	else if (old)
		simmm__trace(pt->sim, SIMMM_EV_PT_CLEAR, loc->base, loc->table->pfn, lvl, old);
}

int simmm_pgtable_set(struct simmm_pgtable *pt, simmm_addr_t addr, enum simmm_level lvl,
		      simmm_entry_t e)
{
	struct pt_loc loc;
	int r, err;

	if (!pt || (r = pt_real_level(pt, lvl)) < 0)
		return -EINVAL;
	if (addr & (pt->lv[r].size - 1) || !pt_entry_ok(pt, (unsigned)r, e))
		return -EINVAL;
	/* Storing none needs no tables; do not allocate just to clear. */
	err = pt_locate_checked(pt, addr, lvl, e != 0, &loc);
	if (err == -ENOENT && e == 0)
		return 0;
	if (err)
		return err;
	if (simmm_entry_is_table(*loc.slot, (enum simmm_level)pt->lv[r].hi))
		return -EEXIST;
	pt_set_traced(pt, &loc, e);
	return 0;
}

int simmm_pgtable_clear(struct simmm_pgtable *pt, simmm_addr_t addr, enum simmm_level lvl,
			simmm_entry_t *old)
{
	struct pt_loc loc;
	int err;

	if (old)
		*old = 0;
	err = pt_locate_checked(pt, addr, lvl, false, &loc);
	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	if (simmm_entry_is_table(*loc.slot, (enum simmm_level)pt->lv[loc.r].hi) &&
	    !pt_is_bottom(pt, loc.r))
		return -EISDIR;
	if (old)
		*old = *loc.slot;
	pt_set_traced(pt, &loc, 0);
	return 0;
}

/* ---- translate ------------------------------------------------------------- */

/* Effective rights: x86 ANDs RW and US over every level and sets NX if any
 * level has it; this layer's table entries carry the same three bits. */
static void pt_leaf_result(const struct simmm_pgtable *pt, unsigned r, simmm_addr_t a,
			   simmm_entry_t e, uint64_t rights, struct simmm_translation *out)
{
	out->entry = e;
	out->level = pt_leaf_level(pt, r);
	out->present = simmm_pte_present(e);
	if (!out->present)
		return;
	/* A PROT_NONE leaf still maps its frame (the kernel's pte_present());
	 * it only grants no rights. */
	out->pfn = simmm_pte_pfn(e) + ((a & (pt->lv[r].size - 1)) >> pt->page_shift);
	if (simmm_pte_protnone(e))
		return;
	rights &= e;
	out->write = rights & SIMMM_E_WRITE;
	out->user = rights & SIMMM_E_USER;
	out->exec = rights & SIMMM_E_EXEC;
}

/* simmm_pgtable_translate(), also handing back the leaf's slot (on
 * success only) so that callers wanting both need not walk twice. */
static int pt_translate(struct simmm_pgtable *pt, simmm_addr_t addr,
			struct simmm_translation *out, simmm_entry_t **slotp)
{
	struct simmm_page *tbl, *child;
	uint64_t rights = SIMMM_E_WRITE | SIMMM_E_USER | SIMMM_E_EXEC;
	int err;

	if (!pt || !out)
		return -EINVAL;
	*out = (struct simmm_translation){0};
	err = pt_check_addr(pt, addr);
	if (err)
		return err;
	tbl = pt->root;
	for (unsigned r = 0; r < pt->nreal; r++) {
		simmm_entry_t *slot = &pt_ents(tbl)[pt_index(pt, r, addr)];
		simmm_entry_t e = *slot;
		out->level = pt_leaf_level(pt, r);
		if (e == 0)
			return -ENOENT;
		if (pt_is_bottom(pt, r) || !simmm_entry_is_table(e, (enum simmm_level)pt->lv[r].hi)) {
			if (!pt_entry_ok(pt, r, e))
				return -EUCLEAN;
			pt_leaf_result(pt, r, addr, e, rights, out);
			*slotp = slot;
			return 0;
		}
		child = pt_child(pt, r, e);
		if (!child)
			return -EUCLEAN;
		rights &= e;
		tbl = child;
	}
	return -EUCLEAN; /* unreachable: the bottom level always returns */
}

int simmm_pgtable_translate(struct simmm_pgtable *pt, simmm_addr_t addr,
			    struct simmm_translation *out)
{
	simmm_entry_t *slot;

	return pt_translate(pt, addr, out, &slot);
}

/* The slot is the one simmm_pgtable_lookup(addr, out->level) would find:
 * that descent meets the same table entries the translation just did. */
int simmm__pgtable_translate_slot(struct simmm_pgtable *pt, simmm_addr_t addr,
				  struct simmm_translation *out, simmm_entry_t **slot)
{
	return pt_translate(pt, addr, out, slot);
}
