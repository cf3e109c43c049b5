/* SPDX-License-Identifier: MIT */
/* Chart points in the store (see points.h). Pure. */
#include "core/points.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/window.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define DAY_MS 86400000LL

int64_t points_day(int64_t t_ms)
{
	return window_bucket_start(t_ms, DAY_MS) / DAY_MS;
}

static const char *state_word(enum detect_state s)
{
	return s == DETECT_STATE_FIRING    ? "firing"
	       : s == DETECT_STATE_WARMING ? "warming"
					   : "ok";
}

/* Writes n in decimal ending at end; returns where it starts. */
static char *put_int(char *end, int64_t n)
{
	uint64_t u = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;

	do {
		*--end = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (n < 0) {
		*--end = '-';
	}
	return end;
}

/* Every judged bucket of every rule gets a line (catching up on history:
 * a million and more), so it is built without printf. */
/* Appends n's decimal digits at w; returns the end. */
static char *write_int(char *w, int64_t n)
{
	char num[24], *p = put_int(num + sizeof(num), n);

	memcpy(w, p, (size_t)(num + sizeof(num) - p));
	return w + (num + sizeof(num) - p);
}

/* A band edge as stored: a whole count, or absent. */
static bool band_ok(double v)
{
	return isfinite(v) && v >= 0 && v <= 1e15;
}

int points_format(struct buf *out, const struct point *pt)
{
	char line[160], *w = line, num[24], *p;
	int64_t start_ms = pt->start_ms, count = pt->count;
	double baseline = pt->baseline;
	int64_t s = window_bucket_start(start_ms, 1000) / 1000;
	const char *word = state_word(pt->state);
	size_t lw = strlen(word);

	p = put_int(num + sizeof(num), s);
	memcpy(w, p, (size_t)(num + sizeof(num) - p));
	w += num + sizeof(num) - p;
	*w++ = ' ';
	p = put_int(num + sizeof(num), count);
	memcpy(w, p, (size_t)(num + sizeof(num) - p));
	w += num + sizeof(num) - p;
	*w++ = ' ';
	if (isnan(baseline) || isinf(baseline) || baseline < 0 ||
	    baseline > 1e15) {
		*w++ = '-';
	} else {
		/* Three decimals, rounded: the usual level as a team reads
		 * it. */
		int64_t m = llround(baseline * 1000);

		p = put_int(num + sizeof(num), m / 1000);
		memcpy(w, p, (size_t)(num + sizeof(num) - p));
		w += num + sizeof(num) - p;
		*w++ = '.';
		*w++ = (char)('0' + m / 100 % 10);
		*w++ = (char)('0' + m / 10 % 10);
		*w++ = (char)('0' + m % 10);
	}
	*w++ = ' ';
	memcpy(w, word, lw);
	w += lw;
	/* The band, when known: older lines end at the state. */
	if (band_ok(pt->low) && band_ok(pt->high)) {
		*w++ = ' ';
		w = write_int(w, llround(pt->low));
		*w++ = ' ';
		w = write_int(w, llround(pt->high));
	}
	*w++ = '\n';
	return buf_append(out, line, (size_t)(w - line));
}

/* One line (no newline) into *p; -1 when malformed. */
static int parse_line(const char *s, size_t len, struct point *p)
{
	char tmp[128], *end, *f;
	long long start, count;

	if (len == 0 || len >= sizeof(tmp)) {
		return -1;
	}
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	errno = 0;
	start = strtoll(tmp, &end, 10);
	if (end == tmp || *end != ' ' || errno != 0 ||
	    start > INT64_MAX / 1000 || start < INT64_MIN / 1000) {
		return -1;
	}
	f = end + 1;
	count = strtoll(f, &end, 10);
	if (end == f || *end != ' ' || errno != 0 || count < 0) {
		return -1;
	}
	f = end + 1;
	if (f[0] == '-' && f[1] == ' ') {
		p->baseline = NAN;
		end = f + 1;
	} else {
		p->baseline = strtod(f, &end);
		if (end == f || *end != ' ' || errno != 0 ||
		    !isfinite(p->baseline) || p->baseline < 0) {
			return -1;
		}
	}
	f = end + 1;
	p->low = p->high = NAN;
	end = strchr(f, ' ');
	if (end != NULL) {
		/* "LOW HIGH" after the state */
		char *e2;
		long long lo, hi;

		*end = '\0';
		lo = strtoll(end + 1, &e2, 10);
		if (e2 == end + 1 || *e2 != ' ' || errno != 0 || lo < 0) {
			return -1;
		}
		hi = strtoll(e2 + 1, &end, 10);
		if (end == e2 + 1 || *end != '\0' || errno != 0 || hi < lo) {
			return -1;
		}
		p->low = (double)lo;
		p->high = (double)hi;
	}
	if (strcmp(f, "ok") == 0) {
		p->state = DETECT_STATE_OK;
	} else if (strcmp(f, "firing") == 0) {
		p->state = DETECT_STATE_FIRING;
	} else if (strcmp(f, "warming") == 0) {
		p->state = DETECT_STATE_WARMING;
	} else {
		return -1;
	}
	p->start_ms = (int64_t)start * 1000;
	p->count = count;
	return 0;
}

void points_parse(const char *text, size_t len, int64_t from_ms, int64_t to_ms,
		  struct point **v, size_t *n, size_t *cap)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t e = nl != NULL ? (size_t)(nl - text) : len;
		struct point p;

		if (parse_line(text + i, e - i, &p) == 0 &&
		    p.start_ms >= from_ms && p.start_ms < to_ms) {
			if (*n == *cap) {
				*cap = *cap > 0 ? *cap * 2 : 64;
				*v = xrealloc(*v, *cap * sizeof(**v));
			}
			(*v)[(*n)++] = p;
		}
		i = e + 1;
	}
}

