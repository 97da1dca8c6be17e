// SPDX-License-Identifier: MIT
/* Physical memory: the buddy allocator against a reference model, folio
 * refcount rules, lazy contents, the sparse memmap footprint, the zero
 * page. The invariant checker runs after every step. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "page/page.h"
#include "page/phys.h"

/* Reference model: a byte per frame, 1 = allocated. Checks that the buddy
 * hands out aligned, disjoint, in-RAM blocks and that the free count is
 * exact; the deep checker verifies merging. */
struct ref {
	uint8_t *used;
	uint64_t nr, free;
};

struct live {
	simmm_pfn_t pfn;
	unsigned order;
};

static void buddy_random_vs_reference(void **state)
{
	const uint64_t ram_pages = 1 << 14; /* 64 MiB at 4K */
	simmm_sim *sim = tu_sim_new(NULL, ram_pages << 12, tu_seed());
	struct ref ref = {.used = calloc(ram_pages, 1), .nr = ram_pages};
	struct live *live = calloc(ram_pages, sizeof(*live));
	struct simmm_phys_stats st;
	size_t nlive = 0;
	uint64_t iters = tu_iters(20000);
	(void)state;

	ref.used[simmm_zero_pfn(sim)] = 1;
	ref.free = ram_pages - 1;
	for (uint64_t it = 0; it < iters; it++) {
		uint64_t r = simmm_sim_random(sim);
		if ((r & 3) != 0 || nlive == 0) {
			unsigned order = (unsigned)((r >> 2) % 11);
			simmm_pfn_t pfn;
			int rc = simmm_page_alloc(sim, order, &pfn);
			if (rc == -ENOMEM) {
				assert_true(ref.free < (1ULL << order) || order > 0);
				continue;
			}
			TU_ASSERT_OK(rc);
			assert_int_equal(pfn & ((1ULL << order) - 1), 0);
			assert_true(pfn + (1ULL << order) <= ram_pages);
			for (uint64_t i = 0; i < (1ULL << order); i++) {
				assert_int_equal(ref.used[pfn + i], 0);
				ref.used[pfn + i] = 1;
			}
			ref.free -= 1ULL << order;
			live[nlive++] = (struct live){pfn, order};
		} else {
			size_t k = (size_t)((r >> 8) % nlive);
			struct live l = live[k];
			live[k] = live[--nlive];
			assert_int_equal(simmm_page_put(sim, l.pfn), 0);
			for (uint64_t i = 0; i < (1ULL << l.order); i++)
				ref.used[l.pfn + i] = 0;
			ref.free += 1ULL << l.order;
		}
		TU_ASSERT_OK(simmm_phys_stats(sim, &st));
		assert_int_equal(st.free_pages, ref.free);
		if (it % 500 == 0)
			TU_CHECK(sim);
	}
	TU_CHECK(sim);
	while (nlive)
		assert_int_equal(simmm_page_put(sim, live[--nlive].pfn), 0);
	/* Everything merged back: only maximal blocks plus the zero page's
	 * neighbourhood remain. */
	TU_ASSERT_OK(simmm_phys_stats(sim, &st));
	assert_int_equal(st.free_pages, ram_pages - 1);
	uint64_t blocks = 0;
	for (unsigned o = 0; o <= st.max_order; o++)
		blocks += st.free_blocks[o];
	assert_true(blocks <= st.max_order + (ram_pages >> st.max_order));
	TU_CHECK(sim);
	free(ref.used);
	free(live);
	tu_sim_free(&sim);
}

static void split_and_merge_exact(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 1 << 24, 1); /* 4096 frames: one order-12 block */
	struct simmm_phys_stats st;
	simmm_pfn_t a, b;
	(void)state;
	TU_ASSERT_OK(simmm_phys_stats(sim, &st));
	assert_int_equal(st.max_order, 12); /* PUD order capped by RAM */
	/* The zero page took frame 0, splitting the block: one free block
	 * of each order 0..11 remains. */
	for (unsigned o = 0; o < 12; o++)
		assert_int_equal(st.free_blocks[o], 1);
	assert_int_equal(st.free_blocks[12], 0);
	TU_ASSERT_OK(simmm_page_alloc(sim, 0, &a));
	assert_int_equal(a, 1); /* the zero page's buddy */
	TU_ASSERT_OK(simmm_page_alloc(sim, 1, &b));
	assert_int_equal(b, 2);
	TU_ASSERT_OK(simmm_phys_stats(sim, &st));
	assert_int_equal(st.free_blocks[0], 0);
	assert_int_equal(st.free_blocks[1], 0);
	TU_CHECK(sim);
	assert_int_equal(simmm_page_put(sim, a), 0);
	assert_int_equal(simmm_page_put(sim, b), 0);
	TU_ASSERT_OK(simmm_phys_stats(sim, &st));
	for (unsigned o = 0; o < 12; o++)
		assert_int_equal(st.free_blocks[o], 1);
	TU_CHECK(sim);
	/* Order above max is refused; exhaustion gives -ENOMEM. */
	assert_int_equal(simmm_page_alloc(sim, 13, &a), -EINVAL);
	TU_ASSERT_OK(simmm_page_alloc(sim, 11, &b));
	assert_int_equal(b, 2048);
	assert_int_equal(simmm_page_alloc(sim, 11, &a), -ENOMEM);
	TU_CHECK(sim);
	assert_int_equal(simmm_page_put(sim, b), 0);
	TU_ASSERT_OK(simmm_page_alloc(sim, 11, &a));
	assert_int_equal(a, 2048);
	assert_int_equal(simmm_page_put(sim, a), 0);
	tu_sim_free(&sim);
}

