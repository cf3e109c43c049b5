/* SPDX-License-Identifier: MIT */
/*
 * Bucket math, the watermark (with idle advance) and the series of open
 * buckets: late events, gaps as zero buckets, a far-future jump that stays
 * bounded, samples kept newest first and capped; the top authors,
 * languages and terms of a bucket, and which words count as terms.
 */
#include "core/window.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/fold.h"
#include "core/mention.h"
#include "core/terms.h"
#include "util/buf.h"

#define B 300000LL /* 5 min */

static void test_bucket_start(void)
{
	static const struct {
		int64_t t, bucket, want;
	} cases[] = {
		{0, B, 0},
		{1, B, 0},
		{B - 1, B, 0},
		{B, B, B},
		{B + 1, B, B},
		{-1, B, -B},
		{-B, B, -B},
		{-B - 1, B, -2 * B},
		{1700000123456LL, 60000, 1700000100000LL},
		{INT64_MAX, 1000, INT64_MAX - INT64_MAX % 1000},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_INT(window_bucket_start(cases[i].t, cases[i].bucket),
			  cases[i].want);
	}
}

static void test_watermark(void)
{
	struct watermark w;

	watermark_init(&w);
	CHECK_INT(watermark_at(&w, B, 1000), INT64_MIN);
	watermark_observe(&w, 10 * B, 10 * B + 500);
	CHECK_INT(watermark_at(&w, B, 10 * B + 500), 9 * B);
	/* Idle: the watermark follows the wall clock. */
	CHECK_INT(watermark_at(&w, B, 10 * B + 500 + 3 * B), 12 * B);
	/* An older event does not move the newest time back. */
	watermark_observe(&w, 5 * B, 10 * B + 600);
	CHECK_INT(w.max_event_ms, 10 * B);
	CHECK_INT(watermark_at(&w, B, 10 * B + 600), 9 * B);
	/* A wall clock that steps back gives no negative idle time. */
	CHECK_INT(watermark_at(&w, B, 0), 9 * B);
	watermark_observe(&w, 11 * B, 11 * B);
	CHECK_INT(watermark_at(&w, 0, 11 * B), 11 * B);
	/* Saturates instead of overflowing. */
	watermark_observe(&w, INT64_MAX - 5, 0);
	CHECK_INT(watermark_at(&w, 0, INT64_MAX), INT64_MAX);
}

static void mk(struct mention *m, const char *id, const char *text)
{
	memset(m, 0, sizeof(*m));
	m->id = (char *)id;
	m->text = (char *)text;
	m->lang = (char *)"";
	m->author = (char *)"ann";
	m->url = (char *)"";
}

static void test_series_basic(void)
{
	struct series *s = series_new(B, 2);
	struct closed_bucket cb;
	struct mention m;
	int64_t starts[8], counts[8];

	mk(&m, "1", "hello");
	CHECK_INT(series_next(s), INT64_MIN);
	CHECK(!series_pop_closed(s, 100 * B, 10, &cb));
	CHECK_INT(series_add(s, 10 * B + 5, &m), SERIES_COUNTED);
	CHECK_INT(series_next(s), 10 * B);
	CHECK_INT(series_add(s, 10 * B + B - 1, &m), SERIES_COUNTED);
	CHECK_INT(series_add(s, 12 * B, &m), SERIES_COUNTED);
	CHECK_INT(series_add(s, 11 * B, NULL), SERIES_COUNTED);
	CHECK_INT(series_open_count(s, 10 * B), 2);
	CHECK_INT(series_open_count(s, 11 * B), 1);
	CHECK_INT(series_open_count(s, 13 * B), 0);
	CHECK_INT(series_open_counts(s, starts, counts, 8), 3);
	CHECK_INT(starts[0], 10 * B);
	CHECK_INT(starts[2], 12 * B);
	CHECK_INT(counts[2], 1);
	CHECK_INT(series_open_counts(s, starts, counts, 1), 1);

	/* Not closed until the watermark reaches the end. */
	CHECK(!series_pop_closed(s, 11 * B - 1, 10, &cb));
	CHECK(series_pop_closed(s, 11 * B, 10, &cb));
	CHECK_INT(cb.start_ms, 10 * B);
	CHECK_INT(cb.end_ms, 11 * B);
	CHECK_INT(cb.count, 2);
	CHECK_INT(cb.n_samples, 2);
	closed_bucket_fini(&cb);
	CHECK(!series_pop_closed(s, 11 * B, 10, &cb));
	CHECK_INT(series_next(s), 11 * B);
	/* Its bucket is closed now: late. */
	CHECK_INT(series_add(s, 10 * B + 7, &m), SERIES_LATE);
	CHECK_INT(series_add(s, 9 * B, &m), SERIES_LATE);
	CHECK(series_pop_closed(s, 13 * B, 10, &cb));
	CHECK_INT(cb.start_ms, 11 * B);
	CHECK_INT(cb.count, 1);
	CHECK_INT(cb.n_samples, 0);
	closed_bucket_fini(&cb);
	CHECK(series_pop_closed(s, 13 * B, 10, &cb));
	CHECK_INT(cb.start_ms, 12 * B);
	closed_bucket_fini(&cb);
	CHECK(!series_pop_closed(s, 13 * B, 10, &cb));
	series_free(s);
	series_free(NULL);
}

