/* SPDX-License-Identifier: MIT */
/*
 * redis-stream source against a real redis-server on loopback: the group
 * is created on a missing stream (MKSTREAM), entries with a "mention"
 * field and with flat fields are read, a duplicate id is dropped, an
 * invalid entry is rejected, and every entry ends acknowledged (XPENDING
 * empty); the URL's user, password and database reach the server over TCP
 * and a unix socket. Test code may block; the source never does.
 */
#include <event2/event.h>
#include <hiredis/hiredis.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config.h"
#include "core/dedupe.h"
#include "io/source_redis.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include "../unit/check.h"

static int seen;
static char seen_ids[16][32];

static int sink_mention(void *arg, int source, const struct mention *m,
			char *err, size_t errlen)
{
	if (seen < 16) {
		snprintf(seen_ids[seen], sizeof(seen_ids[seen]), "%s", m->id);
	}
	seen++;
	return 0;
}

struct run {
	struct event_base *base;
	struct source_redis *s;
	int want;
	int64_t deadline;
};

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;
	struct source_stats st = source_redis_stats(r->s);

	if ((int)(st.accepted + st.duplicates + st.rejected) >= r->want ||
	    timeutil_mono_ms() > r->deadline) {
		event_base_loopbreak(r->base);
	}
}

static void run_until(struct run *r, int want)
{
	struct timeval tick = {0, 20000};
	struct event *ev = event_new(r->base, -1, EV_PERSIST, poll_cb, r);

	struct timeval settle = {0, 300000};

	r->want = want;
	r->deadline = timeutil_mono_ms() + 10000;
	event_add(ev, &tick);
	event_base_dispatch(r->base);
	event_free(ev);
	/* a little longer, so that the last XACK reaches the server */
	event_base_loopexit(r->base, &settle);
	event_base_dispatch(r->base);
}

static redisContext *connect_redis(int port)
{
	for (int i = 0; i < 100; i++) {
		redisContext *c = redisConnect("127.0.0.1", port);
		redisReply *r;

		if (c != NULL && c->err == 0) {
			r = redisCommand(c, "PING");
			if (r != NULL) {
				freeReplyObject(r);
				return c;
			}
		}
		if (c != NULL) {
			redisFree(c);
		}
		usleep(50000);
	}
	return NULL;
}

static long long pending(redisContext *c)
{
	redisReply *r = redisCommand(c, "XPENDING m hark");
	long long n = -1;

	if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
		n = r->element[0]->integer;
	}
	freeReplyObject(r);
	return n;
}

/* One source on url reads an entry added to database db of its server. */
static void read_from(struct source_env *env, const char *url, int db,
		      redisContext *c, const char *id)
{
	char *yaml = xasprintf("sources:\n"
			       "  - name: r\n"
			       "    type: redis-stream\n"
			       "    redis: \"%s\"\n"
			       "    stream: m2\n"
			       "    consumer: c2\n"
			       "    block: 200ms\n"
			       "rules:\n"
			       "  - name: brand\n"
			       "    match: {any: [brand]}\n",
			       url);
	struct timeval t = {0, 500000};
	struct config cfg;
	struct diag d;
	struct run r;
	char err[256] = "";
	int before = seen;

	diag_init(&d);
	CHECK_INT(config_parse(&cfg, "t.yaml", yaml, strlen(yaml), &d), 0);
	diag_print(&d, stderr);
	diag_fini(&d);
	r.base = env->base;
	r.s = source_redis_start(env, 0, &cfg.sources[0], NULL, err,
				 sizeof(err));
	CHECK(r.s != NULL);
	if (r.s == NULL) {
		fprintf(stderr, "%s: %s\n", url, err);
		config_fini(&cfg);
		free(yaml);
		return;
	}
	event_base_loopexit(r.base, &t);
	event_base_dispatch(r.base);
	CHECK_STR(source_state_name(source_redis_stats(r.s).state),
		  "streaming");
	freeReplyObject(redisCommand(c, "SELECT %d", db));
	freeReplyObject(redisCommand(c, "XADD m2 * id %s text brand", id));
	freeReplyObject(redisCommand(c, "SELECT 0"));
	run_until(&r, 1);
	CHECK_INT(source_redis_stats(r.s).accepted, 1);
	CHECK_INT(seen, before + 1);
	CHECK_STR(seen_ids[before], id);
	source_redis_free(r.s);
	config_fini(&cfg);
	free(yaml);
}

