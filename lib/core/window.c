/* SPDX-License-Identifier: MIT */
/*
 * Counting by event time: the watermark, bucket math and the per-rule series
 * of open buckets (see window.h). The series is a small sorted array, so a
 * far-future timestamp costs one slot, never one per bucket skipped; gaps
 * come out as at most max_gap_buckets zero buckets. Pure; the store keeps
 * the durable counts, this keeps what the detector needs next.
 */
#include "core/window.h"

#include <stdlib.h>
#include <string.h>

#include "core/mention.h"

/* Sample texts are cut to this: an alert shows a glimpse, not the thread. */
#define SAMPLE_TEXT_BYTES 500

/*
 * A kept sample, packed: its strings end to end in one buffer that the
 * slot reuses when a newer sample replaces it, so a match costs a memcpy,
 * not seven allocations. It becomes a struct mention only when its bucket
 * closes.
 */
enum { F_ID, F_TEXT, F_LANG, F_AUTHOR, F_URL, F_SOURCE, F_TAGS, N_FIELDS };

struct sample {
	char *buf; /* owned */
	size_t cap;
	uint32_t off[N_FIELDS]; /* UINT32_MAX: NULL (source, tags only) */
	int64_t created_at_ms;
	bool has_created_at;
};

struct open_bucket {
	int64_t start_ms;
	int64_t count;
	struct sample *ring; /* owned; max_samples slots, NULL until needed */
	size_t n_ring;
	size_t head; /* the slot the next sample goes to */
};

struct series {
	int64_t bucket_ms;
	size_t max_samples;
	int64_t next_ms; /* first bucket not handed out; INT64_MIN unknown */
	struct open_bucket *open; /* owned; sorted by start_ms */
	size_t n_open;
	size_t cap_open;
};

void watermark_init(struct watermark *w)
{
	memset(w, 0, sizeof(*w));
}

void watermark_observe(struct watermark *w, int64_t event_ms, int64_t now_ms)
{
	if (!w->has_event || event_ms > w->max_event_ms) {
		w->max_event_ms = event_ms;
	}
	w->has_event = true;
	w->last_arrival_ms = now_ms;
}

static int64_t sat_add(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r)) {
		return b > 0 ? INT64_MAX : INT64_MIN;
	}
	return r;
}

int64_t watermark_at(const struct watermark *w, int64_t lateness_ms,
		     int64_t now_ms)
{
	int64_t idle = 0;

	if (!w->has_event) {
		return INT64_MIN;
	}
	/* A wall clock stepping back must not pull the watermark back. */
	if (now_ms > w->last_arrival_ms) {
		idle = sat_add(now_ms, -w->last_arrival_ms);
	}
	return sat_add(sat_add(w->max_event_ms, -lateness_ms), idle);
}

int64_t window_bucket_start(int64_t t_ms, int64_t bucket_ms)
{
	int64_t r = t_ms % bucket_ms;

	HARK_ASSERT(bucket_ms > 0);
	if (r < 0) {
		r += bucket_ms;
	}
	return t_ms - r;
}

struct series *series_new(int64_t bucket_ms, size_t max_samples)
{
	struct series *s = xcalloc(1, sizeof(*s));

	HARK_ASSERT(bucket_ms > 0);
	s->bucket_ms = bucket_ms;
	s->max_samples = max_samples;
	s->next_ms = INT64_MIN;
	return s;
}

static void open_bucket_fini(struct open_bucket *b)
{
	if (b->ring != NULL) {
		for (size_t i = 0; i < b->n_ring; i++) {
			free(b->ring[i].buf);
		}
	}
	free(b->ring);
	b->ring = NULL;
	b->n_ring = 0;
}

/* Removes open[i] without freeing its samples (the caller took them). */
static void remove_open(struct series *s, size_t i)
{
	memmove(&s->open[i], &s->open[i + 1],
		(s->n_open - i - 1) * sizeof(s->open[0]));
	s->n_open--;
}

void series_free(struct series *s)
{
	if (s == NULL) {
		return;
	}
	for (size_t i = 0; i < s->n_open; i++) {
		open_bucket_fini(&s->open[i]);
	}
	free(s->open);
	free(s);
}

