/* SPDX-License-Identifier: MIT */
/*
 * config + yaml: a table of broken configs, each with the exact message
 * (FILE:LINE:COL: key.path: problem) it must produce; defaults, ${VAR}
 * expansion, the DESIGN §4 example, and every YAML file under rules/.
 */
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "util/diag.h"

#include "check.h"

/* Lines 1-6 of most fixtures: two receivers, then the rules key. */
#define HEAD                                      \
	"receivers:\n"                            \
	"  - name: hook\n"                        \
	"    type: webhook\n"                     \
	"    url: \"https://example.org/hark\"\n" \
	"  - {name: log, type: log}\n"            \
	"rules:\n"

/* Lines 7-8: the start of rules[0]; fixtures go on at line 9. */
#define RULE0               \
	"  - name: brand\n" \
	"    match: {any: [blablacar]}\n"

struct bad_case {
	const char *name;
	const char *yaml;
	const char *msg; /* an entry formatted as diag_print writes it */
};

static const struct bad_case bad_cases[] = {
	{"duration in words",
	 "receivers:\n"
	 "  - {name: hook, type: webhook, url: \"https://example.org/\"}\n"
	 "rules:\n"
	 "  - name: brand\n"
	 "    match:\n"
	 "      any: [blablacar]\n"
	 "    notify: [hook]\n"
	 "    bucket: five minutes\n",
	 "x.yaml:8:13: rules[0].bucket: expected a number followed by a unit "
	 "(ms, s, m, h, d, w), e.g. 30s, 5m, 1h, got \"five minutes\""},
	{"duration without unit", HEAD RULE0 "    bucket: 5\n",
	 "x.yaml:9:13: rules[0].bucket: a duration needs a unit (ms, s, m, h, "
	 "d, w), e.g. 30s, 5m, 1h, got \"5\""},
	{"quoted duration without unit", HEAD RULE0 "    cooldown: \"30\"\n",
	 "x.yaml:9:15: rules[0].cooldown: a duration needs a unit"},
	{"unknown key with hint", HEAD RULE0 "    buckte: 5m\n",
	 "x.yaml:9:5: rules[0].buckte: unknown key (did you mean \"bucket\"?)"},
	{"unknown top-level key with hint", HEAD RULE0 "log_levle: debug\n",
	 "x.yaml:9:1: log_levle: unknown key (did you mean \"log_level\"?)"},
	{"unknown key without hint", HEAD RULE0 "    colour: red\n",
	 "x.yaml:9:5: rules[0].colour: unknown key (expected one of: name, "
	 "match, bucket, lateness, notify, direction, sensitivity, "
	 "false_alarms, min_count, min_excess, min_ratio, window, escalation, "
	 "cooldown, warmup, novelty, labels, samples)"},
	{"unknown store key", "store:\n  redis_url: redis://x\n" HEAD RULE0,
	 "x.yaml:2:3: store.redis_url: unknown key (expected one of: redis, "
	 "sentinel, cluster, prefix, timeout, flush_interval, retention, "
	 "snapshot, snapshot_interval)"},
	{"redis and sentinel",
	 "store:\n"
	 "  redis: redis://127.0.0.1:6379\n"
	 "  sentinel: {master: m, nodes: [\"127.0.0.1:26379\"]}\n" HEAD RULE0,
	 "x.yaml:3:13: store.sentinel: give one of store.redis and "
	 "store.sentinel, not both (a store talks to one Redis)"},
	{"sentinel and redis",
	 "store:\n"
	 "  sentinel: {master: m, nodes: [\"127.0.0.1:26379\"]}\n"
	 "  redis: redis://127.0.0.1:6379\n" HEAD RULE0,
	 "x.yaml:3:10: store.redis: give one of store.sentinel and "
	 "store.redis, not both (a store talks to one Redis)"},
	{"sentinel without master",
	 "store:\n"
	 "  sentinel:\n"
	 "    nodes: [\"127.0.0.1:26379\"]\n" HEAD RULE0,
	 "x.yaml:3:5: store.sentinel: missing required key \"master\""},
	{"sentinel with an empty master",
	 "store:\n"
	 "  sentinel: {master: \"\", nodes: [\"h:26379\"]}\n" HEAD RULE0,
	 "x.yaml:2:22: store.sentinel.master: must not be empty"},
	{"sentinel without nodes",
	 "store:\n"
	 "  sentinel: {master: mymaster}\n" HEAD RULE0,
	 "x.yaml:2:13: store.sentinel: missing required key \"nodes\" "
	 "(expected a list of HOST:PORT)"},
	{"sentinel with no node",
	 "store:\n"
	 "  sentinel: {master: mymaster, nodes: []}\n" HEAD RULE0,
	 "x.yaml:2:39: store.sentinel.nodes: must not be empty (expected at "
	 "least one HOST:PORT)"},
	{"sentinel node without port",
	 "store:\n"
	 "  sentinel:\n"
	 "    master: mymaster\n"
	 "    nodes:\n"
	 "      - \"10.0.0.1:26379\"\n"
	 "      - 10.0.0.2\n" HEAD RULE0,
	 "x.yaml:6:9: store.sentinel.nodes[1]: invalid sentinel address: "
	 "missing port (expected HOST:PORT, e.g. 10.0.0.1:26379 or "
	 "[::1]:26379)"},
	{"sentinel node as a URL",
	 "store:\n"
	 "  sentinel: {master: m, nodes: [\"redis://h:26379\"]}\n" HEAD RULE0,
	 "x.yaml:2:33: store.sentinel.nodes[0]: invalid sentinel address: "
	 "expected HOST:PORT, without a scheme, a password or a path"},
	{"sentinel unknown key",
	 "store:\n"
	 "  sentinel: {master: m, nodes: [\"h:1\"], pasword: x}\n" HEAD RULE0,
	 "x.yaml:2:41: store.sentinel.pasword: unknown key (did you mean "
	 "\"password\"?)"},
	{"sentinel db out of range",
	 "store:\n"
	 "  sentinel: {master: m, nodes: [\"h:1\"], db: -1}\n" HEAD RULE0,
	 "x.yaml:2:45: store.sentinel.db: out of range (expected from 0 to "
	 "2147483646, got \"-1\")"},
	{"redis-stream with sentinel and no url",
	 "store:\n"
	 "  sentinel: {master: m, nodes: [\"h:1\"]}\n"
	 "sources:\n"
	 "  - {name: q, type: redis-stream, stream: s}\n" HEAD RULE0,
	 "x.yaml:4:5: sources[0]: type redis-stream needs its own \"redis\" "
	 "URL with store.sentinel"},
	{"redis and cluster",
	 "store:\n"
	 "  redis: redis://127.0.0.1:6379\n"
	 "  cluster: [\"redis://127.0.0.1:7000\"]\n" HEAD RULE0,
	 "x.yaml:3:12: store.cluster: give one of store.redis and "
	 "store.cluster, not both (a store talks to one Redis)"},
	{"cluster and sentinel",
	 "store:\n"
	 "  cluster: [\"redis://127.0.0.1:7000\"]\n"
	 "  sentinel: {master: m, nodes: [\"127.0.0.1:26379\"]}\n" HEAD RULE0,
	 "x.yaml:3:13: store.sentinel: give one of store.cluster and "
	 "store.sentinel, not both (a store talks to one Redis)"},
	{"cluster with no seed",
	 "store:\n"
	 "  cluster: []\n" HEAD RULE0,
	 "x.yaml:2:12: store.cluster: must not be empty (expected at least "
	 "one redis://HOST:PORT)"},
	{"cluster seed as a bad URL",
	 "store:\n"
	 "  cluster: [\"redis://h:7000\", \"redis://h:70000\"]\n" HEAD RULE0,
	 "x.yaml:2:31: store.cluster[1]: invalid Redis URL: bad port "
	 "\"70000\""},
	{"cluster seed on a unix socket",
	 "store:\n"
	 "  cluster: [\"unix:///run/redis.sock\"]\n" HEAD RULE0,
	 "x.yaml:2:13: store.cluster[0]: invalid Redis URL: a cluster node is "
	 "reached over TCP (redis://HOST:PORT)"},
	{"cluster seed with a db",
	 "store:\n"
	 "  cluster: [\"redis://h:7000/1\"]\n" HEAD RULE0,
	 "x.yaml:2:13: store.cluster[0]: invalid Redis URL: Redis Cluster has "
	 "only database 0"},
	{"redis-stream with cluster and no url",
	 "store:\n"
	 "  cluster: [\"redis://h:7000\"]\n"
	 "sources:\n"
	 "  - {name: q, type: redis-stream, stream: s}\n" HEAD RULE0,
	 "x.yaml:4:5: sources[0]: type redis-stream needs its own \"redis\" "
	 "URL with store.cluster (a stream is read from one Redis, not "
	 "through the cluster)"},
	{"int as text", HEAD RULE0 "    min_count: abc\n",
	 "x.yaml:9:16: rules[0].min_count: not an integer (expected a whole "
	 "number, got \"abc\")"},
	{"int as float", HEAD RULE0 "    min_count: 2.5\n",
	 "x.yaml:9:16: rules[0].min_count: not an integer"},
	{"float as text", HEAD RULE0 "    sensitivity: high\n",
	 "x.yaml:9:18: rules[0].sensitivity: not a number (expected e.g. 2 or "
	 "2.5, got \"high\")"},
	{"bool as text",
	 "receivers:\n  - name: log\n    type: log\n    send_resolved: maybe\n"
	 "rules:\n" RULE0,
	 "x.yaml:4:20: receivers[0].send_resolved: not a boolean (expected "
	 "true, false, yes or no, got \"maybe\")"},
	{"bool as number",
	 "receivers:\n  - name: log\n    type: log\n    send_resolved: 1\n"
	 "rules:\n" RULE0,
	 "x.yaml:4:20: receivers[0].send_resolved: not a boolean"},
	{"map where a string goes",
	 HEAD "  - name: {first: brand}\n"
	      "    match: {any: [x]}\n",
	 "x.yaml:7:11: rules[0].name: wrong type (expected a string, got a "
	 "mapping)"},
	{"string where a map goes",
	 HEAD "  - name: brand\n"
	      "    match: blablacar\n",
	 "x.yaml:8:12: rules[0].match: wrong type (expected a mapping, got a "
	 "string)"},
	{"string where a list goes",
	 HEAD "  - name: brand\n"
	      "    match: {any: blablacar}\n",
	 "x.yaml:8:18: rules[0].match.any: wrong type (expected a list, got a "
	 "string)"},
	{"list where an int goes", HEAD RULE0 "    samples: [1, 2]\n",
	 "x.yaml:9:14: rules[0].samples: wrong type (expected an integer, got "
	 "a sequence)"},
	{"rules not a list", "rules: brand\n",
	 "x.yaml:1:8: rules: wrong type (expected a list, got a string)"},
	{"top level not a map", "- rules\n",
	 "x.yaml:1:1: wrong type (expected a mapping, got a sequence)"},
	{"sensitivity zero", HEAD RULE0 "    sensitivity: 0\n",
	 "x.yaml:9:18: rules[0].sensitivity: out of range (expected greater "
	 "than 0, got \"0\")"},
	{"min_ratio below one", HEAD RULE0 "    min_ratio: 0.5\n",
	 "x.yaml:9:16: rules[0].min_ratio: out of range (expected at least 1, "
	 "got \"0.5\")"},
	{"label name with a dash", HEAD RULE0 "    labels: {team-name: x}\n",
	 "x.yaml:9:14: rules[0].labels.team-name: invalid label name"},
	{"labels not a map", HEAD RULE0 "    labels: [a, b]\n",
	 "x.yaml:9:13: rules[0].labels: wrong type (expected a mapping of "
	 "label names to values, got a sequence)"},
	{"duplicate label", HEAD RULE0 "    labels: {team: a, team: b}\n",
	 "x.yaml:9:23: rules[0].labels.team: duplicate label"},
	{"samples over 50", HEAD RULE0 "    samples: 51\n",
	 "x.yaml:9:14: rules[0].samples: out of range (expected from 0 to 50, "
	 "got \"51\")"},
	{"negative min_count", HEAD RULE0 "    min_count: -1\n",
	 "x.yaml:9:16: rules[0].min_count: out of range (expected at least 0, "
	 "got \"-1\")"},
	/* the detection keys of the new detector */
	{"false_alarms as text", HEAD RULE0 "    false_alarms: rare\n",
	 "x.yaml:9:19: rules[0].false_alarms: not a number (expected e.g. 2 "
	 "or 2.5, got \"rare\")"},
	{"false_alarms zero", HEAD RULE0 "    false_alarms: 0\n",
	 "x.yaml:9:19: rules[0].false_alarms: out of range (expected greater "
	 "than 0 and at most 1000, got \"0\")"},
	{"false_alarms over 1000", HEAD RULE0 "    false_alarms: 1000.5\n",
	 "x.yaml:9:19: rules[0].false_alarms: out of range (expected greater "
	 "than 0 and at most 1000, got \"1000.5\")"},
	{"min_excess as float", HEAD RULE0 "    min_excess: 2.5\n",
	 "x.yaml:9:17: rules[0].min_excess: not an integer (expected a whole "
	 "number, got \"2.5\")"},
	{"negative min_excess", HEAD RULE0 "    min_excess: -3\n",
	 "x.yaml:9:17: rules[0].min_excess: out of range (expected at least "
	 "0, got \"-3\")"},
	{"escalation as a list", HEAD RULE0 "    escalation: [2]\n",
	 "x.yaml:9:17: rules[0].escalation: wrong type (expected a number, "
	 "got a sequence)"},
	{"escalation below one", HEAD RULE0 "    escalation: 0.9\n",
	 "x.yaml:9:17: rules[0].escalation: out of range (expected at least "
	 "1, got \"0.9\")"},
	{"novelty without unit", HEAD RULE0 "    novelty: 14\n",
	 "x.yaml:9:14: rules[0].novelty: a duration needs a unit (ms, s, m, "
	 "h, d, w), e.g. 30s, 5m, 1h, got \"14\""},
	{"novelty over 60 days", HEAD RULE0 "    novelty: 61d\n",
	 "x.yaml:9:14: rules[0].novelty: out of range (expected from 0ms to "
	 "60d, got \"61d\")"},
	{"window over 12", HEAD RULE0 "    window: 13\n",
	 "x.yaml:9:13: rules[0].window: out of range (expected from 1 to 12, "
	 "got \"13\")"},
	{"window zero", HEAD RULE0 "    window: 0\n",
	 "x.yaml:9:13: rules[0].window: out of range (expected from 1 to 12, "
	 "got \"0\")"},
	{"negative retries",
	 "receivers:\n  - {name: log, type: log, retries: -3}\nrules:\n" RULE0,
	 "x.yaml:2:37: receivers[0].retries: out of range (expected at least "
	 "0, got \"-3\")"},
	{"group_wait over an hour",
	 "receivers:\n  - {name: hook, type: webhook, url: \"http://x/\", "
	 "group_wait: 2h}\nrules:\n" RULE0,
	 "x.yaml:2:63: receivers[0].group_wait: out of range (expected from "
	 "0ms to 1h, got \"2h\")"},
	{"negative group_wait",
	 "receivers:\n  - {name: log, type: log, group_wait: "
	 "-5s}\nrules:\n" RULE0,
	 "x.yaml:2:40: receivers[0].group_wait: expected a number followed "
	 "by a unit (ms, s, m, h, d, w), e.g. 30s, 5m, 1h, got \"-5s\""},
	{"group_wait without unit",
	 "receivers:\n  - {name: log, type: log, group_wait: "
	 "30}\nrules:\n" RULE0,
	 "x.yaml:2:40: receivers[0].group_wait: a duration needs a unit"},
	{"repeat_interval in words",
	 "receivers:\n  - {name: log, type: log, repeat_interval: often}\n"
	 "rules:\n" RULE0,
	 "x.yaml:2:45: receivers[0].repeat_interval: expected a number "
	 "followed by a unit"},
	{"negative repeat_interval",
	 "receivers:\n  - {name: log, type: log, repeat_interval: -1h}\n"
	 "rules:\n" RULE0,
	 "x.yaml:2:45: receivers[0].repeat_interval: expected a number "
	 "followed by a unit (ms, s, m, h, d, w), e.g. 30s, 5m, 1h, got "
	 "\"-1h\""},
	{"bucket over a day", HEAD RULE0 "    bucket: 2d\n",
	 "x.yaml:9:13: rules[0].bucket: out of range (expected from 1s to 1d, "
	 "got \"2d\")"},
	{"bucket under a second", HEAD RULE0 "    bucket: 500ms\n",
	 "x.yaml:9:13: rules[0].bucket: out of range (expected from 1s to 1d"},
	{"bucket not dividing a day", HEAD RULE0 "    bucket: 7m\n",
	 "x.yaml:9:13: rules[0].bucket: must divide one day evenly (expected "
	 "e.g. 1m, 5m, 15m, 1h, got 7m)"},
	{"negative workers", "http:\n  workers: -1\n" HEAD RULE0,
	 "x.yaml:2:12: http.workers: out of range (expected from 0 to 256, "
	 "got \"-1\")"},
	{"flush_interval under 10ms",
	 "store:\n  flush_interval: 1ms\n" HEAD RULE0,
	 "x.yaml:2:19: store.flush_interval: out of range (expected from 10ms "
	 "to 1m, got \"1ms\")"},
	{"flush_interval not a duration",
	 "store:\n  flush_interval: often\n" HEAD RULE0,
	 "x.yaml:2:19: store.flush_interval:"},
	{"max_future over a day", "max_future: 2d\n" HEAD RULE0,
	 "x.yaml:1:13: max_future: out of range (expected from 0ms to 1d, "
	 "got \"2d\")"},
	{"workers not a number", "http:\n  workers: two\n" HEAD RULE0,
	 "x.yaml:2:12: http.workers: not an integer (expected a whole number, "
	 "got \"two\")"},
	{"max_connections zero", "http:\n  max_connections: 0\n" HEAD RULE0,
	 "x.yaml:2:20: http.max_connections: out of range (expected from 1 "
	 "to 100000, got \"0\")"},
	{"max_connections not a number",
	 "http:\n  max_connections: many\n" HEAD RULE0,
	 "x.yaml:2:20: http.max_connections: not an integer (expected a "
	 "whole number, got \"many\")"},
	{"idle_timeout too short", "http:\n  idle_timeout: 10ms\n" HEAD RULE0,
	 "x.yaml:2:17: http.idle_timeout: out of range (expected from 100ms "
	 "to 1h, got \"10ms\")"},
	{"idle_timeout without unit", "http:\n  idle_timeout: 60\n" HEAD RULE0,
	 "x.yaml:2:17: http.idle_timeout: "},
	{"header_timeout too long", "http:\n  header_timeout: 11m\n" HEAD RULE0,
	 "x.yaml:2:19: http.header_timeout: out of range (expected from 100ms "
	 "to 10m, got \"11m\")"},
	{"size without unit", "http:\n  max_body: 1024\n" HEAD RULE0,
	 "x.yaml:2:13: http.max_body: a size needs a unit (B, KB, KiB, MB, "
	 "MiB, GB, GiB), got \"1024\""},
	{"unknown receiver in notify", HEAD RULE0 "    notify: [hook, nope]\n",
	 "x.yaml:9:20: rules[0].notify[1]: unknown receiver \"nope\" (known: "
	 "hook, log)"},
	{"notify with no receivers",
	 "rules:\n" RULE0 "    notify:\n      - hook\n",
	 "x.yaml:5:9: rules[0].notify[0]: unknown receiver \"hook\" (known: "
	 "none defined)"},
	{"missing rules", "log_level: info\n",
	 "x.yaml:1:1: missing required key \"rules\""},
	{"empty document", "", "x.yaml:1:1: missing required key \"rules\""},
	{"empty rules", "rules: []\n",
	 "x.yaml:1:8: rules: must not be empty (expected at least one item)"},
	{"rule without match", HEAD "  - name: brand\n    bucket: 5m\n",
	 "x.yaml:7:5: rules[0]: missing required key \"match\""},
	{"rule without name", HEAD "  - match: {any: [x]}\n",
	 "x.yaml:7:5: rules[0]: missing required key \"name\""},
	{"rule with null name", HEAD "  - name:\n    match: {any: [x]}\n",
	 "x.yaml:7:5: rules[0].name: a value is required (expected a string)"},
	{"match without any", HEAD "  - name: brand\n    match: {}\n",
	 "x.yaml:8:12: rules[0].match: missing required key \"any\""},
	{"empty any", HEAD "  - name: brand\n    match: {any: []}\n",
	 "x.yaml:8:18: rules[0].match.any: must not be empty"},
	{"empty term",
	 HEAD "  - name: brand\n    match:\n      any:\n"
	      "        - blablacar\n        - \"\"\n",
	 "x.yaml:11:11: rules[0].match.any[1]: must not be empty"},
	{"bad rule name", HEAD "  - name: my brand\n    match: {any: [x]}\n",
	 "x.yaml:7:11: rules[0].name: invalid rule name (expected 1-100 "
	 "characters of A-Z a-z 0-9 _ . -, got \"my brand\")"},
	{"duplicate rule names",
	 HEAD RULE0 "  - name: other\n    match: {any: [x]}\n"
		    "  - name: brand\n    match: {any: [y]}\n",
	 "x.yaml:11:11: rules: duplicate name \"brand\" (already used by "
	 "rules[0])"},
	{"duplicate receiver names",
	 "receivers:\n  - {name: a, type: log}\n  - {name: a, type: log}\n"
	 "rules:\n" RULE0,
	 "x.yaml:3:12: receivers: duplicate name \"a\" (already used by "
	 "receivers[0])"},
	{"duplicate source names",
	 "sources:\n  - {name: push, type: http-push}\n"
	 "  - {name: push, type: file, path: x.ndjson}\nrules:\n" RULE0,
	 "x.yaml:3:12: sources: duplicate name \"push\" (already used by "
	 "sources[0])"},
	{"duplicate key", HEAD RULE0 "    bucket: 5m\n    bucket: 10m\n",
	 "x.yaml:10:5: rules[0].bucket: duplicate key (first at line 9)"},
	{"webhook without url",
	 "receivers:\n  - name: hook\n    type: webhook\nrules:\n" RULE0,
	 "x.yaml:2:5: receivers[0]: missing required key \"url\" (required "
	 "for type webhook)"},
	{"bad webhook url",
	 "receivers:\n  - name: hook\n    type: webhook\n"
	 "    url: ftp://example.org/x\nrules:\n" RULE0,
	 "x.yaml:4:10: receivers[0].url: invalid URL (expected http://... or "
	 "https://..., got \"ftp://...\")"},
	{"webhook url without host",
	 "receivers:\n  - {name: hook, type: webhook, url: \"https://\"}\n"
	 "rules:\n" RULE0,
	 "x.yaml:2:38: receivers[0].url: invalid URL"},
	{"url on a log receiver",
	 "receivers:\n  - {name: l, type: log, url: \"http://x\"}\n"
	 "rules:\n" RULE0,
	 "x.yaml:2:31: receivers[0].url: only valid for type webhook"},
	{"bad redis url",
	 "store:\n  redis: \"http://127.0.0.1:6379\"\n" HEAD RULE0,
	 "x.yaml:2:10: store.redis: invalid Redis URL: unknown scheme "
	 "(expected redis://[[user]:password@]host[:port][/db] or "
	 "unix:///path[?db=N])"},
	/* Accepted by --check before, refused at start with exit 3. */
	{"redis url with a bad db",
	 "store:\n  prefix: \"h:\"\n  redis: redis://host/abc\n" HEAD RULE0,
	 "x.yaml:3:10: store.redis: invalid Redis URL: bad database \"abc\" "
	 "after '/' (expected a number from 0 to 2147483646)"},
	{"redis url with a bad port, password not shown",
	 "store:\n  redis: \"redis://:hunter2@host:70000/1\"\n" HEAD RULE0,
	 "x.yaml:2:10: store.redis: invalid Redis URL: bad port \"70000\" "
	 "(expected 1-65535)"},
	{"redis url from the environment",
	 "store:\n  redis: \"${HARK_TEST_BAD_REDIS}\"\n" HEAD RULE0,
	 "x.yaml:2:10: store.redis: invalid Redis URL: a query is not valid "
	 "in a redis:// URL (give the database as a path: "
	 "redis://host:6379/1)"},
	{"redis-stream source with a bad url",
	 "sources:\n"
	 "  - name: s\n"
	 "    type: redis-stream\n"
	 "    stream: m\n"
	 "    redis: \"unix://run/redis.sock\"\n"
	 "rules:\n" RULE0,
	 "x.yaml:5:12: sources[0].redis: invalid Redis URL: the socket path "
	 "must be absolute (unix:///path.sock)"},
	{"redis-stream source with a bad url in flow style",
	 "sources:\n  - {name: s, type: redis-stream, stream: m, "
	 "redis: \"redis://h:0\"}\nrules:\n" RULE0,
	 "x.yaml:2:53: sources[0].redis: invalid Redis URL: bad port \"0\" "
	 "(expected 1-65535)"},
	{"bad listen address", "http:\n  listen: localhost\n" HEAD RULE0,
	 "x.yaml:2:11: http.listen: invalid address (expected HOST:PORT with "
	 "a port from 0 to 65535, got \"localhost\")"},
	{"listen port too big",
	 "http:\n  listen: \"127.0.0.1:65536\"\n" HEAD RULE0,
	 "x.yaml:2:11: http.listen: invalid address"},
	{"bad direction", HEAD RULE0 "    direction: sideways\n",
	 "x.yaml:9:16: rules[0].direction: invalid value (expected up, down "
	 "or both, got \"sideways\")"},
	{"bad source type",
	 "sources:\n  - name: s\n    type: kafka\nrules:\n" RULE0,
	 "x.yaml:3:11: sources[0].type: invalid value (expected http-push, "
	 "file, http-stream, sse or redis-stream, got \"kafka\")"},
	{"stream source without url",
	 "sources:\n  - name: s\n    type: sse\nrules:\n" RULE0,
	 "x.yaml:2:5: sources[0]: missing required key \"url\" (required for "
	 "type sse)"},
	{"stream url not http",
	 "sources:\n  - {name: s, type: http-stream, url: ftp://h/x}\n"
	 "rules:\n" RULE0,
	 "x.yaml:2:39: sources[0].url: expected an http:// or https:// URL"},
	{"key for another source type",
	 "sources:\n  - {name: s, type: file, path: a, url: http://h/}\n"
	 "rules:\n" RULE0,
	 "sources[0].url: not valid for type file"},
	{"start_at on a push source",
	 "sources:\n  - {name: s, type: http-push, start_at: end}\n"
	 "rules:\n" RULE0,
	 "x.yaml:2:42: sources[0].start_at: not valid for type http-push"},
	{"lease on a file source",
	 "sources:\n  - {name: s, type: file, path: a, lease: true}\n"
	 "rules:\n" RULE0,
	 "sources[0].lease: not valid for type file"},
	{"lease not a boolean",
	 "sources:\n  - {name: s, type: sse, url: http://h/, lease: "
	 "sometimes}\n"
	 "rules:\n" RULE0,
	 "sources[0].lease:"},
	{"claim_after on a stream source",
	 "sources:\n  - {name: s, type: sse, url: http://h/, claim_after: 5s}\n"
	 "rules:\n" RULE0,
	 "sources[0].claim_after: not valid for type sse"},
	{"claim_after too short",
	 "store:\n  redis: redis://127.0.0.1:6379/0\n"
	 "sources:\n  - {name: s, type: redis-stream, stream: m, "
	 "claim_after: 10ms}\n"
	 "rules:\n" RULE0,
	 "sources[0].claim_after:"},
	{"claim_after not a duration",
	 "store:\n  redis: redis://127.0.0.1:6379/0\n"
	 "sources:\n  - {name: s, type: redis-stream, stream: m, "
	 "claim_after: soon}\n"
	 "rules:\n" RULE0,
	 "sources[0].claim_after:"},
	{"bad start_at",
	 "sources:\n  - {name: s, type: file, path: a, start_at: middle}\n"
	 "rules:\n" RULE0,
	 "x.yaml:2:46: sources[0].start_at: invalid value (expected beginning, "
	 "end or resume"},
	{"bad json pointer",
	 "sources:\n  - name: s\n    type: http-stream\n    url: http://h/\n"
	 "    fields: {text: data/text}\nrules:\n" RULE0,
	 "sources[0].fields.text: not a JSON pointer"},
	{"fields without text",
	 "sources:\n  - name: s\n    type: http-stream\n    url: http://h/\n"
	 "    fields: {id: /id}\nrules:\n" RULE0,
	 "sources[0].fields: missing required field \"text\""},
	{"redis-stream without redis",
	 "sources:\n  - {name: s, type: redis-stream, stream: m}\n"
	 "rules:\n" RULE0,
	 "needs \"redis\" here or store.redis"},
	{"bad receiver type",
	 "receivers:\n  - {name: m, type: sms}\nrules:\n" RULE0,
	 "x.yaml:2:21: receivers[0].type: invalid value (expected webhook, "
	 "log, email or alertmanager, got \"sms\")"},
	{"email without recipients",
	 "receivers:\n  - {name: m, type: email, url: \"smtp://h:25\", "
	 "from: a@b}\nrules:\n" RULE0,
	 "receivers[0]: missing required key \"to\""},
	{"email with an http url",
	 "receivers:\n  - {name: m, type: email, url: \"http://h\", "
	 "from: a@b, to: [c@d]}\nrules:\n" RULE0,
	 "receivers[0].url: invalid URL (expected smtp://HOST:PORT"},
	{"bad starttls",
	 "receivers:\n  - {name: m, type: email, url: \"smtp://h\", "
	 "from: a@b, to: [c@d], starttls: maybe}\nrules:\n" RULE0,
	 "receivers[0].starttls: invalid value (expected required, optional "
	 "or never"},
	{"secret on an email receiver",
	 "receivers:\n  - {name: m, type: email, url: \"smtp://h\", "
	 "from: a@b, to: [c@d], secret: s}\nrules:\n" RULE0,
	 "receivers[0].secret: only valid for type webhook (got type email)"},
	{"secret and secret_file",
	 "receivers:\n  - {name: m, type: webhook, url: \"http://h\", "
	 "secret: s, secret_file: f}\nrules:\n" RULE0,
	 "give secret or secret_file, not both"},
	{"alertmanager without url",
	 "receivers:\n  - {name: m, type: alertmanager}\nrules:\n" RULE0,
	 "missing required key \"url\" (required for type alertmanager)"},
	{"bad log level", "log_level: verbose\n" HEAD RULE0,
	 "x.yaml:1:12: log_level: invalid value (expected error, warn, info or "
	 "debug, got \"verbose\")"},
	{"file source without path",
	 "sources:\n  - name: f\n    type: file\nrules:\n" RULE0,
	 "x.yaml:2:5: sources[0]: missing required key \"path\" (required for "
	 "type file)"},
	{"path on an http-push source",
	 "sources:\n  - name: p\n    type: http-push\n    path: /tmp/x\n"
	 "rules:\n" RULE0,
	 "x.yaml:4:11: sources[0].path: only valid for type file (got type "
	 "http-push)"},
	{"source without type", "sources:\n  - name: p\nrules:\n" RULE0,
	 "x.yaml:2:5: sources[0]: missing required key \"type\""},
	{"bad header name",
	 "receivers:\n  - name: hook\n    type: webhook\n"
	 "    url: https://x.org/\n    headers:\n      \"X Bad\": v\n"
	 "rules:\n" RULE0,
	 "x.yaml:6:7: receivers[0].headers.X Bad: invalid header name"},
	{"YAML syntax error", "rules:\n  - name: a: b\n",
	 "x.yaml:2:12: YAML syntax error: mapping values are not allowed in "
	 "this context"},
	{"YAML unclosed flow", HEAD "  - name: brand\n    match: {any: [x\n",
	 "YAML syntax error: "},
	{"YAML alias", "defaults: &d {bucket: 5m}\n" HEAD RULE0 "    <<: *d\n",
	 "x.yaml:10:9: YAML: aliases (*d) are not supported"},
	{"two documents", HEAD RULE0 "---\nrules: []\n",
	 "x.yaml:9:1: YAML: only one document is allowed"},
	{"bad variable reference", HEAD RULE0 "    bucket: ${1X}\n",
	 "x.yaml:9:13: rules[0].bucket: bad variable reference (expected "
	 "${NAME} or ${NAME:-default})"},
	{"unterminated variable", HEAD RULE0 "    bucket: ${X:-5m\n",
	 "x.yaml:9:13: rules[0].bucket: unterminated ${"},
	{"unset variable is empty",
	 HEAD RULE0 "    bucket: \"${HARK_TEST_SURELY_UNSET}\"\n",
	 "x.yaml:9:13: rules[0].bucket: empty duration, got \"\""},
};

