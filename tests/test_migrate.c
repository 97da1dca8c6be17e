// SPDX-License-Identifier: MIT
/*
 * migrate_vma (mm/migrate_device.c) at PTE level: every -EINVAL of setup,
 * the collect rules (holes, zero page, selection flags, owners, pins,
 * locks), migration entries and what they keep, insertion into holes,
 * the fault-back path (including a driver that declines), restore on
 * failure, VMA-less eviction, make_device_exclusive, device-coherent
 * memory with long-term GUP, and the 2017 one-call interface.
 */
#include "test_migrate_util.h"

#define RW (SIMMM_PROT_READ | SIMMM_PROT_WRITE)
#define ANON (SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS)
#define SYS SIMMM_MIGRATE_VMA_SELECT_SYSTEM
#define DEVP SIMMM_MIGRATE_VMA_SELECT_DEVICE_PRIVATE
#define DEVC SIMMM_MIGRATE_VMA_SELECT_DEVICE_COHERENT
#define MIG SIMMM_MIGRATE_PFN_MIGRATE

struct rec {
	struct simmm_mmu_interval_notifier mn; /* first */
	unsigned events[16];
	void *owner[16];
};

static bool rec_invalidate(struct simmm_mmu_interval_notifier *sub,
			   const struct simmm_mmu_notifier_range *r, uint64_t cur_seq)
{
	struct rec *rc = (struct rec *)sub;

	simmm_mmu_interval_set_seq(sub, cur_seq);
	rc->events[r->event]++;
	rc->owner[r->event] = r->owner;
	return true;
}

static const struct simmm_mmu_interval_notifier_ops rec_ops = {.invalidate = rec_invalidate};

struct fx {
	simmm_sim *sim;
	struct simmm_mm *mm;
	struct tdev dev;
	struct rec rec;
	uint64_t ps;
};

static struct fx *fx_new(enum simmm_memtype type)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->sim = tu_sim_new(NULL, 256ULL << 20, tu_seed());
	f->ps = 1ULL << simmm_sim_geometry(f->sim)->page_shift;
	TU_ASSERT_OK(simmm_mm_create(f->sim, &f->mm));
	TU_ASSERT_OK(tdev_init(&f->dev, f->sim, type, 256));
	TU_ASSERT_OK(simmm_mmu_interval_notifier_insert(
		&f->rec.mn, f->mm, 0, simmm_sim_geometry(f->sim)->user_va_end - f->ps, &rec_ops));
	return f;
}

static void fx_free(struct fx *f)
{
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&f->rec.mn));
	TU_ASSERT_OK(simmm_mmput(f->mm));
	TU_CHECK(f->sim);
	TU_ASSERT_OK(simmm_memunmap_pages(&f->dev.pgmap));
	tu_sim_free(&f->sim);
	free(f);
}

static uint64_t fx_map(struct fx *f, uint64_t n, int prot, int flags)
{
	simmm_addr_t a;

	TU_ASSERT_OK(simmm_mmap(f->mm, 0, n * f->ps, prot, flags, NULL, 0, &a));
	return a;
}

/* 8 pages: 0 a hole, 1 the zero page, 2..7 data (seed 2 + i). */
static uint64_t fx_mixed(struct fx *f)
{
	uint64_t a = fx_map(f, 8, RW, ANON);
	char c;

	TU_ASSERT_OK(simmm_mm_access(f->mm, a + f->ps, &c, 1, SIMMM_ACCESS_READ));
	TU_ASSERT_OK(tu_fill(f->mm, a + 2 * f->ps, 6, f->ps, 2));
	return a;
}

static bool is_dev_entry(struct fx *f, uint64_t addr)
{
	simmm_entry_t e = tu_pte(f->mm, addr);

	return simmm_is_device_private_entry(e) &&
	       simmm_is_device_private_page(f->sim, simmm_swp_offset_pfn(e));
}

static uint64_t fx_stats(struct fx *f, size_t off)
{
	struct simmm_mm_stats st;

	TU_ASSERT_OK(simmm_mm_stats(f->mm, &st));
	return *(uint64_t *)((char *)&st + off);
}
#define STAT(f, field) fx_stats(f, offsetof(struct simmm_mm_stats, field))

/* ---- setup arguments ------------------------------------------------------------- */

static int setup_locked(struct fx *f, struct simmm_migrate_vma *m)
{
	int err;

	TU_ASSERT_OK(simmm_mmap_read_lock(f->mm));
	err = simmm_migrate_vma_setup(m);
	if (!err)
		simmm_migrate_vma_finalize(m);
	TU_ASSERT_OK(simmm_mmap_read_unlock(f->mm));
	return err;
}

