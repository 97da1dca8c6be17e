// SPDX-License-Identifier: MIT
/*
 * migrate_vma_setup(): the argument checks and the collect walk
 * (migrate_vma_collect() / migrate_vma_collect_pmd()), then the unmap.
 *
 * The walk looks at one address at a time. The kernel holds the pte lock
 * over a PMD's ptes and takes each page's reference and trylock under it,
 * so no other CPU sees a reference without its lock for longer than an
 * instant. Here other tasks may run once per candidate page: at the
 * scheduling point in grab(), before the reference, after which the entry
 * is looked up again (changed: the address is retried) and the reference
 * and the trylock are taken back to back. Between reading an entry and
 * replacing it nothing else schedules.
 */
#include <string.h>

#include "migrate/migrate.h"

#define COLLECT_MAX_RETRIES 8 /* per address: pte changed under us, split */

enum collect_result {
	COLLECT_DONE,     /* one pte collected (or not), next address */
	COLLECT_DONE_PMD, /* a whole PMD collected as one COMPOUND entry */
	COLLECT_RETRY,    /* the entry changed (or was split): look again */
	COLLECT_SKIP_PMD, /* nothing to collect up to the next PMD boundary */
	COLLECT_BUSY,     /* grab(): the folio is locked by someone else */
};

struct collect {
	struct simmm_migrate_vma *m;
	struct simmm_mm *mm;
	simmm_sim *sim;
	struct simmm_page *fault_folio;
	uint64_t ps;
};

static void push(struct collect *c, uint64_t mpfn)
{
	c->m->dst[c->m->npages] = 0;
	c->m->src[c->m->npages++] = mpfn;
}

/* migrate_vma_collect_skip(). */
static void collect_skip(struct collect *c, simmm_addr_t start, simmm_addr_t end)
{
	for (simmm_addr_t a = start; a < end; a += c->ps)
		push(c, 0);
}

/* Same entry after a scheduling point? Hardware may have set young or
 * dirty meanwhile; anything else means someone changed the entry. */
static bool pte_still(simmm_entry_t old, simmm_entry_t now)
{
	if (simmm_pte_present(old))
		return ((old ^ now) & ~(SIMMM_E_YOUNG | SIMMM_E_DIRTY)) == 0;
	return old == now;
}

/*
 * Reference and lock @folio, the folio of @page, mapped by @old at
 * @addr/@lvl, for the walk: COLLECT_DONE with both held, COLLECT_RETRY if
 * the entry changed at the scheduling point or the folio was split there
 * (a split leaves the pte as it is: @folio may now be a free page of its
 * own), COLLECT_BUSY if the folio is locked (best effort: never wait for
 * another migration). The scheduling point comes before
 * the reference, not between it and the trylock: a reference held without
 * the lock while this task sat preempted would make a CPU fault's split
 * or unmap of the folio fail its refcount check and refault with nothing
 * to wait for (the eviction scan had that bug, see migrate_device_range).
 */
static enum collect_result grab(struct collect *c, simmm_addr_t addr, enum simmm_level lvl,
				simmm_entry_t old, struct simmm_page *page, struct simmm_page *folio)
{
	simmm_entry_t *slot;

	simmm_sched_point(c->sim, "migrate_vma_collect");
	if (simmm_pgtable_lookup(c->mm->pgt, addr, lvl, &slot) || !pte_still(old, *slot) ||
	    simmm__compound_head(c->sim, page) != folio)
		return COLLECT_RETRY;
	simmm__folio_get(c->sim, folio);
	if (!simmm__folio_trylock_atomic(c->sim, folio)) {
		simmm__put_user_folio(c->sim, folio);
		return COLLECT_BUSY;
	}
	return COLLECT_DONE;
}

/* migrate_vma_collect_hole(): only anonymous memory may be populated. A
 * whole aligned PMD with SELECT_COMPOUND is one MIGRATE|COMPOUND entry,
 * the rest of it collected as empty entries in case it must be split. */
static void collect_hole(struct collect *c, simmm_addr_t start, simmm_addr_t end)
{
	uint64_t pmd = simmm_level_size(c->mm->pgt, SIMMM_LVL_PMD);

	if (!simmm__vma_is_anonymous(c->m->vma)) {
		collect_skip(c, start, end);
		return;
	}
	if ((c->m->flags & SIMMM_MIGRATE_VMA_SELECT_COMPOUND) && simmm__pmd_order(c->sim) &&
	    !(start & (pmd - 1)) && end - start == pmd) {
		push(c, SIMMM_MIGRATE_PFN_MIGRATE | SIMMM_MIGRATE_PFN_COMPOUND);
		c->m->cpages++;
		collect_skip(c, start + c->ps, end);
		return;
	}
	for (simmm_addr_t a = start; a < end; a += c->ps) {
		push(c, SIMMM_MIGRATE_PFN_MIGRATE);
		c->m->cpages++;
	}
}

