/* SPDX-License-Identifier: MIT */
/*
 * Spike and drop detection for one rule's bucket series (see detect.h).
 * The baseline combines a recent level (median of the last hour) with the
 * time-of-day and day-of-week profiles, read from a ring of counts cleaned
 * of the anomalies they held and scaled by level factors; the test is
 * negative-binomial like (var = mu + alpha mu^2; for spikes the larger of
 * the alphas learned from the excesses over the baseline and from
 * successive differences, for drops from the deficits below it) over a
 * window of buckets that must all be off, plus min_count and min_ratio.
 * Pure: the caller (the detect tick, or hark replay) passes every bucket
 * in order.
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
/* 15 days of 30 s buckets: two weeks back and the half-hour around them;
 * beyond that the ring costs more than it tells. */
#define MAX_SLOTS 43200
#define MAX_DAYS 7
#define WEEK_DAYS 7
#define MAX_WEEKS 2
/* Time constant of the profiles' forecast errors: a whole week, so that
 * the comparison sees weekdays and weekends alike. */
#define PERR_TAU_MS (7 * 86400 * 1000.0)
#define MAX_RECENT 48
/* Calm needed to resolve: a story's tail comes in waves, and each resolve
 * re-arms the alert, so "back to normal" must last a while. */
#define CALM_MS (3600 * 1000LL)
#define CALM_MIN_BUCKETS 3
/* A firing that lasts this long is a new level, not a spike. */
#define MAX_FIRING_MS (6 * 3600 * 1000LL)
#define RATIO_FLOOR 0.5
/* Dispersion (alpha of var = mu + alpha mu^2) learned with this time
 * constant, residuals winsorized at DISP_WINSOR sd; never below
 * ALPHA_MIN, the burstiness of even a calm stream. */
#define DISP_TAU_MS (86400 * 1000.0)
#define DISP_WINSOR 5.0
#define ALPHA_MIN 0.01
/* What a bucket that is off on its own is cut to before it is stored. */
#define CLEAN_SD 2.0
/* A bucket far enough off fires without waiting for the window: this many
 * times the threshold and min_ratio (a one-bucket flood still matters). */
#define SINGLE_FACTOR 4.0
/* Half-width of the time-of-day neighbourhood. Days repeat only roughly: a
 * morning rise jitters by ±15 min, so two days can be 30 min apart. */
#define SEASON_HALF_MS (30 * MINUTE_MS)
/* Buckets summed by the sustained-rise test (at most DETECT_MAX_WINDOW). */
#define SUSTAIN_SHORT 3
#define SUSTAIN_LONG 6
/* Level factors: the stored counts over what a seasonal profile said for
 * them, bounded, scale that profile, so that a lasting shift is followed
 * before the profile holds it (a week; two for the weekly median). Learned
 * over a day, so that a morning still sees yesterday's daytime level and
 * not only the night's few counts; LEVEL_PRIOR counts per bucket are added
 * to both sums, since on a near-silent stretch the ratio is noise. */
#define LEVEL_TAU_MS (86400 * 1000.0)
#define LEVEL_PRIOR 1.0
/* A factor is taken past this much only (divided by it): a day's counts
 * move it by a few percent without any shift (an hour's excursion), and the
 * up profile is an envelope that covers that much already. */
#define LEVEL_SLACK 1.2
#define LEVEL_LO 0.5
#define LEVEL_HI 4.0
/* First allocation of the history ring, in buckets. */
#define HIST_MIN_CAP 64
/* The up threshold's calibration (up_threshold): daily peak scores kept,
 * the factor over their median, the floor for Poisson-like streams (as a
 * fraction of the threshold) and the dispersion range over which that
 * floor rises back to the threshold. */
#define PEAK_DAYS 14
#define PEAK_FACTOR 2.5
#define PEAK_FLOOR 0.6
#define CALM_ALPHA_LO 0.02
#define CALM_ALPHA_HI 0.1
/*
 * Records (record_ratio): a spike must also be bigger than what the stream
 * reached without an alert (outside firings, their onsets and what the
 * cooldown held back) on the last RECORD_DAYS days. Scales: the bucket's
 * count (beaten by RECORD_COUNT); the hour's level, an exponentially
 * weighted mean with time constant RECORD_TAU_MS (come within RECORD_LEVEL
 * of it: a broad rise that is no single burst; the price is that a stream
 * whose ordinary bursts are as broad as its records sometimes passes); and,
 * on a calm stream only (calm_stream), the score (RECORD_SCORE times it:
 * such a stream's highest score without an alert is low, so this lets a 3x
 * spike through whatever its volume, at a weekend or in the morning). A
 * bucket joins the records RECORD_LAG_MS later, unless it turned out to be
 * the onset of an alert; warmup buckets join the count and level records
 * only. With fewer than RECORD_DAYS days seen, the count and level records
 * are scaled up by (RECORD_DAYS / (days + 1))^RECORD_TAIL: the highest of a
 * few days is lower than the highest of three weeks would be, and nearly
 * every day comes close to it.
 */
#define RECORD_DAYS 21
#define RECORD_SCALES 3
#define RECORD_TAU_MS (3600 * 1000.0)
#define RECORD_LAG_MS (3600 * 1000LL)
#define RECORD_LAG_MAX 64
#define RECORD_TAIL 0.25
#define RECORD_COUNT 1.1
#define RECORD_LEVEL 0.9
#define RECORD_SCORE 2.0
/* The shortest sustained rise tested (sustained_up), and the factor on the
 * threshold its sum must pass: two buckets summed reach a score more
 * easily than each of them does. */
#define SUSTAIN_PAIR 2
#define PAIR_FACTOR 1.2
#define ENCODE_MAX_BYTES (4u * 1024 * 1024)
#define COUNT_MAX 0xffffffffu

struct detector {
	struct detect_params p;
	size_t n_slots; /* most buckets of history kept */
	/* The ring of cleaned counts, newest at head - 1. Allocated lazily
	 * and grown as history accumulates (most rules of a large config
	 * are young or replayed over a day, and 15 days of 5-min buckets
	 * per rule was most of replay's memory); while cap < n_slots it has
	 * not wrapped, so growing is a realloc. 16-bit counts until one
	 * does not fit, then the whole ring is widened: the values, and so
	 * the results, are the same either way. */
	size_t cap;
	size_t head;
	bool wide;
	void *hist;      /* uint16_t[cap], or uint32_t[cap] when wide */
	size_t seen;     /* buckets of history in the ring (<= cap) */
	int64_t steps;   /* buckets evaluated since the start, gaps included */
	int64_t next_ms; /* INT64_MIN before the first step */
	enum detect_state state;
	int64_t fired_start_ms;
	int calm_run;
	int64_t cooldown_until_ms;
	/* After a forced resolve: store raw counts until one bucket looks
	 * normal again, so that a lasting level shift is learned. */
	bool learning;
	/* Over-dispersion learned from recent residuals: the variance of a
	 * count around its baseline mu is mu + alpha mu^2. Kept as two
	 * exponentially weighted sums, so alpha = disp_num / disp_den. */
	double disp_num[2]; /* [0] around the up baseline, [1] the down one */
	double disp_den[2];
	/* Up side's burstiness from successive differences. */
	double diff_num;
	double diff_den;
	/* Forecast error of the daily [0] and weekly [1] profiles. */
	double perr[2];
	bool has_week_err;
	/* Level factors of the up [0] and down [1] side's daily [.][0] and
	 * weekly [.][1] profiles, as exponentially weighted sums of the
	 * stored counts (num) and of the profile's values for them (den). */
	double lvl_num[2][2];
	double lvl_den[2][2];
	/* Raw counts of the last window - 1 buckets, newest last. */
	uint32_t raw[DETECT_MAX_WINDOW];
	int n_raw;
	/* The highest up score of each of the last PEAK_DAYS days (UTC)
	 * outside warmup and firings, oldest first, and of the current day
	 * peak_day (peak_cur < 0: none yet). */
	double peaks[PEAK_DAYS];
	int n_peaks;
	int64_t peak_day;
	double peak_cur;
	double peak_median; /* of peaks[], kept as they change */
	/* Records per scale (count, hour's level, score) of the last
	 * RECORD_DAYS days (UTC) outside firings, oldest first, and of the
	 * current day rec_day (rec_cur[0] < 0: none yet); the levels of the
	 * last buckets not yet in them (consecutive buckets up to the last
	 * one, in a ring from pend_first); the hour's level after the last
	 * bucket (< 0: none yet). */
	double rec_max[RECORD_DAYS][RECORD_SCALES];
	int64_t rec_days[RECORD_DAYS]; /* the day of each */
	int n_rec;
	int64_t rec_day;
	double rec_cur[RECORD_SCALES];
	double (*rec_pend)[RECORD_SCALES]; /* a ring of record_lag() */
	int n_pend;
	int pend_first; /* the oldest's slot */
	double rec_ema;
	/* The record of the last DETECT_FIRE (not saved: reported in the
	 * same detector_step). */
	int64_t fire_record;
	int fire_record_days;
	/* up_threshold for the bucket being evaluated (not saved) */
	double up_thr;
	struct detect_result last;
};

