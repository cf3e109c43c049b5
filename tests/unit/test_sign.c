/* SPDX-License-Identifier: MIT */
/*
 * Standard Webhooks signatures: the spec libraries' published test vector,
 * raw and whsec_ secrets, rotation, base64 both ways and bad secrets.
 */
#include "core/sign.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"

/* From standard-webhooks/standard-webhooks libraries/go/webhook_test.go
 * (TestWebhookSign), the same vector as the other libraries' tests. */
#define VEC_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define VEC_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define VEC_TS 1614265330
#define VEC_BODY "{\"test\": 2432232314}"
#define VEC_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static void test_vector(void)
{
	struct sign_key k;
	const char *err = NULL;
	char *h;

	CHECK_INT(sign_key_parse(VEC_SECRET, &k, &err), 0);
	CHECK_INT(k.len, 24);
	h = sign_header(&k, 1, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY));
	CHECK_STR(h, VEC_SIG);
	free(h);
	/* Any change to id, timestamp or body changes the signature. */
	h = sign_header(&k, 1, VEC_ID, VEC_TS + 1, VEC_BODY, strlen(VEC_BODY));
	CHECK(strcmp(h, VEC_SIG) != 0);
	free(h);
	h = sign_header(&k, 1, "msg_x", VEC_TS, VEC_BODY, strlen(VEC_BODY));
	CHECK(strcmp(h, VEC_SIG) != 0);
	free(h);
	h = sign_header(&k, 1, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY) - 1);
	CHECK(strcmp(h, VEC_SIG) != 0);
	free(h);
}

static void test_raw_and_rotation(void)
{
	struct sign_key keys[SIGN_MAX_SECRETS];
	const char *err = NULL;
	char *h;
	int n;

	n = sign_keys_parse("  secret-one\n" VEC_SECRET "\t", keys,
			    SIGN_MAX_SECRETS, &err);
	CHECK_INT(n, 2);
	CHECK_INT(keys[0].len, 10);
	CHECK(memcmp(keys[0].bytes, "secret-one", 10) == 0);
	h = sign_header(keys, 2, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY));
	/* The second signature is the vector's; the two are space separated. */
	CHECK(strncmp(h, "v1,", 3) == 0);
	CHECK(strchr(h, ' ') != NULL);
	if (strchr(h, ' ') != NULL) {
		CHECK_STR(strchr(h, ' ') + 1, VEC_SIG);
		CHECK_INT(strchr(h, ' ') - h, strlen(VEC_SIG));
	}
	free(h);
	/* Raw key "key" over "i.1.b": computed with Python's hmac module. */
	CHECK_INT(sign_key_parse("key", &keys[0], &err), 0);
	h = sign_header(keys, 1, "i", 1, "b", 1);
	CHECK_STR(h, "v1,m1C0gE/58TZsm+fHH5zr4QXFeWxVj7caAjv6/QZGK9o=");
	free(h);
}

static void test_bad_secrets(void)
{
	struct sign_key keys[2];
	const char *err = NULL;

	CHECK_INT(sign_key_parse("", &keys[0], &err), -1);
	CHECK_INT(sign_key_parse("whsec_", &keys[0], &err), -1);
	CHECK_INT(sign_key_parse("whsec_!!!!", &keys[0], &err), -1);
	CHECK_INT(sign_key_parse("whsec_QQ=A", &keys[0], &err), -1);
	CHECK(err != NULL);
	CHECK_INT(sign_keys_parse("   \n", keys, 2, &err), -1);
	CHECK_INT(sign_keys_parse("a b c", keys, 2, &err), -1);
	CHECK_STR(err, "too many secrets");
	CHECK_INT(sign_keys_parse("a whsec_*", keys, 2, &err), -1);
}

static void test_base64(void)
{
	static const struct {
		const char *plain;
		const char *enc;
	} v[] = {
		/* RFC 4648 §10 */
		{"", ""},
		{"f", "Zg=="},
		{"fo", "Zm8="},
		{"foo", "Zm9v"},
		{"foob", "Zm9vYg=="},
		{"fooba", "Zm9vYmE="},
		{"foobar", "Zm9vYmFy"},
	};
	unsigned char out[16];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *e = sign_base64(v[i].plain, strlen(v[i].plain));
		long n;

		CHECK_STR(e, v[i].enc);
		free(e);
		n = sign_unbase64(v[i].enc, strlen(v[i].enc), out, sizeof(out));
		CHECK_INT(n, strlen(v[i].plain));
		if (n >= 0) {
			CHECK(memcmp(out, v[i].plain, (size_t)n) == 0);
		}
	}
	/* Unpadded is accepted; garbage, bad padding and overflow are not. */
	CHECK_INT(sign_unbase64("Zm8", 3, out, sizeof(out)), 2);
	CHECK_INT(sign_unbase64("Z", 1, out, sizeof(out)), -1);
	CHECK_INT(sign_unbase64("Zm9v====", 8, out, sizeof(out)), -1);
	CHECK_INT(sign_unbase64("Zm 9", 4, out, sizeof(out)), -1);
	CHECK_INT(sign_unbase64("Zm9vYmFy", 8, out, 5), -1);
}

int main(void)
{
	test_vector();
	test_raw_and_rotation();
	test_bad_secrets();
	test_base64();
	return check_done();
}
