// SPDX-License-Identifier: MIT
/*
 * The trace: every event gets a sequence number, is hashed into a running
 * digest (so determinism tests compare one number), offered to the user's
 * callback and stored in a power-of-two ring that keeps the newest events.
 */
#include <inttypes.h>
#include <string.h>

#include "core/internal.h"

#define TRACE_RING_DEFAULT 4096u
#define TRACE_RING_MAX (1u << 24)

int simmm__trace_init(simmm_sim *sim, const simmm_config *cfg)
{
	struct simmm_trace_state *t = &sim->trace;
	uint32_t n = cfg->trace_ring ? cfg->trace_ring : TRACE_RING_DEFAULT;

	if (n > TRACE_RING_MAX)
		return -EINVAL;
	/* Round up to a power of two so the index is a mask. */
	uint32_t size = 1;
	while (size < n)
		size <<= 1;
	t->ring = simmm__zalloc(sim, SIMMM_ALLOC_META, size * sizeof(*t->ring));
	if (!t->ring)
		return -ENOMEM;
	t->mask = size - 1;
	t->hash = 0xcbf29ce484222325ULL;
	t->cb = cfg->trace_cb;
	t->cb_arg = cfg->trace_arg;
	return 0;
}

void simmm__trace_fini(simmm_sim *sim)
{
	struct simmm_trace_state *t = &sim->trace;
	if (t->ring)
		simmm__free(sim, SIMMM_ALLOC_META, t->ring, (t->mask + 1) * sizeof(*t->ring));
	t->ring = NULL;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x100000001b3ULL;
	return h ^ (h >> 29);
}

void simmm__trace(simmm_sim *sim, uint32_t type, uint64_t addr, uint64_t pfn,
		  uint64_t arg0, uint64_t arg1)
{
	struct simmm_trace_state *t = &sim->trace;
	struct simmm_trace_event *ev;

	if (SIMMM_UNLIKELY(!t->ring))
		return; /* during create, before the ring exists */
	ev = &t->ring[t->seq & t->mask];
	ev->seq = ++t->seq;
	ev->type = type;
	ev->task = sim->cur_task;
	ev->addr = addr;
	ev->pfn = pfn;
	ev->arg0 = arg0;
	ev->arg1 = arg1;
	t->hash = mix(mix(mix(mix(mix(mix(t->hash, ev->seq), type | (uint64_t)ev->task << 32),
				  addr), pfn), arg0), arg1);
	if (t->cb)
		t->cb(t->cb_arg, ev);
}

int simmm_trace_set_callback(simmm_sim *sim, simmm_trace_fn fn, void *arg)
{
	if (!simmm__sim_ok(sim))
		return -EINVAL;
	sim->trace.cb = fn;
	sim->trace.cb_arg = arg;
	return 0;
}

long simmm_trace_read(const simmm_sim *sim, struct simmm_trace_event *out, size_t max)
{
	const struct simmm_trace_state *t;
	uint64_t have, first;

	if (!simmm__sim_ok(sim) || (!out && max))
		return -EINVAL;
	t = &sim->trace;
	have = t->seq < (uint64_t)t->mask + 1 ? t->seq : (uint64_t)t->mask + 1;
	if (have > max)
		have = max;
	first = t->seq - have;
	for (uint64_t i = 0; i < have; i++)
		out[i] = t->ring[(first + i) & t->mask];
	return (long)have;
}

uint64_t simmm_trace_count(const simmm_sim *sim)
{
	return simmm__sim_ok(sim) ? sim->trace.seq : 0;
}

uint64_t simmm_trace_hash(const simmm_sim *sim)
{
	return simmm__sim_ok(sim) ? sim->trace.hash : 0;
}

struct type_name {
	uint32_t type;
	const char *name;
};

static const struct type_name type_names[] = {
	{SIMMM_EV_SIM_CREATE, "sim_create"},
	{SIMMM_EV_SIM_DESTROY, "sim_destroy"},
	{SIMMM_EV_ALLOC_FAIL, "alloc_fail"},
	{SIMMM_EV_REPORT, "report"},
	{SIMMM_EV_PAGE_ALLOC, "page_alloc"},
	{SIMMM_EV_PAGE_FREE, "page_free"},
	{SIMMM_EV_PT_ALLOC, "pt_alloc"},
	{SIMMM_EV_PT_FREE, "pt_free"},
	{SIMMM_EV_PT_SET, "pt_set"},
	{SIMMM_EV_PT_CLEAR, "pt_clear"},
	{SIMMM_EV_PT_SPLIT, "pt_split"},
	{SIMMM_EV_PT_COLLAPSE, "pt_collapse"},
	{SIMMM_EV_TASK_SPAWN, "task_spawn"},
	{SIMMM_EV_TASK_SWITCH, "task_switch"},
	{SIMMM_EV_TASK_EXIT, "task_exit"},
	{SIMMM_EV_LOCK_ACQUIRE, "lock_acquire"},
	{SIMMM_EV_LOCK_CONTEND, "lock_contend"},
	{SIMMM_EV_LOCK_RELEASE, "lock_release"},
	{SIMMM_EV_WAIT, "wait"},
	{SIMMM_EV_WAKE, "wake"},
	{SIMMM_EV_YIELD, "yield"},
	/* The notifier layer's events (SIMMM_EV_MN_* in <simmm/mmu_notifier.h>),
	 * numbered from SIMMM_EV_NOTIFIER_BASE; named here so the core never
	 * calls up into that layer. */
	{SIMMM_EV_NOTIFIER_BASE + 0, "mn_start"},
	{SIMMM_EV_NOTIFIER_BASE + 1, "mn_end"},
	{SIMMM_EV_NOTIFIER_BASE + 2, "mn_start_fail"},
	{SIMMM_EV_NOTIFIER_BASE + 3, "mn_invalidate"},
	{SIMMM_EV_NOTIFIER_BASE + 4, "mn_release"},
	{SIMMM_EV_NOTIFIER_BASE + 5, "mn_read_begin_wait"},
	{SIMMM_EV_NOTIFIER_BASE + 6, "mn_register"},
	{SIMMM_EV_NOTIFIER_BASE + 7, "mn_unregister"},
	{SIMMM_EV_NOTIFIER_BASE + 8, "mn_insert"},
	{SIMMM_EV_NOTIFIER_BASE + 9, "mn_remove"},
};

const char *simmm_trace_type_name(uint32_t type)
{
	for (unsigned i = 0; i < SIMMM_ARRAY_SIZE(type_names); i++)
		if (type_names[i].type == type)
			return type_names[i].name;
	return "?";
}

int simmm_trace_format(const struct simmm_trace_event *ev, char *buf, size_t len)
{
	if (!ev || (!buf && len))
		return -EINVAL;
	return snprintf(buf, len,
			"#%" PRIu64 " task=%u %s addr=0x%" PRIx64 " pfn=0x%" PRIx64
			" a0=0x%" PRIx64 " a1=0x%" PRIx64,
			ev->seq, ev->task, simmm_trace_type_name(ev->type), ev->addr, ev->pfn,
			ev->arg0, ev->arg1);
}
