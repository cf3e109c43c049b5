/* SPDX-License-Identifier: MIT */
/*
 * Redis URL parsing (see redis_url.h). Every form the store's and the
 * redis-stream source's former parsers accepted on purpose is kept:
 * user:password, :password and bare password userinfo with %XX escapes,
 * [IPv6], an empty path or "/" for db 0. What only the lax one let
 * through (a port or db with trailing junk, "/abc" read as db 0) is
 * refused, since the daemon then talked to another database than meant.
 */
#include "core/redis_url.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORMS \
	"redis://[[user]:password@]host[:port][/db] or unix:///path[?db=N]"

static int fail(char *err, size_t errlen, const char *fmt, ...)
	HARK_PRINTF(3, 4);

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* %XX-decodes n bytes; NULL on a bad escape or an escaped NUL. */
static char *pct_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		int hi;
		int lo;

		if (s[i] != '%') {
			out[j++] = s[i];
			continue;
		}
		hi = i + 2 < n ? hexval(s[i + 1]) : -1;
		lo = i + 2 < n ? hexval(s[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		out[j++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[j] = '\0';
	return out;
}

/* Decimal digits only (no sign, no spaces), at most max. */
static int parse_uint(const char *s, size_t n, long max, long *out)
{
	long v = 0;

	if (n == 0 || n > 10) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') {
			return -1;
		}
		v = v * 10 + (s[i] - '0');
	}
	if (v > max) {
		return -1;
	}
	*out = v;
	return 0;
}

/* s[0..n) for a message: printable, cut short, never userinfo. */
static void shown(char *out, size_t outlen, const char *s, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < n && j + 4 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];

		out[j++] = c >= 0x20 && c < 0x7f && c != '"' ? (char)c : '?';
		if (i == 31 && i + 1 < n) {
			memcpy(out + j, "...", 3);
			j += 3;
			break;
		}
	}
	out[j] = '\0';
}

static int parse_db(struct redis_url *u, const char *s, size_t n,
		    const char *where, char *err, size_t errlen)
{
	char what[40];
	long db = 0;

	if (parse_uint(s, n, REDIS_URL_MAX_DB, &db) != 0) {
		shown(what, sizeof(what), s, n);
		return fail(err, errlen,
			    "bad database \"%s\" %s (expected a number from 0 "
			    "to %d)",
			    what, where, REDIS_URL_MAX_DB);
	}
	u->db = (int)db;
	return 0;
}

static int parse_userinfo(struct redis_url *u, const char *s, size_t n,
			  char *err, size_t errlen)
{
	const char *colon = memchr(s, ':', n);
	const char *pw = s;

	if (colon != NULL) {
		if (colon > s) {
			u->user = pct_decode(s, (size_t)(colon - s));
			if (u->user == NULL) {
				return fail(err, errlen,
					    "bad %%-escape in the user name");
			}
		}
		pw = colon + 1;
	}
	u->password = pct_decode(pw, n - (size_t)(pw - s));
	if (u->password == NULL) {
		return fail(err, errlen, "bad %%-escape in the password");
	}
	if (u->password[0] == '\0') {
		return fail(err, errlen,
			    "empty password before '@' (leave out \"@\" "
			    "for no AUTH)");
	}
	return 0;
}

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

/* Inside [ ]: hex digits, ':' and '.', then maybe a %zone. */
static bool v6_ok(const char *s, size_t n)
{
	bool zone = false;
	bool colon = false;

	for (size_t i = 0; i < n; i++) {
		if (zone) {
			if (!host_char(s[i])) {
				return false;
			}
		} else if (s[i] == '%' && i > 0 && i + 1 < n) {
			zone = true;
		} else if (s[i] == ':') {
			colon = true;
		} else if (hexval(s[i]) < 0 && s[i] != '.') {
			return false;
		}
	}
	return colon;
}

static int parse_hostport(struct redis_url *u, const char *s, size_t n,
			  char *err, size_t errlen)
{
	const char *end = s + n;
	const char *host = s;
	const char *p;
	size_t hostlen;
	char what[40];
	long port = REDIS_URL_DEFAULT_PORT;

	if (memchr(s, '?', n) != NULL) {
		return fail(err, errlen,
			    "a query is not valid in a redis:// URL (give the "
			    "database as a path: redis://host:6379/1)");
	}
	if (n > 0 && s[0] == '[') {
		p = memchr(s, ']', n);
		if (p == NULL) {
			return fail(err, errlen,
				    "missing ']' after an IPv6 "
				    "address");
		}
		host = s + 1;
		hostlen = (size_t)(p - host);
		p++;
		if (p < end && *p != ':') {
			return fail(err, errlen,
				    "expected ':' or '/' after ']'");
		}
		if (!v6_ok(host, hostlen)) {
			shown(what, sizeof(what), host, hostlen);
			return fail(err, errlen,
				    "bad IPv6 address \"%s\" in [ ]", what);
		}
	} else {
		p = memchr(s, ':', n);
		if (p == NULL) {
			p = end;
		}
		hostlen = (size_t)(p - s);
		for (size_t i = 0; i < hostlen; i++) {
			if (!host_char(s[i])) {
				shown(what, sizeof(what), s + i, 1);
				return fail(err, errlen,
					    "bad character \"%s\" in the host "
					    "(expected a name, an IPv4 "
					    "address or [IPv6])",
					    what);
			}
		}
	}
	if (hostlen == 0) {
		return fail(err, errlen, "missing host (expected %s)", FORMS);
	}
	if (p < end) {
		p++;
		if (parse_uint(p, (size_t)(end - p), 65535, &port) != 0 ||
		    port == 0) {
			shown(what, sizeof(what), p, (size_t)(end - p));
			return fail(err, errlen,
				    "bad port \"%s\" (expected 1-65535)", what);
		}
	}
	u->host = xstrndup(host, hostlen);
	u->port = (int)port;
	snprintf(u->addr, sizeof(u->addr), host != s ? "[%s]:%d" : "%s:%d",
		 u->host, u->port);
	return 0;
}

