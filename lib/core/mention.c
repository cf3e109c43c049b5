/* SPDX-License-Identifier: MIT */
/*
 * Mention parsing: one NDJSON line in X API v2, flat or Mastodon shape
 * becomes a struct mention with plain text and event time. Also turns
 * Mastodon's HTML content into text. Pure; the caller decides what to do
 * with a rejected line. This is the hot path's first step: jsmn tokenizes
 * in place (no tree, no copies), a walk over the tokens checks what jsmn
 * lets through, and only the fields read are unescaped and copied.
 */
#include "core/mention.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "core/jsondepth.h"
#include "util/buf.h"
#include "util/timeutil.h"

/* 2^53: integers up to here survive a double exactly. */
#define EXACT_DOUBLE_INT 9007199254740992.0
/* Tokens on the stack; a line with more goes to the heap. */
#define STACK_TOKENS 256
/* Deeper lines are not mentions. The limit is checked by a linear
 * pre-scan before jsmn runs: with parent links, jsmn walks up from the
 * last token at every close, so its time grows with depth times length. */
#define MAX_DEPTH JSONDEPTH_MAX
#define STR_(x) #x
#define STR(x) STR_(x)

/* Room in a mention's block beyond the line's length: the X url prefix,
 * the NULs, the "" of absent fields. */
#define MEM_SLACK MENTION_MEM_SLACK

/* One tokenized line. Token i's string bytes are js[t[i].start, t[i].end),
 * still escaped. */
struct doc {
	const char *js;
	const jsmntok_t *t;
	int n;
	/* Most lines have no backslash at all: one memchr over the line
	 * then spares a scan per string. */
	bool escapes;
	/* The mention being filled: its fields are carved from m->mem (one
	 * allocation per mention; STYLE), heap-allocated only if it is
	 * full. NULL while the line is only checked. */
	struct mention *m;
	/* member()'s index of the objects it looked in (NULL: none) */
	struct member_cache *mc;
};

/*
 * The member keys of the last objects member() looked in, in order: a
 * mention's fields are read from the same one or two objects (the root,
 * "data") one name at a time, and walking an object's members means
 * skipping every token nested in them, again for each name.
 */
#define MC_OBJECTS 2
#define MC_KEYS 32

struct obj_keys {
	int obj; /* the object's token */
	int n;
	int key[MC_KEYS];
	uint32_t sig[MC_KEYS]; /* sig() of each raw key */
};

struct member_cache {
	struct obj_keys o[MC_OBJECTS];
	int used;
	int next; /* the slot to refill */
};

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

/* ---- validation: what jsmn does not check ---- */

static int hex4(const char *s)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9') {
			v |= c - '0';
		} else if (c >= 'a' && c <= 'f') {
			v |= c - 'a' + 10;
		} else if (c >= 'A' && c <= 'F') {
			v |= c - 'A' + 10;
		} else {
			return -1;
		}
	}
	return v;
}

/* A UTF-16 surrogate must come as a high-low pair: anything else cannot be
 * turned into UTF-8 (jsmn checked the escapes' syntax already). */
static bool string_ok(const char *s, size_t n)
{
	const char *p = memchr(s, '\\', n);
	const char *end = s + n;
	int u, lo;

	while (p != NULL) {
		if (p[1] == 'u') {
			u = hex4(p + 2);
			if (u >= 0xDC00 && u <= 0xDFFF) {
				return false;
			}
			if (u >= 0xD800 && u <= 0xDBFF) {
				if (end - p < 12 || p[6] != '\\' ||
				    p[7] != 'u') {
					return false;
				}
				lo = hex4(p + 8);
				if (lo < 0xDC00 || lo > 0xDFFF) {
					return false;
				}
				p += 6;
			}
			p += 6;
		} else {
			p += 2;
		}
		p = p < end ? memchr(p, '\\', (size_t)(end - p)) : NULL;
	}
	return true;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 8259 literals and numbers; jsmn takes any run of bytes. */
static bool primitive_ok(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 4 &&
	    (memcmp(s, "true", 4) == 0 || memcmp(s, "null", 4) == 0)) {
		return true;
	}
	if (n == 5 && memcmp(s, "false", 5) == 0) {
		return true;
	}
	if (i < n && s[i] == '-') {
		i++;
	}
	if (i < n && s[i] == '0') {
		i++;
	} else if (i < n && is_digit(s[i])) {
		while (i < n && is_digit(s[i])) {
			i++;
		}
	} else {
		return false;
	}
	if (i < n && s[i] == '.') {
		i++;
		if (i == n || !is_digit(s[i])) {
			return false;
		}
		while (i < n && is_digit(s[i])) {
			i++;
		}
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-')) {
			i++;
		}
		if (i == n || !is_digit(s[i])) {
			return false;
		}
		while (i < n && is_digit(s[i])) {
			i++;
		}
	}
	return i == n;
}

/* Bytes [from, to) hold only whitespace and, when sep is not 0, exactly
 * one sep. */
