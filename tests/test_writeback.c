// SPDX-License-Identifier: MIT
/*
 * Dirty tracking of shared file mappings (src/mm/writeback.c):
 *  1. write-notify: a read fault maps a shared file page read-only and
 *     clean, the first write takes a write-protect fault and dirties the
 *     folio; a write fault on a missing pte maps it writable and dirty;
 *  2. fsync write-protects and cleans every shared mapping of each dirty
 *     folio inside one PROTECTION_PAGE invalidation per shared VMA, writes
 *     the data back, and leaves private mappings alone; clean files see
 *     no invalidation; the next write faults again;
 *  3. shmem shared mappings have no write-notify, and their fsync does
 *     nothing;
 *  4. mprotect makes a pte of a write-notify mapping writable only if it
 *     is dirty;
 *  5. msync: argument checks, holes (-ENOMEM after syncing the rest),
 *     MS_ASYNC (nothing written), MS_SYNC of part of a mapping, -EBUSY for
 *     MS_INVALIDATE on a VM_LOCKED VMA;
 *  6. a write racing with fsync (one task sleeps in the second mm's
 *     PROTECTION_PAGE callback after the first mm's pte was cleaned): the
 *     write fault waits for the folio lock and dirties the folio again
 *     after the writeback, never leaving a writable pte on a clean folio;
 *  7. an HMM mirror: a device read fault maps the page read-only, a device
 *     write fault dirties it, fsync invalidates the mirror's range;
 *  8. a write fault on one file page preempted at each of its scheduling
 *     points in turn while another task faults the same page in (shared
 *     and private mappings), writes it back (fsync), zaps it
 *     (MADV_DONTNEED) or reclaims it (MADV_PAGEOUT): the fault re-checks
 *     its pte, and a shared one holds the folio lock from page_mkwrite
 *     until the pte is writable, as upstream's finish_fault() /
 *     finish_mkwrite_fault() (found by fuzz_races: a doubled mapcount and
 *     rss), and a reference across the lock (wp_page_shared()'s
 *     folio_get(); found by fuzz_races: reclaim freed the page and the
 *     fault locked and dirtied the free frame).
 * The invariant checker runs after each step; it holds "a writable pte of
 * a write-notify mapping maps a dirty folio".
 */
#include <stdlib.h>

#include <simmm/hmm.h>

#include "test_mm_ext_util.h"

#define RW (SIMMM_PROT_READ | SIMMM_PROT_WRITE)
#define WAIT_YIELDS 100000

static struct simmm_file *new_file(simmm_sim *sim, unsigned pages, unsigned flags)
{
	struct simmm_file *f = NULL;

	TU_ASSERT_OK(simmm_file_create(sim, pages * PS, flags, &f));
	return f;
}

static simmm_addr_t map_file(struct simmm_mm *mm, struct simmm_file *f, unsigned pages,
			     int prot, int flags, uint64_t off)
{
	simmm_addr_t a = 0;

	TU_ASSERT_OK(simmm_mmap(mm, 0, pages * PS, prot, flags, f, off, &a));
	return a;
}

static struct simmm_file_stats fstats(struct simmm_file *f)
{
	struct simmm_file_stats st;

	TU_ASSERT_OK(simmm_file_stats(f, &st));
	return st;
}

static void expect_pte(struct simmm_mm *mm, simmm_addr_t a, bool write, bool dirty)
{
	struct simmm_translation t = mx_tr(mm, a);

	assert_true(t.present);
	assert_int_equal(simmm_pte_write(t.entry), write);
	assert_int_equal(simmm_pte_dirty(t.entry), dirty);
}

/* Put @mm and @f, check, destroy the machine. */
static void wb_done(simmm_sim **sim, struct simmm_mm *mm, struct simmm_file *f)
{
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	TU_CHECK(*sim);
	tu_sim_free(sim);
}

static uint64_t faults(struct simmm_mm *mm)
{
	struct simmm_mm_stats st = mx_stats(mm);

	return st.minor_faults + st.major_faults;
}

/* ---- 1. write-notify ---------------------------------------------------------------- */

