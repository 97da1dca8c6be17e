// SPDX-License-Identifier: MIT
/*
 * Seeded random operations (mmap, munmap, mprotect, madvise, mremap, fork,
 * access, reclaim) on every built-in geometry, checked after every step
 * against a reference model (page -> mapped, prot, shared, byte) and the
 * invariant checker. Replay with SIMMM_SEED=<n>; SIMMM_ITERS scales.
 */
#include <stdio.h>
#include <stdlib.h>

#include "test_mm_util.h"

#define NP 48 /* pages in the window */

struct model {
	bool mapped[NP], shared[NP];
	int prot[NP];
	uint8_t val[NP];
};

struct rt {
	simmm_sim *sim;
	struct simmm_mm *mm;
	simmm_addr_t base;
	struct model m;
	uint64_t ps;
};

static uint64_t rnd(struct rt *t, uint64_t n)
{
	return simmm_sim_random(t->sim) % n;
}

static simmm_addr_t pa(struct rt *t, int i)
{
	return t->base + (uint64_t)i * t->ps;
}

static bool may_read(int prot)
{
	return prot & (SIMMM_PROT_READ | SIMMM_PROT_WRITE);
}

static void op_mmap(struct rt *t, int i, int n)
{
	static const int prots[] = {SIMMM_PROT_NONE, SIMMM_PROT_READ, RW, RW};
	int prot = prots[rnd(t, 4)];
	bool shared = rnd(t, 4) == 0;
	simmm_addr_t out;

	TU_ASSERT_OK(simmm_mmap(t->mm, pa(t, i), n * t->ps, prot,
				(shared ? SHARED_ANON : PRIV_ANON) | SIMMM_MAP_FIXED, NULL, 0, &out));
	for (int k = i; k < i + n; k++) {
		t->m.mapped[k] = true;
		t->m.shared[k] = shared;
		t->m.prot[k] = prot;
		t->m.val[k] = 0;
	}
}

static bool all_mapped(struct rt *t, int i, int n)
{
	for (int k = i; k < i + n; k++)
		if (!t->m.mapped[k])
			return false;
	return true;
}

static void op_mprotect(struct rt *t, int i, int n)
{
	int prot = (int)rnd(t, 4) & RW;
	int rc = simmm_mprotect(t->mm, pa(t, i), n * t->ps, prot);

	if (!all_mapped(t, i, n)) {
		assert_int_equal(rc, -ENOMEM);
		return;
	}
	assert_int_equal(rc, 0);
	for (int k = i; k < i + n; k++)
		t->m.prot[k] = prot;
}

static void op_dontneed(struct rt *t, int i, int n)
{
	int rc = simmm_madvise(t->mm, pa(t, i), n * t->ps, SIMMM_MADV_DONTNEED);

	assert_int_equal(rc, all_mapped(t, i, n) ? 0 : -ENOMEM);
	for (int k = i; k < i + n; k++)
		if (t->m.mapped[k] && !t->m.shared[k])
			t->m.val[k] = 0; /* shmem keeps its page cache */
}

static void op_access(struct rt *t, int i)
{
	uint8_t v = (uint8_t)(rnd(t, 255) + 1);
	bool write = rnd(t, 2);
	int rc = simmm_mm_access(t->mm, pa(t, i), &v, 1,
				 write ? SIMMM_ACCESS_WRITE : SIMMM_ACCESS_READ);
	bool ok = t->m.mapped[i] &&
		  (write ? (t->m.prot[i] & SIMMM_PROT_WRITE) : may_read(t->m.prot[i]));

	if (getenv("TM_DEBUG"))
		fprintf(stderr, "  access %d %s v %#x rc %d\n", i, write ? "W" : "R", v, rc);
	assert_int_equal(rc, ok ? 0 : -EFAULT);
	if (ok && write)
		t->m.val[i] = v;
	else if (ok)
		assert_int_equal(v, t->m.val[i]);
}

/* Move one page range inside a single VMA to a free-or-fixed destination. */
static void op_mremap(struct rt *t, int i, int n)
{
	struct simmm_vma_info vi;
	struct model old = t->m;
	simmm_addr_t out;
	int d = (int)rnd(t, NP - n + 1);

	if (!t->m.mapped[i] || simmm_vma_info(t->mm, pa(t, i), &vi))
		return;
	if (pa(t, i) + n * t->ps > vi.end)
		n = (int)((vi.end - pa(t, i)) / t->ps);
	if (d < i + n && i < d + n)
		return; /* overlapping: -EINVAL, tested elsewhere */
	if (getenv("TM_DEBUG"))
		fprintf(stderr, "  mremap %d+%d -> %d\n", i, n, d);
	TU_ASSERT_OK(simmm_mremap(t->mm, pa(t, i), n * t->ps, n * t->ps,
				  SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED, pa(t, d), &out));
	assert_int_equal(out, pa(t, d));
	for (int k = 0; k < n; k++) {
		t->m.mapped[i + k] = false;
	}
	for (int k = 0; k < n; k++) {
		t->m.mapped[d + k] = true;
		t->m.shared[d + k] = old.shared[i + k];
		t->m.prot[d + k] = old.prot[i + k];
		t->m.val[d + k] = old.val[i + k];
	}
}

