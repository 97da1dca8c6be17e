// SPDX-License-Identifier: MIT
/*
 * Allocation-failure injection over the mm calls: a sweep (every
 * allocation of a scenario failing in turn: no leaks, invariants hold) and
 * a transient-failure check that a call returning -ENOMEM left the mm
 * exactly as before (maps, page tables, contents).
 */
#include <stdlib.h>

#include "test_mm_util.h"

#define TRY(x)                          \
	do {                            \
		err = (x);              \
		if (err)                \
			goto out;       \
	} while (0)

static int scenario(simmm_sim *sim, void *arg)
{
	struct simmm_mm *mm = NULL, *child = NULL;
	struct simmm_file *f = NULL;
	simmm_addr_t a = 0, s = 0, m = 0, r = 0;
	uint64_t ps = sim->page_size;
	uint8_t v = 1;
	int err;

	(void)arg;
	TRY(simmm_mm_create(sim, &mm));
	TRY(simmm_file_create(sim, 4 * ps, 0, &f));
	TRY(simmm_mmap(mm, 0, 8 * ps, RW, PRIV_ANON, NULL, 0, &a));
	TRY(simmm_mmap(mm, 0, 2 * ps, RW, SHARED_ANON, NULL, 0, &s));
	TRY(simmm_mmap(mm, 0, 4 * ps, RW, SIMMM_MAP_SHARED, f, 0, &m));
	for (int i = 0; i < 8; i++)
		TRY(simmm_mm_access(mm, a + i * ps, &v, 1, SIMMM_ACCESS_WRITE));
	TRY(simmm_mm_access(mm, s, &v, 1, SIMMM_ACCESS_WRITE));
	TRY(simmm_mm_access(mm, m, &v, 1, SIMMM_ACCESS_WRITE));
	TRY(simmm_fork(mm, &child));
	TRY(simmm_mm_access(child, a, &v, 1, SIMMM_ACCESS_WRITE));
	TRY(simmm_mprotect(mm, a + ps, 2 * ps, SIMMM_PROT_READ));
	TRY(simmm_munmap(mm, a + 4 * ps, ps));
	TRY(simmm_mremap(mm, a + 5 * ps, 3 * ps, 6 * ps, SIMMM_MREMAP_MAYMOVE, 0, &r));
	TRY(simmm_madvise(mm, r, ps, SIMMM_MADV_DONTNEED));
	TRY(simmm_mm_access(mm, r + ps, &v, 1, SIMMM_ACCESS_READ));
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
	tu_sweep_clean(scenario, 8 << 20);
}

/* ---- -ENOMEM leaves the mm unchanged ---------------------------------------------- */

struct snap {
	char *dump;
	uint8_t val[16];
	struct simmm_mm_stats st;
};

static void take(struct simmm_mm *mm, simmm_addr_t a, struct snap *s)
{
	long n = simmm_mm_dump(mm, NULL, 0);

	s->dump = malloc((size_t)n + 1);
	simmm_mm_dump(mm, s->dump, (size_t)n + 1);
	s->st = tm_stats(mm);
	for (int i = 0; i < 16; i++) {
		struct simmm_translation t;

		/* Read through the tables without faulting. */
		s->val[i] = 0;
		if (!simmm_pgtable_translate(simmm_mm_pgtable(mm), a + i * simmm_mm_sim(mm)->page_size,
					     &t) && t.present)
			simmm_page_read(simmm_mm_sim(mm), t.pfn, 0, &s->val[i], 1);
	}
}

static void same(struct snap *x, struct snap *y)
{
	assert_string_equal(x->dump, y->dump);
	assert_memory_equal(x->val, y->val, sizeof(x->val));
	assert_int_equal(x->st.rss_anon, y->st.rss_anon);
	assert_int_equal(x->st.nr_vmas, y->st.nr_vmas);
	free(x->dump);
	free(y->dump);
}

static int do_op(struct simmm_mm *mm, simmm_addr_t a, int op)
{
	uint64_t ps = simmm_mm_sim(mm)->page_size;
	simmm_addr_t r;

	switch (op) {
	case 0: return simmm_munmap(mm, a + 3 * ps, 2 * ps);
	case 1: return simmm_mprotect(mm, a + 2 * ps, 3 * ps, SIMMM_PROT_READ);
	case 2: return simmm_mremap(mm, a + 8 * ps, 4 * ps, 8 * ps, SIMMM_MREMAP_MAYMOVE, 0, &r);
	case 3: return simmm_mmap(mm, a + 5 * ps, ps, RW, PRIV_ANON | SIMMM_MAP_FIXED, NULL, 0, &r);
	default: return simmm_madvise(mm, a + 6 * ps, 2 * ps, SIMMM_MADV_HUGEPAGE);
	}
}

static void test_enomem_unchanged(void **state)
{
	(void)state;
	for (int op = 0; op < 5; op++) {
		for (uint64_t nth = 1; nth < 64; nth++) {
			simmm_sim *sim = tu_sim_new(NULL, 16 << 20, 1);
			struct simmm_fault_config fc = {.mode = SIMMM_FAULT_NTH, .nth = nth};
			struct simmm_mm *mm;
			struct snap before, after;
			simmm_addr_t a;
			uint64_t hits;
			int rc;

			TU_ASSERT_OK(simmm_mm_create(sim, &mm));
			a = tm_mmap(mm, 16 * PS(sim), RW, PRIV_ANON);
			for (int i = 0; i < 16; i += 2)
				tm_write8(mm, a + i * PS(sim), (uint8_t)(i + 1));
			take(mm, a, &before);
			TU_ASSERT_OK(simmm_fault_inject(sim, &fc));
			rc = do_op(mm, a, op);
			simmm_fault_inject(sim, NULL);
			TU_CHECK(sim);
			take(mm, a, &after);
			if (rc == -ENOMEM) {
				if (strcmp(before.dump, after.dump))
					print_error("op %d nth %llu changed the mm\n", op,
						    (unsigned long long)nth);
				same(&before, &after);
			} else {
				assert_int_equal(rc, 0);
				free(before.dump);
				free(after.dump);
			}
			/* Read before the instance goes: a success the injector
			 * never reached means no later step can fail either. */
			hits = simmm_fault_hits(sim);
			simmm_mmput(mm);
			tu_sim_free(&sim);
			if (rc == 0 && !hits)
				break;
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_enomem_unchanged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
