/* SPDX-License-Identifier: MIT */
/*
 * redis_url: every accepted form with what it yields, every refused one
 * with its reason, and no reason that shows a user or password.
 */
#include "core/redis_url.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

struct good_case {
	const char *url;
	const char *host; /* NULL: unix socket */
	int port;
	const char *path;
	const char *user;
	const char *password;
	int db;
	const char *addr;
};

static const struct good_case good_cases[] = {
	{"redis://localhost", "localhost", 6379, NULL, NULL, NULL, 0,
	 "localhost:6379"},
	{"redis://127.0.0.1:6380", "127.0.0.1", 6380, NULL, NULL, NULL, 0,
	 "127.0.0.1:6380"},
	{"redis://h:6379/", "h", 6379, NULL, NULL, NULL, 0, "h:6379"},
	{"redis://h/0", "h", 6379, NULL, NULL, NULL, 0, "h:6379"},
	{"redis://h:1/15", "h", 1, NULL, NULL, NULL, 15, "h:1"},
	{"redis://h:65535/2147483646", "h", 65535, NULL, NULL, NULL, 2147483646,
	 "h:65535"},
	{"redis://redis-1.internal_x.example:7000/3",
	 "redis-1.internal_x.example", 7000, NULL, NULL, NULL, 3,
	 "redis-1.internal_x.example:7000"},
	{"redis://[::1]", "::1", 6379, NULL, NULL, NULL, 0, "[::1]:6379"},
	{"redis://[::1]:6390/2", "::1", 6390, NULL, NULL, NULL, 2,
	 "[::1]:6390"},
	{"redis://[fe80::1%eth0]:6379", "fe80::1%eth0", 6379, NULL, NULL, NULL,
	 0, "[fe80::1%eth0]:6379"},
	{"redis://[::ffff:10.0.0.1]/1", "::ffff:10.0.0.1", 6379, NULL, NULL,
	 NULL, 1, "[::ffff:10.0.0.1]:6379"},
	{"redis://:secret@h:6379/1", "h", 6379, NULL, NULL, "secret", 1,
	 "h:6379"},
	{"redis://secret@h", "h", 6379, NULL, NULL, "secret", 0, "h:6379"},
	{"redis://alice:secret@h/4", "h", 6379, NULL, "alice", "secret", 4,
	 "h:6379"},
	{"redis://al%69ce:s3cr%2Ft%40x@h", "h", 6379, NULL, "alice", "s3cr/t@x",
	 0, "h:6379"},
	/* the last '@' ends the userinfo; ':' after the first is password */
	{"redis://:p@ss:w:rd@h:1", "h", 1, NULL, NULL, "p@ss:w:rd", 0, "h:1"},
	{"redis://:pa?ss#x@h", "h", 6379, NULL, NULL, "pa?ss#x", 0, "h:6379"},
	{"unix:///run/redis.sock", NULL, 0, "/run/redis.sock", NULL, NULL, 0,
	 "/run/redis.sock"},
	{"unix:///tmp/r s.sock?db=7", NULL, 0, "/tmp/r s.sock", NULL, NULL, 7,
	 "/tmp/r s.sock"},
	{"unix:///r?db=0", NULL, 0, "/r", NULL, NULL, 0, "/r"},
};

static bool same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	       (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void test_good(void)
{
	for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]);
	     i++) {
		const struct good_case *gc = &good_cases[i];
		struct redis_url u;
		char err[256] = "";
		int rc = redis_url_parse(&u, gc->url, err, sizeof(err));

		if (rc != 0 || !same(u.host, gc->host) || u.port != gc->port ||
		    !same(u.path, gc->path) || !same(u.user, gc->user) ||
		    !same(u.password, gc->password) || u.db != gc->db ||
		    strcmp(u.addr, gc->addr) != 0) {
			check_failed++;
			fprintf(stderr,
				"good case %zu \"%s\": rc %d (%s) host %s "
				"port %d path %s user %s db %d addr %s\n",
				i, gc->url, rc, err, u.host ? u.host : "-",
				u.port, u.path ? u.path : "-",
				u.user ? u.user : "-", u.db, u.addr);
		} else {
			check_passed++;
		}
		redis_url_fini(&u);
		CHECK(u.host == NULL && u.password == NULL);
	}
}

struct bad_case {
	const char *url;
	const char *reason; /* the whole message */
};

#define FORMS \
	"redis://[[user]:password@]host[:port][/db] or unix:///path[?db=N]"