static void test_read_then_write_faults(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 16 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = new_file(sim, 4, 0);
	simmm_addr_t a = map_file(mm, f, 4, RW, SIMMM_MAP_SHARED, 0);
	uint8_t b = 0;
	uint64_t n;

	TU_ASSERT_OK(simmm_mm_access(mm, a, &b, 1, SIMMM_ACCESS_READ));
	expect_pte(mm, a, false, false); /* vm_page_prot has no write bit */
	assert_int_equal(fstats(f).dirty, 0);
	TU_CHECK(sim);

	n = faults(mm);
	mx_write(mm, a, 1); /* wp fault: page_mkwrite dirties the folio */
	assert_int_equal(faults(mm), n + 1);
	expect_pte(mm, a, true, true);
	assert_int_equal(fstats(f).dirty, 1);
	n = faults(mm);
	mx_write(mm, a, 2); /* writable now: no fault */
	assert_int_equal(faults(mm), n);
	TU_CHECK(sim);

	/* A write on a missing pte: do_shared_fault(), one fault. */
	n = faults(mm);
	mx_write(mm, a + PS, 3);
	assert_int_equal(faults(mm), n + 1);
	expect_pte(mm, a + PS, true, true);
	assert_int_equal(fstats(f).dirty, 2);
	TU_CHECK(sim);

	/* Private mappings of the file are unaffected: COW on write. */
	simmm_addr_t p = map_file(mm, f, 4, RW, SIMMM_MAP_PRIVATE, 0);
	TU_ASSERT_OK(simmm_mm_access(mm, p + 2 * PS, &b, 1, SIMMM_ACCESS_READ));
	expect_pte(mm, p + 2 * PS, false, false);
	mx_write(mm, p + 2 * PS, 4);
	expect_pte(mm, p + 2 * PS, true, true);
	assert_int_equal(fstats(f).dirty, 2); /* the copy is anonymous */
	TU_CHECK(sim);

	wb_done(&sim, mm, f);
}

/* ---- 2. fsync ----------------------------------------------------------------------- */

static void test_fsync_cleans_all_shared_mappings(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 16 * MIB, 0);
	struct simmm_mm *m1 = mx_mm(sim), *m2 = mx_mm(sim);
	struct simmm_file *f = new_file(sim, 4, 0);
	simmm_addr_t a1 = map_file(m1, f, 4, RW, SIMMM_MAP_SHARED, 0);
	simmm_addr_t a2 = map_file(m2, f, 4, RW, SIMMM_MAP_SHARED, 0);
	simmm_addr_t p = map_file(m2, f, 4, RW, SIMMM_MAP_PRIVATE, 0);
	struct tu_counter c1 = {0}, c2 = {0};
	struct simmm_file_stats st;
	uint8_t buf[64];
	uint64_t w0, n;

	mx_write(m1, a1, 1);          /* page 0 dirty, mapped in both */
	uint8_t b;
	TU_ASSERT_OK(simmm_mm_access(m2, a2, &b, 1, SIMMM_ACCESS_READ));
	mx_write(m2, a2 + PS, 2);     /* page 1 dirty, mapped in m2 only */
	TU_ASSERT_OK(simmm_mm_access(m1, a1 + 2 * PS, &b, 1, SIMMM_ACCESS_READ)); /* clean */
	mx_write(m2, p + 3 * PS, 9);  /* a private COW copy */
	TU_CHECK(sim);
	st = fstats(f);
	assert_int_equal(st.dirty, 2);
	w0 = st.written;
	TU_ASSERT_OK(simmm_mmu_interval_notifier_insert(&c1.mn, m1, a1, 4 * PS, &tu_counter_ops));
	TU_ASSERT_OK(simmm_mmu_interval_notifier_insert(&c2.mn, m2, a2, 4 * PS, &tu_counter_ops));

	TU_ASSERT_OK(simmm_file_fsync(f));
	st = fstats(f);
	assert_int_equal(st.dirty, 0);
	assert_int_equal(st.written, w0 + 2);
	/* One PROTECTION_PAGE per dirty folio and shared VMA mapping its
	 * index, the folio's span in that VMA. */
	assert_int_equal(c1.events[SIMMM_MMU_NOTIFY_PROTECTION_PAGE], 2);
	assert_int_equal(c2.events[SIMMM_MMU_NOTIFY_PROTECTION_PAGE], 2);
	assert_int_equal(c2.last_start, a2 + PS);
	assert_int_equal(c2.last_end, a2 + 2 * PS);
	expect_pte(m1, a1, false, false);
	expect_pte(m2, a2, false, false);
	expect_pte(m2, a2 + PS, false, false);
	expect_pte(m1, a1 + 2 * PS, false, false);
	expect_pte(m2, p + 3 * PS, true, true); /* private: not visited */
	TU_CHECK(sim);

	/* The data is in the file, and a clean file sees no invalidation. */
	assert_int_equal(simmm_file_pread(f, buf, sizeof(buf), 0), sizeof(buf));
	for (unsigned i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], (uint8_t)(1 * 31 + i));
	TU_ASSERT_OK(simmm_file_fsync(f));
	assert_int_equal(c1.events[SIMMM_MMU_NOTIFY_PROTECTION_PAGE], 2);
	assert_int_equal(fstats(f).written, w0 + 2);

	/* The next write faults and dirties the folio again. */
	n = faults(m2);
	mx_write(m2, a2, 5);
	assert_int_equal(faults(m2), n + 1);
	expect_pte(m2, a2, true, true);
	expect_pte(m1, a1, false, false);
	assert_int_equal(fstats(f).dirty, 1);
	mx_expect(m1, a1, 5);
	TU_CHECK(sim);

	/* Written again. */
	TU_ASSERT_OK(simmm_file_fsync(f));
	assert_int_equal(fstats(f).dirty, 0);
	assert_int_equal(fstats(f).written, w0 + 3);
	TU_CHECK(sim);

	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&c1.mn));
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&c2.mn));
	TU_ASSERT_OK(simmm_mmput(m1));
	TU_ASSERT_OK(simmm_mmput(m2));
	TU_ASSERT_OK(simmm_file_put(f));
	assert_int_equal(simmm_file_fsync(NULL), -EINVAL);
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* ---- 3. shmem ----------------------------------------------------------------------- */

