// SPDX-License-Identifier: MIT
/*
 * mm lifetimes (mm_users / mm_count as in kernel/fork.c), the per-machine
 * mm state, the mmap lock wrappers and the counters.
 *
 * The two counts: mm_users keeps the address space populated (mmget /
 * mmput; the last mmput runs exit_mmap()), mm_count keeps the struct alive
 * (mmgrab / mmdrop). All users together hold one mm_count reference, which
 * the last mmput drops, exactly like __mmput() -> mmdrop().
 */
#include <errno.h>
#include <string.h>

#include "mm/mm.h"
#include "mm/mm_ext.h"
#include "notifier/notifier.h"

static void mm_free(struct simmm_mm *mm);

/* ---- per-machine state ---------------------------------------------------- */

/*
 * Three finalisers, run in reverse order at destroy:
 *   "mm-exit" (registered last, runs first): report and tear down leaked
 *             mms while swap and LRU still exist;
 *   "mm-ext"  (registered by simmm__swap_init()): swap, LRU, hugetlb;
 *   "mm"      (registered first, runs last): frees the state. While it
 *             is registered, sim->mm_state points at the state (how
 *             simmm__mm_global() finds it).
 */
static void mm_exit_fini(simmm_sim *sim, void *arg)
{
	struct simmm_mm_global *g = arg;

	/* Whatever is still alive leaked: report it, then free it so the
	 * allocator's own leak check stays about this one report. */
	while (g->mms) {
		struct simmm_mm *mm = g->mms;

		simmm__report(sim, SIMMM_REPORT_LEAK, "mm %llu leaked (users %d, count %d)",
			      (unsigned long long)mm->id, mm->mm_users, mm->mm_count);
		if (mm->mm_users > 0)
			simmm__exit_mmap(mm);
		mm->mm_users = 0;
		mm_free(mm);
	}
}

static void mm_global_fini(simmm_sim *sim, void *arg)
{
	struct simmm_mm_global *g = arg;

	mm_exit_fini(sim, g);
	simmm__remove_checker(sim, simmm__mm_check, g);
	sim->mm_state = NULL;
	simmm__free(sim, SIMMM_ALLOC_META, g, sizeof(*g));
}

struct simmm_mm_global *simmm__mm_global(simmm_sim *sim)
{
	struct simmm_mm_global *g = sim->mm_state;

	if (g)
		return g;
	g = simmm__zalloc(sim, SIMMM_ALLOC_META, sizeof(*g));
	if (!g)
		return NULL;
	g->next_id = 1;
	g->thp = SIMMM_THP_MADVISE;
	g->auto_reclaim = true;
	simmm_waitqueue_init(&g->migration_wq, "migration_wq");
	simmm_mutex_init(&g->mf_mutex, "mf_mutex");
	if (simmm__add_checker(sim, "mm", simmm__mm_check, g))
		goto err_free;
	if (simmm__add_fini(sim, "mm", mm_global_fini, g))
		goto err_checker;
	sim->mm_state = g; /* simmm__swap_init() looks it up again */
	if (simmm__swap_init(sim))
		goto err_fini;
	/* Without "mm-exit", leaked mms are still found by "mm" (after swap
	 * is gone): acceptable under an injected failure. */
	simmm__add_fini(sim, "mm-exit", mm_exit_fini, g);
	return g;
err_fini:
	sim->mm_state = NULL;
	simmm__remove_fini(sim, mm_global_fini, g);
err_checker:
	simmm__remove_checker(sim, simmm__mm_check, g);
err_free:
	simmm__free(sim, SIMMM_ALLOC_META, g, sizeof(*g));
	return NULL;
}

/* ---- create / free ---------------------------------------------------------- */

