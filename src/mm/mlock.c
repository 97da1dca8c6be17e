// SPDX-License-Identifier: MIT
/*
 * mlock(2), mlock2(2), munlock(2), mlockall(2), munlockall(2) and the folio
 * side of mlock (mm/mlock.c as reworked around folios by Hugh Dickins in
 * 5.18, with the 6.19+ tracking of large folios: "mm/rmap: improve mlock
 * tracking for large folios" and its series).
 *
 * The VMA side: apply_vma_lock_flags() / apply_mlockall_flags() set or
 * clear VM_LOCKED[|VM_LOCKONFAULT] VMA by VMA (mlock_fixup(): special and
 * hugetlb VMAs are skipped without an error; the others are carved out of
 * their VMA, as mprotect does, and merged again), charging mm->locked_vm;
 * then a VMA that changed between locked and unlocked has the folios it
 * maps mlocked or munlocked by a page-table walk (mlock_vma_pages_range());
 * mlock() then populates the range (__mm_populate()) with the mmap lock
 * taken for read only, as upstream, so a concurrent munmap may win.
 *
 * The folio side: PG_mlocked, PG_unevictable and the unevictable LRU list
 * (reclaim.c keeps the lists; reclaim never scans that one), and
 * folio->mlock_count, how many VM_LOCKED mappings are counted as mlocking
 * the folio while it is on the unevictable list:
 *  - mlock_folio(): PG_mlocked set; a folio on an evictable list moves to
 *    the unevictable one with a count of 1; one already there counts one
 *    more; an isolated one is left to its isolator, whose putback culls it
 *    (simmm__lru_add(): count 0);
 *  - mlock_new_folio(): a new folio of a VM_LOCKED VMA goes straight to the
 *    unevictable list, count 1 (folio_add_lru_vma());
 *  - munlock_folio(): one count less; at 0 (or when the folio is isolated,
 *    or not on the unevictable list) PG_mlocked is cleared and the folio
 *    goes back to the inactive list. The count may fall short of the
 *    VM_LOCKED mappings (isolation forgets it; a munlock of a mapping that
 *    was never counted counts down another's): then the folio is munlocked
 *    early and reclaim mlocks it again when folio_referenced() or
 *    try_to_unmap() meet the VM_LOCKED VMA (rmap.c). It never exceeds
 *    them (the checker enforces that, mm_check.c) but where a munlock
 *    passed a device-exclusive entry, or MREMAP_DONTUNMAP cleared
 *    VM_LOCKED without one (simmm__mlock_flags_dropped()).
 * Upstream defers these through the per-CPU mlock_fbatch; simmm applies
 * each at once (no scheduling point), which is what a drain does in order.
 *
 * The rmap hooks: a folio mapped whole into a VM_LOCKED VMA (a small
 * folio's pte, a PMD, all of a large folio's pages at once) is mlocked
 * (mlock_vma_folio() in __folio_add_anon_rmap() / __folio_add_file_rmap()
 * when nr_pages == folio_nr_pages(), 6.19+); any mapping of a folio leaving
 * one munlocks it (munlock_vma_folio() in __folio_remove_rmap()). Not
 * mlocked at map time, as upstream: a swap-cache folio swapped in fresh
 * (do_swap_page() uses folio_add_new_anon_rmap()), a large folio mapped
 * by some of its ptes; reclaim catches those.
 *
 * ZONE_DEVICE folios are never mlocked here. Upstream's mlock_vma_folio()
 * does not look at the zone, so remove_migration_ptes() of a migration to
 * device-private memory in a VM_LOCKED VMA sets PG_mlocked on the device
 * folio (never on an LRU, so nothing else happens), and the munlock walk
 * skips its non-present entry; simmm leaves the flag off, as
 * mlock_pte_range() does for device folios, which no reclaim could tell.
 *
 * Locking: the syscalls take the mmap lock (write to change VMAs, read to
 * populate); the folio side runs under the caller's locks with no
 * scheduling point (the kernel's lru_lock and PTL).
 */
#include <errno.h>

#include "mm/mm_ext.h"

/* ---- the folio side ------------------------------------------------------------ */

static struct simmm_lru *lru_of(simmm_sim *sim)
{
	struct simmm_mm_global *g = simmm__mm_global(sim);

	return g ? g->lru : NULL;
}

