// SPDX-License-Identifier: MIT
/*
 * Truncation and hole punching, as Linux 6.12 to 6.17 do them:
 * truncate_setsize() + truncate_pagecache() (mm/truncate.c) and
 * shmem_setattr() for ftruncate(2), truncate_pagecache_range() and
 * shmem_fallocate(FALLOC_FL_PUNCH_HOLE) for fallocate(2), with
 * mm/memory.c's unmap_mapping_range() family for the page tables.
 *
 * A shrink writes i_size first, then zaps every VMA mapping the file from
 * the new EOF's page on (unmap_mapping_range(even_cows = 1): private COW
 * copies go too), removes the page cache from there (each folio locked:
 * truncation waits for whoever holds it, a writeback included, which in
 * simmm holds the lock for its whole I/O; a folio mapped again meanwhile
 * by a raced fault is unmapped again; pinned folios leave the cache and
 * live on for their holders) and its shadow entries (workingset.c),
 * zeroes the partial last page beyond EOF,
 * zaps again (private pages COWed meanwhile), and drops the backing store
 * beyond EOF. Faults see the new i_size at once: filemap_fault()'s
 * checks (fault.c) give SIGBUS past EOF, and a fault whose folio left the
 * cache while it slept looks again. A hole punch unmaps the whole pages of
 * the hole without even_cows (private COW copies stay), removes them from
 * the cache, zeroes the partial pages at its edges and the store's range;
 * the size does not change.
 *
 * The zaps run as zap_page_range_single() with zap_details: one
 * MMU_NOTIFY_CLEAR invalidation over each VMA's part, page tables kept
 * (unlike munmap's zap, they are not freed: the mm's mmap lock is not
 * held, and walkers under it rely on their tables staying).
 *
 * Locking: the file's i_rwsem for write, then i_mmap_rwsem for read
 * around each unmap, folio locks one at a time; no mmap lock.
 *
 * hugetlb: simmm keeps a file's hugetlb pages in the hugetlb pool's table,
 * not its page cache, and only shared anonymous hugetlb mappings have a
 * file (no hugetlbfs files to truncate). simmm__hugetlb_punch_hole() is
 * hugetlbfs_punch_hole() for MADV_REMOVE on them; the other paths here
 * leave hugetlb VMAs alone. Not modelled: hugetlb_vmtruncate().
 * Also not modelled: shmem_fallocate()'s
 * shmem_falloc_waitq (faults into a hole being punched wait for the
 * punch); the mapping's invalidate_lock, which a filesystem's punch and
 * truncation hold for write and which filemap_fault() and
 * filemap_create_folio() take shared before they read a missing page, so
 * that no page is read back from blocks about to be freed. simmm gets
 * the same outcome without the wait: the backing store of the range is
 * emptied before the page cache (a fault or read that misses reads
 * zeros), and again page by page under each folio lock as the folio
 * leaves (a writeback may have written it meanwhile), so a page of the
 * range is never re-read from the old bytes (found by fuzz_races' T ops:
 * a device fault into a MADV_REMOVE hole read back a page older than
 * the last write); large folios in the page cache (simmm's are order 0, so
 * truncate_inode_partial_folio() never splits); pagecache_isize_extended(),
 * which does nothing for simmm's one-page blocks.
 */
#include <errno.h>
#include <string.h>

#include <simmm/mmu_notifier.h>

#include "mm/mm.h"
#include "mm/mm_ext.h"

/* ---- unmap_mapping_range() ---------------------------------------------------- */

/*
 * struct zap_details, the two fields simmm's callers use: @even_cows zaps
 * private COW (anonymous) pages and swap entries too; @drop_markers drops
 * guard and uffd-wp markers (ZAP_FLAG_DROP_MARKER, unmap_mapping_folio()).
 */
struct zap_details {
	bool even_cows;
	bool drop_markers;
	bool hugetlb; /* hugetlb_vmdelete_list(): the file's hugetlb VMAs, whole */
};

