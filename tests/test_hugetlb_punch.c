// SPDX-License-Identifier: MIT
/*
 * MADV_REMOVE on hugetlb mappings (hugetlbfs_punch_hole(), src/mm/truncate.c
 * and src/mm/hugetlb.c), on x86_64-4level's 2 MiB huge pages:
 *  - whole huge pages of a shared mapping are unmapped in every mm sharing
 *    them (one CLEAR invalidation per VMA) and freed; the next access maps
 *    a new zeroed huge page;
 *  - a partial huge page at either edge is zeroed in place and stays
 *    mapped; a range inside one huge page only zeroes;
 *  - a pinned huge page leaves the file but keeps its frame and bytes for
 *    the pinner until unpinned;
 *  - private hugetlb mappings: -EACCES (upstream's hugetlbfs file fails
 *    the shared-writable check), VM_LOCKED is impossible for hugetlb.
 * Every step runs the invariant checker.
 */
#include "test_mm_ext_util.h"

#include <simmm/mmu_notifier.h>

#define HP PMD
#define RW (SIMMM_PROT_READ | SIMMM_PROT_WRITE)
#define SHARED_HUGE (SIMMM_MAP_SHARED | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_HUGETLB)

static simmm_addr_t map_huge(struct simmm_mm *mm, uint64_t len, int flags)
{
	simmm_addr_t a = 0;

	TU_ASSERT_OK(simmm_mmap(mm, 0, len, RW, flags, NULL, 0, &a));
	assert_int_equal(a & (HP - 1), 0);
	return a;
}

static void punch(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t a, uint64_t len)
{
	TU_ASSERT_OK(simmm_madvise(mm, a, len, SIMMM_MADV_REMOVE));
	TU_CHECK(sim);
}

/* CLEAR invalidations seen, with their range. */
struct inv_log {
	struct simmm_mmu_notifier mn;
	unsigned clears;
	simmm_addr_t start, end;
};

static int inv_start(struct simmm_mmu_notifier *mn, const struct simmm_mmu_notifier_range *r)
{
	struct inv_log *l = (struct inv_log *)mn;

	if (r->event == SIMMM_MMU_NOTIFY_CLEAR) {
		l->clears++;
		l->start = r->start;
		l->end = r->end;
	}
	return 0;
}

static const struct simmm_mmu_notifier_ops inv_ops = {
	.invalidate_range_start = inv_start,
};

/* Two mms share three huge pages; the middle one is punched whole from
 * the parent: both lose it (CLEAR over it in each), read zeros, and the
 * frames go back; the neighbours keep their bytes and mappings. */
static void test_whole_pages_everywhere(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = map_huge(mm, 3 * HP, SHARED_HUGE);
	struct inv_log lp = {.mn.ops = &inv_ops}, lc = {.mn.ops = &inv_ops};

	for (unsigned i = 0; i < 3; i++) {
		mx_write(mm, a + i * HP, 10 + i);
		mx_write(mm, a + i * HP + HP - PS, 20 + i);
	}
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	mx_expect(child, a + HP, 11); /* maps the shared page */
	TU_ASSERT_OK(simmm_mmu_notifier_register(&lp.mn, mm));
	TU_ASSERT_OK(simmm_mmu_notifier_register(&lc.mn, child));
	uint64_t free0 = mx_free_pages(sim);

	punch(sim, mm, a + HP, HP);
	assert_int_equal(lp.clears, 1);
	assert_int_equal(lp.start, a + HP);
	assert_int_equal(lp.end, a + 2 * HP);
	assert_int_equal(lc.clears, 1);
	assert_int_equal(lc.start, a + HP);
	assert_false(mx_tr(mm, a + HP).present);
	assert_false(mx_tr(child, a + HP).present);
	assert_int_equal(mx_free_pages(sim), free0 + NR); /* the huge page went */
	for (unsigned i = 0; i < 3; i += 2) {
		assert_true(mx_tr(mm, a + i * HP).present);
		mx_expect(mm, a + i * HP, 10 + i);
		mx_expect(child, a + i * HP + HP - PS, 20 + i);
	}
	/* A new zeroed huge page, shared again. */
	mx_expect_zero(child, a + HP + HP - PS);
	mx_expect_zero(mm, a + HP);
	assert_int_equal(simmm_pte_pfn(mx_tr(mm, a + HP).entry),
			 simmm_pte_pfn(mx_tr(child, a + HP).entry));
	mx_write(child, a + HP, 30);
	mx_expect(mm, a + HP, 30);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&lp.mn, mm));
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&lc.mn, child));
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* Partial huge pages at the edges are zeroed in place and stay mapped:
 * [HP/2, 2HP + HP/2) zeroes the second half of page 0 and the first of
 * page 2 and removes page 1; a range inside page 0 only zeroes. */
