/* SPDX-License-Identifier: MIT */
/*
 * Alerts out: a detector's verdict becomes an alert's body, is filed in the
 * history (marked when a silence covers it), and goes to the outbox of each
 * receiver; a firing episode is sent again every repeat_interval. Silences
 * and history live here because the decision to send reads them. Delivery
 * itself is io/deliver's. Runs on the loop.
 */
#include "daemon/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/detect.h"
#include "core/history.h"
#include "core/keys.h"
#include "core/render.h"
#include "core/silence.h"
#include "core/window.h"
#include "daemon/counts.h"
#include "daemon/daemon.h"
#include "daemon/fleet.h"
#include "io/deliver.h"
#include "io/store.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/timeutil.h"

static void save_globals(struct hark *h)
{
	int64_t now = timeutil_now_ms();
	char *key, *text;

	if (h->replay) {
		return;
	}
	key = keys_silences(h->cfg->prefix);
	text = silences_encode(&h->silences, now);
	store_set(h->store, key, text, strlen(text), 0, NULL, NULL);
	free(key);
	free(text);
	key = keys_alerts(h->cfg->prefix);
	text = history_encode(&h->history, NULL);
	store_set(h->store, key, text, strlen(text), 0, NULL, NULL);
	free(key);
	free(text);
}

/* ---- silences and history, read at start ---- */

struct globals_ctx {
	struct hark *h;
	bool alerts; /* else silences */
};

static void globals_cb(void *arg, int status, const char *val, size_t len)
{
	struct globals_ctx *c = arg;
	struct hark *h = c->h;
	bool alerts = c->alerts;

	free(c);
	if (h->globals_loaded || h->phase != PHASE_LOADING) {
		return;
	}
	if (--h->globals_inflight_n == 0) {
		h->globals_inflight = false;
	}
	if (status != 0) {
		return; /* retried by the tick until the deadline */
	}
	if (alerts) {
		if (val != NULL && history_decode(&h->history, val, len) < 0) {
			log_warn("hark", "saved alert history unreadable; "
					 "starting without");
		}
		h->history_ok = true;
	} else {
		if (val != NULL &&
		    silences_decode(&h->silences, val, len) < 0) {
			log_warn("hark", "saved silences unreadable; starting "
					 "without");
		}
		h->silences_ok = true;
	}
	h->globals_loaded = h->history_ok && h->silences_ok;
	if (h->globals_loaded && hark_all_loaded(h)) {
		hark_begin_serving(h);
	}
}

void notify_load(struct hark *h)
{
	struct globals_ctx *c;
	char *key;

	if (h->globals_loaded || h->globals_inflight) {
		return;
	}
	h->globals_inflight = true;
	if (!h->silences_ok) {
		c = xcalloc(1, sizeof(*c));
		c->h = h;
		key = keys_silences(h->cfg->prefix);
		h->globals_inflight_n++;
		store_get(h->store, key, globals_cb, c);
		free(key);
	}
	if (!h->history_ok) {
		c = xcalloc(1, sizeof(*c));
		c->h = h;
		c->alerts = true;
		key = keys_alerts(h->cfg->prefix);
		h->globals_inflight_n++;
		store_get(h->store, key, globals_cb, c);
		free(key);
	}
}

/* ---- alerts out ---- */

/* Files the notification in the history, marked when a silence covers it
 * (the rule's name and labels against each active silence). */
static void record_alert(struct hark *h, const struct rule_rt *r,
			 const struct alert *a, const struct eval *e)
{
	struct history_entry he;
	struct silence_label *labels =
		xcalloc(r->cfg->n_labels + 1, sizeof(*labels));
	size_t n = 0;
	const struct silence *sil;
	int64_t now = h->replay ? e->b.end_ms : timeutil_now_ms();

	for (size_t i = 0; i < r->cfg->n_labels; i++) {
		labels[n].name = r->cfg->labels[i].name;
		labels[n].value = r->cfg->labels[i].value;
		n++;
	}
	sil = h->replay ? NULL
			: silences_match(&h->silences, r->cfg->name, labels, n,
					 now);
	free(labels);
	memset(&he, 0, sizeof(he));
	snprintf(he.id, sizeof(he.id), "%s", a->id);
	he.rule = (char *)r->cfg->name;
	snprintf(he.status, sizeof(he.status), "%s", a->status);
	he.window_start_ms = a->window_start_ms;
	he.window_end_ms = a->window_end_ms;
	he.count = a->count;
	he.baseline = a->baseline;
	he.ratio = a->ratio;
	he.score = a->score;
	he.at_ms = now;
	he.silenced_by = sil != NULL ? (char *)sil->id : NULL;
	if (sil != NULL) {
		h->silenced_total++;
	}
	history_add(&h->history, &he);
	save_globals(h);
}