static const struct bad_case bad_cases[] = {
	{"", "empty URL (expected " FORMS ")"},
	{"http://127.0.0.1:6379", "unknown scheme (expected " FORMS ")"},
	{"REDIS://h", "unknown scheme (expected " FORMS ")"},
	{"127.0.0.1:6379", "unknown scheme (expected " FORMS ")"},
	{"rediss://h:6380",
	 "TLS (rediss://) is not supported (expected " FORMS ")"},
	{"redis://", "missing host (expected " FORMS ")"},
	{"redis:///3", "missing host (expected " FORMS ")"},
	{"redis://:6379", "missing host (expected " FORMS ")"},
	{"redis://:pw@/1", "missing host (expected " FORMS ")"},
	{"redis://h:0", "bad port \"0\" (expected 1-65535)"},
	{"redis://h:65536", "bad port \"65536\" (expected 1-65535)"},
	{"redis://h:99999", "bad port \"99999\" (expected 1-65535)"},
	{"redis://h:12ab", "bad port \"12ab\" (expected 1-65535)"},
	{"redis://h:6379x/0", "bad port \"6379x\" (expected 1-65535)"},
	{"redis://h:", "bad port \"\" (expected 1-65535)"},
	{"redis://h:-1", "bad port \"-1\" (expected 1-65535)"},
	{"redis://h:+80", "bad port \"+80\" (expected 1-65535)"},
	{"redis://h/abc", "bad database \"abc\" after '/' (expected a number "
			  "from 0 to 2147483646)"},
	{"redis://h/1x", "bad database \"1x\" after '/' (expected a number "
			 "from 0 to 2147483646)"},
	{"redis://h/-1", "bad database \"-1\" after '/' (expected a number "
			 "from 0 to 2147483646)"},
	{"redis://h/2147483647", "bad database \"2147483647\" after '/' "
				 "(expected a number from 0 to 2147483646)"},
	{"redis://h/1/2", "bad database \"1/2\" after '/' (expected a number "
			  "from 0 to 2147483646)"},
	{"redis://h:6379?db=1",
	 "a query is not valid in a redis:// URL (give the database as a "
	 "path: redis://host:6379/1)"},
	{"redis://h/1?x", "bad database \"1?x\" after '/' (expected a number "
			  "from 0 to 2147483646)"},
	{"redis://h st:1", "bad character \" \" in the host (expected a "
			   "name, an IPv4 address or [IPv6])"},
	{"redis://h#x", "bad character \"#\" in the host (expected a name, "
			"an IPv4 address or [IPv6])"},
	{"redis://::1", "missing host (expected " FORMS ")"},
	{"redis://[::1", "missing ']' after an IPv6 address"},
	{"redis://[::1]x", "expected ':' or '/' after ']'"},
	{"redis://[]:1", "bad IPv6 address \"\" in [ ]"},
	{"redis://[h.example]", "bad IPv6 address \"h.example\" in [ ]"},
	{"redis://[::1]:0", "bad port \"0\" (expected 1-65535)"},
	{"redis://@h", "empty password before '@' (leave out \"@\" for no "
		       "AUTH)"},
	{"redis://:@h", "empty password before '@' (leave out \"@\" for no "
			"AUTH)"},
	{"redis://alice:@h", "empty password before '@' (leave out \"@\" for "
			     "no AUTH)"},
	{"redis://:pa%zzss@h", "bad %-escape in the password"},
	{"redis://:pa%00ss@h", "bad %-escape in the password"},
	{"redis://:pass%4@h", "bad %-escape in the password"},
	{"redis://al%ice:pw@h", "bad %-escape in the user name"},
	{"unix://", "the socket path must be absolute (unix:///path.sock)"},
	{"unix://relative.sock",
	 "the socket path must be absolute (unix:///path.sock)"},
	{"unix://host/run/r.sock",
	 "the socket path must be absolute (unix:///path.sock)"},
	{"unix:///", "missing socket path after unix://"},
	{"unix:///?db=1", "missing socket path after unix://"},
	{"unix:///r.sock?database=1",
	 "unknown query after the socket path (expected ?db=N)"},
	{"unix:///r.sock?db=", "bad database \"\" in ?db= (expected a number "
			       "from 0 to 2147483646)"},
	{"unix:///r.sock?db=x1", "bad database \"x1\" in ?db= (expected a "
				 "number from 0 to 2147483646)"},
	{"unix:///r.sock?db=1&x=2", "bad database \"1&x=2\" in ?db= "
				    "(expected a number from 0 to "
				    "2147483646)"},
};