static void refcount_rules(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 1 << 24, 1);
	struct simmm_page_info info;
	simmm_pfn_t head;
	(void)state;
	TU_ASSERT_OK(simmm_page_alloc(sim, 2, &head));
	TU_ASSERT_OK(simmm_page_info(sim, head + 3, &info));
	assert_int_equal(info.head_pfn, head);
	assert_int_equal(info.order, 2);
	assert_int_equal(info.refcount, 1);
	assert_false(info.free);
	/* A get on a tail page references the folio (folio_get). */
	TU_ASSERT_OK(simmm_page_get(sim, head + 3));
	TU_ASSERT_OK(simmm_page_info(sim, head, &info));
	assert_int_equal(info.refcount, 2);
	TU_CHECK(sim);
	assert_int_equal(simmm_page_put(sim, head + 1), 1);
	TU_CHECK(sim);
	assert_int_equal(simmm_page_put(sim, head), 0); /* frees all 4 */
	for (int i = 0; i < 4; i++) {
		TU_ASSERT_OK(simmm_page_info(sim, head + i, &info));
		assert_true(info.free);
	}
	TU_CHECK(sim);
	/* The zero page cannot be put; pfns beyond RAM are invalid. */
	assert_int_equal(simmm_page_put(sim, simmm_zero_pfn(sim)), -EINVAL);
	assert_int_equal(simmm_page_get(sim, 1 << 20), -EINVAL);
	assert_int_equal(simmm_page_info(sim, 1 << 20, &info), -EINVAL);
	assert_int_equal(simmm_page_info(NULL, 0, &info), -EINVAL);
	/* Internally, mapcount above refcount is an invariant violation. */
	simmm_pfn_t p;
	TU_ASSERT_OK(simmm_page_alloc(sim, 0, &p));
	simmm__pfn_to_page(sim, p)->mapcount = 2;
	assert_int_equal(simmm_check(sim), 1);
	assert_non_null(strstr(simmm_reports(sim, NULL), "below mappings"));
	simmm__pfn_to_page(sim, p)->mapcount = 0;
	simmm_reports_clear(sim);
	assert_int_equal(simmm_page_put(sim, p), 0);
	tu_sim_free(&sim);
}

static void lazy_contents(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 1 << 24, 1);
	struct simmm_phys_stats st;
	struct simmm_page_info info;
	unsigned char buf[64], zero[64] = {0};
	simmm_pfn_t pfn;
	(void)state;
	TU_ASSERT_OK(simmm_page_alloc(sim, 0, &pfn));
	TU_ASSERT_OK(simmm_page_read(sim, pfn, 100, buf, sizeof(buf)));
	assert_memory_equal(buf, zero, sizeof(buf));
	TU_ASSERT_OK(simmm_phys_stats(sim, &st));
	assert_int_equal(st.content_pages, 0); /* reading allocates nothing */
	memset(buf, 0xab, sizeof(buf));
	TU_ASSERT_OK(simmm_page_write(sim, pfn, 4096 - 64, buf, 64));
	TU_ASSERT_OK(simmm_phys_stats(sim, &st));
	assert_int_equal(st.content_pages, 1);
	TU_ASSERT_OK(simmm_page_info(sim, pfn, &info));
	assert_true(info.has_contents);
	unsigned char back[64];
	TU_ASSERT_OK(simmm_page_read(sim, pfn, 4096 - 64, back, 64));
	assert_memory_equal(back, buf, 64);
	TU_CHECK(sim);
	assert_int_equal(simmm_page_write(sim, pfn, 4095, buf, 2), -EINVAL);
	assert_int_equal(simmm_page_read(sim, pfn, 5000, buf, 1), -EINVAL);
	assert_int_equal(simmm_page_write(sim, simmm_zero_pfn(sim), 0, buf, 1), -EPERM);
	assert_int_equal(simmm_page_put(sim, pfn), 0);
	assert_int_equal(simmm_page_read(sim, pfn, 0, buf, 1), -ENOENT);
	TU_ASSERT_OK(simmm_phys_stats(sim, &st));
	assert_int_equal(st.content_pages, 0); /* freed with the page */
	/* A reused frame reads as zeros again. */
	simmm_pfn_t again;
	TU_ASSERT_OK(simmm_page_alloc(sim, 0, &again));
	assert_int_equal(again, pfn);
	TU_ASSERT_OK(simmm_page_read(sim, again, 4096 - 64, back, 64));
	assert_memory_equal(back, zero, 64);
	assert_int_equal(simmm_page_put(sim, again), 0);
	tu_sim_free(&sim);
}

