/* SPDX-License-Identifier: MIT */
/*
 * Tests for core/fold and core/match: token form of folded text (case,
 * accents, compatibility forms, separators, CJK) and rule matching on word
 * boundaries. Each table row names its case in any failure.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "check.h"
#include "core/fold.h"
#include "core/match.h"
#include "util/buf.h"

static const struct {
	const char *name;
	const char *in;
	const char *want;
} fold_cases[] = {
	{"empty", "", " "},
	{"only punctuation", "!?, ...", " "},
	{"accent", "Café", " cafe "},
	{"upper", "STRASSE", " strasse "},
	{"sharp s", "Straße", " strasse "},
	{"full-width", "ＢｌａＢｌａ", " blabla "},
	{"NFD accent", "e\xcc\x81", " e "},
	{"NFD inside word", "re\xcc\x81servation", " reservation "},
	{"hyphens", "bla-bla-car", " bla bla car "},
	{"apostrophe", "l'appli", " l appli "},
	{"spaces collapse", "  a \t\n b  ", " a b "},
	{"emoji separate",
	 "bla\xf0\x9f\x98\x80"
	 "car\xe2\x9d\xa4\xef\xb8\x8f!",
	 " bla car "},
	{"japanese", "東京タワー", " 東 京 タ ワ ー "},
	{"cjk between latin", "abc東京def", " abc 東 京 def "},
	{"hangul", "한국어", " 한 국 어 "},
	{"kana keeps dakuten", "ガス", " ガ ス "},
	{"half-width katakana", "ｶﾀｶﾅ", " カ タ カ ナ "},
	{"ligature", "ﬁne", " fine "},
	{"parenthesized digit", "a⑴b", " a 1 b "},
	{"superscript", "x²", " x2 "},
	{"underscore is a word char", "snake_case", " snake_case "},
	{"digits", "Route 66", " route 66 "},
	{"hash and at", "#BlaBlaCar @x", " blablacar x "},
	{"greek final sigma", "ΟΔΟΣ", " οδοσ "},
	{"cyrillic", "Москва", " москва "},
	{"turkish dotted I", "İstanbul", " istanbul "},
	{"soft hyphen ignorable",
	 "bla\xc2\xad"
	 "bla",
	 " blabla "},
	{"zero-width joiner ignorable",
	 "a\xe2\x80\x8d"
	 "b",
	 " ab "},
	{"nbsp separates",
	 "a\xc2\xa0"
	 "b",
	 " a b "},
	{"invalid utf-8 separates",
	 "ab\xff"
	 "cd\xc3",
	 " ab cd "},
	{"overlong separates",
	 "a\xc0\xaf"
	 "b",
	 " a b "},
	{"surrogate bytes separate",
	 "a\xed\xa0\x80"
	 "b",
	 " a b "},
	{"han ext. G",
	 "a\xf0\xb0\x80\x80"
	 "b",
	 " a \xf0\xb0\x80\x80 b "},
	{"private use separates",
	 "a\xf3\xb0\x80\x80"
	 "b",
	 " a b "},
	{"tag chars ignorable",
	 "a\xf3\xa0\x80\xa1"
	 "b",
	 " ab "},
	{"long ascii run",
	 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
	 "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
	 " abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
	 "abcdefghijklmnopqrstuvwxyz "},
};

static void test_fold_table(const struct fold *f)
{
	struct buf out;
	size_t i;

	buf_init(&out, 4096);
	for (i = 0; i < sizeof(fold_cases) / sizeof(fold_cases[0]); i++) {
		CHECK_INT(fold_text(f, fold_cases[i].in,
				    strlen(fold_cases[i].in), &out),
			  0);
		if (strcmp(out.data, fold_cases[i].want) != 0) {
			fprintf(stderr, "fold case \"%s\": got \"%s\"\n",
				fold_cases[i].name, out.data);
		}
		CHECK_STR(out.data, fold_cases[i].want);
	}
	buf_fini(&out);
}

static void test_fold_cap(const struct fold *f)
{
	struct buf out;

	buf_init(&out, 9);
	CHECK_INT(fold_text(f, "abc def", 7, &out), 0);
	CHECK_STR(out.data, " abc def ");
	CHECK_INT(out.len, 9);
	/* No room for the closing space: a prefix and -1. */
	CHECK_INT(fold_text(f, "abc defg", 8, &out), -1);
	CHECK(out.len <= 9);
	CHECK(strncmp(out.data, " abc defg", out.len) == 0);
	/* ß folds to two bytes: the cap counts output, not input. */
	CHECK_INT(fold_text(f, "ßßßß", 8, &out), -1);
	CHECK_INT(fold_text(f, "ßßß", 6, &out), 0);
	CHECK_STR(out.data, " ssssss ");
	buf_fini(&out);
}

