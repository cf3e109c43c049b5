/* SPDX-License-Identifier: MIT */
/*
 * Emerging terms: exponentially decayed sums of buckets seen, mentions and
 * mentions per term, and the ranking of a bucket's terms against them.
 * Terms are kept as hashes in one array sorted by hash. Pure.
 */
#include "core/emerge.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/terms.h"

/*
 * Smoothing of a term's share: (W_t + PRIOR_HITS) / (W_m + PRIOR_MENTIONS),
 * as if one more mention had been seen that carried the term half the time
 * (the Krichevsky-Trofimov estimator). A never-seen term then expects half
 * a mention in all the mentions seen so far, not zero, and a share never
 * exceeds 1.
 */
#define PRIOR_HITS 0.5
#define PRIOR_MENTIONS 1.0
/* A term is listed only if its count is at least this many times its
 * expected count: a rise of a few percent is not what a spike is about. */
#define MIN_RISE 2.0
/*
 * Least G (Poisson log-likelihood ratio) of a listed term. For any Poisson
 * mean e, P(count >= c) <= exp(-G/2) (the Chernoff bound), so
 * G >= 2 ln(256 / 0.01) lists a term of an ordinary bucket with
 * probability under 0.01 / 256: with up to 256 terms tested per bucket
 * (WINDOW_TERMS_DISTINCT, window.c's tally), an ordinary bucket lists
 * something at most 1% of the time (Bonferroni). The chi-square quantile would be too kind at the small
 * expected counts of rare words, where the bound still holds.
 */
#define G_MIN 20.3
/* Usual count under which the ratio is taken against half a mention per
 * bucket, like the detector's ratio: finite for a new word. */
#define RATIO_FLOOR 0.5
/*
 * Stored weights are the real ones divided by unit, which decays instead of
 * every entry. Below UNIT_MIN the entries are multiplied out (one pass every
 * ~46 time constants): stored weights then stay under 1e20 times a real one,
 * far from float's 3e38.
 */
#define UNIT_MIN 1e-20
/* First allocation of the table, in entries: a quiet rule stays small. */
#define FIRST_CAP 16

/*
 * A term's weight w bounds from above the decayed mentions carrying it,
 * over unit; err is what it inherited when (re-)entered the table (see
 * prune), so w - err is what was counted since, a bound from below.
 */
struct entry {
	uint32_t hash;
	float w;
	float err;
};

struct emerge {
	int64_t bucket_ms;
	double r;    /* decay per bucket */
	double wb;   /* decayed buckets seen */
	double wm;   /* decayed mentions */
	double unit; /* real weight = entry.w * unit */
	/* The heaviest weight pruned, over unit like the entries (so it
	 * decays with them): the most a term not in the table may have. */
	double pruned;
	struct entry *v; /* owned; sorted by hash, unique */
	size_t n;
	size_t cap;
};

struct emerge *emerge_new(int64_t bucket_ms)
{
	struct emerge *e = xcalloc(1, sizeof(*e));

	e->bucket_ms = bucket_ms > 0 ? bucket_ms : 1;
	e->r = exp(-(double)e->bucket_ms / (double)EMERGE_TAU_MS);
	e->unit = 1.0;
	return e;
}

void emerge_free(struct emerge *e)
{
	if (e == NULL) {
		return;
	}
	free(e->v);
	free(e);
}

static uint32_t hash_of(const char *name)
{
	return terms_hash(name, strlen(name));
}

static const struct entry *find(const struct emerge *e, uint32_t h)
{
	size_t lo = 0, hi = e->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (e->v[mid].hash < h) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo < e->n && e->v[lo].hash == h ? &e->v[lo] : NULL;
}

/* The mentions counted of a term: its weight's lower bound. */
static double counted(const struct emerge *e, const struct entry *en)
{
	return en != NULL ? ((double)en->w - en->err) * e->unit : 0.0;
}

static double weight_of(const struct emerge *e, const char *name)
{
	return counted(e, find(e, hash_of(name)));
}

double emerge_usual(const struct emerge *e, const char *name)
{
	return e->wb > 0 ? weight_of(e, name) / e->wb : 0.0;
}

double emerge_share(const struct emerge *e, const char *name)
{
	double s = e->wm > 0 ? weight_of(e, name) / e->wm : 0.0;

	return s < 1.0 ? s : 1.0;
}

