/* SPDX-License-Identifier: MIT */
/* A fleet's members: entries written and read back, who is live, how far
 * the others have gone, the grace of a member that just started, entries
 * of another format skipped. */
#include "core/members.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

static void test_roundtrip(void)
{
	char v[128], text[512];
	struct member m[4];
	size_t n;

	members_format(v, sizeof(v), 10000, 5000, 7, 900);
	CHECK_STR(v, "1 10000 5000 7 900");
	n = (size_t)snprintf(text, sizeof(text), "a/1/1 %s\n", v);
	members_format(v, sizeof(v), 9000, INT64_MIN, 0, 8000);
	CHECK_STR(v, "1 9000 - 0 8000");
	n += (size_t)snprintf(text + n, sizeof(text) - n, "b/2/2 %s\n", v);
	/* another format, a future version, junk: skipped */
	n += (size_t)snprintf(text + n, sizeof(text) - n,
			      "c/3/3 2 1 2 3 4\nd/4/4 1 x - 0 0\ne\n");
	CHECK_INT(members_parse(text, n, 12000, 2500, "b/2/2", m, 4), 2);
	CHECK_STR(m[0].id, "a/1/1");
	CHECK_INT(m[0].beat_ms, 10000);
	CHECK_INT(m[0].base_ms, 5000);
	CHECK_INT(m[0].received, 7);
	CHECK_INT(m[0].start_ms, 900);
	CHECK(m[0].live && !m[0].self);
	CHECK(m[1].self && !m[1].live); /* 3 s old, 2.5 s allowed */
	CHECK_INT(m[1].base_ms, INT64_MIN);
	/* cap */
	CHECK_INT(members_parse(text, n, 12000, 2500, NULL, m, 1), 1);
}

static struct member mk(const char *id, int64_t base, bool live, bool self,
			int64_t start)
{
	struct member m;

	memset(&m, 0, sizeof(m));
	snprintf(m.id, sizeof(m.id), "%s", id);
	m.base_ms = base;
	m.live = live;
	m.self = self;
	m.start_ms = start;
	return m;
}

static void test_base(void)
{
	struct member m[5];

	m[0] = mk("me", 100, true, true, 0);
	CHECK_INT(members_base(m, 1, 50000, 5000), INT64_MAX);
	m[1] = mk("a", 700, true, false, 0);
	m[2] = mk("b", 400, true, false, 0);
	m[3] = mk("dead", 10, false, false, 0);
	CHECK_INT(members_base(m, 4, 50000, 5000), 400);
	/* no event yet: nothing held back once its grace is over... */
	m[4] = mk("idle", INT64_MIN, true, false, 40000);
	CHECK_INT(members_base(m, 5, 50000, 5000), 400);
	/* ...everything while it may be counting its first ones */
	CHECK_INT(members_base(m, 5, 44000, 5000), INT64_MIN);
	m[4].live = false;
	CHECK_INT(members_base(m, 5, 44000, 5000), 400);
	CHECK(members_gone(&m[3], 3700000, 3600000));
	CHECK(!members_gone(&m[0], 3700000, 3600000)); /* never self */
}

int main(void)
{
	test_roundtrip();
	test_base();
	return check_done();
}
