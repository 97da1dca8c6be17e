/* SPDX-License-Identifier: MIT */
/*
 * Physical memory internals: struct simmm_page, the sparse memmap, the buddy
 * allocator and folio refcounting.
 *
 * Invariants (checked by simmm__phys_check()):
 *  - A frame is either inside exactly one free buddy block, or part of an
 *    allocated folio: a head (head_delta == 0, refcount > 0 or a table /
 *    reserved page) or a tail whose head_delta leads to a head covering it.
 *  - Free frames whose memmap exists have refcount 0, mapcount 0, flags 0,
 *    no contents.
 *  - refcount >= mapcount + pincount on a folio head (a mapping or a pin
 *    always holds a reference, as in the kernel).
 *  - No two free blocks of the same order are buddies (they would have
 *    merged); free blocks never overlap.
 *  - free_pages + allocated pages == RAM pages.
 *
 * The pfn is simmm's handle for a frame: page tables, swap entries and
 * rmap all store pfns, and simmm__pfn_to_page() is two array lookups.
 */
#ifndef SIMMM_PAGE_PAGE_H
#define SIMMM_PAGE_PAGE_H

#include <simmm/page.h>

#include "core/internal.h"

/* Page flags (PG_*). Bit numbers are simmm's own. */
enum {
	PG_locked = 1u << 0,
	PG_referenced = 1u << 1,
	PG_uptodate = 1u << 2,
	PG_dirty = 1u << 3,
	PG_lru = 1u << 4,
	PG_active = 1u << 5,
	PG_swapbacked = 1u << 6,
	PG_swapcache = 1u << 7,
	PG_reserved = 1u << 8,   /* never freed: the zero page, special frames */
	PG_head = 1u << 9,       /* head of a folio with order > 0 */
	PG_table = 1u << 10,     /* a page-table page: data = entry array */
	PG_anon = 1u << 11,      /* mapping is an anon_vma-like object */
	PG_anon_exclusive = 1u << 12,
	PG_hwpoison = 1u << 13,
	PG_writeback = 1u << 14,
	PG_reclaim = 1u << 15,
	PG_unevictable = 1u << 16,
	PG_mlocked = 1u << 17,
	PG_waiters = 1u << 18,
	PG_zero = 1u << 19,      /* the shared (huge) zero page */
	PG_device = 1u << 20,    /* ZONE_DEVICE frame (memtype says which) */
	PG_migrate_pin = 1u << 21, /* a migration pins the folio's anon_vma
				    * (the kernel keeps it in the migration's
				    * private data; src/migrate/entry.c) */
	PG_partially_mapped = 1u << 22, /* head of a large anon folio on the
					 * deferred split queue (the kernel's
					 * PG_partially_mapped, 6.12+, kept in
					 * the folio's second page there;
					 * src/mm/deferred_split.c) */
	PG_mlock_missed = 1u << 23, /* simmm's own: a munlock walk skipped a
				     * device-exclusive entry of this mlocked
				     * folio, or MREMAP_DONTUNMAP unlocked a
				     * VMA mapping it without a munlock, so
				     * its mlock_count may exceed the
				     * VM_LOCKED VMAs mapping it (for the
				     * checker; src/mm/mlock.c) */
	PG_workingset = 1u << 24, /* the folio was active before it was last
				   * deactivated or evicted (the kernel's
				   * PG_workingset: shrink_active_list() sets
				   * it, a shadow entry remembers it;
				   * src/mm/workingset.c) */
};

/**
 * struct simmm_page - one frame's metadata (64 bytes, like the kernel's).
 *
 * Folio-wide state lives in the head page; like the kernel we keep a large
 * folio's extra counters (entire mapcount) in the first tail page.
 */
struct simmm_page {
	uint32_t flags;       /* PG_* */
	int32_t refcount;     /* _refcount; 0 = free (or a tail page) */
	union {
		int32_t mapcount; /* page-table mappings of this page (0-based,
				   * unlike the kernel's -1-based _mapcount) */
		int32_t pt_level; /* PG_table: the kernel level of its entries */
	};
	uint32_t head_delta;  /* pfn - head pfn; 0 for heads and order-0 */
	uint8_t order;        /* folio order (head only) */
	uint8_t memtype;      /* enum simmm_memtype */
	union {
		uint16_t pgmap_id;    /* ZONE_DEVICE: index of its dev_pagemap;
				       * PG_table: log2 of its entries */
		uint16_t mlock_count; /* RAM folio head on the unevictable LRU:
				       * the VM_LOCKED mappings counted as
				       * mlocking it (src/mm/mlock.c). The
				       * kernel keeps it in folio->lru, free
				       * while on that list, which has no
				       * list_head; simmm's LRU queues pfns,
				       * so a field RAM folios leave unused
				       * serves. Meaningless elsewhere. */
	};
	union {
		int32_t pincount; /* head: FOLL_PIN pins of the folio;
				   * first tail: entire (PMD/PUD) mapcount */
		int32_t nr_pages_mapped; /* second tail of a folio of order
					  * >= 2: its pages with mapcount > 0
					  * (simmm__folio_nr_pages_mapped()) */
		uint32_t pt_live; /* PG_table: live (non-none) entries */
	} u;
	uint64_t pfn;         /* this frame's number */
	void *mapping;        /* anon_vma / address_space / owning pgtable */
	uint64_t index;       /* offset in mapping (pages) / table: VA covered */
	void *data;           /* contents (lazily allocated) / table entries */
	union {
		uint64_t private;    /* swap entry, zone_device_data */
		/* PG_table: the deposited page tables (the kernel's
		 * pmd_huge_pte in a PMD table's ptdesc, and the pt_list link
		 * of a deposited one): a PMD table holds the pfn of its first
		 * deposited table, a deposited table that of the next one;
		 * 0 ends the list (pfn 0 is never a table). */
		uint64_t pt_deposit;
	};
};

