# SPDX-License-Identifier: MIT
"""harkd against real streaming servers on loopback (issue 5): an X-like
NDJSON stream that disconnects every few seconds for about a minute
(keep-alives, in-stream errors, mid-line closes, a stall, 429 with
Retry-After, 503), checked for exact counts and for reconnect delays that
follow the policy (server-side timestamps); the scripted stream_server.py;
a Mastodon-like SSE stream of real-format Status payloads; one Redis stream
shared by two harkd in one consumer group; a followed file rotated and
truncated under load. Counts come from GET /v1/rules (matched_total) and
GET /v1/sources."""

import http.server
import json
import os
import socketserver
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# Reconnect delays are measured on the server between the end of one
# connection and the start of the next: never shorter than the policy, and
# late by at most this (sanitizer build, Python threads, TCP connect).
EARLY_S = 0.05
LATE_S = 0.9

# Policy of issue 5 (lib/io/source.c, source_http.c), in milliseconds.
NET_STEP, NET_MAX = 250, 16000
HTTP_BASE, HTTP_MAX = 5000, 320000
HEALTHY_S = 10.0


def source_info(port, name):
    status, doc = H.get_json(port, "/v1/sources")
    if status != 200 or not isinstance(doc, dict):
        raise AssertionError("GET /v1/sources: %d %r" % (status, doc))
    for s in doc.get("sources", []):
        if s.get("name") == name:
            return s
    raise AssertionError("source %r not in %r" % (name, doc))


def matched(port, rule):
    return H.rule_info(port, rule).get("matched_total")


def wait_counts(test, port, want_rules, want_source=None, timeout=60.0):
    """Waits until every rule's matched_total and every listed field of
    the source reach the wanted values; fails naming the difference."""
    last = {}

    def ok():
        for r, v in want_rules.items():
            last[r] = matched(port, r)
        if want_source:
            name, fields = want_source
            s = source_info(port, name)
            for k in fields:
                last[name + "." + k] = s.get(k)
        want = dict(want_rules)
        if want_source:
            for k, v in want_source[1].items():
                want[want_source[0] + "." + k] = v
        return all(last.get(k) == v for k, v in want.items())
    try:
        H.wait_until(ok, timeout, 0.1, "counts")
    except AssertionError:
        test.fail("counts %r, expected rules %r source %r" % (last, want_rules, want_source))


class ScriptServer:
    """A threaded HTTP server on loopback: connection number k to any path
    runs play(k, handler, rec). Records per connection its start, end and
    last-byte monotonic times and request headers."""

    def __init__(self, play):
        self.lock = threading.Lock()
        self.conns = []
        srv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                rec = {"start": time.monotonic(), "end": None, "last": None,
                       "path": self.path,
                       "headers": {k.lower(): v for k, v in self.headers.items()}}
                with srv.lock:
                    k = len(srv.conns)
                    srv.conns.append(rec)
                try:
                    play(k, self, rec)
                except OSError:
                    pass
                rec["end"] = time.monotonic()
                self.close_connection = True

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def records(self):
        with self.lock:
            return list(self.conns)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def start_stream(h, ctype):
    h.send_response(200)
    h.send_header("Content-Type", ctype)
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()


