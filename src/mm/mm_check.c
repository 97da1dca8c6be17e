// SPDX-License-Identifier: MIT
/*
 * The mm invariant checker (see the list in mm.h): VMA tree shape, every
 * entry inside a VMA, rss counters equal to what the tables map,
 * mapcounts equal to the number of mappings across all mms, and one
 * deposited PTE table per anonymous PMD mapping in its PMD table, and
 * write-notify: a writable pte of a shared file mapping maps a dirty folio;
 * mlock: VM_LOCKED flags, locked_vm, and no unevictable folio counting
 * more mlocks than VM_LOCKED VMAs map it; files: no page-cache folio and
 * no pte mapping a file page at or past EOF (truncation), every folio
 * naming a file in that file's page cache; the shadow entries in the page
 * cache of the files the checker can reach (mapped, or with a cached
 * folio): none in tmpfs, none past EOF, each with a timestamp behind the
 * workingset clock.
 */
#include <stdlib.h>

#include "mm/mm_ext.h"

struct maprec {
	simmm_pfn_t pfn;  /* the page (pte) or the folio head (entire) */
	bool entire;
};

/* A folio (head) mapped by a VM_LOCKED VMA. */
struct lockrec {
	simmm_pfn_t folio;
	const struct simmm_vma *vma;
};

struct check {
	simmm_sim *sim;
	struct simmm_mm *mm;
	int bad;
	int64_t rss[3];           /* anon, file, shmem */
	int64_t swap;
	struct maprec *recs;
	size_t nr, cap;
	struct lockrec *locks;
	size_t nr_locks, cap_locks;
	struct simmm_file **files; /* the files met, for their shadow entries */
	size_t nr_files, cap_files;
	/* Deposits: the PMD table being counted (pfn, first address seen),
	 * the tables deposited with it, the PMD mappings found in it that
	 * need one, and such mappings in the whole mm. */
	simmm_pfn_t dep_tbl;
	simmm_addr_t dep_addr;
	uint64_t dep_have, dep_want, dep_entries;
};

#define BAD(c, ...)                                                          \
	do {                                                                 \
		(c)->bad++;                                                  \
		simmm__report((c)->sim, SIMMM_REPORT_INVARIANT, __VA_ARGS__); \
	} while (0)

static void add_rec(struct check *c, simmm_pfn_t pfn, bool entire)
{
	simmm__grow(c->sim, SIMMM_ALLOC_META, (void **)&c->recs, sizeof(*c->recs), &c->cap,
		    c->nr + 1, true);
	c->recs[c->nr++] = (struct maprec){.pfn = pfn, .entire = entire};
}

static void add_lockrec(struct check *c, const struct simmm_vma *vma, simmm_pfn_t folio)
{
	simmm__grow(c->sim, SIMMM_ALLOC_META, (void **)&c->locks, sizeof(*c->locks),
		    &c->cap_locks, c->nr_locks + 1, true);
	c->locks[c->nr_locks++] = (struct lockrec){.folio = folio, .vma = vma};
}

static void count_rss(struct check *c, struct simmm_vma *vma, struct simmm_page *folio,
		      int64_t nr)
{
	if (vma->vm_flags & SIMMM_VM_HUGETLB)
		return;
	if (folio->flags & PG_anon)
		c->rss[0] += nr;
	else if (folio->flags & PG_swapbacked)
		c->rss[2] += nr;
	else
		c->rss[1] += nr;
}

/* Note @file for check_files() (a repeat of the last one is skipped:
 * neighbouring folios and VMAs tend to share a file). */
static void add_file(struct check *c, struct simmm_file *file)
{
	if (c->nr_files && c->files[c->nr_files - 1] == file)
		return;
	simmm__grow(c->sim, SIMMM_ALLOC_META, (void **)&c->files, sizeof(*c->files),
		    &c->cap_files, c->nr_files + 1, true);
	c->files[c->nr_files++] = file;
}

/* The EOF invariants hold for a file nobody truncates, punches or writes
 * now (mm.h: i_rwsem). */
