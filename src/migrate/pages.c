// SPDX-License-Identifier: MIT
/*
 * migrate_vma_pages() / migrate_device_pages(): move the struct page state
 * of every entry that still migrates to its destination, and insert the
 * destination pages of collected holes (migrate_vma_insert_page()).
 */
#include "migrate/migrate.h"

/* A dst entry must name a locked page in use; 0 (or no VALID) declines. */
static bool dst_valid(simmm_sim *sim, uint64_t mpfn)
{
	struct simmm_page *folio;

	if (!(mpfn & SIMMM_MIGRATE_PFN_VALID))
		return true;
	folio = simmm__mig_folio(sim, mpfn);
	return folio && (folio->flags & PG_locked) && !(folio->flags & (PG_table | PG_reserved));
}

static int check_dst(simmm_sim *sim, uint64_t *src, const uint64_t *dst, uint64_t npages)
{
	for (uint64_t i = 0; i < npages; i++) {
		if (dst_valid(sim, dst[i]))
			continue;
		simmm__report(sim, SIMMM_REPORT_MISUSE,
			      "migrate pages: dst[%llu] = %#llx is not a locked page in use",
			      (unsigned long long)i, (unsigned long long)dst[i]);
		/* Nothing migrates: finalize restores every source. */
		for (uint64_t k = 0; k < npages; k++)
			src[k] &= ~SIMMM_MIGRATE_PFN_MIGRATE;
		return -EINVAL;
	}
	return 0;
}

/* Does the huge zero PMD map @addr? */
static bool huge_zero_at(struct simmm_mm *mm, simmm_addr_t addr)
{
	struct simmm_translation t;

	return !simmm_pgtable_translate(mm->pgt, addr, &t) && t.present &&
	       t.level == SIMMM_LVL_PMD && simmm__is_huge_zero_pfn(mm->sim, simmm_pte_pfn(t.entry));
}

/* The entry mapping a new @folio in @vma at @lvl: a device-private entry
 * (writable if VM_WRITE) for private memory, else a normal one (a PMD
 * leaf above PTE level). False for other ZONE_DEVICE types. */
static bool new_entry(struct simmm_vma *vma, struct simmm_page *folio, enum simmm_level lvl,
		      simmm_entry_t *e)
{
	if (simmm__is_device_private_page(folio)) {
		*e = (vma->vm_flags & SIMMM_VM_WRITE)
			     ? simmm_make_writable_device_private_entry(folio->pfn)
			     : simmm_make_readable_device_private_entry(folio->pfn);
		return true;
	}
	if (simmm__is_zone_device_page(folio) && !simmm__is_device_coherent_page(folio))
		return false; /* unsupported ZONE_DEVICE type */
	*e = simmm__mk_pte(vma->mm, vma, folio->pfn, true);
	if (lvl != SIMMM_LVL_PTE)
		*e = simmm_entry_mkleaf(*e);
	return true;
}

/* Map a new @folio with @e at @lvl, as do_anonymous_page() /
 * __do_huge_pmd_anonymous_page() would: exclusive anon rmap, LRU (system
 * memory), the mapping's reference, rss. */
static void map_new_folio(struct simmm_vma *vma, simmm_addr_t addr, struct simmm_page *folio,
			  enum simmm_level lvl, simmm_entry_t e)
{
	simmm_sim *sim = vma->mm->sim;

	folio->flags |= PG_uptodate;
	simmm__folio_add_new_anon_rmap(folio, vma, addr, true);
	if (!simmm__is_zone_device_page(folio))
		simmm__folio_add_lru_vma(sim, folio, vma);
	simmm__folio_get(sim, folio);
	simmm_pgtable_set(vma->mm->pgt, addr, lvl, e);
	simmm__rss_add(vma->mm, vma, folio, 1LL << folio->order);
}

/* migrate_vma_insert_page(): map @page where a hole was collected, as
 * do_anonymous_page() would, but with a device-private entry for private
 * memory. Only over a none or zero-page pte: a CPU fault that filled the
 * hole meanwhile wins. */