double emerge_buckets(const struct emerge *e)
{
	return e->wb;
}

/* Ranks a before b: larger excess first, then by name. */
static bool before(const struct emerge_hit *a, double ex_a,
		   const struct emerge_hit *b, double ex_b)
{
	if (ex_a != ex_b) {
		return ex_a > ex_b;
	}
	return strcmp(a->name, b->name) < 0;
}

size_t emerge_rank(const struct emerge *e, const struct emerge_term *t,
		   size_t n, int64_t total, struct emerge_hit *out, size_t max)
{
	double excess[EMERGE_RANK_MAX]; /* of each out[] entry */
	size_t k = 0;

	if (max > EMERGE_RANK_MAX) {
		max = EMERGE_RANK_MAX;
	}
	for (size_t i = 0; i < n && max > 0; i++) {
		double c = (double)t[i].count;
		const struct entry *en;
		double upper, ex, g, expected;
		int64_t vol = total > t[i].count ? total : t[i].count;
		struct emerge_hit h;
		size_t at;

		if (t[i].count < EMERGE_MIN_COUNT) {
			continue;
		}
		en = find(e, hash_of(t[i].name));
		/* The upper bound: a term pruned before is not new, and a
		 * word of a vocabulary richer than the table must not come
		 * back as one every time. */
		upper = (en != NULL ? en->w : e->pruned) * e->unit;
		expected = (upper + PRIOR_HITS) / (e->wm + PRIOR_MENTIONS) *
			   (double)vol;
		if (c < MIN_RISE * expected) {
			continue;
		}
		g = 2.0 * (c * log(c / expected) - (c - expected));
		if (!(g >= G_MIN)) {
			continue;
		}
		ex = c - expected;
		h.name = t[i].name;
		h.count = t[i].count;
		h.usual = e->wb > 0 ? counted(e, en) / e->wb : 0.0;
		h.ratio = c / (h.usual > RATIO_FLOOR ? h.usual : RATIO_FLOOR);
		h.score = g;
		if (k == max && !before(&h, ex, &out[k - 1], excess[k - 1])) {
			continue;
		}
		at = k < max ? k++ : k - 1;
		while (at > 0 && before(&h, ex, &out[at - 1], excess[at - 1])) {
			out[at] = out[at - 1];
			excess[at] = excess[at - 1];
			at--;
		}
		out[at] = h;
		excess[at] = ex;
	}
	return k;
}

/* Multiplies unit into the entries, dropping those that fell to zero. */
static void renormalise(struct emerge *e, double factor)
{
	size_t k = 0;

	for (size_t i = 0; i < e->n; i++) {
		float w = (float)((double)e->v[i].w * factor);

		if (w > 0) {
			e->v[k].hash = e->v[i].hash;
			e->v[k].w = w;
			e->v[k].err = (float)((double)e->v[i].err * factor);
			k++;
		}
	}
	e->n = k;
	e->pruned *= factor;
	e->unit = 1.0;
}

static void decay(struct emerge *e, int64_t gap_buckets)
{
	double steps = (double)(gap_buckets > 0 ? gap_buckets : 0) + 1.0;
	double d = exp(-steps * (double)e->bucket_ms / (double)EMERGE_TAU_MS);

	/* The empty buckets and this one each count 1 when seen, then decay:
	 * 1 + r + ... + r^gap. */
	e->wb = e->wb * d + (1.0 - d) / (1.0 - e->r);
	e->wm *= d;
	if (e->unit * d < UNIT_MIN) {
		renormalise(e, e->unit * d);
	} else {
		e->unit *= d;
	}
}

/* x (a stored weight) as a float, saturated: an absurd count must not make
 * an infinite weight. */
static float to_w(double x)
{
	return x < FLT_MAX ? (float)x : FLT_MAX;
}

static int cmp_entry(const void *a, const void *b)
{
	uint32_t x = ((const struct entry *)a)->hash;
	uint32_t y = ((const struct entry *)b)->hash;

	return (x > y) - (x < y);
}

static void swap(float *w, size_t a, size_t b)
{
	float tmp = w[a];

	w[a] = w[b];
	w[b] = tmp;
}

