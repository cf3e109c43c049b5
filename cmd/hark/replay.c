/* SPDX-License-Identifier: MIT */
/*
 * `hark replay`: option parsing, and the mentions mode, which runs the
 * daemon's own pipeline (struct hark in replay mode, embedded store with
 * no snapshot) over NDJSON files and prints each notification's webhook
 * body. Counts mode lives in replay_counts.c.
 */
#include "replay.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/match.h"
#include "core/mbatch.h"
#include "core/mention.h"
#include "core/terms.h"
#include "core/window.h"
#include "hark.h"
#include "util/diag.h"
#include "util/log.h"
#include "util/timeutil.h"

/* Lines between two evaluations of closed buckets. */
#define REPLAY_BATCH_LINES 1024
#define REPLAY_READ_BYTES (1024 * 1024)
/* Malformed lines reported one by one before only counting them. */
#define REPLAY_MAX_LINE_ERRORS 20
#define REPLAY_MAX_DAYS 4096

struct day_count {
	int64_t day;
	uint64_t n;
};

struct replay_out {
	const char *only_rule; /* NULL: every rule */
	const struct config *cfg;
	uint64_t *alerts; /* per rule, firing notifications */
	struct day_count *days;
	size_t n_days;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: hark replay --counts FILE.csv [-c CONFIG --rule NAME] "
		"[--bucket DUR] [--explain]\n"
		"       hark replay -c CONFIG [--rule NAME] FILE.ndjson…\n");
}

static void alert_cb(void *arg, const char *rule, const char *status,
		     int64_t window_start_ms, const char *body, size_t len)
{
	struct replay_out *o = arg;
	int64_t day;
	size_t i;

	if (o->only_rule != NULL && strcmp(rule, o->only_rule) != 0) {
		return;
	}
	fwrite(body, 1, len, stdout);
	fputc('\n', stdout);
	if (strcmp(status, "firing") != 0) {
		return;
	}
	for (i = 0; i < o->cfg->n_rules; i++) {
		if (strcmp(o->cfg->rules[i].name, rule) == 0) {
			o->alerts[i]++;
		}
	}
	day = window_start_ms >= 0
		      ? window_start_ms / 86400000
		      : -((-window_start_ms + 86399999) / 86400000);
	for (i = 0; i < o->n_days; i++) {
		if (o->days[i].day == day) {
			o->days[i].n++;
			return;
		}
	}
	if (o->n_days < REPLAY_MAX_DAYS) {
		o->days =
			xreallocarray(o->days, o->n_days + 1, sizeof(*o->days));
		o->days[o->n_days].day = day;
		o->days[o->n_days].n = 1;
		o->n_days++;
	}
}

static int cmp_day(const void *a, const void *b)
{
	const struct day_count *x = a, *y = b;

	return (x->day > y->day) - (x->day < y->day);
}

/*
 * Parse workers: each takes the next batch of lines from the shared
 * reader (files read and split under read_lock, so batches and their
 * boundaries are those of one sequential reader), then parses and matches
 * it with its own matcher (pure core code, nothing shared but the
 * batches) and hands it over. The main thread counts and evaluates the
 * batches strictly in sequence order, exactly where feed used to, so
 * output does not depend on the workers' timing.
 */
struct batch {
	struct mbatch mb;
	uint64_t seq; /* position in the sequence the main thread counts */
	int file;     /* index in files; batches never span two files */
	bool run;     /* a full batch: evaluate closed buckets after it */
	bool last;    /* no batch follows */
	struct batch *next;
};

/* The files, read one after the other; only under pipeline.read_lock. */
struct reader {
	int file; /* the file being read, or the next one to open */
	FILE *in; /* NULL: files[file] not opened yet */
	char *chunk;
	size_t pos, end;
	bool eof;
	char *carry; /* a line cut by the end of the chunk */
	size_t carry_len, carry_cap;
	long lineno;
	uint64_t seq;
	bool done; /* the last batch has been handed out */
};

