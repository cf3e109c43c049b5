/* SPDX-License-Identifier: MIT */
/*
 * Query parser: a hand-written lexer and recursive-descent parser that
 * turn a rule's query string into a query_node tree, stopping at the first
 * error with its column. Precedence, loosest first: OR, AND (explicit or
 * implicit), NOT / -, NEAR/n and ONEAR/n. Folding and matching are left to
 * match.c. Pure; runs at config load.
 */
#include "core/query.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"

enum tok_kind {
	TOK_END,
	TOK_LPAREN,
	TOK_RPAREN,
	TOK_AND,
	TOK_OR,
	TOK_NOT,
	TOK_MINUS,
	TOK_NEAR,
	TOK_TERM,
	TOK_FIELD,
};

struct tok {
	enum tok_kind kind;
	int col;
	/* TERM, FIELD: the node the token becomes (owned until taken) */
	struct query_node *node;
	unsigned dist; /* NEAR */
	bool ordered;  /* NEAR */
};

struct parser {
	const char *s;
	size_t pos; /* byte offset of the next character */
	int col;    /* its column */
	struct tok tok;
	int depth;
	size_t n_nodes;
	struct query_error *err;
	bool failed;
};

static void fail(struct parser *p, int col, const char *fmt, ...)
	HARK_PRINTF(3, 4);

/* Only the first error is kept: later ones are consequences of it. */
static void fail(struct parser *p, int col, const char *fmt, ...)
{
	va_list ap;

	if (p->failed) {
		return;
	}
	p->failed = true;
	p->err->col = col;
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
}

static struct query_node *node_new(struct parser *p, enum query_op op, int col)
{
	struct query_node *n = xcalloc(1, sizeof(*n));

	n->op = op;
	n->col = col;
	if (p != NULL && ++p->n_nodes > QUERY_MAX_NODES) {
		fail(p, col,
		     "query too large (more than %d terms and "
		     "operators)",
		     QUERY_MAX_NODES);
	}
	return n;
}

void query_free(struct query_node *n)
{
	if (n == NULL) {
		return;
	}
	for (size_t i = 0; i < n->n_kids; i++) {
		query_free(n->kids[i]);
	}
	free(n->kids);
	free(n->text);
	free(n);
}

static void add_kid(struct query_node *n, struct query_node *kid)
{
	n->kids = xreallocarray(n->kids, n->n_kids + 1, sizeof(*n->kids));
	n->kids[n->n_kids++] = kid;
}

/* ---- lexer ---- */

static char peek(const struct parser *p, size_t ahead)
{
	size_t i;

	for (i = 0; i < ahead; i++) {
		if (p->s[p->pos + i] == '\0') {
			return '\0';
		}
	}
	return p->s[p->pos + ahead];
}

/* Columns count characters, as YAML positions do: skip UTF-8
 * continuation bytes. */
static void advance(struct parser *p)
{
	unsigned char c = (unsigned char)p->s[p->pos];

	if (c == '\0') {
		return;
	}
	p->pos++;
	/* only a lead byte has continuation bytes: stray ones after '(' or
	 * a space belong to the next term, not to the separator */
	while (c >= 0xC0 && ((unsigned char)p->s[p->pos] & 0xC0) == 0x80) {
		p->pos++;
	}
	p->col++;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

static bool ends_word(char c)
{
	return c == '\0' || is_space(c) || c == '(' || c == ')' || c == '"';
}

/*
 * Reads a "phrase" whose opening quote is at the current position into
 * out (\" and \\ escape). Returns false after reporting an error.
 */
static bool lex_phrase(struct parser *p, struct buf *out)
{
	int open_col = p->col;
	char c;

	advance(p);
	for (;;) {
		c = p->s[p->pos];
		if (c == '\0') {
			fail(p, p->col,
			     "expected '\"' to close the phrase opened at "
			     "column %d",
			     open_col);
			return false;
		}
		if (c == '"') {
			advance(p);
			return true;
		}
		if (c == '\\' && (peek(p, 1) == '"' || peek(p, 1) == '\\')) {
			p->pos++;
			p->col++;
			c = p->s[p->pos];
		}
		if (buf_putc(out, c) < 0) {
			fail(p, open_col, "term longer than %d bytes",
			     QUERY_MAX_TERM_BYTES);
			return false;
		}
		/* a character counts once, at its lead byte */
		if (((unsigned char)c & 0xC0) != 0x80) {
			p->col++;
		}
		p->pos++;
	}
}

/* Reads a bare word up to a space, parenthesis or quote. */
static bool lex_word(struct parser *p, struct buf *out, int *star_col)
{
	int start_col = p->col;

	*star_col = 0;
	while (!ends_word(p->s[p->pos])) {
		char c = p->s[p->pos];

		if (c == '*' && *star_col == 0) {
			*star_col = p->col;
		}
		if (buf_putc(out, c) < 0) {
			fail(p, start_col, "term longer than %d bytes",
			     QUERY_MAX_TERM_BYTES);
			return false;
		}
		if (((unsigned char)c & 0xC0) != 0x80) {
			p->col++;
		}
		p->pos++;
	}
	return true;
}

static size_t utf8_chars(const char *s, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80) {
			c++;
		}
	}
	return c;
}

