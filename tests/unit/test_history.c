/* SPDX-License-Identifier: MIT */
/* Alert history: ring order and cap, filters, JSON round trip. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/history.h"

static void entry(struct history_entry *e, int i, const char *rule,
		  const char *status, const char *silence)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "id%d", i);
	e->rule = (char *)rule;
	snprintf(e->status, sizeof(e->status), "%s", status);
	e->window_start_ms = 1763900000000LL + i * 300000LL;
	e->window_end_ms = e->window_start_ms + 300000;
	e->count = 10 + i;
	e->baseline = 2.5;
	e->ratio = 4.0;
	e->score = 7.25;
	e->at_ms = e->window_end_ms + 1000;
	e->silenced_by = (char *)silence;
}

int main(void)
{
	struct history h, back;
	struct history_entry e;
	struct history_filter f = {NULL, NULL, INT64_MIN, 0};
	char *a, *b;

	history_init(&h);
	history_init(&back);
	for (int i = 0; i < HISTORY_MAX + 5; i++) {
		entry(&e, i, i % 2 ? "brand" : "app",
		      i % 3 ? "firing" : "resolved",
		      i == HISTORY_MAX + 4 ? "s1" : NULL);
		e.escalation = i == HISTORY_MAX + 1;
		history_add(&h, &e);
	}
	CHECK_INT(h.n, HISTORY_MAX);
	a = history_encode(&h, &f);
	/* newest first; the five oldest were dropped */
	CHECK(strncmp(a, "{\"alerts\":[{\"id\":\"id1004\"", 25) == 0);
	CHECK(strstr(a, "\"id\":\"id4\"") == NULL);
	CHECK(strstr(a, "\"id\":\"id5\"") != NULL);
	/* an escalation says so, and only it */
	CHECK(strstr(a, "\"id\":\"id1001\",\"rule\":\"brand\",\"status\":"
			"\"firing\"") != NULL);
	CHECK(strstr(a, "\"escalation\":true") != NULL);
	CHECK(strstr(strstr(a, "\"escalation\":true") + 1,
		     "\"escalation\":true") == NULL);
	CHECK_INT(history_decode(&back, a, strlen(a)), 0);
	b = history_encode(&back, &f);
	CHECK_STR(a, b);
	free(a);
	free(b);

	f.rule = "brand";
	f.status = "firing";
	f.limit = 3;
	a = history_encode(&h, &f);
	CHECK(strstr(a, "\"rule\":\"app\"") == NULL);
	CHECK(strstr(a, "\"status\":\"resolved\"") == NULL);
	CHECK(strstr(a, "id1003") != NULL);
	CHECK(strstr(a, "id1001") != NULL);
	CHECK(strstr(a, "id997") != NULL);
	CHECK(strstr(a, "id995") == NULL); /* limit 3 */
	free(a);

	f.rule = NULL;
	f.status = "silenced";
	f.limit = 0;
	a = history_encode(&h, &f);
	CHECK(strstr(a, "\"silence_id\":\"s1\"") != NULL);
	CHECK(strstr(a, "id1003") == NULL);
	free(a);

	f.status = NULL;
	f.since_ms = 1763900000000LL + 1000 * 300000LL;
	a = history_encode(&h, &f);
	CHECK(strstr(a, "id1000") != NULL);
	CHECK(strstr(a, "id998") == NULL);
	free(a);

	CHECK_INT(history_decode(&back, "{\"alerts\":[{\"id\":3}]}", 21), -1);
	CHECK_INT(back.n, HISTORY_MAX);
	history_fini(&h);
	history_fini(&back);
	return check_done();
}
