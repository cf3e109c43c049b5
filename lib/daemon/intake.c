/* SPDX-License-Identifier: MIT */
#include "daemon/intake.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "config/config.h"
#include "core/dedupe.h"
#include "core/detect.h"
#include "core/match.h"
#include "core/mbatch.h"
#include "core/mention.h"
#include "core/window.h"
#include "daemon/daemon.h"
#include "daemon/evaluate.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

/*
 * A chunk is what one worker parses at a time: about 350 mentions of
 * X v2 size. Small enough that a 2,000-line push keeps two workers busy
 * while the loop counts the chunk before (the loop counts chunk k while
 * k+1, k+2 are parsed), large enough that handing it over (a lock, a
 * wakeup) is under 1 % of parsing it.
 */
#define INTAKE_CHUNK_BYTES (256u * 1024)
/* A push's first chunk is smaller: the loop, idle until it is parsed,
 * starts counting sooner (an eighth of the wait for a full chunk). */
#define INTAKE_FIRST_CHUNK_BYTES (32u * 1024)
/* Chunks kept for reuse (their buffers): enough for every worker and
 * those waiting their turn, so a steady stream allocates nothing. */
#define INTAKE_SPARES 16

struct push {
	int source;
	char *source_name; /* NULL: none */
	char *body;
	size_t len;
	long line0; /* lines of the chunks already counted */
	struct intake_tally t;
	intake_reply_fn reply;
	void *reply_arg;
	struct push *next; /* in intake.pushes */
};

struct chunk {
	struct push *p;
	uint64_t seq; /* the order chunks are counted in */
	size_t off, len;
	bool last; /* its push's last chunk */
	struct mbatch mb;
	struct chunk *next;
};

struct worker {
	struct intake *in;
	struct matcher *matcher; /* a clone; swapped only when quiet */
	uint32_t *scratch;
	size_t n_rules;
	pthread_t tid;
	bool started;
};

struct intake {
	struct event_base *base;
	struct event *wake;
	int efd;
	const struct intake_ops *ops;
	void *arg;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* under lock */
	struct chunk *queue_head, *queue_tail; /* arrival order */
	struct chunk *done;                    /* parsed, any order */
	unsigned parsing;
	bool hold;
	bool stop;

	/* the loop's */
	struct chunk *ready; /* parsed, waiting for their turn */
	struct chunk *spare;
	size_t n_spare;
	uint64_t next_seq;  /* given to the next chunk made */
	uint64_t count_seq; /* the next chunk to count */
	struct push *pushes;
	uint64_t held_bytes;
	uint64_t max_bytes;
	bool closed;
	struct worker *workers;
	unsigned n_workers;
	/* workers == 0: the loop parses with these */
	struct matcher *own;
	uint32_t *own_scratch;
	size_t n_rules;
	uint64_t busy;
	uint64_t answered;
};

/* What every pushed line is read as: any accepted shape, boosts as their
 * originals (as mention_parse). */
static const struct mention_opts push_opts = {
	.format = MENTION_FORMAT_AUTO,
	.reblog_original = true,
};

void intake_tally_reject(struct intake_tally *t, long line, const char *why)
{
	cJSON *e;

	t->rejected++;
	if (t->n_errors >= INTAKE_MAX_ERRORS) {
		return;
	}
	e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "line", (double)line);
	cJSON_AddStringToObject(e, "error", why);
	cJSON_AddItemToArray(t->errors, e);
	t->n_errors++;
}

unsigned intake_default_workers(void)
{
	cpu_set_t set;
	long n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 &&
	    CPU_COUNT(&set) > 0) {
		return (unsigned)CPU_COUNT(&set);
	}
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static void push_free(struct push *p)
{
	cJSON_Delete(p->t.errors);
	free(p->body);
	free(p->source_name);
	free(p);
}

static struct chunk *chunk_new(struct intake *in)
{
	struct chunk *c = in->spare;

	if (c != NULL) {
		in->spare = c->next;
		in->n_spare--;
	} else {
		c = xcalloc(1, sizeof(*c));
	}
	c->next = NULL;
	return c;
}

