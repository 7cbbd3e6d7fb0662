#!/usr/bin/env python3
"""Python's peer of bench/objects.c: many small multiprocessing objects.

    python3 objects.py [--n N] [--live L]

py_lock_us, py_rawvalue_us, py_event_us
    a batch of N Lock(), RawValue('q') or Event() made, then dropped:
    microseconds per object (median of 5 rounds).
py_rawvalue_bytes
    bytes of multiprocessing.heap's block per live RawValue('q').
py_fork_none_us, py_fork_live_us
    a fork Process started and joined (median of 11), with no live object,
    then with L live objects (half Locks, half RawValues).

Output, one line per measurement, read by objects.c:
    RESULT <key> value=<value>
"""
import argparse
import gc
import multiprocessing as mp
import statistics
import sys
import time


def batch_us(make, n):
    t0 = time.perf_counter()
    objs = [make() for _ in range(n)]
    del objs
    gc.collect()
    return (time.perf_counter() - t0) / n * 1e6


def noop():
    pass


def fork_us(ctx, reps=11):
    v = []
    for _ in range(reps):
        t0 = time.perf_counter()
        p = ctx.Process(target=noop)
        p.start()
        p.join()
        v.append((time.perf_counter() - t0) * 1e6)
    return statistics.median(v)


def block_bytes(v):
    """The heap block of a RawValue (CPython: its wrapper's (arena, start,
    stop) block); None where that is not to be found."""
    try:
        arena, start, stop = v._wrapper._state[0]
        return stop - start
    except Exception:
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2500)
    ap.add_argument("--live", type=int, default=25000)
    a = ap.parse_args()
    ctx = mp.get_context("fork")
    print(f"INFO python={sys.version.split()[0]}")
    for key, make in (("py_lock_us", ctx.Lock),
                      ("py_rawvalue_us", lambda: ctx.RawValue("q", 0)),
                      ("py_event_us", ctx.Event)):
        vals = [batch_us(make, a.n) for _ in range(5)]
        print(f"RESULT {key} value={statistics.median(vals):.3f}")
    vals = [ctx.RawValue("q", 0) for _ in range(a.n)]
    sizes = [block_bytes(v) for v in vals]
    if None not in sizes:
        print(f"RESULT py_rawvalue_bytes value={sum(sizes) / len(sizes):.1f}")
    del vals
    print(f"RESULT py_fork_none_us value={fork_us(ctx):.1f}")
    live = [ctx.Lock() for _ in range(a.live // 2)]
    live += [ctx.RawValue("q", 0) for _ in range(a.live - a.live // 2)]
    print(f"RESULT py_fork_live_us value={fork_us(ctx):.1f}")
    print(f"INFO python fork with {len(live)} live objects")


if __name__ == "__main__":
    main()
