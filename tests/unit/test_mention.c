/* SPDX-License-Identifier: MIT */
/*
 * Tests for core/mention: every accepted input shape, every rejection
 * message, Mastodon HTML to text, and copying with a text cap. Each table
 * row names its case in any failure.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/mention.h"

struct parse_case {
	const char *name;
	const char *line;
	const char *id, *text, *lang, *author, *url;
	bool has_created_at;
	int64_t created_at_ms;
};

/* 2026-11-21T14:00:00Z */
#define T0 1795269600000LL

static const struct parse_case ok_cases[] = {
	{"x v2 with includes",
	 "{\"data\":{\"id\":\"1861234567890123456\",\"text\":\"Hello BlaBlaCar\","
	 "\"created_at\":\"2026-11-21T14:00:00.000Z\",\"lang\":\"en\","
	 "\"author_id\":\"42\"},\"includes\":{\"users\":[{\"id\":\"7\","
	 "\"username\":\"other\"},{\"id\":\"42\",\"username\":\"alice\"},"
	 "{\"id\":\"9\",\"username\":\"zed\"}]},"
	 "\"matching_rules\":[{\"id\":\"1\",\"tag\":\"brand\"}]}",
	 "1861234567890123456", "Hello BlaBlaCar", "en", "alice",
	 "https://x.com/i/web/status/1861234567890123456", true, T0},
	{"x v2 author not in includes",
	 "{\"data\":{\"id\":\"5\",\"text\":\"t\",\"author_id\":\"42\"},"
	 "\"includes\":{\"users\":[{\"id\":\"7\",\"username\":\"first\"}]}}",
	 "5", "t", "", "first", "https://x.com/i/web/status/5", false, 0},
	{"x v2 without includes",
	 "{\"data\":{\"id\":\"5\",\"text\":\"t\",\"author_id\":\"42\"}}", "5",
	 "t", "", "42", "https://x.com/i/web/status/5", false, 0},
	{"x v2 without id", "{\"data\":{\"text\":\"t\"}}", "", "t", "", "", "",
	 false, 0},
	{"x v2 integer id",
	 "{\"data\":{\"id\":1861234567890123456,\"text\":\"t\"}}",
	 "1861234567890123456", "t", "", "",
	 "https://x.com/i/web/status/1861234567890123456", false, 0},
	{"flat",
	 "{\"id\":\"a1\",\"text\":\"bla bla car\",\"created_at\":"
	 "\"2026-11-21T14:00:00Z\",\"lang\":\"fr\",\"author\":\"bob\","
	 "\"url\":\"https://example.org/a1\"}",
	 "a1", "bla bla car", "fr", "bob", "https://example.org/a1", true, T0},
	{"flat minimal", "{\"text\":\"only text\"}", "", "only text", "", "",
	 "", false, 0},
	{"flat nulls",
	 "{\"text\":\"t\",\"lang\":null,\"id\":null,\"created_at\":null}", "",
	 "t", "", "", "", false, 0},
	{"integer id", "{\"id\":1234567890123456789,\"text\":\"t\"}",
	 "1234567890123456789", "t", "", "", "", false, 0},
	{"small integer id", "{\"id\": 42 ,\"text\":\"t\"}", "42", "t", "", "",
	 "", false, 0},
	{"negative integer id", "{\"id\":-7,\"text\":\"t\"}", "-7", "t", "", "",
	 "", false, 0},
	{"integral id with exponent", "{\"id\":1e3,\"text\":\"t\"}", "1000", "t",
	 "", "", "", false, 0},
	{"id key inside a string first",
	 "{\"text\":\"\\\"id\\\": 9\",\"x\":{\"id\":8},\"id\":77}", "77",
	 "\"id\": 9", "", "", "", false, 0},
	{"offset in created_at",
	 "{\"text\":\"t\",\"created_at\":\"2026-11-21T15:30:00+01:30\"}", "",
	 "t", "", "", "", true, T0},
	{"negative offset",
	 "{\"text\":\"t\",\"created_at\":\"2026-11-21T09:00:00-05:00\"}", "",
	 "t", "", "", "", true, T0},
	{"fractional seconds",
	 "{\"text\":\"t\",\"created_at\":\"2026-11-21T14:00:00.250Z\"}", "",
	 "t", "", "", "", true, T0 + 250},
	{"surrogate pair",
	 "{\"text\":\"smile \\ud83d\\ude00 \\u00e9\"}", "",
	 "smile \xf0\x9f\x98\x80 \xc3\xa9", "", "", "", false, 0},
	{"trailing whitespace", "{\"text\":\"t\"}  \r\n", "", "t", "", "", "",
	 false, 0},
	{"mastodon",
	 "{\"id\":\"109\",\"created_at\":\"2026-11-21T14:00:00.000Z\","
	 "\"language\":\"fr\",\"url\":\"https://m.example/@carol/109\","
	 "\"content\":\"<p>J&#39;adore <a href=\\\"https://x\\\" "
	 "class=\\\"mention\\\">@<span>BlaBlaCar</span></a> &amp; "
	 "co</p><p>2nd<br />line</p>\",\"account\":{\"acct\":\"carol@m.example\","
	 "\"username\":\"carol\"}}",
	 "109", " J'adore @BlaBlaCar & co  2nd line ", "fr", "carol@m.example",
	 "https://m.example/@carol/109", true, T0},
	{"mastodon null url and language",
	 "{\"id\":\"1\",\"content\":\"<p>x</p>\",\"url\":null,"
	 "\"uri\":\"https://m.example/u/1\",\"language\":null,"
	 "\"account\":{\"username\":\"dan\"}}",
	 "1", " x ", "", "dan", "https://m.example/u/1", false, 0},
};