static void test_shmem_no_writenotify(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 16 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *shm = new_file(sim, 2, SIMMM_FILE_SHMEM);
	simmm_addr_t a = map_file(mm, shm, 2, RW, SIMMM_MAP_SHARED, 0);
	simmm_addr_t s = mx_map(mm, 0, 2 * PS, SIMMM_MAP_SHARED | SIMMM_MAP_ANONYMOUS);
	uint8_t b;

	TU_ASSERT_OK(simmm_mm_access(mm, a, &b, 1, SIMMM_ACCESS_READ));
	expect_pte(mm, a, true, false); /* tmpfs: no writeback, no write-notify */
	TU_ASSERT_OK(simmm_mm_access(mm, s, &b, 1, SIMMM_ACCESS_READ));
	expect_pte(mm, s, true, false);
	mx_write(mm, a + PS, 1);
	TU_ASSERT_OK(simmm_file_fsync(shm)); /* noop_fsync() */
	assert_int_equal(fstats(shm).written, 0);
	expect_pte(mm, a + PS, true, true);
	TU_CHECK(sim);
	wb_done(&sim, mm, shm);
}

/* ---- 4. mprotect -------------------------------------------------------------------- */

static void test_mprotect_upgrades_dirty_only(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 16 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = new_file(sim, 2, 0);
	simmm_addr_t a = map_file(mm, f, 2, RW, SIMMM_MAP_SHARED, 0);
	uint8_t b;

	mx_write(mm, a, 1);
	TU_ASSERT_OK(simmm_mm_access(mm, a + PS, &b, 1, SIMMM_ACCESS_READ));
	TU_ASSERT_OK(simmm_mprotect(mm, a, 2 * PS, SIMMM_PROT_READ));
	expect_pte(mm, a, false, true);
	expect_pte(mm, a + PS, false, false);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mprotect(mm, a, 2 * PS, RW));
	expect_pte(mm, a, true, true);   /* can_change_pte_writable(): dirty */
	expect_pte(mm, a + PS, false, false);
	TU_CHECK(sim);
	/* After a writeback the dirty pte is clean: no upgrade any more. */
	TU_ASSERT_OK(simmm_mprotect(mm, a, 2 * PS, SIMMM_PROT_READ));
	TU_ASSERT_OK(simmm_file_fsync(f));
	TU_ASSERT_OK(simmm_mprotect(mm, a, 2 * PS, RW));
	expect_pte(mm, a, false, false);
	TU_CHECK(sim);
	wb_done(&sim, mm, f);
}

/* ---- 5. msync ----------------------------------------------------------------------- */

