// SPDX-License-Identifier: MIT
/* clear_refs soft-dirty: the SOFT_DIRTY notifier event exactly once over
 * the whole address space, entries write-protected and clean, and the next
 * write marking the page soft-dirty again with its data intact. */
#include <string.h>

#include "testutil.h"

static simmm_entry_t entry_at(struct simmm_mm *mm, uint64_t a)
{
	struct simmm_translation t;
	simmm_pgtable_translate(simmm_mm_pgtable(mm), a, &t);
	return t.entry;
}

static void soft_dirty_cycle(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 64 << 20, 1);
	struct simmm_mm *mm;
	struct tu_counter c = {0};
	simmm_addr_t a;
	char buf[8];
	(void)state;

	TU_ASSERT_OK(simmm_mm_create(sim, &mm));
	TU_ASSERT_OK(simmm_mmap(mm, 0, 4 * 4096, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS, NULL, 0, &a));
	for (int i = 0; i < 4; i++)
		TU_ASSERT_OK(simmm_mm_access(mm, a + i * 4096, "dirty!", 7, SIMMM_ACCESS_WRITE));
	for (int i = 0; i < 4; i++)
		assert_true(simmm_pte_soft_dirty(entry_at(mm, a + i * 4096)));
	TU_ASSERT_OK(simmm_mmu_interval_notifier_insert(&c.mn, mm, a, 4 * 4096, &tu_counter_ops));
	TU_CHECK(sim);

	TU_ASSERT_OK(simmm_clear_refs_soft_dirty(mm));
	assert_int_equal(c.events[SIMMM_MMU_NOTIFY_SOFT_DIRTY], 1);
	assert_int_equal(c.last_start, 0);
	assert_int_equal(c.last_end, UINT64_MAX);
	for (int i = 0; i < 4; i++) {
		simmm_entry_t e = entry_at(mm, a + i * 4096);
		assert_true(simmm_pte_present(e));
		assert_false(simmm_pte_soft_dirty(e));
		assert_false(simmm_pte_write(e));
	}
	TU_CHECK(sim);

	/* A write marks only that page soft-dirty again; data intact. */
	TU_ASSERT_OK(simmm_mm_access(mm, a + 2 * 4096, "again", 6, SIMMM_ACCESS_WRITE));
	for (int i = 0; i < 4; i++)
		assert_int_equal(simmm_pte_soft_dirty(entry_at(mm, a + i * 4096)), i == 2);
	TU_ASSERT_OK(simmm_mm_access(mm, a + 3 * 4096, buf, 7, SIMMM_ACCESS_READ));
	assert_string_equal(buf, "dirty!");
	TU_ASSERT_OK(simmm_mm_access(mm, a + 2 * 4096, buf, 6, SIMMM_ACCESS_READ));
	assert_string_equal(buf, "again");
	TU_CHECK(sim);

	/* A swapped-out page's entry loses its swp soft-dirty bit. */
	uint64_t got = 0;
	TU_ASSERT_OK(simmm_reclaim(sim, 16, &got));
	assert_true(got > 0);
	TU_ASSERT_OK(simmm_clear_refs_soft_dirty(mm));
	assert_int_equal(c.events[SIMMM_MMU_NOTIFY_SOFT_DIRTY], 2);
	for (int i = 0; i < 4; i++) {
		simmm_entry_t e = entry_at(mm, a + i * 4096);
		if (simmm_is_swap_pte(e))
			assert_false(simmm_pte_swp_soft_dirty(e));
		else
			assert_false(simmm_pte_soft_dirty(e));
	}
	TU_ASSERT_OK(simmm_mm_access(mm, a + 2 * 4096, buf, 6, SIMMM_ACCESS_READ));
	assert_string_equal(buf, "again");
	TU_CHECK(sim);

	assert_int_equal(simmm_clear_refs_soft_dirty(NULL), -EINVAL);
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&c.mn));
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* pte_is_pinned(): a writable pte whose page may be DMA-pinned keeps its
 * write bit and soft-dirty state, but only in an mm that ever pinned
 * (MMF_HAS_PINNED). A small folio with GUP_PIN_COUNTING_BIAS plain
 * references "may be pinned" too: in an mm that never pinned it is
 * write-protected like any other page. */