static bool file_settled(const struct simmm_file *file)
{
	return !simmm_rwsem_is_locked(&file->i_rwsem);
}

/* No pte maps a page of its VMA's file at or past EOF: truncation unmaps
 * them (even a folio it took out of the cache: mapping NULL, index kept)
 * and faults there SIGBUS. hugetlb VMAs are not truncated (truncate.c). */
static void check_file_pte(struct check *c, struct simmm_vma *vma, simmm_addr_t addr,
			   struct simmm_page *folio)
{
	struct simmm_file *file = vma->file;

	if (!file || (vma->vm_flags & SIMMM_VM_HUGETLB) || (folio->flags & PG_anon) ||
	    (folio->mapping != file && folio->mapping) || !file_settled(file))
		return;
	if (folio->index >= simmm__file_eof_index(file))
		BAD(c, "mm %llu: pte at %#llx maps page %llu of a file of %llu bytes (folio %#llx%s)",
		    (unsigned long long)c->mm->id, (unsigned long long)addr,
		    (unsigned long long)folio->index, (unsigned long long)file->size,
		    (unsigned long long)folio->pfn, folio->mapping ? "" : ", truncated");
}

static void check_leaf(struct check *c, simmm_addr_t addr, enum simmm_level lvl, simmm_entry_t e)
{
	struct simmm_vma *vma = simmm__vma_lookup(c->mm, addr);
	int64_t nr = (int64_t)(simmm_level_size(c->mm->pgt, lvl) >> c->sim->geo.page_shift);
	struct simmm_page *page;
	simmm_pfn_t pfn;

	if (!vma) {
		BAD(c, "mm %llu: entry %#llx at %#llx outside any VMA",
		    (unsigned long long)c->mm->id, (unsigned long long)e, (unsigned long long)addr);
		return;
	}
	if (simmm_is_real_swap_entry(e)) {
		c->swap++;
		return;
	}
	/* A guard marker only where MADV_GUARD_INSTALL can put one: a pte of
	 * a VMA neither special nor hugetlb, which has an anon_vma since the
	 * install (fork copies its page table, vma_needs_copy()). */
	if (simmm_is_guard_swp_entry(e) &&
	    (lvl != SIMMM_LVL_PTE || (vma->vm_flags & (SIMMM_VM_SPECIAL | SIMMM_VM_HUGETLB)) ||
	     !vma->anon_vma))
		BAD(c, "mm %llu: guard marker %#llx at %#llx (%s) in a VMA with vm_flags %#llx%s",
		    (unsigned long long)c->mm->id, (unsigned long long)e, (unsigned long long)addr,
		    simmm_level_name(lvl), (unsigned long long)vma->vm_flags,
		    vma->anon_vma ? "" : " and no anon_vma");
	if (!simmm_entry_pfn(e, &pfn) || (simmm_pte_present(e) && simmm_pte_special(e)))
		return;
	if (simmm_is_hwpoison_entry(e))
		return;
	page = simmm__pfn_to_page(c->sim, pfn);
	if (!page || page->refcount < 0)
		return;
	count_rss(c, vma, simmm__compound_head(c->sim, page), nr);
	if (simmm_pte_present(e))
		check_file_pte(c, vma, addr, simmm__compound_head(c->sim, page));
	if (simmm_pte_present(e) &&
	    !simmm__writenotify_pte_ok(vma, e, simmm__compound_head(c->sim, page)))
		BAD(c, "mm %llu: writable entry %#llx at %#llx of a write-notify mapping maps clean folio %#llx",
		    (unsigned long long)c->mm->id, (unsigned long long)e, (unsigned long long)addr,
		    (unsigned long long)simmm__compound_head(c->sim, page)->pfn);
	if (simmm_is_migration_entry(e))
		return; /* no mapcount, no reference */
	if (vma->vm_flags & SIMMM_VM_LOCKED)
		add_lockrec(c, vma, simmm__compound_head(c->sim, page)->pfn);
	if (lvl == SIMMM_LVL_PTE)
		add_rec(c, pfn, false);
	else
		add_rec(c, simmm__compound_head(c->sim, page)->pfn, true);
}