static void test_msync(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 16 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = new_file(sim, 8, 0);
	simmm_addr_t a = map_file(mm, f, 8, RW, SIMMM_MAP_SHARED, 0);
	uint64_t w0;

	for (unsigned i = 0; i < 8; i++)
		mx_write(mm, a + i * PS, i);
	w0 = fstats(f).written;
	assert_int_equal(simmm_msync(NULL, a, PS, SIMMM_MS_SYNC), -EINVAL);
	assert_int_equal(simmm_msync(mm, a + 1, PS, SIMMM_MS_SYNC), -EINVAL);
	assert_int_equal(simmm_msync(mm, a, PS, 8), -EINVAL);
	assert_int_equal(simmm_msync(mm, a, PS, SIMMM_MS_SYNC | SIMMM_MS_ASYNC), -EINVAL);
	assert_int_equal(simmm_msync(mm, a, UINT64_MAX - PS, SIMMM_MS_SYNC), -ENOMEM);
	TU_ASSERT_OK(simmm_msync(mm, a, 0, SIMMM_MS_SYNC));
	TU_ASSERT_OK(simmm_msync(mm, a, 8 * PS, SIMMM_MS_ASYNC)); /* writes nothing */
	assert_int_equal(fstats(f).written, w0);
	assert_int_equal(fstats(f).dirty, 8);
	TU_CHECK(sim);

	/* Part of the mapping, the length rounded up: pages 2 and 3. */
	TU_ASSERT_OK(simmm_msync(mm, a + 2 * PS, PS + 1, SIMMM_MS_SYNC));
	assert_int_equal(fstats(f).written, w0 + 2);
	assert_int_equal(fstats(f).dirty, 6);
	expect_pte(mm, a + 2 * PS, false, false);
	expect_pte(mm, a + 4 * PS, true, true);
	TU_CHECK(sim);

	/* A hole: what is mapped is synced, then -ENOMEM. */
	TU_ASSERT_OK(simmm_munmap(mm, a + 5 * PS, PS));
	assert_int_equal(simmm_msync(mm, a + 4 * PS, 4 * PS, SIMMM_MS_SYNC), -ENOMEM);
	assert_int_equal(fstats(f).dirty, 3); /* 0, 1 and the unmapped 5 (still cached) */
	/* A plain MS_ASYNC stops at the hole; MS_INVALIDATE on VM_LOCKED. */
	assert_int_equal(simmm_msync(mm, a + 5 * PS, PS, SIMMM_MS_ASYNC), -ENOMEM);
	TU_ASSERT_OK(simmm_mlock(mm, a, PS));
	assert_int_equal(simmm_msync(mm, a, PS, SIMMM_MS_INVALIDATE), -EBUSY);
	TU_ASSERT_OK(simmm_munlock(mm, a, PS));
	TU_ASSERT_OK(simmm_msync(mm, a, PS, SIMMM_MS_INVALIDATE));
	assert_int_equal(fstats(f).dirty, 3);
	TU_CHECK(sim);

	wb_done(&sim, mm, f);
}

/* ---- 6. a write racing with fsync ---------------------------------------------------------- */

struct gate {
	struct simmm_mmu_notifier mn; /* first */
	struct simmm_mm *mm;
};

struct race {
	simmm_sim *sim;
	struct simmm_mm *m1, *m2;
	struct simmm_file *f;
	simmm_addr_t a1, a2;
	struct gate g1, g2;
	struct simmm_mm *first;       /* the mm the rmap walk cleaned first */
	unsigned events;
	bool inside, b_done, b_done_inside, b_pte_was_ro;
	uint64_t written_before_b;
	int rc_a, rc_b;
};

static struct race *R;

/* Stop the writeback at its second PROTECTION_PAGE invalidation: the
 * first mm's pte is clean and read-only by then. */
static int gate_start(struct simmm_mmu_notifier *sub, const struct simmm_mmu_notifier_range *r)
{
	struct gate *g = (struct gate *)sub;

	if (r->event != SIMMM_MMU_NOTIFY_PROTECTION_PAGE)
		return 0;
	if (++R->events == 1)
		R->first = g->mm;
	if (R->events != 2)
		return 0;
	R->inside = true;
	for (int i = 0; i < WAIT_YIELDS && !R->b_done; i++)
		simmm_sched_yield(R->sim);
	R->b_done_inside = R->b_done;
	return 0;
}

static const struct simmm_mmu_notifier_ops gate_ops = {.invalidate_range_start = gate_start};

static void task_fsync(simmm_sim *sim, void *arg)
{
	(void)sim, (void)arg;
	R->rc_a = simmm_file_fsync(R->f);
}

