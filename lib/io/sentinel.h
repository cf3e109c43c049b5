/* SPDX-License-Identifier: MIT */
/*
 * Asks Redis Sentinels where a primary is: SENTINEL get-master-addr-by-name
 * to each sentinel in turn (hiredis async on the libevent loop, each with
 * its own timeout) until one names it. The store connects to the answer
 * and checks it with ROLE itself. Loop thread only.
 */
#ifndef HARK_IO_SENTINEL_H
#define HARK_IO_SENTINEL_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct sentinel;

/*
 * status 0: host (borrowed, valid during the call) and port name the
 * primary, and via the sentinel that said so; -1: no sentinel named it,
 * why says the last reason. Never called from inside sentinel_resolve.
 */
typedef void sentinel_addr_fn(void *arg, int status, const char *host, int port,
			      const char *via, const char *why);

/*
 * nodes: n_nodes (> 0) "HOST:PORT" strings, already valid (config.c
 * checks them with redis_addr_parse; an invalid one is skipped here);
 * names are resolved now, before the loop runs. password: AUTH on the
 * sentinels, NULL for none. All strings are copied.
 */
struct sentinel *sentinel_new(struct event_base *base, const char *master,
			      const char *const *nodes, size_t n_nodes,
			      const char *password, int64_t timeout_ms);
/*
 * Starts asking, from the first sentinel; cb runs once, from the loop.
 * One resolution at a time (not while one runs).
 */
void sentinel_resolve(struct sentinel *s, sentinel_addr_fn *cb, void *arg);
/* Stops a resolution in flight without calling its callback. */
void sentinel_cancel(struct sentinel *s);
void sentinel_free(struct sentinel *s); /* accepts NULL */

#endif
