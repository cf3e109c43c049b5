/* SPDX-License-Identifier: MIT */
/* Idempotency keys: first use, retry, concurrent retry, reused key, abort,
 * expiry and both bounds. */
#include "core/idem.h"

#include <stdio.h>
#include <string.h>

#include "check.h"

static void test_keys(void)
{
	char long_key[IDEM_MAX_KEY + 2];

	CHECK(idem_key_ok("3f2c-9a1b"));
	CHECK(idem_key_ok("~!"));
	CHECK(!idem_key_ok(""));
	CHECK(!idem_key_ok("a b"));
	CHECK(!idem_key_ok("caf\xc3\xa9"));
	CHECK(!idem_key_ok("a\tb"));
	memset(long_key, 'k', sizeof(long_key));
	long_key[IDEM_MAX_KEY] = '\0';
	CHECK(idem_key_ok(long_key));
	long_key[IDEM_MAX_KEY] = 'k';
	long_key[IDEM_MAX_KEY + 1] = '\0';
	CHECK(!idem_key_ok(long_key));
	/* a digest tells bodies apart, prefixes and tails included */
	CHECK(idem_digest("abcdefgh12", 10) != idem_digest("abcdefgh13", 10));
	CHECK(idem_digest("abcdefgh", 8) != idem_digest("abcdefgh\0", 9));
	CHECK(idem_digest("", 0) == idem_digest("", 0));
}

static void test_lifecycle(void)
{
	struct idem *t = idem_new(100, 1 << 20, 1000);
	struct idem_reply r = {0};
	uint64_t d = idem_digest("body", 4);

	CHECK_INT(idem_begin(t, "k1", d, 0, &r), IDEM_NEW);
	/* a retry while the first is counted */
	CHECK_INT(idem_begin(t, "k1", d, 1, &r), IDEM_PENDING);
	idem_finish(t, "k1", 202, "{\"accepted\":1}", 14);
	CHECK_INT(idem_begin(t, "k1", d, 2, &r), IDEM_DONE);
	CHECK_INT(r.status, 202);
	CHECK_INT(r.len, 14);
	CHECK(memcmp(r.body, "{\"accepted\":1}", 14) == 0);
	/* the key with another body */
	CHECK_INT(idem_begin(t, "k1", idem_digest("other", 5), 3, &r),
		  IDEM_MISMATCH);
	/* finishing twice keeps the first answer */
	idem_finish(t, "k1", 500, "x", 1);
	CHECK_INT(idem_begin(t, "k1", d, 4, &r), IDEM_DONE);
	CHECK_INT(r.status, 202);
	/* an aborted push may be retried */
	CHECK_INT(idem_begin(t, "k2", d, 5, &r), IDEM_NEW);
	idem_abort(t, "k2");
	CHECK_INT(idem_begin(t, "k2", d, 6, &r), IDEM_NEW);
	idem_abort(t, "k2");
	/* abort does not forget an answer */
	idem_abort(t, "k1");
	CHECK_INT(idem_begin(t, "k1", d, 7, &r), IDEM_DONE);
	/* finishing a key never begun is a no-op */
	idem_finish(t, "nope", 202, "x", 1);
	CHECK_INT(idem_count(t), 1);
	/* expiry: a key is kept ttl from its first use */
	CHECK_INT(idem_begin(t, "k1", d, 999, &r), IDEM_DONE);
	CHECK_INT(idem_begin(t, "k1", d, 1000, &r), IDEM_NEW);
	CHECK_INT(idem_count(t), 1);
	CHECK_INT(idem_bytes(t), 0);
	idem_free(t);
	idem_free(NULL);
}

static void test_bounds(void)
{
	struct idem *t = idem_new(3, 10, 1000000);
	struct idem_reply r;
	char key[16];

	for (int i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		CHECK_INT(idem_begin(t, key, 1, i, &r), IDEM_NEW);
		idem_finish(t, key, 202, "ab", 2);
	}
	/* three keys at most: the oldest went first */
	CHECK_INT(idem_count(t), 3);
	CHECK_INT(idem_begin(t, "k1", 1, 10, &r), IDEM_NEW);
	idem_abort(t, "k1");
	CHECK_INT(idem_begin(t, "k4", 1, 11, &r), IDEM_DONE);
	/* ten bytes at most: a 9-byte answer leaves room for none other */
	CHECK_INT(idem_begin(t, "big", 1, 12, &r), IDEM_NEW);
	idem_finish(t, "big", 202, "123456789", 9);
	CHECK_INT(idem_bytes(t), 9);
	CHECK_INT(idem_begin(t, "big", 1, 13, &r), IDEM_DONE);
	CHECK_INT(idem_begin(t, "k4", 1, 14, &r), IDEM_NEW);
	/* an answer larger than the bound is not kept */
	CHECK_INT(idem_begin(t, "huge", 1, 15, &r), IDEM_NEW);
	idem_finish(t, "huge", 202, "12345678901", 11);
	CHECK_INT(idem_begin(t, "huge", 1, 16, &r), IDEM_NEW);
	CHECK(idem_bytes(t) <= 10);
	idem_free(t);
}

/* Many keys through a small table: chains and the order list stay whole
 * (every key still present is found, the count matches). */
static void test_churn(void)
{
	struct idem *t = idem_new(50, 1 << 20, 1000000);
	struct idem_reply r;
	char key[16];
	int found = 0;

	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "c%d", i);
		CHECK_INT(idem_begin(t, key, (uint64_t)i, i, &r), IDEM_NEW);
		if (i % 7 == 0) {
			idem_abort(t, key);
		} else {
			idem_finish(t, key, 202, key, strlen(key));
		}
	}
	/* the newest first: a miss would take a place */
	for (int i = 4999; i >= 4960; i--) {
		snprintf(key, sizeof(key), "c%d", i);
		if (i % 7 != 0 &&
		    idem_begin(t, key, (uint64_t)i, 5000, &r) == IDEM_DONE) {
			found++;
			CHECK_INT(r.len, strlen(key));
		}
	}
	CHECK(idem_count(t) <= 50);
	CHECK_INT(found, 34); /* 40 less the 6 aborted */
	idem_free(t);
}

int main(void)
{
	test_keys();
	test_lifecycle();
	test_bounds();
	test_churn();
	return check_done();
}