def chunk(h, rec, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
    h.wfile.flush()
    rec["last"] = time.monotonic()


def end_stream(h, rec):
    h.wfile.write(b"0\r\n\r\n")
    h.wfile.flush()
    rec["last"] = time.monotonic()


def http_error(h, rec, code, retry_after=None):
    body = json.dumps({"title": "Too Many Requests" if code == 429 else "Service Unavailable",
                       "status": code}).encode()
    h.send_response(code)
    h.send_header("Content-Type", "application/json")
    if retry_after is not None:
        h.send_header("Retry-After", str(retry_after))
    h.send_header("Content-Length", str(len(body)))
    h.send_header("Connection", "close")
    h.end_headers()
    h.wfile.write(body)
    h.wfile.flush()
    rec["last"] = time.monotonic()


# --------------------------------------------------------------------------
# X API v2 filtered stream.

X_EPOCH = 1794484800  # 2026-11-12T12:00:00Z


def x_post(i, brand):
    text = ("Booked my ride with @BlaBlaCar, driver #%d was great 🚗" % i if brand
            else "Traffic on the A7 again this morning (%d)" % i)
    return json.dumps({
        "data": {"id": str(1860000000000000000 + i), "text": text,
                 "author_id": str(2244994945 + i % 7), "lang": "en",
                 "created_at": H.rfc3339(X_EPOCH + i)[:-1] + ".000Z",
                 "edit_history_tweet_ids": [str(1860000000000000000 + i)]},
        "includes": {"users": [{"id": str(2244994945 + i % 7), "name": "Rider",
                                "username": "rider%d" % (i % 7)}]},
        "matching_rules": [{"id": "1709999", "tag": "brand"},
                           {"id": "1710000", "tag": "brand-fr"}][:1 + i % 2]},
        ensure_ascii=False)


X_ERROR = json.dumps({"errors": [{
    "title": "operational-disconnect",
    "disconnect_type": "UpstreamOperationalDisconnect",
    "detail": "This stream has been disconnected upstream for operational reasons.",
    "type": "https://api.twitter.com/2/problems/operational-disconnect"}]})


class XScript:
    """The X-like stream: a list of steps, one per connection. Each step is
    (outcome, plan): outcome says how the connection ends, which fixes the
    reconnect kind; plan is played by play_step. Keeps the truth: every
    post sent in full, ids resent, error objects."""

    def __init__(self):
        self.next = 0
        self.sent = {}          # id -> is brand, complete posts only
        self.sent_lines = 0     # complete post lines (resends included)
        self.resent = 0
        self.errors = 0
        self.last_ids = []
        self.lock = threading.Lock()

    def posts(self, h, rec, n, per_chunk=5, gap=0.0, resend=0):
        lines = []
        for i in self.last_ids[-resend:] if resend else []:
            lines.append((i, True))
        for _ in range(n):
            self.next += 1
            lines.append((self.next, False))
        batch = []
        for i, again in lines:
            batch.append(x_post(i, i % 3 != 0))
            if len(batch) == per_chunk:
                chunk(h, rec, "\r\n".join(batch) + "\r\n")
                self.account(batch)
                batch = []
                if gap:
                    chunk(h, rec, "\r\n")   # keep-alive
                    time.sleep(gap)
        if batch:
            chunk(h, rec, "\r\n".join(batch) + "\r\n")
            self.account(batch)
        with self.lock:
            self.resent += sum(1 for _, again in lines if again)
            self.last_ids = [i for i, again in lines if not again] or self.last_ids

    def account(self, batch):
        with self.lock:
            for line in batch:
                d = json.loads(line)["data"]
                i = int(d["id"]) - 1860000000000000000
                self.sent[i] = i % 3 != 0
                self.sent_lines += 1

    def cut_post(self):
        self.next += 1
        return x_post(self.next, True)[:37]  # never completed: never counted


def x_steps(script):
    """(kind, retry_after_s, play) per connection. kinds: net, http, rate,
    stall; the last step streams until the test ends."""

    def clean(h, rec):
        start_stream(h, "application/json")
        chunk(h, rec, "\r\n")
        script.posts(h, rec, 40, gap=0.3, resend=3)
        end_stream(h, rec)

    def burst(h, rec):
        start_stream(h, "application/json")
        script.posts(h, rec, 2000, per_chunk=200, resend=3)
        for _ in range(4):
            chunk(h, rec, "\r\n")
            time.sleep(0.5)
        end_stream(h, rec)

    def in_stream_error(h, rec):
        start_stream(h, "application/json")
        script.posts(h, rec, 30, gap=0.3, resend=2)
        chunk(h, rec, X_ERROR + "\r\n")
        with script.lock:
            script.errors += 1
        end_stream(h, rec)

    def mid_line(h, rec):
        start_stream(h, "application/json")
        script.posts(h, rec, 30, gap=0.3)
        chunk(h, rec, script.cut_post())
        end_stream(h, rec)

    def abrupt(h, rec):
        # Content cut without the last chunk: a transfer error for curl.
        start_stream(h, "application/json")
        script.posts(h, rec, 30, gap=0.3)
        chunk(h, rec, script.cut_post())
        h.connection.shutdown(2)

    def stall(h, rec):
        start_stream(h, "application/json")
        script.posts(h, rec, 20, gap=0.2)
        time.sleep(3.0)  # stall_timeout is 1s: harkd gives up first

    def long_healthy(h, rec):
        start_stream(h, "application/json")
        t0 = time.monotonic()
        while time.monotonic() - t0 < HEALTHY_S + 1.0:
            script.posts(h, rec, 10, gap=0.25)
        end_stream(h, rec)

    def too_many(h, rec):
        http_error(h, rec, 429, retry_after=1)

    def unavailable(h, rec):
        http_error(h, rec, 503)

    def forever(h, rec):
        start_stream(h, "application/json")
        script.posts(h, rec, 50, per_chunk=10)
        while True:
            time.sleep(0.5)
            chunk(h, rec, "\r\n")

    # HARK_SOURCES_SOAK_ROUNDS=12 plays the script about 10 minutes long.
    rounds = max(1, int(os.environ.get("HARK_SOURCES_SOAK_ROUNDS", "1")))
    return rounds * [("net", None, clean), ("net", None, in_stream_error),
            ("net", None, mid_line), ("rate", 1, too_many),
            ("net", None, burst), ("net", None, abrupt),
            ("http", None, unavailable), ("net", None, clean),
            ("net", None, long_healthy), ("stall", None, stall),
            ("net", None, mid_line), ("net", None, burst),
            ("net", None, clean), ("rate", 1, too_many),
            ("net", None, in_stream_error), ("net", None, clean)] + \
        [(None, None, forever)]


def x_policy(steps, recs):
    """Expected delay (s) before each reconnect, from the policy and what
    each connection was: attempts grow while failures are of one kind,
    restart when the kind changes or after a healthy (>= 10 s) stream."""
    attempt, last, out = 0, None, []
    for (kind, ra, _), rec in zip(steps, recs):
        if kind is None:
            break
        k = "net" if kind == "stall" else kind
        if k == "net" and rec["end"] - rec["start"] >= HEALTHY_S:
            attempt = 0
        if attempt > 0 and k != last:
            attempt = 0
        last = k
        attempt += 1
        if ra is not None:
            d = ra * 1000
        elif k == "net":
            d = min(attempt * NET_STEP, NET_MAX)
        elif k == "http":
            d = min(HTTP_BASE * 2 ** (attempt - 1), HTTP_MAX)
        else:
            d = 60000 * 2 ** (attempt - 1)
        out.append(d / 1000.0)
    return out


X_CONF = """\
http:
  listen: "127.0.0.1:@PORT@"
sources:
  - name: x
    type: http-stream
    url: "http://127.0.0.1:{port}/2/tweets/search/stream?tweet.fields=created_at,lang&expansions=author_id"
    token: "${{X_BEARER}}"
    format: x-v2
    stall_timeout: 1s
receivers:
  - name: log
    type: log
rules:
  - name: brand
    match:
      any: ["blablacar"]
    bucket: 5m
    notify: [log]
  - name: traffic
    match:
      any: ["a7"]
    bucket: 5m
    notify: [log]
"""


# --------------------------------------------------------------------------
# Mastodon streaming API (SSE).

def account(n):
    return {"id": str(109000000000 + n), "username": "user%d" % n,
            "acct": "user%d@mastodon.example" % n, "display_name": "User %d :blobcat:" % n,
            "locked": False, "bot": False, "discoverable": True, "group": False,
            "created_at": "2022-11-07T00:00:00.000Z", "note": "<p>I ride</p>",
            "url": "https://mastodon.example/@user%d" % n,
            "avatar": "https://files.example/a.png", "followers_count": 12,
            "following_count": 30, "statuses_count": 400,
            "last_status_at": "2026-11-12", "emojis": [], "fields": []}


def status(n, content, lang="fr", tags=(), reblog=None, edited=False, acct=1):
    sid = str(113500000000000000 + n)
    return {
        "id": sid, "created_at": H.rfc3339(X_EPOCH + n)[:-1] + ".000Z",
        "in_reply_to_id": None, "in_reply_to_account_id": None,
        "sensitive": False, "spoiler_text": "", "visibility": "public",
        "language": lang, "uri": "https://mastodon.example/users/user%d/statuses/%s" % (acct, sid),
        "url": "https://mastodon.example/@user%d/%s" % (acct, sid),
        "replies_count": 0, "reblogs_count": 1, "favourites_count": 3,
        "edited_at": "2026-11-12T12:30:00.000Z" if edited else None,
        "favourited": False, "reblogged": False, "muted": False, "bookmarked": False,
        "content": content, "filtered": [], "reblog": reblog,
        "application": {"name": "Web", "website": None},
        "account": account(acct), "media_attachments": [],
        "mentions": [], "tags": [{"name": t, "url": "https://mastodon.example/tags/" + t}
                                 for t in tags],
        "emojis": [{"shortcode": "blobcat", "url": "https://files.example/b.png",
                    "static_url": "https://files.example/b.png", "visible_in_picker": True}],
        "card": None, "poll": None}


HASHTAG = ('<a href="https://mastodon.example/tags/BlaBlaCar" class="mention hashtag" '
           'rel="tag">#<span>BlaBlaCar</span></a>')
MENTION = ('<span class="h-card" translate="no"><a href="https://mastodon.example/@blablacar" '
           'class="u-url mention">@<span>blablacar</span></a></span>')
LINK = ('<a href="https://blog.example/hiddenword/2026" target="_blank" '
        'rel="nofollow noopener noreferrer" translate="no"><span class="invisible">https://'
        '</span><span class="ellipsis">blog.example/</span><span class="invisible">'
        '</span></a>')

# (n, content, language, tags, matches brand, matches brand-fr)
STATUSES = [
    (1, "<p>Trajet Paris → Lyon avec %s 🚗 c&#39;était top &amp; pas cher</p>" % HASHTAG,
     "fr", ["blablacar"], True, True),
    (2, "<p>%s merci pour le remboursement&nbsp;!</p>" % MENTION, None, [], True, False),
    (3, "<p>Article sur le covoiturage : %s</p>" % LINK, "fr", [], False, False),
    (4, "<p>bla<br>bla</p><p>car, le retour 😂</p>", "fr", [], True, True),
    (5, "<p>&lt;blablacar&gt; &quot;caf&#233;&quot; with friends</p>", "en", [], True, False),
    (6, "<p>nothing to see here :blobcat:</p>", "en", [], False, False),
    (7, "<p>Première fois avec <strong>BlaBlaCar</strong> 🎉</p>", "fr-CA", [], True, True),
    (8, "<p>Ride shared via %s today</p>" % HASHTAG, None, ["blablacar"], True, False),
]


def sse(event, data, eid=None, crlf=False):
    nl = "\r\n" if crlf else "\n"
    out = "event: %s%s" % (event, nl)
    if eid is not None:
        out += "id: %s%s" % (eid, nl)
    # Real servers send one data line; a multi-line data field is joined
    # with "\n" by the client, which JSON allows between tokens.
    text = data if isinstance(data, str) else json.dumps(data, indent=1, ensure_ascii=False)
    for line in text.split("\n"):
        out += "data: %s%s" % (line, nl)
    return out + nl


MASTODON_CONF = """\
http:
  listen: "127.0.0.1:@PORT@"
sources:
  - name: mastodon
    type: sse
    url: "http://127.0.0.1:{port}/api/v1/streaming/hashtag?tag=blablacar"
    token: "secret-user-token"
    stall_timeout: 2s
receivers:
  - name: log
    type: log
rules:
  - name: brand
    match:
      any: ["blablacar", "bla bla car"]
    bucket: 5m
    notify: [log]
  - name: brand-fr
    match:
      any: ["blablacar", "bla bla car"]
      lang: [fr]
    bucket: 5m
    notify: [log]
  - name: hidden
    match:
      any: ["hiddenword"]
    bucket: 5m
    notify: [log]
"""


# --------------------------------------------------------------------------
# Followed file.

def file_line(i):
    # A custom shape read through `fields` (JSON pointers).
    return json.dumps({"event": {"key": "f%d" % i, "body": (
        "covoiturage BlaBlaCar n°%d" % i if i % 4 else "rien à voir %d" % i),
        "ts": H.rfc3339(X_EPOCH + i)}}, ensure_ascii=False)


FILE_CONF = """\
http:
  listen: "127.0.0.1:@PORT@"
sources:
  - name: tail
    type: file
    path: "{path}"
    follow: true
    poll: 50ms
    fields:
      text: /event/body
      id: /event/key
      created_at: /event/ts
receivers:
  - name: log
    type: log
rules:
  - name: brand
    match:
      any: ["blablacar"]
    bucket: 5m
    notify: [log]
"""


REDIS_CONF = """\
http:
  listen: "127.0.0.1:@PORT@"
sources:
  - name: queue
    type: redis-stream
    redis: "redis://127.0.0.1:{redis}/0"
    stream: "mentions:in"
    group: "hark"
    consumer: "{consumer}"
    block: 200ms
    batch: 50
receivers:
  - name: log
    type: log
rules:
  - name: brand
    match:
      any: ["blablacar"]
    bucket: 5m
    notify: [log]
"""


class SourcesTest(H.HarkTestCase):

    def test_x_stream_disconnects(self):
        script = XScript()
        steps = x_steps(script)
        srv = ScriptServer(lambda k, h, rec: steps[min(k, len(steps) - 1)][2](h, rec))
        self.addCleanup(srv.close)
        h = self.harkd(X_CONF.format(port=srv.port), env={"X_BEARER": "AAAA-bearer"})
        n_final = len(steps)
        H.wait_until(lambda: len(srv.records()) >= n_final, 150.0 * (n_final // 17 + 1), 0.2,
                     "the stream's %d connections" % n_final)
        # The last connection's posts, then counts are final.
        H.wait_until(lambda: srv.records()[-1]["last"] is not None, 10.0)
        with script.lock:
            brand = sum(1 for b in script.sent.values() if b)
            traffic = len(script.sent) - brand
            lines, resent, errors = script.sent_lines, script.resent, script.errors
        wait_counts(self, h.port, {"brand": brand, "traffic": traffic},
                    ("x", {"received": lines + errors, "duplicates": resent,
                           "stream_errors": errors, "reconnects": n_final - 1,
                           "rejected": 0, "state": "streaming"}))
        recs = srv.records()
        for r in recs:
            self.assertEqual(r["headers"].get("authorization"), "Bearer AAAA-bearer")
            self.assertTrue(r["path"].startswith("/2/tweets/search/stream?"), r["path"])
        want = x_policy(steps, recs)
        got = []
        for i, d in enumerate(want):
            prev, nxt = recs[i], recs[i + 1]
            # A stall ends when harkd sees no byte for stall_timeout.
            end = prev["last"] + 1.0 if steps[i][0] == "stall" else prev["end"]
            got.append(nxt["start"] - end)
        report = ", ".join("%s %.2f/%.2f" % (steps[i][0], got[i], want[i])
                           for i in range(len(want)))
        sys.stdout.write("x reconnect delays measured/policy (s): %s\n" % report)
        for i, d in enumerate(want):
            self.assertGreaterEqual(got[i], d - EARLY_S, report)
            self.assertLessEqual(got[i], d + LATE_S, report)
        # Only full lines count: mid-line closes left partial lines behind.
        self.assertGreaterEqual(source_info(h.port, "x").get("partial"), 1)
        self.stop(h)

    def test_stream_server_script(self):
        # The colleague's scripted server (stream_server.py), through harkd.
        log = os.path.join(self.tmp, "stream.log")
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, "stream_server.py"), log],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        port = int(proc.stdout.readline())
        conf = """\
http:
  listen: "127.0.0.1:@PORT@"
sources:
  - name: x
    type: http-stream
    url: "http://127.0.0.1:{p}/x"
    token: "t0k"
    stall_timeout: 1s
  - name: m
    type: sse
    url: "http://127.0.0.1:{p}/sse"
receivers:
  - name: log
    type: log
rules:
  - name: hello
    match:
      any: ["hello brand"]
      sources: [x]
    bucket: 5m
    notify: [log]
  - name: tagged
    match:
      any: ["blablacar", "hi"]
      sources: [m]
    bucket: 5m
    notify: [log]
""".format(p=port)
        h = self.harkd(conf)
        # x: posts 1..6 once (3 again after the stall step, 99 cut), one
        # in-stream error; m: statuses 100 (boost and edit of it are
        # duplicates) and 102, one delete, 103 cut.
        wait_counts(self, h.port, {"hello": 6},
                    ("x", {"duplicates": 1, "stream_errors": 1, "reconnects": 4,
                           "received": 8}), timeout=60.0)
        wait_counts(self, h.port, {"tagged": 2},
                    ("m", {"duplicates": 2, "deletes": 1, "reconnects": 1}), timeout=30.0)
        with open(log) as f:
            conns = [json.loads(l) for l in f]
        x = [c for c in conns if c["path"] == "/x"]
        delays = [x[i + 1]["t"] - x[i]["t"] for i in range(len(x) - 1)]
        sys.stdout.write("stream_server /x connection gaps (s): %s\n"
                         % ", ".join("%.2f" % d for d in delays))
        # 429 Retry-After: 1 → 1 s; 503 → 5 s (first HTTP error).
        self.assertGreaterEqual(delays[1], 1.0 - EARLY_S)
        self.assertLessEqual(delays[1], 1.0 + LATE_S)
        self.assertGreaterEqual(delays[2], 5.0 - EARLY_S)
        self.assertLessEqual(delays[2], 5.0 + LATE_S)
        sse_conns = [c for c in conns if c["path"] == "/sse"]
        self.assertIsNone(sse_conns[0]["last_event_id"])
        self.assertEqual(sse_conns[1]["last_event_id"], "4")
        self.assertTrue(all(c["auth"] == "Bearer t0k" for c in x))
        self.stop(h)

    def test_mastodon_hashtag_stream(self):
        ids = {n: str(113500000000000000 + n) for n, *_ in STATUSES}
        by_n = {n: (c, lang, tags) for n, c, lang, tags, _, _ in STATUSES}

        def st(n, **kw):
            c, lang, tags = by_n[n]
            return status(n, c, lang, tags, **kw)

        def play(k, h, rec):
            start_stream(h, "text/event-stream; charset=utf-8")
            if k == 0:
                chunk(h, rec, ":)\nretry: 300\n\n")
                chunk(h, rec, sse("update", st(1), 1))
                chunk(h, rec, ":thump\n")
                chunk(h, rec, sse("update", st(2), 2, crlf=True))
                # A boost of 1: the original again, a duplicate.
                chunk(h, rec, sse("update", status(50, "", None, reblog=st(1), acct=2), 3))
                chunk(h, rec, sse("update", st(3), 4))
                # An edit of 2: same id, never a second count.
                chunk(h, rec, sse("status.update",
                                  status(2, by_n[2][0] + "<p>edit: BlaBlaCar</p>", None,
                                         edited=True), 5))
                chunk(h, rec, sse("notification", {"id": "9", "type": "favourite"}, 6))
                chunk(h, rec, sse("delete", ids[6], 7))
                s4 = sse("update", st(4), 8)
                chunk(h, rec, s4[:len(s4) // 2])
                chunk(h, rec, s4[len(s4) // 2:])
                # Cut inside an event: 5 must not count from this one.
                cut = sse("update", st(5), 9)
                chunk(h, rec, cut[:60])
                end_stream(h, rec)
            elif k == 1:
                rec["last_event_id"] = h.headers.get("Last-Event-ID")
                chunk(h, rec, sse("update", st(4), 8))  # again after reconnect
                chunk(h, rec, sse("update", st(5), 9))
                chunk(h, rec, sse("update", st(6), 10))
                # A boost of 7 before 7 itself: counted once, as 7.
                chunk(h, rec, sse("update", status(51, "", "fr", reblog=st(7), acct=3), 11))
                chunk(h, rec, sse("update", st(7), 12))
                chunk(h, rec, sse("delete", ids[3], 13))
                end_stream(h, rec)
            else:
                chunk(h, rec, sse("update", st(8), 14))
                chunk(h, rec, sse("status.update", st(8, edited=True), 15))
                while True:
                    time.sleep(0.5)
                    chunk(h, rec, ":thump\n")

        srv = ScriptServer(play)
        self.addCleanup(srv.close)
        h = self.harkd(MASTODON_CONF.format(port=srv.port))
        brand = sum(1 for s in STATUSES if s[4])
        brand_fr = sum(1 for s in STATUSES if s[5])
        # Objects read: 6 + 5 + 2 (a notification is not a mention).
        wait_counts(self, h.port, {"brand": brand, "brand-fr": brand_fr, "hidden": 0},
                    ("mastodon", {"received": 13, "duplicates": 5, "deletes": 2,
                                  "rejected": 0, "reconnects": 2, "state": "streaming"}))
        recs = srv.records()
        self.assertEqual(recs[1]["last_event_id"], "8")
        self.assertEqual(recs[1]["headers"].get("authorization"), "Bearer secret-user-token")
        self.assertEqual(recs[1]["path"], "/api/v1/streaming/hashtag?tag=blablacar")
        # Exponential from the server's retry: 300 ms with jitter: the
        # first delay in [150, 300] ms, the second in [300, 600] ms.
        gaps = [recs[i + 1]["start"] - recs[i]["end"] for i in range(2)]
        sys.stdout.write("mastodon reconnect delays (s): %s\n" % gaps)
        self.assertGreaterEqual(gaps[0], 0.15 - EARLY_S)
        self.assertLessEqual(gaps[0], 0.3 + LATE_S)
        self.assertGreaterEqual(gaps[1], 0.3 - EARLY_S)
        self.assertLessEqual(gaps[1], 0.6 + LATE_S)
        self.stop(h)

    def test_redis_stream_two_consumers(self):
        rport = self.redis()
        a = self.harkd(REDIS_CONF.format(redis=rport, consumer="hark-a"), name="a.yaml")
        b = self.harkd(REDIS_CONF.format(redis=rport, consumer="hark-b"), name="b.yaml")
        # Both joined the group before entries arrive.
        H.wait_until(lambda: len(H.redis_cmd(rport, "XINFO", "CONSUMERS",
                                             "mentions:in", "hark")) == 2
                     if H.redis_cmd(rport, "EXISTS", "mentions:in") else False,
                     30.0, 0.1, "two consumers in the group")
        n, brand = 6000, 0
        with H.Resp(rport) as r:
            for i in range(n):
                is_brand = i % 3 != 0
                brand += is_brand
                text = "trajet %d avec BlaBlaCar" % i if is_brand else "autre chose %d" % i
                ts = H.rfc3339(X_EPOCH + i)
                if i % 2:
                    r.command("XADD", "mentions:in", "*", "mention",
                              json.dumps({"id": "r%d" % i, "text": text, "created_at": ts}))
                elif i % 4 == 0:
                    r.command("XADD", "mentions:in", "*", "mention", json.dumps(
                        {"data": {"id": "r%d" % i, "text": text, "created_at": ts}}))
                else:
                    r.command("XADD", "mentions:in", "*", "id", "r%d" % i,
                              "text", text, "created_at", ts, "lang", "fr")
                if i % 100 == 99:
                    time.sleep(0.02)
        last = {}

        def done():
            last["a"] = matched(a.port, "brand")
            last["b"] = matched(b.port, "brand")
            return last["a"] + last["b"] == brand
        try:
            H.wait_until(done, 60.0, 0.1, "both consumers")
        except AssertionError:
            self.fail("matched_total %r, expected %d in total" % (last, brand))
        sa, sb = source_info(a.port, "queue"), source_info(b.port, "queue")
        self.assertEqual(sa["received"] + sb["received"], n, (sa, sb))
        self.assertGreater(sa["received"], 0, sa)
        self.assertGreater(sb["received"], 0, sb)
        self.assertEqual(sa["rejected"] + sb["rejected"], 0)
        H.wait_until(lambda: H.redis_cmd(rport, "XPENDING", "mentions:in", "hark")[0] == 0,
                     30.0, 0.1, "every entry acknowledged")
        time.sleep(0.5)
        self.assertEqual(matched(a.port, "brand") + matched(b.port, "brand"), brand)
        sys.stdout.write("redis consumers: a=%d b=%d entries\n" % (sa["received"], sb["received"]))
        self.stop(a)
        self.stop(b)

    def test_followed_file_rotated_and_truncated(self):
        path = os.path.join(self.tmp, "mentions.ndjson")
        h = self.harkd(FILE_CONF.format(path=path))
        # No file yet: waited for, not an error.
        H.wait_until(lambda: source_info(h.port, "tail")["state"] == "waiting", 10.0)
        written = [0]
        brand = [0]

        def write(f, lo, hi, per=50, gap=0.005):
            for i in range(lo, hi):
                f.write(file_line(i) + "\n")
                brand[0] += 1 if i % 4 else 0
                written[0] += 1
                if i % per == per - 1:
                    f.flush()
                    time.sleep(gap)
            f.flush()

        def received():
            return source_info(h.port, "tail")["received"]

        f = open(path, "w", encoding="utf-8")
        write(f, 0, 8000)
        # Rotation (logrotate's create): the old file keeps a last line
        # without a newline, written just before the rename.
        f.write(file_line(8001))
        brand[0] += 1
        written[0] += 1
        f.close()
        os.rename(path, path + ".1")
        f = open(path, "w", encoding="utf-8")
        write(f, 8002, 16000)
        # Rotation with a gap: the path names nothing for a while.
        f.close()
        os.rename(path, path + ".2")
        time.sleep(0.3)
        f = open(path, "w", encoding="utf-8")
        write(f, 16000, 24000)
        # Truncation in place (copytruncate), once what was written is
        # read: a shrunk file is read again from its start.
        H.wait_until(lambda: received() == written[0], 60.0, 0.05, "caught up")
        f.truncate(0)
        f.seek(0)
        write(f, 24000, 32000)
        f.close()
        wait_counts(self, h.port, {"brand": brand[0]},
                    ("tail", {"received": written[0], "rejected": 0, "reopens": 2,
                              "truncations": 1, "partial": 0, "state": "following"}))
        # Growth after a quiet spell is still picked up.
        time.sleep(0.3)
        with open(path, "a", encoding="utf-8") as f:
            write(f, 32000, 32010)
        wait_counts(self, h.port, {"brand": brand[0]},
                    ("tail", {"received": written[0]}), timeout=20.0)
        self.stop(h)

    # ----------------------------------------------------------------------
    # A followed file across restarts (the saved position).

    def stored_counts(self, rport):
        """Sum of the brand rule's count keys: in Redis, or in the embedded
        store's snapshot (read after harkd stopped)."""
        if rport is not None:
            keys = H.redis_cmd(rport, "KEYS", "hark:{brand}:v2:count:*")
            return sum(H.stored_count(rport, "brand", int(k.rsplit(b":", 1)[1])) for k in keys)
        return sum(H.mem_count_value(v) for k, v in snapshot_items(self.tmp).items()
                   if k.startswith(b"hark:{brand}:v2:count:"))

    def saved_position(self, rport):
        if rport is not None:
            v = H.redis_cmd(rport, "GET", "hark:v1:file:tail")
        else:
            v = snapshot_items(self.tmp).get(b"hark:v1:file:tail")
        self.assertIsNotNone(v, "no saved position")
        if isinstance(v, bytes):
            v = v.decode()
        return dict((k, int(x)) for k, x in (f.split("=") for f in v.split()))

    def resume_after_sigterm(self, rport):
        path = os.path.join(self.tmp, "mentions.ndjson")
        conf = FILE_CONF.format(path=path)
        if rport is not None:
            conf = 'store:\n  redis: "redis://127.0.0.1:%d/0"\n' % rport + conf
        n1, n2 = 60000, 3000
        lines = [file_line(i) for i in range(n1 + n2)]
        brand = [1 if i % 4 else 0 for i in range(n1 + n2)]
        # The last line is still being written when harkd starts.
        half = len(lines[n1 - 1]) // 2
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines[:n1 - 1]) + "\n" + lines[n1 - 1][:half])

        h = self.harkd(conf)
        H.wait_until(lambda: source_info(h.port, "tail")["received"] > 0, 30.0, 0.002,
                     "reading started")
        self.stop(h)
        # Run 1 stopped mid-file: its position is just after a line, and
        # the store holds exactly the counts of the lines before it.
        pos = self.saved_position(rport)
        data = open(path, "rb").read()
        st = os.stat(path)
        self.assertEqual((pos["dev"], pos["ino"]), (st.st_dev, st.st_ino))
        self.assertEqual(data[pos["offset"] - 1:pos["offset"]], b"\n", pos)
        done = data[:pos["offset"]].count(b"\n")
        self.assertTrue(0 < done < n1 - 1, "not stopped mid-file: %d lines read" % done)
        run1 = sum(brand[:done])
        self.assertEqual(self.stored_counts(rport), run1)

        # Written while harkd was down: the rest of the unfinished line,
        # then more lines.
        with open(path, "a", encoding="utf-8") as f:
            f.write(lines[n1 - 1][half:] + "\n")
            f.write("\n".join(lines[n1:n1 + n2 // 2]) + "\n")
        h = self.harkd(conf, name="again.yaml")
        with open(path, "a", encoding="utf-8") as f:
            f.write("\n".join(lines[n1 + n2 // 2:]) + "\n")
        wait_counts(self, h.port, {"brand": sum(brand) - run1},
                    ("tail", {"received": n1 + n2 - done, "rejected": 0,
                              "duplicates": 0, "state": "following"}))
        self.assertIn("resuming %s at byte %d" % (path, pos["offset"]), open(h.log).read())
        self.stop(h)
        # Every line counted exactly once overall, in the store too.
        self.assertEqual(self.stored_counts(rport), sum(brand))
        self.assertEqual(self.saved_position(rport)["offset"], len(open(path, "rb").read()))
        sys.stdout.write("file resume (%s): run 1 read %d of %d lines\n"
                         % ("redis" if rport else "memory", done, n1 + n2))
        return path, conf

    def test_followed_file_resumes_embedded(self):
        path, conf = self.resume_after_sigterm(None)
        # Rotated while harkd was down: the new file is new data.
        os.rename(path, path + ".1")
        with open(path, "w", encoding="utf-8") as f:
            f.write("".join(file_line(100000 + i) + "\n" for i in range(40)))
        h = self.harkd(conf, name="rotated.yaml")
        wait_counts(self, h.port, {"brand": 30}, ("tail", {"received": 40}))
        self.stop(h)

    def test_followed_file_resumes_redis(self):
        self.resume_after_sigterm(self.redis())

    def test_file_start_at_end(self):
        path = os.path.join(self.tmp, "mentions.ndjson")
        conf = FILE_CONF.format(path=path).replace("    poll: 50ms\n",
                                                   "    poll: 50ms\n    start_at: end\n")
        self.assertIn("start_at: end", conf)
        # 500 lines there before harkd, and one being written.
        last = file_line(500)
        with open(path, "w", encoding="utf-8") as f:
            f.write("".join(file_line(i) + "\n" for i in range(500)) + last[:10])
        h = self.harkd(conf)
        H.wait_until(lambda: source_info(h.port, "tail")["state"] == "following", 10.0)
        self.assertEqual(source_info(h.port, "tail")["received"], 0)
        with open(path, "a", encoding="utf-8") as f:
            f.write(last[10:] + "\n")
            f.write("".join(file_line(i) + "\n" for i in range(501, 600)))
            # Ids seen a moment ago: dropped by the shared dedupe set.
            f.write("".join(file_line(i) + "\n" for i in range(580, 600)))
        brand = sum(1 for i in range(500, 600) if i % 4)
        wait_counts(self, h.port, {"brand": brand},
                    ("tail", {"received": 120, "duplicates": 20, "rejected": 0}))
        self.stop(h)


def snapshot_items(tmp):
    """Key → value of the embedded store's snapshot (hark.snapshot in the
    working directory): a magic line, then "K klen vlen expiry" records."""
    data = open(os.path.join(tmp, "hark.snapshot"), "rb").read()
    pos = data.index(b"\n") + 1
    items = {}
    while data[pos:pos + 2] == b"K ":
        eol = data.index(b"\n", pos)
        _, klen, vlen, _ = data[pos:eol].split(b" ")
        klen, vlen = int(klen), int(vlen)
        key = data[eol + 1:eol + 1 + klen]
        items[key] = data[eol + 1 + klen:eol + 1 + klen + vlen]
        pos = eol + 1 + klen + vlen + 1
    return items


if __name__ == "__main__":
    H.main()
