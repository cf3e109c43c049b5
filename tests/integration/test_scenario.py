# SPDX-License-Identifier: MIT
"""The acceptance scenario: three days of seasonal brand traffic with one
30-minute spike on the last afternoon, pushed in a few seconds, must raise
exactly one firing webhook over the spike; state survives a restart (Redis
or the embedded store's snapshot) without a re-alert. And a rule's warmup
runs from when it began counting (the stream's start), not from its first
match: its empty buckets are evaluated as zeros meanwhile."""

import json
import os
import random
import subprocess
import sys
import time
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

RULE = """\
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

HTTP = """\
http:
  listen: "127.0.0.1:@PORT@"
sources:
  - name: push
    type: http-push
"""

ALERT_DEADLINE = 90.0

# Two rules with a 2h warmup; "late" matches nothing for the first 3 hours.
WARMUP = """\
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
    warmup: 2h
    notify: [hook]
  - name: late
    match:
      any: ["latecomer"]
    bucket: 5m
    warmup: 2h
    notify: [hook]
"""


def duration_text(minutes):
    """hark's short form of a whole number of minutes: 15m, 1h, 4h, 1d."""
    m = int(minutes)
    if m % 1440 == 0:
        return "%dd" % (m // 1440)
    if m % 60 == 0:
        return "%dh" % (m // 60)
    return "%dm" % m


def line_time(line):
    """The created_at of a generated NDJSON line, unix seconds."""
    o = json.loads(line)
    return int(H.parse_ts(o["data"]["created_at"] if "data" in o else o["created_at"]))


def folded_tokens(text):
    """Rough stand-in for hark's folding: accents off, case folded, words
    separated by single spaces with spaces at both ends."""
    t = unicodedata.normalize("NFKD", text)
    t = "".join(c for c in t if not unicodedata.combining(c)).casefold()
    return " " + " ".join("".join(c if c.isalnum() or c == "_" else " " for c in t).split()) + " "


def mentions_brand(text):
    f = folded_tokens(text)
    return " blablacar " in f or " bla bla car " in f


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class Scenario(H.HarkTestCase):

    def firing(self, sink):
        return [(p, h, b) for (p, h, b) in sink.snapshot()
                if isinstance(b, dict) and b.get("status") == "firing"]

    def check_alert(self, hdrs, body, stream):
        for k in ("version", "id", "status", "rule", "labels", "window_start", "window_end",
                  "count", "baseline", "ratio", "score", "samples"):
            self.assertIn(k, body, "webhook body lacks %r: %r" % (k, body))
        self.assertEqual(body["version"], 1)
        self.assertIsInstance(body["id"], str)
        self.assertTrue(body["id"])
        self.assertEqual(body["rule"], "brand")
        self.assertIsInstance(body["labels"], dict)
        self.assertEqual(hdrs.get("webhook-id"), body["id"], "webhook-id header != body id")
        self.assertIn("application/json", hdrs.get("content-type", ""))
        ws = H.parse_ts(body["window_start"])
        we = H.parse_ts(body["window_end"])
        self.assertEqual(we - ws, 300, "window is not one 5m bucket: %r" % body)
        s0, s1 = stream.spike
        self.assertTrue(H.overlaps(ws, we, s0, s1),
                        "alert window %s..%s does not overlap the spike %s..%s"
                        % (body["window_start"], body["window_end"], H.rfc3339(s0), H.rfc3339(s1)))
        self.assertIsInstance(body["count"], int)
        self.assertFalse(isinstance(body["count"], bool))
        for k in ("baseline", "ratio", "score"):
            self.assertTrue(is_number(body[k]), "%s is not a number: %r" % (k, body[k]))
        # The spike runs at ~10x the day rate: ~250 in the bucket vs ~20-25.
        self.assertGreaterEqual(body["count"], 100, body)
        self.assertGreater(body["count"], body["baseline"], body)
        self.assertGreaterEqual(body["ratio"], 3.0, body)
        self.assertGreater(body["score"], 0, body)
        self.assertIsInstance(body["samples"], list)
        self.assertTrue(body["samples"], "no samples")
        for smp in body["samples"]:
            for k in ("id", "text", "created_at", "author", "url"):
                self.assertIn(k, smp, "sample lacks %r: %r" % (k, smp))
                self.assertIsInstance(smp[k], str)
            self.assertTrue(mentions_brand(smp["text"]), "sample without the brand: %r" % smp)
            t = H.parse_ts(smp["created_at"])
            self.assertTrue(ws <= t < we, "sample outside the window: %r" % smp)
        # Top terms: the outage words of the spike texts (appli, down and
        # impossible are in two templates each, every other word in one),
        # never the rule's own words nor stop-words; most frequent first.
        terms = body.get("top_terms")
        self.assertIsInstance(terms, list, "no top_terms: %r" % body)
        self.assertTrue(1 <= len(terms) <= 5, terms)
        names = [t["name"] for t in terms]
        counts = [t["count"] for t in terms]
        self.assertEqual(counts, sorted(counts, reverse=True), terms)
        outage = {"appli", "down", "impossible"}
        self.assertIn(names[0], outage, terms)
        self.assertGreaterEqual(len(outage & set(names[:3])), 2, terms)
        self.assertGreaterEqual(counts[0], 30, terms)
        for banned in ("blablacar", "bla", "car", "the", "les", "est", "de", "can", "just"):
            self.assertNotIn(banned, names, terms)

    def wait_one_firing(self, sink, stream):
        got = H.wait_until(lambda: self.firing(sink), ALERT_DEADLINE, 0.1,
                           "a firing webhook (got %d requests)" % len(sink.snapshot()))
        _, hdrs, body = got[0]
        self.check_alert(hdrs, body, stream)
        return body

    def wait_ingested(self, port, expected, before=0):
        last = [None]

        def done():
            last[0] = H.rule_info(port, "brand").get("matched_total")
            return last[0] == before + expected
        try:
            H.wait_until(done, 60.0, 0.1, "matched_total == %d" % (before + expected))
        except AssertionError:
            self.fail("matched_total is %r, expected %d" % (last[0], before + expected))

    def assert_no_new_firing(self, sink, n_before, seconds):
        """Watches the sink for a while: any new firing webhook fails at once."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            f = self.firing(sink)
            if len(f) != n_before:
                self.fail("unexpected firing webhook(s): %r" % [b for (_, _, b) in f[n_before:]])
            time.sleep(0.1)

    def run_scenario(self, store_block, redis_port=None):
        sink = self.sink()
        conf = store_block + HTTP + RULE.format(sink=sink.url)
        stream = H.seasonal_stream(days=3, seed=20261101)
        # The generator must have made a real spike for this test to mean
        # anything: the 14:00 bucket of the last day far above 13:00's.
        self.assertGreater(stream.matching, 8000)

        h = self.harkd(conf)
        status, _ = H.get_json(h.port, "/readyz")
        if status != 200:
            H.wait_until(lambda: H.get_json(h.port, "/readyz")[0] == 200, 20.0, 0.1, "/readyz 200")

        replies = H.push(h.port, stream.lines)
        self.assertEqual(sum(r["accepted"] for r in replies), len(stream.lines))
        self.assertEqual(sum(r["rejected"] for r in replies), 0)
        self.wait_ingested(h.port, stream.matching)

        body = self.wait_one_firing(sink, stream)
        firing = self.firing(sink)
        self.assertEqual(len(firing), 1, "more than one firing webhook: %r"
                         % [b for (_, _, b) in firing])

        m = H.get_metrics(h.port)
        self.assertGreaterEqual(m.get("hark_mentions_received_total", -1), len(stream.lines))
        self.assertEqual(m.get("hark_mentions_rejected_total", -1), 0)
        self.assertEqual(m.get("hark_mentions_late_total", -1), 0)

        if redis_port is not None:
            def count_keys():
                keys = H.redis_cmd(redis_port, "KEYS", "hark:{brand}:*") or []
                return [k for k in keys if b":v2:count:" in k]
            ckeys = H.wait_until(count_keys, 30.0, 0.1, "count keys in Redis")
            for k in ckeys:
                self.assertRegex(k.decode(), r"^hark:\{brand\}:v2:count:\d+$")
            # The spike bucket's count is in Redis with a TTL: one field,
            # this run's.
            ws = int(H.parse_ts(body["window_start"]))
            spike_key = "hark:{brand}:v2:count:%d" % ws
            self.assertEqual(H.redis_cmd(redis_port, "HLEN", spike_key), 1)
            self.assertEqual(H.stored_count(redis_port, "brand", ws), body["count"])
            self.assertGreater(H.redis_cmd(redis_port, "TTL", spike_key), 0)
            self.assertGreater(H.redis_cmd(redis_port, "TTL", ckeys[0]), 0)
            H.wait_until(lambda: H.redis_cmd(redis_port, "EXISTS", "hark:{brand}:v1:state") == 1,
                         30.0, 0.1, "hark:{brand}:v1:state in Redis")

        self.stop(h)
        if redis_port is None:
            snap = os.path.join(self.tmp, "hark.snapshot")
            self.assertTrue(os.path.isfile(snap), "no snapshot file after SIGTERM")
            self.assertGreater(os.path.getsize(snap), 0)
        n_firing = len(self.firing(sink))

        # Restart on the same store: the history and the detector state are
        # back, so the rule is not warming again and nothing re-alerts.
        h2 = self.harkd(conf)
        info = {}

        def restored():
            info.update(H.rule_info(h2.port, "brand"))
            return info.get("state") != "warming" and is_number(info.get("baseline")) \
                and info["baseline"] > 0
        try:
            H.wait_until(restored, 20.0, 0.1, "brand restored after restart")
        except AssertionError:
            self.fail("after restart /v1/rules brand = %r" % info)
        self.assertIn(info["state"], ("ok", "firing"))

        more = H.seasonal_stream(days=1, start=H.START_2026_11_01 + 3 * 86400, minutes=60,
                                 spike_day=-1, seed=20261104)
        self.assertGreater(more.first, stream.last)
        before = H.rule_info(h2.port, "brand").get("matched_total", 0)
        replies = H.push(h2.port, more.lines)
        self.assertEqual(sum(r["accepted"] for r in replies), len(more.lines))
        self.wait_ingested(h2.port, more.matching, before)
        self.assert_no_new_firing(sink, n_firing, 3.0)
        self.assertEqual(len(self.firing(sink)), 1)
        self.stop(h2)

    def wait_evaluated(self, port, until):
        """Waits until both rules have evaluated every bucket that ends by
        until (unix seconds), the same ones; returns their /v1/rules."""
        got = {}

        def done():
            got["brand"] = H.rule_info(port, "brand")
            got["late"] = H.rule_info(port, "late")
            b, l = got["brand"].get("window_end"), got["late"].get("window_end")
            return b is not None and b == l and H.parse_ts(b) >= until
        try:
            H.wait_until(done, 60.0, 0.1, "both rules evaluated up to %s" % H.rfc3339(until))
        except AssertionError:
            self.fail("not evaluated up to %s: %r" % (H.rfc3339(until), got))
        return got["brand"], got["late"]

    def test_warmup_from_stream_start(self):
        sink = self.sink()
        h = self.harkd(HTTP + WARMUP.format(sink=sink.url))
        start = H.START_2026_11_01
        stream = H.seasonal_stream(days=1, minutes=6 * 60, spike_day=-1, seed=77)
        late = [json.dumps({"id": "late-%d" % i, "text": "a latecomer joins the stream",
                            "created_at": H.rfc3339(t), "author": "late_author"})
                for i, t in enumerate(range(start + 3 * 3600, start + 6 * 3600, 600))]
        lines = sorted(stream.lines + late, key=line_time)
        begin = stream.first // 300 * 300
        warm_at = H.rfc3339(begin + 2 * 3600)

        # Before any mention: nothing counted, no bucket, no warm_at.
        info = H.rule_info(h.port, "late")
        self.assertNotIn("last", info, info)
        self.assertNotIn("warm_at", info, info)

        # The first 90 minutes: "late" matches nothing, yet its buckets are
        # evaluated (as zeros) along with brand's, and it warms from the
        # stream's first bucket.
        first = [l for l in lines if line_time(l) < start + 90 * 60]
        H.push(h.port, first)
        brand, lr = self.wait_evaluated(h.port, max(line_time(l) for l in first) - 600)
        self.assertEqual(lr["matched_total"], 0)
        self.assertEqual(lr["count"], 0)
        self.assertEqual(lr["state"], "warming", lr)
        self.assertEqual(lr["last"]["reason"], "warming", lr)
        for k in ("score", "threshold", "span_minutes", "window_start"):
            self.assertIn(k, lr["last"], lr)
        self.assertEqual(lr["warm_at"], warm_at, lr)
        self.assertEqual(brand["warm_at"], warm_at, brand)
        out = subprocess.run([H.HARK_CLI, "status", "--url", "http://127.0.0.1:%d" % h.port],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"(?m)^late +warming .* warming, warming until %s$"
                         % warm_at)

        # The rest: "late" first matches at 03:00, an hour after it warmed
        # up; its warmup still ends two hours after the stream began, not
        # after its first match.
        rest = lines[len(first):]
        H.push(h.port, rest)
        brand, lr = self.wait_evaluated(h.port, max(line_time(l) for l in rest) - 600)
        self.assertEqual(lr["matched_total"], len(late))
        self.assertEqual(lr["warm_at"], warm_at, lr)
        self.assertNotEqual(lr["state"], "warming", lr)
        self.assertNotEqual(lr["last"]["reason"], "warming", lr)
        self.assertEqual(brand["warm_at"], warm_at, brand)
        self.stop(h)

    def test_old_state_learns_again(self):
        """A saved state of the previous detector (text) is refused with a
        plain warning: the rule learns again from the stream's start and
        harkd keeps serving."""
        port = self.redis()
        old = ("hark-detect v2 bucket=300000 next=1793491200000 steps=864 "
               "state=firing fired=1793487600000 calm=0 cooldown=0 learning=0")
        H.redis_cmd(port, "SET", "hark:{brand}:v1:state", old)
        sink = self.sink()
        store = 'store:\n  redis: "redis://127.0.0.1:%d/0"\n' % port
        h = self.harkd(store + HTTP + RULE.format(sink=sink.url).replace(
            "bucket: 5m", "bucket: 5m\n    warmup: 1h"))
        with open(h.log, encoding="utf-8", errors="replace") as f:
            log = f.read()
        self.assertIn("rule=brand saved detector state is from an older version or "
                      "another bucket; learning again", log)
        info = H.rule_info(h.port, "brand")
        self.assertNotEqual(info["state"], "firing", info)
        stream = H.seasonal_stream(days=1, minutes=120, spike_day=-1, seed=3)
        H.push(h.port, stream.lines)
        self.wait_ingested(h.port, stream.matching)
        info = H.wait_until(lambda: "last" in H.rule_info(h.port, "brand") and
                            H.rule_info(h.port, "brand"), 20.0, 0.1, "brand evaluated")
        self.assertEqual(info["warm_at"],
                         H.rfc3339(stream.first // 300 * 300 + 3600), info)
        self.assertEqual(self.firing(sink), [])
        H.wait_until(lambda: H.redis_cmd(port, "GET", "hark:{brand}:v1:state") != old.encode(),
                     20.0, 0.1, "a new state saved")
        self.stop(h)

    def test_escalation(self):
        """A spike, then one ten times bigger within the episode: a firing,
        an escalation (its own id, "escalation": true, "bigger: " in its
        summary, filed as a firing), and one resolve for the episode."""
        sink = self.sink()
        h = self.harkd(HTTP + RULE.format(sink=sink.url))
        rng = random.Random(5)
        t0 = H.START_2026_11_01
        events = []
        for m in range(6 * 60):
            lam = 400 if 190 <= m < 200 else 40 if 180 <= m < 190 else 5
            for _ in range(H.poisson(rng, lam)):
                events.append(t0 + m * 60 + rng.randrange(60))
        events.sort()
        H.push(h.port, [json.dumps({"id": "e%d" % i, "text": "blablacar trip",
                                    "created_at": H.rfc3339(t), "author": "a"})
                        for i, t in enumerate(events)])
        H.wait_until(lambda: any(b.get("status") == "resolved" for b in sink.bodies()),
                     ALERT_DEADLINE, 0.1, "the episode's resolve")
        bodies = sink.bodies()
        self.assertEqual([(b["status"], b.get("escalation", False)) for b in bodies],
                         [("firing", False), ("firing", True), ("resolved", False)],
                         [b.get("summary") for b in bodies])
        first, bigger, resolved = bodies
        self.assertEqual(len({first["id"], bigger["id"], resolved["id"]}), 3)
        self.assertGreater(H.parse_ts(bigger["window_start"]), H.parse_ts(first["window_start"]))
        self.assertTrue(bigger["summary"].startswith("bigger: brand: "), bigger["summary"])
        self.assertFalse(first["summary"].startswith("bigger"), first["summary"])
        for b in (first, bigger):
            if "span" in b:
                self.assertGreater(b["span"]["minutes"], 5, b)
                self.assertIn(" mentions in %s (" % duration_text(b["span"]["minutes"]),
                              b["summary"])
        _, hist = H.get_json(h.port, "/v1/alerts?rule=brand")
        self.assertEqual([(a["status"], a["id"]) for a in hist["alerts"]],
                         [("resolved", resolved["id"]), ("firing", bigger["id"]),
                          ("firing", first["id"])])
        info = H.rule_info(h.port, "brand")
        self.assertEqual(info["alerts_fired"], 2)
        self.assertEqual(info["alerts_resolved"], 1)
        self.stop(h)

    def test_redis(self):
        port = self.redis()
        store = 'store:\n  redis: "redis://127.0.0.1:%d/0"\n' % port
        self.run_scenario(store, redis_port=port)

    def test_embedded(self):
        self.run_scenario("", redis_port=None)


if __name__ == "__main__":
    H.main()
