/* SPDX-License-Identifier: MIT */
/*
 * The words worth showing as an alert's top terms: URLs cut out of the raw
 * text, then the folded tokens (fold.h) minus stop-words of fr/en/es/de/it/
 * pt, URL pieces, words under 3 bytes, pure numbers and repeats; and the
 * text's hashtags (terms_of). Pure.
 */
#ifndef HARK_CORE_TERMS_H
#define HARK_CORE_TERMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/xalloc.h"

/* Terms kept per mention (the first ones); longer tokens are skipped. */
#define TERMS_PER_MENTION 64
#define TERMS_MAX_BYTES 40

/*
 * Appends text (len bytes) to out, after resetting it, with every
 * http://, https:// and www. run up to the next blank replaced by one
 * space. Returns -1 when out's cap is reached.
 */
int terms_strip_urls(const char *text, size_t len,
		     struct buf *out) HARK_MUST_CHECK;
/* True for a folded stop-word or URL piece (len bytes, no NUL needed). */
bool terms_is_stop(const char *tok, size_t len);
/*
 * Appends to out, after resetting it, the countable tokens of the folded
 * text (" a b ", len bytes) as " a b " (or "" when none), each once, at
 * most TERMS_PER_MENTION. Returns -1 when out's cap is reached.
 */
int terms_filter(const char *folded, size_t len,
		 struct buf *out) HARK_MUST_CHECK;

/* One kept token of terms_filter's output: where it is and its hash
 * (terms_hash), so that counting it for each rule hashes nothing. */
struct terms_tok {
	uint32_t hash;
	uint32_t off; /* in the filtered " tok tok " text */
	uint32_t len;
};

/* The 32-bit FNV-1a hash of v (n bytes), the one window.c's tallies use;
 * inline: it runs for every author, language and token counted. */
static inline uint32_t terms_hash(const char *v, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h = (h ^ (unsigned char)v[i]) * 16777619u;
	}
	return h;
}
/*
 * terms_filter, also listing the kept tokens in toks (room for
 * TERMS_PER_MENTION) and their number in *n.
 */
int terms_filter_toks(const char *folded, size_t len, struct buf *out,
		      struct terms_tok *toks, size_t *n) HARK_MUST_CHECK;

struct fold;

/* Hashtags kept per mention (the first ones, each once). */
#define TERMS_HASHTAGS_PER_MENTION 16

/* Reusable buffers for terms_of: nothing allocated per mention once warm. */
struct terms_scratch {
	struct buf raw;  /* text without its URLs */
	struct buf fold; /* folded */
	struct buf out;  /* the kept tokens, " tok tok " */
	struct terms_tok toks[TERMS_PER_MENTION];
	size_t n;
	struct buf tag_fold; /* one hashtag's body, folded */
	struct buf tags;     /* the kept hashtags, "#tag #tag " */
	struct terms_tok tag_toks[TERMS_HASHTAGS_PER_MENTION];
	size_t n_tags;
};

/* Bytes of a mention's text looked at for its terms. */
#define TERMS_TEXT_MAX (64 * 1024)

void terms_scratch_init(struct terms_scratch *ts);
void terms_scratch_fini(struct terms_scratch *ts);
/*
 * The terms of a mention's text: its first TERMS_TEXT_MAX bytes, URLs cut
 * out, folded with f, filtered (terms_filter_toks), into ts->out and
 * ts->toks. Returns the number of tokens (0: none, ts->out may then hold
 * anything).
 *
 * Also its hashtags, into ts->tags and ts->tag_toks (ts->n_tags of them,
 * each once, at most TERMS_HASHTAGS_PER_MENTION): '#' then a run of
 * letters, marks, digits and '_' of any script with at least one letter
 * ("#2024" is a number, not a tag), found after the URLs are cut (a URL's
 * fragment is no tag). The '#' must start a word: not after a letter,
 * digit or '_' ("a#b", "C#"), nor after '&' (an HTML entity) or '/' (a
 * path's fragment). The run is folded as terms are and kept with its '#'
 * ("#BlaBlaCar" -> "#blablacar"), so a tag and the same word as a term
 * stay apart; a tag longer than TERMS_MAX_BYTES once folded is skipped.
 * No stop-words: a tag is chosen by its writer.
 */
size_t terms_of(struct terms_scratch *ts, const struct fold *f,
		const char *text, size_t text_len);

#endif
