// SPDX-License-Identifier: MIT
/*
 * The page-table walks of MADV_FREE, MADV_COLD and MADV_PAGEOUT (and
 * MADV_WILLNEED's read-ahead, and MADV_GUARD_INSTALL / MADV_GUARD_REMOVE,
 * at the end)
 * (mm/madvise.c: madvise_free_pte_range(), madvise_cold_or_pageout_pte_range();
 * mm/huge_memory.c: madvise_free_huge_pmd()). simmm_madvise() (change.c)
 * validates each VMA and calls simmm__madvise_free() (inside its CLEAR
 * notifier bracket), simmm__madvise_cold() (no bracket: it only makes
 * entries old, which the kernel does without notifying secondary MMUs) or
 * simmm__madvise_pageout() (no bracket of its own: reclaim's
 * try_to_unmap() brackets each mapping it removes). COLD and PAGEOUT share
 * their callbacks, as the kernel shares madvise_cold_or_pageout_pte_range()
 * between them (struct madv_walk's @pageout).
 *
 * Each is one simmm_walk_range() whose callbacks do what the kernel does
 * under the PTL. What the kernel does after dropping the PTL (split a large
 * folio; reclaim_pages() on the isolated folios) sleeps and changes the
 * tables, which a walk callback must not: the callback records the step and
 * stops the walk (MADV_STOP), madv_walk() takes the step and walks on from
 * where the kernel re-reads the pte (the same address after a split, the
 * next one after a reclaim batch).
 *
 * What is not modelled: THP swap-out (a THP MADV_PAGEOUT covers is split
 * here, as shrink_folio_list() splits one add_to_swap() cannot take whole,
 * so that its pages are reclaimed one by one); PG_idle /
 * PG_young (idle page tracking), which COLD and PAGEOUT also clear;
 * can_do_file_pageout()'s permission check (simmm has no credentials: the
 * caller may page out any file folio it maps).
 */
#include <simmm/mmu_notifier.h>

#include "mm/mm.h"
#include "mm/mm_ext.h"

#define MADV_STOP 1          /* a callback's "stop, take the step, go on" */
#define PAGEOUT_BATCH 32     /* SWAP_CLUSTER_MAX: isolated folios per reclaim */
#define MADV_SAME_ADDR_MAX 8 /* steps in a row at one address before moving on */

/**
 * struct madv_walk - the state of one MADV_FREE, MADV_COLD or MADV_PAGEOUT
 * walk.
 * @mm, @vma: what is advised; @end: the walked range's end.
 * @pageout: MADV_PAGEOUT rather than MADV_COLD (their shared callbacks).
 * @bfolio, @bend, @bact: the large folio the ptes up to @bend map
 *   (folio_pte_batch()), and whether the walk acts on them (MADV_FREE
 *   cleans them, MADV_COLD makes them old), else the batch is skipped.
 *   Reset whenever the walk restarts.
 * @resume: where the walk goes on after a stop.
 * @split: a large folio to split outside the walk, with a reference (and,
 *   unless @split_lock, the folio lock) taken by the callback.
 * @split_lock: lock it first, waiting (folio_lock()), rather than trylocked.
 * @split_fail: where the walk goes on if the split fails (past the folio).
 * @batch, @nr: folios isolated for reclaim (MADV_PAGEOUT).
 */
struct madv_walk {
	struct simmm_mm *mm;
	struct simmm_vma *vma;
	simmm_addr_t end;
	bool pageout;
	struct simmm_page *bfolio;
	simmm_addr_t bend;
	bool bact;
	simmm_addr_t resume;
	struct simmm_page *split;
	bool split_lock;
	simmm_addr_t split_fail;
	struct simmm_page *batch[PAGEOUT_BATCH];
	unsigned nr;
};

/* ---- shared steps -------------------------------------------------------------------- */

/* folio_pte_batch(): the ptes from @slot (at @addr) on, up to the walked
 * range's end and the end of the pte table, that map consecutive pages of
 * @folio from the page @slot maps. Young and dirty bits do not matter. */
static uint64_t pte_batch(struct madv_walk *m, simmm_entry_t *slot, simmm_addr_t addr,
			  struct simmm_page *folio)
{
	simmm_sim *sim = m->mm->sim;
	const struct simmm_level_desc *pte = &sim->geo.level[SIMMM_LVL_PTE];
	uint64_t span = 1ULL << (pte->shift + pte->bits); /* one pte table's reach */
	simmm_addr_t lim = (addr & ~(span - 1)) + span;
	simmm_pfn_t pfn = simmm_pte_pfn(*slot), fend = folio->pfn + (1ULL << folio->order);
	uint64_t n = 1;