/* Enough queued batches that neither side waits on the other's hiccups
 * (8: 1.9 s, 16: 1.8 s, 32: 1.76 s for 1 M lines; ~1.6 MB each). */
#define REPLAY_BATCHES 16
/* Two cores measured: two workers and the counting thread keep both busy. */
#define REPLAY_WORKERS 2

struct pipeline;

struct worker {
	struct pipeline *p;
	struct matcher *matcher;
	uint32_t *scratch_ids;
	pthread_t tid;
	bool started;
};

struct pipeline {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_mutex_t read_lock;
	struct batch *full;      /* to the main thread, any order */
	struct batch *free_list; /* back to the workers */
	struct batch slots[REPLAY_BATCHES];
	struct worker workers[REPLAY_WORKERS];
	struct reader rd;
	size_t n_rules;
	char **files;
	int n_files;
};

static void batch_clear(struct batch *b)
{
	mbatch_clear(&b->mb);
	b->run = false;
	b->last = false;
	b->next = NULL;
}

static struct batch *take_free(struct pipeline *p)
{
	struct batch *b;

	pthread_mutex_lock(&p->lock);
	while (p->free_list == NULL) {
		pthread_cond_wait(&p->cond, &p->lock);
	}
	b = p->free_list;
	p->free_list = b->next;
	pthread_mutex_unlock(&p->lock);
	batch_clear(b);
	return b;
}