static void test_parse_ok(void)
{
	struct mention m;
	char err[128];
	const struct parse_case *c;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		c = &ok_cases[i];
		err[0] = '\0';
		rc = mention_parse(&m, c->line, strlen(c->line), err,
				   sizeof(err));
		if (rc != 0) {
			fprintf(stderr, "parse case \"%s\": %s\n", c->name,
				err);
		}
		CHECK_INT(rc, 0);
		if (rc != 0) {
			continue;
		}
		if (strcmp(m.id, c->id) != 0 || strcmp(m.text, c->text) != 0 ||
		    strcmp(m.lang, c->lang) != 0 ||
		    strcmp(m.author, c->author) != 0 ||
		    strcmp(m.url, c->url) != 0 ||
		    m.has_created_at != c->has_created_at ||
		    (c->has_created_at && m.created_at_ms != c->created_at_ms)) {
			fprintf(stderr, "parse case \"%s\" differs:\n",
				c->name);
		}
		CHECK_STR(m.id, c->id);
		CHECK_STR(m.text, c->text);
		CHECK_STR(m.lang, c->lang);
		CHECK_STR(m.author, c->author);
		CHECK_STR(m.url, c->url);
		CHECK_INT(m.has_created_at, c->has_created_at);
		if (c->has_created_at) {
			CHECK_INT(m.created_at_ms, c->created_at_ms);
		}
		mention_fini(&m);
	}
}

static const struct {
	const char *name;
	const char *line;
	const char *err;
} bad_cases[] = {
	{"missing text", "{\"id\":\"1\"}", "missing \"text\""},
	{"null text", "{\"text\":null}", "missing \"text\""},
	{"x v2 missing text", "{\"data\":{\"id\":\"1\"}}", "missing \"text\""},
	{"text not a string", "{\"text\":5}", "text: expected a string"},
	{"bad created_at", "{\"text\":\"t\",\"created_at\":\"yesterday\"}",
	 "created_at: not an RFC 3339 timestamp"},
	{"created_at wrong type", "{\"text\":\"t\",\"created_at\":1700000000}",
	 "created_at: expected a string"},
	{"x v2 bad created_at",
	 "{\"data\":{\"text\":\"t\",\"created_at\":\"2026-13-01T00:00:00Z\"}}",
	 "created_at: not an RFC 3339 timestamp"},
	{"lang wrong type", "{\"text\":\"t\",\"lang\":[]}",
	 "lang: expected a string"},
	{"fractional id", "{\"text\":\"t\",\"id\":1.5}",
	 "id: expected a string or an integer"},
	{"object id", "{\"text\":\"t\",\"id\":{}}",
	 "id: expected a string or an integer"},
	{"mastodon content not a string", "{\"content\":7}",
	 "content: expected a string"},
	{"array", "[1,2]", "expected a JSON object"},
	{"string", "\"text\"", "expected a JSON object"},
	{"number", "12", "expected a JSON object"},
	{"invalid JSON", "{\"text\":", "invalid JSON"},
	{"empty line", "", "invalid JSON"},
	{"trailing garbage", "{\"text\":\"t\"} x", "invalid JSON"},
	{"two objects", "{\"text\":\"t\"}{\"text\":\"u\"}", "invalid JSON"},
	{"lone surrogate", "{\"text\":\"\\ud83d\"}", "invalid JSON"},
};

static void test_parse_bad(void)
{
	struct mention m;
	char err[128];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		strcpy(err, "(unset)");
		rc = mention_parse(&m, bad_cases[i].line,
				   strlen(bad_cases[i].line), err,
				   sizeof(err));
		if (rc != -1 || strcmp(err, bad_cases[i].err) != 0) {
			fprintf(stderr, "bad case \"%s\": rc %d, \"%s\"\n",
				bad_cases[i].name, rc, err);
		}
		CHECK_INT(rc, -1);
		CHECK_STR(err, bad_cases[i].err);
		CHECK(m.id == NULL && m.text == NULL && m.lang == NULL &&
		      m.author == NULL && m.url == NULL && !m.has_created_at);
	}
}

