/* SPDX-License-Identifier: MIT */
/*
 * The daemon object: wires source → normalize → match → count → store →
 * detect → alert → deliver on one libevent loop. Pure decisions live in
 * core/, and each stage's daemon side in its room under daemon/ (intake,
 * evaluate, notify, reload, pulled, views: DESIGN §9); this file builds
 * them, starts and stops them in order, and drives them from one tick.
 */
#include "hark.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/dedupe.h"
#include "core/detect.h"
#include "core/fold.h"
#include "core/history.h"
#include "core/keys.h"
#include "core/match.h"
#include "core/silence.h"
#include "core/terms.h"
#include "core/window.h"
#include "daemon/counts.h"
#include "daemon/daemon.h"
#include "daemon/evaluate.h"
#include "daemon/fleet.h"
#include "daemon/intake.h"
#include "daemon/notify.h"
#include "daemon/pulled.h"
#include "daemon/reload.h"
#include "io/api.h"
#include "io/deliver.h"
#include "io/store.h"
#include "util/log.h"
#include "util/timeutil.h"

#define HARK_TICK_MS 250
/* How long a stop waits for the store and deliveries. */
#define HARK_STOP_DEADLINE_MS 5000
/* Count writes kept for a store that is down; beyond, dropped and counted. */
#define HARK_MAX_PENDING_WRITES 100000

static void tick_cb(evutil_socket_t fd, short what, void *arg);
static void stop_now(struct hark *h);

static enum detect_direction map_direction(enum config_direction d)
{
	switch (d) {
	case CONFIG_DIRECTION_DOWN:
		return DETECT_DOWN;
	case CONFIG_DIRECTION_BOTH:
		return DETECT_BOTH;
	case CONFIG_DIRECTION_UP:
		break;
	}
	return DETECT_UP;
}

void hark_detect_params(const struct config_rule *r, struct detect_params *p)
{
	/* Zeroed first: rule_move compares two of these with memcmp. */
	memset(p, 0, sizeof(*p));
	detect_params_default(p, r->bucket_ms);
	p->direction = map_direction(r->direction);
	/* A key the rule leaves unset keeps the detector's default. */
	if (r->sensitivity_set) {
		p->threshold = r->sensitivity;
	}
	if (r->false_alarms_set) {
		p->false_alarms = r->false_alarms;
	}
	if (r->min_count_set) {
		p->min_count = r->min_count;
	}
	if (r->min_excess_set) {
		p->min_excess = r->min_excess;
	}
	if (r->min_ratio_set) {
		p->min_ratio = r->min_ratio;
	}
	if (r->window_set) {
		p->window = (int)r->window;
	}
	if (r->escalation_set) {
		p->escalation = r->escalation;
	}
	if (r->cooldown_set) {
		p->cooldown_ms = r->cooldown_ms;
	}
	if (r->warmup_set) {
		p->warmup_ms = r->warmup_ms;
	}
	if (r->novelty_set) {
		p->novelty_ms = r->novelty_ms;
	}
}

static struct detector *make_detector(const struct config_rule *r)
{
	struct detect_params p;

	hark_detect_params(r, &p);
	return detector_new(&p);
}

/*
 * Keeps rule cr's own words (its any terms, or its query's words) out of
 * its top terms: every matching mention has them, they would top the list.
 */
void hark_exclude_rule_terms(struct hark *h, const struct config_rule *cr,
			     struct series *s)
{
	struct buf all, one;

	buf_init(&all, TERMS_TEXT_MAX);
	buf_init(&one, TERMS_TEXT_MAX);
	for (size_t i = 0; i <= cr->n_any; i++) {
		const char *t = i < cr->n_any ? cr->any[i] : cr->query;

		/* a word of a rule too long to fold whole is just counted */
		if (t != NULL && fold_text(h->fold, t, strlen(t), &one) == 0 &&
		    buf_append(&all, one.data, one.len) < 0) {
			break;
		}
	}
	series_exclude_terms(s, all.data, all.len);
	buf_fini(&one);
	buf_fini(&all);
}

/* A fresh runtime for rule i of cfg: no history, state not loaded. */
void hark_rule_init(struct hark *h, const struct config *cfg, size_t i,
		    struct rule_rt *r)
{
	const struct config_rule *cr = &cfg->rules[i];