static bool all_plain_word_chars(const utf8proc_uint8_t *s)
{
	utf8proc_int32_t c;
	utf8proc_ssize_t n;
	utf8proc_category_t cat;

	if (*s == '\0') {
		return false;
	}
	while (*s != '\0') {
		n = utf8proc_iterate(s, -1, &c);
		if (n <= 0) {
			return false;
		}
		cat = utf8proc_category(c);
		if (!((cat >= UTF8PROC_CATEGORY_LU &&
		       cat <= UTF8PROC_CATEGORY_LO) ||
		      (cat >= UTF8PROC_CATEGORY_ND &&
		       cat <= UTF8PROC_CATEGORY_NO) ||
		      c == '_') ||
		    (c >= 0x3040 && c <= 0x30FF) ||
		    (c >= 0x3400 && c <= 0x9FFF) ||
		    (c >= 0xAC00 && c <= 0xD7A3) ||
		    (c >= 0xF900 && c <= 0xFAFF) ||
		    (c >= 0x1B000 && c <= 0x1B16F) || c >= 0x20000) {
			return false;
		}
		s += n;
	}
	return true;
}

static bool single_han(const utf8proc_uint8_t *s)
{
	utf8proc_int32_t c;
	utf8proc_ssize_t n;

	if (*s == '\0') {
		return false;
	}
	n = utf8proc_iterate(s, -1, &c);
	return n > 0 && s[n] == '\0' &&
	       ((c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x20000 && c <= 0x2FFFF));
}

/*
 * Cross-checks the table against utf8proc_map for every code point whose
 * folded form is a plain word or one Han ideograph: fold_text must give
 * exactly " <mapped> ". Catches an off-by-one in the pool or a wrong flag.
 */
static void test_fold_vs_utf8proc(const struct fold *f)
{
	struct buf out;
	utf8proc_uint8_t u[8], *mapped;
	utf8proc_ssize_t n;
	int32_t c;
	size_t compared = 0, bad = 0;
	char want[128];

	buf_init(&out, 4096);
	for (c = 0; c < 0x30000; c++) {
		/* Kana keep their voicing marks; dotless ı folds to i on
		 * purpose (checked in test_turkish). */
		if ((c >= 0xD800 && c <= 0xDFFF) ||
		    (c >= 0x3040 && c <= 0x30FF) ||
		    (c >= 0x31F0 && c <= 0x31FF) ||
		    (c >= 0xFF66 && c <= 0xFF9D)) {
			continue;
		}
		n = utf8proc_encode_char(c, u);
		u[n] = '\0';
		if (utf8proc_map(u, 0, &mapped,
				 UTF8PROC_NULLTERM | UTF8PROC_STABLE |
					 UTF8PROC_COMPAT | UTF8PROC_COMPOSE |
					 UTF8PROC_CASEFOLD | UTF8PROC_IGNORE |
					 UTF8PROC_STRIPMARK) < 0) {
			continue;
		}
		if ((all_plain_word_chars(mapped) || single_han(mapped)) &&
		    strstr((char *)mapped, "\xc4\xb1") == NULL &&
		    strlen((char *)mapped) + 3 < sizeof(want)) {
			snprintf(want, sizeof(want), " %s ", (char *)mapped);
			compared++;
			if (fold_text(f, (char *)u, (size_t)n, &out) < 0 ||
			    strcmp(out.data, want) != 0) {
				if (bad++ < 5) {
					fprintf(stderr,
						"U+%04X: got \"%s\" want "
						"\"%s\"\n",
						(unsigned)c, out.data, want);
				}
			}
		}
		free(mapped);
	}
	CHECK(compared > 100000);
	CHECK_INT(bad, 0);
	buf_fini(&out);
}