static void test_partial_edges(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = map_huge(mm, 3 * HP, SHARED_HUGE);
	simmm_addr_t half = HP / 2;

	for (uint64_t off = 0; off < 3 * HP; off += half / 2)
		mx_write(mm, a + off, (unsigned)(off / (half / 2)) + 1);
	simmm_pfn_t p0 = simmm_pte_pfn(mx_tr(mm, a).entry);
	simmm_pfn_t p2 = simmm_pte_pfn(mx_tr(mm, a + 2 * HP).entry);
	uint64_t free0 = mx_free_pages(sim);

	punch(sim, mm, a + half, 2 * HP);
	assert_int_equal(mx_free_pages(sim), free0 + NR);
	assert_int_equal(simmm_pte_pfn(mx_tr(mm, a).entry), p0);
	assert_int_equal(simmm_pte_pfn(mx_tr(mm, a + 2 * HP).entry), p2);
	assert_false(mx_tr(mm, a + HP).present);
	for (uint64_t off = 0; off < 3 * HP; off += half / 2) {
		bool zero = off >= half && off < 2 * HP + half;

		if (zero)
			mx_expect_zero(mm, a + off);
		else
			mx_expect(mm, a + off, (unsigned)(off / (half / 2)) + 1);
	}
	TU_CHECK(sim);
	/* Inside one huge page: zeroes only that base page (madvise rounds
	 * the length up to whole base pages: PS + 32 is two of them). */
	mx_write(mm, a + 2 * HP + half + PS, 40);
	mx_write(mm, a + 2 * HP + half + 2 * PS, 41);
	mx_write(mm, a + 2 * HP + half + 3 * PS, 42);
	free0 = mx_free_pages(sim);
	punch(sim, mm, a + 2 * HP + half + PS, PS + 32);
	assert_int_equal(mx_free_pages(sim), free0);
	mx_expect_zero(mm, a + 2 * HP + half + PS);
	mx_expect_zero(mm, a + 2 * HP + half + 2 * PS);
	mx_expect(mm, a + 2 * HP + half + 3 * PS, 42);
	assert_int_equal(simmm_pte_pfn(mx_tr(mm, a + 2 * HP).entry), p2);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* A pinned shared huge page leaves the file: the mapping faults a new
 * zeroed page, the pinner's frame keeps the bytes until unpinned. */
static void test_pinned_page_lives_on(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = map_huge(mm, HP, SHARED_HUGE);
	simmm_pfn_t pin = 0;

	mx_write(mm, a + 5 * PS, 7);
	assert_int_equal(simmm_pin_user_pages(mm, a + 5 * PS, 1, SIMMM_FOLL_WRITE, &pin), 1);
	uint64_t free0 = mx_free_pages(sim);

	punch(sim, mm, a, HP);
	assert_int_equal(mx_free_pages(sim), free0); /* the pin holds it */
	assert_false(mx_tr(mm, a).present);
	mx_expect_zero(mm, a + 5 * PS); /* a new huge page */
	assert_int_equal(mx_free_pages(sim), free0 - NR);
	assert_int_not_equal(simmm_pte_pfn(mx_tr(mm, a).entry) + 5, pin);
	uint8_t *old = simmm__page_data(sim, simmm__pfn_to_page(sim, pin), false);

	assert_non_null(old);
	assert_int_equal(old[1], (uint8_t)(7 * 31 + 1));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pin, 1));
	assert_int_equal(mx_free_pages(sim), free0); /* the old one went */
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* Private hugetlb: -EACCES, nothing changes; a hole in the range gives
 * -ENOMEM after the mapped part was punched. */
static void test_private_and_holes(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t p = map_huge(mm, HP, SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_HUGETLB);
	simmm_addr_t a = map_huge(mm, 2 * HP, SHARED_HUGE);

	mx_write(mm, p, 1);
	assert_int_equal(simmm_madvise(mm, p, HP, SIMMM_MADV_REMOVE), -EACCES);
	TU_CHECK(sim);
	mx_expect(mm, p, 1);
	mx_write(mm, a, 2);
	mx_write(mm, a + HP, 3);
	TU_ASSERT_OK(simmm_munmap(mm, a + HP, HP));
	assert_int_equal(simmm_madvise(mm, a, 2 * HP, SIMMM_MADV_REMOVE), -ENOMEM);
	TU_CHECK(sim);
	assert_false(mx_tr(mm, a).present);
	mx_expect_zero(mm, a);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_pages_everywhere),
		cmocka_unit_test(test_partial_edges),
		cmocka_unit_test(test_pinned_page_lives_on),
		cmocka_unit_test(test_private_and_holes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
