// SPDX-License-Identifier: MIT
/*
 * handle_mm_fault() (mm/memory.c): the PMD stage (THP via huge.c), then the
 * pte stage: do_anonymous_page(), the file faults (do_read_fault, which
 * faults around first, fault_around.c; do_cow_fault, do_shared_fault),
 * do_wp_page() (reuse or copy), NUMA / PROT_NONE restore and
 * do_swap_page() with its non-swap entries (migration wait, device-private
 * fault-back, device-exclusive restore, hwpoison and markers). A fault
 * that may retry releases the mmap lock before it sleeps on a folio lock
 * and returns VM_FAULT_RETRY (see "the mmap lock across a wait" below).
 * Counters follow mm_account_fault(): only faults that completed are
 * counted, as major when they needed I/O or were retried.
 */
#include <errno.h>

#include "mm/mm.h"
#include "mm/mm_ext.h"
#include "notifier/notifier.h"
#include <simmm/memremap.h>

struct fault {
	struct simmm_mm *mm;
	struct simmm_vma *vma;
	simmm_addr_t addr;     /* page aligned */
	simmm_addr_t real;     /* as accessed */
	unsigned flags;
	simmm_entry_t *slot;   /* the pte */
	simmm_entry_t orig;
	enum simmm_level lvl;  /* of @orig: PTE, or PMD for a device THP entry */
};

static bool is_write(const struct fault *f)
{
	return f->flags & SIMMM_FAULT_FLAG_WRITE;
}

/* FAULT_FLAG_UNSHARE (GUP's R/O pin of a page it may not share): break COW
 * without writing. simmm__handle_mm_fault() has already dropped the flag
 * outside COW mappings, as sanitize_fault_flags() does. */
static bool is_unshare(const struct fault *f)
{
	return f->flags & SIMMM_FAULT_FLAG_UNSHARE;
}

/* ---- the mmap lock across a wait: VM_FAULT_RETRY --------------------------------- */

/*
 * handle_mm_fault()'s contract with FAULT_FLAG_ALLOW_RETRY: a fault that has
 * to sleep on a folio lock releases the mmap lock first (release_fault_lock()),
 * sleeps with nothing but its folio reference, and returns VM_FAULT_RETRY.
 * Its caller must neither unlock nor trust the VMA any more: it takes the
 * lock again, looks the VMA up again and faults with FAULT_FLAG_TRIED
 * (do_user_addr_fault()'s "goto retry", __get_user_pages_locked()).
 * Meanwhile munmap, mprotect and the like take the lock for write and
 * finish. Only the first attempt drops the lock
 * (fault_flag_allow_retry_first()); a tried fault sleeps on the folio lock
 * with the mmap lock held, so a busy folio lock costs one retry.
 * FAULT_FLAG_RETRY_NOWAIT (GUP's FOLL_NOWAIT) returns VM_FAULT_RETRY at once
 * with the lock held. Without ALLOW_RETRY (HMM, GUP without `locked`,
 * simmm's internal faults) the fault sleeps with the mmap lock held.
 * Outside tasks nothing could end a wait: such a fault returns
 * VM_FAULT_RETRY at once, the lock released or held by the same rule
 * (simmm__fault_retry()). simmm__handle_mm_fault() checks the rule on
 * every return.
 */
static bool allow_retry_first(unsigned flags)
{
	return (flags & SIMMM_FAULT_FLAG_ALLOW_RETRY) && !(flags & SIMMM_FAULT_FLAG_TRIED);
}

/* Does VM_FAULT_RETRY from a fault with @flags mean "mmap lock released"? */
static bool retry_releases(unsigned flags)
{
	return (flags & SIMMM_FAULT_FLAG_ALLOW_RETRY) && !(flags & SIMMM_FAULT_FLAG_RETRY_NOWAIT);
}

unsigned simmm__fault_retry(struct simmm_mm *mm, unsigned flags)
{
	if (retry_releases(flags))
		simmm_up_read(mm->sim, &mm->mmap_lock);
	return SIMMM_VM_FAULT_RETRY;
}

/*
 * folio_lock_or_retry() (__folio_lock_or_retry()) and filemap_fault()'s
 * lock_folio_maybe_drop_mmap(), for a folio the fault holds a reference
 * on: 0 with @folio locked, or VM_FAULT_RETRY. The first attempt of a
 * fault that may retry releases the mmap lock and waits, with its
 * reference, until the folio is unlocked (folio_wait_locked_killable());
 * its caller then drops the reference and returns, touching neither the
 * VMA nor the file. Any other fault sleeps in folio_lock() with the mmap
 * lock held until it owns the folio, and its caller rechecks what it read
 * before. (lock_folio_maybe_drop_mmap() takes the folio lock after
 * dropping the mmap lock, then unlocks it to retry; only waiting is the
 * same to everyone else.)
 * Context: the mmap lock held for read; no spinlock (both are sleeps).
 */
static unsigned folio_lock_or_retry(struct fault *f, struct simmm_page *folio)
{
	simmm_sim *sim = f->mm->sim;

	if (simmm__folio_trylock(sim, folio))
		return 0;
	if (allow_retry_first(f->flags)) {
		if (f->flags & SIMMM_FAULT_FLAG_RETRY_NOWAIT)
			return SIMMM_VM_FAULT_RETRY;
		simmm_up_read(sim, &f->mm->mmap_lock);
		if (sim->cur_task)
			simmm_bit_wait_unlocked(sim, &folio->flags, PG_locked, folio->pfn);
		return SIMMM_VM_FAULT_RETRY;
	}
	if (sim->cur_task && simmm__folio_lock(sim, folio) == 0)
		return 0;
	return simmm__fault_retry(f->mm, f->flags);
}

/* ---- entries ------------------------------------------------------------------- */

uint64_t simmm__vm_get_page_prot(uint64_t vm_flags)
{
	uint64_t p;

	/* protection_map[]: private writable mappings start read-only (COW),
	 * shared writable ones writable. */
	if (!(vm_flags & (SIMMM_VM_READ | SIMMM_VM_WRITE | SIMMM_VM_EXEC)))
		return SIMMM_PAGE_NONE;
	p = SIMMM_PAGE_READONLY;
	if ((vm_flags & SIMMM_VM_WRITE) && (vm_flags & SIMMM_VM_SHARED))
		p |= SIMMM_E_WRITE;
	if (vm_flags & SIMMM_VM_EXEC)
		p |= SIMMM_E_EXEC;
	return p;
}

simmm_entry_t simmm__maybe_mkwrite(const struct simmm_vma *vma, simmm_entry_t e)
{
	return (vma->vm_flags & SIMMM_VM_WRITE) ? simmm_pte_mkwrite(e) : e;
}

simmm_entry_t simmm__mk_pte(struct simmm_mm *mm, struct simmm_vma *vma, simmm_pfn_t pfn,
			    bool write)
{
	simmm_entry_t e = simmm_mk_entry(pfn, simmm__vma_page_prot(vma));

	(void)mm;
	if (write && (vma->vm_flags & SIMMM_VM_WRITE)) /* maybe_mkwrite() */
		e = simmm_pte_mkdirty(simmm_pte_mkwrite(e));
	return e;
}

