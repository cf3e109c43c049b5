/* SPDX-License-Identifier: MIT */
/*
 * The matching engine. Every distinct term ("atom") of every rule becomes
 * one Hyperscan pattern over the token form of a mention (" tok tok ",
 * see fold.h), so a word-boundary match is a plain literal; all atoms go
 * into one database scanned once per mention. Each rule's query is kept
 * as a small node array, evaluated only for rules one of whose atoms
 * fired (plus the few rules that need no term), in rule order. Pure.
 */
#include "core/match.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <hs/hs.h>
#include <utf8proc.h>

#include "core/fold.h"
#include "core/mention.h"
#include "core/query.h"
#include "util/buf.h"

/* Folding can grow text (ß → ss, one ligature → 18 letters); beyond this
 * the text is matched on its folded prefix. */
#define MATCH_FOLD_CAP (4 * (size_t)MENTION_MAX_TEXT_BYTES)

enum enode_op {
	EN_TERM,
	EN_FIELD,
	EN_AND,
	EN_OR,
	EN_NOT,
	EN_NEAR,
	EN_ONEAR,
};

/* One query node; kids are contiguous in matcher.nodes. */
struct enode {
	uint8_t op;
	uint8_t field;
	uint32_t arg;  /* TERM: atom; NEAR: distance */
	uint32_t kids; /* index of the first kid */
	uint32_t n_kids;
	char *value; /* FIELD: owned */
};

struct atom {
	char *key; /* owned: the token form, e.g. " bla bla car " */
	size_t len;
	bool raw;
	bool prefix;    /* the last word is open: no trailing space */
	bool any_sigil; /* raw without sigil: also after '#' or '@' */
	bool need_pos;  /* used under NEAR: report every occurrence */
	uint32_t n_words;
};

struct rule {
	uint32_t id;
	uint32_t root; /* index in nodes */
	bool always;   /* can match with no atom found: always evaluated */
};

/* (atom, rule index) pairs, turned into per-atom rule lists at compile. */
struct pair {
	uint32_t atom;
	uint32_t rule;
};

struct hit {
	uint32_t atom;
	uint32_t start; /* first and last word index */
	uint32_t end;
	size_t to; /* scan offset, turned into words after the scan */
	bool raw;
};

struct span {
	uint32_t start;
	uint32_t end;
};

struct spans {
	struct span *v;
	size_t n;
	size_t cap;
};

struct matcher {
	const struct fold *fold; /* borrowed */
	struct rule *rules;
	size_t n_rules;
	size_t cap_rules;
	struct enode *nodes;
	size_t n_nodes;
	size_t cap_nodes;
	struct atom *atoms;
	size_t n_atoms;
	size_t cap_atoms;
	uint32_t *atom_index; /* open addressing over atoms; UINT32_MAX empty */
	size_t index_cap;
	struct pair *pairs;
	size_t n_pairs;
	size_t cap_pairs;
	bool has_raw;

	/* compiled state, rebuilt by matcher_compile */
	bool dirty;
	bool broken; /* the last compile failed */
	hs_database_t *db_fold;
	hs_database_t *db_raw;
	hs_scratch_t *scratch;
	uint32_t *atom_rules_off; /* n_atoms + 1 */
	uint32_t *atom_rules;     /* rule indexes */
	uint32_t *always;         /* rule indexes */
	size_t n_always;

	/* Set on a clone: everything above is the parent's, read-only. */
	const struct matcher *parent;

	/* per-mention scratch */
	uint32_t epoch;
	uint32_t *atom_seen; /* == epoch: fired in this mention */
	uint32_t *rule_seen; /* == epoch: queued in cand */
	uint32_t *cand;
	size_t n_cand;
	struct hit *hits;
	size_t n_hits;
	size_t cap_hits;
	bool scanning_raw;
	struct buf text; /* the folded text being matched */
	struct buf raw;  /* its raw token form, when some rule needs it */
	size_t *spaces;  /* offsets of ' ' in the buffer positions are for */
	size_t n_spaces;
	size_t cap_spaces;
};

struct matcher *matcher_new(const struct fold *f)
{
	struct matcher *m = xcalloc(1, sizeof(*m));

	m->fold = f;
	buf_init(&m->text, MATCH_FOLD_CAP);
	buf_init(&m->raw, MATCH_FOLD_CAP);
	m->dirty = true;
	return m;
}

