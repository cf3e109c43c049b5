/* SPDX-License-Identifier: MIT */
/*
 * The alert id and every rendering of an alert: the webhook body of
 * DESIGN §6 (fields in the documented order, plus "summary" and the
 * optional extras), the log receiver's text, chat bodies within each
 * service's documented limits, Alertmanager, templates and e-mail. Pure;
 * delivery and signing live in io/ and core/sign.c.
 */
#include "core/render.h"
#include "core/window.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mention.h"
#include "util/buf.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

/* Numbers beyond this are not meaningful in an alert and would print in
 * exponent form; ratios against a floored baseline can get there. */
#define RENDER_NUMBER_CAP 1e9
#define RENDER_TEXT_SAMPLES 3
#define RENDER_TEXT_CHARS 120

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t id_hash(uint64_t seed, const struct alert *a)
{
	char start[32];
	const char *rule = a->rule != NULL ? a->rule : "";
	const char *status = a->status != NULL ? a->status : "";
	uint64_t h = seed;

	snprintf(start, sizeof(start), "%" PRId64, a->window_start_ms);
	/* The NULs separate the fields so that ("ab", 1) and ("a", b1) differ. */
	h = fnv1a(h, rule, strlen(rule) + 1);
	h = fnv1a(h, start, strlen(start) + 1);
	h = fnv1a(h, status, strlen(status));
	if (a->escalation) {
		/* Only escalations hash it, as repeats below: an escalation
		 * is a notification of its own, whatever its window. */
		h = fnv1a(h, "", 1);
		h = fnv1a(h, "escalation", strlen("escalation"));
	}
	if (a->repeat > 0) {
		/* Only repeats hash it: the ids of first notifications stay
		 * what they always were. */
		snprintf(start, sizeof(start), "%" PRId64, a->repeat);
		h = fnv1a(h, "", 1);
		h = fnv1a(h, start, strlen(start));
	}
	/* A final avalanche, as FNV's last byte otherwise only touches the low
	 * bits of the two halves in a correlated way. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

void render_alert_id(struct alert *a)
{
	uint64_t hi = id_hash(0xcbf29ce484222325ULL, a);
	uint64_t lo = id_hash(0xcbf29ce484222325ULL ^ 0x9e3779b97f4a7c15ULL, a);

	snprintf(a->id, sizeof(a->id), "%016" PRIx64 "%016" PRIx64, hi, lo);
}

static double clean_number(double v)
{
	if (isnan(v)) {
		return 0.0;
	}
	if (v > RENDER_NUMBER_CAP) {
		return RENDER_NUMBER_CAP;
	}
	if (v < -RENDER_NUMBER_CAP) {
		return -RENDER_NUMBER_CAP;
	}
	return round(v * 100.0) / 100.0;
}

/* Whole seconds, rounded down also before the epoch. */
static int64_t floor_s(int64_t ms)
{
	return window_bucket_start(ms, 1000) / 1000;
}

static const char *or_empty(const char *s)
{
	return s != NULL ? s : "";
}

static cJSON *labels_json(const struct alert *a)
{
	cJSON *o = cJSON_CreateObject();

	for (size_t i = 0; i < a->n_labels; i++) {
		const struct render_label *l = &a->labels[i];

		if (l->name == NULL || cJSON_HasObjectItem(o, l->name)) {
			continue;
		}
		cJSON_AddStringToObject(o, l->name, or_empty(l->value));
	}
	return o;
}

static cJSON *tops_json(const struct render_top *t, size_t n)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "name", or_empty(t[i].name));
		cJSON_AddNumberToObject(o, "count", (double)t[i].count);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *emerging_json(const struct alert *a)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < a->n_emerging; i++) {
		const struct render_emerging *t = &a->emerging[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "term", or_empty(t->term));
		cJSON_AddNumberToObject(o, "count", (double)t->count);
		cJSON_AddNumberToObject(o, "usual", clean_number(t->usual));
		cJSON_AddNumberToObject(o, "ratio", clean_number(t->ratio));
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

/* The optional fields of the v1 body, after the fixed ones and only when
 * known, so that a body without them stays as DESIGN §6 shows it. */
static void add_extras(cJSON *root, const struct alert *a)
{
	char *link = render_link(a);

	if (link != NULL) {
		cJSON_AddStringToObject(root, "url", link);
		free(link);
	}
	if (a->n_emerging > 0) {
		cJSON_AddItemToObject(root, "emerging_terms", emerging_json(a));
	}
	if (a->n_top_terms > 0) {
		cJSON_AddItemToObject(root, "top_terms",
				      tops_json(a->top_terms, a->n_top_terms));
	}
	if (a->n_top_authors > 0) {
		cJSON_AddItemToObject(
			root, "top_authors",
			tops_json(a->top_authors, a->n_top_authors));
	}
	if (a->n_top_langs > 0) {
		cJSON_AddItemToObject(root, "top_languages",
				      tops_json(a->top_langs, a->n_top_langs));
	}
}

static cJSON *sample_json(const struct mention *m)
{
	cJSON *o = cJSON_CreateObject();
	char ts[32] = "";

	if (m->has_created_at || m->created_at_ms != 0) {
		timeutil_format_rfc3339_ms(m->created_at_ms, ts);
	}
	cJSON_AddStringToObject(o, "id", or_empty(m->id));
	cJSON_AddStringToObject(o, "text", or_empty(m->text));
	cJSON_AddStringToObject(o, "created_at", ts);
	cJSON_AddStringToObject(o, "author", or_empty(m->author));
	cJSON_AddStringToObject(o, "url", or_empty(m->url));
	return o;
}

static bool is_resolved(const struct alert *a)
{
	return a->status != NULL && strcmp(a->status, "resolved") == 0;
}

/* A firing alert's score is of a span longer than its window. */
static bool has_span(const struct alert *a)
{
	return !is_resolved(a) &&
	       a->span_ms > a->window_end_ms - a->window_start_ms;
}

/* What a firing alert is about: its span's figures when it has one (the
 * ratio floored at 0.5 like the detector's), else its window's. */
static void headline(const struct alert *a, int64_t *ms, int64_t *count,
		     double *baseline, double *ratio)
{
	if (has_span(a)) {
		*ms = a->span_ms;
		*count = a->span_count;
		*baseline = a->span_baseline;
		*ratio = (double)a->span_count /
			 (a->span_baseline > 0.5 ? a->span_baseline : 0.5);
		return;
	}
	*ms = a->window_end_ms - a->window_start_ms;
	*count = a->count;
	*baseline = a->baseline;
	*ratio = a->ratio;
}

/* "bigger: " on an escalation's texts, else "". */
static const char *escalation_prefix(const struct alert *a)
{
	return !is_resolved(a) && a->escalation ? "bigger: " : "";
}

static char *about_text(const struct alert *a, size_t max_terms);

static char *summary(const struct alert *a)
{
	char dur[32];
	int64_t ms, count;
	double base, ratio;
	char *about, *s;

	if (is_resolved(a)) {
		timeutil_format_duration(a->window_end_ms - a->window_start_ms,
					 dur);
		return xasprintf("%s: back to normal, %" PRId64
				 " mentions in %s (usual %.1f)",
				 or_empty(a->rule), a->count, dur,
				 clean_number(a->baseline));
	}
	headline(a, &ms, &count, &base, &ratio);
	timeutil_format_duration(ms, dur);
	about = about_text(a, RENDER_ABOUT_SUMMARY_TERMS);
	s = xasprintf("%s%s: %" PRId64 " mentions in %s (usual %.1f, %.1fx)"
		      "%s%s",
		      escalation_prefix(a), or_empty(a->rule), count, dur,
		      clean_number(base), clean_number(ratio),
		      about[0] != '\0' ? "; about: " : "", about);
	free(about);
	return s;
}

char *render_webhook(const struct alert *a, size_t *len_out)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *samples;
	char ts[32];
	char *sum;
	char *out;

	cJSON_AddNumberToObject(root, "version", 1);
	cJSON_AddStringToObject(root, "id", a->id);
	cJSON_AddStringToObject(root, "status", or_empty(a->status));
	cJSON_AddStringToObject(root, "rule", or_empty(a->rule));
	cJSON_AddItemToObject(root, "labels", labels_json(a));
	timeutil_format_rfc3339(floor_s(a->window_start_ms), ts);
	cJSON_AddStringToObject(root, "window_start", ts);
	timeutil_format_rfc3339(floor_s(a->window_end_ms), ts);
	cJSON_AddStringToObject(root, "window_end", ts);
	/* cJSON prints whole doubles up to 2^53 without an exponent. */
	cJSON_AddNumberToObject(root, "count", (double)a->count);
	cJSON_AddNumberToObject(root, "baseline", clean_number(a->baseline));
	cJSON_AddNumberToObject(root, "ratio", clean_number(a->ratio));
	cJSON_AddNumberToObject(root, "score", clean_number(a->score));
	if (!is_resolved(a) && a->record_days > 0) {
		cJSON *rec = cJSON_AddObjectToObject(root, "record");

		cJSON_AddNumberToObject(rec, "count", (double)a->record);
		cJSON_AddNumberToObject(rec, "days", a->record_days);
	}
	if (has_span(a)) {
		cJSON *span = cJSON_AddObjectToObject(root, "span");

		cJSON_AddNumberToObject(
			span, "minutes",
			clean_number((double)a->span_ms / 60000.0));
		cJSON_AddNumberToObject(span, "count", (double)a->span_count);
		cJSON_AddNumberToObject(span, "baseline",
					clean_number(a->span_baseline));
	}
	samples = cJSON_AddArrayToObject(root, "samples");
	for (size_t i = 0; i < a->n_samples; i++) {
		cJSON_AddItemToArray(samples, sample_json(&a->samples[i]));
	}
	sum = summary(a);
	cJSON_AddStringToObject(root, "summary", sum);
	free(sum);
	add_extras(root, a);
	if (!is_resolved(a) && a->escalation) {
		cJSON_AddTrueToObject(root, "escalation");
	}
	if (a->repeat > 0) {
		cJSON_AddNumberToObject(root, "repeat", (double)a->repeat);
	}
	out = cJSON_PrintUnformatted(root);
	HARK_ASSERT(out != NULL);
	cJSON_Delete(root);
	if (len_out != NULL) {
		*len_out = strlen(out);
	}
	/* cJSON allocates with malloc, so the caller's free() matches. */
	return out;
}

