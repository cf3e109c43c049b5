# SPDX-License-Identifier: MIT
"""`meson install` (issue 16): the build dir under test (HARK_BIN's
directory) installed into a DESTDIR holds both binaries, the three man
pages, the systemd unit (with this prefix's paths) and an example
etc/hark/hark.yaml that `harkd --check` accepts. The man pages cannot drift:
every key of README's configuration reference, every `hark` command and
every flag that `hark` and `harkd` print in their usage must appear in the
page, as must every environment variable the code reads (getenv); and
`man --warnings` says nothing about any of them."""

import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

BUILD_DIR = os.path.dirname(os.path.abspath(H.HARK_BIN))
PAGES = {"hark": "man1/hark.1", "harkd": "man8/harkd.8",
         "hark.yaml": "man5/hark.yaml.5"}


def roff_text(roff):
    """The words of a page as scdoc writes it: font escapes, zero-width
    joiners and escaped hyphens and backslashes removed, spaces collapsed.
    Read from the roff rather than man's output: no hyphenation, no line
    breaks inside a key."""
    lines = []
    for line in roff.splitlines():
        if line.startswith(".") and not line.startswith(".\\&"):
            if line.startswith((".SH", ".SS", ".TH")):
                lines.append(line.split(" ", 1)[-1].replace('"', ""))
            continue
        lines.append(line)
    text = "\n".join(lines)
    text = re.sub(r"\\f[BIRP]", "", text)
    text = text.replace("\\&", "").replace("\\-", "-").replace("\\e", "\\")
    text = text.replace("\\\\", "\\")
    return re.sub(r"\s+", " ", text)


def readme_config_keys(readme):
    """The keys of README's "Configuration reference" tables: the
    backticked names of each row's first cell. A cell naming several keys
    (`receivers[].secret`, `secret_file`) gives each its full name: the
    later ones continue the first one's `x[].` (or parent) prefix."""
    start = readme.index("\n## Configuration reference")
    end = readme.index("\n## ", start + 1)
    keys = []
    for line in readme[start:end].splitlines():
        if not line.startswith("| `"):
            continue
        names = re.findall(r"`([^`]+)`", line.split("|")[1])
        first = names[0]
        if "[]." in first:
            base = first[:first.index("[].") + 3]
        else:
            base = first[:first.rfind(".") + 1]
        keys.append(first)
        for n in names[1:]:
            keys.append(n if n.startswith(base) else base + n)
    return keys


def usage_text(argv):
    """What a program prints as its usage, on stdout or stderr."""
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return r.stdout + r.stderr


def flags_of(text):
    return sorted(set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", text)))


def has_word(text, word):
    return re.search(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])", text) is not None


class InstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dest = tempfile.mkdtemp(prefix="hark-install-")
        r = subprocess.run(["meson", "install", "-C", BUILD_DIR, "--destdir", cls.dest,
                            "--no-rebuild", "--quiet"],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise AssertionError("meson install -C %s failed (%d):\n%s%s" % (
                BUILD_DIR, r.returncode, r.stdout, r.stderr))
        cls.files = []
        for root, _, names in os.walk(cls.dest):
            for n in names:
                cls.files.append(os.path.relpath(os.path.join(root, n), cls.dest))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dest, ignore_errors=True)

    def installed(self, suffix_re):
        """The one installed file (relative to DESTDIR) whose path ends
        with suffix_re."""
        hits = [f for f in self.files if re.search("(^|/)" + suffix_re + "$", f)]
        self.assertEqual(len(hits), 1, "%s in the installed tree: %s\n%s" % (
            suffix_re, hits, "\n".join(sorted(self.files))))
        return hits[0]

    def page(self, name):
        path = os.path.join(self.dest, self.installed(re.escape(PAGES[name]) + r"(\.gz)?"))
        if path.endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8") as f:
                return path, f.read()
        with open(path, encoding="utf-8") as f:
            return path, f.read()

    def test_tree(self):
        harkd = self.installed("bin/harkd")
        self.installed("bin/hark")
        for name in PAGES:
            self.page(name)
        unit = self.installed("systemd/system/harkd.service")
        conf = self.installed("etc/hark/hark.yaml")
        # The unit runs the installed binary on the installed config.
        with open(os.path.join(self.dest, unit)) as f:
            text = f.read()
        self.assertNotIn("@", text)
        start = re.search(r"^ExecStart=(\S+) -c (\S+)$", text, re.M)
        self.assertIsNotNone(start, text)
        self.assertEqual(start.group(1), "/" + harkd, text)
        self.assertEqual(start.group(2), "/" + conf, text)
        self.assertIn("ExecStartPre=/%s -c /%s --check" % (harkd, conf), text)
        env = re.search(r"^EnvironmentFile=-(\S+)$", text, re.M)
        self.assertEqual(os.path.dirname(env.group(1)), os.path.dirname("/" + conf))

    def test_example_config_is_valid(self):
        conf = os.path.join(self.dest, self.installed("etc/hark/hark.yaml"))
        harkd = os.path.join(self.dest, self.installed("bin/harkd"))
        hark = os.path.join(self.dest, self.installed("bin/hark"))
        for argv in ([harkd, "-c", conf, "--check"], [hark, "check", conf]):
            r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, (argv, r.stdout, r.stderr))
            self.assertIn("OK (1 rules", r.stdout)

    def test_config_keys_documented(self):
        with open(os.path.join(H.SOURCE_ROOT, "README.md"), encoding="utf-8") as f:
            keys = readme_config_keys(f.read())
        self.assertGreater(len(keys), 80, keys)  # the parser still finds the tables
        path, roff = self.page("hark.yaml")
        text = roff_text(roff)
        missing = [k for k in keys if not has_word(text, k)]
        self.assertEqual(missing, [], "README's configuration keys missing from %s "
                         "(doc/hark.yaml.5.scd)" % path)

    def test_hark_commands_and_flags_documented(self):
        path, roff = self.page("hark")
        text = roff_text(roff)
        help_text = usage_text([H.HARK_CLI, "--help"])
        commands = re.findall(r"^  ([a-z]+)", help_text, re.M)
        self.assertIn("check", commands, help_text)
        subs = re.search(r"^  silence ([a-z|]+)", help_text, re.M).group(1).split("|")
        words = ["hark " + c for c in commands] + ["hark silence " + s for s in subs]
        usages = help_text + usage_text([H.HARK_CLI, "replay"]) + \
            usage_text([H.HARK_CLI, "silence"])
        flags = flags_of(usages)
        self.assertIn("--explain", flags)
        missing = [w for w in words + flags if not has_word(text, w)]
        self.assertEqual(missing, [], "hark commands or flags missing from %s "
                         "(doc/hark.1.scd)" % path)

    def test_harkd_flags_signals_documented(self):
        path, roff = self.page("harkd")
        text = roff_text(roff)
        flags = flags_of(usage_text([H.HARK_BIN, "--help"]))
        self.assertIn("--check", flags)
        words = flags + ["SIGHUP", "SIGTERM", "SIGINT", "EXIT STATUS"]
        missing = [w for w in words if not has_word(text, w)]
        self.assertEqual(missing, [], "harkd flags missing from %s (doc/harkd.8.scd)" % path)

    def test_environment_documented(self):
        """Each getenv("NAME") of cmd/hark is in hark(1); of cmd/harkd and
        lib/, in harkd(8)."""
        texts = {n: roff_text(self.page(n)[1]) for n in ("hark", "harkd")}
        found = 0
        for top in ("cmd", "lib"):
            for root, _, names in os.walk(os.path.join(H.SOURCE_ROOT, top)):
                for n in names:
                    if not n.endswith(".c"):
                        continue
                    with open(os.path.join(root, n), encoding="utf-8") as f:
                        src = f.read()
                    page = "hark" if os.path.basename(root) == "hark" else "harkd"
                    for var in set(re.findall(r'getenv\("([A-Za-z_0-9]+)"\)', src)):
                        found += 1
                        self.assertTrue(has_word(texts[page], var),
                                        "%s (read in %s/%s) is not in %s's man page" % (
                                            var, root, n, page))
        self.assertGreater(found, 0)

    @unittest.skipIf(shutil.which("man") is None and not os.environ.get("HARK_REQUIRE_MAN"),
                     "man (man-db) is not installed; HARK_REQUIRE_MAN=1 makes this a failure")
    def test_man_warnings(self):
        self.assertIsNotNone(shutil.which("man"), "HARK_REQUIRE_MAN is set but man is missing")
        env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
        for name in PAGES:
            path, _ = self.page(name)
            r = subprocess.run(["man", "--warnings", "-l", path], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, env=env, timeout=60)
            self.assertEqual((r.returncode, r.stderr), (0, ""), path)


if __name__ == "__main__":
    unittest.main()