static void send_batch(struct pipeline *p, struct batch *b)
{
	pthread_mutex_lock(&p->lock);
	b->next = p->full;
	p->full = b;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static void give_back(struct pipeline *p, struct batch *b)
{
	pthread_mutex_lock(&p->lock);
	b->next = p->free_list;
	p->free_list = b;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static void carry_add(struct reader *r, const char *s, size_t n)
{
	if (r->carry_len + n > r->carry_cap) {
		r->carry_cap = (r->carry_len + n) * 2 + 1;
		r->carry = xrealloc(r->carry, r->carry_cap);
	}
	if (n > 0) {
		memcpy(r->carry + r->carry_len, s, n);
	}
	r->carry_len += n;
}

/* The next line of the open file, valid until the next call: a last line
 * without '\n' counts, as it did for the single-threaded reader. */
static bool next_line(struct reader *r, const char **line, size_t *len)
{
	for (;;) {
		const char *q = r->chunk + r->pos;
		size_t avail = r->end - r->pos;
		const char *nl = avail > 0 ? memchr(q, '\n', avail) : NULL;

		if (nl != NULL) {
			size_t n = (size_t)(nl - q);

			if (r->carry_len > 0) {
				carry_add(r, q, n);
				*line = r->carry;
				*len = r->carry_len;
				r->carry_len = 0;
			} else {
				*line = q;
				*len = n;
			}
			r->pos += n + 1;
			return true;
		}
		carry_add(r, q, avail);
		r->pos = r->end;
		if (r->eof) {
			if (r->carry_len == 0) {
				return false;
			}
			*line = r->carry;
			*len = r->carry_len;
			r->carry_len = 0;
			return true;
		}
		r->end = fread(r->chunk, 1, REPLAY_READ_BYTES, r->in);
		r->pos = 0;
		r->eof = r->end == 0;
	}
}

/* Fills b with the next batch, under read_lock; false when every batch
 * has been handed out. A batch ends after REPLAY_BATCH_LINES lines or at
 * the end of a file. */
static bool fill_batch(struct pipeline *p, struct batch *b)
{
	struct reader *r = &p->rd;
	const char *line, *path;
	size_t len;

	if (r->done) {
		return false;
	}
	b->seq = r->seq++;
	b->file = r->file;
	if (p->n_files == 0) {
		b->last = true;
		r->done = true;
		return true;
	}
	path = p->files[r->file];
	if (r->in == NULL) {
		r->in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
		if (r->in == NULL) {
			mbatch_put_msg(&b->mb, true,
				       xasprintf("hark: %s: %s", path,
						 strerror(errno)));
			goto file_end;
		}
		r->pos = 0;
		r->end = 0;
		r->eof = false;
		r->carry_len = 0;
		r->lineno = 0;
	}
	while (next_line(r, &line, &len)) {
		mbatch_put_line(&b->mb, line, len, ++r->lineno);
		if (b->mb.lines >= REPLAY_BATCH_LINES) {
			b->run = true;
			return true;
		}
	}
	if (ferror(r->in)) {
		mbatch_put_msg(&b->mb, false,
			       xasprintf("hark: %s: read error", path));
	}
	if (r->in != stdin) {
		fclose(r->in);
	}
	r->in = NULL;
file_end:
	if (++r->file >= p->n_files) {
		b->last = true;
		r->done = true;
	}
	return true;
}

static void parse_batch(struct worker *w, struct batch *b)
{
	static const struct mention_opts auto_opts = {
		.format = MENTION_FORMAT_AUTO,
		.reblog_original = true,
	};

	mbatch_parse(&b->mb, &auto_opts, w->matcher, w->scratch_ids,
		     w->p->n_rules, NULL);
}

static void *parse_thread(void *arg)
{
	struct worker *w = arg;
	struct pipeline *p = w->p;

	for (;;) {
		struct batch *b = take_free(p);
		bool ok;

		pthread_mutex_lock(&p->read_lock);
		ok = fill_batch(p, b);
		pthread_mutex_unlock(&p->read_lock);
		if (!ok) {
			give_back(p, b);
			return NULL;
		}
		parse_batch(w, b);
		send_batch(p, b);
	}
}

/* The batch numbered seq, once a worker has sent it. */
static struct batch *next_full(struct pipeline *p, uint64_t seq)
{
	struct batch *b, **at;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		for (at = &p->full; *at != NULL; at = &(*at)->next) {
			if ((*at)->seq == seq) {
				break;
			}
		}
		if (*at != NULL) {
			break;
		}
		pthread_cond_wait(&p->cond, &p->lock);
	}
	b = *at;
	*at = b->next;
	pthread_mutex_unlock(&p->lock);
	return b;
}

/* Counts the parse thread's batches in order; returns -1 when a file
 * could not be opened. A failed evaluation skips the rest of that file,
 * as it did when one thread did everything. */
static int feed_files(struct hark *h, char **files, int n_files,
		      uint64_t *errors)
{
	struct pipeline p;
	struct matcher *first;
	struct window_mention wm;
	char why[256];
	int rc = 0, skip = -1, err, started = 0;
	uint64_t seq = 0;
	bool last = false;

	memset(&p, 0, sizeof(p));
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.cond, NULL);
	pthread_mutex_init(&p.read_lock, NULL);
	for (size_t i = 0; i < REPLAY_BATCHES; i++) {
		p.slots[i].next = p.free_list;
		p.free_list = &p.slots[i];
	}
	p.n_rules = hark_config(h)->n_rules;
	p.files = files;
	p.n_files = n_files;
	p.rd.chunk = xmalloc(REPLAY_READ_BYTES);
	first = hark_replay_take_matcher(h);
	/* Every clone before any thread starts: cloning reads first. */
	for (int i = 0; i < REPLAY_WORKERS; i++) {
		struct worker *w = &p.workers[i];

		w->p = &p;
		w->matcher = i == 0 ? first : matcher_clone(first);
		w->scratch_ids =
			xcalloc(p.n_rules + 1, sizeof(*w->scratch_ids));
	}
	for (int i = 0; i < REPLAY_WORKERS; i++) {
		struct worker *w = &p.workers[i];

		if (w->matcher == NULL) {
			break;
		}
		err = pthread_create(&w->tid, NULL, parse_thread, w);
		if (err != 0) {
			if (started == 0) {
				fprintf(stderr,
					"hark: cannot start the "
					"parse thread: %s\n",
					strerror(err));
				rc = -1;
				goto out;
			}
			break;
		}
		w->started = true;
		started++;
	}
	while (!last) {
		struct batch *b = next_full(&p, seq++);

		last = b->last;
		for (size_t i = 0; i < b->mb.n && b->file != skip; i++) {
			const struct mbatch_item *it = &b->mb.items[i];

			switch (it->kind) {
			case MBATCH_EMPTY:
				break;
			case MBATCH_OK:
				if (hark_replay_count_prepared(
					    h, mbatch_view(it, &wm),
					    b->mb.ids + it->ids, it->n_ids, why,
					    sizeof(why)) >= 0) {
					break;
				}
				if (*errors < REPLAY_MAX_LINE_ERRORS) {
					fprintf(stderr, "%s:%ld: %s\n",
						files[b->file], it->lineno,
						why);
				}
				(*errors)++;
				break;
			case MBATCH_SKIPPED:
			case MBATCH_BAD:
				hark_replay_reject(h);
				if (*errors < REPLAY_MAX_LINE_ERRORS) {
					fprintf(stderr, "%s:%ld: %s\n",
						files[b->file], it->lineno,
						it->why);
				}
				(*errors)++;
				break;
			case MBATCH_MSG:
				fprintf(stderr, "%s\n", it->why);
				if (it->fail) {
					rc = -1;
				}
				break;
			}
		}
		if (b->run && b->file != skip && hark_replay_run(h) < 0) {
			skip = b->file;
		}
		give_back(&p, b);
	}
out:
	for (int i = 0; i < REPLAY_WORKERS; i++) {
		if (p.workers[i].started) {
			pthread_join(p.workers[i].tid, NULL);
		}
	}
	for (size_t i = 0; i < REPLAY_BATCHES; i++) {
		mbatch_fini(&p.slots[i].mb);
	}
	/* Clones first: they share the first matcher's database. */
	for (int i = REPLAY_WORKERS - 1; i >= 0; i--) {
		free(p.workers[i].scratch_ids);
		if (p.workers[i].matcher != first) {
			matcher_free(p.workers[i].matcher);
		}
	}
	matcher_free(first);
	free(p.rd.chunk);
	free(p.rd.carry);
	pthread_mutex_destroy(&p.read_lock);
	pthread_cond_destroy(&p.cond);
	pthread_mutex_destroy(&p.lock);
	return rc;
}

