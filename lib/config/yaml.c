/* SPDX-License-Identifier: MIT */
/*
 * Builds the config node tree from libyaml's event stream, keeping the
 * position of every node and key. It knows nothing of hark's keys: schema
 * checks live in config.c. Runs wherever config is parsed (startup, reload).
 */
#include "config/yaml.h"

#include <stdlib.h>
#include <string.h>

#include <yaml.h>

struct frame {
	struct yaml_value *v;
	/* mapping frames: the key read, waiting for its value */
	char *key;
	int key_line;
	int key_col;
};

struct builder {
	const char *file;
	struct diag *d;
	struct yaml_value *root;
	struct frame stack[YAML_TREE_MAX_DEPTH];
	size_t depth;
};

static struct yaml_value *value_new(enum yaml_value_kind kind,
				    const yaml_mark_t *mark)
{
	struct yaml_value *v = xcalloc(1, sizeof(*v));

	v->kind = kind;
	/* libyaml marks are 0-based; messages are 1-based like compilers' */
	v->line = (int)mark->line + 1;
	v->col = (int)mark->column + 1;
	return v;
}

void yaml_value_free(struct yaml_value *v)
{
	if (v == NULL) {
		return;
	}
	free(v->text);
	for (size_t i = 0; i < v->n_items; i++) {
		yaml_value_free(v->items[i]);
	}
	free(v->items);
	for (size_t i = 0; i < v->n_entries; i++) {
		free(v->entries[i].key);
		yaml_value_free(v->entries[i].value);
	}
	free(v->entries);
	free(v);
}

bool yaml_value_is_null(const struct yaml_value *v)
{
	if (v == NULL) {
		return true;
	}
	if (v->kind != YAML_VALUE_SCALAR || !v->plain) {
		return false;
	}
	return v->len == 0 || strcmp(v->text, "~") == 0 ||
	       strcmp(v->text, "null") == 0 || strcmp(v->text, "Null") == 0 ||
	       strcmp(v->text, "NULL") == 0;
}

const struct yaml_entry *yaml_map_find(const struct yaml_value *m,
				       const char *key)
{
	if (m == NULL || m->kind != YAML_VALUE_MAP) {
		return NULL;
	}
	for (size_t i = 0; i < m->n_entries; i++) {
		if (strcmp(m->entries[i].key, key) == 0) {
			return &m->entries[i];
		}
	}
	return NULL;
}

const char *yaml_value_kind_name(const struct yaml_value *v)
{
	if (yaml_value_is_null(v)) {
		return "nothing";
	}
	switch (v->kind) {
	case YAML_VALUE_SCALAR:
		return "a string";
	case YAML_VALUE_SEQ:
		return "a sequence";
	case YAML_VALUE_MAP:
		return "a mapping";
	}
	return "?";
}

/*
 * Hangs v under the innermost open collection. Takes ownership of v in all
 * cases; returns -1 (v freed) when v cannot be a mapping key.
 */
static int attach(struct builder *b, struct yaml_value *v)
{
	struct frame *top;
	struct yaml_value *p;
	struct yaml_entry *e;

	if (b->depth == 0) {
		b->root = v;
		return 0;
	}
	top = &b->stack[b->depth - 1];
	p = top->v;
	if (p->kind == YAML_VALUE_SEQ) {
		p->items = xreallocarray(p->items, p->n_items + 1,
					 sizeof(*p->items));
		p->items[p->n_items++] = v;
		return 0;
	}
	if (top->key == NULL) {
		if (v->kind != YAML_VALUE_SCALAR) {
			diag_add(b->d, b->file, v->line, v->col,
				 "YAML: mapping keys must be plain strings, "
				 "got %s",
				 yaml_value_kind_name(v));
			yaml_value_free(v);
			return -1;
		}
		top->key = v->text;
		top->key_line = v->line;
		top->key_col = v->col;
		v->text = NULL;
		yaml_value_free(v);
		return 0;
	}
	p->entries = xreallocarray(p->entries, p->n_entries + 1,
				   sizeof(*p->entries));
	e = &p->entries[p->n_entries++];
	e->key = top->key;
	e->line = top->key_line;
	e->col = top->key_col;
	e->value = v;
	top->key = NULL;
	return 0;
}

