/* SPDX-License-Identifier: MIT */
/*
 * Counting by event time: the watermark, bucket math and the per-rule series
 * of open buckets (see window.h). The series is a small sorted array, so a
 * far-future timestamp costs one slot, never one per bucket skipped; gaps
 * come out as at most max_gap_buckets zero buckets. A closed bucket's tops
 * and samples are ranked and copied only when asked for (the lazy pop):
 * most buckets never notify. Pure; the store keeps the durable counts, this
 * keeps what the detector needs next.
 */
#include "core/window.h"

#include <stdlib.h>
#include <string.h>

#include "core/mention.h"
#include "core/termcount.h"
#include "core/terms.h"

/* Sample texts are cut to this: an alert shows a glimpse, not the thread. */
#define SAMPLE_TEXT_BYTES 500

/*
 * A kept sample, packed: its strings end to end in one buffer that the
 * slot reuses when a newer sample replaces it, so a match costs a memcpy,
 * not seven allocations. It becomes a struct mention only when its bucket
 * closes.
 */
enum { F_ID, F_TEXT, F_LANG, F_AUTHOR, F_URL, F_SOURCE, F_TAGS, N_FIELDS };

_Static_assert((int)N_FIELDS == (int)WINDOW_N_FIELDS,
	       "one length per sample field");

struct sample {
	char *buf; /* owned */
	size_t cap;
	size_t len;             /* bytes of buf in use */
	uint32_t off[N_FIELDS]; /* UINT32_MAX: NULL (source, tags only) */
	int64_t created_at_ms;
	bool has_created_at;
};

/*
 * A bounded tally of one field's values (space-saving, see window.h): the
 * window's top authors, languages, terms and hashtags come from every
 * counted mention, not only the kept samples. The hash index is 2-byte
 * entry numbers (open addressing, linear probing, at most half full) and
 * the entries are dense, 16 bytes each, so a sparse bucket touches a few
 * cache lines (there is a tally per rule, hundreds of them cold).
 *
 * Names live end to end in one arena: a lookup reads an entry and its
 * name, and fixed slots of TALLY_SLOT bytes would spread a table's names
 * over six times the cache lines (authors and languages are ~10 bytes)
 * in tallies that are mostly cold. A value taking an evicted entry's
 * place writes its name over the old one when it fits in that entry's
 * room, else at the arena's end. The arena is
 * bounded at TALLY_ARENA(distinct), twice what distinct names can take,
 * and compacted in place when the next name would pass it: at least half
 * of it is free after that, so a compaction (O(distinct)) comes at most
 * once per distinct evictions.
 *
 * The entries' err is an array of its own, allocated when the table first
 * fills (every count is exact until then) and read only on an eviction
 * and when ranking. A closed bucket's tally is cleared and reused by the
 * next bucket without a free or a malloc.
 */
struct tally_entry {
	uint32_t hash;
	uint16_t name; /* offset in names */
	uint8_t len;   /* of the name, <= WINDOW_NAME_MAX */
	uint8_t room;  /* bytes at name this entry may write, >= len (+ NUL) */
	int64_t count;
};

/* A name at most, with its NUL. */
#define TALLY_SLOT (WINDOW_NAME_MAX + 1)
/* The bytes a tally's names may take. */
#define TALLY_ARENA(distinct) (2 * (distinct)*TALLY_SLOT)
/* A tally's first allocation: entries, and bytes of names. */
#define TALLY_FIRST 8
#define TALLY_NAMES_FIRST 256
/* A bucket's first array of shared terms, entries. */
#define TREF_FIRST 16

/* The fields a count reads come first, in one cache line: most tallies
 * are cold when a mention comes. */
struct tally {
	/* owned; 2 * the distinct cap; entry + 1, 0: free; NULL until needed */
	uint16_t *index;
	struct tally_entry *entries; /* owned; cap of them, first n used */
	char *names; /* owned; the values, NUL-terminated, and free room */
	size_t n;
	size_t cap;
	size_t distinct; /* the cap of n, set with index */
	size_t names_len;
	size_t names_cap;
	/* owned, NULL until the table first fills: the entries' err (0 until
	 * then); the entries at min_count found by the last scan
	 * (tally_victim), or a compaction's order (names_compact) */
	int64_t *err;
	uint32_t *scratch;
	size_t n_cand;
	int64_t min_count;
};

_Static_assert(TALLY_ARENA(WINDOW_TERMS_DISTINCT) <= UINT16_MAX + 1 &&
		       TALLY_ARENA(WINDOW_HASHTAGS_DISTINCT) <=
			       UINT16_MAX + 1 &&
		       TALLY_ARENA(WINDOW_TOP_DISTINCT) <= UINT16_MAX + 1 &&
		       WINDOW_NAME_MAX <= UINT8_MAX,
	       "a name's offset and length fit an entry");
_Static_assert(WINDOW_TERMS_DISTINCT < UINT16_MAX &&
		       WINDOW_TOP_DISTINCT < UINT16_MAX &&
		       WINDOW_HASHTAGS_DISTINCT < UINT16_MAX,
	       "tally entries are numbered by uint16_t");
/* The index is probed with a mask, not a division. */
_Static_assert((WINDOW_TERMS_DISTINCT & (WINDOW_TERMS_DISTINCT - 1)) == 0 &&
		       (WINDOW_TOP_DISTINCT & (WINDOW_TOP_DISTINCT - 1)) == 0 &&
		       (WINDOW_HASHTAGS_DISTINCT &
			(WINDOW_HASHTAGS_DISTINCT - 1)) == 0,
	       "tally caps are powers of two");
_Static_assert(TERMS_MAX_BYTES + 1 <= WINDOW_NAME_MAX,
	       "a term or a hashtag is kept whole");

struct window_terms {
	uint32_t refs;
	const struct fold *fold;
	size_t text_len;
	char text[]; /* the mention's text, NUL-terminated */
};

struct open_bucket {
	int64_t start_ms;
	int64_t count;
	struct tally authors;
	struct tally langs;
	struct tally terms;
	struct tally hashtags; /* from tref only */
	/* the shared terms of the mentions counted, in order, not yet in
	 * terms (tallied by fill_from; see struct window_terms) */
	struct window_terms **tref;
	size_t n_tref;
	/* trefs already in the tallies (series_peek tallied them, keeping
	 * them for the exact count at close) */
	size_t n_tref_tallied;
	size_t cap_tref;
	const struct series *owner; /* whose exclusions apply to tref */
	struct sample *ring; /* owned; max_samples slots, NULL until needed */
	size_t ring_slots;   /* max_samples once ring is allocated */
	size_t n_ring;
	size_t head; /* the slot the next sample goes to */
};

