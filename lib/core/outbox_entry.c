/* SPDX-License-Identifier: MIT */
/*
 * Outbox entries and dead letters as JSON lines (see outbox_entry.h).
 */
#include "core/outbox_entry.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/texthash.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

static char *print(cJSON *o)
{
	char *out = cJSON_PrintUnformatted(o);

	HARK_ASSERT(out != NULL);
	cJSON_Delete(o);
	return out;
}

static const char *str_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num_of(const cJSON *o, const char *name, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) && v->valuedouble >= 0 ? v->valuedouble : dflt;
}

char *outbox_entry_format(const struct outbox_entry *e)
{
	cJSON *o = cJSON_CreateObject();
	char *body = xmalloc(e->len + 1);

	cJSON_AddStringToObject(o, "id", e->id);
	if (e->rule != NULL) {
		cJSON_AddStringToObject(o, "rule", e->rule);
	}
	cJSON_AddStringToObject(o, "owner", e->owner);
	cJSON_AddNumberToObject(o, "created_at_ms", (double)e->created_ms);
	cJSON_AddNumberToObject(o, "seq", (double)e->seq);
	cJSON_AddNumberToObject(o, "attempts", (double)e->attempts);
	memcpy(body, e->body, e->len);
	body[e->len] = '\0';
	cJSON_AddStringToObject(o, "body", body);
	free(body);
	return print(o);
}

/* The entry of a parsed object, owner given when it has none (v1). */
static int from_json(const cJSON *o, const char *owner,
		     struct outbox_entry *out)
{
	const char *id = str_of(o, "id");
	const char *body = str_of(o, "body");
	const char *rule = str_of(o, "rule");
	const char *own = str_of(o, "owner");
	const cJSON *created =
		cJSON_GetObjectItemCaseSensitive(o, "created_at_ms");

	memset(out, 0, sizeof(*out));
	if (owner == NULL) {
		owner = own;
	}
	if (id == NULL || body == NULL || owner == NULL ||
	    !cJSON_IsNumber(created)) {
		return -1;
	}
	out->id = xstrdup(id);
	out->rule = rule != NULL ? xstrdup(rule) : NULL;
	out->owner = xstrdup(owner);
	out->created_ms = (int64_t)created->valuedouble;
	out->seq = (uint64_t)num_of(o, "seq", 0);
	out->attempts = (unsigned)num_of(o, "attempts", 0);
	out->body = xstrdup(body);
	out->len = strlen(body);
	return 0;
}

int outbox_entry_parse(const char *text, size_t len, struct outbox_entry *out)
{
	cJSON *o = cJSON_ParseWithLength(text, len);
	int rc = from_json(o, NULL, out);

	cJSON_Delete(o);
	return rc;
}

void outbox_entry_fini(struct outbox_entry *e)
{
	free(e->id);
	free(e->rule);
	free(e->owner);
	free(e->body);
	memset(e, 0, sizeof(*e));
}

void outbox_entry_copy(struct outbox_entry *out, const struct outbox_entry *e)
{
	*out = *e;
	out->id = xstrdup(e->id);
	out->rule = e->rule != NULL ? xstrdup(e->rule) : NULL;
	out->owner = xstrdup(e->owner);
	out->body = xmalloc(e->len + 1);
	memcpy(out->body, e->body, e->len);
	out->body[e->len] = '\0';
}

int outbox_entry_cmp(const void *a, const void *b)
{
	const struct outbox_entry *x = a, *y = b;

	if (x->created_ms != y->created_ms) {
		return x->created_ms < y->created_ms ? -1 : 1;
	}
	if (x->seq != y->seq) {
		return x->seq < y->seq ? -1 : 1;
	}
	return strcmp(x->id, y->id);
}

