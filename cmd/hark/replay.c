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
#include "core/detect.h"
#include "core/match.h"
#include "core/mention.h"
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
	uint64_t *alerts;      /* per rule, firing notifications */
	struct day_count *days;
	size_t n_days;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: hark replay --counts FILE.csv [-c CONFIG --rule NAME] "
		"[--bucket DUR]\n"
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
	day = window_start_ms >= 0 ? window_start_ms / 86400000
				   : -((-window_start_ms + 86399999) / 86400000);
	for (i = 0; i < o->n_days; i++) {
		if (o->days[i].day == day) {
			o->days[i].n++;
			return;
		}
	}
	if (o->n_days < REPLAY_MAX_DAYS) {
		o->days = xreallocarray(o->days, o->n_days + 1,
					sizeof(*o->days));
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
 * The parse thread: reads the files, splits lines, parses and matches them
 * with the matcher taken from h (pure core code, nothing shared but the
 * batches), and hands batches of lines over in input order. The main
 * thread counts and evaluates them exactly where feed used to, so output
 * does not depend on the thread's timing.
 */
enum item_kind {
	ITEM_EMPTY, /* a blank line: only counted towards the batch */
	ITEM_OK,    /* m and ids filled */
	ITEM_BAD,   /* why: the parser's reason */
	ITEM_MSG,   /* why: a message for stderr (open or read error) */
};

struct item {
	enum item_kind kind;
	bool fail;      /* ITEM_MSG: the file could not be read */
	struct mention m;
	size_t ids;     /* offset in batch.ids */
	size_t n_ids;
	long lineno;
	char *why;      /* owned */
};

struct batch {
	struct item *items;
	size_t n, cap;
	uint32_t *ids;
	size_t n_ids, cap_ids;
	size_t lines;   /* lines read, empty ones included */
	int file;       /* index in files; batches never span two files */
	bool run;       /* a full batch: evaluate closed buckets after it */
	bool last;      /* no batch follows */
	struct batch *next;
};

#define REPLAY_BATCHES 8

struct pipeline {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct batch *full_head, *full_tail; /* to the main thread, in order */
	struct batch *free_list;             /* back to the parse thread */
	struct batch slots[REPLAY_BATCHES];
	struct matcher *matcher; /* the parse thread's alone */
	uint32_t *scratch_ids;
	size_t n_rules;
	char **files;
	int n_files;
	struct batch *cur;       /* being filled by the parse thread */
};

/* Frees what a batch's items own; called by the parse thread, which
 * allocated it, so malloc stays within one arena. */
static void batch_clear(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->items[i].kind == ITEM_OK) {
			mention_fini(&b->items[i].m);
		}
		free(b->items[i].why);
	}
	b->n = 0;
	b->n_ids = 0;
	b->lines = 0;
	b->run = false;
	b->last = false;
	b->next = NULL;
}

static struct batch *take_free(struct pipeline *p, int file)
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
	b->file = file;
	return b;
}

