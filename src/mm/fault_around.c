// SPDX-License-Identifier: MIT
/*
 * Fault-around: a read fault on a missing pte of a file or shmem mapping
 * first maps the neighbouring pages the page cache already holds
 * (do_read_fault() -> do_fault_around() -> ->map_pages(), which is
 * filemap_map_pages() for both, mm/memory.c and mm/filemap.c), hoping they
 * are wanted soon; the fault itself goes on as before only if its own page
 * was not among them.
 *
 * The window is fault_around_pages pages (a power of two, at most
 * PTRS_PER_PTE; the debugfs knob fault_around_bytes, default 64 KiB, here
 * simmm_set_fault_around_bytes()) aligned down to its size, or starting at
 * the VMA's first page if that is later (the window then runs its full
 * length from there, do_fault_around()'s from_pte/to_pte), clipped to the
 * VMA's end and to the pte table of the fault (one PMD, one PTL), then to
 * EOF (filemap_map_pages()'s file_end). In it, a page is
 * mapped only if its folio is in the cache, uptodate and not locked
 * (next_uptodate_folio()), the page is not hwpoisoned and its pte is none
 * (filemap_map_order0_folio(): a marker or any other entry is left to its
 * own fault), exactly as the read fault would map it (finish_fault() ->
 * set_pte_range(): vma->vm_page_prot, never written, so read-only in a
 * private or write-notify mapping), with the page's reference, mapcount and
 * rss, and the mlock of a small folio in a VM_LOCKED VMA
 * (__folio_add_file_rmap() -> mlock_vma_folio()).
 *
 * Entries other than the faulting one are "prefaulted": set_pte_range()
 * makes them old where arch_wants_old_prefaulted_pte() says so. That is
 * arm64 with a hardware access flag (cpu_has_hw_af()), which every arm64
 * geometry here has: simmm's MMU sets young in hardware
 * (src/mm/access.c). Elsewhere (x86, RISC-V, user-defined geometries) they
 * are young like any freshly faulted entry.
 *
 * The kernel does this under RCU and the pte lock, with each folio
 * referenced and trylocked while it is looked at; simmm's walk has no
 * scheduling point, so nothing can change under it and the transient
 * reference and lock are not taken: a folio someone else holds locked is
 * skipped all the same.
 *
 * Not modelled: large page-cache folios (filemap_map_folio_range(),
 * filemap_map_pmd()): simmm's page cache holds small folios only, so each
 * index is its own folio; readahead and its mmap_miss bookkeeping (simmm
 * has no readahead for mmap_miss to steer); the per-VMA-lock fault that
 * faults around and then retries under the mmap lock.
 */
#include <errno.h>

#include "mm/mm.h"
#include "mm/mm_ext.h"

/* fault_around_pages' initial value: 65536 >> PAGE_SHIFT. */
#define FAULT_AROUND_DEFAULT_BYTES 65536u

/* PTRS_PER_PTE: the entries of one pte table. */
static uint64_t ptrs_per_pte(const simmm_sim *sim)
{
	return 1ULL << sim->geo.level[SIMMM_LVL_PTE].bits;
}

/* The kernel's default, 64 KiB, is a single page with 64 KiB pages (no
 * fault-around) and never more than a pte table on a real geometry; a
 * user-defined geometry with a smaller table gets the whole table. */
static uint64_t default_pages(const simmm_sim *sim)
{
	uint64_t pages = FAULT_AROUND_DEFAULT_BYTES >> sim->geo.page_shift;

	if (pages > ptrs_per_pte(sim))
		pages = ptrs_per_pte(sim);
	return pages ? pages : 1;
}

static uint64_t fault_around_pages(simmm_sim *sim)
{
	const struct simmm_mm_global *g = sim->mm_state;

	return g && g->fault_around_pages ? g->fault_around_pages : default_pages(sim);
}

static uint64_t rounddown_pow_of_two(uint64_t v)
{
	while (v & (v - 1))
		v &= v - 1;
	return v;
}

int simmm_set_fault_around_bytes(simmm_sim *sim, uint64_t bytes)
{
	struct simmm_mm_global *g;
	uint64_t pages;

	if (!simmm__sim_ok(sim))
		return -EINVAL;
	/* fault_around_bytes_set(): more than a pte table is refused. */
	if (bytes / sim->page_size > ptrs_per_pte(sim))
		return -EINVAL;
	g = simmm__mm_global(sim);
	if (!g)
		return -ENOMEM;
	/* ... else rounded down to a power of two, at least one page (which
	 * disables fault-around); 0 is one page too, as the kernel said
	 * explicitly before 6.4 (rounddown_pow_of_two(0) is undefined). */
	pages = rounddown_pow_of_two(bytes) >> sim->geo.page_shift;
	g->fault_around_pages = pages ? pages : 1;
	return 0;
}

int simmm_get_fault_around_bytes(simmm_sim *sim, uint64_t *bytes)
{
	if (!simmm__sim_ok(sim) || !bytes)
		return -EINVAL;
	*bytes = fault_around_pages(sim) << sim->geo.page_shift; /* fault_around_bytes_get() */
	return 0;
}

