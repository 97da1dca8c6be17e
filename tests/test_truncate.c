// SPDX-License-Identifier: MIT
/*
 * File truncation, hole punching and MADV_REMOVE (src/mm/truncate.c):
 *  1. a shrink unmaps every mapping of the pages past the new EOF: shared
 *     and private file mappings, the private COW copies too (even_cows =
 *     1, as truncate_pagecache() asks), in a fork child as in the parent,
 *     with one MMU_NOTIFY_CLEAR per VMA; pages below EOF stay mapped;
 *  2. afterwards accesses past EOF are SIGBUS, GUP and MADV_POPULATE_READ
 *     -EFAULT, pread stops at EOF;
 *  3. the partial last page is zeroed past EOF, in the page cache (still
 *     mapped) and in the backing store (after its eviction);
 *  4. growing reads zeros, and turns SIGBUS back into zero pages;
 *  5. a pinned page leaves the page cache but stays alive for its pin;
 *  6. a truncation waits for a folio lock a holder has while a write
 *     fault waits for it too: the fault retries and gets SIGBUS;
 *  7. a COW fault whose copy's allocation sleeps in reclaim while the
 *     page is truncated looks again (folio->mapping changed) and gets
 *     SIGBUS instead of mapping a copy past EOF;
 *  8. a hole punch keeps the size, zeroes the hole (partial pages in
 *     place), unmaps shared mappings but keeps private COW copies; a read
 *     of a page it already removed, while it still runs, reads zeros, not
 *     the backing store's older bytes;
 *  9. MADV_REMOVE: its error codes, and its effect on a shared file
 *     mapping (another mm sees zeros) and on shared anonymous memory;
 * 10. argument checks; a shmem shrink inside the last page unmaps nothing,
 *     and a shmem file gives SIGBUS past EOF as a regular one.
 * The invariant checker (no page-cache folio and no pte past EOF) runs
 * after each step.
 */
#include <stdlib.h>

#include "test_mm_ext_util.h"

#define RW (SIMMM_PROT_READ | SIMMM_PROT_WRITE)
#define WAIT_YIELDS 100000
#define REGION_PAGES 512

static struct simmm_file *new_file(simmm_sim *sim, unsigned pages, unsigned flags)
{
	struct simmm_file *f = NULL;

	TU_ASSERT_OK(simmm_file_create(sim, pages * PS, flags, &f));
	return f;
}

static simmm_addr_t map_file(struct simmm_mm *mm, struct simmm_file *f, unsigned pages,
			     int flags)
{
	simmm_addr_t a = 0;

	TU_ASSERT_OK(simmm_mmap(mm, 0, pages * PS, RW, flags, f, 0, &a));
	return a;
}

/* Page i of @f holds tag i + 1 (through write(2)). */
static void fill_file(struct simmm_file *f, unsigned pages)
{
	for (unsigned i = 0; i < pages; i++) {
		uint8_t buf[64];

		for (unsigned j = 0; j < sizeof(buf); j++)
			buf[j] = (uint8_t)((i + 1) * 31 + j);
		assert_int_equal(simmm_file_pwrite(f, buf, sizeof(buf), i * PS), (long)sizeof(buf));
	}
}

static struct simmm_file_stats fstats(struct simmm_file *f)
{
	struct simmm_file_stats st;

	TU_ASSERT_OK(simmm_file_stats(f, &st));
	return st;
}

static bool mapped(struct simmm_mm *mm, simmm_addr_t a)
{
	return !simmm_entry_none(mx_tr(mm, a).entry);
}

static int access1(struct simmm_mm *mm, simmm_addr_t a, bool write)
{
	uint8_t b = 0x5a;

	return simmm_mm_access(mm, a, &b, 1, write ? SIMMM_ACCESS_WRITE : SIMMM_ACCESS_READ);
}

static struct tu_counter *counter_new(struct simmm_mm *mm, simmm_addr_t a, uint64_t len)
{
	struct tu_counter *c = calloc(1, sizeof(*c));

	TU_ASSERT_OK(simmm_mmu_interval_notifier_insert(&c->mn, mm, a, len, &tu_counter_ops));
	return c;
}

static void counter_free(struct tu_counter *c)
{
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&c->mn));
	free(c);
}

static void finish(simmm_sim **sim, struct simmm_mm *mm, struct simmm_file *f)
{
	if (mm)
		TU_ASSERT_OK(simmm_mmput(mm));
	if (f)
		TU_ASSERT_OK(simmm_file_put(f));
	TU_CHECK(*sim);
	tu_sim_free(sim);
}

/* ---- 1. a shrink unmaps shared, private and COW pages past EOF ------------------ */

