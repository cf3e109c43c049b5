/* SPDX-License-Identifier: MIT */
/*
 * The HTTP API on evhttp (DESIGN §7): /healthz, /readyz, /metrics,
 * /v1/rules and POST /v1/mentions (bearer token, body limit). Runs on the
 * loop; every handler answers before it returns.
 */
#ifndef HARK_IO_API_H
#define HARK_IO_API_H

#include <stdint.h>

#include "io/httpgate.h"
#include "util/xalloc.h"

struct event_base;
struct hark;
struct api;

/*
 * Binds listen ("host:port"; port 0 picks one, logged) and serves h
 * (borrowed) within the connection limits lim (copied). Returns NULL with
 * a logged reason when binding fails.
 */
struct api *api_start(struct event_base *base, struct hark *h,
		      const char *listen, const char *token,
		      uint64_t max_body_bytes,
		      const struct httpgate_limits *lim);
/* Connections open and turned away (for /metrics). */
struct httpgate_stats api_gate_stats(const struct api *a);
/* The bound port. */
int api_port(const struct api *a);
/* Stops accepting requests and frees everything. Accepts NULL. */
void api_free(struct api *a);

#endif
