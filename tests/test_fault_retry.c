// SPDX-License-Identifier: MIT
/*
 * Faults that release the mmap lock before they sleep on a folio lock and
 * return VM_FAULT_RETRY (handle_mm_fault() with FAULT_FLAG_ALLOW_RETRY:
 * folio_lock_or_retry(), lock_folio_maybe_drop_mmap()), on fixed
 * round-robin schedules (docs/mm-ext.md "Folio locks"). A holder task
 * locks a folio; a faulter task faults on it; a mapper task, let go once
 * the faulter sleeps, changes the layout with the mmap lock taken for
 * write. The holder records what it saw while it held the folio lock.
 *  1. swap-in (do_swap_page()): the CPU fault sleeps without the mmap
 *     lock, munmap finishes meanwhile, and the retry, a new VMA lookup,
 *     gets SIGSEGV; without the munmap the retry (FAULT_FLAG_TRIED) maps
 *     the page and counts as one major fault (mm_account_fault());
 *  2. a file fault on a locked page-cache folio (filemap_fault()): the
 *     same with mprotect(PROT_NONE);
 *  3. the restore of a device-exclusive entry
 *     (remove_device_exclusive_entry()): the same with munmap;
 *  4. page_mkwrite() (do_page_mkwrite() gives ->page_mkwrite() no
 *     ALLOW_RETRY): it sleeps on the folio lock with the mmap lock held,
 *     the munmap waits for it, and the write is one fault;
 *  5. GUP with `locked` (FOLL_UNLOCKABLE): MADV_POPULATE_READ and mlock()'s
 *     populate drop the lock the same way and find the VMA gone; GUP
 *     without it (get_user_pages()) keeps the lock;
 *  6. outside tasks: handle_mm_fault(ALLOW_RETRY) on a busy folio lock
 *     returns VM_FAULT_RETRY with the mmap lock released (held with
 *     RETRY_NOWAIT), FOLL_NOWAIT makes GUP return 0, and ALLOW_RETRY
 *     without the mmap lock is refused.
 * Task bodies only record; the assertions run after simmm_sched_run().
 */
#include "test_mm_ext_util.h"

#include <simmm/migrate.h>

#define WAIT_YIELDS 1000

enum fr_op { OP_NONE, OP_MUNMAP, OP_MPROTECT };
enum fr_how { HOW_READ, HOW_WRITE, HOW_POPULATE, HOW_MLOCK, HOW_GUP };

struct fr {
	simmm_sim *sim;
	struct simmm_mm *mm;
	struct simmm_file *file;
	simmm_addr_t a;
	struct simmm_page *folio; /* what the holder locks */
	uint32_t faulter;
	enum fr_op op;
	enum fr_how how;
	/* the holder, while it held the folio lock */
	bool blocked;             /* the faulter slept */
	bool mmap_unlocked;       /* ... and nobody held the mmap lock */
	bool changed_inside;      /* the mapper finished meanwhile */
	/* the mapper */
	bool go, mapped;
	int rc_m;
	/* the faulter */
	int rc_f;
	long n;
	simmm_pfn_t got;
	uint8_t buf[64];
};

static void pattern(uint8_t *buf, unsigned tag)
{
	for (unsigned i = 0; i < 64; i++)
		buf[i] = (uint8_t)(tag * 31 + i);
}

static void rr_config(simmm_sim *sim)
{
	struct simmm_sched_config cfg;

	simmm_sched_config_init(sim, &cfg);
	cfg.policy = SIMMM_SCHED_RR;
	TU_ASSERT_OK(simmm_sched_configure(sim, &cfg));
}

/* Yield until task @id is in @state, or give up. */
static bool wait_state(simmm_sim *sim, uint32_t id, int state)
{
	for (int i = 0; i < WAIT_YIELDS; i++) {
		if (simmm_sched_task_state(sim, id) == state)
			return true;
		simmm_sched_yield(sim);
	}
	return false;
}

static void task_holder(simmm_sim *sim, void *arg)
{
	struct fr *t = arg;
	struct simmm_page *f = t->folio;

	simmm__folio_get(sim, f);
	if (simmm__folio_lock(sim, f)) {
		simmm__put_user_folio(sim, f);
		return;
	}
	t->blocked = wait_state(sim, t->faulter, SIMMM_TASK_BLOCKED);
	t->mmap_unlocked = !simmm_rwsem_is_locked(&t->mm->mmap_lock);
	t->go = true;
	for (int i = 0; i < WAIT_YIELDS && t->op != OP_NONE && !t->mapped; i++)
		simmm_sched_yield(sim);
	t->changed_inside = t->mapped;
	simmm__folio_unlock(sim, f);
	simmm__put_user_folio(sim, f);
}

