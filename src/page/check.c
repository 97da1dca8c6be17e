// SPDX-License-Identifier: MIT
/*
 * The physical-memory part of simmm_check(): every invariant stated in
 * page.h, checked over the free sets and every instantiated memmap
 * section. Cost is linear in free blocks plus instantiated frames.
 */
#include <stdlib.h>
#include <string.h>

#include "page/devmem.h"
#include "page/phys.h"

struct blk {
	uint64_t pfn;
	unsigned order;
};

static int blk_cmp(const void *a, const void *b)
{
	const struct blk *x = a, *y = b;
	return x->pfn < y->pfn ? -1 : x->pfn > y->pfn;
}

#define VIOL(...)                                                            \
	do {                                                                 \
		if (++bad <= 32)                                             \
			simmm__report(sim, SIMMM_REPORT_INVARIANT, __VA_ARGS__); \
	} while (0)

static int check_free_sets(simmm_sim *sim, struct blk **out, size_t *nout)
{
	struct simmm_phys *ph = phys_of(sim);
	size_t total = 0, k = 0;
	uint64_t free_sum = 0;
	int bad = 0;

	for (unsigned o = 0; o <= ph->max_order; o++)
		total += ph->area[o].nr;
	struct blk *b = simmm__zalloc_nofail(sim, SIMMM_ALLOC_META, (total + 1) * sizeof(*b));
	for (unsigned o = 0; o <= ph->max_order; o++) {
		struct free_area *fa = &ph->area[o];
		for (size_t i = 0; i < fa->nr; i++) {
			uint64_t pfn = fa->pfns[i];
			if (pfn & ((1ULL << o) - 1))
				VIOL("buddy: free block 0x%llx misaligned for order %u",
				     (unsigned long long)pfn, o);
			if (pfn + (1ULL << o) > ph->nr_pages)
				VIOL("buddy: free block 0x%llx order %u beyond RAM",
				     (unsigned long long)pfn, o);
			if (!simmm__fa_contains(fa, pfn))
				VIOL("buddy: free set hash misses 0x%llx order %u",
				     (unsigned long long)pfn, o);
			if (o < ph->max_order && simmm__fa_contains(fa, pfn ^ (1ULL << o)))
				VIOL("buddy: free buddies 0x%llx and 0x%llx of order %u not merged",
				     (unsigned long long)pfn,
				     (unsigned long long)(pfn ^ (1ULL << o)), o);
			b[k++] = (struct blk){pfn, o};
			free_sum += 1ULL << o;
		}
	}
	qsort(b, k, sizeof(*b), blk_cmp);
	for (size_t i = 1; i < k; i++)
		if (b[i - 1].pfn + (1ULL << b[i - 1].order) > b[i].pfn)
			VIOL("buddy: free blocks 0x%llx and 0x%llx overlap",
			     (unsigned long long)b[i - 1].pfn, (unsigned long long)b[i].pfn);
	if (free_sum != ph->free_pages)
		VIOL("buddy: free sets hold %llu frames, counter says %llu",
		     (unsigned long long)free_sum, (unsigned long long)ph->free_pages);
	*out = b;
	*nout = k;
	return bad;
}

static int check_free_frame(simmm_sim *sim, const struct simmm_page *p)
{
	int bad = 0;
	if (p->refcount || p->mapcount || p->flags || p->data || p->head_delta)
		VIOL("frame 0x%llx is in a free block but in use (ref %d map %d flags 0x%x)",
		     (unsigned long long)p->pfn, p->refcount, p->mapcount, p->flags);
	return bad;
}

/* A folio of order >= 2 counts its pte-mapped pages (@mapped, recounted
 * by the caller) in its second tail (simmm__folio_nr_pages_mapped()). */
int simmm__check_nr_pages_mapped(simmm_sim *sim, const struct simmm_page *h, long mapped)
{
	int bad = 0;

	if (h->order >= 2 && h[2].u.nr_pages_mapped != mapped)
		VIOL("folio 0x%llx: %ld pages mapped, nr_pages_mapped says %d",
		     (unsigned long long)h->pfn, mapped, h[2].u.nr_pages_mapped);
	return bad;
}

