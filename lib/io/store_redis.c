/* SPDX-License-Identifier: MIT */
/*
 * The Redis store: hiredis 0.14 async on the libevent loop, with our own
 * per-command timeout (hiredis 0.14 has none), AUTH/SELECT pipelined on
 * connect, and reconnect with backoff while down. Through Sentinel, each
 * connect first asks the sentinels for the primary (io/sentinel.c) and
 * checks it with ROLE; a drop, a timeout or a READONLY reply asks again.
 * Loop thread only; key names come from the caller (core/keys.c).
 */
#include "io/store.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "core/backoff.h"
#include "config/config.h"
#include "core/redis_url.h"
#include "io/netaddr.h"
#include "io/sentinel.h"
#include "io/store_impl.h"
#include "util/log.h"
#include "util/timeutil.h"

#define RECONNECT_BASE_MS 100
#define RECONNECT_MAX_MS 5000
/* A connect gets at least this long even with a short command timeout. */
#define CONNECT_MIN_TIMEOUT_MS 1000
#define DEFAULT_TIMEOUT_MS 2000
/*
 * Through Sentinel, the count writes a primary acknowledged in the last
 * minute (at most this many) are sent again to the next primary: Redis
 * replicates asynchronously, so a failover can lose what the old one
 * acknowledged last, and a closed bucket's count is written only once.
 * Count writes only rise, so sending one again never changes a count
 * that did reach the new primary.
 */
#define REPLAY_MAX 65536
#define REPLAY_WINDOW_MS 60000

enum cmd_kind {
	CMD_INT,
	CMD_STR,
	CMD_DONE,  /* store_barrier */
	CMD_REPLY, /* store_redis_command: the reply itself */
};

/*
 * One command in flight. Once handed to hiredis it is freed only in
 * reply_cb, which hiredis runs for every outcome (a NULL reply on
 * disconnect); a command that never reached hiredis sits on the fail
 * queue and is freed by fail_run_cb.
 */
/* A count write a primary acknowledged, to send again after a failover. */
struct acked {
	char *key;
	char *field;
	long long value;
	int64_t ttl_ms;
	int64_t at_ms; /* monotonic: when it was acknowledged */
};

struct cmd {
	struct store_redis *rs; /* borrowed */
	struct acked *rec;      /* owned; a count write to keep once
				 * acknowledged (through Sentinel); or NULL */
	struct event *timer;    /* owned; NULL until sent */
	enum cmd_kind kind;
	store_int_fn *int_cb;
	store_str_fn *str_cb;
	store_done_fn *done_cb;
	store_reply_fn *reply_cb;
	void *arg;
	bool done;        /* the user callback has run */
	struct cmd *next; /* fail queue link */
};

enum conn_state {
	CONN_DOWN,
	CONN_RESOLVING,  /* asking the sentinels where the primary is */
	CONN_CONNECTING, /* TCP connect or AUTH/SELECT still running */
	CONN_UP,
};

struct store_redis {
	struct store st;
	struct event_base *base; /* borrowed */
	struct redis_url url;    /* host resolved once at start; through
				  * Sentinel: the primary last named */
	int64_t timeout_ms;
	struct sentinel *sentinel; /* owned; NULL: url is fixed */
	char *master;              /* the name the sentinels watch */
	bool master_logged;        /* "sentinel master" said since up */
	char last_primary[160];    /* addr of the last primary we were up on */
	struct acked *acked;       /* owned ring of REPLAY_MAX, or NULL */
	size_t acked_head;
	size_t acked_len;

	redisAsyncContext *ac; /* owned by hiredis; cleared on disconnect */
	enum conn_state state;
	bool tcp_connected;
	int handshake_left;
	bool down_logged; /* "redis down" already said for this outage */
	unsigned attempt;
	uint32_t rnd;
	char reason[512];

	struct event *conn_timer; /* reconnect delay, or connect timeout */
	struct event *drop_ev;    /* drops the link outside hiredis callbacks */
	struct event *fail_ev;    /* runs the fail queue */
	struct event *done_ev;
	struct cmd *fail_head;
	struct cmd *fail_tail;
	size_t npending;

	bool closing;
	store_done_fn *done;
	void *done_arg;

	/* For store_cluster.c (store_impl.h). */
	store_state_fn *watch;
	void *watch_arg;
	const redisReply *err_reply; /* the error a callback runs for */
	bool asking;                 /* ASKING before each command */
};

static const struct timeval zero_tv = {0, 0};

static void replay_acked(struct store_redis *rs);

static uint32_t next_rand(struct store_redis *rs)
{
	uint32_t x = rs->rnd;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	rs->rnd = x;
	return x;
}

static void acked_free(struct acked *a)
{
	if (a == NULL) {
		return;
	}
	free(a->key);
	free(a->field);
	free(a);
}

static void acked_clear(struct acked *a)
{
	free(a->key);
	free(a->field);
	memset(a, 0, sizeof(*a));
}