static bool gap_ok(const char *js, int from, int to, char sep)
{
	bool seen = sep == 0;

	for (int i = from; i < to; i++) {
		if (js[i] == sep && !seen) {
			seen = true;
		} else if (!is_json_ws(js[i])) {
			return false;
		}
	}
	return seen;
}

static int raw_start(const jsmntok_t *t)
{
	return t->type == JSMN_STRING ? t->start - 1 : t->start;
}

static int raw_end(const jsmntok_t *t)
{
	return t->type == JSMN_STRING ? t->end + 1 : t->end;
}

/*
 * Checks the value at token i and returns the index after it, or -1.
 * jsmn (even strict) accepts missing or doubled ',' and ':', bare words and
 * malformed numbers; the bytes between tokens and each primitive are
 * checked here.
 */
static int check_value(const struct doc *d, int i, int depth)
{
	const jsmntok_t *t, *v;
	int pos, j;
	bool obj;

	if (i >= d->n) {
		return -1;
	}
	t = &d->t[i];
	switch (t->type) {
	case JSMN_STRING:
		return t->size == 0 && (!d->escapes ||
					string_ok(d->js + t->start,
						  (size_t)(t->end - t->start)))
			       ? i + 1
			       : -1;
	case JSMN_PRIMITIVE:
		return t->size == 0 && primitive_ok(d->js + t->start,
						    (size_t)(t->end - t->start))
			       ? i + 1
			       : -1;
	case JSMN_OBJECT:
	case JSMN_ARRAY:
		break;
	default:
		return -1;
	}
	if (depth >= MAX_DEPTH) {
		return -1;
	}
	obj = t->type == JSMN_OBJECT;
	pos = t->start + 1;
	j = i + 1;
	for (int k = 0; k < t->size; k++) {
		if (j >= d->n) {
			return -1;
		}
		v = &d->t[j];
		if (!gap_ok(d->js, pos, raw_start(v), k > 0 ? ',' : 0)) {
			return -1;
		}
		if (obj) {
			/* a key: a string whose one child is the value */
			if (v->type != JSMN_STRING || v->size != 1 ||
			    (d->escapes &&
			     !string_ok(d->js + v->start,
					(size_t)(v->end - v->start))) ||
			    j + 1 >= d->n) {
				return -1;
			}
			pos = raw_end(v);
			v = &d->t[++j];
			if (!gap_ok(d->js, pos, raw_start(v), ':')) {
				return -1;
			}
		}
		j = check_value(d, j, depth + 1);
		if (j < 0) {
			return -1;
		}
		pos = raw_end(v);
	}
	return gap_ok(d->js, pos, t->end - 1, 0) ? j : -1;
}

/* ---- reading tokens ---- */

static bool is_type(const struct doc *d, int i, jsmntype_t type)
{
	return i >= 0 && d->t[i].type == type;
}

static bool is_string(const struct doc *d, int i)
{
	return is_type(d, i, JSMN_STRING);
}

static bool is_object(const struct doc *d, int i)
{
	return is_type(d, i, JSMN_OBJECT);
}

static bool is_array(const struct doc *d, int i)
{
	return is_type(d, i, JSMN_ARRAY);
}

static bool is_null(const struct doc *d, int i)
{
	return is_type(d, i, JSMN_PRIMITIVE) && d->js[d->t[i].start] == 'n';
}

static bool is_number(const struct doc *d, int i)
{
	char c;

	if (!is_type(d, i, JSMN_PRIMITIVE)) {
		return false;
	}
	c = d->js[d->t[i].start];
	return c == '-' || is_digit(c);
}

/* The index after token i and everything inside it. */
static int skip(const struct doc *d, int i)
{
	int end = d->t[i].end;
	int j = i + 1;

	while (j < d->n && d->t[j].start < end) {
		j++;
	}
	return j;
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
 * Unescapes a checked string's n bytes into out (n + 1 bytes always
 * suffice: no escape is shorter than its UTF-8) and returns the length.
 * A pair \uD83D\uDE00 is one code point; \u0000 becomes U+FFFD, since
 * a NUL would silently cut the C string.
 */
static size_t unescape(const char *s, size_t n, char *out)
{
	const char *end = s + n;
	const char *bs;
	size_t o = 0;
	uint32_t c;

	while (s < end) {
		bs = memchr(s, '\\', (size_t)(end - s));
		if (bs == NULL) {
			memcpy(out + o, s, (size_t)(end - s));
			o += (size_t)(end - s);
			break;
		}
		memcpy(out + o, s, (size_t)(bs - s));
		o += (size_t)(bs - s);
		s = bs + 2;
		switch (bs[1]) {
		case 'b':
			out[o++] = '\b';
			break;
		case 'f':
			out[o++] = '\f';
			break;
		case 'n':
			out[o++] = '\n';
			break;
		case 'r':
			out[o++] = '\r';
			break;
		case 't':
			out[o++] = '\t';
			break;
		case 'u':
			c = (uint32_t)hex4(bs + 2);
			s = bs + 6;
			if (c >= 0xD800 && c <= 0xDBFF) {
				c = 0x10000 + ((c - 0xD800) << 10) +
				    ((uint32_t)hex4(bs + 8) - 0xDC00);
				s = bs + 12;
			} else if (c == 0) {
				c = 0xFFFD;
			}
			put_utf8(out, &o, c);
			break;
		default: /* '"', '\\', '/' */
			out[o++] = bs[1];
			break;
		}
	}
	out[o] = '\0';
	return o;
}