static void chunk_recycle(struct intake *in, struct chunk *c)
{
	mbatch_clear(&c->mb);
	if (in->n_spare >= INTAKE_SPARES) {
		mbatch_fini(&c->mb);
		free(c);
		return;
	}
	c->p = NULL;
	c->next = in->spare;
	in->spare = c;
	in->n_spare++;
}

static void chunk_list_free(struct chunk *c)
{
	while (c != NULL) {
		struct chunk *next = c->next;

		mbatch_fini(&c->mb);
		free(c);
		c = next;
	}
}

/* The reply of a push whose every chunk has been counted. */
static void finish_push(struct intake *in, struct push *p)
{
	cJSON *reply = cJSON_CreateObject();
	struct push **at;
	char *text;

	for (at = &in->pushes; *at != p; at = &(*at)->next) {
	}
	*at = p->next;
	cJSON_AddNumberToObject(reply, "accepted", (double)p->t.accepted);
	cJSON_AddNumberToObject(reply, "duplicates", (double)p->t.duplicates);
	cJSON_AddNumberToObject(reply, "rejected", (double)p->t.rejected);
	cJSON_AddItemToObject(reply, "errors", p->t.errors);
	p->t.errors = NULL;
	if (p->t.rejected > p->t.n_errors) {
		cJSON_AddNumberToObject(
			reply, "errors_omitted",
			(double)(p->t.rejected - p->t.n_errors));
	}
	text = cJSON_PrintUnformatted(reply);
	cJSON_Delete(reply);
	in->held_bytes -= p->len;
	in->answered++;
	p->reply(p->reply_arg, text, strlen(text));
	free(text);
	push_free(p);
}

static void count_chunk(struct intake *in, struct chunk *c)
{
	struct push *p = c->p;
	bool last = c->last;

	in->ops->count(in->arg, p->source, &c->mb, p->line0, &p->t);
	p->line0 += (long)c->mb.lines;
	in->count_seq++;
	chunk_recycle(in, c);
	in->ops->counted(in->arg);
	if (last) {
		finish_push(in, p);
	}
}

/* Counts the ready chunks whose turn it is. */
static void drain(struct intake *in)
{
	for (;;) {
		struct chunk **at;

		for (at = &in->ready; *at != NULL; at = &(*at)->next) {
			if ((*at)->seq == in->count_seq) {
				break;
			}
		}
		if (*at == NULL) {
			break;
		}
		{
			struct chunk *c = *at;

			*at = c->next;
			count_chunk(in, c);
		}
	}
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct intake *in = arg;
	struct chunk *got;
	uint64_t v;
	/* resets the counter; fails (EAGAIN) only when nothing was written */
	ssize_t r = read(fd, &v, sizeof(v));

	HARK_UNUSED(r);
	HARK_UNUSED(what);
	pthread_mutex_lock(&in->lock);
	got = in->done;
	in->done = NULL;
	pthread_mutex_unlock(&in->lock);
	while (got != NULL) {
		struct chunk *next = got->next;

		got->next = in->ready;
		in->ready = got;
		got = next;
	}
	drain(in);
}

static void parse_chunk(struct chunk *c, struct matcher *m, uint32_t *scratch,
			size_t n_rules)
{
	mbatch_split(&c->mb, c->p->body + c->off, c->len);
	mbatch_parse(&c->mb, &push_opts, m, scratch, n_rules,
		     c->p->source_name);
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct intake *in = w->in;
	const uint64_t one = 1;

	pthread_mutex_lock(&in->lock);
	for (;;) {
		struct chunk *c;
		struct matcher *m;
		size_t n_rules;
		ssize_t wrote;

		while (!in->stop && (in->queue_head == NULL || in->hold)) {
			pthread_cond_wait(&in->cond, &in->lock);
		}
		if (in->stop) {
			break;
		}
		c = in->queue_head;
		in->queue_head = c->next;
		if (in->queue_head == NULL) {
			in->queue_tail = NULL;
		}
		in->parsing++;
		m = w->matcher;
		n_rules = w->n_rules;
		pthread_mutex_unlock(&in->lock);
		HARK_ASSERT(m != NULL);
		parse_chunk(c, m, w->scratch, n_rules);
		pthread_mutex_lock(&in->lock);
		c->next = in->done;
		in->done = c;
		in->parsing--;
		pthread_mutex_unlock(&in->lock);
		/* cannot fail short of a counter at 2^64 - 2 */
		wrote = write(in->efd, &one, sizeof(one));
		HARK_UNUSED(wrote);
		pthread_mutex_lock(&in->lock);
	}
	pthread_mutex_unlock(&in->lock);
	return NULL;
}

