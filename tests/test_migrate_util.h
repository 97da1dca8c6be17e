/* SPDX-License-Identifier: MIT */
/*
 * A small fake device for the migration tests (lib/test_hmm.c's dmirror
 * reduced to what the tests need): a pagemap of device memory with a free
 * list threaded through zone_device_data, ->folio_free() putting pages
 * back, ->migrate_to_ram() migrating the faulting page home (or declining),
 * and helpers that migrate a range to the device, back, or evict it all.
 * Helpers return errors instead of asserting so task bodies can use them.
 */
#ifndef SIMMM_TEST_MIGRATE_UTIL_H
#define SIMMM_TEST_MIGRATE_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include <simmm/migrate.h>

struct tdev {
	struct simmm_dev_pagemap pgmap; /* first: container_of by cast */
	simmm_sim *sim;
	uint64_t psize;
	void *free_head;     /* free list through zone_device_data (pfn + 1) */
	uint64_t nfree;
	uint64_t frees;      /* ->folio_free() calls */
	uint64_t to_ram;     /* ->migrate_to_ram() calls */
	uint64_t to_ram_done;/* ... that migrated the page */
	bool decline;        /* ->migrate_to_ram() leaves dst 0 */
	bool no_backoff;     /* ... and never sleeps after a failure (upstream) */
	bool fail_alloc;     /* the next device allocation fails */
};

static inline void tdev_folio_free(struct simmm_dev_pagemap *pgmap, simmm_pfn_t pfn, unsigned order,
			    void *data)
{
	struct tdev *d = (struct tdev *)pgmap;

	(void)data;
	for (uint64_t i = 0; i < (1ULL << order); i++) {
		simmm_set_zone_device_data(d->sim, pfn + i, d->free_head);
		d->free_head = (void *)(uintptr_t)(pfn + i + 1);
		d->nfree++;
	}
	d->frees++;
}

/* A device page, locked with one reference (0 when none is left). */
static inline simmm_pfn_t tdev_alloc(struct tdev *d)
{
	simmm_pfn_t pfn;

	if (!d->free_head || d->fail_alloc) {
		d->fail_alloc = false;
		return 0;
	}
	pfn = (simmm_pfn_t)(uintptr_t)d->free_head - 1;
	d->free_head = simmm_zone_device_data(d->sim, pfn);
	d->nfree--;
	if (simmm_zone_device_page_init(d->sim, pfn))
		return 0;
	return pfn;
}

/* A locked system page with one reference, 0 on failure. */
static inline simmm_pfn_t tdev_sys_alloc(simmm_sim *sim)
{
	simmm_pfn_t pfn;

	if (simmm_page_alloc(sim, 0, &pfn))
		return 0;
	if (simmm_lock_page(sim, pfn)) {
		simmm_page_put(sim, pfn);
		return 0;
	}
	return pfn;
}

/* Copy each migrating source to a new page from @alloc (NULL: system). */
static inline void tdev_fill_dst(struct tdev *d, uint64_t *src, uint64_t *dst, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		simmm_pfn_t s = simmm_migrate_pfn_to_page(src[i]), p;

		dst[i] = 0;
		if (!(src[i] & SIMMM_MIGRATE_PFN_MIGRATE))
			continue;
		p = (s && simmm_is_zone_device_page(d->sim, s)) ? tdev_sys_alloc(d->sim) : tdev_alloc(d);
		if (!p)
			continue;
		/* In simmm a copy can fail (the destination's contents are
		 * allocated on first write): a careful driver then declines the
		 * page rather than migrating garbage (test_migrate_faultinj). */
		if (s && simmm_folio_copy(d->sim, p, s)) {
			simmm_unlock_page(d->sim, p);
			simmm_page_put(d->sim, p);
			continue;
		}
		dst[i] = simmm_migrate_pfn(p) | (src[i] & SIMMM_MIGRATE_PFN_WRITE);
	}
}

static inline unsigned tdev_migrate_to_ram(struct simmm_vm_fault *vmf)
{
	simmm_sim *sim = simmm_mm_sim(vmf->mm);
	struct tdev *d = (struct tdev *)simmm_page_pgmap(sim, vmf->page);
	uint64_t src = 0, dst = 0;
	struct simmm_migrate_vma m = {
		.vma = vmf->vma, .src = &src, .dst = &dst, .start = vmf->address,
		.end = vmf->address + d->psize, .pgmap_owner = d,
		.flags = SIMMM_MIGRATE_VMA_SELECT_DEVICE_PRIVATE, .fault_page = vmf->page,
	};

	d->to_ram++;
	if (simmm_migrate_vma_setup(&m))
		return SIMMM_VM_FAULT_SIGBUS;
	if (!d->decline)
		tdev_fill_dst(d, &src, &dst, 1);
	simmm_migrate_vma_pages(&m);
	d->to_ram_done += (src & SIMMM_MIGRATE_PFN_MIGRATE) != 0;
	simmm_migrate_vma_finalize(&m);
	/* A transient failure (someone else still holds a reference, e.g. a
	 * migration between its unlock and its put): back off before the
	 * CPU refaults, as a real CPU would be preempted (PCT never would). */
	if (m.cpages && dst && !(src & SIMMM_MIGRATE_PFN_MIGRATE) && simmm_sched_current(sim) &&
	    !d->no_backoff)
		simmm_sched_sleep(sim, 1);
	/* A device page the driver cannot bring back: SIGBUS, as upstream. */
	return (m.cpages && !dst) ? SIMMM_VM_FAULT_SIGBUS : 0;
}

