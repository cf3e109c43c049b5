/* SPDX-License-Identifier: MIT */
#include "core/mbatch.h"

#include <stdlib.h>
#include <string.h>

#include "core/match.h"
#include "util/xalloc.h"

/* Room for a batch's first lines before it grows (hark replay's 1,024). */
#define MBATCH_FIRST_CAP 1028

void mbatch_clear(struct mbatch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->items[i].kind == MBATCH_OK) {
			mention_fini(&b->items[i].m);
		}
		free(b->items[i].why);
	}
	b->n = 0;
	b->n_ids = 0;
	b->raw_len = 0;
	b->text = NULL;
	b->lines = 0;
}

void mbatch_fini(struct mbatch *b)
{
	mbatch_clear(b);
	free(b->items);
	free(b->ids);
	free(b->raw);
	free(b->mem);
	memset(b, 0, sizeof(*b));
}

static struct mbatch_item *new_item(struct mbatch *b, enum mbatch_kind kind)
{
	struct mbatch_item *it;

	if (b->n == b->cap) {
		b->cap = b->cap != 0 ? b->cap * 2 : MBATCH_FIRST_CAP;
		b->items = xreallocarray(b->items, b->cap, sizeof(*b->items));
	}
	it = &b->items[b->n++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	return it;
}

void mbatch_put_msg(struct mbatch *b, bool fail, char *msg)
{
	struct mbatch_item *it = new_item(b, MBATCH_MSG);

	it->fail = fail;
	it->why = msg;
}

void mbatch_put_line(struct mbatch *b, const char *line, size_t len,
		     long lineno)
{
	struct mbatch_item *it;

	b->lines++;
	while (len > 0 && line[len - 1] == '\r') {
		len--;
	}
	if (len == 0) {
		new_item(b, MBATCH_EMPTY)->lineno = lineno;
		return;
	}
	if (b->raw_len + len > b->raw_cap) {
		b->raw_cap = (b->raw_len + len) * 2;
		b->raw = xrealloc(b->raw, b->raw_cap);
	}
	memcpy(b->raw + b->raw_len, line, len);
	b->text = b->raw;
	it = new_item(b, MBATCH_OK);
	it->off = b->raw_len;
	it->len = len;
	it->lineno = lineno;
	b->raw_len += len;
}

size_t mbatch_split(struct mbatch *b, const char *text, size_t len)
{
	const char *p = text;
	const char *end = text + len;
	size_t lineno = 0;

	b->text = text;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;
		size_t l = (size_t)(eol - p);
		struct mbatch_item *it;

		lineno++;
		if (l > 0 && p[l - 1] == '\r') {
			l--;
		}
		while (l > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			l--;
		}
		it = new_item(b, l > 0 ? MBATCH_OK : MBATCH_EMPTY);
		it->off = (size_t)(p - text);
		it->len = l;
		it->lineno = (long)lineno;
		p = nl != NULL ? nl + 1 : end;
	}
	b->lines += lineno;
	return lineno;
}

void mbatch_parse(struct mbatch *b, const struct mention_opts *o,
		  struct matcher *m, uint32_t *scratch, size_t n_rules,
		  const char *source)
{
	char why[256];
	size_t need = 0, at = 0;

	for (size_t i = 0; i < b->n; i++) {
		if (b->items[i].kind == MBATCH_OK) {
			need += b->items[i].len + MENTION_MEM_SLACK;
		}
	}
	/* sized before parsing: the mentions point into it */
	if (need > b->mem_cap) {
		free(b->mem);
		b->mem_cap = need + need / 4;
		b->mem = xmalloc(b->mem_cap);
	}
	for (size_t i = 0; i < b->n; i++) {
		struct mbatch_item *it = &b->items[i];
		struct match_input in;
		size_t room;

		if (it->kind != MBATCH_OK) {
			continue;
		}
		room = it->len + MENTION_MEM_SLACK;
		switch (mention_parse_in(&it->m, o, b->text + it->off, it->len,
					 b->mem + at, room, why, sizeof(why))) {
		case MENTION_OK:
			break;
		case MENTION_SKIPPED:
			it->kind = MBATCH_SKIPPED;
			it->why = xstrdup(why);
			continue;
		case MENTION_REJECTED:
		case MENTION_STREAM_ERROR:
			it->kind = MBATCH_BAD;
			it->why = xstrdup(why);
			continue;
		}
		at += room;
		in.text = it->m.text;
		in.len = strlen(it->m.text);
		in.lang = it->m.lang;
		in.source = source;
		in.author = it->m.author;
		it->n_ids = matcher_match(m, &in, scratch, n_rules);
		if (b->n_ids + it->n_ids > b->cap_ids) {
			b->cap_ids = (b->n_ids + it->n_ids) * 2;
			b->ids = xreallocarray(b->ids, b->cap_ids,
					       sizeof(*b->ids));
		}
		if (it->n_ids > 0) {
			memcpy(b->ids + b->n_ids, scratch,
			       it->n_ids * sizeof(*b->ids));
		}
		it->ids = b->n_ids;
		b->n_ids += it->n_ids;
		if (it->n_ids > 0) {
			window_mention_init(&it->wm, &it->m);
		}
	}
}

const struct window_mention *mbatch_view(const struct mbatch_item *it,
					 struct window_mention *wm)
{
	if (it->n_ids == 0) {
		/* counted for no rule: only wm->m is read */
		memset(wm, 0, sizeof(*wm));
		wm->m = &it->m;
		return wm;
	}
	*wm = it->wm;
	return wm;
}
