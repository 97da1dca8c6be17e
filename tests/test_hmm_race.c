// SPDX-License-Identifier: MIT
/*
 * The driver protocol under concurrent invalidation, on the deterministic
 * scheduler. A device task mirrors a small range with the documented loop
 * (read_begin, hmm_range_fault, driver lock, read_retry, program); a CPU
 * task changes the range after k scheduling points, for every k up to the
 * length of the device's run and for each kind of change. Whatever the
 * interleaving, the device either gets an error/-EBUSY or programs a
 * mirror that matches the CPU page table with no more permission, and the
 * mirror stays coherent until the next invalidation of its range.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include <simmm/hmm.h>

#define NPAGES 4
#define V SIMMM_HMM_PFN_VALID
#define W SIMMM_HMM_PFN_WRITE

enum op { OP_NONE, OP_MUNMAP, OP_MPROTECT_RO, OP_DONTNEED, OP_COW_WRITE, OP_NR };

struct dev {
	struct simmm_mmu_interval_notifier mn; /* first */
	struct simmm_mutex lock;
	simmm_sim *sim;
	struct simmm_mm *mm;
	uint64_t a, psize;
	uint64_t mirror[NPAGES];  /* programmed hmm_pfns, 0 = not mirrored */
	uint64_t pfns[NPAGES];
	int fault_ret;
	int programmed;
	int violations;
	char why[160];
	struct simmm_mm *child;   /* OP_COW_WRITE */
	unsigned k;
	enum op op;
};

static bool dev_invalidate(struct simmm_mmu_interval_notifier *sub,
			   const struct simmm_mmu_notifier_range *r, uint64_t cur_seq)
{
	struct dev *d = (struct dev *)sub;

	if (simmm_mmu_notifier_range_blockable(r))
		simmm_mutex_lock(d->sim, &d->lock);
	else if (simmm_mutex_trylock(d->sim, &d->lock) != 1)
		return false;
	simmm_mmu_interval_set_seq(sub, cur_seq);
	for (int i = 0; i < NPAGES; i++) {
		uint64_t va = d->a + i * d->psize;
		if (va >= r->start && va < r->end)
			d->mirror[i] = 0;
	}
	simmm_mutex_unlock(d->sim, &d->lock);
	return true;
}

static const struct simmm_mmu_interval_notifier_ops dev_ops = {.invalidate = dev_invalidate};

/* The mirror must match the CPU: same pfn, present, no more permission. */
static void verify(struct dev *d, const char *when)
{
	for (int i = 0; i < NPAGES; i++) {
		struct simmm_translation t;
		uint64_t m = d->mirror[i];
		if (!(m & V))
			continue;
		int rc = simmm_pgtable_translate(simmm_mm_pgtable(d->mm), d->a + i * d->psize, &t);
		bool ok = rc == 0 && t.present && t.pfn == simmm_hmm_pfn_to_pfn(m) &&
			  (!(m & W) || t.write);
		if (!ok && !d->violations++)
			snprintf(d->why, sizeof(d->why),
				 "%s: page %d mirrored 0x%llx, cpu rc %d pfn 0x%llx write %d", when, i,
				 (unsigned long long)m, rc, (unsigned long long)t.pfn, t.write);
	}
}

static void device_task(simmm_sim *sim, void *arg)
{
	struct dev *d = arg;
	struct simmm_hmm_range r = {.notifier = &d->mn, .start = d->a,
				    .end = d->a + NPAGES * d->psize, .hmm_pfns = d->pfns,
				    .default_flags = SIMMM_HMM_PFN_REQ_FAULT | SIMMM_HMM_PFN_REQ_WRITE};
	for (int tries = 0; tries < 16; tries++) {
		memset(d->pfns, 0, sizeof(d->pfns));
		d->fault_ret = simmm_hmm_range_fault_retry(&r, SIMMM_HMM_RANGE_DEFAULT_TIMEOUT);
		if (d->fault_ret)
			return;
		simmm_mutex_lock(sim, &d->lock);
		if (simmm_mmu_interval_read_retry(&d->mn, r.notifier_seq)) {
			simmm_mutex_unlock(sim, &d->lock);
			continue;
		}
		memcpy(d->mirror, d->pfns, sizeof(d->mirror));
		d->programmed++;
		verify(d, "at programming");
		simmm_mutex_unlock(sim, &d->lock);
		return;
	}
}

static void cpu_task(simmm_sim *sim, void *arg)
{
	struct dev *d = arg;
	char x = 7;

	for (unsigned i = 0; i < d->k; i++)
		simmm_sched_yield(sim);
	switch (d->op) {
	case OP_MUNMAP:
		simmm_munmap(d->mm, d->a + d->psize, d->psize);
		break;
	case OP_MPROTECT_RO:
		simmm_mprotect(d->mm, d->a, NPAGES * d->psize, SIMMM_PROT_READ);
		break;
	case OP_DONTNEED:
		simmm_madvise(d->mm, d->a + 2 * d->psize, d->psize, SIMMM_MADV_DONTNEED);
		break;
	case OP_COW_WRITE:
		/* fork write-protects the parent (PROTECTION_PAGE), then the
		 * parent's write breaks COW (CLEAR): two invalidations. */
		if (simmm_fork(d->mm, &d->child) == 0)
			simmm_mm_access(d->mm, d->a + 3 * d->psize, &x, 1, SIMMM_ACCESS_WRITE);
		break;
	default:
		break;
	}
}

