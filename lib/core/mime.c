/* SPDX-License-Identifier: MIT */
/*
 * MIME messages for the e-mail receiver (see mime.h). The boundary starts
 * with "=_", which quoted-printable can never produce, so no body can
 * contain it. Pure.
 */
#include "core/mime.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/sign.h"
#include "util/buf.h"

#define QP_LINE 76
/* Bytes of UTF-8 per encoded word: 40 bytes are 56 base64 characters,
 * and "Subject: =?UTF-8?B?…?=" stays within 78. */
#define WORD_BYTES 39

static void put(struct buf *b, const char *s, size_t n)
{
	/* Buffers here are unbounded: inputs are bounded by the renderer. */
	if (buf_append(b, s, n) != 0) {
		HARK_ASSERT(!"mime: unbounded buffer refused");
	}
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

void mime_date(int64_t ms, char out[40])
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
					   "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
					     "May", "Jun", "Jul", "Aug",
					     "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000",
		 days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

char *mime_qp(const char *text, size_t *len_out)
{
	struct buf b;
	size_t col = 0;
	size_t n = strlen(text);

	buf_init(&b, SIZE_MAX / 2);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];
		bool eol = text[i + 1] == '\n' ||
			   (text[i + 1] == '\r' && text[i + 2] == '\n') ||
			   text[i + 1] == '\0';
		char enc[4];
		bool literal;
		size_t w;

		if (c == '\n' || (c == '\r' && text[i + 1] == '\n')) {
			if (c == '\r') {
				i++;
			}
			put(&b, "\r\n", 2);
			col = 0;
			continue;
		}
		/* Spaces at a line end would be stripped in transit. */
		literal = (c >= 33 && c <= 126 && c != '=') ||
			  ((c == ' ' || c == '\t') && !eol);
		w = literal ? 1 : 3;
		/* Room for the soft break's "=" on this line. */
		if (col + w > QP_LINE - 1) {
			put(&b, "=\r\n", 3);
			col = 0;
		}
		/* A dot at a line start is SMTP's end-of-data marker. */
		if (c == '.' && col == 0) {
			literal = false;
			w = 3;
		}
		if (literal) {
			enc[0] = (char)c;
		} else {
			snprintf(enc, sizeof(enc), "=%02X", c);
		}
		put(&b, enc, w);
		col += w;
	}
	return buf_steal(&b, len_out);
}

static bool plain_header(const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 32 || c > 126) {
			return false;
		}
	}
	/* Longer lines would need folding, and "=?" would read as an
	 * encoded word: encoded words handle both. */
	return n <= 900 && strstr(s, "=?") == NULL;
}

static size_t utf8_seq(unsigned char c)
{
	if (c >= 0xf0 && c < 0xf8) {
		return 4;
	}
	if (c >= 0xe0 && c < 0xf0) {
		return 3;
	}
	if (c >= 0xc0 && c < 0xe0) {
		return 2;
	}
	return 1;
}

char *mime_header_value(const char *s)
{
	struct buf b;
	size_t n = strlen(s);
	size_t i = 0;

	if (plain_header(s)) {
		return xstrdup(s);
	}
	buf_init(&b, SIZE_MAX / 2);
	while (i < n) {
		size_t j = i;
		char *b64;

		/* Whole characters only: a word must decode on its own. */
		while (j < n) {
			size_t l = utf8_seq((unsigned char)s[j]);

			if (j + l > n) {
				l = n - j;
			}
			if (j - i + l > WORD_BYTES) {
				break;
			}
			j += l;
		}
		if (i > 0) {
			put(&b, "\r\n ", 3);
		}
		b64 = sign_base64(s + i, j - i);
		puts_(&b, "=?UTF-8?B?");
		puts_(&b, b64);
		puts_(&b, "?=");
		free(b64);
		i = j;
	}
	return buf_steal(&b, NULL);
}

int mime_addr_spec(const char *addr, char *out, size_t outlen)
{
	const char *lt = strrchr(addr, '<');
	const char *start = addr;
	size_t n;

	if (lt != NULL) {
		const char *gt = strchr(lt, '>');

		if (gt == NULL) {
			return -1;
		}
		start = lt + 1;
		n = (size_t)(gt - start);
	} else {
		while (*start == ' ') {
			start++;
		}
		n = strlen(start);
		while (n > 0 && start[n - 1] == ' ') {
			n--;
		}
	}
	if (n == 0 || n >= outlen || memchr(start, '@', n) == NULL) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)start[i];

		if (c <= 32 || c >= 127 || c == '<' || c == '>' || c == ',') {
			return -1;
		}
	}
	memcpy(out, start, n);
	out[n] = '\0';
	return 0;
}

