/* SPDX-License-Identifier: MIT */
/*
 * The store against a real redis-server (REDIS_SERVER, started on a free
 * loopback port in a temp dir) and the embedded store with its snapshot.
 * Each case drives its own event_base until its callbacks have run, and
 * counts callbacks per command to check "exactly once, never inline".
 */
#include "io/store.h"

#include <dirent.h>
#include <errno.h>
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "tests/integration/store_util.h"
#include "tests/unit/check.h"
#include "util/log.h"
#include "util/timeutil.h"

static void test_redis_roundtrip(struct redis_proc *rp)
{
	struct loop l;
	char err[256] = "";
	char *url = url_for(rp->port, "/0");
	struct store *st;
	struct res a = {0};
	struct res b = {0};
	struct res g = {0};
	struct res s = {0};
	long long ttl;

	loop_init(&l);
	st = store_redis_new(l.base, url, 1000, err, sizeof(err));
	CHECK(st != NULL);
	CHECK_STR(store_kind(st), "redis");
	CHECK(WAIT_FOR(&l, store_up(st), 3000));

	store_incrby(st, "hark:t:cnt", 5, 60000, int_cb, &a);
	CHECK_INT(a.calls, 0); /* never inside the issuing call */
	CHECK_INT(store_pending(st), 1);
	store_incrby(st, "hark:t:cnt", 3, 60000, int_cb, &b);
	store_get(st, "hark:t:cnt", str_cb, &g);
	CHECK_INT(store_pending(st), 3);
	CHECK(WAIT_FOR(&l, g.calls > 0, 2000));
	CHECK_INT(a.calls, 1);
	CHECK_INT(a.status, 0);
	CHECK_INT(a.value, 5);
	CHECK_INT(b.calls, 1);
	CHECK_INT(b.value, 8);
	CHECK_INT(g.status, 0);
	CHECK(!g.isnull);
	CHECK_INT(g.len, 1);
	CHECK(g.len == 1 && g.val[0] == '8');
	CHECK(a.seq < b.seq && b.seq < g.seq);
	CHECK_INT(store_pending(st), 0);

	ttl = blocking_int(rp->port, 0, "TTL %s", "hark:t:cnt");
	CHECK(ttl > 0 && ttl <= 60);
	check_count_put(&l, st);
	check_hash_claim(&l, st);
	check_barrier(&l, st);
	ttl = blocking_int(rp->port, 0, "PTTL %s", "hark:{c}:v2:count:1");
	CHECK(ttl > 50000 && ttl <= 60000);
	CHECK_INT(blocking_int(rp->port, 0, "HLEN %s", "hark:{c}:v2:count:1"),
		  2);
	/* 1500 ms rounds up to 2 s, never down to 1 s. */
	store_incrby(st, "hark:t:short", 1, 1500, int_cb, &s);
	CHECK(WAIT_FOR(&l, s.calls > 0, 2000));
	drive(&l, 20);
	ttl = blocking_int(rp->port, 0, "PTTL %s", "hark:t:short");
	CHECK(ttl > 1500 && ttl <= 2000);

	close_and_free(&l, st);
	free(url);
	loop_fini(&l);
}

static void test_redis_binary_and_missing(struct redis_proc *rp)
{
	static const char bin[] = "a\0b\r\nc$3\r\n";
	struct loop l;
	char err[256] = "";
	char *url = url_for(rp->port, "");
	struct store *st;
	struct res s = {0};
	struct res g = {0};
	struct res m = {0};
	struct res g2 = {0};
	long long pttl;

	loop_init(&l);
	st = store_redis_new(l.base, url, 1000, err, sizeof(err));
	CHECK(st != NULL);
	CHECK(WAIT_FOR(&l, store_up(st), 3000));

	store_set(st, "hark:t:bin", bin, sizeof(bin) - 1, 0, int_cb, &s);
	store_get(st, "hark:t:bin", str_cb, &g);
	store_get(st, "hark:t:missing", str_cb, &m);
	CHECK(WAIT_FOR(&l, m.calls > 0, 2000));
	CHECK_INT(s.calls, 1);
	CHECK_INT(s.status, 0);
	CHECK_INT(g.status, 0);
	CHECK_INT(g.len, sizeof(bin) - 1);
	CHECK(g.len == sizeof(bin) - 1 && memcmp(g.val, bin, g.len) == 0);
	CHECK_INT(m.calls, 1);
	CHECK_INT(m.status, 0);
	CHECK(m.isnull);
	CHECK_INT(m.len, 0);
	pttl = blocking_int(rp->port, 0, "PTTL %s", "hark:t:bin");
	CHECK_INT(pttl, -1); /* no expiry when ttl_ms <= 0 */

	/* cb may be NULL for set; the value still lands, with PX. */
	store_set(st, "hark:t:px", "v", 1, 5000, NULL, NULL);
	store_get(st, "hark:t:px", str_cb, &g2);
	CHECK(WAIT_FOR(&l, g2.calls > 0, 2000));
	CHECK(g2.len == 1 && g2.val[0] == 'v');
	pttl = blocking_int(rp->port, 0, "PTTL %s", "hark:t:px");
	CHECK(pttl > 0 && pttl <= 5000);

	close_and_free(&l, st);
	free(url);
	loop_fini(&l);
}

