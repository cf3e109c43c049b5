# SPDX-License-Identifier: MIT
"""GET /v1/rules/{name}/series (issue 12 item 11): each judged bucket's
count, usual level, band and state, read from the store, so that a second
harkd on the same Redis, which counted nothing, shows the same points; range
checks (at most 10,000 buckets), steps, unknown rules, the embedded store;
GET /v1/overview (issue 14): the dashboard's page of rules, firing first."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

CONF = """\
{store}http:
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
    bucket: 5m
    warmup: 1h
    notify: [log]
  - name: calm
    match:
      any: ["nothing"]
    bucket: 5m
    warmup: 1h
    notify: [log]
"""

BUCKET = 300


def series(port, query=""):
    st, body = H.get_json(port, "/v1/rules/brand/series" + query)
    return st, body


class Series(H.HarkTestCase):

    def push_hours(self, h, hours, spike_at):
        """Mentions over the last `hours` hours, 3 a bucket and 60 in the
        three buckets from spike_at (a spike lasts two buckets at 5m);
        returns {bucket start: count}."""
        now = int(time.time())
        start = (now - hours * 3600) // BUCKET * BUCKET
        want, lines, i = {}, [], 0
        for b in range(start, now // BUCKET * BUCKET - 2 * BUCKET, BUCKET):
            n = 60 if spike_at <= b < spike_at + 3 * BUCKET else 3
            for k in range(n):
                lines.append(json.dumps({"id": "s%d" % i, "text": "blablacar %d" % i,
                                         "created_at": H.rfc3339(b + 1 + k * 4)}))
                i += 1
            want[b] = n
        # A mention of now, matching no rule, takes the watermark to now:
        # every bucket above has closed.
        lines.append(json.dumps({"id": "now", "text": "nothing to see",
                                 "created_at": H.rfc3339(now)}))
        H.push(h.port, lines)
        return start, want

    def check_points(self, port, start, want, spike_at):
        def full():
            st, body = series(port, "?from=%d" % start)
            return st == 200 and len(body["points"]) >= len(want) and body
        body = H.wait_until(full, 20.0, 0.1, "every judged bucket in the series")
        self.assertEqual((body["rule"], body["bucket"]), ("brand", "5m"))
        got = {int(H.parse_ts(p["t"])): p for p in body["points"]}
        ts = [int(H.parse_ts(p["t"])) for p in body["points"]]
        self.assertEqual(ts, sorted(ts))
        for b, n in want.items():
            self.assertIn(b, got, "bucket %s missing" % H.rfc3339(b))
            self.assertEqual(got[b]["count"], n, H.rfc3339(b))
        warm_until = start + 3600
        for b, p in got.items():
            if b < warm_until:
                self.assertEqual((p["state"], p["baseline"]), ("warming", None), p)
                self.assertEqual((p["low"], p["high"]), (None, None), p)
            elif b in want:
                self.assertIn(p["state"], ("ok", "firing"), p)
                self.assertIsInstance(p["baseline"], (int, float), p)
                # the band holds the usual level; an ordinary bucket of
                # 3 lies in it, the spike's second bucket of 60 above it
                self.assertLessEqual(p["low"], p["baseline"], p)
                self.assertGreaterEqual(p["high"], p["baseline"], p)
                if b < spike_at or b >= spike_at + 3 * BUCKET:
                    self.assertTrue(p["low"] <= want[b] <= p["high"] or p["state"] == "firing", p)
        self.assertGreater(got[spike_at + BUCKET]["count"], got[spike_at + BUCKET]["high"])
        self.assertEqual(got[spike_at]["state"], "ok", got[spike_at])
        self.assertEqual(got[spike_at + BUCKET]["state"], "firing", got[spike_at + BUCKET])
        self.assertLess(got[spike_at + BUCKET]["baseline"], 10)
        return body

    def test_redis_two_daemons(self):
        port = self.redis()
        store = 'store:\n  redis: "redis://127.0.0.1:%d/0"\n' % port
        h = self.harkd(CONF.format(store=store))
        now = int(time.time())
        spike_at = (now - 3600) // BUCKET * BUCKET
        start, want = self.push_hours(h, 3, spike_at)
        first = self.check_points(h.port, start, want, spike_at)
        # A second daemon on the store, which counted nothing, shows the
        # same points.
        h2 = self.harkd(CONF.format(store=store), name="second.yaml")
        st, second = series(h2.port, "?from=%d" % start)
        self.assertEqual(st, 200)
        self.assertEqual(second["points"], first["points"])
        # A range: RFC 3339 bounds, whole buckets from the one holding
        # from, up to to (excluded).
        q = "?from=%s&to=%s" % (H.rfc3339(spike_at + 10), H.rfc3339(spike_at + 2 * BUCKET))
        st, body = series(h2.port, q.replace("+", "%2B"))
        self.assertEqual(st, 200, body)
        self.assertEqual([p["t"] for p in body["points"]],
                         [H.rfc3339(spike_at), H.rfc3339(spike_at + BUCKET)])
        self.stop(h2)
        self.stop(h)

    def test_embedded_store_and_errors(self):
        h = self.harkd(CONF.format(store=""))
        now = int(time.time())
        spike_at = (now - 3600) // BUCKET * BUCKET
        start, want = self.push_hours(h, 2, spike_at)
        self.check_points(h.port, start, want, spike_at)
        # 10,000 buckets of 5m at most: 35 days is too many.
        st, body = series(h.port, "?from=%d&to=%d" % (now - 35 * 86400, now))
        self.assertEqual(st, 400, body)
        self.assertIn("at most 10000 buckets", body["error"])
        st, body = series(h.port, "?from=%d&to=%d" % (now - 34 * 86400, now))
        self.assertEqual(st, 200, body)
        st, body = series(h.port, "?from=yesterday")
        self.assertEqual(st, 400, body)
        st, body = series(h.port, "?from=%d&to=%d" % (now, now - 600))
        self.assertEqual(st, 400, body)
        st, _ = H.get_json(h.port, "/v1/rules/nope/series")
        self.assertEqual(st, 404)
        # Steps sum the buckets: an hour holds twelve, aligned on hours.
        st, body = series(h.port, "?from=%d&step=1h" % start)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["step"], "1h")
        hours = {}
        for b, n in want.items():
            hours[b // 3600 * 3600] = hours.get(b // 3600 * 3600, 0) + n
        got = {int(H.parse_ts(p["t"])): p["count"] for p in body["points"]}
        self.assertEqual({t: got.get(t) for t in hours}, hours)
        self.assertEqual(sum(got.values()), sum(want.values()))
        for q in ("step=7m", "step=1m", "step=soon"):
            st, body = series(h.port, "?" + q)
            self.assertEqual(st, 400, (q, body))
        # 35 days summed by the hour: 840 points.
        st, body = series(h.port, "?from=%d&to=%d&step=1h" % (now - 35 * 86400, now))
        self.assertEqual(st, 200, body)
        self.check_overview(h.port, start, want)
        # Default: the last day.
        st, body = series(h.port)
        self.assertEqual(st, 200)
        got = {int(H.parse_ts(p["t"])): p["count"] for p in body["points"]}
        self.assertEqual({b: got.get(b) for b in want}, want)
        self.stop(h)

    def check_overview(self, port, start, want):
        st, body = H.get_json(port, "/v1/overview?range=6h")
        self.assertEqual(st, 200, body)
        self.assertEqual(body["total"], 2)
        self.assertEqual(body["range"], "6h")
        names = [r["name"] for r in body["rules"]]
        # firing first, then by state and name
        brand = body["rules"][names.index("brand")]
        if brand["state"] == "firing":
            self.assertEqual(names, ["brand", "calm"])
        self.assertEqual(brand["step"], "5m")
        got = {p[0]: p[1] for p in brand["points"]}
        self.assertEqual({b: got.get(b) for b in want}, want)
        self.assertGreaterEqual(len(brand["alerts"]), 1, brand)
        self.assertEqual(brand["alerts"][0][1], "firing")
        self.assertEqual(sum(body["states"].values()), 2)
        # a page, a filter, a 30-day range summed into at most 300 points
        st, body = H.get_json(port, "/v1/overview?offset=1&limit=1")
        self.assertEqual((st, len(body["rules"]), body["total"]), (200, 1, 2))
        st, body = H.get_json(port, "/v1/overview?q=CAL")
        self.assertEqual([r["name"] for r in body["rules"]], ["calm"])
        st, body = H.get_json(port, "/v1/overview?range=30d&q=brand")
        self.assertEqual(st, 200, body)
        self.assertEqual(body["rules"][0]["step"], "3h")
        self.assertEqual(sum(p[1] for p in body["rules"][0]["points"]), sum(want.values()))
        for q in ("range=40d", "range=x", "limit=0", "limit=101", "offset=-1"):
            st, body = H.get_json(port, "/v1/overview?" + q)
            self.assertEqual(st, 400, (q, body))


if __name__ == "__main__":
    import unittest
    unittest.main()
