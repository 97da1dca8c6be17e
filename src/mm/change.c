// SPDX-License-Identifier: MIT
/*
 * The one "change a range" path. Every page-table change of an mm is
 * bracketed by simmm__change_begin()/end(), which call the notifier's
 * invalidate_range_start()/end() with the event the kernel uses (see the
 * table in docs/mm.md), and zaps go through simmm__zap_range(), which
 * drops exactly what each cleared entry held (zap_pte_range()).
 */
#include <errno.h>

#include "mm/mm.h"
#include "notifier/notifier.h"

static void fill_range(const struct simmm_change *c, struct simmm_mmu_notifier_range *r)
{
	r->mm = c->mm;
	r->start = c->start;
	r->end = c->end;
	r->flags = c->blockable ? SIMMM_MMU_NOTIFIER_RANGE_BLOCKABLE : 0;
	r->event = (enum simmm_mmu_notifier_event)c->event;
	r->owner = c->owner;
}

int simmm__change_begin(struct simmm_change *c, struct simmm_mm *mm, simmm_addr_t start,
			simmm_addr_t end, int event, void *owner)
{
	struct simmm_mmu_notifier_range r;
	int err;

	*c = (struct simmm_change){.mm = mm, .start = start, .end = end, .event = event,
				   .owner = owner, .blockable = true};
	fill_range(c, &r);
	err = simmm__mmu_notifier_invalidate_range_start(&r);
	if (err)
		return err;
	c->started = true;
	return 0;
}

void simmm__change_end(struct simmm_change *c)
{
	struct simmm_mmu_notifier_range r;

	if (!c->started)
		return;
	fill_range(c, &r);
	simmm__mmu_notifier_invalidate_range_end(&r);
	c->started = false;
}

/* ---- zapping ------------------------------------------------------------------ */

/*
 * A zap removes the rmap of a large folio one batch of ptes at a time, as
 * zap_present_ptes() does with folio_pte_batch() and
 * folio_remove_rmap_ptes() (Linux 6.17 and 6.18, where zap asks
 * folio_pte_batch() to respect no FPB_RESPECT_* bit: consecutive present
 * ptes of one pte table mapping consecutive pages of the folio, whatever
 * their young, dirty, soft-dirty and write bits). The deferred split test runs once per
 * batch: a zap that unmaps a PTE-mapped THP whole does not queue it, one
 * that leaves part of it mapped does. simmm unmaps page by page and holds
 * the folio for the batch (upstream's mmu_gather holds the references),
 * then runs the test. struct simmm_zap (mm.h) is the zap and its batch.
 */
/* Flags a batch ignores (folio_pte_batch() without FPB_RESPECT_*). */
#define ZAP_BATCH_IGNORE \
	(SIMMM_E_YOUNG | SIMMM_E_DIRTY | SIMMM_E_SOFT_DIRTY | SIMMM_E_WRITE)

static uint64_t level_pages(struct simmm_mm *mm, enum simmm_level lvl)
{
	return simmm_level_size(mm->pgt, lvl) >> simmm__page_shift(mm);
}

static void zap_batch_end(struct simmm_zap *z)
{
	if (!z->folio)
		return;
	simmm__folio_remove_rmap_ptes_done(z->mm->sim, z->folio, z->unmapped);
	/* __folio_remove_rmap()'s munlock_vma_folio(), once per batch */
	simmm__munlock_vma_folio(z->mm->sim, z->folio, z->vma);
	simmm__put_user_folio(z->mm->sim, z->folio); /* the batch's */
	z->folio = NULL;
}

/* Add the pte @old at @addr, mapping @page of the large @folio, to the
 * open batch, or end that batch and open one. */
static void zap_batch_add(struct simmm_zap *z, simmm_addr_t addr, simmm_entry_t old,
			  struct simmm_page *folio, struct simmm_page *page)
{
	simmm_entry_t flags = old & SIMMM_E_FLAGS_MASK & ~ZAP_BATCH_IGNORE;
	uint64_t table_span = simmm_level_size(z->mm->pgt, SIMMM_LVL_PMD);

	if (z->folio != folio || z->next != addr || z->next_pfn != page->pfn ||
	    z->flags != flags || !(addr & (table_span - 1))) {
		zap_batch_end(z);
		simmm__folio_get(z->mm->sim, folio); /* pairs with zap_batch_end() */
		z->folio = folio;
		z->flags = flags;
		z->unmapped = 0;
	}
	z->next = addr + z->mm->sim->page_size;
	z->next_pfn = page->pfn + 1;
	z->unmapped += simmm__page_remove_rmap_pte_batched(z->mm->sim, page);
}

