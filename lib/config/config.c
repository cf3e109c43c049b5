/* SPDX-License-Identifier: MIT */
/*
 * The daemon's settings: one key table gives every key's type, default,
 * bounds and help, and drives defaults, validation and config_list_keys.
 * Walks the yaml.c tree, reports every problem as FILE:LINE:COL: key.path:
 * message. Resolves names and relative paths but opens nothing: only
 * config_load reads (the config file itself). Runs at startup and reload.
 */
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config/yaml.h"
#include "core/detect.h"
#include "core/query.h"
#include "core/mention.h"
#include "core/redis_url.h"
#include "util/buf.h"
#include "util/timeutil.h"

/* Caps on what the file can make us allocate. */
#define CONFIG_MAX_FILE_BYTES (64u << 20)
#define CONFIG_MAX_SCALAR_BYTES (1u << 20)
#define CONFIG_MAX_HEADERS 64
#define RULE_NAME_MAX 100
/* Longer unknown keys get no hint: they are not typos of ours. */
#define HINT_MAX_LEN 64

#define DAY_MS 86400000LL

enum ktype {
	T_STRING,
	T_BOOL,
	T_INT,
	T_FLOAT,
	T_DURATION,
	T_SIZE,
	T_ENUM,
	T_LIST,
	T_MAP,
};

/* Each section is filled into one struct: see section_base_name(). */
enum sect {
	S_NONE, /* a list or map of plain strings, not of sections */
	S_TOP,
	S_STORE,
	S_SENTINEL, /* store.sentinel: fields of struct config too */
	S_HTTP,
	S_SOURCE,
	S_RECEIVER,
	S_RULE,
	S_MATCH,
};

#define F_REQUIRED 0x01u
#define F_MIN 0x02u
#define F_MAX 0x04u
#define F_MIN_EXCL 0x08u  /* floats: strictly greater than min */
#define F_ENUM_STR 0x10u  /* enum stored as its name (char *), not an int */
#define F_RECEIVERS 0x20u /* list of receiver names → indexes */
/* no default in the table: unset leaves the detector's own
 * (detect_params_default), see struct config_rule */
#define F_DETECT 0x40u

struct key {
	enum sect sect;
	const char *name;
	enum ktype type;
	const char *def; /* default, in the same text form as the YAML value */
	const char *help;
	size_t off;   /* the field in the section's struct */
	size_t off_n; /* lists: the count field */
	unsigned flags;
	int64_t min; /* ms for durations, bytes for sizes */
	int64_t max;
	const char *const *names; /* enums: value i is names[i] */
	size_t n_names;
	enum sect child;  /* maps and lists: the section of their items */
	size_t elem_size; /* lists of sections */
	size_t max_items; /* lists */
};

static const char *const log_levels[] = {"error", "warn", "info", "debug"};
static const char *const source_types[] = {"http-push", "file", "http-stream",
					   "sse", "redis-stream"};
static const char *const source_formats[] = {"auto", "x-v2", "mastodon",
					     "flat"};
static const char *const source_reblogs[] = {"original", "skip"};
static const char *const source_start_ats[] = {"beginning", "end", "resume"};
static const char *const receiver_types[] = {"webhook", "log", "email",
					     "alertmanager"};
static const char *const starttls_modes[] = {"required", "optional", "never"};
static const char *const directions[] = {"up", "down", "both"};

_Static_assert(sizeof(enum config_source_type) == sizeof(int),
	       "enums are stored through int *");
_Static_assert(sizeof(enum config_source_format) == sizeof(int),
	       "enums are stored through int *");
_Static_assert(sizeof(enum config_reblogs) == sizeof(int),
	       "enums are stored through int *");
_Static_assert(sizeof(enum config_start_at) == sizeof(int),
	       "enums are stored through int *");
_Static_assert(sizeof(enum config_receiver_type) == sizeof(int),
	       "enums are stored through int *");
_Static_assert(sizeof(enum config_starttls) == sizeof(int),
	       "enums are stored through int *");
_Static_assert(sizeof(enum config_direction) == sizeof(int),
	       "enums are stored through int *");

#define NAMES(a) .names = (a), .n_names = sizeof(a) / sizeof((a)[0])
#define CFG(f) .off = offsetof(struct config, f)
#define SRC(f) .off = offsetof(struct config_source, f)
#define RCV(f) .off = offsetof(struct config_receiver, f)
#define RUL(f) .off = offsetof(struct config_rule, f)

/*
 * Every key, in the order sections are filled: receivers come before rules
 * so that rules[].notify can resolve names whatever the document order.
 */
