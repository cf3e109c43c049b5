/* SPDX-License-Identifier: MIT */
/*
 * Tests for core/query (parsed forms, errors with their exact columns) and
 * for the query side of core/match: table files data/query/ (.tsv files) of
 * (expected, query, text[, lang, source, author]), and a differential test
 * of plain keyword rules against a reference substring matcher on a
 * generated corpus. Each failure names its file and line.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config/config.h"
#include "core/fold.h"
#include "core/match.h"
#include "core/mention.h"
#include "core/query.h"
#include "util/buf.h"

static const struct {
	const char *in;
	const char *want;
} format_cases[] = {
	{"blablacar", "blablacar"},
	{"a b OR c", "(a AND b) OR c"},
	{"a OR b c", "a OR (b AND c)"},
	{"a AND (b AND c)", "a AND b AND c"},
	{"(a OR b) OR (c OR d)", "a OR b OR c OR d"},
	{"(blablacar OR \"bla bla car\" OR #blablacar) AND NOT (\"job offer\" "
	 "OR recrutement)",
	 "(blablacar OR \"bla bla car\" OR #blablacar) AND NOT (\"job offer\" "
	 "OR recrutement)"},
	{"annul* NEAR/3 trajet", "annul* NEAR/3 trajet"},
	{"a ONEAR/0 \"b c\"", "a ONEAR/0 \"b c\""},
	{"a NEAR/1 b NEAR/2 c", "(a NEAR/1 b) NEAR/2 c"},
	{"raw:Café -@spam lang:fr", "raw:Café AND NOT @spam AND lang:fr"},
	{"x -\"job offer\"", "x AND NOT \"job offer\""},
	{"x -(a OR b)", "x AND NOT (a OR b)"},
	{"\"bla bla c*\"", "\"bla bla c*\""},
	{"raw:\"Bla Bla\"", "raw:\"Bla Bla\""},
	{"source:\"my feed\" author:@bob x", "source:\"my feed\" AND "
					     "author:@bob AND x"},
	{"LANG:fr", "lang:fr"},
	{"NOT NOT x", "x"},
	{"y NOT -x", "y AND x"},
	{"a AND NOT b OR c", "(a AND NOT b) OR c"},
	{"  spaced\tout  ", "spaced AND out"},
	{"NEARBY ORANGE ANDROID NOTE",
	 "NEARBY AND ORANGE AND ANDROID AND NOTE"},
	{"\"say \\\"hi\\\"\"", "\"say \\\"hi\\\"\""},
	{"lang:fr", "lang:fr"},
	/* a backslash is a plain character of a bare word (fuzz_query) */
	{"#bovit\\", "#bovit\\"},
	{"a\\b lang:x\\", "a\\b AND lang:x\\"},
	/* stray continuation bytes after '(' stay in the term */
	{"a (\xba\xba"
	 "b)",
	 "a AND \xba\xba"
	 "b"},
};

static void test_format(void)
{
	for (size_t i = 0; i < sizeof(format_cases) / sizeof(format_cases[0]);
	     i++) {
		struct query_node *q = NULL;
		struct query_error e;
		char *s;

		if (query_parse(format_cases[i].in, 1, &q, &e) < 0) {
			fprintf(stderr, "format case \"%s\": error %d: %s\n",
				format_cases[i].in, e.col, e.msg);
			CHECK(false);
			continue;
		}
		s = query_format(q);
		CHECK_STR(s, format_cases[i].want);
		query_free(q);
		/* the formatted form reads back as itself */
		q = NULL;
		CHECK_INT(query_parse(s, 1, &q, &e), 0);
		if (q != NULL) {
			char *again = query_format(q);

			CHECK_STR(again, s);
			free(again);
			query_free(q);
		}
		free(s);
	}
}

