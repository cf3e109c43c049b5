/* SPDX-License-Identifier: MIT */
/*
 * Alert ids, the webhook body of DESIGN §6 parsed back field by field and
 * validated against docs/webhook-v1.schema.json, the log receiver's text,
 * Slack/Teams/Discord bodies against their documented limits,
 * Alertmanager bodies, templates, e-mail texts, store key names and the
 * backoff plan.
 */
#include "core/render.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
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

/* An escalation is a notification of its own: its own id, stable across
 * retries, distinct from a plain firing of the same window and from its
 * repeats; a span changes nothing in the id. */
static void test_escalation_ids(void)
{
	struct alert a, b;
	char plain[33], esc[33];

	fill(&a, "firing", NULL, 0);
	memcpy(plain, a.id, sizeof(plain));
	a.span_ms = 12 * BUCKET;
	a.span_count = 900;
	a.span_baseline = 300;
	render_alert_id(&a);
	CHECK_STR(a.id, plain);
	a.escalation = true;
	render_alert_id(&a);
	CHECK(is_hex32(a.id));
	CHECK(strcmp(a.id, plain) != 0);
	memcpy(esc, a.id, sizeof(esc));
	fill(&b, "firing", NULL, 0);
	b.escalation = true;
	render_alert_id(&b);
	CHECK_STR(b.id, esc); /* stable across retries */
	b.repeat = 1;
	render_alert_id(&b);
	CHECK(strcmp(b.id, esc) != 0);
	CHECK(strcmp(b.id, plain) != 0);
	fill(&b, "firing", NULL, 0);
	b.repeat = 1;
	render_alert_id(&b);
	CHECK(strcmp(b.id, esc) != 0);
}

static cJSON *webhook_json(const struct alert *a)
{
	char *body = render_webhook(a, NULL);
	cJSON *root = cJSON_Parse(body);

	CHECK(root != NULL);
	free(body);
	return root;
}

static const char *summary_of(const cJSON *root)
{
	const cJSON *s = cJSON_GetObjectItem(root, "summary");

	return cJSON_IsString(s) ? s->valuestring : "";
}

/* "escalation" only when true and firing; "span" only when the score is
 * of more than the window; the summary speaks of the span. */
static void test_webhook_span(const struct mention *ms)
{
	struct alert a;
	cJSON *root, *span;
	char *body;

	fill(&a, "firing", ms, 2);
	root = webhook_json(&a);
	CHECK(!cJSON_HasObjectItem(root, "escalation"));
	CHECK(!cJSON_HasObjectItem(root, "span"));
	cJSON_Delete(root);

	/* A span of one bucket is the window: not shown. */
	a.span_ms = BUCKET;
	a.span_count = 240;
	a.span_baseline = 31.2;
	root = webhook_json(&a);
	CHECK(!cJSON_HasObjectItem(root, "span"));
	CHECK_STR(summary_of(root),
		  "brand: 240 mentions in 5m (usual 31.2, 7.7x)");
	cJSON_Delete(root);

	/* The last hour. */
	a.span_ms = 12 * BUCKET;
	a.span_count = 240;
	a.span_baseline = 80;
	root = webhook_json(&a);
	span = cJSON_GetObjectItem(root, "span");
	CHECK(cJSON_IsObject(span));
	if (span != NULL) {
		CHECK_DBL(cJSON_GetObjectItem(span, "minutes")->valuedouble, 60,
			  0);
		CHECK_DBL(cJSON_GetObjectItem(span, "count")->valuedouble, 240,
			  0);
		CHECK_DBL(cJSON_GetObjectItem(span, "baseline")->valuedouble,
			  80, 0);
	}
	CHECK_STR(summary_of(root),
		  "brand: 240 mentions in 1h (usual 80.0, 3.0x)");
	CHECK(!cJSON_HasObjectItem(root, "escalation"));
	/* The window's own figures stay. */
	CHECK_DBL(cJSON_GetObjectItem(root, "count")->valuedouble, 240, 0);
	CHECK_DBL(cJSON_GetObjectItem(root, "baseline")->valuedouble, 31.2, 0);
	cJSON_Delete(root);
	body = render_webhook(&a, NULL);
	CHECK(strstr(body,
		     "\"score\":12.35,\"span\":{\"minutes\":60,"
		     "\"count\":240,\"baseline\":80},\"samples\":") != NULL);
	free(body);

	/* An escalation: flagged, "bigger: " in the summary. */
	a.escalation = true;
	render_alert_id(&a);
	root = webhook_json(&a);
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(root, "escalation")));
	CHECK_STR(summary_of(root),
		  "bigger: brand: 240 mentions in 1h (usual 80.0, 3.0x)");
	CHECK_STR(cJSON_GetObjectItem(root, "id")->valuestring, a.id);
	cJSON_Delete(root);
	a.span_ms = 0;
	root = webhook_json(&a);
	CHECK_STR(summary_of(root),
		  "bigger: brand: 240 mentions in 5m (usual 31.2, 7.7x)");
	CHECK(!cJSON_HasObjectItem(root, "span"));
	cJSON_Delete(root);

	/* A resolve has neither, whatever the fields say. */
	a.status = "resolved";
	a.span_ms = 12 * BUCKET;
	render_alert_id(&a);
	root = webhook_json(&a);
	CHECK(!cJSON_HasObjectItem(root, "escalation"));
	CHECK(!cJSON_HasObjectItem(root, "span"));
	CHECK_STR(summary_of(root),
		  "brand: back to normal, 240 mentions in 5m (usual 31.2)");
	cJSON_Delete(root);
}

