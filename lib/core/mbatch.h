/* SPDX-License-Identifier: MIT */
/*
 * A batch of NDJSON lines, parsed and matched together: the unit of work
 * a parse thread does for the thread that counts (hark replay's readers,
 * harkd's push workers). Pure: the matcher passed in is the thread's own
 * (matcher_clone), nothing else is shared.
 */
#ifndef HARK_CORE_MBATCH_H
#define HARK_CORE_MBATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mention.h"
#include "core/window.h"

struct matcher;

enum mbatch_kind {
	MBATCH_EMPTY,   /* a blank line: counted towards line numbers only */
	MBATCH_OK,      /* m and ids filled (before parsing: the raw line) */
	MBATCH_SKIPPED, /* valid but not counted (mention_parse_in said so) */
	MBATCH_BAD,     /* why: the parser's reason */
	MBATCH_MSG,     /* why: a message of the reader's (fail: fatal) */
};

struct mbatch_item {
	enum mbatch_kind kind;
	bool fail;
	struct mention m;
	size_t off; /* the raw line, at mbatch.text + off */
	size_t len;
	size_t ids; /* offset in mbatch.ids */
	size_t n_ids;
	/* counting's view of m (when n_ids > 0); its terms are found on the
	 * counting side, only for a bucket whose tops are read */
	struct window_mention wm;
	long lineno; /* as the producer numbered it (0: unnumbered) */
	char *why;   /* owned */
};

struct mbatch {
	struct mbatch_item *items;
	size_t n, cap;
	uint32_t *ids; /* the rules each OK item matched, ascending */
	size_t n_ids, cap_ids;
	/* The lines: mbatch_put_line copies them into raw; mbatch_split
	 * reads them where they are (text then points at the caller's). */
	const char *text;
	char *raw;
	size_t raw_len, raw_cap;
	/* the parsed mentions' strings (mention_parse_in): one arena per
	 * batch, reused, instead of a malloc and a free per mention */
	char *mem;
	size_t mem_cap;
	size_t lines; /* lines taken, blank ones included */
};

/* Empties b for reuse (keeps its buffers). */
void mbatch_clear(struct mbatch *b);
/* Frees what b owns; b may be reused after mbatch_clear-like zeroing. */
void mbatch_fini(struct mbatch *b);
/* Appends a copy of one line (a trailing '\r' dropped; blank: EMPTY). */
void mbatch_put_line(struct mbatch *b, const char *line, size_t len,
		     long lineno);
/* Appends a reader's message (msg owned by b from here). */
void mbatch_put_msg(struct mbatch *b, bool fail, char *msg);
/*
 * Takes the lines of text[0, len) in place (text must outlive the
 * batch's use): each line's trailing '\r' and leading blanks are
 * dropped, a line left empty is EMPTY. Lines are numbered from 1 within
 * text; a last line without '\n' counts. Returns the number of lines.
 */
size_t mbatch_split(struct mbatch *b, const char *text, size_t len);
/*
 * Parses every OK line as o says and matches it with m (n_rules rules;
 * scratch: n_rules + 1 ids) as coming from source (NULL: none); a line
 * that does not parse becomes BAD or SKIPPED.
 */
void mbatch_parse(struct mbatch *b, const struct mention_opts *o,
		  struct matcher *m, uint32_t *scratch, size_t n_rules,
		  const char *source);
/* The window_mention of OK item it (only its mention when it matched
 * no rule), in *wm. */
const struct window_mention *mbatch_view(const struct mbatch_item *it,
					 struct window_mention *wm);

#endif