/*
 * Checks a term's text for '*' and fills n->text and n->prefix. text is
 * the words without sigil or quotes; star_col is the column of the first
 * '*' in it or 0. A '*' is allowed only as the term's last character.
 */
static bool finish_term(struct parser *p, struct query_node *n,
			const char *text, size_t len, int star_col)
{
	const char *star = memchr(text, '*', len);

	if (star != NULL && (size_t)(star - text) != len - 1) {
		fail(p, star_col, "'*' is only allowed at the end of a term");
		return false;
	}
	if (star != NULL) {
		len--;
		n->prefix = true;
		while (len > 0 && is_space(text[len - 1])) {
			len--;
		}
		if (utf8_chars(text, len) < QUERY_MIN_PREFIX ||
		    is_space(text[len])) {
			fail(p, star_col,
			     "a wildcard needs at least %d characters before "
			     "'*'",
			     QUERY_MIN_PREFIX);
			return false;
		}
	}
	if (len == 0) {
		fail(p, n->col, n->phrase ? "empty phrase" : "empty term");
		return false;
	}
	n->text = xstrndup(text, len);
	return true;
}

static const struct {
	const char *prefix;
	enum query_field field;
} field_prefixes[] = {
	{"lang:", QUERY_FIELD_LANG},
	{"source:", QUERY_FIELD_SOURCE},
	{"author:", QUERY_FIELD_AUTHOR},
};

static const char *field_name(enum query_field f)
{
	switch (f) {
	case QUERY_FIELD_LANG:
		return "lang";
	case QUERY_FIELD_SOURCE:
		return "source";
	case QUERY_FIELD_AUTHOR:
		break;
	}
	return "author";
}

static bool starts_with_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* Skips an ASCII prefix; columns equal bytes there. */
static void skip_ascii(struct parser *p, size_t n)
{
	p->pos += n;
	p->col += (int)n;
}

static void lex_field(struct parser *p, enum query_field f, size_t plen,
		      int col)
{
	struct buf b;
	int star_col;
	bool ok;

	skip_ascii(p, plen);
	buf_init(&b, QUERY_MAX_TERM_BYTES);
	if (p->s[p->pos] == '"') {
		ok = lex_phrase(p, &b);
	} else {
		ok = lex_word(p, &b, &star_col);
	}
	if (ok && b.len == 0) {
		fail(p, p->col, "expected a value after '%s:'", field_name(f));
		ok = false;
	}
	if (ok) {
		p->tok.kind = TOK_FIELD;
		p->tok.node = node_new(p, QUERY_FIELD, col);
		p->tok.node->field = f;
		p->tok.node->text = buf_steal(&b, NULL);
	}
	buf_fini(&b);
}

