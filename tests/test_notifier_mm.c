// SPDX-License-Identifier: MIT
/*
 * mmu notifiers driven by the address-space code: every event source
 * notifies each subscriber exactly once with the range the kernel uses
 * (munmap UNMAP, madvise(DONTNEED) CLEAR, mprotect PROTECTION_VMA, fork
 * PROTECTION_PAGE on the parent, exit RELEASE), and a toy mirror that
 * records translations with the read_begin/read_retry protocol and must
 * never hold a stale one after an operation returns.
 */
#include <string.h>

#include "testutil.h"

#include "mm/mm.h"
#include "notifier/notifier.h"

#define RW (SIMMM_PROT_READ | SIMMM_PROT_WRITE)
#define ANON (SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS)

/* ---- a logging legacy notifier ---------------------------------------------------- */

#define LOGMAX 64

struct logrec {
	struct simmm_mmu_notifier mn;
	struct simmm_mmu_notifier_range start[LOGMAX], end[LOGMAX];
	int nstart, nend, releases;
};

static int log_start(struct simmm_mmu_notifier *mn, const struct simmm_mmu_notifier_range *r)
{
	struct logrec *l = (struct logrec *)(void *)mn;

	if (l->nstart < LOGMAX)
		l->start[l->nstart] = *r;
	l->nstart++;
	return 0;
}

static void log_end(struct simmm_mmu_notifier *mn, const struct simmm_mmu_notifier_range *r)
{
	struct logrec *l = (struct logrec *)(void *)mn;

	if (l->nend < LOGMAX)
		l->end[l->nend] = *r;
	l->nend++;
}

static void log_release(struct simmm_mmu_notifier *mn, struct simmm_mm *mm)
{
	(void)mm;
	((struct logrec *)(void *)mn)->releases++;
}

static const struct simmm_mmu_notifier_ops log_ops = {
	.release = log_release,
	.invalidate_range_start = log_start,
	.invalidate_range_end = log_end,
};

/* ---- a logging interval notifier ---- */

struct ilog {
	struct simmm_mmu_interval_notifier sub;
	struct simmm_mmu_notifier_range r[LOGMAX];
	int n;
};

static bool ilog_invalidate(struct simmm_mmu_interval_notifier *sub,
			    const struct simmm_mmu_notifier_range *r, uint64_t cur_seq)
{
	struct ilog *l = (struct ilog *)(void *)sub;

	if (l->n < LOGMAX)
		l->r[l->n] = *r;
	l->n++;
	simmm_mmu_interval_set_seq(sub, cur_seq);
	return true;
}

static const struct simmm_mmu_interval_notifier_ops ilog_ops = {.invalidate = ilog_invalidate};

struct env {
	simmm_sim *sim;
	struct simmm_mm *mm;
	uint64_t ps;
	struct logrec a, b;
	struct ilog x;
};

static void env_init(struct env *e)
{
	memset(e, 0, sizeof(*e));
	e->sim = tu_sim_new(NULL, 0, tu_seed());
	e->ps = e->sim->page_size;
	TU_ASSERT_OK(simmm_mm_create(e->sim, &e->mm));
	e->a.mn.ops = &log_ops;
	e->b.mn.ops = &log_ops;
	TU_ASSERT_OK(simmm_mmu_notifier_register(&e->a.mn, e->mm));
	TU_ASSERT_OK(simmm_mmu_notifier_register(&e->b.mn, e->mm));
	TU_ASSERT_OK(simmm_mmu_interval_notifier_insert(&e->x.sub, e->mm, 0, UINT64_MAX, &ilog_ops));
	TU_CHECK(e->sim);
}

static void env_reset_logs(struct env *e)
{
	e->a.nstart = e->a.nend = e->b.nstart = e->b.nend = 0;
	e->x.n = 0;
}

static void env_fini(struct env *e)
{
	if (e->mm) {
		TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&e->x.sub));
		TU_ASSERT_OK(simmm_mmu_notifier_unregister(&e->a.mn, e->mm));
		TU_ASSERT_OK(simmm_mmu_notifier_unregister(&e->b.mn, e->mm));
		TU_ASSERT_OK(simmm_mmput(e->mm));
	}
	TU_CHECK(e->sim);
	tu_sim_free(&e->sim);
}