/* Folios mlock leaves alone: ZONE_DEVICE (see above), reserved ones (the
 * zero pages) and page tables. */
static bool mlockable(const struct simmm_page *folio)
{
	return !simmm__is_zone_device_page(folio) &&
	       !(folio->flags & (PG_reserved | PG_zero | PG_table));
}

/* PG_mlocked set (folio_test_set_mlocked()): true if it was clear. */
static bool set_mlocked(struct simmm_lru *l, struct simmm_page *folio)
{
	uint64_t nr = 1ULL << folio->order;

	if (folio->flags & PG_mlocked)
		return false;
	folio->flags |= PG_mlocked;
	l->nr_mlock += nr;
	l->mlocked += nr;
	return true;
}

/* __mlock_folio(): the LRU half of mlock_folio(). */
static void mlock_lru(simmm_sim *sim, struct simmm_lru *l, struct simmm_page *folio)
{
	if (!(folio->flags & PG_lru))
		return; /* isolated: nothing more while it is off the LRU */
	if (folio->flags & PG_unevictable) {
		if ((folio->flags & PG_mlocked) && folio->mlock_count < UINT16_MAX)
			folio->mlock_count++; /* (saturates where the kernel's int would not) */
		return;
	}
	simmm__lru_move(sim, folio, PG_active, PG_unevictable);
	folio->mlock_count = 1;
	l->culled += 1ULL << folio->order;
}

/**
 * simmm__mlock_folio() - mlock_folio(): mlock a folio on (or isolated from)
 * the LRU; see the file comment for the count.
 * Context: no scheduling point.
 */
void simmm__mlock_folio(simmm_sim *sim, struct simmm_page *folio)
{
	struct simmm_lru *l = lru_of(sim);

	folio = simmm__compound_head(sim, folio);
	if (!l || !mlockable(folio))
		return;
	set_mlocked(l, folio);
	mlock_lru(sim, l, folio);
}

/**
 * simmm__mlock_new_folio() - mlock_new_folio(): a new folio, not on the LRU
 * yet, joins the unevictable list mlocked, with a count of 1.
 * Context: no scheduling point.
 */
void simmm__mlock_new_folio(simmm_sim *sim, struct simmm_page *folio)
{
	struct simmm_lru *l = lru_of(sim);

	folio = simmm__compound_head(sim, folio);
	if (!l || !mlockable(folio) || NEVER(folio->flags & PG_lru))
		return;
	set_mlocked(l, folio);
	folio->flags = (folio->flags & ~PG_active) | PG_unevictable;
	folio->mlock_count = 1;
	l->culled += 1ULL << folio->order;
	simmm__lruvec_add(sim, folio);
}

/**
 * simmm__munlock_folio() - munlock_folio() (__munlock_folio()): one mlock
 * less. An unevictable folio on the LRU counts down and stays while its
 * count is not 0; otherwise PG_mlocked is cleared (assumed to be the last
 * mlock: reclaim mlocks it again if not) and a folio on the LRU that is
 * evictable now goes back to the inactive list (unevictable_pgs_rescued).
 * An isolated folio from the unevictable list is "stranded" until its
 * isolator puts it back (simmm__lru_add() rescues it then).
 * Context: no scheduling point.
 */
void simmm__munlock_folio(simmm_sim *sim, struct simmm_page *folio)
{
	struct simmm_lru *l = lru_of(sim);
	bool on_lru;
	uint64_t nr;

	folio = simmm__compound_head(sim, folio);
	if (!l || !mlockable(folio))
		return;
	on_lru = folio->flags & PG_lru;
	nr = 1ULL << folio->order;
	if (on_lru && (folio->flags & PG_unevictable)) {
		/* Then mlock_count is maintained, but might undercount. */
		if (folio->mlock_count)
			folio->mlock_count--;
		if (folio->mlock_count)
			return;
	}
	if (folio->flags & PG_mlocked) {
		folio->flags &= ~(PG_mlocked | PG_mlock_missed);
		l->nr_mlock -= nr;
		if (on_lru || !(folio->flags & PG_unevictable))
			l->munlocked += nr;
		else
			l->stranded += nr;
	}
	/* folio_evictable() is tested after PG_mlocked was cleared. */
	if (on_lru && (folio->flags & PG_unevictable) && simmm__folio_evictable(folio)) {
		simmm__lru_move(sim, folio, PG_unevictable, 0);
		l->rescued += nr;
	}
}

