/* SPDX-License-Identifier: MIT */
/*
 * The push intake on a real event loop and real worker threads: chunks
 * counted in arrival order whatever the workers' timing, line numbers
 * across chunks, the reply, back-pressure, a matcher swapped while held
 * (what a reload does), closing, and the same verdicts with no workers.
 */
#include "daemon/intake.h"

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fold.h"
#include "core/match.h"
#include "core/mbatch.h"
#include "tests/unit/check.h"
#include "util/buf.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define MAX_SEEN 20000

struct seen {
	long line;
	int push;  /* which reply it belongs to: replies so far */
	int rules; /* bit i: matched rule i */
};

struct ctx {
	struct seen seen[MAX_SEEN];
	size_t n_seen;
	bool in_order;
	int replies;
	char *reply[8];
	int counted;
};

static void on_count(void *arg, int source, const struct mbatch *b, long line0,
		     struct intake_tally *t)
{
	struct ctx *c = arg;

	CHECK_INT(source, 3);
	for (size_t i = 0; i < b->n; i++) {
		const struct mbatch_item *it = &b->items[i];
		struct seen *s;

		if (it->kind == MBATCH_EMPTY) {
			continue;
		}
		if (it->kind == MBATCH_BAD) {
			intake_tally_reject(t, line0 + it->lineno, it->why);
			continue;
		}
		t->accepted++;
		if (c->n_seen >= MAX_SEEN) {
			continue;
		}
		s = &c->seen[c->n_seen++];
		s->line = line0 + it->lineno;
		s->push = c->replies;
		s->rules = 0;
		for (size_t k = 0; k < it->n_ids; k++) {
			s->rules |= 1 << b->ids[it->ids + k];
		}
		if (c->n_seen > 1 && s[-1].push == s->push &&
		    s[-1].line >= s->line) {
			c->in_order = false;
		}
	}
}

static void on_counted(void *arg)
{
	((struct ctx *)arg)->counted++;
}

static const struct intake_ops ops = {
	.count = on_count,
	.counted = on_counted,
};

static void on_reply(void *arg, const char *json, size_t len)
{
	struct ctx *c = arg;

	if (c->replies < 8) {
		c->reply[c->replies] = xstrdup(json);
	}
	CHECK_INT(strlen(json), len);
	c->replies++;
}

static struct matcher *make_matcher(const struct fold *f, const char *w0,
				    const char *w1)
{
	struct matcher *m = matcher_new(f);
	char err[256];
	const char *t0[] = {w0};
	const char *t1[] = {w1};

	CHECK(matcher_add_rule(m, 0, t0, 1, err, sizeof(err)) == 0);
	CHECK(matcher_add_rule(m, 1, t1, 1, err, sizeof(err)) == 0);
	CHECK(matcher_compile(m, err, sizeof(err)) == 0);
	return m;
}

/* n lines: "alpha" on even lines, "beta" on odd ones, a bad line at
 * each of bad[], a blank one every 97th. */
static char *make_body(size_t n, const long *bad, size_t n_bad, size_t *len)
{
	struct buf b;

	buf_init(&b, 64u << 20);
	for (size_t i = 1; i <= n; i++) {
		bool is_bad = false;
		char line[256];
		int l;

		for (size_t k = 0; k < n_bad; k++) {
			is_bad |= bad[k] == (long)i;
		}
		if (is_bad) {
			l = snprintf(line, sizeof(line),
				     "{\"id\": \"%zu\", oops\n", i);
		} else if (i % 97 == 0) {
			l = snprintf(line, sizeof(line), "   \r\n");
		} else {
			l = snprintf(line, sizeof(line),
				     "{\"id\":\"%zu\",\"text\":\"%s and some "
				     "filler words to make the line longer\","
				     "\"created_at\":\"2024-05-14T06:00:00Z\"}"
				     "\n",
				     i, i % 2 == 0 ? "alpha" : "beta");
		}
		CHECK(buf_append(&b, line, (size_t)l) == 0);
	}
	*len = b.len;
	return b.data;
}

static void run_until(struct event_base *base, struct ctx *c, int replies)
{
	int64_t end = timeutil_mono_ms() + 20000;

	while (c->replies < replies && timeutil_mono_ms() < end) {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	}
}

static int reply_int(const char *json, const char *key)
{
	cJSON *r = cJSON_Parse(json);
	const cJSON *v = cJSON_GetObjectItem(r, key);
	int n = cJSON_IsNumber(v) ? v->valueint : -1;

	cJSON_Delete(r);
	return n;
}

static int error_line(const char *json, int i)
{
	cJSON *r = cJSON_Parse(json);
	const cJSON *e =
		cJSON_GetArrayItem(cJSON_GetObjectItem(r, "errors"), i);
	const cJSON *v = cJSON_GetObjectItem(e, "line");
	int n = cJSON_IsNumber(v) ? v->valueint : -1;

	cJSON_Delete(r);
	return n;
}

/* A loop, a matcher (rule 0: alpha, rule 1: beta), a body of n lines
 * and an intake of the given workers and byte cap. */
struct fixture {
	struct event_base *base;
	struct matcher *m;
	struct ctx *c;
	struct intake *in;
	char *body;
	size_t len;
};

static void setup(struct fixture *x, const struct fold *f, unsigned workers,
		  size_t n, const long *bad, size_t n_bad, uint64_t max_bytes)
{
	char err[256];

	x->base = event_base_new();
	x->m = make_matcher(f, "alpha", "beta");
	x->c = xcalloc(1, sizeof(*x->c));
	x->c->in_order = true;
	x->body = make_body(n, bad, n_bad, &x->len);
	x->in = intake_new(x->base, workers,
			   max_bytes != 0 ? max_bytes : x->len + x->len / 2,
			   &ops, x->c, err, sizeof(err));
	CHECK(x->in != NULL);
	intake_set_matcher(x->in, x->m, 2);
}

