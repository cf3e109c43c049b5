/* SPDX-License-Identifier: MIT */
/*
 * The redis-stream source: reads a Redis stream through a consumer group
 * (XGROUP CREATE … MKSTREAM when missing, XREADGROUP … BLOCK) on its own
 * hiredis async connection, with its own timeout, and XACKs each entry
 * once it was handed over (or found duplicate or invalid). Entries carry a
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
void source_redis_free(struct source_redis *s); /* accepts NULL */

#endif