static void setup_einval(void **state)
{
	struct fx *f = fx_new(SIMMM_MEM_DEVICE_PRIVATE);
	uint64_t a = fx_map(f, 4, RW, ANON), src[4], dst[4];
	uint64_t mixed = fx_map(f, 1, RW, ANON | SIMMM_MAP_MIXEDMAP);
	struct simmm_migrate_vma m;
	simmm_pfn_t dp, sp;

	(void)state;
	TU_ASSERT_OK(tu_fill(f->mm, a, 1, f->ps, 1));
#define M(...) (m = (struct simmm_migrate_vma){.src = src, .dst = dst, __VA_ARGS__})
	assert_int_equal(simmm_migrate_vma_setup(NULL), -EINVAL);
	TU_ASSERT_OK(simmm_mmap_read_lock(f->mm));
	struct simmm_vma *vma = simmm_vma_lookup(f->mm, a), *mv = simmm_vma_lookup(f->mm, mixed);
	TU_ASSERT_OK(simmm_mmap_read_unlock(f->mm));
	M(.flags = SYS, .vma = NULL, .start = a, .end = a + f->ps);
	assert_int_equal(setup_locked(f, &m), -EINVAL);
	M(.flags = SYS, .vma = mv, .start = mixed, .end = mixed + f->ps); /* VM_SPECIAL */
	assert_int_equal(setup_locked(f, &m), -EINVAL);
	M(.flags = SYS, .vma = vma, .start = a, .end = a); /* empty */
	assert_int_equal(setup_locked(f, &m), -EINVAL);
	M(.flags = SYS, .vma = vma, .start = a + f->ps, .end = a); /* backwards */
	assert_int_equal(setup_locked(f, &m), -EINVAL);
	M(.flags = SYS, .vma = vma, .start = a - f->ps, .end = a + f->ps); /* start outside */
	assert_int_equal(setup_locked(f, &m), -EINVAL);
	M(.flags = SYS, .vma = vma, .start = a, .end = a + 5 * f->ps); /* end outside */
	assert_int_equal(setup_locked(f, &m), -EINVAL);
	M(.vma = vma, .start = a, .end = a + f->ps);
	m.src = NULL;
	assert_int_equal(setup_locked(f, &m), -EINVAL);
	M(.vma = vma, .start = a, .end = a + f->ps);
	m.dst = NULL;
	assert_int_equal(setup_locked(f, &m), -EINVAL);
	/* fault_page: a system page, an unlocked device page. */
	sp = simmm_migrate_pfn_to_page(0);
	TU_ASSERT_OK(simmm_page_alloc(f->sim, 0, &sp));
	M(.flags = SYS, .vma = vma, .start = a, .end = a + f->ps, .fault_page = sp);
	assert_int_equal(setup_locked(f, &m), -EINVAL);
	dp = tdev_alloc(&f->dev);
	TU_ASSERT_OK(simmm_unlock_page(f->sim, dp));
	M(.flags = SYS, .vma = vma, .start = a, .end = a + f->ps, .fault_page = dp);
	assert_int_equal(setup_locked(f, &m), -EINVAL);
	/* Without the mmap lock: refused and reported. */
	M(.vma = vma, .start = a, .end = a + f->ps);
	assert_int_equal(simmm_migrate_vma_setup(&m), -EINVAL);
	assert_int_equal(simmm_reports_count(f->sim, SIMMM_REPORT_MISUSE), 1);
	simmm_reports_clear(f->sim);
	/* The page is untouched by all of this. */
	assert_true(simmm_pte_present(tu_pte(f->mm, a)));
	assert_int_equal(tu_verify(f->mm, a, 1, f->ps, 1), 0);
	/* A sub-page range rounds down to nothing: -EINVAL; zero pages
	 * collected is fine (0). */
	M(.flags = SYS, .vma = vma, .start = a + 1, .end = a + 2);
	assert_int_equal(setup_locked(f, &m), -EINVAL);
	M(.vma = vma, .start = a, .end = a + f->ps);
	assert_int_equal(setup_locked(f, &m), 0);
	assert_int_equal(m.cpages, 0);
	assert_int_equal(src[0], 0);
	simmm_page_put(f->sim, sp);
	simmm_page_put(f->sim, dp);
	TU_CHECK(f->sim);
	fx_free(f);
#undef M
}

static void setup_einval_hugetlb(void **state)
{
	struct fx *f = fx_new(SIMMM_MEM_DEVICE_PRIVATE);
	uint64_t src[512], dst[512];
	simmm_addr_t a;
	struct simmm_migrate_vma m = {.src = src, .dst = dst, .flags = SYS};

	(void)state;
	TU_ASSERT_OK(simmm_mmap(f->mm, 0, 512 * f->ps, RW, ANON | SIMMM_MAP_HUGETLB, NULL, 0, &a));
	TU_ASSERT_OK(simmm_mmap_read_lock(f->mm));
	m.vma = simmm_vma_lookup(f->mm, a);
	TU_ASSERT_OK(simmm_mmap_read_unlock(f->mm));
	m.start = a;
	m.end = a + 512 * f->ps;
	assert_int_equal(setup_locked(f, &m), -EINVAL);
	fx_free(f);
}

/* ---- to the device and back --------------------------------------------------------- */

static void to_device_and_fault_back(void **state)
{
	struct fx *f = fx_new(SIMMM_MEM_DEVICE_PRIVATE);
	uint64_t a = fx_mixed(f), n = 0;
	char zero[2] = {1, 1};

	(void)state;
	TU_ASSERT_OK(tdev_migrate(&f->dev, f->mm, a, 8, SYS, &n));
	assert_int_equal(n, 8);
	for (int i = 0; i < 8; i++)
		assert_true(is_dev_entry(f, a + i * f->ps));
	assert_true(simmm_is_writable_device_private_entry(tu_pte(f->mm, a)));
	assert_int_equal(f->rec.events[SIMMM_MMU_NOTIFY_MIGRATE], 2); /* collect + insert */
	assert_ptr_equal(f->rec.owner[SIMMM_MMU_NOTIFY_MIGRATE], &f->dev);
	assert_int_equal(f->dev.nfree, 256 - 8);
	TU_CHECK(f->sim);
	/* CPU reads fault every page back through ->migrate_to_ram(). */
	assert_int_equal(tu_verify(f->mm, a + 2 * f->ps, 6, f->ps, 2), 0);
	TU_ASSERT_OK(simmm_mm_access(f->mm, a, zero, 1, SIMMM_ACCESS_READ));
	TU_ASSERT_OK(simmm_mm_access(f->mm, a + f->ps, zero + 1, 1, SIMMM_ACCESS_READ));
	assert_int_equal(zero[0] | zero[1], 0);
	assert_int_equal(f->dev.to_ram, 8);
	assert_int_equal(STAT(f, devmem_faults), 8);
	assert_int_equal(f->dev.nfree, 256); /* every device page was freed */
	for (int i = 0; i < 8; i++)
		assert_true(simmm_pte_present(tu_pte(f->mm, a + i * f->ps)));
	TU_CHECK(f->sim);
	fx_free(f);
}

static void to_device_and_back_explicit(void **state)
{
	struct fx *f = fx_new(SIMMM_MEM_DEVICE_PRIVATE);
	uint64_t a = fx_map(f, 16, RW, ANON), n = 0;

	(void)state;
	TU_ASSERT_OK(tu_fill(f->mm, a, 16, f->ps, 9));
	TU_ASSERT_OK(tdev_migrate(&f->dev, f->mm, a, 16, SYS, &n));
	assert_int_equal(n, 16);
	TU_CHECK(f->sim);
	TU_ASSERT_OK(tdev_migrate(&f->dev, f->mm, a, 16, DEVP, &n));
	assert_int_equal(n, 16);
	for (int i = 0; i < 16; i++) {
		simmm_entry_t e = tu_pte(f->mm, a + i * f->ps);

		assert_true(simmm_pte_present(e));
		assert_true(simmm_pte_write(e));
		assert_false(simmm_is_zone_device_page(f->sim, simmm_pte_pfn(e)));
	}
	assert_int_equal(f->dev.to_ram, 0);
	assert_int_equal(tu_verify(f->mm, a, 16, f->ps, 9), 0);
	assert_int_equal(STAT(f, devmem_faults), 0);
	TU_CHECK(f->sim);
	fx_free(f);
}

