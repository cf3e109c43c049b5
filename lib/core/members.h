/* SPDX-License-Identifier: MIT */
/*
 * The members of a fleet: every harkd sharing a store and a prefix announces
 * itself in one small hash (store_hash), one entry per running process,
 * every flush interval: when it announced (its clock), and how far its
 * watermark has gone with no lateness (the newest event time it counted
 * plus the time since, so an idle member still moves on). A member that
 * has not announced for a while is gone. A bucket of a rule is final for
 * the fleet when every live member's watermark, less the rule's lateness,
 * has passed the bucket's end: a member announces a watermark only once
 * the count writes of what it closed were answered, so by then they are in
 * the store. Pure.
 */
#ifndef HARK_CORE_MEMBERS_H
#define HARK_CORE_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The format of a member's entry, its first word. */
#define MEMBERS_VERSION 1
/* Longest member id (host/pid/start) kept. */
#define MEMBERS_ID_MAX 160
/* Members read from the hash at most; the rest are ignored. */
#define MEMBERS_MAX 256

struct member {
	char id[MEMBERS_ID_MAX];
	int64_t start_ms; /* wall clock, its own: when it started */
	int64_t beat_ms;  /* wall clock, its own */
	int64_t base_ms;  /* watermark with no lateness; INT64_MIN: no event */
	uint64_t received;
	bool live;
	bool self;
};

/*
 * A member's entry (written into out, NUL-terminated, at most cap bytes):
 * "1 BEAT BASE RECEIVED START", BASE "-" when unknown.
 */
void members_format(char *out, size_t cap, int64_t beat_ms, int64_t base_ms,
		    uint64_t received, int64_t start_ms);
/*
 * The members in text (store_hash's answer), at most cap into out; live
 * when their beat is within live_ms of now_ms (a clock ahead of ours counts
 * as now), self when their id is self_id. Entries of another format are
 * skipped. Returns how many.
 */
size_t members_parse(const char *text, size_t len, int64_t now_ms,
		     int64_t live_ms, const char *self_id, struct member *out,
		     size_t cap);
/*
 * How far every other live member's watermark has gone: the least of
 * theirs, INT64_MAX when there is no other. A member without an event yet
 * holds nothing back (an idle one must not stall the fleet), except in its
 * first grace_ms (by now_ms): one that just started may be counting its
 * first mentions, not announced yet, so it holds everything back
 * (INT64_MIN) until it announces a watermark or its grace ends.
 */
int64_t members_base(const struct member *m, size_t n, int64_t now_ms,
		     int64_t grace_ms);
/* Whether the member is gone for good: no beat for gone_ms. */
bool members_gone(const struct member *m, int64_t now_ms, int64_t gone_ms);

#endif
