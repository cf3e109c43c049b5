/* SPDX-License-Identifier: MIT */
/*
 * An exact count of every distinct term of one bucket, made when the
 * bucket closes and dropped right after: what the emerging-terms model
 * (core/emerge) ranks and learns from. The bucket's shown tops are
 * space-saving tables (window.c), whose counts of middling words are off
 * by up to the table's least count: learned bucket after bucket, that
 * noise made a busy rule (1,000 mentions a bucket, a 5,000-word
 * vocabulary) list a wrong word in 70 % of its ordinary buckets. Bounded:
 * past TERMCOUNT_MAX distinct terms new ones are left out, and the count
 * says it was cut. Pure.
 */
#ifndef HARK_CORE_TERMCOUNT_H
#define HARK_CORE_TERMCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Distinct terms counted at most: 65,536 of up to 41 bytes is a few MB,
 * held only while one bucket closes. */
#define TERMCOUNT_MAX 65536

struct termcount;

struct termcount *termcount_new(void);
void termcount_free(struct termcount *c);
/* Counts tok (n bytes, hash h as terms_hash). */
void termcount_add(struct termcount *c, const char *tok, size_t n, uint32_t h);
/* Distinct terms counted, and whether some were left out. */
size_t termcount_n(const struct termcount *c);
bool termcount_cut(const struct termcount *c);
/* Term i (0 <= i < termcount_n): its name (NUL-terminated, valid until
 * termcount_free) and count, in the order first seen. */
const char *termcount_name(const struct termcount *c, size_t i);
int64_t termcount_count(const struct termcount *c, size_t i);
/* Bytes of the names, NULs included. */
size_t termcount_name_bytes(const struct termcount *c);

#endif