/* Drops what is older than the window, and the oldest when full. */
static void acked_trim(struct store_redis *rs, int64_t now_ms)
{
	while (rs->acked_len > 0) {
		struct acked *a = &rs->acked[rs->acked_head];

		if (rs->acked_len < REPLAY_MAX &&
		    now_ms - a->at_ms <= REPLAY_WINDOW_MS) {
			break;
		}
		acked_clear(a);
		rs->acked_head = (rs->acked_head + 1) % REPLAY_MAX;
		rs->acked_len--;
	}
}

/* Takes a (its strings; the struct is freed). */
static void acked_keep(struct store_redis *rs, struct acked *a)
{
	int64_t now_ms = timeutil_mono_ms();

	if (rs->acked == NULL) {
		rs->acked = xcalloc(REPLAY_MAX, sizeof(*rs->acked));
	}
	acked_trim(rs, now_ms);
	a->at_ms = now_ms;
	rs->acked[(rs->acked_head + rs->acked_len) % REPLAY_MAX] = *a;
	rs->acked_len++;
	free(a);
}

static void cmd_free(struct cmd *c)
{
	acked_free(c->rec);
	free(c);
}

static void cmd_complete(struct cmd *c, int status, const redisReply *r)
{
	if (c->kind == CMD_DONE) {
		c->done_cb(c->arg);
		return;
	}
	if (c->kind == CMD_REPLY) {
		c->reply_cb(c->arg, status, status == 0 ? r : NULL);
		return;
	}
	if (c->kind == CMD_INT) {
		long long v = 0;

		if (status == 0 && r != NULL &&
		    r->type == REDIS_REPLY_INTEGER) {
			v = r->integer;
		}
		if (c->int_cb != NULL) {
			c->int_cb(c->arg, status, v);
		}
		return;
	}
	if (c->str_cb == NULL) {
		return;
	}
	if (status == 0 && r != NULL && r->type == REDIS_REPLY_STRING) {
		c->str_cb(c->arg, 0, r->str, r->len);
	} else {
		c->str_cb(c->arg, status, NULL, 0);
	}
}

/* 0 when the reply is one this command accepts. */
static int reply_status(const struct cmd *c, const redisReply *r)
{
	if (r == NULL) {
		return -1;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		log_debug("store", "redis error reply: %.*s", (int)r->len,
			  r->str);
		return -1;
	}
	if (c->kind == CMD_DONE || c->kind == CMD_REPLY) {
		return 0;
	}
	if (c->kind == CMD_INT) {
		return r->type == REDIS_REPLY_INTEGER ||
				       r->type == REDIS_REPLY_STATUS
			       ? 0
			       : -1;
	}
	return r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_NIL ? 0
									   : -1;
}

static struct cmd *cmd_new(struct store_redis *rs, enum cmd_kind kind,
			   store_int_fn *int_cb, store_str_fn *str_cb,
			   void *arg)
{
	struct cmd *c = xcalloc(1, sizeof(*c));

	c->rs = rs;
	c->kind = kind;
	c->int_cb = int_cb;
	c->str_cb = str_cb;
	c->arg = arg;
	return c;
}

/* Fails a command that never reached hiredis, from the loop, in order. */
static void cmd_fail(struct store_redis *rs, struct cmd *c)
{
	c->next = NULL;
	if (rs->fail_tail != NULL) {
		rs->fail_tail->next = c;
	} else {
		rs->fail_head = c;
	}
	rs->fail_tail = c;
	evtimer_add(rs->fail_ev, &zero_tv);
}

static void fail_flush(struct store_redis *rs)
{
	struct cmd *c;

	/* Callbacks may fail new commands: they join the queue and run here. */
	while (rs->fail_head != NULL) {
		c = rs->fail_head;
		rs->fail_head = c->next;
		if (rs->fail_head == NULL) {
			rs->fail_tail = NULL;
		}
		c->done = true;
		cmd_complete(c, -1, NULL);
		cmd_free(c);
	}
}

static void fail_run_cb(evutil_socket_t fd, short what, void *arg)
{
	fail_flush(arg);
}

static void reply_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct cmd *c = privdata;
	const redisReply *r = reply;

	if (c->timer != NULL) {
		event_del(c->timer);
	}
	if (!c->done) {
		int status = reply_status(c, r);

		c->done = true;
		c->rs->npending--;
		c->rs->err_reply =
			r != NULL && r->type == REDIS_REPLY_ERROR ? r : NULL;
		cmd_complete(c, status, r);
		c->rs->err_reply = NULL;
		if (status == 0 && c->rec != NULL) {
			acked_keep(c->rs, c->rec);
			c->rec = NULL;
		}
	}
	if (r != NULL && r->type == REDIS_REPLY_ERROR &&
	    c->rs->sentinel != NULL && c->rs->ac == ac &&
	    strncmp(r->str, "READONLY", 8) == 0) {
		/* The primary was demoted under us: ask the sentinels. */
		snprintf(c->rs->reason, sizeof(c->rs->reason),
			 "%s answers READONLY (no longer the primary)",
			 c->rs->url.addr);
		evtimer_add(c->rs->drop_ev, &zero_tv);
	}
	if (c->timer != NULL) {
		event_free(c->timer);
	}
	cmd_free(c);
}

