// SPDX-License-Identifier: MIT
/*
 * hugetlb (mm/hugetlb.c): huge pages of the sizes the geometry offers as
 * PMD and PUD leaves, mapped by MAP_HUGETLB VMAs.
 *
 * The pool: pages come from the buddy allocator at fault time and go back
 * when the last reference goes, like the kernel's surplus pages with
 * nr_overcommit_hugepages unlimited (no preallocation, no reservations).
 * An allocation failure is SIGBUS, as alloc_hugetlb_folio()'s -ENOSPC
 * makes hugetlb_no_page() return, and fails a fork that must copy a
 * pinned page with that -ENOSPC. A hugetlb folio is marked in its first
 * tail (private = HUGETLB_MAGIC), as the kernel keeps hugetlb state in
 * tail pages.
 *
 * Shared mappings (VM_SHARED with a file, e.g. the shmem file of a shared
 * anonymous mapping) share one page per (file, huge index) through the
 * pool's table, which holds a folio reference, like a hugetlbfs page
 * cache: the pages stay until the file dies (file.c calls
 * simmm__hugetlb_file_release()), a hole is punched over them (MADV_REMOVE:
 * simmm__hugetlb_punch_hole() in truncate.c) or the machine is destroyed. Private
 * mappings get anonymous pages, copied on write after fork (hugetlb_wp()),
 * or at fork if they may be pinned (simmm__hugetlb_copy_pinned()).
 * hugetlb pages are never on the LRU (never reclaimed or swapped), never
 * split, and not counted in rss (HugetlbPages), see mm.h.
 *
 * The fault mutex (hugetlb_fault_mutex_table[]): a fault holds the mutex
 * of its huge index from before it looks at the entry until it returns,
 * across the allocation and the COW's notifiers, and a hole punch holds it
 * while it takes a page out of the file (remove_inode_hugepages()). So two
 * faults of one huge page never both allocate (upstream's reason: "spurious
 * allocation failures if two CPUs race to instantiate the same page"; with
 * one free huge page left, the second of two racing COW faults would get
 * SIGBUS), and no fault maps a page between the punch's last unmap and its
 * removal. Upstream hashes (mapping, index) into roundup_pow_of_two(8 *
 * nr_cpus) mutexes; simmm hashes the huge index alone into 16 (8 * two
 * CPUs): its files have no stable identity to hash (pointer values would
 * make traces depend on where the allocator put them), so faults on the
 * same index of different mappings serialize too, as upstream's hash
 * collisions make some of them do.
 */
#include <string.h>

#include "mm/mm_ext.h"

#define HUGETLB_MAGIC 0x48544c42u /* "HTLB" */

struct hugetlb_shared {
	struct simmm_file *file;
	uint64_t index;      /* in huge pages */
	unsigned order;
	simmm_pfn_t pfn;
};

#define HUGETLB_FAULT_MUTEXES 16 /* a power of two */

/**
 * struct simmm_hugetlb_pool - hugetlb state of a machine.
 * @shared: the shared-page table, @nr used of @cap.
 * @allocated: huge pages allocated so far, by level (PMD, PUD).
 * @fault_mutex: hugetlb_fault_mutex_table[], by hashed huge index.
 */
struct simmm_hugetlb_pool {
	struct hugetlb_shared *shared;
	size_t nr, cap;
	uint64_t allocated[SIMMM_NR_LEVELS];
	struct simmm_mutex fault_mutex[HUGETLB_FAULT_MUTEXES];
};

bool simmm__folio_is_hugetlb(simmm_sim *sim, struct simmm_page *folio)
{
	struct simmm_page *t;

	if (!folio->order)
		return false;
	t = simmm__pfn_to_page(sim, folio->pfn + 1);
	return t && t->private == HUGETLB_MAGIC;
}

static struct simmm_hugetlb_pool *pool_of(simmm_sim *sim, bool create)
{
	struct simmm_mm_global *g = simmm__mm_global(sim);
	struct simmm_lru *l;

