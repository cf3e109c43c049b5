/* SPDX-License-Identifier: MIT */
/*
 * The daemon object: wires source → normalize → match → count → store →
 * detect → alert → deliver on one libevent loop. Pure decisions live in
 * core/; this file only moves data between them and the I/O modules.
 */
#include "hark.h"

#include <event2/event.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config/config.h"
#include "core/dedupe.h"
#include "daemon/chart.h"
#include "daemon/counts.h"
#include "daemon/daemon.h"
#include "daemon/evaluate.h"
#include "daemon/notify.h"
#include "daemon/pulled.h"
#include "daemon/reload.h"
#include "core/detect.h"
#include "core/fold.h"
#include "core/history.h"
#include "core/keys.h"
#include "core/match.h"
#include "core/mbatch.h"
#include "core/mention.h"
#include "core/prom.h"
#include "core/render.h"
#include "core/silence.h"
#include "core/terms.h"
#include "core/window.h"
#include "daemon/intake.h"
#include "io/api.h"
#include "io/deliver.h"
#include "io/ingest.h"
#include "io/source.h"
#include "io/source_http.h"
#include "io/source_redis.h"
#include "io/store.h"
#include "util/log.h"
#include "util/timeutil.h"

#define HARK_TICK_MS 250
/* How long a stop waits for the store and deliveries. */
#define HARK_STOP_DEADLINE_MS 5000
/* Count writes kept for a store that is down; beyond, dropped and counted. */
#define HARK_MAX_PENDING_WRITES 100000
/* How far a replayed created_at may run ahead of the newest one. */
#define HARK_MAX_AHEAD_MS (86400000LL)

static void tick_cb(evutil_socket_t fd, short what, void *arg);
static void stop_now(struct hark *h);

/* Arrival time of a mention. Replay has no wall clock: a mention without
 * created_at arrives at the newest event time seen, so output depends on
 * the input alone. */
int64_t hark_arrival_now(const struct hark *h)
{
	if (h->replay) {
		return h->wm.has_event ? h->wm.max_event_ms : 0;
	}
	return timeutil_now_ms();
}

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
	h->deliver = deliver_new(base, h->store, cfg->prefix);
	pulled_init(h);
	h->tick = event_new(base, -1, EV_PERSIST, tick_cb, h);
	return h;
fail:
	hark_free(h);
	return NULL;
}

/*
 * The recent ids of every source (pushes and replayed files included), made
 * on first use: as large as the largest source's `dedupe`, the default
 * without sources. A reload keeps it, and what it remembers.
 */
struct dedupe *hark_ids_seen(struct hark *h)
{
	int64_t cap = 0;

	if (h->dedupe != NULL) {
		return h->dedupe;
	}
	for (size_t i = 0; i < h->cfg->n_sources; i++) {
		if (h->cfg->sources[i].dedupe > cap) {
			cap = h->cfg->sources[i].dedupe;
		}
	}
	h->dedupe = dedupe_new(cap > 0 ? (size_t)cap
				       : (size_t)DEDUPE_DEFAULT_CAPACITY);
	return h->dedupe;
}

