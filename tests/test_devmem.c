// SPDX-License-Identifier: MIT
/*
 * Device memory (memremap_pages): ranges above RAM with their own struct
 * pages, the per-type checks, ZONE_DEVICE refcount rules (free callback at
 * zero, zone_device_page_init / folio_init), zone_device_data, and
 * memunmap_pages refusing or waiting for pages still in use.
 */
#include "test_migrate_util.h"

static simmm_sim *new_sim(void)
{
	return tu_sim_new(NULL, 64ULL << 20, tu_seed());
}

static void memremap_validation(void **state)
{
	simmm_sim *sim = new_sim();
	struct simmm_dev_pagemap pg = {0};
	struct simmm_dev_pagemap_ops no_free = {.migrate_to_ram = tdev_migrate_to_ram};
	struct simmm_dev_pagemap_ops no_fault = {.folio_free = tdev_folio_free};
	int owner;

	(void)state;
	pg.type = SIMMM_MEM_DEVICE_PRIVATE;
	pg.ops = &tdev_ops;
	pg.owner = &owner;
	assert_int_equal(simmm_memremap_pages(NULL, &pg, 16), -EINVAL);
	assert_int_equal(simmm_memremap_pages(sim, NULL, 16), -EINVAL);
	assert_int_equal(simmm_memremap_pages(sim, &pg, 0), -EINVAL);
	assert_int_equal(simmm_memremap_pages(sim, &pg, SIMMM_DEVMEM_MAX_PAGES + 1), -EINVAL);
	pg.owner = NULL; /* private needs an owner */
	assert_int_equal(simmm_memremap_pages(sim, &pg, 16), -EINVAL);
	pg.owner = &owner;
	pg.ops = &no_free;
	assert_int_equal(simmm_memremap_pages(sim, &pg, 16), -EINVAL);
	pg.ops = &no_fault; /* private needs migrate_to_ram */
	assert_int_equal(simmm_memremap_pages(sim, &pg, 16), -EINVAL);
	pg.type = SIMMM_MEM_DEVICE_COHERENT; /* coherent does not */
	assert_int_equal(simmm_memremap_pages(sim, &pg, 16), 0);
	assert_int_equal(simmm_memremap_pages(sim, &pg, 16), -EBUSY);
	assert_int_equal(simmm_memunmap_pages(&pg), 0);
	assert_int_equal(simmm_memunmap_pages(&pg), -EINVAL);
	assert_int_equal(simmm_memunmap_pages(NULL), -EINVAL);
	pg.type = (enum simmm_memtype)0; /* 0 is reserved */
	assert_int_equal(simmm_memremap_pages(sim, &pg, 16), -EINVAL);
	pg.type = (enum simmm_memtype)99;
	assert_int_equal(simmm_memremap_pages(sim, &pg, 16), -EINVAL);
	/* DAX, generic and p2pdma register without ops. */
	for (int t = SIMMM_MEM_FS_DAX; t <= SIMMM_MEM_PCI_P2PDMA; t++) {
		struct simmm_dev_pagemap g = {.type = (enum simmm_memtype)t};

		assert_int_equal(simmm_memremap_pages(sim, &g, 8), 0);
		assert_true(simmm_is_zone_device_page(sim, g.start_pfn));
		assert_int_equal(simmm_is_fsdax_page(sim, g.start_pfn), t == SIMMM_MEM_FS_DAX);
		assert_int_equal(simmm_is_pci_p2pdma_page(sim, g.start_pfn),
				 t == SIMMM_MEM_PCI_P2PDMA);
		TU_CHECK(sim);
		assert_int_equal(simmm_memunmap_pages(&g), 0);
	}
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

static void ranges_above_ram(void **state)
{
	simmm_sim *sim = new_sim();
	struct tdev a, b;
	struct simmm_page_info info;
	uint64_t ram = (64ULL << 20) >> simmm_sim_geometry(sim)->page_shift;

	(void)state;
	TU_ASSERT_OK(tdev_init(&a, sim, SIMMM_MEM_DEVICE_PRIVATE, 100));
	TU_ASSERT_OK(tdev_init(&b, sim, SIMMM_MEM_DEVICE_COHERENT, 50));
	assert_true(a.pgmap.start_pfn >= ram);
	assert_int_equal(a.pgmap.nr_pages, 100);
	assert_true(b.pgmap.start_pfn >= a.pgmap.start_pfn + 100);
	assert_int_equal(a.pgmap.start_pfn % 512, 0); /* device THPs can be aligned */
	assert_ptr_equal(simmm_page_pgmap(sim, a.pgmap.start_pfn + 99), &a.pgmap);
	assert_ptr_equal(simmm_page_pgmap(sim, b.pgmap.start_pfn), &b.pgmap);
	assert_null(simmm_page_pgmap(sim, a.pgmap.start_pfn + 100));
	assert_null(simmm_page_pgmap(sim, 5));
	assert_true(simmm_is_device_private_page(sim, a.pgmap.start_pfn));
	assert_false(simmm_is_device_private_page(sim, b.pgmap.start_pfn));
	assert_true(simmm_is_device_coherent_page(sim, b.pgmap.start_pfn));
	assert_false(simmm_is_zone_device_page(sim, 5));
	assert_false(simmm_is_zone_device_page(NULL, a.pgmap.start_pfn));
	/* Device frames start free; page_info sees them. */
	TU_ASSERT_OK(simmm_page_info(sim, a.pgmap.start_pfn, &info));
	assert_true(info.free);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_memunmap_pages(&a.pgmap));
	TU_ASSERT_OK(simmm_memunmap_pages(&b.pgmap));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

static void refcount_rules(void **state)
{
	simmm_sim *sim = new_sim();
	struct tdev d;
	struct simmm_page_info info;
	simmm_pfn_t p;
	int cookie;
	char buf[8] = "device", out[8];

	(void)state;
	TU_ASSERT_OK(tdev_init(&d, sim, SIMMM_MEM_DEVICE_PRIVATE, 8));
	p = tdev_alloc(&d);
	assert_int_not_equal(p, 0);
	TU_ASSERT_OK(simmm_page_info(sim, p, &info));
	assert_false(info.free);
	assert_int_equal(info.refcount, 1);
	assert_int_equal(info.memtype, SIMMM_MEM_DEVICE_PRIVATE);
	assert_true(info.flags & 1u); /* PG_locked: handed out locked */
	assert_int_equal(simmm_zone_device_page_init(sim, p), -EBUSY);
	assert_int_equal(simmm_zone_device_page_init(sim, 7), -EINVAL);
	assert_int_equal(simmm_zone_device_folio_init(sim, p, 40), -EINVAL);
	TU_ASSERT_OK(simmm_page_write(sim, p, 0, buf, sizeof(buf)));
	TU_ASSERT_OK(simmm_page_read(sim, p, 0, out, sizeof(out)));
	assert_memory_equal(buf, out, sizeof(buf));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_page_get(sim, p));
	assert_int_equal(simmm_page_put(sim, p), 1);
	TU_ASSERT_OK(simmm_unlock_page(sim, p));
	assert_int_equal(simmm_unlock_page(sim, p), -EINVAL);
	/* zone_device_data survives the free (the driver's free list). */
	TU_ASSERT_OK(simmm_set_zone_device_data(sim, p, &cookie));
	assert_ptr_equal(simmm_zone_device_data(sim, p), &cookie);
	assert_int_equal(simmm_page_put(sim, p), 0); /* -> ->folio_free, not the buddy */
	assert_int_equal(d.frees, 1);
	assert_int_equal(d.nfree, 8);
	TU_ASSERT_OK(simmm_page_info(sim, p, &info));
	assert_true(info.free);
	assert_false(info.has_contents);
	assert_int_equal(simmm_set_zone_device_data(sim, 3, NULL), -EINVAL);
	assert_null(simmm_zone_device_data(sim, 3));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_memunmap_pages(&d.pgmap));
	tu_sim_free(&sim);
}

