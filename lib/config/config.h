/* SPDX-License-Identifier: MIT */
/*
 * The daemon's settings, parsed from YAML (DESIGN §4) and validated against
 * one key table. Every problem is reported through struct diag as
 * FILE:LINE:COL: key.path: message. Pure: parses from memory; config_load
 * is the one function that reads a file.
 */
#ifndef HARK_CONFIG_CONFIG_H
#define HARK_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/diag.h"
#include "util/xalloc.h"

#define CONFIG_MAX_RULES 10000
#define CONFIG_MAX_TERMS 1000 /* per rule */
#define CONFIG_MAX_SOURCES 64
#define CONFIG_MAX_RECEIVERS 64

enum config_source_type {
	CONFIG_SOURCE_HTTP_PUSH,
	CONFIG_SOURCE_FILE,
};

struct config_source {
	char *name;
	enum config_source_type type;
	char *path;            /* file: absolute, or resolved against cfg->dir */
	uint64_t max_line_bytes; /* "max_line", default 1MiB */
};

enum config_receiver_type {
	CONFIG_RECEIVER_WEBHOOK,
	CONFIG_RECEIVER_LOG,
};

struct config_header {
	char *name;
	char *value;
};

struct config_receiver {
	char *name;
	enum config_receiver_type type;
	char *url;                     /* webhook */
	int64_t timeout_ms;            /* "timeout", default 10s */
	int64_t retries;               /* "retries", default 5 */
	bool send_resolved;            /* "send_resolved", default false */
	struct config_header *headers; /* "headers" map; owned */
	size_t n_headers;
};

enum config_direction {
	CONFIG_DIRECTION_UP,
	CONFIG_DIRECTION_DOWN,
	CONFIG_DIRECTION_BOTH,
};

struct config_rule {
	char *name;
	char **any; /* match.any terms, owned */
	size_t n_any;
	int64_t bucket_ms;     /* "bucket", default 5m; divides 1d */
	int64_t lateness_ms;   /* "lateness", default = bucket */
	size_t *notify;        /* indexes into cfg->receivers; owned */
	size_t n_notify;
	enum config_direction direction; /* "direction", default up */
	double sensitivity;    /* score threshold, "sensitivity", default 5 */
	int64_t min_count;     /* "min_count", default 10 */
	double min_ratio;      /* "min_ratio", default 2 */
	int64_t cooldown_ms;   /* "cooldown", default 1h */
	int64_t warmup_ms;     /* "warmup", default 1d */
	int64_t samples;       /* "samples", default 5 */
};

struct config {
	char *path; /* the file as given */
	char *dir;  /* its directory, for relative paths */

	/* store: absent block or no "redis" key → embedded store */
	char *redis_url;          /* NULL: embedded */
	char *prefix;             /* "prefix", default "hark:" */
	int64_t store_timeout_ms; /* "store.timeout", default 2s */
	int64_t retention_ms;     /* "store.retention", default 8d */
	char *snapshot_path;      /* "store.snapshot", default ./hark.snapshot */

	char *listen;             /* "http.listen", default 127.0.0.1:8686 */
	char *token;              /* "http.token"; NULL or "" = none */
	uint64_t max_body_bytes;  /* "http.max_body", default 10MiB */

	char *log_level;          /* "log_level", default info */

	struct config_source *sources;
	size_t n_sources;
	struct config_receiver *receivers;
	size_t n_receivers;
	struct config_rule *rules;
	size_t n_rules;
};

/*
 * Parses and validates text (len bytes, YAML) named path in messages.
 * On success fills *cfg (caller frees with config_fini) and returns 0.
 * On failure adds every problem to d, leaves *cfg empty, returns -1.
 * ${VAR} and ${VAR:-default} in scalars expand from the environment.
 */
int config_parse(struct config *cfg, const char *path, const char *text,
		 size_t len, struct diag *d) HARK_MUST_CHECK;
/* Reads the file then config_parse; a read error is one diag entry. */
int config_load(struct config *cfg, const char *path, struct diag *d)
	HARK_MUST_CHECK;
void config_fini(struct config *cfg);
/* Index of the receiver or rule with that name, or -1. */
long config_find_receiver(const struct config *cfg, const char *name);
long config_find_rule(const struct config *cfg, const char *name);
/*
 * Writes one line per key (dotted name, type, default, help) from the
 * table that drives parsing, for `hark config --list` and the docs.
 */
void config_list_keys(FILE *out);

#endif
