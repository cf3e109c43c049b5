/* SPDX-License-Identifier: MIT */
/*
 * Webhook, Alertmanager, e-mail and log delivery against real servers: an
 * SMTP server (python3 -m aiosmtpd) for e-mail, and an HTTP sink: evhttp on 127.0.0.1
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hark-config.h"
#include "config/config.h"
#include "core/mention.h"
#include "core/render.h"
#include "io/deliver.h"
#include "io/store.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include "../unit/check.h"

#define MAX_REQS 16

enum sink_mode {
	SINK_OK,
	SINK_500, /* 500 fail_left times, then 200 */
	SINK_400,
	SINK_STALL,       /* never answers */
	SINK_RETRY_AFTER, /* 429 with Retry-After: retry_after_s once, then 200 */
	SINK_410
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
	char *wh_ts;
	char *wh_sig;
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
		r->content_type =
			dup_or_null(evhttp_find_header(in, "Content-Type"));
		r->webhook_id =
			dup_or_null(evhttp_find_header(in, "webhook-id"));
		r->user_agent =
			dup_or_null(evhttp_find_header(in, "User-Agent"));
		r->custom = dup_or_null(evhttp_find_header(in, "X-Custom"));
		r->empty = dup_or_null(evhttp_find_header(in, "X-Empty"));
		r->expect = dup_or_null(evhttp_find_header(in, "Expect"));
		r->wh_ts = dup_or_null(
			evhttp_find_header(in, "webhook-timestamp"));
		r->wh_sig = dup_or_null(
			evhttp_find_header(in, "webhook-signature"));
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
	case SINK_410:
		evhttp_send_reply(req, 410, "Gone", NULL);
		break;
	case SINK_RETRY_AFTER:
		if (s->fail_left > 0) {
			s->fail_left--;
			snprintf(ra, sizeof(ra), "%d", s->retry_after_s);
			evhttp_add_header(
				evhttp_request_get_output_headers(req),
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
		free(r->wh_ts);
		free(r->wh_sig);
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

#define WAIT_FOR(cond, ms)                                         \
	do {                                                       \
		int64_t wait_dl_ = timeutil_mono_ms() + (ms);      \
		while (!(cond) && timeutil_mono_ms() < wait_dl_) { \
			event_base_loop(base, EVLOOP_ONCE);        \
		}                                                  \
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
	static const char body[] =
		"{\"version\":1,\"id\":\"a1\",\"count\":240}";
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
	d = deliver_new(base, NULL, NULL);

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
	d = deliver_new(base, NULL, NULL);
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
	d = deliver_new(base, NULL, NULL);
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
	d = deliver_new(base, NULL, NULL);
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
	d = deliver_new(base, NULL, NULL);
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
	d = deliver_new(base, NULL, NULL);
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
	d = deliver_new(base, NULL, NULL);
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
	d = deliver_new(base, NULL, NULL);
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
	d = deliver_new(base, NULL, NULL);
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
	d = deliver_new(base, NULL, NULL);
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
	d = deliver_new(base, NULL, NULL);
	deliver_send(d, &r, 0, "j11", "{}", 2, NULL);
	WAIT_FOR(s.n >= 1, 3000);
	CHECK_INT(s.n, 1);
	CHECK_INT(deliver_stats(d, 0).inflight, 1);
	deliver_free(d);
	sink_stop(&s);
	free(url);
}

/* ---- signing, 410, rate limit, Alertmanager, SMTP ---- */

/* Runs python3 -c prog with argv; returns its exit status. */
static int run_python(const char *prog, const char *a1, const char *a2)
{
	pid_t pid = fork();
	int st = 0;

	HARK_ASSERT(pid >= 0);
	if (pid == 0) {
		execl("/usr/bin/python3", "python3", "-c", prog, a1, a2,
		      (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0) {
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* An independent Standard Webhooks check: Python's hmac over the
 * captured attempts, each line "id\tts\tsig\tbody-hex". */
static const char verify_py[] =
	"import sys,hmac,hashlib,base64\n"
	"keys=[base64.b64decode(k[6:]) if k.startswith('whsec_') else "
	"k.encode() for k in sys.argv[2].split()]\n"
	"n=0\n"
	"for line in open(sys.argv[1]):\n"
	"  i,ts,sig,body=line.rstrip('\\n').split('\\t')\n"
	"  got=set(s.split(',',1)[1] for s in sig.split() if "
	"s.startswith('v1,'))\n"
	"  msg=(i+'.'+ts+'.').encode()+bytes.fromhex(body)\n"
	"  for k in keys:\n"
	"    want=base64.b64encode(hmac.new(k,msg,hashlib.sha256).digest())"
	".decode()\n"
	"    assert want in got,(want,got)\n"
	"  n+=1\n"
	"sys.exit(0 if n>0 else 3)\n";

static void test_signed(void)
{
	static const char secrets[] =
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw old-raw-secret";
	static const char body[] = "{\"version\":1,\"id\":\"s1\"}";
	char path[] = "/tmp/hark-sigXXXXXX";
	struct config_receiver r;
	struct deliver *d;
	struct sink s;
	char *url;
	FILE *f;
	int fd;

	sink_start(&s, SINK_500, 2);
	url = xasprintf("http://127.0.0.1:%d/h", s.port);
	r = webhook(url, 2000, 5);
	r.secret = (char *)secrets;
	d = deliver_new(base, NULL, NULL);
	deliver_send(d, &r, 0, "s1", body, strlen(body), NULL);
	WAIT_FOR(deliver_stats(d, 0).inflight == 0, 10000);
	CHECK_INT(deliver_stats(d, 0).sent, 1);
	CHECK_INT(s.n, 3);
	fd = mkstemp(path);
	HARK_ASSERT(fd >= 0);
	f = fdopen(fd, "w");
	for (int i = 0; i < s.n && i < MAX_REQS; i++) {
		/* Same id on every attempt; a signature per secret. */
		CHECK_STR(s.reqs[i].webhook_id, "s1");
		CHECK(s.reqs[i].wh_ts != NULL && s.reqs[i].wh_sig != NULL);
		if (s.reqs[i].wh_ts == NULL || s.reqs[i].wh_sig == NULL) {
			continue;
		}
		CHECK(llabs(atoll(s.reqs[i].wh_ts) - timeutil_now_ms() / 1000) <
		      30);
		CHECK(strchr(s.reqs[i].wh_sig, ' ') != NULL);
		fprintf(f, "%s\t%s\t%s\t", s.reqs[i].webhook_id,
			s.reqs[i].wh_ts, s.reqs[i].wh_sig);
		for (size_t k = 0; k < s.reqs[i].len; k++) {
			fprintf(f, "%02x", (unsigned char)s.reqs[i].body[k]);
		}
		fputc('\n', f);
	}
	fclose(f);
	CHECK_INT(run_python(verify_py, path, secrets), 0);
	/* The checker does fail on a wrong key. */
	CHECK(run_python(verify_py, path, "other-secret") != 0);
	unlink(path);
	deliver_free(d);
	sink_stop(&s);
	free(url);

	/* No secret: no signature headers. */
	sink_start(&s, SINK_OK, 0);
	url = xasprintf("http://127.0.0.1:%d/h", s.port);
	r = webhook(url, 2000, 0);
	d = deliver_new(base, NULL, NULL);
	deliver_send(d, &r, 0, "s2", body, strlen(body), NULL);
	WAIT_FOR(deliver_stats(d, 0).inflight == 0, 5000);
	CHECK_INT(s.n, 1);
	if (s.n >= 1) {
		CHECK(s.reqs[0].wh_sig == NULL && s.reqs[0].wh_ts == NULL);
	}
	/* A bad secret sends nothing rather than something unsigned. */
	r.secret = (char *)"whsec_***";
	deliver_send(d, &r, 1, "s3", body, strlen(body), NULL);
	CHECK_INT(deliver_stats(d, 1).failed, 1);
	WAIT_FOR(false, 200);
	CHECK_INT(s.n, 1);
	deliver_free(d);
	sink_stop(&s);
	free(url);
}

static void test_gone(void)
{
	struct config_receiver r;
	struct deliver *d;
	struct sink s;
	char *url;

	sink_start(&s, SINK_410, 0);
	url = xasprintf("http://127.0.0.1:%d/h", s.port);
	r = webhook(url, 2000, 5);
	d = deliver_new(base, NULL, NULL);
	deliver_send(d, &r, 0, "g1", "{}", 2, NULL);
	WAIT_FOR(deliver_stats(d, 0).inflight == 0, 5000);
	CHECK_INT(deliver_stats(d, 0).failed, 1);
	CHECK_INT(deliver_stats(d, 0).retries, 0);
	/* Disabled: the next one is not even attempted. */
	deliver_send(d, &r, 0, "g2", "{}", 2, NULL);
	WAIT_FOR(false, 200);
	CHECK_INT(deliver_stats(d, 0).failed, 2);
	CHECK_INT(s.n, 1);
	deliver_free(d);
	sink_stop(&s);
	free(url);
}

static void test_rate_limit(void)
{
	struct config_receiver r;
	struct deliver *d;
	struct sink s;
	char *url;
	char id[16];

	sink_start(&s, SINK_OK, 0);
	url = xasprintf("http://127.0.0.1:%d/h", s.port);
	r = webhook(url, 2000, 0);
	r.rate_limit_ms = 300;
	d = deliver_new(base, NULL, NULL);
	for (int i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "r%d", i);
		deliver_send(d, &r, 0, id, "{}", 2, NULL);
	}
	WAIT_FOR(deliver_stats(d, 0).inflight == 0, 5000);
	CHECK_INT(deliver_stats(d, 0).sent, 4);
	CHECK_INT(s.n, 4);
	for (int i = 1; i < s.n && i < 4; i++) {
		snprintf(id, sizeof(id), "r%d", i);
		CHECK_STR(s.reqs[i].webhook_id, id); /* in order */
		CHECK(s.reqs[i].at_ms - s.reqs[i - 1].at_ms >= 270);
	}
	deliver_free(d);
	sink_stop(&s);
	free(url);
}

static void fill_alert(struct alert *a, struct mention *m, const char *st)
{
	memset(m, 0, sizeof(*m));
	m->id = (char *)"m1";
	m->text = (char *)"I love blablacar \xc3\xa9";
	m->lang = (char *)"fr";
	m->author = (char *)"ann";
	m->url = (char *)"https://x.example/1";
	m->created_at_ms = 1795269660000LL;
	m->has_created_at = true;
	memset(a, 0, sizeof(*a));
	a->rule = "brand";
	a->status = st;
	a->window_start_ms = 1795269600000LL;
	a->window_end_ms = 1795269900000LL;
	a->count = 240;
	a->baseline = 31.2;
	a->ratio = 7.7;
	a->score = 12.3;
	a->samples = m;
	a->n_samples = 1;
	render_alert_id(a);
}

static void test_alertmanager(void)
{
	struct config_receiver r;
	struct deliver *d;
	struct mention m;
	struct alert a;
	struct sink s;
	char *url;

	sink_start(&s, SINK_OK, 0);
	url = xasprintf("http://127.0.0.1:%d/am/", s.port);
	memset(&r, 0, sizeof(r));
	r.name = "am";
	r.type = CONFIG_RECEIVER_ALERTMANAGER;
	r.url = url;
	r.timeout_ms = 2000;
	r.resend_ms = 1000;
	d = deliver_new(base, NULL, NULL);
	fill_alert(&a, &m, "firing");
	deliver_alert(d, &r, 0, &a);
	/* The first POST, then a re-send about a second later. */
	WAIT_FOR(s.n >= 2, 3000);
	CHECK_INT(s.n, 2);
	for (int i = 0; i < s.n && i < 2; i++) {
		CHECK_STR(s.reqs[i].uri, "/am/api/v2/alerts");
		CHECK(strstr(s.reqs[i].body, "\"alertname\":\"brand\"") !=
		      NULL);
	}
	if (s.n >= 2) {
		CHECK(s.reqs[1].at_ms - s.reqs[0].at_ms >= 900);
		CHECK(strcmp(s.reqs[0].body, s.reqs[1].body) != 0); /* endsAt */
	}
	fill_alert(&a, &m, "resolved");
	deliver_alert(d, &r, 0, &a);
	WAIT_FOR(s.n >= 3, 3000);
	CHECK_INT(s.n, 3);
	/* Resolved: no more re-sends. */
	WAIT_FOR(false, 1300);
	CHECK_INT(s.n, 3);
	deliver_free(d);
	sink_stop(&s);
	free(url);
}

static const char check_mail_py[] =
	"import sys,email\n"
	"from email import policy\n"
	"t=open(sys.argv[1],encoding='utf-8',errors='replace').read()\n"
	"raw=t.split('---------- MESSAGE FOLLOWS ----------\\n',1)[1]\n"
	"raw=raw.split('------------ END MESSAGE ------------',1)[0]\n"
	"m=email.message_from_string(raw,policy=policy.default)\n"
	"assert "
	"m.get_content_type()=='multipart/alternative',m.get_content_type()\n"
	"assert m['Subject']=='[hark] brand: 240 mentions in 5 min (usual 31)',"
	"m['Subject']\n"
	"assert 'ann@example.org' in m['To'] and 'bob@example.org' in m['To']\n"
	"assert m['Message-ID'] and m['Date'] and m['From']\n"
	"parts=[p.get_content_type() for p in m.iter_parts()]\n"
	"assert parts==['text/plain','text/html'],parts\n"
	"txt=list(m.iter_parts())[0].get_content()\n"
	"html=list(m.iter_parts())[1].get_content()\n"
	"assert 'I love blablacar \\u00e9' in txt,txt\n"
	"assert '<td>240</td>' in html and 'https://x.example/1' in html\n";

static void test_smtp(void)
{
	static const char *const to[] = {"ann@example.org",
					 "Bob <bob@example.org>"};
	char out[] = "/tmp/hark-smtpXXXXXX";
	char listen[64];
	struct config_receiver r;
	struct deliver *d;
	struct mention m;
	struct alert a;
	char *url;
	int port = closed_port();
	pid_t pid;
	int fd = mkstemp(out);

	HARK_ASSERT(fd >= 0);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	pid = fork();
	HARK_ASSERT(pid >= 0);
	if (pid == 0) {
		dup2(fd, 1);
		execl("/usr/bin/python3", "python3", "-m", "aiosmtpd", "-n",
		      "-l", listen, (char *)NULL);
		_exit(127);
	}
	close(fd);
	url = xasprintf("smtp://%s", listen);
	memset(&r, 0, sizeof(r));
	r.name = "mail";
	r.type = CONFIG_RECEIVER_EMAIL;
	r.url = url;
	r.timeout_ms = 5000;
	r.retries = 10; /* the server may take a moment to listen */
	r.starttls = CONFIG_STARTTLS_NEVER;
	r.from = (char *)"hark <hark@alerts.example.org>";
	r.to = (char **)to;
	r.n_to = 2;
	d = deliver_new(base, NULL, NULL);
	fill_alert(&a, &m, "firing");
	deliver_alert(d, &r, 0, &a);
	WAIT_FOR(deliver_stats(d, 0).inflight == 0, 30000);
	CHECK_INT(deliver_stats(d, 0).sent, 1);
	CHECK_INT(deliver_stats(d, 0).failed, 0);
	WAIT_FOR(false, 300); /* let the server flush its output */
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	CHECK_INT(run_python(check_mail_py, out, ""), 0);
	unlink(out);
	deliver_free(d);
	free(url);
}

/* ---- the durable outbox, with the embedded store ---- */

struct got {
	bool done;
	char *val;
};

static void got_cb(void *arg, int status, const char *val, size_t len)
{
	struct got *g = arg;

	g->done = true;
	if (status == 0 && val != NULL) {
		g->val = xmalloc(len + 1);
		memcpy(g->val, val, len);
		g->val[len] = '\0';
	}
}

/* The stored value of key, or NULL; caller frees. */
static char *get_key(struct store *st, const char *key)
{
	struct got g = {false, NULL};

	store_get(st, key, got_cb, &g);
	WAIT_FOR(g.done, 3000);
	return g.val;
}

#define OUTBOX "hark:{fleet}:v2:outbox:hook"
#define DEADLETTER "hark:{fleet}:v2:deadletter:hook"

static bool has(const char *s, const char *part)
{
	return s != NULL && strstr(s, part) != NULL;
}

static void closed_cb(void *arg)
{
	*(bool *)arg = true;
}

static void test_outbox(void)
{
	char snap[] = "/tmp/hark-outboxXXXXXX";
	struct config_receiver r;
	struct deliver *d;
	struct store *st;
	struct mention m;
	struct alert a;
	struct sink s;
	char err[256];
	char *url;
	char *v;
	char firing_id[33];
	bool done = false;
	int fd = mkstemp(snap);

	HARK_ASSERT(fd >= 0);
	close(fd);
	unlink(snap);
	st = store_mem_new(base, snap, err, sizeof(err));
	HARK_ASSERT(st != NULL);

	/* In the outbox while it is attempted, out of it once delivered. */
	sink_start(&s, SINK_500, 2);
	url = xasprintf("http://127.0.0.1:%d/h", s.port);
	r = webhook(url, 2000, 0); /* retries: not what bounds the outbox */
	r.max_age_ms = 60000;
	d = deliver_new(base, st, "hark:");
	deliver_send(d, &r, 0, "o1", "{\"n\":1}", 7, NULL);
	CHECK_INT(s.n, 0);
	CHECK_INT(deliver_stats(d, 0).pending, 1);
	WAIT_FOR(s.n >= 1, 3000);
	v = get_key(st, OUTBOX);
	CHECK(has(v, "\"id\":\"o1\"") && has(v, "\"body\":\"{\\\"n\\\":1}\""));
	free(v);
	WAIT_FOR(deliver_stats(d, 0).inflight == 0, 10000);
	CHECK_INT(deliver_stats(d, 0).sent, 1);
	CHECK_INT(deliver_stats(d, 0).pending, 0);
	CHECK_INT(s.n, 3);
	WAIT_FOR(false, 50);
	v = get_key(st, OUTBOX);
	CHECK(v == NULL); /* the last entry removed, the hash goes */
	free(v);

	/* A rule's notifications arrive in order through failures. */
	sink_stop(&s);
	sink_start(&s, SINK_500, 2);
	free(url);
	url = xasprintf("http://127.0.0.1:%d/h", s.port);
	r.url = url;
	fill_alert(&a, &m, "firing");
	memcpy(firing_id, a.id, sizeof(firing_id));
	deliver_alert(d, &r, 0, &a);
	fill_alert(&a, &m, "resolved");
	deliver_alert(d, &r, 0, &a);
	WAIT_FOR(deliver_stats(d, 0).inflight == 0, 15000);
	CHECK_INT(deliver_stats(d, 0).sent, 3);
	CHECK_INT(s.n, 4);
	for (int i = 0; i < s.n && i < 3; i++) {
		CHECK_STR(s.reqs[i].webhook_id, firing_id);
	}
	if (s.n >= 4) {
		CHECK_STR(s.reqs[3].webhook_id, a.id);
	}
	sink_stop(&s);

	/* 400: straight to the dead-letter list, with the reason. */
	sink_start(&s, SINK_400, 0);
	free(url);
	url = xasprintf("http://127.0.0.1:%d/h", s.port);
	r.url = url;
	deliver_send(d, &r, 0, "o2", "{}", 2, NULL);
	WAIT_FOR(deliver_stats(d, 0).inflight == 0, 5000);
	CHECK_INT(deliver_stats(d, 0).deadletter, 1);
	CHECK_INT(deliver_stats(d, 0).pending, 0);
	WAIT_FOR(false, 50);
	v = get_key(st, DEADLETTER);
	CHECK(has(v, "\"id\":\"o2\"") && has(v, "\"reason\":\"HTTP 400\""));
	free(v);
	sink_stop(&s);

	/* Receiver down at a drain: kept in the outbox, not retried. */
	free(url);
	url = xasprintf("http://127.0.0.1:%d/h", closed_port());
	r.url = url;
	deliver_send(d, &r, 0, "o3", "{\"n\":3}", 7, NULL);
	WAIT_FOR(deliver_stats(d, 0).retries >= 1, 5000);
	deliver_drain(d, timeutil_mono_ms() + 3000, closed_cb, &done);
	WAIT_FOR(done, 4000);
	CHECK(done);
	CHECK_INT(deliver_stats(d, 0).pending, 1);
	CHECK_INT(deliver_stats(d, 0).inflight, 0);
	done = false;
	store_close(st, closed_cb, &done);
	WAIT_FOR(done, 3000);
	deliver_free(d);
	store_free(st);

	/* The next run resumes it with the same id, and expires an old one
	 * that an earlier run left. */
	st = store_mem_new(base, snap, err, sizeof(err));
	HARK_ASSERT(st != NULL);
	v = get_key(st, OUTBOX);
	CHECK(has(v, "\"id\":\"o3\""));
	free(v);
	sink_start(&s, SINK_OK, 0);
	free(url);
	url = xasprintf("http://127.0.0.1:%d/h", s.port);
	r.url = url;
	d = deliver_new(base, st, "hark:");
	deliver_resume(d, &r, 1);
	WAIT_FOR(deliver_stats(d, 0).sent == 1, 5000);
	CHECK_INT(s.n, 1);
	if (s.n >= 1) {
		CHECK_STR(s.reqs[0].webhook_id, "o3");
		CHECK_STR(s.reqs[0].body, "{\"n\":3}");
	}
	WAIT_FOR(false, 50);
	v = get_key(st, OUTBOX);
	CHECK(v == NULL);
	free(v);
	{
		static const char old[] =
			"{\"version\":1,\"entries\":[{\"id\":\"o4\","
			"\"created_at_ms\":1000,\"attempts\":7,"
			"\"body\":\"{}\"}]}";

		store_set(st, "hark:v1:outbox:hook", old, strlen(old), 0, NULL,
			  NULL);
	}
	deliver_free(d);
	d = deliver_new(base, st, "hark:");
	deliver_resume(d, &r, 1);
	WAIT_FOR(deliver_stats(d, 0).deadletter == 1, 3000);
	CHECK_INT(deliver_stats(d, 0).deadletter, 1);
	WAIT_FOR(false, 100);
	CHECK_INT(s.n, 1);
	v = get_key(st, DEADLETTER);
	/* The earlier dead letter is kept, the expired one added. */
	CHECK(has(v, "\"id\":\"o2\"") && has(v, "\"id\":\"o4\"") &&
	      has(v, "expired"));
	free(v);
	/* The version-1 document is emptied: not moved twice. */
	v = get_key(st, "hark:v1:outbox:hook");
	CHECK(has(v, "\"entries\":[]"));
	free(v);
	deliver_free(d);
	store_free(st);
	sink_stop(&s);
	unlink(snap);
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
	test_signed();
	test_gone();
	test_rate_limit();
	test_alertmanager();
	test_smtp();
	test_outbox();

	event_free(tick_ev);
	event_base_free(base);
	return check_done();
}
