/* SPDX-License-Identifier: MIT */
/*
 * A bounded set of recently seen mention ids: check-and-insert in O(1),
 * the oldest id evicted once capacity is reached (FIFO). Ids are kept per
 * scope: two networks number their posts independently (a tweet 3 and a
 * Mastodon status 3 are different mentions), while sources given one
 * scope recognise each other's ids, and every source its own after a
 * reconnect. One set serves every scope of the process. Pure; one thread.
 */
#ifndef HARK_CORE_DEDUPE_H
#define HARK_CORE_DEDUPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEDUPE_DEFAULT_CAPACITY 100000
#define DEDUPE_MAX_CAPACITY 50000000

enum dedupe_result {
	DEDUPE_NEW,       /* first time seen (now remembered) */
	DEDUPE_DUPLICATE, /* seen among the last `capacity` ids */
	DEDUPE_NO_ID,     /* empty id: cannot be deduplicated, not stored */
};

struct dedupe;

/* capacity ids at most (clamped to [1, DEDUPE_MAX_CAPACITY]). Caller frees
 * with dedupe_free. */
struct dedupe *dedupe_new(size_t capacity);
void dedupe_free(struct dedupe *d); /* accepts NULL */
/* Looks id (len bytes, any bytes) up in scope (a C string; NULL is "") and
 * inserts it when new. */
enum dedupe_result dedupe_check(struct dedupe *d, const char *scope,
				const char *id, size_t len);
/* Whether id is in scope's part of the set, without inserting. */
bool dedupe_contains(const struct dedupe *d, const char *scope, const char *id,
		     size_t len);
size_t dedupe_size(const struct dedupe *d);
size_t dedupe_capacity(const struct dedupe *d);
uint64_t dedupe_evicted(const struct dedupe *d);

#endif
