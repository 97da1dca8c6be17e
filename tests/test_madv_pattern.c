// SPDX-License-Identifier: MIT
/*
 * The access-pattern and core-dump advice (src/mm/change.c's VMA-flag
 * advice, src/mm/rmap.c, the zap in src/mm/change.c):
 *  - MADV_RANDOM / MADV_SEQUENTIAL / MADV_NORMAL set VM_RAND_READ /
 *    VM_SEQ_READ, each clearing the other, splitting the VMA at the
 *    range's edges and merging it back when the flags agree again; fork
 *    keeps them;
 *  - MADV_DONTDUMP / MADV_DODUMP set and clear VM_DONTDUMP; DODUMP refuses
 *    driver mappings (VM_SPECIAL) but not hugetlb (VM_DONTEXPAND);
 *  - vma_has_recency(): a VMA with either pattern is skipped by
 *    folio_referenced() (invalid_folio_referenced_vma()), so a young
 *    folio mapped only there is reclaimed at its first look and keeps its
 *    young entry until then, and a zap of its young page-cache pages does
 *    not mark them accessed (zap_present_folio_ptes()), as a normal VMA's
 *    zap does;
 *  - the checker refuses VM_SEQ_READ and VM_RAND_READ together.
 * Every step runs the invariant checker.
 */
#include "test_mm_ext_util.h"

#define RW (SIMMM_PROT_READ | SIMMM_PROT_WRITE)

static struct simmm_vma_info vinfo(struct simmm_mm *mm, simmm_addr_t a)
{
	struct simmm_vma_info vi;

	TU_ASSERT_OK(simmm_vma_info(mm, a, &vi));
	return vi;
}

static void advise(simmm_sim *sim, struct simmm_mm *mm, simmm_addr_t a, uint64_t len, int adv)
{
	TU_ASSERT_OK(simmm_madvise(mm, a, len, adv));
	TU_CHECK(sim);
}

#define PATTERN (SIMMM_VM_SEQ_READ | SIMMM_VM_RAND_READ)

/* RANDOM in the middle of a VMA splits it in three; SEQUENTIAL over it
 * replaces RAND_READ; NORMAL clears it and the three merge back. */
static void test_pattern_flags_split_merge(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim), *child = NULL;
	simmm_addr_t a = mx_anon(mm, 0, 8 * PS);
	struct simmm_vma_info vi;

	mx_write(mm, a + 3 * PS, 1);
	advise(sim, mm, a + 2 * PS, 3 * PS, SIMMM_MADV_RANDOM);
	vi = vinfo(mm, a + 2 * PS);
	assert_int_equal(vi.start, a + 2 * PS);
	assert_int_equal(vi.end, a + 5 * PS);
	assert_int_equal(vi.vm_flags & PATTERN, SIMMM_VM_RAND_READ);
	assert_int_equal(vinfo(mm, a).vm_flags & PATTERN, 0);
	assert_int_equal(vinfo(mm, a).end, a + 2 * PS);
	assert_int_equal(vinfo(mm, a + 5 * PS).vm_flags & PATTERN, 0);
	mx_expect(mm, a + 3 * PS, 1); /* contents untouched */

	advise(sim, mm, a + 2 * PS, 3 * PS, SIMMM_MADV_SEQUENTIAL);
	assert_int_equal(vinfo(mm, a + 2 * PS).vm_flags & PATTERN, SIMMM_VM_SEQ_READ);
	/* fork copies the VMA with its flags */
	TU_ASSERT_OK(simmm_fork(mm, &child));
	TU_CHECK(sim);
	assert_int_equal(vinfo(child, a + 3 * PS).vm_flags & PATTERN, SIMMM_VM_SEQ_READ);
	assert_int_equal(vinfo(child, a + 3 * PS).start, a + 2 * PS);
	mx_expect(child, a + 3 * PS, 1);

	advise(sim, mm, a + 2 * PS, 3 * PS, SIMMM_MADV_NORMAL);
	vi = vinfo(mm, a + 3 * PS);
	assert_int_equal(vi.vm_flags & PATTERN, 0);
	assert_int_equal(vi.start, a);
	assert_int_equal(vi.end, a + 8 * PS);
	/* NORMAL on a VMA that has none: nothing splits */
	advise(sim, mm, a + PS, PS, SIMMM_MADV_NORMAL);
	assert_int_equal(vinfo(mm, a + PS).start, a);
	/* A hole: the mapped part is advised, then -ENOMEM. */
	TU_ASSERT_OK(simmm_munmap(mm, a + 6 * PS, PS));
	assert_int_equal(simmm_madvise(mm, a + 5 * PS, 3 * PS, SIMMM_MADV_RANDOM), -ENOMEM);
	TU_CHECK(sim);
	assert_int_equal(vinfo(mm, a + 5 * PS).vm_flags & PATTERN, SIMMM_VM_RAND_READ);
	assert_int_equal(vinfo(mm, a + 7 * PS).vm_flags & PATTERN, SIMMM_VM_RAND_READ);
	assert_int_equal(vinfo(mm, a + 4 * PS).vm_flags & PATTERN, 0);
	/* Still unknown: 5..7 are unused advice values. */
	assert_int_equal(simmm_madvise(mm, a, PS, 5), -EINVAL);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* DONTDUMP / DODUMP on anonymous, hugetlb and driver mappings. */
