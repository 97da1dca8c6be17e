// SPDX-License-Identifier: MIT
/*
 * memory_failure(): what the kernel does with a frame reported corrupted
 * (mm/memory-failure.c, modelled on Linux 6.12-6.16), and MADV_HWPOISON,
 * its software injection (madvise_inject_error()).
 *
 * The steps, as memory_failure() takes them, under one machine-wide mutex
 * (mf_mutex):
 *  1. A frame outside RAM: a ZONE_DEVICE frame goes to its pagemap's
 *     ->memory_failure() (memory_failure_dev_pagemap()); without one, or
 *     when it returns -EOPNOTSUPP, mf_generic_kill_procs() gives up on
 *     device-private and (non-DAX) coherent memory with -EBUSY. Anything
 *     else is -ENXIO ("memory outside kernel control").
 *  2. TestSetPageHWPoison(): a frame poisoned already gives -EHWPOISON; an
 *     MF_ACTION_REQUIRED caller (the CPU consumed the poison) first has
 *     its own mappings of it looked for (kill_accessing_process()): a
 *     mapping found means SIGBUS (BUS_MCEERR_AR) and -EHWPOISON, none 0.
 *  3. get_hwpoison_page(): a free frame is taken off the buddy
 *     (take_page_off_buddy(), recovered); a frame that is neither on the
 *     LRU nor in the swap cache (a page table, the zero page, a folio
 *     isolated by reclaim or migration) is not handled (-EBUSY, ignored);
 *     else the folio gets our reference.
 *  4. A THP is split first (try_to_split_thp_page()); when it cannot be
 *     split the current process is told at once (kill_procs_now()) and the
 *     result is -EHWPOISON. hugetlb folios are not modelled: -EBUSY.
 *  5. folio_lock() (a scheduling point; our reference keeps the folio),
 *     then hwpoison_user_mappings(): every mapping goes (try_to_unmap()
 *     with TTU_IGNORE_MLOCK | TTU_HWPOISON), the poisoned page's ptes
 *     become hwpoison entries, so that a later access faults with
 *     VM_FAULT_HWPOISON (SIGBUS) and hmm_range_fault() and GUP fail.
 *     Exceptions: a swap-cache folio is unmapped to swap entries (the
 *     poisoned folio stays in the swap cache and do_swap_page() refuses
 *     it), and a clean page-cache folio of a file that has writeback
 *     (not shmem) whose ptes are clean too (folio_mkclean()) is unmapped
 *     to none entries: the data is on the disk, the next fault reads it
 *     again. Processes are signalled only when the data is lost (the
 *     folio is dirty), MF_MUST_KILL says so or the unmap failed; without
 *     early-kill processes (simmm has no PR_MCE_KILL and early_kill is 0)
 *     only the current process of an MF_ACTION_REQUIRED failure is
 *     collected before the unmap: SIGBUS BUS_MCEERR_AR at the address,
 *     SIGKILL when the unmap failed. The signals are counted in the mm's
 *     stats (mce_sigbus_ar / mce_sigbus_ao / mce_sigkill).
 *  6. The page state (identify_page_state()): a dirty swap-cache folio
 *     stays in the swap cache, !uptodate (delayed); a clean one leaves it
 *     (its slot still holds the data: recovered); an anonymous folio is
 *     taken off the LRU (recovered); a page-cache folio is truncated out
 *     of a regular file (truncate_error_folio()), a dirty one after
 *     mapping_set_error(-EIO), which the next fsync reports, and stays in
 *     a shmem file's cache, where reads give -EIO and faults
 *     VM_FAULT_HWPOISON. References beyond ours (and the cache's, for
 *     shmem) make a page-cache or swap-cache folio's result "failed".
 *  7. Results: recovered and delayed return 0, failed and ignored -EBUSY;
 *     simmm_memory_failure_stats() counts them.
 *
 * Where simmm differs: upstream keeps memory_failure()'s reference on the
 * page for ever; simmm drops it at the end, and the page allocator keeps
 * a poisoned frame out of the buddy when its last reference goes
 * (free_pages_prepare() does so upstream too), so the frame is never
 * reused either way (see page.h). unpoison_memory() (simmm_unpoison_memory())
 * frees such a frame again, for software-injected failures only.
 * soft_offline_page() (MADV_SOFT_OFFLINE: RAM-to-RAM migration lives in src/migrate, above
 * this layer), hugetlb poisoning, early kill (PR_MCE_KILL,
 * vm.memory_failure_early_kill) and the hwpoison filters are not
 * modelled.
 */
