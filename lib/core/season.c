/* SPDX-License-Identifier: MIT */
/*
 * The detector's usual level: slot profiles of the past days and weeks,
 * weekday factors, the level factor and the first day's EWMA (see the table
 * in README's "How detection works" for why each is as it is).
 */
#include <math.h>
#include <stdlib.h>

#include "detect_impl.h"

static double slot_at(const struct detector *d, int64_t a)
{
	if (a < d->first_slot || a >= d->slot_abs ||
	    a < d->slot_abs - d->ring) {
		return NAN;
	}
	return d->slots[(size_t)(a % d->ring + d->ring) % (size_t)d->ring];
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

double season_expect(const struct detector *d, int64_t t, double *season,
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

	*daily = isnan(sd) ? sd : fmin(sd, MU_MAX);
	if (nw >= WEEK_MIN && weekly_ok(d)) {
		s = sw;
		n = nw;
	} else if (nd > 0) {
		s = sd * weekday_factor(d, floor_div(t, DAY_MS));
		n = nd;
	} else {
		*season = NAN;
		*n_eff = d->ew_w;
		return d->ew_w > 0 ? fmin(d->ew_num / d->ew_w, MU_MAX) : 0;
	}
	s = fmin(s, MU_MAX);
	*season = s;
	/* A trimmed mean of n days is about as good as the mean of 2n/pi;
	 * each day saw the slot's bps buckets. */
	*n_eff = TWO_OVER_PI * n * d->bps;
	if (*n_eff < 1) {
		*n_eff = 1;
	}
	return fmin(s * level_factor(d), MU_MAX);
}

void season_learn(struct detector *d, int64_t t, double x, double season,
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

void season_close_day(struct detector *d)
{
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
}
