/* SPDX-License-Identifier: MIT */
/*
 * The nesting pre-scan: the limit exactly, brackets that do not count
 * (inside strings, after escapes), a 100,000-deep line, and the work
 * counted in bytes looked at (linear, and stopping early when too deep).
 */
#include "core/jsondepth.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util/xalloc.h"

static const struct {
	const char *in;
	unsigned max;
	bool ok;
} cases[] = {
	{"", 64, true},
	{"{}", 1, true},
	{"[[]]", 1, false},
	{"{\"a\":{\"b\":[1]}}", 3, true},
	{"{\"a\":{\"b\":[1]}}", 2, false},
	/* brackets inside strings are text */
	{"{\"t\":\"[[[[{{{{\"}", 1, true},
	/* an escaped quote does not end the string... */
	{"{\"t\":\"\\\"[[[\"}", 1, true},
	/* ...but an escaped backslash does not escape the quote after it */
	{"{\"t\":\"\\\\\",\"u\":[[]]}", 2, false},
	{"{\"t\":\"\\\\\",\"u\":[[]]}", 3, true},
	/* closes never take the depth below zero: "]]][[" is two deep */
	{"]]][[", 2, true},
	{"]]][[[", 2, false},
	/* siblings do not add up */
	{"[[],[],[],[]]", 2, true},
};

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *in = cases[i].in;
		size_t steps = 0;
		bool ok = jsondepth_ok(in, strlen(in), cases[i].max, &steps);

		if (ok != cases[i].ok) {
			fprintf(stderr, "case %zu: \"%s\" max %u\n", i, in,
				cases[i].max);
		}
		CHECK(ok == cases[i].ok);
		CHECK(steps <= strlen(in));
	}
}

/* n '[' then n ']' inside {"text":"x","a":…}: depth n + 1. */
static const char prefix[] = "{\"text\":\"x\",\"a\":";

static char *nested(size_t n, size_t *len)
{
	size_t pre = sizeof(prefix) - 1;
	char *s;

	*len = pre + 2 * n + 1;
	s = xmalloc(*len);
	memcpy(s, prefix, pre);
	for (size_t i = 0; i < n; i++) {
		s[pre + i] = '[';
		s[pre + n + i] = ']';
	}
	s[*len - 1] = '}';
	return s;
}

static void test_limit(void)
{
	size_t len, steps;
	char *s;

	s = nested(63, &len);
	CHECK(jsondepth_ok(s, len, JSONDEPTH_MAX, &steps));
	CHECK_INT(steps, len);
	free(s);
	s = nested(64, &len);
	CHECK(!jsondepth_ok(s, len, JSONDEPTH_MAX, &steps));
	/* stopped at the 65th open bracket, the rest never read */
	CHECK_INT(steps, sizeof(prefix) - 1 + 64);
	free(s);
}

static void test_deep(void)
{
	size_t len, steps;
	char *s = nested(100000, &len);

	CHECK(!jsondepth_ok(s, len, JSONDEPTH_MAX, &steps));
	CHECK(steps < 100);
	/* the same bytes hidden in a string are read once each */
	s[0] = '"';
	memset(s + 1, '[', len - 2);
	s[len - 1] = '"';
	CHECK(jsondepth_ok(s, len, JSONDEPTH_MAX, &steps));
	CHECK_INT(steps, len);
	free(s);
}

/* Bytes looked at grow with the input, one per byte, whatever the mix of
 * strings, escapes and brackets: work per byte is constant. */
static void test_linear(void)
{
	static const char unit[] = "{\"k\":\"[\\\"]\\\\\",\"v\":[1,{}]},";
	size_t ulen = strlen(unit);

	for (size_t reps = 1; reps <= 4096; reps *= 8) {
		size_t len = reps * ulen + 2;
		char *s = xmalloc(len);
		size_t steps = 0;

		s[0] = '[';
		for (size_t i = 0; i < reps; i++) {
			memcpy(s + 1 + i * ulen, unit, ulen);
		}
		s[len - 2] = '0';
		s[len - 1] = ']';
		CHECK(jsondepth_ok(s, len, 4, &steps));
		CHECK_INT(steps, len);
		free(s);
	}
}

int main(void)
{
	test_cases();
	test_limit();
	test_deep();
	test_linear();
	return check_done();
}
