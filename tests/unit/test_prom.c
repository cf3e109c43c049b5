/* SPDX-License-Identifier: MIT */
/*
 * prom: label value and HELP escaping per the text exposition format,
 * invalid UTF-8 replaced, whole sample lines however long the names, and
 * a page over its cap that ends at a whole line.
 */
#include "core/prom.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"

struct esc_case {
	enum prom_escape mode;
	const char *in;
	const char *out;
};

static const struct esc_case esc_cases[] = {
	{PROM_LABEL_VALUE, "", ""},
	{PROM_LABEL_VALUE, "plain-name_1.x", "plain-name_1.x"},
	{PROM_LABEL_VALUE, "say \"hi\"", "say \\\"hi\\\""},
	{PROM_LABEL_VALUE, "C:\\path\\", "C:\\\\path\\\\"},
	{PROM_LABEL_VALUE, "two\nlines\n", "two\\nlines\\n"},
	{PROM_LABEL_VALUE, "\\n is not a newline", "\\\\n is not a newline"},
	{PROM_LABEL_VALUE, "\"\\\n", "\\\"\\\\\\n"},
	{PROM_LABEL_VALUE, "tab\tand cr\r stay", "tab\tand cr\r stay"},
	{PROM_LABEL_VALUE, "curly {a=\"b\"}, comma",
	 "curly {a=\\\"b\\\"}, comma"},
	{PROM_LABEL_VALUE, "café ☕ 𝄞", "café ☕ 𝄞"},
	/* a lone continuation byte, a truncated sequence, a surrogate */
	{PROM_LABEL_VALUE, "a\x80z", "a\xEF\xBF\xBDz"},
	{PROM_LABEL_VALUE, "end\xE2\x82", "end\xEF\xBF\xBD\xEF\xBF\xBD"},
	{PROM_LABEL_VALUE, "\xED\xA0\x80",
	 "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
	{PROM_HELP, "Lines \"received\".", "Lines \"received\"."},
	{PROM_HELP, "a\\b\nc", "a\\\\b\\nc"},
	{PROM_HELP, "bad \xFF byte", "bad \xEF\xBF\xBD byte"},
};

static void test_escape(void)
{
	for (size_t i = 0; i < sizeof(esc_cases) / sizeof(esc_cases[0]); i++) {
		const struct esc_case *ec = &esc_cases[i];
		struct buf b;

		buf_init(&b, 1024);
		CHECK_INT(prom_escape(&b, ec->in, ec->mode), 0);
		if (strcmp(b.data != NULL ? b.data : "", ec->out) != 0) {
			check_failed++;
			fprintf(stderr, "escape case %zu: \"%s\" -> \"%s\"\n",
				i, ec->in, b.data != NULL ? b.data : "");
		} else {
			check_passed++;
		}
		buf_fini(&b);
	}
}

static void test_page(void)
{
	static const struct prom_label two[] = {
		{"receiver", "ops \"team\"\\x\n"},
		{"result", "sent"},
	};
	struct prom_label one = {"source", "s"};
	struct prom_page p;
	struct buf b;

	buf_init(&b, 4096);
	prom_page_init(&p, &b);
	prom_family(&p, "hark_x_total", "counter", "Say \"x\" \\ then\nmore.");
	prom_sample(&p, "hark_x_total", NULL, 0, "%llu",
		    18446744073709551615ULL);
	prom_sample(&p, "hark_y_total", two, 2, "%d", 3);
	prom_sample(&p, "hark_z", &one, 1, "%.3f", 1.5);
	CHECK(!p.cut);
	CHECK_STR(b.data, "# HELP hark_x_total Say \"x\" \\\\ then\\nmore.\n"
			  "# TYPE hark_x_total counter\n"
			  "hark_x_total 18446744073709551615\n"
			  "hark_y_total{receiver=\"ops \\\"team\\\"\\\\x\\n\","
			  "result=\"sent\"} 3\n"
			  "hark_z{source=\"s\"} 1.500\n");
	buf_reset(&b);
	/* a value longer than the stack buffer */
	prom_sample(&p, "big", NULL, 0, "%.1f", 1e100);
	CHECK(b.data != NULL && strlen(b.data) == strlen("big \n") + 103);
	CHECK(b.data != NULL && b.data[b.len - 1] == '\n');
	buf_fini(&b);
}

/* A 100 KiB name comes out whole, escaped, on one line. */
static void test_long_name(void)
{
	const size_t n = 100 * 1024;
	char *name = malloc(n + 1);
	struct prom_label l = {"rule", name};
	struct prom_page p;
	struct buf b;

	for (size_t i = 0; i < n; i++) {
		name[i] = i % 100 == 99 ? '"' : 'a';
	}
	name[n] = '\0';
	buf_init(&b, 1 << 20);
	prom_page_init(&p, &b);
	prom_sample(&p, "m", &l, 1, "%d", 7);
	CHECK(!p.cut);
	CHECK_INT(b.len, strlen("m{rule=\"\"} 7\n") + n + n / 100);
	CHECK(b.data != NULL && strncmp(b.data, "m{rule=\"aa", 10) == 0);
	CHECK(b.data != NULL && strcmp(b.data + b.len - 7, "\\\"\"} 7\n") == 0);
	CHECK(b.data != NULL && strchr(b.data, '\n') == b.data + b.len - 1);
	buf_fini(&b);
	free(name);
}

/* Over the cap the page ends after the last whole line, and stays so. */
static void test_cut(void)
{
	struct prom_label l = {"rule", "0123456789"};
	struct prom_page p;
	struct buf b;
	size_t before;
	char help[20];

	buf_init(&b, 80);
	prom_page_init(&p, &b);
	prom_sample(&p, "m", &l, 1, "%d", 1); /* 23 bytes */
	prom_sample(&p, "m", &l, 1, "%d", 2);
	prom_sample(&p, "m", &l, 1, "%d", 3);
	CHECK(!p.cut);
	before = b.len;
	CHECK_INT(before, 69);
	prom_sample(&p, "m", &l, 1, "%d", 4);
	CHECK(p.cut);
	CHECK_INT(b.len, before);
	CHECK_INT(b.data[b.len], '\0');
	/* a shorter line that would fit is not appended after a cut */
	prom_sample(&p, "m", NULL, 0, "%d", 5);
	prom_family(&p, "m", "gauge", "h");
	CHECK_INT(b.len, before);
	CHECK_STR(b.data, "m{rule=\"0123456789\"} 1\nm{rule=\"0123456789\"} 2\n"
			  "m{rule=\"0123456789\"} 3\n");
	buf_fini(&b);

	/* a HELP line cut in its escaped text leaves nothing of it */
	memset(help, '\\', sizeof(help) - 1);
	help[sizeof(help) - 1] = '\0';
	buf_init(&b, 30);
	prom_page_init(&p, &b);
	prom_family(&p, "m", "gauge", help);
	CHECK(p.cut);
	CHECK_INT(b.len, 0);
	buf_fini(&b);
}

int main(void)
{
	test_escape();
	test_page();
	test_long_name();
	test_cut();
	return check_done();
}