static const struct key keys[] = {
	{S_TOP, "store", T_MAP, NULL,
	 "state store; omit for the embedded in-memory store",
	 .child = S_STORE},
	{S_TOP, "http", T_MAP, NULL, "HTTP API, metrics and push ingest",
	 .child = S_HTTP},
	{S_TOP, "sources", T_LIST, NULL, "where mentions come from",
	 CFG(sources), .off_n = offsetof(struct config, n_sources),
	 .child = S_SOURCE, .elem_size = sizeof(struct config_source),
	 .max_items = CONFIG_MAX_SOURCES},
	{S_TOP, "receivers", T_LIST, NULL, "where alerts go", CFG(receivers),
	 .off_n = offsetof(struct config, n_receivers), .child = S_RECEIVER,
	 .elem_size = sizeof(struct config_receiver),
	 .max_items = CONFIG_MAX_RECEIVERS},
	{S_TOP, "rules", T_LIST, NULL, "keyword rules to count and watch",
	 CFG(rules), .off_n = offsetof(struct config, n_rules),
	 .flags = F_REQUIRED, .child = S_RULE,
	 .elem_size = sizeof(struct config_rule),
	 .max_items = CONFIG_MAX_RULES},
	{S_TOP, "log_level", T_ENUM, "info", "least severe level logged",
	 CFG(log_level), .flags = F_ENUM_STR, NAMES(log_levels)},
	{S_TOP, "max_future", T_DURATION, "5m",
	 "a mention whose created_at is further ahead of this host's clock "
	 "is refused (clocks disagree by less)",
	 CFG(max_future_ms), .flags = F_MIN | F_MAX, .min = 0, .max = 86400000},
	{S_TOP, "external_url", T_STRING, NULL,
	 "link template put in every alert, e.g. "
	 "https://dash.example/r/{{rule}}?from={{window_start}}",
	 CFG(external_url)},

	{S_STORE, "redis", T_STRING, NULL,
	 "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or "
	 "unix:///PATH[?db=N]; absent: embedded store",
	 CFG(redis_url)},
	{S_STORE, "sentinel", T_MAP, NULL,
	 "Redis through Sentinel: {master, nodes, password, "
	 "sentinel_password, db}; instead of redis",
	 .child = S_SENTINEL},
	{S_STORE, "cluster", T_LIST, NULL,
	 "Redis Cluster seed nodes, [\"redis://[[USER]:PASSWORD@]HOST:PORT\", "
	 "…] (a password applies to every node); instead of redis",
	 CFG(cluster), .off_n = offsetof(struct config, n_cluster),
	 .child = S_NONE, .max_items = CONFIG_MAX_CLUSTER_SEEDS},
	{S_STORE, "prefix", T_STRING, "hark:", "prefix of every Redis key",
	 CFG(prefix)},
	{S_STORE, "timeout", T_DURATION, "2s", "Redis command timeout",
	 CFG(store_timeout_ms), .flags = F_MIN, .min = 1},
	{S_STORE, "flush_interval", T_DURATION, "1s",
	 "open buckets' counts are written this often: what a crash may "
	 "lose (with Redis)",
	 CFG(flush_interval_ms), .flags = F_MIN | F_MAX, .min = 10,
	 .max = 60000},
	{S_STORE, "retention", T_DURATION, "8d", "how long counts are kept",
	 CFG(retention_ms), .flags = F_MIN, .min = 1000},
	{S_STORE, "snapshot", T_STRING, "hark.snapshot",
	 "embedded store snapshot file (relative to the working directory)",
	 CFG(snapshot_path)},
	{S_STORE, "snapshot_interval", T_DURATION, "30s",
	 "how often the embedded store writes its snapshot in the background "
	 "(a forked child), so that a crash loses at most that; 0s: only at "
	 "stop",
	 CFG(snapshot_interval_ms), .flags = F_MIN, .min = 0},

	{S_SENTINEL, "master", T_STRING, NULL,
	 "the primary's name the sentinels watch (required)",
	 CFG(sentinel.master)},
	{S_SENTINEL, "nodes", T_LIST, NULL,
	 "HOST:PORT of the sentinels, asked in order (at least one)",
	 CFG(sentinel.nodes),
	 .off_n = offsetof(struct config, sentinel.n_nodes), .child = S_NONE,
	 .max_items = CONFIG_MAX_SENTINELS},
	{S_SENTINEL, "password", T_STRING, NULL,
	 "AUTH on the primary (the data nodes); use ${VAR}",
	 CFG(sentinel.password)},
	{S_SENTINEL, "sentinel_password", T_STRING, NULL,
	 "AUTH on the sentinels; use ${VAR}", CFG(sentinel.sentinel_password)},
	{S_SENTINEL, "db", T_INT, "0", "database SELECTed on the primary",
	 CFG(sentinel.db), .flags = F_MIN | F_MAX, .min = 0,
	 .max = REDIS_URL_MAX_DB},

	{S_HTTP, "listen", T_STRING, "127.0.0.1:8686",
	 "HOST:PORT of the HTTP API", CFG(listen)},
	{S_HTTP, "token", T_STRING, NULL,
	 "bearer token required on write routes; empty: none", CFG(token)},
	{S_HTTP, "max_body", T_SIZE, "10MiB", "largest accepted request body",
	 CFG(max_body_bytes), .flags = F_MIN, .min = 1},
	{S_HTTP, "workers", T_INT, NULL,
	 "threads that parse and match pushed bodies while the event loop "
	 "counts; absent: one per core; 0: on the event loop",
	 CFG(http_workers), .flags = F_MIN | F_MAX, .min = 0, .max = 256},
	{S_HTTP, "max_connections", T_INT, "1000",
	 "open API connections at most; past it a new one is answered 503 "
	 "and closed at once",
	 CFG(http_max_connections), .flags = F_MIN | F_MAX, .min = 1,
	 .max = 100000},
	{S_HTTP, "idle_timeout", T_DURATION, "60s",
	 "a connection with no byte in or out for this long is closed "
	 "(keep-alive between requests, a stalled body or reply)",
	 CFG(http_idle_timeout_ms), .flags = F_MIN | F_MAX, .min = 100,
	 .max = 3600000},
	{S_HTTP, "header_timeout", T_DURATION, "10s",
	 "a request's line and headers must arrive within this long of their "
	 "first byte (of the connection, for its first request), else the "
	 "connection is closed",
	 CFG(http_header_timeout_ms), .flags = F_MIN | F_MAX, .min = 100,
	 .max = 600000},

	{S_SOURCE, "name", T_STRING, NULL, "unique source name", SRC(name),
	 .flags = F_REQUIRED},
	{S_SOURCE, "type", T_ENUM, NULL,
	 "http-push, file, http-stream, sse or redis-stream", SRC(type),
	 .flags = F_REQUIRED, NAMES(source_types)},
	{S_SOURCE, "path", T_STRING, NULL,
	 "file sources: NDJSON file (relative to the config's directory)",
	 SRC(path)},
	{S_SOURCE, "max_line", T_SIZE, "1MiB", "longest accepted line",
	 SRC(max_line_bytes), .flags = F_MIN, .min = 1},
	{S_SOURCE, "follow", T_BOOL, "false",
	 "file: keep reading as it grows, reopen on rotation (tail -F)",
	 SRC(follow)},
	{S_SOURCE, "poll", T_DURATION, "250ms",
	 "file with follow: how often to look for growth or rotation",
	 SRC(poll_ms), .flags = F_MIN | F_MAX, .min = 10, .max = 60000},
	{S_SOURCE, "start_at", T_ENUM, NULL,
	 "file: beginning, end or resume (where the last run stopped); "
	 "default resume with follow, else beginning",
	 SRC(start_at), NAMES(source_start_ats)},
	{S_SOURCE, "url", T_STRING, NULL,
	 "http-stream, sse: http:// or https:// URL of the stream", SRC(url)},
	{S_SOURCE, "headers", T_MAP, NULL,
	 "http-stream, sse: extra request headers", SRC(headers),
	 .off_n = offsetof(struct config_source, n_headers), .child = S_NONE},
	{S_SOURCE, "token", T_STRING, NULL,
	 "http-stream, sse: bearer token (use ${VAR})", SRC(token)},
	{S_SOURCE, "token_file", T_STRING, NULL,
	 "http-stream, sse: file holding the bearer token, read at each "
	 "connect",
	 SRC(token_file)},
	{S_SOURCE, "format", T_ENUM, "auto", "auto, x-v2, mastodon or flat",
	 SRC(format), NAMES(source_formats)},
	{S_SOURCE, "fields", T_MAP, NULL,
	 "JSON pointers for text, id, created_at, lang, author, url",
	 .child = S_NONE},
	{S_SOURCE, "reblogs", T_ENUM, "original",
	 "Mastodon boosts: original (count the boosted status once) or skip",
	 SRC(reblogs), NAMES(source_reblogs)},
	{S_SOURCE, "stall_timeout", T_DURATION, "20s",
	 "http-stream, sse: reconnect when no byte came for this long",
	 SRC(stall_timeout_ms), .flags = F_MIN, .min = 100},
	{S_SOURCE, "connect_timeout", T_DURATION, "10s",
	 "http-stream, sse: TCP and TLS connect timeout",
	 SRC(connect_timeout_ms), .flags = F_MIN, .min = 100},
	{S_SOURCE, "redis", T_STRING, NULL,
	 "redis-stream: a URL like store.redis; default: store.redis",
	 SRC(redis)},
	{S_SOURCE, "stream", T_STRING, NULL, "redis-stream: the stream key",
	 SRC(stream)},
	{S_SOURCE, "group", T_STRING, "hark", "redis-stream: consumer group",
	 SRC(group)},
	{S_SOURCE, "consumer", T_STRING, NULL,
	 "redis-stream: consumer name; default: HOST-PID", SRC(consumer)},
	{S_SOURCE, "block", T_DURATION, "5s",
	 "redis-stream: XREADGROUP BLOCK time", SRC(block_ms),
	 .flags = F_MIN | F_MAX, .min = 1, .max = 600000},
	{S_SOURCE, "batch", T_INT, "100", "redis-stream: entries per read",
	 SRC(batch), .flags = F_MIN | F_MAX, .min = 1, .max = 10000},
	{S_SOURCE, "claim_after", T_DURATION, "1m",
	 "redis-stream: take over entries another consumer of the group left "
	 "pending this long (it died)",
	 SRC(claim_after_ms), .flags = F_MIN | F_MAX, .min = 1000,
	 .max = 86400000},
	{S_SOURCE, "queue", T_INT, "10000",
	 "mentions held between reading and matching; full: reading pauses",
	 SRC(queue), .flags = F_MIN | F_MAX, .min = 1, .max = 10000000},
	{S_SOURCE, "dedupe", T_INT, "100000",
	 "recent mention ids remembered to drop duplicates (one set for all "
	 "sources, sized by the largest; ids are told apart by dedupe_scope)",
	 SRC(dedupe), .flags = F_MIN | F_MAX, .min = 1, .max = 50000000},
	{S_SOURCE, "lease", T_BOOL, "false",
	 "http-stream, sse: with several harkd on one Redis, only the holder "
	 "of the source's lease reads it (taken over within seconds when it "
	 "dies); what it counts goes to the shared totals",
	 SRC(lease)},
	{S_SOURCE, "dedupe_scope", T_STRING, NULL,
	 "ids are unique within a scope: sources that read the same network "
	 "share one; default: the source's name",
	 SRC(dedupe_scope)},

	{S_RECEIVER, "name", T_STRING, NULL, "unique receiver name", RCV(name),
	 .flags = F_REQUIRED},
	{S_RECEIVER, "type", T_ENUM, NULL,
	 "webhook, log, email or alertmanager", RCV(type), .flags = F_REQUIRED,
	 NAMES(receiver_types)},
	{S_RECEIVER, "url", T_STRING, NULL, "webhook: http:// or https:// URL",
	 RCV(url)},
	{S_RECEIVER, "timeout", T_DURATION, "10s", "per delivery attempt",
	 RCV(timeout_ms), .flags = F_MIN, .min = 1},
	{S_RECEIVER, "retries", T_INT, "5",
	 "attempts after the first one without an outbox; harkd retries "
	 "until max_age",
	 RCV(retries), .flags = F_MIN, .min = 0},
	{S_RECEIVER, "send_resolved", T_BOOL, "true",
	 "also notify when an alert resolves", RCV(send_resolved)},
	{S_RECEIVER, "headers", T_MAP, NULL, "extra HTTP headers (webhook)",
	 RCV(headers), .off_n = offsetof(struct config_receiver, n_headers),
	 .child = S_NONE},
	{S_RECEIVER, "secret", T_STRING, NULL,
	 "webhook: Standard Webhooks secrets (whsec_BASE64 or raw), space "
	 "separated",
	 RCV(secret)},
	{S_RECEIVER, "secret_file", T_STRING, NULL,
	 "webhook: file holding the secrets (relative to the config)",
	 RCV(secret_file)},
	{S_RECEIVER, "template", T_STRING, NULL,
	 "webhook body: slack, teams, discord, alertmanager-webhook or a "
	 "{{field}} template FILE",
	 RCV(template_name)},
	{S_RECEIVER, "starttls", T_ENUM, "required",
	 "email: required, optional or never", RCV(starttls),
	 NAMES(starttls_modes)},
	{S_RECEIVER, "from", T_STRING, NULL, "email: sender address",
	 RCV(from)},
	{S_RECEIVER, "to", T_LIST, NULL, "email: recipient addresses", RCV(to),
	 .off_n = offsetof(struct config_receiver, n_to), .child = S_NONE,
	 .max_items = 100},
	{S_RECEIVER, "username", T_STRING, NULL, "email: SMTP AUTH user",
	 RCV(username)},
	{S_RECEIVER, "password_file", T_STRING, NULL,
	 "email: file holding the SMTP password (else $HARK_SMTP_PASSWORD)",
	 RCV(password_file)},
	{S_RECEIVER, "rate_limit", T_DURATION, NULL,
	 "least time between two messages; default none (slack: 1s)",
	 RCV(rate_limit_ms), .flags = F_MIN, .min = 0},
	{S_RECEIVER, "max_age", T_DURATION, "24h",
	 "retry until this old, then move to the dead-letter list",
	 RCV(max_age_ms), .flags = F_MIN, .min = 1000},
	{S_RECEIVER, "repeat_interval", T_DURATION, NULL,
	 "re-notify this often while a rule stays firing; default never",
	 RCV(repeat_interval_ms), .flags = F_MIN, .min = 0},
	{S_RECEIVER, "group_wait", T_DURATION, NULL,
	 "send rules firing within this long of each other as one message; "
	 "default 0: no grouping",
	 RCV(group_wait_ms), .flags = F_MIN | F_MAX, .min = 0, .max = 3600000},
	{S_RECEIVER, "resend", T_DURATION, "1m",
	 "alertmanager: re-send a firing alert this often", RCV(resend_ms),
	 .flags = F_MIN, .min = 1000},

	{S_RULE, "name", T_STRING, NULL,
	 "unique rule name: 1-100 of A-Z a-z 0-9 _ . -", RUL(name),
	 .flags = F_REQUIRED},
	{S_RULE, "match", T_MAP, NULL, "what a mention must contain",
	 .flags = F_REQUIRED, .child = S_MATCH},
	{S_RULE, "bucket", T_DURATION, "5m", "counting window; divides one day",
	 RUL(bucket_ms), .flags = F_MIN | F_MAX, .min = 1000, .max = DAY_MS},
	{S_RULE, "lateness", T_DURATION, NULL,
	 "how late a mention may arrive; default: one bucket", RUL(lateness_ms),
	 .flags = F_MIN, .min = 0},
	{S_RULE, "notify", T_LIST, NULL, "receiver names", RUL(notify),
	 .off_n = offsetof(struct config_rule, n_notify), .flags = F_RECEIVERS,
	 .child = S_NONE, .max_items = CONFIG_MAX_RECEIVERS},
	{S_RULE, "direction", T_ENUM, "up", "alert on up, down or both",
	 RUL(direction), NAMES(directions)},
	{S_RULE, "sensitivity", T_FLOAT, NULL,
	 "a fixed score every span must reach; default: derived from "
	 "false_alarms",
	 RUL(sensitivity), .flags = F_DETECT | F_MIN | F_MIN_EXCL, .min = 0},
	{S_RULE, "false_alarms", T_FLOAT, NULL,
	 "expected false alarms per week on a stream that behaves as its "
	 "model says",
	 RUL(false_alarms), .flags = F_DETECT | F_MIN | F_MIN_EXCL | F_MAX,
	 .min = 0, .max = 1000},
	{S_RULE, "min_count", T_INT, NULL,
	 "mentions a spike's span needs (a drop: its usual count)",
	 RUL(min_count), .flags = F_DETECT | F_MIN, .min = 0},
	{S_RULE, "min_excess", T_INT, NULL,
	 "mentions the span must differ from its usual count by",
	 RUL(min_excess), .flags = F_DETECT | F_MIN, .min = 0},
	{S_RULE, "min_ratio", T_FLOAT, NULL, "count / usual needed to fire",
	 RUL(min_ratio), .flags = F_DETECT | F_MIN, .min = 1},
	{S_RULE, "window", T_INT, NULL, "shortest span tested, in buckets",
	 RUL(window), .flags = F_DETECT | F_MIN | F_MAX, .min = 1,
	 .max = DETECT_MAX_WINDOW},
	{S_RULE, "escalation", T_FLOAT, NULL,
	 "during an episode or its cooldown, fire again at this many times "
	 "its peak excess",
	 RUL(escalation), .flags = F_DETECT | F_MIN, .min = 1},
	{S_RULE, "cooldown", T_DURATION, NULL,
	 "after an alert resolves, only a clearly bigger peak fires",
	 RUL(cooldown_ms), .flags = F_DETECT | F_MIN, .min = 0},
	{S_RULE, "warmup", T_DURATION, NULL,
	 "counting time needed before the first alert", RUL(warmup_ms),
	 .flags = F_DETECT | F_MIN, .min = 0},
	{S_RULE, "novelty", T_DURATION, NULL,
	 "a spike must beat the highest count of this long without an alert; "
	 "0s: off",
	 RUL(novelty_ms), .flags = F_DETECT | F_MIN | F_MAX, .min = 0,
	 .max = DETECT_MAX_NOVELTY_DAYS * DAY_MS},
	{S_RULE, "labels", T_MAP, NULL,
	 "labels carried by the rule's alerts (e.g. severity: warning)",
	 RUL(labels), .off_n = offsetof(struct config_rule, n_labels),
	 .child = S_NONE},
	{S_RULE, "samples", T_INT, "5", "sample mentions per alert",
	 RUL(samples), .flags = F_MIN | F_MAX, .min = 0, .max = 50},

	{S_MATCH, "any", T_LIST, NULL,
	 "terms; a mention matching one counts (or use query)", RUL(any),
	 .off_n = offsetof(struct config_rule, n_any), .child = S_NONE,
	 .max_items = CONFIG_MAX_TERMS},
	{S_MATCH, "query", T_STRING, NULL,
	 "a query: terms, \"phrases\", AND, OR, NOT, NEAR/n, ... (or use any)",
	 RUL(query)},
	{S_MATCH, "lang", T_LIST, NULL,
	 "only mentions in these languages (e.g. [fr, en])", RUL(lang),
	 .off_n = offsetof(struct config_rule, n_lang), .child = S_NONE,
	 .max_items = CONFIG_MAX_LANGS},
	{S_MATCH, "sources", T_LIST, NULL,
	 "only mentions from these sources (names)", RUL(sources),
	 .off_n = offsetof(struct config_rule, n_sources), .child = S_NONE,
	 .max_items = CONFIG_MAX_SOURCES},
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

struct ctx {
	const char *file;
	struct diag *d;
	struct config *cfg; /* being built: receivers are read before rules */
};

#define FIELD(base, off, type) ((type *)((char *)(base) + (off)))

static void problem(struct ctx *c, int line, int col, const char *path,
		    const char *fmt, ...) HARK_PRINTF(5, 6);

static void problem(struct ctx *c, int line, int col, const char *path,
		    const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0) {
		msg = NULL;
	}
	va_end(ap);
	if (path[0] != '\0') {
		diag_add(c->d, c->file, line, col, "%s: %s", path,
			 msg != NULL ? msg : "(message lost)");
	} else {
		diag_add(c->d, c->file, line, col, "%s",
			 msg != NULL ? msg : "(message lost)");
	}
	free(msg);
}

