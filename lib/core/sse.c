/* SPDX-License-Identifier: MIT */
/*
 * Server-Sent Events framing, byte-exact to the WHATWG algorithm: lines
 * are cut on CRLF, LF or CR (a CR at the end of one chunk and an LF at
 * the start of the next are one line end), fields are parsed and events
 * dispatched on a blank line. Pure; the transport lives in io/.
 */
#include "core/sse.h"

#include <stdlib.h>
#include <string.h>

static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};

void sse_init(struct sse_parser *p, size_t max_line_bytes,
	      size_t max_data_bytes, sse_event_fn *on_event, void *arg)
{
	memset(p, 0, sizeof(*p));
	p->on_event = on_event;
	p->arg = arg;
	p->max_line_bytes = max_line_bytes;
	p->max_data_bytes = max_data_bytes;
	p->retry_ms = -1;
}

void sse_fini(struct sse_parser *p)
{
	free(p->line);
	free(p->data);
	p->line = NULL;
	p->data = NULL;
}

static void clear_event(struct sse_parser *p)
{
	p->data_len = 0;
	p->has_data = false;
	p->data_over = false;
	p->event[0] = '\0';
}

void sse_reset(struct sse_parser *p)
{
	clear_event(p);
	p->line_len = 0;
	p->skipping = false;
	p->after_cr = false;
	p->bom_checked = false;
	memcpy(p->id_buf, p->last_id, sizeof(p->id_buf));
}

static void grow(char **b, size_t *cap, size_t need)
{
	size_t c = *cap ? *cap : 256;

	if (need <= *cap) {
		return;
	}
	while (c < need) {
		c *= 2;
	}
	*b = xrealloc(*b, c);
	*cap = c;
}

static void append_data(struct sse_parser *p, const char *v, size_t n)
{
	size_t sep = p->has_data ? 1 : 0;

	if (p->data_over) {
		return;
	}
	if (p->data_len + sep + n > p->max_data_bytes) {
		p->data_over = true;
		return;
	}
	/* +1 for the NUL written at dispatch */
	grow(&p->data, &p->data_cap, p->data_len + sep + n + 1);
	if (sep) {
		p->data[p->data_len++] = '\n';
	}
	memcpy(p->data + p->data_len, v, n);
	p->data_len += n;
	p->has_data = true;
}

static void dispatch(struct sse_parser *p)
{
	struct sse_event ev;

	/* The spec commits the id at every blank line, even one that ends
	 * an event without data. */
	memcpy(p->last_id, p->id_buf, sizeof(p->last_id));
	if (p->data_over) {
		p->dropped++;
		clear_event(p);
		return;
	}
	/* An event with no data line is not dispatched, only reset. */
	if (!p->has_data) {
		clear_event(p);
		return;
	}
	grow(&p->data, &p->data_cap, p->data_len + 1);
	p->data[p->data_len] = '\0';
	ev.type = p->event[0] != '\0' ? p->event : "message";
	ev.data = p->data;
	ev.data_len = p->data_len;
	ev.id = p->last_id;
	p->events++;
	p->on_event(p->arg, &ev);
	clear_event(p);
}

static bool all_digits(const char *v, size_t n)
{
	if (n == 0) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9') {
			return false;
		}
	}
	return true;
}

static void field(struct sse_parser *p, const char *name, size_t nlen,
		  const char *v, size_t vlen)
{
	if (nlen == 4 && memcmp(name, "data", 4) == 0) {
		append_data(p, v, vlen);
	} else if (nlen == 5 && memcmp(name, "event", 5) == 0) {
		if (vlen >= sizeof(p->event)) {
			/* No real event name is this long; an unknown type
			 * keeps it from being mistaken for a known one. */
			vlen = sizeof(p->event) - 1;
		}
		memcpy(p->event, v, vlen);
		p->event[vlen] = '\0';
	} else if (nlen == 2 && memcmp(name, "id", 2) == 0) {
		/* The spec ignores ids holding NUL; over-long ones too. */
		if (memchr(v, '\0', vlen) == NULL && vlen <= SSE_MAX_ID_BYTES) {
			memcpy(p->id_buf, v, vlen);
			p->id_buf[vlen] = '\0';
		}
	} else if (nlen == 5 && memcmp(name, "retry", 5) == 0) {
		/* v is not NUL-terminated: sum the digits by hand. */
		if (all_digits(v, vlen) && vlen > 0 && vlen <= 12) {
			int64_t ms = 0;

			for (size_t i = 0; i < vlen; i++) {
				ms = ms * 10 + (v[i] - '0');
			}
			p->retry_ms = ms;
		}
	}
}

