/* SPDX-License-Identifier: MIT */
/*
 * MIME messages: quoted-printable both ways (decoded back here), RFC 2047
 * subjects decoded back, the headers, the multipart structure, address
 * checks. Python's email package parses the same output in the SMTP
 * integration test.
 */
#include "core/mime.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/sign.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* Decodes quoted-printable (CRLF → LF) into a new string, or NULL. */
static char *qp_decode(const char *s)
{
	char *out = malloc(strlen(s) + 1);
	size_t n = 0;

	while (*s != '\0') {
		if (s[0] == '=' && s[1] == '\r' && s[2] == '\n') {
			s += 3;
		} else if (s[0] == '=') {
			int hi = hexval(s[1]);
			int lo = hi >= 0 ? hexval(s[2]) : -1;

			if (lo < 0) {
				free(out);
				return NULL;
			}
			out[n++] = (char)(hi * 16 + lo);
			s += 3;
		} else if (s[0] == '\r' && s[1] == '\n') {
			out[n++] = '\n';
			s += 2;
		} else {
			out[n++] = *s++;
		}
	}
	out[n] = '\0';
	return out;
}

/* Every line within 76 characters plus CRLF, and no bare LF or CR. */
static bool lines_ok(const char *s, size_t max)
{
	size_t col = 0;

	for (; *s != '\0'; s++) {
		if (*s == '\r') {
			if (s[1] != '\n') {
				return false;
			}
			col = 0;
			s++;
			continue;
		}
		if (*s == '\n') {
			return false;
		}
		if (++col > max) {
			return false;
		}
	}
	return true;
}

static void roundtrip(const char *in, const char *want)
{
	char *qp = mime_qp(in, NULL);
	char *back = qp_decode(qp);

	CHECK(lines_ok(qp, 76));
	CHECK(back != NULL);
	if (back != NULL) {
		CHECK_STR(back, want);
	}
	free(back);
	free(qp);
}

static void test_qp(void)
{
	char long_line[500];
	char *qp;

	roundtrip("plain ascii", "plain ascii");
	roundtrip("a=b caf\xc3\xa9\n.dot\r\nend  \nx\t",
		  "a=b caf\xc3\xa9\n.dot\n"
		  "end  \nx\t");
	memset(long_line, 'x', sizeof(long_line) - 1);
	long_line[sizeof(long_line) - 1] = '\0';
	roundtrip(long_line, long_line);
	memset(long_line, '.', sizeof(long_line) - 1);
	roundtrip(long_line, long_line);
	qp = mime_qp("a=b \n.x", NULL);
	/* '=' encoded, the trailing space encoded, the leading dot encoded. */
	CHECK_STR(qp, "a=3Db=20\r\n=2Ex");
	free(qp);
	qp = mime_qp("caf\xc3\xa9", NULL);
	CHECK_STR(qp, "caf=C3=A9");
	free(qp);
	/* No line of the encoding starts with a bare dot. */
	memset(long_line, '.', sizeof(long_line) - 1);
	qp = mime_qp(long_line, NULL);
	CHECK(strstr(qp, "\r\n.") == NULL && qp[0] != '.');
	free(qp);
}

/* Decodes "=?UTF-8?B?…?=" words joined by CRLF SP into a new string. */
static char *words_decode(const char *s)
{
	char *out = malloc(strlen(s) + 1);
	size_t n = 0;

	while (*s != '\0') {
		const char *end;
		long got;

		if (strncmp(s, "\r\n ", 3) == 0) {
			s += 3;
			continue;
		}
		if (strncmp(s, "=?UTF-8?B?", 10) != 0) {
			free(out);
			return NULL;
		}
		s += 10;
		end = strstr(s, "?=");
		if (end == NULL) {
			free(out);
			return NULL;
		}
		got = sign_unbase64(s, (size_t)(end - s),
				    (unsigned char *)out + n, 1000);
		if (got < 0) {
			free(out);
			return NULL;
		}
		n += (size_t)got;
		s = end + 2;
	}
	out[n] = '\0';
	return out;
}

static void test_subject(void)
{
	char *v;
	char *back;
	const char *word;
	char subj[400];

	v = mime_header_value("[hark] brand: 240 mentions in 5 min (usual 31)");
	CHECK_STR(v, "[hark] brand: 240 mentions in 5 min (usual 31)");
	free(v);
	/* Non-ASCII: encoded words, each a whole number of characters. */
	subj[0] = '\0';
	for (int i = 0; i < 30; i++) {
		strcat(subj, "caf\xc3\xa9 \xe2\x82\xac ");
	}
	v = mime_header_value(subj);
	CHECK(strncmp(v, "=?UTF-8?B?", 10) == 0);
	CHECK(lines_ok(v, 76 - strlen("Subject: ")));
	back = words_decode(v);
	CHECK(back != NULL);
	if (back != NULL) {
		CHECK_STR(back, subj);
	}
	free(back);
	/* Each word decodes to valid UTF-8 on its own: no split sequence. */
	for (word = v; (word = strstr(word, "?B?")) != NULL; word += 3) {
		unsigned char buf[64];
		long n = sign_unbase64(word + 3, strcspn(word + 3, "?"), buf,
				       sizeof(buf));

		CHECK(n > 0);
		if (n > 0) {
			CHECK((buf[n - 1] & 0xc0) != 0xc0);
			CHECK((buf[0] & 0xc0) != 0x80);
		}
	}
	free(v);
	/* Line breaks cannot reach the header as such. */
	v = mime_header_value("a\r\nBcc: x@y");
	CHECK(strchr(v, '\n') == NULL || strstr(v, "\r\n ") != NULL);
	CHECK(strstr(v, "\r\nBcc") == NULL);
	free(v);
}

