# SPDX-License-Identifier: MIT
"""Integration harness for harkd: starts redis-server and harkd on free
loopback ports, records webhooks in an HTTP sink, pushes NDJSON, speaks just
enough RESP to inspect Redis, and generates deterministic seasonal mention
streams. Python 3 stdlib only; every wait polls against a deadline."""

import datetime
import http.client
import http.server
import json
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import unittest

SOURCE_ROOT = os.environ.get(
    "HARK_SOURCE_ROOT",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
HARK_BIN = os.environ.get("HARK_BIN", os.path.join(SOURCE_ROOT, "build", "harkd"))
HARK_CLI = os.environ.get("HARK_CLI", os.path.join(SOURCE_ROOT, "build", "hark"))
REDIS_SERVER = os.environ.get("REDIS_SERVER", shutil.which("redis-server") or "redis-server")

# Sanitizer builds are several times slower; deadlines are generous because
# they only bound a failure, a passing run never waits for them.
START_TIMEOUT = float(os.environ.get("HARK_TEST_START_TIMEOUT", "30"))
STOP_TIMEOUT = float(os.environ.get("HARK_TEST_STOP_TIMEOUT", "30"))

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:",
                     "ERROR: LeakSanitizer")


def free_port():
    """A port that was free a moment ago (bind 0, read it, close)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def wait_until(pred, timeout, interval=0.05, what="condition"):
    """Polls pred() until it returns a true value (returned) or the deadline
    passes (AssertionError naming what)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def tail(path, n=40):
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError as e:
        return "(no log: %s)" % e


def sanitizer_lines(path):
    """Lines of a log that report an ASan/UBSan/LSan problem."""
    out = []
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            for line in f:
                if any(m in line for m in SANITIZER_MARKERS):
                    out.append(line.rstrip("\n"))
    except OSError:
        pass
    return out


# --------------------------------------------------------------------------
# RESP (Redis protocol), the few commands the tests need.

class Resp:
    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.rf = self.sock.makefile("rb")

    def close(self):
        try:
            self.rf.close()
        finally:
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def command(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            if not isinstance(a, bytes):
                a = str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(parts))
        return self._read()

    def _read(self):
        line = self.rf.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError("redis error: " + rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.rf.read(n + 2)
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self._read() for _ in range(n)]
        raise RuntimeError("bad RESP reply: %r" % line)


def redis_cmd(port, *args):
    with Resp(port) as r:
        return r.command(*args)


def stored_count(port, rule, start_s, prefix="hark:"):
    """A bucket's count in Redis: the sum of its v2 hash's fields (one per
    daemon run that counted it), or None when there is no key."""
    vals = redis_cmd(port, "HVALS", "%s{%s}:v2:count:%d" % (prefix, rule, start_s))
    if not vals:
        return None
    return sum(int(v) for v in vals)


def mem_count_value(val):
    """The count a v2 count key holds in the embedded store's snapshot
    (a line "WRITER COUNT" per daemon run)."""
    return sum(int(line.rsplit(b" ", 1)[1]) for line in val.splitlines() if line)


def redis_ping(port):
    try:
        return redis_cmd(port, "PING") == "PONG"
    except (OSError, ConnectionError, RuntimeError):
        return False


def start_redis(tmp, attempts=5, extra=()):
    """Starts redis-server on a free port with no persistence, its files in
    tmp, with extra arguments. Retries when another process took the port
    first. Returns (proc, port)."""
    last = ""
    for i in range(attempts):
        port = free_port()
        log = os.path.join(tmp, "redis-%d.log" % port)
        with open(log, "wb") as lf:
            proc = subprocess.Popen(
                [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", tmp,
                 "--daemonize", "no", "--protected-mode", "yes"] + list(extra),
                stdout=lf, stderr=subprocess.STDOUT, cwd=tmp)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if redis_ping(port):
                return proc, port
            time.sleep(0.02)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        last = tail(log)
        if "Address already in use" not in last:
            break
    raise AssertionError("redis-server did not start:\n" + last)


# --------------------------------------------------------------------------
# HTTP client helpers.