void series_set_next(struct series *s, int64_t next_start_ms)
{
	next_start_ms = window_bucket_start(next_start_ms, s->bucket_ms);
	/* Buckets before it were evaluated by someone else; they would never
	 * come out, so drop them now. */
	while (s->n_open > 0 && s->open[0].start_ms < next_start_ms) {
		open_bucket_fini(&s->open[0]);
		remove_open(s, 0);
	}
	s->next_ms = next_start_ms;
}

int64_t series_next(const struct series *s)
{
	return s->next_ms;
}

/* Index of the first open bucket with start >= start_ms. */
static size_t lower_bound(const struct series *s, int64_t start_ms)
{
	size_t lo = 0, hi = s->n_open;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->open[mid].start_ms < start_ms) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo;
}

/* Length of text cut to max bytes, never inside a code point. */
static size_t cut_text(const char *text, size_t max)
{
	size_t n = strnlen(text, max + 1);

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80) {
			n--;
		}
	}
	return n;
}

static void pack_sample(struct sample *sm, const struct mention *m)
{
	const char *f[N_FIELDS] = {m->id, m->text, m->lang, m->author, m->url,
				   m->source, m->tags};
	size_t len[N_FIELDS];
	size_t need = 0, o = 0;

	for (int i = 0; i < N_FIELDS; i++) {
		len[i] = f[i] == NULL ? 0
			 : i == F_TEXT ? cut_text(f[i], SAMPLE_TEXT_BYTES)
				       : strlen(f[i]);
		need += len[i] + 1;
	}
	if (need > sm->cap) {
		free(sm->buf);
		sm->cap = need < 1024 ? 1024 : need;
		sm->buf = xmalloc(sm->cap);
	}
	for (int i = 0; i < N_FIELDS; i++) {
		if (f[i] == NULL) {
			sm->off[i] = UINT32_MAX;
			continue;
		}
		sm->off[i] = (uint32_t)o;
		memcpy(sm->buf + o, f[i], len[i]);
		o += len[i];
		sm->buf[o++] = '\0';
	}
	sm->created_at_ms = m->created_at_ms;
	sm->has_created_at = m->has_created_at;
}

static char *unpack_field(const struct sample *sm, int i)
{
	return sm->off[i] == UINT32_MAX ? NULL : xstrdup(sm->buf + sm->off[i]);
}

static void unpack_sample(const struct sample *sm, struct mention *m)
{
	m->id = unpack_field(sm, F_ID);
	m->text = unpack_field(sm, F_TEXT);
	m->lang = unpack_field(sm, F_LANG);
	m->author = unpack_field(sm, F_AUTHOR);
	m->url = unpack_field(sm, F_URL);
	m->source = unpack_field(sm, F_SOURCE);
	m->tags = unpack_field(sm, F_TAGS);
	m->created_at_ms = sm->created_at_ms;
	m->has_created_at = sm->has_created_at;
}

static void keep_sample(struct series *s, struct open_bucket *b,
			const struct mention *m)
{
	if (s->max_samples == 0 || m == NULL) {
		return;
	}
	if (b->ring == NULL) {
		b->ring = xcalloc(s->max_samples, sizeof(b->ring[0]));
	}
	if (b->n_ring < s->max_samples) {
		b->n_ring++;
	}
	/* the slot's buffer is reused for the newer sample */
	pack_sample(&b->ring[b->head], m);
	b->head = (b->head + 1) % s->max_samples;
}

