/* SPDX-License-Identifier: MIT */
/*
 * Recent-id set: a ring of ids in arrival order (the FIFO that decides
 * eviction) and an open-addressing table of ring slots (linear probing,
 * load at most 1/2, backward-shift deletion so no tombstones pile up in
 * a set that evicts on every insert once full). Pure.
 */
#include "core/dedupe.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define EMPTY UINT32_MAX

struct entry {
	char *id; /* owned; NULL when the ring slot is free */
	size_t len;
	uint64_t hash;
};

struct dedupe {
	struct entry *ring; /* capacity slots; head is the oldest */
	size_t capacity;
	size_t head;
	size_t count;
	uint32_t *table; /* ring indexes or EMPTY */
	size_t mask;     /* table size - 1 */
	uint64_t evicted;
};

/* FNV-1a, then a murmur finalizer so that the low bits used for the
 * table index depend on every input byte. */
static uint64_t hash_id(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
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
		free(d->ring[i].id);
	}
	free(d->ring);
	free(d->table);
	free(d);
}

/* Table position holding id, or the empty position where it would go. */
static size_t find(const struct dedupe *d, const char *id, size_t len,
		   uint64_t h, bool *found)
{
	size_t pos = (size_t)h & d->mask;
	const struct entry *e;

	for (;;) {
		if (d->table[pos] == EMPTY) {
			*found = false;
			return pos;
		}
		e = &d->ring[d->table[pos]];
		if (e->hash == h && e->len == len &&
		    memcmp(e->id, id, len) == 0) {
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
		home = (size_t)d->ring[d->table[next]].hash & d->mask;
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
	bool found;
	size_t pos = find(d, e->id, e->len, e->hash, &found);

	HARK_ASSERT(found);
	table_delete(d, pos);
	free(e->id);
	e->id = NULL;
	d->head = (d->head + 1) % d->capacity;
	d->count--;
	d->evicted++;
}

enum dedupe_result dedupe_check(struct dedupe *d, const char *id, size_t len)
{
	uint64_t h;
	bool found;
	size_t pos, slot;

	if (len == 0) {
		return DEDUPE_NO_ID;
	}
	h = hash_id(id, len);
	find(d, id, len, h, &found);
	if (found) {
		return DEDUPE_DUPLICATE;
	}
	if (d->count == d->capacity) {
		evict_oldest(d);
	}
	/* The position may have moved with the eviction's shift. */
	pos = find(d, id, len, h, &found);
	slot = (d->head + d->count) % d->capacity;
	d->ring[slot].id = xmalloc(len);
	memcpy(d->ring[slot].id, id, len);
	d->ring[slot].len = len;
	d->ring[slot].hash = h;
	d->table[pos] = (uint32_t)slot;
	d->count++;
	return DEDUPE_NEW;
}

bool dedupe_contains(const struct dedupe *d, const char *id, size_t len)
{
	bool found = false;

	if (len > 0) {
		find(d, id, len, hash_id(id, len), &found);
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
