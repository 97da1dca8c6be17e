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

#include "mm/mm_ext.h"
#include "notifier/notifier.h"

#define VMA_OF(n, member) \
	((struct simmm_vma *)((char *)(n) - offsetof(struct simmm_vma, member)))

/* ---- anon_vma and the rmap locks -------------------------------------------- */

/* One lockdep class per kind, like the kernel's per-call-site keys: the
 * order rules learnt on one anon_vma (or file) hold for all. */
static const struct simmm_lock_class_key anon_vma_key, i_mmap_key;

int simmm__anon_vma_prepare(struct simmm_mm *mm, struct simmm_vma *vma)
{
	struct simmm_anon_vma *av;

	if (vma->anon_vma)
		return 0;
	av = simmm__zalloc(mm->sim, SIMMM_ALLOC_META, sizeof(*av));
	if (!av)
		return -ENOMEM;
	simmm_rwsem_init(&av->rwsem, "&anon_vma->rwsem");
	simmm_lockdep_set_class(&av->rwsem.map, &anon_vma_key);
	/* __anon_vma_prepare() locks the anon_vma because it may reuse a
	 * neighbour's; simmm's is always new, so no walker can know it yet
	 * and the check and the link need no scheduling point in between
	 * (the kernel's page_table_lock re-check against a racing fault). */
	vma->anon_vma = av;
	av->refcount = 1;
	vma->anon_node.start = vma->vm_pgoff;
	vma->anon_node.last = vma->vm_pgoff + simmm__vma_pages(vma) - 1;
	simmm__itree_insert(&av->vmas, &vma->anon_node);
	return 0;
}

void simmm__anon_vma_get(struct simmm_anon_vma *av)
{
	av->refcount++;
}

void simmm__anon_vma_put(simmm_sim *sim, struct simmm_anon_vma *av)
{
	if (NEVER(av->refcount <= 0))
		return;
	if (--av->refcount)
		return;
	/* Nobody can hold the lock: holders are pinned. */
	NEVER(simmm_rwsem_is_locked(&av->rwsem) || av->vmas.root);
	simmm__free(sim, SIMMM_ALLOC_META, av, sizeof(*av));
}

void simmm__i_mmap_lock_init(struct simmm_file *file)
{
	simmm_rwsem_init(&file->i_mmap_rwsem, "&mapping->i_mmap_rwsem");
	simmm_lockdep_set_class(&file->i_mmap_rwsem.map, &i_mmap_key);
}

/* A lock that cannot be taken (a misuse already reported by lockdep, e.g.
 * from a non-blockable section) leaves the change unprotected rather
 * than lost. */
void simmm__rmap_lock_write(struct simmm_vma *vma, struct simmm_rmap_wlock *l)
{
	simmm_sim *sim = vma->mm->sim;

	l->file = vma->file;
	l->av = vma->anon_vma;
	if (l->file && simmm_down_write(sim, &l->file->i_mmap_rwsem))
		l->file = NULL;
	if (l->av && simmm_down_write(sim, &l->av->rwsem))
		l->av = NULL;
}

void simmm__rmap_unlock_write(simmm_sim *sim, struct simmm_rmap_wlock *l)
{
	if (l->av)
		simmm_up_write(sim, &l->av->rwsem);
	if (l->file)
		simmm_up_write(sim, &l->file->i_mmap_rwsem);
	l->av = NULL;
	l->file = NULL;
}

static int lock_read(simmm_sim *sim, struct simmm_rwsem *sem, bool try)
{
	if (try)
		return simmm_down_read_trylock(sim, sem) == 1 ? 0 : -EAGAIN;
	return simmm_down_read(sim, sem) ? -EAGAIN : 0;
}

static int lock_anon_read(simmm_sim *sim, struct simmm_page *folio, struct simmm_anon_vma *pinned,
			  bool try, struct simmm_rmap_rlock *l)
{
	struct simmm_anon_vma *av = pinned;

	/* folio_lock_anon_vma_read(): without a pin, only a mapped folio's
	 * anon_vma is known to be alive (a VMA of the family maps it), and
	 * only until the next scheduling point: pin it before sleeping. */
	if (!av) {
		if (simmm__folio_mapcount(sim, folio) == 0)
			return 0;
		av = folio->mapping;
	}
	simmm__anon_vma_get(av); /* pairs with simmm__rmap_unlock_read() */
	if (lock_read(sim, &av->rwsem, try)) {
		simmm__anon_vma_put(sim, av);
		return -EAGAIN;
	}
	/* Unmapped while we slept: the VMAs may be gone (the kernel re-checks
	 * folio_mapped() after pinning). */
	if (!pinned && (folio->mapping != av || simmm__folio_mapcount(sim, folio) == 0)) {
		simmm_up_read(sim, &av->rwsem);
		simmm__anon_vma_put(sim, av);
		return 0;
	}
	l->av = av;
	l->tree = &av->vmas;
	l->off = offsetof(struct simmm_vma, anon_node);
	return 1;
}

