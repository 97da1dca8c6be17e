/* SPDX-License-Identifier: MIT */
/**
 * DOC: the simulated machine
 *
 * A &simmm_sim is the one object everything hangs off: physical memory, the
 * allocator, the trace, the scheduler, address spaces. simmm has no global
 * mutable state, so two instances used from two threads never interact. An
 * instance itself is single-threaded: simulated concurrency runs on its
 * deterministic scheduler (<simmm/sched.h>), not on OS threads.
 */
#ifndef SIMMM_SIM_H
#define SIMMM_SIM_H

#include <simmm/alloc.h>
#include <simmm/common.h>
#include <simmm/geometry.h>
#include <simmm/trace.h>

#ifdef __cplusplus
extern "C" {
#endif

/* simmm_config.flags */
#define SIMMM_CFG_NO_CONTENTS  (1u << 0) /* pages carry no data (large benchmarks) */
#define SIMMM_CFG_QUIET        (1u << 1) /* destroy does not print leak reports to stderr */

/* Limits checked by simmm_sim_create(). */
#define SIMMM_MIN_RAM_PAGES    16ULL
#define SIMMM_MAX_RAM_BYTES    (1ULL << 48)  /* 256 TiB */
#define SIMMM_MAX_SWAP_BYTES   (1ULL << 44)  /* 16 TiB */

/**
 * struct simmm_config - how to build a simulated machine.
 * @geometry: built-in geometry name (see <simmm/geometry.h>); NULL = default
 *            "x86_64-4level". Ignored when @custom_geometry is set.
 * @custom_geometry: a user-defined geometry, or NULL.
 * @ram_bytes: simulated RAM; a multiple of the page size, at least
 *             SIMMM_MIN_RAM_PAGES pages, at most SIMMM_MAX_RAM_BYTES.
 * @swap_bytes: simulated swap device size (0 = no swap); a page multiple.
 * @seed: every random choice of the instance derives from it.
 * @allocator: backend, see enum simmm_allocator_kind.
 * @custom_allocator: the vtable for SIMMM_ALLOCATOR_CUSTOM.
 * @fault: allocation-failure injection, active from the start of create
 *         (so create's own allocations can be failed, too).
 * @flags: SIMMM_CFG_*.
 * @trace_ring: events kept in the trace ring (0 = 4096; rounded up to a
 *              power of two).
 * @trace_cb: optional trace callback (see simmm_trace_set_callback()).
 * @trace_arg: its argument.
 */
typedef struct simmm_config {
	const char *geometry;
	const struct simmm_geometry_desc *custom_geometry;
	uint64_t ram_bytes;
	uint64_t swap_bytes;
	uint64_t seed;
	enum simmm_allocator_kind allocator;
	const struct simmm_allocator *custom_allocator;
	struct simmm_fault_config fault;
	uint32_t flags;
	uint32_t trace_ring;
	simmm_trace_fn trace_cb;
	void *trace_arg;
} simmm_config;

/**
 * simmm_config_init() - fill @cfg with defaults: x86_64-4level, 1 GiB RAM,
 * 256 MiB swap, seed 1, default allocator, no failure injection.
 * Does nothing for NULL.
 */
SIMMM_API void simmm_config_init(simmm_config *cfg);

/**
 * simmm_sim_create() - build a simulated machine.
 * @cfg: configuration (NULL = defaults of simmm_config_init()).
 * @out: receives the instance; set to NULL on failure.
 *
 * Return: 0 on success;
 * -EINVAL: NULL @out, unknown geometry name, invalid custom geometry, RAM
 *   size zero, below SIMMM_MIN_RAM_PAGES pages, not a page multiple or above
 *   SIMMM_MAX_RAM_BYTES, bad swap size, bad fault settings, a custom
 *   allocator kind without a complete vtable;
 * -EOPNOTSUPP: SIMMM_ALLOCATOR_JEMALLOC in a build without jemalloc;
 * -ENOMEM: the host (or the configured failure injection) refused memory.
 */
SIMMM_API int simmm_sim_create(const simmm_config *cfg, simmm_sim **out);

/**
 * simmm_sim_destroy() - tear a machine down and release everything.
 * @simp: pointer to the instance pointer; *@simp is set to NULL, so a second
 *        destroy through the same pointer is caught.
 *
 * Leaked frames and allocations (what tests and users failed to release)
 * are reported on stderr unless SIMMM_CFG_QUIET, and counted in the return.
 *
 * Return: 0 if nothing leaked; a positive count of leaked objects (frames
 * still referenced + allocations still live) otherwise; -EINVAL for NULL
 * @simp or *@simp (e.g. a double destroy), or an instance whose magic is
 * wrong (not a simmm_sim).
 */
SIMMM_API int simmm_sim_destroy(simmm_sim **simp);

/** simmm_sim_geometry() - the instance's geometry (NULL for NULL). */
SIMMM_API const struct simmm_geometry *simmm_sim_geometry(const simmm_sim *sim);

/** simmm_sim_seed() - the seed the instance was created with (0 for NULL). */
SIMMM_API uint64_t simmm_sim_seed(const simmm_sim *sim);

/**
 * simmm_sim_random() - next value of the instance's deterministic generator
 * (xoshiro256**, seeded from the config seed). Returns 0 for NULL.
 */
SIMMM_API uint64_t simmm_sim_random(simmm_sim *sim);

/**
 * simmm_check() - run the deep invariant checker over all state.
 * @sim: the simulated machine.
 *
 * Checks physical memory (buddy free lists against frame state, refcounts
 * against mapcounts and pins, accounting), page tables, address spaces and
 * every later subsystem that registered a checker. Each violation is added
 * to the instance's report log (simmm_reports()).
 *
 * Return: the number of violations found (0 = clean), or -EINVAL for NULL.
 */
SIMMM_API int simmm_check(simmm_sim *sim);

/**
 * enum simmm_report_kind - what produced a report.
 */
enum simmm_report_kind {
	SIMMM_REPORT_INVARIANT = 1, /* simmm_check() found a violation */
	SIMMM_REPORT_MISUSE,        /* API misuse caught at run time (use after free, ...) */
	SIMMM_REPORT_LEAK,          /* found at destroy */
	SIMMM_REPORT_LOCKDEP,       /* lock checking (see <simmm/sched.h>) */
	SIMMM_REPORT_DEADLOCK,
	SIMMM_REPORT_WARN,          /* a kernel WARN_ON equivalent */
};

/**
 * simmm_reports() - the report log.
 * @sim: the simulated machine.
 * @count: if not NULL, receives the number of reports since create or the
 *         last simmm_reports_clear().
 *
 * Return: the log text, one report per line (kept up to 64 KiB; older text
 * is dropped first), or "" for NULL @sim. Valid until the next call that
 * reports or clears.
 */
SIMMM_API const char *simmm_reports(const simmm_sim *sim, uint64_t *count);

/** simmm_reports_count() - reports of @kind (0 = all kinds) since the last clear. */
SIMMM_API uint64_t simmm_reports_count(const simmm_sim *sim, enum simmm_report_kind kind);

/** simmm_reports_clear() - forget all reports. */
SIMMM_API void simmm_reports_clear(simmm_sim *sim);

#ifdef __cplusplus
}
#endif
#endif