struct outcome {
	uint64_t steps;
	int fault_ret, programmed;
};

static struct outcome run_one(enum op op, unsigned k, uint64_t seed, enum simmm_sched_policy pol)
{
	struct dev *d = calloc(1, sizeof(*d));
	struct simmm_sched_config sc;
	struct outcome o;
	simmm_config cfg;
	char byte = 1;

	simmm_config_init(&cfg);
	cfg.ram_bytes = 64ULL << 20;
	cfg.seed = seed;
	d->sim = tu_sim_new_cfg(&cfg);
	d->psize = 1ULL << simmm_sim_geometry(d->sim)->page_shift;
	d->op = op;
	d->k = k;
	simmm_mutex_init(&d->lock, "dmirror");
	TU_ASSERT_OK(simmm_mm_create(d->sim, &d->mm));
	TU_ASSERT_OK(simmm_mmap(d->mm, 0, NPAGES * d->psize, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS, NULL, 0, &d->a));
	for (int i = 0; i < NPAGES; i += 2) /* half populated, half not */
		TU_ASSERT_OK(simmm_mm_access(d->mm, d->a + i * d->psize, &byte, 1,
					     SIMMM_ACCESS_WRITE));
	TU_ASSERT_OK(simmm_mmu_interval_notifier_insert(&d->mn, d->mm, d->a, NPAGES * d->psize,
							&dev_ops));
	simmm_sched_config_init(d->sim, &sc);
	sc.policy = pol;
	sc.seed = seed;
	if (pol == SIMMM_SCHED_REPLAY) {
		/* Device (the first task) alone for k choices, then the CPU is
		 * preferred until its change is complete: the invalidation is
		 * injected at the device's k-th scheduling point. */
		static uint8_t bytes[1024];
		memset(bytes, 0, sizeof(bytes));
		memset(bytes + (k < 512 ? k : 512), 1, 400);
		sc.replay = bytes;
		sc.replay_len = sizeof(bytes);
		d->k = 0;
	}
	TU_ASSERT_OK(simmm_sched_configure(d->sim, &sc));
	assert_true(simmm_sched_spawn(d->sim, "device", device_task, d) > 0);
	assert_true(simmm_sched_spawn(d->sim, "cpu", cpu_task, d) > 0);
	assert_int_equal(simmm_sched_run(d->sim, 1000000), SIMMM_SCHED_DONE);
	o.steps = simmm_sched_steps(d->sim);
	o.fault_ret = d->fault_ret;
	o.programmed = d->programmed;
	/* After the run: still coherent (every later change invalidated). */
	verify(d, "after the run");
	if (d->violations)
		fail_msg("op %d k %u seed %llu: %s", op, k, (unsigned long long)seed, d->why);
	if (d->fault_ret && d->fault_ret != -EFAULT && d->fault_ret != -EBUSY &&
	    d->fault_ret != -EPERM)
		fail_msg("op %d k %u: unexpected hmm error %d", op, k, d->fault_ret);
	assert_int_equal(simmm_reports_count(d->sim, 0), 0);
	TU_CHECK(d->sim);
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&d->mn));
	if (d->child)
		TU_ASSERT_OK(simmm_mmput(d->child));
	TU_ASSERT_OK(simmm_mmput(d->mm));
	tu_sim_free(&d->sim);
	free(d);
	return o;
}

/* Every k from 0 to the number of scheduling points of an undisturbed
 * device run, for every kind of change: the change is injected at each
 * scheduling point of the fault in turn (replay scheduler). */
static void invalidation_at_every_point(void **state)
{
	(void)state;
	struct outcome base = run_one(OP_NONE, 0, 1, SIMMM_SCHED_REPLAY);
	assert_int_equal(base.fault_ret, 0);
	assert_int_equal(base.programmed, 1);
	unsigned kmax = (unsigned)base.steps + 2;
	unsigned programmed = 0, errors = 0;
	for (int op = OP_MUNMAP; op < OP_NR; op++) {
		for (unsigned k = 0; k <= kmax; k++) {
			struct outcome o = run_one((enum op)op, k, 1, SIMMM_SCHED_REPLAY);
			programmed += o.programmed;
			errors += o.fault_ret != 0;
		}
	}
	print_message("%u interleavings (k <= %u): %u programmed, %u errors\n",
		      (unsigned)(OP_NR - 1) * (kmax + 1), kmax, programmed, errors);
	assert_true(programmed > 0);
}

/* Random and PCT schedules over many seeds. */
static void invalidation_random_schedules(void **state)
{
	(void)state;
	uint64_t seed0 = tu_seed(), n = tu_iters(150);
	for (uint64_t s = 0; s < n; s++) {
		enum op op = (enum op)(1 + s % (OP_NR - 1));
		run_one(op, (unsigned)(s % 7), seed0 + s,
			(s & 1) ? SIMMM_SCHED_PCT : SIMMM_SCHED_RANDOM);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(invalidation_at_every_point),
		cmocka_unit_test(invalidation_random_schedules),
	};
	return cmocka_run_group_tests_name("hmm_race", tests, NULL, NULL);
}