static void schedule_reconnect(struct store_redis *rs)
{
	int64_t delay_ms;

	if (rs->attempt < 64) {
		rs->attempt++;
	}
	delay_ms = backoff_delay_ms(rs->attempt, RECONNECT_BASE_MS,
				    RECONNECT_MAX_MS, next_rand(rs));
	if (delay_ms < 1) {
		delay_ms = 1;
	}
	{
		struct timeval tv;

		timeutil_tv(delay_ms, &tv);

		evtimer_add(rs->conn_timer, &tv);
	}
}

/* The connection is gone (hiredis has freed or is freeing it). */
static void conn_lost(struct store_redis *rs, const char *reason)
{
	bool was_up = rs->state == CONN_UP;

	rs->ac = NULL;
	rs->state = CONN_DOWN;
	rs->tcp_connected = false;
	rs->handshake_left = 0;
	evtimer_del(rs->conn_timer);
	evtimer_del(rs->drop_ev);
	if (rs->closing) {
		evtimer_add(rs->done_ev, &zero_tv);
		return;
	}
	if (was_up || !rs->down_logged) {
		log_warn("store", "redis down: %s addr=%s", reason,
			 rs->url.addr);
		rs->down_logged = true;
	}
	schedule_reconnect(rs);
	if (rs->watch != NULL) {
		rs->watch(rs->watch_arg);
	}
}

/* Drops the link now; hiredis fails every pending command (NULL reply). */
static void drop_conn(struct store_redis *rs, const char *reason)
{
	redisAsyncContext *ac = rs->ac;

	if (ac == NULL) {
		return;
	}
	if (reason != rs->reason) {
		snprintf(rs->reason, sizeof(rs->reason), "%s", reason);
	}
	redisAsyncFree(ac);
	/* hiredis calls disconnect_cb only for links that were connected. */
	if (rs->ac == ac) {
		conn_lost(rs, rs->reason);
	}
}

static void became_up(struct store_redis *rs)
{
	rs->state = CONN_UP;
	rs->attempt = 0;
	rs->down_logged = false;
	evtimer_del(rs->conn_timer);
	if (rs->sentinel != NULL) {
		log_info("store", "redis up addr=%s master=%s", rs->url.addr,
			 rs->master);
		rs->master_logged = false;
		if (rs->last_primary[0] != '\0' &&
		    strcmp(rs->last_primary, rs->url.addr) != 0) {
			replay_acked(rs);
		}
		snprintf(rs->last_primary, sizeof(rs->last_primary), "%s",
			 rs->url.addr);
	} else {
		log_info("store", "redis up addr=%s", rs->url.addr);
	}
	if (rs->watch != NULL) {
		rs->watch(rs->watch_arg);
	}
}

static void connect_cb(const redisAsyncContext *ac, int status)
{
	struct store_redis *rs = ac->data;

	if (rs->ac != ac) {
		return;
	}
	if (status != REDIS_OK) {
		snprintf(rs->reason, sizeof(rs->reason), "%s",
			 ac->errstr != NULL ? ac->errstr : "connect failed");
		/* hiredis frees the context right after this returns. */
		conn_lost(rs, rs->reason);
		return;
	}
	rs->tcp_connected = true;
	if (rs->handshake_left == 0) {
		became_up(rs);
	}
}

static void disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct store_redis *rs = ac->data;

	if (rs->ac != ac) {
		return;
	}
	if (rs->reason[0] == '\0') {
		snprintf(rs->reason, sizeof(rs->reason), "%s",
			 ac->errstr != NULL && ac->errstr[0] != '\0'
				 ? ac->errstr
				 : "connection closed");
	}
	conn_lost(rs, rs->reason);
}

static void handshake_reply(redisAsyncContext *ac, const redisReply *r,
			    const char *what)
{
	struct store_redis *rs = ac->data;

	/* NULL: the link is going away and conn_lost reports it. */
	if (r == NULL || rs->ac != ac) {
		return;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(rs->reason, sizeof(rs->reason), "%s failed: %.*s",
			 what, (int)r->len, r->str);
		/* Freeing the context from inside its own callback is deferred
		 * by hiredis; do it from the loop where it is immediate. */
		evtimer_add(rs->drop_ev, &zero_tv);
		return;
	}
	rs->handshake_left--;
	if (rs->handshake_left == 0 && rs->tcp_connected) {
		became_up(rs);
	}
}

static void auth_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	handshake_reply(ac, reply, "AUTH");
}

static void select_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	handshake_reply(ac, reply, "SELECT");
}

/*
 * Through Sentinel: the node named must say it is the primary. A demoted
 * one (or one not yet promoted) answers "slave": drop it and ask again.
 */