static const struct {
	const char *in;
	int col_base;
	int col;
	const char *msg;
} error_cases[] = {
	{"", 1, 1, "empty query"},
	{"   ", 1, 4, "empty query"},
	{"(a OR b", 1, 8, "expected ')' to close '(' opened at column 1"},
	{"x (a OR (b c)", 1, 14,
	 "expected ')' to close '(' opened at column 3"},
	{"(a OR b", 14, 21, "expected ')' to close '(' opened at column 14"},
	{"(été OR x", 1, 10, "expected ')' to close '(' opened at column 1"},
	{"été)", 1, 4, "unexpected ')' (no '(' to close)"},
	{"a)", 1, 2, "unexpected ')' (no '(' to close)"},
	{"a OR", 1, 5, "expected a term after OR"},
	{"a AND", 1, 6, "expected a term after AND"},
	{"a AND OR b", 1, 7, "expected a term after AND, got OR"},
	{"OR a", 1, 1, "expected a term before OR"},
	{"a NOT", 1, 6, "expected a term after NOT"},
	{"a -", 1, 3, "expected a term right after '-'"},
	{"a - b", 1, 3, "expected a term right after '-'"},
	{"\"abc", 1, 5, "expected '\"' to close the phrase opened at column 1"},
	{"x \"été", 1, 7,
	 "expected '\"' to close the phrase opened at column 3"},
	{"\"\"", 1, 1, "empty phrase"},
	{"()", 1, 2, "empty parentheses"},
	{"a NEAR b", 1, 3,
	 "expected NEAR/n, with n the largest number of words between the "
	 "two sides"},
	{"a NEAR/x b", 1, 8, "expected a number after NEAR/"},
	{"a ONEAR/ b", 1, 9, "expected a number after ONEAR/"},
	{"a NEAR/101 b", 1, 8, "NEAR distance must be from 0 to 100 (got 101)"},
	{"a NEAR/3", 1, 9, "expected a term after NEAR/3"},
	{"a NEAR/3 lang:fr", 1, 10,
	 "expected a term after NEAR/3, got a filter"},
	{"a NEAR/3 NOT b", 1, 10, "expected a term after NEAR/3, got NOT"},
	{"(a AND b) NEAR/2 c", 1, 2,
	 "NEAR/2 needs a term, a phrase or an OR group of them on each side"},
	{"c ONEAR/2 (a OR NOT b)", 1, 12,
	 "ONEAR/2 needs a term, a phrase or an OR group of them on each side"},
	{"co*v", 1, 3, "'*' is only allowed at the end of a term"},
	{"*cov", 1, 1, "'*' is only allowed at the end of a term"},
	{"c*", 1, 2, "a wildcard needs at least 2 characters before '*'"},
	{"\"bla *\"", 1, 6,
	 "a wildcard needs at least 2 characters before '*'"},
	{"\"a* b\"", 1, 1, "'*' is only allowed at the end of a term"},
	{"lang:", 1, 6, "expected a value after 'lang:'"},
	{"x author: y", 1, 10, "expected a value after 'author:'"},
	{"raw:", 1, 5, "expected a term after 'raw:'"},
	{"#", 1, 1, "expected a word after '#'"},
	{"x raw:@", 1, 7, "expected a word after '@'"},
	{"NOT a", 1, 1,
	 "query matches almost every mention (it needs a term or filter "
	 "outside NOT)"},
	{"-a OR -b", 1, 1,
	 "query matches almost every mention (it needs a term or filter "
	 "outside NOT)"},
};

static void test_errors(void)
{
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]);
	     i++) {
		struct query_node *q = NULL;
		struct query_error e;
		int rc = query_parse(error_cases[i].in, error_cases[i].col_base,
				     &q, &e);

		CHECK_INT(rc, -1);
		CHECK(q == NULL);
		if (e.col != error_cases[i].col ||
		    strcmp(e.msg, error_cases[i].msg) != 0) {
			fprintf(stderr, "error case \"%s\": got %d: %s\n",
				error_cases[i].in, e.col, e.msg);
		}
		CHECK_INT(e.col, error_cases[i].col);
		CHECK_STR(e.msg, error_cases[i].msg);
		query_free(q);
	}
}

