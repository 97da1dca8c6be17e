// SPDX-License-Identifier: MIT
/*
 * Guard regions: MADV_GUARD_INSTALL / MADV_GUARD_REMOVE against upstream's
 * madvise_guard_install() / madvise_guard_remove() (Linux 6.15 to 6.18:
 * file-backed, shared and PROT_NONE VMAs allowed) and the readers of the
 * guard marker (tools/testing/selftests/mm/guard-regions.c's scenarios):
 *
 *  - install zaps what the range maps (pages, swap entries, THPs, split at
 *    the edges, device-private entries) with one CLEAR invalidation, and
 *    puts a marker in every pte; installing again, or over nothing, zaps
 *    nothing; remove clears the markers only, faulting nothing in;
 *  - an access is SIGSEGV (-EFAULT, stats.sigsegv), GUP -EFAULT, populate
 *    -EFAULT, mlock's populate -ENOMEM, hmm_range_fault -EFAULT when asked
 *    to fault, 0 when not, peek -EFAULT;
 *  - DONTNEED, FREE, COLD, PAGEOUT, mprotect and reclaim keep markers,
 *    munmap drops them, fork copies them (file VMAs too: the install gave
 *    the VMA an anon_vma; not into a WIPEONFORK child), mremap moves them
 *    (a shrink drops the tail's);
 *  - VM_LOCKED (install only), special and hugetlb VMAs: -EINVAL; holes:
 *    -ENOMEM after the mapped parts;
 *  - faults racing the install make it zap again, then restart the call
 *    (simmm_madvise() and process_madvise(), whose restart is per vector);
 *  - the checker refuses a marker where no install can put one;
 *  - every allocation of an install scenario failing in turn.
 * Every step runs the invariant checker.
 */
#include "test_migrate_util.h"
#include "test_mm_ext_util.h"
#include <simmm/hmm.h>
#include <simmm/mmu_notifier.h>

#define RWP (SIMMM_PROT_READ | SIMMM_PROT_WRITE)
#define ANON (SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS)
#define SHARED_ANON (SIMMM_MAP_SHARED | SIMMM_MAP_ANONYMOUS)
#define INSTALL SIMMM_MADV_GUARD_INSTALL
#define REMOVE SIMMM_MADV_GUARD_REMOVE

static bool is_guard(struct simmm_mm *mm, simmm_addr_t a)
{
	struct simmm_translation t = mx_tr(mm, a);

	return t.level == SIMMM_LVL_PTE && simmm_is_guard_swp_entry(t.entry);
}

/* A read and a write of @a both fault with SIGSEGV; nothing is mapped. */
static void expect_segv(struct simmm_mm *mm, simmm_addr_t a)
{
	uint64_t segv = mx_stats(mm).sigsegv;
	uint8_t v = 7;

	assert_int_equal(simmm_mm_access(mm, a, &v, 1, SIMMM_ACCESS_READ), -EFAULT);
	assert_int_equal(simmm_mm_access(mm, a, &v, 1, SIMMM_ACCESS_WRITE), -EFAULT);
	assert_int_equal(mx_stats(mm).sigsegv, segv + 2);
	assert_true(is_guard(mm, a));
}

static void advise(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t a, uint64_t len, int adv)
{
	TU_ASSERT_OK(simmm_madvise(mm, a, len, adv));
	TU_CHECK(sim);
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

static void done(simmm_sim **sim, struct simmm_mm *mm)
{
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(*sim);
	tu_sim_free(sim);
}

/* ---- install and remove ----------------------------------------------------------- */

/* Anonymous memory: the install zaps the pages it covers (one CLEAR
 * invalidation of the range), the rest stays; again or over nothing: no
 * zap. Remove clears the markers and leaves the pages around them. */
static void test_anon(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 12 * PS);
	struct tu_counter *c = counter_new(mm, a, 12 * PS);

	for (unsigned i = 0; i < 10; i++)
		mx_write(mm, a + i * PS, 1 + i);
	assert_int_equal(mx_stats(mm).rss_anon, 10);
	advise(sim, mm, a, 3 * PS, INSTALL);
	assert_int_equal(c->events[SIMMM_MMU_NOTIFY_CLEAR], 1);
	assert_int_equal(c->last_start, a);
	assert_int_equal(c->last_end, a + 3 * PS);
	assert_int_equal(mx_stats(mm).rss_anon, 7);
	for (unsigned i = 0; i < 3; i++)
		expect_segv(mm, a + i * PS);
	for (unsigned i = 3; i < 10; i++)
		mx_expect(mm, a + i * PS, 1 + i);
	TU_CHECK(sim);
	/* Installed again (and over never-touched pages): nothing to zap. */
	advise(sim, mm, a, 3 * PS, INSTALL);
	advise(sim, mm, a + 10 * PS, 2 * PS, INSTALL);
	assert_int_equal(c->events[SIMMM_MMU_NOTIFY_CLEAR], 1);
	expect_segv(mm, a + 11 * PS);
	/* Remove over the whole range: the markers go, nothing else; no
	 * notifier, nothing faulted in. */
	advise(sim, mm, a, 12 * PS, REMOVE);
	assert_int_equal(c->events[SIMMM_MMU_NOTIFY_CLEAR], 1);
	for (unsigned i = 0; i < 12; i++)
		assert_false(is_guard(mm, a + i * PS));
	assert_int_equal(mx_stats(mm).rss_anon, 7);
	assert_int_equal(mx_tr(mm, a).entry, 0);
	for (unsigned i = 3; i < 10; i++)
		mx_expect(mm, a + i * PS, 1 + i);
	mx_expect_zero(mm, a);
	mx_expect_zero(mm, a + 11 * PS);
	assert_int_equal(mx_stats(mm).sigsegv, 8);
	TU_CHECK(sim);
	counter_free(c);
	done(&sim, mm);
}

