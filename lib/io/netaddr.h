/* SPDX-License-Identifier: MIT */
/*
 * Host names to addresses for hiredis 0.14, whose redisAsyncConnect
 * resolves a name with a blocking getaddrinfo: the Redis clients (store,
 * sentinels, redis-stream sources) resolve their hosts once, while they
 * are built before the loop runs, and connect to the address from then on.
 */
#ifndef HARK_IO_NETADDR_H
#define HARK_IO_NETADDR_H

/*
 * Replaces *host (owned, may be NULL) by its first address as text. An
 * address stays as it is; a name that does not resolve now is kept (and
 * hiredis will try it again as it is). Blocks: not on the loop.
 */
void netaddr_resolve_once(char **host);

#endif