static void test_series_negative(void)
{
	struct series *s = series_new(B, 0);
	struct closed_bucket cb;

	CHECK_INT(series_add(s, -1, NULL), SERIES_COUNTED);
	CHECK_INT(series_next(s), -B);
	CHECK_INT(series_add(s, -B, NULL), SERIES_COUNTED);
	CHECK_INT(series_add(s, 0, NULL), SERIES_COUNTED);
	CHECK(series_pop_closed(s, 0, 10, &cb));
	CHECK_INT(cb.start_ms, -B);
	CHECK_INT(cb.count, 2);
	closed_bucket_fini(&cb);
	CHECK(!series_pop_closed(s, B - 1, 10, &cb));
	series_free(s);
}

static void test_series_gaps(void)
{
	struct series *s = series_new(B, 1);
	struct closed_bucket cb;
	int zeros = 0;

	CHECK_INT(series_add(s, 0, NULL), SERIES_COUNTED);
	CHECK_INT(series_add(s, 5 * B, NULL), SERIES_COUNTED);
	/* 1..4 come out as zeros, then 5 with its count. */
	for (int64_t want = 0; want <= 5; want++) {
		CHECK(series_pop_closed(s, 6 * B, 100, &cb));
		CHECK_INT(cb.start_ms, want * B);
		CHECK_INT(cb.count, want == 0 || want == 5 ? 1 : 0);
		zeros += cb.count == 0;
		closed_bucket_fini(&cb);
	}
	CHECK_INT(zeros, 4);
	/* Idle advance: empty buckets up to the watermark. */
	CHECK(series_pop_closed(s, 7 * B + 10, 100, &cb));
	CHECK_INT(cb.start_ms, 6 * B);
	CHECK_INT(cb.count, 0);
	closed_bucket_fini(&cb);
	CHECK(!series_pop_closed(s, 7 * B + 10, 100, &cb));
	CHECK_INT(series_next(s), 7 * B);

	/* A jump of 50 empty buckets gives only the last 3. */
	CHECK_INT(series_add(s, 57 * B, NULL), SERIES_COUNTED);
	for (int64_t want = 54; want <= 57; want++) {
		CHECK(series_pop_closed(s, 58 * B, 3, &cb));
		CHECK_INT(cb.start_ms, want * B);
		CHECK_INT(cb.count, want == 57 ? 1 : 0);
		closed_bucket_fini(&cb);
	}
	CHECK(!series_pop_closed(s, 58 * B, 3, &cb));
	/* max_gap 0 skips the stretch entirely. */
	CHECK_INT(series_add(s, 70 * B, NULL), SERIES_COUNTED);
	CHECK(series_pop_closed(s, 71 * B, 0, &cb));
	CHECK_INT(cb.start_ms, 70 * B);
	CHECK_INT(cb.count, 1);
	closed_bucket_fini(&cb);
	series_free(s);
}

/* A hostile far-future timestamp: one open slot, a bounded number of zero
 * buckets, and earlier events are late afterwards. */