	if (!g || (!g->lru && (!create || simmm__swap_init(sim))))
		return NULL;
	l = g->lru;
	if (!l->hugetlb && create) {
		l->hugetlb = simmm__zalloc(sim, SIMMM_ALLOC_META, sizeof(*l->hugetlb));
		for (unsigned i = 0; l->hugetlb && i < HUGETLB_FAULT_MUTEXES; i++)
			simmm_mutex_init(&l->hugetlb->fault_mutex[i], "hugetlb_fault_mutex");
	}
	return l->hugetlb;
}

/* hugetlb_fault_mutex_hash(), by the huge index alone (see above). */
static struct simmm_mutex *fault_mutex(struct simmm_hugetlb_pool *pool, uint64_t index)
{
	return &pool->fault_mutex[(index * 0x9e3779b97f4a7c15ULL) >> 60 & (HUGETLB_FAULT_MUTEXES - 1)];
}

int simmm__hugetlb_fault_mutex_lock(simmm_sim *sim, uint64_t index)
{
	struct simmm_hugetlb_pool *pool = pool_of(sim, true);

	return pool ? simmm_mutex_lock(sim, fault_mutex(pool, index)) : -ENOMEM;
}

void simmm__hugetlb_fault_mutex_unlock(simmm_sim *sim, uint64_t index)
{
	simmm_mutex_unlock(sim, fault_mutex(pool_of(sim, false), index));
}

/* The leaf level of a huge page of @order, or SIMMM_LVL_PTE if none. */
static enum simmm_level hugetlb_level(simmm_sim *sim, unsigned order)
{
	for (int l = SIMMM_LVL_PMD; l <= SIMMM_LVL_PUD; l++) {
		const struct simmm_level_desc *d = &sim->geo.level[l];
		if (d->leaf && (unsigned)(d->shift - sim->geo.page_shift) == order)
			return (enum simmm_level)l;
	}
	return SIMMM_LVL_PTE;
}

static struct simmm_page *hugetlb_alloc(simmm_sim *sim, struct simmm_hugetlb_pool *pool,
					unsigned order, enum simmm_level lvl)
{
	struct simmm_page *folio;

	if (order > simmm__max_order(sim))
		return NULL;
	folio = simmm__alloc_pages(sim, order);
	if (!folio)
		return NULL;
	simmm__pfn_to_page(sim, folio->pfn + 1)->private = HUGETLB_MAGIC;
	folio->flags |= PG_uptodate;
	pool->allocated[lvl]++;
	return folio;
}

/* ---- the shared table ------------------------------------------------------------- */

static struct hugetlb_shared *shared_find(struct simmm_hugetlb_pool *pool,
					  struct simmm_file *file, uint64_t index)
{
	for (size_t i = 0; i < pool->nr; i++)
		if (pool->shared[i].file == file && pool->shared[i].index == index)
			return &pool->shared[i];
	return NULL;
}

/* The shared page of (file, index), created if absent; no reference for
 * the caller. NULL on allocation failure. */
static struct simmm_page *shared_get(simmm_sim *sim, struct simmm_hugetlb_pool *pool,
				     struct simmm_vma *vma, simmm_addr_t haddr, unsigned order,
				     enum simmm_level lvl)
{
	uint64_t index = simmm__linear_page_index(vma, haddr, sim->geo.page_shift) >> order;
	struct hugetlb_shared *s = shared_find(pool, vma->file, index);
	struct simmm_page *folio;

	if (s)
		return simmm__pfn_to_page(sim, s->pfn);
	if (simmm__grow(sim, SIMMM_ALLOC_META, (void **)&pool->shared, sizeof(*pool->shared),
			&pool->cap, pool->nr + 1, false))
		return NULL;
	folio = hugetlb_alloc(sim, pool, order, lvl);
	if (!folio)
		return NULL;
	simmm__folio_add_file_rmap(folio, vma->file, index << order);
	pool->shared[pool->nr++] = (struct hugetlb_shared){vma->file, index, order, folio->pfn};
	return folio; /* the allocation's reference is the table's */
}

