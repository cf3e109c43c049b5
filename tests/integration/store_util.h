/* SPDX-License-Identifier: MIT */
/*
 * What the store tests share (test_store.c, test_store_cluster.c):
 * redis-server processes on free loopback ports, a loop driven until a
 * condition holds, callbacks that record each call, and the checks every
 * store must pass alike. Header-only (static inline) so that check.h's
 * counters stay those of the one test program.
 */
#ifndef HARK_TESTS_STORE_UTIL_H
#define HARK_TESTS_STORE_UTIL_H

#include "io/store.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "tests/unit/check.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define POLL_STEP_MS 5
#define REDIS_START_MS 5000
#define TMO_MS 300

/* ---- redis-server process ---- */

struct redis_proc {
	pid_t pid;
	int port;
	char dir[PATH_MAX];
};

static inline const char *redis_bin(void)
{
	const char *s = getenv("REDIS_SERVER");

	return s != NULL && s[0] != '\0' ? s : "redis-server";
}

static inline int free_port(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int port = -1;

	if (fd < 0) {
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0) {
		port = ntohs(sa.sin_port);
	}
	close(fd);
	return port;
}

static inline redisContext *blocking_connect(int port)
{
	struct timeval tv = {0, 200 * 1000};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);

	if (c != NULL && c->err != 0) {
		redisFree(c);
		return NULL;
	}
	if (c != NULL) {
		redisSetTimeout(c, tv);
	}
	return c;
}

static inline bool redis_ping(int port)
{
	redisContext *c = blocking_connect(port);
	redisReply *r;
	bool ok;

	if (c == NULL) {
		return false;
	}
	r = redisCommand(c, "PING");
	ok = r != NULL && r->type == REDIS_REPLY_STATUS &&
	     strcmp(r->str, "PONG") == 0;
	if (r != NULL) {
		freeReplyObject(r);
	}
	redisFree(c);
	return ok;
}