static bool has_msg(const struct diag *d, const char *want)
{
	for (size_t i = 0; i < d->n; i++) {
		char *s = diag_format(d, i);
		bool hit = strstr(s, want) != NULL;

		free(s);
		if (hit) {
			return true;
		}
	}
	return false;
}

static int parse(struct config *cfg, const char *yaml, struct diag *d)
{
	return config_parse(cfg, "x.yaml", yaml, strlen(yaml), d);
}

static bool is_zeroed(const struct config *cfg)
{
	static const struct config zero;

	return memcmp(cfg, &zero, sizeof(zero)) == 0;
}

static void test_bad_cases(void)
{
	/* for "redis url from the environment" */
	setenv("HARK_TEST_BAD_REDIS", "redis://host:6379?db=1", 1);
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *bc = &bad_cases[i];
		struct config cfg;
		struct diag d;
		int rc;

		diag_init(&d);
		rc = parse(&cfg, bc->yaml, &d);
		CHECK_INT(rc, -1);
		CHECK(is_zeroed(&cfg));
		CHECK(d.n >= 1);
		if (!has_msg(&d, bc->msg)) {
			check_failed++;
			fprintf(stderr,
				"case \"%s\": no message like\n  %s\n"
				"got:\n",
				bc->name, bc->msg);
			diag_print(&d, stderr);
		} else {
			check_passed++;
		}
		/* every problem is located, in this file */
		for (size_t j = 0; j < d.n; j++) {
			CHECK(d.entries[j].line > 0 && d.entries[j].col > 0);
			CHECK_STR(d.entries[j].file, "x.yaml");
		}
		config_fini(&cfg);
		diag_fini(&d);
	}
}

