/* SPDX-License-Identifier: MIT */
/*
 * The embedded store: a chained hash table of key -> (bytes, expire_at),
 * expiry checked lazily on access, a cap on keys, and a versioned snapshot
 * file written atomically on close, in the background by a forked child
 * every snapshot interval (the loop never writes it), and loaded on open.
 * Commands run at once; their callbacks are queued and run in order from
 * the loop.
 */
#include "io/store.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/texthash.h"
#include "io/store_impl.h"
#include "util/log.h"
#include "util/timeutil.h"

#define SNAP_MAGIC "HARKSNAP 1\n"
#define INITIAL_BUCKETS 64
/* A snapshot larger than this is refused rather than read into memory. */
#define SNAP_MAX_BYTES ((size_t)4 << 30)

struct entry {
	struct entry *next;
	uint64_t hash;
	int64_t expire_at_ms; /* 0: never */
	char *key;            /* owned, NUL-terminated */
	size_t klen;
	char *val; /* owned, NUL-terminated (not counted in vlen) */
	size_t vlen;
	size_t vcap; /* bytes allocated at val (appends grow it twice) */
};

enum comp_kind {
	COMP_INT,
	COMP_STR,
	COMP_DONE,
};

/* A finished command waiting for its callback; owned by the queue. */
struct completion {
	struct completion *next;
	enum comp_kind kind;
	store_int_fn *int_cb;
	store_str_fn *str_cb;
	store_done_fn *done_cb;
	void *arg;
	int status;
	long long ival;
	char *val; /* owned; NULL for a missing key */
	size_t len;
};

struct store_mem {
	struct store st;
	struct event_base *base; /* borrowed */
	char *snapshot_path;     /* owned; NULL: no snapshot */
	struct entry **buckets;  /* owned */
	size_t nbuckets;         /* a power of two */
	size_t count;
	size_t max_keys;
	/* Keys an older version's counter could be among (loaded from a
	 * snapshot, or made by INCRBY): none, and count_put has no old key
	 * to read. */
	size_t legacy;
	size_t sweep_at; /* next bucket the incremental sweep looks at */
	struct completion *head;
	struct completion *tail;
	size_t npending;
	struct event *run_ev;
	bool closing;
	bool closed;
	store_done_fn *done;
	void *done_arg;
	/* Background snapshots (store_mem_set_snapshot_interval). */
	int64_t snap_interval_ms; /* 0: only at close */
	struct event *snap_ev;    /* polls the child, starts the next save */
	pid_t snap_child;         /* the save running, or 0 */
	int64_t snap_next_ms;     /* monotonic: the next save is due */
	uint64_t writes;          /* writes so far */
	uint64_t snap_writes;     /* writes the last save started with */
};

static const struct timeval zero_tv = {0, 0};

