// SPDX-License-Identifier: MIT
/*
 * Unit tests of the dmirror device beyond hmm-tests: its page-table hash
 * against a reference, argument checking, the lifetime rules (close with
 * pages still on the device, destroy with open files, an exited process),
 * RELEASE followed by new allocations, a non-blockable invalidation, an
 * allocation-failure sweep over its migrations (no data lost), and two
 * races on the deterministic scheduler found by fuzz_races (close vs the
 * fault-back, RELEASE vs a migration to the device, MADV_DONTNEED vs a
 * migration to the device, also through a file opened while an
 * invalidation was in progress, and with the pages mirrored before and
 * only part of them zapped), two files of one device mirroring the
 * same pages, and WRITE to a page swapped in by a read fault, then migrated.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include <simmm/device.h>
#include <simmm/mmu_notifier.h>

#include "device/dpt.h"
#include "test_migrate_util.h"

/* The hash against a plain array over a small key space, with range
 * erases of every size (per-key and rebuild paths). */
static void dpt_random(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 64ULL << 20, tu_seed());
	enum { KEYS = 4096 };
	uint64_t *ref = calloc(KEYS, sizeof(*ref)); /* 0 = absent, else val + 1 */
	struct dpt t;
	uint64_t rng = tu_seed() | 1;

	(void)state;
	dpt_init(&t, sim);
	for (int step = 0; step < 200000; step++) {
		uint64_t vpn, val, got;
		unsigned op;

		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		op = rng % 100;
		vpn = (rng >> 8) % KEYS;
		if (op < 55) {
			val = rng >> 20;
			TU_ASSERT_OK(dpt_store(&t, vpn, val));
			ref[vpn] = val + 1;
		} else if (op < 90) {
			dpt_erase(&t, vpn);
			ref[vpn] = 0;
		} else {
			uint64_t len = (rng >> 40) % (op < 98 ? 16 : KEYS);

			dpt_erase_range(&t, vpn, vpn + len);
			for (uint64_t k = vpn; k < vpn + len && k < KEYS; k++)
				ref[k] = 0;
		}
		if (step % 4096 == 0 || op >= 90) {
			uint64_t count = 0;

			for (uint64_t k = 0; k < KEYS; k++) {
				int ret = dpt_load(&t, k, &got);

				if (ref[k]) {
					assert_int_equal(ret, 0);
					assert_int_equal(got, ref[k] - 1);
					count++;
				} else {
					assert_int_equal(ret, -ENOENT);
				}
			}
			assert_int_equal(count, t.count);
		}
	}
	dpt_erase_range(&t, 0, ~0ULL);
	assert_int_equal(t.count, 0);
	dpt_destroy(&t);
	free(ref);
	tu_sim_free(&sim);
}

struct fx {
	simmm_sim *sim;
	struct simmm_mm *mm;
	struct simmm_dmirror_device *dev;
	struct simmm_dmirror *fd;
	uint64_t ps;
};

static void fx_init(struct fx *f, enum simmm_memtype type)
{
	f->sim = tu_sim_new(NULL, 256ULL << 20, tu_seed());
	f->ps = 1ULL << simmm_sim_geometry(f->sim)->page_shift;
	simmm_lockdep_enable(f->sim, true);
	TU_ASSERT_OK(simmm_dmirror_device_create(f->sim, type, 4ULL << 20, &f->dev));
	TU_ASSERT_OK(simmm_mm_create(f->sim, &f->mm));
	TU_ASSERT_OK(simmm_dmirror_open(f->dev, f->mm, &f->fd));
}

static void fx_fini(struct fx *f)
{
	TU_ASSERT_OK(simmm_dmirror_close(f->fd));
	if (f->mm)
		TU_ASSERT_OK(simmm_mmput(f->mm));
	TU_ASSERT_OK(simmm_dmirror_device_destroy(f->dev));
	tu_sim_free(&f->sim);
}

static uint64_t map_filled(struct fx *f, uint64_t npages, unsigned char seed)
{
	simmm_addr_t a;
	unsigned char *buf = malloc(npages * f->ps);

	for (uint64_t i = 0; i < npages; i++)
		memset(buf + i * f->ps, seed + (int)i, f->ps);
	TU_ASSERT_OK(simmm_mmap(f->mm, 0, npages * f->ps, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS, NULL, 0, &a));
	TU_ASSERT_OK(simmm_mm_access(f->mm, a, buf, npages * f->ps, SIMMM_ACCESS_WRITE));
	free(buf);
	return a;
}

static void bad_args(void **state)
{
	struct fx f;
	unsigned char page[4096];
	struct simmm_dmirror_cmd c;
	struct simmm_dmirror_device *d;
	uint64_t a;

	(void)state;
	fx_init(&f, SIMMM_MEM_DEVICE_PRIVATE);
	a = map_filled(&f, 1, 1);
	c = (struct simmm_dmirror_cmd){.addr = a + 8, .ptr = page, .npages = 1};
	assert_int_equal(simmm_dmirror_ioctl(f.fd, SIMMM_DMIRROR_READ, &c), -EINVAL);
	c = (struct simmm_dmirror_cmd){.addr = a, .ptr = page, .npages = 0};
	assert_int_equal(simmm_dmirror_ioctl(f.fd, SIMMM_DMIRROR_READ, &c), -EINVAL);
	c = (struct simmm_dmirror_cmd){.addr = a, .ptr = page, .npages = ~0ULL >> 8};
	assert_int_equal(simmm_dmirror_ioctl(f.fd, SIMMM_DMIRROR_READ, &c), -EINVAL);
	c = (struct simmm_dmirror_cmd){.addr = a, .ptr = page, .npages = 1};
	assert_int_equal(simmm_dmirror_ioctl(f.fd, 0x42, &c), -EINVAL);
	c = (struct simmm_dmirror_cmd){.addr = a, .ptr = NULL, .npages = 1};
	assert_int_equal(simmm_dmirror_ioctl(f.fd, SIMMM_DMIRROR_READ, &c), -EINVAL);
	assert_int_equal(simmm_dmirror_ioctl(NULL, SIMMM_DMIRROR_READ, &c), -EINVAL);
	/* cpages/faults are written only on success. */
	c = (struct simmm_dmirror_cmd){.addr = a, .ptr = page, .npages = 1, .cpages = 77};
	TU_ASSERT_OK(simmm_dmirror_ioctl(f.fd, SIMMM_DMIRROR_READ, &c));
	assert_int_equal(c.cpages, 1);
	assert_int_equal(c.faults, 1);
	assert_int_equal(page[0], 1);
	assert_int_equal(simmm_dmirror_device_create(f.sim, SIMMM_MEM_SYSTEM, 0, &d), -EINVAL);
	assert_int_equal(simmm_dmirror_device_create(NULL, SIMMM_MEM_DEVICE_PRIVATE, 0, &d),
			 -EINVAL);
	/* Destroy refuses while a file is open. */
	assert_int_equal(simmm_dmirror_device_destroy(f.dev), -EBUSY);
	fx_fini(&f);
}

