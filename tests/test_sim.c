// SPDX-License-Identifier: MIT
/* The simulated machine: create/destroy, configuration checks, errors,
 * trace, reports, and independence of instances in different threads. */
#include <pthread.h>
#include <string.h>

#include "testutil.h"

static void create_destroy_default(void **state)
{
	simmm_sim *sim = NULL;
	(void)state;
	TU_ASSERT_OK(simmm_sim_create(NULL, &sim));
	assert_non_null(sim);
	const struct simmm_geometry *g = simmm_sim_geometry(sim);
	assert_string_equal(g->name, "x86_64-4level");
	assert_int_equal(g->page_shift, 12);
	assert_int_equal(simmm_sim_seed(sim), 1);
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

static int create_with(uint64_t ram, uint64_t swap, const char *geo)
{
	simmm_config cfg;
	simmm_sim *sim = (simmm_sim *)0x1;
	simmm_config_init(&cfg);
	cfg.ram_bytes = ram;
	cfg.swap_bytes = swap;
	cfg.geometry = geo;
	int rc = simmm_sim_create(&cfg, &sim);
	if (rc == 0)
		assert_int_equal(simmm_sim_destroy(&sim), 0);
	else
		assert_null(sim);
	return rc;
}

static void bad_config(void **state)
{
	(void)state;
	assert_int_equal(simmm_sim_create(NULL, NULL), -EINVAL);
	assert_int_equal(create_with(0, 0, NULL), -EINVAL);              /* zero RAM */
	assert_int_equal(create_with(4096 * 15, 0, NULL), -EINVAL);      /* below minimum */
	assert_int_equal(create_with((1 << 20) + 1, 0, NULL), -EINVAL);  /* not a page multiple */
	assert_int_equal(create_with(1ULL << 60, 0, NULL), -EINVAL);     /* absurd */
	assert_int_equal(create_with(1 << 20, 4097, NULL), -EINVAL);     /* swap not page multiple */
	assert_int_equal(create_with(1 << 20, 0, "no-such-geometry"), -EINVAL);
	assert_int_equal(create_with(1 << 19, 0, "arm64-64k-48"), -EINVAL); /* 8 pages of 64K */
}

static void bad_config_flags_and_alloc(void **state)
{
	simmm_config cfg;
	simmm_sim *sim;
	(void)state;
	simmm_config_init(&cfg);
	cfg.flags = 0x80000000u;
	assert_int_equal(simmm_sim_create(&cfg, &sim), -EINVAL);
	simmm_config_init(&cfg);
	cfg.allocator = SIMMM_ALLOCATOR_CUSTOM; /* no vtable */
	assert_int_equal(simmm_sim_create(&cfg, &sim), -EINVAL);
	simmm_config_init(&cfg);
	cfg.fault.mode = SIMMM_FAULT_NTH; /* nth = 0 */
	assert_int_equal(simmm_sim_create(&cfg, &sim), -EINVAL);
	cfg.fault.mode = SIMMM_FAULT_RANDOM;
	cfg.fault.probability = 1.5;
	assert_int_equal(simmm_sim_create(&cfg, &sim), -EINVAL);
	cfg.fault.mode = 77;
	assert_int_equal(simmm_sim_create(&cfg, &sim), -EINVAL);
}

static void custom_geometry_checks(void **state)
{
	struct simmm_geometry_desc d = {.name = "tiny", .page_shift = 5, .nlevels = 2,
					.bits = {5, 5}};
	struct simmm_geometry g;
	simmm_config cfg;
	simmm_sim *sim;
	(void)state;
	TU_ASSERT_OK(simmm_geometry_build(&d, &g));
	assert_int_equal(g.va_bits, 15);
	d.page_shift = 3;
	assert_int_equal(simmm_geometry_build(&d, &g), -EINVAL);
	d.page_shift = 12;
	d.nlevels = 6;
	assert_int_equal(simmm_geometry_build(&d, &g), -EINVAL);
	d.nlevels = 2;
	d.bits[1] = 0;
	assert_int_equal(simmm_geometry_build(&d, &g), -EINVAL);
	d.nlevels = 5;
	d.bits[0] = d.bits[1] = d.bits[2] = d.bits[3] = d.bits[4] = 10;
	assert_int_equal(simmm_geometry_build(&d, &g), -EINVAL); /* 62 bits */
	assert_int_equal(simmm_geometry_build(NULL, &g), -EINVAL);

	d = (struct simmm_geometry_desc){.name = "tiny", .page_shift = 5, .nlevels = 2,
					 .bits = {5, 5}};
	simmm_config_init(&cfg);
	cfg.custom_geometry = &d;
	cfg.ram_bytes = 32 * 1024;
	sim = tu_sim_new_cfg(&cfg);
	assert_string_equal(simmm_sim_geometry(sim)->name, "tiny");
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

static void double_destroy(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 1 << 24, 1);
	(void)state;
	assert_int_equal(simmm_sim_destroy(&sim), 0);
	assert_null(sim);
	assert_int_equal(simmm_sim_destroy(&sim), -EINVAL);
	assert_int_equal(simmm_sim_destroy(NULL), -EINVAL);
}

static void strerror_names(void **state)
{
	(void)state;
	assert_string_equal(simmm_strerror(0), "success");
	assert_non_null(strstr(simmm_strerror(-EINVAL), "EINVAL"));
	assert_non_null(strstr(simmm_strerror(-ENOMEM), "ENOMEM"));
	assert_non_null(strstr(simmm_strerror(-EBUSY), "EBUSY"));
	assert_string_equal(simmm_strerror(-123456), "unknown error");
}

static void geometries_listed(void **state)
{
	(void)state;
	assert_true(simmm_geometry_count() >= 12);
	for (unsigned i = 0; i < simmm_geometry_count(); i++) {
		const struct simmm_geometry *g = simmm_geometry_at(i);
		assert_ptr_equal(simmm_geometry_lookup(g->name), g);
	}
	assert_null(simmm_geometry_at(simmm_geometry_count()));
	const struct simmm_geometry *g = simmm_geometry_lookup("arm64-4k-39");
	assert_int_equal(g->nlevels, 3);
	assert_true(g->level[SIMMM_LVL_PUD].folded);
	assert_true(g->level[SIMMM_LVL_PUD].leaf); /* 1G level-1 blocks */
	assert_int_equal(g->level[SIMMM_LVL_PUD].shift, 30);
	g = simmm_geometry_lookup("arm64-64k-42");
	assert_int_equal(g->level[SIMMM_LVL_PMD].shift, 29); /* 512M blocks */
	assert_true(g->level[SIMMM_LVL_PMD].leaf);
	g = simmm_geometry_lookup("x86_64-5level");
	assert_int_equal(g->va_bits, 57);
	assert_false(g->level[SIMMM_LVL_P4D].folded);
	g = simmm_geometry_lookup("toy-15bit");
	assert_int_equal(g->va_bits, 15);
	assert_int_equal(g->page_shift, 5);
}

/* Every geometry boots, and the buddy serves up to PUD (or PMD) order. */
static void every_geometry_boots(void **state)
{
	(void)state;
	for (unsigned i = 0; i < simmm_geometry_count(); i++) {
		const struct simmm_geometry *g = simmm_geometry_at(i);
		uint64_t ram = 4096ULL << g->page_shift;
		simmm_sim *sim = tu_sim_new(g->name, ram, 1);
		struct simmm_phys_stats st;
		TU_ASSERT_OK(simmm_phys_stats(sim, &st));
		assert_int_equal(st.total_pages, 4096);
		assert_int_equal(st.free_pages, 4095); /* the zero page */
		TU_CHECK(sim);
		tu_sim_free(&sim);
	}
}

struct evlog {
	uint64_t n;
	uint32_t last_type;
};

static void on_event(void *arg, const struct simmm_trace_event *ev)
{
	struct evlog *l = arg;
	l->n++;
	l->last_type = ev->type;
}

static void trace_ring_and_callback(void **state)
{
	simmm_config cfg;
	struct evlog log = {0};
	struct simmm_trace_event evs[8];
	simmm_pfn_t pfn;
	char line[256];
	(void)state;

	simmm_config_init(&cfg);
	cfg.ram_bytes = 1 << 24;
	cfg.trace_ring = 5; /* rounded to 8 */
	cfg.trace_cb = on_event;
	cfg.trace_arg = &log;
	simmm_sim *sim = tu_sim_new_cfg(&cfg);
	uint64_t before = simmm_trace_count(sim);
	assert_true(before >= 1);
	for (int i = 0; i < 20; i++) {
		TU_ASSERT_OK(simmm_page_alloc(sim, 0, &pfn));
		assert_int_equal(simmm_page_put(sim, pfn), 0);
	}
	assert_int_equal(simmm_trace_count(sim), before + 40);
	assert_int_equal(log.n, simmm_trace_count(sim));
	assert_int_equal(simmm_trace_read(sim, evs, 8), 8);
	assert_int_equal(evs[7].seq, simmm_trace_count(sim));
	assert_int_equal(evs[7].type, SIMMM_EV_PAGE_FREE);
	assert_int_equal(evs[6].type, SIMMM_EV_PAGE_ALLOC);
	assert_int_equal(evs[6].pfn, evs[7].pfn);
	assert_true(simmm_trace_format(&evs[7], line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "page_free"));
	assert_int_equal(simmm_trace_read(sim, NULL, 1), -EINVAL);
	/* The core names every subsystem's events, the notifier's included,
	 * consistently with that layer's own table. */
	for (uint32_t t = SIMMM_EV_MN_START; t <= SIMMM_EV_MN_REMOVE; t++)
		assert_string_equal(simmm_trace_type_name(t), simmm_mmu_notifier_trace_name(t));
	assert_string_equal(simmm_trace_type_name(0x7fff), "?");
	assert_int_equal(simmm_trace_set_callback(sim, NULL, NULL), 0);
	tu_sim_free(&sim);
}

static uint64_t run_and_hash(uint64_t seed)
{
	simmm_sim *sim = tu_sim_new(NULL, 1 << 26, seed);
	simmm_pfn_t pfns[64];
	int n = 0;
	for (int i = 0; i < 500; i++) {
		uint64_t r = simmm_sim_random(sim);
		if (n < 64 && (r & 1)) {
			if (simmm_page_alloc(sim, (unsigned)(r >> 1) % 4, &pfns[n]) == 0)
				n++;
		} else if (n) {
			unsigned k = (unsigned)((r >> 8) % (unsigned)n);
			simmm_page_put(sim, pfns[k]);
			pfns[k] = pfns[--n];
		}
	}
	while (n)
		simmm_page_put(sim, pfns[--n]);
	uint64_t h = simmm_trace_hash(sim);
	tu_sim_free(&sim);
	return h;
}

static void trace_deterministic(void **state)
{
	(void)state;
	uint64_t seed = tu_seed();
	assert_int_equal(run_and_hash(seed), run_and_hash(seed));
	assert_int_not_equal(run_and_hash(seed), run_and_hash(seed + 1));
}

static void reports_log(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 1 << 24, 1);
	simmm_pfn_t pfn;
	uint64_t n;
	(void)state;
	TU_ASSERT_OK(simmm_page_alloc(sim, 0, &pfn));
	assert_int_equal(simmm_page_put(sim, pfn), 0);
	assert_int_equal(simmm_page_put(sim, pfn), -ENOENT); /* double free */
	assert_int_equal(simmm_page_get(sim, pfn), -ENOENT); /* use after free */
	const char *log = simmm_reports(sim, &n);
	assert_int_equal(n, 2);
	assert_int_equal(simmm_reports_count(sim, SIMMM_REPORT_MISUSE), 2);
	assert_non_null(strstr(log, "double free"));
	assert_non_null(strstr(log, "get on free pfn"));
	simmm_reports_clear(sim);
	assert_int_equal(simmm_reports_count(sim, 0), 0);
	assert_string_equal(simmm_reports(sim, NULL), "");
	assert_string_equal(simmm_reports(NULL, &n), "");
	assert_int_equal(n, 0);
	tu_sim_free(&sim);
}

