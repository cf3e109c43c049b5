/* SPDX-License-Identifier: MIT */
/* Alert history ring and its JSON form; see history.h. */
#include "core/history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util/timeutil.h"

void history_init(struct history *h)
{
	h->v = NULL;
	h->head = 0;
	h->n = 0;
}

static void entry_fini(struct history_entry *e)
{
	free(e->rule);
	free(e->silenced_by);
	memset(e, 0, sizeof(*e));
}

void history_fini(struct history *h)
{
	for (size_t i = 0; i < h->n; i++) {
		entry_fini(&h->v[(h->head + i) % HISTORY_MAX]);
	}
	free(h->v);
	history_init(h);
}

void history_add(struct history *h, const struct history_entry *e)
{
	struct history_entry *slot;

	if (h->v == NULL) {
		h->v = xcalloc(HISTORY_MAX, sizeof(*h->v));
	}
	if (h->n == HISTORY_MAX) {
		slot = &h->v[h->head];
		entry_fini(slot);
		h->head = (h->head + 1) % HISTORY_MAX;
		h->n--;
	}
	slot = &h->v[(h->head + h->n) % HISTORY_MAX];
	*slot = *e;
	slot->rule = xstrdup(e->rule);
	slot->silenced_by =
		e->silenced_by != NULL ? xstrdup(e->silenced_by) : NULL;
	h->n++;
}

static bool keep(const struct history_entry *e, const struct history_filter *f)
{
	if (f == NULL) {
		return true;
	}
	if (f->rule != NULL && strcmp(f->rule, e->rule) != 0) {
		return false;
	}
	if (f->status != NULL) {
		if (strcmp(f->status, "silenced") == 0) {
			if (e->silenced_by == NULL) {
				return false;
			}
		} else if (strcmp(f->status, e->status) != 0) {
			return false;
		}
	}
	return e->window_end_ms >= f->since_ms;
}

char *history_encode(const struct history *h, const struct history_filter *f)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(root, "alerts");
	size_t limit = f != NULL && f->limit > 0 ? f->limit : HISTORY_MAX;
	size_t out = 0;
	char *text;

	for (size_t i = h->n; i-- > 0 && out < limit;) {
		const struct history_entry *e =
			&h->v[(h->head + i) % HISTORY_MAX];
		cJSON *o;
		char ts[32];

		if (!keep(e, f)) {
			continue;
		}
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", e->id);
		cJSON_AddStringToObject(o, "rule", e->rule);
		cJSON_AddStringToObject(o, "status", e->status);
		timeutil_format_rfc3339_ms(e->window_start_ms, ts);
		cJSON_AddStringToObject(o, "window_start", ts);
		timeutil_format_rfc3339_ms(e->window_end_ms, ts);
		cJSON_AddStringToObject(o, "window_end", ts);
		cJSON_AddNumberToObject(o, "count", (double)e->count);
		cJSON_AddNumberToObject(o, "baseline", e->baseline);
		cJSON_AddNumberToObject(o, "ratio", e->ratio);
		cJSON_AddNumberToObject(o, "score", e->score);
		if (e->escalation) {
			cJSON_AddTrueToObject(o, "escalation");
		}
		timeutil_format_rfc3339_ms(e->at_ms, ts);
		cJSON_AddStringToObject(o, "at", ts);
		cJSON_AddBoolToObject(o, "silenced", e->silenced_by != NULL);
		if (e->silenced_by != NULL) {
			cJSON_AddStringToObject(o, "silence_id",
						e->silenced_by);
		}
		cJSON_AddItemToArray(arr, o);
		out++;
	}
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return text;
}

static const char *s_field(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool n_field(const cJSON *o, const char *k, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!cJSON_IsNumber(v)) {
		return false;
	}
	*out = v->valuedouble;
	return true;
}

static bool t_field(const cJSON *o, const char *k, int64_t *out)
{
	const char *s = s_field(o, k);

	return s != NULL && timeutil_parse_rfc3339(s, strlen(s), out) == 0;
}

int history_decode(struct history *h, const char *json, size_t len)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "alerts");
	struct history out;
	struct history_entry *tmp;
	size_t n = 0;
	const cJSON *o;

	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(root);
		return -1;
	}
	/* Encoded newest first: collect, then append oldest first. */
	tmp = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*tmp));
	cJSON_ArrayForEach (o, arr) {
		struct history_entry *e = &tmp[n];
		const char *id = s_field(o, "id"), *rule = s_field(o, "rule");
		const char *status = s_field(o, "status");
		const char *sil = s_field(o, "silence_id");
		double count;

		if (id == NULL || strlen(id) >= sizeof(e->id) || rule == NULL ||
		    status == NULL || strlen(status) >= sizeof(e->status) ||
		    !t_field(o, "window_start", &e->window_start_ms) ||
		    !t_field(o, "window_end", &e->window_end_ms) ||
		    !t_field(o, "at", &e->at_ms) ||
		    !n_field(o, "count", &count) ||
		    !n_field(o, "baseline", &e->baseline) ||
		    !n_field(o, "ratio", &e->ratio) ||
		    !n_field(o, "score", &e->score) || n >= HISTORY_MAX) {
			free(tmp);
			cJSON_Delete(root);
			return -1;
		}
		snprintf(e->id, sizeof(e->id), "%s", id);
		snprintf(e->status, sizeof(e->status), "%s", status);
		e->count = (int64_t)count;
		e->rule = (char *)rule;
		e->silenced_by = (char *)sil;
		e->escalation = cJSON_IsTrue(
			cJSON_GetObjectItemCaseSensitive(o, "escalation"));
		n++;
	}
	history_init(&out);
	for (size_t i = n; i-- > 0;) {
		history_add(&out, &tmp[i]);
	}
	free(tmp);
	cJSON_Delete(root);
	history_fini(h);
	*h = out;
	return 0;
}