/*
 * Closed buckets whose memory a series keeps. One would do for a stream
 * that closes a bucket per bucket it opens, but with lateness two buckets
 * are often open, then close together: with one spare, the second was
 * freed and the next bucket allocated afresh.
 */
#define SERIES_SPARES 2

struct series {
	int64_t bucket_ms;
	size_t max_samples;
	int64_t next_ms; /* first bucket not handed out; INT64_MIN unknown */
	struct open_bucket *open; /* owned; sorted by start_ms */
	size_t n_open;
	size_t cap_open;
	/* Closed buckets' tallies and sample buffers, cleared, for the next
	 * buckets to open: a bucket costs no allocation once warm. */
	struct open_bucket spare[SERIES_SPARES];
	size_t n_spare;
	/* Empty holders for the raw part of lazily closed buckets (their
	 * contents are copied in and out by value): a lazy pop costs no
	 * malloc once warm either. */
	struct open_bucket *shell[SERIES_SPARES];
	size_t n_shell;
	/* owned; the words never counted as terms, end to end NUL-terminated,
	 * with their hashes: checked for every term of every mention */
	char *exclude;
	uint32_t *exclude_hash;
	uint32_t *exclude_off;
	size_t n_exclude;
};

void watermark_init(struct watermark *w)
{
	memset(w, 0, sizeof(*w));
}

void watermark_observe(struct watermark *w, int64_t event_ms, int64_t now_ms)
{
	if (!w->has_event || event_ms > w->max_event_ms) {
		w->max_event_ms = event_ms;
	}
	w->has_event = true;
	w->last_arrival_ms = now_ms;
}

static int64_t sat_add(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r)) {
		return b > 0 ? INT64_MAX : INT64_MIN;
	}
	return r;
}

int64_t watermark_at(const struct watermark *w, int64_t lateness_ms,
		     int64_t now_ms)
{
	int64_t idle = 0;

	if (!w->has_event) {
		return INT64_MIN;
	}
	/* A wall clock stepping back must not pull the watermark back. */
	if (now_ms > w->last_arrival_ms) {
		idle = sat_add(now_ms, -w->last_arrival_ms);
	}
	return sat_add(sat_add(w->max_event_ms, -lateness_ms), idle);
}

int64_t window_bucket_start(int64_t t_ms, int64_t bucket_ms)
{
	int64_t r = t_ms % bucket_ms;

	HARK_ASSERT(bucket_ms > 0);
	if (r < 0) {
		r += bucket_ms;
	}
	return t_ms - r;
}

struct series *series_new(int64_t bucket_ms, size_t max_samples)
{
	struct series *s = xcalloc(1, sizeof(*s));

	HARK_ASSERT(bucket_ms > 0);
	s->bucket_ms = bucket_ms;
	s->max_samples = max_samples;
	s->next_ms = INT64_MIN;
	return s;
}

static void tally_fini(struct tally *t)
{
	free(t->index);
	free(t->entries);
	free(t->names);
	free(t->err);
	free(t->scratch);
	memset(t, 0, sizeof(*t));
}

/*
 * A recycled buffer keeps room for twice what its last bucket used (at
 * least a first allocation's worth), and is cut back to that once it holds
 * more than SPARE_SLACK times as much: a rule's memory follows what its
 * stream needs now, not the largest bucket it ever had (one spike, its
 * references and a full table of distinct values, would otherwise stay
 * allocated for good in every spare of the rule).
 */
#define SPARE_SLACK 4

static size_t spare_room(size_t used, size_t least)
{
	return used > least / 2 ? 2 * used : least;
}

/*
 * Cuts an empty t back to room entries and names_room bytes of names,
 * each when past SPARE_SLACK times it.
 */
static void tally_fit(struct tally *t, size_t room, size_t names_room)
{
	if (room > t->distinct) {
		room = t->distinct;
	}
	if (names_room > TALLY_ARENA(t->distinct)) {
		names_room = TALLY_ARENA(t->distinct);
	}
	if (t->cap > SPARE_SLACK * room) {
		t->entries =
			xreallocarray(t->entries, room, sizeof(t->entries[0]));
		t->cap = room;
		/* a table that cannot fill has nothing to evict */
		free(t->err);
		t->err = NULL;
		free(t->scratch);
		t->scratch = NULL;
	}
	if (t->names_cap > SPARE_SLACK * names_room) {
		t->names = xrealloc(t->names, names_room);
		t->names_cap = names_room;
	}
}

/* Empties t, keeping its memory. */
static void tally_clear(struct tally *t)
{
	if (t->n > 0) {
		memset(t->index, 0, 2 * t->distinct * sizeof(t->index[0]));
	}
	t->n = 0;
	t->n_cand = 0;
	t->names_len = 0;
}

static const char *tally_name(const struct tally *t, size_t e)
{
	return t->names + t->entries[e].name;
}

static int64_t tally_err(const struct tally *t, size_t e)
{
	return t->err != NULL ? t->err[e] : 0;
}

/*
 * Whether a and b's first n bytes are the same; a loop, not memcmp: names
 * are short, and the call and its set-up cost more than the compare (this
 * runs for every author, language and term counted).
 */
static bool same_bytes(const char *a, const char *b, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (a[k] != b[k]) {
			return false;
		}
	}
	return true;
}

/* Length of s (n bytes) cut to max bytes, never inside a code point. */
static size_t utf8_cut(const char *s, size_t n, size_t max)
{
	if (n <= max) {
		return n;
	}
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
		n--;
	}
	return n;
}

/*
 * The entry to give a new value, t being full: one of least count. The
 * candidates are the entries one scan found at the least count, each
 * checked again when its turn comes (counted since, or taken by a new
 * value at min_count + 1: no longer least); a scan happens only when none
 * is left. After a scan at minimum m, every entry at m is then either
 * counted again or replaced by a value starting at m + 1, so each scan's
 * minimum is above the last one's; and the minimum of distinct entries
 * whose counts sum to N values counted is at most N / distinct. The scans
 * thus cost N + distinct steps in all, amortised O(1) per value, while
 * the values already in the table (the common case) pay nothing: no heap
 * or count-ordered lists to keep up on every increment.
 */
