/* SPDX-License-Identifier: MIT */
/*
 * Read-only views of the daemon's state for the API and the dashboard:
 * GET /v1/rules, /metrics, /v1/sources, /v1/alerts, /v1/silences and a
 * rule's judged series. Nothing here changes the daemon, so lib/io/api.c
 * can depend on these and never on the daemon's insides. Runs on the loop.
 */
#include "daemon/views.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "config/config.h"
#include "core/detect.h"
#include "core/emerge.h"
#include "core/history.h"
#include "core/prom.h"
#include "core/silence.h"
#include "core/window.h"
#include "daemon/about.h"
#include "daemon/counts.h"
#include "daemon/daemon.h"
#include "daemon/fleet.h"
#include "daemon/evaluate.h"
#include "daemon/intake.h"
#include "daemon/notify.h"
#include "io/api.h"
#include "io/deliver.h"
#include "hark-config.h"
#include "hark-revision.h"
#include "io/ingest.h"
#include "io/procstat.h"
#include "io/source.h"
#include "io/source_http.h"
#include "io/source_redis.h"
#include "io/store.h"
#include "util/buf.h"
#include "util/timeutil.h"

/* "config": the file, the reload counts and the last reload's outcome
 * ("applied", "failed" with its error, or "pending"). */
static void config_json(const struct hark *h, cJSON *root)
{
	cJSON *c = cJSON_AddObjectToObject(root, "config");
	char ts[32];

	cJSON_AddStringToObject(c, "path", h->cfg->path);
	cJSON_AddNumberToObject(c, "reloads_applied",
				(double)h->reloads_applied);
	cJSON_AddNumberToObject(c, "reloads_failed", (double)h->reloads_failed);
	if (h->reload_cfg != NULL) {
		cJSON_AddStringToObject(c, "last_reload", "pending");
	} else if (h->last_reload_ms != 0) {
		cJSON_AddStringToObject(
			c, "last_reload",
			h->last_reload_error != NULL ? "failed" : "applied");
	}
	if (h->last_reload_ms != 0) {
		timeutil_format_rfc3339(h->last_reload_ms / 1000, ts);
		cJSON_AddStringToObject(c, "last_reload_at", ts);
	}
	if (h->last_reload_error != NULL) {
		cJSON_AddStringToObject(c, "last_reload_error",
					h->last_reload_error);
	}
}

/*
 * "last": why the last bucket did or did not alert, the score of its
 * strongest span, the threshold that span had, its length and its start.
 */
static void last_json(const struct rule_rt *r, const struct detect_result *last,
		      cJSON *o)
{
	cJSON *l = cJSON_AddObjectToObject(o, "last");
	int span = last->span > 0 ? last->span : 1;
	int64_t span_ms = (int64_t)span * r->cfg->bucket_ms;
	char ts[32];

	cJSON_AddStringToObject(l, "reason", detect_reason_name(last->reason));
	cJSON_AddNumberToObject(l, "score", last->score);
	cJSON_AddNumberToObject(l, "threshold", last->threshold);
	cJSON_AddNumberToObject(l, "span_minutes", (double)span_ms / 60000.0);
	timeutil_format_rfc3339((last->end_ms - span_ms) / 1000, ts);
	cJSON_AddStringToObject(l, "window_start", ts);
}

