/* SPDX-License-Identifier: MIT */
/*
 * hark: the command-line tool. Offline commands run the daemon's own core
 * code: `check` validates a config and prints each rule, `match` prints
 * which rules each mention of an NDJSON file matches. `status` asks a
 * running harkd. Exit codes: 0 ok, 1 failure, 2 usage, 3 bad config.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config/config.h"
#include "core/detect.h"
#include "core/fold.h"
#include "core/match.h"
#include "core/mention.h"
#include "core/query.h"
#include "hark-config.h"
#include "hark.h"
#include "replay.h"
#include "silence.h"
#include "util/buf.h"
#include "util/diag.h"
#include "util/timeutil.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: hark COMMAND [ARGS]\n"
		     "  check FILE                     validate a config, "
		     "print its rules\n"
		     "  match -c FILE [--source NAME] MENTIONS.ndjson…\n"
		     "                                 print "
		     "{\"id\",\"rules\"} per mention\n"
		     "  replay --counts FILE.csv [-c FILE --rule NAME] "
		     "[--bucket DUR] [--explain]\n"
		     "                                 backtest a count series "
		     "(CSV out: timestamp,value,\n"
		     "                                 baseline,score,alert; "
		     "--explain adds reason,\n"
		     "                                 threshold,span: why, "
		     "the score needed, its span\n"
		     "                                 in buckets)\n"
		     "  replay -c FILE MENTIONS.ndjson… backtest mentions "
		     "(webhook bodies out)\n"
		     "  status [-c FILE | --url URL]   show a running harkd's "
		     "rules\n"
		     "  silence add|list|expire …      manage a running "
		     "harkd's silences\n"
		     "  version\n");
}

static int load(struct config *cfg, const char *path)
{
	struct diag dg;
	int rc;

	diag_init(&dg);
	rc = config_load(cfg, path, &dg);
	if (rc < 0) {
		diag_print(&dg, stderr);
	}
	diag_fini(&dg);
	return rc;
}

/* Compiles every rule's query, as harkd does at start. */
static struct matcher *compile(const struct config *cfg, struct fold *f)
{
	struct matcher *m = matcher_new(f);
	char why[256];

	for (size_t i = 0; i < cfg->n_rules; i++) {
		if (matcher_add_query(m, (uint32_t)i, cfg->rules[i].match, why,
				      sizeof(why)) < 0) {
			fprintf(stderr, "%s: rules[%zu] (%s): %s\n", cfg->path,
				i, cfg->rules[i].name, why);
			matcher_free(m);
			return NULL;
		}
	}
	if (matcher_compile(m, why, sizeof(why)) < 0) {
		fprintf(stderr, "%s: rules: %s\n", cfg->path, why);
		matcher_free(m);
		return NULL;
	}
	return m;
}

/*
 * The detection settings harkd will use for rule r: its own keys, the
 * detector's defaults for the others ("sensitivity=auto": each span's
 * threshold comes from false_alarms).
 */
static void print_detection(const struct config_rule *r)
{
	static const char *const dirs[] = {"up", "down", "both"};
	struct detect_params p;
	char bucket[32], cooldown[32], warmup[32], novelty[32];

	hark_detect_params(r, &p);
	timeutil_format_duration(p.bucket_ms, bucket);
	timeutil_format_duration(p.cooldown_ms, cooldown);
	timeutil_format_duration(p.warmup_ms, warmup);
	if (p.novelty_ms > 0) {
		timeutil_format_duration(p.novelty_ms, novelty);
	} else {
		snprintf(novelty, sizeof(novelty), "off");
	}
	printf("bucket=%s direction=%s ", bucket, dirs[p.direction]);
	if (p.threshold > 0) {
		printf("sensitivity=%g ", p.threshold);
	} else {
		printf("sensitivity=auto ");
	}
	printf("false_alarms=%g min_count=%lld min_excess=%lld min_ratio=%g "
	       "window=%d escalation=%g cooldown=%s warmup=%s novelty=%s",
	       p.false_alarms, (long long)p.min_count, (long long)p.min_excess,
	       p.min_ratio, p.window, p.escalation, cooldown, warmup, novelty);
}

static int cmd_check(int argc, char **argv)
{
	struct config cfg;
	struct fold *f;
	struct matcher *m;

	if (argc != 2) {
		usage(stderr);
		return 2;
	}
	memset(&cfg, 0, sizeof(cfg));
	if (load(&cfg, argv[1]) < 0) {
		return 3;
	}
	f = fold_new();
	m = compile(&cfg, f);
	if (m == NULL) {
		fold_free(f);
		config_fini(&cfg);
		return 3;
	}
	for (size_t i = 0; i < cfg.n_rules; i++) {
		const struct config_rule *r = &cfg.rules[i];
		char *form;

		form = query_format(r->match);
		printf("rule %s: match(%s) ", r->name, form);
		free(form);
		print_detection(r);
		printf(" notify=[");
		for (size_t j = 0; j < r->n_notify; j++) {
			printf("%s%s", j ? ", " : "",
			       cfg.receivers[r->notify[j]].name);
		}
		printf("]\n");
	}
	printf("%s: OK (%zu rules, %zu receivers, %zu sources)\n", cfg.path,
	       cfg.n_rules, cfg.n_receivers, cfg.n_sources);
	matcher_free(m);
	fold_free(f);
	config_fini(&cfg);
	return 0;
}