static void lex_term(struct parser *p, int col)
{
	struct query_node *n;
	struct buf b;
	int star_col = 0;
	bool ok;
	const char *t;
	size_t len;

	n = node_new(p, QUERY_TERM, col);
	if (starts_with_ci(p->s + p->pos, "raw:")) {
		n->raw = true;
		skip_ascii(p, 4);
	}
	buf_init(&b, QUERY_MAX_TERM_BYTES);
	if (p->s[p->pos] == '"') {
		n->phrase = true;
		ok = lex_phrase(p, &b);
		if (ok && b.len > 0 && b.data[b.len - 1] == '*') {
			/* the column of the '*' inside the quotes */
			star_col = p->col - 2;
		} else if (ok && b.len > 0 && memchr(b.data, '*', b.len)) {
			star_col = col;
		}
	} else if (ends_word(p->s[p->pos])) {
		fail(p, p->col, "expected a term after 'raw:'");
		ok = false;
	} else {
		ok = lex_word(p, &b, &star_col);
	}
	if (ok) {
		t = b.len > 0 ? b.data : "";
		len = b.len;
		if (!n->phrase && (t[0] == '#' || t[0] == '@')) {
			n->sigil = t[0];
			if (b.len == 1 || t[1] == '*') {
				fail(p, col + (n->raw ? 4 : 0),
				     "expected a word after '%c'", t[0]);
				ok = false;
			} else {
				t++;
				len--;
			}
		}
		if (ok) {
			ok = finish_term(p, n, t, len, star_col);
		}
	}
	buf_fini(&b);
	if (!ok) {
		query_free(n);
		return;
	}
	p->tok.kind = TOK_TERM;
	p->tok.node = n;
}

static bool parse_uint(const char *s, size_t n, unsigned *out)
{
	unsigned long v = 0;

	if (n == 0 || n > 6) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i])) {
			return false;
		}
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	*out = (unsigned)v;
	return true;
}

/* NEAR/n or ONEAR/n at the current position, or false. */
static bool lex_near(struct parser *p, int col)
{
	const char *s = p->s + p->pos;
	bool ordered = s[0] == 'O';
	size_t kw = ordered ? 5 : 4;
	size_t n = 0;

	if (strncmp(s, ordered ? "ONEAR" : "NEAR", kw) != 0 ||
	    (!ends_word(s[kw]) && s[kw] != '/')) {
		return false;
	}
	if (s[kw] != '/') {
		fail(p, col,
		     "expected %s/n, with n the largest number of "
		     "words between the two sides",
		     ordered ? "ONEAR" : "NEAR");
		return true;
	}
	while (!ends_word(s[kw + 1 + n])) {
		n++;
	}
	if (!parse_uint(s + kw + 1, n, &p->tok.dist)) {
		fail(p, col + (int)kw + 1, "expected a number after %s/",
		     ordered ? "ONEAR" : "NEAR");
		return true;
	}
	if (p->tok.dist > QUERY_MAX_NEAR) {
		fail(p, col + (int)kw + 1,
		     "%s distance must be from 0 to %d (got %u)",
		     ordered ? "ONEAR" : "NEAR", QUERY_MAX_NEAR, p->tok.dist);
		return true;
	}
	p->tok.kind = TOK_NEAR;
	p->tok.ordered = ordered;
	skip_ascii(p, kw + 1 + n);
	return true;
}

static bool is_keyword(const char *s, const char *kw)
{
	size_t n = strlen(kw);

	return strncmp(s, kw, n) == 0 && ends_word(s[n]);
}

