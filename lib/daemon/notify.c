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
#include "core/texthash.h"
#include "core/window.h"
#include "daemon/counts.h"
#include "daemon/daemon.h"
#include "daemon/fleet.h"
#include "io/deliver.h"
#include "io/store.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/timeutil.h"

/*
 * The alert history: one entry per notification in
 * <prefix>{fleet}:v2:alerts (its id, a one-entry history document), so
 * that members of a fleet, which all file every notification with the
 * same id, add up instead of overwriting each other. The newest
 * HISTORY_MAX are kept: the entry the ring drops is removed there too.
 */
static void history_put(struct hark *h, const struct history_entry *e,
			const struct history_entry *dropped)
{
	struct history one;
	char *key, *text;

	if (h->replay) {
		return;
	}
	key = keys_alerts_v2(h->cfg->prefix);
	if (dropped != NULL) {
		store_hash(h->store, key, dropped->id, NULL, 0, NULL, NULL);
	}
	history_init(&one);
	history_add(&one, e);
	text = history_encode(&one, NULL);
	if (texthash_valid(e->id, text)) {
		store_hash(h->store, key, e->id, text, 0, NULL, NULL);
	}
	free(text);
	history_fini(&one);
	free(key);
}

static int cmp_entry_at(const void *a, const void *b)
{
	const struct history_entry *x = a, *y = b;

	return x->at_ms < y->at_ms ? -1 : x->at_ms > y->at_ms ? 1 : 0;
}

/* The entries of an older version's document (the whole history) or of
 * the shared hash (one each), added to h->history oldest first; those
 * already there (same id and status) left out. */
static void history_merge(struct hark *h, const char *val, size_t len,
			  bool hash)
{
	struct history all;
	struct history_entry *v = NULL;
	size_t n = 0, pos = 0;
	struct texthash_line l;

	history_init(&all);
	if (!hash) {
		if (history_decode(&all, val, len) < 0) {
			log_warn("hark", "saved alert history unreadable; "
					 "starting without");
		}
	} else {
		while (texthash_next(val, len, &pos, &l)) {
			struct history one;

			history_init(&one);
			if (history_decode(&one, l.value, l.value_len) == 0) {
				for (size_t i = 0; i < one.n; i++) {
					history_add(&all,
						    &one.v[(one.head + i) %
							   HISTORY_MAX]);
				}
			}
			history_fini(&one);
		}
	}
	for (size_t i = 0; i < h->history.n; i++) {
		history_add(&all,
			    &h->history.v[(h->history.head + i) % HISTORY_MAX]);
	}
	v = xcalloc(all.n + 1, sizeof(*v));
	for (size_t i = 0; i < all.n; i++) {
		const struct history_entry *e =
			&all.v[(all.head + i) % HISTORY_MAX];
		bool dup = false;

		for (size_t j = 0; j < n && !dup; j++) {
			dup = strcmp(v[j].id, e->id) == 0;
		}
		if (!dup) {
			v[n++] = *e;
		}
	}
	qsort(v, n, sizeof(*v), cmp_entry_at);
	history_fini(&h->history);
	history_init(&h->history);
	for (size_t i = 0; i < n; i++) {
		history_add(&h->history, &v[i]);
	}
	free(v);
	history_fini(&all);
}

/* ---- silences, shared through the store ---- */

/*
 * One entry per silence in <prefix>{fleet}:v2:silences (its id, its JSON),
 * written when it is added or ended, so that a silence added through any
 * member of a fleet holds on all of them; each reads the whole set again
 * every flush interval (notify_refresh).
 */
static void silence_put(struct hark *h, const struct silence *sil)
{
	char *key, *text;

	if (h->replay) {
		return;
	}
	/* a refresh asked for before this write must not undo it */
	h->silences_gen++;
	text = silence_encode(sil, timeutil_now_ms());
	if (texthash_valid(sil->id, text)) {
		key = keys_silences_v2(h->cfg->prefix);
		store_hash(h->store, key, sil->id, text, 0, NULL, NULL);
		free(key);
	}
	free(text);
}

/* Moves *s into set (s left empty) unless set holds its id already or is
 * full; whether it did. */
static bool silence_take(struct silences *set, struct silence *s)
{
	for (size_t i = 0; i < set->n; i++) {
		if (strcmp(set->v[i].id, s->id) == 0) {
			return false;
		}
	}
	if (set->n >= SILENCE_MAX) {
		return false;
	}
	set->v = xreallocarray(set->v, set->n + 1, sizeof(*set->v));
	set->v[set->n++] = *s;
	memset(s, 0, sizeof(*s));
	return true;
}