/* The PMD table of the mappings counted so far is done: it must hold
 * exactly one deposited table per mapping that needs one. */
static void deposit_flush(struct check *c)
{
	if (c->dep_tbl && c->dep_have != c->dep_want)
		BAD(c, "mm %llu: PMD table %#llx (at %#llx) has %llu deposited tables for %llu "
		    "anonymous PMD mappings", (unsigned long long)c->mm->id,
		    (unsigned long long)c->dep_tbl, (unsigned long long)c->dep_addr,
		    (unsigned long long)c->dep_have, (unsigned long long)c->dep_want);
	c->dep_tbl = 0;
}

/* A PMD mapping with a deposit (simmm__pmd_has_deposit()) at @addr. The
 * walk goes in address order, so one PMD table's mappings come together. */
static void deposit_count(struct check *c, simmm_addr_t addr)
{
	simmm_pfn_t tbl;
	uint64_t have = simmm__pgtable_nr_deposited(c->mm->pgt, addr, &tbl);

	if (tbl != c->dep_tbl) {
		deposit_flush(c);
		c->dep_tbl = tbl;
		c->dep_addr = addr;
		c->dep_have = have;
		c->dep_want = 0;
	}
	c->dep_want++;
	c->dep_entries++;
}

static int leaf_cb(simmm_entry_t *entry, simmm_addr_t addr, simmm_addr_t next,
		   struct simmm_walk *walk)
{
	struct check *c = walk->private;

	(void)next;
	if (simmm_entry_none(*entry) || simmm_entry_is_table(*entry, walk->level))
		return 0;
	if (walk->level == SIMMM_LVL_PMD && simmm__pmd_has_deposit(c->sim, *entry))
		deposit_count(c, addr);
	check_leaf(walk->private, addr, walk->level, *entry);
	walk->action = SIMMM_WALK_CONTINUE;
	return 0;
}

static const struct simmm_walk_ops check_ops = {
	.pud_entry = leaf_cb,
	.pmd_entry = leaf_cb,
	.pte_entry = leaf_cb,
	.pte_skip_none = true,
};

/* VM_LOCKONFAULT only with VM_LOCKED, never on special or hugetlb VMAs
 * (mlock_fixup() and mmap skip them); locked_vm charges exactly the
 * VM_LOCKED VMAs, and the ranges an MREMAP_DONTUNMAP move left charged.
 * Also the VM_WIPEONFORK and access-pattern rules. */
static void check_vma_lock(struct check *c, const struct simmm_vma *v, uint64_t *locked)
{
	uint64_t f = v->vm_flags;

	if (((f & SIMMM_VM_LOCKONFAULT) && !(f & SIMMM_VM_LOCKED)) ||
	    ((f & SIMMM_VM_LOCKED) && (f & (SIMMM_VM_SPECIAL | SIMMM_VM_HUGETLB))))
		BAD(c, "mm %llu: VMA at %#llx has vm_flags %#llx", (unsigned long long)v->mm->id,
		    (unsigned long long)v->vm_start, (unsigned long long)f);
	if (f & SIMMM_VM_LOCKED)
		*locked += simmm__vma_pages(v);
	/* VM_WIPEONFORK only on private anonymous memory (MADV_WIPEONFORK
	 * refuses anything else, and nothing else sets it). */
	if ((f & SIMMM_VM_WIPEONFORK) &&
	    (v->file || (f & (SIMMM_VM_SHARED | SIMMM_VM_SPECIAL | SIMMM_VM_HUGETLB))))
		BAD(c, "mm %llu: VMA at %#llx: VM_WIPEONFORK on vm_flags %#llx",
		    (unsigned long long)v->mm->id, (unsigned long long)v->vm_start,
		    (unsigned long long)f);
	/* One access pattern at a time (madvise_update_vma()'s RANDOM and
	 * SEQUENTIAL each clear the other). */
	if ((f & SIMMM_VM_SEQ_READ) && (f & SIMMM_VM_RAND_READ))
		BAD(c, "mm %llu: VMA at %#llx: VM_SEQ_READ and VM_RAND_READ on vm_flags %#llx",
		    (unsigned long long)v->mm->id, (unsigned long long)v->vm_start,
		    (unsigned long long)f);
}