static int lock_file_read(simmm_sim *sim, struct simmm_page *folio, bool try,
			  struct simmm_rmap_rlock *l)
{
	struct simmm_file *file = folio->mapping;

	/* A page-cache folio's mapping is cleared when the file goes, and
	 * the file's reference keeps it while we may sleep. */
	simmm__file_get(file); /* pairs with simmm__rmap_unlock_read() */
	if (lock_read(sim, &file->i_mmap_rwsem, try)) {
		simmm__file_put(file);
		return -EAGAIN;
	}
	l->file = file;
	l->tree = &file->i_mmap;
	l->off = offsetof(struct simmm_vma, file_node);
	return 1;
}

int simmm__rmap_lock_read(simmm_sim *sim, struct simmm_page *folio,
			  struct simmm_anon_vma *pinned, bool try, struct simmm_rmap_rlock *l)
{
	*l = (struct simmm_rmap_rlock){0};
	if (folio->flags & PG_anon)
		return folio->mapping || pinned ? lock_anon_read(sim, folio, pinned, try, l) : 0;
	return folio->mapping ? lock_file_read(sim, folio, try, l) : 0;
}

void simmm__rmap_unlock_read(simmm_sim *sim, struct simmm_rmap_rlock *l)
{
	if (l->av) {
		simmm_up_read(sim, &l->av->rwsem);
		simmm__anon_vma_put(sim, l->av);
	}
	if (l->file) {
		simmm_up_read(sim, &l->file->i_mmap_rwsem);
		simmm__file_put(l->file);
	}
	*l = (struct simmm_rmap_rlock){0};
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

/* A page of a large folio gained its first, or lost its last, pte mapping:
 * the folio's count of mapped pages follows (_nr_pages_mapped). */
static void nr_pages_mapped_add(simmm_sim *sim, struct simmm_page *page, int32_t d)
{
	int32_t *nr = simmm__folio_nr_pages_mapped(simmm__compound_head(sim, page));

	if (nr)
		*nr += d;
}

/*
 * __folio_remove_rmap()'s deferred split test, as in Linux 6.12 to 6.18
 * with CONFIG_PAGE_MAPCOUNT (the default): pages of an anonymous large
 * folio just lost their last mapping and the folio is "partially mapped":
 * no PMD (entire) mapping is left but a pte still maps some page. Such a
 * folio goes on the deferred split queue (once: PG_partially_mapped),
 * where reclaim splits it to free the unmapped pages. The caller knows
 * that some page became unmapped; the counts tell the rest.
 */
static void maybe_partially_mapped(simmm_sim *sim, struct simmm_page *folio)
{
	int32_t *nr = simmm__folio_nr_pages_mapped(folio);

	if (!nr || *nr == 0 || *entire_mapcount(sim, folio) > 0)
		return;
	if ((folio->flags & (PG_anon | PG_partially_mapped)) != PG_anon)
		return;
	simmm__deferred_split_folio(sim, folio);
}

void simmm__page_add_rmap_pte(simmm_sim *sim, struct simmm_page *page)
{
	if (page->mapcount++ == 0)
		nr_pages_mapped_add(sim, page, 1);
}

void simmm__folio_add_rmap_entire(simmm_sim *sim, struct simmm_page *folio)
{
	(*entire_mapcount(sim, folio))++;
}

bool simmm__page_remove_rmap_pte_batched(simmm_sim *sim, struct simmm_page *page)
{
	if (NEVER(page->mapcount <= 0))
		return false;
	if (--page->mapcount)
		return false;
	nr_pages_mapped_add(sim, page, -1);
	return true;
}

void simmm__folio_remove_rmap_ptes_done(simmm_sim *sim, struct simmm_page *folio,
					unsigned nr_unmapped)
{
	if (nr_unmapped)
		maybe_partially_mapped(sim, simmm__compound_head(sim, folio));
}

void simmm__page_remove_rmap_pte(simmm_sim *sim, struct simmm_page *page)
{
	/* folio_remove_rmap_pte(): a batch of one. */
	if (simmm__page_remove_rmap_pte_batched(sim, page))
		simmm__folio_remove_rmap_ptes_done(sim, page, 1);
}

void simmm__folio_remove_rmap_entire(simmm_sim *sim, struct simmm_page *folio)
{
	int32_t *mc = entire_mapcount(sim, folio), *nr;

	if (NEVER(*mc <= 0))
		return;
	if (--(*mc))
		return;
	/* The last PMD mapping went: the pages no pte maps are unmapped now;
	 * partially mapped if that is some, not all. */
	nr = simmm__folio_nr_pages_mapped(folio);
	if (nr && *nr < (int32_t)(1U << folio->order))
		maybe_partially_mapped(sim, folio);
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
	if (folio->refcount == 1) {
		/* __page_cache_release(): off the LRU, and not mlocked. */
		if (folio->flags & PG_lru)
			simmm__lru_del(sim, folio);
		simmm__mlock_release(sim, folio);
	}
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

/*
 * folio_maybe_mapped_shared(): may @folio be mapped by more than one mm?
 * simmm maps a page at most once per mm (an anonymous page sits at its
 * linear index; mremap splits THP leaves), so a page mapped twice, or a
 * PMD mapping beside any other, means another mm. A large folio whose
 * pages are each mapped once by ptes may still be spread over two mms (a
 * fork, then each side unmapped a part): the kernel tracks the mms
 * (CONFIG_MM_ID, 6.15+); simmm cannot tell from the counts and says "not
 * shared", as folio_likely_mapped_shared() (6.9-6.14) did when the first
 * page was mapped once.
 */
bool simmm__folio_maybe_mapped_shared(simmm_sim *sim, struct simmm_page *folio)
{
	uint64_t nr;

	folio = simmm__compound_head(sim, folio);
	if (!folio->order)
		return folio->mapcount > 1;
	if (simmm__folio_mapcount(sim, folio) <= 1)
		return false;
	if (*entire_mapcount(sim, folio) > 0)
		return true;
	nr = 1ULL << folio->order;
	for (uint64_t i = 0; i < nr; i++)
		if (simmm__pfn_to_page(sim, folio->pfn + i)->mapcount > 1)
			return true;
	return false;
}

/* ---- walks ------------------------------------------------------------------------ */

/* Does the leaf entry @e at @lvl, found for @addr, map a page of @folio?
 * A present leaf; or a device-private / device-exclusive entry (they map
 * the device page; migration entries do not map the folio). */
static bool entry_maps_folio(struct simmm_vma *vma, simmm_addr_t addr, simmm_entry_t e,
			     enum simmm_level lvl, struct simmm_page *folio)
{
	bool present = simmm_pte_present(e);
	simmm_pfn_t pfn;

	if (!simmm_entry_pfn(e, &pfn))
		return false;
	if (!present && !simmm_is_device_private_entry(e) && !simmm_is_device_exclusive_entry(e))
		return false;
	if (present && simmm_pte_special(e))
		return false;
	/* The frame at @addr (inside a huge leaf: its subpage). Computed from
	 * the entry, not the translation's pfn, which is 0 for PROT_NONE
	 * (protnone) leaves, which still map the folio. */
	if (present)
		pfn = simmm_pte_pfn(e) + ((addr & (simmm_level_size(vma->mm->pgt, lvl) - 1)) >>
					  vma->mm->sim->geo.page_shift);
	return pfn >= folio->pfn && pfn < folio->pfn + (1ULL << folio->order);
}

bool simmm__page_vma_mapped(struct simmm_vma *vma, simmm_addr_t addr, struct simmm_page *folio,
			    simmm_entry_t **slot, enum simmm_level *lvl)
{
	struct simmm_translation t;

	if (addr < vma->vm_start || addr >= vma->vm_end)
		return false;
	if (simmm__pgtable_translate_slot(vma->mm->pgt, addr, &t, slot))
		return false;
	if (!entry_maps_folio(vma, addr, t.entry, t.level, folio))
		return false;
	*lvl = t.level;
	return true;
}

/* The tree is read-locked: no VMA of it can be unlinked, so @next stays
 * valid across @fn's scheduling points. */
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

/* rmap_walk(): 0, or -EAGAIN when @try and the lock was contended. */
static int rmap_walk(simmm_sim *sim, struct simmm_page *folio, simmm_rmap_fn fn, void *arg,
		     bool try)
{
	struct simmm_rmap_rlock l;
	int locked;

	folio = simmm__compound_head(sim, folio);
	locked = simmm__rmap_lock_read(sim, folio, NULL, try, &l);
	if (locked <= 0)
		return locked;
	walk_tree(sim, l.tree, l.off, folio, fn, arg);
	simmm__rmap_unlock_read(sim, &l);
	return 0;
}

void simmm__rmap_walk(simmm_sim *sim, struct simmm_page *folio, simmm_rmap_fn fn, void *arg)
{
	rmap_walk(sim, folio, fn, arg, false);
}

/* ---- try_to_unmap ------------------------------------------------------------------- */

struct ttu_arg {
	simmm_entry_t swp;
	unsigned ttu; /* SIMMM__TTU_* */
	bool failed;
};

/* The pte table holding @addr's pte (PVMW_PGTABLE_CROSSED's test). */
static simmm_addr_t pte_table_base(const struct simmm_vma *vma, simmm_addr_t addr)
{
	const struct simmm_level_desc *pte = &vma->mm->sim->geo.level[SIMMM_LVL_PTE];

	return addr & ~((1ULL << (pte->shift + pte->bits)) - 1);
}

/*
 * The "restore the mlock which got missed" of folio_referenced_one() and
 * try_to_unmap_one() (6.19+: "mm/rmap: mlock large folios in
 * try_to_unmap_one()", "fix a mlock race condition in
 * folio_referenced_one()"): does VM_LOCKED @vma map @folio in [@addr,
 * @end), and whole (a small folio, a PMD, or every page by ptes of one
 * pte table)? A folio mapped whole is mlocked. Return: 0 not mapped here;
 * 1 mapped in part (not mlocked: reclaim may split it and take the pages
 * outside the VMA); 2 mapped whole (mlocked).
 */
static int mlock_missed(struct simmm_page *folio, struct simmm_vma *vma, simmm_addr_t addr,
			simmm_addr_t end)
{
	simmm_sim *sim = vma->mm->sim;
	simmm_addr_t table = 0;
	uint64_t ptes = 0;
	bool crossed = false;

	for (simmm_addr_t p = addr; p < end; p += sim->page_size) {
		simmm_entry_t *slot;
		enum simmm_level lvl;

		if (!simmm__page_vma_mapped(vma, p, folio, &slot, &lvl))
			continue;
		if (lvl != SIMMM_LVL_PTE || !folio->order) {
			ptes = 1ULL << folio->order;
			break;
		}
		if (ptes++ && pte_table_base(vma, p) != table)
			crossed = true;
		table = pte_table_base(vma, p);
	}
	if (!ptes)
		return 0;
	if (crossed || ptes != 1ULL << folio->order)
		return 1;
	simmm__mlock_vma_folio(sim, folio, vma);
	return 2;
}

/* try_to_unmap_one()'s walk_abort cases for one present pte of @folio, or
 * false when the pte may go. The pte has not been touched yet: an abort
 * leaves it as it was (upstream clears it and puts it back). */
static bool ttu_must_abort(simmm_sim *sim, struct simmm_page *folio, struct simmm_page *page,
			   simmm_entry_t pte, bool lazyfree)
{
	if (lazyfree) {
		/* MADV_FREE'd but written again (through the pte, or through an
		 * earlier GUP reference that dirtied the folio): keep it,
		 * swap-backed again. */
		if (simmm_pte_dirty(pte) || (folio->flags & PG_dirty)) {
			/* To the anon LRU type, should the folio be on the LRU
			 * (memory_failure()'s unmap does not isolate). */
			simmm__lru_move(sim, folio, 0, PG_swapbacked);
			return true;
		}
		/* Clean, but someone holds a reference beyond the mappings and
		 * the caller's isolation reference (GUP, a direct-I/O read in
		 * flight): discarding would lose what they write. Upstream
		 * compares folio_ref_count() with 1 + folio_mapcount() and,
		 * since 6.14 ("mm: set folio swapbacked iff folios are dirty in
		 * try_to_unmap_one"), leaves the folio lazyfree. */
		return folio->refcount != 1 + simmm__folio_mapcount(sim, folio);
	}
	/* An anon-exclusive page becomes a shared one as its pte turns into a
	 * swap entry; folio_try_share_anon_rmap_pte() refuses that while the
	 * folio may be DMA-pinned (the pin must keep seeing what the process
	 * maps). A FOLL_GET reference does not stop it: that is why FOLL_PIN
	 * exists. File pages are unmapped pinned or not. */
	return (folio->flags & PG_anon) && (page->flags & PG_anon_exclusive) &&
	       simmm__folio_maybe_dma_pinned(sim, folio);
}

/* The pages of @folio that @vma maps from @addr on: [*lo, *hi). */
void simmm__folio_span(const struct simmm_page *folio, const struct simmm_vma *vma,
		       simmm_addr_t addr, simmm_addr_t *hi)
{
	unsigned shift = simmm__page_shift(vma->mm);
	uint64_t idx = simmm__linear_page_index(vma, addr, shift);
	uint64_t left = folio->index + (1ULL << folio->order) - idx;
	simmm_addr_t end = addr + (left << shift);

	*hi = end < vma->vm_end ? end : vma->vm_end;
}

/* @poison: TTU_HWPOISON on the poisoned page: a hwpoison entry replaces
 * the pte, whatever the folio (try_to_unmap_one()'s first case). */
static void unmap_one_pte(struct simmm_vma *vma, simmm_addr_t addr, struct simmm_page *folio,
			  simmm_entry_t *slot, simmm_entry_t swp, bool poison)
{
	struct simmm_mm *mm = vma->mm;
	simmm_sim *sim = mm->sim;
	simmm_entry_t old = *slot, e = 0;
	struct simmm_page *page;
	simmm_pfn_t pfn = 0;

	simmm_entry_pfn(old, &pfn);
	page = simmm__pfn_to_page(sim, pfn);
	if (simmm_pte_dirty(old))
		folio->flags |= PG_dirty; /* pte dirty -> folio dirty */
	if (poison) {
		e = simmm_make_hwpoison_entry(pfn);
	} else if ((folio->flags & PG_anon) && swp) {
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
	/* folio_remove_rmap_pte() in a VM_LOCKED VMA munlocks (only
	 * TTU_IGNORE_MLOCK unmaps there). */
	if (vma->vm_flags & SIMMM_VM_LOCKED)
		simmm__munlock_vma_folio(sim, folio, vma);
	simmm__folio_put(sim, folio); /* the caller holds a reference */
}

static bool ttu_one(struct simmm_page *folio, struct simmm_vma *vma, simmm_addr_t addr, void *a)
{
	struct ttu_arg *arg = a;
	struct simmm_mm *mm = vma->mm;
	struct simmm_change c;
	simmm_addr_t end, p;

	bool lazyfree = (folio->flags & (PG_anon | PG_swapbacked)) == PG_anon;
	bool hwpoison = arg->ttu & SIMMM__TTU_HWPOISON;
	bool honour_mlock = !(arg->ttu & SIMMM__TTU_IGNORE_MLOCK);
	bool abort = false;

	if ((folio->flags & PG_anon) && !lazyfree && !arg->swp && !hwpoison) {
		arg->failed = true;
		return true;
	}
	simmm__folio_span(folio, vma, addr, &end);
	/* "If the folio is in an mlock()d vma, we must not swap it out": a
	 * VMA that maps it ends the walk with the folio mapped, mlocking it
	 * if it maps it whole. One that does not (simmm's anon_vma spans
	 * the fork family) is no concern of this folio's. */
	if (honour_mlock && (vma->vm_flags & SIMMM_VM_LOCKED) && mlock_missed(folio, vma, addr, end)) {
		arg->failed = true;
		return false;
	}
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
	/* The bracket is a scheduling point: an mlock() may have made the
	 * VMA VM_LOCKED meanwhile. Upstream tests VM_LOCKED in the pvmw loop,
	 * under the PTL, after invalidate_range_start(): a page mlock() has
	 * populated is never unmapped once it returned. */
	if (honour_mlock && (vma->vm_flags & SIMMM_VM_LOCKED) && mlock_missed(folio, vma, addr, end)) {
		simmm__change_end(&c);
		arg->failed = true;
		return false;
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
		struct simmm_page *page = simmm__pfn_to_page(mm->sim, simmm_pte_pfn(*slot));

		if (hwpoison && (page->flags & PG_hwpoison)) {
			unmap_one_pte(vma, p, folio, slot, 0, true);
			continue;
		}
		if (ttu_must_abort(mm->sim, folio, page, *slot, lazyfree)) {
			/* walk_abort: the rest of the folio stays mapped. */
			arg->failed = abort = true;
			break;
		}
		unmap_one_pte(vma, p, folio, slot, lazyfree ? 0 : arg->swp, false);
	}
	simmm__change_end(&c);
	return !abort;
}

bool simmm__try_to_unmap(simmm_sim *sim, struct simmm_page *folio, simmm_entry_t swp)
{
	return simmm__try_to_unmap_flags(sim, folio, swp, 0);
}

bool simmm__try_to_unmap_flags(simmm_sim *sim, struct simmm_page *folio, simmm_entry_t swp,
			       unsigned ttu)
{
	struct ttu_arg arg = {.swp = swp, .ttu = ttu};

	folio = simmm__compound_head(sim, folio);
	simmm__rmap_walk(sim, folio, ttu_one, &arg);
	return simmm__folio_mapcount(sim, folio) == 0;
}

/* ---- folio_referenced --------------------------------------------------------------- */

/* What folio_referenced() gathers (the kernel's struct folio_referenced_arg). */
struct referenced_arg {
	int count;         /* young mappings found */
	uint64_t vm_flags; /* of the VMAs that found it young; VM_LOCKED */
};

static bool referenced_one(struct simmm_page *folio, struct simmm_vma *vma, simmm_addr_t addr,
			   void *a)
{
	struct referenced_arg *arg = a;
	uint64_t ps = vma->mm->sim->page_size;
	const struct simmm_level_desc *pte = &vma->mm->sim->geo.level[SIMMM_LVL_PTE];
	uint64_t table_span = 1ULL << (pte->shift + pte->bits); /* one pte table's reach */
	simmm_entry_t *slot = NULL; /* the last pte found, while still valid */
	simmm_addr_t end, p;
	int before = arg->count;

	/* invalid_folio_referenced_vma(): a VMA without recency (MADV_RANDOM
	 * / SEQUENTIAL) is skipped before its entries are looked at: its
	 * young bits stay set and count nowhere, and a VM_LOCKED one does not
	 * mlock the folio here either. */
	if (!simmm__vma_has_recency(vma))
		return true;
	simmm__folio_span(folio, vma, addr, &end);
	for (p = addr; p < end; p += ps) {
		enum simmm_level lvl = SIMMM_LVL_PTE;
		bool mapped;

		/* page_vma_mapped_walk() goes on in the same pte table: the
		 * next slot, no descent, as long as nothing could have
		 * changed the tables (no scheduling point since the lookup:
		 * a notifier callback below may have one). */
		if (slot && (p & (table_span - 1)))
			mapped = entry_maps_folio(vma, p, *++slot, SIMMM_LVL_PTE, folio);
		else
			mapped = simmm__page_vma_mapped(vma, p, folio, &slot, &lvl);
		if (!mapped) {
			slot = NULL;
			continue;
		}
		/* folio_referenced_one(): a VM_LOCKED VMA maps it. Whole, it
		 * is mlocked, reclaim is told so (activate_locked, then the
		 * unevictable list) and the walk ends; in part, it is neither
		 * mlocked nor looked at for young bits in this VMA. */
		if (vma->vm_flags & SIMMM_VM_LOCKED) {
			if (mlock_missed(folio, vma, addr, end) == 2) {
				arg->vm_flags |= SIMMM_VM_LOCKED;
				return false;
			}
			break;
		}
		/* ptep_clear_flush_young_notify(): the cpu's young bit, ORed
		 * with the secondary MMUs' answer. */
		if (simmm_pte_young(*slot)) {
			*slot = simmm_pte_mkold(*slot);
			arg->count++;
		} else {
			if (simmm__mmu_notifier_clear_flush_young(vma->mm, p, p + ps))
				arg->count++;
			if (vma->mm->notifier_subscriptions)
				slot = NULL; /* callbacks may sleep: look up again */
		}
		if (lvl != SIMMM_LVL_PTE)
			break; /* one leaf maps the whole folio */
	}
	if (arg->count != before)
		arg->vm_flags |= vma->vm_flags;
	return true;
}

int simmm__folio_referenced_flags(simmm_sim *sim, struct simmm_page *folio, uint64_t *vm_flags)
{
	struct referenced_arg arg = {0};
	int err;

	/* folio_referenced() sets rwc.try_lock: reclaim does not wait for
	 * a busy reverse map, it keeps the folio (-1). */
	err = rmap_walk(sim, folio, referenced_one, &arg, true);
	*vm_flags = arg.vm_flags;
	return err ? -1 : arg.count;
}

int simmm__folio_referenced(simmm_sim *sim, struct simmm_page *folio)
{
	uint64_t vm_flags;

	return simmm__folio_referenced_flags(sim, folio, &vm_flags);
}
