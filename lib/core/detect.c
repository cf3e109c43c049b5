/* SPDX-License-Identifier: MIT */
/*
 * Spike and drop detection for one rule's bucket series (see detect.h).
 * The baseline combines a recent level (median of the last hour) with a
 * time-of-day profile of up to 7 previous days, both read from a ring of
 * counts cleaned of the anomalies they held; the test is Poisson with 10%
 * extra dispersion plus min_count and min_ratio guards. Pure: the caller
 * (the detect tick, or hark replay) passes every bucket in order.
 */
#include "core/detect.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

#define DAY_MS (86400 * 1000LL)
#define MINUTE_MS (60 * 1000LL)
/* 7 days of 30 s buckets; beyond that the ring costs more than it tells. */
#define MAX_SLOTS 20160
#define MAX_DAYS 7
#define MAX_RECENT 48
/* Consecutive calm buckets needed to resolve. */
#define CALM_TO_RESOLVE 3
/* A firing that lasts this long is a new level, not a spike. */
#define MAX_FIRING_MS (6 * 3600 * 1000LL)
#define RATIO_FLOOR 0.5
/* Extra dispersion over Poisson: real streams are burstier. */
#define DISPERSION 0.1
/* Half-width of the time-of-day neighbourhood. Days repeat only roughly: a
 * morning rise jitters by ±15 min, so two days can be 30 min apart. */
#define SEASON_HALF_MS (30 * MINUTE_MS)
#define ENCODE_MAX_BYTES (4u * 1024 * 1024)
#define COUNT_MAX 0xffffffffu

struct detector {
	struct detect_params p;
	size_t n_slots;
	uint32_t *hist; /* owned; cleaned counts, slot = bucket number mod n */
	size_t seen;    /* buckets of history in the ring (<= n_slots) */
	int64_t steps;  /* buckets evaluated since the start, gaps included */
	int64_t next_ms; /* INT64_MIN before the first step */
	enum detect_state state;
	int64_t fired_start_ms;
	int calm_run;
	int64_t cooldown_until_ms;
	/* After a forced resolve: store raw counts until one bucket looks
	 * normal again, so that a lasting level shift is learned. */
	bool learning;
	struct detect_result last;
};

/* What one side (up or down) of the test saw for a bucket. */
struct side {
	double mu;
	double score; /* positive when the count is off in this side's way */
	double ratio; /* count / mu for up, mu / count for down (floored) */
	bool anomalous;
	bool calm;
};

static const char *const state_names[] = {
	[DETECT_STATE_WARMING] = "warming",
	[DETECT_STATE_OK] = "ok",
	[DETECT_STATE_FIRING] = "firing",
};

void detect_params_default(struct detect_params *p, int64_t bucket_ms)
{
	memset(p, 0, sizeof(*p));
	p->bucket_ms = bucket_ms;
	p->direction = DETECT_UP;
	p->threshold = 5.0;
	p->min_count = 10;
	p->min_ratio = 2.0;
	p->cooldown_ms = 3600 * 1000LL;
	p->warmup_ms = DAY_MS;
	p->history_ms = 7 * DAY_MS;
}

const char *detect_state_name(enum detect_state s)
{
	if ((unsigned)s < sizeof(state_names) / sizeof(state_names[0])) {
		return state_names[s];
	}
	return "unknown";
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0))) {
		q--;
	}
	return q;
}

struct detector *detector_new(const struct detect_params *p)
{
	struct detector *d = xcalloc(1, sizeof(*d));
	int64_t slots;

	HARK_ASSERT(p->bucket_ms > 0);
	d->p = *p;
	slots = p->history_ms / p->bucket_ms;
	if (slots < 1) {
		slots = 1;
	}
	if (slots > MAX_SLOTS) {
		slots = MAX_SLOTS;
	}
	d->n_slots = (size_t)slots;
	d->hist = xcalloc(d->n_slots, sizeof(d->hist[0]));
	d->next_ms = INT64_MIN;
	d->state = DETECT_STATE_WARMING;
	d->cooldown_until_ms = INT64_MIN;
	return d;
}

