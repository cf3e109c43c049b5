/* SPDX-License-Identifier: MIT */
/*
 * Read-only views of the daemon (daemon/views.c): the JSON and metrics
 * bodies the API serves, appended to a capped buf. What lib/io/api.c
 * reads of the daemon's state goes through here. Loop only.
 */
#ifndef HARK_DAEMON_VIEWS_H
#define HARK_DAEMON_VIEWS_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/chart.h"

struct buf;
struct hark;

/* GET /v1/rules, GET /metrics bodies, appended to out. */
void views_rules_json(struct hark *h, struct buf *out);
/* A page over the reply cap is cut short after a whole line. */
void views_metrics_text(struct hark *h, struct buf *out);
/* GET /v1/sources: {"sources":[{"name","type","state","received",
 * "duplicates","rejected","reconnects",…}]}. */
void views_sources_json(struct hark *h, struct buf *out);
/* GET /v1/silences. */
void views_silences_json(struct hark *h, struct buf *out);
/* GET /v1/alerts with its filters (NULL / INT64_MIN / 0: any). */
void views_alerts_json(struct hark *h, const char *rule, const char *status,
		       int64_t since_ms, size_t limit, struct buf *out);
/*
 * GET /v1/rules/{name}/series: reads rule's judged buckets in [from_ms,
 * to_ms) from the store into cb (daemon/chart.h); -1 for an unknown rule.
 */
int views_series(struct hark *h, const char *rule, int64_t from_ms,
		 int64_t to_ms, chart_read_fn *cb, void *arg);
/* The bucket of rule, or -1 when there is no such rule. */
int64_t views_rule_bucket_ms(const struct hark *h, const char *rule);

/* An answer made later: text (len bytes, freed by the caller of cb after
 * it returns) with status 0, or status -1 when the store did not answer. */
typedef void views_text_fn(void *arg, int status, const char *text, size_t len);

/* The dashboard's overview: which rules, in what range. */
struct views_page {
	int64_t range_ms;
	size_t offset, limit;
	const char *q; /* rule names holding it, any case; NULL: all */
};

/*
 * GET /v1/overview: the rules whose name holds q, firing first (then
 * silenced, warming, ok; by name within), the page [offset, offset +
 * limit) with each rule's judged buckets over the range (summed into at
 * most 300 points) and its notifications then. cb runs once, from the
 * loop (perhaps before this returns).
 */
void views_overview(struct hark *h, const struct views_page *q,
		    views_text_fn *cb, void *arg);

#endif
