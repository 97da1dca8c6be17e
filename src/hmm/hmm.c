// SPDX-License-Identifier: MIT
/*
 * hmm_range_fault(): report the CPU mapping of a range to a device driver,
 * faulting pages in where asked, with the kernel's rules (mm/hmm.c) flag for
 * flag and error for error.
 *
 * Shape, as upstream: a thin driver (simmm_hmm_range_fault) loops on -EBUSY
 * over a VMA-by-VMA walk; inside a VMA one const ops struct drives the
 * generic page-table walker. Each handler either outputs entries (advancing
 * nothing: the walker advances) or faults [last, end) in and returns -EBUSY
 * so the walk restarts at @last, the first entry not yet output.
 *
 * Speed: a PTE table is handled from its PMD entry in one tight loop over
 * the table's slots (as hmm_vma_walk_pmd does), so the walker's per-entry
 * callback cost is paid once per 512 pages, not per page.
 */
#include <string.h>

#include <simmm/hmm.h>
#include <simmm/memremap.h>

#include "mm/mm.h"

/* Which faults a set of pages needs (HMM_NEED_*). */
enum {
	NEED_FAULT = 1u << 0,
	NEED_WRITE_FAULT = 1u << 1,
	NEED_ALL_BITS = NEED_FAULT | NEED_WRITE_FAULT,
};

struct hmm_walk_state {
	struct simmm_hmm_range *range;
	struct simmm_mm *mm;
	struct simmm_vma *vma;   /* NULL in a hole between VMAs */
	uint64_t last;           /* first address whose entry is still input */
	unsigned page_shift;
	bool migration_wait;     /* the last -EBUSY came from a migration entry */
	bool may_fault;          /* (default_flags | pfn_flags_mask) & REQ_FAULT */
	simmm_pfn_t zero_pfn;
	uint64_t ram_pages;      /* pfns below this have a struct page */
};

static inline uint64_t *pfns_at(struct hmm_walk_state *w, uint64_t addr)
{
	return &w->range->hmm_pfns[(addr - w->range->start) >> w->page_shift];
}

static inline uint64_t order_flags(unsigned order)
{
	return (uint64_t)order << SIMMM_HMM_PFN_ORDER_SHIFT;
}

/* hmm_pfns_fill(): every entry gets @cpu_flags, sticky input bits kept. */
static int pfns_fill(struct hmm_walk_state *w, uint64_t addr, uint64_t end, uint64_t cpu_flags)
{
	uint64_t *p = pfns_at(w, addr);
	uint64_t n = (end - addr) >> w->page_shift;

	for (uint64_t i = 0; i < n; i++)
		p[i] = (p[i] & SIMMM_HMM_PFN_INOUT_FLAGS) | cpu_flags;
	return 0;
}

/* Entry i = sticky input bits | (base + i): consecutive pfns with the same
 * flags (pfn bits never carry into the flag bits). PMD-leaf snapshots are
 * bound by this loop, so it is written with GCC/clang vector extensions
 * (two entries per 128-bit operation, lowered to SSE2/NEON or scalars). */
typedef uint64_t simmm_v2u64 __attribute__((vector_size(16)));

static void fill_seq(uint64_t *p, uint64_t n, uint64_t base)
{
	const simmm_v2u64 keep = {SIMMM_HMM_PFN_INOUT_FLAGS, SIMMM_HMM_PFN_INOUT_FLAGS};
	const simmm_v2u64 step = {2, 2};
	simmm_v2u64 seq0 = {base, base + 1}, seq1 = {base + 2, base + 3};
	const simmm_v2u64 step4 = step + step;
	uint64_t i = 0;

	for (; i + 4 <= n; i += 4) {
		simmm_v2u64 a, b;
		memcpy(&a, p + i, sizeof(a));
		memcpy(&b, p + i + 2, sizeof(b));
		a = (a & keep) | seq0;
		b = (b & keep) | seq1;
		memcpy(p + i, &a, sizeof(a));
		memcpy(p + i + 2, &b, sizeof(b));
		seq0 += step4;
		seq1 += step4;
	}
	for (; i < n; i++)
		p[i] = (p[i] & SIMMM_HMM_PFN_INOUT_FLAGS) | (base + i);
}

/* hmm_pte_need_fault(): what one page's request needs given what the CPU
 * mapping provides. */