static void role_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct store_redis *rs = ac->data;
	const redisReply *r = reply;
	const redisReply *role;

	if (r == NULL || rs->ac != ac || r->type == REDIS_REPLY_ERROR) {
		handshake_reply(ac, r, "ROLE");
		return;
	}
	role = r->type == REDIS_REPLY_ARRAY && r->elements > 0 ? r->element[0]
							       : NULL;
	if (role != NULL && role->type == REDIS_REPLY_STRING &&
	    strcmp(role->str, "master") == 0) {
		handshake_reply(ac, r, "ROLE");
		return;
	}
	snprintf(rs->reason, sizeof(rs->reason),
		 "%s is not the primary of %s (ROLE %s)", rs->url.addr,
		 rs->master,
		 role != NULL && role->type == REDIS_REPLY_STRING ? role->str
								  : "?");
	evtimer_add(rs->drop_ev, &zero_tv);
}

static void start_connect(struct store_redis *rs)
{
	redisAsyncContext *ac;
	int64_t connect_ms;

	rs->reason[0] = '\0';
	rs->tcp_connected = false;
	rs->handshake_left = 0;
	if (rs->url.path != NULL) {
		ac = redisAsyncConnectUnix(rs->url.path);
	} else {
		ac = redisAsyncConnect(rs->url.host, rs->url.port);
	}
	if (ac == NULL) {
		conn_lost(rs, "cannot allocate redis context");
		return;
	}
	if (ac->err != 0) {
		snprintf(rs->reason, sizeof(rs->reason), "%s", ac->errstr);
		redisAsyncFree(ac);
		conn_lost(rs, rs->reason);
		return;
	}
	ac->data = rs;
	if (redisLibeventAttach(ac, rs->base) != REDIS_OK) {
		redisAsyncFree(ac);
		conn_lost(rs, "cannot attach to the event loop");
		return;
	}
	rs->ac = ac;
	rs->state = CONN_CONNECTING;
	redisAsyncSetConnectCallback(ac, connect_cb);
	redisAsyncSetDisconnectCallback(ac, disconnect_cb);
	/* Queued before any command, so they are the first on the wire. */
	if (rs->url.password != NULL) {
		if (rs->url.user != NULL) {
			redisAsyncCommand(ac, auth_cb, NULL, "AUTH %s %s",
					  rs->url.user, rs->url.password);
		} else {
			redisAsyncCommand(ac, auth_cb, NULL, "AUTH %s",
					  rs->url.password);
		}
		rs->handshake_left++;
	}
	if (rs->url.db != 0) {
		redisAsyncCommand(ac, select_cb, NULL, "SELECT %d", rs->url.db);
		rs->handshake_left++;
	}
	if (rs->sentinel != NULL) {
		redisAsyncCommand(ac, role_cb, NULL, "ROLE");
		rs->handshake_left++;
	}
	connect_ms = rs->timeout_ms > CONNECT_MIN_TIMEOUT_MS
			     ? rs->timeout_ms
			     : CONNECT_MIN_TIMEOUT_MS;
	{
		struct timeval tv;

		timeutil_tv(connect_ms, &tv);

		evtimer_add(rs->conn_timer, &tv);
	}
}

static void resolved_cb(void *arg, int status, const char *host, int port,
			const char *via, const char *why)
{
	struct store_redis *rs = arg;
	char addr[sizeof(rs->url.addr)];

	if (status != 0) {
		snprintf(rs->reason, sizeof(rs->reason),
			 "no sentinel named master %s (%s)", rs->master, why);
		conn_lost(rs, rs->reason);
		return;
	}
	snprintf(addr, sizeof(addr),
		 strchr(host, ':') != NULL ? "[%s]:%d" : "%s:%d", host, port);
	if (!rs->master_logged || strcmp(addr, rs->url.addr) != 0) {
		log_info("store", "sentinel master %s at %s via=%s", rs->master,
			 addr, via);
		rs->master_logged = true;
	}
	free(rs->url.host);
	rs->url.host = xstrdup(host);
	rs->url.port = port;
	snprintf(rs->url.addr, sizeof(rs->url.addr), "%s", addr);
	start_connect(rs);
}

/* A new link: through Sentinel, to the primary it names now. */
static void begin_connect(struct store_redis *rs)
{
	if (rs->sentinel == NULL) {
		start_connect(rs);
		return;
	}
	rs->state = CONN_RESOLVING;
	sentinel_resolve(rs->sentinel, resolved_cb, rs);
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store_redis *rs = arg;

	if (rs->state == CONN_DOWN) {
		begin_connect(rs);
	} else if (rs->state == CONN_CONNECTING) {
		drop_conn(rs, "connect timeout");
	}
}

static void drop_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store_redis *rs = arg;

	drop_conn(rs, rs->reason);
}