static void test_shrink_unmaps_even_cows(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 16 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = new_file(sim, 4, 0);
	simmm_addr_t s, p;
	struct tu_counter *cs, *cp;

	fill_file(f, 4);
	s = map_file(mm, f, 4, SIMMM_MAP_SHARED);
	p = map_file(mm, f, 4, SIMMM_MAP_PRIVATE);
	for (unsigned i = 0; i < 4; i++) {
		mx_expect(mm, s + i * PS, i + 1);
		mx_expect(mm, p + i * PS, i + 1);
	}
	mx_write(mm, p, 10);          /* a COW copy below the new EOF */
	mx_write(mm, p + 3 * PS, 13); /* and one past it */
	mx_write(mm, s + 2 * PS, 12); /* a dirty shared page past it */
	assert_true(mx_tr(mm, p + 3 * PS).present);
	TU_CHECK(sim);
	cs = counter_new(mm, s, 4 * PS);
	cp = counter_new(mm, p, 4 * PS);

	TU_ASSERT_OK(simmm_file_truncate(f, 2 * PS));
	TU_CHECK(sim);
	assert_int_equal(simmm_file_size(f), 2 * PS);
	for (unsigned i = 2; i < 4; i++) {
		assert_false(mapped(mm, s + i * PS));
		assert_false(mapped(mm, p + i * PS)); /* the COW copy too */
	}
	for (unsigned i = 0; i < 2; i++) {
		assert_true(mapped(mm, s + i * PS));
		assert_true(mapped(mm, p + i * PS));
	}
	mx_expect(mm, p, 10); /* the COW copy below EOF is kept */
	mx_expect(mm, s + PS, 2);
	assert_int_equal(fstats(f).cached, 2);
	/* truncate_pagecache(): two unmap_mapping_range() passes, each a
	 * CLEAR of each VMA's part past EOF. */
	assert_int_equal(cs->events[SIMMM_MMU_NOTIFY_CLEAR], 2);
	assert_int_equal(cp->events[SIMMM_MMU_NOTIFY_CLEAR], 2);
	assert_int_equal(cs->last_start, s + 2 * PS);
	assert_int_equal(cs->last_end, s + 4 * PS);
	assert_int_equal(cp->last_start, p + 2 * PS);
	assert_int_equal(cp->last_end, p + 4 * PS);
	counter_free(cs);
	counter_free(cp);
	TU_CHECK(sim);
	finish(&sim, mm, f);
}

/* The fork child's mappings are in the file's i_mmap too: its private
 * COW copy past EOF goes, and so does its shared page. */
static void test_shrink_unmaps_fork_child(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 16 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	struct simmm_file *f = new_file(sim, 4, 0);
	simmm_addr_t s, p;

	fill_file(f, 4);
	s = map_file(mm, f, 4, SIMMM_MAP_SHARED);
	p = map_file(mm, f, 4, SIMMM_MAP_PRIVATE);
	mx_write(mm, p + 3 * PS, 13);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	mx_expect(child, s + 3 * PS, 4);
	mx_write(child, p + 2 * PS, 22); /* the child's own COW copy */
	mx_expect(child, p + 3 * PS, 13);
	assert_true(mapped(child, p + 3 * PS));
	TU_CHECK(sim);

	TU_ASSERT_OK(simmm_file_truncate(f, PS));
	TU_CHECK(sim);
	for (unsigned i = 1; i < 4; i++) {
		assert_false(mapped(mm, s + i * PS));
		assert_false(mapped(mm, p + i * PS));
		assert_false(mapped(child, s + i * PS));
		assert_false(mapped(child, p + i * PS));
	}
	assert_int_equal(access1(child, p + 2 * PS, false), -EFAULT);
	assert_int_equal(access1(child, s + 3 * PS, true), -EFAULT);
	mx_expect(child, s, 1);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(child));
	finish(&sim, mm, f);
}

/* ---- 2. SIGBUS, -EFAULT, short reads past EOF ------------------------------------- */

static void test_sigbus_after_shrink(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 16 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = new_file(sim, 4, 0);
	simmm_addr_t s, p;
	simmm_pfn_t pfn = 0;
	uint64_t sigbus;
	uint8_t buf[4 * PS];

	fill_file(f, 4);
	s = map_file(mm, f, 4, SIMMM_MAP_SHARED);
	p = map_file(mm, f, 4, SIMMM_MAP_PRIVATE);
	TU_ASSERT_OK(simmm_file_truncate(f, PS + 100));
	TU_CHECK(sim);
	sigbus = mx_stats(mm).sigbus;
	assert_int_equal(access1(mm, s + 2 * PS, false), -EFAULT);
	assert_int_equal(access1(mm, s + 3 * PS, true), -EFAULT);
	assert_int_equal(access1(mm, p + 2 * PS, false), -EFAULT);
	assert_int_equal(access1(mm, p + 2 * PS, true), -EFAULT); /* no COW past EOF */
	assert_int_equal(mx_stats(mm).sigbus, sigbus + 4);
	assert_false(mapped(mm, p + 2 * PS));
	/* The page holding EOF is still there, past EOF included. */
	TU_ASSERT_OK(access1(mm, s + PS + 200, true));
	TU_ASSERT_OK(access1(mm, p + PS + 300, true));
	TU_CHECK(sim);
	assert_int_equal(simmm_get_user_pages(mm, s + 2 * PS, 1, 0, &pfn), -EFAULT);
	assert_int_equal(simmm_pin_user_pages(mm, p + 3 * PS, 1, SIMMM_FOLL_WRITE, &pfn), -EFAULT);
	assert_int_equal(simmm_madvise(mm, s, 4 * PS, SIMMM_MADV_POPULATE_READ), -EFAULT);
	assert_int_equal(simmm_file_pread(f, buf, sizeof(buf), 0), (long)(PS + 100));
	assert_int_equal(simmm_file_pread(f, buf, 1, 2 * PS), 0);
	assert_int_equal(fstats(f).cached, 2);
	TU_CHECK(sim);
	finish(&sim, mm, f);
}

