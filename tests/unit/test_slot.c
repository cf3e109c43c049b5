/* SPDX-License-Identifier: MIT */
/* Redis Cluster key slots: the CRC16 of the specification, hash tags as
 * Redis reads them (the spec's own examples), hark's keys of one rule in
 * one slot, and MOVED / ASK replies read or refused. */
#include "core/slot.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/keys.h"

static unsigned slot_s(const char *key)
{
	return slot_of(key, strlen(key));
}

static void test_crc16(void)
{
	/* The specification's check value of CRC16/XMODEM. */
	CHECK_INT(slot_crc16("123456789", 9), 0x31C3);
	CHECK_INT(slot_crc16("", 0), 0);
	/* CLUSTER KEYSLOT answers, from the Redis documentation. */
	CHECK_INT(slot_s("somekey"), 11058);
	CHECK_INT(slot_s("foo{hash_tag}"), 2515);
	CHECK_INT(slot_s("bar{hash_tag}"), 2515);
	CHECK_INT(slot_s("foo"), 12182);
	/* A byte past 0x7f counts as unsigned. */
	CHECK_INT(slot_crc16("\xff", 1), 0x1ef0);
}

static void test_hash_tags(void)
{
	static const struct {
		const char *key;
		const char *hashed;
	} cases[] = {
		{"{user1000}.following", "user1000"},
		{"{user1000}.followers", "user1000"},
		{"foo{}{bar}", "foo{}{bar}"}, /* empty first tag: whole key */
		{"foo{{bar}}zap", "{bar"},    /* from the first '{' */
		{"foo{bar}{zap}", "bar"},     /* only the first tag */
		{"nobrace", "nobrace"},
		{"open{only", "open{only"},
		{"close}only{", "close}only{"},
		{"hark:{brand}:v2:count:1700000000", "brand"},
		{"}{a}", "a"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		const char *t =
			slot_hash_tag(cases[i].key, strlen(cases[i].key), &len);

		CHECK(len == strlen(cases[i].hashed) &&
		      memcmp(t, cases[i].hashed, len) == 0);
		CHECK_INT(slot_s(cases[i].key),
			  slot_crc16(cases[i].hashed, strlen(cases[i].hashed)) %
				  SLOT_COUNT);
	}
	CHECK_INT(slot_s("{user1000}.following"),
		  slot_s("{user1000}.followers"));
	CHECK(slot_s("foo{}{bar}") != slot_s("bar"));
}

/* Every key of a rule in the rule's slot; fleet-wide keys in {fleet}'s. */
static void test_keys_share_slots(void)
{
	char *k[6];
	unsigned rule = slot_s("brand");

	k[0] = keys_count("hark:", "brand", 1700000000000);
	k[1] = keys_count_v1("hark:", "brand", 1700000000000);
	k[2] = keys_points("hark:", "brand", 19000);
	k[3] = keys_state("hark:", "brand");
	k[4] = keys_sent("hark:", "brand", 1700000000000, "firing");
	k[5] = NULL;
	for (int i = 0; k[i] != NULL; i++) {
		CHECK_INT(slot_s(k[i]), rule);
		free(k[i]);
	}
	k[0] = keys_members("x:");
	k[1] = keys_lease("x:", "src");
	k[2] = keys_silences_v2("x:");
	for (int i = 0; i < 3; i++) {
		CHECK_INT(slot_s(k[i]), slot_s("fleet"));
		free(k[i]);
	}
}

static void test_redirects(void)
{
	static const struct {
		const char *err;
		enum slot_redirect kind;
		unsigned slot;
		const char *host;
		int port;
	} cases[] = {
		{"MOVED 3999 127.0.0.1:6381", SLOT_REDIRECT_MOVED, 3999,
		 "127.0.0.1", 6381},
		{"ASK 0 10.0.0.2:7000", SLOT_REDIRECT_ASK, 0, "10.0.0.2", 7000},
		{"MOVED 16383 redis-3.example:6379", SLOT_REDIRECT_MOVED, 16383,
		 "redis-3.example", 6379},
		{"MOVED 12 ::1:7001", SLOT_REDIRECT_MOVED, 12, "::1", 7001},
		{"ASK 12 [::1]:7001", SLOT_REDIRECT_ASK, 12, "::1", 7001},
		{"MOVED 5 :7002", SLOT_REDIRECT_MOVED, 5, "", 7002},
		{"MOVED 16384 127.0.0.1:1", SLOT_REDIRECT_NONE, 0, "", 0},
		{"MOVED x 127.0.0.1:1", SLOT_REDIRECT_NONE, 0, "", 0},
		{"MOVED 1 127.0.0.1", SLOT_REDIRECT_NONE, 0, "", 0},
		{"MOVED 1 127.0.0.1:0", SLOT_REDIRECT_NONE, 0, "", 0},
		{"MOVED 1 127.0.0.1:7000x", SLOT_REDIRECT_NONE, 0, "", 0},
		{"MOVED 1  127.0.0.1:7000", SLOT_REDIRECT_NONE, 0, "", 0},
		{"READONLY You can't write against a read only replica.",
		 SLOT_REDIRECT_NONE, 0, "", 0},
		{"ERR unknown command", SLOT_REDIRECT_NONE, 0, "", 0},
		{"CROSSSLOT Keys in request don't hash to the same slot",
		 SLOT_REDIRECT_NONE, 0, "", 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned slot = 99999;
		char host[64] = "unset";
		int port = -1;
		enum slot_redirect kind =
			slot_redirect_parse(cases[i].err, strlen(cases[i].err),
					    &slot, host, sizeof(host), &port);

		if (kind != cases[i].kind) {
			fprintf(stderr, "case %zu: %s\n", i, cases[i].err);
		}
		CHECK_INT(kind, cases[i].kind);
		if (cases[i].kind == SLOT_REDIRECT_NONE) {
			continue;
		}
		CHECK_INT(slot, cases[i].slot);
		CHECK_STR(host, cases[i].host);
		CHECK_INT(port, cases[i].port);
	}
	/* Not terminated where len ends; a host too long for the buffer. */
	{
		unsigned slot;
		char host[8];
		int port;

		CHECK_INT(slot_redirect_parse("ASK 7 1.2.3.4:99zzz", 16, &slot,
					      host, sizeof(host), &port),
			  SLOT_REDIRECT_ASK);
		CHECK_INT(port, 99);
		CHECK_INT(slot_redirect_parse("ASK 7 longhostname:99", 21,
					      &slot, host, sizeof(host), &port),
			  SLOT_REDIRECT_NONE);
	}
}

int main(void)
{
	test_crc16();
	test_hash_tags();
	test_keys_share_slots();
	test_redirects();
	return check_done();
}
