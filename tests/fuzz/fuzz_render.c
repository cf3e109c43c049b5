/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: every renderer (v1 webhook, log text, Slack, Teams,
 * Discord, Alertmanager, e-mail, {{field}} templates, links, groups) on an
 * alert whose strings come from the input: NUL-separated fields, read as
 * template, rule, external_url, numbers, two labels, then samples.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mention.h"
#include "core/render.h"
#include "fuzz.h"

#define MAX_SAMPLES 12

static const double numbers[] = {0.0,  31.2,          1e-300, 1e300,
				 -4.5, 123456789.125, 0.5,    7.0};

/* The JSON bodies go to receivers that parse them: they must be JSON. */
static void require_json(char *body, size_t len)
{
	cJSON *root;

	FUZZ_REQUIRE(body != NULL && strlen(body) == len);
	root = cJSON_ParseWithLength(body, len);
	if (root == NULL) {
		fprintf(stderr, "not JSON:\n%s\n", body);
		abort();
	}
	cJSON_Delete(root);
	free(body);
}

/* The call is made before its length is read. */
#define JSON(call)                        \
	do {                              \
		char *body_ = (call);     \
		require_json(body_, len); \
	} while (0)

static void render_all(const struct alert *a, const char *tmpl)
{
	char err[256];
	size_t len = 0;
	char *s;

	JSON(render_webhook(a, &len));
	JSON(render_slack(a, &len));
	JSON(render_teams(a, &len));
	JSON(render_discord(a, &len));
	JSON(render_am_webhook(a, &len));
	JSON(render_am_alerts(a, a->window_end_ms + 60000, &len));
	free(render_text(a));
	free(render_link(a));
	free(render_email_subject(a));
	free(render_email_text(a));
	free(render_email_html(a));
	if (render_template_check(tmpl, err, sizeof(err)) == 0) {
		s = render_template(tmpl, a, &len, err, sizeof(err));
		free(s);
	}
	s = render_body(a, render_format_parse(tmpl), tmpl, &len, err,
			sizeof(err));
	free(s);
}

static void render_groups(const struct alert *a)
{
	struct alert g[3];
	char id[33];
	char err[256];
	size_t len = 0;

	for (int i = 0; i < 3; i++) {
		g[i] = *a;
		g[i].status = "firing";
	}
	g[1].rule = "fuzz-second";
	g[2].rule = "fuzz-third";
	g[2].samples = NULL;
	g[2].n_samples = 0;
	render_group_id(g, 3, id);
	JSON(render_group_webhook(g, 3, &len));
	JSON(render_group_slack(g, 3, &len));
	JSON(render_group_teams(g, 3, &len));
	JSON(render_group_discord(g, 3, &len));
	free(render_group_body(g, 3, RENDER_AM_WEBHOOK, &len, err,
			       sizeof(err)));
	free(render_group_email_subject(g, 3));
	free(render_group_email_text(g, 3));
	free(render_group_email_html(g, 3));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fields f;
	struct alert a;
	struct render_label labels[2];
	struct render_top tops[2];
	struct render_emerging rising[2];
	struct mention samples[MAX_SAMPLES];
	const char *tmpl;
	uint64_t bits;
	size_t n = 0;

	fields_init(&f, data, size);
	memset(&a, 0, sizeof(a));
	memset(samples, 0, sizeof(samples));
	tmpl = fields_next(&f);
	a.rule = fields_next(&f);
	a.external_url = fields_next(&f);
	bits = fields_u64(&f);
	a.status = (bits & 1) ? "resolved" : "firing";
	a.window_start_ms =
		1700000000000LL - (int64_t)((bits >> 1) & 0xffff) * 300000;
	a.window_end_ms =
		a.window_start_ms + 300000 * (int64_t)((bits >> 17 & 3) + 1);
	a.count = (int64_t)(bits >> 19 & 0xfffff);
	a.baseline = numbers[bits >> 39 & 7];
	a.ratio = numbers[bits >> 42 & 7];
	a.score = numbers[bits >> 45 & 7];
	a.repeat = (int64_t)(bits >> 48 & 3);
	a.started_at_ms = (bits & 2) ? a.window_start_ms - 600000 : 0;
	labels[0].name = fields_next(&f);
	labels[0].value = fields_next(&f);
	labels[1].name = fields_next(&f);
	labels[1].value = fields_next(&f);
	a.labels = labels;
	a.n_labels = 2;
	tops[0].name = labels[0].value;
	tops[0].count = a.count;
	tops[1].name = labels[1].value;
	tops[1].count = 1;
	a.top_terms = tops;
	a.n_top_terms = 2;
	a.top_authors = tops + 1;
	a.n_top_authors = 1;
	a.top_langs = tops;
	a.n_top_langs = 1;
	rising[0] = (struct render_emerging){labels[1].value, a.count,
					     numbers[bits >> 50 & 7],
					     numbers[bits >> 53 & 7]};
	rising[1] = (struct render_emerging){labels[0].name, 3, 0, 6};
	a.emerging = rising;
	a.n_emerging = (size_t)(bits >> 56 & 3) % 3;
	a.receiver = labels[1].name;
	while (fields_left(&f) && n < MAX_SAMPLES) {
		struct mention *m = &samples[n++];

		/* The renderers only read: the casts lend the input. */
		m->text = (char *)fields_next(&f);
		m->author = (char *)fields_next(&f);
		m->id = (char *)fields_next(&f);
		m->url = (char *)fields_next(&f);
		m->lang = (char *)fields_next(&f);
		m->has_created_at = n % 2 == 0;
		m->created_at_ms = a.window_start_ms + (int64_t)n * 1000;
	}
	a.samples = samples;
	a.n_samples = n;
	render_alert_id(&a);
	render_all(&a, tmpl);
	render_groups(&a);
	fields_fini(&f);
	return 0;
}
