// SPDX-License-Identifier: MIT
/*
 * Transparent huge pages (mm/huge_memory.c, mm/khugepaged.c): the policy,
 * the anonymous PMD fault, the huge zero page, write faults on PMD leaves
 * (reuse, a new THP for the huge zero page, or a split), PMD and folio
 * splitting, and MADV_COLLAPSE.
 *
 * Accounting (see mm.h's contract): a PMD leaf holds one folio reference
 * and one entire mapcount (head[1].u.pincount); its rss counts its pages.
 * The huge zero PMD is a special entry: no reference, no mapcount, no rss,
 * like the kernel's (pmd_mkspecial since v6.12's huge zero folio rework).
 *
 * Deposited tables (pgtable_trans_huge_deposit(), src/pgtable/deposit.c):
 * every anonymous PMD mapping (a THP leaf, the huge zero PMD, a PMD
 * migration entry of an anonymous THP, a device THP's entry) has one PTE
 * table deposited with its PMD table, allocated when the mapping is made
 * (the THP and huge zero faults, fork's copy_huge_pmd(), a device THP's
 * insertion) or inherited (collapse deposits the old PTE table, a write to
 * the huge zero PMD keeps its table). A PMD split withdraws it and never
 * allocates; a zap frees it (zap_deposited_table()). hugetlb PMDs have no
 * deposit, as upstream. nr_tables (stats.pgtable_pages) counts deposited
 * tables like the kernel's nr_ptes.
 */
#include <string.h>

#include <simmm/memremap.h>

#include "mm/mm_ext.h"

/* ---- geometry and policy -------------------------------------------------------- */

unsigned simmm__pmd_order(simmm_sim *sim)
{
	const struct simmm_level_desc *d = &sim->geo.level[SIMMM_LVL_PMD];
	unsigned order;

	if (!d->leaf)
		return 0;
	order = (unsigned)(d->shift - sim->geo.page_shift);
	return order && order <= simmm__max_order(sim) ? order : 0;
}

static uint64_t pmd_size(simmm_sim *sim)
{
	return 1ULL << sim->geo.level[SIMMM_LVL_PMD].shift;
}

/**
 * simmm_set_thp_policy() - the machine-wide THP policy (see <simmm/mm.h>).
 * Return: 0; -EINVAL for a bad @sim or policy; -ENOMEM (mm state).
 */
int simmm_set_thp_policy(simmm_sim *sim, enum simmm_thp_policy policy)
{
	struct simmm_mm_global *g;

	if (!simmm__sim_ok(sim) || (unsigned)policy > SIMMM_THP_ALWAYS)
		return -EINVAL;
	g = simmm__mm_global(sim);
	if (!g)
		return -ENOMEM;
	g->thp = policy;
	return 0;
}

/* thp_vma_suitable_order() plus the VMA checks that do not depend on the
 * sysfs policy (MADV_COLLAPSE ignores the policy, not VM_NOHUGEPAGE). */
static bool thp_vma_suitable(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t addr)
{
	simmm_sim *sim = mm->sim;
	simmm_addr_t haddr = addr & ~(pmd_size(sim) - 1);

	if (!simmm__pmd_order(sim) || !simmm__vma_is_anonymous(vma))
		return false;
	if (vma->vm_flags & (SIMMM_VM_NOHUGEPAGE | SIMMM_VM_HUGETLB | SIMMM_VM_SPECIAL))
		return false;
	return haddr >= vma->vm_start && haddr + pmd_size(sim) <= vma->vm_end &&
	       haddr + pmd_size(sim) > haddr;
}

/**
 * simmm__thp_vma_allowable() - may a fault at @addr in @vma map a PMD-sized
 * anonymous folio (thp_vma_allowable_order() for the PMD order)? An
 * anonymous VMA holding the whole aligned PMD range, not VM_NOHUGEPAGE,
 * and the policy is "always", or "madvise" with VM_HUGEPAGE; the geometry
 * must offer PMD leaves that the buddy allocator can serve.
 */
bool simmm__thp_vma_allowable(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t addr)
{
	struct simmm_mm_global *g = simmm__mm_global(mm->sim);

	if (!g || g->thp == SIMMM_THP_NEVER || !thp_vma_suitable(mm, vma, addr))
		return false;
	return g->thp == SIMMM_THP_ALWAYS || (vma->vm_flags & SIMMM_VM_HUGEPAGE);
}

/* ---- the huge zero page ------------------------------------------------------------ */

/**
 * simmm__huge_zero_pfn() - the huge zero folio (get_huge_zero_folio()):
 * allocated on first use, PG_reserved|PG_zero, never freed before the
 * machine is destroyed (the kernel frees it under memory pressure; simmm
 * keeps it).
 * Return: its head pfn; 0 when it cannot be allocated or PMD leaves are
 * not possible.
 */
simmm_pfn_t simmm__huge_zero_pfn(simmm_sim *sim)
{
	struct simmm_mm_global *g = simmm__mm_global(sim);
	unsigned order = simmm__pmd_order(sim);
	struct simmm_page *folio;

	if (!g || !order)
		return 0;
	if (g->huge_zero_pfn)
		return g->huge_zero_pfn;
	folio = simmm__alloc_pages(sim, order);
	if (!folio)
		return 0;
	folio->flags |= PG_reserved | PG_zero | PG_uptodate;
	g->huge_zero_pfn = folio->pfn;
	return folio->pfn;
}

bool simmm__is_huge_zero_pfn(simmm_sim *sim, simmm_pfn_t pfn)
{
	struct simmm_mm_global *g = simmm__mm_global(sim);
	simmm_pfn_t hz = g ? g->huge_zero_pfn : 0;

	return hz && pfn >= hz && pfn < hz + (1ULL << simmm__pmd_order(sim));
}

/* ---- deposited tables ------------------------------------------------------------------ */

