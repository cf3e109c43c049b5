/* SPDX-License-Identifier: MIT */
/*
 * Silences: parsing, matching, expiry and their JSON form; see silence.h.
 * The set is small (SILENCE_MAX) and consulted once per notification, so
 * a linear scan is the plain and sufficient choice.
 */
#include "core/silence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/jsondepth.h"
#include "util/timeutil.h"

void silences_init(struct silences *set)
{
	set->v = NULL;
	set->n = 0;
}

void silence_fini(struct silence *s)
{
	for (size_t i = 0; i < s->n_matchers; i++) {
		free(s->matchers[i].name);
		free(s->matchers[i].value);
	}
	free(s->matchers);
	free(s->comment);
	free(s->created_by);
	memset(s, 0, sizeof(*s));
}

void silences_fini(struct silences *set)
{
	for (size_t i = 0; i < set->n; i++) {
		silence_fini(&set->v[i]);
	}
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

static const char *str_field(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool bad_text(const char *s)
{
	return s == NULL || s[0] == '\0' || strlen(s) > SILENCE_MAX_TEXT;
}

static int parse_time(const cJSON *o, const char *name, int64_t *out,
		      bool *present, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	*present = v != NULL && !cJSON_IsNull(v);
	if (!*present) {
		return 0;
	}
	if (!cJSON_IsString(v) ||
	    timeutil_parse_rfc3339(v->valuestring, strlen(v->valuestring),
				   out) < 0) {
		snprintf(err, errlen, "%s: expected an RFC 3339 time", name);
		return -1;
	}
	return 0;
}

static void add_matcher(struct silence *s, const char *name, const char *value)
{
	s->matchers = xreallocarray(s->matchers, s->n_matchers + 1,
				    sizeof(*s->matchers));
	s->matchers[s->n_matchers].name = xstrdup(name);
	s->matchers[s->n_matchers].value = xstrdup(value);
	s->n_matchers++;
}

static int parse_matchers(struct silence *s, const cJSON *root, char *err,
			  size_t errlen)
{
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(root, "matchers");
	const char *rule = str_field(root, "rule");
	const cJSON *m;
	int i = 0;

	if (rule != NULL) {
		if (bad_text(rule)) {
			snprintf(err, errlen, "rule: expected a rule name");
			return -1;
		}
		add_matcher(s, "rule", rule);
	}
	if (ms != NULL && !cJSON_IsArray(ms)) {
		snprintf(err, errlen, "matchers: expected a list");
		return -1;
	}
	cJSON_ArrayForEach (m, ms) {
		const char *name = str_field(m, "name");
		const char *value = str_field(m, "value");
		const cJSON *regex =
			cJSON_GetObjectItemCaseSensitive(m, "isRegex");

		if (!cJSON_IsObject(m) || bad_text(name) || value == NULL ||
		    strlen(value) > SILENCE_MAX_TEXT) {
			snprintf(err, errlen,
				 "matchers[%d]: expected "
				 "{\"name\": NAME, \"value\": VALUE}",
				 i);
			return -1;
		}
		if (cJSON_IsTrue(regex)) {
			snprintf(err, errlen,
				 "matchers[%d]: regular "
				 "expressions are not supported; match values "
				 "exactly",
				 i);
			return -1;
		}
		if (s->n_matchers >= SILENCE_MAX_MATCHERS) {
			snprintf(err, errlen, "too many matchers (at most %d)",
				 SILENCE_MAX_MATCHERS);
			return -1;
		}
		add_matcher(s, name, value);
		i++;
	}
	if (s->n_matchers == 0) {
		snprintf(err, errlen,
			 "a silence needs \"rule\" or at least one "
			 "matcher");
		return -1;
	}
	return 0;
}

int silence_parse(struct silence *s, const char *json, size_t len,
		  const char *id, int64_t now_ms, char *err, size_t errlen)
{
	cJSON *root = NULL;
	const char *comment, *by, *dur;
	bool has_start, has_end;
	int64_t dur_ms = 0;

	memset(s, 0, sizeof(*s));
	/* cJSON recurses once per level (up to 1,000): a body from the API
	 * is held to the depth every other input is. */
	if (!jsondepth_ok(json, len, JSONDEPTH_MAX, NULL)) {
		snprintf(err, errlen, "nesting deeper than %d", JSONDEPTH_MAX);
		goto fail;
	}
	root = cJSON_ParseWithLength(json, len);
	if (!cJSON_IsObject(root)) {
		snprintf(err, errlen, "expected a JSON object");
		goto fail;
	}
	if (parse_matchers(s, root, err, errlen) < 0) {
		goto fail;
	}
	comment = str_field(root, "comment");
	if (bad_text(comment)) {
		snprintf(err, errlen,
			 "comment: required (up to %d bytes): say "
			 "why the alerts are silenced",
			 SILENCE_MAX_TEXT);
		goto fail;
	}
	by = str_field(root, "created_by");
	if (by != NULL && strlen(by) > SILENCE_MAX_TEXT) {
		snprintf(err, errlen, "created_by: too long");
		goto fail;
	}
	s->starts_at_ms = now_ms;
	if (parse_time(root, "starts_at", &s->starts_at_ms, &has_start, err,
		       errlen) < 0 ||
	    parse_time(root, "ends_at", &s->ends_at_ms, &has_end, err, errlen) <
		    0) {
		goto fail;
	}
	dur = str_field(root, "duration");
	if (dur != NULL) {
		const char *why;

		if (has_end) {
			snprintf(err, errlen,
				 "give ends_at or duration, not "
				 "both");
			goto fail;
		}
		if (timeutil_parse_duration(dur, &dur_ms, &why) < 0 ||
		    dur_ms <= 0) {
			snprintf(err, errlen, "duration: %s",
				 why != NULL ? why : "must be positive");
			goto fail;
		}
		s->ends_at_ms = s->starts_at_ms + dur_ms;
		has_end = true;
	}
	if (!has_end) {
		snprintf(err, errlen, "ends_at or duration is required");
		goto fail;
	}
	if (s->ends_at_ms <= s->starts_at_ms || s->ends_at_ms <= now_ms) {
		snprintf(err, errlen,
			 "the silence must end in the future and "
			 "after it starts");
		goto fail;
	}
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->comment = xstrdup(comment);
	s->created_by = xstrdup(by != NULL ? by : "");
	cJSON_Delete(root);
	return 0;
fail:
	cJSON_Delete(root);
	silence_fini(s);
	return -1;
}

static void prune(struct silences *set, int64_t now_ms)
{
	size_t k = 0;

	for (size_t i = 0; i < set->n; i++) {
		if (set->v[i].ends_at_ms + SILENCE_KEEP_EXPIRED_MS < now_ms) {
			silence_fini(&set->v[i]);
			continue;
		}
		set->v[k++] = set->v[i];
	}
	set->n = k;
}

int silences_add(struct silences *set, struct silence *s, int64_t now_ms)
{
	prune(set, now_ms);
	if (set->n >= SILENCE_MAX) {
		return -1;
	}
	set->v = xreallocarray(set->v, set->n + 1, sizeof(*set->v));
	set->v[set->n++] = *s;
	memset(s, 0, sizeof(*s));
	return 0;
}

int silences_expire(struct silences *set, const char *id, int64_t now_ms)
{
	for (size_t i = 0; i < set->n; i++) {
		if (strcmp(set->v[i].id, id) == 0) {
			if (set->v[i].ends_at_ms > now_ms) {
				set->v[i].ends_at_ms = now_ms;
			}
			if (set->v[i].starts_at_ms > now_ms) {
				set->v[i].starts_at_ms = now_ms;
			}
			return 0;
		}
	}
	return -1;
}

static bool matcher_ok(const struct silence_matcher *m, const char *rule,
		       const struct silence_label *labels, size_t n_labels)
{
	if (strcmp(m->name, "rule") == 0 || strcmp(m->name, "alertname") == 0) {
		return strcmp(m->value, rule) == 0;
	}
	for (size_t i = 0; i < n_labels; i++) {
		if (strcmp(labels[i].name, m->name) == 0) {
			return strcmp(labels[i].value, m->value) == 0;
		}
	}
	/* As in Alertmanager: an absent label equals the empty string. */
	return m->value[0] == '\0';
}

const char *silence_state(const struct silence *s, int64_t now_ms)
{
	if (now_ms >= s->ends_at_ms) {
		return "expired";
	}
	if (now_ms < s->starts_at_ms) {
		return "pending";
	}
	return "active";
}

const struct silence *silences_match(const struct silences *set,
				     const char *rule,
				     const struct silence_label *labels,
				     size_t n_labels, int64_t now_ms)
{
	for (size_t i = 0; i < set->n; i++) {
		const struct silence *s = &set->v[i];
		bool all = true;

		if (strcmp(silence_state(s, now_ms), "active") != 0) {
			continue;
		}
		for (size_t j = 0; j < s->n_matchers && all; j++) {
			all = matcher_ok(&s->matchers[j], rule, labels,
					 n_labels);
		}
		if (all) {
			return s;
		}
	}
	return NULL;
}

static cJSON *to_json(const struct silence *s, int64_t now_ms)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *ms = cJSON_AddArrayToObject(o, "matchers");
	char ts[32];

	cJSON_AddStringToObject(o, "id", s->id);
	for (size_t i = 0; i < s->n_matchers; i++) {
		cJSON *m = cJSON_CreateObject();

		cJSON_AddStringToObject(m, "name", s->matchers[i].name);
		cJSON_AddStringToObject(m, "value", s->matchers[i].value);
		cJSON_AddItemToArray(ms, m);
	}
	timeutil_format_rfc3339_ms(s->starts_at_ms, ts);
	cJSON_AddStringToObject(o, "starts_at", ts);
	timeutil_format_rfc3339_ms(s->ends_at_ms, ts);
	cJSON_AddStringToObject(o, "ends_at", ts);
	cJSON_AddStringToObject(o, "comment", s->comment);
	cJSON_AddStringToObject(o, "created_by", s->created_by);
	cJSON_AddStringToObject(o, "state", silence_state(s, now_ms));
	return o;
}

char *silence_encode(const struct silence *s, int64_t now_ms)
{
	cJSON *o = to_json(s, now_ms);
	char *text = cJSON_PrintUnformatted(o);

	cJSON_Delete(o);
	return text;
}

char *silences_encode(const struct silences *set, int64_t now_ms)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(root, "silences");
	char *text;

	for (size_t i = 0; i < set->n; i++) {
		cJSON_AddItemToArray(arr, to_json(&set->v[i], now_ms));
	}
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return text;
}

