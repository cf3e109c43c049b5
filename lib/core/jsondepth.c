/* SPDX-License-Identifier: MIT */
/*
 * The nesting pre-scan: a byte loop with two bits of state (in a string,
 * after a backslash) and a depth counter. Pure; any thread.
 */
#include "core/jsondepth.h"

bool jsondepth_ok(const char *s, size_t len, unsigned max_depth, size_t *steps)
{
	unsigned depth = 0;
	bool in_string = false;
	bool escaped = false;
	size_t i;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (in_string) {
			if (escaped) {
				escaped = false;
			} else if (c == '\\') {
				escaped = true;
			} else if (c == '"') {
				in_string = false;
			}
		} else if (c == '"') {
			in_string = true;
		} else if (c == '[' || c == '{') {
			if (++depth > max_depth) {
				if (steps != NULL) {
					*steps = i + 1;
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
