/* SPDX-License-Identifier: MIT */
/*
 * Folding table for matching: each code point below FOLD_TABLE_END maps to
 * a ready-made fragment of token text, built once from utf8proc (NFKC, case
 * fold, marks stripped). fold_text then only decodes UTF-8 and copies
 * fragments; it never calls utf8proc. Pure; the table is read-only after
 * fold_new, so one fold may be shared.
 */
#include "core/fold.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

/* Planes 0-2 hold every script in use; above them only Han extensions,
 * tags, variation selectors and private use remain (see above_table). */
#define FOLD_TABLE_END 0x30000u
/* An entry packs the fragment's pool offset (high 24 bits) and length. */
#define ENTRY_LEN_BITS 8
#define ENTRY_MAX_LEN ((1u << ENTRY_LEN_BITS) - 1)
#define ENTRY_MAX_OFF ((1u << (32 - ENTRY_LEN_BITS)) - 1)
/* Fragments up to this long are copied as a block of this size. */
#define FRAG_COPY 8
/* The longest NFKC expansion of one code point is 18 code points. */
#define DECOMP_MAX 64

struct fold {
	uint32_t *entry; /* owned; FOLD_TABLE_END entries */
	char *pool;      /* owned; fragments, no NULs between them */
	size_t pool_len;
	/* ASCII byte → lower-case word byte, or 0 for a separator; 0 for
	 * every byte >= 0x80 too, so the ASCII loop tests one thing. */
	unsigned char ascii[256];
};

/*
 * A fragment is the token text one code point turns into: word bytes,
 * with ' ' where a word must end. It holds no doubled space, so fold_text
 * only has to merge a leading ' ' with the space it may have just written.
 * Examples: "a" → "a", "ß" → "ss", "," → " ", "⑴" → " 1 ", "東" → " 東 ",
 * a combining mark → "".
 */
struct frag {
	char b[ENTRY_MAX_LEN];
	size_t len;
};

static bool is_cjk_single(int32_t c)
{
	return (c >= 0x3040 && c <= 0x30FF) ||   /* Hiragana, Katakana */
	       (c >= 0x31F0 && c <= 0x31FF) ||   /* Katakana ext. */
	       (c >= 0x3400 && c <= 0x4DBF) ||   /* Han ext. A */
	       (c >= 0x4E00 && c <= 0x9FFF) ||   /* Han */
	       (c >= 0xAC00 && c <= 0xD7A3) ||   /* Hangul syllables */
	       (c >= 0xF900 && c <= 0xFAFF) ||   /* Han compatibility */
	       (c >= 0xFF66 && c <= 0xFF9D) ||   /* half-width Katakana */
	       (c >= 0x1B000 && c <= 0x1B16F) || /* Kana supplement, ext. A */
	       (c >= 0x20000 && c <= 0x323AF);   /* Han ext. B-H */
}

/* Pictographic symbols: what people track as emoji. Skin-tone modifiers
 * are Sk, not So, and so separate (they follow the emoji they modify). */
static bool is_emoji(int32_t c)
{
	return ((c >= 0x2300 && c <= 0x23FF) || (c >= 0x2600 && c <= 0x27BF) ||
		(c >= 0x2B00 && c <= 0x2BFF) ||
		(c >= 0x1F000 && c <= 0x1FAFF)) &&
	       utf8proc_category(c) == UTF8PROC_CATEGORY_SO;
}

bool fold_single_token(uint32_t cp)
{
	return cp <= 0x10FFFF &&
	       (is_cjk_single((int32_t)cp) || is_emoji((int32_t)cp));
}

static bool is_kana_letter(int32_t c, utf8proc_category_t cat)
{
	return ((c >= 0x3040 && c <= 0x30FF) || (c >= 0x31F0 && c <= 0x31FF) ||
		(c >= 0xFF66 && c <= 0xFF9D)) &&
	       cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
}

static void frag_put(struct frag *fr, const void *p, size_t n)
{
	HARK_ASSERT(fr->len + n <= sizeof(fr->b));
	memcpy(fr->b + fr->len, p, n);
	fr->len += n;
}

static void frag_boundary(struct frag *fr)
{
	if (fr->len == 0 || fr->b[fr->len - 1] != ' ') {
		frag_put(fr, " ", 1);
	}
}

/*
 * Classifies the folded OUTPUT, not the input: NFKC of "⑴" is "(1)",
 * whose parentheses separate words even though "⑴" itself is a symbol.
 */