	memset(r, 0, sizeof(*r));
	r->cfg = cr;
	r->series = series_new(cr->bucket_ms, (size_t)cr->samples);
	hark_exclude_rule_terms(h, cr, r->series);
	r->det = make_detector(cr);
	about_rule_init(r);
	r->begin_ms = INT64_MIN;
	r->state_key = keys_state(cfg->prefix, cr->name);
	r->repeat_at_ms = xcalloc(cr->n_notify + 1, sizeof(*r->repeat_at_ms));
	r->repeats = xcalloc(cr->n_notify + 1, sizeof(*r->repeats));
}

void hark_rule_fini(struct rule_rt *r)
{
	evaluate_drop_queue(r);
	series_free(r->series);
	detector_free(r->det);
	about_rule_fini(r);
	free(r->state_key);
	chart_pending_fini(&r->chart);
	closed_bucket_fini(&r->fired_b);
	free(r->repeat_at_ms);
	free(r->repeats);
}

/* Adds every rule of cfg to m (empty, over h's folding table) and
 * compiles it; -1 with the reason in err. */
int hark_build_matcher(struct matcher *m, const struct config *cfg, char *err,
		       size_t errlen)
{
	char why[256];

	for (size_t i = 0; i < cfg->n_rules; i++) {
		const struct config_rule *cr = &cfg->rules[i];

		if (matcher_add_query(m, (uint32_t)i, cr->match, why,
				      sizeof(why)) < 0) {
			snprintf(err, errlen, "%s: rules[%zu] (%s): %s",
				 cfg->path, i, cr->name, why);
			return -1;
		}
	}
	if (matcher_compile(m, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: rules: %s", cfg->path, why);
		return -1;
	}
	return 0;
}

struct hark *hark_new(struct event_base *base, struct config *cfg, char *err,
		      size_t errlen)
{
	struct hark *h = xcalloc(1, sizeof(*h));

	h->base = base;
	h->cfg = cfg;
	h->phase = PHASE_NEW;
	h->started_ms = timeutil_now_ms();
	watermark_init(&h->wm);
	silences_init(&h->silences);
	history_init(&h->history);
	h->fold = fold_new();
	h->matcher = matcher_new(h->fold);
	h->rules = xcalloc(cfg->n_rules, sizeof(*h->rules));
	h->match_ids = xcalloc(cfg->n_rules, sizeof(*h->match_ids));
	h->src_stats = xcalloc(cfg->n_sources + 1, sizeof(*h->src_stats));
	for (size_t i = 0; i < cfg->n_rules; i++) {
		hark_rule_init(h, cfg, i, &h->rules[i]);
	}
	if (hark_build_matcher(h->matcher, cfg, err, errlen) < 0) {
		goto fail;
	}
	if (cfg->redis_url != NULL) {
		h->store = store_redis_new(base, cfg->redis_url,
					   cfg->store_timeout_ms, err, errlen);
	} else if (cfg->sentinel.master != NULL) {
		h->store =
			store_sentinel_new(base, &cfg->sentinel,
					   cfg->store_timeout_ms, err, errlen);
	} else if (cfg->n_cluster > 0) {
		h->store = store_cluster_new(
			base, (const char *const *)cfg->cluster, cfg->n_cluster,
			cfg->store_timeout_ms, err, errlen);
	} else {
		h->store = store_mem_new(base, cfg->snapshot_path, err, errlen);
		if (h->store != NULL) {
			store_mem_set_snapshot_interval(
				h->store, cfg->snapshot_interval_ms);
		}
	}
	if (h->store == NULL) {
		goto fail;
	}
	h->counts = counts_new(h->store, cfg->prefix, cfg->retention_ms,
			       HARK_MAX_PENDING_WRITES);
	h->fleet = fleet_new(h);
	h->deliver = deliver_new(base, h->store, cfg->prefix);
	/* Entries of members no longer live are taken over (in a fleet). */
	deliver_set_members(h->deliver, counts_writer(h->counts),
			    h->fleet != NULL ? fleet_owner : NULL, h);
	pulled_init(h);
	h->tick = event_new(base, -1, EV_PERSIST, tick_cb, h);
	return h;
fail:
	hark_free(h);
	return NULL;
}

void hark_free(struct hark *h)
{
	if (h == NULL) {
		return;
	}
	api_free(h->api);
	intake_free(h->intake);
	pulled_fini(h);
	dedupe_free(h->dedupe);
	if (h->tick != NULL) {
		event_free(h->tick);
	}
	if (h->deliver != NULL) {
		deliver_free(h->deliver);
	}
	if (h->store != NULL) {
		store_free(h->store);
	}
	fleet_free(h->fleet);
	h->fleet = NULL;
	counts_free(h->counts);
	for (size_t i = 0; h->rules != NULL && i < h->cfg->n_rules; i++) {
		hark_rule_fini(&h->rules[i]);
	}
	free(h->rules);
	if (h->reload_cfg != NULL) {
		config_fini(h->reload_cfg);
		free(h->reload_cfg);
	}
	matcher_free(h->reload_matcher);
	for (size_t i = 0; i < h->n_retired; i++) {
		config_fini(h->retired[i]);
		free(h->retired[i]);
	}
	free(h->retired);
	free(h->last_reload_error);
	silences_fini(&h->silences);
	history_fini(&h->history);
	free(h->match_ids);
	free(h->src_stats);
	matcher_free(h->matcher);
	fold_free(h->fold);
	config_fini(h->cfg);
	free(h->cfg);
	free(h);
}

const struct config *hark_config(const struct hark *h)
{
	return h->cfg;
}

bool hark_store_up(const struct hark *h)
{
	return h->store != NULL && store_up(h->store);
}

int hark_push_source(const struct hark *h)
{
	for (size_t i = 0; i < h->cfg->n_sources; i++) {
		if (h->cfg->sources[i].type == CONFIG_SOURCE_HTTP_PUSH) {
			return (int)i;
		}
	}
	return -1;
}

/* ---- ingest (daemon/intake.c) ---- */

int hark_ingest_line_as(struct hark *h, int source,
			const struct mention_opts *o, const char *line,
			size_t len, char *err, size_t errlen)
{
	return intake_count_line(h, source, o, line, len, err, errlen);
}

struct intake *hark_intake(const struct hark *h)
{
	return h->intake;
}

const char *hark_source_name(const struct hark *h, int source)
{
	return source >= 0 && (size_t)source < h->cfg->n_sources
		       ? h->cfg->sources[source].name
		       : NULL;
}

void hark_process(struct hark *h)
{
	evaluate_process(h);
}

/* ---- start-up: load saved states, then serve ---- */

/*
 * The push intake: its workers parse while the loop counts. It may hold
 * a few bodies at once, so that a worker never waits for the next push
 * while memory stays a few bodies' worth (16 MiB at least, for the small
 * bodies of a busy stream of clients).
 */
#define HARK_INTAKE_BODIES 4
#define HARK_INTAKE_MIN_BYTES (16u * 1024 * 1024)

static int start_intake(struct hark *h)
{
	const struct config *cfg = h->cfg;
	unsigned workers = cfg->http_workers_set ? (unsigned)cfg->http_workers
						 : intake_default_workers();
	uint64_t max_bytes = cfg->max_body_bytes * HARK_INTAKE_BODIES;
	char err[256];

	if (max_bytes < HARK_INTAKE_MIN_BYTES) {
		max_bytes = HARK_INTAKE_MIN_BYTES;
	}
	h->intake = intake_new(h->base, workers, max_bytes, &intake_push_ops, h,
			       err, sizeof(err));
	if (h->intake == NULL) {
		log_error("hark", "%s; stopping", err);
		return -1;
	}
	intake_set_matcher(h->intake, h->matcher, cfg->n_rules);
	log_info("hark", "push workers=%u", workers);
	return 0;
}

void hark_begin_serving(struct hark *h)
{
	const struct config *cfg = h->cfg;
	struct httpgate_limits lim;

	if (h->replay) {
		h->phase = PHASE_SERVING;
		return;
	}
	if (start_intake(h) < 0) {
		h->phase = PHASE_STOPPED;
		event_base_loopbreak(h->base);
		return;
	}
	lim.max_connections = (size_t)cfg->http_max_connections;
	lim.header_timeout_ms = cfg->http_header_timeout_ms;
	lim.idle_timeout_ms = cfg->http_idle_timeout_ms;
	h->api = api_start(h->base, h, cfg->listen, cfg->token,
			   cfg->max_body_bytes, &lim);
	if (h->api == NULL) {
		log_error("hark", "cannot serve the HTTP API on %s; stopping",
			  cfg->listen);
		h->phase = PHASE_STOPPED;
		event_base_loopbreak(h->base);
		return;
	}
	/* Notifications an earlier run left in the outbox go out again. */
	deliver_resume(h->deliver, cfg->receivers, cfg->n_receivers);
	h->phase = PHASE_SERVING;
	pulled_start(h);
	log_info("hark", "ready rules=%zu store=%s api=%s", cfg->n_rules,
		 store_kind(h->store), cfg->listen);
	if (h->ready != NULL) {
		h->ready(h->ready_arg);
	}
}

bool hark_all_loaded(const struct hark *h)
{
	if (!h->globals_loaded) {
		return false;
	}
	for (size_t i = 0; i < h->cfg->n_rules; i++) {
		if (!h->rules[i].loaded) {
			return false;
		}
	}
	return true;
}

static void load_states(struct hark *h)
{
	notify_load(h);
	evaluate_load_rules(h);
}

int hark_start(struct hark *h, void (*ready)(void *arg), void *arg)
{
	struct timeval tv = {0, HARK_TICK_MS * 1000};

	h->ready = ready;
	h->ready_arg = arg;
	h->phase = PHASE_LOADING;
	h->load_deadline_ms = timeutil_mono_ms() + HARK_LOAD_DEADLINE_MS;
	if (!h->replay) {
		/* Replay closes buckets only where its input says so. */
		event_add(h->tick, &tv);
	}
	load_states(h);
	return h->phase == PHASE_STOPPED ? -1 : 0;
}

/* ---- stop ---- */

static void stop_finish(struct hark *h)
{
	h->phase = PHASE_STOPPED;
	event_del(h->tick);
	if (h->stopped != NULL) {
		h->stopped(h->stopped_arg);
	}
}

static void store_closed_cb(void *arg)
{
	stop_finish(arg);
}

static void drained_cb(void *arg)
{
	struct hark *h = arg;

	if (counts_pending(h->counts) > 0 || counts_dropped(h->counts) > 0) {
		log_warn("hark",
			 "exiting with %zu count writes the store never "
			 "took (%llu dropped)",
			 counts_pending(h->counts),
			 (unsigned long long)counts_dropped(h->counts));
	}
	store_close(h->store, store_closed_cb, h);
}

static void stop_step(struct hark *h)
{
	bool evals_pending = false;

	for (size_t i = 0; i < h->cfg->n_rules; i++) {
		if (h->rules[i].head != NULL) {
			evals_pending = true;
		}
	}
	if ((evals_pending || h->inflight > 0 ||
	     counts_inflight(h->counts) > 0) &&
	    timeutil_mono_ms() < h->stop_deadline_ms) {
		return;
	}
	evaluate_save_dirty(h);
	pulled_finish(h);
	h->draining = true;
	deliver_drain(h->deliver, h->stop_deadline_ms, drained_cb, h);
}

/*
 * Stops: pushes already taken are counted and answered first (their
 * clients were not told yet), then the intake closes and the counts are
 * flushed.
 */
void hark_stop(struct hark *h, void (*done)(void *arg), void *arg)
{
	if (h->phase == PHASE_STOPPING || h->phase == PHASE_STOPPED ||
	    h->stop_wait_intake) {
		return;
	}
	h->stopped = done;
	h->stopped_arg = arg;
	h->stop_deadline_ms = timeutil_mono_ms() + HARK_STOP_DEADLINE_MS;
	if (h->intake != NULL) {
		intake_close(h->intake);
		if (!intake_empty(h->intake)) {
			log_info("hark", "stopping: answering the pushes in "
					 "flight");
			h->stop_wait_intake = true;
			return;
		}
	}
	stop_now(h);
}

static void stop_now(struct hark *h)
{
	log_info("hark", "stopping: intake closed, flushing counts");
	api_free(h->api);
	h->api = NULL;
	/* The files' positions go with the open counts written below: the
	 * next run reads on from the first line not counted. */
	pulled_stop(h);
	if (h->phase == PHASE_SERVING) {
		h->phase = PHASE_STOPPING;
		hark_process(h);
		/* Counts of buckets still open go to the store, so that a
		 * restarted daemon adds to them instead of starting at 0. */
		evaluate_flush_open(h, true);
		evaluate_abandon_waiting(h);
		fleet_leave(h);
	}
	h->phase = PHASE_STOPPING;
	stop_step(h);
}

/* ---- reload (daemon/reload.c) ---- */

struct matcher *hark_compile_rules(const struct hark *h, const struct config *n,
				   char *err, size_t errlen)
{
	return reload_compile(h, n, err, errlen);
}

int hark_reload_check(const struct hark *h, const struct config *n, char *err,
		      size_t errlen)
{
	return reload_check(h, n, err, errlen);
}

int hark_reload_compiled(struct hark *h, struct config *n, struct matcher *m,
			 char *err, size_t errlen)
{
	return reload_compiled(h, n, m, err, errlen);
}

void hark_reload_failed(struct hark *h, const char *why)
{
	reload_failed(h, why);
}

bool hark_reload_pending(const struct hark *h)
{
	return reload_pending(h);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hark *h = arg;

	HARK_UNUSED(fd);
	HARK_UNUSED(what);
	switch (h->phase) {
	case PHASE_LOADING:
		if (timeutil_mono_ms() >= h->load_deadline_ms) {
			for (size_t i = 0; i < h->cfg->n_rules; i++) {
				intake_rule_loaded(h, &h->rules[i]);
			}
			h->globals_loaded = true;
			log_warn("hark", "store unreachable: starting without "
					 "saved rule states");
			hark_begin_serving(h);
		} else {
			load_states(h);
		}
		break;
	case PHASE_SERVING:
		if (h->stop_wait_intake) {
			if (h->stop_intake_empty) {
				h->stop_wait_intake = false;
				stop_now(h);
				break;
			}
			h->stop_intake_empty = intake_empty(h->intake);
		} else {
			reload_step(h);
		}
		hark_process(h);
		evaluate_save_dirty(h);
		pulled_tick(h);
		evaluate_flush_open(h, false);
		counts_retry(h->counts, 1000);
		fleet_tick(h);
		notify_refresh(h);
		notify_repeat_due(h);
		break;
	case PHASE_STOPPING:
		if (!h->draining) {
			stop_step(h);
		}
		break;
	case PHASE_NEW:
	case PHASE_STOPPED:
		break;
	}
}

/* ---- replay ---- */

void hark_set_replay(struct hark *h, const struct hark_replay *out)
{
	h->replay = true;
	h->replay_out = *out;
}

static bool evals_pending(const struct hark *h)
{
	for (size_t i = 0; i < h->cfg->n_rules; i++) {
		if (h->rules[i].head != NULL) {
			return true;
		}
	}
	return h->inflight > 0;
}

int hark_replay_run(struct hark *h)
{
	while (h->phase == PHASE_LOADING) {
		if (event_base_loop(h->base, EVLOOP_ONCE) < 0) {
			return -1;
		}
	}
	hark_process(h);
	while (evals_pending(h)) {
		if (event_base_loop(h->base, EVLOOP_ONCE) < 0) {
			return -1;
		}
	}
	return h->phase == PHASE_SERVING ? 0 : -1;
}

int hark_replay_finish(struct hark *h)
{
	h->flush_all = h->wm.has_event;
	return hark_replay_run(h);
}

struct matcher *hark_replay_take_matcher(struct hark *h)
{
	struct matcher *m = h->matcher;

	h->matcher = NULL;
	return m;
}

int hark_replay_count_prepared(struct hark *h, const struct window_mention *wm,
			       const uint32_t *ids, size_t n, char *err,
			       size_t errlen)
{
	return intake_count_received(h, -1, wm, ids, n, err, errlen);
}

void hark_replay_reject(struct hark *h)
{
	intake_reject_received(h, &h->src_stats[h->cfg->n_sources]);
}

uint64_t hark_rule_matched(const struct hark *h, size_t rule)
{
	return h->rules[rule].matched_total;
}

void hark_totals(const struct hark *h, uint64_t *received, uint64_t *rejected,
		 uint64_t *late)
{
	*received = h->received;
	*rejected = h->rejected;
	*late = h->late;
}

/* ---- silences (daemon/notify.c) ---- */

int hark_silence_add(struct hark *h, const char *body, size_t len,
		     struct buf *out)
{
	return notify_silence_add(h, body, len, out);
}

int hark_silence_expire(struct hark *h, const char *id)
{
	return notify_silence_expire(h, id);
}
