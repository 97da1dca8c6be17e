// SPDX-License-Identifier: MIT
/*
 * Device migration benchmarks (migrate_vma setup + pages + finalize, the
 * driver's allocation included, in chunks of 512 pages as lib/test_hmm.c's
 * dmirror migrates), each with and without the data copy:
 *  migrate.to_device_2m   512 written anonymous pages -> device-private
 *  migrate.to_device_1g   262144 pages -> device-private
 *  migrate.to_system_1g   those device pages back to system memory
 *  migrate.to_device_thp_1g / migrate.to_system_thp_1g  the same 1 GiB as
 *                         512 THPs moved as units (SELECT_COMPOUND, device
 *                         THPs, PMD migration entries; 6.19+)
 * Lines carry pages_per_s and copy (true: contents allocated and copied
 * page by page; false: a SIMMM_CFG_NO_CONTENTS machine, no copy calls).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <simmm/migrate.h>

#include "bench.h"

void bench_migrate(const struct bench_opts *o);

#define CHUNK 512

struct mctx {
	struct simmm_dev_pagemap pg; /* first: container_of by cast */
	simmm_sim *sim;
	struct simmm_mm *mm;
	uint64_t a, n, ps;
	simmm_pfn_t *free;           /* device free stack (folio heads) */
	uint64_t nfree;
	bool copy;
	bool thp;                    /* THPs and device THPs of PMD order */
	unsigned order;              /* of the folios migrated */
};

static void dev_free(struct simmm_dev_pagemap *pg, simmm_pfn_t pfn, unsigned order, void *data)
{
	struct mctx *c = (struct mctx *)pg;

	(void)order;
	(void)data;
	c->free[c->nfree++] = pfn;
}

static unsigned dev_fault(struct simmm_vm_fault *vmf)
{
	(void)vmf;
	return SIMMM_VM_FAULT_SIGBUS; /* never reached: nothing faults */
}

static const struct simmm_dev_pagemap_ops dev_ops = {.folio_free = dev_free,
						     .migrate_to_ram = dev_fault};

static int ctx_init(struct mctx *c, uint64_t n, bool copy, bool thp)
{
	simmm_config cfg;
	uint64_t pmd;
	char *buf;
	int err = 0;

	memset(c, 0, sizeof(*c));
	simmm_config_init(&cfg);
	cfg.ram_bytes = 4ULL << 30;
	cfg.flags = copy ? 0 : SIMMM_CFG_NO_CONTENTS;
	if (simmm_sim_create(&cfg, &c->sim) || simmm_mm_create(c->sim, &c->mm))
		return -1;
	simmm_lockdep_enable(c->sim, false);
	c->ps = 1ULL << simmm_sim_geometry(c->sim)->page_shift;
	c->n = n;
	c->copy = copy;
	c->thp = thp;
	if (thp)
		c->order = (unsigned)(simmm_sim_geometry(c->sim)->level[SIMMM_LVL_PMD].shift -
				      simmm_sim_geometry(c->sim)->page_shift);
	c->free = calloc(n, sizeof(*c->free));
	c->pg.type = SIMMM_MEM_DEVICE_PRIVATE;
	c->pg.ops = &dev_ops;
	c->pg.owner = c;
	if (!c->free || simmm_memremap_pages(c->sim, &c->pg, n))
		return -1;
	for (uint64_t i = n >> c->order; i-- > 0;)
		c->free[c->nfree++] = c->pg.start_pfn + (i << c->order);
	/* PMD aligned: map twice the size and use the aligned half. */
	if (simmm_mmap(c->mm, 0, 2 * n * c->ps, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
		       SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS, NULL, 0, &c->a))
		return -1;
	pmd = 1ULL << simmm_sim_geometry(c->sim)->level[SIMMM_LVL_PMD].shift;
	c->a = (c->a + pmd - 1) & ~(pmd - 1);
	if (simmm_madvise(c->mm, c->a, n * c->ps,
			  thp ? SIMMM_MADV_HUGEPAGE : SIMMM_MADV_NOHUGEPAGE))
		return -1;
	buf = malloc(c->ps);
	for (uint64_t i = 0; buf && i < n && !err; i++) {
		memset(buf, (int)i, c->ps);
		err = simmm_mm_access(c->mm, c->a + i * c->ps, buf, c->ps, SIMMM_ACCESS_WRITE);
	}
	free(buf);
	return err || !buf ? -1 : 0;
}

static void ctx_fini(struct mctx *c)
{
	if (c->mm)
		simmm_mmput(c->mm);
	if (c->pg.sim)
		simmm_memunmap_pages(&c->pg);
	if (c->sim)
		simmm_sim_destroy(&c->sim);
	free(c->free);
}

