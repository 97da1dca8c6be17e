/* SPDX-License-Identifier: MIT */
/**
 * DOC: physical memory
 *
 * Simulated RAM is a range of frames [0, ram_pages). Each frame in use has
 * a struct page (64 bytes) in a sparse memmap: a memory section's metadata
 * exists only once a frame in it is used, so a 1 TiB machine with a few
 * touched pages costs a few MiB. A buddy allocator serves folios of order 0
 * up to the PUD order of the geometry (capped by RAM), so huge pages are
 * real contiguous pfn ranges.
 *
 * Refcounts follow the kernel's folio rules: a folio is allocated with one
 * reference, every get on any page of it adds to the head, and the put that
 * drops the head to zero frees the whole folio. Page contents are allocated
 * on first write; a never-written page reads as zeros.
 *
 * Every instance's first allocation is the shared zero page (reserved,
 * never freed, never written); simmm_zero_pfn() names its frame, which is
 * wherever the buddy allocator put it (not necessarily frame 0).
 */
#ifndef SIMMM_PAGE_H
#define SIMMM_PAGE_H

#include <simmm/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** enum simmm_memtype - the kernel's memory types (enum memory_type + system). */
enum simmm_memtype {
	SIMMM_MEM_SYSTEM = 0,
	SIMMM_MEM_DEVICE_PRIVATE = 1,
	SIMMM_MEM_DEVICE_COHERENT,
	SIMMM_MEM_FS_DAX,
	SIMMM_MEM_GENERIC,
	SIMMM_MEM_PCI_P2PDMA,
};

/**
 * struct simmm_page_info - a frame's state as seen from outside.
 */
struct simmm_page_info {
	simmm_pfn_t pfn;
	simmm_pfn_t head_pfn;   /* folio head */
	unsigned order;         /* folio order */
	int refcount;           /* of the folio (head) */
	int mapcount;           /* of this page */
	int pincount;           /* of the folio */
	uint32_t flags;         /* internal PG_* bits, for dumps */
	enum simmm_memtype memtype;
	bool free;              /* in the buddy allocator */
	bool has_contents;      /* contents allocated */
	bool table;             /* a page-table page */
};

/**
 * struct simmm_phys_stats - physical memory counters.
 */
struct simmm_phys_stats {
	uint64_t total_pages;     /* RAM frames */
	uint64_t free_pages;      /* in the buddy allocator */
	uint64_t table_pages;     /* used as page tables */
	uint64_t content_pages;   /* frames with allocated contents */
	uint64_t sections;        /* memmap sections in total */
	uint64_t sections_present;/* memmap sections instantiated */
	uint64_t memmap_bytes;    /* bytes of struct page in use */
	uint64_t alloc_failures;  /* allocations that found no free block of
				   * their order (RAM exhausted there; injected
				   * failures are not counted) */
	uint64_t free_blocks[32]; /* free buddy blocks by order */
	unsigned max_order;       /* largest order served */
};

/**
 * simmm_page_alloc() - allocate a folio of 2^@order frames.
 * @sim: the simulated machine.
 * @order: 0 .. max_order (see simmm_phys_stats()).
 * @pfn: receives the head pfn.
 *
 * The folio starts with refcount 1 and no contents.
 * Return: 0; -EINVAL for NULL arguments or an order above max_order;
 * -ENOMEM when no block of that order is free or metadata cannot be
 * allocated (nothing changes then).
 */
SIMMM_API int simmm_page_alloc(simmm_sim *sim, unsigned order, simmm_pfn_t *pfn);

/**
 * simmm_page_get() - take a reference on the folio containing @pfn.
 * Return: 0; -EINVAL for NULL @sim or a pfn outside RAM; -ENOENT (and a
 * misuse report) if the frame is free: a get on a free page is a
 * use-after-free in the kernel.
 */
SIMMM_API int simmm_page_get(simmm_sim *sim, simmm_pfn_t pfn);

/**
 * simmm_page_put() - drop a reference on the folio containing @pfn.
 * The put that reaches zero frees the folio.
 * Return: the folio's remaining refcount (0 = freed); -EINVAL for NULL @sim,
 * a pfn outside RAM or a reserved frame; -ENOENT (and a misuse report) for
 * a free frame (double free).
 */
SIMMM_API int simmm_page_put(simmm_sim *sim, simmm_pfn_t pfn);

/**
 * simmm_page_info() - describe a frame.
 * Return: 0; -EINVAL for NULL arguments or a pfn outside RAM.
 */
SIMMM_API int simmm_page_info(const simmm_sim *sim, simmm_pfn_t pfn, struct simmm_page_info *out);

/**
 * simmm_page_read() / simmm_page_write() - access a frame's contents.
 * @off, @len: byte range inside the page.
 *
 * A read of a never-written page gives zeros. A write allocates the
 * contents (or, with SIMMM_CFG_NO_CONTENTS, is dropped). A write into a
 * page of a user folio in RAM (anonymous or page cache) marks the folio
 * dirty, as a driver writing into a page it holds from GUP or HMM must
 * (set_page_dirty_lock(), unpin_user_pages_dirty_lock()): reclaim writes
 * only dirty folios out, so the write reaches swap or the file.
 * Return: 0; -EINVAL for NULL arguments, a range outside the page, or a pfn
 * outside RAM; -ENOENT for a free frame; -EPERM for writing the zero page;
 * -ENOMEM when contents cannot be allocated.
 */
SIMMM_API int simmm_page_read(simmm_sim *sim, simmm_pfn_t pfn, size_t off, void *buf, size_t len);
SIMMM_API int simmm_page_write(simmm_sim *sim, simmm_pfn_t pfn, size_t off, const void *buf,
			       size_t len);

/**
 * simmm_phys_stats() - physical memory counters.
 * Return: 0, or -EINVAL for NULL arguments.
 */
SIMMM_API int simmm_phys_stats(const simmm_sim *sim, struct simmm_phys_stats *out);

/** simmm_zero_pfn() - the shared zero page's pfn: the frame the buddy
 * allocator gave the instance's first allocation (0 for NULL, which does
 * not mean the zero page is frame 0). */
SIMMM_API simmm_pfn_t simmm_zero_pfn(const simmm_sim *sim);

#ifdef __cplusplus
}
#endif
#endif
