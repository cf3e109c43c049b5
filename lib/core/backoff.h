/* SPDX-License-Identifier: MIT */
/* Retry plans: exponential backoff with full jitter. Pure. */
#ifndef HARK_CORE_BACKOFF_H
#define HARK_CORE_BACKOFF_H

#include <stdint.h>

/*
 * Delay before retry number attempt (1, 2, …): min(max, base * 2^(attempt-1))
 * scaled into [50%, 100%] by rnd (any 32-bit value).
 */
int64_t backoff_delay_ms(unsigned attempt, int64_t base_ms, int64_t max_ms,
			 uint32_t rnd);

#endif
