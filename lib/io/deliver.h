/* SPDX-License-Identifier: MIT */
/*
 * Delivery of rendered alerts to receivers: webhooks POSTed through
 * libcurl's multi-socket interface driven by the libevent loop (never a
 * blocking call), with a timeout per attempt and retries with exponential
 * backoff and jitter; and the log receiver, which prints to stdout. Runs
 * on the loop thread.
 */
#ifndef HARK_IO_DELIVER_H
#define HARK_IO_DELIVER_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct config_receiver;
struct deliver;

struct deliver_stats {
	uint64_t sent;     /* delivered (2xx, or printed) */
	uint64_t failed;   /* given up after the last retry, or permanent 4xx */
	uint64_t retries;  /* attempts after the first */
	uint64_t inflight; /* queued or being attempted */
};

/* Caller frees with deliver_free. Initializes libcurl once. */
struct deliver *deliver_new(struct event_base *base);
void deliver_free(struct deliver *d);

/*
 * Sends body (len bytes, copied) to receiver r (borrowed; must outlive the
 * delivery: deliver_drain before freeing the config). id is the alert id,
 * sent as the webhook-id header and used in logs. text is what the log
 * receiver prints (copied; may be NULL for webhooks).
 */
void deliver_send(struct deliver *d, const struct config_receiver *r,
		  size_t receiver_index, const char *id, const char *body,
		  size_t len, const char *text);
/* Stats of receiver number receiver_index. */
struct deliver_stats deliver_stats(const struct deliver *d,
				   size_t receiver_index);
/*
 * Stops retrying later than deadline_ms (monotonic) and calls done once
 * nothing is in flight; pending retries are attempted at once.
 */
void deliver_drain(struct deliver *d, int64_t deadline_ms,
		   void (*done)(void *arg), void *arg);

#endif
