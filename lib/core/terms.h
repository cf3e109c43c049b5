/* SPDX-License-Identifier: MIT */
/*
 * The words worth showing as an alert's top terms: URLs cut out of the raw
 * text, then the folded tokens (fold.h) minus stop-words of fr/en/es/de/it/
 * pt, URL pieces, words under 3 bytes, pure numbers and repeats. Pure.
 */
#ifndef HARK_CORE_TERMS_H
#define HARK_CORE_TERMS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/xalloc.h"

/* Terms kept per mention (the first ones); longer tokens are skipped. */
#define TERMS_PER_MENTION 64
#define TERMS_MAX_BYTES 40

/*
 * Appends text (len bytes) to out, after resetting it, with every
 * http://, https:// and www. run up to the next blank replaced by one
 * space. Returns -1 when out's cap is reached.
 */
int terms_strip_urls(const char *text, size_t len, struct buf *out)
	HARK_MUST_CHECK;
/* True for a folded stop-word or URL piece (len bytes, no NUL needed). */
bool terms_is_stop(const char *tok, size_t len);
/*
 * Appends to out, after resetting it, the countable tokens of the folded
 * text (" a b ", len bytes) as " a b " (or "" when none), each once, at
 * most TERMS_PER_MENTION. Returns -1 when out's cap is reached.
 */
int terms_filter(const char *folded, size_t len, struct buf *out)
	HARK_MUST_CHECK;

#endif
