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
	bool (*up)(const struct store *st);
	size_t (*pending)(const struct store *st);
	void (*close)(struct store *st, store_done_fn *done, void *arg);
	void (*free)(struct store *st);
};

struct store {
	const struct store_ops *ops; /* borrowed, static */
	uint64_t commands;           /* asked of the store (store.c counts) */
};

#endif