static void op_fork(struct rt *t)
{
	struct simmm_mm *c;
	int i = (int)rnd(t, NP);
	uint8_t v = (uint8_t)(rnd(t, 255) + 1), r;

	if (getenv("TM_DEBUG"))
		fprintf(stderr, "  fork child writes %d v %#x\n", i, v);
	TU_ASSERT_OK(simmm_fork(t->mm, &c));
	TU_CHECK(t->sim);
	if (t->m.mapped[i] && (t->m.prot[i] & SIMMM_PROT_WRITE)) {
		TU_ASSERT_OK(simmm_mm_access(c, pa(t, i), &v, 1, SIMMM_ACCESS_WRITE));
		if (t->m.shared[i])
			t->m.val[i] = v; /* visible to the parent */
	}
	if (t->m.mapped[i] && may_read(t->m.prot[i])) {
		TU_ASSERT_OK(simmm_mm_access(c, pa(t, i), &r, 1, SIMMM_ACCESS_READ));
		assert_int_equal(r, t->m.mapped[i] && (t->m.prot[i] & SIMMM_PROT_WRITE) ? v
										      : t->m.val[i]);
	}
	TU_CHECK(t->sim);
	TU_ASSERT_OK(simmm_mmput(c));
}

static void verify_all(struct rt *t)
{
	for (int i = 0; i < NP; i++) {
		uint8_t v = 0;
		int rc = simmm_mm_access(t->mm, pa(t, i), &v, 1, SIMMM_ACCESS_READ);

		if (t->m.mapped[i] && may_read(t->m.prot[i])) {
			if (v != t->m.val[i])
				fprintf(stderr, "page %d shared %d prot %d\n", i, t->m.shared[i],
					t->m.prot[i]);
			assert_int_equal(rc, 0);
			assert_int_equal(v, t->m.val[i]);
		} else {
			assert_int_equal(rc, -EFAULT);
		}
	}
}

static void step(struct rt *t)
{
	int i = (int)rnd(t, NP), n = 1 + (int)rnd(t, 6);

	if (i + n > NP)
		n = NP - i;
	int op = (int)rnd(t, 20);

	if (getenv("TM_DEBUG"))
		fprintf(stderr, "op %d i %d n %d\n", op, i, n);
	switch (op) {
	case 0: case 1:
		op_mmap(t, i, n);
		break;
	case 2:
		TU_ASSERT_OK(simmm_munmap(t->mm, pa(t, i), n * t->ps));
		for (int k = i; k < i + n; k++)
			t->m.mapped[k] = false;
		break;
	case 3: case 4:
		op_mprotect(t, i, n);
		break;
	case 5:
		op_dontneed(t, i, n);
		break;
	case 6:
		op_mremap(t, i, n);
		break;
	case 7:
		op_fork(t);
		break;
	case 8:
		simmm_reclaim(t->sim, 8, NULL);
		break;
	default:
		op_access(t, i);
		break;
	}
}

static void run_geometry(const struct simmm_geometry *g, uint64_t seed, uint64_t iters)
{
	simmm_config cfg;
	struct rt t = {0};

	simmm_config_init(&cfg);
	cfg.geometry = g->name;
	cfg.ram_bytes = 256ULL << g->page_shift;
	cfg.swap_bytes = 512ULL << g->page_shift;
	cfg.seed = seed;
	t.sim = tu_sim_new_cfg(&cfg);
	t.ps = 1ULL << g->page_shift;
	t.base = (g->user_va_end / 2) & ~(t.ps - 1);
	TU_ASSERT_OK(simmm_mm_create(t.sim, &t.mm));
	for (uint64_t s = 0; s < iters; s++) {
		step(&t);
		TU_CHECK(t.sim);
		if (s % 64 == 63 || getenv("TM_VERIFY"))
			verify_all(&t);
	}
	verify_all(&t);
	TU_ASSERT_OK(simmm_mmput(t.mm));
	tu_sim_free(&t.sim);
}

static void test_random_all_geometries(void **state)
{
	uint64_t seed = tu_seed(), iters = tu_iters(4000);

	(void)state;
	for (unsigned i = 0; i < simmm_geometry_count(); i++) {
		const struct simmm_geometry *g = simmm_geometry_at(i);

		fprintf(stderr, "geometry %s\n", g->name);
		run_geometry(g, seed + i, iters);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_all_geometries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
