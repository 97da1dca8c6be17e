// SPDX-License-Identifier: MIT
/*
 * The reverse-map side of migration (mm/rmap.c try_to_migrate(), mm/
 * migrate.c remove_migration_ptes()). A folio under migration is not
 * mapped, so the generic rmap walk (which, like folio_lock_anon_vma_read(),
 * only trusts the anon_vma of a mapped folio) does not apply: the walk
 * here follows the anon_vma the migration pinned (rmap_walk_anon_lock()
 * with the caller's folio_get_anon_vma()), read-locked like every rmap
 * walk so that no VMA it visits can be unlinked and freed meanwhile.
 */
#include <stddef.h>

#include "core/itree.h"
#include "migrate/migrate.h"

typedef void (*mig_vma_fn)(struct simmm_vma *vma, simmm_addr_t start, simmm_addr_t end,
			   struct simmm_page *folio, void *arg);

/* Every VMA that may map a page of @folio, with the address span of the
 * folio's pages inside it. @pinned: the anon_vma of an anonymous folio
 * (NULL: not pinned, because it was not mapped: nothing to walk). */
static void mig_rmap_walk(simmm_sim *sim, struct simmm_page *folio, struct simmm_anon_vma *pinned,
			  mig_vma_fn fn, void *arg)
{
	uint64_t first = folio->index, last = folio->index + (1ULL << folio->order) - 1;
	unsigned shift = sim->geo.page_shift;
	struct simmm_rmap_rlock l;
	struct simmm_itree_node *n;

	if ((folio->flags & PG_anon) && !pinned)
		return;
	if (simmm__rmap_lock_read(sim, folio, pinned, false, &l) <= 0)
		return;
	/* Read-locked: @next stays valid across @fn's notifier brackets. */
	for (n = simmm__itree_iter_first(l.tree, first, last); n;) {
		struct simmm_itree_node *next = simmm__itree_iter_next(n, first, last);
		struct simmm_vma *vma = (struct simmm_vma *)((char *)n - l.off);
		uint64_t lo = first > vma->vm_pgoff ? first : vma->vm_pgoff;
		uint64_t vlast = vma->vm_pgoff + simmm__vma_pages(vma) - 1;
		uint64_t hi = last < vlast ? last : vlast;

		fn(vma, vma->vm_start + ((lo - vma->vm_pgoff) << shift),
		   vma->vm_start + ((hi - vma->vm_pgoff + 1) << shift), folio, arg);
		n = next;
	}
	simmm__rmap_unlock_read(sim, &l);
}

struct walk_all {
	bool (*fn)(struct simmm_page *folio, struct simmm_vma *vma, simmm_addr_t addr, void *arg);
	void *arg;
	bool stop;
};

static void walk_all_vma(struct simmm_vma *vma, simmm_addr_t start, simmm_addr_t end,
			 struct simmm_page *folio, void *arg)
{
	struct walk_all *w = arg;

	(void)end;
	if (!w->stop && !w->fn(folio, vma, start, w->arg))
		w->stop = true;
}

void simmm__mig_rmap_walk_all(simmm_sim *sim, struct simmm_page *folio,
			      bool (*fn)(struct simmm_page *folio, struct simmm_vma *vma,
					 simmm_addr_t addr, void *arg),
			      void *arg)
{
	struct walk_all w = {.fn = fn, .arg = arg};

	mig_rmap_walk(sim, folio, simmm__mig_anon_vma(folio), walk_all_vma, &w);
}

/* The page of @folio that the pte entry @e maps (present or
 * device-private), or NULL. */
static struct simmm_page *mapped_page(simmm_sim *sim, simmm_entry_t e, struct simmm_page *folio)
{
	simmm_pfn_t pfn;

	if (simmm_pte_present(e)) {
		if (simmm_pte_special(e))
			return NULL;
		pfn = simmm_pte_pfn(e);
	} else if (simmm_is_device_private_entry(e)) {
		pfn = simmm_swp_offset_pfn(e);
	} else {
		return NULL;
	}
	if (pfn < folio->pfn || pfn - folio->pfn >= (1ULL << folio->order))
		return NULL;
	return simmm__pfn_to_page(sim, pfn);
}

static simmm_entry_t *pte_slot(struct simmm_vma *vma, simmm_addr_t addr)
{
	simmm_entry_t *slot;

	return simmm_pgtable_lookup(vma->mm->pgt, addr, SIMMM_LVL_PTE, &slot) ? NULL : slot;
}

/* The PMD slot at @addr if it holds a leaf (present, or a swap-format
 * entry: a migration or device-private THP entry), else NULL. */
static simmm_entry_t *pmd_leaf_slot(struct simmm_vma *vma, simmm_addr_t addr)
{
	uint64_t size = simmm_level_size(vma->mm->pgt, SIMMM_LVL_PMD);
	simmm_entry_t *slot;

	if ((addr & (size - 1)) || !simmm__pmd_order(vma->mm->sim) ||
	    simmm_pgtable_lookup(vma->mm->pgt, addr, SIMMM_LVL_PMD, &slot) ||
	    simmm_entry_none(*slot) || simmm_entry_is_table(*slot, SIMMM_LVL_PMD))
		return NULL;
	return slot;
}