static void insert_page(struct simmm_migrate_vma *m, simmm_addr_t addr, struct simmm_page *page,
			uint64_t *src)
{
	struct simmm_vma *vma = m->vma;
	struct simmm_mm *mm = vma->mm;
	simmm_sim *sim = mm->sim;
	struct simmm_page *folio = simmm__compound_head(sim, page);
	simmm_entry_t *slot, e, orig;

	*src &= ~SIMMM_MIGRATE_PFN_MIGRATE;
	if (!simmm__vma_is_anonymous(vma) || folio->order ||
	    !new_entry(vma, folio, SIMMM_LVL_PTE, &e))
		return;
	/* The huge zero page collected as a hole is split first [6.19+],
	 * into its deposited table; any other pmd_trans_huge() there
	 * (-EEXIST) or no memory for tables: abort. */
	if (huge_zero_at(mm, addr) && simmm__split_huge_pmd(mm, vma, addr))
		return;
	if (simmm_pgtable_alloc_level(mm->pgt, addr, SIMMM_LVL_PTE, &slot) ||
	    simmm__anon_vma_prepare(mm, vma))
		return;
	orig = *slot;
	if (simmm_pte_present(orig) ? simmm_pte_pfn(orig) != simmm__zero_pfn(sim)
				    : !simmm_entry_none(orig))
		return;
	if (vma->vm_flags & SIMMM_VM_UFFD_MISSING)
		return; /* userfaultfd_missing(): back off, do not deliver */
	map_new_folio(vma, addr, folio, SIMMM_LVL_PTE, e);
	*src = SIMMM_MIGRATE_PFN_MIGRATE;
}

/* folio_free_swap() (the folio is locked): drop the swap cache when no
 * swap entry needs it; the folio is dirty from then on, its contents
 * existing nowhere else. */
static bool free_swap(simmm_sim *sim, struct simmm_page *folio)
{
	return !(folio->flags & PG_swapcache) || simmm__folio_free_swap(sim, folio);
}

/* May @folio's state move to @newfolio? Device memory takes anonymous
 * memory only (an anonymous folio's swap cache is freed first: device
 * pages never enter it); other ZONE_DEVICE types take nothing. A
 * page-cache folio, or a swap-cache one, may move to system memory (its
 * cache slot moves in migrate_folio()). */
static bool may_move(simmm_sim *sim, struct simmm_page *folio, struct simmm_page *newfolio)
{
	bool device = simmm__is_zone_device_page(newfolio);

	if (device && !simmm__is_device_private_page(newfolio) &&
	    !simmm__is_device_coherent_page(newfolio))
		return false;
	if (!(folio->flags & PG_anon))
		return folio->mapping && !device;
	return !device || free_swap(sim, folio);
}

/* folio_migrate_mapping() (the refcount must be exactly ours, plus the
 * page cache's for a file folio) and folio_migrate_flags(). */
static bool migrate_folio(simmm_sim *sim, struct simmm_page *folio, struct simmm_page *newfolio,
			  int extra)
{
	const uint32_t keep = PG_dirty | PG_referenced | PG_active | PG_swapbacked | PG_anon |
			      PG_unevictable | PG_workingset;
	bool file = !(folio->flags & PG_anon), swapcache = folio->flags & PG_swapcache;

	if (folio->order != newfolio->order ||
	    folio->refcount != simmm__folio_mapcount(sim, folio) + 1 + extra + file + swapcache)
		return false;
	newfolio->flags |= (folio->flags & keep) | PG_uptodate;
	if (file) {
		simmm__filemap_migrate(folio->mapping, folio, newfolio);
		folio->flags &= ~PG_dirty; /* the dirt moved with the data */
		return true;
	}
	newfolio->mapping = folio->mapping;
	newfolio->index = folio->index;
	if (swapcache) /* to system memory only (may_move()) */
		simmm__swap_cache_migrate(sim, folio, newfolio);
	return true;
}

/* migrate_vma_insert_huge_pmd_page() [6.19+]: a COMPOUND hole gets a huge
 * destination mapped by one PMD: a device THP entry for private memory, a
 * huge PMD otherwise. Only over a PMD that is still none: a CPU fault that
 * filled (part of) the hole meanwhile wins. A PTE table for the deposit is
 * allocated first (pte_alloc_one(): failing, the entry aborts); over the
 * huge zero PMD it is freed again, the zero PMD's deposit staying with
 * the new PMD. */
