/* SPDX-License-Identifier: MIT */
/*
 * Key slots and redirections of Redis Cluster (see slot.h). Pure.
 */
#include "core/slot.h"

#include <stdlib.h>
#include <string.h>

uint16_t slot_crc16(const char *buf, size_t len)
{
	uint16_t crc = 0;

	for (size_t i = 0; i < len; i++) {
		crc ^= (uint16_t)((uint16_t)(unsigned char)buf[i] << 8);
		for (int b = 0; b < 8; b++) {
			crc = (crc & 0x8000) != 0
				      ? (uint16_t)((crc << 1) ^ 0x1021)
				      : (uint16_t)(crc << 1);
		}
	}
	return crc;
}

const char *slot_hash_tag(const char *key, size_t klen, size_t *len)
{
	const char *open = memchr(key, '{', klen);
	const char *close;

	if (open != NULL) {
		close = memchr(open + 1, '}', klen - (size_t)(open + 1 - key));
		/* "{}" hashes the whole key, as Redis does. */
		if (close != NULL && close > open + 1) {
			*len = (size_t)(close - open - 1);
			return open + 1;
		}
	}
	*len = klen;
	return key;
}

unsigned slot_of(const char *key, size_t klen)
{
	size_t len;
	const char *tag = slot_hash_tag(key, klen, &len);

	return slot_crc16(tag, len) & (SLOT_COUNT - 1);
}

enum slot_redirect slot_redirect_parse(const char *err, size_t len,
				       unsigned *slot, char *host,
				       size_t hostlen, int *port)
{
	enum slot_redirect kind;
	char buf[256];
	char *p, *end, *colon;
	unsigned long s;
	long pt;
	size_t hl;

	if (len >= sizeof(buf) || hostlen == 0) {
		return SLOT_REDIRECT_NONE;
	}
	memcpy(buf, err, len);
	buf[len] = '\0';
	if (strncmp(buf, "MOVED ", 6) == 0) {
		kind = SLOT_REDIRECT_MOVED;
		p = buf + 6;
	} else if (strncmp(buf, "ASK ", 4) == 0) {
		kind = SLOT_REDIRECT_ASK;
		p = buf + 4;
	} else {
		return SLOT_REDIRECT_NONE;
	}
	if (*p < '0' || *p > '9') {
		return SLOT_REDIRECT_NONE;
	}
	s = strtoul(p, &end, 10);
	if (*end != ' ' || s >= SLOT_COUNT) {
		return SLOT_REDIRECT_NONE;
	}
	p = end + 1;
	colon = strrchr(p, ':');
	if (colon == NULL || colon[1] < '0' || colon[1] > '9') {
		return SLOT_REDIRECT_NONE;
	}
	pt = strtol(colon + 1, &end, 10);
	if (*end != '\0' || pt < 1 || pt > 65535) {
		return SLOT_REDIRECT_NONE;
	}
	*colon = '\0';
	if (p[0] == '[' && colon > p && colon[-1] == ']') {
		p++;
		colon[-1] = '\0';
	}
	hl = strlen(p);
	if (hl >= hostlen || strchr(p, ' ') != NULL) {
		return SLOT_REDIRECT_NONE;
	}
	memcpy(host, p, hl + 1);
	*slot = (unsigned)s;
	*port = (int)pt;
	return kind;
}