static int check_addr(const char *what, const char *addr, char *err,
		      size_t errlen)
{
	char spec[320];

	if (addr == NULL || addr[0] == '\0') {
		snprintf(err, errlen, "%s: missing address", what);
		return -1;
	}
	for (const char *p = addr; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 32 || c >= 127) {
			snprintf(err, errlen,
				 "%s: addresses must be one line "
				 "of ASCII",
				 what);
			return -1;
		}
	}
	if (mime_addr_spec(addr, spec, sizeof(spec)) < 0) {
		snprintf(err, errlen,
			 "%s: not an address (expected "
			 "user@host or Name <user@host>)",
			 what);
		return -1;
	}
	return 0;
}

/* The id's characters that are safe in a boundary and a Message-ID. */
static char *token(const char *id)
{
	struct buf b;

	buf_init(&b, 128);
	for (const char *p = id != NULL ? id : ""; *p != '\0'; p++) {
		char c = *p;

		if (((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		     (c >= '0' && c <= '9') || c == '.' || c == '-') &&
		    buf_putc(&b, c) != 0) {
			break;
		}
	}
	if (b.len == 0) {
		buf_fini(&b);
		return xstrdup("hark");
	}
	return buf_steal(&b, NULL);
}

static void part(struct buf *b, const char *boundary, const char *type,
		 const char *body)
{
	char *qp = mime_qp(body != NULL ? body : "", NULL);

	puts_(b, "--");
	puts_(b, boundary);
	puts_(b, "\r\nContent-Type: ");
	puts_(b, type);
	puts_(b, "; charset=utf-8\r\nContent-Transfer-Encoding: "
		 "quoted-printable\r\n\r\n");
	puts_(b, qp);
	puts_(b, "\r\n");
	free(qp);
}

char *mime_build(const struct mime_message *m, size_t *len_out, char *err,
		 size_t errlen)
{
	char date[40];
	char from_spec[320];
	const char *domain;
	char *tok;
	char *boundary;
	char *subject;
	struct buf b;

	if (check_addr("from", m->from, err, errlen) < 0) {
		return NULL;
	}
	if (m->n_to == 0 || m->n_to > MIME_MAX_RECIPIENTS) {
		snprintf(err, errlen, "to: expected 1 to %d recipients",
			 MIME_MAX_RECIPIENTS);
		return NULL;
	}
	for (size_t i = 0; i < m->n_to; i++) {
		if (check_addr("to", m->to[i], err, errlen) < 0) {
			return NULL;
		}
	}
	if (mime_addr_spec(m->from, from_spec, sizeof(from_spec)) < 0) {
		HARK_ASSERT(!"checked above");
	}
	domain = strrchr(from_spec, '@') + 1;
	tok = token(m->id);
	boundary = xasprintf("=_hark_%s", tok);
	subject = mime_header_value(m->subject != NULL ? m->subject : "");
	mime_date(m->date_ms, date);

	buf_init(&b, SIZE_MAX / 2);
	puts_(&b, "Date: ");
	puts_(&b, date);
	puts_(&b, "\r\nFrom: ");
	puts_(&b, m->from);
	puts_(&b, "\r\nTo: ");
	for (size_t i = 0; i < m->n_to; i++) {
		if (i > 0) {
			puts_(&b, ",\r\n ");
		}
		puts_(&b, m->to[i]);
	}
	puts_(&b, "\r\nSubject: ");
	puts_(&b, subject);
	if (buf_printf(&b, "\r\nMessage-ID: <%s.%" PRId64 "@%s>\r\n", tok,
		       m->date_ms,
		       domain[0] != '\0' ? domain : "hark.invalid") != 0) {
		HARK_ASSERT(!"mime: unbounded buffer refused");
	}
	/* RFC 3834: keeps vacation responders from answering alerts. */
	puts_(&b, "Auto-Submitted: auto-generated\r\n");
	puts_(&b, "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; "
		  "boundary=\"");
	puts_(&b, boundary);
	puts_(&b, "\"\r\n\r\nThis is a multipart message in MIME format.\r\n"
		  "\r\n");
	part(&b, boundary, "text/plain", m->text);
	part(&b, boundary, "text/html", m->html);
	puts_(&b, "--");
	puts_(&b, boundary);
	puts_(&b, "--\r\n");
	free(subject);
	free(boundary);
	free(tok);
	return buf_steal(&b, len_out);
}