static void send_batch(struct pipeline *p, struct batch *b)
{
	pthread_mutex_lock(&p->lock);
	b->next = NULL;
	if (p->full_tail != NULL) {
		p->full_tail->next = b;
	} else {
		p->full_head = b;
	}
	p->full_tail = b;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static struct item *new_item(struct batch *b, enum item_kind kind)
{
	struct item *it;

	if (b->n == b->cap) {
		b->cap = b->cap != 0 ? b->cap * 2 : REPLAY_BATCH_LINES + 4;
		b->items = xreallocarray(b->items, b->cap, sizeof(*b->items));
	}
	it = &b->items[b->n++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	return it;
}

static void put_msg(struct pipeline *p, bool fail, char *msg)
{
	struct item *it = new_item(p->cur, ITEM_MSG);

	it->fail = fail;
	it->why = msg;
}

static void put_line(struct pipeline *p, int file, const char *line,
		     size_t len, long lineno)
{
	struct batch *b = p->cur;
	struct item *it;
	char why[256];

	while (len > 0 && line[len - 1] == '\r') {
		len--;
	}
	if (len == 0) {
		new_item(b, ITEM_EMPTY);
	} else {
		it = new_item(b, ITEM_OK);
		it->lineno = lineno;
		if (mention_parse(&it->m, line, len, why, sizeof(why)) < 0) {
			it->kind = ITEM_BAD;
			it->why = xstrdup(why);
		} else {
			struct match_input in = {
				.text = it->m.text,
				.len = strlen(it->m.text),
				.lang = it->m.lang,
				.source = NULL,
				.author = it->m.author,
			};

			it->n_ids = matcher_match(p->matcher, &in,
						  p->scratch_ids, p->n_rules);
			if (b->n_ids + it->n_ids > b->cap_ids) {
				b->cap_ids = (b->n_ids + it->n_ids) * 2;
				b->ids = xreallocarray(b->ids, b->cap_ids,
						       sizeof(*b->ids));
			}
			if (it->n_ids > 0) {
				memcpy(b->ids + b->n_ids, p->scratch_ids,
				       it->n_ids * sizeof(*b->ids));
			}
			it->ids = b->n_ids;
			b->n_ids += it->n_ids;
		}
	}
	if (++b->lines >= REPLAY_BATCH_LINES) {
		b->run = true;
		send_batch(p, b);
		p->cur = take_free(p, file);
	}
}

/* Reads one file into batches, line by line as the single-threaded
 * reader did (a last line without '\n' counts; '\r' before it is cut). */
static void read_file(struct pipeline *p, int file)
{
	const char *path = p->files[file];
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *chunk, *carry = NULL;
	size_t carry_len = 0, carry_cap = 0, n;
	long lineno = 0;

	if (in == NULL) {
		put_msg(p, true, xasprintf("hark: %s: %s", path,
					   strerror(errno)));
		return;
	}
	chunk = xmalloc(REPLAY_READ_BYTES);
	for (;;) {
		const char *q, *end;

		n = fread(chunk, 1, REPLAY_READ_BYTES, in);
		q = chunk;
		end = chunk + n;
		while (q < end || (n == 0 && carry_len > 0)) {
			const char *nl = n > 0 ? memchr(q, '\n',
							(size_t)(end - q))
					       : NULL;

			if (nl == NULL && n > 0) {
				size_t add = (size_t)(end - q);

				if (carry_len + add > carry_cap) {
					carry_cap = (carry_len + add) * 2;
					carry = xrealloc(carry, carry_cap);
				}
				memcpy(carry + carry_len, q, add);
				carry_len += add;
				break;
			}
			lineno++;
			if (carry_len > 0) {
				size_t add = nl != NULL ? (size_t)(nl - q) : 0;

				if (carry_len + add > carry_cap) {
					carry_cap = (carry_len + add) * 2 + 1;
					carry = xrealloc(carry, carry_cap);
				}
				memcpy(carry + carry_len, q, add);
				carry_len += add;
				put_line(p, file, carry, carry_len, lineno);
				carry_len = 0;
			} else {
				put_line(p, file, q, (size_t)(nl - q), lineno);
			}
			q = nl != NULL ? nl + 1 : end;
			if (n == 0) {
				break;
			}
		}
		if (n == 0) {
			break;
		}
	}
	if (ferror(in)) {
		put_msg(p, false, xasprintf("hark: %s: read error", path));
	}
	if (in != stdin) {
		fclose(in);
	}
	free(chunk);
	free(carry);
}

static void *parse_thread(void *arg)
{
	struct pipeline *p = arg;

	for (int i = 0; i < p->n_files; i++) {
		p->cur = take_free(p, i);
		read_file(p, i);
		if (i + 1 < p->n_files) {
			send_batch(p, p->cur);
		}
	}
	if (p->n_files == 0) {
		p->cur = take_free(p, 0);
	}
	p->cur->last = true;
	send_batch(p, p->cur);
	p->cur = NULL;
	return NULL;
}

static struct batch *next_full(struct pipeline *p)
{
	struct batch *b;

	pthread_mutex_lock(&p->lock);
	while (p->full_head == NULL) {
		pthread_cond_wait(&p->cond, &p->lock);
	}
	b = p->full_head;
	p->full_head = b->next;
	if (p->full_head == NULL) {
		p->full_tail = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	return b;
}

static void give_back(struct pipeline *p, struct batch *b)
{
	pthread_mutex_lock(&p->lock);
	b->next = p->free_list;
	p->free_list = b;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

/* Counts the parse thread's batches in order; returns -1 when a file
 * could not be opened. A failed evaluation skips the rest of that file,
 * as it did when one thread did everything. */
static int feed_files(struct hark *h, char **files, int n_files,
		      uint64_t *errors)
{
	struct pipeline p;
	pthread_t tid;
	int rc = 0, skip = -1, err;
	bool last = false;

	memset(&p, 0, sizeof(p));
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.cond, NULL);
	for (size_t i = 0; i < REPLAY_BATCHES; i++) {
		p.slots[i].next = p.free_list;
		p.free_list = &p.slots[i];
	}
	p.matcher = hark_replay_take_matcher(h);
	p.n_rules = hark_config(h)->n_rules;
	p.scratch_ids = xcalloc(p.n_rules + 1, sizeof(*p.scratch_ids));
	p.files = files;
	p.n_files = n_files;
	err = pthread_create(&tid, NULL, parse_thread, &p);
	if (err != 0) {
		fprintf(stderr, "hark: cannot start the parse thread: %s\n",
			strerror(err));
		rc = -1;
		goto out;
	}
	while (!last) {
		struct batch *b = next_full(&p);

		last = b->last;
		for (size_t i = 0; i < b->n && b->file != skip; i++) {
			const struct item *it = &b->items[i];

			switch (it->kind) {
			case ITEM_EMPTY:
				break;
			case ITEM_OK:
				hark_replay_count(h, &it->m, b->ids + it->ids,
						  it->n_ids);
				break;
			case ITEM_BAD:
				hark_replay_reject(h);
				if (*errors < REPLAY_MAX_LINE_ERRORS) {
					fprintf(stderr, "%s:%ld: %s\n",
						files[b->file], it->lineno,
						it->why);
				}
				(*errors)++;
				break;
			case ITEM_MSG:
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
	pthread_join(tid, NULL);
out:
	for (size_t i = 0; i < REPLAY_BATCHES; i++) {
		batch_clear(&p.slots[i]);
		free(p.slots[i].items);
		free(p.slots[i].ids);
	}
	free(p.scratch_ids);
	matcher_free(p.matcher);
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
	free(cfg->redis_url);
	cfg->redis_url = NULL;
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
	struct detect_params p;
	char **files = xcalloc((size_t)argc + 1, sizeof(*files));
	int n_files = 0, rc;

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

		if (timeutil_parse_duration(bucket_text, &bucket_ms, &why) < 0 ||
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
	    (counts != NULL && rule != NULL && config_path == NULL)) {
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
		long ri = cfg != NULL ? (rule != NULL ? config_find_rule(cfg, rule)
						      : 0)
				      : -1;

		if (cfg != NULL && cfg->n_rules > 0 && ri >= 0) {
			hark_detect_params(&cfg->rules[ri], &p);
		} else {
			detect_params_default(&p, 300000);
		}
		rc = replay_counts(counts, &p, bucket_ms, stdout);
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