void simmm__mlock_vma_folio(simmm_sim *sim, struct simmm_page *folio,
			    const struct simmm_vma *vma)
{
	/* VM_SPECIAL: VM_LOCKED is never left on such a VMA (mlock_fixup()
	 * and mmap skip them); upstream also uses VM_IO to mark a VMA being
	 * mlocked, which simmm's walk has no scheduling point to need. */
	if ((vma->vm_flags & (SIMMM_VM_LOCKED | SIMMM_VM_SPECIAL)) == SIMMM_VM_LOCKED)
		simmm__mlock_folio(sim, folio);
}

void simmm__munlock_vma_folio(simmm_sim *sim, struct simmm_page *folio,
			      const struct simmm_vma *vma)
{
	/* Whatever part of the folio went: reclaim corrects an early munlock
	 * (munlock_vma_folio() says as much). */
	if (vma->vm_flags & SIMMM_VM_LOCKED)
		simmm__munlock_folio(sim, folio);
}

void simmm__folio_add_lru_vma(simmm_sim *sim, struct simmm_page *folio,
			      const struct simmm_vma *vma)
{
	if ((vma->vm_flags & (SIMMM_VM_LOCKED | SIMMM_VM_SPECIAL)) == SIMMM_VM_LOCKED)
		simmm__mlock_new_folio(sim, folio);
	else
		simmm__lru_add(sim, folio);
}

/**
 * simmm__mlock_release() - __page_cache_release()'s mlock half: the last
 * reference of a folio that is still mlocked (a munlock that could not
 * reach it: a device-exclusive entry the munlock walk skipped, say) is
 * dropped; PG_mlocked is cleared and counted as unevictable_pgs_cleared.
 * Context: no scheduling point; called by simmm__put_user_folio().
 */
void simmm__mlock_release(simmm_sim *sim, struct simmm_page *folio)
{
	struct simmm_lru *l = lru_of(sim);
	uint64_t nr = 1ULL << folio->order;

	if (!(folio->flags & PG_mlocked))
		return;
	folio->flags &= ~(PG_mlocked | PG_mlock_missed);
	if (!l)
		return;
	l->nr_mlock -= nr;
	l->cleared += nr;
}

void simmm__mlock_sync(simmm_sim *sim)
{
	struct simmm_lru *l = lru_of(sim);
	uint64_t nr = simmm__page_take_mlocked_freed(sim);

	if (!l || !nr)
		return;
	l->nr_mlock -= nr;
	l->cleared += nr;
}

/* ---- mlock_vma_pages_range(): the page-table walk -------------------------------- */

struct mlock_walk {
	struct simmm_vma *vma;
	bool lock;               /* the VMA's new VM_LOCKED */
	bool mark;               /* only mark mlocked folios (simmm__mlock_flags_dropped()) */
	simmm_addr_t start, end; /* the range walked */
	simmm_addr_t skip;       /* ptes below this belong to the last batch */
};

static void mlock_or_munlock(struct mlock_walk *w, struct simmm_page *folio)
{
	simmm_sim *sim = w->vma->mm->sim;

	if (w->mark) {
		if (folio->flags & PG_mlocked)
			folio->flags |= PG_mlock_missed;
		return;
	}
	if (w->lock)
		simmm__mlock_folio(sim, folio);
	else
		simmm__munlock_folio(sim, folio);
}

/* The folio of a present, normal entry, or NULL (vm_normal_folio(), device
 * and zero folios skipped). */
static struct simmm_page *walk_folio(struct simmm_vma *vma, simmm_entry_t e)
{
	struct simmm_page *page;

	if (!simmm_pte_present(e))
		return NULL;
	page = simmm__vm_normal_page(vma, e);
	if (!page)
		return NULL;
	page = simmm__compound_head(vma->mm->sim, page);
	return mlockable(page) ? page : NULL;
}

/* mlock_pte_range()'s PMD half: a THP mapped by a PMD is (un)locked. */
static int mlock_pmd(simmm_entry_t *slot, simmm_addr_t addr, simmm_addr_t next,
		     struct simmm_walk *walk)
{
	struct mlock_walk *w = walk->private;
	struct simmm_page *folio;