static int replay_mentions(struct config *cfg, const char *only_rule,
			   char **files, int n_files)
{
	struct event_base *base;
	struct hark *h;
	struct replay_out o;
	struct hark_replay r;
	char err[512];
	uint64_t errors = 0, received, rejected, late;
	int rc = 0;

	memset(&o, 0, sizeof(o));
	/* Offline: the embedded store, nothing read from or saved to disk. */
	config_use_embedded_store(cfg);
	free(cfg->snapshot_path);
	cfg->snapshot_path = NULL;
	log_set_level(LOG_LEVEL_WARN);
	base = event_base_new();
	h = hark_new(base, cfg, err, sizeof(err));
	if (h == NULL) {
		fprintf(stderr, "%s\n", err);
		event_base_free(base);
		return 3;
	}
	cfg = NULL; /* owned by h now */
	o.cfg = hark_config(h);
	o.only_rule = only_rule;
	o.alerts = xcalloc(o.cfg->n_rules + 1, sizeof(*o.alerts));
	r.alert = alert_cb;
	r.arg = &o;
	hark_set_replay(h, &r);
	if (hark_start(h, NULL, NULL) < 0 || hark_replay_run(h) < 0) {
		rc = 1;
		goto out;
	}
	if (feed_files(h, files, n_files, &errors) < 0) {
		rc = 1;
	}
	if (hark_replay_finish(h) < 0) {
		rc = 1;
	}
	fflush(stdout);
	hark_totals(h, &received, &rejected, &late);
	fprintf(stderr, "replay: mentions=%llu rejected=%llu late=%llu\n",
		(unsigned long long)received, (unsigned long long)rejected,
		(unsigned long long)late);
	for (size_t i = 0; i < o.cfg->n_rules; i++) {
		if (only_rule != NULL &&
		    strcmp(o.cfg->rules[i].name, only_rule) != 0) {
			continue;
		}
		fprintf(stderr, "replay: rule=%s matches=%llu alerts=%llu\n",
			o.cfg->rules[i].name,
			(unsigned long long)hark_rule_matched(h, i),
			(unsigned long long)o.alerts[i]);
	}
	if (o.n_days > 0) {
		qsort(o.days, o.n_days, sizeof(*o.days), cmp_day);
	}
	for (size_t i = 0; i < o.n_days; i++) {
		char ts[32];

		timeutil_format_rfc3339(o.days[i].day * 86400, ts);
		ts[10] = '\0';
		fprintf(stderr, "replay: day=%s alerts=%llu\n", ts,
			(unsigned long long)o.days[i].n);
	}
out:
	free(o.alerts);
	free(o.days);
	hark_free(h);
	event_base_free(base);
	return rc;
}