static inline unsigned pte_need_fault(const struct simmm_hmm_range *r, uint64_t req,
				      uint64_t cpu_flags)
{
	req &= r->pfn_flags_mask;
	req |= r->default_flags;
	if (!(req & SIMMM_HMM_PFN_REQ_FAULT))
		return 0;
	if ((req & SIMMM_HMM_PFN_REQ_WRITE) && !(cpu_flags & SIMMM_HMM_PFN_WRITE))
		return NEED_FAULT | NEED_WRITE_FAULT;
	if (!(cpu_flags & SIMMM_HMM_PFN_VALID))
		return NEED_FAULT;
	return 0;
}

/* hmm_range_need_fault(): the union over @n pages. The early test means a
 * range whose flags can never ask for a fault is never faulted, whatever
 * the per-page input holds. */
static unsigned range_need_fault(const struct simmm_hmm_range *r, const uint64_t *pfns,
				 uint64_t n, uint64_t cpu_flags)
{
	unsigned need = 0;

	if (!((r->default_flags | r->pfn_flags_mask) & SIMMM_HMM_PFN_REQ_FAULT))
		return 0;
	for (uint64_t i = 0; i < n; i++) {
		need |= pte_need_fault(r, pfns[i], cpu_flags);
		if (need == NEED_ALL_BITS)
			break;
	}
	return need;
}

/* hmm_vma_fault(): fault every page of [addr, end), then -EBUSY so the walk
 * restarts at addr with the new state. */
static int vma_fault(struct hmm_walk_state *w, uint64_t addr, uint64_t end, unsigned need)
{
	unsigned flags = SIMMM_FAULT_FLAG_REMOTE;
	uint64_t psize = 1ULL << w->page_shift;

	w->last = addr;
	if (need & NEED_WRITE_FAULT) {
		if (!(w->vma->vm_flags & SIMMM_VM_WRITE))
			return -EPERM;
		flags |= SIMMM_FAULT_FLAG_WRITE;
	}
	for (; addr < end; addr += psize) {
		unsigned ret = simmm__handle_mm_fault(w->mm, w->vma, addr, flags);
		if (ret & SIMMM_VM_FAULT_OOM)
			return -ENOMEM;
		if (ret & SIMMM_VM_FAULT_ERROR)
			return -EFAULT;
	}
	return -EBUSY;
}

/* hmm_vma_walk_hole(): nothing mapped. Without a VMA it is an error to
 * need it; inside one it is faulted or reported as 0. */
static int walk_hole(struct hmm_walk_state *w, uint64_t addr, uint64_t end)
{
	unsigned need = range_need_fault(w->range, pfns_at(w, addr),
					 (end - addr) >> w->page_shift, 0);
	if (!w->vma) {
		if (need)
			return -EFAULT;
		return pfns_fill(w, addr, end, SIMMM_HMM_PFN_ERROR);
	}
	if (need)
		return vma_fault(w, addr, end, need);
	return pfns_fill(w, addr, end, 0);
}

static int hole_cb(simmm_addr_t addr, simmm_addr_t next, int depth, struct simmm_walk *walk)
{
	(void)depth;
	return walk_hole(walk->private, addr, next);
}

/* pmd_to_hmm_pfn_flags() / pud_to_hmm_pfn_flags(). */
static uint64_t leaf_flags(simmm_entry_t e, unsigned order)
{
	if (simmm_pte_protnone(e))
		return 0;
	return (simmm_pte_write(e) ? SIMMM_HMM_PFN_VALID | SIMMM_HMM_PFN_WRITE
				   : SIMMM_HMM_PFN_VALID) |
	       order_flags(order);
}

/* hmm_vma_handle_pmd() / the PUD leaf case: every page of the leaf gets
 * the same flags with the leaf's order; the leaf is never split. */
static int handle_leaf(struct hmm_walk_state *w, uint64_t addr, uint64_t end, simmm_entry_t e,
		       enum simmm_level lvl)
{
	const struct simmm_geometry *g = &w->mm->sim->geo;
	uint64_t *p = pfns_at(w, addr);
	uint64_t n = (end - addr) >> w->page_shift;
	uint64_t cpu = leaf_flags(e, simmm_geometry_level_order(g, lvl));
	uint64_t lmask = (1ULL << g->level[lvl].shift) - 1;
	unsigned need = range_need_fault(w->range, p, n, cpu);
	simmm_pfn_t pfn;

	if (need)
		return vma_fault(w, addr, end, need);
	pfn = simmm_pte_pfn(e) + ((addr & lmask) >> w->page_shift);
	fill_seq(p, n, pfn | cpu);
	return 0;
}

