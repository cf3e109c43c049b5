/* SPDX-License-Identifier: MIT */
/*
 * The one parser of Redis URLs, shared by the store, the redis-stream
 * sources and config validation, so that --check refuses exactly what
 * the daemon would refuse at start. Pure: connecting is the caller's.
 *
 *   redis://[[user]:password@]host[:port][/db]
 *   redis://password@host[:port][/db]           (AUTH with the password)
 *   unix:///path[?db=N]
 *
 * host is a name, an IPv4 address or [IPv6]; user and password may carry
 * %XX escapes (a '/' or '@' in a password must be written %2F, %40).
 */
#ifndef HARK_CORE_REDIS_URL_H
#define HARK_CORE_REDIS_URL_H

#include <stddef.h>

#include "util/xalloc.h"

#define REDIS_URL_DEFAULT_PORT 6379
/* Redis's "databases" goes up to INT_MAX, so SELECT takes 0..INT_MAX-1. */
#define REDIS_URL_MAX_DB 2147483646

struct redis_url {
	char *host;     /* owned; NULL for a unix socket; IPv6 without [] */
	int port;       /* 1-65535; 0 for a unix socket */
	char *path;     /* owned; the socket path, or NULL */
	char *user;     /* owned; NULL: AUTH with the password alone */
	char *password; /* owned; NULL: no AUTH */
	int db;         /* 0..REDIS_URL_MAX_DB; 0 sends no SELECT */
	char addr[160]; /* for logs: host:port, [v6]:port or the path */
};

/*
 * Parses url into u. Returns 0, or -1 with u empty (nothing to free) and
 * a one-line reason in err that never contains the user or password.
 * Caller frees a parsed u with redis_url_fini.
 */
int redis_url_parse(struct redis_url *u, const char *url, char *err,
		    size_t errlen) HARK_MUST_CHECK;
/*
 * Parses "HOST:PORT" (a Sentinel's address: host as above, the port
 * required) into u's host, port and addr, like redis_url_parse.
 */
int redis_addr_parse(struct redis_url *u, const char *addr, char *err,
		     size_t errlen) HARK_MUST_CHECK;
void redis_url_fini(struct redis_url *u);

#endif
