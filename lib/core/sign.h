/* SPDX-License-Identifier: MIT */
/*
 * Standard Webhooks signatures: HMAC-SHA256 over "id.timestamp.body",
 * sent as "v1,<base64>" in webhook-signature, one per secret (space
 * separated) so that a receiver can rotate its secret. Pure (libcrypto).
 */
#ifndef HARK_CORE_SIGN_H
#define HARK_CORE_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "util/xalloc.h"

/* Secrets per receiver: enough for a rotation or two. */
#define SIGN_MAX_SECRETS 8
#define SIGN_MAX_KEY_BYTES 1024

struct sign_key {
	unsigned char bytes[SIGN_MAX_KEY_BYTES];
	size_t len;
};

/*
 * Parses one secret: "whsec_<base64>" is the base64-decoded key, anything
 * else is used as raw bytes. Returns -1 with a static reason in *err for
 * an empty secret, bad base64 or a key over SIGN_MAX_KEY_BYTES.
 */
int sign_key_parse(const char *secret, struct sign_key *out,
		   const char **err) HARK_MUST_CHECK;
/*
 * Parses whitespace-separated secrets (the "secret" key, or the lines of
 * secret_file) into keys[0..max). Returns how many, or -1 with *err set
 * for a bad one, none at all, or more than max.
 */
int sign_keys_parse(const char *text, struct sign_key *keys, size_t max,
		    const char **err) HARK_MUST_CHECK;
/*
 * The webhook-signature header value for id, timestamp_s and body under
 * each key: "v1,<base64> v1,<base64>". Caller frees.
 */
char *sign_header(const struct sign_key *keys, size_t n_keys, const char *id,
		  int64_t timestamp_s, const void *body, size_t len);
/* Standard base64 with padding; caller frees. */
char *sign_base64(const void *data, size_t len);
/*
 * Decodes standard base64 (padding optional, no whitespace) into out (at
 * most cap bytes). Returns the length, or -1 on bad input or overflow.
 */
long sign_unbase64(const char *s, size_t n, unsigned char *out,
		   size_t cap) HARK_MUST_CHECK;

#endif