int main(void)
{
	const char *server = getenv("REDIS_SERVER");
	int port = 20000 + (int)(getpid() % 20000);
	char portstr[16];
	pid_t pid;
	redisContext *c;
	struct config cfg;
	struct diag d;
	struct source_env env = {0};
	struct run r;
	struct source_stats st;
	char *yaml;
	char *url;
	char err[256];
	char sock[64];

	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_LEVEL_WARN);
	snprintf(portstr, sizeof(portstr), "%d", port);
	snprintf(sock, sizeof(sock), "/tmp/hark-test-redis-%d.sock",
		 (int)getpid());
	pid = fork();
	if (pid == 0) {
		execl(server ? server : "/usr/bin/redis-server", "redis-server",
		      "--port", portstr, "--bind", "127.0.0.1", "--save", "",
		      "--appendonly", "no", "--loglevel", "warning",
		      "--unixsocket", sock, "--unixsocketperm", "700",
		      (char *)NULL);
		_exit(127);
	}
	c = connect_redis(port);
	if (c == NULL) {
		fprintf(stderr, "redis-server did not start\n");
		kill(pid, SIGTERM);
		return 1;
	}
	yaml = xasprintf("sources:\n"
			 "  - name: r\n"
			 "    type: redis-stream\n"
			 "    redis: redis://127.0.0.1:%d/0\n"
			 "    stream: m\n"
			 "    consumer: c1\n"
			 "    block: 200ms\n"
			 "rules:\n"
			 "  - name: brand\n"
			 "    match: {any: [brand]}\n",
			 port);
	diag_init(&d);
	if (config_parse(&cfg, "t.yaml", yaml, strlen(yaml), &d) != 0) {
		diag_print(&d, stderr);
		return 1;
	}
	diag_fini(&d);
	r.base = event_base_new();
	env.base = r.base;
	env.dedupe = dedupe_new(1000);
	env.sink.mention = sink_mention;
	env.sink.flush = NULL;
	env.sink.arg = NULL;
	r.s = source_redis_start(&env, 0, &cfg.sources[0], NULL, err,
				 sizeof(err));
	CHECK(r.s != NULL);
	/* the group is created on the missing stream; nothing to read */
	{
		struct timeval t = {0, 500000};

		event_base_loopexit(r.base, &t);
		event_base_dispatch(r.base);
	}
	CHECK_STR(source_state_name(source_redis_stats(r.s).state),
		  "streaming");
	freeReplyObject(
		redisCommand(c, "XADD m * mention %s",
			     "{\"data\":{\"id\":\"1\",\"text\":\"brand x\"}}"));
	freeReplyObject(
		redisCommand(c, "XADD m * id 2 text %s lang fr", "flat brand"));
	freeReplyObject(redisCommand(c, "XADD m * id 1 text %s", "dup"));
	freeReplyObject(redisCommand(c, "XADD m * mention %s", "not json"));
	run_until(&r, 4);
	st = source_redis_stats(r.s);
	CHECK_INT(st.accepted, 2);
	CHECK_INT(st.duplicates, 1);
	CHECK_INT(st.rejected, 1);
	CHECK_INT(seen, 2);
	CHECK_STR(seen_ids[0], "1");
	CHECK_STR(seen_ids[1], "2");
	CHECK_STR(source_state_name(st.state), "streaming");
	CHECK_INT(pending(c), 0);
	CHECK_INT(source_redis_acked(r.s), 4);

	source_redis_free(r.s);

	/* AUTH user password (an ACL user) and SELECT from the URL */
	freeReplyObject(
		redisCommand(c, "ACL SETUSER alice on >s3cr/t ~* &* +@all"));
	url = xasprintf("redis://alice:s3cr%%2Ft@127.0.0.1:%d/2", port);
	read_from(&env, url, 2, c, "acl1");
	free(url);
	url = xasprintf("unix://%s?db=3", sock);
	read_from(&env, url, 3, c, "unix1");
	free(url);
	event_base_free(r.base);
	dedupe_free(env.dedupe);
	config_fini(&cfg);
	free(yaml);
	redisFree(c);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	unlink(sock);
	return check_done();
}