/* The weight of the keep-th heaviest of w[0..n) (0 < keep <= n), by
 * quickselect with a three-way partition (ties end it); reorders w. */
static float select_heavy(float *w, size_t n, size_t keep)
{
	size_t lo = 0, hi = n, want = keep - 1;

	for (;;) {
		float pivot = w[lo + (hi - lo) / 2];
		size_t lt = lo, i = lo, gt = hi;

		/* [lo, lt) heavier than pivot, [lt, gt) equal, [gt, hi)
		 * lighter. */
		while (i < gt) {
			if (w[i] > pivot) {
				swap(w, lt++, i++);
			} else if (w[i] < pivot) {
				swap(w, i, --gt);
			} else {
				i++;
			}
		}
		if (want < lt) {
			hi = lt;
		} else if (want >= gt) {
			lo = gt;
		} else {
			return pivot;
		}
	}
}

/*
 * Keeps the EMERGE_MAX_TERMS / 2 heaviest entries, in hash order, and
 * raises pruned to the heaviest weight dropped, which every term entering
 * the table later inherits (Metwally et al.'s Space-Saving, by halves). A
 * term's weight then stays an upper bound however often it was pruned:
 * with a vocabulary richer than the table, a mid-frequency word pruned
 * again and again would otherwise be new each time it comes back.
 */
static void prune(struct emerge *e)
{
	size_t keep = EMERGE_MAX_TERMS / 2;
	float *w = xmalloc(e->n * sizeof(*w));
	float thr;
	size_t above = 0, k = 0, ties;

	for (size_t i = 0; i < e->n; i++) {
		w[i] = e->v[i].w;
	}
	thr = select_heavy(w, e->n, keep);
	free(w);
	for (size_t i = 0; i < e->n; i++) {
		above += e->v[i].w > thr;
	}
	/* Entries weighing exactly thr fill the rest, the first in hash
	 * order (no other order to prefer). */
	ties = keep - above;
	for (size_t i = 0; i < e->n; i++) {
		bool in = e->v[i].w > thr;

		if (!in && e->v[i].w == thr && ties > 0) {
			in = true;
			ties--;
		}
		if (in) {
			e->v[k++] = e->v[i];
		} else if (e->v[i].w > e->pruned) {
			e->pruned = e->v[i].w;
		}
	}
	e->n = k;
	e->cap = EMERGE_MAX_TERMS;
	e->v = xrealloc(e->v, e->cap * sizeof(*e->v));
}

static void reserve(struct emerge *e, size_t need)
{
	size_t cap = e->cap > 0 ? e->cap : FIRST_CAP;

	if (need <= e->cap) {
		return;
	}
	while (cap < need) {
		cap *= 2;
	}
	/* Past the cap only for the moment of a merge, before the prune. */
	if (cap > EMERGE_MAX_TERMS) {
		cap = need > EMERGE_MAX_TERMS ? need : EMERGE_MAX_TERMS;
	}
	e->v = xrealloc(e->v, cap * sizeof(*e->v));
	e->cap = cap;
}

void emerge_learn(struct emerge *e, const struct emerge_term *t, size_t n,
		  int64_t total, int64_t gap_buckets)
{
	struct entry *add;
	size_t m = 0, fresh = 0, i, j, out;

	decay(e, gap_buckets);
	e->wm += (double)(total > 0 ? total : 0);
	if (n == 0) {
		return;
	}
	add = xmalloc(n * sizeof(*add));
	/* Known terms grow in place; only the new ones are sorted (most of a
	 * bucket's terms are known), then merged in. */
	for (i = 0; i < n; i++) {
		uint32_t h = hash_of(t[i].name);
		struct entry *en = (struct entry *)find(e, h);
		double w = (double)t[i].count / e->unit;

		if (t[i].count <= 0) {
			continue;
		}
		if (en != NULL) {
			en->w = to_w((double)en->w + w);
		} else {
			add[m].hash = h;
			add[m].w = to_w(w);
			add[m].err = 0;
			m++;
		}
	}
	qsort(add, m, sizeof(*add), cmp_entry);
	/* A new term twice in the tally (or two names of one hash): one
	 * entry. */
	for (i = 0; i < m; i++) {
		if (fresh > 0 && add[fresh - 1].hash == add[i].hash) {
			add[fresh - 1].w =
				to_w((double)add[fresh - 1].w + add[i].w);
		} else {
			add[fresh++] = add[i];
		}
	}
	for (i = 0; i < fresh; i++) {
		add[i].w = to_w((double)add[i].w + e->pruned);
		add[i].err = (float)e->pruned;
	}
	if (fresh > 0) {
		reserve(e, e->n + fresh);
		/* Merge from the back so that nothing moves twice. */
		i = e->n;
		j = fresh;
		out = e->n + fresh;
		while (j > 0) {
			if (i > 0 && e->v[i - 1].hash > add[j - 1].hash) {
				e->v[--out] = e->v[--i];
			} else {
				e->v[--out] = add[--j];
			}
		}
		e->n += fresh;
		if (e->n > EMERGE_MAX_TERMS) {
			prune(e);
		}
	}
	free(add);
}