/* migrate_vma_split_folio(): split a large folio met in the walk so its
 * pages can be collected one by one. The fault path's folio is locked and
 * referenced by the fault already; after the split its lock and reference
 * belong with the faulting page's new folio (do_swap_page() unlocks and
 * puts vmf->page's folio), so they move there. The split takes that
 * reference itself: the faulting page may have been zapped while the split
 * slept, and must not be freed with the unmapped tails. */
static enum collect_result split_large(struct collect *c, simmm_addr_t addr,
				       enum simmm_level lvl, simmm_entry_t entry,
				       struct simmm_page *page)
{
	struct simmm_page *folio = simmm__compound_head(c->sim, page);
	struct simmm_page *fault_page = c->m->fault_page
						? simmm__pfn_to_page(c->sim, c->m->fault_page)
						: NULL;
	bool is_fault = folio == c->fault_folio;
	struct simmm_page *nf;
	int err;

	if (!is_fault) {
		enum collect_result res = grab(c, addr, lvl, entry, page, folio);

		if (res != COLLECT_DONE)
			return res == COLLECT_BUSY ? COLLECT_SKIP_PMD : res;
	}
	err = simmm__split_folio_ref(c->sim, folio, is_fault ? fault_page : NULL);
	if (!is_fault || err) {
		if (!is_fault) {
			simmm__folio_unlock_put(c->sim, folio);
		}
		return err ? COLLECT_SKIP_PMD : COLLECT_RETRY;
	}
	nf = simmm__compound_head(c->sim, fault_page);
	if (nf == folio) {
		simmm__put_user_folio(c->sim, folio); /* the split's reference */
	} else {
		/* folio_lock(), not a trylock: the new folio may be mapped, so
		 * another migration's collect may have locked it since the
		 * split (our reference makes that one fail and restore it). */
		NEVER(simmm__folio_lock(c->sim, nf));
		simmm__folio_unlock_put(c->sim, folio);
	}
	c->fault_folio = nf;
	return COLLECT_RETRY;
}

/* The selection rules: which entry is a candidate, with which bits.
 * Returns the page (or NULL) and sets *mpfn; *res for early outcomes. */
static struct simmm_page *select_page(struct collect *c, simmm_addr_t addr, simmm_entry_t pte,
				      uint64_t *mpfn, enum collect_result *res)
{
	struct simmm_migrate_vma *m = c->m;
	struct simmm_dev_pagemap *pgmap;
	struct simmm_page *page;
	simmm_pfn_t pfn;

	*mpfn = 0;
	*res = COLLECT_DONE;
	if (!simmm_pte_present(pte)) {
		/* Only device-private entries: other swap-format entries are
		 * not migratable, swapped pages are ignored. */
		if (!simmm_is_device_private_entry(pte))
			return NULL;
		page = simmm__pfn_to_page(c->sim, simmm_swp_offset_pfn(pte));
		pgmap = page ? simmm__page_pgmap(c->sim, page) : NULL;
		if (!pgmap || !(m->flags & SIMMM_MIGRATE_VMA_SELECT_DEVICE_PRIVATE) ||
		    pgmap->owner != m->pgmap_owner)
			return NULL;
		if (simmm__compound_head(c->sim, page)->order) {
			/* A pte of a device THP (its PMD was split): the
			 * folio is split so this page can move alone. */
			*res = split_large(c, addr, SIMMM_LVL_PTE, pte, page);
			return NULL;
		}
		*mpfn = simmm_migrate_pfn(page->pfn) | SIMMM_MIGRATE_PFN_MIGRATE;
		if (simmm_is_writable_device_private_entry(pte))
			*mpfn |= SIMMM_MIGRATE_PFN_WRITE;
		return page;
	}
	pfn = simmm_pte_pfn(pte);
	if (pfn == simmm__zero_pfn(c->sim) && (m->flags & SIMMM_MIGRATE_VMA_SELECT_SYSTEM)) {
		*mpfn = SIMMM_MIGRATE_PFN_MIGRATE;
		m->cpages++;
		return NULL;
	}
	page = simmm__vm_normal_page(m->vma, pte);
	if (!page)
		return NULL;
	if (!simmm__is_zone_device_page(page)) {
		if (!(m->flags & SIMMM_MIGRATE_VMA_SELECT_SYSTEM))
			return NULL;
	} else if (simmm__is_device_coherent_page(page)) {
		pgmap = simmm__page_pgmap(c->sim, page);
		if (!(m->flags & SIMMM_MIGRATE_VMA_SELECT_DEVICE_COHERENT) || !pgmap ||
		    pgmap->owner != m->pgmap_owner)
			return NULL;
	} else {
		return NULL; /* DAX, generic, p2pdma memory is never migrated */
	}
	if (simmm__compound_head(c->sim, page)->order) {
		*res = split_large(c, addr, SIMMM_LVL_PTE, pte, page);
		return NULL;
	}
	*mpfn = simmm_migrate_pfn(pfn) | SIMMM_MIGRATE_PFN_MIGRATE;
	if (simmm_pte_write(pte))
		*mpfn |= SIMMM_MIGRATE_PFN_WRITE;
	return page;
}