/* What one side (up or down) of the test saw for a bucket. */
struct side {
	double mu;
	double typical; /* up: the level min_ratio is checked against */
	double score;   /* positive when the count is off in this side's way */
	double ratio;   /* count / mu for up, mu / count for down (floored) */
	bool anomalous; /* the whole window is off */
	bool single;    /* this bucket alone is off: keep it out of history */
	bool calm;
};

/* The seasonal profiles of one bucket, for one side. */
struct profile {
	double day;
	double week;
	double weeks[MAX_WEEKS];
	int n_weeks;
	bool has_day;
	bool has_week;
};

static double alpha_of(const struct detector *d, int side);
static int64_t record_count(const struct detector *d, int64_t t, int *days);

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
	p->cooldown_ms = DAY_MS;
	p->warmup_ms = DAY_MS;
	p->history_ms = 15 * DAY_MS;
	p->window = 2;
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

static int record_lag(const struct detector *d)
{
	int64_t n = RECORD_LAG_MS / d->p.bucket_ms;

	return n < 1 ? 1 : n > RECORD_LAG_MAX ? RECORD_LAG_MAX : (int)n;
}

/* No records yet (the pending ring emptied, not freed). */
static void records_reset(struct detector *d)
{
	d->n_rec = 0;
	d->n_pend = 0;
	d->pend_first = 0;
	d->rec_day = INT64_MIN;
	d->rec_ema = -1.0;
	for (int s = 0; s < RECORD_SCALES; s++) {
		d->rec_cur[s] = -1.0;
	}
}

struct detector *detector_new(const struct detect_params *p)
{
	struct detector *d = xcalloc(1, sizeof(*d));
	int64_t slots;

	HARK_ASSERT(p->bucket_ms > 0);
	d->p = *p;
	if (d->p.window < 1) {
		d->p.window = 1;
	}
	if (d->p.window > DETECT_MAX_WINDOW) {
		d->p.window = DETECT_MAX_WINDOW;
	}
	slots = p->history_ms / p->bucket_ms;
	if (slots < 1) {
		slots = 1;
	}
	if (slots > MAX_SLOTS) {
		slots = MAX_SLOTS;
	}
	d->n_slots = (size_t)slots;
	d->next_ms = INT64_MIN;
	d->peak_day = INT64_MIN;
	d->peak_cur = -1.0;
	records_reset(d);
	d->rec_pend = xcalloc((size_t)record_lag(d), sizeof(*d->rec_pend));
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
	free(d->rec_pend);
	free(d);
}

bool detector_end_firing(struct detector *d)
{
	bool warming;

	if (d->state != DETECT_STATE_FIRING) {
		return false;
	}
	warming = d->steps < INT64_MAX / d->p.bucket_ms &&
		  d->steps * d->p.bucket_ms < d->p.warmup_ms;
	d->state = warming ? DETECT_STATE_WARMING : DETECT_STATE_OK;
	d->calm_run = 0;
	d->cooldown_until_ms = d->next_ms + d->p.cooldown_ms;
	d->last.state = d->state;
	d->last.action = DETECT_RESOLVE;
	d->last.fired_start_ms = d->fired_start_ms;
	return true;
}