static uint64_t hash_key(const char *key, size_t klen)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < klen; i++) {
		h ^= (unsigned char)key[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static void entry_free(struct entry *e)
{
	free(e->key);
	free(e->val);
	free(e);
}

static bool expired(const struct entry *e, int64_t now_ms)
{
	return e->expire_at_ms != 0 && e->expire_at_ms <= now_ms;
}

/* Finds key, dropping it on the way if it has expired. */
static struct entry *lookup(struct store_mem *ms, const char *key, size_t klen,
			    int64_t now_ms)
{
	uint64_t h = hash_key(key, klen);
	struct entry **pp = &ms->buckets[h & (ms->nbuckets - 1)];

	while (*pp != NULL) {
		struct entry *e = *pp;

		if (e->hash == h && e->klen == klen &&
		    memcmp(e->key, key, klen) == 0) {
			if (expired(e, now_ms)) {
				*pp = e->next;
				entry_free(e);
				ms->count--;
				return NULL;
			}
			return e;
		}
		pp = &e->next;
	}
	return NULL;
}

#define SWEEP_STEP 256

static void sweep_some(struct store_mem *ms, int64_t now_ms)
{
	for (size_t n = 0; n < SWEEP_STEP && n < ms->nbuckets; n++) {
		struct entry **pp;

		ms->sweep_at &= ms->nbuckets - 1;
		pp = &ms->buckets[ms->sweep_at++];
		while (*pp != NULL) {
			struct entry *e = *pp;

			if (expired(e, now_ms)) {
				*pp = e->next;
				entry_free(e);
				ms->count--;
			} else {
				pp = &e->next;
			}
		}
	}
}

static void grow(struct store_mem *ms)
{
	size_t n = ms->nbuckets * 2;
	struct entry **nb = xcalloc(n, sizeof(*nb));

	for (size_t i = 0; i < ms->nbuckets; i++) {
		struct entry *e = ms->buckets[i];

		while (e != NULL) {
			struct entry *next = e->next;
			size_t j = e->hash & (n - 1);

			e->next = nb[j];
			nb[j] = e;
			e = next;
		}
	}
	free(ms->buckets);
	ms->buckets = nb;
	ms->nbuckets = n;
}

/* Adds a new key with an empty value; NULL when the store is full. */
static struct entry *insert(struct store_mem *ms, const char *key, size_t klen,
			    int64_t now_ms)
{
	struct entry *e;
	size_t i;

	if (ms->count >= ms->max_keys) {
		/* A full sweep walks every key: when the store stays full,
		 * one per refused insert would make each write O(keys). Each
		 * attempt sweeps the next SWEEP_STEP buckets instead. */
		sweep_some(ms, now_ms);
		if (ms->count >= ms->max_keys) {
			return NULL;
		}
	}
	if (ms->count >= ms->nbuckets) {
		grow(ms);
	}
	e = xcalloc(1, sizeof(*e));
	e->hash = hash_key(key, klen);
	e->key = xstrndup(key, klen);
	e->klen = klen;
	e->val = xstrdup("");
	e->vcap = 1;
	i = e->hash & (ms->nbuckets - 1);
	e->next = ms->buckets[i];
	ms->buckets[i] = e;
	ms->count++;
	return e;
}

static void entry_set_val(struct entry *e, const char *val, size_t len)
{
	char *v = xmalloc(len + 1);

	if (len > 0) {
		memcpy(v, val, len);
	}
	v[len] = '\0';
	free(e->val);
	e->val = v;
	e->vlen = len;
	e->vcap = len + 1;
}

/* Redis's rule: the whole value is a base-10 64-bit integer. */
static int parse_ll(const char *s, size_t len, long long *out)
{
	char *end;
	long long v;

	if (len == 0 || len > 20 || s[0] == ' ' || s[0] == '+' ||
	    s[0] == '\t') {
		return -1;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end != s + len) {
		return -1;
	}
	*out = v;
	return 0;
}

static void enqueue(struct store_mem *ms, struct completion *c)
{
	c->next = NULL;
	if (ms->tail != NULL) {
		ms->tail->next = c;
	} else {
		ms->head = c;
	}
	ms->tail = c;
	ms->npending++;
	evtimer_add(ms->run_ev, &zero_tv);
}

static void complete_int(struct store_mem *ms, store_int_fn *cb, void *arg,
			 int status, long long v)
{
	struct completion *c = xcalloc(1, sizeof(*c));

	c->kind = COMP_INT;
	c->int_cb = cb;
	c->arg = arg;
	c->status = status;
	c->ival = v;
	enqueue(ms, c);
}

static void mem_incrby(struct store *st, const char *key, long long delta,
		       int64_t ttl_ms, store_int_fn *cb, void *arg)
{
	struct store_mem *ms = (struct store_mem *)st;
	int64_t now_ms = timeutil_now_ms();
	size_t klen = strlen(key);
	struct entry *e;
	long long cur = 0;
	long long sum;
	char num[24];
	int n;

	if (ms->closing) {
		complete_int(ms, cb, arg, -1, 0);
		return;
	}
	ms->writes++;
	e = lookup(ms, key, klen, now_ms);
	if (e != NULL && parse_ll(e->val, e->vlen, &cur) != 0) {
		complete_int(ms, cb, arg, -1, 0);
		return;
	}
	if (__builtin_add_overflow(cur, delta, &sum)) {
		complete_int(ms, cb, arg, -1, 0);
		return;
	}
	if (e == NULL) {
		e = insert(ms, key, klen, now_ms);
		if (e == NULL) {
			complete_int(ms, cb, arg, -1, 0);
			return;
		}
		ms->legacy++;
	}
	n = snprintf(num, sizeof(num), "%lld", sum);
	entry_set_val(e, num, (size_t)n);
	if (ttl_ms > 0) {
		/* EXPIRE takes whole seconds. */
		e->expire_at_ms = now_ms + (ttl_ms + 999) / 1000 * 1000;
	}
	complete_int(ms, cb, arg, 0, sum);
}

/*
 * store_count_put. A count hash is kept as text, a line "FIELD VALUE" per
 * writer (a handful: one per daemon run that counted the bucket), so the
 * snapshot format holds it as any value. Writers' fields have no blanks.
 */
static int hash_sum(const char *v, size_t len, const char *field,
		    long long *sum, long long *mine, size_t *at, size_t *end)
{
	size_t flen = strlen(field), i = 0;

	*sum = *mine = 0;
	*at = *end = len;
	while (i < len) {
		const char *nl = memchr(v + i, '\n', len - i);
		size_t e = nl != NULL ? (size_t)(nl - v) : len;
		const char *sp = memchr(v + i, ' ', e - i);
		long long x;

		if (sp == NULL ||
		    parse_ll(sp + 1, (size_t)(v + e - sp - 1), &x) != 0 ||
		    __builtin_add_overflow(*sum, x, sum)) {
			return -1;
		}
		if ((size_t)(sp - (v + i)) == flen &&
		    memcmp(v + i, field, flen) == 0) {
			*mine = x;
			*at = i;
			*end = nl != NULL ? e + 1 : e;
		}
		i = e + 1;
	}
	return 0;
}

/* count_put, and count_raise (total false: answers 0). */
static void count_put_in(struct store_mem *ms, const char *key,
			 const char *old_key, const char *field,
			 long long value, int64_t ttl_ms, bool total,
			 store_int_fn *cb, void *arg)
{
	int64_t now_ms = timeutil_now_ms();
	struct entry *e, *o;
	long long sum = 0, mine = 0, old = 0;
	size_t at = 0, end = 0;

	if (ms->closing) {
		complete_int(ms, cb, arg, -1, 0);
		return;
	}
	e = lookup(ms, key, strlen(key), now_ms);
	if (e != NULL &&
	    hash_sum(e->val, e->vlen, field, &sum, &mine, &at, &end) != 0) {
		complete_int(ms, cb, arg, -1, 0);
		return;
	}
	if (value > mine) {
		/* The others' lines, then this writer's, last. */
		size_t flen = strlen(field),
		       rest = e != NULL ? e->vlen - end : 0;
		size_t len = at + rest + flen + 24;
		char small[256],
			*v = len <= sizeof(small) ? small : xmalloc(len);
		int n;

		ms->writes++;
		if (e == NULL) {
			e = insert(ms, key, strlen(key), now_ms);
			if (e == NULL) {
				complete_int(ms, cb, arg, -1, 0);
				return;
			}
		}
		memcpy(v, e->val, at);
		memcpy(v + at, e->val + end, rest);
		memcpy(v + at + rest, field, flen);
		n = snprintf(v + at + rest + flen, 24, " %lld\n", value);
		entry_set_val(e, v, at + rest + flen + (size_t)n);
		if (v != small) {
			free(v);
		}
		sum += value - mine;
	}
	if (e != NULL && ttl_ms > 0) {
		e->expire_at_ms = now_ms + ttl_ms;
	}
	o = old_key != NULL && ms->legacy > 0
		    ? lookup(ms, old_key, strlen(old_key), now_ms)
		    : NULL;
	if (o != NULL && parse_ll(o->val, o->vlen, &old) == 0) {
		sum += old;
	}
	complete_int(ms, cb, arg, 0, total ? sum : 0);
}

static void mem_count_put(struct store *st, const char *key,
			  const char *old_key, const char *field,
			  long long value, int64_t ttl_ms, store_int_fn *cb,
			  void *arg)
{
	count_put_in((struct store_mem *)st, key, old_key, field, value, ttl_ms,
		     true, cb, arg);
}

static void mem_count_raise(struct store *st, const char *key,
			    const char *field, long long value, int64_t ttl_ms,
			    store_int_fn *cb, void *arg)
{
	count_put_in((struct store_mem *)st, key, NULL, field, value, ttl_ms,
		     false, cb, arg);
}

/*
 * The entry a write to key goes to, made if missing; NULL after failing
 * the command (closing, or the key cap reached).
 */
static struct entry *writable(struct store_mem *ms, const char *key,
			      int64_t now_ms, store_int_fn *cb, void *arg)
{
	size_t klen = strlen(key);
	struct entry *e;

	if (ms->closing) {
		complete_int(ms, cb, arg, -1, 0);
		return NULL;
	}
	ms->writes++;
	e = lookup(ms, key, klen, now_ms);
	if (e == NULL) {
		e = insert(ms, key, klen, now_ms);
		if (e == NULL) {
			complete_int(ms, cb, arg, -1, 0);
		}
	}
	return e;
}

static void mem_append(struct store *st, const char *key, const char *val,
		       size_t len, int64_t ttl_ms, store_int_fn *cb, void *arg)
{
	struct store_mem *ms = (struct store_mem *)st;
	int64_t now_ms = timeutil_now_ms();
	struct entry *e = writable(ms, key, now_ms, cb, arg);

	if (e == NULL) {
		return;
	}
	if (e->val == NULL || e->vlen + len + 1 > e->vcap) {
		/* Doubling: a day of a rule's points is appended a bucket
		 * at a time. */
		size_t cap = e->vcap > 0 ? e->vcap : 64;

		while (cap < e->vlen + len + 1) {
			cap *= 2;
		}
		e->val = xrealloc(e->val, cap);
		e->vcap = cap;
	}
	memcpy(e->val + e->vlen, val, len);
	e->vlen += len;
	e->val[e->vlen] = '\0';
	if (ttl_ms > 0) {
		e->expire_at_ms = now_ms + ttl_ms;
	}
	complete_int(ms, cb, arg, 0, (long long)e->vlen);
}

static void mem_set(struct store *st, const char *key, const char *val,
		    size_t len, int64_t ttl_ms, store_int_fn *cb, void *arg)
{
	struct store_mem *ms = (struct store_mem *)st;
	int64_t now_ms = timeutil_now_ms();
	struct entry *e = writable(ms, key, now_ms, cb, arg);

	if (e == NULL) {
		return;
	}
	entry_set_val(e, val, len);
	e->expire_at_ms = ttl_ms > 0 ? now_ms + ttl_ms : 0;
	complete_int(ms, cb, arg, 0, 0);
}

static void complete_str(struct store_mem *ms, store_str_fn *cb, void *arg,
			 int status, char *val, size_t len)
{
	struct completion *c = xcalloc(1, sizeof(*c));

	c->kind = COMP_STR;
	c->str_cb = cb;
	c->arg = arg;
	c->status = status;
	c->val = val;
	c->len = len;
	enqueue(ms, c);
}

/* A copy of e's value (NULL for none): the value seen is the one at the
 * time of the call. */
static char *value_copy(const struct entry *e)
{
	char *v;

	if (e == NULL) {
		return NULL;
	}
	v = xmalloc(e->vlen + 1);
	memcpy(v, e->val, e->vlen + 1);
	return v;
}

static void mem_get(struct store *st, const char *key, store_str_fn *cb,
		    void *arg)
{
	struct store_mem *ms = (struct store_mem *)st;
	struct entry *e;

	if (ms->closing) {
		complete_str(ms, cb, arg, -1, NULL, 0);
		return;
	}
	e = lookup(ms, key, strlen(key), timeutil_now_ms());
	complete_str(ms, cb, arg, 0, value_copy(e), e != NULL ? e->vlen : 0);
}

static void mem_hash(struct store *st, const char *key, const char *field,
		     const char *value, int64_t ttl_ms, store_str_fn *cb,
		     void *arg)
{
	struct store_mem *ms = (struct store_mem *)st;
	int64_t now_ms = timeutil_now_ms();
	struct entry *e;
	char *text = NULL;
	size_t len = 0;

	if (ms->closing) {
		complete_str(ms, cb, arg, -1, NULL, 0);
		return;
	}
	e = lookup(ms, key, strlen(key), now_ms);
	if (field != NULL && (e != NULL || value != NULL)) {
		text = texthash_put(e != NULL ? e->val : "",
				    e != NULL ? e->vlen : 0, field, value,
				    &len);
		ms->writes++;
		if (e == NULL) {
			e = insert(ms, key, strlen(key), now_ms);
			if (e == NULL) {
				free(text);
				complete_str(ms, cb, arg, -1, NULL, 0);
				return;
			}
		}
		entry_set_val(e, text, len);
		free(text);
	}
	if (e != NULL && ttl_ms > 0) {
		e->expire_at_ms = now_ms + ttl_ms;
	}
	/* Redis has no empty hash: the last field removed, the key goes
	 * (expired now; the sweep frees it). */
	if (e != NULL && e->vlen == 0) {
		e->expire_at_ms = 1;
		e = NULL;
	}
	complete_str(ms, cb, arg, 0, value_copy(e), e != NULL ? e->vlen : 0);
}

static void mem_claim(struct store *st, const char *key, const char *val,
		      int64_t ttl_ms, store_int_fn *cb, void *arg)
{
	struct store_mem *ms = (struct store_mem *)st;
	int64_t now_ms = timeutil_now_ms();
	struct entry *e = lookup(ms, key, strlen(key), now_ms);

	if (e != NULL) {
		bool mine = e->vlen == strlen(val) &&
			    memcmp(e->val, val, e->vlen) == 0;

		if (mine && ttl_ms > 0 && !ms->closing) {
			e->expire_at_ms = now_ms + ttl_ms;
		}
		complete_int(ms, cb, arg, ms->closing ? -1 : 0, mine);
		return;
	}
	e = writable(ms, key, now_ms, cb, arg);
	if (e == NULL) {
		return;
	}
	entry_set_val(e, val, strlen(val));
	e->expire_at_ms = ttl_ms > 0 ? now_ms + ttl_ms : 0;
	complete_int(ms, cb, arg, 0, 1);
}

static void mem_release(struct store *st, const char *key, const char *val,
			store_int_fn *cb, void *arg)
{
	struct store_mem *ms = (struct store_mem *)st;
	struct entry *e = lookup(ms, key, strlen(key), timeutil_now_ms());
	bool mine = e != NULL && e->vlen == strlen(val) &&
		    memcmp(e->val, val, e->vlen) == 0;

	if (ms->closing) {
		complete_int(ms, cb, arg, -1, 0);
		return;
	}
	if (mine) {
		/* expired now; the sweep frees it */
		e->expire_at_ms = 1;
		ms->writes++;
	}
	complete_int(ms, cb, arg, 0, mine);
}

/* Completions run in order: this one after every earlier command's. */
static void mem_barrier(struct store *st, store_done_fn *cb, void *arg)
{
	struct completion *c = xcalloc(1, sizeof(*c));

	c->kind = COMP_DONE;
	c->done_cb = cb;
	c->arg = arg;
	enqueue((struct store_mem *)st, c);
}

static bool mem_up(const struct store *st)
{
	return true;
}

static size_t mem_pending(const struct store *st)
{
	const struct store_mem *ms = (const struct store_mem *)st;

	return ms->npending;
}

static void write_record(FILE *f, const struct entry *e)
{
	fprintf(f, "K %zu %zu %lld\n", e->klen, e->vlen,
		(long long)e->expire_at_ms);
	fwrite(e->key, 1, e->klen, f);
	fwrite(e->val, 1, e->vlen, f);
	fputc('\n', f);
}

static void fsync_dir(const char *path)
{
	char *copy = xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(copy);
}

/* tmp file in the same directory + fsync + rename: all or nothing.
 * background: in the forked child, success is logged at debug only. */
static int snapshot_save(struct store_mem *ms, bool background)
{
	char *tmp = xasprintf("%s.tmp.XXXXXX", ms->snapshot_path);
	int64_t now_ms = timeutil_now_ms();
	size_t n = 0;
	FILE *f = NULL;
	int fd;

	fd = mkstemp(tmp);
	if (fd < 0) {
		log_error("store", "snapshot save failed path=%s: %s",
			  ms->snapshot_path, strerror(errno));
		free(tmp);
		return -1;
	}
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		goto fail;
	}
	fputs(SNAP_MAGIC, f);
	for (size_t i = 0; i < ms->nbuckets; i++) {
		for (struct entry *e = ms->buckets[i]; e != NULL; e = e->next) {
			if (expired(e, now_ms)) {
				continue;
			}
			write_record(f, e);
			n++;
		}
	}
	fprintf(f, "END %zu\n", n);
	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0) {
		goto fail;
	}
	if (fclose(f) != 0) {
		f = NULL;
		goto fail;
	}
	f = NULL;
	if (rename(tmp, ms->snapshot_path) != 0) {
		goto fail;
	}
	fsync_dir(ms->snapshot_path);
	if (background) {
		log_debug("store",
			  "snapshot saved in the background path=%s "
			  "keys=%zu",
			  ms->snapshot_path, n);
	} else {
		log_info("store", "snapshot saved path=%s keys=%zu",
			 ms->snapshot_path, n);
	}
	free(tmp);
	return 0;
fail:
	log_error("store", "snapshot save failed path=%s: %s",
		  ms->snapshot_path, strerror(errno));
	if (f != NULL) {
		fclose(f);
	}
	unlink(tmp);
	free(tmp);
	return -1;
}