static void test_bad(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *bc = &bad_cases[i];
		struct redis_url u;
		char err[256] = "";
		int rc = redis_url_parse(&u, bc->url, err, sizeof(err));

		if (rc != -1 || strcmp(err, bc->reason) != 0) {
			check_failed++;
			fprintf(stderr,
				"bad case %zu \"%s\": rc %d, reason\n  %s\n"
				"expected\n  %s\n",
				i, bc->url, rc, err, bc->reason);
		} else {
			check_passed++;
		}
		/* nothing is left to free after a refusal */
		CHECK(u.host == NULL && u.path == NULL && u.user == NULL &&
		      u.password == NULL);
	}
}

/* A refused URL's reason never shows its credentials. */
static void test_no_secret_in_reason(void)
{
	static const char *const urls[] = {
		"redis://alice:hunter2@h:0",  "redis://alice:hunter2@h/abc",
		"redis://alice:hunter2@[::1", "redis://alice:hunter2@h st",
		"redis://alice:hunter2@",     "redis://alice%zz:hunter2@h",
		"redis://alice:hunter2%zz@h",
	};

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		struct redis_url u;
		char err[256] = "";

		CHECK_INT(redis_url_parse(&u, urls[i], err, sizeof(err)), -1);
		CHECK(err[0] != '\0');
		CHECK(strstr(err, "hunter2") == NULL);
		CHECK(strstr(err, "alice") == NULL);
	}
}

/* A long host is kept whole; a long bad port is shown cut short. */
static void test_long(void)
{
	char url[512];
	char host[301];
	struct redis_url u;
	char err[256] = "";

	memset(host, 'a', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	snprintf(url, sizeof(url), "redis://%s:7000/1", host);
	CHECK_INT(redis_url_parse(&u, url, err, sizeof(err)), 0);
	CHECK_STR(u.host, host);
	CHECK_INT(u.port, 7000);
	redis_url_fini(&u);
	snprintf(url, sizeof(url), "redis://h:%s", host);
	CHECK_INT(redis_url_parse(&u, url, err, sizeof(err)), -1);
	CHECK_STR(err, "bad port \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\" "
		       "(expected 1-65535)");
	/* a short err buffer gets a cut, terminated reason */
	CHECK_INT(redis_url_parse(&u, "redis://h:0", err, 9), -1);
	CHECK_STR(err, "bad port");
}

/* Sentinel nodes: HOST:PORT, the port required, nothing else around. */
static void test_addr(void)
{
	static const struct {
		const char *addr;
		const char *host; /* NULL: refused, with why */
		int port;
		const char *why;
	} cases[] = {
		{"10.0.0.1:26379", "10.0.0.1", 26379, NULL},
		{"sentinel-1.internal:5000", "sentinel-1.internal", 5000, NULL},
		{"[::1]:26379", "::1", 26379, NULL},
		{"10.0.0.1", NULL, 0, "missing port (expected HOST:PORT"},
		{"[::1]", NULL, 0, "missing port"},
		{"::1:26379", NULL, 0, "missing host"},
		{"h:0", NULL, 0, "bad port \"0\" (expected 1-65535)"},
		{"h:26379x", NULL, 0, "bad port \"26379x\""},
		{"redis://h:26379", NULL, 0, "expected HOST:PORT, without"},
		{"pw@h:26379", NULL, 0, "expected HOST:PORT, without"},
		{"h:26379/0", NULL, 0, "expected HOST:PORT, without"},
		{":26379", NULL, 0, "missing host"},
		{"", NULL, 0, "empty address"},
		{"h h:1", NULL, 0, "bad character \" \" in the host"},
	};
	struct redis_url u;
	char err[200];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = redis_addr_parse(&u, cases[i].addr, err, sizeof(err));

		if (cases[i].host != NULL) {
			CHECK_INT(rc, 0);
			CHECK_STR(u.host, cases[i].host);
			CHECK_INT(u.port, cases[i].port);
			CHECK(u.password == NULL && u.path == NULL);
			redis_url_fini(&u);
			continue;
		}
		CHECK_INT(rc, -1);
		if (strncmp(err, cases[i].why, strlen(cases[i].why)) != 0) {
			fprintf(stderr, "case \"%s\": got \"%s\"\n",
				cases[i].addr, err);
			check_failed++;
		}
	}
}

int main(void)
{
	test_good();
	test_addr();
	test_bad();
	test_no_secret_in_reason();
	test_long();
	return check_done();
}
