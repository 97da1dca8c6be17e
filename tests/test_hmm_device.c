// SPDX-License-Identifier: MIT
/*
 * hmm_range_fault() on device memory, now that device pages exist
 * (x86-64 4-level, 5-level and arm64 64K): a device-private entry of the caller's own pagemap is
 * reported as the device pfn (VALID, WRITE if the entry is writable) and
 * never faulted; one of another owner is 0 in a snapshot and, with
 * REQ_FAULT, migrated back through ->migrate_to_ram(); a device-exclusive
 * entry is 0 in a snapshot and restored by a fault.
 */
#include "test_migrate_util.h"
#include <simmm/hmm.h>

#define V SIMMM_HMM_PFN_VALID
#define W SIMMM_HMM_PFN_WRITE
#define RF SIMMM_HMM_PFN_REQ_FAULT
#define RW (SIMMM_PROT_READ | SIMMM_PROT_WRITE)
#define ANON (SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS)

struct fx {
	struct simmm_mmu_interval_notifier mn; /* first */
	simmm_sim *sim;
	struct simmm_mm *mm;
	struct tdev dev, other;
	uint64_t ps, a;
};

static bool fx_inv(struct simmm_mmu_interval_notifier *sub, const struct simmm_mmu_notifier_range *r,
		   uint64_t cur_seq)
{
	(void)r;
	simmm_mmu_interval_set_seq(sub, cur_seq);
	return true;
}

static const struct simmm_mmu_interval_notifier_ops fx_ops = {.invalidate = fx_inv};

static struct fx *fx_new(const char *geometry)
{
	struct fx *f = calloc(1, sizeof(*f));
	uint64_t n = 0;

	f->sim = tu_sim_new(geometry, 256ULL << 20, tu_seed());
	f->ps = 1ULL << simmm_sim_geometry(f->sim)->page_shift;
	TU_ASSERT_OK(simmm_mm_create(f->sim, &f->mm));
	TU_ASSERT_OK(tdev_init(&f->dev, f->sim, SIMMM_MEM_DEVICE_PRIVATE, 32));
	TU_ASSERT_OK(tdev_init(&f->other, f->sim, SIMMM_MEM_DEVICE_PRIVATE, 32));
	TU_ASSERT_OK(simmm_mmap(f->mm, 0, 4 * f->ps, RW, ANON, NULL, 0, &f->a));
	TU_ASSERT_OK(tu_fill(f->mm, f->a, 4, f->ps, 21));
	TU_ASSERT_OK(tdev_migrate(&f->dev, f->mm, f->a, 4, SIMMM_MIGRATE_VMA_SELECT_SYSTEM, &n));
	assert_int_equal(n, 4);
	TU_ASSERT_OK(simmm_mmu_interval_notifier_insert(&f->mn, f->mm, f->a, 4 * f->ps, &fx_ops));
	return f;
}

static void fx_free(struct fx *f)
{
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&f->mn));
	TU_ASSERT_OK(simmm_mmput(f->mm));
	TU_ASSERT_OK(simmm_memunmap_pages(&f->dev.pgmap));
	TU_ASSERT_OK(simmm_memunmap_pages(&f->other.pgmap));
	tu_sim_free(&f->sim);
	free(f);
}

static int fx_hmm(struct fx *f, void *owner, uint64_t flags, uint64_t *pfns)
{
	struct simmm_hmm_range r = {.notifier = &f->mn, .start = f->a, .end = f->a + 4 * f->ps,
				    .hmm_pfns = pfns, .default_flags = flags,
				    .dev_private_owner = owner};
	int ret = -EBUSY;

	for (int tries = 0; tries < 8 && ret == -EBUSY; tries++) {
		memset(pfns, 0, 4 * sizeof(*pfns));
		r.notifier_seq = simmm_mmu_interval_read_begin(&f->mn);
		TU_ASSERT_OK(simmm_mmap_read_lock(f->mm));
		ret = simmm_hmm_range_fault(&r);
		TU_ASSERT_OK(simmm_mmap_read_unlock(f->mm));
	}
	return ret;
}