static int open_collection(struct builder *b, enum yaml_value_kind kind,
			   const yaml_mark_t *mark)
{
	struct yaml_value *v = value_new(kind, mark);
	int line = v->line;
	int col = v->col;

	if (b->depth == YAML_TREE_MAX_DEPTH) {
		diag_add(b->d, b->file, line, col,
			 "YAML: nesting deeper than %d levels",
			 YAML_TREE_MAX_DEPTH);
		yaml_value_free(v);
		return -1;
	}
	if (attach(b, v) < 0) {
		return -1;
	}
	/* attached above, so the tree owns v; the frame only borrows it */
	b->stack[b->depth].v = v;
	b->stack[b->depth].key = NULL;
	b->depth++;
	return 0;
}

static int on_event(struct builder *b, const yaml_event_t *ev, int *docs,
		    bool *done)
{
	struct yaml_value *v;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++*docs > 1) {
			diag_add(b->d, b->file, (int)ev->start_mark.line + 1,
				 (int)ev->start_mark.column + 1,
				 "YAML: only one document is allowed");
			return -1;
		}
		return 0;
	case YAML_STREAM_END_EVENT:
		*done = true;
		return 0;
	case YAML_ALIAS_EVENT:
		diag_add(b->d, b->file, (int)ev->start_mark.line + 1,
			 (int)ev->start_mark.column + 1,
			 "YAML: aliases (*%s) are not supported; write the "
			 "value out",
			 (const char *)ev->data.alias.anchor);
		return -1;
	case YAML_SCALAR_EVENT:
		v = value_new(YAML_VALUE_SCALAR, &ev->start_mark);
		v->len = ev->data.scalar.length;
		v->text = xmalloc(v->len + 1);
		memcpy(v->text, ev->data.scalar.value, v->len);
		v->text[v->len] = '\0';
		v->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		return attach(b, v);
	case YAML_SEQUENCE_START_EVENT:
		return open_collection(b, YAML_VALUE_SEQ, &ev->start_mark);
	case YAML_MAPPING_START_EVENT:
		return open_collection(b, YAML_VALUE_MAP, &ev->start_mark);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		HARK_ASSERT(b->depth > 0);
		b->depth--;
		return 0;
	case YAML_NO_EVENT:
	case YAML_STREAM_START_EVENT:
	case YAML_DOCUMENT_END_EVENT:
		return 0;
	}
	return 0;
}

int yaml_tree_parse(const char *file, const char *text, size_t len,
		    struct diag *d, struct yaml_value **root_out)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	struct builder b;
	int docs = 0;
	bool done = false;
	int rc = 0;

	memset(&b, 0, sizeof(b));
	b.file = file;
	b.d = d;
	*root_out = NULL;
	if (!yaml_parser_initialize(&parser)) {
		diag_add(d, file, 0, 0, "YAML: cannot initialize the parser");
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			diag_add(d, file, (int)parser.problem_mark.line + 1,
				 (int)parser.problem_mark.column + 1,
				 "YAML syntax error: %s",
				 parser.problem != NULL ? parser.problem
							: "unknown problem");
			rc = -1;
			break;
		}
		rc = on_event(&b, &ev, &docs, &done);
		yaml_event_delete(&ev);
		if (rc < 0) {
			break;
		}
	}
	yaml_parser_delete(&parser);
	/* keys read but never paired with a value belong to no node yet */
	for (size_t i = 0; i < b.depth; i++) {
		free(b.stack[i].key);
	}
	if (rc < 0) {
		yaml_value_free(b.root);
		return -1;
	}
	*root_out = b.root;
	return 0;
}