static void test_webhook(void)
{
	static const char *const order[] = {
		"version",      "id",         "status",  "rule",     "labels",
		"window_start", "window_end", "count",   "baseline", "ratio",
		"score",        "samples",    "summary",
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
	CHECK(cJSON_GetObjectItem(root, "record") == NULL);
	cJSON_Delete(root);
	free(body);

	/* A spike's record follows the score; never on a resolve. */
	a.record = 96;
	a.record_days = 21;
	body = render_webhook(&a, NULL);
	CHECK(strstr(body, "\"score\":12.35,\"record\":{\"count\":96,"
			   "\"days\":21},\"samples\":") != NULL);
	free(body);
	a.status = "resolved";
	render_alert_id(&a);
	body = render_webhook(&a, NULL);
	CHECK(strstr(body, "\"record\"") == NULL);
	free(body);
	test_webhook_span(ms);

	/* Non-finite numbers never make invalid JSON. */
	fill(&a, "resolved", NULL, 0);
	a.baseline = NAN;
	a.ratio = INFINITY;
	a.score = -INFINITY;
	body = render_webhook(&a, NULL);
	root = cJSON_Parse(body);
	CHECK(root != NULL);
	if (root != NULL) {
		CHECK_DBL(cJSON_GetObjectItem(root, "baseline")->valuedouble, 0,
			  0);
		CHECK_DBL(cJSON_GetObjectItem(root, "ratio")->valuedouble, 1e9,
			  0);
		CHECK_DBL(cJSON_GetObjectItem(root, "score")->valuedouble, -1e9,
			  0);
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

/* Six emerging terms: the summary names 3, the bodies' "About" line 5. */
static const struct render_emerging rising[] = {
	{"panne", 30, 0.004, 60},
	{"appli", 12, 1.234, 9.724},
	{"r\xc3\xa9server", 5, 0, 10},
	{"quatre", 4, 0, 8},
	{"cinq", 3, 0, 6},
	{"six", 3, 0, 6},
};
#define ABOUT3 "panne, appli, r\xc3\xa9server"
#define ABOUT5 ABOUT3 ", quatre, cinq"

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
	CHECK(strstr(t, "span=") == NULL);
	CHECK(strstr(t, "escalation") == NULL);
	free(t);

	fill(&a, "firing", NULL, 0);
	a.span_ms = 12 * BUCKET;
	a.span_count = 700;
	a.span_baseline = 200;
	a.escalation = true;
	t = render_text(&a);
	CHECK_STR(t, "ALERT firing rule=brand window=2026-11-21T14:00:00Z/5m "
		     "count=240 baseline=31.2 ratio=7.7 score=12.3 span=1h "
		     "span_count=700 span_baseline=200.0 escalation=true");
	free(t);

	/* the log line says what it is about: the first five */
	fill(&a, "firing", NULL, 0);
	a.emerging = rising;
	a.n_emerging = 6;
	t = render_text(&a);
	CHECK(strstr(t, " score=12.3 about=panne,appli,r\xc3\xa9server,quatre,"
			"cinq") != NULL);
	CHECK(strstr(t, "six") == NULL);
	free(t);
	a.status = "resolved";
	t = render_text(&a);
	CHECK(strstr(t, "about=") == NULL);
	free(t);
}

static void test_keys(void)
{
	char *k;

	k = keys_count("hark:", "brand", 1700000100000LL);
	CHECK_STR(k, "hark:{brand}:v2:count:1700000100");
	free(k);
	k = keys_count_v1("hark:", "brand", 1700000100999LL);
	CHECK_STR(k, "hark:{brand}:v1:count:1700000100");
	free(k);
	k = keys_count("", "r", -1);
	CHECK_STR(k, "{r}:v2:count:-1");
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
		{1, 500, 1000},       {2, 1000, 2000},   {3, 2000, 4000},
		{4, 4000, 8000},      {7, 30000, 60000}, {40, 30000, 60000},
		{1000, 30000, 60000}, {0, 500, 1000},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t rnds[] = {0,           1,           0x7fffffffu,
				   0x80000000u, 0xfffffffeu, 0xffffffffu};

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

/* ---- a small JSON Schema checker: type, required, properties, items,
 * enum, const, minimum, additionalProperties and local $ref ---- */

static const cJSON *resolve_ref(const cJSON *schema, const cJSON *root)
{
	const cJSON *ref = cJSON_GetObjectItem(schema, "$ref");
	const char *name;

	if (!cJSON_IsString(ref)) {
		return schema;
	}
	name = strrchr(ref->valuestring, '/');
	return cJSON_GetObjectItem(cJSON_GetObjectItem(root, "$defs"),
				   name != NULL ? name + 1 : "");
}

static bool type_ok(const cJSON *v, const char *type)
{
	if (strcmp(type, "object") == 0) {
		return cJSON_IsObject(v);
	}
	if (strcmp(type, "array") == 0) {
		return cJSON_IsArray(v);
	}
	if (strcmp(type, "string") == 0) {
		return cJSON_IsString(v);
	}
	if (strcmp(type, "number") == 0) {
		return cJSON_IsNumber(v);
	}
	if (strcmp(type, "integer") == 0) {
		return cJSON_IsNumber(v) &&
		       v->valuedouble == (double)(int64_t)v->valuedouble;
	}
	if (strcmp(type, "boolean") == 0) {
		return cJSON_IsBool(v);
	}
	return false;
}

/* Returns the number of violations, printing each with its path. */
static int validate(const cJSON *v, const cJSON *schema, const cJSON *root,
		    const char *path)
{
	const cJSON *t, *req, *props, *items, *en, *c, *min, *addl;
	int bad = 0;
	char sub[256];

	schema = resolve_ref(schema, root);
	if (schema == NULL) {
		fprintf(stderr, "schema: %s: dangling $ref\n", path);
		return 1;
	}
	t = cJSON_GetObjectItem(schema, "type");
	if (cJSON_IsString(t) && !type_ok(v, t->valuestring)) {
		fprintf(stderr, "schema: %s: not %s\n", path, t->valuestring);
		return 1;
	}
	en = cJSON_GetObjectItem(schema, "enum");
	if (cJSON_IsArray(en)) {
		bool found = false;

		cJSON_ArrayForEach (c, en) {
			found = found || cJSON_Compare(c, v, true);
		}
		if (!found) {
			fprintf(stderr, "schema: %s: not in enum\n", path);
			bad++;
		}
	}
	c = cJSON_GetObjectItem(schema, "const");
	if (c != NULL && !cJSON_Compare(c, v, true)) {
		fprintf(stderr, "schema: %s: not the const\n", path);
		bad++;
	}
	min = cJSON_GetObjectItem(schema, "minimum");
	if (cJSON_IsNumber(min) && cJSON_IsNumber(v) &&
	    v->valuedouble < min->valuedouble) {
		fprintf(stderr, "schema: %s: below minimum\n", path);
		bad++;
	}
	req = cJSON_GetObjectItem(schema, "required");
	cJSON_ArrayForEach (c, req) {
		if (!cJSON_HasObjectItem(v, c->valuestring)) {
			fprintf(stderr, "schema: %s: missing %s\n", path,
				c->valuestring);
			bad++;
		}
	}
	props = cJSON_GetObjectItem(schema, "properties");
	addl = cJSON_GetObjectItem(schema, "additionalProperties");
	if (cJSON_IsObject(v)) {
		cJSON_ArrayForEach (c, v) {
			const cJSON *ps = cJSON_GetObjectItem(props, c->string);

			snprintf(sub, sizeof(sub), "%s.%s", path, c->string);
			if (ps != NULL) {
				bad += validate(c, ps, root, sub);
			} else if (cJSON_IsObject(addl)) {
				bad += validate(c, addl, root, sub);
			}
		}
	}
	items = cJSON_GetObjectItem(schema, "items");
	if (cJSON_IsArray(v) && items != NULL) {
		int i = 0;

		cJSON_ArrayForEach (c, v) {
			snprintf(sub, sizeof(sub), "%s[%d]", path, i++);
			bad += validate(c, items, root, sub);
		}
	}
	return bad;
}

static cJSON *load_schema(void)
{
	const char *root = getenv("HARK_SOURCE_ROOT");
	char path[4096];
	char *text;
	FILE *f;
	long n;
	cJSON *j;

	snprintf(path, sizeof(path), "%s/docs/webhook-v1.schema.json",
		 root != NULL ? root : ".");
	f = fopen(path, "rb");
	if (f == NULL) {
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = malloc((size_t)n + 1);
	if (fread(text, 1, (size_t)n, f) != (size_t)n) {
		n = 0;
	}
	text[n] = '\0';
	fclose(f);
	j = cJSON_Parse(text);
	free(text);
	return j;
}

static const struct render_label labels[] = {
	{"severity", "warning"},
	{"team", "community"},
};
static const struct render_top terms[] = {{"blablacar", 200}, {"bla", 9}};
static const struct render_top authors[] = {{"ann", 12}};
static const struct render_top langs[] = {{"fr", 150}, {"en", 90}};

static void fill_full(struct alert *a, const char *status,
		      const struct mention *samples, size_t n)
{
	fill(a, status, samples, n);
	a->labels = labels;
	a->n_labels = 2;
	a->external_url =
		"https://dash.example/r/{{rule}}?from={{window_start}}";
	a->top_terms = terms;
	a->n_top_terms = 2;
	a->top_authors = authors;
	a->n_top_authors = 1;
	a->top_langs = langs;
	a->n_top_langs = 2;
}

static void test_schema(void)
{
	cJSON *schema = load_schema();
	struct mention ms[2];
	struct alert a;
	cJSON *root;
	char *body;

	CHECK(schema != NULL);
	if (schema == NULL) {
		return;
	}
	mk(&ms[0], "1", "one", "ann", T0);
	mk(&ms[1], "2", "two", "", T0);
	ms[1].has_created_at = false;
	ms[1].created_at_ms = 0;
	/* The bare body and the one with every optional field. */
	for (int full = 0; full < 2; full++) {
		if (full) {
			fill_full(&a, "firing", ms, 2);
			a.record = 96;
			a.record_days = 60;
			a.escalation = true;
			a.span_ms = 12 * BUCKET;
			a.span_count = 900;
			a.span_baseline = 310.4;
			render_alert_id(&a);
		} else {
			fill(&a, "resolved", ms, 2);
		}
		body = render_webhook(&a, NULL);
		root = cJSON_Parse(body);
		CHECK(root != NULL);
		CHECK_INT(validate(root, schema, schema, "$"), 0);
		if (full) {
			CHECK_STR(cJSON_GetObjectItem(
					  cJSON_GetObjectItem(root, "labels"),
					  "severity")
					  ->valuestring,
				  "warning");
			CHECK_STR(cJSON_GetObjectItem(root, "url")->valuestring,
				  "https://dash.example/r/brand?from=2026-11-"
				  "21T14%3A00%3A00Z");
			CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(
					  root, "top_languages")),
				  2);
			CHECK(cJSON_HasObjectItem(root, "span"));
			CHECK(cJSON_HasObjectItem(root, "escalation"));
		} else {
			CHECK(!cJSON_HasObjectItem(root, "url"));
			CHECK(!cJSON_HasObjectItem(root, "top_terms"));
		}
		/* The checker does fail: a missing field, a wrong type, a
		 * bad status, a bad label value. */
		cJSON_DeleteItemFromObject(root, "count");
		CHECK(validate(root, schema, schema, "$") > 0);
		cJSON_AddStringToObject(root, "count", "240");
		CHECK(validate(root, schema, schema, "$") > 0);
		cJSON_DeleteItemFromObject(root, "count");
		cJSON_AddNumberToObject(root, "count", 240);
		CHECK_INT(validate(root, schema, schema, "$"), 0);
		cJSON_ReplaceItemInObject(root, "status",
					  cJSON_CreateString("pending"));
		CHECK(validate(root, schema, schema, "$") > 0);
		cJSON_ReplaceItemInObject(root, "status",
					  cJSON_CreateString("firing"));
		cJSON_AddNumberToObject(cJSON_GetObjectItem(root, "labels"),
					"n", 1);
		CHECK(validate(root, schema, schema, "$") > 0);
		cJSON_Delete(root);
		free(body);
	}
	cJSON_Delete(schema);
}

/* UTF-16 code units, as the chat services count characters. */
static size_t units(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c & 0xc0) != 0x80) {
			n += c >= 0xf0 ? 2 : 1;
		}
	}
	return n;
}