static void zap_present(struct simmm_zap *z, simmm_addr_t addr, enum simmm_level lvl,
			simmm_entry_t old)
{
	struct simmm_mm *mm = z->mm;
	simmm_sim *sim = mm->sim;
	struct simmm_page *page, *folio;

	if (simmm_pte_special(old))
		return; /* zero page, PFNMAP: no struct page behind (vm_normal_page) */
	page = simmm__pfn_to_page(sim, simmm_pte_pfn(old));
	if (!page)
		return;
	folio = simmm__compound_head(sim, page);
	if (simmm_pte_dirty(old) && !(folio->flags & PG_anon))
		folio->flags |= PG_dirty; /* zap_present_folio_ptes: folio_mark_dirty */
	/* zap_present_folio_ptes(): a young entry of a page-cache folio marks
	 * it accessed, unless the VMA has no recency (MADV_RANDOM /
	 * SEQUENTIAL); the reference would otherwise be lost with the entry.
	 * Page-cache folios are order 0 here: one entry, one call. */
	if (simmm_pte_young(old) && !(folio->flags & PG_anon) && simmm__vma_has_recency(z->vma))
		simmm__folio_mark_accessed(sim, folio);
	if (lvl == SIMMM_LVL_PTE && folio->order) {
		zap_batch_add(z, addr, old, folio, page);
		simmm__rss_add(mm, z->vma, folio, -1);
	} else if (lvl == SIMMM_LVL_PTE) {
		zap_batch_end(z);
		simmm__page_remove_rmap_pte(sim, page);
		simmm__munlock_vma_folio(sim, folio, z->vma);
		simmm__rss_add(mm, z->vma, folio, -1);
	} else {
		zap_batch_end(z);
		simmm__folio_remove_rmap_entire(sim, folio);
		simmm__munlock_vma_folio(sim, folio, z->vma);
		simmm__rss_add(mm, z->vma, folio, -(int64_t)level_pages(mm, lvl));
	}
	/* free_pages_and_swap_cache() at the TLB flush: a swap-cache folio
	 * no longer mapped leaves the cache (a read fault left it there). */
	simmm__free_swap_cache(sim, folio);
	simmm__put_user_folio(sim, folio);
}

static void zap_swap(struct simmm_mm *mm, struct simmm_vma *vma, enum simmm_level lvl,
		     simmm_entry_t old)
{
	simmm_sim *sim = mm->sim;
	struct simmm_page *page, *folio;

	if (simmm_is_real_swap_entry(old)) {
		simmm__free_swap_and_cache(sim, old);
		mm->stats.swap_ents--;
		return;
	}
	if (!simmm_is_migration_entry(old) && !simmm_is_device_private_entry(old) &&
	    !simmm_is_device_exclusive_entry(old))
		return; /* hwpoison, markers: nothing held */
	page = simmm__pfn_to_page(sim, simmm_swp_offset_pfn(old));
	if (!page)
		return;
	folio = simmm__compound_head(sim, page);
	/* zap_nonpresent_ptes(): every pfn entry counts in rss; device
	 * entries also hold a mapcount and a reference, migration ones not. */
	simmm__rss_add(mm, vma, folio, -(int64_t)level_pages(mm, lvl));
	if (simmm_is_migration_entry(old))
		return;
	if (lvl == SIMMM_LVL_PTE)
		simmm__page_remove_rmap_pte(sim, page);
	else
		simmm__folio_remove_rmap_entire(sim, folio); /* a device THP (6.19+) */
	simmm__munlock_vma_folio(sim, folio, vma); /* a device-exclusive RAM folio */
	simmm__put_user_folio(sim, folio);
}

void simmm__zap_one(struct simmm_zap *z, simmm_addr_t addr, enum simmm_level lvl,
		    simmm_entry_t old)
{
	/* zap_huge_pmd(): an anonymous PMD mapping (a THP, the huge zero
	 * PMD, a PMD migration or device THP entry) frees its deposited
	 * table (zap_deposited_table(): pte_free() + mm_dec_nr_ptes()),
	 * before the folio's rmap goes (the test reads PG_anon). */
	if (lvl == SIMMM_LVL_PMD && simmm__pmd_has_deposit(z->mm->sim, old)) {
		struct simmm_page *pgtable = simmm__pgtable_withdraw(z->mm->pgt, addr);

		if (!NEVER(!pgtable))
			simmm__pte_free(z->mm->pgt, pgtable);
	}
	if (simmm_pte_present(old)) {
		zap_present(z, addr, lvl, old);
	} else {
		zap_batch_end(z); /* a non-present entry ends a batch */
		zap_swap(z->mm, z->vma, lvl, old);
	}
}

static void zap_cb(void *arg, simmm_addr_t addr, enum simmm_level lvl, simmm_entry_t old)
{
	simmm__zap_one(arg, addr, lvl, old);
}

void simmm__zap_begin(struct simmm_zap *z, struct simmm_mm *mm, struct simmm_vma *vma)
{
	*z = (struct simmm_zap){.mm = mm, .vma = vma};
}

void simmm__zap_end(struct simmm_zap *z)
{
	zap_batch_end(z);
}

/* Split a THP leaf covering @addr unless @addr is its first byte, so that
 * a range edge at @addr falls on a pte boundary. */