/* set_pte_range() for a page-cache folio: since 6.15 a read fault's entry
 * that is writable anyway (a shared mapping without write-notify: shmem)
 * is dirty when the folio is (the s390 mk_pte() rule made generic), so the
 * first store needs no dirty-bit update. */
simmm_entry_t simmm__mk_file_pte(struct simmm_mm *mm, struct simmm_vma *vma,
				 struct simmm_page *folio, bool write)
{
	simmm_entry_t e = simmm__mk_pte(mm, vma, folio->pfn, write);

	if (!write && simmm_pte_write(e) && (folio->flags & PG_dirty))
		e = simmm_pte_mkdirty(e);
	return e;
}

struct simmm_page *simmm__vm_normal_page(struct simmm_vma *vma, simmm_entry_t e)
{
	if (!simmm_pte_present(e) || simmm_pte_special(e) || (vma->vm_flags & SIMMM_VM_PFNMAP))
		return NULL;
	return simmm__pfn_to_page(vma->mm->sim, simmm_pte_pfn(e));
}

int simmm__vm_insert_page(struct simmm_vma *vma, simmm_addr_t addr, simmm_pfn_t pfn)
{
	struct simmm_mm *mm = vma ? vma->mm : NULL;
	struct simmm_page *page;
	simmm_entry_t *slot;
	int err;

	if (!mm || !(vma->vm_flags & SIMMM_VM_MIXEDMAP) || addr < vma->vm_start ||
	    addr >= vma->vm_end || (addr & (mm->sim->page_size - 1)))
		return -EINVAL;
	page = simmm__pfn_to_page(mm->sim, pfn);
	if (!page || page->refcount <= 0 || (page->flags & (PG_anon | PG_table)))
		return -EINVAL;
	err = simmm_pgtable_alloc_level(mm->pgt, addr, SIMMM_LVL_PTE, &slot);
	if (err)
		return err == -EEXIST ? -EBUSY : err;
	if (!simmm_entry_none(*slot))
		return -EBUSY;
	/* insert_page(): a normal (not special) pte with a reference and a
	 * file-type mapcount, counted in MM_FILEPAGES. */
	simmm__folio_get(mm->sim, page);
	simmm__page_add_rmap_pte(mm->sim, page);
	simmm_pgtable_set(mm->pgt, addr, SIMMM_LVL_PTE, simmm__mk_pte(mm, vma, pfn, false));
	simmm__rss_add(mm, vma, simmm__compound_head(mm->sim, page), 1);
	return 0;
}

int simmm_vm_insert_page(struct simmm_mm *mm, simmm_addr_t addr, simmm_pfn_t pfn)
{
	if (!simmm__mm_ok(mm))
		return -EINVAL;
	if (simmm_lock_held(mm->sim, &mm->mmap_lock.map) == SIMMM_LOCK_NOT_HELD) {
		simmm__report(mm->sim, SIMMM_REPORT_MISUSE,
			      "vm_insert_page without the mmap lock of mm %llu",
			      (unsigned long long)mm->id);
		return -EINVAL;
	}
	return simmm__vm_insert_page(simmm__vma_lookup(mm, addr), addr, pfn);
}

static void set_pte(struct fault *f, simmm_entry_t e)
{
	simmm_pgtable_set(f->mm->pgt, f->addr, SIMMM_LVL_PTE, e);
}

/* ---- anonymous memory --------------------------------------------------------- */

/* A new exclusive anonymous page at f->addr, contents copied from @src
 * (NULL: zeroed). */
static unsigned new_anon_page(struct fault *f, struct simmm_page *src, struct simmm_page **out)
{
	simmm_sim *sim = f->mm->sim;
	struct simmm_page *folio;

	if (simmm__anon_vma_prepare(f->mm, f->vma))
		return SIMMM_VM_FAULT_OOM;
	folio = simmm__alloc_user_folio(sim, 0);
	if (!folio)
		return SIMMM_VM_FAULT_OOM;
	if (src && simmm__page_copy(sim, folio, src)) {
		simmm__folio_put(sim, folio);
		return SIMMM_VM_FAULT_OOM;
	}
	*out = folio;
	return 0;
}

/* pte_same(): is the entry still the one this fault started from? The
 * allocation and the notifier bracket are scheduling points where another
 * task (a second CPU thread, a device faulting through HMM) may have
 * resolved the same fault; then this one backs off and refaults, as the
 * kernel does after taking the pte lock. */
static bool pte_unchanged(struct fault *f)
{
	simmm_entry_t *slot;

	if (simmm_pgtable_lookup(f->mm->pgt, f->addr, SIMMM_LVL_PTE, &slot))
		return false;
	f->slot = slot;
	return *slot == f->orig;
}

static void map_new_anon_pte(struct fault *f, struct simmm_page *folio, simmm_entry_t e)
{
	simmm__folio_add_new_anon_rmap(folio, f->vma, f->addr, true);
	/* folio_add_lru_vma(): mlock_new_folio() in a VM_LOCKED VMA */
	simmm__folio_add_lru_vma(f->mm->sim, folio, f->vma);
	set_pte(f, e);
	simmm__rss_add(f->mm, f->vma, folio, 1);
}

static void map_new_anon(struct fault *f, struct simmm_page *folio)
{
	map_new_anon_pte(f, folio, simmm__mk_pte(f->mm, f->vma, folio->pfn, true));
}

static unsigned do_anonymous_page(struct fault *f)
{
	struct simmm_page *folio;
	unsigned ret;

	if (!is_write(f)) {
		/* Read fault: the shared zero page, special and read-only. */
		simmm_entry_t e = simmm_mk_entry(simmm__zero_pfn(f->mm->sim),
						 simmm__vm_get_page_prot(f->vma->vm_flags));

		set_pte(f, simmm_pte_mkspecial(simmm_pte_wrprotect(e)));
		f->mm->stats.zero_faults++;
		return 0;
	}
	ret = new_anon_page(f, NULL, &folio);
	if (ret)
		return ret;
	if (!pte_unchanged(f)) {
		simmm__folio_put(f->mm->sim, folio);
		return 0;
	}
	map_new_anon(f, folio);
	f->mm->stats.anon_faults++;
	return 0;
}

/* wp_can_reuse_anon_folio(): only a page nobody else can see. The swap
 * cache's reference is tolerated (a read fault left the folio there):
 * with nothing beyond the mapping's and the cache's, the folio is
 * trylocked under the PTL (no scheduling point; the pte's mapping keeps
 * the folio) and taken out of the swap cache (folio_free_swap(): it is
 * about to be written, its slot's copy goes stale), which fails while a
 * swap entry still needs the slot (another mm may fault the folio in from
 * the swap cache). Reuse needs the mapping's reference alone after that.
 * A busy lock means no reuse, a copy. */
static bool can_reuse(simmm_sim *sim, struct simmm_page *page)
{
	struct simmm_page *folio = simmm__compound_head(sim, page);
	bool reuse;

	if (page->flags & PG_anon_exclusive)
		return true;
	if (folio->order || simmm__folio_maybe_dma_pinned(sim, folio) || folio->mapcount != 1)
		return false;
	if (folio->refcount > 1 + !!(folio->flags & PG_swapcache))
		return false;
	if (!simmm__folio_trylock_atomic(sim, folio))
		return false;
	if (folio->flags & PG_swapcache)
		simmm__folio_free_swap(sim, folio);
	reuse = folio->refcount == 1;
	simmm__bit_unlock_nosched(sim, &folio->flags, PG_locked, folio->pfn);
	return reuse;
}

