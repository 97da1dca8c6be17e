/* SPDX-License-Identifier: MIT */
/**
 * DOC: allocator layer and allocation-failure injection
 *
 * Every byte simmm allocates for a simulated machine goes through that
 * machine's allocator. The default backend is jemalloc with a dedicated arena
 * per instance (released in bulk at destroy, per-instance statistics); the
 * libc backend is the fallback and is forced in sanitizer builds. A custom
 * backend may be supplied as a vtable.
 *
 * Bytes are accounted by category. Failure injection wraps the backend in
 * the way SQLite's test_malloc does: fail the Nth allocation once, fail
 * every allocation from the Nth on, or fail each with a probability drawn
 * from the instance seed. An operation that meets an injected failure
 * returns -ENOMEM and leaves the instance as it was before the call.
 */
#ifndef SIMMM_ALLOC_H
#define SIMMM_ALLOC_H

#include <simmm/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** enum simmm_alloc_cat - what an allocation is for (accounting only). */
enum simmm_alloc_cat {
	SIMMM_ALLOC_META = 0,  /* instance metadata: sim, lists, trees, VMAs */
	SIMMM_ALLOC_MEMMAP,    /* struct page arrays (sparse memmap sections) */
	SIMMM_ALLOC_PGTABLE,   /* page-table entry arrays */
	SIMMM_ALLOC_CONTENTS,  /* simulated page contents */
	SIMMM_ALLOC_SCHED,     /* task stacks and scheduler state */
	SIMMM_ALLOC_NR_CATS
};

/** enum simmm_allocator_kind - which backend a simulated machine uses. */
enum simmm_allocator_kind {
	SIMMM_ALLOCATOR_DEFAULT = 0, /* jemalloc if built with it, else libc */
	SIMMM_ALLOCATOR_JEMALLOC,    /* -EOPNOTSUPP at create if not built in */
	SIMMM_ALLOCATOR_LIBC,
	SIMMM_ALLOCATOR_CUSTOM,      /* simmm_config.custom_allocator */
};

/**
 * struct simmm_allocator - a custom allocator backend (vtable).
 * @alloc: return @size bytes aligned to 16, or NULL.
 * @free: release a block returned by @alloc; @size is the size asked for.
 * @ctx: passed back to both.
 */
struct simmm_allocator {
	void *(*alloc)(void *ctx, size_t size);
	void (*free)(void *ctx, void *ptr, size_t size);
	void *ctx;
};

/** enum simmm_fault_mode - allocation-failure injection modes. */
enum simmm_fault_mode {
	SIMMM_FAULT_OFF = 0,
	SIMMM_FAULT_NTH,         /* fail only the nth allocation (transient) */
	SIMMM_FAULT_FROM_NTH,    /* fail the nth and every later one (persistent) */
	SIMMM_FAULT_RANDOM,      /* fail each with probability @probability */
};

/**
 * struct simmm_fault_config - failure injection settings.
 * @mode: see enum simmm_fault_mode.
 * @nth: 1-based index of the first allocation to fail, counted from when
 *       the setting takes effect (at create, or simmm_fault_inject()).
 * @probability: for SIMMM_FAULT_RANDOM, in [0, 1].
 */
struct simmm_fault_config {
	enum simmm_fault_mode mode;
	uint64_t nth;
	double probability;
};

/**
 * struct simmm_alloc_stats - allocator statistics of one instance.
 * @live_bytes: bytes currently allocated, by category.
 * @peak_bytes: highest @live_bytes seen, by category.
 * @live_allocs: allocations not yet freed, all categories.
 * @total_allocs: successful allocations since create.
 * @injected_failures: allocations failed by the injector.
 * @backend: "jemalloc", "libc" or "custom".
 */
struct simmm_alloc_stats {
	uint64_t live_bytes[SIMMM_ALLOC_NR_CATS];
	uint64_t peak_bytes[SIMMM_ALLOC_NR_CATS];
	uint64_t live_allocs;
	uint64_t total_allocs;
	uint64_t injected_failures;
	const char *backend;
};

/**
 * simmm_alloc_stats() - read allocator statistics.
 * @sim: the simulated machine.
 * @out: filled on success.
 *
 * Return: 0, or -EINVAL if @sim or @out is NULL.
 */
SIMMM_API int simmm_alloc_stats(const simmm_sim *sim, struct simmm_alloc_stats *out);

/** simmm_alloc_cat_name() - "meta", "memmap", ...; "?" for a bad value. */
SIMMM_API const char *simmm_alloc_cat_name(enum simmm_alloc_cat cat);

/**
 * simmm_fault_inject() - change failure injection on a live instance.
 * @sim: the simulated machine.
 * @fc: new settings; counting for @fc->nth restarts now. NULL turns it off.
 *
 * Return: 0; -EINVAL for NULL @sim, an unknown mode, nth == 0 with an NTH
 * mode, or a probability outside [0, 1].
 */
SIMMM_API int simmm_fault_inject(simmm_sim *sim, const struct simmm_fault_config *fc);

/**
 * simmm_fault_hits() - how many allocations the injector has failed so far.
 * @sim: the simulated machine (NULL gives 0).
 */
SIMMM_API uint64_t simmm_fault_hits(const simmm_sim *sim);