static inline void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* 0 once it answers PING; -1 if it exited (lost the port race) or hung. */
static inline int redis_spawn(struct redis_proc *rp, int port,
			      const char *const *extra)
{
	char portstr[16];
	char logpath[PATH_MAX + 16];
	int64_t deadline;
	pid_t pid;
	int status;

	snprintf(portstr, sizeof(portstr), "%d", port);
	snprintf(logpath, sizeof(logpath), "%s/redis.log", rp->dir);
	pid = fork();
	if (pid < 0) {
		return -1;
	}
	if (pid == 0) {
		int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);

		/* Dies with the test even if the test aborts before cleanup. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		{
			const char *argv[32] = {
				redis_bin(), "--port",   portstr,
				"--save",    "",         "--appendonly",
				"no",        "--dir",    rp->dir,
				"--bind",    "127.0.0.1"};
			size_t n = 11;

			for (size_t i = 0;
			     extra != NULL && extra[i] != NULL && n < 31; i++) {
				argv[n++] = extra[i];
			}
			argv[n] = NULL;
			execvp(redis_bin(), (char *const *)argv);
		}
		_exit(127);
	}
	deadline = timeutil_mono_ms() + REDIS_START_MS;
	while (timeutil_mono_ms() < deadline) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			return -1;
		}
		if (redis_ping(port)) {
			rp->pid = pid;
			rp->port = port;
			return 0;
		}
		sleep_ms(POLL_STEP_MS);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* extra: more arguments (NULL-terminated), or NULL. */
static inline int redis_start_with(struct redis_proc *rp,
				   const char *const *extra)
{
	for (int i = 0; i < 10; i++) {
		int port = free_port();

		if (port > 0 && redis_spawn(rp, port, extra) == 0) {
			return 0;
		}
	}
	return -1;
}

static inline int redis_start(struct redis_proc *rp)
{
	return redis_start_with(rp, NULL);
}

static inline int redis_restart_same_port(struct redis_proc *rp)
{
	for (int i = 0; i < 20; i++) {
		if (redis_spawn(rp, rp->port, NULL) == 0) {
			return 0;
		}
		sleep_ms(50);
	}
	return -1;
}

static inline void redis_kill(struct redis_proc *rp)
{
	int status;

	if (rp->pid > 0) {
		kill(rp->pid, SIGCONT);
		kill(rp->pid, SIGKILL);
		waitpid(rp->pid, &status, 0);
		rp->pid = -1;
	}
}

/* Runs one blocking command in the test process only; NULL on failure. */
static inline redisReply *blocking_cmd(int port, int db, const char *fmt,
				       const char *key)
{
	redisContext *c = blocking_connect(port);
	redisReply *r = NULL;

	if (c == NULL) {
		return NULL;
	}
	if (db != 0) {
		r = redisCommand(c, "SELECT %d", db);
		if (r == NULL) {
			redisFree(c);
			return NULL;
		}
		freeReplyObject(r);
	}
	r = redisCommand(c, fmt, key);
	redisFree(c);
	return r;
}

static inline long long blocking_int(int port, int db, const char *fmt,
				     const char *key)
{
	redisReply *r = blocking_cmd(port, db, fmt, key);
	long long v = LLONG_MIN;

	if (r != NULL && r->type == REDIS_REPLY_INTEGER) {
		v = r->integer;
	}
	if (r != NULL) {
		freeReplyObject(r);
	}
	return v;
}

/* ---- loop driving and callback recording ---- */

struct loop {
	struct event_base *base;
	struct event *tick;
};

static inline void tick_cb(evutil_socket_t fd, short what, void *arg)
{
}

static inline void loop_init(struct loop *l)
{
	struct timeval tv = {0, POLL_STEP_MS * 1000};

	l->base = event_base_new();
	HARK_ASSERT(l->base != NULL);
	/* Keeps EVLOOP_ONCE returning so the deadline is checked. */
	l->tick = event_new(l->base, -1, EV_PERSIST, tick_cb, NULL);
	event_add(l->tick, &tv);
}

static inline void loop_fini(struct loop *l)
{
	event_free(l->tick);
	event_base_free(l->base);
}

#define WAIT_FOR(l, cond, ms)                                          \
	({                                                             \
		int64_t wf_deadline_ = timeutil_mono_ms() + (ms);      \
		while (!(cond) && timeutil_mono_ms() < wf_deadline_) { \
			event_base_loop((l)->base, EVLOOP_ONCE);       \
		}                                                      \
		(cond);                                                \
	})

/* Runs the loop for ms, to see that nothing more happens. */
static inline void drive(struct loop *l, int ms)
{
	(void)WAIT_FOR(l, false, ms);
}

static int seq_counter;

struct res {
	int calls;
	int status;
	long long value;
	bool isnull;
	char val[256];
	size_t len;
	int64_t at_ms;
	int seq;
};

static inline void int_cb(void *arg, int status, long long v)
{
	struct res *r = arg;

	r->calls++;
	r->status = status;
	r->value = v;
	r->at_ms = timeutil_mono_ms();
	r->seq = ++seq_counter;
}

static inline void str_cb(void *arg, int status, const char *val, size_t len)
{
	struct res *r = arg;

	r->calls++;
	r->status = status;
	r->isnull = val == NULL;
	r->len = len;
	if (val != NULL && len <= sizeof(r->val)) {
		memcpy(r->val, val, len);
	}
	r->at_ms = timeutil_mono_ms();
	r->seq = ++seq_counter;
}

static inline void done_cb(void *arg)
{
	struct res *r = arg;

	r->calls++;
	r->seq = ++seq_counter;
}

static inline void close_and_free(struct loop *l, struct store *st)
{
	struct res done = {0};

	store_close(st, done_cb, &done);
	CHECK_INT(done.calls, 0);
	CHECK(WAIT_FOR(l, done.calls > 0, 3000));
	drive(l, 20);
	CHECK_INT(done.calls, 1);
	store_free(st);
}

static inline char *url_for(int port, const char *extra)
{
	return xasprintf("redis://127.0.0.1:%d%s", port, extra);
}

/* ---- Redis cases ---- */

/*
 * store_count_put, the same on every store: a field only rises, the answer
 * is the sum of the fields plus an old counter, a zero makes no key; and
 * store_count_raise, which rises the same without reading a total.
 */
static inline void check_count_put(struct loop *l, struct store *st)
{
	struct res r[8] = {{0}};
	struct res g = {0};

	store_count_put(st, "hark:{c}:v2:count:1", NULL, "w1", 5, 60000, int_cb,
			&r[0]);
	store_count_put(st, "hark:{c}:v2:count:1", NULL, "w1", 3, 60000, int_cb,
			&r[1]);
	store_count_put(st, "hark:{c}:v2:count:1", NULL, "w2", 4, 60000, int_cb,
			&r[2]);
	store_count_put(st, "hark:{c}:v2:count:1", NULL, "w1", 7, 60000, int_cb,
			&r[3]);
	store_set(st, "hark:{c}:v1:count:1", "10", 2, 60000, NULL, NULL);
	store_count_put(st, "hark:{c}:v2:count:1", "hark:{c}:v1:count:1", "w2",
			4, 60000, int_cb, &r[4]);
	/* a retry of an older write, after newer ones */
	store_count_put(st, "hark:{c}:v2:count:1", "hark:{c}:v1:count:1", "w1",
			5, 60000, int_cb, &r[5]);
	store_count_put(st, "hark:{c}:v2:count:2", "hark:{c}:v1:count:2", "w1",
			0, 60000, int_cb, &r[6]);
	store_get(st, "hark:{c}:v2:count:2", str_cb, &g);
	CHECK(WAIT_FOR(l, g.calls > 0, 2000));
	/* appends, as a rule's chart points go */
	{
		struct res ap[2] = {{0}};
		struct res ga = {0};

		store_append(st, "hark:{c}:v2:points:1", "a ", 2, 60000, int_cb,
			     &ap[0]);
		store_append(st, "hark:{c}:v2:points:1", "bc\n", 3, 60000,
			     int_cb, &ap[1]);
		store_get(st, "hark:{c}:v2:points:1", str_cb, &ga);
		CHECK(WAIT_FOR(l, ga.calls > 0, 2000));
		CHECK_INT(ap[0].value, 2);
		CHECK_INT(ap[1].value, 5);
		CHECK(ga.len == 5 && memcmp(ga.val, "a bc\n", 5) == 0);
	}
	for (int i = 0; i < 7; i++) {
		CHECK_INT(r[i].status, 0);
	}
	CHECK_INT(r[0].value, 5);
	CHECK_INT(r[1].value, 5);
	CHECK_INT(r[2].value, 9);
	CHECK_INT(r[3].value, 11);
	CHECK_INT(r[4].value, 21);
	CHECK_INT(r[5].value, 21);
	CHECK_INT(r[6].value, 0);
	CHECK(g.isnull);
	/* store_count_raise: the same rise, no total; the next put sums it */
	{
		struct res rr[3] = {{0}};
		struct res sum = {0};

		store_count_raise(st, "hark:{c}:v2:count:3", "w1", 6, 60000,
				  int_cb, &rr[0]);
		store_count_raise(st, "hark:{c}:v2:count:3", "w1", 2, 60000,
				  int_cb, &rr[1]);
		store_count_raise(st, "hark:{c}:v2:count:3", "w2", 3, 60000,
				  int_cb, &rr[2]);
		store_count_raise(st, "hark:{c}:v2:count:3", "w3", 0, 60000,
				  NULL, NULL);
		store_count_put(st, "hark:{c}:v2:count:3", NULL, "w1", 1, 60000,
				int_cb, &sum);
		CHECK(WAIT_FOR(l, sum.calls > 0, 2000));
		for (int i = 0; i < 3; i++) {
			CHECK_INT(rr[i].status, 0);
			CHECK_INT(rr[i].value, 0);
		}
		CHECK_INT(sum.value, 9);
	}
}

/*
 * store_hash and store_claim, the same on both stores: entries set,
 * replaced and removed, the whole hash answered as lines; a claim is won
 * once, again by its owner, never by another.
 */
static inline void check_hash_claim(struct loop *l, struct store *st)
{
	struct res h[6] = {{0}};
	struct res c[4] = {{0}};

	store_hash(st, "hark:{f}:members", "a", "1 x", 60000, str_cb, &h[0]);
	store_hash(st, "hark:{f}:members", "b", "2", 60000, str_cb, &h[1]);
	store_hash(st, "hark:{f}:members", "a", "3", 60000, str_cb, &h[2]);
	store_hash(st, "hark:{f}:members", NULL, NULL, 0, str_cb, &h[3]);
	store_hash(st, "hark:{f}:members", "a", NULL, 0, str_cb, &h[4]);
	store_hash(st, "hark:{f}:members", "b", NULL, 0, str_cb, &h[5]);
	store_claim(st, "hark:{r}:claim:1", "me", 60000, int_cb, &c[0]);
	store_claim(st, "hark:{r}:claim:1", "me", 60000, int_cb, &c[1]);
	store_claim(st, "hark:{r}:claim:1", "you", 60000, int_cb, &c[2]);
	store_claim(st, "hark:{r}:claim:2", "you", 60000, int_cb, &c[3]);
	/* Both keys' commands: on two nodes of a cluster, whose replies
	 * come in any order. */
	CHECK(WAIT_FOR(l, c[3].calls > 0 && h[5].calls > 0, 2000));
	/* released only by its owner; then anyone's again */
	{
		struct res rl[3] = {{0}};
		struct res again = {0};

		store_release(st, "hark:{r}:claim:1", "you", int_cb, &rl[0]);
		store_release(st, "hark:{r}:claim:1", "me", int_cb, &rl[1]);
		store_release(st, "hark:{r}:claim:1", "me", int_cb, &rl[2]);
		store_claim(st, "hark:{r}:claim:1", "you", 60000, int_cb,
			    &again);
		CHECK(WAIT_FOR(l, again.calls > 0, 2000));
		CHECK_INT(rl[0].value, 0);
		CHECK_INT(rl[1].value, 1);
		CHECK_INT(rl[2].value, 0);
		CHECK_INT(again.value, 1);
	}
	for (int i = 0; i < 6; i++) {
		CHECK_INT(h[i].status, 0);
	}
	CHECK(h[0].len == 6 && memcmp(h[0].val, "a 1 x\n", 6) == 0);
	CHECK_INT(h[1].len, 10);
	/* a field's order is the store's own: compare as sets of lines */
	CHECK(h[2].len == 8 && memmem(h[2].val, h[2].len, "a 3\n", 4) &&
	      memmem(h[2].val, h[2].len, "b 2\n", 4));
	CHECK(h[3].len == 8 && memcmp(h[3].val, h[2].val, 8) == 0);
	CHECK(h[4].len == 4 && memcmp(h[4].val, "b 2\n", 4) == 0);
	CHECK(h[5].isnull);
	CHECK_INT(c[0].value, 1);
	CHECK_INT(c[1].value, 1);
	CHECK_INT(c[2].value, 0);
	CHECK_INT(c[3].value, 1);
	for (int i = 0; i < 4; i++) {
		CHECK_INT(c[i].status, 0);
	}
}

/*
 * store_barrier, the same on every store: its callback runs once, never
 * inside the call, and after the callback of every command issued before
 * it (whatever node answered it).
 */
static inline void check_barrier(struct loop *l, struct store *st)
{
	struct res w[12] = {{0}};
	struct res b = {0};
	struct res g = {0};

	for (int i = 0; i < 12; i++) {
		char key[32];

		snprintf(key, sizeof(key), "hark:{b%d}:v2:count:1", i);
		store_count_put(st, key, NULL, "w", i + 1, 60000, int_cb,
				&w[i]);
	}
	store_barrier(st, done_cb, &b);
	CHECK_INT(b.calls, 0);
	CHECK(WAIT_FOR(l, b.calls > 0, 3000));
	for (int i = 0; i < 12; i++) {
		CHECK_INT(w[i].calls, 1);
		CHECK_INT(w[i].status, 0);
		CHECK(w[i].seq < b.seq);
	}
	/* with nothing before it: still from the loop */
	b.calls = 0;
	store_barrier(st, done_cb, &b);
	CHECK_INT(b.calls, 0);
	CHECK(WAIT_FOR(l, b.calls > 0, 3000));
	store_get(st, "hark:{b11}:v2:count:1", str_cb, &g);
	CHECK(WAIT_FOR(l, g.calls > 0, 3000));
	drive(l, 20);
	CHECK_INT(b.calls, 1);
}

static inline int rm_cb(const char *p, const struct stat *sb, int flag,
			struct FTW *ftw)
{
	return remove(p);
}

/* The exit status: the temp dir goes when every check passed, else it
 * stays and its path is printed. */
static inline int tests_done(const char *dir)
{
	int rc = check_done();

	if (rc == 0) {
		nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	} else {
		fprintf(stderr, "kept %s for inspection\n", dir);
	}
	return rc;
}

#endif
