/* SPDX-License-Identifier: MIT */
/* Helpers shared by the tests/test_mm_*.c programs (white-box). */
#ifndef SIMMM_TEST_MM_UTIL_H
#define SIMMM_TEST_MM_UTIL_H

#include <string.h>

#include "testutil.h"
#include "mm/mm.h"

#define PS(sim) ((sim)->page_size)
#define RW (SIMMM_PROT_READ | SIMMM_PROT_WRITE)
#define PRIV_ANON (SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS)
#define SHARED_ANON (SIMMM_MAP_SHARED | SIMMM_MAP_ANONYMOUS)

static inline simmm_addr_t tm_mmap(struct simmm_mm *mm, uint64_t len, int prot, int flags)
{
	simmm_addr_t a = 0;

	TU_ASSERT_OK(simmm_mmap(mm, 0, len, prot, flags, NULL, 0, &a));
	return a;
}

static inline void tm_write8(struct simmm_mm *mm, simmm_addr_t a, uint8_t v)
{
	TU_ASSERT_OK(simmm_mm_access(mm, a, &v, 1, SIMMM_ACCESS_WRITE));
}

static inline uint8_t tm_read8(struct simmm_mm *mm, simmm_addr_t a)
{
	uint8_t v = 0xee;

	TU_ASSERT_OK(simmm_mm_access(mm, a, &v, 1, SIMMM_ACCESS_READ));
	return v;
}

static inline struct simmm_mm_stats tm_stats(struct simmm_mm *mm)
{
	struct simmm_mm_stats st;

	TU_ASSERT_OK(simmm_mm_stats(mm, &st));
	return st;
}

/* The pte at @a (0 when none). */
static inline simmm_entry_t tm_pte(struct simmm_mm *mm, simmm_addr_t a)
{
	struct simmm_translation t;

	if (simmm_pgtable_translate(simmm_mm_pgtable(mm), a, &t))
		return 0;
	return t.entry;
}

static inline simmm_pfn_t tm_pfn(struct simmm_mm *mm, simmm_addr_t a)
{
	struct simmm_translation t;

	if (simmm_pgtable_translate(simmm_mm_pgtable(mm), a, &t))
		return 0;
	return t.pfn;
}

#endif