/* A bad Redis URL is one exact problem, and never shows its password;
 * every form the daemon takes passes. */
static void test_redis_urls(void)
{
	static const char *const good[] = {
		"redis://127.0.0.1:6379/0",
		"redis://:s3cr%2Ft@[::1]:6380/15",
		"redis://alice:pw@redis.internal",
		"unix:///run/redis/redis.sock?db=2",
	};
	const char *bad = "store:\n  redis: \"redis://bob:hunter2@h/x\"\n"
			  "sources:\n  - {name: s, type: redis-stream, "
			  "stream: m, redis: \"redis://bob:hunter2@\"}\n"
			  "rules: [{name: a, match: {any: [x]}}]\n";
	struct config cfg;
	struct diag d;
	char *y;

	diag_init(&d);
	CHECK_INT(parse(&cfg, bad, &d), -1);
	CHECK_INT(d.n, 2);
	for (size_t i = 0; i < d.n; i++) {
		char *s = diag_format(&d, i);

		CHECK(strstr(s, "hunter2") == NULL);
		CHECK(strstr(s, "bob") == NULL);
		free(s);
	}
	CHECK(has_msg(&d, "x.yaml:2:10: store.redis: invalid Redis URL: "
			  "bad database \"x\" after '/'"));
	CHECK(has_msg(&d, "x.yaml:4:53: sources[0].redis: invalid Redis URL: "
			  "missing host"));
	diag_fini(&d);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		y = xasprintf("store: {redis: \"%s\"}\n"
			      "sources: [{name: s, type: redis-stream, "
			      "stream: m, redis: \"%s\"}]\n"
			      "rules: [{name: a, match: {any: [x]}}]\n",
			      good[i], good[i]);
		diag_init(&d);
		CHECK_INT(parse(&cfg, y, &d), 0);
		if (d.n > 0) {
			diag_print(&d, stderr);
		}
		CHECK_STR(cfg.redis_url, good[i]);
		config_fini(&cfg);
		diag_fini(&d);
		free(y);
	}
}