struct unmap_walk {
	struct simmm_zap z;
	const struct zap_details *d;
};

/* Is @page's folio anonymous (a private COW copy), i.e. kept without
 * even_cows (should_zap_folio())? */
static bool cow_page(simmm_sim *sim, struct simmm_page *page)
{
	return page && (simmm__compound_head(sim, page)->flags & PG_anon);
}

/* should_zap_cows() / should_zap_folio() / zap_drop_markers() as
 * zap_present_ptes() and zap_nonpresent_ptes() apply them to @e. */
static bool should_zap(const struct unmap_walk *u, simmm_entry_t e)
{
	simmm_sim *sim = u->z.mm->sim;

	if (simmm_pte_present(e))
		return u->d->even_cows || !cow_page(sim, simmm__vm_normal_page(u->z.vma, e));
	if (simmm_is_device_private_entry(e) || simmm_is_device_exclusive_entry(e) ||
	    simmm_is_migration_entry(e))
		return u->d->even_cows ||
		       !cow_page(sim, simmm__pfn_to_page(sim, simmm_swp_offset_pfn(e)));
	/* Genuine swap entries are private anonymous pages; so are the
	 * hwpoison entries and poison markers that replaced them. */
	if (simmm_is_real_swap_entry(e) || simmm_is_hwpoison_entry(e) ||
	    simmm_is_poisoned_swp_entry(e))
		return u->d->even_cows;
	/* Guard markers, and uffd-wp markers in a file VMA, stay unless the
	 * zap drops markers. */
	if (simmm_is_pte_marker(e))
		return u->d->drop_markers;
	return true;
}

static int unmap_cb(simmm_entry_t *slot, simmm_addr_t addr, simmm_addr_t next,
		    struct simmm_walk *walk)
{
	struct unmap_walk *u = walk->private;
	simmm_entry_t old = *slot;

	(void)next;
	if (simmm_entry_none(old) || simmm_entry_is_table(old, walk->level))
		return 0;
	walk->action = SIMMM_WALK_CONTINUE;
	/* File VMAs hold small folios only (no file THPs, no anonymous THP
	 * outside anonymous VMAs); hugetlb VMAs, walked only by a hugetlb
	 * punch (unmap_hugepage_range(): the caller aligned the range to
	 * huge pages), hold huge leaves only. */
	if (NEVER((walk->level != SIMMM_LVL_PTE) != u->d->hugetlb) || !should_zap(u, old))
		return 0;
	simmm_walk_update(walk, slot, 0);
	simmm__zap_one(&u->z, addr, walk->level, old);
	return 0;
}

static const struct simmm_walk_ops unmap_ops = {
	.pud_entry = unmap_cb,
	.pmd_entry = unmap_cb,
	.pte_entry = unmap_cb,
	.pte_skip_none = true,
};

/* zap_page_range_single(vma, start, end - start, details): one CLEAR
 * invalidation (no owner: every device invalidates), the walk between
 * its start and end (no scheduling point, so the zap batch is sound). */
static void zap_vma_range(struct simmm_vma *vma, simmm_addr_t start, simmm_addr_t end,
			  const struct zap_details *d)
{
	struct simmm_mm *mm = vma->mm;
	struct unmap_walk u = {.d = d};
	struct simmm_change c;

	if (simmm__change_begin(&c, mm, start, end, SIMMM_MMU_NOTIFY_CLEAR, NULL))
		return; /* only a non-blockable bracket fails; this one blocks */
	simmm__zap_begin(&u.z, mm, vma);
	simmm_walk_range(mm->pgt, start, end, &unmap_ops, &u);
	simmm__zap_end(&u.z);
	simmm__change_end(&c);
}

/*
 * unmap_mapping_range_tree() under i_mmap_lock_read(): each VMA mapping a
 * page of [@first, @last] zaps its part. The read lock keeps every VMA of
 * the tree linked (and its bounds) across the notifier brackets' sleeps;
 * the tree's order (pgoff, then link order) is the one mremap's
 * need_rmap_locks rule relies on, so an entry moving between two VMAs is
 * seen in one of them. hugetlb VMAs are left alone (see above).
 */