static void test_redis_auth_select(struct redis_proc *rp)
{
	struct loop l;
	char err[256] = "";
	char *url = url_for(rp->port, "/3");
	char *good = xasprintf("redis://:s3cr%%2Ft@127.0.0.1:%d/3", rp->port);
	char *bad = xasprintf("redis://:wrong@127.0.0.1:%d", rp->port);
	redisContext *admin = blocking_connect(rp->port);
	redisReply *r;
	struct store *st;
	struct res s = {0};
	struct res f = {0};

	loop_init(&l);
	CHECK(admin != NULL);
	if (admin == NULL) {
		goto out;
	}
	/* SELECT: the value lands in db 3, not 0. */
	st = store_redis_new(l.base, url, 1000, err, sizeof(err));
	CHECK(WAIT_FOR(&l, store_up(st), 3000));
	store_set(st, "hark:t:db", "three", 5, 0, int_cb, &s);
	CHECK(WAIT_FOR(&l, s.calls > 0, 2000));
	CHECK_INT(s.status, 0);
	close_and_free(&l, st);
	r = blocking_cmd(rp->port, 3, "GET %s", "hark:t:db");
	CHECK(r != NULL && r->type == REDIS_REPLY_STRING &&
	      strcmp(r->str, "three") == 0);
	if (r != NULL) {
		freeReplyObject(r);
	}
	r = blocking_cmd(rp->port, 0, "EXISTS %s", "hark:t:db");
	CHECK(r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 0);
	if (r != NULL) {
		freeReplyObject(r);
	}

	/* AUTH, with a %-escaped password; admin stays authenticated. */
	r = redisCommand(admin, "CONFIG SET requirepass %s", "s3cr/t");
	CHECK(r != NULL && r->type == REDIS_REPLY_STATUS);
	if (r != NULL) {
		freeReplyObject(r);
	}
	memset(&s, 0, sizeof(s));
	st = store_redis_new(l.base, good, 1000, err, sizeof(err));
	CHECK(WAIT_FOR(&l, store_up(st), 3000));
	store_set(st, "hark:t:auth", "ok", 2, 0, int_cb, &s);
	CHECK(WAIT_FOR(&l, s.calls > 0, 2000));
	CHECK_INT(s.status, 0);
	close_and_free(&l, st);

	/* A wrong password never comes up; commands fail fast. */
	st = store_redis_new(l.base, bad, 1000, err, sizeof(err));
	drive(&l, 300);
	CHECK(!store_up(st));
	store_incrby(st, "hark:t:x", 1, 0, int_cb, &f);
	CHECK_INT(f.calls, 0);
	CHECK(WAIT_FOR(&l, f.calls > 0, 1000));
	CHECK_INT(f.status, -1);
	close_and_free(&l, st);
	CHECK_INT(f.calls, 1);

	r = redisCommand(admin, "CONFIG SET requirepass %s", "");
	CHECK(r != NULL && r->type == REDIS_REPLY_STATUS);
	if (r != NULL) {
		freeReplyObject(r);
	}
out:
	if (admin != NULL) {
		redisFree(admin);
	}
	free(url);
	free(good);
	free(bad);
	loop_fini(&l);
}