int outbox_entry_parse_v1(const char *doc, size_t len,
			  struct outbox_entry **out, size_t *n, size_t *bad)
{
	cJSON *root = cJSON_ParseWithLength(doc, len);
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "entries");
	const cJSON *e;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	*bad = 0;
	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(root);
		return -1;
	}
	*out = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(**out));
	cJSON_ArrayForEach (e, arr) {
		if (from_json(e, OUTBOX_ENTRY_V1_OWNER, &(*out)[k]) < 0) {
			(*bad)++;
			continue;
		}
		/* v1 kept the order in the array: it becomes their seq. */
		(*out)[k].seq = k;
		k++;
	}
	*n = k;
	cJSON_Delete(root);
	return 0;
}

char *outbox_entry_dead(const struct outbox_entry *e, const char *receiver,
			int64_t failed_ms, const char *reason)
{
	cJSON *o = cJSON_CreateObject();
	char *body = xmalloc(e->len + 1);
	char ts[32];

	cJSON_AddStringToObject(o, "id", e->id);
	if (e->rule != NULL) {
		cJSON_AddStringToObject(o, "rule", e->rule);
	} else {
		cJSON_AddNullToObject(o, "rule");
	}
	cJSON_AddStringToObject(o, "receiver", receiver);
	if (e->owner != NULL) {
		cJSON_AddStringToObject(o, "owner", e->owner);
	}
	timeutil_format_rfc3339_ms(e->created_ms, ts);
	cJSON_AddStringToObject(o, "created_at", ts);
	timeutil_format_rfc3339_ms(failed_ms, ts);
	cJSON_AddStringToObject(o, "failed_at", ts);
	cJSON_AddNumberToObject(o, "attempts", e->attempts);
	cJSON_AddStringToObject(o, "reason", reason);
	memcpy(body, e->body, e->len);
	body[e->len] = '\0';
	cJSON_AddStringToObject(o, "body", body);
	free(body);
	return print(o);
}

int outbox_entry_dead_v1(const char *doc, size_t len, char **ids, char **lines,
			 size_t cap)
{
	cJSON *arr = cJSON_ParseWithLength(doc, len);
	const cJSON *e;
	size_t k = 0;

	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(arr);
		return -1;
	}
	cJSON_ArrayForEach (e, arr) {
		const char *id = str_of(e, "id");
		char *line;

		if (k == cap || id == NULL || !texthash_valid(id, NULL)) {
			continue;
		}
		line = cJSON_PrintUnformatted(e);
		HARK_ASSERT(line != NULL);
		ids[k] = xstrdup(id);
		lines[k] = line;
		k++;
	}
	cJSON_Delete(arr);
	return (int)k;
}

struct dead_ref {
	char *field;
	int64_t failed_ms; /* INT64_MIN: unreadable */
};

static int dead_cmp(const void *a, const void *b)
{
	const struct dead_ref *x = a, *y = b;

	if (x->failed_ms != y->failed_ms) {
		return x->failed_ms < y->failed_ms ? -1 : 1;
	}
	return strcmp(x->field, y->field);
}

size_t outbox_entry_dead_excess(const char *text, size_t len, size_t max,
				char **fields, size_t cap)
{
	struct dead_ref *refs = NULL;
	struct texthash_line l;
	size_t n = 0, pos = 0, out = 0;

	while (texthash_next(text, len, &pos, &l)) {
		cJSON *o = cJSON_ParseWithLength(l.value, l.value_len);
		const char *at = str_of(o, "failed_at");

		refs = xreallocarray(refs, n + 1, sizeof(*refs));
		refs[n].field = xmalloc(l.field_len + 1);
		memcpy(refs[n].field, l.field, l.field_len);
		refs[n].field[l.field_len] = '\0';
		/* An unreadable one sorts first and goes first. */
		if (at == NULL ||
		    timeutil_parse_rfc3339(at, strlen(at), &refs[n].failed_ms) <
			    0) {
			refs[n].failed_ms = INT64_MIN;
		}
		cJSON_Delete(o);
		n++;
	}
	if (n > max) {
		qsort(refs, n, sizeof(*refs), dead_cmp);
		for (size_t i = 0; i < n - max && out < cap; i++) {
			fields[out++] = refs[i].field;
			refs[i].field = NULL;
		}
	}
	for (size_t i = 0; i < n; i++) {
		free(refs[i].field);
	}
	free(refs);
	return out;
}
