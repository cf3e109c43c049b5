/* SPDX-License-Identifier: MIT */
/* A judged bucket's tops in the store (see tops.h). Pure. */
#include "core/tops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* The short keys of a stored line, per kind, and the route's names. */
static const char *const line_keys[TOPS_N_KINDS] = {"w", "h", "a", "l"};
static const char *const list_names[TOPS_N_KINDS] = {"terms", "hashtags",
						      "authors", "langs"};
static const char *const item_names[TOPS_N_KINDS] = {"term", "term",
						      "author", "lang"};
static const size_t caps[TOPS_N_KINDS] = {TOPS_TERMS, TOPS_OTHERS,
					  TOPS_OTHERS, TOPS_OTHERS};

/* Two decimals: what a reader compares, and a line a third shorter. */
static double round2(double v)
{
	return isfinite(v) ? round(v * 100) / 100 : 0;
}

int tops_format(struct buf *out, const struct tops_bucket *b)
{
	cJSON *o = cJSON_CreateObject(), *e;
	char *text;
	int rc;

	cJSON_AddNumberToObject(o, "t", (double)(b->start_ms / 1000));
	cJSON_AddNumberToObject(o, "n", (double)b->count);
	for (int k = 0; k < TOPS_N_KINDS; k++) {
		cJSON *arr;

		if (b->n[k] == 0) {
			continue;
		}
		arr = cJSON_AddArrayToObject(o, line_keys[k]);
		for (size_t i = 0; i < b->n[k] && i < caps[k]; i++) {
			cJSON *it = cJSON_CreateArray();

			cJSON_AddItemToArray(
				it, cJSON_CreateString(b->list[k][i].name));
			cJSON_AddItemToArray(
				it,
				cJSON_CreateNumber((double)b->list[k][i].count));
			cJSON_AddItemToArray(arr, it);
		}
	}
	if (b->n_emerging > 0) {
		e = cJSON_AddArrayToObject(o, "e");
		for (size_t i = 0; i < b->n_emerging && i < TOPS_EMERGING;
		     i++) {
			const struct tops_emerging *m = &b->emerging[i];
			cJSON *it = cJSON_CreateArray();

			cJSON_AddItemToArray(it, cJSON_CreateString(m->term));
			cJSON_AddItemToArray(
				it, cJSON_CreateNumber((double)m->count));
			cJSON_AddItemToArray(
				it, cJSON_CreateNumber(round2(m->usual)));
			cJSON_AddItemToArray(
				it, cJSON_CreateNumber(round2(m->ratio)));
			cJSON_AddItemToArray(e, it);
		}
	}
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL) {
		return -1;
	}
	rc = buf_append(out, text, strlen(text));
	if (rc == 0) {
		rc = buf_putc(out, '\n');
	}
	free(text);
	return rc;
}

cJSON *tops_find(const char *text, size_t len, int64_t start_ms)
{
	cJSON *found = NULL;
	double want = (double)(start_ms / 1000);
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t e = nl != NULL ? (size_t)(nl - text) : len;
		cJSON *o = cJSON_ParseWithLength(text + i, e - i);
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "t");

		if (cJSON_IsObject(o) && cJSON_IsNumber(t) &&
		    t->valuedouble == want) {
			cJSON_Delete(found);
			found = o; /* a later line of the bucket wins */
		} else {
			cJSON_Delete(o);
		}
		i = e + 1;
	}
	return found;
}

static void add_item(cJSON *arr, const char *key, const char *name,
		     double count)
{
	cJSON *it = cJSON_CreateObject();

	cJSON_AddStringToObject(it, key, name);
	cJSON_AddNumberToObject(it, "count", count);
	cJSON_AddItemToArray(arr, it);
}

static void add_emerging(cJSON *arr, const char *term, double count,
			 double usual, double ratio)
{
	cJSON *it = cJSON_CreateObject();

	cJSON_AddStringToObject(it, "term", term);
	cJSON_AddNumberToObject(it, "count", count);
	cJSON_AddNumberToObject(it, "usual", round2(usual));
	cJSON_AddNumberToObject(it, "ratio", round2(ratio));
	cJSON_AddItemToArray(arr, it);
}

void tops_json(const struct tops_bucket *b, cJSON *o)
{
	cJSON *e;

	for (int k = 0; k < TOPS_N_KINDS; k++) {
		cJSON *arr = cJSON_AddArrayToObject(o, list_names[k]);

		for (size_t i = 0; i < b->n[k] && i < caps[k]; i++) {
			add_item(arr, item_names[k], b->list[k][i].name,
				 (double)b->list[k][i].count);
		}
	}
	e = cJSON_AddArrayToObject(o, "emerging_terms");
	for (size_t i = 0; i < b->n_emerging && i < TOPS_EMERGING; i++) {
		add_emerging(e, b->emerging[i].term,
			     (double)b->emerging[i].count, b->emerging[i].usual,
			     b->emerging[i].ratio);
	}
}

/* Item i of a stored pair or quadruple: a string, then numbers. */
static const char *str_at(const cJSON *it, int i)
{
	const cJSON *v = cJSON_GetArrayItem(it, i);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num_at(const cJSON *it, int i)
{
	const cJSON *v = cJSON_GetArrayItem(it, i);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

void tops_json_stored(const cJSON *line, cJSON *o)
{
	const cJSON *it;
	cJSON *e;

	for (int k = 0; k < TOPS_N_KINDS; k++) {
		cJSON *arr = cJSON_AddArrayToObject(o, list_names[k]);

		cJSON_ArrayForEach (
			it, cJSON_GetObjectItemCaseSensitive(line, line_keys[k])) {
			if (str_at(it, 0) != NULL) {
				add_item(arr, item_names[k], str_at(it, 0),
					 num_at(it, 1));
			}
		}
	}
	e = cJSON_AddArrayToObject(o, "emerging_terms");
	cJSON_ArrayForEach (it, cJSON_GetObjectItemCaseSensitive(line, "e")) {
		if (str_at(it, 0) != NULL) {
			add_emerging(e, str_at(it, 0), num_at(it, 1),
				     num_at(it, 2), num_at(it, 3));
		}
	}
}