#include <string.h>

#include <simmm/memremap.h>

#include "mm/mm.h"
#include "mm/mm_ext.h"
#include "page/page.h"

/* enum mf_result. */
enum mf_result { MF_IGNORED, MF_FAILED, MF_DELAYED, MF_RECOVERED };

/* MF_COUNT_INCREASED: the caller (MADV_HWPOISON's GUP) holds a reference. */
#define MF_COUNT_INCREASED 0x1
#define MF_PUBLIC (SIMMM_MF_ACTION_REQUIRED | SIMMM_MF_MUST_KILL | SIMMM_MF_SW_SIMULATED)

/* How many mappings of the current process one failure collects (the
 * kernel's to_kill list is allocated per entry with GFP_ATOMIC and skips
 * one it cannot allocate; a page is mapped at most a few times per mm). */
#define MF_MAX_KILL 16

struct to_kill {
	struct simmm_mm *mm;
	simmm_addr_t addr;
};

struct mf {
	simmm_sim *sim;
	struct simmm_mm *current;
	struct simmm_page *page; /* the poisoned page */
	int flags;
	unsigned ntk;
	struct to_kill tk[MF_MAX_KILL];
};

static int action_result(struct mf *mf, enum mf_result r)
{
	struct simmm_mm_global *g = simmm__mm_global(mf->sim);

	if (g) {
		uint64_t *c[] = {&g->mf.ignored, &g->mf.failed, &g->mf.delayed, &g->mf.recovered};

		(*c[r])++;
	}
	return (r == MF_RECOVERED || r == MF_DELAYED) ? 0 : -EBUSY;
}

/* ---- signals ------------------------------------------------------------------------- */

/* kill_proc(): SIGBUS with BUS_MCEERR_AR for the process that consumed the
 * poison (MF_ACTION_REQUIRED), BUS_MCEERR_AO for any other. */
static void kill_proc(struct mf *mf, struct simmm_mm *mm)
{
	if ((mf->flags & SIMMM_MF_ACTION_REQUIRED) && mm == mf->current)
		mm->stats.mce_sigbus_ar++;
	else
		mm->stats.mce_sigbus_ao++;
}

/* kill_procs(): only when @forcekill; @fail (the unmap failed) turns the
 * SIGBUS into a SIGKILL, since the process could catch it and touch the
 * page again. */
static void kill_procs(struct mf *mf, bool forcekill, bool fail)
{
	for (unsigned i = 0; i < mf->ntk; i++) {
		struct simmm_mm *mm = mf->tk[i].mm;

		if (!forcekill)
			continue;
		if (fail)
			mm->stats.mce_sigkill++;
		else
			kill_proc(mf, mm);
	}
	mf->ntk = 0;
}

static void add_to_kill(struct mf *mf, struct simmm_vma *vma, simmm_addr_t addr)
{
	if (mf->ntk < MF_MAX_KILL)
		mf->tk[mf->ntk++] = (struct to_kill){vma->mm, addr};
}

/* collect_procs_anon() / collect_procs_file() for the one early-kill
 * process there is: task_early_kill() with force_early picks the current
 * process. An anonymous page counts where it is mapped; a file page
 * wherever a VMA of the process covers its offset, mapped or not. */
static bool collect_one(struct simmm_page *folio, struct simmm_vma *vma, simmm_addr_t addr, void *a)
{
	struct mf *mf = a;
	unsigned shift = simmm__page_shift(vma->mm);
	simmm_addr_t pa = addr + ((mf->page->pfn - folio->pfn) << shift);
	simmm_entry_t *slot;
	enum simmm_level lvl;

	if (vma->mm != mf->current || pa < vma->vm_start || pa >= vma->vm_end)
		return true;
	if ((folio->flags & PG_anon) && !simmm__page_vma_mapped(vma, pa, folio, &slot, &lvl))
		return true;
	add_to_kill(mf, vma, pa);
	return true;
}

