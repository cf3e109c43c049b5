/* SPDX-License-Identifier: MIT */
/*
 * redis-stream source (see source_redis.h). One read is in flight at a
 * time: the next XREADGROUP goes out when the previous reply was queued,
 * unless the queue is full, in which case it goes out on resume. After a
 * (re)connect the consumer first re-reads its own pending entries (id 0),
 * so that entries read but not acknowledged before a crash are counted
 * (or found duplicate) and acknowledged.
 *
 * An entry is acknowledged only once what it counted is in the store: its
 * id is held with the daemon's flush ticket (source_sink.ticket) and sent
 * with XACK when the daemon says those flushes are stored
 * (source_redis_stored). Reading pauses while as many ids are held as the
 * source's queue. Entries another consumer of the group left pending for
 * claim_after (it died, or could not store that long) are taken over with
 * XAUTOCLAIM.
 */
#include "io/source_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "config/config.h"
#include "core/backoff.h"
#include "core/redis_url.h"
#include "io/netaddr.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define SUBSYS "source"
#define RECONNECT_BASE_MS 100
#define RECONNECT_MAX_MS 5000
#define MAX_ACK_BATCH 1024

static const struct timeval zero_tv = {0, 0};

struct source_redis {
	struct source_core core;
	const struct config_source *cfg; /* borrowed */
	struct event_base *base;         /* borrowed */
	struct redis_url url;            /* host resolved once at start */
	char *consumer;
	redisAsyncContext *ac; /* owned by hiredis; NULL while down */
	bool up;               /* group ensured, reading */
	bool reading;          /* an XREADGROUP is in flight */
	bool pending_phase;    /* reading our own PEL (id 0) */
	bool want_read;        /* paused on a full queue */
	struct event *timeout_ev;
	struct event *retry_ev;
	struct event *drop_ev;
	char **acks; /* owned ids waiting for XACK */
	size_t n_acks;
	/* ids handled, held until their flush is stored; FIFO by ticket */
	struct held_ack *held;
	size_t n_held;
	size_t held_head;
	size_t held_cap;
	uint64_t stored_through; /* tickets below it are stored */
	bool paused;             /* stopping: no more reads (pause) */
	bool finished;           /* the link closes once the acks left */
	struct event *claim_ev;
	bool claiming; /* an XAUTOCLAIM is in flight */
	int claim_rounds;
	char claim_cursor[64];
	uint64_t claimed;
	uint64_t acked;
	unsigned attempt;
	uint64_t rng;
};

struct held_ack {
	char *id; /* owned */
	uint64_t ticket;
};

static void start_connect(struct source_redis *s);
static void send_read(struct source_redis *s);

static uint32_t next_rnd(struct source_redis *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return (uint32_t)(s->rng >> 32);
}

static void free_acks(struct source_redis *s)
{
	for (size_t i = 0; i < s->n_acks; i++) {
		free(s->acks[i]);
	}
	s->n_acks = 0;
}

/* The link is gone (hiredis frees the context): reconnect later. Acks
 * not sent are dropped; those entries come back in the pending read. */
static void conn_lost(struct source_redis *s, const char *why)
{
	struct timeval tv;
	int64_t delay;

	if (s->finished) {
		s->ac = NULL;
		s->up = false;
		s->core.st.state = SOURCE_STOPPED;
		return;
	}
	if (s->up || s->core.st.state != SOURCE_BACKOFF) {
		log_warn(SUBSYS, "source=%s redis down: %s", s->cfg->name, why);
	}
	s->ac = NULL;
	s->up = false;
	s->reading = false;
	s->claiming = false;
	free_acks(s);
	evtimer_del(s->timeout_ev);
	source_core_set_error(&s->core, "%s", why);
	s->attempt++;
	s->core.st.reconnects++;
	s->core.st.state = SOURCE_BACKOFF;
	delay = backoff_delay_ms(s->attempt, RECONNECT_BASE_MS,
				 RECONNECT_MAX_MS, next_rnd(s));
	s->core.st.last_delay_ms = delay;
	timeutil_tv(delay, &tv);
	evtimer_add(s->retry_ev, &tv);
}

