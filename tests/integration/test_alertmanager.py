# SPDX-License-Identifier: MIT
"""A real Alertmanager (Debian's prometheus-alertmanager on a free loopback
port): harkd's alertmanager receiver pushes a spike's alert, Alertmanager
shows it active with hark's labels and annotations and routes it to its own
webhook receiver (a sink here), and once the spike is over the alert
resolves there too. The v1 webhook of the same alert carries the window's
top authors and languages, and (repeat_interval) comes again while the rule
stays firing, each repeat with its own id, and no more once resolved."""

import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

AM_BIN = os.environ.get("ALERTMANAGER", shutil.which("prometheus-alertmanager")
                        or shutil.which("alertmanager") or "prometheus-alertmanager")

AM_CONF = """\
route:
  receiver: sink
  group_by: ["alertname"]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: sink
    webhook_configs:
      - url: "{sink}"
        send_resolved: true
"""

CONF = """\
http:
  listen: "127.0.0.1:@PORT@"
sources:
  - name: push
    type: http-push
receivers:
  - name: am
    type: alertmanager
    url: "http://127.0.0.1:{am_port}"
    timeout: 5s
  - name: hook
    type: webhook
    url: "{hook}"
    timeout: 5s
    repeat_interval: 1s
rules:
  - name: brand
    match:
      any: ["blablacar", "bla bla car", "#blablacar", "@blablacar"]
    bucket: 5m
    labels:
      team: community
      severity: page
    notify: [am, hook]
"""


def am_alerts(port):
    status, _, raw = H.http_request(port, "GET", "/api/v2/alerts", timeout=5.0)
    if status != 200:
        raise AssertionError("GET /api/v2/alerts: %d %r" % (status, raw[:200]))
    return [a for a in json.loads(raw.decode()) if a["labels"].get("alertname") == "brand"]