static uint64_t map_populated(struct env *e, uint64_t pages)
{
	uint64_t addr;
	uint8_t byte = 0x5a;

	TU_ASSERT_OK(simmm_mmap(e->mm, 0, pages * e->ps, RW, ANON, NULL, 0, &addr));
	for (uint64_t i = 0; i < pages; i++)
		TU_ASSERT_OK(simmm_mm_access(e->mm, addr + i * e->ps, &byte, 1, SIMMM_ACCESS_WRITE));
	TU_CHECK(e->sim);
	return addr;
}

/* Each subscriber saw exactly one @ev range [s, e), with start and end. */
static void expect_once(struct env *e, enum simmm_mmu_notifier_event ev, uint64_t s, uint64_t end)
{
	struct logrec *ls[2] = {&e->a, &e->b};

	for (int k = 0; k < 2; k++) {
		struct logrec *l = ls[k];

		if (l->nstart != 1 || l->nend != 1)
			fail_msg("subscriber %d: %d starts, %d ends (want 1, 1)", k, l->nstart, l->nend);
		assert_int_equal(l->start[0].event, ev);
		assert_int_equal(l->start[0].start, s);
		assert_int_equal(l->start[0].end, end);
		assert_ptr_equal(l->start[0].mm, e->mm);
		assert_int_equal(l->end[0].event, ev);
		assert_int_equal(l->end[0].start, s);
		assert_int_equal(l->end[0].end, end);
	}
	assert_int_equal(e->x.n, 1);
	assert_int_equal(e->x.r[0].event, ev);
	assert_int_equal(e->x.r[0].start, s);
	assert_int_equal(e->x.r[0].end, end);
	assert_int_equal(simmm_mmu_notifier_range_in_progress(e->mm, 0, UINT64_MAX), 0);
}

static void test_munmap_unmap_once(void **state)
{
	struct env e;
	uint64_t a;

	(void)state;
	env_init(&e);
	a = map_populated(&e, 16);
	env_reset_logs(&e);
	TU_ASSERT_OK(simmm_munmap(e.mm, a + 4 * e.ps, 4 * e.ps));
	TU_CHECK(e.sim);
	expect_once(&e, SIMMM_MMU_NOTIFY_UNMAP, a + 4 * e.ps, a + 8 * e.ps);
	env_fini(&e);
}

static void test_madvise_dontneed_clear_once(void **state)
{
	struct env e;
	uint64_t a;

	(void)state;
	env_init(&e);
	a = map_populated(&e, 16);
	env_reset_logs(&e);
	TU_ASSERT_OK(simmm_madvise(e.mm, a + 2 * e.ps, 3 * e.ps, SIMMM_MADV_DONTNEED));
	TU_CHECK(e.sim);
	expect_once(&e, SIMMM_MMU_NOTIFY_CLEAR, a + 2 * e.ps, a + 5 * e.ps);
	env_fini(&e);
}

static void test_mprotect_protection_vma(void **state)
{
	struct env e;
	uint64_t a;

	(void)state;
	env_init(&e);
	a = map_populated(&e, 16);
	env_reset_logs(&e);
	TU_ASSERT_OK(simmm_mprotect(e.mm, a, 8 * e.ps, SIMMM_PROT_READ));
	TU_CHECK(e.sim);
	/* The kernel notifies per page-table range that has entries: each
	 * subscriber gets matched PROTECTION_VMA ranges inside the request. */
	assert_true(e.a.nstart >= 1);
	assert_int_equal(e.a.nstart, e.a.nend);
	assert_int_equal(e.b.nstart, e.a.nstart);
	assert_int_equal(e.x.n, e.a.nstart);
	for (int i = 0; i < e.a.nstart && i < LOGMAX; i++) {
		assert_int_equal(e.a.start[i].event, SIMMM_MMU_NOTIFY_PROTECTION_VMA);
		assert_true(e.a.start[i].start >= a && e.a.start[i].end <= a + 8 * e.ps);
	}
	env_fini(&e);
}

