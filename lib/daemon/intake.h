/* SPDX-License-Identifier: MIT */
/*
 * Push intake: the bodies of POST /v1/mentions parsed, folded and matched
 * on worker threads while the event loop does I/O, counting and
 * detection. A body is cut into chunks of whole lines; workers take the
 * chunks in arrival order, and the loop counts them strictly in that
 * order (so counts, lateness and the reply do not depend on the workers'
 * timing), then answers the push. With no workers every chunk is parsed
 * on the loop, in the call.
 */
#ifndef HARK_DAEMON_INTAKE_H
#define HARK_DAEMON_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct matcher;
struct mbatch;
struct intake;

/* What one push counted, for its reply. */
struct intake_tally {
	uint64_t accepted;
	uint64_t duplicates; /* of accepted: ids already counted */
	uint64_t rejected;
	void *errors; /* cJSON array, at most INTAKE_MAX_ERRORS */
	size_t n_errors;
};

/* Errors listed in a push's reply; the rest only counted. */
#define INTAKE_MAX_ERRORS 100

/* Records line's rejection (why) in t's reply. */
void intake_tally_reject(struct intake_tally *t, long line, const char *why);

struct intake_ops {
	/* On the loop, in arrival order: counts the chunk b of a push from
	 * source, whose lines are numbered from line0 + 1 in the body. */
	void (*count)(void *arg, int source, const struct mbatch *b, long line0,
		      struct intake_tally *t);
	/* On the loop, after each chunk counted (buckets may close). */
	void (*counted)(void *arg);
};

/* Called on the loop with the reply of a push (a JSON object). */
typedef void (*intake_reply_fn)(void *arg, const char *json, size_t len);

/*
 * workers threads (0: parse on the loop); max_bytes: the bodies held at
 * once (a push is refused as busy past it, unless nothing is held).
 * NULL with err filled when a thread or the wakeup cannot be made.
 */
struct intake *intake_new(struct event_base *base, unsigned workers,
			  uint64_t max_bytes, const struct intake_ops *ops,
			  void *arg, char *err, size_t errlen);
/*
 * The matcher (n_rules rules) every chunk from now on is matched with;
 * the workers get clones of it, so m must outlive the next call (or
 * intake_free). Only when intake_quiet: nothing parsed with the
 * previous matcher waits to be counted.
 */
void intake_set_matcher(struct intake *in, struct matcher *m, size_t n_rules);

enum intake_push_result {
	INTAKE_QUEUED, /* reply will be called (maybe already was) */
	INTAKE_BUSY,   /* too many bytes held: ask again later */
	INTAKE_CLOSED, /* stopping: no more pushes */
};

/* Takes a copy of body (len bytes of NDJSON) pushed for source (its
 * name: what source-restricted rules match; NULL: none). */
enum intake_push_result intake_push(struct intake *in, int source,
				    const char *source_name, const char *body,
				    size_t len, intake_reply_fn reply,
				    void *reply_arg);
/* Held: workers take no new chunk (a reload waits for intake_quiet). */
void intake_hold(struct intake *in, bool hold);
/* No push accepted from now on; those in flight are finished. */
void intake_close(struct intake *in);
/* Nothing is being parsed or waits to be counted (held chunks may). */
bool intake_quiet(struct intake *in);
/* No push in flight at all. */
bool intake_empty(const struct intake *in);

struct intake_stats {
	unsigned workers;
	uint64_t busy;       /* pushes refused as busy */
	uint64_t held_bytes; /* bodies not yet answered */
	uint64_t pushes;     /* pushes answered */
};

struct intake_stats intake_stats(const struct intake *in);
/* Joins the workers; pushes still in flight are dropped unanswered. */
void intake_free(struct intake *in);

/* Threads intake_new would start for "http.workers" unset: one per core
 * this process may run on. */
unsigned intake_default_workers(void);

/*
 * ---- the daemon's side (daemon/intake.c, loop only) ----
 *
 * A mention from any source becomes counts: event time admitted or
 * refused, id checked, matched, counted per rule and bucket.
 */

struct dedupe;
struct hark;
struct mention;
struct mention_opts;
struct rule_rt;
struct src_counts;
struct window_mention;

/* The counting of pushes: intake_new's ops for the daemon (arg: h). */
extern const struct intake_ops intake_push_ops;

/* hark_ingest_line_as (hark.h): one NDJSON line from source, parsed as o
 * says, counted. */
int intake_count_line(struct hark *h, int source, const struct mention_opts *o,
		      const char *line, size_t len, char *err, size_t errlen);
/* Counts a mention parsed and matched elsewhere (ids: the rules it matched,
 * ascending), received from source: 0, 1 for an id already counted, -1
 * with the reason in err (counted rejected). */
int intake_count_received(struct hark *h, int source,
			  const struct window_mention *wm, const uint32_t *ids,
			  size_t n, char *err, size_t errlen);
/* A line received from ss's source that is not a mention. */
void intake_reject_received(struct hark *h, struct src_counts *ss);
/* Counts one parsed mention from source: watermark, match, per-rule
 * buckets. */
void intake_count_mention(struct hark *h, int source, const struct mention *m,
			  int64_t now);
/* Refuses (and counts rejected for h and ss) an event time too far ahead:
 * -1 with the reason in err. */
int intake_admit_event_time(struct hark *h, struct src_counts *ss,
			    const struct mention *m, char *err, size_t errlen);
/* Arrival time of a mention (replay: the newest event time seen). */
int64_t intake_arrival_now(const struct hark *h);
/* The recent ids of every source, shared; made on first use. */
struct dedupe *intake_ids_seen(struct hark *h);
/* The rule's saved state was read (or given up on): it may count. */
void intake_rule_loaded(struct hark *h, struct rule_rt *r);
/* Where counting begins, for every rule loaded since the last call. */
void intake_begin_rules(struct hark *h);

#endif
