/* SPDX-License-Identifier: MIT */
/*
 * A rule's judged buckets as the store keeps them for its chart (GET
 * /v1/rules/{name}/series): one text line per bucket, "START COUNT
 * BASELINE STATE [LOW HIGH]" (START in unix seconds, BASELINE with three
 * decimals or "-" while the rule warms, STATE ok, firing or warming, LOW
 * and HIGH the usual band's whole counts when known), appended to one
 * key per rule and UTC day. A bucket judged again after a crash appends
 * its line again: the last line of a start wins. Pure.
 */
#ifndef HARK_CORE_POINTS_H
#define HARK_CORE_POINTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/detect.h"
#include "util/buf.h"

/* Points one series request may ask for. */
#define POINTS_MAX 10000
/* Buckets a request summed by steps may read: 30 days of 30 s, two
 * months of 1 minute. */
#define POINTS_READ_MAX 100000

struct point {
	int64_t start_ms;
	int64_t count;
	double baseline; /* NAN: none (warming) */
	enum detect_state state;
	double low, high; /* the band (detect_result's); NAN: none */
};

/* The UTC day (days since the epoch) whose key holds the bucket at t. */
int64_t points_day(int64_t t_ms);
/* Appends the line of one bucket to out; -1 when out is full. */
int points_format(struct buf *out, const struct point *p);
/*
 * Appends to *v (n used, cap allocated; grown with xrealloc) the points of
 * text whose start is in [from_ms, to_ms); a malformed line is skipped.
 */
void points_parse(const char *text, size_t len, int64_t from_ms, int64_t to_ms,
		  struct point **v, size_t *n, size_t *cap);
/* Sorts by start, keeping the last of each start (the order read). */
void points_settle(struct point *v, size_t *n);
/*
 * Sums settled points into one per step_ms (a multiple of the bucket,
 * aligned on the epoch), in place: counts, usual levels and band edges
 * add up (NAN when one bucket of the step has none), the state is the
 * worst (firing, then warming). A 30-day chart of 5-minute buckets is
 * 8,640 points: a screen draws a few hundred.
 */
void points_step(struct point *v, size_t *n, int64_t step_ms);
/*
 * Appends v as the series route's JSON array: [{"t","count","baseline",
 * "low","high","state"}], t in RFC 3339, unknown levels null. Written by
 * hand: a month of 5-minute buckets is 8,640 points, and a cJSON tree of
 * them took most of the route's time. -1 when out is full.
 */
int points_json(struct buf *out, const struct point *v, size_t n);
/* The same as the overview's sparklines: [[t,count,low,high]], t in unix
 * seconds. */
int points_json_compact(struct buf *out, const struct point *v, size_t n);

#endif
