// SPDX-License-Identifier: MIT
/*
 * Workingset refault detection (src/mm/workingset.c; upstream
 * mm/workingset.c, classic LRU, one lruvec):
 *  - an evicted page-cache folio leaves a shadow entry in its slot, and
 *    a read that brings it back within the refault distance is activated
 *    (a working set a little larger than the inactive list stops
 *    thrashing); one evicted too long ago is not;
 *  - swap: a swap-in onto a shadow is a refault, and a folio that was
 *    active before its eviction (PG_workingset from shrink_active_list())
 *    is restored, its refault noted as a cost of its type;
 *  - write(2) replaces a shadow without a refault; truncation and hole
 *    punching drop the shadows of their whole pages; a freed swap slot
 *    drops its shadow;
 *  - refault activations make the next reclaim age the active list
 *    (prepare_scan_control()'s may_deactivate);
 *  - the stats: nonresident_age, refault/activate/restore per type;
 *  - the checkers: a shadow beside a swap-cache folio, past EOF, or from
 *    the future is reported.
 * Every step runs the invariant checker.
 */
#include "test_mm_ext_util.h"

static void read_page(struct simmm_file *f, uint64_t index)
{
	uint8_t b;

	assert_int_equal(simmm_file_pread(f, &b, 1, index * PS), 1);
	TU_CHECK(f->sim);
}

/* A file of @n pages, pages [@from, @n) read @reads times each: once
 * leaves a page inactive and referenced (its first look evicts it:
 * FOLIOREF_RECLAIM_CLEAN, clean), twice makes it active. */
static struct simmm_file *file_read(simmm_sim *sim, unsigned n, unsigned from, unsigned reads)
{
	struct simmm_file *f = NULL;

	TU_ASSERT_OK(simmm_file_create(sim, n * PS, 0, &f));
	for (unsigned r = 0; r < reads; r++)
		for (unsigned i = from; i < n; i++)
			read_page(f, i);
	return f;
}

static struct simmm_page *cached(struct simmm_file *f, uint64_t index)
{
	return simmm__filemap_lookup(f, index);
}

/* The swap slot an address's swap pte names. */
static struct simmm_swap_slot *slot_at(struct simmm_mm *mm, simmm_addr_t a)
{
	struct simmm_translation t = mx_tr(mm, a);
	struct simmm_swap *sw = simmm__mm_global(simmm_mm_sim(mm))->swap;

	assert_false(t.present);
	assert_true(simmm_is_real_swap_entry(t.entry));
	return &sw->slots[simmm_swp_offset(t.entry) - 1];
}

/* Swap slots holding a shadow entry. */
static unsigned swap_shadows(simmm_sim *sim)
{
	struct simmm_swap *sw = simmm__mm_global(sim)->swap;
	unsigned n = 0;

	for (uint64_t i = 0; i < sw->hiwater; i++)
		n += sw->slots[i].shadow != 0;
	return n;
}

/* One look at each inactive list, @n folios of each; returns pages freed. */
static uint64_t shrink_batch(simmm_sim *sim, unsigned n)
{
	uint64_t freed = simmm__shrink_inactive_batch(sim, n);

	TU_CHECK(sim);
	return freed;
}

/* ---- file refaults ------------------------------------------------------------------ */

/*
 * A hot file of 40 pages (read twice: active) and a working set of 32
 * pages read once (inactive). Each activation by folio_mark_accessed()
 * and each eviction ages the clock by one. One shrink evicts the 32: each
 * leaves a shadow with its timestamp. Read again, page j refaults at a
 * distance of 32 - j plus the activations since, at most 32 + 31 - ...:
 * never more than the active file list (40 and growing), so every one is
 * activated, and a second shrink of the inactive list finds none of them
 * there: the set that thrashed through the inactive list now stays. None
 * was active before its eviction: no restore, no refault cost.
 */