static void test_series_far_future(void)
{
	struct series *s = series_new(B, 1);
	struct closed_bucket cb;
	int64_t far = INT64_MAX / 2;
	int n = 0;

	CHECK_INT(series_add(s, 0, NULL), SERIES_COUNTED);
	CHECK_INT(series_add(s, far, NULL), SERIES_COUNTED);
	while (series_pop_closed(s, far + 2 * B, 2016, &cb) && n < 5000) {
		n++;
		closed_bucket_fini(&cb);
	}
	CHECK_INT(n, 1 + 2016 + 1 + 1);
	CHECK_INT(series_next(s), window_bucket_start(far, B) + 2 * B);
	CHECK_INT(series_add(s, B, NULL), SERIES_LATE);
	/* Near the end of time nothing overflows. */
	CHECK_INT(series_add(s, INT64_MAX, NULL), SERIES_COUNTED);
	CHECK(series_pop_closed(s, INT64_MAX, 1, &cb));
	closed_bucket_fini(&cb);
	series_free(s);

	/* Timestamps scattered into the future hit the cap on open buckets. */
	s = series_new(B, 0);
	n = 0;
	for (int64_t i = 0; i < SERIES_MAX_OPEN_BUCKETS + 10; i++) {
		n += series_add(s, i * 1000 * B, NULL) == SERIES_LATE;
	}
	CHECK_INT(n, 10);
	series_free(s);
}

static void test_series_samples(void)
{
	struct series *s = series_new(B, 3);
	struct closed_bucket cb;
	struct mention m;
	char id[8];
	char *long_text = xmalloc(2001);

	memset(long_text, 'x', 2000);
	long_text[2000] = '\0';
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "m%d", i);
		mk(&m, id, i == 4 ? long_text : "short");
		CHECK_INT(series_add(s, 10 * B + i, &m), SERIES_COUNTED);
	}
	CHECK(series_pop_closed(s, 11 * B, 10, &cb));
	CHECK_INT(cb.count, 5);
	CHECK_INT(cb.n_samples, 3);
	CHECK_STR(cb.samples[0].id, "m4");
	CHECK_STR(cb.samples[1].id, "m3");
	CHECK_STR(cb.samples[2].id, "m2");
	CHECK_STR(cb.samples[1].author, "ann");
	CHECK(strlen(cb.samples[0].text) <= 500);
	CHECK(strlen(cb.samples[0].text) >= 400);
	/* Deep copies: the source can go away. */
	CHECK(cb.samples[0].text != long_text);
	closed_bucket_fini(&cb);
	CHECK_INT(cb.n_samples, 0);
	free(long_text);

	/* Open buckets with samples are freed with the series (ASan). */
	mk(&m, "x", "y");
	CHECK_INT(series_add(s, 20 * B, &m), SERIES_COUNTED);
	series_free(s);
}

/* Samples are packed into a slot that a newer one reuses: every field,
 * NULL or not, must come back as it was, whatever came before it. */
static void test_series_sample_fields(void)
{
	struct series *s = series_new(B, 2);
	struct closed_bucket cb;
	struct mention m;
	/* 499 ASCII bytes, then a 2-byte é across the 500-byte cut */
	char *cut = xmalloc(600);

	memset(cut, 'a', 499);
	strcpy(cut + 499, "\xc3\xa9tail");
	mk(&m, "long", cut);
	m.source = (char *)"mastodon";
	m.tags = (char *)"a b";
	m.lang = (char *)"fr";
	m.has_created_at = true;
	m.created_at_ms = 12345;
	CHECK_INT(series_add(s, 10 * B, &m), SERIES_COUNTED);
	mk(&m, "s2", "two");
	CHECK_INT(series_add(s, 10 * B + 1, &m), SERIES_COUNTED);
	/* overwrites the slot of "long" */
	mk(&m, "s3", "three");
	m.url = (char *)"https://e.x/3";
	CHECK_INT(series_add(s, 10 * B + 2, &m), SERIES_COUNTED);
	CHECK(series_pop_closed(s, 11 * B, 10, &cb));
	CHECK_INT(cb.n_samples, 2);
	CHECK_STR(cb.samples[0].id, "s3");
	CHECK_STR(cb.samples[0].text, "three");
	CHECK_STR(cb.samples[0].url, "https://e.x/3");
	CHECK(cb.samples[0].source == NULL && cb.samples[0].tags == NULL);
	CHECK(!cb.samples[0].has_created_at);
	CHECK_STR(cb.samples[1].id, "s2");
	closed_bucket_fini(&cb);

	mk(&m, "long", cut);
	m.source = (char *)"mastodon";
	m.tags = (char *)"a b";
	m.lang = (char *)"fr";
	m.has_created_at = true;
	m.created_at_ms = 12345;
	CHECK_INT(series_add(s, 11 * B, &m), SERIES_COUNTED);
	CHECK(series_pop_closed(s, 12 * B, 10, &cb));
	CHECK_INT(cb.n_samples, 1);
	CHECK_INT(strlen(cb.samples[0].text), 499);
	CHECK(memcmp(cb.samples[0].text, cut, 499) == 0);
	CHECK_STR(cb.samples[0].source, "mastodon");
	CHECK_STR(cb.samples[0].tags, "a b");
	CHECK_STR(cb.samples[0].lang, "fr");
	CHECK_STR(cb.samples[0].author, "ann");
	CHECK_STR(cb.samples[0].url, "");
	CHECK(cb.samples[0].has_created_at);
	CHECK_INT(cb.samples[0].created_at_ms, 12345);
	closed_bucket_fini(&cb);
	series_free(s);
	free(cut);
}

