/* SPDX-License-Identifier: MIT */
/*
 * Standard Webhooks signing (see sign.h): secrets parsed once, then one
 * HMAC-SHA256 per secret over "id.timestamp.body" with OpenSSL's one-shot
 * HMAC(). Pure: the timestamp comes from the caller.
 */
#include "core/sign.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/buf.h"

#define WHSEC "whsec_"

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') {
		return c - 'A';
	}
	if (c >= 'a' && c <= 'z') {
		return c - 'a' + 26;
	}
	if (c >= '0' && c <= '9') {
		return c - '0' + 52;
	}
	if (c == '+') {
		return 62;
	}
	if (c == '/') {
		return 63;
	}
	return -1;
}

long sign_unbase64(const char *s, size_t n, unsigned char *out, size_t cap)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t len = 0;
	size_t pad = 0;

	while (n > 0 && s[n - 1] == '=') {
		n--;
		pad++;
	}
	/* One or two '=' only, and only where a group ends short. */
	if (pad > 2 || (pad > 0 && (n + pad) % 4 != 0) || n % 4 == 1) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		int v = b64_value((unsigned char)s[i]);

		if (v < 0) {
			return -1;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (len == cap) {
				return -1;
			}
			out[len++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return (long)len;
}

char *sign_base64(const void *data, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

int sign_key_parse(const char *secret, struct sign_key *out, const char **err)
{
	size_t n = strlen(secret);
	long got;

	memset(out, 0, sizeof(*out));
	if (strncmp(secret, WHSEC, strlen(WHSEC)) == 0) {
		secret += strlen(WHSEC);
		n -= strlen(WHSEC);
		if (n == 0) {
			*err = "empty whsec_ secret";
			return -1;
		}
		got = sign_unbase64(secret, n, out->bytes, sizeof(out->bytes));
		if (got <= 0) {
			*err = "whsec_ secret is not valid base64 (or too "
			       "long)";
			return -1;
		}
		out->len = (size_t)got;
		return 0;
	}
	if (n == 0) {
		*err = "empty secret";
		return -1;
	}
	if (n > sizeof(out->bytes)) {
		*err = "secret too long";
		return -1;
	}
	memcpy(out->bytes, secret, n);
	out->len = n;
	return 0;
}

int sign_keys_parse(const char *text, struct sign_key *keys, size_t max,
		    const char **err)
{
	const char *p = text;
	size_t n = 0;

	for (;;) {
		char one[2 * SIGN_MAX_KEY_BYTES];
		size_t len;

		while (isspace((unsigned char)*p)) {
			p++;
		}
		if (*p == '\0') {
			break;
		}
		len = strcspn(p, " \t\r\n");
		if (n == max) {
			*err = "too many secrets";
			return -1;
		}
		if (len >= sizeof(one)) {
			*err = "secret too long";
			return -1;
		}
		memcpy(one, p, len);
		one[len] = '\0';
		if (sign_key_parse(one, &keys[n], err) < 0) {
			return -1;
		}
		n++;
		p += len;
	}
	if (n == 0) {
		*err = "no secret";
		return -1;
	}
	return (int)n;
}

char *sign_header(const struct sign_key *keys, size_t n_keys, const char *id,
		  int64_t timestamp_s, const void *body, size_t len)
{
	char prefix[64];
	struct buf msg;
	struct buf out;
	char *signed_text;
	size_t signed_len;
	char *res;

	snprintf(prefix, sizeof(prefix), ".%" PRId64 ".", timestamp_s);
	/* The body is already bounded by the renderer's caps. */
	buf_init(&msg, SIZE_MAX / 2);
	if (buf_append(&msg, id, strlen(id)) != 0 ||
	    buf_append(&msg, prefix, strlen(prefix)) != 0 ||
	    buf_append(&msg, body, len) != 0) {
		HARK_ASSERT(!"sign_header: unbounded buffer refused");
	}
	signed_text = buf_steal(&msg, &signed_len);
	buf_init(&out, SIZE_MAX / 2);
	for (size_t i = 0; i < n_keys; i++) {
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned int mac_len = 0;
		char *b64;

		if (HMAC(EVP_sha256(), keys[i].bytes, (int)keys[i].len,
			 (const unsigned char *)signed_text, signed_len, mac,
			 &mac_len) == NULL) {
			HARK_ASSERT(!"HMAC-SHA256 failed");
		}
		b64 = sign_base64(mac, mac_len);
		if (buf_printf(&out, "%sv1,%s", i > 0 ? " " : "", b64) != 0) {
			HARK_ASSERT(!"sign_header: unbounded buffer refused");
		}
		free(b64);
	}
	free(signed_text);
	res = buf_steal(&out, NULL);
	return res != NULL ? res : xstrdup("");
}
