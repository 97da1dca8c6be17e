// SPDX-License-Identifier: MIT
/*
 * Regressions of the races fuzz_races found in the reverse map and around
 * it (docs/fuzzing.md), each on a fixed round-robin schedule:
 *  1. reclaim's rmap walk sleeps in its notifier bracket while munmap or
 *     exit frees the VMAs it walks (use-after-free): VMA unlink must wait
 *     for the walker (the anon_vma rwsem);
 *  2. the same with device eviction's walk (try_to_migrate);
 *  3. eviction of a device page whose process exited pinned its stale,
 *     freed anon_vma (folio_get_anon_vma() pins only a mapped folio's);
 *  4. MADV_DONTNEED (or exit) took a folio out of the swap cache while
 *     reclaim, holding its lock, was between add_to_swap() and pageout;
 *  5. two CPU threads faulting one device-private page livelocked (each
 *     held a reference while waiting, failing the other's migration);
 *  6. a device migrating a page while a CPU COW fault copies it: the
 *     fault's reference on the old page (held until wp_page_copy()
 *     returns, as upstream) makes the migration leave it (simmm once
 *     dropped it early, and the migration made the fault lose its
 *     pte_same() check);
 *  7. device eviction's scan, preempted between its reference on a device
 *     page and its trylock, failed every CPU fault's migration of the page;
 *  8. the same window in migrate_vma_setup()'s collect walk;
 *  9. a read pin's unshare copy losing its pte_same() check to reclaim
 *     (which unmaps the page but cannot free it) must still end with an
 *     exclusive read-only copy (GUP fell back to a write fault after a
 *     first unshare).
 * 10. a CPU write to a device-exclusive page while a device keeps taking
 *     its folio lock gave up after 8 faults, each of which had slept on
 *     the lock and been woken: progress, not a livelock;
 * 11. a CPU fault whose migration fails on the reference of a task that is
 *     runnable but not picked is not stuck (fuzz_races finding 14);
 * 12. the same for get_user_pages() (mlock's populate, a pin): it gave up
 *     with -EFAULT after 8 rounds whatever they did (fuzz_races finding 20).
 * A "gate" notifier stops one task inside its notifier bracket for a while
 * so that the other one can run its operation in the window. Task bodies
 * only record; the assertions run after simmm_sched_run().
 */
#include "test_migrate_util.h"
#include "mm/mm_ext.h"

#define RW (SIMMM_PROT_READ | SIMMM_PROT_WRITE)
#define ANON (SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS)
#define GATE_YIELDS 64

/* Stops task @task at its first @max_stops (0: one) @event starts (or
 * ends), each until the other task finished a round (or all of them), or
 * GATE_YIELDS yields. */
struct gate {
	struct simmm_mmu_notifier mn; /* first */
	simmm_sim *sim;
	enum simmm_mmu_notifier_event event;
	bool at_end;
	uint32_t task;
	unsigned stops, max_stops;
	bool inside;
	unsigned rounds;             /* counted by the other task */
	bool other_done;             /* set by the other task after its op(s) */
	bool other_done_inside;      /* ... while the gated task was stopped */
};

static void gate_stop(struct gate *g, const struct simmm_mmu_notifier_range *r)
{
	unsigned round = g->rounds;

	if (g->stops >= (g->max_stops ? g->max_stops : 1) || r->event != g->event ||
	    simmm_sched_current(g->sim) != g->task)
		return;
	g->stops++;
	g->inside = true;
	for (int i = 0; i < GATE_YIELDS && !g->other_done && g->rounds == round; i++)
		simmm_sched_yield(g->sim);
	g->other_done_inside = g->other_done;
	g->inside = false;
}

static int gate_start(struct simmm_mmu_notifier *sub, const struct simmm_mmu_notifier_range *r)
{
	struct gate *g = (struct gate *)sub;

	if (!g->at_end)
		gate_stop(g, r);
	return 0;
}

static void gate_end(struct simmm_mmu_notifier *sub, const struct simmm_mmu_notifier_range *r)
{
	struct gate *g = (struct gate *)sub;

	if (g->at_end)
		gate_stop(g, r);
}

static const struct simmm_mmu_notifier_ops gate_ops = {
	.invalidate_range_start = gate_start,
	.invalidate_range_end = gate_end,
};