struct intake *intake_new(struct event_base *base, unsigned workers,
			  uint64_t max_bytes, const struct intake_ops *ops,
			  void *arg, char *err, size_t errlen)
{
	struct intake *in = xcalloc(1, sizeof(*in));

	in->base = base;
	in->ops = ops;
	in->arg = arg;
	in->max_bytes = max_bytes;
	in->efd = -1;
	pthread_mutex_init(&in->lock, NULL);
	pthread_cond_init(&in->cond, NULL);
	in->workers = xcalloc(workers + 1, sizeof(*in->workers));
	if (workers == 0) {
		return in;
	}
	in->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (in->efd < 0) {
		snprintf(err, errlen, "intake: eventfd: %s", strerror(errno));
		goto fail;
	}
	in->wake = event_new(base, in->efd, EV_READ | EV_PERSIST, wake_cb, in);
	if (in->wake == NULL || event_add(in->wake, NULL) < 0) {
		snprintf(err, errlen, "intake: cannot watch the wakeup");
		goto fail;
	}
	for (unsigned i = 0; i < workers; i++) {
		struct worker *w = &in->workers[i];
		int e;

		w->in = in;
		e = pthread_create(&w->tid, NULL, work, w);
		if (e != 0) {
			snprintf(err, errlen,
				 "intake: cannot start worker thread %u: %s",
				 i + 1, strerror(e));
			goto fail;
		}
		w->started = true;
		in->n_workers++;
	}
	return in;
fail:
	intake_free(in);
	return NULL;
}

void intake_set_matcher(struct intake *in, struct matcher *m, size_t n_rules)
{
	HARK_ASSERT(intake_quiet(in));
	if (in->n_workers == 0) {
		matcher_free(in->own);
		free(in->own_scratch);
		in->own = matcher_clone(m);
		in->own_scratch = xcalloc(n_rules + 1, sizeof(uint32_t));
		in->n_rules = n_rules;
		return;
	}
	pthread_mutex_lock(&in->lock);
	for (unsigned i = 0; i < in->n_workers; i++) {
		struct worker *w = &in->workers[i];

		matcher_free(w->matcher);
		free(w->scratch);
		w->matcher = matcher_clone(m);
		w->scratch = xcalloc(n_rules + 1, sizeof(uint32_t));
		w->n_rules = n_rules;
	}
	in->n_rules = n_rules;
	pthread_mutex_unlock(&in->lock);
}

