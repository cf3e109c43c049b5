/* SPDX-License-Identifier: MIT */
/*
 * Redis Cluster for hiredis 0.14, which has no cluster support: the slot
 * map from CLUSTER SLOTS, one store_redis link per node (its timeouts,
 * reconnect and order), each command sent to the owner of its key's slot
 * and MOVED / ASK redirections followed, CLUSTER_MAX_REDIRECTS at most.
 * Key names and their hash tags are the caller's (core/keys.c). Loop
 * thread only.
 */
#include "io/store.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "core/redis_url.h"
#include "core/slot.h"
#include "io/netaddr.h"
#include "io/store_impl.h"
#include "util/log.h"
#include "util/timeutil.h"

/* A command redirected more often than this fails: the map is in flux. */
#define CLUSTER_MAX_REDIRECTS 5
#define CLUSTER_MAX_NODES 1024
/* The map is asked again this often, and at once (but not more often than
 * every CLUSTER_REFRESH_MIN_MS) on a MOVED or a master's link lost. */
#define CLUSTER_REFRESH_MS 30000
#define CLUSTER_REFRESH_MIN_MS 100
/* While the map is unknown or a master is down: the failover's news. */
#define CLUSTER_REFRESH_DOWN_MS 1000

enum op {
	OP_INCRBY,
	OP_COUNT_PUT,
	OP_COUNT_RAISE,
	OP_APPEND,
	OP_SET,
	OP_GET,
	OP_HASH,
	OP_CLAIM,
	OP_RELEASE,
	OP_BARRIER, /* completes once every earlier command has */
};

struct node;

/*
 * One command, from its store_* call to its callback, with copies of its
 * arguments to send it again on a redirection. Owned by the in-flight
 * list; freed in finish, after the caller's callback ran.
 */
struct ccmd {
	struct store_cluster *sc; /* borrowed */
	struct node *node;        /* borrowed: where it went last */
	enum op op;
	char *key;   /* owned */
	char *key2;  /* owned: count_put's old key, or NULL */
	char *field; /* owned: count_put's and hash's field, or NULL */
	char *val;   /* owned: the value, or NULL (hash: remove the field) */
	size_t len;
	long long num; /* incrby's delta, count_put's value */
	int64_t ttl_ms;
	store_int_fn *int_cb;
	store_str_fn *str_cb;
	store_done_fn *done_cb;
	void *arg;
	int redirects;
	bool asking;              /* the next send follows an ASK */
	struct ccmd *prev, *next; /* in-flight list, in issue order */
	struct ccmd *qnext;       /* a node's waiting list or the fail queue */
};

struct node {
	struct store_cluster *sc; /* borrowed */
	struct redis_url url;     /* host is an address; user, password */
	char *name;               /* a seed's host as written, or NULL */
	struct store *link;       /* owned: a store_redis_node_new */
	bool master;              /* owns slots in the map */
	bool fresh;               /* not yet up or down: commands wait for it */
	bool changed; /* its link went up or down since state_ev ran */
	struct ccmd *wait_head;
	struct ccmd *wait_tail;
	size_t nwait;
};

struct store_cluster {
	struct store st;
	struct event_base *base; /* borrowed */
	int64_t timeout_ms;
	char *user;     /* from the seed URLs, for every node; or NULL */
	char *password; /* idem */

	struct node **nodes; /* owned, n_nodes of them */
	size_t n_nodes;
	struct node *slots[SLOT_COUNT]; /* borrowed: each slot's master */
	size_t covered;                 /* slots with a master */
	bool map_known;
	bool map_logged_down; /* "cluster map unknown" said */
	bool skip_logged;     /* "cluster node skipped" said */
	size_t ask_next;      /* the node asked for the map next */

	bool refreshing; /* a CLUSTER SLOTS in flight */
	bool refresh_wanted;
	int64_t refreshed_at_ms; /* monotonic: the last one sent */
	struct event *refresh_ev;
	struct event *state_ev; /* a link went up or down */
	struct event *fail_ev;  /* runs the fail queue */
	struct event *barrier_ev;
	struct event *done_ev;