static void selection_rules(void **state)
{
	struct fx *f = fx_new(SIMMM_MEM_DEVICE_PRIVATE);
	struct tdev other;
	uint64_t a = fx_mixed(f), n = 0, src[8], dst[8] = {0};
	struct simmm_migrate_vma m = {.src = src, .dst = dst, .start = a, .end = a + 8 * f->ps,
				      .pgmap_owner = &f->dev};

	(void)state;
	TU_ASSERT_OK(tdev_init(&other, f->sim, SIMMM_MEM_DEVICE_PRIVATE, 16));
	/* Without SELECT_SYSTEM: holes only (the zero page needs SYSTEM). */
	TU_ASSERT_OK(simmm_mmap_read_lock(f->mm));
	m.vma = simmm_vma_lookup(f->mm, a);
	TU_ASSERT_OK(simmm_migrate_vma_setup(&m));
	assert_int_equal(src[0], MIG);
	for (int i = 1; i < 8; i++)
		assert_int_equal(src[i], 0);
	assert_int_equal(m.cpages, 1);
	assert_int_equal(m.npages, 8);
	TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
	TU_ASSERT_OK(simmm_migrate_vma_finalize(&m));
	/* With SELECT_SYSTEM: the zero page is MIGRATE only, pages VALID. */
	m.flags = SYS;
	TU_ASSERT_OK(simmm_migrate_vma_setup(&m));
	assert_int_equal(src[1], MIG);
	for (int i = 2; i < 8; i++) {
		simmm_pfn_t p = simmm_migrate_pfn_to_page(src[i]);

		assert_int_equal(src[i] & ~(~0ULL << SIMMM_MIGRATE_PFN_SHIFT),
				 SIMMM_MIGRATE_PFN_VALID | MIG | SIMMM_MIGRATE_PFN_WRITE);
		assert_true(simmm_is_migration_entry(tu_pte(f->mm, a + i * f->ps)));
		assert_int_equal(simmm_swp_offset_pfn(tu_pte(f->mm, a + i * f->ps)), p);
	}
	assert_int_equal(m.cpages, 8);
	TU_ASSERT_OK(simmm_migrate_vma_finalize(&m)); /* no dst: all restored */
	assert_int_equal(simmm_pte_pfn(tu_pte(f->mm, a + f->ps)), simmm_zero_pfn(f->sim));
	assert_int_equal(tu_verify(f->mm, a + 2 * f->ps, 6, f->ps, 2), 0);
	TU_ASSERT_OK(simmm_mmap_read_unlock(f->mm));
	TU_CHECK(f->sim);
	/* Device pages: only with SELECT_DEVICE_PRIVATE and the owner. */
	TU_ASSERT_OK(tdev_migrate(&f->dev, f->mm, a, 8, SYS, &n));
	assert_int_equal(n, 8);
	TU_ASSERT_OK(tdev_migrate(&other, f->mm, a, 8, DEVP, &n));
	assert_int_equal(n, 0);
	TU_ASSERT_OK(tdev_migrate(&f->dev, f->mm, a, 8, SYS, &n));
	assert_int_equal(n, 0);
	for (int i = 0; i < 8; i++)
		assert_true(is_dev_entry(f, a + i * f->ps));
	TU_CHECK(f->sim);
	TU_ASSERT_OK(simmm_munmap(f->mm, a, 8 * f->ps)); /* zap frees device pages */
	assert_int_equal(f->dev.nfree, 256);
	TU_ASSERT_OK(simmm_memunmap_pages(&other.pgmap));
	fx_free(f);
}

/* A pinned page, an extra reference and a locked page stay put. */
static void pinned_referenced_locked_stay(void **state)
{
	struct fx *f = fx_new(SIMMM_MEM_DEVICE_PRIVATE);
	uint64_t a = fx_map(f, 4, RW, ANON), n = 0;
	simmm_pfn_t pin, ref, lk;

	(void)state;
	TU_ASSERT_OK(tu_fill(f->mm, a, 4, f->ps, 3));
	assert_int_equal(simmm_pin_user_pages(f->mm, a, 1, SIMMM_FOLL_WRITE, &pin), 1);
	assert_int_equal(simmm_get_user_pages(f->mm, a + f->ps, 1, 0, &ref), 1);
	lk = simmm_pte_pfn(tu_pte(f->mm, a + 2 * f->ps));
	TU_ASSERT_OK(simmm_lock_page(f->sim, lk));
	TU_ASSERT_OK(tdev_migrate(&f->dev, f->mm, a, 4, SYS, &n));
	assert_int_equal(n, 1);
	assert_int_equal(simmm_pte_pfn(tu_pte(f->mm, a)), pin);
	assert_int_equal(simmm_pte_pfn(tu_pte(f->mm, a + f->ps)), ref);
	assert_true(simmm_pte_write(tu_pte(f->mm, a + f->ps))); /* restored as it was */
	assert_int_equal(simmm_pte_pfn(tu_pte(f->mm, a + 2 * f->ps)), lk);
	assert_true(is_dev_entry(f, a + 3 * f->ps));
	TU_CHECK(f->sim);
	TU_ASSERT_OK(simmm_unlock_page(f->sim, lk));
	TU_ASSERT_OK(simmm_unpin_user_pages(f->sim, &pin, 1));
	TU_ASSERT_OK(simmm_put_user_pages(f->sim, &ref, 1));
	TU_ASSERT_OK(tdev_migrate(&f->dev, f->mm, a, 4, SYS, &n));
	assert_int_equal(n, 3);
	assert_int_equal(tu_verify(f->mm, a, 4, f->ps, 3), 0);
	TU_CHECK(f->sim);
	fx_free(f);
}

/* Migration entries: writable / readable-exclusive / readable, with the
 * young, dirty and soft-dirty bits carried and restored. */
/* Collect one page with nothing to migrate to: its migration entry, then
 * the restored pte. */