/*
 * Image: "HKEM", version, bucket_ms, buckets, mentions, the heaviest
 * weight pruned, entry count, then the entries (hash, real weight and
 * inherited part as floats) in hash order.
 */
#define IMAGE_MAGIC "HKEM"
#define IMAGE_VERSION 1u

struct head {
	char magic[4];
	uint32_t version;
	int64_t bucket_ms;
	double wb;
	double wm;
	double pruned;
	uint32_t n;
	uint32_t pad;
};

/* Entry i in real units; w 0 when it is too light for a float. */
static struct entry real_entry(const struct emerge *e, size_t i)
{
	struct entry en = {e->v[i].hash, (float)((double)e->v[i].w * e->unit),
			   (float)((double)e->v[i].err * e->unit)};

	return en;
}

char *emerge_encode(const struct emerge *e, size_t *len)
{
	struct head h;
	char *buf;
	size_t n = 0;

	for (size_t i = 0; i < e->n; i++) {
		n += real_entry(e, i).w > 0;
	}
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, IMAGE_MAGIC, 4);
	h.version = IMAGE_VERSION;
	h.bucket_ms = e->bucket_ms;
	h.wb = e->wb;
	h.wm = e->wm;
	h.pruned = e->pruned * e->unit;
	h.n = (uint32_t)n;
	*len = sizeof(h) + n * sizeof(struct entry);
	buf = xmalloc(*len);
	memcpy(buf, &h, sizeof(h));
	n = 0;
	for (size_t i = 0; i < e->n; i++) {
		struct entry en = real_entry(e, i);

		/* Forgotten by now: an entry must weigh something. */
		if (en.w > 0) {
			memcpy(buf + sizeof(h) + n * sizeof(en), &en,
			       sizeof(en));
			n++;
		}
	}
	return buf;
}

int emerge_decode(struct emerge *e, const char *buf, size_t len)
{
	struct head h;
	struct entry *v = NULL;

	if (len < sizeof(h)) {
		return -1;
	}
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, IMAGE_MAGIC, 4) != 0 ||
	    h.version != IMAGE_VERSION || h.bucket_ms != e->bucket_ms ||
	    h.n > EMERGE_MAX_TERMS ||
	    len != sizeof(h) + (size_t)h.n * sizeof(struct entry) ||
	    !isfinite(h.wb) || !isfinite(h.wm) || !isfinite(h.pruned) ||
	    h.wb < 0 || h.wm < 0 || h.pruned < 0) {
		return -1;
	}
	if (h.n > 0) {
		v = xmalloc(h.n * sizeof(*v));
		memcpy(v, buf + sizeof(h), h.n * sizeof(*v));
	}
	for (size_t i = 0; i < h.n; i++) {
		if (!isfinite(v[i].w) || !(v[i].w > 0) || !(v[i].err >= 0) ||
		    !(v[i].err <= v[i].w) ||
		    (i > 0 && v[i].hash <= v[i - 1].hash)) {
			free(v);
			return -1;
		}
	}
	free(e->v);
	e->v = v;
	e->n = h.n;
	e->cap = h.n;
	e->wb = h.wb;
	e->wm = h.wm;
	e->pruned = h.pruned;
	e->unit = 1.0;
	return 0;
}

size_t emerge_bytes(const struct emerge *e)
{
	return sizeof(*e) + e->cap * sizeof(*e->v);
}
