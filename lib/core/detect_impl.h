/* SPDX-License-Identifier: MIT */
/*
 * The detector's insides, shared by detect.c (spans, test, lifecycle),
 * season.c (the usual level) and detect_image.c (the saved state). Not for
 * use outside those files.
 */
#ifndef HARK_CORE_DETECT_IMPL_H
#define HARK_CORE_DETECT_IMPL_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "detect.h"

#define MINUTE_MS (60 * 1000LL)
#define HOUR_MS (60 * MINUTE_MS)
#define DAY_MS (24 * HOUR_MS)
#define WEEK_MS (7 * DAY_MS)

/*
 * Season resolution: slots of at most 15 minutes. Finer slots would learn
 * noise at low counts (a 5-minute median of a 0.5/bucket stream is 0); a
 * quarter of an hour still follows a morning rise. Buckets inside a slot
 * are interpolated between slot centres.
 */
#define SLOT_MAX_MS (15 * MINUTE_MS)
/* The daily profile: the same time over the past week. */
#define SEASON_DAYS 7
/* The weekly profile: the same weekday over up to three weeks (it needs
 * two, so that no single week-ago value is ever the baseline). */
#define SEASON_WEEKS 3
#define WEEK_MIN 2
/* Weekday factors follow about a month of each weekday. */
#define WEEKDAY_DECAY 0.7788007830714049 /* exp(-1/4) */
#define RING_DAYS (SEASON_WEEKS * 7)
/* Buckets of history kept for the spans (the longest span). */
#define RECENT_MAX 256
/*
 * Spans tested: one bucket; a run of `window` buckets, at least two, each
 * of them off (a rise that lasts is seen on its second bucket, and a
 * one-bucket burst, the commonest noise of social streams, never makes a
 * run); the totals of a quarter of an hour, an hour and four hours (a broad
 * rise, or a silence). The one-bucket span always learns (the runs and the
 * cleaning use its dispersion); it is tested when window is 1.
 */
#define MAX_SPANS 5
#define SPAN_ONE 0
#define SPAN_RUN 1
/* Before a day is known: an EWMA level over about the last hour. */
#define EWMA_TAU_MS (1.0 * HOUR_MS)
/* The level factor follows the last day (a lasting shift in about a day). */
#define LEVEL_TAU_MS (1.0 * DAY_MS)
/* Its prior: one mention's worth of "as the profiles say". */
#define LEVEL_PRIOR 1.0
#define LEVEL_AFTER_MS (8 * DAY_MS)
#define LEVEL_MIN 0.1
#define LEVEL_MAX 10.0
/* Over-dispersion: learned over a week (every hour of every weekday), from
 * a prior of alpha 0.05 (social streams are over-dispersed; 0.05 is a 22%
 * relative spread at 100 a bucket) worth a dozen typical buckets. */
#define DISP_TAU_MS (1.0 * WEEK_MS)
#define ALPHA_PRIOR 0.05
#define ALPHA_PRIOR_N 12.0
/* Which profile predicts better: squared errors over about a week. */
#define CHOICE_TAU_MS (1.0 * WEEK_MS)
/* A tail probability never above that of 3 sigma: further into the body
 * of the distribution, the normal tail the budget is spent on stops
 * describing real streams. */
#define THRESHOLD_TAIL 1.3498980316301e-3
/* Daily bursts: a spike must beat the second-highest daily peak excess of
 * the last week: ordinary bursts then pass on at most one day in three or
 * four, which keeps a bursty stream within a couple of alerts a week,
 * while "bigger than anything last week" always passes. */
#define BURST_DAYS 28
/* Gumbel: median = loc + 0.3665 beta, interquartile range = 1.5725 beta. */
#define GUMBEL_MEDIAN 0.36651292058166435
#define GUMBEL_IQR 1.5725
/* Peaks are logged from half a mention a bucket: below it, excess is
 * noise whatever its ratio. */
#define BURST_FLOOR 0.5
/* Back to normal: every span under its threshold and the last bucket
 * under half of its own, for a quarter of an hour. */
#define CALM_MS (15 * MINUTE_MS)
/* A median's efficiency against the mean: 2/pi. */
#define TWO_OVER_PI 0.6366197723675814
#define RATIO_FLOOR 0.5
/* Exact tails under 30 mentions expected (where the square-root scale's
 * error is a few percent), for counts a loop of that length can walk. */