/* Appends at most max_chars UTF-8 characters of s, with control characters
 * as spaces so that one sample stays on one line. Returns -1 at the cap. */
static int append_clipped(struct buf *b, const char *s, size_t max_chars)
{
	size_t chars = 0;

	for (size_t i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];
		int rc;

		if ((c & 0xc0) != 0x80) {
			if (chars == max_chars) {
				return buf_append(b, "...", 3);
			}
			chars++;
		}
		if (c < 0x20 || c == 0x7f) {
			rc = buf_putc(b, ' ');
		} else {
			rc = buf_putc(b, (char)c);
		}
		if (rc != 0) {
			return -1;
		}
	}
	return 0;
}

char *render_text(const struct alert *a)
{
	struct buf b;
	char ts[32];
	char dur[32];
	size_t n = a->n_samples < RENDER_TEXT_SAMPLES ? a->n_samples
						      : RENDER_TEXT_SAMPLES;

	/* Rule names and authors are bounded upstream; the cap only keeps a
	 * hostile sample from making a huge log line. */
	buf_init(&b, 16 * 1024);
	timeutil_format_rfc3339(floor_s(a->window_start_ms), ts);
	timeutil_format_duration(a->window_end_ms - a->window_start_ms, dur);
	if (buf_printf(&b,
		       "ALERT %s rule=%s window=%s/%s count=%" PRId64
		       " baseline=%.1f ratio=%.1f score=%.1f",
		       or_empty(a->status), or_empty(a->rule), ts, dur,
		       a->count, clean_number(a->baseline),
		       clean_number(a->ratio), clean_number(a->score)) != 0) {
		goto out;
	}
	if (has_span(a)) {
		timeutil_format_duration(a->span_ms, dur);
		if (buf_printf(&b,
			       " span=%s span_count=%" PRId64
			       " span_baseline=%.1f",
			       dur, a->span_count,
			       clean_number(a->span_baseline)) != 0) {
			goto out;
		}
	}
	if (!is_resolved(a) && a->escalation &&
	    buf_append(&b, " escalation=true", 16) != 0) {
		goto out;
	}
	/* what it is about, as the summaries say it: the first few */
	for (size_t i = 0; !is_resolved(a) && i < a->n_emerging && i < 5; i++) {
		if (buf_append(&b, i == 0 ? " about=" : ",", i == 0 ? 7 : 1) !=
			    0 ||
		    append_clipped(&b, or_empty(a->emerging[i].term), 40) !=
			    0) {
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct mention *m = &a->samples[i];
		const char *author = or_empty(m->author);

		if (buf_append(&b, "\n  - ", 5) != 0) {
			goto out;
		}
		if (*author != '\0') {
			if (buf_putc(&b, '@') != 0 ||
			    append_clipped(&b, author, 64) != 0 ||
			    buf_append(&b, ": ", 2) != 0) {
				goto out;
			}
		}
		if (append_clipped(&b, or_empty(m->text), RENDER_TEXT_CHARS) !=
		    0) {
			goto out;
		}
	}
out:
	return buf_steal(&b, NULL);
}

/* ---- shared pieces of the chat, Alertmanager, template and mail bodies */

/* Length of the UTF-8 sequence led by c; stray bytes count as one. */
static size_t utf8_len(unsigned char c)
{
	if (c >= 0xf0 && c < 0xf8) {
		return 4;
	}
	if (c >= 0xe0) {
		return c < 0xf0 ? 3 : 1;
	}
	if (c >= 0xc0) {
		return 2;
	}
	return 1;
}

/* Characters as JavaScript and the chat services count them: UTF-16 code
 * units, so a 4-byte sequence (an emoji) counts twice. */
static size_t units_of(size_t seq_len)
{
	return seq_len == 4 ? 2 : 1;
}

/*
 * s cut to at most max_units UTF-16 units, ending in "…" when cut; with
 * oneline, control characters become spaces. Caller frees.
 */
static char *clip(const char *s, size_t max_units, bool oneline)
{
	size_t total = 0;
	size_t units = 0;
	size_t n = strlen(s);
	struct buf b;

	for (size_t i = 0; i < n;) {
		size_t l = utf8_len((unsigned char)s[i]);

		total += units_of(l);
		i += l;
	}
	buf_init(&b, n + 8);
	for (size_t i = 0; i < n;) {
		size_t l = utf8_len((unsigned char)s[i]);
		unsigned char c = (unsigned char)s[i];
		int rc;

		if (i + l > n) {
			break;
		}
		if (total > max_units && units + units_of(l) + 1 > max_units) {
			break;
		}
		if (oneline && (c < 0x20 || c == 0x7f)) {
			rc = buf_putc(&b, ' ');
		} else {
			rc = buf_append(&b, s + i, l);
		}
		HARK_ASSERT(rc == 0);
		units += units_of(l);
		i += l;
	}
	if (total > max_units && max_units > 0) {
		/* U+2026 is one unit. */
		if (buf_append(&b, "\xe2\x80\xa6", 3) != 0) {
			HARK_ASSERT(!"clip: buffer sized for the ellipsis");
		}
	}
	return buf_steal(&b, NULL);
}

/* "5 min", "1 h", "30 s", "2 days": for people, not for parsing. */
static void human_duration(int64_t ms, char out[32])
{
	if (ms > 0 && ms % 86400000 == 0) {
		int64_t d = ms / 86400000;

		snprintf(out, 32, "%" PRId64 " day%s", d, d == 1 ? "" : "s");
	} else if (ms > 0 && ms % 3600000 == 0) {
		snprintf(out, 32, "%" PRId64 " h", ms / 3600000);
	} else if (ms > 0 && ms % 60000 == 0) {
		snprintf(out, 32, "%" PRId64 " min", ms / 60000);
	} else if (ms % 1000 == 0) {
		snprintf(out, 32, "%" PRId64 " s", ms / 1000);
	} else {
		snprintf(out, 32, "%" PRId64 " ms", ms);
	}
}

static const char *title_word(const struct alert *a)
{
	return is_resolved(a) ? "RESOLVED" : "FIRING";
}

static char *print_json(cJSON *root, size_t *len_out)
{
	char *out = cJSON_PrintUnformatted(root);

	HARK_ASSERT(out != NULL);
	cJSON_Delete(root);
	if (len_out != NULL) {
		*len_out = strlen(out);
	}
	return out;
}

static void append_or_die(struct buf *b, const char *s, size_t n)
{
	if (buf_append(b, s, n) != 0) {
		HARK_ASSERT(!"render: buffer cap reached");
	}
}

static void append_str(struct buf *b, const char *s)
{
	append_or_die(b, s, strlen(s));
}

/*
 * Escapes &, < and > (Slack mrkdwn's control characters, and HTML's), and
 * with quotes also " and ' (HTML attribute values).
 */
static void append_markup(struct buf *b, const char *s, bool quotes)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			append_str(b, "&amp;");
			break;
		case '<':
			append_str(b, "&lt;");
			break;
		case '>':
			append_str(b, "&gt;");
			break;
		case '"':
			append_str(b, quotes ? "&quot;" : "\"");
			break;
		case '\'':
			append_str(b, quotes ? "&#39;" : "'");
			break;
		default:
			append_or_die(b, s, 1);
			break;
		}
	}
}