/* Reads the next token into p->tok; on error p->failed is set. */
static void next(struct parser *p)
{
	const char *s;
	int col;

	query_free(p->tok.node);
	memset(&p->tok, 0, sizeof(p->tok));
	if (p->failed) {
		p->tok.kind = TOK_END;
		return;
	}
	while (is_space(p->s[p->pos])) {
		advance(p);
	}
	s = p->s + p->pos;
	col = p->col;
	p->tok.col = col;
	p->tok.kind = TOK_END;
	if (*s == '\0') {
		return;
	}
	if (*s == '(' || *s == ')') {
		p->tok.kind = *s == '(' ? TOK_LPAREN : TOK_RPAREN;
		advance(p);
		return;
	}
	if (*s == '-') {
		if (ends_word(s[1]) && s[1] != '"' && s[1] != '(') {
			fail(p, col, "expected a term right after '-'");
			return;
		}
		p->tok.kind = TOK_MINUS;
		advance(p);
		return;
	}
	if (is_keyword(s, "AND")) {
		p->tok.kind = TOK_AND;
		skip_ascii(p, 3);
		return;
	}
	if (is_keyword(s, "OR")) {
		p->tok.kind = TOK_OR;
		skip_ascii(p, 2);
		return;
	}
	if (is_keyword(s, "NOT")) {
		p->tok.kind = TOK_NOT;
		skip_ascii(p, 3);
		return;
	}
	if ((*s == 'N' || *s == 'O') && lex_near(p, col)) {
		return;
	}
	for (size_t i = 0;
	     i < sizeof(field_prefixes) / sizeof(field_prefixes[0]); i++) {
		if (starts_with_ci(s, field_prefixes[i].prefix)) {
			lex_field(p, field_prefixes[i].field,
				  strlen(field_prefixes[i].prefix), col);
			return;
		}
	}
	lex_term(p, col);
}

/* ---- parser ---- */

static const char *tok_name(const struct tok *t)
{
	switch (t->kind) {
	case TOK_AND:
		return "AND";
	case TOK_OR:
		return "OR";
	case TOK_NOT:
		return "NOT";
	case TOK_MINUS:
		return "'-'";
	case TOK_NEAR:
		return t->ordered ? "ONEAR" : "NEAR";
	case TOK_LPAREN:
		return "'('";
	case TOK_RPAREN:
		return "')'";
	case TOK_TERM:
		return "a term";
	case TOK_FIELD:
		return "a filter";
	case TOK_END:
		break;
	}
	return "the end";
}

static bool starts_unary(enum tok_kind k)
{
	return k == TOK_TERM || k == TOK_FIELD || k == TOK_LPAREN ||
	       k == TOK_NOT || k == TOK_MINUS;
}

/* Takes the current TERM or FIELD token's node and moves on. */
static struct query_node *take(struct parser *p)
{
	struct query_node *n = p->tok.node;

	p->tok.node = NULL;
	next(p);
	return n;
}

static struct query_node *parse_or(struct parser *p);

static void expected_term(struct parser *p, const char *after)
{
	if (p->tok.kind == TOK_END) {
		fail(p, p->tok.col, "expected a term after %s", after);
	} else {
		fail(p, p->tok.col, "expected a term after %s, got %s", after,
		     tok_name(&p->tok));
	}
}

static struct query_node *parse_primary(struct parser *p)
{
	struct query_node *n;
	int open_col;

	if (p->failed) {
		return NULL;
	}
	switch (p->tok.kind) {
	case TOK_TERM:
	case TOK_FIELD:
		return take(p);
	case TOK_LPAREN:
		open_col = p->tok.col;
		if (++p->depth > QUERY_MAX_DEPTH) {
			fail(p, open_col,
			     "nested too deeply (at most %d "
			     "levels)",
			     QUERY_MAX_DEPTH);
			return NULL;
		}
		next(p);
		if (p->tok.kind == TOK_RPAREN) {
			fail(p, p->tok.col, "empty parentheses");
			return NULL;
		}
		n = parse_or(p);
		if (n != NULL && p->tok.kind != TOK_RPAREN) {
			fail(p, p->tok.col,
			     "expected ')' to close '(' opened at column %d",
			     open_col);
		}
		if (p->failed) {
			query_free(n);
			return NULL;
		}
		p->depth--;
		next(p);
		return n;
	case TOK_RPAREN:
		fail(p, p->tok.col, "unexpected ')' (no '(' to close)");
		return NULL;
	case TOK_END:
		fail(p, p->tok.col, "expected a term");
		return NULL;
	default:
		fail(p, p->tok.col, "expected a term before %s",
		     tok_name(&p->tok));
		return NULL;
	}
}

/* Both sides of NEAR must have word positions: terms, OR groups of them,
 * or another NEAR. */