def http_request(port, method, path, body=None, headers=None, timeout=60.0):
    """Returns (status, headers dict lower-cased, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def get_json(port, path, timeout=30.0):
    """GET path → (status, parsed JSON or None)."""
    status, _, data = http_request(port, "GET", path, timeout=timeout)
    try:
        return status, json.loads(data.decode("utf-8"))
    except ValueError:
        return status, None


def get_text(port, path, timeout=30.0):
    status, _, data = http_request(port, "GET", path, timeout=timeout)
    return status, data.decode("utf-8", errors="replace")


def post_mentions(port, body, token=None, timeout=120.0):
    """One POST /v1/mentions → (status, parsed JSON or None)."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    headers = {"Content-Type": "application/x-ndjson"}
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    status, _, data = http_request(port, "POST", "/v1/mentions", body=body,
                                   headers=headers, timeout=timeout)
    try:
        return status, json.loads(data.decode("utf-8"))
    except ValueError:
        return status, None


def push(port, lines, token=None, chunk=2000):
    """POSTs NDJSON lines (str, or dicts serialized here) in chunks and
    returns the parsed replies; every chunk must be answered 202."""
    replies = []
    batch = []

    def flush():
        body = "".join(l + "\n" for l in batch)
        status, reply = post_mentions(port, body, token=token)
        if status != 202 or reply is None:
            raise AssertionError("POST /v1/mentions: status %d, reply %r" % (status, reply))
        replies.append(reply)
        batch.clear()

    for l in lines:
        batch.append(l if isinstance(l, str) else json.dumps(l, ensure_ascii=False))
        if len(batch) >= chunk:
            flush()
    if batch:
        flush()
    return replies