/* Unshare, install the migration entry. The folio is referenced and
 * locked (grab(), or the fault path's folio). */
static enum collect_result take_page(struct collect *c, simmm_addr_t addr, simmm_entry_t pte,
				     struct simmm_page *page, uint64_t *mpfn)
{
	struct simmm_page *folio = simmm__compound_head(c->sim, page);
	bool locked_here = folio != c->fault_folio, exclusive;
	simmm_entry_t *slot;

	/* Nothing scheduled since grab() looked: the same entry. */
	if (simmm_pgtable_lookup(c->mm->pgt, addr, SIMMM_LVL_PTE, &slot) ||
	    NEVER(!pte_still(pte, *slot))) {
		if (locked_here)
			simmm__folio_unlock_put(c->sim, folio);
		else
			simmm__put_user_folio(c->sim, folio);
		return COLLECT_RETRY;
	}
	pte = *slot;
	exclusive = (folio->flags & PG_anon) && (page->flags & PG_anon_exclusive);
	if (exclusive && simmm__folio_maybe_dma_pinned(c->sim, folio)) {
		/* folio_try_share_anon_rmap_pte() fails: the pte stays. */
		if (locked_here)
			simmm__folio_unlock_put(c->sim, folio);
		else
			simmm__put_user_folio(c->sim, folio);
		*mpfn = 0;
		return COLLECT_DONE;
	}
	page->flags &= ~PG_anon_exclusive;
	c->m->cpages++;
	if (simmm_pte_present(pte) && simmm_pte_dirty(pte))
		folio->flags |= PG_dirty;
	simmm_pgtable_set(c->mm->pgt, addr, SIMMM_LVL_PTE,
			  simmm__mig_entry(pte, page, *mpfn & SIMMM_MIGRATE_PFN_WRITE, exclusive));
	/* Like an unmap: the pte's mapcount and reference go; ours stays.
	 * folio_remove_rmap_pte() munlocks it in a VM_LOCKED VMA (the
	 * migrated copy is mlocked again when remove_migration_ptes() maps
	 * it: migrating an mlocked page is allowed). */
	simmm__page_remove_rmap_pte(c->sim, page);
	simmm__munlock_vma_folio(c->sim, folio, c->m->vma);
	simmm__folio_put(c->sim, folio);
	simmm__mig_anon_vma_get(folio);
	return COLLECT_DONE;
}

static enum collect_result collect_pte(struct collect *c, simmm_addr_t addr, simmm_entry_t pte)
{
	enum collect_result res;
	struct simmm_page *page;
	uint64_t mpfn;

	if (simmm_entry_none(pte)) {
		collect_hole(c, addr, addr + c->ps);
		return COLLECT_DONE;
	}
	page = select_page(c, addr, pte, &mpfn, &res);
	if (res != COLLECT_DONE)
		return res;
	/* No page, or no mapping (not anonymous, not page cache). */
	if (page && !simmm__compound_head(c->sim, page)->mapping) {
		page = NULL;
		mpfn = 0;
	}
	if (page) {
		struct simmm_page *folio = simmm__compound_head(c->sim, page);

		if (folio == c->fault_folio) {
			simmm__folio_get(c->sim, folio);
		} else {
			res = grab(c, addr, SIMMM_LVL_PTE, pte, page, folio);
			if (res == COLLECT_RETRY)
				return res;
			if (res == COLLECT_BUSY) {
				push(c, 0);
				return COLLECT_DONE;
			}
		}
		res = take_page(c, addr, pte, page, &mpfn);
		if (res != COLLECT_DONE)
			return res;
	} else if (mpfn != SIMMM_MIGRATE_PFN_MIGRATE) {
		mpfn = 0;
	}
	push(c, mpfn);
	return COLLECT_DONE;
}