static size_t str_len_raw(const struct doc *d, int i)
{
	return (size_t)(d->t[i].end - d->t[i].start);
}

static char *str_dup(const struct doc *d, int i)
{
	size_t n = str_len_raw(d, i);
	char *out = xmalloc(n + 1);

	if (!d->escapes) {
		memcpy(out, d->js + d->t[i].start, n);
		out[n] = '\0';
		return out;
	}
	unescape(d->js + d->t[i].start, n, out);
	return out;
}

/*
 * n bytes for a field of the mention: from its block when they fit, else
 * from the heap (mention_fini tells them apart).
 */
static char *keep(const struct doc *d, size_t n)
{
	struct mention *m = d->m;
	char *p;

	if (m->mem != NULL && n <= m->mem_cap - m->mem_len) {
		p = m->mem + m->mem_len;
		m->mem_len += n;
		return p;
	}
	return xmalloc(n);
}

static char *keep_str(const struct doc *d, const char *s, size_t n)
{
	char *p = keep(d, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* Like str_dup, for a field of the mention. */
static char *str_keep(const struct doc *d, int i)
{
	size_t n = str_len_raw(d, i);
	char *out = keep(d, n + 1);

	if (!d->escapes) {
		memcpy(out, d->js + d->t[i].start, n);
		out[n] = '\0';
		return out;
	}
	unescape(d->js + d->t[i].start, n, out);
	return out;
}

static bool in_mem(const struct mention *m, const char *p)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)m->mem;

	return m->mem != NULL && a >= b && a < b + m->mem_cap;
}

/* Gives back a field taken with keep (a no-op inside the block). */
static void unkeep(const struct doc *d, char *p)
{
	if (!in_mem(d->m, p)) {
		free(p);
	}
}

/* Whether string token i (a key) reads as name once unescaped. */
static bool key_is(const struct doc *d, int i, const char *name, size_t nlen)
{
	const char *s = d->js + d->t[i].start;
	size_t n = str_len_raw(d, i);
	char small[128];
	char *u;
	bool eq;

	if (!d->escapes || memchr(s, '\\', n) == NULL) {
		return n == nlen && memcmp(s, name, nlen) == 0;
	}
	u = n < sizeof(small) ? small : xmalloc(n + 1);
	eq = unescape(s, n, u) == nlen && memcmp(u, name, nlen) == 0;
	if (u != small) {
		free(u);
	}
	return eq;
}

/* A key's length and first and last bytes in one word: most keys differ
 * from a wanted name in one of them, and one compare tells. */
static uint32_t sig(const char *s, size_t n)
{
	if (n == 0) {
		return 0;
	}
	return (uint32_t)(n & 0xFFFF) << 16 |
	       (uint32_t)(unsigned char)s[0] << 8 | (unsigned char)s[n - 1];
}

/* The keys of object obj from d's cache, indexed first if need be; NULL
 * when there is no cache or obj has too many members for it. */
static const struct obj_keys *keys_of(const struct doc *d, int obj)
{
	struct member_cache *mc = d->mc;
	struct obj_keys *ok;
	int j;

	if (mc == NULL || d->t[obj].size > MC_KEYS) {
		return NULL;
	}
	for (int k = 0; k < mc->used; k++) {
		if (mc->o[k].obj == obj) {
			return &mc->o[k];
		}
	}
	if (mc->used < MC_OBJECTS) {
		ok = &mc->o[mc->used++];
	} else {
		ok = &mc->o[mc->next];
		mc->next = (mc->next + 1) % MC_OBJECTS;
	}
	ok->obj = obj;
	ok->n = d->t[obj].size;
	j = obj + 1;
	for (int k = 0; k < ok->n; k++) {
		ok->key[k] = j;
		ok->sig[k] = sig(d->js + d->t[j].start, str_len_raw(d, j));
		j = skip(d, j + 1);
	}
	return ok;
}

/* The value of the first member called name, or -1. */
static int member(const struct doc *d, int obj, const char *name)
{
	size_t nlen = strlen(name);
	const struct obj_keys *ok;
	int j;

	if (!is_object(d, obj)) {
		return -1;
	}
	ok = keys_of(d, obj);
	if (ok != NULL) {
		/* without escapes a key is its raw bytes: a different sig is
		 * a different key */
		uint32_t want = d->escapes ? 0 : sig(name, nlen);

		for (int k = 0; k < ok->n; k++) {
			if (!d->escapes && ok->sig[k] != want) {
				continue;
			}
			if (key_is(d, ok->key[k], name, nlen)) {
				return ok->key[k] + 1;
			}
		}
		return -1;
	}
	j = obj + 1;
	for (int k = 0; k < d->t[obj].size; k++) {
		if (key_is(d, j, name, nlen)) {
			return j + 1;
		}
		j = skip(d, j + 1);
	}
	return -1;
}