static void test_limits(void)
{
	struct query_node *q = NULL;
	struct query_error e;
	struct buf b;
	char *long_term;

	/* nesting */
	buf_init(&b, 4096);
	for (int i = 0; i < 40; i++) {
		CHECK_INT(buf_putc(&b, '('), 0);
	}
	CHECK_INT(buf_putc(&b, 'a'), 0);
	for (int i = 0; i < 40; i++) {
		CHECK_INT(buf_putc(&b, ')'), 0);
	}
	CHECK_INT(query_parse(b.data, 1, &q, &e), -1);
	CHECK_INT(e.col, QUERY_MAX_DEPTH + 1);
	CHECK_STR(e.msg, "nested too deeply (at most 32 levels)");
	buf_fini(&b);
	/* one term's length */
	long_term = xmalloc(QUERY_MAX_TERM_BYTES + 10);
	memset(long_term, 'a', QUERY_MAX_TERM_BYTES + 9);
	long_term[QUERY_MAX_TERM_BYTES + 9] = '\0';
	CHECK_INT(query_parse(long_term, 1, &q, &e), -1);
	CHECK_STR(e.msg, "term longer than 256 bytes");
	long_term[QUERY_MAX_TERM_BYTES] = '\0';
	CHECK_INT(query_parse(long_term, 1, &q, &e), 0);
	query_free(q);
	free(long_term);
	/* the whole query */
	long_term = xmalloc(QUERY_MAX_BYTES + 2);
	memset(long_term, 'a', QUERY_MAX_BYTES + 1);
	for (size_t i = 1; i < QUERY_MAX_BYTES; i += 2) {
		long_term[i] = ' ';
	}
	long_term[QUERY_MAX_BYTES + 1] = '\0';
	CHECK_INT(query_parse(long_term, 1, &q, &e), -1);
	CHECK_STR(e.msg, "query longer than 8192 bytes");
	/* node count: 4096 one-letter words are over QUERY_MAX_NODES */
	long_term[QUERY_MAX_BYTES - 1] = '\0';
	CHECK_INT(query_parse(long_term, 1, &q, &e), -1);
	CHECK_STR(e.msg, "query too large (more than 2000 terms and "
			 "operators)");
	free(long_term);
}

static void test_shorthand(void)
{
	static const char *const terms[] = {"blablacar", "bla bla car",
					    "#blablacar", "covoit*"};
	struct query_error e;
	struct query_node *q = query_from_terms(terms, 4, &e);
	char *s;

	CHECK(q != NULL);
	s = query_format(q);
	CHECK_STR(s, "blablacar OR \"bla bla car\" OR #blablacar OR covoit*");
	CHECK(query_needs_term(q));
	free(s);
	query_free(q);
	CHECK(query_from_terms(terms, 0, &e) == NULL);
	CHECK_STR(e.msg, "no terms");
}

static void test_needs_term(void)
{
	static const struct {
		const char *q;
		bool want;
	} cases[] = {
		{"a", true},
		{"a lang:fr", true},
		{"lang:fr", false},
		{"lang:fr NOT spam", false},
		{"a OR lang:fr", false},
		{"(a OR b) -c", true},
		{"a NEAR/2 b", true},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct query_node *q = NULL;
		struct query_error e;

		CHECK_INT(query_parse(cases[i].q, 1, &q, &e), 0);
		if (q != NULL) {
			CHECK_INT(query_needs_term(q), cases[i].want);
		}
		query_free(q);
	}
}

/* ---- table files ---- */

static char *data_path(const char *name)
{
	const char *root = getenv("HARK_SOURCE_ROOT");

	if (root == NULL) {
		root = ".";
	}
	return xasprintf("%s/tests/unit/data/query/%s", root, name);
}

/* Splits line at tabs into at most max fields; returns how many. */
static size_t split_tabs(char *line, char **f, size_t max)
{
	size_t n = 0;
	char *p = line;

	while (n < max) {
		f[n++] = p;
		p = strchr(p, '\t');
		if (p == NULL) {
			break;
		}
		*p++ = '\0';
	}
	return n;
}

static size_t run_table(const struct fold *fold, const char *name)
{
	char *path = data_path(name);
	FILE *in = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, cases = 0;
	ssize_t n;
	int lineno = 0;

	CHECK(in != NULL);
	if (in == NULL) {
		fprintf(stderr, "%s: cannot open\n", path);
		free(path);
		return 0;
	}
	while ((n = getline(&line, &cap, in)) >= 0) {
		struct query_node *q = NULL;
		struct query_error e;
		struct match_input mi;
		struct matcher *m;
		uint32_t out[2];
		char *f[6] = {0};
		char err[256];
		size_t nf, got;
		bool want;

		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
			line[--n] = '\0';
		}
		if (n == 0 || line[0] == '#') {
			continue;
		}
		nf = split_tabs(line, f, 6);
		if (nf < 3 || (f[0][0] != '0' && f[0][0] != '1')) {
			fprintf(stderr, "%s:%d: malformed case\n", path,
				lineno);
			CHECK(false);
			continue;
		}
		want = f[0][0] == '1';
		if (query_parse(f[1], 1, &q, &e) < 0) {
			fprintf(stderr, "%s:%d: query \"%s\": column %d: %s\n",
				path, lineno, f[1], e.col, e.msg);
			CHECK(false);
			continue;
		}
		m = matcher_new(fold);
		if (matcher_add_query(m, 0, q, err, sizeof(err)) < 0 ||
		    matcher_compile(m, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s:%d: query \"%s\": %s\n", path,
				lineno, f[1], err);
			CHECK(false);
		} else {
			mi.text = f[2];
			mi.len = strlen(f[2]);
			mi.lang = nf > 3 ? f[3] : NULL;
			mi.source = nf > 4 ? f[4] : NULL;
			mi.author = nf > 5 ? f[5] : NULL;
			got = matcher_match(m, &mi, out, 2);
			if (got != (want ? 1u : 0u)) {
				fprintf(stderr, "%s:%d: %s \"%s\" on \"%s\"\n",
					path, lineno,
					want ? "expected a match of"
					     : "unexpected match of",
					f[1], f[2]);
			}
			CHECK_INT(got, want ? 1 : 0);
			cases++;
		}
		matcher_free(m);
		query_free(q);
	}
	free(line);
	fclose(in);
	free(path);
	return cases;
}

