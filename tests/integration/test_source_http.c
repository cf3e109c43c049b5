/* SPDX-License-Identifier: MIT */
/*
 * http-stream and sse sources against real scripted servers on loopback
 * (tests/integration/stream_server.py): keep-alives, multi-rule posts, an
 * in-stream error, a close mid-line, 429 with Retry-After, 503, a stall,
 * Mastodon statuses with HTML, boosts, edits and deletes, Last-Event-ID,
 * and a bulk stream through a tiny queue (backpressure). All three run at
 * once on one loop and one curl multi handle; a sink records every
 * mention handed over. Reconnect delays are checked from the server's
 * clock against the policy.
 */
#include <event2/event.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "config/config.h"
#include "core/dedupe.h"
#include "io/source_http.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include "../unit/check.h"

#define MAX_SEEN 40000

struct sink {
	char *ids[MAX_SEEN];
	char *text[MAX_SEEN];
	char *lang[MAX_SEEN];
	char *author[MAX_SEEN];
	size_t n;
	size_t flushes;
	int by_source[8];
};

static struct sink sink;

static int sink_mention(void *arg, int source, const struct mention *m,
			char *err, size_t errlen)
{
	struct sink *s = arg;

	if (s->n < MAX_SEEN) {
		s->ids[s->n] = xstrdup(m->id);
		s->text[s->n] = xstrdup(m->text);
		s->lang[s->n] = xstrdup(m->lang);
		s->author[s->n] = xstrdup(m->author);
		s->n++;
	}
	s->by_source[source]++;
	CHECK(m->source != NULL);
	return 0;
}

static void sink_flush(void *arg)
{
	((struct sink *)arg)->flushes++;
}

static size_t count_id(const char *id)
{
	size_t n = 0;

	for (size_t i = 0; i < sink.n; i++) {
		n += strcmp(sink.ids[i], id) == 0;
	}
	return n;
}

static const char *text_of(const char *id)
{
	for (size_t i = 0; i < sink.n; i++) {
		if (strcmp(sink.ids[i], id) == 0) {
			return sink.text[i];
		}
	}
	return "";
}

static pid_t start_server(const char *log, int *port)
{
	int fds[2];
	pid_t pid;
	char line[32];
	FILE *f;
	const char *root = getenv("HARK_SOURCE_ROOT");
	char *script = xasprintf("%s/tests/integration/stream_server.py",
				 root ? root : ".");

	if (pipe(fds) != 0) {
		abort();
	}
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execl("/usr/bin/python3", "python3", script, log, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (f == NULL || fgets(line, sizeof(line), f) == NULL) {
		fprintf(stderr, "stream server did not start\n");
		exit(1);
	}
	fclose(f);
	*port = atoi(line);
	free(script);
	return pid;
}

struct run {
	struct event_base *base;
	struct source_http *x, *sse, *bulk;
	int64_t deadline;
};

static bool done(const struct run *r)
{
	struct source_stats x = source_http_stats(r->x);
	struct source_stats s = source_http_stats(r->sse);
	struct source_stats b = source_http_stats(r->bulk);

	return x.accepted >= 6 && x.reconnects >= 4 &&
	       x.state == SOURCE_STREAMING && s.accepted >= 2 &&
	       s.reconnects >= 1 && b.accepted >= 20000;
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;

	if (done(r) || timeutil_mono_ms() > r->deadline) {
		event_base_loopbreak(r->base);
	}
}

/* Connection start times per path and step, from the server's log. */
static void read_log(const char *path, double x_t[8], char sse_lei[2][16],
		     char *auth, size_t authlen)
{
	FILE *f = fopen(path, "r");
	char line[1024];

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		cJSON *o = cJSON_Parse(line);
		const char *p =
			cJSON_GetStringValue(cJSON_GetObjectItem(o, "path"));
		int step = (int)cJSON_GetNumberValue(
			cJSON_GetObjectItem(o, "step"));
		const char *lei = cJSON_GetStringValue(
			cJSON_GetObjectItem(o, "last_event_id"));
		const char *a =
			cJSON_GetStringValue(cJSON_GetObjectItem(o, "auth"));

		if (p != NULL && strcmp(p, "/x") == 0 && step < 8) {
			x_t[step] = cJSON_GetNumberValue(
				cJSON_GetObjectItem(o, "t"));
			if (step == 0 && a != NULL) {
				snprintf(auth, authlen, "%s", a);
			}
		}
		if (p != NULL && strcmp(p, "/sse") == 0 && step < 2) {
			snprintf(sse_lei[step], 16, "%s", lei ? lei : "");
		}
		cJSON_Delete(o);
	}
	if (f != NULL) {
		fclose(f);
	}
}

static void check_between(const char *what, double v, double lo, double hi)
{
	printf("  %s: %.3f s (policy window %.2f-%.2f)\n", what, v, lo, hi);
	CHECK(v >= lo && v <= hi);
}

