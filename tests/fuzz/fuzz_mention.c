/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: one raw payload line through mention_parse_as in every
 * format the first byte picks (auto, X v2, Mastodon, flat, JSON-pointer
 * fields; boosts kept or skipped), then the parsed text folded and matched
 * against a fixed rule set (NEAR, wildcard, raw:, lang:, hashtags).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fold.h"
#include "core/match.h"
#include "core/mention.h"
#include "core/query.h"
#include "fuzz.h"
#include "util/buf.h"

static const char *const rule_queries[] = {
	"blablacar OR \"bla bla car\"",
	"covoit* NEAR/3 (prix OR price OR tarif)",
	"raw:BlaBlaCar lang:fr",
	"#blablacar -spam",
	"@blablacar ONEAR/2 app*",
	"(panne OR outage OR down) AND NOT \"job offer\" author:bob",
	"café NEAR/0 über source:fuzz",
	"東京 OR 서울 OR ελλάδα",
};

static const char *const rule_terms[] = {"straße", "#covoiturage", "über*",
					 "Ｆｕｌｌ"};

/* JSON pointers with escapes and array indexes, as a `fields` map has. */
static const struct mention_fields pointers = {
	.text = "/data/text",
	.id = "/data/id",
	.created_at = "/data/created_at",
	.lang = "/data/meta~1lang",
	.author = "/includes/users/0/username",
	.url = "/links/a~0b/1",
};

static struct fold *fold;
static struct matcher *matcher;

static void setup(void)
{
	char err[256];
	uint32_t id = 0;

	fold = fold_new();
	matcher = matcher_new(fold);
	for (size_t i = 0; i < sizeof(rule_queries) / sizeof(rule_queries[0]);
	     i++) {
		struct query_node *q;
		struct query_error qe;

		FUZZ_REQUIRE(query_parse(rule_queries[i], 1, &q, &qe) == 0);
		FUZZ_REQUIRE(matcher_add_query(matcher, id++, q, err,
					       sizeof(err)) == 0);
		query_free(q);
	}
	FUZZ_REQUIRE(
		matcher_add_rule(matcher, id, rule_terms,
				 sizeof(rule_terms) / sizeof(rule_terms[0]),
				 err, sizeof(err)) == 0);
	FUZZ_REQUIRE(matcher_compile(matcher, err, sizeof(err)) == 0);
}

static void match_mention(const struct mention *m)
{
	struct match_input in = {
		.text = m->text,
		.len = strlen(m->text),
		.lang = m->lang,
		.source = "fuzz",
		.author = m->author,
	};
	struct buf folded;
	uint32_t ids[16];
	size_t n;
	struct mention copy;

	buf_init(&folded, 4 * MENTION_MAX_TEXT_BYTES);
	if (fold_text(fold, m->text, in.len, &folded) == 0) {
		FUZZ_REQUIRE(folded.len == 0 ||
			     (folded.data[0] == ' ' &&
			      folded.data[folded.len - 1] == ' '));
	}
	buf_fini(&folded);
	n = matcher_match(matcher, &in, ids, 16);
	for (size_t i = 1; i < n; i++) {
		FUZZ_REQUIRE(ids[i - 1] < ids[i]);
	}
	/* Samples are cut copies: the cut must land on a UTF-8 boundary. */
	mention_copy(&copy, m, 7);
	FUZZ_REQUIRE(strlen(copy.text) <= 7);
	FUZZ_REQUIRE(strncmp(copy.text, m->text, strlen(copy.text)) == 0);
	mention_fini(&copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mention_opts o;
	struct mention m;
	char err[256];
	const char *line;
	size_t len;
	char *text;

	if (matcher == NULL) {
		setup();
	}
	if (size < 1) {
		return 0;
	}
	/* Byte 0: format (low 3 bits) and whether boosts are kept. */
	memset(&o, 0, sizeof(o));
	o.format = (enum mention_format)((data[0] & 7) % 5);
	o.reblog_original = (data[0] & 8) == 0;
	o.fields = o.format == MENTION_FORMAT_FIELDS ? &pointers : NULL;
	line = (const char *)data + 1;
	len = size - 1;

	err[0] = '\0';
	if (mention_parse_as(&m, &o, line, len, err, sizeof(err)) ==
	    MENTION_OK) {
		FUZZ_REQUIRE(m.id != NULL && m.text != NULL && m.lang != NULL &&
			     m.author != NULL && m.url != NULL);
		match_mention(&m);
		mention_fini(&m);
	} else {
		FUZZ_REQUIRE(m.text == NULL && memchr(err, '\0', sizeof(err)));
	}
	if (mention_parse(&m, line, len, err, sizeof(err)) == 0) {
		mention_fini(&m);
	}
	text = mention_html_to_text(line, len);
	free(text);
	return 0;
}