enum intake_push_result intake_push(struct intake *in, int source,
				    const char *source_name, const char *body,
				    size_t len, intake_reply_fn reply,
				    void *reply_arg)
{
	struct chunk *first = NULL, *last = NULL;
	struct push *p;
	size_t off = 0;

	if (in->closed) {
		return INTAKE_CLOSED;
	}
	if (in->held_bytes > 0 && in->held_bytes + len > in->max_bytes) {
		in->busy++;
		return INTAKE_BUSY;
	}
	p = xcalloc(1, sizeof(*p));
	p->source = source;
	p->source_name = source_name != NULL ? xstrdup(source_name) : NULL;
	p->body = xmalloc(len + 1);
	if (len > 0) {
		memcpy(p->body, body, len);
	}
	p->len = len;
	p->t.errors = cJSON_CreateArray();
	p->reply = reply;
	p->reply_arg = reply_arg;
	p->next = in->pushes;
	in->pushes = p;
	in->held_bytes += len;
	do {
		size_t want = off == 0 ? INTAKE_FIRST_CHUNK_BYTES
				       : INTAKE_CHUNK_BYTES;
		size_t end = len - off > want ? off + want : len;
		struct chunk *c = chunk_new(in);

		if (end < len) {
			const char *nl = memchr(p->body + end, '\n', len - end);

			end = nl != NULL ? (size_t)(nl - p->body) + 1 : len;
		}
		c->p = p;
		c->seq = in->next_seq++;
		c->off = off;
		c->len = end - off;
		c->last = end == len;
		if (last != NULL) {
			last->next = c;
		} else {
			first = c;
		}
		last = c;
		off = end;
	} while (off < len);
	if (in->n_workers == 0) {
		/* In the call, in order: the chunks were numbered after every
		 * earlier one, which were all counted. */
		while (first != NULL) {
			struct chunk *c = first;

			first = c->next;
			parse_chunk(c, in->own, in->own_scratch, in->n_rules);
			count_chunk(in, c);
		}
		return INTAKE_QUEUED;
	}
	pthread_mutex_lock(&in->lock);
	if (in->queue_tail != NULL) {
		in->queue_tail->next = first;
	} else {
		in->queue_head = first;
	}
	in->queue_tail = last;
	pthread_cond_broadcast(&in->cond);
	pthread_mutex_unlock(&in->lock);
	return INTAKE_QUEUED;
}

void intake_hold(struct intake *in, bool hold)
{
	pthread_mutex_lock(&in->lock);
	in->hold = hold;
	pthread_cond_broadcast(&in->cond);
	pthread_mutex_unlock(&in->lock);
}

void intake_close(struct intake *in)
{
	in->closed = true;
	intake_hold(in, false);
}

bool intake_quiet(struct intake *in)
{
	bool quiet;

	if (in->ready != NULL) {
		return false;
	}
	pthread_mutex_lock(&in->lock);
	quiet = in->parsing == 0 && in->done == NULL &&
		(in->queue_head == NULL || in->hold);
	pthread_mutex_unlock(&in->lock);
	return quiet;
}

bool intake_empty(const struct intake *in)
{
	return in->pushes == NULL;
}

struct intake_stats intake_stats(const struct intake *in)
{
	struct intake_stats s = {
		.workers = in->n_workers,
		.busy = in->busy,
		.held_bytes = in->held_bytes,
		.pushes = in->answered,
	};

	return s;
}

void intake_free(struct intake *in)
{
	if (in == NULL) {
		return;
	}
	pthread_mutex_lock(&in->lock);
	in->stop = true;
	pthread_cond_broadcast(&in->cond);
	pthread_mutex_unlock(&in->lock);
	for (unsigned i = 0; i < in->n_workers; i++) {
		if (in->workers[i].started) {
			pthread_join(in->workers[i].tid, NULL);
		}
	}
	/* Clones only: their parent is the caller's. */
	for (unsigned i = 0; i < in->n_workers; i++) {
		matcher_free(in->workers[i].matcher);
		free(in->workers[i].scratch);
	}
	free(in->workers);
	matcher_free(in->own);
	free(in->own_scratch);
	chunk_list_free(in->queue_head);
	chunk_list_free(in->done);
	chunk_list_free(in->ready);
	chunk_list_free(in->spare);
	while (in->pushes != NULL) {
		struct push *p = in->pushes;

		in->pushes = p->next;
		push_free(p);
	}
	if (in->wake != NULL) {
		event_free(in->wake);
	}
	if (in->efd >= 0) {
		close(in->efd);
	}
	pthread_cond_destroy(&in->cond);
	pthread_mutex_destroy(&in->lock);
	free(in);
}

/*
 * ---- the loop's half: admitting and counting ----
 *
 * Every mention, pushed, pulled or read from a file, ends here on the
 * loop: its event time admitted or refused, its id checked against the
 * recent ones, then counted in the open buckets of each rule it matched
 * (or late for a bucket already closed). Closing and judging the buckets
 * is evaluate's.
 */

/* How far a replayed created_at may run ahead of the newest one. */
#define INTAKE_MAX_AHEAD_MS (86400000LL)

