/* SPDX-License-Identifier: MIT */
/*
 * Line framing for NDJSON streams: byte chunks of any size in, complete
 * lines out. "\n" and "\r\n" end a line; blank lines (keep-alives) are
 * counted, not reported; a line over the cap is skipped to its end without
 * being buffered; a partial line is held until its newline, and dropped
 * if the stream ends first. Pure.
 */
#ifndef HARK_CORE_NDJSON_H
#define HARK_CORE_NDJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* line (len bytes, no line end, not NUL-terminated) is borrowed for the
 * call only. */
typedef void ndjson_line_fn(void *arg, const char *line, size_t len);

struct ndjson {
	size_t max_line_bytes;
	char *line; /* owned: the partial line */
	size_t len;
	size_t cap;
	bool skipping;       /* inside an over-long line */
	uint64_t lines;      /* reported */
	uint64_t keepalives; /* blank lines */
	uint64_t overlong;   /* skipped over max_line_bytes */
	uint64_t partial;    /* partial lines dropped by ndjson_reset */
};

void ndjson_init(struct ndjson *f, size_t max_line_bytes);
void ndjson_fini(struct ndjson *f);
/* Frames n bytes, calling on_line for every complete non-blank line. */
void ndjson_feed(struct ndjson *f, const char *buf, size_t n,
		 ndjson_line_fn *on_line, void *arg);
/* The stream ended or the connection dropped: forget the partial line
 * (counted in partial when there was one). */
void ndjson_reset(struct ndjson *f);
/* Bytes of the partial line held now. */
size_t ndjson_pending(const struct ndjson *f);

#endif