#define EXACT_BELOW 30.0
#define EXACT_MAX 4096.0
#define PEAK_DAYS DETECT_MAX_NOVELTY_DAYS
/* Bounds that keep every sum of a state finite: a trillion mentions a
 * bucket, ten trillion usual, a spread ten times the mean, are beyond any
 * stream. */
#define COUNT_MAX 1e12
#define MU_MAX 1e13
#define ALPHA_MAX 100.0
#define ENCODE_MAGIC "HKD2"
#define ENCODE_VERSION 2u

/*
 * Everything a detector learns, as scalars: listed once, so that the state
 * image writes and reads them in one order. X(type, name).
 */
#define CORE_FIELDS(X)         \
	X(i64, next_start)     \
	X(i64, begin_ms)       \
	X(i64, n_steps)        \
	X(i64, slot_abs)       \
	X(f64, slot_acc)       \
	X(i64, slot_n)         \
	X(i64, first_slot)     \
	X(f64, lvl_num)        \
	X(f64, lvl_den)        \
	X(f64, ew_num)         \
	X(f64, ew_w)           \
	X(f64, err_day)        \
	X(f64, err_week)       \
	X(i64, peak_day)       \
	X(i64, state)          \
	X(i64, fired_start)    \
	X(i64, cooldown_until) \
	X(i64, calm_run)       \
	X(i64, ep_dir)         \
	X(f64, ep_peak)        \
	X(f64, ep_rel)         \
	X(f64, day_x)          \
	X(f64, day_s)

struct detector {
	struct detect_params p;
	/* Derived from p. */
	int64_t slot_ms;
	int bps;  /* buckets per slot */
	int spd;  /* slots per day */
	int ring; /* slots kept */
	int n_spans;
	int span[MAX_SPANS]; /* buckets */
	bool tested[MAX_SPANS];
	double thr[MAX_SPANS]; /* per side; a run's is each bucket's */
	int recent;            /* ring size of x and mu */
	double e_disp, e_level, e_ewma, e_choice;
	/* Learned (encoded). */
#define DECL_i64(n) int64_t n;
#define DECL_f64(n) double n;
#define DECL(t, n) DECL_##t(n)
	CORE_FIELDS(DECL)
#undef DECL
	double a_num[MAX_SPANS], a_den[MAX_SPANS], m_mean[MAX_SPANS];
	/* Weekday factors of the daily profile: decayed sums of each
	 * weekday's total over what the daily profile said, and their
	 * weights. */
	double wd_sum[7], wd_n[7];
	/* Today's highest excess and count per bucket, per span. */
	double peak_ex[MAX_SPANS], peak_ct[MAX_SPANS];
	float *slots;                /* ring of slot totals, NaN: unknown */
	double *rx, *rmu;            /* the last `recent` counts and usuals */
	float (*days_ex)[MAX_SPANS]; /* PEAK_DAYS daily peaks, NaN: none */
	float (*days_ct)[MAX_SPANS];
	/* The first bucket, begun in its middle (not encoded: it is judged
	 * by the next bucket close); INT64_MIN: none. */
	int64_t partial_start;
	/* Work out each bucket's band (detector_set_band; not encoded). */
	bool band;
	struct detect_result last;
};

static inline int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static inline double vst(double x)
{
	return 2.0 * sqrt((x > 0 ? x : 0) + 0.375);
}

static inline int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* How long the stream has been counted. */
static inline int64_t known_ms(const struct detector *d)
{
	return d->n_steps * d->p.bucket_ms;
}

/*
 * The usual count of the bucket starting at t: *season gets it before the
 * level factor (NAN before a day is known), *daily the daily profile's
 * value (NAN: none), *n_eff how many buckets' worth of observations it
 * rests on, the unit of its own uncertainty.
 */
double season_expect(const struct detector *d, int64_t t, double *season,
		     double *daily, double *n_eff);
/* Learns the cleaned count x of the bucket at t (its season and daily
 * values from season_expect); the level factor only if learn_level. */
void season_learn(struct detector *d, int64_t t, double x, double season,
		  double daily, bool learn_level);
/* The day d->peak_day is over: its weekday factor learns from it. */
void season_close_day(struct detector *d);

#endif