struct race {
	simmm_sim *sim;
	struct simmm_mm *mm;
	struct gate g;
	struct tdev dev;
	uint64_t ps, a;
	bool exit;             /* the other task exits instead of munmap */
	int err_a, err_b, err_c;
	uint64_t reclaimed;
	simmm_pfn_t pin;
	uint64_t migrated[2]; /* per round (6.) */
	bool inside[2];       /* ... and whether the gated task was stopped */
	uint64_t held_faults; /* ->migrate_to_ram() calls while held (11.) */
};

static struct race *race_new(void)
{
	struct race *r = calloc(1, sizeof(*r));
	struct simmm_sched_config cfg;

	r->sim = tu_sim_new(NULL, 64ULL << 20, 1);
	r->ps = 1ULL << simmm_sim_geometry(r->sim)->page_shift;
	TU_ASSERT_OK(simmm_mm_create(r->sim, &r->mm));
	TU_ASSERT_OK(simmm_mmap(r->mm, 0, 4 * r->ps, RW, ANON, NULL, 0, &r->a));
	TU_ASSERT_OK(simmm_mm_access(r->mm, r->a, "x", 1, SIMMM_ACCESS_WRITE));
	r->g.mn.ops = &gate_ops;
	r->g.sim = r->sim;
	TU_ASSERT_OK(simmm_mmu_notifier_register(&r->g.mn, r->mm));
	simmm_sched_config_init(r->sim, &cfg);
	cfg.policy = SIMMM_SCHED_RR;
	TU_ASSERT_OK(simmm_sched_configure(r->sim, &cfg));
	return r;
}

static void race_run(struct race *r)
{
	assert_int_equal(simmm_sched_run(r->sim, 1000000), SIMMM_SCHED_DONE);
	assert_int_equal(simmm_reports_count(r->sim, 0), 0);
	TU_CHECK(r->sim);
}

/* Spawn the gated task @gname (the one whose bracket the gate stops) and
 * the other, @oname, then run both to the end. */
static void race_pair(struct race *r, const char *gname, simmm_task_fn gfn, const char *oname,
		      simmm_task_fn ofn)
{
	int a = simmm_sched_spawn(r->sim, gname, gfn, r);

	assert_true(a > 0);
	r->g.task = (uint32_t)a;
	assert_true(simmm_sched_spawn(r->sim, oname, ofn, r) > 0);
	race_run(r);
}

static void race_free(struct race *r)
{
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&r->g.mn, r->mm));
	if (!r->exit)
		TU_ASSERT_OK(simmm_mmput(r->mm));
	if (r->dev.sim) {
		TU_ASSERT_OK(tdev_evict(&r->dev));
		TU_ASSERT_OK(simmm_memunmap_pages(&r->dev.pgmap));
	}
	tu_sim_free(&r->sim);
	free(r);
}

/* The other side: wait until the gated task is inside, then unmap the
 * page (or exit the process). */
static void task_unmap(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	for (int i = 0; i < GATE_YIELDS && !r->g.inside; i++)
		simmm_sched_yield(sim);
	r->err_b = r->exit ? simmm_mmput(r->mm) : simmm_munmap(r->mm, r->a, 4 * r->ps);
	r->g.other_done = true;
}

static void task_reclaim(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	r->err_a = simmm_reclaim(sim, 1, &r->reclaimed);
}

static void reclaim_vs_unmap(bool exit)
{
	struct race *r = race_new();

	r->exit = exit;
	r->g.event = SIMMM_MMU_NOTIFY_CLEAR;
	race_pair(r, "reclaim", task_reclaim, exit ? "exit" : "munmap", task_unmap);
	assert_int_equal(r->g.stops, 1);
	/* The VMA could not go while the walk was inside it. */
	assert_false(r->g.other_done_inside);
	TU_ASSERT_OK(r->err_a);
	TU_ASSERT_OK(r->err_b);
	race_free(r);
}

/* 1. try_to_unmap() vs munmap / exit (the reproducer exited the process;
 * exit's zap, which does not wait for the walker, then also meets 4.). */
static void reclaim_walk_vs_munmap(void **state)
{
	(void)state;
	reclaim_vs_unmap(false);
}