	if (lim > m->end)
		lim = m->end;
	for (simmm_addr_t a = addr + sim->page_size; a < lim && pfn + n < fend;
	     a += sim->page_size, n++) {
		simmm_entry_t e = slot[n];

		if (!simmm_pte_present(e) || simmm_pte_special(e) || simmm_pte_pfn(e) != pfn + n)
			break;
	}
	return n;
}

/* The present, normal PMD leaf @e maps a large folio: *@out. Tables (to
 * descend into), the huge zero PMD and non-present PMDs (migration, device
 * THP entries) give false. */
static bool pmd_leaf_folio(struct madv_walk *m, struct simmm_walk *walk, simmm_entry_t e,
			   struct simmm_page **out)
{
	struct simmm_page *page;

	if (!simmm_entry_is_leaf(e, walk->level) || !simmm_pte_present(e))
		return false;
	page = simmm__vm_normal_page(m->vma, e);
	if (!page || simmm__is_zone_device_page(page))
		return false;
	*out = simmm__compound_head(m->mm->sim, page);
	return (*out)->order != 0;
}

/* Stop the walk to split @folio (which the caller trylocked unless @lock):
 * the walk goes on at @addr if the split works, else at @fail. */
static int stop_split(struct madv_walk *m, struct simmm_page *folio, simmm_addr_t addr,
		      simmm_addr_t fail, bool lock)
{
	simmm__folio_get(m->mm->sim, folio); /* pairs with madv_split()'s put */
	m->split = folio;
	m->split_lock = lock;
	m->resume = addr;
	m->split_fail = fail;
	return MADV_STOP;
}

/* The kernel's split_folio() after pte_unmap_unlock(), under the folio
 * lock; a failed split leaves the folio as it was and the walk skips it. */
static void madv_split(struct madv_walk *m)
{
	simmm_sim *sim = m->mm->sim;
	struct simmm_page *folio = m->split;
	int err = m->split_lock ? simmm__folio_lock(sim, folio) : 0;

	m->split = NULL;
	if (err) {
		simmm__put_user_folio(sim, folio);
	} else {
		err = simmm__split_folio(sim, folio);
		simmm__folio_unlock_put(sim, folio); /* the head keeps lock and reference */
	}
	if (err)
		m->resume = m->split_fail;
}

/* reclaim_pages() on what the walk isolated. */
static void madv_flush(struct madv_walk *m)
{
	if (!m->nr)
		return;
	simmm__reclaim_folios(m->mm->sim, m->batch, m->nr);
	m->nr = 0;
}

/* Walk [@s, @e) with @ops, taking each step a callback stopped for. Every
 * stop moves on, or splits a large folio at the address (after which its
 * pages are small); a run of stops at one address is cut short anyway. */
static int madv_walk(struct madv_walk *m, simmm_addr_t s, simmm_addr_t e,
		     const struct simmm_walk_ops *ops)
{
	unsigned same = 0;
	int err = 0;

	m->end = e;
	while (s < e) {
		m->bfolio = NULL;
		m->bend = 0;
		err = simmm_walk_range(m->mm->pgt, s, e, ops, m);
		if (m->split)
			madv_split(m);
		madv_flush(m);
		if (err != MADV_STOP)
			break;
		err = 0;
		if (m->resume > s)
			same = 0;
		else if (++same >= MADV_SAME_ADDR_MAX)
			m->resume = s + m->mm->sim->page_size;
		s = m->resume;
	}
	return err < 0 ? err : 0;
}

/* ---- MADV_FREE ----------------------------------------------------------------------- */

/*
 * folio_mark_lazyfree(): an anonymous, swap-backed folio outside the swap
 * cache, evictable and on the LRU (lru_lazyfree() moves only LRU folios),
 * stops being swap-backed: reclaim may discard it while it stays clean.
 * lru_lazyfree() also clears PG_active and PG_referenced and moves it to
 * the tail of the inactive file list (simmm__lru_move(): PG_swapbacked
 * picks the type).
 */
static void mark_lazyfree(simmm_sim *sim, struct simmm_page *folio)
{
	const uint32_t mask = PG_anon | PG_swapbacked | PG_swapcache | PG_unevictable | PG_lru;

	if ((folio->flags & mask) != (PG_anon | PG_swapbacked | PG_lru))
		return;
	simmm__lru_move(sim, folio, PG_swapbacked | PG_active | PG_referenced, 0);
}