static void collect_procs(struct mf *mf, struct simmm_page *folio)
{
	mf->ntk = 0;
	if (!folio->mapping || !mf->current || !(mf->flags & SIMMM_MF_ACTION_REQUIRED))
		return;
	simmm__rmap_walk(mf->sim, folio, collect_one, mf);
}

/* ---- kill_accessing_process() --------------------------------------------------------- */

struct hwp_walk {
	simmm_sim *sim;
	simmm_pfn_t pfn;
	simmm_addr_t addr;
	bool found;
};

/* check_hwpoisoned_entry(): a present leaf covering the pfn, or a hwpoison
 * entry of it. */
static int hwp_entry(simmm_entry_t *entry, simmm_addr_t addr, simmm_addr_t next,
		     struct simmm_walk *walk)
{
	struct hwp_walk *w = walk->private;
	const struct simmm_level_desc *d = &w->sim->geo.level[walk->level];
	unsigned shift = w->sim->geo.page_shift;
	simmm_entry_t e = *entry;
	simmm_pfn_t pfn;

	(void)next;
	if (simmm_entry_is_leaf(e, walk->level)) {
		uint64_t span = 1ULL << (d->shift - shift);
		simmm_addr_t base = addr & ~((1ULL << d->shift) - 1);

		walk->action = SIMMM_WALK_CONTINUE;
		if (!simmm_entry_pfn(e, &pfn) || w->pfn < pfn || w->pfn >= pfn + span)
			return 0;
		w->addr = base + ((w->pfn - pfn) << shift);
	} else if (walk->level == SIMMM_LVL_PTE && simmm_is_hwpoison_entry(e)) {
		if (!simmm_entry_pfn(e, &pfn) || pfn != w->pfn)
			return 0;
		w->addr = addr;
	} else {
		return 0;
	}
	w->found = true;
	return 1;
}

static const struct simmm_walk_ops hwp_ops = {
	.pud_entry = hwp_entry,
	.pmd_entry = hwp_entry,
	.pte_entry = hwp_entry,
	.pte_skip_none = true,
};

/* kill_accessing_process(): the current process touched a page poisoned
 * already; if one of its mappings still leads to the frame (a present pte,
 * or the hwpoison entry left there), it gets SIGBUS BUS_MCEERR_AR. */
static int kill_accessing_process(struct mf *mf)
{
	struct simmm_mm *mm = mf->current;
	struct hwp_walk w = {.sim = mf->sim, .pfn = mf->page->pfn};
	int err;

	if (!mm || !(mf->flags & SIMMM_MF_ACTION_REQUIRED))
		return -EHWPOISON;
	err = simmm_down_read(mf->sim, &mm->mmap_lock);
	if (err)
		return err;
	for (struct simmm_vma *vma = simmm__find_vma(mm, 0); vma && !w.found;
	     vma = simmm__vma_next(vma))
		simmm_walk_range(mm->pgt, vma->vm_start, vma->vm_end, &hwp_ops, &w);
	simmm_up_read(mf->sim, &mm->mmap_lock);
	if (!w.found)
		return 0;
	mm->stats.mce_sigbus_ar++;
	return -EHWPOISON;
}

/* ---- hwpoison_user_mappings() --------------------------------------------------------- */