int simmm__split_edge(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t addr)
{
	struct simmm_translation t;

	if (!vma || addr <= vma->vm_start || addr >= vma->vm_end)
		return 0;
	if (vma->vm_flags & SIMMM_VM_HUGETLB)
		return 0; /* hugetlb ranges are huge-page aligned */
	if (simmm_pgtable_translate(mm->pgt, addr, &t) || t.level == SIMMM_LVL_PTE)
		return 0;
	if (!(addr & (simmm_level_size(mm->pgt, t.level) - 1)))
		return 0;
	return simmm__split_huge_pmd(mm, vma, addr);
}

/* zap_nonpresent_ptes() without ZAP_FLAG_DROP_MARKER (zap_drop_markers()
 * false): a guard marker stays where it is. */
static bool zap_keep_guard(void *arg, simmm_addr_t addr, enum simmm_level lvl, simmm_entry_t e)
{
	(void)arg, (void)addr, (void)lvl;
	return simmm_is_guard_swp_entry(e);
}

static int zap_range(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t start,
		     simmm_addr_t end, bool drop_markers)
{
	struct simmm_zap z;
	int err;

	err = simmm__split_edge(mm, vma, start);
	if (!err)
		err = simmm__split_edge(mm, vma, end);
	if (err)
		return err;
	simmm__zap_begin(&z, mm, vma);
	err = simmm__pgtable_teardown_keep(mm->pgt, start, end, zap_cb,
					   drop_markers ? NULL : zap_keep_guard, &z);
	simmm__zap_end(&z);
	return err;
}

int simmm__zap_range(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t start,
		     simmm_addr_t end)
{
	return zap_range(mm, vma, start, end, true);
}

int simmm__zap_range_single(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t start,
			    simmm_addr_t end)
{
	return zap_range(mm, vma, start, end, false);
}

/* ---- range syscalls: shared preparation ------------------------------------------------ */

/* Every page of [start, end) is inside some VMA? (the -ENOMEM rule) */
static bool range_mapped(struct simmm_mm *mm, simmm_addr_t start, simmm_addr_t end)
{
	simmm_addr_t a = start;

	for (struct simmm_vma *v = simmm__find_vma(mm, start); v && a < end;
	     v = simmm__vma_next(v)) {
		if (v->vm_start > a)
			return false;
		a = v->vm_end;
	}
	return a >= end;
}

static int syscall_range(struct simmm_mm *mm, simmm_addr_t addr, uint64_t len, simmm_addr_t *end)
{
	uint64_t ps, alen;

	if (!simmm__mm_ok(mm) || mm->mm_users <= 0)
		return -EINVAL;
	ps = mm->sim->page_size;
	alen = (len + ps - 1) & ~(ps - 1);
	if ((addr & (ps - 1)) || alen < len || addr + alen < addr)
		return -EINVAL;
	*end = addr + alen;
	return 0;
}

/* Split VMAs so that boundaries exist at start and end; all allocations
 * (two VMAs) happen before the first VMA changes, and the THP edge splits
 * (which allocate nothing: deposited tables) too. Also mlock_fixup()'s
 * (mlock.c). */
int simmm__carve_range(struct simmm_mm *mm, simmm_addr_t start, simmm_addr_t end)
{
	struct simmm_vma *a = simmm__vma_lookup(mm, start), *b = simmm__vma_lookup(mm, end - 1);
	struct simmm_vma *sa = NULL, *sb = NULL;
	int err = 0;

	if ((a && a->vm_start < start && !(sa = simmm__vma_alloc(mm))) ||
	    (b && b->vm_end > end && !(sb = simmm__vma_alloc(mm))))
		err = -ENOMEM;
	if (!err && a && (a->vm_flags & SIMMM_VM_HUGETLB) &&
	    (start & ((mm->sim->page_size << a->hugetlb_order) - 1)))
		err = -EINVAL;
	if (!err && b && (b->vm_flags & SIMMM_VM_HUGETLB) &&
	    (end & ((mm->sim->page_size << b->hugetlb_order) - 1)))
		err = -EINVAL;
	if (!err)
		err = simmm__split_edge(mm, a, start);
	if (!err)
		err = simmm__split_edge(mm, b, end);
	if (!err && a)
		simmm__vma_split_with(mm, a, start, &sa);
	b = simmm__vma_lookup(mm, end - 1);
	if (!err && b)
		simmm__vma_split_with(mm, b, end, &sb);
	if (sa)
		simmm__vma_free(mm, sa);
	if (sb)
		simmm__vma_free(mm, sb);
	return err;
}

static void merge_range(struct simmm_mm *mm, simmm_addr_t start, simmm_addr_t end)
{
	struct simmm_vma *v = simmm__find_vma(mm, start ? start - 1 : 0);

	while (v && v->vm_start <= end) {
		v = simmm__vma_merge(mm, v);
		v = simmm__vma_next(v);
	}
}

/* ---- mprotect ------------------------------------------------------------------------------- */

struct prot_ctx {
	struct simmm_vma *vma;
	uint64_t prot;
};

/* can_change_pte_writable(): a private page only if it is an exclusive
 * anonymous page; shared mappings follow the VMA, but with write-notify
 * (writeback.c) only a dirty pte: a clean one must fault first. */
