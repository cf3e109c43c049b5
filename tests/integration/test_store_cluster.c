/* SPDX-License-Identifier: MIT */
/*
 * store_cluster against a real 3-master Redis Cluster (REDIS_SERVER with
 * --cluster-enabled, joined by REDIS_CLI --cluster create) in a temp dir:
 * every store operation as the other stores do it, keys of many rules on
 * all three masters (each on the node Redis itself says owns its slot),
 * a slot migrated under the store (ASK while it moves, MOVED after), and
 * seeds refused or unreachable.
 */
#include "io/store.h"

#include <ftw.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "core/slot.h"
#include "tests/integration/store_util.h"
#include "tests/unit/check.h"
#include "util/log.h"

#define NODES 3
#define CLUSTER_OK_MS 30000

static struct redis_proc nodes[NODES];

static const char *cli_bin(void)
{
	const char *s = getenv("REDIS_CLI");

	return s != NULL && s[0] != '\0' ? s : "redis-cli";
}

/* One blocking command (printf-like, hiredis's %s and %b); NULL on error. */
static redisReply *node_cmd(int port, const char *fmt, ...)
{
	redisContext *c = blocking_connect(port);
	redisReply *r;
	va_list ap;

	if (c == NULL) {
		return NULL;
	}
	redisSetTimeout(c, (struct timeval){5, 0});
	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	redisFree(c);
	return r;
}

/* A status or string reply's text, copied into out; "" otherwise. */
static void node_text(char *out, size_t outlen, int port, const char *fmt,
		      const char *a)
{
	redisReply *r = node_cmd(port, fmt, a);

	out[0] = '\0';
	if (r != NULL &&
	    (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)) {
		snprintf(out, outlen, "%s", r->str);
	}
	if (r != NULL) {
		freeReplyObject(r);
	}
}

static bool cluster_ok(int port)
{
	char info[4096];

	node_text(info, sizeof(info), port, "CLUSTER INFO%s", "");
	return strstr(info, "cluster_state:ok") != NULL;
}

static int run_cli_create(void)
{
	char addr[NODES][32];
	const char *argv[NODES + 6];
	size_t n = 0;
	pid_t pid;
	int status;

	argv[n++] = cli_bin();
	argv[n++] = "--cluster";
	argv[n++] = "create";
	for (int i = 0; i < NODES; i++) {
		snprintf(addr[i], sizeof(addr[i]), "127.0.0.1:%d",
			 nodes[i].port);
		argv[n++] = addr[i];
	}
	argv[n++] = "--cluster-yes";
	argv[n] = NULL;
	pid = fork();
	if (pid < 0) {
		return -1;
	}
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0) {
			dup2(fd, 1);
			close(fd);
		}
		execvp(cli_bin(), (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		return -1;
	}
	return 0;
}

/* Three empty masters, joined, every one saying cluster_state:ok. */
static int cluster_start(const char *dir)
{
	char bus[16];
	/* The bus port (by default the port + 10000) picked free too. */
	const char *const extra[] = {"--cluster-enabled",
				     "yes",
				     "--cluster-config-file",
				     "nodes.conf",
				     "--cluster-node-timeout",
				     "5000",
				     "--cluster-port",
				     bus,
				     NULL};
	int64_t deadline;

	for (int i = 0; i < NODES; i++) {
		snprintf(bus, sizeof(bus), "%d", free_port());
		nodes[i].pid = -1;
		snprintf(nodes[i].dir, sizeof(nodes[i].dir), "%s/n%d", dir, i);
		HARK_ASSERT(mkdir(nodes[i].dir, 0700) == 0);
		if (redis_start_with(&nodes[i], extra) != 0) {
			return -1;
		}
	}
	if (run_cli_create() != 0) {
		fprintf(stderr, "%s --cluster create failed\n", cli_bin());
		return -1;
	}
	deadline = timeutil_mono_ms() + CLUSTER_OK_MS;
	for (int i = 0; i < NODES; i++) {
		while (!cluster_ok(nodes[i].port)) {
			if (timeutil_mono_ms() > deadline) {
				return -1;
			}
			sleep_ms(50);
		}
	}
	return 0;
}

/* An integer reply to fmt key after ASKING (a slot being imported is
 * read there only so), or LLONG_MIN. */
static long long asking_int(int port, const char *fmt, const char *key)
{
	redisContext *c = blocking_connect(port);
	redisReply *r;
	long long v = LLONG_MIN;

	if (c == NULL) {
		return v;
	}
	r = redisCommand(c, "ASKING");
	if (r != NULL) {
		freeReplyObject(r);
	}
	r = redisCommand(c, fmt, key);
	if (r != NULL && r->type == REDIS_REPLY_INTEGER) {
		v = r->integer;
	}
	if (r != NULL) {
		freeReplyObject(r);
	}
	redisFree(c);
	return v;
}

