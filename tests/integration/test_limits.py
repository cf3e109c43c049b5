# SPDX-License-Identifier: MIT
"""Bounded parsing and HTTP limits on harkd's port, with a good client
measured while an attacker tries to stall the loop: a 100,000-deep JSON line,
a 64 MiB header, slowloris connections and header floods, connections past
http.max_connections, and the header and idle timeouts.

The floods run in a child process (this file run with --flood), so that the
good client's timings are not those of Python threads sharing a lock."""

import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

BASE = """\
http:
  listen: "127.0.0.1:@PORT@"
{http_extra}sources:
  - name: push
    type: http-push
receivers:
  - name: log
    type: log
rules:
  - name: brand
    match:
      any: ["blablacar"]
    bucket: 5m
    notify: [log]
"""

# Bounds a good client must see whatever the flood does (issue 12).
P99_MAX_S = 0.050
HEALTHZ_MAX_S = 0.5


def conf(http_extra=""):
    return BASE.replace("{http_extra}", http_extra)


def mention(i):
    return json.dumps({"id": "g%d" % i, "text": "blablacar %d" % i,
                       "created_at": "2026-11-02T10:00:00Z"})


def deep_line(depth):
    return '{"text":"blablacar deep","a":' + "[" * depth + "]" * depth + "}"


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def connect(port, timeout=10.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def closed_within(s, timeout):
    """Seconds until the peer closed s (reading and dropping what comes),
    or None when it stayed open for timeout seconds."""
    t0 = time.monotonic()
    s.settimeout(0.05)
    while time.monotonic() - t0 < timeout:
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - t0
        if d == b"":
            return time.monotonic() - t0
    return None


def read_response(s, timeout=10.0):
    """One HTTP/1.1 response with a Content-Length: (status, body)."""
    s.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        d = s.recv(65536)
        if not d:
            raise AssertionError("connection closed before a response: %r" % data)
        data += d
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for l in lines[1:]:
        k, _, v = l.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    while len(rest) < length:
        d = s.recv(65536)
        if not d:
            break
        rest += d
    return status, rest[:length]


class GoodClient:
    """Pushes small bodies on one keep-alive connection and, on a second,
    polls /healthz; records every latency."""

    def __init__(self, port):
        self.port = port
        self.push_s = []
        self.healthz_s = []
        self.accepted = 0
        self.errors = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._healthz_loop, daemon=True)

    def start(self):
        self._t.start()

    def _healthz_loop(self):
        s = connect(self.port)
        req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        while not self._stop.is_set():
            t0 = time.monotonic()
            try:
                s.sendall(req)
                status, _ = read_response(s, timeout=5.0)
            except (OSError, AssertionError) as e:
                self.errors.append("healthz: %r" % e)
                return
            self.healthz_s.append(time.monotonic() - t0)
            if status != 200:
                self.errors.append("healthz: status %d" % status)
            self._stop.wait(0.02)
        s.close()

    def push(self, n_requests, per_request=5, first=0):
        s = connect(self.port)
        i = first
        for _ in range(n_requests):
            body = "".join(mention(i + k) + "\n" for k in range(per_request)).encode()
            i += per_request
            req = (b"POST /v1/mentions HTTP/1.1\r\nHost: x\r\n"
                   b"Content-Type: application/x-ndjson\r\nContent-Length: %d\r\n\r\n"
                   % len(body)) + body
            t0 = time.monotonic()
            s.sendall(req)
            status, reply = read_response(s, timeout=10.0)
            self.push_s.append(time.monotonic() - t0)
            if status != 202:
                self.errors.append("push: status %d %r" % (status, reply))
                continue
            self.accepted += json.loads(reply)["accepted"]
        s.close()
        return i

    def stop(self):
        self._stop.set()
        self._t.join(10)


def p99(xs):
    xs = sorted(xs)
    return xs[max(0, int(len(xs) * 0.99) - 1)] if xs else float("inf")