/* Arrival time of a mention. Replay has no wall clock: a mention without
 * created_at arrives at the newest event time seen, so output depends on
 * the input alone. */
int64_t intake_arrival_now(const struct hark *h)
{
	if (h->replay) {
		return h->wm.has_event ? h->wm.max_event_ms : 0;
	}
	return timeutil_now_ms();
}

/*
 * The recent ids of every source (pushes and replayed files included), made
 * on first use: as large as the largest source's `dedupe`, the default
 * without sources. A reload keeps it, and what it remembers.
 */
struct dedupe *intake_ids_seen(struct hark *h)
{
	int64_t cap = 0;

	if (h->dedupe != NULL) {
		return h->dedupe;
	}
	for (size_t i = 0; i < h->cfg->n_sources; i++) {
		if (h->cfg->sources[i].dedupe > cap) {
			cap = h->cfg->sources[i].dedupe;
		}
	}
	h->dedupe = dedupe_new(cap > 0 ? (size_t)cap
				       : (size_t)DEDUPE_DEFAULT_CAPACITY);
	return h->dedupe;
}

/* The id scope of mentions from source (-1: pushes without a source). */
static const char *source_scope(const struct hark *h, int source)
{
	return source >= 0 && (size_t)source < h->cfg->n_sources
		       ? config_source_scope(&h->cfg->sources[source])
		       : "";
}

/*
 * Refuses an event time too far ahead: one bogus created_at (a mangled
 * year, a wrong time zone) would otherwise push the watermark past every
 * open bucket, close them early for every rule, and make the live mentions
 * after it late. The daemon has a clock: further than max_future past it is
 * refused (and what is admitted moves the watermark no further than the
 * clock, count_matched). A replay has none but the stream: more than
 * INTAKE_MAX_AHEAD_MS past the newest mention is refused (less is a quiet
 * night in the file).
 */
static int check_event_time(struct hark *h, const struct mention *m, char *err,
			    size_t errlen)
{
	if (!m->has_created_at) {
		return 0;
	}
	if (!h->replay) {
		int64_t ahead = m->created_at_ms - timeutil_now_ms();

		if (ahead > h->cfg->max_future_ms) {
			h->future++;
			snprintf(err, errlen,
				 "created_at: %lld s ahead of this host's "
				 "clock (max_future %lld s)",
				 (long long)(ahead / 1000),
				 (long long)(h->cfg->max_future_ms / 1000));
			return -1;
		}
		return 0;
	}
	if (h->wm.has_event &&
	    m->created_at_ms > h->wm.max_event_ms + INTAKE_MAX_AHEAD_MS) {
		snprintf(err, errlen,
			 "created_at: more than a day ahead of the "
			 "newest mention");
		return -1;
	}
	return 0;
}

/* check_event_time, counting a refusal as a rejected line of source ss. */
int intake_admit_event_time(struct hark *h, struct src_counts *ss,
			    const struct mention *m, char *err, size_t errlen)
{
	if (check_event_time(h, m, err, errlen) < 0) {
		h->rejected++;
		ss->rejected++;
		return -1;
	}
	return 0;
}

/*
 * A rule without a saved state begins counting at the stream's newest
 * bucket once it is loaded and a mention has been seen (at start: the
 * first mention's bucket; after a reload that added it: where the stream
 * stands), or at the bucket of its first match if that came first. From
 * there every bucket is closed and evaluated, with count 0 when nothing
 * matched, and its warmup runs from there rather than from its first
 * match. A restored state already knows where it stands.
 */