/* madvise_free_pte_range()'s swap-cache or dirty folio: trylocked (under
 * the PTL: no scheduling point), it must be mapped by this mapping alone
 * (mapcount == pages: a fully mapped large folio is then exclusive), and a
 * swap-cache folio must leave the swap cache (folio_free_swap() fails while
 * a swap entry, another mm's, still needs its slot); then it is clean. A
 * clean folio outside the swap cache needs none of it, shared or not: its
 * other mappings keep their dirty bits, which reclaim checks.
 * Return: false to leave the folio as it is. */
static bool free_prepare(simmm_sim *sim, struct simmm_page *folio)
{
	bool ok;

	if (!(folio->flags & (PG_swapcache | PG_dirty)))
		return true;
	if (!simmm__folio_trylock_atomic(sim, folio))
		return false;
	ok = simmm__folio_mapcount(sim, folio) == (1 << folio->order) &&
	     (!(folio->flags & PG_swapcache) || simmm__folio_free_swap(sim, folio));
	if (ok)
		folio->flags &= ~PG_dirty;
	simmm__bit_unlock_nosched(sim, &folio->flags, PG_locked, folio->pfn);
	return ok;
}

/* clear_young_dirty_ptes(CYDP_CLEAR_YOUNG | CYDP_CLEAR_DIRTY). */
static int free_clean_pte(struct simmm_walk *walk, simmm_entry_t *slot, simmm_entry_t e)
{
	if (!simmm_pte_young(e) && !simmm_pte_dirty(e))
		return 0;
	return simmm_walk_update(walk, slot, simmm_pte_mkold(simmm_pte_mkclean(e)));
}

/* Swap entries are freed (cheaper than a swap-in: the next touch maps a
 * zero-filled page), hwpoison entries and poison markers cleared; other
 * non-present entries (migration, device, guard and uffd-wp markers) stay. */
static int free_nonpresent(struct madv_walk *m, struct simmm_walk *walk, simmm_entry_t *slot,
			   simmm_entry_t e)
{
	int err;

	if (simmm_is_real_swap_entry(e)) {
		err = simmm_walk_update(walk, slot, 0);
		if (err)
			return err;
		simmm__free_swap_and_cache(m->mm->sim, e);
		m->mm->stats.swap_ents--;
		return 0;
	}
	if (simmm_is_hwpoison_entry(e) || (simmm_pte_marker_get(e) & SIMMM_PTE_MARKER_POISONED))
		return simmm_walk_update(walk, slot, 0); /* they hold nothing */
	return 0;
}

/* The first pte of a large folio met: a folio the range covers whole is
 * made lazyfree with all its ptes; a part of one is split first (unless
 * another mm may map it, or its lock is busy), then its small pages are. */
static int free_large(struct madv_walk *m, struct simmm_walk *walk, simmm_entry_t *slot,
		      simmm_addr_t addr, struct simmm_page *folio)
{
	simmm_sim *sim = m->mm->sim;
	uint64_t nr = pte_batch(m, slot, addr, folio);

	m->bfolio = folio;
	m->bend = addr + nr * sim->page_size;
	m->bact = false;
	if (nr < (1ULL << folio->order)) {
		if (simmm__folio_maybe_mapped_shared(sim, folio) ||
		    !simmm__folio_trylock_atomic(sim, folio))
			return 0;
		return stop_split(m, folio, addr, m->bend, false);
	}
	if (!free_prepare(sim, folio))
		return 0;
	m->bact = true;
	mark_lazyfree(sim, folio);
	return free_clean_pte(walk, slot, *slot);
}

static int free_pte(simmm_entry_t *slot, simmm_addr_t addr, simmm_addr_t next,
		    struct simmm_walk *walk)
{
	struct madv_walk *m = walk->private;
	simmm_sim *sim = m->mm->sim;
	simmm_entry_t e = *slot;
	struct simmm_page *page, *folio;

	(void)next;
	if (!simmm_pte_present(e))
		return free_nonpresent(m, walk, slot, e);
	page = simmm__vm_normal_page(m->vma, e);
	if (!page || simmm__is_zone_device_page(page))
		return 0;
	folio = simmm__compound_head(sim, page);
	if (folio->order) {
		if (folio == m->bfolio && addr < m->bend) /* the rest of a batch */
			return m->bact ? free_clean_pte(walk, slot, e) : 0;
		return free_large(m, walk, slot, addr, folio);
	}
	if (!free_prepare(sim, folio))
		return 0;
	mark_lazyfree(sim, folio);
	return free_clean_pte(walk, slot, e);
}