/* should_fault_around(): callers only come here for a file or shmem VMA
 * (->map_pages is filemap_map_pages() for both); userfaultfd write-protect
 * disables it (uffd_disable_fault_around(): VM_UFFD_WP | VM_UFFD_MINOR,
 * simmm has no minor faults), and a one-page window is none. */
static bool should_fault_around(const struct simmm_vma *vma, uint64_t nr_pages)
{
	if (NEVER(!vma->file) || (vma->vm_flags & SIMMM_VM_UFFD_WP))
		return false;
	return nr_pages > 1;
}

/* arch_wants_old_prefaulted_pte(), see the top of the file. */
static bool wants_old_prefaulted_pte(const simmm_sim *sim)
{
	return sim->geo.arch == SIMMM_ARCH_ARM64;
}

/* next_uptodate_folio()'s filter: the cache's folio at @index if fault-
 * around may map it, else NULL (a hole or shadow, locked, not uptodate,
 * hwpoisoned: filemap_map_order0_folio()'s PageHWPoison()). */
static struct simmm_page *uptodate_folio(struct simmm_file *file, uint64_t index)
{
	struct simmm_page *folio = simmm__filemap_lookup(file, index);

	if (!folio || (folio->flags & (PG_locked | PG_hwpoison)) || !(folio->flags & PG_uptodate))
		return NULL;
	if (NEVER(folio->mapping != file) || NEVER(folio->order))
		return NULL;
	return folio;
}

/* filemap_map_order0_folio() -> set_pte_range(): map @folio at @addr if
 * its pte is none. Return: true if mapped. */
static bool map_folio(struct simmm_vma *vma, struct simmm_page *folio, simmm_addr_t addr,
		      bool prefault)
{
	struct simmm_mm *mm = vma->mm;
	simmm_sim *sim = mm->sim;
	simmm_entry_t *slot, e;

	if (simmm_pgtable_lookup(mm->pgt, addr, SIMMM_LVL_PTE, &slot) || !simmm_entry_none(*slot))
		return false;
	e = simmm__mk_file_pte(mm, vma, folio, false);
	if (prefault && wants_old_prefaulted_pte(sim))
		e = simmm_pte_mkold(e);
	simmm__folio_get(sim, folio); /* folio_ref_inc(): the mapping's */
	simmm__page_add_rmap_pte(sim, folio);
	simmm__mlock_vma_folio(sim, folio, vma); /* a small folio */
	simmm_pgtable_set(mm->pgt, addr, SIMMM_LVL_PTE, e);
	simmm__rss_add(mm, vma, folio, 1);
	return true;
}

/* filemap_map_pages() over [@start, @end] of the file, @start mapped at
 * @addr. */
static unsigned map_pages(struct simmm_vma *vma, uint64_t start, uint64_t end, simmm_addr_t addr,
			  simmm_addr_t fault_addr)
{
	struct simmm_file *file = vma->file;
	uint64_t eof = simmm__file_eof_index(file);
	unsigned shift = vma->mm->sim->geo.page_shift, ret = 0;

	/* file_end: no pte beyond i_size, to keep its SIGBUS. */
	if (!eof)
		return 0;
	if (end > eof - 1)
		end = eof - 1;
	for (uint64_t index = start; index <= end; index++) {
		simmm_addr_t at = addr + ((index - start) << shift);
		struct simmm_page *folio = uptodate_folio(file, index);

		if (folio && map_folio(vma, folio, at, at != fault_addr) && at == fault_addr)
			ret = SIMMM_VM_FAULT_NOPAGE;
	}
	return ret;
}

unsigned simmm__do_fault_around(struct simmm_vma *vma, simmm_addr_t addr)
{
	simmm_sim *sim = vma->mm->sim;
	unsigned shift = sim->geo.page_shift;
	uint64_t nr_pages = fault_around_pages(sim), ptrs = ptrs_per_pte(sim);
	uint64_t pte_off = (addr >> shift) & (ptrs - 1);
	uint64_t vma_off = (addr - vma->vm_start) >> shift;
	uint64_t from, to, pgoff = simmm__linear_page_index(vma, addr, shift);

	if (!should_fault_around(vma, nr_pages))
		return 0;
	/* do_fault_around(): the window aligned down to its size, not before
	 * the VMA's first page ... */
	from = pte_off & ~(nr_pages - 1);
	if (from < pte_off - (pte_off < vma_off ? pte_off : vma_off))
		from = pte_off - (pte_off < vma_off ? pte_off : vma_off);
	/* ... and, past its end, not beyond the pte table nor the VMA. */
	to = from + nr_pages;
	if (to > ptrs)
		to = ptrs;
	if (to > pte_off + simmm__vma_pages(vma) - vma_off)
		to = pte_off + simmm__vma_pages(vma) - vma_off;
	return map_pages(vma, pgoff - (pte_off - from), pgoff + (to - 1 - pte_off),
			 addr - ((pte_off - from) << shift), addr);
}