/* Moves the silences of the hash text (entries of another form skipped)
 * into out, those already in out (by id) left out. */
static void silences_merge(struct silences *out, const char *text, size_t len)
{
	size_t pos = 0;
	struct texthash_line l;

	while (texthash_next(text, len, &pos, &l)) {
		struct silences one;
		char *doc = xasprintf("{\"silences\":[%.*s]}", (int)l.value_len,
				      l.value);

		silences_init(&one);
		if (silences_decode(&one, doc, strlen(doc)) == 0 &&
		    one.n == 1) {
			silence_take(out, &one.v[0]);
		}
		silences_fini(&one);
		free(doc);
	}
}

struct refresh_ctx {
	struct hark *h;
	uint64_t gen;
};

static void refresh_cb(void *arg, int status, const char *val, size_t len)
{
	struct refresh_ctx *c = arg;
	struct hark *h = c->h;
	uint64_t gen = c->gen;
	struct silences fresh;
	int64_t now = timeutil_now_ms();
	char *key;

	free(c);
	h->silences_refreshing = false;
	if (status != 0 || gen != h->silences_gen) {
		return; /* down, or changed here since: the next one */
	}
	silences_init(&fresh);
	silences_merge(&fresh, val != NULL ? val : "", val != NULL ? len : 0);
	key = keys_silences_v2(h->cfg->prefix);
	for (size_t i = 0; i < fresh.n; i++) {
		if (fresh.v[i].ends_at_ms < now - SILENCE_KEEP_EXPIRED_MS) {
			store_hash(h->store, key, fresh.v[i].id, NULL, 0, NULL,
				   NULL);
		}
	}
	free(key);
	silences_fini(&h->silences);
	h->silences = fresh;
}

void notify_refresh(struct hark *h)
{
	int64_t mono = timeutil_mono_ms();
	struct refresh_ctx *c;
	char *key;

	if (h->replay || h->silences_refreshing ||
	    mono < h->silences_refresh_ms) {
		return;
	}
	h->silences_refresh_ms = mono + h->cfg->flush_interval_ms;
	h->silences_refreshing = true;
	c = xcalloc(1, sizeof(*c));
	c->h = h;
	c->gen = h->silences_gen;
	key = keys_silences_v2(h->cfg->prefix);
	store_hash(h->store, key, NULL, NULL, 0, refresh_cb, c);
	free(key);
}

/* ---- silences and history, read at start ---- */

enum globals_kind {
	GLOBALS_HISTORY,     /* the shared entries */
	GLOBALS_HISTORY_V1,  /* an older version's document */
	GLOBALS_SILENCES,    /* the shared entries */
	GLOBALS_SILENCES_V1, /* an older version's document, moved over */
};

struct globals_ctx {
	struct hark *h;
	enum globals_kind kind;
};

/* The silences of an older version's document that the shared set lacks:
 * kept and written into it. */
static void silences_migrate(struct hark *h, const char *val, size_t len)
{
	struct silences old;
	size_t before = h->silences.n;

	silences_init(&old);
	if (silences_decode(&old, val, len) < 0) {
		log_warn("hark", "saved silences unreadable; starting "
				 "without them");
		return;
	}
	for (size_t i = 0; i < old.n; i++) {
		silence_take(&h->silences, &old.v[i]);
	}
	for (size_t i = before; i < h->silences.n; i++) {
		silence_put(h, &h->silences.v[i]);
	}
	silences_fini(&old);
}

static void globals_cb(void *arg, int status, const char *val, size_t len)
{
	struct globals_ctx *c = arg;
	struct hark *h = c->h;
	enum globals_kind kind = c->kind;

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
	switch (kind) {
	case GLOBALS_HISTORY:
		if (val != NULL) {
			history_merge(h, val, len, true);
		}
		h->history_ok = true;
		break;
	case GLOBALS_HISTORY_V1:
		if (val != NULL) {
			size_t before = h->history.n;

			history_merge(h, val, len, false);
			/* moved over: what the shared entries lacked */
			for (size_t i = before;
			     h->history.n > before && i < h->history.n; i++) {
				history_put(
					h,
					&h->history.v[(h->history.head + i) %
						      HISTORY_MAX],
					NULL);
			}
		}
		h->history_v1_ok = true;
		break;
	case GLOBALS_SILENCES:
		silences_merge(&h->silences, val != NULL ? val : "",
			       val != NULL ? len : 0);
		h->silences_ok = true;
		break;
	case GLOBALS_SILENCES_V1:
		if (val != NULL) {
			silences_migrate(h, val, len);
		}
		h->silences_v1_ok = true;
		break;
	}
	h->globals_loaded = h->history_ok && h->history_v1_ok &&
			    h->silences_ok && h->silences_v1_ok;
	if (h->globals_loaded && hark_all_loaded(h)) {
		hark_begin_serving(h);
	}
}