int silences_decode(struct silences *set, const char *json, size_t len)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "silences");
	const cJSON *o;
	struct silences out;
	char err[256];

	silences_init(&out);
	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(root);
		return -1;
	}
	cJSON_ArrayForEach (o, arr) {
		struct silence s;
		const char *id = str_field(o, "id");
		const char *starts = str_field(o, "starts_at");
		const char *ends = str_field(o, "ends_at");
		int64_t st, en;

		memset(&s, 0, sizeof(s));
		if (id == NULL || strlen(id) >= sizeof(s.id) ||
		    starts == NULL || ends == NULL ||
		    timeutil_parse_rfc3339(starts, strlen(starts), &st) < 0 ||
		    timeutil_parse_rfc3339(ends, strlen(ends), &en) < 0 ||
		    parse_matchers(&s, o, err, sizeof(err)) < 0 ||
		    bad_text(str_field(o, "comment")) || out.n >= SILENCE_MAX) {
			silence_fini(&s);
			silences_fini(&out);
			cJSON_Delete(root);
			return -1;
		}
		snprintf(s.id, sizeof(s.id), "%s", id);
		s.starts_at_ms = st;
		s.ends_at_ms = en;
		s.comment = xstrdup(str_field(o, "comment"));
		s.created_by = xstrdup(str_field(o, "created_by") != NULL
					       ? str_field(o, "created_by")
					       : "");
		out.v = xreallocarray(out.v, out.n + 1, sizeof(*out.v));
		out.v[out.n++] = s;
	}
	cJSON_Delete(root);
	silences_fini(set);
	*set = out;
	return 0;
}
