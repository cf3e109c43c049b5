/* SPDX-License-Identifier: MIT */
/*
 * Mention parsing: one NDJSON line in X API v2, flat or Mastodon shape
 * becomes a struct mention with plain text and event time. Also turns
 * Mastodon's HTML content into text. Pure; the caller decides what to do
 * with a rejected line.
 */
#include "core/mention.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util/buf.h"
#include "util/timeutil.h"

/* 2^53: integers up to here survive cJSON's double exactly. */
#define EXACT_DOUBLE_INT 9007199254740992.0

static void set_err(char *err, size_t errlen, const char *msg)
{
	if (errlen > 0) {
		snprintf(err, errlen, "%s", msg);
	}
}

static bool is_json_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* JSON null counts as absent: Mastodon sends "language": null. */
static const cJSON *field(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsNull(v) ? NULL : v;
}

/*
 * Reads an optional string field into *out (xstrdup'd; "" when absent).
 * A present non-string is an error, reported as "<name>: expected a
 * string".
 */
static int opt_string(const cJSON *obj, const char *name, char **out,
		      char *err, size_t errlen)
{
	const cJSON *v = field(obj, name);

	if (v == NULL) {
		*out = xstrdup("");
		return 0;
	}
	if (!cJSON_IsString(v)) {
		if (errlen > 0) {
			snprintf(err, errlen, "%s: expected a string", name);
		}
		return -1;
	}
	*out = xstrdup(v->valuestring);
	return 0;
}

/* Skips one JSON value of an input cJSON already accepted. */
static const char *skip_value(const char *p, const char *end)
{
	int depth = 0;

	do {
		while (p < end && is_json_ws(*p)) {
			p++;
		}
		if (p >= end) {
			return end;
		}
		if (*p == '"') {
			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\') {
					p++;
				}
			}
			p++;
		} else if (*p == '{' || *p == '[') {
			depth++;
			p++;
		} else if (*p == '}' || *p == ']') {
			depth--;
			p++;
		} else {
			while (p < end && !is_json_ws(*p) && *p != ',' &&
			       *p != '}' && *p != ']' && *p != ':') {
				p++;
			}
		}
		while (p < end && is_json_ws(*p)) {
			p++;
		}
		if (depth > 0 && p < end && (*p == ',' || *p == ':')) {
			p++;
		}
	} while (depth > 0 && p < end);
	return p;
}

/*
 * Finds the raw text of member name in the object starting at p, so an id
 * like 1861234567890123456 (beyond a double's 53 bits) can be copied
 * digit for digit. Keys written with escapes are not recognized; the
 * caller then falls back to the double. Returns NULL if not found.
 */
static const char *raw_member(const char *p, const char *end,
			      const char *name, const char **val_end)
{
	size_t nlen = strlen(name);
	const char *key;
	size_t klen;

	while (p < end && *p != '{') {
		p++;
	}
	p++;
	while (p < end) {
		while (p < end && (is_json_ws(*p) || *p == ',')) {
			p++;
		}
		if (p >= end || *p != '"') {
			return NULL;
		}
		key = p + 1;
		p = skip_value(p, end);
		klen = (size_t)(p - key);
		while (klen > 0 && key[klen - 1] != '"') {
			klen--;
		}
		klen = klen > 0 ? klen - 1 : 0;
		while (p < end && (is_json_ws(*p) || *p == ':')) {
			p++;
		}
		if (klen == nlen && memcmp(key, name, nlen) == 0) {
			*val_end = skip_value(p, end);
			return p;
		}
		p = skip_value(p, end);
	}
	return NULL;
}

/* Renders a numeric id exactly: its digits as written when they are a
 * plain integer, else the double when it is integral. obj_start is the
 * raw text of the object holding "id", or NULL when unknown. */
static int number_id(const cJSON *v, const char *obj_start, const char *end,
		     char **out)
{
	const char *raw, *raw_end = NULL;
	size_t i, n;

	raw = obj_start ? raw_member(obj_start, end, "id", &raw_end) : NULL;
	if (raw != NULL) {
		while (raw_end > raw && is_json_ws(raw_end[-1])) {
			raw_end--;
		}
		n = (size_t)(raw_end - raw);
		for (i = raw[0] == '-' ? 1 : 0; i < n; i++) {
			if (raw[i] < '0' || raw[i] > '9') {
				break;
			}
		}
		if (n > 0 && i == n) {
			*out = xstrndup(raw, n);
			return 0;
		}
	}
	if (v->valuedouble != floor(v->valuedouble) ||
	    fabs(v->valuedouble) > EXACT_DOUBLE_INT) {
		return -1;
	}
	*out = xasprintf("%" PRId64, (int64_t)v->valuedouble);
	return 0;
}