static void task_faulter(simmm_sim *sim, void *arg)
{
	struct fr *t = arg;

	(void)sim;
	switch (t->how) {
	case HOW_READ:
		t->rc_f = simmm_mm_access(t->mm, t->a, t->buf, 64, SIMMM_ACCESS_READ);
		break;
	case HOW_WRITE:
		pattern(t->buf, 7);
		t->rc_f = simmm_mm_access(t->mm, t->a, t->buf, 64, SIMMM_ACCESS_WRITE);
		break;
	case HOW_POPULATE:
		t->rc_f = simmm_madvise(t->mm, t->a, PS, SIMMM_MADV_POPULATE_READ);
		break;
	case HOW_MLOCK:
		t->rc_f = simmm_mlock(t->mm, t->a, PS);
		break;
	case HOW_GUP:
		t->n = simmm_get_user_pages(t->mm, t->a, 1, 0, &t->got);
		break;
	}
}

static void task_mapper(simmm_sim *sim, void *arg)
{
	struct fr *t = arg;

	for (int i = 0; i < WAIT_YIELDS * 10 && !t->go; i++)
		simmm_sched_yield(sim);
	if (t->op == OP_MUNMAP)
		t->rc_m = simmm_munmap(t->mm, t->a, PS);
	else if (t->op == OP_MPROTECT)
		t->rc_m = simmm_mprotect(t->mm, t->a, PS, SIMMM_PROT_NONE);
	t->mapped = true;
}

static void run(struct fr *t)
{
	int f;

	rr_config(t->sim);
	assert_true(simmm_sched_spawn(t->sim, "holder", task_holder, t) > 0);
	f = simmm_sched_spawn(t->sim, "faulter", task_faulter, t);
	assert_true(f > 0);
	t->faulter = (uint32_t)f;
	if (t->op != OP_NONE)
		assert_true(simmm_sched_spawn(t->sim, "mapper", task_mapper, t) > 0);
	assert_int_equal(simmm_sched_run(t->sim, 1000000), SIMMM_SCHED_DONE);
	assert_int_equal(simmm_reports_count(t->sim, 0), 0);
	TU_CHECK(t->sim);
	assert_true(t->blocked);
}

static struct fr *fr_new(void)
{
	struct fr *t = calloc(1, sizeof(*t));

	t->sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	t->mm = mx_mm(t->sim);
	return t;
}

static void fr_free(struct fr *t)
{
	TU_ASSERT_OK(simmm_mmput(t->mm));
	if (t->file)
		TU_ASSERT_OK(simmm_file_put(t->file));
	TU_CHECK(t->sim);
	tu_sim_free(&t->sim);
	free(t);
}

/* A page written with @tag, paged out while a GUP reference holds its
 * folio: the pte a swap entry, the folio clean in the swap cache with the
 * cache's reference only. */
static struct fr *swapped_case(enum fr_how how, enum fr_op op)
{
	struct fr *t = fr_new();
	simmm_pfn_t pfn = 0;

	t->how = how;
	t->op = op;
	t->a = mx_anon(t->mm, 0, PS);
	mx_write(t->mm, t->a, 1);
	assert_int_equal(simmm_get_user_pages(t->mm, t->a, 1, 0, &pfn), 1);
	TU_ASSERT_OK(simmm_madvise(t->mm, t->a, PS, SIMMM_MADV_PAGEOUT));
	TU_ASSERT_OK(simmm_put_user_pages(t->sim, &pfn, 1));
	t->folio = simmm__pfn_to_page(t->sim, pfn);
	assert_true(t->folio->flags & PG_swapcache);
	assert_int_equal(t->folio->refcount, 1);
	assert_true(simmm_is_real_swap_entry(mx_tr(t->mm, t->a).entry));
	TU_CHECK(t->sim);
	return t;
}

/* ---- 1. swap-in ----------------------------------------------------------------- */

static void test_swapin_wait_lets_munmap_finish(void **state)
{
	(void)state;
	struct fr *t = swapped_case(HOW_READ, OP_MUNMAP);
	uint64_t segv = mx_stats(t->mm).sigsegv;

	run(t);
	assert_true(t->mmap_unlocked);
	assert_true(t->changed_inside); /* munmap did not wait for the fault */
	TU_ASSERT_OK(t->rc_m);
	assert_int_equal(t->rc_f, -EFAULT); /* the retry found no VMA */
	assert_int_equal(mx_stats(t->mm).sigsegv, segv + 1);
	assert_true(simmm_entry_none(mx_tr(t->mm, t->a).entry));
	fr_free(t);
}

