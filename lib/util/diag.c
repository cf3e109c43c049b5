/* SPDX-License-Identifier: MIT */
/* Located problem list; see diag.h. */
#include "util/diag.h"

#include <stdarg.h>
#include <stdlib.h>

void diag_init(struct diag *d)
{
	d->entries = NULL;
	d->n = 0;
	d->dropped = 0;
}

void diag_fini(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->entries[i].file);
		free(d->entries[i].msg);
	}
	free(d->entries);
	d->entries = NULL;
	d->n = 0;
	d->dropped = 0;
}

void diag_add(struct diag *d, const char *file, int line, int col,
	      const char *fmt, ...)
{
	struct diag_entry *e;
	va_list ap;
	char *msg = NULL;

	if (d->n >= DIAG_MAX_ENTRIES) {
		d->dropped++;
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0) {
		msg = NULL;
	}
	va_end(ap);
	d->entries = xreallocarray(d->entries, d->n + 1, sizeof(*d->entries));
	e = &d->entries[d->n++];
	e->file = xstrdup(file != NULL ? file : "");
	e->line = line;
	e->col = col;
	e->msg = msg != NULL ? msg : xstrdup("(message lost)");
}

char *diag_format(const struct diag *d, size_t i)
{
	const struct diag_entry *e = &d->entries[i];

	if (e->line > 0) {
		return xasprintf("%s:%d:%d: %s", e->file, e->line, e->col,
				 e->msg);
	}
	return xasprintf("%s: %s", e->file, e->msg);
}

void diag_print(const struct diag *d, FILE *out)
{
	for (size_t i = 0; i < d->n; i++) {
		char *s = diag_format(d, i);

		fprintf(out, "%s\n", s);
		free(s);
	}
	if (d->dropped > 0) {
		fprintf(out, "(%zu more problems not shown)\n", d->dropped);
	}
}
