/* SPDX-License-Identifier: MIT */
/*
 * The daemon object: owns the config snapshot, the folding table and
 * matcher, one series and one detector per rule, the store, the delivery
 * queue, the HTTP API and the sources, and wires the stages together on
 * one libevent loop. Also used by `hark replay` with the embedded store.
 */
#ifndef HARK_HARK_H
#define HARK_HARK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/xalloc.h"

struct event_base;
struct config;
struct config_rule;
struct detect_params;
struct matcher;
struct mention;
struct mention_opts;
struct window_mention;
struct hark;
struct intake;

/*
 * The detector settings of rule r: detect_params_default for its bucket,
 * then the detection keys the rule sets (a key it leaves unset keeps the
 * detector's default). The one place config → detect_params; padding
 * zeroed, so two results compare with memcmp.
 */
void hark_detect_params(const struct config_rule *r, struct detect_params *p);

/*
 * Builds the daemon from cfg (takes ownership, also on failure) on base
 * (borrowed). Fails
 * with a reason in err (a term that folds to nothing, a malformed store
 * url, a corrupt snapshot). Caller frees with hark_free.
 */
struct hark *hark_new(struct event_base *base, struct config *cfg, char *err,
		      size_t errlen);
/*
 * Loads each rule's saved state from the store, then starts the HTTP API
 * and the sources. Returns -1 (reason logged) when the listener cannot be
 * bound. Calls ready (may be NULL) once serving.
 */
int hark_start(struct hark *h, void (*ready)(void *arg),
	       void *arg) HARK_MUST_CHECK;
/*
 * Stops intake, evaluates and flushes counts, lets deliveries and the
 * store finish up to a deadline, then calls done from the loop.
 */
void hark_stop(struct hark *h, void (*done)(void *arg), void *arg);
void hark_free(struct hark *h);

/*
 * One NDJSON line from source number source (index in cfg->sources, or -1
 * for the API without a source), read as o says (a source's format or
 * fields; see core/mention.h). Counting only: closed buckets are evaluated
 * by hark_process. Returns 0 when counted, 1 when valid but not counted
 * (a skipped boost), 2 when a file source's mention id was seen recently
 * (the shared dedupe set), -1 when rejected with the reason in err (an X
 * stream error object too).
 */
int hark_ingest_line_as(struct hark *h, int source,
			const struct mention_opts *o, const char *line,
			size_t len, char *err, size_t errlen);
/* Evaluates every bucket the watermark has closed. */
void hark_process(struct hark *h);

/* The push intake (POST /v1/mentions), once serving; NULL in replay. */
struct intake *hark_intake(const struct hark *h);
/* The name of source index source (NULL: none, as for -1). */
const char *hark_source_name(const struct hark *h, int source);
bool hark_store_up(const struct hark *h);
/* Index of the first http-push source, or -1 when none is configured. */
int hark_push_source(const struct hark *h);
const struct config *hark_config(const struct hark *h);

/*
 * SIGHUP, in two halves so that the slow one can run off the loop.
 * hark_compile_rules compiles n's rules into a matcher (NULL with the
 * reason in err when one does not compile); it reads nothing of h but its
 * folding table, which never changes, so it may run on another thread
 * while the loop goes on.
 */
struct matcher *hark_compile_rules(const struct hark *h, const struct config *n,
				   char *err, size_t errlen);
/*
 * Takes config n (already validated) and its matcher m (ownership of both,
 * also on refusal); loop only. When n's store, http, sources and receivers
 * are those running (see config.h's fixed_digest), it is accepted and
 * returns 0: its rules, external_url and log_level replace the running
 * ones as soon as no store reply is awaited (at once on an idle daemon).
 * A rule kept by name and bucket keeps its counts, open buckets, history
 * and lifecycle; an added one reads its saved state; a removed one is
 * dropped (resolved first if it was firing). Otherwise returns -1 with the
 * reason in err, recorded by hark_reload_failed, nothing changed.
 */
int hark_reload_compiled(struct hark *h, struct config *n, struct matcher *m,
			 char *err, size_t errlen) HARK_MUST_CHECK;
/* 0 when n may replace the running rules at all (serving, and its store,
 * http, sources and receivers unchanged); else -1 with why in err. */
int hark_reload_check(const struct hark *h, const struct config *n, char *err,
		      size_t errlen);
/* Records a reload refused for why (a file that did not validate: its
 * first problem), for /metrics and GET /v1/rules. */
void hark_reload_failed(struct hark *h, const char *why);
/* An accepted reload is waiting to be applied. */
bool hark_reload_pending(const struct hark *h);

/* ---- silences (DESIGN §7, issue 6); their views: daemon/views.h ---- */

/* POST /v1/silences: writes the new silence (or {"error"}) to out and
 * returns the HTTP status (201, 400, 409). */
int hark_silence_add(struct hark *h, const char *body, size_t len,
		     struct buf *out);
/* DELETE /v1/silences/ID: 200, or 404 when there is no such silence. */
int hark_silence_expire(struct hark *h, const char *id);

/* ---- hark replay ---- */

struct hark_replay {
	/* Called for every notification, in order, with the webhook body
	 * (borrowed for the call). */
	void (*alert)(void *arg, const char *rule, const char *status,
		      int64_t window_start_ms, const char *body, size_t len);
	void *arg;
};

/*
 * Before hark_start: replay mode. Time comes from the mentions alone (no
 * idle advance, no wall clock), there is no API and no source is started,
 * and notifications go to out instead of the receivers.
 */
void hark_set_replay(struct hark *h, const struct hark_replay *out);
/* Runs the loop until start-up is done and every closed bucket is
 * evaluated. Call after hark_start and after each batch of lines. */
int hark_replay_run(struct hark *h) HARK_MUST_CHECK;
/* Closes every bucket that holds a mention, evaluates, returns. */
int hark_replay_finish(struct hark *h) HARK_MUST_CHECK;
/*
 * For a parse thread: hands h's compiled matcher (built over h's folding
 * table, which must outlive it) to the caller, who frees it. From then on
 * h takes mentions only through hark_replay_count_prepared and
 * hark_replay_reject.
 */
struct matcher *hark_replay_take_matcher(struct hark *h);
/*
 * Counts a mention, parsed and matched elsewhere (ids: the rules it
 * matched, ascending), as hark_ingest_line_as with source -1 would; wm
 * describes it (core/window.h) and its terms are found later, on the
 * counting side, only for a bucket whose tops are read. Returns 0, 1 for
 * an id already counted (not counted again), or -1 with the reason in err
 * (and counts it rejected) for a created_at too far ahead of the stream.
 */
int hark_replay_count_prepared(struct hark *h, const struct window_mention *wm,
			       const uint32_t *ids, size_t n, char *err,
			       size_t errlen);
/* Counts a line that hark_ingest_line_as would have rejected. */
void hark_replay_reject(struct hark *h);
uint64_t hark_rule_matched(const struct hark *h, size_t rule);
void hark_totals(const struct hark *h, uint64_t *received, uint64_t *rejected,
		 uint64_t *late);

#endif