static void append_slack(struct buf *b, const char *s)
{
	append_markup(b, s, false);
}

/* Backslash before Discord markdown, so a sample cannot restyle the
 * message (mentions are disabled by allowed_mentions instead). */
static void append_discord(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (strchr("\\*_~`|>#[]()", *s) != NULL) {
			append_or_die(b, "\\", 1);
		}
		append_or_die(b, s, 1);
	}
}

static void append_html(struct buf *b, const char *s)
{
	append_markup(b, s, true);
}

static bool is_web_url(const char *s)
{
	return s != NULL &&
	       (strncmp(s, "https://", 8) == 0 ||
		strncmp(s, "http://", 7) == 0) &&
	       strpbrk(s, " <>|\"\r\n") == NULL;
}

static char *tops_text(const char *what, const struct render_top *t, size_t n)
{
	struct buf b;

	buf_init(&b, SIZE_MAX / 2);
	if (n == 0) {
		return buf_steal(&b, NULL);
	}
	append_str(&b, what);
	append_str(&b, ": ");
	for (size_t i = 0; i < n; i++) {
		if (buf_printf(&b, "%s%s (%" PRId64 ")", i > 0 ? ", " : "",
			       or_empty(t[i].name), t[i].count) != 0) {
			HARK_ASSERT(!"render: unbounded buffer refused");
		}
	}
	return buf_steal(&b, NULL);
}

/* Longest term shown in an "about" list, in UTF-16 units: terms.h keeps
 * words up to 40 bytes, and a longer name must not crowd out the rest. */
#define ABOUT_TERM_UNITS 40

/* "panne, appli, réserver": the first max_terms emerging terms, or "". */
static char *about_text(const struct alert *a, size_t max_terms)
{
	struct buf b;

	buf_init(&b, SIZE_MAX / 2);
	for (size_t i = 0; i < a->n_emerging && i < max_terms; i++) {
		char *t = clip(or_empty(a->emerging[i].term), ABOUT_TERM_UNITS,
			       true);

		if (i > 0) {
			append_str(&b, ", ");
		}
		append_str(&b, t);
		free(t);
	}
	return buf_steal(&b, NULL);
}

/* "About: panne, appli, réserver", the line before the top terms, or "". */
static char *about_line(const struct alert *a)
{
	char *t = about_text(a, RENDER_ABOUT_TERMS);
	char *line = t[0] != '\0' ? xasprintf("About: %s", t) : xstrdup("");

	free(t);
	return line;
}

static char *labels_text(const struct alert *a)
{
	struct buf b;

	buf_init(&b, SIZE_MAX / 2);
	for (size_t i = 0; i < a->n_labels; i++) {
		if (buf_printf(&b, "%s%s=%s", i > 0 ? ", " : "",
			       or_empty(a->labels[i].name),
			       or_empty(a->labels[i].value)) != 0) {
			HARK_ASSERT(!"render: unbounded buffer refused");
		}
	}
	return buf_steal(&b, NULL);
}

static size_t chat_samples(const struct alert *a)
{
	return a->n_samples < RENDER_CHAT_SAMPLES ? a->n_samples
						  : RENDER_CHAT_SAMPLES;
}

static void window_text(const struct alert *a, char out[96])
{
	char ts[32];
	char dur[32];

	timeutil_format_rfc3339(floor_s(a->window_start_ms), ts);
	human_duration(a->window_end_ms - a->window_start_ms, dur);
	snprintf(out, 96, "%s (%s)", ts, dur);
}

struct numbers {
	char count[32];
	char baseline[32];
	char ratio[32];
	char score[32];
	char window[96];
};

static void numbers(const struct alert *a, struct numbers *n)
{
	snprintf(n->count, sizeof(n->count), "%" PRId64, a->count);
	snprintf(n->baseline, sizeof(n->baseline), "%.1f",
		 clean_number(a->baseline));
	snprintf(n->ratio, sizeof(n->ratio), "%.1fx", clean_number(a->ratio));
	snprintf(n->score, sizeof(n->score), "%.1f", clean_number(a->score));
	window_text(a, n->window);
}

/* ---- Slack: text (the notification) + blocks ---- */

static cJSON *slack_text(const char *type, const char *text)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, "text", text);
	return o;
}

static cJSON *slack_field(const char *name, const char *value)
{
	char *t = xasprintf("*%s*\n%s", name, value);
	cJSON *o = slack_text("mrkdwn", t);

	free(t);
	return o;
}

char *render_slack(const struct alert *a, size_t *len_out)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *blocks, *blk, *fields;
	struct numbers n;
	struct buf b;
	char *sum = summary(a);
	char *link = render_link(a);
	char *t, *c;

	numbers(a, &n);
	t = clip(sum, RENDER_SLACK_TEXT, true);
	cJSON_AddStringToObject(root, "text", t);
	free(t);
	blocks = cJSON_AddArrayToObject(root, "blocks");

	c = xasprintf("%s: %s", title_word(a), or_empty(a->rule));
	t = clip(c, RENDER_SLACK_HEADER, true);
	blk = cJSON_CreateObject();
	cJSON_AddStringToObject(blk, "type", "header");
	cJSON_AddItemToObject(blk, "text", slack_text("plain_text", t));
	cJSON_AddItemToArray(blocks, blk);
	free(t);
	free(c);

	buf_init(&b, SIZE_MAX / 2);
	c = clip(sum, 1000, true);
	append_slack(&b, c);
	free(c);
	blk = cJSON_CreateObject();
	cJSON_AddStringToObject(blk, "type", "section");
	cJSON_AddItemToObject(blk, "text", slack_text("mrkdwn", b.data));
	buf_fini(&b);
	fields = cJSON_AddArrayToObject(blk, "fields");
	cJSON_AddItemToArray(fields, slack_field("Count", n.count));
	cJSON_AddItemToArray(fields, slack_field("Usual", n.baseline));
	cJSON_AddItemToArray(fields, slack_field("Ratio", n.ratio));
	cJSON_AddItemToArray(fields, slack_field("Score", n.score));
	cJSON_AddItemToArray(fields, slack_field("Window", n.window));
	cJSON_AddItemToArray(blocks, blk);

	if (a->n_labels > 0 || a->n_top_terms > 0 || a->n_top_authors > 0 ||
	    a->n_top_langs > 0 || a->n_emerging > 0) {
		char *parts[5];

		parts[0] = labels_text(a);
		parts[1] = about_line(a);
		parts[2] = tops_text("Top terms", a->top_terms, a->n_top_terms);
		parts[3] = tops_text("Top authors", a->top_authors,
				     a->n_top_authors);
		parts[4] = tops_text("Languages", a->top_langs, a->n_top_langs);
		buf_init(&b, SIZE_MAX / 2);
		/* A context element holds 3000 characters: 4 x 600 and the
		 * shorter "About" line. */
		for (size_t i = 0; i < 5; i++) {
			if (parts[i][0] != '\0') {
				c = clip(parts[i], i == 1 ? 300 : 600, true);
				if (b.len > 0) {
					append_str(&b, "\n");
				}
				append_slack(&b, c);
				free(c);
			}
			free(parts[i]);
		}
		blk = cJSON_CreateObject();
		cJSON_AddStringToObject(blk, "type", "context");
		cJSON_AddItemToArray(cJSON_AddArrayToObject(blk, "elements"),
				     slack_text("mrkdwn", b.data));
		buf_fini(&b);
		cJSON_AddItemToArray(blocks, blk);
	}
	if (chat_samples(a) > 0) {
		blk = cJSON_CreateObject();
		cJSON_AddStringToObject(blk, "type", "divider");
		cJSON_AddItemToArray(blocks, blk);
	}
	for (size_t i = 0; i < chat_samples(a); i++) {
		const struct mention *m = &a->samples[i];

		buf_init(&b, SIZE_MAX / 2);
		if (or_empty(m->author)[0] != '\0') {
			append_str(&b, "*@");
			c = clip(m->author, 64, true);
			append_slack(&b, c);
			free(c);
			append_str(&b, "*");
		}
		if (is_web_url(m->url)) {
			if (buf_printf(&b, "%s<%s|link>",
				       b.len > 0 ? " · " : "", m->url) != 0) {
				HARK_ASSERT(!"render: unbounded buffer");
			}
		}
		if (b.len > 0) {
			append_str(&b, "\n");
		}
		append_str(&b, ">");
		c = clip(or_empty(m->text), RENDER_SAMPLE_CHARS, true);
		append_slack(&b, c);
		free(c);
		blk = cJSON_CreateObject();
		cJSON_AddStringToObject(blk, "type", "section");
		cJSON_AddItemToObject(blk, "text",
				      slack_text("mrkdwn", b.data));
		buf_fini(&b);
		cJSON_AddItemToArray(blocks, blk);
	}
	if (link != NULL && is_web_url(link) && strlen(link) <= 3000) {
		cJSON *btn = cJSON_CreateObject();

		cJSON_AddStringToObject(btn, "type", "button");
		cJSON_AddItemToObject(btn, "text",
				      slack_text("plain_text", "Open"));
		cJSON_AddStringToObject(btn, "url", link);
		blk = cJSON_CreateObject();
		cJSON_AddStringToObject(blk, "type", "actions");
		cJSON_AddItemToArray(cJSON_AddArrayToObject(blk, "elements"),
				     btn);
		cJSON_AddItemToArray(blocks, blk);
	}
	free(link);
	free(sum);
	return print_json(root, len_out);
}