_Static_assert(sizeof(struct simmm_page) == 64, "struct simmm_page must stay 64 bytes");

/* ---- memmap ------------------------------------------------------------- */

#define SIMMM_SECTION_SHIFT 14 /* 2^14 frames per memmap section */
#define SIMMM_SECTION_PAGES (1ULL << SIMMM_SECTION_SHIFT)

/* Device frames (pfn >= RAM): the out-of-line halves of the two helpers
 * below (src/page/memmap.c). */
struct simmm_page *simmm__devpfn_to_page(const simmm_sim *sim, simmm_pfn_t pfn);
bool simmm__devpfn_valid(const simmm_sim *sim, simmm_pfn_t pfn);

/* Frame's metadata, or NULL when its memmap section was never needed
 * (the frame is then free and pristine) or the pfn is out of range.
 * Inline because every walk step calls it; RAM pfns never leave this
 * function, device pfns take the range search out of line. */
static SIMMM_ALWAYS_INLINE struct simmm_page *simmm__pfn_to_page(const simmm_sim *sim,
							      simmm_pfn_t pfn)
{
	struct simmm_page *sec;

	if (SIMMM_UNLIKELY(pfn >= sim->ram_pages))
		return simmm__devpfn_to_page(sim, pfn);
	sec = sim->memmap[pfn >> SIMMM_SECTION_SHIFT];
	return sec ? &sec[pfn & (SIMMM_SECTION_PAGES - 1)] : NULL;
}

/* Like simmm__pfn_to_page() but creates the section; NULL on -ENOMEM or a
 * pfn out of range. */
struct simmm_page *simmm__pfn_to_page_alloc(simmm_sim *sim, simmm_pfn_t pfn);

/* RAM frames, and device frames of a registered pagemap (pfn_valid() is
 * true for ZONE_DEVICE memory in the kernel too). */
static inline bool simmm__pfn_valid(const simmm_sim *sim, simmm_pfn_t pfn)
{
	return pfn < sim->ram_pages || simmm__devpfn_valid(sim, pfn);
}

static SIMMM_ALWAYS_INLINE struct simmm_page *simmm__compound_head(const simmm_sim *sim,
						       struct simmm_page *p)
{
	return p->head_delta ? simmm__pfn_to_page(sim, p->pfn - p->head_delta) : p;
}

/*
 * The pages of a large folio that at least one pte maps (mapcount > 0),
 * the kernel's _nr_pages_mapped without its ENTIRELY_MAPPED bit (the
 * entire mapcount says that). rmap.c keeps it up to date, the phys checker
 * recounts it. The kernel keeps it in the first tail beside
 * _entire_mapcount; simmm's first tail has no room left, so it lives in
 * the second, where the kernel has _deferred_list: like that list, it
 * exists only for folios of order >= 2 (NULL otherwise), which are the
 * only ones the deferred split queue takes. A naturally aligned folio of
 * order >= 2 has its first pages in one memmap section.
 */
static inline int32_t *simmm__folio_nr_pages_mapped(struct simmm_page *folio)
{
	return folio->order >= 2 ? &folio[2].u.nr_pages_mapped : NULL;
}

/* ---- buddy allocator ----------------------------------------------------- */

/* Allocate 2^order contiguous frames as one folio: head refcount 1,
 * PG_head for order > 0, tails with head_delta set. Returns the head page
 * or NULL (-ENOMEM: out of frames, or allocator failure). Contents are not
 * allocated. Traces SIMMM_EV_PAGE_ALLOC. */
struct simmm_page *simmm__alloc_pages(simmm_sim *sim, unsigned order);
/* Return a folio whose refcount reached 0 to the buddy allocator, freeing
 * contents. Callers normally use simmm__folio_put(). */
void simmm__free_pages(simmm_sim *sim, struct simmm_page *head);
/* Largest order the buddy allocator serves (PUD order, capped by RAM). */
unsigned simmm__max_order(const simmm_sim *sim);
/* TestSetPageHWPoison(): set PG_hwpoison on @page (counted in
 * num_poisoned_pages); true if it was set already. A poisoned frame never
 * goes back to the buddy: freeing a folio keeps its poisoned frames
 * allocated (order 0, one reference, PG_hwpoison only) and frees the rest. */