/* Pages migrated through a file that is closed later still fault back. */
static void close_then_fault(void **state)
{
	struct fx f;
	enum { N = 8 };
	unsigned char *buf = malloc(N * 4096);
	struct simmm_dmirror_cmd c;
	struct simmm_dmirror_stats st;
	uint64_t a;

	(void)state;
	fx_init(&f, SIMMM_MEM_DEVICE_PRIVATE);
	a = map_filled(&f, N, 10);
	c = (struct simmm_dmirror_cmd){.addr = a, .ptr = buf, .npages = N};
	TU_ASSERT_OK(simmm_dmirror_ioctl(f.fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, &c));
	assert_int_equal(c.cpages, N);
	assert_int_equal(simmm_dmirror_mirrored(f.fd, a, NULL), 3);
	TU_ASSERT_OK(simmm_dmirror_close(f.fd));
	f.fd = NULL;
	TU_ASSERT_OK(simmm_mm_access(f.mm, a, buf, N * f.ps, SIMMM_ACCESS_READ));
	for (int i = 0; i < N; i++)
		assert_int_equal(buf[i * f.ps], 10 + i);
	TU_ASSERT_OK(simmm_dmirror_device_stats(f.dev, &st));
	assert_int_equal(st.to_ram, N);
	assert_int_equal(st.calloc, st.cfree);
	TU_CHECK(f.sim);
	fx_fini(&f);
	free(buf);
}

/* RELEASE evicts and unregisters; later migrations register a new chunk. */
static void release_and_reuse(void **state)
{
	struct fx f;
	enum { N = 16 };
	unsigned char *buf = malloc(N * 4096);
	struct simmm_dmirror_cmd c;
	struct simmm_dmirror_stats st;
	uint64_t a;

	(void)state;
	for (int type = SIMMM_MEM_DEVICE_PRIVATE; type <= SIMMM_MEM_DEVICE_COHERENT; type++) {
		fx_init(&f, (enum simmm_memtype)type);
		a = map_filled(&f, N, 3);
		c = (struct simmm_dmirror_cmd){.addr = a, .ptr = buf, .npages = N};
		TU_ASSERT_OK(simmm_dmirror_ioctl(f.fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, &c));
		TU_ASSERT_OK(simmm_dmirror_ioctl(f.fd, SIMMM_DMIRROR_RELEASE, &c));
		TU_ASSERT_OK(simmm_dmirror_device_stats(f.dev, &st));
		assert_int_equal(st.chunks, 0);
		assert_int_equal(st.evicted, N);
		c = (struct simmm_dmirror_cmd){.addr = a, .ptr = buf, .npages = N};
		TU_ASSERT_OK(simmm_dmirror_ioctl(f.fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, &c));
		assert_int_equal(c.cpages, N);
		TU_ASSERT_OK(simmm_dmirror_device_stats(f.dev, &st));
		assert_int_equal(st.chunks, 1);
		assert_int_equal(st.chunks_added, 2);
		for (int i = 0; i < N; i++)
			assert_int_equal(buf[i * f.ps], 3 + i);
		TU_CHECK(f.sim);
		fx_fini(&f);
	}
	free(buf);
}

/* A command on a process that exited fails instead of looping. */
static void exited_process(void **state)
{
	struct fx f;
	unsigned char page[4096];
	struct simmm_dmirror_cmd c;
	uint64_t a;

	(void)state;
	fx_init(&f, SIMMM_MEM_DEVICE_PRIVATE);
	a = map_filled(&f, 1, 1);
	TU_ASSERT_OK(simmm_mmput(f.mm));
	f.mm = NULL;
	c = (struct simmm_dmirror_cmd){.addr = a, .ptr = page, .npages = 1};
	assert_int_equal(simmm_dmirror_ioctl(f.fd, SIMMM_DMIRROR_READ, &c), -EINVAL);
	assert_int_equal(simmm_dmirror_ioctl(f.fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, &c), -EINVAL);
	assert_int_equal(simmm_dmirror_ioctl(f.fd, SIMMM_DMIRROR_SNAPSHOT, &c), -EINVAL);
	fx_fini(&f);
}

/* A non-blockable invalidation (the OOM reaper) with the device mutex
 * free: the callback's trylock succeeds and the mirror entry goes. */