/* ---- Microsoft Teams: an Adaptive Card in attachments ---- */

static cJSON *card_text(const char *text, bool bold, bool subtle)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "type", "TextBlock");
	cJSON_AddStringToObject(o, "text", text);
	cJSON_AddBoolToObject(o, "wrap", true);
	if (bold) {
		cJSON_AddStringToObject(o, "weight", "Bolder");
		cJSON_AddStringToObject(o, "size", "Medium");
	}
	if (subtle) {
		cJSON_AddBoolToObject(o, "isSubtle", true);
	}
	return o;
}

static void add_fact(cJSON *facts, const char *title, const char *value)
{
	cJSON *f = cJSON_CreateObject();
	char *v = clip(value, 500, true);

	cJSON_AddStringToObject(f, "title", title);
	cJSON_AddStringToObject(f, "value", v);
	cJSON_AddItemToArray(facts, f);
	free(v);
}

static void about_fact(cJSON *facts, const struct alert *a)
{
	char *t = about_text(a, RENDER_ABOUT_TERMS);

	if (t[0] != '\0') {
		add_fact(facts, "About", t);
	}
	free(t);
}

char *render_teams(const struct alert *a, size_t *len_out)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *att, *card, *body, *facts, *fs, *blk;
	struct numbers n;
	char *sum = summary(a);
	char *link = render_link(a);
	char *t, *c;
	char *tops[4];

	numbers(a, &n);
	cJSON_AddStringToObject(root, "type", "message");
	att = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "attachments"), att);
	cJSON_AddStringToObject(att, "contentType",
				"application/vnd.microsoft.card.adaptive");
	card = cJSON_AddObjectToObject(att, "content");
	cJSON_AddStringToObject(card, "$schema",
				"http://adaptivecards.io/schemas/"
				"adaptive-card.json");
	cJSON_AddStringToObject(card, "type", "AdaptiveCard");
	cJSON_AddStringToObject(card, "version", "1.4");
	body = cJSON_AddArrayToObject(card, "body");
	c = xasprintf("%s: %s", title_word(a), or_empty(a->rule));
	t = clip(c, 200, true);
	blk = card_text(t, true, false);
	cJSON_AddStringToObject(blk, "color",
				is_resolved(a) ? "Good" : "Attention");
	cJSON_AddItemToArray(body, blk);
	free(t);
	free(c);
	t = clip(sum, 1000, true);
	cJSON_AddItemToArray(body, card_text(t, false, false));
	free(t);
	fs = cJSON_CreateObject();
	cJSON_AddStringToObject(fs, "type", "FactSet");
	facts = cJSON_AddArrayToObject(fs, "facts");
	add_fact(facts, "Count", n.count);
	add_fact(facts, "Usual", n.baseline);
	add_fact(facts, "Ratio", n.ratio);
	add_fact(facts, "Score", n.score);
	add_fact(facts, "Window", n.window);
	for (size_t i = 0; i < a->n_labels && i < 20; i++) {
		add_fact(facts, or_empty(a->labels[i].name),
			 or_empty(a->labels[i].value));
	}
	about_fact(facts, a);
	tops[0] = tops_text("Top terms", a->top_terms, a->n_top_terms);
	tops[1] = tops_text("Top authors", a->top_authors, a->n_top_authors);
	tops[2] = tops_text("Languages", a->top_langs, a->n_top_langs);
	for (size_t i = 0; i < 3; i++) {
		char *colon = strchr(tops[i], ':');

		if (colon != NULL) {
			*colon = '\0';
			add_fact(facts, tops[i], colon + 2);
		}
		free(tops[i]);
	}
	cJSON_AddItemToArray(body, fs);
	for (size_t i = 0; i < chat_samples(a); i++) {
		const struct mention *m = &a->samples[i];
		char *txt = clip(or_empty(m->text), RENDER_SAMPLE_CHARS, true);
		char *who = clip(or_empty(m->author), 64, true);

		c = xasprintf("%s%s%s%s", who[0] != '\0' ? "@" : "", who,
			      who[0] != '\0' ? ": " : "", txt);
		blk = card_text(c, false, true);
		if (is_web_url(m->url)) {
			cJSON *act = cJSON_CreateObject();

			cJSON_AddStringToObject(act, "type", "Action.OpenUrl");
			cJSON_AddStringToObject(act, "url", m->url);
			cJSON_AddItemToObject(blk, "selectAction", act);
		}
		cJSON_AddItemToArray(body, blk);
		free(c);
		free(txt);
		free(who);
	}
	if (link != NULL && is_web_url(link)) {
		cJSON *act = cJSON_CreateObject();

		cJSON_AddStringToObject(act, "type", "Action.OpenUrl");
		cJSON_AddStringToObject(act, "title", "Open");
		cJSON_AddStringToObject(act, "url", link);
		cJSON_AddItemToArray(cJSON_AddArrayToObject(card, "actions"),
				     act);
	}
	free(link);
	free(sum);
	return print_json(root, len_out);
}

/* ---- Discord: content + one embed, within Discord's limits ---- */

static void add_embed_field(cJSON *fields, const char *name, const char *value,
			    size_t max_units, bool inl)
{
	cJSON *f;
	char *v;

	if (value[0] == '\0') {
		return; /* Discord rejects empty field values */
	}
	v = clip(value, max_units, true);
	f = cJSON_CreateObject();
	cJSON_AddStringToObject(f, "name", name);
	cJSON_AddStringToObject(f, "value", v);
	cJSON_AddBoolToObject(f, "inline", inl);
	cJSON_AddItemToArray(fields, f);
	free(v);
}

static void about_field(cJSON *fields, const struct alert *a)
{
	char *t = about_text(a, RENDER_ABOUT_TERMS);

	add_embed_field(fields, "About", t, 300, false);
	free(t);
}

char *render_discord(const struct alert *a, size_t *len_out)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *embed, *fields, *foot;
	struct numbers n;
	struct buf b;
	char *sum = summary(a);
	char *link = render_link(a);
	char *t, *c;
	char *parts[4];
	char ts[32];

	numbers(a, &n);
	t = clip(sum, RENDER_DISCORD_CONTENT, true);
	cJSON_AddStringToObject(root, "content", t);
	free(t);
	/* Samples may say @everyone: nothing in an alert pings anyone. */
	cJSON_AddArrayToObject(
		cJSON_AddObjectToObject(root, "allowed_mentions"), "parse");
	embed = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "embeds"), embed);
	c = xasprintf("%s: %s", title_word(a), or_empty(a->rule));
	t = clip(c, 256, true);
	cJSON_AddStringToObject(embed, "title", t);
	free(t);
	free(c);
	/* Budget, of the 6000 units an embed may hold in total: title 256,
	 * description 2500, 5 short fields, 4 × 500 of labels and tops, 300
	 * of "About", a short footer. */
	buf_init(&b, SIZE_MAX / 2);
	for (size_t i = 0; i < chat_samples(a); i++) {
		const struct mention *m = &a->samples[i];

		if (i > 0) {
			append_str(&b, "\n");
		}
		append_str(&b, "> ");
		if (or_empty(m->author)[0] != '\0') {
			c = clip(m->author, 64, true);
			append_str(&b, "**@");
			append_discord(&b, c);
			append_str(&b, "** ");
			free(c);
		}
		c = clip(or_empty(m->text), 200, true);
		append_discord(&b, c);
		free(c);
	}
	if (b.len > 0) {
		t = clip(b.data, 2500, false);
		cJSON_AddStringToObject(embed, "description", t);
		free(t);
	}
	buf_fini(&b);
	if (link != NULL && is_web_url(link)) {
		cJSON_AddStringToObject(embed, "url", link);
	}
	cJSON_AddNumberToObject(embed, "color",
				is_resolved(a) ? 0x2eb67d : 0xe01e5a);
	timeutil_format_rfc3339(floor_s(a->window_end_ms), ts);
	cJSON_AddStringToObject(embed, "timestamp", ts);
	fields = cJSON_AddArrayToObject(embed, "fields");
	add_embed_field(fields, "Count", n.count, 64, true);
	add_embed_field(fields, "Usual", n.baseline, 64, true);
	add_embed_field(fields, "Ratio", n.ratio, 64, true);
	add_embed_field(fields, "Score", n.score, 64, true);
	add_embed_field(fields, "Window", n.window, 96, true);
	parts[0] = labels_text(a);
	parts[1] = tops_text("x", a->top_terms, a->n_top_terms);
	parts[2] = tops_text("x", a->top_authors, a->n_top_authors);
	parts[3] = tops_text("x", a->top_langs, a->n_top_langs);
	add_embed_field(fields, "Labels", parts[0], 500, false);
	about_field(fields, a);
	for (size_t i = 1; i < 4; i++) {
		static const char *const names[] = {"", "Top terms",
						    "Top authors", "Languages"};

		add_embed_field(fields, names[i],
				parts[i][0] != '\0' ? parts[i] + 3 : "", 500,
				false);
	}
	for (size_t i = 0; i < 4; i++) {
		free(parts[i]);
	}
	foot = cJSON_AddObjectToObject(embed, "footer");
	cJSON_AddStringToObject(foot, "text", "hark");
	free(link);
	free(sum);
	return print_json(root, len_out);
}