static void key_problem(struct ctx *c, const struct yaml_value *m,
			const char *path, const char *key, const char *fmt, ...)
	HARK_PRINTF(5, 6);

/* A problem with the value of key in mapping m, reported at that value. */
static void key_problem(struct ctx *c, const struct yaml_value *m,
			const char *path, const char *key, const char *fmt, ...)
{
	const struct yaml_entry *e = yaml_map_find(m, key);
	char *kpath =
		path[0] != '\0' ? xasprintf("%s.%s", path, key) : xstrdup(key);
	va_list ap;
	char *msg = NULL;

	HARK_ASSERT(e != NULL);
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0) {
		msg = NULL;
	}
	va_end(ap);
	problem(c, e->value->line, e->value->col, kpath, "%s",
		msg != NULL ? msg : "(message lost)");
	free(msg);
	free(kpath);
}

/* A value quoted for a message, cut short so a message stays one line. */
static char *quoted(const char *s)
{
	size_t n = strlen(s);

	if (n > 60) {
		return xasprintf("\"%.57s...\"", s);
	}
	return xasprintf("\"%s\"", s);
}

static char *join_path(const char *path, const char *name)
{
	if (path[0] == '\0') {
		return xstrdup(name);
	}
	return xasprintf("%s.%s", path, name);
}

static bool is_var_start(int ch)
{
	return isalpha(ch) || ch == '_';
}

static bool is_var_char(int ch)
{
	return isalnum(ch) || ch == '_';
}

/*
 * Expands ${VAR}, ${VAR:-default} and $$ in s. Like the shell, the default
 * applies when VAR is unset or empty; an unset VAR alone expands to "".
 * Returns the new string (caller frees), or NULL with *why set (static).
 */
static char *expand(const char *s, const char **why)
{
	struct buf b;
	const char *p = s;
	char *out;

	buf_init(&b, CONFIG_MAX_SCALAR_BYTES);
	*why = NULL;
	while (*p != '\0' && *why == NULL) {
		const char *name;
		const char *end;
		const char *val;
		char *var;
		size_t n;

		if (p[0] != '$' || (p[1] != '$' && p[1] != '{')) {
			if (buf_putc(&b, *p) < 0) {
				*why = "value too long";
			}
			p++;
			continue;
		}
		if (p[1] == '$') {
			if (buf_putc(&b, '$') < 0) {
				*why = "value too long";
			}
			p += 2;
			continue;
		}
		name = p + 2;
		end = name;
		if (!is_var_start((unsigned char)*end)) {
			*why = "bad variable reference (expected ${NAME} or "
			       "${NAME:-default})";
			break;
		}
		while (is_var_char((unsigned char)*end)) {
			end++;
		}
		var = xstrndup(name, (size_t)(end - name));
		val = getenv(var);
		free(var);
		if (end[0] == ':' && end[1] == '-') {
			const char *def = end + 2;
			const char *close = strchr(def, '}');

			if (close == NULL) {
				*why = "unterminated ${ (expected a closing })";
				break;
			}
			if (val == NULL || val[0] == '\0') {
				val = def;
				n = (size_t)(close - def);
			} else {
				n = strlen(val);
			}
			p = close + 1;
		} else if (end[0] == '}') {
			if (val == NULL) {
				val = "";
			}
			n = strlen(val);
			p = end + 1;
		} else {
			*why = "bad variable reference (expected ${NAME} or "
			       "${NAME:-default})";
			break;
		}
		if (buf_append(&b, val, n) < 0) {
			*why = "value too long";
		}
	}
	if (*why != NULL) {
		buf_fini(&b);
		return NULL;
	}
	out = buf_steal(&b, NULL);
	return out != NULL ? out : xstrdup("");
}

/*
 * The scalar's text after ${VAR} expansion (caller frees), or NULL after
 * reporting why: not a scalar, an inner NUL byte, a bad reference.
 */
static char *scalar(struct ctx *c, const struct yaml_value *v, const char *path,
		    const char *expected)
{
	const char *why;
	char *s;

	if (v->kind != YAML_VALUE_SCALAR) {
		problem(c, v->line, v->col, path,
			"wrong type (expected %s, got %s)", expected,
			yaml_value_kind_name(v));
		return NULL;
	}
	if (strlen(v->text) != v->len) {
		problem(c, v->line, v->col, path, "contains a NUL byte");
		return NULL;
	}
	s = expand(v->text, &why);
	if (s == NULL) {
		problem(c, v->line, v->col, path, "%s", why);
	}
	return s;
}

static const char *type_expected(const struct key *k)
{
	switch (k->type) {
	case T_STRING:
	case T_ENUM:
		return "a string";
	case T_BOOL:
		return "true or false";
	case T_INT:
		return "an integer";
	case T_FLOAT:
		return "a number";
	case T_DURATION:
		return "a duration such as 30s or 5m";
	case T_SIZE:
		return "a size such as 64KiB";
	case T_LIST:
		return "a list";
	case T_MAP:
		return "a mapping";
	}
	return "?";
}

static void format_bound(const struct key *k, int64_t v, char out[32])
{
	if (k->type == T_DURATION) {
		timeutil_format_duration(v, out);
	} else if (k->type == T_SIZE) {
		snprintf(out, 32, "%lldB", (long long)v);
	} else {
		snprintf(out, 32, "%lld", (long long)v);
	}
}

/* "at least 0", "from 1s to 1d", "greater than 0": for messages. */
static char *range_text(const struct key *k)
{
	char lo[32];
	char hi[32];

	format_bound(k, k->min, lo);
	format_bound(k, k->max, hi);
	if ((k->flags & F_MIN_EXCL) && (k->flags & F_MAX)) {
		return xasprintf("greater than %s and at most %s", lo, hi);
	}
	if ((k->flags & F_MIN) && (k->flags & F_MAX)) {
		return xasprintf("from %s to %s", lo, hi);
	}
	if (k->flags & F_MIN_EXCL) {
		return xasprintf("greater than %s", lo);
	}
	if (k->flags & F_MIN) {
		return xasprintf("at least %s", lo);
	}
	return xasprintf("at most %s", hi);
}

static bool in_range(const struct key *k, int64_t v)
{
	return (!(k->flags & F_MIN) || v >= k->min) &&
	       (!(k->flags & F_MAX) || v <= k->max);
}

static char *out_of_range(const struct key *k, const char *s)
{
	char *range = range_text(k);
	char *q = quoted(s);
	char *why = xasprintf("out of range (expected %s, got %s)", range, q);

	free(range);
	free(q);
	return why;
}

static bool parse_int(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (*s == '\0' || isspace((unsigned char)*s)) {
		return false;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0') {
		return false;
	}
	*out = v;
	return true;
}

static bool parse_float(const char *s, double *out)
{
	char *end;
	double v;

	if (*s == '\0' || isspace((unsigned char)*s)) {
		return false;
	}
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v)) {
		return false;
	}
	*out = v;
	return true;
}

static char *enum_choices(const struct key *k)
{
	struct buf b;
	char *s;

	buf_init(&b, 4096);
	for (size_t i = 0; i < k->n_names; i++) {
		const char *sep = i == 0                ? ""
				  : i + 1 == k->n_names ? " or "
							: ", ";

		if (buf_printf(&b, "%s%s", sep, k->names[i]) < 0) {
			break;
		}
	}
	s = buf_steal(&b, NULL);
	return s != NULL ? s : xstrdup("");
}

/*
 * Stores text s as key k's value into the section struct at base. The
 * same path serves YAML values and the table's defaults. Returns NULL, or
 * why s is not valid (caller frees).
 */
