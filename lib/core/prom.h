/* SPDX-License-Identifier: MIT */
/*
 * The Prometheus text exposition format (version 0.0.4): escaping of label
 * values and HELP text, and a page writer that appends whole lines only,
 * so a page cut short by its buffer's cap still parses. Pure; the caller
 * owns the buffer and serves it.
 */
#ifndef HARK_CORE_PROM_H
#define HARK_CORE_PROM_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/xalloc.h"

enum prom_escape {
	PROM_LABEL_VALUE, /* \ → \\, " → \", newline → \n */
	PROM_HELP,        /* \ → \\, newline → \n */
};

/*
 * Appends s to out escaped as mode says. Bytes that are not valid UTF-8
 * become U+FFFD, since a parser refuses a page that is not UTF-8. Returns
 * -1 when out's cap is reached (out may then hold part of s).
 */
int prom_escape(struct buf *out, const char *s,
		enum prom_escape mode) HARK_MUST_CHECK;

struct prom_label {
	const char *name;  /* a valid label name, written as it is */
	const char *value; /* any text, escaped */
};

struct prom_page {
	struct buf *out; /* borrowed */
	bool cut; /* a line did not fit under out's cap: the page ends there */
};

void prom_page_init(struct prom_page *p, struct buf *out);
/* "# HELP name help" (help escaped) and "# TYPE name type". */
void prom_family(struct prom_page *p, const char *name, const char *type,
		 const char *help);
/*
 * One sample line: name, the n labels ({} left out when n is 0), then the
 * value printed with fmt. Each line is appended whole or not at all, and
 * once one did not fit nothing more is appended (p->cut).
 */
void prom_sample(struct prom_page *p, const char *name,
		 const struct prom_label *labels, size_t n, const char *fmt,
		 ...) HARK_PRINTF(5, 6);

#endif