static void timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cmd *c = arg;
	struct store_redis *rs = c->rs;
	char why[64];

	HARK_ASSERT(!c->done);
	c->done = true;
	rs->npending--;
	cmd_complete(c, -1, NULL);
	/*
	 * A reply may still come, and replies are matched by order: the only
	 * safe way on is a new link. Freeing the context runs reply_cb with
	 * NULL for every pending command, which frees c.
	 */
	snprintf(why, sizeof(why), "command timeout after %lld ms",
		 (long long)rs->timeout_ms);
	drop_conn(rs, why);
}

static bool can_send(const struct store_redis *rs)
{
	return rs->state == CONN_UP && !rs->closing && rs->ac != NULL &&
	       rs->npending < STORE_MAX_PENDING;
}

static void cmd_sent(struct store_redis *rs, struct cmd *c)
{
	struct timeval tv;

	timeutil_tv(rs->timeout_ms, &tv);

	c->timer = evtimer_new(rs->base, timeout_cb, c);
	HARK_ASSERT(c->timer != NULL);
	evtimer_add(c->timer, &tv);
	rs->npending++;
}

/* A command of an operation: after ASKING when store_cluster follows an
 * ASK redirection (each command, the pipelined EXPIRE too). */
static int send_cmd(struct store_redis *rs, redisCallbackFn *fn, void *priv,
		    const char *fmt, ...)
{
	va_list ap;
	int rc;

	if (rs->asking) {
		redisAsyncCommand(rs->ac, NULL, NULL, "ASKING");
	}
	va_start(ap, fmt);
	rc = redisvAsyncCommand(rs->ac, fn, priv, fmt, ap);
	va_end(ap);
	return rc;
}

static void redis_incrby(struct store *st, const char *key, long long delta,
			 int64_t ttl_ms, store_int_fn *cb, void *arg)
{
	struct store_redis *rs = (struct store_redis *)st;
	struct cmd *c = cmd_new(rs, CMD_INT, cb, NULL, arg);

	/* hiredis refuses commands while its context is being torn down. */
	if (!can_send(rs) || send_cmd(rs, reply_cb, c, "INCRBY %s %lld", key,
				      delta) != REDIS_OK) {
		cmd_fail(rs, c);
		return;
	}
	cmd_sent(rs, c);
	if (ttl_ms > 0) {
		long long secs = (long long)((ttl_ms + 999) / 1000);

		/* Its reply is not needed; the INCRBY reply carries the news. */
		send_cmd(rs, NULL, NULL, "EXPIRE %s %lld", key, secs);
	}
}

/* store_count_put, atomically: the field only rises; the sum is read in
 * the same step. Numbers are Lua doubles, exact to 2^53. */
static const char count_put_lua[] =
	"local c = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') "
	"if tonumber(ARGV[2]) > c then "
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end "
	"if tonumber(ARGV[3]) > 0 then "
	"redis.call('PEXPIRE', KEYS[1], ARGV[3]) end "
	"local t = 0 "
	"for _, v in ipairs(redis.call('HVALS', KEYS[1])) do "
	"t = t + tonumber(v) end "
	"if #KEYS > 1 then "
	"local o = redis.call('GET', KEYS[2]) "
	"if o then t = t + tonumber(o) end end "
	"return t";

static void send_count_put(struct store_redis *rs, const char *key,
			   const char *old_key, const char *field,
			   long long value, int64_t ttl_ms, store_int_fn *cb,
			   void *arg, bool keep)
{
	struct cmd *c = cmd_new(rs, CMD_INT, cb, NULL, arg);
	int rc;

	if (!can_send(rs)) {
		cmd_fail(rs, c);
		return;
	}
	if (old_key != NULL) {
		rc = send_cmd(rs, reply_cb, c, "EVAL %s 2 %s %s %s %lld %lld",
			      count_put_lua, key, old_key, field, value,
			      (long long)ttl_ms);
	} else {
		rc = send_cmd(rs, reply_cb, c, "EVAL %s 1 %s %s %lld %lld",
			      count_put_lua, key, field, value,
			      (long long)ttl_ms);
	}
	if (rc != REDIS_OK) {
		cmd_fail(rs, c);
		return;
	}
	if (keep) {
		c->rec = xcalloc(1, sizeof(*c->rec));
		c->rec->key = xstrdup(key);
		c->rec->field = xstrdup(field);
		c->rec->value = value;
		c->rec->ttl_ms = ttl_ms;
	}
	cmd_sent(rs, c);
}

static void redis_count_put(struct store *st, const char *key,
			    const char *old_key, const char *field,
			    long long value, int64_t ttl_ms, store_int_fn *cb,
			    void *arg)
{
	struct store_redis *rs = (struct store_redis *)st;

	send_count_put(rs, key, old_key, field, value, ttl_ms, cb, arg,
		       rs->sentinel != NULL);
}

/*
 * Up on a primary other than the last one (a failover): sends again the
 * count writes the last one acknowledged within the window. They only
 * raise fields, so those that did replicate change nothing.
 */