static void reclaim_walk_vs_exit(void **state)
{
	(void)state;
	reclaim_vs_unmap(true);
}

/* 2. try_to_migrate() of device eviction vs munmap. */
static void task_evict(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	(void)sim;
	r->err_a = tdev_evict(&r->dev);
}

static void evict_walk_vs_munmap(void **state)
{
	struct race *r = race_new();
	uint64_t migrated = 0;
	(void)state;

	TU_ASSERT_OK(tdev_init(&r->dev, r->sim, SIMMM_MEM_DEVICE_PRIVATE, 8));
	TU_ASSERT_OK(tdev_migrate(&r->dev, r->mm, r->a, 1, SIMMM_MIGRATE_VMA_SELECT_SYSTEM,
				  &migrated));
	assert_int_equal(migrated, 1);
	assert_true(simmm_is_device_private_entry(tu_pte(r->mm, r->a)));
	r->g.event = SIMMM_MMU_NOTIFY_CLEAR;
	race_pair(r, "evict", task_evict, "munmap", task_unmap);
	assert_int_equal(r->g.stops, 1);
	assert_false(r->g.other_done_inside);
	TU_ASSERT_OK(r->err_a);
	TU_ASSERT_OK(r->err_b);
	assert_int_equal(r->dev.nfree, 8);
	race_free(r);
}

/* 3. A device page outliving its process keeps a stale mapping; eviction
 * must not pin (read) the freed anon_vma. No concurrency needed. */
static void evict_after_exit_stale_anon_vma(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 64ULL << 20, 1);
	struct simmm_mm *mm;
	struct tdev dev;
	uint64_t migrated = 0, ps = 1ULL << simmm_sim_geometry(sim)->page_shift;
	simmm_addr_t a;
	simmm_pfn_t pfn;
	(void)state;

	TU_ASSERT_OK(simmm_mm_create(sim, &mm));
	TU_ASSERT_OK(simmm_mmap(mm, 0, ps, RW, ANON, NULL, 0, &a));
	TU_ASSERT_OK(simmm_mm_access(mm, a, "x", 1, SIMMM_ACCESS_WRITE));
	TU_ASSERT_OK(tdev_init(&dev, sim, SIMMM_MEM_DEVICE_PRIVATE, 4));
	TU_ASSERT_OK(tdev_migrate(&dev, mm, a, 1, SIMMM_MIGRATE_VMA_SELECT_SYSTEM, &migrated));
	assert_int_equal(migrated, 1);
	pfn = simmm_swp_offset_pfn(tu_pte(mm, a));
	TU_ASSERT_OK(simmm_page_get(sim, pfn)); /* the driver keeps the page */
	TU_ASSERT_OK(simmm_mmput(mm));          /* the anon_vma is freed */
	TU_CHECK(sim);
	TU_ASSERT_OK(tdev_evict(&dev));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_page_put(sim, pfn));
	assert_int_equal(dev.nfree, 4);
	TU_ASSERT_OK(simmm_memunmap_pages(&dev.pgmap));
	tu_sim_free(&sim);
}

/* 4. Reclaim stops after try_to_unmap() turned the pte into a swap entry
 * (in the CLEAR bracket's end); MADV_DONTNEED drops that entry. */
static void task_dontneed(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	for (int i = 0; i < GATE_YIELDS && !r->g.inside; i++)
		simmm_sched_yield(sim);
	r->err_b = simmm_madvise(r->mm, r->a, r->ps, SIMMM_MADV_DONTNEED);
	r->g.other_done = true;
}

static void reclaim_vs_dontneed_swapcache(void **state)
{
	struct race *r = race_new();
	uint64_t used = 1;
	(void)state;

	r->g.event = SIMMM_MMU_NOTIFY_CLEAR;
	r->g.at_end = true;
	race_pair(r, "reclaim", task_reclaim, "dontneed", task_dontneed);
	assert_true(r->g.stops == 1 && r->g.other_done_inside);
	TU_ASSERT_OK(r->err_a);
	TU_ASSERT_OK(r->err_b);
	/* The folio stayed in the swap cache under reclaim's lock; pageout
	 * wrote it and freed it with its slot. */
	assert_int_equal(r->reclaimed, 1);
	simmm__swap_usage(r->sim, &used, NULL);
	assert_int_equal(used, 0);
	race_free(r);
}