static void unmap_mapping_range_tree(struct simmm_file *file, uint64_t first, uint64_t last,
				     const struct zap_details *d)
{
	simmm_sim *sim = file->sim;
	unsigned shift = sim->geo.page_shift;
	struct simmm_itree_node *n;

	if (simmm_down_read(sim, &file->i_mmap_rwsem))
		return;
	for (n = simmm__itree_iter_first(&file->i_mmap, first, last); n;) {
		struct simmm_itree_node *next = simmm__itree_iter_next(n, first, last);
		struct simmm_vma *vma =
			(struct simmm_vma *)((char *)n - offsetof(struct simmm_vma, file_node));
		uint64_t vba = vma->vm_pgoff, vea = vba + simmm__vma_pages(vma) - 1;
		uint64_t zba = first > vba ? first : vba, zea = last < vea ? last : vea;

		if (!!(vma->vm_flags & SIMMM_VM_HUGETLB) == d->hugetlb)
			zap_vma_range(vma, vma->vm_start + ((zba - vba) << shift),
				      vma->vm_start + ((zea - vba + 1) << shift), d);
		n = next;
	}
	simmm_up_read(sim, &file->i_mmap_rwsem);
}

/* unmap_mapping_pages(): pages [@start, @start + @nr) of @file, @nr 0 for
 * "to the end". */
static void unmap_mapping_pages(struct simmm_file *file, uint64_t start, uint64_t nr,
				bool even_cows)
{
	const struct zap_details d = {.even_cows = even_cows};
	uint64_t last = start + nr - 1;

	if (last < start)
		last = UINT64_MAX;
	unmap_mapping_range_tree(file, start, last, &d);
}

/* unmap_mapping_folio(): the locked @folio is still mapped (a fault raced
 * the first unmap): zap its pages in every VMA of its file, COW copies
 * kept, markers dropped (ZAP_FLAG_DROP_MARKER, as upstream). */
static void unmap_mapping_folio(struct simmm_file *file, struct simmm_page *folio)
{
	const struct zap_details d = {.even_cows = false, .drop_markers = true};

	unmap_mapping_range_tree(file, folio->index, folio->index + (1ULL << folio->order) - 1,
				 &d);
}

/* ---- truncate_inode_pages_range() ------------------------------------------------ */

/* truncate_inode_folio(): a locked folio still in @file's cache leaves it,
 * unmapped first if a fault mapped it again (truncate_cleanup_folio()).
 * Its page of the backing store goes too, under the folio lock: a
 * writeback (which holds the lock) may have written it back since the
 * store was emptied at the start, and a fault that finds the cache empty
 * from now on must read zeros, not those bytes (see "invalidate_lock"
 * above). */
static void truncate_inode_folio(struct simmm_file *file, struct simmm_page *folio)
{
	unsigned shift = file->sim->geo.page_shift;

	if (folio->mapping != file)
		return;
	if (simmm__folio_mapcount(file->sim, folio))
		unmap_mapping_folio(file, folio);
	simmm__file_store_zero(file, folio->index << shift, (folio->index + 1) << shift);
	simmm__filemap_remove(file, folio);
}

/*
 * The folio cached at @index, referenced and locked, or NULL: none, or
 * (@wait false, find_lock_entries()) its lock is busy, or (@wait true) the
 * lock could not be taken (outside tasks, a lock nobody could release).
 * A folio that left the cache or moved (migration) while we slept on its
 * lock is looked up again.
 */
static struct simmm_page *lock_cached(struct simmm_file *file, uint64_t index, bool wait)
{
	simmm_sim *sim = file->sim;

	for (;;) {
		struct simmm_page *folio = simmm__filemap_lookup(file, index);

		if (!folio)
			return NULL;
		simmm__folio_get(sim, folio); /* pairs with simmm__folio_unlock_put() */
		if (wait ? simmm__folio_lock(sim, folio) != 0 : !simmm__folio_trylock(sim, folio)) {
			simmm__put_user_folio(sim, folio);
			return NULL;
		}
		if (folio->mapping == file && simmm__filemap_lookup(file, index) == folio)
			return folio;
		simmm__folio_unlock_put(sim, folio);
	}
}

