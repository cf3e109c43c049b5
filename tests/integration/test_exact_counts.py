# SPDX-License-Identifier: MIT
"""Counts that are neither multiplied nor lost (issue 12): a Redis slower
than store.timeout (DEBUG SLEEP, SIGSTOP) while mentions stream in, Redis
killed and started again on its AOF, and harkd killed 3 s after its last
202, then restarted: every bucket's stored count, summed, equals what was
pushed. (Redis killed without persistence loses what it held: harkd's
part, counting on and landing the writes of the outage exactly, is
test_resilience's.)"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

CONF = """\
store:
  redis: "redis://127.0.0.1:{port}/0"
  timeout: 1s
http:
  listen: "127.0.0.1:@PORT@"
sources:
  - name: push
    type: http-push
receivers:
  - name: log
    type: log
rules:
  - name: brand
    match:
      any: ["blablacar"]
    bucket: 1m
    notify: [log]
"""


def mention(i, t):
    return json.dumps({"id": "e%d" % i, "text": "blablacar trip %d" % i,
                       "created_at": H.rfc3339(t)})


def stored_total(port):
    keys = H.redis_cmd(port, "KEYS", "hark:{brand}:v2:count:*") or []
    return sum(H.stored_count(port, "brand", int(k.rsplit(b":", 1)[1])) for k in keys)


class ExactCounts(H.HarkTestCase):

    def redis_debug(self):
        """A redis-server that takes DEBUG SLEEP (off by default in 7)."""
        port = H.free_port()
        log = os.path.join(self.tmp, "redis-%d.log" % port)
        with open(log, "wb") as lf:
            proc = subprocess.Popen(
                [H.REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", self.tmp,
                 "--enable-debug-command", "yes"],
                stdout=lf, stderr=subprocess.STDOUT, cwd=self.tmp)
        self.procs.append(proc)
        H.wait_until(lambda: H.redis_ping(port), 20.0, 0.05, "redis on %d" % port)
        return proc, port

    def stream(self, h, n_pushes, per_push, first_id, during=None):
        """Pushes n_pushes bodies of per_push mentions stamped over the
        last minutes (so buckets close and stay open as they go), calling
        during() after the first third; returns the mentions pushed."""
        now = int(time.time())
        pushed = 0
        for k in range(n_pushes):
            if k == n_pushes // 3 and during is not None:
                during()
            lines = [mention(first_id + pushed + j,
                             now - 600 + (k * per_push + j) * 600 // (n_pushes * per_push))
                     for j in range(per_push)]
            status, reply = H.post_mentions(h.port, "\n".join(lines) + "\n")
            self.assertEqual(status, 202, reply)
            self.assertEqual(reply["accepted"], per_push, reply)
            pushed += per_push
            time.sleep(0.2)
        return pushed

    def stall(self, how):
        proc, port = self.redis_debug()
        h = self.harkd(CONF.format(port=port))

        def stop_redis():
            if how == "sleep":
                # The reply comes after 4 s: sent from a thread.
                def sleep():
                    s = socket.create_connection(("127.0.0.1", port), timeout=10)
                    s.sendall(b"DEBUG SLEEP 4\r\n")
                    s.recv(64)
                    s.close()
                threading.Thread(target=sleep, daemon=True).start()
            else:
                proc.send_signal(signal.SIGSTOP)
                threading.Timer(4.0, lambda: proc.send_signal(signal.SIGCONT)).start()

        pushed = self.stream(h, 24, 1000, 0, during=stop_redis)
        # Within a flush interval and a retry of the store being back,
        # the closed and the open buckets are all in Redis, exactly.
        got = H.wait_until(lambda: (stored_total(port) == pushed and pushed) or None,
                           30.0, 0.2, "stored = pushed (last %d)" % stored_total(port))
        self.assertEqual(got, pushed)
        m = H.get_metrics(h.port)
        self.assertEqual(m.get("hark_store_dropped_writes_total"), 0)
        self.assertEqual(H.rule_info(h.port, "brand").get("matched_total"), pushed)
        # Nothing more comes: no write was counted twice late.
        time.sleep(2.5)
        self.assertEqual(stored_total(port), pushed)
        self.stop(h)
        self.assertEqual(stored_total(port), pushed)

    def test_redis_debug_sleep_past_timeout(self):
        self.stall("sleep")

    def test_redis_sigstop_past_timeout(self):
        self.stall("stop")

    def test_redis_killed_with_aof(self):
        # Redis SIGKILLed mid-stream and started again on its AOF
        # (appendfsync always: what it answered is on disk): what harkd
        # wrote before, what it queued meanwhile and what it writes after
        # add up to what was pushed, exactly.
        port = H.free_port()
        args = [H.REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                "--dir", self.tmp]
        log = open(os.path.join(self.tmp, "redis-aof.log"), "ab")
        self.addCleanup(log.close)
        procs = [subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp)]
        self.procs.append(procs[0])
        H.wait_until(lambda: H.redis_ping(port), 20.0, 0.05, "redis on %d" % port)
        h = self.harkd(CONF.format(port=port))

        def kill_and_restart():
            procs[0].send_signal(signal.SIGKILL)
            procs[0].wait(10)

            def again():
                p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp)
                self.procs.append(p)
            threading.Timer(2.0, again).start()

        pushed = self.stream(h, 24, 1000, 0, during=kill_and_restart)
        H.wait_until(lambda: (stored_total(port) == pushed and pushed) or None,
                     30.0, 0.2, "stored = pushed (last %d)" % stored_total(port))
        self.stop(h)
        self.assertEqual(stored_total(port), pushed)

    def test_harkd_killed_then_restarted(self):
        _, port = self.redis_debug()
        h = self.harkd(CONF.format(port=port))
        # The last mentions of the first run are in the current minute.
        if time.time() % 60 > 45:
            time.sleep(61 - time.time() % 60)
        pushed = self.stream(h, 6, 1000, 0)
        time.sleep(3)
        h.proc.send_signal(signal.SIGKILL)
        h.proc.wait(10)
        # Answered 202 more than 2 s before the kill: all in Redis, the
        # buckets still open included.
        self.assertEqual(stored_total(port), pushed)
        # A new run adds its own counts to the buckets still open: the
        # last run's count of the current minute stays and adds up.
        h2 = self.harkd(CONF.format(port=port), name="again.yaml")
        now = int(time.time())
        more = 0
        for k in range(3):
            lines = [mention(100000 + more + j, now - 1) for j in range(500)]
            status, reply = H.post_mentions(h2.port, "\n".join(lines) + "\n")
            self.assertEqual((status, reply["accepted"]), (202, 500), reply)
            more += 500
        self.assertEqual(H.rule_info(h2.port, "brand").get("late_total"), 0)
        self.stop(h2)
        self.assertEqual(stored_total(port), pushed + more)
        keys = H.redis_cmd(port, "KEYS", "hark:{brand}:v2:count:*")
        self.assertTrue(any(H.redis_cmd(port, "HLEN", k) == 2 for k in keys),
                        "no bucket counted by both runs")


if __name__ == "__main__":
    import unittest
    unittest.main()