/* Reads a decimal number ending in term; pos is left at the failure. */
static int read_num(const char *buf, size_t len, size_t *pos, char term,
		    bool allow_minus, long long *out)
{
	size_t p = *pos;
	bool neg = false;
	unsigned long long v = 0;
	size_t digits = 0;

	if (allow_minus && p < len && buf[p] == '-') {
		neg = true;
		p++;
	}
	while (p < len && buf[p] >= '0' && buf[p] <= '9') {
		if (digits >= 18) {
			*pos = p;
			return -1;
		}
		v = v * 10 + (unsigned long long)(buf[p] - '0');
		digits++;
		p++;
	}
	if (digits == 0 || p >= len || buf[p] != term) {
		*pos = p;
		return -1;
	}
	*out = neg ? -(long long)v : (long long)v;
	*pos = p + 1;
	return 0;
}

static int snapshot_parse(struct store_mem *ms, const char *buf, size_t len,
			  size_t *bad_at, size_t *loaded)
{
	size_t magic_len = strlen(SNAP_MAGIC);
	int64_t now_ms = timeutil_now_ms();
	size_t pos = 0;
	size_t records = 0;
	size_t count_at;
	long long klen;
	long long vlen;
	long long exp;
	long long end_count;

	for (pos = 0; pos < magic_len; pos++) {
		if (pos >= len || buf[pos] != SNAP_MAGIC[pos]) {
			*bad_at = pos;
			return -1;
		}
	}
	*loaded = 0;
	while (pos < len && buf[pos] == 'K') {
		size_t rec_at = pos;
		struct entry *e;

		if (pos + 1 >= len || buf[pos + 1] != ' ') {
			*bad_at = pos + 1;
			return -1;
		}
		pos += 2;
		if (read_num(buf, len, &pos, ' ', false, &klen) != 0 ||
		    read_num(buf, len, &pos, ' ', false, &vlen) != 0 ||
		    read_num(buf, len, &pos, '\n', false, &exp) != 0) {
			*bad_at = pos;
			return -1;
		}
		if ((unsigned long long)klen > len - pos ||
		    (unsigned long long)vlen > len - pos - (size_t)klen ||
		    len - pos - (size_t)klen - (size_t)vlen < 1) {
			*bad_at = len;
			return -1;
		}
		if (buf[pos + (size_t)klen + (size_t)vlen] != '\n' ||
		    memchr(buf + pos, '\0', (size_t)klen) != NULL) {
			*bad_at = pos + (size_t)klen + (size_t)vlen;
			return -1;
		}
		records++;
		if (exp == 0 || exp > now_ms) {
			e = lookup(ms, buf + pos, (size_t)klen, now_ms);
			if (e == NULL) {
				e = insert(ms, buf + pos, (size_t)klen, now_ms);
			}
			if (e == NULL) {
				*bad_at = rec_at;
				return -2;
			}
			entry_set_val(e, buf + pos + klen, (size_t)vlen);
			ms->legacy++;
			e->expire_at_ms = exp;
		}
		pos += (size_t)klen + (size_t)vlen + 1;
	}
	if (pos + 4 > len || memcmp(buf + pos, "END ", 4) != 0) {
		*bad_at = pos;
		return -1;
	}
	pos += 4;
	count_at = pos;
	if (read_num(buf, len, &pos, '\n', false, &end_count) != 0) {
		*bad_at = pos;
		return -1;
	}
	if ((size_t)end_count != records) {
		*bad_at = count_at;
		return -1;
	}
	if (pos != len) {
		*bad_at = pos;
		return -1;
	}
	*loaded = ms->count;
	return 0;
}

