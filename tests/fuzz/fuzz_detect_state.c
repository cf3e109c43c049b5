/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: a saved detector state (text from the store, so untrusted)
 * through detector_decode; a state that decodes is stepped over a few
 * buckets, encoded, and must decode again to the very same text.
 * Byte 0 picks the bucket size and direction the detector is made with.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/detect.h"
#include "fuzz.h"

static const int64_t buckets[] = {60000, 300000, 3600000, 86400000};
static const int64_t counts[] = {0, 7, 4000, 3, 0};

/* An hour on 2023-11-14, when the state has no next bucket yet. */
#define FIRST_BUCKET_MS 1699999200000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct detect_params p;
	struct detector *d, *again;
	struct detect_result r;
	char *text, *text2;
	size_t len, len2;
	int64_t t;

	if (size < 1) {
		return 0;
	}
	detect_params_default(&p, buckets[data[0] & 3]);
	p.direction = (enum detect_direction)(((data[0] >> 2) & 3) % 3);
	d = detector_new(&p);
	if (detector_decode(d, (const char *)data + 1, size - 1) < 0) {
		detector_free(d);
		return 0;
	}
	t = detector_next_start(d);
	if (t == INT64_MIN) {
		t = FIRST_BUCKET_MS;
	}
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		detector_step(d, t, counts[i], &r);
		FUZZ_REQUIRE(r.start_ms == t && r.count == counts[i]);
		FUZZ_REQUIRE(detector_next_start(d) == t + p.bucket_ms);
		t += p.bucket_ms;
		(void)detector_baseline(d);
	}
	text = detector_encode(d, &len);
	FUZZ_REQUIRE(strlen(text) == len);
	again = detector_new(&p);
	if (detector_decode(again, text, len) < 0) {
		fprintf(stderr, "state does not decode again:\n%s\n", text);
		abort();
	}
	text2 = detector_encode(again, &len2);
	if (len != len2 || memcmp(text, text2, len) != 0) {
		fprintf(stderr, "state changed on a round trip:\n%s\n%s\n",
			text, text2);
		abort();
	}
	free(text2);
	free(text);
	detector_free(again);
	detector_free(d);
	return 0;
}
