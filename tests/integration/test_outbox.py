# SPDX-License-Identifier: MIT
"""The durable outbox end to end: a receiver that refuses connections and
then answers 503 gets every notification once it is back, exactly once by
webhook-id and in order per rule; a delivery pending when harkd is
SIGKILLed (Redis) or stopped (embedded store: it only snapshots at a clean
stop) goes out after the restart with the same id; a 400 lands in the
dead-letter list; a sink failing at random (seeded) still gets all of
them. The expected notifications come from `hark replay` on the same
stream and rules (same code path)."""

import http.server
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

RULES = """\
rules:
  - name: brand
    match:
      any: ["blablacar"]
    bucket: 5m
    warmup: 30m
    cooldown: 1m
    notify: [hook]
  - name: acme
    match:
      any: ["acme"]
    bucket: 5m
    warmup: 30m
    cooldown: 1m
    notify: [hook]
"""

CONF = """\
{store}http:
  listen: "127.0.0.1:@PORT@"
sources:
  - name: push
    type: http-push
receivers:
  - name: hook
    type: webhook
    url: "{url}"
    timeout: 1s
    max_age: 10m
""" + RULES

REPLAY_CONF = """\
receivers:
  - name: hook
    type: webhook
    url: "http://127.0.0.1:9/unused"
""" + RULES


def make_stream(seed=1, minutes=420, spikes=((60, 10), (150, 10), (240, 10), (330, 10)),
                rate=8, spike_rate=100):
    """Flat mentions of two rules with four 10-minute spikes, an hour of
    calm between them so that each one fires and resolves."""
    rng = random.Random(seed)
    t0 = H.START_2026_11_01
    out = []
    idx = 0
    for m in range(minutes):
        n = H.poisson(rng, rate)
        for s0, ln in spikes:
            if s0 <= m < s0 + ln:
                n += spike_rate
        for _ in range(n):
            idx += 1
            word = "blablacar" if rng.random() < 0.5 else "acme"
            sec = t0 + m * 60 + rng.randrange(60)
            out.append((sec, idx, json.dumps({
                "id": "m%d" % idx, "text": "trip booked with %s today" % word,
                "created_at": H.rfc3339(sec), "author": "a%d" % (idx % 17)})))
    out.sort()
    return [line for (_, _, line) in out]