static void insert_huge_page(struct simmm_migrate_vma *m, simmm_addr_t addr,
			     struct simmm_page *page, uint64_t *src)
{
	struct simmm_vma *vma = m->vma;
	struct simmm_mm *mm = vma->mm;
	simmm_sim *sim = mm->sim;
	struct simmm_page *folio = simmm__compound_head(sim, page);
	struct simmm_page *pgtable;
	simmm_entry_t *slot, e;
	bool zero;

	*src &= ~SIMMM_MIGRATE_PFN_MIGRATE;
	if (!simmm__vma_is_anonymous(vma) || folio->order != simmm__pmd_order(sim) ||
	    folio != page || !new_entry(vma, folio, SIMMM_LVL_PMD, &e))
		return;
	if (simmm_pgtable_alloc_level(mm->pgt, addr, SIMMM_LVL_PMD, &slot) ||
	    simmm__anon_vma_prepare(mm, vma))
		return;
	pgtable = simmm__pte_alloc_one(mm->pgt);
	if (!pgtable)
		return;
	/* Over a none PMD or the huge zero page (which holds nothing). */
	zero = huge_zero_at(mm, addr);
	if ((vma->vm_flags & SIMMM_VM_UFFD_MISSING) || (!simmm_entry_none(*slot) && !zero)) {
		simmm__pte_free(mm->pgt, pgtable);
		return;
	}
	map_new_folio(vma, addr, folio, SIMMM_LVL_PMD, e);
	if (zero)
		simmm__pte_free(mm->pgt, pgtable);
	else
		simmm__pgtable_deposit(mm->pgt, addr, pgtable);
	*src = SIMMM_MIGRATE_PFN_MIGRATE | SIMMM_MIGRATE_PFN_COMPOUND;
}

/* A COMPOUND hole (a whole PMD collected with SELECT_COMPOUND) whose
 * destination is not a huge folio falls back to small pages: every page of
 * the PMD becomes a hole of its own, filled from dst[i + j] [6.19+]. */
static void split_compound_hole(simmm_sim *sim, uint64_t *src, uint64_t i, uint64_t npages)
{
	uint64_t nr = 1ULL << simmm__pmd_order(sim);

	src[i] &= ~SIMMM_MIGRATE_PFN_COMPOUND;
	for (uint64_t j = 1; j < nr && i + j < npages; j++)
		src[i + j] = SIMMM_MIGRATE_PFN_MIGRATE;
}

/* Every PMD migration entry of @folio becomes ptes (split_huge_pmd_address()
 * with freeze), in every VMA that maps it. */
static bool split_mig_pmd(struct simmm_page *folio, struct simmm_vma *vma, simmm_addr_t addr,
			  void *arg)
{
	uint64_t size = simmm_level_size(vma->mm->pgt, SIMMM_LVL_PMD);
	simmm_addr_t haddr = addr & ~(size - 1);
	struct simmm_translation t;
	int *err = arg;

	if (simmm_pgtable_translate(vma->mm->pgt, haddr, &t) || t.level != SIMMM_LVL_PMD ||
	    !simmm_is_migration_entry(t.entry) || simmm_swp_offset_pfn(t.entry) != folio->pfn)
		return true;
	*err = simmm__split_huge_pmd(vma->mm, vma, haddr);
	return *err == 0;
}

/* migrate_vma_split_unmapped_folio() [6.19+]: a COMPOUND source whose
 * destination is small pages is split; each of its pages becomes a
 * source entry of its own (locked, referenced, its anon_vma pinned),
 * paired with dst[i + j]. False (nothing migrates) if that cannot be. */
static bool split_compound_src(simmm_sim *sim, uint64_t *src, uint64_t i, uint64_t npages,
			       struct simmm_page *folio, int extra)
{
	uint64_t nr = 1ULL << folio->order, flags = src[i] & SIMMM_MIGRATE_PFN_WRITE;
	int err = 0;

