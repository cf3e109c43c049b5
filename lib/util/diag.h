/* SPDX-License-Identifier: MIT */
/*
 * A list of user-facing problems, each located as FILE:LINE:COL. Parsers
 * and validators add one entry per problem and go on where it is safe to.
 */
#ifndef HARK_UTIL_DIAG_H
#define HARK_UTIL_DIAG_H

#include <stddef.h>
#include <stdio.h>

#include "util/xalloc.h"

#define DIAG_MAX_ENTRIES 100

struct diag_entry {
	char *file; /* owned */
	int line;   /* 1-based; 0 when unknown */
	int col;    /* 1-based; 0 when unknown */
	char *msg;  /* owned */
};

struct diag {
	struct diag_entry *entries; /* owned */
	size_t n;
	size_t dropped; /* entries past DIAG_MAX_ENTRIES, counted only */
};

void diag_init(struct diag *d);
void diag_fini(struct diag *d);
void diag_add(struct diag *d, const char *file, int line, int col,
	      const char *fmt, ...) HARK_PRINTF(5, 6);
/* Prints "file:line:col: msg" per entry (file alone when line is 0). */
void diag_print(const struct diag *d, FILE *out);
/* The same line as diag_print writes for entry i; caller frees. */
char *diag_format(const struct diag *d, size_t i);

#endif
