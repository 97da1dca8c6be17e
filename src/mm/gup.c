// SPDX-License-Identifier: MIT
/*
 * get_user_pages() / pin_user_pages() (mm/gup.c).
 *
 * __get_user_pages() per page: check the VMA (check_vma_flags()), look the
 * page up (follow_page_mask()), and if it is missing, not writable for
 * FOLL_WRITE, or a shared anonymous page a pin must not hold
 * (gup_must_unshare()), fault it (faultin_page(): FAULT_FLAG_WRITE or
 * FAULT_FLAG_UNSHARE, the latter allowed without VM_WRITE and ending with
 * an exclusive page, reused or a read-only copy) and look again. The
 * reference (try_grab_folio()):
 *   FOLL_GET: +1 on the folio;
 *   FOLL_PIN: small folio +GUP_PIN_COUNTING_BIAS; large folio +1 and
 *             +1 pincount (head->u.pincount);
 *   the shared zero pages: nothing (the kernel stopped counting them).
 * FOLL_LONGTERM pins refuse device-coherent pages through the migrate
 * hook (check_and_migrate_movable_pages()); see simmm_gup_longterm_fn.
 *
 * The mmap lock (`locked`, __get_user_pages_locked()): a caller that passes
 * `locked` lets GUP drop it (FOLL_UNLOCKABLE): its faults may retry
 * (FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_KILLABLE), and one that returns
 * VM_FAULT_RETRY has released the lock before it slept. GUP then takes
 * the lock again, looks the VMA up again and faults that page once more
 * with FOLL_TRIED, goes on with the rest, and returns with the lock
 * released (*locked = 0), which the caller must take again if it needs
 * it. Without `locked` (get_user_pages(), get_user_pages_remote() with
 * NULL) the faults keep the lock. FOLL_NOWAIT asks faults not to sleep on
 * a folio lock (FAULT_FLAG_RETRY_NOWAIT): GUP returns the pages before
 * such a page, the lock still held.
 */
#include <string.h>

#include "mm/mm_ext.h"

/* Rounds (lookup + fault) per page without progress (struct
 * simmm_fault_progress) in a row, and rounds in all, as simmm_mm_access():
 * upstream's __get_user_pages() retries a fault that returned 0 for as long
 * as it takes. */
#define GUP_MAX_STUCK 8
#define GUP_MAX_ROUNDS 1024

/* FOLL_TRIED (internal): the page's fault is a retry. */
#define GUP_FOLL_TRIED (1u << 28)

/* check_vma_flags(). */
static int gup_check_vma(struct simmm_vma *vma, unsigned flags)
{
	uint64_t vf = vma->vm_flags;

	if (vf & (SIMMM_VM_IO | SIMMM_VM_PFNMAP))
		return -EFAULT;
	if (flags & SIMMM_FOLL_WRITE) {
		if (!(vf & SIMMM_VM_WRITE)) {
			/* FOLL_FORCE writes only into private (COW) mappings
			 * that could be made writable (ptrace's rule). */
			if (!(flags & SIMMM_FOLL_FORCE) || !simmm__is_cow_mapping(vf))
				return -EFAULT;
		}
	} else if (!(vf & SIMMM_VM_READ)) {
		if (!(flags & SIMMM_FOLL_FORCE) || !(vf & SIMMM_VM_MAYREAD))
			return -EFAULT;
	}
	return 0;
}

static bool is_zero_pfn(simmm_sim *sim, simmm_pfn_t pfn)
{
	return pfn == simmm__zero_pfn(sim) || simmm__is_huge_zero_pfn(sim, pfn);
}

/*
 * gup_must_unshare(): must a pin unshare @page before holding it? A read
 * pin of a shared anonymous page would hold a page that a later COW takes
 * away from under it; unshare first (FAULT_FLAG_UNSHARE) so the pin is
 * exclusive. A write pin needs no check: a writable entry of an anonymous
 * page is exclusive. Since 6.2 ("mm/gup: reliable R/O long-term pinning in
 * COW mappings") a R/O FOLL_LONGTERM pin also unshares anything else a COW
 * mapping maps (a page-cache page, the zero pages): the next write would
 * replace it; short-term pins have snapshot semantics and keep it.
 */
