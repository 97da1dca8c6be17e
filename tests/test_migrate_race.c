// SPDX-License-Identifier: MIT
/*
 * Migration races on the deterministic scheduler, each run over many
 * random and PCT schedules (SIMMM_SEED / SIMMM_ITERS replay and widen):
 *  - a CPU fault during a migration waits on the migration entry and then
 *    sees the new page;
 *  - a CPU fault filling a collected hole before migrate_vma_pages wins
 *    (the insert backs off), and MADV_DONTNEED racing the migration leaves
 *    the range empty;
 *  - a GUP pin taken before the unmap keeps the page where it is;
 *  - two devices migrating the same range;
 *  - eviction of device memory racing CPU fault-backs.
 * Task bodies only record; the assertions run after simmm_sched_run().
 */
#include "test_migrate_util.h"

#define RW (SIMMM_PROT_READ | SIMMM_PROT_WRITE)
#define ANON (SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS)
#define SYS SIMMM_MIGRATE_VMA_SELECT_SYSTEM
#define DEVP SIMMM_MIGRATE_VMA_SELECT_DEVICE_PRIVATE
#define NP 4

struct race {
	simmm_sim *sim;
	struct simmm_mm *mm;
	struct tdev dev, dev2;
	uint64_t ps, a;
	/* results, recorded by the tasks */
	int err_dev, err_dev2, err_cpu;
	uint64_t migrated, migrated2;
	uint64_t cleared_by_cpu;   /* collected holes the CPU filled first */
	bool pinned_before_setup;
	bool pinned;
	simmm_pfn_t pin_pfn;
	int yields;
};

static struct race *race_new(uint64_t seed, enum simmm_sched_policy pol)
{
	struct race *r = calloc(1, sizeof(*r));
	struct simmm_sched_config cfg;

	r->sim = tu_sim_new(NULL, 64ULL << 20, seed);
	r->ps = 1ULL << simmm_sim_geometry(r->sim)->page_shift;
	simmm_lockdep_enable(r->sim, true);
	TU_ASSERT_OK(simmm_mm_create(r->sim, &r->mm));
	TU_ASSERT_OK(tdev_init(&r->dev, r->sim, SIMMM_MEM_DEVICE_PRIVATE, 64));
	TU_ASSERT_OK(tdev_init(&r->dev2, r->sim, SIMMM_MEM_DEVICE_PRIVATE, 64));
	TU_ASSERT_OK(simmm_mmap(r->mm, 0, NP * r->ps, RW, ANON, NULL, 0, &r->a));
	simmm_sched_config_init(r->sim, &cfg);
	cfg.policy = pol;
	cfg.seed = seed;
	TU_ASSERT_OK(simmm_sched_configure(r->sim, &cfg));
	r->yields = 3;
	return r;
}

static void race_free(struct race *r)
{
	TU_CHECK(r->sim);
	TU_ASSERT_OK(simmm_mmput(r->mm));
	TU_ASSERT_OK(tdev_evict(&r->dev));
	TU_ASSERT_OK(simmm_memunmap_pages(&r->dev.pgmap));
	TU_ASSERT_OK(simmm_memunmap_pages(&r->dev2.pgmap));
	tu_sim_free(&r->sim);
	free(r);
}

static void run(struct race *r)
{
	int ret = simmm_sched_run(r->sim, 1000000);

	if (ret != SIMMM_SCHED_DONE)
		fail_msg("schedule did not finish: %d (seed %llu)", ret,
			 (unsigned long long)simmm_sim_seed(r->sim));
	TU_CHECK(r->sim);
}