/* The copy's entry (wp_page_copy()). A write fault maps it dirty, and
 * writable where the VMA is (maybe_mkwrite(pte_mkdirty()): a FOLL_FORCE
 * write into a PROT_READ VMA gets a dirty read-only copy). An unshare fault
 * maps it read-only and clean, with the old entry's soft-dirty and uffd-wp
 * bits (upstream BUG()s on a writable entry there): the pin needs a page
 * nobody else maps, not write access, and a later write takes an ordinary
 * wp fault that reuses the exclusive copy. */
static simmm_entry_t copy_pte(struct fault *f, simmm_pfn_t pfn)
{
	simmm_entry_t e = simmm__mk_pte(f->mm, f->vma, pfn, false);

	if (!is_unshare(f))
		return simmm__maybe_mkwrite(f->vma, simmm_pte_mkdirty(e));
	if (simmm_pte_soft_dirty(f->orig))
		e = simmm_pte_mksoft_dirty(e);
	if (simmm_pte_uffd_wp(f->orig))
		e = simmm_pte_mkuffd_wp(e);
	return e;
}

/* wp_page_copy(): break COW (or the zero page) with a private copy, for a
 * write fault or an unshare (copy_pte()); the notifier sees CLEAR for
 * both, as upstream's wp_page_copy() uses whatever the reason.
 *
 * The old folio is held by a reference of our own from before the copy is
 * allocated until we return, as do_wp_page() takes one (folio_get()) before
 * it drops the pte lock and calls wp_page_copy(), which puts it last. The
 * allocation may enter direct reclaim, and the notifier bracket is a
 * scheduling point. Reclaim may unmap the old folio meanwhile (a reference
 * does not keep a page mapped) and write it out, but cannot free it: its
 * refcount freeze fails, the folio stays in the swap (or page) cache, our
 * copy reads live data, pte_same() fails and the fault is retried, finding
 * the folio in the swap cache. Without the reference reclaim freed it and
 * the copy read a freed page (often the very frame the allocation
 * returned); GUP's next round swapped the page back in only for the next
 * copy to lose it again, and a read pin of a swapped-out page shared after
 * fork failed with -EFAULT once its retries ran out (found by
 * fuzz_mm_ops). A device migrating the old folio while we sit in the
 * bracket finds the extra reference too and leaves it where it is
 * (migrate_vma_check_page()). */
static unsigned wp_page_copy(struct fault *f, struct simmm_page *old)
{
	simmm_sim *sim = f->mm->sim;
	struct simmm_page *folio, *old_folio = old ? simmm__compound_head(sim, old) : NULL;
	struct simmm_change c;
	bool copied = false;
	unsigned ret;

	if (old_folio)
		simmm__folio_get(sim, old_folio);
	ret = new_anon_page(f, old, &folio);
	if (ret)
		goto out;
	simmm__change_begin(&c, f->mm, f->addr, f->addr + sim->page_size,
			    SIMMM_MMU_NOTIFY_CLEAR, NULL);
	if (!pte_unchanged(f)) {
		simmm__change_end(&c);
		simmm__folio_put(sim, folio);
		goto out;
	}
	map_new_anon_pte(f, folio, copy_pte(f, folio->pfn));
	if (old) {
		simmm__page_remove_rmap_pte(sim, old);
		simmm__munlock_vma_folio(sim, old_folio, f->vma);
		simmm__rss_add(f->mm, f->vma, old_folio, -1);
		simmm__put_user_folio(sim, old_folio); /* the mapping's */
		f->mm->stats.cow_faults++;
		copied = true;
	} else {
		f->mm->stats.anon_faults++;
	}
	simmm__change_end(&c);
out:
	/* wp_page_copy(): a swap-cache folio we no longer map, and nobody
	 * else does, leaves the cache (free_swap_cache()) before our put. */
	if (copied)
		simmm__free_swap_cache(sim, old_folio);
	if (old_folio)
		simmm__put_user_folio(sim, old_folio); /* ours */
	return ret;
}

/*
 * page_mkwrite() of a shared file page (filemap_page_mkwrite()): the folio
 * is locked and marked dirty, and stays locked (VM_FAULT_LOCKED) until the
 * caller has made the pte writable or found it changed and backed off
 * (finish_mkwrite_fault() / finish_fault(), then fault_dirty_shared_page()
 * unlocks). A writeback holds the lock from before it write-protects the
 * ptes until the data is written (writeback.c), so it either cleans the
 * pte this fault makes writable or runs after it; with the lock dropped
 * before the pte is set, an fsync could write back and clean the folio in
 * between and leave a writable pte on a clean folio. A busy lock is slept
 * on with the mmap lock held, whatever the fault's flags: do_page_mkwrite()
 * calls ->page_mkwrite() with FAULT_FLAG_WRITE | FAULT_FLAG_MKWRITE only,
 * so filemap_page_mkwrite()'s folio_lock() cannot retry. A folio no longer
 * in the mapping's page cache once locked (truncated) backs off
 * (VM_FAULT_NOPAGE: the access refaults). (Upstream's page_mkwrite also
 * waits for PG_writeback, folio_wait_stable(); simmm's writeback is over
 * once the lock is dropped.)
 * Context: the caller holds a reference on @folio (the lock is a
 * scheduling point: without one, reclaim could free the folio meanwhile
 * and this would lock and dirty a free frame).
 * Return: 0 with the folio locked and dirty; VM_FAULT_NOPAGE; outside
 * tasks, for a lock nobody could release, VM_FAULT_RETRY.
 */
static unsigned page_mkwrite(struct fault *f, struct simmm_page *folio)
{
	simmm_sim *sim = f->mm->sim;

	if (sim->cur_task ? simmm__folio_lock(sim, folio) != 0 : !simmm__folio_trylock(sim, folio))
		return simmm__fault_retry(f->mm, f->flags);
	if (folio->mapping != f->vma->file) {
		simmm__folio_unlock(sim, folio);
		return SIMMM_VM_FAULT_NOPAGE;
	}
	folio->flags |= PG_dirty;
	return 0;
}

/* wp_page_reuse(): maybe_mkwrite(pte_mkdirty()). Writable only where the
 * VMA is: a FOLL_FORCE write into a PROT_READ private VMA (ptrace) reuses
 * the page, which GUP then follows through the read-only entry
 * (can_follow_write_pte()); the entry must not become writable.
 * Only the pte is dirtied, never the folio, as upstream: an exclusive
 * folio reused while still in the swap cache (its slot's copy now stale)
 * gets PG_dirty from the pte when it is unmapped (try_to_unmap_one(),
 * try_to_migrate_one(): folio_mark_dirty() of a dirty pte), so reclaim
 * writes it out again rather than dropping it as a clean cached copy. */
static void wp_page_reuse(struct fault *f)
{
	set_pte(f, simmm__maybe_mkwrite(f->vma, simmm_pte_mkyoung(simmm_pte_mkdirty(f->orig))));
	f->mm->stats.reuse_faults++;
}

