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

#include "core/match.h"
#include "core/mbatch.h"
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