static void teardown(struct fixture *x)
{
	intake_free(x->in);
	matcher_free(x->m);
	free(x->body);
	for (int i = 0; i < 8; i++) {
		free(x->c->reply[i]);
	}
	free(x->c);
	event_base_free(x->base);
}

/* Two pushes of several chunks each, back to back, on two workers, then
 * the same with none: the same lines, in order, with the same rules. */
static void test_order(const struct fold *f, unsigned workers)
{
	static const long bad[] = {5, 2500, 2999};
	struct fixture x;
	struct ctx *c;
	size_t blank = 3000 / 97;

	setup(&x, f, workers, 3000, bad, 3, 64u << 20);
	c = x.c;
	CHECK(x.len > 300 * 1024); /* several chunks */
	for (int i = 0; i < 2; i++) {
		CHECK_INT(
			intake_push(x.in, 3, NULL, x.body, x.len, on_reply, c),
			INTAKE_QUEUED);
	}
	if (workers == 0) {
		/* answered in the call */
		CHECK_INT(c->replies, 2);
	}
	run_until(x.base, c, 2);
	CHECK_INT(c->replies, 2);
	CHECK(c->in_order);
	CHECK_INT(c->n_seen, 2 * (3000 - 3 - blank));
	CHECK(c->counted >= 6);
	CHECK(intake_empty(x.in));
	for (int p = 0; p < 2 && c->reply[p] != NULL; p++) {
		CHECK_INT(reply_int(c->reply[p], "accepted"), 3000 - 3 - blank);
		CHECK_INT(reply_int(c->reply[p], "rejected"), 3);
		CHECK_INT(error_line(c->reply[p], 0), 5);
		CHECK_INT(error_line(c->reply[p], 1), 2500);
		CHECK_INT(error_line(c->reply[p], 2), 2999);
	}
	for (size_t i = 0; i < c->n_seen; i++) {
		const struct seen *s = &c->seen[i];

		if (s->rules != (s->line % 2 == 0 ? 1 : 2)) {
			CHECK_INT(s->rules, s->line % 2 == 0 ? 1 : 2);
			break;
		}
	}
	CHECK_INT(c->seen[0].push, 0);
	CHECK_INT(c->seen[c->n_seen - 1].push, 1);
	CHECK_INT(intake_stats(x.in).pushes, 2);
	CHECK_INT(intake_stats(x.in).held_bytes, 0);
	teardown(&x);
}

/* Held (a reload waiting): bodies wait, past max_bytes a push is busy,
 * the matcher can be swapped, and what was held is matched with the
 * new one once released. Closing refuses pushes and finishes those taken. */
static void test_hold_busy_close(const struct fold *f)
{
	struct fixture x;
	struct matcher *m2 = make_matcher(f, "beta", "alpha");
	struct ctx *c;

	setup(&x, f, 1, 4, NULL, 0, 0);
	c = x.c;
	intake_hold(x.in, true);
	CHECK_INT(intake_push(x.in, 3, "push", x.body, x.len, on_reply, c),
		  INTAKE_QUEUED);
	CHECK_INT(intake_push(x.in, 3, "push", x.body, x.len, on_reply, c),
		  INTAKE_BUSY);
	CHECK_INT(intake_stats(x.in).busy, 1);
	CHECK_INT(intake_stats(x.in).held_bytes, x.len);
	for (int i = 0; i < 20; i++) {
		event_base_loop(x.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	}
	CHECK_INT(c->replies, 0);
	CHECK(intake_quiet(x.in));
	CHECK(!intake_empty(x.in));
	intake_set_matcher(x.in, m2, 2);
	intake_hold(x.in, false);
	run_until(x.base, c, 1);
	CHECK_INT(c->replies, 1);
	CHECK_INT(c->n_seen, 4);
	/* line 2 says alpha: rule 1 under the new matcher */
	CHECK_INT(c->seen[1].line, 2);
	CHECK_INT(c->seen[1].rules, 2);
	CHECK_INT(c->seen[0].rules, 1);
	CHECK_INT(intake_push(x.in, 3, "push", x.body, x.len, on_reply, c),
		  INTAKE_QUEUED);
	intake_close(x.in);
	CHECK_INT(intake_push(x.in, 3, "push", x.body, x.len, on_reply, c),
		  INTAKE_CLOSED);
	run_until(x.base, c, 2);
	CHECK_INT(c->replies, 2);
	CHECK(intake_empty(x.in));
	teardown(&x);
	matcher_free(m2);
}

/* Freed with pushes in flight: nothing answered, nothing leaked. */
static void test_free_in_flight(const struct fold *f)
{
	struct fixture x;

	setup(&x, f, 2, 2000, NULL, 0, 64u << 20);
	for (int i = 0; i < 4; i++) {
		CHECK_INT(intake_push(x.in, 3, NULL, x.body, x.len, on_reply,
				      x.c),
			  INTAKE_QUEUED);
	}
	intake_free(x.in);
	x.in = NULL;
	CHECK_INT(x.c->replies, 0);
	teardown(&x);
}

int main(void)
{
	struct fold *f = fold_new();

	test_order(f, 2);
	test_order(f, 1);
	test_order(f, 0);
	test_hold_busy_close(f);
	test_free_in_flight(f);
	fold_free(f);
	return check_done();
}