static void test_dump_flags(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, 4 * PS), pfn = 0, mix = 0, h = 0;

	advise(sim, mm, a + PS, PS, SIMMM_MADV_DONTDUMP);
	assert_true(vinfo(mm, a + PS).vm_flags & SIMMM_VM_DONTDUMP);
	assert_false(vinfo(mm, a).vm_flags & SIMMM_VM_DONTDUMP);
	assert_int_equal(vinfo(mm, a + PS).end, a + 2 * PS);
	advise(sim, mm, a, 4 * PS, SIMMM_MADV_DODUMP);
	assert_false(vinfo(mm, a + PS).vm_flags & SIMMM_VM_DONTDUMP);
	assert_int_equal(vinfo(mm, a + PS).start, a); /* merged back */

	TU_ASSERT_OK(simmm_mmap(mm, 0, 2 * PS, RW,
				SIMMM_MAP_SHARED | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_PFNMAP, NULL, 0,
				&pfn));
	TU_ASSERT_OK(simmm_mmap(mm, 0, 2 * PS, RW,
				SIMMM_MAP_SHARED | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_MIXEDMAP, NULL, 0,
				&mix));
	TU_ASSERT_OK(simmm_mmap(mm, 0, PMD, RW,
				SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_HUGETLB, NULL, 0,
				&h));
	/* DONTDUMP is fine anywhere; DODUMP only where no VM_SPECIAL bit but
	 * hugetlb's VM_DONTEXPAND is set (madvise_vma_behavior()). */
	advise(sim, mm, pfn, 2 * PS, SIMMM_MADV_DONTDUMP);
	advise(sim, mm, h, PMD, SIMMM_MADV_DONTDUMP);
	assert_true(vinfo(mm, h).vm_flags & SIMMM_VM_DONTDUMP);
	assert_int_equal(simmm_madvise(mm, pfn, 2 * PS, SIMMM_MADV_DODUMP), -EINVAL);
	assert_int_equal(simmm_madvise(mm, mix, PS, SIMMM_MADV_DODUMP), -EINVAL);
	TU_CHECK(sim);
	assert_true(vinfo(mm, pfn).vm_flags & SIMMM_VM_DONTDUMP);
	advise(sim, mm, h, PMD, SIMMM_MADV_DODUMP);
	assert_false(vinfo(mm, h).vm_flags & SIMMM_VM_DONTDUMP);
	/* a hugetlb VMA cannot be split inside a huge page, for any advice */
	assert_int_equal(simmm_madvise(mm, h, PS, SIMMM_MADV_DONTDUMP), -EINVAL);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* The only folio on the inactive anon list, mapped young by one VMA: a
 * normal VMA's young entry keeps it (PG_referenced, entry made old); with
 * MADV_RANDOM or MADV_SEQUENTIAL the VMA is skipped, the folio goes to
 * swap at its first look. */