class Sink:
    """HTTP sink on a fixed port, started when the test says so (until
    then: connection refused). policy(n) gives the answer to request n:
    an int status, or ("stall", seconds, status). Records every request
    and the accepted (2xx) ones."""

    def __init__(self, port, policy):
        self.port = port
        self.url = "http://127.0.0.1:%d/hook" % port
        self.policy = policy
        self.lock = threading.Lock()
        self.all = []
        self.accepted = []  # (webhook-id, body) in arrival order
        self.server = None
        self.thread = None

    def start(self):
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n > 0 else b""
                wid = self.headers.get("webhook-id")
                with sink.lock:
                    k = len(sink.all)
                    sink.all.append(wid)
                    answer = sink.policy(k)
                if isinstance(answer, tuple):
                    time.sleep(answer[1])
                    answer = answer[2]
                if 200 <= answer < 300:
                    with sink.lock:
                        sink.accepted.append((wid, json.loads(raw.decode("utf-8"))))
                out = b"{}"
                try:
                    self.send_response(answer)
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except OSError:
                    pass  # hark timed out and hung up first

            def log_message(self, fmt, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def accepted_ids(self):
        with self.lock:
            return [w for (w, _) in self.accepted]

    def first_bodies(self):
        """The accepted bodies, each id once, in first-acceptance order."""
        seen = set()
        out = []
        with self.lock:
            for w, b in self.accepted:
                if w not in seen:
                    seen.add(w)
                    out.append(b)
        return out

    def close(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(5)


def by_rule(bodies):
    out = {}
    for b in bodies:
        out.setdefault(b["rule"], []).append((b["id"], b["status"], b["window_start"]))
    return out


def replay_expected(lines):
    """The notifications `hark replay` sends for the stream, of the
    windows the daemon closes too (its watermark trails)."""
    last = H.parse_ts(json.loads(lines[-1])["created_at"])
    tmp = os.path.join(os.environ.get("TMPDIR", "/tmp"), "hark-outbox-replay-%d" % os.getpid())
    os.makedirs(tmp, exist_ok=True)
    conf = os.path.join(tmp, "replay.yaml")
    data = os.path.join(tmp, "stream.ndjson")
    with open(conf, "w") as f:
        f.write(REPLAY_CONF)
    with open(data, "w") as f:
        f.write("\n".join(lines) + "\n")
    p = subprocess.run([H.HARK_CLI, "replay", "-c", conf, data], capture_output=True,
                       text=True, timeout=300, cwd=tmp)
    if p.returncode != 0:
        raise AssertionError("hark replay failed: %s" % p.stderr[-2000:])
    bodies = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    for name in os.listdir(tmp):
        os.unlink(os.path.join(tmp, name))
    os.rmdir(tmp)
    return [b for b in bodies if H.parse_ts(b["window_end"]) <= last - 3 * 300]


class Outbox(H.HarkTestCase):

    @classmethod
    def setUpClass(cls):
        cls.lines = make_stream()
        cls.expected = replay_expected(cls.lines)
        rules = by_rule(cls.expected)
        # The stream is made so that there is something to order.
        assert len(rules.get("brand", [])) >= 6, rules
        assert len(cls.expected) >= 8, cls.expected

    def metric(self, h, name):
        return H.get_metrics(h.port).get(name, -1)

    def new_sink(self, policy):
        s = Sink(H.free_port(), policy)
        self.addCleanup(s.close)
        return s

    def push_stream(self, h):
        replies = H.push(h.port, self.lines)
        self.assertEqual(sum(r["accepted"] for r in replies), len(self.lines))

    def wait_queued(self, h):
        """Every expected notification fired and sits in the outbox."""
        n = len(self.expected)
        H.wait_until(lambda: self.metric(h, "hark_outbox_pending") == n, 60.0, 0.1,
                     "%d notifications in the outbox" % n)

    def wait_all_delivered(self, sink, timeout=60.0):
        want = set(b["id"] for b in self.expected)
        try:
            H.wait_until(lambda: want <= set(sink.accepted_ids()), timeout, 0.1,
                         "every notification accepted")
        except AssertionError:
            raise AssertionError("every notification accepted: have %d of %d after %.0f s"
                                 % (len(set(sink.accepted_ids()) & want), len(want), timeout))

    def check_delivery(self, sink, exactly_once=True):
        """Every expected notification accepted, nothing else, in order per
        rule; once each unless the sink made duplicates possible."""
        got = sink.first_bodies()
        ids = sink.accepted_ids()
        self.assertEqual(sorted(b["id"] for b in got), sorted(b["id"] for b in self.expected))
        if exactly_once:
            self.assertEqual(len(ids), len(set(ids)), "duplicates: %r" % ids)
        self.assertEqual(by_rule(got), by_rule(self.expected))
        for rule, seq in by_rule(got).items():
            statuses = [s for (_, s, _) in seq]
            self.assertEqual(statuses, ["firing", "resolved"] * (len(seq) // 2)
                             + ["firing"] * (len(seq) % 2), rule)

    def redis_outbox(self, port):
        """The entries of the receiver's outbox hash (one per notification)."""
        vals = H.redis_cmd(port, "HVALS", "hark:{fleet}:v2:outbox:hook") or []
        return [json.loads(v.decode("utf-8")) for v in vals]

    def test_down_then_back_redis(self):
        port = self.redis()
        t_up = [None]

        def policy(n):
            # Up (listening) but failing for 3 s, then fine.
            return 503 if time.monotonic() < t_up[0] + 3.0 else 200

        sink = self.new_sink(policy)
        h = self.harkd(CONF.format(store='store:\n  redis: "redis://127.0.0.1:%d/0"\n' % port,
                                   url=sink.url))
        self.push_stream(h)
        self.wait_queued(h)
        want = sorted(b["id"] for b in self.expected)
        # Written before any attempt; the newest write may still be on its way.
        H.wait_until(lambda: sorted(e["id"] for e in self.redis_outbox(port)) == want,
                     10.0, 0.05, "every notification in Redis' outbox")
        time.sleep(1.0)  # refused for a while longer
        t_up[0] = time.monotonic()
        sink.start()
        self.wait_all_delivered(sink)
        H.wait_until(lambda: self.metric(h, "hark_outbox_pending") == 0, 20.0, 0.1,
                     "outbox empty")
        self.check_delivery(sink)
        self.assertGreater(len(sink.all), len(sink.accepted))  # some 503s
        self.assertEqual(self.metric(h, "hark_deadletter_total"), 0)
        H.wait_until(lambda: self.redis_outbox(port) == [], 10.0, 0.1,
                     "the outbox emptied in Redis")
        self.stop(h)

    def test_sigkill_while_pending_redis(self):
        port = self.redis()
        sink = self.new_sink(lambda n: 200)
        conf = CONF.format(store='store:\n  redis: "redis://127.0.0.1:%d/0"\n' % port,
                           url=sink.url)
        h = self.harkd(conf)
        self.push_stream(h)
        self.wait_queued(h)
        h.proc.send_signal(signal.SIGKILL)
        h.proc.wait(10)
        H.check_sanitizers(h)
        sink.start()
        h2 = self.harkd(conf)
        self.wait_all_delivered(sink)
        H.wait_until(lambda: self.metric(h2, "hark_outbox_pending") == 0, 20.0, 0.1,
                     "outbox empty after the restart")
        self.check_delivery(sink)
        self.stop(h2)

    def test_400_dead_letter_redis(self):
        port = self.redis()
        sink = self.new_sink(lambda n: 400)
        sink.start()
        h = self.harkd(CONF.format(store='store:\n  redis: "redis://127.0.0.1:%d/0"\n' % port,
                                   url=sink.url))
        self.push_stream(h)
        n = len(self.expected)
        H.wait_until(lambda: self.metric(h, "hark_deadletter_total") == n, 60.0, 0.1,
                     "%d dead letters" % n)
        self.assertEqual(self.metric(h, "hark_outbox_pending"), 0)
        # Not retried: one request each.
        self.assertEqual(sorted(sink.all), sorted(b["id"] for b in self.expected))

        def stored():
            vals = H.redis_cmd(port, "HVALS", "hark:{fleet}:v2:deadletter:hook") or []
            return [json.loads(v.decode("utf-8")) for v in vals]

        H.wait_until(lambda: len(stored()) == n, 10.0, 0.1, "dead letters in Redis")
        dl = stored()
        self.assertEqual(sorted(e["id"] for e in dl), sorted(b["id"] for b in self.expected))
        for e in dl:
            self.assertEqual(e["reason"], "HTTP 400")
            self.assertEqual(e["receiver"], "hook")
            self.assertEqual(json.loads(e["body"])["id"], e["id"])
        self.stop(h)

    def test_sigterm_restart_embedded(self):
        # The embedded store writes its snapshot at a clean stop only: a
        # SIGKILL loses what came after the last start (Redis keeps it).
        sink = self.new_sink(lambda n: 200)
        conf = CONF.format(store="", url=sink.url)
        h = self.harkd(conf)
        self.push_stream(h)
        self.wait_queued(h)
        t0 = time.monotonic()
        self.stop(h)
        # Not retried until the drain deadline: kept for the next start.
        self.assertLess(time.monotonic() - t0, 4.5)
        sink.start()
        h2 = self.harkd(conf)
        self.wait_all_delivered(sink)
        H.wait_until(lambda: self.metric(h2, "hark_outbox_pending") == 0, 20.0, 0.1,
                     "outbox empty after the restart")
        self.check_delivery(sink)
        self.stop(h2)
        with open(h2.log, encoding="utf-8", errors="replace") as f:
            self.assertIn("outbox resumed: receiver=hook pending=%d" % len(self.expected),
                          f.read())

    def test_random_failures_embedded(self):
        rng = random.Random(20261121)
        lock = threading.Lock()

        def policy(n):
            with lock:
                x = rng.random()
            if x < 0.30:
                return 503
            if x < 0.40:
                return 500
            if x < 0.45:
                return 429
            if x < 0.52:
                # Accepted after hark gave up waiting: a duplicate to come.
                return ("stall", 1.5, 200)
            return 200

        sink = self.new_sink(policy)
        sink.start()
        h = self.harkd(CONF.format(store="", url=sink.url))
        self.push_stream(h)
        # Nearly half the attempts fail, and a notification's backoff
        # doubles from 1 s to 60 s: one failing six times running (1 % a
        # notification) waits a minute before its next try, and holds the
        # rule's later ones (in order). 90 s was seen to run out in CI.
        self.wait_all_delivered(sink, 300.0)
        H.wait_until(lambda: self.metric(h, "hark_outbox_pending") == 0, 30.0, 0.1,
                     "outbox empty")
        self.check_delivery(sink, exactly_once=False)
        ids = sink.accepted_ids()
        print("random sink: %d requests, %d accepted, %d distinct ids (%d expected)"
              % (len(sink.all), len(ids), len(set(ids)), len(self.expected)))
        self.assertEqual(self.metric(h, "hark_deadletter_total"), 0)
        self.stop(h)


if __name__ == "__main__":
    H.main()
