// SPDX-License-Identifier: MIT
/*
 * fork(): dup_mmap() and copy_page_range() (mm/memory.c). Private
 * anonymous pages become shared copy-on-write: both sides write-protected
 * (the parent's range announced with PROTECTION_PAGE first), the page's
 * mapcount and reference taken for the child and PG_anon_exclusive
 * cleared (folio_try_dup_anon_rmap_*()). An exclusive page of a folio that
 * may be DMA-pinned is never shared (folio_needs_cow_for_dma()), or a
 * later COW fault would leave the pin holding a page the parent no longer
 * maps: a PTE-mapped one is copied for the child at once
 * (copy_present_page()); a PMD-mapped THP first has the parent's PMD split
 * (copy_huge_pmd() failing with -EAGAIN), then its pages are copied as
 * ptes in the same walk; a private hugetlb page is copied whole into a new
 * huge page (copy_hugetlb_page_range()), or fork fails with -ENOSPC when
 * none is free. Non-present entries follow copy_nonpresent_pte().
 */
#include <errno.h>

#include "mm/mm_ext.h"
#include "notifier/notifier.h"

struct fork_ctx {
	struct simmm_mm *src, *dst;
	struct simmm_vma *svma, *dvma;
	bool cow;
};

/* Install @e in the child (tables allocated first so nothing has to be
 * undone on -ENOMEM except what the caller took). */
static int child_set(struct fork_ctx *c, simmm_addr_t addr, enum simmm_level lvl, simmm_entry_t e)
{
	int err = simmm_pgtable_alloc_level(c->dst->pgt, addr, lvl, NULL);

	if (err)
		return err;
	return simmm_pgtable_set(c->dst->pgt, addr, lvl, e);
}

/* copy_present_page(): the child gets its own copy of a pinned page,
 * mapped maybe_mkwrite(pte_mkdirty()) for the child's VMA whatever the
 * parent's entry (read-only after an unshare, say), with the parent's
 * uffd-wp bit if the child's VMA keeps uffd-wp. The parent's entry is left
 * as it was: the page stays exclusive and writable for the pin's owner. */
static int copy_pinned(struct fork_ctx *c, simmm_addr_t addr, struct simmm_page *page,
		       simmm_entry_t src)
{
	simmm_sim *sim = c->src->sim;
	struct simmm_page *folio = simmm__alloc_user_folio(sim, 0);
	simmm_entry_t e;
	int err;

	if (!folio)
		return -ENOMEM;
	err = simmm__page_copy(sim, folio, page);
	if (!err)
		err = simmm_pgtable_alloc_level(c->dst->pgt, addr, SIMMM_LVL_PTE, NULL);
	if (err) {
		simmm__folio_put(sim, folio);
		return err;
	}
	simmm__folio_add_new_anon_rmap(folio, c->dvma, addr, true);
	simmm__folio_add_lru_vma(sim, folio, c->dvma);
	e = simmm__mk_pte(c->dst, c->dvma, folio->pfn, false);
	e = simmm__maybe_mkwrite(c->dvma, simmm_pte_mkdirty(e));
	if ((c->dvma->vm_flags & SIMMM_VM_UFFD_WP) && simmm_pte_uffd_wp(src))
		e = simmm_pte_mkuffd_wp(e);
	simmm_pgtable_set(c->dst->pgt, addr, SIMMM_LVL_PTE, e);
	simmm__rss_add(c->dst, c->dvma, folio, 1);
	return 0;
}

/*
 * copy_huge_pmd(): folio_try_dup_anon_rmap_pmd() will not share an
 * exclusive THP that may be pinned, so the parent's PMD is split instead
 * (__split_huge_pmd(): a CLEAR invalidation of the PMD, nested in fork's
 * PROTECTION_PAGE one; the folio stays large, its pages exclusive and mapped
 * as before by ptes) and copy_pmd_range() copies the range as ptes: the walk
 * reads the slot again and descends into the new table. There every
 * exclusive page of the folio is copied (copy_present_ptes() cannot dup the
 * folio's batch, folio_try_dup_anon_rmap_ptes() failing as soon as one page
 * of a maybe-pinned folio is exclusive, and retries page by page, each page
 * going to copy_present_page()), not only the pages the pins hold. The
 * split withdraws the PMD's deposited table: it cannot fail for memory.
 */
static int split_pinned(struct fork_ctx *c, simmm_addr_t addr, struct simmm_walk *walk)
{
	int err = simmm__split_huge_pmd(c->src, c->svma, addr);

	if (err)
		return err;
	walk->action = SIMMM_WALK_AGAIN;
	return 0;
}

