// SPDX-License-Identifier: MIT
/*
 * Reverse mapping (mm/rmap.c): anon_vma per fork family, mapcounts, rmap
 * walks, try_to_unmap() and folio_referenced().
 *
 * An anonymous folio's mapping is the anon_vma and its index the linear
 * page index (see struct simmm_vma); a file folio's mapping is the file
 * and its index the file offset. A walk visits every VMA whose index range
 * covers the folio and checks the entry there (page_vma_mapped_walk()),
 * which recognises device-private and device-exclusive entries as mapping
 * the folio too: they carry a mapcount like a present pte.
 */
#include <errno.h>
#include <stddef.h>

#include "mm/mm.h"
#include "notifier/notifier.h"

#define VMA_OF(n, member) \
	((struct simmm_vma *)((char *)(n) - offsetof(struct simmm_vma, member)))

/* ---- anon_vma ---------------------------------------------------------------- */

int simmm__anon_vma_prepare(struct simmm_mm *mm, struct simmm_vma *vma)
{
	struct simmm_anon_vma *av;

	if (vma->anon_vma)
		return 0;
	av = simmm__zalloc(mm->sim, SIMMM_ALLOC_META, sizeof(*av));
	if (!av)
		return -ENOMEM;
	vma->anon_vma = av;
	av->refcount = 1;
	vma->anon_node.start = vma->vm_pgoff;
	vma->anon_node.last = vma->vm_pgoff + simmm__vma_pages(vma) - 1;
	simmm__itree_insert(&av->vmas, &vma->anon_node);
	return 0;
}

/* Drop @vma's reference; its node is already out of the tree. */
void simmm__anon_vma_unlink(struct simmm_vma *vma)
{
	struct simmm_anon_vma *av = vma->anon_vma;

	vma->anon_vma = NULL;
	if (--av->refcount == 0)
		simmm__free(vma->mm->sim, SIMMM_ALLOC_META, av, sizeof(*av));
}

/* ---- mapcounts ------------------------------------------------------------------ */

static int32_t *entire_mapcount(simmm_sim *sim, struct simmm_page *folio)
{
	return &simmm__pfn_to_page(sim, folio->pfn + 1)->u.pincount;
}

static void set_anon_exclusive(simmm_sim *sim, struct simmm_page *folio, bool on)
{
	for (uint64_t i = 0; i < (1ULL << folio->order); i++) {
		struct simmm_page *p = simmm__pfn_to_page(sim, folio->pfn + i);

		if (on)
			p->flags |= PG_anon_exclusive;
		else
			p->flags &= ~PG_anon_exclusive;
	}
}

void simmm__folio_add_new_anon_rmap(struct simmm_page *folio, struct simmm_vma *vma,
				    simmm_addr_t addr, bool exclusive)
{
	simmm_sim *sim = vma->mm->sim;
	unsigned shift = simmm__page_shift(vma->mm);
	uint64_t size = sim->page_size << folio->order;

	/* folio_add_new_anon_rmap(): the folio is new, so this is its only
	 * mapping: the whole folio (order > 0: PMD/PUD map) or one pte. */
	folio->mapping = vma->anon_vma;
	folio->index = simmm__linear_page_index(vma, addr & ~(size - 1), shift);
	folio->flags |= PG_anon | PG_swapbacked;
	if (folio->order)
		(*entire_mapcount(sim, folio))++;
	else
		folio->mapcount++;
	set_anon_exclusive(sim, folio, exclusive);
}

void simmm__page_add_rmap_pte(simmm_sim *sim, struct simmm_page *page)
{
	(void)sim;
	page->mapcount++;
}

void simmm__folio_add_rmap_entire(simmm_sim *sim, struct simmm_page *folio)
{
	(*entire_mapcount(sim, folio))++;
}

void simmm__page_remove_rmap_pte(simmm_sim *sim, struct simmm_page *page)
{
	(void)sim;
	if (NEVER(page->mapcount <= 0))
		return;
	page->mapcount--;
}

void simmm__folio_remove_rmap_entire(simmm_sim *sim, struct simmm_page *folio)
{
	int32_t *mc = entire_mapcount(sim, folio);

	if (NEVER(*mc <= 0))
		return;
	(*mc)--;
}

void simmm__folio_add_file_rmap(struct simmm_page *folio, struct simmm_file *file, uint64_t index)
{
	folio->mapping = file;
	folio->index = index;
}

int simmm__folio_mapcount(simmm_sim *sim, struct simmm_page *folio)
{
	int n = folio->mapcount;

	if (folio->order) {
		n += *entire_mapcount(sim, folio);
		for (uint64_t i = 1; i < (1ULL << folio->order); i++)
			n += simmm__pfn_to_page(sim, folio->pfn + i)->mapcount;
	}
	return n;
}

void simmm__put_user_folio(simmm_sim *sim, struct simmm_page *folio)
{
	folio = simmm__compound_head(sim, folio);
	if (folio->refcount == 1 && (folio->flags & PG_lru))
		simmm__lru_del(sim, folio);
	simmm__folio_put(sim, folio);
}