/*
 * do_wp_page(): a write fault on a read-only entry, or an unshare fault
 * (GUP pinning a page read-only that it may not share).
 *
 * In a private mapping an anonymous page that nobody else can see is
 * reused: it becomes PG_anon_exclusive and, for a write, writable and
 * dirty; an unshare leaves the entry as it is (no PGREUSE either, as
 * upstream returns before wp_page_reuse()). Anything else is copied:
 * a shared anonymous page, a page-cache page, the zero page. That holds
 * for unshare too: since 6.2 ("mm: extend FAULT_FLAG_UNSHARE support to
 * anything in a COW mapping") an unshare breaks COW on whatever is not an
 * exclusive anonymous page, mapping the copy read-only (5.17 to 6.1 only
 * unshared anonymous pages).
 */
static unsigned do_wp_page(struct fault *f)
{
	simmm_sim *sim = f->mm->sim;
	struct simmm_page *page = simmm__vm_normal_page(f->vma, f->orig);
	struct simmm_page *folio = page ? simmm__compound_head(sim, page) : NULL;

	if (f->vma->vm_flags & SIMMM_VM_SHARED) {
		/* wp_page_shared() / wp_pfn_shared(): page_mkwrite() dirties
		 * the folio under its lock, then the pte becomes writable
		 * (only writes get here: no unshare in a shared mapping). The
		 * folio lock is a scheduling point, so first a reference
		 * (wp_page_shared()'s folio_get() under the PTL; no scheduling
		 * point since the fault read the pte): reclaim may unmap the
		 * folio meanwhile but not free it (found by fuzz_races: the
		 * lock and PG_dirty landed on a frame reclaim had freed). If
		 * the pte changed meanwhile (zapped, unmapped, cleaned, made
		 * writable by another fault), back off and refault
		 * (finish_mkwrite_fault()'s pte_same()). */
		if (page) {
			unsigned ret;

			simmm__folio_get(sim, folio);
			ret = page_mkwrite(f, folio);
			if (ret) {
				simmm__put_user_folio(sim, folio);
				return ret;
			}
		}
		/* (no page: no scheduling point since the pte was read) */
		if (!page || pte_unchanged(f))
			set_pte(f, simmm_pte_mkyoung(simmm_pte_mkdirty(simmm_pte_mkwrite(f->orig))));
		if (page)
			simmm__folio_unlock_put(sim, folio);
		return 0;
	}
	if (folio && (folio->flags & PG_anon) && can_reuse(sim, page)) {
		page->flags |= PG_anon_exclusive;
		if (is_unshare(f))
			return 0;
		wp_page_reuse(f);
		return 0;
	}
	if (!page && !simmm_pte_special(f->orig))
		return SIMMM_VM_FAULT_SIGBUS;
	if (!page && simmm_pte_pfn(f->orig) != simmm__zero_pfn(sim))
		return SIMMM_VM_FAULT_SIGBUS; /* a private PFNMAP: nothing to copy */
	return wp_page_copy(f, page);
}

/* ---- files -------------------------------------------------------------------------- */

/*
 * filemap_fault()'s truncation checks, under the folio lock as upstream: a
 * folio truncated out of the cache meanwhile (folio->mapping != mapping)
 * is let go and the access faults again (the lookup is retried), and a
 * page at or past the i_size a truncation wrote meanwhile is SIGBUS ("We
 * must recheck i_size under page lock"). 0 when the fault may map @page.
 */
static unsigned file_fault_recheck(struct simmm_file *file, struct simmm_page *page,
				   uint64_t pgoff)
{
	if (page->mapping != file)
		return SIMMM_VM_FAULT_NOPAGE;
	if (pgoff >= simmm__file_eof_index(file))
		return SIMMM_VM_FAULT_SIGBUS;
	return 0;
}

/*
 * The file faults (__do_fault() -> filemap_fault(), then do_cow_fault(),
 * do_read_fault() or do_shared_fault()). filemap_fault() returns the
 * page-cache folio locked (VM_FAULT_LOCKED): a folio someone else holds
 * locked (a writeback, a truncation, reclaim, memory_failure(), another
 * fault's page_mkwrite()) is waited for as folio_lock_or_retry() does
 * (lock_folio_maybe_drop_mmap(): the first attempt of a CPU fault drops the
 * mmap lock and retries). Once locked, the truncation checks above, and a
 * poisoned folio is never mapped (__do_fault()'s PageHWPoison check). A
 * truncation takes each folio's lock before it removes it from the cache,
 * so the folio stays while this fault holds it. Not modelled: the read of
 * a missing page (do_sync_mmap_readahead()) keeps the mmap lock, where
 * upstream drops it around the I/O and retries too.
 */
static unsigned do_file_fault(struct simmm_mm *mm, struct fault *f)
{
	struct simmm_file *file = f->vma->file;
	simmm_sim *sim = mm->sim;
	uint64_t pgoff = simmm__linear_page_index(f->vma, f->addr, sim->geo.page_shift);
	bool cow = is_write(f) && !(f->vma->vm_flags & SIMMM_VM_SHARED), major = false;
	struct simmm_page *page, *copy = NULL;
	unsigned ret = 0;
	int err = 0;

	/* do_read_fault(): fault-around first, before ->fault() and its EOF
	 * check (fault_around.c); done if it mapped this page too. Write and
	 * COW faults do not fault around. */
	if (!is_write(f)) {
		ret = simmm__do_fault_around(f->vma, f->addr);
		if (ret) {
			mm->stats.file_faults++;
			return ret;
		}
	}
	/* do_cow_fault(): the private copy's page is allocated before
	 * ->fault() (vmf_anon_prepare(), folio_prealloc()), and filled under
	 * the folio lock below. */
	if (cow) {
		ret = new_anon_page(f, NULL, &copy);
		if (ret)
			return ret;
	}
	/* filemap_fault(): index >= max_idx is SIGBUS before any lookup. */
	if (pgoff >= simmm__file_eof_index(file)) {
		ret = SIMMM_VM_FAULT_SIGBUS;
		goto out_copy;
	}
	page = simmm__filemap_get(file, pgoff, &err, &major);
	if (!page) { /* -EINVAL: a truncation moved EOF while the read slept */
		ret = err == -EINVAL ? SIMMM_VM_FAULT_SIGBUS : SIMMM_VM_FAULT_OOM;
		goto out_copy;
	}
	ret = folio_lock_or_retry(f, page);
	if (ret) {
		simmm__put_user_folio(sim, page);
		ret |= major ? SIMMM_VM_FAULT_MAJOR : 0;
		goto out_copy;
	}
	ret = file_fault_recheck(file, page, pgoff) & SIMMM_VM_FAULT_SIGBUS;
	if (page->mapping != file || ret)
		goto out_page;
	/* A poisoned page left in the cache (shmem keeps one,
	 * memory_failure.c) is never mapped. */
	if (page->flags & PG_hwpoison) {
		ret = SIMMM_VM_FAULT_HWPOISON;
		goto out_page;
	}
	mm->stats.file_faults++;
	/* The page-cache lookup, the lock and the allocations are scheduling
	 * points: another task (a second CPU thread, a device faulting
	 * through HMM) may have resolved this fault meanwhile. Each path
	 * checks the pte again before it maps, as finish_fault() does under
	 * the pte lock (VM_FAULT_NOPAGE), and leaves the page to the winner. */
	if (cow) {
		if (simmm__page_copy(sim, copy, page)) {
			ret = SIMMM_VM_FAULT_OOM;
			goto out_page;
		}
		simmm__folio_unlock(sim, page);
		if (pte_unchanged(f)) {
			map_new_anon(f, copy);
			mm->stats.cow_faults++;
		} else {
			simmm__folio_put(sim, copy);
		}
		simmm__put_user_folio(sim, page);
		return major ? SIMMM_VM_FAULT_MAJOR : 0;
	}
	/* do_read_fault() / do_shared_fault(): map the cached page; the
	 * reference filemap_get() took becomes the mapping's. A write is a
	 * page_mkwrite() first (do_shared_fault(): do_page_mkwrite() unlocks
	 * and locks again to dirty the folio; simmm keeps the lock it has),
	 * and the lock is held until the pte is set. */
	if (is_write(f))
		page->flags |= PG_dirty;
	if (!pte_unchanged(f)) {
		simmm__folio_unlock_put(sim, page);
		return 0;
	}
	simmm__page_add_rmap_pte(sim, page);
	simmm__mlock_vma_folio(sim, page, f->vma); /* a small page-cache folio */
	set_pte(f, simmm__mk_file_pte(mm, f->vma, page, is_write(f)));
	simmm__rss_add(mm, f->vma, page, 1);
	simmm__folio_unlock(sim, page); /* do_read_fault(), fault_dirty_shared_page() */
	return major ? SIMMM_VM_FAULT_MAJOR : 0;

out_page:
	simmm__folio_unlock_put(sim, page);
out_copy:
	if (copy)
		simmm__folio_put(sim, copy);
	return ret;
}

