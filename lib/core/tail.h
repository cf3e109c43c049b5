/* SPDX-License-Identifier: MIT */
/*
 * Tail probabilities as normal scores: what the detector's thresholds and
 * scores are written in ("probability units").
 */
#ifndef HARK_CORE_TAIL_H
#define HARK_CORE_TAIL_H

/* The z with P(Z > z) = p, to double precision (bisection; slow). */
double tail_normal_quantile(double p);
/* The same, by a rational approximation (relative error 1.15e-9). */
double tail_normal_score(double p);
/*
 * The count x against a negative binomial of mean m and variance v >= m
 * (Poisson when v = m), as the normal score of its mid-p upper tail
 * P(X > x) + P(X = x) / 2: > 0 above the mean. Walks x terms: for small m.
 */
double tail_nb_score(double x, double m, double v);

#endif