	struct ccmd *head; /* in flight, in issue order */
	struct ccmd *tail;
	struct ccmd *fail_head;
	struct ccmd *fail_tail;
	size_t nwait; /* commands waiting for a node's first connect */

	bool closing;
	size_t links_open; /* while closing */
	store_done_fn *done;
	void *done_arg;
};

static const struct timeval zero_tv = {0, 0};

static void issue(struct ccmd *c);

/* ---- commands: in-flight list, fail queue, barriers ---- */

static struct ccmd *ccmd_new(struct store_cluster *sc, enum op op,
			     const char *key, void *arg)
{
	struct ccmd *c = xcalloc(1, sizeof(*c));

	c->sc = sc;
	c->op = op;
	c->key = key != NULL ? xstrdup(key) : NULL;
	c->arg = arg;
	c->prev = sc->tail;
	if (sc->tail != NULL) {
		sc->tail->next = c;
	} else {
		sc->head = c;
	}
	sc->tail = c;
	return c;
}

static void ccmd_free(struct ccmd *c)
{
	free(c->key);
	free(c->key2);
	free(c->field);
	free(c->val);
	free(c);
}

/* The caller's callback has run: off the list; barriers behind it may go. */
static void finish(struct ccmd *c)
{
	struct store_cluster *sc = c->sc;

	if (c->prev != NULL) {
		c->prev->next = c->next;
	} else {
		sc->head = c->next;
	}
	if (c->next != NULL) {
		c->next->prev = c->prev;
	} else {
		sc->tail = c->prev;
	}
	if (sc->head != NULL && sc->head->op == OP_BARRIER) {
		evtimer_add(sc->barrier_ev, &zero_tv);
	}
	ccmd_free(c);
}

static void complete_failed(struct ccmd *c)
{
	if (c->int_cb != NULL) {
		c->int_cb(c->arg, -1, 0);
	} else if (c->str_cb != NULL) {
		c->str_cb(c->arg, -1, NULL, 0);
	}
	finish(c);
}

/* Fails c from the loop (never inside the call that issued it). */
static void fail_later(struct ccmd *c)
{
	struct store_cluster *sc = c->sc;

	c->qnext = NULL;
	if (sc->fail_tail != NULL) {
		sc->fail_tail->qnext = c;
	} else {
		sc->fail_head = c;
	}
	sc->fail_tail = c;
	evtimer_add(sc->fail_ev, &zero_tv);
}

static void fail_flush(struct store_cluster *sc)
{
	/* Callbacks may fail new commands: they join the queue and run here. */
	while (sc->fail_head != NULL) {
		struct ccmd *c = sc->fail_head;

		sc->fail_head = c->qnext;
		if (sc->fail_head == NULL) {
			sc->fail_tail = NULL;
		}
		complete_failed(c);
	}
}

static void fail_cb(evutil_socket_t fd, short what, void *arg)
{
	fail_flush(arg);
}

/* Barriers at the head of the list: everything before them is done. */
static void barrier_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store_cluster *sc = arg;

	while (sc->head != NULL && sc->head->op == OP_BARRIER) {
		struct ccmd *c = sc->head;

		c->done_cb(c->arg);
		finish(c);
	}
}

/* ---- nodes ---- */

static bool is_address(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 ||
	       inet_pton(AF_INET6, host, buf) == 1;
}

static void link_state_cb(void *arg)
{
	struct node *n = arg;

	/* Maybe inside a hiredis callback: state_cb does the work. */
	n->changed = true;
	evtimer_add(n->sc->state_ev, &zero_tv);
}

static struct node *node_find(struct store_cluster *sc, const char *host,
			      int port)
{
	for (size_t i = 0; i < sc->n_nodes; i++) {
		struct node *n = sc->nodes[i];

		if (n->url.port == port &&
		    (strcmp(n->url.host, host) == 0 ||
		     (n->name != NULL && strcmp(n->name, host) == 0))) {
			return n;
		}
	}
	return NULL;
}

/*
 * The node at host:port, its link made (connecting) when new. host must
 * be an address, or a seed's name: hiredis 0.14 would resolve a name with
 * a blocking call, on the loop. NULL when it cannot be reached.
 */