static void drop_conn(struct source_redis *s, const char *why)
{
	redisAsyncContext *ac = s->ac;
	char reason[SOURCE_ERROR_BYTES];

	if (ac == NULL) {
		return;
	}
	snprintf(reason, sizeof(reason), "%s", why);
	redisAsyncFree(ac);
	if (s->ac == ac) {
		conn_lost(s, reason);
	}
}

static void drop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct source_redis *s = arg;

	HARK_UNUSED(fd);
	HARK_UNUSED(what);
	drop_conn(s, s->core.st.last_error);
}

static void send_acks(struct source_redis *s)
{
	const char **argv;
	size_t n = s->n_acks;

	if (n == 0 || s->ac == NULL) {
		free_acks(s);
		return;
	}
	argv = xcalloc(n + 3, sizeof(*argv));
	argv[0] = "XACK";
	argv[1] = s->cfg->stream;
	argv[2] = s->cfg->group;
	for (size_t i = 0; i < n; i++) {
		argv[i + 3] = s->acks[i];
	}
	if (redisAsyncCommandArgv(s->ac, NULL, NULL, (int)(n + 3), argv,
				  NULL) == REDIS_OK) {
		s->acked += n;
	}
	free(argv);
	free_acks(s);
}

static void queue_ack(struct source_redis *s, char *id)
{
	s->acks = xreallocarray(s->acks, s->n_acks + 1, sizeof(*s->acks));
	s->acks[s->n_acks++] = id;
	if (s->n_acks >= MAX_ACK_BATCH) {
		send_acks(s);
	}
}

static void ack_cb(void *owner, const char *id)
{
	struct source_redis *s = owner;
	const struct source_sink *sink = &s->core.env.sink;
	struct held_ack *h;

	if (sink->ticket == NULL) {
		queue_ack(s, xstrdup(id));
		return;
	}
	if (s->n_held == s->held_cap) {
		/* grow the ring, unwrapped */
		size_t cap = s->held_cap ? 2 * s->held_cap : 256;
		struct held_ack *v = xcalloc(cap, sizeof(*v));

		for (size_t i = 0; i < s->n_held; i++) {
			v[i] = s->held[(s->held_head + i) % s->held_cap];
		}
		free(s->held);
		s->held = v;
		s->held_head = 0;
		s->held_cap = cap;
	}
	h = &s->held[(s->held_head + s->n_held++) % s->held_cap];
	h->id = xstrdup(id);
	h->ticket = sink->ticket(sink->arg);
}

/* Held ids are at most the queue's size: past it, reading waits. */
static bool held_full(const struct source_redis *s)
{
	return s->core.env.sink.ticket != NULL &&
	       s->n_held >= (size_t)s->cfg->queue;
}

void source_redis_stored(struct source_redis *s, uint64_t through)
{
	if (through > s->stored_through) {
		s->stored_through = through;
	}
	while (s->n_held > 0 &&
	       s->held[s->held_head].ticket < s->stored_through) {
		queue_ack(s, s->held[s->held_head].id);
		s->held[s->held_head].id = NULL;
		s->held_head = (s->held_head + 1) % s->held_cap;
		s->n_held--;
	}
	send_acks(s);
	if (s->want_read && !held_full(s) && !source_core_full(&s->core)) {
		s->want_read = false;
		send_read(s);
	}
}

size_t source_redis_held(const struct source_redis *s)
{
	return s->n_held;
}

static void after_batch_cb(void *owner)
{
	send_acks(owner);
}

static void resume_cb(void *owner)
{
	struct source_redis *s = owner;

	if (s->want_read) {
		s->want_read = false;
		send_read(s);
	}
}

