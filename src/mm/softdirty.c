// SPDX-License-Identifier: MIT
/*
 * Clearing soft-dirty bits: echo 4 > /proc/pid/clear_refs
 * (clear_refs_write() with CLEAR_REFS_SOFT_DIRTY in fs/proc/task_mmu.c).
 *
 * As upstream: VM_SOFTDIRTY is cleared on every VMA, then one
 * MMU_NOTIFY_SOFT_DIRTY invalidation covering the whole address space
 * brackets a walk that write-protects every present pte and PMD leaf and
 * clears its soft-dirty bit (swap-format entries lose their swp soft-dirty
 * bit). The next write faults and pte_mkdirty() sets soft-dirty again,
 * which is how CRIU-style trackers see the pages written since. A writable
 * pte of a COW mapping whose page may be DMA-pinned, in an mm that ever
 * pinned (MMF_HAS_PINNED), is left alone, as clear_soft_dirty() does since
 * the COW/GUP fixes (pte_is_pinned(): write-protecting it would break the
 * pin's coherence); PMD leaves have no such exception.
 */
#include <simmm/mmu_notifier.h>

#include "mm/mm.h"

struct sd_ctx {
	struct simmm_mm *mm;
	struct simmm_vma *vma; /* the VMA being walked */
};

/* pte_is_pinned(): a writable pte of a COW mapping, in an mm that ever
 * pinned (MMF_HAS_PINNED), mapping a folio that may be pinned, keeps its
 * write bit and soft-dirty state: write-protecting it would let the next
 * write fault replace the page under the pin. */
static bool pte_is_pinned(const struct sd_ctx *c, simmm_entry_t e)
{
	struct simmm_page *page;

	if (!simmm_pte_write(e) || !simmm__is_cow_mapping(c->vma->vm_flags) ||
	    !c->mm->has_pinned)
		return false;
	page = simmm__vm_normal_page(c->vma, e);
	return page && simmm__folio_maybe_dma_pinned(c->mm->sim, simmm__compound_head(c->mm->sim, page));
}

/* clear_soft_dirty() / clear_soft_dirty_pmd(): the pinned-page exception
 * is the pte's alone (a PMD leaf is write-protected regardless). */
static simmm_entry_t clear_sd(const struct sd_ctx *c, simmm_entry_t e, enum simmm_level lvl)
{
	if (simmm_pte_present(e)) {
		if (lvl == SIMMM_LVL_PTE && pte_is_pinned(c, e))
			return e;
		return simmm_pte_clear_soft_dirty(simmm_pte_wrprotect(e));
	}
	if (simmm_is_swap_pte(e))
		return simmm_pte_swp_clear_soft_dirty(e);
	return e;
}

static int sd_pte(simmm_entry_t *slot, simmm_addr_t addr, simmm_addr_t next,
		  struct simmm_walk *walk)
{
	struct sd_ctx *c = walk->private;
	simmm_entry_t e = *slot, n;

	(void)addr, (void)next;
	if (simmm_entry_none(e))
		return 0;
	n = clear_sd(c, e, SIMMM_LVL_PTE);
	return n == e ? 0 : simmm_walk_update(walk, slot, n);
}

static int sd_pmd(simmm_entry_t *slot, simmm_addr_t addr, simmm_addr_t next,
		  struct simmm_walk *walk)
{
	struct sd_ctx *c = walk->private;
	simmm_entry_t e = *slot, n;

	(void)addr, (void)next;
	/* Only leaves and swap-format PMDs; tables are descended. */
	if (simmm_entry_is_table(e, SIMMM_LVL_PMD) || simmm_entry_none(e))
		return 0;
	walk->action = SIMMM_WALK_CONTINUE;
	n = clear_sd(c, e, SIMMM_LVL_PMD);
	return n == e ? 0 : simmm_walk_update(walk, slot, n);
}

static const struct simmm_walk_ops sd_ops = {
	.pmd_entry = sd_pmd,
	.pte_entry = sd_pte,
	.pte_skip_none = true,
};

int simmm_clear_refs_soft_dirty(struct simmm_mm *mm)
{
	struct sd_ctx ctx = {.mm = mm};
	struct simmm_change c;
	int err;

	if (!simmm__mm_ok(mm))
		return -EINVAL;
	err = simmm_mmap_write_lock(mm);
	if (err)
		return err;
	for (struct simmm_vma *v = simmm__find_vma(mm, 0); v; v = simmm__vma_next(v))
		v->vm_flags &= ~SIMMM_VM_SOFTDIRTY;
	err = simmm__change_begin(&c, mm, 0, UINT64_MAX, SIMMM_MMU_NOTIFY_SOFT_DIRTY, NULL);
	for (struct simmm_vma *v = simmm__find_vma(mm, 0); !err && v; v = simmm__vma_next(v)) {
		/* hugetlb keeps its own soft-dirty handling upstream; PFNMAP
		 * entries have no struct page to track. */
		if (v->vm_flags & (SIMMM_VM_HUGETLB | SIMMM_VM_PFNMAP))
			continue;
		ctx.vma = v;
		err = simmm_walk_range(mm->pgt, v->vm_start, v->vm_end, &sd_ops, &ctx);
	}
	simmm__change_end(&c);
	simmm_mmap_write_unlock(mm);
	return err;
}
