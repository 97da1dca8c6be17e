// SPDX-License-Identifier: MIT
/*
 * Files: an inode with a page cache (index -> folio) in front of a backing
 * store holding what was written back (index -> bytes, NULL = zeros).
 * read(2)/write(2) go through the page cache, as generic_file_read_iter()
 * and generic_perform_write() do, so they are coherent with shared
 * mappings of the same pages. SHMEM files (tmpfs) back MAP_SHARED
 * anonymous memory; their pages are swap-backed.
 *
 * A page-cache slot (file->cache[index]) holds nothing (0), a folio (its
 * pfn + 1), or the shadow entry reclaim left there when it evicted the
 * folio (simmm__is_shadow(): src/mm/workingset.c). A folio created in a
 * slot with a shadow replaces it, and a read or fault hands it to
 * workingset_refault(); truncation and hole punching drop the shadows of
 * their range; the rest go with the file.
 */
#include <errno.h>
#include <string.h>

#include "mm/mm.h"
#include "mm/mm_ext.h"

static const struct simmm_lock_class_key i_rwsem_key;

static bool file_ok(const struct simmm_file *f)
{
	return f && f->magic == SIMMM_FILE_MAGIC && simmm__sim_ok(f->sim);
}

int simmm_file_create(simmm_sim *sim, uint64_t size, unsigned flags, struct simmm_file **out)
{
	struct simmm_file *f;

	if (!simmm__sim_ok(sim) || !out || (flags & ~(SIMMM_FILE_RDONLY | SIMMM_FILE_SHMEM)) ||
	    size > (SIMMM_SWP_OFFSET_MAX << sim->geo.page_shift))
		return -EINVAL;
	f = simmm__zalloc(sim, SIMMM_ALLOC_META, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->sim = sim;
	f->magic = SIMMM_FILE_MAGIC;
	f->flags = flags;
	f->size = size;
	f->refcount = 1;
	f->creator_ref = true;
	simmm__i_mmap_lock_init(f);
	simmm_rwsem_init(&f->i_rwsem, "&sb->s_type->i_mutex_key");
	simmm_lockdep_set_class(&f->i_rwsem.map, &i_rwsem_key);
	*out = f;
	return 0;
}

int simmm__shmem_create(simmm_sim *sim, uint64_t size, struct simmm_file **out)
{
	return simmm_file_create(sim, size, SIMMM_FILE_SHMEM, out);
}

void simmm__file_get(struct simmm_file *file)
{
	file->refcount++;
}

static struct simmm_page *cache_page(struct simmm_file *f, uint64_t index)
{
	if (index >= f->cache_cap || !f->cache[index] || simmm__is_shadow(f->cache[index]))
		return NULL;
	return simmm__pfn_to_page(f->sim, f->cache[index] - 1);
}

struct simmm_page *simmm__filemap_lookup(struct simmm_file *file, uint64_t index)
{
	return cache_page(file, index);
}

bool simmm__file_ok(const struct simmm_file *file)
{
	return file_ok(file);
}

uint64_t simmm__filemap_shadow(const struct simmm_file *file, uint64_t index)
{
	if (index >= file->cache_cap || !simmm__is_shadow(file->cache[index]))
		return 0;
	return file->cache[index];
}

void simmm__filemap_drop_shadows(struct simmm_file *file, uint64_t start, uint64_t end)
{
	for (uint64_t index = start; index < end && index < file->cache_cap; index++)
		if (simmm__is_shadow(file->cache[index]))
			file->cache[index] = 0;
}

/* Drop the page cache's reference, leaving @shadow (0: nothing) in the
 * slot (page_cache_delete(): truncation and invalidation store none,
 * __remove_mapping() the shadow workingset_eviction() made). */
static void cache_remove(struct simmm_file *f, uint64_t index, uint64_t shadow)
{
	struct simmm_page *page = cache_page(f, index);

	f->cache[index] = shadow;
	f->nrpages--;
	page->mapping = NULL;
	page->flags &= ~PG_dirty;
	simmm__put_user_folio(f->sim, page);
}

void simmm__filemap_remove(struct simmm_file *file, struct simmm_page *folio)
{
	if (NEVER(cache_page(file, folio->index) != folio))
		return;
	cache_remove(file, folio->index, 0);
}

void simmm__file_store_zero(struct simmm_file *file, uint64_t start, uint64_t end)
{
	simmm_sim *sim = file->sim;
	unsigned shift = sim->geo.page_shift;

	for (uint64_t index = start >> shift; index < file->store_cap && (index << shift) < end;
	     index++) {
		uint64_t pos = index << shift;
		uint64_t from = start > pos ? start - pos : 0;
		uint64_t to = end - pos < sim->page_size ? end - pos : sim->page_size;

		if (!file->store[index])
			continue;
		if (from == 0 && to == sim->page_size) {
			simmm__free(sim, SIMMM_ALLOC_META, file->store[index], sim->page_size);
			file->store[index] = NULL;
		} else {
			memset(file->store[index] + from, 0, to - from);
		}
	}
}

static void file_free(struct simmm_file *f)
{
	simmm_sim *sim = f->sim;

	simmm__hugetlb_file_release(sim, f);
	for (uint64_t i = 0; i < f->cache_cap; i++)
		if (cache_page(f, i))
			cache_remove(f, i, 0); /* shadows go with the array */
	for (uint64_t i = 0; i < f->store_cap; i++)
		if (f->store[i])
			simmm__free(sim, SIMMM_ALLOC_META, f->store[i], sim->page_size);
	simmm__free(sim, SIMMM_ALLOC_META, f->cache, f->cache_cap * sizeof(*f->cache));
	simmm__free(sim, SIMMM_ALLOC_META, f->store, f->store_cap * sizeof(*f->store));
	f->magic = SIMMM_MAGIC_DEAD;
	simmm__free(sim, SIMMM_ALLOC_META, f, sizeof(*f));
}

void simmm__file_put(struct simmm_file *file)
{
	if (--file->refcount == 0)
		file_free(file);
}

int simmm_file_put(struct simmm_file *file)
{
	if (!file_ok(file) || !file->creator_ref)
		return -EINVAL;
	file->creator_ref = false;
	simmm__file_put(file);
	return 0;
}

int simmm_file_stats(const struct simmm_file *file, struct simmm_file_stats *out)
{
	if (!file_ok(file) || !out)
		return -EINVAL;
	*out = (struct simmm_file_stats){.cached = file->nrpages, .written = file->nr_written};
	for (uint64_t i = 0; i < file->cache_cap; i++)
		if (file->cache[i] && !simmm__is_shadow(file->cache[i]) &&
		    (simmm__pfn_to_page(file->sim, file->cache[i] - 1)->flags & PG_dirty))
			out->dirty++;
	return 0;
}

uint64_t simmm_file_size(const struct simmm_file *file)
{
	return file_ok(file) ? file->size : 0;
}

/* ---- page cache --------------------------------------------------------------- */

static int fill_from_store(struct simmm_file *f, uint64_t index, struct simmm_page *page)
{
	void *data;

	if (index >= f->store_cap || !f->store[index])
		return 0;
	data = simmm__page_data(f->sim, page, true);
	if (!data)
		return f->sim->flags & SIMMM_CFG_NO_CONTENTS ? 0 : -ENOMEM;
	memcpy(data, f->store[index], f->sim->page_size);
	return 0;
}

/* filemap_get() with @past_eof: write(2)'s write_begin creates the folio
 * its copy will extend the file into. */
static struct simmm_page *filemap_get(struct simmm_file *file, uint64_t index, int *err,
				      bool *major, bool past_eof)
{
	simmm_sim *sim = file->sim;
	struct simmm_page *page = cache_page(file, index);
	size_t cap = file->cache_cap;
	bool stored = index < file->store_cap && file->store[index];
	uint64_t shadow;

	*major = false;
	if (page) {
		simmm__folio_get(sim, page);
		return page;
	}
	*err = simmm__grow(sim, SIMMM_ALLOC_META, (void **)&file->cache, sizeof(*file->cache),
			   &cap, index + 1, false);
	if (*err)
		return NULL;
	file->cache_cap = cap;
	page = simmm__alloc_user_folio(sim, 0);
	if (!page) {
		*err = -ENOMEM;
		return NULL;
	}
	/* The allocation may have slept in reclaim while a truncation moved
	 * EOF below @index: no folio is created there (see mm.h). */
	if (!past_eof && index >= simmm__file_eof_index(file)) {
		simmm__folio_put(sim, page);
		*err = -EINVAL;
		return NULL;
	}
	*err = fill_from_store(file, index, page);
	if (*err) {
		simmm__folio_put(sim, page);
		return NULL;
	}
	/* filemap_fault(): a miss reads the page (I/O: a major fault); a
	 * tmpfs hole is a new zeroed page (minor). */
	*major = !(file->flags & SIMMM_FILE_SHMEM) || stored;
	page->flags |= PG_uptodate | ((file->flags & SIMMM_FILE_SHMEM) ? PG_swapbacked : 0);
	simmm__folio_add_file_rmap(page, file, index);
	/* filemap_add_folio(): the new folio replaces the slot's shadow entry
	 * (read now, at the insertion: the allocation may have slept in
	 * reclaim, which may have evicted this very index meanwhile), and a
	 * refault it describes is judged before the folio joins the LRU, so
	 * that an activated one goes to the active list. Not for write(2)'s
	 * folio (__GFP_WRITE: a write is no sign of a working set). */
	shadow = simmm__filemap_shadow(file, index);
	file->cache[index] = page->pfn + 1;
	file->nrpages++;
	if (shadow && !past_eof)
		simmm__workingset_refault(sim, page, shadow);
	simmm__lru_add(sim, page);
	simmm__folio_get(sim, page); /* the caller's; the allocation's is the cache's */
	return page;
}

struct simmm_page *simmm__filemap_get(struct simmm_file *file, uint64_t index, int *err,
				      bool *major)
{
	return filemap_get(file, index, err, major, false);
}

/* What a read fault of page @index would find, without creating the cache
 * page (simmm_mm_peek()): the cached page, else the backing store's
 * written-back bytes, else zeros (a hole, or tmpfs). */
void simmm__filemap_peek(struct simmm_file *file, uint64_t index, uint64_t off, void *buf,
			 uint64_t n)
{
	struct simmm_page *page = cache_page(file, index);
	const void *data = NULL;

	if (page)
		data = simmm__page_data(file->sim, page, false);
	else if (index < file->store_cap)
		data = file->store[index];
	if (data)
		memcpy(buf, (const uint8_t *)data + off, n);
	else
		memset(buf, 0, n);
}

/**
 * simmm__filemap_writeback() - pageout() of a page-cache page: the file's
 * backing store gets the page's bytes (no contents = zeros) and the page
 * is clean; it stays in the cache (reclaim drops it with
 * simmm__filemap_evict() only if __remove_mapping()'s freeze would work).
 * @file: the page's file.
 * @page: a page of @file's page cache.
 */
void simmm__filemap_writeback(struct simmm_file *file, struct simmm_page *page)
{
	simmm_sim *sim = file->sim;
	uint64_t index = page->index;
	size_t cap = file->store_cap;
	void *data = simmm__page_data(sim, page, false);

	if (NEVER(cache_page(file, index) != page))
		return;
	simmm__grow(sim, SIMMM_ALLOC_META, (void **)&file->store, sizeof(*file->store), &cap,
		    index + 1, true);
	file->store_cap = cap;
	if (data) {
		if (!file->store[index])
			file->store[index] = simmm__zalloc_nofail(sim, SIMMM_ALLOC_META,
								  sim->page_size);
		memcpy(file->store[index], data, sim->page_size);
	} else if (file->store[index]) {
		simmm__free(sim, SIMMM_ALLOC_META, file->store[index], sim->page_size);
		file->store[index] = NULL;
	}
	page->flags &= ~PG_dirty;
	file->nr_written++;
}

/**
 * simmm__filemap_evict() - __remove_mapping() of a clean page-cache page
 * nobody else holds: it leaves the cache (its reference dropped) without
 * I/O, its bytes being the store's already (reclaim wrote a dirty one
 * back first: shrink_folio_list() calls pageout() only for a dirty folio).
 * A page still dirty here is a bug; it is written back rather than lost.
 * @file: the page's file.
 * @page: a page of @file's page cache.
 * @shadow: left in the page's slot (__filemap_remove_folio(folio, shadow)):
 *   reclaim's workingset_eviction() entry, so that a refault is known as
 *   one; 0 leaves the slot empty.
 */
void simmm__filemap_evict(struct simmm_file *file, struct simmm_page *page, uint64_t shadow)
{
	if (NEVER(cache_page(file, page->index) != page))
		return;
	if (NEVER(page->flags & PG_dirty))
		simmm__filemap_writeback(file, page);
	cache_remove(file, page->index, shadow);
}

void simmm__filemap_migrate(struct simmm_file *file, struct simmm_page *folio,
			    struct simmm_page *newfolio)
{
	simmm_sim *sim = file->sim;
	uint64_t index = folio->index;

	if (NEVER(cache_page(file, index) != folio))
		return;
	/* __folio_migrate_mapping(): the cache's reference moves with the
	 * slot; the old folio keeps the caller's (migration) reference. */
	file->cache[index] = newfolio->pfn + 1;
	simmm__folio_add_file_rmap(newfolio, file, index);
	simmm__folio_get(sim, newfolio);
	folio->mapping = NULL;
	simmm__folio_put(sim, folio);
}

/* ---- read(2) / write(2) ----------------------------------------------------------- */

long simmm_file_pread(struct simmm_file *file, void *buf, uint64_t len, uint64_t off)
{
	simmm_sim *sim;
	uint64_t done = 0;

	if (!file_ok(file) || (!buf && len))
		return -EINVAL;
	sim = file->sim;
	if (off >= file->size)
		return 0;
	if (len > file->size - off)
		len = file->size - off;
	while (done < len) {
		uint64_t pos = off + done, in = pos & (sim->page_size - 1);
		uint64_t n = sim->page_size - in < len - done ? sim->page_size - in : len - done;
		bool major;
		int err = 0;
		struct simmm_page *page = simmm__filemap_get(file, pos >> sim->geo.page_shift,
							     &err, &major);
		const uint8_t *data;

		/* A truncation moved EOF below the page meanwhile:
		 * filemap_read() stops at i_size. */
		if (!page)
			return done || err == -EINVAL ? (long)done : err;
		if (page->flags & PG_hwpoison) {
			/* A poisoned page memory_failure() left in the cache (a
			 * shmem page): shmem_get_folio() fails with -EIO. */
			simmm__put_user_folio(sim, page);
			return done ? (long)done : -EIO;
		}
		data = simmm__page_data(sim, page, false);
		if (data)
			memcpy((uint8_t *)buf + done, data + in, n);
		else
			memset((uint8_t *)buf + done, 0, n);
		/* filemap_read() marks each folio it copies from accessed: a
		 * second read activates it (the kernel skips the folio the
		 * previous read ended in, ra->prev_pos, which simmm does not
		 * track). */
		simmm__folio_mark_accessed(sim, page);
		simmm__put_user_folio(sim, page);
		done += n;
	}
	return (long)done;
}

/* generic_write_failed()'s truncate_pagecache(inode, i_size): a folio
 * write_begin created past EOF for a copy that failed leaves the cache
 * (nothing can have mapped it: faults stop at EOF). */
static void write_failed(struct simmm_file *file, struct simmm_page *page)
{
	if (page->index >= simmm__file_eof_index(file) && cache_page(file, page->index) == page &&
	    !simmm__folio_mapcount(file->sim, page))
		cache_remove(file, page->index, 0);
}

long simmm_file_pwrite(struct simmm_file *file, const void *buf, uint64_t len, uint64_t off)
{
	simmm_sim *sim;
	uint64_t done = 0;
	int failed = -ENOMEM;

	if (!file_ok(file) || (!buf && len) || off + len < off ||
	    off + len > (SIMMM_SWP_OFFSET_MAX << file->sim->geo.page_shift))
		return -EINVAL;
	sim = file->sim;
	/* generic_file_write_iter(): inode_lock(), which truncation and hole
	 * punching hold too. */
	failed = simmm_down_write(sim, &file->i_rwsem);
	if (failed)
		return failed;
	failed = -ENOMEM;
	while (done < len) {
		uint64_t pos = off + done, in = pos & (sim->page_size - 1);
		uint64_t n = sim->page_size - in < len - done ? sim->page_size - in : len - done;
		bool major;
		int err = 0;
		struct simmm_page *page = filemap_get(file, pos >> sim->geo.page_shift, &err,
						      &major, true);
		uint8_t *data;

		if (!page)
			break;
		if (page->flags & PG_hwpoison) {
			/* shmem_write_begin(): a poisoned page gives -EIO. */
			simmm__put_user_folio(sim, page);
			failed = -EIO;
			break;
		}
		data = simmm__page_data(sim, page, true);
		if (!data && !(sim->flags & SIMMM_CFG_NO_CONTENTS)) {
			write_failed(file, page);
			simmm__put_user_folio(sim, page);
			break;
		}
		if (data)
			memcpy(data + in, (const uint8_t *)buf + done, n);
		page->flags |= PG_dirty;
		/* Writes do not count as accesses (generic_perform_write()'s
		 * write_begin lookup has no FGP_ACCESSED since v4.7); tmpfs's
		 * shmem_get_folio(SGP_WRITE) marks them. */
		if (file->flags & SIMMM_FILE_SHMEM)
			simmm__folio_mark_accessed(sim, page);
		simmm__put_user_folio(sim, page);
		done += n;
		if (off + done > file->size)
			file->size = off + done;
	}
	simmm_up_write(sim, &file->i_rwsem);
	return done || !len ? (long)done : failed;
}
