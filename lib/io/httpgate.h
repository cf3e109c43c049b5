/* SPDX-License-Identifier: MIT */
/*
 * Limits on the API's connections that evhttp 2.1 does not have: a cap on
 * open connections (503 past it), a request line and headers held to
 * HTTPGATE_MAX_HEAD_BYTES (431 past it, read before evhttp sees them) and
 * a deadline for each of them (slowloris). evhttp still parses and answers
 * every request; the gate only watches bytes arrive. Runs on the loop.
 */
#ifndef HARK_IO_HTTPGATE_H
#define HARK_IO_HTTPGATE_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evhttp;
struct httpgate;

/* Request line and headers, CRLFs included, as most servers allow. */
#define HTTPGATE_MAX_HEAD_BYTES 8192
/* After a 431, the rest of the head is read and dropped for this long at
 * most, so that the client sees the answer instead of a reset. */
#define HTTPGATE_LINGER_MS 5000

struct httpgate_limits {
	size_t max_connections;
	int64_t header_timeout_ms;
	int64_t idle_timeout_ms;
};

struct httpgate_stats {
	size_t open;             /* connections now, lingering ones included */
	uint64_t refused;        /* past max_connections */
	uint64_t head_too_large; /* answered 431 */
	uint64_t head_timeouts;  /* closed by header_timeout */
};

/*
 * Puts the limits on http (borrowed; evhttp_free it before
 * httpgate_free). Caller frees with httpgate_free.
 */
struct httpgate *httpgate_new(struct event_base *base, struct evhttp *http,
			      const struct httpgate_limits *l);
/* Frees what the gate still holds; call after evhttp_free. Accepts NULL. */
void httpgate_free(struct httpgate *g);
struct httpgate_stats httpgate_stats(const struct httpgate *g);

#endif