static void test_thrash_refaults_activated(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_file *hot = file_read(sim, 40, 0, 2);
	struct simmm_lru_stats st = mx_lru(sim);

	assert_int_equal(st.nr_active_file, 40);
	assert_int_equal(st.nonresident_age, 40); /* workingset_activation() */
	struct simmm_file *ws = file_read(sim, 32, 0, 1);
	assert_int_equal(mx_lru(sim).nr_inactive_file, 32);
	assert_int_equal(shrink_batch(sim, 32), 32);
	for (unsigned i = 0; i < 32; i++) {
		uint64_t shadow = simmm__filemap_shadow(ws, i);

		assert_null(cached(ws, i));
		assert_true(simmm__is_shadow(shadow));
		/* pack_shadow(): the timestamp above PG_workingset (clear). */
		assert_int_equal(shadow & ~SIMMM_SHADOW_TAG, (40 + i) << 1);
	}
	st = mx_lru(sim);
	assert_int_equal(st.nonresident_age, 40 + 32);
	assert_int_equal(st.refault_file + st.activate_file + st.restore_file, 0);

	for (unsigned i = 0; i < 32; i++) {
		read_page(ws, i);
		assert_int_equal(cached(ws, i)->flags & (PG_active | PG_workingset | PG_lru),
				 PG_active | PG_lru);
		assert_int_equal(simmm__filemap_shadow(ws, i), 0);
	}
	st = mx_lru(sim);
	assert_int_equal(st.refault_file, 32);
	assert_int_equal(st.activate_file, 32);
	assert_int_equal(st.restore_file, 0);
	assert_int_equal(st.refault_anon + st.activate_anon + st.restore_anon, 0);
	assert_int_equal(st.nr_active_file, 40 + 32);
	assert_int_equal(st.nr_inactive_file, 0);
	assert_int_equal(st.nonresident_age, 40 + 32 + 32);
	assert_int_equal(st.file_cost, 0);

	/* The next look at the inactive list has nothing of theirs. */
	assert_int_equal(shrink_batch(sim, 32), 0);
	for (unsigned i = 0; i < 32; i++)
		assert_non_null(cached(ws, i));
	TU_ASSERT_OK(simmm_file_put(ws));
	TU_ASSERT_OK(simmm_file_put(hot));
	tu_sim_free(&sim);
}

/*
 * The refault distance against the workingset size: with 4 active file
 * pages (no swap, so no anon in the size), page 0 of 32 evicted ones
 * comes back at a distance of 32 > 4: a plain inactive folio, counted as
 * a refault only. Page 31, evicted last, comes back at a distance of 1
 * (its own eviction): activated. Page 27 then: 32 - 27 + 1 (page 31's
 * activation) = 6 > 5 (the active list with page 31): not activated;
 * page 28: 32 - 28 + 1 = 5 <= 5: activated.
 */
static void test_cold_refault_not_activated(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_file *hot = file_read(sim, 4, 0, 2);
	struct simmm_file *ws = file_read(sim, 32, 0, 1);
	struct simmm_lru_stats st;

	assert_int_equal(shrink_batch(sim, 32), 32);
	read_page(ws, 0);
	assert_int_equal(cached(ws, 0)->flags & (PG_active | PG_lru), PG_lru);
	st = mx_lru(sim);
	assert_int_equal(st.refault_file, 1);
	assert_int_equal(st.activate_file, 0);
	assert_int_equal(st.nonresident_age, 4 + 32); /* no activation */

	read_page(ws, 31);
	assert_int_equal(cached(ws, 31)->flags & (PG_active | PG_lru), PG_active | PG_lru);
	read_page(ws, 27);
	assert_false(cached(ws, 27)->flags & PG_active);
	read_page(ws, 28);
	assert_true(cached(ws, 28)->flags & PG_active);
	st = mx_lru(sim);
	assert_int_equal(st.refault_file, 4);
	assert_int_equal(st.activate_file, 2);
	assert_int_equal(st.nr_active_file, 4 + 2);
	TU_ASSERT_OK(simmm_file_put(ws));
	TU_ASSERT_OK(simmm_file_put(hot));
	tu_sim_free(&sim);
}

