/* SPDX-License-Identifier: MIT */
/*
 * Store key names (see keys.h). The only place that spells a key, so a
 * layout change bumps the v1 segment here and nowhere else. Pure.
 */
#include "core/keys.h"

#include <inttypes.h>

#include "util/xalloc.h"

/* Floor to whole seconds, also for times before the epoch. */
static int64_t floor_s(int64_t ms)
{
	return ms >= 0 ? ms / 1000 : -((-(ms + 1)) / 1000) - 1;
}

char *keys_count(const char *prefix, const char *rule, int64_t start_ms)
{
	return xasprintf("%s{%s}:v2:count:%" PRId64, prefix, rule,
			 floor_s(start_ms));
}

char *keys_count_v1(const char *prefix, const char *rule, int64_t start_ms)
{
	return xasprintf("%s{%s}:v1:count:%" PRId64, prefix, rule,
			 floor_s(start_ms));
}

char *keys_points(const char *prefix, const char *rule, int64_t day)
{
	return xasprintf("%s{%s}:v2:points:%" PRId64, prefix, rule, day);
}

char *keys_state(const char *prefix, const char *rule)
{
	return xasprintf("%s{%s}:v1:state", prefix, rule);
}

char *keys_silences(const char *prefix)
{
	return xasprintf("%sv1:silences", prefix);
}

char *keys_alerts(const char *prefix)
{
	return xasprintf("%sv1:alerts", prefix);
}

char *keys_outbox(const char *prefix, const char *receiver)
{
	return xasprintf("%sv1:outbox:%s", prefix, receiver);
}

char *keys_deadletter(const char *prefix, const char *receiver)
{
	return xasprintf("%sv1:deadletter:%s", prefix, receiver);
}

char *keys_file(const char *prefix, const char *source)
{
	return xasprintf("%sv1:file:%s", prefix, source);
}
