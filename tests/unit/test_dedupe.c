/* SPDX-License-Identifier: MIT */
/* Recent-id set: scripted cases, then a long random run checked against a
 * plain FIFO model (small capacities force eviction and probe chains). */
#include "core/dedupe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static enum dedupe_result chk(struct dedupe *d, const char *id)
{
	return dedupe_check(d, NULL, id, strlen(id));
}

static void test_script(void)
{
	static const struct {
		const char *id;
		enum dedupe_result want;
	} steps[] = {
		{"a", DEDUPE_NEW},
		{"b", DEDUPE_NEW},
		{"a", DEDUPE_DUPLICATE},
		{"", DEDUPE_NO_ID},
		{"", DEDUPE_NO_ID},
		{"c", DEDUPE_NEW},
		/* capacity 3: "d" evicts "a", the oldest */
		{"d", DEDUPE_NEW},
		{"a", DEDUPE_NEW},
		/* "a" came back and evicted "b" */
		{"c", DEDUPE_DUPLICATE},
		{"b", DEDUPE_NEW},
		{"d", DEDUPE_DUPLICATE},
	};
	struct dedupe *d = dedupe_new(3);

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		enum dedupe_result r = chk(d, steps[i].id);

		if (r != steps[i].want) {
			fprintf(stderr, "step %zu (%s)\n", i, steps[i].id);
		}
		CHECK_INT(r, steps[i].want);
	}
	CHECK_INT(dedupe_size(d), 3);
	CHECK_INT(dedupe_evicted(d), 3);
	/* ids are bytes, not C strings */
	CHECK_INT(dedupe_check(d, NULL, "x\0y", 3), DEDUPE_NEW);
	CHECK_INT(dedupe_check(d, NULL, "x\0z", 3), DEDUPE_NEW);
	CHECK_INT(dedupe_check(d, NULL, "x\0y", 3), DEDUPE_DUPLICATE);
	CHECK(!dedupe_contains(d, NULL, "x", 1));
	dedupe_free(d);
	dedupe_free(NULL);
}

/* Ids are per scope: a tweet 3 and a Mastodon status 3 both count; NULL
 * and "" are one scope; the scope's end is not confused with the id's. */
static void test_scopes(void)
{
	struct dedupe *d = dedupe_new(8);

	CHECK_INT(dedupe_check(d, "x", "3", 1), DEDUPE_NEW);
	CHECK_INT(dedupe_check(d, "mastodon", "3", 1), DEDUPE_NEW);
	CHECK_INT(dedupe_check(d, "x", "3", 1), DEDUPE_DUPLICATE);
	CHECK_INT(dedupe_check(d, "mastodon", "3", 1), DEDUPE_DUPLICATE);
	CHECK_INT(dedupe_check(d, NULL, "3", 1), DEDUPE_NEW);
	CHECK_INT(dedupe_check(d, "", "3", 1), DEDUPE_DUPLICATE);
	CHECK_INT(dedupe_check(d, "ab", "c", 1), DEDUPE_NEW);
	CHECK_INT(dedupe_check(d, "a", "bc", 2), DEDUPE_NEW);
	CHECK_INT(dedupe_check(d, "a", "b", 1), DEDUPE_NEW);
	CHECK(dedupe_contains(d, "x", "3", 1));
	CHECK(!dedupe_contains(d, "y", "3", 1));
	CHECK_INT(dedupe_check(d, "x", "", 0), DEDUPE_NO_ID);
	CHECK_INT(dedupe_size(d), 6);
	dedupe_free(d);
}

static void test_against_model(size_t cap, size_t universe, size_t steps)
{
	struct dedupe *d = dedupe_new(cap);
	unsigned *fifo = calloc(cap, sizeof(*fifo));
	size_t head = 0, n = 0;
	unsigned long long seed = 88172645463325252ULL + cap;
	size_t bad = 0;

	for (size_t s = 0; s < steps; s++) {
		unsigned v;
		char id[32];
		bool in_model = false;
		enum dedupe_result r;

		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		v = (unsigned)(seed % universe);
		snprintf(id, sizeof(id), "id-%u", v);
		for (size_t i = 0; i < n; i++) {
			if (fifo[(head + i) % cap] == v) {
				in_model = true;
			}
		}
		r = chk(d, id);
		if (r != (in_model ? DEDUPE_DUPLICATE : DEDUPE_NEW)) {
			bad++;
		}
		if (!in_model) {
			if (n == cap) {
				head = (head + 1) % cap;
				n--;
			}
			fifo[(head + n) % cap] = v;
			n++;
		}
	}
	CHECK_INT(bad, 0);
	CHECK_INT(dedupe_size(d), n);
	for (size_t i = 0; i < n; i++) {
		char id[32];

		snprintf(id, sizeof(id), "id-%u", fifo[(head + i) % cap]);
		if (!dedupe_contains(d, NULL, id, strlen(id))) {
			bad++;
		}
	}
	CHECK_INT(bad, 0);
	free(fifo);
	dedupe_free(d);
}

static void test_large(void)
{
	struct dedupe *d = dedupe_new(DEDUPE_DEFAULT_CAPACITY);
	char id[32];
	size_t dup = 0;

	for (unsigned i = 0; i < 250000; i++) {
		snprintf(id, sizeof(id), "%u", i);
		dup += chk(d, id) == DEDUPE_DUPLICATE;
	}
	CHECK_INT(dup, 0);
	CHECK_INT(dedupe_size(d), DEDUPE_DEFAULT_CAPACITY);
	CHECK_INT(dedupe_evicted(d), 150000);
	CHECK_INT(chk(d, "249999"), DEDUPE_DUPLICATE);
	CHECK_INT(chk(d, "150000"), DEDUPE_DUPLICATE);
	CHECK_INT(chk(d, "149999"), DEDUPE_NEW);
	dedupe_free(d);
}

int main(void)
{
	test_script();
	test_scopes();
	test_against_model(1, 3, 200);
	test_against_model(5, 12, 5000);
	test_against_model(64, 150, 20000);
	test_against_model(1000, 1500, 20000);
	test_large();
	return check_done();
}