/* madvise_free_huge_pmd(): a THP this mm alone maps is made lazyfree at
 * PMD level (PMD old and clean, the folio clean) when the range covers the
 * PMD; a part of it has the folio split (split_folio(), which splits every
 * PMD mapping it), then the walk goes through the new pte table. A THP that
 * may be shared, or whose lock is busy, is left alone. */
static int free_pmd(simmm_entry_t *slot, simmm_addr_t addr, simmm_addr_t next,
		    struct simmm_walk *walk)
{
	struct madv_walk *m = walk->private;
	simmm_sim *sim = m->mm->sim;
	simmm_entry_t e = *slot;
	struct simmm_page *folio;

	if (!pmd_leaf_folio(m, walk, e, &folio))
		return 0;
	if (simmm__folio_maybe_mapped_shared(sim, folio) || !simmm__folio_trylock_atomic(sim, folio))
		return 0;
	if (next - addr != simmm_level_size(m->mm->pgt, walk->level))
		return stop_split(m, folio, addr, next, false);
	folio->flags &= ~PG_dirty;
	simmm__bit_unlock_nosched(sim, &folio->flags, PG_locked, folio->pfn);
	mark_lazyfree(sim, folio);
	if (!simmm_pte_young(e) && !simmm_pte_dirty(e))
		return 0;
	return simmm_walk_update(walk, slot, simmm_pte_mkold(simmm_pte_mkclean(e)));
}

static const struct simmm_walk_ops free_ops = {
	.pmd_entry = free_pmd,
	.pte_entry = free_pte,
	.pte_skip_none = true,
};

/**
 * simmm__madvise_free() - madvise_free_single_vma()'s walk over [@s, @e) of
 * the anonymous @vma: swap entries freed; clean (or cleanable) anonymous
 * folios made lazyfree (not swap-backed) with old, clean entries, for
 * reclaim to discard unless written again (see the helpers above).
 * Context: mmap lock held for read, inside the caller's MMU_NOTIFY_CLEAR
 * bracket over the range; may sleep (splits).
 * Return: 0, or a walk error.
 */
int simmm__madvise_free(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t s,
			simmm_addr_t e)
{
	struct madv_walk m = {.mm = mm, .vma = vma};

	return madv_walk(&m, s, e, &free_ops);
}

/* ---- MADV_COLD and MADV_PAGEOUT ------------------------------------------------------ */

/* MADV_COLD's clear_young_dirty_ptes(CYDP_CLEAR_YOUNG) on one entry: a
 * plain pte update, no notifier (secondary MMUs keep their young state). */
static int cold_mkold(struct simmm_walk *walk, simmm_entry_t *slot, simmm_entry_t e)
{
	if (!simmm_pte_young(e))
		return 0;
	return simmm_walk_update(walk, slot, simmm_pte_mkold(e));
}

/* MADV_COLD on a folio only this mm maps (whole, when large): it loses
 * PG_referenced and, when active, goes to the inactive list
 * (folio_deactivate()); the caller makes its entries old. */
static void cold_folio(simmm_sim *sim, struct simmm_page *folio)
{
	folio->flags &= ~PG_referenced;
	simmm__folio_deactivate(sim, folio);
}

/* A THP mapped by a PMD: one no other mm may map is split when the range
 * covers part of it (then the walk goes on through the new pte table; a
 * busy lock or a failed split skips the PMD), as both advices do. The
 * whole of it: MADV_COLD makes the PMD old and deactivates the folio;
 * MADV_PAGEOUT splits it, under folio_lock() for a part of it, under the
 * trylock shrink_folio_list() would take for the whole (simmm swaps no THP
 * out whole), then isolates its pages from the new pte table. */
static int cold_pageout_pmd(simmm_entry_t *slot, simmm_addr_t addr, simmm_addr_t next,
			    struct simmm_walk *walk)
{
	struct madv_walk *m = walk->private;
	simmm_sim *sim = m->mm->sim;
	struct simmm_page *folio;

	if (!pmd_leaf_folio(m, walk, *slot, &folio))
		return 0;
	if (simmm__folio_maybe_mapped_shared(sim, folio))
		return 0;
	if (m->pageout && !(folio->flags & PG_anon))
		return 0; /* simmm has no file THPs to page out */
	if (next - addr != simmm_level_size(m->mm->pgt, walk->level)) {
		if (m->pageout)
			return stop_split(m, folio, addr, next, true);
		if (!simmm__folio_trylock_atomic(sim, folio))
			return 0;
		return stop_split(m, folio, addr, next, false);
	}
	if (!m->pageout) {
		cold_folio(sim, folio);
		return cold_mkold(walk, slot, *slot);
	}
	if (!(folio->flags & PG_lru) || !simmm__folio_trylock_atomic(sim, folio))
		return 0; /* folio_isolate_lru() / shrink_folio_list()'s trylock */
	return stop_split(m, folio, addr, next, false);
}