bool simmm__folio_maybe_dma_pinned(simmm_sim *sim, struct simmm_page *folio)
{
	folio = simmm__compound_head(sim, folio);
	/* Small folios count pins in the refcount (GUP_PIN_COUNTING_BIAS),
	 * large ones in the pincount. */
	if (folio->order)
		return folio->u.pincount > 0;
	return folio->refcount >= SIMMM_GUP_PIN_COUNTING_BIAS;
}

/* ---- walks ------------------------------------------------------------------------ */

bool simmm__page_vma_mapped(struct simmm_vma *vma, simmm_addr_t addr, struct simmm_page *folio,
			    simmm_entry_t **slot, enum simmm_level *lvl)
{
	struct simmm_translation t;
	simmm_pfn_t pfn;
	uint64_t nr = 1ULL << folio->order;

	if (addr < vma->vm_start || addr >= vma->vm_end)
		return false;
	if (simmm_pgtable_translate(vma->mm->pgt, addr, &t))
		return false;
	if (!simmm_entry_pfn(t.entry, &pfn))
		return false;
	/* A present leaf; or a device-private / device-exclusive entry (they
	 * map the device page; migration entries do not map the folio). */
	if (!t.present && !simmm_is_device_private_entry(t.entry) &&
	    !simmm_is_device_exclusive_entry(t.entry))
		return false;
	if (t.present && simmm_pte_special(t.entry))
		return false;
	/* The frame at @addr (inside a huge leaf: its subpage). Computed from
	 * the entry, not t.pfn, because translate leaves t.pfn at 0 for
	 * PROT_NONE (protnone) leaves, which still map the folio. */
	if (t.present)
		pfn = simmm_pte_pfn(t.entry) +
		      ((addr & (simmm_level_size(vma->mm->pgt, t.level) - 1)) >>
		       vma->mm->sim->geo.page_shift);
	if (pfn < folio->pfn || pfn >= folio->pfn + nr)
		return false;
	*lvl = t.level;
	return simmm_pgtable_lookup(vma->mm->pgt, addr, t.level, slot) == 0;
}

static void walk_tree(simmm_sim *sim, struct simmm_itree *tree, size_t off,
		      struct simmm_page *folio, simmm_rmap_fn fn, void *arg)
{
	uint64_t first = folio->index, last = folio->index + (1ULL << folio->order) - 1;
	struct simmm_itree_node *n = simmm__itree_iter_first(tree, first, last);

	while (n) {
		struct simmm_itree_node *next = simmm__itree_iter_next(n, first, last);
		struct simmm_vma *vma = (struct simmm_vma *)((char *)n - off);
		uint64_t idx = first > vma->vm_pgoff ? first : vma->vm_pgoff;
		simmm_addr_t addr = vma->vm_start + ((idx - vma->vm_pgoff) << sim->geo.page_shift);

		if (!fn(folio, vma, addr, arg))
			return;
		n = next;
	}
}

void simmm__rmap_walk(simmm_sim *sim, struct simmm_page *folio, simmm_rmap_fn fn, void *arg)
{
	folio = simmm__compound_head(sim, folio);
	if (!folio->mapping)
		return;
	if (folio->flags & PG_anon) {
		/* folio_lock_anon_vma_read(): only a mapped folio's anon_vma
		 * is known to be alive. */
		if (simmm__folio_mapcount(sim, folio) == 0)
			return;
		walk_tree(sim, &((struct simmm_anon_vma *)folio->mapping)->vmas,
			  offsetof(struct simmm_vma, anon_node), folio, fn, arg);
		return;
	}
	walk_tree(sim, &((struct simmm_file *)folio->mapping)->i_mmap,
		  offsetof(struct simmm_vma, file_node), folio, fn, arg);
}

/* ---- try_to_unmap ------------------------------------------------------------------- */

struct ttu_arg {
	simmm_entry_t swp;
	bool failed;
};

/* The pages of @folio that @vma maps from @addr on: [*lo, *hi). */
static void folio_span(struct simmm_page *folio, struct simmm_vma *vma, simmm_addr_t addr,
		       simmm_addr_t *hi)
{
	unsigned shift = simmm__page_shift(vma->mm);
	uint64_t idx = simmm__linear_page_index(vma, addr, shift);
	uint64_t left = folio->index + (1ULL << folio->order) - idx;
	simmm_addr_t end = addr + (left << shift);

	*hi = end < vma->vm_end ? end : vma->vm_end;
}

static void unmap_one_pte(struct simmm_vma *vma, simmm_addr_t addr, struct simmm_page *folio,
			  simmm_entry_t *slot, simmm_entry_t swp)
{
	struct simmm_mm *mm = vma->mm;
	simmm_sim *sim = mm->sim;
	simmm_entry_t old = *slot, e = 0;
	struct simmm_page *page;
	simmm_pfn_t pfn;

	simmm_entry_pfn(old, &pfn);
	page = simmm__pfn_to_page(sim, pfn);
	if (simmm_pte_dirty(old))
		folio->flags |= PG_dirty; /* pte dirty -> folio dirty */
	if ((folio->flags & PG_anon) && swp) {
		/* Each page gets the slot of its index in the folio. */
		e = simmm_swp_entry(simmm_swp_type(swp), simmm_swp_offset(swp) + (pfn - folio->pfn));
		if (page->flags & PG_anon_exclusive)
			e = simmm_pte_swp_mkexclusive(e);
		page->flags &= ~PG_anon_exclusive;
		simmm__swap_dup(sim, e);
		mm->stats.swap_ents++;
	}
	simmm_pgtable_set(mm->pgt, addr, SIMMM_LVL_PTE, e);
	simmm__rss_add(mm, vma, folio, -1);
	simmm__page_remove_rmap_pte(sim, page);
	simmm__folio_put(sim, folio); /* the caller holds a reference */
}