static int snapshot_load(struct store_mem *ms, char *err, size_t errlen)
{
	struct stat sb;
	char *buf;
	size_t got = 0;
	size_t bad_at = 0;
	size_t loaded = 0;
	int fd;
	int rc;

	fd = open(ms->snapshot_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			return 0;
		}
		snprintf(err, errlen, "SNAPSHOT: cannot open %s: %s",
			 ms->snapshot_path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0 || (size_t)sb.st_size > SNAP_MAX_BYTES) {
		snprintf(err, errlen, "SNAPSHOT: cannot read %s: %s",
			 ms->snapshot_path,
			 errno != 0 ? strerror(errno) : "too large");
		close(fd);
		return -1;
	}
	buf = xmalloc((size_t)sb.st_size + 1);
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);

		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			break;
		}
		got += (size_t)r;
	}
	close(fd);
	rc = snapshot_parse(ms, buf, got, &bad_at, &loaded);
	free(buf);
	if (rc == -2) {
		snprintf(err, errlen,
			 "SNAPSHOT: more than %zu keys at byte %zu",
			 ms->max_keys, bad_at);
		return -1;
	}
	if (rc != 0) {
		snprintf(err, errlen, "SNAPSHOT: corrupt at byte %zu", bad_at);
		return -1;
	}
	log_info("store", "snapshot loaded path=%s keys=%zu", ms->snapshot_path,
		 loaded);
	return 0;
}

