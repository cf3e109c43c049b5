/* SPDX-License-Identifier: MIT */
/* A judged bucket's tops in the store: the line round trip (the route
 * shows the same from memory and from the store), caps, the last line of
 * a bucket winning, malformed lines skipped. */
#include "core/tops.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"

static char *route_json(const struct tops_bucket *b, const cJSON *line)
{
	cJSON *o = cJSON_CreateObject();
	char *text;

	if (line != NULL) {
		tops_json_stored(line, o);
	} else {
		tops_json(b, o);
	}
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

int main(void)
{
	struct tops_item terms[12], tags[] = {{"#panne", 4}},
				    authors[] = {{"@ana", 3}, {"@bob", 1}},
				    langs[] = {{"fr", 40}, {"en", 2}};
	struct tops_emerging em[] = {{"panne", 30, 0.123456, 60},
				     {"appli", 6, 1.5, 4}};
	struct tops_bucket b = {
		.start_ms = 1700000100000LL,
		.count = 60,
		.list = {terms, tags, authors, langs},
		.n = {12, 1, 2, 2},
		.emerging = em,
		.n_emerging = 2,
	};
	char names[12][8];
	struct buf out;
	cJSON *line;
	char *a, *s;

	for (int i = 0; i < 12; i++) {
		snprintf(names[i], sizeof(names[i]), "w%d", i);
		terms[i].name = names[i];
		terms[i].count = 100 - i;
	}
	buf_init(&out, 1 << 20);
	/* an older line of the same bucket, another bucket, garbage */
	b.count = 1;
	CHECK_INT(tops_format(&out, &b), 0);
	b.count = 60;
	b.start_ms += 300000;
	CHECK_INT(tops_format(&out, &b), 0);
	b.start_ms -= 300000;
	CHECK_INT(buf_append(&out, "{not json\n[1,2]\n", 16), 0);
	CHECK_INT(tops_format(&out, &b), 0);
	CHECK(memchr(out.data, '\n', out.len) != NULL);
	CHECK_INT(out.data[out.len - 1], '\n');

	line = tops_find(out.data, out.len, b.start_ms);
	CHECK(line != NULL);
	CHECK_INT(cJSON_GetObjectItem(line, "n")->valueint, 60);
	a = route_json(&b, NULL);
	s = route_json(&b, line);
	/* the same from memory and from the store, ten terms of twelve, the
	 * usual rounded to two decimals */
	CHECK_STR(a, s);
	CHECK(strstr(a, "\"term\":\"w9\"") != NULL);
	CHECK(strstr(a, "\"term\":\"w10\"") == NULL);
	CHECK(strstr(a, "{\"term\":\"panne\",\"count\":30,\"usual\":0.12,"
			"\"ratio\":60}") != NULL);
	CHECK(strstr(a, "{\"author\":\"@ana\",\"count\":3}") != NULL);
	CHECK(strstr(a, "{\"lang\":\"fr\",\"count\":40}") != NULL);
	CHECK(strstr(a, "\"hashtags\":[{\"term\":\"#panne\",\"count\":4}]") !=
	      NULL);
	free(a);
	free(s);
	cJSON_Delete(line);
	CHECK(tops_find(out.data, out.len, b.start_ms + 600000) == NULL);
	CHECK(tops_find("", 0, b.start_ms) == NULL);

	/* an empty bucket's line: lists present and empty on the route */
	memset(&b.n, 0, sizeof(b.n));
	b.n_emerging = 0;
	buf_reset(&out);
	CHECK_INT(tops_format(&out, &b), 0);
	line = tops_find(out.data, out.len, b.start_ms);
	s = route_json(&b, line);
	CHECK_STR(s,
		  "{\"terms\":[],\"hashtags\":[],\"authors\":[],\"langs\":[],"
		  "\"emerging_terms\":[]}");
	free(s);
	cJSON_Delete(line);
	buf_fini(&out);
	return check_done();
}