static void nonblock_invalidate(void **state)
{
	struct fx f;
	struct simmm_mmu_notifier_range r;
	unsigned char page[4096];
	struct simmm_dmirror_cmd c;
	uint64_t a;
	int ret;

	(void)state;
	fx_init(&f, SIMMM_MEM_DEVICE_PRIVATE);
	a = map_filled(&f, 1, 1);
	c = (struct simmm_dmirror_cmd){.addr = a, .ptr = page, .npages = 1};
	TU_ASSERT_OK(simmm_dmirror_ioctl(f.fd, SIMMM_DMIRROR_READ, &c));
	assert_int_equal(simmm_dmirror_mirrored(f.fd, a, NULL), 3);
	simmm_mmu_notifier_range_init(&r, SIMMM_MMU_NOTIFY_CLEAR, 0, f.mm, a, a + f.ps);
	ret = simmm_mmu_notifier_invalidate_range_start_nonblock(&r);
	assert_int_equal(ret, 0);
	TU_ASSERT_OK(simmm_mmu_notifier_invalidate_range_end(&r));
	assert_int_equal(simmm_dmirror_mirrored(f.fd, a, NULL), 0);
	fx_fini(&f);
}

/*
 * Allocation N fails, N = 1, 2, ...: migrate to the device, fault half of
 * it back, migrate back, migrate again, RELEASE; then, injection off,
 * RELEASE and read everything back. A failed page copy (simmm's
 * folio_copy() allocates the destination's contents, the kernel's
 * copy_highpage() cannot fail) must decline the page, not migrate zeros:
 * found by fuzz_races (fuzz/regressions/fuzz_races/dmirror-copy-enomem-loses-data).
 */
#define SWEEP_PAGES 8

static int sweep_scenario(simmm_sim *sim, void *arg)
{
	uint64_t ps = 1ULL << simmm_sim_geometry(sim)->page_shift;
	struct simmm_dmirror_device *dev = NULL;
	struct simmm_dmirror *fd = NULL;
	struct simmm_mm *mm = NULL;
	unsigned char *buf = malloc(SWEEP_PAGES * ps);
	struct simmm_dmirror_cmd c;
	simmm_addr_t a;
	int err, ret = 0;
	(void)arg;

	err = simmm_dmirror_device_create(sim, SIMMM_MEM_DEVICE_PRIVATE, 2ULL << 20, &dev);
	if (!err)
		err = simmm_mm_create(sim, &mm);
	if (!err)
		err = simmm_dmirror_open(dev, mm, &fd);
	if (!err)
		err = simmm_mmap(mm, 0, SWEEP_PAGES * ps, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				 SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS, NULL, 0, &a);
	if (!err)
		err = tu_fill(mm, a, SWEEP_PAGES, ps, 60);
	if (err) {
		ret = err; /* nothing written yet: nothing to verify */
		goto out;
	}
	/* Every step may meet the failure; the later ones run anyway. */
	c = (struct simmm_dmirror_cmd){.addr = a, .ptr = buf, .npages = SWEEP_PAGES};
	err = simmm_dmirror_ioctl(fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, &c);
	ret = ret ? ret : err;
	err = tu_verify(mm, a, SWEEP_PAGES / 2, ps, 60);
	ret = ret ? ret : err;
	c = (struct simmm_dmirror_cmd){.addr = a, .ptr = buf, .npages = SWEEP_PAGES};
	err = simmm_dmirror_ioctl(fd, SIMMM_DMIRROR_MIGRATE_TO_SYS, &c);
	ret = ret ? ret : err;
	c = (struct simmm_dmirror_cmd){.addr = a, .ptr = buf, .npages = SWEEP_PAGES};
	err = simmm_dmirror_ioctl(fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, &c);
	ret = ret ? ret : err;
	c = (struct simmm_dmirror_cmd){.addr = a, .ptr = buf, .npages = 1};
	err = simmm_dmirror_ioctl(fd, SIMMM_DMIRROR_RELEASE, &c);
	ret = ret ? ret : err;
	/* With injection off: no page lost its data. */
	simmm_fault_inject(sim, NULL);
	err = simmm_dmirror_ioctl(fd, SIMMM_DMIRROR_RELEASE, &c);
	if (!err)
		err = tu_verify(mm, a, SWEEP_PAGES, ps, 60);
	if (err)
		ret = -EUCLEAN;
out:
	simmm_fault_inject(sim, NULL);
	if (simmm_dmirror_close(fd))
		ret = -EUCLEAN;
	if (mm && simmm_mmput(mm))
		ret = -EUCLEAN;
	if (simmm_dmirror_device_destroy(dev))
		ret = -EUCLEAN;
	free(buf);
	/* -ENOMEM, and -EFAULT / -ENOENT of a command that met the injected
	 * failure, are clean failures. */
	if (ret && ret != -EUCLEAN && simmm_fault_hits(sim))
		return -ENOMEM;
	return ret;
}

static void alloc_failure_sweep(void **state)
{
	struct simmm_sweep_result res;
	simmm_config cfg;
	int rc;

	(void)state;
	simmm_config_init(&cfg);
	cfg.ram_bytes = 16ULL << 20;
	rc = simmm_fault_sweep(&cfg, sweep_scenario, NULL, 5000, &res);
	print_message("dmirror sweep: %llu steps, %llu ended in -ENOMEM, %llu violations\n",
		      (unsigned long long)res.steps, (unsigned long long)res.enomem,
		      (unsigned long long)res.violations);
	TU_ASSERT_OK(rc);
	assert_true(res.steps > 20);
	assert_int_equal(res.violations, 0);
}

/* ---- races on the deterministic scheduler ------------------------------------ */

/*
 * A quarantining allocator for the race tests: a freed block is poisoned
 * and kept back for a while before it really goes, so a use after free
 * reads garbage (and fails the test) in every build, not only under ASan,
 * whose own quarantine this replaces for the machine's allocations.
 */
#define QUARANTINE 4096

struct quarantine {
	void *blk[QUARANTINE];
	unsigned next, n;
};

static void *q_alloc(void *ctx, size_t size)
{
	(void)ctx;
	return malloc(size ? size : 1); /* 16-aligned on the supported hosts */
}

static void q_free(void *ctx, void *ptr, size_t size)
{
	struct quarantine *q = ctx;

	memset(ptr, 0x6b, size);
	if (q->n == QUARANTINE)
		free(q->blk[q->next]);
	else
		q->n++;
	q->blk[q->next] = ptr;
	q->next = (q->next + 1) % QUARANTINE;
}