int64_t detector_record(const struct detector *d, int *days)
{
	*days = 0;
	if (d->next_ms == INT64_MIN) {
		return 0;
	}
	return record_count(d, d->next_ms, days);
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

static int calm_needed(const struct detector *d)
{
	int64_t n = CALM_MS / d->p.bucket_ms;

	return n < CALM_MIN_BUCKETS ? CALM_MIN_BUCKETS : (int)n;
}

static uint32_t slot_get(const struct detector *d, size_t i)
{
	return d->wide ? ((const uint32_t *)d->hist)[i]
		       : ((const uint16_t *)d->hist)[i];
}

/* Ring index of the bucket `back` before the next one (1 <= back <= cap). */
static size_t slot_back(const struct detector *d, size_t back)
{
	return d->head >= back ? d->head - back : d->head + d->cap - back;
}

/* Cleaned count of the bucket `back` buckets before bucket k (back >= 1),
 * or -1 when the ring does not reach that far. */
static double hist_at(const struct detector *d, int64_t k, int64_t back)
{
	if (back < 1 || back > (int64_t)d->seen) {
		return -1.0;
	}
	(void)k;
	return (double)slot_get(d, slot_back(d, (size_t)back));
}

/* Sorts in place; an insertion sort, since n is at most MAX_RECENT and this
 * runs several times per bucket (qsort was a third of replay's time). */
static double median(double *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		double x = v[i];
		size_t j = i;

		while (j > 0 && v[j - 1] > x) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
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

/* The highest (dilate) or lowest 3-bucket mean centred on back in
 * [center - half, center + half], all of it in the ring: one pass over the
 * slots, since this runs for every day of every bucket. */
static double extreme3(const struct detector *d, int64_t k, int64_t center,
		       int64_t half, bool dilate)
{
	size_t n = d->cap;
	size_t slot = slot_back(d, (size_t)(center + half + 1));
	double a, b, c, best = -1.0;

	(void)k;
	a = (double)slot_get(d, slot);
	slot = slot + 1 == n ? 0 : slot + 1;
	b = (double)slot_get(d, slot);
	for (int64_t i = 0; i <= 2 * half; i++) {
		double m;

		slot = slot + 1 == n ? 0 : slot + 1;
		c = (double)slot_get(d, slot);
		m = (a + b + c) / 3.0;
		if (best < 0.0 || (dilate ? m > best : m < best)) {
			best = m;
		}
		a = b;
		b = c;
	}
	return best;
}

/*
 * A seasonal profile for bucket k: per previous period (lag buckets back,
 * up to n_max of them), the highest (dilate) or lowest (erode) 3-bucket
 * mean around the same time, so that a rise or fall that shifts a little
 * is still covered; then the median over periods (the mean below 3). False
 * when no period is in the ring yet.
 */
static bool periodic_level(const struct detector *d, int64_t k, int64_t lag,
			   int n_max, bool dilate, double *out, double *each,
			   int *n_each)
{
	int64_t half;
	double vals[MAX_DAYS];
	size_t n_vals = 0;
	double sum = 0.0;

	half = SEASON_HALF_MS / d->p.bucket_ms;
	if (half < 1) {
		half = 1;
	}
	if (half > lag / 4) {
		half = lag / 4;
	}
	for (int i = 1; i <= n_max && i <= MAX_DAYS; i++) {
		int64_t center = i * lag;
		double best = -1.0;

		if (center > (int64_t)d->seen) {
			break;
		}
		if (center + half + 1 <= (int64_t)d->seen) {
			best = extreme3(d, k, center, half, dilate);
		} else {
			for (int64_t back = center - half;
			     back <= center + half; back++) {
				double m = mean3(d, k, back);

				if (m < 0.0) {
					continue;
				}
				if (best < 0.0 ||
				    (dilate ? m > best : m < best)) {
					best = m;
				}
			}
		}
		if (best >= 0.0) {
			if (each != NULL) {
				each[n_vals] = best;
			}
			vals[n_vals++] = best;
			sum += best;
		}
	}
	if (n_each != NULL) {
		*n_each = (int)n_vals;
	}
	if (n_vals == 0) {
		return false;
	}
	*out = n_vals < 3 ? sum / (double)n_vals : median(vals, n_vals);
	return true;
}

/*
 * Both profiles of bucket k for one side: the time-of-day one (previous
 * days) and the day-of-week one (the same time 1 and 2 weeks back, once a
 * whole week is in the ring). Buckets longer than half a day have neither.
 */
static void profiles(const struct detector *d, int64_t k, bool dilate,
		     struct profile *pr)
{
	int64_t day_b;

	pr->has_day = pr->has_week = false;
	if (d->p.bucket_ms > DAY_MS / 2) {
		return;
	}
	day_b = DAY_MS / d->p.bucket_ms;
	pr->has_day = periodic_level(d, k, day_b, MAX_DAYS, dilate, &pr->day,
				     NULL, NULL);
	if ((int64_t)d->seen >=
	    WEEK_DAYS * day_b + SEASON_HALF_MS / d->p.bucket_ms + 2) {
		pr->has_week = periodic_level(d, k, WEEK_DAYS * day_b,
					      MAX_WEEKS, dilate, &pr->week,
					      pr->weeks, &pr->n_weeks);
	}
}

/*
 * The profile to trust. With two weeks in the ring: the median of the two
 * same-time-last-week values and the daily profile, so that a quiet
 * weekend follows its own weeks, a weekday its many days, and one stale
 * value cannot drag it. With one week: the weekly value once it has
 * forecast the stored counts better than the daily profile over the last
 * week (a stream with quiet weekends), else the daily one.
 */
/*
 * The level factor of a side's (0 up, 1 down) daily (0) or weekly (1)
 * profile: the stored counts over what that profile said, bounded. It
 * only moves the profile the side's own way: the up profile is an upper
 * envelope, so the counts sit below it on most days and a factor under 1
 * would mostly measure that bias; a level that fell is the down side's to
 * follow, and the reverse. Each profile has its own: the daily one mixes
 * weekdays into weekends, which the weekly one does not.
 */
static double level_factor(const struct detector *d, int side, int which)
{
	double f = (d->lvl_num[side][which] + LEVEL_PRIOR) /
		   (d->lvl_den[side][which] + LEVEL_PRIOR);

	if (side == 0) {
		f /= LEVEL_SLACK;
		return f < 1.0 ? 1.0 : f > LEVEL_HI ? LEVEL_HI : f;
	}
	f *= LEVEL_SLACK;
	return f > 1.0 ? 1.0 : f < LEVEL_LO ? LEVEL_LO : f;
}

static bool season_of(const struct detector *d, const struct profile *pr,
		      int side, double *out)
{
	double fd = level_factor(d, side, 0);
	double fw = level_factor(d, side, 1);

	if (pr->has_week && pr->has_day && pr->n_weeks >= 2) {
		double v[3] = {fw * pr->weeks[0], fw * pr->weeks[1],
			       fd * pr->day};

		*out = median(v, 3);
		return true;
	}
	if (pr->has_week && (!pr->has_day || d->perr[1] < d->perr[0])) {
		*out = fw * pr->week;
		return true;
	}
	if (pr->has_day) {
		*out = fd * pr->day;
		return true;
	}
	return false;
}

/*
 * The typical level of bucket k for the up side's min_ratio guard: the
 * same-time 3-bucket means of previous days (median; mean below 3) and of
 * the same time 1 and 2 weeks back, combined as season_of combines the
 * profiles and scaled by the same level factors, never under the recent
 * level. The up baseline is an upper envelope over +-30 min, right for the
 * score (a rise that comes a little early must not page) but not for the
 * ratio: "twice the usual" means twice the usual, and the envelope of a
 * morning rise or a quiet weekend afternoon is 20-30 % above it.
 */
static double typical_up(const struct detector *d, int64_t k,
			 const struct profile *pr, double recent)
{
	struct profile pc = {0};
	double v[MAX_DAYS], sum = 0.0, c;
	int64_t day_b;
	size_t n = 0;

	if (!pr->has_day) {
		return recent;
	}
	day_b = DAY_MS / d->p.bucket_ms;
	for (int i = 1; i <= MAX_DAYS && i * day_b + 1 <= (int64_t)d->seen;
	     i++) {
		double m = mean3(d, k, i * day_b);

		if (m >= 0.0) {
			v[n++] = m;
			sum += m;
		}
	}
	if (n == 0) {
		return recent;
	}
	pc.has_day = true;
	pc.day = n < 3 ? sum / (double)n : median(v, n);
	for (int i = 1; pr->has_week && i <= pr->n_weeks; i++) {
		double m = mean3(d, k, i * WEEK_DAYS * day_b);

		if (m >= 0.0) {
			pc.weeks[pc.n_weeks++] = m;
			pc.week += m;
		}
	}
	if (pc.n_weeks > 0) {
		pc.has_week = true;
		pc.week /= (double)pc.n_weeks;
	}
	/* combined as the profiles are, with the same level factors */
	if (!season_of(d, &pc, 0, &c)) {
		return recent;
	}
	return c > recent ? c : recent;
}

/* recent: recent_level(d, k) */
static double baseline_up(const struct detector *d, int64_t k,
			  struct profile *pr, double recent)
{
	double season;

	profiles(d, k, true, pr);
	if (season_of(d, pr, 0, &season) && season > recent) {
		return season;
	}
	return recent;
}

static double baseline_down(const struct detector *d, int64_t k,
			    struct profile *pr, double recent)
{
	double season;

	profiles(d, k, false, pr);
	if (season_of(d, pr, 1, &season) && season < recent) {
		return season;
	}
	return recent;
}

/* Learns a side's level factors from the stored (cleaned) count v. */
static void learn_level(struct detector *d, int side, const struct profile *pr,
			double v)
{
	double w = 1.0 - exp(-(double)d->p.bucket_ms / LEVEL_TAU_MS);

	if (pr->has_day) {
		d->lvl_num[side][0] += w * (v - d->lvl_num[side][0]);
		d->lvl_den[side][0] += w * (pr->day - d->lvl_den[side][0]);
	}
	if (pr->has_week) {
		d->lvl_num[side][1] += w * (v - d->lvl_num[side][1]);
		d->lvl_den[side][1] += w * (pr->week - d->lvl_den[side][1]);
	}
}

/* Tracks how well each profile forecast the stored (cleaned) count v. */
static void learn_profiles(struct detector *d, const struct profile *pr,
			   double v)
{
	double w = 1.0 - exp(-(double)d->p.bucket_ms / PERR_TAU_MS);

	if (pr->has_day) {
		d->perr[0] += w * (fabs(v - pr->day) / sqrt(pr->day + 1.0) -
				   d->perr[0]);
	}
	if (pr->has_week) {
		double e = fabs(v - pr->week) / sqrt(pr->week + 1.0);

		if (!d->has_week_err) {
			/* Starts even: the week must earn its place. */
			d->perr[1] = d->perr[0];
			d->has_week_err = true;
		}
		d->perr[1] += w * (e - d->perr[1]);
	}
}

double detector_baseline(const struct detector *d)
{
	struct profile pr;
	int64_t k;

	if (d->next_ms == INT64_MIN || d->seen == 0) {
		return 0.0;
	}
	k = floor_div(d->next_ms, d->p.bucket_ms);
	if (d->p.direction == DETECT_DOWN) {
		return baseline_down(d, k, &pr, recent_level(d, k));
	}
	return baseline_up(d, k, &pr, recent_level(d, k));
}

static double alpha_of(const struct detector *d, int side)
{
	double a = d->disp_den[side] > 0.0
			   ? d->disp_num[side] / d->disp_den[side]
			   : 0.0;

	if (side == 0 && d->diff_den > 0.0 && d->diff_num / d->diff_den > a) {
		a = d->diff_num / d->diff_den;
	}
	return a > ALPHA_MIN ? a : ALPHA_MIN;
}

static double spread(const struct detector *d, int side, double mu)
{
	return sqrt(mu + alpha_of(d, side) * mu * mu + 1.0);
}

/*
 * Learns a side's dispersion from a bucket outside a firing: E[(x - mu)^2]
 * = mu + alpha mu^2 over the counts on that side of the baseline only
 * (doubled): the up baseline is an upper envelope, so the counts below it
 * measure its bias, not the forecast error a spike must beat (and the
 * reverse for down). Winsorized so one burst or outage cannot teach it.
 */
static void learn_dispersion_side(struct detector *d, int side, double x,
				  double mu)
{
	double w = 1.0 - exp(-(double)d->p.bucket_ms / DISP_TAU_MS);
	double s = spread(d, side, mu);
	double e =
		(side == 1 ? x < mu : x > mu) ? 2.0 * (x - mu) * (x - mu) : 0.0;
	double cap = DISP_WINSOR * DISP_WINSOR * s * s;

	if (e > cap) {
		e = cap;
	}
	d->disp_num[side] += w * ((e - mu) - d->disp_num[side]);
	d->disp_den[side] += w * (mu * mu - d->disp_den[side]);
}

/*
 * Up-side burstiness from successive differences: for two neighbouring
 * buckets of a slowly moving level m, E[(x1 - x0)^2] / 2 = m + alpha m^2.
 * Free of the baseline's bias and bursts included (winsorized), so a
 * stream that bursts often raises its own bar even where the baseline
 * forecasts well, while a Poisson one keeps alpha near zero. The up test
 * uses the larger of this and the excess-based alpha: one measures the
 * bursts, the other the baseline's own error.
 */
static void learn_dispersion_diff(struct detector *d, double x, double prev)
{
	double w = 1.0 - exp(-(double)d->p.bucket_ms / DISP_TAU_MS);
	double m = (x + prev) / 2.0;
	double s2 = m + alpha_of(d, 0) * m * m + 1.0;
	double e = (x - prev) * (x - prev) / 2.0;
	double cap = DISP_WINSOR * DISP_WINSOR * s2;

	if (e > cap) {
		e = cap;
	}
	d->diff_num += w * ((e - m) - d->diff_num);
	d->diff_den += w * (m * m - d->diff_den);
}

/* The window's least count (up) or greatest (down), this bucket included. */
static double window_count(const struct detector *d, int64_t count, bool up)
{
	double v = (double)count;

	for (int i = d->n_raw - (d->p.window - 1); i < d->n_raw; i++) {
		double r;

		if (i < 0) {
			continue;
		}
		r = (double)d->raw[i];
		if (up ? r < v : r > v) {
			v = r;
		}
	}
	return v;
}

/* Sum of the window's counts, this bucket included; *n gets how many. */
static double window_sum(const struct detector *d, int64_t count, int *n)
{
	double sum = (double)count;

	*n = 1;
	for (int i = d->n_raw - (d->p.window - 1); i < d->n_raw; i++) {
		if (i < 0) {
			continue;
		}
		sum += (double)d->raw[i];
		(*n)++;
	}
	return sum;
}

static void push_raw(struct detector *d, int64_t count)
{
	uint32_t v = count > (int64_t)COUNT_MAX ? COUNT_MAX : (uint32_t)count;

	if (d->n_raw == DETECT_MAX_WINDOW) {
		memmove(d->raw, d->raw + 1,
			(DETECT_MAX_WINDOW - 1) * sizeof(d->raw[0]));
		d->n_raw--;
	}
	d->raw[d->n_raw++] = v;
}

/*
 * The score a spike must reach. The threshold assumes the count model's
 * tails, and a Poisson-like stream whose days peak at 1-2 can afford a
 * lower bar: PEAK_FACTOR times the median daily peak of the last PEAK_DAYS
 * days, not over the threshold, and not under PEAK_FLOOR of it for a
 * Poisson-like stream (alpha up to CALM_ALPHA_LO, rising back to the
 * threshold at CALM_ALPHA_HI) whose level is steady (a level factor above 1
 * means the baseline is still catching up with a shift: not to be trusted
 * that far). A bursty stream keeps the threshold: the records (below) say
 * which of its bursts are news. No peak yet (the first day): the threshold.
 */
static double up_threshold(const struct detector *d)
{
	double a, lo = 1.0, t;

	if (d->n_peaks == 0) {
		return d->p.threshold;
	}
	a = alpha_of(d, 0);
	if (a < CALM_ALPHA_HI && level_factor(d, 0, 0) <= 1.0 &&
	    level_factor(d, 0, 1) <= 1.0) {
		lo = a <= CALM_ALPHA_LO
			     ? PEAK_FLOOR
			     : PEAK_FLOOR +
				       (1.0 - PEAK_FLOOR) *
					       (a - CALM_ALPHA_LO) /
					       (CALM_ALPHA_HI - CALM_ALPHA_LO);
	}
	t = PEAK_FACTOR * d->peak_median;
	if (t < lo * d->p.threshold) {
		t = lo * d->p.threshold;
	}
	return t < d->p.threshold ? t : d->p.threshold;
}

static void peaks_changed(struct detector *d)
{
	double v[PEAK_DAYS];

	memcpy(v, d->peaks, (size_t)d->n_peaks * sizeof(v[0]));
	d->peak_median = d->n_peaks > 0 ? median(v, (size_t)d->n_peaks) : 0.0;
}

/* Keeps the day's peak up score (t: the bucket's start). */
static void note_peak(struct detector *d, int64_t t, double score)
{
	int64_t day = floor_div(t, DAY_MS);

	if (day != d->peak_day) {
		if (d->peak_cur >= 0.0) {
			if (d->n_peaks == PEAK_DAYS) {
				memmove(d->peaks, d->peaks + 1,
					(PEAK_DAYS - 1) * sizeof(d->peaks[0]));
				d->n_peaks--;
			}
			d->peaks[d->n_peaks++] = d->peak_cur;
			peaks_changed(d);
		}
		d->peak_day = day;
		d->peak_cur = -1.0;
	}
	if (d->peak_cur < 0.0 || score > d->peak_cur) {
		d->peak_cur = score > 0.0 ? score : 0.0;
	}
}

/* The levels of a bucket with count and up score: the count, the hour's
 * level, the score (0 when below the baseline). */
static void record_levels(const struct detector *d, int64_t count, double score,
			  double lv[RECORD_SCALES])
{
	double a = (double)d->p.bucket_ms / RECORD_TAU_MS;

	if (a > 1.0) {
		a = 1.0;
	}
	lv[0] = (double)count;
	lv[1] = d->rec_ema < 0.0
			? (double)count
			: d->rec_ema + a * ((double)count - d->rec_ema);
	lv[2] = score > 0.0 ? score : 0.0;
}

/* Whether the stream is calm: Poisson-like dispersion (under
 * CALM_ALPHA_LO, where the threshold's floor is lowest) and no day of the
 * last PEAK_DAYS peaking past the threshold outside an alert. A bursty
 * stream's first days can look calm by the peaks alone. */
static bool calm_stream(const struct detector *d)
{
	if (alpha_of(d, 0) >= CALM_ALPHA_LO) {
		return false;
	}
	for (int i = 0; i < d->n_peaks; i++) {
		if (d->peaks[i] >= d->p.threshold) {
			return false;
		}
	}
	return true;
}

/*
 * How far past its records the bucket starting at t is: the largest of its
 * scales' level over that scale's record times its factor (>= 1: news).
 * The score scale counts on calm streams only: a bursty one's bursts are
 * what its count and level records are for, and its ordinary scores say
 * little about the next. Infinite before any record.
 */
/* The first kept day that still counts at bucket t: days older than
 * RECORD_DAYS (left before a long gap) are past. */
static int record_first(const struct detector *d, int64_t t)
{
	int64_t oldest = floor_div(t, DAY_MS) - RECORD_DAYS;
	int first = 0;

	while (first < d->n_rec && d->rec_days[first] < oldest) {
		first++;
	}
	return first;
}

/* Scale s's record: its highest from day first on and today (< 0: none). */
static double record_max(const struct detector *d, int first, int s)
{
	double ref = d->rec_cur[s];

	for (int i = first; i < d->n_rec; i++) {
		if (d->rec_max[i][s] > ref) {
			ref = d->rec_max[i][s];
		}
	}
	return ref;
}

static double record_ratio(const struct detector *d, int64_t t,
			   const double lv[RECORD_SCALES])
{
	static const double need[RECORD_SCALES] = {RECORD_COUNT, RECORD_LEVEL,
						   RECORD_SCORE};
	int scales = calm_stream(d) ? RECORD_SCALES : RECORD_SCALES - 1;
	int first = record_first(d, t);
	double best = 0.0;
	double young = 1.0;

	if (d->rec_cur[0] < 0.0 && first == d->n_rec) {
		return INFINITY;
	}
	if (d->n_rec - first < RECORD_DAYS) {
		young = pow((double)RECORD_DAYS / (d->n_rec - first + 1.0),
			    RECORD_TAIL);
	}
	for (int s = 0; s < scales; s++) {
		double ref, r;

		/* A bucket of an hour or more is its own hour's level: the
		 * count must beat its record. */
		if (s == 1 && (double)d->p.bucket_ms >= RECORD_TAU_MS) {
			continue;
		}
		ref = record_max(d, first, s);
		/* The score's record needs no extrapolation: a calm
		 * stream's ordinary scores do not grow with its days. */
		ref *= (s == RECORD_SCALES - 1 ? 1.0 : young) * need[s];
		/* At least a mention (a score of 1) over a silent record. */
		r = lv[s] / (ref > need[s] ? ref : need[s]);
		if (r > best) {
			best = r;
		}
	}
	return best;
}

/* The highest count of the records that count at bucket t (*days: how many
 * days they cover, 0: none). */
static int64_t record_count(const struct detector *d, int64_t t, int *days)
{
	int first = record_first(d, t);
	double best = record_max(d, first, 0);
	int n = d->n_rec - first + (d->rec_cur[0] >= 0.0 ? 1 : 0);

	*days = n < RECORD_DAYS ? n : RECORD_DAYS;
	return best >= 0.0 ? (int64_t)best : 0;
}

/* Folds the levels of the bucket starting at t into the day's records. */
static void record_fold(struct detector *d, int64_t t,
			const double lv[RECORD_SCALES])
{
	int64_t day = floor_div(t, DAY_MS);

	/* Days only move forward (a restored state from a clock that was
	 * ahead keeps folding into its current day). */
	if (day > d->rec_day) {
		if (d->rec_cur[0] >= 0.0) {
			if (d->n_rec == RECORD_DAYS) {
				memmove(d->rec_max, d->rec_max + 1,
					(RECORD_DAYS - 1) *
						sizeof(d->rec_max[0]));
				memmove(d->rec_days, d->rec_days + 1,
					(RECORD_DAYS - 1) *
						sizeof(d->rec_days[0]));
				d->n_rec--;
			}
			memcpy(d->rec_max[d->n_rec], d->rec_cur,
			       sizeof(d->rec_cur));
			d->rec_days[d->n_rec++] = d->rec_day;
		}
		d->rec_day = day;
		for (int s = 0; s < RECORD_SCALES; s++) {
			d->rec_cur[s] = -1.0;
		}
	}
	for (int s = 0; s < RECORD_SCALES; s++) {
		if (lv[s] > d->rec_cur[s]) {
			d->rec_cur[s] = lv[s];
		}
	}
}

/* After bucket t (its levels lv; news: it passed the whole test, whether
 * it fired or was held back by the cooldown). Warmup buckets join the
 * count and level records, not the score's: their baseline is too young
 * for a score to mean anything. */
static void note_record(struct detector *d, int64_t t,
			const double lv[RECORD_SCALES], bool news)
{
	int lag = record_lag(d);
	double *slot;

	d->rec_ema = lv[1];
	if (news) {
		d->n_pend = 0;
		d->pend_first = 0;
	}
	if (news || d->state == DETECT_STATE_FIRING) {
		return;
	}
	if (d->n_pend == lag) {
		record_fold(d, t - (int64_t)lag * d->p.bucket_ms,
			    d->rec_pend[d->pend_first]);
		d->pend_first = (d->pend_first + 1) % lag;
		d->n_pend--;
	}
	slot = d->rec_pend[(d->pend_first + d->n_pend++) % lag];
	memcpy(slot, lv, sizeof(d->rec_pend[0]));
	if (d->state == DETECT_STATE_WARMING) {
		slot[RECORD_SCALES - 1] = -1.0;
	}
}

/* x is off upwards: score against the envelope mu, ratio against the
 * typical level. */
static bool off_up(const struct detector *d, double x, double mu, double sd,
		   double typical)
{
	double floored = typical > RATIO_FLOOR ? typical : RATIO_FLOOR;

	return (x - mu) / sd >= d->up_thr && x >= (double)d->p.min_count &&
	       x >= d->p.min_ratio * floored;
}

static bool off_down(const struct detector *d, double x, double mu, double sd)
{
	double xf = x > RATIO_FLOOR ? x : RATIO_FLOOR;

	return (mu - x) / sd >= d->p.threshold &&
	       mu >= (double)d->p.min_count && mu >= d->p.min_ratio * xf;
}

/*
 * A sustained rise: the last SUSTAIN_PAIR, SUSTAIN_SHORT, then SUSTAIN_LONG
 * buckets together, against their expected total. Over-dispersion is
 * counted as fully correlated across the buckets (variance M + alpha M^2),
 * so a bursty stream gains nothing from summing, while on quiet,
 * Poisson-like streams a rise that is modest bucket by bucket (2-3x at 5-20
 * a bucket) but lasts shows up, as it would to a person looking at the
 * graph. The guards hold for the total: min_ratio times the expected, and
 * min_count per bucket on average. The pair is held to the usual level at
 * that time (off_up's), not the envelope, with both its buckets at least
 * halfway to min_ratio and this one at min_count: a 3x quarter of an hour
 * that drew low is found on its second bucket.
 */
static void sustained_up(const struct detector *d, double x, double mu,
			 struct side *s)
{
	static const int lens[] = {SUSTAIN_PAIR, SUSTAIN_SHORT, SUSTAIN_LONG};
	double floored = mu > RATIO_FLOOR ? mu : RATIO_FLOOR;
	double usual = s->typical > RATIO_FLOOR ? s->typical : RATIO_FLOOR;
	double half = (1.0 + d->p.min_ratio) / 2.0 * usual;
	double alpha = alpha_of(d, 0);

	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		int n = lens[k];
		bool pair = n == SUSTAIN_PAIR;
		double ref = pair ? usual : floored;
		double v[SUSTAIN_LONG];
		double sum = x, m, z;
		bool now;
		int j = 0;

		if (n - 1 > d->n_raw) {
			break;
		}
		v[j++] = x;
		for (int i = d->n_raw - (n - 1); i < d->n_raw; i++) {
			sum += (double)d->raw[i];
			v[j++] = (double)d->raw[i];
		}
		m = (double)n * floored;
		z = (sum - m) / sqrt(m + alpha * m * m + 1.0);
		/* The typical bucket must be up, not one burst carrying
		 * quiet neighbours: the median passes the ratio too; and so
		 * must this bucket, so a rise that has ended cannot fire
		 * late (after a cooldown, say). */
		now = pair ? x >= half && v[1] >= half &&
				      x >= (double)d->p.min_count
			   : x >= d->p.min_ratio * ref;
		if (z >= d->up_thr * (pair ? PAIR_FACTOR : 1.0) && now &&
		    sum >= d->p.min_ratio * (double)n * ref &&
		    median(v, (size_t)n) >= d->p.min_ratio * ref &&
		    sum >= (double)n * (double)d->p.min_count) {
			s->anomalous = true;
			if (z > s->score) {
				s->score = z;
			}
			return;
		}
	}
}

/*
 * x: this bucket; xw: the window's least count. The score and the guards
 * hold for every bucket of the window (its least), so one burst cannot
 * carry a quiet neighbour: scoring the window's sum instead found a few
 * more synthetic spikes but let many short real bursts through.
 */
static void test_up(const struct detector *d, double x, double xw, double mu,
		    struct side *s)
{
	double floored = mu > RATIO_FLOOR ? mu : RATIO_FLOOR;
	double sd = spread(d, 0, mu);

	s->mu = mu;
	s->score = (xw - mu) / sd;
	s->ratio = x / floored;
	s->anomalous = off_up(d, xw, mu, sd, s->typical);
	s->single = off_up(d, x, mu, sd, s->typical);
	if (s->single && (x - mu) / sd >= SINGLE_FACTOR * d->up_thr &&
	    x >= SINGLE_FACTOR * d->p.min_ratio * floored) {
		s->anomalous = true;
		s->score = (x - mu) / sd;
	}
	sustained_up(d, x, mu, s);
	s->calm = !s->single && s->ratio < d->p.min_ratio / 2.0 + 0.5;
}

/*
 * x: this bucket; xw: the window's greatest count; sum, n: the window's
 * total over n buckets. A drop is scored on the total (independent
 * buckets add their variances); the guards hold for every bucket of it.
 */
static void test_down(const struct detector *d, double x, double xw, double sum,
		      int n, double mu, struct side *s)
{
	double xf = x > RATIO_FLOOR ? x : RATIO_FLOOR;
	double xwf = xw > RATIO_FLOOR ? xw : RATIO_FLOOR;
	double sd = spread(d, 1, mu);
	double var = (double)n * (mu + alpha_of(d, 1) * mu * mu) + 1.0;
	double m = (double)n * mu;

	/* A drop is scored by the Poisson deviance (scaled for the
	 * dispersion): silence where 12 were expected is far less likely
	 * than the normal approximation says. */
	s->mu = mu;
	s->score = (m - sum) / sqrt(var);
	if (sum < m) {
		double dev = sum > 0.0 ? sum * log(sum / m) - (sum - m) : m;

		s->score = sqrt(2.0 * dev / (1.0 + alpha_of(d, 1) * mu));
	}
	s->ratio = mu / xf;
	s->anomalous = s->score >= d->p.threshold &&
		       mu >= (double)d->p.min_count &&
		       mu >= d->p.min_ratio * xwf;
	s->single = off_down(d, x, mu, sd);
	s->calm = !s->single && s->ratio < d->p.min_ratio / 2.0 + 0.5;
}

/* Grows the ring while it is full and shorter than the history. */
static void hist_grow(struct detector *d)
{
	size_t cap = d->cap < HIST_MIN_CAP ? HIST_MIN_CAP : d->cap * 2;
	size_t width = d->wide ? sizeof(uint32_t) : sizeof(uint16_t);

	if (cap > d->n_slots) {
		cap = d->n_slots;
	}
	d->hist = xreallocarray(d->hist, cap, width);
	d->cap = cap;
}

/* Widens every stored count to 32 bits. */
static void hist_widen(struct detector *d)
{
	uint32_t *w = xreallocarray(NULL, d->cap, sizeof(uint32_t));
	const uint16_t *n = d->hist;

	for (size_t i = 0; i < d->cap; i++) {
		w[i] = n[i];
	}
	free(d->hist);
	d->hist = w;
	d->wide = true;
}

/* Appends the newest bucket, dropping the oldest once the ring is full. */
static void hist_push(struct detector *d, uint32_t v)
{
	if (d->seen == d->cap && d->cap < d->n_slots) {
		/* Never wrapped: the data sits at [0, seen) and stays put; head
		 * had wrapped to 0 and moves to the first new slot. */
		hist_grow(d);
		d->head = d->seen;
	}
	if (v > UINT16_MAX && !d->wide) {
		hist_widen(d);
	}
	if (d->wide) {
		((uint32_t *)d->hist)[d->head] = v;
	} else {
		((uint16_t *)d->hist)[d->head] = (uint16_t)v;
	}
	d->head = d->head + 1 == d->cap ? 0 : d->head + 1;
	if (d->seen < d->cap) {
		d->seen++;
	}
}

/* Stores the count of bucket k; cleaned into mu ± 2 sqrt(mu) of the sides
 * tested when the bucket must not teach the baseline. */
static double store(struct detector *d, int64_t k, int64_t count, bool clean,
		    const struct side *up, const struct side *down)
{
	double v = (double)count;

	if (up != NULL && (clean || up->single)) {
		double hi = ceil(up->mu + CLEAN_SD * spread(d, 0, up->mu));

		if (v > hi) {
			v = hi;
		}
	}
	if (down != NULL && (clean || down->single)) {
		double lo = floor(down->mu - CLEAN_SD * spread(d, 1, down->mu));

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
	(void)k;
	hist_push(d, (uint32_t)v);
	return (double)(uint32_t)v;
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
	struct profile pr_up = {0};
	struct profile pr_down = {0};
	double stored;
	int n_w;
	double wsum;
	double recent;
	double lv[RECORD_SCALES];
	bool news;

	warming = d->steps < INT64_MAX / d->p.bucket_ms &&
		  d->steps * d->p.bucket_ms < d->p.warmup_ms;
	if (count < 0) {
		count = 0;
	}
	wsum = window_sum(d, count, &n_w);
	recent = recent_level(d, k);
	if (test_u) {
		double mu = baseline_up(d, k, &pr_up, recent);
		double typical = typical_up(d, k, &pr_up, recent);

		d->up_thr = up_threshold(d);
		up.typical = typical < mu ? typical : mu;
		test_up(d, (double)count, window_count(d, count, true), mu,
			&up);
	}
	if (test_d) {
		test_down(d, (double)count, window_count(d, count, false), wsum,
			  n_w, baseline_down(d, k, &pr_down, recent), &down);
	}
	anomalous = (test_u && up.anomalous) || (test_d && down.anomalous);
	record_levels(d, count, test_u ? up.score : 0.0, lv);
	news = !(test_u && up.anomalous) || (test_d && down.anomalous) ||
	       record_ratio(d, start_ms, lv) >= 1.0;
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
		if (d->calm_run >= calm_needed(d)) {
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
		if (anomalous && news && !d->learning &&
		    start_ms >= d->cooldown_until_ms) {
			out->action = DETECT_FIRE;
			d->state = DETECT_STATE_FIRING;
			d->fired_start_ms = start_ms;
			d->calm_run = 0;
			d->fire_record_days = 0;
			if (test_u && up.anomalous) {
				d->fire_record = record_count(
					d, start_ms, &d->fire_record_days);
			}
		}
		clean = anomalous && !d->learning;
	}
	/* Bursts are learned too (winsorized): a stream that bursts often
	 * must raise its own bar. A firing episode is not, nor the onset of
	 * an alert: the step into the previous bucket is learned now that
	 * this one did not fire (a stream with a real spike every other day
	 * must not learn them as its burstiness). */
	if (test_u && d->n_raw > 1 && d->state != DETECT_STATE_FIRING &&
	    d->last.state != DETECT_STATE_FIRING && !(anomalous && news)) {
		learn_dispersion_diff(d, (double)d->raw[d->n_raw - 1],
				      (double)d->raw[d->n_raw - 2]);
	}
	if (d->state != DETECT_STATE_FIRING && test_u) {
		learn_dispersion_side(d, 0, (double)count, up.mu);
	}
	if (d->state != DETECT_STATE_FIRING && test_d) {
		learn_dispersion_side(d, 1, (double)count, down.mu);
	}
	stored = store(d, k, count, clean, test_u ? &up : NULL,
		       test_d ? &down : NULL);
	learn_profiles(d, test_u ? &pr_up : &pr_down, stored);
	if (test_u) {
		learn_level(d, 0, &pr_up, stored);
	}
	if (test_d) {
		learn_level(d, 1, &pr_down, stored);
	}
	if (test_u && !warming && d->state != DETECT_STATE_FIRING) {
		note_peak(d, start_ms, up.score);
	}
	note_record(d, start_ms, lv, anomalous && news);
	push_raw(d, count);
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
	if (out->action == DETECT_FIRE) {
		out->record = d->fire_record;
		out->record_days = d->fire_record_days;
	}
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
					   : d->steps + missing -
						     (int64_t)d->n_slots;
			d->next_ms = start_ms - (int64_t)d->n_slots * bucket;
			d->seen = 0;
			d->head = 0;
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
			out->record = d->fire_record;
			out->record_days = d->fire_record_days;
		} else if (was_firing && d->state != DETECT_STATE_FIRING) {
			out->action = DETECT_RESOLVE;
			out->fired_start_ms = fired_start;
		}
		d->last.action = out->action;
		d->last.fired_start_ms = out->fired_start_ms;
	}
}

