/* SPDX-License-Identifier: MIT */
/*
 * The detector (see detect.h for the paragraph). Units: counts per bucket;
 * the test works on the variance-stabilised scale v(x) = 2 sqrt(x + 3/8)
 * (Anscombe), on which a Poisson count's noise has a variance close to 1
 * whatever its mean, so one threshold means one tail probability at 0.5 and
 * at 20,000 mentions a bucket. Over-dispersion alpha (negative binomial:
 * variance mu + alpha mu^2, i.e. 1 + alpha mu on that scale) is learned per
 * span from the stream's own prediction residuals.
 */
#include "detect.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

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
static const int64_t span_len_ms[MAX_SPANS] = {0, 0, 15 * MINUTE_MS, HOUR_MS,
					       4 * HOUR_MS};
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
	struct detect_result last;
};

static const char *const state_names[] = {
	[DETECT_STATE_WARMING] = "warming",
	[DETECT_STATE_OK] = "ok",
	[DETECT_STATE_FIRING] = "firing",
};

static const char *const reason_names[] = {
	[DETECT_WHY_NONE] = "",
	[DETECT_WHY_WARMING] = "warming",
	[DETECT_WHY_NORMAL] = "normal",
	[DETECT_WHY_GUARD] = "guard",
	[DETECT_WHY_BURSTS] = "bursts",
	[DETECT_WHY_NOVELTY] = "novelty",
	[DETECT_WHY_COOLDOWN] = "cooldown",
	[DETECT_WHY_FIRED] = "fired",
	[DETECT_WHY_ESCALATED] = "escalated",
	[DETECT_WHY_FIRING] = "firing",
	[DETECT_WHY_RESOLVED] = "resolved",
};

void detect_params_default(struct detect_params *p, int64_t bucket_ms)
{
	memset(p, 0, sizeof(*p));
	p->bucket_ms = bucket_ms;
	p->direction = DETECT_UP;
	p->threshold = 0;
	p->false_alarms = 0.5;
	p->min_count = 0;
	p->min_excess = 5;
	p->min_ratio = 1.5;
	p->escalation = 2;
	p->cooldown_ms = 6 * HOUR_MS;
	p->warmup_ms = HOUR_MS;
	p->novelty_ms = 0;
	/* Under a quarter of an hour, a spike must last two buckets: a
	 * one-bucket burst is the commonest noise of social streams (a
	 * retweet storm, a bot). From 15 minutes on, one bucket is that
	 * long already. */
	p->window = bucket_ms < 15 * MINUTE_MS ? 2 : 1;
}

const char *detect_state_name(enum detect_state s)
{
	if ((unsigned)s < sizeof(state_names) / sizeof(state_names[0])) {
		return state_names[s];
	}
	return "unknown";
}

const char *detect_reason_name(enum detect_reason r)
{
	if ((unsigned)r < sizeof(reason_names) / sizeof(reason_names[0])) {
		return reason_names[r];
	}
	return "";
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static double vst(double x)
{
	return 2.0 * sqrt((x > 0 ? x : 0) + 0.375);
}

/* The z with P(Z > z) = p, by bisection on erfc (only at creation). */
static double normal_upper(double p)
{
	double lo = 0, hi = 40;

	if (p >= 0.5) {
		return 0;
	}
	for (int i = 0; i < 200; i++) {
		double mid = 0.5 * (lo + hi);

		if (0.5 * erfc(mid / sqrt(2.0)) > p) {
			lo = mid;
		} else {
			hi = mid;
		}
	}
	return 0.5 * (lo + hi);
}

/*
 * The z with P(Z > z) = p, quickly: Acklam's rational approximation of the
 * normal quantile (relative error 1.15e-9), for the scores of every step.
 */
static double normal_score(double p)
{
	static const double a[] = {
		-3.969683028665376e+01, 2.209460984245205e+02,
		-2.759285104469687e+02, 1.383577518672690e+02,
		-3.066479806614716e+01, 2.506628277459239e+00};
	static const double b[] = {
		-5.447609879822406e+01, 1.615858368580409e+02,
		-1.556989798598866e+02, 6.680131188771972e+01,
		-1.328068155288572e+01};
	static const double c[] = {
		-7.784894002430293e-03, -3.223964580411365e-01,
		-2.400758277161838e+00, -2.549732539343734e+00,
		4.374664141464968e+00,  2.938163982698783e+00};
	static const double e[] = {7.784695709041462e-03, 3.224671290700398e-01,
				   2.445134137142996e+00,
				   3.754408661907416e+00};
	double q = 1 - p, r, x;

	if (p <= 1e-300) {
		return 37.5; /* as far as a double's tail goes */
	}
	if (q <= 1e-300) {
		return -37.5;
	}
	if (q < 0.02425) {
		r = sqrt(-2 * log(q));
		x = (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) *
			     r +
		     c[5]) /
		    ((((e[0] * r + e[1]) * r + e[2]) * r + e[3]) * r + 1);
	} else if (q <= 1 - 0.02425) {
		r = (q - 0.5) * (q - 0.5);
		x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) *
			     r +
		     a[5]) *
		    (q - 0.5) /
		    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) *
			     r +
		     1);
	} else {
		r = sqrt(-2 * log(p));
		x = -(((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) *
			      r +
		      c[5]) /
		    ((((e[0] * r + e[1]) * r + e[2]) * r + e[3]) * r + 1);
	}
	return x;
}

/*
 * The negative binomial of mean m and variance v (Poisson when v = m),
 * walked from 0: under about EXACT_BELOW mentions the square-root scale
 * misstates how rare a count is (6 mentions where 0.01 are usual would
 * be a mere 3.8 there), and there the walk is short.
 */
struct nbwalk {
	double pmf, cdf; /* at k, and P(X < k) */
	double k, r, q;
	bool nb;
};

static void nb_start(struct nbwalk *w, double m, double v)
{
	if (m <= 0) {
		m = 1e-9;
	}
	w->nb = v > m * (1 + 1e-9);
	w->r = w->nb ? m * m / (v - m) : m;
	w->q = w->nb ? (v - m) / v : 0;
	w->pmf = w->nb ? exp(w->r * log(m / v)) : exp(-m);
	w->cdf = 0;
	w->k = 0;
}

static void nb_next(struct nbwalk *w)
{
	w->cdf += w->pmf;
	w->pmf *= w->nb ? (w->k + w->r) * w->q / (w->k + 1) : w->r / (w->k + 1);
	w->k++;
}

/* P(X > k) + P(X = k) / 2 at the walk's k. */
static double nb_midp(const struct nbwalk *w)
{
	return fmax(0, 1 - w->cdf - w->pmf) + w->pmf / 2;
}

/* x's score from its exact mid-p tail, signed. */
static double exact_score(double x, double m, double v)
{
	struct nbwalk w;
	double k = floor(x + 0.5);

	nb_start(&w, m, v);
	while (w.k < k) {
		nb_next(&w);
		if (w.pmf < 1e-300 && w.k > m) {
			return 37.5; /* past a double's tail */
		}
	}
	return normal_score(nb_midp(&w));
}