/* ---- Alertmanager ---- */

static bool am_label_name_ok(const char *s)
{
	if (s == NULL || !((*s >= 'a' && *s <= 'z') ||
			   (*s >= 'A' && *s <= 'Z') || *s == '_')) {
		return false;
	}
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_')) {
			return false;
		}
	}
	return true;
}

/* alertname and rule first; the rule's labels may not override them, and
 * names Alertmanager would refuse are left out. */
static cJSON *am_labels(const struct alert *a)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "alertname", or_empty(a->rule));
	cJSON_AddStringToObject(o, "rule", or_empty(a->rule));
	for (size_t i = 0; i < a->n_labels; i++) {
		const struct render_label *l = &a->labels[i];

		if (!am_label_name_ok(l->name) ||
		    cJSON_HasObjectItem(o, l->name)) {
			continue;
		}
		cJSON_AddStringToObject(o, l->name, or_empty(l->value));
	}
	return o;
}

static cJSON *am_annotations(const struct alert *a)
{
	cJSON *o = cJSON_CreateObject();
	struct numbers n;
	struct buf b;
	char *sum = summary(a);
	char *d;

	numbers(a, &n);
	cJSON_AddStringToObject(o, "summary", sum);
	d = xasprintf("count %s, usual %s, ratio %s, score %s, window %s",
		      n.count, n.baseline, n.ratio, n.score, n.window);
	cJSON_AddStringToObject(o, "description", d);
	free(d);
	buf_init(&b, SIZE_MAX / 2);
	for (size_t i = 0; i < chat_samples(a); i++) {
		const struct mention *m = &a->samples[i];
		char *c = clip(or_empty(m->text), RENDER_SAMPLE_CHARS, true);

		if (buf_printf(&b, "%s%s%s%s%s%s", i > 0 ? "\n" : "",
			       or_empty(m->author)[0] != '\0' ? "@" : "",
			       or_empty(m->author),
			       or_empty(m->author)[0] != '\0' ? ": " : "", c,
			       is_web_url(m->url) ? "" : "") != 0) {
			HARK_ASSERT(!"render: unbounded buffer");
		}
		if (is_web_url(m->url)) {
			append_str(&b, " ");
			append_str(&b, m->url);
		}
		free(c);
	}
	if (b.len > 0) {
		cJSON_AddStringToObject(o, "samples", b.data);
	}
	buf_fini(&b);
	free(sum);
	return o;
}

static int64_t started_at(const struct alert *a)
{
	return a->started_at_ms != 0 ? a->started_at_ms : a->window_start_ms;
}

char *render_am_alerts(const struct alert *a, int64_t ends_at_ms,
		       size_t *len_out)
{
	cJSON *arr = cJSON_CreateArray();
	cJSON *o = cJSON_CreateObject();
	char *link = render_link(a);
	char ts[32];

	cJSON_AddItemToObject(o, "labels", am_labels(a));
	cJSON_AddItemToObject(o, "annotations", am_annotations(a));
	timeutil_format_rfc3339_ms(started_at(a), ts);
	cJSON_AddStringToObject(o, "startsAt", ts);
	timeutil_format_rfc3339_ms(ends_at_ms, ts);
	cJSON_AddStringToObject(o, "endsAt", ts);
	if (link != NULL && is_web_url(link)) {
		cJSON_AddStringToObject(o, "generatorURL", link);
	}
	free(link);
	cJSON_AddItemToArray(arr, o);
	return print_json(arr, len_out);
}

char *render_am_webhook(const struct alert *a, size_t *len_out)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *al = cJSON_CreateObject();
	cJSON *group = cJSON_CreateObject();
	char *link = render_link(a);
	char *gk;
	char ts[32];

	cJSON_AddStringToObject(root, "version", "4");
	gk = xasprintf("{}:{alertname=\"%s\"}", or_empty(a->rule));
	cJSON_AddStringToObject(root, "groupKey", gk);
	free(gk);
	cJSON_AddNumberToObject(root, "truncatedAlerts", 0);
	cJSON_AddStringToObject(root, "status", or_empty(a->status));
	cJSON_AddStringToObject(root, "receiver",
				a->receiver != NULL ? a->receiver : "hark");
	cJSON_AddStringToObject(group, "alertname", or_empty(a->rule));
	cJSON_AddItemToObject(root, "groupLabels", group);
	cJSON_AddItemToObject(root, "commonLabels", am_labels(a));
	cJSON_AddItemToObject(root, "commonAnnotations", am_annotations(a));
	cJSON_AddStringToObject(root, "externalURL",
				link != NULL && is_web_url(link) ? link : "");
	cJSON_AddStringToObject(al, "status", or_empty(a->status));
	cJSON_AddItemToObject(al, "labels", am_labels(a));
	cJSON_AddItemToObject(al, "annotations", am_annotations(a));
	timeutil_format_rfc3339_ms(started_at(a), ts);
	cJSON_AddStringToObject(al, "startsAt", ts);
	if (is_resolved(a)) {
		timeutil_format_rfc3339_ms(a->window_end_ms, ts);
	} else {
		/* Alertmanager's own "not ended" value. */
		snprintf(ts, sizeof(ts), "0001-01-01T00:00:00Z");
	}
	cJSON_AddStringToObject(al, "endsAt", ts);
	cJSON_AddStringToObject(al, "generatorURL",
				link != NULL && is_web_url(link) ? link : "");
	/* Same rule, same fingerprint, whatever the status. */
	memcpy(ts, a->id, 16);
	ts[16] = '\0';
	cJSON_AddStringToObject(al, "fingerprint", ts);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "alerts"), al);
	free(link);
	return print_json(root, len_out);
}

/* ---- {{field}} templates ---- */

enum tmode {
	TMODE_JSON, /* values escaped for a JSON string */
	TMODE_URL,  /* values percent-encoded */
};

enum fkind {
	FK_STRING,
	FK_NUMBER,
	FK_JSON_ONLY,
};

static const struct {
	const char *name;
	enum fkind kind;
} tfields[] = {
	{"id", FK_STRING},         {"status", FK_STRING},
	{"rule", FK_STRING},       {"window_start", FK_STRING},
	{"window_end", FK_STRING}, {"window", FK_STRING},
	{"count", FK_NUMBER},      {"baseline", FK_NUMBER},
	{"ratio", FK_NUMBER},      {"score", FK_NUMBER},
	{"summary", FK_STRING},    {"subject", FK_STRING},
	{"link", FK_STRING},       {"samples", FK_JSON_ONLY},
	{"labels", FK_JSON_ONLY},  {"body", FK_JSON_ONLY},
};

/* -1: no such field. */
static int field_kind(const char *name, enum fkind *kind)
{
	if (strncmp(name, "labels.", 7) == 0 && name[7] != '\0') {
		*kind = FK_STRING;
		return 0;
	}
	for (size_t i = 0; i < sizeof(tfields) / sizeof(tfields[0]); i++) {
		if (strcmp(tfields[i].name, name) == 0) {
			*kind = tfields[i].kind;
			return 0;
		}
	}
	return -1;
}