static void test_redis_closed_port(void)
{
	struct loop l;
	char err[256] = "";
	int port = free_port();
	char *url = url_for(port, "");
	struct store *st;
	struct res a = {0};
	struct res g = {0};
	int64_t t0;

	loop_init(&l);
	st = store_redis_new(l.base, url, 1000, err, sizeof(err));
	CHECK(st != NULL);
	drive(&l, 50);
	CHECK(!store_up(st));
	t0 = timeutil_mono_ms();
	store_incrby(st, "k", 1, 1000, int_cb, &a);
	store_get(st, "k", str_cb, &g);
	CHECK_INT(a.calls, 0);
	CHECK_INT(g.calls, 0);
	CHECK(WAIT_FOR(&l, g.calls > 0, 1000));
	CHECK(g.at_ms - t0 < 100); /* fails fast, does not hang */
	CHECK_INT(a.status, -1);
	CHECK_INT(g.status, -1);
	CHECK(g.isnull);
	CHECK(a.seq < g.seq);
	/* Reconnect attempts keep failing quietly. */
	drive(&l, 400);
	CHECK_INT(a.calls, 1);
	CHECK_INT(g.calls, 1);
	CHECK(!store_up(st));
	close_and_free(&l, st);
	free(url);
	loop_fini(&l);
}

#define NKILL 10

static void test_redis_killed_and_back(struct redis_proc *rp)
{
	struct loop l;
	char err[256] = "";
	char *url = url_for(rp->port, "");
	struct store *st;
	struct res rs[NKILL];
	struct res late = {0};
	struct res ok = {0};
	bool all;

	memset(rs, 0, sizeof(rs));
	loop_init(&l);
	st = store_redis_new(l.base, url, 1000, err, sizeof(err));
	CHECK(WAIT_FOR(&l, store_up(st), 3000));
	for (int i = 0; i < NKILL; i++) {
		store_incrby(st, "hark:t:kill", 1, 60000, int_cb, &rs[i]);
	}
	CHECK_INT(store_pending(st), NKILL);
	/* Killed before the loop even writes the commands. */
	redis_kill(rp);
	CHECK(WAIT_FOR(&l, rs[NKILL - 1].calls > 0, 3000));
	all = true;
	for (int i = 0; i < NKILL; i++) {
		all = all && rs[i].calls == 1 && rs[i].status == -1;
	}
	CHECK(all);
	CHECK_INT(store_pending(st), 0);
	CHECK(!store_up(st));
	store_incrby(st, "hark:t:kill", 1, 60000, int_cb, &late);
	CHECK(WAIT_FOR(&l, late.calls > 0, 1000));
	CHECK_INT(late.status, -1);

	CHECK_INT(redis_restart_same_port(rp), 0);
	CHECK(WAIT_FOR(&l, store_up(st), 10000));
	store_incrby(st, "hark:t:kill", 2, 60000, int_cb, &ok);
	CHECK(WAIT_FOR(&l, ok.calls > 0, 2000));
	CHECK_INT(ok.status, 0);
	CHECK_INT(ok.value, 2); /* the killed commands never ran */
	drive(&l, 50);
	all = true;
	for (int i = 0; i < NKILL; i++) {
		all = all && rs[i].calls == 1;
	}
	CHECK(all);
	CHECK_INT(late.calls, 1);
	CHECK_INT(ok.calls, 1);
	close_and_free(&l, st);
	free(url);
	loop_fini(&l);
}