/* Is @pfn a device-private page of the caller (page_pgmap(page)->owner)? */
static bool owned_device_private(struct hmm_walk_state *w, simmm_pfn_t pfn)
{
	struct simmm_page *page = simmm__pfn_to_page(w->mm->sim, pfn);
	struct simmm_dev_pagemap *pgmap;

	if (!page || !simmm__is_device_private_page(page))
		return false;
	pgmap = simmm__page_pgmap(w->mm->sim, page);
	return pgmap && pgmap->owner == w->range->dev_private_owner;
}

/* vm_normal_page() is NULL (a "special" mapping) for entries with the
 * special bit and for pfns without a struct page; the zero page counts as
 * normal for HMM. */
static bool special_pte(struct hmm_walk_state *w, simmm_entry_t pte)
{
	simmm_pfn_t pfn = simmm_pte_pfn(pte);

	if (pfn == w->zero_pfn)
		return false;
	if (simmm_pte_special(pte))
		return true;
	if (SIMMM_LIKELY(pfn < w->ram_pages))
		return false;
	return !simmm__pfn_to_page(w->mm->sim, pfn);
}

/* The non-present half of hmm_vma_handle_pte(). Returns 1 when the entry
 * was output, 0 with *need set when it must be faulted, <0 on error. */
static int handle_swap_pte(struct hmm_walk_state *w, uint64_t addr, simmm_entry_t pte,
			   uint64_t *hp, unsigned *need)
{
	if (simmm_is_device_private_entry(pte) &&
	    owned_device_private(w, simmm_swp_offset_pfn(pte))) {
		/* Never fault the caller's own device memory: report it. */
		uint64_t cpu = SIMMM_HMM_PFN_VALID;
		if (simmm_is_writable_device_private_entry(pte))
			cpu |= SIMMM_HMM_PFN_WRITE;
		*hp = (*hp & SIMMM_HMM_PFN_INOUT_FLAGS) | simmm_swp_offset_pfn(pte) | cpu;
		return 1;
	}
	*need = pte_need_fault(w->range, *hp, 0);
	if (!*need) {
		*hp &= SIMMM_HMM_PFN_INOUT_FLAGS;
		return 1;
	}
	if (!simmm_non_swap_entry(pte) || simmm_is_device_private_entry(pte) ||
	    simmm_is_device_exclusive_entry(pte))
		return 0; /* swap-in, migrate_to_ram, or restore: a fault does it */
	if (simmm_is_migration_entry(pte)) {
		w->last = addr;
		w->migration_wait = true;
		simmm__migration_entry_wait(w->mm, addr, simmm_swp_offset_pfn(pte));
		return -EBUSY;
	}
	return -EFAULT; /* hwpoison and anything else */
}

/* hmm_vma_handle_pte(): one PTE. 0 = output, <0 = stop (fault or error). */
static int handle_pte(struct hmm_walk_state *w, uint64_t addr, uint64_t end, simmm_entry_t pte,
		      uint64_t *hp)
{
	unsigned need = 0;
	uint64_t cpu;
	int ret;

	if (simmm_pte_none_mostly(pte)) {
		need = pte_need_fault(w->range, *hp, 0);
		if (need)
			return vma_fault(w, addr, end, need);
		*hp &= SIMMM_HMM_PFN_INOUT_FLAGS;
		return 0;
	}
	if (!simmm_pte_present(pte)) {
		ret = handle_swap_pte(w, addr, pte, hp, &need);
		if (ret < 0)
			return ret;
		return ret ? 0 : vma_fault(w, addr, end, need);
	}
	cpu = simmm_pte_protnone(pte) ? 0
	      : simmm_pte_write(pte)  ? SIMMM_HMM_PFN_VALID | SIMMM_HMM_PFN_WRITE
				      : SIMMM_HMM_PFN_VALID;
	need = pte_need_fault(w->range, *hp, cpu);
	if (need)
		return vma_fault(w, addr, end, need);
	if (special_pte(w, pte)) {
		if (pte_need_fault(w->range, *hp, 0))
			return -EFAULT;
		*hp = (*hp & SIMMM_HMM_PFN_INOUT_FLAGS) | SIMMM_HMM_PFN_ERROR;
		return 0;
	}
	*hp = (*hp & SIMMM_HMM_PFN_INOUT_FLAGS) | simmm_pte_pfn(pte) | cpu;
	return 0;
}