/* Turkish: İ, I, ı and i all meet, so "IŞIK", "ışık" and "isik" match. */
static void test_turkish(const struct fold *f)
{
	static const char *const same[] = {"IŞIK", "ışık", "Işık", "isik",
					   "İŞİK"};
	struct buf out;

	buf_init(&out, 256);
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		if (fold_text(f, same[i], strlen(same[i]), &out) < 0) {
			CHECK(0);
			continue;
		}
		CHECK_STR(out.data, " isik ");
	}
	buf_fini(&out);
}

static size_t match_text(struct matcher *m, const char *text, uint32_t *out,
			 size_t cap)
{
	struct match_input in = {.text = text, .len = strlen(text)};

	return matcher_match(m, &in, out, cap);
}

struct match_case {
	const char *name;
	const char *terms[4]; /* NULL-terminated */
	const char *text;
	bool want;
};

static const struct match_case match_cases[] = {
	{"word", {"blablacar"}, "I love blablacar", true},
	{"not a prefix", {"blablacar"}, "a blablacarpet", false},
	{"not a suffix", {"blablacar"}, "myblablacar", false},
	{"case and punctuation", {"blablacar"}, "BlaBlaCar!", true},
	{"hashtag in text", {"blablacar"}, "go #blablacar", true},
	{"mention in text", {"blablacar"}, "thanks @BlaBlaCar.", true},
	{"accent in text", {"blablacar"}, "blablácar rocks", true},
	{"hash term, bare text", {"#blablacar"}, "blablacar", true},
	{"at term, hashtag text", {"@blablacar"}, "#BlaBlaCar", true},
	{"phrase", {"bla bla car"}, "Bla-Bla Car is late", true},
	{"phrase needs all words", {"bla bla car"}, "bla car", false},
	{"phrase word boundary", {"bla bla car"}, "bla bla cargo", false},
	{"accent in term", {"réservation"}, "ma reservation", true},
	{"accent in text only", {"reservation"}, "ma RÉSERVATION", true},
	{"any term", {"foo", "blablacar"}, "blablacar!", true},
	{"no term", {"foo", "bar"}, "blablacar", false},
	{"start of text", {"bla"}, "bla", true},
	{"cjk term", {"東京"}, "東京タワー", true},
	{"cjk no partial", {"東京都"}, "東京タワー", false},
	{"full-width text", {"blabla"}, "ＢｌａＢｌａ", true},
	{"sharp s", {"strasse"}, "Hauptstraße", false},
	{"sharp s word", {"straße"}, "die STRASSE", true},
	{"empty text", {"a"}, "", false},
	{"emoji term",
	 {"\xf0\x9f\x9a\x97"},
	 "voiture\xf0\x9f\x9a\x97vroom",
	 true},
	{"emoji term, other emoji",
	 {"\xf0\x9f\x9a\x97"},
	 "\xf0\x9f\x9a\x95",
	 false},
	{"emoji term, skin tone in text",
	 {"\xf0\x9f\x91\x8d"},
	 "top \xf0\x9f\x91\x8d\xf0\x9f\x8f\xbf",
	 true},
	{"emoji term with variation selector",
	 {"\xe2\x9d\xa4\xef\xb8\x8f"},
	 "j'\xe2\x9d\xa4 blablacar",
	 true},
	{"word and emoji phrase",
	 {"blablacar \xf0\x9f\x9a\x97"},
	 "#BlaBlaCar\xf0\x9f\x9a\x97!",
	 true},
};