/* The node that holds key, or -1. */
static int node_of_key(const char *key)
{
	for (int i = 0; i < NODES; i++) {
		if (asking_int(nodes[i].port, "EXISTS %s", key) == 1) {
			return i;
		}
	}
	return -1;
}

/* The index of the node that owns slot, from CLUSTER SLOTS; -1 if none. */
static int owner_of(unsigned slot)
{
	redisReply *r = node_cmd(nodes[0].port, "CLUSTER SLOTS");
	int owner = -1;

	for (size_t i = 0;
	     r != NULL && r->type == REDIS_REPLY_ARRAY && i < r->elements;
	     i++) {
		redisReply *e = r->element[i];

		if (e->element[0]->integer <= slot &&
		    slot <= e->element[1]->integer) {
			for (int k = 0; k < NODES; k++) {
				if (e->element[2]->element[1]->integer ==
				    nodes[k].port) {
					owner = k;
				}
			}
		}
	}
	if (r != NULL) {
		freeReplyObject(r);
	}
	return owner;
}

/* How many of r[0..n) were called back. */
static int calls(const struct res *r, int n)
{
	int k = 0;

	for (int i = 0; i < n; i++) {
		k += r[i].calls > 0;
	}
	return k;
}

static struct store *cluster_store(struct loop *l, int seed)
{
	char err[256] = "";
	char *url = url_for(nodes[seed].port, "");
	const char *urls[] = {url};
	struct store *st =
		store_cluster_new(l->base, urls, 1, 2000, err, sizeof(err));

	CHECK(st != NULL);
	free(url);
	if (st != NULL) {
		CHECK(WAIT_FOR(l, store_up(st), 10000));
	}
	return st;
}

static void test_ops(void)
{
	struct loop l;
	struct store *st;
	struct res a = {0};
	struct res b = {0};
	struct res g = {0};

	loop_init(&l);
	st = cluster_store(&l, 1);
	CHECK_STR(store_kind(st), "redis");
	store_incrby(st, "hark:{t}:cnt", 5, 60000, int_cb, &a);
	CHECK_INT(a.calls, 0); /* never inside the issuing call */
	CHECK_INT(store_pending(st), 1);
	store_incrby(st, "hark:{t}:cnt", 3, 60000, int_cb, &b);
	store_get(st, "hark:{t}:cnt", str_cb, &g);
	CHECK(WAIT_FOR(&l, g.calls > 0, 3000));
	CHECK_INT(a.value, 5);
	CHECK_INT(b.value, 8);
	CHECK(g.len == 1 && g.val[0] == '8');
	CHECK(a.seq < b.seq && b.seq < g.seq);
	CHECK_INT(store_pending(st), 0);
	check_count_put(&l, st);
	check_hash_claim(&l, st);
	check_barrier(&l, st);
	close_and_free(&l, st);
	loop_fini(&l);
}

/* 100 rules' keys: on all three masters, each where Redis puts it. */
static void test_spread(void)
{
	struct loop l;
	struct store *st;
	struct res r[100] = {{0}};
	int per_node[NODES] = {0};

	loop_init(&l);
	st = cluster_store(&l, 0);
	for (int i = 0; i < 100; i++) {
		char key[64];

		snprintf(key, sizeof(key), "hark:{rule-%d}:v2:count:60", i);
		store_count_put(st, key, NULL, "w", i + 1, 60000, int_cb,
				&r[i]);
	}
	/* three nodes: their replies come in any order */
	CHECK(WAIT_FOR(&l, calls(r, 100) == 100, 5000));
	drive(&l, 20);
	for (int i = 0; i < 100; i++) {
		char key[64];
		int at;

		snprintf(key, sizeof(key), "hark:{rule-%d}:v2:count:60", i);
		CHECK_INT(r[i].calls, 1);
		CHECK_INT(r[i].status, 0);
		CHECK_INT(r[i].value, i + 1);
		at = node_of_key(key);
		CHECK(at >= 0);
		if (at < 0) {
			continue;
		}
		per_node[at]++;
		CHECK_INT(owner_of(slot_of(key, strlen(key))), at);
		/* Redis's own slot of the key is ours */
		{
			redisReply *k = node_cmd(nodes[at].port,
						 "CLUSTER KEYSLOT %s", key);

			CHECK(k != NULL && k->type == REDIS_REPLY_INTEGER &&
			      k->integer ==
				      (long long)slot_of(key, strlen(key)));
			if (k != NULL) {
				freeReplyObject(k);
			}
		}
	}
	for (int i = 0; i < NODES; i++) {
		CHECK(per_node[i] > 10);
	}
	close_and_free(&l, st);
	loop_fini(&l);
}