static simmm_entry_t entry_during(struct fx *f, struct simmm_mm *mm, uint64_t addr,
				  simmm_entry_t *other, struct simmm_mm *omm)
{
	uint64_t src, dst = 0;
	struct simmm_migrate_vma m = {.src = &src, .dst = &dst, .start = addr,
				      .end = addr + f->ps, .flags = SYS};
	simmm_entry_t e;

	TU_ASSERT_OK(simmm_mmap_read_lock(mm));
	m.vma = simmm_vma_lookup(mm, addr);
	TU_ASSERT_OK(simmm_migrate_vma_setup(&m));
	assert_int_equal(m.cpages, 1);
	e = tu_pte(mm, addr);
	if (other)
		*other = tu_pte(omm, addr);
	TU_ASSERT_OK(simmm_migrate_vma_finalize(&m)); /* nothing moved: restored */
	TU_ASSERT_OK(simmm_mmap_read_unlock(mm));
	return e;
}

/* Migration entries: writable / readable-exclusive / readable, with the
 * young, dirty and soft-dirty bits carried and restored. */
static void migration_entry_kinds(void **state)
{
	struct fx *f = fx_new(SIMMM_MEM_DEVICE_PRIVATE);
	uint64_t a = fx_map(f, 3, RW, ANON);
	struct simmm_mm *child;
	simmm_entry_t before[3], e, ce;

	(void)state;
	TU_ASSERT_OK(tu_fill(f->mm, a, 3, f->ps, 4));
	TU_ASSERT_OK(simmm_mprotect(f->mm, a + f->ps, f->ps, SIMMM_PROT_READ));
	TU_ASSERT_OK(simmm_fork(f->mm, &child)); /* every page shared, COW */
	TU_ASSERT_OK(simmm_munmap(child, a, 2 * f->ps));
	TU_ASSERT_OK(tu_fill(f->mm, a, 1, f->ps, 4)); /* page 0 exclusive, writable */
	for (int i = 0; i < 3; i++)
		before[i] = tu_pte(f->mm, a + i * f->ps);
	assert_true(simmm_pte_write(before[0]));
	assert_false(simmm_pte_write(before[1]));
	e = entry_during(f, f->mm, a, NULL, NULL);
	assert_true(simmm_is_writable_migration_entry(e));
	assert_true(simmm_is_migration_entry_young(e));
	assert_true(simmm_is_migration_entry_dirty(e));
	assert_int_equal(simmm_pte_swp_soft_dirty(e), simmm_pte_soft_dirty(before[0]));
	/* Page 1: read-only, no longer shared after the child's munmap, but
	 * fork cleared its exclusive marker: readable. */
	e = entry_during(f, f->mm, a + f->ps, NULL, NULL);
	assert_true(simmm_is_readable_migration_entry(e));
	/* Page 2 is mapped by the child too: both ptes migrate (try_to_migrate
	 * on the other mm), both readable. */
	e = entry_during(f, f->mm, a + 2 * f->ps, &ce, child);
	assert_true(simmm_is_readable_migration_entry(e));
	assert_true(simmm_is_readable_migration_entry(ce));
	for (int i = 0; i < 3; i++)
		assert_int_equal(tu_pte(f->mm, a + i * f->ps), before[i]);
	assert_true(simmm_pte_present(tu_pte(child, a + 2 * f->ps)));
	TU_CHECK(f->sim);
	assert_int_equal(tu_verify(child, a + 2 * f->ps, 1, f->ps, 6), 0);
	/* An exclusive read-only page: readable-exclusive. */
	TU_ASSERT_OK(simmm_mprotect(f->mm, a, f->ps, SIMMM_PROT_READ));
	e = entry_during(f, f->mm, a, NULL, NULL);
	assert_true(simmm_is_readable_exclusive_migration_entry(e));
	assert_int_equal(tu_verify(f->mm, a, 1, f->ps, 4), 0);
	TU_CHECK(f->sim);
	TU_ASSERT_OK(simmm_mmput(child));
	fx_free(f);
}

/* ---- fault back ------------------------------------------------------------------- */

static void fault_back_declined_sigbus(void **state)
{
	struct fx *f = fx_new(SIMMM_MEM_DEVICE_PRIVATE);
	uint64_t a = fx_map(f, 2, RW, ANON), n = 0;
	char c;

	(void)state;
	TU_ASSERT_OK(tu_fill(f->mm, a, 2, f->ps, 5));
	TU_ASSERT_OK(tdev_migrate(&f->dev, f->mm, a, 2, SYS, &n));
	f->dev.decline = true;
	assert_int_equal(simmm_mm_access(f->mm, a, &c, 1, SIMMM_ACCESS_READ), -EFAULT);
	assert_int_equal(STAT(f, sigbus), 1);
	assert_true(is_dev_entry(f, a)); /* restored to the device page */
	TU_CHECK(f->sim);
	f->dev.decline = false;
	assert_int_equal(tu_verify(f->mm, a, 2, f->ps, 5), 0);
	TU_CHECK(f->sim);
	fx_free(f);
}

/* After fork both mms map the device page (readable); a fault in one
 * migrates it back for both (try_to_migrate finds the other mapping). */
static void fault_back_after_fork(void **state)
{
	struct fx *f = fx_new(SIMMM_MEM_DEVICE_PRIVATE);
	uint64_t a = fx_map(f, 2, RW, ANON), n = 0;
	struct simmm_mm *child;

	(void)state;
	TU_ASSERT_OK(tu_fill(f->mm, a, 2, f->ps, 7));
	TU_ASSERT_OK(tdev_migrate(&f->dev, f->mm, a, 2, SYS, &n));
	TU_ASSERT_OK(simmm_fork(f->mm, &child));
	assert_false(simmm_is_writable_device_private_entry(tu_pte(f->mm, a)));
	assert_false(simmm_is_writable_device_private_entry(tu_pte(child, a)));
	TU_CHECK(f->sim);
	assert_int_equal(tu_verify(child, a, 2, f->ps, 7), 0);
	assert_int_equal(f->dev.to_ram, 2);
	assert_int_equal(simmm_pte_pfn(tu_pte(f->mm, a)), simmm_pte_pfn(tu_pte(child, a)));
	assert_int_equal(tu_verify(f->mm, a, 2, f->ps, 7), 0);
	assert_int_equal(f->dev.to_ram, 2); /* the parent did not fault */
	TU_ASSERT_OK(tu_fill(child, a, 1, f->ps, 1)); /* COW */
	assert_int_equal(tu_verify(f->mm, a, 1, f->ps, 7), 0);
	TU_CHECK(f->sim);
	TU_ASSERT_OK(simmm_mmput(child));
	fx_free(f);
}