static void test_match_table(const struct fold *f)
{
	struct matcher *m;
	uint32_t out[4];
	size_t i, n_terms, got;
	char err[128];

	for (i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		m = matcher_new(f);
		for (n_terms = 0; match_cases[i].terms[n_terms] != NULL;
		     n_terms++) {
		}
		CHECK_INT(matcher_add_rule(m, 0, match_cases[i].terms, n_terms,
					   err, sizeof(err)),
			  0);
		got = match_text(m, match_cases[i].text, out, 4);
		if (got != (match_cases[i].want ? 1u : 0u)) {
			fprintf(stderr, "match case \"%s\": got %zu rules\n",
				match_cases[i].name, got);
		}
		CHECK_INT(got, match_cases[i].want ? 1 : 0);
		if (got == 1) {
			CHECK_INT(out[0], 0);
		}
		matcher_free(m);
	}
}

static void test_match_rules(const struct fold *f)
{
	static const char *const r0[] = {"alpha"};
	static const char *const r1[] = {"beta", "#beta", "@Beta", "BÉTA"};
	static const char *const r2[] = {"gamma ray"};
	static const char *const r3[] = {"delta"};
	static const char *const bad[] = {"ok", "#!?"};
	static const char *const empty[] = {""};
	struct matcher *m = matcher_new(f);
	uint32_t out[4];
	char err[128];
	const char *text = "delta, then BETA and a Gamma-Ray; alpha";

	CHECK_INT(matcher_add_rule(m, 0, r0, 1, err, sizeof(err)), 0);
	CHECK_INT(matcher_add_rule(m, 1, r1, 4, err, sizeof(err)), 0);
	CHECK_INT(matcher_add_rule(m, 2, r2, 1, err, sizeof(err)), 0);
	CHECK_INT(matcher_add_rule(m, 3, r3, 1, err, sizeof(err)), 0);
	CHECK_INT(match_text(m, text, out, 4), 4);
	CHECK_INT(out[0], 0);
	CHECK_INT(out[1], 1);
	CHECK_INT(out[2], 2);
	CHECK_INT(out[3], 3);
	/* The cap bounds what is written. */
	CHECK_INT(match_text(m, text, out, 2), 2);
	CHECK_INT(out[1], 1);
	CHECK_INT(match_text(m, "beta delta", out, 4), 2);
	CHECK_INT(out[0], 1);
	CHECK_INT(out[1], 3);
	CHECK_INT(match_text(m, "nothing here", out, 4), 0);

	CHECK_INT(matcher_add_rule(m, 4, bad, 2, err, sizeof(err)), -1);
	CHECK_STR(err, "term \"#!?\" has no letters or digits");
	CHECK_INT(matcher_add_rule(m, 4, empty, 1, err, sizeof(err)), -1);
	CHECK_STR(err, "term \"\" has no letters or digits");
	CHECK_INT(matcher_add_rule(m, 4, r0, 0, err, sizeof(err)), -1);
	CHECK_STR(err, "rule has no terms");
	CHECK_INT(matcher_add_rule(m, 3, r0, 1, err, sizeof(err)), -1);
	CHECK_STR(err, "rule 3 added after rule 3");
	/* Failed adds leave the matcher as it was. */
	CHECK_INT(match_text(m, text, out, 4), 4);
	matcher_free(m);
}

int main(void)
{
	struct fold *f = fold_new();

	test_fold_table(f);
	test_fold_cap(f);
	test_fold_vs_utf8proc(f);
	test_turkish(f);
	test_match_table(f);
	test_match_rules(f);
	fold_free(f);
	return check_done();
}