/* A pte-mapped large folio: a part of it is split (unless another mm may
 * map it, or its lock is busy). One the range covers whole and only this
 * mapping maps: MADV_COLD makes all its ptes old and deactivates it;
 * MADV_PAGEOUT splits it, as reclaim would (see cold_pageout_pmd()).
 * Else its batch is skipped. */
static int cold_pageout_large(struct madv_walk *m, struct simmm_walk *walk, simmm_entry_t *slot,
			      simmm_addr_t addr, struct simmm_page *folio)
{
	simmm_sim *sim = m->mm->sim;
	uint64_t nr = pte_batch(m, slot, addr, folio), pages = 1ULL << folio->order;

	m->bfolio = folio;
	m->bend = addr + nr * sim->page_size;
	m->bact = false;
	if (nr < pages) {
		if (simmm__folio_maybe_mapped_shared(sim, folio))
			return 0;
	} else if (!(folio->flags & PG_lru) || simmm__folio_mapcount(sim, folio) != (int)pages) {
		return 0;
	} else if (!m->pageout) {
		m->bact = true;
		cold_folio(sim, folio);
		return cold_mkold(walk, slot, *slot);
	}
	if ((m->pageout && !(folio->flags & PG_anon)) || !simmm__folio_trylock_atomic(sim, folio))
		return 0;
	return stop_split(m, folio, addr, m->bend, false);
}

/* madvise_cold_or_pageout_pte_range(): a small folio on the LRU that only
 * this mapping maps loses PG_referenced; MADV_COLD makes its pte old and
 * deactivates it, MADV_PAGEOUT isolates it for reclaim (the young bit
 * stays: reclaim_pages() ignores references). An unevictable one goes
 * straight back. */
static int cold_pageout_pte(simmm_entry_t *slot, simmm_addr_t addr, simmm_addr_t next,
			    struct simmm_walk *walk)
{
	struct madv_walk *m = walk->private;
	simmm_sim *sim = m->mm->sim;
	simmm_entry_t e = *slot;
	struct simmm_page *page, *folio;

	if (!simmm_pte_present(e))
		return 0;
	page = simmm__vm_normal_page(m->vma, e);
	if (!page || simmm__is_zone_device_page(page))
		return 0;
	folio = simmm__compound_head(sim, page);
	if (folio->order) {
		if (folio == m->bfolio && addr < m->bend) /* the rest of a batch */
			return m->bact ? cold_mkold(walk, slot, e) : 0;
		return cold_pageout_large(m, walk, slot, addr, folio);
	}
	if (!(folio->flags & PG_lru) || folio->mapcount != 1)
		return 0;
	if (!m->pageout) {
		cold_folio(sim, folio);
		return cold_mkold(walk, slot, e);
	}
	folio->flags &= ~PG_referenced;
	if (!simmm__folio_isolate_lru(sim, folio))
		return 0;
	if (folio->flags & PG_unevictable) {
		simmm__folio_putback_lru(sim, folio);
		return 0;
	}
	m->batch[m->nr++] = folio;
	if (m->nr < PAGEOUT_BATCH)
		return 0;
	m->resume = next; /* reclaim this batch, then go on */
	return MADV_STOP;
}

static const struct simmm_walk_ops cold_pageout_ops = {
	.pmd_entry = cold_pageout_pmd,
	.pte_entry = cold_pageout_pte,
	.pte_skip_none = true,
};

/**
 * simmm__madvise_cold() - madvise_cold_page_range(): the folios of [@s, @e)
 * of @vma that no other mapping shares (folio_maybe_mapped_shared() false,
 * and every page mapped once, by this mapping) lose PG_referenced and the
 * young bits of this mapping's entries, and go to the inactive list if
 * they were active (folio_deactivate()), so that reclaim takes them
 * before others. A THP covered whole is handled at PMD level; a large
 * folio covered in part is split first (skipped if its lock is busy or
 * the split fails). Contents and protections do not change.
 * Context: mmap lock held for read; may sleep (splits).
 * Return: 0, or a walk error.
 */
int simmm__madvise_cold(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t s,
			simmm_addr_t e)
{
	struct madv_walk m = {.mm = mm, .vma = vma};

	return madv_walk(&m, s, e, &cold_pageout_ops);
}

