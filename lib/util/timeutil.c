/* SPDX-License-Identifier: MIT */
/* Timestamp, duration and size parsing; see timeutil.h. */
#include "util/timeutil.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

int64_t timeutil_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i])) {
			return false;
		}
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

int timeutil_parse_rfc3339(const char *s, size_t len, int64_t *ms_out)
{
	int y, mo, d, h, mi, sec, frac_ms = 0;
	size_t i = 19;
	int64_t offset_s = 0;
	static const int mdays[] = {31, 29, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};

	if (len < 19 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
	    s[16] != ':') {
		return -1;
	}
	if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) ||
	    !digits(s + 8, 2, &d) || !digits(s + 11, 2, &h) ||
	    !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec)) {
		return -1;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || sec > 60) {
		return -1;
	}
	/* mdays allows Feb 29 in every year; only leap years have it */
	if (mo == 2 && d == 29 &&
	    !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) {
		return -1;
	}
	if (i < len && s[i] == '.') {
		int scale = 100;
		size_t n = 0;

		i++;
		while (i < len && isdigit((unsigned char)s[i])) {
			if (n < 3) {
				frac_ms += (s[i] - '0') * scale;
				scale /= 10;
			}
			n++;
			i++;
		}
		if (n == 0) {
			return -1;
		}
	}
	if (i < len) {
		if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
			i++;
		} else if ((s[i] == '+' || s[i] == '-') && len - i == 6 &&
			   s[i + 3] == ':') {
			int oh, om;

			if (!digits(s + i + 1, 2, &oh) ||
			    !digits(s + i + 4, 2, &om) || oh > 23 || om > 59) {
				return -1;
			}
			offset_s = (int64_t)oh * 3600 + om * 60;
			if (s[i] == '+') {
				offset_s = -offset_s;
			}
			i = len;
		} else {
			return -1;
		}
	}
	if (sec == 60) {
		sec = 59;
	}
	*ms_out = ((timeutil_days_from_civil(y, (unsigned)mo, (unsigned)d) *
			    86400 +
		    (int64_t)h * 3600 + mi * 60 + sec + offset_s) *
		   1000) +
		  frac_ms;
	return 0;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)((int64_t)yoe + era * 400 + (*m <= 2));
}

void timeutil_format_rfc3339(int64_t s, char out[32])
{
	int64_t days = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
	int64_t rem = s - days * 86400;
	int y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	snprintf(out, 32, "%04d-%02u-%02uT%02d:%02d:%02dZ", y, m, d,
		 (int)(rem / 3600), (int)(rem % 3600 / 60), (int)(rem % 60));
}

void timeutil_format_rfc3339_ms(int64_t ms, char out[32])
{
	int64_t s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	int frac = (int)(ms - s * 1000);

	timeutil_format_rfc3339(s, out);
	if (frac != 0) {
		snprintf(out + 19, 13, ".%03dZ", frac);
	}
}

int timeutil_parse_duration(const char *s, int64_t *ms_out, const char **err)
{
	int64_t total = 0;
	bool any = false;

	*err = NULL;
	if (s == NULL || *s == '\0') {
		*err = "empty duration";
		return -1;
	}
	while (*s != '\0') {
		int64_t n = 0, unit;

		if (!isdigit((unsigned char)*s) && any) {
			/* "5min": the unit read was a prefix of a longer one */
			*err = "unknown duration unit (expected ms, s, m, h, "
			       "d or w)";
			return -1;
		}
		if (!isdigit((unsigned char)*s)) {
			*err = "expected a number followed by a unit "
			       "(ms, s, m, h, d, w), e.g. 30s, 5m, 1h";
			return -1;
		}
		while (isdigit((unsigned char)*s)) {
			if (n > (INT64_MAX / 10 - 9)) {
				*err = "duration too large";
				return -1;
			}
			n = n * 10 + (*s - '0');
			s++;
		}
		if (strncmp(s, "ms", 2) == 0) {
			unit = 1;
			s += 2;
		} else if (*s == 's') {
			unit = 1000;
			s++;
		} else if (*s == 'm') {
			unit = 60000;
			s++;
		} else if (*s == 'h') {
			unit = 3600000;
			s++;
		} else if (*s == 'd') {
			unit = 86400000;
			s++;
		} else if (*s == 'w') {
			unit = 7 * 86400000LL;
			s++;
		} else if (*s == '\0') {
			*err = "a duration needs a unit (ms, s, m, h, d, w), "
			       "e.g. 30s, 5m, 1h";
			return -1;
		} else {
			*err = "unknown duration unit (expected ms, s, m, h, "
			       "d or w)";
			return -1;
		}
		if (n > INT64_MAX / unit / 2 || total > INT64_MAX / 2) {
			*err = "duration too large";
			return -1;
		}
		total += n * unit;
		any = true;
	}
	if (!any) {
		*err = "empty duration";
		return -1;
	}
	*ms_out = total;
	return 0;
}

void timeutil_format_duration(int64_t ms, char out[32])
{
	static const struct {
		int64_t ms;
		const char *unit;
	} units[] = {
		{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ms != 0 && ms % units[i].ms == 0) {
			snprintf(out, 32, "%lld%s",
				 (long long)(ms / units[i].ms), units[i].unit);
			return;
		}
	}
	snprintf(out, 32, "%lldms", (long long)ms);
}

int timeutil_parse_size(const char *s, uint64_t *bytes_out, const char **err)
{
	static const struct {
		const char *unit;
		uint64_t mult;
	} units[] = {{"B", 1},           {"KB", 1000},     {"KiB", 1024},
		     {"MB", 1000000},    {"MiB", 1048576}, {"GB", 1000000000},
		     {"GiB", 1073741824}};
	uint64_t n = 0;

	*err = NULL;
	if (s == NULL || !isdigit((unsigned char)*s)) {
		*err = "expected a size such as 64KiB or 1MiB";
		return -1;
	}
	while (isdigit((unsigned char)*s)) {
		if (n > UINT64_MAX / 10 - 9) {
			*err = "size too large";
			return -1;
		}
		n = n * 10 + (uint64_t)(*s - '0');
		s++;
	}
	if (*s == '\0') {
		*err = "a size needs a unit (B, KB, KiB, MB, MiB, GB, GiB)";
		return -1;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s, units[i].unit) == 0) {
			if (n > UINT64_MAX / units[i].mult) {
				*err = "size too large";
				return -1;
			}
			*bytes_out = n * units[i].mult;
			return 0;
		}
	}
	*err = "unknown size unit (expected B, KB, KiB, MB, MiB, GB or GiB)";
	return -1;
}

int64_t timeutil_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t timeutil_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void timeutil_tv(int64_t ms, struct timeval *out)
{
	if (ms < 0) {
		ms = 0;
	}
	out->tv_sec = (time_t)(ms / 1000);
	out->tv_usec = (suseconds_t)((ms % 1000) * 1000);
}
