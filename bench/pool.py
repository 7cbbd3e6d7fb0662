#!/usr/bin/env python3
"""Python's peer of bench/pool.c: multiprocessing.Pool (fork context),
measured as the C program measures mproc's Pool.

    python3 pool.py [--n1 N] [--n2 N] [--rt-n N] [--rounds R] [--starts S]

map_cs1      Pool(2).map(noop, range(n1), chunksize=1) (tasks per second)
map_default  Pool(2).map(noop, range(n2)), the default chunksize (items/s)
round_trip   apply_async(noop).get() in turn on Pool(1), the process pinned
             to one CPU where the OS allows (microseconds per round trip)
create       Pool(2) made to its first result (milliseconds)

Output, one line per measurement, read by pool.c:
    RESULT <map_cs1|map_default|round_trip|create> value=<v> n=<n>
and for humans (ignored by the parser): INFO python=<version>
"""
import os
import sys

# bench/ holds queue.py, which would hide the standard library's queue
# module from multiprocessing: take this folder off sys.path first.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != _here]

import argparse  # noqa: E402
import multiprocessing as mp  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402


def noop(x=None):
    return None


def ctx():
    if "fork" in mp.get_all_start_methods():
        return mp.get_context("fork")
    return mp.get_context()


def map_rate(pool, n, chunksize):
    t0 = time.perf_counter()
    pool.map(noop, range(n), chunksize=chunksize)
    return n / (time.perf_counter() - t0)


def round_trip(n):
    with ctx().Pool(1) as pool:
        pool.apply_async(noop).get()
        t0 = time.perf_counter()
        for _ in range(n):
            pool.apply_async(noop).get()
        return (time.perf_counter() - t0) / n * 1e6


def create():
    t0 = time.perf_counter()
    with ctx().Pool(2) as pool:
        pool.apply_async(noop).get()
        t = time.perf_counter() - t0
    return t * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n1", type=int, default=20000)
    ap.add_argument("--n2", type=int, default=200000)
    ap.add_argument("--rt-n", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--starts", type=int, default=5)
    a = ap.parse_args()
    print("INFO python=%s" % sys.version.split()[0], flush=True)
    with ctx().Pool(2) as pool:
        pool.apply_async(noop).get()  # the workers exist before the clock
        v = statistics.median(map_rate(pool, a.n1, 1)
                              for _ in range(a.rounds))
        print("RESULT map_cs1 value=%.1f n=%d" % (v, a.n1), flush=True)
        v = statistics.median(map_rate(pool, a.n2, None)
                              for _ in range(a.rounds))
        print("RESULT map_default value=%.1f n=%d" % (v, a.n2), flush=True)
    v = statistics.median(create() for _ in range(a.starts))
    print("RESULT create value=%.2f n=%d" % (v, a.starts), flush=True)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    v = statistics.median(round_trip(a.rt_n) for _ in range(a.rounds))
    print("RESULT round_trip value=%.3f n=%d" % (v, a.rt_n), flush=True)


if __name__ == "__main__":
    main()
