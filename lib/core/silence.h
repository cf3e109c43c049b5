/* SPDX-License-Identifier: MIT */
/*
 * Silences: "do not notify for alerts matching these matchers until then",
 * with a comment and an author, as Alertmanager has them. A matcher names
 * the rule ("rule" or "alertname") or one of the rule's labels and gives
 * the value it must equal. Pure: time is passed in; the set round-trips
 * through JSON for the API and for the store.
 */
#ifndef HARK_CORE_SILENCE_H
#define HARK_CORE_SILENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/xalloc.h"

#define SILENCE_MAX 1000
#define SILENCE_MAX_MATCHERS 16
#define SILENCE_MAX_TEXT 1024
/* Expired silences are listed this long, then forgotten. */
#define SILENCE_KEEP_EXPIRED_MS (7 * 86400000LL)

struct silence_matcher {
	char *name;  /* owned; "rule", "alertname" or a label name */
	char *value; /* owned */
};

struct silence {
	char id[33];
	struct silence_matcher *matchers; /* owned */
	size_t n_matchers;
	int64_t starts_at_ms;
	int64_t ends_at_ms;
	char *comment;    /* owned */
	char *created_by; /* owned; "" when not given */
};

struct silences {
	struct silence *v; /* owned */
	size_t n;
};

/* A label of the alert being tested (borrowed strings). */
struct silence_label {
	const char *name;
	const char *value;
};

void silences_init(struct silences *set);
void silences_fini(struct silences *set);
void silence_fini(struct silence *s);

/*
 * Parses a POST /v1/silences body: {"matchers":[{"name","value"}…] (or the
 * shorthand "rule":"NAME"), "ends_at": RFC 3339 or "duration": "2h",
 * optional "starts_at", "comment" (required), "created_by"}. id is the new
 * silence's id. Returns -1 with a reason in err on any problem.
 */
int silence_parse(struct silence *s, const char *json, size_t len,
		  const char *id, int64_t now_ms, char *err,
		  size_t errlen) HARK_MUST_CHECK;
/* Takes s (moved: s is left empty). Drops silences expired for longer than
 * SILENCE_KEEP_EXPIRED_MS first; -1 when SILENCE_MAX are still kept. */
int silences_add(struct silences *set, struct silence *s,
		 int64_t now_ms) HARK_MUST_CHECK;
/* Ends silence id now. -1 when there is no such silence. */
int silences_expire(struct silences *set, const char *id,
		    int64_t now_ms) HARK_MUST_CHECK;
/* The first silence active at now_ms whose every matcher matches the rule
 * name or one of the labels, or NULL. */
const struct silence *silences_match(const struct silences *set,
				     const char *rule,
				     const struct silence_label *labels,
				     size_t n_labels, int64_t now_ms);
/* "active", "pending" (starts later) or "expired". */
const char *silence_state(const struct silence *s, int64_t now_ms);

/* {"silences":[…]} with each silence's state at now_ms; caller frees. */
char *silences_encode(const struct silences *set, int64_t now_ms);
/* One silence as JSON; caller frees. */
char *silence_encode(const struct silence *s, int64_t now_ms);
/* Replaces set with what silences_encode wrote; -1 (set unchanged) on bad
 * text. */
int silences_decode(struct silences *set, const char *json,
		    size_t len) HARK_MUST_CHECK;

#endif