/* ---- 3., 4. the partial page, growing ------------------------------------------ */

/* Page i of @f all (i + 1) bytes; written back to the store. */
static void fill_pages(struct simmm_file *f, unsigned pages)
{
	uint8_t buf[PS];

	for (unsigned i = 0; i < pages; i++) {
		memset(buf, (int)(i + 1), sizeof(buf));
		assert_int_equal(simmm_file_pwrite(f, buf, PS, i * PS), (long)PS);
	}
	TU_ASSERT_OK(simmm_file_fsync(f));
}

/* Bytes [from, to) of what @mm reads at @a are all @v. */
static void expect_bytes(struct simmm_mm *mm, simmm_addr_t a, unsigned from, unsigned to,
			 uint8_t v)
{
	uint8_t buf[PS];

	TU_ASSERT_OK(simmm_mm_access(mm, a + from, buf, to - from, SIMMM_ACCESS_READ));
	for (unsigned i = 0; i < to - from; i++)
		if (buf[i] != v)
			fail_msg("byte %u at %#llx is %#x, not %#x", from + i,
				 (unsigned long long)a, buf[i], v);
}

static void expect_file_bytes(struct simmm_file *f, uint64_t off, uint64_t len, uint8_t v)
{
	uint8_t buf[PS];

	assert_true(len <= PS);
	assert_int_equal(simmm_file_pread(f, buf, len, off), (long)len);
	for (unsigned i = 0; i < len; i++)
		if (buf[i] != v)
			fail_msg("file byte %llu is %#x, not %#x", (unsigned long long)(off + i),
				 buf[i], v);
}

static void test_partial_page_zeroed(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 16 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = new_file(sim, 2, 0);
	simmm_addr_t s;

	fill_pages(f, 2);
	s = map_file(mm, f, 2, SIMMM_MAP_SHARED);
	expect_bytes(mm, s + PS, 0, PS, 2);
	TU_ASSERT_OK(simmm_file_truncate(f, PS + 100));
	TU_CHECK(sim);
	/* The page holding EOF stays mapped, zeroed past EOF in place
	 * (truncate_inode_partial_folio()'s folio_zero_range()). */
	assert_true(mapped(mm, s + PS));
	expect_bytes(mm, s + PS, 0, 100, 2);
	expect_bytes(mm, s + PS, 100, PS, 0);
	expect_file_bytes(f, PS, 100, 2);
	/* The store's copy of that page is zeroed past EOF too: evicted
	 * (clean: zeroing does not dirty) and the file grown again, the page
	 * reads its bytes from the store. */
	TU_ASSERT_OK(simmm_madvise(mm, s + PS, PS, SIMMM_MADV_PAGEOUT));
	TU_CHECK(sim);
	assert_int_equal(fstats(f).cached, 1);
	TU_ASSERT_OK(simmm_file_truncate(f, 2 * PS));
	TU_CHECK(sim);
	expect_file_bytes(f, PS, 100, 2);
	expect_file_bytes(f, PS + 100, PS - 100, 0);
	expect_bytes(mm, s + PS, 100, PS, 0);
	TU_CHECK(sim);
	finish(&sim, mm, f);
}

static void test_grow_reads_zero(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 16 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = new_file(sim, 3, 0);
	simmm_addr_t s;

	fill_pages(f, 3);
	s = map_file(mm, f, 4, SIMMM_MAP_SHARED);
	expect_bytes(mm, s + 2 * PS, 0, PS, 3);
	assert_int_equal(access1(mm, s + 3 * PS, false), -EFAULT);
	/* Shrink (the store drops pages 1 and 2), then grow past the old
	 * size: every new page reads zeros, through the mapping and read(2). */
	TU_ASSERT_OK(simmm_file_truncate(f, PS));
	TU_CHECK(sim);
	assert_int_equal(access1(mm, s + PS, false), -EFAULT);
	TU_ASSERT_OK(simmm_file_truncate(f, 4 * PS));
	TU_CHECK(sim);
	assert_int_equal(simmm_file_size(f), 4 * PS);
	expect_bytes(mm, s, 0, PS, 1);
	for (unsigned i = 1; i < 4; i++) {
		expect_bytes(mm, s + i * PS, 0, PS, 0);
		expect_file_bytes(f, i * PS, PS, 0);
	}
	TU_ASSERT_OK(access1(mm, s + 3 * PS, true));
	TU_CHECK(sim);
	finish(&sim, mm, f);
}

/* ---- 5. a pinned page ----------------------------------------------------------------- */

