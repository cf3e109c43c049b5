# SPDX-License-Identifier: MIT
"""harkd through failures: Redis dying mid-stream (counting goes on in
memory, the writes land when Redis is back, exactly), and harkd restarted in
the middle of a spike (no second alert, the resolve still comes), with Redis
and with the embedded store."""

import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

BUCKET = 300

CONF = """\
{store}http:
  listen: "127.0.0.1:@PORT@"
sources:
  - name: push
    type: http-push
receivers:
  - name: hook
    type: webhook
    url: "{sink}"
    timeout: 5s
    send_resolved: true
rules:
  - name: brand
    match:
      any: ["blablacar", "bla bla car", "#blablacar", "@blablacar"]
    bucket: 5m
    notify: [hook]
"""


def line_time(line):
    o = json.loads(line)
    ts = o["data"]["created_at"] if "data" in o else o["created_at"]
    return int(H.parse_ts(ts))


def split_at(stream, t):
    """Lines before t, lines from t on (the stream is in time order)."""
    for i, line in enumerate(stream.lines):
        if line_time(line) >= t:
            return stream.lines[:i], stream.lines[i:]
    return stream.lines, []


def brand_count(stream, lines_from, lines_to):
    return sum(1 for i in range(lines_from, lines_to) if stream.is_brand[i])