static simmm_entry_t new_present(struct prot_ctx *p, simmm_entry_t e)
{
	struct simmm_vma *vma = p->vma;
	struct simmm_page *page;

	e = simmm_entry_modify(e, p->prot);
	if (!(vma->vm_flags & SIMMM_VM_WRITE) || simmm_pte_protnone(e))
		return e;
	if (vma->vm_flags & SIMMM_VM_SHARED)
		return simmm__shared_pte_may_write(vma, e) ? simmm_pte_mkwrite(e) : e;
	page = simmm__vm_normal_page(vma, e);
	if (page && (simmm__compound_head(vma->mm->sim, page)->flags & PG_anon) &&
	    (page->flags & PG_anon_exclusive))
		e = simmm_pte_mkwrite(e);
	return e;
}

static simmm_entry_t new_nonpresent(struct prot_ctx *p, simmm_entry_t e)
{
	simmm_entry_t keep = e & SIMMM_E_SWP_PTE_BITS;
	uint64_t off = simmm_swp_offset(e);
	struct simmm_page *page;

	/* change_pte_range(): writable migration and device-private entries
	 * are downgraded; the fault that restores them decides again. */
	if (simmm_is_writable_migration_entry(e)) {
		page = simmm__pfn_to_page(p->vma->mm->sim, simmm_swp_offset_pfn(e));
		if (page && (simmm__compound_head(p->vma->mm->sim, page)->flags & PG_anon))
			return simmm_swp_entry(SIMMM_SWP_MIGRATION_READ_EXCLUSIVE, off) | keep;
		return simmm_swp_entry(SIMMM_SWP_MIGRATION_READ, off) | keep;
	}
	if (simmm_is_writable_device_private_entry(e))
		return simmm_swp_entry(SIMMM_SWP_DEVICE_READ, off) | keep;
	return e;
}

static int prot_cb(simmm_entry_t *slot, simmm_addr_t addr, simmm_addr_t next,
		   struct simmm_walk *walk)
{
	struct prot_ctx *p = walk->private;
	simmm_entry_t e = *slot, n;

	(void)addr, (void)next;
	if (simmm_entry_none(e) || simmm_entry_is_table(e, walk->level))
		return 0;
	walk->action = SIMMM_WALK_CONTINUE;
	n = simmm_pte_present(e) ? new_present(p, e) : new_nonpresent(p, e);
	return n == e ? 0 : simmm_walk_update(walk, slot, n);
}

static const struct simmm_walk_ops prot_ops = {
	.pud_entry = prot_cb,
	.pmd_entry = prot_cb,
	.pte_entry = prot_cb,
	.pte_skip_none = true,
};

static uint64_t prot_vm(int prot)
{
	return (prot & SIMMM_PROT_READ ? SIMMM_VM_READ : 0) |
	       (prot & SIMMM_PROT_WRITE ? SIMMM_VM_WRITE : 0) |
	       (prot & SIMMM_PROT_EXEC ? SIMMM_VM_EXEC : 0);
}

static int mprotect_check(struct simmm_mm *mm, simmm_addr_t start, simmm_addr_t end, int prot)
{
	if (!range_mapped(mm, start, end))
		return -ENOMEM;
	for (struct simmm_vma *v = simmm__find_vma(mm, start); v && v->vm_start < end;
	     v = simmm__vma_next(v)) {
		/* The VM_MAY* limits (a read-only file shared mapping). */
		if (((prot & SIMMM_PROT_WRITE) && !(v->vm_flags & SIMMM_VM_MAYWRITE)) ||
		    ((prot & SIMMM_PROT_EXEC) && !(v->vm_flags & SIMMM_VM_MAYEXEC)))
			return -EACCES;
	}
	return 0;
}

static void mprotect_vma(struct simmm_mm *mm, struct simmm_vma *v, uint64_t vm)
{
	struct prot_ctx p = {.vma = v};
	struct simmm_change c;

	v->vm_flags = (v->vm_flags & ~(SIMMM_VM_READ | SIMMM_VM_WRITE | SIMMM_VM_EXEC)) | vm;
	p.prot = simmm__vma_page_prot(v);
	simmm__change_begin(&c, mm, v->vm_start, v->vm_end, SIMMM_MMU_NOTIFY_PROTECTION_VMA, NULL);
	simmm_walk_range(mm->pgt, v->vm_start, v->vm_end, &prot_ops, &p);
	simmm__change_end(&c);
}