	(void)addr, (void)next;
	if (simmm_entry_none(*slot) || simmm_entry_is_table(*slot, walk->level))
		return 0;
	walk->action = SIMMM_WALK_CONTINUE;
	folio = walk_folio(w->vma, *slot);
	if (folio)
		mlock_or_munlock(w, folio);
	return 0;
}

/* The reach of one pte table. */
static uint64_t pte_table_span(const struct simmm_mm *mm)
{
	const struct simmm_level_desc *pte = &mm->sim->geo.level[SIMMM_LVL_PTE];

	return 1ULL << (pte->shift + pte->bits);
}

/* folio_mlock_step(): the ptes from @slot on (at @addr) that map the
 * following pages of @folio, within the pte table and the walked range
 * (folio_pte_batch(), whatever the ptes' bits). */
static uint64_t mlock_step(struct mlock_walk *w, simmm_entry_t *slot, simmm_addr_t addr,
			   struct simmm_page *folio)
{
	struct simmm_mm *mm = w->vma->mm;
	uint64_t table = pte_table_span(mm), ps = mm->sim->page_size;
	simmm_addr_t end = (addr & ~(table - 1)) + table;
	simmm_pfn_t pfn = simmm_pte_pfn(*slot), last = folio->pfn + (1ULL << folio->order);
	uint64_t n = 1;

	if (end > w->end || end < addr)
		end = w->end;
	while (addr + n * ps < end && pfn + n < last) {
		simmm_entry_t e = slot[n];

		if (!simmm_pte_present(e) || simmm_pte_special(e) || simmm_pte_pfn(e) != pfn + n)
			break;
		n++;
	}
	return n;
}

/* folio_within_range() over the walked part of this pte table, and
 * allow_mlock_munlock(): munlock any folio; mlock a large one only when it
 * lies wholly in the range and every page of it is mapped here, so that
 * one straddling the range or the VMA stays evictable and reclaim may
 * split it and take the pages outside. */
static bool mlock_allowed(struct mlock_walk *w, struct simmm_page *folio, simmm_addr_t addr,
			  uint64_t step)
{
	struct simmm_mm *mm = w->vma->mm;
	uint64_t nr = 1ULL << folio->order, table = pte_table_span(mm);
	simmm_addr_t lo = addr & ~(table - 1), hi = lo + table, fstart;
	uint64_t idx = simmm__linear_page_index(w->vma, addr, simmm__page_shift(mm));

	if (!w->lock || !folio->order)
		return true;
	if (step != nr)
		return false;
	lo = lo < w->start ? w->start : lo;
	hi = hi > w->end || hi < lo ? w->end : hi;
	if (folio->index > idx)
		return false;
	fstart = addr - ((idx - folio->index) << simmm__page_shift(mm));
	return fstart >= lo && fstart + (nr << simmm__page_shift(mm)) <= hi;
}

/* mlock_pte_range() skips non-present entries. A device-exclusive one
 * keeps its folio mapped (and, in a VM_LOCKED VMA, mlocked): a munlock
 * passing it leaves PG_mlocked and the count as they are, though the VMA
 * no longer counts, and the folio stays unevictable until a later munlock
 * counts it down to 0 or it is freed (simmm__mlock_release()). Mark it
 * for the checker, which otherwise holds the count to the VM_LOCKED
 * mappings. */
static void munlock_missed(struct mlock_walk *w, simmm_entry_t e)
{
	struct simmm_page *folio;

	if (w->lock || !simmm_is_device_exclusive_entry(e))
		return;
	folio = simmm__pfn_to_page(w->vma->mm->sim, simmm_swp_offset_pfn(e));
	if (!folio)
		return;
	folio = simmm__compound_head(w->vma->mm->sim, folio);
	if (folio->flags & PG_mlocked)
		folio->flags |= PG_mlock_missed;
}

static int mlock_pte(simmm_entry_t *slot, simmm_addr_t addr, simmm_addr_t next,
		     struct simmm_walk *walk)
{
	struct mlock_walk *w = walk->private;
	struct simmm_page *folio;
	uint64_t step = 1;

	(void)next;
	if (addr < w->skip)
		return 0;
	folio = walk_folio(w->vma, *slot);
	if (!folio) {
		munlock_missed(w, *slot);
		return 0;
	}
	if (folio->order) {
		step = mlock_step(w, slot, addr, folio);
		w->skip = addr + step * w->vma->mm->sim->page_size;
	}
	if (mlock_allowed(w, folio, addr, step))
		mlock_or_munlock(w, folio);
	return 0;
}