static void replay_acked(struct store_redis *rs)
{
	size_t n = 0;

	acked_trim(rs, timeutil_mono_ms());
	for (size_t i = 0; i < rs->acked_len && can_send(rs); i++) {
		const struct acked *a =
			&rs->acked[(rs->acked_head + i) % REPLAY_MAX];

		send_count_put(rs, a->key, NULL, a->field, a->value, a->ttl_ms,
			       NULL, NULL, false);
		n++;
	}
	log_info("store",
		 "count writes acknowledged by %s in the last %d s sent again "
		 "to %s: %zu",
		 rs->last_primary, REPLAY_WINDOW_MS / 1000, rs->url.addr, n);
}

/* store_count_raise: the field only rises; the expiry is set when this
 * writer's field is new (HGET, HSET and at first PEXPIRE: a flush of every
 * counting rule every interval costs Redis no sum). */
static const char count_raise_lua[] =
	"local c = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') "
	"if tonumber(ARGV[2]) > c then "
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) "
	"if c == 0 and tonumber(ARGV[3]) > 0 then "
	"redis.call('PEXPIRE', KEYS[1], ARGV[3]) end end "
	"return 0";

static void redis_count_raise(struct store *st, const char *key,
			      const char *field, long long value,
			      int64_t ttl_ms, store_int_fn *cb, void *arg)
{
	struct store_redis *rs = (struct store_redis *)st;
	struct cmd *c = cmd_new(rs, CMD_INT, cb, NULL, arg);

	if (!can_send(rs) ||
	    redisAsyncCommand(rs->ac, reply_cb, c, "EVAL %s 1 %s %s %lld %lld",
			      count_raise_lua, key, field, value,
			      (long long)ttl_ms) != REDIS_OK) {
		cmd_fail(rs, c);
		return;
	}
	cmd_sent(rs, c);
}

static void redis_append(struct store *st, const char *key, const char *val,
			 size_t len, int64_t ttl_ms, store_int_fn *cb,
			 void *arg)
{
	struct store_redis *rs = (struct store_redis *)st;
	struct cmd *c = cmd_new(rs, CMD_INT, cb, NULL, arg);

	if (!can_send(rs) || send_cmd(rs, reply_cb, c, "APPEND %s %b", key, val,
				      len) != REDIS_OK) {
		cmd_fail(rs, c);
		return;
	}
	cmd_sent(rs, c);
	if (ttl_ms > 0) {
		send_cmd(rs, NULL, NULL, "PEXPIRE %s %lld", key,
			 (long long)ttl_ms);
	}
}

static void redis_set(struct store *st, const char *key, const char *val,
		      size_t len, int64_t ttl_ms, store_int_fn *cb, void *arg)
{
	struct store_redis *rs = (struct store_redis *)st;
	struct cmd *c = cmd_new(rs, CMD_INT, cb, NULL, arg);
	int rc;

	if (!can_send(rs)) {
		cmd_fail(rs, c);
		return;
	}
	if (ttl_ms > 0) {
		rc = send_cmd(rs, reply_cb, c, "SET %s %b PX %lld", key, val,
			      len, (long long)ttl_ms);
	} else {
		rc = send_cmd(rs, reply_cb, c, "SET %s %b", key, val, len);
	}
	if (rc != REDIS_OK) {
		cmd_fail(rs, c);
		return;
	}
	cmd_sent(rs, c);
}

static void redis_get(struct store *st, const char *key, store_str_fn *cb,
		      void *arg)
{
	struct store_redis *rs = (struct store_redis *)st;
	struct cmd *c = cmd_new(rs, CMD_STR, NULL, cb, arg);

	if (!can_send(rs) ||
	    send_cmd(rs, reply_cb, c, "GET %s", key) != REDIS_OK) {
		cmd_fail(rs, c);
		return;
	}
	cmd_sent(rs, c);
}

/* store_hash: ARGV field ('' none), value, set ('1') or remove, ttl. */
static const char hash_lua[] =
	"if ARGV[1] ~= '' then "
	"if ARGV[3] == '1' then "
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) "
	"else redis.call('HDEL', KEYS[1], ARGV[1]) end end "
	"if tonumber(ARGV[4]) > 0 and redis.call('EXISTS', KEYS[1]) == 1 "
	"then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end "
	"local t = redis.call('HGETALL', KEYS[1]) "
	"if #t == 0 then return false end "
	"local out = {} "
	"for i = 1, #t, 2 do out[#out + 1] = t[i] .. ' ' .. t[i + 1] .. "
	"'\\n' end "
	"return table.concat(out)";

static void redis_hash(struct store *st, const char *key, const char *field,
		       const char *value, int64_t ttl_ms, store_str_fn *cb,
		       void *arg)
{
	struct store_redis *rs = (struct store_redis *)st;
	struct cmd *c = cmd_new(rs, CMD_STR, NULL, cb, arg);

	if (!can_send(rs) ||
	    send_cmd(rs, reply_cb, c, "EVAL %s 1 %s %s %s %s %lld", hash_lua,
		     key, field != NULL ? field : "",
		     value != NULL ? value : "", value != NULL ? "1" : "0",
		     (long long)ttl_ms) != REDIS_OK) {
		cmd_fail(rs, c);
		return;
	}
	cmd_sent(rs, c);
}

