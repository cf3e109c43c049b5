/* SPDX-License-Identifier: MIT */
/*
 * NDJSON line framing (see ndjson.h). Whole lines inside a chunk are
 * reported straight from the caller's buffer; only a line split across
 * chunks is copied, and never past the cap. Pure.
 */
#include "core/ndjson.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

void ndjson_init(struct ndjson *f, size_t max_line_bytes)
{
	memset(f, 0, sizeof(*f));
	f->max_line_bytes = max_line_bytes;
}

void ndjson_fini(struct ndjson *f)
{
	free(f->line);
	f->line = NULL;
	f->len = 0;
	f->cap = 0;
}

void ndjson_reset(struct ndjson *f)
{
	if (f->len > 0 || f->skipping) {
		f->partial++;
	}
	f->len = 0;
	f->skipping = false;
}

size_t ndjson_pending(const struct ndjson *f)
{
	return f->len;
}

static bool is_blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') {
			return false;
		}
	}
	return true;
}

static void emit(struct ndjson *f, const char *p, size_t n,
		 ndjson_line_fn *on_line, void *arg)
{
	if (n > 0 && p[n - 1] == '\r') {
		n--;
	}
	if (is_blank(p, n)) {
		f->keepalives++;
		return;
	}
	/* The cap applies to the content, "\r" excluded. */
	if (n > f->max_line_bytes) {
		f->overlong++;
		return;
	}
	f->lines++;
	on_line(arg, p, n);
}

/* Holds a partial line; past the cap (+1 for a "\r" that may end it) the
 * line is skipped instead, so memory stays bounded. */
static void hold(struct ndjson *f, const char *p, size_t n)
{
	size_t need;

	if (f->skipping) {
		return;
	}
	need = f->len + n;
	if (need > f->max_line_bytes + 1) {
		f->skipping = true;
		f->len = 0;
		return;
	}
	if (need > f->cap) {
		size_t c = f->cap ? f->cap : 1024;

		while (c < need) {
			c *= 2;
		}
		f->line = xrealloc(f->line, c);
		f->cap = c;
	}
	memcpy(f->line + f->len, p, n);
	f->len = need;
}

void ndjson_feed(struct ndjson *f, const char *buf, size_t n,
		 ndjson_line_fn *on_line, void *arg)
{
	const char *p = buf;
	const char *end = buf + n;
	const char *nl;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			hold(f, p, (size_t)(end - p));
			return;
		}
		if (f->skipping) {
			f->skipping = false;
			f->overlong++;
		} else if (f->len == 0) {
			emit(f, p, (size_t)(nl - p), on_line, arg);
		} else {
			hold(f, p, (size_t)(nl - p));
			if (f->skipping) {
				f->skipping = false;
				f->overlong++;
			} else {
				emit(f, f->line, f->len, on_line, arg);
			}
			f->len = 0;
		}
		p = nl + 1;
	}
}