static void test_tables(const struct fold *fold)
{
	static const char *const files[] = {"operators.tsv", "hashtags.tsv",
					    "raw.tsv", "filters.tsv",
					    "languages.tsv"};
	size_t total = 0;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t n = run_table(fold, files[i]);

		CHECK(n >= 15);
		total += n;
	}
	printf("query tables: %zu cases\n", total);
}

/* ---- many rules in one matcher ---- */

static void test_many_rules(const struct fold *fold)
{
	static const char *const queries[] = {
		"blablacar",      "annul* NEAR/2 trajet",
		"lang:fr",        "raw:SNCF",
		"trajet -annul*", "\"bla bla car\" OR covoiturage",
	};
	struct matcher *m = matcher_new(fold);
	struct match_input in = {0};
	uint32_t out[8];
	char err[256];
	size_t n;

	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		struct query_node *q = NULL;
		struct query_error e;

		CHECK_INT(query_parse(queries[i], 1, &q, &e), 0);
		/* sparse ids: the matcher reports ids, not indexes */
		CHECK_INT(matcher_add_query(m, (uint32_t)(10 * i + 1), q, err,
					    sizeof(err)),
			  0);
		query_free(q);
	}
	CHECK_INT(matcher_compile(m, err, sizeof(err)), 0);
	CHECK_INT(matcher_patterns(m), 6);
	in.text = "SNCF: trajet annulé, vive BlaBlaCar et le covoiturage";
	in.len = strlen(in.text);
	in.lang = "fr";
	n = matcher_match(m, &in, out, 8);
	CHECK_INT(n, 5);
	CHECK_INT(out[0], 1);
	CHECK_INT(out[1], 11);
	CHECK_INT(out[2], 21);
	CHECK_INT(out[3], 31);
	CHECK_INT(out[4], 51);
	in.text = "un trajet";
	in.len = strlen(in.text);
	in.lang = "en";
	n = matcher_match(m, &in, out, 8);
	CHECK_INT(n, 1);
	CHECK_INT(out[0], 41);
	/* a rule added after compiling is picked up by the next match */
	{
		struct query_node *q = NULL;
		struct query_error e;

		CHECK_INT(query_parse("un", 1, &q, &e), 0);
		CHECK_INT(matcher_add_query(m, 99, q, err, sizeof(err)), 0);
		CHECK_INT(matcher_add_query(m, 99, q, err, sizeof(err)), -1);
		CHECK_STR(err, "rule 99 added after rule 99");
		query_free(q);
	}
	n = matcher_match(m, &in, out, 8);
	CHECK_INT(n, 2);
	CHECK_INT(out[1], 99);
	/* a failed add leaves nothing behind */
	{
		struct query_node *q = NULL;
		struct query_error e;

		CHECK_INT(query_parse("zzz OR \"!?\"", 1, &q, &e), 0);
		CHECK_INT(matcher_add_query(m, 100, q, err, sizeof(err)), -1);
		CHECK_STR(err, "term \"!?\" has no letters or digits");
		query_free(q);
	}
	CHECK_INT(matcher_patterns(m), 7);
	in.text = "zzz un";
	in.len = strlen(in.text);
	n = matcher_match(m, &in, out, 8);
	CHECK_INT(n, 1);
	CHECK_INT(out[0], 99);
	matcher_free(m);
}

/* ---- differential: plain keyword rules vs a reference matcher ---- */

/*
 * The reference: the first matcher hark had. A keyword (minus a leading
 * '#' or '@') is folded to token form and searched as a substring of the
 * folded text; the token form makes that a word-boundary match.
 */
