// SPDX-License-Identifier: MIT
/*
 * Dirty tracking of shared file mappings: write-notify, folio_mkclean(),
 * fsync and msync (mm/mmap.c's vma_wants_writenotify(), mm/rmap.c's mkclean
 * half, mm/page-writeback.c's folio_clear_dirty_for_io(), mm/msync.c).
 *
 * A shared writable mapping of a file that can be written back (a regular
 * simmm file; not shmem, whose backing device has no writeback) "wants
 * write-notify": its vm_page_prot lacks the write bit, so a read fault maps
 * the page read-only and clean, and the first write takes a write-protect
 * fault (wp_page_shared(): page_mkwrite under the folio lock, the folio
 * marked dirty, the pte made writable and dirty). Writeback undoes that:
 * folio_clear_dirty_for_io() write-protects and cleans every pte mapping
 * the folio in a shared VMA (page_mkclean_one(), inside an
 * MMU_NOTIFY_PROTECTION_PAGE invalidation of the folio's span in that VMA,
 * issued for each shared VMA the rmap walk visits, cleaned or not), moves
 * their dirty bits to the folio, and test-and-clears its dirty flag; the
 * data then goes to the backing store. So a writable pte in such a VMA
 * always maps a dirty folio: the next write after a writeback faults and
 * dirties it again (the invariant checker enforces this).
 *
 * The writer holds the folio lock from before the mkclean until the data is
 * written, as write_cache_pages() does; the write-protect fault's
 * page_mkwrite waits for it (fault.c), so a write that races with the
 * notifier callbacks (which may sleep) is either seen by the mkclean or
 * faults again after the writeback. simmm's I/O is synchronous: no
 * PG_writeback window, no flusher threads, no dirty throttling, no
 * dirty-page accounting per bdi. MS_ASYNC does nothing (as upstream since
 * 2.6.19); MS_INVALIDATE only checks for VM_LOCKED.
 *
 * A truncation or hole punch (truncate.c) waits for the writer's folio
 * lock, as truncate_inode_pages_range() waits for the folio lock and then
 * folio_wait_writeback(); a writeback that locks a folio truncated meanwhile
 * finds folio->mapping changed and skips it.
 *
 * Not modelled: soft-dirty write-notify (vma_soft_dirty_enabled(): simmm's
 * VMAs never carry VM_SOFTDIRTY), uffd-wp write-notify of shared mappings,
 * file THPs (the page cache holds order-0 folios), block_write_full_folio()'s
 * zeroing of a page's bytes past EOF.
 */
#include <errno.h>

#include <simmm/mmu_notifier.h>

#include "mm/mm.h"

/* mapping_can_writeback(): simmm's regular files write back to their
 * store; tmpfs (shmem) has nothing to write back to. */
static bool file_can_writeback(const struct simmm_file *file)
{
	return file && !(file->flags & SIMMM_FILE_SHMEM);
}

bool simmm__vma_wants_writenotify(const struct simmm_vma *vma)
{
	/* vma_wants_writenotify(): only shared writable mappings, here those
	 * of a file with writeback (no ->page_mkwrite drivers, no pfnmaps of
	 * files, no soft-dirty or uffd-wp tracking of shared mappings). */
	if ((vma->vm_flags & (SIMMM_VM_WRITE | SIMMM_VM_SHARED)) !=
	    (SIMMM_VM_WRITE | SIMMM_VM_SHARED))
		return false;
	/* hugetlbfs has no writeback either, whatever file backs it here. */
	if (vma->vm_flags & (SIMMM_VM_PFNMAP | SIMMM_VM_MIXEDMAP | SIMMM_VM_HUGETLB))
		return false;
	return file_can_writeback(vma->file);
}

bool simmm__shared_pte_may_write(const struct simmm_vma *vma, simmm_entry_t e)
{
	return !simmm__vma_wants_writenotify(vma) || simmm_pte_dirty(e);
}