/* truncate_inode_partial_folio() for simmm's order-0 folios: zero the part
 * of the locked @folio inside [@lstart, @lend] (folio_zero_range()), or
 * truncate it when that is all of it. */
static void truncate_partial(struct simmm_file *file, struct simmm_page *folio, uint64_t lstart,
			     uint64_t lend)
{
	simmm_sim *sim = file->sim;
	uint64_t pos = folio->index << sim->geo.page_shift, size = sim->page_size;
	uint64_t offset = pos < lstart ? lstart - pos : 0;
	uint64_t length = pos + size - 1 <= lend ? size - offset : lend + 1 - pos - offset;
	uint8_t *data;

	if (length == size) {
		truncate_inode_folio(file, folio);
		return;
	}
	data = simmm__page_data(sim, folio, false);
	if (data) /* no contents: zeros already */
		memset(data + offset, 0, length);
	/* the store's part too, under the lock (as truncate_inode_folio()) */
	simmm__file_store_zero(file, pos + offset, pos + offset + length);
}

/* Remove the cached folios of [@start, @end) (page indices), locking
 * each; @wait: sleep on busy locks (the second pass), else skip them.
 * Return: whether any was removed. */
static bool truncate_pass(struct simmm_file *file, uint64_t start, uint64_t end, bool wait)
{
	bool removed = false;

	for (uint64_t index = start; index < end && index < file->cache_cap; index++) {
		struct simmm_page *folio;

		if (!simmm__filemap_lookup(file, index))
			continue;
		folio = lock_cached(file, index, wait);
		if (!folio)
			continue;
		truncate_inode_folio(file, folio);
		simmm__folio_unlock_put(file->sim, folio);
		removed = true;
	}
	return removed;
}

/*
 * truncate_inode_pages_range(): remove the page cache of bytes [@lstart,
 * @lend] (@lend UINT64_MAX: to the end), zeroing the parts of partial
 * pages at the edges: a non-blocking pass, the partial folios (locked,
 * sleeping), then passes that sleep on each lock until one finds nothing
 * left to remove (upstream restarts "to make sure all gone"), then the
 * shadow entries of the whole pages.
 */
static void truncate_inode_pages_range(struct simmm_file *file, uint64_t lstart, uint64_t lend)
{
	simmm_sim *sim = file->sim;
	unsigned shift = sim->geo.page_shift;
	uint64_t start = (lstart + sim->page_size - 1) >> shift;
	uint64_t end = lend == UINT64_MAX ? UINT64_MAX : (lend + 1) >> shift;
	bool same_folio = (lstart >> shift) == (lend >> shift);
	struct simmm_page *folio;

	truncate_pass(file, start, end, false);
	folio = lock_cached(file, lstart >> shift, true);
	if (folio) {
		same_folio = lend < ((folio->index + 1) << shift);
		truncate_partial(file, folio, lstart, lend);
		simmm__folio_unlock_put(sim, folio);
	}
	if (!same_folio) {
		folio = lock_cached(file, lend >> shift, true);
		if (folio) {
			truncate_partial(file, folio, lstart, lend);
			simmm__folio_unlock_put(sim, folio);
		}
	}
	while (truncate_pass(file, start, end, true))
		;
	/* The range's shadow entries go too (find_lock_entries() and
	 * find_get_entries() return them, truncate_folio_batch_exceptionals()
	 * deletes them): a refault after the truncation is a new folio, not a
	 * returning one. Swept once every folio is gone: a folio reclaim
	 * evicted while a pass slept left its shadow after that pass. */
	simmm__filemap_drop_shadows(file, start, end);
}

/* ---- ftruncate and fallocate ------------------------------------------------------ */

