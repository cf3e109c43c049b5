# SPDX-License-Identifier: MIT
"""Several harkd on one Redis (issue 13): three instances with the same
rules and one stream split among them judge every bucket on the fleet's
total and send exactly one firing and one resolved for the spike, with the
figures a lone instance sends; one of them killed at 60 % of the stream
(2.5 s after its last 202) is left out within seconds and nothing it
answered is lost; GET /v1/cluster and /metrics show the members."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import test_outbox as O  # noqa: E402
import test_resilience as R  # noqa: E402
import test_sources as S  # noqa: E402

# The resilience tests' daemon (a webhook with resolves, the brand rule
# over 5-minute buckets), on one Redis.
CONF = R.CONF.replace("{store}", 'store:\n  redis: "redis://127.0.0.1:{port}/0"\n')


def chunks(lines, n):
    return [lines[i:i + n] for i in range(0, len(lines), n)]


def endless(k, handler, rec):
    """ScriptServer's play: one flat mention every 10 ms, ids counting up
    per connection, stamped now, until the reader goes."""
    S.start_stream(handler, "application/x-ndjson")
    for i in range(10 ** 9):
        S.chunk(handler, rec, json.dumps({"id": "c%d-%d" % (k, i), "text": "blablacar %d" % i,
                                          "created_at": H.rfc3339(time.time())}) + "\n")
        time.sleep(0.01)


def open_at_once(recs):
    """The most connections open at the same time."""
    ev = sorted([(r["start"], 1) for r in recs] +
                [(r["end"], -1) for r in recs if r["end"] is not None])
    most = n = 0
    for _, d in ev:
        n += d
        most = max(most, n)
    return most


# A log receiver and the brand rule over 1-minute buckets.
LOG_BRAND = """\
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

LEASED = """\
store:
  redis: "redis://127.0.0.1:{port}/0"
http:
  listen: "127.0.0.1:@PORT@"
sources:
  - name: x
    type: http-stream
    url: "{url}"
    format: flat
    lease: true
""" + LOG_BRAND


GROUPED = """\
store:
  redis: "redis://127.0.0.1:{store}/0"
http:
  listen: "127.0.0.1:@PORT@"
sources:
  - name: queue
    type: redis-stream
    redis: "redis://127.0.0.1:{stream}/0"
    stream: mentions
    block: 200ms
    claim_after: 5s
""" + LOG_BRAND


# The outbox tests' daemon on one Redis, one rule each: two members
# sending to one receiver, each its own rule's notifications.
OUTBOX_CONF = O.CONF.replace("{store}", 'store:\n  redis: "redis://127.0.0.1:{port}/0"\n') \
    .replace(O.RULES, """\
rules:
  - name: {rule}
    match:
      any: ["{word}"]
    bucket: 5m
    warmup: 30m
    cooldown: 1m
    notify: [hook]
""")

OUTBOX_KEY = "hark:{fleet}:v2:outbox:hook"