enum series_add_result series_add(struct series *s, int64_t event_ms,
				  const struct mention *m)
{
	int64_t start = window_bucket_start(event_ms, s->bucket_ms);
	size_t i;
	struct open_bucket *b;

	if (s->next_ms == INT64_MIN) {
		s->next_ms = start;
	}
	if (start < s->next_ms) {
		return SERIES_LATE;
	}
	i = lower_bound(s, start);
	if (i == s->n_open || s->open[i].start_ms != start) {
		/* Only a stream spread over more future buckets than this
		 * (hostile timestamps) gets here; those mentions cannot be
		 * evaluated in order anyway, so they are reported as late. */
		if (s->n_open == SERIES_MAX_OPEN_BUCKETS) {
			return SERIES_LATE;
		}
		if (s->n_open == s->cap_open) {
			s->cap_open = s->cap_open ? s->cap_open * 2 : 4;
			s->open = xreallocarray(s->open, s->cap_open,
						sizeof(s->open[0]));
		}
		memmove(&s->open[i + 1], &s->open[i],
			(s->n_open - i) * sizeof(s->open[0]));
		memset(&s->open[i], 0, sizeof(s->open[i]));
		s->open[i].start_ms = start;
		s->n_open++;
	}
	b = &s->open[i];
	b->count++;
	keep_sample(s, b, m);
	return SERIES_COUNTED;
}

/* Moves open bucket 0 into *out, samples newest first. */
static void take_first(struct series *s, struct closed_bucket *out)
{
	struct open_bucket *b = &s->open[0];

	out->start_ms = b->start_ms;
	out->end_ms = b->start_ms + s->bucket_ms;
	out->count = b->count;
	out->samples = NULL;
	out->n_samples = b->n_ring;
	if (b->n_ring > 0) {
		out->samples = xcalloc(b->n_ring, sizeof(out->samples[0]));
		for (size_t k = 0; k < b->n_ring; k++) {
			size_t j = (b->head + s->max_samples - 1 - k) %
				   s->max_samples;

			unpack_sample(&b->ring[j], &out->samples[k]);
		}
	}
	open_bucket_fini(b);
	remove_open(s, 0);
}

bool series_pop_closed(struct series *s, int64_t watermark_ms,
		       size_t max_gap_buckets, struct closed_bucket *out)
{
	int64_t last_closed; /* start of the newest bucket that is closed */
	int64_t gap_end;     /* first bucket after the empty stretch */
	int64_t empty;

	memset(out, 0, sizeof(*out));
	if (s->next_ms == INT64_MIN ||
	    watermark_ms < INT64_MIN + 2 * s->bucket_ms ||
	    s->next_ms > INT64_MAX - 2 * s->bucket_ms) {
		return false;
	}
	last_closed = window_bucket_start(watermark_ms - s->bucket_ms,
					  s->bucket_ms);
	if (s->next_ms > last_closed) {
		return false;
	}
	if (s->n_open > 0 && s->open[0].start_ms == s->next_ms) {
		take_first(s, out);
		s->next_ms += s->bucket_ms;
		return true;
	}
	gap_end = last_closed + s->bucket_ms;
	if (s->n_open > 0 && s->open[0].start_ms < gap_end) {
		gap_end = s->open[0].start_ms;
	}
	/* Counted in buckets, so a jump of centuries stays in range. */
	empty = gap_end / s->bucket_ms - s->next_ms / s->bucket_ms;
	if ((uint64_t)empty > max_gap_buckets) {
		s->next_ms = gap_end - (int64_t)max_gap_buckets * s->bucket_ms;
	}
	if (s->next_ms == gap_end) {
		/* max_gap_buckets == 0: the stretch is skipped entirely. */
		return series_pop_closed(s, watermark_ms, max_gap_buckets, out);
	}
	out->start_ms = s->next_ms;
	out->end_ms = s->next_ms + s->bucket_ms;
	s->next_ms += s->bucket_ms;
	return true;
}

size_t series_open_counts(const struct series *s, int64_t *starts_ms,
			  int64_t *counts, size_t cap)
{
	size_t n = s->n_open < cap ? s->n_open : cap;

	for (size_t i = 0; i < n; i++) {
		starts_ms[i] = s->open[i].start_ms;
		counts[i] = s->open[i].count;
	}
	return n;
}

int64_t series_open_count(const struct series *s, int64_t start_ms)
{
	size_t i = lower_bound(s, start_ms);

	if (i < s->n_open && s->open[i].start_ms == start_ms) {
		return s->open[i].count;
	}
	return 0;
}

void closed_bucket_fini(struct closed_bucket *b)
{
	for (size_t i = 0; i < b->n_samples; i++) {
		mention_fini(&b->samples[i]);
	}
	free(b->samples);
	b->samples = NULL;
	b->n_samples = 0;
}