/* Files: shared and private mappings of one file, shmem. Install keeps
 * the file's data (the page cache is not touched), a private COW copy is
 * lost; remove makes the file's data visible again. A read-only mapping of
 * a read-only file and a PROT_NONE VMA take markers too (6.15+). */
static void test_file_and_shared(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = NULL, *ro = NULL;
	simmm_addr_t sh = 0, pr = 0, rp = 0, sa, pn;
	uint8_t v;

	TU_ASSERT_OK(simmm_file_create(sim, 8 * PS, 0, &f));
	TU_ASSERT_OK(simmm_file_create(sim, 4 * PS, SIMMM_FILE_RDONLY, &ro));
	TU_ASSERT_OK(simmm_mmap(mm, 0, 8 * PS, RWP, SIMMM_MAP_SHARED, f, 0, &sh));
	TU_ASSERT_OK(simmm_mmap(mm, 0, 8 * PS, RWP, SIMMM_MAP_PRIVATE, f, 0, &pr));
	TU_ASSERT_OK(simmm_mmap(mm, 0, 4 * PS, SIMMM_PROT_READ, SIMMM_MAP_SHARED, ro, 0, &rp));
	for (unsigned i = 0; i < 8; i++)
		mx_write(mm, sh + i * PS, 0x10 + i);
	mx_write(mm, pr + PS, 0x40); /* a private copy */
	mx_expect(mm, pr + 2 * PS, 0x12);
	advise(sim, mm, sh, PS, INSTALL);
	advise(sim, mm, sh + 2 * PS, PS, INSTALL);
	advise(sim, mm, pr, 2 * PS, INSTALL);
	expect_segv(mm, sh);
	expect_segv(mm, pr + PS);
	mx_expect(mm, pr + 2 * PS, 0x12);
	mx_expect(mm, sh + PS, 0x11);
	/* The page cache kept the guarded shared pages' data. */
	TU_ASSERT_OK(simmm_file_pread(f, &v, 1, 2 * PS) == 1 ? 0 : -EIO);
	assert_int_equal(v, (uint8_t)(0x12 * 31));
	advise(sim, mm, pr, 8 * PS, REMOVE);
	mx_expect(mm, pr + PS, 0x11); /* the private copy was zapped */
	expect_segv(mm, sh + 2 * PS);
	advise(sim, mm, sh, 8 * PS, REMOVE);
	mx_expect(mm, sh, 0x10);
	mx_expect(mm, sh + 2 * PS, 0x12);
	/* Read-only file, shared anonymous memory, PROT_NONE. */
	advise(sim, mm, rp + PS, PS, INSTALL);
	expect_segv(mm, rp + PS);
	advise(sim, mm, rp, 4 * PS, REMOVE);
	assert_int_equal(simmm_mm_access(mm, rp + PS, &v, 1, SIMMM_ACCESS_READ), 0);
	sa = mx_map(mm, 0, 4 * PS, SHARED_ANON);
	mx_write(mm, sa + PS, 0x50);
	advise(sim, mm, sa, 2 * PS, INSTALL);
	expect_segv(mm, sa + PS);
	advise(sim, mm, sa, 4 * PS, REMOVE);
	mx_expect(mm, sa + PS, 0x50); /* shmem kept it */
	TU_ASSERT_OK(simmm_mmap(mm, 0, 2 * PS, SIMMM_PROT_NONE, ANON, NULL, 0, &pn));
	advise(sim, mm, pn, 2 * PS, INSTALL);
	assert_true(is_guard(mm, pn + PS));
	TU_ASSERT_OK(simmm_file_put(f));
	TU_ASSERT_OK(simmm_file_put(ro));
	done(&sim, mm);
}

/* Swapped-out pages: the install's zap frees their swap slots. */
static void test_swapped(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS);

	for (unsigned i = 0; i < 4; i++)
		mx_write(mm, a + i * PS, 1 + i);
	advise(sim, mm, a, 4 * PS, SIMMM_MADV_PAGEOUT);
	assert_int_equal(mx_stats(mm).swap_ents, 4);
	assert_int_equal(mx_swap_used(sim), 4);
	advise(sim, mm, a + PS, 2 * PS, INSTALL);
	assert_int_equal(mx_stats(mm).swap_ents, 2);
	assert_int_equal(mx_swap_used(sim), 2);
	expect_segv(mm, a + 2 * PS);
	mx_expect(mm, a + 3 * PS, 4);
	advise(sim, mm, a, 4 * PS, REMOVE);
	mx_expect_zero(mm, a + PS);
	mx_expect(mm, a, 1);
	done(&sim, mm);
}

