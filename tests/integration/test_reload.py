# SPDX-License-Identifier: MIT
"""SIGHUP reloads the rules live: a kept rule keeps its counts and learned
baseline (also with new detection settings), an added rule starts matching,
a removed one is gone; an invalid file or a changed source is refused and
the running rules stay; /metrics counts both outcomes."""

import datetime
import json
import os
import signal
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

HEAD = """\
{store}http:
  listen: "127.0.0.1:{port}"
sources:
  - name: push
    type: http-push
{extra_source}receivers:
  - name: log
    type: log
rules:
"""

BRAND = """\
  - name: brand
    match:
      query: '{query}'
    bucket: 5m
    sensitivity: {sensitivity}
    novelty: 14d
    notify: [log]
"""

OLD = """\
  - name: old
    match:
      any: [covoiturage]
    notify: [log]
"""

CANCEL = """\
  - name: cancel
    match:
      query: 'annul* NEAR/3 trajet'
    warmup: 1h
    notify: [log]
"""

T0 = datetime.datetime(2026, 11, 2, 0, 0, 0)


def mention(i, text, minutes):
    ts = (T0 + datetime.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps({"id": "m%d" % i, "text": text, "created_at": ts},
                      ensure_ascii=False)


def two_days():
    """Two days of brand mentions, 3 per bucket: a learned baseline."""
    return [mention(3 * b + k, "trajet blablacar %d" % k, 5 * b + k)
            for b in range(2 * 288) for k in range(3)]


def rules(port):
    status, body = H.get_json(port, "/v1/rules")
    assert status == 200, status
    return {r["name"]: r for r in body["rules"]}


def config(port):
    status, body = H.get_json(port, "/v1/rules")
    assert status == 200, status
    return body["config"]


def reloads(port, result):
    status, text = H.get_text(port, "/metrics")
    assert status == 200, status
    key = 'hark_config_reloads_total{result="%s"} ' % result
    for line in text.splitlines():
        if line.startswith(key):
            return int(line[len(key):])
    raise AssertionError("no %s in /metrics" % key)


class Reload(H.HarkTestCase):

    def write(self, h, text):
        # Renamed into place, as editors and config management do: a
        # reader never sees half a file.
        with open(h.conf + ".tmp", "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(h.conf + ".tmp", h.conf)

    def hup_and_wait(self, h, result, n):
        h.proc.send_signal(signal.SIGHUP)
        H.wait_until(lambda: reloads(h.port, result) == n, 20,
                     what="hark_config_reloads_total{result=%s} = %d" % (result, n))

    def test_rules_reload_live(self):
        self.scenario("")

    def test_rules_reload_live_redis(self):
        self.scenario("store:\n  redis: redis://127.0.0.1:%d\n" % self.redis())

    def scenario(self, store):
        port = H.free_port()
        head = lambda extra="": HEAD.format(store=store, port=port, extra_source=extra)
        text = (head() +
                BRAND.format(query="blablacar", sensitivity=5) + OLD)
        h = self.harkd(text)
        # Two days of brand mentions, then a few for each rule.
        lines = two_days()
        n = len(lines)
        lines.append(mention(n, "covoiturage vers Lyon", 5 * 576))
        lines.append(mention(n + 1, "trajet annulé encore", 5 * 576))
        lines.append(mention(n + 2, "bla bla car, super", 5 * 576))
        n += 3
        H.push(h.port, lines)
        # Evaluated up to the watermark (newest mention less one bucket of
        # lateness): with Redis the totals come back asynchronously.
        last_end = (T0 + datetime.timedelta(minutes=5 * 575)).strftime("%Y-%m-%dT%H:%M:%SZ")
        H.wait_until(lambda: rules(h.port)["brand"].get("window_end") == last_end, 20,
                     what="brand evaluated up to %s" % last_end)
        before = rules(h.port)
        self.assertEqual(set(before), {"brand", "old"})
        self.assertEqual(before["brand"]["matched_total"], 2 * 288 * 3)
        self.assertEqual(before["old"]["matched_total"], 1)
        self.assertGreater(before["brand"]["baseline"], 1.0)
        # Three a bucket for two days: with novelty, the record to beat
        # is 3.
        self.assertEqual(before["brand"]["record"], {"count": 3, "days": 2})

        # Brand's query and sensitivity change, old goes, cancel comes.
        self.write(h, head() +
                   BRAND.format(query='blablacar OR "bla bla car"',
                                sensitivity=6) + CANCEL)
        self.hup_and_wait(h, "applied", 1)
        log = open(h.log, encoding="utf-8", errors="replace").read()
        self.assertRegex(log, r"applied .*rules=2 kept=1 added=1 removed=1")
        c = config(h.port)
        self.assertEqual((c["last_reload"], c["reloads_applied"], c["reloads_failed"]),
                         ("applied", 1, 0))
        self.assertNotIn("last_reload_error", c)
        after = rules(h.port)
        self.assertEqual(list(after), ["brand", "cancel"])
        self.assertEqual(after["brand"]["matched_total"], 2 * 288 * 3)
        self.assertEqual(after["brand"]["baseline"], before["brand"]["baseline"])
        self.assertEqual(after["brand"]["state"], before["brand"]["state"])
        self.assertEqual(after["brand"]["record"], before["brand"]["record"])
        self.assertEqual(after["cancel"]["matched_total"], 0)
        H.push(h.port, [mention(n, "bla bla car, encore", 5 * 576 + 1),
                        mention(n + 1, "mon trajet est annulé", 5 * 576 + 1),
                        mention(n + 2, "covoiturage", 5 * 576 + 1)])
        n += 3
        after = rules(h.port)
        self.assertEqual(after["brand"]["matched_total"], 2 * 288 * 3 + 1)
        self.assertEqual(after["cancel"]["matched_total"], 1)
        # The added rule began counting where the stream stood at the
        # reload (the bucket of its newest mention, 2 days in), and warms
        # up from there. A later mention of no rule closes its buckets.
        H.push(h.port, [mention(n, "covoiturage", 5 * 576 + 20)])
        n += 1
        H.wait_until(lambda: rules(h.port)["cancel"].get("window_end") is not None, 20,
                     what="cancel evaluated")
        cancel = rules(h.port)["cancel"]
        self.assertEqual(cancel["warm_at"], "2026-11-04T01:00:00Z", cancel)

        # An invalid file: reported with its position, nothing changes.
        self.write(h, head() +
                   BRAND.format(query="blablacar", sensitivity=5)
                   .replace("bucket: 5m", "bucket: five minutes"))
        self.hup_and_wait(h, "failed", 1)
        self.assertEqual(list(rules(h.port)), ["brand", "cancel"])
        log = open(h.log, encoding="utf-8", errors="replace").read()
        self.assertRegex(log, r"hark\.yaml:\d+:\d+: rules\[0\]\.bucket")
        c = config(h.port)
        self.assertEqual(c["last_reload"], "failed")
        self.assertRegex(c["last_reload_error"], r"hark\.yaml:\d+:\d+: rules\[0\]\.bucket")

        # A new source needs a restart: refused, nothing changes.
        self.write(h, head("  - name: more\n    type: http-push\n") +
                   BRAND.format(query="blablacar", sensitivity=5))
        self.hup_and_wait(h, "failed", 2)
        self.assertEqual(list(rules(h.port)), ["brand", "cancel"])
        log = open(h.log, encoding="utf-8", errors="replace").read()
        self.assertIn("restart required", log)
        c = config(h.port)
        self.assertEqual((c["last_reload"], c["reloads_applied"], c["reloads_failed"]),
                         ("failed", 1, 2))
        self.assertIn("restart required", c["last_reload_error"])
        out = subprocess.run([H.HARK_CLI, "status", "--url", "http://127.0.0.1:%d" % port],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"(?m)^brand +\S+ .*\n(?s:.*)^config \S*hark\.yaml; "
                         r"last reload failed at \S+: store, http, sources or receivers "
                         r"changed: restart required")
        self.assertEqual(reloads(h.port, "applied"), 1)
        H.push(h.port, [mention(n, "trajet annulé", 5 * 576 + 2)])
        self.assertEqual(rules(h.port)["cancel"]["matched_total"], 2)
        self.stop(h)

    def test_removed_while_firing_resolves(self):
        """A rule removed by a reload while it fires gets its resolve, and
        its saved state no longer fires: added back, it stays quiet."""
        port = H.free_port()
        head = HEAD.format(store="", port=port, extra_source="")
        both = head + BRAND.format(query="blablacar", sensitivity=5) + OLD
        h = self.harkd(both)
        lines = two_days()
        n = len(lines)
        for b in range(576, 579):
            for k in range(60):
                lines.append(mention(n, "blablacar en panne %d" % k, 5 * b + k / 20.0))
                n += 1
        lines.append(mention(n, "covoiturage", 5 * 581))
        n += 1
        H.push(h.port, lines)
        H.wait_until(lambda: rules(h.port)["brand"]["state"] == "firing", 20,
                     what="brand firing")
        self.write(h, head + OLD)
        self.hup_and_wait(h, "applied", 1)
        self.assertEqual(list(rules(h.port)), ["old"])
        status, body = H.get_json(h.port, "/v1/alerts?rule=brand")
        self.assertEqual(status, 200)
        self.assertEqual([a["status"] for a in body["alerts"]], ["resolved", "firing"])
        log = open(h.log, encoding="utf-8", errors="replace").read()
        self.assertIn("rule=brand removed while firing: resolved", log)
        # Back again: its baseline comes back, the episode does not.
        self.write(h, both)
        self.hup_and_wait(h, "applied", 2)
        H.wait_until(lambda: rules(h.port)["brand"].get("baseline", 0) > 1.0, 20,
                     what="brand's saved state loaded")
        self.assertNotEqual(rules(h.port)["brand"]["state"], "firing")
        self.stop(h)

    def test_hups_back_to_back(self):
        """A SIGHUP that comes while the previous file is still being read
        and compiled (off the loop) is not lost: the newest file wins."""
        port = H.free_port()
        head = HEAD.format(store="", port=port, extra_source="")
        h = self.harkd(head + BRAND.format(query="blablacar", sensitivity=5))
        H.wait_until(lambda: H.get_json(h.port, "/v1/rules")[0] == 200, 20,
                     what="serving")
        # A first file big enough to take a while to compile, so that the
        # second signal likely comes while it does.
        many = "".join("  - name: k%d\n    match:\n      any: [mot%dx]\n"
                       "    notify: [log]\n" % (i, i) for i in range(3000))
        self.write(h, head + BRAND.format(query="blablacar", sensitivity=5) + many)
        h.proc.send_signal(signal.SIGHUP)
        self.write(h, head + BRAND.format(query="blablacar", sensitivity=5) + CANCEL)
        h.proc.send_signal(signal.SIGHUP)
        H.wait_until(lambda: list(rules(h.port)) == ["brand", "cancel"], 20,
                     what="the second file applied")
        self.assertEqual(reloads(h.port, "failed"), 0)
        self.assertGreaterEqual(reloads(h.port, "applied"), 1)
        H.push(h.port, [mention(1, "mon trajet est annulé", 1)])
        self.assertEqual(rules(h.port)["cancel"]["matched_total"], 1)
        self.stop(h)

    def test_reload_under_load(self):
        """SIGHUPs alternating two files while mentions keep coming and
        buckets keep closing against Redis: every reload is applied, the
        rule both files keep counts every mention exactly once."""
        port = H.free_port()
        store = "store:\n  redis: redis://127.0.0.1:%d\n" % self.redis()
        head = HEAD.format(store=store, port=port, extra_source="")
        files = [head + BRAND.format(query="blablacar", sensitivity=5) + OLD,
                 head + BRAND.format(query="blablacar", sensitivity=4) + CANCEL]
        h = self.harkd(files[0])
        stop = threading.Event()
        sent = [0]

        def feed():
            n = 0
            while not stop.is_set():
                H.push(h.port, [mention(n + k, "blablacar trajet annulé", (n + k) / 30.0)
                                for k in range(200)])
                n += 200
            sent[0] = n

        t = threading.Thread(target=feed)
        t.start()
        try:
            for i in range(1, 9):
                self.write(h, files[i % 2])
                self.hup_and_wait(h, "applied", i)
        finally:
            stop.set()
            t.join(60)
        r = rules(h.port)
        self.assertEqual(set(r), {"brand", "old"})
        self.assertEqual(r["brand"]["matched_total"], sent[0])
        self.assertGreater(sent[0], 0)
        self.assertEqual(reloads(h.port, "failed"), 0)
        self.stop(h)


if __name__ == "__main__":
    H.main()
