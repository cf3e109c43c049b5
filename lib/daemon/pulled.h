/* SPDX-License-Identifier: MIT */
/*
 * Pulled sources and file positions (daemon/pulled.c): the http-stream,
 * sse and redis-stream sources and the followed files, started once the
 * daemon serves, their positions saved while it runs and at stop. Loop
 * only.
 */
#ifndef HARK_DAEMON_PULLED_H
#define HARK_DAEMON_PULLED_H

struct hark;
struct cJSON;

/* The per-source slots, one for each source of h's config (hark_new). */
void pulled_init(struct hark *h);
/* Starts the pulled sources and the file sources (a resuming file once
 * the store said where it stopped). */
void pulled_start(struct hark *h);
/* Each tick while serving: starts files still waiting for their saved
 * position, and saves the positions that moved every few seconds (what a
 * crash may read again). */
void pulled_tick(struct hark *h);
/* At stop: saves every file's position exactly, closes the files,
 * disconnects the http-stream and sse sources and stops the redis-stream
 * ones reading (queued mentions are dropped, left pending). */
void pulled_stop(struct hark *h);
/* Stopping, the last count writes answered: the redis-stream sources
 * acknowledge what they counted (when every write was stored) and close. */
void pulled_finish(struct hark *h);
/* GET /v1/cluster's leases: {"source","holder","self"} of each source
 * read under a lease, added to arr. */
void pulled_leases_json(const struct hark *h, struct cJSON *arr);
/* Frees what pulled_init made and any source still running. */
void pulled_fini(struct hark *h);

#endif
