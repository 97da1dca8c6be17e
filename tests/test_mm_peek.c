// SPDX-License-Identifier: MIT
/*
 * simmm_mm_peek(): what a load would read, without faulting or changing
 * anything. Every case compares the peek with what simmm_mm_access()
 * reads afterwards and checks that the peek itself left the page tables,
 * the counters and the swap/page caches as they were.
 */
#include "test_mm_ext_util.h"
#include "test_migrate_util.h"

#define PMD (2 * MIB)

/* What must not change across a peek. */
struct snap {
	struct simmm_mm_stats st;
	simmm_entry_t e[4];
	uint64_t swap_used;
	struct simmm_phys_stats ph;
};

static void snap_take(struct simmm_mm *mm, simmm_addr_t a, struct snap *s)
{
	memset(s, 0, sizeof(*s));
	s->st = mx_stats(mm);
	for (unsigned i = 0; i < 4; i++)
		s->e[i] = mx_tr(mm, a + i * PS).entry;
	s->swap_used = mx_swap_used(simmm_mm_sim(mm));
	TU_ASSERT_OK(simmm_phys_stats(simmm_mm_sim(mm), &s->ph));
}

static void snap_same(struct simmm_mm *mm, simmm_addr_t a, const struct snap *before)
{
	struct snap now;

	snap_take(mm, a, &now);
	assert_memory_equal(&now.st, &before->st, sizeof(now.st));
	assert_memory_equal(now.e, before->e, sizeof(now.e));
	assert_int_equal(now.swap_used, before->swap_used);
	assert_int_equal(now.ph.free_pages, before->ph.free_pages);
	TU_CHECK(simmm_mm_sim(mm));
}

/* Peek @n bytes at @a and read them; both must equal @want. */
static void peek_eq_read(struct simmm_mm *mm, simmm_addr_t a, const uint8_t *want, size_t n)
{
	uint8_t p[64], r[64];

	assert_true(n <= sizeof(p));
	memset(p, 0xee, sizeof(p));
	TU_ASSERT_OK(simmm_mm_peek(mm, a, p, n));
	assert_memory_equal(p, want, n);
	TU_ASSERT_OK(simmm_mm_access(mm, a, r, n, SIMMM_ACCESS_READ));
	assert_memory_equal(r, want, n);
}

static void test_peek_anon(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS);
	uint8_t zero[64] = {0}, buf[64];
	struct snap s;

	/* Untouched: zeros, and no page appears. */
	snap_take(mm, a, &s);
	TU_ASSERT_OK(simmm_mm_peek(mm, a + 100, buf, sizeof(buf)));
	assert_memory_equal(buf, zero, sizeof(buf));
	snap_same(mm, a, &s);
	assert_int_equal(mx_tr(mm, a).entry, 0);

	/* Written: the bytes; the young bit the peek would set stays clear. */
	mx_write(mm, a + PS, 3);
	struct simmm_translation t = mx_tr(mm, a + PS);
	TU_ASSERT_OK(simmm_pgtable_set(simmm_mm_pgtable(mm), a + PS, SIMMM_LVL_PTE,
				       simmm_pte_mkold(t.entry)));
	snap_take(mm, a, &s);
	for (unsigned i = 0; i < sizeof(buf); i++)
		zero[i] = (uint8_t)(3 * 31 + i);
	TU_ASSERT_OK(simmm_mm_peek(mm, a + PS, buf, sizeof(buf)));
	assert_memory_equal(buf, zero, sizeof(buf));
	snap_same(mm, a, &s);
	assert_false(simmm_pte_young(mx_tr(mm, a + PS).entry));

	/* Across a page boundary: the end of page 1, the start of page 2. */
	uint8_t cross[8];
	TU_ASSERT_OK(simmm_mm_access(mm, a + 2 * PS - 4, "abcdefgh", 8, SIMMM_ACCESS_WRITE));
	TU_ASSERT_OK(simmm_mm_peek(mm, a + 2 * PS - 4, cross, 8));
	assert_memory_equal(cross, "abcdefgh", 8);

	/* PROT_NONE: still readable by a peek (FOLL_FORCE), not by a load. */
	TU_ASSERT_OK(simmm_mprotect(mm, a, 4 * PS, SIMMM_PROT_NONE));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mm_peek(mm, a + PS, buf, sizeof(buf)));
	assert_memory_equal(buf, zero, sizeof(buf));
	assert_int_equal(simmm_mm_access(mm, a + PS, buf, 1, SIMMM_ACCESS_READ), -EFAULT);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

