/* SPDX-License-Identifier: MIT */
/*
 * The outbox's store side (see outbox.h): entry and dead-letter writes
 * kept until the store takes them, the look for entries to take over, and
 * the move from the version-1 documents. What a notification does next is
 * deliver.c's. Runs on the loop thread only.
 */
#include "io/outbox.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/keys.h"
#include "core/outbox_entry.h"
#include "core/texthash.h"
#include "io/store.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define SUBSYS "deliver"
/* Dead letters read from a version-1 list at most (it kept 100). */
#define V1_DEAD_MAX 1000
/* The emptied version-1 documents vanish after a day. */
#define V1_EMPTIED_TTL_MS (86400 * 1000LL)

/* One entry or dead letter to write: kept until the store took it. */
struct rec {
	struct rec *next;
	bool dead; /* in the dead-letter hash, not the outbox */
	char *id;
	char *text; /* the line to store; NULL: remove the field */
	size_t max; /* dead letters kept (dead only) */
	bool dirty; /* to be written (again) */
	bool inflight;
	bool notify; /* hooks->written once the write is answered */
	/* Taken over: handed on once its owner is rewritten. */
	struct outbox_entry *adopt;
};

/* One receiver's outbox. */
struct box {
	char *name; /* NULL: not used yet */
	struct rec *recs;
	bool failing;   /* the last read or write failed (logged once) */
	bool resuming;  /* outbox_resume asked, not done yet */
	bool resumed;   /* a first look ended: the periodic ones follow */
	bool v1_read;   /* the version-1 documents were moved over */
	bool scanning;  /* a look is out: its reads, claims and rewrites */
	size_t waiting; /* claims and rewrites of the look still out */
	size_t adopted;
	bool v1_found; /* the look found a version-1 outbox to empty */
};

enum ctx_kind {
	CTX_WRITE,
	CTX_V1_OUTBOX,
	CTX_V1_DEAD,
	CTX_SCAN,
	CTX_CLAIM,
};

/* A store command in flight, freed by its callback; ob is NULL once
 * outbox_free ran (the store still calls back). */
struct ctx {
	struct outbox *ob;
	struct ctx *prev;
	struct ctx *next;
	enum ctx_kind kind;
	size_t index;
	struct rec *rec;           /* CTX_WRITE */
	struct outbox_entry entry; /* CTX_CLAIM: the entry claimed */
	struct outbox_entry *v1;   /* CTX_SCAN: version-1 entries found */
	size_t n_v1;
};

struct outbox {
	struct event_base *base; /* borrowed */
	struct store *store;     /* borrowed */
	char *prefix;
	char *self;
	outbox_owner_fn *owner_fn; /* NULL: alone */
	void *owner_arg;
	struct outbox_hooks hooks;
	struct box *boxes;
	size_t n_boxes;
	struct ctx *ctxs;
	struct event *retry_ev; /* writes again after a failure */
	struct event *scan_ev;  /* looks for entries to take over */
	bool closed;
};

static void retry_cb(evutil_socket_t fd, short what, void *arg);
static void scan_cb(evutil_socket_t fd, short what, void *arg);
static void scan_start(struct outbox *ob, size_t index);

struct outbox *outbox_new(struct event_base *base, struct store *store,
			  const char *prefix, const char *self,
			  const struct outbox_hooks *hooks)
{
	struct outbox *ob = xcalloc(1, sizeof(*ob));
	struct timeval tv;

	ob->base = base;
	ob->store = store;
	ob->prefix = xstrdup(prefix);
	ob->self = xstrdup(self);
	ob->hooks = *hooks;
	ob->retry_ev = evtimer_new(base, retry_cb, ob);
	ob->scan_ev = event_new(base, -1, EV_PERSIST, scan_cb, ob);
	HARK_ASSERT(ob->retry_ev != NULL && ob->scan_ev != NULL);
	timeutil_tv(OUTBOX_SCAN_MS, &tv);
	evtimer_add(ob->scan_ev, &tv);
	return ob;
}

static void rec_free(struct rec *r)
{
	if (r->adopt != NULL) {
		outbox_entry_fini(r->adopt);
		free(r->adopt);
	}
	free(r->id);
	free(r->text);
	free(r);
}