static void shared_drop(simmm_sim *sim, struct hugetlb_shared *s)
{
	struct simmm_page *folio = simmm__pfn_to_page(sim, s->pfn);

	simmm__folio_put(sim, folio);
}

void simmm__hugetlb_file_release(simmm_sim *sim, struct simmm_file *file)
{
	struct simmm_hugetlb_pool *pool = pool_of(sim, false);
	size_t k = 0;

	if (!pool)
		return;
	for (size_t i = 0; i < pool->nr; i++) {
		if (pool->shared[i].file == file)
			shared_drop(sim, &pool->shared[i]);
		else
			pool->shared[k++] = pool->shared[i];
	}
	pool->nr = k;
}

struct simmm_page *simmm__hugetlb_shared_lookup(simmm_sim *sim, struct simmm_file *file,
						uint64_t index)
{
	struct simmm_hugetlb_pool *pool = pool_of(sim, false);
	struct hugetlb_shared *s = pool ? shared_find(pool, file, index) : NULL;

	return s ? simmm__pfn_to_page(sim, s->pfn) : NULL;
}

/*
 * remove_inode_single_folio(): the shared page of (@file, @index) leaves
 * the table, which drops its reference (a pinned page lives on for its
 * pinners, out of the file). A page mapped again since the caller's unmap
 * (a fault raced it) stays: false, the caller unmaps again, as upstream
 * calls hugetlb_unmap_file_folio() for a folio_mapped() one.
 */
bool simmm__hugetlb_shared_remove(simmm_sim *sim, struct simmm_file *file, uint64_t index)
{
	struct simmm_hugetlb_pool *pool = pool_of(sim, false);
	struct hugetlb_shared *s = pool ? shared_find(pool, file, index) : NULL;

	if (!s)
		return true;
	if (simmm__folio_mapcount(sim, simmm__pfn_to_page(sim, s->pfn)))
		return false;
	shared_drop(sim, s);
	*s = pool->shared[--pool->nr];
	return true;
}

void simmm__hugetlb_fini(simmm_sim *sim)
{
	struct simmm_hugetlb_pool *pool = pool_of(sim, false);

	if (!pool)
		return;
	for (size_t i = 0; i < pool->nr; i++)
		shared_drop(sim, &pool->shared[i]);
	simmm__free(sim, SIMMM_ALLOC_META, pool->shared, pool->cap * sizeof(*pool->shared));
	simmm__free(sim, SIMMM_ALLOC_META, pool, sizeof(*pool));
	simmm__mm_global(sim)->lru->hugetlb = NULL;
}

uint64_t simmm__hugetlb_in_use(simmm_sim *sim, unsigned order)
{
	struct simmm_hugetlb_pool *pool = pool_of(sim, false);
	enum simmm_level lvl = hugetlb_level(sim, order);

	return pool && lvl != SIMMM_LVL_PTE ? pool->allocated[lvl] : 0;
}

/* ---- faults ------------------------------------------------------------------------ */

struct hfault {
	struct simmm_mm *mm;
	struct simmm_vma *vma;
	struct simmm_hugetlb_pool *pool;
	simmm_addr_t haddr;
	unsigned order;
	enum simmm_level lvl;
	bool write;
	bool unshare; /* FAULT_FLAG_UNSHARE: a private (COW) mapping */
	unsigned flags; /* FAULT_FLAG_* */
};

/* make_huge_pte(): writable and dirty only if @write and the VMA has
 * VM_WRITE, else read-only and clean; young. */
static simmm_entry_t make_huge_pte(struct simmm_mm *mm, struct simmm_vma *vma, simmm_pfn_t pfn,
				   bool write)
{
	simmm_entry_t e = simmm__mk_pte(mm, vma, pfn, write);

	return simmm_entry_mkleaf(simmm_pte_mkyoung(e));
}