static char *convert(const struct key *k, void *base, const char *s)
{
	const char *err = NULL;
	char *choices;
	char *q;
	char *why;
	int64_t i64;
	uint64_t u64;
	double f;

	switch (k->type) {
	case T_STRING:
		free(*FIELD(base, k->off, char *));
		*FIELD(base, k->off, char *) = xstrdup(s);
		return NULL;
	case T_BOOL:
		if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0) {
			*FIELD(base, k->off, bool) = true;
			return NULL;
		}
		if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0) {
			*FIELD(base, k->off, bool) = false;
			return NULL;
		}
		q = quoted(s);
		why = xasprintf("not a boolean (expected true, false, yes or "
				"no, got %s)",
				q);
		free(q);
		return why;
	case T_INT:
		if (!parse_int(s, &i64)) {
			q = quoted(s);
			why = xasprintf("not an integer (expected a whole "
					"number, got %s)",
					q);
			free(q);
			return why;
		}
		if (!in_range(k, i64)) {
			return out_of_range(k, s);
		}
		*FIELD(base, k->off, int64_t) = i64;
		return NULL;
	case T_FLOAT:
		if (!parse_float(s, &f)) {
			q = quoted(s);
			why = xasprintf("not a number (expected e.g. 2 or 2.5, "
					"got %s)",
					q);
			free(q);
			return why;
		}
		if (((k->flags & F_MIN_EXCL) && f <= (double)k->min) ||
		    ((k->flags & F_MIN) && f < (double)k->min) ||
		    ((k->flags & F_MAX) && f > (double)k->max)) {
			return out_of_range(k, s);
		}
		*FIELD(base, k->off, double) = f;
		return NULL;
	case T_DURATION:
		if (timeutil_parse_duration(s, &i64, &err) < 0) {
			q = quoted(s);
			why = xasprintf("%s, got %s", err, q);
			free(q);
			return why;
		}
		if (!in_range(k, i64)) {
			return out_of_range(k, s);
		}
		*FIELD(base, k->off, int64_t) = i64;
		return NULL;
	case T_SIZE:
		if (timeutil_parse_size(s, &u64, &err) < 0) {
			q = quoted(s);
			why = xasprintf("%s, got %s", err, q);
			free(q);
			return why;
		}
		if (u64 > INT64_MAX || !in_range(k, (int64_t)u64)) {
			return out_of_range(k, s);
		}
		*FIELD(base, k->off, uint64_t) = u64;
		return NULL;
	case T_ENUM:
		for (size_t i = 0; i < k->n_names; i++) {
			if (strcmp(s, k->names[i]) != 0) {
				continue;
			}
			if (k->flags & F_ENUM_STR) {
				free(*FIELD(base, k->off, char *));
				*FIELD(base, k->off, char *) =
					xstrdup(k->names[i]);
			} else {
				*FIELD(base, k->off, int) = (int)i;
			}
			return NULL;
		}
		q = quoted(s);
		choices = enum_choices(k);
		why = xasprintf("invalid value (expected %s, got %s)", choices,
				q);
		free(choices);
		free(q);
		return why;
	case T_LIST:
	case T_MAP:
		break;
	}
	HARK_ASSERT(!"convert: not a scalar type");
	return NULL;
}

static size_t levenshtein(const char *a, const char *b)
{
	size_t la = strlen(a);
	size_t lb = strlen(b);
	size_t prev[HINT_MAX_LEN + 1];
	size_t cur[HINT_MAX_LEN + 1];

	HARK_ASSERT(lb <= HINT_MAX_LEN);
	for (size_t j = 0; j <= lb; j++) {
		prev[j] = j;
	}
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = prev[j - 1] + cost;

			if (prev[j] + 1 < best) {
				best = prev[j] + 1;
			}
			if (cur[j - 1] + 1 < best) {
				best = cur[j - 1] + 1;
			}
			cur[j] = best;
		}
		memcpy(prev, cur, (lb + 1) * sizeof(prev[0]));
	}
	return prev[lb];
}

static const struct key *find_key(enum sect s, const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++) {
		if (keys[i].sect == s && strcmp(keys[i].name, name) == 0) {
			return &keys[i];
		}
	}
	return NULL;
}

static void unknown_key(struct ctx *c, enum sect s, const struct yaml_entry *e,
			const char *path)
{
	const struct key *best = NULL;
	size_t best_dist = 3;
	struct buf b;
	char *known;

	if (strlen(e->key) <= HINT_MAX_LEN) {
		for (size_t i = 0; i < N_KEYS; i++) {
			size_t dist;

			if (keys[i].sect != s ||
			    strlen(keys[i].name) > HINT_MAX_LEN) {
				continue;
			}
			dist = levenshtein(e->key, keys[i].name);
			if (dist < best_dist) {
				best_dist = dist;
				best = &keys[i];
			}
		}
	}
	if (best != NULL) {
		problem(c, e->line, e->col, path,
			"unknown key (did you mean \"%s\"?)", best->name);
		return;
	}
	buf_init(&b, 4096);
	for (size_t i = 0; i < N_KEYS; i++) {
		if (keys[i].sect == s &&
		    buf_printf(&b, "%s%s", b.len ? ", " : "", keys[i].name) <
			    0) {
			break;
		}
	}
	known = buf_steal(&b, NULL);
	problem(c, e->line, e->col, path, "unknown key (expected one of: %s)",
		known != NULL ? known : "");
	free(known);
}

/* Bit i of a walk's mask: the section's i-th key got a value from YAML. */
static unsigned key_bit(enum sect s, const char *name)
{
	unsigned bit = 0;

	for (size_t i = 0; i < N_KEYS; i++) {
		if (keys[i].sect != s) {
			continue;
		}
		if (strcmp(keys[i].name, name) == 0) {
			return 1u << bit;
		}
		bit++;
	}
	HARK_ASSERT(!"key_bit: no such key");
	return 0;
}

static bool was_set(enum sect s, uint32_t mask, const char *name)
{
	return (mask & key_bit(s, name)) != 0;
}

static const struct yaml_value *value_of(const struct yaml_value *m,
					 const char *key)
{
	const struct yaml_entry *e = yaml_map_find(m, key);

	return e != NULL ? e->value : NULL;
}

static uint32_t walk_map(struct ctx *c, enum sect s, void *base,
			 const struct yaml_value *m, const char *path, int line,
			 int col);

static bool header_name_ok(const char *s)
{
	if (*s == '\0') {
		return false;
	}
	for (; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) &&
		    strchr("!#$%&'*+-.^_`|~", *s) == NULL) {
			return false;
		}
	}
	return true;
}

/* Prometheus label names: [A-Za-z_][A-Za-z0-9_]*. */
static bool label_name_ok(const char *s)
{
	if (!(isalpha((unsigned char)*s) || *s == '_')) {
		return false;
	}
	for (s++; *s != '\0'; s++) {
		if (!(isalnum((unsigned char)*s) || *s == '_')) {
			return false;
		}
	}
	return true;
}

/* sources[].fields: each value an RFC 6901 pointer to one mention field. */
static bool walk_fields(struct ctx *c, struct config_source *src,
			const struct yaml_value *m, const char *path)
{
	static const char *const names[] = {"text", "id",     "created_at",
					    "lang", "author", "url"};
	char **slots[] = {&src->fields.text,       &src->fields.id,
			  &src->fields.created_at, &src->fields.lang,
			  &src->fields.author,     &src->fields.url};

	if (m->kind != YAML_VALUE_MAP) {
		problem(c, m->line, m->col, path,
			"wrong type (expected a mapping of field names to JSON "
			"pointers, got %s)",
			yaml_value_kind_name(m));
		return false;
	}
	for (size_t i = 0; i < m->n_entries; i++) {
		const struct yaml_entry *e = &m->entries[i];
		char *fpath = join_path(path, e->key);
		size_t k;
		char *v;

		for (k = 0; k < 6; k++) {
			if (strcmp(names[k], e->key) == 0) {
				break;
			}
		}
		if (k == 6) {
			problem(c, e->line, e->col, fpath,
				"unknown field (expected text, id, created_at, "
				"lang, author or url)");
		} else if (*slots[k] != NULL) {
			problem(c, e->line, e->col, fpath, "duplicate field");
		} else if (yaml_value_is_null(e->value)) {
			problem(c, e->line, e->col, fpath,
				"a value is required");
		} else {
			v = scalar(c, e->value, fpath, "a JSON pointer");
			if (v != NULL && !mention_pointer_valid(v)) {
				problem(c, e->value->line, e->value->col, fpath,
					"not a JSON pointer (expected "
					"\"/a/b/0\", ~0 for ~ and ~1 for /, "
					"got %s)",
					v);
				free(v);
			} else if (v != NULL) {
				*slots[k] = v;
			}
		}
		free(fpath);
	}
	if (src->fields.text == NULL) {
		problem(c, m->line, m->col, path,
			"missing required field \"text\"");
	}
	src->has_fields = true;
	return true;
}

/* A map of names to string values: receivers' headers, rules' labels. */
static bool walk_pairs(struct ctx *c, const struct key *k, void *base,
		       const struct yaml_value *m, const char *path)
{
	struct config_header **out =
		(struct config_header **)((char *)base + k->off);
	size_t *n_out = (size_t *)((char *)base + k->off_n);
	bool labels = k->sect == S_RULE;
	struct {
		struct config_header *headers;
		size_t n_headers;
	} acc = {NULL, 0}, *r = &acc;

	if (m->kind != YAML_VALUE_MAP) {
		problem(c, m->line, m->col, path,
			"wrong type (expected a mapping of %s names to "
			"values, got %s)",
			labels ? "label" : "header", yaml_value_kind_name(m));
		return false;
	}
	if (m->n_entries > CONFIG_MAX_HEADERS) {
		problem(c, m->line, m->col, path,
			"too many %s (expected at most %d, got %zu)",
			labels ? "labels" : "headers", CONFIG_MAX_HEADERS,
			m->n_entries);
		return false;
	}
	r->headers = xcalloc(m->n_entries, sizeof(*r->headers));
	for (size_t i = 0; i < m->n_entries; i++) {
		const struct yaml_entry *e = &m->entries[i];
		char *hpath = join_path(path, e->key);
		char *v;
		bool dup = false;

		for (size_t j = 0; j < i; j++) {
			dup = dup || strcasecmp(m->entries[j].key, e->key) == 0;
		}
		if (dup) {
			problem(c, e->line, e->col, hpath, "duplicate %s",
				labels ? "label" : "header");
		} else if (labels && !label_name_ok(e->key)) {
			problem(c, e->line, e->col, hpath,
				"invalid label name (expected a letter or _ "
				"followed by letters, digits or _)");
		} else if (!labels && !header_name_ok(e->key)) {
			problem(c, e->line, e->col, hpath,
				"invalid header name (expected letters, digits "
				"and !#$%%&'*+-.^_`|~)");
		} else if (yaml_value_is_null(e->value)) {
			problem(c, e->line, e->col, hpath,
				"a value is required");
		} else {
			v = scalar(c, e->value, hpath, "a string");
			if (v != NULL && strpbrk(v, "\r\n") != NULL) {
				problem(c, e->value->line, e->value->col, hpath,
					"header values must be one "
					"line");
				free(v);
			} else if (v != NULL) {
				r->headers[r->n_headers].name = xstrdup(e->key);
				r->headers[r->n_headers].value = v;
				r->n_headers++;
			}
		}
		free(hpath);
	}
	*out = r->headers;
	*n_out = r->n_headers;
	return true;
}

static char *receiver_names(const struct config *cfg)
{
	struct buf b;
	char *s;

	buf_init(&b, 4096);
	for (size_t i = 0; i < cfg->n_receivers; i++) {
		const char *n = cfg->receivers[i].name;

		if (n != NULL &&
		    buf_printf(&b, "%s%s", b.len ? ", " : "", n) < 0) {
			break;
		}
	}
	s = buf_steal(&b, NULL);
	if (s[0] == '\0') {
		free(s);
		return xstrdup("none defined");
	}
	return s;
}

