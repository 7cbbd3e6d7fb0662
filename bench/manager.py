#!/usr/bin/env python3
"""Python's peer of bench/manager.c: multiprocessing.Manager, measured as
the C program measures mproc's Manager.

    python3 manager.py [--n N] [--rounds R]

get    Manager().dict() get round trip, client and server on CPU 0 (us)
set    dict set from a forked child, one CPU (sets per second)
start  Manager() start, a dict, its first get (us)

Each measurement runs R rounds (default 3) and reports the median. Output,
one line per measurement, read by manager.c:
    RESULT <get|set|start> value=<number>
"""
import os
import sys

# This folder holds queue.py (bench/queue's peer), which would shadow the
# standard library's queue that multiprocessing.managers imports.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != _here]

import argparse  # noqa: E402
import multiprocessing as mp  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402


def pin(pid, cpu):
    try:
        os.sched_setaffinity(pid, {cpu})
    except (AttributeError, OSError):
        pass


def setter(d, n, out):
    pin(0, 0)
    t0 = time.perf_counter()
    for i in range(n):
        d[i % 256] = b"01234567"
    out.put(n / (time.perf_counter() - t0))


def one_round(ctx, n):
    t0 = time.perf_counter()
    m = ctx.Manager()
    d = m.dict()
    d["k"] = b"01234567"
    d["k"]
    start = (time.perf_counter() - t0) * 1e6
    pin(0, 0)
    pin(m._process.pid, 0)
    for _ in range(200):
        d["k"]
    t0 = time.perf_counter()
    for _ in range(n):
        d["k"]
    get = (time.perf_counter() - t0) / n * 1e6
    q = m.Queue()
    p = ctx.Process(target=setter, args=(d, n, q))
    p.start()
    rate = q.get()
    p.join()
    m.shutdown()
    return get, rate, start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    ctx = mp.get_context("fork")
    res = [one_round(ctx, a.n) for _ in range(a.rounds)]
    for i, key in enumerate(("get", "set", "start")):
        print("RESULT %s value=%.3f" % (key, statistics.median(r[i] for r in res)),
              flush=True)


if __name__ == "__main__":
    main()
