/* SPDX-License-Identifier: MIT */
/*
 * Time and quantity text: RFC 3339 timestamps, durations ("30s", "5m",
 * "1h30m") and sizes ("64KiB"). Pure: the one clock read is
 * timeutil_now_ms(), which only the I/O shell calls.
 */
#ifndef HARK_UTIL_TIMEUTIL_H
#define HARK_UTIL_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "util/xalloc.h"

/*
 * Parses "2026-11-21T14:00:00Z", "…T14:00:00.123+01:00", also with a space
 * instead of 'T' and, when there is no zone, as UTC ("2015-02-26 21:42:53").
 * Stores milliseconds since the epoch. Returns -1 on anything else.
 */
int timeutil_parse_rfc3339(const char *s, size_t len,
			   int64_t *ms_out) HARK_MUST_CHECK;
/* Writes "YYYY-MM-DDTHH:MM:SSZ" (21 bytes with the NUL) for seconds. */
void timeutil_format_rfc3339(int64_t s, char out[32]);
/* Same with milliseconds when they are not zero ("…:05.250Z"). */
void timeutil_format_rfc3339_ms(int64_t ms, char out[32]);
/*
 * Parses a duration with units ms, s, m, h, d, w ("90s", "1h30m"). A
 * number without a unit is an error. Returns -1 and leaves *err pointing
 * at a static reason on failure.
 */
int timeutil_parse_duration(const char *s, int64_t *ms_out,
			    const char **err) HARK_MUST_CHECK;
/* Formats a duration in its largest exact unit ("5m", "90s", "1d"). */
void timeutil_format_duration(int64_t ms, char out[32]);
/* Parses a size: B, KB, KiB, MB, MiB, GB, GiB ("64KiB", "1MiB"). */
int timeutil_parse_size(const char *s, uint64_t *bytes_out,
			const char **err) HARK_MUST_CHECK;
/* Days from the civil date (proleptic Gregorian), as in H. Hinnant's. */
int64_t timeutil_days_from_civil(int64_t y, unsigned m, unsigned d);
struct timeval;
/* A relative delay for libevent timers; negative delays become 0. */
void timeutil_tv(int64_t ms, struct timeval *out);
/* Wall clock, milliseconds since the epoch. */
int64_t timeutil_now_ms(void);
/* Monotonic clock, milliseconds. */
int64_t timeutil_mono_ms(void);

#endif