static void walk_string_list(struct ctx *c, const struct key *k, void *base,
			     const struct yaml_value *v, const char *path)
{
	char **terms = NULL;
	size_t *idx = NULL;

	if (k->flags & F_RECEIVERS) {
		idx = xcalloc(v->n_items, sizeof(*idx));
		*FIELD(base, k->off, size_t *) = idx;
	} else {
		terms = xcalloc(v->n_items, sizeof(*terms));
		*FIELD(base, k->off, char **) = terms;
	}
	*FIELD(base, k->off_n, size_t) = v->n_items;
	for (size_t i = 0; i < v->n_items; i++) {
		const struct yaml_value *it = v->items[i];
		char *ipath = xasprintf("%s[%zu]", path, i);
		char *s = scalar(c, it, ipath, "a string");
		long r;

		if (s != NULL && s[0] == '\0') {
			problem(c, it->line, it->col, ipath,
				"must not be empty");
		} else if (s != NULL && terms != NULL) {
			terms[i] = s;
			s = NULL;
		} else if (s != NULL) {
			r = config_find_receiver(c->cfg, s);
			if (r < 0) {
				char *known = receiver_names(c->cfg);
				char *q = quoted(s);

				problem(c, it->line, it->col, ipath,
					"unknown receiver %s (known: %s)", q,
					known);
				free(q);
				free(known);
			} else {
				idx[i] = (size_t)r;
			}
		}
		free(s);
		free(ipath);
	}
}

/* Duplicate names are reported at the second one's name. */
static void check_unique_names(struct ctx *c, const struct key *k,
			       const struct yaml_value *v, const char *path)
{
	char *items = *FIELD(c->cfg, k->off, char *);
	size_t n = *FIELD(c->cfg, k->off_n, size_t);
	size_t name_off = find_key(k->child, "name")->off;

	for (size_t i = 1; i < n; i++) {
		const char *a =
			*FIELD(items + i * k->elem_size, name_off, char *);
		const struct yaml_value *at;

		if (a == NULL) {
			continue;
		}
		for (size_t j = 0; j < i; j++) {
			const char *b = *FIELD(items + j * k->elem_size,
					       name_off, char *);

			if (b == NULL || strcmp(a, b) != 0) {
				continue;
			}
			at = value_of(v->items[i], "name");
			problem(c, at->line, at->col, path,
				"duplicate name \"%s\" (already used by "
				"%s[%zu])",
				a, k->name, j);
			break;
		}
	}
}

static void walk_list(struct ctx *c, const struct key *k, void *base,
		      const struct yaml_value *v, const char *path)
{
	char *items;

	if (v->kind != YAML_VALUE_SEQ) {
		problem(c, v->line, v->col, path,
			"wrong type (expected a list, got %s)",
			yaml_value_kind_name(v));
		return;
	}
	if (v->n_items > k->max_items) {
		problem(c, v->line, v->col, path,
			"too many items (expected at most %zu, got %zu)",
			k->max_items, v->n_items);
		return;
	}
	if ((k->flags & F_REQUIRED) && v->n_items == 0) {
		problem(c, v->line, v->col, path,
			"must not be empty (expected at least one item)");
		return;
	}
	if (k->child == S_NONE) {
		walk_string_list(c, k, base, v, path);
		return;
	}
	/* sections in lists live in the top-level struct config only */
	HARK_ASSERT(base == c->cfg);
	items = xcalloc(v->n_items, k->elem_size);
	*FIELD(base, k->off, char *) = items;
	*FIELD(base, k->off_n, size_t) = v->n_items;
	for (size_t i = 0; i < v->n_items; i++) {
		char *ipath = xasprintf("%s[%zu]", path, i);

		walk_map(c, k->child, items + i * k->elem_size, v->items[i],
			 ipath, v->items[i]->line, v->items[i]->col);
		free(ipath);
	}
	check_unique_names(c, k, v, path);
}

static void set_default(const struct key *k, void *base)
{
	char *why;

	if (k->def == NULL) {
		return;
	}
	why = convert(k, base, k->def);
	/* the table is ours: a default that does not parse is a bug */
	HARK_ASSERT(why == NULL);
}

/* Returns true when v gave k a value. */
static bool apply_key(struct ctx *c, const struct key *k, void *base,
		      const struct yaml_value *m, const char *path, int line,
		      int col, bool quiet)
{
	const struct yaml_entry *e = yaml_map_find(m, k->name);
	const struct yaml_value *v = e != NULL ? e->value : NULL;
	char *kpath = join_path(path, k->name);
	bool set = false;
	char *s;
	char *why;

	if (yaml_value_is_null(v)) {
		set_default(k, base);
		if ((k->flags & F_REQUIRED) && e != NULL) {
			problem(c, e->line, e->col, kpath,
				"a value is required (expected %s)",
				type_expected(k));
		} else if ((k->flags & F_REQUIRED) && !quiet) {
			problem(c, line, col, path,
				"missing required key \"%s\"", k->name);
		} else if (!(k->flags & F_REQUIRED) && k->type == T_MAP &&
			   k->child != S_NONE) {
			/* an absent section still gets its defaults */
			walk_map(c, k->child, base, NULL, kpath,
				 e != NULL ? e->line : line,
				 e != NULL ? e->col : col);
		}
		free(kpath);
		return false;
	}
	switch (k->type) {
	case T_LIST:
		walk_list(c, k, base, v, kpath);
		set = true;
		break;
	case T_MAP:
		if (k->child == S_NONE && k->sect == S_SOURCE &&
		    strcmp(k->name, "fields") == 0) {
			set = walk_fields(c, base, v, kpath);
		} else if (k->child == S_NONE) {
			set = walk_pairs(c, k, base, v, kpath);
		} else {
			walk_map(c, k->child, base, v, kpath, v->line, v->col);
			set = true;
		}
		break;
	default:
		s = scalar(c, v, kpath, type_expected(k));
		if (s == NULL) {
			break;
		}
		why = convert(k, base, s);
		if (why != NULL) {
			problem(c, v->line, v->col, kpath, "%s", why);
			free(why);
		} else {
			set = true;
		}
		free(s);
		break;
	}
	free(kpath);
	return set;
}