/**
 * simmm__pmd_has_deposit() - does the PMD entry @e come with a deposited
 * PTE table? zap_huge_pmd()'s rule on an architecture without
 * arch_needs_pgtable_deposit(): the huge zero PMD, and a PMD mapping of an
 * anonymous folio, present or not (a PMD migration entry, a device THP's
 * device-private entry, 6.19+). hugetlb PMDs (a hugetlb folio; private
 * ones are anonymous too) have none; simmm has no other PMD mappings.
 * @sim: the machine.
 * @e: a PMD-level entry (none and table pointers have none).
 */
bool simmm__pmd_has_deposit(simmm_sim *sim, simmm_entry_t e)
{
	struct simmm_page *page;
	simmm_pfn_t pfn;

	if (simmm_entry_none(e) || simmm_entry_is_table(e, SIMMM_LVL_PMD))
		return false;
	if (simmm_pte_present(e)) {
		pfn = simmm_pte_pfn(e);
		if (simmm__is_huge_zero_pfn(sim, pfn))
			return true;
	} else if (simmm_is_migration_entry(e) || simmm_is_device_private_entry(e)) {
		pfn = simmm_swp_offset_pfn(e);
	} else {
		return false;
	}
	page = simmm__pfn_to_page(sim, pfn);
	if (!page)
		return false;
	page = simmm__compound_head(sim, page);
	return (page->flags & PG_anon) && !simmm__folio_is_hugetlb(sim, page);
}

/* ---- the anonymous PMD fault ---------------------------------------------------------- */

static unsigned set_pmd_or_fallback(struct simmm_mm *mm, simmm_addr_t haddr, simmm_entry_t e)
{
	int err = simmm_pgtable_set(mm->pgt, haddr, SIMMM_LVL_PMD, e);

	if (!err)
		return 0;
	/* A PTE table is already there (or a racing leaf): small pages. */
	return err == -ENOMEM ? SIMMM_VM_FAULT_OOM : SIMMM_VM_FAULT_FALLBACK;
}

/* do_huge_pmd_anonymous_page()'s read path: map the huge zero page
 * read-only with a deposited table (set_huge_zero_folio()). The table is
 * allocated first, as upstream: no table is VM_FAULT_OOM, no huge zero
 * folio VM_FAULT_FALLBACK. */
static unsigned huge_zero_fault(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t haddr)
{
	struct simmm_page *pgtable = simmm__pte_alloc_one(mm->pgt);
	simmm_pfn_t hz;
	simmm_entry_t e;
	unsigned ret;

	if (!pgtable)
		return SIMMM_VM_FAULT_OOM;
	hz = simmm__huge_zero_pfn(mm->sim);
	if (!hz) {
		simmm__pte_free(mm->pgt, pgtable);
		return SIMMM_VM_FAULT_FALLBACK;
	}
	e = simmm_entry_mkleaf(simmm_pte_mkspecial(simmm__mk_pte(mm, vma, hz, false)));
	ret = set_pmd_or_fallback(mm, haddr, e);
	if (ret) {
		simmm__pte_free(mm->pgt, pgtable);
		return ret;
	}
	simmm__pgtable_deposit(mm->pgt, haddr, pgtable);
	mm->stats.zero_faults++;
	return 0;
}

/* map_anon_folio_pmd()'s entry for a new PMD-order anonymous folio: dirty
 * and young, writable where the VMA has VM_WRITE (maybe_pmd_mkwrite()), so
 * a FOLL_FORCE write into a read-only private VMA gets a read-only PMD. */
static simmm_entry_t anon_pmd_entry(struct simmm_mm *mm, struct simmm_vma *vma,
				    struct simmm_page *folio)
{
	simmm_entry_t e = simmm__mk_pte(mm, vma, folio->pfn, true);

	return simmm_entry_mkleaf(simmm_pte_mkyoung(simmm_pte_mkdirty(e)));
}

/* The rest of map_anon_folio_pmd() once the PMD maps @folio: the new anon
 * rmap (entire mapcount, anon-exclusive), the LRU, rss and THP_FAULT_ALLOC.
 * The kernel also queues the folio for the deferred split of underused
 * THPs (deferred_split_folio(folio, false); the huge zero replacement only
 * since "add pmd folio to ds_queue in do_huge_zero_wp_pmd()", merged for
 * 6.19 and marked for stable); simmm's deferred split queue takes only
 * partially mapped folios (deferred_split.c). */
static void account_anon_pmd(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t haddr,
			     struct simmm_page *folio)
{
	simmm__folio_add_new_anon_rmap(folio, vma, haddr, true);
	simmm__folio_add_lru_vma(mm->sim, folio, vma); /* mlocked in a VM_LOCKED VMA */
	simmm__rss_add(mm, vma, folio, 1LL << folio->order);
	mm->stats.thp_faults++;
}

/**
 * simmm__do_huge_pmd_anonymous_page() - a fault on a none PMD in a VMA
 * where simmm__thp_vma_allowable() holds. Read: the huge zero page. Write:
 * a new PMD-order folio (contents zero until written), mapped writable and
 * dirty by one PMD leaf, anon-exclusive, on the LRU, rss += its pages.
 * Either way a PTE table is deposited for a later split
 * (pgtable_trans_huge_deposit()).
 * Context: mmap lock held (read).
 * Return: 0; VM_FAULT_FALLBACK when no PMD-order folio (or huge zero
 * folio) is free or a PTE table already occupies the PMD (the caller then
 * faults a small page, as upstream); VM_FAULT_OOM when the anon_vma, the
 * table to deposit or a table on the way to the PMD cannot be allocated
 * (__do_huge_pmd_anonymous_page(): pte_alloc_one() failing after the
 * folio was had is VM_FAULT_OOM, not a fallback).
 */