static size_t tally_victim(struct tally *t)
{
	for (;;) {
		while (t->n_cand > 0) {
			size_t k = t->scratch[--t->n_cand];

			if (t->entries[k].count == t->min_count) {
				return k;
			}
		}
		t->min_count = t->entries[0].count;
		for (size_t k = 1; k < t->n; k++) {
			if (t->entries[k].count < t->min_count) {
				t->min_count = t->entries[k].count;
			}
		}
		/* pushed from the last, so the lowest entry goes first */
		for (size_t k = t->n; k-- > 0;) {
			if (t->entries[k].count == t->min_count) {
				t->scratch[t->n_cand++] = (uint32_t)k;
			}
		}
	}
}

/*
 * Takes entry e out of t's index. Linear probing cannot leave a hole (a
 * later value of the same run would no longer be found): the run after
 * it shifts back over it, each entry as far as its home slot allows
 * (backward-shift deletion, no tombstones to sweep).
 */
static void index_remove(struct tally *t, size_t mask, size_t e)
{
	size_t hole = t->entries[e].hash & mask;
	size_t j;

	while (t->index[hole] != e + 1) {
		hole = (hole + 1) & mask;
	}
	for (j = (hole + 1) & mask; t->index[j] != 0; j = (j + 1) & mask) {
		size_t home = t->entries[t->index[j] - 1].hash & mask;

		/* it may move back unless its home lies after the hole */
		if (((j - home) & mask) >= ((j - hole) & mask)) {
			t->index[hole] = t->index[j];
			hole = j;
		}
	}
	t->index[hole] = 0;
}

static int u32_cmp(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa;
	uint32_t b = *(const uint32_t *)pb;

	return a < b ? -1 : a > b;
}

/*
 * Packs t's names at the arena's start, in the order they lie (so each
 * moves down, never over one not moved yet), but entry skip's, whose
 * value is being replaced; each keeps its length as its room. Uses the
 * scratch array, so the candidates are found again.
 */
static void names_compact(struct tally *t, size_t skip)
{
	size_t m = 0, o = 0;

	for (size_t k = 0; k < t->n; k++) {
		if (k != skip) {
			t->scratch[m++] = (uint32_t)t->entries[k].name << 16 |
					  (uint32_t)k;
		}
	}
	if (m > 1) {
		qsort(t->scratch, m, sizeof(t->scratch[0]), u32_cmp);
	}
	for (size_t j = 0; j < m; j++) {
		struct tally_entry *e = &t->entries[t->scratch[j] & 0xFFFF];

		memmove(t->names + o, t->names + e->name, e->len + 1u);
		e->name = (uint16_t)o;
		e->room = e->len;
		o += e->len + 1u;
	}
	t->names_len = o;
	t->n_cand = 0;
}

/*
 * Writes v (vlen bytes) as entry k's name: over its old name when reuse
 * (k's value was evicted) and it fits, else at the arena's end.
 */
static void name_put(struct tally *t, size_t k, const char *v, size_t vlen,
		     bool reuse)
{
	struct tally_entry *e = &t->entries[k];
	size_t need = vlen + 1;

	if (!reuse || vlen > e->room) {
		/* only a full table has dead names to drop; with the other
		 * entries' names (at most distinct - 1 of TALLY_SLOT) this
		 * one then fits */
		if (t->names_len + need > TALLY_ARENA(t->distinct)) {
			names_compact(t, k);
		}
		if (t->names_len + need > t->names_cap) {
			size_t cap = t->names_cap ? 2 * t->names_cap
						  : TALLY_NAMES_FIRST;

			if (cap < t->names_len + need) {
				cap = t->names_len + need;
			}
			if (cap > TALLY_ARENA(t->distinct)) {
				cap = TALLY_ARENA(t->distinct);
			}
			t->names = xrealloc(t->names, cap);
			t->names_cap = cap;
		}
		e->name = (uint16_t)t->names_len;
		e->room = (uint8_t)vlen;
		t->names_len += need;
	}
	memcpy(t->names + e->name, v, vlen);
	t->names[e->name + vlen] = '\0';
	e->len = (uint8_t)vlen;
}

/*
 * Counts the value v (vlen bytes, no NUL needed, hash h) in t, which holds
 * at most distinct values (always the same for a given t).
 */
static void tally_add_hashed(struct tally *t, size_t distinct, const char *v,
			     size_t vlen, uint32_t h)
{
	size_t mask = 2 * distinct - 1; /* distinct is a power of two */
	size_t i, k;
	struct tally_entry *e;
	bool full = t->n == distinct;

	if (vlen == 0) {
		return;
	}
	if (vlen > WINDOW_NAME_MAX) {
		vlen = utf8_cut(v, vlen, WINDOW_NAME_MAX);
		h = terms_hash(v, vlen);
	}
	if (t->index == NULL) {
		t->index = xcalloc(mask + 1, sizeof(t->index[0]));
		t->distinct = distinct;
	}
	for (i = h & mask; t->index[i] != 0; i = (i + 1) & mask) {
		e = &t->entries[t->index[i] - 1];
		if (e->hash == h && e->len == vlen &&
		    same_bytes(tally_name(t, t->index[i] - 1u), v, vlen)) {
			e->count++;
			return;
		}
	}
	if (!full) {
		if (t->n == t->cap) {
			t->cap = t->cap ? 2 * t->cap : TALLY_FIRST;
			t->entries = xreallocarray(t->entries, t->cap,
						   sizeof(t->entries[0]));
		}
		k = t->n++;
		t->entries[k].count = 1;
		if (t->err != NULL) {
			t->err[k] = 0;
		}
	} else {
		if (t->err == NULL) {
			t->err = xcalloc(distinct, sizeof(t->err[0]));
			t->scratch = xmalloc(distinct * sizeof(t->scratch[0]));
		}
		k = tally_victim(t);
		index_remove(t, mask, k);
		/* the removal may have emptied a slot before i */
		for (i = h & mask; t->index[i] != 0; i = (i + 1) & mask) {
		}
		t->entries[k].count = t->min_count + 1;
		t->err[k] = t->min_count;
	}
	t->entries[k].hash = h;
	name_put(t, k, v, vlen, full);
	t->index[i] = (uint16_t)(k + 1);
}

static void tally_add(struct tally *t, size_t distinct, const char *v)
{
	size_t n = strlen(v);

	tally_add_hashed(t, distinct, v, n, terms_hash(v, n));
}