static void frag_add_output(struct frag *fr, int32_t o)
{
	utf8proc_uint8_t u[4];
	utf8proc_ssize_t n;
	utf8proc_category_t cat = utf8proc_category(o);

	n = utf8proc_encode_char(o, u);
	if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC ||
	    cat == UTF8PROC_CATEGORY_ME) {
		/* Only reachable for kana, which keep their voicing marks
		 * (see fold_code_point); a lone mark adds nothing. */
		return;
	}
	if (is_cjk_single(o)) {
		frag_boundary(fr);
		frag_put(fr, u, (size_t)n);
		frag_put(fr, " ", 1);
	} else if ((cat >= UTF8PROC_CATEGORY_LU &&
		    cat <= UTF8PROC_CATEGORY_LO) ||
		   (cat >= UTF8PROC_CATEGORY_ND &&
		    cat <= UTF8PROC_CATEGORY_NO) ||
		   o == '_') {
		frag_put(fr, u, (size_t)n);
	} else {
		frag_boundary(fr);
	}
}

static void fold_code_point(int32_t c, struct frag *fr)
{
	utf8proc_int32_t dec[DECOMP_MAX];
	utf8proc_uint8_t u[4];
	utf8proc_ssize_t n, i;
	utf8proc_option_t opt;

	fr->len = 0;
	if (c >= 0xD800 && c <= 0xDFFF) {
		frag_boundary(fr);
		return;
	}
	/*
	 * What utf8proc_map does with these flags, minus its two mallocs per
	 * call, which would dominate start-up. IGNORE drops default-ignorable
	 * code points (soft hyphen, zero-width joiner, variation selectors),
	 * so "bla\u00ADbla" stays one word.
	 */
	opt = UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE |
	      UTF8PROC_CASEFOLD | UTF8PROC_IGNORE | UTF8PROC_STRIPMARK;
	/* Stripping marks would turn ガ into カ: a different word, not an
	 * accent variant. Kana keep their (dakuten) voicing marks. */
	if (is_kana_letter(c, utf8proc_category(c))) {
		opt &= ~(utf8proc_option_t)UTF8PROC_STRIPMARK;
	}
	n = utf8proc_encode_char(c, u);
	n = utf8proc_decompose(u, n, dec, DECOMP_MAX, opt);
	if (n < 0 || n > DECOMP_MAX) {
		frag_boundary(fr);
		return;
	}
	n = utf8proc_normalize_utf32(dec, n, opt);
	if (n < 0) {
		frag_boundary(fr);
		return;
	}
	for (i = 0; i < n; i++) {
		/* Case folding keeps Turkish dotless ı apart from i while İ
		 * folds to i, so "IŞIK" and "ışık" would not meet; folding ı
		 * to i treats the dot like an accent. */
		frag_add_output(fr, dec[i] == 0x131 ? 'i' : dec[i]);
	}
}

static uint32_t pool_add(struct fold *f, size_t *pool_cap, const char *p,
			 size_t n)
{
	uint32_t off;

	if (n == 0) {
		return 0;
	}
	if (f->pool_len + n > *pool_cap) {
		while (f->pool_len + n > *pool_cap) {
			*pool_cap *= 2;
		}
		f->pool = xrealloc(f->pool, *pool_cap);
	}
	HARK_ASSERT(f->pool_len <= ENTRY_MAX_OFF);
	off = (uint32_t)f->pool_len;
	memcpy(f->pool + f->pool_len, p, n);
	f->pool_len += n;
	return off << ENTRY_LEN_BITS | (uint32_t)n;
}

struct fold *fold_new(void)
{
	struct fold *f = xcalloc(1, sizeof(*f));
	size_t pool_cap = 1024 * 1024;
	struct frag fr;
	uint32_t sep, e;
	int32_t c;

	f->entry = xmalloc(FOLD_TABLE_END * sizeof(*f->entry));
	f->pool = xmalloc(pool_cap);
	/* Every separator shares the pool's first byte. */
	sep = pool_add(f, &pool_cap, " ", 1);
	for (c = 0; c < (int32_t)FOLD_TABLE_END; c++) {
		fold_code_point(c, &fr);
		if (fr.len == 1 && fr.b[0] == ' ') {
			e = sep;
		} else {
			e = pool_add(f, &pool_cap, fr.b, fr.len);
		}
		f->entry[c] = e;
		if (c < 128) {
			f->ascii[c] = fr.len == 1 && fr.b[0] != ' '
					      ? (unsigned char)fr.b[0]
					      : 0;
		}
	}
	/* slack for put_frag's fixed-size copy of the last fragment */
	f->pool = xrealloc(f->pool, f->pool_len + FRAG_COPY);
	memset(f->pool + f->pool_len, 0, FRAG_COPY);
	return f;
}

void fold_free(struct fold *f)
{
	if (f == NULL) {
		return;
	}
	free(f->entry);
	free(f->pool);
	free(f);
}