static void folio_init_orders(void **state)
{
	simmm_sim *sim = new_sim();
	struct tdev d;
	struct simmm_page_info info;
	simmm_pfn_t base;

	(void)state;
	TU_ASSERT_OK(tdev_init(&d, sim, SIMMM_MEM_DEVICE_PRIVATE, 1024));
	base = d.pgmap.start_pfn;
	assert_int_equal(simmm_zone_device_folio_init(sim, base + 1, 9), -EINVAL); /* misaligned */
	TU_ASSERT_OK(simmm_zone_device_folio_init(sim, base + 512, 9));
	TU_ASSERT_OK(simmm_page_info(sim, base + 700, &info));
	assert_int_equal(info.head_pfn, base + 512);
	assert_int_equal(info.order, 9);
	assert_int_equal(simmm_zone_device_page_init(sim, base + 600), -EBUSY);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_unlock_page(sim, base + 512));
	assert_int_equal(simmm_page_put(sim, base + 513), 0);
	assert_int_equal(d.frees, 1);
	TU_ASSERT_OK(simmm_zone_device_page_init(sim, base + 600)); /* taken apart on free */
	TU_ASSERT_OK(simmm_unlock_page(sim, base + 600));
	simmm_page_put(sim, base + 600);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_memunmap_pages(&d.pgmap));
	tu_sim_free(&sim);
}