static bool positional(const struct query_node *n)
{
	switch (n->op) {
	case QUERY_TERM:
	case QUERY_NEAR:
		return true;
	case QUERY_OR:
		for (size_t i = 0; i < n->n_kids; i++) {
			if (!positional(n->kids[i])) {
				return false;
			}
		}
		return true;
	default:
		break;
	}
	return false;
}

static struct query_node *parse_near(struct parser *p)
{
	struct query_node *left = parse_primary(p);
	struct query_node *right;
	struct query_node *n;
	const char *op;
	unsigned dist;
	bool ordered;
	int col;

	while (left != NULL && !p->failed && p->tok.kind == TOK_NEAR) {
		col = p->tok.col;
		dist = p->tok.dist;
		ordered = p->tok.ordered;
		op = ordered ? "ONEAR" : "NEAR";
		if (!positional(left)) {
			fail(p, left->col,
			     "%s/%u needs a term, a phrase or an "
			     "OR group of them on each side",
			     op, dist);
			break;
		}
		next(p);
		if (p->tok.kind != TOK_TERM && p->tok.kind != TOK_LPAREN) {
			char after[32];

			snprintf(after, sizeof(after), "%s/%u", op, dist);
			expected_term(p, after);
			break;
		}
		right = parse_primary(p);
		if (right == NULL) {
			break;
		}
		if (!positional(right)) {
			fail(p, right->col,
			     "%s/%u needs a term, a phrase or "
			     "an OR group of them on each side",
			     op, dist);
			query_free(right);
			break;
		}
		n = node_new(p, QUERY_NEAR, col);
		n->dist = dist;
		n->ordered = ordered;
		add_kid(n, left);
		add_kid(n, right);
		left = n;
	}
	if (p->failed) {
		query_free(left);
		return NULL;
	}
	return left;
}

static struct query_node *parse_unary(struct parser *p)
{
	struct query_node *n;
	struct query_node *kid;
	int col = p->tok.col;
	const char *what;

	if (p->tok.kind != TOK_NOT && p->tok.kind != TOK_MINUS) {
		return parse_near(p);
	}
	what = p->tok.kind == TOK_NOT ? "NOT" : "'-'";
	if (++p->depth > QUERY_MAX_DEPTH) {
		fail(p, col, "nested too deeply (at most %d levels)",
		     QUERY_MAX_DEPTH);
		return NULL;
	}
	next(p);
	if (!starts_unary(p->tok.kind)) {
		expected_term(p, what);
		return NULL;
	}
	kid = parse_unary(p);
	if (kid == NULL) {
		return NULL;
	}
	p->depth--;
	if (kid->op == QUERY_NOT) {
		/* NOT NOT x is x */
		n = kid->kids[0];
		kid->n_kids = 0;
		query_free(kid);
		return n;
	}
	n = node_new(p, QUERY_NOT, col);
	add_kid(n, kid);
	return n;
}

/* Appends kid to an n-ary node of op, merging a kid of the same op. */
static void add_flat(struct query_node *n, struct query_node *kid)
{
	if (kid->op != n->op) {
		add_kid(n, kid);
		return;
	}
	for (size_t i = 0; i < kid->n_kids; i++) {
		add_kid(n, kid->kids[i]);
	}
	kid->n_kids = 0;
	query_free(kid);
}

static struct query_node *parse_and(struct parser *p)
{
	struct query_node *first = parse_unary(p);
	struct query_node *n = NULL;
	struct query_node *kid;

	while (first != NULL && !p->failed) {
		if (p->tok.kind == TOK_AND) {
			next(p);
			if (!starts_unary(p->tok.kind)) {
				expected_term(p, "AND");
				break;
			}
		} else if (!starts_unary(p->tok.kind)) {
			break;
		}
		kid = parse_unary(p);
		if (kid == NULL) {
			break;
		}
		if (n == NULL) {
			n = node_new(p, QUERY_AND, first->col);
			add_flat(n, first);
		}
		add_flat(n, kid);
	}
	if (p->failed) {
		query_free(n != NULL ? n : first);
		return NULL;
	}
	return n != NULL ? n : first;
}

