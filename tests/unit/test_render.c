/* SPDX-License-Identifier: MIT */
/*
 * Alert ids, the webhook body of DESIGN §6 parsed back field by field, the
 * log receiver's text, store key names and the backoff plan.
 */
#include "core/render.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/backoff.h"
#include "core/keys.h"
#include "core/mention.h"
#include "util/timeutil.h"

/* 2026-11-21T14:00:00Z */
#define T0 1795269600000LL
#define BUCKET 300000LL

static void mk(struct mention *m, const char *id, const char *text,
	       const char *author, int64_t at_ms)
{
	memset(m, 0, sizeof(*m));
	m->id = (char *)id;
	m->text = (char *)text;
	m->lang = (char *)"en";
	m->author = (char *)author;
	m->url = (char *)"https://x.example/1";
	m->created_at_ms = at_ms;
	m->has_created_at = true;
}

static void fill(struct alert *a, const char *status,
		 const struct mention *samples, size_t n)
{
	memset(a, 0, sizeof(*a));
	a->rule = "brand";
	a->status = status;
	a->window_start_ms = T0;
	a->window_end_ms = T0 + BUCKET;
	a->count = 240;
	a->baseline = 31.2;
	a->ratio = 240.0 / 31.2;
	a->score = 12.3456;
	a->samples = samples;
	a->n_samples = n;
	render_alert_id(a);
}

static bool is_hex32(const char *s)
{
	if (strlen(s) != 32) {
		return false;
	}
	for (size_t i = 0; i < 32; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f'))) {
			return false;
		}
	}
	return true;
}

static void test_ids(void)
{
	struct alert a, b;
	char first[33];

	fill(&a, "firing", NULL, 0);
	CHECK(is_hex32(a.id));
	memcpy(first, a.id, sizeof(first));
	fill(&b, "firing", NULL, 0);
	CHECK_STR(b.id, first); /* stable across retries */
	b.count = 999;          /* not part of the identity */
	render_alert_id(&b);
	CHECK_STR(b.id, first);
	fill(&b, "resolved", NULL, 0);
	CHECK(strcmp(b.id, first) != 0);
	fill(&b, "firing", NULL, 0);
	b.window_start_ms += BUCKET;
	render_alert_id(&b);
	CHECK(strcmp(b.id, first) != 0);
	fill(&b, "firing", NULL, 0);
	b.rule = "brand2";
	render_alert_id(&b);
	CHECK(strcmp(b.id, first) != 0);
	/* The separators keep fields apart: "ab"+"1" vs "a"+"b1". */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.rule = "r1";
	a.window_start_ms = 23;
	a.status = "firing";
	b.rule = "r";
	b.window_start_ms = 123;
	b.status = "firing";
	render_alert_id(&a);
	render_alert_id(&b);
	CHECK(strcmp(a.id, b.id) != 0);
	/* Both halves carry information. */
	CHECK(strncmp(a.id, b.id, 16) != 0);
	CHECK(strncmp(a.id + 16, b.id + 16, 16) != 0);
}