struct unmap_ctx {
	struct tdev *d;
	simmm_pfn_t p;
	int ret;
	bool freed_before_return;
};

static void unmapper(simmm_sim *sim, void *arg)
{
	struct unmap_ctx *c = arg;

	(void)sim;
	c->ret = simmm_memunmap_pages(&c->d->pgmap);
	c->freed_before_return = c->d->frees == 1;
}

static void releaser(simmm_sim *sim, void *arg)
{
	struct unmap_ctx *c = arg;

	simmm_sched_sleep(sim, 5);
	simmm_unlock_page(sim, c->p);
	simmm_page_put(sim, c->p);
}

static void memunmap_busy(void **state)
{
	simmm_sim *sim = new_sim();
	struct tdev d;
	struct unmap_ctx c = {.d = &d};

	(void)state;
	TU_ASSERT_OK(tdev_init(&d, sim, SIMMM_MEM_DEVICE_PRIVATE, 4));
	c.p = tdev_alloc(&d);
	/* Outside a task nothing could drop the reference: refuse, report. */
	assert_int_equal(simmm_memunmap_pages(&d.pgmap), -EBUSY);
	assert_int_equal(simmm_reports_count(sim, SIMMM_REPORT_WARN), 1);
	simmm_reports_clear(sim);
	assert_int_equal(simmm_zone_device_page_init(sim, c.p + 1), 0); /* not dying */
	TU_ASSERT_OK(simmm_unlock_page(sim, c.p + 1));
	simmm_page_put(sim, c.p + 1);
	/* In a task it waits (wait_for_completion(&pgmap->done)). */
	d.frees = 0;
	assert_true(simmm_sched_spawn(sim, "unmap", unmapper, &c) > 0);
	assert_true(simmm_sched_spawn(sim, "release", releaser, &c) > 0);
	TU_ASSERT_OK(simmm_sched_run(sim, 0));
	assert_int_equal(c.ret, 0);
	assert_true(c.freed_before_return);
	assert_null(simmm_page_pgmap(sim, c.p));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/*
 * memunmap_pages() completes only after the last page's ->folio_free()
 * returned: upstream drops the page's pgmap reference after the driver's
 * callback. A callback that sleeps (dmirror takes its lock) must not let
 * a waiting memunmap_pages() free the range under the freeing task. The
 * waiter is woken meanwhile by the last free of another device's range
 * (one wait queue serves all ranges). Found by fuzz_races: a dmirror
 * RELEASE freed the range while exit_mmap() was still in devmem_free
 * (input dmirror-release-vs-exit-devmem-free).
 */
struct slow_free {
	struct tdev a, b;
	simmm_pfn_t pa, pb;
	bool unmapped;          /* memunmap_pages(&a) returned */
	bool unmapped_in_free;  /* ... while a's ->folio_free() still ran */
	int ret;
};

static void slow_folio_free(struct simmm_dev_pagemap *pgmap, simmm_pfn_t pfn, unsigned order,
			    void *data)
{
	struct slow_free *sf = (struct slow_free *)pgmap; /* a is the first member */

	tdev_folio_free(pgmap, pfn, order, data);
	simmm_sched_sleep(sf->a.sim, 10); /* the driver's lock, say */
	sf->unmapped_in_free |= sf->unmapped;
}

static const struct simmm_dev_pagemap_ops slow_ops = {
	.folio_free = slow_folio_free,
	.migrate_to_ram = tdev_migrate_to_ram,
};

static void sf_unmapper(simmm_sim *sim, void *arg)
{
	struct slow_free *sf = arg;

	(void)sim;
	sf->ret = simmm_memunmap_pages(&sf->a.pgmap);
	sf->unmapped = true;
}

static void sf_put_a(simmm_sim *sim, void *arg)
{
	struct slow_free *sf = arg;

	simmm_sched_sleep(sim, 1);
	simmm_page_put(sim, sf->pa); /* sleeps in slow_folio_free() */
}

static void sf_put_b(simmm_sim *sim, void *arg)
{
	struct slow_free *sf = arg;

	simmm_sched_sleep(sim, 5); /* inside a's callback */
	simmm_page_put(sim, sf->pb); /* b's last page: wakes the waiters */
}

static void memunmap_waits_for_folio_free(void **state)
{
	simmm_sim *sim = new_sim();
	struct slow_free sf;

	(void)state;
	memset(&sf, 0, sizeof(sf));
	TU_ASSERT_OK(tdev_init(&sf.a, sim, SIMMM_MEM_DEVICE_PRIVATE, 4));
	sf.a.pgmap.ops = &slow_ops;
	TU_ASSERT_OK(tdev_init(&sf.b, sim, SIMMM_MEM_DEVICE_PRIVATE, 4));
	sf.pa = tdev_alloc(&sf.a);
	sf.pb = tdev_alloc(&sf.b);
	assert_int_not_equal(sf.pa, 0);
	assert_int_not_equal(sf.pb, 0);
	TU_ASSERT_OK(simmm_unlock_page(sim, sf.pa));
	TU_ASSERT_OK(simmm_unlock_page(sim, sf.pb));
	TU_CHECK(sim);
	assert_true(simmm_sched_spawn(sim, "unmap", sf_unmapper, &sf) > 0);
	assert_true(simmm_sched_spawn(sim, "put-a", sf_put_a, &sf) > 0);
	assert_true(simmm_sched_spawn(sim, "put-b", sf_put_b, &sf) > 0);
	TU_ASSERT_OK(simmm_sched_run(sim, 0));
	assert_int_equal(sf.ret, 0);
	assert_true(sf.unmapped);
	assert_false(sf.unmapped_in_free);
	assert_int_equal(sf.a.frees, 1);
	assert_int_equal(sf.b.frees, 1);
	assert_null(simmm_page_pgmap(sim, sf.pa));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_memunmap_pages(&sf.b.pgmap));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(memremap_validation),
		cmocka_unit_test(ranges_above_ram),
		cmocka_unit_test(refcount_rules),
		cmocka_unit_test(folio_init_orders),
		cmocka_unit_test(memunmap_busy),
		cmocka_unit_test(memunmap_waits_for_folio_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
