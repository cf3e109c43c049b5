/* SPDX-License-Identifier: MIT */
/* What a rule's buckets are about (see about.h). */
#include "daemon/about.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config/config.h"
#include "core/emerge.h"
#include "core/keys.h"
#include "core/mention.h"
#include "core/points.h"
#include "core/render.h"
#include "core/window.h"
#include "daemon/daemon.h"
#include "io/store.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

/* A tick's tops lines of one rule: catching up on history closes
 * hundreds of buckets of about 500 bytes. */
#define ABOUT_PENDING_MAX (4u * 1024 * 1024)

/* The state value: magic, the detector image's length (4 bytes, native),
 * the detector image, the model's. */
static const char state_magic[4] = {'H', 'K', 'A', '1'};

void about_rule_init(struct rule_rt *r)
{
	r->emerge = emerge_new(r->cfg->bucket_ms);
	r->about_next = INT64_MIN;
}

void about_rule_fini(struct rule_rt *r)
{
	emerge_free(r->emerge);
	r->emerge = NULL;
	chart_pending_fini(&r->tops);
}

/* The tops lists in the order a stored line holds them. */
static const enum window_kind tops_kinds[TOPS_N_KINDS] = {
	[TOPS_KIND_TERMS] = WINDOW_KIND_TERMS,
	[TOPS_KIND_HASHTAGS] = WINDOW_KIND_HASHTAGS,
	[TOPS_KIND_AUTHORS] = WINDOW_KIND_AUTHORS,
	[TOPS_KIND_LANGS] = WINDOW_KIND_LANGS,
};

/* The tally entries of one kind as tops items, guaranteed counts (count -
 * err: what space-saving can vouch for), most first; returns how many. */
static size_t items_of(const struct closed_bucket *b, enum window_kind k,
		       struct tops_item *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < b->n_ranked[k] && n < max; i++) {
		const struct window_top *t = &b->ranked[k][i];

		if (t->count - t->err > 0) {
			out[n].name = t->name;
			out[n].count = t->count - t->err;
			n++;
		}
	}
	return n;
}

/* b's lists as shown, TOPS_TERMS of each at most (items: the room). */
static void lists_of(const struct closed_bucket *b,
		     struct tops_item items[TOPS_N_KINDS][TOPS_TERMS],
		     struct tops_bucket *tb)
{
	memset(tb, 0, sizeof(*tb));
	tb->start_ms = b->start_ms;
	tb->count = b->count;
	for (int k = 0; k < TOPS_N_KINDS; k++) {
		tb->list[k] = items[k];
		tb->n[k] = items_of(b, tops_kinds[k], items[k], TOPS_TERMS);
	}
}

/*
 * Whether the bucket's terms table evicted words (space-saving): a term
 * absent from it was then not counted rather than not said, which the
 * model must not learn as a zero (emerge_learn_cut).
 */
static bool terms_cut(const struct closed_bucket *b)
{
	const struct window_top *t = b->ranked[WINDOW_KIND_TERMS];

	for (size_t i = 0; i < b->n_ranked[WINDOW_KIND_TERMS]; i++) {
		if (t[i].err > 0) {
			return true;
		}
	}
	return false;
}

/*
 * The terms the model ranks and learns (caller frees; *n of them, *cut
 * as emerge_learn_cut means it): every term of the bucket counted exactly
 * when it closed (the shown table's counts of middling words are off by
 * up to its least count: termcount.h); else (an open bucket, or no shared
 * texts) the table's first max terms, guaranteed counts.
 */
static struct emerge_term *terms_for_model(const struct closed_bucket *b,
					   size_t max, size_t *n, bool *cut)
{
	struct emerge_term *terms;

	*n = 0;
	if (b->has_exact) {
		terms = xcalloc(b->n_exact_terms + 1, sizeof(*terms));
		for (size_t i = 0; i < b->n_exact_terms; i++) {
			terms[i].name = b->exact_terms[i].name;
			terms[i].count = b->exact_terms[i].count;
		}
		*n = b->n_exact_terms;
		*cut = b->exact_cut;
		return terms;
	}
	/* a tops item and an emerge term are both a name and a count */
	{
		struct tops_item *items = xcalloc(max + 1, sizeof(*items));

		terms = xcalloc(max + 1, sizeof(*terms));
		*n = items_of(b, WINDOW_KIND_TERMS, items, max);
		for (size_t i = 0; i < *n; i++) {
			terms[i].name = items[i].name;
			terms[i].count = items[i].count;
		}
		free(items);
	}
	*cut = terms_cut(b);
	return terms;
}

/* Ranks terms against r's usual into hits and tb's emerging list (em:
 * its room); returns how many. */
static size_t rank_into(const struct rule_rt *r,
			const struct emerge_term *terms, size_t n,
			int64_t total, struct emerge_hit *hits,
			struct tops_emerging *em, struct tops_bucket *tb)
{
	size_t n_hits =
		emerge_rank(r->emerge, terms, n, total, hits, TOPS_EMERGING);