/* source: the source name that source: filters see, or NULL. */
static int match_stream(FILE *in, const char *name, const struct config *cfg,
			struct matcher *m, uint32_t *ids, const char *source)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;
	int bad = 0;

	while ((n = getline(&line, &cap, in)) >= 0) {
		struct mention men;
		struct match_input mi;
		char why[256];
		size_t k;
		cJSON *o, *rules;
		char *text;

		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
			n--;
		}
		if (n == 0) {
			continue;
		}
		if (mention_parse(&men, line, (size_t)n, why, sizeof(why)) <
		    0) {
			fprintf(stderr, "%s:%ld: %s\n", name, lineno, why);
			bad++;
			continue;
		}
		mi.text = men.text;
		mi.len = strlen(men.text);
		mi.lang = men.lang;
		mi.source = source;
		mi.author = men.author;
		k = matcher_match(m, &mi, ids, cfg->n_rules);
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", men.id);
		rules = cJSON_AddArrayToObject(o, "rules");
		for (size_t j = 0; j < k; j++) {
			cJSON_AddItemToArray(
				rules,
				cJSON_CreateString(cfg->rules[ids[j]].name));
		}
		text = cJSON_PrintUnformatted(o);
		printf("%s\n", text);
		free(text);
		cJSON_Delete(o);
		mention_fini(&men);
	}
	free(line);
	return bad;
}

static int cmd_match(int argc, char **argv)
{
	struct config cfg;
	struct fold *f;
	struct matcher *m;
	uint32_t *ids;
	const char *path = NULL;
	const char *source = NULL;
	int i = 1, bad = 0;

	while (i + 1 < argc && (strcmp(argv[i], "-c") == 0 ||
				strcmp(argv[i], "--source") == 0)) {
		if (strcmp(argv[i], "-c") == 0) {
			path = argv[i + 1];
		} else {
			source = argv[i + 1];
		}
		i += 2;
	}
	if (path == NULL) {
		usage(stderr);
		return 2;
	}
	memset(&cfg, 0, sizeof(cfg));
	if (load(&cfg, path) < 0) {
		return 3;
	}
	f = fold_new();
	m = compile(&cfg, f);
	if (m == NULL) {
		fold_free(f);
		config_fini(&cfg);
		return 3;
	}
	ids = xcalloc(cfg.n_rules + 1, sizeof(*ids));
	if (i == argc) {
		bad += match_stream(stdin, "-", &cfg, m, ids, source);
	}
	for (; i < argc; i++) {
		FILE *in =
			strcmp(argv[i], "-") == 0 ? stdin : fopen(argv[i], "r");

		if (in == NULL) {
			fprintf(stderr, "hark: %s: %s\n", argv[i],
				strerror(errno));
			bad++;
			continue;
		}
		bad += match_stream(in, argv[i], &cfg, m, ids, source);
		if (in != stdin) {
			fclose(in);
		}
	}
	free(ids);
	matcher_free(m);
	fold_free(f);
	config_fini(&cfg);
	return bad > 0 ? 1 : 0;
}

static size_t write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	if (buf_append(b, p, size * n) < 0) {
		return 0;
	}
	return size * n;
}

/* The config line of hark status: file, and the last reload's outcome. */
static void print_config(const cJSON *c)
{
	const char *last, *at, *err;

	if (c == NULL) {
		return;
	}
	last = cJSON_GetStringValue(cJSON_GetObjectItem(c, "last_reload"));
	at = cJSON_GetStringValue(cJSON_GetObjectItem(c, "last_reload_at"));
	err = cJSON_GetStringValue(cJSON_GetObjectItem(c, "last_reload_error"));
	printf("\nconfig %s",
	       cJSON_GetStringValue(cJSON_GetObjectItem(c, "path")));
	if (last != NULL) {
		printf("; last reload %s%s%s%s%s", last,
		       at != NULL ? " at " : "", at != NULL ? at : "",
		       err != NULL ? ": " : "", err != NULL ? err : "");
	}
	printf("\n");
}

/* One rule of GET /v1/rules: its figures, why its last bucket did (not)
 * alert, and while warming, until when. */