/* store_claim: the owner's own value counts as claimed (a retry). */
static const char claim_lua[] =
	"local v = redis.call('GET', KEYS[1]) "
	"if v == ARGV[1] then "
	"if tonumber(ARGV[2]) > 0 then "
	"redis.call('PEXPIRE', KEYS[1], ARGV[2]) end "
	"return 1 end "
	"if v then return 0 end "
	"if tonumber(ARGV[2]) > 0 then "
	"redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) "
	"else redis.call('SET', KEYS[1], ARGV[1]) end "
	"return 1";

static void redis_claim(struct store *st, const char *key, const char *val,
			int64_t ttl_ms, store_int_fn *cb, void *arg)
{
	struct store_redis *rs = (struct store_redis *)st;
	struct cmd *c = cmd_new(rs, CMD_INT, cb, NULL, arg);

	if (!can_send(rs) ||
	    send_cmd(rs, reply_cb, c, "EVAL %s 1 %s %s %lld", claim_lua, key,
		     val, (long long)ttl_ms) != REDIS_OK) {
		cmd_fail(rs, c);
		return;
	}
	cmd_sent(rs, c);
}

static const char release_lua[] =
	"if redis.call('GET', KEYS[1]) == ARGV[1] then "
	"redis.call('DEL', KEYS[1]) return 1 end "
	"return 0";

static void redis_release(struct store *st, const char *key, const char *val,
			  store_int_fn *cb, void *arg)
{
	struct store_redis *rs = (struct store_redis *)st;
	struct cmd *c = cmd_new(rs, CMD_INT, cb, NULL, arg);

	if (!can_send(rs) || send_cmd(rs, reply_cb, c, "EVAL %s 1 %s %s",
				      release_lua, key, val) != REDIS_OK) {
		cmd_fail(rs, c);
		return;
	}
	cmd_sent(rs, c);
}

/* Replies come in order: the PING's comes after every earlier one. */
static void redis_barrier(struct store *st, store_done_fn *cb, void *arg)
{
	struct store_redis *rs = (struct store_redis *)st;
	struct cmd *c = cmd_new(rs, CMD_DONE, NULL, NULL, arg);

	c->done_cb = cb;
	if (!can_send(rs) ||
	    redisAsyncCommand(rs->ac, reply_cb, c, "PING") != REDIS_OK) {
		cmd_fail(rs, c);
		return;
	}
	cmd_sent(rs, c);
}

static bool redis_up(const struct store *st)
{
	const struct store_redis *rs = (const struct store_redis *)st;

	return rs->state == CONN_UP;
}

static size_t redis_pending(const struct store *st)
{
	const struct store_redis *rs = (const struct store_redis *)st;

	return rs->npending;
}

static void done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store_redis *rs = arg;

	/* Commands failed after close must finish before done: the caller
	 * may free the store from done. */
	fail_flush(rs);
	evtimer_del(rs->fail_ev);
	HARK_ASSERT(rs->npending == 0);
	log_info("store", "redis closed addr=%s", rs->url.addr);
	if (rs->done != NULL) {
		rs->done(rs->done_arg);
	}
}

static void redis_close(struct store *st, store_done_fn *done, void *arg)
{
	struct store_redis *rs = (struct store_redis *)st;

	HARK_ASSERT(!rs->closing);
	rs->closing = true;
	rs->done = done;
	rs->done_arg = arg;
	evtimer_del(rs->conn_timer);
	if (rs->sentinel != NULL) {
		sentinel_cancel(rs->sentinel);
	}
	if (rs->ac == NULL) {
		evtimer_add(rs->done_ev, &zero_tv);
	} else if (rs->state != CONN_UP) {
		drop_conn(rs, "closing");
	} else {
		/* Waits for the pending replies (each has its timeout), then
		 * disconnect_cb runs and schedules done. */
		redisAsyncDisconnect(rs->ac);
	}
}

static void redis_free(struct store *st)
{
	struct store_redis *rs = (struct store_redis *)st;

	if (rs->ac != NULL) {
		/* Freed without store_close: fail what is left, right now. */
		rs->closing = true;
		rs->done = NULL;
		drop_conn(rs, "freed");
	}
	fail_flush(rs);
	event_free(rs->conn_timer);
	event_free(rs->drop_ev);
	event_free(rs->fail_ev);
	event_free(rs->done_ev);
	sentinel_free(rs->sentinel);
	free(rs->master);
	while (rs->acked_len > 0) {
		acked_clear(&rs->acked[rs->acked_head]);
		rs->acked_head = (rs->acked_head + 1) % REPLAY_MAX;
		rs->acked_len--;
	}
	free(rs->acked);
	redis_url_fini(&rs->url);
	free(rs);
}

