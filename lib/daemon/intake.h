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

#endif
