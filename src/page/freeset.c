// SPDX-License-Identifier: MIT
/*
 * Free sets: for one buddy order, the set of free block heads with O(1)
 * add, remove, membership and "take one". See phys.h for why these are not
 * lists threaded through struct page.
 */
#include <string.h>

#include "page/phys.h"

static inline size_t slot_of(uint64_t pfn, size_t hcap)
{
	uint64_t h = pfn * 0x9e3779b97f4a7c15ULL;
	return (size_t)(h >> 17) & (hcap - 1);
}

static void hash_insert(struct free_slot *hash, size_t hcap, uint64_t pfn, uint64_t idx)
{
	size_t i = slot_of(pfn, hcap);
	while (hash[i].key)
		i = (i + 1) & (hcap - 1);
	hash[i].key = pfn + 1;
	hash[i].idx = idx;
}

static struct free_slot *hash_find(const struct free_area *fa, uint64_t pfn)
{
	size_t i;
	if (!fa->hcap)
		return NULL;
	i = slot_of(pfn, fa->hcap);
	while (fa->hash[i].key) {
		if (fa->hash[i].key == pfn + 1)
			return &fa->hash[i];
		i = (i + 1) & (fa->hcap - 1);
	}
	return NULL;
}

/* Linear-probing deletion by backward shift: keeps probe chains intact
 * without tombstones. */
static void hash_delete(struct free_area *fa, struct free_slot *s)
{
	size_t mask = fa->hcap - 1;
	size_t i = (size_t)(s - fa->hash), j = i;

	for (;;) {
		j = (j + 1) & mask;
		if (!fa->hash[j].key)
			break;
		size_t k = slot_of(fa->hash[j].key - 1, fa->hcap);
		/* Move j back to i if its home slot k is not in (i, j]. */
		if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		fa->hash[i] = fa->hash[j];
		i = j;
	}
	fa->hash[i].key = 0;
}

int simmm__fa_reserve(simmm_sim *sim, struct free_area *fa, size_t extra, bool nofail)
{
	size_t need = fa->nr + extra, ncap;
	int err = simmm__grow(sim, SIMMM_ALLOC_META, (void **)&fa->pfns, sizeof(*fa->pfns),
			      &fa->cap, need, nofail);
	if (err)
		return err;
	if (need * 2 <= fa->hcap)
		return 0;
	ncap = fa->hcap ? fa->hcap : 16;
	while (need * 2 > ncap)
		ncap *= 2;
	struct free_slot *nh = nofail ? simmm__zalloc_nofail(sim, SIMMM_ALLOC_META, ncap * sizeof(*nh))
				      : simmm__zalloc(sim, SIMMM_ALLOC_META, ncap * sizeof(*nh));
	if (!nh)
		return -ENOMEM;
	for (size_t i = 0; i < fa->nr; i++)
		hash_insert(nh, ncap, fa->pfns[i], i);
	simmm__free(sim, SIMMM_ALLOC_META, fa->hash, fa->hcap * sizeof(*nh));
	fa->hash = nh;
	fa->hcap = ncap;
	return 0;
}

void simmm__fa_add(struct free_area *fa, uint64_t pfn)
{
	SIMMM_BUG_ON(fa->nr >= fa->cap || (fa->nr + 1) * 2 > fa->hcap);
	fa->pfns[fa->nr] = pfn;
	hash_insert(fa->hash, fa->hcap, pfn, fa->nr);
	fa->nr++;
}

bool simmm__fa_remove(struct free_area *fa, uint64_t pfn)
{
	struct free_slot *s = hash_find(fa, pfn), *last;
	uint64_t idx;

	if (!s)
		return false;
	idx = s->idx;
	hash_delete(fa, s);
	/* Keep the array dense: move the last element into the hole. */
	if (idx != fa->nr - 1) {
		uint64_t moved = fa->pfns[fa->nr - 1];
		fa->pfns[idx] = moved;
		last = hash_find(fa, moved);
		last->idx = idx;
	}
	fa->nr--;
	return true;
}

bool simmm__fa_contains(const struct free_area *fa, uint64_t pfn)
{
	return hash_find(fa, pfn) != NULL;
}

void simmm__fa_free(simmm_sim *sim, struct free_area *fa)
{
	simmm__free(sim, SIMMM_ALLOC_META, fa->pfns, fa->cap * sizeof(*fa->pfns));
	simmm__free(sim, SIMMM_ALLOC_META, fa->hash, fa->hcap * sizeof(*fa->hash));
	memset(fa, 0, sizeof(*fa));
}
