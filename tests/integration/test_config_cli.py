# SPDX-License-Identifier: MIT
"""harkd --check and start-up with bad configs: FILE:LINE:COL problems,
hints for unknown keys, unknown receivers, a non-zero exit without ever
listening; every shipped rules/*.yaml validates."""

import glob
import os
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


class ConfigCli(H.HarkTestCase):

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