/* The alert of rule r's result res over bucket b; labels (n_labels + 1),
 * authors, langs and terms (WINDOW_TOP_N) are the caller's storage. */
static void fill_alert(const struct hark *h, const struct rule_rt *r,
		       const struct detect_result *res,
		       const struct closed_bucket *b, const char *status,
		       struct alert *out, struct render_label *labels,
		       struct render_top *authors, struct render_top *langs,
		       struct render_top *terms)
{
	struct alert a;
	bool resolved = strcmp(status, "resolved") == 0;

	memset(&a, 0, sizeof(a));
	/* Counted over every mention of the bucket, not only the samples. */
	for (size_t i = 0; i < b->n_top_authors; i++) {
		authors[i].name = b->top_authors[i].name;
		authors[i].count = b->top_authors[i].count;
	}
	for (size_t i = 0; i < b->n_top_langs; i++) {
		langs[i].name = b->top_langs[i].name;
		langs[i].count = b->top_langs[i].count;
	}
	a.top_authors = authors;
	a.n_top_authors = b->n_top_authors;
	a.top_langs = langs;
	a.n_top_langs = b->n_top_langs;
	for (size_t i = 0; i < b->n_top_terms; i++) {
		terms[i].name = b->top_terms[i].name;
		terms[i].count = b->top_terms[i].count;
	}
	a.top_terms = terms;
	a.n_top_terms = b->n_top_terms;
	for (size_t i = 0; i < r->cfg->n_labels; i++) {
		labels[i].name = r->cfg->labels[i].name;
		labels[i].value = r->cfg->labels[i].value;
	}
	a.rule = r->cfg->name;
	a.status = status;
	a.window_start_ms = res->start_ms;
	a.window_end_ms = res->end_ms;
	a.count = res->count;
	a.baseline = res->baseline;
	a.ratio = res->ratio;
	a.score = res->score;
	a.record = res->record;
	a.record_days = res->record_days;
	if (!resolved) {
		a.escalation = res->escalation;
		/* What the score is of, when longer than the bucket. */
		if (res->span > 1) {
			a.span_ms = (int64_t)res->span * r->cfg->bucket_ms;
			a.span_count = res->span_count;
			a.span_baseline = res->span_baseline;
		}
	}
	a.samples = b->samples;
	a.n_samples = b->n_samples;
	if (a.n_samples > (size_t)r->cfg->samples) {
		a.n_samples = (size_t)r->cfg->samples;
	}
	a.labels = labels;
	a.n_labels = r->cfg->n_labels;
	a.external_url = h->cfg->external_url;
	/* The episode's start, for Alertmanager's startsAt (an escalation
	 * is the same alert there). */
	a.started_at_ms = (resolved || a.escalation) && res->fired_start_ms != 0
				  ? res->fired_start_ms
				  : res->start_ms;
	render_alert_id(&a);
	*out = a;
}

void notify_alert(struct hark *h, struct rule_rt *r,
		  const struct detect_result *res, const struct eval *e,
		  const char *status)
{
	notify_alert_as(h, r, res, e, status, true);
}