static const struct simmm_walk_ops mlock_walk_ops = {
	.pmd_entry = mlock_pmd,
	.pte_entry = mlock_pte,
	.pte_skip_none = true,
};

/* mlock_vma_pages_range(): @vma's flags become @newflags, then every folio
 * mapped in [@start, @end) is mlocked (VM_LOCKED set) or munlocked. */
static void mlock_vma_pages_range(struct simmm_vma *vma, simmm_addr_t start, simmm_addr_t end,
				  uint64_t newflags)
{
	struct mlock_walk w = {.vma = vma, .lock = newflags & SIMMM_VM_LOCKED, .start = start,
			       .end = end};

	vma->vm_flags = newflags;
	NEVER(simmm_walk_range(vma->mm->pgt, start, end, &mlock_walk_ops, &w));
}

/* dontunmap_complete() clears VM_LOCKED_MASK and munlocks nothing: what
 * the VMA still maps stays mlocked (unevictable) until a munlock that
 * counts it down to 0 or its last reference (simmm__mlock_release()), as
 * upstream. The walk only marks such folios (and those behind
 * device-exclusive entries, munlock_missed()) for the checker. */
void simmm__mlock_flags_dropped(struct simmm_vma *vma)
{
	struct mlock_walk w = {.vma = vma, .mark = true, .start = vma->vm_start,
			       .end = vma->vm_end};

	NEVER(simmm_walk_range(vma->mm->pgt, vma->vm_start, vma->vm_end, &mlock_walk_ops, &w));
}

/* ---- the VMA side ------------------------------------------------------------------ */

static uint64_t pages_of(const struct simmm_mm *mm, uint64_t bytes)
{
	return bytes >> simmm__page_shift(mm);
}

/*
 * mlock_fixup(): [@start, @end) of @vma gets @newflags. Special and hugetlb
 * VMAs keep theirs (no VM_LOCKED, not charged, no error). Otherwise the
 * range becomes a VMA of its own (the carve allocates before anything
 * changes: -ENOMEM leaves this VMA as it was), locked_vm is charged or
 * uncharged, the folios are (un)locked unless only VM_LOCKONFAULT changed
 * ("mlocking twice would be wrong"), and the VMA merges with its
 * neighbours (vma_modify_flags() merges first; the result is the same).
 */
static int mlock_fixup(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t start,
		       simmm_addr_t end, uint64_t newflags)
{
	uint64_t oldflags = vma->vm_flags, nr = pages_of(mm, end - start);
	int err;

	if (newflags == oldflags || (oldflags & (SIMMM_VM_SPECIAL | SIMMM_VM_HUGETLB)))
		return 0;
	err = simmm__carve_range(mm, start, end);
	if (err)
		return err;
	vma = simmm__vma_lookup(mm, start);
	if (NEVER(!vma || vma->vm_start != start || vma->vm_end != end))
		return -EINVAL;
	if (!(newflags & SIMMM_VM_LOCKED))
		mm->locked_vm -= nr;
	else if (!(oldflags & SIMMM_VM_LOCKED))
		mm->locked_vm += nr;
	if ((newflags & SIMMM_VM_LOCKED) && (oldflags & SIMMM_VM_LOCKED))
		vma->vm_flags = newflags;
	else
		mlock_vma_pages_range(vma, start, end, newflags);
	simmm__vma_merge(mm, vma);
	return 0;
}

/*
 * apply_vma_lock_flags(): VM_LOCKED_MASK of every VMA in [@start, @start +
 * @len) becomes @flags. A hole stops it with -ENOMEM (a missing VMA at
 * @start before anything changed, a later one after the VMAs before it
 * changed), as does a failing split.
 */
static int apply_vma_lock_flags(struct simmm_mm *mm, simmm_addr_t start, uint64_t len,
				uint64_t flags)
{
	simmm_addr_t end = start + len, nstart = start;

	if (end < start)
		return -EINVAL;
	if (end == start)
		return 0;
	while (nstart < end) {
		struct simmm_vma *vma = simmm__vma_lookup(mm, nstart);
		simmm_addr_t tmp;
		int err;

		if (!vma)
			return -ENOMEM;
		tmp = vma->vm_end < end ? vma->vm_end : end;
		err = mlock_fixup(mm, vma, nstart, tmp,
				  (vma->vm_flags & ~SIMMM_VM_LOCKED_MASK) | flags);
		if (err)
			return err;
		nstart = tmp;
	}
	return 0;
}

