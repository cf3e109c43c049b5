/* SPDX-License-Identifier: MIT */
/*
 * Webhook and log delivery against a real HTTP sink: evhttp on 127.0.0.1
 * port 0 in the same loop as lib/io/deliver, which records every request
 * and can answer 500 (or 503, 429 with Retry-After) a few times, 400, or
 * never. Waits poll the loop against a deadline.
 */
#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hark-config.h"
#include "config/config.h"
#include "io/deliver.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include "../unit/check.h"

#define MAX_REQS 16

enum sink_mode {
	SINK_OK,
	SINK_500,        /* 500 fail_left times, then 200 */
	SINK_400,
	SINK_STALL,      /* never answers */
	SINK_RETRY_AFTER /* 429 with Retry-After: retry_after_s once, then 200 */
};

struct sink_req {
	char *method;
	char *uri;
	char *content_type;
	char *webhook_id;
	char *user_agent;
	char *custom;
	char *empty;
	char *expect;
	char *body;
	size_t len;
	int64_t at_ms;
};

struct sink {
	struct evhttp *http;
	int port;
	enum sink_mode mode;
	int fail_left;
	int retry_after_s;
	struct sink_req reqs[MAX_REQS];
	int n;
};

static struct event_base *base;

static char *dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void sink_cb(struct evhttp_request *req, void *arg)
{
	struct sink *s = arg;
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	struct sink_req *r;
	char ra[16];

	if (s->n < MAX_REQS) {
		r = &s->reqs[s->n];
		r->method = xstrdup(evhttp_request_get_command(req) ==
						    EVHTTP_REQ_POST
					    ? "POST"
					    : "OTHER");
		r->uri = xstrdup(evhttp_request_get_uri(req));
		r->content_type = dup_or_null(evhttp_find_header(in,
							"Content-Type"));
		r->webhook_id = dup_or_null(evhttp_find_header(in,
							       "webhook-id"));
		r->user_agent = dup_or_null(evhttp_find_header(in,
							       "User-Agent"));
		r->custom = dup_or_null(evhttp_find_header(in, "X-Custom"));
		r->empty = dup_or_null(evhttp_find_header(in, "X-Empty"));
		r->expect = dup_or_null(evhttp_find_header(in, "Expect"));
		r->len = evbuffer_get_length(body);
		r->body = xmalloc(r->len + 1);
		evbuffer_copyout(body, r->body, r->len);
		r->body[r->len] = '\0';
		r->at_ms = timeutil_mono_ms();
	}
	s->n++;
	switch (s->mode) {
	case SINK_OK:
		evhttp_send_reply(req, 204, "No Content", NULL);
		break;
	case SINK_500:
		if (s->fail_left > 0) {
			s->fail_left--;
			evhttp_send_reply(req, 500, "Internal Server Error",
					  NULL);
		} else {
			evhttp_send_reply(req, 200, "OK", NULL);
		}
		break;
	case SINK_400:
		evhttp_send_reply(req, 400, "Bad Request", NULL);
		break;
	case SINK_STALL:
		break;
	case SINK_RETRY_AFTER:
		if (s->fail_left > 0) {
			s->fail_left--;
			snprintf(ra, sizeof(ra), "%d", s->retry_after_s);
			evhttp_add_header(evhttp_request_get_output_headers(req),
					  "Retry-After", ra);
			evhttp_send_reply(req, 429, "Too Many Requests", NULL);
		} else {
			evhttp_send_reply(req, 200, "OK", NULL);
		}
		break;
	}
}

static void sink_start(struct sink *s, enum sink_mode mode, int fail_left)
{
	struct evhttp_bound_socket *bound;
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);

	memset(s, 0, sizeof(*s));
	s->mode = mode;
	s->fail_left = fail_left;
	s->http = evhttp_new(base);
	HARK_ASSERT(s->http != NULL);
	evhttp_set_gencb(s->http, sink_cb, s);
	bound = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
	HARK_ASSERT(bound != NULL);
	HARK_ASSERT(getsockname(evhttp_bound_socket_get_fd(bound),
				(struct sockaddr *)&sin, &slen) == 0);
	s->port = ntohs(sin.sin_port);
}

