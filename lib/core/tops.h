/* SPDX-License-Identifier: MIT */
/*
 * What a judged bucket was about, as the store keeps it for the dashboard
 * (GET /v1/rules/{name}/top?at=): its most frequent terms, hashtags,
 * authors and languages and its emerging terms, one JSON line per bucket
 * with mentions, appended to one key per rule and UTC day next to its
 * chart points (core/points.h). A bucket judged again after a crash
 * appends its line again: the last line of a start wins. Pure.
 */
#ifndef HARK_CORE_TOPS_H
#define HARK_CORE_TOPS_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct cJSON;

/* Kept per list and bucket: a screen's worth. The store holds one line a
 * bucket and rule for store.retention: about 500 bytes with these. */
#define TOPS_TERMS 10
#define TOPS_OTHERS 5
#define TOPS_EMERGING 8

/* The kinds of a bucket's lists, in the order a line holds them. */
enum tops_kind {
	TOPS_KIND_TERMS,
	TOPS_KIND_HASHTAGS,
	TOPS_KIND_AUTHORS,
	TOPS_KIND_LANGS,
	TOPS_N_KINDS,
};

struct tops_item {
	const char *name; /* borrowed */
	int64_t count;
};

struct tops_emerging {
	const char *term; /* borrowed */
	int64_t count;
	double usual; /* the term's usual count per bucket */
	double ratio; /* count / usual (usual floored at 0.5) */
};

struct tops_bucket {
	int64_t start_ms;
	int64_t count;
	const struct tops_item *list[TOPS_N_KINDS]; /* most frequent first */
	size_t n[TOPS_N_KINDS];
	const struct tops_emerging *emerging; /* most emerging first */
	size_t n_emerging;
};

/* Appends b's line (lists cut to their TOPS_* caps) to out; -1 when out is
 * full. */
int tops_format(struct buf *out, const struct tops_bucket *b);
/*
 * The last well-formed line of text (len bytes) for the bucket that starts
 * at start_ms, parsed (caller frees with cJSON_Delete), or NULL.
 */
struct cJSON *tops_find(const char *text, size_t len, int64_t start_ms);
/*
 * Adds b's lists to o as the route shows them: "terms", "hashtags" as
 * [{"term","count"}], "authors" [{"author","count"}], "langs"
 * [{"lang","count"}], "emerging_terms" [{"term","count","usual","ratio"}].
 */
void tops_json(const struct tops_bucket *b, struct cJSON *o);
/* The same from a stored line (tops_find's): what tops_json would add. */
void tops_json_stored(const struct cJSON *line, struct cJSON *o);

#endif