/* Buckets per slot: the largest divisor of the day's buckets whose slot is
 * at most SLOT_MAX_MS (1 for buckets of 15 minutes or more). */
static int slot_buckets(int64_t bucket_ms)
{
	int64_t per_day = DAY_MS / bucket_ms;
	int best = 1;

	for (int64_t k = 1; k * bucket_ms <= SLOT_MAX_MS; k++) {
		if (per_day % k == 0) {
			best = (int)k;
		}
	}
	return best;
}

static void derive(struct detector *d)
{
	const struct detect_params *p = &d->p;
	int sides = p->direction == DETECT_BOTH ? 2 : 1, tests = 0;
	double per_week = (double)WEEK_MS / (double)p->bucket_ms;

	d->bps = slot_buckets(p->bucket_ms);
	d->slot_ms = p->bucket_ms * d->bps;
	d->spd = (int)(DAY_MS / d->slot_ms);
	if (d->spd < 1) {
		d->spd = 1;
	}
	d->ring = d->spd * RING_DAYS;
	d->span[SPAN_ONE] = 1;
	d->tested[SPAN_ONE] = p->window == 1;
	d->span[SPAN_RUN] = p->window > 1 ? p->window : 2;
	d->tested[SPAN_RUN] = true;
	d->n_spans = 2;
	for (int i = 2; i < MAX_SPANS; i++) {
		int64_t n = span_len_ms[i] / p->bucket_ms;

		if (n <= d->span[d->n_spans - 1] || n > RECENT_MAX) {
			continue;
		}
		d->span[d->n_spans] = (int)n;
		d->tested[d->n_spans++] = true;
	}
	d->recent = d->span[d->n_spans - 1];
	for (int i = 0; i < d->n_spans; i++) {
		tests += d->tested[i];
	}
	for (int i = 0; i < d->n_spans; i++) {
		/* The budget is shared by every span tested and side: a total
		 * of n buckets makes per_week / n independent tests a week, a
		 * run one a bucket. Each bucket of a run must pass the
		 * one-bucket threshold: neighbouring buckets of a social
		 * stream are not independent (a story lasts), so the run's
		 * probability is not the product of its buckets'. */
		bool run = i == SPAN_RUN;
		double pr = p->false_alarms /
			    (per_week / (run ? 1 : d->span[i]) * tests * sides);

		if (pr > THRESHOLD_TAIL) {
			pr = THRESHOLD_TAIL;
		}
		d->thr[i] = p->threshold > 0 ? p->threshold : normal_upper(pr);
	}
	d->e_disp = exp(-(double)p->bucket_ms / DISP_TAU_MS);
	d->e_level = exp(-(double)p->bucket_ms / LEVEL_TAU_MS);
	d->e_ewma = exp(-(double)p->bucket_ms / EWMA_TAU_MS);
	d->e_choice = exp(-(double)d->slot_ms / CHOICE_TAU_MS);
}

static void reset_learned(struct detector *d)
{
	d->next_start = INT64_MIN;
	d->begin_ms = INT64_MIN;
	d->n_steps = 0;
	d->slot_abs = INT64_MIN;
	d->slot_acc = 0;
	d->slot_n = 0;
	d->first_slot = INT64_MAX;
	d->lvl_num = d->lvl_den = 0;
	d->ew_num = d->ew_w = 0;
	d->err_day = d->err_week = 0;
	d->peak_day = INT64_MIN;
	d->state = DETECT_STATE_WARMING;
	d->fired_start = 0;
	d->cooldown_until = INT64_MIN;
	d->calm_run = 0;
	d->ep_dir = 0;
	d->ep_peak = d->ep_rel = 0;
	d->day_x = d->day_s = 0;
	for (int i = 0; i < 7; i++) {
		d->wd_sum[i] = d->wd_n[i] = 0;
	}
	for (int i = 0; i < MAX_SPANS; i++) {
		d->a_num[i] = d->a_den[i] = d->m_mean[i] = 0;
		d->peak_ex[i] = d->peak_ct[i] = NAN;
	}
	for (int i = 0; i < d->ring; i++) {
		d->slots[i] = NAN;
	}
	for (int i = 0; i < d->recent; i++) {
		d->rx[i] = d->rmu[i] = 0;
	}
	for (int i = 0; i < PEAK_DAYS; i++) {
		for (int s = 0; s < MAX_SPANS; s++) {
			d->days_ex[i][s] = d->days_ct[i][s] = NAN;
		}
	}
	memset(&d->last, 0, sizeof(d->last));
}

struct detector *detector_new(const struct detect_params *p)
{
	struct detector *d = xcalloc(1, sizeof(*d));

	d->p = *p;
	if (d->p.bucket_ms <= 0) {
		d->p.bucket_ms = 5 * MINUTE_MS;
	}
	if (d->p.false_alarms <= 0) {
		d->p.false_alarms = 1.0;
	}
	if (d->p.min_ratio < 1) {
		d->p.min_ratio = 1;
	}
	if (d->p.escalation < 1) {
		d->p.escalation = 1;
	}
	if (d->p.novelty_ms > PEAK_DAYS * DAY_MS) {
		d->p.novelty_ms = PEAK_DAYS * DAY_MS;
	}
	if (d->p.window < 1 || d->p.window > DETECT_MAX_WINDOW) {
		d->p.window = 1;
	}
	derive(d);
	d->slots = xcalloc((size_t)d->ring, sizeof(d->slots[0]));
	d->rx = xcalloc((size_t)d->recent, sizeof(d->rx[0]));
	d->rmu = xcalloc((size_t)d->recent, sizeof(d->rmu[0]));
	d->days_ex = xcalloc(PEAK_DAYS, sizeof(d->days_ex[0]));
	d->days_ct = xcalloc(PEAK_DAYS, sizeof(d->days_ct[0]));
	reset_learned(d);
	return d;
}

void detector_free(struct detector *d)
{
	if (d == NULL) {
		return;
	}
	free(d->slots);
	free(d->rx);
	free(d->rmu);
	free(d->days_ex);
	free(d->days_ct);
	free(d);
}

void detector_begin(struct detector *d, int64_t start_ms)
{
	if (d->next_start == INT64_MIN) {
		d->begin_ms = start_ms;
		d->next_start = start_ms;
	}
}

int64_t detector_next_start(const struct detector *d)
{
	return d->n_steps > 0 ? d->next_start : INT64_MIN;
}

int64_t detector_warm_at(const struct detector *d)
{
	if (d->begin_ms == INT64_MIN) {
		return INT64_MIN;
	}
	return d->begin_ms + d->p.warmup_ms;
}

enum detect_state detector_state(const struct detector *d)
{
	return (enum detect_state)d->state;
}

const struct detect_result *detector_last(const struct detector *d)
{
	return &d->last;
}

/* ---- the usual level ------------------------------------------------ */