/* Flat fields become a flat JSON mention. */
static void offer_entry(struct source_redis *s, const redisReply *id,
			const redisReply *fields)
{
	cJSON *o;
	char *json;

	if (fields == NULL || fields->type != REDIS_REPLY_ARRAY) {
		/* deleted from the stream while pending: nothing to count */
		ack_cb(s, id->str);
		return;
	}
	for (size_t i = 0; i + 1 < fields->elements; i += 2) {
		const redisReply *k = fields->element[i];
		const redisReply *v = fields->element[i + 1];

		if (k->type == REDIS_REPLY_STRING &&
		    v->type == REDIS_REPLY_STRING && k->len == 7 &&
		    memcmp(k->str, "mention", 7) == 0) {
			source_core_offer(&s->core, v->str, v->len, id->str);
			return;
		}
	}
	o = cJSON_CreateObject();
	for (size_t i = 0; i + 1 < fields->elements; i += 2) {
		const redisReply *k = fields->element[i];
		const redisReply *v = fields->element[i + 1];

		if (k->type == REDIS_REPLY_STRING &&
		    v->type == REDIS_REPLY_STRING) {
			char *name = xstrndup(k->str, k->len);

			cJSON_AddStringToObject(o, name, v->str);
			free(name);
		}
	}
	json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	source_core_offer(&s->core, json, strlen(json), id->str);
	free(json);
}

static void read_reply_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	struct source_redis *s = ac->data;
	const redisReply *r = reply;
	size_t entries = 0;

	HARK_UNUSED(priv);
	if (r == NULL || s == NULL || s->ac != ac) {
		return;
	}
	s->reading = false;
	evtimer_del(s->timeout_ev);
	if (s->paused) {
		/* stopping: what came stays pending, read again later */
		return;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		source_core_set_error(&s->core, "XREADGROUP: %s", r->str);
		evtimer_add(s->drop_ev, &zero_tv);
		return;
	}
	if (r->type == REDIS_REPLY_ARRAY) {
		for (size_t i = 0; i < r->elements; i++) {
			const redisReply *st = r->element[i];
			const redisReply *list;

			if (st->type != REDIS_REPLY_ARRAY || st->elements < 2) {
				continue;
			}
			list = st->element[1];
			for (size_t j = 0; j < list->elements; j++) {
				const redisReply *e = list->element[j];

				if (e->type != REDIS_REPLY_ARRAY ||
				    e->elements < 2 ||
				    e->element[0]->type != REDIS_REPLY_STRING) {
					continue;
				}
				offer_entry(s, e->element[0], e->element[1]);
				entries++;
			}
		}
	}
	/* Acks of duplicates and rejects need not wait for a drain. */
	if (s->core.q_len == 0) {
		send_acks(s);
	}
	if (s->pending_phase && entries == 0) {
		s->pending_phase = false;
	}
	if (source_core_full(&s->core)) {
		s->want_read = true;
		source_core_paused(&s->core);
		return;
	}
	send_read(s);
}

static void send_read(struct source_redis *s)
{
	char count[24], block[24];
	const char *argv[11];
	struct timeval tv;

	if (s->ac == NULL || !s->up || s->reading || s->paused) {
		return;
	}
	if (held_full(s)) {
		/* resumed by source_redis_stored */
		s->want_read = true;
		return;
	}
	snprintf(count, sizeof(count), "%lld", (long long)s->cfg->batch);
	snprintf(block, sizeof(block), "%lld", (long long)s->cfg->block_ms);
	argv[0] = "XREADGROUP";
	argv[1] = "GROUP";
	argv[2] = s->cfg->group;
	argv[3] = s->consumer;
	argv[4] = "COUNT";
	argv[5] = count;
	argv[6] = "BLOCK";
	argv[7] = block;
	argv[8] = "STREAMS";
	argv[9] = s->cfg->stream;
	argv[10] = s->pending_phase ? "0" : ">";
	if (redisAsyncCommandArgv(s->ac, read_reply_cb, NULL, 11, argv, NULL) !=
	    REDIS_OK) {
		source_core_set_error(&s->core, "cannot send XREADGROUP");
		evtimer_add(s->drop_ev, &zero_tv);
		return;
	}
	s->reading = true;
	timeutil_tv(s->cfg->block_ms + SOURCE_REDIS_TIMEOUT_SLACK_MS, &tv);
	evtimer_add(s->timeout_ev, &tv);
}