static bool hwpoison_user_mappings(struct mf *mf, struct simmm_page *folio)
{
	simmm_sim *sim = mf->sim;
	unsigned ttu = SIMMM__TTU_IGNORE_MLOCK | SIMMM__TTU_HWPOISON;
	struct simmm_file *file = (folio->flags & PG_anon) ? NULL : folio->mapping;
	simmm_entry_t swp = 0;
	bool unmapped, forcekill;

	/* Only user-mapped pages: LRU folios that some pte maps. A folio in
	 * the swap cache but not mapped is a "late kill": whoever faults it
	 * back gets the SIGBUS. */
	if (!(folio->flags & PG_lru) || !simmm__folio_mapcount(sim, folio))
		return true;
	if (folio->flags & PG_swapcache) {
		/* "keeping poisoned page in swap cache": the ptes become swap
		 * entries of its slot; do_swap_page() refuses the folio. */
		ttu &= ~SIMMM__TTU_HWPOISON;
		swp = folio->private;
	}
	/* Propagate the ptes' dirty bits first: a clean page of a file with
	 * writeback is dropped without side effects (the disk has it). */
	if (!(mf->flags & SIMMM_MF_MUST_KILL) && !(folio->flags & PG_dirty) && file &&
	    !(file->flags & SIMMM_FILE_SHMEM)) {
		if (simmm__folio_mkclean(sim, folio))
			folio->flags |= PG_dirty;
		else
			ttu &= ~SIMMM__TTU_HWPOISON;
	}
	collect_procs(mf, folio);
	if (file)
		simmm__file_get(file); /* the unmap may sleep; the folio lock holds off truncation */
	simmm__try_to_unmap_flags(sim, folio, swp, ttu);
	if (file)
		simmm__file_put(file);
	unmapped = simmm__folio_mapcount(sim, folio) == 0;
	forcekill = (folio->flags & PG_dirty) || (mf->flags & SIMMM_MF_MUST_KILL) || !unmapped;
	kill_procs(mf, forcekill, !unmapped);
	return unmapped;
}

/* ---- the page states ------------------------------------------------------------------ */

/* delete_from_lru_cache(): off the LRU for good (0), -EIO if it was not
 * on it. */
static int delete_from_lru_cache(simmm_sim *sim, struct simmm_page *folio)
{
	if (!(folio->flags & PG_lru))
		return -EIO;
	simmm__lru_del(sim, folio);
	folio->flags &= ~(PG_active | PG_unevictable);
	return 0;
}

/* has_extra_refcount(): references beyond ours (and the cache's when the
 * folio stays cached). */
static bool has_extra_refcount(struct simmm_page *folio, bool extra_pins)
{
	int count = folio->refcount - 1;

	if (extra_pins)
		count -= 1;
	return count > 0;
}

static enum mf_result me_swapcache_dirty(simmm_sim *sim, struct simmm_page *folio)
{
	enum mf_result r;

	/* The data existed only in memory: it is lost. The folio stays in
	 * the swap cache, not uptodate, for whoever faults the slot. */
	folio->flags &= ~(PG_dirty | PG_uptodate);
	r = delete_from_lru_cache(sim, folio) ? MF_FAILED : MF_DELAYED;
	if (has_extra_refcount(folio, r == MF_DELAYED))
		r = MF_FAILED;
	return r;
}

static enum mf_result me_swapcache_clean(simmm_sim *sim, struct simmm_page *folio)
{
	enum mf_result r;

	/* The slot holds the data: the folio leaves the swap cache and the
	 * next fault reads the slot again. */
	simmm__swap_cache_del(sim, folio);
	r = delete_from_lru_cache(sim, folio) ? MF_FAILED : MF_RECOVERED;
	if (has_extra_refcount(folio, false))
		r = MF_FAILED;
	return r;
}

/* truncate_error_folio(): shmem_error_remove_folio() keeps the folio in
 * the cache (later accesses see the poison); a regular file's
 * generic_error_remove_folio() truncates it out (truncate_inode_folio()),
 * dirty data cancelled, never written. */
static enum mf_result truncate_error_folio(struct simmm_file *file, struct simmm_page *folio)
{
	if (file->flags & SIMMM_FILE_SHMEM)
		return MF_RECOVERED;
	if (simmm__filemap_lookup(file, folio->index) != folio)
		return MF_FAILED;
	folio->flags &= ~PG_dirty; /* folio_cancel_dirty() */
	simmm__filemap_evict(file, folio, 0);
	return MF_RECOVERED;
}

static enum mf_result me_pagecache_clean(simmm_sim *sim, struct simmm_page *folio)
{
	struct simmm_file *file;
	bool shmem;
	enum mf_result r;