static bool listen_ok(const char *s)
{
	const char *colon = strrchr(s, ':');
	size_t host_len;
	int64_t port;

	if (colon == NULL || colon == s) {
		return false;
	}
	host_len = (size_t)(colon - s);
	if (s[0] == '[') {
		if (host_len < 3 || s[host_len - 1] != ']') {
			return false;
		}
	} else if (memchr(s, ':', host_len) != NULL) {
		/* a bare IPv6 address: its port cannot be told apart */
		return false;
	}
	if (!isdigit((unsigned char)colon[1]) || !parse_int(colon + 1, &port)) {
		return false;
	}
	return port >= 0 && port <= 65535;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The scheme of a bad URL, so that a password in it is never echoed. */
static char *url_shown(const char *s)
{
	const char *p = strstr(s, "://");
	char *shown;
	char *q;

	if (p == NULL) {
		return quoted(s);
	}
	shown = xasprintf("%.*s://...", (int)(p - s), s);
	q = quoted(shown);
	free(shown);
	return q;
}

static char *resolve(const char *dir, const char *path)
{
	if (path[0] == '/' || strcmp(dir, ".") == 0) {
		return xstrdup(path);
	}
	return xasprintf("%s/%s", dir, path);
}

/* The daemon's own parser, so --check refuses what a start would. */
static void check_redis_url(struct ctx *c, const struct yaml_value *m,
			    const char *path, const char *url)
{
	struct redis_url u;
	char why[200];

	if (redis_url_parse(&u, url, why, sizeof(why)) != 0) {
		key_problem(c, m, path, "redis", "invalid Redis URL: %s", why);
		return;
	}
	redis_url_fini(&u);
}

/* An empty string ("${VAR}" left unset) reads as the key's absence. */
static void empty_is_unset(char **s)
{
	if (*s != NULL && (*s)[0] == '\0') {
		free(*s);
		*s = NULL;
	}
}

static void check_sentinel(struct ctx *c, uint32_t set,
			   const struct yaml_value *m, const char *path,
			   int line, int col)
{
	struct config_sentinel *sc = &c->cfg->sentinel;
	const struct yaml_value *nv = value_of(m, "nodes");
	struct redis_url u;
	char why[200];

	empty_is_unset(&sc->password);
	empty_is_unset(&sc->sentinel_password);
	if (m == NULL) {
		return; /* no sentinel block: its defaults only */
	}
	if (!was_set(S_SENTINEL, set, "master")) {
		problem(c, line, col, path, "missing required key \"master\"");
	} else if (sc->master[0] == '\0') {
		key_problem(c, m, path, "master", "must not be empty");
	}
	if (!was_set(S_SENTINEL, set, "nodes")) {
		problem(c, line, col, path,
			"missing required key \"nodes\" (expected a list of "
			"HOST:PORT)");
		return;
	}
	if (nv->kind != YAML_VALUE_SEQ) {
		return; /* already reported */
	}
	if (sc->n_nodes == 0) {
		key_problem(c, m, path, "nodes",
			    "must not be empty (expected at least one "
			    "HOST:PORT)");
	}
	for (size_t i = 0; i < sc->n_nodes; i++) {
		char *ipath;

		if (sc->nodes[i] == NULL) {
			continue; /* already reported */
		}
		if (redis_addr_parse(&u, sc->nodes[i], why, sizeof(why)) == 0) {
			redis_url_fini(&u);
			continue;
		}
		ipath = xasprintf("%s.nodes[%zu]", path, i);
		problem(c, nv->items[i]->line, nv->items[i]->col, ipath,
			"invalid sentinel address: %s", why);
		free(ipath);
	}
}

/*
 * The seeds of store.cluster: each a redis:// URL (the one parser), over
 * TCP, database 0 (the only one a cluster has).
 */
static void check_cluster(struct ctx *c, const struct yaml_value *m,
			  const char *path)
{
	const struct config *cfg = c->cfg;
	const struct yaml_value *lv = value_of(m, "cluster");
	struct redis_url u;
	char why[200];

	if (lv == NULL || lv->kind != YAML_VALUE_SEQ) {
		return; /* absent, or already reported */
	}
	if (cfg->n_cluster == 0) {
		key_problem(c, m, path, "cluster",
			    "must not be empty (expected at least one "
			    "redis://HOST:PORT)");
	}
	for (size_t i = 0; i < cfg->n_cluster; i++) {
		char *ipath;

		if (cfg->cluster[i] == NULL) {
			continue; /* already reported */
		}
		if (redis_url_parse(&u, cfg->cluster[i], why, sizeof(why)) ==
		    0) {
			snprintf(why, sizeof(why), "%s",
				 u.path != NULL ? "a cluster node is reached "
						  "over TCP (redis://HOST:PORT)"
				 : u.db != 0    ? "Redis Cluster has only "
						  "database 0"
						: "");
			redis_url_fini(&u);
			if (why[0] == '\0') {
				continue;
			}
		}
		ipath = xasprintf("%s.cluster[%zu]", path, i);
		problem(c, lv->items[i]->line, lv->items[i]->col, ipath,
			"invalid Redis URL: %s", why);
		free(ipath);
	}
}

/*
 * The Redis the store talks to: at most one of these keys. An empty value
 * counts as absent. The first in the file stands; each other one is the
 * problem.
 */
static void check_store_backend(struct ctx *c, uint32_t set,
				const struct yaml_value *m, const char *path)
{
	const struct config *cfg = c->cfg;
	const char *first = NULL;
	int first_line = 0;
	const struct {
		const char *key;
		bool given;
	} backends[] = {
		{"redis", cfg->redis_url != NULL},
		{"sentinel", was_set(S_STORE, set, "sentinel")},
		{"cluster", was_set(S_STORE, set, "cluster")},
	};
	const size_t n = sizeof(backends) / sizeof(backends[0]);

	for (size_t i = 0; i < n; i++) {
		int line = backends[i].given
				   ? yaml_map_find(m, backends[i].key)->line
				   : 0;

		if (backends[i].given && (first == NULL || line < first_line)) {
			first = backends[i].key;
			first_line = line;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!backends[i].given || backends[i].key == first) {
			continue;
		}
		key_problem(c, m, path, backends[i].key,
			    "give one of store.%s and store.%s, not both (a "
			    "store talks to one Redis)",
			    first, backends[i].key);
	}
}

static void check_store(struct ctx *c, uint32_t set, const struct yaml_value *m,
			const char *path)
{
	struct config *cfg = c->cfg;
	char *cwd;
	char *p;

	/* "${REDIS_URL}" left unset means the embedded store, like absence */
	empty_is_unset(&cfg->redis_url);
	if (cfg->redis_url != NULL) {
		check_redis_url(c, m, path, cfg->redis_url);
	}
	check_cluster(c, m, path);
	check_store_backend(c, set, m, path);
	if (cfg->snapshot_path != NULL && cfg->snapshot_path[0] == '\0') {
		key_problem(c, m, path, "snapshot", "must not be empty");
	} else if (cfg->snapshot_path != NULL && cfg->snapshot_path[0] != '/') {
		/*
		 * Relative to the working directory at load time, so that a
		 * later chdir cannot move the snapshot under us.
		 */
		cwd = getcwd(NULL, 0);
		if (cwd != NULL) {
			p = resolve(cwd, cfg->snapshot_path);
			free(cfg->snapshot_path);
			cfg->snapshot_path = p;
			free(cwd);
		}
	}
}

static void check_http(struct ctx *c, uint32_t set, const struct yaml_value *m,
		       const char *path)
{
	char *q;

	c->cfg->http_workers_set = was_set(S_HTTP, set, "workers");
	if (c->cfg->listen != NULL && !listen_ok(c->cfg->listen)) {
		q = quoted(c->cfg->listen);
		key_problem(c, m, path, "listen",
			    "invalid address (expected HOST:PORT with a port "
			    "from 0 to 65535, got %s)",
			    q);
		free(q);
	}
}

/* A key given to a source type that has no use for it is a mistake. */
static void only_for(struct ctx *c, const struct config_source *src,
		     uint32_t set, const struct yaml_value *m, const char *path,
		     const char *key, unsigned types)
{
	if (was_set(S_SOURCE, set, key) && !(types & (1u << src->type))) {
		key_problem(c, m, path, key, "not valid for type %s",
			    source_types[src->type]);
	}
}

static void check_stream_source(struct ctx *c, struct config_source *src,
				uint32_t set, const struct yaml_value *m,
				const char *path, int line, int col)
{
	const unsigned web =
		1u << CONFIG_SOURCE_HTTP_STREAM | 1u << CONFIG_SOURCE_SSE;
	const unsigned redis = 1u << CONFIG_SOURCE_REDIS_STREAM;
	const unsigned file = 1u << CONFIG_SOURCE_FILE;
	const unsigned pulled = web | redis | file;
	const char *rest;
	char *p;

	only_for(c, src, set, m, path, "follow", file);
	only_for(c, src, set, m, path, "poll", file);
	only_for(c, src, set, m, path, "start_at", file);
	if (!was_set(S_SOURCE, set, "start_at")) {
		/* A followed file is a log that outlives harkd: go on where
		 * the last run stopped. A plain file is read whole. */
		src->start_at = src->follow ? CONFIG_START_RESUME
					    : CONFIG_START_BEGINNING;
	}
	only_for(c, src, set, m, path, "url", web);
	only_for(c, src, set, m, path, "headers", web);
	only_for(c, src, set, m, path, "token", web);
	only_for(c, src, set, m, path, "token_file", web);
	only_for(c, src, set, m, path, "stall_timeout", web);
	only_for(c, src, set, m, path, "connect_timeout", web);
	only_for(c, src, set, m, path, "lease", web);
	only_for(c, src, set, m, path, "redis", redis);
	only_for(c, src, set, m, path, "stream", redis);
	only_for(c, src, set, m, path, "group", redis);
	only_for(c, src, set, m, path, "consumer", redis);
	only_for(c, src, set, m, path, "block", redis);
	only_for(c, src, set, m, path, "batch", redis);
	only_for(c, src, set, m, path, "claim_after", redis);
	only_for(c, src, set, m, path, "format", pulled);
	only_for(c, src, set, m, path, "fields", pulled);
	only_for(c, src, set, m, path, "queue", pulled);
	if (src->type == CONFIG_SOURCE_HTTP_STREAM ||
	    src->type == CONFIG_SOURCE_SSE) {
		if (!was_set(S_SOURCE, set, "url")) {
			problem(c, line, col, path,
				"missing required key \"url\" (required for "
				"type %s)",
				source_types[src->type]);
		} else {
			rest = NULL;
			if (has_prefix(src->url, "http://")) {
				rest = src->url + strlen("http://");
			} else if (has_prefix(src->url, "https://")) {
				rest = src->url + strlen("https://");
			}
			if (rest == NULL || rest[0] == '\0' || rest[0] == '/') {
				key_problem(c, m, path, "url",
					    "expected an http:// or https:// "
					    "URL");
			}
		}
	}
	if (was_set(S_SOURCE, set, "token") &&
	    was_set(S_SOURCE, set, "token_file")) {
		key_problem(c, m, path, "token_file",
			    "give token or token_file, not both");
	}
	if (was_set(S_SOURCE, set, "token_file") &&
	    src->token_file[0] != '\0') {
		p = resolve(c->cfg->dir, src->token_file);
		free(src->token_file);
		src->token_file = p;
	}
	if (was_set(S_SOURCE, set, "fields") &&
	    was_set(S_SOURCE, set, "format") &&
	    src->format != CONFIG_FORMAT_AUTO) {
		key_problem(c, m, path, "fields",
			    "give format or fields, not both");
	}
	if (src->type == CONFIG_SOURCE_REDIS_STREAM) {
		if (!was_set(S_SOURCE, set, "stream") ||
		    src->stream[0] == '\0') {
			problem(c, line, col, path,
				"missing required key \"stream\" (required "
				"for type redis-stream)");
		}
		if (!was_set(S_SOURCE, set, "redis") &&
		    c->cfg->sentinel.master != NULL) {
			/* Its consumer group would need the failover
			 * followed too; it is not (yet). */
			problem(c, line, col, path,
				"type redis-stream needs its own \"redis\" "
				"URL with store.sentinel (the stream's Redis "
				"is not found through the sentinels)");
		} else if (!was_set(S_SOURCE, set, "redis") &&
			   c->cfg->n_cluster > 0) {
			problem(c, line, col, path,
				"type redis-stream needs its own \"redis\" "
				"URL with store.cluster (a stream is read "
				"from one Redis, not through the cluster)");
		} else if (!was_set(S_SOURCE, set, "redis") &&
			   c->cfg->redis_url == NULL) {
			problem(c, line, col, path,
				"type redis-stream needs \"redis\" here or "
				"store.redis");
		} else if (was_set(S_SOURCE, set, "redis")) {
			check_redis_url(c, m, path, src->redis);
		}
		if (src->group == NULL || src->group[0] == '\0') {
			key_problem(c, m, path, "group", "must not be empty");
		}
	}
}

static void check_source(struct ctx *c, struct config_source *src, uint32_t set,
			 const struct yaml_value *m, const char *path, int line,
			 int col)
{
	const struct yaml_value *v = value_of(m, "path");
	bool has_path = was_set(S_SOURCE, set, "path");
	char *p;

	if (was_set(S_SOURCE, set, "name") && src->name[0] == '\0') {
		key_problem(c, m, path, "name", "must not be empty");
	}
	if (!was_set(S_SOURCE, set, "type")) {
		return;
	}
	if (src->type == CONFIG_SOURCE_FILE && yaml_value_is_null(v)) {
		problem(c, line, col, path,
			"missing required key \"path\" (required for type "
			"file)");
	} else if (src->type == CONFIG_SOURCE_FILE && has_path &&
		   src->path[0] == '\0') {
		key_problem(c, m, path, "path", "must not be empty");
	} else if (src->type == CONFIG_SOURCE_FILE && has_path) {
		p = resolve(c->cfg->dir, src->path);
		free(src->path);
		src->path = p;
	} else if (src->type != CONFIG_SOURCE_FILE && !yaml_value_is_null(v)) {
		key_problem(c, m, path, "path",
			    "only valid for type file "
			    "(got type %s)",
			    source_types[src->type]);
	}
	check_stream_source(c, src, set, m, path, line, col);
}

static bool web_url_ok(const char *url)
{
	const char *rest;

	if (has_prefix(url, "http://")) {
		rest = url + strlen("http://");
	} else if (has_prefix(url, "https://")) {
		rest = url + strlen("https://");
	} else {
		return false;
	}
	return rest[0] != '\0' && rest[0] != '/';
}

static const char *const webhook_only[] = {"secret", "secret_file", "template",
					   "headers"};
static const char *const email_only[] = {"starttls", "from", "to", "username",
					 "password_file"};

/* Keys of other receiver types are errors, not silently ignored. */
static void receiver_only_for(struct ctx *c, const struct yaml_value *m,
			      const char *path, const char *const *names,
			      size_t n, const char *type, const char *got)
{
	for (size_t i = 0; i < n; i++) {
		if (!yaml_value_is_null(value_of(m, names[i]))) {
			key_problem(c, m, path, names[i],
				    "only valid for type %s (got type %s)",
				    type, got);
		}
	}
}

static void resolve_path(struct ctx *c, char **p)
{
	char *r;

	if (*p != NULL && (*p)[0] != '\0') {
		r = resolve(c->cfg->dir, *p);
		free(*p);
		*p = r;
	}
}

static bool builtin_template(const char *t)
{
	return strcmp(t, "slack") == 0 || strcmp(t, "teams") == 0 ||
	       strcmp(t, "discord") == 0 ||
	       strcmp(t, "alertmanager-webhook") == 0;
}

static void check_receiver(struct ctx *c, struct config_receiver *r,
			   uint32_t set, const struct yaml_value *m,
			   const char *path, int line, int col)
{
	const struct yaml_value *url = value_of(m, "url");
	const char *tname;
	char *q;

	if (was_set(S_RECEIVER, set, "name") && r->name[0] == '\0') {
		key_problem(c, m, path, "name", "must not be empty");
	}
	if (!was_set(S_RECEIVER, set, "type")) {
		return;
	}
	tname = receiver_types[r->type];
	if (r->type != CONFIG_RECEIVER_LOG && yaml_value_is_null(url)) {
		problem(c, line, col, path,
			"missing required key \"url\" (required for type %s)",
			tname);
	} else if ((r->type == CONFIG_RECEIVER_WEBHOOK ||
		    r->type == CONFIG_RECEIVER_ALERTMANAGER) &&
		   was_set(S_RECEIVER, set, "url") && !web_url_ok(r->url)) {
		q = url_shown(r->url);
		key_problem(c, m, path, "url",
			    "invalid URL (expected http://... or https://..., "
			    "got %s)",
			    q);
		free(q);
	} else if (r->type == CONFIG_RECEIVER_EMAIL &&
		   was_set(S_RECEIVER, set, "url") &&
		   !has_prefix(r->url, "smtp://") &&
		   !has_prefix(r->url, "smtps://")) {
		q = url_shown(r->url);
		key_problem(c, m, path, "url",
			    "invalid URL (expected smtp://HOST:PORT or "
			    "smtps://HOST:PORT, got %s)",
			    q);
		free(q);
	} else if (r->type == CONFIG_RECEIVER_LOG && !yaml_value_is_null(url)) {
		key_problem(c, m, path, "url",
			    "only valid for type webhook (got type log)");
	}
	if (r->type != CONFIG_RECEIVER_WEBHOOK) {
		receiver_only_for(c, m, path, webhook_only,
				  sizeof(webhook_only) /
					  sizeof(webhook_only[0]),
				  "webhook", tname);
	}
	if (r->type != CONFIG_RECEIVER_EMAIL) {
		receiver_only_for(c, m, path, email_only,
				  sizeof(email_only) / sizeof(email_only[0]),
				  "email", tname);
	}
	if (r->type == CONFIG_RECEIVER_EMAIL &&
	    yaml_value_is_null(value_of(m, "from"))) {
		problem(c, line, col, path,
			"missing required key \"from\" "
			"(required for type email)");
	}
	if (r->type == CONFIG_RECEIVER_EMAIL && r->n_to == 0) {
		problem(c, line, col, path,
			"missing required key \"to\" (at "
			"least one recipient for type email)");
	}
	if (r->secret != NULL && r->secret_file != NULL) {
		key_problem(c, m, path, "secret_file",
			    "give secret or secret_file, not both");
	}
	if (r->template_name != NULL && r->template_name[0] == '\0') {
		key_problem(c, m, path, "template", "must not be empty");
	} else if (r->template_name != NULL &&
		   !builtin_template(r->template_name)) {
		/* Built-in formats are names; anything else is a file. */
		resolve_path(c, &r->template_name);
	}
	resolve_path(c, &r->secret_file);
	resolve_path(c, &r->password_file);
	if (!was_set(S_RECEIVER, set, "rate_limit") &&
	    r->template_name != NULL &&
	    strcmp(r->template_name, "slack") == 0) {
		/* Slack's incoming webhooks take about one message a second. */
		r->rate_limit_ms = 1000;
	}
}

static bool rule_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > RULE_NAME_MAX) {
		return false;
	}
	for (; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) && strchr("_.-", *s) == NULL) {
			return false;
		}
	}
	return true;
}