static unsigned do_pte_missing(struct fault *f)
{
	if (f->vma->vm_flags & (SIMMM_VM_PFNMAP | SIMMM_VM_MIXEDMAP))
		return SIMMM_VM_FAULT_SIGBUS; /* a driver mapping without ->fault */
	if (simmm__vma_is_anonymous(f->vma))
		return do_anonymous_page(f);
	return do_file_fault(f->mm, f);
}

/* ---- do_swap_page() ------------------------------------------------------------------ */

/* The swap entry of a real swap-device pte, without the swap-pte bits. */
static simmm_entry_t orig_swp(const struct fault *f)
{
	return simmm_pte_to_swp_entry(f->orig);
}

/*
 * should_try_to_free_swap(): after its swap_free(), does do_swap_page()
 * take the folio out of the swap cache? Only when swap is more than half
 * full (mem_cgroup_swap_full(): vm_swap_full() without a memory cgroup),
 * in a VM_LOCKED VMA or for an mlocked folio (it will not be swapped out
 * again), or for a write fault that is likely the only user (the lookup's
 * and the cache's references alone: freeing the cache then lets the folio
 * be mapped writable, or reused by do_wp_page()). Otherwise a read fault
 * leaves the folio in the swap cache, clean, with its slot, so that a
 * later reclaim drops it without writing.
 */
static bool should_try_to_free_swap(struct fault *f, struct simmm_page *folio)
{
	if (!(folio->flags & PG_swapcache))
		return false;
	if (simmm__vm_swap_full(f->mm->sim) || (f->vma->vm_flags & SIMMM_VM_LOCKED) ||
	    (folio->flags & PG_mlocked))
		return true;
	return is_write(f) && folio->refcount == 1 + (1 << folio->order);
}

/*
 * Map the swap-cache @folio, locked by us, at f->addr, as do_swap_page()
 * does after its rechecks: the pte's swap entry is freed first
 * (swap_free()), then the folio leaves the swap cache if
 * should_try_to_free_swap() says so and no swap entry needs it any more
 * (folio_free_swap(), which wants the lock), then the rmap, the pte. The
 * folio reference the lookup took becomes the mapping's. Return: the
 * entry set.
 */
static simmm_entry_t swapin_map(struct fault *f, struct simmm_page *folio, bool exclusive)
{
	struct simmm_mm *mm = f->mm;
	simmm_sim *sim = mm->sim;
	simmm_entry_t e;

	simmm__swap_free(sim, orig_swp(f));
	if (should_try_to_free_swap(f, folio))
		simmm__folio_free_swap(sim, folio);
	/* Out of the swap cache with no other reference than the lookup's,
	 * the page is certainly exclusive whatever the swap entry said
	 * (do_swap_page()'s "exclusive || folio_ref_count(folio) == 1"). */
	if (folio->refcount == 1)
		exclusive = true;
	mm->stats.swap_ents--;
	/* A folio just read in gets the new-folio rmap, which does not mlock
	 * it (do_swap_page() as upstream: reclaim will, meeting a VM_LOCKED
	 * VMA); one found mapped elsewhere is mlocked here. */
	if (!(folio->flags & PG_anon) || !folio->mapping) {
		simmm__folio_add_new_anon_rmap(folio, f->vma, f->addr, exclusive);
	} else {
		simmm__page_add_rmap_pte(sim, folio);
		simmm__mlock_vma_folio(sim, folio, f->vma);
		if (exclusive)
			folio->flags |= PG_anon_exclusive;
	}
	/* No LRU add: a folio read in joined the LRU with the swap cache; a
	 * swap-cache hit is on the LRU, or off it with the reclaimer or the
	 * migration that isolated it, which puts it back (do_swap_page() adds
	 * no cached folio: putting an isolated one on the LRU would hand it
	 * to a second isolator). */
	simmm__rss_add(mm, f->vma, folio, 1);
	e = simmm__mk_pte(mm, f->vma, folio->pfn, false);
	if (simmm_pte_swp_soft_dirty(f->orig))
		e = simmm_pte_mksoft_dirty(e);
	/*
	 * An exclusive page in a writable VMA is mapped writable on any fault,
	 * read faults included (do_swap_page() since 6.11, "mm: swap: reuse
	 * exclusive folio directly instead of wp page faults"); only a write
	 * fault also dirties it. Mapping it read-only after a read fault made
	 * the next write take a wp fault, and a device that migrated the page
	 * meanwhile got a read-only device-private entry, so its own
	 * hmm_range_fault(REQ_WRITE) reported the page read-only (dmirror's
	 * WRITE then fails with -EFAULT, as upstream for such an entry). As
	 * upstream, uffd-wp keeps the page write-protected. Soft-dirty
	 * write-protection (pte_needs_soft_dirty_wp()) is not modelled: simmm's
	 * VMAs never carry VM_SOFTDIRTY, and its CPU writes set soft-dirty
	 * through pte_mkdirty() whether or not they fault (as mprotect's
	 * can_change_pte_writable() in change.c).
	 */
	if (exclusive && (f->vma->vm_flags & SIMMM_VM_WRITE) &&
	    !((f->vma->vm_flags & SIMMM_VM_UFFD_WP) && simmm_pte_swp_uffd_wp(f->orig))) {
		e = simmm_pte_mkwrite(e);
		if (is_write(f)) {
			e = simmm_pte_mkdirty(e);
			f->flags &= ~SIMMM_FAULT_FLAG_WRITE;
		}
	}
	set_pte(f, e);
	mm->stats.swapin_faults++;
	return e;
}