/* 5. Two CPU threads read one device-private page; the driver retries at
 * once, as upstream's does (no back-off). */
static void task_read(simmm_sim *sim, void *arg)
{
	struct race *r = arg;
	char c = 0;
	int err;

	(void)sim;
	err = simmm_mm_access(r->mm, r->a, &c, 1, SIMMM_ACCESS_READ);
	if (!err && c != 'x')
		err = -EIO;
	if (simmm_sched_current(sim) == r->g.task)
		r->err_a = err;
	else
		r->err_c = err;
}

static void two_cpus_fault_one_device_page(void **state)
{
	struct race *r = race_new();
	uint64_t migrated = 0;
	(void)state;

	TU_ASSERT_OK(tdev_init(&r->dev, r->sim, SIMMM_MEM_DEVICE_PRIVATE, 8));
	TU_ASSERT_OK(tdev_migrate(&r->dev, r->mm, r->a, 1, SIMMM_MIGRATE_VMA_SELECT_SYSTEM,
				  &migrated));
	assert_int_equal(migrated, 1);
	r->dev.no_backoff = true;
	race_pair(r, "cpu0", task_read, "cpu1", task_read);
	TU_ASSERT_OK(r->err_a);
	TU_ASSERT_OK(r->err_c);
	assert_int_equal(r->dev.to_ram_done, 1);
	assert_true(simmm_pte_present(tu_pte(r->mm, r->a)));
	race_free(r);
}

/* 6. A device migrating a COW-shared page to its memory while a CPU write
 * fault is inside its COW copy's notifier bracket. The fault holds a
 * reference on the old page from do_wp_page() until wp_page_copy()
 * returns, as upstream: the migration finds a reference beyond the
 * mappings (migrate_vma_check_page()) and leaves the page where it is, and
 * the copy completes in one round. Once the fault is done the device
 * migrates the parent's new copy. (simmm dropped the reference as soon as
 * the copy was made; then every round migrated the page, the fault lost
 * its pte_same() check ROUNDS times, and the test checked that those
 * faults, all making progress, did not end in -EDEADLK.) */
#define ROUNDS 2

static void task_cow_write(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	(void)sim;
	r->err_a = simmm_mm_access(r->mm, r->a, "y", 1, SIMMM_ACCESS_WRITE);
	r->g.other_done = true; /* the device's second round waits for it */
}

static void task_pingpong(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	/* Round 0 inside the CPU's bracket, round 1 after the CPU's fault. */
	for (unsigned k = 0; k < ROUNDS && !r->err_b; k++) {
		for (int i = 0; i < GATE_YIELDS && !(k ? r->g.other_done : r->g.inside); i++)
			simmm_sched_yield(sim);
		r->inside[k] = r->g.inside;
		r->err_b = tdev_migrate(&r->dev, r->mm, r->a, 1, SIMMM_MIGRATE_VMA_SELECT_SYSTEM,
					&r->migrated[k]);
		r->g.rounds++;
	}
}

static void cow_fault_vs_device_pingpong(void **state)
{
	struct race *r = race_new();
	struct simmm_mm *child;
	char c = 0;
	(void)state;

	TU_ASSERT_OK(tdev_init(&r->dev, r->sim, SIMMM_MEM_DEVICE_PRIVATE, 8));
	TU_ASSERT_OK(simmm_fork(r->mm, &child));
	simmm_pfn_t old = simmm_pte_pfn(tu_pte(child, r->a));
	r->g.event = SIMMM_MMU_NOTIFY_CLEAR;
	r->g.max_stops = ROUNDS;
	race_pair(r, "cpu", task_cow_write, "dev", task_pingpong);
	TU_ASSERT_OK(r->err_a);
	TU_ASSERT_OK(r->err_b);
	assert_int_equal(r->g.stops, 1);   /* one COW copy, no retry */
	assert_true(r->inside[0]);
	assert_int_equal(r->migrated[0], 0); /* the fault's reference */
	assert_false(r->inside[1]);
	assert_int_equal(r->migrated[1], 1); /* the parent's new copy */
	assert_true(simmm_is_device_private_entry(tu_pte(r->mm, r->a)));
	assert_int_equal(simmm_pte_pfn(tu_pte(child, r->a)), old);
	TU_CHECK(r->sim);
	TU_ASSERT_OK(simmm_mm_access(r->mm, r->a, &c, 1, SIMMM_ACCESS_READ));
	assert_int_equal(c, 'y');
	TU_ASSERT_OK(simmm_mm_access(child, r->a, &c, 1, SIMMM_ACCESS_READ));
	assert_int_equal(c, 'x');
	TU_CHECK(r->sim);
	TU_ASSERT_OK(simmm_mmput(child));
	race_free(r);
}

