# SPDX-License-Identifier: MIT
"""GET /metrics with sources, receivers and rule labels named with '"',
'\\', spaces, UTF-8 and newlines, and names of several KiB: `harkd --check`
takes the file, the page passes `promtool check metrics`, a strict parser
of the exposition format written here reads every line, and the exact
escaped label values are there with the counts they belong to."""

import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

PUSH = 'push "quoted" back\\slash\nsecond line, café ☕'
FILE = 'file \\ "x" 𝄞'
RECV_A = 'ops "team" \\ é'
RECV_B = 'line1\nline2 ☕ "'
# Names far past a line of 1 KiB, every 7th byte a '"' or a '\'.
LONG_SRC = "".join('"' if i % 14 == 6 else "\\" if i % 14 == 13 else "s"
                   for i in range(6000))
LONG_RECV = "r" * 5000 + '"\\\n' + "é" * 1000
RULE = "brand.v2-x_y"
LABEL = 'com "munity" \\ é x'  # labels must be one line (config)

FILE_LINES = 3
PUSHED = 5


def q(s):
    """A YAML double-quoted scalar: JSON's string syntax is one."""
    return json.dumps(s, ensure_ascii=False)


CONF = """\
http:
  listen: "127.0.0.1:@PORT@"
sources:
  - name: {push}
    type: http-push
  - name: {file}
    type: file
    path: mentions.ndjson
  - name: {long_src}
    type: file
    path: empty.ndjson
receivers:
  - name: {recv_a}
    type: log
  - name: {recv_b}
    type: log
  - name: {long_recv}
    type: log
rules:
  - name: {rule}
    match:
      any: ["blablacar"]
    labels:
      team: {label}
      "odd_label": {long_src}
    notify: [{recv_a}, {recv_b}, {long_recv}]
""".format(push=q(PUSH), file=q(FILE), long_src=q(LONG_SRC), recv_a=q(RECV_A),
           recv_b=q(RECV_B), long_recv=q(LONG_RECV), rule=q(RULE), label=q(LABEL))


def escape(v):
    """A label value as the exposition format writes it."""
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
VALUE = r"(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)"


def strict_parse(text):
    """The text format, version 0.0.4, strictly: every line a HELP, a TYPE
    or a sample of a declared family, label values with only the three
    escapes. Returns {(name, ((label, value), ...)): float}."""
    if not text.endswith("\n"):
        raise AssertionError("the page does not end with a newline")
    samples = {}
    types = {}
    helps = set()
    for no, line in enumerate(text[:-1].split("\n"), 1):
        where = "line %d: %r" % (no, line[:200])
        m = re.fullmatch(r"# HELP (%s) ((?:[^\\\n]|\\\\|\\n)*)" % NAME, line)
        if m:
            if m.group(1) in helps:
                raise AssertionError("second HELP, " + where)
            helps.add(m.group(1))
            continue
        m = re.fullmatch(r"# TYPE (%s) (counter|gauge|histogram|summary|untyped)" % NAME,
                         line)
        if m:
            if m.group(1) in types:
                raise AssertionError("second TYPE, " + where)
            types[m.group(1)] = m.group(2)
            continue
        if line.startswith("#") or line == "":
            raise AssertionError("not a HELP, TYPE or sample, " + where)
        m = re.match(NAME, line)
        if not m:
            raise AssertionError("no metric name, " + where)
        name, rest = m.group(0), line[m.end():]
        labels = []
        if rest.startswith("{"):
            rest = rest[1:]
            while True:
                lm = re.match(r'(%s)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"' % LABEL_NAME, rest)
                if not lm:
                    raise AssertionError("bad label, " + where)
                raw = lm.group(2)
                value = re.sub(r'\\(["\\n])',
                               lambda e: "\n" if e.group(1) == "n" else e.group(1), raw)
                labels.append((lm.group(1), value))
                rest = rest[lm.end():]
                if rest.startswith(","):
                    rest = rest[1:]
                    continue
                if rest.startswith("}"):
                    rest = rest[1:]
                    break
                raise AssertionError("expected ',' or '}', " + where)
        vm = re.fullmatch(r" (%s)(?: -?\d+)?" % VALUE, rest)
        if not vm:
            raise AssertionError("bad value, " + where)
        if name not in types:
            raise AssertionError("sample before its TYPE, " + where)
        key = (name, tuple(labels))
        if key in samples:
            raise AssertionError("duplicate series, " + where)
        samples[key] = float(vm.group(1))
    return samples


