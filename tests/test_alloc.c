// SPDX-License-Identifier: MIT
/* The allocator layer: backends, accounting by category, failure injection
 * in its three modes, the allocation-failure sweep over create/destroy
 * and every physical-memory allocation path, and the block pool. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void default_backend_is_jemalloc(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 1 << 24, 1);
	struct simmm_alloc_stats st;
	(void)state;
	TU_ASSERT_OK(simmm_alloc_stats(sim, &st));
#if defined(SIMMM_TEST_EXPECT_LIBC)
	assert_string_equal(st.backend, "libc");
#else
	/* The default build links jemalloc (sanitizer builds use libc). */
	assert_string_equal(st.backend, "jemalloc");
#endif
	assert_true(st.live_bytes[SIMMM_ALLOC_META] > 0);
	assert_true(st.live_bytes[SIMMM_ALLOC_MEMMAP] > 0);
	assert_int_equal(st.live_bytes[SIMMM_ALLOC_CONTENTS], 0);
	assert_int_equal(simmm_alloc_stats(NULL, &st), -EINVAL);
	assert_string_equal(simmm_alloc_cat_name(SIMMM_ALLOC_PGTABLE), "pgtable");
	assert_string_equal(simmm_alloc_cat_name(99), "?");
	tu_sim_free(&sim);
}

/* A host-level counting allocator: catches leaks even of the instance
 * struct itself, which the instance's own accounting cannot see. */
struct counting {
	long live;
	long total;
};

static void *cnt_alloc(void *ctx, size_t size)
{
	struct counting *c = ctx;
	c->live++;
	c->total++;
	return malloc(size);
}

static void cnt_free(void *ctx, void *p, size_t size)
{
	struct counting *c = ctx;
	(void)size;
	c->live--;
	free(p);
}

static void custom_backend_and_accounting(void **state)
{
	struct counting cnt = {0};
	struct simmm_allocator va = {cnt_alloc, cnt_free, &cnt};
	simmm_config cfg;
	struct simmm_alloc_stats st;
	simmm_pfn_t pfn;
	unsigned char b = 1;
	(void)state;
	simmm_config_init(&cfg);
	cfg.ram_bytes = 1 << 24;
	cfg.allocator = SIMMM_ALLOCATOR_CUSTOM;
	cfg.custom_allocator = &va;
	simmm_sim *sim = tu_sim_new_cfg(&cfg);
	TU_ASSERT_OK(simmm_alloc_stats(sim, &st));
	assert_string_equal(st.backend, "custom");
	assert_int_equal((long)st.live_allocs, cnt.live);
	TU_ASSERT_OK(simmm_page_alloc(sim, 0, &pfn));
	TU_ASSERT_OK(simmm_page_write(sim, pfn, 0, &b, 1));
	TU_ASSERT_OK(simmm_alloc_stats(sim, &st));
	assert_int_equal(st.live_bytes[SIMMM_ALLOC_CONTENTS], 4096);
	assert_int_equal(st.peak_bytes[SIMMM_ALLOC_CONTENTS], 4096);
	assert_int_equal(simmm_page_put(sim, pfn), 0);
	TU_ASSERT_OK(simmm_alloc_stats(sim, &st));
	assert_int_equal(st.live_bytes[SIMMM_ALLOC_CONTENTS], 0);
	assert_int_equal(st.peak_bytes[SIMMM_ALLOC_CONTENTS], 4096);
	tu_sim_free(&sim);
	assert_int_equal(cnt.live, 0);
	assert_true(cnt.total > 3);
}

static void fault_nth_transient(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 1 << 24, 1);
	struct simmm_fault_config fc = {.mode = SIMMM_FAULT_NTH, .nth = 2};
	unsigned char b = 1;
	simmm_pfn_t p[3];
	(void)state;
	for (int i = 0; i < 3; i++)
		TU_ASSERT_OK(simmm_page_alloc(sim, 0, &p[i]));
	TU_ASSERT_OK(simmm_fault_inject(sim, &fc));
	TU_ASSERT_OK(simmm_page_write(sim, p[0], 0, &b, 1));           /* 1st */
	assert_int_equal(simmm_page_write(sim, p[1], 0, &b, 1), -ENOMEM); /* 2nd fails */
	TU_ASSERT_OK(simmm_page_write(sim, p[2], 0, &b, 1));           /* 3rd */
	assert_int_equal(simmm_fault_hits(sim), 1);
	struct simmm_page_info info;
	TU_ASSERT_OK(simmm_page_info(sim, p[1], &info));
	assert_false(info.has_contents); /* state as before the call */
	TU_CHECK(sim);
	for (int i = 0; i < 3; i++)
		assert_int_equal(simmm_page_put(sim, p[i]), 0);
	tu_sim_free(&sim);
}