void notify_alert_as(struct hark *h, struct rule_rt *r,
		     const struct detect_result *res, const struct eval *e,
		     const char *status, bool send)
{
	struct alert a;
	struct render_label *labels;
	char *body;
	size_t len;
	bool resolved = strcmp(status, "resolved") == 0;
	const struct history_entry *last;
	struct render_top authors[WINDOW_TOP_N], langs[WINDOW_TOP_N];
	struct render_top terms[WINDOW_TOP_N];

	labels = xcalloc(r->cfg->n_labels + 1, sizeof(*labels));
	fill_alert(h, r, res, &e->b, status, &a, labels, authors, langs, terms);
	record_alert(h, r, &a, e);
	last = &h->history
			.v[(h->history.head + h->history.n - 1) % HISTORY_MAX];
	log_info("alert",
		 "%s rule=%s count=%lld baseline=%.1f ratio=%.1f "
		 "score=%.1f span=%d reason=%s id=%s%s%s%s%s",
		 status, r->cfg->name, (long long)a.count, a.baseline, a.ratio,
		 a.score, res->span, detect_reason_name(res->reason), a.id,
		 a.escalation ? " escalation=true" : "",
		 last->silenced_by != NULL ? " silenced_by=" : "",
		 last->silenced_by != NULL ? last->silenced_by : "",
		 send ? "" : " sent_by=another_instance");
	if (h->replay) {
		if (h->replay_out.alert != NULL) {
			body = render_webhook(&a, &len);
			h->replay_out.alert(h->replay_out.arg, r->cfg->name,
					    status, a.window_start_ms, body,
					    len);
			free(body);
		}
	} else if (send && last->silenced_by == NULL) {
		for (size_t i = 0; i < r->cfg->n_notify; i++) {
			size_t ri = r->cfg->notify[i];
			const struct config_receiver *rc =
				&h->cfg->receivers[ri];

			if (resolved && !rc->send_resolved) {
				continue;
			}
			a.receiver = rc->name;
			deliver_alert(h->deliver, rc, ri, &a);
		}
	}
	free(labels);
}

void notify_repeat_arm(struct hark *h, struct rule_rt *r,
		       const struct detect_result *res, struct eval *e)
{
	int64_t now = timeutil_now_ms();

	closed_bucket_fini(&r->fired_b);
	/* kept for repeats after the raw part has gone back to the series */
	closed_bucket_fill(&e->b);
	series_reclaim(r->series, &e->b);
	r->fired_b = e->b;
	memset(&e->b, 0, sizeof(e->b));
	r->fired_res = *res;
	r->firing = true;
	for (size_t i = 0; i < r->cfg->n_notify; i++) {
		const struct config_receiver *rc =
			&h->cfg->receivers[r->cfg->notify[i]];

		r->repeats[i] = 0;
		r->repeat_at_ms[i] = rc->repeat_interval_ms > 0
					     ? now + rc->repeat_interval_ms
					     : 0;
	}
}

/* ---- one sender in a fleet ---- */

/* A verdict waiting for its claim: what notify_alert reads, kept. */
struct claim_ctx {
	struct hark *h;
	size_t rule;
	struct detect_result res;
	struct eval e; /* its bucket filled and owned here */
	char status[12];
};

static void claim_cb(void *arg, int status, long long won)
{
	struct claim_ctx *c = arg;
	struct hark *h = c->h;
	struct rule_rt *r = &h->rules[c->rule];
	/* The store did not answer: sent, as a lone daemon would (a
	 * receiver may see it twice, with the same id, rather than never). */
	bool send = status != 0 || won == 1;

	h->inflight--;
	if (!send) {
		h->claims_lost++;
	}
	notify_alert_as(h, r, &c->res, &c->e, c->status, send);
	if (send && strcmp(c->status, "firing") == 0) {
		notify_repeat_arm(h, r, &c->res, &c->e);
	}
	closed_bucket_fini(&c->e.b);
	free(c);
}

void notify_decided(struct hark *h, struct rule_rt *r,
		    const struct detect_result *res, struct eval *e,
		    const char *status)
{
	bool firing = strcmp(status, "firing") == 0;
	struct claim_ctx *c;
	char *key;

	if (!fleet_claims(h)) {
		notify_alert(h, r, res, e, status);
		if (firing && !h->replay) {
			notify_repeat_arm(h, r, res, e);
		}
		return;
	}
	/* Every member reaches this verdict on the same totals; the first
	 * to claim the bucket's notification sends it. */
	c = xcalloc(1, sizeof(*c));
	c->h = h;
	c->rule = e->rule;
	c->res = *res;
	snprintf(c->status, sizeof(c->status), "%s", status);
	closed_bucket_fill(&e->b);
	series_reclaim(r->series, &e->b);
	c->e = *e;
	c->e.next = NULL;
	memset(&e->b, 0, sizeof(e->b));
	key = keys_sent(h->cfg->prefix, r->cfg->name, res->start_ms, status);
	h->inflight++;
	store_claim(h->store, key, counts_writer(h->counts),
		    h->cfg->retention_ms, claim_cb, c);
	free(key);
}