/* __folio_try_dup_anon_rmap() (hugetlb_try_dup_anon_rmap() for hugetlb)
 * fails: an anon-exclusive page of a folio that may be pinned
 * (folio_needs_cow_for_dma()) cannot be shared with the child without
 * letting a later COW fault replace what the pin holds. Only in an mm
 * that ever pinned (MMF_HAS_PINNED): elsewhere a small folio's refcount
 * at GUP_PIN_COUNTING_BIAS is plain references, and the page is shared.
 * For a PMD or PUD leaf the page is the head, as there. */
static bool must_copy(const struct fork_ctx *c, struct simmm_page *folio, struct simmm_page *page)
{
	return c->cow && (folio->flags & PG_anon) && (page->flags & PG_anon_exclusive) &&
	       c->src->has_pinned && simmm__folio_maybe_dma_pinned(c->src->sim, folio);
}

static int copy_present(struct fork_ctx *c, simmm_entry_t *slot, simmm_addr_t addr,
			enum simmm_level lvl, struct simmm_walk *walk)
{
	simmm_sim *sim = c->src->sim;
	simmm_entry_t e = *slot;
	struct simmm_page *page = simmm__vm_normal_page(c->svma, e), *folio = NULL;
	int64_t nr = (int64_t)(simmm_level_size(c->src->pgt, lvl) >> sim->geo.page_shift);
	int err;

	if (page) {
		folio = simmm__compound_head(sim, page);
		if (must_copy(c, folio, page)) {
			if (simmm__is_vm_hugetlb(c->svma))
				return simmm__hugetlb_copy_pinned(c->dvma, addr, folio, e);
			if (lvl == SIMMM_LVL_PTE)
				return copy_pinned(c, addr, page, e);
			if (lvl == SIMMM_LVL_PMD)
				return split_pinned(c, addr, walk);
		}
	}
	e = c->cow ? simmm_pte_wrprotect(e) : e;
	if (c->svma->vm_flags & SIMMM_VM_SHARED)
		e = simmm_pte_mkclean(e);
	err = child_set(c, addr, lvl, simmm_pte_mkold(e));
	if (err)
		return err;
	if (folio) {
		simmm__folio_get(sim, folio);
		if (lvl == SIMMM_LVL_PTE) {
			simmm__page_add_rmap_pte(sim, page);
			page->flags &= ~PG_anon_exclusive;
		} else {
			simmm__folio_add_rmap_entire(sim, folio);
			for (int64_t i = 0; i < nr; i++)
				simmm__pfn_to_page(sim, folio->pfn + i)->flags &= ~PG_anon_exclusive;
		}
		simmm__rss_add(c->dst, c->dvma, folio, nr);
	}
	if (c->cow && simmm_pte_write(*slot))
		simmm_walk_update(walk, slot, simmm_pte_wrprotect(*slot));
	return 0;
}

/* A writable migration / device-private entry becomes readable in both. */
static simmm_entry_t make_readable(simmm_entry_t e)
{
	simmm_entry_t keep = e & SIMMM_E_SWP_PTE_BITS & ~SIMMM_E_SWP_EXCLUSIVE;
	uint64_t off = simmm_swp_offset(e);

	if (simmm_is_writable_migration_entry(e) || simmm_is_readable_exclusive_migration_entry(e))
		return simmm_swp_entry(SIMMM_SWP_MIGRATION_READ, off) | keep;
	if (simmm_is_writable_device_private_entry(e))
		return simmm_swp_entry(SIMMM_SWP_DEVICE_READ, off) | keep;
	return e;
}

static int copy_nonpresent(struct fork_ctx *c, simmm_entry_t *slot, simmm_addr_t addr,
			   enum simmm_level lvl, struct simmm_walk *walk)
{
	simmm_sim *sim = c->src->sim;
	simmm_entry_t e = *slot;
	struct simmm_page *page = NULL, *folio = NULL;
	int64_t nr = (int64_t)(simmm_level_size(c->src->pgt, lvl) >> sim->geo.page_shift);
	int err;