/* count_mm_mlocked_page_nr(): pages of [@start, @start + @len) already in
 * VM_LOCKED VMAs (for the limit check: they are charged already). */
static uint64_t count_mm_mlocked_page_nr(struct simmm_mm *mm, simmm_addr_t start, uint64_t len)
{
	simmm_addr_t end = UINT64_MAX - len < start ? UINT64_MAX : start + len;
	uint64_t count = 0;

	for (struct simmm_vma *v = simmm__find_vma(mm, start); v && v->vm_start < end;
	     v = simmm__vma_next(v)) {
		simmm_addr_t lo = v->vm_start < start ? start : v->vm_start;
		simmm_addr_t hi = v->vm_end > end ? end : v->vm_end;

		if (v->vm_flags & SIMMM_VM_LOCKED)
			count += hi - lo;
	}
	return pages_of(mm, count);
}

/* can_do_mlock(): a non-zero RLIMIT_MEMLOCK, or CAP_IPC_LOCK. */
bool simmm__can_do_mlock(const struct simmm_mm *mm)
{
	return mm->memlock_limit != 0 || mm->cap_ipc_lock;
}

static uint64_t limit_pages(const struct simmm_mm *mm)
{
	return pages_of(mm, mm->memlock_limit);
}

bool simmm__mlock_future_ok(const struct simmm_mm *mm, uint64_t vm_flags, uint64_t bytes)
{
	uint64_t locked = pages_of(mm, bytes) + mm->locked_vm;

	if (!(vm_flags & SIMMM_VM_LOCKED) || mm->cap_ipc_lock)
		return true;
	return locked >= mm->locked_vm && locked <= limit_pages(mm);
}

/* ---- populate ---------------------------------------------------------------------- */

/* populate_vma_page_range(): pages faulted in (>= 0, possibly fewer than
 * asked when a page fails), or the error of the first page. With @locked
 * (FOLL_UNLOCKABLE) a fault may drop the mmap lock: then it is released
 * on return, *@locked = 0, and @vma may be gone. */
static long populate_vma_range(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t start,
			       simmm_addr_t end, int *locked)
{
	uint64_t nr = pages_of(mm, end - start);
	unsigned flags = SIMMM__FOLL_POPULATE;

	/* "Rightly or wrongly, the VM_LOCKONFAULT case has never used
	 * faultin_page() to break COW": nothing to do. */
	if (vma->vm_flags & SIMMM_VM_LOCKONFAULT)
		return (long)nr;
	/* ... and PROT_NONE pages were never faulted in either. */
	if (!(vma->vm_flags & (SIMMM_VM_READ | SIMMM_VM_WRITE | SIMMM_VM_EXEC)))
		return -EFAULT;
	/* Write-fault private writable mappings, breaking COW; read the rest,
	 * FOLL_FORCE for write- or exec-only ones. */
	if ((vma->vm_flags & (SIMMM_VM_WRITE | SIMMM_VM_SHARED)) == SIMMM_VM_WRITE)
		flags |= SIMMM_FOLL_WRITE;
	else
		flags |= SIMMM_FOLL_FORCE;
	return simmm__gup_locked(mm, start, nr, flags, NULL, locked);
}

/**
 * simmm__mm_populate() - __mm_populate(): fault in the VMAs of [@start,
 * @start + @len) VMA by VMA (VM_IO and VM_PFNMAP ones skipped), looking
 * each up again under the mmap lock (taken for read here; a VMA unmapped
 * since the caller dropped its write lock is simply not there). The faults
 * may drop the lock (populate_vma_page_range() with `locked`); it is taken
 * again for the next VMA. A failing VMA stops the walk with its error, or
 * with @ignore_errors the walk goes on at the next VMA (mm_populate():
 * mlockall(), mmap, mremap).
 * Context: may sleep; the caller holds no mmap lock.
 * Return: 0; the first error (-EFAULT, -ENOMEM, from GUP); the lock's.
 */