/* Collects the background save's exit, waiting for it when wait. */
static void snap_reap(struct store_mem *ms, bool wait)
{
	int status;
	pid_t r;

	if (ms->snap_child == 0) {
		return;
	}
	do {
		r = waitpid(ms->snap_child, &status, wait ? 0 : WNOHANG);
	} while (r < 0 && errno == EINTR);
	if (r == 0) {
		return; /* still writing */
	}
	if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_error("store",
			  "background snapshot failed path=%s (child "
			  "%ld)",
			  ms->snapshot_path, (long)ms->snap_child);
		/* Try again at the next interval. */
		ms->snap_writes = 0;
	}
	ms->snap_child = 0;
}

/*
 * Every second: collects a finished save; when the interval has passed and
 * something was written since the last save started, forks a child that
 * writes the table as it was at the fork (copy-on-write) and exits.
 */
static void snap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store_mem *ms = arg;
	int64_t now = timeutil_mono_ms();
	pid_t pid;

	HARK_UNUSED(fd);
	HARK_UNUSED(what);
	snap_reap(ms, false);
	if (ms->snap_child != 0 || ms->closing || now < ms->snap_next_ms ||
	    ms->writes == ms->snap_writes) {
		return;
	}
	ms->snap_next_ms = now + ms->snap_interval_ms;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		log_error("store", "background snapshot: fork: %s",
			  strerror(errno));
		return;
	}
	if (pid == 0) {
		/* The child only writes the file: no loop, no atexit. */
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		_exit(snapshot_save(ms, true) == 0 ? 0 : 1);
	}
	ms->snap_child = pid;
	ms->snap_writes = ms->writes;
}

