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
	char *source; /* owned; name of the source it came from, or NULL */
	char *tags;   /* owned; Mastodon hashtags, space-separated, or NULL */
	/* owned or NULL: one block that the parser carves the strings above
	 * from (mention_fini frees it and the strings outside it, so a
	 * caller may still set a field to a string of its own, as before) */
	char *mem;
	size_t mem_len; /* bytes of mem in use */
	size_t mem_cap;
	bool mem_borrowed; /* mem is the caller's (mention_parse_in) */
};

/* Room mention_parse_in needs beyond the line's length. */
#define MENTION_MEM_SLACK 64

/* How a source's lines are read (config `format` / `fields`). */
enum mention_format {
	MENTION_FORMAT_AUTO, /* any shape of DESIGN §5, as mention_parse */
	MENTION_FORMAT_X_V2, /* {"data":{…},"includes":…} or {"errors"} */
	MENTION_FORMAT_MASTODON, /* a Status */
	MENTION_FORMAT_FLAT,     /* {"id","text","created_at",…} */
	MENTION_FORMAT_FIELDS,   /* JSON pointers (struct mention_fields) */
};

/* RFC 6901 JSON pointers ("/data/text", "/includes/users/0/username");
 * NULL leaves the field empty. text is required. Borrowed. */
struct mention_fields {
	const char *text;
	const char *id;
	const char *created_at;
	const char *lang;
	const char *author;
	const char *url;
};

struct mention_opts {
	enum mention_format format;
	const struct mention_fields *fields; /* MENTION_FORMAT_FIELDS only */
	/* Mastodon boost ("reblog" set): true → read as the boosted
	 * (original) status, original id included, so dedupe by id counts
	 * it once; false → MENTION_SKIPPED. */
	bool reblog_original;
};

enum mention_result {
	MENTION_OK,           /* *m filled; caller frees with mention_fini */
	MENTION_REJECTED,     /* not a mention; reason in err */
	MENTION_STREAM_ERROR, /* X in-stream {"errors":[…]} without data;
			       * err holds "title: detail" of the first */
	MENTION_SKIPPED,      /* valid but not counted (a skipped boost) */
};

/*
 * Parses one JSON object. On success fills *m (caller frees with
 * mention_fini) and returns 0. On failure writes a one-line reason to err
 * (e.g. "invalid JSON", "missing \"text\"", "created_at: not an RFC 3339
 * timestamp") and returns -1 with *m empty.
 */
int mention_parse(struct mention *m, const char *line, size_t len, char *err,
		  size_t errlen) HARK_MUST_CHECK;
/*
 * Parses one JSON object read as o says. *m is filled only on MENTION_OK;
 * for every other result it is left empty and err says why.
 */
enum mention_result mention_parse_as(struct mention *m,
				     const struct mention_opts *o,
				     const char *line, size_t len, char *err,
				     size_t errlen);
/*
 * mention_parse_as, carving m's strings from mem (cap bytes, at least
 * len + MENTION_MEM_SLACK), the caller's, instead of a block of its own:
 * for a caller that parses many lines into one arena it reuses. mention_fini
 * then frees only the fields outside mem; mem must outlive m.
 */
enum mention_result mention_parse_in(struct mention *m,
				     const struct mention_opts *o,
				     const char *line, size_t len, char *mem,
				     size_t cap, char *err, size_t errlen);
/* Checks an RFC 6901 pointer's syntax ("" or "/…", "~" only as ~0 ~1). */
bool mention_pointer_valid(const char *ptr);
void mention_fini(struct mention *m);
/* Deep copy with text cut to at most max_text_bytes (on a UTF-8 boundary). */
void mention_copy(struct mention *dst, const struct mention *src,
		  size_t max_text_bytes);
/* Turns Mastodon-style HTML into text: tags removed, entities decoded,
 * <br> and </p> as spaces. Caller frees. */
char *mention_html_to_text(const char *html, size_t len);

#endif