static bool must_unshare(simmm_sim *sim, struct simmm_vma *vma, struct simmm_page *page,
			 unsigned flags)
{
	struct simmm_page *folio = simmm__compound_head(sim, page);

	if (!(flags & SIMMM_FOLL_PIN) || (flags & SIMMM_FOLL_WRITE))
		return false;
	if (!(folio->flags & PG_anon))
		return (flags & SIMMM_FOLL_LONGTERM) && simmm__is_cow_mapping(vma->vm_flags);
	return !(page->flags & PG_anon_exclusive);
}

enum follow_result { FOLLOW_OK, FOLLOW_FAULT, FOLLOW_UNSHARE, FOLLOW_SPLIT };

/* follow_page_mask(): the page at @addr if the access @flags asks for is
 * possible through the current entry. */
static enum follow_result follow_page(struct simmm_mm *mm, struct simmm_vma *vma,
				      simmm_addr_t addr, unsigned flags, simmm_pfn_t *pfn,
				      int *err)
{
	simmm_sim *sim = mm->sim;
	struct simmm_translation t;
	struct simmm_page *page;

	if (simmm_pgtable_translate(mm->pgt, addr, &t) || !t.present || simmm_pte_protnone(t.entry))
		return FOLLOW_FAULT;
	if (t.level == SIMMM_LVL_PMD && (flags & SIMMM_FOLL_SPLIT_PMD) &&
	    !simmm__is_vm_hugetlb(vma))
		return FOLLOW_SPLIT;
	if ((flags & SIMMM_FOLL_WRITE) && !simmm_pte_write(t.entry)) {
		/* can_follow_write_pte(): FOLL_FORCE on a COW mapping may write
		 * an exclusive anonymous page through a read-only entry. */
		page = simmm__pfn_to_page(sim, t.pfn);
		if (!(flags & SIMMM_FOLL_FORCE) || !page || is_zero_pfn(sim, t.pfn) ||
		    !(page->flags & PG_anon_exclusive) || (vma->vm_flags & SIMMM_VM_WRITE))
			return FOLLOW_FAULT;
	}
	page = simmm__pfn_to_page(sim, t.pfn);
	if (!page || (simmm_pte_special(t.entry) && !simmm_pte_devmap(t.entry) &&
		      !is_zero_pfn(sim, t.pfn))) {
		*err = -EFAULT; /* no struct page (vm_normal_page() NULL) */
		return FOLLOW_OK;
	}
	*pfn = t.pfn;
	if (simmm_pte_write(t.entry))
		return FOLLOW_OK;
	return must_unshare(sim, vma, page, flags) ? FOLLOW_UNSHARE : FOLLOW_OK;
}

/* faultin_page(). @locked: the caller's, NULL without FOLL_UNLOCKABLE.
 * Returns 0 or an errno; -EBUSY for VM_FAULT_RETRY: *@locked = 0 when the
 * fault released the mmap lock (not with FOLL_NOWAIT). */
static int gup_faultin(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t addr,
		       unsigned flags, bool unshare, int *locked)
{
	unsigned fflags = SIMMM_FAULT_FLAG_REMOTE, ret;

	if (flags & SIMMM_FOLL_NOFAULT)
		return -EFAULT;
	if (unshare)
		fflags |= SIMMM_FAULT_FLAG_UNSHARE;
	else if (flags & SIMMM_FOLL_WRITE)
		fflags |= SIMMM_FAULT_FLAG_WRITE;
	if (locked)
		fflags |= SIMMM_FAULT_FLAG_ALLOW_RETRY | SIMMM_FAULT_FLAG_KILLABLE;
	if (flags & SIMMM_FOLL_NOWAIT)
		fflags |= SIMMM_FAULT_FLAG_ALLOW_RETRY | SIMMM_FAULT_FLAG_RETRY_NOWAIT;
	if (flags & GUP_FOLL_TRIED)
		fflags |= SIMMM_FAULT_FLAG_TRIED; /* may come with ALLOW_RETRY */
	ret = simmm__handle_mm_fault(mm, vma, addr, fflags);
	if (ret & SIMMM_VM_FAULT_OOM)
		return -ENOMEM;
	/* vm_fault_to_errno(): FOLL_HWPOISON (MADV_POPULATE_*) tells a
	 * poisoned page apart from SIGBUS. */
	if ((flags & SIMMM__FOLL_MADV_POPULATE) &&
	    (ret & (SIMMM_VM_FAULT_HWPOISON | SIMMM_VM_FAULT_HWPOISON_LARGE)))
		return -EHWPOISON;
	if (ret & (SIMMM_VM_FAULT_SIGBUS | SIMMM_VM_FAULT_SIGSEGV | SIMMM_VM_FAULT_HWPOISON |
		   SIMMM_VM_FAULT_HWPOISON_LARGE))
		return -EFAULT;
	/* Without ALLOW_RETRY only a fault outside tasks returns RETRY, the
	 * lock held: look again (the caller's rounds bound it). */
	if (!(ret & SIMMM_VM_FAULT_RETRY) || !(fflags & SIMMM_FAULT_FLAG_ALLOW_RETRY))
		return 0;
	if (!(fflags & SIMMM_FAULT_FLAG_RETRY_NOWAIT))
		*locked = 0;
	return -EBUSY;
}

