/* SPDX-License-Identifier: MIT */
/*
 * Which words of a mention count toward its window's top terms (terms.h).
 * The stop-words are data: a short list per language of articles,
 * pronouns, prepositions and auxiliaries, in folded form (no accents),
 * sorted; words under 3 bytes are dropped before the lookup, so they are
 * not listed.
 */
#include "core/terms.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "core/fold.h"

/* fr, en, es, de, it, pt, and the pieces a URL leaves after folding. */
static const char *const stop[] = {
	"abbiamo", "aber",    "about",    "above",  "after",   "again",
	"agli",    "all",     "alla",     "alle",   "allo",    "alors",
	"als",     "also",    "amp",      "anche",  "ancora",  "and",
	"any",     "aquela",  "aquele",   "are",    "aren",    "arent",
	"ate",     "auch",    "auf",      "aus",    "aussi",   "aux",
	"avait",   "avec",    "avere",    "avoir",  "because", "been",
	"before",  "bei",     "being",    "below",  "between", "bien",
	"bin",     "bist",    "both",     "but",    "can",     "cant",
	"car",     "ceci",    "cela",     "ces",    "cet",     "cette",
	"ceux",    "che",     "chez",     "chi",    "com",     "come",
	"comme",   "como",    "con",      "cosi",   "could",   "cuando",
	"dal",     "dalla",   "dans",     "das",    "dass",    "degli",
	"dei",     "dein",    "deja",     "del",    "della",   "delle",
	"dello",   "dem",     "den",      "der",    "des",     "desde",
	"did",     "didn",    "didnt",    "die",    "doch",    "does",
	"doesn",   "doesnt",  "doing",    "don",    "donc",    "donde",
	"dont",    "dort",    "dos",      "dove",   "durch",   "during",
	"each",    "ein",     "eine",     "einem",  "einen",   "einer",
	"eines",   "ela",     "elas",     "ele",    "eles",    "ella",
	"ellas",   "elle",    "elles",    "ellos",  "encore",  "entre",
	"era",     "erano",   "esa",      "esas",   "ese",     "eso",
	"esos",    "essa",    "esse",     "essere", "est",     "esta",
	"estan",   "estao",   "estar",    "estas",  "este",    "esto",
	"estos",   "etait",   "ete",      "etes",   "etre",    "faire",
	"fait",    "few",     "foi",      "for",    "fra",     "from",
	"fue",     "fur",     "gegen",    "get",    "gia",     "gli",
	"got",     "habe",    "haben",    "had",    "han",     "hanno",
	"has",     "hasta",   "hat",      "have",   "hay",     "hemos",
	"her",     "here",    "hers",     "hier",   "him",     "his",
	"how",     "htm",     "html",     "http",   "https",   "ich",
	"ihm",     "ihn",     "ihr",      "ihre",   "ils",     "into",
	"isn",     "isnt",    "isso",     "ist",    "isto",    "its",
	"ive",     "jetzt",   "just",     "kein",   "keine",   "las",
	"lei",     "les",     "leur",     "leurs",  "loro",    "los",
	"lui",     "mais",    "mal",      "man",    "mas",     "may",
	"mein",    "meine",   "meme",     "mes",    "meu",     "might",
	"minha",   "mis",     "mit",      "moi",    "molto",   "mon",
	"more",    "most",    "mucho",    "muito",  "must",    "muy",
	"nach",    "nao",     "nas",      "nei",    "nel",     "nella",
	"nelle",   "net",     "nicht",    "noch",   "noi",     "non",
	"nor",     "nos",     "nosotros", "not",    "notre",   "nous",
	"nur",     "oder",    "off",      "ohne",   "once",    "onde",
	"only",    "ont",     "org",      "other",  "our",     "ours",
	"out",     "over",    "own",      "par",    "para",    "pas",
	"pela",    "pelas",   "pelo",     "pelos",  "per",     "perche",
	"pero",    "peu",     "php",      "piu",    "plus",    "por",
	"porque",  "pour",    "quand",    "quando", "que",     "quella",
	"quello",  "questa",  "queste",   "questi", "questo",  "qui",
	"quoi",    "rien",    "same",     "sans",   "sao",     "schon",
	"sehr",    "sei",     "sein",     "seine",  "sem",     "ser",
	"sera",    "ses",     "seu",      "seus",   "shall",   "she",
	"should",  "siamo",   "sie",      "siete",  "sim",     "sin",
	"sind",    "sobre",   "some",     "sommes", "son",     "sono",
	"sont",    "sous",    "sua",      "suas",   "such",    "suis",
	"sul",     "sulla",   "suo",      "suoi",   "sur",     "sus",
	"tambem",  "tambien", "tem",      "ter",    "tes",     "than",
	"that",    "the",     "their",    "theirs", "them",    "then",
	"there",   "these",   "they",     "this",   "those",   "through",
	"tiene",   "tienen",  "tinha",    "toda",   "todas",   "todo",
	"todos",   "toi",     "ton",      "too",    "tous",    "tout",
	"toute",   "toutes",  "tra",      "tres",   "tudo",    "tus",
	"tutti",   "tutto",   "uber",     "uma",    "umas",    "una",
	"unas",    "und",     "under",    "une",    "uno",     "unos",
	"uns",     "unter",   "until",    "url",    "usted",   "ustedes",
	"utm",     "very",    "via",      "voce",   "voces",   "voi",
	"von",     "vor",     "vos",      "votre",  "vous",    "war",
	"waren",   "was",     "wasn",     "wasnt",  "wenn",    "werden",
	"were",    "what",    "when",     "where",  "which",   "while",
	"who",     "whom",    "why",      "wie",    "will",    "wir",
	"wird",    "with",    "won",      "wont",   "would",   "wurde",
	"www",     "yet",     "you",      "your",   "youre",   "yours",
	"zum",     "zur",
};