int simmm_mm_create(simmm_sim *sim, struct simmm_mm **out)
{
	struct simmm_mm_global *g;
	struct simmm_mm *mm;
	int err;

	if (!simmm__sim_ok(sim) || !out)
		return -EINVAL;
	g = simmm__mm_global(sim);
	if (!g)
		return -ENOMEM;
	mm = simmm__zalloc(sim, SIMMM_ALLOC_META, sizeof(*mm));
	if (!mm)
		return -ENOMEM;
	err = simmm_pgtable_create(sim, &mm->pgt);
	if (err) {
		simmm__free(sim, SIMMM_ALLOC_META, mm, sizeof(*mm));
		return err;
	}
	mm->sim = sim;
	mm->magic = SIMMM_MM_MAGIC;
	mm->mm_users = 1;
	mm->mm_count = 1;
	mm->memlock_limit = SIMMM_RLIM_INFINITY; /* no RLIMIT_MEMLOCK unless set */
	simmm_rwsem_init(&mm->mmap_lock, "mmap_lock");
	simmm_spin_lock_init(&mm->page_table_lock, "page_table_lock");
	/* mmap_base: the top of the user range minus a gap, as the kernel's
	 * mmap_base() leaves room below TASK_SIZE for the stack. The gap is
	 * 1/64 of the space, at least one page. */
	mm->mmap_base = sim->geo.user_va_end - ((sim->geo.user_va_end >> 6) & ~(sim->page_size - 1));
	if (mm->mmap_base == sim->geo.user_va_end)
		mm->mmap_base -= sim->page_size;
	mm->id = g->next_id++;
	mm->next = g->mms;
	if (g->mms)
		g->mms->prev = mm;
	g->mms = mm;
	*out = mm;
	return 0;
}

static void mm_free(struct simmm_mm *mm)
{
	simmm_sim *sim = mm->sim;
	struct simmm_mm_global *g = simmm__mm_global(sim);

	simmm__mmu_notifier_subscriptions_destroy(mm);
	if (mm->pgt)
		simmm_pgtable_destroy(&mm->pgt, NULL, NULL);
	if (mm->prev)
		mm->prev->next = mm->next;
	else if (g)
		g->mms = mm->next;
	if (mm->next)
		mm->next->prev = mm->prev;
	mm->magic = SIMMM_MAGIC_DEAD;
	simmm__free(sim, SIMMM_ALLOC_META, mm, sizeof(*mm));
}

/* ---- the two counts ----------------------------------------------------------- */

int simmm_mmget(struct simmm_mm *mm)
{
	if (!simmm__mm_ok(mm) || mm->mm_users <= 0)
		return -EINVAL;
	mm->mm_users++;
	return 0;
}

bool simmm_mmget_not_zero(struct simmm_mm *mm)
{
	if (!simmm__mm_ok(mm) || mm->mm_users <= 0)
		return false;
	mm->mm_users++;
	return true;
}

int simmm_mmput(struct simmm_mm *mm)
{
	if (!simmm__mm_ok(mm) || mm->mm_users <= 0)
		return -EINVAL;
	if (--mm->mm_users > 0)
		return 0;
	/* __mmput(): tear the address space down, then drop the users'
	 * collective mm_count reference. */
	simmm__exit_mmap(mm);
	return simmm_mmdrop(mm);
}

int simmm_mmgrab(struct simmm_mm *mm)
{
	if (!simmm__mm_ok(mm) || mm->mm_count <= 0)
		return -EINVAL;
	mm->mm_count++;
	return 0;
}

int simmm_mmdrop(struct simmm_mm *mm)
{
	if (!simmm__mm_ok(mm) || mm->mm_count <= 0)
		return -EINVAL;
	if (--mm->mm_count == 0)
		mm_free(mm);
	return 0;
}

simmm_sim *simmm_mm_sim(const struct simmm_mm *mm)
{
	return simmm__mm_ok(mm) ? mm->sim : NULL;
}

int simmm_mm_users(const struct simmm_mm *mm)
{
	return simmm__mm_ok(mm) ? mm->mm_users : 0;
}

int simmm_mm_count(const struct simmm_mm *mm)
{
	return simmm__mm_ok(mm) ? mm->mm_count : 0;
}

struct simmm_pgtable *simmm_mm_pgtable(struct simmm_mm *mm)
{
	return simmm__mm_ok(mm) ? mm->pgt : NULL;
}

/* ---- counters ------------------------------------------------------------------ */

