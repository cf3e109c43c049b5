#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Runs a command (stdout and stderr to the files given) and prints
"WALL_S CPU_S MAIN_S MAXRSS_KB": wall time, the CPU time of the whole
process (user + sys, exact, from wait4), and that of its main thread: the
total minus the other threads' CPU as last read from /proc every 20 ms (a
thread that ends between two reads loses at most 20 ms). For `hark replay`
the main thread counts and evaluates while worker threads parse, so its CPU
time is the replay's critical path, and is less disturbed than wall time by
other work on the machine."""
import os
import sys
import time


def thread_cpu(pid, tid):
    try:
        with open("/proc/%d/task/%d/stat" % (pid, tid)) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: threads_cpu.py STDOUT STDERR CMD [ARG]...")
    out = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    err = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.execvp(sys.argv[3], sys.argv[3:])
    others = {}
    while True:
        wpid, status, ru = os.wait4(pid, os.WNOHANG)
        if wpid == pid:
            break
        try:
            tids = [int(t) for t in os.listdir("/proc/%d/task" % pid)]
        except OSError:
            tids = []
        for tid in tids:
            if tid != pid:
                c = thread_cpu(pid, tid)
                if c is not None:
                    others[tid] = c
        time.sleep(0.02)
    wall = time.monotonic() - t0
    cpu = ru.ru_utime + ru.ru_stime
    print("%.3f %.2f %.2f %d" % (wall, cpu, cpu - sum(others.values()), ru.ru_maxrss))
    sys.exit(1 if os.waitstatus_to_exitcode(status) != 0 else 0)


if __name__ == "__main__":
    main()
