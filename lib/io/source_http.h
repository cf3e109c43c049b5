/* SPDX-License-Identifier: MIT */
/*
 * Streaming HTTP sources on libcurl's multi-socket interface driven by the
 * libevent loop: type http-stream (NDJSON over one long response, as the
 * X API v2 filtered stream sends it) and type sse (Server-Sent Events, as
 * Mastodon's streaming API sends them). One CURLM serves every streaming
 * source of the process. Each source reconnects on its own plan, detects
 * stalls, and pauses the transfer while its queue is full. Loop thread only.
 */
#ifndef HARK_IO_SOURCE_HTTP_H
#define HARK_IO_SOURCE_HTTP_H

#include "io/source.h"

struct config_source;
struct event_base;
struct source_http;
struct source_http_multi;

/* A connection that streamed this long resets the reconnect plan. */
#define SOURCE_HTTP_HEALTHY_MS 10000

/* The shared multi handle; free after every source using it. */
struct source_http_multi *source_http_multi_new(struct event_base *base);
void source_http_multi_free(struct source_http_multi *m); /* accepts NULL */

/*
 * Starts source number index (cfg->sources[index], type http-stream or
 * sse; cfg borrowed and must outlive the source): connects at once and
 * keeps reconnecting until source_http_free. env is copied.
 */
struct source_http *source_http_start(struct source_http_multi *m,
				      const struct source_env *env, int index,
				      const struct config_source *cfg);
/* Counters and state now (framing counters included). */
struct source_stats source_http_stats(const struct source_http *s);
/* Last SSE event id seen ("" when none). */
const char *source_http_last_event_id(const struct source_http *s);
/* Disconnects and frees; pending mentions in the queue are dropped. */
void source_http_free(struct source_http *s); /* accepts NULL */

#endif