/*
 * do_swap_page() on a swap-device entry: look the entry up in the swap
 * cache or read it into a new swap-cache folio (swapin_readahead()), with a
 * reference; lock the folio (folio_lock_or_retry(), a scheduling point: the
 * first attempt of a CPU fault drops the mmap lock, waits and retries);
 * then recheck what was read before, as upstream does: the folio must still
 * be the swap cache's for this entry (folio_free_swap() under the lock, by
 * a lock holder after a zap freed the last entry, may have taken it out,
 * and the slot may even be in use again for another page: the pte alone
 * cannot tell) and the pte unchanged (pte_same() under the PTL); otherwise
 * unlock, drop the reference and let the access fault again, which finds
 * whatever is there now. Reclaim's __remove_mapping(), folio_free_swap()
 * and __try_to_reclaim_swap() all hold the lock, so a folio locked here
 * and still in the swap cache stays there until we map it.
 */
static unsigned swap_in(struct fault *f)
{
	struct simmm_mm *mm = f->mm;
	simmm_sim *sim = mm->sim;
	bool exclusive = simmm_pte_swp_exclusive(f->orig), major = false;
	struct simmm_page *folio;
	simmm_entry_t e;
	unsigned ret, lock;
	int err = 0;

	if (simmm__anon_vma_prepare(mm, f->vma))
		return SIMMM_VM_FAULT_OOM;
	folio = simmm__swap_in_major(sim, orig_swp(f), &err, &major);
	if (!folio) {
		/* The read's allocation may have slept (direct reclaim):
		 * back out if somebody else faulted this pte in meanwhile. */
		if (!pte_unchanged(f))
			return 0;
		return err == -ENOMEM ? SIMMM_VM_FAULT_OOM : SIMMM_VM_FAULT_SIGBUS;
	}
	/* do_swap_page(): "hwpoisoned dirty swapcache pages are kept for
	 * killing owner processes" (memory_failure.c). */
	if (folio->flags & PG_hwpoison) {
		simmm__put_user_folio(sim, folio);
		return SIMMM_VM_FAULT_HWPOISON;
	}
	ret = major ? SIMMM_VM_FAULT_MAJOR : 0;
	lock = folio_lock_or_retry(f, folio);
	if (lock) {
		/* out_release: the reference goes after the wait. */
		simmm__put_user_folio(sim, folio);
		return ret | lock;
	}
	if (!(folio->flags & PG_swapcache) || folio->private != orig_swp(f) || !pte_unchanged(f)) {
		simmm__folio_unlock_put(sim, folio);
		return ret;
	}
	/* memory_failure() poisoned the folio while we waited: a dirty
	 * swap-cache folio stays there, not uptodate (me_swapcache_dirty()),
	 * and do_swap_page() finds it so under the lock: VM_FAULT_SIGBUS. */
	if (folio->flags & PG_hwpoison) {
		simmm__folio_unlock_put(sim, folio);
		return SIMMM_VM_FAULT_SIGBUS;
	}
	e = swapin_map(f, folio, exclusive);
	/* folio_unlock(): still under the PTL upstream, which do_wp_page()
	 * below is entered with, so no scheduling point before it. */
	simmm__bit_unlock_nosched(sim, &folio->flags, PG_locked, folio->pfn);
	/*
	 * Only a write goes on into do_wp_page(). An unshare (GUP's read pin)
	 * is a read fault here, as in upstream's do_swap_page(), which checks
	 * FAULT_FLAG_WRITE alone: a page whose swap entry was exclusive was
	 * mapped exclusive above; a shared one is mapped read-only and not
	 * exclusive, and GUP's next round unshares the present page through
	 * do_wp_page() (reused once no swap entry and no other mm holds it,
	 * else copied). Upstream also maps exclusive a fresh folio read around
	 * the swap cache (SWP_SYNCHRONOUS_IO, swap count 1); simmm always
	 * reads through the swap cache.
	 */
	if (is_write(f)) {
		f->orig = e;
		ret |= do_wp_page(f);
		if (ret & SIMMM_VM_FAULT_ERROR)
			ret &= SIMMM_VM_FAULT_ERROR;
	}
	simmm_sched_point(sim, "do_swap_page");
	return ret;
}

/* do_swap_page() on a device-private entry: the driver migrates it back. */
static unsigned device_private_fault(struct fault *f, struct simmm_page *page)
{
	simmm_sim *sim = f->mm->sim;
	struct simmm_page *folio = simmm__compound_head(sim, page);
	struct simmm_dev_pagemap *pgmap = simmm__page_pgmap(sim, page);
	struct simmm_vm_fault vmf = {
		.mm = f->mm, .vma = f->vma, .address = f->addr, .real_address = f->real,
		.flags = f->flags, .orig_pte = f->orig, .page = page->pfn,
		.pgoff = simmm__linear_page_index(f->vma, f->addr, sim->geo.page_shift),
		.pmd = f->lvl == SIMMM_LVL_PMD,
	};
	unsigned ret;

	if (!pgmap || !pgmap->ops || !pgmap->ops->migrate_to_ram)
		return SIMMM_VM_FAULT_SIGBUS;
	/* Trylock under the PTL, then the reference (upstream since 6.15,
	 * "mm/migrate: Trylock device page in do_swap_page"): a thread that
	 * finds the page locked must not hold a reference meanwhile, or the
	 * holder's migration (or its split of a device THP) fails its
	 * refcount check, and two threads faulting one page livelock (found
	 * by fuzz_races and test_migrate_thp: -EDEADLK from simmm_mm_access()). */
	if (!simmm__folio_trylock_atomic(sim, folio)) {
		if (!sim->cur_task)
			return simmm__fault_retry(f->mm, f->flags);
		/* Sleep until the holder is done instead of spinning through
		 * refaults it never gets to run between: like
		 * migration_entry_wait_on_locked() ("otherwise wait", the
		 * spec's do_swap_page()), without a reference and without
		 * touching the page once woken: the holder may
		 * free it and the device may go away with its struct pages
		 * (memunmap_pages(); found by fuzz_races under ASan: the old
		 * wait re-read the flags of a freed pagemap). */
		simmm__bit_wait_unlocked_drop(sim, &folio->flags, PG_locked, folio->pfn);
		return 0;
	}
	/* pte_same(): cheap insurance (no scheduling point since the fault
	 * read the entry), also that the page still belongs to @folio. */
	simmm_entry_t *slot;
	simmm_addr_t at = f->addr & ~(simmm_level_size(f->mm->pgt, f->lvl) - 1);

	if (simmm_pgtable_lookup(f->mm->pgt, at, f->lvl, &slot) || *slot != f->orig ||
	    simmm__compound_head(sim, page) != folio) {
		simmm__folio_unlock(sim, folio);
		return 0;
	}
	simmm__folio_get(sim, folio); /* mapped by *slot: alive */
	f->mm->stats.devmem_faults++;
	ret = pgmap->ops->migrate_to_ram(&vmf);
	/* unlock_page(vmf->page); put_page(vmf->page): if the driver split
	 * a device THP, our lock and reference moved with the page to its
	 * new (order-0) folio (migrate_vma_split_folio()). */
	simmm__folio_unlock_put(sim, simmm__compound_head(sim, page));
	return ret;
}