/* The PTE table below a PMD, handled in one loop. */
static int walk_pte_table(struct hmm_walk_state *w, uint64_t addr, uint64_t end)
{
	uint64_t psize = 1ULL << w->page_shift;
	uint64_t *hp = pfns_at(w, addr);
	simmm_entry_t *slot;
	int ret = simmm_pgtable_lookup(w->mm->pgt, addr, SIMMM_LVL_PTE, &slot);

	if (ret == -ENOENT)
		return walk_hole(w, addr, end);
	if (ret)
		return ret;
	for (; addr < end; addr += psize, slot++, hp++) {
		simmm_entry_t pte = *slot;
		/* Snapshot fast path for the common entry: an ordinary present
		 * page with a struct page; the same result handle_pte() gives. */
		if (!w->may_fault && (pte & (SIMMM_E_PRESENT | SIMMM_E_SPECIAL)) == SIMMM_E_PRESENT &&
		    simmm_pte_pfn(pte) < w->ram_pages) {
			uint64_t cpu = (pte & SIMMM_E_WRITE) ? SIMMM_HMM_PFN_VALID | SIMMM_HMM_PFN_WRITE
							     : SIMMM_HMM_PFN_VALID;
			*hp = (*hp & SIMMM_HMM_PFN_INOUT_FLAGS) | simmm_pte_pfn(pte) | cpu;
			continue;
		}
		ret = handle_pte(w, addr, end, pte, hp);
		if (ret)
			return ret;
	}
	return 0;
}

/* A non-present PMD: a migration entry is waited for (if a fault is
 * needed); a device-private THP entry [6.19+] of the caller is reported,
 * of another owner faulted; anything else is an error. */
static int handle_pmd_swap(struct hmm_walk_state *w, uint64_t addr, uint64_t end,
			   simmm_entry_t pmd)
{
	const struct simmm_geometry *g = &w->mm->sim->geo;
	uint64_t n = (end - addr) >> w->page_shift;
	uint64_t *p = pfns_at(w, addr);
	unsigned need = range_need_fault(w->range, p, n, 0);

	if (simmm_is_migration_entry(pmd)) {
		if (!need)
			return pfns_fill(w, addr, end, 0);
		w->last = addr;
		w->migration_wait = true;
		simmm__migration_entry_wait(w->mm, addr, simmm_swp_offset_pfn(pmd));
		return -EBUSY;
	}
	if (simmm_is_device_private_entry(pmd)) {
		simmm_pfn_t pfn = simmm_swp_offset_pfn(pmd);
		if (owned_device_private(w, pfn)) {
			uint64_t cpu = SIMMM_HMM_PFN_VALID |
				       order_flags(simmm_geometry_level_order(g, SIMMM_LVL_PMD));
			uint64_t lmask = (1ULL << g->level[SIMMM_LVL_PMD].shift) - 1;
			if (simmm_is_writable_device_private_entry(pmd))
				cpu |= SIMMM_HMM_PFN_WRITE;
			pfn += (addr & lmask) >> w->page_shift;
			for (uint64_t i = 0; i < n; i++, pfn++)
				p[i] = (p[i] & SIMMM_HMM_PFN_INOUT_FLAGS) | pfn | cpu;
			return 0;
		}
		if (need)
			return vma_fault(w, addr, end, need);
		return pfns_fill(w, addr, end, 0);
	}
	if (need)
		return -EFAULT;
	return pfns_fill(w, addr, end, SIMMM_HMM_PFN_ERROR);
}

/* hmm_vma_walk_pmd(). */
static int pmd_cb(simmm_entry_t *slot, simmm_addr_t addr, simmm_addr_t next,
		  struct simmm_walk *walk)
{
	struct hmm_walk_state *w = walk->private;
	simmm_entry_t pmd = *slot;

	walk->action = SIMMM_WALK_CONTINUE; /* PTE tables are done here */
	if (simmm_entry_none(pmd))
		return walk_hole(w, addr, next);
	if (!simmm_pte_present(pmd))
		return handle_pmd_swap(w, addr, next, pmd);
	if (pmd & SIMMM_E_LEAF)
		return handle_leaf(w, addr, next, pmd, SIMMM_LVL_PMD);
	return walk_pte_table(w, addr, next);
}

/* hmm_vma_walk_pud(): a PUD leaf is reported like a PMD leaf; anything
 * else is walked below. */
