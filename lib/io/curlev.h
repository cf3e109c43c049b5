/* SPDX-License-Identifier: MIT */
/*
 * libcurl's multi-socket interface driven by the libevent loop: one
 * struct event per socket curl asks about and one timer, as in curl's
 * docs/examples/multi-event.c. Users add easy handles to curlev_multi()
 * with CURLOPT_PRIVATE set, and get each finished transfer back through
 * their done callback, from the loop. Loop thread only.
 */
#ifndef HARK_IO_CURLEV_H
#define HARK_IO_CURLEV_H

#include <curl/curl.h>

struct event_base;
struct curlev;

/* A finished transfer: priv is its CURLINFO_PRIVATE, rc its result. The
 * callee removes the easy handle from the multi. */
typedef void curlev_done_fn(void *owner, void *priv, CURL *easy, CURLcode rc);

/* Initialises libcurl once per process (reference-counted). NULL when
 * libcurl cannot start. Free with curlev_free. */
struct curlev *curlev_new(struct event_base *base, curlev_done_fn *done,
			  void *owner);
/* The multi handle to add easy handles to; owned by c. */
CURLM *curlev_multi(const struct curlev *c);
/* Cleans the multi up (remove every easy handle first), then the events.
 * Accepts NULL. */
void curlev_free(struct curlev *c);

#endif