/* remove_device_exclusive_entry(): put the original writable pte back,
 * under the folio lock (folio_lock_or_retry(): a device holding it makes
 * the first attempt of a CPU fault drop the mmap lock, wait and retry).
 * The invalidation is MMU_NOTIFY_CLEAR with no owner, as upstream since
 * 6.15 (the device-exclusive fixes that redefined MMU_NOTIFY_EXCLUSIVE as
 * the conversion *to* device-exclusive only; before, the fault-back sent
 * EXCLUSIVE with a NULL owner). No owner: every device invalidates. */
static unsigned device_exclusive_fault(struct fault *f, struct simmm_page *page)
{
	simmm_sim *sim = f->mm->sim;
	struct simmm_page *folio = simmm__compound_head(sim, page);
	struct simmm_change c;
	simmm_entry_t e;
	unsigned ret;

	simmm__folio_get(sim, folio);
	ret = folio_lock_or_retry(f, folio);
	if (ret) {
		simmm__folio_put(sim, folio);
		return ret;
	}
	simmm__change_begin(&c, f->mm, f->addr, f->addr + sim->page_size,
			    SIMMM_MMU_NOTIFY_CLEAR, NULL);
	if (simmm_pgtable_lookup(f->mm->pgt, f->addr, SIMMM_LVL_PTE, &f->slot) == 0 &&
	    *f->slot == f->orig) {
		e = simmm_pte_mkold(simmm__mk_pte(f->mm, f->vma, page->pfn, true));
		if (simmm_pte_swp_soft_dirty(f->orig))
			e = simmm_pte_mksoft_dirty(e);
		set_pte(f, e); /* the mapcount and reference carry over */
		f->mm->stats.exclusive_faults++;
	}
	simmm__change_end(&c);
	simmm__folio_unlock_put(sim, folio);
	return 0;
}

static unsigned do_swap_page(struct fault *f)
{
	simmm_entry_t e = f->orig;
	struct simmm_page *page;

	if (simmm_is_real_swap_entry(e))
		return swap_in(f);
	if (simmm_is_migration_entry(e)) {
		if (f->mm->sim->cur_task)
			f->mm->stats.migration_waits++;
		simmm__migration_entry_wait(f->mm, f->addr, simmm_swp_offset_pfn(e));
		return f->mm->sim->cur_task ? 0 : simmm__fault_retry(f->mm, f->flags);
	}
	if (simmm_is_hwpoison_entry(e) || simmm_is_poisoned_swp_entry(e))
		return SIMMM_VM_FAULT_HWPOISON;
	if (simmm_is_guard_swp_entry(e))
		return SIMMM_VM_FAULT_SIGSEGV;
	if (simmm_is_pte_marker(e))
		return do_pte_missing(f); /* uffd-wp marker: as pte_none */
	page = simmm__pfn_to_page(f->mm->sim, simmm_swp_offset_pfn(e));
	if (!page)
		return SIMMM_VM_FAULT_SIGBUS;
	if (simmm_is_device_exclusive_entry(e))
		return device_exclusive_fault(f, page);
	if (simmm_is_device_private_entry(e))
		return device_private_fault(f, page);
	return SIMMM_VM_FAULT_SIGBUS;
}

/* ---- migration waits ------------------------------------------------------------------ */

struct mig_wait {
	struct simmm_mm *mm;
	simmm_addr_t addr;
	simmm_pfn_t pfn;
};

static bool migration_done(simmm_sim *sim, void *arg)
{
	struct mig_wait *w = arg;
	struct simmm_translation t;

	(void)sim;
	if (simmm_pgtable_translate(w->mm->pgt, w->addr, &t))
		return true;
	return !simmm_is_migration_entry(t.entry) || simmm_swp_offset_pfn(t.entry) != w->pfn;
}

void simmm__migration_entry_wait(struct simmm_mm *mm, simmm_addr_t addr, simmm_pfn_t pfn)
{
	struct simmm_mm_global *g = simmm__mm_global(mm->sim);
	struct mig_wait w = {.mm = mm, .addr = addr, .pfn = pfn};

	/* Without tasks nothing could ever remove the entry: the caller
	 * sees VM_FAULT_RETRY instead of a deadlock. */
	if (!g || !mm->sim->cur_task)
		return;
	simmm_wait_event(mm->sim, &g->migration_wq, migration_done, &w);
}

void simmm__migration_wake(simmm_sim *sim)
{
	struct simmm_mm_global *g = simmm__mm_global(sim);

	if (g)
		simmm_wake_up_all(sim, &g->migration_wq);
}

/* ---- the pte stage ---------------------------------------------------------------------- */

static unsigned handle_pte_fault(struct fault *f)
{
	int err = simmm_pgtable_alloc_level(f->mm->pgt, f->addr, SIMMM_LVL_PTE, &f->slot);

	if (err)
		return err == -ENOMEM ? SIMMM_VM_FAULT_OOM : SIMMM_VM_FAULT_SIGBUS;
	f->orig = *f->slot;
	if (simmm_entry_none(f->orig))
		return do_pte_missing(f);
	if (!simmm_pte_present(f->orig))
		return do_swap_page(f);
	if (simmm_pte_protnone(f->orig)) {
		/* do_numa_page(): the VMA allows access (checked by the
		 * caller), so restore the VMA's protection. */
		simmm_entry_t old = f->orig;

		f->orig = simmm_entry_modify(f->orig, simmm__vma_page_prot(f->vma));
		/* ... and a dirty pte of a write-notify mapping its write bit
		 * (can_change_pte_writable()). */
		if ((f->vma->vm_flags & SIMMM_VM_SHARED) && (f->vma->vm_flags & SIMMM_VM_WRITE) &&
		    simmm__shared_pte_may_write(f->vma, old))
			f->orig = simmm_pte_mkwrite(f->orig);
		set_pte(f, f->orig);
	}
	if ((is_write(f) || is_unshare(f)) && !simmm_pte_write(f->orig))
		return do_wp_page(f);
	/* A spurious fault: the hardware would now set young (and dirty). A
	 * writable entry needs no unsharing: a writable anonymous page is
	 * exclusive. */
	f->orig = simmm_pte_mkyoung(f->orig);
	if (is_write(f))
		f->orig = simmm_pte_mkdirty(f->orig);
	*f->slot = f->orig;
	return 0;
}

/* A non-present PMD leaf: wait for a THP under migration
 * (pmd_migration_entry_wait()), or bring a device-private THP home
 * (do_huge_pmd_device_private(), 6.19+): the driver's migrate_to_ram is
 * called with the folio's head page and vmf->pmd set. */
