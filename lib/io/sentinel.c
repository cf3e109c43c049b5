/* SPDX-License-Identifier: MIT */
/*
 * The sentinel resolver (see sentinel.h): one short-lived hiredis link at
 * a time, to the sentinel being asked, closed once it answered. A node
 * that refuses, stalls past the timeout, errs or does not know the master
 * passes the question to the next. Loop thread only.
 */
#include "io/sentinel.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "core/redis_url.h"
#include "io/netaddr.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

struct sentinel {
	struct event_base *base; /* borrowed */
	char *master;
	struct redis_url *nodes; /* host, port and addr of each sentinel */
	size_t n_nodes;
	char *password; /* NULL: no AUTH */
	int64_t timeout_ms;

	redisAsyncContext *ac; /* owned by hiredis; the question in flight */
	size_t at;             /* the node asked */
	bool busy;
	bool done; /* the answer is in: step_ev calls back */
	int status;
	char host[128];
	int port;
	char why[256];
	struct event *timeout_ev; /* the node's answer is due */
	struct event *step_ev;    /* the next node, or the callback */
	sentinel_addr_fn *cb;
	void *arg;
};

static const struct timeval zero_tv = {0, 0};

static void ask(struct sentinel *s);

static void next_step(struct sentinel *s)
{
	evtimer_del(s->timeout_ev);
	evtimer_add(s->step_ev, &zero_tv);
}

/* This node could not say: on to the next one, from the loop. */
static void node_failed(struct sentinel *s)
{
	s->at++;
	next_step(s);
}

static void finish(struct sentinel *s, int status)
{
	s->status = status;
	s->done = true;
	next_step(s);
}

/*
 * Forgets the link: its callbacks see it is no longer ours. In a hiredis
 * callback only a disconnect may be asked (hiredis frees the context
 * after the callback); elsewhere it is freed at once.
 */
static void drop_link(struct sentinel *s, bool in_callback)
{
	redisAsyncContext *ac = s->ac;

	if (ac == NULL) {
		return;
	}
	s->ac = NULL;
	ac->data = NULL;
	if (in_callback) {
		redisAsyncDisconnect(ac);
	} else {
		redisAsyncFree(ac);
	}
}

static void connect_cb(const redisAsyncContext *ac, int status)
{
	struct sentinel *s = ac->data;

	if (s == NULL || s->ac != ac || status == REDIS_OK) {
		return;
	}
	snprintf(s->why, sizeof(s->why), "sentinel %s: %s",
		 s->nodes[s->at].addr,
		 ac->errstr[0] != '\0' ? ac->errstr : "connect failed");
	/* hiredis frees the context once this returns. */
	s->ac = NULL;
	node_failed(s);
}

static void disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct sentinel *s = ac->data;

	if (s == NULL || s->ac != ac) {
		return;
	}
	snprintf(s->why, sizeof(s->why), "sentinel %s: %s",
		 s->nodes[s->at].addr,
		 ac->errstr[0] != '\0' ? ac->errstr : "connection closed");
	s->ac = NULL;
	node_failed(s);
}

/* 0 with s->host and s->port from a [host, port] reply, else -1 and why. */
static int read_addr(struct sentinel *s, const redisReply *r)
{
	const char *addr = s->nodes[s->at].addr;
	long port;
	char *end;

	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(s->why, sizeof(s->why), "sentinel %s: %.*s", addr,
			 (int)r->len, r->str);
		return -1;
	}
	if (r->type == REDIS_REPLY_NIL) {
		snprintf(s->why, sizeof(s->why),
			 "sentinel %s does not know master %s", addr,
			 s->master);
		return -1;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_STRING ||
	    r->element[0]->len == 0 || r->element[0]->len >= sizeof(s->host)) {
		snprintf(s->why, sizeof(s->why),
			 "sentinel %s: unexpected reply to "
			 "get-master-addr-by-name",
			 addr);
		return -1;
	}
	port = strtol(r->element[1]->str, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535) {
		snprintf(s->why, sizeof(s->why),
			 "sentinel %s: bad port \"%.10s\"", addr,
			 r->element[1]->str);
		return -1;
	}
	memcpy(s->host, r->element[0]->str, r->element[0]->len);
	s->host[r->element[0]->len] = '\0';
	s->port = (int)port;
	return 0;
}

static void query_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct sentinel *s = privdata;
	const redisReply *r = reply;
	int rc;

	/* NULL: the link is going away; disconnect_cb or the timeout tell. */
	if (s->ac != ac || r == NULL) {
		return;
	}
	rc = read_addr(s, r);
	drop_link(s, true);
	if (rc == 0) {
		finish(s, 0);
	} else {
		node_failed(s);
	}
}