static void test_webhook(void)
{
	static const char *const order[] = {
		"version", "id",	 "status",   "rule",  "labels",
		"window_start", "window_end", "count", "baseline", "ratio",
		"score",   "samples", "summary",
	};
	static const char *const sample_keys[] = {"id", "text", "created_at",
						  "author", "url"};
	struct mention ms[2];
	struct alert a;
	char *body;
	size_t len;
	cJSON *root, *it, *s;
	size_t i = 0;

	mk(&ms[0], "111", "I \"love\" blablacar\n", "ann", T0 + 61250);
	mk(&ms[1], "112", "second", "bob", T0 + 60000);
	fill(&a, "firing", ms, 2);
	body = render_webhook(&a, &len);
	CHECK_INT(strlen(body), len);
	root = cJSON_Parse(body);
	CHECK(root != NULL);
	if (root == NULL) {
		free(body);
		return;
	}
	for (it = root->child; it != NULL; it = it->next, i++) {
		CHECK(i < sizeof(order) / sizeof(order[0]));
		if (i < sizeof(order) / sizeof(order[0])) {
			CHECK_STR(it->string, order[i]);
		}
	}
	CHECK_INT(i, sizeof(order) / sizeof(order[0]));
	CHECK_DBL(cJSON_GetObjectItem(root, "version")->valuedouble, 1, 0);
	CHECK_STR(cJSON_GetObjectItem(root, "id")->valuestring, a.id);
	CHECK_STR(cJSON_GetObjectItem(root, "status")->valuestring, "firing");
	CHECK_STR(cJSON_GetObjectItem(root, "rule")->valuestring, "brand");
	CHECK(cJSON_IsObject(cJSON_GetObjectItem(root, "labels")));
	CHECK(cJSON_GetObjectItem(root, "labels")->child == NULL);
	CHECK_STR(cJSON_GetObjectItem(root, "window_start")->valuestring,
		  "2026-11-21T14:00:00Z");
	CHECK_STR(cJSON_GetObjectItem(root, "window_end")->valuestring,
		  "2026-11-21T14:05:00Z");
	CHECK_DBL(cJSON_GetObjectItem(root, "count")->valuedouble, 240, 0);
	CHECK_DBL(cJSON_GetObjectItem(root, "baseline")->valuedouble, 31.2, 0);
	CHECK_DBL(cJSON_GetObjectItem(root, "ratio")->valuedouble, 7.69, 0);
	CHECK_DBL(cJSON_GetObjectItem(root, "score")->valuedouble, 12.35, 0);
	CHECK(strstr(body, "\"count\":240,") != NULL);
	CHECK(strstr(body, "\"ratio\":7.69,") != NULL);
	CHECK_STR(cJSON_GetObjectItem(root, "summary")->valuestring,
		  "brand: 240 mentions in 5m (usual 31.2, 7.7x)");
	s = cJSON_GetObjectItem(root, "samples");
	CHECK_INT(cJSON_GetArraySize(s), 2);
	it = cJSON_GetArrayItem(s, 0);
	i = 0;
	for (cJSON *f = it->child; f != NULL; f = f->next, i++) {
		CHECK(i < 5);
		if (i < 5) {
			CHECK_STR(f->string, sample_keys[i]);
		}
	}
	CHECK_INT(i, 5);
	CHECK_STR(cJSON_GetObjectItem(it, "id")->valuestring, "111");
	CHECK_STR(cJSON_GetObjectItem(it, "text")->valuestring,
		  "I \"love\" blablacar\n");
	CHECK_STR(cJSON_GetObjectItem(it, "created_at")->valuestring,
		  "2026-11-21T14:01:01.250Z");
	CHECK_STR(cJSON_GetObjectItem(it, "author")->valuestring, "ann");
	CHECK_STR(cJSON_GetObjectItem(it, "url")->valuestring,
		  "https://x.example/1");
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(s, 1), "created_at")
			  ->valuestring,
		  "2026-11-21T14:01:00Z");
	cJSON_Delete(root);
	free(body);

	/* Non-finite numbers never make invalid JSON. */
	fill(&a, "resolved", NULL, 0);
	a.baseline = NAN;
	a.ratio = INFINITY;
	a.score = -INFINITY;
	body = render_webhook(&a, NULL);
	root = cJSON_Parse(body);
	CHECK(root != NULL);
	if (root != NULL) {
		CHECK_DBL(cJSON_GetObjectItem(root, "baseline")->valuedouble,
			  0, 0);
		CHECK_DBL(cJSON_GetObjectItem(root, "ratio")->valuedouble, 1e9,
			  0);
		CHECK_DBL(cJSON_GetObjectItem(root, "score")->valuedouble,
			  -1e9, 0);
		CHECK_STR(cJSON_GetObjectItem(root, "status")->valuestring,
			  "resolved");
		CHECK_INT(cJSON_GetArraySize(
				  cJSON_GetObjectItem(root, "samples")),
			  0);
		CHECK_STR(cJSON_GetObjectItem(root, "summary")->valuestring,
			  "brand: back to normal, 240 mentions in 5m (usual "
			  "0.0)");
		cJSON_Delete(root);
	}
	CHECK(strstr(body, "null") == NULL);
	free(body);
}