/* Decodes one strict UTF-8 sequence; returns its length, or 0 if invalid
 * (overlong, surrogate, above U+10FFFF or truncated). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char b0 = s[0];
	unsigned char lo = 0x80;
	unsigned char hi = 0xBF;
	size_t need, i;
	uint32_t c;

	if (b0 >= 0xC2 && b0 <= 0xDF) {
		need = 1;
		c = b0 & 0x1F;
	} else if (b0 >= 0xE0 && b0 <= 0xEF) {
		need = 2;
		c = b0 & 0x0F;
		if (b0 == 0xE0) {
			lo = 0xA0;
		} else if (b0 == 0xED) {
			hi = 0x9F;
		}
	} else if (b0 >= 0xF0 && b0 <= 0xF4) {
		need = 3;
		c = b0 & 0x07;
		if (b0 == 0xF0) {
			lo = 0x90;
		} else if (b0 == 0xF4) {
			hi = 0x8F;
		}
	} else {
		return 0;
	}
	if (n < need + 1 || s[1] < lo || s[1] > hi) {
		return 0;
	}
	for (i = 1; i <= need; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			return 0;
		}
		c = c << 6 | (s[i] & 0x3F);
	}
	*cp = c;
	return need + 1;
}

/*
 * Whether n more bytes and the NUL fit with neither a realloc nor passing
 * the cap: then fold_text writes in place, as buf_append would, without a
 * call per fragment (it was a third of folding's time). fold_text writes
 * the NUL once at the end.
 */
static bool room(const struct buf *b, size_t n)
{
	return b->data != NULL && b->len + n < b->cap && b->len + n <= b->max;
}

static int put_sep(struct buf *out, bool *in_word)
{
	if (!*in_word) {
		return 0;
	}
	*in_word = false;
	if (room(out, 1)) {
		out->data[out->len++] = ' ';
		return 0;
	}
	return buf_putc(out, ' ');
}

static int put_frag(struct buf *out, bool *in_word, const char *p, size_t n)
{
	if (n == 0) {
		return 0;
	}
	if (p[0] == ' ') {
		if (put_sep(out, in_word) < 0) {
			return -1;
		}
		p++;
		n--;
		if (n == 0) {
			return 0;
		}
	}
	if (n <= FRAG_COPY && room(out, FRAG_COPY)) {
		/* most fragments are a few bytes: one fixed-size copy (the
		 * pool has FRAG_COPY bytes of slack), not a memcpy call */
		memcpy(out->data + out->len, p, FRAG_COPY);
		out->len += n;
	} else if (room(out, n)) {
		memcpy(out->data + out->len, p, n);
		out->len += n;
	} else if (buf_append(out, p, n) < 0) {
		return -1;
	}
	*in_word = p[n - 1] != ' ';
	return 0;
}

/*
 * Code points past the table are Han extensions G/H (one token each),
 * tags and variation selectors (ignorable, like IGNORE does below) and
 * private use (separators).
 */
static int put_above_table(struct buf *out, bool *in_word,
			   const unsigned char *s, uint32_t cp, size_t n)
{
	if (cp >= 0xE0000 && cp <= 0xE0FFF) {
		return 0;
	}
	if (put_sep(out, in_word) < 0) {
		return -1;
	}
	if (is_cjk_single((int32_t)cp)) {
		if (buf_append(out, s, n) < 0 || buf_putc(out, ' ') < 0) {
			return -1;
		}
	}
	return 0;
}

static int fold_into(const struct fold *f, const char *in, size_t len,
		     struct buf *out)
{
	const unsigned char *s = (const unsigned char *)in;
	char run[64];
	char *dst;
	size_t i = 0, n, r;
	uint32_t cp, e;
	bool in_word = false;

	buf_reset(out);
	if (buf_putc(out, ' ') < 0) {
		return -1;
	}
	while (i < len) {
		if (s[i] < 0x80) {
			/* ASCII fast path: batch a run of word bytes. */
			size_t end =
				len - i < sizeof(run) ? len : i + sizeof(run);
			unsigned char c;

			r = 0;
			dst = room(out, sizeof(run)) ? out->data + out->len
						     : run;
			while (i < end && (c = f->ascii[s[i]]) != 0) {
				dst[r++] = (char)c;
				i++;
			}
			if (r > 0) {
				if (dst != run) {
					out->len += r;
				} else if (buf_append(out, run, r) < 0) {
					return -1;
				}
				in_word = true;
			} else {
				if (put_sep(out, &in_word) < 0) {
					return -1;
				}
				i++;
			}
			continue;
		}
		n = utf8_decode(s + i, len - i, &cp);
		if (n == 0) {
			if (put_sep(out, &in_word) < 0) {
				return -1;
			}
			i++;
			continue;
		}
		if (cp < FOLD_TABLE_END) {
			e = f->entry[cp];
			if (put_frag(out, &in_word,
				     f->pool + (e >> ENTRY_LEN_BITS),
				     e & ENTRY_MAX_LEN) < 0) {
				return -1;
			}
		} else if (put_above_table(out, &in_word, s + i, cp, n) < 0) {
			return -1;
		}
		i += n;
	}
	return put_sep(out, &in_word);
}

int fold_text(const struct fold *f, const char *in, size_t len, struct buf *out)
{
	int rc = fold_into(f, in, len, out);

	if (out->data != NULL) {
		out->data[out->len] = '\0';
	}
	return rc;
}