/* ---- entries other consumers left pending ---- */

static void send_claim(struct source_redis *s);

static void claim_reply_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	struct source_redis *s = ac->data;
	const redisReply *r = reply;
	const redisReply *list;
	size_t n = 0;

	HARK_UNUSED(priv);
	if (r == NULL || s == NULL || s->ac != ac) {
		return;
	}
	s->claiming = false;
	if (r->type == REDIS_REPLY_ERROR) {
		log_warn(SUBSYS, "source=%s XAUTOCLAIM: %s", s->cfg->name,
			 r->str);
		return;
	}
	/* [next cursor, [entries], [ids deleted meanwhile] (Redis 7)] */
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_ARRAY || s->paused) {
		return;
	}
	list = r->element[1];
	for (size_t j = 0; j < list->elements; j++) {
		const redisReply *e = list->element[j];

		if (e->type == REDIS_REPLY_ARRAY && e->elements >= 2 &&
		    e->element[0]->type == REDIS_REPLY_STRING) {
			offer_entry(s, e->element[0], e->element[1]);
			n++;
		}
	}
	if (r->elements > 2 && r->element[2]->type == REDIS_REPLY_ARRAY) {
		for (size_t j = 0; j < r->element[2]->elements; j++) {
			const redisReply *d = r->element[2]->element[j];

			if (d->type == REDIS_REPLY_STRING) {
				ack_cb(s, d->str);
			}
		}
	}
	if (n > 0) {
		s->claimed += n;
		log_info(SUBSYS,
			 "source=%s took over %zu entries another consumer "
			 "left pending",
			 s->cfg->name, n);
	}
	snprintf(s->claim_cursor, sizeof(s->claim_cursor), "%s",
		 r->element[0]->str);
	/* More to take: go on at once, a few rounds at most per period and
	 * not past a full queue. */
	if (strcmp(s->claim_cursor, "0-0") != 0 && ++s->claim_rounds < 10 &&
	    !source_core_full(&s->core) && !held_full(s)) {
		send_claim(s);
	}
}

static void send_claim(struct source_redis *s)
{
	char count[24], idle[24];
	const char *argv[8];

	if (s->ac == NULL || !s->up || s->claiming || s->paused) {
		return;
	}
	snprintf(count, sizeof(count), "%lld", (long long)s->cfg->batch);
	snprintf(idle, sizeof(idle), "%lld", (long long)s->cfg->claim_after_ms);
	argv[0] = "XAUTOCLAIM";
	argv[1] = s->cfg->stream;
	argv[2] = s->cfg->group;
	argv[3] = s->consumer;
	argv[4] = idle;
	argv[5] = s->claim_cursor;
	argv[6] = "COUNT";
	argv[7] = count;
	if (redisAsyncCommandArgv(s->ac, claim_reply_cb, NULL, 8, argv, NULL) ==
	    REDIS_OK) {
		s->claiming = true;
	}
}

static void claim_cb(evutil_socket_t fd, short what, void *arg)
{
	struct source_redis *s = arg;

	HARK_UNUSED(fd);
	HARK_UNUSED(what);
	if (s->claiming || source_core_full(&s->core) || held_full(s)) {
		return;
	}
	snprintf(s->claim_cursor, sizeof(s->claim_cursor), "0-0");
	s->claim_rounds = 0;
	send_claim(s);
}