static struct node *node_get(struct store_cluster *sc, const char *host,
			     int port)
{
	struct node *n = node_find(sc, host, port);
	struct redis_url u;

	if (n != NULL) {
		return n;
	}
	if (!is_address(host) || sc->n_nodes >= CLUSTER_MAX_NODES) {
		/* Asked again with every map: said once at warn. */
		log_write(sc->skip_logged ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN,
			  "store", "cluster node %s:%d skipped: %s", host, port,
			  sc->n_nodes >= CLUSTER_MAX_NODES
				  ? "too many nodes"
				  : "a name, not an address (set "
				    "cluster-preferred-endpoint-type ip, or "
				    "give it as a seed)");
		sc->skip_logged = true;
		return NULL;
	}
	memset(&u, 0, sizeof(u));
	u.host = (char *)host;
	u.port = port;
	u.user = sc->user;
	u.password = sc->password;
	snprintf(u.addr, sizeof(u.addr),
		 strchr(host, ':') != NULL ? "[%s]:%d" : "%s:%d", host, port);
	n = xcalloc(1, sizeof(*n));
	n->sc = sc;
	n->url.host = xstrdup(host);
	n->url.port = port;
	snprintf(n->url.addr, sizeof(n->url.addr), "%s", u.addr);
	n->fresh = true;
	n->link = store_redis_node_new(sc->base, &u, sc->timeout_ms);
	store_redis_watch(n->link, link_state_cb, n);
	sc->nodes = xrealloc(sc->nodes, (sc->n_nodes + 1) * sizeof(*sc->nodes));
	sc->nodes[sc->n_nodes++] = n;
	return n;
}

static void node_fail_waiting(struct node *n)
{
	while (n->wait_head != NULL) {
		struct ccmd *c = n->wait_head;

		n->wait_head = c->qnext;
		n->nwait--;
		n->sc->nwait--;
		fail_later(c);
	}
	n->wait_tail = NULL;
}

/* ---- the slot map ---- */

static void request_refresh(struct store_cluster *sc);

static bool all_masters_up(const struct store_cluster *sc)
{
	for (size_t i = 0; i < sc->n_nodes; i++) {
		if (sc->nodes[i]->master && !store_up(sc->nodes[i]->link)) {
			return false;
		}
	}
	return sc->map_known && sc->covered == SLOT_COUNT;
}

static void schedule_refresh(struct store_cluster *sc, int64_t delay_ms)
{
	struct timeval tv;

	timeutil_tv(delay_ms > 0 ? delay_ms : 0, &tv);
	evtimer_add(sc->refresh_ev, &tv);
}

/* 0 when every entry of a CLUSTER SLOTS reply is well formed. */
static int slots_valid(const redisReply *r)
{
	if (r->type != REDIS_REPLY_ARRAY) {
		return -1;
	}
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i];
		const redisReply *m;

		if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
		    e->element[0]->type != REDIS_REPLY_INTEGER ||
		    e->element[1]->type != REDIS_REPLY_INTEGER ||
		    e->element[0]->integer < 0 ||
		    e->element[0]->integer > e->element[1]->integer ||
		    e->element[1]->integer >= SLOT_COUNT) {
			return -1;
		}
		m = e->element[2];
		if (m->type != REDIS_REPLY_ARRAY || m->elements < 2 ||
		    m->element[0]->type != REDIS_REPLY_STRING ||
		    m->element[1]->type != REDIS_REPLY_INTEGER ||
		    m->element[1]->integer < 1 ||
		    m->element[1]->integer > 65535) {
			return -1;
		}
	}
	return 0;
}

