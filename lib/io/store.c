/* SPDX-License-Identifier: MIT */
/*
 * The store's public functions: a thin dispatch to the Redis or embedded
 * implementation through the ops table in store_impl.h. Runs on the loop
 * thread; the callback rules live in the implementations.
 */
#include "io/store.h"

#include <stdlib.h>

#include "io/store_impl.h"

void store_incrby(struct store *st, const char *key, long long delta,
		  int64_t ttl_ms, store_int_fn *cb, void *arg)
{
	st->commands++;
	st->ops->incrby(st, key, delta, ttl_ms, cb, arg);
}

void store_count_put(struct store *st, const char *key, const char *old_key,
		     const char *field, long long value, int64_t ttl_ms,
		     store_int_fn *cb, void *arg)
{
	st->commands++;
	st->ops->count_put(st, key, old_key, field, value, ttl_ms, cb, arg);
}

void store_count_raise(struct store *st, const char *key, const char *field,
		       long long value, int64_t ttl_ms, store_int_fn *cb,
		       void *arg)
{
	st->commands++;
	st->ops->count_raise(st, key, field, value, ttl_ms, cb, arg);
}

void store_append(struct store *st, const char *key, const char *val,
		  size_t len, int64_t ttl_ms, store_int_fn *cb, void *arg)
{
	st->commands++;
	st->ops->append(st, key, val, len, ttl_ms, cb, arg);
}

void store_set(struct store *st, const char *key, const char *val, size_t len,
	       int64_t ttl_ms, store_int_fn *cb, void *arg)
{
	st->commands++;
	st->ops->set(st, key, val, len, ttl_ms, cb, arg);
}

void store_get(struct store *st, const char *key, store_str_fn *cb, void *arg)
{
	st->commands++;
	st->ops->get(st, key, cb, arg);
}

void store_hash(struct store *st, const char *key, const char *field,
		const char *value, int64_t ttl_ms, store_str_fn *cb, void *arg)
{
	st->commands++;
	st->ops->hash(st, key, field, value, ttl_ms, cb, arg);
}

void store_claim(struct store *st, const char *key, const char *val,
		 int64_t ttl_ms, store_int_fn *cb, void *arg)
{
	st->commands++;
	st->ops->claim(st, key, val, ttl_ms, cb, arg);
}

void store_release(struct store *st, const char *key, const char *val,
		   store_int_fn *cb, void *arg)
{
	st->commands++;
	st->ops->release(st, key, val, cb, arg);
}

uint64_t store_commands(const struct store *st)
{
	return st->commands;
}

void store_barrier(struct store *st, store_done_fn *cb, void *arg)
{
	st->ops->barrier(st, cb, arg);
}

bool store_up(const struct store *st)
{
	return st->ops->up(st);
}

const char *store_kind(const struct store *st)
{
	return st->ops->kind;
}

size_t store_pending(const struct store *st)
{
	return st->ops->pending(st);
}

void store_close(struct store *st, store_done_fn *done, void *arg)
{
	st->ops->close(st, done, arg);
}

void store_free(struct store *st)
{
	if (st == NULL) {
		return;
	}
	st->ops->free(st);
}