	if (nr > npages - i)
		return false; /* the range ends inside the folio */
	simmm__mig_rmap_walk_all(sim, folio, split_mig_pmd, &err);
	if (err || simmm__split_folio_unmapped(sim, folio, extra))
		return false;
	src[i] &= ~SIMMM_MIGRATE_PFN_COMPOUND;
	for (uint64_t j = 1; j < nr; j++) {
		struct simmm_page *p = simmm__pfn_to_page(sim, folio->pfn + j);

		simmm__mig_anon_vma_get(p);
		src[i + j] = simmm_migrate_pfn(p->pfn) | SIMMM_MIGRATE_PFN_MIGRATE | flags;
	}
	return true;
}

int simmm__migrate_pages(simmm_sim *sim, uint64_t *src, uint64_t *dst, uint64_t npages,
			 struct simmm_migrate_vma *m)
{
	struct simmm_change c = {0};
	bool notified = false;
	int err = check_dst(sim, src, dst, npages);

	if (err)
		return err;
	for (uint64_t i = 0; i < npages; i++) {
		struct simmm_page *newpage = simmm__mig_page(sim, dst[i]);
		struct simmm_page *page = simmm__mig_page(sim, src[i]);
		struct simmm_page *folio, *newfolio;

		bool dst_huge = newpage && (dst[i] & SIMMM_MIGRATE_PFN_COMPOUND);
		int extra;

		if (!page && (src[i] & SIMMM_MIGRATE_PFN_COMPOUND) && m && newpage && !dst_huge)
			split_compound_hole(sim, src, i, npages);
		if (!newpage) {
			src[i] &= ~SIMMM_MIGRATE_PFN_MIGRATE;
			continue;
		}
		if (!page) {
			simmm_addr_t addr;

			if (!(src[i] & SIMMM_MIGRATE_PFN_MIGRATE) || !m)
				continue;
			addr = m->start + (i << sim->geo.page_shift);
			if (!notified) {
				notified = true;
				simmm__change_begin(&c, m->vma->mm, addr, m->end,
						    SIMMM_MMU_NOTIFY_MIGRATE, m->pgmap_owner);
			}
			if (src[i] & SIMMM_MIGRATE_PFN_COMPOUND) {
				if (dst_huge)
					insert_huge_page(m, addr, newpage, &src[i]);
				else
					src[i] &= ~SIMMM_MIGRATE_PFN_MIGRATE;
			} else if (dst_huge) {
				src[i] &= ~SIMMM_MIGRATE_PFN_MIGRATE; /* huge dst, small hole */
			} else {
				insert_page(m, addr, newpage, &src[i]);
			}
			continue;
		}
		if (!(src[i] & SIMMM_MIGRATE_PFN_MIGRATE))
			continue;
		folio = simmm__compound_head(sim, page);
		newfolio = simmm__compound_head(sim, newpage);
		extra = m && m->fault_page &&
			simmm__compound_head(sim, simmm__pfn_to_page(sim, m->fault_page)) == folio;
		/* Compound source, small destination: split the source. A small
		 * source with a huge destination is refused (order mismatch). */
		if (folio->order && !dst_huge && !split_compound_src(sim, src, i, npages, folio, extra)) {
			src[i] &= ~SIMMM_MIGRATE_PFN_MIGRATE;
			continue;
		}
		folio = simmm__compound_head(sim, page);
		extra = m && m->fault_page == folio->pfn ? 1 : (folio->order ? extra : 0);
		if (!may_move(sim, folio, newfolio) || !migrate_folio(sim, folio, newfolio, extra))
			src[i] &= ~SIMMM_MIGRATE_PFN_MIGRATE;
	}
	if (notified)
		simmm__change_end(&c);
	return 0;
}

int simmm_migrate_vma_pages(struct simmm_migrate_vma *migrate)
{
	if (!migrate || !migrate->vma || !simmm__mm_ok(migrate->vma->mm) || !migrate->src ||
	    !migrate->dst)
		return -EINVAL;
	return simmm__migrate_pages(migrate->vma->mm->sim, migrate->src, migrate->dst,
				    migrate->npages, migrate);
}