void views_rules_json(struct hark *h, struct buf *out)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(root, "rules");
	char *text;

	for (size_t i = 0; i < h->cfg->n_rules; i++) {
		struct rule_rt *r = &h->rules[i];
		const struct detect_result *last = detector_last(r->det);
		cJSON *o = cJSON_CreateObject();
		char dur[32], ts[32];
		int64_t rec, warm_at;
		int rec_days;
		/* zeroed until the first bucket (after a restore too) */
		bool stepped = last->end_ms != last->start_ms;

		timeutil_format_duration(r->cfg->bucket_ms, dur);
		cJSON_AddStringToObject(o, "name", r->cfg->name);
		cJSON_AddNumberToObject(o, "count",
					r->has_last ? (double)r->last_count
						    : (double)last->count);
		cJSON_AddNumberToObject(o, "baseline",
					detector_baseline(r->det));
		cJSON_AddStringToObject(
			o, "state", detect_state_name(detector_state(r->det)));
		cJSON_AddNumberToObject(o, "matched_total",
					(double)r->matched_total);
		cJSON_AddNumberToObject(o, "late_total", (double)r->late_total);
		cJSON_AddStringToObject(o, "bucket", dur);
		if (stepped) {
			timeutil_format_rfc3339(last->start_ms / 1000, ts);
			cJSON_AddStringToObject(o, "window_start", ts);
			timeutil_format_rfc3339(last->end_ms / 1000, ts);
			cJSON_AddStringToObject(o, "window_end", ts);
			cJSON_AddNumberToObject(o, "ratio", last->ratio);
			cJSON_AddNumberToObject(o, "score", last->score);
			last_json(r, last, o);
		}
		warm_at = detector_warm_at(r->det);
		if (warm_at != INT64_MIN) {
			timeutil_format_rfc3339(warm_at / 1000, ts);
			cJSON_AddStringToObject(o, "warm_at", ts);
		}
		rec = detector_record(r->det, &rec_days);
		if (rec_days > 0) {
			cJSON *ro = cJSON_AddObjectToObject(o, "record");

			cJSON_AddNumberToObject(ro, "count", (double)rec);
			cJSON_AddNumberToObject(ro, "days", rec_days);
		}
		cJSON_AddNumberToObject(o, "alerts_fired",
					(double)r->fired_total);
		cJSON_AddNumberToObject(o, "alerts_resolved",
					(double)r->resolved_total);
		cJSON_AddItemToArray(arr, o);
	}
	config_json(h, root);
	text = cJSON_PrintUnformatted(root);
	if (buf_append(out, text, strlen(text)) < 0) {
		buf_reset(out);
	}
	free(text);
	cJSON_Delete(root);
}

/* One labelled sample; label values are escaped by prom_sample. */
#define LABEL1(k, v) (&(const struct prom_label){(k), (v)}), 1
#define LABELS2(k1, v1, k2, v2) \
	((const struct prom_label[]){{(k1), (v1)}, {(k2), (v2)}}), 2

/* A family of one unlabelled sample; none when v < 0 (not readable). */
static void one(struct prom_page *pg, const char *name, const char *type,
		const char *help, double v)
{
	if (v < 0) {
		return;
	}
	prom_family(pg, name, type, help);
	prom_sample(pg, name, NULL, 0, "%.3f", v);
}

/* What every exporter has: its build, and the process's own figures
 * (named as Prometheus's client libraries name them). */
static void process_metrics(const struct hark *h, struct prom_page *pg)
{
	struct procstat ps;

	prom_family(pg, "hark_build_info", "gauge",
		    "Always 1: the version and source revision running.");
	prom_sample(pg, "hark_build_info",
		    LABELS2("version", HARK_VERSION, "revision", HARK_REVISION),
		    "1");
	procstat_read(&ps);
	one(pg, "process_start_time_seconds", "gauge",
	    "Start time of the process since the epoch, seconds.",
	    (double)h->started_ms / 1000.0);
	one(pg, "process_resident_memory_bytes", "gauge",
	    "Resident memory size in bytes.", ps.resident_bytes);
	one(pg, "process_virtual_memory_bytes", "gauge",
	    "Virtual memory size in bytes.", ps.virtual_bytes);
	one(pg, "process_cpu_seconds_total", "counter",
	    "User and system CPU time spent, seconds.", ps.cpu_seconds);
	one(pg, "process_open_fds", "gauge", "Open file descriptors.",
	    ps.open_fds);
	one(pg, "process_max_fds", "gauge",
	    "Maximum number of open file descriptors.", ps.max_fds);
}