class Fleet(H.HarkTestCase):

    def xadd(self, port, first, n):
        now = time.time()
        with H.Resp(port) as r:
            for i in range(first, first + n):
                r.command("XADD", "mentions", "*", "mention", json.dumps(
                    {"id": "q%d" % i, "text": "blablacar %d" % i,
                     "created_at": H.rfc3339(now - 30 + 30.0 * (i - first) / n)}))

    def pending(self, port, consumer=None):
        """Entries of the group read and not acknowledged (of consumer)."""
        if consumer is None:
            return H.redis_cmd(port, "XPENDING", "mentions", "hark")[0]
        rows = H.redis_cmd(port, "XPENDING", "mentions", "hark", "-", "+", "100000", consumer)
        return len(rows)

    def alerts(self, sink, status):
        return [b for (_, _, b) in sink.snapshot()
                if isinstance(b, dict) and b.get("status") == status]

    def push(self, h, lines):
        status, reply = H.post_mentions(h.port, "\n".join(lines) + "\n")
        self.assertEqual(status, 202, reply)
        self.assertEqual(reply["accepted"], len(lines), reply)

    def stored_total(self, port):
        keys = H.redis_cmd(port, "KEYS", "hark:{brand}:v2:count:*") or []
        return sum(H.stored_count(port, "brand", int(k.rsplit(b":", 1)[1]))
                   for k in keys)

    def wait_alerts(self, sink):
        H.wait_until(lambda: self.alerts(sink, "firing") and self.alerts(sink, "resolved"),
                     90.0, 0.1, "the spike's firing and resolved")
        # whatever would come twice has come by now: a beat, a claim
        time.sleep(3.0)
        return self.alerts(sink, "firing"), self.alerts(sink, "resolved")

    def lone(self, stream):
        """What one harkd alone sends for the stream."""
        port = self.redis()
        sink = self.sink()
        h = self.harkd(CONF.format(port=port, sink=sink.url))
        for c in chunks(stream.lines, 500):
            self.push(h, c)
        fired, resolved = self.wait_alerts(sink)
        self.stop(h)
        return fired, resolved

    def test_three_instances_one_killed(self):
        stream = H.seasonal_stream(days=3, seed=13)
        ref_fired, ref_resolved = self.lone(stream)
        self.assertEqual(len(ref_fired), 1, ref_fired)
        self.assertEqual(len(ref_resolved), 1, ref_resolved)

        port = self.redis()
        sink = self.sink()
        hs = [self.harkd(CONF.format(port=port, sink=sink.url)) for _ in range(3)]
        H.wait_until(lambda: sum(m["live"] for m in H.get_json(hs[0].port, "/v1/cluster")[1]
                                 ["members"]) == 3, 20.0, 0.1, "three live members")
        # As a live stream split among them would: all three begin
        # counting within the first buckets (one line each), then take
        # turns with bigger parts.
        parts = [[ln] for ln in stream.lines[:30]] + chunks(stream.lines[30:], 500)
        cut = len(parts) * 6 // 10
        live = list(hs)
        for k, part in enumerate(parts):
            if k == cut:
                # The third stops getting mentions, then dies: what it
                # answered 2.5 s before is in Redis.
                time.sleep(2.5)
                live[2].proc.send_signal(signal.SIGKILL)
                live[2].proc.wait(10)
                live = live[:2]
            self.push(live[k % len(live)], part)
        fired, resolved = self.wait_alerts(sink)

        # One firing and one resolved, with the lone instance's figures.
        self.assertEqual(len(fired), 1, fired)
        self.assertEqual(len(resolved), 1, resolved)
        for got, ref in ((fired[0], ref_fired[0]), (resolved[0], ref_resolved[0])):
            for key in ("id", "window_start", "window_end", "count"):
                self.assertEqual(got[key], ref[key], key)
            # The members' first buckets (partial, warming) differ from
            # the lone one's by a bucket or two: two days later the
            # usual level is the same to a few percent.
            self.assertLess(abs(got["baseline"] - ref["baseline"]),
                            0.03 * ref["baseline"], (got["baseline"], ref["baseline"]))
        # Every member filed both in its history; the store holds each
        # notification once, whoever filed it.
        for h in live:
            st, body = H.get_json(h.port, "/v1/alerts")
            self.assertEqual(sorted(a["id"] for a in body["alerts"]),
                             sorted([fired[0]["id"], resolved[0]["id"]]))
        self.assertEqual(sorted(k.decode() for k in H.redis_cmd(
            port, "HKEYS", "hark:{fleet}:v2:alerts")),
            sorted([fired[0]["id"], resolved[0]["id"]]))
        # Both survivors reached both verdicts; one sent each.
        lost = sum(H.get_metrics(h.port).get("hark_fleet_sent_by_others_total", 0)
                   for h in live)
        self.assertEqual(lost, 2)

        # Stored = pushed: every brand mention, whoever counted it.
        for h in live:
            self.stop(h)
        self.assertEqual(self.stored_total(port), stream.matching)

    def test_cluster_view(self):
        port = self.redis()
        sink = self.sink()
        a = self.harkd(CONF.format(port=port, sink=sink.url))
        b = self.harkd(CONF.format(port=port, sink=sink.url))
        stream = H.seasonal_stream(days=1, seed=3, spike_day=-1, minutes=120)
        self.push(a, stream.lines[:len(stream.lines) // 2])
        self.push(b, stream.lines[len(stream.lines) // 2:])

        def view():
            st, body = H.get_json(a.port, "/v1/cluster")
            self.assertEqual(st, 200)
            return body

        body = H.wait_until(lambda: (lambda v: v if len(v["members"]) == 2 and all(
            m["watermark"] for m in v["members"]) else None)(view()), 20.0, 0.1,
            "both members with a watermark")
        self.assertTrue(body["fleet"])
        self.assertEqual(body["store"], "redis")
        me = [m for m in body["members"] if m["self"]]
        self.assertEqual(len(me), 1)
        self.assertEqual(me[0]["id"], body["instance"])
        other = [m for m in body["members"] if not m["self"]][0]
        self.assertTrue(other["live"])
        self.assertLessEqual(H.parse_ts(other["watermark"]), time.time() + 1)
        self.assertGreater(other["lag_ms"], 0)
        self.assertEqual(H.get_metrics(a.port).get("hark_fleet_members"), 2)
        # hark status lists both, this one marked, with their watermarks
        out = subprocess.run([H.HARK_CLI, "status", "--url", "http://127.0.0.1:%d" % a.port],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        rows = out.stdout.split("INSTANCE", 1)[1].splitlines()[1:]
        self.assertEqual(len([r for r in rows if r.strip()]), 2, out.stdout)
        self.assertTrue(any(r.startswith(me[0]["id"]) and r.endswith("(this one)")
                            for r in rows), out.stdout)
        self.assertTrue(any(r.startswith(other["id"]) and " yes " in r for r in rows),
                        out.stdout)
        # A silence added through one member holds on the other, and
        # ends there when ended through the first.
        st, _, raw = H.http_request(b.port, "POST", "/v1/silences", json.dumps(
            {"rule": "brand", "duration": "2h", "comment": "deploy"}).encode(),
            {"Content-Type": "application/json"})
        self.assertEqual(st, 201, raw)
        sid = json.loads(raw)["id"]

        def silence_on(port):
            st, body = H.get_json(port, "/v1/silences")
            return {x["id"]: x["state"] for x in body["silences"]}.get(sid)

        H.wait_until(lambda: silence_on(a.port) == "active", 10.0, 0.1, "the silence on a")
        st, _, _ = H.http_request(a.port, "DELETE", "/v1/silences/" + sid)
        self.assertEqual(st, 200)
        H.wait_until(lambda: silence_on(b.port) == "expired", 10.0, 0.1, "ended on b")
        self.assertEqual(silence_on(a.port), "expired")

        # b stops cleanly: it leaves at once, a sees one member.
        self.stop(b)
        H.wait_until(lambda: len(view()["members"]) == 1, 10.0, 0.1, "b left")
        self.stop(a)

    def test_leased_stream(self):
        # Two instances, one stream that allows one connection: only the
        # lease holder reads it; killed, the other takes over in seconds.
        port = self.redis()
        st = S.ScriptServer(endless)
        self.addCleanup(st.close)

        def reading():
            return [r for r in st.records() if r["end"] is None]

        conf = LEASED.format(port=port, url="http://127.0.0.1:%d/x" % st.port)
        hs = [self.harkd(conf), self.harkd(conf)]
        H.wait_until(lambda: len(reading()) == 1, 15.0, 0.05, "one reader")
        time.sleep(3.0)  # renewals go by: still one
        self.assertEqual(len(st.records()), 1)

        def holder(h):
            leases = H.get_json(h.port, "/v1/cluster")[1]["leases"]
            self.assertEqual([x["source"] for x in leases], ["x"])
            return leases[0]

        held = [i for i, h in enumerate(hs) if holder(h)["self"]]
        self.assertEqual(len(held), 1)
        a, b = hs[held[0]], hs[1 - held[0]]
        self.assertEqual(H.wait_until(lambda: holder(b)["holder"], 5.0, 0.1, "holder seen"),
                         H.get_json(a.port, "/v1/cluster")[1]["instance"])
        self.assertGreater(H.rule_info(a.port, "brand")["matched_total"], 100)
        self.assertEqual(H.rule_info(b.port, "brand").get("matched_total", 0), 0)

        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait(10)
        t0 = time.monotonic()
        H.wait_until(lambda: len(st.records()) == 2 and len(reading()) == 1, 20.0, 0.05,
                     "the other instance reading")
        took = time.monotonic() - t0
        sys.stdout.write("lease taken over in %.1f s\n" % took)
        self.assertLess(took, 10.0)
        self.assertTrue(holder(b)["self"])
        H.wait_until(lambda: H.rule_info(b.port, "brand").get("matched_total", 0) > 100,
                     10.0, 0.1, "b counting")
        self.assertEqual(open_at_once(st.records()), 1)
        # A clean stop gives the lease up at once (nobody else here).
        self.stop(b)
        self.assertIsNone(H.redis_cmd(port, "GET", "hark:{fleet}:v2:lease:x"))

    def test_redis_stream_shared(self):
        # One stream read by two instances through the group: every entry
        # counted once; acknowledged only once its count is stored; the
        # entries a dead instance left pending are taken over.
        sport = self.redis()
        store = self.procs[-1]
        qport = self.redis()
        conf = GROUPED.format(store=sport, stream=qport)
        a, b = self.harkd(conf), self.harkd(conf)

        def stored():
            return sum(int(v) for k in H.redis_cmd(sport, "KEYS", "hark:{brand}:v2:count:*")
                       for v in H.redis_cmd(sport, "HVALS", k))

        def received(h):
            return H.get_metrics(h.port).get("hark_mentions_received_total", 0)

        self.xadd(qport, 0, 2000)
        H.wait_until(lambda: stored() == 2000 and self.pending(qport) == 0, 30.0, 0.1,
                     "2000 stored and acknowledged (stored %d, pending %d)" % (
                         stored(), self.pending(qport)))
        self.assertGreater(received(a), 100)
        self.assertGreater(received(b), 100)

        # The store stalls: what is read is not acknowledged meanwhile.
        store.send_signal(signal.SIGSTOP)
        try:
            before = received(a) + received(b)
            self.xadd(qport, 2000, 500)
            H.wait_until(lambda: received(a) + received(b) == before + 500, 20.0, 0.1,
                         "the 500 read")
            time.sleep(1.5)
            self.assertEqual(self.pending(qport), 500)
        finally:
            store.send_signal(signal.SIGCONT)
        H.wait_until(lambda: self.pending(qport) == 0 and stored() == 2500, 30.0, 0.1,
                     "acknowledged once stored")

        # a dies holding entries it read while the store stalled: b takes
        # them over after claim_after and counts them.
        store.send_signal(signal.SIGSTOP)
        try:
            self.xadd(qport, 2500, 500)
            consumers = H.redis_cmd(qport, "XINFO", "CONSUMERS", "mentions", "hark")
            names = [c[1].decode() for c in consumers]
            H.wait_until(lambda: all(self.pending(qport, n) > 0 for n in names), 20.0, 0.1,
                         "both holding entries")
            a_name = [n for n in names if n.endswith("-%d" % a.proc.pid)][0]
            held = self.pending(qport, a_name)
            a.proc.send_signal(signal.SIGKILL)
            a.proc.wait(10)
        finally:
            store.send_signal(signal.SIGCONT)
        H.wait_until(lambda: stored() >= 3000 and self.pending(qport) == 0, 40.0, 0.1,
                     "a's %d entries taken over" % held)
        self.assertGreaterEqual(H.get_metrics(b.port).get("hark_mentions_received_total", 0),
                                held)
        self.stop(b)
        # At least once: none lost. The count writes a sent before it
        # died can still land (the stalled Redis had them in its socket
        # buffer), and b counts those entries again: at most what a held.
        total = stored()
        self.assertGreaterEqual(total, 3000)
        self.assertLessEqual(total, 3000 + held)

    def test_leased_stream_spike_after_takeover(self):
        # Three days of a brand stream through one connection at a time;
        # the holder dies a quarter of an hour of stream before the spike of the
        # third day (73 %): the other takes the lease over and, starting
        # from the state the holder saved (alone it would still warm for
        # an hour), alerts once on the spike.
        stream = H.seasonal_stream(days=3, seed=21)
        lock = threading.Lock()
        at = [0]
        gate = len(stream.lines) * 73 // 100
        go = threading.Event()

        def play(k, handler, rec):
            S.start_stream(handler, "application/x-ndjson")
            while True:
                with lock:
                    end = at[0] + 50 if go.is_set() else min(at[0] + 50, gate)
                    part = stream.lines[at[0]:end]
                    at[0] += len(part)
                if not part:
                    time.sleep(0.2)  # held at the gate, or all sent
                    continue
                S.chunk(handler, rec, "\n".join(part) + "\n")

        port = self.redis()
        sink = self.sink()
        st = S.ScriptServer(play)
        self.addCleanup(st.close)
        conf = LEASED.replace("    format: flat\n", "").replace(
            LOG_BRAND, R.CONF[R.CONF.index("receivers:"):]).format(
            port=port, url="http://127.0.0.1:%d/x" % st.port, sink=sink.url)
        hs = [self.harkd(conf), self.harkd(conf)]
        H.wait_until(lambda: at[0] >= gate, 60.0, 0.05, "73 % read")
        time.sleep(2.5)  # counted and stored: a flush interval and more
        holder = [h for h in hs if H.get_json(h.port, "/v1/cluster")[1]["leases"][0]["self"]]
        self.assertEqual(len(holder), 1)
        holder[0].proc.send_signal(signal.SIGKILL)
        holder[0].proc.wait(10)
        killed_at = time.monotonic()
        go.set()
        other = [h for h in hs if h is not holder[0]][0]
        self.assertEqual(sink.snapshot(), [], "nothing fired before the spike")
        fired = H.wait_until(lambda: [b for (_, _, b) in sink.snapshot()
                                      if isinstance(b, dict) and b.get("status") == "firing"],
                             90.0, 0.1, "the spike's alert from the other instance")
        time.sleep(3.0)
        fired = [b for (_, _, b) in sink.snapshot()
                 if isinstance(b, dict) and b.get("status") == "firing"]
        self.assertEqual(len(fired), 1, fired)
        self.assertTrue(H.overlaps(H.parse_ts(fired[0]["window_start"]),
                                   H.parse_ts(fired[0]["window_end"]), *stream.spike))
        self.assertEqual(open_at_once(st.records()), 1)
        self.assertEqual(len(st.records()), 2)
        self.assertGreater(st.records()[1]["start"], killed_at)
        # it judged on from the holder's state: warm, not warming
        rule = H.rule_info(other.port, "brand")
        self.assertNotEqual(rule["state"], "warming", rule)
        self.stop(other)

    def test_older_documents_moved_over(self):
        # An older version kept the silences and the alert history in one
        # document each: read at start, shared from then on.
        port = self.redis()
        sink = self.sink()
        now = int(time.time())
        old = {"silences": [{"id": "0123456789abcdef", "matchers": [
            {"name": "rule", "value": "brand"}], "starts_at": H.rfc3339(now - 60),
            "ends_at": H.rfc3339(now + 3600), "comment": "from v1", "created_by": "ops"}]}
        H.redis_cmd(port, "SET", "hark:v1:silences", json.dumps(old))
        alerts = {"alerts": [{"id": "fedcba9876543210fedcba9876543210", "rule": "brand",
                              "status": "firing", "window_start": H.rfc3339(now - 600),
                              "window_end": H.rfc3339(now - 300), "count": 99,
                              "baseline": 10.5, "ratio": 9.4, "score": 12.0,
                              "at": H.rfc3339(now - 290), "silenced": False}]}
        H.redis_cmd(port, "SET", "hark:v1:alerts", json.dumps(alerts))
        h = self.harkd(CONF.format(port=port, sink=sink.url))
        st, body = H.get_json(h.port, "/v1/alerts")
        self.assertEqual([(a["id"], a["count"]) for a in body["alerts"]],
                         [("fedcba9876543210fedcba9876543210", 99)])
        self.assertIsNotNone(H.redis_cmd(port, "HGET", "hark:{fleet}:v2:alerts",
                                         "fedcba9876543210fedcba9876543210"))
        st, body = H.get_json(h.port, "/v1/silences")
        self.assertEqual([(x["id"], x["state"], x["comment"]) for x in body["silences"]],
                         [("0123456789abcdef", "active", "from v1")])
        self.assertIsNotNone(H.redis_cmd(port, "HGET", "hark:{fleet}:v2:silences",
                                         "0123456789abcdef"))
        self.stop(h)

    def outbox(self, port):
        vals = H.redis_cmd(port, "HVALS", OUTBOX_KEY) or []
        return [json.loads(v.decode("utf-8")) for v in vals]

    def test_outbox_shared_and_taken_over(self):
        # Two members, one receiver failing (503): each holds its own
        # rule's notifications as entries of the receiver's one hash and
        # neither loses the other's. One is SIGKILLed, the receiver comes
        # back: the survivor takes the dead one's entries over and every
        # notification arrives exactly once, in order per rule.
        lines = O.make_stream()
        expected = O.replay_expected(lines)
        per_rule = O.by_rule(expected)
        self.assertTrue(per_rule.get("brand") and per_rule.get("acme"), per_rule)
        port = self.redis()
        up = [False]
        sink = O.Sink(H.free_port(), lambda n: 200 if up[0] else 503)
        self.addCleanup(sink.close)
        sink.start()
        hs = {rule: self.harkd(OUTBOX_CONF.format(port=port, url=sink.url, rule=rule,
                                                  word="blablacar" if rule == "brand" else rule))
              for rule in ("brand", "acme")}
        ids = {rule: H.get_json(h.port, "/v1/cluster")[1]["instance"] for rule, h in hs.items()}
        for h in hs.values():
            replies = H.push(h.port, lines)
            self.assertEqual(sum(r["accepted"] for r in replies), len(lines))
        for rule, h in hs.items():
            n = len(per_rule[rule])
            H.wait_until(lambda: H.get_metrics(h.port).get("hark_outbox_pending") == n,
                         60.0, 0.1, "%d %s notifications pending" % (n, rule))

        def owners():
            return sorted((e["id"], e["rule"], e["owner"]) for e in self.outbox(port))

        want = sorted((i, rule, ids[rule]) for rule, seq in per_rule.items()
                      for (i, _, _) in seq)
        H.wait_until(lambda: owners() == want, 10.0, 0.1, "both members' entries in the hash")
        # Retries go on (503s): still both members' entries, none lost.
        time.sleep(2.0)
        self.assertEqual(owners(), want)
        # each rule's first one tried (the rest wait behind it)
        self.assertLessEqual({seq[0][0] for seq in per_rule.values()}, set(sink.all))

        hs["acme"].proc.send_signal(signal.SIGKILL)
        hs["acme"].proc.wait(10)
        H.check_sanitizers(hs["acme"])
        t0 = time.monotonic()
        up[0] = True
        want_ids = set(b["id"] for b in expected)
        H.wait_until(lambda: want_ids <= set(sink.accepted_ids()), 60.0, 0.1,
                     "every notification accepted (have %d of %d)"
                     % (len(set(sink.accepted_ids()) & want_ids), len(want_ids)))
        took = time.monotonic() - t0
        sys.stdout.write("the dead member's %d entries delivered %.1f s after the kill\n"
                         % (len(per_rule["acme"]), took))
        survivor = hs["brand"]
        H.wait_until(lambda: H.get_metrics(survivor.port).get("hark_outbox_pending") == 0,
                     20.0, 0.1, "the survivor's outbox empty")
        H.wait_until(lambda: self.outbox(port) == [], 10.0, 0.1, "the hash empty")
        time.sleep(1.0)  # a second sender would have shown by now
        accepted = sink.accepted_ids()
        self.assertEqual(len(accepted), len(set(accepted)), "duplicates: %r" % accepted)
        self.assertEqual(set(accepted), want_ids)
        self.assertEqual(O.by_rule(sink.first_bodies()), per_rule)
        self.stop(survivor)
        with open(survivor.log, encoding="utf-8", errors="replace") as f:
            log = f.read()
        self.assertIn("outbox entry taken over: receiver=hook", log)
        self.assertIn("from=%s" % ids["acme"], log)

    def test_outbox_v1_moved_once(self):
        # An older version's outbox document: two members starting on it
        # send each entry once (a claim each), and empty it.
        port = self.redis()
        sink = O.Sink(H.free_port(), lambda n: 200)
        self.addCleanup(sink.close)
        sink.start()
        now_ms = int(time.time() * 1000)
        entries = [{"id": "v1n%d" % i, "rule": "brand", "created_at_ms": now_ms - 1000 + i,
                    "attempts": 2, "body": json.dumps({"id": "v1n%d" % i, "n": i})}
                   for i in range(5)]
        H.redis_cmd(port, "SET", "hark:v1:outbox:hook",
                    json.dumps({"version": 1, "receiver": "hook", "entries": entries}))
        H.redis_cmd(port, "SET", "hark:v1:deadletter:hook", json.dumps(
            [{"id": "old1", "rule": "brand", "receiver": "hook", "reason": "HTTP 400",
              "failed_at": "2026-11-01T00:00:00.000Z", "body": "{}"}]))
        hs = [self.harkd(OUTBOX_CONF.format(port=port, url=sink.url, rule="brand",
                                            word="blablacar")) for _ in range(2)]
        H.wait_until(lambda: len(sink.accepted_ids()) >= 5, 20.0, 0.1, "the 5 entries sent")
        time.sleep(3.0)  # a second sender would have shown by now
        self.assertEqual(sorted(sink.accepted_ids()), ["v1n%d" % i for i in range(5)])
        # in the document's order
        self.assertEqual([b["n"] for b in sink.first_bodies()], list(range(5)))
        doc = json.loads(H.redis_cmd(port, "GET", "hark:v1:outbox:hook"))
        self.assertEqual(doc["entries"], [])
        self.assertEqual(self.outbox(port), [])
        dl = H.redis_cmd(port, "HGET", "hark:{fleet}:v2:deadletter:hook", "old1")
        self.assertEqual(json.loads(dl)["reason"], "HTTP 400")
        for h in hs:
            self.stop(h)

    def test_embedded_store_alone(self):
        sink = self.sink()
        h = self.harkd(R.CONF.format(store="", sink=sink.url))
        st, body = H.get_json(h.port, "/v1/cluster")
        self.assertEqual(st, 200)
        self.assertFalse(body["fleet"])
        self.assertEqual(body["store"], "memory")
        self.assertEqual(len(body["members"]), 1)
        self.assertTrue(body["members"][0]["self"])
        self.assertNotIn("hark_fleet_members", H.get_metrics(h.port))
        self.stop(h)


if __name__ == "__main__":
    H.main()