static bool ttu_one(struct simmm_page *folio, struct simmm_vma *vma, simmm_addr_t addr, void *a)
{
	struct ttu_arg *arg = a;
	struct simmm_mm *mm = vma->mm;
	struct simmm_change c;
	simmm_addr_t end, p;

	bool lazyfree = (folio->flags & (PG_anon | PG_swapbacked)) == PG_anon;

	if ((vma->vm_flags & SIMMM_VM_LOCKED) ||
	    ((folio->flags & PG_anon) && !lazyfree && !arg->swp)) {
		arg->failed = true;
		return true;
	}
	folio_span(folio, vma, addr, &end);
	if (folio->order) {
		struct simmm_translation t;

		if (!simmm_pgtable_translate(mm->pgt, addr, &t) && t.present &&
		    t.level != SIMMM_LVL_PTE && !(vma->vm_flags & SIMMM_VM_HUGETLB))
			simmm__split_huge_pmd(mm, vma, addr); /* TTU_SPLIT_HUGE_PMD */
	}
	/* simmm keeps one anon_vma per fork family, so the walk also visits
	 * VMAs that cannot map this folio (the kernel's per-process anon_vma
	 * chains would not link them). Notify only where the folio is mapped,
	 * so mirrors of unrelated processes see no spurious CLEAR. */
	for (p = addr; p < end; p += mm->sim->page_size) {
		simmm_entry_t *slot;
		enum simmm_level lvl;
		if (simmm__page_vma_mapped(vma, p, folio, &slot, &lvl))
			break;
	}
	if (p >= end)
		return true;
	if (simmm__change_begin(&c, mm, addr, end, SIMMM_MMU_NOTIFY_CLEAR, NULL)) {
		arg->failed = true;
		return true;
	}
	/* Rescan from the start: the bracket is a scheduling point and a
	 * concurrent fault may have mapped part of the folio meanwhile. */
	for (p = addr; p < end; p += mm->sim->page_size) {
		simmm_entry_t *slot;
		enum simmm_level lvl;

		if (!simmm__page_vma_mapped(vma, p, folio, &slot, &lvl))
			continue;
		if (lvl != SIMMM_LVL_PTE || !simmm_pte_present(*slot)) {
			arg->failed = true; /* device entries, unsplittable leaves */
			continue;
		}
		if (lazyfree && (simmm_pte_dirty(*slot) || (folio->flags & PG_dirty))) {
			/* MADV_FREE'd but written again: keep it, swap-backed
			 * again (try_to_unmap_one's lazyfree rule). */
			folio->flags |= PG_swapbacked;
			arg->failed = true;
			continue;
		}
		unmap_one_pte(vma, p, folio, slot, lazyfree ? 0 : arg->swp);
	}
	simmm__change_end(&c);
	return true;
}

bool simmm__try_to_unmap(simmm_sim *sim, struct simmm_page *folio, simmm_entry_t swp)
{
	struct ttu_arg arg = {.swp = swp};

	folio = simmm__compound_head(sim, folio);
	simmm__rmap_walk(sim, folio, ttu_one, &arg);
	return simmm__folio_mapcount(sim, folio) == 0;
}

/* ---- folio_referenced --------------------------------------------------------------- */

static bool referenced_one(struct simmm_page *folio, struct simmm_vma *vma, simmm_addr_t addr,
			   void *a)
{
	int *count = a;
	simmm_addr_t end, p;

	folio_span(folio, vma, addr, &end);
	for (p = addr; p < end; p += vma->mm->sim->page_size) {
		simmm_entry_t *slot;
		enum simmm_level lvl;

		if (!simmm__page_vma_mapped(vma, p, folio, &slot, &lvl))
			continue;
		/* ptep_clear_flush_young_notify(): the cpu's young bit, ORed
		 * with the secondary MMUs' answer. */
		if (simmm_pte_young(*slot)) {
			*slot = simmm_pte_mkold(*slot);
			(*count)++;
		} else if (simmm__mmu_notifier_clear_flush_young(vma->mm, p,
								 p + vma->mm->sim->page_size)) {
			(*count)++;
		}
		if (lvl != SIMMM_LVL_PTE)
			break; /* one leaf maps the whole folio */
	}
	return true;
}

int simmm__folio_referenced(simmm_sim *sim, struct simmm_page *folio)
{
	int count = 0;

	folio = simmm__compound_head(sim, folio);
	simmm__rmap_walk(sim, folio, referenced_one, &count);
	return count;
}