/*
 * Ranks by guaranteed count (count - err), most first, then by count,
 * then by name (unique in a tally). By the guaranteed count: in a flat
 * stream (every author new) the table's counts are mostly inherited, and
 * a value seen twice at the end would outrank one seen eight times from
 * the start; what is shown first is what is known.
 */
static int top_cmp(const void *pa, const void *pb)
{
	const struct window_top *a = pa;
	const struct window_top *b = pb;

	if (a->count - a->err != b->count - b->err) {
		return a->count - a->err > b->count - b->err ? -1 : 1;
	}
	if (a->count != b->count) {
		return a->count > b->count ? -1 : 1;
	}
	return strcmp(a->name, b->name);
}

/* Bytes t's names take, NULs included. */
static size_t tally_name_bytes(const struct tally *t)
{
	size_t need = 0;

	for (size_t k = 0; k < t->n; k++) {
		need += t->entries[k].len + 1;
	}
	return need;
}

/* Copies every value of t into out[], ranked, their names at *str. */
static void tally_rank(const struct tally *t, struct window_top *out,
		       char **str)
{
	for (size_t k = 0; k < t->n; k++) {
		size_t len = t->entries[k].len + 1;

		memcpy(*str, tally_name(t, k), len);
		out[k].name = *str;
		out[k].count = t->entries[k].count;
		out[k].err = tally_err(t, k);
		*str += len;
	}
	/* an empty table has no array: qsort must not see its NULL */
	if (t->n > 1) {
		qsort(out, t->n, sizeof(out[0]), top_cmp);
	}
}

struct window_terms *window_terms_new_text(const struct fold *f,
					   const char *text, size_t len)
{
	struct window_terms *t;

	if (len > TERMS_TEXT_MAX) {
		len = TERMS_TEXT_MAX;
	}
	t = xmalloc(sizeof(*t) + len + 1);
	t->refs = 1;
	t->fold = f;
	t->text_len = len;
	memcpy(t->text, text, len);
	t->text[len] = '\0';
	return t;
}

void window_terms_release(struct window_terms *t)
{
	if (t != NULL && --t->refs == 0) {
		free(t);
	}
}

/* Drops b's references to shared terms (keeping the array). */
static void drop_trefs(struct open_bucket *b)
{
	for (size_t i = 0; i < b->n_tref; i++) {
		window_terms_release(b->tref[i]);
	}
	b->n_tref = 0;
	b->n_tref_tallied = 0;
}

static void open_bucket_fini(struct open_bucket *b)
{
	drop_trefs(b);
	free(b->tref);
	b->tref = NULL;
	b->cap_tref = 0;
	tally_fini(&b->authors);
	tally_fini(&b->langs);
	tally_fini(&b->terms);
	tally_fini(&b->hashtags);
	if (b->ring != NULL) {
		/* a recycled ring has buffers past n_ring */
		for (size_t i = 0; i < b->ring_slots; i++) {
			free(b->ring[i].buf);
		}
	}
	free(b->ring);
	b->ring = NULL;
	b->ring_slots = 0;
	b->n_ring = 0;
}

/* Whether b holds memory of its own (a bucket with no author, language,
 * term, hashtag or sample never allocated any). */
static bool has_memory(const struct open_bucket *b)
{
	return b->authors.index != NULL || b->langs.index != NULL ||
	       b->terms.index != NULL || b->hashtags.index != NULL ||
	       b->ring != NULL || b->tref != NULL;
}

/* The room a recycled bucket keeps (see SPARE_SLACK). */
struct bucket_need {
	size_t refs;
	/* authors, languages, terms, hashtags */
	size_t entries[4];
	size_t names[4];
};

/* Cuts an empty b's buffers back to need when past SPARE_SLACK times it. */
static void bucket_fit(struct open_bucket *b, const struct bucket_need *need)
{
	if (b->tref != NULL && b->cap_tref > SPARE_SLACK * need->refs) {
		b->tref =
			xreallocarray(b->tref, need->refs, sizeof(b->tref[0]));
		b->cap_tref = need->refs;
	}
	tally_fit(&b->authors, need->entries[0], need->names[0]);
	tally_fit(&b->langs, need->entries[1], need->names[1]);
	tally_fit(&b->terms, need->entries[2], need->names[2]);
	tally_fit(&b->hashtags, need->entries[3], need->names[3]);
}

/*
 * Keeps b's memory, emptied, as a spare of the series for a next bucket
 * to open; frees it when the series has enough spares.
 */
static void recycle_open(struct series *s, struct open_bucket *b)
{
	if (!has_memory(b)) {
		return;
	}
	if (s->n_spare == SERIES_SPARES) {
		open_bucket_fini(b);
		return;
	}
	/* What this bucket needed fits every spare, the older ones too (the
	 * last spare in is the first out: the others would stay as large as
	 * ever while one bucket at a time is open). count: every mention
	 * had a reference. */
	struct bucket_need need = {
		spare_room((size_t)b->count, TREF_FIRST),
		{spare_room(b->authors.n, TALLY_FIRST),
		 spare_room(b->langs.n, TALLY_FIRST),
		 spare_room(b->terms.n, TALLY_FIRST),
		 spare_room(b->hashtags.n, TALLY_FIRST)},
		{spare_room(b->authors.names_len, TALLY_NAMES_FIRST),
		 spare_room(b->langs.names_len, TALLY_NAMES_FIRST),
		 spare_room(b->terms.names_len, TALLY_NAMES_FIRST),
		 spare_room(b->hashtags.names_len, TALLY_NAMES_FIRST)},
	};

	drop_trefs(b);
	tally_clear(&b->authors);
	tally_clear(&b->langs);
	tally_clear(&b->terms);
	tally_clear(&b->hashtags);
	b->n_ring = 0;
	b->head = 0;
	b->count = 0;
	s->spare[s->n_spare++] = *b;
	for (size_t i = 0; i < s->n_spare; i++) {
		bucket_fit(&s->spare[i], &need);
	}
}

static size_t tally_bytes(const struct tally *t)
{
	return (t->index != NULL ? 2 * t->distinct * sizeof(t->index[0]) : 0) +
	       t->cap * sizeof(t->entries[0]) + t->names_cap +
	       (t->err != NULL ? t->distinct * (sizeof(t->err[0]) +
						sizeof(t->scratch[0]))
			       : 0);
}