static uint64_t pmd_bytes(struct simmm_vma *vma)
{
	return simmm_level_size(vma->mm->pgt, SIMMM_LVL_PMD);
}

static bool maps_folio(struct simmm_vma *vma, simmm_addr_t start, simmm_addr_t end,
		       struct simmm_page *folio)
{
	for (simmm_addr_t a = start; a < end; a += vma->mm->sim->page_size) {
		simmm_entry_t *slot = pmd_leaf_slot(vma, a);

		if (slot) {
			if (mapped_page(vma->mm->sim, *slot, folio))
				return true;
			a += pmd_bytes(vma) - vma->mm->sim->page_size;
			continue;
		}
		slot = pte_slot(vma, a);
		if (slot && mapped_page(vma->mm->sim, *slot, folio))
			return true;
	}
	return false;
}

/* try_to_migrate_one() for one pte. A pinned exclusive page stays. */
static void migrate_one_pte(struct simmm_vma *vma, simmm_addr_t addr, simmm_entry_t *slot,
			    struct simmm_page *folio)
{
	simmm_sim *sim = vma->mm->sim;
	simmm_entry_t e = *slot;
	struct simmm_page *page = mapped_page(sim, e, folio);
	bool write, exclusive;

	if (!page)
		return;
	write = simmm_pte_present(e) ? simmm_pte_write(e) : simmm_is_writable_device_private_entry(e);
	exclusive = (folio->flags & PG_anon) && (page->flags & PG_anon_exclusive);
	if (exclusive && simmm__folio_maybe_dma_pinned(sim, folio))
		return;
	page->flags &= ~PG_anon_exclusive;
	if (simmm_pte_present(e) && simmm_pte_dirty(e))
		folio->flags |= PG_dirty;
	simmm_pgtable_set(vma->mm->pgt, addr, SIMMM_LVL_PTE,
			  simmm__mig_entry(e, page, write, exclusive));
	simmm__page_remove_rmap_pte(sim, page);
	simmm__munlock_vma_folio(sim, folio, vma); /* TTU_IGNORE_MLOCK is implied */
	simmm__folio_put(sim, folio); /* the migration reference keeps it */
}

/* try_to_migrate_one() for a PMD mapping of the whole folio (a THP or a
 * device THP): set_pmd_migration_entry(). A pinned exclusive folio stays. */
static void migrate_one_pmd(struct simmm_vma *vma, simmm_addr_t addr, simmm_entry_t *slot,
			    struct simmm_page *folio)
{
	simmm_sim *sim = vma->mm->sim;
	simmm_entry_t e = *slot;
	bool write, exclusive;

	if (!mapped_page(sim, e, folio))
		return;
	write = simmm_pte_present(e) ? simmm_pte_write(e) : simmm_is_writable_device_private_entry(e);
	exclusive = (folio->flags & PG_anon) && (folio->flags & PG_anon_exclusive);
	if (exclusive && simmm__folio_maybe_dma_pinned(sim, folio))
		return;
	for (uint64_t i = 0; i < (1ULL << folio->order); i++)
		simmm__pfn_to_page(sim, folio->pfn + i)->flags &= ~PG_anon_exclusive;
	if (simmm_pte_present(e) && simmm_pte_dirty(e))
		folio->flags |= PG_dirty;
	simmm_pgtable_set(vma->mm->pgt, addr, SIMMM_LVL_PMD,
			  simmm__mig_entry(e, folio, write, exclusive));
	simmm__folio_remove_rmap_entire(sim, folio);
	simmm__munlock_vma_folio(sim, folio, vma);
	simmm__folio_put(sim, folio);
}

static void try_to_migrate_vma(struct simmm_vma *vma, simmm_addr_t start, simmm_addr_t end,
			       struct simmm_page *folio, void *arg)
{
	struct simmm_change c;

	(void)arg;
	/* Notify only mms that map the folio: one anon_vma per fork family
	 * links VMAs that never did. */
	if ((vma->vm_flags & SIMMM_VM_HUGETLB) || !maps_folio(vma, start, end, folio))
		return;
	simmm__change_begin(&c, vma->mm, start, end, SIMMM_MMU_NOTIFY_CLEAR, NULL);
	for (simmm_addr_t a = start; a < end; a += vma->mm->sim->page_size) {
		simmm_entry_t *slot = pmd_leaf_slot(vma, a);

		if (slot) {
			migrate_one_pmd(vma, a, slot, folio);
			a += pmd_bytes(vma) - vma->mm->sim->page_size;
			continue;
		}
		slot = pte_slot(vma, a);
		if (slot)
			migrate_one_pte(vma, a, slot, folio);
	}
	simmm__change_end(&c);
}

void simmm__try_to_migrate(simmm_sim *sim, struct simmm_page *folio)
{
	/* Mapped now (the caller checked, no scheduling point since): its
	 * anon_vma is alive; pin it if the source is not pinned yet. */
	if (simmm__folio_mapcount(sim, folio))
		simmm__mig_anon_vma_get(folio);
	mig_rmap_walk(sim, folio, simmm__mig_anon_vma(folio), try_to_migrate_vma, NULL);
}