static void test_set_next(void)
{
	struct series *s = series_new(B, 1);
	struct closed_bucket cb;
	struct mention m;

	mk(&m, "a", "b");
	CHECK_INT(series_add(s, 3 * B, &m), SERIES_COUNTED);
	CHECK_INT(series_add(s, 6 * B, &m), SERIES_COUNTED);
	/* A restore says 5 was the last evaluated: 3 is dropped. */
	series_set_next(s, 6 * B + 17);
	CHECK_INT(series_next(s), 6 * B);
	CHECK_INT(series_open_count(s, 3 * B), 0);
	CHECK_INT(series_add(s, 5 * B, &m), SERIES_LATE);
	CHECK(series_pop_closed(s, 7 * B, 10, &cb));
	CHECK_INT(cb.start_ms, 6 * B);
	CHECK_INT(cb.count, 1);
	closed_bucket_fini(&cb);
	series_free(s);
}

/* Top authors and languages come from every counted mention (here with no
 * samples kept at all), ranked by count then name, capped in distinct
 * values with the rest counted as other. */
static void test_series_tops(void)
{
	struct series *s = series_new(B, 0);
	struct closed_bucket cb;
	struct mention m;
	char author[16];
	static const struct {
		const char *author, *lang;
		int n;
	} in[] = {
		{"bob", "en", 7}, {"ann", "de", 3}, {"cy", "en", 3},
		{"dee", "", 2},   {"eve", "fr", 1}, {"fay", "en", 1},
		{"", "", 4},
	};

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		for (int k = 0; k < in[i].n; k++) {
			mk(&m, "x", "t");
			m.author = (char *)in[i].author;
			m.lang = (char *)in[i].lang;
			CHECK_INT(series_add(s, 3 * B + k, &m), SERIES_COUNTED);
		}
	}
	/* Another bucket's values stay out of this one. */
	mk(&m, "y", "t");
	m.author = (char *)"zed";
	CHECK_INT(series_add(s, 4 * B, &m), SERIES_COUNTED);
	CHECK(series_pop_closed(s, 4 * B, 10, &cb));
	CHECK_INT(cb.count, 21);
	CHECK_INT(cb.n_samples, 0);
	CHECK_INT(cb.n_top_authors, 5);
	CHECK_STR(cb.top_authors[0].name, "bob");
	CHECK_INT(cb.top_authors[0].count, 7);
	CHECK_STR(cb.top_authors[1].name, "ann");
	CHECK_INT(cb.top_authors[1].count, 3);
	CHECK_STR(cb.top_authors[2].name, "cy");
	CHECK_STR(cb.top_authors[3].name, "dee");
	CHECK_INT(cb.top_authors[3].count, 2);
	CHECK_STR(cb.top_authors[4].name, "eve");
	CHECK_INT(cb.n_top_langs, 3);
	CHECK_STR(cb.top_langs[0].name, "en");
	CHECK_INT(cb.top_langs[0].count, 11);
	CHECK_STR(cb.top_langs[1].name, "de");
	CHECK_STR(cb.top_langs[2].name, "fr");
	CHECK_INT(cb.other_authors, 0);
	closed_bucket_fini(&cb);
	CHECK(cb.top_authors == NULL && cb.n_top_langs == 0);

	/* Past WINDOW_TOP_DISTINCT names, new ones go to other; the ones
	 * already in the table keep counting. */
	for (int i = 0; i < WINDOW_TOP_DISTINCT + 10; i++) {
		snprintf(author, sizeof(author), "a%03d", i);
		mk(&m, "z", "t");
		m.author = author;
		CHECK_INT(series_add(s, 4 * B + 1, &m), SERIES_COUNTED);
	}
	mk(&m, "z", "t");
	m.author = (char *)"a005";
	CHECK_INT(series_add(s, 4 * B + 2, &m), SERIES_COUNTED);
	CHECK(series_pop_closed(s, 5 * B, 10, &cb));
	CHECK_INT(cb.count, WINDOW_TOP_DISTINCT + 12);
	/* zed and a000..a062 fill the table; a063..a073 are other */
	CHECK_INT(cb.other_authors, 11);
	CHECK_INT(cb.n_top_authors, 5);
	CHECK_STR(cb.top_authors[0].name, "a005");
	CHECK_INT(cb.top_authors[0].count, 2);
	CHECK_STR(cb.top_authors[1].name, "a000");
	CHECK(cb.top_langs == NULL && cb.n_top_langs == 0);
	closed_bucket_fini(&cb);

	/* A series freed with tallies in its open buckets (ASan). */
	mk(&m, "w", "t");
	CHECK_INT(series_add(s, 9 * B, &m), SERIES_COUNTED);
	series_free(s);
}