static void check_vmas(struct check *c, struct simmm_mm *mm)
{
	simmm_addr_t prev_end = 0;
	uint64_t locked = 0;
	size_t n = 0;

	if (simmm__itree_verify(&mm->vmas))
		BAD(c, "mm %llu: VMA tree corrupt", (unsigned long long)mm->id);
	for (struct simmm_itree_node *x = simmm__itree_first(&mm->vmas); x;
	     x = simmm__itree_next(x), n++) {
		struct simmm_vma *v = simmm__vma_lookup(mm, x->start);

		if (!v || v->vm_start >= v->vm_end || (v->vm_start & (c->sim->page_size - 1)) ||
		    (v->vm_end & (c->sim->page_size - 1)) || v->vm_start < prev_end ||
		    v->vm_end > c->sim->geo.user_va_end || v->mm != mm) {
			BAD(c, "mm %llu: bad VMA at %#llx", (unsigned long long)mm->id,
			    (unsigned long long)x->start);
			continue;
		}
		check_vma_lock(c, v, &locked);
		if (v->file)
			add_file(c, v->file);
		prev_end = v->vm_end;
	}
	if (n != mm->vmas.count)
		BAD(c, "mm %llu: VMA count %zu != %zu", (unsigned long long)mm->id, n,
		    mm->vmas.count);
	if (locked + mm->locked_vm_stale != mm->locked_vm)
		BAD(c, "mm %llu: locked_vm %llu, VM_LOCKED VMAs %llu pages (+%llu left charged)",
		    (unsigned long long)mm->id, (unsigned long long)mm->locked_vm,
		    (unsigned long long)locked, (unsigned long long)mm->locked_vm_stale);
}

static void check_mm(struct check *c, struct simmm_mm *mm)
{
	c->mm = mm;
	c->rss[0] = c->rss[1] = c->rss[2] = c->swap = 0;
	c->dep_tbl = 0;
	c->dep_entries = 0;
	check_vmas(c, mm);
	if (!mm->pgt)
		return;
	simmm_walk_range(mm->pgt, 0, c->sim->geo.user_va_end, &check_ops, c);
	deposit_flush(c);
	/* With every PMD table holding a mapping balanced, a deposit left
	 * over anywhere else (a leak: a zap that did not free it) shows as
	 * a difference of the totals. */
	if (c->dep_entries != simmm__pgtable_deposited_total(mm->pgt))
		BAD(c, "mm %llu: %llu anonymous PMD mappings, %llu deposited tables",
		    (unsigned long long)mm->id, (unsigned long long)c->dep_entries,
		    (unsigned long long)simmm__pgtable_deposited_total(mm->pgt));
	if (c->rss[0] != mm->stats.rss_anon || c->rss[1] != mm->stats.rss_file ||
	    c->rss[2] != mm->stats.rss_shmem || c->swap != mm->stats.swap_ents)
		BAD(c, "mm %llu: rss anon/file/shmem/swap %lld/%lld/%lld/%lld, tables say "
		    "%lld/%lld/%lld/%lld", (unsigned long long)mm->id,
		    (long long)mm->stats.rss_anon, (long long)mm->stats.rss_file,
		    (long long)mm->stats.rss_shmem, (long long)mm->stats.swap_ents,
		    (long long)c->rss[0], (long long)c->rss[1], (long long)c->rss[2],
		    (long long)c->swap);
}

static int rec_cmp(const void *a, const void *b)
{
	const struct maprec *x = a, *y = b;

	if (x->pfn != y->pfn)
		return x->pfn < y->pfn ? -1 : 1;
	return (int)x->entire - (int)y->entire;
}

/* Each page's mapcount (and folio's entire mapcount) equals the mappings
 * found; each folio has at least one reference per mapping. */