	if (simmm_is_device_exclusive_entry(e)) {
		/* Upstream restores the entry first: the parent's page is mapped
		 * normally again (inside this PROTECTION_PAGE range), then
		 * copied like any present pte. */
		simmm_walk_update(walk, slot, simmm__mk_pte(c->src, c->svma,
							   simmm_swp_offset_pfn(e), true));
		return copy_present(c, slot, addr, lvl, walk);
	}
	if (simmm_is_pte_marker(e)) {
		/* copy_pte_marker(): guard and poison markers always, uffd-wp
		 * only into a uffd-wp VMA; a new marker, without the source's
		 * swp pte bits (soft-dirty). */
		uint64_t m = simmm_pte_marker_get(e);
		uint64_t keep = SIMMM_PTE_MARKER_GUARD | SIMMM_PTE_MARKER_POISONED |
				((c->dvma->vm_flags & SIMMM_VM_UFFD_WP) ? SIMMM_PTE_MARKER_UFFD_WP : 0);

		return (m & keep) ? child_set(c, addr, lvl, simmm_make_pte_marker(m & keep)) : 0;
	}
	if (c->cow && (simmm_is_migration_entry(e) || simmm_is_device_private_entry(e)))
		e = make_readable(e);
	if (simmm_is_real_swap_entry(e))
		e = simmm_pte_swp_clear_exclusive(e); /* now shared */
	err = child_set(c, addr, lvl, e);
	if (err)
		return err;
	if (e != *slot)
		simmm_walk_update(walk, slot, e);
	if (simmm_is_real_swap_entry(e)) {
		simmm__swap_dup(sim, e);
		c->dst->stats.swap_ents++;
		return 0;
	}
	if (!simmm_is_migration_entry(e) && !simmm_is_device_private_entry(e))
		return 0;
	page = simmm__pfn_to_page(sim, simmm_swp_offset_pfn(e));
	if (!page)
		return 0;
	folio = simmm__compound_head(sim, page);
	simmm__rss_add(c->dst, c->dvma, folio, nr);
	if (simmm_is_device_private_entry(e)) {
		/* copy_huge_non_present_pmd() for a device THP (6.19+): one
		 * more entire mapping; no page is exclusive any more. */
		simmm__folio_get(sim, folio);
		if (lvl == SIMMM_LVL_PTE) {
			simmm__page_add_rmap_pte(sim, page);
			page->flags &= ~PG_anon_exclusive;
		} else {
			simmm__folio_add_rmap_entire(sim, folio);
			for (uint64_t i = 0; i < (1ULL << folio->order); i++)
				simmm__pfn_to_page(sim, folio->pfn + i)->flags &= ~PG_anon_exclusive;
		}
	}
	return 0;
}

/* Did the copy give the child a PMD entry at @addr (not a pinned THP's
 * split, after which the walk copies ptes)? */
static bool child_has_pmd(struct fork_ctx *c, simmm_addr_t addr)
{
	simmm_entry_t *slot;

	return !simmm_pgtable_lookup(c->dst->pgt, addr, SIMMM_LVL_PMD, &slot) &&
	       !simmm_entry_none(*slot) && !simmm_entry_is_table(*slot, SIMMM_LVL_PMD);
}

/*
 * copy_huge_pmd(): an anonymous PMD mapping (a THP, the huge zero PMD, a
 * PMD migration or device THP entry) gets a PTE table for the child's
 * deposit before anything is looked at (pte_alloc_one(); failing, the
 * fork fails with -ENOMEM, the parent untouched, even where a pinned THP
 * would have been split). It is deposited with the child's PMD
 * (pgtable_trans_huge_deposit() + mm_inc_nr_ptes()), or freed when the
 * parent's PMD was split instead (-EAGAIN there).
 */
static int copy_pmd(struct fork_ctx *c, simmm_entry_t *slot, simmm_addr_t addr,
		    struct simmm_walk *walk)
{
	struct simmm_page *pgtable = simmm__pte_alloc_one(c->dst->pgt);
	int err;

	if (!pgtable)
		return -ENOMEM;
	if (simmm_pte_present(*slot))
		err = copy_present(c, slot, addr, SIMMM_LVL_PMD, walk);
	else
		err = copy_nonpresent(c, slot, addr, SIMMM_LVL_PMD, walk);
	if (!err && child_has_pmd(c, addr))
		simmm__pgtable_deposit(c->dst->pgt, addr, pgtable);
	else
		simmm__pte_free(c->dst->pgt, pgtable);
	return err;
}

static int copy_cb(simmm_entry_t *slot, simmm_addr_t addr, simmm_addr_t next,
		   struct simmm_walk *walk)
{
	struct fork_ctx *c = walk->private;

