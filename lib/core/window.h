/* SPDX-License-Identifier: MIT */
/*
 * Counting by event time (DESIGN §2). struct watermark tracks the newest
 * event time and the wall time of the last arrival; struct series counts
 * one rule's mentions per bucket and hands out buckets once the watermark
 * has passed their end, in order, with zero-count buckets for gaps. Pure:
 * every "now" is passed in.
 */
#ifndef HARK_CORE_WINDOW_H
#define HARK_CORE_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/xalloc.h"

struct mention;

struct watermark {
	bool has_event;
	int64_t max_event_ms;    /* newest event time seen */
	int64_t last_arrival_ms; /* wall time when a mention last arrived */
};

void watermark_init(struct watermark *w);
/* Records a mention of event time event_ms arriving at wall time now_ms. */
void watermark_observe(struct watermark *w, int64_t event_ms, int64_t now_ms);
/*
 * The watermark for a series with the given allowed lateness: newest event
 * time - lateness + (now - last arrival). INT64_MIN before any event.
 */
int64_t watermark_at(const struct watermark *w, int64_t lateness_ms,
		     int64_t now_ms);

/* Start of the bucket that holds t (floor, also for negative t). */
int64_t window_bucket_start(int64_t t_ms, int64_t bucket_ms);

struct series;

/*
 * Open buckets kept per series. A mention that would open one more is
 * reported as SERIES_LATE: only timestamps scattered far into the future
 * get there.
 */
#define SERIES_MAX_OPEN_BUCKETS 4096

/*
 * Per open bucket, the authors, languages, terms and hashtags of every
 * counted mention are tallied in a small table each, with the
 * space-saving algorithm (Metwally, Agrawal, El Abbadi, 2005): while a
 * table has room, every value is counted exactly; once it is full, a new
 * value takes the place of a value of least count m and starts at m + 1,
 * with err = m. A value that comes often, even only from late in a busy
 * bucket (a story breaking two minutes in), climbs into the table; over N
 * values counted, one seen more than N / distinct times is sure to be in
 * it, and a count is never under the true one, nor over it by more than
 * its err. Bounded memory whatever the stream, and deterministic: the
 * same values in the same order give the same table. Empty values
 * (unknown) are not counted.
 */
#define WINDOW_TOP_DISTINCT 64 /* authors and languages */
/* Distinct terms a bucket's table holds (see series_add_terms). */
#define WINDOW_TERMS_DISTINCT 256
/* Distinct hashtags, counted from the shared texts (window_terms). */
#define WINDOW_HASHTAGS_DISTINCT 128
/*
 * A kept value's bytes at most: a longer author or language is counted
 * under its first bytes, cut at a UTF-8 boundary (terms and hashtags
 * stop at TERMS_MAX_BYTES + 1).
 */
#define WINDOW_NAME_MAX 63
/* Values handed out per closed bucket in top_*, ranked as ranked[]. */
#define WINDOW_TOP_N 5
/* Values per kind worth storing with a bucket (closed_bucket_top). */
#define WINDOW_TOP_STORED 20

enum window_kind {
	WINDOW_KIND_AUTHORS,
	WINDOW_KIND_LANGS,
	WINDOW_KIND_TERMS,
	WINDOW_KIND_HASHTAGS,
	WINDOW_N_KINDS,
};

struct window_top {
	char *name; /* in its closed bucket's block */
	/* an upper bound of the value's occurrences in the bucket, and by
	 * how much it may be over: count - err <= true count <= count; err
	 * is 0 for a value counted exactly (the table never filled before
	 * it came in) */
	int64_t count;
	int64_t err;
};