static int pud_cb(simmm_entry_t *slot, simmm_addr_t addr, simmm_addr_t next,
		  struct simmm_walk *walk)
{
	struct hmm_walk_state *w = walk->private;
	simmm_entry_t pud = *slot;

	if (!simmm_level_can_leaf(w->mm->pgt, SIMMM_LVL_PUD) ||
	    w->mm->sim->geo.level[SIMMM_LVL_PUD].shift == w->mm->sim->geo.level[SIMMM_LVL_PMD].shift)
		return 0; /* no PUD leaves here: the PMD callback decides */
	if (!simmm_pte_present(pud) || !(pud & SIMMM_E_LEAF))
		return 0;
	walk->action = SIMMM_WALK_CONTINUE;
	return handle_leaf(w, addr, next, pud, SIMMM_LVL_PUD);
}

/* pmd_bad(): an entry the walker cannot interpret. */
static int bad_cb(simmm_entry_t *slot, simmm_addr_t addr, simmm_addr_t next, int depth,
		  struct simmm_walk *walk)
{
	struct hmm_walk_state *w = walk->private;
	(void)slot, (void)depth;
	if (range_need_fault(w->range, pfns_at(w, addr), (next - addr) >> w->page_shift, 0))
		return -EFAULT;
	return pfns_fill(w, addr, next, SIMMM_HMM_PFN_ERROR);
}

static const struct simmm_walk_ops hmm_walk_ops = {
	.pud_entry = pud_cb,
	.pmd_entry = pmd_cb,
	.pte_hole = hole_cb,
	.bad_entry = bad_cb,
};

/* hmm_vma_walk_hugetlb_entry(): one huge page. As upstream, only the
 * request of the first page of the part walked decides the fault. */
static int walk_hugetlb(struct hmm_walk_state *w, uint64_t addr, uint64_t end)
{
	const struct simmm_geometry *g = &w->mm->sim->geo;
	unsigned order = w->vma->hugetlb_order;
	uint64_t hsize = 1ULL << (order + g->page_shift);
	enum simmm_level lvl = SIMMM_LVL_PMD;

	if (order == simmm_geometry_level_order(g, SIMMM_LVL_PUD))
		lvl = SIMMM_LVL_PUD;
	while (addr < end) {
		uint64_t next = (addr | (hsize - 1)) + 1;
		simmm_entry_t *slot;
		int ret;

		if (next > end || next == 0)
			next = end;
		ret = simmm_pgtable_lookup(w->mm->pgt, addr, lvl, &slot);
		if (ret == -ENOENT) {
			ret = walk_hole(w, addr, next);
		} else if (ret == 0) {
			simmm_entry_t e = *slot;
			uint64_t *p = pfns_at(w, addr);
			uint64_t cpu = (simmm_pte_present(e) ? leaf_flags(e, 0) : 0) | order_flags(order);
			unsigned need = pte_need_fault(w->range, p[0], cpu);
			if (need) {
				ret = vma_fault(w, addr, next, need);
			} else {
				simmm_pfn_t pfn = simmm_pte_present(e) ? simmm_pte_pfn(e) +
					((addr & (hsize - 1)) >> g->page_shift) : 0;
				for (uint64_t a = addr; a < next; a += 1ULL << g->page_shift, p++)
					*p = (*p & SIMMM_HMM_PFN_INOUT_FLAGS) | pfn++ | cpu;
				if (!simmm_pte_present(e))
					pfns_fill(w, addr, next, cpu);
			}
		}
		if (ret)
			return ret;
		addr = next;
	}
	return 0;
}

/* hmm_vma_walk_test(): a VMA is walked only if readable and not IO/PFNMAP. */
static int walk_test(struct hmm_walk_state *w, uint64_t addr, uint64_t end)
{
	uint64_t f = w->vma->vm_flags;

	if (!(f & (SIMMM_VM_IO | SIMMM_VM_PFNMAP)) && (f & SIMMM_VM_READ))
		return 0;
	if (range_need_fault(w->range, pfns_at(w, addr), (end - addr) >> w->page_shift, 0))
		return -EFAULT;
	pfns_fill(w, addr, end, SIMMM_HMM_PFN_ERROR);
	return 1;
}