uint64_t simmm__vma_page_prot(const struct simmm_vma *vma)
{
	uint64_t p = simmm__vm_get_page_prot(vma->vm_flags);

	/* vma_set_page_prot(): protection_map[] of the flags without
	 * VM_SHARED when write-notify is wanted (read-only ptes). */
	if (simmm__vma_wants_writenotify(vma))
		p &= ~(uint64_t)SIMMM_E_WRITE;
	return p;
}

/* ---- folio_mkclean() ------------------------------------------------------------- */

/* page_mkclean_one(): write-protect and clean the ptes of @folio in @vma,
 * inside one PROTECTION_PAGE invalidation of the folio's span there. */
static bool mkclean_one(struct simmm_page *folio, struct simmm_vma *vma, simmm_addr_t addr,
			void *a)
{
	int *cleaned = a;
	struct simmm_mm *mm = vma->mm;
	unsigned shift = simmm__page_shift(mm);
	simmm_addr_t end;
	struct simmm_change c;
	bool any = false;

	/* invalid_mkclean_vma(): private mappings keep their COW copies. */
	if (!(vma->vm_flags & SIMMM_VM_SHARED))
		return true;
	simmm__folio_span(folio, vma, addr, &end);
	if (simmm__change_begin(&c, mm, addr, end, SIMMM_MMU_NOTIFY_PROTECTION_PAGE, NULL))
		return true; /* blockable: cannot fail */
	/* The callbacks may have slept: look the entries up now. */
	for (simmm_addr_t p = addr; p < end; p += 1ULL << shift) {
		enum simmm_level lvl = SIMMM_LVL_PTE;
		simmm_entry_t *slot, e;

		if (!simmm__page_vma_mapped(vma, p, folio, &slot, &lvl) ||
		    !simmm_pte_present(*slot))
			continue;
		e = *slot;
		if (!simmm_pte_dirty(e) && !simmm_pte_write(e))
			continue;
		simmm_pgtable_set(mm->pgt, p, lvl, simmm_pte_mkclean(simmm_pte_wrprotect(e)));
		any = true;
		if (lvl != SIMMM_LVL_PTE)
			break; /* one leaf maps the whole folio */
	}
	simmm__change_end(&c);
	if (any)
		(*cleaned)++;
	return true;
}

int simmm__folio_mkclean(simmm_sim *sim, struct simmm_page *folio)
{
	int cleaned = 0;

	if (!folio->mapping || (folio->flags & PG_anon) || !simmm__folio_mapcount(sim, folio))
		return 0;
	simmm__rmap_walk(sim, folio, mkclean_one, &cleaned);
	return cleaned;
}

/* folio_clear_dirty_for_io() up to the test: the ptes' dirty bits move to
 * the folio; is it dirty? Called with the folio locked. The clear itself is
 * simmm__filemap_writeback()'s, with no scheduling point in between. */
static bool folio_dirty_for_io(simmm_sim *sim, struct simmm_page *folio)
{
	if (simmm__folio_mkclean(sim, folio))
		folio->flags |= PG_dirty;
	return folio->flags & PG_dirty;
}

/* ---- fsync ------------------------------------------------------------------------ */

int simmm__file_sync_range(struct simmm_file *file, uint64_t first, uint64_t last)
{
	simmm_sim *sim = file->sim;
	int err = 0;

	if (!file_can_writeback(file))
		return 0; /* noop_fsync() */
	/* Hold the file across the sleeps (the caller may have dropped the
	 * mmap lock, and the VMA its reference). */
	simmm__file_get(file);
	/* write_cache_pages() in WB_SYNC_ALL mode over the dirty folios of
	 * [first, last]: lock each (sleeping), clear dirty for io, write. */
	for (uint64_t index = first; index <= last && index < file->cache_cap; index++) {
		struct simmm_page *folio = simmm__filemap_lookup(file, index);

		if (!folio || !(folio->flags & PG_dirty))
			continue;
		simmm__folio_get(sim, folio);
		err = simmm__folio_lock(sim, folio);
		if (err) {
			simmm__put_user_folio(sim, folio);
			break;
		}
		/* ->writepage(): the data goes to the store, PG_dirty cleared. */
		if (folio->mapping == file && simmm__filemap_lookup(file, index) == folio &&
		    folio_dirty_for_io(sim, folio))
			simmm__filemap_writeback(file, folio);
		simmm__folio_unlock(sim, folio);
		simmm__put_user_folio(sim, folio);
	}
	/* filemap_check_errors(): a write lost since the last sync (a dirty
	 * page memory_failure() dropped) is reported once. */
	if (!err && file->wb_err) {
		err = file->wb_err;
		file->wb_err = 0;
	}
	simmm__file_put(file);
	return err;
}