/* JSON null counts as absent: Mastodon sends "language": null. */
static int field(const struct doc *d, int obj, const char *name)
{
	int v = member(d, obj, name);

	return is_null(d, v) ? -1 : v;
}

static int array_item(const struct doc *d, int arr, size_t idx)
{
	int j = arr + 1;

	if (!is_array(d, arr) || idx >= (size_t)d->t[arr].size) {
		return -1;
	}
	for (size_t k = 0; k < idx; k++) {
		j = skip(d, j);
	}
	return j;
}

/* A number's value as a double (for ids written as 1e3 or 12.0). */
static double number_value(const struct doc *d, int i)
{
	char tmp[64];
	size_t n = (size_t)(d->t[i].end - d->t[i].start);

	if (n >= sizeof(tmp)) {
		return NAN;
	}
	memcpy(tmp, d->js + d->t[i].start, n);
	tmp[n] = '\0';
	return strtod(tmp, NULL);
}

/*
 * Reads an optional string field into *out (unescaped copy; "" when
 * absent). A present non-string is an error, reported as "<name>:
 * expected a string".
 */
static int opt_string(const struct doc *d, int obj, const char *name,
		      char **out, char *err, size_t errlen)
{
	int v = field(d, obj, name);

	if (v < 0) {
		*out = keep_str(d, "", 0);
		return 0;
	}
	if (!is_string(d, v)) {
		if (errlen > 0) {
			snprintf(err, errlen, "%s: expected a string", name);
		}
		return -1;
	}
	*out = str_keep(d, v);
	return 0;
}

/* A numeric id exactly: its digits as written when they are a plain
 * integer (ids beyond 2^53 included), else the value when integral. */
static int number_id(const struct doc *d, int v, char **out)
{
	const char *raw = d->js + d->t[v].start;
	size_t i, n = (size_t)(d->t[v].end - d->t[v].start);
	char digits[32];
	double x;

	for (i = raw[0] == '-' ? 1 : 0; i < n; i++) {
		if (!is_digit(raw[i])) {
			break;
		}
	}
	if (i == n) {
		*out = keep_str(d, raw, n);
		return 0;
	}
	x = number_value(d, v);
	if (x != floor(x) || fabs(x) > EXACT_DOUBLE_INT) {
		return -1;
	}
	n = (size_t)snprintf(digits, sizeof(digits), "%" PRId64, (int64_t)x);
	*out = keep_str(d, digits, n);
	return 0;
}

static int parse_id(const struct doc *d, int obj, char **out, char *err,
		    size_t errlen)
{
	int v = field(d, obj, "id");

	if (v < 0) {
		*out = keep_str(d, "", 0);
		return 0;
	}
	if (is_string(d, v)) {
		*out = str_keep(d, v);
		return 0;
	}
	if (is_number(d, v) && number_id(d, v, out) == 0) {
		return 0;
	}
	set_err(err, errlen, "id: expected a string or an integer");
	return -1;
}

static int created_at_from(const char *s, size_t n, struct mention *m,
			   char *err, size_t errlen)
{
	if (timeutil_parse_rfc3339(s, n, &m->created_at_ms) < 0) {
		set_err(err, errlen, "created_at: not an RFC 3339 timestamp");
		return -1;
	}
	m->has_created_at = true;
	return 0;
}

static int parse_created_at(const struct doc *d, int obj, struct mention *m,
			    char *err, size_t errlen)
{
	int v = field(d, obj, "created_at");
	char small[64];
	size_t n;

	if (v < 0) {
		return 0;
	}
	if (!is_string(d, v)) {
		set_err(err, errlen, "created_at: expected a string");
		return -1;
	}
	n = str_len_raw(d, v);
	if (n >= sizeof(small)) {
		set_err(err, errlen, "created_at: not an RFC 3339 timestamp");
		return -1;
	}
	n = unescape(d->js + d->t[v].start, n, small);
	return created_at_from(small, n, m, err, errlen);
}

/* The text of string token v, unless it unescapes to more than the
 * limit. */
static int text_of(const struct doc *d, int v, char **out, char *err,
		   size_t errlen)
{
	size_t n = str_len_raw(d, v);
	char *t = keep(d, n + 1);

	if (unescape(d->js + d->t[v].start, n, t) > MENTION_MAX_TEXT_BYTES) {
		unkeep(d, t);
		set_err(err, errlen, "text too long");
		return -1;
	}
	*out = t;
	return 0;
}

