// SPDX-License-Identifier: MIT
/*
 * The allocator layer: a backend vtable (jemalloc arena, libc, or the
 * user's), wrapped by the failure injector and per-category accounting.
 *
 * Like SQLite's test_malloc, the injector sits between every caller and the
 * backend, so "fail the Nth allocation" covers every allocation path of
 * simmm without any cooperation from the callers beyond returning -ENOMEM
 * and undoing what they did.
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

/* Poison cached page buffers under ASan (whether or not the build defines
 * SIMMM_ASAN) so a stale pointer into freed contents is still reported. */
#ifdef SIMMM_HAVE_ASAN
#include <sanitizer/asan_interface.h>
#define pagebuf_poison(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define pagebuf_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define pagebuf_poison(p, n) ((void)(p), (void)(n))
#define pagebuf_unpoison(p, n) ((void)(p), (void)(n))
#endif

#ifdef SIMMM_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>

/* One arena per instance: allocations of two instances never share
 * jemalloc state beyond the arena table, and destroy releases the arena's
 * memory in bulk (arena.<i>.destroy). No thread cache, so destroying the
 * arena leaves no stale cached blocks behind. */
static void *je_alloc(void *ctx, size_t size)
{
	unsigned arena = (unsigned)(uintptr_t)ctx;
	return mallocx(size ? size : 1, MALLOCX_ARENA(arena) | MALLOCX_TCACHE_NONE);
}

static void je_free(void *ctx, void *ptr, size_t size)
{
	(void)ctx;
	sdallocx(ptr, size ? size : 1, MALLOCX_TCACHE_NONE);
}

static int je_arena_create(unsigned *arena)
{
	size_t sz = sizeof(*arena);
	return mallctl("arenas.create", arena, &sz, NULL, 0) ? -ENOMEM : 0;
}

static void je_arena_destroy(unsigned arena)
{
	char name[64];
	snprintf(name, sizeof(name), "arena.%u.destroy", arena);
	mallctl(name, NULL, NULL, NULL, 0);
}
#endif

static void *libc_alloc(void *ctx, size_t size)
{
	(void)ctx;
	return malloc(size ? size : 1);
}

static void libc_free(void *ctx, void *ptr, size_t size)
{
	(void)ctx;
	(void)size;
	free(ptr);
}

static int fault_validate(const struct simmm_fault_config *fc)
{
	switch (fc->mode) {
	case SIMMM_FAULT_OFF:
		return 0;
	case SIMMM_FAULT_NTH:
	case SIMMM_FAULT_FROM_NTH:
		return fc->nth ? 0 : -EINVAL;
	case SIMMM_FAULT_RANDOM:
		return (fc->probability >= 0.0 && fc->probability <= 1.0) ? 0 : -EINVAL;
	}
	return -EINVAL;
}

int simmm__alloc_init(simmm_sim *sim, const simmm_config *cfg)
{
	struct simmm_alloc_state *a = &sim->alloc;
	enum simmm_allocator_kind kind = cfg->allocator;

	if (fault_validate(&cfg->fault))
		return -EINVAL;
	if (kind == SIMMM_ALLOCATOR_DEFAULT) {
#ifdef SIMMM_HAVE_JEMALLOC
		kind = SIMMM_ALLOCATOR_JEMALLOC;
#else
		kind = SIMMM_ALLOCATOR_LIBC;
#endif
	}
	a->kind = kind;
	switch (kind) {
	case SIMMM_ALLOCATOR_JEMALLOC:
#ifdef SIMMM_HAVE_JEMALLOC
		if (je_arena_create(&a->arena))
			return -ENOMEM;
		a->have_arena = true;
		a->backend.alloc = je_alloc;
		a->backend.free = je_free;
		a->backend.ctx = (void *)(uintptr_t)a->arena;
		break;
#else
		return -EOPNOTSUPP;
#endif
	case SIMMM_ALLOCATOR_LIBC:
		a->backend.alloc = libc_alloc;
		a->backend.free = libc_free;
		break;
	case SIMMM_ALLOCATOR_CUSTOM:
		if (!cfg->custom_allocator || !cfg->custom_allocator->alloc ||
		    !cfg->custom_allocator->free)
			return -EINVAL;
		a->backend = *cfg->custom_allocator;
		break;
	default:
		return -EINVAL;
	}
	simmm__rng_seed(&a->fault_rng, sim->seed ^ 0xfa17fa17fa17fa17ULL);
	/* A user backend sees every block: its calls may be what it tests. */
	a->pagebuf_size = kind == SIMMM_ALLOCATOR_CUSTOM ? 0 : sim->page_size;
	return 0;
}

/* ---- the page-buffer cache ----------------------------------------------
 *
 * It sits below the injector and the accounting: a block taken from the
 * cache is still one allocation attempt for the injector and one live
 * allocation for the leak report, exactly like a block from the backend.
 * FIFO rather than LIFO so a freed block stays unused (and, under ASan,
 * poisoned: a stale pointer into freed contents still faults) for as
 * long as the ring allows. */

