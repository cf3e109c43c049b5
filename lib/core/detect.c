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
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect_impl.h"
#include "tail.h"

static const int64_t span_len_ms[MAX_SPANS] = {0, 0, 15 * MINUTE_MS, HOUR_MS,
					       4 * HOUR_MS};

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
		d->thr[i] = p->threshold > 0 ? p->threshold
					     : tail_normal_quantile(pr);
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
	d->partial_start = INT64_MIN;
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

void detector_set_band(struct detector *d, bool on)
{
	d->band = on;
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

void detector_begin(struct detector *d, int64_t start_ms, int64_t from_ms)
{
	if (d->next_start == INT64_MIN) {
		d->begin_ms = start_ms;
		d->next_start = start_ms;
		d->partial_start = from_ms > start_ms ? start_ms : INT64_MIN;
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

double detector_baseline(const struct detector *d)
{
	double s, daily, n;

	if (d->n_steps == 0) {
		return 0;
	}
	return season_expect(d, d->next_start, &s, &daily, &n);
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
	return a < 0 ? 0 : a > ALPHA_MAX ? ALPHA_MAX : a;
}

/* The median of the last n counts. */
/* The k-th smallest of v[0..n) (Hoare's selection: linear on average, as
 * a median is taken every step over up to RECENT_MAX counts). */
static double select_kth(double *v, int n, int k)
{
	int lo = 0, hi = n - 1;

	while (lo < hi) {
		double pivot = v[lo + (hi - lo) / 2];
		int i = lo, j = hi;

		while (i <= j) {
			while (v[i] < pivot) {
				i++;
			}
			while (v[j] > pivot) {
				j--;
			}
			if (i <= j) {
				double t = v[i];

				v[i++] = v[j];
				v[j--] = t;
			}
		}
		if (k <= j) {
			hi = j;
		} else if (k >= i) {
			lo = i;
		} else {
			break;
		}
	}
	return v[k];
}

static double median_recent(const struct detector *d, int64_t pos, int n)
{
	double v[RECENT_MAX], hi;

	if (n < 1 || n > RECENT_MAX) {
		return 0;
	}
	for (int k = 1; k <= n; k++) {
		v[k - 1] = d->rx[(size_t)((pos - k) % d->recent)];
	}
	hi = select_kth(v, n, n / 2);
	if (n % 2) {
		return hi;
	}
	/* The lower middle: the largest of what selection left below. */
	{
		double lo = v[0];

		for (int k = 1; k < n / 2; k++) {
			lo = fmax(lo, v[k]);
		}
		return 0.5 * (lo + hi);
	}
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
		return tail_nb_score(x, mu, mu * f);
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

/* The last ndays daily values of span i that are known, sorted into v;
 * returns how many. */
static int daily_values(const struct detector *d, float (*days)[MAX_SPANS],
			int i, int ndays, double *v)
{
	int n = 0;

	for (int back = 1; back <= ndays && d->peak_day != INT64_MIN; back++) {
		int64_t day = d->peak_day - back;
		float x = days[(size_t)(day % PEAK_DAYS + PEAK_DAYS) %
			       PEAK_DAYS][i];

		if (!isnan(x)) {
			v[n++] = x;
		}
	}
	qsort(v, (size_t)n, sizeof(v[0]), cmp_dbl);
	return n;
}

/* The k-th highest of the last `days` daily values of span i, or NAN. */
static double daily_rank(const struct detector *d, float (*days)[MAX_SPANS],
			 int i, int ndays, int k, int *found)
{
	double v[PEAK_DAYS];
	int n = daily_values(d, days, i, ndays, v);

	*found = n;
	return n == 0 ? NAN : v[n - (k < n ? k : n)];
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
 * by its quartiles to the days of the last BURST_DAYS with an excess, so
 * that one or two real stories among them move it little. Fewer than
 * three days: the lowest daily peak known. *found: days used.
 */
static double burst_level(const struct detector *d, int i, int *found)
{
	double v[PEAK_DAYS], w[PEAK_DAYS];
	int n = daily_values(d, d->days_ex, i, BURST_DAYS, v), k, pos;
	double q1, q2, q3, beta, loc, p;

	*found = n;
	if (n == 0) {
		return NAN;
	}
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
	season_close_day(d);
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

/* Where the bucket being judged is in the recent ring. */
static size_t last_pos(const struct detector *d)
{
	return (size_t)((d->n_steps - 1) % d->recent);
}

static enum detect_reason check_up(const struct detector *d,
				   const struct span_eval *e, int i,
				   int64_t *record, int *record_days)
{
	double ex = e->ex_up;
	int found;
	double burst;

	/* An alert is about the bucket it is sent for: that bucket itself
	 * must be above its usual (a span's median can still be high one
	 * bucket after a story stopped). */
	if (e->stat < (double)d->p.min_count ||
	    e->stat - e->mu < (double)d->p.min_excess ||
	    e->r_up < d->p.min_ratio ||
	    d->rx[last_pos(d)] <= d->rmu[last_pos(d)]) {
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
	    e->r_dn * d->p.min_ratio > 1 ||
	    d->rx[last_pos(d)] >= d->rmu[last_pos(d)]) {
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

/*
 * The least count whose one-bucket score reaches z (up), or the greatest
 * whose score is at most z (down; -1 when none): the score grows with the
 * count, so a bisection over whole counts finds it.
 */
static double band_edge(double mu, double alpha, double unc, double z, bool up)
{
	double lo = 0, hi = ceil(fmax(8, 2 * mu)); /* whole counts */

	if (up) {
		while (score(hi, mu, 1, alpha, unc) < z && hi < COUNT_MAX) {
			hi *= 2;
		}
		/* lo is below the edge, hi at or past it */
		while (hi - lo > 1) {
			double m = floor((lo + hi) / 2);

			if (score(m, mu, 1, alpha, unc) >= z) {
				hi = m;
			} else {
				lo = m;
			}
		}
		return hi;
	}
	if (score(0, mu, 1, alpha, unc) > z) {
		return -1; /* even no mention at all is within the band */
	}
	hi = ceil(mu);
	/* lo at or under the edge, hi past it */
	while (hi - lo > 1) {
		double m = floor((lo + hi) / 2);

		if (score(m, mu, 1, alpha, unc) <= z) {
			lo = m;
		} else {
			hi = m;
		}
	}
	return lo;
}

/* The band of the bucket just pushed (see detect_result's low, high). */
static void fill_band(const struct detector *d, double mu, double n_eff,
		      const struct span_eval *ev, struct detect_result *out)
{
	double a1 = alpha_of(d, SPAN_ONE);
	double unc = n_eff > 0 ? 1 / n_eff : 1;
	double z = d->thr[SPAN_ONE];

	out->low = out->high = NAN;
	if (!ev[SPAN_ONE].ok || !(z > 0)) {
		return;
	}
	/* The edges are the counts just inside: the last still usual. */
	out->high = band_edge(mu, a1, unc, z, true) - 1;
	out->low = band_edge(mu, a1, unc, -z, false) + 1;
	if (out->low > mu) {
		out->low = floor(mu);
	}
	if (out->high < mu) {
		out->high = ceil(mu);
	}
}

/* One bucket: test it (unless learn_only) and learn from it. */
static void step_one(struct detector *d, int64_t t, int64_t count,
		     bool learn_only, struct detect_result *out)
{
	double season, daily, n_eff;
	double mu = season_expect(d, t, &season, &daily, &n_eff);
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
	out->low = out->high = NAN;
	if (d->band && !learn_only) {
		fill_band(d, mu, n_eff, ev, out);
	}
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
	season_learn(d, t,
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
	} else if (count > (int64_t)COUNT_MAX) {
		count = (int64_t)COUNT_MAX;
	}
	if (d->n_steps == 0 && start_ms < d->next_start) {
		/* A first bucket before the begin given: counting began
		 * there. */
		d->begin_ms = d->next_start = start_ms;
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
	if (d->n_steps == 0 && start_ms == d->partial_start) {
		memset(out, 0, sizeof(*out));
		out->start_ms = start_ms;
		out->end_ms = start_ms + d->p.bucket_ms;
		out->count = count;
		out->state = DETECT_STATE_WARMING;
		out->reason = DETECT_WHY_WARMING;
		out->low = out->high = NAN;
		d->next_start = out->end_ms;
		d->partial_start = INT64_MIN;
		d->last = *out;
		return;
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