static void drop_compiled(struct matcher *m)
{
	hs_free_database(m->db_fold);
	m->db_fold = NULL;
	hs_free_database(m->db_raw);
	m->db_raw = NULL;
	hs_free_scratch(m->scratch);
	m->scratch = NULL;
	free(m->atom_rules_off);
	m->atom_rules_off = NULL;
	free(m->atom_rules);
	m->atom_rules = NULL;
	free(m->always);
	m->always = NULL;
	m->n_always = 0;
	free(m->atom_seen);
	m->atom_seen = NULL;
	free(m->rule_seen);
	m->rule_seen = NULL;
	free(m->cand);
	m->cand = NULL;
}

struct matcher *matcher_clone(struct matcher *m)
{
	struct matcher *c;
	char why[256];

	if (m->dirty && matcher_compile(m, why, sizeof(why)) < 0) {
		/* m is broken and matches nothing; so will its clone. */
		HARK_ASSERT(m->broken);
	}
	c = xcalloc(1, sizeof(*c));
	*c = *m;
	c->parent = m;
	c->scratch = NULL;
	if (m->scratch != NULL &&
	    hs_clone_scratch(m->scratch, &c->scratch) != HS_SUCCESS) {
		free(c);
		return NULL;
	}
	c->atom_seen = xcalloc(m->n_atoms + 1, sizeof(uint32_t));
	c->rule_seen = xcalloc(m->n_rules + 1, sizeof(uint32_t));
	c->cand = xcalloc(m->n_rules + 1, sizeof(uint32_t));
	c->epoch = 0;
	c->n_cand = 0;
	c->hits = NULL;
	c->n_hits = 0;
	c->cap_hits = 0;
	c->spaces = NULL;
	c->n_spaces = 0;
	c->cap_spaces = 0;
	buf_init(&c->text, MATCH_FOLD_CAP);
	buf_init(&c->raw, MATCH_FOLD_CAP);
	return c;
}

void matcher_free(struct matcher *m)
{
	if (m == NULL) {
		return;
	}
	if (m->parent != NULL) {
		hs_free_scratch(m->scratch);
		free(m->atom_seen);
		free(m->rule_seen);
		free(m->cand);
		free(m->hits);
		free(m->spaces);
		buf_fini(&m->text);
		buf_fini(&m->raw);
		free(m);
		return;
	}
	drop_compiled(m);
	for (size_t i = 0; i < m->n_nodes; i++) {
		free(m->nodes[i].value);
	}
	free(m->nodes);
	for (size_t i = 0; i < m->n_atoms; i++) {
		free(m->atoms[i].key);
	}
	free(m->atoms);
	free(m->atom_index);
	free(m->pairs);
	free(m->rules);
	free(m->hits);
	free(m->spaces);
	buf_fini(&m->text);
	buf_fini(&m->raw);
	free(m);
}

/* ---- raw token form ---- */

static bool ascii_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

enum cls {
	CLS_SEP,
	CLS_WORD,
	CLS_CJK,
	CLS_IGNORE,
};

static enum cls classify(uint32_t c)
{
	utf8proc_category_t cat;

	if (c < 0x80) {
		return ascii_word((unsigned char)c) ? CLS_WORD : CLS_SEP;
	}
	if (fold_single_token(c)) {
		return CLS_CJK;
	}
	if (c > 0x10FFFF) {
		return CLS_SEP;
	}
	if (utf8proc_get_property((utf8proc_int32_t)c)->ignorable) {
		return CLS_IGNORE;
	}
	cat = utf8proc_category((utf8proc_int32_t)c);
	if ((cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
	    (cat >= UTF8PROC_CATEGORY_MN && cat <= UTF8PROC_CATEGORY_ME) ||
	    (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO)) {
		return CLS_WORD;
	}
	return CLS_SEP;
}

/* Length of the valid UTF-8 sequence at s (decoded into *cp), or 0. */
static size_t decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	utf8proc_int32_t c;
	utf8proc_ssize_t k = utf8proc_iterate(s, (utf8proc_ssize_t)n, &c);

	if (k <= 0) {
		return 0;
	}
	*cp = (uint32_t)c;
	return (size_t)k;
}

/*
 * The raw token form: like fold_text's, with the same word boundaries,
 * but the original bytes (no case or accent folding), and a '#' or '@'
 * that starts a word kept on it, so that raw:#Tag can require it.
 */
