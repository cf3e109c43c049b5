/* SPDX-License-Identifier: MIT */
/*
 * A growable byte buffer with a hard cap: appends past the cap fail and
 * leave the buffer unchanged, so hostile input can never cause OOM.
 * The data is always NUL-terminated (the NUL is not counted in len).
 */
#ifndef HARK_UTIL_BUF_H
#define HARK_UTIL_BUF_H

#include <stddef.h>

#include "util/xalloc.h"

struct buf {
	char *data; /* owned; NULL until the first append */
	size_t len;
	size_t cap;
	size_t max; /* the cap on len, in bytes */
};

void buf_init(struct buf *b, size_t max_bytes);
void buf_fini(struct buf *b);
void buf_reset(struct buf *b);
int buf_append(struct buf *b, const void *p, size_t n) HARK_MUST_CHECK;
int buf_putc(struct buf *b, char c) HARK_MUST_CHECK;
int buf_printf(struct buf *b, const char *fmt, ...)
	HARK_PRINTF(2, 3) HARK_MUST_CHECK;
/* Takes the data out (caller frees with free()); the buffer is left empty. */
char *buf_steal(struct buf *b, size_t *len_out);

#endif
