/* SPDX-License-Identifier: MIT */
/*
 * `hark silence add|list|expire`: the silences API of a running harkd
 * from the shell. A one-shot CLI, so plain blocking libcurl is fine here.
 * The daemon's address and token come from -c CONFIG (http.listen,
 * http.token), or --url and --token / $HARK_TOKEN.
 */
#include "silence.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config/config.h"
#include "util/buf.h"
#include "util/diag.h"

#define SILENCE_REPLY_MAX (16u * 1024 * 1024)

struct target {
	char url[512];
	char *token; /* owned; NULL when none */
};

static void usage(void)
{
	fprintf(stderr,
		"usage: hark silence add (--rule NAME | --match NAME=VALUE…) "
		"(--for DUR | --until TIME)\n"
		"                        --comment TEXT [--author NAME] "
		"[TARGET]\n"
		"       hark silence list [TARGET]\n"
		"       hark silence expire ID [TARGET]\n"
		"TARGET: -c CONFIG | --url http://HOST:PORT [--token TOKEN]\n"
		"        (the token also comes from $HARK_TOKEN)\n");
}

static size_t write_cb(char *p, size_t size, size_t n, void *arg)
{
	return buf_append(arg, p, size * n) < 0 ? 0 : size * n;
}

/* Sends one request; prints the body; returns the exit code. */
static int call(const struct target *t, const char *method, const char *path,
		const char *body, long *code_out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	struct buf out;
	char url[1024], auth[1024];
	CURLcode rc;
	long code = 0;

	buf_init(&out, SILENCE_REPLY_MAX);
	snprintf(url, sizeof(url), "%s%s", t->url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	if (t->token != NULL && t->token[0] != '\0') {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
			 t->token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	if (body != NULL) {
		hdrs = curl_slist_append(hdrs,
					 "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		fprintf(stderr, "hark: %s: %s\n", t->url,
			curl_easy_strerror(rc));
		buf_fini(&out);
		return 1;
	}
	*code_out = code;
	if (out.len > 0) {
		fwrite(out.data, 1, out.len, code >= 300 ? stderr : stdout);
		if (out.data[out.len - 1] != '\n') {
			fputc('\n', code >= 300 ? stderr : stdout);
		}
	}
	buf_fini(&out);
	return code >= 200 && code < 300 ? 0 : 1;
}

/* Consumes a TARGET option at argv[*i]; 1 when it did, 0 when not, -1 on
 * a bad config. */
static int target_opt(struct target *t, int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		return 0;
	}
	if (strcmp(argv[*i], "--url") == 0) {
		snprintf(t->url, sizeof(t->url), "%s", argv[++*i]);
		return 1;
	}
	if (strcmp(argv[*i], "--token") == 0) {
		free(t->token);
		t->token = strdup(argv[++*i]);
		return 1;
	}
	if (strcmp(argv[*i], "-c") == 0) {
		struct config cfg;
		struct diag dg;

		memset(&cfg, 0, sizeof(cfg));
		diag_init(&dg);
		if (config_load(&cfg, argv[++*i], &dg) < 0) {
			diag_print(&dg, stderr);
			diag_fini(&dg);
			return -1;
		}
		diag_fini(&dg);
		snprintf(t->url, sizeof(t->url), "http://%s", cfg.listen);
		if (cfg.token != NULL && cfg.token[0] != '\0' &&
		    t->token == NULL) {
			t->token = strdup(cfg.token);
		}
		config_fini(&cfg);
		return 1;
	}
	return 0;
}

int cmd_silence(int argc, char **argv)
{
	struct target t;
	cJSON *body = NULL, *matchers = NULL;
	const char *sub = argc > 1 ? argv[1] : "";
	const char *id = NULL;
	char *text = NULL, path[256];
	long code = 0;
	int rc = 2;

	memset(&t, 0, sizeof(t));
	snprintf(t.url, sizeof(t.url), "http://127.0.0.1:8686");
	if (getenv("HARK_TOKEN") != NULL && getenv("HARK_TOKEN")[0] != '\0') {
		t.token = strdup(getenv("HARK_TOKEN"));
	}
	if (strcmp(sub, "add") == 0) {
		body = cJSON_CreateObject();
		matchers = cJSON_AddArrayToObject(body, "matchers");
	}
	for (int i = 2; i < argc; i++) {
		int k = target_opt(&t, argc, argv, &i);
		bool has_val = i + 1 < argc;

		if (k < 0) {
			rc = 3;
			goto out;
		}
		if (k > 0) {
			continue;
		}
		if (body != NULL && has_val && strcmp(argv[i], "--rule") == 0) {
			cJSON *m = cJSON_CreateObject();

			cJSON_AddStringToObject(m, "name", "rule");
			cJSON_AddStringToObject(m, "value", argv[++i]);
			cJSON_AddItemToArray(matchers, m);
		} else if (body != NULL && has_val &&
			   strcmp(argv[i], "--match") == 0) {
			char *eq = strchr(argv[i + 1], '=');
			cJSON *m;

			if (eq == NULL) {
				fprintf(stderr,
					"hark: --match: expected "
					"NAME=VALUE, got \"%s\"\n",
					argv[i + 1]);
				goto out;
			}
			m = cJSON_CreateObject();
			*eq = '\0';
			cJSON_AddStringToObject(m, "name", argv[i + 1]);
			cJSON_AddStringToObject(m, "value", eq + 1);
			cJSON_AddItemToArray(matchers, m);
			i++;
		} else if (body != NULL && has_val &&
			   strcmp(argv[i], "--for") == 0) {
			cJSON_AddStringToObject(body, "duration", argv[++i]);
		} else if (body != NULL && has_val &&
			   strcmp(argv[i], "--until") == 0) {
			cJSON_AddStringToObject(body, "ends_at", argv[++i]);
		} else if (body != NULL && has_val &&
			   strcmp(argv[i], "--comment") == 0) {
			cJSON_AddStringToObject(body, "comment", argv[++i]);
		} else if (body != NULL && has_val &&
			   strcmp(argv[i], "--author") == 0) {
			cJSON_AddStringToObject(body, "created_by", argv[++i]);
		} else if (strcmp(sub, "expire") == 0 && id == NULL &&
			   argv[i][0] != '-') {
			id = argv[i];
		} else {
			usage();
			goto out;
		}
	}
	if (strcmp(sub, "add") == 0) {
		text = cJSON_PrintUnformatted(body);
		rc = call(&t, "POST", "/v1/silences", text, &code);
	} else if (strcmp(sub, "list") == 0) {
		rc = call(&t, "GET", "/v1/silences", NULL, &code);
	} else if (strcmp(sub, "expire") == 0 && id != NULL) {
		snprintf(path, sizeof(path), "/v1/silences/%s", id);
		rc = call(&t, "DELETE", path, NULL, &code);
	} else {
		usage();
	}
out:
	free(text);
	cJSON_Delete(body);
	free(t.token);
	return rc;
}