def parse_metrics(text):
    """Prometheus text → {name: sum of the samples over all label sets}."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "{" in line and "}" in line:
            name = line[:line.index("{")]
            rest = line[line.rindex("}") + 1:].split()
        else:
            parts = line.split()
            name, rest = parts[0], parts[1:]
        try:
            v = float(rest[0])
        except (ValueError, IndexError):
            continue
        out[name] = out.get(name, 0.0) + v
    return out


def get_metrics(port):
    status, text = get_text(port, "/metrics")
    if status != 200:
        raise AssertionError("GET /metrics: status %d" % status)
    return parse_metrics(text)


def rule_info(port, name):
    status, doc = get_json(port, "/v1/rules")
    if status != 200 or not isinstance(doc, dict):
        raise AssertionError("GET /v1/rules: status %d, body %r" % (status, doc))
    for r in doc.get("rules", []):
        if r.get("name") == name:
            return r
    raise AssertionError("rule %r not in /v1/rules: %r" % (name, doc))


# --------------------------------------------------------------------------
# Webhook sink.

class HttpSink:
    """An HTTP server on a free loopback port, in a thread, recording every
    request as (path, headers dict lower-cased, parsed JSON body or None).
    Answers 500 to the first fail_first requests, then 200."""

    def __init__(self, fail_first=0):
        self.lock = threading.Lock()
        self.requests = []
        self.fail_first = fail_first
        self.served = 0
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n > 0 else b""
                try:
                    body = json.loads(raw.decode("utf-8"))
                except ValueError:
                    body = None
                with sink.lock:
                    sink.served += 1
                    fail = sink.served <= sink.fail_first
                    if not fail:
                        sink.requests.append(
                            (self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                code = 500 if fail else 200
                out = b'{"ok":false}' if fail else b'{"ok":true}'
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, fmt, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/hook" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self):
        with self.lock:
            return [b for (_, _, b) in self.requests]

    def snapshot(self):
        with self.lock:
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


# --------------------------------------------------------------------------
# harkd.

class Harkd:
    def __init__(self, proc, port, log, out, conf, cwd):
        self.proc = proc
        self.port = port
        self.log = log
        self.out = out
        self.conf = conf
        self.cwd = cwd


def _healthz(port):
    try:
        status, _, _ = http_request(port, "GET", "/healthz", timeout=2.0)
        return status == 200
    except OSError:
        return False


def start_harkd(config_text, tmp, name="hark.yaml", attempts=4, env=None):
    """Writes config_text to tmp/name and runs harkd -c on it with cwd tmp,
    stderr to a log in tmp. "@PORT@" in the text becomes a free port (tried
    again with another one when harkd loses the race for it); the text may
    also carry a fixed port, then no retry. Waits for GET /healthz = 200."""
    conf = os.path.join(tmp, name)
    last = ""
    for i in range(attempts):
        port = free_port()
        text = config_text.replace("@PORT@", str(port))
        if "@PORT@" not in config_text:
            port = _listen_port(text)
        with open(conf, "w", encoding="utf-8") as f:
            f.write(text)
        n = len([x for x in os.listdir(tmp) if x.startswith("harkd-") and x.endswith(".log")])
        log = os.path.join(tmp, "harkd-%d.log" % n)
        out = os.path.join(tmp, "harkd-%d.out" % n)
        e = dict(os.environ)
        if env:
            e.update(env)
        with open(log, "wb") as lf, open(out, "wb") as of:
            proc = subprocess.Popen([HARK_BIN, "-c", conf], stdout=of, stderr=lf,
                                    stdin=subprocess.DEVNULL, cwd=tmp, env=e)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if _healthz(port):
                return Harkd(proc, port, log, out, conf, tmp)
            time.sleep(0.03)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            raise AssertionError("harkd did not answer /healthz within %.0fs; log:\n%s"
                                 % (START_TIMEOUT, tail(log)))
        last = tail(log)
        if "@PORT@" not in config_text or "in use" not in last.lower():
            break
    raise AssertionError("harkd exited at start-up; log:\n" + last)


def _listen_port(text):
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("listen:"):
            v = s.split(":", 1)[1].strip().strip("\"'")
            return int(v.rsplit(":", 1)[1])
    raise AssertionError("no http.listen in the config")


def check_sanitizers(h):
    bad = sanitizer_lines(h.log)
    if bad:
        raise AssertionError("sanitizer reports in %s:\n%s\n--- log tail:\n%s"
                             % (h.log, "\n".join(bad[:20]), tail(h.log, 60)))


def stop_harkd(h, sig=signal.SIGTERM):
    """Sends SIGTERM and requires exit code 0 within the deadline and a log
    free of sanitizer reports."""
    if h.proc.poll() is None:
        h.proc.send_signal(sig)
    try:
        rc = h.proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        h.proc.kill()
        h.proc.wait()
        raise AssertionError("harkd did not exit within %.0fs of SIGTERM; log:\n%s"
                             % (STOP_TIMEOUT, tail(h.log)))
    check_sanitizers(h)
    if rc != 0:
        raise AssertionError("harkd exited with %d after SIGTERM; log:\n%s" % (rc, tail(h.log)))


def kill_proc(proc):
    if proc is not None and proc.poll() is None:
        try:
            proc.kill()
        except OSError:
            pass
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            pass


# --------------------------------------------------------------------------
# Test case base and runner.

class HarkTestCase(unittest.TestCase):
    """Owns a temp dir and every process it starts; kills them at the end.
    The runner removes the dir when the test passed and prints it when not."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hark-%s-" % self._testMethodName)
        self.procs = []
        self.harkds = []
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        for h in self.harkds:
            kill_proc(h.proc)
        for p in self.procs:
            kill_proc(p)

    def redis(self):
        proc, port = start_redis(self.tmp)
        self.procs.append(proc)
        return port

    def sink(self, fail_first=0):
        s = HttpSink(fail_first)
        self.addCleanup(s.close)
        return s

    def harkd(self, config_text, **kw):
        h = start_harkd(config_text, self.tmp, **kw)
        self.harkds.append(h)
        return h

    def stop(self, h):
        stop_harkd(h)

    def tearDown(self):
        # A harkd the test did not stop itself still must not have reported
        # memory errors while it ran.
        for h in self.harkds:
            if sanitizer_lines(h.log):
                kill_proc(h.proc)
                check_sanitizers(h)