static void run_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store_mem *ms = arg;
	struct completion *list = ms->head;

	/* Only this batch: commands issued by these callbacks go next pass. */
	ms->head = NULL;
	ms->tail = NULL;
	while (list != NULL) {
		struct completion *c = list;

		list = c->next;
		ms->npending--;
		if (c->kind == COMP_DONE) {
			c->done_cb(c->arg);
		} else if (c->kind == COMP_INT) {
			if (c->int_cb != NULL) {
				c->int_cb(c->arg, c->status, c->ival);
			}
		} else if (c->str_cb != NULL) {
			c->str_cb(c->arg, c->status, c->val, c->len);
		}
		free(c->val);
		free(c);
	}
	if (ms->closing && !ms->closed && ms->head == NULL) {
		ms->closed = true;
		if (ms->snapshot_path != NULL) {
			/* The final save must not race a background one
			 * renaming an older file over it. */
			snap_reap(ms, true);
			(void)snapshot_save(ms, false);
		}
		if (ms->done != NULL) {
			ms->done(ms->done_arg);
		}
	}
}

static void mem_close(struct store *st, store_done_fn *done, void *arg)
{
	struct store_mem *ms = (struct store_mem *)st;

	HARK_ASSERT(!ms->closing);
	ms->closing = true;
	ms->done = done;
	ms->done_arg = arg;
	evtimer_add(ms->run_ev, &zero_tv);
}