static void test_all_problems_reported(void)
{
	const char *yaml = HEAD RULE0 "    bucket: 5\n"
				      "    direction: sideways\n"
				      "    notify: [nope]\n"
				      "  - name: brand\n"
				      "    match: {any: [x]}\n"
				      "    colour: red\n"
				      "loglevel: debug\n";
	struct config cfg;
	struct diag d;

	diag_init(&d);
	CHECK_INT(parse(&cfg, yaml, &d), -1);
	CHECK_INT(d.n, 6);
	CHECK(has_msg(&d, "x.yaml:15:1: loglevel: unknown key (did you mean "
			  "\"log_level\"?)"));
	CHECK(has_msg(&d, "x.yaml:9:13: rules[0].bucket:"));
	CHECK(has_msg(&d, "x.yaml:10:16: rules[0].direction:"));
	CHECK(has_msg(&d, "x.yaml:11:14: rules[0].notify[0]:"));
	CHECK(has_msg(&d, "x.yaml:12:11: rules: duplicate name \"brand\""));
	CHECK(has_msg(&d, "x.yaml:14:5: rules[1].colour: unknown key"));
	/* in file order, though top-level keys are checked first */
	for (size_t i = 1; i < d.n; i++) {
		CHECK(d.entries[i - 1].line < d.entries[i].line);
	}
	config_fini(&cfg);
	diag_fini(&d);
}

