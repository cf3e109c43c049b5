/* SPDX-License-Identifier: MIT */
/*
 * The rule query language (rules/README.md): terms, "phrases", AND, OR,
 * NOT / -term, parentheses, NEAR/n and ONEAR/n, trailing wildcards,
 * #hashtags, @handles, raw:Term and the filters lang:, source:, author:.
 * Text → AST with precise errors; match.c compiles the AST. Pure.
 */
#ifndef HARK_CORE_QUERY_H
#define HARK_CORE_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "util/xalloc.h"

/* Caps on what one query can make the parser and the matcher build. */
#define QUERY_MAX_BYTES 8192
#define QUERY_MAX_DEPTH 32 /* nested parentheses and operators */
#define QUERY_MAX_TERM_BYTES 256
#define QUERY_MAX_NODES 2000
#define QUERY_MAX_NEAR 100 /* largest n of NEAR/n and ONEAR/n */
#define QUERY_MIN_PREFIX 2 /* characters before a trailing '*' */

enum query_op {
	QUERY_TERM,  /* a word or "phrase" */
	QUERY_FIELD, /* lang:, source:, author: */
	QUERY_AND,   /* n-ary, kids in order */
	QUERY_OR,    /* n-ary, kids in order */
	QUERY_NOT,   /* one kid */
	QUERY_NEAR,  /* two kids; dist, ordered */
};

enum query_field {
	QUERY_FIELD_LANG,
	QUERY_FIELD_SOURCE,
	QUERY_FIELD_AUTHOR,
};

struct query_node {
	enum query_op op;
	int col; /* where it starts: col_base + offset in characters */
	/* TERM: the words as written, without quotes, sigil, "raw:" or the
	 * trailing '*'; FIELD: the value. Owned. */
	char *text;
	char sigil;  /* TERM: '#', '@' or 0 */
	bool phrase; /* TERM: was quoted */
	bool raw;    /* TERM: case- and accent-sensitive */
	bool prefix; /* TERM: trailing '*' (on its last word) */
	enum query_field field;
	unsigned dist; /* NEAR: at most dist words between the two sides */
	bool ordered;  /* NEAR: ONEAR, left side first */
	struct query_node **kids; /* owned */
	size_t n_kids;
};

struct query_error {
	int col; /* col_base-relative, like query_node.col */
	char msg[200];
};

/*
 * Parses text (NUL-terminated). Columns in nodes and errors count UTF-8
 * characters from col_base for the first one, so that a caller can pass
 * the column where the string starts in its file (1 for the string
 * alone). On success stores the tree in *out (free with query_free) and
 * returns 0; on the first error fills *err and returns -1.
 */
int query_parse(const char *text, int col_base, struct query_node **out,
		struct query_error *err) HARK_MUST_CHECK;
void query_free(struct query_node *n);

/*
 * The `match.any` shorthand: an OR of terms, each read literally (no
 * operators): words become a phrase, a leading '#' or '@' is a sigil and
 * a trailing '*' a wildcard. Returns NULL with *err filled for an empty
 * list, an empty term or a term over QUERY_MAX_TERM_BYTES.
 */
struct query_node *query_from_terms(const char *const *terms, size_t n,
				    struct query_error *err);

/* New nodes for callers that combine queries (config filters). */
struct query_node *query_new_field(enum query_field f, const char *value);
/* Takes ownership of kids (n ≥ 1); one kid is returned as is. */
struct query_node *query_new_op(enum query_op op, struct query_node **kids,
				size_t n);

/* The parsed form, fully parenthesized, on one line. Caller frees. */
char *query_format(const struct query_node *n);

/*
 * True when every mention the query matches contains one of its terms,
 * so a matcher need only look at it when a term was found. False for a
 * filter-only query such as `lang:fr` and for `lang:fr NOT spam`.
 * (query_parse rejects queries that would match every mention.)
 */
bool query_needs_term(const struct query_node *n);

#endif