static int required_text(const struct doc *d, int obj, char **out, char *err,
			 size_t errlen)
{
	int v = member(d, obj, "text");

	if (v < 0 || is_null(d, v)) {
		set_err(err, errlen, "missing \"text\"");
		return -1;
	}
	if (!is_string(d, v)) {
		set_err(err, errlen, "text: expected a string");
		return -1;
	}
	return text_of(d, v, out, err, errlen);
}

/* Whether string tokens a and b unescape to the same bytes. */
static bool strings_equal(const struct doc *d, int a, int b)
{
	size_t na = str_len_raw(d, a), nb = str_len_raw(d, b);
	char *ua, *ub;
	bool eq;

	if (na == nb &&
	    memcmp(d->js + d->t[a].start, d->js + d->t[b].start, na) == 0) {
		return true;
	}
	ua = str_dup(d, a);
	ub = str_dup(d, b);
	eq = strcmp(ua, ub) == 0;
	free(ua);
	free(ub);
	return eq;
}

/* X API v2: the author is the expanded user whose id is author_id. */
static char *x_author(const struct doc *d, int root, int data)
{
	int users, u, uid, name;
	int author_id = field(d, data, "author_id");
	int first = -1;

	users = member(d, member(d, root, "includes"), "users");
	if (is_array(d, users)) {
		u = users + 1;
		for (int k = 0; k < d->t[users].size; k++, u = skip(d, u)) {
			name = member(d, u, "username");
			if (!is_string(d, name)) {
				continue;
			}
			if (first < 0) {
				first = name;
			}
			uid = member(d, u, "id");
			if (is_string(d, uid) && is_string(d, author_id) &&
			    strings_equal(d, uid, author_id)) {
				return str_keep(d, name);
			}
		}
	}
	if (first >= 0) {
		return str_keep(d, first);
	}
	if (is_string(d, author_id)) {
		return str_keep(d, author_id);
	}
	return keep_str(d, "", 0);
}

static int parse_x(const struct doc *d, int root, int data, struct mention *m,
		   char *err, size_t errlen)
{
	if (required_text(d, data, &m->text, err, errlen) < 0 ||
	    parse_id(d, data, &m->id, err, errlen) < 0 ||
	    opt_string(d, data, "lang", &m->lang, err, errlen) < 0 ||
	    parse_created_at(d, data, m, err, errlen) < 0) {
		return -1;
	}
	m->author = x_author(d, root, data);
	if (m->id[0] != '\0') {
		static const char pre[] = "https://x.com/i/web/status/";
		size_t n = strlen(m->id);

		m->url = keep(d, sizeof(pre) + n);
		memcpy(m->url, pre, sizeof(pre) - 1);
		memcpy(m->url + sizeof(pre) - 1, m->id, n + 1);
	} else {
		m->url = keep_str(d, "", 0);
	}
	return 0;
}

static int parse_mastodon(const struct doc *d, int root, int content,
			  struct mention *m, char *err, size_t errlen)
{
	int account = field(d, root, "account");
	int acct = -1;
	char *html;
	size_t n;

	if (!is_string(d, content)) {
		set_err(err, errlen, "content: expected a string");
		return -1;
	}
	n = str_len_raw(d, content);
	html = xmalloc(n + 1);
	n = unescape(d->js + d->t[content].start, n, html);
	m->text = mention_html_to_text(html, n);
	free(html);
	if (strlen(m->text) > MENTION_MAX_TEXT_BYTES) {
		set_err(err, errlen, "text too long");
		return -1;
	}
	if (parse_id(d, root, &m->id, err, errlen) < 0 ||
	    opt_string(d, root, "language", &m->lang, err, errlen) < 0 ||
	    opt_string(d, root, "url", &m->url, err, errlen) < 0 ||
	    parse_created_at(d, root, m, err, errlen) < 0) {
		return -1;
	}
	/* Remote statuses may have no "url"; "uri" is always there. */
	if (m->url[0] == '\0') {
		unkeep(d, m->url);
		m->url = NULL;
		if (opt_string(d, root, "uri", &m->url, err, errlen) < 0) {
			return -1;
		}
	}
	if (is_object(d, account)) {
		acct = field(d, account, "acct");
		if (!is_string(d, acct)) {
			acct = field(d, account, "username");
		}
	}
	m->author = is_string(d, acct) ? str_keep(d, acct) : keep_str(d, "", 0);
	return 0;
}

static int parse_flat(const struct doc *d, int root, struct mention *m,
		      char *err, size_t errlen)
{
	if (required_text(d, root, &m->text, err, errlen) < 0 ||
	    parse_id(d, root, &m->id, err, errlen) < 0 ||
	    opt_string(d, root, "lang", &m->lang, err, errlen) < 0 ||
	    opt_string(d, root, "author", &m->author, err, errlen) < 0 ||
	    opt_string(d, root, "url", &m->url, err, errlen) < 0 ||
	    parse_created_at(d, root, m, err, errlen) < 0) {
		return -1;
	}
	return 0;
}