static void print_rule(const cJSON *r)
{
	const char *state =
		cJSON_GetStringValue(cJSON_GetObjectItem(r, "state"));
	const char *reason = cJSON_GetStringValue(
		cJSON_GetObjectItem(cJSON_GetObjectItem(r, "last"), "reason"));
	const char *warm_at =
		cJSON_GetStringValue(cJSON_GetObjectItem(r, "warm_at"));

	printf("%-24s %-8s %8.0f %10.1f %12.0f  %s",
	       cJSON_GetStringValue(cJSON_GetObjectItem(r, "name")),
	       state != NULL ? state : "?",
	       cJSON_GetNumberValue(cJSON_GetObjectItem(r, "count")),
	       cJSON_GetNumberValue(cJSON_GetObjectItem(r, "baseline")),
	       cJSON_GetNumberValue(cJSON_GetObjectItem(r, "matched_total")),
	       reason != NULL && reason[0] != '\0' ? reason : "-");
	if (state != NULL && strcmp(state, "warming") == 0 && warm_at != NULL) {
		printf(", warming until %s", warm_at);
	}
	printf("\n");
}

/* GET base + path, parsed; NULL with a message on stderr when it fails. */
static cJSON *get_json(const char *base, const char *path)
{
	char url[600];
	struct buf body;
	CURL *c;
	CURLcode rc;
	long code = 0;
	cJSON *root = NULL;

	snprintf(url, sizeof(url), "%s%s", base, path);
	buf_init(&body, 64u * 1024 * 1024);
	/* A one-shot CLI, not the daemon: a blocking request is fine here. */
	c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK || code != 200) {
		fprintf(stderr, "hark: %s: %s\n", url,
			rc != CURLE_OK ? curl_easy_strerror(rc) : "bad status");
	} else if ((root = cJSON_Parse(body.data)) == NULL) {
		fprintf(stderr, "hark: %s: unexpected reply\n", url);
	}
	buf_fini(&body);
	return root;
}

/* The instances sharing the store (GET /v1/cluster), when there is a
 * fleet. */
static void print_cluster(const cJSON *root)
{
	const cJSON *m;

	if (root == NULL || !cJSON_IsTrue(cJSON_GetObjectItem(root, "fleet"))) {
		return;
	}
	printf("\n%-40s %-5s %-24s %10s %12s\n", "INSTANCE", "LIVE",
	       "WATERMARK", "LAG", "RECEIVED");
	cJSON_ArrayForEach (m, cJSON_GetObjectItem(root, "members")) {
		const char *wm = cJSON_GetStringValue(
			cJSON_GetObjectItem(m, "watermark"));
		const cJSON *lag = cJSON_GetObjectItem(m, "lag_ms");
		char lag_s[32] = "-";

		if (cJSON_IsNumber(lag)) {
			snprintf(lag_s, sizeof(lag_s), "%.1fs",
				 lag->valuedouble / 1000);
		}
		printf("%-40s %-5s %-24s %10s %12.0f%s\n",
		       cJSON_GetStringValue(cJSON_GetObjectItem(m, "id")),
		       cJSON_IsTrue(cJSON_GetObjectItem(m, "live")) ? "yes"
								    : "no",
		       wm != NULL ? wm : "-", lag_s,
		       cJSON_GetNumberValue(cJSON_GetObjectItem(m, "received")),
		       cJSON_IsTrue(cJSON_GetObjectItem(m, "self"))
			       ? "  (this one)"
			       : "");
	}
}

static int cmd_status(int argc, char **argv)
{
	char url[512];
	cJSON *root, *rules, *r, *cluster;
	int ret = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:8686");
	if (argc == 3 && strcmp(argv[1], "--url") == 0) {
		snprintf(url, sizeof(url), "%s", argv[2]);
	} else if (argc == 3 && strcmp(argv[1], "-c") == 0) {
		struct config cfg;

		memset(&cfg, 0, sizeof(cfg));
		if (load(&cfg, argv[2]) < 0) {
			return 3;
		}
		snprintf(url, sizeof(url), "http://%s", cfg.listen);
		config_fini(&cfg);
	} else if (argc != 1) {
		usage(stderr);
		return 2;
	}
	root = get_json(url, "/v1/rules");
	if (root == NULL) {
		return 1;
	}
	rules = cJSON_GetObjectItem(root, "rules");
	printf("%-24s %-8s %8s %10s %12s  %s\n", "RULE", "STATE", "COUNT",
	       "BASELINE", "MATCHED", "LAST");
	cJSON_ArrayForEach (r, rules) {
		print_rule(r);
	}
	if (rules == NULL) {
		fprintf(stderr, "hark: %s/v1/rules: unexpected reply\n", url);
		ret = 1;
	}
	print_config(cJSON_GetObjectItem(root, "config"));
	cJSON_Delete(root);
	cluster = get_json(url, "/v1/cluster");
	if (cluster == NULL) {
		ret = 1;
	}
	print_cluster(cluster);
	cJSON_Delete(cluster);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "check") == 0) {
		return cmd_check(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "match") == 0) {
		return cmd_match(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "replay") == 0) {
		return cmd_replay(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "silence") == 0) {
		return cmd_silence(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "status") == 0) {
		return cmd_status(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "version") == 0 ||
	    strcmp(argv[1], "--version") == 0) {
		printf("hark %s\n", HARK_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "hark: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