/*
 * truncate_pagecache() (shmem_setattr() the same, but it unmaps only when
 * whole pages lie beyond the new EOF): unmap, truncate, unmap again for
 * the private pages COWed meanwhile ("hence the second unmap_mapping_range
 * call must be made for correctness"), then the filesystem drops its
 * blocks past EOF.
 */
static void truncate_pagecache(struct simmm_file *file, uint64_t oldsize, uint64_t newsize)
{
	simmm_sim *sim = file->sim;
	uint64_t holebegin = (newsize + sim->page_size - 1) & ~(sim->page_size - 1);
	bool unmap = !(file->flags & SIMMM_FILE_SHMEM) || oldsize > holebegin;

	/* the store past EOF first, as a punch does it (the EOF page's
	 * tail: a fault of it that finds it no longer cached) */
	simmm__file_store_zero(file, newsize, UINT64_MAX);
	if (unmap)
		unmap_mapping_pages(file, holebegin >> sim->geo.page_shift, 0, true);
	truncate_inode_pages_range(file, newsize, UINT64_MAX);
	if (unmap)
		unmap_mapping_pages(file, holebegin >> sim->geo.page_shift, 0, true);
	simmm__file_store_zero(file, newsize, UINT64_MAX);
}

int simmm_file_truncate(struct simmm_file *file, uint64_t new_size)
{
	uint64_t oldsize;
	int err;

	if (!simmm__file_ok(file))
		return -EINVAL;
	/* do_ftruncate(): an fd not open for writing (a SIMMM_FILE_RDONLY
	 * file's only one) is -EINVAL, before any size check. */
	if (file->flags & SIMMM_FILE_RDONLY)
		return -EINVAL;
	/* inode_newsize_ok(): past the largest size simmm can address. */
	if (new_size > (SIMMM_SWP_OFFSET_MAX << file->sim->geo.page_shift))
		return -EFBIG;
	simmm__file_get(file);
	err = simmm_down_write(file->sim, &file->i_rwsem);
	if (err)
		goto out;
	oldsize = file->size;
	/* truncate_setsize(): i_size first, so that a fault from now on
	 * sees it; growing needs nothing more (pagecache_isize_extended()
	 * does nothing for one-page blocks). An equal size still zeroes the
	 * partial page past EOF, as both setattr paths do. */
	file->size = new_size;
	if (new_size <= oldsize)
		truncate_pagecache(file, oldsize, new_size);
	simmm_up_write(file->sim, &file->i_rwsem);
out:
	simmm__file_put(file);
	return err;
}

int simmm__file_punch_hole(struct simmm_file *file, uint64_t off, uint64_t len)
{
	simmm_sim *sim = file->sim;
	uint64_t ps = sim->page_size;
	uint64_t unmap_start = (off + ps - 1) & ~(ps - 1), unmap_end = (off + len) & ~(ps - 1);
	int err = simmm_down_write(sim, &file->i_rwsem);

	if (err)
		return err;
	/* The store first (see "invalidate_lock" above): a fault or read
	 * that finds a page of the hole no longer cached reads zeros. */
	simmm__file_store_zero(file, off, off + len);
	/* truncate_pagecache_range() / shmem_fallocate(): the whole pages of
	 * the hole are unmapped once, without even_cows: "hole-punching
	 * should not remove private COWed pages from the hole". */
	if (unmap_end > unmap_start)
		unmap_mapping_pages(file, unmap_start >> sim->geo.page_shift,
				    (unmap_end - unmap_start) >> sim->geo.page_shift, false);
	truncate_inode_pages_range(file, off, off + len - 1);
	simmm__file_store_zero(file, off, off + len);
	simmm_up_write(sim, &file->i_rwsem);
	return 0;
}

/* hugetlbfs_zero_partial_page(): zero bytes [@start, @end) of the shared
 * huge page holding @start, if the file has one there. */