void views_metrics_text(struct hark *h, struct buf *out)
{
	const struct config *cfg = h->cfg;
	struct prom_page pg;

	prom_page_init(&pg, out);
	process_metrics(h, &pg);
	prom_family(&pg, "hark_mentions_received_total", "counter",
		    "Mention lines received from every source.");
	prom_sample(&pg, "hark_mentions_received_total", NULL, 0, "%llu",
		    (unsigned long long)h->received);
	prom_family(&pg, "hark_mentions_rejected_total", "counter",
		    "Mention lines rejected as malformed.");
	prom_sample(&pg, "hark_mentions_rejected_total", NULL, 0, "%llu",
		    (unsigned long long)h->rejected);
	prom_family(
		&pg, "hark_mentions_late_total", "counter",
		"Mentions older than the watermark of a rule they matched.");
	prom_sample(&pg, "hark_mentions_late_total", NULL, 0, "%llu",
		    (unsigned long long)h->late);
	prom_family(&pg, "hark_mentions_future_total", "counter",
		    "Mentions refused for a created_at further ahead of the "
		    "clock than max_future (also counted rejected).");
	prom_sample(&pg, "hark_mentions_future_total", NULL, 0, "%llu",
		    (unsigned long long)h->future);
	if (h->intake != NULL) {
		struct intake_stats is = intake_stats(h->intake);

		prom_family(&pg, "hark_push_workers", "gauge",
			    "Threads parsing and matching pushed bodies "
			    "(http.workers).");
		prom_sample(&pg, "hark_push_workers", NULL, 0, "%u",
			    is.workers);
		prom_family(&pg, "hark_push_busy_total", "counter",
			    "Pushes answered 503 because the workers were "
			    "behind.");
		prom_sample(&pg, "hark_push_busy_total", NULL, 0, "%llu",
			    (unsigned long long)is.busy);
		prom_family(&pg, "hark_push_held_bytes", "gauge",
			    "Bytes of pushed bodies taken and not yet "
			    "answered.");
		prom_sample(&pg, "hark_push_held_bytes", NULL, 0, "%llu",
			    (unsigned long long)is.held_bytes);
	}
	if (h->api != NULL) {
		struct httpgate_stats gs = api_gate_stats(h->api);

		prom_family(&pg, "hark_http_connections", "gauge",
			    "Open API connections (http.max_connections).");
		prom_sample(&pg, "hark_http_connections", NULL, 0, "%zu",
			    gs.open);
		prom_family(&pg, "hark_http_limited_total", "counter",
			    "API connections closed by a limit: "
			    "max_connections (503), head_size (431), "
			    "header_timeout.");
		prom_sample(&pg, "hark_http_limited_total",
			    LABEL1("limit", "max_connections"), "%llu",
			    (unsigned long long)gs.refused);
		prom_sample(&pg, "hark_http_limited_total",
			    LABEL1("limit", "head_size"), "%llu",
			    (unsigned long long)gs.head_too_large);
		prom_sample(&pg, "hark_http_limited_total",
			    LABEL1("limit", "header_timeout"), "%llu",
			    (unsigned long long)gs.head_timeouts);
	}
	prom_family(&pg, "hark_source_received_total", "counter",
		    "Lines received per source.");
	for (size_t i = 0; i < cfg->n_sources; i++) {
		prom_sample(&pg, "hark_source_received_total",
			    LABEL1("source", cfg->sources[i].name), "%llu",
			    (unsigned long long)h->src_stats[i].received);
	}
	prom_family(&pg, "hark_config_reloads_total", "counter",
		    "Configuration reloads (SIGHUP) applied, and refused or "
		    "invalid.");
	prom_sample(&pg, "hark_config_reloads_total",
		    LABEL1("result", "applied"), "%llu",
		    (unsigned long long)h->reloads_applied);
	prom_sample(&pg, "hark_config_reloads_total",
		    LABEL1("result", "failed"), "%llu",
		    (unsigned long long)h->reloads_failed);
	prom_family(&pg, "hark_rule_matched_total", "counter",
		    "Mentions matched per rule.");
	for (size_t i = 0; i < cfg->n_rules; i++) {
		prom_sample(&pg, "hark_rule_matched_total",
			    LABEL1("rule", cfg->rules[i].name), "%llu",
			    (unsigned long long)h->rules[i].matched_total);
	}
	prom_family(&pg, "hark_rule_baseline", "gauge",
		    "Expected count of the next bucket per rule.");
	for (size_t i = 0; i < cfg->n_rules; i++) {
		prom_sample(&pg, "hark_rule_baseline",
			    LABEL1("rule", cfg->rules[i].name), "%.3f",
			    detector_baseline(h->rules[i].det));
	}
	prom_family(&pg, "hark_rule_firing", "gauge",
		    "1 while the rule's alert is firing.");
	for (size_t i = 0; i < cfg->n_rules; i++) {
		prom_sample(&pg, "hark_rule_firing",
			    LABEL1("rule", cfg->rules[i].name), "%d",
			    detector_state(h->rules[i].det) ==
				    DETECT_STATE_FIRING);
	}
	prom_family(&pg, "hark_alerts_total", "counter",
		    "Alert notifications per rule and status.");
	for (size_t i = 0; i < cfg->n_rules; i++) {
		prom_sample(
			&pg, "hark_alerts_total",
			LABELS2("rule", cfg->rules[i].name, "status", "firing"),
			"%llu", (unsigned long long)h->rules[i].fired_total);
		prom_sample(&pg, "hark_alerts_total",
			    LABELS2("rule", cfg->rules[i].name, "status",
				    "resolved"),
			    "%llu",
			    (unsigned long long)h->rules[i].resolved_total);
	}
	prom_family(&pg, "hark_alerts_silenced_total", "counter",
		    "Notifications suppressed by a silence.");
	prom_sample(&pg, "hark_alerts_silenced_total", NULL, 0, "%llu",
		    (unsigned long long)h->silenced_total);
	prom_family(&pg, "hark_deliveries_total", "counter",
		    "Deliveries per receiver and result.");
	for (size_t i = 0; i < cfg->n_receivers; i++) {
		struct deliver_stats s = deliver_stats(h->deliver, i);

		prom_sample(&pg, "hark_deliveries_total",
			    LABELS2("receiver", cfg->receivers[i].name,
				    "result", "sent"),
			    "%llu", (unsigned long long)s.sent);
		prom_sample(&pg, "hark_deliveries_total",
			    LABELS2("receiver", cfg->receivers[i].name,
				    "result", "failed"),
			    "%llu", (unsigned long long)s.failed);
	}
	prom_family(&pg, "hark_outbox_pending", "gauge",
		    "Notifications in the outbox, not yet delivered.");
	for (size_t i = 0; i < cfg->n_receivers; i++) {
		prom_sample(&pg, "hark_outbox_pending",
			    LABEL1("receiver", cfg->receivers[i].name), "%llu",
			    (unsigned long long)deliver_stats(h->deliver, i)
				    .pending);
	}
	prom_family(&pg, "hark_deadletter_total", "counter",
		    "Notifications moved to the dead-letter list.");
	for (size_t i = 0; i < cfg->n_receivers; i++) {
		prom_sample(&pg, "hark_deadletter_total",
			    LABEL1("receiver", cfg->receivers[i].name), "%llu",
			    (unsigned long long)deliver_stats(h->deliver, i)
				    .deadletter);
	}
	prom_family(&pg, "hark_outbox_full_total", "counter",
		    "Notifications refused because the outbox was full.");
	for (size_t i = 0; i < cfg->n_receivers; i++) {
		prom_sample(&pg, "hark_outbox_full_total",
			    LABEL1("receiver", cfg->receivers[i].name), "%llu",
			    (unsigned long long)deliver_stats(h->deliver, i)
				    .outbox_full);
	}
	prom_family(&pg, "hark_store_up", "gauge",
		    "1 while the store is reachable.");
	prom_sample(&pg, "hark_store_up", NULL, 0, "%d", store_up(h->store));
	prom_family(&pg, "hark_store_commands_total", "counter",
		    "Commands asked of the store (a Lua step counts one).");
	prom_sample(&pg, "hark_store_commands_total", NULL, 0, "%llu",
		    (unsigned long long)store_commands(h->store));
	prom_family(&pg, "hark_store_pending_writes", "gauge",
		    "Count writes waiting for the store to come back.");
	prom_sample(&pg, "hark_store_pending_writes", NULL, 0, "%zu",
		    counts_pending(h->counts));
	prom_family(&pg, "hark_store_dropped_writes_total", "counter",
		    "Count writes dropped because the pending queue was full.");
	prom_sample(&pg, "hark_store_dropped_writes_total", NULL, 0, "%llu",
		    (unsigned long long)counts_dropped(h->counts));
	{
		size_t bytes = 0;

		for (size_t i = 0; i < cfg->n_rules; i++) {
			bytes += series_bytes(h->rules[i].series);
		}
		prom_family(&pg, "hark_window_bytes", "gauge",
			    "Bytes the rules' open buckets and the spares "
			    "kept for their next ones hold (tallies, "
			    "samples, references; not the texts shared "
			    "between rules).");
		prom_sample(&pg, "hark_window_bytes", NULL, 0, "%zu", bytes);
		bytes = 0;
		for (size_t i = 0; i < cfg->n_rules; i++) {
			bytes += emerge_bytes(h->rules[i].emerge);
		}
		prom_family(&pg, "hark_emerge_bytes", "gauge",
			    "Bytes the rules' models of their usual terms "
			    "hold (at most 12 KiB a rule).");
		prom_sample(&pg, "hark_emerge_bytes", NULL, 0, "%zu", bytes);
	}
	fleet_metrics(h, &pg);
}