/* Takes the map a node (from, which answered) gave. */
static void map_apply(struct store_cluster *sc, const struct node *from,
		      const redisReply *r)
{
	size_t masters_before = 0, masters = 0;
	bool changed = false;

	for (size_t i = 0; i < sc->n_nodes; i++) {
		masters_before += sc->nodes[i]->master;
	}
	memset(sc->slots, 0, sizeof(sc->slots));
	sc->covered = 0;
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i];
		const redisReply *m = e->element[2];
		/* "" or "?": an endpoint the node does not know; its own. */
		const char *host =
			m->element[0]->len > 0 &&
					strcmp(m->element[0]->str, "?") != 0
				? m->element[0]->str
				: from->url.host;
		struct node *n =
			node_get(sc, host, (int)m->element[1]->integer);

		if (n == NULL) {
			continue;
		}
		for (long long s = e->element[0]->integer;
		     s <= e->element[1]->integer; s++) {
			if (sc->slots[s] == NULL) {
				sc->covered++;
			}
			sc->slots[s] = n;
		}
	}
	for (size_t i = 0; i < sc->n_nodes; i++) {
		struct node *n = sc->nodes[i];
		bool owns = false;

		for (size_t s = 0; s < SLOT_COUNT && !owns; s++) {
			owns = sc->slots[s] == n;
		}
		changed |= owns != n->master;
		n->master = owns;
		masters += owns;
	}
	if (!sc->map_known || changed || masters != masters_before) {
		log_info("store",
			 "cluster map from %s: masters=%zu slots=%zu/%d",
			 from->url.addr, masters, sc->covered, SLOT_COUNT);
	}
	sc->map_known = true;
	sc->map_logged_down = false;
}

static void slots_cb(void *arg, int status, const redisReply *r)
{
	struct node *from = arg;
	struct store_cluster *sc = from->sc;
	int64_t next_ms;

	sc->refreshing = false;
	if (sc->closing) {
		return;
	}
	if (status == 0 && r->type != REDIS_REPLY_ERROR &&
	    slots_valid(r) == 0) {
		map_apply(sc, from, r);
	} else if (!sc->map_known && !sc->map_logged_down) {
		log_warn("store", "cluster map: no answer from %s (%s)",
			 from->url.addr,
			 status != 0                    ? "link lost or timeout"
			 : r->type == REDIS_REPLY_ERROR ? r->str
							: "unexpected reply");
		sc->map_logged_down = true;
	}
	if (sc->refresh_wanted) {
		next_ms = CLUSTER_REFRESH_MIN_MS;
	} else if (!all_masters_up(sc)) {
		next_ms = CLUSTER_REFRESH_DOWN_MS;
	} else {
		next_ms = CLUSTER_REFRESH_MS;
	}
	schedule_refresh(sc, next_ms);
}

static void refresh_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store_cluster *sc = arg;
	static const char *argv[] = {"CLUSTER", "SLOTS"};

	if (sc->closing || sc->refreshing) {
		return;
	}
	sc->refresh_wanted = false;
	/* Any node knows the map; take turns, the next one up. */
	for (size_t k = 0; k < sc->n_nodes; k++) {
		struct node *n = sc->nodes[(sc->ask_next + k) % sc->n_nodes];

		if (store_up(n->link)) {
			sc->ask_next = (sc->ask_next + k + 1) % sc->n_nodes;
			sc->refreshing = true;
			sc->refreshed_at_ms = timeutil_mono_ms();
			store_redis_command(n->link, 2, argv, slots_cb, n);
			return;
		}
	}
	/* No link up: asked again when one comes up (state_cb), or then. */
	sc->refresh_wanted = true;
	schedule_refresh(sc, CLUSTER_REFRESH_DOWN_MS);
}

static void request_refresh(struct store_cluster *sc)
{
	if (sc->closing) {
		return;
	}
	sc->refresh_wanted = true;
	if (!sc->refreshing) {
		/* slots_cb schedules the next one itself */
		schedule_refresh(sc, sc->refreshed_at_ms +
					     CLUSTER_REFRESH_MIN_MS -
					     timeutil_mono_ms());
	}
}