static simmm_addr_t level_end(struct collect *c, simmm_addr_t addr, enum simmm_level lvl)
{
	uint64_t size = simmm_level_size(c->mm->pgt, lvl);
	simmm_addr_t next = (addr | (size - 1)) + 1;

	return next > c->m->end || next < addr ? c->m->end : next;
}

/* The selection rules for a PMD leaf's folio (present THP or device THP
 * entry): true if it is a candidate; *mpfn gets its bits. */
static bool select_huge(struct collect *c, simmm_entry_t pmd, struct simmm_page *folio,
			uint64_t *mpfn)
{
	struct simmm_migrate_vma *m = c->m;
	struct simmm_dev_pagemap *pgmap = simmm__page_pgmap(c->sim, folio);
	bool write;

	if (simmm__is_device_private_page(folio)) {
		if (!(m->flags & SIMMM_MIGRATE_VMA_SELECT_DEVICE_PRIVATE) || !pgmap ||
		    pgmap->owner != m->pgmap_owner)
			return false;
		write = simmm_is_writable_device_private_entry(pmd);
	} else if (simmm__is_device_coherent_page(folio)) {
		if (!(m->flags & SIMMM_MIGRATE_VMA_SELECT_DEVICE_COHERENT) || !pgmap ||
		    pgmap->owner != m->pgmap_owner)
			return false;
		write = simmm_pte_write(pmd);
	} else if (!simmm__is_zone_device_page(folio)) {
		if (!(m->flags & SIMMM_MIGRATE_VMA_SELECT_SYSTEM))
			return false;
		write = simmm_pte_write(pmd);
	} else {
		return false;
	}
	*mpfn = simmm_migrate_pfn(folio->pfn) | SIMMM_MIGRATE_PFN_MIGRATE |
		SIMMM_MIGRATE_PFN_COMPOUND | (write ? SIMMM_MIGRATE_PFN_WRITE : 0);
	return true;
}

/* migrate_vma_collect_huge_pmd() [6.19+]: a THP (or device THP) whose
 * whole PMD lies in the range is collected as one COMPOUND entry, its PMD
 * replaced by a PMD migration entry; the other pages of the PMD get empty
 * entries. The folio is referenced by the caller. */
static enum collect_result take_huge(struct collect *c, simmm_addr_t addr, simmm_entry_t pmd,
				     struct simmm_page *folio, uint64_t mpfn)
{
	bool locked_here = folio != c->fault_folio, exclusive;
	uint64_t nr = 1ULL << folio->order;
	simmm_entry_t *slot;

	/* Nothing scheduled since grab() looked: the same entry, but for the
	 * young and dirty bits, which an access may have set and reclaim's
	 * folio_referenced() cleared at grab()'s scheduling point (the kernel
	 * re-reads the PMD under its lock). The migration entry is made from
	 * the PMD as it is now, so a dirty bit set meanwhile is not lost. */
	if (simmm_pgtable_lookup(c->mm->pgt, addr, SIMMM_LVL_PMD, &slot) ||
	    NEVER(!pte_still(pmd, *slot))) {
		if (locked_here)
			simmm__folio_unlock_put(c->sim, folio);
		else
			simmm__put_user_folio(c->sim, folio);
		return COLLECT_RETRY;
	}
	pmd = *slot;
	/* PageAnonExclusive is per page but set and cleared for the whole
	 * PMD mapping: the head tells. */
	exclusive = (folio->flags & PG_anon) && (folio->flags & PG_anon_exclusive);
	if (exclusive && simmm__folio_maybe_dma_pinned(c->sim, folio)) {
		/* folio_try_share_anon_rmap_pmd() fails: the PMD stays. */
		if (locked_here)
			simmm__folio_unlock_put(c->sim, folio);
		else
			simmm__put_user_folio(c->sim, folio);
		return COLLECT_SKIP_PMD;
	}
	for (uint64_t i = 0; i < nr; i++)
		simmm__pfn_to_page(c->sim, folio->pfn + i)->flags &= ~PG_anon_exclusive;
	if (simmm_pte_present(pmd) && simmm_pte_dirty(pmd))
		folio->flags |= PG_dirty;
	simmm_pgtable_set(c->mm->pgt, addr, SIMMM_LVL_PMD,
			  simmm__mig_entry(pmd, folio, mpfn & SIMMM_MIGRATE_PFN_WRITE, exclusive));
	simmm__folio_remove_rmap_entire(c->sim, folio);
	simmm__munlock_vma_folio(c->sim, folio, c->m->vma);
	simmm__folio_put(c->sim, folio);
	simmm__mig_anon_vma_get(folio);
	c->m->cpages++;
	push(c, mpfn);
	collect_skip(c, addr + c->ps, addr + (nr << c->sim->geo.page_shift));
	return COLLECT_DONE_PMD;
}