/* THPs: one the range covers whole goes (its PMD, its deposited table);
 * one covered in part is split at the edges and only the covered pages
 * go. DONTNEED of the THP's range keeps the marker, COLLAPSE refuses it. */
static void test_thp(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = thp_region(mm, 2 * PMD), b = a + PMD;

	mx_write(mm, a, 1);
	mx_write(mm, b + 5 * PS, 2);
	mx_write(mm, b + 7 * PS, 3);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PMD);
	assert_int_equal(mx_tr(mm, b).level, SIMMM_LVL_PMD);
	assert_int_equal(mx_stats(mm).rss_anon, 2 * NR);
	advise(sim, mm, a, PMD, INSTALL);
	assert_int_equal(mx_stats(mm).rss_anon, NR);
	assert_true(is_guard(mm, a));
	assert_true(is_guard(mm, a + (NR - 1) * PS));
	/* MADV_COLLAPSE refuses a range with markers (its swap-in of the
	 * non-present ptes meets SIGSEGV: SCAN_FAIL) and leaves them. */
	assert_int_equal(simmm_madvise(mm, a, PMD, SIMMM_MADV_COLLAPSE), -EINVAL);
	TU_CHECK(sim);
	assert_true(is_guard(mm, a + 3 * PS));
	advise(sim, mm, b + 6 * PS, PS, INSTALL);
	assert_int_equal(mx_stats(mm).rss_anon, NR - 1);
	assert_int_equal(mx_tr(mm, b).level, SIMMM_LVL_PTE);
	expect_segv(mm, b + 6 * PS);
	mx_expect(mm, b + 5 * PS, 2);
	mx_expect(mm, b + 7 * PS, 3);
	advise(sim, mm, b, PMD, SIMMM_MADV_DONTNEED);
	assert_int_equal(mx_stats(mm).rss_anon, 0);
	expect_segv(mm, b + 6 * PS);
	expect_segv(mm, a + 9 * PS);
	done(&sim, mm);
}

/* A device-private entry in the range: the zap drops it, and the device
 * page goes back to the driver. */
static void test_device_private(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct tdev d;
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS);
	uint64_t migrated = 0;

	TU_ASSERT_OK(tdev_init(&d, sim, SIMMM_MEM_DEVICE_PRIVATE, 8));
	TU_ASSERT_OK(tu_fill(mm, a, 4, PS, 0x30));
	TU_ASSERT_OK(tdev_migrate(&d, mm, a, 4, SIMMM_MIGRATE_VMA_SELECT_SYSTEM, &migrated));
	assert_int_equal(migrated, 4);
	assert_true(simmm_is_device_private_entry(mx_tr(mm, a + PS).entry));
	assert_int_equal(d.nfree, 4);
	TU_CHECK(sim);
	advise(sim, mm, a + PS, 2 * PS, INSTALL);
	assert_int_equal(d.nfree, 6);
	expect_segv(mm, a + PS);
	expect_segv(mm, a + 2 * PS);
	assert_true(simmm_is_device_private_entry(mx_tr(mm, a).entry));
	TU_ASSERT_OK(tu_verify(mm, a + 3 * PS, 1, PS, 0x33));
	advise(sim, mm, a, 4 * PS, REMOVE);
	mx_expect_zero(mm, a + PS);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	TU_ASSERT_OK(tdev_evict(&d));
	TU_ASSERT_OK(simmm_memunmap_pages(&d.pgmap));
	tu_sim_free(&sim);
}

/* ---- what keeps markers, what drops them ------------------------------------------ */

/* DONTNEED (anonymous and file), FREE, COLD, PAGEOUT, mprotect (PROT_READ,
 * PROT_NONE) and reclaim leave markers; munmap drops them (a mapping put
 * back there has none), MAP_FIXED too. */