static void fault_from_nth_persistent(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 1 << 24, 1);
	struct simmm_fault_config fc = {.mode = SIMMM_FAULT_FROM_NTH, .nth = 1};
	unsigned char b = 1;
	simmm_pfn_t p;
	(void)state;
	TU_ASSERT_OK(simmm_page_alloc(sim, 0, &p));
	TU_ASSERT_OK(simmm_fault_inject(sim, &fc));
	for (int i = 0; i < 5; i++)
		assert_int_equal(simmm_page_write(sim, p, 0, &b, 1), -ENOMEM);
	assert_int_equal(simmm_fault_hits(sim), 5);
	TU_ASSERT_OK(simmm_fault_inject(sim, NULL));
	TU_ASSERT_OK(simmm_page_write(sim, p, 0, &b, 1));
	assert_int_equal(simmm_page_put(sim, p), 0);
	fc.nth = 0;
	assert_int_equal(simmm_fault_inject(sim, &fc), -EINVAL);
	assert_int_equal(simmm_fault_inject(NULL, NULL), -EINVAL);
	tu_sim_free(&sim);
}

static uint64_t random_failures(uint64_t seed)
{
	simmm_config cfg;
	simmm_config_init(&cfg);
	cfg.ram_bytes = 1 << 26;
	cfg.seed = seed;
	simmm_sim *sim = tu_sim_new_cfg(&cfg);
	struct simmm_fault_config fc = {.mode = SIMMM_FAULT_RANDOM, .probability = 0.25};
	unsigned char b = 1;
	uint64_t pattern = 0;
	simmm_pfn_t p[64];
	TU_ASSERT_OK(simmm_fault_inject(sim, &fc));
	for (int i = 0; i < 64; i++) {
		int rc = simmm_page_alloc(sim, 0, &p[i]);
		if (rc == 0 && simmm_page_write(sim, p[i], 0, &b, 1) == -ENOMEM)
			pattern |= 1ULL << i;
		if (rc == 0)
			assert_int_equal(simmm_page_put(sim, p[i]), 0);
	}
	TU_ASSERT_OK(simmm_fault_inject(sim, NULL));
	TU_CHECK(sim);
	tu_sim_free(&sim);
	return pattern;
}

static void fault_random_is_seeded(void **state)
{
	(void)state;
	uint64_t s = tu_seed();
	uint64_t a = random_failures(s), b = random_failures(s);
	assert_int_equal(a, b);
	assert_int_not_equal(a, 0);
	assert_int_not_equal(a, ~0ULL);
}

/* Create itself under injection: every failure point returns -ENOMEM and
 * leaks nothing at the host level. */
static void create_under_injection(void **state)
{
	(void)state;
	int completed = 0;
	for (uint64_t n = 1; n < 200 && !completed; n++) {
		struct counting cnt = {0};
		struct simmm_allocator va = {cnt_alloc, cnt_free, &cnt};
		simmm_config cfg;
		simmm_sim *sim = NULL;
		simmm_config_init(&cfg);
		cfg.ram_bytes = 1 << 24;
		cfg.allocator = SIMMM_ALLOCATOR_CUSTOM;
		cfg.custom_allocator = &va;
		cfg.fault.mode = SIMMM_FAULT_NTH;
		cfg.fault.nth = n;
		int rc = simmm_sim_create(&cfg, &sim);
		if (rc == 0) {
			if (simmm_fault_hits(sim) == 0)
				completed = 1;
			simmm_fault_inject(sim, NULL);
			TU_CHECK(sim);
			assert_int_equal(simmm_sim_destroy(&sim), 0);
		} else {
			assert_int_equal(rc, -ENOMEM);
			assert_null(sim);
		}
		assert_int_equal(cnt.live, 0);
	}
	assert_true(completed);
}