/* The device: setup, "copy" (scheduling points), pages, finalize. */
static int device_migrate(struct race *r, struct tdev *d, uint64_t flags, uint64_t *migrated,
			  bool count_cpu_wins)
{
	uint64_t src[NP], dst[NP];
	struct simmm_migrate_vma m = {.src = src, .dst = dst, .start = r->a,
				      .end = r->a + NP * r->ps, .pgmap_owner = d, .flags = flags};
	int err = simmm_mmap_read_lock(r->mm);

	if (err)
		return err;
	m.vma = simmm_vma_lookup(r->mm, r->a);
	if (r->pinned)
		r->pinned_before_setup = true;
	err = simmm_migrate_vma_setup(&m);
	if (!err) {
		for (int i = 0; i < r->yields; i++)
			simmm_sched_yield(r->sim);
		tdev_fill_dst(d, src, dst, NP);
		simmm_migrate_vma_pages(&m);
		for (int i = 0; i < NP; i++) {
			*migrated += (src[i] & SIMMM_MIGRATE_PFN_MIGRATE) != 0;
			if (count_cpu_wins && dst[i] && !simmm_migrate_pfn_to_page(src[i]) &&
			    !(src[i] & SIMMM_MIGRATE_PFN_MIGRATE))
				r->cleared_by_cpu++;
		}
		simmm_migrate_vma_finalize(&m);
	}
	simmm_mmap_read_unlock(r->mm);
	return err;
}

static void task_dev_to_sys(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	(void)sim;
	r->err_dev = device_migrate(r, &r->dev, DEVP, &r->migrated, false);
}

static void task_dev_to_dev(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	(void)sim;
	r->err_dev = device_migrate(r, &r->dev, SYS, &r->migrated, true);
}

static void task_dev2_to_dev(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	(void)sim;
	r->err_dev2 = device_migrate(r, &r->dev2, SYS, &r->migrated2, true);
}

static void task_cpu_read(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	(void)sim;
	r->err_cpu = tu_verify(r->mm, r->a, NP, r->ps, 40);
}

static void task_cpu_write(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	(void)sim;
	r->err_cpu = tu_fill(r->mm, r->a, NP, r->ps, 50);
}

static void task_dontneed(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	(void)sim;
	r->err_cpu = simmm_madvise(r->mm, r->a, NP * r->ps, SIMMM_MADV_DONTNEED);
}

static void task_pin(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	if (simmm_pin_user_pages(r->mm, r->a, 1, SIMMM_FOLL_WRITE, &r->pin_pfn) != 1) {
		r->err_cpu = -EFAULT;
		return;
	}
	r->pinned = true; /* kept until after the run */
	(void)sim;
}

static void task_evict(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	(void)sim;
	r->err_dev = tdev_evict(&r->dev);
}

typedef void (*race_body)(struct race *r, uint64_t seed, enum simmm_sched_policy pol,
			  uint64_t *hits);

static void for_schedules(race_body body, uint64_t *hits)
{
	uint64_t iters = tu_iters(40), base = tu_seed();

	for (uint64_t i = 0; i < iters; i++) {
		enum simmm_sched_policy pol = (i & 1) ? SIMMM_SCHED_PCT : SIMMM_SCHED_RANDOM;
		struct race *r = race_new(base + i, pol);

		body(r, base + i, pol, hits);
		race_free(r);
	}
}

/* ---- a CPU fault waits for the migration, then sees the new page ---------------- */

static void body_fault_waits(struct race *r, uint64_t seed, enum simmm_sched_policy pol,
			     uint64_t *hits)
{
	struct simmm_mm_stats st;
	uint64_t n = 0;

	(void)seed;
	(void)pol;
	TU_ASSERT_OK(tu_fill(r->mm, r->a, NP, r->ps, 40));
	TU_ASSERT_OK(tdev_migrate(&r->dev, r->mm, r->a, NP, SYS, &n));
	assert_int_equal(n, NP);
	assert_true(simmm_sched_spawn(r->sim, "dev", task_dev_to_sys, r) > 0);
	assert_true(simmm_sched_spawn(r->sim, "cpu", task_cpu_read, r) > 0);
	run(r);
	assert_int_equal(r->err_dev, 0);
	assert_int_equal(r->err_cpu, 0); /* the data, whoever moved it */
	/* Every page came back exactly once: by the device or by a fault. */
	/* (A fault that locked the page after the device had moved it calls
	 * ->migrate_to_ram() with a stale entry: setup then collects nothing,
	 * so count migrations, not calls.) */
	assert_int_equal(r->migrated + r->dev.to_ram_done, NP);
	assert_int_equal(r->dev.nfree, 64);
	TU_ASSERT_OK(simmm_mm_stats(r->mm, &st));
	hits[0] += st.migration_waits > 0;
	hits[1] += r->dev.to_ram_done > 0;
}