	for (size_t i = 0; i < n_hits; i++) {
		em[i].term = hits[i].name;
		em[i].count = hits[i].count;
		em[i].usual = hits[i].usual;
		em[i].ratio = hits[i].ratio;
	}
	tb->emerging = em;
	tb->n_emerging = n_hits;
	return n_hits;
}

static void tops_append(struct hark *h, struct rule_rt *r,
			const struct tops_bucket *tb)
{
	int64_t day = points_day(tb->start_ms);

	if (r->tops.text.max == 0) {
		buf_init(&r->tops.text, ABOUT_PENDING_MAX);
	}
	if (r->tops.text.len > 0 && day != r->tops.day) {
		about_flush(h, r);
	}
	r->tops.day = day;
	if (tops_format(&r->tops.text, tb) < 0) {
		about_flush(h, r);
		/* a line is bounded well below the buffer: cannot fail twice */
		if (tops_format(&r->tops.text, tb) < 0) {
			buf_reset(&r->tops.text);
		}
	}
}

void about_flush(struct hark *h, struct rule_rt *r)
{
	char *key;

	if (r->tops.text.len == 0) {
		return;
	}
	key = keys_tops(h->cfg->prefix, r->cfg->name, r->tops.day);
	store_append(h->store, key, r->tops.text.data, r->tops.text.len,
		     h->cfg->retention_ms, NULL, NULL);
	free(key);
	buf_reset(&r->tops.text);
}

void about_judged(struct hark *h, struct rule_rt *r, struct eval *e)
{
	struct closed_bucket *b = &e->b;
	struct emerge_term *terms;
	struct emerge_hit hits[TOPS_EMERGING];
	struct tops_item items[TOPS_N_KINDS][TOPS_TERMS];
	struct tops_emerging em[TOPS_EMERGING];
	struct tops_bucket tb;
	size_t n_terms, n_hits;
	int64_t gap = 0;
	bool cut;

	e->emerging.n = 0;
	if (r->about_next != INT64_MIN && b->start_ms > r->about_next) {
		gap = (b->start_ms - r->about_next) / r->cfg->bucket_ms;
	}
	r->about_next = b->end_ms;
	if (b->count == 0) {
		/* this daemon counted nothing in it: nothing to rank */
		emerge_learn(r->emerge, NULL, 0, 0, gap);
		return;
	}
	closed_bucket_fill(b);
	lists_of(b, items, &tb);
	terms = terms_for_model(b, WINDOW_TERMS_DISTINCT, &n_terms, &cut);
	/* Ranked before it is learned: against what the rule usually says. */
	n_hits = rank_into(r, terms, n_terms, b->count, hits, em, &tb);
	for (size_t i = 0; i < n_hits; i++) {
		snprintf(e->emerging.v[i].term, sizeof(e->emerging.v[i].term),
			 "%s", hits[i].name);
		e->emerging.v[i].count = hits[i].count;
		e->emerging.v[i].usual = hits[i].usual;
		e->emerging.v[i].ratio = hits[i].ratio;
	}
	e->emerging.n = n_hits;
	if (!h->replay) {
		tops_append(h, r, &tb);
	}
	emerge_learn_cut(r->emerge, terms, n_terms, b->count, gap, cut);
	free(terms);
}

size_t about_render(const struct about_emerging *em,
		    struct render_emerging *out)
{
	for (size_t i = 0; i < em->n; i++) {
		out[i].term = em->v[i].term;
		out[i].count = em->v[i].count;
		out[i].usual = em->v[i].usual;
		out[i].ratio = em->v[i].ratio;
	}
	return em->n;
}

char *about_state_save(const struct rule_rt *r, const char *det, size_t det_len,
		       size_t *len)
{
	size_t em_len;
	char *em = emerge_encode(r->emerge, &em_len);
	char *out = xmalloc(sizeof(state_magic) + 4 + det_len + em_len);
	uint32_t dl = (uint32_t)det_len;

	memcpy(out, state_magic, sizeof(state_magic));
	memcpy(out + 4, &dl, 4);
	memcpy(out + 8, det, det_len);
	memcpy(out + 8 + det_len, em, em_len);
	*len = 8 + det_len + em_len;
	free(em);
	return out;
}

void about_state_load(struct rule_rt *r, const char *val, size_t len,
		      const char **det, size_t *det_len)
{
	uint32_t dl;

	*det = val;
	*det_len = len;
	if (len < 8 || memcmp(val, state_magic, 4) != 0) {
		return; /* the detector's image alone: saved before 0.14 */
	}
	memcpy(&dl, val + 4, 4);
	if (dl > len - 8) {
		*det_len = 0; /* cut: refused whole by the detector */
		return;
	}
	*det = val + 8;
	*det_len = dl;
	if (emerge_decode(r->emerge, val + 8 + dl, len - 8 - dl) < 0) {
		/* another bucket size or version: learnt again */
		emerge_free(r->emerge);
		r->emerge = emerge_new(r->cfg->bucket_ms);
	}
}

