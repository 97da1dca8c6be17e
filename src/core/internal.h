/* SPDX-License-Identifier: MIT */
/*
 * Internal definitions shared by every simmm subsystem: the simulated
 * machine object, the allocator entry points, trace and report helpers, and
 * the assertion tiers.
 *
 * Naming: public functions are simmm_foo(); internal non-static functions
 * shared between files are simmm__foo() (hidden from the shared library).
 */
#ifndef SIMMM_CORE_INTERNAL_H
#define SIMMM_CORE_INTERNAL_H

#include <simmm/sim.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/rng.h"

/* ---- assertion tiers (style habit 10) ---------------------------------- */

/* An internal invariant that cannot be recovered from: print and abort.
 * Used only where continuing would corrupt memory of the host process. */
#define SIMMM_BUG_ON(cond)                                                    \
	do {                                                                  \
		if (__builtin_expect(!!(cond), 0))                            \
			simmm__bug(__FILE__, __LINE__, #cond);                \
	} while (0)

/* Defensive checks that "cannot" fail: asserted in debug builds, still
 * evaluated (and so still protective) in release builds. */
#ifdef NDEBUG
/* Functions, not bare (x): usable as statements without unused-value
 * warnings, and still evaluated for their protective effect. */
static inline bool simmm__always(bool x) { return x; }
#define ALWAYS(x) simmm__always(!!(x))
#define NEVER(x) simmm__always(!!(x))
#else
#define ALWAYS(x) ((x) ? 1 : (simmm__bug(__FILE__, __LINE__, #x), 0))
#define NEVER(x) ((x) ? (simmm__bug(__FILE__, __LINE__, #x), 1) : 0)
#endif

#define SIMMM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SIMMM_LIKELY(x) __builtin_expect(!!(x), 1)
#define SIMMM_NOINLINE __attribute__((noinline))
/* For the small helpers called in every walk step. Under the sanitizers
 * (the fuzz build: ASan + UBSan + sancov) clang leaves them out of line,
 * and each call then also pays a coverage counter and a stack-depth
 * probe: force them in there. Optimised builds inline the tiny ones on
 * their own, and forcing pt_child() into every walker cost the gcc build
 * ~15 % on migrate.to_device_1g, so they keep the compiler's choice. */
/* SIMMM_HAVE_ASAN: this translation unit is compiled with AddressSanitizer
 * (whatever the build defines): fiber switches must be announced to it
 * and cached blocks poisoned. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIMMM_HAVE_ASAN 1
#endif
#endif
#if !defined(SIMMM_HAVE_ASAN) && defined(__SANITIZE_ADDRESS__)
#define SIMMM_HAVE_ASAN 1
#endif

#ifdef SIMMM_ASAN
#define SIMMM_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define SIMMM_ALWAYS_INLINE inline
#endif
#define SIMMM_PRINTF(a, b) __attribute__((format(printf, a, b)))

#define SIMMM_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

_Noreturn void simmm__bug(const char *file, int line, const char *what);

/* ---- the simulated machine -------------------------------------------- */

#define SIMMM_MAGIC 0x53494d4du      /* "SIMM" */
#define SIMMM_MAGIC_DEAD 0xdeadd00du

typedef int (*simmm_checker_fn)(simmm_sim *sim, void *arg);
typedef void (*simmm_fini_fn)(simmm_sim *sim, void *arg);

struct simmm_phys;   /* src/page/   */
struct simmm_sched;  /* src/core/sched*.c */

/* simmm_bit_trylock() without its scheduling point, for a trylock the
 * kernel makes under a spinlock (trylock_page() under the PTL): simmm
 * gives the spinlock's atomicity by not switching, so the trylock must not
 * switch either. 1 taken, 0 busy, -EINVAL. */
int simmm__bit_trylock_atomic(simmm_sim *sim, uint32_t *word, uint32_t mask, uint64_t key);
/* simmm_bit_unlock() without its scheduling point: the caller has one
 * more thing to do that the kernel does without sleeping (unlock_page();
 * put_page()) and takes the point after it. 0, -EINVAL, -EPERM. */
int simmm__bit_unlock_nosched(simmm_sim *sim, uint32_t *word, uint32_t mask, uint64_t key);
/* Wait for one unlock of a set bit, never reading @word after the wait
 * began (DROP: the caller holds no reference); 0 at once when clear.
 * Context: a task; may sleep. */
int simmm__bit_wait_unlocked_drop(simmm_sim *sim, uint32_t *word, uint32_t mask, uint64_t key);
/* How many of the current task's blocking waits another task has ended (a
 * wake, not a timeout); 0 outside a task. Progress made elsewhere. */
uint64_t simmm__sched_nr_woken(simmm_sim *sim);
/* Whether a task other than the current one can still run without anyone
 * waking it: runnable, or asleep on a timer. false outside a task. A task
 * retrying something another task must finish is not stuck while this
 * holds: the other task will run (on real hardware, at once on another
 * CPU; here, when the schedule picks it). */
bool simmm__sched_others_can_run(simmm_sim *sim);
/* The flags word of the current context: the running task's, or outside
 * tasks the main context's (kept in struct simmm_sim, so that it needs no
 * scheduler). The kernel's current->flags, for bits the upper layers own
 * (src/mm's PF_MEMALLOC); core only stores it: 0 when a task is spawned,
 * gone when it ends. Never NULL for a valid @sim. */
uint32_t *simmm__task_flags(simmm_sim *sim);


struct simmm_hook {
	const char *name;
	void *fn;
	void *arg;
};

/* Page contents and table-entry arrays are freed and reallocated all the
 * time (reclaim, swap-in, zap, refault): keep this many page-sized blocks
 * per instance instead of returning them to the backend. */
#define SIMMM_PAGEBUF_CACHE 64

struct simmm_alloc_state {
	enum simmm_allocator_kind kind;
	struct simmm_allocator backend; /* resolved vtable */
	unsigned arena;                 /* jemalloc arena index */
	bool have_arena;
	struct simmm_fault_config fault;
	uint64_t fault_count;           /* allocations seen since fault set */
	uint64_t fault_hits;
	struct simmm_rng fault_rng;
	uint64_t live_bytes[SIMMM_ALLOC_NR_CATS];
	uint64_t peak_bytes[SIMMM_ALLOC_NR_CATS];
	uint64_t live_allocs;
	uint64_t total_allocs;
	/* Page-sized blocks freed back and kept for reuse (src/core/alloc.c):
	 * a FIFO ring of up to SIMMM_PAGEBUF_CACHE blocks of pagebuf_size
	 * bytes; pagebuf_size 0 when the backend is the user's. */
	size_t pagebuf_size;
	uint32_t pagebuf_head, pagebuf_nr;
	void *pagebuf[SIMMM_PAGEBUF_CACHE];
};

struct simmm_trace_state {
	struct simmm_trace_event *ring; /* power-of-two sized */
	uint32_t mask;
	uint64_t seq;
	uint64_t hash;
	simmm_trace_fn cb;
	void *cb_arg;
};

struct simmm_report_state {
	char *buf;      /* NUL-terminated log, at most REPORT_MAX bytes */
	size_t len;
	uint64_t count;
	uint64_t by_kind[8];
};

struct simmm_sim {
	uint32_t magic;
	uint32_t flags;                 /* SIMMM_CFG_* */
	struct simmm_geometry geo;
	uint64_t page_size;             /* 1 << geo.page_shift */
	uint64_t ram_pages;
	uint64_t swap_pages;
	uint64_t seed;
	struct simmm_rng rng;

	struct simmm_alloc_state alloc;
	struct simmm_trace_state trace;
	struct simmm_report_state reports;

	struct simmm_phys *phys;        /* physical memory (src/page) */
	/* phys->sections, mirrored here so that simmm__pfn_to_page() can be
	 * an inline two-load lookup for RAM pfns (it is the hottest helper
	 * of every page-table and rmap walk); set and cleared by
	 * src/page/memmap.c only. */
	struct simmm_page **memmap;

	/* The deterministic scheduler, created on first use so that code
	 * that never spawns a task pays nothing (src/core/sched.c). */
	struct simmm_sched *sched;
	simmm_fini_fn sched_fini;       /* runs after all other finalisers */
	uint32_t cur_task;              /* id of the running task, 0 = none */
	uint32_t main_task_flags;       /* simmm__task_flags() outside tasks */

	/* Subsystem hooks, run in registration order (checkers) and in
	 * reverse order (finalisers) so upper layers go first at destroy. */
	struct simmm_hook *checkers;
	unsigned nr_checkers, cap_checkers;
	struct simmm_hook *finis;
	unsigned nr_finis, cap_finis;

	/* src/mm's per-machine state (struct simmm_mm_global), found on
	 * every fault, reclaim and rmap step: set and cleared by src/mm/mm.c
	 * only (the core never reads it), alongside that layer's "mm"
	 * finaliser. */
	void *mm_state;
};

/* Validates a sim pointer at public entry points. */
static inline bool simmm__sim_ok(const simmm_sim *sim)
{
	return sim && sim->magic == SIMMM_MAGIC;
}

/* ---- allocator (src/core/alloc.c) ------------------------------------- */

/* May fail through the injector; returns NULL (callers return -ENOMEM). */
void *simmm__malloc(simmm_sim *sim, enum simmm_alloc_cat cat, size_t size);
void *simmm__zalloc(simmm_sim *sim, enum simmm_alloc_cat cat, size_t size);
/* For paths that must not fail (freeing, teardown bookkeeping): bypasses
 * the injector; a host out-of-memory aborts. */
void *simmm__zalloc_nofail(simmm_sim *sim, enum simmm_alloc_cat cat, size_t size);
void simmm__free(simmm_sim *sim, enum simmm_alloc_cat cat, void *ptr, size_t size);
/* Grow an array to at least @need elements (doubling); 0 or -ENOMEM.
 * On failure the array is unchanged. */
int simmm__grow(simmm_sim *sim, enum simmm_alloc_cat cat, void **arr,
		size_t elem, size_t *cap, size_t need, bool nofail);
int simmm__alloc_init(simmm_sim *sim, const simmm_config *cfg);
/* Returns leaked allocations beyond @expected_live; releases the arena. */
int simmm__alloc_fini(struct simmm_alloc_state *a, uint64_t expected_live, bool quiet);

/* ---- trace and reports (src/core/trace.c, report.c) -------------------- */

void simmm__trace(simmm_sim *sim, uint32_t type, uint64_t addr, uint64_t pfn,
		  uint64_t arg0, uint64_t arg1);
int simmm__trace_init(simmm_sim *sim, const simmm_config *cfg);
void simmm__trace_fini(simmm_sim *sim);

void simmm__report(simmm_sim *sim, enum simmm_report_kind kind, const char *fmt, ...)
	SIMMM_PRINTF(3, 4);
void simmm__reports_fini(simmm_sim *sim);

/* ---- page tables (src/pgtable/pgtable.c) -------------------------------- */

struct simmm_pgtable;
struct simmm_translation;
/* simmm_pgtable_translate() that also returns, on success, the leaf's slot
 * (what simmm_pgtable_lookup() at out->level would return) in one walk. */
int simmm__pgtable_translate_slot(struct simmm_pgtable *pt, simmm_addr_t addr,
				  struct simmm_translation *out, uint64_t **slot);

/* Deposited page tables (src/pgtable/deposit.c): pte_alloc_one(),
 * pte_free(), pgtable_trans_huge_deposit()/withdraw() on the PMD table
 * holding the PMD entry of @addr, the split of a PMD entry into a
 * withdrawn table, and the collapse that deposits the old table. */
struct simmm_page;
struct simmm_page *simmm__pte_alloc_one(struct simmm_pgtable *pt);
void simmm__pte_free(struct simmm_pgtable *pt, struct simmm_page *tbl);
void simmm__pgtable_deposit(struct simmm_pgtable *pt, simmm_addr_t addr, struct simmm_page *tbl);
struct simmm_page *simmm__pgtable_withdraw(struct simmm_pgtable *pt, simmm_addr_t addr);
uint64_t simmm__pgtable_nr_deposited(struct simmm_pgtable *pt, simmm_addr_t addr,
				     simmm_pfn_t *table);
uint64_t simmm__pgtable_deposited_total(const struct simmm_pgtable *pt);
int simmm__pgtable_split_deposited(struct simmm_pgtable *pt, simmm_addr_t addr);
int simmm__pgtable_collapse_deposit(struct simmm_pgtable *pt, simmm_addr_t addr);
/* move_huge_pmd()'s deposit move between PMD tables (deposit.c). */
int simmm__pgtable_move_deposit(struct simmm_pgtable *pt, simmm_addr_t old, simmm_addr_t new);
/* move_normal_pmd()/move_normal_pud(): move a whole table (move.c). */
int simmm__pgtable_move_table(struct simmm_pgtable *pt, simmm_addr_t old, simmm_addr_t new,
			      enum simmm_level lvl);
/*
 * simmm_pgtable_teardown() that leaves in place the leaves @keep answers
 * true for (teardown.c): they are neither cleared nor reported to @fn, and
 * a table holding one is not freed. @keep gets @arg, the leaf's first
 * address, its level and the entry (a simmm_entry_t); NULL keeps nothing. The upper layer's
 * zap_page_range_single(), whose zap keeps guard markers
 * (ZAP_FLAG_DROP_MARKER unset); this layer knows no reason to keep one.
 */
typedef bool (*simmm_pt_keep_fn)(void *arg, simmm_addr_t addr, enum simmm_level lvl,
				 uint64_t e);
int simmm__pgtable_teardown_keep(struct simmm_pgtable *pt, simmm_addr_t start, simmm_addr_t end,
				 void (*fn)(void *arg, simmm_addr_t addr, enum simmm_level lvl,
					    uint64_t old),
				 simmm_pt_keep_fn keep, void *arg);

/* ---- subsystem hooks (src/core/sim.c) ---------------------------------- */

/* A checker returns the number of violations it reported. */
int simmm__add_checker(simmm_sim *sim, const char *name, simmm_checker_fn fn, void *arg);
void simmm__remove_checker(simmm_sim *sim, simmm_checker_fn fn, void *arg);
/* A finaliser runs at destroy, before physical memory is torn down. */
int simmm__add_fini(simmm_sim *sim, const char *name, simmm_fini_fn fn, void *arg);
void simmm__remove_fini(simmm_sim *sim, simmm_fini_fn fn, void *arg);

#endif