static void test_fork_protection_page_on_parent(void **state)
{
	struct env e;
	struct simmm_mm *child;
	struct simmm_vma_info vi;
	uint64_t a;

	(void)state;
	env_init(&e);
	a = map_populated(&e, 8);
	TU_ASSERT_OK(simmm_vma_info(e.mm, a, &vi));
	env_reset_logs(&e);
	TU_ASSERT_OK(simmm_fork(e.mm, &child));
	TU_CHECK(e.sim);
	/* copy_page_range(): one PROTECTION_PAGE over the COW VMA of the parent. */
	expect_once(&e, SIMMM_MMU_NOTIFY_PROTECTION_PAGE, vi.start, vi.end);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_CHECK(e.sim);
	/* The child's exit does not touch the parent's subscribers. */
	assert_int_equal(e.a.nstart, 1);
	assert_int_equal(e.a.releases, 0);
	env_fini(&e);
}

static void test_exit_release(void **state)
{
	struct env e;
	struct simmm_mm *mm;

	(void)state;
	env_init(&e);
	map_populated(&e, 4);
	env_reset_logs(&e);
	mm = e.mm;
	TU_ASSERT_OK(simmm_mmput(mm));
	TU_CHECK(e.sim);
	assert_int_equal(e.a.releases, 1);
	assert_int_equal(e.b.releases, 1);
	/* Legacy subscribers are unhooked by release: no range after it. */
	assert_int_equal(e.a.nstart, 0);
	/* Interval notifiers get RELEASE once (the teardown may follow with
	 * UNMAP ranges, as the kernel's exit_mmap does after release). */
	assert_true(e.x.n >= 1);
	assert_int_equal(e.x.r[0].event, SIMMM_MMU_NOTIFY_RELEASE);
	assert_int_equal(e.x.r[0].start, 0);
	assert_int_equal(e.x.r[0].end, UINT64_MAX);
	assert_int_equal(e.x.sub.stats.invalidates[SIMMM_MMU_NOTIFY_RELEASE], 1);
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&e.a.mn, mm));
	TU_ASSERT_OK(simmm_mmu_notifier_unregister(&e.b.mn, mm));
	assert_int_equal(e.a.releases, 1);
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&e.x.sub));
	e.mm = NULL;
	env_fini(&e);
}

/* ---- toy mirror ---------------------------------------------------------------------------- */

#define MPAGES 32

struct mirror {
	struct simmm_mmu_interval_notifier sub;
	struct simmm_mm *mm;
	uint64_t base, ps;
	bool valid[MPAGES];
	simmm_pfn_t pfn[MPAGES];
	int invalidations;
};

static bool mirror_invalidate(struct simmm_mmu_interval_notifier *sub,
			      const struct simmm_mmu_notifier_range *r, uint64_t cur_seq)
{
	struct mirror *m = (struct mirror *)(void *)sub;

	/* (driver lock) */
	simmm_mmu_interval_set_seq(sub, cur_seq);
	m->invalidations++;
	for (int i = 0; i < MPAGES; i++) {
		uint64_t va = m->base + (uint64_t)i * m->ps;

		if (va < r->end && va + m->ps > r->start)
			m->valid[i] = false;
	}
	return true;
}

static const struct simmm_mmu_interval_notifier_ops mirror_ops = {.invalidate = mirror_invalidate};

/* Mirror every present page (hmm_range_fault without faulting). */
static void mirror_fault(struct mirror *m)
{
	struct simmm_pgtable *pt = simmm_mm_pgtable(m->mm);

	for (int tries = 0; tries < 8; tries++) {
		uint64_t seq = simmm_mmu_interval_read_begin(&m->sub);
		bool present[MPAGES];
		simmm_pfn_t pfn[MPAGES];

		for (int i = 0; i < MPAGES; i++) {
			struct simmm_translation t;

			present[i] = simmm_pgtable_translate(pt, m->base + (uint64_t)i * m->ps, &t) == 0 &&
				     t.present;
			pfn[i] = present[i] ? t.pfn : 0;
		}
		/* (driver lock) */
		if (simmm_mmu_interval_read_retry(&m->sub, seq))
			continue;
		for (int i = 0; i < MPAGES; i++) {
			m->valid[i] = present[i];
			m->pfn[i] = pfn[i];
		}
		return;
	}
	fail_msg("mirror_fault: no stable snapshot in 8 tries");
}