/* ---- eviction --------------------------------------------------------------------- */

static void evict_device_range(void **state)
{
	struct fx *f = fx_new(SIMMM_MEM_DEVICE_PRIVATE);
	uint64_t a = fx_map(f, 32, RW, ANON), n = 0;
	struct simmm_mm *child;
	uint64_t src[2];

	(void)state;
	TU_ASSERT_OK(tu_fill(f->mm, a, 32, f->ps, 11));
	TU_ASSERT_OK(tdev_migrate(&f->dev, f->mm, a, 32, SYS, &n));
	TU_ASSERT_OK(simmm_fork(f->mm, &child));
	assert_int_equal(simmm_migrate_device_range(f->sim, src, 1, 2), -EINVAL);
	assert_int_equal(simmm_migrate_device_range(f->sim, NULL, f->dev.pgmap.start_pfn, 2),
			 -EINVAL);
	assert_int_equal(simmm_migrate_device_range(f->sim, src, f->dev.pgmap.start_pfn, 257),
			 -EINVAL);
	src[0] = 3;
	assert_int_equal(simmm_migrate_device_pfns(f->sim, src, 1), -EINVAL);
	TU_ASSERT_OK(tdev_evict(&f->dev));
	assert_int_equal(f->dev.nfree, 256);
	for (int i = 0; i < 32; i++) {
		assert_true(simmm_pte_present(tu_pte(f->mm, a + i * f->ps)));
		assert_true(simmm_pte_present(tu_pte(child, a + i * f->ps)));
	}
	assert_int_equal(f->dev.to_ram, 0);
	assert_true(f->rec.events[SIMMM_MMU_NOTIFY_CLEAR] > 0); /* try_to_migrate */
	TU_CHECK(f->sim);
	assert_int_equal(tu_verify(f->mm, a, 32, f->ps, 11), 0);
	assert_int_equal(tu_verify(child, a, 32, f->ps, 11), 0);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_CHECK(f->sim);
	fx_free(f);
}

static void evict_pfns_and_memunmap_busy(void **state)
{
	struct fx *f = fx_new(SIMMM_MEM_DEVICE_PRIVATE);
	uint64_t a = fx_map(f, 4, RW, ANON), n = 0, src[4], dst[4];

	(void)state;
	TU_ASSERT_OK(tu_fill(f->mm, a, 4, f->ps, 13));
	TU_ASSERT_OK(tdev_migrate(&f->dev, f->mm, a, 4, SYS, &n));
	/* Pages still mapped: memunmap_pages refuses outside a task. */
	assert_int_equal(simmm_memunmap_pages(&f->dev.pgmap), -EBUSY);
	assert_int_equal(simmm_reports_count(f->sim, SIMMM_REPORT_WARN), 1);
	simmm_reports_clear(f->sim);
	for (int i = 0; i < 4; i++)
		src[i] = simmm_swp_offset_pfn(tu_pte(f->mm, a + i * f->ps));
	TU_ASSERT_OK(simmm_migrate_device_pfns(f->sim, src, 4));
	for (int i = 0; i < 4; i++)
		assert_true(src[i] & MIG);
	tdev_fill_dst(&f->dev, src, dst, 4);
	TU_ASSERT_OK(simmm_migrate_device_pages(f->sim, src, dst, 4));
	TU_ASSERT_OK(simmm_migrate_device_finalize(f->sim, src, dst, 4));
	assert_int_equal(tu_verify(f->mm, a, 4, f->ps, 13), 0);
	TU_CHECK(f->sim);
	fx_free(f);
}

/* ---- bad dst ---------------------------------------------------------------------- */

static void dst_not_locked_or_invalid(void **state)
{
	struct fx *f = fx_new(SIMMM_MEM_DEVICE_PRIVATE);
	uint64_t a = fx_map(f, 2, RW, ANON), src[2], dst[2];
	struct simmm_migrate_vma m = {.src = src, .dst = dst, .start = a, .end = a + 2 * f->ps,
				      .flags = SYS, .pgmap_owner = &f->dev};
	simmm_pfn_t p;

	(void)state;
	TU_ASSERT_OK(tu_fill(f->mm, a, 2, f->ps, 14));
	TU_ASSERT_OK(simmm_mmap_read_lock(f->mm));
	m.vma = simmm_vma_lookup(f->mm, a);
	for (int round = 0; round < 2; round++) {
		TU_ASSERT_OK(simmm_migrate_vma_setup(&m));
		p = tdev_alloc(&f->dev);
		if (round == 0) {
			TU_ASSERT_OK(simmm_unlock_page(f->sim, p)); /* not locked */
			dst[0] = simmm_migrate_pfn(p);
			dst[1] = 0;
		} else {
			dst[0] = simmm_migrate_pfn(p);
			dst[1] = simmm_migrate_pfn(f->dev.pgmap.start_pfn + 255); /* free frame */
		}
		assert_int_equal(simmm_migrate_vma_pages(&m), -EINVAL);
		assert_int_equal(simmm_reports_count(f->sim, SIMMM_REPORT_MISUSE), 1);
		simmm_reports_clear(f->sim);
		assert_false(src[0] & MIG);
		TU_ASSERT_OK(simmm_migrate_vma_finalize(&m));
		TU_CHECK(f->sim);
	}
	assert_int_equal(simmm_migrate_vma_pages(NULL), -EINVAL);
	assert_int_equal(simmm_migrate_vma_finalize(NULL), -EINVAL);
	TU_ASSERT_OK(simmm_mmap_read_unlock(f->mm));
	assert_int_equal(tu_verify(f->mm, a, 2, f->ps, 14), 0);
	assert_int_equal(f->dev.nfree, 256);
	fx_free(f);
}

/* Only private and coherent memory may be a destination; file pages
 * (simmm moves no page-cache folios) and holes of file VMAs stay. */