#define N_STOP (sizeof(stop) / sizeof(stop[0]))
/* No stop-word is longer: a token is looked up as one 64-bit integer. */
#define STOP_MAX 8

/*
 * stop[] as 64-bit integers (a word's bytes, zero-padded) in a hash set
 * built once: the lookup runs for every word of every matched mention.
 */
#define STOP_SLOTS 2048 /* a power of two, over 4 * N_STOP */

static uint64_t stop_set[STOP_SLOTS]; /* 0: free */
static pthread_once_t stop_once = PTHREAD_ONCE_INIT;

_Static_assert(STOP_SLOTS >= 4 * N_STOP, "stop-word set too full");

/* A word's bytes as an integer (bytewise: a memcpy of a variable length
 * is a call, and this runs for every word of every matched mention). */
static uint64_t pack(const char *tok, size_t len)
{
	uint64_t v = 0;

	for (size_t i = 0; i < len; i++) {
		v |= (uint64_t)(unsigned char)tok[i] << (8 * i);
	}
	return v;
}

static size_t stop_slot(uint64_t v)
{
	return (size_t)((v * 0x9E3779B97F4A7C15ull) >> 53) & (STOP_SLOTS - 1);
}

static void stop_build(void)
{
	for (size_t i = 0; i < N_STOP; i++) {
		size_t len = strlen(stop[i]);
		uint64_t v;
		size_t k;

		HARK_ASSERT(len >= 3 && len <= STOP_MAX);
		v = pack(stop[i], len);
		for (k = stop_slot(v); stop_set[k] != 0;
		     k = (k + 1) & (STOP_SLOTS - 1)) {
		}
		stop_set[k] = v;
	}
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

/* ASCII case-insensitive prefix test; lit is lower-case. */
static bool has_prefix(const char *p, size_t left, const char *lit, size_t n)
{
	if (left < n) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (c >= 'A' && c <= 'Z') {
			c = (char)(c + ('a' - 'A'));
		}
		if (c != lit[i]) {
			return false;
		}
	}
	return true;
}

static bool url_at(const char *p, size_t left)
{
	if (*p != 'h' && *p != 'H' && *p != 'w' && *p != 'W') {
		return false;
	}
	return has_prefix(p, left, "http://", 7) ||
	       has_prefix(p, left, "https://", 8) ||
	       has_prefix(p, left, "www.", 4);
}

/* Whether a URL that terms_strip_urls cuts out starts at text[i]. */
static bool url_starts(const char *text, size_t i, size_t len)
{
	char c = text[i];

	if (c != 'h' && c != 'H' && c != 'w' && c != 'W') {
		return false;
	}
	/* a URL starts a word: "xhttp://" is not one */
	if (i > 0) {
		c = text[i - 1];
		if (!blank(c) && c != '(' && c != '<' && c != '[' && c != '"' &&
		    c != '\'' && c != '\0') {
			return false;
		}
	}
	return url_at(text + i, len - i);
}

int terms_strip_urls(const char *text, size_t len, struct buf *out)
{
	size_t i = 0, from = 0;

	buf_reset(out);
	while (i < len) {
		if (url_starts(text, i, len)) {
			if (buf_append(out, text + from, i - from) < 0 ||
			    buf_putc(out, ' ') < 0) {
				return -1;
			}
			while (i < len && !blank(text[i])) {
				i++;
			}
			from = i;
			continue;
		}
		i++;
	}
	return buf_append(out, text + from, len - from);
}