static void soft_dirty_pinned_pages(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 64 << 20, 1);
	struct simmm_mm *mm;
	simmm_addr_t a;
	simmm_pfn_t held, pin;
	struct simmm_translation t;
	(void)state;

	TU_ASSERT_OK(simmm_mm_create(sim, &mm));
	TU_ASSERT_OK(simmm_mmap(mm, 0, 3 * 4096, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS, NULL, 0, &a));
	for (int i = 0; i < 3; i++)
		TU_ASSERT_OK(simmm_mm_access(mm, a + i * 4096, "dirty!", 7, SIMMM_ACCESS_WRITE));
	/* Page 0: plain references up to the bias. */
	TU_ASSERT_OK(simmm_pgtable_translate(simmm_mm_pgtable(mm), a, &t));
	held = t.pfn;
	for (int i = 0; i < SIMMM_GUP_PIN_COUNTING_BIAS; i++)
		TU_ASSERT_OK(simmm_page_get(sim, held));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_clear_refs_soft_dirty(mm));
	TU_CHECK(sim);
	for (int i = 0; i < 3; i++) {
		simmm_entry_t e = entry_at(mm, a + i * 4096);

		assert_false(simmm_pte_write(e));
		assert_false(simmm_pte_soft_dirty(e));
	}
	/* Dirty again, then pin page 1: the mm has pinned now. */
	for (int i = 0; i < 3; i++)
		TU_ASSERT_OK(simmm_mm_access(mm, a + i * 4096, "again", 6, SIMMM_ACCESS_WRITE));
	assert_int_equal(simmm_pin_user_pages(mm, a + 4096, 1, SIMMM_FOLL_WRITE, &pin), 1);
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_clear_refs_soft_dirty(mm));
	TU_CHECK(sim);
	for (int i = 0; i < 3; i++) {
		simmm_entry_t e = entry_at(mm, a + i * 4096);

		/* Pages 0 (the bias of references) and 1 (the pin) stay. */
		assert_int_equal(simmm_pte_write(e), i < 2);
		assert_int_equal(simmm_pte_soft_dirty(e), i < 2);
	}
	TU_ASSERT_OK(simmm_unpin_user_pages(sim, &pin, 1));
	for (int i = 0; i < SIMMM_GUP_PIN_COUNTING_BIAS; i++)
		assert_true(simmm_page_put(sim, held) > 0);
	/* Unpinned, the flag stays: nothing may be pinned now, all go. */
	TU_ASSERT_OK(simmm_clear_refs_soft_dirty(mm));
	for (int i = 0; i < 3; i++)
		assert_false(simmm_pte_write(entry_at(mm, a + i * 4096)));
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* Shared file mappings: write-protected, then written again through the
 * mapping; pread sees the data. */
static void soft_dirty_shared_file(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 64 << 20, 1);
	struct simmm_file *f;
	struct simmm_mm *mm;
	simmm_addr_t a;
	char buf[8] = {0};
	(void)state;

	TU_ASSERT_OK(simmm_mm_create(sim, &mm));
	TU_ASSERT_OK(simmm_file_create(sim, 2 * 4096, 0, &f));
	TU_ASSERT_OK(simmm_mmap(mm, 0, 2 * 4096, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				SIMMM_MAP_SHARED, f, 0, &a));
	TU_ASSERT_OK(simmm_mm_access(mm, a + 4096, "one", 4, SIMMM_ACCESS_WRITE));
	TU_ASSERT_OK(simmm_clear_refs_soft_dirty(mm));
	assert_false(simmm_pte_write(entry_at(mm, a + 4096)));
	TU_ASSERT_OK(simmm_mm_access(mm, a + 4096, "two", 4, SIMMM_ACCESS_WRITE));
	assert_true(simmm_pte_soft_dirty(entry_at(mm, a + 4096)));
	assert_int_equal(simmm_file_pread(f, buf, 4, 4096), 4);
	assert_string_equal(buf, "two");
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(soft_dirty_cycle),
		cmocka_unit_test(soft_dirty_shared_file),
		cmocka_unit_test(soft_dirty_pinned_pages),
	};
	return cmocka_run_group_tests_name("softdirty", tests, NULL, NULL);
}