static void own_device_pages_reported(void **state)
{
	struct fx *f = fx_new(*(const char **)*state);
	uint64_t pfns[4];
	struct simmm_mm *child;

	(void)state;
	for (int fault = 0; fault < 2; fault++) {
		TU_ASSERT_OK(fx_hmm(f, &f->dev, fault ? RF | SIMMM_HMM_PFN_REQ_WRITE : 0, pfns));
		for (int i = 0; i < 4; i++) {
			simmm_entry_t e = tu_pte(f->mm, f->a + i * f->ps);

			assert_int_equal(pfns[i], simmm_swp_offset_pfn(e) | V | W);
			assert_true(simmm_is_device_private_page(f->sim, simmm_swp_offset_pfn(e)));
		}
	}
	assert_int_equal(f->dev.to_ram, 0); /* never faulted */
	/* After fork the entries are readable: VALID only. */
	TU_ASSERT_OK(simmm_fork(f->mm, &child));
	TU_ASSERT_OK(fx_hmm(f, &f->dev, 0, pfns));
	for (int i = 0; i < 4; i++)
		assert_int_equal(pfns[i] & SIMMM_HMM_PFN_FLAGS, V);
	assert_int_equal(f->dev.to_ram, 0);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_CHECK(f->sim);
	fx_free(f);
}

static void other_owner_faults_back(void **state)
{
	struct fx *f = fx_new(*(const char **)*state);
	uint64_t pfns[4];

	(void)state;
	TU_ASSERT_OK(fx_hmm(f, &f->other, 0, pfns));
	for (int i = 0; i < 4; i++)
		assert_int_equal(pfns[i], 0);
	TU_ASSERT_OK(fx_hmm(f, NULL, 0, pfns)); /* no owner: the same */
	for (int i = 0; i < 4; i++)
		assert_int_equal(pfns[i], 0);
	assert_int_equal(f->dev.to_ram, 0);
	TU_ASSERT_OK(fx_hmm(f, &f->other, RF, pfns));
	assert_int_equal(f->dev.to_ram, 4);
	for (int i = 0; i < 4; i++) {
		assert_true(pfns[i] & V);
		assert_false(simmm_is_zone_device_page(f->sim, simmm_hmm_pfn_to_pfn(pfns[i])));
	}
	assert_int_equal(tu_verify(f->mm, f->a, 4, f->ps, 21), 0);
	TU_CHECK(f->sim);
	fx_free(f);
}

static void exclusive_entries(void **state)
{
	struct fx *f = fx_new(*(const char **)*state);
	uint64_t pfns[4], n = 0;
	simmm_pfn_t p;
	struct simmm_mm_stats st;

	(void)state;
	TU_ASSERT_OK(tdev_migrate(&f->dev, f->mm, f->a, 4, SIMMM_MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
				  &n));
	TU_ASSERT_OK(simmm_mmap_read_lock(f->mm));
	TU_ASSERT_OK(simmm_make_device_exclusive(f->mm, f->a, &f->dev, &p));
	TU_ASSERT_OK(simmm_mmap_read_unlock(f->mm));
	TU_ASSERT_OK(simmm_unlock_page(f->sim, p));
	simmm_page_put(f->sim, p);
	TU_ASSERT_OK(fx_hmm(f, &f->dev, 0, pfns));
	assert_int_equal(pfns[0], 0);
	assert_int_equal(pfns[1] & SIMMM_HMM_PFN_FLAGS, V | W);
	TU_ASSERT_OK(fx_hmm(f, &f->dev, RF, pfns));
	assert_int_equal(pfns[0], p | V | W);
	TU_ASSERT_OK(simmm_mm_stats(f->mm, &st));
	assert_int_equal(st.exclusive_faults, 1);
	assert_true(simmm_pte_present(tu_pte(f->mm, f->a)));
	TU_CHECK(f->sim);
	fx_free(f);
}

/* The rules hold on every geometry HMM is tested on. */
static const char *geometries[] = {"x86_64-4level", "x86_64-5level", "arm64-64k-48"};

#define FOR_GEOS(fn)                                                           \
	cmocka_unit_test_prestate(fn, &geometries[0]),                         \
	cmocka_unit_test_prestate(fn, &geometries[1]),                         \
	cmocka_unit_test_prestate(fn, &geometries[2])

int main(void)
{
	const struct CMUnitTest tests[] = {
		FOR_GEOS(own_device_pages_reported),
		FOR_GEOS(other_owner_faults_back),
		FOR_GEOS(exclusive_entries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
