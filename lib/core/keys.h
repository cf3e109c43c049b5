/* SPDX-License-Identifier: MIT */
/*
 * Store key names, built only here. Every key of a rule shares the rule's
 * hash tag so that a Redis Cluster keeps them in one slot:
 *   <prefix>{<rule>}:v2:count:<bucket start, unix seconds>
 *   <prefix>{<rule>}:v1:state
 * A v2 count is a hash: one field per writer (a daemon's run), its count
 * of the bucket, absolute; the bucket's count is their sum (plus the v1
 * counter of an older version, <prefix>{<rule>}:v1:count:<start>).
 * Pure; callers free the results.
 */
#ifndef HARK_CORE_KEYS_H
#define HARK_CORE_KEYS_H

#include <stdint.h>

char *keys_count(const char *prefix, const char *rule, int64_t start_ms);
char *keys_count_v1(const char *prefix, const char *rule, int64_t start_ms);
/* <prefix>{<rule>}:v2:points:<UTC day since the epoch>: the rule's judged
 * buckets of that day (core/points.h). */
char *keys_points(const char *prefix, const char *rule, int64_t day);
/* A rule's judged buckets' tops and emerging terms of one UTC day (see
 * core/tops.h): <prefix>{<rule>}:v2:tops:<day>. */
char *keys_tops(const char *prefix, const char *rule, int64_t day);
char *keys_state(const char *prefix, const char *rule);
/* Daemon-wide keys: <prefix>v1:silences, <prefix>v1:alerts (history). */
char *keys_silences(const char *prefix);
char *keys_alerts(const char *prefix);
/*
 * A fleet (several daemons on one store): <prefix>{fleet}:v2:members, the
 * members' hash (core/members.h); <prefix>{<rule>}:v2:sent:<bucket start,
 * unix seconds>:<status>, claimed by the one member that sends a rule's
 * notification of that bucket.
 */
char *keys_members(const char *prefix);
/* <prefix>{fleet}:v2:lease:<source>: the member reading a leased source. */
char *keys_lease(const char *prefix, const char *source);
/* <prefix>{fleet}:v2:alerts: the history, one entry per notification. */
char *keys_alerts_v2(const char *prefix);
/* <prefix>{fleet}:v2:silences: one entry per silence, id → its JSON. */
char *keys_silences_v2(const char *prefix);
char *keys_sent(const char *prefix, const char *rule, int64_t start_ms,
		const char *status);
/*
 * Per receiver, shared by a fleet: <prefix>{fleet}:v2:outbox:<receiver>
 * (a hash: notifications not yet delivered, id → its entry, each with the
 * member sending it; core/outbox_entry.h) and
 * <prefix>{fleet}:v2:deadletter:<receiver> (a hash: those given up on,
 * id → the dead letter, the newest kept).
 */
char *keys_outbox_v2(const char *prefix, const char *receiver);
char *keys_deadletter_v2(const char *prefix, const char *receiver);
/*
 * <prefix>{fleet}:v2:adopt:<receiver>:<id>:<from>: claimed by the one
 * member that takes over entry id of receiver from its owner from, a
 * member no longer live (or "v1", a version-1 document's).
 */
char *keys_adopt(const char *prefix, const char *receiver, const char *id,
		 const char *from);
/*
 * Version 1, read at start and emptied: <prefix>v1:outbox:<receiver> (one
 * JSON document) and <prefix>v1:deadletter:<receiver> (a JSON array).
 */
char *keys_outbox(const char *prefix, const char *receiver);
char *keys_deadletter(const char *prefix, const char *receiver);
/*
 * Per file source: <prefix>v1:file:<source> (where reading stopped: the
 * file's identity, the offset after its last line handed on, its size).
 */
char *keys_file(const char *prefix, const char *source);

#endif