int simmm_mprotect(struct simmm_mm *mm, simmm_addr_t addr, uint64_t len, int prot)
{
	uint64_t vm = prot_vm(prot);
	simmm_addr_t end;
	int err = syscall_range(mm, addr, len, &end);

	if (err || (prot & ~7))
		return err ? err : -EINVAL;
	if (!len)
		return 0;
	if (end > mm->sim->geo.user_va_end)
		return -ENOMEM;
	err = simmm_down_write(mm->sim, &mm->mmap_lock);
	if (err)
		return err;
	err = mprotect_check(mm, addr, end, prot);
	if (!err)
		err = simmm__carve_range(mm, addr, end);
	for (struct simmm_vma *v = simmm__find_vma(mm, addr); !err && v && v->vm_start < end;
	     v = simmm__vma_next(v))
		if ((v->vm_flags & (SIMMM_VM_READ | SIMMM_VM_WRITE | SIMMM_VM_EXEC)) != vm)
			mprotect_vma(mm, v, vm);
	if (!err)
		merge_range(mm, addr, end);
	simmm_up_write(mm->sim, &mm->mmap_lock);
	return err;
}

/* ---- madvise ---------------------------------------------------------------------------------- */


static int advise_zap(struct simmm_mm *mm, struct simmm_vma *v, simmm_addr_t s, simmm_addr_t e,
		      int advice)
{
	struct simmm_change c;
	int err;

	/* madvise_dontneed_free_valid_vma(): a hugetlb VMA takes DONTNEED
	 * only (since 5.18), from a huge-page boundary, and loses whole huge
	 * pages: the end rounds down, so that a caller unaware of the huge
	 * pages loses no data it did not ask to; nothing left is a no-op. */
	if (v->vm_flags & SIMMM_VM_HUGETLB) {
		uint64_t hps = mm->sim->page_size << v->hugetlb_order;

		if (advice == SIMMM_MADV_FREE || (s & (hps - 1)))
			return -EINVAL;
		e &= ~(hps - 1);
		if (e == s)
			return 0;
	} else if (v->vm_flags & (SIMMM_VM_PFNMAP |
				  (advice == SIMMM_MADV_DONTNEED_LOCKED ? 0 : SIMMM_VM_LOCKED))) {
		/* MADV_DONTNEED_LOCKED (5.18+) is DONTNEED allowed on
		 * VM_LOCKED VMAs: their pages go (munlocked by the zap) and
		 * the next fault maps and mlocks again. */
		return -EINVAL;
	}
	if (advice == SIMMM_MADV_FREE && !simmm__vma_is_anonymous(v))
		return -EINVAL;
	err = simmm__change_begin(&c, mm, s, e, SIMMM_MMU_NOTIFY_CLEAR, NULL);
	if (err)
		return err;
	/* MADV_FREE splits a THP it covers in part (madvise_free_huge_pmd():
	 * split_folio()), not at the range's edges. */
	if (advice != SIMMM_MADV_FREE)
		err = simmm__zap_range_single(mm, v, s, e); /* guard markers stay */
	else
		err = simmm__madvise_free(mm, v, s, e);
	simmm__change_end(&c);
	return err;
}

/* MADV_COLD (madvise_cold()): deactivate the range's folios. */
static int advise_cold(struct simmm_mm *mm, struct simmm_vma *v, simmm_addr_t s, simmm_addr_t e)
{
	/* can_madv_lru_vma() */
	if (v->vm_flags & (SIMMM_VM_LOCKED | SIMMM_VM_PFNMAP | SIMMM_VM_HUGETLB))
		return -EINVAL;
	return simmm__madvise_cold(mm, v, s, e);
}

/* MADV_PAGEOUT (madvise_pageout()): reclaim the range's folios now. */
static int advise_pageout(struct simmm_mm *mm, struct simmm_vma *v, simmm_addr_t s,
			  simmm_addr_t e)
{
	/* can_madv_lru_vma() */
	if (v->vm_flags & (SIMMM_VM_LOCKED | SIMMM_VM_PFNMAP | SIMMM_VM_HUGETLB))
		return -EINVAL;
	/* A shared file mapping the caller could not open for writing is
	 * skipped (can_do_file_pageout()); simmm has no credentials: the
	 * caller owns every file. */
	return simmm__madvise_pageout(mm, v, s, e);
}

static int advise_vma(struct simmm_mm *mm, struct simmm_vma *v, simmm_addr_t s, simmm_addr_t e,
		      int advice)
{
	switch (advice) {
	case SIMMM_MADV_WILLNEED:
		return simmm__madvise_willneed(mm, v, s, e);
	case SIMMM_MADV_DONTNEED:
	case SIMMM_MADV_DONTNEED_LOCKED:
	case SIMMM_MADV_FREE:
		return advise_zap(mm, v, s, e, advice);
	case SIMMM_MADV_COLLAPSE:
		return simmm__madvise_collapse(mm, v, s, e);
	case SIMMM_MADV_COLD:
		return advise_cold(mm, v, s, e);
	case SIMMM_MADV_PAGEOUT:
		return advise_pageout(mm, v, s, e);
	case SIMMM_MADV_GUARD_INSTALL:
		return simmm__madvise_guard_install(mm, v, s, e);
	case SIMMM_MADV_GUARD_REMOVE:
		return simmm__madvise_guard_remove(mm, v, s, e);
	case SIMMM_MADV_REMOVE:
		return simmm__madvise_remove(mm, v, s, e);
	}
	return 0;
}