static struct query_node *parse_or(struct parser *p)
{
	struct query_node *first = parse_and(p);
	struct query_node *n = NULL;
	struct query_node *kid;

	while (first != NULL && !p->failed && p->tok.kind == TOK_OR) {
		next(p);
		if (!starts_unary(p->tok.kind)) {
			expected_term(p, "OR");
			break;
		}
		kid = parse_and(p);
		if (kid == NULL) {
			break;
		}
		if (n == NULL) {
			n = node_new(p, QUERY_OR, first->col);
			add_flat(n, first);
		}
		add_flat(n, kid);
	}
	if (p->failed) {
		query_free(n != NULL ? n : first);
		return NULL;
	}
	return n != NULL ? n : first;
}

/*
 * True when every mention the query matches has one of its terms in it,
 * or, with fields, a term or a filter: false for a query that is only
 * negations (or, without fields, only filters).
 */
static bool needs_atom(const struct query_node *n, bool fields)
{
	switch (n->op) {
	case QUERY_TERM:
	case QUERY_NEAR:
		return true;
	case QUERY_FIELD:
		return fields;
	case QUERY_NOT:
		return false;
	case QUERY_AND:
		for (size_t i = 0; i < n->n_kids; i++) {
			if (needs_atom(n->kids[i], fields)) {
				return true;
			}
		}
		return false;
	case QUERY_OR:
		for (size_t i = 0; i < n->n_kids; i++) {
			if (!needs_atom(n->kids[i], fields)) {
				return false;
			}
		}
		return true;
	}
	return false;
}

static bool positive(const struct query_node *n)
{
	return needs_atom(n, true);
}

bool query_needs_term(const struct query_node *n)
{
	return needs_atom(n, false);
}

int query_parse(const char *text, int col_base, struct query_node **out,
		struct query_error *err)
{
	struct parser p;
	struct query_node *n;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	memset(&p, 0, sizeof(p));
	p.s = text;
	p.col = col_base;
	p.err = err;
	if (strlen(text) > QUERY_MAX_BYTES) {
		fail(&p, col_base, "query longer than %d bytes",
		     QUERY_MAX_BYTES);
		return -1;
	}
	next(&p);
	if (p.tok.kind == TOK_END && !p.failed) {
		fail(&p, p.tok.col, "empty query");
	}
	n = parse_or(&p);
	if (n != NULL && !p.failed && p.tok.kind != TOK_END) {
		/* parse_and takes every token that can start a term, so
		 * only a stray ')' is left here */
		fail(&p, p.tok.col, "unexpected ')' (no '(' to close)");
	}
	if (n != NULL && !p.failed && !positive(n)) {
		fail(&p, n->col,
		     "query matches almost every mention (it "
		     "needs a term or filter outside NOT)");
	}
	query_free(p.tok.node);
	if (p.failed) {
		query_free(n);
		return -1;
	}
	*out = n;
	return 0;
}

struct query_node *query_from_terms(const char *const *terms, size_t n,
				    struct query_error *err)
{
	struct query_node * or ;
	struct query_node *t;
	const char *s;
	size_t len;

	memset(err, 0, sizeof(*err));
	if (n == 0) {
		snprintf(err->msg, sizeof(err->msg), "no terms");
		return NULL;
	}
	or = node_new(NULL, QUERY_OR, 1);
	for (size_t i = 0; i < n; i++) {
		s = terms[i];
		t = node_new(NULL, QUERY_TERM, 1);
		if (s[0] == '#' || s[0] == '@') {
			t->sigil = s[0];
			s++;
		}
		len = strlen(s);
		if (len > 0 && s[len - 1] == '*') {
			t->prefix = true;
			len--;
		}
		if (len > QUERY_MAX_TERM_BYTES) {
			snprintf(err->msg, sizeof(err->msg),
				 "term %zu is longer than %d bytes", i + 1,
				 QUERY_MAX_TERM_BYTES);
			query_free(t);
			query_free(or);
			return NULL;
		}
		t->text = xstrndup(s, len);
		for (size_t j = 0; j < len; j++) {
			if (is_space(s[j])) {
				t->phrase = true;
			}
		}
		add_kid(or, t);
	}
	if (or->n_kids == 1) {
		t = or->kids[0];
		or->n_kids = 0;
		query_free(or);
		return t;
	}
	return or ;
}

