/* SPDX-License-Identifier: MIT */
/*
 * Keys in a chained hash table, and in a list in order of first use: the
 * list's head is the oldest, so expiry and eviction both take from it. Pure.
 */
#include "core/idem.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct entry {
	struct entry *chain;       /* same bucket */
	struct entry *prev, *next; /* order of first use */
	uint64_t hash;
	uint64_t digest;
	int64_t born;
	bool done;
	int status;
	char *body; /* owned once done */
	size_t len;
	char key[]; /* NUL-terminated */
};

struct idem {
	struct entry **buckets;
	size_t mask;
	struct entry *head, *tail;
	size_t count, bytes;
	size_t max_keys, max_bytes;
	int64_t ttl_ms;
};

static uint64_t hash_key(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h ^ (h >> 29);
}

struct idem *idem_new(size_t max_keys, size_t max_bytes, int64_t ttl_ms)
{
	struct idem *t = xcalloc(1, sizeof(*t));
	size_t n = 16;

	if (max_keys < 1) {
		max_keys = 1;
	}
	while (n < max_keys * 2) {
		n *= 2;
	}
	t->buckets = xcalloc(n, sizeof(*t->buckets));
	t->mask = n - 1;
	t->max_keys = max_keys;
	t->max_bytes = max_bytes;
	t->ttl_ms = ttl_ms;
	return t;
}

static void drop(struct idem *t, struct entry *e)
{
	struct entry **at = &t->buckets[e->hash & t->mask];

	while (*at != e) {
		at = &(*at)->chain;
	}
	*at = e->chain;
	if (e->prev != NULL) {
		e->prev->next = e->next;
	} else {
		t->head = e->next;
	}
	if (e->next != NULL) {
		e->next->prev = e->prev;
	} else {
		t->tail = e->prev;
	}
	t->count--;
	t->bytes -= e->len;
	free(e->body);
	free(e);
}

void idem_free(struct idem *t)
{
	if (t == NULL) {
		return;
	}
	while (t->head != NULL) {
		drop(t, t->head);
	}
	free(t->buckets);
	free(t);
}

int idem_key_ok(const char *key)
{
	size_t n = 0;

	for (; key[n] != '\0'; n++) {
		if (key[n] < 0x21 || key[n] > 0x7e || n >= IDEM_MAX_KEY) {
			return 0;
		}
	}
	return n > 0;
}

uint64_t idem_digest(const void *body, size_t len)
{
	/* Eight bytes a step (bodies are up to http.max_body, read on the
	 * loop); the length is mixed in, so a prefix differs. */
	const unsigned char *p = body;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ len, w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	for (; i < len; i++) {
		h = (h ^ p[i]) * 0xc4ceb9fe1a85ec53ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 33);
}

static struct entry *find(const struct idem *t, const char *key, uint64_t h)
{
	struct entry *e = t->buckets[h & t->mask];

	while (e != NULL && (e->hash != h || strcmp(e->key, key) != 0)) {
		e = e->chain;
	}
	return e;
}

/* Drops what expired, then the oldest until there is room for one more. */
static void make_room(struct idem *t, int64_t now)
{
	while (t->head != NULL &&
	       (now - t->head->born >= t->ttl_ms || t->count >= t->max_keys ||
		t->bytes > t->max_bytes)) {
		drop(t, t->head);
	}
}

enum idem_state idem_begin(struct idem *t, const char *key, uint64_t digest,
			   int64_t now, struct idem_reply *out)
{
	uint64_t h = hash_key(key);
	struct entry *e;
	size_t klen = strlen(key);

	while (t->head != NULL && now - t->head->born >= t->ttl_ms) {
		drop(t, t->head);
	}
	e = find(t, key, h);
	if (e != NULL) {
		if (e->digest != digest) {
			return IDEM_MISMATCH;
		}
		if (!e->done) {
			return IDEM_PENDING;
		}
		out->status = e->status;
		out->body = e->body;
		out->len = e->len;
		return IDEM_DONE;
	}
	make_room(t, now);
	e = xcalloc(1, sizeof(*e) + klen + 1);
	memcpy(e->key, key, klen + 1);
	e->hash = h;
	e->digest = digest;
	e->born = now;
	e->chain = t->buckets[h & t->mask];
	t->buckets[h & t->mask] = e;
	e->prev = t->tail;
	if (t->tail != NULL) {
		t->tail->next = e;
	} else {
		t->head = e;
	}
	t->tail = e;
	t->count++;
	return IDEM_NEW;
}

void idem_finish(struct idem *t, const char *key, int status, const char *body,
		 size_t len)
{
	struct entry *e = find(t, key, hash_key(key));

	if (e == NULL || e->done) {
		return;
	}
	if (len > t->max_bytes) {
		/* An answer that alone passes the bound is not kept: a
		 * retry then counts as duplicates, which is still once. */
		drop(t, e);
		return;
	}
	e->body = xmalloc(len + 1);
	memcpy(e->body, body, len);
	e->body[len] = '\0';
	e->len = len;
	e->status = status;
	e->done = true;
	t->bytes += len;
	while (t->bytes > t->max_bytes && t->head != e) {
		drop(t, t->head);
	}
}

void idem_abort(struct idem *t, const char *key)
{
	struct entry *e = find(t, key, hash_key(key));

	if (e != NULL && !e->done) {
		drop(t, e);
	}
}

size_t idem_count(const struct idem *t)
{
	return t->count;
}

size_t idem_bytes(const struct idem *t)
{
	return t->bytes;
}