/* 7. Eviction's scan (migrate_device_range()) stops at its first
 * scheduling point, then the CPU reads the device page on a replayed
 * schedule that always picks the CPU: the scan must not hold a reference
 * there, or every migrate_to_ram fails its refcount check and the driver
 * (no back-off, as upstream's) refaults until the access gives up with
 * -EDEADLK. Upstream takes the reference and trylocks without sleeping in
 * between; the fault succeeds. */
static void task_evict_b(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	(void)sim;
	r->err_b = tdev_evict(&r->dev);
}

/* A race over the device page: the page migrated to a fresh device with
 * no back-off, a replayed schedule that picks the second task for the
 * first @k choices and the CPU (the lowest id) for every later one, and
 * the CPU's read of the page spawned. The caller spawns the second task.
 * The schedule is long enough to outlast simmm_mm_access()'s 1 024
 * faults: a fault that resolves nothing while the second task is runnable
 * does not count as stuck, so only the total cap ends a livelock. */
#define RACE_REPLAY_LEN (1U << 16)

static struct race *race_device_page_fn(unsigned k, size_t len, simmm_task_fn fn)
{
	struct race *r = race_new();
	uint64_t migrated = 0;
	uint8_t *sched = calloc(len, 1);
	int a;

	assert_non_null(sched);
	TU_ASSERT_OK(tdev_init(&r->dev, r->sim, SIMMM_MEM_DEVICE_PRIVATE, 8));
	TU_ASSERT_OK(tdev_migrate(&r->dev, r->mm, r->a, 1, SIMMM_MIGRATE_VMA_SELECT_SYSTEM,
				  &migrated));
	assert_int_equal(migrated, 1);
	r->dev.no_backoff = true;
	memset(sched, 1, k);
	TU_ASSERT_OK(simmm_sched_replay(r->sim, sched, len));
	free(sched);
	a = simmm_sched_spawn(r->sim, "cpu", fn, r);
	assert_true(a > 0);
	r->g.task = (uint32_t)a;
	return r;
}

static struct race *race_device_page_len(unsigned k, size_t len)
{
	return race_device_page_fn(k, len, task_read);
}

static struct race *race_device_page(unsigned k)
{
	return race_device_page_len(k, RACE_REPLAY_LEN);
}

static void evict_scan_vs_cpu_fault(void **state)
{
	/* The first choice runs the scan to its first scheduling point. */
	struct race *r = race_device_page(1);
	(void)state;

	assert_true(simmm_sched_spawn(r->sim, "evict", task_evict_b, r) > 0);
	race_run(r);
	TU_ASSERT_OK(r->err_a);
	TU_ASSERT_OK(r->err_b);
	assert_int_equal(r->dev.to_ram_done, 1);
	assert_true(simmm_pte_present(tu_pte(r->mm, r->a)));
	assert_int_equal(r->dev.nfree, 8);
	race_free(r);
}

/* 8. The same window in migrate_vma_setup()'s collect walk: a second
 * migration of the device page back to system memory stops after K
 * scheduling points (K = 1, 2, ...), then the CPU reads the page on a
 * schedule that always picks the CPU. Wherever the walk stops it must not
 * hold the page's reference without its lock (the kernel takes both under
 * the pte lock): the CPU's migrate_to_ram (no back-off) would fail its
 * refcount check and refault until -EDEADLK. */
static void task_migrate_back_b(simmm_sim *sim, void *arg)
{
	struct race *r = arg;
	uint64_t migrated = 0;

	(void)sim;
	r->err_b = tdev_migrate(&r->dev, r->mm, r->a, 1, SIMMM_MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
				&migrated);
	r->reclaimed += migrated;
}

