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
#include "util/buf.h"

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
	 "{\"data\":{\"id\":\"1861234567890123456\",\"text\":\"Hello "
	 "BlaBlaCar\","
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
	{"integral id with exponent", "{\"id\":1e3,\"text\":\"t\"}", "1000",
	 "t", "", "", "", false, 0},
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
	{"surrogate pair", "{\"text\":\"smile \\ud83d\\ude00 \\u00e9\"}", "",
	 "smile \xf0\x9f\x98\x80 \xc3\xa9", "", "", "", false, 0},
	{"trailing whitespace", "{\"text\":\"t\"}  \r\n", "", "t", "", "", "",
	 false, 0},
	{"every escape", "{\"text\":\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t end\"}",
	 "", "q\" b\\ s/ \b\f\n\r\t end", "", "", "", false, 0},
	{"\\u escapes of 1, 2 and 3 UTF-8 bytes, either case",
	 "{\"text\":\"\\u0041\\u00E9\\u00e9\\u20ac\\uFFFF\"}", "",
	 "A\xc3\xa9\xc3\xa9\xe2\x82\xac\xef\xbf\xbf", "", "", "", false, 0},
	{"surrogate pairs: highest code point and adjacent pairs",
	 "{\"text\":\"\\uDBFF\\uDFFF\\ud83d\\ude00\\ud83c\\uDDEB!\"}", "",
	 "\xf4\x8f\xbf\xbf\xf0\x9f\x98\x80\xf0\x9f\x87\xab!", "", "", "", false,
	 0},
	{"\\u0000 does not cut the text", "{\"text\":\"a\\u0000b\"}", "",
	 "a\xef\xbf\xbd"
	 "b",
	 "", "", "", false, 0},
	{"escaped keys and values",
	 "{\"t\\u0065xt\":\"caf\\u00e9\",\"\\u0069d\":\"\\u0031\","
	 "\"la\\u006eg\":\"f\\u0072\"}",
	 "1", "caf\xc3\xa9", "fr", "", "", false, 0},
	{"x v2 escaped author match",
	 "{\"data\":{\"id\":\"5\",\"text\":\"t\",\"author_id\":\"4\\u0032\"},"
	 "\"includes\":{\"users\":[{\"id\":\"7\",\"username\":\"first\"},"
	 "{\"id\":\"42\",\"username\":\"\\u00e9mile\"}]}}",
	 "5", "t", "", "\xc3\xa9mile", "https://x.com/i/web/status/5", false,
	 0},
	{"first of duplicate keys", "{\"text\":\"a\",\"text\":\"b\"}", "", "a",
	 "", "", "", false, 0},
	{"values of every type around the fields",
	 "{\"a\":[true,false,null,0,-0.5,1E+2,2e-3,{},[],\"\"],\"text\":\"t\","
	 "\"b\":{\"c\":{\"d\":[[1],{\"e\":null}]}}, \"lang\" : \"de\" }",
	 "", "t", "de", "", "", false, 0},
	{"mastodon",
	 "{\"id\":\"109\",\"created_at\":\"2026-11-21T14:00:00.000Z\","
	 "\"language\":\"fr\",\"url\":\"https://m.example/@carol/109\","
	 "\"content\":\"<p>J&#39;adore <a href=\\\"https://x\\\" "
	 "class=\\\"mention\\\">@<span>BlaBlaCar</span></a> &amp; "
	 "co</p><p>2nd<br "
	 "/>line</p>\",\"account\":{\"acct\":\"carol@m.example\","
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
		    (c->has_created_at &&
		     m.created_at_ms != c->created_at_ms)) {
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
	{"lone low surrogate", "{\"text\":\"\\ude00x\"}", "invalid JSON"},
	{"high surrogate then a letter", "{\"text\":\"\\ud83dx\\ude00\"}",
	 "invalid JSON"},
	{"high surrogate then a non-low escape",
	 "{\"text\":\"\\ud83d\\u0041\"}", "invalid JSON"},
	{"lone surrogate in an unread field",
	 "{\"text\":\"t\",\"x\":[\"\\udfff\"]}", "invalid JSON"},
	{"short \\u", "{\"text\":\"\\u12\"}", "invalid JSON"},
	{"bad escape", "{\"text\":\"\\x41\"}", "invalid JSON"},
	{"missing comma", "{\"text\":\"t\" \"lang\":\"fr\"}", "invalid JSON"},
	{"missing colon", "{\"text\" \"t\"}", "invalid JSON"},
	{"double colon", "{\"text\"::\"t\"}", "invalid JSON"},
	{"double comma", "{\"text\":\"t\",,\"lang\":\"fr\"}", "invalid JSON"},
	{"leading comma", "{,\"text\":\"t\"}", "invalid JSON"},
	{"trailing comma", "{\"text\":\"t\",}", "invalid JSON"},
	{"array trailing comma", "{\"text\":\"t\",\"a\":[1,]}", "invalid JSON"},
	{"array missing comma", "{\"text\":\"t\",\"a\":[1 2]}", "invalid JSON"},
	{"key without value", "{\"text\":\"t\",\"a\"}", "invalid JSON"},
	{"chained colons", "{\"a\":\"b\":\"c\",\"text\":\"t\"}",
	 "invalid JSON"},
	{"colon in an array", "{\"text\":\"t\",\"a\":[\"k\":1]}",
	 "invalid JSON"},
	{"number key", "{1:\"t\"}", "invalid JSON"},
	{"bare word", "{\"text\":\"t\",\"a\":nope}", "invalid JSON"},
	{"truncated literal", "{\"text\":\"t\",\"a\":tru}", "invalid JSON"},
	{"leading zero", "{\"text\":\"t\",\"id\":012}", "invalid JSON"},
	{"plus sign", "{\"text\":\"t\",\"id\":+1}", "invalid JSON"},
	{"bare fraction", "{\"text\":\"t\",\"a\":.5}", "invalid JSON"},
	{"dot without digits", "{\"text\":\"t\",\"a\":1.}", "invalid JSON"},
	{"empty exponent", "{\"text\":\"t\",\"a\":1e}", "invalid JSON"},
	{"mismatched brackets", "{\"text\":\"t\",\"a\":[1}}", "invalid JSON"},
	{"unclosed string", "{\"text\":\"t}", "invalid JSON"},
	{"bad top-level literal", "nul", "invalid JSON"},
	{"top-level literal", " true ", "expected a JSON object"},
	{"top-level array of objects", "[{\"text\":\"t\"}]",
	 "expected a JSON object"},
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
				   strlen(bad_cases[i].line), err, sizeof(err));
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
	CHECK_INT(
		mention_parse(&m, "{\"text\":\"ab\"}\0", 14, err, sizeof(err)),
		-1);
	CHECK_STR(err, "invalid JSON");
	/* More tokens than fit on the stack, and nesting deeper than
	 * anyone writes. */
	{
		static char big[64 * 1024];
		size_t o = 0;

		o += (size_t)sprintf(big + o, "{\"a\":[");
		for (int i = 0; i < 3000; i++) {
			o += (size_t)sprintf(big + o, "%s{\"k\":%d}",
					     i ? "," : "", i);
		}
		o += (size_t)sprintf(big + o, "],\"text\":\"many\"}");
		CHECK_INT(mention_parse(&m, big, o, err, sizeof(err)), 0);
		CHECK_STR(m.text, "many");
		mention_fini(&m);
		big[o - 2] = ',';
		CHECK_INT(mention_parse(&m, big, o, err, sizeof(err)), -1);
		CHECK_STR(err, "invalid JSON");

		/* 64 deep (the object and 63 arrays) passes, 65 is
		 * turned away by the pre-scan with its own reason. */
		o = 0;
		o += (size_t)sprintf(big + o, "{\"text\":\"deep\",\"a\":");
		for (int i = 0; i < 63; i++) {
			big[o++] = '[';
		}
		for (int i = 0; i < 63; i++) {
			big[o++] = ']';
		}
		big[o++] = '}';
		CHECK_INT(mention_parse(&m, big, o, err, sizeof(err)), 0);
		mention_fini(&m);
		o = 0;
		o += (size_t)sprintf(big + o, "{\"text\":\"deep\",\"a\":");
		for (int i = 0; i < 64; i++) {
			big[o++] = '[';
		}
		for (int i = 0; i < 64; i++) {
			big[o++] = ']';
		}
		big[o++] = '}';
		CHECK_INT(mention_parse(&m, big, o, err, sizeof(err)), -1);
		CHECK_STR(err, "nesting deeper than 64");
		/* brackets in the text are not nesting */
		o = 0;
		o += (size_t)sprintf(big + o, "{\"text\":\"");
		for (int i = 0; i < 5000; i++) {
			big[o++] = '[';
		}
		o += (size_t)sprintf(big + o, "\\\"\"}");
		CHECK_INT(mention_parse(&m, big, o, err, sizeof(err)), 0);
		CHECK_INT(strlen(m.text), 5001);
		mention_fini(&m);
	}
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
	{"nbsp", "a&nbsp;b",
	 "a\xc2\xa0"
	 "b"},
	{"decimal entity", "&#233;t&#233;", "\xc3\xa9t\xc3\xa9"},
	{"hex entity", "&#x1F600;&#X41;",
	 "\xf0\x9f\x98\x80"
	 "A"},
	{"bad numeric entities", "&#0;&#xD800;&#x110000;",
	 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
	{"unknown entity kept", "&copy; & &#; &#x; &amp",
	 "&copy; & &#; &#x; &amp"},
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
	const char *line = "{\"id\":\"1\",\"text\":\"h\xc3\xa9\xe2\x82\xac"
			   "x\","
			   "\"lang\":\"fr\",\"author\":\"a\",\"url\":\"u\","
			   "\"created_at\":\"2026-11-21T14:00:00Z\"}";
	static const struct {
		size_t max;
		const char *want;
	} cuts[] = {
		{100, "h\xc3\xa9\xe2\x82\xac"
		      "x"},
		{7, "h\xc3\xa9\xe2\x82\xac"
		    "x"},
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

static const struct mention_fields test_fields = {
	.text = "/data/text",
	.id = "/data/id",
	.created_at = "/data/created_at",
	.lang = "/data/meta~1lang",
	.author = "/includes/users/0/username",
	.url = "/links/a~0b/1",
};

#define MASTO_STATUS(id, content, extra)                                     \
	"{\"id\":\"" id "\",\"created_at\":\"2026-11-21T14:00:00.000Z\","    \
	"\"language\":null,\"url\":\"https://m.example/@a/" id "\","         \
	"\"content\":\"" content "\",\"account\":{\"acct\":\"a@m.example\"," \
	"\"username\":\"a\"},\"tags\":[{\"name\":\"blablacar\"},"            \
	"{\"name\":\"covoit\"}]" extra "}"

static const struct {
	const char *name;
	enum mention_format format;
	bool reblog_original;
	const char *line;
	enum mention_result want;
	const char *id, *text, *lang, *author, *url, *tags; /* or err */
} as_cases[] = {
	{"x-v2 post", MENTION_FORMAT_X_V2, true,
	 "{\"data\":{\"id\":\"9\",\"text\":\"hi\",\"author_id\":\"1\"},"
	 "\"matching_rules\":[{\"id\":\"1\",\"tag\":\"a\"},{\"id\":\"2\","
	 "\"tag\":\"b\"}]}",
	 MENTION_OK, "9", "hi", "", "1", "https://x.com/i/web/status/9", NULL},
	{"x-v2 in-stream error", MENTION_FORMAT_X_V2, true,
	 "{\"errors\":[{\"title\":\"operational-disconnect\",\"disconnect_type"
	 "\":\"UpstreamOperationalDisconnect\",\"detail\":\"This stream has "
	 "been disconnected upstream for operational reasons.\",\"type\":"
	 "\"https://api.twitter.com/2/problems/operational-disconnect\"}]}",
	 MENTION_STREAM_ERROR,
	 "operational-disconnect: This stream has been "
	 "disconnected upstream for operational reasons.",
	 NULL, NULL, NULL, NULL, NULL},
	{"auto in-stream error", MENTION_FORMAT_AUTO, true,
	 "{\"errors\":[{\"title\":\"ConnectionException\"}]}",
	 MENTION_STREAM_ERROR, "ConnectionException: ", NULL, NULL, NULL, NULL,
	 NULL},
	{"x-v2 partial errors with data", MENTION_FORMAT_X_V2, true,
	 "{\"data\":{\"id\":\"3\",\"text\":\"t\"},\"errors\":[{\"title\":"
	 "\"Not Found Error\"}]}",
	 MENTION_OK, "3", "t", "", "", "https://x.com/i/web/status/3", NULL},
	{"x-v2 rejects flat", MENTION_FORMAT_X_V2, true,
	 "{\"id\":\"1\",\"text\":\"t\"}", MENTION_REJECTED, "missing \"data\"",
	 NULL, NULL, NULL, NULL, NULL},
	{"flat rejects x-v2", MENTION_FORMAT_FLAT, true,
	 "{\"data\":{\"id\":\"1\",\"text\":\"t\"}}", MENTION_REJECTED,
	 "missing \"text\"", NULL, NULL, NULL, NULL, NULL},
	{"mastodon status", MENTION_FORMAT_MASTODON, true,
	 MASTO_STATUS("1100",
		      "<p>Trip with <a href=\\\"https://m.example/tags/"
		      "blablacar\\\" class=\\\"mention hashtag\\\" rel=\\\"tag"
		      "\\\">#<span>BlaBlaCar</span></a> &amp; friends "
		      "\\ud83d\\ude97</p><p>see <a href=\\\"https://ex.org\\\">"
		      "<span class=\\\"invisible\\\">https://</span>ex.org</a>"
		      "</p>",
		      ""),
	 MENTION_OK, "1100",
	 " Trip with #BlaBlaCar & friends \xF0\x9F\x9A\x97  see "
	 "https://ex.org ",
	 "", "a@m.example", "https://m.example/@a/1100", "blablacar covoit"},
	{"mastodon boost as original", MENTION_FORMAT_MASTODON, true,
	 "{\"id\":\"2000\",\"content\":\"\",\"account\":{\"acct\":\"booster\"},"
	 "\"reblog\":" MASTO_STATUS("1100", "orig", "") "}",
	 MENTION_OK, "1100", "orig", "", "a@m.example",
	 "https://m.example/@a/1100", "blablacar covoit"},
	{"mastodon boost skipped", MENTION_FORMAT_MASTODON, false,
	 "{\"id\":\"2000\",\"content\":\"\",\"reblog\":" MASTO_STATUS(
		 "1100", "orig", "") "}",
	 MENTION_SKIPPED, "boost skipped", NULL, NULL, NULL, NULL, NULL},
	{"mastodon edit keeps id", MENTION_FORMAT_MASTODON, true,
	 MASTO_STATUS("1100", "edited",
		      ",\"edited_at\":\"2026-11-21T14:05:00Z\""),
	 MENTION_OK, "1100", "edited", "", "a@m.example",
	 "https://m.example/@a/1100", "blablacar covoit"},
	{"mastodon without content", MENTION_FORMAT_MASTODON, true,
	 "{\"id\":\"1\",\"text\":\"t\"}", MENTION_REJECTED,
	 "missing \"content\"", NULL, NULL, NULL, NULL, NULL},
	{"fields mapping", MENTION_FORMAT_FIELDS, true,
	 "{\"data\":{\"id\":12,\"text\":\"mapped\",\"meta/lang\":\"de\","
	 "\"created_at\":\"2026-11-21T14:00:00Z\"},\"includes\":{\"users\":"
	 "[{\"username\":\"u0\"},{\"username\":\"u1\"}]},\"links\":{\"a~b\":"
	 "[\"x\",\"https://u\"]}}",
	 MENTION_OK, "12", "mapped", "de", "u0", "https://u", NULL},
	{"fields missing optional", MENTION_FORMAT_FIELDS, true,
	 "{\"data\":{\"text\":\"only\",\"meta/lang\":null},\"includes\":{"
	 "\"users\":[]},\"links\":{\"a~b\":[\"x\"]}}",
	 MENTION_OK, "", "only", "", "", "", NULL},
	{"fields missing text", MENTION_FORMAT_FIELDS, true,
	 "{\"data\":{\"id\":\"1\"}}", MENTION_REJECTED,
	 "missing text (/data/text)", NULL, NULL, NULL, NULL, NULL},
	{"fields wrong type", MENTION_FORMAT_FIELDS, true,
	 "{\"data\":{\"text\":\"t\",\"meta/lang\":5}}", MENTION_REJECTED,
	 "lang (/data/meta~1lang): expected a string", NULL, NULL, NULL, NULL,
	 NULL},
	{"fields array index no leading zero", MENTION_FORMAT_FIELDS, true,
	 "{\"data\":{\"text\":\"t\"},\"links\":{\"a~b\":[\"0\",\"1\"]},"
	 "\"includes\":{\"users\":{\"0\":{\"username\":\"objkey\"}}}}",
	 MENTION_OK, "", "t", "", "objkey", "1", NULL},
};

static void test_parse_as(void)
{
	for (size_t i = 0; i < sizeof(as_cases) / sizeof(as_cases[0]); i++) {
		struct mention_opts o = {
			.format = as_cases[i].format,
			.fields = &test_fields,
			.reblog_original = as_cases[i].reblog_original,
		};
		struct mention m;
		char err[256] = "";
		enum mention_result r;

		r = mention_parse_as(&m, &o, as_cases[i].line,
				     strlen(as_cases[i].line), err,
				     sizeof(err));
		if (r != as_cases[i].want) {
			fprintf(stderr, "case %s: %s\n", as_cases[i].name, err);
		}
		CHECK_INT(r, as_cases[i].want);
		if (r != MENTION_OK) {
			CHECK_STR(err, as_cases[i].id);
			CHECK(m.id == NULL && m.text == NULL);
			continue;
		}
		if (strcmp(m.text, as_cases[i].text) != 0) {
			fprintf(stderr, "case %s\n", as_cases[i].name);
		}
		CHECK_STR(m.id, as_cases[i].id);
		CHECK_STR(m.text, as_cases[i].text);
		CHECK_STR(m.lang, as_cases[i].lang);
		CHECK_STR(m.author, as_cases[i].author);
		CHECK_STR(m.url, as_cases[i].url);
		if (as_cases[i].tags == NULL) {
			CHECK(m.tags == NULL);
		} else {
			CHECK(m.tags != NULL);
			CHECK_STR(m.tags ? m.tags : "", as_cases[i].tags);
		}
		mention_fini(&m);
	}
}

static void test_pointer_syntax(void)
{
	CHECK(mention_pointer_valid(""));
	CHECK(mention_pointer_valid("/a/b~0~1/0"));
	CHECK(!mention_pointer_valid("a/b"));
	CHECK(!mention_pointer_valid("/a~2"));
	CHECK(!mention_pointer_valid("/a~"));
	CHECK(!mention_pointer_valid(NULL));
}

static void test_copy_source(void)
{
	struct mention a = {0}, b;

	a.id = xstrdup("1");
	a.text = xstrdup("t");
	a.lang = xstrdup("");
	a.author = xstrdup("");
	a.url = xstrdup("");
	a.source = xstrdup("x");
	mention_copy(&b, &a, 100);
	CHECK_STR(b.source, "x");
	CHECK(b.tags == NULL);
	mention_fini(&a);
	mention_fini(&b);
}

/*
 * mention_parse_in: the same fields as mention_parse for every case above,
 * carved from one arena reused from line to line (a Mastodon text is made
 * outside it and freed by mention_fini; ASan checks both).
 */
static void test_parse_in(void)
{
	static const struct mention_opts opts = {
		.format = MENTION_FORMAT_AUTO,
		.reblog_original = true,
	};
	char err[128], err2[128];
	char *arena = NULL;

	for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		const struct parse_case *c = &ok_cases[i];
		size_t len = strlen(c->line), cap = len + MENTION_MEM_SLACK;
		struct mention a, b;

		arena = realloc(arena, cap);
		CHECK_INT(mention_parse(&a, c->line, len, err, sizeof(err)), 0);
		CHECK_INT(mention_parse_in(&b, &opts, c->line, len, arena, cap,
					   err, sizeof(err)),
			  MENTION_OK);
		CHECK(b.mem == arena && b.mem_borrowed);
		CHECK(b.id >= arena && b.id < arena + cap);
		CHECK_STR(b.id, a.id);
		CHECK_STR(b.text, a.text);
		CHECK_STR(b.lang, a.lang);
		CHECK_STR(b.author, a.author);
		CHECK_STR(b.url, a.url);
		CHECK_INT(b.has_created_at, a.has_created_at);
		CHECK_INT(b.created_at_ms, a.created_at_ms);
		mention_fini(&a);
		mention_fini(&b);
	}
	/* a rejected line: the same reason, nothing to free */
	{
		const char *line = "{\"data\":{\"id\":\"1\"}}";
		size_t len = strlen(line);
		struct mention a, b;

		arena = realloc(arena, len + MENTION_MEM_SLACK);
		CHECK_INT(mention_parse(&a, line, len, err, sizeof(err)), -1);
		CHECK_INT(mention_parse_in(&b, &opts, line, len, arena,
					   len + MENTION_MEM_SLACK, err2,
					   sizeof(err2)),
			  MENTION_REJECTED);
		CHECK_STR(err2, err);
	}
	free(arena);
}

/*
 * Objects with more members than the parser indexes (32) are read the
 * plain way; fields are found wherever they are, the first of duplicates.
 */
static void test_many_members(void)
{
	struct buf line;
	struct mention m;
	char err[128];

	for (int keys = 30; keys <= 36; keys += 2) {
		buf_init(&line, 1 << 16);
		CHECK_INT(buf_append(&line, "{\"data\":{", 9), 0);
		for (int k = 0; k < keys; k++) {
			CHECK_INT(buf_printf(&line, "\"k%d\":{\"a\":[%d]},", k,
					     k),
				  0);
		}
		CHECK_INT(buf_printf(&line,
				     "\"lang\":\"de\",\"text\":\"t%d\","
				     "\"text\":\"dup\",\"id\":\"9\"},"
				     "\"z\":1}",
				     keys),
			  0);
		CHECK_INT(mention_parse(&m, line.data, line.len, err,
					sizeof(err)),
			  0);
		CHECK(m.text != NULL && strncmp(m.text, "t", 1) == 0 &&
		      atoi(m.text + 1) == keys);
		CHECK_STR(m.lang, "de");
		CHECK_STR(m.id, "9");
		mention_fini(&m);
		buf_fini(&line);
	}
}

int main(void)
{
	test_parse_ok();
	test_parse_in();
	test_many_members();
	test_parse_bad();
	test_parse_limits();
	test_html();
	test_copy();
	test_parse_as();
	test_pointer_syntax();
	test_copy_source();
	return check_done();
}
