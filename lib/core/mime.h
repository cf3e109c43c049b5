/* SPDX-License-Identifier: MIT */
/*
 * E-mail messages: a MIME multipart/alternative message with a plain-text
 * and an HTML part (quoted-printable, UTF-8), RFC 2047 encoded-word
 * subjects, and the Date, Message-ID, From, To and Subject headers, with
 * CRLF line ends. Pure: the date comes from the caller.
 */
#ifndef HARK_CORE_MIME_H
#define HARK_CORE_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "util/xalloc.h"

#define MIME_MAX_RECIPIENTS 100

struct mime_message {
	const char *from;      /* "hark <hark@example.org>" or bare; borrowed */
	const char *const *to; /* borrowed; n_to of them */
	size_t n_to;
	const char *subject; /* UTF-8; borrowed */
	const char *text;    /* UTF-8 plain-text body; borrowed */
	const char *html;    /* UTF-8 HTML body; borrowed */
	int64_t date_ms;     /* the Date header */
	/* Unique per message (e.g. the alert id): Message-ID and boundary. */
	const char *id;
};

/*
 * The whole message, headers and body, CRLF line ends; caller frees.
 * NULL with a reason in err for a missing or multi-line address, a
 * non-ASCII address or too many recipients.
 */
char *mime_build(const struct mime_message *m, size_t *len_out, char *err,
		 size_t errlen);
/* The bare address of "Name <a@b>" or "a@b" (what SMTP's MAIL FROM and
 * RCPT TO take) into out. Returns -1 when there is none or it is too long. */
int mime_addr_spec(const char *addr, char *out, size_t outlen) HARK_MUST_CHECK;
/* Quoted-printable of text, LF or CRLF line ends in, CRLF out. */
char *mime_qp(const char *text, size_t *len_out);
/* A header value: as is when it is short printable ASCII, otherwise
 * RFC 2047 "=?UTF-8?B?…?=" words folded with CRLF SP. Caller frees. */
char *mime_header_value(const char *s);
/* "Sat, 21 Nov 2026 14:05:00 +0000" */
void mime_date(int64_t ms, char out[40]);

#endif