static char *big_text(size_t n)
{
	char *t = malloc(n * 4 + 1);
	size_t i = 0;

	/* Markdown, an emoji (2 units) and a mention, over and over. */
	while (i + 8 < n * 4) {
		memcpy(t + i, "*@x<\xf0\x9f\x98\x80", 8);
		i += 8;
	}
	t[i] = '\0';
	return t;
}

/* The chat text is the summary: an escalation's and a span's too. */
static void test_slack_escalation(const struct alert *base)
{
	struct alert a = *base;
	char *body;
	cJSON *root;

	a.escalation = true;
	a.span_ms = 3 * BUCKET;
	a.span_count = 600;
	a.span_baseline = 100;
	render_alert_id(&a);
	body = render_slack(&a, NULL);
	root = cJSON_Parse(body);
	CHECK(root != NULL);
	if (root != NULL) {
		CHECK_STR(cJSON_GetObjectItem(root, "text")->valuestring,
			  "bigger: brand: 600 mentions in 15m (usual 100.0, "
			  "6.0x)");
		cJSON_Delete(root);
	}
	free(body);
}

static void test_slack(void)
{
	struct mention ms[12];
	struct alert a;
	char *text = big_text(5000);
	char *body;
	cJSON *root, *blocks, *b;
	int n_sections = 0;

	for (size_t i = 0; i < 12; i++) {
		mk(&ms[i], "1", text, "ann", T0);
	}
	ms[0].text = (char *)"5 < 7 & ok";
	fill_full(&a, "firing", ms, 12);
	body = render_slack(&a, NULL);
	root = cJSON_Parse(body);
	CHECK(root != NULL);
	if (root == NULL) {
		free(body);
		free(text);
		return;
	}
	CHECK_STR(cJSON_GetObjectItem(root, "text")->valuestring,
		  "brand: 240 mentions in 5m (usual 31.2, 7.7x)");
	test_slack_escalation(&a);
	blocks = cJSON_GetObjectItem(root, "blocks");
	CHECK(cJSON_IsArray(blocks));
	CHECK(cJSON_GetArraySize(blocks) <= 50);
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(blocks, 0), "type")
			  ->valuestring,
		  "header");
	cJSON_ArrayForEach (b, blocks) {
		const char *type = cJSON_GetObjectItem(b, "type")->valuestring;
		cJSON *t = cJSON_GetObjectItem(b, "text");
		cJSON *f;

		if (strcmp(type, "header") == 0) {
			CHECK(units(cJSON_GetObjectItem(t, "text")
					    ->valuestring) <= 150);
			CHECK_STR(cJSON_GetObjectItem(t, "type")->valuestring,
				  "plain_text");
		}
		if (strcmp(type, "section") == 0) {
			n_sections++;
			CHECK(units(cJSON_GetObjectItem(t, "text")
					    ->valuestring) <= 3000);
			f = cJSON_GetObjectItem(b, "fields");
			CHECK(cJSON_GetArraySize(f) <= 10);
		}
		if (strcmp(type, "actions") == 0) {
			CHECK(strncmp(cJSON_GetObjectItem(
					      cJSON_GetArrayItem(
						      cJSON_GetObjectItem(
							      b, "elements"),
						      0),
					      "url")
					      ->valuestring,
				      "https://dash.example/r/brand", 28) == 0);
		}
	}
	/* The summary section, then RENDER_CHAT_SAMPLES samples. */
	CHECK_INT(n_sections, 1 + RENDER_CHAT_SAMPLES);
	/* mrkdwn control characters are escaped. */
	CHECK(strstr(body, "5 &lt; 7 &amp; ok") != NULL);
	CHECK(strstr(body, "severity=warning") != NULL);
	cJSON_Delete(root);
	free(body);
	free(text);
}