static void unsupported_destinations(void **state)
{
	struct fx *f = fx_new(SIMMM_MEM_DEVICE_PRIVATE);
	struct simmm_dev_pagemap gen = {.type = SIMMM_MEM_GENERIC};
	uint64_t a = fx_map(f, 1, RW, ANON), src[2], dst[2];
	struct simmm_migrate_vma m = {.src = src, .dst = dst, .start = a, .end = a + f->ps,
				      .flags = SYS};
	struct simmm_file *file;
	simmm_addr_t fa;

	(void)state;
	TU_ASSERT_OK(tu_fill(f->mm, a, 1, f->ps, 15));
	TU_ASSERT_OK(simmm_memremap_pages(f->sim, &gen, 4));
	TU_ASSERT_OK(simmm_zone_device_page_init(f->sim, gen.start_pfn));
	TU_ASSERT_OK(simmm_mmap_read_lock(f->mm));
	m.vma = simmm_vma_lookup(f->mm, a);
	TU_ASSERT_OK(simmm_migrate_vma_setup(&m));
	dst[0] = simmm_migrate_pfn(gen.start_pfn);
	TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
	assert_false(src[0] & MIG);
	TU_ASSERT_OK(simmm_migrate_vma_finalize(&m)); /* frees the generic page */
	TU_ASSERT_OK(simmm_mmap_read_unlock(f->mm));
	assert_int_equal(tu_verify(f->mm, a, 1, f->ps, 15), 0);
	TU_ASSERT_OK(simmm_memunmap_pages(&gen));
	/* A shared file mapping: the hole is not collected, the page is but
	 * cannot move. */
	TU_ASSERT_OK(simmm_file_create(f->sim, 2 * f->ps, 0, &file));
	TU_ASSERT_OK(simmm_mmap(f->mm, 0, 2 * f->ps, RW, SIMMM_MAP_SHARED, file, 0, &fa));
	TU_ASSERT_OK(tu_fill(f->mm, fa, 1, f->ps, 16));
	uint64_t n = 0;
	TU_ASSERT_OK(tdev_migrate(&f->dev, f->mm, fa, 2, SYS, &n));
	assert_int_equal(n, 0);
	assert_int_equal(tu_verify(f->mm, fa, 1, f->ps, 16), 0);
	TU_ASSERT_OK(simmm_file_put(file));
	TU_CHECK(f->sim);
	fx_free(f);
}

/* A page-cache page migrated to a system page (folio_migrate_mapping() moves
 * the cache slot): the mapping, read(2) and write(2) all see the new page. */
static void page_cache_to_system(void **state)
{
	struct fx *f = fx_new(SIMMM_MEM_DEVICE_PRIVATE);
	uint64_t src[2], dst[2];
	struct simmm_migrate_vma m = {.src = src, .dst = dst, .flags = SYS};
	struct simmm_page_info pi;
	struct simmm_file *file;
	simmm_pfn_t old, new;
	simmm_addr_t fa;
	char buf[8] = {0}, w = 'Z';

	(void)state;
	TU_ASSERT_OK(simmm_file_create(f->sim, 2 * f->ps, 0, &file));
	TU_ASSERT_OK(simmm_mmap(f->mm, 0, 2 * f->ps, RW, SIMMM_MAP_SHARED, file, 0, &fa));
	TU_ASSERT_OK(tu_fill(f->mm, fa, 1, f->ps, 21));
	old = simmm_pte_pfn(tu_pte(f->mm, fa));
	TU_ASSERT_OK(simmm_mmap_read_lock(f->mm));
	m.vma = simmm_vma_lookup(f->mm, fa);
	m.start = fa;
	m.end = fa + 2 * f->ps;
	TU_ASSERT_OK(simmm_migrate_vma_setup(&m));
	assert_int_equal(simmm_migrate_pfn_to_page(src[0]), old); /* collected */
	assert_true(src[0] & MIG);
	assert_int_equal(src[1], 0); /* a file hole is not collected */
	assert_true(simmm_is_migration_entry(tu_pte(f->mm, fa)));
	TU_ASSERT_OK(simmm_page_alloc(f->sim, 0, &new));
	TU_ASSERT_OK(simmm_lock_page(f->sim, new));
	TU_ASSERT_OK(simmm_folio_copy(f->sim, new, old));
	dst[0] = simmm_migrate_pfn(new);
	dst[1] = 0;
	TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
	assert_true(src[0] & MIG);
	TU_ASSERT_OK(simmm_migrate_vma_finalize(&m));
	TU_ASSERT_OK(simmm_mmap_read_unlock(f->mm));
	TU_CHECK(f->sim);
	assert_int_equal(simmm_pte_pfn(tu_pte(f->mm, fa)), new);
	TU_ASSERT_OK(simmm_page_info(f->sim, old, &pi));
	assert_true(pi.free); /* the cache's reference moved to the new page */
	TU_ASSERT_OK(simmm_page_info(f->sim, new, &pi));
	assert_int_equal(pi.refcount, 2); /* the cache + the pte */
	assert_int_equal(pi.mapcount, 1);
	assert_int_equal(tu_verify(f->mm, fa, 1, f->ps, 21), 0);
	/* write(2) lands in the new page, which the mapping shows. */
	assert_int_equal(simmm_file_pwrite(file, &w, 1, 3), 1);
	TU_ASSERT_OK(simmm_mm_access(f->mm, fa, buf, sizeof(buf), SIMMM_ACCESS_READ));
	assert_int_equal(buf[3], 'Z');
	/* A store through the mapping shows in read(2). */
	w = 'Q';
	TU_ASSERT_OK(simmm_mm_access(f->mm, fa + 5, &w, 1, SIMMM_ACCESS_WRITE));
	assert_int_equal(simmm_file_pread(file, buf, sizeof(buf), 0), (long)sizeof(buf));
	assert_int_equal(buf[5], 'Q');
	TU_CHECK(f->sim);
	TU_ASSERT_OK(simmm_munmap(f->mm, fa, 2 * f->ps));
	TU_ASSERT_OK(simmm_file_put(file));
	TU_CHECK(f->sim);
	fx_free(f);
}

/* ---- device-exclusive --------------------------------------------------------------- */