/* The value of a string or number field, as text; caller frees. */
static char *field_text(const struct alert *a, const char *name, bool link_ok)
{
	char ts[32];

	if (strcmp(name, "id") == 0) {
		return xstrdup(a->id);
	}
	if (strcmp(name, "status") == 0) {
		return xstrdup(or_empty(a->status));
	}
	if (strcmp(name, "rule") == 0) {
		return xstrdup(or_empty(a->rule));
	}
	if (strcmp(name, "window_start") == 0) {
		timeutil_format_rfc3339(floor_s(a->window_start_ms), ts);
		return xstrdup(ts);
	}
	if (strcmp(name, "window_end") == 0) {
		timeutil_format_rfc3339(floor_s(a->window_end_ms), ts);
		return xstrdup(ts);
	}
	if (strcmp(name, "window") == 0) {
		timeutil_format_duration(a->window_end_ms - a->window_start_ms,
					 ts);
		return xstrdup(ts);
	}
	if (strcmp(name, "count") == 0) {
		return xasprintf("%" PRId64, a->count);
	}
	if (strcmp(name, "baseline") == 0) {
		return xasprintf("%.2f", clean_number(a->baseline));
	}
	if (strcmp(name, "ratio") == 0) {
		return xasprintf("%.2f", clean_number(a->ratio));
	}
	if (strcmp(name, "score") == 0) {
		return xasprintf("%.2f", clean_number(a->score));
	}
	if (strcmp(name, "summary") == 0) {
		return summary(a);
	}
	if (strcmp(name, "subject") == 0) {
		return render_email_subject(a);
	}
	if (strcmp(name, "link") == 0) {
		char *l = link_ok ? render_link(a) : NULL;

		return l != NULL ? l : xstrdup("");
	}
	if (strncmp(name, "labels.", 7) == 0) {
		for (size_t i = 0; i < a->n_labels; i++) {
			if (a->labels[i].name != NULL &&
			    strcmp(a->labels[i].name, name + 7) == 0) {
				return xstrdup(or_empty(a->labels[i].value));
			}
		}
		return xstrdup("");
	}
	return NULL;
}

static cJSON *field_json(const struct alert *a, const char *name,
			 enum fkind kind)
{
	cJSON *arr;
	char *body;
	cJSON *v;
	char *t;

	if (strcmp(name, "samples") == 0) {
		arr = cJSON_CreateArray();
		for (size_t i = 0; i < a->n_samples; i++) {
			cJSON_AddItemToArray(arr, sample_json(&a->samples[i]));
		}
		return arr;
	}
	if (strcmp(name, "labels") == 0) {
		return labels_json(a);
	}
	if (strcmp(name, "body") == 0) {
		body = render_webhook(a, NULL);
		v = cJSON_Parse(body);
		free(body);
		HARK_ASSERT(v != NULL);
		return v;
	}
	if (strcmp(name, "count") == 0) {
		return cJSON_CreateNumber((double)a->count);
	}
	t = field_text(a, name, true);
	if (kind == FK_NUMBER) {
		v = cJSON_CreateNumber(strtod(t, NULL));
	} else {
		v = cJSON_CreateString(t);
	}
	free(t);
	return v;
}

static void append_escaped(struct buf *b, const char *s, enum tmode mode)
{
	cJSON *str;
	char *q;

	if (mode == TMODE_URL) {
		for (; *s != '\0'; s++) {
			unsigned char c = (unsigned char)*s;

			if (isalnum(c) || strchr("-._~", c) != NULL) {
				append_or_die(b, s, 1);
			} else if (buf_printf(b, "%%%02X", c) != 0) {
				HARK_ASSERT(!"render: url buffer");
			}
		}
		return;
	}
	str = cJSON_CreateString(s);
	q = cJSON_PrintUnformatted(str);
	HARK_ASSERT(q != NULL && strlen(q) >= 2);
	append_or_die(b, q + 1, strlen(q) - 2);
	free(q);
	cJSON_Delete(str);
}

/*
 * The one template walker: with a == NULL it only checks. Returns 0, or
 * -1 with the reason in err. The output is capped in b by the caller.
 */
static int expand_template(const char *tmpl, const struct alert *a,
			   enum tmode mode, struct buf *b, char *err,
			   size_t errlen)
{
	const char *p = tmpl;

	while (*p != '\0') {
		const char *open = strstr(p, "{{");
		const char *close;
		const char *n, *e;
		char name[128];
		bool json = false;
		enum fkind kind;

		if (open == NULL) {
			open = p + strlen(p);
		}
		if (b != NULL && buf_append(b, p, (size_t)(open - p)) != 0) {
			snprintf(err, errlen, "rendered body too large");
			return -1;
		}
		if (*open == '\0') {
			break;
		}
		close = strstr(open + 2, "}}");
		if (close == NULL) {
			snprintf(err, errlen, "unterminated {{ at offset %zu",
				 (size_t)(open - tmpl));
			return -1;
		}
		n = open + 2;
		e = close;
		while (n < e && isspace((unsigned char)*n)) {
			n++;
		}
		while (e > n && isspace((unsigned char)e[-1])) {
			e--;
		}
		if (e - n > 5 && strncmp(n, "json", 4) == 0 &&
		    isspace((unsigned char)n[4])) {
			json = true;
			n += 5;
			while (n < e && isspace((unsigned char)*n)) {
				n++;
			}
		}
		if ((size_t)(e - n) >= sizeof(name) || e == n) {
			snprintf(err, errlen, "bad field at offset %zu",
				 (size_t)(open - tmpl));
			return -1;
		}
		memcpy(name, n, (size_t)(e - n));
		name[e - n] = '\0';
		if (field_kind(name, &kind) < 0) {
			snprintf(err, errlen, "unknown field \"%s\"", name);
			return -1;
		}
		if (kind == FK_JSON_ONLY && !json) {
			snprintf(err, errlen, "field \"%s\" needs {{json %s}}",
				 name, name);
			return -1;
		}
		if (json && mode == TMODE_URL) {
			snprintf(err, errlen, "{{json …}} is not for links");
			return -1;
		}
		if (a != NULL && b != NULL) {
			char *v;
			int rc;

			if (json) {
				cJSON *j = field_json(a, name, kind);

				v = cJSON_PrintUnformatted(j);
				HARK_ASSERT(v != NULL);
				cJSON_Delete(j);
				rc = buf_append(b, v, strlen(v));
			} else {
				struct buf tmp;

				/* A link inside a link would recurse. */
				v = field_text(a, name, mode != TMODE_URL);
				buf_init(&tmp, RENDER_TEMPLATE_MAX_BYTES);
				append_escaped(&tmp, v, mode);
				rc = buf_append(b, or_empty(tmp.data), tmp.len);
				buf_fini(&tmp);
			}
			free(v);
			if (rc != 0) {
				snprintf(err, errlen,
					 "rendered body too large");
				return -1;
			}
		}
		p = close + 2;
	}
	return 0;
}

int render_template_check(const char *tmpl, char *err, size_t errlen)
{
	if (strlen(tmpl) > RENDER_TEMPLATE_MAX_BYTES) {
		snprintf(err, errlen, "template too large");
		return -1;
	}
	return expand_template(tmpl, NULL, TMODE_JSON, NULL, err, errlen);
}

char *render_template(const char *tmpl, const struct alert *a, size_t *len_out,
		      char *err, size_t errlen)
{
	struct buf b;

	buf_init(&b, RENDER_TEMPLATE_MAX_BYTES);
	if (expand_template(tmpl, a, TMODE_JSON, &b, err, errlen) < 0) {
		buf_fini(&b);
		return NULL;
	}
	return buf_steal(&b, len_out);
}

char *render_link(const struct alert *a)
{
	struct buf b;
	char err[128];

	if (a->external_url == NULL || a->external_url[0] == '\0') {
		return NULL;
	}
	buf_init(&b, 8192);
	if (expand_template(a->external_url, a, TMODE_URL, &b, err,
			    sizeof(err)) < 0) {
		buf_fini(&b);
		return NULL;
	}
	return buf_steal(&b, NULL);
}

enum render_format render_format_parse(const char *name)
{
	if (name == NULL || name[0] == '\0') {
		return RENDER_V1;
	}
	if (strcmp(name, "slack") == 0) {
		return RENDER_SLACK;
	}
	if (strcmp(name, "teams") == 0) {
		return RENDER_TEAMS;
	}
	if (strcmp(name, "discord") == 0) {
		return RENDER_DISCORD;
	}
	if (strcmp(name, "alertmanager-webhook") == 0) {
		return RENDER_AM_WEBHOOK;
	}
	return RENDER_TEMPLATE;
}

char *render_body(const struct alert *a, enum render_format f, const char *tmpl,
		  size_t *len_out, char *err, size_t errlen)
{
	switch (f) {
	case RENDER_V1:
		return render_webhook(a, len_out);
	case RENDER_SLACK:
		return render_slack(a, len_out);
	case RENDER_TEAMS:
		return render_teams(a, len_out);
	case RENDER_DISCORD:
		return render_discord(a, len_out);
	case RENDER_AM_WEBHOOK:
		return render_am_webhook(a, len_out);
	case RENDER_TEMPLATE:
		if (tmpl == NULL) {
			snprintf(err, errlen, "no template text");
			return NULL;
		}
		return render_template(tmpl, a, len_out, err, errlen);
	}
	snprintf(err, errlen, "unknown format");
	return NULL;
}