static void globals_read(struct hark *h, enum globals_kind kind, char *key)
{
	struct globals_ctx *c = xcalloc(1, sizeof(*c));

	c->h = h;
	c->kind = kind;
	h->globals_inflight_n++;
	if (kind == GLOBALS_SILENCES || kind == GLOBALS_HISTORY) {
		store_hash(h->store, key, NULL, NULL, 0, globals_cb, c);
	} else {
		store_get(h->store, key, globals_cb, c);
	}
	free(key);
}

void notify_load(struct hark *h)
{
	if (h->globals_loaded || h->globals_inflight) {
		return;
	}
	h->globals_inflight = true;
	/* the shared set first: the old document adds only what it lacks */
	if (!h->silences_ok) {
		globals_read(h, GLOBALS_SILENCES,
			     keys_silences_v2(h->cfg->prefix));
	}
	if (!h->silences_v1_ok) {
		globals_read(h, GLOBALS_SILENCES_V1,
			     keys_silences(h->cfg->prefix));
	}
	if (!h->history_ok) {
		globals_read(h, GLOBALS_HISTORY,
			     keys_alerts_v2(h->cfg->prefix));
	}
	if (!h->history_v1_ok) {
		globals_read(h, GLOBALS_HISTORY_V1,
			     keys_alerts(h->cfg->prefix));
	}
}

/* ---- alerts out ---- */

const struct silence *notify_silenced_by(const struct hark *h,
					 const struct rule_rt *r, int64_t now)
{
	struct silence_label *sl = xcalloc(r->cfg->n_labels + 1, sizeof(*sl));
	const struct silence *sil;

	for (size_t i = 0; i < r->cfg->n_labels; i++) {
		sl[i].name = r->cfg->labels[i].name;
		sl[i].value = r->cfg->labels[i].value;
	}
	sil = silences_match(&h->silences, r->cfg->name, sl, r->cfg->n_labels,
			     now);
	free(sl);
	return sil;
}

/* Files the notification in the history, marked when a silence covers it
 * (the rule's name and labels against each active silence). */
static void record_alert(struct hark *h, const struct rule_rt *r,
			 const struct alert *a, const struct eval *e)
{
	struct history_entry he;
	const struct silence *sil;
	int64_t now = h->replay ? e->b.end_ms : timeutil_now_ms();

	sil = h->replay ? NULL : notify_silenced_by(h, r, now);
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
	he.escalation = a->escalation;
	he.silenced_by = sil != NULL ? (char *)sil->id : NULL;
	if (sil != NULL) {
		h->silenced_total++;
	}
	{
		/* the entry the full ring drops goes from the store too */
		struct history_entry dropped;
		bool full = h->history.n == HISTORY_MAX;

		if (full) {
			dropped = h->history.v[h->history.head];
		}
		history_put(h, &he, full ? &dropped : NULL);
	}
	history_add(&h->history, &he);
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
	/* Counted over every mention of the bucket, not only the samples;
	 * shown as the guaranteed count, never above the true one (window.h:
	 * count - err). */
	for (size_t i = 0; i < b->n_top_authors; i++) {
		authors[i].name = b->top_authors[i].name;
		authors[i].count =
			b->top_authors[i].count - b->top_authors[i].err;
	}
	for (size_t i = 0; i < b->n_top_langs; i++) {
		langs[i].name = b->top_langs[i].name;
		langs[i].count = b->top_langs[i].count - b->top_langs[i].err;
	}
	a.top_authors = authors;
	a.n_top_authors = b->n_top_authors;
	a.top_langs = langs;
	a.n_top_langs = b->n_top_langs;
	for (size_t i = 0; i < b->n_top_terms; i++) {
		terms[i].name = b->top_terms[i].name;
		terms[i].count = b->top_terms[i].count - b->top_terms[i].err;
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
			silenced = notify_silenced_by(h, r, now) != NULL;
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
	silence_put(h, &h->silences.v[h->silences.n - 1]);
	return 201;
}

int notify_silence_expire(struct hark *h, const char *id)
{
	if (silences_expire(&h->silences, id, timeutil_now_ms()) < 0) {
		return 404;
	}
	log_info("hark", "silence %s expired", id);
	for (size_t i = 0; i < h->silences.n; i++) {
		if (strcmp(h->silences.v[i].id, id) == 0) {
			silence_put(h, &h->silences.v[i]);
		}
	}
	return 200;
}