/* Links went up or down: waiting commands go or fail; the map may move. */
static void state_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store_cluster *sc = arg;
	bool refresh = false;

	for (size_t i = 0; i < sc->n_nodes; i++) {
		struct node *n = sc->nodes[i];

		if (!n->changed) {
			continue;
		}
		n->changed = false;
		n->fresh = false;
		if (store_up(n->link)) {
			refresh |= !sc->map_known || sc->refresh_wanted;
			while (n->wait_head != NULL) {
				struct ccmd *c = n->wait_head;

				n->wait_head = c->qnext;
				n->nwait--;
				sc->nwait--;
				issue(c);
			}
			n->wait_tail = NULL;
		} else {
			/* A master lost: a failover may be under way. */
			refresh |= n->master;
			node_fail_waiting(n);
		}
	}
	if (refresh) {
		request_refresh(sc);
	}
}

/* ---- routing ---- */

static void int_reply_cb(void *arg, int status, long long v);
static void str_reply_cb(void *arg, int status, const char *val, size_t len);

/* Sends c to c->node now (its link fails it from the loop when down). */
static void issue(struct ccmd *c)
{
	struct store *l = c->node->link;

	if (c->asking) {
		store_redis_asking(l, true);
	}
	switch (c->op) {
	case OP_INCRBY:
		store_incrby(l, c->key, c->num, c->ttl_ms, int_reply_cb, c);
		break;
	case OP_COUNT_PUT:
		store_count_put(l, c->key, c->key2, c->field, c->num, c->ttl_ms,
				int_reply_cb, c);
		break;
	case OP_COUNT_RAISE:
		store_count_raise(l, c->key, c->field, c->num, c->ttl_ms,
				  int_reply_cb, c);
		break;
	case OP_APPEND:
		store_append(l, c->key, c->val, c->len, c->ttl_ms, int_reply_cb,
			     c);
		break;
	case OP_SET:
		store_set(l, c->key, c->val, c->len, c->ttl_ms, int_reply_cb,
			  c);
		break;
	case OP_GET:
		store_get(l, c->key, str_reply_cb, c);
		break;
	case OP_HASH:
		store_hash(l, c->key, c->field, c->val, c->ttl_ms, str_reply_cb,
			   c);
		break;
	case OP_CLAIM:
		store_claim(l, c->key, c->val, c->ttl_ms, int_reply_cb, c);
		break;
	case OP_RELEASE:
		store_release(l, c->key, c->val, int_reply_cb, c);
		break;
	case OP_BARRIER:
		HARK_ASSERT(false);
		break;
	}
	if (c->asking) {
		store_redis_asking(l, false);
		c->asking = false;
	}
}

/* To node n (NULL: the owner of c's slot), or failed from the loop. */
static void send_to(struct ccmd *c, struct node *n)
{
	struct store_cluster *sc = c->sc;

	if (n == NULL && sc->map_known) {
		n = sc->slots[slot_of(c->key, strlen(c->key))];
	}
	if (n == NULL || sc->closing) {
		fail_later(c);
		return;
	}
	c->node = n;
	if (n->fresh) {
		/* Its first connect is under way (bounded by its timeout). */
		if (sc->nwait >= STORE_MAX_PENDING) {
			fail_later(c);
			return;
		}
		c->qnext = NULL;
		if (n->wait_tail != NULL) {
			n->wait_tail->qnext = c;
		} else {
			n->wait_head = c;
		}
		n->wait_tail = c;
		n->nwait++;
		sc->nwait++;
		return;
	}
	issue(c);
}

/*
 * c failed on c->node: true when the reply was a redirection that c now
 * follows (MOVED: the map is updated at once and asked again; ASK: this
 * once, after ASKING).
 */
static bool follow(struct ccmd *c)
{
	struct store_cluster *sc = c->sc;
	const char *err;
	size_t len = 0;
	enum slot_redirect kind;
	unsigned slot;
	char host[128];
	int port;
	struct node *to;

	err = store_redis_error(c->node->link, &len);
	if (err == NULL) {
		return false;
	}
	kind = slot_redirect_parse(err, len, &slot, host, sizeof(host), &port);
	if (kind == SLOT_REDIRECT_NONE) {
		if (len >= 11 && memcmp(err, "CLUSTERDOWN", 11) == 0) {
			request_refresh(sc);
		}
		return false;
	}
	if (sc->closing || c->redirects >= CLUSTER_MAX_REDIRECTS) {
		log_debug("store",
			  "cluster: %.*s: not followed (redirected %d "
			  "times)",
			  (int)len, err, c->redirects);
		return false;
	}
	c->redirects++;
	to = node_get(sc, host[0] != '\0' ? host : c->node->url.host, port);
	if (to == NULL) {
		return false;
	}
	log_debug("store", "cluster: %.*s key=%s", (int)len, err, c->key);
	if (kind == SLOT_REDIRECT_MOVED) {
		if (sc->slots[slot] == NULL) {
			sc->covered++;
		}
		sc->slots[slot] = to;
		to->master = true;
		request_refresh(sc);
	} else {
		c->asking = true;
	}
	send_to(c, to);
	return true;
}