/* The lookup, once stop_set is built. */
static bool is_stop(const char *tok, size_t len)
{
	uint64_t v;

	if (len == 0 || len > STOP_MAX) {
		return false;
	}
	v = pack(tok, len);
	for (size_t k = stop_slot(v); stop_set[k] != 0;
	     k = (k + 1) & (STOP_SLOTS - 1)) {
		if (stop_set[k] == v) {
			return true;
		}
	}
	return false;
}

bool terms_is_stop(const char *tok, size_t len)
{
	pthread_once(&stop_once, stop_build);
	return is_stop(tok, len);
}

static bool all_digits(const char *tok, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (tok[i] < '0' || tok[i] > '9') {
			return false;
		}
	}
	return true;
}

/* Whether tok (n bytes, hash h) is among the kept ones. */
static bool seen(const char *tok, size_t n, uint32_t h, const char *out,
		 const struct terms_tok *toks, size_t kept)
{
	for (size_t k = 0; k < kept; k++) {
		if (toks[k].hash == h && toks[k].len == n &&
		    memcmp(out + toks[k].off, tok, n) == 0) {
			return true;
		}
	}
	return false;
}

int terms_filter_toks(const char *folded, size_t len, struct buf *out,
		      struct terms_tok *toks, size_t *n_toks)
{
	size_t i = 0, kept = 0;

	pthread_once(&stop_once, stop_build);
	*n_toks = 0;
	buf_reset(out);
	if (buf_putc(out, ' ') < 0) {
		return -1;
	}
	while (i < len && kept < TERMS_PER_MENTION) {
		const char *tok;
		size_t n;
		uint32_t h;

		while (i < len && folded[i] == ' ') {
			i++;
		}
		tok = folded + i;
		while (i < len && folded[i] != ' ') {
			i++;
		}
		n = (size_t)(folded + i - tok);
		/* only whole tokens: a text cut by fold's cap ends in a piece */
		if (i == len || tok == folded || n < 3 || n > TERMS_MAX_BYTES ||
		    all_digits(tok, n) || is_stop(tok, n)) {
			continue;
		}
		h = terms_hash(tok, n);
		/* counted once per mention */
		if (seen(tok, n, h, out->data, toks, kept)) {
			continue;
		}
		toks[kept].hash = h;
		toks[kept].off = (uint32_t)out->len;
		toks[kept].len = (uint32_t)n;
		if (buf_append(out, tok, n + 1) < 0) {
			return -1;
		}
		kept++;
		*n_toks = kept;
	}
	if (out->len == 1) {
		buf_reset(out);
	}
	return 0;
}

int terms_filter(const char *folded, size_t len, struct buf *out)
{
	struct terms_tok toks[TERMS_PER_MENTION];
	size_t n;

	return terms_filter_toks(folded, len, out, toks, &n);
}

/*
 * Raw bytes of a hashtag's body looked at: folding never makes a word
 * more than four times shorter, and a longer one would be skipped as over
 * TERMS_MAX_BYTES anyway.
 */
#define TAG_RAW_MAX (4 * TERMS_MAX_BYTES)
/* "#tag " per kept hashtag */
#define TAGS_BYTES (TERMS_HASHTAGS_PER_MENTION * (TERMS_MAX_BYTES + 2))

void terms_scratch_init(struct terms_scratch *ts)
{
	memset(ts, 0, sizeof(*ts));
	buf_init(&ts->raw, TERMS_TEXT_MAX);
	buf_init(&ts->fold, TERMS_TEXT_MAX);
	buf_init(&ts->out, TERMS_TEXT_MAX);
	/* fold_text may write four bytes per raw byte (NFKC expansions) */
	buf_init(&ts->tag_fold, 4 * TAG_RAW_MAX + 8);
	buf_init(&ts->tags, TAGS_BYTES);
}

void terms_scratch_fini(struct terms_scratch *ts)
{
	buf_fini(&ts->raw);
	buf_fini(&ts->fold);
	buf_fini(&ts->out);
	buf_fini(&ts->tag_fold);
	buf_fini(&ts->tags);
}

/*
 * Whether code point c may be in a hashtag: what fold keeps in a word
 * (letters, digits and other numbers of any script, '_') and combining
 * marks (which fold strips: "é" written as e + U+0301). *letter is set
 * for a letter.
 */
static bool tag_char(int32_t c, bool *letter)
{
	utf8proc_category_t cat;

	if (c < 0x80) {
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			*letter = true;
			return true;
		}
		return (c >= '0' && c <= '9') || c == '_';
	}
	cat = utf8proc_category(c);
	if (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) {
		*letter = true;
		return true;
	}
	return cat >= UTF8PROC_CATEGORY_MN && cat <= UTF8PROC_CATEGORY_NO;
}

/* Whether a '#' at text[i] may start a hashtag, by the code point before
 * it (invalid UTF-8 separates words, as in fold). */