static void test_redis_stopped_timeout(struct redis_proc *rp)
{
	struct loop l;
	char err[256] = "";
	char *url = url_for(rp->port, "");
	struct store *st;
	struct res a = {0};
	struct res s = {0};
	struct res g = {0};
	struct res ok = {0};
	int64_t t0;

	loop_init(&l);
	st = store_redis_new(l.base, url, TMO_MS, err, sizeof(err));
	CHECK(WAIT_FOR(&l, store_up(st), 3000));
	kill(rp->pid, SIGSTOP);
	t0 = timeutil_mono_ms();
	store_incrby(st, "hark:t:stop", 1, 60000, int_cb, &a);
	store_set(st, "hark:t:stop2", "x", 1, 0, int_cb, &s);
	store_get(st, "hark:t:stop", str_cb, &g);
	CHECK(WAIT_FOR(&l, a.calls > 0 && s.calls > 0 && g.calls > 0, 3000));
	CHECK_INT(a.status, -1);
	CHECK_INT(s.status, -1);
	CHECK_INT(g.status, -1);
	CHECK(a.at_ms - t0 >= TMO_MS - 20);
	CHECK(a.at_ms - t0 < TMO_MS + 300);
	CHECK_INT(store_pending(st), 0);
	/* Exactly once: no second call when the link drops or comes back. */
	drive(&l, 2 * TMO_MS);
	CHECK_INT(a.calls, 1);
	CHECK_INT(s.calls, 1);
	CHECK_INT(g.calls, 1);

	kill(rp->pid, SIGCONT);
	CHECK(WAIT_FOR(&l, store_up(st), 10000));
	/* The new link may have been opened while redis was stopped. */
	ok.status = -1;
	for (int i = 0; i < 5 && ok.status != 0; i++) {
		memset(&ok, 0, sizeof(ok));
		CHECK(WAIT_FOR(&l, store_up(st), 10000));
		store_incrby(st, "hark:t:stop", 1, 60000, int_cb, &ok);
		(void)WAIT_FOR(&l, ok.calls > 0, 2000);
	}
	CHECK_INT(ok.calls, 1);
	CHECK_INT(ok.status, 0);
	close_and_free(&l, st);
	free(url);
	loop_fini(&l);
}

#define NCLOSE 20

static void test_redis_close_pending(struct redis_proc *rp)
{
	struct loop l;
	char err[256] = "";
	char *url = url_for(rp->port, "");
	struct store *st;
	struct res rs[NCLOSE];
	struct res after = {0};
	struct res done = {0};
	bool all;

	memset(rs, 0, sizeof(rs));
	loop_init(&l);
	st = store_redis_new(l.base, url, 1000, err, sizeof(err));
	CHECK(WAIT_FOR(&l, store_up(st), 3000));
	for (int i = 0; i < NCLOSE; i++) {
		store_incrby(st, "hark:t:close", 1, 60000, int_cb, &rs[i]);
	}
	store_close(st, done_cb, &done);
	store_incrby(st, "hark:t:close", 100, 60000, int_cb, &after);
	CHECK_INT(store_pending(st), NCLOSE);
	CHECK(WAIT_FOR(&l, done.calls > 0, 3000));
	all = true;
	for (int i = 0; i < NCLOSE; i++) {
		all = all && rs[i].calls == 1 && rs[i].status == 0 &&
		      rs[i].value == i + 1 && rs[i].seq < done.seq;
	}
	CHECK(all);
	CHECK_INT(after.calls, 1);
	CHECK_INT(after.status, -1);
	CHECK(after.seq < done.seq);
	drive(&l, 20);
	CHECK_INT(done.calls, 1);
	store_free(st);
	CHECK_INT(blocking_int(rp->port, 0, "EXISTS %s", "hark:t:close"), 1);

	/* Close while redis is stopped: the timeouts finish the commands. */
	memset(rs, 0, sizeof(rs));
	memset(&done, 0, sizeof(done));
	st = store_redis_new(l.base, url, TMO_MS, err, sizeof(err));
	CHECK(WAIT_FOR(&l, store_up(st), 3000));
	kill(rp->pid, SIGSTOP);
	for (int i = 0; i < 3; i++) {
		store_incrby(st, "hark:t:close2", 1, 60000, int_cb, &rs[i]);
	}
	store_close(st, done_cb, &done);
	CHECK(WAIT_FOR(&l, done.calls > 0, 3000));
	kill(rp->pid, SIGCONT);
	all = true;
	for (int i = 0; i < 3; i++) {
		all = all && rs[i].calls == 1 && rs[i].status == -1 &&
		      rs[i].seq < done.seq;
	}
	CHECK(all);
	drive(&l, 20);
	CHECK_INT(done.calls, 1);
	store_free(st);
	free(url);
	loop_fini(&l);
}