int simmm__mm_populate(struct simmm_mm *mm, simmm_addr_t start, uint64_t len,
		       bool ignore_errors)
{
	simmm_addr_t end = UINT64_MAX - len < start ? UINT64_MAX : start + len, nstart, nend;
	long ret = 0;
	int locked = 0;

	for (nstart = start; nstart < end; nstart = nend) {
		struct simmm_vma *vma;

		if (!locked) {
			int err = simmm_down_read(mm->sim, &mm->mmap_lock);

			if (err)
				return err;
			locked = 1;
		}
		vma = simmm__find_vma(mm, nstart);
		if (!vma || vma->vm_start >= end)
			break;
		nend = vma->vm_end < end ? vma->vm_end : end;
		if (vma->vm_flags & (SIMMM_VM_IO | SIMMM_VM_PFNMAP))
			continue;
		if (nstart < vma->vm_start)
			nstart = vma->vm_start;
		ret = populate_vma_range(mm, vma, nstart, nend, &locked);
		if (ret < 0) {
			if (ignore_errors) {
				ret = 0;
				continue; /* at the next VMA */
			}
			break;
		}
		/* Short of a failing page: the next round retries it alone. */
		nend = nstart + ((uint64_t)ret << simmm__page_shift(mm));
		ret = 0;
	}
	if (locked)
		simmm_up_read(mm->sim, &mm->mmap_lock);
	return (int)ret;
}

/* ---- the system calls --------------------------------------------------------------- */

/* __mlock_posix_error_return(): GUP's errors as POSIX mlock() reports them. */
static int mlock_posix_error(int err)
{
	if (err == -EFAULT)
		return -ENOMEM;
	if (err == -ENOMEM)
		return -EAGAIN;
	return err;
}

static bool mm_live(const struct simmm_mm *mm)
{
	return simmm__mm_ok(mm) && mm->mm_users > 0;
}

/* do_mlock(). */
static int do_mlock(struct simmm_mm *mm, simmm_addr_t start, uint64_t len, uint64_t flags)
{
	uint64_t ps, locked;
	int err;

	if (!mm_live(mm))
		return -EINVAL;
	if (!simmm__can_do_mlock(mm))
		return -EPERM;
	ps = mm->sim->page_size;
	len = (len + (start & (ps - 1)) + ps - 1) & ~(ps - 1); /* PAGE_ALIGN(), wrapping */
	start &= ~(ps - 1);
	locked = pages_of(mm, len);
	err = simmm_down_write(mm->sim, &mm->mmap_lock);
	if (err)
		return err;
	locked += mm->locked_vm;
	if (locked > limit_pages(mm) && !mm->cap_ipc_lock)
		/* What the range has locked already is charged already. */
		locked -= count_mm_mlocked_page_nr(mm, start, len);
	err = -ENOMEM;
	if (locked <= limit_pages(mm) || mm->cap_ipc_lock)
		err = apply_vma_lock_flags(mm, start, len, flags);
	simmm_up_write(mm->sim, &mm->mmap_lock);
	if (err)
		return err;
	err = simmm__mm_populate(mm, start, len, false);
	return err ? mlock_posix_error(err) : 0;
}

int simmm_mlock(struct simmm_mm *mm, simmm_addr_t start, uint64_t len)
{
	return do_mlock(mm, start, len, SIMMM_VM_LOCKED);
}

int simmm_mlock2(struct simmm_mm *mm, simmm_addr_t start, uint64_t len, unsigned flags)
{
	uint64_t vm_flags = SIMMM_VM_LOCKED;

	if (flags & ~SIMMM_MLOCK_ONFAULT)
		return -EINVAL;
	if (flags & SIMMM_MLOCK_ONFAULT)
		vm_flags |= SIMMM_VM_LOCKONFAULT;
	return do_mlock(mm, start, len, vm_flags);
}

int simmm_munlock(struct simmm_mm *mm, simmm_addr_t start, uint64_t len)
{
	uint64_t ps;
	int err;

	if (!mm_live(mm))
		return -EINVAL;
	ps = mm->sim->page_size;
	len = (len + (start & (ps - 1)) + ps - 1) & ~(ps - 1);
	start &= ~(ps - 1);
	err = simmm_down_write(mm->sim, &mm->mmap_lock);
	if (err)
		return err;
	err = apply_vma_lock_flags(mm, start, len, 0);
	simmm_up_write(mm->sim, &mm->mmap_lock);
	return err;
}