struct ranked {
	struct point p;
	size_t order;
};

static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->p.start_ms != y->p.start_ms) {
		return x->p.start_ms < y->p.start_ms ? -1 : 1;
	}
	return x->order < y->order ? -1 : x->order > y->order;
}

void points_settle(struct point *v, size_t *n)
{
	struct ranked *r;
	size_t out = 0;

	if (*n == 0) {
		return;
	}
	r = xcalloc(*n, sizeof(*r));
	for (size_t i = 0; i < *n; i++) {
		r[i].p = v[i];
		r[i].order = i;
	}
	qsort(r, *n, sizeof(*r), cmp_ranked);
	for (size_t i = 0; i < *n; i++) {
		if (i + 1 < *n && r[i + 1].p.start_ms == r[i].p.start_ms) {
			continue; /* a later line of the same bucket wins */
		}
		v[out++] = r[i].p;
	}
	*n = out;
	free(r);
}

static enum detect_state worse(enum detect_state a, enum detect_state b)
{
	if (a == DETECT_STATE_FIRING || b == DETECT_STATE_FIRING) {
		return DETECT_STATE_FIRING;
	}
	if (a == DETECT_STATE_WARMING || b == DETECT_STATE_WARMING) {
		return DETECT_STATE_WARMING;
	}
	return DETECT_STATE_OK;
}

void points_step(struct point *v, size_t *n, int64_t step_ms)
{
	size_t out = 0;

	if (step_ms <= 0) {
		return;
	}
	for (size_t i = 0; i < *n; i++) {
		int64_t s = window_bucket_start(v[i].start_ms, step_ms);
		struct point *o;

		if (out > 0 && v[out - 1].start_ms == s) {
			o = &v[out - 1];
			o->count += v[i].count;
			/* NAN stays NAN: a step is only as known as its
			 * least known bucket */
			o->baseline += v[i].baseline;
			o->low += v[i].low;
			o->high += v[i].high;
			o->state = worse(o->state, v[i].state);
			continue;
		}
		v[out] = v[i];
		v[out].start_ms = s;
		out++;
	}
	*n = out;
}

/* A level as the routes show it: up to three decimals, trailing zeros
 * cut ("3.25", "4"), or null. */
static char *write_level(char *w, double v)
{
	int64_t m;
	int dec = 3;

	if (!isfinite(v) || v < -1e15 || v > 1e15) {
		memcpy(w, "null", 4);
		return w + 4;
	}
	m = llround(v * 1000);
	if (m < 0) {
		*w++ = '-';
		m = -m;
	}
	w = write_int(w, m / 1000);
	m %= 1000;
	while (dec > 0 && m % 10 == 0 && m != 0) {
		m /= 10;
		dec--;
	}
	if (m != 0) {
		char d[3];

		for (int i = dec - 1; i >= 0; i--) {
			d[i] = (char)('0' + m % 10);
			m /= 10;
		}
		*w++ = '.';
		memcpy(w, d, (size_t)dec);
		w += dec;
	}
	return w;
}

int points_json(struct buf *out, const struct point *v, size_t n)
{
	if (buf_putc(out, '[') < 0) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		/* the longest: t 32, four numbers of 24, the keys */
		char line[256], *w = line, t[32];
		const char *word = state_word(v[i].state);

		if (i > 0) {
			*w++ = ',';
		}
		timeutil_format_rfc3339(
			window_bucket_start(v[i].start_ms, 1000) / 1000, t);
		w += sprintf(w, "{\"t\":\"%s\",\"count\":", t);
		w = write_int(w, v[i].count);
		memcpy(w, ",\"baseline\":", 12);
		w = write_level(w + 12, v[i].baseline);
		memcpy(w, ",\"low\":", 7);
		w = write_level(w + 7, v[i].low);
		memcpy(w, ",\"high\":", 8);
		w = write_level(w + 8, v[i].high);
		w += sprintf(w, ",\"state\":\"%s\"}", word);
		if (buf_append(out, line, (size_t)(w - line)) < 0) {
			return -1;
		}
	}
	return buf_putc(out, ']');
}

int points_json_compact(struct buf *out, const struct point *v, size_t n)
{
	if (buf_putc(out, '[') < 0) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		char line[128], *w = line;

		if (i > 0) {
			*w++ = ',';
		}
		*w++ = '[';
		w = write_int(w,
			      window_bucket_start(v[i].start_ms, 1000) / 1000);
		*w++ = ',';
		w = write_int(w, v[i].count);
		*w++ = ',';
		w = write_level(w, v[i].low);
		*w++ = ',';
		w = write_level(w, v[i].high);
		*w++ = ']';
		if (buf_append(out, line, (size_t)(w - line)) < 0) {
			return -1;
		}
	}
	return buf_putc(out, ']');
}