/* ---- e-mail ---- */

char *render_email_subject(const struct alert *a)
{
	char dur[32];
	char *rule = clip(or_empty(a->rule), 100, true);
	char *s;
	int64_t ms, count;
	double base, ratio;

	if (is_resolved(a)) {
		human_duration(a->window_end_ms - a->window_start_ms, dur);
		s = xasprintf("[hark] resolved: %s back to normal, %" PRId64
			      " mentions in %s (usual %.0f)",
			      rule, a->count, dur, clean_number(a->baseline));
	} else {
		headline(a, &ms, &count, &base, &ratio);
		human_duration(ms, dur);
		s = xasprintf("[hark] %s%s: %" PRId64 " mentions in %s (usual "
			      "%.0f)",
			      escalation_prefix(a), rule, count, dur,
			      clean_number(base));
	}
	free(rule);
	return s;
}

char *render_email_text(const struct alert *a)
{
	struct buf b;
	struct numbers n;
	char *sum = summary(a);
	char *link = render_link(a);
	char *labels = labels_text(a);
	char *tops[4];
	char te[32];

	numbers(a, &n);
	timeutil_format_rfc3339(floor_s(a->window_end_ms), te);
	buf_init(&b, SIZE_MAX / 2);
	if (buf_printf(&b,
		       "%s\n\n"
		       "Rule:     %s\n"
		       "Status:   %s\n"
		       "Window:   %s to %s\n"
		       "Count:    %s\n"
		       "Usual:    %s\n"
		       "Ratio:    %s\n"
		       "Score:    %s\n",
		       sum, or_empty(a->rule), or_empty(a->status), n.window,
		       te, n.count, n.baseline, n.ratio, n.score) != 0) {
		HARK_ASSERT(!"render: unbounded buffer");
	}
	if (labels[0] != '\0') {
		append_str(&b, "Labels:   ");
		append_str(&b, labels);
		append_str(&b, "\n");
	}
	if (link != NULL) {
		append_str(&b, "Link:     ");
		append_str(&b, link);
		append_str(&b, "\n");
	}
	tops[0] = about_line(a);
	tops[1] = tops_text("Top terms", a->top_terms, a->n_top_terms);
	tops[2] = tops_text("Top authors", a->top_authors, a->n_top_authors);
	tops[3] = tops_text("Languages", a->top_langs, a->n_top_langs);
	for (size_t i = 0; i < 4; i++) {
		if (tops[i][0] != '\0') {
			append_str(&b, "\n");
			append_str(&b, tops[i]);
		}
		free(tops[i]);
	}
	if (a->n_samples > 0) {
		append_str(&b, "\n\nSample mentions:\n");
	}
	for (size_t i = 0; i < a->n_samples; i++) {
		const struct mention *m = &a->samples[i];
		char *txt = clip(or_empty(m->text), RENDER_SAMPLE_CHARS, true);

		append_str(&b, "\n- ");
		if (or_empty(m->author)[0] != '\0') {
			append_str(&b, "@");
			append_str(&b, m->author);
			append_str(&b, ": ");
		}
		append_str(&b, txt);
		if (or_empty(m->url)[0] != '\0') {
			append_str(&b, "\n  ");
			append_str(&b, m->url);
		}
		free(txt);
	}
	append_str(&b, "\n");
	free(labels);
	free(link);
	free(sum);
	return buf_steal(&b, NULL);
}

static void html_row(struct buf *b, const char *name, const char *value)
{
	append_str(b, "<tr><th align=\"left\">");
	append_html(b, name);
	append_str(b, "</th><td>");
	append_html(b, value);
	append_str(b, "</td></tr>\n");
}

static void about_row(struct buf *b, const struct alert *a)
{
	char *t = about_text(a, RENDER_ABOUT_TERMS);

	if (t[0] != '\0') {
		html_row(b, "About", t);
	}
	free(t);
}

/* One alert's part of an HTML mail: heading, table, link, samples. */
static void email_html_part(struct buf *out, const struct alert *a)
{
	struct buf b;
	struct numbers n;
	char *sum = summary(a);
	char *link = render_link(a);
	char *labels = labels_text(a);
	char *tops[3];

	numbers(a, &n);
	buf_init(&b, SIZE_MAX / 2);
	append_str(&b, "<h2>");
	append_html(&b, sum);
	append_str(&b, "</h2>\n<table border=\"1\" cellpadding=\"4\" "
		       "cellspacing=\"0\">\n");
	html_row(&b, "Rule", or_empty(a->rule));
	html_row(&b, "Status", or_empty(a->status));
	html_row(&b, "Window", n.window);
	html_row(&b, "Count", n.count);
	html_row(&b, "Usual", n.baseline);
	html_row(&b, "Ratio", n.ratio);
	html_row(&b, "Score", n.score);
	if (labels[0] != '\0') {
		html_row(&b, "Labels", labels);
	}
	about_row(&b, a);
	tops[0] = tops_text("Top terms", a->top_terms, a->n_top_terms);
	tops[1] = tops_text("Top authors", a->top_authors, a->n_top_authors);
	tops[2] = tops_text("Languages", a->top_langs, a->n_top_langs);
	for (size_t i = 0; i < 3; i++) {
		char *colon = strchr(tops[i], ':');

		if (colon != NULL) {
			*colon = '\0';
			html_row(&b, tops[i], colon + 2);
		}
		free(tops[i]);
	}
	append_str(&b, "</table>\n");
	if (link != NULL && is_web_url(link)) {
		append_str(&b, "<p><a href=\"");
		append_html(&b, link);
		append_str(&b, "\">Open in hark</a></p>\n");
	}
	if (a->n_samples > 0) {
		append_str(&b, "<h3>Sample mentions</h3>\n<ul>\n");
	}
	for (size_t i = 0; i < a->n_samples; i++) {
		const struct mention *m = &a->samples[i];
		char *txt = clip(or_empty(m->text), RENDER_SAMPLE_CHARS, true);

		append_str(&b, "<li>");
		if (or_empty(m->author)[0] != '\0') {
			append_str(&b, "<b>@");
			append_html(&b, m->author);
			append_str(&b, "</b>: ");
		}
		append_html(&b, txt);
		if (is_web_url(m->url)) {
			append_str(&b, " <a href=\"");
			append_html(&b, m->url);
			append_str(&b, "\">link</a>");
		}
		append_str(&b, "</li>\n");
		free(txt);
	}
	if (a->n_samples > 0) {
		append_str(&b, "</ul>\n");
	}
	append_or_die(out, b.data, b.len);
	buf_fini(&b);
	free(labels);
	free(link);
	free(sum);
}

char *render_email_html(const struct alert *a)
{
	struct buf b;

	buf_init(&b, SIZE_MAX / 2);
	append_str(&b, "<!DOCTYPE html>\n<html><body>\n");
	email_html_part(&b, a);
	append_str(&b, "</body></html>\n");
	return buf_steal(&b, NULL);
}

/* ---- groups: several rules firing within a receiver's group_wait ---- */

void render_group_id(const struct alert *alerts, size_t n, char out[33])
{
	const char **ids = xcalloc(n + 1, sizeof(*ids));
	uint64_t hi = 0xcbf29ce484222325ULL;
	uint64_t lo = 0xcbf29ce484222325ULL ^ 0x9e3779b97f4a7c15ULL;

	/* Sorted, so the id does not depend on which rule fired first. */
	for (size_t i = 0; i < n; i++) {
		size_t j = i;

		while (j > 0 && strcmp(ids[j - 1], alerts[i].id) > 0) {
			ids[j] = ids[j - 1];
			j--;
		}
		ids[j] = alerts[i].id;
	}
	/* "group" first: a group's id never equals one of its members'. */
	hi = fnv1a(hi, "group", 6);
	lo = fnv1a(lo, "group", 6);
	for (size_t i = 0; i < n; i++) {
		hi = fnv1a(hi, ids[i], strlen(ids[i]) + 1);
		lo = fnv1a(lo, ids[i], strlen(ids[i]) + 1);
	}
	hi ^= hi >> 33;
	hi *= 0xff51afd7ed558ccdULL;
	hi ^= hi >> 33;
	lo ^= lo >> 33;
	lo *= 0xff51afd7ed558ccdULL;
	lo ^= lo >> 33;
	snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, hi, lo);
	free(ids);
}

char *render_group_webhook(const struct alert *alerts, size_t n,
			   size_t *len_out)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *arr;
	char id[33];

	render_group_id(alerts, n, id);
	cJSON_AddNumberToObject(root, "version", 1);
	cJSON_AddStringToObject(root, "id", id);
	cJSON_AddStringToObject(root, "status", "firing");
	cJSON_AddBoolToObject(root, "group", true);
	arr = cJSON_AddArrayToObject(root, "alerts");
	for (size_t i = 0; i < n; i++) {
		/* Exactly the body the member would have had on its own. */
		char *one = render_webhook(&alerts[i], NULL);
		cJSON *o = cJSON_Parse(one);

		HARK_ASSERT(o != NULL);
		cJSON_AddItemToArray(arr, o);
		free(one);
	}
	return print_json(root, len_out);
}