/* A leaf above PTE level. A THP or device THP the flags or the owner do
 * not select is skipped. With SELECT_COMPOUND, one whose PMD the range
 * covers moves as a unit; otherwise it is split and the address retried. The huge zero page counts as a hole. A PMD migration
 * entry (another migration) is not collected, like a pte one. */
static enum collect_result collect_huge(struct collect *c, simmm_addr_t addr,
					const struct simmm_translation *t)
{
	uint64_t pmd = simmm_level_size(c->mm->pgt, SIMMM_LVL_PMD), mpfn;
	struct simmm_page *page, *folio;

	if (t->level != SIMMM_LVL_PMD)
		return COLLECT_SKIP_PMD;
	if (t->present) {
		if (simmm__is_huge_zero_pfn(c->sim, t->pfn)) {
			/* The huge zero page is collected like a hole [6.19+]:
			 * one COMPOUND entry when the whole PMD is in range. */
			simmm_addr_t next = level_end(c, addr, SIMMM_LVL_PMD);

			if (!(c->m->flags & SIMMM_MIGRATE_VMA_SELECT_SYSTEM))
				return COLLECT_SKIP_PMD;
			collect_hole(c, addr, next);
			return COLLECT_DONE_PMD;
		}
		page = simmm__vm_normal_page(c->m->vma, t->entry);
	} else if (simmm_is_device_private_entry(t->entry)) {
		page = simmm__pfn_to_page(c->sim, simmm_swp_offset_pfn(t->entry));
	} else {
		return COLLECT_SKIP_PMD;
	}
	if (!page)
		return COLLECT_SKIP_PMD;
	folio = simmm__compound_head(c->sim, page);
	/* The selection flags and the owner come first: a folio this
	 * migration does not select is skipped, never split (it may be
	 * another driver's device THP). */
	if (!select_huge(c, t->entry, folio, &mpfn))
		return COLLECT_SKIP_PMD;
	if (!(c->m->flags & SIMMM_MIGRATE_VMA_SELECT_COMPOUND) || (addr & (pmd - 1)) ||
	    c->m->end - addr < pmd || folio->order != simmm__pmd_order(c->sim) ||
	    (folio->flags & PG_swapcache))
		return split_large(c, addr, SIMMM_LVL_PMD, t->entry, page);
	if (!folio->mapping)
		return COLLECT_SKIP_PMD;
	if (folio == c->fault_folio) {
		simmm__folio_get(c->sim, folio);
	} else {
		enum collect_result res = grab(c, addr, SIMMM_LVL_PMD, t->entry, page, folio);

		if (res != COLLECT_DONE)
			return res == COLLECT_BUSY ? COLLECT_SKIP_PMD : res;
	}
	return take_huge(c, addr, t->entry, folio, mpfn);
}


/* One address (or one hole / skipped leaf): returns the next address. */
static simmm_addr_t collect_at(struct collect *c, simmm_addr_t addr, unsigned *tries)
{
	struct simmm_translation t;
	enum collect_result res;
	simmm_entry_t *slot;
	int err = simmm_pgtable_translate(c->mm->pgt, addr, &t);

	if (err == -ENOENT) {
		/* A hole: one pte, or up to the next PMD boundary (holes above
		 * PMD level are collected PMD by PMD, so COMPOUND can apply). */
		simmm_addr_t next = t.level == SIMMM_LVL_PTE ? addr + c->ps
							     : level_end(c, addr, SIMMM_LVL_PMD);

		collect_hole(c, addr, next);
		return next;
	}
	if (err || simmm_pgtable_lookup(c->mm->pgt, addr, SIMMM_LVL_PTE, &slot))
		res = err ? COLLECT_SKIP_PMD : collect_huge(c, addr, &t);
	else
		res = collect_pte(c, addr, *slot);
	if (res == COLLECT_RETRY && ++*tries < COLLECT_MAX_RETRIES)
		return addr;
	if (res == COLLECT_DONE)
		return addr + c->ps;
	if (res == COLLECT_DONE_PMD)
		return level_end(c, addr, SIMMM_LVL_PMD);
	if (res == COLLECT_RETRY) {
		push(c, 0);
		return addr + c->ps;
	}
	collect_skip(c, addr, level_end(c, addr, SIMMM_LVL_PMD));
	return level_end(c, addr, SIMMM_LVL_PMD);
}