/* ---- GET /v1/rules/{name}/top ---- */

struct top_read {
	about_text_fn *cb;
	void *arg;
	char *rule;
	int64_t bucket_ms;
	int64_t start_ms;
};

static void top_head(cJSON *o, const char *rule, int64_t bucket_ms,
		     int64_t start_ms, bool open)
{
	char dur[32], ts[32];

	cJSON_AddStringToObject(o, "rule", rule);
	timeutil_format_duration(bucket_ms, dur);
	cJSON_AddStringToObject(o, "bucket", dur);
	timeutil_format_rfc3339(start_ms / 1000, ts);
	cJSON_AddStringToObject(o, "start", ts);
	timeutil_format_rfc3339((start_ms + bucket_ms) / 1000, ts);
	cJSON_AddStringToObject(o, "end", ts);
	cJSON_AddBoolToObject(o, "open", open);
}

static void answer(about_text_fn *cb, void *arg, cJSON *o)
{
	char *text = cJSON_PrintUnformatted(o);

	cJSON_Delete(o);
	cb(arg, 0, text, strlen(text));
	free(text);
}

static void top_stored_cb(void *arg, int status, const char *val, size_t len)
{
	struct top_read *t = arg;

	if (status != 0) {
		t->cb(t->arg, -1, NULL, 0);
	} else {
		cJSON *o = cJSON_CreateObject();
		cJSON *line =
			val != NULL ? tops_find(val, len, t->start_ms) : NULL;
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(line, "n");

		top_head(o, t->rule, t->bucket_ms, t->start_ms, false);
		cJSON_AddNumberToObject(o, "count",
					cJSON_IsNumber(n) ? n->valuedouble : 0);
		tops_json_stored(line, o);
		cJSON_AddArrayToObject(o, "samples");
		cJSON_Delete(line);
		answer(t->cb, t->arg, o);
	}
	free(t->rule);
	free(t);
}

static void samples_json(const struct closed_bucket *b, cJSON *o)
{
	cJSON *arr = cJSON_AddArrayToObject(o, "samples");

	for (size_t i = 0; i < b->n_samples; i++) {
		const struct mention *m = &b->samples[i];
		cJSON *s = cJSON_CreateObject();
		char ts[32];

		cJSON_AddStringToObject(s, "id", m->id != NULL ? m->id : "");
		cJSON_AddStringToObject(s, "text",
					m->text != NULL ? m->text : "");
		cJSON_AddStringToObject(s, "author",
					m->author != NULL ? m->author : "");
		cJSON_AddStringToObject(s, "url", m->url != NULL ? m->url : "");
		cJSON_AddStringToObject(s, "lang",
					m->lang != NULL ? m->lang : "");
		if (m->has_created_at) {
			timeutil_format_rfc3339_ms(m->created_at_ms, ts);
			cJSON_AddStringToObject(s, "created_at", ts);
		}
		cJSON_AddItemToArray(arr, s);
	}
}

int about_top(struct hark *h, const char *rule, int64_t at_ms,
	      about_text_fn *cb, void *arg)
{
	long i = config_find_rule(h->cfg, rule);
	struct rule_rt *r;
	struct closed_bucket b;
	int64_t bucket;

	if (i < 0) {
		return -1;
	}
	r = &h->rules[i];
	bucket = r->cfg->bucket_ms;
	if (series_peek(r->series, at_ms, &b)) {
		struct tops_item items[TOPS_N_KINDS][TOPS_TERMS];
		struct emerge_hit hits[TOPS_EMERGING];
		struct tops_emerging em[TOPS_EMERGING];
		struct tops_bucket tb;
		cJSON *o = cJSON_CreateObject();
		size_t n_terms;
		bool cut;
		/* the open bucket so far, on its table's first terms, against
		 * the usual: emerging now */
		struct emerge_term *terms =
			terms_for_model(&b, TOPS_TERMS * 4, &n_terms, &cut);

		lists_of(&b, items, &tb);
		rank_into(r, terms, n_terms, b.count, hits, em, &tb);
		free(terms);
		top_head(o, r->cfg->name, bucket, b.start_ms, true);
		cJSON_AddNumberToObject(o, "count", (double)b.count);
		tops_json(&tb, o);
		samples_json(&b, o);
		closed_bucket_fini(&b);
		answer(cb, arg, o);
		return 0;
	}
	{
		struct top_read *t = xcalloc(1, sizeof(*t));
		char *key;

		if (at_ms == INT64_MIN) {
			/* nothing open: the last bucket judged */
			at_ms = r->about_next != INT64_MIN
					? r->about_next - bucket
					: timeutil_now_ms();
		}
		t->cb = cb;
		t->arg = arg;
		t->rule = xstrdup(r->cfg->name);
		t->bucket_ms = bucket;
		t->start_ms = window_bucket_start(at_ms, bucket);
		key = keys_tops(h->cfg->prefix, r->cfg->name,
				points_day(t->start_ms));
		store_get(h->store, key, top_stored_cb, t);
		free(key);
	}
	return 0;
}