static void node_id(char *out, size_t outlen, int i)
{
	node_text(out, outlen, nodes[i].port, "CLUSTER MYID%s", "");
	CHECK(out[0] != '\0');
}

static bool reply_ok(redisReply *r)
{
	bool ok = r != NULL && r->type != REDIS_REPLY_ERROR;

	if (r != NULL && !ok) {
		fprintf(stderr, "redis: %s\n", r->str);
	}
	if (r != NULL) {
		freeReplyObject(r);
	}
	return ok;
}

/*
 * One slot moved from its owner to another master while the store uses
 * it: a new key of the slot during the move (ASK), the old one after it
 * (MOVED, the store's map stale), every command answered as if nothing
 * moved.
 */
static void test_migration(void)
{
	const char *k1 = "hark:{mig}:v2:count:1";
	const char *k2 = "hark:{mig}:v2:count:2";
	const char *k3 = "hark:{mig}:v1:state";
	const char *k4 = "hark:{mig}:v2:points:1";
	unsigned slot = slot_of(k1, strlen(k1));
	struct loop l;
	struct store *st;
	struct res r[8] = {{0}};
	struct res g = {0};
	char src_id[64], dst_id[64];
	int src, dst;

	loop_init(&l);
	st = cluster_store(&l, 2);
	store_count_put(st, k1, NULL, "w1", 4, 60000, int_cb, &r[0]);
	CHECK(WAIT_FOR(&l, r[0].calls > 0, 3000));
	CHECK_INT(r[0].value, 4);
	src = owner_of(slot);
	CHECK(src >= 0);
	if (src < 0) {
		close_and_free(&l, st);
		loop_fini(&l);
		return;
	}
	dst = (src + 1) % NODES;
	node_id(src_id, sizeof(src_id), src);
	node_id(dst_id, sizeof(dst_id), dst);
	CHECK(reply_ok(node_cmd(nodes[dst].port,
				"CLUSTER SETSLOT %u IMPORTING %s", slot,
				src_id)));
	CHECK(reply_ok(node_cmd(nodes[src].port,
				"CLUSTER SETSLOT %u MIGRATING %s", slot,
				dst_id)));

	/* Moving: k1 is still at the source; k2 and k3 are new, so made
	 * at the target (the source answers ASK). */
	store_count_put(st, k1, NULL, "w2", 3, 60000, int_cb, &r[1]);
	store_count_put(st, k2, NULL, "w1", 9, 60000, int_cb, &r[2]);
	store_set(st, k3, "s1", 2, 60000, int_cb, &r[6]);
	store_append(st, k4, "a", 1, 60000, int_cb, &r[7]);
	store_get(st, k3, str_cb, &g);
	/* source and target: their replies come in any order */
	CHECK(WAIT_FOR(&l,
		       g.calls > 0 && calls(r, 3) == 3 && r[6].calls > 0 &&
			       r[7].calls > 0,
		       3000));
	CHECK_INT(r[1].status, 0);
	CHECK_INT(r[1].value, 7);
	CHECK_INT(r[2].status, 0);
	CHECK_INT(r[2].value, 9);
	CHECK_INT(r[6].status, 0);
	CHECK_INT(g.status, 0);
	CHECK(g.len == 2 && memcmp(g.val, "s1", 2) == 0);
	CHECK_INT(node_of_key(k2), dst);
	CHECK_INT(node_of_key(k3), dst);
	/* APPEND's pipelined PEXPIRE went after ASKING too */
	CHECK_INT(r[7].value, 1);
	CHECK_INT(node_of_key(k4), dst);
	{
		long long ttl = asking_int(nodes[dst].port, "PTTL %s", k4);

		CHECK(ttl > 50000 && ttl <= 60000);
	}
	CHECK_INT(node_of_key(k1), src);

	/* Moved: k1 over, then the slot given to the target everywhere. */
	CHECK(reply_ok(node_cmd(nodes[src].port,
				"MIGRATE 127.0.0.1 %d %s 0 5000",
				nodes[dst].port, k1)));
	for (int i = 0; i < NODES; i++) {
		CHECK(reply_ok(node_cmd(nodes[i].port,
					"CLUSTER SETSLOT %u NODE %s", slot,
					dst_id)));
	}
	CHECK_INT(node_of_key(k1), dst);
	/* The store still sends to the source, which answers MOVED. */
	store_count_put(st, k1, NULL, "w3", 1, 60000, int_cb, &r[3]);
	store_count_put(st, k2, NULL, "w2", 1, 60000, int_cb, &r[4]);
	store_claim(st, "hark:{mig}:v2:sent:1:firing", "me", 60000, int_cb,
		    &r[5]);
	CHECK(WAIT_FOR(&l, calls(r, 6) == 6, 3000));
	CHECK_INT(r[3].status, 0);
	CHECK_INT(r[3].value, 8);
	CHECK_INT(r[4].status, 0);
	CHECK_INT(r[4].value, 10);
	CHECK_INT(r[5].value, 1);
	CHECK(store_up(st));
	for (int i = 0; i < 8; i++) {
		CHECK_INT(r[i].calls, 1);
	}
	close_and_free(&l, st);
	loop_fini(&l);
}