static void test_keep_and_drop(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = NULL;
	simmm_addr_t a = mx_anon(mm, 0, 10 * PS), m = 0, out = 0;
	static const int keep[] = {SIMMM_MADV_DONTNEED, SIMMM_MADV_FREE, SIMMM_MADV_COLD,
				   SIMMM_MADV_PAGEOUT};
	uint64_t got;
	int rc;

	for (unsigned i = 0; i < 10; i++)
		mx_write(mm, a + i * PS, 1 + i);
	for (unsigned i = 0; i < 10; i += 2)
		advise(sim, mm, a + i * PS, PS, INSTALL);
	for (unsigned k = 0; k < sizeof(keep) / sizeof(keep[0]); k++) {
		advise(sim, mm, a, 10 * PS, keep[k]);
		for (unsigned i = 0; i < 10; i += 2)
			assert_true(is_guard(mm, a + i * PS));
	}
	rc = simmm_reclaim(sim, 1000, &got);
	assert_true(rc == 0 || rc == -ENOSPC);
	TU_ASSERT_OK(simmm_mprotect(mm, a, 10 * PS, SIMMM_PROT_READ));
	TU_CHECK(sim);
	assert_true(is_guard(mm, a + 4 * PS));
	TU_ASSERT_OK(simmm_mprotect(mm, a, 10 * PS, SIMMM_PROT_NONE));
	assert_true(is_guard(mm, a + 4 * PS));
	TU_ASSERT_OK(simmm_mprotect(mm, a, 10 * PS, RWP));
	TU_CHECK(sim);
	for (unsigned i = 0; i < 10; i++) {
		if (i % 2 == 0) {
			expect_segv(mm, a + i * PS);
			continue;
		}
		mx_expect_zero(mm, a + i * PS); /* DONTNEED'd */
	}
	/* A file mapping's DONTNEED keeps them too. */
	TU_ASSERT_OK(simmm_file_create(sim, 4 * PS, 0, &f));
	TU_ASSERT_OK(simmm_mmap(mm, 0, 4 * PS, RWP, SIMMM_MAP_SHARED, f, 0, &m));
	mx_write(mm, m + PS, 9);
	advise(sim, mm, m, 2 * PS, INSTALL);
	advise(sim, mm, m, 4 * PS, SIMMM_MADV_DONTNEED);
	expect_segv(mm, m + PS);
	/* munmap drops them; what is mapped there again has none. */
	TU_ASSERT_OK(simmm_munmap(mm, a + 2 * PS, 3 * PS));
	TU_CHECK(sim);
	for (unsigned i = 2; i < 5; i++)
		assert_int_equal(mx_tr(mm, a + i * PS).entry, 0);
	TU_ASSERT_OK(simmm_mmap(mm, a + 2 * PS, 3 * PS, RWP, ANON | SIMMM_MAP_FIXED, NULL, 0,
				&out));
	mx_expect_zero(mm, a + 2 * PS);
	mx_expect_zero(mm, a + 4 * PS);
	expect_segv(mm, a + 6 * PS);
	/* MAP_FIXED over guarded pages replaces them. */
	TU_ASSERT_OK(simmm_mmap(mm, a + 6 * PS, PS, RWP, ANON | SIMMM_MAP_FIXED, NULL, 0, &out));
	mx_expect_zero(mm, a + 6 * PS);
	TU_ASSERT_OK(simmm_munmap(mm, m, 4 * PS));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, m).entry, 0);
	TU_ASSERT_OK(simmm_file_put(f));
	done(&sim, mm);
}

/* fork copies markers: an anonymous VMA, and a shared file VMA that never
 * had an anonymous page (the install gave it an anon_vma, so fork copies
 * its page table, vma_needs_copy()); the child's remove leaves the
 * parent's. A VM_WIPEONFORK child has none, a VM_DONTCOPY VMA no child. */
static void test_fork(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	struct simmm_file *f = NULL;
	simmm_addr_t a = mx_anon(mm, 0, 10 * PS), w = mx_anon(mm, 0, 4 * PS);
	simmm_addr_t dc = mx_anon(mm, 0, 2 * PS), m = 0;
	struct simmm_vma_info vi;

	TU_ASSERT_OK(simmm_file_create(sim, 4 * PS, 0, &f));
	TU_ASSERT_OK(simmm_mmap(mm, 0, 4 * PS, RWP, SIMMM_MAP_SHARED, f, 0, &m));
	mx_write(mm, a + 7 * PS, 7);
	advise(sim, mm, a, 5 * PS, INSTALL);
	advise(sim, mm, m + PS, PS, INSTALL);
	advise(sim, mm, w, 4 * PS, SIMMM_MADV_WIPEONFORK);
	advise(sim, mm, w, 2 * PS, INSTALL);
	advise(sim, mm, dc, 2 * PS, SIMMM_MADV_DONTFORK);
	advise(sim, mm, dc, PS, INSTALL);
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	for (unsigned i = 0; i < 5; i++)
		expect_segv(child, a + i * PS);
	mx_expect(child, a + 7 * PS, 7);
	expect_segv(child, m + PS);
	mx_expect_zero(child, m);
	mx_expect_zero(child, w); /* wiped: no marker */
	assert_false(is_guard(child, w + PS));
	expect_segv(mm, w + PS);
	assert_int_equal(simmm_vma_info(child, dc, &vi), -ENOENT);
	advise(sim, child, a, 10 * PS, REMOVE);
	mx_expect_zero(child, a);
	for (unsigned i = 0; i < 5; i++)
		expect_segv(mm, a + i * PS);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_file_put(f));
	done(&sim, mm);
}

/* mremap moves markers with the page table (a move, a growth in place, a
 * DONTUNMAP move); a shrink unmaps the tail and its markers, so growing
 * back finds none. */
