/* SPDX-License-Identifier: MIT */
/* Chart points: the line format round trip, malformed lines skipped, the
 * range, and the last line of a bucket winning. */
#include "core/points.h"

#include <math.h>
#include <stdlib.h>

#include "check.h"

static void test_roundtrip(void)
{
	struct buf b;
	struct point *v = NULL;
	size_t n = 0, cap = 0;

	buf_init(&b, 1 << 20);
	CHECK_INT(points_format(&b, &(struct point){1700000100000LL, 7, 3.25,
						    DETECT_STATE_OK, 1, 8}),
		  0);
	CHECK_INT(points_format(&b, &(struct point){1700000400000LL, 0, NAN,
						    DETECT_STATE_WARMING, NAN,
						    NAN}),
		  0);
	CHECK_INT(points_format(&b,
				&(struct point){1700000700000LL, 90, 4.5,
						DETECT_STATE_FIRING, NAN, NAN}),
		  0);
	CHECK_STR(b.data, "1700000100 7 3.250 ok 1 8\n1700000400 0 - warming\n"
			  "1700000700 90 4.500 firing\n");
	points_parse(b.data, b.len, 0, INT64_MAX, &v, &n, &cap);
	CHECK_INT(n, 3);
	CHECK_INT(v[0].start_ms, 1700000100000LL);
	CHECK_INT(v[0].count, 7);
	CHECK(fabs(v[0].baseline - 3.25) < 1e-9);
	CHECK_INT(v[0].state, DETECT_STATE_OK);
	CHECK(v[0].low == 1 && v[0].high == 8);
	CHECK(isnan(v[1].baseline));
	CHECK(isnan(v[1].low) && isnan(v[1].high));
	CHECK_INT(v[1].state, DETECT_STATE_WARMING);
	CHECK_INT(v[2].state, DETECT_STATE_FIRING);
	/* the range: [from, to) */
	n = 0;
	points_parse(b.data, b.len, 1700000400000LL, 1700000700000LL, &v, &n,
		     &cap);
	CHECK_INT(n, 1);
	CHECK_INT(v[0].start_ms, 1700000400000LL);
	free(v);
	buf_fini(&b);
}

static void test_bad_lines_and_repeats(void)
{
	static const char text[] = "10 1 1.000 ok\n"
				   "garbage\n"
				   "20 -3 1.000 ok\n"
				   "30 2 x ok\n"
				   "40 2 2.000 sleeping\n"
				   "50 2 2.000 ok trailing\n"
				   "51 2 2.000 ok 3\n"
				   "52 2 2.000 ok 3 1\n"
				   "53 2 2.000 ok 1 3 4\n"
				   "\n"
				   "20 5 2.000 firing\n"
				   "10 4 1.500 ok\n"
				   "60 6 - warming";
	struct point *v = NULL;
	size_t n = 0, cap = 0;

	points_parse(text, sizeof(text) - 1, INT64_MIN, INT64_MAX, &v, &n,
		     &cap);
	CHECK_INT(n, 4);
	points_settle(v, &n);
	CHECK_INT(n, 3);
	CHECK_INT(v[0].start_ms, 10000);
	CHECK_INT(v[0].count, 4); /* judged again: the later line */
	CHECK_INT(v[1].start_ms, 20000);
	CHECK_INT(v[1].count, 5);
	CHECK_INT(v[2].start_ms, 60000);
	free(v);
	CHECK_INT(points_day(0), 0);
	CHECK_INT(points_day(86399999), 0);
	CHECK_INT(points_day(86400000), 1);
	CHECK_INT(points_day(-1), -1);
}

/* Steps sum their buckets; an unknown level makes the step's unknown. */
static void test_step(void)
{
	struct point v[] = {
		{0, 1, 1.0, DETECT_STATE_OK, 0, 3},
		{300000, 2, 1.5, DETECT_STATE_FIRING, 0, 4},
		{600000, 4, NAN, DETECT_STATE_WARMING, NAN, NAN},
		{3600000, 5, 2.0, DETECT_STATE_OK, 1, 6},
		{3900000, 6, 2.0, DETECT_STATE_WARMING, 1, 6},
	};
	size_t n = 5;

	points_step(v, &n, 3600000);
	CHECK_INT(n, 2);
	CHECK_INT(v[0].start_ms, 0);
	CHECK_INT(v[0].count, 7);
	CHECK(isnan(v[0].baseline) && isnan(v[0].high));
	CHECK_INT(v[0].state, DETECT_STATE_FIRING);
	CHECK_INT(v[1].start_ms, 3600000);
	CHECK_INT(v[1].count, 11);
	CHECK(v[1].baseline == 4.0 && v[1].low == 2 && v[1].high == 12);
	CHECK_INT(v[1].state, DETECT_STATE_WARMING);
	n = 5;
	points_step(v, &n, 0); /* no step: as is */
	CHECK_INT(n, 5);
}

/* The routes' JSON, written by hand: levels with at most three decimals
 * and no trailing zeros, unknown ones null. */
static void test_json(void)
{
	struct point v[] = {
		{1700000100000LL, 7, 3.25, DETECT_STATE_OK, 0, 12},
		{1700000400000LL, 0, NAN, DETECT_STATE_WARMING, NAN, NAN},
		{1700000700000LL, 90, 4.0012, DETECT_STATE_FIRING, 0.001, 1e9},
	};
	struct buf b;

	buf_init(&b, 1 << 16);
	CHECK_INT(points_json(&b, v, 3), 0);
	CHECK_INT(buf_putc(&b, '\0'), 0);
	CHECK_STR(
		b.data,
		"[{\"t\":\"2023-11-14T22:15:00Z\",\"count\":7,\"baseline\":3."
		"25,"
		"\"low\":0,\"high\":12,\"state\":\"ok\"},"
		"{\"t\":\"2023-11-14T22:20:00Z\",\"count\":0,\"baseline\":null,"
		"\"low\":null,\"high\":null,\"state\":\"warming\"},"
		"{\"t\":\"2023-11-14T22:25:00Z\",\"count\":90,\"baseline\":4."
		"001,"
		"\"low\":0.001,\"high\":1000000000,\"state\":\"firing\"}]");
	buf_reset(&b);
	CHECK_INT(points_json_compact(&b, v, 2), 0);
	CHECK_INT(buf_putc(&b, '\0'), 0);
	CHECK_STR(b.data, "[[1700000100,7,0,12],[1700000400,0,null,null]]");
	buf_reset(&b);
	CHECK_INT(points_json(&b, v, 0), 0);
	CHECK_INT(buf_putc(&b, '\0'), 0);
	CHECK_STR(b.data, "[]");
	buf_fini(&b);
}

int main(void)
{
	test_json();
	test_step();
	test_roundtrip();
	test_bad_lines_and_repeats();
	return check_done();
}