static void group_reply_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	struct source_redis *s = ac->data;
	const redisReply *r = reply;

	HARK_UNUSED(priv);
	if (r == NULL || s == NULL || s->ac != ac) {
		return;
	}
	evtimer_del(s->timeout_ev);
	/* BUSYGROUP: the group exists already, which is the usual case. */
	if (r->type == REDIS_REPLY_ERROR &&
	    strncmp(r->str, "BUSYGROUP", 9) != 0) {
		source_core_set_error(&s->core, "XGROUP CREATE: %s", r->str);
		evtimer_add(s->drop_ev, &zero_tv);
		return;
	}
	s->up = true;
	s->attempt = 0;
	s->pending_phase = true;
	s->core.st.state = SOURCE_STREAMING;
	log_info(SUBSYS, "source=%s reading stream=%s group=%s consumer=%s",
		 s->cfg->name, s->cfg->stream, s->cfg->group, s->consumer);
	if (source_core_full(&s->core)) {
		s->want_read = true;
		return;
	}
	send_read(s);
}

static void handshake_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	struct source_redis *s = ac->data;
	const redisReply *r = reply;

	if (r == NULL || s == NULL || s->ac != ac) {
		return;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		source_core_set_error(&s->core, "%s: %s", (const char *)priv,
				      r->str);
		evtimer_add(s->drop_ev, &zero_tv);
	}
}

static void connect_cb(const redisAsyncContext *ac, int status)
{
	struct source_redis *s = ac->data;

	if (s == NULL || s->ac != ac) {
		return;
	}
	if (status != REDIS_OK) {
		/* hiredis frees the context right after this returns */
		conn_lost(s, ac->errstr[0] != '\0' ? ac->errstr
						   : "connect failed");
	}
}

static void disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct source_redis *s = ac->data;

	HARK_UNUSED(status);
	if (s == NULL || s->ac != ac) {
		return;
	}
	conn_lost(s, ac->errstr[0] != '\0' ? ac->errstr : "connection closed");
}

static void timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct source_redis *s = arg;

	HARK_UNUSED(fd);
	HARK_UNUSED(what);
	/* Replies are matched by order: only a new link is safe now. */
	drop_conn(s, "redis command timeout");
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	HARK_UNUSED(fd);
	HARK_UNUSED(what);
	start_connect(arg);
}

static void start_connect(struct source_redis *s)
{
	redisAsyncContext *ac;
	struct timeval tv;

	s->core.st.state = SOURCE_CONNECTING;
	ac = s->url.path != NULL ? redisAsyncConnectUnix(s->url.path)
				 : redisAsyncConnect(s->url.host, s->url.port);
	if (ac == NULL || ac->err != 0) {
		char why[SOURCE_ERROR_BYTES];

		snprintf(why, sizeof(why), "%s",
			 ac != NULL ? ac->errstr : "cannot allocate context");
		if (ac != NULL) {
			redisAsyncFree(ac);
		}
		conn_lost(s, why);
		return;
	}
	ac->data = s;
	if (redisLibeventAttach(ac, s->base) != REDIS_OK) {
		redisAsyncFree(ac);
		conn_lost(s, "cannot attach to the event loop");
		return;
	}
	s->ac = ac;
	redisAsyncSetConnectCallback(ac, connect_cb);
	redisAsyncSetDisconnectCallback(ac, disconnect_cb);
	if (s->url.password != NULL && s->url.user != NULL) {
		redisAsyncCommand(ac, handshake_cb, "AUTH", "AUTH %s %s",
				  s->url.user, s->url.password);
	} else if (s->url.password != NULL) {
		redisAsyncCommand(ac, handshake_cb, "AUTH", "AUTH %s",
				  s->url.password);
	}
	if (s->url.db != 0) {
		redisAsyncCommand(ac, handshake_cb, "SELECT", "SELECT %d",
				  s->url.db);
	}
	redisAsyncCommand(ac, group_reply_cb, NULL,
			  "XGROUP CREATE %s %s $ MKSTREAM", s->cfg->stream,
			  s->cfg->group);
	timeutil_tv(s->cfg->block_ms + SOURCE_REDIS_TIMEOUT_SLACK_MS, &tv);
	evtimer_add(s->timeout_ev, &tv);
}

