/* SPDX-License-Identifier: MIT */
#include "core/members.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/texthash.h"

void members_format(char *out, size_t cap, int64_t beat_ms, int64_t base_ms,
		    uint64_t received, int64_t start_ms)
{
	char base[24] = "-";

	if (base_ms != INT64_MIN) {
		snprintf(base, sizeof(base), "%" PRId64, base_ms);
	}
	snprintf(out, cap, "%d %" PRId64 " %s %" PRIu64 " %" PRId64,
		 MEMBERS_VERSION, beat_ms, base, received, start_ms);
}

/* Parses "1 BEAT BASE RECEIVED" (len bytes, not NUL-terminated). */
static bool parse_value(const char *v, size_t len, struct member *m)
{
	char buf[128], base[32];
	int version, used = 0;
	long long beat, start;
	unsigned long long received;

	if (len >= sizeof(buf)) {
		return false;
	}
	memcpy(buf, v, len);
	buf[len] = '\0';
	if (sscanf(buf, "%d %lld %31s %llu %lld%n", &version, &beat, base,
		   &received, &start, &used) != 5 ||
	    version != MEMBERS_VERSION || (size_t)used != len) {
		return false;
	}
	m->beat_ms = beat;
	m->start_ms = start;
	m->received = received;
	if (strcmp(base, "-") == 0) {
		m->base_ms = INT64_MIN;
	} else {
		char *end;
		long long b = strtoll(base, &end, 10);

		if (*end != '\0') {
			return false;
		}
		m->base_ms = b;
	}
	return true;
}

size_t members_parse(const char *text, size_t len, int64_t now_ms,
		     int64_t live_ms, const char *self_id, struct member *out,
		     size_t cap)
{
	size_t pos = 0, n = 0;
	struct texthash_line l;

	while (n < cap && texthash_next(text, len, &pos, &l)) {
		struct member *m = &out[n];

		if (l.field_len >= MEMBERS_ID_MAX ||
		    !parse_value(l.value, l.value_len, m)) {
			continue;
		}
		memcpy(m->id, l.field, l.field_len);
		m->id[l.field_len] = '\0';
		m->self = self_id != NULL && strcmp(m->id, self_id) == 0;
		m->live = now_ms - m->beat_ms <= live_ms;
		n++;
	}
	return n;
}

int64_t members_base(const struct member *m, size_t n, int64_t now_ms,
		     int64_t grace_ms)
{
	int64_t base = INT64_MAX;

	for (size_t i = 0; i < n; i++) {
		if (m[i].self || !m[i].live) {
			continue;
		}
		if (m[i].base_ms == INT64_MIN) {
			if (now_ms - m[i].start_ms < grace_ms) {
				return INT64_MIN;
			}
			continue;
		}
		if (m[i].base_ms < base) {
			base = m[i].base_ms;
		}
	}
	return base;
}

bool members_gone(const struct member *m, int64_t now_ms, int64_t gone_ms)
{
	return !m->self && now_ms - m->beat_ms > gone_ms;
}
