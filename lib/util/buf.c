/* SPDX-License-Identifier: MIT */
/* Capped growable buffer; see buf.h. */
#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max_bytes)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max_bytes;
}

void buf_fini(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL) {
		b->data[0] = '\0';
	}
}

static int reserve(struct buf *b, size_t extra)
{
	size_t want;

	if (extra > b->max || b->len > b->max - extra) {
		return -1;
	}
	want = b->len + extra + 1;
	if (want <= b->cap) {
		return 0;
	}
	if (b->cap == 0) {
		b->cap = 64;
	}
	while (b->cap < want) {
		b->cap *= 2;
	}
	b->data = xrealloc(b->data, b->cap);
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (reserve(b, n) < 0) {
		return -1;
	}
	if (n > 0) {
		memcpy(b->data + b->len, p, n);
	}
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_putc(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || reserve(b, (size_t)n) < 0) {
		return -1;
	}
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

char *buf_steal(struct buf *b, size_t *len_out)
{
	char *p = b->data;

	if (p == NULL) {
		p = xstrdup("");
	}
	if (len_out != NULL) {
		*len_out = b->len;
	}
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