unsigned simmm__do_huge_pmd_anonymous_page(struct simmm_mm *mm, struct simmm_vma *vma,
					   simmm_addr_t addr, unsigned flags)
{
	simmm_sim *sim = mm->sim;
	simmm_addr_t haddr = addr & ~(pmd_size(sim) - 1);
	struct simmm_page *folio, *pgtable;
	unsigned ret;

	if (!thp_vma_suitable(mm, vma, addr))
		return SIMMM_VM_FAULT_FALLBACK;
	if (simmm__anon_vma_prepare(mm, vma))
		return SIMMM_VM_FAULT_OOM;
	if (!(flags & SIMMM_FAULT_FLAG_WRITE))
		return huge_zero_fault(mm, vma, haddr);
	folio = simmm__alloc_user_folio(sim, simmm__pmd_order(sim));
	if (!folio)
		return SIMMM_VM_FAULT_FALLBACK; /* THP_FAULT_FALLBACK */
	pgtable = simmm__pte_alloc_one(mm->pgt);
	if (!pgtable) {
		simmm__folio_put(sim, folio);
		return SIMMM_VM_FAULT_OOM;
	}
	ret = set_pmd_or_fallback(mm, haddr, anon_pmd_entry(mm, vma, folio));
	if (ret) {
		simmm__pte_free(mm->pgt, pgtable);
		simmm__folio_put(sim, folio);
		return ret;
	}
	simmm__pgtable_deposit(mm->pgt, haddr, pgtable);
	account_anon_pmd(mm, vma, haddr, folio);
	return 0;
}

/* ---- write faults on a PMD leaf -------------------------------------------------------- */

static struct simmm_page *pmd_folio(simmm_sim *sim, simmm_entry_t e)
{
	struct simmm_page *p;

	if (!simmm_pte_present(e) || simmm_pte_special(e))
		return NULL;
	p = simmm__pfn_to_page(sim, simmm_pte_pfn(e));
	return p && p->refcount > 0 ? p : NULL;
}

/* The anon folio is ours alone (do_huge_pmd_wp_page()'s reuse test): it
 * is anon-exclusive, or nobody else holds a reference (a pin is one). */
static bool thp_exclusive(simmm_sim *sim, struct simmm_page *folio)
{
	if (!(folio->flags & PG_anon))
		return false;
	if (folio->flags & PG_anon_exclusive)
		return true;
	if (simmm__folio_maybe_dma_pinned(sim, folio))
		return false;
	return folio->refcount == 1 && simmm__folio_mapcount(sim, folio) == 1;
}

/*
 * do_huge_zero_wp_pmd() (v6.13, "mm: Allocate THP on hugezeropage
 * wp-fault"): replace the huge zero PMD @orig by a new PMD-order folio,
 * zero until written, mapped as a fresh THP fault maps one. Upstream takes
 * this path for FAULT_FLAG_UNSHARE too (do_huge_pmd_wp_page() tests the
 * huge zero PMD before it looks at unshare, and map_anon_folio_pmd() knows
 * no unshare), so a GUP R/O long-term pin of the huge zero PMD also ends
 * with a writable (VM_WRITE), dirty THP. No THP policy is consulted here
 * either: the policy gates only a fault on a none PMD.
 * Return: 0, also when the PMD changed under the notifiers (upstream's
 * pmd_same() test: the access simply faults again); VM_FAULT_FALLBACK when
 * no folio could be had (or the notifiers refused to start, which only a
 * non-blockable range may): the caller splits the PMD instead.
 */
static unsigned huge_zero_wp(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t haddr,
			     simmm_entry_t orig)
{
	simmm_sim *sim = mm->sim;
	struct simmm_page *folio;
	struct simmm_change c;
	simmm_entry_t *slot;

	/* do_huge_pmd_wp_page() asserts the anon_vma: the read fault that
	 * mapped the huge zero page prepared it (fork and mremap keep it). */
	if (NEVER(!vma->anon_vma))
		return SIMMM_VM_FAULT_FALLBACK;
	/* vma_alloc_anon_folio_pmd(): the same allocation, and the same
	 * failure semantics (no reclaim for a large order), as a THP fault. */
	folio = simmm__alloc_user_folio(sim, simmm__pmd_order(sim));
	if (!folio)
		return SIMMM_VM_FAULT_FALLBACK; /* THP_FAULT_FALLBACK */
	if (simmm__change_begin(&c, mm, haddr, haddr + pmd_size(sim), SIMMM_MMU_NOTIFY_CLEAR,
				NULL)) {
		simmm__folio_put(sim, folio);
		return SIMMM_VM_FAULT_FALLBACK;
	}
	/* The notifiers may have slept and the PMD moved on (a zap, a
	 * migration): only the PMD this fault saw is replaced. */
	if (simmm_pgtable_lookup(mm->pgt, haddr, SIMMM_LVL_PMD, &slot) || *slot != orig) {
		simmm__change_end(&c);
		simmm__folio_put(sim, folio);
		return 0;
	}
	/* pmdp_huge_clear_flush() + set_pmd_at(): the huge zero PMD held no
	 * reference, mapcount or rss (it is special), so nothing of it is
	 * dropped; its deposited table stays with the new PMD, so nr_ptes
	 * does not change either. */
	if (NEVER(simmm_pgtable_set(mm->pgt, haddr, SIMMM_LVL_PMD,
				    anon_pmd_entry(mm, vma, folio)))) {
		simmm__change_end(&c);
		simmm__folio_put(sim, folio);
		return SIMMM_VM_FAULT_FALLBACK;
	}
	account_anon_pmd(mm, vma, haddr, folio);
	simmm__change_end(&c);
	return 0;
}