class _Result(unittest.TextTestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.n_pass = 0
        self.n_fail = 0
        self._bad = False

    def startTest(self, test):
        self._bad = False
        super().startTest(test)

    def _mark(self, test):
        self._bad = True

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._mark(test)

    def addError(self, test, err):
        super().addError(test, err)
        self._mark(test)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._mark(test)

    def stopTest(self, test):
        super().stopTest(test)
        tmp = getattr(test, "tmp", None)
        if self._bad:
            self.n_fail += 1
            if tmp:
                sys.stderr.write("%s: kept temp dir %s\n" % (test.id(), tmp))
        else:
            self.n_pass += 1
            if tmp:
                shutil.rmtree(tmp, ignore_errors=True)


def main():
    """Runs the calling module's tests (or those named on the command line),
    prints "N passed, M failed" and exits non-zero on any failure."""
    module = sys.modules["__main__"]
    loader = unittest.TestLoader()
    if len(sys.argv) > 1:
        suite = loader.loadTestsFromNames(sys.argv[1:], module)
    else:
        suite = loader.loadTestsFromModule(module)
    runner = unittest.TextTestRunner(verbosity=2, resultclass=_Result, stream=sys.stdout)
    result = runner.run(suite)
    print("%d passed, %d failed" % (result.n_pass, result.n_fail))
    sys.stdout.flush()
    sys.exit(0 if result.n_fail == 0 and result.testsRun > 0 else 1)


# --------------------------------------------------------------------------
# Deterministic seasonal mention streams.

BRAND_TEMPLATES = [
    "Trajet Paris-Lyon réservé sur {b}, départ à 8h",
    "Merci {b} pour le covoiturage d'hier, conductrice très sympa",
    "Quelqu'un a déjà annulé un trajet sur {b} ? Les frais sont élevés",
    "Just booked a ride to Lille with {b}, cheaper than the train",
    "{b} saved my weekend, the driver was great",
    "Première fois en covoiturage avec {b}, expérience géniale !",
    "Is {b} still the best option for Bordeaux -> Toulouse?",
    "Conducteur en retard de 40 minutes… merci {b} quand même",
    "Élodie m'a conseillé {b} pour aller à Nantes, ça marche bien",
    "Looking for a carpool to Marseille on {b} this Friday",
    "Déçu par le service client de {b}, aucune réponse depuis 3 jours",
    "{b}: cheap, fast, and I met cool people on the way",
]

BRAND_VARIANTS = ["BlaBlaCar", "blablacar", "#blablacar", "bla bla car", "BLABLACAR",
                  "@BlaBlaCar", "#BlaBlaCar", "Bla Bla Car", "blablácar"]

SPIKE_TEMPLATES = [
    "l'appli {b} plante depuis ce matin, impossible de réserver",
    "{b} app down? can't log in",
    "Impossible de me connecter à {b}, quelqu'un d'autre ?",
    "Is {b} down for everyone or just me?",
    "{b} ne répond plus, mon trajet est dans une heure 😱",
    "Panne {b} : l'appli affiche une erreur 503",
    "{b} outage again, my ride is in 30 minutes",
]

CHATTER_TEMPLATES = [
    "Bouchons énormes sur l'A7 ce matin, prévoyez du temps",
    "Le TGV Paris-Marseille a encore 20 minutes de retard",
    "Just bought a new blablacarpet for the living room",
    "Trop de blabla à la réunion de ce matin",
    "Covoiturage ou train pour aller à Rennes ? Vos avis",
    "Road trip this weekend, anyone up for a carpool to Brussels?",
    "Le prix de l'essence a encore augmenté, c'est fou",
    "My car broke down on the highway again",
    "La voiture électrique, vraiment rentable en 2026 ?",
    "blablacarpet sale: 20% off this week only",
    "Quel blabla ce débat télévisé, franchement",
    "Génial ce nouveau vélo électrique, adieu la voiture",
]

AUTHORS = ["marie_dpt", "lucas.r", "sophie75", "tom_on_road", "camille_b", "noah_k",
           "chloé_voyage", "jules_t", "emma.l", "hugo_dev", "léa_m", "arthur99"]

START_2026_11_01 = int(datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc).timestamp())