static void test_mremap(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 5 * PS), t = mx_anon(mm, 0, 16 * PS), r = 0;

	TU_ASSERT_OK(simmm_munmap(mm, t + 5 * PS, 11 * PS)); /* room to grow t */
	mx_write(mm, a + 2 * PS, 2);
	advise(sim, mm, a, PS, INSTALL);
	advise(sim, mm, a + 4 * PS, PS, INSTALL);
	TU_ASSERT_OK(simmm_mremap(mm, a, 5 * PS, 5 * PS,
				  SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED, t, &r));
	TU_CHECK(sim);
	assert_int_equal(r, t);
	expect_segv(mm, t);
	expect_segv(mm, t + 4 * PS);
	mx_expect(mm, t + 2 * PS, 2);
	assert_int_equal(mx_tr(mm, a).entry, 0);
	/* Grow in place: the markers stay where they are. */
	TU_ASSERT_OK(simmm_mremap(mm, t, 5 * PS, 10 * PS, 0, 0, &r));
	TU_CHECK(sim);
	expect_segv(mm, t + 4 * PS);
	mx_expect_zero(mm, t + 5 * PS);
	/* Shrink to 3 pages: page 4's marker goes with the tail. */
	TU_ASSERT_OK(simmm_mremap(mm, t, 10 * PS, 3 * PS, 0, 0, &r));
	TU_CHECK(sim);
	assert_int_equal(mx_tr(mm, t + 4 * PS).entry, 0);
	TU_ASSERT_OK(simmm_mremap(mm, t, 3 * PS, 5 * PS, 0, 0, &r));
	expect_segv(mm, t);
	mx_expect_zero(mm, t + 4 * PS);
	/* DONTUNMAP: the markers move, the old VMA stays, empty. */
	TU_ASSERT_OK(simmm_mremap(mm, t, 5 * PS, 5 * PS,
				  SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_DONTUNMAP, 0, &r));
	TU_CHECK(sim);
	expect_segv(mm, r);
	mx_expect(mm, r + 2 * PS, 2);
	mx_expect_zero(mm, t);
	done(&sim, mm);
}

/* ---- the readers ------------------------------------------------------------------ */

/* GUP fails with -EFAULT at a guard page (after the pages before it, if
 * any), so do MADV_POPULATE_(READ|WRITE); mlock's populate turns it into
 * -ENOMEM; hmm_range_fault asked to fault it: -EFAULT, else 0; peek:
 * -EFAULT; handle_mm_fault(): VM_FAULT_SIGSEGV. */
static void test_readers(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS), l = mx_anon(mm, 0, 4 * PS);
	struct tu_counter *c = counter_new(mm, a, 4 * PS);
	simmm_pfn_t pfns[4];
	uint64_t hp[4] = {0};
	struct simmm_hmm_range r = {.notifier = &c->mn, .start = a, .end = a + 4 * PS,
				    .hmm_pfns = hp};
	uint8_t v;

	mx_write(mm, a + PS, 1);
	advise(sim, mm, a + 2 * PS, PS, INSTALL);
	assert_int_equal(simmm_get_user_pages(mm, a + 2 * PS, 1, 0, pfns), -EFAULT);
	assert_int_equal(simmm_pin_user_pages(mm, a + 2 * PS, 2, SIMMM_FOLL_WRITE, pfns), -EFAULT);
	assert_int_equal(simmm_get_user_pages(mm, a, 4, SIMMM_FOLL_WRITE, pfns), 2);
	TU_ASSERT_OK(simmm_put_user_pages(sim, pfns, 2));
	TU_CHECK(sim);
	assert_int_equal(simmm_madvise(mm, a, 4 * PS, SIMMM_MADV_POPULATE_READ), -EFAULT);
	assert_int_equal(simmm_madvise(mm, a + 2 * PS, 2 * PS, SIMMM_MADV_POPULATE_WRITE), -EFAULT);
	assert_true(mx_tr(mm, a).present); /* populated before the guard page */
	assert_false(mx_tr(mm, a + 3 * PS).present);
	assert_int_equal(simmm_mm_peek(mm, a + 2 * PS, &v, 1), -EFAULT);
	TU_ASSERT_OK(simmm_mmap_read_lock(mm));
	assert_int_equal(simmm_handle_mm_fault(mm, a + 2 * PS, SIMMM_FAULT_FLAG_REMOTE),
			 SIMMM_VM_FAULT_SIGSEGV);
	TU_ASSERT_OK(simmm_mmap_read_unlock(mm));
	/* hmm_range_fault(): a marker is pte_none_mostly(): 0 unless asked
	 * to fault it, then the fault's SIGSEGV is -EFAULT. */
	TU_ASSERT_OK(simmm_hmm_range_fault_retry(&r, SIMMM_HMM_RANGE_DEFAULT_TIMEOUT));
	assert_int_equal(hp[2], 0);
	assert_true(hp[1] & SIMMM_HMM_PFN_VALID);
	r.default_flags = SIMMM_HMM_PFN_REQ_FAULT;
	assert_int_equal(simmm_hmm_range_fault_retry(&r, SIMMM_HMM_RANGE_DEFAULT_TIMEOUT),
			 -EFAULT);
	TU_CHECK(sim);
	/* mlock: the VMA is locked, its populate stops at the marker. */
	advise(sim, mm, l + PS, PS, INSTALL);
	assert_int_equal(simmm_mlock(mm, l, 4 * PS), -ENOMEM);
	TU_CHECK(sim);
	assert_true(mx_tr(mm, l).present);
	assert_true(is_guard(mm, l + PS));
	counter_free(c);
	done(&sim, mm);
}

/* ---- refused VMAs, holes ------------------------------------------------------------ */

