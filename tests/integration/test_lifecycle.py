# SPDX-License-Identifier: MIT
"""Silences and alert history: the API behind the token, a silenced spike
sends nothing but is filed in GET /v1/alerts, `hark silence` from the
shell, and both survive a restart."""

import json
import os
import subprocess
import sys

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
  - name: hook
    type: webhook
    url: "{sink}"
    timeout: 5s
rules:
  - name: brand
    match:
      any: ["blablacar", "bla bla car", "#blablacar", "@blablacar"]
    bucket: 5m
    labels:
      team: community
      severity: page
    notify: [hook]
""" % TOKEN

HARK_CLI = os.environ.get("HARK_CLI", "hark")


def req(port, method, path, body=None, token=TOKEN):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    status, _, raw = H.http_request(port, method, path, data, headers)
    try:
        return status, json.loads(raw.decode() or "null")
    except ValueError:
        return status, raw


class Lifecycle(H.HarkTestCase):

    def cli(self, *args):
        p = subprocess.run([HARK_CLI, "silence"] + list(args), capture_output=True,
                           text=True, timeout=30, env=dict(os.environ, HARK_TOKEN=""))
        return p.returncode, p.stdout, p.stderr

    def test_silences_and_history(self):
        sink = self.sink()
        conf = CONF.format(sink=sink.url)
        h = self.harkd(conf)

        # Writes need the token; bad bodies say what is wrong.
        status, _ = req(h.port, "POST", "/v1/silences",
                        {"rule": "brand", "duration": "2h", "comment": "x"}, token=None)
        self.assertEqual(status, 401)
        status, body = req(h.port, "POST", "/v1/silences", {"rule": "brand", "duration": "2h"})
        self.assertEqual(status, 400)
        self.assertIn("comment", body["error"])
        status, body = req(h.port, "POST", "/v1/silences",
                           {"matchers": [{"name": "team", "value": "community"}],
                            "comment": "x", "duration": "5"})
        self.assertEqual(status, 400)
        self.assertIn("unit", body["error"])
        status, _ = req(h.port, "DELETE", "/v1/silences/nope")
        self.assertEqual(status, 404)

        # A silence on a label of the rule covers its alerts.
        status, sil = req(h.port, "POST", "/v1/silences",
                          {"matchers": [{"name": "team", "value": "community"}],
                           "duration": "2h", "comment": "known outage, on it",
                           "created_by": "ana"})
        self.assertEqual(status, 201, sil)
        self.assertEqual(sil["state"], "active")
        status, lst = req(h.port, "GET", "/v1/silences", token=None)
        self.assertEqual(status, 200)
        self.assertEqual([s["id"] for s in lst["silences"]], [sil["id"]])

        stream = H.seasonal_stream(days=3, seed=5)
        replies = H.push(h.port, stream.lines, token=TOKEN)
        self.assertEqual(sum(r["accepted"] for r in replies), len(stream.lines))

        def silenced():
            st, al = req(h.port, "GET", "/v1/alerts?status=silenced", token=None)
            return st == 200 and al["alerts"]
        H.wait_until(silenced, 60.0, 0.1, "a silenced alert in /v1/alerts")
        # The spike's firing and its resolve, both covered by the silence.
        alerts = H.wait_until(lambda: len(silenced()) == 2 and silenced(), 60.0, 0.1,
                              "firing and resolved, silenced")
        self.assertEqual([x["status"] for x in alerts], ["resolved", "firing"], alerts)
        self.assertTrue(all(x["silence_id"] == sil["id"] for x in alerts))
        a = alerts[1]
        self.assertEqual(a["rule"], "brand")
        self.assertEqual(a["status"], "firing")
        self.assertTrue(a["silenced"])
        self.assertEqual(a["silence_id"], sil["id"])
        self.assertTrue(H.overlaps(H.parse_ts(a["window_start"]), H.parse_ts(a["window_end"]),
                                   *stream.spike))
        self.assertEqual(sink.snapshot(), [], "a silenced alert was delivered")
        self.assertGreaterEqual(H.get_metrics(h.port).get("hark_alerts_silenced_total", 0), 1)

        # Filters.
        st, al = req(h.port, "GET", "/v1/alerts?rule=other", token=None)
        self.assertEqual((st, al["alerts"]), (200, []))
        st, al = req(h.port, "GET", "/v1/alerts?rule=brand&since=2026-11-03T00:00:00Z&limit=5",
                     token=None)
        self.assertEqual(st, 200)
        self.assertTrue(any(x["id"] == a["id"] for x in al["alerts"]))
        st, _ = req(h.port, "GET", "/v1/alerts?status=bogus", token=None)
        self.assertEqual(st, 400)
        st, _ = req(h.port, "GET", "/v1/alerts?since=yesterday", token=None)
        self.assertEqual(st, 400)

        # From the shell: needs the token too, then works with -c.
        rc, _, err = self.cli("expire", sil["id"], "--url", "http://127.0.0.1:%d" % h.port)
        self.assertNotEqual(rc, 0)
        self.assertIn("token", err)
        rc, out, err = self.cli("expire", sil["id"], "-c", h.conf)
        self.assertEqual(rc, 0, err)
        rc, out, err = self.cli("list", "-c", h.conf)
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["silences"][0]["state"], "expired")
        rc, out, err = self.cli("add", "--rule", "brand", "--for", "30m", "--comment",
                                "deploy", "--author", "ops", "-c", h.conf)
        self.assertEqual(rc, 0, err)
        added = json.loads(out)
        self.assertEqual(added["matchers"], [{"name": "rule", "value": "brand"}])
        rc, _, err = self.cli("add", "--rule", "brand", "--comment", "no end", "-c", h.conf)
        self.assertNotEqual(rc, 0)
        self.assertIn("duration", err)
        self.stop(h)

        # Both survive a restart (embedded store snapshot).
        h2 = self.harkd(conf)
        st, lst = req(h2.port, "GET", "/v1/silences", token=None)
        self.assertEqual(sorted(s["id"] for s in lst["silences"]),
                         sorted([sil["id"], added["id"]]))
        st, al = req(h2.port, "GET", "/v1/alerts", token=None)
        self.assertTrue(any(x["id"] == a["id"] and x["silenced"] for x in al["alerts"]))
        self.stop(h2)


if __name__ == "__main__":
    H.main()