#undef LABEL1
#undef LABELS2

int views_series(struct hark *h, const char *rule, int64_t from_ms,
		 int64_t to_ms, chart_read_fn *cb, void *arg)
{
	long i = config_find_rule(h->cfg, rule);
	struct chart_where w;

	if (i < 0) {
		return -1;
	}
	w = evaluate_chart_where(h, &h->rules[i]);
	chart_read(&w, from_ms, to_ms, cb, arg);
	return 0;
}

int64_t views_rule_bucket_ms(const struct hark *h, const char *rule)
{
	long i = config_find_rule(h->cfg, rule);

	return i < 0 ? -1 : h->cfg->rules[i].bucket_ms;
}

void views_silences_json(struct hark *h, struct buf *out)
{
	char *text = silences_encode(&h->silences, timeutil_now_ms());

	if (buf_append(out, text, strlen(text)) < 0) {
		buf_reset(out);
	}
	free(text);
}

void views_alerts_json(struct hark *h, const char *rule, const char *status,
		       int64_t since_ms, size_t limit, struct buf *out)
{
	struct history_filter f = {rule, status, since_ms, limit};
	char *text = history_encode(&h->history, &f);

	if (buf_append(out, text, strlen(text)) < 0) {
		buf_reset(out);
	}
	free(text);
}