static const struct simmm_dev_pagemap_ops tdev_ops = {
	.folio_free = tdev_folio_free,
	.migrate_to_ram = tdev_migrate_to_ram,
};

/* A device with @npages frames of @type, all on the free list. */
static inline int tdev_init(struct tdev *d, simmm_sim *sim, enum simmm_memtype type, uint64_t npages)
{
	int err;

	memset(d, 0, sizeof(*d));
	d->sim = sim;
	d->psize = 1ULL << simmm_sim_geometry(sim)->page_shift;
	d->pgmap.type = type;
	d->pgmap.ops = &tdev_ops;
	d->pgmap.owner = d;
	err = simmm_memremap_pages(sim, &d->pgmap, npages);
	if (err)
		return err;
	for (uint64_t i = npages; i-- > 0;) {
		simmm_set_zone_device_data(sim, d->pgmap.start_pfn + i, d->free_head);
		d->free_head = (void *)(uintptr_t)(d->pgmap.start_pfn + i + 1);
		d->nfree++;
	}
	return 0;
}

/* setup + copy + pages + finalize over [start, start + n pages); *cpages
 * gets the entries that migrated. The mmap lock is taken here. */
static inline int tdev_migrate(struct tdev *d, struct simmm_mm *mm, uint64_t start, uint64_t n,
			uint64_t flags, uint64_t *migrated)
{
	uint64_t *src = calloc(n, sizeof(*src)), *dst = calloc(n, sizeof(*dst));
	struct simmm_migrate_vma m = {.src = src, .dst = dst, .start = start,
				      .end = start + n * d->psize, .pgmap_owner = d,
				      .flags = flags};
	int err = simmm_mmap_read_lock(mm);

	if (err)
		goto out;
	m.vma = simmm_vma_lookup(mm, start);
	err = simmm_migrate_vma_setup(&m);
	if (!err) {
		tdev_fill_dst(d, src, dst, n);
		simmm_migrate_vma_pages(&m);
		*migrated = 0;
		for (uint64_t i = 0; i < n; i++)
			*migrated += (src[i] & SIMMM_MIGRATE_PFN_MIGRATE) != 0;
		simmm_migrate_vma_finalize(&m);
	}
	simmm_mmap_read_unlock(mm);
out:
	free(src);
	free(dst);
	return err;
}

/* Evict every page of the device to system memory (dmirror RELEASE). */
static inline int tdev_evict(struct tdev *d)
{
	uint64_t n = d->pgmap.nr_pages;
	uint64_t *src = calloc(n, sizeof(*src)), *dst = calloc(n, sizeof(*dst));
	int err = simmm_migrate_device_range(d->sim, src, d->pgmap.start_pfn, n);

	if (!err) {
		tdev_fill_dst(d, src, dst, n);
		err = simmm_migrate_device_pages(d->sim, src, dst, n);
		simmm_migrate_device_finalize(d->sim, src, dst, n);
	}
	free(src);
	free(dst);
	return err;
}

/* The entry mapping @addr (0 if none). */
static inline simmm_entry_t tu_pte(struct simmm_mm *mm, uint64_t addr)
{
	struct simmm_translation t;

	if (simmm_pgtable_translate(simmm_mm_pgtable(mm), addr, &t))
		return 0;
	return t.entry;
}

/* Fill page i of [a, a + n pages) with byte (seed + i) via CPU stores. */
static inline int tu_fill(struct simmm_mm *mm, uint64_t a, uint64_t n, uint64_t psize, int seed)
{
	char *buf = malloc(psize);
	int err = 0;

	for (uint64_t i = 0; i < n && !err; i++) {
		memset(buf, (int)(seed + i) & 0xff, psize);
		err = simmm_mm_access(mm, a + i * psize, buf, psize, SIMMM_ACCESS_WRITE);
	}
	free(buf);
	return err;
}

/* Check page i holds byte (seed + i) via CPU loads: 0, -EIO or the error. */
static inline int tu_verify(struct simmm_mm *mm, uint64_t a, uint64_t n, uint64_t psize, int seed)
{
	unsigned char *buf = malloc(psize);
	int err = 0;

	for (uint64_t i = 0; i < n && !err; i++) {
		err = simmm_mm_access(mm, a + i * psize, buf, psize, SIMMM_ACCESS_READ);
		for (uint64_t k = 0; !err && k < psize; k++)
			if (buf[k] != (unsigned char)((seed + i) & 0xff))
				err = -EIO;
	}
	free(buf);
	return err;
}

#endif