int simmm_mm_stats(const struct simmm_mm *mm, struct simmm_mm_stats *out)
{
	if (!simmm__mm_ok(mm) || !out)
		return -EINVAL;
	*out = mm->stats;
	out->pgtable_pages = mm->pgt ? simmm_pgtable_nr_tables(mm->pgt) : 0;
	out->nr_vmas = mm->vmas.count;
	out->locked_vm = mm->locked_vm;
	return 0;
}

void simmm__mm_stat_add(struct simmm_mm *mm, int64_t *counter, int64_t delta)
{
	(void)mm;
	*counter += delta;
}

int64_t *simmm__mm_counter(struct simmm_mm *mm, const struct simmm_page *folio)
{
	/* mm_counter(): anon first (PageAnon), then swap-backed (shmem). */
	if (folio->flags & PG_anon)
		return &mm->stats.rss_anon;
	if (folio->flags & PG_swapbacked)
		return &mm->stats.rss_shmem;
	return &mm->stats.rss_file;
}

void simmm__rss_add(struct simmm_mm *mm, struct simmm_vma *vma, const struct simmm_page *folio,
		    int64_t nr)
{
	if (vma && (vma->vm_flags & SIMMM_VM_HUGETLB))
		return;
	*simmm__mm_counter(mm, folio) += nr;
}

/* ---- the mmap lock -------------------------------------------------------------- */

int simmm_mmap_read_lock(struct simmm_mm *mm)
{
	return simmm__mm_ok(mm) ? simmm_down_read(mm->sim, &mm->mmap_lock) : -EINVAL;
}

int simmm_mmap_read_unlock(struct simmm_mm *mm)
{
	return simmm__mm_ok(mm) ? simmm_up_read(mm->sim, &mm->mmap_lock) : -EINVAL;
}

int simmm_mmap_write_lock(struct simmm_mm *mm)
{
	return simmm__mm_ok(mm) ? simmm_down_write(mm->sim, &mm->mmap_lock) : -EINVAL;
}

int simmm_mmap_write_unlock(struct simmm_mm *mm)
{
	return simmm__mm_ok(mm) ? simmm_up_write(mm->sim, &mm->mmap_lock) : -EINVAL;
}

/* ---- folio lock ------------------------------------------------------------------- */

int simmm__folio_lock(simmm_sim *sim, struct simmm_page *folio)
{
	return simmm_bit_lock(sim, &folio->flags, PG_locked, folio->pfn);
}

bool simmm__folio_trylock(simmm_sim *sim, struct simmm_page *folio)
{
	return simmm_bit_trylock(sim, &folio->flags, PG_locked, folio->pfn) == 1;
}

bool simmm__folio_trylock_atomic(simmm_sim *sim, struct simmm_page *folio)
{
	return simmm__bit_trylock_atomic(sim, &folio->flags, PG_locked, folio->pfn) == 1;
}

void simmm__folio_unlock(simmm_sim *sim, struct simmm_page *folio)
{
	simmm_bit_unlock(sim, &folio->flags, PG_locked, folio->pfn);
}

/*
 * folio_unlock(); folio_put(): the pair do_swap_page() ends a device-private
 * fault with and migrate_device_finalize() releases a source or destination
 * with. Neither sleeps, so upstream the reference outlives the lock for an
 * instant. simmm's unlock is a scheduling point; with the put after it, a
 * task preempted there kept a reference nobody waits for, and another CPU's
 * fault on the folio (a migration or a device THP split failing its
 * refcount check on it) refaulted in vain for as long as the schedule
 * wanted: with a driver that does not back off (lib/test_hmm's), a
 * livelock (found by fuzz_races: -EDEADLK from simmm_mm_access()). The
 * scheduling point now comes after the put.
 */
void simmm__folio_unlock_put(simmm_sim *sim, struct simmm_page *folio)
{
	simmm__bit_unlock_nosched(sim, &folio->flags, PG_locked, folio->pfn);
	simmm__put_user_folio(sim, folio);
	simmm_sched_point(sim, "folio_unlock_put");
}