static void q_drain(struct quarantine *q)
{
	for (unsigned i = 0; i < q->n; i++)
		free(q->blk[i]);
	q->n = q->next = 0;
}

enum race_op {
	RACE_CPU_READ,       /* a CPU read faults the pages back (migrate_to_ram) */
	RACE_MIGRATE_TO_SYS, /* another file's MIGRATE_TO_SYS brings them back */
	RACE_MIGRATE_FRESH,  /* MIGRATE_TO_DEV into an empty device */
	RACE_MIGRATE_ABBA,   /* MIGRATE_TO_DEV that needs a second chunk */
};

#define RACE_PAGES 2

struct race {
	struct quarantine q;
	simmm_sim *sim;
	struct simmm_mm *mm;
	struct simmm_dmirror_device *dev;
	struct simmm_dmirror *fd, *fd2; /* fd: migrated / migrates; fd2: the other file */
	uint64_t ps, a;
	enum race_op op;
	unsigned char *buf;
	int ret, ret2;
	uint64_t cpages;
};

/* Task 1: the operation on the device pages (results only, no asserts). */
static void race_op_task(simmm_sim *sim, void *arg)
{
	struct race *r = arg;
	struct simmm_dmirror_cmd c = {.addr = r->a, .ptr = r->buf, .npages = RACE_PAGES};

	(void)sim;
	switch (r->op) {
	case RACE_CPU_READ:
		r->ret = simmm_mm_access(r->mm, r->a, r->buf, RACE_PAGES * r->ps,
					 SIMMM_ACCESS_READ);
		break;
	case RACE_MIGRATE_TO_SYS:
		r->ret = simmm_dmirror_ioctl(r->fd2, SIMMM_DMIRROR_MIGRATE_TO_SYS, &c);
		break;
	case RACE_MIGRATE_FRESH:
	case RACE_MIGRATE_ABBA:
		r->ret = simmm_dmirror_ioctl(r->fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, &c);
		break;
	}
	r->cpages = c.cpages;
}

/* Task 2: close the file that migrated the pages, or RELEASE. */
static void race_other_task(simmm_sim *sim, void *arg)
{
	struct race *r = arg;
	struct simmm_dmirror_cmd c = {.addr = r->a, .npages = 1};

	(void)sim;
	if (r->op == RACE_CPU_READ || r->op == RACE_MIGRATE_TO_SYS) {
		r->ret2 = simmm_dmirror_close(r->fd);
		r->fd = NULL;
	} else {
		r->ret2 = simmm_dmirror_ioctl(r->fd2, SIMMM_DMIRROR_RELEASE, &c);
	}
}

/*
 * One run: the setup of @op outside the scheduler, then task 1 alone for
 * @k scheduling choices and task 2 preferred from there (replay bytes), as
 * tests/test_hmm_race.c injects its invalidation. Returns the steps taken.
 * Every outcome is checked after the run: both tasks finished, no report,
 * the checker is clean, the data is intact and every device page is free
 * again after a final RELEASE.
 */