static void fault_waits_on_migration_entry(void **state)
{
	uint64_t hits[2] = {0};

	(void)state;
	for_schedules(body_fault_waits, hits);
	assert_true(hits[0] > 0); /* some schedule waited on a migration entry */
	assert_true(hits[1] > 0); /* and some faulted before the migration */
}

/* ---- the CPU fills a collected hole first: the insert backs off ------------------- */

static void body_cpu_wins(struct race *r, uint64_t seed, enum simmm_sched_policy pol,
			  uint64_t *hits)
{
	(void)seed;
	(void)pol;
	assert_true(simmm_sched_spawn(r->sim, "dev", task_dev_to_dev, r) > 0);
	assert_true(simmm_sched_spawn(r->sim, "cpu", task_cpu_write, r) > 0);
	run(r);
	assert_int_equal(r->err_dev, 0);
	assert_int_equal(r->err_cpu, 0);
	/* Whatever happened, the CPU's data is there. */
	assert_int_equal(tu_verify(r->mm, r->a, NP, r->ps, 50), 0);
	hits[0] += r->cleared_by_cpu > 0;
	hits[1] += r->migrated > 0;
}

static void cpu_fault_wins_over_insert(void **state)
{
	uint64_t hits[2] = {0};

	(void)state;
	for_schedules(body_cpu_wins, hits);
	assert_true(hits[0] > 0);
	assert_true(hits[1] > 0);
}

static void body_dontneed(struct race *r, uint64_t seed, enum simmm_sched_policy pol,
			  uint64_t *hits)
{
	unsigned char c = 1;

	(void)seed;
	(void)pol;
	(void)hits;
	TU_ASSERT_OK(tu_fill(r->mm, r->a, NP, r->ps, 60));
	assert_true(simmm_sched_spawn(r->sim, "dev", task_dev_to_dev, r) > 0);
	assert_true(simmm_sched_spawn(r->sim, "zap", task_dontneed, r) > 0);
	run(r);
	assert_int_equal(r->err_dev, 0);
	assert_int_equal(r->err_cpu, 0);
	/* Zapped before: the device populated zero pages. Zapped during or
	 * after: the entries are gone. Either way the data is gone. */
	for (int i = 0; i < NP; i++) {
		TU_ASSERT_OK(simmm_mm_access(r->mm, r->a + i * r->ps, &c, 1, SIMMM_ACCESS_READ));
		assert_int_equal(c, 0);
	}
}

static void invalidation_during_migration(void **state)
{
	uint64_t hits[1] = {0};

	(void)state;
	for_schedules(body_dontneed, hits);
}

/* ---- a pin taken before the unmap keeps the page ------------------------------------ */

static void body_pin(struct race *r, uint64_t seed, enum simmm_sched_policy pol, uint64_t *hits)
{
	(void)seed;
	(void)pol;
	TU_ASSERT_OK(tu_fill(r->mm, r->a, NP, r->ps, 40));
	assert_true(simmm_sched_spawn(r->sim, "dev", task_dev_to_dev, r) > 0);
	assert_true(simmm_sched_spawn(r->sim, "pin", task_pin, r) > 0);
	run(r);
	assert_int_equal(r->err_dev, 0);
	assert_int_equal(r->err_cpu, 0);
	/* Pinned before or after the migration, the pte maps the pinned page
	 * (a pin of a device page faulted it back first). */
	assert_int_equal(simmm_pte_pfn(tu_pte(r->mm, r->a)), r->pin_pfn);
	if (r->pinned_before_setup) {
		/* Pinned when the device collected: page 0 stayed. */
		assert_int_equal(simmm_pte_pfn(tu_pte(r->mm, r->a)), r->pin_pfn);
		assert_int_equal(r->migrated, NP - 1);
		hits[0]++;
	}
	assert_int_equal(tu_verify(r->mm, r->a, NP, r->ps, 40), 0);
	TU_ASSERT_OK(simmm_unpin_user_pages(r->sim, &r->pin_pfn, 1));
}

static void pin_before_unmap_keeps_page(void **state)
{
	uint64_t hits[1] = {0};

	(void)state;
	for_schedules(body_pin, hits);
	assert_true(hits[0] > 0);
}

/* ---- two devices, one range --------------------------------------------------------- */

