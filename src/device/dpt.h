/* SPDX-License-Identifier: MIT */
/*
 * The dmirror "device page table": a hash from virtual page number to an
 * entry (pfn << 2 | tag), standing in for lib/test_hmm.c's xarray. Open
 * addressing with linear probing and backward-shift deletion: no
 * tombstones, so lookups stay short after many invalidations.
 */
#ifndef SIMMM_DEVICE_DPT_H
#define SIMMM_DEVICE_DPT_H

#include <simmm/common.h>

/* Entry tags (DPT_XA_TAG_*: upstream tags pointers; 0 = read-only). */
#define DPT_TAG_READ   0ULL
#define DPT_TAG_ATOMIC 1ULL
#define DPT_TAG_WRITE  3ULL
#define DPT_TAG_MASK   3ULL

struct dpt {
	simmm_sim *sim;
	uint64_t *keys; /* vpn + 1; 0 = empty slot */
	uint64_t *vals; /* pfn << 2 | tag */
	size_t cap;     /* power of two, 0 before the first store */
	size_t count;
};

void dpt_init(struct dpt *t, simmm_sim *sim);
void dpt_destroy(struct dpt *t);
/* 0 and *val, or -ENOENT. */
int dpt_load(const struct dpt *t, uint64_t vpn, uint64_t *val);
/* 0 or -ENOMEM (the table is unchanged then). */
int dpt_store(struct dpt *t, uint64_t vpn, uint64_t val);
void dpt_erase(struct dpt *t, uint64_t vpn);
/* Erase every entry with first <= vpn < end. */
void dpt_erase_range(struct dpt *t, uint64_t first, uint64_t end);

static inline uint64_t dpt_mk(simmm_pfn_t pfn, uint64_t tag)
{
	return (pfn << 2) | tag;
}

static inline simmm_pfn_t dpt_pfn(uint64_t val)
{
	return val >> 2;
}

static inline uint64_t dpt_tag(uint64_t val)
{
	return val & DPT_TAG_MASK;
}

#endif