/* The memory b holds of its own (not the shared texts it refers to). */
static size_t bucket_bytes(const struct open_bucket *b)
{
	size_t n = b->cap_tref * sizeof(b->tref[0]) + tally_bytes(&b->authors) +
		   tally_bytes(&b->langs) + tally_bytes(&b->terms) +
		   tally_bytes(&b->hashtags);

	if (b->ring != NULL) {
		n += b->ring_slots * sizeof(b->ring[0]);
		for (size_t i = 0; i < b->ring_slots; i++) {
			n += b->ring[i].cap;
		}
	}
	return n;
}

size_t series_bytes(const struct series *s)
{
	size_t n = sizeof(*s) + s->cap_open * sizeof(s->open[0]) +
		   s->n_shell * sizeof(*s->shell[0]);

	for (size_t i = 0; i < s->n_open; i++) {
		n += bucket_bytes(&s->open[i]);
	}
	for (size_t i = 0; i < s->n_spare; i++) {
		n += bucket_bytes(&s->spare[i]);
	}
	return n;
}

/* Removes open[i]; the caller recycled or took its memory. */
static void remove_open(struct series *s, size_t i)
{
	memmove(&s->open[i], &s->open[i + 1],
		(s->n_open - i - 1) * sizeof(s->open[0]));
	s->n_open--;
}

void series_free(struct series *s)
{
	if (s == NULL) {
		return;
	}
	for (size_t i = 0; i < s->n_open; i++) {
		open_bucket_fini(&s->open[i]);
	}
	for (size_t i = 0; i < s->n_spare; i++) {
		open_bucket_fini(&s->spare[i]);
	}
	for (size_t i = 0; i < s->n_shell; i++) {
		free(s->shell[i]);
	}
	free(s->exclude);
	free(s->exclude_hash);
	free(s->exclude_off);
	free(s->open);
	free(s);
}

void series_set_next(struct series *s, int64_t next_start_ms)
{
	next_start_ms = window_bucket_start(next_start_ms, s->bucket_ms);
	/* Buckets before it were evaluated by someone else; they would never
	 * come out, so drop them now. */
	while (s->n_open > 0 && s->open[0].start_ms < next_start_ms) {
		recycle_open(s, &s->open[0]);
		remove_open(s, 0);
	}
	s->next_ms = next_start_ms;
}

int64_t series_next(const struct series *s)
{
	return s->next_ms;
}

/* Index of the first open bucket with start >= start_ms. */
static size_t lower_bound(const struct series *s, int64_t start_ms)
{
	size_t lo = 0, hi = s->n_open;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->open[mid].start_ms < start_ms) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo;
}

/* Length of text cut to max bytes, never inside a code point. */
static size_t cut_text(const char *text, size_t max)
{
	return utf8_cut(text, strnlen(text, max + 1), max);
}

/* The lengths pack_sample copies of m's fields into len[]. */
static void sample_lens(const struct mention *m, size_t *len)
{
	const char *f[N_FIELDS] = {m->id,  m->text,   m->lang, m->author,
				   m->url, m->source, m->tags};

	for (int i = 0; i < N_FIELDS; i++) {
		len[i] = f[i] == NULL  ? 0
			 : i == F_TEXT ? cut_text(f[i], SAMPLE_TEXT_BYTES)
				       : strlen(f[i]);
	}
}

/* Packs m's fields, len[i] bytes of each (sample_lens), into sm. */
static void pack_sample(struct sample *sm, const struct mention *m,
			const size_t *len)
{
	const char *f[N_FIELDS] = {m->id,  m->text,   m->lang, m->author,
				   m->url, m->source, m->tags};
	size_t need = 0, o = 0;

	for (int i = 0; i < N_FIELDS; i++) {
		need += len[i] + 1;
	}
	if (need > sm->cap) {
		free(sm->buf);
		sm->cap = need < 1024 ? 1024 : need;
		sm->buf = xmalloc(sm->cap);
	}
	for (int i = 0; i < N_FIELDS; i++) {
		if (f[i] == NULL) {
			sm->off[i] = UINT32_MAX;
			continue;
		}
		sm->off[i] = (uint32_t)o;
		memcpy(sm->buf + o, f[i], len[i]);
		o += len[i];
		sm->buf[o++] = '\0';
	}
	sm->len = o;
	sm->created_at_ms = m->created_at_ms;
	sm->has_created_at = m->has_created_at;
}

static char *unpack_field(const struct sample *sm, char *str, int i)
{
	return sm->off[i] == UINT32_MAX ? NULL : str + sm->off[i];
}

/* Fills *m with pointers into str, where the caller copied sm's buffer. */
static void unpack_sample(const struct sample *sm, char *str, struct mention *m)
{
	memcpy(str, sm->buf, sm->len);
	m->id = unpack_field(sm, str, F_ID);
	m->text = unpack_field(sm, str, F_TEXT);
	m->lang = unpack_field(sm, str, F_LANG);
	m->author = unpack_field(sm, str, F_AUTHOR);
	m->url = unpack_field(sm, str, F_URL);
	m->source = unpack_field(sm, str, F_SOURCE);
	m->tags = unpack_field(sm, str, F_TAGS);
	m->created_at_ms = sm->created_at_ms;
	m->has_created_at = sm->has_created_at;
}

static void keep_sample(struct series *s, struct open_bucket *b,
			const struct mention *m, const size_t *len)
{
	size_t own[N_FIELDS];

	if (s->max_samples == 0 || m == NULL) {
		return;
	}
	if (b->ring == NULL) {
		b->ring = xcalloc(s->max_samples, sizeof(b->ring[0]));
		b->ring_slots = s->max_samples;
	}
	if (b->n_ring < s->max_samples) {
		b->n_ring++;
	}
	if (len == NULL) {
		sample_lens(m, own);
		len = own;
	}
	/* the slot's buffer is reused for the newer sample */
	pack_sample(&b->ring[b->head], m, len);
	b->head = (b->head + 1) % s->max_samples;
}

/*
 * The next token of " tok tok " (len bytes) from *i into *tok and *n;
 * false at the end.
 */
static bool next_token(const char *tokens, size_t len, size_t *i,
		       const char **tok, size_t *n)
{
	while (*i < len && tokens[*i] == ' ') {
		(*i)++;
	}
	*tok = tokens + *i;
	while (*i < len && tokens[*i] != ' ') {
		(*i)++;
	}
	*n = (size_t)(tokens + *i - *tok);
	return *n > 0;
}

