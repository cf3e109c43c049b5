/* SPDX-License-Identifier: MIT */
/*
 * A small hash kept as text, one line "FIELD VALUE\n" per entry (a field
 * has no blank or newline, a value no newline): the form store_hash
 * answers in, and the embedded store keeps such a hash in. Pure.
 */
#ifndef HARK_CORE_TEXTHASH_H
#define HARK_CORE_TEXTHASH_H

#include <stdbool.h>
#include <stddef.h>

/* One entry, pointing into the text (neither part NUL-terminated). */
struct texthash_line {
	const char *field;
	size_t field_len;
	const char *value;
	size_t value_len;
};

/*
 * The entry at *pos of text (len bytes), moving *pos past it; false at the
 * end. A line without a blank is skipped (not a hash written by hark).
 */
bool texthash_next(const char *text, size_t len, size_t *pos,
		   struct texthash_line *out);
/*
 * text with field's line removed and, when value is not NULL, the line
 * "field value" added last: a new NUL-terminated string (*out_len bytes).
 */
char *texthash_put(const char *text, size_t len, const char *field,
		   const char *value, size_t *out_len);
/* Whether field can be stored (non-empty, no blank, no newline) and value
 * (no newline). */
bool texthash_valid(const char *field, const char *value);

#endif