/* The sweep over every physical-memory allocation path. */
static int phys_scenario(simmm_sim *sim, void *arg)
{
	simmm_pfn_t p[16];
	int n = 0, rc = 0;
	unsigned char b = 5;
	(void)arg;
	for (int i = 0; i < 16; i++) {
		rc = simmm_page_alloc(sim, (unsigned)(i % 5), &p[n]);
		if (rc)
			break;
		n++;
		rc = simmm_page_write(sim, p[n - 1], 0, &b, 1);
		if (rc)
			break;
	}
	/* Freeing never fails and must fully undo. */
	for (int i = 0; i < n; i += 2)
		simmm_page_put(sim, p[i]);
	for (int i = 1; i < n; i += 2)
		simmm_page_put(sim, p[i]);
	return rc;
}

static void sweep_phys(void **state)
{
	struct simmm_sweep_result res;
	simmm_config cfg;
	(void)state;
	simmm_config_init(&cfg);
	cfg.ram_bytes = 1ULL << 32; /* several memmap sections get created */
	TU_ASSERT_OK(simmm_fault_sweep(&cfg, phys_scenario, NULL, 0, &res));
	assert_true(res.steps > 16);
	assert_int_equal(res.enomem, res.steps - 1);
	assert_int_equal(res.violations, 0);
}

static int leaky_scenario(simmm_sim *sim, void *arg)
{
	simmm_pfn_t p;
	(void)arg;
	return simmm_page_alloc(sim, 0, &p); /* never freed */
}

static void sweep_detects_leaks(void **state)
{
	struct simmm_sweep_result res;
	(void)state;
	assert_int_equal(simmm_fault_sweep(NULL, leaky_scenario, NULL, 0, &res), -EUCLEAN);
	assert_true(res.violations > 0);
	assert_int_equal(simmm_fault_sweep(NULL, NULL, NULL, 0, &res), -EINVAL);
}

/* ---- the block pool ---------------------------------------------------- */

/* One instance's life on @pool: pages allocated, written, freed; returns
 * the trace digest (what the instance did). */
static uint64_t pool_run(struct simmm_pool *pool, struct simmm_sweep_result *sweep)
{
	simmm_config cfg;
	simmm_sim *sim;
	uint64_t h;

	simmm_config_init(&cfg);
	cfg.ram_bytes = 1 << 24;
	cfg.allocator = SIMMM_ALLOCATOR_CUSTOM;
	cfg.custom_allocator = simmm_pool_allocator(pool);
	if (sweep) {
		TU_ASSERT_OK(simmm_fault_sweep(&cfg, phys_scenario, NULL, 0, sweep));
		return 0;
	}
	sim = tu_sim_new_cfg(&cfg);
	assert_int_equal(phys_scenario(sim, NULL), 0);
	TU_CHECK(sim);
	h = simmm_trace_hash(sim);
	assert_int_equal(simmm_sim_destroy(&sim), 0);
	return h;
}

/* The second instance of the same scenario is served from what the first
 * freed (no malloc at all), and does exactly what the first did. */
static void pool_reuses_blocks(void **state)
{
	struct simmm_pool *pool;
	struct simmm_pool_stats a, b;
	uint64_t h1, h2;
	(void)state;
	TU_ASSERT_OK(simmm_pool_create(0, &pool));
	h1 = pool_run(pool, NULL);
	TU_ASSERT_OK(simmm_pool_stats(pool, &a));
	assert_int_equal(a.live_blocks, 0);
	assert_true(a.misses > 0);
	assert_true(a.cached_blocks > 0);
	assert_true(a.cached_bytes >= 16 * 4096); /* the 16 pages' contents at least */
	h2 = pool_run(pool, NULL);
	TU_ASSERT_OK(simmm_pool_stats(pool, &b));
	assert_true(h1 == h2);
	assert_int_equal(b.misses, a.misses);
	assert_true(b.hits >= a.cached_blocks);
	assert_int_equal(b.cached_blocks, a.cached_blocks);
	assert_int_equal(b.live_blocks, 0);
	TU_ASSERT_OK(simmm_pool_destroy(pool));
}

/* Instances keep accounting and injecting above the pool: a fault sweep
 * on a pool is clean and leaves nothing handed out. */
static void pool_under_fault_sweep(void **state)
{
	struct simmm_pool *pool;
	struct simmm_pool_stats st;
	struct simmm_sweep_result res;
	(void)state;
	TU_ASSERT_OK(simmm_pool_create(0, &pool));
	pool_run(pool, &res);
	assert_true(res.steps > 16);
	assert_int_equal(res.enomem, res.steps - 1);
	assert_int_equal(res.violations, 0);
	TU_ASSERT_OK(simmm_pool_stats(pool, &st));
	assert_int_equal(st.live_blocks, 0);
	assert_true(st.hits > st.misses); /* every step after the first reuses */
	TU_ASSERT_OK(simmm_pool_destroy(pool));
}