	delete_from_lru_cache(sim, folio);
	/* An anonymous folio: only our reference is left to matter. */
	if (folio->flags & PG_anon)
		return MF_RECOVERED;
	file = folio->mapping;
	if (!file)
		return MF_FAILED; /* torn down meanwhile */
	shmem = file->flags & SIMMM_FILE_SHMEM;
	r = truncate_error_folio(file, folio);
	if (has_extra_refcount(folio, shmem))
		r = MF_FAILED;
	return r;
}

static enum mf_result me_pagecache_dirty(simmm_sim *sim, struct simmm_page *folio)
{
	struct simmm_file *file = (folio->flags & PG_anon) ? NULL : folio->mapping;

	/* mapping_set_error(-EIO): the next fsync() reports the lost write. */
	if (file)
		file->wb_err = -EIO;
	return me_pagecache_clean(sim, folio);
}

/* identify_page_state() over error_states[]: the current flags first,
 * then the flags read before the unmap (plus PG_dirty now). */
static enum mf_result page_action(struct mf *mf, struct simmm_page *folio, uint32_t saved)
{
	simmm_sim *sim = mf->sim;

	for (int pass = 0; pass < 2; pass++) {
		uint32_t f = pass ? saved | (folio->flags & PG_dirty) : folio->flags;

		if (f & PG_reserved)
			return MF_IGNORED; /* me_kernel() */
		if (f & PG_swapcache)
			return (f & PG_dirty) ? me_swapcache_dirty(sim, folio)
					      : me_swapcache_clean(sim, folio);
		if (f & (PG_mlocked | PG_unevictable | PG_lru))
			return (f & PG_dirty) ? me_pagecache_dirty(sim, folio)
					      : me_pagecache_clean(sim, folio);
	}
	return MF_IGNORED; /* me_unknown() */
}

/* ---- memory_failure() ----------------------------------------------------------------- */

static int memory_failure_dev_pagemap(struct mf *mf, struct simmm_dev_pagemap *pgmap)
{
	int rc = -EOPNOTSUPP;

	if (pgmap && pgmap->ops && pgmap->ops->memory_failure)
		rc = pgmap->ops->memory_failure(pgmap, mf->page->pfn, 1, mf->flags & MF_PUBLIC);
	if (rc == -EOPNOTSUPP) {
		/* mf_generic_kill_procs(): device-private memory (upstream
		 * leaves HMM pages to a later change) and memory without a DAX
		 * mapping to lock are refused. */
		rc = -EBUSY;
	}
	action_result(mf, rc ? MF_FAILED : MF_RECOVERED);
	return rc;
}

/* get_hwpoison_page(): 1 with our reference on an in-use user folio, 0 for
 * a free frame, -EBUSY for one that cannot be handled. */
static int get_hwpoison_page(struct mf *mf, struct simmm_page *head)
{
	if (head->refcount <= 0)
		return 0;
	/* HWPoisonHandlable(): on the LRU (or in the swap cache: a folio
	 * reclaim took off the LRU is retried there by shake_page()). */
	if (!(head->flags & (PG_lru | PG_swapcache)))
		return -EBUSY;
	simmm__folio_get(mf->sim, head);
	return 1;
}

int simmm__try_to_split_thp_page(simmm_sim *sim, struct simmm_page *folio,
				 struct simmm_page *page)
{
	int err = simmm__folio_lock(sim, folio);

	if (err)
		return err;
	/* The head keeps the caller's reference; another page gets one. */
	err = simmm__split_folio_ref(sim, folio, page == folio ? NULL : page);
	simmm__folio_unlock(sim, folio);
	if (!err && folio != page)
		simmm__put_user_folio(sim, folio);
	return err;
}