/* hugetlb_no_page(): a none entry. */
static unsigned hugetlb_no_page(struct hfault *f)
{
	simmm_sim *sim = f->mm->sim;
	bool shared = (f->vma->vm_flags & SIMMM_VM_SHARED) && f->vma->file;
	struct simmm_page *folio;
	int err;

	if (!shared && simmm__anon_vma_prepare(f->mm, f->vma))
		return SIMMM_VM_FAULT_OOM;
	folio = shared ? shared_get(sim, f->pool, f->vma, f->haddr, f->order, f->lvl)
		       : hugetlb_alloc(sim, f->pool, f->order, f->lvl);
	if (!folio)
		return SIMMM_VM_FAULT_SIGBUS;
	if (shared)
		simmm__folio_get(sim, folio); /* the mapping's reference */
	/* Shared pages are mapped writable at once; a private one writable
	 * only on a write fault (make_huge_pte(..., VM_SHARED) + hugetlb_wp
	 * reusing the exclusive page). */
	err = simmm_pgtable_set(f->mm->pgt, f->haddr, f->lvl,
				make_huge_pte(f->mm, f->vma, folio->pfn, shared || f->write));
	if (err) {
		simmm__folio_put(sim, folio);
		return err == -ENOMEM ? SIMMM_VM_FAULT_OOM : SIMMM_VM_FAULT_SIGBUS;
	}
	if (shared)
		simmm__folio_add_rmap_entire(sim, folio);
	else
		simmm__folio_add_new_anon_rmap(folio, f->vma, f->haddr, true);
	return 0;
}

/* pte_same() under the page-table lock: is the huge entry still @old? */
static bool same_entry(const struct hfault *f, simmm_entry_t old)
{
	simmm_entry_t *slot;

	return !simmm_pgtable_lookup(f->mm->pgt, f->haddr, f->lvl, &slot) && *slot == old;
}

/* hugetlb_wp() reuses an anonymous huge page it maps alone, judged by the
 * mapcount, not the refcount: upstream deliberately ignores other
 * references (a FOLL_GET user, a transient one) rather than copy, which
 * could fail fork()+exit() users short of free huge pages. An
 * anon-exclusive page has mapcount 1; a pinned one is anon-exclusive
 * (pins unshare first), so pins need no check of their own. */
static bool hugetlb_exclusive(simmm_sim *sim, struct simmm_page *folio)
{
	return simmm__folio_mapcount(sim, folio) == 1;
}

/*
 * hugetlb_wp(): a write or an unshare (GUP's read pin) of a read-only
 * private huge page. A page nobody else can see is reused: marked
 * anon-exclusive and, for a write, made writable and dirty if the VMA is
 * writable (set_huge_ptep_maybe_writable()); an unshare leaves the entry
 * as it was. Otherwise the whole huge page is copied, the copy mapped
 * read-only and clean for an unshare (make_huge_pte(vma, folio, !unshare)),
 * inside one MMU_NOTIFY_CLEAR bracket either way; uffd-wp carries over. A
 * copy whose entry changed while the notifiers slept is dropped (0: the
 * access faults again), as upstream's pte_same() test.
 */