void views_sources_json(struct hark *h, struct buf *out)
{
	static const char *const types[] = {
		[CONFIG_SOURCE_HTTP_PUSH] = "http-push",
		[CONFIG_SOURCE_FILE] = "file",
		[CONFIG_SOURCE_HTTP_STREAM] = "http-stream",
		[CONFIG_SOURCE_SSE] = "sse",
		[CONFIG_SOURCE_REDIS_STREAM] = "redis-stream",
	};
	cJSON *root = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(root, "sources");
	char *text;

	for (size_t i = 0; i < h->cfg->n_sources; i++) {
		const struct config_source *src = &h->cfg->sources[i];
		cJSON *o = cJSON_CreateObject();
		struct source_stats st;

		if (h->streams[i] != NULL || h->redis_sources[i] != NULL) {
			st = h->streams[i] != NULL
				     ? source_http_stats(h->streams[i])
				     : source_redis_stats(h->redis_sources[i]);
			source_stats_json(&st, src->name, types[src->type], o);
		} else {
			/* Push and file sources: no connection. */
			const char *state = "listening";

			if (src->type == CONFIG_SOURCE_FILE &&
			    h->files[i] != NULL) {
				state = ingest_file_state(h->files[i]);
			} else if (src->type == CONFIG_SOURCE_FILE) {
				/* Not started: its saved position is on
				 * the way, or it could not be opened. */
				state = h->phase == PHASE_SERVING &&
							!h->file_pos[i].started
						? "waiting"
						: "stopped";
			} else if (src->type != CONFIG_SOURCE_HTTP_PUSH) {
				state = "stopped"; /* failed to start */
			}
			cJSON_AddStringToObject(o, "name", src->name);
			cJSON_AddStringToObject(o, "type", types[src->type]);
			cJSON_AddStringToObject(o, "state", state);
			cJSON_AddNumberToObject(
				o, "received",
				(double)h->src_stats[i].received);
			cJSON_AddNumberToObject(
				o, "duplicates",
				(double)h->src_stats[i].duplicates);
			cJSON_AddNumberToObject(
				o, "rejected",
				(double)h->src_stats[i].rejected);
			cJSON_AddNumberToObject(o, "reconnects", 0);
			if (src->type == CONFIG_SOURCE_FILE &&
			    h->files[i] != NULL) {
				struct ingest_stats fs =
					ingest_file_stats(h->files[i]);

				/* Followed files: rotations and truncations
				 * are what reconnects are to streams. */
				cJSON_ReplaceItemInObject(
					o, "reconnects",
					cJSON_CreateNumber(
						(double)(fs.reopens +
							 fs.truncations)));
				cJSON_AddNumberToObject(o, "reopens",
							(double)fs.reopens);
				cJSON_AddNumberToObject(o, "truncations",
							(double)fs.truncations);
				cJSON_AddNumberToObject(o, "skipped",
							(double)fs.skipped);
				cJSON_AddNumberToObject(o, "partial",
							(double)fs.partial);
			}
		}
		cJSON_AddItemToArray(arr, o);
	}
	text = cJSON_PrintUnformatted(root);
	if (buf_append(out, text, strlen(text)) < 0) {
		buf_reset(out);
	}
	free(text);
	cJSON_Delete(root);
}

