/* SPDX-License-Identifier: MIT */
/*
 * The physical-memory state of one instance (private to src/page/).
 *
 * Free buddy blocks are not linked through struct page as in the kernel:
 * that would force the memmap of every section holding a free block's head
 * into existence, and a 1 TiB machine would pay for it up front. Instead
 * each order keeps a free set (a dense array of head pfns plus an
 * open-addressing hash from pfn to array slot), so the memmap only exists
 * for sections where frames were actually handed out. Merging asks the
 * order's hash "is my buddy free?", the question the kernel answers with
 * PageBuddy() && buddy_order() == order.
 */
#ifndef SIMMM_PAGE_PHYS_H
#define SIMMM_PAGE_PHYS_H

#include "page/page.h"

#define SIMMM_MAX_ORDER 30
#define SIMMM_MIN_MAX_ORDER 10 /* the kernel's MAX_PAGE_ORDER */

struct free_slot {
	uint64_t key; /* pfn + 1; 0 = empty */
	uint64_t idx; /* position in free_area.pfns */
};

struct free_area {
	uint64_t *pfns;          /* free block heads, dense */
	size_t nr, cap;
	struct free_slot *hash;  /* power-of-two sized, load <= 1/2 */
	size_t hcap;
};

struct simmm_phys {
	uint64_t nr_pages;
	unsigned max_order;
	struct simmm_page **sections;
	uint64_t nr_sections;
	uint64_t sections_present;
	uint64_t memmap_bytes;   /* struct page bytes of the present sections */
	struct free_area area[SIMMM_MAX_ORDER + 1];
	uint64_t free_pages;
	uint64_t table_pages;
	uint64_t content_pages;
	uint64_t alloc_failures; /* allocations that found no free block */
	uint64_t nr_poisoned;    /* frames with PG_hwpoison (num_poisoned_pages) */
	uint64_t mlocked_freed;  /* pages freed still PG_mlocked, for mm's NR_MLOCK
				  * (simmm__page_take_mlocked_freed()) */
	simmm_pfn_t zero_pfn;
	struct simmm_devmem *devmem; /* ZONE_DEVICE ranges above RAM (devmem.c) */
};

/* free sets (src/page/freeset.c) */
int simmm__fa_reserve(simmm_sim *sim, struct free_area *fa, size_t extra, bool nofail);
void simmm__fa_add(struct free_area *fa, uint64_t pfn); /* capacity reserved */
bool simmm__fa_remove(struct free_area *fa, uint64_t pfn);
bool simmm__fa_contains(const struct free_area *fa, uint64_t pfn);
void simmm__fa_free(simmm_sim *sim, struct free_area *fa);

/* memmap (src/page/memmap.c) */
int simmm__memmap_init(simmm_sim *sim);
void simmm__memmap_fini(simmm_sim *sim);
int simmm__memmap_populate(simmm_sim *sim, simmm_pfn_t pfn, uint64_t nr);

static inline struct simmm_phys *phys_of(const simmm_sim *sim)
{
	return sim->phys;
}

/* Frames section @s holds: SIMMM_SECTION_PAGES, except the last section of
 * a RAM size that is not a multiple of it, which ends with RAM (a 128-frame
 * machine pays for 128 struct pages, not 2^14). Device frames live in their
 * own memmaps (devmem.c), never in these sections. */
static inline uint64_t simmm__section_frames(const struct simmm_phys *ph, uint64_t s)
{
	uint64_t left = ph->nr_pages - (s << SIMMM_SECTION_SHIFT);

	return left < SIMMM_SECTION_PAGES ? left : SIMMM_SECTION_PAGES;
}

#endif
