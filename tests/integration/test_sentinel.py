# SPDX-License-Identifier: MIT
"""store.sentinel through a real failover: a primary, its replica and three
sentinels (quorum 2); harkd finds the primary through them. The replica is
cut off (SIGSTOP, its link killed) while a slice of the stream lands on the
primary, then the primary is SIGKILLed mid-stream: the promoted replica has
really lost that slice (Redis replicates asynchronously). harkd follows the
failover and sends again what the old primary acknowledged last, so every
bucket's stored count equals what was pushed and answered 202, and the
spike's alert reaches a real HTTP sink exactly once. A manual failover
(the old primary demoted, not killed) is followed too."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

BUCKET = 300
MASTER = "mymaster"

CONF = """\
store:
  sentinel:
    master: {master}
    nodes: [{nodes}]
  timeout: 1s
  flush_interval: 100ms
http:
  listen: "127.0.0.1:@PORT@"
sources:
  - name: push
    type: http-push
receivers:
  - name: hook
    type: webhook
    url: "{sink}"
    timeout: 5s
rules:
  - name: brand
    match:
      any: ["blablacar", "bla bla car", "#blablacar", "@blablacar"]
    bucket: 5m
    notify: [hook]
"""


def sentinel_cmd():
    """Debian's redis-sentinel, else redis-server --sentinel (one binary)."""
    path = shutil.which("redis-sentinel")
    return [path] if path else [H.REDIS_SERVER, "--sentinel"]


def stored_total(port):
    keys = H.redis_cmd(port, "KEYS", "hark:{brand}:v2:count:*") or []
    return sum(H.stored_count(port, "brand", int(k.rsplit(b":", 1)[1])) for k in keys)


def stored_buckets(port):
    keys = H.redis_cmd(port, "KEYS", "hark:{brand}:v2:count:*") or []
    out = {}
    for k in keys:
        b = int(k.rsplit(b":", 1)[1])
        out[b] = H.stored_count(port, "brand", b)
    return out


def line_time(line):
    o = json.loads(line)
    ts = o["data"]["created_at"] if "data" in o else o["created_at"]
    return int(H.parse_ts(ts))


def index_at(stream, t):
    for i, line in enumerate(stream.lines):
        if line_time(line) >= t:
            return i
    return len(stream.lines)


def role(port):
    try:
        return H.redis_cmd(port, "ROLE")[0].decode()
    except (OSError, ConnectionError, RuntimeError):
        return None