static void test_pinned_page_survives(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 16 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = new_file(sim, 2, 0);
	simmm_addr_t s;
	simmm_pfn_t pfn = 0;
	struct simmm_page *page;
	const uint8_t *data;

	fill_pages(f, 2);
	s = map_file(mm, f, 2, SIMMM_MAP_SHARED);
	assert_int_equal(simmm_pin_user_pages(mm, s + PS, 1, SIMMM_FOLL_WRITE, &pfn), 1);
	page = simmm__pfn_to_page(sim, pfn);
	TU_ASSERT_OK(simmm_file_truncate(f, PS));
	TU_CHECK(sim);
	/* Unmapped and out of the page cache, alive for the pin with its
	 * contents (the device behind the pin may still DMA to it). */
	assert_false(mapped(mm, s + PS));
	assert_int_equal(fstats(f).cached, 1);
	assert_null(page->mapping);
	assert_true(page->refcount > 0);
	data = simmm__page_data(sim, page, false);
	assert_non_null(data);
	assert_int_equal(data[0], 2);
	assert_int_equal(data[PS - 1], 2);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pfn, 1));
	assert_int_equal(page->refcount, 0); /* the pin's was the last */
	TU_CHECK(sim);
	finish(&sim, mm, f);
}

/* ---- 6., 7. races ------------------------------------------------------------------- */

struct race {
	simmm_sim *sim;
	struct simmm_mm *mm;
	struct simmm_file *f;
	simmm_addr_t s, p;
	struct simmm_page *folio;
	uint32_t holder, faulter, truncator;
	bool both_blocked, inside, done, done_inside;
	unsigned stops;
	int rc_f, rc_t;
	simmm_addr_t fault_at;
	bool fault_write;
	struct simmm_mmu_notifier gate;
};

static void rr_config(simmm_sim *sim)
{
	struct simmm_sched_config cfg;

	simmm_sched_config_init(sim, &cfg);
	cfg.policy = SIMMM_SCHED_RR;
	TU_ASSERT_OK(simmm_sched_configure(sim, &cfg));
}

static bool wait_blocked(simmm_sim *sim, uint32_t id)
{
	for (int i = 0; i < WAIT_YIELDS; i++) {
		if (simmm_sched_task_state(sim, id) == SIMMM_TASK_BLOCKED)
			return true;
		simmm_sched_yield(sim);
	}
	return false;
}

static void run3(struct race *r, simmm_task_fn a, simmm_task_fn b, simmm_task_fn c)
{
	int id;

	rr_config(r->sim);
	id = simmm_sched_spawn(r->sim, "holder", a, r);
	assert_true(id > 0);
	r->holder = (uint32_t)id;
	id = simmm_sched_spawn(r->sim, "faulter", b, r);
	assert_true(id > 0);
	r->faulter = (uint32_t)id;
	id = simmm_sched_spawn(r->sim, "truncator", c, r);
	assert_true(id > 0);
	r->truncator = (uint32_t)id;
	assert_int_equal(simmm_sched_run(r->sim, 10000000), SIMMM_SCHED_DONE);
	assert_int_equal(simmm_reports_count(r->sim, 0), 0);
	TU_CHECK(r->sim);
}

/* Holds page 2's folio lock (a writeback, say) until the faulter and
 * the truncator both sleep on it. */
static void task_hold(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	simmm__folio_get(sim, r->folio);
	if (simmm__folio_lock(sim, r->folio)) {
		simmm__put_user_folio(sim, r->folio);
		return;
	}
	r->both_blocked = wait_blocked(sim, r->faulter) && wait_blocked(sim, r->truncator);
	simmm__folio_unlock_put(sim, r->folio);
}

static void task_write_fault(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	(void)sim;
	r->rc_f = access1(r->mm, r->s + 2 * PS, true);
}

static void task_truncate_after_fault(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	if (!wait_blocked(sim, r->faulter))
		return;
	r->rc_t = simmm_file_truncate(r->f, PS);
}

/* The write fault's page_mkwrite() waits for the folio lock; so does the
 * truncation, which wrote i_size first. The fault retries once the lock
 * is free and finds the page past EOF: SIGBUS. The truncation, which
 * could not trylock the folio in its first pass, removes it in its
 * second. */
static void test_truncate_waits_for_folio_lock(void **state)
{
	(void)state;
	struct race r = {.sim = mx_sim(NULL, 16 * MIB, 0)};

	r.mm = mx_mm(r.sim);
	r.f = new_file(r.sim, 3, 0);
	fill_pages(r.f, 3);
	r.s = map_file(r.mm, r.f, 3, SIMMM_MAP_SHARED);
	r.folio = simmm__filemap_lookup(r.f, 2);
	assert_non_null(r.folio);
	run3(&r, task_hold, task_write_fault, task_truncate_after_fault);
	assert_true(r.both_blocked);
	TU_ASSERT_OK(r.rc_t);
	assert_int_equal(r.rc_f, -EFAULT);
	assert_false(mapped(r.mm, r.s + 2 * PS));
	assert_null(simmm__filemap_lookup(r.f, 2));
	assert_null(simmm__filemap_lookup(r.f, 1));
	assert_int_equal(fstats(r.f).cached, 1);
	finish(&r.sim, r.mm, r.f);
}

/* Stops the faulter inside its allocation's reclaim (its first CLEAR)
 * until the truncator is done. */
static int gate_start(struct simmm_mmu_notifier *sub, const struct simmm_mmu_notifier_range *rg)
{
	struct race *r = (struct race *)((char *)sub - offsetof(struct race, gate));

	if (r->stops || rg->event != SIMMM_MMU_NOTIFY_CLEAR ||
	    simmm_sched_current(r->sim) != r->faulter)
		return 0;
	r->stops++;
	r->inside = true;
	for (int i = 0; i < WAIT_YIELDS && !r->done; i++)
		simmm_sched_yield(r->sim);
	r->done_inside = r->done;
	r->inside = false;
	return 0;
}