static uint64_t race_run(enum race_op op, unsigned k)
{
	static const struct simmm_allocator qa = {.alloc = q_alloc, .free = q_free};
	struct race *r = calloc(1, sizeof(*r));
	struct simmm_allocator alloc = qa;
	struct simmm_dmirror_stats st;
	struct simmm_sched_config sc;
	struct simmm_dmirror_cmd c;
	uint64_t steps, prefill = 0, pa = 0;
	bool toy = op == RACE_MIGRATE_ABBA;
	simmm_config cfg;
	uint8_t bytes[1024];
	int rc;

	alloc.ctx = &r->q;
	simmm_config_init(&cfg);
	/* toy-15bit: a PMD, and so a chunk, is 32 pages; cheap to fill. */
	cfg.geometry = toy ? "toy-15bit" : NULL;
	cfg.ram_bytes = toy ? 1ULL << 20 : 64ULL << 20;
	cfg.seed = 1;
	cfg.allocator = SIMMM_ALLOCATOR_CUSTOM;
	cfg.custom_allocator = &alloc;
	r->sim = tu_sim_new_cfg(&cfg);
	r->op = op;
	r->ps = 1ULL << simmm_sim_geometry(r->sim)->page_shift;
	r->buf = calloc(RACE_PAGES, r->ps);
	simmm_lockdep_enable(r->sim, true);
	/* Chunks of one PMD (the size is rounded up). */
	TU_ASSERT_OK(simmm_dmirror_device_create(r->sim, SIMMM_MEM_DEVICE_PRIVATE, 1, &r->dev));
	TU_ASSERT_OK(simmm_mm_create(r->sim, &r->mm));
	TU_ASSERT_OK(simmm_dmirror_open(r->dev, r->mm, &r->fd));
	TU_ASSERT_OK(simmm_dmirror_open(r->dev, r->mm, &r->fd2));
	if (op == RACE_MIGRATE_ABBA) {
		/* The other file fills the first chunk but one page: the
		 * migration takes that page, then needs devmem_lock for a new
		 * chunk while it holds it. */
		prefill = (1ULL << simmm_sim_geometry(r->sim)->level[SIMMM_LVL_PMD].shift) / r->ps - 1;
		TU_ASSERT_OK(simmm_mmap(r->mm, 0, prefill * r->ps, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
					SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS, NULL, 0, &pa));
		TU_ASSERT_OK(tu_fill(r->mm, pa, prefill, r->ps, 100));
		for (uint64_t i = 0; i < prefill; i++) {
			unsigned char *one = malloc(r->ps);

			c = (struct simmm_dmirror_cmd){.addr = pa + i * r->ps, .ptr = one, .npages = 1};
			TU_ASSERT_OK(simmm_dmirror_ioctl(r->fd2, SIMMM_DMIRROR_MIGRATE_TO_DEV, &c));
			free(one);
		}
		TU_ASSERT_OK(simmm_dmirror_device_stats(r->dev, &st));
		assert_int_equal(st.chunks, 1);
		assert_int_equal(st.calloc - st.cfree, prefill);
	}
	TU_ASSERT_OK(simmm_mmap(r->mm, 0, RACE_PAGES * r->ps, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS, NULL, 0, &r->a));
	TU_ASSERT_OK(tu_fill(r->mm, r->a, RACE_PAGES, r->ps, 20));
	if (op == RACE_CPU_READ || op == RACE_MIGRATE_TO_SYS) {
		c = (struct simmm_dmirror_cmd){.addr = r->a, .ptr = r->buf, .npages = RACE_PAGES};
		TU_ASSERT_OK(simmm_dmirror_ioctl(r->fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, &c));
		assert_int_equal(c.cpages, RACE_PAGES);
	}

	simmm_sched_config_init(r->sim, &sc);
	sc.policy = SIMMM_SCHED_REPLAY;
	memset(bytes, 0, sizeof(bytes));
	memset(bytes + (k < 512 ? k : 512), 1, 400);
	sc.replay = bytes;
	sc.replay_len = sizeof(bytes);
	TU_ASSERT_OK(simmm_sched_configure(r->sim, &sc));
	assert_true(simmm_sched_spawn(r->sim, "op", race_op_task, r) > 0);
	assert_true(simmm_sched_spawn(r->sim, "close/release", race_other_task, r) > 0);
	rc = simmm_sched_run(r->sim, 2000000);
	if (rc != SIMMM_SCHED_DONE)
		fail_msg("op %d k %u: run %d:\n%s", op, k, rc, simmm_reports(r->sim, NULL));
	steps = simmm_sched_steps(r->sim);
	if (simmm_reports_count(r->sim, 0))
		fail_msg("op %d k %u: reports:\n%s", op, k, simmm_reports(r->sim, NULL));
	TU_CHECK(r->sim);
	TU_ASSERT_OK(r->ret2);
	switch (op) {
	case RACE_CPU_READ:
		TU_ASSERT_OK(r->ret);
		for (int i = 0; i < RACE_PAGES; i++)
			assert_int_equal(r->buf[i * r->ps], 20 + i);
		break;
	case RACE_MIGRATE_TO_SYS:
		TU_ASSERT_OK(r->ret);
		assert_int_equal(r->cpages, RACE_PAGES);
		break;
	default:
		/* Before or after the RELEASE: the pages migrated, or an
		 * allocation failed cleanly (-ENOENT from the read-back). */
		if (r->ret && r->ret != -ENOENT)
			fail_msg("op %d k %u: MIGRATE_TO_DEV %d", op, k, r->ret);
		break;
	}
	/* Everything comes back; the device is empty after a last RELEASE. */
	c = (struct simmm_dmirror_cmd){.addr = r->a, .npages = 1};
	TU_ASSERT_OK(simmm_dmirror_ioctl(r->fd2, SIMMM_DMIRROR_RELEASE, &c));
	TU_ASSERT_OK(simmm_dmirror_device_stats(r->dev, &st));
	assert_int_equal(st.chunks, 0);
	assert_int_equal(st.calloc, st.cfree);
	TU_ASSERT_OK(tu_verify(r->mm, r->a, RACE_PAGES, r->ps, 20));
	if (prefill)
		TU_ASSERT_OK(tu_verify(r->mm, pa, prefill, r->ps, 100));
	TU_CHECK(r->sim);
	TU_ASSERT_OK(simmm_dmirror_close(r->fd));
	TU_ASSERT_OK(simmm_dmirror_close(r->fd2));
	TU_ASSERT_OK(simmm_mmput(r->mm));
	TU_ASSERT_OK(simmm_dmirror_device_destroy(r->dev));
	tu_sim_free(&r->sim);
	q_drain(&r->q);
	free(r->buf);
	free(r);
	return steps;
}

/* Every k from 0 to the length of an undisturbed run of task 1. */
static void race_every_point(enum race_op op)
{
	uint64_t kmax = race_run(op, 100000) + 2;

	for (unsigned k = 0; k <= kmax; k++)
		race_run(op, k);
	print_message("op %d: %llu interleavings\n", op, (unsigned long long)kmax + 1);
}

/*
 * dmirror close vs fault-back (fuzz_races: dmirror-close-vs-fault-use-after-free):
 * the fault-back read the file that migrated the page when it started and
 * used it after migrate_vma_setup() and its own allocations slept; a close
 * of that file meanwhile freed it (use after free of its mutex). The same
 * for another file's MIGRATE_TO_SYS, which erases the owner's mirror
 * entries after sleeping on its own mutex.
 */
static void close_vs_fault_back(void **state)
{
	(void)state;
	race_every_point(RACE_CPU_READ);
	race_every_point(RACE_MIGRATE_TO_SYS);
}

/*
 * RELEASE vs MIGRATE_TO_DEV (fuzz_races: dmirror-release-vs-migrate-deadlock):
 * RELEASE held devmem_lock while memunmap_pages() waited for the chunk's
 * pages; a migration holding a page of the chunk and waiting for
 * devmem_lock to add a chunk never finished (ABBA), and a page taken off the
 * free list before RELEASE marked the chunk was mapped after eviction's one
 * pass, so nothing ever freed it (RELEASE alone waited forever).
 */
static void release_vs_migrate(void **state)
{
	(void)state;
	race_every_point(RACE_MIGRATE_FRESH);
	race_every_point(RACE_MIGRATE_ABBA);
}

/* One page through a file's READ (the first byte), 0 or the error. */
static int read_one(struct fx *f, struct simmm_dmirror *fd, uint64_t addr, unsigned char *v)
{
	unsigned char *buf = malloc(f->ps);
	struct simmm_dmirror_cmd c = {.addr = addr, .ptr = buf, .npages = 1};
	int ret = simmm_dmirror_ioctl(fd, SIMMM_DMIRROR_READ, &c);

	*v = buf[0];
	free(buf);
	return ret;
}