static void test_teams(void)
{
	struct mention ms[1];
	struct alert a;
	char *body;
	cJSON *root, *att, *card, *facts;

	mk(&ms[0], "1", "hello", "ann", T0);
	fill_full(&a, "resolved", ms, 1);
	body = render_teams(&a, NULL);
	root = cJSON_Parse(body);
	CHECK(root != NULL);
	if (root == NULL) {
		free(body);
		return;
	}
	CHECK_STR(cJSON_GetObjectItem(root, "type")->valuestring, "message");
	att = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "attachments"), 0);
	CHECK_STR(cJSON_GetObjectItem(att, "contentType")->valuestring,
		  "application/vnd.microsoft.card.adaptive");
	card = cJSON_GetObjectItem(att, "content");
	CHECK_STR(cJSON_GetObjectItem(card, "type")->valuestring,
		  "AdaptiveCard");
	CHECK_STR(cJSON_GetObjectItem(card, "version")->valuestring, "1.4");
	CHECK_STR(cJSON_GetObjectItem(card, "$schema")->valuestring,
		  "http://adaptivecards.io/schemas/adaptive-card.json");
	CHECK_STR(cJSON_GetObjectItem(
			  cJSON_GetArrayItem(cJSON_GetObjectItem(card, "body"),
					     0),
			  "text")
			  ->valuestring,
		  "RESOLVED: brand");
	facts = cJSON_GetObjectItem(
		cJSON_GetArrayItem(cJSON_GetObjectItem(card, "body"), 2),
		"facts");
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(facts, 0), "title")
			  ->valuestring,
		  "Count");
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(facts, 0), "value")
			  ->valuestring,
		  "240");
	CHECK(strstr(body, "\"title\":\"team\",\"value\":\"community\"") !=
	      NULL);
	CHECK_STR(cJSON_GetObjectItem(
			  cJSON_GetArrayItem(
				  cJSON_GetObjectItem(card, "actions"), 0),
			  "type")
			  ->valuestring,
		  "Action.OpenUrl");
	cJSON_Delete(root);
	free(body);
}

static void test_discord(void)
{
	struct mention ms[12];
	struct render_label many[40];
	char names[40][8];
	struct alert a;
	char *text = big_text(3000);
	char *body;
	cJSON *root, *embeds, *e, *f;
	size_t total = 0;

	for (size_t i = 0; i < 12; i++) {
		mk(&ms[i], "1", text, text, T0);
	}
	for (size_t i = 0; i < 40; i++) {
		snprintf(names[i], sizeof(names[i]), "l%zu", i);
		many[i].name = names[i];
		many[i].value = text;
	}
	fill_full(&a, "firing", ms, 12);
	a.rule = text; /* a hostile rule name, for the title's cap */
	a.labels = many;
	a.n_labels = 40;
	body = render_discord(&a, NULL);
	root = cJSON_Parse(body);
	CHECK(root != NULL);
	if (root == NULL) {
		free(body);
		free(text);
		return;
	}
	CHECK(units(cJSON_GetObjectItem(root, "content")->valuestring) <=
	      RENDER_DISCORD_CONTENT);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(
			  cJSON_GetObjectItem(root, "allowed_mentions"),
			  "parse")),
		  0);
	embeds = cJSON_GetObjectItem(root, "embeds");
	CHECK(cJSON_GetArraySize(embeds) >= 1 &&
	      cJSON_GetArraySize(embeds) <= 10);
	e = cJSON_GetArrayItem(embeds, 0);
	CHECK(units(cJSON_GetObjectItem(e, "title")->valuestring) <= 256);
	CHECK(units(cJSON_GetObjectItem(e, "description")->valuestring) <=
	      4096);
	total += units(cJSON_GetObjectItem(e, "title")->valuestring);
	total += units(cJSON_GetObjectItem(e, "description")->valuestring);
	total += units(
		cJSON_GetObjectItem(cJSON_GetObjectItem(e, "footer"), "text")
			->valuestring);
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(e, "fields")) <= 25);
	cJSON_ArrayForEach (f, cJSON_GetObjectItem(e, "fields")) {
		const char *n = cJSON_GetObjectItem(f, "name")->valuestring;
		const char *v = cJSON_GetObjectItem(f, "value")->valuestring;

		CHECK(units(n) >= 1 && units(n) <= 256);
		CHECK(units(v) >= 1 && units(v) <= 1024);
		total += units(n) + units(v);
	}
	CHECK(total <= RENDER_DISCORD_EMBED_TOTAL);
	CHECK(cJSON_IsNumber(cJSON_GetObjectItem(e, "color")));
	cJSON_Delete(root);
	free(body);
	free(text);
}