static double slot_at(const struct detector *d, int64_t a)
{
	if (a < d->first_slot || a >= d->slot_abs ||
	    a < d->slot_abs - d->ring) {
		return NAN;
	}
	return d->slots[(size_t)(a % d->ring + d->ring) % (size_t)d->ring];
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The mean of the values past the lowest and the highest (from three on):
 * robust to one odd day (a holiday, a spike the cleaning only clipped)
 * yet, unlike a median, never 0 on a stream of a mention an hour. */
static double trimmed(double *v, int n)
{
	double s = 0;

	if (n >= 3) {
		qsort(v, (size_t)n, sizeof(v[0]), cmp_dbl);
		v++;
		n -= 2;
	}
	for (int i = 0; i < n; i++) {
		s += v[i];
	}
	return s / n;
}

/* The profile's value of absolute slot a from `lags` slots back, step
 * `step` slots; *n: values found. */
static double profile(const struct detector *d, int64_t a, int lags,
		      int64_t step, int *n)
{
	double v[SEASON_DAYS];

	*n = 0;
	for (int k = 1; k <= lags; k++) {
		double x = slot_at(d, a - k * step);

		if (!isnan(x)) {
			v[(*n)++] = x;
		}
	}
	return *n > 0 ? trimmed(v, *n) : NAN;
}

static bool weekly_ok(const struct detector *d)
{
	return d->err_week < d->err_day;
}

static int64_t weekday(int64_t day)
{
	return (day % 7 + 7) % 7;
}

/* How a weekday's total compares with what the daily profile says of it
 * (weekends are often quieter), from a prior of one week at 1. */
static double weekday_factor(const struct detector *d, int64_t day)
{
	int64_t w = weekday(day);

	return (d->wd_sum[w] + 1) / (d->wd_n[w] + 1);
}

/* The two profiles interpolated at position f between slots a and a+1,
 * per bucket; *n: the fewer values either rests on. */
static double interp(const struct detector *d, int64_t a, double f, int lags,
		     int64_t step, int *n)
{
	int n0, n1;
	double v0 = profile(d, a, lags, step, &n0);
	double v1 = profile(d, a + 1, lags, step, &n1);

	if (isnan(v0)) {
		v0 = v1, n0 = n1;
	} else if (isnan(v1)) {
		v1 = v0, n1 = n0;
	}
	*n = n0 < n1 ? n0 : n1;
	return ((1 - f) * v0 + f * v1) / d->bps;
}

static double level_factor(const struct detector *d)
{
	double f = (d->lvl_num + LEVEL_PRIOR) / (d->lvl_den + LEVEL_PRIOR);

	return f < LEVEL_MIN ? LEVEL_MIN : f > LEVEL_MAX ? LEVEL_MAX : f;
}

/*
 * The usual count of the bucket starting at t: *season gets it before the
 * level factor (NAN before a day is known), *n_eff how many buckets' worth
 * of observations it rests on, the unit of its own uncertainty.
 */
static double expect(const struct detector *d, int64_t t, double *season,
		     double *daily, double *n_eff)
{
	double u = (double)(t + d->p.bucket_ms / 2) / (double)d->slot_ms - 0.5;
	int64_t a0 = (int64_t)floor(u);
	double f = u - (double)a0;
	int nd, nw;
	double sd = interp(d, a0, f, SEASON_DAYS, d->spd, &nd);
	double sw = interp(d, a0, f, SEASON_WEEKS, 7LL * d->spd, &nw);
	double s;
	int n;

	*daily = sd;
	if (nw >= WEEK_MIN && weekly_ok(d)) {
		s = sw;
		n = nw;
	} else if (nd > 0) {
		s = sd * weekday_factor(d, floor_div(t, DAY_MS));
		n = nd;
	} else {
		*season = NAN;
		*n_eff = d->ew_w;
		return d->ew_w > 0 ? d->ew_num / d->ew_w : 0;
	}
	*season = s;
	/* A trimmed mean of n days is about as good as the mean of 2n/pi;
	 * each day saw the slot's bps buckets. */
	*n_eff = TWO_OVER_PI * n * d->bps;
	if (*n_eff < 1) {
		*n_eff = 1;
	}
	return s * level_factor(d);
}

double detector_baseline(const struct detector *d)
{
	double s, daily, n;

	if (d->n_steps == 0) {
		return 0;
	}
	return expect(d, d->next_start, &s, &daily, &n);
}

/* ---- spans and scores ----------------------------------------------- */

struct span_eval {
	bool ok;      /* enough buckets seen */
	double x, mu; /* totals */
	double stat;  /* what a total is judged on (see eval_spans) */
	double z0;    /* raw residual on the stabilised scale (totals) */
	double sd;    /* its scale */
	/* Scores up and down: a total's z both ways; a run's least and
	 * greatest bucket z. */
	double z_up, z_dn;
	/* Per bucket: the excess (a run: its least), the deficit (a run: its
	 * least); the least ratio of count to usual, the greatest of usual
	 * to count (a run's buckets each; a total's as a whole). */
	double ex_up, ex_dn, r_up, r_dn;
};

static double alpha_of(const struct detector *d, int i)
{
	double w = ALPHA_PRIOR_N * d->m_mean[i] * d->m_mean[i];
	double a;

	if (d->a_den[i] + w <= 0) {
		return ALPHA_PRIOR;
	}
	a = (d->a_num[i] + ALPHA_PRIOR * w) / (d->a_den[i] + w);
	return a > 0 ? a : 0;
}

/* The median of the last n counts. */
static double median_recent(const struct detector *d, int64_t pos, int n)
{
	double v[RECENT_MAX];

	for (int k = 1; k <= n; k++) {
		v[k - 1] = d->rx[(size_t)((pos - k) % d->recent)];
	}
	qsort(v, (size_t)n, sizeof(v[0]), cmp_dbl);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/*
 * x against its usual mu: variance c mu (1 + alpha mu)(1 + unc), c the
 * statistic's own factor (1 for a count, pi/2 for a median). The square-
 * root scale from EXACT_BELOW on, the exact tail under it.
 */
static double score(double x, double mu, double c, double alpha, double unc)
{
	double f = c * (1 + alpha * mu) * (1 + unc);

	if (mu < EXACT_BELOW && x < EXACT_MAX) {
		return exact_score(x, mu, mu * f);
	}
	return (vst(x) - vst(mu)) / sqrt(f);
}

static void eval_spans(const struct detector *d, double n_eff,
		       struct span_eval *ev)
{
	int64_t pos = d->n_steps; /* the bucket just pushed is pos - 1 */

	double a1 = alpha_of(d, SPAN_ONE);
	double unc1 = n_eff > 0 ? 1 / n_eff : 1;

	for (int i = 0; i < d->n_spans; i++) {
		struct span_eval *e = &ev[i];
		int n = d->span[i];
		double unc;

		memset(e, 0, sizeof(*e));
		if (pos < n) {
			continue;
		}
		e->ok = true;
		e->z_up = e->ex_up = e->ex_dn = e->r_up = INFINITY;
		e->z_dn = -INFINITY;
		e->r_dn = 0;
		for (int k = 1; k <= n; k++) {
			size_t j = (size_t)((pos - k) % d->recent);
			double x = d->rx[j], mu = d->rmu[j];

			e->x += x;
			e->mu += mu;
			if (i == SPAN_RUN) {
				double z = score(x, mu, 1, a1, unc1);

				e->z_up = fmin(e->z_up, z);
				e->z_dn = fmax(e->z_dn, z);
				e->ex_up = fmin(e->ex_up, x - mu);
				e->ex_dn = fmin(e->ex_dn, mu - x);
				e->r_up = fmin(e->r_up,
					       x / fmax(mu, RATIO_FLOOR));
				e->r_dn = fmax(e->r_dn,
					       x / fmax(mu, RATIO_FLOOR));
			}
		}
		/* A total longer than the run is its buckets' median times
		 * their number: a broad rise (or a silence), which one
		 * bucket alone cannot make. The median's variance is about
		 * pi/2 that of the mean. */
		e->stat = i > SPAN_RUN ? n * median_recent(d, pos, n) : e->x;
		e->z0 = vst(e->stat) - vst(e->mu);
		/* The usual's own uncertainty on this scale: the span's
		 * buckets over those it was learned from (a span wider than
		 * a slot spans independently learned slots). */
		unc = n_eff > 0 ? (n < d->bps ? n : d->bps) / n_eff : (double)n;
		e->sd = sqrt((i > SPAN_RUN ? M_PI / 2 : 1) *
			     (1 + alpha_of(d, i) * e->mu) * (1 + unc));
		if (i != SPAN_RUN) {
			e->z_up = e->z_dn = score(e->stat, e->mu,
						  i > SPAN_RUN ? M_PI / 2 : 1,
						  alpha_of(d, i), unc);
			e->ex_up = (e->stat - e->mu) / n;
			e->ex_dn = (e->mu - e->stat) / n;
			e->r_up = e->r_dn = e->stat / fmax(e->mu, RATIO_FLOOR);
		}
	}
}

/* The k-th highest of the last `days` daily values of span i, or NAN. */
static double daily_rank(const struct detector *d, float (*days)[MAX_SPANS],
			 int i, int ndays, int k, int *found)
{
	double v[PEAK_DAYS];
	int n = 0;

	for (int back = 1; back <= ndays && d->peak_day != INT64_MIN; back++) {
		int64_t day = d->peak_day - back;
		float x = days[(size_t)(day % PEAK_DAYS + PEAK_DAYS) %
			       PEAK_DAYS][i];

		if (!isnan(x)) {
			v[n++] = x;
		}
	}
	*found = n;
	if (n == 0) {
		return NAN;
	}
	qsort(v, (size_t)n, sizeof(v[0]), cmp_dbl);
	return v[n - (k < n ? k : n)];
}

/* The q-quantile of sorted v (linear between order statistics). */
static double quantile(const double *v, int n, double q)
{
	double h = q * (n - 1);
	int lo = (int)floor(h);

	return lo + 1 < n ? v[lo] + (h - lo) * (v[lo + 1] - v[lo]) : v[lo];
}

/*
 * The excess per bucket that the stream's own daily peaks (outside alerts)
 * reach about false_alarms times a week. Bursts of social streams
 * are heavy-tailed (their sizes follow a power law), so the law of daily
 * maxima fitted is a Frechet law: a Gumbel law of their logarithms, fitted
 * by its quartiles to the days of the last BURST_DAYS with an excess, so that one or two real stories among them move it little.
 * Fewer than three days: the lowest daily peak known. *found: days used.
 */
static double burst_level(const struct detector *d, int i, int *found)
{
	double v[PEAK_DAYS], w[PEAK_DAYS];
	int n = 0, k, pos;
	double q1, q2, q3, beta, loc, p;

	for (int back = 1; back <= BURST_DAYS && d->peak_day != INT64_MIN;
	     back++) {
		int64_t day = d->peak_day - back;
		float x = d->days_ex[(size_t)(day % PEAK_DAYS + PEAK_DAYS) %
				     PEAK_DAYS][i];

		if (!isnan(x)) {
			v[n++] = x;
		}
	}
	*found = n;
	if (n == 0) {
		return NAN;
	}
	qsort(v, (size_t)n, sizeof(v[0]), cmp_dbl);
	if (n < 3) {
		return v[0];
	}
	/* Only days with an excess at all count: when they are rarer than
	 * the budget, the threshold alone keeps it. */
	p = fmin(d->p.false_alarms / 7.0, 1);
	for (k = 0; k < n && v[k] <= BURST_FLOOR; k++) {
	}
	pos = n - k;
	if (pos <= p * n) {
		return 0;
	}
	if (pos < 3) {
		return v[k];
	}
	for (int j = 0; j < pos; j++) {
		w[j] = log(v[k + j]);
	}
	q1 = quantile(w, pos, 0.25);
	q2 = quantile(w, pos, 0.5);
	q3 = quantile(w, pos, 0.75);
	beta = (q3 - q1) / GUMBEL_IQR;
	loc = q2 - GUMBEL_MEDIAN * beta;
	/* The level those days pass on a fraction p of all days. */
	return exp(loc - beta * log(-log1p(-p * n / pos)));
}

/* ---- learning --------------------------------------------------------- */

static void roll_day(struct detector *d, int64_t day)
{
	if (d->peak_day == day) {
		return;
	}
	/* A day with a mention expected at least teaches its weekday, by at
	 * most the level factor's bounds. */
	if (d->peak_day != INT64_MIN && d->day_s >= 1) {
		int64_t w = weekday(d->peak_day);
		double f = d->day_x / d->day_s;

		f = f < LEVEL_MIN ? LEVEL_MIN : f > LEVEL_MAX ? LEVEL_MAX : f;
		d->wd_sum[w] = WEEKDAY_DECAY * d->wd_sum[w] + f;
		d->wd_n[w] = WEEKDAY_DECAY * d->wd_n[w] + 1;
	}
	d->day_x = d->day_s = 0;
	if (d->peak_day != INT64_MIN && day > d->peak_day) {
		/* Close the day (and mark the skipped ones unknown). */
		for (int64_t k = d->peak_day;
		     k < day && k < d->peak_day + PEAK_DAYS; k++) {
			size_t j =
				(size_t)(k % PEAK_DAYS + PEAK_DAYS) % PEAK_DAYS;

			for (int i = 0; i < MAX_SPANS; i++) {
				d->days_ex[j][i] =
					k == d->peak_day ? (float)d->peak_ex[i]
							 : NAN;
				d->days_ct[j][i] =
					k == d->peak_day ? (float)d->peak_ct[i]
							 : NAN;
			}
		}
	}
	d->peak_day = day;
	for (int i = 0; i < MAX_SPANS; i++) {
		d->peak_ex[i] = d->peak_ct[i] = NAN;
	}
}

/* Today's peaks: counts from every bucket (novelty: the biggest in N
 * days, alerts included), bursts only from buckets outside alerts. */
static void note_peaks(struct detector *d, const struct span_eval *ev,
		       bool bursts)
{
	for (int i = 0; i < d->n_spans; i++) {
		double ex, ct;

		if (!ev[i].ok) {
			continue;
		}
		ex = ev[i].ex_up;
		ct = ev[i].stat / d->span[i];
		if (bursts && (isnan(d->peak_ex[i]) || ex > d->peak_ex[i])) {
			d->peak_ex[i] = ex;
		}
		if (isnan(d->peak_ct[i]) || ct > d->peak_ct[i]) {
			d->peak_ct[i] = ct;
		}
	}
}

/* The highest count per bucket of span i over the novelty period, today
 * so far included; *days: the days it covers (0: none known). */
static double novelty_record(const struct detector *d, int i, int *days)
{
	int nd = (int)(d->p.novelty_ms / DAY_MS);
	int found;
	double rec =
		daily_rank(d, d->days_ct, i, nd > 1 ? nd - 1 : 1, 1, &found);

	if (!isnan(d->peak_ct[i])) {
		rec = found > 0 ? fmax(rec, d->peak_ct[i]) : d->peak_ct[i];
		found++;
	}
	*days = found;
	return rec;
}

static void learn_dispersion(struct detector *d, const struct span_eval *ev)
{
	for (int i = 0; i < d->n_spans; i++) {
		double cap, e;

		d->a_num[i] *= d->e_disp;
		d->a_den[i] *= d->e_disp;
		if (!ev[i].ok || i == SPAN_RUN) {
			continue;
		}
		d->m_mean[i] = d->m_mean[i] == 0
				       ? ev[i].mu
				       : d->e_disp * d->m_mean[i] +
						 (1 - d->e_disp) * ev[i].mu;
		/* Past the threshold is an anomaly, not noise: it is
		 * counted as at the threshold. */
		cap = d->thr[i] * d->thr[i] * ev[i].sd * ev[i].sd;
		e = ev[i].z0 * ev[i].z0;
		if (e > cap) {
			e = cap;
		}
		if (i > SPAN_RUN) {
			e /= M_PI / 2; /* a median's residual (eval_spans) */
		}
		d->a_num[i] += ev[i].mu * (e - 1);
		d->a_den[i] += ev[i].mu * ev[i].mu;
	}
}

/* x clipped to within the one-bucket threshold of its usual: what the
 * season and level learn, so that an anomaly never teaches them. */
static double cleaned(const struct detector *d, double x, double mu, double sd)
{
	double c = d->thr[0] * sd / 2, r = sqrt(mu + 0.375);
	double hi = (r + c) * (r + c) - 0.375;
	double lo = r > c ? (r - c) * (r - c) - 0.375 : 0;

	return x > hi ? hi : x < lo ? (lo > 0 ? lo : 0) : x;
}

/* How long the stream has been counted. */
static int64_t known_ms(const struct detector *d)
{
	return d->n_steps * d->p.bucket_ms;
}

static void learn_season(struct detector *d, int64_t t, double x, double season,
			 double daily, bool learn_level)
{
	int64_t a = floor_div(t, d->slot_ms);

	if (d->slot_abs != a) {
		if (d->slot_abs != INT64_MIN && d->slot_n > 0 &&
		    a > d->slot_abs) {
			double v = d->slot_acc * d->bps / (double)d->slot_n;
			int nd, nw;
			double pd = profile(d, d->slot_abs, SEASON_DAYS, d->spd,
					    &nd);
			double pw = profile(d, d->slot_abs, SEASON_WEEKS,
					    7LL * d->spd, &nw);

			if (nd > 0 && nw >= WEEK_MIN) {
				double ed = vst(v) -
					    vst(pd *
						weekday_factor(
							d,
							floor_div(
								d->slot_abs *
									d->slot_ms,
								DAY_MS))),
				       ew = vst(v) - vst(pw);

				d->err_day = d->e_choice * d->err_day + ed * ed;
				d->err_week =
					d->e_choice * d->err_week + ew * ew;
			}
			d->slots[(size_t)(d->slot_abs % d->ring + d->ring) %
				 (size_t)d->ring] = (float)v;
			/* Slots skipped (a step past a gap) stay unknown. */
			for (int64_t k = d->slot_abs + 1;
			     k < a && k < d->slot_abs + 1 + d->ring; k++) {
				d->slots[(size_t)(k % d->ring + d->ring) %
					 (size_t)d->ring] = NAN;
			}
			if (d->first_slot == INT64_MAX) {
				d->first_slot = d->slot_abs;
			}
		}
		d->slot_abs = a;
		d->slot_acc = 0;
		d->slot_n = 0;
	}
	d->slot_acc += x;
	d->slot_n++;
	if (!isnan(daily)) {
		d->day_x += x;
		d->day_s += daily;
	}
	/* The level factor follows what the profiles miss (a lasting shift,
	 * growth), but not an alert's own buckets; it waits until every
	 * weekday has been seen once with a profile, or it would take the
	 * first weekend for a shift. */
	if (!isnan(season) && learn_level && known_ms(d) >= LEVEL_AFTER_MS) {
		if (d->lvl_den == 0) {
			/* Starting as if a day had gone as the profiles say. */
			d->lvl_num = d->lvl_den = season / (1 - d->e_level);
		}
		d->lvl_num = d->e_level * d->lvl_num + x;
		d->lvl_den = d->e_level * d->lvl_den + season;
	}
	d->ew_num = d->e_ewma * d->ew_num + x;
	d->ew_w = d->e_ewma * d->ew_w + 1;
}

/* ---- the test --------------------------------------------------------- */

struct verdict {
	int span;               /* the strongest span's index */
	int dir;                /* +1 spike, -1 drop, 0 none */
	enum detect_reason why; /* for a span past its threshold: what held
				   it back, or DETECT_WHY_FIRED */
	double score;           /* its score (signed) */
	double excess;          /* per bucket, of the span, the way it is off */
	double rel;             /* that excess over the usual level */
	int64_t record;
	int record_days;
};

static enum detect_reason check_up(const struct detector *d,
				   const struct span_eval *e, int i,
				   int64_t *record, int *record_days)
{
	double ex = e->ex_up;
	int found;
	double burst;

	if (e->stat < (double)d->p.min_count ||
	    e->stat - e->mu < (double)d->p.min_excess ||
	    e->r_up < d->p.min_ratio) {
		return DETECT_WHY_GUARD;
	}
	burst = burst_level(d, i, &found);
	if (found > 0 && ex <= burst) {
		return DETECT_WHY_BURSTS;
	}
	if (d->p.novelty_ms > 0) {
		double rec = novelty_record(d, i, &found);

		if (found > 0 && e->stat / d->span[i] <= rec) {
			return DETECT_WHY_NOVELTY;
		}
		*record = found > 0 ? (int64_t)ceil(rec) : 0;
		*record_days = found;
	}
	return DETECT_WHY_FIRED;
}

static enum detect_reason check_down(const struct detector *d,
				     const struct span_eval *e)
{
	if (e->mu < (double)d->p.min_count ||
	    e->mu - e->stat < (double)d->p.min_excess ||
	    e->r_dn * d->p.min_ratio > 1) {
		return DETECT_WHY_GUARD;
	}
	return DETECT_WHY_FIRED;
}

/* Which span fires, if any; else the strongest and what held it back. */
static void judge(const struct detector *d, const struct span_eval *ev,
		  struct verdict *v)
{
	double best = -INFINITY, best_pass = -INFINITY;
	bool up = d->p.direction != DETECT_DOWN;
	/* A drop is judged against a known week: before, a first weekend
	 * looks like one. */
	bool down = d->p.direction != DETECT_UP && known_ms(d) > WEEK_MS;

	memset(v, 0, sizeof(*v));
	v->why = DETECT_WHY_NORMAL;
	for (int i = 0; i < d->n_spans; i++) {
		const struct span_eval *e = &ev[i];
		double rel_up = up ? e->z_up / d->thr[i] : -INFINITY;
		double rel_dn = down ? -e->z_dn / d->thr[i] : -INFINITY;
		double rel = fmax(rel_up, rel_dn);
		int dir = rel_up >= rel_dn ? 1 : -1;
		enum detect_reason why = DETECT_WHY_NORMAL;
		int64_t rec = 0;
		int rec_days = 0;

		if (!e->ok || !d->tested[i]) {
			continue;
		}
		if (rel >= 1) {
			why = dir > 0 ? check_up(d, e, i, &rec, &rec_days)
				      : check_down(d, e);
		}
		if (why == DETECT_WHY_FIRED
			    ? rel > best_pass
			    : best_pass == -INFINITY && rel > best) {
			if (why == DETECT_WHY_FIRED) {
				best_pass = rel;
			} else {
				best = rel;
			}
			v->span = i;
			v->dir = dir;
			v->why = why;
			v->score = dir > 0 ? e->z_up : e->z_dn;
			v->excess = dir > 0 ? e->ex_up : e->ex_dn;
			v->rel = v->excess * d->span[i] /
				 fmax(e->mu, RATIO_FLOOR * d->span[i]);
			v->record = rec;
			v->record_days = rec_days;
		}
	}
}

/* ---- lifecycle -------------------------------------------------------- */

static bool calm(const struct detector *d, const struct span_eval *ev)
{
	int dir = (int)d->ep_dir;

	for (int i = 0; i < d->n_spans; i++) {
		double z = dir < 0 ? -ev[i].z_dn : ev[i].z_up;

		if (!ev[i].ok) {
			continue;
		}
		if ((d->tested[i] && z >= d->thr[i]) ||
		    (i == SPAN_ONE && z >= d->thr[i] / 2)) {
			return false;
		}
	}
	return true;
}

static void fill_result(const struct detector *d, int64_t t, int64_t count,
			double mu, const struct span_eval *ev,
			const struct verdict *v, struct detect_result *out)
{
	const struct span_eval *e = &ev[v->span];

	memset(out, 0, sizeof(*out));
	out->start_ms = t;
	out->end_ms = t + d->p.bucket_ms;
	out->count = count;
	out->baseline = mu;
	out->ratio = (double)count / (mu > RATIO_FLOOR ? mu : RATIO_FLOOR);
	out->score = e->ok ? v->score : 0;
	out->threshold = d->thr[v->span];
	out->span = d->span[v->span];
	out->span_count = (int64_t)llround(e->x);
	out->span_baseline = e->mu;
	out->anomalous = v->why == DETECT_WHY_FIRED;
}

static void lifecycle(struct detector *d, const struct span_eval *ev,
		      const struct verdict *v, struct detect_result *out)
{
	int64_t t = out->start_ms;
	bool warm = out->start_ms >= detector_warm_at(d);
	bool pass = v->why == DETECT_WHY_FIRED;
	/* Clearly bigger (spikes only): more mentions than the peak told,
	 * and escalation times its excess relative to the usual level (a
	 * rise that only follows the day's rhythm, as a lasting shift does,
	 * is not). */
	bool bigger = pass && v->dir > 0 && d->ep_dir > 0 && d->ep_peak > 0 &&
		      v->excess >= d->ep_peak &&
		      v->rel >= d->p.escalation * d->ep_rel;

	out->action = DETECT_NONE;
	out->reason = v->why;
	if (d->state == DETECT_STATE_FIRING) {
		out->fired_start_ms = d->fired_start;
		if (bigger) {
			out->action = DETECT_FIRE;
			out->escalation = true;
			out->reason = DETECT_WHY_ESCALATED;
			d->ep_peak = v->excess;
			d->ep_rel = v->rel;
			d->calm_run = 0;
		} else if (calm(d, ev)) {
			d->calm_run++;
			out->reason = DETECT_WHY_FIRING;
			if (d->calm_run * d->p.bucket_ms >= CALM_MS) {
				out->action = DETECT_RESOLVE;
				out->reason = DETECT_WHY_RESOLVED;
				d->state = DETECT_STATE_OK;
				d->cooldown_until =
					out->end_ms + d->p.cooldown_ms;
			}
		} else {
			d->calm_run = 0;
			out->reason = DETECT_WHY_FIRING;
		}
	} else if (!warm) {
		d->state = DETECT_STATE_WARMING;
		out->reason = DETECT_WHY_WARMING;
	} else {
		d->state = DETECT_STATE_OK;
		if (pass && t < d->cooldown_until) {
			if (bigger) {
				out->action = DETECT_FIRE;
				out->escalation = true;
				out->reason = DETECT_WHY_ESCALATED;
				out->fired_start_ms = d->fired_start;
				d->ep_peak = v->excess;
				d->ep_rel = v->rel;
				d->state = DETECT_STATE_FIRING;
				d->calm_run = 0;
			} else {
				out->reason = DETECT_WHY_COOLDOWN;
			}
		} else if (pass) {
			out->action = DETECT_FIRE;
			out->reason = DETECT_WHY_FIRED;
			d->state = DETECT_STATE_FIRING;
			d->fired_start = t;
			out->fired_start_ms = t;
			d->ep_dir = v->dir;
			d->ep_peak = v->excess;
			d->ep_rel = v->rel;
			d->calm_run = 0;
		}
	}
	if (out->action == DETECT_FIRE) {
		out->record = v->record;
		out->record_days = v->record_days;
	}
	out->state = (enum detect_state)d->state;
}

/* One bucket: test it (unless learn_only) and learn from it. */
static void step_one(struct detector *d, int64_t t, int64_t count,
		     bool learn_only, struct detect_result *out)
{
	double season, daily, n_eff;
	double mu = expect(d, t, &season, &daily, &n_eff);
	double x = (double)count;
	size_t j = (size_t)(d->n_steps % d->recent);
	struct span_eval ev[MAX_SPANS];
	struct verdict v;
	bool firing_before;

	d->rx[j] = x;
	d->rmu[j] = mu;
	d->n_steps++;
	eval_spans(d, n_eff, ev);
	judge(d, ev, &v);
	fill_result(d, t, count, mu, ev, &v, out);
	firing_before = d->state == DETECT_STATE_FIRING;
	if (!learn_only) {
		lifecycle(d, ev, &v, out);
	} else {
		out->reason = d->state == DETECT_STATE_FIRING
				      ? DETECT_WHY_FIRING
				      : DETECT_WHY_NORMAL;
		out->state = (enum detect_state)d->state;
		out->fired_start_ms =
			d->state == DETECT_STATE_FIRING ? d->fired_start : 0;
	}
	roll_day(d, floor_div(t, DAY_MS));
	/* Alerts teach nothing: neither the noise nor the daily bursts (on
	 * a stream with frequent news, a story never hides the next). */
	note_peaks(d, ev, !firing_before && d->state != DETECT_STATE_FIRING);
	if (!firing_before && d->state != DETECT_STATE_FIRING) {
		learn_dispersion(d, ev);
	} else {
		for (int i = 0; i < d->n_spans; i++) {
			d->a_num[i] *= d->e_disp;
			d->a_den[i] *= d->e_disp;
		}
	}
	learn_season(d, t,
		     d->n_steps > 1 ? cleaned(d, x, mu, ev[0].ok ? ev[0].sd : 1)
				    : x,
		     season, daily,
		     !firing_before && d->state != DETECT_STATE_FIRING);
	d->next_start = t + d->p.bucket_ms;
}

void detector_step(struct detector *d, int64_t start_ms, int64_t count,
		   struct detect_result *out)
{
	if (count < 0) {
		count = 0;
	}
	if (d->n_steps > 0 || d->next_start != INT64_MIN) {
		int64_t gap;

		if (start_ms < d->next_start) {
			/* Already judged (a replayed bucket): nothing moves. */
			*out = d->last;
			out->start_ms = start_ms;
			out->end_ms = start_ms + d->p.bucket_ms;
			out->count = count;
			out->action = DETECT_NONE;
			return;
		}
		gap = (start_ms - d->next_start) / d->p.bucket_ms;
		if (gap > (int64_t)RING_DAYS * (DAY_MS / d->p.bucket_ms)) {
			/* Longer than all the history: start over. */
			reset_learned(d);
		} else {
			for (int64_t k = 0; k < gap; k++) {
				step_one(d, d->next_start, 0, true, out);
			}
		}
	}
	if (d->begin_ms == INT64_MIN) {
		d->begin_ms = start_ms;
	}
	step_one(d, start_ms, count, false, out);
	d->last = *out;
}

bool detector_end_firing(struct detector *d)
{
	if (d->state != DETECT_STATE_FIRING) {
		return false;
	}
	d->state = DETECT_STATE_OK;
	d->cooldown_until = d->next_start + d->p.cooldown_ms;
	d->calm_run = 0;
	d->last.action = DETECT_RESOLVE;
	d->last.reason = DETECT_WHY_RESOLVED;
	d->last.state = DETECT_STATE_OK;
	d->last.fired_start_ms = d->fired_start;
	d->last.escalation = false;
	return true;
}

int64_t detector_record(const struct detector *d, int *days)
{
	int found = 0;
	double rec;

	*days = 0;
	if (d->p.novelty_ms <= 0) {
		return 0;
	}
	/* What a spike of the next bucket must beat, on a single bucket. */
	rec = novelty_record(d, SPAN_ONE, &found);
	if (found == 0) {
		return 0;
	}
	*days = found;
	return (int64_t)ceil(rec);
}

/* ---- the state image -------------------------------------------------- */

/*
 * Layout (native byte order, as the store is read by the same kind of
 * machine): "HKD2", version, bucket_ms, slots, recent, then the scalars in
 * CORE_FIELDS order, the per-span learners, the slot ring (float32), the
 * recent counts and usuals, the daily peaks and the last result.
 */
struct image {
	char *p;
	size_t len, off;
	bool bad;
};

static void put(struct buf *b, const void *v, size_t n)
{
	if (buf_append(b, v, n) < 0) {
		abort(); /* xalloc-style: out of memory */
	}
}

static void get(struct image *im, void *v, size_t n)
{
	if (im->bad || im->len - im->off < n) {
		im->bad = true;
		memset(v, 0, n);
		return;
	}
	memcpy(v, im->p + im->off, n);
	im->off += n;
}

static void put_result(struct buf *b, const struct detect_result *r)
{
	int64_t i64[] = {r->start_ms,   r->end_ms,         r->count,
			 r->span_count, r->fired_start_ms, r->record,
			 r->span,       r->record_days,    r->reason,
			 r->state,      r->action,         r->anomalous,
			 r->escalation};
	double f64[] = {r->baseline, r->ratio, r->score, r->threshold,
			r->span_baseline};

	put(b, i64, sizeof(i64));
	put(b, f64, sizeof(f64));
}

static void get_result(struct image *im, struct detect_result *r)
{
	int64_t i64[13];
	double f64[5];

	get(im, i64, sizeof(i64));
	get(im, f64, sizeof(f64));
	memset(r, 0, sizeof(*r));
	r->start_ms = i64[0];
	r->end_ms = i64[1];
	r->count = i64[2];
	r->span_count = i64[3];
	r->fired_start_ms = i64[4];
	r->record = i64[5];
	if (i64[6] < 0 || i64[6] > RECENT_MAX || i64[7] < 0 ||
	    i64[7] > PEAK_DAYS || i64[8] < 0 || i64[8] > DETECT_WHY_RESOLVED ||
	    i64[9] < 0 || i64[9] > DETECT_STATE_FIRING || i64[10] < 0 ||
	    i64[10] > DETECT_RESOLVE || (uint64_t)i64[11] > 1 ||
	    (uint64_t)i64[12] > 1) {
		im->bad = true;
		return;
	}
	r->span = (int)i64[6];
	r->record_days = (int)i64[7];
	r->reason = (enum detect_reason)i64[8];
	r->state = (enum detect_state)i64[9];
	r->action = (enum detect_action)i64[10];
	r->anomalous = i64[11] != 0;
	r->escalation = i64[12] != 0;
	r->baseline = f64[0];
	r->ratio = f64[1];
	r->score = f64[2];
	r->threshold = f64[3];
	r->span_baseline = f64[4];
	for (int i = 0; i < 5; i++) {
		if (!isfinite(f64[i])) {
			im->bad = true;
		}
	}
}

/* The learned arrays, in the image's order. */
struct part {
	void *p;
	size_t n;
};

#define MAX_PARTS 12

static int parts(const struct detector *d, struct part *out)
{
	struct part all[MAX_PARTS] = {
		{(void *)d->a_num, sizeof(d->a_num)},
		{(void *)d->a_den, sizeof(d->a_den)},
		{(void *)d->m_mean, sizeof(d->m_mean)},
		{(void *)d->wd_sum, sizeof(d->wd_sum)},
		{(void *)d->wd_n, sizeof(d->wd_n)},
		{(void *)d->peak_ex, sizeof(d->peak_ex)},
		{(void *)d->peak_ct, sizeof(d->peak_ct)},
		{d->slots, sizeof(d->slots[0]) * (size_t)d->ring},
		{d->rx, sizeof(d->rx[0]) * (size_t)d->recent},
		{d->rmu, sizeof(d->rmu[0]) * (size_t)d->recent},
		{d->days_ex, sizeof(d->days_ex[0]) * PEAK_DAYS},
		{d->days_ct, sizeof(d->days_ct[0]) * PEAK_DAYS},
	};

	memcpy(out, all, sizeof(all));
	return MAX_PARTS;
}

char *detector_encode(const struct detector *d, size_t *len_out)
{
	struct part part[MAX_PARTS];
	int n;
	struct buf b;
	uint32_t head[4] = {ENCODE_VERSION, (uint32_t)d->ring,
			    (uint32_t)d->recent, PEAK_DAYS};

	buf_init(&b, (size_t)1 << 24);
	put(&b, ENCODE_MAGIC, 4);
	put(&b, head, sizeof(head));
	put(&b, &d->p.bucket_ms, sizeof(d->p.bucket_ms));
#define PUT(t, n) put(&b, &d->n, sizeof(d->n));
	CORE_FIELDS(PUT)
#undef PUT
	n = parts(d, part);
	for (int i = 0; i < n; i++) {
		put(&b, part[i].p, part[i].n);
	}
	put_result(&b, &d->last);
	return buf_steal(&b, len_out);
}

static bool finite_or_nan(const double *v, size_t n, bool nan_ok)
{
	for (size_t i = 0; i < n; i++) {
		if (isinf(v[i]) || (!nan_ok && isnan(v[i]))) {
			return false;
		}
	}
	return true;
}

static bool floats_ok(const float *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (isinf(v[i]) || v[i] < 0 || v[i] > 1e30f) {
			return false;
		}
	}
	return true;
}

/* What a decoded state must hold for every later step to be sound. */
static bool sane(const struct detector *t)
{
	double scal[] = {t->slot_acc, t->lvl_num, t->lvl_den,  t->ew_num,
			 t->ew_w,     t->err_day, t->err_week, t->ep_peak,
			 t->ep_rel,   t->day_x,   t->day_s};

	if (!finite_or_nan(scal, sizeof(scal) / sizeof(scal[0]), false) ||
	    !finite_or_nan(t->a_num, MAX_SPANS, false) ||
	    !finite_or_nan(t->a_den, MAX_SPANS, false) ||
	    !finite_or_nan(t->m_mean, MAX_SPANS, false) ||
	    !finite_or_nan(t->wd_sum, 7, false) ||
	    !finite_or_nan(t->wd_n, 7, false) ||
	    !finite_or_nan(t->peak_ex, MAX_SPANS, true) ||
	    !finite_or_nan(t->peak_ct, MAX_SPANS, true) ||
	    !finite_or_nan(t->rx, (size_t)t->recent, false) ||
	    !finite_or_nan(t->rmu, (size_t)t->recent, false)) {
		return false;
	}
	for (int i = 0; i < t->recent; i++) {
		if (t->rx[i] < 0 || t->rmu[i] < 0 || t->rx[i] > 1e15 ||
		    t->rmu[i] > 1e15) {
			return false;
		}
	}
	if (t->slot_acc < 0 || t->lvl_num < 0 || t->lvl_den < 0 ||
	    t->ew_num < 0 || t->ew_w < 0 || t->err_day < 0 || t->err_week < 0 ||
	    t->slot_acc > 1e15 || t->lvl_num > 1e18 || t->lvl_den > 1e18 ||
	    t->ew_num > 1e18 || t->ew_w > 1e9 || t->err_day > 1e18 ||
	    t->err_week > 1e18 || t->ep_peak < 0 || t->ep_peak > 1e15 ||
	    t->ep_rel < 0 || t->ep_rel > 1e15) {
		return false;
	}
	for (int i = 0; i < 7; i++) {
		if (t->wd_sum[i] < 0 || t->wd_n[i] < 0 || t->wd_sum[i] > 1e9 ||
		    t->wd_n[i] > 100) {
			return false;
		}
	}
	if (t->day_x < 0 || t->day_s < 0 || t->day_x > 1e18 ||
	    t->day_s > 1e18) {
		return false;
	}
	for (int i = 0; i < MAX_SPANS; i++) {
		if (t->a_den[i] < 0 || fabs(t->a_num[i]) > 1e30 ||
		    t->a_den[i] > 1e30 || t->m_mean[i] < 0 ||
		    t->m_mean[i] > 1e15) {
			return false;
		}
	}
	if (!floats_ok(t->slots, (size_t)t->ring) ||
	    !floats_ok(&t->days_ct[0][0], PEAK_DAYS * MAX_SPANS)) {
		return false;
	}
	for (size_t i = 0; i < PEAK_DAYS * MAX_SPANS; i++) {
		float x = (&t->days_ex[0][0])[i];

		if (isinf(x) || fabsf(x) > 1e30f) {
			return false;
		}
	}
	/* Times: a step moves next_start by one bucket, so keep every time
	 * far from overflow; counters and enums in range. */
	if (t->n_steps < 0 || t->slot_n < 0 || t->slot_n > t->bps ||
	    t->state < DETECT_STATE_WARMING || t->state > DETECT_STATE_FIRING ||
	    t->ep_dir < -1 || t->ep_dir > 1 || t->calm_run < 0 ||
	    t->calm_run > (int64_t)1 << 40) {
		return false;
	}
	if (t->n_steps == 0) {
		return t->next_start == INT64_MIN || t->begin_ms != INT64_MIN;
	}
	if (llabs(t->next_start) > (int64_t)1 << 60 ||
	    llabs(t->begin_ms) > (int64_t)1 << 60 ||
	    llabs(t->fired_start) > (int64_t)1 << 60 ||
	    (t->cooldown_until != INT64_MIN &&
	     llabs(t->cooldown_until) > (int64_t)1 << 61) ||
	    t->slot_abs !=
		    floor_div(t->next_start - t->p.bucket_ms, t->slot_ms) ||
	    t->peak_day != floor_div(t->next_start - t->p.bucket_ms, DAY_MS) ||
	    (t->first_slot != INT64_MAX && t->first_slot > t->slot_abs)) {
		return false;
	}
	return true;
}

int detector_decode(struct detector *d, const char *buf, size_t len)
{
	struct part part[MAX_PARTS];
	int n;
	struct image im = {(char *)buf, len, 0, false};
	struct detector *t;
	char magic[4];
	uint32_t head[4];
	int64_t bucket;
	int rc = -1;

	get(&im, magic, 4);
	get(&im, head, sizeof(head));
	get(&im, &bucket, sizeof(bucket));
	if (im.bad || memcmp(magic, ENCODE_MAGIC, 4) != 0 ||
	    head[0] != ENCODE_VERSION || head[1] != (uint32_t)d->ring ||
	    head[2] != (uint32_t)d->recent || head[3] != PEAK_DAYS ||
	    bucket != d->p.bucket_ms) {
		return -1;
	}
	t = detector_new(&d->p);
#define GET(ty, n) get(&im, &t->n, sizeof(t->n));
	CORE_FIELDS(GET)
#undef GET
	n = parts(t, part);
	for (int i = 0; i < n; i++) {
		get(&im, part[i].p, part[i].n);
	}
	get_result(&im, &t->last);
	if (!im.bad && im.off == len && sane(t)) {
		/* Swap the learned parts in; d keeps its own parameters. */
		struct detector keep = *d;

		*d = *t;
		d->p = keep.p;
		*t = keep;
		rc = 0;
	}
	detector_free(t);
	return rc;
}