static void test_parse_limits(void)
{
	struct mention m;
	static char line[MENTION_MAX_TEXT_BYTES + 32];
	char err[64];
	size_t n = MENTION_MAX_TEXT_BYTES;

	/* Exactly at the limit passes, one byte over fails. */
	strcpy(line, "{\"text\":\"");
	memset(line + 9, 'a', n);
	strcpy(line + 9 + n, "\"}");
	CHECK_INT(mention_parse(&m, line, strlen(line), err, sizeof(err)), 0);
	CHECK_INT(strlen(m.text), n);
	mention_fini(&m);
	memset(line + 9, 'a', n + 1);
	strcpy(line + 10 + n, "\"}");
	CHECK_INT(mention_parse(&m, line, strlen(line), err, sizeof(err)), -1);
	CHECK_STR(err, "text too long");

	/* len bounds the parse: the rest of the buffer is not the line. */
	CHECK_INT(mention_parse(&m, "{\"text\":\"ab\"}{junk", 13, err,
				sizeof(err)),
		  0);
	CHECK_STR(m.text, "ab");
	mention_fini(&m);
	/* A NUL inside the line is not JSON whitespace. */
	CHECK_INT(mention_parse(&m, "{\"text\":\"ab\"}\0", 14, err, sizeof(err)),
		  -1);
	CHECK_STR(err, "invalid JSON");
	/* A zero-length err buffer is allowed. */
	CHECK_INT(mention_parse(&m, "x", 1, err, 0), -1);
}

static const struct {
	const char *name;
	const char *html;
	const char *want;
} html_cases[] = {
	{"plain", "no tags", "no tags"},
	{"paragraphs", "<p>a</p><p>b</p>", " a  b "},
	{"br forms", "a<br>b<br/>c<br />d<BR>e", "a b c d e"},
	{"link", "see <a href=\"https://x\" rel=\"nofollow\">link</a>!",
	 "see link!"},
	{"named entities", "&amp;&lt;&gt;&quot;&#39;&apos;", "&<>\"''"},
	{"nbsp", "a&nbsp;b", "a\xc2\xa0" "b"},
	{"decimal entity", "&#233;t&#233;", "\xc3\xa9t\xc3\xa9"},
	{"hex entity", "&#x1F600;&#X41;", "\xf0\x9f\x98\x80" "A"},
	{"bad numeric entities", "&#0;&#xD800;&#x110000;",
	 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
	{"unknown entity kept", "&copy; & &#; &#x; &amp", "&copy; & &#; &#x; &amp"},
	{"lone less-than", "a < b <3", "a < b <3"},
	{"unclosed tag kept", "a <b", "a <b"},
	{"pre is not p", "<pre>x</pre>", "x"},
	{"span in word", "Bla<span>Bla</span>Car", "BlaBlaCar"},
	{"comment", "a<!-- c -->b", "ab"},
	{"whitespace kept", "a\n\n  b", "a\n\n  b"},
	{"empty", "", ""},
};

static void test_html(void)
{
	char *got;
	size_t i;

	for (i = 0; i < sizeof(html_cases) / sizeof(html_cases[0]); i++) {
		got = mention_html_to_text(html_cases[i].html,
					   strlen(html_cases[i].html));
		if (strcmp(got, html_cases[i].want) != 0) {
			fprintf(stderr, "html case \"%s\": got \"%s\"\n",
				html_cases[i].name, got);
		}
		CHECK_STR(got, html_cases[i].want);
		free(got);
	}
	/* len, not the NUL, ends the input. */
	got = mention_html_to_text("<p>ab</p>", 5);
	CHECK_STR(got, " ab");
	free(got);
}

static void test_copy(void)
{
	struct mention m, c;
	char err[64];
	const char *line = "{\"id\":\"1\",\"text\":\"h\xc3\xa9\xe2\x82\xac" "x\","
			   "\"lang\":\"fr\",\"author\":\"a\",\"url\":\"u\","
			   "\"created_at\":\"2026-11-21T14:00:00Z\"}";
	static const struct {
		size_t max;
		const char *want;
	} cuts[] = {
		{100, "h\xc3\xa9\xe2\x82\xac" "x"},
		{7, "h\xc3\xa9\xe2\x82\xac" "x"},
		{6, "h\xc3\xa9\xe2\x82\xac"},
		{5, "h\xc3\xa9"},
		{4, "h\xc3\xa9"},
		{3, "h\xc3\xa9"},
		{2, "h"},
		{1, "h"},
		{0, ""},
	};
	size_t i;

	CHECK_INT(mention_parse(&m, line, strlen(line), err, sizeof(err)), 0);
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		mention_copy(&c, &m, cuts[i].max);
		if (strcmp(c.text, cuts[i].want) != 0) {
			fprintf(stderr, "copy cut %zu: got \"%s\"\n",
				cuts[i].max, c.text);
		}
		CHECK_STR(c.text, cuts[i].want);
		CHECK(c.text != m.text);
		CHECK_STR(c.id, "1");
		CHECK_STR(c.lang, "fr");
		CHECK_STR(c.author, "a");
		CHECK_STR(c.url, "u");
		CHECK(c.has_created_at);
		CHECK_INT(c.created_at_ms, T0);
		mention_fini(&c);
	}
	mention_fini(&m);
}

int main(void)
{
	test_parse_ok();
	test_parse_bad();
	test_parse_limits();
	test_html();
	test_copy();
	return check_done();
}
