// SPDX-License-Identifier: MIT
/*
 * The buddy allocator: blocks of 2^order frames, split on allocation and
 * merged with their buddy (pfn ^ 2^order) on free, as the kernel's
 * __rmqueue_smallest / __free_one_page do. It serves orders up to PUD
 * order (so hugetlb and THP folios are real contiguous pfn ranges), at
 * least the kernel's MAX_PAGE_ORDER, and never more than RAM holds.
 */
#include <string.h>

#include "page/phys.h"

unsigned simmm__max_order(const simmm_sim *sim)
{
	return phys_of(sim)->max_order;
}

static unsigned compute_max_order(const simmm_sim *sim, uint64_t nr_pages)
{
	unsigned max = SIMMM_MIN_MAX_ORDER;

	for (int l = SIMMM_LVL_PMD; l < SIMMM_NR_LEVELS; l++) {
		const struct simmm_level_desc *d = &sim->geo.level[l];
		unsigned o = (unsigned)(d->shift - sim->geo.page_shift);
		if (d->leaf && o > max && o <= SIMMM_MAX_ORDER)
			max = o;
	}
	while (max && (1ULL << max) > nr_pages)
		max--;
	return max;
}

static unsigned block_order_ending_at(uint64_t end, unsigned max_order)
{
	unsigned o = (unsigned)__builtin_ctzll(end);
	return o < max_order ? o : max_order;
}

/* Carve RAM into maximal aligned blocks. Generated from the top of RAM
 * down (the order of the block ending at `end` is ctz(end), capped) and
 * added in that order, so allocation, which takes the most recently added
 * block, starts at low pfns: dumps stay readable. */
static int buddy_populate(simmm_sim *sim)
{
	struct simmm_phys *ph = phys_of(sim);
	uint64_t count[SIMMM_MAX_ORDER + 1] = {0};
	uint64_t end;

	for (end = ph->nr_pages; end;) {
		unsigned o = block_order_ending_at(end, ph->max_order);
		count[o]++;
		end -= 1ULL << o;
	}
	for (unsigned o = 0; o <= ph->max_order; o++)
		if (count[o] && simmm__fa_reserve(sim, &ph->area[o], count[o], false))
			return -ENOMEM;
	for (end = ph->nr_pages; end;) {
		unsigned o = block_order_ending_at(end, ph->max_order);
		end -= 1ULL << o;
		simmm__fa_add(&ph->area[o], end);
	}
	ph->free_pages = ph->nr_pages;
	return 0;
}

static void init_folio(simmm_sim *sim, simmm_pfn_t head, unsigned order)
{
	uint64_t n = 1ULL << order;
	for (uint64_t i = 0; i < n; i++) {
		struct simmm_page *p = simmm__pfn_to_page(sim, head + i);
		uint64_t pfn = p->pfn;
		memset(p, 0, sizeof(*p));
		p->pfn = pfn;
		p->head_delta = (uint32_t)i;
	}
	struct simmm_page *h = simmm__pfn_to_page(sim, head);
	h->refcount = 1;
	h->order = (uint8_t)order;
	if (order)
		h->flags |= PG_head;
}

struct simmm_page *simmm__alloc_pages(simmm_sim *sim, unsigned order)
{
	struct simmm_phys *ph = phys_of(sim);
	struct free_area *fa;
	unsigned o;
	uint64_t pfn;

	if (order > ph->max_order)
		return NULL;
	for (o = order; o <= ph->max_order; o++)
		if (ph->area[o].nr)
			break;
	if (o > ph->max_order) {
		ph->alloc_failures++; /* RAM exhausted at this order */
		return NULL;
	}
	fa = &ph->area[o];
	pfn = fa->pfns[fa->nr - 1];

	/* Everything that can fail happens before the free sets change, so a
	 * failure leaves the allocator exactly as it was. */
	for (unsigned k = order; k < o; k++)
		if (simmm__fa_reserve(sim, &ph->area[k], 1, false))
			return NULL;
	if (simmm__memmap_populate(sim, pfn, 1ULL << order))
		return NULL;

	simmm__fa_remove(fa, pfn);
	/* Split: keep the low half, free the high halves (expand()). */
	while (o > order) {
		o--;
		simmm__fa_add(&ph->area[o], pfn + (1ULL << o));
	}
	ph->free_pages -= 1ULL << order;
	init_folio(sim, pfn, order);
	simmm__trace(sim, SIMMM_EV_PAGE_ALLOC, 0, pfn, order, 0);
	return simmm__pfn_to_page(sim, pfn);
}

static void clear_folio(simmm_sim *sim, struct simmm_page *head, unsigned order)
{
	uint64_t n = 1ULL << order;
	for (uint64_t i = 0; i < n; i++) {
		struct simmm_page *p = simmm__pfn_to_page(sim, head->pfn + i);
		uint64_t pfn = p->pfn;
		simmm__page_zero(sim, p);
		memset(p, 0, sizeof(*p));
		p->pfn = pfn;
	}
}

/* __free_one_page(): the cleared block [pfn, pfn + 2^order) joins the free
 * sets, merged with its free buddies. */