static void task_write(simmm_sim *sim, void *arg)
{
	uint8_t v = 0x77;

	(void)sim, (void)arg;
	simmm_addr_t a;

	for (int i = 0; i < WAIT_YIELDS && !R->inside; i++)
		simmm_sched_yield(R->sim);
	a = R->first == R->m1 ? R->a1 : R->a2;
	R->b_pte_was_ro = R->first && !simmm_pte_write(mx_tr(R->first, a).entry);
	R->rc_b = simmm_mm_access(R->first, a, &v, 1, SIMMM_ACCESS_WRITE);
	R->b_done = true;
}

static void test_write_races_fsync(void **state)
{
	(void)state;
	struct race r = {0};
	struct simmm_sched_config cfg;
	uint8_t v = 0;
	int a;

	R = &r;
	r.sim = mx_sim(NULL, 16 * MIB, 0);
	r.m1 = mx_mm(r.sim);
	r.m2 = mx_mm(r.sim);
	r.f = new_file(r.sim, 1, 0);
	r.a1 = map_file(r.m1, r.f, 1, RW, SIMMM_MAP_SHARED, 0);
	r.a2 = map_file(r.m2, r.f, 1, RW, SIMMM_MAP_SHARED, 0);
	mx_write(r.m1, r.a1, 1);
	TU_ASSERT_OK(simmm_mm_access(r.m2, r.a2, &v, 1, SIMMM_ACCESS_READ));
	r.g1 = (struct gate){.mn.ops = &gate_ops, .mm = r.m1};
	r.g2 = (struct gate){.mn.ops = &gate_ops, .mm = r.m2};
	TU_ASSERT_OK(simmm_mmu_notifier_register(&r.g1.mn, r.m1));
	TU_ASSERT_OK(simmm_mmu_notifier_register(&r.g2.mn, r.m2));
	r.written_before_b = fstats(r.f).written;
	TU_CHECK(r.sim);

	simmm_sched_config_init(r.sim, &cfg);
	cfg.policy = SIMMM_SCHED_RR;
	TU_ASSERT_OK(simmm_sched_configure(r.sim, &cfg));
	a = simmm_sched_spawn(r.sim, "fsync", task_fsync, NULL);
	assert_true(a > 0);
	assert_true(simmm_sched_spawn(r.sim, "write", task_write, NULL) > 0);
	assert_int_equal(simmm_sched_run(r.sim, 1000000), SIMMM_SCHED_DONE);
	assert_int_equal(simmm_reports_count(r.sim, 0), 0);
	TU_CHECK(r.sim);

	TU_ASSERT_OK(r.rc_a);
	TU_ASSERT_OK(r.rc_b);
	assert_int_equal(r.events, 2);
	assert_true(r.b_pte_was_ro);       /* cleaned before the sleep */
	assert_false(r.b_done_inside);     /* the write waited for the folio lock */
	/* The old data was written; the new write dirtied the folio after. */
	assert_int_equal(fstats(r.f).written, r.written_before_b + 1);
	assert_int_equal(fstats(r.f).dirty, 1);
	expect_pte(r.first, r.first == r.m1 ? r.a1 : r.a2, true, true);
	TU_ASSERT_OK(simmm_mm_access(r.first == r.m1 ? r.m2 : r.m1,
				     r.first == r.m1 ? r.a2 : r.a1, &v, 1, SIMMM_ACCESS_READ));
	assert_int_equal(v, 0x77);
	TU_CHECK(r.sim);

	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&r.g1.mn, r.m1));
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&r.g2.mn, r.m2));
	TU_ASSERT_OK(simmm_mmput(r.m1));
	TU_ASSERT_OK(simmm_mmput(r.m2));
	TU_ASSERT_OK(simmm_file_put(r.f));
	TU_CHECK(r.sim);
	tu_sim_free(&r.sim);
	R = NULL;
}

/* ---- 7. an HMM mirror of a shared file mapping ------------------------------------- */