static bool advice_is_flags(int a)
{
	return a == SIMMM_MADV_HUGEPAGE || a == SIMMM_MADV_NOHUGEPAGE || a == SIMMM_MADV_DONTFORK ||
	       a == SIMMM_MADV_DOFORK || a == SIMMM_MADV_WIPEONFORK || a == SIMMM_MADV_KEEPONFORK ||
	       a == SIMMM_MADV_NORMAL || a == SIMMM_MADV_RANDOM || a == SIMMM_MADV_SEQUENTIAL ||
	       a == SIMMM_MADV_DONTDUMP || a == SIMMM_MADV_DODUMP;
}

/* madvise_vma_behavior()'s VMA-flag advice: @v's new vm_flags in *@flags,
 * or -EINVAL for a VMA the advice refuses. */
static int advice_vm_flags(const struct simmm_vma *v, int advice, uint64_t *flags)
{
	uint64_t f = v->vm_flags;

	switch (advice) {
	case SIMMM_MADV_HUGEPAGE:
		f = (f & ~SIMMM_VM_NOHUGEPAGE) | SIMMM_VM_HUGEPAGE;
		break;
	case SIMMM_MADV_NOHUGEPAGE:
		f = (f & ~SIMMM_VM_HUGEPAGE) | SIMMM_VM_NOHUGEPAGE;
		break;
	case SIMMM_MADV_DONTFORK: /* fork skips the VMA (dup_mmap()) */
		f |= SIMMM_VM_DONTCOPY;
		break;
	case SIMMM_MADV_DOFORK:
		if (f & SIMMM_VM_IO)
			return -EINVAL;
		f &= ~SIMMM_VM_DONTCOPY;
		break;
	case SIMMM_MADV_WIPEONFORK:
		/* Private anonymous memory only: no file, not shared. simmm's
		 * driver and hugetlb mappings have no file object, but
		 * upstream's have one (the device's, hugetlbfs'). */
		if (v->file || (f & (SIMMM_VM_SHARED | SIMMM_VM_SPECIAL | SIMMM_VM_HUGETLB)))
			return -EINVAL;
		f |= SIMMM_VM_WIPEONFORK;
		break;
	case SIMMM_MADV_KEEPONFORK: /* VM_DROPPABLE (-EINVAL) is not modelled */
		f &= ~SIMMM_VM_WIPEONFORK;
		break;
	case SIMMM_MADV_NORMAL:
		f &= ~(SIMMM_VM_SEQ_READ | SIMMM_VM_RAND_READ);
		break;
	case SIMMM_MADV_RANDOM:
		f = (f & ~SIMMM_VM_SEQ_READ) | SIMMM_VM_RAND_READ;
		break;
	case SIMMM_MADV_SEQUENTIAL:
		f = (f & ~SIMMM_VM_RAND_READ) | SIMMM_VM_SEQ_READ;
		break;
	case SIMMM_MADV_DONTDUMP:
		f |= SIMMM_VM_DONTDUMP;
		break;
	case SIMMM_MADV_DODUMP:
		/* Driver mappings keep out of core dumps; hugetlb VMAs are
		 * VM_DONTEXPAND (part of VM_SPECIAL) but may be dumped. */
		if ((f & SIMMM_VM_SPECIAL) && !(f & SIMMM_VM_HUGETLB))
			return -EINVAL;
		f &= ~SIMMM_VM_DONTDUMP;
		break;
	}
	*flags = f;
	return 0;
}

/*
 * The VMA-flag advice (madvise_update_vma()): VMA by VMA, each that
 * changes split to the range first; a VMA the advice refuses stops the walk
 * with -EINVAL, the VMAs before it keep their new flags, as upstream's
 * madvise_walk_vmas() leaves them. Then the range merges again.
 */
static int advise_flags(struct simmm_mm *mm, simmm_addr_t start, simmm_addr_t end, int advice)
{
	struct simmm_vma *v;
	int err = 0;

	for (v = simmm__find_vma(mm, start); v && v->vm_start < end;) {
		simmm_addr_t s = start > v->vm_start ? start : v->vm_start;
		simmm_addr_t e = end < v->vm_end ? end : v->vm_end;
		uint64_t flags;

		err = advice_vm_flags(v, advice, &flags);
		if (!err && flags != v->vm_flags) {
			err = simmm__carve_range(mm, s, e);
			if (!err)
				simmm__vma_lookup(mm, s)->vm_flags = flags;
		}
		if (err || e >= end)
			break;
		v = simmm__find_vma(mm, e);
	}
	merge_range(mm, start, end);
	return err;
}

/*
 * MADV_POPULATE_(READ|WRITE) (madvise_populate()): fault the range in as
 * faultin_page_range() does, across VMAs, and stop at the first error:
 * -ENOMEM for a hole (the pages before it stay populated) or no memory,
 * -EINVAL for VM_IO / VM_PFNMAP or a protection that forbids the access
 * (PROT_NONE; write to a read-only mapping), -EFAULT when the fault
 * SIGBUSes (a file mapping past EOF), -EHWPOISON for a poisoned page.
 * A fault may drop the mmap lock (FOLL_UNLOCKABLE): madvise_populate()
 * takes it again, and the range may have changed meanwhile.
 * Context: the mmap lock held for read, held again on return unless
 * *@held says it could not be retaken.
 */