static void free_block(simmm_sim *sim, uint64_t pfn, unsigned order)
{
	struct simmm_phys *ph = phys_of(sim);

	ph->free_pages += 1ULL << order;
	while (order < ph->max_order) {
		uint64_t buddy = pfn ^ (1ULL << order);
		if (!simmm__fa_remove(&ph->area[order], buddy))
			break;
		pfn &= ~(1ULL << order);
		order++;
	}
	/* Freeing must not fail: growth of the free set bypasses injection. */
	simmm__fa_reserve(sim, &ph->area[order], 1, true);
	simmm__fa_add(&ph->area[order], pfn);
}

/* A cleared frame held for its poison: allocated, order 0, one reference,
 * PG_hwpoison and nothing else (what page_handle_poison() leaves). */
static void hold_poisoned(simmm_sim *sim, uint64_t pfn)
{
	init_folio(sim, pfn, 0);
	simmm__pfn_to_page(sim, pfn)->flags = PG_hwpoison;
}

static bool folio_has_poison(simmm_sim *sim, const struct simmm_page *head)
{
	for (uint64_t i = 0; i < (1ULL << head->order); i++)
		if (simmm__pfn_to_page(sim, head->pfn + i)->flags & PG_hwpoison)
			return true;
	return false;
}

void simmm__free_pages(simmm_sim *sim, struct simmm_page *head)
{
	struct simmm_phys *ph = phys_of(sim);
	unsigned order = head->order;
	uint64_t pfn = head->pfn;

	SIMMM_BUG_ON(head->head_delta != 0);
	simmm__trace(sim, SIMMM_EV_PAGE_FREE, 0, pfn, order, 0);
	if (ph->nr_poisoned && folio_has_poison(sim, head)) {
		/* free_pages_prepare(): a poisoned frame never reaches the
		 * buddy; 6.16's free_has_hwpoisoned() frees a large folio's
		 * healthy pages one by one and keeps the poisoned ones out. */
		bool poisoned[64];
		uint64_t nr = 1ULL << order;

		for (uint64_t base = 0; base < nr; base += 64) {
			uint64_t n = nr - base < 64 ? nr - base : 64;

			for (uint64_t i = 0; i < n; i++)
				poisoned[i] = simmm__pfn_to_page(sim, pfn + base + i)->flags &
					      PG_hwpoison;
			for (uint64_t i = 0; i < n; i++) {
				clear_folio(sim, simmm__pfn_to_page(sim, pfn + base + i), 0);
				if (poisoned[i])
					hold_poisoned(sim, pfn + base + i);
				else
					free_block(sim, pfn + base + i, 0);
			}
		}
		return;
	}
	clear_folio(sim, head, order);
	free_block(sim, pfn, order);
}

bool simmm__page_test_set_hwpoison(simmm_sim *sim, struct simmm_page *page)
{
	if (page->flags & PG_hwpoison)
		return true;
	page->flags |= PG_hwpoison;
	phys_of(sim)->nr_poisoned++;
	return false;
}

void simmm__page_clear_hwpoison(simmm_sim *sim, struct simmm_page *page)
{
	if (!(page->flags & PG_hwpoison))
		return;
	page->flags &= ~PG_hwpoison;
	phys_of(sim)->nr_poisoned--;
}

uint64_t simmm__nr_poisoned(const simmm_sim *sim)
{
	return phys_of(sim)->nr_poisoned;
}

bool simmm__take_page_off_buddy(simmm_sim *sim, simmm_pfn_t pfn)
{
	struct simmm_phys *ph = phys_of(sim);
	uint64_t head = 0;
	unsigned o;

	if (pfn >= ph->nr_pages)
		return false;
	for (o = 0; o <= ph->max_order; o++) {
		head = pfn & ~((1ULL << o) - 1);
		if (simmm__fa_contains(&ph->area[o], head))
			break;
	}
	if (o > ph->max_order)
		return false;
	/* Everything that can fail first, as in simmm__alloc_pages(). */
	for (unsigned k = 0; k < o; k++)
		if (simmm__fa_reserve(sim, &ph->area[k], 1, false))
			return false;
	if (simmm__memmap_populate(sim, pfn, 1))
		return false;
	simmm__fa_remove(&ph->area[o], head);
	/* break_down_buddy_pages(): at each order the half without @pfn
	 * goes back to the free sets. */
	while (o) {
		uint64_t half = 1ULL << --o;

		if (pfn >= head + half) {
			simmm__fa_add(&ph->area[o], head);
			head += half;
		} else {
			simmm__fa_add(&ph->area[o], head + half);
		}
	}
	ph->free_pages--;
	init_folio(sim, pfn, 0);
	simmm__trace(sim, SIMMM_EV_PAGE_ALLOC, 0, pfn, 0, 0);
	return true;
}

int simmm__buddy_init(simmm_sim *sim);
int simmm__buddy_init(simmm_sim *sim)
{
	struct simmm_phys *ph = phys_of(sim);
	ph->max_order = compute_max_order(sim, ph->nr_pages);
	return buddy_populate(sim);
}

void simmm__buddy_fini(simmm_sim *sim);
void simmm__buddy_fini(simmm_sim *sim)
{
	struct simmm_phys *ph = phys_of(sim);
	for (unsigned o = 0; o <= SIMMM_MAX_ORDER; o++)
		simmm__fa_free(sim, &ph->area[o]);
}