void detector_free(struct detector *d)
{
	if (d == NULL) {
		return;
	}
	free(d->hist);
	free(d);
}

int64_t detector_next_start(const struct detector *d)
{
	return d->next_ms;
}

enum detect_state detector_state(const struct detector *d)
{
	return d->state;
}

const struct detect_result *detector_last(const struct detector *d)
{
	return &d->last;
}

static size_t slot_of(const struct detector *d, int64_t k)
{
	int64_t n = (int64_t)d->n_slots;

	return (size_t)(((k % n) + n) % n);
}

/* Cleaned count of the bucket `back` buckets before bucket k (back >= 1),
 * or -1 when the ring does not reach that far. */
static double hist_at(const struct detector *d, int64_t k, int64_t back)
{
	if (back < 1 || back > (int64_t)d->seen) {
		return -1.0;
	}
	return (double)d->hist[slot_of(d, k - back)];
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(v[0]), cmp_double);
	if (n % 2 == 1) {
		return v[n / 2];
	}
	return (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* Highest cleaned count in the ring (0 when empty); read during warmup
 * only, when the ring holds at most one day. */
static double hist_max(const struct detector *d)
{
	int64_t k = floor_div(d->next_ms, d->p.bucket_ms);
	double m = 0.0;

	for (int64_t back = 1; back <= (int64_t)d->seen; back++) {
		double v = hist_at(d, k, back);

		if (v > m) {
			m = v;
		}
	}
	return m;
}

static size_t recent_len(const struct detector *d)
{
	int64_t r = 3600 * 1000LL / d->p.bucket_ms;

	if (r < 6) {
		r = 6;
	}
	if (r > MAX_RECENT) {
		r = MAX_RECENT;
	}
	return (size_t)r;
}

/* Median of the last hour or so of cleaned counts; 0 with no history. */
static double recent_level(const struct detector *d, int64_t k)
{
	double v[MAX_RECENT];
	size_t n = recent_len(d);

	if (n > d->seen) {
		n = d->seen;
	}
	if (n == 0) {
		return 0.0;
	}
	for (size_t i = 0; i < n; i++) {
		v[i] = hist_at(d, k, (int64_t)i + 1);
	}
	return median(v, n);
}

/* Mean of the available counts among back-1, back, back+1. */
static double mean3(const struct detector *d, int64_t k, int64_t back)
{
	double sum = 0.0;
	int n = 0;

	for (int64_t j = back - 1; j <= back + 1; j++) {
		double v = hist_at(d, k, j);

		if (v >= 0.0) {
			sum += v;
			n++;
		}
	}
	return n > 0 ? sum / n : -1.0;
}

/*
 * The time-of-day profile for bucket k: per previous day, the highest
 * (dilate) or lowest (erode) 3-bucket mean around the same time of day, so
 * that a daily rise or fall that shifts a little is still covered; then the
 * median over days (the mean below 3 days). False before one day of history.
 */
static bool seasonal_level(const struct detector *d, int64_t k, bool dilate,
			   double *out)
{
	int64_t day_b, half;
	double days[MAX_DAYS];
	size_t n_days = 0;
	double sum = 0.0;

	if (d->p.bucket_ms > DAY_MS / 2) {
		return false;
	}
	day_b = DAY_MS / d->p.bucket_ms;
	half = SEASON_HALF_MS / d->p.bucket_ms;
	if (half < 1) {
		half = 1;
	}
	if (half > day_b / 4) {
		half = day_b / 4;
	}
	for (int day = 1; day <= MAX_DAYS; day++) {
		int64_t center = day * day_b;
		double best = -1.0;

		if (center > (int64_t)d->seen) {
			break;
		}
		for (int64_t back = center - half; back <= center + half;
		     back++) {
			double m = mean3(d, k, back);

			if (m < 0.0) {
				continue;
			}
			if (best < 0.0 || (dilate ? m > best : m < best)) {
				best = m;
			}
		}
		if (best >= 0.0) {
			days[n_days++] = best;
			sum += best;
		}
	}
	if (n_days == 0) {
		return false;
	}
	*out = n_days < 3 ? sum / (double)n_days : median(days, n_days);
	return true;
}

static double baseline_up(const struct detector *d, int64_t k)
{
	double recent = recent_level(d, k);
	double season;

	if (seasonal_level(d, k, true, &season) && season > recent) {
		return season;
	}
	return recent;
}

static double baseline_down(const struct detector *d, int64_t k)
{
	double recent = recent_level(d, k);
	double season;

	if (seasonal_level(d, k, false, &season) && season < recent) {
		return season;
	}
	return recent;
}

double detector_baseline(const struct detector *d)
{
	if (d->next_ms == INT64_MIN || d->seen == 0) {
		return 0.0;
	}
	if (d->p.direction == DETECT_DOWN) {
		return baseline_down(d, floor_div(d->next_ms, d->p.bucket_ms));
	}
	return baseline_up(d, floor_div(d->next_ms, d->p.bucket_ms));
}

static double spread(double mu)
{
	return sqrt(mu + (DISPERSION * mu) * (DISPERSION * mu) + 1.0);
}

static void test_up(const struct detector *d, double x, double mu,
		    struct side *s)
{
	double floored = mu > RATIO_FLOOR ? mu : RATIO_FLOOR;

	s->mu = mu;
	s->score = (x - mu) / spread(mu);
	s->ratio = x / floored;
	s->anomalous = s->score >= d->p.threshold &&
		       x >= (double)d->p.min_count &&
		       x >= d->p.min_ratio * floored;
	s->calm = !s->anomalous && s->ratio < d->p.min_ratio / 2.0 + 0.5;
}

static void test_down(const struct detector *d, double x, double mu,
		      struct side *s)
{
	double xf = x > RATIO_FLOOR ? x : RATIO_FLOOR;

	s->mu = mu;
	s->score = (mu - x) / spread(mu);
	s->ratio = mu / xf;
	s->anomalous = s->score >= d->p.threshold &&
		       mu >= (double)d->p.min_count &&
		       mu >= d->p.min_ratio * xf;
	s->calm = !s->anomalous && s->ratio < d->p.min_ratio / 2.0 + 0.5;
}

/* Stores the count of bucket k; cleaned into mu ± 2 sqrt(mu) of the sides
 * tested when the bucket must not teach the baseline. */
static void store(struct detector *d, int64_t k, int64_t count, bool clean,
		  const struct side *up, const struct side *down)
{
	double v = (double)count;

	if (clean && up != NULL) {
		double hi = ceil(up->mu + 2.0 * sqrt(up->mu));

		if (v > hi) {
			v = hi;
		}
	}
	if (clean && down != NULL) {
		double lo = floor(down->mu - 2.0 * sqrt(down->mu));

		if (v < lo) {
			v = lo;
		}
	}
	if (v < 0.0) {
		v = 0.0;
	}
	if (v > (double)COUNT_MAX) {
		v = (double)COUNT_MAX;
	}
	d->hist[slot_of(d, k)] = (uint32_t)v;
	if (d->seen < d->n_slots) {
		d->seen++;
	}
}

/* Evaluates bucket start_ms (== d->next_ms) and moves on by one bucket. */
static void step_one(struct detector *d, int64_t start_ms, int64_t count,
		     struct detect_result *out)
{
	int64_t k = floor_div(start_ms, d->p.bucket_ms);
	int64_t end_ms = start_ms + d->p.bucket_ms;
	bool test_u = d->p.direction != DETECT_DOWN;
	bool test_d = d->p.direction != DETECT_UP;
	bool warming;
	bool anomalous;
	bool calm;
	bool clean;
	struct side up = {0};
	struct side down = {0};
	const struct side *shown;

	warming = d->steps < INT64_MAX / d->p.bucket_ms &&
		  d->steps * d->p.bucket_ms < d->p.warmup_ms;
	if (count < 0) {
		count = 0;
	}
	if (test_u) {
		test_up(d, (double)count, baseline_up(d, k), &up);
	}
	if (test_d) {
		test_down(d, (double)count, baseline_down(d, k), &down);
	}
	anomalous = (test_u && up.anomalous) || (test_d && down.anomalous);
	calm = (!test_u || up.calm) && (!test_d || down.calm);
	if (!test_u) {
		shown = &down;
	} else if (!test_d) {
		shown = &up;
	} else if (down.anomalous && !up.anomalous) {
		shown = &down;
	} else if (up.anomalous) {
		shown = &up;
	} else {
		shown = up.score >= down.score ? &up : &down;
	}

	memset(out, 0, sizeof(*out));
	out->action = DETECT_NONE;
	clean = false;
	if (warming) {
		/* Only an outlier against everything seen so far may fire
		 * before the profile exists, and only after half the warmup:
		 * a daily rise on the first morning must not look like one. */
		anomalous = test_u && up.anomalous &&
			    d->steps * d->p.bucket_ms >= d->p.warmup_ms / 2 &&
			    (double)count >= d->p.min_ratio * hist_max(d);
	}
	if (warming && d->state != DETECT_STATE_FIRING && !anomalous) {
		/* No verdicts yet: the first day is stored as it came, so
		 * that tomorrow's profile holds today's real rhythm. */
		d->state = DETECT_STATE_WARMING;
	} else if (d->state == DETECT_STATE_FIRING) {
		d->calm_run = calm ? d->calm_run + 1 : 0;
		if (d->calm_run >= CALM_TO_RESOLVE) {
			out->action = DETECT_RESOLVE;
		} else if (end_ms - d->fired_start_ms >= MAX_FIRING_MS) {
			out->action = DETECT_RESOLVE;
			d->learning = true;
		} else {
			clean = true;
		}
		if (out->action == DETECT_RESOLVE) {
			out->fired_start_ms = d->fired_start_ms;
			d->state = warming ? DETECT_STATE_WARMING
					   : DETECT_STATE_OK;
			d->calm_run = 0;
			d->cooldown_until_ms = end_ms + d->p.cooldown_ms;
		}
	} else {
		d->state = warming ? DETECT_STATE_WARMING : DETECT_STATE_OK;
		if (d->learning && !anomalous) {
			d->learning = false;
		}
		if (anomalous && !d->learning &&
		    start_ms >= d->cooldown_until_ms) {
			out->action = DETECT_FIRE;
			d->state = DETECT_STATE_FIRING;
			d->fired_start_ms = start_ms;
			d->calm_run = 0;
		}
		clean = anomalous && !d->learning;
	}
	store(d, k, count, clean, test_u ? &up : NULL, test_d ? &down : NULL);
	if (d->steps < INT64_MAX) {
		d->steps++;
	}
	d->next_ms = end_ms;
	if (d->state == DETECT_STATE_WARMING &&
	    !(d->steps < INT64_MAX / d->p.bucket_ms &&
	      d->steps * d->p.bucket_ms < d->p.warmup_ms)) {
		d->state = DETECT_STATE_OK;
	}

	out->start_ms = start_ms;
	out->end_ms = end_ms;
	out->count = count;
	out->baseline = shown->mu;
	out->ratio = (double)count /
		     (shown->mu > RATIO_FLOOR ? shown->mu : RATIO_FLOOR);
	out->score = shown == &up ? up.score : -down.score;
	out->anomalous = anomalous;
	out->state = d->state;
	if (d->state == DETECT_STATE_FIRING) {
		out->fired_start_ms = d->fired_start_ms;
	}
	d->last = *out;
}

void detector_step(struct detector *d, int64_t start_ms, int64_t count,
		   struct detect_result *out)
{
	int64_t bucket = d->p.bucket_ms;
	bool was_firing = d->state == DETECT_STATE_FIRING;
	int64_t fired_start = d->fired_start_ms;
	int64_t missing;

	start_ms = floor_div(start_ms, bucket) * bucket;
	if (d->next_ms != INT64_MIN && start_ms < d->next_ms) {
		/* Already evaluated: report without learning it twice. */
		*out = d->last;
		out->start_ms = start_ms;
		out->end_ms = start_ms + bucket;
		out->count = count;
		out->action = DETECT_NONE;
		out->anomalous = false;
		return;
	}
	if (d->next_ms != INT64_MIN && start_ms > d->next_ms) {
		missing = start_ms / bucket - d->next_ms / bucket;
		if ((uint64_t)missing > d->n_slots) {
			/* Older zeros would fall out of the ring anyway. */
			d->steps = missing - (int64_t)d->n_slots >
					   INT64_MAX - d->steps
				   ? INT64_MAX
				   : d->steps + missing - (int64_t)d->n_slots;
			d->next_ms = start_ms - (int64_t)d->n_slots * bucket;
			d->seen = 0;
		}
		while (d->next_ms < start_ms) {
			step_one(d, d->next_ms, 0, out);
		}
	}
	step_one(d, start_ms, count, out);
	/* Report a change of state that happened inside a gap, so that no
	 * notification is lost; a fire and resolve both inside it cancel. */
	if (out->action == DETECT_NONE) {
		if (!was_firing && d->state == DETECT_STATE_FIRING) {
			out->action = DETECT_FIRE;
		} else if (was_firing && d->state != DETECT_STATE_FIRING) {
			out->action = DETECT_RESOLVE;
			out->fired_start_ms = fired_start;
		}
		d->last.action = out->action;
		d->last.fired_start_ms = out->fired_start_ms;
	}
}

char *detector_encode(const struct detector *d, size_t *len_out)
{
	struct buf b;
	const struct detect_result *l = &d->last;
	int64_t k0;
	int rc;

	/* History is written oldest first, runs as value*count: quiet rules
	 * are mostly zeros. 20160 slots of 10 digits fit the cap. */
	buf_init(&b, ENCODE_MAX_BYTES);
	rc = buf_printf(
		&b,
		"hark-detect v1 bucket=%" PRId64 " next=%" PRId64
		" steps=%" PRId64 " state=%s fired=%" PRId64 " calm=%d"
		" cooldown=%" PRId64 " learning=%d"
		" last=%" PRId64 ",%" PRId64 ",%" PRId64 ",%.17g,%.17g,%.17g,%d,%d,%d,%" PRId64
		";h=",
		d->p.bucket_ms, d->next_ms, d->steps,
		detect_state_name(d->state), d->fired_start_ms, d->calm_run,
		d->cooldown_until_ms, d->learning ? 1 : 0, l->start_ms,
		l->end_ms, l->count, l->baseline, l->ratio, l->score, l->anomalous ? 1 : 0,
		(int)l->state, (int)l->action, l->fired_start_ms);
	HARK_ASSERT(rc == 0);
	if (d->seen > 0) {
		k0 = floor_div(d->next_ms, d->p.bucket_ms) - (int64_t)d->seen;
		for (size_t i = 0; i < d->seen;) {
			uint32_t v = d->hist[slot_of(d, k0 + (int64_t)i)];
			size_t run = 1;

			while (i + run < d->seen &&
			       d->hist[slot_of(d, k0 + (int64_t)(i + run))] ==
				       v) {
				run++;
			}
			if (run > 1) {
				rc = buf_printf(&b, "%s%" PRIu32 "*%zu",
						i > 0 ? "," : "", v, run);
			} else {
				rc = buf_printf(&b, "%s%" PRIu32,
						i > 0 ? "," : "", v);
			}
			HARK_ASSERT(rc == 0);
			i += run;
		}
	}
	return buf_steal(&b, len_out);
}

/* Reads "key=<int64>" at *p and moves past it and one space. */
static bool read_int(const char **p, const char *key, int64_t *out)
{
	size_t kl = strlen(key);
	char *end;
	long long v;

	if (strncmp(*p, key, kl) != 0 || (*p)[kl] != '=' ||
	    !(isdigit((unsigned char)(*p)[kl + 1]) || (*p)[kl + 1] == '-')) {
		return false;
	}
	errno = 0;
	v = strtoll(*p + kl + 1, &end, 10);
	if (errno != 0 || end == *p + kl + 1) {
		return false;
	}
	*out = v;
	*p = end;
	if (**p == ' ') {
		(*p)++;
	}
	return true;
}

static bool read_num(const char **p, int64_t *out, char sep)
{
	char *end;
	long long v;

	if (!(isdigit((unsigned char)**p) || **p == '-')) {
		return false;
	}
	errno = 0;
	v = strtoll(*p, &end, 10);
	if (errno != 0 || end == *p || (sep != '\0' && *end != sep)) {
		return false;
	}
	*out = v;
	*p = sep != '\0' ? end + 1 : end;
	return true;
}

static bool read_dbl(const char **p, double *out)
{
	char *end;
	double v;

	v = strtod(*p, &end);
	if (end == *p || *end != ',' || !isfinite(v)) {
		return false;
	}
	*out = v;
	*p = end + 1;
	return true;
}

static bool parse_state_name(const char **p, enum detect_state *out)
{
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]);
	     i++) {
		size_t n = strlen(state_names[i]);

		if (strncmp(*p, "state=", 6) == 0 &&
		    strncmp(*p + 6, state_names[i], n) == 0 &&
		    (*p)[6 + n] == ' ') {
			*out = (enum detect_state)i;
			*p += 6 + n + 1;
			return true;
		}
	}
	return false;
}