static int raw_tokens(const char *in, size_t len, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)in;
	bool in_word = false;
	size_t i = 0, n;
	uint32_t cp;
	enum cls k;

	buf_reset(out);
	if (buf_putc(out, ' ') < 0) {
		return -1;
	}
	while (i < len) {
		n = decode(s + i, len - i, &cp);
		if (n == 0) {
			n = 1;
			k = CLS_SEP;
		} else {
			k = classify(cp);
		}
		if (!in_word && (s[i] == '#' || s[i] == '@') && i + 1 < len &&
		    (s[i + 1] >= 0x80 || ascii_word(s[i + 1]))) {
			k = CLS_WORD;
		}
		switch (k) {
		case CLS_WORD:
			if (buf_append(out, s + i, n) < 0) {
				return -1;
			}
			in_word = true;
			break;
		case CLS_CJK:
			if ((in_word && buf_putc(out, ' ') < 0) ||
			    buf_append(out, s + i, n) < 0 ||
			    buf_putc(out, ' ') < 0) {
				return -1;
			}
			in_word = false;
			break;
		case CLS_SEP:
			if (in_word && buf_putc(out, ' ') < 0) {
				return -1;
			}
			in_word = false;
			break;
		case CLS_IGNORE:
			break;
		}
		i += n;
	}
	if (in_word && buf_putc(out, ' ') < 0) {
		return -1;
	}
	return 0;
}

/* ---- building ---- */

static uint64_t hash_atom(const char *key, size_t len, bool raw, bool prefix)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h = (h ^ (unsigned char)key[i]) * 1099511628211ULL;
	}
	h ^= (uint64_t)raw << 1 | (uint64_t)prefix;
	return h * 1099511628211ULL;
}

static bool atom_eq(const struct atom *a, const char *key, size_t len, bool raw,
		    bool prefix)
{
	return a->len == len && a->raw == raw && a->prefix == prefix &&
	       memcmp(a->key, key, len) == 0;
}

static void index_insert(struct matcher *m, uint32_t id)
{
	const struct atom *a = &m->atoms[id];
	size_t mask = m->index_cap - 1;
	size_t i = hash_atom(a->key, a->len, a->raw, a->prefix) & mask;

	while (m->atom_index[i] != UINT32_MAX) {
		i = (i + 1) & mask;
	}
	m->atom_index[i] = id;
}

static void index_grow(struct matcher *m)
{
	free(m->atom_index);
	m->index_cap = m->index_cap ? 2 * m->index_cap : 1024;
	m->atom_index = xmalloc(m->index_cap * sizeof(*m->atom_index));
	memset(m->atom_index, 0xFF, m->index_cap * sizeof(*m->atom_index));
	for (size_t i = 0; i < m->n_atoms; i++) {
		index_insert(m, (uint32_t)i);
	}
}

/* The atom for this token form, added if new. */
static uint32_t intern_atom(struct matcher *m, const char *key, size_t len,
			    bool raw, bool prefix, bool any_sigil)
{
	size_t mask, i;
	uint32_t id;
	struct atom *a;

	if (2 * (m->n_atoms + 1) > m->index_cap) {
		index_grow(m);
	}
	mask = m->index_cap - 1;
	i = hash_atom(key, len, raw, prefix) & mask;
	while (m->atom_index[i] != UINT32_MAX) {
		id = m->atom_index[i];
		if (atom_eq(&m->atoms[id], key, len, raw, prefix)) {
			return id;
		}
		i = (i + 1) & mask;
	}
	if (m->n_atoms == m->cap_atoms) {
		m->cap_atoms = m->cap_atoms ? 2 * m->cap_atoms : 64;
		m->atoms = xreallocarray(m->atoms, m->cap_atoms,
					 sizeof(*m->atoms));
	}
	id = (uint32_t)m->n_atoms++;
	a = &m->atoms[id];
	memset(a, 0, sizeof(*a));
	a->key = xstrndup(key, len);
	a->len = len;
	a->raw = raw;
	a->prefix = prefix;
	a->any_sigil = any_sigil;
	a->n_words = 0;
	for (size_t j = 0; j < len; j++) {
		a->n_words += key[j] == ' ';
	}
	if (!prefix) {
		a->n_words--;
	}
	m->atom_index[i] = id;
	return id;
}

static uint32_t node_alloc(struct matcher *m, size_t n)
{
	uint32_t first = (uint32_t)m->n_nodes;

	while (m->n_nodes + n > m->cap_nodes) {
		m->cap_nodes = m->cap_nodes ? 2 * m->cap_nodes : 256;
		m->nodes = xreallocarray(m->nodes, m->cap_nodes,
					 sizeof(*m->nodes));
	}
	memset(m->nodes + m->n_nodes, 0, n * sizeof(*m->nodes));
	m->n_nodes += n;
	return first;
}