struct closed_bucket {
	int64_t start_ms;
	int64_t end_ms;
	int64_t count;
	/* owned: one block holding the samples, the ranked values and their
	 * strings (the pointers below point into it); freed by
	 * closed_bucket_fini */
	void *mem;
	struct mention *samples; /* the newest first; not mention_fini'd */
	size_t n_samples;
	/* every value of each kind's table, n_ranked of them (up to the
	 * kind's distinct cap), ranked by guaranteed count (count - err),
	 * most first, then by count, then by name; NULL when none. Read
	 * them with closed_bucket_top. */
	struct window_top *ranked[WINDOW_N_KINDS];
	size_t n_ranked[WINDOW_N_KINDS];
	/* the first WINDOW_TOP_N at most of ranked[], per kind */
	struct window_top *top_authors;
	size_t n_top_authors;
	struct window_top *top_langs;
	size_t n_top_langs;
	struct window_top *top_terms;
	size_t n_top_terms;
	struct window_top *top_hashtags;
	size_t n_top_hashtags;
	/* With shared texts (series_add_mention), once filled at close:
	 * every term of the bucket counted exactly (core/termcount.h; err
	 * 0, in the order first seen; exact_cut: past TERMCOUNT_MAX distinct
	 * ones were left out), in a block of its own (exact_mem). */
	bool has_exact;
	bool exact_cut;
	struct window_top *exact_terms;
	size_t n_exact_terms;
	void *exact_mem;
	/* owned, opaque: the bucket's tallies and sample ring as counted,
	 * from series_pop_closed_lazy until series_reclaim (or
	 * closed_bucket_fini); the samples and values above are only set
	 * once closed_bucket_fill has run. NULL from series_pop_closed. */
	void *raw;
};

/* Caller frees with series_free. max_samples: kept per bucket. */
struct series *series_new(int64_t bucket_ms, size_t max_samples);
void series_free(struct series *s);
/*
 * Sets the first bucket still open (after a restore: the bucket after the
 * last one evaluated). Mentions before it are late.
 */
void series_set_next(struct series *s, int64_t next_start_ms);
/* Start of the first bucket not yet handed out, or INT64_MIN if unknown. */
int64_t series_next(const struct series *s);

enum series_add_result {
	SERIES_COUNTED,
	SERIES_LATE, /* its bucket was already closed */
};
/*
 * Counts m (borrowed; copied into the samples when kept) in the bucket of
 * event_ms. The first mention of a fresh series opens its bucket.
 */
enum series_add_result series_add(struct series *s, int64_t event_ms,
				  const struct mention *m);
/*
 * series_add, also tallying the mention's terms: tokens (len bytes) in
 * folded form " tok tok " (see terms_filter), each counted once, except
 * the words set with series_exclude_terms. NULL tokens: none. Hashtags
 * are tallied only from shared texts (series_add_mention, wm->shared).
 */
enum series_add_result series_add_terms(struct series *s, int64_t event_ms,
					const struct mention *m,
					const char *tokens, size_t len);
struct terms_tok;

/* The fields of a mention a sample keeps: id, text, lang, author, url,
 * source, tags. */
enum { WINDOW_N_FIELDS = 7 };

/*
 * What counting a mention reads of it, found once for all the series
 * (rules) it counts in, and possibly on another thread: its fields'
 * lengths and hashes, and its terms already split and hashed (terms.h,
 * terms_filter_toks: the tokens are at terms + toks[i].off, toks[i].len
 * bytes each). Everything is borrowed.
 */
/*
 * A mention's text shared by every rule it counts for (see
 * window_terms_new_text): a bucket keeps a reference instead of tallying
 * its terms, and its tallies of terms and hashtags (terms_of) are built
 * from the references, in the order they came, only when the bucket's
 * tops are read (closed_bucket_fill).
 */
struct window_terms;
struct fold;

struct window_mention {
	const struct mention *m;
	size_t len[WINDOW_N_FIELDS]; /* of the kept sample's strings */
	uint32_t author_hash;
	uint32_t lang_hash;
	const char *terms; /* NULL: none */
	const struct terms_tok *toks;
	size_t n_toks;
	/* when set, the mention's text as one shared block, its terms found
	 * only if its bucket is read (terms/toks unread) */
	struct window_terms *shared;
};

/*
 * Copies a mention's text (len bytes, up to TERMS_TEXT_MAX kept) into a
 * reference-counted block, held once by the caller; each bucket that
 * counts the mention takes a reference. Its terms are found with f
 * (terms_of; f must outlive the block) only if a bucket holding it is
 * read: most never are. Drop the caller's reference with
 * window_terms_release once the mention is counted. Not thread-safe: one
 * thread counts.
 */