/* A folio head: references cover mappings and pins. */
static int check_head(simmm_sim *sim, const struct simmm_page *h, uint64_t *used,
		      uint64_t *contents, uint64_t *tables)
{
	uint64_t n = 1ULL << h->order;
	long maps = 0, mapped = 0;
	int bad = 0;

	if (h->refcount <= 0) {
		VIOL("frame 0x%llx is neither free nor in use (refcount %d)",
		     (unsigned long long)h->pfn, h->refcount);
		return bad;
	}
	*used += n;
	if (h->flags & PG_table) {
		(*tables)++;
		if (h->u.pt_live > (1u << h->pgmap_id))
			VIOL("page table 0x%llx: %u live entries of %u",
			     (unsigned long long)h->pfn, h->u.pt_live, 1u << h->pgmap_id);
		return bad;
	}
	if (h->order && !(h->flags & PG_head))
		VIOL("folio 0x%llx of order %u lacks PG_head", (unsigned long long)h->pfn, h->order);
	for (uint64_t i = 0; i < n; i++) {
		const struct simmm_page *p = simmm__pfn_to_page(sim, h->pfn + i);
		if (!p) {
			VIOL("folio 0x%llx: memmap missing for frame +%llu",
			     (unsigned long long)h->pfn, (unsigned long long)i);
			break;
		}
		if (i && (p->head_delta != i || p->refcount))
			VIOL("folio 0x%llx: tail +%llu has head_delta %u refcount %d",
			     (unsigned long long)h->pfn, (unsigned long long)i, p->head_delta,
			     p->refcount);
		if (p->mapcount < 0)
			VIOL("frame 0x%llx: negative mapcount %d", (unsigned long long)p->pfn,
			     p->mapcount);
		maps += p->mapcount;
		mapped += p->mapcount > 0;
		if (p->data)
			(*contents)++;
	}
	if (h->order)
		maps += h[1].u.pincount; /* entire (PMD/PUD) mappings */
	bad += simmm__check_nr_pages_mapped(sim, h, mapped);
	if ((long)h->refcount < maps + h->u.pincount)
		VIOL("folio 0x%llx: refcount %d below mappings %ld + pins %d",
		     (unsigned long long)h->pfn, h->refcount, maps, h->u.pincount);
	return bad;
}

int simmm__phys_check(simmm_sim *sim, void *arg)
{
	struct simmm_phys *ph = phys_of(sim);
	uint64_t used = 0, contents = 0, tables = 0, dev_memmap = 0, ram_memmap = 0;
	struct blk *blocks;
	size_t nblocks, bi = 0;
	int bad;

	(void)arg;
	bad = check_free_sets(sim, &blocks, &nblocks);
	for (uint64_t s = 0; s < ph->nr_sections; s++) {
		struct simmm_page *sec = ph->sections[s];
		uint64_t base = s << SIMMM_SECTION_SHIFT;
		if (!sec)
			continue;
		ram_memmap += simmm__section_frames(ph, s) * sizeof(struct simmm_page);
		for (uint64_t i = 0; i < simmm__section_frames(ph, s); i++) {
			struct simmm_page *p = &sec[i];
			uint64_t pfn = base + i;
			while (bi < nblocks && blocks[bi].pfn + (1ULL << blocks[bi].order) <= pfn)
				bi++;
			if (p->pfn != pfn) {
				VIOL("memmap: frame 0x%llx records pfn 0x%llx",
				     (unsigned long long)pfn, (unsigned long long)p->pfn);
				continue;
			}
			if (bi < nblocks && blocks[bi].pfn <= pfn) {
				bad += check_free_frame(sim, p);
				continue;
			}
			if (p->head_delta)
				continue; /* checked with its head */
			bad += check_head(sim, p, &used, &contents, &tables);
		}
	}
	simmm__free(sim, SIMMM_ALLOC_META, blocks, (nblocks + 1) * sizeof(*blocks));
	/* Device frames live outside RAM and the buddy allocator: checked by
	 * their own rules, their contents and memmap counted with RAM's. */
	bad += simmm__devmem_check(sim, &contents, &dev_memmap);

	if (used + ph->free_pages != ph->nr_pages)
		VIOL("accounting: %llu frames in use + %llu free != %llu RAM frames",
		     (unsigned long long)used, (unsigned long long)ph->free_pages,
		     (unsigned long long)ph->nr_pages);
	if (contents != ph->content_pages)
		VIOL("accounting: %llu frames hold contents, counter says %llu",
		     (unsigned long long)contents, (unsigned long long)ph->content_pages);
	if (tables != ph->table_pages)
		VIOL("accounting: %llu table frames, counter says %llu",
		     (unsigned long long)tables, (unsigned long long)ph->table_pages);
	if (sim->alloc.live_bytes[SIMMM_ALLOC_CONTENTS] != ph->content_pages * sim->page_size)
		VIOL("accounting: %llu content bytes allocated for %llu pages",
		     (unsigned long long)sim->alloc.live_bytes[SIMMM_ALLOC_CONTENTS],
		     (unsigned long long)ph->content_pages);
	if (ram_memmap != ph->memmap_bytes)
		VIOL("accounting: present sections hold %llu memmap bytes, counter says %llu",
		     (unsigned long long)ram_memmap, (unsigned long long)ph->memmap_bytes);
	uint64_t memmap = ram_memmap + ph->nr_sections * sizeof(*ph->sections) + dev_memmap;
	if (sim->alloc.live_bytes[SIMMM_ALLOC_MEMMAP] != memmap)
		VIOL("accounting: memmap bytes %llu, expected %llu",
		     (unsigned long long)sim->alloc.live_bytes[SIMMM_ALLOC_MEMMAP],
		     (unsigned long long)memmap);
	return bad;
}
