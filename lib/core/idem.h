/* SPDX-License-Identifier: MIT */
/*
 * The first answer to each Idempotency-Key of POST /v1/mentions, so that a
 * client retrying a push it got no answer to (a timeout, a reset) gets the
 * answer of the push that counted instead of counting again. Bounded in keys
 * and bytes; a key is kept for a time to live from its first use, the
 * oldest dropped first. Pure: every "now" is passed in; one thread.
 */
#ifndef HARK_CORE_IDEM_H
#define HARK_CORE_IDEM_H

#include <stddef.h>
#include <stdint.h>

/* Longest key taken (Stripe's and the IETF draft's keys are UUIDs). */
#define IDEM_MAX_KEY 255

enum idem_state {
	IDEM_NEW,      /* first use: now pending; idem_finish or idem_abort */
	IDEM_PENDING,  /* a push with this key is still being counted */
	IDEM_DONE,     /* answered: *out is the first answer */
	IDEM_MISMATCH, /* the key came with another body */
};

struct idem_reply {
	int status;
	const char *body; /* borrowed from the table until its next call */
	size_t len;
};

struct idem;

/* max_keys keys and max_bytes of answers at most, each kept ttl_ms. */
struct idem *idem_new(size_t max_keys, size_t max_bytes, int64_t ttl_ms);
void idem_free(struct idem *t); /* accepts NULL */

/* Whether key may be one: 1 to IDEM_MAX_KEY visible ASCII characters. */
int idem_key_ok(const char *key);
/* A digest of a request body, to tell a retry from a reused key. */
uint64_t idem_digest(const void *body, size_t len);

/* Looks key up for a request whose body has the given digest, at now. */
enum idem_state idem_begin(struct idem *t, const char *key, uint64_t digest,
			   int64_t now, struct idem_reply *out);
/* Records the answer to key's pending push (nothing if it was dropped
 * meanwhile). */
void idem_finish(struct idem *t, const char *key, int status, const char *body,
		 size_t len);
/* Forgets key's pending push: it was not counted, a retry may count. */
void idem_abort(struct idem *t, const char *key);

size_t idem_count(const struct idem *t);
size_t idem_bytes(const struct idem *t);

#endif