static void body_two_devices(struct race *r, uint64_t seed, enum simmm_sched_policy pol,
			     uint64_t *hits)
{
	uint64_t on1 = 0, on2 = 0;

	(void)seed;
	(void)pol;
	TU_ASSERT_OK(tu_fill(r->mm, r->a, NP, r->ps, 40));
	assert_true(simmm_sched_spawn(r->sim, "dev1", task_dev_to_dev, r) > 0);
	assert_true(simmm_sched_spawn(r->sim, "dev2", task_dev2_to_dev, r) > 0);
	run(r);
	assert_int_equal(r->err_dev, 0);
	assert_int_equal(r->err_dev2, 0);
	for (int i = 0; i < NP; i++) {
		simmm_entry_t e = tu_pte(r->mm, r->a + i * r->ps);
		struct simmm_dev_pagemap *pg = simmm_is_device_private_entry(e)
			? simmm_page_pgmap(r->sim, simmm_swp_offset_pfn(e)) : NULL;

		on1 += pg == &r->dev.pgmap;
		on2 += pg == &r->dev2.pgmap;
		assert_true(pg || simmm_pte_present(e));
	}
	assert_int_equal(on1, r->migrated);
	assert_int_equal(on2, r->migrated2);
	hits[0] += on1 && on2;
	/* Bring dev2's pages home so only dev1 needs evicting. */
	TU_ASSERT_OK(tdev_evict(&r->dev2));
	assert_int_equal(r->dev2.nfree, 64);
	assert_int_equal(tu_verify(r->mm, r->a, NP, r->ps, 40), 0);
}

static void two_devices_same_range(void **state)
{
	uint64_t hits[1] = {0};

	(void)state;
	for_schedules(body_two_devices, hits);
	assert_true(hits[0] > 0);
}

/* ---- eviction racing fault-backs ----------------------------------------------------- */

static void body_evict(struct race *r, uint64_t seed, enum simmm_sched_policy pol,
		       uint64_t *hits)
{
	uint64_t n = 0;

	(void)seed;
	(void)pol;
	TU_ASSERT_OK(tu_fill(r->mm, r->a, NP, r->ps, 40));
	TU_ASSERT_OK(tdev_migrate(&r->dev, r->mm, r->a, NP, SYS, &n));
	assert_true(simmm_sched_spawn(r->sim, "evict", task_evict, r) > 0);
	assert_true(simmm_sched_spawn(r->sim, "cpu", task_cpu_read, r) > 0);
	run(r);
	assert_int_equal(r->err_dev, 0);
	assert_int_equal(r->err_cpu, 0);
	assert_int_equal(r->dev.nfree, 64); /* all home, one way or the other */
	for (int i = 0; i < NP; i++)
		assert_true(simmm_pte_present(tu_pte(r->mm, r->a + i * r->ps)));
	hits[0] += r->dev.to_ram_done > 0 && r->dev.to_ram_done < NP;
}

static void eviction_races_fault_back(void **state)
{
	uint64_t hits[1] = {0};

	(void)state;
	for_schedules(body_evict, hits);
	assert_true(hits[0] > 0); /* some schedule really interleaved them */
}

/* ---- a fault waiting on a device page whose pagemap goes away ------------------------ */

struct gone_wait {
	simmm_sim *sim;
	struct simmm_mm *mm;
	struct tdev dev;
	uint64_t ps, a;
	simmm_pfn_t pfn;
	int err_get, err_lock, err_unlock, err_evict, err_memunmap, err_cpu;
	bool memunmapped;  /* before the CPU's fault returned */
	bool cpu_done;
	char byte;
};

/* Holds the device page's lock while the CPU faults on it, then lets go
 * and, before the woken CPU runs again, evicts the device's memory and
 * removes the pagemap (dmirror's RELEASE). */
static void task_lock_then_release(simmm_sim *sim, void *arg)
{
	struct gone_wait *w = arg;

	w->err_get = simmm_page_get(sim, w->pfn);
	w->err_lock = simmm_lock_page(sim, w->pfn);
	simmm_sched_sleep(sim, 1); /* the CPU faults and sleeps on the lock */
	w->err_unlock = simmm_unlock_page(sim, w->pfn);
	simmm_page_put(sim, w->pfn);
	w->err_evict = tdev_evict(&w->dev);
	w->err_memunmap = simmm_memunmap_pages(&w->dev.pgmap);
	w->memunmapped = !w->cpu_done;
}