static void collect_vs_cpu_fault(void **state)
{
	unsigned stops = 0;
	(void)state;

	for (unsigned k = 1; k <= 48; k++) {
		struct race *r = race_device_page(k);

		assert_true(simmm_sched_spawn(r->sim, "migrate", task_migrate_back_b, r) > 0);
		race_run(r);
		TU_ASSERT_OK(r->err_a);
		TU_ASSERT_OK(r->err_b);
		/* Exactly one of the two moved the page home. */
		assert_int_equal(r->dev.to_ram_done + r->reclaimed, 1);
		stops += r->dev.to_ram_done; /* the CPU's fault did it */
		assert_true(simmm_pte_present(tu_pte(r->mm, r->a)));
		assert_int_equal(r->dev.nfree, 8);
		race_free(r);
	}
	/* Some K stopped the walk before it took the page, so the CPU won. */
	assert_true(stops > 0);
}

/* 9. A read pin of a COW-shared page stops in its unshare copy's notifier
 * bracket while reclaim unmaps the page from both mms into swap entries
 * and writes it out; the copy's reference on the old folio (held until
 * wp_page_copy() returns, as upstream) makes __remove_mapping()'s freeze
 * fail, so the folio stays in the swap cache and nothing is reclaimed. The
 * copy backs off (pte_same()), GUP faults the page back from the swap cache
 * (no I/O; read-only, still shared: the child's swap entry) and unshares
 * it again. The pin must end with an exclusive copy mapped read-only and
 * clean, as upstream's retry of FAULT_FLAG_UNSHARE gives; GUP's old
 * fallback turned the second unshare into a write fault (a writable, dirty
 * copy). (When simmm dropped the reference before the bracket, reclaim
 * freed the old folio here and the GUP read it back from the device.) */
static void task_pin_read(simmm_sim *sim, void *arg)
{
	struct race *r = arg;
	long n;

	(void)sim;
	n = simmm_pin_user_pages(r->mm, r->a, 1, 0, &r->pin);
	r->err_a = n == 1 ? 0 : n < 0 ? (int)n : -EIO;
}

static void task_reclaim_inside(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	for (int i = 0; i < GATE_YIELDS && !r->g.inside; i++)
		simmm_sched_yield(sim);
	r->err_b = simmm_reclaim(sim, 64, &r->reclaimed);
	r->g.other_done = true;
}

static void unshare_copy_vs_reclaim(void **state)
{
	struct race *r = race_new();
	struct simmm_mm *child;
	struct simmm_translation t;
	struct simmm_mm_stats st;
	char c = 0;
	(void)state;

	TU_ASSERT_OK(simmm_fork(r->mm, &child));
	r->g.event = SIMMM_MMU_NOTIFY_CLEAR;
	race_pair(r, "pin", task_pin_read, "reclaim", task_reclaim_inside);
	assert_true(r->g.stops == 1 && r->g.other_done_inside);
	TU_ASSERT_OK(r->err_a);
	TU_ASSERT_OK(r->err_b);
	assert_int_equal(r->reclaimed, 0);
	assert_true(simmm_is_real_swap_entry(tu_pte(child, r->a)));
	/* The old folio: still in the swap cache, where GUP found it. */
	struct simmm_page *old =
		simmm__swap_cache_lookup(r->sim, simmm_pte_to_swp_entry(tu_pte(child, r->a)));
	assert_non_null(old);
	assert_int_not_equal(old->pfn, r->pin);
	assert_int_equal(simmm_mm_stats(r->mm, &st), 0);
	assert_int_equal(st.major_faults, 0);
	assert_int_equal(st.swapin_faults, 1);
	memset(&t, 0, sizeof(t));
	TU_ASSERT_OK(simmm_pgtable_translate(simmm_mm_pgtable(r->mm), r->a, &t));
	assert_true(t.present);
	assert_int_equal(t.pfn, r->pin);
	assert_false(t.write);
	assert_false(simmm_pte_dirty(t.entry));
	assert_true(simmm__pfn_to_page(r->sim, r->pin)->flags & PG_anon_exclusive);
	TU_ASSERT_OK(simmm_mm_access(r->mm, r->a, &c, 1, SIMMM_ACCESS_READ));
	assert_int_equal(c, 'x');
	TU_ASSERT_OK(simmm_mm_access(child, r->a, &c, 1, SIMMM_ACCESS_READ));
	assert_int_equal(c, 'x');
	TU_ASSERT_OK(simmm_unpin_user_pages(r->sim, &r->pin, 1));
	TU_CHECK(r->sim);
	TU_ASSERT_OK(simmm_mmput(child));
	race_free(r);
}

