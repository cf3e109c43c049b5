/* SPDX-License-Identifier: MIT */
/*
 * Minimal assertions for unit tests: each failure prints file:line, the
 * expression and both values, and the test keeps going; check_done()
 * prints "N passed, M failed" and returns the exit status.
 */
#ifndef HARK_TESTS_CHECK_H
#define HARK_TESTS_CHECK_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_passed;
static int check_failed;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (cond) {                                                    \
			check_passed++;                                        \
		} else {                                                       \
			check_failed++;                                        \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, \
				__LINE__, #cond);                              \
		}                                                              \
	} while (0)

#define CHECK_INT(a, b)                                                    \
	do {                                                               \
		long long check_a_ = (long long)(a);                       \
		long long check_b_ = (long long)(b);                       \
		if (check_a_ == check_b_) {                                \
			check_passed++;                                    \
		} else {                                                   \
			check_failed++;                                    \
			fprintf(stderr, "%s:%d: %s == %s: %lld != %lld\n", \
				__FILE__, __LINE__, #a, #b, check_a_,      \
				check_b_);                                 \
		}                                                          \
	} while (0)

#define CHECK_DBL(a, b, eps)                                           \
	do {                                                           \
		double check_a_ = (double)(a);                         \
		double check_b_ = (double)(b);                         \
		if (fabs(check_a_ - check_b_) <= (eps)) {              \
			check_passed++;                                \
		} else {                                               \
			check_failed++;                                \
			fprintf(stderr, "%s:%d: %s ~= %s: %g != %g\n", \
				__FILE__, __LINE__, #a, #b, check_a_,  \
				check_b_);                             \
		}                                                      \
	} while (0)

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *check_a_ = (a);                                    \
		const char *check_b_ = (b);                                    \
		if (check_a_ != NULL && check_b_ != NULL &&                    \
		    strcmp(check_a_, check_b_) == 0) {                         \
			check_passed++;                                        \
		} else {                                                       \
			check_failed++;                                        \
			fprintf(stderr, "%s:%d: %s == %s: \"%s\" != \"%s\"\n", \
				__FILE__, __LINE__, #a, #b,                    \
				check_a_ ? check_a_ : "(null)",                \
				check_b_ ? check_b_ : "(null)");               \
		}                                                              \
	} while (0)

static inline int check_done(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed == 0 && check_passed > 0 ? 0 : 1;
}

#endif