/* The driver's allocation and copy for one chunk. */
static void fill(struct mctx *c, const uint64_t *src, uint64_t *dst, uint64_t n, bool to_dev)
{
	for (uint64_t i = 0; i < n; i++) {
		simmm_pfn_t s = simmm_migrate_pfn_to_page(src[i]), d = 0;

		dst[i] = 0;
		if (!(src[i] & SIMMM_MIGRATE_PFN_MIGRATE))
			continue;
		if (to_dev) {
			if (!c->nfree)
				continue;
			d = c->free[--c->nfree];
			if (simmm_zone_device_folio_init(c->sim, d, c->order))
				continue;
		} else if (simmm_page_alloc(c->sim, c->order, &d) || simmm_lock_page(c->sim, d)) {
			continue;
		}
		if (c->copy && s)
			simmm_folio_copy(c->sim, d, s);
		dst[i] = simmm_migrate_pfn(d) | (c->thp ? SIMMM_MIGRATE_PFN_COMPOUND : 0);
	}
}

/* Migrate the whole range; returns ns, or -1 if a page did not move. */
static double migrate_all(struct mctx *c, bool to_dev)
{
	uint64_t src[CHUNK], dst[CHUNK], moved = 0, t0;
	struct simmm_migrate_vma m = {.src = src, .dst = dst, .pgmap_owner = c,
				      .flags = to_dev ? SIMMM_MIGRATE_VMA_SELECT_SYSTEM
						      : SIMMM_MIGRATE_VMA_SELECT_DEVICE_PRIVATE};

	if (c->thp)
		m.flags |= SIMMM_MIGRATE_VMA_SELECT_COMPOUND;
	t0 = bench_now_ns();
	simmm_mmap_read_lock(c->mm);
	m.vma = simmm_vma_lookup(c->mm, c->a);
	for (uint64_t off = 0; off < c->n; off += CHUNK) {
		uint64_t n = c->n - off < CHUNK ? c->n - off : CHUNK;

		m.start = c->a + off * c->ps;
		m.end = m.start + n * c->ps;
		if (simmm_migrate_vma_setup(&m))
			break;
		fill(c, src, dst, n, to_dev);
		simmm_migrate_vma_pages(&m);
		for (uint64_t i = 0; i < n; i++)
			if (src[i] & SIMMM_MIGRATE_PFN_MIGRATE)
				moved += (src[i] & SIMMM_MIGRATE_PFN_COMPOUND) ? 1ULL << c->order : 1;
		simmm_migrate_vma_finalize(&m);
	}
	simmm_mmap_read_unlock(c->mm);
	return moved == c->n ? (double)(bench_now_ns() - t0) : -1;
}

static void emit(const char *name, uint64_t pages, double ns, bool copy)
{
	char extra[96];

	if (ns < 0) {
		bench_emit_error(name, pages, NULL, "not every page migrated");
		return;
	}
	snprintf(extra, sizeof(extra), ",\"pages_per_s\":%.0f,\"copy\":%s",
		 pages / (ns / 1e9), copy ? "true" : "false");
	bench_emit(name, pages, ns / pages, NULL, extra);
}

static void bench_2m(const struct bench_opts *o, bool copy)
{
	unsigned reps = o->quick ? 5 : 25;
	double v[32], best;
	struct mctx c;

	if (ctx_init(&c, CHUNK, copy, false)) {
		bench_emit_error("migrate.to_device_2m", CHUNK, NULL, "setup failed");
		ctx_fini(&c);
		return;
	}
	for (unsigned r = 0; r < reps; r++) {
		v[r] = migrate_all(&c, true);
		if (v[r] < 0 || migrate_all(&c, false) < 0) {
			emit("migrate.to_device_2m", CHUNK, -1, copy);
			ctx_fini(&c);
			return;
		}
	}
	emit("migrate.to_device_2m", CHUNK, bench_median(v, reps, &best), copy);
	ctx_fini(&c);
}

static void bench_1g(bool copy, bool thp)
{
	const uint64_t n = (1ULL << 30) >> 12;
	struct mctx c;

	if (ctx_init(&c, n, copy, thp)) {
		bench_emit_error(thp ? "migrate.to_device_thp_1g" : "migrate.to_device_1g", n, NULL,
				 "setup failed");
		ctx_fini(&c);
		return;
	}
	emit(thp ? "migrate.to_device_thp_1g" : "migrate.to_device_1g", n, migrate_all(&c, true),
	     copy);
	emit(thp ? "migrate.to_system_thp_1g" : "migrate.to_system_1g", n, migrate_all(&c, false),
	     copy);
	ctx_fini(&c);
}

void bench_migrate(const struct bench_opts *o)
{
	for (int copy = 1; copy >= 0; copy--) {
		bench_2m(o, copy);
		bench_1g(copy, false);
		bench_1g(copy, true);
	}
}