static bool parse_last(const char **p, struct detect_result *l,
		       int64_t bucket)
{
	int64_t v;

	if (strncmp(*p, "last=", 5) != 0) {
		return false;
	}
	*p += 5;
	memset(l, 0, sizeof(*l));
	if (!read_num(p, &l->start_ms, ',') || !read_num(p, &l->end_ms, ',') ||
	    !read_num(p, &l->count, ',') ||
	    !read_dbl(p, &l->baseline) || !read_dbl(p, &l->ratio) ||
	    !read_dbl(p, &l->score)) {
		return false;
	}
	if (!read_num(p, &v, ',') || (v != 0 && v != 1)) {
		return false;
	}
	l->anomalous = v == 1;
	if (!read_num(p, &v, ',') || v < 0 || v > DETECT_STATE_FIRING) {
		return false;
	}
	l->state = (enum detect_state)v;
	if (!read_num(p, &v, ',') || v < 0 || v > DETECT_RESOLVE) {
		return false;
	}
	l->action = (enum detect_action)v;
	if (!read_num(p, &l->fired_start_ms, ';')) {
		return false;
	}
	if (l->end_ms == 0 && l->start_ms == 0) {
		return true; /* never stepped */
	}
	return !__builtin_sub_overflow(l->end_ms, l->start_ms, &v) &&
	       v == bucket;
}