struct simmm_config;

/**
 * typedef simmm_sweep_fn - one scenario run by simmm_fault_sweep().
 * @sim: a fresh instance whose allocator will fail at the current step.
 * @arg: the caller's argument.
 *
 * Return: 0 if the scenario completed, -ENOMEM if it stopped on an
 * allocation failure (any other value stops the sweep and is returned).
 */
typedef int (*simmm_sweep_fn)(simmm_sim *sim, void *arg);

/**
 * struct simmm_sweep_result - what simmm_fault_sweep() saw.
 * @steps: scenarios run (the last one completed without injected failure).
 * @enomem: runs that returned -ENOMEM.
 * @violations: invariant-checker violations and leaks found after runs.
 * @first_bad_step: the 1-based step of the first violation, or 0.
 */
struct simmm_sweep_result {
	uint64_t steps;
	uint64_t enomem;
	uint64_t violations;
	uint64_t first_bad_step;
};

/**
 * simmm_fault_sweep() - run a scenario with allocation N failing, N = 1, 2, ...
 * @cfg: configuration for each fresh instance (its fault settings are
 *       ignored); NULL means defaults.
 * @fn: the scenario.
 * @arg: passed to @fn.
 * @max_steps: give up after this many steps (0 = 1,000,000).
 * @out: filled with what was seen (may be NULL).
 *
 * For each N a fresh instance is created with SIMMM_FAULT_NTH at N (counted
 * from the end of create), @fn runs, simmm_check() must find no violation,
 * and destroy must find no leak. The sweep ends at the first N where @fn
 * returns 0 without the injector having failed anything.
 *
 * Return: 0 when every step was clean; -EUCLEAN when a violation or leak
 * was found (details in @out and on stderr); -E2BIG when @max_steps was
 * reached; -EINVAL for NULL @fn; a scenario's unexpected return value; or
 * an error from creating the instance.
 */
SIMMM_API int simmm_fault_sweep(const struct simmm_config *cfg, simmm_sweep_fn fn,
				void *arg, uint64_t max_steps,
				struct simmm_sweep_result *out);

/**
 * DOC: block pool for instances created one after another
 *
 * A fuzz harness, a fault sweep or a test suite creates and destroys an
 * instance per input, step or test; each instance's allocator then starts
 * on cold memory (a new jemalloc arena, or fresh pages from a sanitizer's
 * allocator), and faulting and zeroing it can cost more than the work.
 * A pool keeps the blocks destroyed instances freed, by exact size, and
 * gives them to the next: pass simmm_pool_allocator() as
 * simmm_config.custom_allocator (allocator = SIMMM_ALLOCATOR_CUSTOM).
 * Instances still account, inject failures and report leaks themselves;
 * what an instance does never depends on where its blocks came from.
 * Under ASan a cached block is poisoned until it is handed out again.
 *
 * Locking: none. A pool is used by one thread at a time: instances that
 * share it must not run concurrently (give each thread its own pool).
 */
struct simmm_pool;

/**
 * struct simmm_pool_stats - what a pool did.
 * @hits: allocations served from the cache.
 * @misses: allocations passed to malloc().
 * @live_blocks: blocks handed out and not yet freed.
 * @cached_blocks: blocks resting in the cache.
 * @cached_bytes: their bytes.
 * @released: blocks handed back to free() (cache full, trim, destroy).
 */
struct simmm_pool_stats {
	uint64_t hits;
	uint64_t misses;
	uint64_t live_blocks;
	uint64_t cached_blocks;
	uint64_t cached_bytes;
	uint64_t released;
};

/**
 * simmm_pool_create() - create an empty block pool.
 * @max_cached_bytes: cache at most this many bytes (0 = 64 MiB); a block
 *                    freed beyond it goes back to free().
 * @out: receives the pool; NULL on failure.
 *
 * Return: 0; -EINVAL for NULL @out; -ENOMEM.
 */
SIMMM_API int simmm_pool_create(size_t max_cached_bytes, struct simmm_pool **out);

/**
 * simmm_pool_allocator() - the pool as a custom allocator backend.
 * @pool: the pool (NULL gives NULL).
 *
 * Return: a vtable valid until simmm_pool_destroy(); every instance using
 * it must be destroyed before the pool.
 */
SIMMM_API const struct simmm_allocator *simmm_pool_allocator(struct simmm_pool *pool);

/**
 * simmm_pool_stats() - read a pool's counters.
 * Return: 0; -EINVAL for a NULL argument.
 */
SIMMM_API int simmm_pool_stats(const struct simmm_pool *pool, struct simmm_pool_stats *out);

/**
 * simmm_pool_trim() - hand every cached block back to free(); blocks in
 * use are not affected and the pool stays usable.
 * Return: 0; -EINVAL for NULL @pool.
 */
SIMMM_API int simmm_pool_trim(struct simmm_pool *pool);

/**
 * simmm_pool_destroy() - free the pool and its cached blocks.
 * @pool: the pool (NULL is a no-op returning 0).
 *
 * Return: 0; -EBUSY (nothing freed) while blocks are still in use, i.e. an
 * instance using the pool is alive.
 */
SIMMM_API int simmm_pool_destroy(struct simmm_pool *pool);

#ifdef __cplusplus
}
#endif
#endif