void series_exclude_terms(struct series *s, const char *tokens, size_t len)
{
	const char *tok;
	size_t n, i = 0, k = 0, o = 0;

	free(s->exclude);
	free(s->exclude_hash);
	free(s->exclude_off);
	s->n_exclude = 0;
	while (next_token(tokens, len, &i, &tok, &n)) {
		k++;
	}
	s->exclude = xmalloc(len + 1);
	s->exclude_hash = xcalloc(k + 1, sizeof(s->exclude_hash[0]));
	s->exclude_off = xcalloc(k + 1, sizeof(s->exclude_off[0]));
	i = 0;
	while (next_token(tokens, len, &i, &tok, &n)) {
		memcpy(s->exclude + o, tok, n);
		s->exclude[o + n] = '\0';
		s->exclude_hash[s->n_exclude] = terms_hash(tok, n);
		s->exclude_off[s->n_exclude++] = (uint32_t)o;
		o += n + 1;
	}
}

static bool excluded(const struct series *s, const char *tok, size_t n,
		     uint32_t h)
{
	for (size_t k = 0; k < s->n_exclude; k++) {
		const char *w = s->exclude + s->exclude_off[k];

		if (s->exclude_hash[k] == h && memcmp(w, tok, n) == 0 &&
		    w[n] == '\0') {
			return true;
		}
	}
	return false;
}

/* Tallies the tokens of " tok tok " in b, but the series' excluded ones. */
static void add_terms(const struct series *s, struct open_bucket *b,
		      const char *tokens, size_t len)
{
	const char *tok;
	size_t n, i = 0;

	while (next_token(tokens, len, &i, &tok, &n)) {
		uint32_t h = terms_hash(tok, n);

		if (!excluded(s, tok, n, h)) {
			tally_add_hashed(&b->terms, WINDOW_TERMS_DISTINCT, tok,
					 n, h);
		}
	}
}

/* Counts the tokens in c exactly, but the series' excluded ones. */
static void count_toks(const struct series *s, struct termcount *c,
		       const char *text, const struct terms_tok *toks, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		const char *tok = text + toks[k].off;

		if (!excluded(s, tok, toks[k].len, toks[k].hash)) {
			termcount_add(c, tok, toks[k].len, toks[k].hash);
		}
	}
}

/* Writes c into out's exact terms, in one block of its own. */
static void put_exact(const struct termcount *c, struct closed_bucket *out)
{
	size_t n = termcount_n(c);
	char *str;

	out->has_exact = true;
	out->exact_cut = termcount_cut(c);
	out->n_exact_terms = n;
	if (n == 0) {
		return;
	}
	out->exact_mem = xmalloc(n * sizeof(struct window_top) +
				 termcount_name_bytes(c));
	out->exact_terms = out->exact_mem;
	str = (char *)(out->exact_terms + n);
	for (size_t i = 0; i < n; i++) {
		const char *name = termcount_name(c, i);
		size_t len = strlen(name) + 1;

		memcpy(str, name, len);
		out->exact_terms[i].name = str;
		out->exact_terms[i].count = termcount_count(c, i);
		out->exact_terms[i].err = 0;
		str += len;
	}
}

/* add_terms for tokens already split and hashed. */
static void add_toks(const struct series *s, struct open_bucket *b,
		     const char *text, const struct terms_tok *toks, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		const char *tok = text + toks[k].off;

		if (!excluded(s, tok, toks[k].len, toks[k].hash)) {
			tally_add_hashed(&b->terms, WINDOW_TERMS_DISTINCT, tok,
					 toks[k].len, toks[k].hash);
		}
	}
}

/* Tallies the hashtags found in ts (terms_of) in b, but those whose word
 * the series excludes. */
static void add_tags(const struct series *s, struct open_bucket *b,
		     const struct terms_scratch *ts)
{
	for (size_t k = 0; k < ts->n_tags; k++) {
		const char *tag = ts->tags.data + ts->tag_toks[k].off;
		size_t n = ts->tag_toks[k].len;

		if (!excluded(s, tag + 1, n - 1, terms_hash(tag + 1, n - 1))) {
			tally_add_hashed(&b->hashtags, WINDOW_HASHTAGS_DISTINCT,
					 tag, n, ts->tag_toks[k].hash);
		}
	}
}

enum series_add_result series_add(struct series *s, int64_t event_ms,
				  const struct mention *m)
{
	return series_add_terms(s, event_ms, m, NULL, 0);
}

/*
 * Counts m in the bucket of event_ms (opening it if needed) and returns
 * that bucket, or NULL when m is late.
 */
static struct open_bucket *count_in_bucket(struct series *s, int64_t event_ms,
					   const struct mention *m,
					   const struct window_mention *wm)
{
	int64_t start = window_bucket_start(event_ms, s->bucket_ms);
	size_t i;
	struct open_bucket *b;

	if (s->next_ms == INT64_MIN) {
		s->next_ms = start;
	}
	if (start < s->next_ms) {
		return NULL;
	}
	i = lower_bound(s, start);
	if (i == s->n_open || s->open[i].start_ms != start) {
		/* Only a stream spread over more future buckets than this
		 * (hostile timestamps) gets here; those mentions cannot be
		 * evaluated in order anyway, so they are reported as late. */
		if (s->n_open == SERIES_MAX_OPEN_BUCKETS) {
			return NULL;
		}
		if (s->n_open == s->cap_open) {
			s->cap_open = s->cap_open ? s->cap_open * 2 : 4;
			s->open = xreallocarray(s->open, s->cap_open,
						sizeof(s->open[0]));
		}
		memmove(&s->open[i + 1], &s->open[i],
			(s->n_open - i) * sizeof(s->open[0]));
		if (s->n_spare > 0) {
			s->open[i] = s->spare[--s->n_spare];
		} else {
			memset(&s->open[i], 0, sizeof(s->open[i]));
		}
		s->open[i].start_ms = start;
		s->n_open++;
	}
	b = &s->open[i];
	b->count++;
	if (wm != NULL) {
		if (m->author != NULL && wm->len[F_AUTHOR] > 0) {
			tally_add_hashed(&b->authors, WINDOW_TOP_DISTINCT,
					 m->author, wm->len[F_AUTHOR],
					 wm->author_hash);
		}
		if (m->lang != NULL && wm->len[F_LANG] > 0) {
			tally_add_hashed(&b->langs, WINDOW_TOP_DISTINCT,
					 m->lang, wm->len[F_LANG],
					 wm->lang_hash);
		}
	} else if (m != NULL) {
		if (m->author != NULL) {
			tally_add(&b->authors, WINDOW_TOP_DISTINCT, m->author);
		}
		if (m->lang != NULL) {
			tally_add(&b->langs, WINDOW_TOP_DISTINCT, m->lang);
		}
	}
	return b;
}

