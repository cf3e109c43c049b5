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
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/detect.h"
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

/* Feeds one file through h; returns the number of malformed lines. */
static int feed_file(struct hark *h, const char *path, uint64_t *errors)
{
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *chunk, *carry = NULL;
	size_t carry_len = 0, carry_cap = 0, n;
	long lineno = 0;
	unsigned batch = 0;

	if (in == NULL) {
		fprintf(stderr, "hark: %s: %s\n", path, strerror(errno));
		return -1;
	}
	chunk = xmalloc(REPLAY_READ_BYTES);
	for (;;) {
		const char *p, *end;

		n = fread(chunk, 1, REPLAY_READ_BYTES, in);
		p = chunk;
		end = chunk + n;
		while (p < end || (n == 0 && carry_len > 0)) {
			const char *nl = n > 0 ? memchr(p, '\n',
							(size_t)(end - p))
					       : NULL;
			const char *line;
			size_t len;
			char why[256];

			if (nl == NULL && n > 0) {
				size_t add = (size_t)(end - p);

				if (carry_len + add > carry_cap) {
					carry_cap = (carry_len + add) * 2;
					carry = xrealloc(carry, carry_cap);
				}
				memcpy(carry + carry_len, p, add);
				carry_len += add;
				break;
			}
			if (carry_len > 0) {
				size_t add = nl != NULL ? (size_t)(nl - p) : 0;

				if (carry_len + add > carry_cap) {
					carry_cap = (carry_len + add) * 2 + 1;
					carry = xrealloc(carry, carry_cap);
				}
				memcpy(carry + carry_len, p, add);
				carry_len += add;
				line = carry;
				len = carry_len;
				carry_len = 0;
			} else {
				line = p;
				len = (size_t)(nl - p);
			}
			p = nl != NULL ? nl + 1 : end;
			lineno++;
			while (len > 0 && line[len - 1] == '\r') {
				len--;
			}
			if (len > 0 &&
			    hark_ingest_line(h, -1, line, len, why,
					     sizeof(why)) < 0) {
				if (*errors < REPLAY_MAX_LINE_ERRORS) {
					fprintf(stderr, "%s:%ld: %s\n", path,
						lineno, why);
				}
				(*errors)++;
			}
			if (++batch >= REPLAY_BATCH_LINES) {
				batch = 0;
				if (hark_replay_run(h) < 0) {
					goto out;
				}
			}
			if (n == 0) {
				break;
			}
		}
		if (n == 0) {
			break;
		}
	}
out:
	if (ferror(in)) {
		fprintf(stderr, "hark: %s: read error\n", path);
	}
	if (in != stdin) {
		fclose(in);
	}
	free(chunk);
	free(carry);
	return 0;
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
	for (int i = 0; i < n_files; i++) {
		if (feed_file(h, files[i], &errors) < 0) {
			rc = 1;
		}
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
	qsort(o.days, o.n_days, sizeof(*o.days), cmp_day);
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
