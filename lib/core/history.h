/* SPDX-License-Identifier: MIT */
/*
 * Alert history for GET /v1/alerts: the newest HISTORY_MAX notifications
 * (fired, resolved, silenced), filterable by rule, time and status, and
 * round-tripping through JSON so that the store keeps it across restarts.
 * Pure.
 */
#ifndef HARK_CORE_HISTORY_H
#define HARK_CORE_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/xalloc.h"

#define HISTORY_MAX 1000

struct history_entry {
	char id[33];
	char *rule;      /* owned */
	char status[16]; /* "firing" or "resolved" */
	int64_t window_start_ms;
	int64_t window_end_ms;
	int64_t count;
	double baseline;
	double ratio;
	double score;
	int64_t at_ms;     /* when the notification was decided */
	char *silenced_by; /* owned; the silence id, or NULL */
	bool escalation;   /* firing: a bigger peak of an episode */
};

struct history {
	struct history_entry *v; /* owned ring, oldest at head */
	size_t head;
	size_t n;
};

void history_init(struct history *h);
void history_fini(struct history *h);
/* Appends a copy of e (strings copied), dropping the oldest when full. */
void history_add(struct history *h, const struct history_entry *e);

struct history_filter {
	const char *rule;   /* NULL: any */
	const char *status; /* NULL: any; "firing", "resolved" or "silenced" */
	int64_t since_ms;   /* INT64_MIN: any; window_end >= since */
	size_t limit;       /* 0: HISTORY_MAX */
};

/* {"alerts":[…]} newest first, matching f; caller frees. */
char *history_encode(const struct history *h, const struct history_filter *f);
/* Replaces h with what history_encode wrote (no filter); -1 (h unchanged)
 * on bad text. */
int history_decode(struct history *h, const char *json,
		   size_t len) HARK_MUST_CHECK;

#endif