int simmm_file_fsync(struct simmm_file *file)
{
	if (!simmm__file_ok(file))
		return -EINVAL;
	return simmm__file_sync_range(file, 0, UINT64_MAX);
}

/* ---- msync ------------------------------------------------------------------------ */

int simmm_msync(struct simmm_mm *mm, simmm_addr_t start, uint64_t len, int flags)
{
	simmm_sim *sim;
	unsigned shift;
	simmm_addr_t end;
	struct simmm_vma *vma;
	int err, unmapped = 0;

	if (!simmm__mm_ok(mm))
		return -EINVAL;
	sim = mm->sim;
	shift = sim->geo.page_shift;
	if (flags & ~(SIMMM_MS_ASYNC | SIMMM_MS_INVALIDATE | SIMMM_MS_SYNC))
		return -EINVAL;
	if (start & (sim->page_size - 1))
		return -EINVAL;
	if ((flags & SIMMM_MS_ASYNC) && (flags & SIMMM_MS_SYNC))
		return -EINVAL;
	if (len > UINT64_MAX - (sim->page_size - 1))
		return -ENOMEM;
	len = (len + sim->page_size - 1) & ~(sim->page_size - 1);
	end = start + len;
	if (end < start)
		return -ENOMEM;
	if (end == start)
		return 0;
	/* Unmapped holes are skipped and reported as -ENOMEM at the end;
	 * plain MS_ASYNC stops at the first one (nothing to do anyway). */
	err = simmm_mmap_read_lock(mm);
	if (err)
		return err;
	vma = simmm__find_vma(mm, start);
	for (;;) {
		struct simmm_file *file;
		uint64_t fstart, fend;

		err = -ENOMEM;
		if (!vma)
			break;
		if (start < vma->vm_start) {
			if (flags == SIMMM_MS_ASYNC)
				break;
			start = vma->vm_start;
			if (start >= end)
				break;
			unmapped = -ENOMEM;
		}
		if ((flags & SIMMM_MS_INVALIDATE) && (vma->vm_flags & SIMMM_VM_LOCKED)) {
			err = -EBUSY;
			break;
		}
		file = vma->file;
		fstart = simmm__linear_page_index(vma, start, shift);
		fend = fstart + (((end < vma->vm_end ? end : vma->vm_end) - start) >> shift) - 1;
		start = vma->vm_end;
		if ((flags & SIMMM_MS_SYNC) && file && (vma->vm_flags & SIMMM_VM_SHARED)) {
			/* vfs_fsync_range() without the mmap lock. */
			simmm__file_get(file);
			simmm_mmap_read_unlock(mm);
			err = simmm__file_sync_range(file, fstart, fend);
			simmm__file_put(file);
			if (err || start >= end)
				return err ? err : unmapped;
			err = simmm_mmap_read_lock(mm);
			if (err)
				return err;
			vma = simmm__find_vma(mm, start);
		} else {
			if (start >= end) {
				err = 0;
				break;
			}
			vma = simmm__find_vma(mm, start);
		}
	}
	simmm_mmap_read_unlock(mm);
	return err ? err : unmapped;
}

/* ---- checks ----------------------------------------------------------------------- */

bool simmm__writenotify_pte_ok(const struct simmm_vma *vma, simmm_entry_t e,
			       const struct simmm_page *folio)
{
	/* A writable pte of a write-notify mapping maps a dirty folio:
	 * clear_dirty_for_io() write-protects before it cleans, and the
	 * write fault dirties before it makes the pte writable. */
	return !simmm_pte_write(e) || !simmm__vma_wants_writenotify(vma) ||
	       (folio->flags & PG_dirty);
}