static void test_peek_swap(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS);
	uint8_t want[64];
	uint64_t n = 0;
	struct snap s;

	for (unsigned i = 0; i < 4; i++)
		mx_write(mm, a + i * PS, 10 + i);
	TU_ASSERT_OK(simmm_reclaim(sim, 100, &n));
	assert_int_equal(n, 4);
	TU_CHECK(sim);
	snap_take(mm, a, &s);
	for (unsigned i = 0; i < 4; i++) {
		uint8_t buf[64];

		assert_true(simmm_is_real_swap_entry(s.e[i]));
		for (unsigned k = 0; k < sizeof(want); k++)
			want[k] = (uint8_t)((10 + i) * 31 + k);
		TU_ASSERT_OK(simmm_mm_peek(mm, a + i * PS, buf, sizeof(buf)));
		assert_memory_equal(buf, want, sizeof(buf));
	}
	/* Nothing was read in: no swap-in fault, the entries still swap. */
	snap_same(mm, a, &s);
	assert_int_equal(mx_stats(mm).swapin_faults, 0);
	for (unsigned k = 0; k < sizeof(want); k++)
		want[k] = (uint8_t)(12 * 31 + k);
	peek_eq_read(mm, a + 2 * PS, want, sizeof(want));
	assert_int_equal(mx_stats(mm).swapin_faults, 1);
	TU_CHECK(sim);

	/* After fork both share the slot; the child's write leaves the
	 * parent's peek at the old bytes. */
	struct simmm_mm *child = NULL;
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_ASSERT_OK(simmm_mm_access(child, a + 3 * PS, "X", 1, SIMMM_ACCESS_WRITE));
	uint8_t c = 0;
	TU_ASSERT_OK(simmm_mm_peek(mm, a + 3 * PS, &c, 1));
	assert_int_equal(c, (uint8_t)(13 * 31));
	TU_ASSERT_OK(simmm_mm_peek(child, a + 3 * PS, &c, 1));
	assert_int_equal(c, 'X');
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