static bool tag_may_start(const char *text, size_t i)
{
	size_t from = i;
	int32_t c;
	bool letter = false;

	if (i == 0) {
		return true;
	}
	if ((unsigned char)text[i - 1] < 0x80) {
		c = (unsigned char)text[i - 1];
		return c != '&' && c != '/' && !tag_char(c, &letter);
	}
	while (from > 0 && i - from < 4 &&
	       ((unsigned char)text[from - 1] & 0xC0) == 0x80) {
		from--;
	}
	if (from == 0) {
		return true;
	}
	from--;
	if (utf8proc_iterate((const utf8proc_uint8_t *)text + from,
			     (utf8proc_ssize_t)(i - from),
			     &c) != (utf8proc_ssize_t)(i - from)) {
		return true;
	}
	return !tag_char(c, &letter);
}

/*
 * Keeps in ts the hashtag whose body (after the '#') is n bytes at body,
 * folded, unless too long or kept already.
 */
static void tag_keep(struct terms_scratch *ts, const struct fold *f,
		     const char *body, size_t n)
{
	char tag[TERMS_MAX_BYTES + 2];
	size_t len = 1;
	uint32_t h;

	if (n > TAG_RAW_MAX || (fold_text(f, body, n, &ts->tag_fold) < 0 ||
				ts->tag_fold.data == NULL)) {
		return;
	}
	/* Folding splits a tag only where fold makes a word of each
	 * character (CJK) or NFKC brings a separator in ("⑴" is "(1)"):
	 * the tag is still one, its pieces joined. */
	tag[0] = '#';
	for (size_t k = 0; k < ts->tag_fold.len; k++) {
		if (ts->tag_fold.data[k] == ' ') {
			continue;
		}
		if (len == TERMS_MAX_BYTES + 1) {
			return;
		}
		tag[len++] = ts->tag_fold.data[k];
	}
	if (len == 1) {
		return;
	}
	h = terms_hash(tag, len);
	if (seen(tag, len, h, ts->tags.data, ts->tag_toks, ts->n_tags)) {
		return;
	}
	tag[len] = ' ';
	ts->tag_toks[ts->n_tags].hash = h;
	ts->tag_toks[ts->n_tags].off = (uint32_t)ts->tags.len;
	ts->tag_toks[ts->n_tags].len = (uint32_t)len;
	/* TAGS_BYTES holds every kept tag: this cannot fail */
	if (buf_append(&ts->tags, tag, len + 1) == 0) {
		ts->n_tags++;
	}
}

/* The hashtags of text (len bytes, URLs cut) into ts (see terms_of). */
static void find_tags(struct terms_scratch *ts, const struct fold *f,
		      const char *text, size_t len)
{
	const char *p = text;
	const char *end = text + len;

	buf_reset(&ts->tags);
	while (ts->n_tags < TERMS_HASHTAGS_PER_MENTION) {
		const char *q;
		bool letter = false;

		p = memchr(p, '#', (size_t)(end - p));
		if (p == NULL) {
			break;
		}
		q = p + 1;
		if (!tag_may_start(text, (size_t)(p - text))) {
			p = q;
			continue;
		}
		while (q < end) {
			int32_t c;
			utf8proc_ssize_t r = utf8proc_iterate(
				(const utf8proc_uint8_t *)q,
				(utf8proc_ssize_t)(end - q), &c);

			if (r <= 0 || !tag_char(c, &letter)) {
				break;
			}
			q += r;
		}
		if (letter) {
			tag_keep(ts, f, p + 1, (size_t)(q - p - 1));
		}
		p = q;
	}
}

/* Filters folded (len bytes) into ts; the count of tokens kept. */
static size_t filter_into(struct terms_scratch *ts, const char *folded,
			  size_t len)
{
	if (terms_filter_toks(folded, len, &ts->out, ts->toks, &ts->n) < 0 ||
	    ts->out.len == 0) {
		ts->n = 0;
	}
	return ts->n;
}

size_t terms_of(struct terms_scratch *ts, const struct fold *f,
		const char *text, size_t text_len)
{
	size_t len = text_len < TERMS_TEXT_MAX ? text_len : TERMS_TEXT_MAX;

	ts->n = 0;
	ts->n_tags = 0;
	if (text == NULL || len == 0) {
		return 0;
	}
	if (terms_strip_urls(text, len, &ts->raw) < 0 || ts->raw.data == NULL) {
		return 0;
	}
	/* memchr finds none in most texts: no cost to speak of */
	find_tags(ts, f, ts->raw.data, ts->raw.len);
	if (fold_text(f, ts->raw.data, ts->raw.len, &ts->fold) < 0 &&
	    ts->fold.len == 0) {
		return 0;
	}
	if (ts->fold.data == NULL) {
		return 0;
	}
	return filter_into(ts, ts->fold.data, ts->fold.len);
}