/* ---- the dashboard's overview: a page of rules and their sparklines ---- */

/* Steps a sparkline may be summed by, in buckets: each a round number of
 * a usual bucket (5 min: 10 min, 15, 20, 30, 1 h, 2, 3, 4, 6, 12, 1 day). */
static const int64_t spark_steps[] = {1,  2,  3,  4,   6,   12,  24,
				      36, 48, 72, 144, 288, 2016};

/* Points a sparkline draws at most: one per pixel of a phone's width. */
#define SPARK_POINTS 300

struct overview_rule {
	size_t rule;
	const char *name; /* the rule's, for the order */
	int group;        /* 0 firing, 1 silenced, 2 warming, 3 ok */
	struct point *v;
	size_t n;
};

struct overview {
	struct hark *h;
	views_text_fn *cb;
	void *arg;
	struct views_page q;
	int64_t from_ms, to_ms;
	size_t total;
	int states[4];
	struct overview_rule *page;
	size_t n_page;
	size_t left;
	int status;
};

struct overview_read {
	struct overview *o;
	size_t i;
};

static const char *const group_names[] = {"firing", "silenced", "warming",
					  "ok"};

static int group_of(struct hark *h, const struct rule_rt *r, int64_t now)
{
	if (notify_silenced_by(h, r, now) != NULL) {
		return 1;
	}
	switch (detector_state(r->det)) {
	case DETECT_STATE_FIRING:
		return 0;
	case DETECT_STATE_WARMING:
		return 2;
	default:
		return 3;
	}
}