static int memory_failure(struct mf *mf)
{
	simmm_sim *sim = mf->sim;
	struct simmm_page *page = mf->page, *folio;
	uint32_t saved;
	int res;

	if (simmm__is_zone_device_page(page))
		return memory_failure_dev_pagemap(mf, simmm__page_pgmap(sim, page));
	folio = simmm__compound_head(sim, page);
	if (folio->refcount > 0 &&
	    ((folio->flags & (PG_reserved | PG_table | PG_zero)) ||
	     (folio->order && simmm__folio_is_hugetlb(sim, folio)))) {
		/* hugetlb folios are not modelled; kernel frames (page tables,
		 * the zero pages) upstream would get PG_hwpoison and be left
		 * in use (me_kernel(), ignored): simmm leaves them unpoisoned,
		 * as nothing would take them out of use. */
		/* GUP takes no reference on the zero pages (MF_COUNT_INCREASED
		 * from MADV_HWPOISON): only a hugetlb folio's goes back. */
		if ((mf->flags & MF_COUNT_INCREASED) && !(folio->flags & (PG_reserved | PG_zero)))
			simmm__folio_put(sim, folio);
		return action_result(mf, MF_IGNORED);
	}
	if (simmm__page_test_set_hwpoison(sim, page)) {
		res = kill_accessing_process(mf);
		if (mf->flags & MF_COUNT_INCREASED)
			simmm__put_user_folio(sim, folio);
		action_result(mf, MF_FAILED);
		return res;
	}
	if (!(mf->flags & MF_COUNT_INCREASED)) {
		res = get_hwpoison_page(mf, folio);
		if (res == 0) {
			/* A free frame: nobody uses it, take it out for good. */
			if (simmm__take_page_off_buddy(sim, page->pfn)) {
				/* As a poisoned page freed: held, never reused. */
				page->flags = PG_hwpoison;
				return action_result(mf, MF_RECOVERED);
			}
			simmm__page_clear_hwpoison(sim, page); /* still free */
			return action_result(mf, MF_FAILED);
		}
		if (res < 0)
			return action_result(mf, MF_IGNORED);
	}
	if (folio->order) {
		if (simmm__try_to_split_thp_page(sim, folio, page)) {
			/* kill_procs_now(): the process is told at once. */
			collect_procs(mf, folio);
			kill_procs(mf, true, false);
			simmm__put_user_folio(sim, folio);
			action_result(mf, MF_FAILED);
			return -EHWPOISON;
		}
		folio = simmm__compound_head(sim, page);
	}
	res = simmm__folio_lock(sim, folio);
	if (res) {
		simmm__put_user_folio(sim, folio);
		return res;
	}
	/* Split, with our reference held, the page cannot become part of a
	 * large folio again (a collapse wants no extra reference). */
	NEVER(simmm__compound_head(sim, page) != folio);
	saved = folio->flags;
	if (!(folio->flags & (PG_lru | PG_swapcache))) {
		res = action_result(mf, page_action(mf, folio, saved));
		goto unlock;
	}
	if (!hwpoison_user_mappings(mf, folio)) {
		res = action_result(mf, MF_FAILED); /* "unmapping failed page" */
		goto unlock;
	}
	/* Torn down by someone else meanwhile (truncated: no mapping). */
	if ((folio->flags & PG_lru) && !(folio->flags & PG_swapcache) && !folio->mapping) {
		res = action_result(mf, MF_IGNORED);
		goto unlock;
	}
	res = action_result(mf, page_action(mf, folio, saved));
unlock:
	simmm__folio_unlock(sim, folio);
	/* simmm drops memory_failure()'s reference (upstream keeps it): the
	 * allocator keeps the poisoned frame when the last one goes. */
	simmm__put_user_folio(sim, folio);
	return res;
}

int simmm__memory_failure(simmm_sim *sim, simmm_pfn_t pfn, int flags, struct simmm_mm *current)
{
	struct simmm_mm_global *g = simmm__mm_global(sim);
	struct mf mf = {.sim = sim, .current = current, .flags = flags};
	int err;

	if (!g)
		return -ENOMEM;
	if (pfn < sim->ram_pages)
		mf.page = simmm__pfn_to_page_alloc(sim, pfn);
	else if (simmm__pfn_valid(sim, pfn))
		mf.page = simmm__pfn_to_page(sim, pfn);
	if (!mf.page) {
		if (flags & MF_COUNT_INCREASED)
			return -EINVAL; /* the caller's page: cannot happen */
		return simmm__pfn_valid(sim, pfn) ? -ENOMEM : -ENXIO;
	}
	err = simmm_mutex_lock(sim, &g->mf_mutex);
	if (err)
		return err;
	/* A failure the hardware reported disables unpoisoning for good. */
	if (!(flags & SIMMM_MF_SW_SIMULATED))
		g->hw_memory_failure = true;
	err = memory_failure(&mf);
	simmm_mutex_unlock(sim, &g->mf_mutex);
	return err;
}