/* "fr", "pt-BR", "zh_Hant": 2-3 letters, then subtags. */
static bool lang_code_ok(const char *s)
{
	size_t n = 0;

	while (isalpha((unsigned char)s[n])) {
		n++;
	}
	if (n < 2 || n > 3) {
		return false;
	}
	for (s += n; *s != '\0'; s += n) {
		if (*s != '-' && *s != '_') {
			return false;
		}
		s++;
		n = 0;
		while (isalnum((unsigned char)s[n])) {
			n++;
		}
		if (n < 1 || n > 8) {
			return false;
		}
	}
	return true;
}

/* An OR of one filter over a list of values, ANDed onto *q. */
static void and_filter(struct query_node **q, enum query_field f,
		       char *const *values, size_t n)
{
	struct query_node **kids;
	struct query_node *pair[2];

	if (n == 0) {
		return;
	}
	kids = xcalloc(n, sizeof(*kids));
	for (size_t i = 0; i < n; i++) {
		kids[i] = query_new_field(f, values[i]);
	}
	pair[0] = *q;
	pair[1] = query_new_op(QUERY_OR, kids, n);
	*q = query_new_op(QUERY_AND, pair, 2);
	free(kids);
}

static bool has_source(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_sources; i++) {
		if (cfg->sources[i].name != NULL &&
		    strcmp(cfg->sources[i].name, name) == 0) {
			return true;
		}
	}
	return false;
}

static bool all_set(char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i] == NULL) {
			return false;
		}
	}
	return true;
}

/*
 * Exactly one of any and query; parses the query, checks the filters and
 * builds r->match. A query error is reported where it is in the file:
 * the string's line, and its column plus the offset in the query.
 */
static void check_match(struct ctx *c, struct config_rule *r, uint32_t set,
			const struct yaml_value *m, const char *path, int line,
			int col)
{
	bool has_any = was_set(S_MATCH, set, "any");
	bool has_query = was_set(S_MATCH, set, "query");
	const struct yaml_value *v;
	struct query_error qe;
	struct query_node *q = NULL;
	char *ipath;
	bool ok = true;

	if (m == NULL) {
		return;
	}
	if (!has_any && !has_query) {
		problem(c, line, col, path,
			"missing required key \"any\" or \"query\" (exactly "
			"one of them)");
		return;
	}
	if (has_any && has_query) {
		key_problem(c, m, path, "query",
			    "only one of \"any\" and \"query\" is allowed");
		return;
	}
	if (has_any && r->n_any == 0) {
		key_problem(c, m, path, "any",
			    "must not be empty (expected at least one item)");
		return;
	}
	v = value_of(m, "lang");
	for (size_t i = 0; i < r->n_lang; i++) {
		char *lq;

		if (r->lang[i] == NULL || lang_code_ok(r->lang[i])) {
			continue;
		}
		lq = quoted(r->lang[i]);
		ipath = xasprintf("%s.lang[%zu]", path, i);
		problem(c, v->items[i]->line, v->items[i]->col, ipath,
			"invalid language code (expected e.g. fr, en or "
			"pt-BR, got %s)",
			lq);
		free(ipath);
		free(lq);
		ok = false;
	}
	v = value_of(m, "sources");
	for (size_t i = 0; i < r->n_sources; i++) {
		char *sq;

		if (r->sources[i] == NULL) {
			continue;
		}
		if (has_source(c->cfg, r->sources[i])) {
			continue;
		}
		sq = quoted(r->sources[i]);
		ipath = xasprintf("%s.sources[%zu]", path, i);
		problem(c, v->items[i]->line, v->items[i]->col, ipath,
			"unknown source %s", sq);
		free(ipath);
		free(sq);
		ok = false;
	}
	if (has_query) {
		v = value_of(m, "query");
		/* a quoted string starts one column after its quote */
		if (query_parse(r->query, v->col + (v->plain ? 0 : 1), &q,
				&qe) < 0) {
			problem(c, v->line, qe.col, "", "%s", qe.msg);
			return;
		}
	}
	if (!ok || !all_set(r->any, r->n_any) || !all_set(r->lang, r->n_lang) ||
	    !all_set(r->sources, r->n_sources)) {
		query_free(q);
		return;
	}
	if (!has_query) {
		q = query_from_terms((const char *const *)r->any, r->n_any,
				     &qe);
		if (q == NULL) {
			key_problem(c, m, path, "any", "%s", qe.msg);
			return;
		}
	}
	and_filter(&q, QUERY_FIELD_LANG, r->lang, r->n_lang);
	and_filter(&q, QUERY_FIELD_SOURCE, r->sources, r->n_sources);
	r->match = q;
}

static void check_rule(struct ctx *c, struct config_rule *r, uint32_t set,
		       const struct yaml_value *m, const char *path)
{
	char dur[32];
	char *q;

	if (r->name != NULL && !rule_name_ok(r->name)) {
		q = quoted(r->name);
		key_problem(c, m, path, "name",
			    "invalid rule name (expected 1-100 characters of "
			    "A-Z a-z 0-9 _ . -, got %s)",
			    q);
		free(q);
	}
	if (was_set(S_RULE, set, "bucket") && DAY_MS % r->bucket_ms != 0) {
		timeutil_format_duration(r->bucket_ms, dur);
		key_problem(c, m, path, "bucket",
			    "must divide one day evenly (expected e.g. 1m, "
			    "5m, 15m, 1h, got %s)",
			    dur);
	}
	if (!was_set(S_RULE, set, "lateness")) {
		r->lateness_ms = r->bucket_ms;
	}
	r->sensitivity_set = was_set(S_RULE, set, "sensitivity");
	r->false_alarms_set = was_set(S_RULE, set, "false_alarms");
	r->min_count_set = was_set(S_RULE, set, "min_count");
	r->min_excess_set = was_set(S_RULE, set, "min_excess");
	r->min_ratio_set = was_set(S_RULE, set, "min_ratio");
	r->window_set = was_set(S_RULE, set, "window");
	r->escalation_set = was_set(S_RULE, set, "escalation");
	r->cooldown_set = was_set(S_RULE, set, "cooldown");
	r->warmup_set = was_set(S_RULE, set, "warmup");
	r->novelty_set = was_set(S_RULE, set, "novelty");
}

/*
 * Fills the section struct at base from mapping m (NULL: absent, so all
 * defaults), reporting unknown and duplicate keys at the key. line:col
 * locate missing keys when m is absent. Returns the mask of keys set.
 */
static uint32_t walk_map(struct ctx *c, enum sect s, void *base,
			 const struct yaml_value *m, const char *path, int line,
			 int col)
{
	uint32_t set = 0;
	unsigned bit = 0;
	bool quiet = false;

	if (m != NULL && m->kind != YAML_VALUE_MAP) {
		problem(c, m->line, m->col, path,
			"wrong type (expected a mapping, got %s)",
			yaml_value_kind_name(m));
		/* fill defaults, but "missing key" would only repeat this */
		m = NULL;
		quiet = true;
	}
	if (m != NULL) {
		line = m->line;
		col = m->col;
		for (size_t i = 0; i < m->n_entries; i++) {
			const struct yaml_entry *e = &m->entries[i];
			char *kpath = join_path(path, e->key);
			const struct yaml_entry *first =
				yaml_map_find(m, e->key);

			if (first != e) {
				problem(c, e->line, e->col, kpath,
					"duplicate key (first at line %d)",
					first->line);
			} else if (find_key(s, e->key) == NULL) {
				unknown_key(c, s, e, kpath);
			}
			free(kpath);
		}
	}
	for (size_t i = 0; i < N_KEYS; i++) {
		if (keys[i].sect != s) {
			continue;
		}
		if (apply_key(c, &keys[i], base, m, path, line, col, quiet)) {
			set |= 1u << bit;
		}
		bit++;
	}
	switch (s) {
	case S_STORE:
		check_store(c, set, m, path);
		break;
	case S_SENTINEL:
		check_sentinel(c, set, m, path, line, col);
		break;
	case S_HTTP:
		check_http(c, set, m, path);
		break;
	case S_SOURCE:
		check_source(c, base, set, m, path, line, col);
		break;
	case S_RECEIVER:
		check_receiver(c, base, set, m, path, line, col);
		break;
	case S_RULE:
		check_rule(c, base, set, m, path);
		break;
	case S_MATCH:
		check_match(c, base, set, m, path, line, col);
		break;
	case S_NONE:
	case S_TOP:
		break;
	}
	return set;
}

