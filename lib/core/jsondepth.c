/* SPDX-License-Identifier: MIT */
/*
 * The nesting pre-scan: outside strings a byte loop with a depth counter;
 * a string is crossed with memchr to its closing quote (a quote preceded by
 * an odd run of backslashes is escaped), since a mention's bytes are mostly
 * its text and this scan runs on every pushed line. Pure; any thread.
 */
#include "core/jsondepth.h"

#include <string.h>

/* Index just past the quote closing the string whose body starts at i, or
 * len when it does not close. */
static size_t string_end(const char *s, size_t len, size_t i)
{
	while (i < len) {
		const char *q = memchr(s + i, '"', len - i);
		size_t at, k;

		if (q == NULL) {
			return len;
		}
		at = (size_t)(q - s);
		for (k = at; k > i && s[k - 1] == '\\'; k--) {
		}
		if ((at - k) % 2 == 0) {
			return at + 1;
		}
		i = at + 1;
	}
	return len;
}

/* How many bytes open a level, strings included: blocks of 64 with a
 * byte-wide sum, which the compiler vectorises. */
static size_t openers(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = 0, i = 0;

	for (; i + 64 <= len; i += 64) {
		unsigned char block = 0;

		for (size_t j = 0; j < 64; j++) {
			block += (unsigned char)((u[i + j] == '[') +
						 (u[i + j] == '{'));
		}
		n += block;
	}
	for (; i < len; i++) {
		n += (u[i] == '[') + (u[i] == '{');
	}
	return n;
}

bool jsondepth_ok(const char *s, size_t len, unsigned max_depth, size_t *steps)
{
	unsigned depth = 0;
	size_t i = 0;

	/* Fewer openers than the limit cannot nest past it: the common
	 * case, settled without following strings. */
	if (openers(s, len) <= max_depth) {
		if (steps != NULL) {
			*steps = len;
		}
		return true;
	}

	while (i < len) {
		char c = s[i++];

		if (c == '"') {
			i = string_end(s, len, i);
		} else if (c == '[' || c == '{') {
			if (++depth > max_depth) {
				if (steps != NULL) {
					*steps = i;
				}
				return false;
			}
		} else if ((c == ']' || c == '}') && depth > 0) {
			/* an unbalanced close is the parser's error to
			 * report; it must not lower the count below 0 */
			depth--;
		}
	}
	if (steps != NULL) {
		*steps = i;
	}
	return true;
}