/* Adds one mention with terms " ... " to s at t. */
static void add_terms(struct series *s, int64_t t, const char *terms)
{
	struct mention m;

	mk(&m, "t", "t");
	CHECK_INT(series_add_terms(s, t, &m, terms, strlen(terms)),
		  SERIES_COUNTED);
}

static void test_series_terms(void)
{
	struct series *s = series_new(B, 0);
	struct closed_bucket cb;
	struct mention m;
	char word[32];

	/* The rule's own words (acme, cloud) never count; acmecorp does. */
	series_exclude_terms(s, " acme cloud ", 12);
	for (int k = 0; k < 5; k++) {
		add_terms(s, 3 * B + k, " outage down acme ");
	}
	for (int k = 0; k < 3; k++) {
		add_terms(s, 3 * B + k, " login down cloud ");
		add_terms(s, 3 * B + k, " billing ");
	}
	add_terms(s, 3 * B, " zeta ");
	add_terms(s, 3 * B, " alpha acmecorp ");
	add_terms(s, 3 * B, "");
	mk(&m, "n", "t");
	CHECK_INT(series_add(s, 3 * B, &m), SERIES_COUNTED);
	CHECK(series_pop_closed(s, 4 * B, 10, &cb));
	CHECK_INT(cb.count, 15);
	CHECK_INT(cb.n_top_terms, 5);
	CHECK_STR(cb.top_terms[0].name, "down");
	CHECK_INT(cb.top_terms[0].count, 8);
	CHECK_STR(cb.top_terms[1].name, "outage");
	CHECK_INT(cb.top_terms[1].count, 5);
	/* ties by name: billing before login, acmecorp before alpha, zeta
	 * out */
	CHECK_STR(cb.top_terms[2].name, "billing");
	CHECK_INT(cb.top_terms[2].count, 3);
	CHECK_STR(cb.top_terms[3].name, "login");
	CHECK_INT(cb.top_terms[3].count, 3);
	CHECK_STR(cb.top_terms[4].name, "acmecorp");
	CHECK_INT(cb.top_terms[4].count, 1);
	CHECK_INT(cb.other_terms, 0);
	/* the authors share the block and stay right */
	CHECK_INT(cb.n_top_authors, 1);
	CHECK_STR(cb.top_authors[0].name, "ann");
	CHECK_INT(cb.top_authors[0].count, 15);
	closed_bucket_fini(&cb);
	CHECK(cb.top_terms == NULL && cb.n_top_terms == 0);

	/* No terms given: none out. */
	mk(&m, "n", "t");
	CHECK_INT(series_add(s, 4 * B, &m), SERIES_COUNTED);
	CHECK(series_pop_closed(s, 5 * B, 10, &cb));
	CHECK_INT(cb.count, 1);
	CHECK(cb.top_terms == NULL && cb.n_top_terms == 0);
	closed_bucket_fini(&cb);

	/* Past WINDOW_TERMS_DISTINCT words a bucket counts new ones as
	 * other; the words in the table keep counting (the recycled tally
	 * of the buckets above starts empty). */
	for (int i = 0; i < WINDOW_TERMS_DISTINCT + 7; i++) {
		snprintf(word, sizeof(word), " w%04d ", i);
		add_terms(s, 5 * B + 1, word);
	}
	add_terms(s, 5 * B + 2, " w0100 w0300 ");
	CHECK(series_pop_closed(s, 6 * B, 10, &cb));
	CHECK_INT(cb.other_terms, 8);
	CHECK_INT(cb.n_top_terms, 5);
	CHECK_STR(cb.top_terms[0].name, "w0100");
	CHECK_INT(cb.top_terms[0].count, 2);
	CHECK_STR(cb.top_terms[1].name, "w0000");
	CHECK_INT(cb.top_terms[1].count, 1);
	CHECK_STR(cb.top_terms[4].name, "w0003");
	closed_bucket_fini(&cb);

	/* A later exclusion replaces the first one. */
	series_exclude_terms(s, " down ", 6);
	add_terms(s, 6 * B, " down acme ");
	CHECK(series_pop_closed(s, 7 * B, 10, &cb));
	CHECK_INT(cb.n_top_terms, 1);
	CHECK_STR(cb.top_terms[0].name, "acme");
	closed_bucket_fini(&cb);

	/* freed with terms in an open bucket (ASan) */
	add_terms(s, 9 * B, " left over ");
	series_free(s);
}