/*
 * workingset_test_recent()'s workingset size, list by list: a file
 * refault counts the active file list and, while a swap slot is free,
 * the anon lists, not the inactive file list; an anon refault counts the
 * inactive file list too. Each refault below is at a distance of 1 or 2
 * (one of the last pages evicted), so it is activated exactly when the
 * lists that count hold a few folios.
 */
static void refault_last(struct simmm_file *f, unsigned n, bool active)
{
	read_page(f, n - 1);
	assert_int_equal(!!(cached(f, n - 1)->flags & PG_active), active);
}

static void test_workingset_size(void **state)
{
	(void)state;
	const uint64_t swap_sizes[] = {0, 64 * MIB};

	for (unsigned i = 0; i < 2; i++) {
		simmm_sim *sim = mx_sim(NULL, 64 * MIB, swap_sizes[i]);
		struct simmm_mm *mm = mx_mm(sim);
		struct simmm_file *f = file_read(sim, 4, 0, 1);
		struct simmm_file *g;
		simmm_addr_t a;

		/* File refaults: the inactive file list does not count... */
		assert_int_equal(shrink_batch(sim, 4), 4);
		g = file_read(sim, 10, 0, 1);
		refault_last(f, 4, false);
		/* ...the inactive anon list does, with swap. */
		a = mx_anon(mm, 0, 10 * PS);
		for (unsigned j = 0; j < 10; j++)
			mx_write(mm, a + j * PS, j);
		read_page(f, 2);
		assert_int_equal(!!(cached(f, 2)->flags & PG_active), i == 1);
		TU_ASSERT_OK(simmm_file_put(g));
		TU_ASSERT_OK(simmm_file_put(f));
		TU_ASSERT_OK(simmm_mmput(mm));
		tu_sim_free(&sim);
	}

	/* An anon refault counts the inactive file list. */
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_cold_anon(mm, 4, 1);
	struct simmm_file *g;

	assert_int_equal(shrink_batch(sim, 4), 4);
	mx_expect(mm, a + 3 * PS, 4);
	assert_false(mx_folio_at(mm, a + 3 * PS)->flags & PG_active); /* size 0 */
	g = file_read(sim, 10, 0, 1);
	mx_expect(mm, a + 2 * PS, 3);
	TU_CHECK(sim);
	assert_true(mx_folio_at(mm, a + 2 * PS)->flags & PG_active);
	assert_int_equal(mx_lru(sim).activate_anon, 1);
	TU_ASSERT_OK(simmm_file_put(g));
	TU_ASSERT_OK(simmm_mmput(mm));
	tu_sim_free(&sim);
}

/* ---- swap refaults ------------------------------------------------------------------ */

/* Touch @a (swapped out) and check the refault's cost: a restoring
 * refault notes lru_note_cost_refault() (32, then both costs halved if
 * they exceed a quarter of the evictable lists as they were: the folio
 * joins them after), any other none. */
static void touch_expect_cost(struct simmm_mm *mm, simmm_addr_t a, unsigned tag, bool restore)
{
	simmm_sim *sim = simmm_mm_sim(mm);
	struct simmm_lru_stats before = mx_lru(sim), after;
	uint64_t anon = before.anon_cost + (restore ? 32 : 0), file = before.file_cost;

	if (restore && anon + file > (before.nr_inactive + before.nr_active) / 4) {
		anon /= 2;
		file /= 2;
	}
	mx_expect(mm, a, tag);
	TU_CHECK(sim);
	after = mx_lru(sim);
	assert_int_equal(after.anon_cost, anon);
	assert_int_equal(after.file_cost, file);
	assert_int_equal(after.restore_anon, before.restore_anon + restore);
}