static void test_redis_urls(void)
{
	static const char *const bad[] = {
		"http://127.0.0.1:6379", "redis://",
		"redis://host:0",        "redis://host:99999",
		"redis://host:12ab",     "redis://host/abc",
		"redis://@host",         "redis://[::1",
		"unix://relative.sock",  "unix://",
		"redis://:pa%zzss@host", "",
	};
	struct loop l;
	char err[256];
	struct store *st;
	struct res f = {0};

	loop_init(&l);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		st = store_redis_new(l.base, bad[i], 1000, err, sizeof(err));
		if (st != NULL) {
			fprintf(stderr, "url accepted: %s\n", bad[i]);
			store_close(st, NULL, NULL);
			(void)WAIT_FOR(&l, false, 50);
			store_free(st);
		}
		CHECK(st == NULL);
		CHECK(strncmp(err, "redis url: ", 11) == 0);
	}
	/* A unix socket that does not exist: valid url, down, fails fast. */
	st = store_redis_new(l.base, "unix:///nonexistent/hark.sock", 1000, err,
			     sizeof(err));
	CHECK(st != NULL);
	if (st != NULL) {
		CHECK(!store_up(st));
		store_get(st, "k", str_cb, &f);
		CHECK(WAIT_FOR(&l, f.calls > 0, 1000));
		CHECK_INT(f.status, -1);
		close_and_free(&l, st);
	}
	loop_fini(&l);
}

/* ---- embedded store ---- */

static void test_mem_roundtrip(void)
{
	static const char bin[] = "x\0y\nz";
	struct loop l;
	char err[256] = "";
	struct store *st;
	struct res a = {0};
	struct res b = {0};
	struct res s = {0};
	struct res g = {0};
	struct res gb = {0};
	struct res m = {0};
	struct res nan = {0};
	struct res ovf = {0};

	loop_init(&l);
	st = store_mem_new(l.base, NULL, err, sizeof(err));
	CHECK(st != NULL);
	CHECK_STR(store_kind(st), "memory");
	CHECK(store_up(st));
	store_incrby(st, "c", 5, 60000, int_cb, &a);
	store_incrby(st, "c", -2, 60000, int_cb, &b);
	store_get(st, "c", str_cb, &g);
	store_set(st, "bin", bin, sizeof(bin) - 1, 0, int_cb, &s);
	store_get(st, "bin", str_cb, &gb);
	store_get(st, "missing", str_cb, &m);
	store_incrby(st, "bin", 1, 0, int_cb, &nan);
	store_set(st, "big", "9223372036854775807", 19, 0, NULL, NULL);
	store_incrby(st, "big", 1, 0, int_cb, &ovf);
	CHECK_INT(a.calls, 0);
	CHECK_INT(store_pending(st), 9);
	CHECK(WAIT_FOR(&l, ovf.calls > 0, 1000));
	CHECK_INT(store_pending(st), 0);
	CHECK_INT(a.value, 5);
	CHECK_INT(b.value, 3);
	CHECK(g.len == 1 && g.val[0] == '3');
	CHECK_INT(s.status, 0);
	CHECK_INT(gb.len, sizeof(bin) - 1);
	CHECK(memcmp(gb.val, bin, sizeof(bin) - 1) == 0);
	CHECK(m.isnull);
	CHECK_INT(m.status, 0);
	CHECK_INT(nan.status, -1); /* not an integer, like Redis */
	CHECK_INT(ovf.status, -1);
	CHECK(a.seq < b.seq && b.seq < g.seq && g.seq < s.seq &&
	      s.seq < gb.seq && gb.seq < m.seq && m.seq < nan.seq &&
	      nan.seq < ovf.seq);
	check_count_put(&l, st);
	check_hash_claim(&l, st);
	check_barrier(&l, st);
	drive(&l, 20);
	CHECK_INT(a.calls + b.calls + g.calls + s.calls + gb.calls + m.calls +
			  nan.calls + ovf.calls,
		  8);
	close_and_free(&l, st);
	loop_fini(&l);
}