static unsigned hugetlb_wp(struct hfault *f, simmm_entry_t old)
{
	simmm_sim *sim = f->mm->sim;
	struct simmm_page *folio = simmm__pfn_to_page(sim, simmm_pte_pfn(old)), *copy;
	uint64_t nr = 1ULL << f->order;
	struct simmm_change c;
	simmm_entry_t e;

	if (!(folio->flags & PG_anon) || hugetlb_exclusive(sim, folio)) {
		for (uint64_t i = 0; i < nr && (folio->flags & PG_anon); i++)
			simmm__pfn_to_page(sim, folio->pfn + i)->flags |= PG_anon_exclusive;
		if (f->unshare)
			return 0;
		if (f->vma->vm_flags & SIMMM_VM_WRITE)
			simmm_pgtable_set(f->mm->pgt, f->haddr, f->lvl,
					  simmm_pte_mkdirty(simmm_pte_mkwrite(simmm_pte_mkyoung(old))));
		f->mm->stats.reuse_faults++;
		return 0;
	}
	copy = hugetlb_alloc(sim, f->pool, f->order, f->lvl);
	if (!copy)
		return SIMMM_VM_FAULT_SIGBUS;
	if (simmm__folio_copy_contents(sim, copy, folio)) {
		simmm__folio_put(sim, copy);
		return SIMMM_VM_FAULT_OOM;
	}
	/* A blockable invalidate_range_start() cannot fail (upstream's
	 * returns nothing). */
	if (NEVER(simmm__change_begin(&c, f->mm, f->haddr, f->haddr + (sim->page_size << f->order),
				      SIMMM_MMU_NOTIFY_CLEAR, NULL))) {
		simmm__folio_put(sim, copy);
		return simmm__fault_retry(f->mm, f->flags);
	}
	/* The notifiers may have slept, and another fault of the same huge
	 * page (a second thread, a device faulting through HMM) may have
	 * replaced the entry meanwhile: as upstream retakes the page-table
	 * lock and tests pte_same() before breaking COW, only the entry this
	 * fault saw is replaced; otherwise the copy goes and the access
	 * faults again if it still needs to. */
	if (!same_entry(f, old)) {
		simmm__change_end(&c);
		simmm__folio_put(sim, copy);
		return 0;
	}
	e = make_huge_pte(f->mm, f->vma, copy->pfn, !f->unshare);
	if (simmm_pte_uffd_wp(old))
		e = simmm_pte_mkuffd_wp(e);
	simmm_pgtable_set(f->mm->pgt, f->haddr, f->lvl, e);
	simmm__folio_remove_rmap_entire(sim, folio);
	simmm__folio_put(sim, folio);
	simmm__folio_add_new_anon_rmap(copy, f->vma, f->haddr, true);
	simmm__change_end(&c);
	f->mm->stats.cow_faults++;
	return 0;
}

/* ---- fork ------------------------------------------------------------------------- */

/**
 * simmm__hugetlb_copy_pinned() - copy_hugetlb_page_range() when
 * hugetlb_try_dup_anon_rmap() refuses to share a private huge page (it is
 * anon-exclusive and may be pinned): the child gets a new huge page with
 * the same contents, installed as hugetlb_install_folio() does
 * (make_huge_pte(vma, folio, true): writable and dirty where @dvma has
 * VM_WRITE; uffd-wp carried over into a uffd-wp VMA), anon-exclusive. The
 * parent's entry and page are left as they were, so its pins keep seeing
 * what it maps.
 * @dvma: the child's VMA. @haddr: the huge page's address.
 * @src: the parent's folio (head). @old: the parent's entry.
 * Context: fork (the parent's mmap lock held for write).
 * Return: 0; -ENOSPC when no huge page is free (alloc_hugetlb_folio()'s
 * error, which fork returns as it is); -ENOMEM for the child's page table,
 * or the simulation's own bookkeeping or page contents.
 */
int simmm__hugetlb_copy_pinned(struct simmm_vma *dvma, simmm_addr_t haddr,
			       struct simmm_page *src, simmm_entry_t old)
{
	struct simmm_mm *mm = dvma->mm;
	simmm_sim *sim = mm->sim;
	struct simmm_hugetlb_pool *pool = pool_of(sim, false);
	enum simmm_level lvl = hugetlb_level(sim, src->order);
	struct simmm_page *copy;
	simmm_entry_t e;
	int err;

	if (!pool || lvl == SIMMM_LVL_PTE)
		return -EINVAL; /* a hugetlb page exists: so do its pool and level */
	err = simmm_pgtable_alloc_level(mm->pgt, haddr, lvl, NULL);
	if (err)
		return err;
	copy = hugetlb_alloc(sim, pool, src->order, lvl);
	if (!copy)
		return simmm__buddy_exhausted(sim, src->order) ? -ENOSPC : -ENOMEM;
	err = simmm__folio_copy_contents(sim, copy, src);
	if (err) {
		simmm__folio_put(sim, copy);
		return err;
	}
	e = make_huge_pte(mm, dvma, copy->pfn, true);
	if ((dvma->vm_flags & SIMMM_VM_UFFD_WP) && simmm_pte_uffd_wp(old))
		e = simmm_pte_mkuffd_wp(e);
	simmm_pgtable_set(mm->pgt, haddr, lvl, e);
	simmm__folio_add_new_anon_rmap(copy, dvma, haddr, true);
	return 0;
}

