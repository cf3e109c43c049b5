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
#define CONFIG_MAX_LANGS 64 /* per rule */

struct query_node;

enum config_source_type {
	CONFIG_SOURCE_HTTP_PUSH,
	CONFIG_SOURCE_FILE,
	CONFIG_SOURCE_HTTP_STREAM,  /* NDJSON over a long-lived response */
	CONFIG_SOURCE_SSE,          /* Server-Sent Events (Mastodon) */
	CONFIG_SOURCE_REDIS_STREAM, /* XREADGROUP on a Redis stream */
};

/* "start_at" (file sources): where reading begins when harkd starts. */
enum config_start_at {
	CONFIG_START_BEGINNING,
	CONFIG_START_END,    /* only lines written after the start */
	CONFIG_START_RESUME, /* where the last run stopped (saved position) */
};

/* "format": how a source's JSON objects are read (core/mention.h). */
enum config_source_format {
	CONFIG_FORMAT_AUTO, /* any shape of DESIGN §5 */
	CONFIG_FORMAT_X_V2,
	CONFIG_FORMAT_MASTODON,
	CONFIG_FORMAT_FLAT,
};

/* "reblogs" (Mastodon boosts). */
enum config_reblogs {
	CONFIG_REBLOGS_ORIGINAL, /* count as the boosted status (deduped) */
	CONFIG_REBLOGS_SKIP,
};

/* "fields": RFC 6901 JSON pointers; NULL when not mapped. */
struct config_fields {
	char *text;
	char *id;
	char *created_at;
	char *lang;
	char *author;
	char *url;
};

struct config_source {
	char *name;
	enum config_source_type type;
	char *path; /* file: absolute, or resolved against cfg->dir */
	uint64_t max_line_bytes;       /* "max_line", default 1MiB */
	bool follow;                   /* file: tail -F, default false */
	int64_t poll_ms;               /* file follow: "poll", default 250ms */
	enum config_start_at start_at; /* file: default resume with follow,
					* else beginning */
	char *url;                     /* http-stream, sse */
	struct config_header *headers; /* "headers" map; owned */
	size_t n_headers;
	char *token;      /* sent as "Authorization: Bearer …" */
	char *token_file; /* read at each connect; resolved like path */
	enum config_source_format format; /* default auto */
	struct config_fields fields;      /* "fields" map; overrides format */
	bool has_fields;
	enum config_reblogs reblogs; /* default original */
	int64_t stall_timeout_ms;    /* "stall_timeout", default 20s */
	int64_t connect_timeout_ms;  /* "connect_timeout", default 10s */
	char *redis;            /* redis-stream: URL; NULL → store.redis */
	char *stream;           /* redis-stream: key */
	char *group;            /* redis-stream: default "hark" */
	char *consumer;         /* redis-stream: NULL → "<host>-<pid>" */
	int64_t block_ms;       /* redis-stream: "block", default 5s */
	int64_t batch;          /* redis-stream: COUNT, default 100 */
	int64_t claim_after_ms; /* redis-stream: others' pending taken over */
	int64_t queue;          /* mentions held between read and match,
				* default 10000 */
	int64_t dedupe;         /* recent ids remembered, default 100000;
				* the one shared set uses the largest */
	char *dedupe_scope;     /* ids are unique within it; NULL: the name */
	bool lease;             /* http-stream, sse: read by one fleet member */
};

enum config_receiver_type {
	CONFIG_RECEIVER_WEBHOOK,
	CONFIG_RECEIVER_LOG,
	CONFIG_RECEIVER_EMAIL,
	CONFIG_RECEIVER_ALERTMANAGER,
};