static int advise_populate(struct simmm_mm *mm, simmm_addr_t start, simmm_addr_t end,
			   bool write, bool *held)
{
	int err = 0, locked = 1;

	while (!err && start < end) {
		long pages = simmm__faultin_page_range(mm, start, end, write, &locked);

		if (!locked) {
			err = simmm_down_read(mm->sim, &mm->mmap_lock);
			if (err) {
				*held = false;
				return pages < 0 ? (int)pages : err;
			}
			locked = 1;
		}
		if (pages < 0)
			err = (int)pages;
		else
			start += (uint64_t)pages << mm->sim->geo.page_shift;
	}
	return err;
}

/* madvise_behavior_valid(), for the advice simmm models. */
static bool advice_known(int a)
{
	return a == SIMMM_MADV_WILLNEED || a == SIMMM_MADV_DONTNEED || a == SIMMM_MADV_FREE ||
	       a == SIMMM_MADV_DONTNEED_LOCKED ||
	       a == SIMMM_MADV_COLLAPSE || a == SIMMM_MADV_COLD || a == SIMMM_MADV_PAGEOUT ||
	       a == SIMMM_MADV_POPULATE_READ || a == SIMMM_MADV_POPULATE_WRITE ||
	       a == SIMMM_MADV_HWPOISON || a == SIMMM_MADV_GUARD_INSTALL ||
	       a == SIMMM_MADV_GUARD_REMOVE || a == SIMMM_MADV_REMOVE || advice_is_flags(a);
}

static int madvise_locked(struct simmm_mm *mm, simmm_addr_t start, simmm_addr_t end, int advice)
{
	bool holes;
	int err = 0;

	holes = !range_mapped(mm, start, end);
	if (advice_is_flags(advice)) {
		err = advise_flags(mm, start, end, advice);
	} else {
		simmm_addr_t a = start;

		for (struct simmm_vma *v = simmm__find_vma(mm, start); !err && v && v->vm_start < end;) {
			struct simmm_vma *next = simmm__vma_next(v);
			simmm_addr_t e = end < v->vm_end ? end : v->vm_end;

			err = advise_vma(mm, v, a > v->vm_start ? a : v->vm_start, e, advice);
			/* madvise_remove() dropped the mmap lock: the VMAs may
			 * have changed, look the next one up again from where
			 * this one's part ended (madvise_walk_vmas()'s
			 * find_vma(mm, start)). */
			a = e;
			if (advice == SIMMM_MADV_REMOVE)
				next = a < end ? simmm__find_vma(mm, a) : NULL;
			v = next;
		}
	}
	/* Like madvise_walk_vmas(): the mapped parts are advised, holes give
	 * -ENOMEM at the end. */
	return err ? err : (holes ? -ENOMEM : 0);
}

/* Restarts of a system call simmm_madvise() allows (upstream: unbounded). */
#define MADVISE_RESTARTS 16

/* madvise_lock()'s modes: memory failure takes no lock; the VMA-flag
 * advice and COLLAPSE take the mmap lock for write
 * (madvise_need_mmap_write()), the rest for read. */
enum madv_lock { MADV_LOCK_NONE, MADV_LOCK_READ, MADV_LOCK_WRITE };

static enum madv_lock madv_lock_mode(int advice)
{
	if (advice == SIMMM_MADV_HWPOISON)
		return MADV_LOCK_NONE;
	return advice_is_flags(advice) || advice == SIMMM_MADV_COLLAPSE ? MADV_LOCK_WRITE
									: MADV_LOCK_READ;
}

static int madv_lock(struct simmm_mm *mm, enum madv_lock mode)
{
	if (mode == MADV_LOCK_NONE)
		return 0;
	return mode == MADV_LOCK_WRITE ? simmm_down_write(mm->sim, &mm->mmap_lock)
				       : simmm_down_read(mm->sim, &mm->mmap_lock);
}

static void madv_unlock(struct simmm_mm *mm, enum madv_lock mode)
{
	if (mode == MADV_LOCK_WRITE)
		simmm_up_write(mm->sim, &mm->mmap_lock);
	else if (mode == MADV_LOCK_READ)
		simmm_up_read(mm->sim, &mm->mmap_lock);
}

/* madvise_do_behavior(): one page-aligned, non-empty range, with the lock
 * madv_lock_mode() names held, and held again on return unless *@held
 * says otherwise (only POPULATE's faults drop it and may fail to retake
 * it; REMOVE drops and retakes it around its punches). */
