# SPDX-License-Identifier: MIT
"""harkd --check and start-up with bad configs: FILE:LINE:COL problems,
hints for unknown keys, unknown receivers, a non-zero exit without ever
listening; every shipped rules/*.yaml validates. `hark check` prints the
detection settings a rule gets (its keys, the detector's defaults for the
others), and `hark replay --counts` keeps its columns, with --explain
adding reason, threshold and span."""

import csv
import glob
import io
import math
import os
import random
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

GOOD = """\
store:
  prefix: "hark:"
http:
  listen: "127.0.0.1:8686"
  max_body: "64KiB"
sources:
  - name: push
    type: http-push
receivers:
  - name: hook
    type: webhook
    url: "http://127.0.0.1:9/hook"
    timeout: 2s
    retries: 3
    headers:
      X-Team: community
  - name: log
    type: log
rules:
  - name: brand
    match:
      any: ["blablacar", "bla bla car", "#blablacar", "@blablacar"]
    bucket: 5m
    notify: [hook, log]
    direction: up
    sensitivity: 5
    min_count: 10
    min_ratio: 3
    cooldown: 1h
    warmup: 1d
    samples: 5
log_level: info
"""

# Line 8 is the bad duration.
BAD_REDIS_URLS = """\
store:
  redis: "@STORE@"
sources:
  - name: stream
    type: redis-stream
    stream: mentions
    # the source's own Redis, on line 8
    redis: "@SOURCE@"
rules:
  - name: brand
    match:
      any: [blablacar]
"""

BAD_BUCKET = """\
receivers:
  - name: hook
    type: log
rules:
  - name: brand
    match:
      any: ["blablacar", "bla bla car"]
    bucket: five minutes
    notify: [hook]
"""

UNKNOWN_KEY = """\
receivers:
  - name: hook
    type: log
rules:
  - name: brand
    match:
      any: ["blablacar"]
    buckte: 5m
    notify: [hook]
"""

UNKNOWN_RECEIVER = """\
receivers:
  - name: hook
    type: log
rules:
  - name: brand
    match:
      any: ["blablacar"]
    notify: [hook, nope]
"""


# Three rules of one bucket: one that leaves every detection key to the
# detector, one that sets them all, one with a fixed score.
DETECTION = """\
receivers:
  - name: log
    type: log
rules:
  - name: bare
    match: {any: [blablacar]}
    bucket: 5m
    notify: [log]
  - name: tuned
    match: {any: [blablacar]}
    bucket: 5m
    direction: both
    false_alarms: 0.5
    min_count: 4
    min_excess: 6
    min_ratio: 1.5
    window: 3
    escalation: 2.5
    cooldown: 2h
    warmup: 3h
    novelty: 14d
  - name: fixed
    match: {any: [blablacar]}
    bucket: 5m
    sensitivity: 3
"""

REPLAY_COLUMNS = ["timestamp", "value", "baseline", "score", "alert"]
EXPLAIN_COLUMNS = REPLAY_COLUMNS + ["reason", "threshold", "span"]
REASONS = {"warming", "normal", "guard", "bursts", "novelty", "cooldown", "fired",
           "escalated", "firing", "resolved"}


def count_series(days=9, seed=7):
    """A 5-minute count series with a day/night rhythm and Poisson noise,
    and a 40-minute burst on the last afternoon: CSV text."""
    rng = random.Random(seed)
    out = io.StringIO()
    out.write("timestamp,value\n")
    for i in range(days * 288):
        t = H.START_2026_11_01 + i * 300
        lam = 5 * H.brand_rate((i % 288) * 5)
        if i // 288 == days - 1 and 14 * 12 <= i % 288 < 14 * 12 + 8:
            lam *= 6
        out.write("%s,%d\n" % (H.rfc3339(t), H.poisson(rng, lam)))
    return out.getvalue()