static void add_pair(struct matcher *m, uint32_t atom, uint32_t rule)
{
	if (m->n_pairs == m->cap_pairs) {
		m->cap_pairs = m->cap_pairs ? 2 * m->cap_pairs : 256;
		m->pairs = xreallocarray(m->pairs, m->cap_pairs,
					 sizeof(*m->pairs));
	}
	m->pairs[m->n_pairs].atom = atom;
	m->pairs[m->n_pairs].rule = rule;
	m->n_pairs++;
}

/* The term as the user wrote it, for messages. */
static void term_shown(const struct query_node *q, char *out, size_t n)
{
	snprintf(out, n, "\"%s%s%s%s\"", q->raw ? "raw:" : "",
		 q->sigil ? (q->sigil == '#' ? "#" : "@") : "", q->text,
		 q->prefix ? "*" : "");
}

/* True when the token before the closing space of t is one CJK
 * character. */
static bool last_token_cjk(const char *t, size_t len)
{
	size_t start = len - 1;
	uint32_t cp;
	size_t n;

	while (start > 0 && t[start - 1] != ' ') {
		start--;
	}
	n = decode((const unsigned char *)t + start, len - 1 - start, &cp);
	return n > 0 && n == len - 1 - start && fold_single_token(cp);
}

struct build {
	struct matcher *m;
	struct buf tok;
	uint32_t rule; /* index in m->rules */
	char *err;
	size_t errlen;
};

static int build_term(struct build *b, const struct query_node *q,
		      bool need_pos, uint32_t *atom_out)
{
	struct matcher *m = b->m;
	char shown[QUERY_MAX_TERM_BYTES + 16];
	char *text;
	size_t len;
	int rc;
	bool any_sigil = false;
	bool raw = q->raw;

	if (q->raw && q->sigil != 0) {
		text = xasprintf("%c%s", q->sigil, q->text);
	} else {
		text = xstrdup(q->text);
	}
	len = strlen(text);
	if (q->raw) {
		rc = raw_tokens(text, len, &b->tok);
		any_sigil = q->sigil == 0;
	} else {
		rc = fold_text(m->fold, text, len, &b->tok);
		if (rc == 0 && b->tok.len <= 1) {
			/* Emoji only: folding keeps no symbol, the raw token
			 * form keeps each emoji as a word (case and accents
			 * do not apply to them). */
			rc = raw_tokens(q->text, strlen(q->text), &b->tok);
			raw = true;
			any_sigil = true;
		}
	}
	free(text);
	term_shown(q, shown, sizeof(shown));
	if (rc < 0 || b->tok.len > MATCH_MAX_TERM_BYTES) {
		snprintf(b->err, b->errlen, "term %s is too long", shown);
		return -1;
	}
	if (b->tok.len <= 1) {
		snprintf(b->err, b->errlen, "term %s has no letters or digits",
			 shown);
		return -1;
	}
	len = b->tok.len;
	/* A wildcard leaves the last word open, unless it is a CJK token:
	 * each of those is a whole word already. */
	if (q->prefix && !last_token_cjk(b->tok.data, len)) {
		len--;
	}
	if (m->n_atoms >= MATCH_MAX_ATOMS) {
		snprintf(b->err, b->errlen,
			 "too many distinct terms (at most %d over all rules)",
			 MATCH_MAX_ATOMS);
		return -1;
	}
	*atom_out = intern_atom(m, b->tok.data, len, raw, len < b->tok.len,
				any_sigil);
	if (need_pos) {
		m->atoms[*atom_out].need_pos = true;
	}
	if (raw) {
		m->has_raw = true;
	}
	return 0;
}

static int build_node(struct build *b, uint32_t at, const struct query_node *q,
		      bool need_pos)
{
	struct matcher *m = b->m;
	uint32_t first, atom;
	uint8_t op = EN_TERM;

	switch (q->op) {
	case QUERY_TERM:
		if (build_term(b, q, need_pos, &atom) < 0) {
			return -1;
		}
		m->nodes[at].op = EN_TERM;
		m->nodes[at].arg = atom;
		add_pair(m, atom, b->rule);
		return 0;
	case QUERY_FIELD:
		m->nodes[at].op = EN_FIELD;
		m->nodes[at].field = (uint8_t)q->field;
		m->nodes[at].value = xstrdup(q->text);
		return 0;
	case QUERY_AND:
		op = EN_AND;
		break;
	case QUERY_OR:
		op = EN_OR;
		break;
	case QUERY_NOT:
		op = EN_NOT;
		break;
	case QUERY_NEAR:
		op = q->ordered ? EN_ONEAR : EN_NEAR;
		need_pos = true;
		break;
	}
	first = node_alloc(m, q->n_kids);
	/* node_alloc may move the array: index, never hold pointers */
	m->nodes[at].op = op;
	m->nodes[at].arg = q->dist;
	m->nodes[at].kids = first;
	m->nodes[at].n_kids = (uint32_t)q->n_kids;
	for (size_t i = 0; i < q->n_kids; i++) {
		if (build_node(b, first + (uint32_t)i, q->kids[i], need_pos) <
		    0) {
			return -1;
		}
	}
	return 0;
}