static void test_alertmanager(void)
{
	static const struct render_label bad[] = {
		{"severity", "page"},
		{"alertname", "spoof"},
		{"bad-name", "x"},
	};
	struct mention ms[1];
	struct alert a;
	char *body;
	cJSON *root, *al, *lab, *ann;

	mk(&ms[0], "1", "hello", "ann", T0);
	fill_full(&a, "firing", ms, 1);
	a.labels = bad;
	a.n_labels = 3;
	a.started_at_ms = T0 - BUCKET;
	body = render_am_alerts(&a, T0 + 4 * BUCKET, NULL);
	root = cJSON_Parse(body);
	CHECK(cJSON_IsArray(root));
	al = cJSON_GetArrayItem(root, 0);
	lab = cJSON_GetObjectItem(al, "labels");
	CHECK_STR(cJSON_GetObjectItem(lab, "alertname")->valuestring, "brand");
	CHECK_STR(cJSON_GetObjectItem(lab, "rule")->valuestring, "brand");
	CHECK_STR(cJSON_GetObjectItem(lab, "severity")->valuestring, "page");
	CHECK(!cJSON_HasObjectItem(lab, "bad-name"));
	ann = cJSON_GetObjectItem(al, "annotations");
	CHECK_STR(cJSON_GetObjectItem(ann, "summary")->valuestring,
		  "brand: 240 mentions in 5m (usual 31.2, 7.7x)");
	CHECK(strstr(cJSON_GetObjectItem(ann, "samples")->valuestring,
		     "@ann: hello https://x.example/1") != NULL);
	CHECK(cJSON_IsString(cJSON_GetObjectItem(ann, "description")));
	CHECK_STR(cJSON_GetObjectItem(al, "startsAt")->valuestring,
		  "2026-11-21T13:55:00Z");
	CHECK_STR(cJSON_GetObjectItem(al, "endsAt")->valuestring,
		  "2026-11-21T14:20:00Z");
	CHECK(strncmp(cJSON_GetObjectItem(al, "generatorURL")->valuestring,
		      "https://dash.example/", 21) == 0);
	cJSON_Delete(root);
	free(body);

	fill(&a, "resolved", NULL, 0);
	body = render_am_webhook(&a, NULL);
	root = cJSON_Parse(body);
	CHECK(root != NULL);
	if (root != NULL) {
		CHECK_STR(cJSON_GetObjectItem(root, "version")->valuestring,
			  "4");
		CHECK_STR(cJSON_GetObjectItem(root, "status")->valuestring,
			  "resolved");
		CHECK_STR(cJSON_GetObjectItem(root, "receiver")->valuestring,
			  "hark");
		al = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "alerts"), 0);
		CHECK_STR(cJSON_GetObjectItem(al, "endsAt")->valuestring,
			  "2026-11-21T14:05:00Z");
		CHECK_INT(strlen(cJSON_GetObjectItem(al, "fingerprint")
					 ->valuestring),
			  16);
		CHECK(!cJSON_HasObjectItem(root, "samples"));
		cJSON_Delete(root);
	}
	free(body);
}

static void test_template(void)
{
	struct mention ms[1];
	struct alert a;
	char err[128];
	char *out;
	size_t len;
	cJSON *root;

	mk(&ms[0], "1", "say \"hi\"", "ann", T0);
	fill_full(&a, "firing", ms, 1);
	out = render_template("{\"msg\":\"{{ rule }} {{count}}/{{baseline}} "
			      "{{labels.team}}{{labels.none}} {{summary}}\","
			      "\"n\":{{json count}},\"s\":{{json samples}},"
			      "\"l\":{{json labels}},\"w\":\"{{window}}\"}",
			      &a, &len, err, sizeof(err));
	CHECK(out != NULL);
	if (out != NULL) {
		CHECK_INT(strlen(out), len);
		root = cJSON_Parse(out);
		CHECK(root != NULL);
		CHECK_STR(cJSON_GetObjectItem(root, "msg")->valuestring,
			  "brand 240/31.20 community brand: 240 mentions in "
			  "5m (usual 31.2, 7.7x)");
		CHECK_DBL(cJSON_GetObjectItem(root, "n")->valuedouble, 240, 0);
		CHECK_STR(cJSON_GetObjectItem(
				  cJSON_GetArrayItem(
					  cJSON_GetObjectItem(root, "s"), 0),
				  "text")
				  ->valuestring,
			  "say \"hi\"");
		CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "l"),
					      "severity")
				  ->valuestring,
			  "warning");
		CHECK_STR(cJSON_GetObjectItem(root, "w")->valuestring, "5m");
		cJSON_Delete(root);
		free(out);
	}
	/* Values are escaped for a JSON string. */
	a.rule = "a\"b";
	out = render_template("\"{{rule}}\"", &a, NULL, err, sizeof(err));
	CHECK_STR(out, "\"a\\\"b\"");
	free(out);
	a.rule = "brand";
	out = render_template("{{json body}}", &a, NULL, err, sizeof(err));
	root = cJSON_Parse(out);
	CHECK(root != NULL && cJSON_GetObjectItem(root, "version") != NULL);
	cJSON_Delete(root);
	free(out);
	/* Errors: unknown field, unterminated, JSON-only field as text. */
	CHECK(render_template("{{nope}}", &a, NULL, err, sizeof(err)) == NULL);
	CHECK_STR(err, "unknown field \"nope\"");
	CHECK(render_template("x {{rule", &a, NULL, err, sizeof(err)) == NULL);
	CHECK(render_template("{{samples}}", &a, NULL, err, sizeof(err)) ==
	      NULL);
	CHECK_INT(render_template_check("{{rule}} {{json samples}}", err,
					sizeof(err)),
		  0);
	CHECK_INT(render_template_check("{{rulez}}", err, sizeof(err)), -1);
	CHECK_INT(render_format_parse(NULL), RENDER_V1);
	CHECK_INT(render_format_parse("slack"), RENDER_SLACK);
	CHECK_INT(render_format_parse("teams"), RENDER_TEAMS);
	CHECK_INT(render_format_parse("discord"), RENDER_DISCORD);
	CHECK_INT(render_format_parse("alertmanager-webhook"),
		  RENDER_AM_WEBHOOK);
	CHECK_INT(render_format_parse("/etc/hark/body.json"), RENDER_TEMPLATE);
	out = render_body(&a, RENDER_TEMPLATE, "{{id}}", &len, err,
			  sizeof(err));
	CHECK_STR(out, a.id);
	free(out);
	/* No link configured: no link. */
	a.external_url = NULL;
	CHECK(render_link(&a) == NULL);
}