/* Parses the history list into a fresh array, newest last. */
static bool parse_history(const char *p, uint32_t **vals_out, size_t *n_out)
{
	uint32_t *vals = NULL;
	size_t n = 0, cap = 0;

	if (strncmp(p, "h=", 2) != 0) {
		return false;
	}
	p += 2;
	while (*p != '\0') {
		int64_t v, run = 1;
		char *end;

		if (!isdigit((unsigned char)*p)) {
			goto fail;
		}
		errno = 0;
		v = strtoll(p, &end, 10);
		if (errno != 0 || v > COUNT_MAX) {
			goto fail;
		}
		p = end;
		if (*p == '*') {
			p++;
			if (!isdigit((unsigned char)*p)) {
				goto fail;
			}
			errno = 0;
			run = strtoll(p, &end, 10);
			if (errno != 0 || run < 1 || run > MAX_SLOTS) {
				goto fail;
			}
			p = end;
		}
		if (n + (size_t)run > 8 * MAX_SLOTS) {
			goto fail;
		}
		if (n + (size_t)run > cap) {
			cap = (n + (size_t)run) * 2;
			vals = xreallocarray(vals, cap, sizeof(vals[0]));
		}
		for (int64_t i = 0; i < run; i++) {
			vals[n++] = (uint32_t)v;
		}
		if (*p == ',') {
			p++;
			if (*p == '\0') {
				goto fail;
			}
		} else if (*p != '\0') {
			goto fail;
		}
	}
	*vals_out = vals;
	*n_out = n;
	return true;
fail:
	free(vals);
	return false;
}