static void rule_begin(struct hark *h, struct rule_rt *r)
{
	int64_t start, from;

	if (r->begun || !r->loaded || !h->wm.has_event) {
		return;
	}
	r->begun = true;
	if (detector_next_start(r->det) != INT64_MIN) {
		return;
	}
	/* A member that starts counting a rule late (it joined a running
	 * fleet, or took a stream's lease over) takes the state the others
	 * saved, judging from its next bucket on the stored totals, rather
	 * than learning afresh; with none saved it begins as alone. */
	if (h->fleet != NULL && !r->fleet_synced) {
		r->fleet_synced = true;
		r->begun = false;
		r->loaded = false;
		/* retried by reload_step until then, as an added rule is */
		h->rule_load_deadline_ms =
			timeutil_mono_ms() + HARK_LOAD_DEADLINE_MS;
		evaluate_load_rules(h);
		return;
	}
	start = series_next(r->series);
	/* Counting began where the stream stood (a rule added by a reload),
	 * or, for a rule that matched before it was loaded, with this
	 * process's first mention. */
	from = h->first_event_ms;
	if (start == INT64_MIN) {
		from = h->wm.max_event_ms;
		start = window_bucket_start(from, r->cfg->bucket_ms);
		series_set_next(r->series, start);
	}
	r->begin_ms = start;
	r->begin_from_ms = from;
	detector_begin(r->det, start, from);
}

/* rule_begin for every rule loaded since the last call. */
void intake_begin_rules(struct hark *h)
{
	if (!h->begin_pending || !h->wm.has_event) {
		return;
	}
	h->begin_pending = false;
	for (size_t i = 0; i < h->cfg->n_rules; i++) {
		rule_begin(h, &h->rules[i]);
	}
}

/* The rule's saved state was read (or given up on): it may count. */
void intake_rule_loaded(struct hark *h, struct rule_rt *r)
{
	r->loaded = true;
	h->begin_pending = true;
}

/*
 * Counts one parsed and matched mention (wm; ids: the rules it matched,
 * ascending): watermark, per-rule buckets. Its terms were found once,
 * whatever the number of rules it counts for.
 */
static void count_matched(struct hark *h, const struct window_mention *wm,
			  int64_t now, const uint32_t *ids, size_t n)
{
	const struct mention *m = wm->m;
	int64_t ev = m->has_created_at ? m->created_at_ms : now;
	bool late = false;
	struct window_mention shared = *wm;

	/* Live, the watermark follows the clock at most: a mention a little
	 * ahead (a skewed clock) counts in its own bucket without closing
	 * the buckets still filling. */
	if (!h->wm.has_event) {
		h->first_event_ms = !h->replay && ev > now ? now : ev;
	}
	watermark_observe(&h->wm, !h->replay && ev > now ? now : ev, now);
	/* One copy of the text for all the rules; its terms are found and
	 * tallied per rule only for a bucket whose tops are read. */
	if (n > 0 && m->text != NULL) {
		shared.shared = window_terms_new_text(h->fold, m->text,
						      strlen(m->text));
		shared.terms = NULL;
		shared.toks = NULL;
		shared.n_toks = 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct rule_rt *r = &h->rules[ids[i]];

		r->matched_total++;
		if (series_add_mention(r->series, ev, &shared) == SERIES_LATE) {
			r->late_total++;
			late = true;
		}
	}
	window_terms_release(shared.shared);
	intake_begin_rules(h);
	if (late) {
		h->late++;
	}
	h->accepted++;
}

/*
 * Describes m in *wm for the n rules it matched. Its terms are found
 * later, only for a bucket whose tops are read (count_matched,
 * window_terms_new_text).
 */
static void describe(const struct mention *m, size_t n,
		     struct window_mention *wm)
{
	if (n == 0) {
		/* counted for no rule: only wm->m is read */
		memset(wm, 0, sizeof(*wm));
		wm->m = m;
		return;
	}
	window_mention_init(wm, m);
}

/* Counts one parsed mention: watermark, match, per-rule buckets. */
void intake_count_mention(struct hark *h, int source, const struct mention *m,
			  int64_t now)
{
	struct match_input in = {
		.text = m->text,
		.len = strlen(m->text),
		.lang = m->lang,
		.source = source >= 0 && (size_t)source < h->cfg->n_sources
				  ? h->cfg->sources[source].name
				  : NULL,
		.author = m->author,
	};
	size_t n =
		matcher_match(h->matcher, &in, h->match_ids, h->cfg->n_rules);
	struct window_mention wm;

	describe(m, n, &wm);
	count_matched(h, &wm, now, h->match_ids, n);
}

