/* SPDX-License-Identifier: MIT */
/*
 * Keyword rules: each rule is a list of terms and phrases (match.any);
 * a mention matches a rule when any term occurs in its text on word
 * boundaries, case- and accent-insensitively. "#term" and "@term" also
 * match the bare word. Pure; a matcher is used from one thread.
 */
#ifndef HARK_CORE_MATCH_H
#define HARK_CORE_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "util/diag.h"
#include "util/xalloc.h"

struct fold;
struct matcher;

/* f is borrowed and must outlive the matcher. */
struct matcher *matcher_new(const struct fold *f);
void matcher_free(struct matcher *m);
/*
 * Adds rule number rule_id (0, 1, 2… in order) with its terms. A term that
 * folds to nothing (only punctuation) is an error: returns -1 and writes
 * the reason to err.
 */
int matcher_add_rule(struct matcher *m, uint32_t rule_id,
		     const char *const *terms, size_t n_terms, char *err,
		     size_t errlen) HARK_MUST_CHECK;
/*
 * Writes the ids of the rules that text matches, ascending, to out (at
 * most cap) and returns how many matched.
 */
size_t matcher_match(struct matcher *m, const char *text, size_t len,
		     uint32_t *out, size_t cap);

#endif