/* Space-separated names of a Status's "tags" ([{"name":…}]), or NULL. */
static char *mastodon_tags(const struct doc *d, int status)
{
	int tags = field(d, status, "tags");
	int t, name;
	struct buf b;
	size_t len;
	char *s;
	int rc;

	if (!is_array(d, tags)) {
		return NULL;
	}
	buf_init(&b, MENTION_MAX_TEXT_BYTES);
	t = tags + 1;
	for (int k = 0; k < d->t[tags].size; k++, t = skip(d, t)) {
		name = member(d, t, "name");
		if (!is_string(d, name) || str_len_raw(d, name) == 0) {
			continue;
		}
		s = str_dup(d, name);
		/* A status with absurdly many tags keeps the ones that fit. */
		rc = buf_printf(&b, "%s%s", b.len > 0 ? " " : "", s);
		free(s);
		if (rc < 0) {
			break;
		}
	}
	if (b.len == 0) {
		buf_fini(&b);
		return NULL;
	}
	return buf_steal(&b, &len);
}

/*
 * A Mastodon Status, or a boost of one: a boost's own content is empty
 * and its "reblog" holds the original, whose id is what dedupe must see
 * so that the original and all its boosts count once.
 */
static enum mention_result parse_status(const struct doc *d, int root,
					const struct mention_opts *o,
					struct mention *m, char *err,
					size_t errlen)
{
	int reblog = field(d, root, "reblog");
	int content;

	if (is_object(d, reblog)) {
		if (!o->reblog_original) {
			set_err(err, errlen, "boost skipped");
			return MENTION_SKIPPED;
		}
		root = reblog;
	}
	content = field(d, root, "content");
	if (content < 0) {
		set_err(err, errlen, "missing \"content\"");
		return MENTION_REJECTED;
	}
	if (parse_mastodon(d, root, content, m, err, errlen) < 0) {
		return MENTION_REJECTED;
	}
	m->tags = mastodon_tags(d, root);
	return MENTION_OK;
}

/* X API v2 sends {"errors":[{"title","detail",…}]} in the stream, e.g.
 * "operational-disconnect"; with "data" present they are partial errors
 * about expansions and the post itself is fine. */
static bool x_stream_error(const struct doc *d, int root, char *err,
			   size_t errlen)
{
	int errors = member(d, root, "errors");
	int first, title, detail;
	char *ts, *ds;

	if (!is_array(d, errors) || is_object(d, member(d, root, "data"))) {
		return false;
	}
	first = array_item(d, errors, 0);
	title = member(d, first, "title");
	detail = member(d, first, "detail");
	if (errlen > 0) {
		ts = is_string(d, title) ? str_dup(d, title) : xstrdup("error");
		ds = is_string(d, detail) ? str_dup(d, detail) : xstrdup("");
		snprintf(err, errlen, "%s: %s", ts, ds);
		free(ts);
		free(ds);
	}
	return true;
}

bool mention_pointer_valid(const char *ptr)
{
	if (ptr == NULL || (ptr[0] != '\0' && ptr[0] != '/')) {
		return false;
	}
	for (const char *p = ptr; *p != '\0'; p++) {
		if (*p == '~' && p[1] != '0' && p[1] != '1') {
			return false;
		}
	}
	return true;
}

/* One reference token, unescaped (~1 → '/', then ~0 → '~'). */
static size_t pointer_token(const char *tok, size_t n, char *out)
{
	size_t i = 0, o = 0;

	while (i < n) {
		char c = tok[i];

		if (c == '~' && i + 1 < n) {
			c = tok[i + 1] == '1' ? '/' : '~';
			i++;
		}
		out[o++] = c;
		i++;
	}
	out[o] = '\0';
	return o;
}

/* RFC 6901 evaluation; -1 when the pointer leads nowhere. */
static int pointer_get(const struct doc *d, int v, const char *ptr)
{
	const char *tok = ptr;
	const char *next;
	size_t n, idx, klen;
	char *key;

	while (v >= 0 && *tok == '/') {
		tok++;
		next = strchr(tok, '/');
		n = next ? (size_t)(next - tok) : strlen(tok);
		if (is_array(d, v)) {
			/* digits, no leading zero; "-" never exists */
			if (n == 0 || n > 9 || (n > 1 && tok[0] == '0')) {
				return -1;
			}
			idx = 0;
			for (size_t i = 0; i < n; i++) {
				if (!is_digit(tok[i])) {
					return -1;
				}
				idx = idx * 10 + (size_t)(tok[i] - '0');
			}
			v = array_item(d, v, idx);
		} else if (is_object(d, v)) {
			key = xmalloc(n + 1);
			klen = pointer_token(tok, n, key);
			/* a key holding a NUL cannot match a C string */
			v = strlen(key) == klen ? member(d, v, key) : -1;
			free(key);
		} else {
			return -1;
		}
		tok += n;
	}
	return is_null(d, v) ? -1 : v;
}