static void sink_stop(struct sink *s)
{
	int i;

	for (i = 0; i < s->n && i < MAX_REQS; i++) {
		struct sink_req *r = &s->reqs[i];

		free(r->method);
		free(r->uri);
		free(r->content_type);
		free(r->webhook_id);
		free(r->user_agent);
		free(r->custom);
		free(r->empty);
		free(r->expect);
		free(r->body);
	}
	evhttp_free(s->http);
	s->http = NULL;
}

/* A loopback port with nothing listening: bind, read the port, close. */
static int closed_port(void)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int port;

	HARK_ASSERT(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	HARK_ASSERT(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	HARK_ASSERT(getsockname(fd, (struct sockaddr *)&sin, &slen) == 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* Keeps EVLOOP_ONCE from sleeping past a wait's deadline. */
static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
}

#define WAIT_FOR(cond, ms)                                              \
	do {                                                            \
		int64_t wait_dl_ = timeutil_mono_ms() + (ms);           \
		while (!(cond) && timeutil_mono_ms() < wait_dl_) {      \
			event_base_loop(base, EVLOOP_ONCE);             \
		}                                                       \
	} while (0)

static struct config_receiver webhook(char *url, int64_t timeout_ms,
				      int64_t retries)
{
	struct config_receiver r;

	memset(&r, 0, sizeof(r));
	r.name = "hook";
	r.type = CONFIG_RECEIVER_WEBHOOK;
	r.url = url;
	r.timeout_ms = timeout_ms;
	r.retries = retries;
	return r;
}

static void test_post(void)
{
	static const char body[] = "{\"version\":1,\"id\":\"a1\",\"count\":240}";
	struct config_header hdrs[] = {
		{"X-Custom", "abc def"},
		{"X-Empty", ""},
	};
	struct config_receiver r;
	struct deliver_stats st;
	struct deliver *d;
	struct sink s;
	char *url;
	char *big;
	size_t big_len = 200 * 1024;
	int64_t t0;

	sink_start(&s, SINK_OK, 0);
	url = xasprintf("http://127.0.0.1:%d/hooks/abc?token=t1", s.port);
	r = webhook(url, 2000, 3);
	r.headers = hdrs;
	r.n_headers = 2;
	d = deliver_new(base);

	deliver_send(d, &r, 3, "a1", body, strlen(body), NULL);
	/* Nothing happens before the loop runs: the send never blocks. */
	CHECK_INT(s.n, 0);
	CHECK_INT(deliver_stats(d, 3).inflight, 1);
	WAIT_FOR(deliver_stats(d, 3).inflight == 0, 5000);
	st = deliver_stats(d, 3);
	CHECK_INT(st.sent, 1);
	CHECK_INT(st.failed, 0);
	CHECK_INT(st.retries, 0);
	CHECK_INT(st.inflight, 0);
	CHECK_INT(deliver_stats(d, 0).sent, 0);
	CHECK_INT(deliver_stats(d, 99).sent, 0);
	CHECK_INT(s.n, 1);
	if (s.n >= 1) {
		CHECK_STR(s.reqs[0].method, "POST");
		CHECK_STR(s.reqs[0].uri, "/hooks/abc?token=t1");
		CHECK_STR(s.reqs[0].body, body);
		CHECK_INT(s.reqs[0].len, strlen(body));
		CHECK_STR(s.reqs[0].content_type, "application/json");
		CHECK_STR(s.reqs[0].webhook_id, "a1");
		CHECK_STR(s.reqs[0].user_agent, "hark/" HARK_VERSION);
		CHECK_STR(s.reqs[0].custom, "abc def");
		CHECK_STR(s.reqs[0].empty, "");
	}

	/* A big body arrives whole and without a 100-continue stall. */
	big = xmalloc(big_len);
	memset(big, 'x', big_len);
	big[0] = '"';
	big[big_len - 1] = '"';
	t0 = timeutil_mono_ms();
	deliver_send(d, &r, 3, "a2", big, big_len, NULL);
	WAIT_FOR(deliver_stats(d, 3).inflight == 0, 5000);
	CHECK_INT(deliver_stats(d, 3).sent, 2);
	CHECK(timeutil_mono_ms() - t0 < 900);
	CHECK_INT(s.n, 2);
	if (s.n >= 2) {
		CHECK_INT(s.reqs[1].len, big_len);
		CHECK(s.reqs[1].len == big_len &&
		      memcmp(s.reqs[1].body, big, big_len) == 0);
		CHECK_STR(s.reqs[1].webhook_id, "a2");
		CHECK(s.reqs[1].expect == NULL);
	}
	free(big);
	deliver_free(d);
	sink_stop(&s);
	free(url);
}

static void test_500_then_ok(void)
{
	struct config_receiver r;
	struct deliver_stats st;
	struct deliver *d;
	struct sink s;
	char *url;
	int i;

	sink_start(&s, SINK_500, 2);
	url = xasprintf("http://127.0.0.1:%d/h", s.port);
	r = webhook(url, 2000, 5);
	d = deliver_new(base);
	deliver_send(d, &r, 0, "b2", "{}", 2, NULL);
	WAIT_FOR(deliver_stats(d, 0).inflight == 0, 10000);
	st = deliver_stats(d, 0);
	CHECK_INT(st.sent, 1);
	CHECK_INT(st.failed, 0);
	CHECK_INT(st.retries, 2);
	CHECK_INT(s.n, 3);
	for (i = 0; i < s.n && i < 3; i++) {
		CHECK_STR(s.reqs[i].webhook_id, "b2");
		CHECK_STR(s.reqs[i].body, "{}");
	}
	if (s.n >= 3) {
		/* backoff: retry 1 after 0.5–1 s, retry 2 after 1–2 s */
		CHECK(s.reqs[1].at_ms - s.reqs[0].at_ms >= 450);
		CHECK(s.reqs[1].at_ms - s.reqs[0].at_ms <= 1500);
		CHECK(s.reqs[2].at_ms - s.reqs[1].at_ms >= 950);
		CHECK(s.reqs[2].at_ms - s.reqs[1].at_ms <= 2500);
	}
	deliver_free(d);
	sink_stop(&s);
	free(url);
}

static bool file_contains(FILE *f, const char *needle)
{
	char buf[8192];
	size_t n;

	fflush(f);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

static void test_400(void)
{
	struct config_receiver r;
	struct deliver_stats st;
	struct deliver *d;
	struct sink s;
	char *url;
	char *shown;
	FILE *logf = tmpfile();
	int saved = dup(STDERR_FILENO);

	HARK_ASSERT(logf != NULL && saved >= 0);
	sink_start(&s, SINK_400, 0);
	url = xasprintf("http://user:pw@127.0.0.1:%d/secret-path?token=sekrit",
			s.port);
	shown = xasprintf("http://127.0.0.1:%d/\xe2\x80\xa6", s.port);
	r = webhook(url, 2000, 5);
	d = deliver_new(base);
	dup2(fileno(logf), STDERR_FILENO);
	deliver_send(d, &r, 1, "c3", "{}", 2, NULL);
	WAIT_FOR(deliver_stats(d, 1).inflight == 0, 5000);
	dup2(saved, STDERR_FILENO);
	close(saved);
	st = deliver_stats(d, 1);
	CHECK_INT(st.failed, 1);
	CHECK_INT(st.sent, 0);
	CHECK_INT(st.retries, 0);
	CHECK_INT(s.n, 1);
	/* The warning names the receiver but never the path or credentials. */
	CHECK(file_contains(logf, "receiver=hook"));
	CHECK(file_contains(logf, shown));
	CHECK(!file_contains(logf, "secret-path"));
	CHECK(!file_contains(logf, "sekrit"));
	CHECK(!file_contains(logf, "pw@"));
	fclose(logf);
	deliver_free(d);
	sink_stop(&s);
	free(shown);
	free(url);
}

static void test_stall(void)
{
	struct config_receiver r;
	struct deliver_stats st;
	struct deliver *d;
	struct sink s;
	char *url;
	int64_t t0;

	sink_start(&s, SINK_STALL, 0);
	url = xasprintf("http://127.0.0.1:%d/h", s.port);
	r = webhook(url, 300, 1);
	d = deliver_new(base);
	t0 = timeutil_mono_ms();
	deliver_send(d, &r, 0, "d4", "{}", 2, NULL);
	WAIT_FOR(deliver_stats(d, 0).inflight == 0, 5000);
	st = deliver_stats(d, 0);
	CHECK_INT(st.failed, 1);
	CHECK_INT(st.sent, 0);
	CHECK_INT(st.retries, 1);
	CHECK_INT(s.n, 2);
	/* two 300 ms timeouts around a backoff of at least 500 ms */
	CHECK(timeutil_mono_ms() - t0 >= 1050);
	CHECK(timeutil_mono_ms() - t0 < 4000);
	deliver_free(d);
	sink_stop(&s);
	free(url);
}

static void test_refused(void)
{
	struct config_receiver r;
	struct deliver_stats st;
	struct deliver *d;
	char *url;
	int64_t t0;

	url = xasprintf("http://127.0.0.1:%d/h", closed_port());
	r = webhook(url, 1000, 2);
	d = deliver_new(base);
	t0 = timeutil_mono_ms();
	deliver_send(d, &r, 0, "e5", "{}", 2, NULL);
	WAIT_FOR(deliver_stats(d, 0).inflight == 0, 10000);
	st = deliver_stats(d, 0);
	CHECK_INT(st.failed, 1);
	CHECK_INT(st.sent, 0);
	CHECK_INT(st.retries, 2);
	CHECK_INT(st.inflight, 0);
	/* retries waited 0.5–1 s then 1–2 s */
	CHECK(timeutil_mono_ms() - t0 >= 1450);
	deliver_free(d);
	free(url);
}

static void test_retry_after(void)
{
	struct config_receiver r;
	struct deliver_stats st;
	struct deliver *d;
	struct sink s;
	char *url;

	/* 2 s is beyond any first backoff (at most 1 s): only Retry-After
	 * can explain a wait that long. */
	sink_start(&s, SINK_RETRY_AFTER, 1);
	s.retry_after_s = 2;
	url = xasprintf("http://127.0.0.1:%d/h", s.port);
	r = webhook(url, 2000, 3);
	d = deliver_new(base);
	deliver_send(d, &r, 0, "f6", "{}", 2, NULL);
	WAIT_FOR(deliver_stats(d, 0).inflight == 0, 6000);
	st = deliver_stats(d, 0);
	CHECK_INT(st.sent, 1);
	CHECK_INT(st.retries, 1);
	CHECK_INT(s.n, 2);
	if (s.n >= 2) {
		CHECK(s.reqs[1].at_ms - s.reqs[0].at_ms >= 1950);
		CHECK(s.reqs[1].at_ms - s.reqs[0].at_ms < 3500);
		CHECK_STR(s.reqs[1].webhook_id, "f6");
	}
	deliver_free(d);
	sink_stop(&s);
	free(url);
}

static void test_log_receiver(void)
{
	struct config_receiver r;
	struct deliver_stats st;
	struct deliver *d;
	FILE *out = tmpfile();
	int saved = dup(STDOUT_FILENO);

	HARK_ASSERT(out != NULL && saved >= 0);
	memset(&r, 0, sizeof(r));
	r.name = "log";
	r.type = CONFIG_RECEIVER_LOG;
	d = deliver_new(base);
	fflush(stdout);
	dup2(fileno(out), STDOUT_FILENO);
	deliver_send(d, &r, 2, "g7", "{\"x\":1}", 7, "brand: 240 mentions");
	deliver_send(d, &r, 2, "g8", "{\"x\":2}", 7, NULL);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	st = deliver_stats(d, 2);
	CHECK_INT(st.sent, 2);
	CHECK_INT(st.failed, 0);
	CHECK_INT(st.inflight, 0);
	CHECK(file_contains(out, "brand: 240 mentions\n{\"x\":2}\n"));
	CHECK(!file_contains(out, "{\"x\":1}"));
	fclose(out);
	deliver_free(d);
}

static int done_calls;

static void done_cb(void *arg)
{
	done_calls++;
	*(int64_t *)arg = timeutil_mono_ms();
}

static void test_drain_retry(void)
{
	struct config_receiver r;
	struct deliver_stats st;
	struct deliver *d;
	struct sink s;
	char *url;
	int64_t t0;
	int64_t done_at = 0;

	sink_start(&s, SINK_500, 1);
	url = xasprintf("http://127.0.0.1:%d/h", s.port);
	r = webhook(url, 2000, 5);
	d = deliver_new(base);
	deliver_send(d, &r, 0, "h8", "{}", 2, NULL);
	WAIT_FOR(s.n >= 1, 3000);
	/* let curl read the 500 so that a retry timer is pending */
	WAIT_FOR(false, 100);
	CHECK_INT(s.n, 1);
	CHECK_INT(deliver_stats(d, 0).inflight, 1);
	done_calls = 0;
	t0 = timeutil_mono_ms();
	deliver_drain(d, t0 + 5000, done_cb, &done_at);
	CHECK_INT(done_calls, 0);
	WAIT_FOR(done_calls > 0, 3000);
	CHECK_INT(done_calls, 1);
	/* the retry did not wait for its backoff (at least 500 ms) */
	CHECK(done_at - t0 < 450);
	st = deliver_stats(d, 0);
	CHECK_INT(st.sent, 1);
	CHECK_INT(st.retries, 1);
	CHECK_INT(st.inflight, 0);
	CHECK_INT(s.n, 2);
	WAIT_FOR(false, 50);
	CHECK_INT(done_calls, 1);
	deliver_free(d);
	sink_stop(&s);
	free(url);
}

static void test_drain_deadline(void)
{
	struct config_receiver r;
	struct deliver_stats st;
	struct deliver *d;
	struct sink s;
	char *url;
	int64_t t0;
	int64_t done_at = 0;

	sink_start(&s, SINK_STALL, 0);
	url = xasprintf("http://127.0.0.1:%d/h", s.port);
	r = webhook(url, 10000, 5);
	d = deliver_new(base);
	deliver_send(d, &r, 0, "i9", "{}", 2, NULL);
	deliver_send(d, &r, 0, "i10", "{}", 2, NULL);
	WAIT_FOR(s.n >= 2, 3000);
	CHECK_INT(s.n, 2);
	done_calls = 0;
	t0 = timeutil_mono_ms();
	deliver_drain(d, t0 + 300, done_cb, &done_at);
	CHECK_INT(done_calls, 0);
	WAIT_FOR(done_calls > 0, 3000);
	CHECK_INT(done_calls, 1);
	CHECK(done_at - t0 >= 290);
	CHECK(done_at - t0 < 1500);
	st = deliver_stats(d, 0);
	CHECK_INT(st.failed, 2);
	CHECK_INT(st.sent, 0);
	CHECK_INT(st.inflight, 0);
	WAIT_FOR(false, 50);
	CHECK_INT(done_calls, 1);
	deliver_free(d);
	sink_stop(&s);
	free(url);
}

static void test_drain_idle_and_free_inflight(void)
{
	struct config_receiver r;
	struct deliver *d;
	struct sink s;
	char *url;
	int64_t done_at = 0;

	/* Nothing in flight: done still comes from the loop, not the call. */
	d = deliver_new(base);
	done_calls = 0;
	deliver_drain(d, timeutil_mono_ms() + 1000, done_cb, &done_at);
	CHECK_INT(done_calls, 0);
	WAIT_FOR(done_calls > 0, 1000);
	CHECK_INT(done_calls, 1);
	deliver_free(d);

	/* Freeing with a request in flight leaks nothing. */
	sink_start(&s, SINK_STALL, 0);
	url = xasprintf("http://127.0.0.1:%d/h", s.port);
	r = webhook(url, 10000, 5);
	d = deliver_new(base);
	deliver_send(d, &r, 0, "j11", "{}", 2, NULL);
	WAIT_FOR(s.n >= 1, 3000);
	CHECK_INT(s.n, 1);
	CHECK_INT(deliver_stats(d, 0).inflight, 1);
	deliver_free(d);
	sink_stop(&s);
	free(url);
}

int main(void)
{
	struct timeval tick = {0, 10 * 1000};
	struct event *tick_ev;

	base = event_base_new();
	HARK_ASSERT(base != NULL);
	tick_ev = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	event_add(tick_ev, &tick);

	test_post();
	test_500_then_ok();
	test_400();
	test_stall();
	test_refused();
	test_retry_after();
	test_log_receiver();
	test_drain_retry();
	test_drain_deadline();
	test_drain_idle_and_free_inflight();

	event_free(tick_ev);
	event_base_free(base);
	return check_done();
}