/* Two instances in two OS threads never interact: each thread's trace
 * hash equals the hash of the same work done alone. */
struct thread_arg {
	uint64_t seed;
	uint64_t hash;
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;
	simmm_config cfg;
	simmm_sim *sim = NULL;
	simmm_pfn_t pfn;
	simmm_config_init(&cfg);
	cfg.ram_bytes = 1 << 26;
	cfg.seed = a->seed;
	if (simmm_sim_create(&cfg, &sim))
		return NULL;
	for (int i = 0; i < 20000; i++) {
		unsigned order = (unsigned)(simmm_sim_random(sim) % 5);
		if (simmm_page_alloc(sim, order, &pfn) == 0)
			simmm_page_put(sim, pfn);
	}
	a->hash = simmm_trace_hash(sim);
	simmm_sim_destroy(&sim);
	return NULL;
}

static void two_threads_independent(void **state)
{
	struct thread_arg solo = {.seed = 7}, a = {.seed = 7}, b = {.seed = 7};
	pthread_t ta, tb;
	(void)state;
	thread_main(&solo);
	assert_int_equal(pthread_create(&ta, NULL, thread_main, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, thread_main, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_not_equal(solo.hash, 0);
	assert_int_equal(a.hash, solo.hash);
	assert_int_equal(b.hash, solo.hash);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_destroy_default),
		cmocka_unit_test(bad_config),
		cmocka_unit_test(bad_config_flags_and_alloc),
		cmocka_unit_test(custom_geometry_checks),
		cmocka_unit_test(double_destroy),
		cmocka_unit_test(strerror_names),
		cmocka_unit_test(geometries_listed),
		cmocka_unit_test(every_geometry_boots),
		cmocka_unit_test(trace_ring_and_callback),
		cmocka_unit_test(trace_deterministic),
		cmocka_unit_test(reports_log),
		cmocka_unit_test(two_threads_independent),
	};
	return cmocka_run_group_tests_name("sim", tests, NULL, NULL);
}