/* A mapped field: a string, or an integral number for ids. */
static int pointer_string(const struct doc *d, const char *name,
			  const char *ptr, bool number_ok, char **out,
			  char *err, size_t errlen)
{
	int v = ptr ? pointer_get(d, 0, ptr) : -1;
	char digits[32];
	size_t n;
	double x;

	if (v < 0) {
		*out = keep_str(d, "", 0);
		return 0;
	}
	if (is_string(d, v)) {
		*out = str_keep(d, v);
		return 0;
	}
	if (number_ok && is_number(d, v)) {
		x = number_value(d, v);
		if (x == floor(x) && fabs(x) <= EXACT_DOUBLE_INT) {
			n = (size_t)snprintf(digits, sizeof(digits), "%" PRId64,
					     (int64_t)x);
			*out = keep_str(d, digits, n);
			return 0;
		}
	}
	if (errlen > 0) {
		snprintf(err, errlen, "%s (%s): expected a string", name, ptr);
	}
	return -1;
}

static enum mention_result parse_fields(const struct doc *d,
					const struct mention_fields *f,
					struct mention *m, char *err,
					size_t errlen)
{
	int text = f->text ? pointer_get(d, 0, f->text) : -1;
	char *created = NULL;

	if (text < 0) {
		if (errlen > 0) {
			snprintf(err, errlen, "missing text (%s)",
				 f->text ? f->text : "no pointer");
		}
		return MENTION_REJECTED;
	}
	if (!is_string(d, text)) {
		set_err(err, errlen, "text: expected a string");
		return MENTION_REJECTED;
	}
	if (text_of(d, text, &m->text, err, errlen) < 0) {
		return MENTION_REJECTED;
	}
	if (pointer_string(d, "id", f->id, true, &m->id, err, errlen) < 0 ||
	    pointer_string(d, "lang", f->lang, false, &m->lang, err, errlen) <
		    0 ||
	    pointer_string(d, "author", f->author, true, &m->author, err,
			   errlen) < 0 ||
	    pointer_string(d, "url", f->url, false, &m->url, err, errlen) < 0 ||
	    pointer_string(d, "created_at", f->created_at, false, &created, err,
			   errlen) < 0) {
		unkeep(d, created); /* NULL when an earlier field failed */
		return MENTION_REJECTED;
	}
	if (created[0] != '\0' &&
	    created_at_from(created, strlen(created), m, err, errlen) < 0) {
		unkeep(d, created);
		return MENTION_REJECTED;
	}
	unkeep(d, created);
	return MENTION_OK;
}

static enum mention_result parse_root(const struct doc *d,
				      const struct mention_opts *o,
				      struct mention *m, char *err,
				      size_t errlen)
{
	int data = member(d, 0, "data");
	int content, reblog;

	switch (o->format) {
	case MENTION_FORMAT_X_V2:
		if (x_stream_error(d, 0, err, errlen)) {
			return MENTION_STREAM_ERROR;
		}
		if (!is_object(d, data)) {
			set_err(err, errlen, "missing \"data\"");
			return MENTION_REJECTED;
		}
		return parse_x(d, 0, data, m, err, errlen) < 0
			       ? MENTION_REJECTED
			       : MENTION_OK;
	case MENTION_FORMAT_MASTODON:
		return parse_status(d, 0, o, m, err, errlen);
	case MENTION_FORMAT_FLAT:
		return parse_flat(d, 0, m, err, errlen) < 0 ? MENTION_REJECTED
							    : MENTION_OK;
	case MENTION_FORMAT_FIELDS:
		if (o->fields == NULL) {
			set_err(err, errlen, "no field mapping");
			return MENTION_REJECTED;
		}
		return parse_fields(d, o->fields, m, err, errlen);
	case MENTION_FORMAT_AUTO:
		break;
	}
	if (x_stream_error(d, 0, err, errlen)) {
		return MENTION_STREAM_ERROR;
	}
	if (is_object(d, data)) {
		return parse_x(d, 0, data, m, err, errlen) < 0
			       ? MENTION_REJECTED
			       : MENTION_OK;
	}
	content = field(d, 0, "content");
	reblog = field(d, 0, "reblog");
	if ((content >= 0 || is_object(d, reblog)) && field(d, 0, "text") < 0) {
		return parse_status(d, 0, o, m, err, errlen);
	}
	return parse_flat(d, 0, m, err, errlen) < 0 ? MENTION_REJECTED
						    : MENTION_OK;
}

/*
 * Tokenizes and checks the line. Returns 1 for an object (d filled; free
 * *heap after), 0 for valid JSON that is not an object, -1 for invalid
 * JSON, -2 for nesting deeper than MAX_DEPTH.
 */