static int parse_id(const cJSON *obj, const char *obj_start, const char *end,
		    char **out, char *err, size_t errlen)
{
	const cJSON *v = field(obj, "id");

	if (v == NULL) {
		*out = xstrdup("");
		return 0;
	}
	if (cJSON_IsString(v)) {
		*out = xstrdup(v->valuestring);
		return 0;
	}
	if (cJSON_IsNumber(v) && number_id(v, obj_start, end, out) == 0) {
		return 0;
	}
	set_err(err, errlen, "id: expected a string or an integer");
	return -1;
}

static int parse_created_at(const cJSON *obj, struct mention *m, char *err,
			    size_t errlen)
{
	const cJSON *v = field(obj, "created_at");

	if (v == NULL) {
		return 0;
	}
	if (!cJSON_IsString(v)) {
		set_err(err, errlen, "created_at: expected a string");
		return -1;
	}
	if (timeutil_parse_rfc3339(v->valuestring, strlen(v->valuestring),
				   &m->created_at_ms) < 0) {
		set_err(err, errlen,
			"created_at: not an RFC 3339 timestamp");
		return -1;
	}
	m->has_created_at = true;
	return 0;
}

static int check_text(const char *text, char *err, size_t errlen)
{
	if (strlen(text) > MENTION_MAX_TEXT_BYTES) {
		set_err(err, errlen, "text too long");
		return -1;
	}
	return 0;
}

static int required_text(const cJSON *obj, char **out, char *err,
			 size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "text");

	if (v == NULL || cJSON_IsNull(v)) {
		set_err(err, errlen, "missing \"text\"");
		return -1;
	}
	if (!cJSON_IsString(v)) {
		set_err(err, errlen, "text: expected a string");
		return -1;
	}
	if (check_text(v->valuestring, err, errlen) < 0) {
		return -1;
	}
	*out = xstrdup(v->valuestring);
	return 0;
}

/* X API v2: the author is the expanded user whose id is author_id. */
static char *x_author(const cJSON *root, const cJSON *data)
{
	const cJSON *users, *u, *uid, *name;
	const cJSON *author_id = field(data, "author_id");
	const char *first = NULL;

	users = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(root, "includes"), "users");
	if (!cJSON_IsArray(users)) {
		users = NULL;
	}
	cJSON_ArrayForEach(u, users) {
		name = cJSON_GetObjectItemCaseSensitive(u, "username");
		if (!cJSON_IsString(name)) {
			continue;
		}
		if (first == NULL) {
			first = name->valuestring;
		}
		uid = cJSON_GetObjectItemCaseSensitive(u, "id");
		if (cJSON_IsString(uid) && cJSON_IsString(author_id) &&
		    strcmp(uid->valuestring, author_id->valuestring) == 0) {
			return xstrdup(name->valuestring);
		}
	}
	if (first != NULL) {
		return xstrdup(first);
	}
	if (cJSON_IsString(author_id)) {
		return xstrdup(author_id->valuestring);
	}
	return xstrdup("");
}

static int parse_x(const cJSON *root, const cJSON *data, const char *line,
		   const char *end, struct mention *m, char *err,
		   size_t errlen)
{
	const char *data_start = NULL;
	const char *data_end;

	/* Only a numeric id needs the raw text; spare the scan otherwise. */
	if (cJSON_IsNumber(field(data, "id"))) {
		data_start = raw_member(line, end, "data", &data_end);
	}
	if (required_text(data, &m->text, err, errlen) < 0 ||
	    parse_id(data, data_start, end, &m->id, err, errlen) < 0 ||
	    opt_string(data, "lang", &m->lang, err, errlen) < 0 ||
	    parse_created_at(data, m, err, errlen) < 0) {
		return -1;
	}
	m->author = x_author(root, data);
	if (m->id[0] != '\0') {
		m->url = xasprintf("https://x.com/i/web/status/%s", m->id);
	} else {
		m->url = xstrdup("");
	}
	return 0;
}