/* hugetlb_fault() past the fault mutex. */
static unsigned hugetlb_fault_locked(struct hfault *f)
{
	struct simmm_mm *mm = f->mm;
	simmm_entry_t *slot;
	int err;

	err = simmm_pgtable_lookup(mm->pgt, f->haddr, f->lvl, &slot);
	if (err == -ENOENT || (!err && simmm_entry_none(*slot)))
		return hugetlb_no_page(f);
	if (err || !simmm_entry_is_leaf(*slot, f->lvl))
		return SIMMM_VM_FAULT_SIGBUS; /* migration entries: not modelled */
	if ((f->write || f->unshare) && !simmm_pte_write(*slot)) {
		/* Only writes get here in a shared mapping (no unshare outside
		 * COW mappings, see sanitize_fault_flags()). */
		if (f->vma->vm_flags & SIMMM_VM_SHARED)
			return simmm_pgtable_set(mm->pgt, f->haddr, f->lvl,
						 simmm_pte_mkdirty(simmm_pte_mkwrite(*slot)))
				       ? SIMMM_VM_FAULT_SIGBUS : 0;
		return hugetlb_wp(f, *slot);
	}
	*slot = simmm_pte_mkyoung(*slot);
	return 0;
}

/**
 * simmm__hugetlb_fault() - hugetlb_fault() for an address of a VM_HUGETLB
 * VMA: map the huge page (shared: the file's page; private: a new
 * anonymous page) as a PMD or PUD leaf, or copy/reuse on a write or an
 * unshare (FAULT_FLAG_UNSHARE) of a read-only private page, all under the
 * fault mutex of the huge index (see the head of this file). A fault
 * outside tasks, where nothing could release a mutex a suspended task
 * holds, does not wait for it: VM_FAULT_RETRY, as simmm__fault_retry().
 * Context: mmap lock held (read); may sleep (the fault mutex).
 * Return: 0; VM_FAULT_SIGBUS (no huge page available, or a size the
 * geometry cannot map); VM_FAULT_OOM (page-table or metadata allocation);
 * VM_FAULT_RETRY (see above).
 */
unsigned simmm__hugetlb_fault(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t addr,
			      unsigned flags)
{
	simmm_sim *sim = mm->sim;
	struct hfault f = {.mm = mm, .vma = vma, .order = vma->hugetlb_order,
			   .write = (flags & SIMMM_FAULT_FLAG_WRITE) != 0,
			   .unshare = (flags & SIMMM_FAULT_FLAG_UNSHARE) != 0, .flags = flags};
	struct simmm_mutex *m;
	unsigned ret;

	f.lvl = hugetlb_level(sim, f.order);
	f.pool = pool_of(sim, true);
	if (f.lvl == SIMMM_LVL_PTE || !f.order)
		return SIMMM_VM_FAULT_SIGBUS;
	if (!f.pool)
		return SIMMM_VM_FAULT_OOM;
	f.haddr = addr & ~((sim->page_size << f.order) - 1);
	/* hugetlb_fault_mutex_hash(mapping, linear_page_index()): the huge
	 * index of the page in its mapping. */
	m = fault_mutex(f.pool, simmm__linear_page_index(vma, f.haddr, sim->geo.page_shift) >> f.order);
	if (sim->cur_task ? simmm_mutex_lock(sim, m) != 0 : simmm_mutex_trylock(sim, m) != 1)
		return simmm__fault_retry(mm, flags);
	ret = hugetlb_fault_locked(&f);
	simmm_mutex_unlock(sim, m);
	return ret;
}

enum simmm_level simmm__hugetlb_level(simmm_sim *sim, unsigned order)
{
	return hugetlb_level(sim, order);
}
