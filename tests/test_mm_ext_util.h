/* SPDX-License-Identifier: MIT */
/* Helpers shared by the tests/test_mm_ext_*.c programs (swap, reclaim,
 * THP, hugetlb, GUP). Header-only: every test program is one .c file. */
#ifndef SIMMM_TEST_MM_EXT_UTIL_H
#define SIMMM_TEST_MM_EXT_UTIL_H

#include <string.h>

#include "testutil.h"
#include "mm/mm_ext.h"

#define KIB 1024ULL
#define MIB (1024ULL * KIB)
#define GIB (1024ULL * MIB)
#define PS 4096ULL

static inline simmm_sim *mx_sim(const char *geo, uint64_t ram, uint64_t swap)
{
	simmm_config cfg;

	simmm_config_init(&cfg);
	cfg.geometry = geo;
	cfg.ram_bytes = ram;
	cfg.swap_bytes = swap;
	cfg.seed = tu_seed();
	return tu_sim_new_cfg(&cfg);
}

static inline struct simmm_mm *mx_mm(simmm_sim *sim)
{
	struct simmm_mm *mm = NULL;

	TU_ASSERT_OK(simmm_mm_create(sim, &mm));
	return mm;
}

static inline simmm_addr_t mx_map(struct simmm_mm *mm, simmm_addr_t fixed, uint64_t len,
				  int flags)
{
	simmm_addr_t a = 0;

	flags |= fixed ? SIMMM_MAP_FIXED : 0;
	TU_ASSERT_OK(simmm_mmap(mm, fixed, len, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				flags ? flags : SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS, NULL, 0, &a));
	return a;
}

static inline simmm_addr_t mx_anon(struct simmm_mm *mm, simmm_addr_t fixed, uint64_t len)
{
	return mx_map(mm, fixed, len, SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS);
}

/* Fill a page with a byte pattern derived from @tag. */
static inline void mx_write(struct simmm_mm *mm, simmm_addr_t addr, unsigned tag)
{
	uint8_t buf[64];

	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(tag * 31 + i);
	TU_ASSERT_OK(simmm_mm_access(mm, addr, buf, sizeof(buf), SIMMM_ACCESS_WRITE));
}

static inline void mx_expect(struct simmm_mm *mm, simmm_addr_t addr, unsigned tag)
{
	uint8_t buf[64], want[64];

	for (unsigned i = 0; i < sizeof(buf); i++)
		want[i] = (uint8_t)(tag * 31 + i);
	TU_ASSERT_OK(simmm_mm_access(mm, addr, buf, sizeof(buf), SIMMM_ACCESS_READ));
	assert_memory_equal(buf, want, sizeof(buf));
}

static inline void mx_expect_zero(struct simmm_mm *mm, simmm_addr_t addr)
{
	uint8_t buf[64], want[64] = {0};

	TU_ASSERT_OK(simmm_mm_access(mm, addr, buf, sizeof(buf), SIMMM_ACCESS_READ));
	assert_memory_equal(buf, want, sizeof(buf));
}

static inline struct simmm_translation mx_tr(struct simmm_mm *mm, simmm_addr_t addr)
{
	struct simmm_translation t;

	memset(&t, 0, sizeof(t));
	simmm_pgtable_translate(simmm_mm_pgtable(mm), addr, &t);
	return t;
}

static inline struct simmm_mm_stats mx_stats(struct simmm_mm *mm)
{
	struct simmm_mm_stats st;

	TU_ASSERT_OK(simmm_mm_stats(mm, &st));
	return st;
}

static inline struct simmm_page_info mx_page(simmm_sim *sim, simmm_pfn_t pfn)
{
	struct simmm_page_info pi;

	TU_ASSERT_OK(simmm_page_info(sim, pfn, &pi));
	return pi;
}

static inline uint64_t mx_swap_used(simmm_sim *sim)
{
	uint64_t used = 0;

	simmm__swap_usage(sim, &used, NULL);
	return used;
}

/* Free RAM pages (the buddy allocator's count). */
static inline uint64_t mx_free_pages(simmm_sim *sim)
{
	struct simmm_phys_stats st;

	TU_ASSERT_OK(simmm_phys_stats(sim, &st));
	return st.free_pages;
}

/* Pages reclaim freed so far (the LRU's reclaimed total). */
static inline uint64_t mx_lru_reclaimed(simmm_sim *sim)
{
	uint64_t n = 0;

	simmm__lru_stats(sim, NULL, &n);
	return n;
}

/* Pages written to swap so far. */
static inline uint64_t mx_swpout(simmm_sim *sim)
{
	return simmm__mm_global(sim)->swap->swpout;
}

/* A PMD-aligned anonymous range of @n PMDs (reserve twice, unmap the rest). */
static inline simmm_addr_t mx_anon_aligned(struct simmm_mm *mm, uint64_t align, uint64_t len)
{
	simmm_addr_t a = mx_anon(mm, 0, len + align);
	simmm_addr_t al = (a + align - 1) & ~(align - 1);

	if (al > a)
		TU_ASSERT_OK(simmm_munmap(mm, a, al - a));
	if (al + len < a + len + align)
		TU_ASSERT_OK(simmm_munmap(mm, al + len, a + len + align - (al + len)));
	return al;
}

/* x86_64's PMD: the THP tests run on the default geometry. */
#define PMD (2 * MIB)
#define NR (PMD / PS)

/* A PMD-aligned anonymous range of @len bytes with MADV_HUGEPAGE. */
static inline simmm_addr_t thp_region(struct simmm_mm *mm, uint64_t len)
{
	simmm_addr_t a = mx_anon_aligned(mm, PMD, len);

	TU_ASSERT_OK(simmm_madvise(mm, a, len, SIMMM_MADV_HUGEPAGE));
	return a;
}

/* The LRU's lists and counters now. */
static inline struct simmm_lru_stats mx_lru(simmm_sim *sim)
{
	struct simmm_lru_stats st;

	TU_ASSERT_OK(simmm_lru_stats(sim, &st));
	return st;
}

/* The folio (head) an address of @mm maps; it must be present. */
static inline struct simmm_page *mx_folio_at(struct simmm_mm *mm, simmm_addr_t a)
{
	struct simmm_translation t = mx_tr(mm, a);

	assert_true(t.present);
	return simmm__compound_head(simmm_mm_sim(mm), simmm__pfn_to_page(simmm_mm_sim(mm), t.pfn));
}

/* @n anonymous pages written (tags @tag + i: dirty, young), then made cold
 * (MADV_COLD: old ptes, no PG_referenced, inactive): each goes at its
 * first look by reclaim. */
static inline simmm_addr_t mx_cold_anon(struct simmm_mm *mm, unsigned n, unsigned tag)
{
	simmm_addr_t a = mx_anon(mm, 0, n * PS);

	for (unsigned i = 0; i < n; i++)
		mx_write(mm, a + i * PS, tag + i);
	TU_ASSERT_OK(simmm_madvise(mm, a, n * PS, SIMMM_MADV_COLD));
	TU_CHECK(simmm_mm_sim(mm));
	return a;
}

#endif