/* Undoes a failed add: drops the nodes, pairs and atoms it created. */
static void rollback(struct matcher *m, size_t n_nodes, size_t n_pairs,
		     size_t n_atoms, bool has_raw)
{
	for (size_t i = n_nodes; i < m->n_nodes; i++) {
		free(m->nodes[i].value);
	}
	m->n_nodes = n_nodes;
	m->n_pairs = n_pairs;
	if (m->n_atoms != n_atoms) {
		for (size_t i = n_atoms; i < m->n_atoms; i++) {
			free(m->atoms[i].key);
		}
		m->n_atoms = n_atoms;
		m->index_cap /= 2;
		index_grow(m);
	}
	m->has_raw = has_raw;
}

int matcher_add_query(struct matcher *m, uint32_t rule_id,
		      const struct query_node *q, char *err, size_t errlen)
{
	struct build b = {.m = m, .err = err, .errlen = errlen};
	size_t n_nodes = m->n_nodes;
	size_t n_pairs = m->n_pairs;
	size_t n_atoms = m->n_atoms;
	bool has_raw = m->has_raw;
	uint32_t root;
	int rc;

	if (m->n_rules > 0 && rule_id <= m->rules[m->n_rules - 1].id) {
		snprintf(err, errlen, "rule %u added after rule %u",
			 (unsigned)rule_id,
			 (unsigned)m->rules[m->n_rules - 1].id);
		return -1;
	}
	b.rule = (uint32_t)m->n_rules;
	buf_init(&b.tok, MATCH_FOLD_CAP);
	root = node_alloc(m, 1);
	rc = build_node(&b, root, q, false);
	buf_fini(&b.tok);
	if (rc < 0) {
		rollback(m, n_nodes, n_pairs, n_atoms, has_raw);
		return -1;
	}
	if (m->n_rules == m->cap_rules) {
		m->cap_rules = m->cap_rules ? 2 * m->cap_rules : 8;
		m->rules = xreallocarray(m->rules, m->cap_rules,
					 sizeof(*m->rules));
	}
	m->rules[m->n_rules].id = rule_id;
	m->rules[m->n_rules].root = root;
	m->rules[m->n_rules].always = !query_needs_term(q);
	m->n_rules++;
	m->dirty = true;
	return 0;
}

int matcher_add_rule(struct matcher *m, uint32_t rule_id,
		     const char *const *terms, size_t n_terms, char *err,
		     size_t errlen)
{
	struct query_error qe;
	struct query_node *q;
	int rc;

	if (n_terms == 0) {
		snprintf(err, errlen, "rule has no terms");
		return -1;
	}
	q = query_from_terms(terms, n_terms, &qe);
	if (q == NULL) {
		snprintf(err, errlen, "%s", qe.msg);
		return -1;
	}
	rc = matcher_add_query(m, rule_id, q, err, errlen);
	query_free(q);
	return rc;
}

/* ---- compiling ---- */

