#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Catch-up client of bench/ingest/catchup: pushes an NDJSON corpus whose
created_at times are in order through POST /v1/mentions of a running harkd,
in batches of --batch lines, one request after the other on one keep-alive
connection, then polls GET /v1/rules until every rule has evaluated the
last bucket the corpus closes (the watermark: the newest created_at minus
the lateness). Prints one JSON object: the times from the first POST to the
last reply (post_s) and to the last bucket evaluated (done_s), harkd's CPU
seconds over that time (with --pid), accepted/rejected counts."""
import argparse
import http.client
import json
import mmap
import os
import sys
import time
from datetime import datetime, timezone


def ms_of(ts):
    return int(datetime.strptime(ts.replace("Z", "+0000"),
                                 "%Y-%m-%dT%H:%M:%S.%f%z"
                                 if "." in ts else "%Y-%m-%dT%H:%M:%S%z")
               .timestamp() * 1000)


def created_at(line):
    rec = json.loads(line)
    if "data" in rec:
        return ms_of(rec["data"]["created_at"])
    return ms_of(rec["created_at"])


def cpu_s(pid):
    if pid is None:
        return 0.0
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loop_cpu_s(pid):
    """CPU of harkd's event-loop thread alone (its main thread)."""
    if pid is None:
        return 0.0
    with open("/proc/%d/task/%d/stat" % (pid, pid)) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def get(conn, path):
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 200:
        sys.exit("catchup_client: GET %s: %d %s" % (path, resp.status, body[:200]))
    return body


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--corpus", required=True)
    p.add_argument("--batch", type=int, default=2000)
    p.add_argument("--bucket-ms", type=int, default=300000)
    p.add_argument("--lateness-ms", type=int, default=300000)
    p.add_argument("--poll-ms", type=int, default=20)
    p.add_argument("--pid", type=int, default=None)
    p.add_argument("--timeout", type=float, default=1800)
    p.add_argument("--ready-timeout", type=float, default=120)
    a = p.parse_args()

    # Batch boundaries first, so that the timed part only slices and sends.
    with open(a.corpus, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    bounds = [0]
    pos, lines = 0, 0
    size = len(mm)
    while pos < size:
        nl = mm.find(b"\n", pos)
        pos = size if nl < 0 else nl + 1
        lines += 1
        if lines % a.batch == 0:
            bounds.append(pos)
    if bounds[-1] != size:
        bounds.append(size)
    first = created_at(mm[0:mm.find(b"\n")])
    last_start = mm.rfind(b"\n", 0, size - 1) + 1
    last = created_at(mm[last_start:size])
    # The last bucket closed by the watermark (newest - lateness): its end.
    target = (last - a.lateness_ms) // a.bucket_ms * a.bucket_ms

    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=600)
    deadline = time.monotonic() + a.ready_timeout
    while True:
        try:
            conn.request("GET", "/readyz")
            resp = conn.getresponse()
            resp.read()
            if resp.status == 200:
                break
        except OSError:
            conn.close()
        if time.monotonic() > deadline:
            sys.exit("catchup_client: harkd not ready")
        time.sleep(0.05)
    headers = {"Content-Type": "application/x-ndjson"}
    accepted = rejected = 0

    cpu0 = cpu_s(a.pid)
    loop0 = loop_cpu_s(a.pid)
    t0 = time.monotonic()
    for i in range(len(bounds) - 1):
        conn.request("POST", "/v1/mentions", body=mm[bounds[i]:bounds[i + 1]],
                     headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 202:
            sys.exit("catchup_client: POST %d: %d %s" % (i, resp.status, body[:200]))
        r = json.loads(body)
        accepted += r["accepted"]
        rejected += r["rejected"]
    t_posted = time.monotonic()
    cpu_posted = cpu_s(a.pid)
    polls = 0
    while True:
        rules = json.loads(get(conn, "/v1/rules"))["rules"]
        polls += 1
        behind = [r for r in rules
                  if "window_end" not in r or ms_of(r["window_end"]) < target]
        if not behind:
            break
        if time.monotonic() - t0 > a.timeout:
            sys.exit("catchup_client: %d rules still behind after %.0f s"
                     % (len(behind), a.timeout))
        time.sleep(a.poll_ms / 1000.0)
    t_done = time.monotonic()
    cpu_done = cpu_s(a.pid)
    loop_done = loop_cpu_s(a.pid)
    metrics = get(conn, "/metrics").decode()
    conn.close()

    def metric(name):
        for line in metrics.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None

    print(json.dumps({
        "mentions": lines, "batches": len(bounds) - 1, "batch": a.batch,
        "accepted": accepted, "rejected": rejected,
        "first_event": datetime.fromtimestamp(first / 1000, timezone.utc).isoformat(),
        "last_event": datetime.fromtimestamp(last / 1000, timezone.utc).isoformat(),
        "days": round((last - first) / 86400000, 2),
        "buckets_per_rule": (target - first // a.bucket_ms * a.bucket_ms) // a.bucket_ms,
        "rules": len(rules),
        "post_s": round(t_posted - t0, 3), "done_s": round(t_done - t0, 3),
        "polls": polls,
        "harkd_cpu_s": round(cpu_done - cpu0, 2),
        "harkd_cpu_post_s": round(cpu_posted - cpu0, 2),
        "harkd_loop_cpu_s": round(loop_done - loop0, 2),
        "late": metric("hark_mentions_late_total"),
        "dropped_writes": metric("hark_store_dropped_writes_total"),
        "pending_writes": metric("hark_store_pending_writes"),
    }))


if __name__ == "__main__":
    main()