static bool ref_match(const struct fold *f, const char *kw, const char *text,
		      struct buf *kb, struct buf *tb)
{
	if (kw[0] == '#' || kw[0] == '@') {
		kw++;
	}
	if (fold_text(f, kw, strlen(kw), kb) < 0 ||
	    fold_text(f, text, strlen(text), tb) < 0 || kb->len <= 1) {
		return false;
	}
	return memmem(tb->data, tb->len, kb->data, kb->len) != NULL;
}

static char **read_lines(const char *name, size_t *n_out)
{
	char *path = data_path(name);
	FILE *in = fopen(path, "r");
	char **v = NULL;
	char *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;

	*n_out = 0;
	if (in == NULL) {
		fprintf(stderr, "%s: cannot open\n", path);
		free(path);
		return NULL;
	}
	while ((len = getline(&line, &cap, in)) >= 0) {
		while (len > 0 &&
		       (line[len - 1] == '\n' || line[len - 1] == '\r')) {
			line[--len] = '\0';
		}
		if (len == 0) {
			continue;
		}
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = xstrdup(line);
	}
	free(line);
	fclose(in);
	free(path);
	*n_out = n;
	return v;
}

static void differential(const struct fold *f, char **kw, size_t n_kw,
			 char **lines, size_t n_lines)
{
	struct matcher *m = matcher_new(f);
	uint64_t *got = xcalloc(n_kw, sizeof(*got));
	uint64_t *want = xcalloc(n_kw, sizeof(*want));
	uint32_t *out = xcalloc(n_kw, sizeof(*out));
	struct buf kb, tb;
	char err[256];
	size_t mismatches = 0, mentions = 0;
	uint64_t total = 0;

	buf_init(&kb, 1u << 20);
	buf_init(&tb, 1u << 22);
	for (size_t i = 0; i < n_kw; i++) {
		const char *one[1] = {kw[i]};

		CHECK_INT(matcher_add_rule(m, (uint32_t)i, one, 1, err,
					   sizeof(err)),
			  0);
	}
	CHECK_INT(matcher_compile(m, err, sizeof(err)), 0);
	for (size_t l = 0; l < n_lines; l++) {
		struct mention men;
		struct match_input in = {0};
		size_t k;

		if (mention_parse(&men, lines[l], strlen(lines[l]), err,
				  sizeof(err)) < 0) {
			fprintf(stderr, "corpus line %zu: %s\n", l + 1, err);
			CHECK(false);
			continue;
		}
		mentions++;
		in.text = men.text;
		in.len = strlen(men.text);
		k = matcher_match(m, &in, out, n_kw);
		for (size_t j = 0; j < k; j++) {
			got[out[j]]++;
			CHECK(j == 0 || out[j] > out[j - 1]);
		}
		for (size_t i = 0; i < n_kw; i++) {
			if (ref_match(f, kw[i], men.text, &kb, &tb)) {
				want[i]++;
			}
		}
		mention_fini(&men);
	}
	for (size_t i = 0; i < n_kw; i++) {
		total += want[i];
		if (got[i] != want[i] && mismatches++ < 10) {
			fprintf(stderr,
				"keyword \"%s\": %llu != reference %llu\n",
				kw[i], (unsigned long long)got[i],
				(unsigned long long)want[i]);
		}
	}
	CHECK_INT(mismatches, 0);
	CHECK_INT(mentions, n_lines);
	/* the fixture plants keywords: a zero total would test nothing */
	CHECK(total > n_lines / 4);
	printf("differential: %zu keywords, %zu mentions, %llu matches\n", n_kw,
	       mentions, (unsigned long long)total);
	buf_fini(&kb);
	buf_fini(&tb);
	free(got);
	free(want);
	free(out);
	matcher_free(m);
}

static void test_differential(const struct fold *f)
{
	size_t n_kw, n_lines;
	char **kw = read_lines("keywords_1000.txt", &n_kw);
	char **lines = read_lines("corpus.ndjson", &n_lines);

	CHECK_INT(n_kw, 1000);
	CHECK_INT(n_lines, 300);
	if (kw != NULL && lines != NULL) {
		/* the generator's 10-keyword list is a prefix of this one */
		differential(f, kw, 10, lines, n_lines);
		differential(f, kw, n_kw, lines, n_lines);
	}
	for (size_t i = 0; i < n_kw; i++) {
		free(kw[i]);
	}
	free(kw);
	for (size_t i = 0; i < n_lines; i++) {
		free(lines[i]);
	}
	free(lines);
}