unsigned simmm__do_huge_pmd_wp_page(struct simmm_mm *mm, struct simmm_vma *vma,
				    simmm_addr_t addr, unsigned flags)
{
	simmm_sim *sim = mm->sim;
	simmm_addr_t haddr = addr & ~(pmd_size(sim) - 1);
	struct simmm_page *folio;
	simmm_entry_t *slot, e;
	unsigned ret;

	if (simmm_pgtable_lookup(mm->pgt, haddr, SIMMM_LVL_PMD, &slot) ||
	    !simmm_entry_is_leaf(*slot, SIMMM_LVL_PMD))
		return SIMMM_VM_FAULT_FALLBACK;
	e = *slot;
	if (simmm_pte_present(e) && simmm__is_huge_zero_pfn(sim, simmm_pte_pfn(e))) {
		ret = huge_zero_wp(mm, vma, haddr, e);
		if (!(ret & SIMMM_VM_FAULT_FALLBACK))
			return ret;
		/* No THP to be had: split, as before v6.13 (below). */
	}
	folio = pmd_folio(sim, e);
	if (folio && thp_exclusive(sim, folio)) {
		for (uint64_t i = 0; i < (1ULL << folio->order); i++)
			simmm__pfn_to_page(sim, folio->pfn + i)->flags |= PG_anon_exclusive;
		/* An unshare (GUP's read pin) only needed the page exclusive:
		 * the PMD stays read-only and clean, VM_WRITE or not. */
		if (flags & SIMMM_FAULT_FLAG_UNSHARE)
			return 0;
		/* Reuse: maybe_pmd_mkwrite(pmd_mkdirty()), so a FOLL_FORCE
		 * write into a read-only VMA reuses without a writable PMD. */
		e = simmm__maybe_mkwrite(vma, simmm_pte_mkyoung(simmm_pte_mkdirty(e)));
		simmm_pgtable_set(mm->pgt, haddr, SIMMM_LVL_PMD, e);
		mm->stats.reuse_faults++;
		return 0;
	}
	/* A shared THP, or the huge zero page when no THP could replace it:
	 * split the PMD (into its deposited table: nothing to fail) and let
	 * the PTE path COW (or unshare) one small page (upstream since v5.8,
	 * do_huge_pmd_wp_page()'s fallback, which ignores the split's result
	 * as the fault is retried on whatever is there). */
	simmm__split_huge_pmd(mm, vma, haddr);
	return SIMMM_VM_FAULT_FALLBACK;
}

/* ---- split_huge_pmd ------------------------------------------------------------------ */

/* The huge zero PMD becomes a table of small zero-page ptes
 * (__split_huge_zero_page_pmd(): the deposited table is withdrawn and
 * populated). */
static int split_zero_pmd(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t haddr)
{
	simmm_sim *sim = mm->sim;
	simmm_entry_t z = simmm_pte_mkspecial(simmm__mk_pte(mm, vma, simmm__zero_pfn(sim), false));
	int err = simmm__pgtable_split_deposited(mm->pgt, haddr);

	if (NEVER(err))
		return err;
	for (simmm_addr_t a = haddr; a < haddr + pmd_size(sim); a += sim->page_size)
		simmm_pgtable_set(mm->pgt, a, SIMMM_LVL_PTE, z); /* the table exists */
	return 0;
}

/* Move the PMD mapping's entire mapcount and reference to one pte mapping
 * per page (__split_huge_pmd_locked(): folio_ref_add(nr - 1)). The ptes
 * are added before the PMD's mapcount goes, as upstream, so the folio is
 * never seen partially mapped on the way (no deferred split). In a
 * VM_LOCKED VMA the ptes, mapping the whole folio at once, mlock it
 * (folio_add_anon_rmap_ptes() with nr_pages == folio_nr_pages(), 6.19+)
 * and the PMD's removal munlocks it: an mlocked folio on the LRU keeps
 * its count; an isolated one loses PG_mlocked, as upstream's batch does. */
static void split_transfer_rmap(simmm_sim *sim, struct simmm_vma *vma, struct simmm_page *folio)
{
	uint64_t nr = 1ULL << folio->order;

	for (uint64_t i = 0; i < nr; i++)
		simmm__page_add_rmap_pte(sim, simmm__pfn_to_page(sim, folio->pfn + i));
	simmm__mlock_vma_folio(sim, folio, vma);
	simmm__folio_remove_rmap_entire(sim, folio);
	simmm__munlock_vma_folio(sim, folio, vma);
	if (nr > 1)
		simmm__folio_ref_add(sim, folio, (int)(nr - 1));
}

static int split_pmd_entry(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t haddr,
			   simmm_entry_t e)
{
	simmm_sim *sim = mm->sim;
	struct simmm_page *folio = NULL;
	int err;

	if (simmm_pte_present(e) && simmm__is_huge_zero_pfn(sim, simmm_pte_pfn(e)))
		return split_zero_pmd(mm, vma, haddr);
	if (simmm_pte_present(e))
		folio = pmd_folio(sim, e);
	else if (simmm_is_device_private_entry(e) || simmm_is_device_exclusive_entry(e))
		folio = simmm__pfn_to_page(sim, simmm_swp_offset_pfn(e)); /* mapped, too */
	/* __split_huge_pmd_locked(): the PTE table is the one deposited when
	 * the PMD was mapped (pgtable_trans_huge_withdraw()): no allocation.
	 * Every PMD entry split here is anonymous and has one (mm checker). */
	err = simmm__pgtable_split_deposited(mm->pgt, haddr);
	if (NEVER(err))
		return err;
	/* Migration entries hold no mapcount: their split is the table's. */
	if (folio)
		split_transfer_rmap(sim, vma, simmm__compound_head(sim, folio));
	return 0;
}

/**
 * simmm__split_huge_pmd() - __split_huge_pmd(): replace the PMD leaf (or
 * PMD migration / device entry) covering @addr by a PTE table mapping the
 * same folio; the folio stays large. Notifier CLEAR over the PMD range.
 * The PTE table is the one deposited with the PMD: the split allocates
 * nothing and cannot fail for memory.
 * Context: mmap lock held.
 * Return: 0 (also when there is nothing to split); -EINVAL for hugetlb;
 * a notifier's -EAGAIN (only a non-blockable range may see one).
 */
