#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Soak (issue 12): harkd on Redis for SECONDS, RATE mentions a second
pushed live over RULES keyword rules, spikes on a few rules so that alerts
fire and resolve, Redis restarted twice (AOF, SIGTERM: nothing it took is
lost), a webhook receiver that answers 503 half of the time (30 s on, 30 s
off). At the end, with the receiver healthy again: every pushed mention is
in Redis exactly once (the sum of every bucket's count), every alert harkd
counted was delivered (distinct webhook-id), harkd's RSS at the end is
within a bound of its RSS at a third of the run, and the p99 push latency.
Prints a JSON report; exits 1 when a check fails.

    bench/soak/soak.py [--seconds 600] [--rate 3000] [--rules 1000]
                       [--bucket 60] [--harkd build/harkd] [--rss-growth-mb 16]

Rules warm for 4 buckets; from bucket 6 on, one rule at a time gets 10%
of the stream for 3 buckets in every 4. The receiver flaps in windows of
30 s (shorter runs: a twelfth of the run, at least 5 s) and is healthy for
the last minute (a tenth of a shorter run). The CI runs a 60-second
version (tests/meson.build: soak).

Python 3 standard library only; redis-server from Debian; the integration
harness (tests/integration/harness.py) for ports, Redis and metrics.
"""

import argparse
import http.server
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness as H  # noqa: E402


class FlappingSink:
    """Webhook receiver: 503 while `down`, else 200; records webhook-ids
    answered 200."""

    def __init__(self):
        self.lock = threading.Lock()
        self.down = False
        self.ok_ids = set()
        self.refused = 0
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n > 0:
                    self.rfile.read(n)
                wid = self.headers.get("webhook-id")
                with sink.lock:
                    down = sink.down
                    if down:
                        sink.refused += 1
                    elif wid:
                        sink.ok_ids.add(wid)
                self.send_response(503 if down else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, fmt, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Redis:
    """A redis-server with AOF in dir, restartable on the same port."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.port = H.free_port()
        self.proc = None
        self.start()

    def start(self):
        log = open(os.path.join(self.tmp, "redis.log"), "ab")
        self.proc = subprocess.Popen(
            [H.REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
             "--dir", self.tmp], stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp)
        H.wait_until(lambda: H.redis_ping(self.port), 30.0, 0.05, "redis up")

    def restart(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        self.start()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)


def config(rules, redis_port, sink_url, bucket):
    out = ["log_level: debug\n" if os.environ.get("SOAK_DEBUG") else "",
           'store:\n  redis: "redis://127.0.0.1:%d/0"\n  timeout: 1s\n' % redis_port,
           'http:\n  listen: "127.0.0.1:@PORT@"\n',
           "sources:\n  - name: push\n    type: http-push\n",
           "receivers:\n  - name: hook\n    type: webhook\n    url: \"%s\"\n"
           "    timeout: 2s\n" % sink_url,
           "rules:\n"]
    for i in range(rules):
        out.append("  - name: r%04d\n    match:\n      any: [w%04d]\n    bucket: %ds\n"
                   "    warmup: %ds\n    notify: [hook]\n" % (i, i, bucket, 4 * bucket))
    return "".join(out)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def stored_total(port, rules):
    total = 0
    for i in range(rules):
        for k in H.redis_cmd(port, "KEYS", "hark:{r%04d}:v2:count:*" % i) or []:
            total += sum(int(v) for v in H.redis_cmd(port, "HVALS", k))
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--rate", type=int, default=3000)
    ap.add_argument("--rules", type=int, default=1000)
    ap.add_argument("--bucket", type=int, default=60, help="rules' bucket, seconds")
    ap.add_argument("--harkd", default=os.environ.get("HARK_BIN",
                                                      os.path.join(ROOT, "build", "harkd")))
    ap.add_argument("--rss-growth-mb", type=float, default=16.0,
                    help="largest RSS growth allowed from a third of the run on "
                    "(0: only report; under AddressSanitizer its quarantine grows RSS)")
    ap.add_argument("--p99-ms", type=float, default=0,
                    help="fail when the push p99 passes this (0: only report)")
    args = ap.parse_args()
    H.HARK_BIN = os.path.abspath(args.harkd)
    tmp = tempfile.mkdtemp(prefix="hark-soak-")
    sink = FlappingSink()
    redis = Redis(tmp)
    h = H.start_harkd(config(args.rules, redis.port, sink.url, args.bucket), tmp)
    flap = max(5.0, min(30.0, args.seconds / 12))
    healthy = min(60.0, max(10.0, args.seconds / 10))
    rnd = random.Random(12)
    lat, pushed, seq = [], 0, 0
    rss = []
    spikes = set()
    t0 = time.monotonic()
    restarts = [args.seconds / 3, 2 * args.seconds / 3]
    step = 0.1
    per_step = max(1, int(args.rate * step))
    try:
        while True:
            el = time.monotonic() - t0
            if el >= args.seconds:
                break
            if restarts and el >= restarts[0]:
                restarts.pop(0)
                redis.restart()
            # 30 s on, 30 s off; healthy for the last minute, so the
            # outbox drains before the end.
            with sink.lock:
                sink.down = int(el // flap) % 2 == 1 and el < args.seconds - healthy
            b = int(el // args.bucket)
            hot = (b // 4) % args.rules if b % 4 < 3 and b >= 6 else None
            if hot is not None:
                spikes.add(hot)
            now = time.time()
            lines = []
            for _ in range(per_step):
                r = hot if hot is not None and rnd.random() < 0.1 else rnd.randrange(args.rules)
                lines.append('{"id":"s%d","text":"w%04d soak","created_at":"%s"}'
                             % (seq, r, H.rfc3339(now)))
                seq += 1
            a = time.monotonic()
            status, reply = H.post_mentions(h.port, "\n".join(lines) + "\n", timeout=30)
            lat.append(time.monotonic() - a)
            if status != 202 or reply["accepted"] != len(lines):
                raise SystemExit("push refused: %d %r" % (status, reply))
            pushed += len(lines)
            if int(el) % 10 == 0 and (not rss or rss[-1][0] != int(el)):
                rss.append((int(el), rss_kb(h.proc.pid)))
            left = step - (time.monotonic() - a)
            if left > 0:
                time.sleep(left)
        # Buckets close a bucket and its lateness after the last mention;
        # a stop writes the open ones and sends what the outbox holds.
        H.wait_until(lambda: H.get_metrics(h.port).get("hark_store_pending_writes", 1) == 0,
                     60.0, 0.2, "count writes landed")
        m = H.get_metrics(h.port)
        alerts = sum(v for k, v in m.items() if k.startswith("hark_alerts_total"))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with sink.lock:
                if len(sink.ok_ids) >= alerts:
                    break
            time.sleep(0.5)
            m = H.get_metrics(h.port)
            alerts = sum(v for k, v in m.items() if k.startswith("hark_alerts_total"))
        end_rss = rss_kb(h.proc.pid)
        H.stop_harkd(h)
        stored = stored_total(redis.port, args.rules)
    finally:
        if h.proc.poll() is None:
            h.proc.kill()
        redis.stop()
    lat.sort()
    p99 = lat[int(0.99 * (len(lat) - 1))] * 1000
    # The heap fills as the first buckets and the dedupe ring fill (a
    # bucket holds its mentions' texts until it closes, for its terms):
    # growth is measured from a third of the run on.
    settle = max(30, args.seconds // 3)
    base = next((kb for t, kb in rss if t >= settle), rss[-1][1] if rss else 0)
    with sink.lock:
        delivered, refused = len(sink.ok_ids), sink.refused
    report = {
        "seconds": args.seconds, "rate": args.rate, "rules": args.rules,
        "pushed": pushed, "stored": stored, "alerts": int(alerts),
        "delivered": delivered, "refused_by_receiver": refused,
        "redis_restarts": 2, "spiked_rules": len(spikes),
        "rss_kb_settled": base, "rss_settled_at_s": settle, "rss_kb_end": end_rss,
        "rss_kb_samples": rss, "push_p50_ms": round(lat[len(lat) // 2] * 1000, 2),
        "push_p99_ms": round(p99, 2), "pushes": len(lat),
    }
    fails = []
    if stored != pushed:
        fails.append("stored %d != pushed %d" % (stored, pushed))
    if delivered < alerts or alerts == 0:
        fails.append("delivered %d of %d alerts" % (delivered, alerts))
    if args.rss_growth_mb > 0 and end_rss - base > args.rss_growth_mb * 1024:
        fails.append("RSS grew %.1f MB" % ((end_rss - base) / 1024))
    if args.p99_ms > 0 and p99 > args.p99_ms:
        fails.append("p99 %.1f ms" % p99)
    report["failures"] = fails
    print(json.dumps(report, indent=1))
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
