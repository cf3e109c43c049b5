/* SPDX-License-Identifier: MIT */
/*
 * What every pulled source (http-stream, sse, redis-stream) shares: the
 * read side parses each JSON object in the source's format, drops
 * duplicates through the process-wide recent-id set, and puts new
 * mentions on a bounded queue; a zero-delay event hands them to the sink
 * in batches. A full queue asks the transport to pause; draining below
 * half resumes it. Per-source counters and state for GET /v1/sources.
 * Loop thread only.
 */
#ifndef HARK_IO_SOURCE_H
#define HARK_IO_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mention.h"

struct event;
struct event_base;
struct dedupe;
struct config_source;
struct cJSON;

/* Mentions handed over per loop pass before the sink's flush. */
#define SOURCE_DRAIN_BATCH 512
#define SOURCE_ERROR_BYTES 256

/*
 * Where a source's mentions go. mention is called once per new
 * (deduplicated) mention, m borrowed for the call; it returns 0 when the
 * mention was counted, -1 when rejected (reason in err). flush (may be
 * NULL) runs after each batch: the daemon evaluates closed buckets there.
 */
struct source_sink {
	int (*mention)(void *arg, int source, const struct mention *m,
		       char *err, size_t errlen);
	void (*flush)(void *arg);
	/* (may be NULL) The daemon's count of flushes of its counts begun
	 * so far: a source that acknowledges what it read (redis-stream)
	 * holds an entry handled at ticket t until told that the flushes
	 * before t+1 are stored (source_redis_stored). */
	uint64_t (*ticket)(void *arg);
	void *arg;
};

/* What the daemon lends every source; all borrowed, outliving them. */
struct source_env {
	struct event_base *base;
	struct dedupe *dedupe; /* shared by every source; NULL: no dedupe */
	struct source_sink sink;
};

enum source_state {
	SOURCE_CONNECTING,
	SOURCE_STREAMING,
	SOURCE_BACKOFF,
	SOURCE_FINISHED, /* the server said stop (SSE 204), or a file ended */
	SOURCE_STOPPED,
};

struct source_stats {
	enum source_state state;
	uint64_t received;      /* objects read (lines, events, entries) */
	uint64_t accepted;      /* handed to the sink and counted */
	uint64_t duplicates;    /* dropped: id seen recently */
	uint64_t rejected;      /* not a mention, or refused by the sink */
	uint64_t stream_errors; /* in-stream error objects (X) */
	uint64_t skipped;       /* valid but not counted (skipped boosts) */
	uint64_t deletes;       /* Mastodon delete events */
	uint64_t keepalives;    /* blank lines, SSE comments */
	uint64_t overlong;      /* lines over max_line */
	uint64_t partial;       /* partial lines dropped at a disconnect */
	uint64_t reconnects;
	uint64_t pauses;       /* times reading paused on a full queue */
	uint64_t queued;       /* in the queue now */
	int64_t last_delay_ms; /* the last reconnect delay chosen */
	char last_error[SOURCE_ERROR_BYTES]; /* "" when none */
};

/* The part of each pulled source that source.c runs; embedded. */
struct source_core {
	struct source_env env;
	int index;                       /* in cfg->sources */
	const struct config_source *cfg; /* borrowed */
	struct mention_opts opts;
	struct mention_fields fields;
	struct mention *q; /* owned ring of queued mentions */
	char **q_ack;      /* owned: per queued mention, an ack id or NULL */
	size_t q_cap;
	size_t q_head;
	size_t q_len;
	struct event *drain_ev;
	bool want_resume; /* the transport paused on a full queue */
	/* Called when the queue drained below half after a pause. */
	void (*resume)(void *owner);
	/* Called with each ack id once its entry was handled (counted,
	 * duplicate or rejected). May be NULL. */
	void (*ack)(void *owner, const char *id);
	/* After each drained batch (e.g. to send the collected XACKs). */
	void (*after_batch)(void *owner);
	void *owner;
	struct source_stats st;
};

void source_core_init(struct source_core *c, const struct source_env *env,
		      int index, const struct config_source *cfg, void *owner);
void source_core_fini(struct source_core *c);
/* Drops the queued mentions unhandled (their ack ids are not given to
 * c->ack): a source that stops before they are counted. */
void source_core_drop_queue(struct source_core *c);
/*
 * One JSON object from the stream (len bytes), read in the source's
 * format. ack_id (may be NULL) goes to c->ack once it is handled. Returns
 * how it was read; a stream error's text is kept as last_error.
 */
enum mention_result source_core_offer(struct source_core *c, const char *json,
				      size_t len, const char *ack_id);
/* Queue at capacity: the transport should stop reading. */
bool source_core_full(const struct source_core *c);
/* Marks that the transport paused; resume is called once drained. */
void source_core_paused(struct source_core *c);
void source_core_set_error(struct source_core *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *source_state_name(enum source_state s);
/* Adds the fixed fields of GET /v1/sources (name, type, state, received,
 * duplicates, rejected, reconnects, …) to obj. */
void source_stats_json(const struct source_stats *st, const char *name,
		       const char *type, struct cJSON *obj);

/* Reconnect plans (issue 5), pure. */
enum source_failure {
	SOURCE_FAIL_NETWORK,    /* connect/read error, stall, clean close */
	SOURCE_FAIL_HTTP,       /* HTTP error status other than 429 */
	SOURCE_FAIL_RATE_LIMIT, /* HTTP 429 */
};
/*
 * Delay before reconnect number attempt (1, 2, …) after a failure of
 * kind k. X's plan (sse == false): network +250 ms per attempt up to
 * 16 s; HTTP 5 s doubling to 320 s; 429 60 s doubling. SSE: exponential
 * from base_ms (the server's retry:, default 1 s) to 60 s with jitter
 * (rnd), 429 as above. retry_after_ms >= 0 (Retry-After) wins, capped
 * at one hour.
 */
int64_t source_reconnect_delay_ms(enum source_failure k, unsigned attempt,
				  bool sse, int64_t base_ms,
				  int64_t retry_after_ms, uint32_t rnd);

#endif