/**
 * simmm__madvise_pageout() - madvise_pageout_page_range(): isolate the
 * folios of [@s, @e) of @vma that no other mapping shares and reclaim them
 * now (simmm__reclaim_folios(), references ignored): anonymous ones go to
 * swap, clean file ones leave the page cache, lazyfree clean ones are
 * discarded; dirty file, pinned and extra-referenced folios stay. Large
 * folios are split first (see cold_pageout_pmd()).
 * Context: mmap lock held for read; may sleep. No notifier bracket of its
 * own: try_to_unmap() brackets each mapping it removes.
 * Return: 0, or a walk error.
 */
int simmm__madvise_pageout(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t s,
			   simmm_addr_t e)
{
	struct madv_walk m = {.mm = mm, .vma = vma, .pageout = true};

	return madv_walk(&m, s, e, &cold_pageout_ops);
}

/* ---- MADV_WILLNEED ------------------------------------------------------------------- */

/**
 * simmm__madvise_willneed() - madvise_willneed(): read in what [@s, @e) of
 * @vma will need, mapping nothing. Anonymous memory: each pte holding a
 * swap-device entry has its slot read into the swap cache (swapin_walk_ops,
 * read_swap_cache_async()), so that the fault that follows is a minor one;
 * migration, device and marker entries are left alone. A regular file:
 * its pages up to EOF enter the page cache (vfs_fadvise(POSIX_FADV_WILLNEED),
 * clean). Nothing for tmpfs (shmem_swapin_range(): simmm's tmpfs has no
 * swap), hugetlb (hugetlbfs ignores the advice) and driver mappings.
 * Each page is looked up again after the previous read, which may have
 * slept and reclaimed; a read that fails for memory ends the advice
 * quietly, as read-ahead does.
 * Context: mmap lock held for read; may sleep.
 * Return: 0.
 */
int simmm__madvise_willneed(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t s,
			    simmm_addr_t e)
{
	simmm_sim *sim = mm->sim;
	unsigned shift = sim->geo.page_shift;
	struct simmm_file *file = vma->file;
	struct simmm_page *folio;
	bool major;
	int err = 0;

	if (vma->vm_flags & (SIMMM_VM_SPECIAL | SIMMM_VM_HUGETLB))
		return 0;
	if (!file) {
		for (simmm_addr_t a = s; a < e; a += sim->page_size) {
			struct simmm_translation t;
			simmm_entry_t swp;

			if (simmm_pgtable_translate(mm->pgt, a, &t) || t.level != SIMMM_LVL_PTE ||
			    !simmm_is_real_swap_entry(t.entry))
				continue;
			/* Hold the slot across the read, which may sleep and
			 * let a zap free it (read_swap_cache_async()'s
			 * swapcache_prepare() holds it upstream). */
			swp = simmm_pte_to_swp_entry(t.entry);
			simmm__swap_dup(sim, swp);
			folio = simmm__swap_in(sim, swp, &err);
			simmm__free_swap_and_cache(sim, swp);
			if (!folio) {
				if (err == -ENOMEM)
					break;
				continue;
			}
			simmm__folio_put(sim, folio);
		}
		return 0;
	}
	if (file->flags & SIMMM_FILE_SHMEM)
		return 0;
	for (uint64_t i = simmm__linear_page_index(vma, s, shift),
		      n = simmm__linear_page_index(vma, e, shift); i < n; i++) {
		/* Read-ahead stops at EOF. */
		if (i >= (file->size + sim->page_size - 1) >> shift)
			break;
		folio = simmm__filemap_get(file, i, &err, &major);
		if (!folio)
			break;
		simmm__folio_put(sim, folio);
	}
	return 0;
}

/* ---- MADV_GUARD_INSTALL / MADV_GUARD_REMOVE ------------------------------------------ */

/*
 * Guard regions (Linux 6.13+, modelled as 6.15 to 6.18: file-backed and
 * read-only mappings allowed, anon_vma_prepare() for every VMA, no
 * VM_MAYBE_GUARD, which 6.19 brings). A guard marker is a PTE marker
 * (PTE_MARKER_GUARD): any access faults with SIGSEGV (handle_pte_marker()),
 * GUP fails with -EFAULT, a zap leaves it unless it drops markers (munmap,
 * exit), fork copies it (copy_pte_marker()), mremap moves it, mprotect and
 * MADV_FREE leave it. Holding nothing, it needs no notifier of its own:
 * only the zap of what was mapped in the range invalidates.
 */