static void hugetlb_zero_partial(struct simmm_file *file, unsigned order, uint64_t start,
				 uint64_t end)
{
	simmm_sim *sim = file->sim;
	unsigned shift = sim->geo.page_shift;
	struct simmm_page *folio = simmm__hugetlb_shared_lookup(sim, file, start >> (shift + order));

	if (!folio)
		return;
	for (uint64_t pos = start; pos < end;) {
		uint64_t next = ((pos >> shift) + 1) << shift;
		struct simmm_page *page = simmm__pfn_to_page(
			sim, folio->pfn + ((pos >> shift) & ((1ULL << order) - 1)));
		uint8_t *data = simmm__page_data(sim, page, false);

		if (next > end)
			next = end;
		if (data) /* no contents: zeros already */
			memset(data + (pos & (sim->page_size - 1)), 0, next - pos);
		pos = next;
	}
}

/*
 * hugetlbfs_punch_hole() (MADV_REMOVE on a shared hugetlb mapping, through
 * fallocate): the partial huge pages at the edges are zeroed in place, the
 * whole ones are unmapped from every VMA of the file (hugetlb_vmdelete_list():
 * unmap_hugepage_range(), one CLEAR invalidation per VMA) and leave the
 * file (remove_inode_hugepages(), each under its fault mutex); one mapped
 * again by a fault that ran before the mutex is unmapped again first. The file's hugetlb pages live in the pool's table
 * (hugetlb.c), not in its page cache; its size does not change.
 */
int simmm__hugetlb_punch_hole(struct simmm_file *file, uint64_t off, uint64_t len,
			      unsigned order)
{
	simmm_sim *sim = file->sim;
	unsigned shift = sim->geo.page_shift;
	uint64_t hps = sim->page_size << order;
	uint64_t hole_start = (off + hps - 1) & ~(hps - 1), hole_end = (off + len) & ~(hps - 1);
	const struct zap_details d = {.even_cows = true, .hugetlb = true};
	int err = simmm_down_write(sim, &file->i_rwsem);

	if (err)
		return err;
	if (off < hole_start)
		hugetlb_zero_partial(file, order, off, off + len < hole_start ? off + len : hole_start);
	if (hole_end > hole_start)
		unmap_mapping_range_tree(file, hole_start >> shift, (hole_end >> shift) - 1, &d);
	if (off + len > hole_end && off + len > hole_start)
		hugetlb_zero_partial(file, order, hole_end, off + len);
	/* remove_inode_hugepages(): each page under its fault mutex, so no
	 * fault maps it between the unmap and the removal; one a fault mapped
	 * again since the unmap above is unmapped again first. */
	for (uint64_t pos = hole_start; pos < hole_end && !err; pos += hps) {
		uint64_t index = pos >> (shift + order);

		err = simmm__hugetlb_fault_mutex_lock(sim, index);
		if (err)
			break;
		if (!simmm__hugetlb_shared_remove(sim, file, index)) {
			unmap_mapping_range_tree(file, pos >> shift, ((pos + hps) >> shift) - 1, &d);
			NEVER(!simmm__hugetlb_shared_remove(sim, file, index));
		}
		simmm__hugetlb_fault_mutex_unlock(sim, index);
	}
	simmm_up_write(sim, &file->i_rwsem);
	return err;
}

int simmm_file_punch_hole(struct simmm_file *file, uint64_t off, uint64_t len)
{
	int err;

	if (!simmm__file_ok(file) || !len)
		return -EINVAL;
	/* vfs_fallocate(): after the length and mode checks, an fd not open
	 * for writing is -EBADF (MADV_REMOVE checks VM_SHARED | VM_MAYWRITE
	 * itself and comes in through simmm__file_punch_hole()). */
	if (file->flags & SIMMM_FILE_RDONLY)
		return -EBADF;
	/* vfs_fallocate(): the end past the largest size, or wrapping. */
	if (off + len < off || off + len > (SIMMM_SWP_OFFSET_MAX << file->sim->geo.page_shift))
		return -EFBIG;
	simmm__file_get(file);
	err = simmm__file_punch_hole(file, off, len);
	simmm__file_put(file);
	return err;
}