static int cmp_pair(const void *a, const void *b)
{
	const struct pair *x = a;
	const struct pair *y = b;

	if (x->atom != y->atom) {
		return x->atom < y->atom ? -1 : 1;
	}
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/* A Hyperscan expression matching exactly the atom's bytes. */
static char *expression(const struct atom *a)
{
	static const char hex[] = "0123456789abcdef";
	char *e = xmalloc(a->len * 4 + 16);
	size_t n = 0;
	size_t i = 0;

	if (a->any_sigil) {
		/* " " then an optional '#' or '@' before the first word */
		memcpy(e, "\\x20[#@]?", 9);
		n = 9;
		i = 1;
	}
	for (; i < a->len; i++) {
		unsigned char c = (unsigned char)a->key[i];

		if (ascii_word(c) && c != '_') {
			e[n++] = (char)c;
		} else {
			e[n++] = '\\';
			e[n++] = 'x';
			e[n++] = hex[c >> 4];
			e[n++] = hex[c & 15];
		}
	}
	e[n] = '\0';
	return e;
}

static int compile_db(struct matcher *m, bool raw, hs_database_t **db,
		      char *err, size_t errlen)
{
	const char **exprs;
	unsigned *flags;
	unsigned *ids;
	size_t n = 0;
	hs_compile_error_t *ce = NULL;
	hs_error_t rc;

	*db = NULL;
	exprs = xcalloc(m->n_atoms + 1, sizeof(*exprs));
	flags = xcalloc(m->n_atoms + 1, sizeof(*flags));
	ids = xcalloc(m->n_atoms + 1, sizeof(*ids));
	for (size_t i = 0; i < m->n_atoms; i++) {
		const struct atom *a = &m->atoms[i];

		if (a->raw != raw) {
			continue;
		}
		exprs[n] = expression(a);
		/* A term outside NEAR only has to be seen once. */
		flags[n] = a->need_pos ? 0 : HS_FLAG_SINGLEMATCH;
		ids[n] = (unsigned)i;
		n++;
	}
	if (n > 0) {
		rc = hs_compile_multi(exprs, flags, ids, (unsigned)n,
				      HS_MODE_BLOCK, NULL, db, &ce);
		if (rc != HS_SUCCESS) {
			if (ce != NULL && ce->expression >= 0 &&
			    (size_t)ce->expression < n) {
				snprintf(err, errlen, "term \"%s\": %s",
					 m->atoms[ids[ce->expression]].key,
					 ce->message);
			} else {
				snprintf(err, errlen,
					 "cannot compile the "
					 "rules: %s",
					 ce != NULL ? ce->message
						    : "unknown error");
			}
			hs_free_compile_error(ce);
			*db = NULL;
		}
	}
	for (size_t i = 0; i < n; i++) {
		free((char *)exprs[i]);
	}
	free(exprs);
	free(flags);
	free(ids);
	return n > 0 && *db == NULL ? -1 : 0;
}

int matcher_compile(struct matcher *m, char *err, size_t errlen)
{
	size_t n;

	if (!m->dirty) {
		return m->broken ? -1 : 0;
	}
	drop_compiled(m);
	m->dirty = false;
	m->broken = true;
	if (compile_db(m, false, &m->db_fold, err, errlen) < 0 ||
	    compile_db(m, true, &m->db_raw, err, errlen) < 0) {
		return -1;
	}
	if ((m->db_fold != NULL &&
	     hs_alloc_scratch(m->db_fold, &m->scratch) != HS_SUCCESS) ||
	    (m->db_raw != NULL &&
	     hs_alloc_scratch(m->db_raw, &m->scratch) != HS_SUCCESS)) {
		snprintf(err, errlen, "cannot allocate Hyperscan scratch");
		return -1;
	}
	if (m->n_pairs > 0) {
		qsort(m->pairs, m->n_pairs, sizeof(*m->pairs), cmp_pair);
	}
	m->atom_rules_off = xcalloc(m->n_atoms + 1, sizeof(uint32_t));
	m->atom_rules = xcalloc(m->n_pairs + 1, sizeof(uint32_t));
	n = 0;
	for (size_t i = 0; i < m->n_pairs; i++) {
		if (n > 0 && m->pairs[i].atom == m->pairs[i - 1].atom &&
		    m->pairs[i].rule == m->pairs[i - 1].rule) {
			continue;
		}
		m->atom_rules[n++] = m->pairs[i].rule;
		m->atom_rules_off[m->pairs[i].atom + 1]++;
	}
	for (size_t i = 0; i < m->n_atoms; i++) {
		m->atom_rules_off[i + 1] += m->atom_rules_off[i];
	}
	m->always = xcalloc(m->n_rules + 1, sizeof(uint32_t));
	for (size_t i = 0; i < m->n_rules; i++) {
		if (m->rules[i].always) {
			m->always[m->n_always++] = (uint32_t)i;
		}
	}
	m->atom_seen = xcalloc(m->n_atoms + 1, sizeof(uint32_t));
	m->rule_seen = xcalloc(m->n_rules + 1, sizeof(uint32_t));
	m->cand = xcalloc(m->n_rules + 1, sizeof(uint32_t));
	m->epoch = 0;
	m->broken = false;
	return 0;
}

size_t matcher_patterns(const struct matcher *m)
{
	return m->n_atoms;
}

/* ---- matching ---- */

static int on_match(unsigned id, unsigned long long from, unsigned long long to,
		    unsigned flags, void *ctx)
{
	struct matcher *m = ctx;
	const struct atom *a = &m->atoms[id];
	struct hit *h;

	if (m->atom_seen[id] != m->epoch) {
		m->atom_seen[id] = m->epoch;
		for (uint32_t i = m->atom_rules_off[id];
		     i < m->atom_rules_off[id + 1]; i++) {
			uint32_t r = m->atom_rules[i];

			if (m->rule_seen[r] != m->epoch) {
				m->rule_seen[r] = m->epoch;
				m->cand[m->n_cand++] = r;
			}
		}
	}
	if (a->need_pos && m->n_hits < MATCH_MAX_HITS) {
		if (m->n_hits == m->cap_hits) {
			m->cap_hits = m->cap_hits ? 2 * m->cap_hits : 64;
			m->hits = xreallocarray(m->hits, m->cap_hits,
						sizeof(*m->hits));
		}
		h = &m->hits[m->n_hits++];
		h->atom = id;
		h->to = (size_t)to;
		h->raw = m->scanning_raw;
	}
	return 0;
}

static void collect_spaces(struct matcher *m, const struct buf *b)
{
	m->n_spaces = 0;
	for (size_t i = 0; i < b->len; i++) {
		if (b->data[i] != ' ') {
			continue;
		}
		if (m->n_spaces == m->cap_spaces) {
			m->cap_spaces = m->cap_spaces ? 2 * m->cap_spaces : 256;
			m->spaces = xreallocarray(m->spaces, m->cap_spaces,
						  sizeof(*m->spaces));
		}
		m->spaces[m->n_spaces++] = i;
	}
}

/* Spaces at offsets below off. */
static size_t spaces_before(const struct matcher *m, size_t off)
{
	size_t lo = 0, hi = m->n_spaces;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->spaces[mid] < off) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo;
}

