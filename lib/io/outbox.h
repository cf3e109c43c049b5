/* SPDX-License-Identifier: MIT */
/*
 * The durable outbox behind deliver.c: each receiver's pending
 * notifications are the entries of one hash in the store, one per
 * notification (core/outbox_entry.h), written before the first attempt and
 * removed once delivered or dead-lettered; its dead letters another hash,
 * capped. The members of a fleet share the hashes, and each entry names the
 * member sending it: the entries of an owner that is no longer live are
 * taken over by exactly one live member (a claim per entry and owner), at
 * start and every OUTBOX_SCAN_MS. A failed write is tried again; the
 * version-1 documents are read at start. Runs on the loop thread.
 */
#ifndef HARK_IO_OUTBOX_H
#define HARK_IO_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct outbox;
struct outbox_entry;
struct store;

/* How often a fleet member looks for entries to take over. */
#define OUTBOX_SCAN_MS 3000
/* A failed outbox read or write is tried again this much later. */
#define OUTBOX_RETRY_MS 1000
/*
 * A takeover's claim is kept this long: far longer than any member's view
 * of the hash can be stale, so a member that read an entry before another
 * took it over never claims it too.
 */
#define OUTBOX_ADOPT_TTL_MS (3600 * 1000LL)
/*
 * An entry whose owner is not among the members read is left alone while
 * younger than this: its owner may have started and written it since the
 * members were last read.
 */
#define OUTBOX_FRESH_MS 10000

enum outbox_owner {
	OUTBOX_OWNER_GONE,    /* a member no longer live */
	OUTBOX_OWNER_LIVE,    /* a live member (not this process) */
	OUTBOX_OWNER_ABSENT,  /* not among the members read */
	OUTBOX_OWNER_UNKNOWN, /* the members have not been read yet */
};
/* What the fleet knows of owner (a member id, never this process's). */
typedef enum outbox_owner outbox_owner_fn(void *arg, const char *owner);

/* What the outbox tells deliver; every hook runs from a store callback. */
struct outbox_hooks {
	void *arg;
	/* Entry id of receiver index was written (or the write failed and
	 * will be tried again): its first attempt may start. */
	void (*written)(void *arg, size_t index, const char *id);
	/* e (ownership passes) was taken over by this process: its owner is
	 * this process in the store, and no other member sends it. */
	void (*adopted)(void *arg, size_t index, struct outbox_entry *e);
	/* A look for entries to take over ended; adopted of them. */
	void (*scanned)(void *arg, size_t index, size_t adopted);
	/* Entry id of receiver index belongs to another live member now
	 * (taken over while this process was thought gone): stop sending. */
	void (*taken)(void *arg, size_t index, const char *id,
		      const char *owner);
	/* A store command ended (a drain waits for them). */
	void (*settled)(void *arg);
};

/*
 * An outbox on store (borrowed; must outlive it) under prefix (copied),
 * for the process self (copied: the owner it writes). Caller frees with
 * outbox_free; hooks are copied.
 */
struct outbox *outbox_new(struct event_base *base, struct store *store,
			  const char *prefix, const char *self,
			  const struct outbox_hooks *hooks);
void outbox_free(struct outbox *ob);
/*
 * Changes the process's id (copied) and how owners are judged: fn NULL
 * (the default) is a process alone, which takes over every entry not its
 * own at outbox_resume and never looks again.
 */
void outbox_set_members(struct outbox *ob, const char *self,
			outbox_owner_fn *fn, void *arg);
const char *outbox_self(const struct outbox *ob);

/* Writes e (borrowed) into receiver index's outbox (receiver: its name,
 * copied); hooks->written follows. */
void outbox_put(struct outbox *ob, size_t index, const char *receiver,
		const struct outbox_entry *e);
/* Removes entry id (a notification delivered or given up on). */
void outbox_remove(struct outbox *ob, size_t index, const char *receiver,
		   const char *id);
/* Adds e as a dead letter (failed_ms, wall clock; reason), keeping the
 * newest DELIVER_DEADLETTER_MAX of the receiver. */
void outbox_dead(struct outbox *ob, size_t index, const char *receiver,
		 const struct outbox_entry *e, int64_t failed_ms,
		 const char *reason, size_t max);
/*
 * Moves the receiver's version-1 documents over, then takes over what
 * owners no longer live left (hooks->adopted, oldest first, then
 * hooks->scanned); with a members function, looks again every
 * OUTBOX_SCAN_MS. Tried again while the store fails.
 */
void outbox_resume(struct outbox *ob, size_t index, const char *receiver);
/* Whether commands are in flight or writes wait to be tried again. */
bool outbox_busy(const struct outbox *ob);
/* Issues no more store commands (the store closes next). */
void outbox_close(struct outbox *ob);

#endif
