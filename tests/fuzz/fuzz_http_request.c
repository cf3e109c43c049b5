/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: what the API parses itself once evhttp has read a request
 * (lib/io/api.c leaves the request line, headers and query string to
 * libevent): a POST /v1/silences body (silence_parse, then the set's JSON
 * round trip the store keeps), the stored silence set (silences_decode),
 * the `since` value of GET /v1/alerts, and a POST /v1/mentions body cut
 * into NDJSON lines, each parsed as a mention.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mention.h"
#include "core/ndjson.h"
#include "core/silence.h"
#include "fuzz.h"
#include "util/timeutil.h"

/* 2025-11-23T14:00:00Z */
#define NOW_MS 1763906400000LL

static void silence_body(const char *body, size_t len)
{
	struct silences set;
	struct silence s;
	struct silence_label label = {"team", "community"};
	char err[256];
	char *one, *all, *again;

	if (silence_parse(&s, body, len, "0123456789abcdef0123456789abcdef",
			  NOW_MS, err, sizeof(err)) < 0) {
		FUZZ_REQUIRE(err[0] != '\0');
		return;
	}
	FUZZ_REQUIRE(s.n_matchers >= 1 && s.comment != NULL);
	silences_init(&set);
	one = silence_encode(&s, NOW_MS);
	free(one);
	if (silences_add(&set, &s, NOW_MS) < 0) {
		silence_fini(&s);
	}
	(void)silences_match(&set, "brand", &label, 1, NOW_MS);
	/* What the store keeps must load again, unchanged. */
	all = silences_encode(&set, NOW_MS);
	silences_fini(&set);
	silences_init(&set);
	if (silences_decode(&set, all, strlen(all)) < 0) {
		fprintf(stderr, "encoded silences do not decode:\n%s\n", all);
		abort();
	}
	again = silences_encode(&set, NOW_MS);
	if (strcmp(all, again) != 0) {
		fprintf(stderr, "silences changed on a round trip:\n%s\n%s\n",
			all, again);
		abort();
	}
	free(again);
	free(all);
	silences_fini(&set);
}

static void silence_store(const char *text, size_t len)
{
	struct silences set;
	char *all;

	silences_init(&set);
	if (silences_decode(&set, text, len) == 0) {
		all = silences_encode(&set, NOW_MS);
		free(all);
		if (silences_expire(&set, "0123456789abcdef0123456789abcdef",
				    NOW_MS) == 0) {
			FUZZ_REQUIRE(set.n > 0);
		}
	}
	silences_fini(&set);
}

static void since_param(const char *s)
{
	int64_t ms;
	const char *why;

	if (strlen(s) > 64) {
		return;
	}
	if (timeutil_parse_rfc3339(s, strlen(s), &ms) == 0) {
		char back[32];

		timeutil_format_rfc3339_ms(ms, back);
	}
	if (timeutil_parse_duration(s, &ms, &why) == 0) {
		FUZZ_REQUIRE(ms >= 0);
	}
}

static void on_line(void *arg, const char *line, size_t len)
{
	struct mention m;
	char err[256];

	(*(size_t *)arg)++;
	if (mention_parse(&m, line, len, err, sizeof(err)) == 0) {
		mention_fini(&m);
	}
}

/* Fed in uneven chunks, as a streamed body arrives. */
static void mentions_body(const char *body, size_t len)
{
	struct ndjson nd;
	size_t lines = 0, off = 0, chunk = 1;

	ndjson_init(&nd, 4096);
	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk;

		ndjson_feed(&nd, body + off, n, on_line, &lines);
		off += n;
		chunk = chunk * 3 + 1;
	}
	FUZZ_REQUIRE(lines == nd.lines);
	FUZZ_REQUIRE(ndjson_pending(&nd) <= 4096);
	ndjson_reset(&nd);
	ndjson_fini(&nd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct fields f;

	silence_body(body, size);
	silence_store(body, size);
	mentions_body(body, size);
	fields_init(&f, data, size);
	since_param(f.copy);
	fields_fini(&f);
	return 0;
}