static int parse_mastodon(const cJSON *root, const cJSON *content,
			  const char *line, const char *end, struct mention *m,
			  char *err, size_t errlen)
{
	const cJSON *account = field(root, "account");
	const cJSON *acct = NULL;

	if (!cJSON_IsString(content)) {
		set_err(err, errlen, "content: expected a string");
		return -1;
	}
	m->text = mention_html_to_text(content->valuestring,
				       strlen(content->valuestring));
	if (check_text(m->text, err, errlen) < 0 ||
	    parse_id(root, line, end, &m->id, err, errlen) < 0 ||
	    opt_string(root, "language", &m->lang, err, errlen) < 0 ||
	    opt_string(root, "url", &m->url, err, errlen) < 0 ||
	    parse_created_at(root, m, err, errlen) < 0) {
		return -1;
	}
	/* Remote statuses may have no "url"; "uri" is always there. */
	if (m->url[0] == '\0') {
		free(m->url);
		m->url = NULL;
		if (opt_string(root, "uri", &m->url, err, errlen) < 0) {
			return -1;
		}
	}
	if (cJSON_IsObject(account)) {
		acct = field(account, "acct");
		if (!cJSON_IsString(acct)) {
			acct = field(account, "username");
		}
	}
	m->author = xstrdup(cJSON_IsString(acct) ? acct->valuestring : "");
	return 0;
}

static int parse_flat(const cJSON *root, const char *line, const char *end,
		      struct mention *m, char *err, size_t errlen)
{
	if (required_text(root, &m->text, err, errlen) < 0 ||
	    parse_id(root, line, end, &m->id, err, errlen) < 0 ||
	    opt_string(root, "lang", &m->lang, err, errlen) < 0 ||
	    opt_string(root, "author", &m->author, err, errlen) < 0 ||
	    opt_string(root, "url", &m->url, err, errlen) < 0 ||
	    parse_created_at(root, m, err, errlen) < 0) {
		return -1;
	}
	return 0;
}

int mention_parse(struct mention *m, const char *line, size_t len, char *err,
		  size_t errlen)
{
	const char *end = line + len;
	const char *parse_end = NULL;
	const cJSON *data, *content;
	cJSON *root;
	int rc;

	memset(m, 0, sizeof(*m));
	root = cJSON_ParseWithLengthOpts(line, len, &parse_end, 0);
	if (root != NULL) {
		while (parse_end < end && is_json_ws(*parse_end)) {
			parse_end++;
		}
	}
	if (root == NULL || parse_end != end) {
		cJSON_Delete(root);
		set_err(err, errlen, "invalid JSON");
		return -1;
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		set_err(err, errlen, "expected a JSON object");
		return -1;
	}
	data = cJSON_GetObjectItemCaseSensitive(root, "data");
	content = field(root, "content");
	if (cJSON_IsObject(data)) {
		rc = parse_x(root, data, line, end, m, err, errlen);
	} else if (content != NULL && field(root, "text") == NULL) {
		rc = parse_mastodon(root, content, line, end, m, err, errlen);
	} else {
		rc = parse_flat(root, line, end, m, err, errlen);
	}
	cJSON_Delete(root);
	if (rc < 0) {
		mention_fini(m);
		return -1;
	}
	return 0;
}

void mention_fini(struct mention *m)
{
	free(m->id);
	free(m->text);
	free(m->lang);
	free(m->author);
	free(m->url);
	memset(m, 0, sizeof(*m));
}

void mention_copy(struct mention *dst, const struct mention *src,
		  size_t max_text_bytes)
{
	size_t n = strlen(src->text);

	if (n > max_text_bytes) {
		n = max_text_bytes;
		/* Never split a code point: back up over continuation
		 * bytes to the start of the one that was cut. */
		while (n > 0 && ((unsigned char)src->text[n] & 0xC0) == 0x80) {
			n--;
		}
	}
	dst->id = xstrdup(src->id);
	dst->text = xstrndup(src->text, n);
	dst->lang = xstrdup(src->lang);
	dst->author = xstrdup(src->author);
	dst->url = xstrdup(src->url);
	dst->created_at_ms = src->created_at_ms;
	dst->has_created_at = src->has_created_at;
}