/* WRITE of one page through @fd, every byte @v. */
static int write_one(struct fx *f, struct simmm_dmirror *fd, uint64_t addr, unsigned char v)
{
	unsigned char *buf = malloc(f->ps);
	struct simmm_dmirror_cmd c = {.addr = addr, .ptr = buf, .npages = 1};
	int ret;

	memset(buf, v, f->ps);
	ret = simmm_dmirror_ioctl(fd, SIMMM_DMIRROR_WRITE, &c);
	free(buf);
	return ret;
}

/* MIGRATE_TO_DEV of one page through @fd. */
static int migrate_one(struct fx *f, struct simmm_dmirror *fd, uint64_t addr)
{
	unsigned char *buf = malloc(f->ps);
	struct simmm_dmirror_cmd c = {.addr = addr, .ptr = buf, .npages = 1};
	int ret = simmm_dmirror_ioctl(fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, &c);

	free(buf);
	return ret;
}

/*
 * Two files of one device (fuzz_races: dmirror-other-file-stale-mirror):
 * every migration invalidates with the device as owner, and upstream's
 * notifier ignored all of them, so the second file kept mirroring a
 * system page the first one migrated away, then the backing page of a
 * device page a CPU fault brought home; both pages were freed and reused,
 * and its READ returned another page's data. Sequential, no race needed.
 */
static void other_file_stale_mirror(void **state)
{
	struct simmm_dmirror *fd2;
	unsigned char v = 0, page[4096];
	struct fx f;
	uint64_t a, b;

	(void)state;
	fx_init(&f, SIMMM_MEM_DEVICE_PRIVATE);
	TU_ASSERT_OK(simmm_dmirror_open(f.dev, f.mm, &fd2));
	a = map_filled(&f, 2, 20);
	/* fd2 mirrors the system page; fd migrates it, then page 1 (whose
	 * backing page is allocated after the freed system page). */
	TU_ASSERT_OK(read_one(&f, fd2, a, &v));
	assert_int_equal(v, 20);
	TU_ASSERT_OK(migrate_one(&f, f.fd, a));
	TU_ASSERT_OK(migrate_one(&f, f.fd, a + f.ps));
	TU_ASSERT_OK(read_one(&f, fd2, a, &v));
	assert_int_equal(v, 20);
	/* fd2 now mirrors fd's device page; a CPU write brings it home (its
	 * backing page is freed), a new page takes the freed frame. */
	memset(page, 77, sizeof(page));
	TU_ASSERT_OK(simmm_mm_access(f.mm, a, page, 1, SIMMM_ACCESS_WRITE));
	b = map_filled(&f, 2, 90);
	(void)b;
	TU_ASSERT_OK(read_one(&f, fd2, a, &v));
	assert_int_equal(v, 77);
	TU_ASSERT_OK(read_one(&f, fd2, a + f.ps, &v));
	assert_int_equal(v, 21);
	TU_CHECK(f.sim);
	TU_ASSERT_OK(simmm_dmirror_close(fd2));
	fx_fini(&f);
}

struct zap_race {
	struct fx f;
	struct simmm_dmirror *fd; /* the migrating file */
	uint64_t a;
	unsigned char *buf;
	int ret, ret2, ret3;
	struct simmm_mmu_notifier_range held; /* deferred mode: the open invalidation */
};

enum { ZAP_PAGES = 2 };

/* Task 1: MIGRATE_TO_DEV of the pages (results only, no asserts). */
static void zap_migrate_task(simmm_sim *sim, void *arg)
{
	struct zap_race *r = arg;
	struct simmm_dmirror_cmd c = {.addr = r->a, .ptr = r->buf, .npages = ZAP_PAGES};

	(void)sim;
	r->ret = simmm_dmirror_ioctl(r->fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, &c);
}

/* Task 2: MADV_DONTNEED of the same pages. */
static void zap_dontneed_task(simmm_sim *sim, void *arg)
{
	struct zap_race *r = arg;

	(void)sim;
	r->ret2 = simmm_madvise(r->f.mm, r->a, ZAP_PAGES * r->f.ps, SIMMM_MADV_DONTNEED);
}

/* Deferred mode, task 3: end the invalidation that was open when the
 * migrating file was opened, once the others are done or asleep. */
static void zap_end_task(simmm_sim *sim, void *arg)
{
	struct zap_race *r = arg;

	(void)simmm_sched_sleep(sim, 50);
	r->ret3 = simmm_mmu_notifier_invalidate_range_end(&r->held);
}

/* Partial mode, task 2: MADV_DONTNEED of the first page only. */
static void zap_dontneed_first_task(simmm_sim *sim, void *arg)
{
	struct zap_race *r = arg;

	(void)sim;
	r->ret2 = simmm_madvise(r->f.mm, r->a, r->f.ps, SIMMM_MADV_DONTNEED);
}

enum zap_mode {
	ZAP_ALL,      /* DONTNEED of every page */
	ZAP_DEFERRED, /* the same, the migrating file opened during an invalidation */
	ZAP_PARTIAL,  /* READ of every page first, DONTNEED of the first page only */
};

/* One run with the DONTNEED preferred after @k choices; returns the steps.
 * ZAP_DEFERRED: the migrating file is opened while an invalidation of
 * another range of the mm is in progress (its notifier's insertion is
 * deferred to that invalidation's end, which a third task brings 50 ms
 * later). ZAP_PARTIAL: the file mirrors the system pages before the race,
 * and the pages the DONTNEED spares may migrate. */