static void test_mem_expiry_and_cap(void)
{
	struct loop l;
	char err[256] = "";
	struct store *st;
	struct res g1 = {0};
	struct res g2 = {0};
	struct res s[6];
	struct res after = {0};
	struct res done = {0};
	int64_t t0;

	memset(s, 0, sizeof(s));
	loop_init(&l);
	st = store_mem_new(l.base, NULL, err, sizeof(err));
	t0 = timeutil_now_ms();
	store_set(st, "e", "v", 1, 30, NULL, NULL);
	store_get(st, "e", str_cb, &g1);
	CHECK(WAIT_FOR(&l, g1.calls > 0, 1000));
	CHECK(!g1.isnull);
	(void)WAIT_FOR(&l, timeutil_now_ms() > t0 + 60, 1000);
	store_get(st, "e", str_cb, &g2);
	CHECK(WAIT_FOR(&l, g2.calls > 0, 1000));
	CHECK(g2.isnull);

	/* Cap of 2 keys: a third fails; overwrites and expired room work. */
	store_mem_set_max_keys(st, 2);
	t0 = timeutil_now_ms();
	store_set(st, "a", "1", 1, 30, int_cb, &s[0]);
	store_set(st, "b", "2", 1, 0, int_cb, &s[1]);
	store_set(st, "c", "3", 1, 0, int_cb, &s[2]);
	store_set(st, "b", "22", 2, 0, int_cb, &s[3]);
	CHECK(WAIT_FOR(&l, s[3].calls > 0, 1000));
	CHECK_INT(s[0].status, 0);
	CHECK_INT(s[1].status, 0);
	CHECK_INT(s[2].status, -1);
	CHECK_INT(s[3].status, 0);
	(void)WAIT_FOR(&l, timeutil_now_ms() > t0 + 60, 1000);
	store_incrby(st, "c", 1, 0, int_cb, &s[4]);
	CHECK(WAIT_FOR(&l, s[4].calls > 0, 1000));
	CHECK_INT(s[4].status, 0);
	CHECK_INT(s[4].value, 1);

	store_close(st, done_cb, &done);
	store_get(st, "b", str_cb, &after);
	CHECK_INT(after.calls, 0);
	CHECK(WAIT_FOR(&l, done.calls > 0, 1000));
	CHECK_INT(after.calls, 1);
	CHECK_INT(after.status, -1);
	CHECK(after.seq < done.seq);
	store_free(st);
	loop_fini(&l);
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL) {
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = xmalloc((size_t)n + 1);
	*len = fread(buf, 1, (size_t)n, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static void write_all(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	HARK_ASSERT(f != NULL);
	fwrite(buf, 1, len, f);
	fclose(f);
}

static int count_dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL) {
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0) {
			n++;
		}
	}
	closedir(d);
	return n;
}

static void expect_corrupt(struct loop *l, const char *path, const char *buf,
			   size_t len, long long at)
{
	char err[256] = "";
	char want[64];
	struct store *st;

	write_all(path, buf, len);
	st = store_mem_new(l->base, path, err, sizeof(err));
	CHECK(st == NULL);
	if (st != NULL) {
		store_free(st);
	}
	if (at >= 0) {
		snprintf(want, sizeof(want), "SNAPSHOT: corrupt at byte %lld",
			 at);
		CHECK_STR(err, want);
	} else {
		CHECK(strncmp(err, "SNAPSHOT: corrupt at byte ", 26) == 0);
	}
}