class AlertmanagerTest(H.HarkTestCase):

    def start_am(self, sink_url):
        d = os.path.join(self.tmp, "am")
        os.makedirs(d)
        conf = os.path.join(d, "alertmanager.yml")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(AM_CONF.format(sink=sink_url))
        for _ in range(4):
            port = H.free_port()
            log = open(os.path.join(d, "am.log"), "wb")
            proc = subprocess.Popen(
                [AM_BIN, "--config.file=" + conf, "--storage.path=" + os.path.join(d, "data"),
                 "--web.listen-address=127.0.0.1:%d" % port, "--cluster.listen-address="],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=d)
            log.close()
            self.procs.append(proc)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    st, _, _ = H.http_request(port, "GET", "/-/ready", timeout=1.0)
                    if st == 200:
                        return port
                except OSError:
                    pass
                time.sleep(0.05)
            H.kill_proc(proc)
        raise AssertionError("alertmanager did not start; log:\n" +
                             H.tail(os.path.join(d, "am.log")))

    def test_alertmanager_lifecycle(self):
        if not AM_BIN or not shutil.which(AM_BIN):
            self.skipTest("prometheus-alertmanager is not installed (scripts/install-deps)")
        am_sink = self.sink()
        hook = self.sink()
        am_port = self.start_am(am_sink.url)
        h = self.harkd(CONF.format(am_port=am_port, hook=hook.url))

        stream = H.seasonal_stream(days=3, seed=5)
        # Up to the middle of the spike: it fires and stays firing.
        cut = stream.spike[0] + 20 * 60
        first = [ln for ln in stream.lines if H.parse_ts(json.loads(ln).get(
            "created_at") or json.loads(ln)["data"]["created_at"]) < cut]
        rest = stream.lines[len(first):]
        H.push(h.port, first)

        alerts = H.wait_until(lambda: am_alerts(am_port), 30.0, 0.1,
                              "the alert in Alertmanager's /api/v2/alerts")
        self.assertEqual(len(alerts), 1, alerts)
        a = alerts[0]
        self.assertEqual(a["status"]["state"], "active", a)
        self.assertEqual(a["labels"]["alertname"], "brand")
        self.assertEqual(a["labels"]["rule"], "brand")
        self.assertEqual(a["labels"]["team"], "community")
        self.assertEqual(a["labels"]["severity"], "page")
        for k in ("summary", "description"):
            self.assertTrue(a["annotations"].get(k), (k, a["annotations"]))
        self.assertIn("brand", a["annotations"]["summary"])
        self.assertGreater(H.parse_ts(a["endsAt"]), time.time())
        self.assertTrue(H.overlaps(H.parse_ts(a["startsAt"]), H.parse_ts(a["startsAt"]) + 300,
                                   *stream.spike), a["startsAt"])

        # Alertmanager routed it to its webhook receiver.
        def routed(status):
            return [b for b in am_sink.bodies()
                    if b and b.get("status") == status and
                    any(x["labels"].get("alertname") == "brand" for x in b["alerts"])]
        got = H.wait_until(lambda: routed("firing"), 30.0, 0.1,
                           "Alertmanager's firing notification at the sink")
        self.assertEqual(got[0]["receiver"], "sink")
        self.assertEqual(got[0]["alerts"][0]["labels"]["team"], "community")

        # The same alert's v1 body explains the window: its top authors and
        # languages, counted over every mention of the bucket.
        fired = H.wait_until(lambda: [b for b in hook.bodies() if b["status"] == "firing"],
                             30.0, 0.1, "the v1 firing body")
        v1 = fired[0]
        self.assertTrue(1 <= len(v1["top_authors"]) <= 5, v1)
        self.assertTrue(set(x["name"] for x in v1["top_languages"]) <= {"fr", "en"}, v1)
        counts = [x["count"] for x in v1["top_authors"]]
        self.assertEqual(counts, sorted(counts, reverse=True))
        self.assertLessEqual(sum(x["count"] for x in v1["top_languages"]), v1["count"])
        # More than the samples: the languages add up to the whole bucket.
        self.assertGreater(sum(x["count"] for x in v1["top_languages"]), len(v1["samples"]))

        self.assertNotIn("repeat", v1)

        # Still firing: the webhook is re-notified every repeat_interval.
        reps = H.wait_until(lambda: len([b for b in hook.bodies() if b.get("repeat")]) >= 2
                            and [b for b in hook.bodies() if b.get("repeat")],
                            15.0, 0.1, "two repeats of the firing alert")
        self.assertEqual([b["repeat"] for b in reps[:2]], [1, 2])
        ids = [v1["id"]] + [b["id"] for b in reps]
        self.assertEqual(len(set(ids)), len(ids), ids)
        for b in reps:
            self.assertEqual((b["status"], b["rule"], b["window_start"], b["count"]),
                             ("firing", "brand", v1["window_start"], v1["count"]))
            self.assertEqual(b["top_authors"], v1["top_authors"])

        # After the spike the alert resolves in Alertmanager and at its sink.
        H.push(h.port, rest)
        H.wait_until(lambda: [b for b in hook.bodies() if b["status"] == "resolved"],
                     60.0, 0.1, "hark's resolve")
        n_after = len(hook.bodies())
        time.sleep(2.5)
        self.assertEqual(len(hook.bodies()), n_after, "repeats after the resolve")

        def gone():
            left = am_alerts(am_port)
            return all(x["status"]["state"] != "active" or
                       H.parse_ts(x["endsAt"]) <= time.time() for x in left)
        H.wait_until(gone, 30.0, 0.1, "the alert no longer active in Alertmanager")
        res = H.wait_until(lambda: routed("resolved"), 30.0, 0.1,
                           "Alertmanager's resolved notification at the sink")
        self.assertLessEqual(H.parse_ts(res[0]["alerts"][0]["endsAt"]), time.time())
        self.stop(h)


if __name__ == "__main__":
    H.main()