/* After an operation returns, nothing the mirror holds may be stale. */
static void mirror_verify(struct mirror *m, const char *what)
{
	struct simmm_pgtable *pt = simmm_mm_pgtable(m->mm);

	for (int i = 0; i < MPAGES; i++) {
		struct simmm_translation t;
		uint64_t va = m->base + (uint64_t)i * m->ps;

		if (!m->valid[i])
			continue;
		if (simmm_pgtable_translate(pt, va, &t) != 0 || !t.present || t.pfn != m->pfn[i])
			fail_msg("after %s: mirror holds pfn %llx for %llx, CPU has %s %llx", what,
				 (unsigned long long)m->pfn[i], (unsigned long long)va,
				 t.present ? "pfn" : "nothing", (unsigned long long)t.pfn);
	}
}

static void test_toy_mirror_never_stale(void **state)
{
	simmm_sim *sim = tu_sim_new(NULL, 0, tu_seed());
	uint64_t x = tu_seed() * 0x9e3779b97f4a7c15ull + 7, iters = tu_iters(300);
	struct mirror m = {0};
	struct simmm_mm *child = NULL;
	uint64_t ps = sim->page_size;
	const char *names[] = {"write", "read", "munmap", "mmap_fixed", "mprotect_ro",
			       "mprotect_rw", "dontneed", "fork", "child_exit", "pageout"};

	(void)state;
	TU_ASSERT_OK(simmm_mm_create(sim, &m.mm));
	m.ps = ps;
	TU_ASSERT_OK(simmm_mmap(m.mm, 0, MPAGES * ps, RW, ANON, NULL, 0, &m.base));
	TU_ASSERT_OK(simmm_mmu_interval_notifier_insert(&m.sub, m.mm, m.base, MPAGES * ps,
							&mirror_ops));
#define RND() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
	for (uint64_t it = 0; it < iters; it++) {
		unsigned op = (unsigned)(RND() % 10);
		uint64_t pg = RND() % MPAGES, n = 1 + RND() % 4;
		uint64_t va = m.base + pg * ps, len;
		uint8_t byte = (uint8_t)it;
		int rc = 0;

		if (pg + n > MPAGES)
			n = MPAGES - pg;
		len = n * ps;
		mirror_fault(&m);
		switch (op) {
		case 0:
			rc = simmm_mm_access(m.mm, va, &byte, 1, SIMMM_ACCESS_WRITE);
			break;
		case 1:
			rc = simmm_mm_access(m.mm, va, &byte, 1, SIMMM_ACCESS_READ);
			break;
		case 2:
			rc = simmm_munmap(m.mm, va, len);
			break;
		case 3: {
			uint64_t out;

			rc = simmm_mmap(m.mm, va, len, RW, ANON | SIMMM_MAP_FIXED, NULL, 0, &out);
			break;
		}
		case 4:
			rc = simmm_mprotect(m.mm, va, len, SIMMM_PROT_READ);
			break;
		case 5:
			rc = simmm_mprotect(m.mm, va, len, RW);
			break;
		case 6:
			rc = simmm_madvise(m.mm, va, len, SIMMM_MADV_DONTNEED);
			break;
		case 7:
			if (!child)
				rc = simmm_fork(m.mm, &child);
			break;
		case 8:
			if (child) {
				rc = simmm_mmput(child);
				child = NULL;
			}
			break;
		case 9:
			rc = simmm_madvise(m.mm, va, len, SIMMM_MADV_PAGEOUT);
			break;
		}
		/* Failures like -EFAULT/-ENOMEM on unmapped parts are fine. */
		(void)rc;
		TU_CHECK(sim);
		mirror_verify(&m, names[op]);
	}
#undef RND
	if (child)
		TU_ASSERT_OK(simmm_mmput(child));
	assert_true(m.invalidations > 0);
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&m.sub));
	TU_ASSERT_OK(simmm_mmput(m.mm));
	TU_CHECK(sim);
	tu_sim_free(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_munmap_unmap_once),
		cmocka_unit_test(test_madvise_dontneed_clear_once),
		cmocka_unit_test(test_mprotect_protection_vma),
		cmocka_unit_test(test_fork_protection_page_on_parent),
		cmocka_unit_test(test_exit_release),
		cmocka_unit_test(test_toy_mirror_never_stale),
	};
	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