def rfc3339(sec):
    return datetime.datetime.fromtimestamp(sec, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def poisson(rng, lam):
    """Knuth's method split into chunks so exp() stays representable."""
    n = 0
    while lam > 30.0:
        n += poisson(rng, 30.0)
        lam -= 30.0
    L = math.exp(-lam)
    k = 0
    p = rng.random()
    while p > L:
        k += 1
        p *= rng.random()
    return n + k


def brand_rate(minute_of_day, night=0.3, day=5.0):
    """Mentions per minute: smooth day/night curve, lowest at 04:00, highest
    at 16:00."""
    h = minute_of_day / 60.0
    shape = (1.0 - math.cos(2.0 * math.pi * (h - 4.0) / 24.0)) / 2.0
    return night + (day - night) * shape ** 1.5


def _mention(rng, idx, sec, text):
    author = rng.choice(AUTHORS)
    mid = "%d%06d" % (sec, idx)
    if rng.random() < 0.5:
        return {"data": {"id": mid, "text": text, "created_at": rfc3339(sec),
                         "lang": "fr" if rng.random() < 0.6 else "en",
                         "author_id": str(1000 + AUTHORS.index(author))},
                "matching_rules": [{"id": "1", "tag": "brand"}]}
    return {"id": mid, "text": text, "created_at": rfc3339(sec),
            "lang": "fr" if rng.random() < 0.6 else "en", "author": author,
            "url": "https://social.example/@%s/%s" % (author, mid)}


class Stream:
    """A generated stream: lines (JSON strings, time order) and what a
    correct daemon must see in it."""

    def __init__(self):
        self.lines = []
        self.matching = 0          # lines that the brand rule matches
        self.is_brand = []         # per line: does the brand rule match it
        self.spike = (0, 0)        # [start, end) unix seconds
        self.first = 0
        self.last = 0


def seasonal_stream(days=3, start=START_2026_11_01, seed=42, night=0.3, day=5.0,
                    spike_day=None, spike_at=14 * 3600, spike_len=30 * 60,
                    spike_factor=10.0, chatter=True, spike_templates=None,
                    minutes=None):
    """N days (or minutes) of brand mentions from start (a UTC midnight)
    with a day/night rhythm, the same volume of unrelated chatter (near
    misses included), and one spike of spike_factor x the day rate at
    spike_at on spike_day (default: the last day; -1: no spike)."""
    rng = random.Random(seed)
    st = Stream()
    if spike_day is None:
        spike_day = days - 1
    spike_start = start + spike_day * 86400 + spike_at if spike_day >= 0 else -1
    st.spike = (spike_start, spike_start + spike_len) if spike_day >= 0 else (0, 0)
    spike_texts = spike_templates or SPIKE_TEMPLATES
    idx = 0
    for m in range(minutes if minutes is not None else days * 1440):
        t0 = start + m * 60
        lam = brand_rate(m % 1440, night, day)
        in_spike = spike_start >= 0 and spike_start <= t0 < spike_start + spike_len
        events = []
        nb = poisson(rng, lam)
        for _ in range(nb):
            events.append((t0 + rng.randrange(60), True, rng.choice(BRAND_TEMPLATES)))
        if in_spike:
            for _ in range(poisson(rng, (spike_factor - 1.0) * day)):
                events.append((t0 + rng.randrange(60), True, rng.choice(spike_texts)))
        if chatter:
            for _ in range(poisson(rng, lam)):
                events.append((t0 + rng.randrange(60), False, rng.choice(CHATTER_TEMPLATES)))
        events.sort(key=lambda e: e[0])
        for sec, is_brand, tpl in events:
            if is_brand:
                text = tpl.format(b=rng.choice(BRAND_VARIANTS))
                st.matching += 1
            else:
                text = tpl
            idx += 1
            st.is_brand.append(is_brand)
            st.lines.append(json.dumps(_mention(rng, idx, sec, text), ensure_ascii=False))
            st.last = sec
            if st.first == 0:
                st.first = sec
    return st


def overlaps(a0, a1, b0, b1):
    return a0 < b1 and b0 < a1


def parse_ts(s):
    """RFC 3339 UTC → unix seconds (float)."""
    s = s.replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(s).timestamp()
