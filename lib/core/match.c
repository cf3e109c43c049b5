/* SPDX-License-Identifier: MIT */
/*
 * Simple keyword matcher: every term is folded to token form (" bla bla
 * car ") and searched as a substring of the folded text, so word
 * boundaries come for free. Linear in rules × terms; a multi-pattern
 * engine can replace the loop behind the same interface. Pure.
 */
#include "core/match.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fold.h"
#include "core/mention.h"
#include "util/buf.h"

/* Folding can grow text (ß → ss, one ligature → 18 letters); beyond this
 * the text is matched on its folded prefix. */
#define MATCH_FOLD_CAP (4 * (size_t)MENTION_MAX_TEXT_BYTES)

struct term {
	char *folded; /* owned; " tok tok " */
	size_t len;
};

struct rule {
	uint32_t id;
	struct term *terms; /* owned */
	size_t n_terms;
};

struct matcher {
	const struct fold *fold; /* borrowed */
	struct rule *rules;      /* owned; ascending ids */
	size_t n_rules;
	size_t cap_rules;
	struct buf text; /* scratch: the folded text being matched */
};

struct matcher *matcher_new(const struct fold *f)
{
	struct matcher *m = xcalloc(1, sizeof(*m));

	m->fold = f;
	buf_init(&m->text, MATCH_FOLD_CAP);
	return m;
}

static void rule_fini(struct rule *r)
{
	size_t i;

	for (i = 0; i < r->n_terms; i++) {
		free(r->terms[i].folded);
	}
	free(r->terms);
	r->terms = NULL;
	r->n_terms = 0;
}

void matcher_free(struct matcher *m)
{
	size_t i;

	if (m == NULL) {
		return;
	}
	for (i = 0; i < m->n_rules; i++) {
		rule_fini(&m->rules[i]);
	}
	free(m->rules);
	buf_fini(&m->text);
	free(m);
}

static bool has_term(const struct rule *r, const char *folded, size_t len)
{
	size_t i;

	for (i = 0; i < r->n_terms; i++) {
		if (r->terms[i].len == len &&
		    memcmp(r->terms[i].folded, folded, len) == 0) {
			return true;
		}
	}
	return false;
}

int matcher_add_rule(struct matcher *m, uint32_t rule_id,
		     const char *const *terms, size_t n_terms, char *err,
		     size_t errlen)
{
	struct rule r = {.id = rule_id};
	struct buf fb;
	const char *t;
	size_t i;

	if (m->n_rules > 0 && rule_id <= m->rules[m->n_rules - 1].id) {
		snprintf(err, errlen, "rule %u added after rule %u",
			 (unsigned)rule_id,
			 (unsigned)m->rules[m->n_rules - 1].id);
		return -1;
	}
	if (n_terms == 0) {
		snprintf(err, errlen, "rule has no terms");
		return -1;
	}
	buf_init(&fb, MATCH_FOLD_CAP);
	r.terms = xcalloc(n_terms, sizeof(*r.terms));
	for (i = 0; i < n_terms; i++) {
		t = terms[i];
		/* "#tag" and "@name" also match the bare word; '#' and '@'
		 * separate words anyway, so this only makes it explicit. */
		if (t[0] == '#' || t[0] == '@') {
			t++;
		}
		if (fold_text(m->fold, t, strlen(t), &fb) < 0) {
			snprintf(err, errlen, "term %zu is too long", i + 1);
			goto fail;
		}
		if (fb.len <= 1) {
			snprintf(err, errlen,
				 "term \"%s\" has no letters or digits",
				 terms[i]);
			goto fail;
		}
		if (has_term(&r, fb.data, fb.len)) {
			continue;
		}
		r.terms[r.n_terms].len = fb.len;
		r.terms[r.n_terms].folded = buf_steal(&fb, NULL);
		r.n_terms++;
	}
	buf_fini(&fb);
	if (m->n_rules == m->cap_rules) {
		m->cap_rules = m->cap_rules ? 2 * m->cap_rules : 8;
		m->rules = xreallocarray(m->rules, m->cap_rules,
					 sizeof(*m->rules));
	}
	m->rules[m->n_rules++] = r;
	return 0;

fail:
	buf_fini(&fb);
	rule_fini(&r);
	return -1;
}

size_t matcher_match(struct matcher *m, const char *text, size_t len,
		     uint32_t *out, size_t cap)
{
	const struct rule *r;
	size_t i, j, n = 0;

	if (fold_text(m->fold, text, len, &m->text) < 0) {
		/* Over the cap: match the prefix fold_text left. Its cut-off
		 * last word cannot match, as it lacks its closing space. */
		HARK_ASSERT(m->text.len > 0);
	}
	for (i = 0; i < m->n_rules && n < cap; i++) {
		r = &m->rules[i];
		for (j = 0; j < r->n_terms; j++) {
			if (memmem(m->text.data, m->text.len,
				   r->terms[j].folded,
				   r->terms[j].len) != NULL) {
				out[n++] = r->id;
				break;
			}
		}
	}
	return n;
}
