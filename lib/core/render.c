/* SPDX-License-Identifier: MIT */
/*
 * The alert id and the two renderings of an alert: the webhook body of
 * DESIGN §6 (fields in the documented order, plus a "summary" sentence)
 * and the log receiver's text. Pure; delivery and signing live in io/.
 */
#include "core/render.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
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
	return ms >= 0 ? ms / 1000 : -((-(ms + 1)) / 1000) - 1;
}

static const char *or_empty(const char *s)
{
	return s != NULL ? s : "";
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

static char *summary(const struct alert *a)
{
	char dur[32];
	double base = clean_number(a->baseline);

	timeutil_format_duration(a->window_end_ms - a->window_start_ms, dur);
	if (is_resolved(a)) {
		return xasprintf("%s: back to normal, %" PRId64
				 " mentions in %s (usual %.1f)",
				 or_empty(a->rule), a->count, dur, base);
	}
	return xasprintf("%s: %" PRId64 " mentions in %s (usual %.1f, %.1fx)",
			 or_empty(a->rule), a->count, dur, base,
			 clean_number(a->ratio));
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
	cJSON_AddItemToObject(root, "labels", cJSON_CreateObject());
	timeutil_format_rfc3339(floor_s(a->window_start_ms), ts);
	cJSON_AddStringToObject(root, "window_start", ts);
	timeutil_format_rfc3339(floor_s(a->window_end_ms), ts);
	cJSON_AddStringToObject(root, "window_end", ts);
	/* cJSON prints whole doubles up to 2^53 without an exponent. */
	cJSON_AddNumberToObject(root, "count", (double)a->count);
	cJSON_AddNumberToObject(root, "baseline", clean_number(a->baseline));
	cJSON_AddNumberToObject(root, "ratio", clean_number(a->ratio));
	cJSON_AddNumberToObject(root, "score", clean_number(a->score));
	samples = cJSON_AddArrayToObject(root, "samples");
	for (size_t i = 0; i < a->n_samples; i++) {
		cJSON_AddItemToArray(samples, sample_json(&a->samples[i]));
	}
	sum = summary(a);
	cJSON_AddStringToObject(root, "summary", sum);
	free(sum);
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