static const struct simmm_mmu_notifier_ops gate_ops = {
	.invalidate_range_start = gate_start,
};

static void task_idle(simmm_sim *sim, void *arg)
{
	(void)sim, (void)arg;
}

static void task_sleepy_fault(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	(void)sim;
	r->rc_f = access1(r->mm, r->fault_at, r->fault_write);
}

static void task_truncate_inside(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	for (int i = 0; i < WAIT_YIELDS && !r->inside; i++)
		simmm_sched_yield(sim);
	r->rc_t = simmm_file_truncate(r->f, 2 * PS);
	r->done = true;
}

/*
 * A fault on a missing pte of a private file mapping whose allocation
 * reclaims (the RAM is full of pinned pages but one) and sleeps in the
 * unmap's notifier while the file is truncated to 2 pages:
 *  - @write: do_cow_fault() allocates its copy before it looks page 2 up
 *    (folio_prealloc(), before ->fault()). When it wakes, filemap_fault()'s
 *    i_size check gives SIGBUS and the copy is freed. (Mapping the copy
 *    made a private page past EOF that the truncation's unmaps, both done,
 *    never saw.)
 *  - a read of page 3, never cached: its page-cache folio's allocation
 *    sleeps, and no folio is created past the new EOF (it stayed in the
 *    cache past EOF): SIGBUS.
 */
static void sleepy_fault_vs_truncate(bool write)
{
	struct race r = {.sim = mx_sim(NULL, 1 * MIB, 16 * MIB)};
	simmm_pfn_t fpins[4], *pins;
	simmm_addr_t region;
	uint64_t filled, npin;
	int rc = 0;

	r.mm = mx_mm(r.sim);
	r.f = new_file(r.sim, 4, 0);
	fill_pages(r.f, 3);
	r.s = map_file(r.mm, r.f, 4, SIMMM_MAP_SHARED);
	r.p = map_file(r.mm, r.f, 4, SIMMM_MAP_PRIVATE);
	r.fault_at = r.p + (write ? 2 : 3) * PS;
	r.fault_write = write;
	/* The cached pages stay: pinned through the shared mapping. */
	assert_int_equal(simmm_pin_user_pages(r.mm, r.s, 3, 0, fpins), 3);
	assert_null(simmm__filemap_lookup(r.f, 3));
	region = mx_anon(r.mm, 0, REGION_PAGES * PS);
	TU_ASSERT_OK(simmm_set_auto_reclaim(r.sim, false));
	for (filled = 0; filled < REGION_PAGES; filled++) {
		rc = access1(r.mm, region + filled * PS, true);
		if (rc)
			break;
	}
	assert_int_equal(rc, -ENOMEM);
	TU_ASSERT_OK(simmm_set_auto_reclaim(r.sim, true));
	npin = filled - 1; /* region page 0 is the one reclaim can take */
	pins = calloc(npin, sizeof(*pins));
	assert_int_equal(simmm_pin_user_pages(r.mm, region + PS, npin, SIMMM_FOLL_WRITE, pins),
			 (long)npin);
	TU_CHECK(r.sim);
	r.gate.ops = &gate_ops;
	TU_ASSERT_OK(simmm_mmu_notifier_register(&r.gate, r.mm));

	run3(&r, task_idle, task_sleepy_fault, task_truncate_inside);
	assert_int_equal(r.stops, 1);
	assert_true(r.done_inside);
	TU_ASSERT_OK(r.rc_t);
	assert_int_equal(r.rc_f, -EFAULT);
	assert_false(mapped(r.mm, r.fault_at));
	assert_int_equal(fstats(r.f).cached, 2);
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&r.gate, r.mm));
	TU_ASSERT_OK(simmm_unpin_user_pages(r.sim, pins, npin));
	TU_ASSERT_OK(simmm_unpin_user_pages(r.sim, fpins, 3));
	free(pins);
	TU_CHECK(r.sim);
	finish(&r.sim, r.mm, r.f);
}

static void test_cow_fault_rechecks_after_sleep(void **state)
{
	(void)state;
	sleepy_fault_vs_truncate(true);
}

static void test_read_fault_creates_nothing_past_eof(void **state)
{
	(void)state;
	sleepy_fault_vs_truncate(false);
}

/* ---- 8. hole punching ------------------------------------------------------------- */