static void test_email(void)
{
	struct mention ms[2];
	struct alert a;
	char *s;

	mk(&ms[0], "1", "<b>bold</b> & co", "ann", T0);
	mk(&ms[1], "2", "second", "", T0);
	fill_full(&a, "firing", ms, 2);
	a.baseline = 31.2;
	s = render_email_subject(&a);
	CHECK_STR(s, "[hark] brand: 240 mentions in 5 min (usual 31)");
	free(s);
	a.window_end_ms = T0 + 3600000;
	s = render_email_subject(&a);
	CHECK_STR(s, "[hark] brand: 240 mentions in 1 h (usual 31)");
	free(s);
	a.window_end_ms = T0 + BUCKET;
	a.status = "resolved";
	s = render_email_subject(&a);
	CHECK_STR(s, "[hark] resolved: brand back to normal, 240 mentions in "
		     "5 min (usual 31)");
	free(s);
	a.status = "firing";
	/* the span the score is of, and an escalation */
	a.span_ms = 12 * BUCKET;
	a.span_count = 900;
	a.span_baseline = 310.4;
	s = render_email_subject(&a);
	CHECK_STR(s, "[hark] brand: 900 mentions in 1 h (usual 310)");
	free(s);
	a.escalation = true;
	s = render_email_subject(&a);
	CHECK_STR(s, "[hark] bigger: brand: 900 mentions in 1 h (usual 310)");
	free(s);
	s = render_email_text(&a);
	CHECK(strstr(s, "bigger: brand: 900 mentions in 1h (usual 310.4, "
			"2.9x)") != NULL);
	free(s);
	a.escalation = false;
	a.span_ms = 0;
	s = render_email_text(&a);
	CHECK(strstr(s, "Count:    240\n") != NULL);
	CHECK(strstr(s, "Usual:    31.2\n") != NULL);
	CHECK(strstr(s, "Labels:   severity=warning, team=community\n") !=
	      NULL);
	CHECK(strstr(s, "- @ann: <b>bold</b> & co\n  https://x.example/1") !=
	      NULL);
	CHECK(strstr(s, "Top terms: blablacar (200), bla (9)") != NULL);
	free(s);
	s = render_email_html(&a);
	CHECK(strstr(s, "<th align=\"left\">Count</th><td>240</td>") != NULL);
	CHECK(strstr(s, "&lt;b&gt;bold&lt;/b&gt; &amp; co") != NULL);
	CHECK(strstr(s, "<b>bold</b>") == NULL);
	CHECK(strstr(s, "<a href=\"https://x.example/1\">link</a>") != NULL);
	CHECK(strstr(s, "<a href=\"https://dash.example/r/brand?from=") !=
	      NULL);
	free(s);
}

static cJSON *load_json(const char *name)
{
	const char *root = getenv("HARK_SOURCE_ROOT");
	char path[4096];
	char *text;
	FILE *f;
	long n;
	cJSON *j;

	snprintf(path, sizeof(path), "%s/docs/%s", root != NULL ? root : ".",
		 name);
	f = fopen(path, "rb");
	if (f == NULL) {
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = malloc((size_t)n + 1);
	if (fread(text, 1, (size_t)n, f) != (size_t)n) {
		n = 0;
	}
	text[n] = '\0';
	fclose(f);
	j = cJSON_Parse(text);
	free(text);
	return j;
}

/* n firing alerts of rules r0, r1, …; names are the caller's storage. */
static void fill_group(struct alert *as, size_t n, char (*names)[16],
		       const struct mention *ms, size_t n_ms)
{
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], 16, "r%zu", i);
		fill_full(&as[i], "firing", ms, n_ms);
		as[i].rule = names[i];
		as[i].count = 100 + (int64_t)i;
		render_alert_id(&as[i]);
	}
}

static void test_group_webhook(void)
{
	cJSON *v1 = load_json("webhook-v1.schema.json");
	cJSON *schema = load_json("webhook-v1-group.schema.json");
	struct mention ms[2];
	struct alert as[3], swapped[2];
	char names[3][16];
	char id[33], id2[33];
	cJSON *root, *arr, *items;
	char *body, *one;

	CHECK(v1 != NULL && schema != NULL);
	if (v1 == NULL || schema == NULL) {
		cJSON_Delete(v1);
		cJSON_Delete(schema);
		return;
	}
	/* The checker resolves local refs only: put the v1 schema in place
	 * of the external $ref, with its $defs. */
	items = cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(schema, "properties"),
				    "alerts"),
		"items");
	CHECK_STR(cJSON_GetObjectItem(items, "$ref")->valuestring,
		  "webhook-v1.schema.json");
	cJSON_ReplaceItemInObject(
		cJSON_GetObjectItem(cJSON_GetObjectItem(schema, "properties"),
				    "alerts"),
		"items", cJSON_Duplicate(v1, true));
	cJSON_AddItemToObject(
		schema, "$defs",
		cJSON_Duplicate(cJSON_GetObjectItem(v1, "$defs"), true));

	mk(&ms[0], "1", "one", "ann", T0);
	mk(&ms[1], "2", "two", "bob", T0);
	fill_group(as, 3, names, ms, 2);
	body = render_group_webhook(as, 3, NULL);
	root = cJSON_Parse(body);
	CHECK(root != NULL);
	CHECK_INT(validate(root, schema, schema, "$"), 0);
	CHECK_INT(cJSON_GetObjectItem(root, "version")->valueint, 1);
	CHECK_STR(cJSON_GetObjectItem(root, "status")->valuestring, "firing");
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(root, "group")));
	render_group_id(as, 3, id);
	CHECK(is_hex32(id));
	CHECK_STR(cJSON_GetObjectItem(root, "id")->valuestring, id);
	arr = cJSON_GetObjectItem(root, "alerts");
	CHECK_INT(cJSON_GetArraySize(arr), 3);
	for (int i = 0; i < 3; i++) {
		cJSON *m = cJSON_GetArrayItem(arr, i);
		cJSON *alone;

		CHECK_STR(cJSON_GetObjectItem(m, "rule")->valuestring,
			  names[i]);
		CHECK_STR(cJSON_GetObjectItem(m, "id")->valuestring, as[i].id);
		CHECK(strcmp(id, as[i].id) != 0);
		/* Each member is exactly its single body. */
		one = render_webhook(&as[i], NULL);
		alone = cJSON_Parse(one);
		CHECK(cJSON_Compare(m, alone, true));
		cJSON_Delete(alone);
		free(one);
	}
	/* The checker fails a member without a count, and a group marked
	 * resolved. */
	cJSON_DeleteItemFromObject(cJSON_GetArrayItem(arr, 1), "count");
	CHECK(validate(root, schema, schema, "$") > 0);
	cJSON_AddNumberToObject(cJSON_GetArrayItem(arr, 1), "count", 1);
	CHECK_INT(validate(root, schema, schema, "$"), 0);
	cJSON_ReplaceItemInObject(root, "status",
				  cJSON_CreateString("resolved"));
	CHECK(validate(root, schema, schema, "$") > 0);
	cJSON_Delete(root);
	free(body);

	/* The id: the members' order does not matter, their ids do. */
	swapped[0] = as[1];
	swapped[1] = as[0];
	render_group_id(as, 2, id);
	render_group_id(swapped, 2, id2);
	CHECK_STR(id, id2);
	render_group_id(&as[1], 2, id2);
	CHECK(strcmp(id, id2) != 0);
	swapped[0].window_start_ms += BUCKET;
	render_alert_id(&swapped[0]);
	render_group_id(swapped, 2, id2);
	CHECK(strcmp(id, id2) != 0);
	cJSON_Delete(schema);
	cJSON_Delete(v1);
}