static void test_mem_snapshot(const char *dir)
{
	static const char bin[] = "b\0i\nn";
	struct loop l;
	char err[256] = "";
	char *path = xasprintf("%s/hark.snap", dir);
	struct store *st;
	struct res g[4];
	struct res done = {0};
	char *buf;
	size_t len = 0;
	int64_t t0;

	memset(g, 0, sizeof(g));
	loop_init(&l);
	st = store_mem_new(l.base, path, err, sizeof(err)); /* missing: ok */
	CHECK(st != NULL);
	t0 = timeutil_now_ms();
	store_set(st, "a", "alpha", 5, 0, NULL, NULL);
	store_set(st, "b", bin, sizeof(bin) - 1, 3600000, NULL, NULL);
	store_set(st, "gone", "x", 1, 20, NULL, NULL);
	store_incrby(st, "n", 7, 3600000, NULL, NULL);
	(void)WAIT_FOR(&l, timeutil_now_ms() > t0 + 40, 1000);
	store_close(st, done_cb, &done);
	CHECK(WAIT_FOR(&l, done.calls > 0, 2000));
	store_free(st);
	CHECK_INT(count_dir_entries(dir), 1); /* no tmp file left behind */
	buf = read_all(path, &len);
	CHECK(buf != NULL);
	if (buf == NULL) {
		goto out;
	}
	CHECK(len > 11 && memcmp(buf, "HARKSNAP 1\n", 11) == 0);
	CHECK(memmem(buf, len, "gone", 4) == NULL); /* expired: skipped */
	CHECK(len > 6 && memcmp(buf + len - 6, "END 3\n", 6) == 0);

	st = store_mem_new(l.base, path, err, sizeof(err));
	CHECK(st != NULL);
	if (st != NULL) {
		store_get(st, "a", str_cb, &g[0]);
		store_get(st, "b", str_cb, &g[1]);
		store_get(st, "n", str_cb, &g[2]);
		store_get(st, "gone", str_cb, &g[3]);
		CHECK(WAIT_FOR(&l, g[3].calls > 0, 1000));
		CHECK(g[0].len == 5 && memcmp(g[0].val, "alpha", 5) == 0);
		CHECK(g[1].len == sizeof(bin) - 1 &&
		      memcmp(g[1].val, bin, sizeof(bin) - 1) == 0);
		CHECK(g[2].len == 1 && g[2].val[0] == '7');
		CHECK(g[3].isnull);
		close_and_free(&l, st);
	}

	/* Corrupt and truncated files are errors, with the byte offset. */
	expect_corrupt(&l, path, "HARKSNAP 2\nEND 0\n", 17, 9);
	expect_corrupt(&l, path, "HARKSNAP 1\nEND 1\n", 17, 15);
	expect_corrupt(&l, path, "HARKSNAP 1\nK 1 x 0\n", 19, 15);
	expect_corrupt(&l, path, buf, len - 1, -1);
	expect_corrupt(&l, path, buf, len / 2, -1);
	expect_corrupt(&l, path, buf, 5, 5);
	{
		char *extra = xmalloc(len + 2);

		memcpy(extra, buf, len);
		memcpy(extra + len, "X\n", 2);
		expect_corrupt(&l, path, extra, len + 2, (long long)len);
		free(extra);
	}
	/* An empty but valid snapshot loads. */
	write_all(path, "HARKSNAP 1\nEND 0\n", 17);
	st = store_mem_new(l.base, path, err, sizeof(err));
	CHECK(st != NULL);
	if (st != NULL) {
		close_and_free(&l, st);
	}
	/* A record that expired while the daemon was down is not loaded. */
	{
		static const char snap[] = "HARKSNAP 1\n"
					   "K 3 1 1000\noldx\n"
					   "K 3 1 0\nnewy\n"
					   "END 2\n";
		struct res go = {0};
		struct res gn = {0};

		write_all(path, snap, sizeof(snap) - 1);
		st = store_mem_new(l.base, path, err, sizeof(err));
		CHECK(st != NULL);
		if (st != NULL) {
			store_get(st, "old", str_cb, &go);
			store_get(st, "new", str_cb, &gn);
			CHECK(WAIT_FOR(&l, gn.calls > 0, 1000));
			CHECK(go.isnull);
			CHECK(gn.len == 1 && gn.val[0] == 'y');
			close_and_free(&l, st);
		}
	}
	free(buf);
out:
	free(path);
	loop_fini(&l);
}

/* ---- main ---- */

int main(void)
{
	struct redis_proc rp = {.pid = -1};
	char tmpl[] = "/tmp/hark-test-store.XXXXXX";
	char snapdir[PATH_MAX];

	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(rp.dir, sizeof(rp.dir), "%s", tmpl);
	snprintf(snapdir, sizeof(snapdir), "%s/snap", tmpl);
	HARK_ASSERT(mkdir(snapdir, 0700) == 0);

	test_mem_roundtrip();
	test_mem_expiry_and_cap();
	test_mem_snapshot(snapdir);
	test_redis_urls();
	test_redis_closed_port();

	if (redis_start(&rp) != 0) {
		fprintf(stderr, "cannot start %s (log in %s)\n", redis_bin(),
			tmpl);
		CHECK(false);
	} else {
		test_redis_roundtrip(&rp);
		test_redis_binary_and_missing(&rp);
		test_redis_auth_select(&rp);
		test_redis_close_pending(&rp);
		test_redis_stopped_timeout(&rp);
		test_redis_killed_and_back(&rp);
		redis_kill(&rp);
	}
	return tests_done(tmpl);
}