/* The PMD entry at @haddr if it is one split_huge_pmd() splits (a leaf or
 * a PMD migration / device entry), else 0. */
static simmm_entry_t splittable_pmd(struct simmm_mm *mm, simmm_addr_t haddr)
{
	simmm_entry_t *slot, e;

	if (simmm_pgtable_lookup(mm->pgt, haddr, SIMMM_LVL_PMD, &slot))
		return 0;
	e = *slot;
	if (simmm_entry_none(e) || simmm_entry_is_table(e, SIMMM_LVL_PMD))
		return 0;
	if (!simmm_entry_is_leaf(e, SIMMM_LVL_PMD) && !simmm_is_pfn_swap_entry(e))
		return 0;
	return e;
}

int simmm__split_huge_pmd(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t addr)
{
	simmm_addr_t haddr = addr & ~(pmd_size(mm->sim) - 1);
	struct simmm_change c;
	simmm_entry_t e;
	int err;

	if (!splittable_pmd(mm, haddr))
		return 0;
	if (vma && simmm__is_vm_hugetlb(vma))
		return -EINVAL;
	err = simmm__change_begin(&c, mm, haddr, haddr + pmd_size(mm->sim),
				  SIMMM_MMU_NOTIFY_CLEAR, NULL);
	if (err)
		return err;
	/* The notifiers may have slept: a migration (under the mmap read
	 * lock too) may have turned a PMD migration entry into a device THP's
	 * or a THP's PMD, or the other way round. Split what is there now, as
	 * upstream reads the PMD under its lock after invalidate_range_start. */
	e = splittable_pmd(mm, haddr);
	err = e ? split_pmd_entry(mm, vma, haddr, e) : 0;
	simmm__change_end(&c);
	return err;
}

/* ---- move_huge_pmd (mremap) ---------------------------------------------------------------- */

/* move_soft_dirty_pmd(): a moved PMD is marked soft-dirty, so that a
 * clear_refs user sees the range changed: a present one (a THP, the huge
 * zero PMD, a PROT_NONE one) with pmd_mksoft_dirty(), a PMD migration entry
 * with pmd_swp_mksoft_dirty(). Upstream tests is_pmd_migration_entry(), so
 * a device THP's entry moves as it was. */
static simmm_entry_t move_soft_dirty_pmd(simmm_entry_t e)
{
	if (simmm_is_migration_entry(e))
		return simmm_pte_swp_mksoft_dirty(e);
	if (simmm_pte_present(e))
		return simmm_pte_mksoft_dirty(e);
	return e;
}

/**
 * simmm__move_huge_pmd() - move_huge_pmd(): move the PMD leaf, PMD
 * migration entry or device THP entry (anything __pmd_trans_huge_lock()
 * takes: is_swap_pmd() or pmd_trans_huge()) at @old_addr to @new_addr,
 * whole. The entry keeps its folio reference and entire mapcount (or, a
 * migration entry, holds none as before), rss is the same mm's; it is
 * made soft-dirty (move_soft_dirty_pmd()). Its deposited table follows it
 * when the new PMD slot is in another PMD table (pmd_move_must_withdraw()).
 * @mm: the address space.
 * @old_addr: PMD-aligned, inside the moved VMA.
 * @new_addr: PMD-aligned; its PMD table exists (alloc_new_pmd()).
 * Context: mmap lock held for write; no scheduling point, simmm's way of
 * holding both PMD locks as upstream does.
 * Return: true when moved; false when the new PMD slot is not none (the
 * kernel's "free_pgtables() should have released it": a table is there) or
 * the old entry is not a huge PMD: the caller splits and moves ptes.
 */
bool simmm__move_huge_pmd(struct simmm_mm *mm, simmm_addr_t old_addr, simmm_addr_t new_addr)
{
	simmm_entry_t *slot, e;

	if (simmm_pgtable_lookup(mm->pgt, new_addr, SIMMM_LVL_PMD, &slot) || *slot)
		return false;
	e = splittable_pmd(mm, old_addr);
	if (!e || NEVER(simmm_pgtable_clear(mm->pgt, old_addr, SIMMM_LVL_PMD, NULL)))
		return false;
	if (simmm__pmd_has_deposit(mm->sim, e))
		NEVER(simmm__pgtable_move_deposit(mm->pgt, old_addr, new_addr));
	NEVER(simmm_pgtable_set(mm->pgt, new_addr, SIMMM_LVL_PMD, move_soft_dirty_pmd(e)));
	return true;
}

/* ---- split_folio ------------------------------------------------------------------------ */

struct split_walk {
	int err;
};

/* A PMD leaf (present THP, or a device-private THP entry [6.19+]) mapping
 * @folio at @haddr? */
static bool pmd_maps_folio(struct simmm_mm *mm, simmm_addr_t haddr, struct simmm_page *folio)
{
	struct simmm_translation t;

	if (simmm_pgtable_translate(mm->pgt, haddr, &t) || t.level != SIMMM_LVL_PMD)
		return false;
	if (t.present)
		return simmm_pte_pfn(t.entry) == folio->pfn;
	return simmm_is_device_private_entry(t.entry) &&
	       simmm_swp_offset_pfn(t.entry) == folio->pfn;
}

static bool split_pmd_mappings(struct simmm_page *folio, struct simmm_vma *vma,
			       simmm_addr_t addr, void *a)
{
	struct split_walk *w = a;
	simmm_addr_t haddr = addr & ~(pmd_size(vma->mm->sim) - 1);

	if (!pmd_maps_folio(vma->mm, haddr, folio))
		return true;
	w->err = simmm__split_huge_pmd(vma->mm, vma, haddr);
	return w->err == 0;
}