	(void)next;
	if (simmm_entry_none(*slot) || simmm_entry_is_table(*slot, walk->level))
		return 0;
	walk->action = SIMMM_WALK_CONTINUE;
	if (walk->level == SIMMM_LVL_PMD && simmm__pmd_has_deposit(c->src->sim, *slot))
		return copy_pmd(c, slot, addr, walk);
	if (simmm_pte_present(*slot))
		return copy_present(c, slot, addr, walk->level, walk);
	return copy_nonpresent(c, slot, addr, walk->level, walk);
}

static const struct simmm_walk_ops copy_ops = {
	.pud_entry = copy_cb,
	.pmd_entry = copy_cb,
	.pte_entry = copy_cb,
	.pte_skip_none = true,
};

/* vma_needs_copy(): file pages can be faulted in again by the child. */
static bool needs_copy(const struct simmm_vma *src, const struct simmm_vma *dst)
{
	if (dst->vm_flags & SIMMM_VM_WIPEONFORK)
		return false;
	return src->anon_vma ||
	       (src->vm_flags & (SIMMM_VM_PFNMAP | SIMMM_VM_MIXEDMAP | SIMMM_VM_HUGETLB));
}

static int copy_page_range(struct fork_ctx *c)
{
	struct simmm_change ch;
	int err;

	c->cow = simmm__is_cow_mapping(c->svma->vm_flags);
	if (c->cow)
		simmm__change_begin(&ch, c->src, c->svma->vm_start, c->svma->vm_end,
				    SIMMM_MMU_NOTIFY_PROTECTION_PAGE, NULL);
	err = simmm_walk_range(c->src->pgt, c->svma->vm_start, c->svma->vm_end, &copy_ops, c);
	if (c->cow)
		simmm__change_end(&ch);
	return err;
}

static int dup_vma(struct simmm_mm *parent, struct simmm_mm *child, struct simmm_vma *svma)
{
	struct fork_ctx c = {.src = parent, .dst = child, .svma = svma};
	struct simmm_vma *dvma = simmm__vma_alloc(child);

	if (!dvma)
		return -ENOMEM;
	*dvma = *svma;
	dvma->mm = child;
	/* mlock is not inherited: the child's VMAs lose VM_LOCKED and
	 * VM_LOCKONFAULT (dup_mmap(): vm_flags_clear(tmp, VM_LOCKED_MASK)),
	 * so the parent's mlocked folios gain no mlock by the child mapping
	 * them (no rmap hook mlocks for an unlocked VMA). */
	dvma->vm_flags &= ~SIMMM_VM_LOCKED_MASK;
	/* The child joins the fork family's anon_vma; VM_WIPEONFORK VMAs
	 * start empty with none (anon_vma_fork() is skipped). */
	if (svma->vm_flags & SIMMM_VM_WIPEONFORK)
		dvma->anon_vma = NULL;
	simmm__vma_link(child, dvma);
	c.dvma = dvma;
	return needs_copy(svma, dvma) ? copy_page_range(&c) : 0;
}

int simmm__dup_mmap(struct simmm_mm *parent, struct simmm_mm *child)
{
	child->mmap_base = parent->mmap_base;
	for (struct simmm_itree_node *n = simmm__itree_first(&parent->vmas); n;
	     n = simmm__itree_next(n)) {
		struct simmm_vma *vma = simmm__vma_lookup(parent, n->start);
		int err;

		if (vma->vm_flags & SIMMM_VM_DONTCOPY)
			continue;
		err = dup_vma(parent, child, vma);
		if (err)
			return err;
	}
	return 0;
}

int simmm_fork(struct simmm_mm *parent, struct simmm_mm **child)
{
	struct simmm_mm *mm;
	int err;

	if (!simmm__mm_ok(parent) || parent->mm_users <= 0 || !child)
		return -EINVAL;
	err = simmm_down_write(parent->sim, &parent->mmap_lock);
	if (err)
		return err;
	err = simmm_mm_create(parent->sim, &mm);
	if (!err) {
		/* Process attributes fork copies (RLIMIT_MEMLOCK, capabilities);
		 * def_flags keeps no lock bit (mm_init(): VM_INIT_DEF_MASK). */
		mm->memlock_limit = parent->memlock_limit;
		mm->cap_ipc_lock = parent->cap_ipc_lock;
		mm->cap_sys_admin = parent->cap_sys_admin;
		mm->cap_sys_nice = parent->cap_sys_nice;
		err = simmm__dup_mmap(parent, mm);
		if (err)
			simmm_mmput(mm); /* exit_mmap undoes the partial copy */
	}
	simmm_up_write(parent->sim, &parent->mmap_lock);
	if (!err)
		*child = mm;
	return err;
}