static int parse_tcp(struct redis_url *u, const char *rest, char *err,
		     size_t errlen)
{
	const char *slash = strchr(rest, '/');
	size_t n = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
	const char *at = NULL;

	/* The last '@' ends the userinfo, so a password may hold '@'. */
	for (size_t i = 0; i < n; i++) {
		if (rest[i] == '@') {
			at = rest + i;
		}
	}
	if (at != NULL) {
		if (parse_userinfo(u, rest, (size_t)(at - rest), err, errlen) !=
		    0) {
			return -1;
		}
		n -= (size_t)(at + 1 - rest);
		rest = at + 1;
	}
	if (parse_hostport(u, rest, n, err, errlen) != 0) {
		return -1;
	}
	if (slash != NULL && slash[1] != '\0') {
		return parse_db(u, slash + 1, strlen(slash + 1), "after '/'",
				err, errlen);
	}
	return 0;
}

static int parse_unix(struct redis_url *u, const char *rest, char *err,
		      size_t errlen)
{
	const char *q = strchr(rest, '?');
	size_t n = q != NULL ? (size_t)(q - rest) : strlen(rest);

	if (rest[0] != '/') {
		return fail(err, errlen,
			    "the socket path must be absolute "
			    "(unix:///path.sock)");
	}
	if (n == 1) {
		return fail(err, errlen, "missing socket path after unix://");
	}
	u->path = xstrndup(rest, n);
	snprintf(u->addr, sizeof(u->addr), "%s", u->path);
	if (q == NULL) {
		return 0;
	}
	if (!has_prefix(q + 1, "db=")) {
		return fail(err, errlen,
			    "unknown query after the socket path (expected "
			    "?db=N)");
	}
	return parse_db(u, q + 4, strlen(q + 4), "in ?db=", err, errlen);
}

int redis_url_parse(struct redis_url *u, const char *url, char *err,
		    size_t errlen)
{
	int rc;

	memset(u, 0, sizeof(*u));
	if (url == NULL || url[0] == '\0') {
		return fail(err, errlen, "empty URL (expected %s)", FORMS);
	}
	if (has_prefix(url, "redis://")) {
		rc = parse_tcp(u, url + strlen("redis://"), err, errlen);
	} else if (has_prefix(url, "unix://")) {
		rc = parse_unix(u, url + strlen("unix://"), err, errlen);
	} else if (has_prefix(url, "rediss://")) {
		rc = fail(err, errlen,
			  "TLS (rediss://) is not supported (expected %s)",
			  FORMS);
	} else {
		rc = fail(err, errlen, "unknown scheme (expected %s)", FORMS);
	}
	if (rc != 0) {
		redis_url_fini(u);
	}
	return rc;
}

int redis_addr_parse(struct redis_url *u, const char *addr, char *err,
		     size_t errlen)
{
	const char *colon;
	const char *close;

	memset(u, 0, sizeof(*u));
	if (addr == NULL || addr[0] == '\0') {
		return fail(err, errlen, "empty address (expected HOST:PORT)");
	}
	if (strpbrk(addr, "/@?") != NULL) {
		return fail(err, errlen,
			    "expected HOST:PORT, without a scheme, a password "
			    "or a path");
	}
	colon = strrchr(addr, ':');
	close = strrchr(addr, ']');
	if (colon == NULL || (close != NULL && colon < close)) {
		return fail(err, errlen,
			    "missing port (expected HOST:PORT, e.g. "
			    "10.0.0.1:26379 or [::1]:26379)");
	}
	if (parse_hostport(u, addr, strlen(addr), err, errlen) != 0) {
		redis_url_fini(u);
		return -1;
	}
	return 0;
}

void redis_url_fini(struct redis_url *u)
{
	free(u->host);
	free(u->path);
	free(u->user);
	free(u->password);
	memset(u, 0, sizeof(*u));
}