static void test_invalid(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS), mix = 0, pfn = 0, h = 0, r;

	/* Locked: install refused (nothing zapped), remove allowed. */
	mx_write(mm, a, 1);
	advise(sim, mm, a + 3 * PS, PS, INSTALL);
	TU_ASSERT_OK(simmm_mlock(mm, a, 3 * PS));
	assert_int_equal(simmm_madvise(mm, a, PS, INSTALL), -EINVAL);
	TU_CHECK(sim);
	mx_expect(mm, a, 1);
	assert_false(is_guard(mm, a));
	advise(sim, mm, a, 4 * PS, REMOVE);
	assert_false(is_guard(mm, a + 3 * PS));
	TU_ASSERT_OK(simmm_munlock(mm, a, 4 * PS));
	/* Special mappings and hugetlb: both refused. */
	TU_ASSERT_OK(simmm_mmap(mm, 0, 2 * PS, RWP, SHARED_ANON | SIMMM_MAP_MIXEDMAP, NULL, 0, &mix));
	TU_ASSERT_OK(simmm_mmap(mm, 0, 2 * PS, RWP, SHARED_ANON | SIMMM_MAP_PFNMAP, NULL, 0, &pfn));
	TU_ASSERT_OK(simmm_mmap(mm, 0, PMD, RWP, ANON | SIMMM_MAP_HUGETLB, NULL, 0, &h));
	for (int adv = INSTALL; adv <= REMOVE; adv++) {
		assert_int_equal(simmm_madvise(mm, mix, PS, adv), -EINVAL);
		assert_int_equal(simmm_madvise(mm, pfn, PS, adv), -EINVAL);
		assert_int_equal(simmm_madvise(mm, h, PMD, adv), -EINVAL);
	}
	TU_CHECK(sim);
	/* Bad arguments. */
	assert_int_equal(simmm_madvise(mm, a + 1, PS, INSTALL), -EINVAL);
	assert_int_equal(simmm_madvise(NULL, a, PS, INSTALL), -EINVAL);
	TU_ASSERT_OK(simmm_madvise(mm, a, 0, INSTALL));
	/* Three VMAs with holes between (guard-regions.c multi_vma): the
	 * mapped parts get markers, then -ENOMEM; remove likewise. */
	r = mx_anon(mm, 0, 10 * PS);
	TU_ASSERT_OK(simmm_munmap(mm, r + 2 * PS, 2 * PS));
	TU_ASSERT_OK(simmm_munmap(mm, r + 6 * PS, PS));
	assert_int_equal(simmm_madvise(mm, r, 10 * PS, INSTALL), -ENOMEM);
	TU_CHECK(sim);
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(is_guard(mm, r + i * PS), !(i == 2 || i == 3 || i == 6));
	assert_int_equal(simmm_madvise(mm, r, 10 * PS, REMOVE), -ENOMEM);
	for (unsigned i = 0; i < 10; i++)
		assert_false(is_guard(mm, r + i * PS));
	/* A locked VMA in the middle stops the walk: the VMA before it got
	 * its markers, the one after did not. */
	TU_ASSERT_OK(simmm_mlock(mm, r + 4 * PS, 2 * PS));
	assert_int_equal(simmm_madvise(mm, r, 10 * PS, INSTALL), -EINVAL);
	TU_CHECK(sim);
	assert_true(is_guard(mm, r + PS));
	assert_false(is_guard(mm, r + 4 * PS));
	assert_false(is_guard(mm, r + 8 * PS));
	done(&sim, mm);
}

/* The checker: a marker in a VMA without an anon_vma (fork would not copy
 * it) and one outside any VMA are violations; after munmap none is left. */
static void test_checker(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_pgtable *pt = simmm_mm_pgtable(mm);
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS), b = 0;

	/* PROT_READ: b does not merge with a, whose VMA the install gives an
	 * anon_vma. */
	TU_ASSERT_OK(simmm_mmap(mm, 0, 2 * PS, SIMMM_PROT_READ, ANON, NULL, 0, &b));
	advise(sim, mm, a, 2 * PS, INSTALL);
	TU_ASSERT_OK(simmm_munmap(mm, a, 2 * PS));
	assert_int_equal(simmm_check(sim), 0);
	/* A marker where no install put one: a VMA never installed into
	 * (no anon_vma), then the hole the munmap left. */
	TU_ASSERT_OK(simmm_pgtable_set(pt, b, SIMMM_LVL_PTE, simmm_make_guard_swp_entry()));
	assert_true(simmm_check(sim) > 0);
	simmm_reports_clear(sim);
	TU_ASSERT_OK(simmm_pgtable_clear(pt, b, SIMMM_LVL_PTE, NULL));
	TU_ASSERT_OK(simmm_pgtable_set(pt, a, SIMMM_LVL_PTE, simmm_make_guard_swp_entry()));
	assert_true(simmm_check(sim) > 0);
	simmm_reports_clear(sim);
	TU_ASSERT_OK(simmm_pgtable_clear(pt, a, SIMMM_LVL_PTE, NULL));
	TU_CHECK(sim);
	/* ... and where an install can put one, none. */
	advise(sim, mm, a + 2 * PS, 2 * PS, INSTALL);
	TU_CHECK(sim);
	done(&sim, mm);
}

/* ---- racing faults: zap again, then restart ----------------------------------------- */

