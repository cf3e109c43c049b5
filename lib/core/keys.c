/* SPDX-License-Identifier: MIT */
/*
 * Store key names (see keys.h). The only place that spells a key, so a
 * layout change bumps the v1 segment here and nowhere else. Pure.
 */
#include "core/keys.h"

#include <inttypes.h>
#include <string.h>

#include "core/window.h"
#include "util/xalloc.h"

/* Floor to whole seconds, also for times before the epoch. */
static int64_t floor_s(int64_t ms)
{
	return window_bucket_start(ms, 1000) / 1000;
}

/*
 * prefix "{" rule "}:" tail n: the per-bucket keys, built for every bucket
 * of every rule as it closes (catching up on history: a million and more),
 * so without printf.
 */
static char *rule_key(const char *prefix, const char *rule, const char *tail,
		      int64_t n)
{
	size_t lp = strlen(prefix), lr = strlen(rule), lt = strlen(tail);
	char num[24], *p = num + sizeof(num), *k, *w;
	uint64_t u = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (n < 0) {
		*--p = '-';
	}
	k = xmalloc(lp + lr + lt + (size_t)(num + sizeof(num) - p) + 4);
	w = k;
	memcpy(w, prefix, lp);
	w += lp;
	*w++ = '{';
	memcpy(w, rule, lr);
	w += lr;
	*w++ = '}';
	*w++ = ':';
	memcpy(w, tail, lt);
	w += lt;
	memcpy(w, p, (size_t)(num + sizeof(num) - p));
	w += num + sizeof(num) - p;
	*w = '\0';
	return k;
}

char *keys_count(const char *prefix, const char *rule, int64_t start_ms)
{
	return rule_key(prefix, rule, "v2:count:", floor_s(start_ms));
}

char *keys_count_v1(const char *prefix, const char *rule, int64_t start_ms)
{
	return rule_key(prefix, rule, "v1:count:", floor_s(start_ms));
}

char *keys_points(const char *prefix, const char *rule, int64_t day)
{
	return rule_key(prefix, rule, "v2:points:", day);
}

char *keys_tops(const char *prefix, const char *rule, int64_t day)
{
	return rule_key(prefix, rule, "v2:tops:", day);
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

char *keys_members(const char *prefix)
{
	return xasprintf("%s{fleet}:v2:members", prefix);
}

char *keys_lease(const char *prefix, const char *source)
{
	return xasprintf("%s{fleet}:v2:lease:%s", prefix, source);
}

char *keys_alerts_v2(const char *prefix)
{
	return xasprintf("%s{fleet}:v2:alerts", prefix);
}

char *keys_silences_v2(const char *prefix)
{
	return xasprintf("%s{fleet}:v2:silences", prefix);
}

char *keys_sent(const char *prefix, const char *rule, int64_t start_ms,
		const char *status)
{
	return xasprintf("%s{%s}:v2:sent:%lld:%s", prefix, rule,
			 (long long)floor_s(start_ms), status);
}

char *keys_outbox_v2(const char *prefix, const char *receiver)
{
	return xasprintf("%s{fleet}:v2:outbox:%s", prefix, receiver);
}

char *keys_deadletter_v2(const char *prefix, const char *receiver)
{
	return xasprintf("%s{fleet}:v2:deadletter:%s", prefix, receiver);
}

char *keys_adopt(const char *prefix, const char *receiver, const char *id,
		 const char *from)
{
	return xasprintf("%s{fleet}:v2:adopt:%s:%s:%s", prefix, receiver, id,
			 from);
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