#define GUARD_RETRIES 3 /* MAX_MADVISE_GUARD_RETRIES */

/* is_valid_guard_vma(): not VM_SPECIAL or hugetlb; not VM_LOCKED unless
 * @allow_locked (removing markers destroys nothing; installing zaps). */
static bool guard_vma_ok(const struct simmm_vma *vma, bool allow_locked)
{
	uint64_t bad = SIMMM_VM_SPECIAL | SIMMM_VM_HUGETLB | (allow_locked ? 0 : SIMMM_VM_LOCKED);

	return !(vma->vm_flags & bad);
}

/* One pass of guard_install_walk_ops over [@s, @e): a marker into every
 * none pte (install_pte, allocating the tables on the way as
 * walk_pmd_range() does for an installing walk); an existing guard marker
 * stays. Anything else ends the pass with 1, for a zap: a PMD or PUD leaf
 * (pmd_trans_huge(): a THP, the huge zero PMD) or a pte that is not none
 * (present, swap, migration, device, another marker). A swap-format PMD (a
 * PMD migration entry, a device THP's) is split first, as walk_pmd_range()
 * splits it (split_huge_pmd()) for the pte callback, which then meets its
 * non-none ptes. Return: 0 done, 1 zap needed, or -ENOMEM (the markers
 * placed so far stay), the split's error. */
static int guard_install_pass(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t s,
			      simmm_addr_t e)
{
	for (simmm_addr_t a = s; a < e; a += mm->sim->page_size) {
		struct simmm_translation t;
		simmm_entry_t *slot;
		int err = simmm_pgtable_alloc_level(mm->pgt, a, SIMMM_LVL_PTE, &slot);

		if (err == -EEXIST) {
			err = 0;
			if (!simmm_pgtable_translate(mm->pgt, a, &t) && !t.present &&
			    t.level == SIMMM_LVL_PMD)
				err = simmm__split_huge_pmd(mm, vma, a);
			return err ? err : 1;
		}
		if (err)
			return err;
		if (simmm_is_guard_swp_entry(*slot))
			continue;
		if (!simmm_entry_none(*slot))
			return 1;
		err = simmm_pgtable_set(mm->pgt, a, SIMMM_LVL_PTE, simmm_make_guard_swp_entry());
		if (err)
			return err;
	}
	return 0;
}

/**
 * simmm__madvise_guard_install() - madvise_guard_install() on [@s, @e) of
 * @vma: refuses VM_SPECIAL, hugetlb and VM_LOCKED VMAs, prepares the
 * anon_vma (so that fork copies the page tables, vma_needs_copy(), file
 * VMAs included), then installs guard markers: a pass over the range puts
 * one into every none pte; when it meets anything else (a page, a THP, a
 * swap or migration entry...) the range is zapped, guard markers kept
 * (zap_page_range_single(): a CLEAR invalidation over the range), and the
 * pass runs again, up to three times (a fault of another task may
 * repopulate the range in between, whenever the zap's notifiers sleep).
 * Existing markers are left as they are (installing twice is a no-op).
 * Context: mmap lock held for read; may sleep (notifiers, splits).
 * Return: 0; -EINVAL for a refused VMA; -ENOMEM (anon_vma or page-table
 * allocation: the markers placed stay); SIMMM__ERESTARTNOINTR when three
 * passes met populated entries (restart_syscall(): the caller drops the
 * mmap lock and starts the system call again).
 */
int simmm__madvise_guard_install(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t s,
				 simmm_addr_t e)
{
	int err;

	if (!guard_vma_ok(vma, false))
		return -EINVAL;
	err = simmm__anon_vma_prepare(mm, vma);
	if (err)
		return err;
	for (unsigned i = 0; i < GUARD_RETRIES; i++) {
		struct simmm_change c;

		err = guard_install_pass(mm, vma, s, e);
		if (err <= 0)
			return err;
		err = simmm__change_begin(&c, mm, s, e, SIMMM_MMU_NOTIFY_CLEAR, NULL);
		if (!err)
			err = simmm__zap_range_single(mm, vma, s, e);
		simmm__change_end(&c);
		if (err)
			return err;
	}
	return SIMMM__ERESTARTNOINTR;
}

/* guard_remove_pte_entry(): a guard marker is cleared, nothing else. */
static int guard_remove_pte(simmm_entry_t *slot, simmm_addr_t addr, simmm_addr_t next,
			    struct simmm_walk *walk)
{
	(void)addr, (void)next;
	if (!simmm_is_guard_swp_entry(*slot))
		return 0;
	return simmm_walk_update(walk, slot, 0);
}

