/* SPDX-License-Identifier: MIT */
/*
 * Silences: parse errors (each message a user can see), matching by rule
 * and by label, pending/active/expired, expiry, pruning, the JSON round
 * trip.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/silence.h"
#include "util/timeutil.h"

#define NOW 1763900000000LL /* 2025-11-23T12:13:20Z */
#define HOUR 3600000LL

static int parse(struct silence *s, const char *json, char *err)
{
	return silence_parse(s, json, strlen(json), "s1", NOW, err, 256);
}

static void test_parse_errors(void)
{
	static const struct {
		const char *json;
		const char *msg;
	} cases[] = {
		{"[]", "expected a JSON object"},
		{"{", "expected a JSON object"},
		{"{\"comment\":\"x\",\"duration\":\"1h\"}",
		 "needs \"rule\" or at least one matcher"},
		{"{\"rule\":\"brand\",\"duration\":\"1h\"}",
		 "comment: required"},
		{"{\"rule\":\"brand\",\"comment\":\"x\"}",
		 "ends_at or duration is required"},
		{"{\"rule\":\"brand\",\"comment\":\"x\",\"duration\":\"60\"}",
		 "duration: a duration needs a unit"},
		{"{\"rule\":\"brand\",\"comment\":\"x\",\"ends_at\":\"soon\"}",
		 "ends_at: expected an RFC 3339 time"},
		{"{\"rule\":\"brand\",\"comment\":\"x\",\"ends_at\":"
		 "\"2020-01-01T00:00:00Z\"}",
		 "must end in the future"},
		{"{\"rule\":\"brand\",\"comment\":\"x\",\"duration\":\"1h\","
		 "\"ends_at\":\"2030-01-01T00:00:00Z\"}",
		 "not both"},
		{"{\"matchers\":{},\"comment\":\"x\",\"duration\":\"1h\"}",
		 "matchers: expected a list"},
		{"{\"matchers\":[{\"name\":\"team\"}],\"comment\":\"x\","
		 "\"duration\":\"1h\"}",
		 "matchers[0]: expected"},
		{"{\"matchers\":[{\"name\":\"team\",\"value\":\"a.*\","
		 "\"isRegex\":true}],\"comment\":\"x\",\"duration\":\"1h\"}",
		 "regular expressions are not supported"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct silence s;
		char err[256] = "";
		int rc = parse(&s, cases[i].json, err);

		CHECK_INT(rc, -1);
		if (strstr(err, cases[i].msg) == NULL) {
			fprintf(stderr, "case %zu: \"%s\" lacks \"%s\"\n", i,
				err, cases[i].msg);
			CHECK(0);
		}
	}
}

static void test_match_and_expire(void)
{
	struct silences set;
	struct silence s;
	char err[256];
	struct silence_label team_a[] = {{"team", "community"},
					 {"severity", "page"}};
	struct silence_label team_b[] = {{"team", "ops"}};

	silences_init(&set);
	CHECK_INT(parse(&s,
			"{\"rule\":\"brand\",\"comment\":\"known outage\","
			"\"duration\":\"2h\",\"created_by\":\"ana\"}",
			err),
		  0);
	CHECK_STR(s.id, "s1");
	CHECK_INT(s.ends_at_ms - s.starts_at_ms, 2 * HOUR);
	CHECK_INT(silences_add(&set, &s, NOW), 0);
	CHECK(silences_match(&set, "brand", NULL, 0, NOW) != NULL);
	CHECK(silences_match(&set, "other", NULL, 0, NOW) == NULL);
	CHECK(silences_match(&set, "brand", NULL, 0, NOW + 2 * HOUR) == NULL);

	CHECK_INT(silence_parse(&s,
				"{\"matchers\":[{\"name\":\"team\",\"value\":"
				"\"community\"},{\"name\":\"alertname\","
				"\"value\":\"app\"}],\"comment\":\"c\","
				"\"starts_at\":\"2025-11-23T13:00:00Z\","
				"\"ends_at\":\"2025-11-23T15:00:00Z\"}",
				strlen("{\"matchers\":[{\"name\":\"team\","
				       "\"value\":\"community\"},{\"name\":"
				       "\"alertname\",\"value\":\"app\"}],"
				       "\"comment\":\"c\",\"starts_at\":"
				       "\"2025-11-23T13:00:00Z\",\"ends_at\":"
				       "\"2025-11-23T15:00:00Z\"}"),
				"s2", NOW, err, sizeof(err)),
		  0);
	CHECK_INT(silences_add(&set, &s, NOW), 0);
	/* pending before 13:00, then active for team=community only */
	CHECK(silences_match(&set, "app", team_a, 2, NOW) == NULL);
	CHECK_STR(silence_state(&set.v[1], NOW), "pending");
	CHECK(silences_match(&set, "app", team_a, 2, NOW + HOUR) != NULL);
	CHECK(silences_match(&set, "app", team_b, 1, NOW + HOUR) == NULL);
	CHECK(silences_match(&set, "app", NULL, 0, NOW + HOUR) == NULL);
	CHECK(silences_match(&set, "brand", team_a, 2, NOW + HOUR) != NULL);

	CHECK_INT(silences_expire(&set, "s1", NOW + 60000), 0);
	CHECK_INT(silences_expire(&set, "nope", NOW), -1);
	CHECK(silences_match(&set, "brand", NULL, 0, NOW + 60000) == NULL);
	CHECK_STR(silence_state(&set.v[0], NOW + 60000), "expired");

	/* Expired for over a week: forgotten at the next add. */
	CHECK_INT(parse(&s,
			"{\"rule\":\"x\",\"comment\":\"c\","
			"\"duration\":\"30d\"}",
			err),
		  0);
	CHECK_INT(silences_add(&set, &s, NOW + 8 * 24 * HOUR), 0);
	CHECK_INT(set.n, 1);
	CHECK_STR(set.v[0].matchers[0].value, "x");
	silences_fini(&set);
}

static void test_round_trip(void)
{
	struct silences set, back;
	struct silence s;
	char err[256];
	char *a, *b;

	silences_init(&set);
	silences_init(&back);
	CHECK_INT(
		parse(&s,
		      "{\"matchers\":[{\"name\":\"rule\",\"value\":"
		      "\"brand\"},{\"name\":\"team\",\"value\":\"é\\\"q\"}],"
		      "\"comment\":\"quotes \\\" and é\",\"duration\":\"90m\"}",
		      err),
		0);
	CHECK_INT(silences_add(&set, &s, NOW), 0);
	a = silences_encode(&set, NOW);
	CHECK_INT(silences_decode(&back, a, strlen(a)), 0);
	b = silences_encode(&back, NOW);
	CHECK_STR(a, b);
	CHECK(strstr(a, "\"state\":\"active\"") != NULL);
	CHECK_INT(silences_decode(&back, "{\"silences\":[{\"id\":1}]}", 23),
		  -1);
	CHECK_INT(back.n, 1); /* unchanged by the failed decode */
	CHECK_INT(silences_decode(&back, "nope", 4), -1);
	free(a);
	free(b);
	silences_fini(&set);
	silences_fini(&back);
}

int main(void)
{
	test_parse_errors();
	test_match_and_expire();
	test_round_trip();
	return check_done();
}
