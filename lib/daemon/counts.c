/* SPDX-License-Identifier: MIT */
/*
 * Count writes (see counts.h). Failed writes wait in a FIFO; as each is an
 * absolute count that only rises, one kept twice, or sent again after it
 * did run, changes nothing.
 */
#include "daemon/counts.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/keys.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

struct pending {
	struct pending *next;
	char *key;
	long long value;
};

struct counts {
	struct store *st; /* borrowed */
	char *prefix;
	int64_t retention_ms;
	char writer[128];
	size_t inflight;
	struct pending *head, *tail;
	size_t n_pending, max_pending;
	uint64_t dropped;
};

/* One write in flight: what to keep when it fails, and whose callback. */
struct put {
	struct counts *c;
	char *key;
	long long value;
	store_int_fn *cb;
	void *arg;
};

struct counts *counts_new(struct store *st, const char *prefix,
			  int64_t retention_ms, size_t max_pending)
{
	struct counts *c = xcalloc(1, sizeof(*c));
	char host[64];

	c->st = st;
	c->prefix = xstrdup(prefix);
	c->retention_ms = retention_ms;
	c->max_pending = max_pending;
	if (gethostname(host, sizeof(host)) != 0) {
		snprintf(host, sizeof(host), "host");
	}
	host[sizeof(host) - 1] = '\0';
	/* A field has no blanks (the embedded store's text form): a host
	 * name has none. A new field each run: the last run's counts of a
	 * bucket still open stay its own and add up. */
	for (char *p = host; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\n') {
			*p = '_';
		}
	}
	snprintf(c->writer, sizeof(c->writer), "%s/%ld/%lld", host,
		 (long)getpid(), (long long)timeutil_now_ms());
	return c;
}

void counts_free(struct counts *c)
{
	if (c == NULL) {
		return;
	}
	while (c->head != NULL) {
		struct pending *p = c->head;

		c->head = p->next;
		free(p->key);
		free(p);
	}
	free(c->prefix);
	free(c);
}

const char *counts_writer(const struct counts *c)
{
	return c->writer;
}

static void keep(struct counts *c, char *key, long long value)
{
	struct pending *p;

	if (c->n_pending >= c->max_pending) {
		c->dropped++;
		free(key);
		return;
	}
	p = xcalloc(1, sizeof(*p));
	p->key = key;
	p->value = value;
	if (c->tail != NULL) {
		c->tail->next = p;
	} else {
		c->head = p;
	}
	c->tail = p;
	c->n_pending++;
}

static void put_cb(void *arg, int status, long long total)
{
	struct put *p = arg;
	struct counts *c = p->c;

	c->inflight--;
	if (status != 0) {
		keep(c, p->key, p->value);
		p->key = NULL;
	}
	if (p->cb != NULL) {
		p->cb(p->arg, status, total);
	}
	free(p->key);
	free(p);
}

/* key (owned) gets value; old_key (owned or NULL) is read into the
 * total. */
static void send_put(struct counts *c, char *key, char *old_key,
		     long long value, store_int_fn *cb, void *arg)
{
	struct put *p = xcalloc(1, sizeof(*p));

	p->c = c;
	p->key = key;
	p->value = value;
	p->cb = cb;
	p->arg = arg;
	c->inflight++;
	/* Only a bucket being judged needs its total back: flushes and
	 * retries only raise this writer's field. */
	if (cb != NULL) {
		store_count_put(c->st, key, old_key, c->writer, value,
				c->retention_ms, put_cb, p);
	} else {
		store_count_raise(c->st, key, c->writer, value, c->retention_ms,
				  put_cb, p);
	}
	free(old_key);
}

void counts_close(struct counts *c, const char *rule, int64_t start_ms,
		  int64_t count, store_int_fn *cb, void *arg)
{
	send_put(c, keys_count(c->prefix, rule, start_ms),
		 keys_count_v1(c->prefix, rule, start_ms), count, cb, arg);
}

void counts_put(struct counts *c, const char *rule, int64_t start_ms,
		int64_t count)
{
	if (count > 0) {
		send_put(c, keys_count(c->prefix, rule, start_ms), NULL, count,
			 NULL, NULL);
	}
}

void counts_retry(struct counts *c, size_t budget)
{
	if (!store_up(c->st)) {
		return;
	}
	while (c->head != NULL && budget-- > 0) {
		struct pending *p = c->head;

		c->head = p->next;
		if (c->head == NULL) {
			c->tail = NULL;
		}
		c->n_pending--;
		send_put(c, p->key, NULL, p->value, NULL, NULL);
		free(p);
	}
}

size_t counts_inflight(const struct counts *c)
{
	return c->inflight;
}

size_t counts_pending(const struct counts *c)
{
	return c->n_pending;
}

uint64_t counts_dropped(const struct counts *c)
{
	return c->dropped;
}