static void put_utf8(char *out, size_t *o, uint32_t c)
{
	if (c < 0x80) {
		out[(*o)++] = (char)c;
	} else if (c < 0x800) {
		out[(*o)++] = (char)(0xC0 | c >> 6);
		out[(*o)++] = (char)(0x80 | (c & 0x3F));
	} else if (c < 0x10000) {
		out[(*o)++] = (char)(0xE0 | c >> 12);
		out[(*o)++] = (char)(0x80 | ((c >> 6) & 0x3F));
		out[(*o)++] = (char)(0x80 | (c & 0x3F));
	} else {
		out[(*o)++] = (char)(0xF0 | c >> 18);
		out[(*o)++] = (char)(0x80 | ((c >> 12) & 0x3F));
		out[(*o)++] = (char)(0x80 | ((c >> 6) & 0x3F));
		out[(*o)++] = (char)(0x80 | (c & 0x3F));
	}
}

/*
 * Decodes the entity at s (s[0] == '&') into out. Returns the bytes of
 * input consumed, or 0 when it is not an entity we know, in which case
 * the '&' is kept as text.
 */
static size_t decode_entity(const char *s, size_t n, char *out, size_t *o)
{
	static const struct {
		const char *name;
		const char *text;
	} named[] = {
		{"&amp;", "&"},   {"&lt;", "<"},     {"&gt;", ">"},
		{"&quot;", "\""}, {"&apos;", "'"},   {"&#39;", "'"},
		{"&nbsp;", "\xC2\xA0"},
	};
	size_t i, k, len;
	uint32_t c = 0;
	int base = 10;
	int d;

	for (i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		len = strlen(named[i].name);
		if (n >= len && memcmp(s, named[i].name, len) == 0) {
			memcpy(out + *o, named[i].text, strlen(named[i].text));
			*o += strlen(named[i].text);
			return len;
		}
	}
	if (n < 4 || s[1] != '#') {
		return 0;
	}
	k = 2;
	if (s[k] == 'x' || s[k] == 'X') {
		base = 16;
		k++;
	}
	for (i = k; i < n && i < k + 8; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			d = s[i] - '0';
		} else if (base == 16 && s[i] >= 'a' && s[i] <= 'f') {
			d = s[i] - 'a' + 10;
		} else if (base == 16 && s[i] >= 'A' && s[i] <= 'F') {
			d = s[i] - 'A' + 10;
		} else {
			break;
		}
		c = c * (uint32_t)base + (uint32_t)d;
	}
	if (i == k || i >= n || s[i] != ';') {
		return 0;
	}
	if (c == 0 || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
		c = 0xFFFD;
	}
	/* Fits: "&#N;" is never shorter than N's UTF-8 (U+FFFD needs 3
	 * bytes and the shortest entity here is 4). */
	put_utf8(out, o, c);
	return i + 1;
}

static bool is_ascii_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Whether the tag at s (s[0] == '<') ends a line or paragraph. */
static bool tag_is_break(const char *s, size_t n)
{
	size_t i = 1;

	if (i < n && s[i] == '/') {
		i++;
	}
	if (i < n && (s[i] == 'p' || s[i] == 'P')) {
		i++;
	} else if (i + 1 < n && (s[i] == 'b' || s[i] == 'B') &&
		   (s[i + 1] == 'r' || s[i + 1] == 'R')) {
		i += 2;
	} else {
		return false;
	}
	return i < n && (s[i] == '>' || s[i] == '/' || is_json_ws(s[i]));
}

char *mention_html_to_text(const char *html, size_t len)
{
	/* Nothing decodes to more bytes than its source. */
	char *out = xmalloc(len + 1);
	const char *gt;
	size_t i = 0, o = 0, used;

	while (i < len) {
		/* A '<' not followed by a tag name is text ("a < b"). */
		if (html[i] == '<' && i + 1 < len &&
		    (html[i + 1] == '/' || html[i + 1] == '!' ||
		     is_ascii_alpha(html[i + 1]))) {
			gt = memchr(html + i, '>', len - i);
			if (gt != NULL) {
				if (tag_is_break(html + i, len - i)) {
					out[o++] = ' ';
				}
				i = (size_t)(gt - html) + 1;
				continue;
			}
		}
		if (html[i] == '&') {
			used = decode_entity(html + i, len - i, out, &o);
			if (used > 0) {
				i += used;
				continue;
			}
		}
		out[o++] = html[i++];
	}
	out[o] = '\0';
	return out;
}