int cmd_replay(int argc, char **argv)
{
	const char *counts = NULL, *config_path = NULL, *rule = NULL;
	const char *bucket_text = NULL;
	int64_t bucket_ms = 0;
	struct config *cfg = NULL;
	char **files = xcalloc((size_t)argc + 1, sizeof(*files));
	int n_files = 0, rc;
	bool explain = false;

	for (int i = 1; i < argc; i++) {
		bool has_val = i + 1 < argc;

		if (strcmp(argv[i], "--counts") == 0 && has_val) {
			counts = argv[++i];
		} else if ((strcmp(argv[i], "-c") == 0 ||
			    strcmp(argv[i], "--config") == 0) &&
			   has_val) {
			config_path = argv[++i];
		} else if (strcmp(argv[i], "--rule") == 0 && has_val) {
			rule = argv[++i];
		} else if (strcmp(argv[i], "--bucket") == 0 && has_val) {
			bucket_text = argv[++i];
		} else if (strcmp(argv[i], "--explain") == 0) {
			explain = true;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			usage();
			free(files);
			return 2;
		} else {
			files[n_files++] = argv[i];
		}
	}
	if (bucket_text != NULL) {
		const char *why;

		if (timeutil_parse_duration(bucket_text, &bucket_ms, &why) <
			    0 ||
		    bucket_ms <= 0) {
			fprintf(stderr, "hark: --bucket: %s, got \"%s\"\n",
				why != NULL ? why : "must be positive",
				bucket_text);
			free(files);
			return 2;
		}
	}
	if ((counts == NULL && (config_path == NULL || n_files == 0)) ||
	    (counts != NULL && n_files > 0) ||
	    (counts != NULL && rule != NULL && config_path == NULL) ||
	    (explain && counts == NULL)) {
		usage();
		free(files);
		return 2;
	}
	if (config_path != NULL) {
		struct diag dg;

		cfg = xcalloc(1, sizeof(*cfg));
		diag_init(&dg);
		if (config_load(cfg, config_path, &dg) < 0) {
			diag_print(&dg, stderr);
			diag_fini(&dg);
			free(cfg);
			free(files);
			return 3;
		}
		diag_fini(&dg);
		if (rule != NULL && config_find_rule(cfg, rule) < 0) {
			fprintf(stderr, "hark: %s: no rule named \"%s\"\n",
				config_path, rule);
			config_fini(cfg);
			free(cfg);
			free(files);
			return 2;
		}
	}
	if (counts != NULL) {
		long ri = cfg != NULL
				  ? (rule != NULL ? config_find_rule(cfg, rule)
						  : 0)
				  : -1;

		rc = replay_counts(counts,
				   cfg != NULL && cfg->n_rules > 0 && ri >= 0
					   ? &cfg->rules[ri]
					   : NULL,
				   bucket_ms, explain, stdout);
		if (cfg != NULL) {
			config_fini(cfg);
			free(cfg);
		}
		free(files);
		return rc;
	}
	rc = replay_mentions(cfg, rule, files, n_files);
	free(files);
	return rc;
}
