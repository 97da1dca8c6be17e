// SPDX-License-Identifier: MIT
/*
 * Allocation-failure sweep over the device-migration paths: migrate to
 * device (migrate_vma_setup/pages/finalize), CPU fault-back through
 * ->migrate_to_ram, migrate back to system memory, and VMA-less eviction
 * (migrate_device_range/pages/finalize), with allocation N failing for
 * N = 1, 2, ... Whatever fails, no data is ever lost: with injection off
 * afterwards every page reads back what was written; the checker finds
 * nothing and destroy finds no leak (both checked by simmm_fault_sweep).
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "test_migrate_util.h"

#define NPAGES 8

/* -ENOMEM and the SIGBUS-like -EFAULT of a driver that could not
 * allocate its destination are the expected failures under injection. */
static bool injected(int err)
{
	return err == -ENOMEM || err == -EFAULT;
}

static int scenario(simmm_sim *sim, void *arg)
{
	struct tdev dev;
	struct simmm_mm *mm = NULL;
	uint64_t ps = 1ULL << simmm_sim_geometry(sim)->page_shift, moved = 0;
	simmm_addr_t a;
	int err, ret = 0;
	(void)arg;

	err = simmm_mm_create(sim, &mm);
	if (err)
		return err;
	err = tdev_init(&dev, sim, SIMMM_MEM_DEVICE_PRIVATE, 2 * NPAGES);
	if (err) {
		simmm_mmput(mm);
		return err;
	}
	err = simmm_mmap(mm, 0, NPAGES * ps, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
			 SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS, NULL, 0, &a);
	if (!err)
		err = tu_fill(mm, a, NPAGES, ps, 40);
	if (err) {
		ret = err; /* nothing was written: nothing to verify */
		goto out;
	}
	/* Each step may fail on an injected allocation; later steps run
	 * anyway so every path meets the failure point in turn. */
	err = tdev_migrate(&dev, mm, a, NPAGES, SIMMM_MIGRATE_VMA_SELECT_SYSTEM, &moved);
	if (err && !ret)
		ret = err;
	err = tu_verify(mm, a, NPAGES / 2, ps, 40); /* fault-back of half */
	if (err && !ret)
		ret = err;
	err = tdev_migrate(&dev, mm, a, NPAGES, SIMMM_MIGRATE_VMA_SELECT_DEVICE_PRIVATE, &moved);
	if (err && !ret)
		ret = err;
	err = tdev_migrate(&dev, mm, a, NPAGES, SIMMM_MIGRATE_VMA_SELECT_SYSTEM, &moved);
	if (err && !ret)
		ret = err;
	err = tdev_evict(&dev);
	if (err && !ret)
		ret = err;
	/* With injection off: no page lost its data. */
	simmm_fault_inject(sim, NULL);
	err = tdev_evict(&dev);
	if (!err)
		err = tu_verify(mm, a, NPAGES, ps, 40);
	if (err)
		ret = -EUCLEAN;
out:
	simmm_fault_inject(sim, NULL);
	simmm_mmput(mm);
	if (simmm_memunmap_pages(&dev.pgmap))
		ret = -EUCLEAN;
	if (ret && injected(ret) && simmm_fault_hits(sim))
		return -ENOMEM; /* a clean failure under injection */
	return ret;
}

static void sweep_migration_paths(void **state)
{
	struct simmm_sweep_result res;
	simmm_config cfg;
	(void)state;

	simmm_config_init(&cfg);
	cfg.ram_bytes = 64ULL << 20;
	int rc = simmm_fault_sweep(&cfg, scenario, NULL, 5000, &res);
	print_message("migration sweep: %llu steps, %llu ended in -ENOMEM, %llu violations\n",
		      (unsigned long long)res.steps, (unsigned long long)res.enomem,
		      (unsigned long long)res.violations);
	TU_ASSERT_OK(rc);
	assert_true(res.steps > 20);
	assert_int_equal(res.violations, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sweep_migration_paths),
	};
	return cmocka_run_group_tests_name("migrate_faultinj", tests, NULL, NULL);
}