static void process_line(struct sse_parser *p, const char *l, size_t n)
{
	const char *colon;
	size_t nlen;
	const char *v;
	size_t vlen;

	if (n == 0) {
		dispatch(p);
		return;
	}
	if (l[0] == ':') {
		p->comments++;
		return;
	}
	colon = memchr(l, ':', n);
	if (colon == NULL) {
		field(p, l, n, "", 0);
		return;
	}
	nlen = (size_t)(colon - l);
	v = colon + 1;
	vlen = n - nlen - 1;
	if (vlen > 0 && v[0] == ' ') {
		v++;
		vlen--;
	}
	field(p, l, nlen, v, vlen);
}

static void end_line(struct sse_parser *p, const char *seg, size_t n)
{
	if (p->skipping) {
		p->skipping = false;
		p->line_len = 0;
		return;
	}
	if (p->line_len == 0) {
		process_line(p, seg, n);
		return;
	}
	grow(&p->line, &p->line_cap, p->line_len + n);
	memcpy(p->line + p->line_len, seg, n);
	p->line_len += n;
	process_line(p, p->line, p->line_len);
	p->line_len = 0;
}

static void carry(struct sse_parser *p, const char *seg, size_t n)
{
	if (p->skipping) {
		return;
	}
	if (p->line_len + n > p->max_line_bytes) {
		p->skipping = true;
		p->dropped++;
		/* The event this line belonged to is incomplete now. */
		p->data_over = true;
		p->line_len = 0;
		return;
	}
	grow(&p->line, &p->line_cap, p->line_len + n);
	memcpy(p->line + p->line_len, seg, n);
	p->line_len += n;
}

static void feed_lines(struct sse_parser *p, const char *b, size_t n)
{
	size_t i = 0, start;

	while (i < n) {
		if (p->after_cr) {
			p->after_cr = false;
			if (b[i] == '\n') {
				i++;
				continue;
			}
		}
		start = i;
		while (i < n && b[i] != '\n' && b[i] != '\r') {
			i++;
		}
		if (i == n) {
			carry(p, b + start, n - start);
			return;
		}
		if (p->line_len + (i - start) > p->max_line_bytes &&
		    !p->skipping) {
			p->dropped++;
			p->data_over = true;
			p->skipping = true;
		}
		end_line(p, b + start, i - start);
		p->after_cr = b[i] == '\r';
		i++;
	}
}

void sse_feed(struct sse_parser *p, const char *buf, size_t n)
{
	size_t held;

	/* The BOM may arrive split across chunks: the line buffer holds its
	 * first bytes until they either complete it or prove not to be it. */
	while (!p->bom_checked && n > 0) {
		held = p->line_len;
		if ((unsigned char)buf[0] == bom[held]) {
			grow(&p->line, &p->line_cap, held + 1);
			p->line[p->line_len++] = buf[0];
			buf++;
			n--;
			if (p->line_len == 3) {
				p->line_len = 0;
				p->bom_checked = true;
			}
			continue;
		}
		p->bom_checked = true;
		if (held > 0) {
			char tmp[3];

			memcpy(tmp, p->line, held);
			p->line_len = 0;
			feed_lines(p, tmp, held);
		}
	}
	if (n > 0) {
		feed_lines(p, buf, n);
	}
}