static void int_reply_cb(void *arg, int status, long long v)
{
	struct ccmd *c = arg;

	if (status != 0 && follow(c)) {
		return;
	}
	if (c->int_cb != NULL) {
		c->int_cb(c->arg, status, v);
	}
	finish(c);
}

static void str_reply_cb(void *arg, int status, const char *val, size_t len)
{
	struct ccmd *c = arg;

	if (status != 0 && follow(c)) {
		return;
	}
	if (c->str_cb != NULL) {
		c->str_cb(c->arg, status, val, len);
	}
	finish(c);
}

/* ---- operations ---- */

static char *copy_val(const char *val, size_t len)
{
	char *v = xmalloc(len + 1);

	memcpy(v, val, len);
	v[len] = '\0';
	return v;
}

/* A command, its arguments copied (NULL: none), to its slot's owner. */
static void submit(struct store *st, enum op op, const char *key,
		   const char *key2, const char *field, const char *val,
		   size_t len, long long num, int64_t ttl_ms,
		   store_int_fn *int_cb, store_str_fn *str_cb, void *arg)
{
	struct ccmd *c = ccmd_new((struct store_cluster *)st, op, key, arg);

	c->key2 = key2 != NULL ? xstrdup(key2) : NULL;
	c->field = field != NULL ? xstrdup(field) : NULL;
	c->val = val != NULL ? copy_val(val, len) : NULL;
	c->len = len;
	c->num = num;
	c->ttl_ms = ttl_ms;
	c->int_cb = int_cb;
	c->str_cb = str_cb;
	send_to(c, NULL);
}

static void cluster_incrby(struct store *st, const char *key, long long delta,
			   int64_t ttl_ms, store_int_fn *cb, void *arg)
{
	submit(st, OP_INCRBY, key, NULL, NULL, NULL, 0, delta, ttl_ms, cb, NULL,
	       arg);
}

/* old_key shares key's hash tag (core/keys.c): one slot, one script. */
static void cluster_count_put(struct store *st, const char *key,
			      const char *old_key, const char *field,
			      long long value, int64_t ttl_ms, store_int_fn *cb,
			      void *arg)
{
	submit(st, OP_COUNT_PUT, key, old_key, field, NULL, 0, value, ttl_ms,
	       cb, NULL, arg);
}

static void cluster_count_raise(struct store *st, const char *key,
				const char *field, long long value,
				int64_t ttl_ms, store_int_fn *cb, void *arg)
{
	submit(st, OP_COUNT_RAISE, key, NULL, field, NULL, 0, value, ttl_ms, cb,
	       NULL, arg);
}

static void cluster_append(struct store *st, const char *key, const char *val,
			   size_t len, int64_t ttl_ms, store_int_fn *cb,
			   void *arg)
{
	submit(st, OP_APPEND, key, NULL, NULL, val, len, 0, ttl_ms, cb, NULL,
	       arg);
}

static void cluster_set(struct store *st, const char *key, const char *val,
			size_t len, int64_t ttl_ms, store_int_fn *cb, void *arg)
{
	submit(st, OP_SET, key, NULL, NULL, val, len, 0, ttl_ms, cb, NULL, arg);
}

static void cluster_get(struct store *st, const char *key, store_str_fn *cb,
			void *arg)
{
	submit(st, OP_GET, key, NULL, NULL, NULL, 0, 0, 0, NULL, cb, arg);
}

