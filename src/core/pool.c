// SPDX-License-Identifier: MIT
/*
 * A block pool shared by instances created one after another: the fuzz
 * harnesses, fault sweeps and test suites build and destroy an instance
 * per input or per step, and every instance used to start on cold memory
 * (a fresh jemalloc arena, or a sanitizer allocator's quarantine handing
 * out never-touched pages): host page faults and the zeroing of fresh
 * memory were a third of a small fuzz input's time. The pool keeps freed
 * blocks by exact size and hands them to the next instance.
 *
 * It is an ordinary custom backend (struct simmm_allocator): each instance
 * still accounts, injects failures and reports leaks above it, so nothing
 * an instance observes depends on whether its blocks came from the pool.
 * The pool's state belongs to the object the caller created; there is no
 * process-wide cache. Under ASan a cached block stays poisoned until it is
 * handed out again (first in, first out per size, so a block rests as long
 * as the cache allows): a stale pointer into a destroyed instance's memory
 * is still reported.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

#ifdef SIMMM_HAVE_ASAN
#include <sanitizer/asan_interface.h>
#define pool_poison(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define pool_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define pool_poison(p, n) ((void)(p), (void)(n))
#define pool_unpoison(p, n) ((void)(p), (void)(n))
#endif

#define POOL_CLASSES 64 /* distinct block sizes cached; others pass through */
#define POOL_DEFAULT_BYTES (64u << 20)

/* The cached blocks of one size: a FIFO ring that grows by doubling. */
struct pool_class {
	size_t size; /* 0 = unused slot */
	void **ring;
	size_t cap, head, nr;
};

struct simmm_pool {
	struct simmm_allocator vt;
	size_t max_bytes;
	struct simmm_pool_stats st;
	struct pool_class cls[POOL_CLASSES];
};

/* Open addressing on the exact size: a block is only ever reused for the
 * size it was allocated with, so ASan's redzone after it stays exact. */
static struct pool_class *class_of(struct simmm_pool *pool, size_t size, bool add)
{
	size_t h = (size * 0x9E3779B97F4A7C15ULL) >> 58; /* 6 bits: POOL_CLASSES */

	for (unsigned i = 0; i < POOL_CLASSES; i++) {
		struct pool_class *c = &pool->cls[(h + i) % POOL_CLASSES];

		if (c->size == size)
			return c;
		if (c->size == 0) {
			if (!add)
				return NULL;
			c->size = size;
			return c;
		}
	}
	return NULL; /* table full: the size passes through */
}

static void *pool_alloc(void *ctx, size_t size)
{
	struct simmm_pool *pool = ctx;
	struct pool_class *c = class_of(pool, size, false);
	void *p;

	if (c && c->nr) {
		p = c->ring[c->head];
		c->head = (c->head + 1) % c->cap;
		c->nr--;
		pool->st.cached_bytes -= size;
		pool->st.cached_blocks--;
		pool->st.hits++;
		pool_unpoison(p, size);
	} else {
		p = malloc(size ? size : 1);
		if (!p)
			return NULL;
		pool->st.misses++;
	}
	pool->st.live_blocks++;
	return p;
}

static bool class_grow(struct pool_class *c)
{
	size_t ncap = c->cap ? 2 * c->cap : 16;
	void **nr = malloc(ncap * sizeof(*nr));

	if (!nr)
		return false;
	for (size_t i = 0; i < c->nr; i++)
		nr[i] = c->ring[(c->head + i) % c->cap];
	free(c->ring);
	c->ring = nr;
	c->cap = ncap;
	c->head = 0;
	return true;
}

static void pool_free(void *ctx, void *ptr, size_t size)
{
	struct simmm_pool *pool = ctx;
	struct pool_class *c;

	if (!ptr)
		return;
	pool->st.live_blocks--;
	c = pool->st.cached_bytes + size <= pool->max_bytes ? class_of(pool, size, true) : NULL;
	if (!c || (c->nr == c->cap && !class_grow(c))) {
		free(ptr);
		pool->st.released++;
		return;
	}
	pool_poison(ptr, size);
	c->ring[(c->head + c->nr++) % c->cap] = ptr;
	pool->st.cached_bytes += size;
	pool->st.cached_blocks++;
}

int simmm_pool_create(size_t max_cached_bytes, struct simmm_pool **out)
{
	struct simmm_pool *pool;

	if (!out)
		return -EINVAL;
	*out = NULL;
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	pool->vt.alloc = pool_alloc;
	pool->vt.free = pool_free;
	pool->vt.ctx = pool;
	pool->max_bytes = max_cached_bytes ? max_cached_bytes : POOL_DEFAULT_BYTES;
	*out = pool;
	return 0;
}

const struct simmm_allocator *simmm_pool_allocator(struct simmm_pool *pool)
{
	return pool ? &pool->vt : NULL;
}

int simmm_pool_stats(const struct simmm_pool *pool, struct simmm_pool_stats *out)
{
	if (!pool || !out)
		return -EINVAL;
	*out = pool->st;
	return 0;
}

/* Hand every cached block back to libc (the pool stays usable). */
static void pool_drain(struct simmm_pool *pool)
{
	for (unsigned i = 0; i < POOL_CLASSES; i++) {
		struct pool_class *c = &pool->cls[i];

		while (c->nr) {
			void *p = c->ring[c->head];

			c->head = (c->head + 1) % c->cap;
			c->nr--;
			pool_unpoison(p, c->size);
			free(p);
			pool->st.released++;
		}
		free(c->ring);
		memset(c, 0, sizeof(*c));
	}
	pool->st.cached_bytes = 0;
	pool->st.cached_blocks = 0;
}

int simmm_pool_trim(struct simmm_pool *pool)
{
	if (!pool)
		return -EINVAL;
	pool_drain(pool);
	return 0;
}

int simmm_pool_destroy(struct simmm_pool *pool)
{
	if (!pool)
		return 0;
	if (pool->st.live_blocks)
		return -EBUSY;
	pool_drain(pool);
	free(pool);
	return 0;
}