struct window_terms *window_terms_new_text(const struct fold *f,
					   const char *text, size_t len);
void window_terms_release(struct window_terms *t);

/* Fills *wm for m (not NULL), with no terms (set them afterwards). */
void window_mention_init(struct window_mention *wm, const struct mention *m);
/*
 * series_add_terms for a mention described by wm: the same counts, tops
 * and samples, without measuring or hashing anything again.
 */
enum series_add_result series_add_mention(struct series *s, int64_t event_ms,
					  const struct window_mention *wm);
/*
 * Words never counted as terms of this series (the rule's own terms, which
 * would top every list), nor as hashtags ("#acme" for the word acme):
 * folded " tok tok ", len bytes, copied.
 */
void series_exclude_terms(struct series *s, const char *tokens, size_t len);
/*
 * Pops the oldest open bucket whose end is <= watermark_ms into *out
 * (caller frees with closed_bucket_fini) and returns true; false when none.
 * Gaps come out as zero-count buckets, at most max_gap_buckets of them per
 * jump: older empty buckets are skipped (callers pass their history length).
 */
bool series_pop_closed(struct series *s, int64_t watermark_ms,
		       size_t max_gap_buckets, struct closed_bucket *out);
/*
 * series_pop_closed without ranking the tops or copying the samples: *out
 * gets start, end and count, and keeps the bucket's raw tallies and sample
 * ring (out->raw) for closed_bucket_fill. Most buckets never notify
 * anyone; they go back with series_reclaim unread.
 */
bool series_pop_closed_lazy(struct series *s, int64_t watermark_ms,
			    size_t max_gap_buckets, struct closed_bucket *out);
/*
 * Sets b's samples and ranked values from its raw part, exactly as
 * series_pop_closed would have (a no-op for a bucket already complete).
 * The raw part stays attached, for series_reclaim. Ranking every value
 * costs a sort per kind: it is done for the buckets a notification reads.
 */
void closed_bucket_fill(struct closed_bucket *b);
/*
 * A filled view of the open bucket holding at_ms (INT64_MIN: the newest
 * open one) without closing it: its count so far, samples and ranked
 * values (caller frees with closed_bucket_fini); false when no such bucket
 * is open. The texts it counted so far are tallied now, as closing would.
 */
bool series_peek(struct series *s, int64_t at_ms, struct closed_bucket *out);
/*
 * Copies the max most frequent values of kind in b (filled: from
 * series_pop_closed or closed_bucket_fill) into out[], ranked as
 * b->ranked[kind], and returns how many: at most the
 * kind's distinct cap. Names are borrowed from b's block, valid until
 * closed_bucket_fini. WINDOW_TOP_STORED is what a bucket's record keeps;
 * WINDOW_TERMS_DISTINCT walks every term of the bucket.
 */
size_t closed_bucket_top(const struct closed_bucket *b, enum window_kind kind,
			 struct window_top *out, size_t max);
/*
 * Detaches b's raw part and gives its memory back to s (the series it
 * came from) for the next buckets to open, or frees it when s has enough
 * spares. b keeps what closed_bucket_fill wrote. s may be NULL (freed).
 */
void series_reclaim(struct series *s, struct closed_bucket *b);
/*
 * Hands out every open bucket regardless of the watermark (for a flush at
 * shutdown); the series keeps counting them. Returns how many were written.
 */
size_t series_open_counts(const struct series *s, int64_t *starts_ms,
			  int64_t *counts, size_t cap);
/* Count of the open bucket starting at start_ms (0 if none). */
int64_t series_open_count(const struct series *s, int64_t start_ms);
/*
 * Bytes the series holds: its open buckets and the spares it keeps for the
 * next ones (tallies, samples, references), not the texts shared with other
 * rules nor closed buckets handed out. Bounded per rule by what its recent
 * buckets needed (see SPARE_SLACK in window.c), whatever it held before.
 */
size_t series_bytes(const struct series *s);
/* Frees b's block and its raw part, if still attached. */
void closed_bucket_fini(struct closed_bucket *b);

#endif