int simmm_memory_failure(simmm_sim *sim, simmm_pfn_t pfn, int flags, struct simmm_mm *current)
{
	if (!simmm__sim_ok(sim) || (flags & ~MF_PUBLIC))
		return -EINVAL;
	if (current && (!simmm__mm_ok(current) || current->sim != sim))
		return -EINVAL;
	return simmm__memory_failure(sim, pfn, flags, current);
}

/* unpoison_memory(): only a frame held for its poison alone (no other
 * reference, no mapping, no cache) goes back to the buddy. */
int simmm_unpoison_memory(simmm_sim *sim, simmm_pfn_t pfn)
{
	struct simmm_mm_global *g;
	struct simmm_page *page, *folio;
	int err, ret = -EBUSY;

	if (!simmm__sim_ok(sim))
		return -EINVAL;
	if (!simmm__pfn_valid(sim, pfn))
		return -ENXIO;
	g = simmm__mm_global(sim);
	if (!g)
		return -ENOMEM;
	page = simmm__pfn_to_page(sim, pfn);
	err = simmm_mutex_lock(sim, &g->mf_mutex);
	if (err)
		return err;
	folio = page ? simmm__compound_head(sim, page) : NULL;
	if (g->hw_memory_failure)
		ret = -EOPNOTSUPP; /* "disabled after HW memory failure" */
	else if (!folio || !(page->flags & PG_hwpoison))
		; /* "page was already unpoisoned" */
	else if (folio->refcount > 1 || simmm__folio_mapcount(sim, folio) || folio->mapping ||
		 (folio->flags & (PG_table | PG_reserved | PG_swapcache)))
		; /* grabbed, mapped or cached by someone */
	else if (folio->refcount == 1) {
		simmm__page_clear_hwpoison(sim, page);
		simmm__put_user_folio(sim, folio);
		ret = 0;
	}
	simmm_mutex_unlock(sim, &g->mf_mutex);
	return ret;
}

int simmm_memory_failure_stats(simmm_sim *sim, struct simmm_mf_stats *out)
{
	struct simmm_mm_global *g;

	if (!simmm__sim_ok(sim) || !out)
		return -EINVAL;
	g = simmm__mm_global(sim);
	if (!g)
		return -ENOMEM;
	*out = g->mf;
	out->poisoned = simmm__nr_poisoned(sim);
	return 0;
}

/* ---- MADV_HWPOISON ------------------------------------------------------------------- */

int simmm__madvise_inject_error(struct simmm_mm *mm, simmm_addr_t start, simmm_addr_t end)
{
	simmm_sim *sim = mm->sim;

	if (!mm->cap_sys_admin)
		return -EPERM;
	while (start < end) {
		struct simmm_page *folio;
		simmm_pfn_t pfn;
		uint64_t size;
		int locked = 0, err;
		long got;

		/* get_user_pages_fast(start, 1, 0): a read fault if need be,
		 * from get_user_pages_unlocked(), which takes the mmap lock and
		 * lets the fault drop it. */
		got = simmm__gup_locked(mm, start, 1, SIMMM_FOLL_GET, &pfn, &locked);
		if (got != 1)
			return got < 0 ? (int)got : -EFAULT;
		folio = simmm__compound_head(sim, simmm__pfn_to_page(sim, pfn));
		/* The folio's size, read before the failure splits it: the
		 * loop goes on after the whole folio, as upstream's does. */
		size = sim->page_size << folio->order;
		err = simmm__memory_failure(sim, pfn,
					    SIMMM_MF_ACTION_REQUIRED | MF_COUNT_INCREASED |
						    SIMMM_MF_SW_SIMULATED,
					    mm);
		if (err == -EOPNOTSUPP)
			err = 0;
		if (err)
			return err;
		start += size;
	}
	return 0;
}
