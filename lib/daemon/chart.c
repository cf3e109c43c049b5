/* SPDX-License-Identifier: MIT */
/* A rule's chart points in the store (see chart.h). */
#include "daemon/chart.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/keys.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

/* A tick's points of one rule: catching up on history closes hundreds. */
#define CHART_PENDING_MAX (4u * 1024 * 1024)

void chart_flush(const struct chart_where *w, struct chart_pending *cp)
{
	char *key;

	if (cp->text.len == 0) {
		return;
	}
	key = keys_points(w->prefix, w->rule, cp->day);
	store_append(w->st, key, cp->text.data, cp->text.len, w->ttl_ms, NULL,
		     NULL);
	free(key);
	buf_reset(&cp->text);
}

void chart_add(const struct chart_where *w, struct chart_pending *cp,
	       const struct point *p)
{
	int64_t day = points_day(p->start_ms);

	if (cp->text.max == 0) {
		buf_init(&cp->text, CHART_PENDING_MAX);
	}
	if (cp->text.len > 0 && day != cp->day) {
		chart_flush(w, cp);
	}
	cp->day = day;
	if (points_format(&cp->text, p) < 0) {
		chart_flush(w, cp);
		if (points_format(&cp->text, p) < 0) {
			return; /* cannot be: one line is short */
		}
	}
}

void chart_pending_fini(struct chart_pending *cp)
{
	buf_fini(&cp->text);
	memset(cp, 0, sizeof(*cp));
}

/* A read in progress: one GET per day, answered in any order. */
struct read {
	chart_read_fn *cb;
	void *arg;
	int64_t from_ms, to_ms;
	size_t left;
	int status;
	char **texts; /* per day, in day order; owned */
	size_t *lens;
	size_t n_days;
};

struct day_get {
	struct read *r;
	size_t i;
};

static void read_done(struct read *r)
{
	struct point *v = NULL;
	size_t n = 0, cap = 0;

	if (r->status == 0) {
		/* Days in order, lines in the order written: a bucket
		 * judged twice keeps its last line. */
		for (size_t i = 0; i < r->n_days; i++) {
			if (r->texts[i] != NULL) {
				points_parse(r->texts[i], r->lens[i],
					     r->from_ms, r->to_ms, &v, &n,
					     &cap);
			}
		}
		points_settle(v, &n);
	}
	r->cb(r->arg, r->status, v, n);
	free(v);
	for (size_t i = 0; i < r->n_days; i++) {
		free(r->texts[i]);
	}
	free(r->texts);
	free(r->lens);
	free(r);
}

static void day_cb(void *arg, int status, const char *val, size_t len)
{
	struct day_get *g = arg;
	struct read *r = g->r;

	if (status != 0) {
		r->status = -1;
	} else if (val != NULL) {
		r->texts[g->i] = xmalloc(len + 1);
		memcpy(r->texts[g->i], val, len);
		r->texts[g->i][len] = '\0';
		r->lens[g->i] = len;
	}
	free(g);
	if (--r->left == 0) {
		read_done(r);
	}
}

void chart_read(const struct chart_where *w, int64_t from_ms, int64_t to_ms,
		chart_read_fn *cb, void *arg)
{
	struct read *r = xcalloc(1, sizeof(*r));
	int64_t oldest = timeutil_now_ms() - w->ttl_ms - 86400000LL;
	int64_t d0, d1;

	r->cb = cb;
	r->arg = arg;
	r->from_ms = from_ms;
	r->to_ms = to_ms;
	/* Nothing older than the points' expiry is kept: no key to ask. */
	d0 = points_day(from_ms > oldest ? from_ms : oldest);
	d1 = points_day(to_ms - 1);
	if (d0 > d1) {
		/* All older than kept: the one key asked is gone; the answer
		 * still comes from the loop, as the store's do. */
		d0 = d1;
	}
	r->n_days = (size_t)(d1 - d0 + 1);
	r->texts = xcalloc(r->n_days, sizeof(*r->texts));
	r->lens = xcalloc(r->n_days, sizeof(*r->lens));
	r->left = r->n_days;
	for (size_t i = 0; i < r->n_days; i++) {
		struct day_get *g = xcalloc(1, sizeof(*g));
		char *key = keys_points(w->prefix, w->rule, d0 + (int64_t)i);

		g->r = r;
		g->i = i;
		store_get(w->st, key, day_cb, g);
		free(key);
	}
}

char *chart_json(const char *rule, int64_t bucket_ms, int64_t step_ms,
		 const struct point *v, size_t n, size_t *len)
{
	cJSON *root = cJSON_CreateObject();
	struct buf pts;
	char dur[32], *text;

	cJSON_AddStringToObject(root, "rule", rule);
	timeutil_format_duration(bucket_ms, dur);
	cJSON_AddStringToObject(root, "bucket", dur);
	timeutil_format_duration(step_ms, dur);
	cJSON_AddStringToObject(root, "step", dur);
	/* POINTS_MAX points of at most 256 bytes each */
	buf_init(&pts, 256 * (size_t)POINTS_MAX + 16);
	cJSON_AddRawToObject(root, "points",
			     points_json(&pts, v, n) < 0 ||
					     buf_putc(&pts, '\0') < 0
				     ? "[]"
				     : pts.data);
	buf_fini(&pts);
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	*len = strlen(text);
	return text;
}