/*
 * apply_mlockall_flags(): def_flags from MCL_FUTURE (replaced, not added
 * to), then, unless only MCL_FUTURE was asked for, every VMA gets the
 * MCL_CURRENT locking or none (munlockall: @flags 0). mlock_fixup()'s
 * errors are ignored, as upstream (a whole VMA needs no split).
 */
static void apply_mlockall_flags(struct simmm_mm *mm, int flags)
{
	uint64_t to_add = 0;
	simmm_addr_t a = 0;

	mm->def_flags &= ~SIMMM_VM_LOCKED_MASK;
	if (flags & SIMMM_MCL_FUTURE) {
		mm->def_flags |= SIMMM_VM_LOCKED;
		if (flags & SIMMM_MCL_ONFAULT)
			mm->def_flags |= SIMMM_VM_LOCKONFAULT;
		if (!(flags & SIMMM_MCL_CURRENT))
			return;
	}
	if (flags & SIMMM_MCL_CURRENT) {
		to_add = SIMMM_VM_LOCKED;
		if (flags & SIMMM_MCL_ONFAULT)
			to_add |= SIMMM_VM_LOCKONFAULT;
	}
	/* Each VMA looked up again: a merge may have freed the last one. */
	for (struct simmm_vma *vma; (vma = simmm__find_vma(mm, a)) != NULL;) {
		a = vma->vm_end;
		(void)mlock_fixup(mm, vma, vma->vm_start, vma->vm_end,
				  (vma->vm_flags & ~SIMMM_VM_LOCKED_MASK) | to_add);
		if (!a)
			break; /* the VMA ended at the top of the address space */
	}
}

/* total_vm: every mapped page (upstream keeps it as a counter). */
static uint64_t total_vm(struct simmm_mm *mm)
{
	uint64_t n = 0;

	for (struct simmm_vma *v = simmm__find_vma(mm, 0); v; v = simmm__vma_next(v))
		n += simmm__vma_pages(v);
	return n;
}

int simmm_mlockall(struct simmm_mm *mm, int flags)
{
	const int all = SIMMM_MCL_CURRENT | SIMMM_MCL_FUTURE | SIMMM_MCL_ONFAULT;
	int err;

	if (!mm_live(mm) || !flags || (flags & ~all) || flags == SIMMM_MCL_ONFAULT)
		return -EINVAL;
	if (!simmm__can_do_mlock(mm))
		return -EPERM;
	err = simmm_down_write(mm->sim, &mm->mmap_lock);
	if (err)
		return err;
	err = -ENOMEM;
	if (!(flags & SIMMM_MCL_CURRENT) || total_vm(mm) <= limit_pages(mm) || mm->cap_ipc_lock) {
		apply_mlockall_flags(mm, flags);
		err = 0;
	}
	simmm_up_write(mm->sim, &mm->mmap_lock);
	if (!err && (flags & SIMMM_MCL_CURRENT))
		(void)simmm__mm_populate(mm, 0, mm->sim->geo.user_va_end, true);
	return err;
}

int simmm_munlockall(struct simmm_mm *mm)
{
	int err;

	if (!mm_live(mm))
		return -EINVAL;
	err = simmm_down_write(mm->sim, &mm->mmap_lock);
	if (err)
		return err;
	apply_mlockall_flags(mm, 0);
	simmm_up_write(mm->sim, &mm->mmap_lock);
	return 0;
}

int simmm_mm_set_memlock_limit(struct simmm_mm *mm, uint64_t bytes)
{
	if (!simmm__mm_ok(mm))
		return -EINVAL;
	mm->memlock_limit = bytes;
	return 0;
}

int simmm_mm_set_cap_ipc_lock(struct simmm_mm *mm, bool on)
{
	if (!simmm__mm_ok(mm))
		return -EINVAL;
	mm->cap_ipc_lock = on;
	return 0;
}

int simmm_mm_set_cap_sys_admin(struct simmm_mm *mm, bool on)
{
	if (!simmm__mm_ok(mm))
		return -EINVAL;
	mm->cap_sys_admin = on;
	return 0;
}

int simmm_mm_set_cap_sys_nice(struct simmm_mm *mm, bool on)
{
	if (!simmm__mm_ok(mm))
		return -EINVAL;
	mm->cap_sys_nice = on;
	return 0;
}