static void test_group_chat(void)
{
	enum { N = 120 };
	static struct alert as[N];
	static char names[N][16];
	struct mention ms[3];
	char *text = big_text(5000);
	char *body, *err_body;
	char err[128];
	cJSON *root, *blocks, *b, *e, *body_arr;
	size_t total = 0;
	int n_sections = 0;

	for (size_t i = 0; i < 3; i++) {
		mk(&ms[i], "1", text, "ann", T0);
	}
	fill_group(as, N, names, ms, 3);

	/* Slack */
	body = render_group_body(as, N, RENDER_SLACK, NULL, err, sizeof(err));
	root = cJSON_Parse(body);
	CHECK(root != NULL);
	CHECK(units(cJSON_GetObjectItem(root, "text")->valuestring) <=
	      RENDER_SLACK_TEXT);
	CHECK(strncmp(cJSON_GetObjectItem(root, "text")->valuestring,
		      "120 rules firing: r0, r1, r2", 28) == 0);
	blocks = cJSON_GetObjectItem(root, "blocks");
	CHECK(cJSON_GetArraySize(blocks) <= 50);
	cJSON_ArrayForEach (b, blocks) {
		const char *type = cJSON_GetObjectItem(b, "type")->valuestring;
		cJSON *t = cJSON_GetObjectItem(b, "text");

		if (strcmp(type, "header") == 0) {
			CHECK(units(cJSON_GetObjectItem(t, "text")
					    ->valuestring) <= 150);
		}
		if (strcmp(type, "section") == 0) {
			n_sections++;
			CHECK(units(cJSON_GetObjectItem(t, "text")
					    ->valuestring) <= 3000);
		}
	}
	CHECK_INT(n_sections, RENDER_GROUP_CHAT_MEMBERS);
	CHECK(strstr(body, "…and 80 more") != NULL);
	CHECK(strstr(body, "*r39*") != NULL);
	CHECK(strstr(body, "*r40*") == NULL);
	cJSON_Delete(root);
	free(body);

	/* Teams */
	body = render_group_body(as, N, RENDER_TEAMS, NULL, err, sizeof(err));
	root = cJSON_Parse(body);
	CHECK(root != NULL);
	body_arr = cJSON_GetObjectItem(
		cJSON_GetObjectItem(
			cJSON_GetArrayItem(
				cJSON_GetObjectItem(root, "attachments"), 0),
			"content"),
		"body");
	/* Title, the members shown, "…and N more". */
	CHECK_INT(cJSON_GetArraySize(body_arr),
		  1 + RENDER_GROUP_CHAT_MEMBERS + 1);
	/* Teams refuses messages over about 28 KB. */
	CHECK(strlen(body) < 28 * 1024);
	CHECK(strstr(body, "r7: 107 mentions") != NULL);
	cJSON_Delete(root);
	free(body);

	/* Discord */
	body = render_group_body(as, N, RENDER_DISCORD, NULL, err, sizeof(err));
	root = cJSON_Parse(body);
	CHECK(root != NULL);
	CHECK(units(cJSON_GetObjectItem(root, "content")->valuestring) <=
	      RENDER_DISCORD_CONTENT);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(root, "embeds")), 1);
	e = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "embeds"), 0);
	CHECK(units(cJSON_GetObjectItem(e, "description")->valuestring) <=
	      4096);
	total += units(cJSON_GetObjectItem(e, "title")->valuestring);
	total += units(cJSON_GetObjectItem(e, "description")->valuestring);
	total += units(
		cJSON_GetObjectItem(cJSON_GetObjectItem(e, "footer"), "text")
			->valuestring);
	CHECK(total <= RENDER_DISCORD_EMBED_TOTAL);
	CHECK(strstr(body, "r0: 100 mentions") != NULL);
	cJSON_Delete(root);
	free(body);

	/* Bodies that render one alert are not grouped. */
	err_body = render_group_body(as, 2, RENDER_TEMPLATE, NULL, err,
				     sizeof(err));
	CHECK(err_body == NULL);
	CHECK(err[0] != '\0');
	free(text);
}

static void test_group_email(void)
{
	struct mention ms[1];
	struct alert as[2];
	char names[2][16];
	char *s;

	mk(&ms[0], "1", "<b>bold</b>", "ann", T0);
	fill_group(as, 2, names, ms, 1);
	s = render_group_email_subject(as, 2);
	CHECK_STR(s, "[hark] 2 rules firing: r0, r1");
	free(s);
	s = render_group_email_text(as, 2);
	CHECK(strstr(s, "Rule:     r0\n") != NULL);
	CHECK(strstr(s, "Rule:     r1\n") != NULL);
	CHECK(strstr(s, "Count:    101\n") != NULL);
	free(s);
	s = render_group_email_html(as, 2);
	CHECK(strncmp(s, "<!DOCTYPE html>", 15) == 0);
	/* One document holding both tables. */
	CHECK(strstr(s, "<html>") != NULL &&
	      strstr(strstr(s, "<html>") + 1, "<html>") == NULL);
	CHECK(strstr(s, "</html>") != NULL &&
	      strstr(strstr(s, "</html>") + 1, "</html>") == NULL);
	CHECK(strstr(s, "<th align=\"left\">Count</th><td>100</td>") != NULL);
	CHECK(strstr(s, "<th align=\"left\">Count</th><td>101</td>") != NULL);
	CHECK(strstr(s, "&lt;b&gt;bold") != NULL);
	free(s);
}

/* Every format with emerging terms (on) and without (off). */
static char *render_as(const struct alert *a, int format)
{
	char err[128];

	switch (format) {
	case 0:
		return render_webhook(a, NULL);
	case 1:
		return render_slack(a, NULL);
	case 2:
		return render_teams(a, NULL);
	case 3:
		return render_discord(a, NULL);
	case 4:
		return render_email_text(a);
	case 5:
		return render_email_html(a);
	case 6:
		return render_am_webhook(a, NULL);
	default:
		return render_template("{{summary}}", a, NULL, err,
				       sizeof(err));
	}
}

