# SPDX-License-Identifier: MIT
"""store.cluster on a real Redis Cluster (three masters in a temp dir,
joined by redis-cli --cluster create): two harkd with the same rules and
a stream with a spike split between them. Every brand mention pushed is
stored (the rule's count keys read from the master that owns their slot),
the spike fires exactly once, and the rule's keys and the fleet's live
on different masters, so both kinds of routing are used."""

import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import test_fleet as F  # noqa: E402
import test_resilience as R  # noqa: E402

REDIS_CLI = os.environ.get("REDIS_CLI", shutil.which("redis-cli") or "redis-cli")


def crc16(b):
    c = 0
    for x in b:
        c ^= x << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x1021) & 0xffff if c & 0x8000 else (c << 1) & 0xffff
    return c


def slot(tag):
    return crc16(tag.encode()) % 16384


class Cluster(H.HarkTestCase):
    # The fleet test's helpers (not its tests): pushing, alerts, and what
    # one harkd alone sends on one plain Redis.
    alerts = F.Fleet.alerts
    push = F.Fleet.push
    lone = F.Fleet.lone
    wait_alerts = F.Fleet.wait_alerts

    def cluster(self, n=3):
        """n empty masters joined into one cluster, all saying ok: their
        ports."""
        ports = []
        for i in range(n):
            d = os.path.join(self.tmp, "n%d" % i)
            os.mkdir(d)
            # The bus port (by default the port + 10000) picked free too.
            proc, port = H.start_redis(d, extra=(
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "5000", "--cluster-port", str(H.free_port())))
            self.procs.append(proc)
            ports.append(port)
        out = subprocess.run([REDIS_CLI, "--cluster", "create"] +
                             ["127.0.0.1:%d" % p for p in ports] + ["--cluster-yes"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        H.wait_until(lambda: all(b"cluster_state:ok" in H.redis_cmd(p, "CLUSTER", "INFO")
                                 for p in ports), 30.0, 0.1, "cluster_state:ok everywhere")
        return ports

    def owner(self, ports, tag):
        """The port of the master that owns tag's slot."""
        s = slot(tag)
        for r in H.redis_cmd(ports[0], "CLUSTER", "SLOTS"):
            if r[0] <= s <= r[1]:
                return r[2][1]
        raise AssertionError("slot %d has no owner" % s)

    def cluster_total(self, ports):
        """The brand rule's stored count: every bucket's fields, read on
        every master (a key lives on the one that owns its slot)."""
        total = 0
        for p in ports:
            for k in H.redis_cmd(p, "KEYS", "hark:{brand}:v2:count:*") or []:
                self.assertEqual(p, self.owner(ports, "brand"))
                total += H.stored_count(p, "brand", int(k.rsplit(b":", 1)[1]))
        return total

    def test_two_instances_on_a_cluster(self):
        stream = H.seasonal_stream(days=3, seed=13)
        ref_fired, _ = self.lone(stream)
        self.assertEqual(len(ref_fired), 1, ref_fired)

        ports = self.cluster()
        # The rule's keys and the fleet's on two different masters.
        self.assertNotEqual(self.owner(ports, "brand"), self.owner(ports, "fleet"))
        sink = self.sink()
        seeds = ", ".join('"redis://127.0.0.1:%d"' % p for p in ports[:2])
        conf = R.CONF.format(store="store:\n  cluster: [%s]\n" % seeds, sink=sink.url)
        hs = [self.harkd(conf) for _ in range(2)]
        H.wait_until(lambda: all(H.http_request(h.port, "GET", "/readyz")[0] == 200
                                 for h in hs), 20.0, 0.1, "both ready on the cluster")
        H.wait_until(lambda: sum(m["live"] for m in H.get_json(hs[0].port, "/v1/cluster")[1]
                                 ["members"]) == 2, 20.0, 0.1, "two live members")
        self.assertEqual(H.get_json(hs[0].port, "/v1/cluster")[1]["store"], "redis")
        self.assertEqual(H.get_metrics(hs[1].port).get("hark_store_up"), 1)
        # Both begin counting within the first buckets, then take turns.
        parts = [[ln] for ln in stream.lines[:30]] + F.chunks(stream.lines[30:], 500)
        for k, part in enumerate(parts):
            self.push(hs[k % 2], part)
        fired = H.wait_until(lambda: self.alerts(sink, "firing"), 90.0, 0.1, "the firing")
        time.sleep(3.0)  # whatever would come twice has come by now
        fired = self.alerts(sink, "firing")

        # Exactly one firing for the spike, the lone instance's bucket.
        self.assertEqual(len(fired), 1, fired)
        for key in ("id", "window_start", "window_end"):
            self.assertEqual(fired[0][key], ref_fired[0][key], key)
        # ORDERING CAVEAT (issue 13, item 6): a member's count writes (on
        # the rule's master) and its later announcement (on the fleet's)
        # travel on two connections here, so another member may judge a
        # bucket before those writes land and report a smaller count
        # than the lone instance. Known, to be fixed on the fleet side;
        # this is the assertion it would fail.
        self.assertEqual(fired[0]["count"], ref_fired[0]["count"],
                         "judged before the other member's writes landed?")

        # Stored = pushed: every brand mention, whoever counted it.
        for h in hs:
            self.stop(h)
        self.assertEqual(self.cluster_total(ports), stream.matching)


if __name__ == "__main__":
    H.main()
