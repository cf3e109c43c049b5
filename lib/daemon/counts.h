/* SPDX-License-Identifier: MIT */
/*
 * The count writes of one daemon run (DESIGN §9's count → flush path).
 * Each run is a writer with its own field in every bucket's count hash
 * (core/keys.h) and writes its count of a bucket as an absolute number that
 * only rises (store_count_put): a write retried after a timeout, or run
 * late by a stalled Redis on a dropped connection, can never add twice, and
 * the bucket's count is the sum of every run's (several daemons on one
 * store add up the same way). Open buckets are written as they fill, so a
 * crash loses at most a flush interval; a write that failed is kept (capped)
 * and sent again when the store is back. Runs on the loop.
 */
#ifndef HARK_DAEMON_COUNTS_H
#define HARK_DAEMON_COUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "io/store.h"

struct counts;

/* Writes through st (borrowed) under prefix, keys kept retention_ms; at
 * most max_pending failed writes kept. */
struct counts *counts_new(struct store *st, const char *prefix,
			  int64_t retention_ms, size_t max_pending);
void counts_free(struct counts *c); /* accepts NULL */

/* This run's field: host/pid/start time (ms). */
const char *counts_writer(const struct counts *c);

/*
 * A closed bucket: writes this run's final count of rule's bucket and
 * calls cb with the bucket's total over every writer (and an older
 * version's counter); with status -1 when the store failed (the write is
 * then kept for later and cb should judge on count).
 */
void counts_close(struct counts *c, const char *rule, int64_t start_ms,
		  int64_t count, store_int_fn *cb, void *arg);
/* An open bucket's count so far (a flush; nothing to wait for). */
void counts_put(struct counts *c, const char *rule, int64_t start_ms,
		int64_t count);
/* Sends again up to budget failed writes, if the store is up. */
void counts_retry(struct counts *c, size_t budget);

/* Writes sent and not yet answered. */
size_t counts_inflight(const struct counts *c);
/* Failed writes kept, and those dropped past the cap. */
size_t counts_pending(const struct counts *c);
uint64_t counts_dropped(const struct counts *c);

#endif
