/* SPDX-License-Identifier: MIT */
/*
 * Delivery of rendered alerts to receivers: webhooks (signed per
 * Standard Webhooks when the receiver has a secret), e-mail over SMTP and
 * Alertmanager's API, all through libcurl's multi-socket interface driven
 * by the libevent loop (never a blocking call), with a timeout per attempt,
 * retries with exponential backoff and jitter, a per-receiver rate limit,
 * and 410 Gone disabling a receiver; and the log receiver, which prints to
 * stdout. Runs on the loop thread.
 */
#ifndef HARK_IO_DELIVER_H
#define HARK_IO_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "io/outbox.h"

struct alert;
struct event_base;
struct config_receiver;
struct deliver;
struct store;

struct deliver_stats {
	uint64_t sent;     /* delivered (2xx, or printed) */
	uint64_t failed;   /* given up after the last retry, or permanent 4xx */
	uint64_t retries;  /* attempts after the first */
	uint64_t inflight; /* queued or being attempted */
	uint64_t pending;  /* in the outbox: written, not yet delivered */
	uint64_t deadletter;  /* moved to the dead-letter list */
	uint64_t outbox_full; /* refused because the outbox was at its cap */
};

/* Caps of the durable outbox, per receiver (of this process's entries;
 * the dead letters: of the receiver's hash). */
#define DELIVER_OUTBOX_MAX 1000
#define DELIVER_OUTBOX_MAX_BYTES (16u << 20)
#define DELIVER_DEADLETTER_MAX 100

/*
 * Caller frees with deliver_free. Initializes libcurl once.
 *
 * With a store (borrowed; must outlive d, and is closed only after
 * deliver_drain's done), deliveries go through a durable outbox
 * (io/outbox.h): each notification is an entry of
 * <prefix>{fleet}:v2:outbox:<receiver> from before its first attempt until
 * it is delivered (2xx) or given up on; retries follow the backoff plan
 * until the receiver's max_age, then the entry moves to
 * <prefix>{fleet}:v2:deadletter:<receiver>, as do permanent failures. The
 * receiver's retries setting applies only without a store. Notifications
 * of one rule reach a receiver in order. prefix is copied.
 */
struct deliver *deliver_new(struct event_base *base, struct store *store,
			    const char *prefix);
void deliver_free(struct deliver *d);
/*
 * The owner written in this process's outbox entries (self, copied: the
 * member id; by default host/pid/start), and who the others are: fn (NULL:
 * alone, the default) says whether an owner is live; the entries of owners
 * that are not are taken over, at deliver_resume and every OUTBOX_SCAN_MS.
 * Call before deliver_resume. No effect without a store.
 */
void deliver_set_members(struct deliver *d, const char *self,
			 outbox_owner_fn *fn, void *arg);

/*
 * Sends body (len bytes, copied) to receiver r (borrowed; must outlive the
 * delivery: deliver_drain before freeing the config). id is the alert id,
 * sent as the webhook-id header and used in logs. text is what the log
 * receiver prints (copied; may be NULL for webhooks).
 */
void deliver_send(struct deliver *d, const struct config_receiver *r,
		  size_t receiver_index, const char *id, const char *body,
		  size_t len, const char *text);
/*
 * Renders alert for receiver r (the v1 body or r's template, an e-mail,
 * Alertmanager alerts) and sends it as deliver_send does; alert and
 * everything it points to are borrowed for the call only. For an
 * alertmanager receiver a firing alert is re-sent every r->resend_ms with
 * endsAt ahead until the same rule resolves.
 */
void deliver_alert(struct deliver *d, const struct config_receiver *r,
		   size_t receiver_index, const struct alert *alert);
/* Stats of receiver number receiver_index. */
struct deliver_stats deliver_stats(const struct deliver *d,
				   size_t receiver_index);
/*
 * Moves the version-1 outbox and dead letters of every receiver (borrowed,
 * n of them, indexes as in deliver_send) over, and re-sends what an
 * earlier run, or a member no longer live, left pending, in order, with
 * the same ids; entries older than max_age go to the dead letters. Call
 * once the store is reachable. Without a store it does nothing.
 */
void deliver_resume(struct deliver *d, const struct config_receiver *receivers,
		    size_t n);
/*
 * Stops retrying later than deadline_ms (monotonic) and calls done once
 * nothing is in flight; pending retries are attempted at once. With a
 * store, a failed attempt is not retried while draining: it stays in the
 * outbox for the next start, and done waits for the outbox writes.
 */
void deliver_drain(struct deliver *d, int64_t deadline_ms,
		   void (*done)(void *arg), void *arg);

#endif
