/* SPDX-License-Identifier: MIT */
/*
 * Read-only views of the daemon's state for the API and the dashboard:
 * GET /v1/rules, /metrics, /v1/sources, /v1/alerts, /v1/silences and a
 * rule's judged series. Nothing here changes the daemon, so lib/io/api.c
 * can depend on these and never on the daemon's insides. Runs on the loop.
 */
#include "daemon/views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config/config.h"
#include "core/detect.h"
#include "core/history.h"
#include "core/prom.h"
#include "core/silence.h"
#include "daemon/counts.h"
#include "daemon/daemon.h"
#include "daemon/fleet.h"
#include "daemon/evaluate.h"
#include "daemon/intake.h"
#include "io/api.h"
#include "io/deliver.h"
#include "io/ingest.h"
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

void views_metrics_text(struct hark *h, struct buf *out)
{
	const struct config *cfg = h->cfg;
	struct prom_page pg;

	prom_page_init(&pg, out);
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