static void test_peek_file_and_shmem(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 16 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = NULL;
	simmm_addr_t a = 0, sh = 0;
	uint8_t b = 0;
	struct snap s;

	TU_ASSERT_OK(simmm_file_create(sim, 2 * PS + 10, 0, &f));
	TU_ASSERT_OK((int)(simmm_file_pwrite(f, "F1", 2, PS) == 2 ? 0 : -EIO));
	TU_ASSERT_OK(simmm_mmap(mm, 0, 4 * PS, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				SIMMM_MAP_PRIVATE, f, 0, &a));
	snap_take(mm, a, &s);
	uint8_t two[2];
	/* A hole over a cached page (pwrite cached it) and over a page never
	 * written: the cache, zeros. No page is mapped or cached by the peek. */
	TU_ASSERT_OK(simmm_mm_peek(mm, a + PS, two, 2));
	assert_memory_equal(two, "F1", 2);
	TU_ASSERT_OK(simmm_mm_peek(mm, a + 2 * PS + 9, &b, 1));
	assert_int_equal(b, 0);
	snap_same(mm, a, &s);
	/* Beyond EOF: SIGBUS for the load, -EFAULT for both. */
	assert_int_equal(simmm_mm_peek(mm, a + 3 * PS, &b, 1), -EFAULT);
	assert_int_equal(simmm_mm_access(mm, a + 3 * PS, &b, 1, SIMMM_ACCESS_READ), -EFAULT);
	/* A private COW copy: the peek sees the copy, not the file. */
	TU_ASSERT_OK(simmm_mm_access(mm, a + PS, "C", 1, SIMMM_ACCESS_WRITE));
	TU_ASSERT_OK(simmm_mm_peek(mm, a + PS, two, 2));
	assert_memory_equal(two, "C1", 2);
	TU_CHECK(sim);

	/* Shared anonymous (shmem): a write through one mapping of the
	 * object, peeked through the other (fork child) before it faults. */
	TU_ASSERT_OK(simmm_mmap(mm, 0, 2 * PS, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				SIMMM_MAP_SHARED | SIMMM_MAP_ANONYMOUS, NULL, 0, &sh));
	struct simmm_mm *child = NULL;
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_ASSERT_OK(simmm_mm_access(mm, sh + PS + 1, "S", 1, SIMMM_ACCESS_WRITE));
	assert_int_equal(mx_tr(child, sh + PS).entry, 0);
	TU_ASSERT_OK(simmm_mm_peek(child, sh + PS + 1, &b, 1));
	assert_int_equal(b, 'S');
	assert_int_equal(mx_tr(child, sh + PS).entry, 0);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

static void test_peek_thp(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon_aligned(mm, PMD, PMD);
	uint8_t want[64];

	TU_ASSERT_OK(simmm_madvise(mm, a, PMD, SIMMM_MADV_HUGEPAGE));
	mx_write(mm, a + 77 * PS, 77);
	assert_int_equal(mx_tr(mm, a).level, SIMMM_LVL_PMD);
	for (unsigned k = 0; k < sizeof(want); k++)
		want[k] = (uint8_t)(77 * 31 + k);
	peek_eq_read(mm, a + 77 * PS, want, sizeof(want));
	memset(want, 0, sizeof(want));
	peek_eq_read(mm, a + 78 * PS, want, sizeof(want));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* A device-private entry reads the device page's contents; the peek does
 * not migrate it back (the load would). */
static void test_peek_device_private(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);
	struct tdev d;
	uint64_t moved = 0;
	uint8_t want[64], buf[64];

	TU_ASSERT_OK(tdev_init(&d, sim, SIMMM_MEM_DEVICE_PRIVATE, 8));
	mx_write(mm, a, 5);
	mx_write(mm, a + PS, 6);
	TU_ASSERT_OK(tdev_migrate(&d, mm, a, 2, SIMMM_MIGRATE_VMA_SELECT_SYSTEM, &moved));
	assert_int_equal(moved, 2);
	TU_CHECK(sim);
	struct snap s;
	snap_take(mm, a, &s);
	assert_true(simmm_is_device_private_entry(s.e[0]));
	for (unsigned k = 0; k < sizeof(want); k++)
		want[k] = (uint8_t)(6 * 31 + k);
	TU_ASSERT_OK(simmm_mm_peek(mm, a + PS, buf, sizeof(buf)));
	assert_memory_equal(buf, want, sizeof(buf));
	snap_same(mm, a, &s);
	assert_true(simmm_is_device_private_entry(mx_tr(mm, a + PS).entry));
	/* The load migrates it back and reads the same. */
	mx_expect(mm, a + PS, 6);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(tdev_evict(&d));
	TU_ASSERT_OK(simmm_memunmap_pages(&d.pgmap));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

/* A hwpoison entry names its frame, as migration and device entries do,
 * but a load there is SIGBUS: the peek gives -EFAULT, not the poisoned
 * frame's bytes (found by fuzz_mm_ops's memory-failure op). */
static void test_peek_hwpoison(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 2 * PS);
	uint8_t b = 0xee, two[2] = {0xee, 0xee};
	simmm_pfn_t pfn;
	struct snap s;

	mx_write(mm, a, 1);
	mx_write(mm, a + PS, 2);
	pfn = mx_tr(mm, a + PS).pfn;
	TU_ASSERT_OK(simmm_memory_failure(sim, pfn, SIMMM_MF_SW_SIMULATED, NULL));
	assert_true(simmm_is_hwpoison_entry(mx_tr(mm, a + PS).entry));
	TU_CHECK(sim);
	snap_take(mm, a, &s);
	assert_int_equal(simmm_mm_peek(mm, a + PS, &b, 1), -EFAULT);
	assert_int_equal(b, 0xee);
	/* the page before it is copied, then the peek stops */
	assert_int_equal(simmm_mm_peek(mm, a + PS - 1, two, 2), -EFAULT);
	assert_int_equal(two[0], 0);
	assert_int_equal(two[1], 0xee);
	snap_same(mm, a, &s);
	assert_int_equal(simmm_mm_access(mm, a + PS, &b, 1, SIMMM_ACCESS_READ), -EFAULT);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

static void test_peek_errors(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *other = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);
	uint8_t b;
	const struct simmm_geometry *g = simmm_sim_geometry(sim);

	assert_int_equal(simmm_mm_peek(NULL, a, &b, 1), -EINVAL);
	assert_int_equal(simmm_mm_peek(mm, a, NULL, 1), -EINVAL);
	TU_ASSERT_OK(simmm_mm_peek(mm, a, NULL, 0));
	assert_int_equal(simmm_mm_peek(mm, UINT64_MAX - 1, &b, 4), -EINVAL);
	assert_int_equal(simmm_mm_peek(mm, g->user_va_end - 1, &b, 2), -EFAULT);
	assert_int_equal(simmm_mm_peek(mm, a + PS, &b, 1), -EFAULT); /* no VMA */
	/* A read that runs off the VMA fails after copying the first page. */
	uint8_t two[2] = {0xee, 0xee};
	assert_int_equal(simmm_mm_peek(mm, a + PS - 1, two, 2), -EFAULT);
	assert_int_equal(two[0], 0);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmgrab(other)); /* keep the struct: mmput() empties it */
	TU_ASSERT_OK(simmm_mmput(other));
	assert_int_equal(simmm_mm_peek(other, a, &b, 1), -EINVAL); /* no users left */
	TU_ASSERT_OK(simmm_mmdrop(other));
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peek_anon),
		cmocka_unit_test(test_peek_swap),
		cmocka_unit_test(test_peek_file_and_shmem),
		cmocka_unit_test(test_peek_thp),
		cmocka_unit_test(test_peek_device_private),
		cmocka_unit_test(test_peek_errors),
		cmocka_unit_test(test_peek_hwpoison),
	};

	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
