/* SPDX-License-Identifier: MIT */
/*
 * YAML text → a small tree of scalars, sequences and mappings that keeps
 * the 1-based line:col of every value and mapping key, for config.c to
 * walk and report problems at. Internal to lib/config; built on libyaml,
 * whose header only this module's .c includes. Pure: parses from memory.
 */
#ifndef HARK_CONFIG_YAML_H
#define HARK_CONFIG_YAML_H

#include <stdbool.h>
#include <stddef.h>

#include "util/diag.h"
#include "util/xalloc.h"

/* Deeper nesting is an error: no config needs it and free is recursive. */
#define YAML_TREE_MAX_DEPTH 64

enum yaml_value_kind {
	YAML_VALUE_SCALAR,
	YAML_VALUE_SEQ,
	YAML_VALUE_MAP,
};

struct yaml_entry;

struct yaml_value {
	enum yaml_value_kind kind;
	int line; /* 1-based */
	int col;  /* 1-based */
	/* scalar: NUL-terminated (len excludes the NUL; may hold inner NULs) */
	char *text;
	size_t len;
	bool plain; /* unquoted: only plain scalars can be null */
	/* sequence */
	struct yaml_value **items;
	size_t n_items;
	/* mapping, in document order; keys are not deduplicated */
	struct yaml_entry *entries;
	size_t n_entries;
};

struct yaml_entry {
	char *key;
	int line; /* the key's position */
	int col;
	struct yaml_value *value;
};

/*
 * Parses one YAML document from text (len bytes) named file in messages.
 * On success stores the root in *root_out (NULL for an empty document;
 * caller frees with yaml_value_free) and returns 0. On a syntax error, an
 * alias, a non-scalar mapping key, a second document or nesting deeper
 * than YAML_TREE_MAX_DEPTH, adds one diag entry and returns -1.
 */
int yaml_tree_parse(const char *file, const char *text, size_t len,
		    struct diag *d,
		    struct yaml_value **root_out) HARK_MUST_CHECK;
/* Frees v and everything below it; accepts NULL. */
void yaml_value_free(struct yaml_value *v);
/* True for an empty, "~" or "null" plain scalar (also NULL itself). */
bool yaml_value_is_null(const struct yaml_value *v);
/* First entry of mapping m with that key, or NULL (also when m is no map). */
const struct yaml_entry *yaml_map_find(const struct yaml_value *m,
				       const char *key);
/* "a string", "a sequence", "a mapping", "nothing" (null): for messages. */
const char *yaml_value_kind_name(const struct yaml_value *v);

#endif