static void device_exclusive(void **state)
{
	struct fx *f = fx_new(SIMMM_MEM_DEVICE_PRIVATE);
	uint64_t a = fx_map(f, 2, RW, ANON);
	struct simmm_file *file;
	simmm_addr_t fa;
	simmm_pfn_t p, q;
	simmm_entry_t e;
	char c = 42;
	unsigned clear0;

	(void)state;
	assert_int_equal(simmm_make_device_exclusive(f->mm, a, &f->dev, &p), -EINVAL); /* no lock */
	simmm_reports_clear(f->sim);
	TU_ASSERT_OK(simmm_mmap_read_lock(f->mm));
	assert_int_equal(simmm_make_device_exclusive(f->mm, a, &f->dev, NULL), -EINVAL);
	TU_ASSERT_OK(simmm_make_device_exclusive(f->mm, a + 5, &f->dev, &p)); /* faults it in */
	TU_ASSERT_OK(simmm_mmap_read_unlock(f->mm));
	e = tu_pte(f->mm, a);
	assert_true(simmm_is_device_exclusive_entry(e));
	assert_int_equal(simmm_swp_offset_pfn(e), p);
	assert_int_equal(f->rec.events[SIMMM_MMU_NOTIFY_EXCLUSIVE], 1);
	assert_ptr_equal(f->rec.owner[SIMMM_MMU_NOTIFY_EXCLUSIVE], &f->dev);
	assert_int_equal(simmm_trylock_page(f->sim, p), 0); /* returned locked */
	TU_CHECK(f->sim);
	TU_ASSERT_OK(simmm_unlock_page(f->sim, p));
	assert_true(simmm_page_put(f->sim, p) >= 1);
	/* The CPU takes it back: CLEAR with owner NULL (6.15+), pte writable. */
	clear0 = f->rec.events[SIMMM_MMU_NOTIFY_CLEAR];
	TU_ASSERT_OK(simmm_mm_access(f->mm, a, &c, 1, SIMMM_ACCESS_WRITE));
	e = tu_pte(f->mm, a);
	assert_true(simmm_pte_present(e) && simmm_pte_write(e));
	assert_int_equal(simmm_pte_pfn(e), p);
	assert_int_equal(f->rec.events[SIMMM_MMU_NOTIFY_EXCLUSIVE], 1);
	assert_int_equal(f->rec.events[SIMMM_MMU_NOTIFY_CLEAR], clear0 + 1);
	assert_null(f->rec.owner[SIMMM_MMU_NOTIFY_CLEAR]);
	assert_int_equal(STAT(f, exclusive_faults), 1);
	TU_CHECK(f->sim);
	/* Not anonymous: -EOPNOTSUPP. */
	TU_ASSERT_OK(simmm_file_create(f->sim, f->ps, 0, &file));
	TU_ASSERT_OK(simmm_mmap(f->mm, 0, f->ps, RW, SIMMM_MAP_SHARED, file, 0, &fa));
	TU_ASSERT_OK(simmm_mmap_read_lock(f->mm));
	assert_int_equal(simmm_make_device_exclusive(f->mm, fa, &f->dev, &q), -EOPNOTSUPP);
	assert_int_equal(simmm_make_device_exclusive(f->mm, 0x1000, &f->dev, &q), -EFAULT);
	TU_ASSERT_OK(simmm_mmap_read_unlock(f->mm));
	TU_ASSERT_OK(simmm_file_put(file));
	TU_CHECK(f->sim);
	fx_free(f);
}

/* ---- device-coherent memory ----------------------------------------------------------- */

static void coherent_memory_and_longterm_pin(void **state)
{
	struct fx *f = fx_new(SIMMM_MEM_DEVICE_COHERENT);
	uint64_t a = fx_map(f, 4, RW, ANON), n = 0;
	simmm_pfn_t pin, got;
	simmm_entry_t e;

	(void)state;
	TU_ASSERT_OK(tu_fill(f->mm, a, 4, f->ps, 17));
	TU_ASSERT_OK(tdev_migrate(&f->dev, f->mm, a, 4, SYS, &n));
	assert_int_equal(n, 4);
	e = tu_pte(f->mm, a);
	assert_true(simmm_pte_present(e)); /* normal ptes map coherent memory */
	assert_true(simmm_is_device_coherent_page(f->sim, simmm_pte_pfn(e)));
	assert_int_equal(tu_verify(f->mm, a, 4, f->ps, 17), 0); /* no fault needed */
	assert_int_equal(STAT(f, devmem_faults), 0);
	TU_CHECK(f->sim);
	/* A short-term GUP reference is fine... */
	assert_int_equal(simmm_get_user_pages(f->mm, a, 1, 0, &got), 1);
	assert_true(simmm_is_device_coherent_page(f->sim, got));
	TU_ASSERT_OK(simmm_put_user_pages(f->sim, &got, 1));
	/* ...a long-term pin migrates the page to system memory first. */
	assert_int_equal(simmm_pin_user_pages(f->mm, a, 1, SIMMM_FOLL_LONGTERM, &pin), 1);
	assert_false(simmm_is_zone_device_page(f->sim, pin));
	assert_int_equal(simmm_pte_pfn(tu_pte(f->mm, a)), pin);
	assert_int_equal(f->dev.nfree, 256 - 3);
	TU_CHECK(f->sim);
	TU_ASSERT_OK(simmm_unpin_user_pages(f->sim, &pin, 1));
	/* Back with SELECT_DEVICE_COHERENT and the owner. */
	TU_ASSERT_OK(tdev_migrate(&f->dev, f->mm, a, 4, DEVC, &n));
	assert_int_equal(n, 3);
	assert_int_equal(f->dev.nfree, 256);
	assert_int_equal(tu_verify(f->mm, a, 4, f->ps, 17), 0);
	TU_ASSERT_OK(simmm_migrate_device_coherent_folio(f->sim, 5) == -EINVAL ? 0 : -1);
	TU_CHECK(f->sim);
	fx_free(f);
}

/* ---- the 2017 interface ------------------------------------------------------------------ */

static struct fx *legacy_fx;
static int legacy_finalized;

static void legacy_alloc_and_copy(struct simmm_vma *vma, const uint64_t *src, uint64_t *dst,
				  simmm_addr_t start, simmm_addr_t end, void *private)
{
	(void)vma;
	tdev_fill_dst(private, (uint64_t *)src, dst, (end - start) / legacy_fx->ps);
}

static void legacy_finalize_and_map(struct simmm_vma *vma, const uint64_t *src,
				    const uint64_t *dst, simmm_addr_t start, simmm_addr_t end,
				    void *private)
{
	(void)vma;
	(void)dst;
	(void)private;
	for (uint64_t i = 0; i < (end - start) / legacy_fx->ps; i++)
		legacy_finalized += (src[i] & MIG) != 0;
}