void notify_repeat_due(struct hark *h)
{
	int64_t now = timeutil_now_ms();

	for (size_t k = 0; k < h->cfg->n_rules; k++) {
		struct rule_rt *r = &h->rules[k];
		struct render_label *labels;
		struct silence_label *sl;
		struct render_top authors[WINDOW_TOP_N], langs[WINDOW_TOP_N];
		struct render_top terms[WINDOW_TOP_N];
		struct alert a;
		bool silenced;

		if (!r->firing) {
			continue;
		}
		for (size_t i = 0; i < r->cfg->n_notify; i++) {
			size_t ri = r->cfg->notify[i];
			const struct config_receiver *rc =
				&h->cfg->receivers[ri];

			if (r->repeat_at_ms[i] == 0 ||
			    now < r->repeat_at_ms[i]) {
				continue;
			}
			/* A clock jump sends one repeat, not a burst. */
			r->repeat_at_ms[i] = now + rc->repeat_interval_ms;
			r->repeats[i]++;
			labels = xcalloc(r->cfg->n_labels + 1, sizeof(*labels));
			sl = xcalloc(r->cfg->n_labels + 1, sizeof(*sl));
			for (size_t j = 0; j < r->cfg->n_labels; j++) {
				sl[j].name = r->cfg->labels[j].name;
				sl[j].value = r->cfg->labels[j].value;
			}
			silenced =
				silences_match(&h->silences, r->cfg->name, sl,
					       r->cfg->n_labels, now) != NULL;
			free(sl);
			fill_alert(h, r, &r->fired_res, &r->fired_b, "firing",
				   &a, labels, authors, langs, terms);
			a.repeat = r->repeats[i];
			render_alert_id(&a);
			log_info("alert",
				 "repeat rule=%s receiver=%s n=%lld "
				 "id=%s%s",
				 r->cfg->name, rc->name, (long long)a.repeat,
				 a.id, silenced ? " silenced" : "");
			if (!silenced) {
				a.receiver = rc->name;
				deliver_alert(h->deliver, rc, ri, &a);
			}
			free(labels);
		}
	}
}

int notify_silence_add(struct hark *h, const char *body, size_t len,
		       struct buf *out)
{
	struct silence sil;
	char err[256], id[33];
	int64_t now = timeutil_now_ms();
	char *text;
	uint64_t x = 1469598103934665603ULL;
	const char *p;

	/* The id: a hash of the time, a counter and the body, unique in
	 * practice and never derived from a secret. */
	h->silence_seq++;
	for (p = body; p < body + len; p++) {
		x = (x ^ (unsigned char)*p) * 1099511628211ULL;
	}
	x ^= (uint64_t)now * 0x9e3779b97f4a7c15ULL;
	x ^= h->silence_seq * 0xbf58476d1ce4e5b9ULL;
	snprintf(id, sizeof(id), "%016llx", (unsigned long long)x);
	if (silence_parse(&sil, body, len, id, now, err, sizeof(err)) < 0) {
		if (buf_printf(out, "{\"error\":\"%s\"}", err) < 0) {
			buf_reset(out);
		}
		return 400;
	}
	if (silences_add(&h->silences, &sil, now) < 0) {
		silence_fini(&sil);
		if (buf_printf(out,
			       "{\"error\":\"too many silences (at most "
			       "%d)\"}",
			       SILENCE_MAX) < 0) {
			buf_reset(out);
		}
		return 409;
	}
	text = silence_encode(&h->silences.v[h->silences.n - 1], now);
	if (buf_append(out, text, strlen(text)) < 0) {
		buf_reset(out);
	}
	log_info("hark", "silence %s added: %s", id, text);
	free(text);
	save_globals(h);
	return 201;
}

int notify_silence_expire(struct hark *h, const char *id)
{
	if (silences_expire(&h->silences, id, timeutil_now_ms()) < 0) {
		return 404;
	}
	log_info("hark", "silence %s expired", id);
	save_globals(h);
	return 200;
}