static void *backend_alloc(struct simmm_alloc_state *a, size_t size)
{
	if (size == a->pagebuf_size && a->pagebuf_nr) {
		void *p = a->pagebuf[a->pagebuf_head];

		a->pagebuf_head = (a->pagebuf_head + 1) % SIMMM_PAGEBUF_CACHE;
		a->pagebuf_nr--;
		pagebuf_unpoison(p, size);
		return p;
	}
	return a->backend.alloc(a->backend.ctx, size);
}

static void backend_free(struct simmm_alloc_state *a, void *ptr, size_t size)
{
	if (size == a->pagebuf_size && a->pagebuf_nr < SIMMM_PAGEBUF_CACHE) {
		pagebuf_poison(ptr, size);
		a->pagebuf[(a->pagebuf_head + a->pagebuf_nr++) % SIMMM_PAGEBUF_CACHE] = ptr;
		return;
	}
	a->backend.free(a->backend.ctx, ptr, size);
}

static void pagebuf_drain(struct simmm_alloc_state *a)
{
	while (a->pagebuf_nr) {
		void *p = a->pagebuf[a->pagebuf_head];

		a->pagebuf_head = (a->pagebuf_head + 1) % SIMMM_PAGEBUF_CACHE;
		a->pagebuf_nr--;
		pagebuf_unpoison(p, a->pagebuf_size);
		a->backend.free(a->backend.ctx, p, a->pagebuf_size);
	}
}

/* Arm the injector; counting restarts. */
static void fault_arm(simmm_sim *sim, const struct simmm_fault_config *fc)
{
	struct simmm_alloc_state *a = &sim->alloc;
	if (fc)
		a->fault = *fc;
	else
		a->fault.mode = SIMMM_FAULT_OFF;
	a->fault_count = 0;
}

static bool fault_should_fail(struct simmm_alloc_state *a)
{
	switch (a->fault.mode) {
	case SIMMM_FAULT_OFF:
		return false;
	case SIMMM_FAULT_NTH:
		return ++a->fault_count == a->fault.nth;
	case SIMMM_FAULT_FROM_NTH:
		return ++a->fault_count >= a->fault.nth;
	case SIMMM_FAULT_RANDOM:
		a->fault_count++;
		return simmm__rng_double(&a->fault_rng) < a->fault.probability;
	}
	return false;
}

static void account(struct simmm_alloc_state *a, enum simmm_alloc_cat cat, size_t size)
{
	a->live_bytes[cat] += size;
	if (a->live_bytes[cat] > a->peak_bytes[cat])
		a->peak_bytes[cat] = a->live_bytes[cat];
	a->live_allocs++;
	a->total_allocs++;
}

/* Breakpoint target for "which allocation failed" debugging sessions. */
SIMMM_NOINLINE static void simmm_oom_breakpoint(simmm_sim *sim, size_t size)
{
	__asm__ volatile("" ::: "memory");
	(void)sim;
	(void)size;
}

void *simmm__malloc(simmm_sim *sim, enum simmm_alloc_cat cat, size_t size)
{
	struct simmm_alloc_state *a = &sim->alloc;
	void *p;

	if (SIMMM_UNLIKELY(a->fault.mode != SIMMM_FAULT_OFF) && fault_should_fail(a)) {
		a->fault_hits++;
		simmm_oom_breakpoint(sim, size);
		simmm__trace(sim, SIMMM_EV_ALLOC_FAIL, 0, 0, size, cat);
		return NULL;
	}
	p = backend_alloc(a, size);
	if (p)
		account(a, cat, size);
	return p;
}

void *simmm__zalloc(simmm_sim *sim, enum simmm_alloc_cat cat, size_t size)
{
	void *p = simmm__malloc(sim, cat, size);
	if (p)
		memset(p, 0, size);
	return p;
}

void *simmm__zalloc_nofail(simmm_sim *sim, enum simmm_alloc_cat cat, size_t size)
{
	struct simmm_alloc_state *a = &sim->alloc;
	void *p = backend_alloc(a, size);
	if (!p) {
		fprintf(stderr, "simmm: host out of memory (%zu bytes)\n", size);
		abort();
	}
	account(a, cat, size);
	memset(p, 0, size);
	return p;
}

void simmm__free(simmm_sim *sim, enum simmm_alloc_cat cat, void *ptr, size_t size)
{
	struct simmm_alloc_state *a = &sim->alloc;
	if (!ptr)
		return;
	SIMMM_BUG_ON(a->live_bytes[cat] < size || a->live_allocs == 0);
	a->live_bytes[cat] -= size;
	a->live_allocs--;
	backend_free(a, ptr, size);
}

int simmm__grow(simmm_sim *sim, enum simmm_alloc_cat cat, void **arr, size_t elem,
		size_t *cap, size_t need, bool nofail)
{
	size_t ncap;
	void *n;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 8;
	while (ncap < need)
		ncap *= 2;
	n = nofail ? simmm__zalloc_nofail(sim, cat, ncap * elem)
		   : simmm__malloc(sim, cat, ncap * elem);
	if (!n)
		return -ENOMEM;
	if (*cap)
		memcpy(n, *arr, *cap * elem);
	memset((char *)n + *cap * elem, 0, (ncap - *cap) * elem);
	simmm__free(sim, cat, *arr, *cap * elem);
	*arr = n;
	*cap = ncap;
	return 0;
}