static const char *const tos[] = {"ann@example.org",
				  "Bob Smith <bob@example.org>"};

static void test_message(void)
{
	struct mime_message m = {
		.from = "hark <hark@alerts.example.org>",
		.to = tos,
		.n_to = 2,
		.subject = "[hark] brand: 240 mentions in 5 min (usual 31)",
		.text = "brand: 240 mentions\nsee caf\xc3\xa9\n",
		.html = "<p>brand: <b>240</b></p>",
		.date_ms = 1795269900000LL, /* 2026-11-21T14:05:00Z */
		.id = "0123abcd",
	};
	char err[128];
	char *msg;
	size_t len;
	const char *body;
	char *text_part, *html_part;
	const char *p;

	msg = mime_build(&m, &len, err, sizeof(err));
	CHECK(msg != NULL);
	if (msg == NULL) {
		return;
	}
	CHECK_INT(strlen(msg), len);
	CHECK(lines_ok(msg, 998));
	CHECK(strncmp(msg, "Date: Sat, 21 Nov 2026 14:05:00 +0000\r\n", 39) ==
	      0);
	CHECK(strstr(msg, "\r\nFrom: hark <hark@alerts.example.org>\r\n") !=
	      NULL);
	CHECK(strstr(msg, "\r\nTo: ann@example.org,\r\n Bob Smith "
			  "<bob@example.org>\r\n") != NULL);
	CHECK(strstr(msg, "\r\nSubject: [hark] brand: 240 mentions in 5 min "
			  "(usual 31)\r\n") != NULL);
	CHECK(strstr(msg, "\r\nMessage-ID: <0123abcd.1795269900000@alerts."
			  "example.org>\r\n") != NULL);
	CHECK(strstr(msg, "\r\nMIME-Version: 1.0\r\n") != NULL);
	CHECK(strstr(msg, "\r\nContent-Type: multipart/alternative; "
			  "boundary=\"=_hark_0123abcd\"\r\n") != NULL);
	body = strstr(msg, "\r\n\r\n");
	CHECK(body != NULL);
	/* Two parts, text first (least preferred first), then the close. */
	text_part = strstr(msg, "--=_hark_0123abcd\r\nContent-Type: "
				"text/plain; charset=utf-8\r\n"
				"Content-Transfer-Encoding: quoted-printable"
				"\r\n\r\n");
	html_part = strstr(msg, "--=_hark_0123abcd\r\nContent-Type: text/html;"
				" charset=utf-8\r\n");
	CHECK(text_part != NULL && html_part != NULL && text_part < html_part);
	p = strstr(msg, "\r\n--=_hark_0123abcd--\r\n");
	CHECK(p != NULL && p[strlen("\r\n--=_hark_0123abcd--\r\n")] == '\0');
	CHECK(strstr(msg, "see caf=C3=A9") != NULL);
	free(msg);

	/* Header injection and bad addresses are refused. */
	m.from = "hark <hark@x.org>\r\nBcc: evil@x.org";
	CHECK(mime_build(&m, NULL, err, sizeof(err)) == NULL);
	m.from = "not an address";
	CHECK(mime_build(&m, NULL, err, sizeof(err)) == NULL);
	m.from = "hark@x.org";
	m.n_to = 0;
	CHECK(mime_build(&m, NULL, err, sizeof(err)) == NULL);
	m.n_to = 2;
	m.subject = "\xc3\xa9t\xc3\xa9";
	msg = mime_build(&m, NULL, err, sizeof(err));
	CHECK(msg != NULL &&
	      strstr(msg, "\r\nSubject: =?UTF-8?B?w6l0w6k=?=\r\n") != NULL);
	free(msg);
}

static void test_addr(void)
{
	char out[64];

	CHECK_INT(mime_addr_spec("Ann <ann@x.org>", out, sizeof(out)), 0);
	CHECK_STR(out, "ann@x.org");
	CHECK_INT(mime_addr_spec(" bob@y.org ", out, sizeof(out)), 0);
	CHECK_STR(out, "bob@y.org");
	CHECK_INT(mime_addr_spec("nobody", out, sizeof(out)), -1);
	CHECK_INT(mime_addr_spec("A <a@b", out, sizeof(out)), -1);
	CHECK_INT(mime_addr_spec("a b@c", out, sizeof(out)), -1);
	CHECK_INT(mime_addr_spec("x@yyyyyyyyyyyyyyyyyyyyyyyyy", out, 8), -1);
}

static void test_date(void)
{
	char d[40];

	mime_date(0, d);
	CHECK_STR(d, "Thu, 01 Jan 1970 00:00:00 +0000");
	mime_date(951782400000LL, d); /* a leap day */
	CHECK_STR(d, "Tue, 29 Feb 2000 00:00:00 +0000");
}

int main(void)
{
	test_qp();
	test_subject();
	test_message();
	test_addr();
	test_date();
	return check_done();
}
