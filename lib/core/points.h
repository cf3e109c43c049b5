/* SPDX-License-Identifier: MIT */
/*
 * A rule's judged buckets as the store keeps them for its chart (GET
 * /v1/rules/{name}/series): one text line per bucket, "START COUNT
 * BASELINE STATE" (START in unix seconds, BASELINE with three decimals or
 * "-" while the rule warms, STATE ok, firing or warming), appended to one
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

struct point {
	int64_t start_ms;
	int64_t count;
	double baseline; /* NAN: none (warming) */
	enum detect_state state;
};

/* The UTC day (days since the epoch) whose key holds the bucket at t. */
int64_t points_day(int64_t t_ms);
/* Appends the line of one bucket to out; -1 when out is full. */
int points_format(struct buf *out, int64_t start_ms, int64_t count,
		  double baseline, enum detect_state state);
/*
 * Appends to *v (n used, cap allocated; grown with xrealloc) the points of
 * text whose start is in [from_ms, to_ms); a malformed line is skipped.
 */
void points_parse(const char *text, size_t len, int64_t from_ms, int64_t to_ms,
		  struct point **v, size_t *n, size_t *cap);
/* Sorts by start, keeping the last of each start (the order read). */
void points_settle(struct point *v, size_t *n);

#endif