static void reclaim_young_anon(int adv, bool kept)
{
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);
	struct simmm_translation t;

	advise(sim, mm, a, PS, adv);
	mx_write(mm, a, 1);
	t = mx_tr(mm, a);
	assert_true(t.present && simmm_pte_young(t.entry));
	assert_int_equal(simmm__shrink_inactive_batch(sim, 1), kept ? 0 : 1);
	TU_CHECK(sim);
	t = mx_tr(mm, a);
	assert_int_equal(t.present, kept);
	if (kept)
		assert_false(simmm_pte_young(t.entry));
	assert_int_equal(mx_swpout(sim), kept ? 0 : 1);
	mx_expect(mm, a, 1); /* back from swap when it went */
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

static void test_no_recency_reclaim(void **state)
{
	(void)state;
	reclaim_young_anon(SIMMM_MADV_NORMAL, true);
	reclaim_young_anon(SIMMM_MADV_RANDOM, false);
	reclaim_young_anon(SIMMM_MADV_SEQUENTIAL, false);
}

/* A page-cache page read through a shared mapping (young entry), then
 * unmapped: the zap marks it accessed (PG_referenced) from a normal VMA,
 * not from a RANDOM one; a second normal zap activates it. */
static void test_zap_marks_accessed(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = NULL;
	struct simmm_page *folio;
	simmm_addr_t a = 0;
	uint8_t b;

	TU_ASSERT_OK(simmm_file_create(sim, PS, 0, &f));
	for (int round = 0; round < 3; round++) {
		int adv = round == 1 ? SIMMM_MADV_RANDOM : SIMMM_MADV_NORMAL;

		TU_ASSERT_OK(simmm_mmap(mm, 0, PS, RW, SIMMM_MAP_SHARED, f, 0, &a));
		advise(sim, mm, a, PS, adv);
		TU_ASSERT_OK(simmm_mm_access(mm, a, &b, 1, SIMMM_ACCESS_READ));
		struct simmm_translation t = mx_tr(mm, a);
		assert_true(t.present && simmm_pte_young(t.entry));
		folio = simmm__compound_head(sim, simmm__pfn_to_page(sim, t.pfn));
		uint64_t before = folio->flags & (PG_referenced | PG_active);

		TU_ASSERT_OK(simmm_munmap(mm, a, PS));
		TU_CHECK(sim);
		switch (round) {
		case 0: /* first mark: referenced */
			assert_int_equal(before, 0);
			assert_int_equal(folio->flags & (PG_referenced | PG_active), PG_referenced);
			break;
		case 1: /* no recency: unchanged */
			assert_int_equal(folio->flags & (PG_referenced | PG_active), PG_referenced);
			break;
		case 2: /* second mark: activated */
			assert_true(folio->flags & PG_active);
			break;
		}
	}
	TU_ASSERT_OK(simmm_file_put(f));
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* The checker's rule: not both patterns at once. */
static void test_checker_both_patterns(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_anon(mm, 0, PS);
	struct simmm_vma *v;

	advise(sim, mm, a, PS, SIMMM_MADV_RANDOM);
	v = simmm__vma_lookup(mm, a);
	v->vm_flags |= SIMMM_VM_SEQ_READ;
	assert_int_not_equal(simmm_check(sim), 0);
	v->vm_flags &= ~SIMMM_VM_SEQ_READ;
	simmm_reports_clear(sim);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pattern_flags_split_merge),
		cmocka_unit_test(test_dump_flags),
		cmocka_unit_test(test_no_recency_reclaim),
		cmocka_unit_test(test_zap_marks_accessed),
		cmocka_unit_test(test_checker_both_patterns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
