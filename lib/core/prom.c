/* SPDX-License-Identifier: MIT */
/*
 * Prometheus text exposition (see prom.h). Escaping follows the format's
 * grammar: in label values \, " and newline are escaped; in HELP text \
 * and newline (a " there is plain text).
 */
#include "core/prom.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

int prom_escape(struct buf *out, const char *s, enum prom_escape mode)
{
	const char *run = s;
	const char *p = s;
	const char *esc;

	while (*p != '\0') {
		unsigned char c = (unsigned char)*p;
		utf8proc_int32_t cp;
		utf8proc_ssize_t k;

		esc = NULL;
		if (c == '\\') {
			esc = "\\\\";
		} else if (c == '\n') {
			esc = "\\n";
		} else if (c == '"' && mode == PROM_LABEL_VALUE) {
			esc = "\\\"";
		} else if (c >= 0x80) {
			/* At most 4 bytes are read, and the NUL stops it. */
			k = utf8proc_iterate((const utf8proc_uint8_t *)p, -1,
					     &cp);
			if (k > 0) {
				p += k;
				continue;
			}
			esc = replacement;
		}
		if (esc == NULL) {
			p++;
			continue;
		}
		if (buf_append(out, run, (size_t)(p - run)) < 0 ||
		    buf_append(out, esc, strlen(esc)) < 0) {
			return -1;
		}
		p++;
		run = p;
	}
	return buf_append(out, run, (size_t)(p - run));
}

void prom_page_init(struct prom_page *p, struct buf *out)
{
	p->out = out;
	p->cut = false;
}

/* Drops a line that did not fit whole, and stops the page there. */
static void end_line(struct prom_page *p, size_t mark, bool ok)
{
	if (ok) {
		return;
	}
	p->out->len = mark;
	if (p->out->data != NULL) {
		p->out->data[mark] = '\0';
	}
	p->cut = true;
}

void prom_family(struct prom_page *p, const char *name, const char *type,
		 const char *help)
{
	size_t mark = p->out->len;
	bool ok;

	if (p->cut) {
		return;
	}
	ok = buf_printf(p->out, "# HELP %s ", name) == 0 &&
	     prom_escape(p->out, help, PROM_HELP) == 0 &&
	     buf_printf(p->out, "\n# TYPE %s %s\n", name, type) == 0;
	end_line(p, mark, ok);
}

void prom_sample(struct prom_page *p, const char *name,
		 const struct prom_label *labels, size_t n, const char *fmt,
		 ...)
{
	size_t mark = p->out->len;
	char small[64];
	char *value = small;
	va_list ap;
	int len;
	bool ok;

	if (p->cut) {
		return;
	}
	va_start(ap, fmt);
	len = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	HARK_ASSERT(len >= 0);
	if ((size_t)len >= sizeof(small)) {
		/* %f of a huge double prints hundreds of digits */
		value = xmalloc((size_t)len + 1);
		va_start(ap, fmt);
		vsnprintf(value, (size_t)len + 1, fmt, ap);
		va_end(ap);
	}
	ok = buf_append(p->out, name, strlen(name)) == 0;
	for (size_t i = 0; ok && i < n; i++) {
		ok = buf_printf(p->out, "%c%s=\"", i == 0 ? '{' : ',',
				labels[i].name) == 0 &&
		     prom_escape(p->out, labels[i].value, PROM_LABEL_VALUE) ==
			     0 &&
		     buf_putc(p->out, '"') == 0;
	}
	if (ok && n > 0) {
		ok = buf_putc(p->out, '}') == 0;
	}
	ok = ok && buf_printf(p->out, " %s\n", value) == 0;
	if (value != small) {
		free(value);
	}
	end_line(p, mark, ok);
}
