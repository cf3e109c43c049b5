/* SPDX-License-Identifier: MIT */
/*
 * What an alert is about: the terms of a bucket that rose against the rule's
 * usual share of mentions carrying them, not the most frequent ones (during
 * an outage a brand's everyday words outnumber the word of the news). One
 * model per rule, learned bucket by bucket; the caller tallies the terms
 * (window.c) and keeps the model. Pure.
 */
#ifndef HARK_CORE_EMERGE_H
#define HARK_CORE_EMERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/xalloc.h"

/*
 * Time constant of the usual rates: 7 days, the detector's own baseline
 * period (it learns the usual from the past week).
 */
#define EMERGE_TAU_MS (7LL * 24 * 3600 * 1000)
/*
 * Terms remembered per rule. Each costs 12 bytes (hash, weight, mentions
 * looked at: see emerge_learn_cut), so a rule holds at most 12 KiB
 * (100,000 rules: 1.2 GB at most; a small vocabulary holds less; a merge
 * holds a bucket's new terms more for a moment). When the table is full
 * the lighter half is dropped: a pruned term counts as never seen (usual
 * 0, and counted afresh when it comes back). A term entering the
 * table inherits the heaviest weight dropped so far (Space-Saving), and
 * ranking expects that much of a term not in it, so that a word of a
 * vocabulary richer than the table is not taken for a new one; the price
 * is that in such a rule a new word needs more mentions to be listed.
 */
#define EMERGE_MAX_TERMS 1024
/*
 * Mentions of a term in one bucket before it can be listed: two mentions
 * sharing a word is chance (a post and its quote).
 */
#define EMERGE_MIN_COUNT 3

/* Hits one emerge_rank returns at most: an alert shows a few terms, and
 * ranking needs no allocation with a bound. */
#define EMERGE_RANK_MAX 64

/* A bucket's tally entry: a folded term (fold.h, as window.c counts them)
 * and the number of mentions carrying it. name borrowed. */
struct emerge_term {
	const char *name;
	int64_t count;
};

/* A term that rose: count in the bucket, usual count per bucket, count /
 * max(usual, 0.5), and score (G, the Poisson log-likelihood ratio of the
 * count against its expected count at the bucket's volume). name borrowed
 * from the emerge_term it came from. */
struct emerge_hit {
	const char *name;
	int64_t count;
	double usual;
	double ratio;
	double score;
};

struct emerge;

/* A model for buckets of bucket_ms (> 0); free with emerge_free. */
struct emerge *emerge_new(int64_t bucket_ms);
void emerge_free(struct emerge *e);

/*
 * Ranks the bucket's terms (n entries; total = the bucket's mention count)
 * by how far they rose, most emerging first, into out (at most max, and at
 * most EMERGE_RANK_MAX); returns how many. Call BEFORE emerge_learn of the
 * same bucket. out[i].name points at the caller's strings.
 *
 * A term's expected count is its usual share of mentions times total, the
 * share smoothed so that a never-seen term expects half a mention in the
 * mentions seen so far plus one, taken from above (EMERGE_MAX_TERMS) and
 * over the mentions the term was looked for in (emerge_learn_cut). It is listed when its count is at least
 * EMERGE_MIN_COUNT, twice the expected count, and a rise that an ordinary
 * bucket shows for none of 256 terms but 1 time in 100 (more terms are
 * tested in a busy bucket, but most have tiny expected counts, under the
 * 3 mentions needed: measured, see test_emerge_window). Order: by
 * count minus expected count (the words behind most of the extra mentions),
 * ties by name. A word that merely rose with the volume is not listed.
 *
 * Before about a day of learning every repeated word is new, so the words
 * of the first buckets are listed as emerging: the prior makes them so
 * (emerge_buckets tells how much was learned).
 */
size_t emerge_rank(const struct emerge *e, const struct emerge_term *t,
		   size_t n, int64_t total, struct emerge_hit *out, size_t max);
/*
 * Learns a closed bucket: its terms (n entries, counts > 0) and its mention
 * count total; gap_buckets >= 0 empty buckets (no mentions) came before it,
 * which decay what was learned and lower the usual counts per bucket. A
 * tally of WINDOW_TERMS_DISTINCT entries or more is taken as cut (a
 * bounded table's): see emerge_learn_cut, which the daemon calls with a
 * closed bucket's exact counts (core/termcount).
 */
void emerge_learn(struct emerge *e, const struct emerge_term *t, size_t n,
		  int64_t total, int64_t gap_buckets);
/*
 * emerge_learn, saying whether the tally was cut (words of the bucket left
 * out). A term missing from a cut tally was not looked for, not absent: a
 * term's usual share is taken over the mentions of the buckets that could
 * show it, or in a busy rule a word of middling frequency, in the tally one
 * bucket in three, would look emerging whenever it is. This holds while the
 * term stays in the table: in a rule whose tallies are cut and whose
 * vocabulary is far richer than the table, a middling word pruned again and
 * again is known only by what it inherits, and may still be listed.
 */
void emerge_learn_cut(struct emerge *e, const struct emerge_term *t, size_t n,
		      int64_t total, int64_t gap_buckets, bool cut);
/* The usual count per bucket of a term (for the dashboard): what was
 * counted of it, less the most it can have inherited (EMERGE_MAX_TERMS), a
 * bound from below; 0 if unseen or pruned. */
double emerge_usual(const struct emerge *e, const char *name);
/* The usual share of mentions carrying a term, 0..1, counted likewise. */
double emerge_share(const struct emerge *e, const char *name);
/* The decayed number of buckets learned (at most about 7 days' worth). */
double emerge_buckets(const struct emerge *e);
/*
 * The model as a compact binary image, versioned, in native byte order (the
 * store is read back by the same kind of machine); caller frees. *len set.
 */
char *emerge_encode(const struct emerge *e, size_t *len);
/*
 * Replaces e's model by an image of emerge_encode. -1 (e unchanged) on a
 * truncated or malformed image, another version, or another bucket_ms (the
 * usual counts per bucket would be of other buckets).
 */
int emerge_decode(struct emerge *e, const char *buf,
		  size_t len) HARK_MUST_CHECK;
/* Memory held by e, in bytes (for a metric). */
size_t emerge_bytes(const struct emerge *e);

#endif
