/* SPDX-License-Identifier: MIT */
/* NDJSON framer: every case fed whole and in every chunk size. */
#include "core/ndjson.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util/buf.h"

static void on_line(void *arg, const char *line, size_t len)
{
	struct buf *out = arg;

	CHECK(buf_append(out, line, len) == 0);
	CHECK(buf_putc(out, '|') == 0);
}

static const struct {
	const char *in;
	size_t max;
	const char *want;
	unsigned keepalives;
	unsigned overlong;
	size_t pending; /* partial bytes left at the end */
} cases[] = {
	{"{\"a\":1}\n{\"b\":2}\n", 100, "{\"a\":1}|{\"b\":2}|", 0, 0, 0},
	{"{\"a\":1}\r\n\r\n\r\n{\"b\":2}\r\n", 100, "{\"a\":1}|{\"b\":2}|", 2,
	 0, 0},
	{"\n\n  \n", 100, "", 3, 0, 0},
	/* a partial tail is held, never reported */
	{"one\ntwo", 100, "one|", 0, 0, 3},
	/* cap counts content only: 5 bytes fit in 5, even with \r */
	{"12345\r\n123456\nabc\n", 5, "12345|abc|", 0, 1, 0},
	{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nok\n", 8, "ok|", 0, 1, 0},
	/* an over-long partial at the end holds nothing */
	{"ok\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 8, "ok|", 0, 0, 0},
	/* a bare \r inside a line is content */
	{"a\rb\n", 100, "a\rb|", 0, 0, 0},
};

static void test_table(void)
{
	for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
		size_t n = strlen(cases[ci].in);

		for (size_t chunk = 1; chunk <= n; chunk++) {
			struct ndjson f;
			struct buf out;

			buf_init(&out, 1 << 16);
			ndjson_init(&f, cases[ci].max);
			for (size_t off = 0; off < n; off += chunk) {
				ndjson_feed(&f, cases[ci].in + off,
					    off + chunk > n ? n - off : chunk,
					    on_line, &out);
			}
			CHECK(buf_putc(&out, '\0') == 0);
			if (strcmp(out.data, cases[ci].want) != 0) {
				fprintf(stderr, "case %zu chunk %zu\n", ci,
					chunk);
			}
			CHECK_STR(out.data, cases[ci].want);
			CHECK_INT(f.keepalives, cases[ci].keepalives);
			CHECK_INT(f.overlong, cases[ci].overlong);
			CHECK_INT(ndjson_pending(&f), cases[ci].pending);
			ndjson_fini(&f);
			buf_fini(&out);
		}
	}
}

static void test_reset(void)
{
	struct ndjson f;
	struct buf out;

	buf_init(&out, 1 << 16);
	ndjson_init(&f, 64);
	ndjson_feed(&f, "{\"id\":1}\n{\"id\":2,\"te", 20, on_line, &out);
	/* the connection closed mid-line: the half line never counts */
	ndjson_reset(&f);
	ndjson_feed(&f, "xt\":\"x\"}\n{\"id\":3}\n", 18, on_line, &out);
	CHECK(buf_putc(&out, '\0') == 0);
	CHECK_STR(out.data, "{\"id\":1}|xt\":\"x\"}|{\"id\":3}|");
	CHECK_INT(f.partial, 1);
	CHECK_INT(f.lines, 3);
	ndjson_reset(&f);
	CHECK_INT(f.partial, 1);
	ndjson_fini(&f);
	buf_fini(&out);
}

int main(void)
{
	test_table();
	test_reset();
	return check_done();
}
