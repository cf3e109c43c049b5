/* SPDX-License-Identifier: MIT */
/*
 * How deep JSON text nests, found by one linear pass before any parser
 * runs: parsers that walk parent links or recurse (jsmn, cJSON) cost more
 * than linear time or stack in the depth, so a deep line is turned away
 * here first. Pure; no validation beyond strings and brackets.
 */
#ifndef HARK_CORE_JSONDEPTH_H
#define HARK_CORE_JSONDEPTH_H

#include <stdbool.h>
#include <stddef.h>

/* Deepest nesting accepted from outside: a mention is 3–4 deep. */
#define JSONDEPTH_MAX 64

/*
 * Whether no '[' or '{' in s[0, len) opens a level deeper than max_depth
 * (a top-level object is depth 1). Brackets inside strings do not count,
 * a backslash escapes the byte after it there; unbalanced or otherwise
 * invalid text is left to the parser. The scan stops at the first byte
 * that goes too deep. *steps (may be NULL) gets the number of bytes
 * looked at, never more than len: each byte is seen once.
 */
bool jsondepth_ok(const char *s, size_t len, unsigned max_depth, size_t *steps);

#endif
