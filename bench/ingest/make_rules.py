#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes a hark config with one keyword rule per line of a keyword file
(the benchmark's "K keyword rules"), for replay or for a live harkd."""
import json
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: make_rules.py KEYWORDS.txt OUT.yaml [LISTEN]")
    kw_path, out_path = sys.argv[1], sys.argv[2]
    listen = sys.argv[3] if len(sys.argv) > 3 else None
    with open(kw_path, encoding="utf-8") as f:
        words = [w.strip() for w in f if w.strip()]
    with open(out_path, "w", encoding="utf-8") as out:
        if listen:
            out.write('http:\n  listen: "%s"\n  max_body: 64MiB\n' % listen)
            out.write("sources:\n  - name: push\n    type: http-push\n")
        out.write("rules:\n")
        for i, w in enumerate(words):
            out.write("  - name: kw%05d\n    match:\n      any: [%s]\n"
                      % (i, json.dumps(w, ensure_ascii=False)))


if __name__ == "__main__":
    main()
