/* SPDX-License-Identifier: MIT */
/*
 * Recent-id set: a ring of ids in arrival order (the FIFO that decides
 * eviction) and an open-addressing table of ring slots (linear probing,
 * load at most 1/2, backward-shift deletion so no tombstones pile up in
 * a set that evicts on every insert once full). An entry is its scope, a
 * NUL and the id: a scope is a C string, so no two (scope, id) pairs share
 * bytes. Pure.
 */
#include "core/dedupe.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define EMPTY UINT64_MAX
#define INLINE_ID 40

struct entry {
	/* The entry's bytes: inline up to INLINE_ID (a tweet's 19 digits
	 * and a source name), so the set is not a malloc per mention;
	 * else owned. NULL when the ring slot is free. */
	char *id;
	char inline_id[INLINE_ID];
	size_t len;
	uint64_t hash;
};

struct dedupe {
	struct entry *ring; /* capacity slots; head is the oldest */
	size_t capacity;
	size_t head;
	size_t count;
	/* The hash's low 32 bits above the ring index, or EMPTY: a probe
	 * reads the ring (another cache miss) only on a likely match. */
	uint64_t *table;
	size_t mask; /* table size - 1 */
	uint64_t evicted;
};

/* What is looked up: scope (slen bytes, no NUL), a NUL, then id. */
struct key {
	const char *scope;
	size_t slen;
	const char *id;
	size_t len;
};

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* FNV-1a over the entry's bytes, then a murmur finalizer so that the low
 * bits used for the table index depend on every input byte. */
static uint64_t hash_key(const struct key *k)
{
	uint64_t h = fnv(0xcbf29ce484222325ULL, k->scope, k->slen);

	h = fnv(h, "", 1);
	h = fnv(h, k->id, k->len);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

struct dedupe *dedupe_new(size_t capacity)
{
	struct dedupe *d = xcalloc(1, sizeof(*d));
	size_t tsize = 4;

	if (capacity < 1) {
		capacity = 1;
	}
	if (capacity > DEDUPE_MAX_CAPACITY) {
		capacity = DEDUPE_MAX_CAPACITY;
	}
	while (tsize < capacity * 2) {
		tsize *= 2;
	}
	d->capacity = capacity;
	d->ring = xcalloc(capacity, sizeof(*d->ring));
	d->table = xmalloc(tsize * sizeof(*d->table));
	memset(d->table, 0xff, tsize * sizeof(*d->table));
	d->mask = tsize - 1;
	return d;
}

void dedupe_free(struct dedupe *d)
{
	if (d == NULL) {
		return;
	}
	for (size_t i = 0; i < d->capacity; i++) {
		if (d->ring[i].id != d->ring[i].inline_id) {
			free(d->ring[i].id);
		}
	}
	free(d->ring);
	free(d->table);
	free(d);
}

static bool same(const struct entry *e, const struct key *k)
{
	return e->len == k->slen + 1 + k->len &&
	       memcmp(e->id, k->scope, k->slen) == 0 && e->id[k->slen] == 0 &&
	       memcmp(e->id + k->slen + 1, k->id, k->len) == 0;
}

/* Table position holding ring slot `slot` (present). */
static size_t find_slot(const struct dedupe *d, size_t slot)
{
	size_t pos = (size_t)d->ring[slot].hash & d->mask;

	while ((uint32_t)d->table[pos] != slot) {
		HARK_ASSERT(d->table[pos] != EMPTY);
		pos = (pos + 1) & d->mask;
	}
	return pos;
}

/* Table position holding k, or the empty position where it would go. */
static size_t find(const struct dedupe *d, const struct key *k, uint64_t h,
		   bool *found)
{
	size_t pos = (size_t)h & d->mask;
	const struct entry *e;

	for (;;) {
		if (d->table[pos] == EMPTY) {
			*found = false;
			return pos;
		}
		if ((uint32_t)(d->table[pos] >> 32) != (uint32_t)h) {
			pos = (pos + 1) & d->mask;
			continue;
		}
		e = &d->ring[(uint32_t)d->table[pos]];
		if (e->hash == h && same(e, k)) {
			*found = true;
			return pos;
		}
		pos = (pos + 1) & d->mask;
	}
}

/* Removes table position pos and shifts the following run back so that
 * every remaining entry stays reachable from its home position. */
static void table_delete(struct dedupe *d, size_t pos)
{
	size_t next = (pos + 1) & d->mask;
	size_t home;

	d->table[pos] = EMPTY;
	while (d->table[next] != EMPTY) {
		home = (size_t)(d->table[next] >> 32) & d->mask;
		/* Move it into the hole unless its home lies cyclically in
		 * (pos, next]: then the hole is not on its probe path. */
		if (((next - home) & d->mask) >= ((next - pos) & d->mask)) {
			d->table[pos] = d->table[next];
			d->table[next] = EMPTY;
			pos = next;
		}
		next = (next + 1) & d->mask;
	}
}

static void evict_oldest(struct dedupe *d)
{
	struct entry *e = &d->ring[d->head];

	table_delete(d, find_slot(d, d->head));
	if (e->id != e->inline_id) {
		free(e->id);
	}
	e->id = NULL;
	d->head = (d->head + 1) % d->capacity;
	d->count--;
	d->evicted++;
}

static void make_key(struct key *k, const char *scope, const char *id,
		     size_t len)
{
	k->scope = scope != NULL ? scope : "";
	k->slen = strlen(k->scope);
	k->id = id;
	k->len = len;
}

enum dedupe_result dedupe_check(struct dedupe *d, const char *scope,
				const char *id, size_t len)
{
	struct key k;
	uint64_t h;
	bool found;
	size_t pos, slot;

	if (len == 0) {
		return DEDUPE_NO_ID;
	}
	make_key(&k, scope, id, len);
	h = hash_key(&k);
	find(d, &k, h, &found);
	if (found) {
		return DEDUPE_DUPLICATE;
	}
	if (d->count == d->capacity) {
		evict_oldest(d);
	}
	/* The position may have moved with the eviction's shift. */
	pos = find(d, &k, h, &found);
	slot = (d->head + d->count) % d->capacity;
	d->ring[slot].len = k.slen + 1 + len;
	d->ring[slot].id = d->ring[slot].len <= INLINE_ID
				   ? d->ring[slot].inline_id
				   : xmalloc(d->ring[slot].len);
	memcpy(d->ring[slot].id, k.scope, k.slen);
	d->ring[slot].id[k.slen] = 0;
	memcpy(d->ring[slot].id + k.slen + 1, id, len);
	d->ring[slot].hash = h;
	d->table[pos] = (uint64_t)(uint32_t)h << 32 | (uint32_t)slot;
	d->count++;
	return DEDUPE_NEW;
}

bool dedupe_contains(const struct dedupe *d, const char *scope, const char *id,
		     size_t len)
{
	struct key k;
	bool found = false;

	if (len > 0) {
		make_key(&k, scope, id, len);
		find(d, &k, hash_key(&k), &found);
	}
	return found;
}

size_t dedupe_size(const struct dedupe *d)
{
	return d->count;
}

size_t dedupe_capacity(const struct dedupe *d)
{
	return d->capacity;
}

uint64_t dedupe_evicted(const struct dedupe *d)
{
	return d->evicted;
}