static void test_emerging_formats(void)
{
	/* What each format shows: the summary everywhere it is, and the
	 * "About" line where the top terms are. */
	static const char *const shows[][2] = {
		{"; about: " ABOUT3 "\"", "\"emerging_terms\""},
		{"; about: " ABOUT3 "\"", "About: " ABOUT5 "\\nTop terms: "},
		{"; about: " ABOUT3 "\"",
		 "{\"title\":\"About\",\"value\":\"" ABOUT5 "\"}"},
		{"; about: " ABOUT3 "\"",
		 "{\"name\":\"About\",\"value\":\"" ABOUT5 "\""},
		{"; about: " ABOUT3 "\n", "\nAbout: " ABOUT5 "\nTop terms: "},
		{"; about: " ABOUT3 "</h2>",
		 "<th align=\"left\">About</th><td>" ABOUT5 "</td>"},
		{"; about: " ABOUT3 "\"", "; about: " ABOUT3 "\""},
		{"; about: " ABOUT3, "; about: " ABOUT3},
	};
	struct mention ms[1];
	struct alert a;

	mk(&ms[0], "1", "hello", "ann", T0);
	for (int f = 0; f < 8; f++) {
		for (int on = 0; on < 2; on++) {
			char *body;

			fill_full(&a, "firing", ms, 1);
			a.emerging = on ? rising : NULL;
			a.n_emerging = on ? 6 : 0;
			body = render_as(&a, f);
			CHECK(body != NULL);
			if (body == NULL) {
				continue;
			}
			for (int k = 0; k < 2; k++) {
				bool found = strstr(body, shows[f][k]) != NULL;

				if (found != on) {
					fprintf(stderr, "format %d, item %d\n",
						f, k);
				}
				CHECK_INT(found, on);
			}
			/* Only 5 in a line, only 3 in the summary. */
			CHECK(strstr(body, ", six") == NULL);
			CHECK(strstr(body, ABOUT3 ", quatre\"") == NULL);
			CHECK((strstr(body, "about") != NULL) == on);
			free(body);
		}
	}
}

static void test_emerging(void)
{
	cJSON *schema = load_schema();
	struct mention ms[1];
	struct alert a;
	cJSON *root, *arr, *t;
	char *body;

	test_emerging_formats();
	mk(&ms[0], "1", "hello", "ann", T0);
	fill_full(&a, "firing", ms, 1);
	a.emerging = rising;
	a.n_emerging = 6;
	body = render_webhook(&a, NULL);
	root = cJSON_Parse(body);
	CHECK(root != NULL && schema != NULL);
	if (root == NULL || schema == NULL) {
		cJSON_Delete(root);
		cJSON_Delete(schema);
		free(body);
		return;
	}
	CHECK_INT(validate(root, schema, schema, "$"), 0);
	CHECK_STR(
		cJSON_GetObjectItem(root, "summary")->valuestring,
		"brand: 240 mentions in 5m (usual 31.2, 7.7x); about: " ABOUT3);
	arr = cJSON_GetObjectItem(root, "emerging_terms");
	CHECK_INT(cJSON_GetArraySize(arr), 6);
	t = cJSON_GetArrayItem(arr, 1);
	CHECK_STR(cJSON_GetObjectItem(t, "term")->valuestring, "appli");
	CHECK_INT(cJSON_GetObjectItem(t, "count")->valueint, 12);
	/* 2 decimals, like baseline and ratio. */
	CHECK(strstr(body, "\"usual\":1.23,\"ratio\":9.72}") != NULL);
	CHECK(strstr(body, "\"term\":\"panne\",\"count\":30,\"usual\":0,"
			   "\"ratio\":60}") != NULL);
	/* The checker reads the new field: a term without its ratio, a
	 * count that is text. */
	cJSON_DeleteItemFromObject(t, "ratio");
	CHECK(validate(root, schema, schema, "$") > 0);
	cJSON_AddNumberToObject(t, "ratio", 9.72);
	cJSON_ReplaceItemInObject(t, "count", cJSON_CreateString("12"));
	CHECK(validate(root, schema, schema, "$") > 0);
	cJSON_Delete(root);
	free(body);
	/* A resolved summary says nothing of them. */
	a.status = "resolved";
	body = render_text(&a);
	CHECK(strstr(body, "about") == NULL);
	free(body);
	body = render_webhook(&a, NULL);
	CHECK(strstr(body, "; about: ") == NULL);
	free(body);
	cJSON_Delete(schema);
}

/* Hostile terms stay within the chat services' limits. */
static void test_emerging_limits(void)
{
	struct render_emerging long_terms[RENDER_ABOUT_TERMS];
	char *text = big_text(3000);
	struct mention ms[12];
	struct alert a;
	char *body;
	cJSON *root, *e, *f;
	size_t total = 0;

	for (size_t i = 0; i < 12; i++) {
		mk(&ms[i], "1", text, text, T0);
	}
	for (size_t i = 0; i < RENDER_ABOUT_TERMS; i++) {
		long_terms[i] = (struct render_emerging){text, 3, 0, 6};
	}
	fill_full(&a, "firing", ms, 12);
	a.emerging = long_terms;
	a.n_emerging = RENDER_ABOUT_TERMS;
	body = render_discord(&a, NULL);
	root = cJSON_Parse(body);
	CHECK(root != NULL);
	e = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "embeds"), 0);
	CHECK(units(cJSON_GetObjectItem(root, "content")->valuestring) <=
	      RENDER_DISCORD_CONTENT);
	total += units(cJSON_GetObjectItem(e, "title")->valuestring);
	total += units(cJSON_GetObjectItem(e, "description")->valuestring);
	cJSON_ArrayForEach (f, cJSON_GetObjectItem(e, "fields")) {
		total += units(cJSON_GetObjectItem(f, "name")->valuestring);
		total += units(cJSON_GetObjectItem(f, "value")->valuestring);
	}
	CHECK(total <= RENDER_DISCORD_EMBED_TOTAL);
	cJSON_Delete(root);
	free(body);
	body = render_slack(&a, NULL);
	root = cJSON_Parse(body);
	CHECK(root != NULL);
	CHECK(units(cJSON_GetObjectItem(root, "text")->valuestring) <=
	      RENDER_SLACK_TEXT);
	cJSON_ArrayForEach (e, cJSON_GetObjectItem(root, "blocks")) {
		if (strcmp(cJSON_GetObjectItem(e, "type")->valuestring,
			   "context") == 0) {
			f = cJSON_GetArrayItem(
				cJSON_GetObjectItem(e, "elements"), 0);
			CHECK(units(cJSON_GetObjectItem(f, "text")
					    ->valuestring) <= 3000);
		}
	}
	cJSON_Delete(root);
	free(body);
	free(text);
}

int main(void)
{
	test_ids();
	test_escalation_ids();
	test_schema();
	test_slack();
	test_teams();
	test_discord();
	test_alertmanager();
	test_template();
	test_email();
	test_group_webhook();
	test_group_chat();
	test_group_email();
	test_emerging();
	test_emerging_limits();
	test_webhook();
	test_text();
	test_keys();
	test_backoff();
	return check_done();
}