static int hmm_fault(struct tu_counter *c, struct simmm_mm *mm, simmm_addr_t a, uint64_t dflags,
		     uint64_t *pfn)
{
	struct simmm_hmm_range r = {
		.notifier = &c->mn, .start = a, .end = a + PS, .hmm_pfns = pfn,
		.default_flags = dflags,
	};
	int ret = -EBUSY;

	/* The driver loop: a fault that changes the pte invalidates the range. */
	for (int tries = 0; tries < 8 && ret == -EBUSY; tries++) {
		*pfn = 0;
		r.notifier_seq = simmm_mmu_interval_read_begin(&c->mn);
		TU_ASSERT_OK(simmm_mmap_read_lock(mm));
		ret = simmm_hmm_range_fault(&r);
		TU_ASSERT_OK(simmm_mmap_read_unlock(mm));
		if (!ret && simmm_mmu_interval_read_retry(&c->mn, r.notifier_seq))
			ret = -EBUSY;
	}
	return ret;
}

static void test_hmm_mirror_sees_writeback(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 16 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = new_file(sim, 2, 0);
	simmm_addr_t a = map_file(mm, f, 2, RW, SIMMM_MAP_SHARED, 0);
	struct tu_counter c = {0};
	uint64_t pfn = 0;

	TU_ASSERT_OK(simmm_mmu_interval_notifier_insert(&c.mn, mm, a, 2 * PS, &tu_counter_ops));
	/* A device read fault maps the page read-only: write-notify. */
	TU_ASSERT_OK(hmm_fault(&c, mm, a, SIMMM_HMM_PFN_REQ_FAULT, &pfn));
	assert_true(pfn & SIMMM_HMM_PFN_VALID);
	assert_false(pfn & SIMMM_HMM_PFN_WRITE);
	assert_int_equal(fstats(f).dirty, 0);
	TU_CHECK(sim);
	/* A device write fault goes through page_mkwrite: dirty, writable. */
	TU_ASSERT_OK(hmm_fault(&c, mm, a, SIMMM_HMM_PFN_REQ_FAULT | SIMMM_HMM_PFN_REQ_WRITE, &pfn));
	assert_true(pfn & SIMMM_HMM_PFN_WRITE);
	assert_int_equal(fstats(f).dirty, 1);
	expect_pte(mm, a, true, true);
	TU_CHECK(sim);
	/* fsync invalidates the mirror (PROTECTION_PAGE, the page), and a
	 * snapshot afterwards sees the page read-only again. */
	TU_ASSERT_OK(simmm_file_fsync(f));
	assert_int_equal(c.events[SIMMM_MMU_NOTIFY_PROTECTION_PAGE], 1);
	assert_int_equal(c.last_start, a);
	assert_int_equal(c.last_end, a + PS);
	TU_ASSERT_OK(hmm_fault(&c, mm, a, 0, &pfn));
	assert_true(pfn & SIMMM_HMM_PFN_VALID);
	assert_false(pfn & SIMMM_HMM_PFN_WRITE);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&c.mn));
	wb_done(&sim, mm, f);
}

/* ---- 8. faults racing on one file page ----------------------------------------------- */

enum fr_kind {
	FR_SHARED_NONE,  /* shared mapping, no pte: a read fault races the write fault */
	FR_PRIVATE_NONE, /* private mapping, no pte: the same (do_cow_fault()) */
	FR_WP_FSYNC,     /* shared, read-only clean pte: fsync races the write-protect fault */
	FR_WP_DONTNEED,  /* shared, read-only clean pte: MADV_DONTNEED races it */
	FR_WP_PAGEOUT,   /* shared, read-only clean pte: MADV_PAGEOUT (reclaim) races it */
	NR_FR
};

struct frace {
	simmm_sim *sim;
	struct simmm_mm *mm;
	struct simmm_file *f;
	simmm_addr_t a;
	enum fr_kind kind;
	int rc_a, rc_b;
	simmm_pfn_t taken; /* FR_WP_PAGEOUT: a frame the other task takes after */
};

static struct frace *FR;

static void fr_write(simmm_sim *sim, void *arg)
{
	uint8_t v = 0x5a;

	(void)sim, (void)arg;
	FR->rc_a = simmm_mm_access(FR->mm, FR->a, &v, 1, SIMMM_ACCESS_WRITE);
}

static void fr_other(simmm_sim *sim, void *arg)
{
	uint8_t v = 0;

	(void)sim, (void)arg;
	if (FR->kind == FR_WP_FSYNC)
		FR->rc_b = simmm_file_fsync(FR->f);
	else if (FR->kind == FR_WP_DONTNEED)
		FR->rc_b = simmm_madvise(FR->mm, FR->a, PS, SIMMM_MADV_DONTNEED);
	else if (FR->kind == FR_WP_PAGEOUT) {
		/* Reclaim the clean page, then take a frame: the one reclaim
		 * freed, if it could free it. The write fault must not touch
		 * it (it holds a reference, so reclaim cannot free the page
		 * under its page_mkwrite()). */
		FR->rc_b = simmm_madvise(FR->mm, FR->a, PS, SIMMM_MADV_PAGEOUT);
		if (!FR->rc_b)
			FR->rc_b = simmm_page_alloc(sim, 0, &FR->taken);
	}
	else
		FR->rc_b = simmm_mm_access(FR->mm, FR->a, &v, 1, SIMMM_ACCESS_READ);
}

