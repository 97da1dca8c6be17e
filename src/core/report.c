// SPDX-License-Identifier: MIT
/*
 * The report log: invariant violations, API misuse, leaks, lockdep and
 * deadlock reports. Reports never stop the simulation; tests assert that
 * none happened (or that the expected one did).
 */
#include <string.h>

#include "core/internal.h"

#define REPORT_MAX (64u * 1024u)

void simmm__report(simmm_sim *sim, enum simmm_report_kind kind, const char *fmt, ...)
{
	struct simmm_report_state *r = &sim->reports;
	static const char *const kinds[] = {"?", "invariant", "misuse", "leak",
					    "lockdep", "deadlock", "warn"};
	char line[1024];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "[%s] ",
		     (unsigned)kind < SIMMM_ARRAY_SIZE(kinds) ? kinds[kind] : "?");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	line[n++] = '\n';
	line[n] = '\0';

	r->count++;
	r->by_kind[(unsigned)kind < SIMMM_ARRAY_SIZE(r->by_kind) ? kind : 0]++;
	simmm__trace(sim, SIMMM_EV_REPORT, 0, 0, kind, r->count);

	if (!r->buf) {
		/* The log is diagnostics, not simulated state: allocating it
		 * must not be subject to failure injection. */
		r->buf = simmm__zalloc_nofail(sim, SIMMM_ALLOC_META, REPORT_MAX + 1);
		r->len = 0;
	}
	if ((size_t)n > REPORT_MAX)
		n = REPORT_MAX;
	if (r->len + (size_t)n > REPORT_MAX) {
		/* Drop the oldest text, at a line boundary. */
		size_t drop = r->len + (size_t)n - REPORT_MAX;
		char *nl = memchr(r->buf + drop, '\n', r->len - drop);
		drop = nl ? (size_t)(nl - r->buf) + 1 : r->len;
		memmove(r->buf, r->buf + drop, r->len - drop);
		r->len -= drop;
	}
	memcpy(r->buf + r->len, line, (size_t)n);
	r->len += (size_t)n;
	r->buf[r->len] = '\0';
}

void simmm__reports_fini(simmm_sim *sim)
{
	struct simmm_report_state *r = &sim->reports;
	if (r->buf)
		simmm__free(sim, SIMMM_ALLOC_META, r->buf, REPORT_MAX + 1);
	r->buf = NULL;
}

const char *simmm_reports(const simmm_sim *sim, uint64_t *count)
{
	if (!simmm__sim_ok(sim)) {
		if (count)
			*count = 0;
		return "";
	}
	if (count)
		*count = sim->reports.count;
	return sim->reports.buf ? sim->reports.buf : "";
}

uint64_t simmm_reports_count(const simmm_sim *sim, enum simmm_report_kind kind)
{
	if (!simmm__sim_ok(sim))
		return 0;
	if (kind == 0)
		return sim->reports.count;
	return (unsigned)kind < SIMMM_ARRAY_SIZE(sim->reports.by_kind)
		       ? sim->reports.by_kind[kind]
		       : 0;
}

void simmm_reports_clear(simmm_sim *sim)
{
	if (!simmm__sim_ok(sim))
		return;
	sim->reports.count = 0;
	memset(sim->reports.by_kind, 0, sizeof(sim->reports.by_kind));
	sim->reports.len = 0;
	if (sim->reports.buf)
		sim->reports.buf[0] = '\0';
}
