/* SPDX-License-Identifier: MIT */
/*
 * The store: counts and detector state, in Redis (hiredis async on the
 * libevent loop, pipelined, with a per-command timeout and reconnect with
 * backoff) or in the embedded in-memory store (same interface, snapshot
 * file saved on close and loaded on open). Runs on the loop thread.
 *
 * Every callback runs exactly once per command, always from the loop and
 * never from inside the call that issued the command: with the reply, or
 * with status -1 on error, timeout, disconnect or shutdown.
 */
#ifndef HARK_IO_STORE_H
#define HARK_IO_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/xalloc.h"

struct config_sentinel;
struct event_base;
struct store;

/* status 0: value is the reply; -1: failed (the command may not have run). */
typedef void store_int_fn(void *arg, int status, long long value);
/* status 0: val/len is the value, or val NULL when the key does not exist. */
typedef void store_str_fn(void *arg, int status, const char *val, size_t len);
typedef void store_done_fn(void *arg);

/*
 * Connects to url ("redis://host:port/db", "redis://:pass@host:port",
 * "unix:///path.sock") and keeps reconnecting with backoff while down.
 * Returns NULL with a reason in err for a malformed url.
 */
struct store *store_redis_new(struct event_base *base, const char *url,
			      int64_t timeout_ms, char *err, size_t errlen);
/*
 * Connects to the primary that Redis Sentinel names for sc->master
 * (borrowed; copied): asks sc->nodes in order, connects, checks ROLE is
 * master, and on a drop, a command timeout or a READONLY reply asks
 * again, with the same backoff. NULL with a reason in err when sc names
 * no master or no node (config.c refuses those first).
 */
struct store *store_sentinel_new(struct event_base *base,
				 const struct config_sentinel *sc,
				 int64_t timeout_ms, char *err, size_t errlen);
/*
 * Redis Cluster (io/store_cluster.c): urls (n > 0, borrowed) are seed
 * nodes, "redis://[[user]:password@]host:port" (a password applies to
 * every node; db 0 only). Asks a seed for the slot map, keeps one link
 * per master, sends each command to its key's slot owner and follows
 * MOVED and ASK. Seed names are resolved now, before the loop runs.
 * NULL with a reason in err for a malformed url.
 */
struct store *store_cluster_new(struct event_base *base,
				const char *const *urls, size_t n,
				int64_t timeout_ms, char *err, size_t errlen);
/*
 * The embedded store. Loads snapshot_path if it exists (a corrupt file is
 * an error: NULL with the reason in err); saves it on store_close.
 */
struct store *store_mem_new(struct event_base *base, const char *snapshot_path,
			    char *err, size_t errlen);
/*
 * Caps the embedded store's keys (default 1,000,000): a write that would
 * add a key past it fails with -1. Only for a store from store_mem_new.
 */
void store_mem_set_max_keys(struct store *st, size_t max_keys);
/*
 * Every interval_ms (> 0) in which something was written, a forked child
 * writes the snapshot of the table as it was at the fork, so that a crash
 * of the daemon loses at most that much; the loop only forks and reaps.
 * No effect without a snapshot path. Only for a store from store_mem_new.
 */
void store_mem_set_snapshot_interval(struct store *st, int64_t interval_ms);

/* INCRBY key delta, then EXPIRE key ttl_ms (rounded up to seconds). */
void store_incrby(struct store *st, const char *key, long long delta,
		  int64_t ttl_ms, store_int_fn *cb, void *arg);
/*
 * A writer's count of a bucket: raises field of the hash key to value and
 * never lowers it, so a retried write, or one that ran late on a dropped
 * connection, changes nothing; keeps key ttl_ms (when it exists); answers
 * the sum of every field plus the integer at old_key (an older version's
 * counter; NULL: none). One atomic step (a Lua script in Redis). The only
 * count write: counts are idempotent by design.
 */
void store_count_put(struct store *st, const char *key, const char *old_key,
		     const char *field, long long value, int64_t ttl_ms,
		     store_int_fn *cb, void *arg);
/*
 * store_count_put for an open bucket's flush: raises field of key to value
 * (never lowers it) and, when the key is new to this writer, sets its
 * expiry; no total is read (cb gets 0; may be NULL). Cheaper: a flush
 * writes every counting rule every flush interval.
 */
void store_count_raise(struct store *st, const char *key, const char *field,
		       long long value, int64_t ttl_ms, store_int_fn *cb,
		       void *arg);
/* APPEND key val, then PEXPIRE key ttl_ms (when > 0). cb may be NULL. */
void store_append(struct store *st, const char *key, const char *val,
		  size_t len, int64_t ttl_ms, store_int_fn *cb, void *arg);
/* SET key val PX ttl_ms (no expiry when ttl_ms <= 0). cb may be NULL. */
void store_set(struct store *st, const char *key, const char *val, size_t len,
	       int64_t ttl_ms, store_int_fn *cb, void *arg);
void store_get(struct store *st, const char *key, store_str_fn *cb, void *arg);

/*
 * A small hash of named entries (a fleet's members, the silences), kept as
 * text: one line "FIELD VALUE" per entry; a field has no blank or newline,
 * a value no newline. Sets field to value (value NULL: removes field; field
 * NULL: changes nothing), keeps key ttl_ms (when > 0), and answers with the
 * whole hash after the change, as those lines (val NULL: no entry left).
 * One atomic step.
 */
void store_hash(struct store *st, const char *key, const char *field,
		const char *value, int64_t ttl_ms, store_str_fn *cb, void *arg);
/*
 * SET key val NX PX ttl_ms: value 1 when this call set key, or key already
 * held val (a retried claim, or a lease renewed, by the same owner: its
 * expiry is then set to ttl_ms again), 0 when another owner holds it. One
 * atomic step.
 */
void store_claim(struct store *st, const char *key, const char *val,
		 int64_t ttl_ms, store_int_fn *cb, void *arg);
/* Deletes key if it holds val (an owner giving a claim up): value 1 when
 * it did, 0 when another owner holds it or none. cb may be NULL. */
void store_release(struct store *st, const char *key, const char *val,
		   store_int_fn *cb, void *arg);

/*
 * cb(arg) runs once, from the loop, after the callback of every command
 * issued on st before this call has run, whatever its outcome: a write
 * answered before it is in the store (on every node of a cluster) by
 * then. Through Redis a PING after the pipeline; embedded: the next pass.
 */
void store_barrier(struct store *st, store_done_fn *cb, void *arg);

/* True while connected (always true for the embedded store). */
bool store_up(const struct store *st);
/* "redis" (a Redis Cluster too) or "memory". */
const char *store_kind(const struct store *st);
/* Commands asked of the store so far (one each: a Lua step is one). */
uint64_t store_commands(const struct store *st);
/* Commands sent and not yet answered. */
size_t store_pending(const struct store *st);

/*
 * Lets pending commands finish (up to the timeout), saves the snapshot
 * (embedded store), disconnects, then calls done from the loop. Commands
 * issued after this fail. Free with store_free after done has run.
 */
void store_close(struct store *st, store_done_fn *done, void *arg);
void store_free(struct store *st);

#endif