static void timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sentinel *s = arg;

	snprintf(s->why, sizeof(s->why),
		 "sentinel %s: no answer within %lld ms", s->nodes[s->at].addr,
		 (long long)s->timeout_ms);
	drop_link(s, false);
	node_failed(s);
}

static void step_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sentinel *s = arg;

	if (!s->busy) {
		return;
	}
	if (!s->done) {
		ask(s);
		return;
	}
	s->busy = false;
	s->done = false;
	s->cb(s->arg, s->status, s->host, s->port,
	      s->status == 0 ? s->nodes[s->at].addr : NULL, s->why);
}

/* Asks node s->at, or the next one that can be reached. */
static void ask(struct sentinel *s)
{
	const struct redis_url *n;
	redisAsyncContext *ac;
	struct timeval tv;

	if (s->at >= s->n_nodes) {
		if (s->why[0] == '\0') {
			snprintf(s->why, sizeof(s->why), "no sentinel");
		}
		finish(s, -1);
		return;
	}
	n = &s->nodes[s->at];
	ac = redisAsyncConnect(n->host, n->port);
	if (ac == NULL || ac->err != 0) {
		snprintf(s->why, sizeof(s->why), "sentinel %s: %s", n->addr,
			 ac != NULL ? ac->errstr : "cannot allocate");
		if (ac != NULL) {
			redisAsyncFree(ac);
		}
		node_failed(s);
		return;
	}
	ac->data = s;
	if (redisLibeventAttach(ac, s->base) != REDIS_OK) {
		redisAsyncFree(ac);
		snprintf(s->why, sizeof(s->why), "sentinel %s: %s", n->addr,
			 "cannot attach to the event loop");
		node_failed(s);
		return;
	}
	s->ac = ac;
	redisAsyncSetConnectCallback(ac, connect_cb);
	redisAsyncSetDisconnectCallback(ac, disconnect_cb);
	/* A failed AUTH makes the question fail with NOAUTH: that is told. */
	if (s->password != NULL) {
		redisAsyncCommand(ac, NULL, NULL, "AUTH %s", s->password);
	}
	redisAsyncCommand(ac, query_cb, s,
			  "SENTINEL get-master-addr-by-name %s", s->master);
	timeutil_tv(s->timeout_ms, &tv);
	evtimer_add(s->timeout_ev, &tv);
}

struct sentinel *sentinel_new(struct event_base *base, const char *master,
			      const char *const *nodes, size_t n_nodes,
			      const char *password, int64_t timeout_ms)
{
	struct sentinel *s = xcalloc(1, sizeof(*s));
	char why[200];

	s->base = base;
	s->master = xstrdup(master);
	s->nodes = xcalloc(n_nodes, sizeof(*s->nodes));
	for (size_t i = 0; i < n_nodes; i++) {
		if (redis_addr_parse(&s->nodes[s->n_nodes], nodes[i], why,
				     sizeof(why)) != 0) {
			log_warn("store", "sentinel address skipped: %s", why);
			continue;
		}
		netaddr_resolve_once(&s->nodes[s->n_nodes].host);
		s->n_nodes++;
	}
	s->password = password != NULL ? xstrdup(password) : NULL;
	s->timeout_ms = timeout_ms;
	s->timeout_ev = evtimer_new(base, timeout_cb, s);
	s->step_ev = evtimer_new(base, step_cb, s);
	HARK_ASSERT(s->timeout_ev != NULL && s->step_ev != NULL);
	return s;
}

void sentinel_resolve(struct sentinel *s, sentinel_addr_fn *cb, void *arg)
{
	HARK_ASSERT(!s->busy);
	s->busy = true;
	s->done = false;
	s->at = 0;
	s->why[0] = '\0';
	s->cb = cb;
	s->arg = arg;
	evtimer_add(s->step_ev, &zero_tv);
}

void sentinel_cancel(struct sentinel *s)
{
	drop_link(s, false);
	evtimer_del(s->timeout_ev);
	evtimer_del(s->step_ev);
	s->busy = false;
	s->done = false;
}

void sentinel_free(struct sentinel *s)
{
	if (s == NULL) {
		return;
	}
	sentinel_cancel(s);
	event_free(s->timeout_ev);
	event_free(s->step_ev);
	for (size_t i = 0; i < s->n_nodes; i++) {
		redis_url_fini(&s->nodes[i]);
	}
	free(s->nodes);
	free(s->master);
	free(s->password);
	free(s);
}