void outbox_free(struct outbox *ob)
{
	if (ob == NULL) {
		return;
	}
	/* Store commands still in flight call back later and find no ob. */
	while (ob->ctxs != NULL) {
		struct ctx *c = ob->ctxs;

		ob->ctxs = c->next;
		c->ob = NULL;
		c->rec = NULL;
		c->prev = NULL;
		c->next = NULL;
	}
	for (size_t i = 0; i < ob->n_boxes; i++) {
		while (ob->boxes[i].recs != NULL) {
			struct rec *r = ob->boxes[i].recs;

			ob->boxes[i].recs = r->next;
			rec_free(r);
		}
		free(ob->boxes[i].name);
	}
	free(ob->boxes);
	event_free(ob->retry_ev);
	event_free(ob->scan_ev);
	free(ob->self);
	free(ob->prefix);
	free(ob);
}

void outbox_set_members(struct outbox *ob, const char *self,
			outbox_owner_fn *fn, void *arg)
{
	free(ob->self);
	ob->self = xstrdup(self);
	ob->owner_fn = fn;
	ob->owner_arg = arg;
}

const char *outbox_self(const struct outbox *ob)
{
	return ob->self;
}

static struct box *box(struct outbox *ob, size_t index, const char *name)
{
	struct box *b;

	if (index >= ob->n_boxes) {
		ob->boxes =
			xreallocarray(ob->boxes, index + 1, sizeof(*ob->boxes));
		memset(ob->boxes + ob->n_boxes, 0,
		       (index + 1 - ob->n_boxes) * sizeof(*ob->boxes));
		ob->n_boxes = index + 1;
	}
	b = &ob->boxes[index];
	if (b->name == NULL && name != NULL) {
		b->name = xstrdup(name);
	}
	return b;
}

static struct ctx *ctx_new(struct outbox *ob, enum ctx_kind kind, size_t index)
{
	struct ctx *c = xcalloc(1, sizeof(*c));

	c->ob = ob;
	c->kind = kind;
	c->index = index;
	c->next = ob->ctxs;
	if (ob->ctxs != NULL) {
		ob->ctxs->prev = c;
	}
	ob->ctxs = c;
	return c;
}

/* Unlinks c; the outbox it belongs to, or NULL once that was freed. */
static struct outbox *ctx_end(struct ctx *c)
{
	struct outbox *ob = c->ob;

	if (ob == NULL) {
		return NULL;
	}
	if (c->prev != NULL) {
		c->prev->next = c->next;
	} else {
		ob->ctxs = c->next;
	}
	if (c->next != NULL) {
		c->next->prev = c->prev;
	}
	return ob;
}

static void failed(struct outbox *ob, struct box *b, const char *what)
{
	struct timeval tv;

	if (!b->failing) {
		log_warn(SUBSYS,
			 "outbox %s failed: receiver=%s (retrying; "
			 "deliveries go on from memory meanwhile)",
			 what, b->name);
		b->failing = true;
	}
	if (!ob->closed && !evtimer_pending(ob->retry_ev, NULL)) {
		timeutil_tv(OUTBOX_RETRY_MS, &tv);
		evtimer_add(ob->retry_ev, &tv);
	}
}

static void stored(struct box *b)
{
	if (b->failing) {
		log_info(SUBSYS, "outbox stored again: receiver=%s", b->name);
		b->failing = false;
	}
}

static void settled(struct outbox *ob)
{
	if (ob->hooks.settled != NULL) {
		ob->hooks.settled(ob->hooks.arg);
	}
}

static struct rec *rec_get(struct box *b, bool dead, const char *id)
{
	struct rec *r;

	for (r = b->recs; r != NULL; r = r->next) {
		if (r->dead == dead && strcmp(r->id, id) == 0) {
			return r;
		}
	}
	r = xcalloc(1, sizeof(*r));
	r->dead = dead;
	r->id = xstrdup(id);
	r->next = b->recs;
	b->recs = r;
	return r;
}

