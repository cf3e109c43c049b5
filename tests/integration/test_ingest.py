# SPDX-License-Identifier: MIT
"""Ingest through POST /v1/mentions and a file source: per-line errors with
1-based line numbers, body limit, bearer token, metrics, and exact
matched_total (word boundaries, accents, case)."""

import json
import os
import socket
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
      any: ["blablacar", "bla bla car", "#blablacar", "@blablacar"]
    bucket: 5m
    notify: [log]
"""


def conf(http_extra=""):
    return BASE.replace("{http_extra}", http_extra)


def flat(i, text, ts="2026-11-02T10:00:00Z"):
    return json.dumps({"id": "m%d" % i, "text": text, "created_at": ts, "lang": "fr",
                       "author": "u%d" % i, "url": "https://social.example/@u/%d" % i},
                      ensure_ascii=False)


def xv2(i, text, ts="2026-11-02T10:00:00Z"):
    return json.dumps({"data": {"id": str(i), "text": text, "created_at": ts, "lang": "en",
                                "author_id": "42"}, "matching_rules": [{"id": "1", "tag": "x"}]},
                      ensure_ascii=False)


# (text, does the brand rule match it)
MATCH_CASES = [
    ("Trajet réservé sur BlaBlaCar, parfait", True),
    ("#blablacar le meilleur", True),
    ("merci @BlaBlaCar !", True),
    ("BLABLACAR!!!", True),
    ("j'ai testé blablácar hier", True),
    ("Bla-Bla Car, c'est pratique", True),
    ("bla bla car pour Lyon", True),
    ("ＢｌａＢｌａＣａｒ en pleine largeur", True),
    ("(blablacar)", True),
    ("new blablacarpet in the hall", False),
    ("trop de blabla car la réunion dure", False),
    ("mablablacar n'existe pas", False),
    ("blablacars everywhere", False),
    ("rien à voir, juste une voiture", False),
    ("blabla", False),
]


class Ingest(H.HarkTestCase):

    def test_bad_lines(self):
        h = self.harkd(conf())
        lines = [
            flat(1, "Good one about blablacar", "2026-11-02T10:00:01Z"),   # 1 ok
            '{"id": "broken", "text": "no closing brace"',                 # 2 invalid JSON
            xv2(3, "bla bla car again", "2026-11-02T10:00:02Z"),           # 3 ok
            json.dumps({"id": "m4", "created_at": "2026-11-02T10:00:03Z"}),  # 4 missing text
            json.dumps({"id": "m5", "text": 42, "created_at": "2026-11-02T10:00:03Z"}),  # 5 text not a string
            json.dumps({"id": "m6", "text": "blablacar", "created_at": "yesterday"}),  # 6 bad created_at
            flat(7, "unrelated chatter", "2026-11-02T10:00:04Z"),          # 7 ok
            "[1, 2, 3]",                                                   # 8 not an object
            flat(9, "#BlaBlaCar rocks", "2026-11-02T10:00:05Z"),           # 9 ok
        ]
        status, reply = H.post_mentions(h.port, "\n".join(lines) + "\n")
        self.assertEqual(status, 202, reply)
        self.assertEqual(reply["accepted"], 4, reply)
        self.assertEqual(reply["rejected"], 5, reply)
        errs = {e["line"]: e["error"] for e in reply["errors"]}
        self.assertEqual(sorted(errs), [2, 4, 5, 6, 8], reply)
        for k, v in errs.items():
            self.assertIsInstance(v, str)
            self.assertTrue(v, "empty error for line %d" % k)
        self.assertIn("json", errs[2].lower())
        self.assertIn("text", errs[4])
        self.assertIn("text", errs[5])
        self.assertIn("created_at", errs[6])

        # A body without a final newline still counts its last line.
        status, reply = H.post_mentions(h.port, flat(10, "blablacar", "2026-11-02T10:00:06Z"))
        self.assertEqual(status, 202, reply)
        self.assertEqual((reply["accepted"], reply["rejected"]), (1, 0), reply)

        status, reply = H.post_mentions(h.port, b"")
        self.assertEqual(status, 202, reply)
        self.assertEqual((reply["accepted"], reply["rejected"]), (0, 0), reply)
        self.assertEqual(reply.get("errors", []), [])

        m = H.get_metrics(h.port)
        self.assertEqual(m.get("hark_mentions_rejected_total"), 5, m)
        # "received" may count every line or only the accepted ones.
        self.assertIn(m.get("hark_mentions_received_total"), (5, 10), m)
        self.assertIn("hark_mentions_late_total", m)
        # Lines 1, 3, 9 and the one without a newline match; 7 does not.
        self.assertEqual(H.rule_info(h.port, "brand").get("matched_total"), 4)
        self.stop(h)

    def test_workers(self):
        """http.workers: a body of many chunks gets the same reply (counts,
        line numbers of errors far into it) parsed on two worker threads as
        on the loop; a stop answers the push it has taken."""
        n = 6000
        bad = {7, 3001, 5999}
        lines = []
        for i in range(1, n + 1):
            if i in bad:
                lines.append('{"id": "broken %d"' % i)
            else:
                lines.append(flat(i, ("blablacar %d" if i % 3 else "rien %d") % i,
                                  "2026-11-02T10:%02d:00Z" % (i % 60)))
        body = "\n".join(lines) + "\n"
        self.assertGreater(len(body), 600 * 1024)  # several chunks
        replies = {}
        for workers in (0, 2):
            h = self.harkd(conf("  workers: %d\n" % workers))
            status, reply = H.post_mentions(h.port, body)
            self.assertEqual(status, 202, reply)
            replies[workers] = reply
            self.assertEqual(H.get_metrics(h.port).get("hark_push_workers"), workers)
            self.assertEqual(H.rule_info(h.port, "brand").get("matched_total"),
                             len([i for i in range(1, n + 1) if i % 3 and i not in bad]))
            self.stop(h)
        self.assertEqual(replies[0], replies[2])
        self.assertEqual(replies[2]["accepted"], n - len(bad))
        self.assertEqual([e["line"] for e in replies[2]["errors"]], sorted(bad))

        # SIGTERM while the workers parse: the push is still answered.
        h = self.harkd(conf("  workers: 2\n"))
        got = {}

        def send():
            got["r"] = H.post_mentions(h.port, body * 4)

        t = threading.Thread(target=send)
        t.start()
        held = []
        H.wait_until(lambda: not t.is_alive() or held.append(
            H.get_metrics(h.port).get("hark_push_held_bytes", 0)) or held[-1] > 0,
            60, interval=0.001, what="the push taken")
        caught = t.is_alive()
        self.stop(h)  # SIGTERM, exit 0, no sanitizer report
        t.join(120)
        self.assertEqual(got["r"][0], 202, got)
        self.assertEqual(got["r"][1]["accepted"], 4 * (n - len(bad)))
        if caught:
            self.assertIn("answering the pushes in flight", open(h.log).read())

    def test_body_limit(self):
        h = self.harkd(conf('  max_body: "64KiB"\n'))
        ok = "".join(flat(i, "blablacar %d" % i, "2026-11-02T10:%02d:00Z" % (i % 60)) + "\n"
                     for i in range(300))
        self.assertLess(len(ok.encode()), 64 * 1024)
        status, reply = H.post_mentions(h.port, ok)
        self.assertEqual(status, 202, reply)
        self.assertEqual(reply["accepted"], 300)

        big = "".join(flat(i, "x" * 200) + "\n" for i in range(600)).encode()
        self.assertGreater(len(big), 64 * 1024)
        self.assertEqual(self.raw_post_status(h.port, big), 413)
        # Nothing of the refused body was counted and the daemon still serves.
        self.assertEqual(H.rule_info(h.port, "brand").get("matched_total"), 300)
        status, reply = H.post_mentions(h.port, flat(1000, "#blablacar", "2026-11-02T11:00:00Z"))
        self.assertEqual(status, 202, reply)
        self.stop(h)

    def raw_post_status(self, port, body):
        """POST over a raw socket: a server that answers 413 early may close
        before the whole body is sent, which http.client reports as an
        error instead of the status."""
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        try:
            head = ("POST /v1/mentions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "Content-Type: application/x-ndjson\r\nContent-Length: %d\r\n"
                    "Connection: close\r\n\r\n" % len(body)).encode()
            try:
                s.sendall(head + body)
            except (BrokenPipeError, ConnectionResetError):
                pass
            data = b""
            try:
                while b"\r\n" not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except ConnectionResetError:
                pass
            self.assertTrue(data.startswith(b"HTTP/1."), "no HTTP status line: %r" % data[:200])
            return int(data.split(b" ", 2)[1])
        finally:
            s.close()

    def test_token(self):
        h = self.harkd(conf('  token: "${HARK_TEST_TOKEN}"\n'),
                       env={"HARK_TEST_TOKEN": "s3cret-t0ken"})
        body = flat(1, "blablacar", "2026-11-02T10:00:00Z") + "\n"
        status, _ = H.post_mentions(h.port, body)
        self.assertEqual(status, 401)
        status, _ = H.post_mentions(h.port, body, token="wrong")
        self.assertEqual(status, 401)
        status, _ = H.post_mentions(h.port, body, token="s3cret-t0ken2")
        self.assertEqual(status, 401)
        self.assertEqual(H.rule_info(h.port, "brand").get("matched_total"), 0)
        status, reply = H.post_mentions(h.port, body, token="s3cret-t0ken")
        self.assertEqual(status, 202, reply)
        self.assertEqual(reply["accepted"], 1)
        self.assertEqual(H.rule_info(h.port, "brand").get("matched_total"), 1)
        # Read routes stay open.
        self.assertEqual(H.get_json(h.port, "/healthz")[0], 200)
        self.stop(h)

    def test_far_future_created_at(self):
        # One mangled year or time zone must not close every bucket and
        # make the rest of the stream late: past max_future (5m) ahead of
        # the clock it is refused with its reason, and the stream goes on.
        h = self.harkd(conf())
        now = int(time.time())
        lines = [flat(1, "blablacar", H.rfc3339(now - 3600)),
                 flat(2, "blablacar", "9999-01-01T00:00:00Z"),
                 flat(3, "blablacar", H.rfc3339(now + 2 * 3600)),
                 flat(4, "blablacar", H.rfc3339(now + 120)),   # within 5m
                 flat(5, "blablacar", H.rfc3339(now - 3540)),
                 flat(6, "blablacar", H.rfc3339(now - 1))]
        status, reply = H.post_mentions(h.port, "\n".join(lines) + "\n")
        self.assertEqual(status, 202, reply)
        self.assertEqual((reply["accepted"], reply["rejected"]), (4, 2), reply)
        self.assertEqual([e["line"] for e in reply["errors"]], [2, 3])
        for e in reply["errors"]:
            self.assertIn("ahead of this host's clock (max_future 300 s)", e["error"])
        info = H.rule_info(h.port, "brand")
        self.assertEqual(info.get("matched_total"), 4)
        self.assertEqual(info.get("late_total"), 0)
        m = H.get_metrics(h.port)
        self.assertEqual(m.get("hark_mentions_future_total"), 2)
        self.assertEqual(m.get("hark_mentions_rejected_total"), 2)
        self.stop(h)
        # max_future is a key: 3h lets the 2-hours-ahead one in.
        h = self.harkd(conf() + "max_future: 3h\n", name="future.yaml")
        status, reply = H.post_mentions(h.port, flat(7, "blablacar", H.rfc3339(now + 2 * 3600)))
        self.assertEqual((status, reply["accepted"]), (202, 1), reply)
        self.stop(h)

    def test_watermark_follows_the_clock(self):
        # A mention 4 minutes ahead (a skewed clock) is counted in its own
        # bucket, but moves the watermark no further than the clock: with
        # 1-minute buckets and lateness, a mention of 10 s ago is still on
        # time after it (the watermark at its created_at would have closed
        # that bucket).
        h = self.harkd(conf().replace("bucket: 5m", "bucket: 1m"))
        now = int(time.time())
        for i, t in enumerate((now - 30, now + 240, now - 10)):
            status, reply = H.post_mentions(h.port, flat(i, "blablacar", H.rfc3339(t)))
            self.assertEqual((status, reply["accepted"]), (202, 1), reply)
        info = H.rule_info(h.port, "brand")
        self.assertEqual((info.get("matched_total"), info.get("late_total")), (3, 0), info)
        self.stop(h)

    def test_retried_push_counts_once(self):
        # A client that retries after a timeout sends the same ids again:
        # they are answered as accepted and duplicates, and count once.
        h = self.harkd(conf())
        now = int(time.time())
        body = "".join(flat(i, "blablacar", H.rfc3339(now - 60)) + "\n" for i in range(100))
        status, reply = H.post_mentions(h.port, body)
        self.assertEqual(status, 202, reply)
        self.assertEqual((reply["accepted"], reply["duplicates"]), (100, 0), reply)
        status, reply = H.post_mentions(h.port, body)
        self.assertEqual(status, 202, reply)
        self.assertEqual((reply["accepted"], reply["duplicates"]), (100, 100), reply)
        # Without an id a mention cannot be recognised: it counts each time.
        anon = json.dumps({"text": "blablacar", "created_at": H.rfc3339(now - 60)}) + "\n"
        for _ in range(2):
            status, reply = H.post_mentions(h.port, anon)
            self.assertEqual((status, reply["duplicates"]), (202, 0), reply)
        self.assertEqual(H.rule_info(h.port, "brand").get("matched_total"), 102)
        status, doc = H.get_json(h.port, "/v1/sources")
        push = [s for s in doc["sources"] if s["name"] == "push"][0]
        self.assertEqual(push["duplicates"], 100, doc)
        self.stop(h)

    def test_idempotency_key(self):
        # A retried push with the same Idempotency-Key gets the first
        # answer again (not "duplicates"), and counts nothing; the key
        # reused with another body, or malformed, is refused.
        h = self.harkd(conf())
        now = int(time.time())
        body = "".join(flat(i, "blablacar", H.rfc3339(now - 60)) + "\n" for i in range(3))
        body += "not json\n"

        def post(b, key):
            st, hd, data = H.http_request(h.port, "POST", "/v1/mentions", body=b.encode(),
                                          headers={"Idempotency-Key": key})
            return st, hd, data

        st, hd, first = post(body, "3f2c-push-1")
        self.assertEqual(st, 202, first)
        self.assertNotIn("idempotent-replayed", hd)
        self.assertEqual(json.loads(first)["accepted"], 3)
        st, hd, again = post(body, "3f2c-push-1")
        self.assertEqual((st, again), (202, first))
        self.assertEqual(hd.get("idempotent-replayed"), "true")
        st, _, data = post(body + flat(9, "blablacar", H.rfc3339(now - 60)) + "\n", "3f2c-push-1")
        self.assertEqual(st, 422, data)
        st, _, data = post(body, "bad key")
        self.assertEqual(st, 400, data)
        self.assertEqual(H.rule_info(h.port, "brand").get("matched_total"), 3)
        # Another key with the same ids: counted once all the same.
        st, _, data = post(body, "3f2c-push-2")
        self.assertEqual((st, json.loads(data)["duplicates"]), (202, 3), data)
        self.assertEqual(H.rule_info(h.port, "brand").get("matched_total"), 3)
        self.stop(h)

    def test_ids_per_source(self):
        # Ids are unique per network, not across them: the X post 3 and
        # the Mastodon status 3 both count; sources given one dedupe_scope
        # (two readers of one network) recognise each other's ids.
        now = int(time.time())
        files = {}
        for name in ("x", "mastodon", "x2"):
            files[name] = os.path.join(self.tmp, name + ".ndjson")
            with open(files[name], "w") as f:
                f.write(json.dumps({"id": "3", "text": "blablacar %s" % name,
                                    "created_at": H.rfc3339(now - 60)}) + "\n")
        srcs = "".join("  - name: %s\n    type: file\n    path: \"%s\"\n%s"
                       % (n, files[n], "    dedupe_scope: x\n" if n == "x2" else "")
                       for n in ("x", "mastodon", "x2"))
        cfg = conf().replace("  - name: push\n    type: http-push\n",
                             "  - name: push\n    type: http-push\n" + srcs)
        h = self.harkd(cfg)
        deadline = time.time() + 10
        while time.time() < deadline:
            status, doc = H.get_json(h.port, "/v1/sources")
            got = {s["name"]: (s["received"], s.get("duplicates")) for s in doc["sources"]}
            if all(got.get(n, (0, 0))[0] == 1 for n in ("x", "mastodon", "x2")):
                break
            time.sleep(0.05)
        # x and x2 share a scope: whichever is read second drops it.
        self.assertEqual((got["mastodon"][1], got["x"][1] + got["x2"][1]), (0, 1), doc)
        self.assertEqual(H.rule_info(h.port, "brand").get("matched_total"), 2)
        # A push with id 3 is its own source's: counted.
        status, reply = H.post_mentions(h.port, flat(3, "blablacar", H.rfc3339(now - 60))
                                        .replace('"m3"', '"3"'))
        self.assertEqual((status, reply["duplicates"]), (202, 0), reply)
        self.assertEqual(H.rule_info(h.port, "brand").get("matched_total"), 3)
        self.stop(h)

    def test_push_without_push_source(self):
        # No sources at all: the push route is open.
        bare = conf().replace("sources:\n  - name: push\n    type: http-push\n", "")
        self.assertNotIn("http-push", bare)
        h = self.harkd(bare)
        status, reply = H.post_mentions(h.port, flat(1, "blablacar") + "\n")
        self.assertEqual(status, 202, reply)
        self.assertEqual(H.rule_info(h.port, "brand").get("matched_total"), 1)
        self.stop(h)
        # Sources listed, none of them http-push: 404, nothing counted.
        data = os.path.join(self.tmp, "empty.ndjson")
        open(data, "w").close()
        only_file = conf().replace("type: http-push",
                                   "type: file\n    path: \"%s\"" % data)
        h = self.harkd(only_file, name="file-only.yaml")
        status, _ = H.post_mentions(h.port, flat(2, "blablacar") + "\n")
        self.assertEqual(status, 404)
        self.assertEqual(H.rule_info(h.port, "brand").get("matched_total"), 0)
        self.stop(h)

    def test_matched_total(self):
        h = self.harkd(conf())
        lines = []
        want = 0
        for i, (text, match) in enumerate(MATCH_CASES):
            ts = "2026-11-02T10:%02d:00Z" % i
            lines.append((flat if i % 2 else xv2)(i, text, ts))
            want += match
        status, reply = H.post_mentions(h.port, "\n".join(lines) + "\n")
        self.assertEqual(status, 202, reply)
        self.assertEqual(reply["accepted"], len(lines), reply)
        got = H.rule_info(h.port, "brand").get("matched_total")
        if got != want:
            # Find the offending cases one by one for a useful message.
            wrong = []
            for i, (text, match) in enumerate(MATCH_CASES):
                before = H.rule_info(h.port, "brand").get("matched_total")
                H.post_mentions(h.port, flat(100 + i, text, "2026-11-02T11:%02d:00Z" % i))
                after = H.rule_info(h.port, "brand").get("matched_total")
                if (after - before == 1) != match:
                    wrong.append((text, match))
            self.fail("matched_total %r, expected %d; wrong cases (text, should match): %r"
                      % (got, want, wrong))
        self.stop(h)

    def test_file_source(self):
        stream = H.seasonal_stream(days=2, seed=99, spike_day=-1)
        good = stream.lines[:9993]
        flags = stream.is_brand[:9993]
        bad = ['{"text": "blablacar", "created_at": "not a time"}',
               "not json at all, blablacar",
               '{"id": "n1"}',
               '{"id": "n2", "text": ["blablacar"]}',
               "{",
               "42",
               '{"data": {"id": "n3", "created_at": "2026-11-01T05:00:00Z"}}']
        lines = list(good)
        for k, b in enumerate(bad):
            lines.insert(1000 * (k + 1) + k, b)
        self.assertEqual(len(lines), 10000)
        expected = sum(flags)
        with open(os.path.join(self.tmp, "mentions.ndjson"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

        # A relative path: resolved against the config file's directory,
        # which is not harkd's working directory here.
        os.mkdir(os.path.join(self.tmp, "conf"))
        text = conf().replace("  - name: push\n    type: http-push\n",
                              "  - name: sample\n    type: file\n    path: ../mentions.ndjson\n")
        self.assertIn("type: file", text)
        h = self.harkd(text, name="conf/hark.yaml")
        last = [None]

        def consumed():
            last[0] = H.rule_info(h.port, "brand").get("matched_total")
            return last[0] == expected
        try:
            H.wait_until(consumed, 120.0, 0.1, "file consumed")
        except AssertionError:
            self.fail("matched_total %r, expected %d" % (last[0], expected))
        m = H.wait_until(lambda: (lambda m: m if m.get("hark_mentions_rejected_total") == len(bad)
                                  else None)(H.get_metrics(h.port)),
                         30.0, 0.1, "hark_mentions_rejected_total == %d" % len(bad))
        self.assertIn(m.get("hark_mentions_received_total"), (len(good), len(lines)), m)
        # Consumed once: the total does not keep growing.
        self.assertEqual(H.rule_info(h.port, "brand").get("matched_total"), expected)
        self.stop(h)


if __name__ == "__main__":
    H.main()