/*
 * Task "guard" installs one page while task "cpu" keeps writing it. A
 * legacy notifier stops the installer at the end of each of its CLEAR
 * invalidations until the writer has faulted the page in again, so each
 * install pass meets a present page: three passes, then the call restarts
 * (restart_syscall()). With @writes writes the install wins after them;
 * with more than 17 x 3 the call gives up with -EAGAIN.
 */
struct race {
	struct simmm_mmu_notifier mn; /* first */
	simmm_sim *sim;
	struct simmm_mm *mm;
	simmm_addr_t a;
	uint32_t guard_task;
	unsigned writes, max_writes, zaps;
	bool inside, guard_done, vector;
	int rc, wrc;
	int64_t vrc; /* process_madvise()'s */
};

/* The installer's CLEAR invalidation ends: wait there for one write. */
static void race_end(struct simmm_mmu_notifier *sub, const struct simmm_mmu_notifier_range *r)
{
	struct race *x = (struct race *)sub;
	unsigned w = x->writes;

	if (r->event != SIMMM_MMU_NOTIFY_CLEAR || simmm_sched_current(x->sim) != x->guard_task)
		return;
	x->zaps++;
	x->inside = true;
	for (int i = 0; i < 64 && x->writes == w && x->writes < x->max_writes; i++)
		simmm_sched_yield(x->sim);
	x->inside = false;
}

static const struct simmm_mmu_notifier_ops race_ops = {.invalidate_range_end = race_end};

static void task_guard(simmm_sim *sim, void *arg)
{
	struct race *x = arg;

	(void)sim;
	if (x->vector) {
		/* process_madvise() of itself: the restart redoes the range
		 * with the lock dropped and taken again (vector_madvise()) */
		struct simmm_iovec v = {x->a, PS};

		x->vrc = simmm_process_madvise(x->mm, x->mm, &v, 1, INSTALL, 0);
	} else {
		x->rc = simmm_madvise(x->mm, x->a, PS, INSTALL);
	}
	x->guard_done = true;
}

/* One write each time the installer waits in its notifier. */
static void task_cpu(simmm_sim *sim, void *arg)
{
	struct race *x = arg;
	uint8_t v = 1;

	while (x->writes < x->max_writes && !x->guard_done) {
		if (!x->inside) {
			simmm_sched_yield(sim);
			continue;
		}
		x->wrc = simmm_mm_access(x->mm, x->a, &v, 1, SIMMM_ACCESS_WRITE);
		if (x->wrc)
			break;
		x->writes++;
		while (x->inside)
			simmm_sched_yield(sim);
	}
}

static struct race *race_run(unsigned max_writes, bool vector)
{
	struct race *x = calloc(1, sizeof(*x));
	struct simmm_sched_config cfg;
	int t;

	x->sim = mx_sim(NULL, 64 * MIB, 0);
	x->mm = mx_mm(x->sim);
	x->a = mx_anon(x->mm, 0, PS);
	x->max_writes = max_writes;
	x->vector = vector;
	mx_write(x->mm, x->a, 1);
	x->mn.ops = &race_ops;
	TU_ASSERT_OK(simmm_mmu_notifier_register(&x->mn, x->mm));
	simmm_sched_config_init(x->sim, &cfg);
	cfg.policy = SIMMM_SCHED_RR;
	TU_ASSERT_OK(simmm_sched_configure(x->sim, &cfg));
	t = simmm_sched_spawn(x->sim, "guard", task_guard, x);
	assert_true(t > 0);
	x->guard_task = (uint32_t)t;
	assert_true(simmm_sched_spawn(x->sim, "cpu", task_cpu, x) > 0);
	assert_int_equal(simmm_sched_run(x->sim, 1000000), SIMMM_SCHED_DONE);
	assert_int_equal(simmm_reports_count(x->sim, 0), 0);
	TU_CHECK(x->sim);
	return x;
}

static void race_free(struct race *x)
{
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&x->mn, x->mm));
	done(&x->sim, x->mm);
	free(x);
}

static void test_race_restart(void **state)
{
	(void)state;
	struct race *x = race_run(5, false);

	/* Each of the five writes refilled the page after a zap: passes 1-3
	 * then 4-6 met it (two restarts); the seventh found it empty. */
	TU_ASSERT_OK(x->rc);
	assert_int_equal(x->writes, 5);
	assert_int_equal(x->zaps, 6);
	assert_true(is_guard(x->mm, x->a));
	expect_segv(x->mm, x->a);
	race_free(x);
}

static void test_race_livelock(void **state)
{
	(void)state;
	struct race *x = race_run(100, false);

	/* 17 calls (the first and 16 restarts) of three passes each, each
	 * pass refilled by a write. */
	assert_int_equal(x->rc, -EAGAIN);
	assert_int_equal(x->zaps, 17 * 3);
	assert_int_equal(x->writes, 17 * 3);
	assert_false(is_guard(x->mm, x->a));
	assert_true(mx_tr(x->mm, x->a).present);
	race_free(x);
}

/* The same races through process_madvise(): the restarts happen per
 * vector, the result is the bytes advised or, with none, -EAGAIN. */
