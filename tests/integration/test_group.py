# SPDX-License-Identifier: MIT
"""group_wait: two rules whose spikes start together reach a receiver with
group_wait as ONE webhook (the grouped v1 body) and a receiver without it
as two; resolves are not grouped; a group still held when harkd gets
SIGTERM is delivered at the stop (through the outbox), once."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

TOKEN = "t0ken-for-tests"

CONF = """\
http:
  listen: "127.0.0.1:@PORT@"
  token: "%s"
sources:
  - name: push
    type: http-push
receivers:
  - name: grouped
    type: webhook
    url: "{grouped}"
    timeout: 5s
    group_wait: {wait}
  - name: plain
    type: webhook
    url: "{plain}"
    timeout: 5s
rules:
  - name: brand
    match:
      any: ["blablacar", "bla bla car", "#blablacar", "@blablacar"]
    bucket: 5m
    labels:
      team: community
    notify: [grouped, plain]
  - name: brand_too
    match:
      any: ["blablacar", "bla bla car", "#blablacar", "@blablacar"]
    bucket: 5m
    notify: [grouped, plain]
""" % TOKEN


def alerts(port, status):
    st, _, raw = H.http_request(port, "GET", "/v1/alerts?status=" + status)
    return json.loads(raw.decode())["alerts"] if st == 200 else []


def split(stream):
    """The lines up to the end of the spike (both rules fire), and the
    rest (both resolve)."""
    cut = len(stream.lines)
    for i, line in enumerate(stream.lines):
        o = json.loads(line)
        ts = (o.get("data") or o)["created_at"]
        if H.parse_ts(ts) >= stream.spike[1]:
            cut = i
            break
    return stream.lines[:cut], stream.lines[cut:]


class Group(H.HarkTestCase):

    def check_group(self, body, rules):
        self.assertIsInstance(body, dict)
        self.assertEqual(body.get("version"), 1)
        self.assertIs(body.get("group"), True, body)
        self.assertEqual(body.get("status"), "firing")
        self.assertRegex(body.get("id", ""), "^[0-9a-f]{32}$")
        self.assertEqual(sorted(a["rule"] for a in body["alerts"]), sorted(rules))
        for a in body["alerts"]:
            self.assertEqual(a["status"], "firing")
            self.assertEqual(a["version"], 1)
            self.assertNotEqual(a["id"], body["id"])
            self.assertIn("samples", a)

    def test_grouped_and_plain(self):
        grouped, plain = self.sink(), self.sink()
        h = self.harkd(CONF.format(grouped=grouped.url, plain=plain.url, wait="3s"))
        stream = H.seasonal_stream(days=3, seed=5)
        first, rest = split(stream)
        H.push(h.port, first, token=TOKEN)

        # Without group_wait: one webhook per rule, as soon as it fires.
        fired = H.wait_until(lambda: len(plain.bodies()) >= 2 and plain.bodies(), 60.0, 0.1,
                             "two firing webhooks at the plain receiver")
        self.assertEqual(sorted(b["rule"] for b in fired), ["brand", "brand_too"])
        self.assertTrue(all("group" not in b for b in fired))
        # With group_wait: both in one message, once group_wait is over.
        got = H.wait_until(lambda: grouped.snapshot(), 30.0, 0.1, "the grouped webhook")
        time.sleep(1.0)
        got = grouped.snapshot()
        self.assertEqual(len(got), 1, [b for (_, _, b) in got])
        _, headers, body = got[0]
        self.check_group(body, ["brand", "brand_too"])
        self.assertEqual(headers.get("webhook-id"), body["id"])
        self.assertEqual(sorted(a["id"] for a in body["alerts"]),
                         sorted(b["id"] for b in fired))
        for a in body["alerts"]:
            mine = [b for b in fired if b["id"] == a["id"]][0]
            self.assertEqual(a, mine)

        # Resolves are sent one by one, to both.
        H.push(h.port, rest, token=TOKEN)
        H.wait_until(lambda: len(grouped.bodies()) >= 3 and len(plain.bodies()) >= 4,
                     60.0, 0.1, "two resolves at each receiver")
        time.sleep(0.5)
        res = grouped.bodies()[1:]
        self.assertEqual(len(res), 2, res)
        self.assertEqual(sorted((b["rule"], b["status"]) for b in res),
                         [("brand", "resolved"), ("brand_too", "resolved")])
        self.assertTrue(all("group" not in b for b in res))
        self.assertEqual(len(plain.bodies()), 4)
        self.stop(h)

    def test_held_group_sent_at_stop(self):
        grouped, plain = self.sink(), self.sink()
        conf = CONF.format(grouped=grouped.url, plain=plain.url, wait="1h")
        h = self.harkd(conf)
        stream = H.seasonal_stream(days=3, seed=5)
        first, _ = split(stream)
        H.push(h.port, first, token=TOKEN)
        H.wait_until(lambda: len(plain.bodies()) >= 2, 60.0, 0.1, "both rules firing")
        H.wait_until(lambda: len(alerts(h.port, "firing")) >= 2, 30.0, 0.1,
                     "both firings in /v1/alerts")
        time.sleep(0.5)
        self.assertEqual(grouped.snapshot(), [], "sent before group_wait was over")

        # SIGTERM: the held group goes out now, not an hour later.
        self.stop(h)
        got = grouped.bodies()
        self.assertEqual(len(got), 1, got)
        self.check_group(got[0], ["brand", "brand_too"])

        # Delivered, so not sent again by the next run.
        h2 = self.harkd(conf)
        time.sleep(2.0)
        self.assertEqual(len(grouped.bodies()), 1)
        self.assertEqual(len(plain.bodies()), 2)
        self.stop(h2)


if __name__ == "__main__":
    H.main()