static void test_punch_hole_keeps_size_and_cows(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 16 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = new_file(sim, 4, 0);
	simmm_addr_t s, p;
	struct tu_counter *cs, *cp;

	fill_pages(f, 4);
	s = map_file(mm, f, 4, SIMMM_MAP_SHARED);
	p = map_file(mm, f, 4, SIMMM_MAP_PRIVATE);
	for (unsigned i = 0; i < 4; i++) {
		expect_bytes(mm, s + i * PS, 0, PS, (uint8_t)(i + 1));
		expect_bytes(mm, p + i * PS, 0, PS, (uint8_t)(i + 1));
	}
	mx_write(mm, p + 2 * PS, 32); /* a private COW copy inside the hole */
	cs = counter_new(mm, s, 4 * PS);
	cp = counter_new(mm, p, 4 * PS);

	/* [PS + 100, 3 PS + 100): page 2 whole, pages 1 and 3 in part. */
	TU_ASSERT_OK(simmm_file_punch_hole(f, PS + 100, 2 * PS));
	TU_CHECK(sim);
	assert_int_equal(simmm_file_size(f), 4 * PS);
	assert_false(mapped(mm, s + 2 * PS));
	assert_true(mapped(mm, s + PS));      /* partial pages stay mapped */
	assert_true(mapped(mm, s + 3 * PS));
	assert_true(mapped(mm, p + 2 * PS));  /* the COW copy stays (no even_cows) */
	mx_expect(mm, p + 2 * PS, 32);
	assert_true(mapped(mm, p + PS));
	/* One unmap_mapping_range() of the whole page: one CLEAR each. */
	assert_int_equal(cs->events[SIMMM_MMU_NOTIFY_CLEAR], 1);
	assert_int_equal(cs->last_start, s + 2 * PS);
	assert_int_equal(cs->last_end, s + 3 * PS);
	assert_int_equal(cp->events[SIMMM_MMU_NOTIFY_CLEAR], 1);
	expect_bytes(mm, s + PS, 0, 100, 2);
	expect_bytes(mm, s + PS, 100, PS, 0);
	expect_bytes(mm, s + 2 * PS, 0, PS, 0);
	expect_bytes(mm, s + 3 * PS, 0, 100, 0);
	expect_bytes(mm, s + 3 * PS, 100, PS, 4);
	expect_bytes(mm, p + PS, 100, PS, 0); /* private, not COWed: the file's */
	/* The store is punched too: page 2 dropped, 1 and 3 zeroed in part. */
	assert_true(f->store_cap >= 4);
	assert_null(f->store[2]);
	assert_int_equal(f->store[1][99], 2);
	assert_int_equal(f->store[1][100], 0);
	assert_int_equal(f->store[3][99], 0);
	assert_int_equal(f->store[3][100], 4);
	counter_free(cs);
	counter_free(cp);
	TU_CHECK(sim);
	finish(&sim, mm, f);
}

/* Holds page 1's folio lock (a writeback, say) until the punch sleeps on it
 * and the reader has read page 0. */
static void task_hold_for_reader(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	simmm__folio_get(sim, r->folio);
	if (simmm__folio_lock(sim, r->folio)) {
		simmm__put_user_folio(sim, r->folio);
		return;
	}
	r->both_blocked = wait_blocked(sim, r->truncator);
	for (int i = 0; i < WAIT_YIELDS && !r->done; i++)
		simmm_sched_yield(sim);
	simmm__folio_unlock_put(sim, r->folio);
}

/* Reads page 0 while the punch sleeps on page 1's lock, page 0 already
 * out of the cache: the read creates a new page-cache page. */
static void task_read_in_hole(simmm_sim *sim, void *arg)
{
	struct race *r = arg;
	uint8_t b = 0xee;

	if (wait_blocked(sim, r->truncator)) {
		r->rc_f = (int)simmm_file_pread(r->f, &b, 1, 0);
		r->stops = b;
	}
	r->done = true;
}

static void task_punch(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	(void)sim;
	r->rc_t = simmm_file_punch_hole(r->f, 0, 2 * PS);
}

/*
 * A read of a page a punch has already removed from the page cache, while
 * the punch still runs (asleep on another page's lock): the page's old
 * bytes in the backing store (written back before a newer write that only
 * the removed page held) must not come back. Upstream a filesystem's punch
 * holds the mapping's invalidate_lock, which the read takes before it
 * reads a missing page, so the read finds the hole; simmm empties the
 * store before the cache. It read the stale 0x22 (found by fuzz_races:
 * fuzz/regressions/fuzz_races/punch-refault-reads-stale-store).
 */
static void test_punch_read_does_not_resurrect_store(void **state)
{
	(void)state;
	struct race r = {.sim = mx_sim(NULL, 16 * MIB, 0)};
	uint8_t old = 0x22, cur = 0x33, b = 0xee;

	r.mm = mx_mm(r.sim);
	r.f = new_file(r.sim, 2, 0);
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(simmm_file_pwrite(r.f, &old, 1, i * PS), 1);
	TU_ASSERT_OK(simmm_file_fsync(r.f)); /* the store holds 0x22 */
	assert_int_equal(simmm_file_pwrite(r.f, &cur, 1, 0), 1); /* the cache 0x33 */
	TU_CHECK(r.sim);
	r.folio = simmm__filemap_lookup(r.f, 1);
	assert_non_null(r.folio);
	run3(&r, task_hold_for_reader, task_read_in_hole, task_punch);
	assert_true(r.both_blocked);
	TU_ASSERT_OK(r.rc_t);
	assert_int_equal(r.rc_f, 1);
	/* before the punch 0x33, after it 0: never the older 0x22 */
	assert_int_equal(r.stops, 0);
	assert_int_equal(simmm_file_pread(r.f, &b, 1, 0), 1);
	assert_int_equal(b, 0);
	assert_int_equal(simmm_file_pread(r.f, &b, 1, PS), 1);
	assert_int_equal(b, 0);
	TU_CHECK(r.sim);
	finish(&r.sim, r.mm, r.f);
}

/* ---- 9. MADV_REMOVE -------------------------------------------------------------- */