static void test_swapin_retry_completes_as_major_fault(void **state)
{
	(void)state;
	struct fr *t = swapped_case(HOW_READ, OP_NONE);
	struct simmm_mm_stats st = mx_stats(t->mm);
	uint8_t want[64];

	run(t);
	assert_true(t->mmap_unlocked);
	TU_ASSERT_OK(t->rc_f);
	pattern(want, 1);
	assert_memory_equal(t->buf, want, 64);
	assert_int_equal(mx_tr(t->mm, t->a).pfn, t->folio->pfn); /* from the swap cache */
	/* The RETRY is not counted; the tried fault is, as a major one. */
	assert_int_equal(mx_stats(t->mm).major_faults, st.major_faults + 1);
	assert_int_equal(mx_stats(t->mm).minor_faults, st.minor_faults);
	assert_int_equal(mx_stats(t->mm).swapin_faults, st.swapin_faults + 1);
	fr_free(t);
}

/* ---- 2. a locked page-cache folio ------------------------------------------------ */

static void test_file_fault_wait_lets_mprotect_finish(void **state)
{
	(void)state;
	struct fr *t = fr_new();
	uint8_t data[64];
	bool major;
	int err = 0;

	t->how = HOW_READ;
	t->op = OP_MPROTECT;
	TU_ASSERT_OK(simmm_file_create(t->sim, PS, 0, &t->file));
	pattern(data, 2);
	assert_int_equal(simmm_file_pwrite(t->file, data, 64, 0), 64);
	TU_ASSERT_OK(simmm_mmap(t->mm, 0, PS, SIMMM_PROT_READ, SIMMM_MAP_SHARED, t->file, 0,
				&t->a));
	t->folio = simmm__filemap_get(t->file, 0, &err, &major);
	assert_non_null(t->folio);
	simmm__put_user_folio(t->sim, t->folio); /* the page cache keeps it */
	TU_CHECK(t->sim);
	run(t);
	assert_true(t->mmap_unlocked);
	assert_true(t->changed_inside);
	TU_ASSERT_OK(t->rc_m);
	assert_int_equal(t->rc_f, -EFAULT); /* PROT_NONE: SIGSEGV */
	assert_true(simmm_entry_none(mx_tr(t->mm, t->a).entry));
	assert_int_equal(mx_stats(t->mm).file_faults, 0);
	fr_free(t);
}

/* ---- 3. device-exclusive -------------------------------------------------------- */

static void test_exclusive_restore_wait_lets_munmap_finish(void **state)
{
	(void)state;
	struct fr *t = fr_new();
	simmm_pfn_t pfn = 0;

	t->how = HOW_WRITE;
	t->op = OP_MUNMAP;
	t->a = mx_anon(t->mm, 0, PS);
	mx_write(t->mm, t->a, 3);
	TU_ASSERT_OK(simmm_mmap_read_lock(t->mm));
	TU_ASSERT_OK(simmm_make_device_exclusive(t->mm, t->a, t, &pfn));
	TU_ASSERT_OK(simmm_mmap_read_unlock(t->mm));
	TU_ASSERT_OK(simmm_unlock_page(t->sim, pfn));
	assert_true(simmm_page_put(t->sim, pfn) >= 1);
	assert_true(simmm_is_device_exclusive_entry(mx_tr(t->mm, t->a).entry));
	t->folio = simmm__pfn_to_page(t->sim, pfn);
	TU_CHECK(t->sim);
	run(t);
	assert_true(t->mmap_unlocked);
	assert_true(t->changed_inside);
	TU_ASSERT_OK(t->rc_m);
	assert_int_equal(t->rc_f, -EFAULT);
	assert_int_equal(mx_stats(t->mm).exclusive_faults, 0);
	assert_true(simmm_entry_none(mx_tr(t->mm, t->a).entry));
	fr_free(t);
}

/* ---- 4. page_mkwrite() keeps the mmap lock --------------------------------------- */

/* A shared file page written, then cleaned by fsync: its pte read-only. */
static struct fr *mkwrite_case(enum fr_op op)
{
	struct fr *t = fr_new();

	t->how = HOW_WRITE;
	t->op = op;
	TU_ASSERT_OK(simmm_file_create(t->sim, PS, 0, &t->file));
	TU_ASSERT_OK(simmm_mmap(t->mm, 0, PS, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				SIMMM_MAP_SHARED, t->file, 0, &t->a));
	mx_write(t->mm, t->a, 4);
	TU_ASSERT_OK(simmm_file_fsync(t->file));
	assert_true(mx_tr(t->mm, t->a).present);
	assert_false(mx_tr(t->mm, t->a).write);
	t->folio = simmm__pfn_to_page(t->sim, mx_tr(t->mm, t->a).pfn);
	assert_false(t->folio->flags & PG_dirty);
	TU_CHECK(t->sim);
	return t;
}