static int madvise_do_behavior(struct simmm_mm *mm, simmm_addr_t start, simmm_addr_t end,
			       int advice, bool *held)
{
	/* Memory-failure advice injects before any VMA walk. */
	if (advice == SIMMM_MADV_HWPOISON)
		return simmm__madvise_inject_error(mm, start, end);
	if (end > mm->sim->geo.user_va_end)
		return -ENOMEM;
	/* Populate is not a per-VMA walk, and its faults may drop the lock. */
	if (advice == SIMMM_MADV_POPULATE_READ || advice == SIMMM_MADV_POPULATE_WRITE)
		return advise_populate(mm, start, end, advice == SIMMM_MADV_POPULATE_WRITE, held);
	return madvise_locked(mm, start, end, advice);
}

/*
 * The madvise lock across a restart: MADV_GUARD_INSTALL raced by faults
 * asks for one (restart_syscall()); the lock is dropped and taken again
 * and the range advised again, at most MADVISE_RESTARTS times (then
 * -EAGAIN). Called and returns with the lock held, unless *@held is false.
 */
static int madvise_range(struct simmm_mm *mm, simmm_addr_t start, simmm_addr_t end,
			 int advice, bool *held)
{
	enum madv_lock mode = madv_lock_mode(advice);
	int err;

	for (unsigned restarts = 0;; restarts++) {
		err = madvise_do_behavior(mm, start, end, advice, held);
		if (err != SIMMM__ERESTARTNOINTR || !*held)
			return err;
		if (restarts == MADVISE_RESTARTS)
			return -EAGAIN;
		madv_unlock(mm, mode);
		err = madv_lock(mm, mode);
		if (err) {
			*held = false;
			return err;
		}
	}
}

int simmm_madvise(struct simmm_mm *mm, simmm_addr_t addr, uint64_t len, int advice)
{
	enum madv_lock mode = madv_lock_mode(advice);
	simmm_addr_t end;
	bool held = true;
	int err = syscall_range(mm, addr, len, &end);

	if (err || !advice_known(advice))
		return err ? err : -EINVAL;
	if (!len)
		return 0;
	err = madv_lock(mm, mode);
	if (err)
		return err;
	err = madvise_range(mm, addr, end, advice, &held);
	if (held)
		madv_unlock(mm, mode);
	return err;
}

/* process_madvise_remote_valid(): what another process may be advised. */
static bool remote_valid(int advice)
{
	return advice == SIMMM_MADV_COLD || advice == SIMMM_MADV_PAGEOUT ||
	       advice == SIMMM_MADV_WILLNEED || advice == SIMMM_MADV_COLLAPSE;
}

int64_t simmm_process_madvise(struct simmm_mm *caller, struct simmm_mm *target,
			      const struct simmm_iovec *vec, size_t vlen, int advice,
			      unsigned flags)
{
	uint64_t max_rw, total = 0, done = 0;
	enum madv_lock mode = madv_lock_mode(advice);
	bool held = true;
	int err = 0;

	if (!simmm__mm_ok(caller) || !simmm__mm_ok(target) || caller->sim != target->sim)
		return -EINVAL;
	if (flags)
		return -EINVAL;
	/* MAX_RW_COUNT: INT_MAX rounded down to a page, what one read- or
	 * write-like call moves at most. */
	max_rw = (uint64_t)INT32_MAX & ~(target->sim->page_size - 1);
	/* import_iovec(): at most UIO_MAXIOV vectors, none longer than
	 * SSIZE_MAX; the whole clamped to MAX_RW_COUNT (below). */
	if (vlen > SIMMM_UIO_MAXIOV)
		return -EINVAL;
	if (vlen && !vec)
		return -EFAULT;
	for (size_t i = 0; i < vlen; i++)
		if (vec[i].len > (uint64_t)INT64_MAX)
			return -EINVAL;
	/* mm_access(): a process that has exited has no mm to advise. */
	if (target->mm_users <= 0)
		return -ESRCH;
	if (caller != target && !remote_valid(advice))
		return -EINVAL;
	if (caller != target && !caller->cap_sys_nice)
		return -EPERM;
	for (size_t i = 0; i < vlen; i++)
		total += vec[i].len < max_rw - total ? vec[i].len : max_rw - total;
	/* vector_madvise(): one madvise lock across the vectors, which it
	 * walks while bytes remain (iov_iter_count()). */
	err = madv_lock(target, mode);
	if (err)
		return err;
	for (size_t i = 0; done < total;) {
		uint64_t len = vec[i].len < max_rw - done ? vec[i].len : max_rw - done;
		simmm_addr_t end;

		/* madvise_should_skip(): unknown advice, a misaligned start
		 * or a wrapping range fail; an empty vector is skipped. */
		err = syscall_range(target, vec[i].base, len, &end);
		if (!err && !advice_known(advice))
			err = -EINVAL;
		if (!err && len)
			err = madvise_range(target, vec[i].base, end, advice, &held);
		if (err)
			break;
		done += len;
		/* iov_iter_advance(): also past the empty vectors after it */
		for (i++; i < vlen && done < total && !vec[i].len; i++)
			;
	}
	if (held)
		madv_unlock(target, mode);
	/* What was advised, vector by whole vector; the error only if none. */
	return done ? (int64_t)done : err;
}
