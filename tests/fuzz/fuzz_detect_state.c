/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: a saved detector state (a binary image from the store, so
 * untrusted) through detector_decode; an image that decodes is stepped
 * over a few buckets (a gap, a burst, a silence), encoded, and must decode
 * again to the very same bytes. Byte 0 picks the bucket size, direction and
 * novelty the detector is made with; the rest is the image.
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
	char *img, *img2;
	size_t len, len2;
	int64_t t;

	if (size < 1) {
		return 0;
	}
	detect_params_default(&p, buckets[data[0] & 3]);
	p.direction = (enum detect_direction)(((data[0] >> 2) & 3) % 3);
	p.novelty_ms = (data[0] & 0x10) ? 14 * 86400000LL : 0;
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
		/* The third step comes after a gap of three buckets. */
		if (i == 2) {
			t += 3 * p.bucket_ms;
		}
		detector_step(d, t, counts[i], &r);
		FUZZ_REQUIRE(r.start_ms == t && r.count == counts[i]);
		FUZZ_REQUIRE(detector_next_start(d) == t + p.bucket_ms);
		FUZZ_REQUIRE(r.score == r.score && r.baseline >= 0);
		t += p.bucket_ms;
		(void)detector_baseline(d);
		(void)detector_warm_at(d);
		(void)detect_reason_name(r.reason);
	}
	img = detector_encode(d, &len);
	again = detector_new(&p);
	if (detector_decode(again, img, len) < 0) {
		fprintf(stderr, "state does not decode again (%zu bytes)\n",
			len);
		abort();
	}
	img2 = detector_encode(again, &len2);
	if (len != len2 || memcmp(img, img2, len) != 0) {
		fprintf(stderr, "state changed on a round trip\n");
		abort();
	}
	free(img2);
	free(img);
	detector_free(again);
	detector_free(d);
	return 0;
}