/* The writer runs its first @k scheduling points, then the other task
 * runs whenever it can. */
static void fr_run(enum fr_kind kind, unsigned k)
{
	struct frace r = {.kind = kind};
	uint8_t sched[512], v = 0x11;

	FR = &r;
	r.sim = mx_sim(NULL, 16 * MIB, 0);
	r.mm = mx_mm(r.sim);
	r.f = new_file(r.sim, 1, 0);
	assert_int_equal(simmm_file_pwrite(r.f, &v, 1, 0), 1);
	TU_ASSERT_OK(simmm_file_fsync(r.f)); /* cached and clean */
	r.a = map_file(r.mm, r.f, 1, RW,
		       kind == FR_PRIVATE_NONE ? SIMMM_MAP_PRIVATE : SIMMM_MAP_SHARED, 0);
	if (kind == FR_WP_FSYNC || kind == FR_WP_DONTNEED || kind == FR_WP_PAGEOUT) {
		TU_ASSERT_OK(simmm_mm_access(r.mm, r.a, &v, 1, SIMMM_ACCESS_READ));
		expect_pte(r.mm, r.a, false, false);
	}
	memset(sched, 0, k);
	memset(sched + k, 1, sizeof(sched) - k);
	TU_ASSERT_OK(simmm_sched_replay(r.sim, sched, sizeof(sched)));
	assert_true(simmm_sched_spawn(r.sim, "write", fr_write, NULL) > 0);
	assert_true(simmm_sched_spawn(r.sim, "other", fr_other, NULL) > 0);
	assert_int_equal(simmm_sched_run(r.sim, 1000000), SIMMM_SCHED_DONE);
	assert_int_equal(simmm_reports_count(r.sim, 0), 0);
	TU_ASSERT_OK(r.rc_a);
	TU_ASSERT_OK(r.rc_b);
	TU_CHECK(r.sim);
	if (r.taken) {
		struct simmm_page_info pi;

		TU_ASSERT_OK(simmm_page_info(r.sim, r.taken, &pi));
		assert_int_equal(pi.flags, 0); /* not locked or dirtied by the fault */
		TU_ASSERT_OK(simmm_page_put(r.sim, r.taken) < 0 ? -1 : 0);
	}
	/* The write is there whatever ran first (a private mapping's in its
	 * own copy, the file's otherwise). */
	TU_ASSERT_OK(simmm_mm_access(r.mm, r.a, &v, 1, SIMMM_ACCESS_READ));
	assert_int_equal(v, 0x5a);
	assert_int_equal(simmm_file_pread(r.f, &v, 1, 0), 1);
	assert_int_equal(v, kind == FR_PRIVATE_NONE ? 0x11 : 0x5a);
	TU_ASSERT_OK(simmm_mmput(r.mm));
	TU_ASSERT_OK(simmm_file_fsync(r.f));
	assert_int_equal(fstats(r.f).dirty, 0);
	TU_ASSERT_OK(simmm_file_put(r.f));
	TU_CHECK(r.sim);
	tu_sim_free(&r.sim);
	FR = NULL;
}

static void test_fault_races_on_file_page(void **state)
{
	(void)state;
	for (unsigned kind = 0; kind < NR_FR; kind++)
		for (unsigned k = 0; k < 24; k++)
			fr_run((enum fr_kind)kind, k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_then_write_faults),
		cmocka_unit_test(test_fsync_cleans_all_shared_mappings),
		cmocka_unit_test(test_shmem_no_writenotify),
		cmocka_unit_test(test_mprotect_upgrades_dirty_only),
		cmocka_unit_test(test_msync),
		cmocka_unit_test(test_write_races_fsync),
		cmocka_unit_test(test_hmm_mirror_sees_writeback),
		cmocka_unit_test(test_fault_races_on_file_page),
	};

	return cmocka_run_group_tests_name("writeback", tests, NULL, NULL);
}