static void no_contents_mode(void **state)
{
	simmm_config cfg;
	unsigned char buf[16] = {1}, back[16];
	simmm_pfn_t pfn;
	(void)state;
	simmm_config_init(&cfg);
	cfg.ram_bytes = 1 << 24;
	cfg.flags = SIMMM_CFG_NO_CONTENTS;
	simmm_sim *sim = tu_sim_new_cfg(&cfg);
	TU_ASSERT_OK(simmm_page_alloc(sim, 0, &pfn));
	TU_ASSERT_OK(simmm_page_write(sim, pfn, 0, buf, sizeof(buf)));
	TU_ASSERT_OK(simmm_page_read(sim, pfn, 0, back, sizeof(back)));
	assert_int_equal(back[0], 0);
	struct simmm_alloc_stats as;
	TU_ASSERT_OK(simmm_alloc_stats(sim, &as));
	assert_int_equal(as.live_bytes[SIMMM_ALLOC_CONTENTS], 0);
	assert_int_equal(simmm_page_put(sim, pfn), 0);
	tu_sim_free(&sim);
}

/* A 1 TiB machine with a few touched pages costs a few MiB. */
static void sparse_memmap_footprint(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 1ULL << 40, 1);
	struct simmm_alloc_stats as;
	struct simmm_phys_stats st;
	simmm_pfn_t pfns[8];
	unsigned char b = 7;
	(void)state;
	for (int i = 0; i < 8; i++) {
		TU_ASSERT_OK(simmm_page_alloc(sim, 0, &pfns[i]));
		TU_ASSERT_OK(simmm_page_write(sim, pfns[i], 0, &b, 1));
	}
	TU_ASSERT_OK(simmm_phys_stats(sim, &st));
	assert_int_equal(st.total_pages, 1ULL << 28);
	assert_int_equal(st.max_order, 18); /* PUD order */
	assert_int_equal(st.sections_present, 1);
	TU_ASSERT_OK(simmm_alloc_stats(sim, &as));
	uint64_t total = 0;
	for (int c = 0; c < SIMMM_ALLOC_NR_CATS; c++)
		total += as.live_bytes[c];
	print_message("1 TiB machine, 8 pages touched: %.2f MiB of host memory\n",
		      (double)total / (1 << 20));
	assert_true(total < (4ULL << 20));
	/* A 1 GiB folio (PUD order) is a real contiguous range. */
	simmm_pfn_t huge;
	TU_ASSERT_OK(simmm_page_alloc(sim, 18, &huge));
	assert_int_equal(huge & ((1 << 18) - 1), 0);
	TU_CHECK(sim);
	assert_int_equal(simmm_page_put(sim, huge), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(simmm_page_put(sim, pfns[i]), 0);
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* The last section ends with RAM: a machine of one section and 100 frames
 * pays for 2^14 + 100 struct pages; every frame of the short section can be
 * used, checked and released (a leak in it is found at destroy). */
static void partial_last_section(void **state)
{
	const uint64_t nr = SIMMM_SECTION_PAGES + 100;
	simmm_config cfg;
	struct simmm_phys_stats st;
	struct simmm_alloc_stats as;
	simmm_pfn_t pfn, top = 0, *got = calloc(nr, sizeof(*got));
	uint64_t n = 0;
	(void)state;
	assert_non_null(got);
	simmm_config_init(&cfg);
	cfg.ram_bytes = nr << 12;
	cfg.flags = SIMMM_CFG_QUIET;
	simmm_sim *sim = tu_sim_new_cfg(&cfg);
	TU_ASSERT_OK(simmm_phys_stats(sim, &st));
	assert_int_equal(st.sections, 2);
	/* Take every frame: the allocator hands out all of the short section. */
	while (simmm_page_alloc(sim, 0, &pfn) == 0) {
		got[n++] = pfn;
		top = pfn > top ? pfn : top;
	}
	assert_int_equal(n, nr - 1); /* all but the zero page */
	TU_ASSERT_OK(simmm_phys_stats(sim, &st));
	assert_int_equal(st.alloc_failures, 1); /* the last try */
	assert_int_equal(simmm_page_alloc(sim, 1, &pfn), -ENOMEM);
	TU_ASSERT_OK(simmm_phys_stats(sim, &st));
	assert_int_equal(st.alloc_failures, 2);
	simmm_reports_clear(sim); /* the -ENOMEM of the last try may warn */
	assert_int_equal(top, nr - 1);
	TU_ASSERT_OK(simmm_phys_stats(sim, &st));
	assert_int_equal(st.sections_present, 2);
	assert_int_equal(st.memmap_bytes, nr * sizeof(struct simmm_page));
	TU_ASSERT_OK(simmm_alloc_stats(sim, &as));
	assert_int_equal(as.live_bytes[SIMMM_ALLOC_MEMMAP], st.memmap_bytes + 2 * sizeof(void *));
	TU_CHECK(sim);
	for (uint64_t i = 0; i < n; i++)
		if (got[i] != nr - 1)
			assert_int_equal(simmm_page_put(sim, got[i]), 0);
	TU_CHECK(sim);
	free(got);
	assert_int_equal(simmm_sim_destroy(&sim), 1); /* the last frame */
}

/* A machine smaller than a section has a memmap only as large as its RAM;
 * device frames still start on the next section boundary, in their own
 * memmap. */
static void small_machine_memmap(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 128 << 12, 1);
	struct simmm_phys_stats st;
	struct simmm_dev_pagemap pg = {.type = SIMMM_MEM_FS_DAX};
	simmm_pfn_t pfn;
	(void)state;
	TU_ASSERT_OK(simmm_page_alloc(sim, 0, &pfn));
	TU_ASSERT_OK(simmm_phys_stats(sim, &st));
	assert_int_equal(st.memmap_bytes, 128 * sizeof(struct simmm_page));
	TU_ASSERT_OK(simmm_memremap_pages(sim, &pg, 8));
	assert_int_equal(pg.start_pfn, SIMMM_SECTION_PAGES);
	assert_true(simmm_is_zone_device_page(sim, pg.start_pfn + 7));
	TU_CHECK(sim);
	assert_int_equal(simmm_memunmap_pages(&pg), 0);
	assert_int_equal(simmm_page_put(sim, pfn), 0);
	tu_sim_free(&sim);
}

