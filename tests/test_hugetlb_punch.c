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
 *    the shared-writable check), VM_LOCKED is impossible for hugetlb;
 *  - a fault racing the punch: before the page's fault mutex is taken it
 *    maps the old page again (which the punch unmaps again); while the
 *    punch holds the mutex it waits and then maps a new zeroed page.
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

/*
 * A fault racing a punch (remove_inode_hugepages() under the fault mutex).
 * The notifier sleeps at the end of each CLEAR invalidation. During the first
 * (hugetlb_vmdelete_list(), no mutex) a read faults the old page back in
 * and sees its bytes; the punch, under the page's fault mutex, finds it
 * mapped and unmaps it again; a read during that second invalidation
 * waits for the mutex, so it runs after the removal and maps a new zeroed
 * page. (Without the mutex it would map the old page once more and read
 * its bytes, and the punch would need a third unmap.)
 */
struct punch_race {
	struct simmm_mmu_notifier mn; /* first */
	simmm_sim *sim;
	struct simmm_mm *mm;
	simmm_addr_t a;
	unsigned clears;
	int rc, rd_rc[2];
	uint8_t rd[2];
};

/* Sleeps at the end of each CLEAR: the entries are gone, the page is
 * still in the file. */
static void race_end(struct simmm_mmu_notifier *mn, const struct simmm_mmu_notifier_range *r)
{
	struct punch_race *p = (struct punch_race *)mn;

	if (r->event != SIMMM_MMU_NOTIFY_CLEAR || !simmm_mmu_notifier_range_blockable(r))
		return;
	p->clears++;
	for (int i = 0; i < 6; i++)
		simmm_sched_yield(p->sim);
}

static const struct simmm_mmu_notifier_ops race_ops = {
	.invalidate_range_end = race_end,
};

static void race_puncher(simmm_sim *sim, void *arg)
{
	struct punch_race *p = arg;

	(void)sim;
	p->rc = simmm_madvise(p->mm, p->a, HP, SIMMM_MADV_REMOVE);
}

static void race_reader(simmm_sim *sim, void *arg)
{
	struct punch_race *p = arg;

	for (unsigned k = 0; k < 2; k++) {
		for (int n = 0; p->clears < k + 1 && n < 1000; n++)
			simmm_sched_yield(sim);
		p->rd_rc[k] = simmm_mm_access(p->mm, p->a + PS, &p->rd[k], 1, SIMMM_ACCESS_READ);
	}
}

static void test_fault_races_punch(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct punch_race p = {.mn.ops = &race_ops, .sim = sim, .mm = mx_mm(sim)};
	struct simmm_translation t;

	p.a = map_huge(p.mm, HP, SHARED_HUGE);
	mx_write(p.mm, p.a + PS, 5);
	TU_ASSERT_OK(simmm_mmu_notifier_register(&p.mn, p.mm));
	assert_int_equal(simmm_sched_spawn(sim, "puncher", race_puncher, &p), 1);
	assert_int_equal(simmm_sched_spawn(sim, "reader", race_reader, &p), 2);
	assert_int_equal(simmm_sched_run(sim, 100000), SIMMM_SCHED_DONE);
	TU_CHECK(sim);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.rd_rc[0], 0);
	assert_int_equal(p.rd_rc[1], 0);
	assert_int_equal(p.rd[0], (uint8_t)(5 * 31)); /* before the mutex: the old page */
	assert_int_equal(p.rd[1], 0);    /* waited for the removal */
	assert_int_equal(p.clears, 2);   /* vmdelete_list, then once again */
	/* the reader's second fault mapped a new page (the buddy may hand
	 * back the old frame): the file's reference and the mapping's */
	TU_ASSERT_OK(simmm_pgtable_translate(simmm_mm_pgtable(p.mm), p.a, &t));
	assert_true(t.present);
	assert_int_equal(mx_page(sim, simmm_pte_pfn(t.entry)).refcount, 2);
	mx_expect_zero(p.mm, p.a + PS);
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&p.mn, p.mm));
	TU_ASSERT_OK(simmm_mmput(p.mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_pages_everywhere),
		cmocka_unit_test(test_partial_edges),
		cmocka_unit_test(test_pinned_page_lives_on),
		cmocka_unit_test(test_private_and_holes),
		cmocka_unit_test(test_fault_races_punch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