/* The munmap waits for the fault, which once it owns the folio lock
 * dirties the folio and makes the pte writable. (Upstream as here, the
 * access itself may then meet the munmap before it is retried: not
 * asserted.) */
static void test_page_mkwrite_sleeps_with_mmap_lock(void **state)
{
	(void)state;
	struct fr *t = mkwrite_case(OP_MUNMAP);
	struct simmm_file_stats fst;

	run(t);
	assert_false(t->mmap_unlocked);
	assert_false(t->changed_inside);
	TU_ASSERT_OK(t->rc_m);
	TU_ASSERT_OK(simmm_file_stats(t->file, &fst));
	assert_int_equal(fst.dirty, 1);
	fr_free(t);
}

static void test_page_mkwrite_wait_is_one_fault(void **state)
{
	(void)state;
	struct fr *t = mkwrite_case(OP_NONE);
	uint64_t minor = mx_stats(t->mm).minor_faults, major = mx_stats(t->mm).major_faults;
	uint8_t data[64], want[64];

	run(t);
	assert_false(t->mmap_unlocked);
	TU_ASSERT_OK(t->rc_f);
	assert_int_equal(mx_stats(t->mm).minor_faults, minor + 1);
	assert_int_equal(mx_stats(t->mm).major_faults, major);
	assert_int_equal(simmm_file_pread(t->file, data, 64, 0), 64);
	pattern(want, 7);
	assert_memory_equal(data, want, 64);
	fr_free(t);
}

/* ---- 5. GUP with and without `locked` ------------------------------------------- */

static void test_populate_wait_lets_munmap_finish(void **state)
{
	(void)state;
	struct fr *t = swapped_case(HOW_POPULATE, OP_MUNMAP);

	run(t);
	assert_true(t->mmap_unlocked);
	assert_true(t->changed_inside);
	TU_ASSERT_OK(t->rc_m);
	assert_int_equal(t->rc_f, -ENOMEM); /* the retry found a hole */
	fr_free(t);
}

static void test_mlock_populate_wait_lets_munmap_finish(void **state)
{
	(void)state;
	struct fr *t = swapped_case(HOW_MLOCK, OP_MUNMAP);

	run(t);
	assert_true(t->mmap_unlocked);
	assert_true(t->changed_inside);
	TU_ASSERT_OK(t->rc_m);
	/* __get_user_pages() finds no VMA (-EFAULT), which mlock() reports
	 * as POSIX has it (__mlock_posix_error_return()). */
	assert_int_equal(t->rc_f, -ENOMEM);
	assert_int_equal(mx_stats(t->mm).locked_vm, 0);
	fr_free(t);
}

static void test_gup_without_locked_keeps_mmap_lock(void **state)
{
	(void)state;
	struct fr *t = swapped_case(HOW_GUP, OP_MUNMAP);

	run(t);
	assert_false(t->mmap_unlocked);
	assert_false(t->changed_inside);
	TU_ASSERT_OK(t->rc_m);
	assert_int_equal(t->n, 1);
	assert_int_equal(t->got, t->folio->pfn);
	TU_ASSERT_OK(simmm_put_user_pages(t->sim, &t->got, 1));
	fr_free(t);
}

/* ---- 6. outside tasks ------------------------------------------------------------ */