static void check_mapcounts(struct check *c)
{
	if (c->nr)
		qsort(c->recs, c->nr, sizeof(*c->recs), rec_cmp);
	for (size_t i = 0; i < c->nr;) {
		size_t j = i;
		struct simmm_page *p = simmm__pfn_to_page(c->sim, c->recs[i].pfn);
		int32_t have;

		while (j < c->nr && c->recs[j].pfn == c->recs[i].pfn &&
		       c->recs[j].entire == c->recs[i].entire)
			j++;
		have = c->recs[i].entire ? simmm__pfn_to_page(c->sim, p->pfn + 1)->u.pincount
					 : p->mapcount;
		if (have != (int32_t)(j - i))
			BAD(c, "pfn %#llx: %s mapcount %d, mapped %zu times",
			    (unsigned long long)p->pfn, c->recs[i].entire ? "entire" : "page",
			    have, j - i);
		if (simmm__compound_head(c->sim, p)->refcount < (int32_t)(j - i))
			BAD(c, "pfn %#llx: refcount %d below its %zu mappings",
			    (unsigned long long)p->pfn, simmm__compound_head(c->sim, p)->refcount,
			    j - i);
		i = j;
	}
}

/* Pages claiming mappings nobody has (small machines only: O(RAM)). */
static void check_orphans(struct check *c)
{
	size_t k = 0;

	if (c->sim->ram_pages > (1u << 18))
		return;
	for (simmm_pfn_t pfn = 0; pfn < c->sim->ram_pages; pfn++) {
		struct simmm_page *p = simmm__pfn_to_page(c->sim, pfn);

		if (!p || p->mapcount <= 0 || (p->flags & PG_table))
			continue;
		while (k < c->nr && (c->recs[k].pfn < pfn || c->recs[k].entire))
			k++;
		if (k >= c->nr || c->recs[k].pfn != pfn)
			BAD(c, "pfn %#llx: mapcount %d but not mapped", (unsigned long long)pfn,
			    p->mapcount);
	}
}

static int lockrec_cmp(const void *a, const void *b)
{
	const struct lockrec *x = a, *y = b;

	if (x->folio != y->folio)
		return x->folio < y->folio ? -1 : 1;
	return x->vma < y->vma ? -1 : x->vma > y->vma;
}

/* The VM_LOCKED VMAs mapping folio @pfn (the records sorted). */
static uint64_t locked_vmas(const struct check *c, simmm_pfn_t pfn)
{
	size_t lo = 0, hi = c->nr_locks;
	uint64_t n = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->locks[mid].folio < pfn)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < c->nr_locks && c->locks[i].folio == pfn; i++)
		n += i == lo || c->locks[i].vma != c->locks[i - 1].vma;
	return n;
}

/* An unevictable folio's mlock_count never exceeds the VM_LOCKED VMAs
 * that map it (upstream's count errs low: see mlock.c), unless a munlock
 * walk skipped a device-exclusive entry of it or MREMAP_DONTUNMAP unlocked
 * a VMA mapping it (PG_mlock_missed: it errs high then, as upstream's
 * does). Small machines only: O(RAM). */
static void check_mlock_counts(struct check *c)
{
	if (c->sim->ram_pages > (1u << 18))
		return;
	if (c->nr_locks)
		qsort(c->locks, c->nr_locks, sizeof(*c->locks), lockrec_cmp);
	for (simmm_pfn_t pfn = 0; pfn < c->sim->ram_pages; pfn++) {
		struct simmm_page *p = simmm__pfn_to_page(c->sim, pfn);
		uint64_t n;

		if (!p || p->head_delta || p->refcount <= 0 ||
		    (p->flags & (PG_lru | PG_unevictable)) != (PG_lru | PG_unevictable) ||
		    (p->flags & PG_mlock_missed))
			continue;
		n = locked_vmas(c, pfn);
		if (p->mlock_count > n)
			BAD(c, "folio %#llx: mlock_count %u, mapped by %llu VM_LOCKED VMAs",
			    (unsigned long long)pfn, p->mlock_count, (unsigned long long)n);
	}
}