/*
 * " rec=DAY,EMA,CUR0,CUR1,CUR2 recd=DAY:M0:M1:M2,... recp=L0:L1:L2,...":
 * the records (recd, recp: "-" when empty).
 */
static void encode_records(struct buf *b, const struct detector *d)
{
	int rc;

	rc = buf_printf(
		b, " rec=%" PRId64 ",%.17g,%.17g,%.17g,%.17g recd=", d->rec_day,
		d->rec_ema, d->rec_cur[0], d->rec_cur[1], d->rec_cur[2]);
	HARK_ASSERT(rc == 0);
	for (int i = 0; i < d->n_rec; i++) {
		rc = buf_printf(b, "%s%" PRId64 ":%.17g:%.17g:%.17g",
				i > 0 ? "," : "", d->rec_days[i],
				d->rec_max[i][0], d->rec_max[i][1],
				d->rec_max[i][2]);
		HARK_ASSERT(rc == 0);
	}
	rc = buf_printf(b, "%s recp=", d->n_rec == 0 ? "-" : "");
	HARK_ASSERT(rc == 0);
	for (int i = 0, lag = record_lag(d); i < d->n_pend; i++) {
		const double *l = d->rec_pend[(d->pend_first + i) % lag];

		rc = buf_printf(b, "%s%.17g:%.17g:%.17g", i > 0 ? "," : "",
				l[0], l[1], l[2]);
		HARK_ASSERT(rc == 0);
	}
	rc = buf_printf(b, "%s", d->n_pend == 0 ? "-" : "");
	HARK_ASSERT(rc == 0);
}

