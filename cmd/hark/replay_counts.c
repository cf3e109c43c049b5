/* SPDX-License-Identifier: MIT */
/*
 * `hark replay --counts`: one detector over a timestamp,value CSV, the same
 * code the daemon runs per rule. Output: timestamp,value,baseline,score,
 * alert with the timestamp copied as given and alert = 1 only on the rows
 * where a firing notification would be sent (escalations included); with
 * --explain also reason,threshold,span (why, what the score had to reach,
 * the span it is of in buckets).
 */
#include "replay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/detect.h"
#include "hark.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

/* Rows looked at to infer the bucket. */
#define INFER_ROWS 1000

struct row {
	char *ts;    /* owned, as given */
	char *value; /* owned, as given */
	int64_t at_ms;
	int64_t count;
};

static void free_rows(struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].ts);
		free(rows[i].value);
	}
	free(rows);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The most common positive gap between consecutive timestamps (median of
 * the first INFER_ROWS gaps), or 0. */
static int64_t infer_bucket(const struct row *rows, size_t n)
{
	int64_t gaps[INFER_ROWS];
	size_t k = 0;

	for (size_t i = 1; i < n && k < INFER_ROWS; i++) {
		int64_t g = rows[i].at_ms - rows[i - 1].at_ms;

		if (g > 0) {
			gaps[k++] = g;
		}
	}
	if (k == 0) {
		return 0;
	}
	qsort(gaps, k, sizeof(gaps[0]), cmp_i64);
	return gaps[k / 2];
}

static int read_rows(FILE *in, const char *path, struct row **out,
		     size_t *n_out)
{
	char *line = NULL;
	size_t cap = 0, n = 0, alloc = 0;
	ssize_t len;
	long lineno = 0;
	struct row *rows = NULL;
	int bad = 0;

	while ((len = getline(&line, &cap, in)) >= 0) {
		char *comma, *end;
		struct row r;
		long long v;

		lineno++;
		while (len > 0 &&
		       (line[len - 1] == '\n' || line[len - 1] == '\r')) {
			line[--len] = '\0';
		}
		if (len == 0) {
			continue;
		}
		comma = strchr(line, ',');
		if (comma == NULL) {
			fprintf(stderr, "%s:%ld: expected timestamp,value\n",
				path, lineno);
			bad = 1;
			continue;
		}
		*comma = '\0';
		if (timeutil_parse_rfc3339(line, (size_t)(comma - line),
					   &r.at_ms) < 0) {
			if (lineno == 1) {
				continue; /* the header */
			}
			fprintf(stderr, "%s:%ld: bad timestamp \"%s\"\n", path,
				lineno, line);
			bad = 1;
			continue;
		}
		errno = 0;
		v = strtoll(comma + 1, &end, 10);
		if (errno != 0 || end == comma + 1 ||
		    (*end != '\0' && *end != '.') || v < 0) {
			fprintf(stderr, "%s:%ld: bad value \"%s\"\n", path,
				lineno, comma + 1);
			bad = 1;
			continue;
		}
		r.count = v;
		r.ts = xstrdup(line);
		r.value = xstrdup(comma + 1);
		if (n == alloc) {
			alloc = alloc ? alloc * 2 : 4096;
			rows = xreallocarray(rows, alloc, sizeof(*rows));
		}
		rows[n++] = r;
	}
	free(line);
	*out = rows;
	*n_out = n;
	return bad ? -1 : 0;
}

int replay_counts(const char *path, const struct config_rule *rule,
		  int64_t bucket_ms, bool explain, FILE *out)
{
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	struct row *rows;
	size_t n;
	struct detect_params p;
	struct detector *d;
	int64_t last_start = INT64_MIN;

	if (in == NULL) {
		fprintf(stderr, "hark: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (read_rows(in, path, &rows, &n) < 0) {
		if (in != stdin) {
			fclose(in);
		}
		free_rows(rows, n);
		return 1;
	}
	if (in != stdin) {
		fclose(in);
	}
	if (bucket_ms == 0) {
		bucket_ms = infer_bucket(rows, n);
	}
	if (bucket_ms <= 0) {
		fprintf(stderr, "%s: cannot infer the bucket (give --bucket)\n",
			path);
		free_rows(rows, n);
		return 1;
	}
	if (rule != NULL) {
		/* The rule's keys, the detector's defaults for this bucket. */
		struct config_rule r = *rule;

		r.bucket_ms = bucket_ms;
		hark_detect_params(&r, &p);
	} else {
		detect_params_default(&p, bucket_ms);
	}
	d = detector_new(&p);
	if (n > 0) {
		/* Counting began with the first row: the warmup runs from
		 * there. */
		detector_begin(d, rows[0].at_ms, rows[0].at_ms);
	}
	fprintf(out, "timestamp,value,baseline,score,alert%s\n",
		explain ? ",reason,threshold,span" : "");
	for (size_t i = 0; i < n; i++) {
		struct detect_result res;
		/* Rows are bucketed relative to the first one, so that series
		 * stamped at :53 past the minute keep one row per bucket. */
		int64_t start =
			rows[0].at_ms +
			(rows[i].at_ms - rows[0].at_ms) / bucket_ms * bucket_ms;

		if (start <= last_start) {
			start = last_start + bucket_ms;
		}
		last_start = start;
		detector_step(d, start, rows[i].count, &res);
		fprintf(out, "%s,%s,%.3f,%.3f,%d", rows[i].ts, rows[i].value,
			res.baseline, res.score, res.action == DETECT_FIRE);
		if (explain) {
			fprintf(out, ",%s,%.3f,%d",
				detect_reason_name(res.reason), res.threshold,
				res.span);
		}
		fputc('\n', out);
	}
	detector_free(d);
	free_rows(rows, n);
	return 0;
}