static int32_t entire_mapcount(simmm_sim *sim, struct simmm_page *folio)
{
	return simmm__pfn_to_page(sim, folio->pfn + 1)->u.pincount;
}

/* can_split_folio(): only the mappings, the caller's reference and the
 * swap cache's (one per page) may remain. */
static bool can_split_folio(simmm_sim *sim, struct simmm_page *folio)
{
	int extra = (folio->flags & PG_swapcache) ? (1 << folio->order) : 0;

	return folio->u.pincount == 0 &&
	       folio->refcount == simmm__folio_mapcount(sim, folio) + extra + 1;
}

/* __split_huge_page_tail(): page @i becomes an order-0 folio that keeps
 * the folio's state; its references are its pte mappings (plus the
 * caller's on the head). Returns the new folio's refcount. */
static int split_one(struct simmm_page *head, struct simmm_page *p, uint64_t i)
{
	const uint32_t inherit = PG_anon | PG_swapbacked | PG_uptodate | PG_dirty |
				 PG_referenced | PG_active | PG_unevictable | PG_mlocked |
				 PG_mlock_missed | PG_workingset;

	if (i) {
		/* PG_anon_exclusive and PG_hwpoison are the page's own. */
		p->flags = (p->flags & (PG_anon_exclusive | PG_hwpoison)) | (head->flags & inherit);
		p->head_delta = 0;
		p->mapping = head->mapping;
		p->index = head->index + i;
	}
	p->order = 0;
	p->u.pincount = 0;
	p->refcount = p->mapcount + (i == 0);
	return p->refcount;
}

/* A device folio's driver learns of each new folio (->folio_split(),
 * 6.19+), e.g. to give it its own zone_device_data. */
static void notify_device_split(simmm_sim *sim, struct simmm_page *head, struct simmm_page *p)
{
	struct simmm_dev_pagemap *pgmap;

	if (!simmm__is_zone_device_page(head))
		return;
	pgmap = simmm__page_pgmap(sim, head);
	if (pgmap && pgmap->ops && pgmap->ops->folio_split)
		pgmap->ops->folio_split(pgmap, head->pfn, p->pfn);
}

/* @ref (a page of the folio, or NULL) gets one more reference on its new
 * folio, before unmapped tails are freed. */
static void split_distribute(simmm_sim *sim, struct simmm_page *head, struct simmm_page *ref_page)
{
	uint64_t nr = 1ULL << head->order;
	bool on_lru = head->flags & PG_lru;
	/* An mlocked folio's pages stay mlocked (split_one() copies the
	 * flags); the head keeps its mlock_count on the unevictable list,
	 * the tails start at 0 (lru_add_split_folio()). */
	uint16_t mlock_count = head->mlock_count;

	if (on_lru)
		simmm__lru_del(sim, head); /* re-added below as an order-0 folio */
	/* __folio_split() takes the folio off the deferred split queue: its
	 * entry goes stale (deferred_split.c). */
	head->flags &= ~(PG_head | PG_partially_mapped);
	for (uint64_t i = nr; i-- > 0;) {
		struct simmm_page *p = simmm__pfn_to_page(sim, head->pfn + i);
		int ref = split_one(head, p, i);

		if (p == ref_page)
			ref = ++p->refcount;
		if (i)
			notify_device_split(sim, head, p);
		if (ref == 0) {
			/* An unmapped tail (partial munmap): freed now, as
			 * __folio_split() frees it (the deferred split scan
			 * splits partially mapped folios for that), still
			 * mlocked maybe (unevictable_pgs_cleared). */
			p->refcount = 1;
			simmm__put_user_folio(sim, p);
		} else if (on_lru) {
			simmm__lru_add(sim, p);
		}
	}
	if (on_lru && (head->flags & PG_unevictable))
		head->mlock_count = mlock_count;
}

/**
 * simmm__split_folio() - split_folio(): turn a large anonymous folio into
 * order-0 folios. PMD mappings (present, or device-private entries of a
 * device THP) are split first (every mapping of the folio becomes pte
 * mappings of the same pages); unmapped pages are freed. A device folio's
 * driver is told of every new folio through ->folio_split().
 * Context: the caller holds one reference on @folio (kept on the head).
 * Return: 0 (also for an order-0 folio); -EBUSY when pinned or referenced
 * beyond its mappings (can_split_folio()); -EINVAL for file, hugetlb or
 * huge-zero folios (simmm creates no large page-cache folios). The PMD
 * splits use deposited tables and cannot fail for memory.
 */
int simmm__split_folio(simmm_sim *sim, struct simmm_page *folio)
{
	return simmm__split_folio_ref(sim, folio, NULL);
}

/**
 * simmm__split_folio_ref() - simmm__split_folio(), and @page (a page of
 * @folio, or NULL) gets a reference on its new folio. The split may sleep
 * (the rmap walk), so a page the caller cares about may lose its last
 * mapping meanwhile and would be freed with the unmapped tails: the fault
 * path's page in migrate_vma_split_folio(), whose reference is on the head.
 * Context, Return: as simmm__split_folio(); no reference is taken on error.
 */
int simmm__split_folio_ref(simmm_sim *sim, struct simmm_page *folio, struct simmm_page *page)
{
	struct split_walk w = {0};

	folio = simmm__compound_head(sim, folio);
	if (!folio->order)
		return 0;
	if (!(folio->flags & PG_anon) || (folio->flags & (PG_reserved | PG_zero)) ||
	    simmm__folio_is_hugetlb(sim, folio))
		return -EINVAL;
	if (!can_split_folio(sim, folio))
		return -EBUSY;
	simmm__rmap_walk(sim, folio, split_pmd_mappings, &w);
	if (w.err)
		return w.err;
	if (entire_mapcount(sim, folio) || !can_split_folio(sim, folio))
		return -EBUSY;
	split_distribute(sim, folio, page);
	return 0;
}