/*
 * Counts mention wm (parsed and matched: ids, ascending), a line received
 * from source, once its event time is admitted and its id is new in the
 * source's scope: 0, or 1 for an id already counted (a retried push), or
 * -1 with the reason in err (counted rejected).
 */
int intake_count_received(struct hark *h, int source,
			  const struct window_mention *wm, const uint32_t *ids,
			  size_t n, char *err, size_t errlen)
{
	struct src_counts *ss =
		&h->src_stats[source >= 0 ? (size_t)source : h->cfg->n_sources];
	const char *id = wm->m->id;

	h->received++;
	ss->received++;
	if (intake_admit_event_time(h, ss, wm->m, err, errlen) < 0) {
		return -1;
	}
	/* After the time check: a mention refused for its time may come
	 * again, corrected, under the same id. */
	if (dedupe_check(intake_ids_seen(h), source_scope(h, source), id,
			 strlen(id)) == DEDUPE_DUPLICATE) {
		ss->duplicates++;
		return 1;
	}
	count_matched(h, wm, intake_arrival_now(h), ids, n);
	return 0;
}

/* A line received from ss's source that is not a mention. */
void intake_reject_received(struct hark *h, struct src_counts *ss)
{
	h->received++;
	ss->received++;
	h->rejected++;
	ss->rejected++;
}

int intake_count_line(struct hark *h, int source, const struct mention_opts *o,
		      const char *line, size_t len, char *err, size_t errlen)
{
	struct src_counts *ss =
		&h->src_stats[source >= 0 ? (size_t)source : h->cfg->n_sources];
	struct mention m;

	h->received++;
	ss->received++;
	switch (mention_parse_as(&m, o, line, len, err, errlen)) {
	case MENTION_OK:
		break;
	case MENTION_SKIPPED:
		return 1;
	case MENTION_REJECTED:
	case MENTION_STREAM_ERROR:
		h->rejected++;
		ss->rejected++;
		return -1;
	}
	/* File sources share the pulled sources' set: the same mention in
	 * two files, or written twice, counts once. */
	if (source >= 0 && (size_t)source < h->cfg->n_sources &&
	    h->cfg->sources[source].type == CONFIG_SOURCE_FILE &&
	    dedupe_check(intake_ids_seen(h), source_scope(h, source), m.id,
			 strlen(m.id)) == DEDUPE_DUPLICATE) {
		ss->duplicates++;
		mention_fini(&m);
		return 2;
	}
	if (intake_admit_event_time(h, ss, &m, err, errlen) < 0) {
		mention_fini(&m);
		return -1;
	}
	intake_count_mention(h, source, &m, intake_arrival_now(h));
	mention_fini(&m);
	return 0;
}

/*
 * Counts a parsed chunk of a push (intake, in arrival order): what
 * hark_ingest_line_as does after parsing, each line's verdict into t.
 */
static void push_count(void *arg, int source, const struct mbatch *b,
		       long line0, struct intake_tally *t)
{
	struct hark *h = arg;
	struct src_counts *ss =
		&h->src_stats[source >= 0 ? (size_t)source : h->cfg->n_sources];

	for (size_t i = 0; i < b->n; i++) {
		const struct mbatch_item *it = &b->items[i];
		struct window_mention wm;
		char why[256];

		switch (it->kind) {
		case MBATCH_EMPTY:
		case MBATCH_MSG:
			continue;
		case MBATCH_SKIPPED:
			h->received++;
			ss->received++;
			t->accepted++;
			continue;
		case MBATCH_BAD:
			intake_reject_received(h, ss);
			intake_tally_reject(t, line0 + it->lineno, it->why);
			continue;
		case MBATCH_OK:
			break;
		}
		switch (intake_count_received(h, source, mbatch_view(it, &wm),
					      b->ids + it->ids, it->n_ids, why,
					      sizeof(why))) {
		case -1:
			intake_tally_reject(t, line0 + it->lineno, why);
			continue;
		case 1:
			t->duplicates++;
			break;
		}
		t->accepted++;
	}
}

static void push_counted(void *arg)
{
	hark_process(arg);
}

const struct intake_ops intake_push_ops = {
	.count = push_count,
	.counted = push_counted,
};