/*
 * Anonymous pages swapped out leave their shadows in their swap slots;
 * swapped back in (a fault), they refault within the workingset size
 * (active file 40 + inactive file + active anon, swap being free) and are
 * activated, without PG_workingset: they were never active. Then, at
 * swappiness 200, reclaim ages the active anon list first
 * (shrink_active_list(): PG_workingset) and swaps some out again, their
 * shadows saying "workingset"; swapped in again they are activated and
 * restored, and each such refault is a cost of anon.
 */
static void test_swap_refault_and_restore(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *hot = file_read(sim, 40, 0, 2);
	simmm_addr_t a = mx_cold_anon(mm, 8, 1);
	struct simmm_lru_stats st;
	unsigned evicted = 0;

	assert_int_equal(shrink_batch(sim, 8), 8);
	assert_int_equal(swap_shadows(sim), 8);
	for (unsigned i = 0; i < 8; i++) {
		uint64_t shadow = slot_at(mm, a + i * PS)->shadow;

		assert_true(simmm__is_shadow(shadow));
		assert_false(shadow & 1); /* not PG_workingset */
	}
	for (unsigned i = 0; i < 8; i++) {
		touch_expect_cost(mm, a + i * PS, 1 + i, false);
		assert_int_equal(mx_folio_at(mm, a + i * PS)->flags &
					 (PG_active | PG_workingset | PG_lru | PG_swapcache),
				 PG_active | PG_lru | PG_swapcache);
	}
	assert_int_equal(swap_shadows(sim), 0); /* taken by the swap-ins */
	st = mx_lru(sim);
	assert_int_equal(st.refault_anon, 8);
	assert_int_equal(st.activate_anon, 8);
	assert_int_equal(st.restore_anon, 0);
	assert_int_equal(st.nr_active_anon, 8);
	assert_int_equal(st.refault_file, 0);

	TU_ASSERT_OK(simmm_set_swappiness(sim, 200));
	TU_ASSERT_OK(simmm_reclaim(sim, 4, NULL));
	TU_CHECK(sim);
	for (unsigned i = 0; i < 8; i++) {
		struct simmm_translation t = mx_tr(mm, a + i * PS);

		if (t.present) {
			assert_true(mx_folio_at(mm, a + i * PS)->flags & PG_workingset);
			continue;
		}
		assert_true(slot_at(mm, a + i * PS)->shadow & 1);
		evicted++;
	}
	assert_true(evicted >= 4);
	for (unsigned i = 0; i < 8; i++) {
		bool out = !mx_tr(mm, a + i * PS).present;

		touch_expect_cost(mm, a + i * PS, 1 + i, out);
		if (out)
			assert_int_equal(mx_folio_at(mm, a + i * PS)->flags &
						 (PG_active | PG_workingset),
					 PG_active | PG_workingset);
	}
	st = mx_lru(sim);
	assert_int_equal(st.refault_anon, 8 + evicted);
	assert_int_equal(st.activate_anon, 8 + evicted);
	assert_int_equal(st.restore_anon, evicted);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(hot));
	tu_sim_free(&sim);
}

/* A swap slot freed (its last swap entry zapped) drops its shadow. */
static void test_swap_free_drops_shadow(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_cold_anon(mm, 4, 1);

	assert_int_equal(shrink_batch(sim, 4), 4);
	assert_int_equal(swap_shadows(sim), 4);
	TU_ASSERT_OK(simmm_munmap(mm, a, 2 * PS));
	TU_CHECK(sim);
	assert_int_equal(mx_swap_used(sim), 2);
	assert_int_equal(swap_shadows(sim), 2);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(sim);
	assert_int_equal(mx_swap_used(sim), 0);
	assert_int_equal(swap_shadows(sim), 0);
	tu_sim_free(&sim);
}

/* ---- shadows leave with their pages ------------------------------------------------------ */

/*
 * Eight evicted pages, eight shadows. A hole punch over pages 2-3 (whole)
 * and part of page 4 drops the shadows of 2 and 3 only; a truncation to
 * 4 pages and a bit drops those of 5-7 (page 4 is partly inside EOF and
 * keeps its shadow). Pages read back where the shadow went are no
 * refaults; page 0 still is. write(2) over an evicted page replaces its
 * shadow without a refault (__GFP_WRITE).
 */
