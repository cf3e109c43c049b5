/* SPDX-License-Identifier: MIT */
/*
 * Retry plans (see backoff.h): the exponential step is capped before it can
 * overflow, and the jitter keeps at least half of it so that a burst of
 * failing deliveries spreads out without retrying immediately. Pure.
 */
#include "core/backoff.h"

int64_t backoff_delay_ms(unsigned attempt, int64_t base_ms, int64_t max_ms,
			 uint32_t rnd)
{
	int64_t d;
	int64_t half;

	if (base_ms < 1) {
		base_ms = 1;
	}
	if (max_ms < base_ms) {
		max_ms = base_ms;
	}
	if (attempt < 1) {
		attempt = 1;
	}
	d = base_ms;
	for (unsigned i = 1; i < attempt && d < max_ms; i++) {
		d = d > max_ms / 2 ? max_ms : d * 2;
	}
	if (d > max_ms) {
		d = max_ms;
	}
	half = d / 2;
	/* rnd / 2^32 of the upper half: [d - half, d] */
	/* 128-bit product: half can be close to 2^62. */
	return d - half +
	       (int64_t)(((unsigned __int128)(uint64_t)(half + 1) * rnd) >> 32);
}