/* The id scope of mentions from source (-1: pushes without a source). */
static const char *source_scope(const struct hark *h, int source)
{
	return source >= 0 && (size_t)source < h->cfg->n_sources
		       ? config_source_scope(&h->cfg->sources[source])
		       : "";
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

/* ---- ingest ---- */

/*
 * Refuses an event time too far ahead: one bogus created_at (a mangled
 * year, a wrong time zone) would otherwise push the watermark past every
 * open bucket, close them early for every rule, and make the live mentions
 * after it late. The daemon has a clock: further than max_future past it is
 * refused (and what is admitted moves the watermark no further than the
 * clock, count_matched). A replay has none but the stream: more than
 * HARK_MAX_AHEAD_MS past the newest mention is refused (less is a quiet
 * night in the file).
 */
static int check_event_time(struct hark *h, const struct mention *m, char *err,
			    size_t errlen)
{
	if (!m->has_created_at) {
		return 0;
	}
	if (!h->replay) {
		int64_t ahead = m->created_at_ms - timeutil_now_ms();

		if (ahead > h->cfg->max_future_ms) {
			h->future++;
			snprintf(err, errlen,
				 "created_at: %lld s ahead of this host's "
				 "clock (max_future %lld s)",
				 (long long)(ahead / 1000),
				 (long long)(h->cfg->max_future_ms / 1000));
			return -1;
		}
		return 0;
	}
	if (h->wm.has_event &&
	    m->created_at_ms > h->wm.max_event_ms + HARK_MAX_AHEAD_MS) {
		snprintf(err, errlen,
			 "created_at: more than a day ahead of the "
			 "newest mention");
		return -1;
	}
	return 0;
}

/* check_event_time, counting a refusal as a rejected line of source ss. */
int hark_admit_event_time(struct hark *h, struct src_counts *ss,
			  const struct mention *m, char *err, size_t errlen)
{
	if (check_event_time(h, m, err, errlen) < 0) {
		h->rejected++;
		ss->rejected++;
		return -1;
	}
	return 0;
}

/*
 * A rule without a saved state begins counting at the stream's newest
 * bucket once it is loaded and a mention has been seen (at start: the
 * first mention's bucket; after a reload that added it: where the stream
 * stands), or at the bucket of its first match if that came first. From
 * there every bucket is closed and evaluated, with count 0 when nothing
 * matched, and its warmup runs from there rather than from its first
 * match. A restored state already knows where it stands.
 */
static void rule_begin(struct hark *h, struct rule_rt *r)
{
	int64_t start, from;

	if (r->begun || !r->loaded || !h->wm.has_event) {
		return;
	}
	r->begun = true;
	if (detector_next_start(r->det) != INT64_MIN) {
		return;
	}
	start = series_next(r->series);
	/* Counting began where the stream stood (a rule added by a reload),
	 * or, for a rule that matched before it was loaded, with this
	 * process's first mention. */
	from = h->first_event_ms;
	if (start == INT64_MIN) {
		from = h->wm.max_event_ms;
		start = window_bucket_start(from, r->cfg->bucket_ms);
		series_set_next(r->series, start);
	}
	r->begin_ms = start;
	r->begin_from_ms = from;
	detector_begin(r->det, start, from);
}

/* rule_begin for every rule loaded since the last call. */
void hark_begin_rules(struct hark *h)
{
	if (!h->begin_pending || !h->wm.has_event) {
		return;
	}
	h->begin_pending = false;
	for (size_t i = 0; i < h->cfg->n_rules; i++) {
		rule_begin(h, &h->rules[i]);
	}
}

/* The rule's saved state was read (or given up on): it may count. */
void hark_rule_loaded(struct hark *h, struct rule_rt *r)
{
	r->loaded = true;
	h->begin_pending = true;
}

/*
 * Counts one parsed and matched mention (wm; ids: the rules it matched,
 * ascending): watermark, per-rule buckets. Its terms were found once,
 * whatever the number of rules it counts for.
 */
static void count_matched(struct hark *h, const struct window_mention *wm,
			  int64_t now, const uint32_t *ids, size_t n)
{
	const struct mention *m = wm->m;
	int64_t ev = m->has_created_at ? m->created_at_ms : now;
	bool late = false;
	struct window_mention shared = *wm;

	/* Live, the watermark follows the clock at most: a mention a little
	 * ahead (a skewed clock) counts in its own bucket without closing
	 * the buckets still filling. */
	if (!h->wm.has_event) {
		h->first_event_ms = !h->replay && ev > now ? now : ev;
	}
	watermark_observe(&h->wm, !h->replay && ev > now ? now : ev, now);
	/* One copy of the text for all the rules; its terms are found and
	 * tallied per rule only for a bucket whose tops are read. */
	if (n > 0 && m->text != NULL) {
		shared.shared = window_terms_new_text(h->fold, m->text,
						      strlen(m->text));
		shared.terms = NULL;
		shared.toks = NULL;
		shared.n_toks = 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct rule_rt *r = &h->rules[ids[i]];

		r->matched_total++;
		if (series_add_mention(r->series, ev, &shared) == SERIES_LATE) {
			r->late_total++;
			late = true;
		}
	}
	window_terms_release(shared.shared);
	hark_begin_rules(h);
	if (late) {
		h->late++;
	}
	h->accepted++;
}

/*
 * Describes m in *wm for the n rules it matched. Its terms are found
 * later, only for a bucket whose tops are read (count_matched,
 * window_terms_new_text).
 */
static void describe(const struct mention *m, size_t n,
		     struct window_mention *wm)
{
	if (n == 0) {
		/* counted for no rule: only wm->m is read */
		memset(wm, 0, sizeof(*wm));
		wm->m = m;
		return;
	}
	window_mention_init(wm, m);
}

/* Counts one parsed mention: watermark, match, per-rule buckets. */
void hark_count_mention(struct hark *h, int source, const struct mention *m,
			int64_t now)
{
	struct match_input in = {
		.text = m->text,
		.len = strlen(m->text),
		.lang = m->lang,
		.source = source >= 0 && (size_t)source < h->cfg->n_sources
				  ? h->cfg->sources[source].name
				  : NULL,
		.author = m->author,
	};
	size_t n =
		matcher_match(h->matcher, &in, h->match_ids, h->cfg->n_rules);
	struct window_mention wm;

	describe(m, n, &wm);
	count_matched(h, &wm, now, h->match_ids, n);
}

/*
 * Counts mention wm (parsed and matched: ids, ascending), a line received
 * from source, once its event time is admitted and its id is new in the
 * source's scope: 0, or 1 for an id already counted (a retried push), or
 * -1 with the reason in err (counted rejected).
 */
static int count_received(struct hark *h, int source,
			  const struct window_mention *wm, const uint32_t *ids,
			  size_t n, char *err, size_t errlen)
{
	struct src_counts *ss =
		&h->src_stats[source >= 0 ? (size_t)source : h->cfg->n_sources];
	const char *id = wm->m->id;

	h->received++;
	ss->received++;
	if (hark_admit_event_time(h, ss, wm->m, err, errlen) < 0) {
		return -1;
	}
	/* After the time check: a mention refused for its time may come
	 * again, corrected, under the same id. */
	if (dedupe_check(hark_ids_seen(h), source_scope(h, source), id,
			 strlen(id)) == DEDUPE_DUPLICATE) {
		ss->duplicates++;
		return 1;
	}
	count_matched(h, wm, hark_arrival_now(h), ids, n);
	return 0;
}

/* A line received from ss's source that is not a mention. */
static void reject_received(struct hark *h, struct src_counts *ss)
{
	h->received++;
	ss->received++;
	h->rejected++;
	ss->rejected++;
}

int hark_ingest_line_as(struct hark *h, int source,
			const struct mention_opts *o, const char *line,
			size_t len, char *err, size_t errlen)
{
	struct src_counts *ss =
		&h->src_stats[source >= 0 ? (size_t)source : h->cfg->n_sources];
	struct mention m;

	h->received++;
	ss->received++;
	switch (mention_parse_as(&m, o, line, len, err, errlen)) {
	case MENTION_OK:
		break;
	case MENTION_SKIPPED:
		return 1;
	case MENTION_REJECTED:
	case MENTION_STREAM_ERROR:
		h->rejected++;
		ss->rejected++;
		return -1;
	}
	/* File sources share the pulled sources' set: the same mention in
	 * two files, or written twice, counts once. */
	if (source >= 0 && (size_t)source < h->cfg->n_sources &&
	    h->cfg->sources[source].type == CONFIG_SOURCE_FILE &&
	    dedupe_check(hark_ids_seen(h), source_scope(h, source), m.id,
			 strlen(m.id)) == DEDUPE_DUPLICATE) {
		ss->duplicates++;
		mention_fini(&m);
		return 2;
	}
	if (hark_admit_event_time(h, ss, &m, err, errlen) < 0) {
		mention_fini(&m);
		return -1;
	}
	hark_count_mention(h, source, &m, hark_arrival_now(h));
	mention_fini(&m);
	return 0;
}

/*
 * Counts a parsed chunk of a push (intake, in arrival order): what
 * hark_ingest_line_as does after parsing, each line's verdict into t.
 */
static void push_count(void *arg, int source, const struct mbatch *b,
		       long line0, struct intake_tally *t)
{
	struct hark *h = arg;
	struct src_counts *ss =
		&h->src_stats[source >= 0 ? (size_t)source : h->cfg->n_sources];

	for (size_t i = 0; i < b->n; i++) {
		const struct mbatch_item *it = &b->items[i];
		struct window_mention wm;
		char why[256];

		switch (it->kind) {
		case MBATCH_EMPTY:
		case MBATCH_MSG:
			continue;
		case MBATCH_SKIPPED:
			h->received++;
			ss->received++;
			t->accepted++;
			continue;
		case MBATCH_BAD:
			reject_received(h, ss);
			intake_tally_reject(t, line0 + it->lineno, it->why);
			continue;
		case MBATCH_OK:
			break;
		}
		switch (count_received(h, source, mbatch_view(it, &wm),
				       b->ids + it->ids, it->n_ids, why,
				       sizeof(why))) {
		case -1:
			intake_tally_reject(t, line0 + it->lineno, why);
			continue;
		case 1:
			t->duplicates++;
			break;
		}
		t->accepted++;
	}
}

static void push_counted(void *arg)
{
	hark_process(arg);
}

static const struct intake_ops push_ops = {
	.count = push_count,
	.counted = push_counted,
};

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
	h->intake = intake_new(h->base, workers, max_bytes, &push_ops, h, err,
			       sizeof(err));
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
				hark_rule_loaded(h, &h->rules[i]);
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
	return count_received(h, -1, wm, ids, n, err, errlen);
}

void hark_replay_reject(struct hark *h)
{
	reject_received(h, &h->src_stats[h->cfg->n_sources]);
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

/* ---- silences and alert history (API) ---- */

int hark_silence_add(struct hark *h, const char *body, size_t len,
		     struct buf *out)
{
	return notify_silence_add(h, body, len, out);
}

int hark_silence_expire(struct hark *h, const char *id)
{
	return notify_silence_expire(h, id);
}
