/* SPDX-License-Identifier: MIT */
/**
 * DOC: trace
 *
 * A structured event stream. Each event has a sequence number (per
 * instance, from 1), a type, the simulated task that caused it (0 when no
 * task runs), an address, a pfn and two type-specific arguments. Events go
 * to an optional user callback and into a bounded ring that keeps the last
 * events. The stream is deterministic: the same seed and inputs give the
 * same events, byte for byte (simmm_trace_hash() digests it).
 */
#ifndef SIMMM_TRACE_H
#define SIMMM_TRACE_H

#include <simmm/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** enum simmm_trace_type - event types; subsystems own the ranges shown. */
enum simmm_trace_type {
	/* core 0x00.. */
	SIMMM_EV_SIM_CREATE = 0x01,
	SIMMM_EV_SIM_DESTROY,
	SIMMM_EV_ALLOC_FAIL,      /* arg0 = size, arg1 = category */
	SIMMM_EV_REPORT,          /* arg0 = report kind */
	/* physical memory 0x10.. */
	SIMMM_EV_PAGE_ALLOC = 0x10, /* pfn, arg0 = order */
	SIMMM_EV_PAGE_FREE,         /* pfn, arg0 = order */
	/* page tables 0x20.. */
	SIMMM_EV_PT_ALLOC = 0x20,   /* addr = start covered, pfn = table, arg0 = level */
	SIMMM_EV_PT_FREE,
	SIMMM_EV_PT_SET,            /* addr, arg0 = level, arg1 = new entry */
	SIMMM_EV_PT_CLEAR,          /* addr, arg0 = level, arg1 = old entry */
	SIMMM_EV_PT_SPLIT,          /* addr, arg0 = level split */
	SIMMM_EV_PT_COLLAPSE,       /* addr, arg0 = level collapsed into */
	/* scheduler 0x30.. */
	SIMMM_EV_TASK_SPAWN = 0x30, /* arg0 = new task id */
	SIMMM_EV_TASK_SWITCH,       /* arg0 = from, arg1 = to */
	SIMMM_EV_TASK_EXIT,
	SIMMM_EV_LOCK_ACQUIRE,      /* addr = lock id, arg0 = lock kind, arg1 = mode */
	SIMMM_EV_LOCK_CONTEND,
	SIMMM_EV_LOCK_RELEASE,
	SIMMM_EV_WAIT,              /* addr = wait object */
	SIMMM_EV_WAKE,
	SIMMM_EV_YIELD,
	/* address spaces 0x40.., notifiers 0x50.., hmm 0x60.., migrate 0x70..,
	 * device 0x80.. are added by those subsystems. */
	SIMMM_EV_MM_BASE = 0x40,
	SIMMM_EV_NOTIFIER_BASE = 0x50,
	SIMMM_EV_HMM_BASE = 0x60,
	SIMMM_EV_MIGRATE_BASE = 0x70,
	SIMMM_EV_DEVICE_BASE = 0x80,
};

/**
 * struct simmm_trace_event - one event.
 */
struct simmm_trace_event {
	uint64_t seq;   /* 1, 2, ... per instance */
	uint32_t type;  /* enum simmm_trace_type */
	uint32_t task;  /* simulated task id, 0 = none */
	uint64_t addr;
	uint64_t pfn;
	uint64_t arg0;
	uint64_t arg1;
};

/** typedef simmm_trace_fn - user callback; runs synchronously, must not call into simmm. */
typedef void (*simmm_trace_fn)(void *arg, const struct simmm_trace_event *ev);

/**
 * simmm_trace_set_callback() - install (or with NULL remove) a trace callback.
 * Return: 0, or -EINVAL for NULL @sim.
 */
SIMMM_API int simmm_trace_set_callback(simmm_sim *sim, simmm_trace_fn fn, void *arg);

/**
 * simmm_trace_read() - copy the newest events out of the ring.
 * @sim: the simulated machine.
 * @out: array of @max events, oldest first.
 * @max: capacity of @out.
 *
 * Return: the number copied (≤ @max and ≤ the ring size), or -EINVAL.
 */
SIMMM_API long simmm_trace_read(const simmm_sim *sim, struct simmm_trace_event *out, size_t max);

/** simmm_trace_count() - events emitted since create (0 for NULL). */
SIMMM_API uint64_t simmm_trace_count(const simmm_sim *sim);

/**
 * simmm_trace_hash() - a 64-bit digest of every event emitted since create.
 * Two runs with the same seed and inputs give the same hash.
 */
SIMMM_API uint64_t simmm_trace_hash(const simmm_sim *sim);

/** simmm_trace_type_name() - "page_alloc", ...; "?" for an unknown type. */
SIMMM_API const char *simmm_trace_type_name(uint32_t type);

/**
 * simmm_trace_format() - one event as a line of text (no newline).
 * Return: as snprintf.
 */
SIMMM_API int simmm_trace_format(const struct simmm_trace_event *ev, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
