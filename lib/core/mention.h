/* SPDX-License-Identifier: MIT */
/*
 * One normalized mention, parsed from one NDJSON line in any accepted shape
 * (DESIGN §5): X API v2 ({"data":{…},"includes":{"users":[…]}}), flat
 * ({"id","text","created_at","lang","author","url"}) or a Mastodon Status
 * ({"content": HTML, "language", "account":{"acct"}, "url"}). Pure.
 */
#ifndef HARK_CORE_MENTION_H
#define HARK_CORE_MENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/xalloc.h"

#define MENTION_MAX_TEXT_BYTES (64 * 1024)

struct mention {
	char *id;     /* owned; "" when the input had none */
	char *text;   /* owned; plain text (HTML already turned to text) */
	char *lang;   /* owned; "" when unknown */
	char *author; /* owned; username/acct, else author_id, else "" */
	char *url;    /* owned; "" when unknown */
	int64_t created_at_ms; /* event time; valid when has_created_at */
	bool has_created_at;
};

/*
 * Parses one JSON object. On success fills *m (caller frees with
 * mention_fini) and returns 0. On failure writes a one-line reason to err
 * (e.g. "invalid JSON", "missing \"text\"", "created_at: not an RFC 3339
 * timestamp") and returns -1 with *m empty.
 */
int mention_parse(struct mention *m, const char *line, size_t len, char *err,
		  size_t errlen) HARK_MUST_CHECK;
void mention_fini(struct mention *m);
/* Deep copy with text cut to at most max_text_bytes (on a UTF-8 boundary). */
void mention_copy(struct mention *dst, const struct mention *src,
		  size_t max_text_bytes);
/* Turns Mastodon-style HTML into text: tags removed, entities decoded,
 * <br> and </p> as spaces. Caller frees. */
char *mention_html_to_text(const char *html, size_t len);

#endif
