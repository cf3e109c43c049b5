# SPDX-License-Identifier: MIT
"""Debian's headless chromium driven by chromedriver over the W3C
WebDriver HTTP API, from urllib (no selenium): just what the dashboard's
test (test_dashboard.py) and bench (bench/dashboard/run) use.

    with browser.Browser() as b:
        b.get("http://127.0.0.1:PORT/")
        b.wait_for("return document.documentElement.dataset.ready === '1'", 30)
"""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request

import harness as H

# HARK_CHROMIUM, HARK_CHROMEDRIVER: other binaries (or none, to see the
# test skip).
CHROMIUM = os.environ.get("HARK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = (os.environ.get("HARK_CHROMEDRIVER") or shutil.which("chromedriver") or
                "/usr/bin/chromedriver")

# WebDriver's key codes.
TAB = "\ue004"
LEFT = "\ue012"
END = "\ue010"


def available():
    """Whether chromium and chromedriver are installed."""
    return os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)


class Browser:
    """One chromedriver and one browser session (window 1280x900 unless
    told, the browser's language lang), closed by close() or a with block.
    Files (chromedriver's log, the profile) go to tmp, or to a temp dir
    removed at close."""

    def __init__(self, tmp=None, lang="en-US", width=1280, height=900):
        self.own_tmp = tmp is None
        self.tmp = tempfile.mkdtemp(prefix="hark-browser-") if tmp is None else tmp
        self.sid = None
        self.port = H.free_port()
        self.log = open(os.path.join(self.tmp, "chromedriver-%d.log" % self.port), "wb")
        self.proc = subprocess.Popen([CHROMEDRIVER, "--port=%d" % self.port],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.base = "http://127.0.0.1:%d" % self.port
        try:
            H.wait_until(self._up, H.START_TIMEOUT, 0.1, "chromedriver")
            profile = tempfile.mkdtemp(prefix="chrome-", dir=self.tmp)
            caps = {"browserName": "chrome",
                    "goog:loggingPrefs": {"browser": "ALL"},
                    "goog:chromeOptions": {
                        "binary": CHROMIUM,
                        # --no-sandbox: CI runs as root in a container.
                        "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                                 "--disable-dev-shm-usage", "--window-size=%d,%d" % (width, height),
                                 "--lang=" + lang, "--user-data-dir=" + profile],
                        "prefs": {"intl.accept_languages": lang}}}
            self.sid = self.call("POST", "/session", {"capabilities": {"alwaysMatch": caps}})["sessionId"]
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _up(self):
        try:
            return self.call("GET", "/status")["ready"]
        except (OSError, ValueError, AssertionError):
            return False

    def call(self, method, path, body=None):
        """One WebDriver command → its "value"; AssertionError with the
        driver's message on an error answer."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.loads(r.read().decode())["value"]
        except urllib.error.HTTPError as e:
            raise AssertionError("webdriver %s %s: %s" % (method, path, e.read().decode()[:2000]))

    def session(self, method, path, body=None):
        return self.call(method, "/session/%s%s" % (self.sid, path), body)

    def get(self, url):
        self.session("POST", "/url", {"url": url})

    def back(self):
        self.session("POST", "/back", {})

    def window(self, width, height):
        self.session("POST", "/window/rect", {"width": width, "height": height})

    def execute(self, script, *args):
        """Runs script (a function body; arguments[i]) → what it returns."""
        return self.session("POST", "/execute/sync", {"script": script, "args": list(args)})

    def wait_for(self, script, timeout, what=None):
        """Polls script until it returns a true value (returned)."""
        return H.wait_until(lambda: self.execute(script), timeout, 0.1, what or script)

    def find(self, css):
        """The element id of the first match (AssertionError if none)."""
        return list(self.session("POST", "/element", {"using": "css selector", "value": css}).values())[0]

    def click(self, css):
        self.session("POST", "/element/%s/click" % self.find(css), {})

    def type(self, css, text):
        self.session("POST", "/element/%s/value" % self.find(css), {"text": text})

    def keys(self, *keys):
        """Presses and releases each key in turn, on the focused element."""
        acts = []
        for k in keys:
            acts += [{"type": "keyDown", "value": k}, {"type": "keyUp", "value": k}]
        self.session("POST", "/actions", {"actions": [{"type": "key", "id": "kb", "actions": acts}]})

    def logs(self):
        """The browser log's entries since the last call ({"level",
        "message", "source", …}): console messages, uncaught exceptions,
        CSP refusals, failed loads."""
        return self.session("POST", "/se/log", {"type": "browser"})

    def screenshot(self):
        """The window as PNG bytes."""
        return base64.b64decode(self.session("GET", "/screenshot"))

    def close(self):
        if self.sid is not None:
            try:
                self.call("DELETE", "/session/%s" % self.sid)
            except (AssertionError, OSError):
                pass
            self.sid = None
        if self.proc is not None:
            H.kill_proc(self.proc)
            self.proc = None
            self.log.close()
        if self.own_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