static unsigned huge_pmd_nonpresent(struct fault *f, simmm_entry_t e)
{
	struct simmm_page *page;

	if (simmm_is_migration_entry(e)) {
		if (f->mm->sim->cur_task)
			f->mm->stats.migration_waits++;
		simmm__migration_entry_wait(f->mm, f->addr, simmm_swp_offset_pfn(e));
		return f->mm->sim->cur_task ? 0 : simmm__fault_retry(f->mm, f->flags);
	}
	if (!simmm_is_device_private_entry(e))
		return SIMMM_VM_FAULT_SIGBUS; /* no other PMD swap entry exists */
	page = simmm__pfn_to_page(f->mm->sim, simmm_swp_offset_pfn(e));
	if (!page)
		return SIMMM_VM_FAULT_SIGBUS;
	f->lvl = SIMMM_LVL_PMD;
	f->orig = e;
	return device_private_fault(f, page);
}

/* The PMD stage: THP faults (huge.c) and existing huge leaves. */
static unsigned handle_pmd_stage(struct fault *f, bool *done)
{
	struct simmm_translation t;
	int err = simmm_pgtable_translate(f->mm->pgt, f->addr, &t);
	unsigned ret;

	*done = false;
	if (err == -ENOENT && t.level >= SIMMM_LVL_PMD &&
	    simmm__thp_vma_allowable(f->mm, f->vma, f->addr)) {
		ret = simmm__do_huge_pmd_anonymous_page(f->mm, f->vma, f->addr, f->flags);
		*done = !(ret & SIMMM_VM_FAULT_FALLBACK);
		return ret;
	}
	if (err || t.level == SIMMM_LVL_PTE)
		return 0;
	if (!t.present && t.level == SIMMM_LVL_PMD) {
		*done = true;
		return huge_pmd_nonpresent(f, t.entry);
	}
	if (!t.present)
		return 0;
	if ((is_write(f) || is_unshare(f)) && !simmm_pte_write(t.entry)) {
		/* wp_huge_pmd() -> do_huge_pmd_wp_page(): a new THP for the
		 * huge zero page, reuse, or split and fall back to ptes (a
		 * write or an unshare alike). */
		ret = simmm__do_huge_pmd_wp_page(f->mm, f->vma, f->addr, f->flags);
		*done = !(ret & SIMMM_VM_FAULT_FALLBACK);
		return ret;
	}
	if (simmm_pgtable_lookup(f->mm->pgt, f->addr, t.level, &f->slot) == 0) {
		simmm_entry_t e = *f->slot;

		if (simmm_pte_protnone(e))
			e = simmm_entry_modify(e, simmm__vma_page_prot(f->vma));
		e = simmm_pte_mkyoung(e);
		*f->slot = is_write(f) ? simmm_pte_mkdirty(e) : e;
	}
	*done = true;
	return 0;
}

/* mm_account_fault(): a retried fault is counted once it completes, as a
 * major one (it could not be handled at once the first time). */
static void account_fault(struct simmm_mm *mm, unsigned flags, unsigned ret)
{
	if (ret & (SIMMM_VM_FAULT_ERROR | SIMMM_VM_FAULT_RETRY))
		return;
	if ((ret & SIMMM_VM_FAULT_MAJOR) || (flags & SIMMM_FAULT_FLAG_TRIED))
		mm->stats.major_faults++;
	else
		mm->stats.minor_faults++;
}

/* The VM_FAULT_RETRY contract, on every return of a fault that may retry:
 * the mmap lock is released exactly when a retry says so. */
static void check_fault_lock(struct simmm_mm *mm, unsigned flags, unsigned ret)
{
	bool held = simmm_lock_held(mm->sim, &mm->mmap_lock.map) == SIMMM_LOCK_READ;

	if (flags & SIMMM_FAULT_FLAG_ALLOW_RETRY)
		ALWAYS(held != ((ret & SIMMM_VM_FAULT_RETRY) && retry_releases(flags)));
}

/* sanitize_fault_flags(): FAULT_FLAG_UNSHARE never comes with WRITE (a
 * WARN, SIGSEGV) and means nothing outside COW mappings, where it becomes
 * an ordinary read fault. Return: 0 or VM_FAULT_SIGSEGV. */
static unsigned sanitize_fault_flags(struct simmm_mm *mm, struct simmm_vma *vma, unsigned *flags)
{
	if (!(*flags & SIMMM_FAULT_FLAG_UNSHARE))
		return 0;
	if (*flags & SIMMM_FAULT_FLAG_WRITE) {
		simmm__report(mm->sim, SIMMM_REPORT_WARN,
			      "handle_mm_fault: FAULT_FLAG_UNSHARE with FAULT_FLAG_WRITE");
		return SIMMM_VM_FAULT_SIGSEGV;
	}
	if (!simmm__is_cow_mapping(vma->vm_flags))
		*flags &= ~SIMMM_FAULT_FLAG_UNSHARE;
	return 0;
}

unsigned simmm__handle_mm_fault(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t addr,
				unsigned flags)
{
	struct fault f = {.mm = mm, .vma = vma, .real = addr,
			  .addr = addr & ~(mm->sim->page_size - 1)};
	unsigned ret = sanitize_fault_flags(mm, vma, &flags);
	bool done;

	if (ret)
		return ret; /* an error: not accounted (mm_account_fault()) */
	f.flags = flags;
	if (vma->vm_flags & SIMMM_VM_HUGETLB) {
		ret = simmm__hugetlb_fault(mm, vma, addr, flags);
		if (!(ret & SIMMM_VM_FAULT_ERROR))
			mm->stats.hugetlb_faults++;
	} else {
		ret = handle_pmd_stage(&f, &done);
		if (!done)
			ret = handle_pte_fault(&f);
	}
	account_fault(mm, flags, ret);
	check_fault_lock(mm, flags, ret);
	return ret;
}

/* access_error() / check_vma_flags(): may this access fault at all? */
bool simmm__fault_access_ok(const struct simmm_vma *vma, unsigned flags)
{
	if (flags & SIMMM_FAULT_FLAG_WRITE)
		return vma->vm_flags & SIMMM_VM_WRITE;
	if (flags & SIMMM_FAULT_FLAG_INSTRUCTION)
		return vma->vm_flags & SIMMM_VM_EXEC;
	return vma->vm_flags & (SIMMM_VM_READ | SIMMM_VM_WRITE | SIMMM_VM_EXEC);
}

unsigned simmm_handle_mm_fault(struct simmm_mm *mm, simmm_addr_t addr, unsigned fault_flags)
{
	struct simmm_vma *vma;

	if (!simmm__mm_ok(mm) || mm->mm_users <= 0)
		return SIMMM_VM_FAULT_SIGSEGV;
	/* release_fault_lock() is mmap_read_unlock(): retrying needs the
	 * lock held for read. */
	if ((fault_flags & SIMMM_FAULT_FLAG_ALLOW_RETRY) &&
	    simmm_lock_held(mm->sim, &mm->mmap_lock.map) != SIMMM_LOCK_READ) {
		simmm__report(mm->sim, SIMMM_REPORT_MISUSE,
			      "handle_mm_fault(FAULT_FLAG_ALLOW_RETRY) without the mmap lock "
			      "of mm %llu held for read", (unsigned long long)mm->id);
		return SIMMM_VM_FAULT_SIGSEGV;
	}
	vma = simmm__vma_lookup(mm, addr);
	if (!vma || !simmm__fault_access_ok(vma, fault_flags))
		return SIMMM_VM_FAULT_SIGSEGV;
	return simmm__handle_mm_fault(mm, vma, addr, fault_flags);
}