/*
 * A master killed: the store is down, commands for its slots fail (once
 * each, from the loop), the other masters' slots go on. Last: the cluster
 * stays broken.
 */
static void test_master_down(void)
{
	struct loop l;
	struct store *st;
	char keys[NODES][64];
	struct res r[NODES] = {{0}};

	for (int i = 0; i < NODES; i++) {
		for (int k = 0; k < 1000; k++) {
			snprintf(keys[i], sizeof(keys[i]),
				 "hark:{d%d}:v1:state", k);
			if (owner_of(slot_of(keys[i], strlen(keys[i]))) == i) {
				break;
			}
		}
	}
	loop_init(&l);
	st = cluster_store(&l, 0);
	redis_kill(&nodes[2]);
	CHECK(WAIT_FOR(&l, !store_up(st), 3000));
	for (int i = 0; i < NODES; i++) {
		store_set(st, keys[i], "v", 1, 60000, int_cb, &r[i]);
		CHECK_INT(r[i].calls, 0);
	}
	CHECK(WAIT_FOR(&l, r[0].calls + r[1].calls + r[2].calls == 3, 3000));
	drive(&l, 50);
	for (int i = 0; i < NODES; i++) {
		CHECK_INT(r[i].calls, 1);
		CHECK_INT(r[i].status, i == 2 ? -1 : 0);
	}
	CHECK(!store_up(st));
	close_and_free(&l, st);
	loop_fini(&l);
}

/* Seeds the store refuses, and one that does not answer. */
static void test_seeds(void)
{
	struct loop l;
	char err[256] = "";
	const char *unix_url[] = {"unix:///tmp/x.sock"};
	const char *db_url[] = {"redis://127.0.0.1:7000/2"};
	const char *bad_url[] = {"redis://127.0.0.1:7000", "redis://:7001"};
	const char *closed[1];
	char *url;
	struct store *st;
	struct res r = {0};

	loop_init(&l);
	CHECK(store_cluster_new(l.base, unix_url, 1, 1000, err, sizeof(err)) ==
	      NULL);
	CHECK(strstr(err, "over TCP") != NULL);
	CHECK(store_cluster_new(l.base, db_url, 1, 1000, err, sizeof(err)) ==
	      NULL);
	CHECK(strstr(err, "only database 0") != NULL);
	CHECK(store_cluster_new(l.base, bad_url, 2, 1000, err, sizeof(err)) ==
	      NULL);
	CHECK(strncmp(err, "store.cluster[1]: ", 18) == 0);
	CHECK(store_cluster_new(l.base, bad_url, 0, 1000, err, sizeof(err)) ==
	      NULL);
	url = url_for(free_port(), "");
	closed[0] = url;
	st = store_cluster_new(l.base, closed, 1, 300, err, sizeof(err));
	CHECK(st != NULL);
	store_set(st, "hark:{x}:k", "v", 1, 0, int_cb, &r);
	CHECK_INT(r.calls, 0);
	CHECK(WAIT_FOR(&l, r.calls > 0, 2000));
	CHECK_INT(r.status, -1);
	drive(&l, 300);
	CHECK(!store_up(st));
	CHECK_INT(r.calls, 1);
	close_and_free(&l, st);
	free(url);
	loop_fini(&l);
}

int main(void)
{
	char tmpl[] = "/tmp/hark-test-store-cluster.XXXXXX";

	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_seeds();
	if (cluster_start(tmpl) != 0) {
		fprintf(stderr, "cannot start a cluster (logs in %s)\n", tmpl);
		CHECK(false);
	} else {
		test_ops();
		test_spread();
		test_migration();
		test_master_down();
	}
	for (int i = 0; i < NODES; i++) {
		redis_kill(&nodes[i]);
	}
	return tests_done(tmpl);
}
