/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the input as a `match.query` string through query_parse;
 * a query that parses is formatted, parsed again from its formatted form
 * (which must give the same form), compiled into a matcher and run on a
 * few mentions. Its lines also go through query_from_terms (match.any).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fold.h"
#include "core/match.h"
#include "core/query.h"
#include "fuzz.h"

static struct fold *fold;

#define SAMPLE(text, lang, source, author)                   \
	{                                                    \
		text, sizeof(text) - 1, lang, source, author \
	}

static const struct match_input samples[] = {
	SAMPLE("BlaBlaCar: covoiturage annulé, prix trop cher #blablacar", "fr",
	       "x", "bob"),
	SAMPLE("@blablacar app down again?! job offer inside", "en", "masto",
	       "alice"),
	SAMPLE("Straße über café ＦＵＬＬ 東京 data_set x-y", NULL, NULL, NULL),
};

static void run(const struct query_node *q)
{
	struct matcher *m = matcher_new(fold);
	char err[256];
	uint32_t ids[4];

	if (matcher_add_query(m, 0, q, err, sizeof(err)) == 0 &&
	    matcher_compile(m, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]);
		     i++) {
			size_t n = matcher_match(m, &samples[i], ids, 4);

			FUZZ_REQUIRE(n <= 1 && (n == 0 || ids[0] == 0));
		}
	}
	matcher_free(m);
}

static void parse_query(const char *text)
{
	struct query_node *q, *again;
	struct query_error qe;
	char *form, *form2;

	if (query_parse(text, 1, &q, &qe) < 0) {
		FUZZ_REQUIRE(qe.msg[0] != '\0' && qe.col >= 1);
		return;
	}
	form = query_format(q);
	(void)query_needs_term(q);
	if (query_parse(form, 1, &again, &qe) < 0) {
		fprintf(stderr, "query: %s\nformat: %s\nreparse: %d: %s\n",
			text, form, qe.col, qe.msg);
		abort();
	}
	form2 = query_format(again);
	if (strcmp(form, form2) != 0) {
		fprintf(stderr, "query: %s\nformat: %s\nagain: %s\n", text,
			form, form2);
		abort();
	}
	free(form2);
	free(form);
	query_free(again);
	run(q);
	query_free(q);
}

/* Lines as the terms of a match.any list. */
static void parse_terms(char *text)
{
	const char *terms[16];
	size_t n = 0;
	struct query_node *q;
	struct query_error qe;
	char *line = text;

	while (n < 16) {
		char *nl = strchr(line, '\n');

		terms[n++] = line;
		if (nl == NULL) {
			break;
		}
		*nl = '\0';
		line = nl + 1;
	}
	q = query_from_terms(terms, n, &qe);
	if (q != NULL) {
		char *form = query_format(q);

		free(form);
		run(q);
		query_free(q);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fields f;

	if (fold == NULL) {
		fold = fold_new();
	}
	if (size > 2 * QUERY_MAX_BYTES) {
		return 0;
	}
	fields_init(&f, data, size);
	parse_query(f.copy);
	parse_terms(f.copy);
	fields_fini(&f);
	return 0;
}