/* Every folio naming a file (not hugetlb: the pool's) is that file's page
 * cache at its index, and below EOF unless the file is being truncated or
 * written. Small machines only: O(RAM). */
static void check_file_pages(struct check *c)
{
	if (c->sim->ram_pages > (1u << 18))
		return;
	for (simmm_pfn_t pfn = 0; pfn < c->sim->ram_pages; pfn++) {
		struct simmm_page *p = simmm__pfn_to_page(c->sim, pfn);
		struct simmm_file *file;

		if (!p || p->head_delta || p->refcount <= 0 || !p->mapping ||
		    (p->flags & (PG_anon | PG_table)) || simmm__folio_is_hugetlb(c->sim, p))
			continue;
		file = p->mapping;
		add_file(c, file);
		if (simmm__filemap_lookup(file, p->index) != p)
			BAD(c, "folio %#llx names page %llu of a file whose page cache has %s there",
			    (unsigned long long)pfn, (unsigned long long)p->index,
			    simmm__filemap_lookup(file, p->index) ? "another folio" : "nothing");
		else if (file_settled(file) && p->index >= simmm__file_eof_index(file))
			BAD(c, "page-cache folio %#llx at page %llu of a file of %llu bytes",
			    (unsigned long long)pfn, (unsigned long long)p->index,
			    (unsigned long long)file->size);
	}
}

static int ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (struct simmm_file *const *)a;
	uintptr_t y = (uintptr_t) * (struct simmm_file *const *)b;

	return x < y ? -1 : x > y;
}

/* The shadow entries of one file's page cache (workingset.c): reclaim
 * evicts no tmpfs folio (simmm has no shmem swap-out), so a tmpfs file
 * has none; truncation drops those past the new EOF with the folios, so
 * none lies at or past EOF unless the file is being truncated or written;
 * each has a timestamp a workingset_eviction() could have made. (A slot
 * holds a folio or a shadow, never both: one word.) */
static void check_file_shadows(struct check *c, struct simmm_file *file)
{
	uint64_t eof = simmm__file_eof_index(file);

	for (uint64_t index = 0; index < file->cache_cap; index++) {
		uint64_t shadow = simmm__filemap_shadow(file, index);

		if (!shadow)
			continue;
		if (file->flags & SIMMM_FILE_SHMEM)
			BAD(c, "tmpfs file: shadow entry %#llx at page %llu",
			    (unsigned long long)shadow, (unsigned long long)index);
		else if (file_settled(file) && index >= eof)
			BAD(c, "shadow entry %#llx at page %llu of a file of %llu bytes",
			    (unsigned long long)shadow, (unsigned long long)index,
			    (unsigned long long)file->size);
		c->bad += simmm__workingset_check_shadow(c->sim, shadow);
	}
}

static void check_files(struct check *c)
{
	if (!c->nr_files)
		return; /* no array to sort */
	qsort(c->files, c->nr_files, sizeof(*c->files), ptr_cmp);
	for (size_t i = 0; i < c->nr_files; i++)
		if (!i || c->files[i] != c->files[i - 1])
			check_file_shadows(c, c->files[i]);
}

int simmm__mm_check(simmm_sim *sim, void *arg)
{
	struct simmm_mm_global *g = arg;
	struct check c = {.sim = sim};

	for (struct simmm_mm *mm = g->mms; mm; mm = mm->next)
		if (mm->mm_users > 0)
			check_mm(&c, mm);
	check_mapcounts(&c);
	check_orphans(&c);
	check_mlock_counts(&c);
	check_file_pages(&c);
	check_files(&c);
	simmm__free(sim, SIMMM_ALLOC_META, c.files, c.cap_files * sizeof(*c.files));
	simmm__free(sim, SIMMM_ALLOC_META, c.recs, c.cap * sizeof(*c.recs));
	simmm__free(sim, SIMMM_ALLOC_META, c.locks, c.cap_locks * sizeof(*c.locks));
	return c.bad;
}