static void test_truncate_drops_shadows(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_file *f = file_read(sim, 8, 0, 1);
	uint8_t b = 7;

	assert_int_equal(shrink_batch(sim, 8), 8);
	for (unsigned i = 0; i < 8; i++)
		assert_true(simmm__is_shadow(simmm__filemap_shadow(f, i)));
	TU_ASSERT_OK(simmm_file_punch_hole(f, 2 * PS, 2 * PS + 100));
	TU_CHECK(sim);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(simmm__filemap_shadow(f, i) != 0, i != 2 && i != 3);
	TU_ASSERT_OK(simmm_file_truncate(f, 4 * PS + 100));
	TU_CHECK(sim);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(simmm__filemap_shadow(f, i) != 0, i < 5 && i != 2 && i != 3);

	read_page(f, 2);
	read_page(f, 3);
	assert_int_equal(mx_lru(sim).refault_file, 0);
	assert_int_equal(simmm_file_pwrite(f, &b, 1, 1 * PS), 1);
	TU_CHECK(sim);
	assert_int_equal(simmm__filemap_shadow(f, 1), 0);
	assert_int_equal(mx_lru(sim).refault_file, 0);
	read_page(f, 0);
	assert_int_equal(mx_lru(sim).refault_file, 1);
	/* The file dies with shadows in its cache (page 4): nothing leaks. */
	assert_true(simmm__is_shadow(simmm__filemap_shadow(f, 4)));
	TU_ASSERT_OK(simmm_file_put(f));
	tu_sim_free(&sim);
}

/* ---- refaults drive the aging --------------------------------------------------------- */

/*
 * prepare_scan_control(): a type's active list is aged when its inactive
 * list is low, or when it had refaults activated since the last reclaim
 * ended. 40 active and 50 inactive file pages: a reclaim of one page
 * leaves the active list alone (not low, no refault). The evicted page
 * read back refaults and is activated; the next reclaim deactivates
 * active folios although the inactive list is not low (with
 * PG_workingset); the one after, the refault snapshot taken, does not.
 */
static void test_refaults_deactivate(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_file *hot = file_read(sim, 40, 0, 2);
	struct simmm_file *cold = file_read(sim, 50, 0, 1);
	uint64_t deact, got = 0;
	unsigned gone = 50;

	TU_ASSERT_OK(simmm_reclaim(sim, 1, &got));
	TU_CHECK(sim);
	assert_int_equal(got, 1);
	deact = mx_lru(sim).deactivated;
	assert_int_equal(deact, 0);
	for (unsigned i = 0; i < 50 && gone == 50; i++)
		if (!cached(cold, i))
			gone = i;
	assert_true(gone < 50);
	read_page(cold, gone);
	assert_true(cached(cold, gone)->flags & PG_active);
	assert_int_equal(mx_lru(sim).activate_file, 1);

	TU_ASSERT_OK(simmm_reclaim(sim, 1, &got));
	TU_CHECK(sim);
	assert_true(mx_lru(sim).deactivated > deact);
	deact = mx_lru(sim).deactivated;
	for (unsigned i = 0; i < 40; i++) {
		struct simmm_page *p = cached(hot, i);

		if (p && !(p->flags & PG_active))
			assert_true(p->flags & PG_workingset);
	}
	TU_ASSERT_OK(simmm_reclaim(sim, 1, &got));
	TU_CHECK(sim);
	assert_int_equal(mx_lru(sim).deactivated, deact);
	TU_ASSERT_OK(simmm_file_put(cold));
	TU_ASSERT_OK(simmm_file_put(hot));
	tu_sim_free(&sim);
}

/*
 * The clock (nonresident_age) advances by a folio's pages at each
 * eviction, each folio_mark_accessed() activation, each refault
 * activation, and each folio reclaim puts back on an active list
 * (move_folios_to_lru()): here a mapped page-cache page, read (so
 * PG_referenced) and young in its mapping, that reclaim activates.
 */