static void table_pages(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 1 << 24, 1);
	struct simmm_page_info info;
	struct simmm_phys_stats st;
	(void)state;
	struct simmm_page *pt = simmm__pt_page_alloc(sim, 512, sim, 1);
	assert_non_null(pt);
	TU_ASSERT_OK(simmm_page_info(sim, pt->pfn, &info));
	assert_true(info.table);
	assert_int_equal(simmm_page_put(sim, pt->pfn), -EINVAL); /* not via the page API */
	TU_ASSERT_OK(simmm_phys_stats(sim, &st));
	assert_int_equal(st.table_pages, 1);
	/* pt_live beyond the entry count is caught. */
	pt->u.pt_live = 513;
	assert_int_equal(simmm_check(sim), 1);
	simmm_reports_clear(sim);
	pt->u.pt_live = 0;
	TU_CHECK(sim);
	simmm__pt_page_free(sim, pt);
	TU_ASSERT_OK(simmm_phys_stats(sim, &st));
	assert_int_equal(st.table_pages, 0);
	tu_sim_free(&sim);
}

/* Destroy reports what tests forgot to free. */
static void destroy_reports_leaks(void **state)
{
	simmm_config cfg;
	simmm_pfn_t pfn;
	(void)state;
	simmm_config_init(&cfg);
	cfg.ram_bytes = 1 << 24;
	cfg.flags = SIMMM_CFG_QUIET;
	simmm_sim *sim = tu_sim_new_cfg(&cfg);
	TU_ASSERT_OK(simmm_page_alloc(sim, 3, &pfn));
	TU_ASSERT_OK(simmm_page_alloc(sim, 0, &pfn));
	assert_int_equal(simmm_sim_destroy(&sim), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buddy_random_vs_reference),
		cmocka_unit_test(split_and_merge_exact),
		cmocka_unit_test(refcount_rules),
		cmocka_unit_test(lazy_contents),
		cmocka_unit_test(no_contents_mode),
		cmocka_unit_test(sparse_memmap_footprint),
		cmocka_unit_test(partial_last_section),
		cmocka_unit_test(small_machine_memmap),
		cmocka_unit_test(table_pages),
		cmocka_unit_test(destroy_reports_leaks),
	};
	return cmocka_run_group_tests_name("phys", tests, NULL, NULL);
}
