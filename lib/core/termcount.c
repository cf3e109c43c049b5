/* SPDX-License-Identifier: MIT */
/* An exact count of a bucket's terms (see termcount.h). Pure. */
#include "core/termcount.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct entry {
	uint32_t hash;
	uint32_t off; /* in names */
	uint32_t len;
	int64_t count;
};

struct termcount {
	uint32_t *index; /* entry + 1, 0: free; cap slots, at most half full */
	size_t cap;
	struct entry *e;
	size_t n, e_cap;
	char *names;
	size_t names_len, names_cap;
	bool cut;
};

struct termcount *termcount_new(void)
{
	return xcalloc(1, sizeof(struct termcount));
}

void termcount_free(struct termcount *c)
{
	if (c == NULL) {
		return;
	}
	free(c->index);
	free(c->e);
	free(c->names);
	free(c);
}

static void grow_index(struct termcount *c)
{
	size_t cap = c->cap ? 2 * c->cap : 256;

	free(c->index);
	c->index = xcalloc(cap, sizeof(c->index[0]));
	c->cap = cap;
	for (size_t k = 0; k < c->n; k++) {
		size_t i = c->e[k].hash & (cap - 1);

		while (c->index[i] != 0) {
			i = (i + 1) & (cap - 1);
		}
		c->index[i] = (uint32_t)k + 1;
	}
}

void termcount_add(struct termcount *c, const char *tok, size_t n, uint32_t h)
{
	size_t i;
	struct entry *e;

	if (n == 0 || n >= UINT32_MAX) {
		return;
	}
	if (2 * (c->n + 1) > c->cap) {
		grow_index(c);
	}
	for (i = h & (c->cap - 1); c->index[i] != 0;
	     i = (i + 1) & (c->cap - 1)) {
		e = &c->e[c->index[i] - 1];
		if (e->hash == h && e->len == n &&
		    memcmp(c->names + e->off, tok, n) == 0) {
			e->count++;
			return;
		}
	}
	if (c->n == TERMCOUNT_MAX) {
		c->cut = true;
		return;
	}
	if (c->n == c->e_cap) {
		c->e_cap = c->e_cap ? 2 * c->e_cap : 128;
		c->e = xrealloc(c->e, c->e_cap * sizeof(c->e[0]));
	}
	if (c->names_len + n + 1 > c->names_cap) {
		c->names_cap = c->names_cap ? 2 * c->names_cap : 2048;
		while (c->names_len + n + 1 > c->names_cap) {
			c->names_cap *= 2;
		}
		c->names = xrealloc(c->names, c->names_cap);
	}
	e = &c->e[c->n];
	e->hash = h;
	e->off = (uint32_t)c->names_len;
	e->len = (uint32_t)n;
	e->count = 1;
	memcpy(c->names + c->names_len, tok, n);
	c->names[c->names_len + n] = '\0';
	c->names_len += n + 1;
	c->index[i] = (uint32_t)++c->n;
}

size_t termcount_n(const struct termcount *c)
{
	return c->n;
}

bool termcount_cut(const struct termcount *c)
{
	return c->cut;
}

const char *termcount_name(const struct termcount *c, size_t i)
{
	return c->names + c->e[i].off;
}

int64_t termcount_count(const struct termcount *c, size_t i)
{
	return c->e[i].count;
}

size_t termcount_name_bytes(const struct termcount *c)
{
	return c->names_len;
}