static void test_text(void)
{
	struct mention ms[4];
	struct alert a;
	char *t;
	char long_text[400];
	const char *line2;

	memset(long_text, 'a', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	mk(&ms[0], "1", "line one\nline two", "ann", T0);
	mk(&ms[1], "2", long_text, "bob", T0);
	mk(&ms[2], "3", "caf\xc3\xa9", "", T0);
	mk(&ms[3], "4", "fourth", "dan", T0);
	fill(&a, "firing", ms, 4);
	t = render_text(&a);
	CHECK(strncmp(t,
		      "ALERT firing rule=brand window=2026-11-21T14:00:00Z/5m "
		      "count=240 baseline=31.2 ratio=7.7 score=12.3\n",
		      strlen("ALERT firing rule=brand window=2026-11-21T14:00:"
			     "00Z/5m count=240 baseline=31.2 ratio=7.7 "
			     "score=12.3\n")) == 0);
	CHECK(strstr(t, "\n  - @ann: line one line two\n") != NULL);
	line2 = strstr(t, "\n  - @bob: ");
	CHECK(line2 != NULL);
	if (line2 != NULL) {
		/* 120 characters then an ellipsis. */
		CHECK(strncmp(line2 + strlen("\n  - @bob: ") + 120, "...\n",
			      4) == 0);
	}
	CHECK(strstr(t, "\n  - caf\xc3\xa9") != NULL);
	CHECK(strstr(t, "fourth") == NULL); /* at most 3 samples */
	free(t);

	fill(&a, "resolved", NULL, 0);
	t = render_text(&a);
	CHECK(strncmp(t, "ALERT resolved rule=brand", 25) == 0);
	CHECK(strchr(t, '\n') == NULL);
	free(t);
}

static void test_keys(void)
{
	char *k;

	k = keys_count("hark:", "brand", 1700000100000LL);
	CHECK_STR(k, "hark:{brand}:v1:count:1700000100");
	free(k);
	k = keys_count("", "r", -1);
	CHECK_STR(k, "{r}:v1:count:-1");
	free(k);
	k = keys_state("hark:", "brand");
	CHECK_STR(k, "hark:{brand}:v1:state");
	free(k);
}

static void test_backoff(void)
{
	/* Exponential, capped, and always within [50%, 100%] of the step. */
	static const struct {
		unsigned attempt;
		int64_t lo, hi;
	} cases[] = {
		{1, 500, 1000},	   {2, 1000, 2000},	{3, 2000, 4000},
		{4, 4000, 8000},   {7, 30000, 60000},	{40, 30000, 60000},
		{1000, 30000, 60000}, {0, 500, 1000},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t rnds[] = {0, 1, 0x7fffffffu, 0x80000000u,
				   0xfffffffeu, 0xffffffffu};

		for (size_t j = 0; j < sizeof(rnds) / sizeof(rnds[0]); j++) {
			int64_t d = backoff_delay_ms(cases[i].attempt, 1000,
						     60000, rnds[j]);

			CHECK(d >= cases[i].lo && d <= cases[i].hi);
		}
		CHECK_INT(backoff_delay_ms(cases[i].attempt, 1000, 60000, 0),
			  cases[i].lo);
		CHECK_INT(backoff_delay_ms(cases[i].attempt, 1000, 60000,
					   0xffffffffu),
			  cases[i].hi);
	}
	/* Jitter spreads: different rnd, different delays. */
	CHECK(backoff_delay_ms(3, 1000, 60000, 0x40000000u) !=
	      backoff_delay_ms(3, 1000, 60000, 0xc0000000u));
	/* Degenerate inputs stay sane. */
	CHECK(backoff_delay_ms(5, 0, 0, 123) >= 0);
	CHECK(backoff_delay_ms(5, 0, 0, 123) <= 1);
	CHECK(backoff_delay_ms(70, INT64_MAX / 2, INT64_MAX, 0xffffffffu) >=
	      INT64_MAX - INT64_MAX / 1000);
	CHECK(backoff_delay_ms(70, INT64_MAX / 2, INT64_MAX, 0) >=
	      INT64_MAX / 2);
}

int main(void)
{
	test_ids();
	test_webhook();
	test_text();
	test_keys();
	test_backoff();
	return check_done();
}
