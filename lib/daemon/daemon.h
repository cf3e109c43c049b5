/* SPDX-License-Identifier: MIT */
/*
 * The daemon's shared state: struct hark and the per-rule runtime that
 * hark.c (the wiring) and the rooms under lib/daemon/ (intake's counting
 * half, evaluate, notify, reload, pulled, views) all work on. Private to
 * them: lib/io and lib/core see only hark.h and the rooms' own headers,
 * so that a room can change what it keeps here without touching its
 * callers. Loop only.
 */
#ifndef HARK_DAEMON_DAEMON_H
#define HARK_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/detect.h"
#include "core/history.h"
#include "core/silence.h"
#include "core/window.h"
#include "daemon/about.h"
#include "daemon/chart.h"
#include "hark.h"
#include "io/ingest.h"
#include "io/source.h"

/* How long start-up waits for saved rule states before serving without. */
#define HARK_LOAD_DEADLINE_MS 5000

/* One closed bucket on its way through the store to the detector. */
struct eval {
	struct hark *h; /* borrowed */
	size_t rule;
	struct closed_bucket b;
	bool done;
	int64_t total;
	/* The total read is the fleet's final one (fleet_final held when
	 * it was asked for); else it waits, then is read again. */
	bool final;
	bool waiting;
	/* what rose in the bucket (daemon/about), for its notification */
	struct about_emerging emerging;
	struct eval *next;
};

struct rule_rt {
	const struct config_rule *cfg; /* borrowed from h->cfg */
	struct series *series;
	struct detector *det;
	char *state_key;
	bool state_dirty;           /* evaluated since its state was saved */
	struct chart_pending chart; /* judged buckets not yet written */
	/* The rule's usual share of each term (core/emerge), its judged
	 * buckets' tops not yet written, and the end of the last bucket it
	 * learned (INT64_MIN: none); daemon/about. */
	struct emerge *emerge;
	struct chart_pending tops;
	int64_t about_next;
	bool loaded;
	bool load_inflight;
	/* Counting began (rule_begin); begin_ms: the bucket it began at,
	 * for detector_begin before the first step (INT64_MIN: none). */
	bool begun;
	/* In a fleet, the saved state was read again when counting began
	 * (intake's rule_begin): the others may judge the rule already. */
	bool fleet_synced;
	int64_t begin_ms;
	int64_t begin_from_ms; /* when counting began, in that bucket */
	/* A bucket was left unjudged at stop: none after it is judged. */
	bool abandoned;
	struct eval *head; /* FIFO: evaluated strictly in bucket order */
	struct eval *tail;
	uint64_t matched_total;
	uint64_t flushed_matched; /* matched_total at its last flush */
	uint64_t late_total;
	uint64_t fired_total;
	uint64_t resolved_total;
	int64_t last_count;
	bool has_last;
	/* The episode while firing, kept for repeat_interval: its result and
	 * bucket (samples, tops), and per notify entry the wall time of the
	 * next repeat (0: none) and how many were sent. */
	bool firing;
	struct detect_result fired_res;
	struct closed_bucket fired_b;
	struct about_emerging fired_emerging;
	int64_t *repeat_at_ms;
	int64_t *repeats;
};

struct src_counts {
	uint64_t received;
	uint64_t rejected;
	uint64_t
		duplicates; /* pushes and files (pulled ones count their own) */
};

/* A file source's position in the store (key keys_file). */
struct file_pos {
	bool started;   /* ingest_file_start_at was called */
	bool loading;   /* the saved position is being read */
	bool warned;    /* the store could not answer; logged once */
	bool saving;    /* a periodic save is in flight */
	bool has_saved; /* saved: what the store is known to hold */
	struct ingest_pos saved;
};

enum hark_phase {
	PHASE_NEW,
	PHASE_LOADING,
	PHASE_SERVING,
	PHASE_STOPPING,
	PHASE_STOPPED,
};