/* The terms of text as count_matched computes them. */
static const char *terms_of(const struct fold *f, const char *text,
			    struct buf *raw, struct buf *folded,
			    struct buf *out)
{
	CHECK_INT(terms_strip_urls(text, strlen(text), raw), 0);
	CHECK_INT(fold_text(f, raw->data, raw->len, folded), 0);
	CHECK_INT(terms_filter(folded->data, folded->len, out), 0);
	return out->data != NULL ? out->data : "";
}

static void test_terms_filter(void)
{
	struct fold *f = fold_new();
	struct buf raw, folded, out;
	char many[4096];
	size_t o = 0;
	static const char *const stops[] = {
		"the", "and", "der", "und", "les", "est", "los", "por",
		"della", "che", "voce", "nao", "uber", "aber", "zur",
		"http", "https", "www", "com",
	};
	static const char *const words[] = {
		"outage", "panne", "ps5", "thee", "zzz", "aaa", "berlin",
	};

	buf_init(&raw, 1 << 16);
	buf_init(&folded, 1 << 16);
	buf_init(&out, 1 << 16);
	for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
		CHECK(terms_is_stop(stops[i], strlen(stops[i])));
	}
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		CHECK(!terms_is_stop(words[i], strlen(words[i])));
	}
	/* a prefix of a stop-word is not one, nor a stop-word plus more */
	CHECK(!terms_is_stop("th", 2));
	CHECK(terms_is_stop("thereof", 5));
	CHECK(!terms_is_stop("thereof", 7));

	/* stop-words of every language, short words, numbers, URLs and
	 * repeats go; accents are folded (Überlastung → uberlastung) */
	CHECK_STR(terms_of(f,
			   "The app is DOWN again!! Outage since 10:30, see "
			   "https://t.co/AbC123 and (www.example.com/x) — "
			   "l'application est en panne, down Down 2024 ps5 "
			   "Überlastung der Server",
			   &raw, &folded, &out),
		  " app down outage since see application panne ps5 "
		  "uberlastung server ");
	/* a URL only where a word starts; the text around it stays */
	CHECK_STR(terms_of(f, "xhttp://kept.example sehr https://gone.example/a",
			   &raw, &folded, &out),
		  " xhttp kept example ");
	/* nothing left: empty, not " " */
	CHECK_STR(terms_of(f, "the and of 42 http://x.example", &raw, &folded,
			   &out),
		  "");
	/* at most TERMS_PER_MENTION terms, the first ones; overlong
	 * tokens skipped */
	for (int i = 0; i < TERMS_PER_MENTION + 5; i++) {
		o += (size_t)snprintf(many + o, sizeof(many) - o, "word%03d ",
				      i);
	}
	snprintf(many + o, sizeof(many) - o, "%s",
		 "abcdefghijabcdefghijabcdefghijabcdefghijX");
	terms_of(f, many, &raw, &folded, &out);
	CHECK(strstr(out.data, " word000 ") == out.data);
	CHECK(strstr(out.data, " word063 ") != NULL);
	CHECK(strstr(out.data, " word064 ") == NULL);
	CHECK(strstr(out.data, "abcdefghij") == NULL);
	CHECK_STR(terms_of(f, "abcdefghijabcdefghijabcdefghijabcdefghijX ok "
			   "fine", &raw, &folded, &out),
		  " fine ");
	buf_fini(&raw);
	buf_fini(&folded);
	buf_fini(&out);
	fold_free(f);
}

int main(void)
{
	test_bucket_start();
	test_watermark();
	test_series_basic();
	test_series_negative();
	test_series_gaps();
	test_series_far_future();
	test_series_samples();
	test_series_sample_fields();
	test_set_next();
	test_series_tops();
	test_series_terms();
	test_terms_filter();
	return check_done();
}