/* A wrong type is one problem, not one more per key it lacks. */
static void test_one_problem_per_mistake(void)
{
	static const struct {
		const char *yaml;
		const char *msg;
	} cases[] = {
		{"rules:\n  - brand\n",
		 "x.yaml:2:5: rules[0]: wrong type (expected a mapping, got a "
		 "string)"},
		{"store: redis\nrules: [{name: a, match: {any: [x]}}]\n",
		 "x.yaml:1:8: store: wrong type (expected a mapping, got a "
		 "string)"},
		{"sources: [[]]\nrules: [{name: a, match: {any: [x]}}]\n",
		 "x.yaml:1:11: sources[0]: wrong type (expected a mapping, got "
		 "a sequence)"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config cfg;
		struct diag d;
		char *s;

		diag_init(&d);
		CHECK_INT(parse(&cfg, cases[i].yaml, &d), -1);
		CHECK_INT(d.n, 1);
		s = d.n > 0 ? diag_format(&d, 0) : xstrdup("");
		CHECK_STR(s, cases[i].msg);
		free(s);
		diag_fini(&d);
	}
}

static void test_defaults(void)
{
	const char *yaml = "rules:\n  - name: brand\n"
			   "    match: {any: [blablacar, \"bla bla car\"]}\n";
	struct config cfg;
	struct diag d;
	char *cwd = getcwd(NULL, 0);
	char *snap = xasprintf("%s/hark.snapshot", cwd);
	const struct config_rule *r;

	diag_init(&d);
	CHECK_INT(parse(&cfg, yaml, &d), 0);
	CHECK_INT(d.n, 0);
	CHECK_STR(cfg.path, "x.yaml");
	CHECK_STR(cfg.dir, ".");
	CHECK(cfg.redis_url == NULL);
	CHECK_STR(cfg.prefix, "hark:");
	CHECK_INT(cfg.store_timeout_ms, 2000);
	CHECK_INT(cfg.retention_ms, 8 * 86400000LL);
	CHECK_STR(cfg.snapshot_path, snap);
	CHECK_STR(cfg.listen, "127.0.0.1:8686");
	CHECK(cfg.token == NULL);
	CHECK_INT(cfg.max_body_bytes, 10 * 1048576);
	CHECK(!cfg.http_workers_set); /* one per core */
	CHECK_INT(cfg.max_future_ms, 5 * 60000);
	CHECK_INT(cfg.flush_interval_ms, 1000);
	CHECK_INT(cfg.http_max_connections, 1000);
	CHECK_INT(cfg.http_idle_timeout_ms, 60000);
	CHECK_INT(cfg.http_header_timeout_ms, 10000);
	CHECK_STR(cfg.log_level, "info");
	CHECK_INT(cfg.n_sources, 0);
	CHECK_INT(cfg.n_receivers, 0);
	CHECK_INT(cfg.n_rules, 1);
	r = &cfg.rules[0];
	CHECK_STR(r->name, "brand");
	CHECK_INT(r->n_any, 2);
	CHECK_STR(r->any[0], "blablacar");
	CHECK_STR(r->any[1], "bla bla car");
	CHECK_INT(r->bucket_ms, 300000);
	CHECK_INT(r->lateness_ms, 300000);
	CHECK_INT(r->n_notify, 0);
	CHECK_INT(r->direction, CONFIG_DIRECTION_UP);
	/* The detection keys left unset keep the detector's defaults: no
	 * value of the config's own (hark_detect_params skips them). */
	CHECK(!r->sensitivity_set);
	CHECK(!r->false_alarms_set);
	CHECK(!r->min_count_set);
	CHECK(!r->min_excess_set);
	CHECK(!r->min_ratio_set);
	CHECK(!r->window_set);
	CHECK(!r->escalation_set);
	CHECK(!r->cooldown_set);
	CHECK(!r->warmup_set);
	CHECK(!r->novelty_set);
	CHECK_DBL(r->sensitivity, 0, 0);
	CHECK_DBL(r->false_alarms, 0, 0);
	CHECK_INT(r->min_count, 0);
	CHECK_INT(r->min_excess, 0);
	CHECK_DBL(r->min_ratio, 0, 0);
	CHECK_INT(r->window, 0);
	CHECK_DBL(r->escalation, 0, 0);
	CHECK_INT(r->cooldown_ms, 0);
	CHECK_INT(r->warmup_ms, 0);
	CHECK_INT(r->novelty_ms, 0);
	CHECK_INT(r->samples, 5);
	config_fini(&cfg);
	CHECK(is_zeroed(&cfg));
	/* safe on a zeroed struct, so twice is fine */
	config_fini(&cfg);
	CHECK(is_zeroed(&cfg));
	diag_fini(&d);
	free(snap);
	free(cwd);
}

static void test_every_key(void)
{
	const char *yaml =
		"store:\n"
		"  redis: unix:///run/redis.sock\n"
		"  prefix: \"x:\"\n"
		"  timeout: 250ms\n"
		"  retention: 2w\n"
		"  snapshot: /var/lib/hark/snap\n"
		"http:\n"
		"  listen: \"[::1]:0\"\n"
		"  token: \"\"\n"
		"  max_body: 64KiB\n"
		"  workers: 0\n"
		"  max_connections: 20\n"
		"  idle_timeout: 5s\n"
		"  header_timeout: 1500ms\n"
		"sources:\n"
		"  - name: push\n"
		"    type: http-push\n"
		"    max_line: 4KiB\n"
		"  - name: tail\n"
		"    type: file\n"
		"    path: data/in.ndjson\n"
		"  - name: abs\n"
		"    type: file\n"
		"    path: /srv/in.ndjson\n"
		"receivers:\n"
		"  - name: log\n"
		"    type: log\n"
		"  - name: hook\n"
		"    type: webhook\n"
		"    url: http://127.0.0.1:9/x\n"
		"    timeout: 3s\n"
		"    retries: 0\n"
		"    send_resolved: yes\n"
		"    headers:\n"
		"      X-Team: community\n"
		"      Authorization: \"Bearer abc\"\n"
		"rules:\n"
		"  - name: brand.v2_x-y\n"
		"    match: {any: [a]}\n"
		"    bucket: 1h\n"
		"    lateness: 0s\n"
		"    notify: [hook, log]\n"
		"    direction: both\n"
		"    sensitivity: 2.5\n"
		"    false_alarms: 0.25\n"
		"    min_count: 0\n"
		"    min_excess: 7\n"
		"    min_ratio: 1\n"
		"    window: 12\n"
		"    escalation: 1\n"
		"    cooldown: 30m\n"
		"    warmup: 0s\n"
		"    novelty: 60d\n"
		"    labels: {severity: warning, team_1: community}\n"
		"    samples: 50\n"
		"  - name: quiet\n"
		"    match: {any: [b]}\n"
		"    bucket: 1d\n"
		"    direction: down\n"
		"log_level: debug\n";
	struct config cfg;
	struct diag d;
	const struct config_receiver *h;
	const struct config_rule *r;

	diag_init(&d);
	CHECK_INT(config_parse(&cfg, "/etc/hark/hark.yaml", yaml, strlen(yaml),
			       &d),
		  0);
	diag_print(&d, stderr);
	CHECK_STR(cfg.dir, "/etc/hark");
	CHECK_STR(cfg.redis_url, "unix:///run/redis.sock");
	CHECK_STR(cfg.prefix, "x:");
	CHECK_INT(cfg.store_timeout_ms, 250);
	CHECK_INT(cfg.retention_ms, 14 * 86400000LL);
	CHECK_STR(cfg.snapshot_path, "/var/lib/hark/snap");
	CHECK_STR(cfg.listen, "[::1]:0");
	CHECK_STR(cfg.token, "");
	CHECK_INT(cfg.max_body_bytes, 65536);
	CHECK(cfg.http_workers_set);
	CHECK_INT(cfg.http_workers, 0);
	CHECK_INT(cfg.http_max_connections, 20);
	CHECK_INT(cfg.http_idle_timeout_ms, 5000);
	CHECK_INT(cfg.http_header_timeout_ms, 1500);
	CHECK_STR(cfg.log_level, "debug");
	CHECK_INT(cfg.n_sources, 3);
	CHECK_INT(cfg.sources[0].type, CONFIG_SOURCE_HTTP_PUSH);
	CHECK(cfg.sources[0].path == NULL);
	CHECK_INT(cfg.sources[0].max_line_bytes, 4096);
	CHECK_INT(cfg.sources[1].type, CONFIG_SOURCE_FILE);
	CHECK_STR(cfg.sources[1].path, "/etc/hark/data/in.ndjson");
	CHECK_INT(cfg.sources[1].max_line_bytes, 1048576);
	CHECK_STR(cfg.sources[2].path, "/srv/in.ndjson");
	CHECK_INT(cfg.n_receivers, 2);
	CHECK_INT(cfg.receivers[0].type, CONFIG_RECEIVER_LOG);
	CHECK_INT(cfg.receivers[0].timeout_ms, 10000);
	CHECK_INT(cfg.receivers[0].retries, 5);
	CHECK(cfg.receivers[0].send_resolved); /* default: true */
	CHECK_INT(cfg.receivers[0].max_age_ms, 86400000);
	CHECK_INT(cfg.receivers[0].rate_limit_ms, 0);
	h = &cfg.receivers[1];
	CHECK_INT(h->type, CONFIG_RECEIVER_WEBHOOK);
	CHECK_STR(h->url, "http://127.0.0.1:9/x");
	CHECK_INT(h->timeout_ms, 3000);
	CHECK_INT(h->retries, 0);
	CHECK(h->send_resolved);
	CHECK_INT(h->n_headers, 2);
	CHECK_STR(h->headers[0].name, "X-Team");
	CHECK_STR(h->headers[0].value, "community");
	CHECK_STR(h->headers[1].name, "Authorization");
	CHECK_STR(h->headers[1].value, "Bearer abc");
	CHECK_INT(config_find_receiver(&cfg, "hook"), 1);
	CHECK_INT(config_find_receiver(&cfg, "log"), 0);
	CHECK_INT(config_find_receiver(&cfg, "nope"), -1);
	CHECK_INT(cfg.n_rules, 2);
	r = &cfg.rules[0];
	CHECK_STR(r->name, "brand.v2_x-y");
	CHECK_INT(r->bucket_ms, 3600000);
	CHECK_INT(r->lateness_ms, 0);
	CHECK_INT(r->n_notify, 2);
	CHECK_INT(r->notify[0], 1);
	CHECK_INT(r->notify[1], 0);
	CHECK_INT(r->direction, CONFIG_DIRECTION_BOTH);
	CHECK_DBL(r->sensitivity, 2.5, 0);
	CHECK_DBL(r->false_alarms, 0.25, 0);
	CHECK_INT(r->min_count, 0);
	CHECK_INT(r->min_excess, 7);
	CHECK_DBL(r->min_ratio, 1, 0);
	CHECK_INT(r->window, 12);
	CHECK_DBL(r->escalation, 1, 0);
	CHECK_INT(r->cooldown_ms, 1800000);
	CHECK_INT(r->warmup_ms, 0);
	CHECK_INT(r->novelty_ms, 60 * 86400000LL);
	/* set, even to 0 or to the bound: the rule's value, not the
	 * detector's */
	CHECK(r->sensitivity_set && r->false_alarms_set && r->min_count_set &&
	      r->min_excess_set && r->min_ratio_set && r->window_set &&
	      r->escalation_set && r->cooldown_set && r->warmup_set &&
	      r->novelty_set);
	CHECK_INT(r->samples, 50);
	CHECK_INT(r->n_labels, 2);
	CHECK_STR(r->labels[0].name, "severity");
	CHECK_STR(r->labels[0].value, "warning");
	CHECK_STR(r->labels[1].name, "team_1");
	CHECK_STR(r->labels[1].value, "community");
	r = &cfg.rules[1];
	CHECK(!r->sensitivity_set && !r->false_alarms_set &&
	      !r->min_count_set && !r->min_excess_set && !r->min_ratio_set &&
	      !r->window_set && !r->escalation_set && !r->cooldown_set &&
	      !r->warmup_set && !r->novelty_set);
	CHECK_INT(r->n_labels, 0);
	CHECK_INT(r->bucket_ms, 86400000);
	CHECK_INT(r->lateness_ms, 86400000);
	CHECK_INT(r->direction, CONFIG_DIRECTION_DOWN);
	config_fini(&cfg);
	diag_fini(&d);
}

static void test_env(void)
{
	const char *yaml =
		"store:\n"
		"  redis: \"${HARK_TEST_REDIS}\"\n"
		"  prefix: \"$${HARK_TEST_REDIS}$x$\"\n"
		"http:\n"
		"  token: ${HARK_TEST_UNSET}\n"
		"  listen: ${HARK_TEST_HOST:-0.0.0.0}:${HARK_TEST_PORT:-9}\n"
		"receivers:\n"
		"  - name: hook\n"
		"    type: webhook\n"
		"    url: https://${HARK_TEST_HOST:-x.org}/h\n"
		"rules:\n"
		"  - name: brand\n"
		"    match: {any: [\"${HARK_TEST_TERM}\"]}\n"
		"    bucket: ${HARK_TEST_BUCKET}\n"
		"    notify: [\"${HARK_TEST_RECV:-hook}\"]\n";
	struct config cfg;
	struct diag d;

	unsetenv("HARK_TEST_UNSET");
	unsetenv("HARK_TEST_RECV");
	setenv("HARK_TEST_REDIS", "redis://127.0.0.1:6390/1", 1);
	setenv("HARK_TEST_HOST", "", 1); /* empty takes the default too */
	setenv("HARK_TEST_PORT", "8787", 1);
	setenv("HARK_TEST_TERM", "bla bla car", 1);
	setenv("HARK_TEST_BUCKET", "15m", 1);
	diag_init(&d);
	CHECK_INT(parse(&cfg, yaml, &d), 0);
	diag_print(&d, stderr);
	CHECK_STR(cfg.redis_url, "redis://127.0.0.1:6390/1");
	CHECK_STR(cfg.prefix, "${HARK_TEST_REDIS}$x$");
	CHECK_STR(cfg.token, "");
	CHECK_STR(cfg.listen, "0.0.0.0:8787");
	CHECK_STR(cfg.receivers[0].url, "https://x.org/h");
	CHECK_STR(cfg.rules[0].any[0], "bla bla car");
	CHECK_INT(cfg.rules[0].bucket_ms, 900000);
	CHECK_INT(cfg.rules[0].n_notify, 1);
	config_fini(&cfg);

	/* the expanded value is what gets validated */
	setenv("HARK_TEST_BUCKET", "five", 1);
	CHECK_INT(parse(&cfg, yaml, &d), -1);
	CHECK(has_msg(&d, "x.yaml:14:13: rules[0].bucket: expected a number "
			  "followed by a unit (ms, s, m, h, d, w), e.g. 30s, "
			  "5m, 1h, got \"five\""));
	config_fini(&cfg);
	diag_fini(&d);

	/* an unset ${REDIS} means the embedded store */
	unsetenv("HARK_TEST_REDIS");
	setenv("HARK_TEST_BUCKET", "5m", 1);
	diag_init(&d);
	CHECK_INT(parse(&cfg, yaml, &d), 0);
	CHECK(cfg.redis_url == NULL);
	config_fini(&cfg);
	diag_fini(&d);
}

static void test_design_example(void)
{
	const char *yaml =
		"store:                      # omit the whole block: embedded\n"
		"  redis: \"redis://127.0.0.1:6379/0\"     # or unix://\n"
		"  prefix: \"hark:\"                       # default\n"
		"http:\n"
		"  listen: \"127.0.0.1:8686\"              # API\n"
		"  token: \"${HARK_TOKEN}\"                # optional\n"
		"sources:\n"
		"  - name: push\n"
		"    type: http-push                     # POST /v1/mentions\n"
		"receivers:\n"
		"  - name: hook\n"
		"    type: webhook\n"
		"    url: \"https://example.org/hark\"\n"
		"rules:\n"
		"  - name: brand\n"
		"    match:\n"
		"      any: [\"blablacar\", \"bla bla car\", \"#blablacar\", "
		"\"@blablacar\"]\n"
		"    bucket: 5m                          # durations\n"
		"    notify: [hook]\n";
	struct config cfg;
	struct diag d;

	setenv("HARK_TOKEN", "s3cret", 1);
	diag_init(&d);
	CHECK_INT(parse(&cfg, yaml, &d), 0);
	diag_print(&d, stderr);
	CHECK_STR(cfg.redis_url, "redis://127.0.0.1:6379/0");
	CHECK_STR(cfg.token, "s3cret");
	CHECK_INT(cfg.n_sources, 1);
	CHECK_STR(cfg.sources[0].name, "push");
	CHECK_INT(cfg.n_receivers, 1);
	CHECK_STR(cfg.receivers[0].url, "https://example.org/hark");
	CHECK_INT(cfg.n_rules, 1);
	CHECK_INT(cfg.rules[0].n_any, 4);
	CHECK_STR(cfg.rules[0].any[3], "@blablacar");
	CHECK_INT(cfg.rules[0].n_notify, 1);
	CHECK_INT(cfg.rules[0].notify[0], 0);
	config_fini(&cfg);
	unsetenv("HARK_TOKEN");
	CHECK_INT(parse(&cfg, yaml, &d), 0);
	CHECK_STR(cfg.token, "");
	config_fini(&cfg);
	diag_fini(&d);
}

static void test_load(void)
{
	const char *root = getenv("HARK_SOURCE_ROOT");
	struct config cfg;
	struct diag d;
	char *path;
	char *dir;
	char *want;
	char *s;

	diag_init(&d);
	CHECK_INT(config_load(&cfg, "/nonexistent/hark.yaml", &d), -1);
	CHECK(is_zeroed(&cfg));
	CHECK_INT(d.n, 1);
	s = d.n > 0 ? diag_format(&d, 0) : xstrdup("");
	CHECK_STR(s, "/nonexistent/hark.yaml: cannot read: No such file or "
		     "directory");
	free(s);
	diag_fini(&d);

	if (root == NULL) {
		printf("HARK_SOURCE_ROOT is not set (meson test sets it): "
		       "fixture files and rules/*.yaml not checked\n");
		return;
	}
	dir = xasprintf("%s/tests/unit/data/config", root);
	path = xasprintf("%s/good.yaml", dir);
	want = xasprintf("%s/mentions.ndjson", dir);
	diag_init(&d);
	CHECK_INT(config_load(&cfg, path, &d), 0);
	diag_print(&d, stderr);
	CHECK_STR(cfg.path, path);
	CHECK_STR(cfg.dir, dir);
	CHECK_INT(cfg.n_sources, 1);
	if (cfg.n_sources == 1) {
		CHECK_STR(cfg.sources[0].path, want);
	}
	config_fini(&cfg);
	diag_fini(&d);
	free(want);
	free(path);

	/* the broken twin reports with its path */
	path = xasprintf("%s/bad.yaml", dir);
	diag_init(&d);
	CHECK_INT(config_load(&cfg, path, &d), -1);
	want = xasprintf("%s:8:13: rules[0].bucket: ", path);
	CHECK(has_msg(&d, want));
	diag_fini(&d);
	free(want);
	free(path);
	free(dir);
}

static void test_rules_dir(void)
{
	const char *root = getenv("HARK_SOURCE_ROOT");
	char *pattern;
	glob_t g;
	size_t n = 0;

	if (root == NULL) {
		return;
	}
	pattern = xasprintf("%s/rules/*.yaml", root);
	if (glob(pattern, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			struct config cfg;
			struct diag d;

			diag_init(&d);
			if (config_load(&cfg, g.gl_pathv[i], &d) != 0) {
				fprintf(stderr, "%s does not load:\n",
					g.gl_pathv[i]);
				diag_print(&d, stderr);
				check_failed++;
			} else {
				check_passed++;
			}
			config_fini(&cfg);
			diag_fini(&d);
			n++;
		}
		globfree(&g);
	}
	printf("rules/*.yaml: %zu loaded\n", n);
	free(pattern);
}

static void test_list_keys(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	CHECK(f != NULL);
	if (f == NULL) {
		return;
	}
	config_list_keys(f);
	fclose(f);
	CHECK(strstr(text, "rules[].bucket") != NULL);
	CHECK(strstr(text, "store.timeout") != NULL);
	CHECK(strstr(text, "rules[].match.any") != NULL);
	/* the detection keys' defaults are the detector's */
	CHECK(strstr(text, "rules[].false_alarms") != NULL);
	CHECK(strstr(text, "(detector)") != NULL);
	free(text);
}

/* start_at: resume by default for a followed file, else beginning. */
static void test_start_at(void)
{
	const char *yaml =
		"sources:\n"
		"  - {name: plain, type: file, path: a}\n"
		"  - {name: tail, type: file, path: b, follow: true}\n"
		"  - {name: tail_end, type: file, path: c, follow: true, "
		"start_at: end}\n"
		"  - {name: plain_resume, type: file, path: d, "
		"start_at: resume}\n"
		"  - {name: again, type: file, path: e, follow: true, "
		"start_at: beginning}\n"
		"rules:\n" RULE0;
	struct config cfg;
	struct diag d;

	diag_init(&d);
	CHECK_INT(parse(&cfg, yaml, &d), 0);
	if (d.n > 0) {
		diag_print(&d, stderr);
	}
	CHECK_INT(cfg.n_sources, 5);
	if (cfg.n_sources == 5) {
		CHECK_INT(cfg.sources[0].start_at, CONFIG_START_BEGINNING);
		CHECK_INT(cfg.sources[1].start_at, CONFIG_START_RESUME);
		CHECK_INT(cfg.sources[2].start_at, CONFIG_START_END);
		CHECK_INT(cfg.sources[3].start_at, CONFIG_START_RESUME);
		CHECK_INT(cfg.sources[4].start_at, CONFIG_START_BEGINNING);
	}
	config_fini(&cfg);
	diag_fini(&d);
}

/* The lifecycle keys of a receiver: repeat_interval and group_wait. */
static void test_lifecycle_keys(void)
{
	const char *yaml =
		"receivers:\n"
		"  - {name: plain, type: webhook, url: \"http://x/\"}\n"
		"  - name: grouped\n"
		"    type: webhook\n"
		"    url: \"http://x/\"\n"
		"    repeat_interval: 4h\n"
		"    group_wait: 30s\n"
		"  - {name: zero, type: log, group_wait: 0s, "
		"repeat_interval: 0s}\n"
		"rules:\n" RULE0;
	struct config cfg;
	struct diag d;

	diag_init(&d);
	CHECK_INT(parse(&cfg, yaml, &d), 0);
	if (d.n > 0) {
		diag_print(&d, stderr);
	}
	CHECK_INT(cfg.n_receivers, 3);
	if (cfg.n_receivers == 3) {
		/* Defaults: never repeat, never group. */
		CHECK_INT(cfg.receivers[0].repeat_interval_ms, 0);
		CHECK_INT(cfg.receivers[0].group_wait_ms, 0);
		CHECK_INT(cfg.receivers[1].repeat_interval_ms, 4 * 3600000LL);
		CHECK_INT(cfg.receivers[1].group_wait_ms, 30000);
		CHECK_INT(cfg.receivers[2].repeat_interval_ms, 0);
		CHECK_INT(cfg.receivers[2].group_wait_ms, 0);
	}
	config_fini(&cfg);
	diag_fini(&d);
}

/* fixed_digest: the same for files that differ in rules, external_url and
 * log_level only; different when anything a reload cannot swap differs. */
static uint64_t digest_of(const char *yaml)
{
	struct config cfg;
	struct diag d;
	uint64_t v = 0;

	diag_init(&d);
	if (parse(&cfg, yaml, &d) == 0) {
		v = cfg.fixed_digest;
		config_fini(&cfg);
	} else {
		CHECK(!"digest_of: the config must parse");
	}
	diag_fini(&d);
	return v;
}

static void test_fixed_digest(void)
{
	static const char base[] =
		"http:\n  listen: 127.0.0.1:1\n"
		"sources:\n  - name: p\n    type: http-push\n"
		"receivers:\n  - name: l\n    type: log\n"
		"rules:\n  - name: a\n    match:\n      any: [x]\n"
		"    notify: [l]\n";
	uint64_t d0 = digest_of(base);
	char *other;

	CHECK(d0 != 0);
	CHECK(digest_of(base) == d0);
	other = xasprintf("log_level: debug\nexternal_url: http://x/{rule}\n%s"
			  "  - name: b\n    match:\n      query: 'y OR z'\n"
			  "    sensitivity: 3\n",
			  base);
	CHECK(digest_of(other) == d0);
	free(other);
	other = xasprintf("%s", base);
	other[strlen("http:\n  listen: 127.0.0.1:")] = '2';
	CHECK(digest_of(other) != d0);
	free(other);
	other = xasprintf("store:\n  prefix: other\n%s", base);
	CHECK(digest_of(other) != d0);
	free(other);
	other = xasprintf("%s", base);
	memcpy(strstr(other, "name: l"), "name: m", 7);
	memcpy(strstr(other, "notify: [l]"), "notify: [m]", 11);
	CHECK(digest_of(other) != d0);
	free(other);
}

/* The parser's own bounds: nesting (libyaml's events are walked with a
 * fixed stack) and size (the file is held whole), each reported at the
 * position where it is crossed. */
static void test_bounds(void)
{
	struct config cfg;
	struct diag d;
	char yaml[256];
	size_t big = (64u << 20) + 1;
	char *text;
	int o;

	/* the root mapping and 63 sequences: 64 levels, past the parser */
	o = snprintf(yaml, sizeof(yaml), "x: ");
	for (int i = 0; i < 63; i++) {
		yaml[o++] = '[';
	}
	for (int i = 0; i < 63; i++) {
		yaml[o++] = ']';
	}
	yaml[o] = '\0';
	diag_init(&d);
	CHECK_INT(parse(&cfg, yaml, &d), -1);
	CHECK(!has_msg(&d, "nesting"));
	CHECK(has_msg(&d, "x.yaml:1:1: x: unknown key"));
	diag_fini(&d);
	/* one more: the 64th '[' (column 67) is the 65th level */
	o = snprintf(yaml, sizeof(yaml), "x: ");
	for (int i = 0; i < 64; i++) {
		yaml[o++] = '[';
	}
	for (int i = 0; i < 64; i++) {
		yaml[o++] = ']';
	}
	yaml[o] = '\0';
	diag_init(&d);
	CHECK_INT(parse(&cfg, yaml, &d), -1);
	CHECK(is_zeroed(&cfg));
	CHECK(has_msg(&d, "x.yaml:1:67: YAML: nesting deeper than 64 levels"));
	diag_fini(&d);

	/* 64 MiB of comment lines and one byte more */
	text = malloc(big);
	for (size_t i = 0; i + 1 < big; i += 2) {
		text[i] = '#';
		text[i + 1] = '\n';
	}
	text[big - 1] = '#';
	diag_init(&d);
	CHECK_INT(config_parse(&cfg, "x.yaml", text, big, &d), -1);
	CHECK(is_zeroed(&cfg));
	CHECK(has_msg(&d, "x.yaml:33554433:1: file larger than 64 MiB "
			  "(67108864 bytes)"));
	diag_fini(&d);
	free(text);
}

/* A whole sentinel block, and what its absence leaves. */
static void test_sentinel(void)
{
	const char *yaml = "store:\n"
			   "  sentinel:\n"
			   "    master: mymaster\n"
			   "    nodes: [\"10.0.0.1:26379\", \"[::1]:26380\",\n"
			   "            \"sentinel-3.internal:26379\"]\n"
			   "    password: \"${HARK_TEST_SENTINEL_PW}\"\n"
			   "    sentinel_password: s3\n"
			   "    db: 2\n"
			   "  timeout: 500ms\n"
			   "sources:\n"
			   "  - {name: q, type: redis-stream, stream: s,\n"
			   "     redis: \"redis://10.0.0.9:6379\"}\n"
			   "rules: [{name: a, match: {any: [x]}}]\n";
	struct config cfg;
	struct diag d;

	setenv("HARK_TEST_SENTINEL_PW", "data-pw", 1);
	diag_init(&d);
	CHECK_INT(parse(&cfg, yaml, &d), 0);
	if (d.n > 0) {
		diag_print(&d, stderr);
	}
	CHECK(cfg.redis_url == NULL);
	CHECK_STR(cfg.sentinel.master, "mymaster");
	CHECK_INT(cfg.sentinel.n_nodes, 3);
	CHECK_STR(cfg.sentinel.nodes[0], "10.0.0.1:26379");
	CHECK_STR(cfg.sentinel.nodes[1], "[::1]:26380");
	CHECK_STR(cfg.sentinel.nodes[2], "sentinel-3.internal:26379");
	CHECK_STR(cfg.sentinel.password, "data-pw");
	CHECK_STR(cfg.sentinel.sentinel_password, "s3");
	CHECK_INT(cfg.sentinel.db, 2);
	CHECK_INT(cfg.store_timeout_ms, 500);
	config_use_embedded_store(&cfg);
	CHECK(cfg.redis_url == NULL && cfg.sentinel.master == NULL &&
	      cfg.sentinel.n_nodes == 0);
	config_fini(&cfg);
	diag_fini(&d);

	/* an unset password variable is no password, like store.redis */
	unsetenv("HARK_TEST_SENTINEL_PW");
	diag_init(&d);
	CHECK_INT(parse(&cfg, yaml, &d), 0);
	CHECK(cfg.sentinel.password == NULL);
	config_fini(&cfg);
	diag_fini(&d);

	diag_init(&d);
	CHECK_INT(parse(&cfg, "rules: [{name: a, match: {any: [x]}}]\n", &d),
		  0);
	CHECK(cfg.sentinel.master == NULL && cfg.sentinel.nodes == NULL);
	CHECK_INT(cfg.sentinel.db, 0);
	config_fini(&cfg);
	diag_fini(&d);
}

/* store.cluster: its seeds as written; the embedded store drops them. */
static void test_cluster(void)
{
	const char *yaml = "store:\n"
			   "  cluster:\n"
			   "    - \"redis://:pw@10.0.0.1:7000\"\n"
			   "    - \"redis://[::1]:7001\"\n"
			   "rules: [{name: a, match: {any: [x]}}]\n";
	struct config cfg;
	struct diag d;

	diag_init(&d);
	CHECK_INT(parse(&cfg, yaml, &d), 0);
	if (d.n > 0) {
		diag_print(&d, stderr);
	}
	CHECK(cfg.redis_url == NULL && cfg.sentinel.master == NULL);
	CHECK_INT(cfg.n_cluster, 2);
	CHECK_STR(cfg.cluster[0], "redis://:pw@10.0.0.1:7000");
	CHECK_STR(cfg.cluster[1], "redis://[::1]:7001");
	config_use_embedded_store(&cfg);
	CHECK(cfg.cluster == NULL && cfg.n_cluster == 0);
	config_fini(&cfg);
	diag_fini(&d);
}

int main(void)
{
	test_bad_cases();
	test_sentinel();
	test_cluster();
	test_redis_urls();
	test_all_problems_reported();
	test_one_problem_per_mistake();
	test_defaults();
	test_lifecycle_keys();
	test_start_at();
	test_every_key();
	test_env();
	test_design_example();
	test_load();
	test_rules_dir();
	test_list_keys();
	test_fixed_digest();
	test_bounds();
	return check_done();
}