/* The cap bounds the cache; trim empties it; destroy refuses while an
 * instance still holds blocks; the NULL cases. */
static void pool_cap_trim_destroy(void **state)
{
	struct simmm_pool *pool;
	struct simmm_pool_stats st;
	simmm_config cfg;
	simmm_sim *sim;
	(void)state;
	TU_ASSERT_OK(simmm_pool_create(3 * 4096, &pool));
	pool_run(pool, NULL);
	TU_ASSERT_OK(simmm_pool_stats(pool, &st));
	assert_true(st.cached_bytes <= 3 * 4096);
	assert_true(st.released > 0);
	assert_int_equal(st.live_blocks, 0);
	TU_ASSERT_OK(simmm_pool_trim(pool));
	TU_ASSERT_OK(simmm_pool_stats(pool, &st));
	assert_int_equal(st.cached_blocks, 0);
	assert_int_equal(st.cached_bytes, 0);

	simmm_config_init(&cfg);
	cfg.ram_bytes = 1 << 24;
	cfg.allocator = SIMMM_ALLOCATOR_CUSTOM;
	cfg.custom_allocator = simmm_pool_allocator(pool);
	sim = tu_sim_new_cfg(&cfg);
	assert_int_equal(simmm_pool_destroy(pool), -EBUSY);
	TU_ASSERT_OK(simmm_pool_stats(pool, &st));
	assert_true(st.live_blocks > 0);
	assert_int_equal(simmm_sim_destroy(&sim), 0);
	TU_ASSERT_OK(simmm_pool_destroy(pool));

	assert_int_equal(simmm_pool_create(0, NULL), -EINVAL);
	assert_null(simmm_pool_allocator(NULL));
	assert_int_equal(simmm_pool_stats(NULL, &st), -EINVAL);
	assert_int_equal(simmm_pool_trim(NULL), -EINVAL);
	assert_int_equal(simmm_pool_destroy(NULL), 0);
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_HAVE_ASAN 1
#endif
#endif
#if !defined(TEST_HAVE_ASAN) && defined(__SANITIZE_ADDRESS__)
#define TEST_HAVE_ASAN 1
#endif
#ifdef TEST_HAVE_ASAN
#include <sanitizer/asan_interface.h>
#endif

/* Under ASan a cached block is poisoned until it is handed out again. */
static void pool_poisons_cached_blocks(void **state)
{
	struct simmm_pool *pool;
	const struct simmm_allocator *va;
	void *p, *q;
	(void)state;
	TU_ASSERT_OK(simmm_pool_create(0, &pool));
	va = simmm_pool_allocator(pool);
	p = va->alloc(va->ctx, 100);
	assert_non_null(p);
	memset(p, 1, 100);
	va->free(va->ctx, p, 100);
#ifdef TEST_HAVE_ASAN
	assert_true(__asan_address_is_poisoned(p));
	assert_true(__asan_address_is_poisoned((char *)p + 99));
#endif
	q = va->alloc(va->ctx, 100); /* the same size: the cached block */
	assert_ptr_equal(p, q);
#ifdef TEST_HAVE_ASAN
	assert_false(__asan_address_is_poisoned(q));
#endif
	va->free(va->ctx, q, 100);
	TU_ASSERT_OK(simmm_pool_destroy(pool));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(default_backend_is_jemalloc),
		cmocka_unit_test(custom_backend_and_accounting),
		cmocka_unit_test(fault_nth_transient),
		cmocka_unit_test(fault_from_nth_persistent),
		cmocka_unit_test(fault_random_is_seeded),
		cmocka_unit_test(create_under_injection),
		cmocka_unit_test(sweep_phys),
		cmocka_unit_test(sweep_detects_leaks),
		cmocka_unit_test(pool_reuses_blocks),
		cmocka_unit_test(pool_under_fault_sweep),
		cmocka_unit_test(pool_cap_trim_destroy),
		cmocka_unit_test(pool_poisons_cached_blocks),
	};
	return cmocka_run_group_tests_name("alloc", tests, NULL, NULL);
}
