/* SPDX-License-Identifier: MIT */
/*
 * Unicode folding for matching: NFKC, case fold, accents stripped
 * (é → e, ß → ss, full-width → ASCII), from a table built once from
 * utf8proc at start-up. Text becomes a sequence of word tokens joined by
 * single spaces, with a leading and a trailing space (" tok1 tok2 "), so
 * that a word-boundary match is a plain substring search. Pure.
 */
#ifndef HARK_CORE_FOLD_H
#define HARK_CORE_FOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/xalloc.h"

struct fold;

/* Builds the table (tens of milliseconds). Free with fold_free. */
struct fold *fold_new(void);
void fold_free(struct fold *f);

/*
 * Appends the token form of UTF-8 text (len bytes) to out, after
 * resetting it. Letters and digits of every script and '_' are word
 * characters; everything else separates words; each CJK ideograph, kana
 * or Hangul syllable is a word of its own; emoji separate words (a query
 * term made of emoji is matched on the raw token form, see core/match.h).
 * Invalid UTF-8 separates words. Returns -1 when out's cap is reached (out
 * then holds a prefix).
 */
int fold_text(const struct fold *f, const char *in, size_t len,
	      struct buf *out) HARK_MUST_CHECK;

/*
 * True for a code point that is a word of its own in the raw token form
 * (core/match.c): a CJK ideograph, kana, a Hangul syllable, or an emoji (a
 * symbol of the pictographic blocks U+2300-23FF, U+2600-27BF,
 * U+2B00-2BFF, U+1F000-1FAFF, category So).
 */
bool fold_single_token(uint32_t cp);

#endif
