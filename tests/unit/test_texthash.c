/* SPDX-License-Identifier: MIT */
/* The text form of a small hash: entries read back, replaced, removed; lines
 * hark never writes skipped; what can be stored. */
#include "core/texthash.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"

static void test_put_and_read(void)
{
	size_t len, pos = 0;
	char *a = texthash_put("", 0, "n1", "v 1", &len);
	char *b, *c, *d;
	struct texthash_line l;

	CHECK_STR(a, "n1 v 1\n");
	CHECK_INT(len, 7);
	b = texthash_put(a, len, "n2", "", &len);
	CHECK_STR(b, "n1 v 1\nn2 \n");
	c = texthash_put(b, len, "n1", "w", &len);
	CHECK_STR(c, "n2 \nn1 w\n");
	d = texthash_put(c, len, "n2", NULL, &len);
	CHECK_STR(d, "n1 w\n");
	CHECK(texthash_next(c, strlen(c), &pos, &l));
	CHECK(l.field_len == 2 && memcmp(l.field, "n2", 2) == 0);
	CHECK_INT(l.value_len, 0);
	CHECK(texthash_next(c, strlen(c), &pos, &l));
	CHECK(l.value_len == 1 && l.value[0] == 'w');
	CHECK(!texthash_next(c, strlen(c), &pos, &l));
	free(a);
	free(b);
	free(c);
	free(d);
}

static void test_odd_lines(void)
{
	/* no blank, a leading blank, no final newline */
	static const char t[] = "junk\n x\nf v";
	size_t pos = 0, len;
	struct texthash_line l;
	char *u;

	CHECK(texthash_next(t, strlen(t), &pos, &l));
	CHECK(l.field_len == 1 && l.field[0] == 'f' && l.value_len == 1);
	CHECK(!texthash_next(t, strlen(t), &pos, &l));
	u = texthash_put(t, strlen(t), "g", "1", &len);
	CHECK_STR(u, "f v\ng 1\n");
	free(u);
	CHECK(texthash_valid("a/1", "x y"));
	CHECK(!texthash_valid("", "x"));
	CHECK(!texthash_valid("a b", "x"));
	CHECK(!texthash_valid("a\nb", NULL));
	CHECK(!texthash_valid("a", "x\ny"));
}

int main(void)
{
	test_put_and_read();
	test_odd_lines();
	return check_done();
}