struct query_node *query_new_field(enum query_field f, const char *value)
{
	struct query_node *n = node_new(NULL, QUERY_FIELD, 1);

	n->field = f;
	n->text = xstrdup(value);
	return n;
}

struct query_node *query_new_op(enum query_op op, struct query_node **kids,
				size_t n)
{
	struct query_node *node;

	HARK_ASSERT(n >= 1);
	if (n == 1 && op != QUERY_NOT) {
		return kids[0];
	}
	node = node_new(NULL, op, kids[0]->col);
	for (size_t i = 0; i < n; i++) {
		if (op == QUERY_AND || op == QUERY_OR) {
			add_flat(node, kids[i]);
		} else {
			add_kid(node, kids[i]);
		}
	}
	return node;
}

/* ---- formatting ---- */

static bool needs_quotes(const char *s)
{
	if (*s == '\0') {
		return true;
	}
	for (; *s != '\0'; s++) {
		/* a backslash escapes only inside quotes: a bare word
		 * keeps it as it is */
		if (ends_word(*s)) {
			return true;
		}
	}
	return false;
}

static void put_quoted(struct buf *b, const char *s, bool star)
{
	int rc = buf_putc(b, '"');

	for (; *s != '\0' && rc == 0; s++) {
		if (*s == '"' || *s == '\\') {
			rc = buf_putc(b, '\\');
		}
		if (rc == 0) {
			rc = buf_putc(b, *s);
		}
	}
	if (rc == 0 && star) {
		rc = buf_putc(b, '*');
	}
	if (rc == 0) {
		rc = buf_putc(b, '"');
	}
	/* a format is for people: a cut-short one is still useful */
	HARK_UNUSED(rc);
}

static void format_node(struct buf *b, const struct query_node *n, bool top)
{
	const char *sep;
	int rc = 0;

	switch (n->op) {
	case QUERY_TERM:
		if (n->raw) {
			rc = buf_printf(b, "raw:");
		}
		if (n->sigil != 0 && rc == 0) {
			rc = buf_putc(b, n->sigil);
		}
		if (n->phrase || needs_quotes(n->text)) {
			put_quoted(b, n->text, n->prefix);
		} else if (rc == 0) {
			rc = buf_printf(b, "%s%s", n->text,
					n->prefix ? "*" : "");
		}
		break;
	case QUERY_FIELD:
		rc = buf_printf(b, "%s:", field_name(n->field));
		if (needs_quotes(n->text)) {
			put_quoted(b, n->text, false);
		} else if (rc == 0) {
			rc = buf_printf(b, "%s", n->text);
		}
		break;
	case QUERY_NOT:
		rc = buf_printf(b, "NOT ");
		format_node(b, n->kids[0], false);
		break;
	case QUERY_NEAR:
	case QUERY_AND:
	case QUERY_OR:
		if (!top) {
			rc = buf_putc(b, '(');
		}
		for (size_t i = 0; i < n->n_kids && rc == 0; i++) {
			if (i > 0 && n->op == QUERY_NEAR) {
				rc = buf_printf(b, " %s/%u ",
						n->ordered ? "ONEAR" : "NEAR",
						n->dist);
			} else if (i > 0) {
				sep = n->op == QUERY_AND ? " AND " : " OR ";
				rc = buf_printf(b, "%s", sep);
			}
			format_node(b, n->kids[i], false);
		}
		if (!top && rc == 0) {
			rc = buf_putc(b, ')');
		}
		break;
	}
	HARK_UNUSED(rc);
}

char *query_format(const struct query_node *n)
{
	struct buf b;
	char *s;

	buf_init(&b, 1u << 20);
	format_node(&b, n, true);
	s = buf_steal(&b, NULL);
	return s != NULL ? s : xstrdup("");
}