static void migrate_vma_collect(struct simmm_migrate_vma *m)
{
	struct simmm_mm *mm = m->vma->mm;
	struct collect c = {.m = m, .mm = mm, .sim = mm->sim, .ps = mm->sim->page_size};
	struct simmm_change ch;
	simmm_addr_t addr = m->start;
	unsigned tries = 0;

	if (m->fault_page)
		c.fault_folio = simmm__compound_head(c.sim, simmm__pfn_to_page(c.sim, m->fault_page));
	/* The owner lets the driver skip invalidating its own device pages,
	 * which are not being migrated away from it. */
	simmm__change_begin(&ch, mm, m->start, m->end, SIMMM_MMU_NOTIFY_MIGRATE, m->pgmap_owner);
	while (addr < m->end) {
		simmm_addr_t next = collect_at(&c, addr, &tries);

		if (next != addr)
			tries = 0;
		addr = next;
	}
	simmm__change_end(&ch);
	m->end = m->start + (m->npages << mm->sim->geo.page_shift);
}

static bool fault_page_ok(simmm_sim *sim, simmm_pfn_t pfn)
{
	struct simmm_page *p;

	if (!simmm__pfn_valid(sim, pfn))
		return false;
	p = simmm__pfn_to_page(sim, pfn);
	return p && simmm__is_device_private_page(p) &&
	       (simmm__compound_head(sim, p)->flags & PG_locked);
}

static int setup_check(struct simmm_migrate_vma *a, int64_t *nr)
{
	struct simmm_vma *vma = a->vma;
	struct simmm_mm *mm = vma ? vma->mm : NULL;
	uint64_t mask;

	if (!vma || !simmm__mm_ok(mm))
		return -EINVAL;
	mask = ~(mm->sim->page_size - 1);
	*nr = (int64_t)(a->end - a->start) >> mm->sim->geo.page_shift;
	a->start &= mask;
	a->end &= mask;
	if ((vma->vm_flags & (SIMMM_VM_HUGETLB | SIMMM_VM_SPECIAL)) || *nr <= 0)
		return -EINVAL;
	if (a->start < vma->vm_start || a->start >= vma->vm_end)
		return -EINVAL;
	if (a->end <= vma->vm_start || a->end > vma->vm_end)
		return -EINVAL;
	if (!a->src || !a->dst)
		return -EINVAL;
	if (a->fault_page && !fault_page_ok(mm->sim, a->fault_page))
		return -EINVAL;
	if (simmm_lock_held(mm->sim, &mm->mmap_lock.map) == SIMMM_LOCK_NOT_HELD) {
		simmm__report(mm->sim, SIMMM_REPORT_MISUSE,
			      "migrate_vma_setup without the mmap lock of mm %llu",
			      (unsigned long long)mm->id);
		return -EINVAL;
	}
	return 0;
}

int simmm_migrate_vma_setup(struct simmm_migrate_vma *args)
{
	int64_t nr;
	int err;

	if (!args)
		return -EINVAL;
	err = setup_check(args, &nr);
	if (err)
		return err;
	/* Walk exactly the @nr pages the caller's arrays were sized for. */
	args->end = args->start + ((uint64_t)nr << args->vma->mm->sim->geo.page_shift);
	if (args->end > args->vma->vm_end)
		return -EINVAL;
	memset(args->src, 0, sizeof(*args->src) * (size_t)nr);
	args->cpages = 0;
	args->npages = 0;
	migrate_vma_collect(args);
	if (args->cpages)
		args->cpages = simmm__migrate_device_unmap(args->vma->mm->sim, args->src,
							   args->npages,
							   args->fault_page
								   ? simmm__pfn_to_page(args->vma->mm->sim,
											args->fault_page)
								   : NULL);
	/* The pages are locked and unmapped: their contents are stable. */
	return 0;
}
