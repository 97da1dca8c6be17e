// SPDX-License-Identifier: MIT
/*
 * The dmirror device page table (see dpt.h).
 */
#include "device/dpt.h"

#include <string.h>

#include "core/internal.h"

static inline size_t slot_of(uint64_t vpn, size_t cap)
{
	uint64_t h = vpn * 0x9E3779B97F4A7C15ULL;

	return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

void dpt_init(struct dpt *t, simmm_sim *sim)
{
	memset(t, 0, sizeof(*t));
	t->sim = sim;
}

static void free_arrays(simmm_sim *sim, uint64_t *keys, uint64_t *vals, size_t cap)
{
	if (!cap)
		return;
	simmm__free(sim, SIMMM_ALLOC_META, keys, cap * sizeof(*keys));
	simmm__free(sim, SIMMM_ALLOC_META, vals, cap * sizeof(*vals));
}

void dpt_destroy(struct dpt *t)
{
	free_arrays(t->sim, t->keys, t->vals, t->cap);
	t->keys = t->vals = NULL;
	t->cap = t->count = 0;
}

static void put_raw(uint64_t *keys, uint64_t *vals, size_t cap, uint64_t key, uint64_t val)
{
	size_t i = slot_of(key - 1, cap);

	while (keys[i] && keys[i] != key)
		i = (i + 1) & (cap - 1);
	keys[i] = key;
	vals[i] = val;
}

/* Move every entry to arrays of @cap slots, dropping [drop_first, drop_end). */
static int rehash(struct dpt *t, size_t cap, uint64_t drop_first, uint64_t drop_end)
{
	uint64_t *keys = simmm__zalloc(t->sim, SIMMM_ALLOC_META, cap * sizeof(*keys));
	uint64_t *vals = simmm__zalloc(t->sim, SIMMM_ALLOC_META, cap * sizeof(*vals));
	size_t count = 0;

	if (!keys || !vals) {
		if (keys)
			simmm__free(t->sim, SIMMM_ALLOC_META, keys, cap * sizeof(*keys));
		if (vals)
			simmm__free(t->sim, SIMMM_ALLOC_META, vals, cap * sizeof(*vals));
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->cap; i++) {
		uint64_t vpn = t->keys[i] - 1;

		if (!t->keys[i] || (vpn >= drop_first && vpn < drop_end))
			continue;
		put_raw(keys, vals, cap, t->keys[i], t->vals[i]);
		count++;
	}
	free_arrays(t->sim, t->keys, t->vals, t->cap);
	t->keys = keys;
	t->vals = vals;
	t->cap = cap;
	t->count = count;
	return 0;
}

static size_t find(const struct dpt *t, uint64_t vpn)
{
	size_t i;

	if (!t->cap)
		return SIZE_MAX;
	i = slot_of(vpn, t->cap);
	while (t->keys[i]) {
		if (t->keys[i] == vpn + 1)
			return i;
		i = (i + 1) & (t->cap - 1);
	}
	return SIZE_MAX;
}

int dpt_load(const struct dpt *t, uint64_t vpn, uint64_t *val)
{
	size_t i = find(t, vpn);

	if (i == SIZE_MAX)
		return -ENOENT;
	*val = t->vals[i];
	return 0;
}

int dpt_store(struct dpt *t, uint64_t vpn, uint64_t val)
{
	size_t i = find(t, vpn);

	if (i != SIZE_MAX) {
		t->vals[i] = val;
		return 0;
	}
	if ((t->count + 1) * 2 > t->cap) {
		int err = rehash(t, t->cap ? t->cap * 2 : 64, 1, 0);

		if (err)
			return err;
	}
	put_raw(t->keys, t->vals, t->cap, vpn + 1, val);
	t->count++;
	return 0;
}

void dpt_erase(struct dpt *t, uint64_t vpn)
{
	size_t i = find(t, vpn), j;

	if (i == SIZE_MAX)
		return;
	/* Backward-shift deletion: pull later members of the probe chain
	 * into the hole when their home slot does not lie in (i, j]. */
	j = i;
	for (;;) {
		size_t home;

		t->keys[i] = 0;
		for (;;) {
			j = (j + 1) & (t->cap - 1);
			if (!t->keys[j])
				goto done;
			home = slot_of(t->keys[j] - 1, t->cap);
			if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
				break;
		}
		t->keys[i] = t->keys[j];
		t->vals[i] = t->vals[j];
		i = j;
	}
done:
	t->count--;
}

void dpt_erase_range(struct dpt *t, uint64_t first, uint64_t end)
{
	if (!t->count || first >= end)
		return;
	/* Probing each page of the range costs O(range), a rebuild O(cap). */
	if (end - first <= t->cap) {
		for (uint64_t v = first; v < end && t->count; v++)
			dpt_erase(t, v);
		return;
	}
	/* A large range: rebuild without it (same size; cannot fail by
	 * growing, and on -ENOMEM fall back to a slot scan). */
	if (rehash(t, t->cap, first, end) == 0)
		return;
	for (bool again = true; again;) {
		again = false;
		for (size_t i = 0; i < t->cap; i++) {
			uint64_t vpn = t->keys[i] - 1;

			if (t->keys[i] && vpn >= first && vpn < end) {
				dpt_erase(t, vpn); /* may move entries around */
				again = true;
			}
		}
	}
}