int simmm__alloc_fini(struct simmm_alloc_state *a, uint64_t expected_live, bool quiet)
{
	int leaks = (int)(a->live_allocs - expected_live);

	pagebuf_drain(a);
	if (leaks && !quiet) {
		fprintf(stderr, "simmm: %d allocation(s) leaked at destroy:", leaks);
		for (int c = 0; c < SIMMM_ALLOC_NR_CATS; c++)
			if (a->live_bytes[c])
				fprintf(stderr, " %s=%llu bytes", simmm_alloc_cat_name(c),
					(unsigned long long)a->live_bytes[c]);
		fprintf(stderr, "\n");
	}
#ifdef SIMMM_HAVE_JEMALLOC
	/* Bulk release: whatever leaked goes with the arena. */
	if (a->have_arena)
		je_arena_destroy(a->arena);
#endif
	return leaks;
}

int simmm_alloc_stats(const simmm_sim *sim, struct simmm_alloc_stats *out)
{
	if (!simmm__sim_ok(sim) || !out)
		return -EINVAL;
	memcpy(out->live_bytes, sim->alloc.live_bytes, sizeof(out->live_bytes));
	memcpy(out->peak_bytes, sim->alloc.peak_bytes, sizeof(out->peak_bytes));
	out->live_allocs = sim->alloc.live_allocs;
	out->total_allocs = sim->alloc.total_allocs;
	out->injected_failures = sim->alloc.fault_hits;
	out->backend = sim->alloc.kind == SIMMM_ALLOCATOR_JEMALLOC ? "jemalloc"
		     : sim->alloc.kind == SIMMM_ALLOCATOR_LIBC   ? "libc"
								  : "custom";
	return 0;
}

const char *simmm_alloc_cat_name(enum simmm_alloc_cat cat)
{
	static const char *const names[] = {"meta", "memmap", "pgtable", "contents", "sched"};
	return (unsigned)cat < SIMMM_ALLOC_NR_CATS ? names[cat] : "?";
}

int simmm_fault_inject(simmm_sim *sim, const struct simmm_fault_config *fc)
{
	if (!simmm__sim_ok(sim))
		return -EINVAL;
	if (fc && fault_validate(fc))
		return -EINVAL;
	fault_arm(sim, fc);
	return 0;
}

uint64_t simmm_fault_hits(const simmm_sim *sim)
{
	return simmm__sim_ok(sim) ? sim->alloc.fault_hits : 0;
}

int simmm_fault_sweep(const simmm_config *cfg, simmm_sweep_fn fn, void *arg,
		      uint64_t max_steps, struct simmm_sweep_result *out)
{
	struct simmm_sweep_result res = {0};
	simmm_config c;
	int ret = 0;

	if (!fn)
		return -EINVAL;
	if (cfg)
		c = *cfg;
	else
		simmm_config_init(&c);
	c.fault.mode = SIMMM_FAULT_OFF;
	c.flags |= SIMMM_CFG_QUIET;
	if (!max_steps)
		max_steps = 1000000;

	for (uint64_t n = 1;; n++) {
		struct simmm_fault_config fc = {.mode = SIMMM_FAULT_NTH, .nth = n};
		simmm_sim *sim = NULL;
		int rc, bad;
		uint64_t hits;

		if (n > max_steps) {
			ret = -E2BIG;
			break;
		}
		rc = simmm_sim_create(&c, &sim);
		if (rc) {
			ret = rc;
			break;
		}
		simmm_fault_inject(sim, &fc);
		rc = fn(sim, arg);
		hits = simmm_fault_hits(sim);
		simmm_fault_inject(sim, NULL);
		res.steps = n;
		if (rc == -ENOMEM)
			res.enomem++;
		bad = simmm_check(sim);
		if (bad > 0) {
			fprintf(stderr, "simmm sweep step %llu: %d violation(s):\n%s\n",
				(unsigned long long)n, bad, simmm_reports(sim, NULL));
		}
		int leaks = simmm_sim_destroy(&sim);
		if (leaks > 0) {
			fprintf(stderr, "simmm sweep step %llu: %d leak(s)\n",
				(unsigned long long)n, leaks);
			bad += leaks;
		}
		if (bad > 0) {
			res.violations += (uint64_t)bad;
			if (!res.first_bad_step)
				res.first_bad_step = n;
		}
		if (rc != 0 && rc != -ENOMEM) {
			ret = rc;
			break;
		}
		if (rc == -ENOMEM && hits == 0) {
			/* A real out-of-frames condition, not ours: done. */
			break;
		}
		if (hits == 0)
			break;
	}
	if (!ret && res.violations)
		ret = -EUCLEAN;
	if (out)
		*out = res;
	return ret;
}