int detector_decode(struct detector *d, const char *text, size_t len)
{
	static const char magic[] = "hark-detect v1 ";
	char *copy;
	const char *p;
	int64_t bucket, next, steps, fired, calm, cooldown, learning;
	enum detect_state state;
	struct detect_result last;
	uint32_t *vals = NULL;
	size_t n_vals = 0, keep;
	int64_t k0;
	int rc = -1;

	if (text == NULL || len > ENCODE_MAX_BYTES ||
	    memchr(text, '\0', len) != NULL) {
		return -1;
	}
	copy = xstrndup(text, len);
	p = copy;
	if (strncmp(p, magic, sizeof(magic) - 1) != 0) {
		goto out;
	}
	p += sizeof(magic) - 1;
	if (!read_int(&p, "bucket", &bucket) || bucket != d->p.bucket_ms ||
	    !read_int(&p, "next", &next) || !read_int(&p, "steps", &steps) ||
	    !parse_state_name(&p, &state) || !read_int(&p, "fired", &fired) ||
	    !read_int(&p, "calm", &calm) ||
	    !read_int(&p, "cooldown", &cooldown) ||
	    !read_int(&p, "learning", &learning) ||
	    !parse_last(&p, &last, bucket) || !parse_history(p, &vals, &n_vals)) {
		goto out;
	}
	if (steps < 0 || calm < 0 || calm >= CALM_TO_RESOLVE ||
	    (learning != 0 && learning != 1) || (uint64_t)steps < n_vals) {
		goto out;
	}
	if (next == INT64_MIN) {
		if (n_vals != 0 || steps != 0) {
			goto out;
		}
	} else if (next % bucket != 0 || next > INT64_MAX - bucket ||
		   next < INT64_MIN / 2) {
		goto out;
	}
	/* A detector with a shorter history keeps the newest part. */
	keep = n_vals < d->n_slots ? n_vals : d->n_slots;
	memset(d->hist, 0, d->n_slots * sizeof(d->hist[0]));
	k0 = next == INT64_MIN ? 0 : next / bucket - (int64_t)keep;
	for (size_t i = 0; i < keep; i++) {
		d->hist[slot_of(d, k0 + (int64_t)i)] = vals[n_vals - keep + i];
	}
	d->seen = keep;
	d->steps = steps;
	d->next_ms = next;
	d->state = state;
	d->fired_start_ms = fired;
	d->calm_run = (int)calm;
	d->cooldown_until_ms = cooldown;
	d->learning = learning == 1;
	d->last = last;
	rc = 0;
out:
	free(vals);
	free(copy);
	return rc;
}
