/* SPDX-License-Identifier: MIT */
/*
 * A bounded text appender with snprintf semantics: output is truncated to
 * the buffer (always NUL-terminated when it has room for one byte), while
 * pos keeps counting the full length so callers can size a second try.
 */
#ifndef SIMMM_PGTABLE_TEXTBUF_H
#define SIMMM_PGTABLE_TEXTBUF_H

#include <simmm/pgtable.h>
#include <stdarg.h>
#include <stdio.h>

#include "core/internal.h"

struct textbuf {
	char *buf;
	size_t len;
	size_t pos;  /* full length so far (may exceed len) */
};

static inline void tb_init(struct textbuf *t, char *buf, size_t len)
{
	t->buf = buf;
	t->len = len;
	t->pos = 0;
	if (len)
		buf[0] = '\0';
}

SIMMM_PRINTF(2, 3)
static inline void tb_printf(struct textbuf *t, const char *fmt, ...)
{
	char *at = t->pos < t->len ? t->buf + t->pos : NULL;
	size_t room = at ? t->len - t->pos : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(at, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->pos += (size_t)n;
}

/* One line of entry text (src/pgtable/entry.c). */
void pt_format_entry(struct textbuf *t, const struct simmm_geometry *g, enum simmm_level lvl,
		     simmm_entry_t e);

#endif