static int tokenize(struct doc *d, jsmntok_t *stack, jsmntok_t **heap,
		    const char *line, size_t len)
{
	jsmntok_t *t = stack;
	unsigned cap = STACK_TOKENS;
	jsmn_parser p;
	size_t i = 0, e = len;
	int n;

	*heap = NULL;
	while (i < len && is_json_ws(line[i])) {
		i++;
	}
	while (e > i && is_json_ws(line[e - 1])) {
		e--;
	}
	if (i == e || len > INT_MAX / 2) {
		return -1;
	}
	/* jsmn leaves a bare number or literal without a following ','
	 * unfinished; it is valid JSON, just not a mention. */
	if (line[i] != '{' && line[i] != '[' && line[i] != '"') {
		return primitive_ok(line + i, e - i) ? 0 : -1;
	}
	if (!jsondepth_ok(line + i, e - i, MAX_DEPTH, NULL)) {
		return -2;
	}
	for (;;) {
		jsmn_init(&p);
		n = jsmn_parse(&p, line, e, t, cap);
		if (n != JSMN_ERROR_NOMEM) {
			break;
		}
		if (cap >= (unsigned)len + 2) {
			return -1;
		}
		cap = cap * 4 < (unsigned)len + 2 ? cap * 4 : (unsigned)len + 2;
		free(*heap);
		*heap = xreallocarray(NULL, cap, sizeof(*t));
		t = *heap;
	}
	if (n <= 0) {
		return -1;
	}
	d->js = line;
	d->t = t;
	d->n = n;
	d->m = NULL;
	d->mc = NULL;
	d->escapes = memchr(line, '\\', len) != NULL;
	if (!gap_ok(line, 0, raw_start(&t[0]), 0) ||
	    check_value(d, 0, 0) != n ||
	    !gap_ok(line, raw_end(&t[0]), (int)len, 0)) {
		return -1;
	}
	return t[0].type == JSMN_OBJECT ? 1 : 0;
}

/* mention_parse_as into mem (NULL: a block of m's own). */
static enum mention_result parse_into(struct mention *m,
				      const struct mention_opts *o,
				      const char *line, size_t len, char *mem,
				      size_t cap, char *err, size_t errlen)
{
	jsmntok_t stack[STACK_TOKENS];
	jsmntok_t *heap;
	enum mention_result rc;
	struct member_cache mc;
	struct doc d;
	int kind;

	memset(m, 0, sizeof(*m));
	kind = tokenize(&d, stack, &heap, line, len);
	if (kind <= 0) {
		free(heap);
		set_err(err, errlen,
			kind == -2 ? "nesting deeper than " STR(MAX_DEPTH)
			: kind < 0 ? "invalid JSON"
				   : "expected a JSON object");
		return MENTION_REJECTED;
	}
	mc.used = 0;
	mc.next = 0;
	d.mc = &mc;
	/* Every field is at most its raw bytes unescaped: the line's length
	 * holds them all but a Mastodon text and tags, made elsewhere. */
	if (mem != NULL) {
		HARK_ASSERT(cap >= len + MEM_SLACK);
		m->mem_cap = cap;
		m->mem = mem;
		m->mem_borrowed = true;
	} else {
		m->mem_cap = len + MEM_SLACK;
		m->mem = xmalloc(m->mem_cap);
	}
	d.m = m;
	rc = parse_root(&d, o, m, err, errlen);
	free(heap);
	if (rc != MENTION_OK) {
		mention_fini(m);
	}
	return rc;
}

enum mention_result mention_parse_as(struct mention *m,
				     const struct mention_opts *o,
				     const char *line, size_t len, char *err,
				     size_t errlen)
{
	return parse_into(m, o, line, len, NULL, 0, err, errlen);
}

enum mention_result mention_parse_in(struct mention *m,
				     const struct mention_opts *o,
				     const char *line, size_t len, char *mem,
				     size_t cap, char *err, size_t errlen)
{
	return parse_into(m, o, line, len, mem, cap, err, errlen);
}

int mention_parse(struct mention *m, const char *line, size_t len, char *err,
		  size_t errlen)
{
	static const struct mention_opts auto_opts = {
		.format = MENTION_FORMAT_AUTO,
		.reblog_original = true,
	};

	return mention_parse_as(m, &auto_opts, line, len, err, errlen) ==
			       MENTION_OK
		       ? 0
		       : -1;
}

/* Frees a field unless it lives in the mention's block. */
static void fini_field(const struct mention *m, char *p)
{
	if (!in_mem(m, p)) {
		free(p);
	}
}

void mention_fini(struct mention *m)
{
	fini_field(m, m->id);
	fini_field(m, m->text);
	fini_field(m, m->lang);
	fini_field(m, m->author);
	fini_field(m, m->url);
	fini_field(m, m->source);
	fini_field(m, m->tags);
	if (!m->mem_borrowed) {
		free(m->mem);
	}
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
	dst->source = src->source ? xstrdup(src->source) : NULL;
	dst->tags = src->tags ? xstrdup(src->tags) : NULL;
	dst->mem = NULL;
	dst->mem_len = 0;
	dst->mem_cap = 0;
	dst->mem_borrowed = false;
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
		{"&amp;", "&"},         {"&lt;", "<"},   {"&gt;", ">"},
		{"&quot;", "\""},       {"&apos;", "'"}, {"&#39;", "'"},
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