/**
 * simmm__split_folio_unmapped() - split a large folio under migration
 * (folio_split_unmapped(), used by migrate_vma_split_unmapped_folio() when
 * the destination of a compound entry is not huge, 6.19+).
 * @folio: a locked, isolated large folio with no mapping left (only
 *   migration entries, which the caller has split down to ptes) and the
 *   migration reference (plus @extra more on the head: the fault path's).
 *
 * Every new folio comes out locked with one reference, as each is now a
 * migration source of its own; the head keeps its references. Device
 * folios tell their driver (->folio_split()).
 * Return: 0; -EBUSY when the folio is mapped, pinned or referenced by
 * anyone else (nothing changed).
 */
int simmm__split_folio_unmapped(simmm_sim *sim, struct simmm_page *folio, int extra)
{
	uint64_t nr;

	folio = simmm__compound_head(sim, folio);
	if (!folio->order)
		return 0;
	if (!(folio->flags & PG_locked) || (folio->flags & (PG_lru | PG_swapcache)) ||
	    simmm__folio_mapcount(sim, folio) || folio->u.pincount ||
	    folio->refcount != 1 + extra)
		return -EBUSY;
	nr = 1ULL << folio->order;
	folio->flags &= ~(PG_head | PG_partially_mapped); /* unqueued, as above */
	for (uint64_t i = nr; i-- > 1;) {
		struct simmm_page *p = simmm__pfn_to_page(sim, folio->pfn + i);

		split_one(folio, p, i);
		p->flags |= PG_locked;
		p->refcount = 1;
		notify_device_split(sim, folio, p);
	}
	folio->order = 0;
	folio->u.pincount = 0;
	return 0;
}

/* ---- MADV_COLLAPSE --------------------------------------------------------------------- */

/* Results of scanning one PMD range (khugepaged's enum scan_result, the
 * ones simmm can produce), mapped to errnos by madvise_collapse_errno(). */
enum collapse_result {
	COLLAPSE_OK,
	COLLAPSE_PMD_MAPPED,     /* already a PMD leaf */
	COLLAPSE_PMD_NULL,       /* no page table */
	COLLAPSE_NON_PRESENT,    /* migration / device entries */
	COLLAPSE_PAGE_COUNT,     /* extra references: -EAGAIN */
	COLLAPSE_ALLOC_FAIL,     /* -ENOMEM */
	COLLAPSE_FAIL,           /* other: -EINVAL */
};

static int collapse_errno(enum collapse_result r)
{
	switch (r) {
	case COLLAPSE_ALLOC_FAIL:
		return -ENOMEM;
	case COLLAPSE_PAGE_COUNT:
		return -EAGAIN;
	default:
		return -EINVAL;
	}
}

/* hpage_collapse_scan_pmd(): every pte is none, the zero page, or a
 * small anonymous page referenced only by its mappings (and the swap
 * cache). Swap entries were faulted in by the caller. */
static enum collapse_result collapse_scan_pte(struct simmm_mm *mm, struct simmm_vma *vma,
					      simmm_entry_t e)
{
	simmm_sim *sim = mm->sim;
	struct simmm_page *page, *folio;
	int extra;

	if (simmm_entry_none(e))
		return COLLAPSE_OK;
	if (!simmm_pte_present(e))
		return COLLAPSE_NON_PRESENT;
	if (simmm_pte_special(e))
		return simmm_pte_pfn(e) == simmm__zero_pfn(sim) ? COLLAPSE_OK : COLLAPSE_FAIL;
	page = simmm__vm_normal_page(vma, e);
	if (!page)
		return COLLAPSE_FAIL;
	folio = simmm__compound_head(sim, page);
	if (!(folio->flags & PG_anon))
		return COLLAPSE_FAIL;
	extra = (folio->flags & PG_swapcache) ? 1 : 0;
	if (simmm__folio_maybe_dma_pinned(sim, folio) ||
	    folio->refcount > simmm__folio_mapcount(sim, folio) + extra)
		return COLLAPSE_PAGE_COUNT;
	return COLLAPSE_OK;
}

static enum collapse_result collapse_scan(struct simmm_mm *mm, struct simmm_vma *vma,
					  simmm_addr_t haddr)
{
	simmm_sim *sim = mm->sim;
	simmm_entry_t *slot;
	enum collapse_result r;

	if (simmm_pgtable_lookup(mm->pgt, haddr, SIMMM_LVL_PMD, &slot))
		return COLLAPSE_PMD_NULL;
	if (simmm_entry_is_leaf(*slot, SIMMM_LVL_PMD))
		return COLLAPSE_PMD_MAPPED;
	if (!simmm_entry_is_table(*slot, SIMMM_LVL_PMD))
		return simmm_entry_none(*slot) ? COLLAPSE_PMD_NULL : COLLAPSE_NON_PRESENT;
	for (simmm_addr_t a = haddr; a < haddr + pmd_size(sim); a += sim->page_size) {
		if (simmm_pgtable_lookup(mm->pgt, a, SIMMM_LVL_PTE, &slot))
			return COLLAPSE_FAIL;
		r = collapse_scan_pte(mm, vma, *slot);
		if (r != COLLAPSE_OK)
			return r;
	}
	return COLLAPSE_OK;
}

/* __collapse_huge_page_swapin(): MADV_COLLAPSE faults swapped-out ptes in
 * (no max_ptes_swap limit for it). */
static void collapse_swapin(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t haddr)
{
	simmm_sim *sim = mm->sim;
	simmm_entry_t *slot;

	for (simmm_addr_t a = haddr; a < haddr + pmd_size(sim); a += sim->page_size)
		if (!simmm_pgtable_lookup(mm->pgt, a, SIMMM_LVL_PTE, &slot) &&
		    simmm_is_real_swap_entry(*slot))
			simmm__handle_mm_fault(mm, vma, a, 0);
}