static void rec_drop(struct box *b, struct rec *r)
{
	struct rec **pp;

	for (pp = &b->recs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	rec_free(r);
}

static void write_cb(void *arg, int status, const char *val, size_t len);

/* One write per field at a time: the store answers them in order, so the
 * last one issued is what the field holds. */
static void rec_flush(struct outbox *ob, size_t index, struct rec *r)
{
	struct box *b = &ob->boxes[index];
	struct ctx *c;
	char *key;

	if (ob->closed || r->inflight || !r->dirty) {
		return;
	}
	c = ctx_new(ob, CTX_WRITE, index);
	c->rec = r;
	r->inflight = true;
	r->dirty = false;
	key = r->dead ? keys_deadletter_v2(ob->prefix, b->name)
		      : keys_outbox_v2(ob->prefix, b->name);
	store_hash(ob->store, key, r->id, r->text, 0, write_cb, c);
	free(key);
}

/* The oldest dead letters past r->max, removed. */
static void dead_trim(struct outbox *ob, struct box *b, size_t max,
		      const char *val, size_t len)
{
	char *fields[64];
	size_t n = outbox_entry_dead_excess(val, len, max, fields, 64);
	char *key = keys_deadletter_v2(ob->prefix, b->name);

	for (size_t i = 0; i < n; i++) {
		store_hash(ob->store, key, fields[i], NULL, 0, NULL, NULL);
		free(fields[i]);
	}
	free(key);
}

static void scan_check_done(struct outbox *ob, size_t index);

static void write_cb(void *arg, int status, const char *val, size_t len)
{
	struct ctx *c = arg;
	struct outbox *ob = ctx_end(c);
	size_t index = c->index;
	struct rec *r = c->rec;
	struct outbox_entry *adopt;
	struct box *b;
	char *id = NULL;

	free(c);
	if (ob == NULL) {
		return;
	}
	b = &ob->boxes[index];
	r->inflight = false;
	if (status != 0) {
		r->dirty = true;
		failed(ob, b, "write");
	} else {
		stored(b);
		if (r->dead && r->text != NULL) {
			dead_trim(ob, b, r->max, val, len);
		}
	}
	if (r->notify) {
		r->notify = false;
		id = xstrdup(r->id);
	}
	/* A rewrite that failed is tried again; the claim is held, so no
	 * other member sends the entry meanwhile. */
	adopt = r->adopt;
	r->adopt = NULL;
	if (!r->dirty) {
		rec_drop(b, r);
	} else if (status == 0) {
		rec_flush(ob, index, r);
	}
	if (id != NULL && ob->hooks.written != NULL) {
		ob->hooks.written(ob->hooks.arg, index, id);
	}
	free(id);
	if (adopt != NULL) {
		b->adopted++;
		b->waiting--;
		ob->hooks.adopted(ob->hooks.arg, index, adopt);
		free(adopt);
		scan_check_done(ob, index);
	}
	settled(ob);
}

void outbox_put(struct outbox *ob, size_t index, const char *receiver,
		const struct outbox_entry *e)
{
	struct box *b = box(ob, index, receiver);
	struct rec *r = rec_get(b, false, e->id);

	free(r->text);
	r->text = outbox_entry_format(e);
	r->dirty = true;
	r->notify = true;
	rec_flush(ob, index, r);
}

void outbox_remove(struct outbox *ob, size_t index, const char *receiver,
		   const char *id)
{
	struct box *b = box(ob, index, receiver);
	struct rec *r = rec_get(b, false, id);

	free(r->text);
	r->text = NULL;
	r->dirty = true;
	rec_flush(ob, index, r);
}

void outbox_dead(struct outbox *ob, size_t index, const char *receiver,
		 const struct outbox_entry *e, int64_t failed_ms,
		 const char *reason, size_t max)
{
	struct box *b = box(ob, index, receiver);
	struct rec *r = rec_get(b, true, e->id);

	free(r->text);
	r->text = outbox_entry_dead(e, receiver, failed_ms, reason);
	r->max = max;
	r->dirty = true;
	rec_flush(ob, index, r);
}

/* ---- taking over ---- */

static void claim_cb(void *arg, int status, long long value);

/* Claims c->entry from its owner; the one member that gets the claim
 * rewrites the owner and sends it. */
static void claim(struct outbox *ob, size_t index, struct outbox_entry *e)
{
	struct box *b = &ob->boxes[index];
	struct ctx *c = ctx_new(ob, CTX_CLAIM, index);
	char *key = keys_adopt(ob->prefix, b->name, e->id, e->owner);

	c->entry = *e;
	b->waiting++;
	store_claim(ob->store, key, ob->self, OUTBOX_ADOPT_TTL_MS, claim_cb, c);
	free(key);
}

static void claim_cb(void *arg, int status, long long value)
{
	struct ctx *c = arg;
	struct outbox *ob = ctx_end(c);
	size_t index = c->index;
	struct box *b;
	struct rec *r;

	if (ob != NULL && ob->closed && status == 0 && value == 1) {
		/* Stopping: given back at once rather than held an hour. */
		char *key = keys_adopt(ob->prefix, ob->boxes[index].name,
				       c->entry.id, c->entry.owner);

		store_release(ob->store, key, ob->self, NULL, NULL);
		free(key);
	}
	if (ob == NULL || ob->closed || status != 0 || value != 1) {
		/* Another member took it (or the store failed: the next
		 * look tries again). */
		outbox_entry_fini(&c->entry);
		free(c);
		if (ob != NULL) {
			ob->boxes[index].waiting--;
			if (status != 0 && !ob->closed) {
				failed(ob, &ob->boxes[index], "claim");
			}
			scan_check_done(ob, index);
			settled(ob);
		}
		return;
	}
	b = &ob->boxes[index];
	log_info(SUBSYS, "outbox entry taken over: receiver=%s id=%s from=%s",
		 b->name, c->entry.id, c->entry.owner);
	free(c->entry.owner);
	c->entry.owner = xstrdup(ob->self);
	r = rec_get(b, false, c->entry.id);
	free(r->text);
	r->text = outbox_entry_format(&c->entry);
	r->dirty = true;
	if (r->adopt != NULL) {
		/* Twice in one look (a version-1 copy and a version-2 one):
		 * the first is handed on, this one is not. */
		outbox_entry_fini(&c->entry);
		b->waiting--;
	} else {
		r->adopt = xmalloc(sizeof(*r->adopt));
		*r->adopt = c->entry;
	}
	free(c);
	rec_flush(ob, index, r);
	settled(ob);
}

/* What to do with an entry found in the hash: take it over or not; tells
 * deliver when another live member holds it. */
static bool adoptable(struct outbox *ob, size_t index,
		      const struct outbox_entry *e, int64_t now_ms)
{
	enum outbox_owner o;

	if (strcmp(e->owner, ob->self) == 0) {
		return false;
	}
	if (ob->owner_fn == NULL ||
	    strcmp(e->owner, OUTBOX_ENTRY_V1_OWNER) == 0) {
		return true;
	}
	o = ob->owner_fn(ob->owner_arg, e->owner);
	if (o == OUTBOX_OWNER_GONE ||
	    (o == OUTBOX_OWNER_ABSENT &&
	     now_ms - e->created_ms >= OUTBOX_FRESH_MS)) {
		return true;
	}
	/* A recent entry of an owner not seen yet may be one that has just
	 * started: live. */
	if (o != OUTBOX_OWNER_UNKNOWN && ob->hooks.taken != NULL) {
		ob->hooks.taken(ob->hooks.arg, index, e->id, e->owner);
	}
	return false;
}

/* The hash as read: its entries to take over, claimed oldest first. */
static void scan_read(struct outbox *ob, size_t index, const char *val,
		      size_t len, struct outbox_entry *v1, size_t n_v1)
{
	struct box *b = &ob->boxes[index];
	struct outbox_entry *cand = NULL;
	struct texthash_line l;
	int64_t now = timeutil_now_ms();
	size_t n = 0, pos = 0, bad = 0;

	cand = xcalloc(n_v1 + 1, sizeof(*cand));
	for (size_t i = 0; i < n_v1; i++) {
		cand[n++] = v1[i];
	}
	while (val != NULL && texthash_next(val, len, &pos, &l)) {
		struct outbox_entry e;
		char *field;

		if (outbox_entry_parse(l.value, l.value_len, &e) < 0) {
			field = xmalloc(l.field_len + 1);
			memcpy(field, l.field, l.field_len);
			field[l.field_len] = '\0';
			outbox_remove(ob, index, b->name, field);
			free(field);
			bad++;
			continue;
		}
		if (!adoptable(ob, index, &e, now)) {
			outbox_entry_fini(&e);
			continue;
		}
		cand = xreallocarray(cand, n + 1, sizeof(*cand));
		cand[n++] = e;
	}
	if (bad > 0) {
		log_error(SUBSYS,
			  "outbox entries unreadable, dropped: receiver=%s "
			  "n=%zu",
			  b->name, bad);
	}
	/* v1 entries keep their document's order, ahead of the rest. */
	qsort(cand + n_v1, n - n_v1, sizeof(*cand), outbox_entry_cmp);
	for (size_t i = 0; i < n; i++) {
		claim(ob, index, &cand[i]);
	}
	free(cand);
}

static void read_cb(void *arg, int status, const char *val, size_t len);

/* Reads the hash; v1 (ownership passes) are the version-1 entries found. */
static void scan_hash(struct outbox *ob, size_t index, struct outbox_entry *v1,
		      size_t n_v1)
{
	struct box *b = &ob->boxes[index];
	struct ctx *c = ctx_new(ob, CTX_SCAN, index);
	char *key = keys_outbox_v2(ob->prefix, b->name);

	c->v1 = v1;
	c->n_v1 = n_v1;
	store_hash(ob->store, key, NULL, NULL, 0, read_cb, c);
	free(key);
}

static void v1_dead_moved(struct outbox *ob, size_t index, const char *val,
			  size_t len)
{
	struct box *b = &ob->boxes[index];
	char *ids[V1_DEAD_MAX], *lines[V1_DEAD_MAX];
	int n = outbox_entry_dead_v1(val, len, ids, lines, V1_DEAD_MAX);
	char *key;

	if (n < 0) {
		log_error(SUBSYS,
			  "dead-letter list unreadable, not moved: "
			  "receiver=%s",
			  b->name);
		return;
	}
	for (int i = 0; i < n; i++) {
		struct rec *r = rec_get(b, true, ids[i]);

		free(r->text);
		r->text = lines[i];
		r->max = V1_DEAD_MAX;
		r->dirty = true;
		rec_flush(ob, index, r);
		free(ids[i]);
	}
	/* After those writes, on the same connection. */
	key = keys_deadletter(ob->prefix, b->name);
	store_set(ob->store, key, "[]", 2, V1_EMPTIED_TTL_MS, NULL, NULL);
	free(key);
}

static void read_cb(void *arg, int status, const char *val, size_t len)
{
	struct ctx *c = arg;
	struct outbox *ob = ctx_end(c);
	size_t index = c->index;
	enum ctx_kind kind = c->kind;
	struct outbox_entry *v1 = c->v1;
	size_t n_v1 = c->n_v1;
	size_t bad = 0;
	struct box *b;

	free(c);
	if (ob == NULL || ob->closed || status != 0) {
		for (size_t i = 0; i < n_v1; i++) {
			outbox_entry_fini(&v1[i]);
		}
		free(v1);
		if (ob != NULL) {
			b = &ob->boxes[index];
			b->scanning = false;
			/* Not in the hash yet: read again next time. */
			b->v1_read = b->v1_read && n_v1 == 0;
			if (status != 0 && !ob->closed) {
				failed(ob, b, "read");
			}
			settled(ob);
		}
		return;
	}
	b = &ob->boxes[index];
	stored(b);
	switch (kind) {
	case CTX_V1_DEAD:
		if (val != NULL) {
			v1_dead_moved(ob, index, val, len);
		}
		c = ctx_new(ob, CTX_V1_OUTBOX, index);
		{
			char *key = keys_outbox(ob->prefix, b->name);

			store_get(ob->store, key, read_cb, c);
			free(key);
		}
		break;
	case CTX_V1_OUTBOX:
		b->v1_read = true;
		v1 = NULL;
		n_v1 = 0;
		if (val != NULL &&
		    outbox_entry_parse_v1(val, len, &v1, &n_v1, &bad) < 0) {
			log_error(SUBSYS,
				  "outbox unreadable, its entries are lost: "
				  "receiver=%s",
				  b->name);
		} else if (bad > 0) {
			log_warn(SUBSYS,
				 "outbox entries unreadable, dropped: "
				 "receiver=%s n=%zu",
				 b->name, bad);
		}
		b->v1_found = val != NULL;
		scan_hash(ob, index, v1, n_v1);
		break;
	case CTX_SCAN:
		b->waiting++; /* the read itself, until its claims are out */
		scan_read(ob, index, val, len, v1, n_v1);
		free(v1);
		b->waiting--;
		scan_check_done(ob, index);
		break;
	default:
		break;
	}
	settled(ob);
}

/* A look ends once its read, claims and rewrites are answered. */
static void scan_check_done(struct outbox *ob, size_t index)
{
	struct box *b = &ob->boxes[index];
	size_t adopted = b->adopted;
	char *key;

	if (!b->scanning || b->waiting > 0) {
		return;
	}
	b->scanning = false;
	b->adopted = 0;
	b->resuming = false;
	b->resumed = true;
	if (b->v1_found && !ob->closed) {
		/* Its entries are in the hash now (the rewrites were
		 * answered): emptied, not moved twice. */
		static const char empty[] = "{\"version\":1,\"entries\":[]}";

		b->v1_found = false;
		key = keys_outbox(ob->prefix, b->name);
		store_set(ob->store, key, empty, strlen(empty),
			  V1_EMPTIED_TTL_MS, NULL, NULL);
		free(key);
	}
	if (ob->hooks.scanned != NULL) {
		ob->hooks.scanned(ob->hooks.arg, index, adopted);
	}
}

static void scan_start(struct outbox *ob, size_t index)
{
	struct box *b = &ob->boxes[index];
	struct ctx *c;
	char *key;

	if (ob->closed || b->scanning || b->name == NULL) {
		return;
	}
	b->scanning = true;
	b->waiting = 0;
	b->adopted = 0;
	if (b->v1_read) {
		scan_hash(ob, index, NULL, 0);
		return;
	}
	c = ctx_new(ob, CTX_V1_DEAD, index);
	key = keys_deadletter(ob->prefix, b->name);
	store_get(ob->store, key, read_cb, c);
	free(key);
}

void outbox_resume(struct outbox *ob, size_t index, const char *receiver)
{
	struct box *b = box(ob, index, receiver);

	b->resuming = true;
	scan_start(ob, index);
}

static void scan_cb(evutil_socket_t fd, short what, void *arg)
{
	struct outbox *ob = arg;

	HARK_UNUSED(fd);
	HARK_UNUSED(what);
	for (size_t i = 0; i < ob->n_boxes; i++) {
		struct box *b = &ob->boxes[i];

		/* Alone, the first look is the only one (tried again while
		 * the store fails); in a fleet, members keep going. */
		if (b->resuming || (b->resumed && ob->owner_fn != NULL)) {
			scan_start(ob, i);
		}
	}
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct outbox *ob = arg;

	HARK_UNUSED(fd);
	HARK_UNUSED(what);
	for (size_t i = 0; i < ob->n_boxes; i++) {
		for (struct rec *r = ob->boxes[i].recs; r != NULL;
		     r = r->next) {
			rec_flush(ob, i, r);
		}
	}
}

bool outbox_busy(const struct outbox *ob)
{
	for (size_t i = 0; i < ob->n_boxes; i++) {
		const struct box *b = &ob->boxes[i];

		if (b->scanning) {
			return true;
		}
		for (const struct rec *r = b->recs; r != NULL; r = r->next) {
			if (r->inflight || r->dirty) {
				return true;
			}
		}
	}
	return false;
}

void outbox_close(struct outbox *ob)
{
	ob->closed = true;
	evtimer_del(ob->retry_ev);
	evtimer_del(ob->scan_ev);
}