/* The VMA of @addr, checked for the access (check_vma_flags()); with
 * FOLL_MADV_POPULATE no VMA is -ENOMEM and an incompatible one (VM_IO /
 * VM_PFNMAP, no permission) -EINVAL, as MADV_POPULATE_* reports them
 * (__get_user_pages(), since 6.9). */
static int gup_vma(struct simmm_mm *mm, simmm_addr_t addr, unsigned flags,
		   struct simmm_vma **vma)
{
	int err;

	*vma = simmm__vma_lookup(mm, addr);
	err = *vma ? gup_check_vma(*vma, flags) : -EFAULT;
	if (err && (flags & SIMMM__FOLL_MADV_POPULATE))
		err = *vma ? -EINVAL : -ENOMEM;
	return err;
}

/* try_grab_folio(). */
static void gup_grab(simmm_sim *sim, simmm_pfn_t pfn, unsigned flags)
{
	struct simmm_page *folio;

	if (is_zero_pfn(sim, pfn))
		return;
	folio = simmm__compound_head(sim, simmm__pfn_to_page(sim, pfn));
	if (!(flags & SIMMM_FOLL_PIN)) {
		simmm__folio_get(sim, folio);
	} else if (folio->order) {
		simmm__folio_get(sim, folio);
		folio->u.pincount++;
	} else {
		simmm__folio_ref_add(sim, folio, SIMMM_GUP_PIN_COUNTING_BIAS);
	}
}

static void gup_release(simmm_sim *sim, simmm_pfn_t pfn, unsigned flags)
{
	struct simmm_page *folio;

	if (is_zero_pfn(sim, pfn))
		return;
	folio = simmm__compound_head(sim, simmm__pfn_to_page(sim, pfn));
	if (!(flags & SIMMM_FOLL_PIN)) {
		simmm__put_user_folio(sim, folio);
		return;
	}
	if (folio->order) {
		folio->u.pincount--;
		simmm__put_user_folio(sim, folio);
		return;
	}
	/* Drop the bias but one reference, then the last via the LRU-aware put. */
	folio->refcount -= SIMMM_GUP_PIN_COUNTING_BIAS - 1;
	simmm__put_user_folio(sim, folio);
}

/* FOLL_LONGTERM: device-coherent memory must not be pinned long-term
 * (folio_is_longterm_pinnable()); the migrate layer's hook moves it. */
static int gup_longterm_check(struct simmm_mm *mm, simmm_addr_t addr, simmm_pfn_t pfn,
			      unsigned flags)
{
	simmm_sim *sim = mm->sim;
	struct simmm_mm_global *g = simmm__mm_global(sim);
	struct simmm_page *page;

	if (!(flags & SIMMM_FOLL_LONGTERM) || is_zero_pfn(sim, pfn))
		return 0;
	page = simmm__pfn_to_page(sim, pfn);
	if (!page || !simmm__is_device_coherent_page(page))
		return 0;
	if (!g || !g->lru || !g->lru->longterm_fn)
		return -EFAULT;
	return g->lru->longterm_fn(sim, mm, addr, page) ? -EFAULT : -EAGAIN;
}

