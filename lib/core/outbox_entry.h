/* SPDX-License-Identifier: MIT */
/*
 * An outbox entry: one notification waiting for a receiver, stored as one
 * line of JSON in the receiver's outbox hash under its id (its webhook-id),
 * with the member that sends it (its owner); and a dead letter, its JSON
 * line in the receiver's dead-letter hash. Also reads the version-1 outbox
 * document (every entry of a receiver in one JSON object). Pure.
 */
#ifndef HARK_CORE_OUTBOX_ENTRY_H
#define HARK_CORE_OUTBOX_ENTRY_H

#include <stddef.h>
#include <stdint.h>

/* The owner of the entries read from a version-1 document: never live. */
#define OUTBOX_ENTRY_V1_OWNER "v1"

/* Every string owned (outbox_entry_fini); rule NULL: no ordering. */
struct outbox_entry {
	char *id;
	char *rule;
	char *owner;
	int64_t created_ms; /* wall clock of the member that queued it */
	uint64_t seq;       /* its queueing order within that member */
	unsigned attempts;  /* made before the entry was last written */
	char *body;
	size_t len;
};

/* The entry as one line of JSON (no newline in it); caller frees. */
char *outbox_entry_format(const struct outbox_entry *e);
/*
 * Reads an entry written by outbox_entry_format (len bytes) into out
 * (caller finis it); -1 when it is not one (out left empty).
 */
int outbox_entry_parse(const char *text, size_t len, struct outbox_entry *out);
void outbox_entry_fini(struct outbox_entry *e);
/* A deep copy into out. */
void outbox_entry_copy(struct outbox_entry *out, const struct outbox_entry *e);
/* qsort order of entries: oldest first (created, then seq, then id). */
int outbox_entry_cmp(const void *a, const void *b);

/*
 * The entries of a version-1 outbox document (len bytes), owner
 * OUTBOX_ENTRY_V1_OWNER, in the document's order: *out (caller finis each
 * and frees the array), *n of them; *bad counts the unreadable ones left
 * out. -1 when the document is not one (nothing in *out).
 */
int outbox_entry_parse_v1(const char *doc, size_t len,
			  struct outbox_entry **out, size_t *n, size_t *bad);

/*
 * A dead letter as one line of JSON: the entry, its receiver, when it was
 * given up on (failed_ms, wall clock) and why; caller frees.
 */
char *outbox_entry_dead(const struct outbox_entry *e, const char *receiver,
			int64_t failed_ms, const char *reason);
/*
 * The dead letters of a version-1 document (a JSON array of them, len
 * bytes) as (id, line) pairs to store, at most cap into ids/lines (caller
 * frees each); returns how many, -1 when it is not such an array.
 */
int outbox_entry_dead_v1(const char *doc, size_t len, char **ids, char **lines,
			 size_t cap);
/*
 * Of a dead-letter hash in store_hash's text form (len bytes), the fields
 * past the newest max (by failed_at), oldest first, at most cap into
 * fields (caller frees each): what to remove. Returns how many.
 */
size_t outbox_entry_dead_excess(const char *text, size_t len, size_t max,
				char **fields, size_t cap);

#endif