bool simmm__page_test_set_hwpoison(simmm_sim *sim, struct simmm_page *page);
/* ClearPageHWPoison() + num_poisoned_pages_dec(). */
void simmm__page_clear_hwpoison(simmm_sim *sim, struct simmm_page *page);
uint64_t simmm__nr_poisoned(const simmm_sim *sim);
/* take_page_off_buddy(): the free frame @pfn leaves its free block (the
 * rest of the block stays free) and becomes an order-0 page with one
 * reference. False if @pfn is not free, or on allocator failure. */
bool simmm__take_page_off_buddy(simmm_sim *sim, simmm_pfn_t pfn);

/* ---- refcounts (kernel folio_get/folio_put rules) ----------------------- */

/* +1 on the folio; the page must be in use (refcount > 0). */
void simmm__folio_get(simmm_sim *sim, struct simmm_page *page);
/* -1 on the folio; at zero the folio is freed (device pages: later, the
 * pgmap's free callback). */
void simmm__folio_put(simmm_sim *sim, struct simmm_page *page);
/* The pages of folios whose last reference went while still PG_mlocked
 * (a bare folio_put(): simmm_page_put() by a driver, say; mm's own puts
 * munlock first) since the last call, which simmm__folio_put() cleared as
 * __page_cache_release() does; the count restarts at 0. The mm layer takes
 * it into its NR_MLOCK (lower layers do not call up). */
uint64_t simmm__page_take_mlocked_freed(simmm_sim *sim);
/* Add @n references (n >= 1). */
void simmm__folio_ref_add(simmm_sim *sim, struct simmm_page *page, int n);

/* ---- contents ------------------------------------------------------------ */

/* The frame's data, allocating (zeroed) on first use when @alloc is true.
 * Returns NULL if not allocated (and !@alloc), on -ENOMEM, or when the
 * instance runs with SIMMM_CFG_NO_CONTENTS. */
void *simmm__page_data(simmm_sim *sim, struct simmm_page *page, bool alloc);
/* Copy one frame's contents to another (lazy: a never-written source
 * leaves the destination without contents). 0 or -ENOMEM. */
int simmm__page_copy(simmm_sim *sim, struct simmm_page *dst, struct simmm_page *src);
/* Copy every frame of folio @src to the frames of @dst (same order, not
 * checked), page by page as above. 0 or -ENOMEM (frames before the failing
 * one were copied). */
int simmm__folio_copy_contents(simmm_sim *sim, struct simmm_page *dst, struct simmm_page *src);
/* Drop contents (the frame reads as zeros again). */
void simmm__page_zero(simmm_sim *sim, struct simmm_page *page);

/* ---- page-table pages ----------------------------------------------------- */

/* An order-0 frame marked PG_table with a zeroed entry array of @nr_entries
 * 64-bit entries (PGTABLE category), refcount 1, pt_live 0, mapping = @owner,
 * pt_level = @level, no deposits. NULL on -ENOMEM. */
struct simmm_page *simmm__pt_page_alloc(simmm_sim *sim, unsigned nr_entries,
					 void *owner, unsigned level);
/* Free a table page allocated above (its entries must all be none). */
void simmm__pt_page_free(simmm_sim *sim, struct simmm_page *page);
static inline uint64_t *simmm__pt_entries(struct simmm_page *pt)
{
	return (uint64_t *)pt->data;
}

/* ---- ZONE_DEVICE ------------------------------------------------------------ */

struct simmm_dev_pagemap;
/* The pagemap of a ZONE_DEVICE page (page->pgmap_id), or NULL for system
 * memory. Pagemaps are registered by src/migrate (memremap_pages). */
struct simmm_dev_pagemap *simmm__page_pgmap(const simmm_sim *sim, const struct simmm_page *page);
static inline bool simmm__is_device_private_page(const struct simmm_page *p)
{
	return p->memtype == SIMMM_MEM_DEVICE_PRIVATE;
}
static inline bool simmm__is_device_coherent_page(const struct simmm_page *p)
{
	return p->memtype == SIMMM_MEM_DEVICE_COHERENT;
}
static inline bool simmm__is_zone_device_page(const struct simmm_page *p)
{
	return p->memtype != SIMMM_MEM_SYSTEM;
}

/* ---- special frames and setup ------------------------------------------- */

simmm_pfn_t simmm__zero_pfn(const simmm_sim *sim);

int simmm__phys_init(simmm_sim *sim);
/* Returns the number of leaked (still referenced) folios. */
uint64_t simmm__phys_fini(simmm_sim *sim, bool quiet);
int simmm__phys_check(simmm_sim *sim, void *arg);
/* The checkers' test of simmm__folio_nr_pages_mapped() for folio @h, whose
 * pages with mapcount > 0 the caller counted (@mapped). Violations found. */
int simmm__check_nr_pages_mapped(simmm_sim *sim, const struct simmm_page *h, long mapped);

#endif
