/* SPDX-License-Identifier: MIT */
/*
 * Incremental Server-Sent Events parser (WHATWG HTML §9.2.6): byte chunks
 * of any size in, one callback per dispatched event out. Knows the whole
 * framing: CRLF/LF/CR line ends, a leading BOM, comments, fields without a
 * colon, multi-line data, id and retry. Pure; sizes are capped.
 */
#ifndef HARK_CORE_SSE_H
#define HARK_CORE_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/xalloc.h"

#define SSE_MAX_ID_BYTES 1024

struct sse_event {
	const char *type; /* "message" when the stream named none */
	const char *data; /* data lines joined by '\n', NUL-terminated */
	size_t data_len;
	const char *id; /* the last event id at dispatch ("" if none) */
};

/* Borrowed event, valid during the call only. */
typedef void sse_event_fn(void *arg, const struct sse_event *ev);

struct sse_parser {
	sse_event_fn *on_event;
	void *arg;
	size_t max_line_bytes; /* a longer line is dropped to its end */
	size_t max_data_bytes; /* an event with more data is dropped */
	char *line;            /* owned: the partial line */
	size_t line_len;
	size_t line_cap;
	char *data; /* owned: the event being built */
	size_t data_len;
	size_t data_cap;
	bool has_data;
	bool data_over; /* this event went past max_data_bytes */
	char event[64];
	char id_buf[SSE_MAX_ID_BYTES + 1];  /* set by "id:" lines */
	char last_id[SSE_MAX_ID_BYTES + 1]; /* committed at each blank line:
					     * what Last-Event-ID sends */
	int64_t retry_ms; /* last "retry:" value, -1 if none */
	bool bom_checked;
	bool after_cr;     /* last byte was CR: a following LF is its pair */
	bool skipping;     /* inside an over-long line */
	uint64_t events;   /* dispatched */
	uint64_t comments; /* ":…" lines, e.g. ":thump" keep-alives */
	uint64_t dropped;  /* lines or events over a cap */
};

void sse_init(struct sse_parser *p, size_t max_line_bytes,
	      size_t max_data_bytes, sse_event_fn *on_event, void *arg);
void sse_fini(struct sse_parser *p);
/* Feeds n bytes; on_event may fire any number of times. */
void sse_feed(struct sse_parser *p, const char *buf, size_t n);
/*
 * The stream ended (or the connection dropped): an incomplete event is
 * discarded, as the spec says, with an id it set; last_id and retry are
 * kept for the next connection, and the BOM check restarts.
 */
void sse_reset(struct sse_parser *p);

#endif