static void test_retry_releases_mmap_lock_outside_tasks(void **state)
{
	(void)state;
	struct fr *t = swapped_case(HOW_READ, OP_NONE);
	const unsigned flags = SIMMM_FAULT_FLAG_USER | SIMMM_FAULT_FLAG_ALLOW_RETRY;
	uint64_t major = mx_stats(t->mm).major_faults;

	assert_true(simmm__folio_trylock(t->sim, t->folio));
	/* RETRY_NOWAIT: RETRY at once, the lock still held. */
	TU_ASSERT_OK(simmm_mmap_read_lock(t->mm));
	assert_int_equal(simmm_handle_mm_fault(t->mm, t->a, flags | SIMMM_FAULT_FLAG_RETRY_NOWAIT),
			 SIMMM_VM_FAULT_RETRY);
	assert_true(simmm_rwsem_is_locked(&t->mm->mmap_lock));
	/* ALLOW_RETRY: RETRY with the lock released. */
	assert_int_equal(simmm_handle_mm_fault(t->mm, t->a, flags), SIMMM_VM_FAULT_RETRY);
	assert_false(simmm_rwsem_is_locked(&t->mm->mmap_lock));
	/* ... a tried fault too (nothing could ever unlock the folio). */
	TU_ASSERT_OK(simmm_mmap_read_lock(t->mm));
	assert_int_equal(simmm_handle_mm_fault(t->mm, t->a, flags | SIMMM_FAULT_FLAG_TRIED),
			 SIMMM_VM_FAULT_RETRY);
	assert_false(simmm_rwsem_is_locked(&t->mm->mmap_lock));
	assert_int_equal(mx_stats(t->mm).major_faults, major);
	TU_CHECK(t->sim);
	simmm__folio_unlock(t->sim, t->folio);
	TU_ASSERT_OK(simmm_mmap_read_lock(t->mm));
	assert_int_equal(simmm_handle_mm_fault(t->mm, t->a, flags | SIMMM_FAULT_FLAG_TRIED), 0);
	TU_ASSERT_OK(simmm_mmap_read_unlock(t->mm));
	assert_int_equal(mx_stats(t->mm).major_faults, major + 1);
	assert_int_equal(simmm_reports_count(t->sim, 0), 0);
	mx_expect(t->mm, t->a, 1);
	fr_free(t);
}

static void test_gup_nowait_returns_zero(void **state)
{
	(void)state;
	struct fr *t = swapped_case(HOW_GUP, OP_NONE);
	simmm_pfn_t pfn = 0;

	assert_true(simmm__folio_trylock(t->sim, t->folio));
	assert_int_equal(simmm_get_user_pages(t->mm, t->a, 1, SIMMM_FOLL_NOWAIT, &pfn), 0);
	assert_false(simmm_rwsem_is_locked(&t->mm->mmap_lock));
	assert_true(simmm_is_real_swap_entry(mx_tr(t->mm, t->a).entry));
	TU_CHECK(t->sim);
	simmm__folio_unlock(t->sim, t->folio);
	assert_int_equal(simmm_get_user_pages(t->mm, t->a, 1, SIMMM_FOLL_NOWAIT, &pfn), 1);
	assert_int_equal(pfn, t->folio->pfn);
	TU_ASSERT_OK(simmm_put_user_pages(t->sim, &pfn, 1));
	assert_int_equal(simmm_reports_count(t->sim, 0), 0);
	fr_free(t);
}

static void test_allow_retry_needs_mmap_read_lock(void **state)
{
	(void)state;
	struct fr *t = swapped_case(HOW_READ, OP_NONE);

	assert_int_equal(simmm_handle_mm_fault(t->mm, t->a, SIMMM_FAULT_FLAG_ALLOW_RETRY),
			 SIMMM_VM_FAULT_SIGSEGV);
	assert_int_equal(simmm_reports_count(t->sim, SIMMM_REPORT_MISUSE), 1);
	assert_true(simmm_is_real_swap_entry(mx_tr(t->mm, t->a).entry));
	simmm_reports_clear(t->sim);
	TU_ASSERT_OK(simmm_mmap_write_lock(t->mm));
	assert_int_equal(simmm_handle_mm_fault(t->mm, t->a, SIMMM_FAULT_FLAG_ALLOW_RETRY),
			 SIMMM_VM_FAULT_SIGSEGV);
	TU_ASSERT_OK(simmm_mmap_write_unlock(t->mm));
	assert_int_equal(simmm_reports_count(t->sim, SIMMM_REPORT_MISUSE), 1);
	simmm_reports_clear(t->sim);
	TU_CHECK(t->sim);
	fr_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_swapin_wait_lets_munmap_finish),
		cmocka_unit_test(test_swapin_retry_completes_as_major_fault),
		cmocka_unit_test(test_file_fault_wait_lets_mprotect_finish),
		cmocka_unit_test(test_exclusive_restore_wait_lets_munmap_finish),
		cmocka_unit_test(test_page_mkwrite_sleeps_with_mmap_lock),
		cmocka_unit_test(test_page_mkwrite_wait_is_one_fault),
		cmocka_unit_test(test_populate_wait_lets_munmap_finish),
		cmocka_unit_test(test_mlock_populate_wait_lets_munmap_finish),
		cmocka_unit_test(test_gup_without_locked_keeps_mmap_lock),
		cmocka_unit_test(test_retry_releases_mmap_lock_outside_tasks),
		cmocka_unit_test(test_gup_nowait_returns_zero),
		cmocka_unit_test(test_allow_retry_needs_mmap_read_lock),
	};

	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
