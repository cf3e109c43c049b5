/* SPDX-License-Identifier: MIT */
/* The exact term count: counts, order first seen, growth, the cap. */
#include "core/termcount.h"

#include <stdio.h>
#include <string.h>

#include "check.h"
#include "core/terms.h"

static void add(struct termcount *c, const char *w)
{
	termcount_add(c, w, strlen(w), terms_hash(w, strlen(w)));
}

int main(void)
{
	struct termcount *c = termcount_new();
	char w[32];

	add(c, "panne");
	add(c, "trajet");
	add(c, "panne");
	add(c, "");
	CHECK_INT(termcount_n(c), 2);
	CHECK_STR(termcount_name(c, 0), "panne");
	CHECK_INT(termcount_count(c, 0), 2);
	CHECK_INT(termcount_count(c, 1), 1);
	CHECK_INT(termcount_name_bytes(c), 13);
	CHECK(!termcount_cut(c));
	/* past the cap: the new ones left out, the known still counted */
	for (int i = 0; i < TERMCOUNT_MAX + 10; i++) {
		snprintf(w, sizeof(w), "w%d", i);
		add(c, w);
	}
	CHECK_INT(termcount_n(c), TERMCOUNT_MAX);
	CHECK(termcount_cut(c));
	add(c, "panne");
	CHECK_INT(termcount_count(c, 0), 3);
	CHECK_STR(termcount_name(c, 2), "w0");
	CHECK_STR(termcount_name(c, TERMCOUNT_MAX - 1), "w65533");
	termcount_free(c);
	termcount_free(NULL);
	return check_done();
}