class Flood:
    """This file run with --flood: attackers in another process."""

    def __init__(self, port, slow, huge, seconds):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--flood", str(port),
             str(slow), str(huge), str(seconds)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def result(self):
        out, _ = self.proc.communicate(timeout=120)
        return out.decode("utf-8", errors="replace")


def flood_main(port, n_slow, n_huge, seconds):
    """n_slow slowloris connections (a header byte every 200 ms, never the
    end; opened again when closed) and n_huge senders of 1 MiB headers,
    for seconds. Prints what it saw."""
    stop = time.monotonic() + seconds
    seen = {"slow_closed": 0, "huge_431": 0, "huge_other": 0}
    lock = threading.Lock()

    def slow():
        while time.monotonic() < stop:
            try:
                s = connect(port)
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                while time.monotonic() < stop:
                    s.sendall(b"X")
                    time.sleep(0.2)
            except OSError:
                with lock:
                    seen["slow_closed"] += 1
                time.sleep(0.05)

    def huge():
        blob = b"X-Big: " + b"a" * (1 << 20) + b"\r\n\r\n"
        while time.monotonic() < stop:
            try:
                s = connect(port)
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + blob)
                status, _ = read_response(s, timeout=10.0)
                s.close()
                with lock:
                    seen["huge_431" if status == 431 else "huge_other"] += 1
            except (OSError, AssertionError):
                with lock:
                    seen["huge_other"] += 1
            time.sleep(0.01)

    ts = [threading.Thread(target=slow, daemon=True) for _ in range(n_slow)]
    ts += [threading.Thread(target=huge, daemon=True) for _ in range(n_huge)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(seconds + 30)
    print(json.dumps(seen))


class Limits(H.HarkTestCase):

    def test_deep_line(self):
        """A 100,000-deep line between good ones is rejected with its line
        number and reason, while a good client keeps pushing and /healthz
        keeps answering; every good mention is counted."""
        h = self.harkd(conf())
        good = GoodClient(h.port)
        good.start()
        pusher = threading.Thread(target=good.push, args=(60,))
        pusher.start()
        time.sleep(0.1)
        deep_s = []
        for k in range(3):
            body = (mention(100000 + 2 * k) + "\n" + deep_line(100000) + "\n" +
                    mention(100001 + 2 * k) + "\n").encode()
            t0 = time.monotonic()
            status, reply = H.post_mentions(h.port, body, timeout=30.0)
            deep_s.append(time.monotonic() - t0)
            self.assertEqual(status, 202, reply)
            self.assertEqual((reply["accepted"], reply["rejected"]), (2, 1), reply)
            self.assertEqual(reply["errors"],
                             [{"line": 2, "error": "nesting deeper than 64"}])
        pusher.join(60)
        time.sleep(0.2)
        good.stop()
        self.assertEqual(good.errors, [])
        self.assertEqual(good.accepted, 300)
        worst = max(good.healthz_s)
        print("deep line answered in %.1f ms at worst; /healthz worst %.1f ms over %d polls"
              % (max(deep_s) * 1000, worst * 1000, len(good.healthz_s)))
        self.assertLess(max(deep_s), HEALTHZ_MAX_S)
        self.assertLess(worst, HEALTHZ_MAX_S)
        H.wait_until(lambda: H.rule_info(h.port, "brand").get("matched_total") == 306,
                     30.0, 0.1, "306 mentions counted")
        self.assertEqual(H.get_metrics(h.port).get("hark_mentions_rejected_total"), 3)
        # 64 deep is a mention like any other
        status, reply = H.post_mentions(h.port, deep_line(63) + "\n")
        self.assertEqual((status, reply["accepted"]), (202, 1), reply)
        self.stop(h)

    def test_huge_header(self):
        """A 64 MiB header is answered 431 and costs harkd no memory; a
        header just under 8 KiB still works."""
        h = self.harkd(conf())
        for _ in range(20):
            self.assertEqual(H.http_request(h.port, "GET", "/healthz")[0], 200)
        before = rss_kib(h.proc.pid)
        s = connect(h.port, timeout=30.0)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
        chunk = b"a" * (1 << 20)
        for _ in range(64):
            s.sendall(chunk)
        s.sendall(b"\r\n\r\n")
        status, body = read_response(s, timeout=30.0)
        s.close()
        after = rss_kib(h.proc.pid)
        print("64 MiB header: %d; RSS %d KiB before, %d KiB after" % (status, before, after))
        self.assertEqual(status, 431, body)
        self.assertIn(b"8192", body)
        self.assertLess(after - before, 4096)
        # the limit counts the request line and headers with their CRLFs
        line = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
        for size, want in ((8192, 200), (8193, 431)):
            pad = size - len(line) - len(b"X: \r\n\r\n")
            s = connect(h.port)
            s.sendall(line + b"X: " + b"a" * pad + b"\r\n\r\n")
            self.assertEqual(read_response(s)[0], want, "head of %d bytes" % size)
            s.close()
        # on a keep-alive connection the gate follows bodies by their
        # length (a padded one too), so the next head is measured from
        # its own first byte: blank lines inside a body are not its end
        s = connect(h.port)
        body = (mention(1) + "\n\r\n\r\n" + mention(2) + "\n").encode()
        for pad in (b"", b" " * 100):
            s.sendall(b"POST /v1/mentions HTTP/1.1\r\nHost: x\r\nContent-Length:" + pad
                      + b" %d\r\n\r\n" % len(body) + body)
            self.assertEqual(read_response(s)[0], 202)
        s.sendall(line + b"X: " + b"a" * 8000 + b"\r\n\r\n")
        self.assertEqual(read_response(s)[0], 200)
        s.sendall(line + b"X: " + b"a" * 8200 + b"\r\n\r\n")
        self.assertEqual(read_response(s)[0], 431)
        s.close()
        self.assertEqual(H.http_request(h.port, "GET", "/healthz")[0], 200)
        m = H.get_metrics(h.port)
        self.assertEqual(m.get("hark_http_limited_total"), 3, m)
        self.stop(h)

    def test_flood(self):
        """Slowloris connections and 1 MiB header floods while a good client
        pushes: its p99 stays under 50 ms and /healthz under 0.5 s."""
        h = self.harkd(conf("  header_timeout: 2s\n"))
        good = GoodClient(h.port)
        good.start()
        good.push(20)  # warm
        good.push_s.clear()
        flood = Flood(h.port, slow=200, huge=4, seconds=12)
        time.sleep(2.0)  # the flood is up
        nxt = good.push(400, first=1000)
        good.stop()
        seen = json.loads(flood.result().strip().splitlines()[-1])
        m = H.get_metrics(h.port)
        print("flood %r; good client p99 %.1f ms, max %.1f ms over %d pushes; "
              "/healthz worst %.1f ms" % (seen, p99(good.push_s) * 1000,
                                         max(good.push_s) * 1000, len(good.push_s),
                                         max(good.healthz_s) * 1000))
        self.assertEqual(good.errors, [])
        self.assertEqual(good.accepted, 100 + 2000)
        self.assertGreater(seen["huge_431"], 0, seen)
        self.assertEqual(seen["huge_other"], 0, seen)
        self.assertGreater(seen["slow_closed"], 0, seen)
        self.assertLess(p99(good.push_s), P99_MAX_S)
        self.assertLess(max(good.healthz_s), HEALTHZ_MAX_S)
        # every flood connection is gone from the count once closed
        H.wait_until(lambda: H.get_metrics(h.port).get("hark_http_connections", 99) <= 1,
                     15.0, 0.1, "connections back to the metrics request's")
        self.assertEqual(nxt, 1000 + 2000)
        self.assertGreaterEqual(m.get("hark_http_limited_total", 0),
                                seen["huge_431"] + seen["slow_closed"], m)
        self.stop(h)

    def test_max_connections(self):
        """Past http.max_connections a new connection gets 503 and is
        closed at once; the accepted ones keep working; closing frees
        their places."""
        h = self.harkd(conf("  max_connections: 20\n  header_timeout: 60s\n"))
        good = GoodClient(h.port)
        nxt = good.push(5)
        # the closed ones are gone: only the metrics request's is left
        H.wait_until(lambda: H.get_metrics(h.port).get("hark_http_connections") == 1,
                     10.0, 0.05, "earlier connections closed")
        keep = connect(h.port)  # one accepted connection kept alive
        keep.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(read_response(keep)[0], 200)
        extra = [connect(h.port) for _ in range(40)]
        refused = []
        for s in extra:
            t = closed_within(s, 0.05)
            if t is not None:
                refused.append(s)
        # 19 more fit (the kept one is the 20th): the others are turned away
        deadline = time.monotonic() + 5.0
        while len(refused) < 21 and time.monotonic() < deadline:
            for s in extra:
                if s not in refused and closed_within(s, 0.01) is not None:
                    refused.append(s)
        self.assertEqual(len(refused), 21)
        # the accepted connection is not stalled by the refused ones
        t0 = time.monotonic()
        keep.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(read_response(keep)[0], 200)
        self.assertLess(time.monotonic() - t0, HEALTHZ_MAX_S)
        s = connect(h.port)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        status, body = read_response(s)
        self.assertEqual(status, 503, body)
        s.close()
        for s in extra:
            s.close()
        # places are given back: a new client gets in again
        H.wait_until(lambda: H.http_request(h.port, "GET", "/healthz")[0] == 200,
                     10.0, 0.1, "a place free again")
        good.push(5, first=nxt)
        self.assertEqual(good.errors, [])
        m = H.get_metrics(h.port)
        self.assertGreaterEqual(m.get("hark_http_limited_total"), 22, m)
        keep.close()
        self.stop(h)

    def test_timeouts(self):
        """A head that arrives slowly is closed after header_timeout even
        though bytes keep coming; an idle keep-alive connection after
        idle_timeout; a connection in use is not."""
        h = self.harkd(conf("  header_timeout: 1s\n  idle_timeout: 2s\n"))
        # bytes every 200 ms, never the end of the head
        s = connect(h.port)
        s.sendall(b"GET /healthz HTTP/1.1\r\n")
        t0 = time.monotonic()
        closed = None
        while time.monotonic() - t0 < 6.0:
            try:
                s.sendall(b"X-Slow: y\r\n")
            except OSError:
                closed = time.monotonic() - t0
                break
            t = closed_within(s, 0.2)
            if t is not None:
                closed = time.monotonic() - t0
                break
        self.assertIsNotNone(closed, "slow head never closed")
        self.assertGreater(closed, 0.8)
        self.assertLess(closed, 3.0)
        # nothing sent at all
        s = connect(h.port)
        t = closed_within(s, 6.0)
        self.assertIsNotNone(t)
        self.assertGreater(t, 0.8)
        self.assertLess(t, 3.0)
        # idle after a request
        s = connect(h.port)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(read_response(s)[0], 200)
        t = closed_within(s, 8.0)
        self.assertIsNotNone(t)
        self.assertGreater(t, 1.6)
        self.assertLess(t, 4.5)
        # in use: a request every 0.5 s for 4 s on one connection
        s = connect(h.port)
        for _ in range(8):
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(read_response(s)[0], 200)
            time.sleep(0.5)
        s.close()
        # a chunked body: answered, then the connection closes
        s = connect(h.port)
        line = (mention(1) + "\n").encode()
        s.sendall(b"POST /v1/mentions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  + b"%x\r\n" % len(line) + line + b"\r\n0\r\n\r\n")
        status, reply = read_response(s)
        self.assertEqual(status, 202, reply)
        self.assertIsNotNone(closed_within(s, 3.0))
        m = H.get_metrics(h.port)
        self.assertEqual(m.get("hark_http_limited_total"), 2, m)
        self.stop(h)


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--flood":
        flood_main(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]),
                   float(sys.argv[5]))
    else:
        H.main()