static uint64_t zap_run(unsigned k, enum zap_mode mode)
{
	bool deferred = mode == ZAP_DEFERRED;
	struct zap_race *r = calloc(1, sizeof(*r));
	struct simmm_sched_config sc;
	unsigned char v, cpu;
	uint8_t bytes[1024];
	uint64_t steps;
	int rc;

	fx_init(&r->f, SIMMM_MEM_DEVICE_PRIVATE);
	r->buf = calloc(ZAP_PAGES, r->f.ps);
	r->a = map_filled(&r->f, ZAP_PAGES, 20);
	r->fd = r->f.fd;
	for (unsigned i = 0; mode == ZAP_PARTIAL && i < ZAP_PAGES; i++) {
		TU_ASSERT_OK(read_one(&r->f, r->fd, r->a + i * r->f.ps, &v));
		assert_int_equal(v, 20 + i);
	}
	if (deferred) {
		simmm_mmu_notifier_range_init(&r->held, SIMMM_MMU_NOTIFY_CLEAR, 0, r->f.mm,
					      r->a + 16 * r->f.ps, r->a + 17 * r->f.ps);
		TU_ASSERT_OK(simmm_mmu_notifier_invalidate_range_start(&r->held));
		TU_ASSERT_OK(simmm_dmirror_open(r->f.dev, r->f.mm, &r->fd));
	}
	simmm_sched_config_init(r->f.sim, &sc);
	sc.policy = SIMMM_SCHED_REPLAY;
	memset(bytes, 0, sizeof(bytes));
	memset(bytes + (k < 512 ? k : 512), 1, 400);
	sc.replay = bytes;
	sc.replay_len = sizeof(bytes);
	TU_ASSERT_OK(simmm_sched_configure(r->f.sim, &sc));
	assert_true(simmm_sched_spawn(r->f.sim, "migrate", zap_migrate_task, r) > 0);
	assert_true(simmm_sched_spawn(r->f.sim, "dontneed",
				      mode == ZAP_PARTIAL ? zap_dontneed_first_task
							  : zap_dontneed_task,
				      r) > 0);
	if (deferred)
		assert_true(simmm_sched_spawn(r->f.sim, "end", zap_end_task, r) > 0);
	rc = simmm_sched_run(r->f.sim, 2000000);
	if (rc != SIMMM_SCHED_DONE)
		fail_msg("k %u: run %d:\n%s", k, rc, simmm_reports(r->f.sim, NULL));
	steps = simmm_sched_steps(r->f.sim);
	if (simmm_reports_count(r->f.sim, 0))
		fail_msg("k %u: reports:\n%s", k, simmm_reports(r->f.sim, NULL));
	TU_CHECK(r->f.sim);
	TU_ASSERT_OK(r->ret2);
	TU_ASSERT_OK(r->ret3);
	if (r->ret && r->ret != -ENOENT)
		fail_msg("k %u: MIGRATE_TO_DEV %d", k, r->ret);
	/* New pages take the frames freed by the zap; the mirror must not
	 * read them: READ gives what the CPU reads. */
	map_filled(&r->f, 4, 90);
	for (unsigned i = 0; i < ZAP_PAGES; i++) {
		TU_ASSERT_OK(read_one(&r->f, r->fd, r->a + i * r->f.ps, &v));
		TU_ASSERT_OK(simmm_mm_access(r->f.mm, r->a + i * r->f.ps, &cpu, 1,
					     SIMMM_ACCESS_READ));
		if (v != cpu)
			fail_msg("k %u: page %u: READ %#x, CPU %#x", k, i, v, cpu);
	}
	TU_CHECK(r->f.sim);
	if (r->fd != r->f.fd)
		TU_ASSERT_OK(simmm_dmirror_close(r->fd));
	fx_fini(&r->f);
	free(r->buf);
	free(r);
	return steps;
}

/* The race at every scheduling point of the migration: k = 0 .. one past
 * the number of points a run with no DONTNEED passes. */
static void zap_sweep(enum zap_mode mode)
{
	uint64_t kmax = zap_run(100000, mode) + 2;

	for (unsigned k = 0; k <= kmax; k++)
		zap_run(k, mode);
	print_message("%llu interleavings\n", (unsigned long long)kmax + 1);
}

/*
 * MIGRATE_TO_DEV vs MADV_DONTNEED (fuzz_races:
 * dmirror-migrate-vs-dontneed-stale-mirror): the zap between setup and
 * finalize removed the new device entries, finalize freed the device
 * pages, and the driver had mirrored them anyway: a later READ returned
 * whatever reused the freed backing page. DONTNEED at every scheduling
 * point of the migration.
 */
static void migrate_vs_dontneed(void **state)
{
	(void)state;
	zap_sweep(ZAP_ALL);
}

/*
 * The same race on a file opened while another range of the mm was being
 * invalidated (fuzz_races: dmirror-deferred-notifier-migrate-vs-dontneed):
 * mmu_interval_notifier_insert() defers such a notifier until the mm's
 * invalidations have all ended, so its callback never saw the DONTNEED
 * and the migration mapped the freed device pages (READ then returned the
 * data of whatever reused them). MIGRATE_TO_DEV now waits in
 * mmu_interval_read_begin() first. DONTNEED at every scheduling point.
 */
static void migrate_vs_dontneed_deferred_notifier(void **state)
{
	(void)state;
	zap_sweep(ZAP_DEFERRED);
}

/*
 * The same race with the pages mirrored before (fuzz_races:
 * dmirror-raced-migrate-stale-mirror): READ mirrors both system pages,
 * MADV_DONTNEED of page 0 races with MIGRATE_TO_DEV of both. The driver
 * ignores its own migration's invalidation (upstream: finalize_and_map
 * overwrites the mirror with the device pages), but a chunk another task
 * invalidated maps nothing, so page 1, which migrated, stayed mirrored on
 * its old system page, freed by migrate_vma_finalize(): READ returned
 * whatever reused the frame. DONTNEED at every scheduling point.
 */
static void migrate_vs_partial_dontneed_mirrored(void **state)
{
	(void)state;
	zap_sweep(ZAP_PARTIAL);
}