/* Whether name holds q, ASCII letters in any case (rule names are). */
static bool name_has(const char *name, const char *q)
{
	size_t nq = strlen(q);

	if (nq == 0) {
		return true;
	}
	for (const char *p = name; *p != '\0'; p++) {
		if (strncasecmp(p, q, nq) == 0) {
			return true;
		}
	}
	return false;
}

static int cmp_overview(const void *a, const void *b)
{
	const struct overview_rule *x = a, *y = b;

	if (x->group != y->group) {
		return x->group - y->group;
	}
	return strcmp(x->name, y->name);
}

/* The rule's notifications in the overview's range, oldest first:
 * [unix seconds, "firing"|"escalation"|"resolved"]. */
static void alerts_json(const struct hark *h, const char *rule, int64_t from_ms,
			int64_t to_ms, cJSON *o)
{
	cJSON *arr = cJSON_AddArrayToObject(o, "alerts");
	const struct history *hi = &h->history;

	for (size_t k = 0; k < hi->n; k++) {
		const struct history_entry *e =
			&hi->v[(hi->head + k) % HISTORY_MAX];
		cJSON *m;

		if (strcmp(e->rule, rule) != 0 || e->window_end_ms <= from_ms ||
		    e->window_start_ms >= to_ms) {
			continue;
		}
		m = cJSON_CreateArray();
		cJSON_AddItemToArray(
			m, cJSON_CreateNumber(
				   (double)(e->window_start_ms / 1000)));
		cJSON_AddItemToArray(
			m, cJSON_CreateString(strcmp(e->status, "resolved") == 0
						      ? "resolved"
					      : e->escalation ? "escalation"
							      : "firing"));
		cJSON_AddItemToArray(arr, m);
	}
}

static void overview_done(struct overview *o)
{
	struct hark *h = o->h;
	cJSON *root = cJSON_CreateObject(), *st, *arr;
	char dur[32], ts[32], *text;
	struct buf pts;

	/* SPARK_POINTS points of at most 128 bytes */
	buf_init(&pts, 128 * SPARK_POINTS + 16);
	cJSON_AddNumberToObject(root, "total", (double)o->total);
	cJSON_AddNumberToObject(root, "offset", (double)o->q.offset);
	cJSON_AddNumberToObject(root, "limit", (double)o->q.limit);
	timeutil_format_duration(o->q.range_ms, dur);
	cJSON_AddStringToObject(root, "range", dur);
	timeutil_format_rfc3339(o->to_ms / 1000, ts);
	cJSON_AddStringToObject(root, "now", ts);
	st = cJSON_AddObjectToObject(root, "states");
	for (int g = 0; g < 4; g++) {
		cJSON_AddNumberToObject(st, group_names[g], o->states[g]);
	}
	arr = cJSON_AddArrayToObject(root, "rules");
	for (size_t i = 0; i < o->n_page && o->status == 0; i++) {
		struct overview_rule *p = &o->page[i];
		const struct rule_rt *r = &h->rules[p->rule];
		const struct detect_result *last = detector_last(r->det);
		int64_t step = r->cfg->bucket_ms;
		int64_t buckets = o->q.range_ms / r->cfg->bucket_ms;
		cJSON *ro = cJSON_CreateObject();

		for (size_t s = 0;
		     s < sizeof(spark_steps) / sizeof(*spark_steps); s++) {
			step = spark_steps[s] * r->cfg->bucket_ms;
			if (buckets / spark_steps[s] <= SPARK_POINTS) {
				break;
			}
		}
		points_step(p->v, &p->n, step);
		cJSON_AddStringToObject(ro, "name", r->cfg->name);
		cJSON_AddStringToObject(
			ro, "state", detect_state_name(detector_state(r->det)));
		cJSON_AddBoolToObject(ro, "silenced", p->group == 1);
		timeutil_format_duration(r->cfg->bucket_ms, dur);
		cJSON_AddStringToObject(ro, "bucket", dur);
		timeutil_format_duration(step, dur);
		cJSON_AddStringToObject(ro, "step", dur);
		cJSON_AddNumberToObject(ro, "count",
					r->has_last ? (double)r->last_count
						    : (double)last->count);
		if (detector_state(r->det) == DETECT_STATE_WARMING) {
			cJSON_AddNullToObject(ro, "baseline");
		} else {
			cJSON_AddNumberToObject(ro, "baseline",
						detector_baseline(r->det));
		}
		buf_reset(&pts);
		cJSON_AddRawToObject(ro, "points",
				     points_json_compact(&pts, p->v, p->n) <
							     0 ||
						     buf_putc(&pts, '\0') < 0
					     ? "[]"
					     : pts.data);
		alerts_json(h, r->cfg->name, o->from_ms, o->to_ms, ro);
		cJSON_AddItemToArray(arr, ro);
	}
	buf_fini(&pts);
	text = o->status == 0 ? cJSON_PrintUnformatted(root) : NULL;
	cJSON_Delete(root);
	o->cb(o->arg, o->status, text, text != NULL ? strlen(text) : 0);
	free(text);
	for (size_t i = 0; i < o->n_page; i++) {
		free(o->page[i].v);
	}
	free(o->page);
	free(o);
}

