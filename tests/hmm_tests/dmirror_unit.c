// SPDX-License-Identifier: MIT
/*
 * Unit tests of the dmirror device beyond hmm-tests: its page-table hash
 * against a reference, argument checking, the lifetime rules (close with
 * pages still on the device, destroy with open files, an exited process),
 * RELEASE followed by new allocations, a non-blockable invalidation, and
 * an allocation-failure sweep over its migrations (no data lost).
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include <simmm/device.h>

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
	};

	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