/*
 * Problems are found section by section (receivers before rules), but read
 * best in file order: a stable insertion sort of the entries from first.
 */
static void sort_problems(struct diag *d, size_t first)
{
	for (size_t i = first + 1; i < d->n; i++) {
		struct diag_entry e = d->entries[i];
		size_t j = i;

		while (j > first && (d->entries[j - 1].line > e.line ||
				     (d->entries[j - 1].line == e.line &&
				      d->entries[j - 1].col > e.col))) {
			d->entries[j] = d->entries[j - 1];
			j--;
		}
		d->entries[j] = e;
	}
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		return xstrdup(".");
	}
	if (slash == path) {
		return xstrdup("/");
	}
	return xstrndup(path, (size_t)(slash - path));
}

/* FNV-1a, 64 bits, over n bytes. */
static uint64_t fnv64(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h = (h ^ b[i]) * 1099511628211ULL;
	}
	return h;
}

/* Folds v (kind, scalars with their quoting, structure) into h. */
static uint64_t digest_value(uint64_t h, const struct yaml_value *v)
{
	unsigned char kind;
	uint64_t n;

	if (v == NULL) {
		return fnv64(h, "~", 1);
	}
	kind = (unsigned char)v->kind;
	h = fnv64(h, &kind, 1);
	switch (v->kind) {
	case YAML_VALUE_SCALAR:
		n = v->len;
		h = fnv64(h, &v->plain, sizeof(v->plain));
		h = fnv64(h, &n, sizeof(n));
		return fnv64(h, v->text, v->len);
	case YAML_VALUE_SEQ:
		n = v->n_items;
		h = fnv64(h, &n, sizeof(n));
		for (size_t i = 0; i < v->n_items; i++) {
			h = digest_value(h, v->items[i]);
		}
		return h;
	case YAML_VALUE_MAP:
		n = v->n_entries;
		h = fnv64(h, &n, sizeof(n));
		for (size_t i = 0; i < v->n_entries; i++) {
			n = strlen(v->entries[i].key);
			h = fnv64(h, &n, sizeof(n));
			h = fnv64(h, v->entries[i].key, n);
			h = digest_value(h, v->entries[i].value);
		}
		return h;
	}
	return h;
}

/* The fixed_digest of a parsed document (see config.h). */
static uint64_t fixed_digest(const struct yaml_value *root)
{
	static const char *const live[] = {"rules", "external_url",
					   "log_level"};
	uint64_t h = 14695981039346656037ULL;

	if (root == NULL || root->kind != YAML_VALUE_MAP) {
		return digest_value(h, root);
	}
	for (size_t i = 0; i < root->n_entries; i++) {
		const char *k = root->entries[i].key;
		bool skip = false;
		uint64_t n = strlen(k);

		for (size_t j = 0; j < sizeof(live) / sizeof(live[0]); j++) {
			skip = skip || strcmp(k, live[j]) == 0;
		}
		if (!skip) {
			h = fnv64(h, &n, sizeof(n));
			h = fnv64(h, k, n);
			h = digest_value(h, root->entries[i].value);
		}
	}
	return h;
}

/* The size limit, reported at the first byte past it: libyaml holds the
 * whole document and its events in memory, so the file is bounded first. */
static void too_large(const char *path, const char *text, struct diag *d)
{
	int line = 1;
	int col = 1;

	for (size_t i = 0; i < CONFIG_MAX_FILE_BYTES; i++) {
		if (text[i] == '\n') {
			line = line < INT_MAX ? line + 1 : line;
			col = 1;
		} else if (col < INT_MAX) {
			col++;
		}
	}
	diag_add(d, path, line, col, "file larger than %u MiB (%u bytes)",
		 CONFIG_MAX_FILE_BYTES >> 20, CONFIG_MAX_FILE_BYTES);
}

int config_parse(struct config *cfg, const char *path, const char *text,
		 size_t len, struct diag *d)
{
	struct config tmp;
	struct ctx c;
	struct yaml_value *root = NULL;
	size_t before = d->n + d->dropped;
	size_t first = d->n;

	memset(cfg, 0, sizeof(*cfg));
	memset(&tmp, 0, sizeof(tmp));
	if (len > CONFIG_MAX_FILE_BYTES) {
		too_large(path, text, d);
		return -1;
	}
	if (yaml_tree_parse(path, text, len, d, &root) < 0) {
		return -1;
	}
	tmp.path = xstrdup(path);
	tmp.dir = dir_of(path);
	c.file = path;
	c.d = d;
	c.cfg = &tmp;
	/* an empty document has no position: missing keys point at 1:1 */
	walk_map(&c, S_TOP, &tmp, root, "", 1, 1);
	tmp.fixed_digest = fixed_digest(root);
	yaml_value_free(root);
	if (d->n + d->dropped != before) {
		sort_problems(d, first);
		config_fini(&tmp);
		return -1;
	}
	*cfg = tmp;
	return 0;
}

int config_load(struct config *cfg, const char *path, struct diag *d)
{
	FILE *f;
	char *text = NULL;
	size_t len = 0;
	size_t cap = 0;
	size_t n;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	f = fopen(path, "rb");
	if (f == NULL) {
		diag_add(d, path, 0, 0, "cannot read: %s", strerror(errno));
		return -1;
	}
	/* One byte past the limit is read, no more: config_parse reports
	 * where the file crosses it. */
	while (len <= CONFIG_MAX_FILE_BYTES) {
		if (len == cap) {
			cap = cap == 0 ? 8192 : cap * 2;
			if (cap > CONFIG_MAX_FILE_BYTES + 1) {
				cap = CONFIG_MAX_FILE_BYTES + 1;
			}
			text = xrealloc(text, cap);
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0) {
			break;
		}
	}
	if (ferror(f)) {
		diag_add(d, path, 0, 0, "cannot read: %s", strerror(errno));
		goto fail;
	}
	fclose(f);
	rc = config_parse(cfg, path, text, len, d);
	free(text);
	return rc;
fail:
	fclose(f);
	free(text);
	return -1;
}

static void sentinel_fini(struct config_sentinel *sc)
{
	free(sc->master);
	for (size_t i = 0; i < sc->n_nodes; i++) {
		free(sc->nodes[i]);
	}
	free(sc->nodes);
	free(sc->password);
	free(sc->sentinel_password);
	memset(sc, 0, sizeof(*sc));
}

static void cluster_fini(struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_cluster; i++) {
		free(cfg->cluster[i]);
	}
	free(cfg->cluster);
	cfg->cluster = NULL;
	cfg->n_cluster = 0;
}

void config_fini(struct config *cfg)
{
	free(cfg->path);
	free(cfg->dir);
	free(cfg->redis_url);
	sentinel_fini(&cfg->sentinel);
	cluster_fini(cfg);
	free(cfg->prefix);
	free(cfg->snapshot_path);
	free(cfg->listen);
	free(cfg->token);
	free(cfg->log_level);
	free(cfg->external_url);
	for (size_t i = 0; i < cfg->n_sources; i++) {
		struct config_source *src = &cfg->sources[i];

		free(src->name);
		free(src->path);
		free(src->url);
		for (size_t j = 0; j < src->n_headers; j++) {
			free(src->headers[j].name);
			free(src->headers[j].value);
		}
		free(src->headers);
		free(src->token);
		free(src->token_file);
		free(src->fields.text);
		free(src->fields.id);
		free(src->fields.created_at);
		free(src->fields.lang);
		free(src->fields.author);
		free(src->fields.url);
		free(src->redis);
		free(src->stream);
		free(src->group);
		free(src->dedupe_scope);
		free(src->consumer);
	}
	free(cfg->sources);
	for (size_t i = 0; i < cfg->n_receivers; i++) {
		struct config_receiver *r = &cfg->receivers[i];

		free(r->name);
		free(r->url);
		free(r->secret);
		free(r->secret_file);
		free(r->template_name);
		free(r->from);
		for (size_t j = 0; j < r->n_to; j++) {
			free(r->to[j]);
		}
		free(r->to);
		free(r->username);
		free(r->password_file);
		for (size_t j = 0; j < r->n_headers; j++) {
			free(r->headers[j].name);
			free(r->headers[j].value);
		}
		free(r->headers);
	}
	free(cfg->receivers);
	for (size_t i = 0; i < cfg->n_rules; i++) {
		struct config_rule *r = &cfg->rules[i];

		free(r->name);
		for (size_t j = 0; j < r->n_any; j++) {
			free(r->any[j]);
		}
		free(r->any);
		free(r->query);
		for (size_t j = 0; j < r->n_lang; j++) {
			free(r->lang[j]);
		}
		free(r->lang);
		for (size_t j = 0; j < r->n_sources; j++) {
			free(r->sources[j]);
		}
		free(r->sources);
		query_free(r->match);
		free(r->notify);
		for (size_t j = 0; j < r->n_labels; j++) {
			free(r->labels[j].name);
			free(r->labels[j].value);
		}
		free(r->labels);
	}
	free(cfg->rules);
	memset(cfg, 0, sizeof(*cfg));
}

void config_use_embedded_store(struct config *cfg)
{
	free(cfg->redis_url);
	cfg->redis_url = NULL;
	sentinel_fini(&cfg->sentinel);
	cluster_fini(cfg);
}

long config_find_rule(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_rules; i++) {
		if (strcmp(cfg->rules[i].name, name) == 0) {
			return (long)i;
		}
	}
	return -1;
}

const char *config_source_scope(const struct config_source *s)
{
	return s->dedupe_scope != NULL ? s->dedupe_scope : s->name;
}

long config_find_receiver(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_receivers; i++) {
		if (cfg->receivers[i].name != NULL &&
		    strcmp(cfg->receivers[i].name, name) == 0) {
			return (long)i;
		}
	}
	return -1;
}

static const char *const type_names[] = {
	[T_STRING] = "string", [T_BOOL] = "bool",         [T_INT] = "int",
	[T_FLOAT] = "float",   [T_DURATION] = "duration", [T_SIZE] = "size",
	[T_ENUM] = "enum",     [T_LIST] = "list",         [T_MAP] = "map",
};

/* The dotted prefix of a section's keys in config_list_keys. */
static const char *section_prefix(enum sect s)
{
	switch (s) {
	case S_STORE:
		return "store.";
	case S_SENTINEL:
		return "store.sentinel.";
	case S_HTTP:
		return "http.";
	case S_SOURCE:
		return "sources[].";
	case S_RECEIVER:
		return "receivers[].";
	case S_RULE:
		return "rules[].";
	case S_MATCH:
		return "rules[].match.";
	case S_TOP:
	case S_NONE:
		break;
	}
	return "";
}

void config_list_keys(FILE *out)
{
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct key *k = &keys[i];
		char *name =
			xasprintf("%s%s", section_prefix(k->sect), k->name);

		fprintf(out, "%-26s %-8s %-16s %s%s\n", name,
			type_names[k->type],
			k->def != NULL          ? k->def
			: (k->flags & F_DETECT) ? "(detector)"
						: "-",
			k->help, (k->flags & F_REQUIRED) ? " (required)" : "");
		free(name);
	}
}