/* __collapse_huge_page_copy(): the new folio's page i gets pte i's data. */
static int collapse_copy(struct simmm_mm *mm, struct simmm_page *folio, simmm_addr_t haddr)
{
	simmm_sim *sim = mm->sim;
	uint64_t i = 0;

	for (simmm_addr_t a = haddr; a < haddr + pmd_size(sim); a += sim->page_size, i++) {
		simmm_entry_t *slot;
		struct simmm_page *src, *dst = simmm__pfn_to_page(sim, folio->pfn + i);

		if (simmm_pgtable_lookup(mm->pgt, a, SIMMM_LVL_PTE, &slot) ||
		    !simmm_pte_present(*slot) || simmm_pte_special(*slot))
			continue;
		src = simmm__pfn_to_page(sim, simmm_pte_pfn(*slot));
		if (simmm__page_copy(sim, dst, src))
			return -ENOMEM;
	}
	return 0;
}

/* Point every pte at the new folio's pages (dropping what the old ones
 * held through the zap path) and fold the now uniform table into a leaf
 * (pmdp_collapse_flush() + set_pmd_at()); the old PTE table becomes the
 * leaf's deposit (collapse_huge_page(): pgtable_trans_huge_deposit() of
 * pmd_pgtable(_pmd)). Cannot fail: no allocation. The old ptes of a
 * PTE-mapped large folio go in batches (folio_remove_rmap_ptes()), as
 * khugepaged's 2025 PTE batching of __collapse_huge_page_copy_succeeded()
 * does: collapsing a whole PTE-mapped THP does not queue it for deferred
 * split on the way (one pte at a time, as before, queued it). */
static void collapse_install(struct simmm_mm *mm, struct simmm_vma *vma,
			     struct simmm_page *folio, simmm_addr_t haddr)
{
	simmm_sim *sim = mm->sim;
	simmm_entry_t proto = simmm_pte_mkyoung(simmm_pte_mkdirty(
		simmm__mk_pte(mm, vma, folio->pfn, true)));
	struct simmm_zap z;
	uint64_t i = 0;

	simmm__zap_begin(&z, mm, vma);
	for (simmm_addr_t a = haddr; a < haddr + pmd_size(sim); a += sim->page_size, i++) {
		simmm_entry_t old = 0;

		simmm_pgtable_clear(mm->pgt, a, SIMMM_LVL_PTE, &old);
		if (old)
			simmm__zap_one(&z, a, SIMMM_LVL_PTE, old);
		simmm_pgtable_set(mm->pgt, a, SIMMM_LVL_PTE,
				  proto + (i << SIMMM_E_PFN_SHIFT));
	}
	simmm__zap_end(&z);
	NEVER(simmm__pgtable_collapse_deposit(mm->pgt, haddr));
	simmm__folio_add_new_anon_rmap(folio, vma, haddr, true);
	simmm__folio_add_lru_vma(sim, folio, vma);
	simmm__rss_add(mm, vma, folio, 1LL << folio->order);
}

static enum collapse_result collapse_one(struct simmm_mm *mm, struct simmm_vma *vma,
					 simmm_addr_t haddr)
{
	simmm_sim *sim = mm->sim;
	struct simmm_page *folio;
	struct simmm_change c;
	enum collapse_result r;

	collapse_swapin(mm, vma, haddr);
	r = collapse_scan(mm, vma, haddr);
	if (r != COLLAPSE_OK)
		return r;
	folio = simmm__alloc_user_folio(sim, simmm__pmd_order(sim));
	if (!folio)
		return COLLAPSE_ALLOC_FAIL;
	if (collapse_copy(mm, folio, haddr) || simmm__anon_vma_prepare(mm, vma)) {
		simmm__folio_put(sim, folio); /* frees the copied contents too */
		return COLLAPSE_ALLOC_FAIL;
	}
	if (simmm__change_begin(&c, mm, haddr, haddr + pmd_size(sim), SIMMM_MMU_NOTIFY_CLEAR,
				NULL)) {
		simmm__folio_put(sim, folio);
		return COLLAPSE_PAGE_COUNT;
	}
	collapse_install(mm, vma, folio, haddr);
	simmm__change_end(&c);
	return COLLAPSE_OK;
}

/**
 * simmm__madvise_collapse() - MADV_COLLAPSE on [@start, @end) of @vma:
 * every PMD-aligned range inside is collapsed into a new THP (already
 * PMD-mapped ranges count as done). Ignores the THP policy, honours
 * VM_NOHUGEPAGE, as upstream.
 * Context: mmap lock held.
 * Return: 0 when every range is PMD-mapped afterwards; -EINVAL when the
 * VMA is not eligible or a range could not be collapsed for a permanent
 * reason (no page table, non-present or non-anon entries); -EAGAIN for
 * extra references (pins); -ENOMEM when no huge folio could be allocated.
 */
int simmm__madvise_collapse(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t start,
			    simmm_addr_t end)
{
	simmm_sim *sim = mm->sim;
	uint64_t sz = pmd_size(sim);
	simmm_addr_t hstart = (start + sz - 1) & ~(sz - 1), hend = end & ~(sz - 1);
	enum collapse_result last = COLLAPSE_OK;
	uint64_t want = 0, done = 0;

	if (!thp_vma_suitable(mm, vma, hstart < hend ? hstart : vma->vm_start))
		return -EINVAL;
	for (simmm_addr_t a = hstart; a < hend && a >= hstart; a += sz) {
		enum collapse_result r;

		if (a < vma->vm_start || a + sz > vma->vm_end)
			break;
		want++;
		r = collapse_one(mm, vma, a);
		if (r == COLLAPSE_OK || r == COLLAPSE_PMD_MAPPED)
			done++;
		else
			last = r;
		if (r == COLLAPSE_ALLOC_FAIL)
			break; /* madvise_collapse() stops on allocation failure */
	}
	return done == want ? 0 : collapse_errno(last);
}