static void test_madvise_remove_errors(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 16 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = new_file(sim, 4, 0), *ro = new_file(sim, 4, SIMMM_FILE_RDONLY);
	simmm_addr_t anon = mx_anon(mm, 0, 4 * PS), p, a;

	p = map_file(mm, f, 4, SIMMM_MAP_PRIVATE);
	assert_int_equal(simmm_madvise(mm, anon, PS, SIMMM_MADV_REMOVE), -EINVAL);
	assert_int_equal(simmm_madvise(mm, p, PS, SIMMM_MADV_REMOVE), -EACCES);
	TU_ASSERT_OK(simmm_mmap(mm, 0, 4 * PS, SIMMM_PROT_READ, SIMMM_MAP_SHARED, ro, 0, &a));
	assert_int_equal(simmm_madvise(mm, a, PS, SIMMM_MADV_REMOVE), -EACCES);
	TU_ASSERT_OK(simmm_mmap(mm, 0, 4 * PS, RW, SIMMM_MAP_SHARED | SIMMM_MAP_LOCKED, f, 0, &a));
	assert_int_equal(simmm_madvise(mm, a, PS, SIMMM_MADV_REMOVE), -EINVAL);
	assert_int_equal(simmm_madvise(mm, a + PS, PS, 9999), -EINVAL);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_file_put(ro));
	finish(&sim, mm, f);
}

/* A shared file mapping: the range is punched for every mapping of the
 * file (another mm's too); a hole in the range gives -ENOMEM after the
 * rest is done; the mmap lock is free again afterwards. */
static void test_madvise_remove_shared_file(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 16 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *mm2 = mx_mm(sim);
	struct simmm_file *f = new_file(sim, 4, 0);
	simmm_addr_t s, s2;
	struct tu_counter *c2;

	fill_pages(f, 4);
	s = map_file(mm, f, 4, SIMMM_MAP_SHARED);
	s2 = map_file(mm2, f, 4, SIMMM_MAP_SHARED);
	for (unsigned i = 0; i < 4; i++)
		expect_bytes(mm2, s2 + i * PS, 0, PS, (uint8_t)(i + 1));
	mx_write(mm, s + PS, 7);
	c2 = counter_new(mm2, s2, 4 * PS);
	TU_ASSERT_OK(simmm_madvise(mm, s + PS, 2 * PS, SIMMM_MADV_REMOVE));
	TU_CHECK(sim);
	assert_int_equal(simmm_file_size(f), 4 * PS);
	assert_false(mapped(mm2, s2 + PS));
	assert_false(mapped(mm2, s2 + 2 * PS));
	assert_int_equal(c2->events[SIMMM_MMU_NOTIFY_CLEAR], 1);
	expect_bytes(mm2, s2 + PS, 0, PS, 0);
	expect_bytes(mm2, s2 + 2 * PS, 0, PS, 0);
	expect_bytes(mm, s + PS, 0, PS, 0);
	expect_bytes(mm2, s2 + 3 * PS, 0, PS, 4);
	expect_file_bytes(f, 2 * PS, PS, 0);
	assert_int_equal(simmm_mmap_read_lock(mm), 0);
	simmm_mmap_read_unlock(mm);
	/* A range running past the mapping: the mapped part, then -ENOMEM. */
	mx_write(mm, s + 3 * PS, 8);
	assert_int_equal(simmm_madvise(mm, s + 3 * PS, 2 * PS, SIMMM_MADV_REMOVE), -ENOMEM);
	expect_bytes(mm2, s2 + 3 * PS, 0, PS, 0);
	counter_free(c2);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm2));
	finish(&sim, mm, f);
}

/* Shared anonymous memory (its shmem file): a fork child sharing it reads
 * zeros where the parent removed; rss_shmem drops. */
static void test_madvise_remove_shmem(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 16 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_map(mm, 0, 4 * PS, SIMMM_MAP_SHARED | SIMMM_MAP_ANONYMOUS);

	for (unsigned i = 0; i < 4; i++)
		mx_write(mm, a + i * PS, i + 1);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	mx_expect(child, a + PS, 2);
	assert_int_equal(mx_stats(mm).rss_shmem, 4);
	TU_ASSERT_OK(simmm_madvise(mm, a + PS, 2 * PS, SIMMM_MADV_REMOVE));
	TU_CHECK(sim);
	assert_int_equal(mx_stats(mm).rss_shmem, 2);
	assert_false(mapped(child, a + PS));
	mx_expect_zero(child, a + PS);
	mx_expect_zero(mm, a + 2 * PS);
	mx_expect(child, a + 3 * PS, 4);
	mx_expect(mm, a, 1);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(child));
	finish(&sim, mm, NULL);
}

/* ---- 10. arguments, shmem -------------------------------------------------------- */

static void test_args(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 16 * MIB, 0);
	struct simmm_file *f = new_file(sim, 2, 0);

	assert_int_equal(simmm_file_truncate(NULL, 0), -EINVAL);
	assert_int_equal(simmm_file_truncate(f, UINT64_MAX), -EFBIG);
	assert_int_equal(simmm_file_punch_hole(NULL, 0, 1), -EINVAL);
	assert_int_equal(simmm_file_punch_hole(f, 0, 0), -EINVAL);
	assert_int_equal(simmm_file_punch_hole(f, UINT64_MAX - 1, 4), -EFBIG);
	/* Past EOF: nothing to punch, size kept. */
	TU_ASSERT_OK(simmm_file_punch_hole(f, 8 * PS, PS));
	assert_int_equal(simmm_file_size(f), 2 * PS);
	TU_ASSERT_OK(simmm_file_truncate(f, 0));
	assert_int_equal(fstats(f).cached, 0);
	TU_CHECK(sim);
	finish(&sim, NULL, f);
}