static void test_clock(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 0);
	struct simmm_mm *mm = mx_mm(sim);
	struct simmm_file *f = file_read(sim, 2, 0, 1);
	simmm_addr_t a = 0;
	uint8_t b;

	assert_int_equal(mx_lru(sim).nonresident_age, 0);
	TU_ASSERT_OK(simmm_mmap(mm, 0, PS, SIMMM_PROT_READ, SIMMM_MAP_SHARED, f, 0, &a));
	TU_ASSERT_OK(simmm_mm_access(mm, a, &b, 1, SIMMM_ACCESS_READ));
	TU_CHECK(sim);
	/* Page 0 is activated (young pte, PG_referenced), page 1 evicted. */
	assert_int_equal(shrink_batch(sim, 2), 1);
	assert_true(cached(f, 0)->flags & PG_active);
	assert_null(cached(f, 1));
	assert_int_equal(mx_lru(sim).nonresident_age, 2);
	/* Page 1 was evicted before page 0's batch went back (eviction at
	 * 0, putback to 2): its refault distance is 2, beyond the one active
	 * folio, so it is not activated and the clock stays. */
	read_page(f, 1);
	assert_int_equal(mx_lru(sim).nonresident_age, 2);
	assert_int_equal(mx_lru(sim).refault_file, 1);
	assert_int_equal(mx_lru(sim).activate_file, 0);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	tu_sim_free(&sim);
}

/* ---- the checkers ----------------------------------------------------------------------- */

static void expect_report(simmm_sim *sim, const char *what)
{
	assert_true(simmm_check(sim) > 0);
	assert_non_null(strstr(simmm_reports(sim, NULL), what));
	simmm_reports_clear(sim);
}

/*
 * A swap slot with both a swap-cache folio and a shadow; a shadow past a
 * file's EOF; a shadow with a timestamp ahead of the clock: each is
 * reported, and the machine is clean again once undone.
 */
static void test_check_catches_bad_shadows(void **state)
{
	(void)state;
	simmm_sim *sim = mx_sim(NULL, 64 * MIB, 64 * MIB);
	struct simmm_mm *mm = mx_mm(sim);
	simmm_addr_t a = mx_cold_anon(mm, 1, 1);
	struct simmm_file *f = file_read(sim, 2, 1, 1);
	struct simmm_swap_slot *s;
	uint64_t shadow, age;

	assert_int_equal(shrink_batch(sim, 8), 2);
	s = slot_at(mm, a);
	shadow = s->shadow;
	mx_expect(mm, a, 1); /* swapped in: the slot now holds the folio */
	TU_CHECK(sim);
	assert_int_equal(s->shadow, 0);
	s->shadow = shadow;
	expect_report(sim, "swap: slot");
	s->shadow = 0;
	TU_CHECK(sim);

	read_page(f, 0); /* a cached folio: the checker reaches the file */
	assert_true(simmm__is_shadow(simmm__filemap_shadow(f, 1)));
	f->size = PS;
	expect_report(sim, "shadow entry");
	f->size = 2 * PS;
	TU_CHECK(sim);

	shadow = f->cache[1];
	age = mx_lru(sim).nonresident_age;
	f->cache[1] = SIMMM_SHADOW_TAG | (age + 5) << 1;
	expect_report(sim, "workingset: shadow entry");
	f->cache[1] = shadow;
	TU_CHECK(sim);
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_ASSERT_OK(simmm_file_put(f));
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thrash_refaults_activated),
		cmocka_unit_test(test_cold_refault_not_activated),
		cmocka_unit_test(test_workingset_size),
		cmocka_unit_test(test_swap_refault_and_restore),
		cmocka_unit_test(test_swap_free_drops_shadow),
		cmocka_unit_test(test_truncate_drops_shadows),
		cmocka_unit_test(test_refaults_deactivate),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_check_catches_bad_shadows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