/* "3 rules firing: a, b, c", cut to max units. */
static char *group_title(const struct alert *alerts, size_t n, size_t max)
{
	struct buf b;
	char *t;

	buf_init(&b, SIZE_MAX / 2);
	if (buf_printf(&b, "%zu rules firing: ", n) != 0) {
		HARK_ASSERT(!"render: unbounded buffer");
	}
	for (size_t i = 0; i < n; i++) {
		if (i > 0) {
			append_str(&b, ", ");
		}
		append_str(&b, or_empty(alerts[i].rule));
		if (b.len > max * 4) {
			break; /* clipped below anyway */
		}
	}
	t = clip(b.data, max, true);
	buf_fini(&b);
	return t;
}

char *render_group_slack(const struct alert *alerts, size_t n, size_t *len_out)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *blocks, *blk;
	size_t shown =
		n < RENDER_GROUP_CHAT_MEMBERS ? n : RENDER_GROUP_CHAT_MEMBERS;
	char *t, *c;
	struct buf b;

	t = group_title(alerts, n, RENDER_SLACK_TEXT);
	cJSON_AddStringToObject(root, "text", t);
	free(t);
	blocks = cJSON_AddArrayToObject(root, "blocks");
	c = xasprintf("FIRING: %zu rules", n);
	blk = cJSON_CreateObject();
	cJSON_AddStringToObject(blk, "type", "header");
	cJSON_AddItemToObject(blk, "text", slack_text("plain_text", c));
	cJSON_AddItemToArray(blocks, blk);
	free(c);
	for (size_t i = 0; i < shown; i++) {
		const struct alert *a = &alerts[i];
		char *sum = summary(a);
		char *link = render_link(a);

		buf_init(&b, SIZE_MAX / 2);
		append_str(&b, "*");
		c = clip(or_empty(a->rule), 100, true);
		append_slack(&b, c);
		free(c);
		append_str(&b, "*\n");
		c = clip(sum, 1000, true);
		append_slack(&b, c);
		free(c);
		if (link != NULL && is_web_url(link) && strlen(link) <= 1500) {
			append_str(&b, "\n<");
			append_str(&b, link);
			append_str(&b, "|Open>");
		}
		blk = cJSON_CreateObject();
		cJSON_AddStringToObject(blk, "type", "section");
		cJSON_AddItemToObject(blk, "text",
				      slack_text("mrkdwn", b.data));
		cJSON_AddItemToArray(blocks, blk);
		buf_fini(&b);
		free(link);
		free(sum);
	}
	if (shown < n) {
		c = xasprintf("…and %zu more", n - shown);
		blk = cJSON_CreateObject();
		cJSON_AddStringToObject(blk, "type", "context");
		cJSON_AddItemToArray(cJSON_AddArrayToObject(blk, "elements"),
				     slack_text("mrkdwn", c));
		cJSON_AddItemToArray(blocks, blk);
		free(c);
	}
	return print_json(root, len_out);
}

char *render_group_teams(const struct alert *alerts, size_t n, size_t *len_out)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *att, *card, *body, *blk;
	size_t shown =
		n < RENDER_GROUP_CHAT_MEMBERS ? n : RENDER_GROUP_CHAT_MEMBERS;
	char *t;

	cJSON_AddStringToObject(root, "type", "message");
	att = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "attachments"), att);
	cJSON_AddStringToObject(att, "contentType",
				"application/vnd.microsoft.card.adaptive");
	card = cJSON_AddObjectToObject(att, "content");
	cJSON_AddStringToObject(card, "$schema",
				"http://adaptivecards.io/schemas/"
				"adaptive-card.json");
	cJSON_AddStringToObject(card, "type", "AdaptiveCard");
	cJSON_AddStringToObject(card, "version", "1.4");
	body = cJSON_AddArrayToObject(card, "body");
	t = group_title(alerts, n, 200);
	blk = card_text(t, true, false);
	cJSON_AddStringToObject(blk, "color", "Attention");
	cJSON_AddItemToArray(body, blk);
	free(t);
	for (size_t i = 0; i < shown; i++) {
		const struct alert *a = &alerts[i];
		char *sum = summary(a);
		char *link = render_link(a);

		t = clip(sum, 500, true);
		blk = card_text(t, false, false);
		if (link != NULL && is_web_url(link)) {
			cJSON *act = cJSON_CreateObject();

			cJSON_AddStringToObject(act, "type", "Action.OpenUrl");
			cJSON_AddStringToObject(act, "url", link);
			cJSON_AddItemToObject(blk, "selectAction", act);
		}
		cJSON_AddItemToArray(body, blk);
		free(t);
		free(link);
		free(sum);
	}
	if (shown < n) {
		t = xasprintf("…and %zu more", n - shown);
		cJSON_AddItemToArray(body, card_text(t, false, true));
		free(t);
	}
	return print_json(root, len_out);
}

char *render_group_discord(const struct alert *alerts, size_t n,
			   size_t *len_out)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *embed, *foot;
	struct buf b;
	char *t, *c;

	t = group_title(alerts, n, RENDER_DISCORD_CONTENT);
	cJSON_AddStringToObject(root, "content", t);
	free(t);
	cJSON_AddArrayToObject(
		cJSON_AddObjectToObject(root, "allowed_mentions"), "parse");
	embed = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "embeds"), embed);
	c = xasprintf("FIRING: %zu rules", n);
	cJSON_AddStringToObject(embed, "title", c);
	free(c);
	/* Of the embed's 6000 units: a short title, the description's 4096
	 * minus a margin, and the footer. */
	buf_init(&b, SIZE_MAX / 2);
	for (size_t i = 0; i < n && b.len < 4 * RENDER_GROUP_DISCORD_DESC;
	     i++) {
		char *sum = summary(&alerts[i]);

		if (i > 0) {
			append_str(&b, "\n");
		}
		append_str(&b, "• ");
		c = clip(sum, 300, true);
		append_discord(&b, c);
		free(c);
		free(sum);
	}
	t = clip(b.data, RENDER_GROUP_DISCORD_DESC, false);
	cJSON_AddStringToObject(embed, "description", t);
	free(t);
	buf_fini(&b);
	cJSON_AddNumberToObject(embed, "color", 0xe01e5a);
	foot = cJSON_AddObjectToObject(embed, "footer");
	cJSON_AddStringToObject(foot, "text", "hark");
	return print_json(root, len_out);
}

char *render_group_body(const struct alert *alerts, size_t n,
			enum render_format f, size_t *len_out, char *err,
			size_t errlen)
{
	switch (f) {
	case RENDER_V1:
		return render_group_webhook(alerts, n, len_out);
	case RENDER_SLACK:
		return render_group_slack(alerts, n, len_out);
	case RENDER_TEAMS:
		return render_group_teams(alerts, n, len_out);
	case RENDER_DISCORD:
		return render_group_discord(alerts, n, len_out);
	case RENDER_AM_WEBHOOK:
	case RENDER_TEMPLATE:
	default:
		snprintf(err, errlen, "this body format is not grouped");
		return NULL;
	}
}

char *render_group_email_subject(const struct alert *alerts, size_t n)
{
	char *t = group_title(alerts, n, 150);
	char *s = xasprintf("[hark] %s", t);

	free(t);
	return s;
}

char *render_group_email_text(const struct alert *alerts, size_t n)
{
	struct buf b;
	char *t = group_title(alerts, n, SIZE_MAX / 8);

	buf_init(&b, SIZE_MAX / 2);
	append_str(&b, t);
	append_str(&b, "\n");
	free(t);
	for (size_t i = 0; i < n; i++) {
		char *one = render_email_text(&alerts[i]);

		append_str(&b,
			   "\n----------------------------------------\n\n");
		append_str(&b, one);
		free(one);
	}
	return buf_steal(&b, NULL);
}

char *render_group_email_html(const struct alert *alerts, size_t n)
{
	struct buf b;
	char *t = group_title(alerts, n, SIZE_MAX / 8);

	buf_init(&b, SIZE_MAX / 2);
	append_str(&b, "<!DOCTYPE html>\n<html><body>\n<h1>");
	append_html(&b, t);
	append_str(&b, "</h1>\n");
	free(t);
	for (size_t i = 0; i < n; i++) {
		append_str(&b, "<hr>\n");
		email_html_part(&b, &alerts[i]);
	}
	append_str(&b, "</body></html>\n");
	return buf_steal(&b, NULL);
}