/* A SIMMM_FILE_RDONLY file's only fd is read-only: ftruncate() is -EINVAL
 * (do_ftruncate(): no FMODE_WRITE, checked before the size), fallocate()
 * -EBADF (vfs_fallocate(): after the length check, before the range's);
 * nothing changes, a private mapping's pages and the size included. */
static void test_rdonly_file_refused(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 16 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *ro = new_file(sim, 4, SIMMM_FILE_RDONLY);
	simmm_addr_t p;

	fill_pages(ro, 4);
	p = map_file(mm, ro, 4, SIMMM_MAP_PRIVATE);
	expect_bytes(mm, p + 3 * PS, 0, PS, 4);
	assert_true(mapped(mm, p + 3 * PS));
	assert_int_equal(simmm_file_truncate(ro, PS), -EINVAL);
	assert_int_equal(simmm_file_truncate(ro, 8 * PS), -EINVAL);
	assert_int_equal(simmm_file_truncate(ro, UINT64_MAX), -EINVAL);
	TU_CHECK(sim);
	assert_int_equal(simmm_file_punch_hole(ro, 0, 0), -EINVAL);
	assert_int_equal(simmm_file_punch_hole(ro, PS, 2 * PS), -EBADF);
	assert_int_equal(simmm_file_punch_hole(ro, UINT64_MAX - 1, 4), -EBADF);
	TU_CHECK(sim);
	assert_int_equal(simmm_file_size(ro), 4 * PS);
	assert_int_equal(fstats(ro).cached, 4);
	assert_true(mapped(mm, p + 3 * PS));
	expect_bytes(mm, p + PS, 0, PS, 2);
	expect_bytes(mm, p + 3 * PS, 0, PS, 4);
	TU_CHECK(sim);
	finish(&sim, mm, ro);
}

/* shmem_setattr() unmaps only when whole pages lie past the new EOF;
 * truncate_pagecache() always does: a VMA reaching past EOF sees its two
 * CLEARs even though there is nothing to zap. Both zero the partial page. */
static void test_shrink_inside_last_page(void **state)
{
	(void)state;
	for (unsigned shmem = 0; shmem < 2; shmem++) {
		simmm_sim *sim = mx_sim(NULL, 16 * MIB, 0);
		struct simmm_mm *mm = mx_mm(sim);
		struct simmm_file *f = new_file(sim, 2, shmem ? SIMMM_FILE_SHMEM : 0);
		simmm_addr_t s = map_file(mm, f, 3, SIMMM_MAP_SHARED);
		struct tu_counter *c = counter_new(mm, s, 3 * PS);
		simmm_pfn_t pfn = 0;

		fill_pages(f, 2);
		expect_bytes(mm, s + PS, 0, PS, 2);
		TU_ASSERT_OK(simmm_file_truncate(f, 2 * PS - 100));
		TU_CHECK(sim);
		assert_int_equal(c->events[SIMMM_MMU_NOTIFY_CLEAR], shmem ? 0 : 2);
		assert_true(mapped(mm, s + PS));
		expect_bytes(mm, s + PS, 0, PS - 100, 2);
		expect_bytes(mm, s + PS, PS - 100, PS, 0);
		/* Past EOF: SIGBUS and -EFAULT, shmem as regular files. */
		TU_ASSERT_OK(simmm_file_truncate(f, PS));
		TU_CHECK(sim);
		assert_int_equal(c->events[SIMMM_MMU_NOTIFY_CLEAR], shmem ? 2 : 4);
		assert_false(mapped(mm, s + PS));
		assert_int_equal(access1(mm, s + PS, false), -EFAULT);
		assert_int_equal(simmm_get_user_pages(mm, s + PS, 1, 0, &pfn), -EFAULT);
		assert_int_equal(fstats(f).cached, 1);
		counter_free(c);
		finish(&sim, mm, f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shrink_unmaps_even_cows),
		cmocka_unit_test(test_shrink_unmaps_fork_child),
		cmocka_unit_test(test_sigbus_after_shrink),
		cmocka_unit_test(test_partial_page_zeroed),
		cmocka_unit_test(test_grow_reads_zero),
		cmocka_unit_test(test_pinned_page_survives),
		cmocka_unit_test(test_truncate_waits_for_folio_lock),
		cmocka_unit_test(test_cow_fault_rechecks_after_sleep),
		cmocka_unit_test(test_read_fault_creates_nothing_past_eof),
		cmocka_unit_test(test_punch_hole_keeps_size_and_cows),
		cmocka_unit_test(test_punch_read_does_not_resurrect_store),
		cmocka_unit_test(test_madvise_remove_errors),
		cmocka_unit_test(test_madvise_remove_shared_file),
		cmocka_unit_test(test_madvise_remove_shmem),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_rdonly_file_refused),
		cmocka_unit_test(test_shrink_inside_last_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