static void mem_free(struct store *st)
{
	struct store_mem *ms = (struct store_mem *)st;

	while (ms->head != NULL) {
		struct completion *c = ms->head;

		ms->head = c->next;
		free(c->val);
		free(c);
	}
	for (size_t i = 0; i < ms->nbuckets; i++) {
		struct entry *e = ms->buckets[i];

		while (e != NULL) {
			struct entry *next = e->next;

			entry_free(e);
			e = next;
		}
	}
	free(ms->buckets);
	event_free(ms->run_ev);
	snap_reap(ms, true);
	if (ms->snap_ev != NULL) {
		event_free(ms->snap_ev);
	}
	free(ms->snapshot_path);
	free(ms);
}

static const struct store_ops mem_ops = {
	.kind = "memory",
	.incrby = mem_incrby,
	.count_put = mem_count_put,
	.count_raise = mem_count_raise,
	.append = mem_append,
	.set = mem_set,
	.get = mem_get,
	.hash = mem_hash,
	.claim = mem_claim,
	.release = mem_release,
	.barrier = mem_barrier,
	.up = mem_up,
	.pending = mem_pending,
	.close = mem_close,
	.free = mem_free,
};

void store_mem_set_max_keys(struct store *st, size_t max_keys)
{
	struct store_mem *ms = (struct store_mem *)st;

	HARK_ASSERT(st->ops == &mem_ops);
	ms->max_keys = max_keys;
}

