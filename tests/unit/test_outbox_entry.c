/* SPDX-License-Identifier: MIT */
/* Outbox entries: written and read back (one line, whatever the body
 * holds), version-1 documents read, entries ordered, dead letters written,
 * read from version 1 and capped to the newest. */
#include "core/outbox_entry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/texthash.h"

static void test_round_trip(void)
{
	static const char body[] = "{\"a\":\"x\ny\"}\n";
	struct outbox_entry e = {
		.id = "abc",
		.rule = "brand",
		.owner = "host/12/1700000000000",
		.created_ms = 1700000000123,
		.seq = 7,
		.attempts = 3,
		.body = (char *)body,
		.len = sizeof(body) - 1,
	};
	struct outbox_entry got, copy;
	char *line = outbox_entry_format(&e);

	CHECK(strchr(line, '\n') == NULL);
	CHECK(texthash_valid(e.id, line));
	CHECK_INT(outbox_entry_parse(line, strlen(line), &got), 0);
	CHECK_STR(got.id, "abc");
	CHECK_STR(got.rule, "brand");
	CHECK_STR(got.owner, "host/12/1700000000000");
	CHECK_INT(got.created_ms, 1700000000123);
	CHECK_INT(got.seq, 7);
	CHECK_INT(got.attempts, 3);
	CHECK_INT(got.len, sizeof(body) - 1);
	CHECK_STR(got.body, body);
	outbox_entry_copy(&copy, &got);
	CHECK_INT(outbox_entry_cmp(&copy, &got), 0);
	outbox_entry_fini(&got);
	CHECK_STR(copy.body, body);
	outbox_entry_fini(&copy);
	free(line);

	/* no rule: none read back; not an entry: refused */
	e.rule = NULL;
	line = outbox_entry_format(&e);
	CHECK_INT(outbox_entry_parse(line, strlen(line), &got), 0);
	CHECK(got.rule == NULL);
	outbox_entry_fini(&got);
	free(line);
	CHECK_INT(
		outbox_entry_parse("{\"id\":\"a\",\"body\":\"{}\"}", 22, &got),
		-1);
	CHECK_INT(outbox_entry_parse("nope", 4, &got), -1);
	CHECK(got.id == NULL);
}

static void test_order(void)
{
	struct outbox_entry e[4] = {
		{.id = "d", .created_ms = 20, .seq = 1},
		{.id = "c", .created_ms = 10, .seq = 2},
		{.id = "b", .created_ms = 10, .seq = 1},
		{.id = "a", .created_ms = 10, .seq = 1},
	};

	qsort(e, 4, sizeof(e[0]), outbox_entry_cmp);
	CHECK_STR(e[0].id, "a");
	CHECK_STR(e[1].id, "b");
	CHECK_STR(e[2].id, "c");
	CHECK_STR(e[3].id, "d");
}

static void test_v1(void)
{
	static const char doc[] =
		"{\"version\":1,\"receiver\":\"hook\",\"entries\":["
		"{\"id\":\"o2\",\"rule\":\"r\",\"created_at_ms\":2000,"
		"\"attempts\":4,\"body\":\"{}\"},"
		"{\"id\":\"bad\"},"
		"{\"id\":\"o1\",\"created_at_ms\":1000,\"body\":\"x\"}]}";
	struct outbox_entry *e;
	size_t n, bad;

	CHECK_INT(outbox_entry_parse_v1(doc, strlen(doc), &e, &n, &bad), 0);
	CHECK_INT(n, 2);
	CHECK_INT(bad, 1);
	/* the document's order is kept: it becomes the seq */
	CHECK_STR(e[0].id, "o2");
	CHECK_STR(e[0].owner, OUTBOX_ENTRY_V1_OWNER);
	CHECK_INT(e[0].attempts, 4);
	CHECK_INT(e[0].seq, 0);
	CHECK_STR(e[1].id, "o1");
	CHECK(e[1].rule == NULL);
	CHECK_INT(e[1].seq, 1);
	for (size_t i = 0; i < n; i++) {
		outbox_entry_fini(&e[i]);
	}
	free(e);
	CHECK_INT(outbox_entry_parse_v1("[]", 2, &e, &n, &bad), -1);
	CHECK(e == NULL);
}

static void test_dead(void)
{
	struct outbox_entry e = {.id = "x1",
				 .rule = NULL,
				 .owner = "o",
				 .created_ms = 0,
				 .attempts = 2,
				 .body = "{}",
				 .len = 2};
	static const char v1[] = "[{\"id\":\"a\",\"reason\":\"r\"},{\"x\":1},"
				 "{\"id\":\"b c\"},{\"id\":\"b\"}]";
	char *ids[4], *lines[4];
	char *fields[4];
	char *line = outbox_entry_dead(&e, "hook", 1000, "HTTP 400");
	char *text = NULL, *next;
	size_t len = 0, n;
	int k;

	CHECK(strstr(line, "\"reason\":\"HTTP 400\"") != NULL);
	CHECK(strstr(line, "\"receiver\":\"hook\"") != NULL);
	CHECK(strstr(line, "\"failed_at\":\"1970-01-01T00:00:01Z\"") != NULL);
	CHECK(strstr(line, "\"rule\":null") != NULL);
	free(line);

	k = outbox_entry_dead_v1(v1, strlen(v1), ids, lines, 4);
	CHECK_INT(k, 2); /* no id, or one that is no field: left out */
	CHECK_STR(ids[0], "a");
	CHECK_STR(lines[0], "{\"id\":\"a\",\"reason\":\"r\"}");
	CHECK_STR(ids[1], "b");
	for (int i = 0; i < k; i++) {
		free(ids[i]);
		free(lines[i]);
	}
	CHECK_INT(outbox_entry_dead_v1("{}", 2, ids, lines, 4), -1);

	/* five dead letters, three kept: the two oldest go */
	for (int i = 0; i < 5; i++) {
		static const int64_t at[5] = {5000, 1000, 4500, 1500, 3000};
		char id[8];

		snprintf(id, sizeof(id), "d%d", i);
		e.id = id;
		line = outbox_entry_dead(&e, "hook", at[i], "x");
		next = texthash_put(text != NULL ? text : "", len, id, line,
				    &len);
		free(text);
		free(line);
		text = next;
	}
	n = outbox_entry_dead_excess(text, len, 3, fields, 4);
	CHECK_INT(n, 2);
	CHECK_STR(fields[0], "d1");
	CHECK_STR(fields[1], "d3");
	for (size_t i = 0; i < n; i++) {
		free(fields[i]);
	}
	CHECK_INT(outbox_entry_dead_excess(text, len, 5, fields, 4), 0);
	free(text);
}

int main(void)
{
	test_round_trip();
	test_order();
	test_v1();
	test_dead();
	return check_done();
}
