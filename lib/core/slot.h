/* SPDX-License-Identifier: MIT */
/*
 * Redis Cluster's key → slot mapping and its redirection replies, as the
 * cluster specification states them: CRC16 (XMODEM) of the key's hash
 * tag, mod 16384; "MOVED slot host:port" and "ASK slot host:port". Pure:
 * io/store_cluster.c routes with them.
 */
#ifndef HARK_CORE_SLOT_H
#define HARK_CORE_SLOT_H

#include <stddef.h>
#include <stdint.h>

#include "util/xalloc.h"

#define SLOT_COUNT 16384

enum slot_redirect {
	SLOT_REDIRECT_NONE, /* not a redirection */
	SLOT_REDIRECT_MOVED,
	SLOT_REDIRECT_ASK,
};

/* CRC16-CCITT (XMODEM: polynomial 0x1021, initial 0) of len bytes. */
uint16_t slot_crc16(const char *buf, size_t len);
/*
 * The part of key that is hashed: between the first '{' and the next
 * '}' when that is not empty, else the whole key. Sets *len.
 */
const char *slot_hash_tag(const char *key, size_t klen, size_t *len);
/* key's slot, 0 to SLOT_COUNT - 1. */
unsigned slot_of(const char *key, size_t klen);
/*
 * Reads an error reply (len bytes, not necessarily terminated):
 * "MOVED 3999 127.0.0.1:6381" or "ASK 3999 [::1]:6381" (a bare IPv6
 * address too: the port follows the last ':'). Fills *slot, host (empty
 * when the reply leaves it out: the node that answered) and *port, and
 * returns MOVED or ASK; anything else, malformed included, is NONE.
 */
enum slot_redirect slot_redirect_parse(const char *err, size_t len,
				       unsigned *slot, char *host,
				       size_t hostlen, int *port);

#endif