/* 10. The device takes the folio lock LOCK_ROUNDS times, sleeping with it;
 * the replay schedule lets it take the lock again after the CPU was woken
 * and before the CPU's refault tries it. The CPU's first fault sleeps in
 * remove_device_exclusive_entry()'s folio_lock_or_retry() without the mmap
 * lock and retries; the tried fault sleeps in folio_lock() until it owns
 * the lock (the device then waits for it in turn). Each is progress: the
 * write succeeds, the device finishes its rounds (fuzz_races found
 * -EDEADLK here, when every fault only waited and refaulted). */
#define LOCK_ROUNDS 12

static void task_lock_rounds(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	for (int i = 0; i < LOCK_ROUNDS; i++) {
		r->err_b = simmm_lock_page(sim, r->pin);
		if (r->err_b)
			return;
		simmm_sched_sleep(sim, 1);
		r->err_b = simmm_unlock_page(sim, r->pin);
		if (r->err_b)
			return;
		r->g.rounds++;
	}
}

static void task_write_y(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	(void)sim;
	r->err_a = simmm_mm_access(r->mm, r->a, "y", 1, SIMMM_ACCESS_WRITE);
}

static void exclusive_fault_vs_lock_holder(void **state)
{
	struct race *r = race_new();
	uint8_t sched[256];
	struct simmm_mm_stats st;
	char c = 0;
	(void)state;

	/* Alternating choices (1, 0, 1, 0...) give the device the lock again
	 * between the CPU's wakeup and its refault's trylock in every round
	 * (without the rule, the write fails with -EDEADLK after 9 faults). */
	for (size_t i = 0; i < sizeof(sched); i++)
		sched[i] = (uint8_t)!(i & 1);

	TU_ASSERT_OK(simmm_mmap_read_lock(r->mm));
	TU_ASSERT_OK(simmm_make_device_exclusive(r->mm, r->a, r, &r->pin));
	TU_ASSERT_OK(simmm_mmap_read_unlock(r->mm));
	TU_ASSERT_OK(simmm_unlock_page(r->sim, r->pin));
	assert_true(simmm_page_put(r->sim, r->pin) >= 1);
	assert_true(simmm_is_device_exclusive_entry(tu_pte(r->mm, r->a)));
	TU_ASSERT_OK(simmm_sched_replay(r->sim, sched, sizeof(sched)));
	assert_true(simmm_sched_spawn(r->sim, "dev", task_lock_rounds, r) > 0);
	assert_true(simmm_sched_spawn(r->sim, "cpu", task_write_y, r) > 0);
	race_run(r);
	TU_ASSERT_OK(r->err_b);
	assert_int_equal(r->g.rounds, LOCK_ROUNDS);
	TU_ASSERT_OK(r->err_a);
	assert_true(simmm_pte_present(tu_pte(r->mm, r->a)));
	TU_ASSERT_OK(simmm_mm_stats(r->mm, &st));
	assert_int_equal(st.exclusive_faults, 1);
	TU_ASSERT_OK(simmm_mm_access(r->mm, r->a, &c, 1, SIMMM_ACCESS_READ));
	assert_int_equal(c, 'y');
	race_free(r);
}

/* 11. A task holds a reference on the device page without its lock and
 * sits runnable at a scheduling point, as migrate_vma_split_folio() does
 * between its folio_get() and folio_lock() (might_sleep()): the CPU's read
 * on a schedule that picks the CPU for its first HOLD_CHOICES choices
 * fails its migration on that reference again and again, each fault
 * changing nothing and waking nobody. The holder can run, so the faults
 * are not stuck: once the replayed schedule runs out (round robin) the
 * holder drops its reference and the next fault migrates the page. A rule
 * that counted every fruitless fault (8 in a row) gave up with -EDEADLK
 * while the holder was starved (fuzz_races finding 14). */
#define HOLD_CHOICES 400
#define HOLD_FAULTS 32

