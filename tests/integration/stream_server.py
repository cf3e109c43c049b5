#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Scripted streaming servers for the source tests, on loopback.

X-like NDJSON (/x), Mastodon-like SSE (/sse) and a bulk NDJSON stream
(/bulk). Each connection to a path plays the next step of that path's
script. Prints the bound port on stdout, then logs one JSON line per
connection (path, step, monotonic start time, Last-Event-ID) to the file
named by argv[1].
"""
import http.server
import json
import socketserver
import sys
import threading
import time

LOG = open(sys.argv[1], "a", buffering=1)
LOCK = threading.Lock()
STEPS = {}


def post(i, text="hello brand", rules=2):
    return json.dumps({
        "data": {"id": str(i), "text": text, "author_id": "42",
                 "created_at": "2026-11-21T14:00:00.000Z", "lang": "en"},
        "includes": {"users": [{"id": "42", "username": "alice"}]},
        "matching_rules": [{"id": str(r), "tag": "r%d" % r}
                           for r in range(rules)]})


def status(i, content, extra=None):
    s = {"id": str(i), "created_at": "2026-11-21T14:00:00.000Z",
         "language": None, "url": "https://m.example/@a/%d" % i,
         "uri": "https://m.example/users/a/statuses/%d" % i,
         "content": content, "account": {"acct": "a@m.example"},
         "tags": [{"name": "blablacar"}], "reblog": None,
         "edited_at": None}
    if extra:
        s.update(extra)
    return s


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_chunk(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def start(self, ctype):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def error(self, code, retry_after=None):
        body = json.dumps({"title": "error %d" % code}).encode()
        self.send_response(code)
        if retry_after is not None:
            self.send_header("Retry-After", str(retry_after))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?")[0]
        with LOCK:
            step = STEPS.get(path, 0)
            STEPS[path] = step + 1
        LOG.write(json.dumps({"path": path, "step": step,
                              "t": time.monotonic(),
                              "auth": self.headers.get("Authorization"),
                              "last_event_id":
                              self.headers.get("Last-Event-ID")}) + "\n")
        getattr(self, "play_" + path.strip("/"))(step)

    def play_x(self, step):
        if step == 0:
            self.start("application/json")
            self.send_chunk("\r\n")
            self.send_chunk(post(1) + "\r\n" + post(2) + "\r\n")
            self.send_chunk("\r\n")
            self.send_chunk(post(3)[:20])
            self.send_chunk(post(3)[20:] + "\r\n")
            self.send_chunk(json.dumps({"errors": [{
                "title": "operational-disconnect",
                "disconnect_type": "UpstreamOperationalDisconnect",
                "detail": "This stream has been disconnected upstream for "
                          "operational reasons."}]}) + "\r\n")
            # closes mid-line: this half post must never count
            self.send_chunk(post(99)[:30])
            self.wfile.write(b"0\r\n\r\n")
            self.close_connection = True
        elif step == 1:
            self.error(429, retry_after=1)
        elif step == 2:
            self.error(503)
        elif step == 3:
            self.start("application/json")
            self.send_chunk(post(3) + "\r\n" + post(4) + "\r\n")
            self.send_chunk(post(5) + "\r\n")
            time.sleep(3)  # stall: the client gives up after 1 s
            self.close_connection = True
        else:
            self.start("application/json")
            self.send_chunk(post(6) + "\r\n")
            for _ in range(20):
                time.sleep(0.5)
                try:
                    self.send_chunk("\r\n")
                except OSError:
                    break
            self.close_connection = True

    def play_sse(self, step):
        if step == 0:
            self.start("text/event-stream")
            self.send_chunk(":)\nretry: 200\n\n")
            html = ('<p>Trip with <a href="https://m.example/tags/blablacar" '
                    'class="mention hashtag" rel="tag">#<span>BlaBlaCar'
                    '</span></a> &amp; friends \U0001F697</p>')
            self.send_chunk("event: update\nid: 1\ndata: " +
                            json.dumps(status(100, html)) + "\n\n")
            self.send_chunk(":thump\n")
            boost = status(101, "", {"reblog": status(100, html)})
            self.send_chunk("event: update\nid: 2\ndata: " +
                            json.dumps(boost) + "\n\n")
            edit = status(100, html + "<p>edited</p>",
                          {"edited_at": "2026-11-21T14:01:00.000Z"})
            self.send_chunk("event: status.update\r\nid: 3\r\ndata: " +
                            json.dumps(edit) + "\r\n\r\n")
            self.send_chunk("event: delete\nid: 4\ndata: 101\n\n")
            self.send_chunk("event: update\nid: 5\ndata: " +
                            json.dumps(status(103, "cut"))[:20])
            self.wfile.write(b"0\r\n\r\n")
            self.close_connection = True
        else:
            self.start("text/event-stream")
            self.send_chunk("event: update\nid: 6\ndata: " +
                            json.dumps(status(102, "<p>hi</p>")) + "\n\n")
            for _ in range(20):
                time.sleep(0.5)
                try:
                    self.send_chunk(":thump\n")
                except OSError:
                    break
            self.close_connection = True

    def play_bulk(self, step):
        self.start("application/x-ndjson")
        n = 20000
        buf = []
        for i in range(n):
            buf.append(json.dumps({"id": "b%d" % i, "text": "bulk %d" % i}))
            if len(buf) == 500:
                self.send_chunk("\n".join(buf) + "\n")
                buf = []
        for _ in range(40):
            time.sleep(0.5)
            try:
                self.send_chunk("\n")
            except OSError:
                break
        self.close_connection = True


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


srv = Server(("127.0.0.1", 0), Handler)
print(srv.server_address[1], flush=True)
srv.serve_forever()