enum config_starttls {
	CONFIG_STARTTLS_REQUIRED,
	CONFIG_STARTTLS_OPTIONAL,
	CONFIG_STARTTLS_NEVER,
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
	bool send_resolved;            /* "send_resolved", default true */
	struct config_header *headers; /* "headers" map; owned */
	size_t n_headers;
	/* webhook: Standard Webhooks signing; whitespace-separated secrets
	 * ("whsec_<base64>" or raw), several for rotation */
	char *secret;      /* "secret" */
	char *secret_file; /* "secret_file": resolved path */
	/* webhook: slack | teams | discord | alertmanager-webhook | FILE
	 * (resolved path of a {{field}} template); NULL: the v1 body */
	char *template_name; /* "template" */
	/* email */
	enum config_starttls starttls; /* "starttls", default required */
	char *from;                    /* "from" */
	char **to;                     /* "to" list; owned */
	size_t n_to;
	char *username;      /* "username" */
	char *password_file; /* "password_file": resolved path */
	/* delivery */
	int64_t rate_limit_ms;      /* "rate_limit": least time between
					  two messages; 0 none (slack: 1s) */
	int64_t max_age_ms;         /* "max_age", default 24h: then the
					  dead-letter list */
	int64_t repeat_interval_ms; /* "repeat_interval": re-notify this
					  often while a rule stays firing;
					  0 (default) never */
	int64_t resend_ms;          /* "resend" (alertmanager), default
					  1m: re-send while firing */
	int64_t group_wait_ms;      /* "group_wait": hold firing
					  notifications this long from the
					  first and send them as one; 0
					  (default) no grouping; ignored by
					  alertmanager and log receivers and
					  template files */
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
	char *query; /* match.query as written; NULL when any is used */
	char **lang; /* match.lang filter: language codes; owned */
	size_t n_lang;
	char **sources; /* match.sources filter: source names; owned */
	size_t n_sources;
	/* The whole match (query or any, AND lang, AND sources) as one
	 * query tree, for matcher_add_query and `hark check`; owned. */
	struct query_node *match;
	int64_t bucket_ms;   /* "bucket", default 5m; divides 1d */
	int64_t lateness_ms; /* "lateness", default = bucket */
	size_t *notify;      /* indexes into cfg->receivers; owned */
	size_t n_notify;
	enum config_direction direction; /* "direction", default up */
	/*
	 * The detection keys. A key the rule does not set has its *_set
	 * false and its value 0: the detector's default applies
	 * (detect_params_default, through hark_detect_params).
	 */
	double sensitivity; /* "sensitivity": a fixed score every span must
			       reach; unset: derived from false_alarms */
	bool sensitivity_set;
	double false_alarms; /* "false_alarms": expected false alarms per
				week on a stream that behaves as its model
				says, > 0, <= 1000 */
	bool false_alarms_set;
	int64_t min_count; /* "min_count": the span's count (up) or usual
			      (down) needed */
	bool min_count_set;
	int64_t min_excess; /* "min_excess": |span count - usual| needed */
	bool min_excess_set;
	double min_ratio; /* "min_ratio": count / usual needed, >= 1 */
	bool min_ratio_set;
	int64_t window; /* "window": shortest span tested, buckets, 1..12 */
	bool window_set;
	double escalation; /* "escalation": re-fire at this many times the
			      episode's peak excess, >= 1 */
	bool escalation_set;
	int64_t cooldown_ms; /* "cooldown": after a resolve, only
				escalations */
	bool cooldown_set;
	int64_t warmup_ms; /* "warmup": counting time before alerting */
	bool warmup_set;
	int64_t novelty_ms; /* "novelty": 0 off, at most 60d */
	bool novelty_set;
	int64_t samples;              /* "samples", default 5 */
	struct config_header *labels; /* "labels" map (name → value); owned */
	size_t n_labels;
};

/* "store.sentinel": the Redis primary named by Redis Sentinel. */
struct config_sentinel {
	char *master; /* "master": the name the sentinels watch;
				  * NULL: no sentinel block */
	char **nodes; /* "nodes": "HOST:PORT" of each sentinel,
				  * asked in this order; owned */
	size_t n_nodes;
	char *password;          /* "password": AUTH on the data nodes */
	char *sentinel_password; /* "sentinel_password": AUTH on the
				  * sentinels */
	int64_t db;              /* "db": SELECT on the primary, default 0 */
};

#define CONFIG_MAX_SENTINELS 32
#define CONFIG_MAX_CLUSTER_SEEDS 32

struct config {
	char *path; /* the file as given */
	char *dir;  /* its directory, for relative paths */

	/* store: absent block or none of "redis", "sentinel", "cluster" →
	 * embedded store; at most one of them is set */
	char *redis_url;                 /* NULL: another one, or embedded */
	struct config_sentinel sentinel; /* master NULL: not used */
	char **cluster;   /* "cluster": seed URLs of a Redis Cluster; owned */
	size_t n_cluster; /* 0: not used */
	char *prefix;     /* "prefix", default "hark:" */
	int64_t store_timeout_ms;  /* "store.timeout", default 2s */
	int64_t retention_ms;      /* "store.retention", default 8d */
	int64_t flush_interval_ms; /* "store.flush_interval", default 1s */
	char *snapshot_path; /* "store.snapshot", default ./hark.snapshot */
	int64_t snapshot_interval_ms; /* "store.snapshot_interval", default 30s */

	char *listen;            /* "http.listen", default 127.0.0.1:8686 */
	char *token;             /* "http.token"; NULL or "" = none */
	uint64_t max_body_bytes; /* "http.max_body", default 10MiB */
	int64_t http_workers;    /* "http.workers"; unset: one per core */
	bool http_workers_set;
	int64_t http_max_connections;   /* "http.max_connections", 1000 */
	int64_t http_idle_timeout_ms;   /* "http.idle_timeout", 60s */
	int64_t http_header_timeout_ms; /* "http.header_timeout", 10s */

	char *log_level;       /* "log_level", default info */
	char *external_url;    /* "external_url" link template; NULL: none */
	int64_t max_future_ms; /* "max_future", default 5m */

	struct config_source *sources;
	size_t n_sources;
	struct config_receiver *receivers;
	size_t n_receivers;
	struct config_rule *rules;
	size_t n_rules;

	/* A digest of the document as written, but the top-level "rules",
	 * "external_url" and "log_level" keys: two configs with the same
	 * digest describe the same store, API, sources and receivers, so a
	 * reload may swap their rules alone. */
	uint64_t fixed_digest;
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
int config_load(struct config *cfg, const char *path,
		struct diag *d) HARK_MUST_CHECK;
void config_fini(struct config *cfg);
/* Drops store.redis, store.sentinel and store.cluster: the embedded store
 * is used (the offline checks and replays). */
void config_use_embedded_store(struct config *cfg);
/* Index of the receiver or rule with that name, or -1. */
long config_find_receiver(const struct config *cfg, const char *name);
long config_find_rule(const struct config *cfg, const char *name);
/* The scope source s's mention ids are unique in (dedupe_scope, else its
 * name). */
const char *config_source_scope(const struct config_source *s);
/*
 * Writes one line per key (dotted name, type, default, help) from the
 * table that drives parsing, for `hark config --list` and the docs.
 */
void config_list_keys(FILE *out);

#endif