class Metrics(H.HarkTestCase):

    def test_odd_names(self):
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool not found: scripts/install-deps installs "
                                       "Debian's prometheus package")
        with open(os.path.join(self.tmp, "mentions.ndjson"), "w", encoding="utf-8") as f:
            for i in range(FILE_LINES):
                f.write(json.dumps({"id": "f%d" % i, "text": "blablacar from a file",
                                    "created_at": "2026-11-02T10:00:0%dZ" % i}) + "\n")
        open(os.path.join(self.tmp, "empty.ndjson"), "w").close()

        path = os.path.join(self.tmp, "check.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(CONF.replace("@PORT@", "0"))
        p = subprocess.run([H.HARK_BIN, "-c", path, "--check"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.tmp,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

        h = self.harkd(CONF)
        H.push(h.port, [json.dumps({"id": "p%d" % i, "text": "blablacar %d" % i,
                                    "created_at": "2026-11-02T10:01:0%dZ" % i})
                        for i in range(PUSHED)])
        H.wait_until(lambda: H.rule_info(h.port, RULE).get("matched_total")
                     == FILE_LINES + PUSHED, 30.0, 0.05, "every mention matched")
        status, headers, body = H.http_request(h.port, "GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertIn("version=0.0.4", headers.get("content-type", ""))
        text = body.decode("utf-8")  # strict: the page is UTF-8
        with open(os.path.join(self.tmp, "metrics.txt"), "wb") as f:
            f.write(body)

        pt = subprocess.run([promtool, "check", "metrics"], input=body,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual((pt.returncode, pt.stdout, pt.stderr), (0, b"", b""),
                         "promtool check metrics on %s/metrics.txt" % self.tmp)

        samples = strict_parse(text)
        lines = text.split("\n")

        # What every exporter has: the build, and the process's figures
        # (beside a real reading of /proc, not a constant).
        build = [k for k in samples if k[0] == "hark_build_info"]
        self.assertEqual(len(build), 1, build)
        labels = dict(build[0][1])
        self.assertEqual(samples[build[0]], 1.0)
        v = subprocess.run([H.HARK_BIN, "--version"], stdout=subprocess.PIPE,
                           text=True, timeout=30).stdout.split()[-1]
        self.assertEqual(labels["version"], v)
        self.assertRegex(labels["revision"], r"^([0-9a-f]{7,12}|unknown)$")
        with open("/proc/%d/statm" % h.proc.pid) as f:
            rss = int(f.read().split()[1]) * os.sysconf("SC_PAGESIZE")
        got = samples[("process_resident_memory_bytes", ())]
        self.assertTrue(0.5 * rss < got < 2 * rss, (got, rss))
        fds = len(os.listdir("/proc/%d/fd" % h.proc.pid))
        self.assertTrue(abs(samples[("process_open_fds", ())] - fds) <= 3,
                        (samples[("process_open_fds", ())], fds))
        self.assertGreater(samples[("process_max_fds", ())], fds)
        self.assertGreater(samples[("process_cpu_seconds_total", ())], 0)
        self.assertLess(abs(samples[("process_start_time_seconds", ())] - time.time()), 600)

        def exact(metric, labels, value):
            line = "%s{%s} %s" % (metric, ",".join('%s="%s"' % (k, escape(v))
                                                    for k, v in labels), value)
            self.assertIn(line, lines, "missing line %r" % line[:300])
            self.assertEqual(samples.get((metric, tuple(labels))), float(value))

        exact("hark_source_received_total", [("source", PUSH)], PUSHED)
        exact("hark_source_received_total", [("source", FILE)], FILE_LINES)
        exact("hark_source_received_total", [("source", LONG_SRC)], 0)
        self.assertIn('hark_source_received_total{source="push \\"quoted\\" back\\\\slash'
                      '\\nsecond line, café ☕"} %d' % PUSHED, lines)
        exact("hark_rule_matched_total", [("rule", RULE)], FILE_LINES + PUSHED)
        exact("hark_alerts_total", [("rule", RULE), ("status", "firing")], 0)
        for r in (RECV_A, RECV_B, LONG_RECV):
            exact("hark_deliveries_total", [("receiver", r), ("result", "sent")], 0)
            exact("hark_deliveries_total", [("receiver", r), ("result", "failed")], 0)
            exact("hark_outbox_pending", [("receiver", r)], 0)
            exact("hark_deadletter_total", [("receiver", r)], 0)
            exact("hark_outbox_full_total", [("receiver", r)], 0)
        # Every series of a name family is there once per configured name.
        self.assertEqual(
            sorted(dict(k[1])["source"] for k in samples
                   if k[0] == "hark_source_received_total"),
            sorted([PUSH, FILE, LONG_SRC]))
        self.stop(h)


if __name__ == "__main__":
    H.main()
