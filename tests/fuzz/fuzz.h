/* SPDX-License-Identifier: MIT */
/*
 * What every fuzz target shares: the libFuzzer entry point's prototype and
 * a reader that cuts the input into NUL-separated fields, so one input can
 * carry several strings (each a valid C string with any other byte).
 */
#ifndef HARK_TESTS_FUZZ_H
#define HARK_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fails the run the way a sanitizer would: a property the library
 * promises did not hold. */
#define FUZZ_REQUIRE(e)                                                     \
	do {                                                                \
		if (!(e)) {                                                 \
			fprintf(stderr, "%s:%d: FUZZ_REQUIRE(%s) failed\n", \
				__FILE__, __LINE__, #e);                    \
			abort();                                            \
		}                                                           \
	} while (0)

struct fields {
	char *copy; /* owned: the input plus a NUL */
	size_t len;
	size_t pos;
};

static inline void fields_init(struct fields *f, const uint8_t *data,
			       size_t size)
{
	f->copy = xmalloc(size + 1);
	if (size > 0) {
		memcpy(f->copy, data, size);
	}
	f->copy[size] = '\0';
	f->len = size;
	f->pos = 0;
}

static inline void fields_fini(struct fields *f)
{
	free(f->copy);
	f->copy = NULL;
}

static inline int fields_left(const struct fields *f)
{
	return f->pos < f->len;
}

/* The next field (borrowed until fields_fini), "" once the input is used
 * up. */
static inline const char *fields_next(struct fields *f)
{
	const char *s;

	if (f->pos >= f->len) {
		return "";
	}
	s = f->copy + f->pos;
	f->pos += strlen(s) + 1;
	return s;
}

/* A number from the next field's bytes (0 for an empty one). */
static inline uint64_t fields_u64(struct fields *f)
{
	const unsigned char *s = (const unsigned char *)fields_next(f);
	uint64_t v = 0;

	for (size_t i = 0; s[i] != '\0' && i < 8; i++) {
		v = (v << 8) | s[i];
	}
	return v;
}

#endif
