/* SPDX-License-Identifier: MIT */
/*
 * util/timeutil: RFC 3339 timestamps both ways, durations and sizes, each
 * as a table of text and expected value or failure.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "util/timeutil.h"

#include "check.h"

/* 2026-11-21T14:00:00Z */
#define T0_MS 1795269600000LL

static void test_rfc3339_parse(void)
{
	static const struct {
		const char *text;
		int rc;
		int64_t ms;
	} cases[] = {
		{"2026-11-21T14:00:00Z", 0, T0_MS},
		{"2026-11-21t14:00:00z", 0, T0_MS},
		{"2026-11-21T14:00:00.123Z", 0, T0_MS + 123},
		{"2026-11-21T14:00:00.5Z", 0, T0_MS + 500},
		{"2026-11-21T14:00:00.123456789Z", 0, T0_MS + 123},
		{"2026-11-21T15:00:00+01:00", 0, T0_MS},
		{"2026-11-21T15:30:00.250+01:30", 0, T0_MS + 250},
		{"2026-11-21T09:00:00-05:00", 0, T0_MS},
		{"2026-11-21T14:00:00+00:00", 0, T0_MS},
		{"2026-11-21T14:00:00-00:00", 0, T0_MS},
		/* the Twitter archive shape: space, no zone, read as UTC */
		{"2026-11-21 14:00:00", 0, T0_MS},
		{"2015-02-26 21:42:53", 0, 1424986973000LL},
		{"1970-01-01T00:00:00Z", 0, 0},
		{"1969-12-31T23:59:59Z", 0, -1000},
		{"2000-02-29T00:00:00Z", 0, 951782400000LL},
		{"2024-02-29T12:00:00Z", 0, 1709208000000LL},
		/* a leap second is folded into the one before */
		{"2016-12-31T23:59:60Z", 0, 1483228799000LL},
		{"2023-02-29T00:00:00Z", -1, 0},
		{"1900-02-29T00:00:00Z", -1, 0},
		{"2026-02-30T00:00:00Z", -1, 0},
		{"2026-04-31T00:00:00Z", -1, 0},
		{"2026-13-01T00:00:00Z", -1, 0},
		{"2026-00-01T00:00:00Z", -1, 0},
		{"2026-11-00T00:00:00Z", -1, 0},
		{"2026-11-21T24:00:00Z", -1, 0},
		{"2026-11-21T14:60:00Z", -1, 0},
		{"2026-11-21T14:00:61Z", -1, 0},
		{"2026-11-21", -1, 0},
		{"2026-11-21T14:00Z", -1, 0},
		{"2026-11-21X14:00:00Z", -1, 0},
		{"2026/11/21T14:00:00Z", -1, 0},
		{"2026-11-21T14:00:00.Z", -1, 0},
		{"2026-11-21T14:00:00ZZ", -1, 0},
		{"2026-11-21T14:00:00+0100", -1, 0},
		{"2026-11-21T14:00:00+24:00", -1, 0},
		{"2026-11-21T14:00:00 junk", -1, 0},
		{"2026-1a-21T14:00:00Z", -1, 0},
		{"", -1, 0},
		{"Sat Nov 21 14:00:00 +0000 2026", -1, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t ms = 0;
		int rc = timeutil_parse_rfc3339(cases[i].text,
						strlen(cases[i].text), &ms);

		if (rc != cases[i].rc) {
			fprintf(stderr, "case %zu: %s\n", i, cases[i].text);
		}
		CHECK_INT(rc, cases[i].rc);
		if (rc == 0) {
			CHECK_INT(ms, cases[i].ms);
		}
	}
}

static void test_rfc3339_len(void)
{
	/* only len bytes count: a JSON string is not NUL-terminated */
	const char *s = "2026-11-21T14:00:00Z\",\"id\":1";
	int64_t ms = 0;

	CHECK_INT(timeutil_parse_rfc3339(s, 20, &ms), 0);
	CHECK_INT(ms, T0_MS);
	CHECK_INT(timeutil_parse_rfc3339(s, 21, &ms), -1);
	CHECK_INT(timeutil_parse_rfc3339(s, 18, &ms), -1);
}

static void test_rfc3339_format(void)
{
	static const struct {
		int64_t ms;
		const char *s;
		const char *ms_text;
	} cases[] = {
		{T0_MS, "2026-11-21T14:00:00Z", "2026-11-21T14:00:00Z"},
		{T0_MS + 250, "2026-11-21T14:00:00Z",
		 "2026-11-21T14:00:00.250Z"},
		{T0_MS + 5007, "2026-11-21T14:00:05Z",
		 "2026-11-21T14:00:05.007Z"},
		{0, "1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"},
		{-1000, "1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z"},
		{-1, "1969-12-31T23:59:59Z", "1969-12-31T23:59:59.999Z"},
		{951782400000LL, "2000-02-29T00:00:00Z",
		 "2000-02-29T00:00:00Z"},
		{253402300799000LL, "9999-12-31T23:59:59Z",
		 "9999-12-31T23:59:59Z"},
	};
	char out[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t back = 0;
		int64_t s = cases[i].ms >= 0 ? cases[i].ms / 1000
					     : -((-cases[i].ms + 999) / 1000);

		timeutil_format_rfc3339(s, out);
		CHECK_STR(out, cases[i].s);
		timeutil_format_rfc3339_ms(cases[i].ms, out);
		CHECK_STR(out, cases[i].ms_text);
		CHECK_INT(timeutil_parse_rfc3339(out, strlen(out), &back), 0);
		CHECK_INT(back, cases[i].ms);
	}
}

static void test_days_from_civil(void)
{
	CHECK_INT(timeutil_days_from_civil(1970, 1, 1), 0);
	CHECK_INT(timeutil_days_from_civil(1969, 12, 31), -1);
	CHECK_INT(timeutil_days_from_civil(2000, 3, 1), 11017);
	CHECK_INT(timeutil_days_from_civil(2026, 11, 21), T0_MS / 86400000);
}

static void test_duration(void)
{
	static const struct {
		const char *text;
		int rc;
		int64_t ms;
		const char *err; /* substring of the reason */
	} cases[] = {
		{"90s", 0, 90000, NULL},
		{"5m", 0, 300000, NULL},
		{"1h30m", 0, 5400000, NULL},
		{"1h", 0, 3600000, NULL},
		{"1d", 0, 86400000, NULL},
		{"8d", 0, 691200000, NULL},
		{"2w", 0, 1209600000, NULL},
		{"250ms", 0, 250, NULL},
		{"1m500ms", 0, 60500, NULL},
		{"0s", 0, 0, NULL},
		{"5", -1, 0, "needs a unit"},
		{"1h30", -1, 0, "needs a unit"},
		{"five minutes", -1, 0, "expected a number"},
		{"5 m", -1, 0, "unknown duration unit"},
		{"5min", -1, 0, "unknown duration unit"},
		{"5y", -1, 0, "unknown duration unit"},
		{"-5m", -1, 0, "expected a number"},
		{"1.5h", -1, 0, "unknown duration unit"},
		{"", -1, 0, "empty"},
		{"99999999999999999999d", -1, 0, "too large"},
		{"9999999999999w", -1, 0, "too large"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t ms = -7;
		const char *err = NULL;
		int rc = timeutil_parse_duration(cases[i].text, &ms, &err);

		if (rc != cases[i].rc) {
			fprintf(stderr, "case %zu: %s\n", i, cases[i].text);
		}
		CHECK_INT(rc, cases[i].rc);
		if (cases[i].rc == 0) {
			CHECK_INT(ms, cases[i].ms);
			CHECK(err == NULL);
		} else {
			CHECK(err != NULL && strstr(err, cases[i].err) != NULL);
			CHECK_INT(ms, -7);
		}
	}
}

static void test_format_duration(void)
{
	static const struct {
		int64_t ms;
		const char *s;
	} cases[] = {
		{300000, "5m"},   {90000, "90s"},  {86400000, "1d"},
		{5400000, "90m"}, {3600000, "1h"}, {250, "250ms"},
		{1500, "1500ms"}, {0, "0ms"},
	};
	char out[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t back = -1;
		const char *err;

		timeutil_format_duration(cases[i].ms, out);
		CHECK_STR(out, cases[i].s);
		CHECK_INT(timeutil_parse_duration(out, &back, &err), 0);
		CHECK_INT(back, cases[i].ms);
	}
}

static void test_size(void)
{
	static const struct {
		const char *text;
		int rc;
		uint64_t bytes;
		const char *err;
	} cases[] = {
		{"64KiB", 0, 65536, NULL},
		{"1MiB", 0, 1048576, NULL},
		{"10MiB", 0, 10485760, NULL},
		{"2GiB", 0, 2147483648ULL, NULL},
		{"1KB", 0, 1000, NULL},
		{"3MB", 0, 3000000, NULL},
		{"1GB", 0, 1000000000, NULL},
		{"512B", 0, 512, NULL},
		{"0B", 0, 0, NULL},
		{"64", -1, 0, "needs a unit"},
		{"64kib", -1, 0, "unknown size unit"},
		{"64 KiB", -1, 0, "unknown size unit"},
		{"1.5MiB", -1, 0, "unknown size unit"},
		{"KiB", -1, 0, "expected a size"},
		{"", -1, 0, "expected a size"},
		{"-1B", -1, 0, "expected a size"},
		{"99999999999999999999B", -1, 0, "too large"},
		{"17179869184GiB", -1, 0, "too large"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t b = 7;
		const char *err = NULL;
		int rc = timeutil_parse_size(cases[i].text, &b, &err);

		if (rc != cases[i].rc) {
			fprintf(stderr, "case %zu: %s\n", i, cases[i].text);
		}
		CHECK_INT(rc, cases[i].rc);
		if (cases[i].rc == 0) {
			CHECK(b == cases[i].bytes);
		} else {
			CHECK(err != NULL && strstr(err, cases[i].err) != NULL);
			CHECK(b == 7);
		}
	}
}

static void test_clocks(void)
{
	int64_t a = timeutil_mono_ms();
	int64_t b = timeutil_mono_ms();

	CHECK(b >= a);
	/* after 2020-01-01: catches a seconds/milliseconds mix-up */
	CHECK(timeutil_now_ms() > 1577836800000LL);
}

int main(void)
{
	test_rfc3339_parse();
	test_rfc3339_len();
	test_rfc3339_format();
	test_days_from_civil();
	test_duration();
	test_format_duration();
	test_size();
	test_clocks();
	return check_done();
}
