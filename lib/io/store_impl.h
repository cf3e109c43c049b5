/* SPDX-License-Identifier: MIT */
/*
 * Internal to the store: the operations table that store.c dispatches to,
 * filled by store_redis.c and store_mem.c. Each implementation embeds
 * struct store as the first member of its own state.
 */
#ifndef HARK_IO_STORE_IMPL_H
#define HARK_IO_STORE_IMPL_H

#include "io/store.h"

/* Caps: past them commands fail with -1 instead of growing without bound. */
#define STORE_MAX_PENDING 100000
#define STORE_MEM_MAX_KEYS 1000000

struct store_ops {
	const char *kind;
	void (*incrby)(struct store *st, const char *key, long long delta,
		       int64_t ttl_ms, store_int_fn *cb, void *arg);
	void (*count_put)(struct store *st, const char *key,
			  const char *old_key, const char *field,
			  long long value, int64_t ttl_ms, store_int_fn *cb,
			  void *arg);
	void (*count_raise)(struct store *st, const char *key,
			    const char *field, long long value, int64_t ttl_ms,
			    store_int_fn *cb, void *arg);
	void (*append)(struct store *st, const char *key, const char *val,
		       size_t len, int64_t ttl_ms, store_int_fn *cb, void *arg);
	void (*set)(struct store *st, const char *key, const char *val,
		    size_t len, int64_t ttl_ms, store_int_fn *cb, void *arg);
	void (*get)(struct store *st, const char *key, store_str_fn *cb,
		    void *arg);
	void (*hash)(struct store *st, const char *key, const char *field,
		     const char *value, int64_t ttl_ms, store_str_fn *cb,
		     void *arg);
	void (*claim)(struct store *st, const char *key, const char *val,
		      int64_t ttl_ms, store_int_fn *cb, void *arg);
	void (*release)(struct store *st, const char *key, const char *val,
			store_int_fn *cb, void *arg);
	void (*barrier)(struct store *st, store_done_fn *cb, void *arg);
	bool (*up)(const struct store *st);
	size_t (*pending)(const struct store *st);
	void (*close)(struct store *st, store_done_fn *done, void *arg);
	void (*free)(struct store *st);
};

struct store {
	const struct store_ops *ops; /* borrowed, static */
	uint64_t commands;           /* asked of the store (store.c counts) */
};

/*
 * One node's link for store_cluster.c: store_redis_new's machinery
 * (timeouts, reconnect, order) with hooks to route by. Loop thread only.
 */
struct redis_url;
struct redisReply;

/* The link went up or down: runs from the loop, possibly inside a
 * hiredis callback (so must not free the store; defer work). */
typedef void store_state_fn(void *arg);
/* status 0: r is the reply (borrowed: valid during the call, error
 * replies included); -1: none (timeout, disconnect, shutdown). */
typedef void store_reply_fn(void *arg, int status, const struct redisReply *r);

/* A link to u's host (an address, not resolved here), port, user and
 * password (copied); db 0. */
struct store *store_redis_node_new(struct event_base *base,
				   const struct redis_url *u,
				   int64_t timeout_ms);
/* fn(arg) after each change of store_up (fn NULL: none). */
void store_redis_watch(struct store *st, store_state_fn *fn, void *arg);
/* Inside a callback that reports -1 for an error reply: its text and
 * *len (not terminated); NULL for any other failure or outside one. */
const char *store_redis_error(const struct store *st, size_t *len);
/* While on, every command an operation sends goes after ASKING (an ASK
 * redirection: turn it on, issue one operation, turn it off). */
void store_redis_asking(struct store *st, bool on);
/* Any command (argv: argc strings); cb runs once, as the others do. */
void store_redis_command(struct store *st, int argc, const char **argv,
			 store_reply_fn *cb, void *arg);

#endif