int main(void)
{
	char dir[] = "/tmp/hark-src-XXXXXX";
	char *log, *yaml, *tokfile;
	struct config cfg;
	struct diag d;
	struct source_env env = {0};
	struct source_http_multi *multi;
	struct run r;
	struct event *poll_ev;
	struct timeval tick = {0, 50000};
	int port;
	pid_t pid;
	double x_t[8] = {0};
	char lei[2][16] = {"", ""};
	char auth[128] = "";
	struct source_stats xs, ss, bs;
	int64_t t0;
	FILE *tf;

	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_LEVEL_WARN);
	if (mkdtemp(dir) == NULL) {
		return 1;
	}
	log = xasprintf("%s/server.log", dir);
	tokfile = xasprintf("%s/token", dir);
	tf = fopen(tokfile, "w");
	fputs("s3cret-token\n", tf);
	fclose(tf);
	pid = start_server(log, &port);
	yaml = xasprintf("sources:\n"
			 "  - name: x\n"
			 "    type: http-stream\n"
			 "    url: http://127.0.0.1:%d/x\n"
			 "    format: x-v2\n"
			 "    token_file: %s\n"
			 "    stall_timeout: 1s\n"
			 "  - name: masto\n"
			 "    type: sse\n"
			 "    url: http://127.0.0.1:%d/sse\n"
			 "    headers: {X-Test: yes}\n"
			 "  - name: bulk\n"
			 "    type: http-stream\n"
			 "    url: http://127.0.0.1:%d/bulk\n"
			 "    format: flat\n"
			 "    queue: 10\n"
			 "rules:\n"
			 "  - name: brand\n"
			 "    match: {any: [brand]}\n",
			 port, tokfile, port, port);
	diag_init(&d);
	if (config_parse(&cfg, "test.yaml", yaml, strlen(yaml), &d) != 0) {
		diag_print(&d, stderr);
		return 1;
	}
	diag_fini(&d);
	r.base = event_base_new();
	env.base = r.base;
	env.dedupe = dedupe_new(DEDUPE_DEFAULT_CAPACITY);
	env.sink.mention = sink_mention;
	env.sink.flush = sink_flush;
	env.sink.arg = &sink;
	multi = source_http_multi_new(r.base);
	t0 = timeutil_mono_ms();
	r.x = source_http_start(multi, &env, 0, &cfg.sources[0]);
	r.sse = source_http_start(multi, &env, 1, &cfg.sources[1]);
	r.bulk = source_http_start(multi, &env, 2, &cfg.sources[2]);
	r.deadline = t0 + 30000;
	poll_ev = event_new(r.base, -1, EV_PERSIST, poll_cb, &r);
	event_add(poll_ev, &tick);
	event_base_dispatch(r.base);
	printf("ran %.1f s\n", (double)(timeutil_mono_ms() - t0) / 1000.0);

	xs = source_http_stats(r.x);
	ss = source_http_stats(r.sse);
	bs = source_http_stats(r.bulk);
	/* X: each post once, the duplicate (id 3 after reconnect) dropped,
	 * the in-stream error counted, the half line never counted */
	for (int i = 1; i <= 6; i++) {
		char id[8];

		snprintf(id, sizeof(id), "%d", i);
		CHECK_INT(count_id(id), 1);
	}
	CHECK_INT(count_id("99"), 0);
	CHECK_INT(xs.accepted, 6);
	CHECK_INT(xs.duplicates, 1);
	CHECK_INT(xs.stream_errors, 1);
	CHECK_INT(xs.rejected, 0);
	CHECK_INT(xs.partial, 1);
	CHECK(xs.keepalives >= 2);
	CHECK_INT(xs.reconnects, 4);
	CHECK_STR(xs.state == SOURCE_STREAMING ? "streaming" : "other",
		  "streaming");
	CHECK_STR(text_of("1"), "hello brand");
	/* SSE: status 100 once (its boost and its edit are duplicates), the
	 * delete counted, the cut event dropped, 102 after the reconnect */
	CHECK_INT(count_id("100"), 1);
	CHECK_INT(count_id("101"), 0);
	CHECK_INT(count_id("103"), 0);
	CHECK_INT(count_id("102"), 1);
	CHECK_INT(ss.duplicates, 2);
	CHECK_INT(ss.deletes, 1);
	CHECK_INT(ss.reconnects, 1);
	CHECK(ss.keepalives >= 2);
	CHECK_STR(text_of("100"),
		  " Trip with #BlaBlaCar & friends \xF0\x9F\x9A\x97 ");
	CHECK_STR(source_http_last_event_id(r.sse), "6");
	/* the retry: 200 from the server, with jitter: [100, 200] ms */
	CHECK(ss.last_delay_ms >= 100 && ss.last_delay_ms <= 200);
	/* bulk through a queue of 10: every line once, reading paused */
	CHECK_INT(bs.accepted, 20000);
	CHECK_INT(bs.duplicates, 0);
	CHECK(bs.pauses > 0);
	CHECK_INT(sink.by_source[2], 20000);
	CHECK(sink.flushes > 0);

	source_http_free(r.x);
	source_http_free(r.sse);
	source_http_free(r.bulk);
	source_http_multi_free(multi);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);

	read_log(log, x_t, lei, auth, sizeof(auth));
	CHECK_STR(auth, "Bearer s3cret-token");
	CHECK_STR(lei[0], "");
	/* id 5 came in an event cut by the close: 4 is the last dispatched */
	CHECK_STR(lei[1], "4");
	printf("reconnect delays measured by the server:\n");
	check_between("close -> reconnect (network, +250ms)", x_t[1] - x_t[0],
		      0.2, 0.9);
	check_between("429 Retry-After: 1 -> reconnect", x_t[2] - x_t[1], 0.95,
		      1.6);
	check_between("503 -> reconnect (HTTP, 5s)", x_t[3] - x_t[2], 4.9, 5.8);
	check_between("stall 1s + network 250ms", x_t[4] - x_t[3], 1.2, 2.0);

	for (size_t i = 0; i < sink.n; i++) {
		free(sink.ids[i]);
		free(sink.text[i]);
		free(sink.lang[i]);
		free(sink.author[i]);
	}
	event_free(poll_ev);
	event_base_free(r.base);
	dedupe_free(env.dedupe);
	config_fini(&cfg);
	unlink(log);
	unlink(tokfile);
	rmdir(dir);
	free(log);
	free(tokfile);
	free(yaml);
	return check_done();
}