static void test_race_restart_vector(void **state)
{
	(void)state;
	struct race *x = race_run(5, true);

	assert_int_equal(x->vrc, PS);
	assert_int_equal(x->zaps, 6);
	assert_true(is_guard(x->mm, x->a));
	race_free(x);
	x = race_run(100, true);
	assert_int_equal(x->vrc, -EAGAIN);
	assert_int_equal(x->zaps, 17 * 3);
	assert_false(is_guard(x->mm, x->a));
	race_free(x);
}

/* ---- allocation failures --------------------------------------------------------------- */

#define TRY(x)                          \
	do {                            \
		err = (x);              \
		if (err)                \
			goto out;       \
	} while (0)

/* Installs over fresh anonymous VMAs (anon_vma and page tables to
 * allocate), populated pages, a swap entry's neighbours, a shared file
 * mapping, then fork, remove, mremap and munmap. */
static int sweep_scenario(simmm_sim *sim, void *arg)
{
	struct simmm_mm *mm = NULL, *child = NULL;
	struct simmm_file *f = NULL;
	simmm_addr_t a = 0, m = 0, r = 0;
	uint64_t ps = sim->page_size;
	uint8_t v = 1;
	int err;

	(void)arg;
	TRY(simmm_mm_create(sim, &mm));
	TRY(simmm_file_create(sim, 4 * ps, 0, &f));
	TRY(simmm_mmap(mm, 0, 8 * ps, RWP, ANON, NULL, 0, &a));
	TRY(simmm_mmap(mm, 0, 4 * ps, RWP, SIMMM_MAP_SHARED, f, 0, &m));
	TRY(simmm_madvise(mm, a + 6 * ps, 2 * ps, INSTALL));
	for (int i = 0; i < 4; i++)
		TRY(simmm_mm_access(mm, a + i * ps, &v, 1, SIMMM_ACCESS_WRITE));
	TRY(simmm_mm_access(mm, m, &v, 1, SIMMM_ACCESS_WRITE));
	TRY(simmm_madvise(mm, a + ps, 2 * ps, INSTALL));
	TRY(simmm_madvise(mm, m, 2 * ps, INSTALL));
	TRY(simmm_fork(mm, &child));
	TRY(simmm_madvise(child, a, 8 * ps, REMOVE));
	TRY(simmm_mm_access(child, a + ps, &v, 1, SIMMM_ACCESS_WRITE));
	TRY(simmm_madvise(mm, a, 4 * ps, SIMMM_MADV_DONTNEED));
	TRY(simmm_mremap(mm, a, 8 * ps, 8 * ps, SIMMM_MREMAP_MAYMOVE, 0, &r));
	TRY(simmm_madvise(mm, r, 8 * ps, INSTALL));
	TRY(simmm_munmap(mm, r + 2 * ps, 4 * ps));
	if (simmm_mm_access(mm, r, &v, 1, SIMMM_ACCESS_READ) != -EFAULT)
		err = -EUCLEAN;
	if (simmm_check(sim))
		err = -EUCLEAN;
out:
	if (child)
		simmm_mmput(child);
	if (mm)
		simmm_mmput(mm);
	if (f)
		simmm_file_put(f);
	return err;
}

static void test_sweep(void **state)
{
	(void)state;
	tu_sweep_clean(sweep_scenario, 8 << 20);
}

/* An install that fails for memory keeps the markers placed before the
 * failure and leaves the rest as it was; a second call finishes it. */
static void test_enomem_partial(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon_aligned(mm, PMD, 2 * PMD);
	struct simmm_fault_config fc = {.mode = SIMMM_FAULT_NTH, .nth = 1};

	/* The anon_vma and the first PMD's PTE table exist; the second PMD
	 * has none (the DONTNEED freed it): its allocation fails. */
	mx_write(mm, a, 1);
	mx_write(mm, a + PMD + PS, 2);
	TU_ASSERT_OK(simmm_madvise(mm, a + PMD + PS, PS, SIMMM_MADV_DONTNEED));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_fault_inject(sim, &fc));
	assert_int_equal(simmm_madvise(mm, a + PMD - 2 * PS, 4 * PS, INSTALL), -ENOMEM);
	TU_ASSERT_OK(simmm_fault_inject(sim, NULL));
	TU_CHECK(sim);
	assert_true(is_guard(mm, a + PMD - 2 * PS));
	assert_true(is_guard(mm, a + PMD - PS));
	assert_int_equal(mx_tr(mm, a + PMD).entry, 0);
	mx_expect(mm, a, 1);
	advise(sim, mm, a + PMD - 2 * PS, 4 * PS, INSTALL);
	assert_true(is_guard(mm, a + PMD + PS));
	done(&sim, mm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anon),
		cmocka_unit_test(test_file_and_shared),
		cmocka_unit_test(test_swapped),
		cmocka_unit_test(test_thp),
		cmocka_unit_test(test_device_private),
		cmocka_unit_test(test_keep_and_drop),
		cmocka_unit_test(test_fork),
		cmocka_unit_test(test_mremap),
		cmocka_unit_test(test_readers),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_checker),
		cmocka_unit_test(test_race_restart),
		cmocka_unit_test(test_race_restart_vector),
		cmocka_unit_test(test_race_livelock),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_enomem_partial),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