/*
 * FOLL_TOUCH (get_user_pages() and pin_user_pages() always set it): a write
 * lookup marks the page dirty unless its pte already is
 * (follow_page_pte(): set_page_dirty()), and makes a THP's PMD young and
 * dirty (follow_huge_pmd(): touch_pmd()). What the caller writes through
 * its reference is then known to reclaim: a page MADV_FREE had cleaned is
 * made swap-backed again instead of discarded. mark_page_accessed() has no
 * counterpart (simmm's LRU has no active list).
 */
static void gup_touch(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t addr,
		      simmm_pfn_t pfn, unsigned flags)
{
	simmm_sim *sim = mm->sim;
	struct simmm_translation t;
	uint64_t size;

	if (!(flags & SIMMM_FOLL_WRITE) || is_zero_pfn(sim, pfn) ||
	    simmm_pgtable_translate(mm->pgt, addr, &t) || !t.present)
		return;
	if (t.level == SIMMM_LVL_PTE) {
		if (!simmm_pte_dirty(t.entry))
			simmm__compound_head(sim, simmm__pfn_to_page(sim, pfn))->flags |= PG_dirty;
		return;
	}
	if (t.level != SIMMM_LVL_PMD || simmm__is_vm_hugetlb(vma) ||
	    (simmm_pte_dirty(t.entry) && simmm_pte_young(t.entry)))
		return;
	size = simmm_level_size(mm->pgt, SIMMM_LVL_PMD);
	simmm_pgtable_set(mm->pgt, addr & ~(size - 1), SIMMM_LVL_PMD,
			  simmm_pte_mkyoung(simmm_pte_mkdirty(t.entry)));
}

/*
 * One page: returns 0 with *pfn referenced, or an errno. Each round looks
 * the page up and, if the entry does not allow the access or the page must
 * be unshared first, faults and looks again (__get_user_pages()). An
 * unshare that does not finish in one fault is simply faulted again, as
 * upstream retries -EMLINK: a shared swap entry is swapped in first (a read
 * fault, still shared), or the copy lost its pte_same() check to a
 * concurrent change. A fault that released the mmap lock (VM_FAULT_RETRY,
 * *@locked = 0) is followed by the lock taken again, the VMA looked up
 * again and the page faulted with FOLL_TRIED (__get_user_pages_locked()'s
 * retry; *@dropped records it); FOLL_NOWAIT's RETRY is -EBUSY, the lock
 * held. GUP gives up (-EFAULT) after GUP_MAX_STUCK rounds in a row without
 * progress (struct simmm_fault_progress), or GUP_MAX_ROUNDS in all, as
 * simmm_mm_access() does.
 */
static int gup_one(struct simmm_mm *mm, simmm_addr_t addr, unsigned flags, simmm_pfn_t *pfn,
		   int *locked, bool *dropped)
{
	struct simmm_vma *vma;
	int err = gup_vma(mm, addr, flags, &vma);
	unsigned rounds = 0, stuck = 0;

	for (; !err && stuck < GUP_MAX_STUCK && rounds < GUP_MAX_ROUNDS; rounds++) {
		struct simmm_fault_progress prog;
		enum follow_result r;

		simmm__fault_progress_start(&prog, mm, addr);
		r = follow_page(mm, vma, addr, flags, pfn, &err);
		if (err)
			break;
		if (r == FOLLOW_SPLIT)
			err = simmm__split_huge_pmd(mm, vma, addr);
		else if (r != FOLLOW_OK)
			err = gup_faultin(mm, vma, addr, flags, r == FOLLOW_UNSHARE, locked);
		else if ((err = gup_longterm_check(mm, addr, *pfn, flags)) == -EAGAIN)
			err = 0; /* migrated away: look again */
		else if (!err) {
			if (!(flags & (SIMMM__FOLL_POPULATE | SIMMM__FOLL_MADV_POPULATE)))
				gup_grab(mm->sim, *pfn, flags);
			gup_touch(mm, vma, addr, *pfn, flags);
			return 0;
		}
		if (err == -EBUSY && locked && !*locked) {
			*dropped = true;
			err = simmm_down_read(mm->sim, &mm->mmap_lock);
			if (err)
				return err;
			*locked = 1;
			flags |= GUP_FOLL_TRIED;
			err = gup_vma(mm, addr, flags, &vma);
		}
		stuck = simmm__fault_progress_stuck(&prog, mm, addr, stuck);
	}
	return err ? err : -EFAULT;
}

