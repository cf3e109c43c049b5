/* SPDX-License-Identifier: MIT */
/*
 * The canonical alert and its renderings, all from one struct alert: the
 * webhook body of DESIGN §6 (version 1, docs/webhook-v1.schema.json), the
 * log receiver's text, Slack, Teams, Discord, Alertmanager, {{field}}
 * templates and e-mail subject and bodies. Pure.
 */
#ifndef HARK_CORE_RENDER_H
#define HARK_CORE_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/xalloc.h"

struct mention;

/* A rule label ("severity" → "warning"). Both borrowed. */
struct render_label {
	const char *name;
	const char *value;
};

/* One of the window's top terms, authors or languages. name borrowed. */
struct render_top {
	const char *name;
	int64_t count;
};

/* A term that rose against its usual share of mentions (core/emerge.h):
 * its count in the window, usual count per bucket and count / usual.
 * term borrowed. */
struct render_emerging {
	const char *term;
	int64_t count;
	double usual;
	double ratio;
};

/* Any field below the samples may stay zero/NULL: renderers skip it. */
struct alert {
	/* Stable across retries: rule, window, status (and escalation,
	 * repeat). */
	char id[33];
	const char *rule;   /* borrowed */
	const char *status; /* "firing" or "resolved" */
	int64_t window_start_ms;
	int64_t window_end_ms;
	int64_t count;
	double baseline;
	double ratio;
	double score;
	const struct mention *samples; /* borrowed */
	size_t n_samples;
	const struct render_label *labels; /* borrowed; the rule's labels */
	size_t n_labels;
	/* borrowed; a {{field}} template of the alert's link, e.g.
	 * "https://dash.example/rules/{{rule}}?from={{window_start}}" */
	const char *external_url;
	const struct render_top *top_terms; /* borrowed; most frequent first */
	size_t n_top_terms;
	const struct render_top *top_authors; /* borrowed */
	size_t n_top_authors;
	const struct render_top *top_langs; /* borrowed */
	size_t n_top_langs;
	/* When the episode began firing (Alertmanager startsAt); 0: the
	 * window start. */
	int64_t started_at_ms;
	/* Receiver name for the alertmanager-webhook body; NULL: "hark". */
	const char *receiver;
	/* Firing, with the rule's novelty: the highest count per bucket the
	 * stream reached without an alert over the last record_days days,
	 * which this spike beat; record_days 0: not shown. */
	int64_t record;
	int record_days;
	/* Firing: a clearly bigger peak of an episode already notified (the
	 * detector's escalation). Part of the id, so it is a notification of
	 * its own; the v1 body says "escalation": true, the summary
	 * "bigger: ". */
	bool escalation;
	/* Firing: the span the score is of when longer than the window (the
	 * last hour, say): its length, its count and its usual count. The v1
	 * body carries "span", and the summary speaks of it. span_ms 0: the
	 * window itself. */
	int64_t span_ms;
	int64_t span_count;
	double span_baseline;
	/* 0: the episode's firing notification; N > 0: its Nth re-notification
	 * (a receiver's repeat_interval). Part of the id, so every repeat has
	 * its own; the v1 body says "repeat": N. */
	int64_t repeat;
	/* borrowed; what the alert is about, most emerging first: the v1
	 * body's "emerging_terms" and an "about: " line of the first few. */
	const struct render_emerging *emerging;
	size_t n_emerging;
};

/* Emerging terms named in a summary, and in a chat or mail body's "About"
 * line: a glance, not the list (the v1 body has them all). */
#define RENDER_ABOUT_SUMMARY_TERMS 3
#define RENDER_ABOUT_TERMS 5

/* Body formats of a webhook receiver's "template" key. */
enum render_format {
	RENDER_V1 = 0,     /* DESIGN §6, the default */
	RENDER_SLACK,      /* text + blocks */
	RENDER_TEAMS,      /* Adaptive Card in attachments */
	RENDER_DISCORD,    /* content + embeds */
	RENDER_AM_WEBHOOK, /* Alertmanager's webhook_config body */
	RENDER_TEMPLATE,   /* a {{field}} template file */
};

/* Per-sample text in chat and mail bodies, in characters. */
#define RENDER_SAMPLE_CHARS 280
/* Samples shown in chat messages (blocks and embeds are capped). */
#define RENDER_CHAT_SAMPLES 10
/* Discord's documented limits. */
#define RENDER_DISCORD_CONTENT 2000
#define RENDER_DISCORD_EMBED_TOTAL 6000
/* Slack: section text, header text and top-level text. */
#define RENDER_SLACK_SECTION 3000
#define RENDER_SLACK_HEADER 150
#define RENDER_SLACK_TEXT 4000
/* Templates: the largest template and rendered body. */
#define RENDER_TEMPLATE_MAX_BYTES (1024 * 1024)

