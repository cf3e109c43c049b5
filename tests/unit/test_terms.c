/* SPDX-License-Identifier: MIT */
/*
 * The hashtags terms_of finds in a mention's text: where a tag may start
 * and end, how it is folded, what is not one (a word's middle, a URL's
 * fragment, an HTML entity, a number), and the caps. The terms themselves
 * are tested in test_window.c, against the steps they are built from.
 */
#include "core/terms.h"

#include <stdio.h>
#include <string.h>

#include "check.h"
#include "core/fold.h"
#include "util/buf.h"

/* The hashtags of text as "#a #b" (in the order found), into out. */
static const char *tags_of(const struct fold *f, struct terms_scratch *ts,
			   const char *text, char *out, size_t cap)
{
	size_t o = 0;

	terms_of(ts, f, text, strlen(text));
	out[0] = '\0';
	for (size_t k = 0; k < ts->n_tags; k++) {
		const struct terms_tok *t = &ts->tag_toks[k];

		CHECK_INT(t->hash, terms_hash(ts->tags.data + t->off, t->len));
		o += (size_t)snprintf(out + o, cap - o, "%s%.*s", k ? " " : "",
				      (int)t->len, ts->tags.data + t->off);
	}
	return out;
}

static void test_hashtags(void)
{
	static const struct {
		const char *text, *tags;
	} cases[] = {
		{"", ""},
		{"no tag here", ""},
		{"#Panne chez #BlaBlaCar ce matin", "#panne #blablacar"},
		/* folded as terms are: case, accents, compatibility forms */
		{"#Café #café #CAFE #cafe", "#cafe"},
		{"#Straße #ｆｕｌｌ #E\xcc\x81te", "#strasse #full #ete"},
		/* other scripts; CJK stays one tag although fold splits it */
		{"#東京 #地震 #Москва #ışık", "#東京 #地震 #москва #isik"},
		/* ends at the first character that is not a word's */
		{"(#tag) #two! #three.end #four, #five\xe2\x80\xa6 "
		 "#six\xf0\x9f\x98\xad",
		 "#tag #two #three #four #five #six"},
		{"#snake_case #x86 #1er", "#snake_case #x86 #1er"},
		/* in a word's middle: no tag */
		{"a#b C# F#m issue#42 caf\xc3\xa9#tag", ""},
		/* a number, or nothing, is no tag */
		{"#2024 #1 # #_ #__1", ""},
		/* a URL's fragment: the URL is cut first, a path's '/' stops */
		{"https://example.com/page#section www.x.example/#frag "
		 "example.org/#anchor",
		 ""},
		{"http://a.example/#x #real", "#real"},
		/* HTML entities */
		{"it&#39;s &#x27;quoted&#x27;", ""},
		/* after a separator that is not ASCII, and after '#' */
		{"\xe2\x80\x94#dash \xc2\xab#quote\xc2\xbb ##double",
		 "#dash #quote #double"},
		/* invalid UTF-8 separates */
		{"\xff#after \xc3#broken", "#after #broken"},
		/* each once, in the order first seen */
		{"#b #a #b #A", "#b #a"},
	};
	struct fold *f = fold_new();
	struct terms_scratch ts;
	char out[1024];

	terms_scratch_init(&ts);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got =
			tags_of(f, &ts, cases[i].text, out, sizeof(out));

		if (strcmp(got, cases[i].tags) != 0) {
			printf("case %zu: %s\n", i, cases[i].text);
		}
		CHECK_STR(got, cases[i].tags);
	}
	terms_scratch_fini(&ts);
	fold_free(f);
}

/* TERMS_MAX_BYTES once folded, TERMS_HASHTAGS_PER_MENTION per text. */
static void test_hashtag_caps(void)
{
	struct fold *f = fold_new();
	struct terms_scratch ts;
	char text[2048], want[2048], out[2048];
	size_t o = 0, w = 0;

	terms_scratch_init(&ts);
	/* 40 bytes kept, 41 skipped; Ä folds to one byte, so 40 of them
	 * (80 raw bytes) make a tag */
	text[0] = '#';
	memset(text + 1, 'a', TERMS_MAX_BYTES);
	text[TERMS_MAX_BYTES + 1] = '\0';
	CHECK_STR(tags_of(f, &ts, text, out, sizeof(out)), text);
	text[TERMS_MAX_BYTES + 1] = 'a';
	text[TERMS_MAX_BYTES + 2] = '\0';
	CHECK_STR(tags_of(f, &ts, text, out, sizeof(out)), "");
	text[0] = '#';
	for (int k = 0; k < TERMS_MAX_BYTES; k++) {
		memcpy(text + 1 + 2 * k, "\xc3\x84", 2);
	}
	text[1 + 2 * TERMS_MAX_BYTES] = '\0';
	CHECK_INT(strlen(tags_of(f, &ts, text, out, sizeof(out))),
		  TERMS_MAX_BYTES + 1);

	/* the first TERMS_HASHTAGS_PER_MENTION distinct ones */
	for (int k = 0; k < TERMS_HASHTAGS_PER_MENTION + 5; k++) {
		o += (size_t)snprintf(text + o, sizeof(text) - o, "#t%d #t0 ",
				      k);
		if (k < TERMS_HASHTAGS_PER_MENTION) {
			w += (size_t)snprintf(want + w, sizeof(want) - w,
					      "%s#t%d", k ? " " : "", k);
		}
	}
	CHECK_STR(tags_of(f, &ts, text, out, sizeof(out)), want);
	CHECK_INT(ts.n_tags, TERMS_HASHTAGS_PER_MENTION);

	/* a text whose terms are all filtered out still has its tags */
	CHECK_INT(terms_of(&ts, f, "the #and", 8), 0);
	CHECK_INT(ts.n_tags, 1);
	terms_scratch_fini(&ts);
	fold_free(f);
}

int main(void)
{
	test_hashtags();
	test_hashtag_caps();
	return check_done();
}