void store_mem_set_snapshot_interval(struct store *st, int64_t interval_ms)
{
	struct store_mem *ms = (struct store_mem *)st;
	struct timeval tv = {1, 0};

	HARK_ASSERT(st->ops == &mem_ops);
	if (ms->snapshot_path == NULL || interval_ms <= 0 ||
	    ms->snap_ev != NULL) {
		return;
	}
	ms->snap_interval_ms = interval_ms;
	ms->snap_next_ms = timeutil_mono_ms() + interval_ms;
	ms->snap_writes = ms->writes;
	ms->snap_ev = event_new(ms->base, -1, EV_PERSIST, snap_cb, ms);
	HARK_ASSERT(ms->snap_ev != NULL);
	event_add(ms->snap_ev, &tv);
}

struct store *store_mem_new(struct event_base *base, const char *snapshot_path,
			    char *err, size_t errlen)
{
	struct store_mem *ms = xcalloc(1, sizeof(*ms));

	ms->st.ops = &mem_ops;
	ms->base = base;
	ms->nbuckets = INITIAL_BUCKETS;
	ms->buckets = xcalloc(ms->nbuckets, sizeof(*ms->buckets));
	ms->max_keys = STORE_MEM_MAX_KEYS;
	ms->run_ev = evtimer_new(base, run_cb, ms);
	HARK_ASSERT(ms->run_ev != NULL);
	if (snapshot_path != NULL && snapshot_path[0] != '\0') {
		ms->snapshot_path = xstrdup(snapshot_path);
		if (snapshot_load(ms, err, errlen) != 0) {
			mem_free(&ms->st);
			return NULL;
		}
	}
	return &ms->st;
}
