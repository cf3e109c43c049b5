/* SPDX-License-Identifier: MIT */
/*
 * A rule's chart in the store: every judged bucket's count, usual level and
 * state (core/points.h), so that GET /v1/rules/{name}/series shows the same
 * from every daemon on the store. A rule's points wait in memory until its
 * state is saved (at most a tick), then go in one APPEND per day. Runs on
 * the loop.
 */
#ifndef HARK_DAEMON_CHART_H
#define HARK_DAEMON_CHART_H

#include <stddef.h>
#include <stdint.h>

#include "core/detect.h"
#include "core/points.h"
#include "io/store.h"
#include "util/buf.h"

/* One rule's points not yet written (zeroed: empty). */
struct chart_pending {
	struct buf text;
	int64_t day;
};

/* Where and for how long a rule's points are kept. */
struct chart_where {
	struct store *st; /* borrowed */
	const char *prefix;
	const char *rule;
	int64_t ttl_ms;
};

/* One judged bucket; a new day writes the last one's points first. */
void chart_add(const struct chart_where *w, struct chart_pending *cp,
	       const struct point *p);
/* Writes what waits. */
void chart_flush(const struct chart_where *w, struct chart_pending *cp);
void chart_pending_fini(struct chart_pending *cp);

/*
 * The points of w's rule in [from_ms, to_ms), in order (one per bucket);
 * cb runs once, from the loop, with status -1 when the store failed.
 */
typedef void chart_read_fn(void *arg, int status, const struct point *v,
			   size_t n);
void chart_read(const struct chart_where *w, int64_t from_ms, int64_t to_ms,
		chart_read_fn *cb, void *arg);

/* {"rule","bucket","step","points":[{"t","count","baseline","low","high",
 * "state"}]}, v already summed by steps of step_ms (points_step). */
char *chart_json(const char *rule, int64_t bucket_ms, int64_t step_ms,
		 const struct point *v, size_t n, size_t *len);

#endif