/*
 * READ swaps a page in by a read fault, MIGRATE_TO_DEV moves it to the
 * device, WRITE writes it (fuzz_races: dmirror-write-after-read-swapin).
 * simmm's swap-in mapped the exclusive page read-only on a read fault
 * (upstream maps it writable since 6.11), the migration made a read-only
 * device entry, and WRITE's hmm_range_fault(REQ_WRITE) reported the
 * device's own page read-only: dmirror WARNed and failed with -EFAULT.
 */
static void write_after_read_swapin(void **state)
{
	unsigned char v = 0;
	uint64_t a, n = 0;
	struct fx f;

	(void)state;
	fx_init(&f, SIMMM_MEM_DEVICE_PRIVATE);
	a = map_filled(&f, 1, 30);
	TU_ASSERT_OK(simmm_reclaim(f.sim, 100, &n));
	assert_int_equal(n, 1);
	TU_ASSERT_OK(read_one(&f, f.fd, a, &v));
	assert_int_equal(v, 30);
	TU_ASSERT_OK(migrate_one(&f, f.fd, a));
	TU_ASSERT_OK(write_one(&f, f.fd, a, 31));
	assert_int_equal(simmm_reports_count(f.sim, 0), 0);
	TU_ASSERT_OK(tu_verify(f.mm, a, 1, f.ps, 31));
	TU_CHECK(f.sim);
	fx_fini(&f);
}

/*
 * Upstream behaviour the fuzz_races oracle relies on
 * (dmirror-write-ro-migrated-then-rw): a page migrated to the device while
 * PROT_READ gets a read-only device-private entry, and mprotect back to
 * PROT_READ | PROT_WRITE leaves it read-only (change_pte_range() only
 * downgrades non-present entries). WRITE's hmm_range_fault(REQ_WRITE)
 * reports the owner's page as is, VALID without WRITE, and
 * dmirror_do_fault() WARNs and fails with -EFAULT; the CPU's write fault
 * brings the page back to RAM, writable, and WRITE then succeeds.
 */
static void write_ro_migrated_then_rw(void **state)
{
	static const char warn[] = "dmirror: write fault returned a read-only entry at ";
	struct fx f;
	uint64_t a;

	(void)state;
	fx_init(&f, SIMMM_MEM_DEVICE_PRIVATE);
	a = map_filled(&f, 1, 40);
	TU_ASSERT_OK(simmm_mprotect(f.mm, a, f.ps, SIMMM_PROT_READ));
	TU_ASSERT_OK(migrate_one(&f, f.fd, a));
	TU_ASSERT_OK(simmm_mprotect(f.mm, a, f.ps, SIMMM_PROT_READ | SIMMM_PROT_WRITE));
	assert_int_equal(write_one(&f, f.fd, a, 41), -EFAULT);
	assert_int_equal(simmm_reports_count(f.sim, 0), 1);
	assert_non_null(strstr(simmm_reports(f.sim, NULL), warn));
	simmm_reports_clear(f.sim);
	TU_ASSERT_OK(tu_verify(f.mm, a, 1, f.ps, 40));
	TU_CHECK(f.sim);
	/* the CPU fault (tu_verify reads: migrate_to_ram) made it a RAM page
	 * again; a write fault through hmm_range_fault() now succeeds */
	TU_ASSERT_OK(write_one(&f, f.fd, a, 41));
	assert_int_equal(simmm_reports_count(f.sim, 0), 0);
	TU_ASSERT_OK(tu_verify(f.mm, a, 1, f.ps, 41));
	TU_CHECK(f.sim);
	fx_fini(&f);
}

/*
 * The first chunk's memremap_pages() failing (fuzz_races:
 * dmirror-chunk-array-leak): the chunk array grown for it was freed only
 * with the last chunk, so a device that never got one leaked it at
 * destroy. An injected failure at every allocation of the first
 * MIGRATE_TO_DEV; the simulator must then be destroyed without a leak.
 */
static void first_chunk_failure_no_leak(void **state)
{
	(void)state;
	for (unsigned nth = 1; nth <= 12; nth++) {
		struct simmm_fault_config fc = {.mode = SIMMM_FAULT_NTH, .nth = nth};
		unsigned char *buf;
		struct simmm_dmirror_cmd c;
		struct fx f;
		uint64_t a;

		fx_init(&f, SIMMM_MEM_DEVICE_PRIVATE);
		buf = malloc(f.ps);
		a = map_filled(&f, 1, 7);
		TU_ASSERT_OK(simmm_fault_inject(f.sim, &fc));
		c = (struct simmm_dmirror_cmd){.addr = a, .ptr = buf, .npages = 1};
		(void)simmm_dmirror_ioctl(f.fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, &c);
		TU_ASSERT_OK(simmm_fault_inject(f.sim, NULL));
		TU_ASSERT_OK(tu_verify(f.mm, a, 1, f.ps, 7));
		TU_ASSERT_OK(simmm_dmirror_close(f.fd));
		TU_ASSERT_OK(simmm_mmput(f.mm));
		TU_ASSERT_OK(simmm_dmirror_device_destroy(f.dev));
		assert_int_equal(simmm_sim_destroy(&f.sim), 0);
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dpt_random),
		cmocka_unit_test(bad_args),
		cmocka_unit_test(close_then_fault),
		cmocka_unit_test(release_and_reuse),
		cmocka_unit_test(exited_process),
		cmocka_unit_test(nonblock_invalidate),
		cmocka_unit_test(alloc_failure_sweep),
		cmocka_unit_test(close_vs_fault_back),
		cmocka_unit_test(release_vs_migrate),
		cmocka_unit_test(other_file_stale_mirror),
		cmocka_unit_test(migrate_vs_dontneed),
		cmocka_unit_test(migrate_vs_dontneed_deferred_notifier),
		cmocka_unit_test(migrate_vs_partial_dontneed_mirrored),
		cmocka_unit_test(write_after_read_swapin),
		cmocka_unit_test(write_ro_migrated_then_rw),
		cmocka_unit_test(first_chunk_failure_no_leak),
	};

	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