/**
 * simmm__gup_locked() - __get_user_pages_locked().
 * @flags: FOLL_* with FOLL_GET or FOLL_PIN, or SIMMM__FOLL_POPULATE
 *   (no reference; @pfns may be NULL).
 * @locked: NULL: the caller holds the mmap lock (read or write) and keeps
 *   it throughout. Else FOLL_UNLOCKABLE: *@locked == 1, the caller holds it
 *   for read and GUP may release it; *@locked == 0, GUP takes it and
 *   releases it (get_user_pages_unlocked()). On return *@locked says
 *   whether it is held: a GUP that dropped it at some point releases it.
 * Return: pages referenced (>= 1), stopping at the first failure; that
 * failure's errno if the first page fails: -EFAULT (no VMA, VM_IO/PFNMAP,
 * no permission, FOLL_NOFAULT on a missing page, fault error), -ENOMEM;
 * with SIMMM__FOLL_MADV_POPULATE no VMA is -ENOMEM, an incompatible VMA
 * -EINVAL and a poisoned page -EHWPOISON; the mmap lock's errors. With
 * FOLL_NOWAIT, 0 when the first page's fault would have had to wait.
 */
long simmm__gup_locked(struct simmm_mm *mm, simmm_addr_t start, uint64_t nr, unsigned flags,
		       simmm_pfn_t *pfns, int *locked)
{
	bool must_unlock = false;
	uint64_t i;
	int err = 0;

	if (locked && !*locked) {
		err = simmm_down_read(mm->sim, &mm->mmap_lock);
		if (err)
			return err;
		*locked = 1;
		must_unlock = true;
	}
	/* mm_set_has_pinned_flag(): before the walk, whatever it finds. */
	if (flags & SIMMM_FOLL_PIN)
		mm->has_pinned = true;
	for (i = 0; i < nr; i++) {
		simmm_pfn_t pfn;

		err = gup_one(mm, start + i * mm->sim->page_size, flags, pfns ? &pfns[i] : &pfn,
			      locked, &must_unlock);
		if (err)
			break;
	}
	if (must_unlock && *locked) {
		simmm_up_read(mm->sim, &mm->mmap_lock);
		*locked = 0;
	}
	if (i || err == -EBUSY)
		return (long)i;
	return err;
}

/**
 * simmm__faultin_page_range() - faultin_page_range(): fault [@start, @end)
 * in, readable or (@write) writable, across VMAs, taking no reference.
 * Context: mmap lock held for read, *@locked == 1; GUP may drop it
 * (FOLL_UNLOCKABLE) and then returns with it released, *@locked == 0; may
 * sleep.
 * Return: pages faulted in (>= 1) up to the first failure, or that
 * failure's errno if it is the first page: -ENOMEM (no VMA, no memory),
 * -EINVAL (VM_IO / VM_PFNMAP, no permission), -EFAULT (SIGBUS / SIGSEGV),
 * -EHWPOISON; the mmap lock's errors.
 */
long simmm__faultin_page_range(struct simmm_mm *mm, simmm_addr_t start, simmm_addr_t end,
			       bool write, int *locked)
{
	unsigned flags = SIMMM__FOLL_MADV_POPULATE | (write ? SIMMM_FOLL_WRITE : 0);

	return simmm__gup_locked(mm, start, (end - start) >> mm->sim->geo.page_shift, flags,
				 NULL, locked);
}