struct source_redis *source_redis_start(const struct source_env *env, int index,
					const struct config_source *cfg,
					const char *default_url, char *err,
					size_t errlen)
{
	struct source_redis *s = xcalloc(1, sizeof(*s));
	const char *url = cfg->redis != NULL ? cfg->redis : default_url;
	char host[256];
	char why[200];

	s->cfg = cfg;
	s->base = env->base;
	if (url == NULL) {
		snprintf(err, errlen, "no redis url");
		free(s);
		return NULL;
	}
	if (redis_url_parse(&s->url, url, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "redis url: %s", why);
		free(s);
		return NULL;
	}
	netaddr_resolve_once(&s->url.host);
	if (cfg->consumer != NULL && cfg->consumer[0] != '\0') {
		s->consumer = xstrdup(cfg->consumer);
	} else {
		if (gethostname(host, sizeof(host)) != 0) {
			snprintf(host, sizeof(host), "hark");
		}
		host[sizeof(host) - 1] = '\0';
		s->consumer = xasprintf("%s-%ld", host, (long)getpid());
	}
	source_core_init(&s->core, env, index, cfg, s);
	s->core.resume = resume_cb;
	s->core.ack = ack_cb;
	s->core.after_batch = after_batch_cb;
	s->timeout_ev = evtimer_new(env->base, timeout_cb, s);
	s->retry_ev = evtimer_new(env->base, retry_cb, s);
	s->drop_ev = evtimer_new(env->base, drop_cb, s);
	s->claim_ev = event_new(env->base, -1, EV_PERSIST, claim_cb, s);
	HARK_ASSERT(s->timeout_ev && s->retry_ev && s->drop_ev && s->claim_ev);
	{
		struct timeval tv;

		int64_t every = cfg->claim_after_ms / SOURCE_REDIS_CLAIM_CHECKS;

		timeutil_tv(every < 1000 ? 1000 : every, &tv);
		evtimer_add(s->claim_ev, &tv);
	}
	s->rng = ((uint64_t)timeutil_now_ms() << 20) ^ (uint64_t)getpid() ^
		 (uint64_t)(uintptr_t)s;
	if (s->rng == 0) {
		s->rng = 0x9E3779B97F4A7C15ULL;
	}
	start_connect(s);
	return s;
}

struct source_stats source_redis_stats(const struct source_redis *s)
{
	return s->core.st;
}

uint64_t source_redis_acked(const struct source_redis *s)
{
	return s->acked;
}

uint64_t source_redis_claimed(const struct source_redis *s)
{
	return s->claimed;
}

void source_redis_pause(struct source_redis *s)
{
	if (s == NULL || s->paused) {
		return;
	}
	s->paused = true;
	s->want_read = false;
	evtimer_del(s->claim_ev);
	/* read, not counted: left pending, for the next reader */
	source_core_drop_queue(&s->core);
}

void source_redis_finish(struct source_redis *s)
{
	if (s == NULL || s->finished) {
		return;
	}
	source_redis_pause(s);
	source_redis_stored(s, UINT64_MAX);
	s->finished = true;
	evtimer_del(s->retry_ev);
	if (s->ac != NULL) {
		/* sends what is buffered (the XACKs), then closes */
		redisAsyncDisconnect(s->ac);
	}
}

void source_redis_free(struct source_redis *s)
{
	redisAsyncContext *ac;

	if (s == NULL) {
		return;
	}
	ac = s->ac;
	if (ac != NULL) {
		if (s->core.env.sink.ticket == NULL) {
			send_acks(s);
		}
		/* Detach first: the callbacks hiredis runs while freeing
		 * must not touch s. */
		ac->data = NULL;
		s->ac = NULL;
		redisAsyncFree(ac);
	}
	free_acks(s);
	free(s->acks);
	for (size_t i = 0; i < s->n_held; i++) {
		free(s->held[(s->held_head + i) % s->held_cap].id);
	}
	free(s->held);
	event_free(s->claim_ev);
	event_free(s->timeout_ev);
	event_free(s->retry_ev);
	event_free(s->drop_ev);
	source_core_fini(&s->core);
	redis_url_fini(&s->url);
	free(s->consumer);
	free(s);
}