static void cluster_hash(struct store *st, const char *key, const char *field,
			 const char *value, int64_t ttl_ms, store_str_fn *cb,
			 void *arg)
{
	submit(st, OP_HASH, key, NULL, field, value,
	       value != NULL ? strlen(value) : 0, 0, ttl_ms, NULL, cb, arg);
}

static void cluster_claim(struct store *st, const char *key, const char *val,
			  int64_t ttl_ms, store_int_fn *cb, void *arg)
{
	submit(st, OP_CLAIM, key, NULL, NULL, val, strlen(val), 0, ttl_ms, cb,
	       NULL, arg);
}

static void cluster_release(struct store *st, const char *key, const char *val,
			    store_int_fn *cb, void *arg)
{
	submit(st, OP_RELEASE, key, NULL, NULL, val, strlen(val), 0, 0, cb,
	       NULL, arg);
}

/* No command of its own: it waits, in the list, for those before it. */
static void cluster_barrier(struct store *st, store_done_fn *cb, void *arg)
{
	struct store_cluster *sc = (struct store_cluster *)st;
	struct ccmd *c = ccmd_new(sc, OP_BARRIER, NULL, arg);

	c->done_cb = cb;
	if (sc->head == c) {
		evtimer_add(sc->barrier_ev, &zero_tv);
	}
}

/* Up: the map is known, covers every slot, and every master's link is up. */
static bool cluster_up(const struct store *st)
{
	const struct store_cluster *sc = (const struct store_cluster *)st;

	return !sc->closing && all_masters_up(sc);
}

static size_t cluster_pending(const struct store *st)
{
	const struct store_cluster *sc = (const struct store_cluster *)st;
	size_t n = sc->nwait;

	for (size_t i = 0; i < sc->n_nodes; i++) {
		n += store_pending(sc->nodes[i]->link);
	}
	return n;
}

/* ---- close and free ---- */

static void done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store_cluster *sc = arg;

	fail_flush(sc);
	barrier_cb(-1, 0, sc);
	HARK_ASSERT(sc->head == NULL);
	log_info("store", "redis cluster closed");
	if (sc->done != NULL) {
		sc->done(sc->done_arg);
	}
}

static void link_closed_cb(void *arg)
{
	struct node *n = arg;
	struct store_cluster *sc = n->sc;

	if (--sc->links_open == 0) {
		evtimer_add(sc->done_ev, &zero_tv);
	}
}

static void cluster_close(struct store *st, store_done_fn *done, void *arg)
{
	struct store_cluster *sc = (struct store_cluster *)st;

	HARK_ASSERT(!sc->closing);
	sc->closing = true;
	sc->done = done;
	sc->done_arg = arg;
	evtimer_del(sc->refresh_ev);
	sc->links_open = sc->n_nodes;
	for (size_t i = 0; i < sc->n_nodes; i++) {
		node_fail_waiting(sc->nodes[i]);
	}
	/* Each link lets its pending replies come (or time out) first; a
	 * redirection then fails, as closing. */
	for (size_t i = 0; i < sc->n_nodes; i++) {
		store_close(sc->nodes[i]->link, link_closed_cb, sc->nodes[i]);
	}
	if (sc->n_nodes == 0) {
		evtimer_add(sc->done_ev, &zero_tv);
	}
}

static void cluster_free(struct store *st)
{
	struct store_cluster *sc = (struct store_cluster *)st;

	/* Without store_close: fail what is left, right now. */
	sc->closing = true;
	for (size_t i = 0; i < sc->n_nodes; i++) {
		node_fail_waiting(sc->nodes[i]);
	}
	for (size_t i = 0; i < sc->n_nodes; i++) {
		store_free(sc->nodes[i]->link);
		sc->nodes[i]->link = NULL;
	}
	fail_flush(sc);
	barrier_cb(-1, 0, sc);
	for (size_t i = 0; i < sc->n_nodes; i++) {
		redis_url_fini(&sc->nodes[i]->url);
		free(sc->nodes[i]->name);
		free(sc->nodes[i]);
	}
	free(sc->nodes);
	event_free(sc->refresh_ev);
	event_free(sc->state_ev);
	event_free(sc->fail_ev);
	event_free(sc->barrier_ev);
	event_free(sc->done_ev);
	free(sc->user);
	free(sc->password);
	free(sc);
}