char *detector_encode(const struct detector *d, size_t *len_out)
{
	struct buf b;
	const struct detect_result *l = &d->last;
	int rc;

	/* History is written oldest first, runs as value*count: quiet rules
	 * are mostly zeros. 20160 slots of 10 digits fit the cap. */
	buf_init(&b, ENCODE_MAX_BYTES);
	rc = buf_printf(
		&b,
		"hark-detect v2 bucket=%" PRId64 " next=%" PRId64
		" steps=%" PRId64 " state=%s fired=%" PRId64 " calm=%d"
		" cooldown=%" PRId64 " learning=%d disp=%.17g,%.17g,%.17g,%.17g"
		" diff=%.17g,%.17g perr=%.17g,%.17g,%d lvl=",
		d->p.bucket_ms, d->next_ms, d->steps,
		detect_state_name(d->state), d->fired_start_ms, d->calm_run,
		d->cooldown_until_ms, d->learning ? 1 : 0, d->disp_num[0],
		d->disp_den[0], d->disp_num[1], d->disp_den[1], d->diff_num,
		d->diff_den, d->perr[0], d->perr[1], d->has_week_err ? 1 : 0);
	HARK_ASSERT(rc == 0);
	for (int side = 0; side < 2; side++) {
		for (int j = 0; j < 2; j++) {
			rc = buf_printf(&b, "%.17g,%.17g%s",
					d->lvl_num[side][j],
					d->lvl_den[side][j],
					side == 1 && j == 1 ? " raw=" : ",");
			HARK_ASSERT(rc == 0);
		}
	}
	for (int i = 0; i < d->n_raw; i++) {
		rc = buf_printf(&b, "%s%" PRIu32, i > 0 ? "," : "", d->raw[i]);
		HARK_ASSERT(rc == 0);
	}
	rc = buf_printf(&b, " peaks=%" PRId64 ",%.17g", d->peak_day,
			d->peak_cur);
	HARK_ASSERT(rc == 0);
	for (int i = 0; i < d->n_peaks; i++) {
		rc = buf_printf(&b, ",%.17g", d->peaks[i]);
		HARK_ASSERT(rc == 0);
	}
	encode_records(&b, d);
	rc = buf_printf(&b,
			" last=%" PRId64 ",%" PRId64 ",%" PRId64
			",%.17g,%.17g,%.17g,%d,%d,%d,%" PRId64 ";h=",
			l->start_ms, l->end_ms, l->count, l->baseline, l->ratio,
			l->score, l->anomalous ? 1 : 0, (int)l->state,
			(int)l->action, l->fired_start_ms);
	HARK_ASSERT(rc == 0);
	if (d->seen > 0) {
		for (size_t i = 0; i < d->seen;) {
			uint32_t v = slot_get(d, slot_back(d, d->seen - i));
			size_t run = 1;

			while (i + run < d->seen &&
			       slot_get(d, slot_back(d, d->seen - i - run)) ==
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

/* "disp=<num>,<den>,<num>,<den> ": the dispersion sums, up then down
 * (denominators never negative). */
static bool parse_disp(const char **p, double *num, double *den)
{
	char *end;

	if (strncmp(*p, "disp=", 5) != 0) {
		return false;
	}
	*p += 5;
	if (!read_dbl(p, &num[0]) || !read_dbl(p, &den[0]) ||
	    !read_dbl(p, &num[1])) {
		return false;
	}
	den[1] = strtod(*p, &end);
	if (end == *p || *end != ' ' || !isfinite(den[1]) || den[0] < 0.0 ||
	    den[1] < 0.0) {
		return false;
	}
	*p = end + 1;
	return true;
}

/* "diff=<num>,<den> ": the up side's successive-difference sums; absent
 * in states written before it existed (then both stay 0). */
static bool parse_diff(const char **p, double *num, double *den)
{
	char *end;

	*num = *den = 0.0;
	if (strncmp(*p, "diff=", 5) != 0) {
		return true;
	}
	*p += 5;
	if (!read_dbl(p, num)) {
		return false;
	}
	*den = strtod(*p, &end);
	if (end == *p || *end != ' ' || !isfinite(*den) || *den < 0.0) {
		return false;
	}
	*p = end + 1;
	return true;
}

/* "perr=<day>,<week>,<0|1> ": the profiles' forecast errors. */
static bool parse_perr(const char **p, double *perr, bool *has_week)
{
	int64_t v;

	if (strncmp(*p, "perr=", 5) != 0) {
		return false;
	}
	*p += 5;
	if (!read_dbl(p, &perr[0]) || !read_dbl(p, &perr[1]) || perr[0] < 0.0 ||
	    perr[1] < 0.0 || !read_num(p, &v, ' ') || (v != 0 && v != 1)) {
		return false;
	}
	*has_week = v == 1;
	return true;
}

/*
 * "lvl=<num>,<den> x4 ": the level factors' sums, up daily, up weekly,
 * down daily, down weekly; absent in states written before they existed
 * (then all stay 0, a factor of 1). Never negative.
 */
static bool parse_lvl(const char **p, double num[2][2], double den[2][2])
{
	char *end;

	memset(num, 0, 2 * sizeof(num[0]));
	memset(den, 0, 2 * sizeof(den[0]));
	if (strncmp(*p, "lvl=", 4) != 0) {
		return true;
	}
	*p += 4;
	for (int i = 0; i < 4; i++) {
		if (!read_dbl(p, &num[i / 2][i % 2]) ||
		    num[i / 2][i % 2] < 0.0) {
			return false;
		}
		if (i < 3) {
			if (!read_dbl(p, &den[i / 2][i % 2])) {
				return false;
			}
		} else {
			den[1][1] = strtod(*p, &end);
			if (end == *p || *end != ' ' || !isfinite(den[1][1])) {
				return false;
			}
			*p = end + 1;
		}
		if (den[i / 2][i % 2] < 0.0) {
			return false;
		}
	}
	return true;
}

/* "raw=<count>,... ": the last raw counts, at most DETECT_MAX_WINDOW. */
static bool parse_raw(const char **p, uint32_t *raw, int *n_out)
{
	int n = 0;

	if (strncmp(*p, "raw=", 4) != 0) {
		return false;
	}
	*p += 4;
	while (**p != ' ') {
		char *end;
		long long v;

		if (n == DETECT_MAX_WINDOW || !isdigit((unsigned char)**p)) {
			return false;
		}
		errno = 0;
		v = strtoll(*p, &end, 10);
		if (errno != 0 || v > (long long)COUNT_MAX) {
			return false;
		}
		raw[n++] = (uint32_t)v;
		*p = end;
		if (**p == ',') {
			(*p)++;
			if (!isdigit((unsigned char)**p)) {
				return false;
			}
		} else if (**p != ' ') {
			return false;
		}
	}
	(*p)++;
	*n_out = n;
	return true;
}

/*
 * "peaks=DAY,CUR[,PEAK...] " into the peak fields of *d (a scratch copy).
 * Absent in states saved before it existed: no peaks, as on a first day.
 */
static bool parse_peaks(const char **p, struct detector *d)
{
	d->n_peaks = 0;
	d->peak_day = INT64_MIN;
	d->peak_cur = -1.0;
	if (strncmp(*p, "peaks=", 6) != 0) {
		return true;
	}
	*p += 6;
	if (!read_num(p, &d->peak_day, ',')) {
		return false;
	}
	for (int i = -1;; i++) {
		char *end;
		double v;

		if (i == PEAK_DAYS) {
			return false;
		}
		v = strtod(*p, &end);
		if (end == *p || !isfinite(v) || v < (i < 0 ? -1.0 : 0.0) ||
		    (*end != ',' && *end != ' ')) {
			return false;
		}
		if (i < 0) {
			d->peak_cur = v;
		} else {
			d->peaks[d->n_peaks++] = v;
		}
		*p = end + 1;
		if (*end == ' ') {
			return true;
		}
	}
}

/* A level at *p (a count, an hour's level or a score: >= -1, -1 for none)
 * ended by sep, moved past. */
static bool read_level(const char **p, double *out, char sep)
{
	char *end;
	double v = strtod(*p, &end);

	if (end == *p || !isfinite(v) || v < -1.0 || *end != sep) {
		return false;
	}
	*out = v;
	*p = end + 1;
	return true;
}

/* LEVEL:LEVEL:LEVEL ended by ',' or ' ' (*last: it was ' '). */
static bool read_levels(const char **p, double lv[RECORD_SCALES], bool *last)
{
	const char *q;

	if (!read_level(p, &lv[0], ':') || !read_level(p, &lv[1], ':')) {
		return false;
	}
	q = *p;
	if (read_level(p, &lv[2], ',')) {
		*last = false;
		return true;
	}
	*p = q;
	*last = true;
	return read_level(p, &lv[2], ' ');
}

/*
 * "rec=... recd=... recp=... " (encode_records) into the record fields of
 * *d (a scratch copy). Absent in states saved before records existed: none.
 */
static bool parse_records(const char **p, struct detector *d, int lag,
			  double pend[RECORD_LAG_MAX][RECORD_SCALES])
{
	bool last = false;

	records_reset(d);
	if (strncmp(*p, "rec=", 4) != 0) {
		return true;
	}
	*p += 4;
	if (!read_num(p, &d->rec_day, ',') ||
	    !read_level(p, &d->rec_ema, ',') ||
	    !read_level(p, &d->rec_cur[0], ',') ||
	    !read_level(p, &d->rec_cur[1], ',') ||
	    !read_level(p, &d->rec_cur[2], ' ') ||
	    strncmp(*p, "recd=", 5) != 0) {
		return false;
	}
	*p += 5;
	if (strncmp(*p, "- ", 2) == 0) {
		*p += 2;
	} else {
		while (!last) {
			int64_t day;

			if (d->n_rec == RECORD_DAYS ||
			    !read_num(p, &day, ':') ||
			    (d->n_rec > 0 &&
			     day <= d->rec_days[d->n_rec - 1]) ||
			    !read_levels(p, d->rec_max[d->n_rec], &last)) {
				return false;
			}
			d->rec_days[d->n_rec++] = day;
		}
	}
	if (d->n_rec > 0 && d->rec_cur[0] >= 0.0 &&
	    d->rec_day <= d->rec_days[d->n_rec - 1]) {
		return false;
	}
	if (strncmp(*p, "recp=", 5) != 0) {
		return false;
	}
	*p += 5;
	if (strncmp(*p, "- ", 2) == 0) {
		*p += 2;
		return true;
	}
	for (last = false; !last;) {
		if (d->n_pend == lag ||
		    !read_levels(p, pend[d->n_pend], &last)) {
			return false;
		}
		d->n_pend++;
	}
	return true;
}

static bool parse_last(const char **p, struct detect_result *l, int64_t bucket)
{
	int64_t v;

	if (strncmp(*p, "last=", 5) != 0) {
		return false;
	}
	*p += 5;
	memset(l, 0, sizeof(*l));
	if (!read_num(p, &l->start_ms, ',') || !read_num(p, &l->end_ms, ',') ||
	    !read_num(p, &l->count, ',') || !read_dbl(p, &l->baseline) ||
	    !read_dbl(p, &l->ratio) || !read_dbl(p, &l->score)) {
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
	static const char magic[] = "hark-detect v2 ";
	char *copy;
	const char *p;
	int64_t bucket, next, steps, fired, calm, cooldown, learning;
	double disp_num[2], disp_den[2];
	double diff_num, diff_den;
	double perr[2];
	bool has_week_err;
	double lvl_num[2][2], lvl_den[2][2];
	uint32_t raw[DETECT_MAX_WINDOW] = {0};
	int n_raw;
	struct detector pk;
	double pend[RECORD_LAG_MAX][RECORD_SCALES];
	enum detect_state state;
	struct detect_result last;
	uint32_t *vals = NULL;
	size_t n_vals = 0, keep;
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
	    !parse_disp(&p, disp_num, disp_den) ||
	    !parse_diff(&p, &diff_num, &diff_den) ||
	    !parse_perr(&p, perr, &has_week_err) ||
	    !parse_lvl(&p, lvl_num, lvl_den) || !parse_raw(&p, raw, &n_raw) ||
	    !parse_peaks(&p, &pk) ||
	    !parse_records(&p, &pk, record_lag(d), pend) ||
	    !parse_last(&p, &last, bucket) ||
	    !parse_history(p, &vals, &n_vals)) {
		goto out;
	}
	if (steps < 0 || calm < 0 || calm >= calm_needed(d) ||
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
	free(d->hist);
	d->hist = NULL;
	d->cap = d->head = d->seen = 0;
	d->wide = false;
	for (size_t i = 0; i < keep; i++) {
		hist_push(d, vals[n_vals - keep + i]);
	}
	d->steps = steps;
	d->next_ms = next;
	d->state = state;
	d->fired_start_ms = fired;
	d->calm_run = (int)calm;
	d->cooldown_until_ms = cooldown;
	d->learning = learning == 1;
	memcpy(d->disp_num, disp_num, sizeof(disp_num));
	memcpy(d->disp_den, disp_den, sizeof(disp_den));
	d->diff_num = diff_num;
	d->diff_den = diff_den;
	memcpy(d->perr, perr, sizeof(perr));
	d->has_week_err = has_week_err;
	memcpy(d->lvl_num, lvl_num, sizeof(lvl_num));
	memcpy(d->lvl_den, lvl_den, sizeof(lvl_den));
	memcpy(d->raw, raw, sizeof(raw));
	d->n_raw = n_raw;
	memcpy(d->peaks, pk.peaks, sizeof(pk.peaks));
	d->n_peaks = pk.n_peaks;
	d->peak_day = pk.peak_day;
	d->peak_cur = pk.peak_cur;
	peaks_changed(d);
	memcpy(d->rec_max, pk.rec_max, sizeof(pk.rec_max));
	memcpy(d->rec_days, pk.rec_days, sizeof(pk.rec_days));
	d->n_rec = pk.n_rec;
	d->rec_day = pk.rec_day;
	memcpy(d->rec_cur, pk.rec_cur, sizeof(pk.rec_cur));
	memcpy(d->rec_pend, pend, (size_t)pk.n_pend * sizeof(pend[0]));
	d->n_pend = pk.n_pend;
	d->pend_first = 0;
	d->rec_ema = pk.rec_ema;
	d->last = last;
	rc = 0;
out:
	free(vals);
	free(copy);
	return rc;
}