/* remove_migration_pte(): the entry that replaces migration entry @e. */
static simmm_entry_t restored_entry(struct simmm_vma *vma, simmm_entry_t e,
				    struct simmm_page *page, struct simmm_page *dst)
{
	simmm_entry_t ne;

	if (simmm__is_device_private_page(page)) {
		ne = simmm_is_writable_migration_entry(e)
			     ? simmm_make_writable_device_private_entry(page->pfn)
			     : simmm_make_readable_device_private_entry(page->pfn);
		if (simmm_pte_swp_soft_dirty(e))
			ne = simmm_pte_swp_mksoft_dirty(ne);
		if (simmm_pte_swp_uffd_wp(e))
			ne = simmm_pte_swp_mkuffd_wp(ne);
		return ne;
	}
	ne = simmm__mk_pte(vma->mm, vma, page->pfn, false);
	if (simmm_pte_swp_soft_dirty(e))
		ne = simmm_pte_mksoft_dirty(ne);
	if (!simmm_is_migration_entry_young(e))
		ne = simmm_pte_mkold(ne);
	if ((dst->flags & PG_dirty) && simmm_is_migration_entry_dirty(e))
		ne = simmm_pte_mkdirty(ne);
	if (simmm_is_writable_migration_entry(e))
		ne = simmm_pte_mkwrite(ne);
	else if (simmm_pte_swp_uffd_wp(e))
		ne = simmm_pte_mkuffd_wp(ne);
	return ne;
}

struct remove_arg {
	struct simmm_page *src;
};

/* remove_migration_pmd(): a PMD migration entry of @src maps @dst (same
 * order) again, as a device THP entry or a huge PMD. */
static void remove_pmd(struct simmm_vma *vma, simmm_addr_t addr, simmm_entry_t *slot,
		       struct simmm_page *src, struct simmm_page *dst)
{
	simmm_sim *sim = vma->mm->sim;
	simmm_entry_t e = *slot, ne;

	if (!simmm_is_migration_entry(e) || simmm_swp_offset_pfn(e) != src->pfn ||
	    NEVER(dst->order != src->order))
		return;
	ne = restored_entry(vma, e, dst, dst);
	if (simmm_pte_present(ne))
		ne = simmm_entry_mkleaf(ne);
	simmm__folio_get(sim, dst);
	simmm__folio_add_rmap_entire(sim, dst);
	simmm__mlock_vma_folio(sim, dst, vma); /* mapped whole */
	if ((dst->flags & PG_anon) && !simmm_is_readable_migration_entry(e))
		for (uint64_t i = 0; i < (1ULL << dst->order); i++)
			simmm__pfn_to_page(sim, dst->pfn + i)->flags |= PG_anon_exclusive;
	simmm_pgtable_set(vma->mm->pgt, addr, SIMMM_LVL_PMD, ne);
}

static void remove_vma(struct simmm_vma *vma, simmm_addr_t start, simmm_addr_t end,
		       struct simmm_page *dst, void *a)
{
	struct simmm_page *src = ((struct remove_arg *)a)->src;
	simmm_sim *sim = vma->mm->sim;

	for (simmm_addr_t addr = start; addr < end; addr += sim->page_size) {
		simmm_entry_t *slot = pmd_leaf_slot(vma, addr);

		if (slot) {
			remove_pmd(vma, addr, slot, src, dst);
			addr += pmd_bytes(vma) - sim->page_size;
			continue;
		}
		slot = pte_slot(vma, addr);
		simmm_pfn_t pfn;
		struct simmm_page *page;

		if (!slot || !simmm_is_migration_entry(*slot))
			continue;
		pfn = simmm_swp_offset_pfn(*slot);
		if (pfn < src->pfn || pfn - src->pfn >= (1ULL << src->order))
			continue;
		page = simmm__pfn_to_page(sim, dst->pfn + (pfn - src->pfn));
		simmm__folio_get(sim, dst);
		simmm__page_add_rmap_pte(sim, page);
		/* folio_add_anon_rmap_pte() of one page: mlocks a small folio
		 * in a VM_LOCKED VMA (the finalize put it on the LRU first, so
		 * each mapping counts); a large one only mapped page by page. */
		if (!dst->order)
			simmm__mlock_vma_folio(sim, dst, vma);
		if ((dst->flags & PG_anon) && !simmm_is_readable_migration_entry(*slot))
			page->flags |= PG_anon_exclusive;
		simmm_pgtable_set(vma->mm->pgt, addr, SIMMM_LVL_PTE,
				  restored_entry(vma, *slot, page, dst));
	}
}

void simmm__remove_migration_ptes(simmm_sim *sim, struct simmm_page *src, struct simmm_page *dst)
{
	struct remove_arg arg = {.src = src};

	/* The source's pin: @dst took over its mapping and index. */
	mig_rmap_walk(sim, dst, simmm__mig_anon_vma(src), remove_vma, &arg);
}