static const struct store_ops redis_ops = {
	.kind = "redis",
	.incrby = redis_incrby,
	.count_put = redis_count_put,
	.count_raise = redis_count_raise,
	.append = redis_append,
	.set = redis_set,
	.get = redis_get,
	.hash = redis_hash,
	.claim = redis_claim,
	.release = redis_release,
	.barrier = redis_barrier,
	.up = redis_up,
	.pending = redis_pending,
	.close = redis_close,
	.free = redis_free,
};

/* The parts of both constructors; the caller fills url or sentinel. */
static struct store_redis *redis_new(struct event_base *base,
				     int64_t timeout_ms)
{
	struct store_redis *rs = xcalloc(1, sizeof(*rs));
	struct sigaction sa;

	rs->st.ops = &redis_ops;
	rs->base = base;
	rs->timeout_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
	/*
	 * hiredis 0.14 writes with write(2), not send(MSG_NOSIGNAL): a write
	 * to a Redis that just died would kill the daemon with SIGPIPE.
	 */
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
		signal(SIGPIPE, SIG_IGN);
	}
	rs->rnd = (uint32_t)timeutil_mono_ms() ^ ((uint32_t)getpid() << 16) ^
		  (uint32_t)(uintptr_t)rs;
	if (rs->rnd == 0) {
		rs->rnd = 0x9e3779b9u;
	}
	rs->conn_timer = evtimer_new(base, conn_timer_cb, rs);
	rs->drop_ev = evtimer_new(base, drop_ev_cb, rs);
	rs->fail_ev = evtimer_new(base, fail_run_cb, rs);
	rs->done_ev = evtimer_new(base, done_cb, rs);
	HARK_ASSERT(rs->conn_timer != NULL && rs->drop_ev != NULL &&
		    rs->fail_ev != NULL && rs->done_ev != NULL);
	return rs;
}

struct store *store_redis_new(struct event_base *base, const char *url,
			      int64_t timeout_ms, char *err, size_t errlen)
{
	struct redis_url u;
	struct store_redis *rs;
	char why[200];

	if (redis_url_parse(&u, url, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "redis url: %s", why);
		return NULL;
	}
	rs = redis_new(base, timeout_ms);
	rs->url = u;
	netaddr_resolve_once(&rs->url.host);
	start_connect(rs);
	return &rs->st;
}

struct store *store_sentinel_new(struct event_base *base,
				 const struct config_sentinel *sc,
				 int64_t timeout_ms, char *err, size_t errlen)
{
	struct store_redis *rs;

	if (sc->master == NULL || sc->master[0] == '\0' || sc->n_nodes == 0) {
		snprintf(err, errlen,
			 "store.sentinel: a master name and a node needed");
		return NULL;
	}
	rs = redis_new(base, timeout_ms);
	rs->master = xstrdup(sc->master);
	rs->sentinel =
		sentinel_new(base, sc->master, (const char *const *)sc->nodes,
			     sc->n_nodes, sc->sentinel_password,
			     rs->timeout_ms > CONNECT_MIN_TIMEOUT_MS
				     ? rs->timeout_ms
				     : CONNECT_MIN_TIMEOUT_MS);
	if (sc->password != NULL) {
		rs->url.password = xstrdup(sc->password);
	}
	rs->url.db = (int)sc->db;
	snprintf(rs->url.addr, sizeof(rs->url.addr), "sentinel:%s", sc->master);
	begin_connect(rs);
	return &rs->st;
}

struct store *store_redis_node_new(struct event_base *base,
				   const struct redis_url *u,
				   int64_t timeout_ms)
{
	struct store_redis *rs = redis_new(base, timeout_ms);

	rs->url.host = xstrdup(u->host);
	rs->url.port = u->port;
	rs->url.user = u->user != NULL ? xstrdup(u->user) : NULL;
	rs->url.password = u->password != NULL ? xstrdup(u->password) : NULL;
	snprintf(rs->url.addr, sizeof(rs->url.addr), "%s", u->addr);
	start_connect(rs);
	return &rs->st;
}

void store_redis_watch(struct store *st, store_state_fn *fn, void *arg)
{
	struct store_redis *rs = (struct store_redis *)st;

	rs->watch = fn;
	rs->watch_arg = arg;
}

const char *store_redis_error(const struct store *st, size_t *len)
{
	const struct store_redis *rs = (const struct store_redis *)st;

	if (rs->err_reply == NULL) {
		return NULL;
	}
	*len = rs->err_reply->len;
	return rs->err_reply->str;
}

void store_redis_asking(struct store *st, bool on)
{
	((struct store_redis *)st)->asking = on;
}

void store_redis_command(struct store *st, int argc, const char **argv,
			 store_reply_fn *cb, void *arg)
{
	struct store_redis *rs = (struct store_redis *)st;
	struct cmd *c = cmd_new(rs, CMD_REPLY, NULL, NULL, arg);

	c->reply_cb = cb;
	if (!can_send(rs) || redisAsyncCommandArgv(rs->ac, reply_cb, c, argc,
						   argv, NULL) != REDIS_OK) {
		cmd_fail(rs, c);
		return;
	}
	cmd_sent(rs, c);
}