static const struct store_ops cluster_ops = {
	/* "redis": the same store to its users (a fleet shares it). */
	.kind = "redis",
	.incrby = cluster_incrby,
	.count_put = cluster_count_put,
	.count_raise = cluster_count_raise,
	.append = cluster_append,
	.set = cluster_set,
	.get = cluster_get,
	.hash = cluster_hash,
	.claim = cluster_claim,
	.release = cluster_release,
	.barrier = cluster_barrier,
	.up = cluster_up,
	.pending = cluster_pending,
	.close = cluster_close,
	.free = cluster_free,
};

/* Parses the seeds into u (n of them); -1 with err for a bad one. */
static int parse_seeds(struct redis_url *u, const char *const *urls, size_t n,
		       char *err, size_t errlen)
{
	char why[200];

	for (size_t i = 0; i < n; i++) {
		if (redis_url_parse(&u[i], urls[i], why, sizeof(why)) != 0) {
			snprintf(err, errlen, "store.cluster[%zu]: %s", i, why);
		} else if (u[i].path != NULL || u[i].db != 0) {
			snprintf(err, errlen, "store.cluster[%zu]: %s", i,
				 u[i].path != NULL
					 ? "a cluster node is reached over TCP "
					   "(redis://HOST:PORT)"
					 : "Redis Cluster has only database 0");
			redis_url_fini(&u[i]);
		} else {
			continue;
		}
		for (size_t k = 0; k < i; k++) {
			redis_url_fini(&u[k]);
		}
		return -1;
	}
	return 0;
}

struct store *store_cluster_new(struct event_base *base,
				const char *const *urls, size_t n,
				int64_t timeout_ms, char *err, size_t errlen)
{
	struct store_cluster *sc;
	struct redis_url *u;

	if (n == 0) {
		snprintf(err, errlen, "store.cluster: a seed node needed");
		return NULL;
	}
	u = xcalloc(n, sizeof(*u));
	if (parse_seeds(u, urls, n, err, errlen) != 0) {
		free(u);
		return NULL;
	}
	sc = xcalloc(1, sizeof(*sc));
	sc->st.ops = &cluster_ops;
	sc->base = base;
	sc->timeout_ms = timeout_ms;
	sc->refresh_ev = evtimer_new(base, refresh_cb, sc);
	sc->state_ev = evtimer_new(base, state_cb, sc);
	sc->fail_ev = evtimer_new(base, fail_cb, sc);
	sc->barrier_ev = evtimer_new(base, barrier_cb, sc);
	sc->done_ev = evtimer_new(base, done_cb, sc);
	HARK_ASSERT(sc->refresh_ev != NULL && sc->state_ev != NULL &&
		    sc->fail_ev != NULL && sc->barrier_ev != NULL &&
		    sc->done_ev != NULL);
	/* One password for every node: the first seed's that has one. */
	for (size_t i = 0; i < n && sc->password == NULL; i++) {
		if (u[i].password != NULL) {
			sc->password = xstrdup(u[i].password);
			sc->user =
				u[i].user != NULL ? xstrdup(u[i].user) : NULL;
		}
	}
	for (size_t i = 0; i < n; i++) {
		char *name = xstrdup(u[i].host);
		struct node *node;

		/* Before the loop runs: the only place a name is resolved. */
		netaddr_resolve_once(&u[i].host);
		node = node_find(sc, u[i].host, u[i].port) != NULL
			       ? NULL
			       : node_get(sc, u[i].host, u[i].port);
		if (node != NULL && strcmp(name, u[i].host) != 0) {
			node->name = name;
			name = NULL;
		}
		free(name);
		redis_url_fini(&u[i]);
	}
	free(u);
	if (sc->n_nodes == 0) {
		snprintf(err, errlen,
			 "store.cluster: no seed node could be resolved");
		cluster_free(&sc->st);
		return NULL;
	}
	schedule_refresh(sc, CLUSTER_REFRESH_DOWN_MS);
	return &sc->st;
}