def start_redis_on(tmp, port):
    log = os.path.join(tmp, "redis-again-%d.log" % port)
    with open(log, "wb") as lf:
        proc = subprocess.Popen(
            [H.REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", tmp],
            stdout=lf, stderr=subprocess.STDOUT, cwd=tmp)
    H.wait_until(lambda: H.redis_ping(port), 20.0, 0.05, "redis back on %d" % port)
    return proc


class Resilience(H.HarkTestCase):

    def by_status(self, sink, status):
        return [b for (_, _, b) in sink.snapshot()
                if isinstance(b, dict) and b.get("status") == status]

    def matched(self, port):
        return H.rule_info(port, "brand").get("matched_total", 0)

    def push_all(self, port, lines):
        if not lines:
            return
        before = self.matched(port)
        replies = H.push(port, lines)
        self.assertEqual(sum(r["accepted"] for r in replies), len(lines))
        return before

    def test_redis_outage(self):
        port = self.redis()
        redis_proc = self.procs[-1]
        sink = self.sink()
        stream = H.seasonal_stream(days=3, seed=7)
        day = 86400
        t0 = H.START_2026_11_01
        day1, rest = split_at(stream, t0 + day)
        h = self.harkd(CONF.format(store='store:\n  redis: "redis://127.0.0.1:%d/0"\n'
                                   '  timeout: 300ms\n' % port, sink=sink.url))
        self.push_all(h.port, day1)

        redis_proc.send_signal(signal.SIGKILL)
        redis_proc.wait(10)
        H.wait_until(lambda: H.get_json(h.port, "/readyz")[0] == 503, 20.0, 0.05,
                     "/readyz 503 with Redis down")
        n1 = len(day1)
        day2 = [ln for ln in rest if line_time(ln) < t0 + 2 * day]
        day3 = rest[len(day2):]
        before = self.matched(h.port)
        self.push_all(h.port, day2)
        expected_day2 = brand_count(stream, n1, n1 + len(day2))
        H.wait_until(lambda: self.matched(h.port) == before + expected_day2, 30.0, 0.05,
                     "day 2 counted while Redis is down")
        pending = H.wait_until(
            lambda: H.get_metrics(h.port).get("hark_store_pending_writes", 0) > 200
            and H.get_metrics(h.port)["hark_store_pending_writes"],
            30.0, 0.1, "count writes queued while Redis is down")
        self.assertGreater(pending, 200)

        self.procs.append(start_redis_on(self.tmp, port))
        H.wait_until(lambda: H.get_json(h.port, "/readyz")[0] == 200, 30.0, 0.05,
                     "/readyz 200 once Redis is back")
        H.wait_until(lambda: H.get_metrics(h.port).get("hark_store_pending_writes", -1) == 0,
                     30.0, 0.1, "the queued writes flushed")
        self.assertEqual(H.get_metrics(h.port).get("hark_store_dropped_writes_total", -1), 0)

        # Every bucket of day 2 that closed during the outage is in Redis,
        # with exactly the number of brand mentions it held.
        per_bucket = {}
        for i in range(n1, n1 + len(day2)):
            if stream.is_brand[i]:
                b = line_time(stream.lines[i]) // BUCKET * BUCKET
                per_bucket[b] = per_bucket.get(b, 0) + 1
        last = line_time(day2[-1])
        checked = 0
        for b, n in sorted(per_bucket.items()):
            if b + BUCKET > last - 2 * BUCKET:
                continue  # still open when the outage ended
            got = H.stored_count(port, "brand", b)
            self.assertIsNotNone(got, "bucket %s lost" % H.rfc3339(b))
            self.assertEqual(got, n, "bucket %s" % H.rfc3339(b))
            checked += 1
        self.assertGreater(checked, 250)

        # The detector went on in memory: day 3's spike fires once.
        self.push_all(h.port, day3)
        H.wait_until(lambda: self.by_status(sink, "firing"), 60.0, 0.1, "the spike's alert")
        fired = self.by_status(sink, "firing")
        self.assertEqual(len(fired), 1, fired)
        self.assertTrue(H.overlaps(H.parse_ts(fired[0]["window_start"]),
                                   H.parse_ts(fired[0]["window_end"]), *stream.spike))
        self.stop(h)

    def restart_mid_spike(self, store, port=None, kill=False):
        sink = self.sink()
        conf = CONF.format(store=store, sink=sink.url)
        stream = H.seasonal_stream(days=3, seed=11)
        s0, s1 = stream.spike
        first, second = split_at(stream, s0 + 15 * 60)
        h = self.harkd(conf)
        self.push_all(h.port, first)
        H.wait_until(lambda: self.by_status(sink, "firing"), 60.0, 0.1, "firing mid-spike")
        self.assertEqual(H.rule_info(h.port, "brand").get("state"), "firing")
        if kill:
            snap = os.path.join(self.tmp, "hark.snapshot")

            def snapshot_firing():
                # The detector's state is a binary image; the alert
                # history, written by the same evaluation just before the
                # state, says the spike fired (the store applies both at
                # once, a snapshot holds both or neither).
                try:
                    with open(snap, "rb") as f:
                        return b'"status":"firing"' in f.read()
                except OSError:
                    return False
            H.wait_until(snapshot_firing, 30.0, 0.1,
                         "a background snapshot holding the firing state")
            h.proc.kill()
            h.proc.wait(30)
            H.check_sanitizers(h)
        else:
            self.stop(h)

        h2 = self.harkd(conf)
        info = H.wait_until(lambda: H.rule_info(h2.port, "brand"), 20.0, 0.1, "rules")
        self.assertEqual(info.get("state"), "firing", "firing state lost: %r" % info)
        self.assertGreater(info.get("baseline", 0), 0)
        self.push_all(h2.port, second)
        H.wait_until(lambda: self.by_status(sink, "resolved"), 60.0, 0.1,
                     "the resolve after the spike")
        # Buckets are evaluated in order: a second firing for this spike
        # would have been sent before the resolve. After a SIGKILL one
        # delivered after the last snapshot is sent again, with its id.
        fired = list({b["id"]: b for b in self.by_status(sink, "firing")}.values())
        resolved = list({b["id"]: b for b in self.by_status(sink, "resolved")}.values())
        self.assertEqual(len(fired), 1, "second alert after restart: %r" % fired)
        self.assertEqual(len(resolved), 1, resolved)
        self.assertGreaterEqual(H.parse_ts(resolved[0]["window_start"]), s1,
                                "resolved before the spike ended: %r" % resolved[0])
        self.assertNotEqual(resolved[0]["id"], fired[0]["id"])
        self.stop(h2)

    def test_restart_mid_spike_redis(self):
        port = self.redis()
        self.restart_mid_spike('store:\n  redis: "redis://127.0.0.1:%d/0"\n' % port, port)

    def test_restart_mid_spike_embedded(self):
        self.restart_mid_spike("")

    def test_sigkill_mid_spike_embedded(self):
        """The embedded store's background snapshot (every second here):
        harkd SIGKILLed mid-spike comes back firing with its baseline, sends
        no second alert for the spike (a re-sent one keeps its id), and
        resolves it."""
        self.restart_mid_spike("store:\n  snapshot_interval: 1s\n", kill=True)


if __name__ == "__main__":
    H.main()