/* Fills a->id from rule, window start, status, and escalation and repeat
 * when set (hex of a 128-bit hash). */
void render_alert_id(struct alert *a);
/* The webhook body, JSON with the fixed fields; caller frees. */
char *render_webhook(const struct alert *a, size_t *len_out);
/* "ALERT firing rule=brand window=… count=240 baseline=31.2 …"; caller
 * frees. */
char *render_text(const struct alert *a);

/* "slack", "teams", "discord", "alertmanager-webhook" → that format;
 * anything else (a file name) → RENDER_TEMPLATE. NULL or "" → RENDER_V1. */
enum render_format render_format_parse(const char *name);
/*
 * The body in format f; tmpl is the template text for RENDER_TEMPLATE
 * (ignored otherwise). NULL with a reason in err when the template is
 * bad or the result too large. Caller frees.
 */
char *render_body(const struct alert *a, enum render_format f, const char *tmpl,
		  size_t *len_out, char *err, size_t errlen);
char *render_slack(const struct alert *a, size_t *len_out);
char *render_teams(const struct alert *a, size_t *len_out);
char *render_discord(const struct alert *a, size_t *len_out);
/* Alertmanager's webhook receiver body (version "4", one alert). */
char *render_am_webhook(const struct alert *a, size_t *len_out);
/*
 * The body of POST /api/v2/alerts: one alert with labels (alertname,
 * rule, the rule's labels), annotations (summary, description, samples),
 * startsAt and endsAt = ends_at_ms (now when resolving, a little later
 * than the next re-send while firing).
 */
char *render_am_alerts(const struct alert *a, int64_t ends_at_ms,
		       size_t *len_out);
/*
 * Expands {{field}} in tmpl: id, status, rule, window_start, window_end,
 * window (duration), count, baseline, ratio, score, summary, subject,
 * link, labels.NAME; values are JSON-string escaped (no quotes), so the
 * template can put them inside "…". {{json FIELD}} inserts a JSON value
 * instead: any field above, or samples, labels, body (the v1 body).
 * Unknown fields and unterminated {{ are errors (NULL, reason in err).
 */
char *render_template(const char *tmpl, const struct alert *a, size_t *len_out,
		      char *err, size_t errlen);
/* Checks a template's syntax and field names without an alert. */
int render_template_check(const char *tmpl, char *err,
			  size_t errlen) HARK_MUST_CHECK;
/* a->external_url expanded with URL-escaped values, or NULL. */
char *render_link(const struct alert *a);
/* "[hark] brand: 240 mentions in 5 min (usual 31)", of the span when it
 * has one, "[hark] bigger: …" for an escalation; caller frees. */
char *render_email_subject(const struct alert *a);
char *render_email_text(const struct alert *a);
char *render_email_html(const struct alert *a);

/*
 * Groups (a receiver's group_wait): n >= 2 firing alerts of different rules
 * sent as one message. The id is a hash of the sorted member ids, so the
 * same members give the same id on every retry and after a restart.
 */
/* Members listed in a chat message; the rest as "…and N more". */
#define RENDER_GROUP_CHAT_MEMBERS 40
/* A grouped Discord embed's description (Discord allows 4096). */
#define RENDER_GROUP_DISCORD_DESC 4000
void render_group_id(const struct alert *alerts, size_t n, char out[33]);
/* {"version":1,"id":…,"status":"firing","group":true,"alerts":[<v1>…]} */
char *render_group_webhook(const struct alert *alerts, size_t n,
			   size_t *len_out);
char *render_group_slack(const struct alert *alerts, size_t n, size_t *len_out);
char *render_group_teams(const struct alert *alerts, size_t n, size_t *len_out);
char *render_group_discord(const struct alert *alerts, size_t n,
			   size_t *len_out);
/* RENDER_V1, SLACK, TEAMS or DISCORD; others: NULL, reason in err. */
char *render_group_body(const struct alert *alerts, size_t n,
			enum render_format f, size_t *len_out, char *err,
			size_t errlen);
/* "[hark] 2 rules firing: brand, product" */
char *render_group_email_subject(const struct alert *alerts, size_t n);
char *render_group_email_text(const struct alert *alerts, size_t n);
char *render_group_email_html(const struct alert *alerts, size_t n);

#endif
