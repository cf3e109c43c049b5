/* SPDX-License-Identifier: MIT */
/*
 * Aborting allocators. OOM branches would never be tested, so there are
 * none: an allocation failure is fatal and reported once on stderr.
 */
#include "util/xalloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noreturn)) static void oom(size_t size)
{
	fprintf(stderr, "hark: out of memory allocating %zu bytes\n", size);
	abort();
}

void hark_assert_fail(const char *expr, const char *file, int line)
{
	fprintf(stderr, "hark: assertion failed: %s (%s:%d)\n", expr, file,
		line);
	abort();
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL) {
		oom(size);
	}
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p;

	if (size != 0 && n > SIZE_MAX / size) {
		oom(SIZE_MAX);
	}
	p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL) {
		oom(n * size);
	}
	return p;
}

void *xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);

	if (q == NULL) {
		oom(size);
	}
	return q;
}

void *xreallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size) {
		oom(SIZE_MAX);
	}
	return xrealloc(p, n * size);
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		oom(0);
	}
	return s;
}