enum series_add_result series_add_terms(struct series *s, int64_t event_ms,
					const struct mention *m,
					const char *tokens, size_t len)
{
	struct open_bucket *b = count_in_bucket(s, event_ms, m, NULL);

	if (b == NULL) {
		return SERIES_LATE;
	}
	if (tokens != NULL) {
		add_terms(s, b, tokens, len);
	}
	keep_sample(s, b, m, NULL);
	return SERIES_COUNTED;
}

void window_mention_init(struct window_mention *wm, const struct mention *m)
{
	memset(wm, 0, sizeof(*wm));
	wm->m = m;
	sample_lens(m, wm->len);
	if (m->author != NULL) {
		wm->author_hash = terms_hash(m->author, wm->len[F_AUTHOR]);
	}
	if (m->lang != NULL) {
		wm->lang_hash = terms_hash(m->lang, wm->len[F_LANG]);
	}
}

enum series_add_result series_add_mention(struct series *s, int64_t event_ms,
					  const struct window_mention *wm)
{
	struct open_bucket *b = count_in_bucket(s, event_ms, wm->m, wm);

	if (b == NULL) {
		return SERIES_LATE;
	}
	if (wm->shared != NULL) {
		if (b->n_tref == b->cap_tref) {
			b->cap_tref =
				b->cap_tref ? b->cap_tref * 2 : TREF_FIRST;
			b->tref = xreallocarray(b->tref, b->cap_tref,
						sizeof(b->tref[0]));
		}
		wm->shared->refs++;
		b->tref[b->n_tref++] = wm->shared;
	} else if (wm->terms != NULL) {
		add_toks(s, b, wm->terms, wm->toks, wm->n_toks);
	}
	keep_sample(s, b, wm->m, wm->len);
	return SERIES_COUNTED;
}

/* How many of kind's values b's top_* hand out. */
static size_t top_n(const struct closed_bucket *b, enum window_kind kind)
{
	return b->n_ranked[kind] < WINDOW_TOP_N ? b->n_ranked[kind]
						: WINDOW_TOP_N;
}

/*
 * Writes b's samples (newest first) and ranked values into *out: the
 * samples, the values and all their strings in one block (out->mem), so a
 * bucket costs one malloc and one free when it is read.
 */
static void fill_from(struct open_bucket *b, struct closed_bucket *out,
		      bool closing)
{
	struct tally *tl[WINDOW_N_KINDS] = {&b->authors, &b->langs, &b->terms,
					    &b->hashtags};
	struct window_top *top;
	size_t need;
	char *str;

	/* The shared mentions' terms and hashtags, found and tallied now,
	 * in the order the mentions came: the same tables as tallying each
	 * as it was counted. */
	if (b->n_tref > 0) {
		struct terms_scratch ts;
		/* closing: every term counted exactly too (termcount.h) */
		struct termcount *tc = closing ? termcount_new() : NULL;

		terms_scratch_init(&ts);
		for (size_t i = 0; i < b->n_tref; i++) {
			const struct window_terms *t = b->tref[i];
			bool tally = i >= b->n_tref_tallied;
			size_t n;

			if (!tally && tc == NULL) {
				continue;
			}
			n = terms_of(&ts, t->fold, t->text, t->text_len);
			if (n > 0 && tally) {
				add_toks(b->owner, b, ts.out.data, ts.toks, n);
			}
			if (n > 0 && tc != NULL) {
				count_toks(b->owner, tc, ts.out.data, ts.toks,
					   n);
			}
			if (tally) {
				add_tags(b->owner, b, &ts);
			}
		}
		terms_scratch_fini(&ts);
		if (tc != NULL) {
			put_exact(tc, out);
			termcount_free(tc);
		}
	}
	if (closing) {
		drop_trefs(b);
	} else {
		b->n_tref_tallied = b->n_tref;
	}
	need = b->n_ring * sizeof(out->samples[0]);
	for (int k = 0; k < WINDOW_N_KINDS; k++) {
		need += tl[k]->n * sizeof(top[0]) + tally_name_bytes(tl[k]);
	}
	for (size_t k = 0; k < b->n_ring; k++) {
		need += b->ring[k].len;
	}
	out->n_samples = b->n_ring;
	if (need > 0) {
		/* arrays first (8-byte aligned), then the strings */
		out->mem = xmalloc(need);
		out->samples = b->n_ring > 0 ? out->mem : NULL;
		top = (struct window_top *)((char *)out->mem +
					    b->n_ring *
						    sizeof(out->samples[0]));
		for (int k = 0; k < WINDOW_N_KINDS; k++) {
			out->ranked[k] = tl[k]->n > 0 ? top : NULL;
			out->n_ranked[k] = tl[k]->n;
			top += tl[k]->n;
		}
		str = (char *)top;
		for (size_t k = 0; k < b->n_ring; k++) {
			const struct sample *sm =
				&b->ring[(b->head + b->ring_slots - 1 - k) %
					 b->ring_slots];

			unpack_sample(sm, str, &out->samples[k]);
			str += sm->len;
		}
		for (int k = 0; k < WINDOW_N_KINDS; k++) {
			tally_rank(tl[k], out->ranked[k], &str);
		}
	}
	out->top_authors = out->ranked[WINDOW_KIND_AUTHORS];
	out->n_top_authors = top_n(out, WINDOW_KIND_AUTHORS);
	out->top_langs = out->ranked[WINDOW_KIND_LANGS];
	out->n_top_langs = top_n(out, WINDOW_KIND_LANGS);
	out->top_terms = out->ranked[WINDOW_KIND_TERMS];
	out->n_top_terms = top_n(out, WINDOW_KIND_TERMS);
	out->top_hashtags = out->ranked[WINDOW_KIND_HASHTAGS];
	out->n_top_hashtags = top_n(out, WINDOW_KIND_HASHTAGS);
}

/*
 * Moves open bucket 0 into *out: filled now (eager), or its raw memory
 * moved whole into a holder for closed_bucket_fill (lazy).
 */