static int cmp_hit(const void *a, const void *b)
{
	const struct hit *x = a;
	const struct hit *y = b;

	if (x->atom != y->atom) {
		return x->atom < y->atom ? -1 : 1;
	}
	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * Turns hit offsets into word indexes. A match ends at `to`; the word
 * holding its last byte before the closing space is number
 * (spaces before to - 1) - 1, as the text opens with a space.
 */
static void place_hits(struct matcher *m)
{
	for (int pass = 0; pass < 2; pass++) {
		bool any = false;

		for (size_t i = 0; i < m->n_hits && !any; i++) {
			any = m->hits[i].raw == (pass == 1);
		}
		if (!any) {
			continue;
		}
		collect_spaces(m, pass == 1 ? &m->raw : &m->text);
		for (size_t i = 0; i < m->n_hits; i++) {
			struct hit *h = &m->hits[i];
			const struct atom *a = &m->atoms[h->atom];
			size_t last;

			if (h->raw != (pass == 1)) {
				continue;
			}
			last = spaces_before(m, h->to - 1) - 1;
			h->end = (uint32_t)last;
			h->start = (uint32_t)(last + 1 - a->n_words);
		}
	}
	qsort(m->hits, m->n_hits, sizeof(*m->hits), cmp_hit);
}

static void spans_push(struct spans *s, uint32_t start, uint32_t end)
{
	if (s->n == MATCH_MAX_SPANS) {
		return;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
	}
	s->v[s->n].start = start;
	s->v[s->n].end = end;
	s->n++;
}

static void collect(const struct matcher *m, uint32_t at, struct spans *out);

static void near_spans(const struct matcher *m, const struct enode *e,
		       struct spans *out)
{
	struct spans l = {0};
	struct spans r = {0};
	uint32_t d = e->arg;

	collect(m, e->kids, &l);
	if (l.n > 0) {
		collect(m, e->kids + 1, &r);
	}
	for (size_t i = 0; i < l.n; i++) {
		for (size_t j = 0; j < r.n; j++) {
			const struct span *a = &l.v[i];
			const struct span *b = &r.v[j];

			if (a->end < b->start && b->start - a->end - 1 <= d) {
				spans_push(out, a->start, b->end);
			} else if (e->op == EN_NEAR && b->end < a->start &&
				   a->start - b->end - 1 <= d) {
				spans_push(out, b->start, a->end);
			}
		}
	}
	free(l.v);
	free(r.v);
}

static void collect(const struct matcher *m, uint32_t at, struct spans *out)
{
	const struct enode *e = &m->nodes[at];
	size_t lo, hi;

	switch (e->op) {
	case EN_TERM:
		if (m->atom_seen[e->arg] != m->epoch) {
			return;
		}
		lo = 0;
		hi = m->n_hits;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (m->hits[mid].atom < e->arg) {
				lo = mid + 1;
			} else {
				hi = mid;
			}
		}
		for (; lo < m->n_hits && m->hits[lo].atom == e->arg; lo++) {
			spans_push(out, m->hits[lo].start, m->hits[lo].end);
		}
		return;
	case EN_OR:
		for (uint32_t i = 0; i < e->n_kids; i++) {
			collect(m, e->kids + i, out);
		}
		return;
	case EN_NEAR:
	case EN_ONEAR:
		near_spans(m, e, out);
		return;
	default:
		/* the parser allows nothing else under NEAR */
		HARK_ASSERT(!"collect: not a positional node");
	}
}