class ConfigCli(H.HarkTestCase):

    def cli(self, *args):
        p = subprocess.run([H.HARK_CLI] + list(args), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, cwd=self.tmp, timeout=300)
        self.assertEqual([l for l in (p.stdout + p.stderr).splitlines()
                          if any(m in l for m in H.SANITIZER_MARKERS)], [], p.stderr)
        return p.returncode, p.stdout, p.stderr

    def replay(self, csv_path, *args):
        rc, out, err = self.cli("replay", "--counts", csv_path, "--bucket", "5m", *args)
        self.assertEqual(rc, 0, err)
        return list(csv.reader(io.StringIO(out)))

    def test_check_prints_effective_settings(self):
        """Keys the rule sets are shown as set; the others are the
        detector's defaults, the same for every rule that leaves them."""
        path = self.write("detect.yaml", DETECTION)
        rc, out, err = self.cli("check", path)
        self.assertEqual(rc, 0, err)
        lines = {l.split(":", 1)[0]: l for l in out.splitlines() if l.startswith("rule ")}
        bare, tuned, fixed = lines["rule bare"], lines["rule tuned"], lines["rule fixed"]
        for key in ("direction", "sensitivity", "false_alarms", "min_count", "min_excess",
                    "min_ratio", "window", "escalation", "cooldown", "warmup", "novelty"):
            self.assertRegex(bare, r" %s=\S+" % key, bare)
        self.assertIn(" sensitivity=auto ", bare)
        self.assertIn(" direction=up ", bare)
        for part in ("direction=both", "sensitivity=auto", "false_alarms=0.5",
                     "min_count=4", "min_excess=6", "min_ratio=1.5", "window=3",
                     "escalation=2.5", "cooldown=2h", "warmup=3h", "novelty=14d"):
            self.assertIn(" " + part, tuned, tuned)
        self.assertIn(" sensitivity=3 ", fixed)

        def settings(line):
            return dict(kv.split("=", 1) for kv in line.split() if "=" in kv and
                        not kv.startswith("match("))
        # "fixed" sets only the score: everything else as "bare" has it.
        b, f = settings(bare), settings(fixed)
        for k in ("sensitivity", "notify"):
            b.pop(k)
            f.pop(k)
        self.assertEqual(b, f)

    def test_replay_counts_columns(self):
        """Without --explain the five columns stay as they were; with it,
        reason, threshold and span follow, and alert is 1 exactly on the
        rows that fire (escalations included)."""
        data = self.write("counts.csv", count_series())
        rows = self.replay(data)
        self.assertEqual(rows[0], REPLAY_COLUMNS)
        self.assertTrue(all(len(r) == 5 for r in rows[1:]))
        self.assertEqual(len(rows) - 1, 9 * 288)
        ex = self.replay(data, "--explain")
        self.assertEqual(ex[0], EXPLAIN_COLUMNS)
        self.assertEqual(len(ex), len(rows))
        for plain, full in zip(rows[1:], ex[1:]):
            self.assertEqual(full[:5], plain, "--explain changed the first columns")
            reason, threshold, span = full[5], float(full[6]), int(full[7])
            self.assertIn(reason, REASONS, full)
            self.assertTrue(math.isfinite(threshold), full)
            self.assertTrue(0 <= span <= 288, full)
            self.assertEqual(full[4] == "1", reason in ("fired", "escalated"), full)
        # Counting began with the first row: warming from there, and not
        # after the detector's warmup.
        self.assertEqual(ex[1][5], "warming")
        self.assertTrue(any(r[5] != "warming" for r in ex[1:]), "never warm")

        rc, _, err = self.cli("replay", "--explain", "-c", self.write("d.yaml", DETECTION),
                              data)
        self.assertEqual(rc, 2, "--explain needs --counts")
        rc, out, _ = self.cli("--help")
        self.assertEqual(rc, 0)
        self.assertIn("--explain", out)
        self.assertIn("reason", out)

    def test_unset_keys_keep_the_detector_defaults(self):
        """A rule that sets no detection key runs exactly the detector's
        defaults (the same rows as replay without a config); one that sets
        sensitivity scores against it."""
        data = self.write("counts.csv", count_series(seed=11))
        conf = self.write("detect.yaml", DETECTION)
        default = self.replay(data, "--explain")
        bare = self.replay(data, "--explain", "-c", conf, "--rule", "bare")
        self.assertEqual(bare, default)
        fixed = self.replay(data, "--explain", "-c", conf, "--rule", "fixed")
        self.assertNotEqual(fixed, default)
        normal = [r for r in fixed[1:] if r[5] == "normal"]
        self.assertTrue(normal, "no normal row")
        for r in normal:
            self.assertEqual(float(r[6]), 3.0, r)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def check(self, path, cwd=None):
        """harkd -c path --check → (exit code, stdout + stderr)."""
        p = subprocess.run([H.HARK_BIN, "-c", path, "--check"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           cwd=cwd or self.tmp, timeout=60)
        out = p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")
        self.assertEqual([l for l in out.splitlines()
                          if any(m in l for m in H.SANITIZER_MARKERS)], [], out)
        return p.returncode, out

    def test_bad_duration_line(self):
        path = self.write("bad.yaml", BAD_BUCKET)
        self.assertEqual(BAD_BUCKET.splitlines()[7].strip(), "bucket: five minutes")
        rc, out = self.check(path)
        self.assertNotEqual(rc, 0, out)
        self.assertIn("bad.yaml:8:", out)
        self.assertRegex(out, r"bad\.yaml:8:\d+: .*bucket")

    def test_unknown_key_hint(self):
        path = self.write("typo.yaml", UNKNOWN_KEY)
        rc, out = self.check(path)
        self.assertNotEqual(rc, 0, out)
        self.assertIn("typo.yaml:8:", out)
        self.assertIn("buckte", out)
        self.assertIn('did you mean "bucket"', out)

    def test_unknown_receiver(self):
        path = self.write("recv.yaml", UNKNOWN_RECEIVER)
        rc, out = self.check(path)
        self.assertNotEqual(rc, 0, out)
        self.assertIn("recv.yaml:8:", out)
        self.assertIn("nope", out)
        self.assertIn("unknown receiver", out)

    def test_good_config(self):
        path = self.write("good.yaml", GOOD)
        rc, out = self.check(path)
        self.assertEqual(rc, 0, out)
        self.assertNotRegex(out, r"good\.yaml:\d+:\d+:")

    def test_every_shipped_rule_file(self):
        files = sorted(glob.glob(os.path.join(H.SOURCE_ROOT, "rules", "*.yaml")))
        self.assertTrue(files, "no rules/*.yaml in %s" % H.SOURCE_ROOT)
        for path in files:
            with self.subTest(path=os.path.basename(path)):
                # From an unrelated working directory: relative file-source
                # paths must resolve against the config's own directory.
                rc, out = self.check(path, cwd=self.tmp)
                self.assertEqual(rc, 0, "%s:\n%s" % (path, out))

    def test_bad_redis_urls(self):
        # --check took redis://host/abc, then a start failed on it with 3.
        text = (BAD_REDIS_URLS.replace("@STORE@", "redis://127.0.0.1/abc")
                .replace("@SOURCE@", "redis://:hunter2@[::1]:0"))
        path = self.write("redis.yaml", text)
        self.assertEqual(text.splitlines()[1].strip(), 'redis: "redis://127.0.0.1/abc"')
        store_msg = ("redis.yaml:2:10: store.redis: invalid Redis URL: bad database "
                     "\"abc\" after '/' (expected a number from 0 to 2147483646)")
        source_msg = ("redis.yaml:8:12: sources[0].redis: invalid Redis URL: bad port "
                      "\"0\" (expected 1-65535)")
        rc, out = self.check(path)
        self.assertEqual(rc, 1, out)
        self.assertIn(store_msg, out)
        self.assertIn(source_msg, out)
        self.assertNotIn("hunter2", out)
        rc, sout, serr = self.cli("check", path)
        self.assertNotEqual(rc, 0, sout + serr)
        self.assertIn(store_msg, sout + serr)
        self.assertIn(source_msg, sout + serr)
        p = subprocess.run([H.HARK_BIN, "-c", path], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, cwd=self.tmp, timeout=60)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn(store_msg, p.stderr)
        # The same file with good URLs of every form passes.
        for store, source in (("redis://:pw@[::1]:6390/15", "unix:///run/r.sock?db=3"),
                              ("unix:///run/r.sock", "redis://alice:pw@localhost/0")):
            path = self.write("good-redis.yaml", BAD_REDIS_URLS.replace("@STORE@", store)
                              .replace("@SOURCE@", source))
            rc, out = self.check(path)
            self.assertEqual(rc, 0, out)

    def test_broken_config_does_not_start(self):
        port = H.free_port()
        path = self.write("broken.yaml", BAD_BUCKET.replace(
            "receivers:", 'http:\n  listen: "127.0.0.1:%d"\nreceivers:' % port, 1))
        log = os.path.join(self.tmp, "broken.log")
        with open(log, "wb") as lf:
            proc = subprocess.Popen([H.HARK_BIN, "-c", path], stdin=subprocess.DEVNULL,
                                    stdout=lf, stderr=subprocess.STDOUT, cwd=self.tmp)
        self.procs.append(proc)
        deadline = time.monotonic() + H.START_TIMEOUT
        listened = False
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                listened = True
            except OSError:
                pass
            time.sleep(0.02)
        rc = proc.poll()
        self.assertIsNotNone(rc, "harkd kept running with a broken config")
        self.assertNotEqual(rc, 0)
        self.assertFalse(listened, "harkd listened with a broken config")
        out = H.tail(log)
        self.assertIn("broken.yaml:10:", out)
        self.assertEqual(H.sanitizer_lines(log), [])


if __name__ == "__main__":
    H.main()