static void task_hold_ref(simmm_sim *sim, void *arg)
{
	struct race *r = arg;
	simmm_pfn_t pfn = simmm_swp_offset_pfn(tu_pte(r->mm, r->a));
	struct simmm_page *p = simmm__pfn_to_page(sim, pfn);

	simmm__folio_get(sim, p);
	for (unsigned i = 0; i < 100000 && r->dev.to_ram < HOLD_FAULTS; i++)
		simmm_sched_yield(sim);
	r->held_faults = r->dev.to_ram;
	simmm__folio_put(sim, p);
}

static void fruitless_faults_while_holder_runnable(void **state)
{
	struct race *r = race_device_page_len(1, 1 + HOLD_CHOICES);
	(void)state;

	assert_true(simmm_sched_spawn(r->sim, "holder", task_hold_ref, r) > 0);
	race_run(r);
	TU_ASSERT_OK(r->err_a);
	/* Every call before the last failed: well past 8 in a row. (The
	 * holder may drop its reference while the last call is under way.) */
	assert_true(r->held_faults >= HOLD_FAULTS);
	assert_int_equal(r->dev.to_ram_done, 1);
	assert_in_range(r->dev.to_ram, r->held_faults, r->held_faults + 1);
	assert_true(simmm_pte_present(tu_pte(r->mm, r->a)));
	assert_int_equal(r->dev.nfree, 8);
	race_free(r);
}

/* 12. The holder of 11. against GUP: a read pin of the device page, whose
 * faults fail the same way. __get_user_pages() retries a fault that
 * returned 0 for as long as it takes; simmm's GUP gave up with -EFAULT
 * after 8 rounds, whatever they did, so mlock() failed -ENOMEM while the
 * holder was starved (fuzz_races finding 20). It now gives up as
 * simmm_mm_access() does: after 8 rounds in a row that changed nothing,
 * woke nobody and left no other task able to run (or 1024 in all). */
static void task_pin_device_page(simmm_sim *sim, void *arg)
{
	struct race *r = arg;
	simmm_pfn_t pfn = 0;
	long n = simmm_pin_user_pages(r->mm, r->a, 1, 0, &pfn);
	char c = 0;

	r->err_a = n == 1 ? 0 : n < 0 ? (int)n : -EIO;
	if (n == 1) {
		TU_ASSERT_OK(simmm_page_read(sim, pfn, 0, &c, 1));
		r->err_a = c == 'x' ? 0 : -EIO;
		TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pfn, 1));
	}
}

static void gup_fruitless_faults_while_holder_runnable(void **state)
{
	struct race *r = race_device_page_fn(1, 1 + HOLD_CHOICES, task_pin_device_page);
	(void)state;

	assert_true(simmm_sched_spawn(r->sim, "holder", task_hold_ref, r) > 0);
	race_run(r);
	TU_ASSERT_OK(r->err_a);
	assert_true(r->held_faults >= HOLD_FAULTS);
	assert_int_equal(r->dev.to_ram_done, 1);
	assert_true(simmm_pte_present(tu_pte(r->mm, r->a)));
	assert_int_equal(r->dev.nfree, 8);
	race_free(r);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		cmocka_set_test_filter(argv[1]); /* one test by name (glob) */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reclaim_walk_vs_munmap),
		cmocka_unit_test(reclaim_walk_vs_exit),
		cmocka_unit_test(evict_walk_vs_munmap),
		cmocka_unit_test(evict_after_exit_stale_anon_vma),
		cmocka_unit_test(reclaim_vs_dontneed_swapcache),
		cmocka_unit_test(two_cpus_fault_one_device_page),
		cmocka_unit_test(cow_fault_vs_device_pingpong),
		cmocka_unit_test(evict_scan_vs_cpu_fault),
		cmocka_unit_test(collect_vs_cpu_fault),
		cmocka_unit_test(unshare_copy_vs_reclaim),
		cmocka_unit_test(exclusive_fault_vs_lock_holder),
		cmocka_unit_test(fruitless_faults_while_holder_runnable),
		cmocka_unit_test(gup_fruitless_faults_while_holder_runnable),
	};
	return cmocka_run_group_tests_name("rmap_race", tests, NULL, NULL);
}