static void take_first(struct series *s, struct closed_bucket *out, bool lazy)
{
	struct open_bucket *b = &s->open[0];
	struct open_bucket *raw;

	out->start_ms = b->start_ms;
	out->end_ms = b->start_ms + s->bucket_ms;
	out->count = b->count;
	b->owner = s;
	if (!lazy) {
		fill_from(b, out, true);
		recycle_open(s, b);
	} else if (has_memory(b)) {
		raw = s->n_shell > 0 ? s->shell[--s->n_shell]
				     : xmalloc(sizeof(*raw));
		*raw = *b;
		out->raw = raw;
	}
	remove_open(s, 0);
}

static bool pop_closed(struct series *s, int64_t watermark_ms,
		       size_t max_gap_buckets, struct closed_bucket *out,
		       bool lazy)
{
	int64_t last_closed; /* start of the newest bucket that is closed */
	int64_t gap_end;     /* first bucket after the empty stretch */
	int64_t empty;

	memset(out, 0, sizeof(*out));
	if (s->next_ms == INT64_MIN ||
	    watermark_ms < INT64_MIN + 2 * s->bucket_ms ||
	    s->next_ms > INT64_MAX - 2 * s->bucket_ms) {
		return false;
	}
	last_closed =
		window_bucket_start(watermark_ms - s->bucket_ms, s->bucket_ms);
	if (s->next_ms > last_closed) {
		return false;
	}
	if (s->n_open > 0 && s->open[0].start_ms == s->next_ms) {
		take_first(s, out, lazy);
		s->next_ms += s->bucket_ms;
		return true;
	}
	gap_end = last_closed + s->bucket_ms;
	if (s->n_open > 0 && s->open[0].start_ms < gap_end) {
		gap_end = s->open[0].start_ms;
	}
	/* Counted in buckets, so a jump of centuries stays in range. */
	empty = gap_end / s->bucket_ms - s->next_ms / s->bucket_ms;
	if ((uint64_t)empty > max_gap_buckets) {
		s->next_ms = gap_end - (int64_t)max_gap_buckets * s->bucket_ms;
	}
	if (s->next_ms == gap_end) {
		/* max_gap_buckets == 0: the stretch is skipped entirely. */
		return pop_closed(s, watermark_ms, max_gap_buckets, out, lazy);
	}
	out->start_ms = s->next_ms;
	out->end_ms = s->next_ms + s->bucket_ms;
	s->next_ms += s->bucket_ms;
	return true;
}

bool series_pop_closed(struct series *s, int64_t watermark_ms,
		       size_t max_gap_buckets, struct closed_bucket *out)
{
	return pop_closed(s, watermark_ms, max_gap_buckets, out, false);
}

bool series_pop_closed_lazy(struct series *s, int64_t watermark_ms,
			    size_t max_gap_buckets, struct closed_bucket *out)
{
	return pop_closed(s, watermark_ms, max_gap_buckets, out, true);
}

void closed_bucket_fill(struct closed_bucket *b)
{
	/* filled already: its block is there, or nothing needed one (and
	 * filling again would write the same zeros) */
	if (b->raw == NULL || b->mem != NULL) {
		return;
	}
	fill_from(b->raw, b, true);
}

void series_reclaim(struct series *s, struct closed_bucket *b)
{
	struct open_bucket *raw = b->raw;

	if (raw == NULL) {
		return;
	}
	b->raw = NULL;
	/* A ring of another size (a bucket handed to another series) would
	 * be overrun by this series' samples. */
	if (s == NULL ||
	    (raw->ring != NULL && raw->ring_slots != s->max_samples)) {
		open_bucket_fini(raw);
		free(raw);
		return;
	}
	recycle_open(s, raw);
	if (s->n_shell < SERIES_SPARES) {
		s->shell[s->n_shell++] = raw;
	} else {
		free(raw);
	}
}

size_t series_open_counts(const struct series *s, int64_t *starts_ms,
			  int64_t *counts, size_t cap)
{
	size_t n = s->n_open < cap ? s->n_open : cap;

	for (size_t i = 0; i < n; i++) {
		starts_ms[i] = s->open[i].start_ms;
		counts[i] = s->open[i].count;
	}
	return n;
}

int64_t series_open_count(const struct series *s, int64_t start_ms)
{
	size_t i = lower_bound(s, start_ms);

	if (i < s->n_open && s->open[i].start_ms == start_ms) {
		return s->open[i].count;
	}
	return 0;
}

void closed_bucket_fini(struct closed_bucket *b)
{
	if (b->raw != NULL) {
		open_bucket_fini(b->raw);
		free(b->raw);
		b->raw = NULL;
	}
	free(b->mem);
	b->mem = NULL;
	free(b->exact_mem);
	b->exact_mem = NULL;
	b->exact_terms = NULL;
	b->n_exact_terms = 0;
	b->has_exact = false;
	b->exact_cut = false;
	b->samples = NULL;
	b->n_samples = 0;
	memset(b->ranked, 0, sizeof(b->ranked));
	memset(b->n_ranked, 0, sizeof(b->n_ranked));
	b->top_authors = NULL;
	b->top_langs = NULL;
	b->top_terms = NULL;
	b->top_hashtags = NULL;
	b->n_top_authors = 0;
	b->n_top_langs = 0;
	b->n_top_terms = 0;
	b->n_top_hashtags = 0;
}

size_t closed_bucket_top(const struct closed_bucket *b, enum window_kind kind,
			 struct window_top *out, size_t max)
{
	size_t n;

	HARK_ASSERT(kind >= 0 && kind < WINDOW_N_KINDS);
	n = b->n_ranked[kind] < max ? b->n_ranked[kind] : max;
	if (n > 0) {
		memcpy(out, b->ranked[kind], n * sizeof(out[0]));
	}
	return n;
}

bool series_peek(struct series *s, int64_t at_ms, struct closed_bucket *out)
{
	struct open_bucket *b = NULL;

	memset(out, 0, sizeof(*out));
	if (s->n_open == 0) {
		return false;
	}
	if (at_ms == INT64_MIN) {
		b = &s->open[s->n_open - 1];
	} else {
		size_t i = lower_bound(
			s, window_bucket_start(at_ms, s->bucket_ms));

		if (i < s->n_open &&
		    s->open[i].start_ms ==
			    window_bucket_start(at_ms, s->bucket_ms)) {
			b = &s->open[i];
		}
	}
	if (b == NULL) {
		return false;
	}
	out->start_ms = b->start_ms;
	out->end_ms = b->start_ms + s->bucket_ms;
	out->count = b->count;
	/* Tallying the texts counted so far now, in their order, is what
	 * closing would do first: the bucket's tables end the same. */
	b->owner = s;
	fill_from(b, out, false);
	return true;
}