static void overview_read_cb(void *arg, int status, const struct point *v,
			     size_t n)
{
	struct overview_read *rd = arg;
	struct overview *o = rd->o;
	struct overview_rule *p = &o->page[rd->i];

	free(rd);
	if (status != 0) {
		o->status = -1;
	} else if (n > 0) {
		p->v = xmalloc(n * sizeof(*v));
		memcpy(p->v, v, n * sizeof(*v));
		p->n = n;
	}
	if (--o->left == 0) {
		overview_done(o);
	}
}

void views_overview(struct hark *h, const struct views_page *q,
		    views_text_fn *cb, void *arg)
{
	struct overview *o = xcalloc(1, sizeof(*o));
	struct overview_rule *all = xcalloc(h->cfg->n_rules + 1, sizeof(*all));
	int64_t now = timeutil_now_ms();
	size_t n = 0;

	o->h = h;
	o->cb = cb;
	o->arg = arg;
	o->q = *q;
	o->to_ms = now;
	o->from_ms = now - q->range_ms;
	for (size_t i = 0; i < h->cfg->n_rules; i++) {
		const struct rule_rt *r = &h->rules[i];

		if (!name_has(r->cfg->name, q->q != NULL ? q->q : "")) {
			continue;
		}
		all[n].rule = i;
		all[n].name = r->cfg->name;
		all[n].group = group_of(h, r, now);
		o->states[all[n].group]++;
		n++;
	}
	o->total = n;
	o->q.q = NULL; /* the caller's, used only above */
	qsort(all, n, sizeof(*all), cmp_overview);
	if (q->offset < n) {
		o->n_page = n - q->offset < q->limit ? n - q->offset : q->limit;
	}
	o->page = xcalloc(o->n_page + 1, sizeof(*o->page));
	memcpy(o->page, all + (q->offset < n ? q->offset : 0),
	       o->n_page * sizeof(*all));
	free(all);
	/* one more than the reads, so that reads answered at once do not
	 * finish before every read has gone out */
	o->left = o->n_page + 1;
	for (size_t i = 0; i < o->n_page; i++) {
		const struct rule_rt *r = &h->rules[o->page[i].rule];
		struct overview_read *rd = xcalloc(1, sizeof(*rd));
		struct chart_where w = evaluate_chart_where(h, r);
		int64_t from =
			window_bucket_start(o->from_ms, r->cfg->bucket_ms);

		rd->o = o;
		rd->i = i;
		chart_read(&w, from, o->to_ms, overview_read_cb, rd);
	}
	if (--o->left == 0) {
		overview_done(o);
	}
}

int views_top(struct hark *h, const char *rule, int64_t at_ms,
	      views_text_fn *cb, void *arg)
{
	return about_top(h, rule, at_ms, cb, arg);
}