/* ---- rules[].match in the config ---- */

#define CFG_HEAD                \
	"sources:\n"            \
	"  - name: push\n"      \
	"    type: http-push\n" \
	"  - name: masto\n"     \
	"    type: http-push\n" \
	"rules:\n"              \
	"  - name: brand\n"     \
	"    match:\n"

static const struct {
	const char *yaml;
	const char *msg;
} config_bad[] = {
	/* the error's column: the string's column (+1 past a quote) plus
	 * the offset in the query */
	{CFG_HEAD "      query: '(blablacar OR \"bla bla car\"'\n",
	 "x.yaml:9:42: expected ')' to close '(' opened at column 15"},
	{CFG_HEAD "      query: (blablacar OR \"bla bla car\"\n",
	 "x.yaml:9:41: expected ')' to close '(' opened at column 14"},
	{CFG_HEAD "      query: \"a OR\"\n",
	 "x.yaml:9:19: expected a term after OR"},
	{CFG_HEAD "      query: 'x NEAR/3 lang:fr'\n",
	 "x.yaml:9:24: expected a term after NEAR/3, got a filter"},
	{CFG_HEAD "      query: \"x\"\n      any: [y]\n",
	 "x.yaml:9:14: rules[0].match.query: only one of \"any\" and "
	 "\"query\" is allowed"},
	{CFG_HEAD "      lang: [fr]\n",
	 "x.yaml:9:7: rules[0].match: missing required key \"any\" or "
	 "\"query\""},
	{CFG_HEAD "      query: x\n      lang: [fr, \"f r\"]\n",
	 "x.yaml:10:18: rules[0].match.lang[1]: invalid language code"},
	{CFG_HEAD "      query: x\n      sources: [push, nope]\n",
	 "x.yaml:10:23: rules[0].match.sources[1]: unknown source \"nope\""},
	{CFG_HEAD "      query: \"\"\n", "x.yaml:9:15: empty query"},
	{CFG_HEAD "      query: [x]\n",
	 "x.yaml:9:14: rules[0].match.query: wrong type"},
};

static void test_config(void)
{
	struct config cfg;
	struct diag d;
	char *s;
	static const char good[] =
		CFG_HEAD "      query: 'covoit* -\"job offer\"'\n"
			 "      lang: [fr, pt-BR]\n"
			 "      sources: [masto]\n"
			 "  - name: short\n"
			 "    match: {any: [\"#a\", \"b c\"]}\n";

	for (size_t i = 0; i < sizeof(config_bad) / sizeof(config_bad[0]);
	     i++) {
		bool found = false;

		diag_init(&d);
		CHECK_INT(config_parse(&cfg, "x.yaml", config_bad[i].yaml,
				       strlen(config_bad[i].yaml), &d),
			  -1);
		for (size_t j = 0; j < d.n && !found; j++) {
			s = diag_format(&d, j);
			found = strstr(s, config_bad[i].msg) == s;
			free(s);
		}
		if (!found) {
			fprintf(stderr, "config case %zu: no \"%s\"; got:\n", i,
				config_bad[i].msg);
			diag_print(&d, stderr);
		}
		CHECK(found);
		diag_fini(&d);
	}
	diag_init(&d);
	CHECK_INT(config_parse(&cfg, "x.yaml", good, strlen(good), &d), 0);
	diag_print(&d, stderr);
	CHECK_INT(cfg.n_rules, 2);
	if (cfg.n_rules == 2) {
		s = query_format(cfg.rules[0].match);
		CHECK_STR(s, "covoit* AND NOT \"job offer\" AND (lang:fr OR "
			     "lang:pt-BR) AND source:masto");
		free(s);
		CHECK_STR(cfg.rules[0].query, "covoit* -\"job offer\"");
		CHECK_INT(cfg.rules[0].n_lang, 2);
		CHECK_INT(cfg.rules[0].n_sources, 1);
		s = query_format(cfg.rules[1].match);
		CHECK_STR(s, "#a OR \"b c\"");
		free(s);
		config_fini(&cfg);
	}
	diag_fini(&d);
}

int main(void)
{
	struct fold *f = fold_new();

	test_format();
	test_errors();
	test_limits();
	test_shorthand();
	test_needs_term();
	test_config();
	test_tables(f);
	test_many_rules(f);
	test_differential(f);
	fold_free(f);
	return check_done();
}
