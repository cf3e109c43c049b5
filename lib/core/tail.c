/* SPDX-License-Identifier: MIT */
/*
 * Tail probabilities as normal scores, for the detector: the normal
 * quantile (exact, for thresholds; fast, for every step) and the mid-p tail
 * of a count under a negative binomial (Poisson when the variance is the
 * mean). Pure arithmetic.
 */
#include "tail.h"

#include <math.h>
#include <stdbool.h>

/* The z with P(Z > z) = p, by bisection on erfc (only at creation). */
double tail_normal_quantile(double p)
{
	double lo = 0, hi = 40;

	if (p >= 0.5) {
		return 0;
	}
	/* 40 halved 64 times is below a double's step at these z. */
	for (int i = 0; i < 64; i++) {
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
double tail_normal_score(double p)
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
 * walked from 0: under a few dozen mentions the square-root scale
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

/* x's score from its exact mid-p tail, signed (37.5 past a double's tail). */
double tail_nb_score(double x, double m, double v)
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
	return tail_normal_score(nb_midp(&w));
}