/* walk_page_range() over the VMAs of [last, end). */
static int walk_vmas(struct hmm_walk_state *w)
{
	uint64_t addr = w->last, end = w->range->end;

	while (addr < end) {
		struct simmm_vma *vma = simmm__find_vma(w->mm, addr);
		uint64_t next;
		int ret;

		w->vma = NULL;
		if (!vma || vma->vm_start >= end)
			return walk_hole(w, addr, end);
		if (vma->vm_start > addr) {
			ret = walk_hole(w, addr, vma->vm_start);
			if (ret)
				return ret;
			addr = vma->vm_start;
		}
		w->vma = vma;
		next = vma->vm_end < end ? vma->vm_end : end;
		ret = walk_test(w, addr, next);
		if (ret == 0)
			ret = (vma->vm_flags & SIMMM_VM_HUGETLB)
				      ? walk_hugetlb(w, addr, next)
				      : simmm_walk_range(w->mm->pgt, addr, next, &hmm_walk_ops, w);
		if (ret < 0)
			return ret;
		addr = next;
	}
	return 0;
}

static int range_check(struct simmm_hmm_range *range, struct simmm_mm **mmp)
{
	struct simmm_mm *mm;
	uint64_t pmask;

	if (!range || !range->notifier || !range->hmm_pfns || !(mm = range->notifier->mm))
		return -EINVAL;
	pmask = mm->sim->page_size - 1;
	if ((range->start & pmask) || (range->end & pmask) || range->start >= range->end ||
	    range->end > mm->sim->geo.user_va_end)
		return -EINVAL;
	/* mmap_assert_locked() */
	if (simmm_lock_held(mm->sim, &mm->mmap_lock.map) == SIMMM_LOCK_NOT_HELD) {
		simmm__report(mm->sim, SIMMM_REPORT_MISUSE,
			      "hmm_range_fault without the mmap lock of mm %llu",
			      (unsigned long long)mm->id);
		return -EINVAL;
	}
	*mmp = mm;
	return 0;
}

int simmm_hmm_range_fault(struct simmm_hmm_range *range)
{
	struct hmm_walk_state w = {0};
	struct simmm_mm *mm;
	int ret = range_check(range, &mm);

	if (ret)
		return ret;
	w.range = range;
	w.mm = mm;
	w.last = range->start;
	w.page_shift = mm->sim->geo.page_shift;
	w.may_fault = (range->default_flags | range->pfn_flags_mask) & SIMMM_HMM_PFN_REQ_FAULT;
	w.zero_pfn = simmm__zero_pfn(mm->sim);
	w.ram_pages = mm->sim->ram_pages;
	do {
		/* If the range is no longer valid, force a retry. */
		if (simmm_mmu_interval_check_retry(range->notifier, range->notifier_seq))
			return -EBUSY;
		w.migration_wait = false;
		ret = walk_vmas(&w);
		/* On -EBUSY, entries below w.last are output, the rest input.
		 * Outside a scheduler task nothing can ever finish a migration,
		 * so instead of spinning the -EBUSY goes back to the caller
		 * (the kernel would sleep in migration_entry_wait()). */
		if (ret == -EBUSY && w.migration_wait && !mm->sim->cur_task)
			break;
	} while (ret == -EBUSY);
	return ret;
}

int simmm_hmm_range_fault_retry(struct simmm_hmm_range *range, uint64_t timeout_ms)
{
	struct simmm_mm *mm;
	uint64_t deadline;
	int ret;

	if (!range || !range->notifier || !(mm = range->notifier->mm))
		return -EINVAL;
	deadline = simmm_sched_now_ns(mm->sim) + timeout_ms * 1000000ULL;
	for (;;) {
		range->notifier_seq = simmm_mmu_interval_read_begin(range->notifier);
		ret = simmm_mmap_read_lock(mm);
		if (ret)
			return ret;
		ret = simmm_hmm_range_fault(range);
		simmm_mmap_read_unlock(mm);
		if (ret != -EBUSY)
			return ret;
		if (simmm_sched_now_ns(mm->sim) >= deadline)
			return -EBUSY;
		/* Let the invalidation that bumped the sequence finish. */
		simmm_sched_yield(mm->sim);
		if (!mm->sim->sched || simmm_sched_current(mm->sim) == 0)
			simmm_sched_sleep(mm->sim, 1);
	}
}

uint64_t simmm_hmm_pfn_to_phys(const simmm_sim *sim, uint64_t hmm_pfn)
{
	if (!simmm__sim_ok(sim))
		return 0;
	return simmm_hmm_pfn_to_pfn(hmm_pfn) << sim->geo.page_shift;
}
