/* SPDX-License-Identifier: MIT */
/*
 * Allocation that never returns NULL: on failure or size overflow it prints
 * a message and aborts (systemd restarts the daemon). Also the two macros
 * every module uses: HARK_MUST_CHECK and HARK_ASSERT.
 */
#ifndef HARK_UTIL_XALLOC_H
#define HARK_UTIL_XALLOC_H

#include <stddef.h>

#define HARK_MUST_CHECK __attribute__((warn_unused_result))
#define HARK_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define HARK_UNUSED(x) ((void)(x))

/* Always compiled in; for invariants only, never for outside input. */
#define HARK_ASSERT(e) \
	((e) ? (void)0 : hark_assert_fail(#e, __FILE__, __LINE__))

__attribute__((noreturn)) void hark_assert_fail(const char *expr,
						const char *file, int line);

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
/* xreallocarray: realloc to n * size bytes, aborting on overflow. */
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Caller frees the result with free(). */
char *xasprintf(const char *fmt, ...) HARK_PRINTF(1, 2);

#endif