struct hark {
	struct event_base *base; /* borrowed */
	struct config *cfg;
	struct fold *fold;
	struct matcher *matcher;
	struct watermark wm;
	struct rule_rt *rules;
	bool begin_pending; /* a loaded rule may not have begun counting */
	uint32_t *match_ids;
	struct src_counts *src_stats;
	struct store *store;
	struct deliver *deliver;
	struct api *api;
	struct intake *intake; /* push bodies; NULL in replay */
	/* hark_stop waits for the pushes in flight, then a tick more for
	 * their replies to leave (freeing the API closes the sockets) */
	bool stop_wait_intake;
	bool stop_intake_empty;
	struct ingest_file **files;
	struct file_pos *file_pos; /* by source index */
	int64_t file_save_ms;      /* next periodic save of the positions */
	/* Pulled sources (http-stream, sse, redis-stream), by source index;
	 * NULL for the others. */
	struct source_http **streams;
	struct source_redis **redis_sources;
	struct source_http_multi *multi;
	struct pulled_lease **leases; /* by source index; NULL: no lease */
	/* recent ids, shared by pulled and file sources */
	struct dedupe *dedupe;
	struct source_env env;
	struct event *tick;
	enum hark_phase phase;
	int64_t load_deadline_ms;
	void (*ready)(void *arg);
	void *ready_arg;
	void (*stopped)(void *arg);
	void *stopped_arg;
	int64_t stop_deadline_ms;
	bool draining;
	size_t inflight;       /* store writes not yet answered */
	struct counts *counts; /* count writes; owned */
	struct fleet *fleet;   /* other daemons on the store; NULL: none */
	size_t fleet_waiting;  /* evals waiting for the fleet */
	uint64_t claims_lost;  /* notifications another member sent */
	int64_t flush_at_ms;   /* next write of the open buckets */
	uint64_t flush_seq;    /* flushes of the open buckets begun */
	bool pw_inflight;
	int64_t started_ms; /* wall time hark_new ran (process_start_time) */
	uint64_t received;
	uint64_t accepted;
	uint64_t rejected;
	uint64_t late;
	uint64_t future;        /* refused for max_future (also in rejected) */
	int64_t first_event_ms; /* of this process's first mention */
	uint64_t alerts_total;
	struct silences silences;
	struct history history;
	uint64_t silenced_total;
	uint64_t silence_seq; /* makes silence ids unique within a process */
	bool globals_loaded;  /* silences and history read from the store */
	bool globals_inflight;
	int globals_inflight_n;
	bool silences_ok;
	bool silences_v1_ok; /* an older version's document read */
	/* Silences are shared through the store (notify_refresh): bumped by
	 * every change made here, so that an older read does not undo it. */
	uint64_t silences_gen;
	bool silences_refreshing;
	int64_t silences_refresh_ms; /* monotonic: the next read */
	bool history_ok;
	bool history_v1_ok; /* an older version's document read */
	/* Reload (SIGHUP): the accepted config and its compiled matcher,
	 * waiting for the store to answer what is in flight; the configs
	 * replaced so far (receivers and sources borrow from them). */
	struct config *reload_cfg;
	struct matcher *reload_matcher;
	struct config **retired;
	size_t n_retired;
	int64_t rule_load_deadline_ms; /* rules added by a reload */
	uint64_t reloads_applied;
	uint64_t reloads_failed;
	/* The last reload's outcome, for GET /v1/rules and hark status:
	 * wall time (0: none yet) and, when it failed, why. */
	int64_t last_reload_ms;
	char *last_reload_error;
	bool replay;    /* hark replay: virtual clock, no API, no sources */
	bool flush_all; /* replay end: close every bucket with events */
	struct hark_replay replay_out;
};

/* ---- hark.c's helpers for the rooms ---- */

struct config;
struct config_rule;
struct matcher;
struct series;

/* A fresh runtime r for rule i of cfg: no history, state not loaded. */
void hark_rule_init(struct hark *h, const struct config *cfg, size_t i,
		    struct rule_rt *r);
void hark_rule_fini(struct rule_rt *r);
/* Keeps rule cr's own words out of s's top terms. */
void hark_exclude_rule_terms(struct hark *h, const struct config_rule *cr,
			     struct series *s);
/* Adds every rule of cfg to m (empty, over h's folding table) and
 * compiles it; -1 with the reason in err. */
int hark_build_matcher(struct matcher *m, const struct config *cfg, char *err,
		       size_t errlen);
/* Every rule's state and the silences and history are loaded. */
bool hark_all_loaded(const struct hark *h);
/* Start-up is done: starts the intake, the API and the sources. */
void hark_begin_serving(struct hark *h);

#endif