/* guard_remove_pmd_entry() / _pud_entry(): a present leaf (pmd_trans_huge())
 * holds no marker and is skipped; a swap-format PMD (a migration entry, a
 * device THP's) is split by walk_pmd_range() (split_huge_pmd() of a swap
 * PMD) before its ptes are looked at. */
static int guard_remove_huge(simmm_entry_t *slot, simmm_addr_t addr, simmm_addr_t next,
			     struct simmm_walk *walk)
{
	struct madv_walk *m = walk->private;
	simmm_entry_t e = *slot;
	int err;

	(void)next;
	if (simmm_entry_none(e) || simmm_entry_is_table(e, walk->level))
		return 0;
	walk->action = SIMMM_WALK_CONTINUE;
	if (simmm_pte_present(e) || walk->level != SIMMM_LVL_PMD)
		return 0;
	err = simmm__split_huge_pmd(m->mm, m->vma, addr);
	if (!err)
		walk->action = SIMMM_WALK_AGAIN;
	return err;
}

static const struct simmm_walk_ops guard_remove_ops = {
	.pud_entry = guard_remove_huge,
	.pmd_entry = guard_remove_huge,
	.pte_entry = guard_remove_pte,
	.pte_skip_none = true,
};

/**
 * simmm__madvise_guard_remove() - madvise_guard_remove() on [@s, @e) of
 * @vma: every guard marker of the range is cleared, nothing else changes
 * and nothing is faulted in (the next access faults the page as if it had
 * never been mapped). VM_LOCKED VMAs are allowed (nothing is destroyed);
 * VM_SPECIAL and hugetlb ones are refused. No notifier: markers map nothing.
 * Context: mmap lock held for read; may sleep (a swap PMD's split).
 * Return: 0; -EINVAL for a refused VMA; a split's error.
 */
int simmm__madvise_guard_remove(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t s,
				simmm_addr_t e)
{
	struct madv_walk m = {.mm = mm, .vma = vma, .end = e};

	if (!guard_vma_ok(vma, true))
		return -EINVAL;
	return simmm_walk_range(mm->pgt, s, e, &guard_remove_ops, &m);
}

/* ---- MADV_REMOVE ------------------------------------------------------------------------ */

/*
 * madvise_remove() (Linux 6.12 to 6.17): free the file range a shared
 * writable mapping maps, as fallocate(FALLOC_FL_PUNCH_HOLE |
 * FALLOC_FL_KEEP_SIZE) of it would (truncate.c). -EINVAL for a VM_LOCKED
 * VMA or one without a file (private anonymous memory; simmm's driver
 * mappings), -EACCES unless the VMA is shared and may be made writable
 * (vma_is_shared_maywrite()). The mmap lock is dropped around the punch,
 * the file pinned (get_file()): the filesystem takes i_rwsem, which ranks
 * above the mmap lock. A shared hugetlb mapping's file is punched as
 * hugetlbfs_punch_hole() does (whole huge pages removed, partial ones
 * zeroed: truncate.c).
 */
int simmm__madvise_remove(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t s,
			  simmm_addr_t e)
{
	simmm_sim *sim = mm->sim;
	struct simmm_file *file = vma->file;
	unsigned order;
	uint64_t off;
	int err, lock_err;

	if (vma->vm_flags & SIMMM_VM_LOCKED)
		return -EINVAL;
	/* Upstream every hugetlb VMA has a hugetlbfs file, a private one
	 * too (which then fails the shared check below); simmm gives only
	 * shared ones a file. */
	if (!file && !(vma->vm_flags & SIMMM_VM_HUGETLB))
		return -EINVAL;
	if ((vma->vm_flags & (SIMMM_VM_SHARED | SIMMM_VM_MAYWRITE)) !=
	    (SIMMM_VM_SHARED | SIMMM_VM_MAYWRITE) || !file)
		return -EACCES;
	off = (s - vma->vm_start) + (vma->vm_pgoff << sim->geo.page_shift);
	order = vma->vm_flags & SIMMM_VM_HUGETLB ? vma->hugetlb_order : 0;
	simmm__file_get(file); /* pairs with the put below: the VMA may go */
	simmm_up_read(sim, &mm->mmap_lock);
	err = order ? simmm__hugetlb_punch_hole(file, off, e - s, order)
		    : simmm__file_punch_hole(file, off, e - s);
	simmm__file_put(file);
	lock_err = simmm_down_read(sim, &mm->mmap_lock);
	return err ? err : lock_err;
}