static void task_cpu_read_gone(simmm_sim *sim, void *arg)
{
	struct gone_wait *w = arg;

	(void)sim;
	w->err_cpu = simmm_mm_access(w->mm, w->a, &w->byte, 1, SIMMM_ACCESS_READ);
	w->cpu_done = true;
}

/* fuzz_races finding (docs/fuzzing.md, seventh round; regression
 * fuzz/regressions/fuzz_races/device-fault-wait-freed-pagemap, an ASan
 * use-after-poison): a CPU fault on a device-private entry whose page is
 * locked sleeps until the unlock without a reference, as upstream
 * (migration_entry_wait_on_locked()). Woken, it must not touch the page
 * again: here the lock holder evicts the device's memory and removes its
 * pagemap before the CPU runs (the replayed schedule always picks the
 * holder), so the struct page is gone. The old wait re-read the page's
 * flags after waking (ASan: use-after-poison of the freed pagemap); now
 * the fault just refaults and finds the evicted page in system memory. */
static void fault_wait_survives_pagemap_removal(void **state)
{
	struct gone_wait w = {0};
	uint8_t sched[4096];
	uint64_t moved = 0;
	(void)state;

	w.sim = tu_sim_new(NULL, 64ULL << 20, tu_seed());
	w.ps = 1ULL << simmm_sim_geometry(w.sim)->page_shift;
	simmm_lockdep_enable(w.sim, true);
	TU_ASSERT_OK(simmm_mm_create(w.sim, &w.mm));
	TU_ASSERT_OK(tdev_init(&w.dev, w.sim, SIMMM_MEM_DEVICE_PRIVATE, 4));
	TU_ASSERT_OK(simmm_mmap(w.mm, 0, w.ps, RW, ANON, NULL, 0, &w.a));
	TU_ASSERT_OK(tu_fill(w.mm, w.a, 1, w.ps, 42));
	TU_ASSERT_OK(tdev_migrate(&w.dev, w.mm, w.a, 1, SYS, &moved));
	assert_int_equal(moved, 1);
	assert_true(simmm_is_device_private_entry(tu_pte(w.mm, w.a)));
	w.pfn = simmm_swp_offset_pfn(tu_pte(w.mm, w.a));
	TU_CHECK(w.sim);
	/* Choice 0 everywhere: the holder (spawned first) whenever it can. */
	memset(sched, 0, sizeof(sched));
	TU_ASSERT_OK(simmm_sched_replay(w.sim, sched, sizeof(sched)));
	assert_true(simmm_sched_spawn(w.sim, "holder", task_lock_then_release, &w) > 0);
	assert_true(simmm_sched_spawn(w.sim, "cpu", task_cpu_read_gone, &w) > 0);
	assert_int_equal(simmm_sched_run(w.sim, 1000000), SIMMM_SCHED_DONE);
	TU_CHECK(w.sim);
	if (w.err_get || w.err_lock || w.err_unlock || w.err_evict || w.err_memunmap)
		fail_msg("holder: get %d lock %d unlock %d evict %d memunmap %d", w.err_get,
			 w.err_lock, w.err_unlock, w.err_evict, w.err_memunmap);
	/* The pagemap went while the CPU's fault slept on the lock. */
	assert_true(w.memunmapped);
	assert_int_equal(w.err_cpu, 0);
	assert_true(simmm_pte_present(tu_pte(w.mm, w.a)));
	assert_int_equal(tu_verify(w.mm, w.a, 1, w.ps, 42), 0);
	TU_ASSERT_OK(simmm_mmput(w.mm));
	TU_CHECK(w.sim);
	tu_sim_free(&w.sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fault_waits_on_migration_entry),
		cmocka_unit_test(cpu_fault_wins_over_insert),
		cmocka_unit_test(invalidation_during_migration),
		cmocka_unit_test(pin_before_unmap_keeps_page),
		cmocka_unit_test(two_devices_same_range),
		cmocka_unit_test(eviction_races_fault_back),
		cmocka_unit_test(fault_wait_survives_pagemap_removal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