class Sentinel(H.HarkTestCase):

    def start(self, args, name):
        """A redis-server (or sentinel) on a free port; (proc, port)."""
        for _ in range(5):
            port = H.free_port()
            log = os.path.join(self.tmp, "%s-%d.log" % (name, port))
            a = [x.replace("@PORT@", str(port)) for x in args]
            with open(log, "wb") as lf:
                proc = subprocess.Popen(a, stdout=lf, stderr=subprocess.STDOUT, cwd=self.tmp)
            self.procs.append(proc)
            deadline = time.monotonic() + H.START_TIMEOUT
            while time.monotonic() < deadline and proc.poll() is None:
                if H.redis_ping(port):
                    return proc, port
                time.sleep(0.02)
            H.kill_proc(proc)
            if "Address already in use" not in H.tail(log):
                break
        raise AssertionError("%s did not start:\n%s" % (name, H.tail(log)))

    def node(self, name, *extra):
        return self.start([H.REDIS_SERVER, "--port", "@PORT@", "--bind", "127.0.0.1",
                           "--save", "", "--appendonly", "no", "--dir", self.tmp]
                          + list(extra), name)

    def sentinel(self, i, primary):
        conf = os.path.join(self.tmp, "sentinel-%d.conf" % i)
        with open(conf, "w") as f:
            f.write("port @PORT@\nbind 127.0.0.1\ndir %s\n"
                    "sentinel monitor %s 127.0.0.1 %d 2\n"
                    "sentinel down-after-milliseconds %s 1000\n"
                    "sentinel failover-timeout %s 3000\n"
                    "sentinel parallel-syncs %s 1\n"
                    % (self.tmp, MASTER, primary, MASTER, MASTER, MASTER))
        # The port goes in through the file, which the sentinel rewrites.
        with open(conf) as f:
            text = f.read()
        for _ in range(5):
            port = H.free_port()
            with open(conf, "w") as f:
                f.write(text.replace("@PORT@", str(port)))
            log = os.path.join(self.tmp, "sentinel-%d.log" % i)
            with open(log, "ab") as lf:
                proc = subprocess.Popen(sentinel_cmd()[:1] + [conf] + sentinel_cmd()[1:],
                                        stdout=lf, stderr=subprocess.STDOUT, cwd=self.tmp)
            self.procs.append(proc)
            deadline = time.monotonic() + H.START_TIMEOUT
            while time.monotonic() < deadline and proc.poll() is None:
                if H.redis_ping(port):
                    return port
                time.sleep(0.02)
            H.kill_proc(proc)
        raise AssertionError("sentinel did not start:\n" + H.tail(log))

    def setup_cluster(self):
        primary_proc, primary = self.node("primary")
        replica_proc, replica = self.node("replica")
        H.redis_cmd(replica, "REPLICAOF", "127.0.0.1", str(primary))
        H.wait_until(lambda: b"master_link_status:up" in H.redis_cmd(replica, "INFO", "replication"),
                     20.0, 0.05, "the replica in sync")
        sentinels = [self.sentinel(i, primary) for i in range(3)]

        def ready():
            for s in sentinels:
                if len(H.redis_cmd(s, "SENTINEL", "sentinels", MASTER)) != 2:
                    return False
                if len(H.redis_cmd(s, "SENTINEL", "replicas", MASTER)) != 1:
                    return False
            return True
        H.wait_until(ready, 30.0, 0.1, "the sentinels to know each other and the replica")
        return primary_proc, primary, replica_proc, replica, sentinels

    def harkd_on(self, sentinels, sink):
        nodes = ", ".join('"127.0.0.1:%d"' % s for s in sentinels)
        return self.harkd(CONF.format(master=MASTER, nodes=nodes, sink=sink.url))

    def push(self, h, lines):
        for k in range(0, len(lines), 2000):
            part = lines[k:k + 2000]
            status, reply = H.post_mentions(h.port, "".join(l + "\n" for l in part))
            self.assertEqual(status, 202, reply)
            self.assertEqual(reply["accepted"], len(part), reply)

    def firing(self, sink):
        return [b for b in sink.bodies() if isinstance(b, dict) and b.get("status") == "firing"]

    def log_has(self, h, text):
        with open(h.log, encoding="utf-8", errors="replace") as f:
            return text in f.read()

    def wait_stored(self, port, expected, per_bucket=None):
        """Waits for the stored total to reach expected; on a timeout says
        which buckets are short. Then the buckets must match exactly."""
        try:
            H.wait_until(lambda: stored_total(port) == expected, 30.0, 0.1,
                         "stored = pushed on the new primary")
        except AssertionError:
            got = stored_buckets(port)
            short = sorted((H.rfc3339(b), n, got.get(b)) for b, n in (per_bucket or {}).items()
                           if got.get(b) != n)
            raise AssertionError("stored %d of %d pushed; %d buckets differ (pushed, stored): %r"
                                 % (stored_total(port), expected, len(short), short[:10]))
        if per_bucket is not None:
            self.assertEqual(stored_buckets(port), per_bucket)

    def test_failover_keeps_counts(self):
        primary_proc, primary, replica_proc, replica, sentinels = self.setup_cluster()
        sink = self.sink()
        h = self.harkd_on(sentinels, sink)
        H.wait_until(lambda: self.log_has(h, "sentinel master %s at 127.0.0.1:%d"
                                          % (MASTER, primary)), 20.0, 0.05, "the primary found")
        stream = H.seasonal_stream(days=3, seed=7)
        t0 = H.START_2026_11_01
        i1 = index_at(stream, t0 + 86400)              # day 1
        i2 = index_at(stream, t0 + 86400 + 6 * 3600)   # the slice Redis will lose
        i3 = index_at(stream, t0 + 2 * 86400)          # pushed during the failover
        brand = lambda a, b: sum(1 for i in range(a, b) if stream.is_brand[i])

        self.push(h, stream.lines[:i1])
        H.wait_until(lambda: stored_total(primary) == brand(0, i1), 30.0, 0.05,
                     "day 1 on the primary")
        H.wait_until(lambda: stored_total(replica) == brand(0, i1), 30.0, 0.05,
                     "day 1 on the replica")

        # Cut the replica off, then land a slice on the primary alone.
        replica_proc.send_signal(signal.SIGSTOP)
        H.redis_cmd(primary, "CLIENT", "KILL", "TYPE", "replica")
        self.push(h, stream.lines[i1:i2])
        H.wait_until(lambda: stored_total(primary) == brand(0, i2), 30.0, 0.05,
                     "the slice acknowledged by the primary")
        primary_proc.send_signal(signal.SIGKILL)
        primary_proc.wait(10)
        replica_proc.send_signal(signal.SIGCONT)
        lost = brand(0, i2) - stored_total(replica)
        self.assertEqual(lost, brand(i1, i2), "the replica was meant to miss the slice")

        # Mid-stream: pushes are answered while the sentinels fail over.
        self.push(h, stream.lines[i2:i3])
        H.wait_until(lambda: role(replica) == "master", 30.0, 0.1, "the replica promoted")
        H.wait_until(lambda: self.log_has(h, "sentinel master %s at 127.0.0.1:%d"
                                          % (MASTER, replica)), 30.0, 0.1,
                     "harkd following the failover")
        self.push(h, stream.lines[i3:])
        expected = brand(0, len(stream.lines))
        H.wait_until(lambda: H.rule_info(h.port, "brand").get("matched_total") == expected,
                     30.0, 0.1, "every mention counted")
        per_bucket = {}
        for i, line in enumerate(stream.lines):
            if stream.is_brand[i]:
                b = line_time(line) // BUCKET * BUCKET
                per_bucket[b] = per_bucket.get(b, 0) + 1
        self.wait_stored(replica, expected, per_bucket)
        got = stored_total(replica)
        m = H.get_metrics(h.port)
        self.assertEqual(m.get("hark_store_dropped_writes_total"), 0)
        self.assertEqual(m.get("hark_store_up"), 1)

        H.wait_until(lambda: self.firing(sink), 60.0, 0.1, "the spike's alert")
        time.sleep(1.0)  # a second copy would come within the flush rounds
        fired = self.firing(sink)
        self.assertEqual(len(fired), 1, fired)
        self.assertTrue(H.overlaps(H.parse_ts(fired[0]["window_start"]),
                                   H.parse_ts(fired[0]["window_end"]), *stream.spike))
        sys.stdout.write("pushed %d brand mentions, %d lost by Redis in the failover, "
                         "stored %d on the new primary; %d firing alert(s)\n"
                         % (expected, lost, got, len(fired)))
        self.stop(h)
        self.assertEqual(stored_total(replica), expected)

    def test_manual_failover_demotes(self):
        """SENTINEL FAILOVER: the old primary lives on as a replica (it
        would answer writes with READONLY); harkd writes to the new one."""
        primary_proc, primary, replica_proc, replica, sentinels = self.setup_cluster()
        sink = self.sink()
        h = self.harkd_on(sentinels, sink)
        stream = H.seasonal_stream(days=1, seed=3, spike_day=-1)
        half = len(stream.lines) // 2
        brand = lambda a, b: sum(1 for i in range(a, b) if stream.is_brand[i])
        self.push(h, stream.lines[:half])
        H.wait_until(lambda: stored_total(primary) == brand(0, half), 30.0, 0.05,
                     "the first half on the primary")
        self.assertEqual(H.redis_cmd(sentinels[0], "SENTINEL", "FAILOVER", MASTER), "OK")
        H.wait_until(lambda: role(replica) == "master" and role(primary) == "slave",
                     30.0, 0.1, "the roles swapped")
        self.push(h, stream.lines[half:])
        expected = brand(0, len(stream.lines))
        self.wait_stored(replica, expected)
        self.assertTrue(self.log_has(h, "sentinel master %s at 127.0.0.1:%d" % (MASTER, replica)))
        self.assertEqual(H.get_metrics(h.port).get("hark_store_dropped_writes_total"), 0)
        self.stop(h)


if __name__ == "__main__":
    H.main()
