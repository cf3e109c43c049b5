/* SPDX-License-Identifier: MIT */
/* SSE parser: every case is fed whole and in every chunk size. */
#include "core/sse.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util/buf.h"

struct sink {
	struct buf out; /* "type|id|data;" per event */
};

static void on_event(void *arg, const struct sse_event *ev)
{
	struct sink *s = arg;

	CHECK_INT(strlen(ev->data), ev->data_len);
	CHECK(buf_printf(&s->out, "%s|%s|%s;", ev->type, ev->id, ev->data) ==
	      0);
}

static const struct {
	const char *in;
	const char *want;
	int64_t retry_ms;
} cases[] = {
	{"data: hello\n\n", "message||hello;", -1},
	{"data: a\ndata: b\n\n", "message||a\nb;", -1},
	{"data:a\r\n\r\n", "message||a;", -1},
	{"data: a\r\rdata: b\r\r", "message||a;message||b;", -1},
	{"event: update\ndata: {\"id\":1}\nid: 7\n\n", "update|7|{\"id\":1};",
	 -1},
	{":thump\n\n:thump\ndata: x\n\n", "message||x;", -1},
	/* only one leading space is stripped */
	{"data:  two\n\n", "message|| two;", -1},
	/* a field without a colon is the field with an empty value */
	{"data\n\n", "message||;", -1},
	{"data\ndata\n\n", "message||\n;", -1},
	/* no data line: not dispatched, event type reset */
	{"event: delete\n\ndata: y\n\n", "message||y;", -1},
	/* the id persists across events; an empty id clears it */
	{"id: 5\ndata: a\n\ndata: b\n\nid\ndata: c\n\n",
	 "message|5|a;message|5|b;message||c;", -1},
	{"retry: 3000\ndata: a\n\n", "message||a;", 3000},
	/* an id on an event without data is still committed */
	{"id: 9\n\ndata: a\n\n", "message|9|a;", -1},
	{"retry: 3s\n\n", "", -1},
	{"\xEF\xBB\xBF"
	 "data: bom\n\n",
	 "message||bom;", -1},
	/* a BOM later in the stream is not stripped */
	{"data: \xEF\xBB\xBFx\n\n", "message||\xEF\xBB\xBFx;", -1},
	/* unknown fields are ignored */
	{"foo: bar\ndata: z\n\n", "message||z;", -1},
	/* an unterminated event at the end is never dispatched */
	{"data: done\n\ndata: partial\n", "message||done;", -1},
	{"data: a\n\n\n\n", "message||a;", -1},
};

static void run_chunks(size_t ci, size_t chunk)
{
	struct sink s;
	struct sse_parser p;
	const char *in = cases[ci].in;
	size_t n = strlen(in);

	buf_init(&s.out, 1 << 20);
	sse_init(&p, 1024, 4096, on_event, &s);
	for (size_t off = 0; off < n; off += chunk) {
		sse_feed(&p, in + off, off + chunk > n ? n - off : chunk);
	}
	CHECK(buf_putc(&s.out, '\0') == 0);
	if (strcmp(s.out.data, cases[ci].want) != 0) {
		fprintf(stderr, "case %zu chunk %zu: got \"%s\"\n", ci, chunk,
			s.out.data);
	}
	CHECK_STR(s.out.data, cases[ci].want);
	CHECK_INT(p.retry_ms, cases[ci].retry_ms);
	sse_fini(&p);
	buf_fini(&s.out);
}

static void test_table(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i].in);

		for (size_t chunk = 1; chunk <= n; chunk++) {
			run_chunks(i, chunk);
		}
	}
}

static void test_caps(void)
{
	struct sink s;
	struct sse_parser p;
	char big[200];

	memset(big, 'x', sizeof(big));
	buf_init(&s.out, 1 << 20);
	sse_init(&p, 64, 100, on_event, &s);
	/* over-long line: its event is dropped, the next one survives */
	sse_feed(&p, "data: ", 6);
	sse_feed(&p, big, sizeof(big));
	sse_feed(&p, "\n\ndata: ok\n\n", 12);
	/* data over max_data across lines: dropped too */
	for (int i = 0; i < 5; i++) {
		sse_feed(&p, "data: 0123456789012345678901234567890\n", 38);
	}
	sse_feed(&p, "\ndata: ok2\n\n", 12);
	CHECK(buf_putc(&s.out, '\0') == 0);
	CHECK_STR(s.out.data, "message||ok;message||ok2;");
	CHECK(p.dropped >= 2);
	CHECK_INT(p.events, 2);
	sse_fini(&p);
	buf_fini(&s.out);
}

static void test_reset(void)
{
	struct sink s;
	struct sse_parser p;

	buf_init(&s.out, 1 << 20);
	sse_init(&p, 1024, 4096, on_event, &s);
	sse_feed(&p, ":thump\nid: 42\ndata: a\n\nid: 43\ndata: half", 39);
	/* connection dropped mid-event: the half event is discarded, and
	 * so is the id it carried */
	sse_reset(&p);
	CHECK_STR(p.last_id, "42");
	sse_feed(&p,
		 "\xEF\xBB\xBF"
		 "data: b\n\n",
		 12);
	CHECK(buf_putc(&s.out, '\0') == 0);
	CHECK_STR(s.out.data, "message|42|a;message|42|b;");
	CHECK_INT(p.comments, 1);
	sse_fini(&p);
	buf_fini(&s.out);
}

int main(void)
{
	test_table();
	test_caps();
	test_reset();
	return check_done();
}