static void legacy_one_call(void **state)
{
	struct fx *f = fx_new(SIMMM_MEM_DEVICE_PRIVATE);
	const struct simmm_migrate_vma_ops ops = {legacy_alloc_and_copy, legacy_finalize_and_map};
	uint64_t a = fx_map(f, 4, RW, ANON), src[4], dst[4];
	struct simmm_vma *vma;

	(void)state;
	legacy_fx = f;
	TU_ASSERT_OK(tu_fill(f->mm, a, 4, f->ps, 19));
	TU_ASSERT_OK(simmm_mmap_read_lock(f->mm));
	vma = simmm_vma_lookup(f->mm, a);
	assert_int_equal(simmm_migrate_vma(NULL, vma, a, a + f->ps, src, dst, &f->dev), -EINVAL);
	assert_int_equal(simmm_migrate_vma(&ops, vma, a + 1, a + f->ps, src, dst, &f->dev),
			 -EINVAL);
	TU_ASSERT_OK(simmm_migrate_vma(&ops, vma, a, a + 4 * f->ps, src, dst, &f->dev));
	assert_int_equal(legacy_finalized, 4);
	for (int i = 0; i < 4; i++)
		assert_true(is_dev_entry(f, a + i * f->ps));
	/* And back: the cookie stands in for the owner. */
	TU_ASSERT_OK(simmm_migrate_vma(&ops, vma, a, a + 4 * f->ps, src, dst, &f->dev));
	assert_int_equal(legacy_finalized, 8);
	TU_ASSERT_OK(simmm_mmap_read_unlock(f->mm));
	assert_true(simmm_pte_present(tu_pte(f->mm, a)));
	assert_int_equal(tu_verify(f->mm, a, 4, f->ps, 19), 0);
	TU_CHECK(f->sim);
	fx_free(f);
}

/* SELECT_COMPOUND over an aligned empty PMD: one MIGRATE|COMPOUND entry;
 * small destinations split it into 512 holes [6.19+]. A mapped THP is
 * split and collected page by page. */
static void compound_hole_and_thp_split(void **state)
{
	struct fx *f = fx_new(SIMMM_MEM_DEVICE_PRIVATE);
	uint64_t pmd = 512 * f->ps, raw = fx_map(f, 1024, RW, ANON), a = (raw + pmd - 1) & ~(pmd - 1);
	uint64_t *src = calloc(512, sizeof(*src)), *dst = calloc(512, sizeof(*dst)), n = 0;
	struct simmm_migrate_vma m = {.src = src, .dst = dst, .start = a, .end = a + pmd,
				      .pgmap_owner = &f->dev,
				      .flags = SYS | SIMMM_MIGRATE_VMA_SELECT_COMPOUND};
	struct tdev big;

	(void)state;
	TU_ASSERT_OK(tdev_init(&big, f->sim, SIMMM_MEM_DEVICE_PRIVATE, 512));
	TU_ASSERT_OK(simmm_mmap_read_lock(f->mm));
	m.vma = simmm_vma_lookup(f->mm, a);
	TU_ASSERT_OK(simmm_migrate_vma_setup(&m));
	assert_int_equal(src[0], MIG | SIMMM_MIGRATE_PFN_COMPOUND);
	assert_int_equal(src[1], 0);
	assert_int_equal(src[511], 0);
	assert_int_equal(m.cpages, 1);
	for (int i = 0; i < 512; i++)
		dst[i] = simmm_migrate_pfn(tdev_alloc(&big)) | SIMMM_MIGRATE_PFN_WRITE;
	TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
	for (int i = 0; i < 512; i++)
		assert_int_equal(src[i], MIG);
	TU_ASSERT_OK(simmm_migrate_vma_finalize(&m));
	TU_ASSERT_OK(simmm_mmap_read_unlock(f->mm));
	for (int i = 0; i < 512; i += 97)
		assert_true(simmm_is_device_private_entry(tu_pte(f->mm, a + i * f->ps)));
	TU_CHECK(f->sim);
	TU_ASSERT_OK(simmm_munmap(f->mm, a, pmd));
	assert_int_equal(big.nfree, 512);
	TU_ASSERT_OK(simmm_memunmap_pages(&big.pgmap));
	/* A PMD-mapped THP: split, then migrated page by page. */
	TU_ASSERT_OK(simmm_madvise(f->mm, a + pmd, pmd, SIMMM_MADV_HUGEPAGE));
	TU_ASSERT_OK(tu_fill(f->mm, a + pmd, 2, f->ps, 30));
	assert_int_equal(simmm_level_size(simmm_mm_pgtable(f->mm), SIMMM_LVL_PMD), pmd);
	{
		struct simmm_translation t;

		TU_ASSERT_OK(simmm_pgtable_translate(simmm_mm_pgtable(f->mm), a + pmd, &t));
		assert_int_equal(t.level, SIMMM_LVL_PMD);
	}
	TU_ASSERT_OK(tdev_migrate(&f->dev, f->mm, a + pmd, 2, SYS, &n));
	assert_int_equal(n, 2);
	assert_true(is_dev_entry(f, a + pmd));
	assert_true(simmm_pte_present(tu_pte(f->mm, a + pmd + 2 * f->ps)));
	assert_int_equal(tu_verify(f->mm, a + pmd, 2, f->ps, 30), 0);
	TU_CHECK(f->sim);
	free(src);
	free(dst);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(setup_einval),
		cmocka_unit_test(setup_einval_hugetlb),
		cmocka_unit_test(to_device_and_fault_back),
		cmocka_unit_test(to_device_and_back_explicit),
		cmocka_unit_test(selection_rules),
		cmocka_unit_test(pinned_referenced_locked_stay),
		cmocka_unit_test(migration_entry_kinds),
		cmocka_unit_test(fault_back_declined_sigbus),
		cmocka_unit_test(fault_back_after_fork),
		cmocka_unit_test(evict_device_range),
		cmocka_unit_test(evict_pfns_and_memunmap_busy),
		cmocka_unit_test(dst_not_locked_or_invalid),
		cmocka_unit_test(unsupported_destinations),
		cmocka_unit_test(page_cache_to_system),
		cmocka_unit_test(device_exclusive),
		cmocka_unit_test(coherent_memory_and_longterm_pin),
		cmocka_unit_test(legacy_one_call),
		cmocka_unit_test(compound_hole_and_thp_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