static long gup_public(struct simmm_mm *mm, simmm_addr_t start, uint64_t nr, unsigned flags,
		       simmm_pfn_t *pfns)
{
	const unsigned allowed = SIMMM_FOLL_WRITE | SIMMM_FOLL_FORCE | SIMMM_FOLL_NOWAIT |
				 SIMMM_FOLL_NOFAULT | SIMMM_FOLL_LONGTERM | SIMMM_FOLL_SPLIT_PMD |
				 SIMMM_FOLL_GET | SIMMM_FOLL_PIN;
	long ret;
	int err;

	if (!simmm__mm_ok(mm) || !pfns || !nr || (flags & ~allowed) ||
	    (start & (mm->sim->page_size - 1)) || nr > (UINT64_MAX >> mm->sim->geo.page_shift) ||
	    start + (nr << mm->sim->geo.page_shift) < start)
		return -EINVAL;
	/* mmap_read_lock(); get_user_pages(); mmap_read_unlock(): no
	 * `locked`, so the faults keep the lock (get_user_pages_unlocked()
	 * would let them drop it). */
	err = simmm_mmap_read_lock(mm);
	if (err)
		return err;
	ret = simmm__gup_locked(mm, start, nr, flags, pfns, NULL);
	simmm_mmap_read_unlock(mm);
	return ret;
}

/**
 * simmm_get_user_pages() - see <simmm/mm.h>. FOLL_GET references.
 * Context: takes the mmap lock for read.
 */
long simmm_get_user_pages(struct simmm_mm *mm, simmm_addr_t start, uint64_t nr_pages,
			  unsigned gup_flags, simmm_pfn_t *pfns)
{
	if (gup_flags & (SIMMM_FOLL_PIN | SIMMM_FOLL_GET))
		return -EINVAL; /* internal flags */
	return gup_public(mm, start, nr_pages, gup_flags | SIMMM_FOLL_GET, pfns);
}

/**
 * simmm_pin_user_pages() - see <simmm/mm.h>. FOLL_PIN references.
 * Context: takes the mmap lock for read.
 */
long simmm_pin_user_pages(struct simmm_mm *mm, simmm_addr_t start, uint64_t nr_pages,
			  unsigned gup_flags, simmm_pfn_t *pfns)
{
	if (gup_flags & (SIMMM_FOLL_PIN | SIMMM_FOLL_GET))
		return -EINVAL; /* internal flags */
	return gup_public(mm, start, nr_pages, gup_flags | SIMMM_FOLL_PIN, pfns);
}

/* A pfn that a put/unpin may release: in RAM and in use (and pinned). */
static bool release_ok(simmm_sim *sim, simmm_pfn_t pfn, bool pin)
{
	struct simmm_page *p = simmm__pfn_to_page(sim, pfn), *folio;

	if (!p || is_zero_pfn(sim, pfn))
		return p != NULL;
	folio = simmm__compound_head(sim, p);
	if (folio->refcount <= 0)
		return false;
	if (!pin)
		return true;
	return folio->order ? folio->u.pincount > 0
			    : folio->refcount >= SIMMM_GUP_PIN_COUNTING_BIAS;
}

static int release_all(simmm_sim *sim, const simmm_pfn_t *pfns, uint64_t n, bool pin)
{
	if (!simmm__sim_ok(sim) || (!pfns && n))
		return -EINVAL;
	for (uint64_t i = 0; i < n; i++)
		if (!release_ok(sim, pfns[i], pin)) {
			simmm__report(sim, SIMMM_REPORT_MISUSE, "%s of pfn 0x%llx not held",
				      pin ? "unpin_user_page" : "put_page",
				      (unsigned long long)pfns[i]);
			return -EINVAL;
		}
	for (uint64_t i = 0; i < n; i++)
		gup_release(sim, pfns[i], pin ? SIMMM_FOLL_PIN : SIMMM_FOLL_GET);
	return 0;
}

/**
 * simmm_put_user_pages() - put_page() for each pfn from simmm_get_user_pages().
 * Every pfn is validated before anything is released.
 * Return: 0; -EINVAL (NULL @sim, NULL @pfns with @n > 0, a pfn that is
 * free or outside RAM: reported as misuse, nothing released).
 */
int simmm_put_user_pages(simmm_sim *sim, const simmm_pfn_t *pfns, uint64_t n)
{
	return release_all(sim, pfns, n, false);
}

/**
 * simmm_unpin_user_pages() - unpin_user_pages(). Every pfn is validated
 * before anything is released.
 * Return: 0; -EINVAL (as simmm_put_user_pages(), or a folio without pins).
 */
int simmm_unpin_user_pages(simmm_sim *sim, const simmm_pfn_t *pfns, uint64_t n)
{
	return release_all(sim, pfns, n, true);
}
