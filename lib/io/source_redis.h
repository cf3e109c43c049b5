/* SPDX-License-Identifier: MIT */
/*
 * The redis-stream source: reads a Redis stream through a consumer group
 * (XGROUP CREATE … MKSTREAM when missing, XREADGROUP … BLOCK) on its own
 * hiredis async connection, with its own timeout, and XACKs each entry
 * once it was handled (counted, found duplicate or invalid) and, when the
 * daemon gives a ticket, once what it counted is stored. Entries carry a
 * "mention" field holding a JSON mention, or flat fields (id, text,
 * created_at, lang, author, url). Several harkd can share one group.
 * Loop thread only.
 */
#ifndef HARK_IO_SOURCE_REDIS_H
#define HARK_IO_SOURCE_REDIS_H

#include "io/source.h"

struct config_source;
struct source_redis;

/* Slack on top of BLOCK before a read counts as timed out. */
#define SOURCE_REDIS_TIMEOUT_SLACK_MS 5000
/*
 * An entry another consumer of the group has left pending for the source's
 * claim_after (1 minute by default) is taken over (XAUTOCLAIM): a live
 * consumer acknowledges within a flush interval or two of reading, so that
 * long means it died, or could not store its counts for that long (then
 * the entry may count twice: once in its memory, once here). They are
 * looked for every quarter of that (a second at least).
 */
#define SOURCE_REDIS_CLAIM_CHECKS 4

/*
 * Starts source number index (type redis-stream; cfg borrowed, outliving
 * the source). url is cfg->redis, else the store's (default_url). Returns
 * NULL with a reason in err when the url is malformed.
 */
struct source_redis *source_redis_start(const struct source_env *env, int index,
					const struct config_source *cfg,
					const char *default_url, char *err,
					size_t errlen);
struct source_stats source_redis_stats(const struct source_redis *s);
/* Entries acknowledged so far. */
uint64_t source_redis_acked(const struct source_redis *s);
/* Entries taken over from other consumers so far. */
uint64_t source_redis_claimed(const struct source_redis *s);
/* The daemon's flushes below ticket through are stored: the entries
 * handled before them are acknowledged. */
void source_redis_stored(struct source_redis *s, uint64_t through);
/* Ids handled and not yet acknowledged. */
size_t source_redis_held(const struct source_redis *s);
/* Stopping: reads no more; what was read and not counted stays pending. */
void source_redis_pause(struct source_redis *s);
/* Stopped, every count stored: acknowledges what is held and closes the
 * link once the acknowledgements are sent. */
void source_redis_finish(struct source_redis *s);
void source_redis_free(struct source_redis *s); /* accepts NULL */

#endif