static bool has(const char *s)
{
	return s != NULL && s[0] != '\0';
}

static bool field_match(const struct enode *e, const struct match_input *in)
{
	const char *v = e->value;
	const char *a;
	size_t n;

	switch ((enum query_field)e->field) {
	case QUERY_FIELD_LANG:
		/* lang:pt also takes pt-BR and pt_BR */
		n = strlen(v);
		return has(in->lang) && strncasecmp(in->lang, v, n) == 0 &&
		       (in->lang[n] == '\0' || in->lang[n] == '-' ||
			in->lang[n] == '_');
	case QUERY_FIELD_SOURCE:
		return has(in->source) && strcasecmp(in->source, v) == 0;
	case QUERY_FIELD_AUTHOR:
		if (!has(in->author)) {
			return false;
		}
		a = in->author[0] == '@' ? in->author + 1 : in->author;
		v = v[0] == '@' ? v + 1 : v;
		return strcasecmp(a, v) == 0;
	}
	return false;
}

static bool eval(const struct matcher *m, uint32_t at,
		 const struct match_input *in)
{
	const struct enode *e = &m->nodes[at];
	struct spans s = {0};
	bool hit;

	switch ((enum enode_op)e->op) {
	case EN_TERM:
		return m->atom_seen[e->arg] == m->epoch;
	case EN_FIELD:
		return field_match(e, in);
	case EN_AND:
		for (uint32_t i = 0; i < e->n_kids; i++) {
			if (!eval(m, e->kids + i, in)) {
				return false;
			}
		}
		return true;
	case EN_OR:
		for (uint32_t i = 0; i < e->n_kids; i++) {
			if (eval(m, e->kids + i, in)) {
				return true;
			}
		}
		return false;
	case EN_NOT:
		return !eval(m, e->kids, in);
	case EN_NEAR:
	case EN_ONEAR:
		near_spans(m, e, &s);
		hit = s.n > 0;
		free(s.v);
		return hit;
	}
	return false;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a;
	uint32_t y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

size_t matcher_match(struct matcher *m, const struct match_input *in,
		     uint32_t *out, size_t cap)
{
	char why[256];
	size_t n = 0;

	if (m->dirty && matcher_compile(m, why, sizeof(why)) < 0) {
		return 0;
	}
	if (m->broken || m->n_rules == 0) {
		return 0;
	}
	if (++m->epoch == 0) {
		/* wrapped: old stamps could look current */
		memset(m->atom_seen, 0, (m->n_atoms + 1) * sizeof(uint32_t));
		memset(m->rule_seen, 0, (m->n_rules + 1) * sizeof(uint32_t));
		m->epoch = 1;
	}
	m->n_cand = 0;
	m->n_hits = 0;
	if (m->db_fold != NULL) {
		/* Over the cap, fold_text leaves a prefix whose cut-off last
		 * word lacks its closing space, so it cannot match. */
		if (fold_text(m->fold, in->text, in->len, &m->text) < 0) {
			HARK_ASSERT(m->text.len > 0);
		}
		m->scanning_raw = false;
		hs_scan(m->db_fold, m->text.data, (unsigned)m->text.len, 0,
			m->scratch, on_match, m);
	}
	if (m->db_raw != NULL) {
		if (raw_tokens(in->text, in->len, &m->raw) < 0) {
			HARK_ASSERT(m->raw.len > 0);
		}
		m->scanning_raw = true;
		hs_scan(m->db_raw, m->raw.data, (unsigned)m->raw.len, 0,
			m->scratch, on_match, m);
	}
	for (size_t i = 0; i < m->n_always; i++) {
		uint32_t r = m->always[i];

		if (m->rule_seen[r] != m->epoch) {
			m->rule_seen[r] = m->epoch;
			m->cand[m->n_cand++] = r;
		}
	}
	if (m->n_cand == 0) {
		return 0;
	}
	if (m->n_hits > 0) {
		place_hits(m);
	}
	qsort(m->cand, m->n_cand, sizeof(*m->cand), cmp_u32);
	for (size_t i = 0; i < m->n_cand && n < cap; i++) {
		const struct rule *r = &m->rules[m->cand[i]];

		if (eval(m, r->root, in)) {
			out[n++] = r->id;
		}
	}
	return n;
}
