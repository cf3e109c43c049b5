/* SPDX-License-Identifier: MIT */
/*
 * Rule matching: each rule is a query (core/query.h) or a list of terms
 * (match.any). All terms of all rules are compiled into one Hyperscan
 * database, scanned once per mention over its folded token form (and once
 * over its raw token form when some rule uses raw:); the boolean, NEAR
 * and filter logic of a rule is evaluated only when one of its terms was
 * found (or it has no term). Pure; a matcher is used from one thread.
 */
#ifndef HARK_CORE_MATCH_H
#define HARK_CORE_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "util/diag.h"
#include "util/xalloc.h"

/* Caps: distinct terms over all rules, and one term's folded bytes. */
#define MATCH_MAX_ATOMS 1000000
#define MATCH_MAX_TERM_BYTES 1024
/* NEAR looks at no more than this many occurrences of each side. */
#define MATCH_MAX_SPANS 256
/* Term occurrences with positions kept per mention, for NEAR. */
#define MATCH_MAX_HITS 4096

struct fold;
struct matcher;
struct query_node;

/* What a rule can look at in one mention. Strings are borrowed. */
struct match_input {
	const char *text; /* UTF-8, len bytes */
	size_t len;
	const char *lang;   /* language code; NULL or "" when unknown */
	const char *source; /* name of the source it came from, or NULL */
	const char *author; /* handle or id; NULL or "" when unknown */
};

/* f is borrowed and must outlive the matcher. */
struct matcher *matcher_new(const struct fold *f);
void matcher_free(struct matcher *m);
/*
 * A matcher for another thread: it shares m's compiled database and rules
 * (read-only) and has its own scratch. m is compiled first if needed, must
 * not be changed or freed while the clone lives, and a clone cannot be
 * added to. NULL when Hyperscan cannot allocate the scratch.
 */
struct matcher *matcher_clone(struct matcher *m);
/*
 * Adds rule number rule_id (ascending: 0, 1, 2… in config order) with
 * its terms (the match.any shorthand: any term matches; see
 * query_from_terms). A term that folds to nothing (only punctuation) is
 * an error: returns -1 and writes the reason to err.
 */
int matcher_add_rule(struct matcher *m, uint32_t rule_id,
		     const char *const *terms, size_t n_terms, char *err,
		     size_t errlen) HARK_MUST_CHECK;
/*
 * Adds rule number rule_id (ascending) matching query q (borrowed: only
 * read during the call). Errors as for matcher_add_rule, plus the caps.
 * A failed add leaves the matcher as it was.
 */
int matcher_add_query(struct matcher *m, uint32_t rule_id,
		      const struct query_node *q, char *err,
		      size_t errlen) HARK_MUST_CHECK;
/*
 * Builds the Hyperscan database from the rules added so far. Call it
 * once after the last add to see compile errors (pattern too large, out
 * of memory); matcher_match compiles on first use otherwise, and then
 * matches nothing if compiling fails.
 */
int matcher_compile(struct matcher *m, char *err,
		    size_t errlen) HARK_MUST_CHECK;
/* Number of distinct patterns in the compiled database (for logs). */
size_t matcher_patterns(const struct matcher *m);
/*
 * Writes the ids of the rules that in matches, ascending, to out (at
 * most cap) and returns how many it wrote.
 */
size_t matcher_match(struct matcher *m, const struct match_input *in,
		     uint32_t *out, size_t cap);

#endif
