#!/usr/bin/env python3
"""Python's peer of bench/sync.c: multiprocessing's Lock, Value, Semaphore
and Event, measured as the C program measures mproc's.

    python3 sync.py [--lock-n N] [--value-n N] [--pp-n N] [--cpus A,B]
                    [--rounds R] [--only abc]

lock          N acquire()+release() pairs of a multiprocessing.Lock in one
              process: pairs per second.
value         2 processes each do N times `with v.get_lock(): v.value += 1`
              on a Value('q'): increments per second, from the first start
              to the last end (the total is checked).
sem_*, event_*  ping-pong between 2 processes, both pinned to CPU A
              ("one"), to A and B ("two") or not pinned ("free"), N timed
              round trips after a warm-up: a Semaphore(0) pair (release /
              acquire) and an Event pair (set / wait+clear); round-trip
              microseconds.
Children use the fork start method, as the C program's do. Each
measurement runs R rounds (default 3) and reports the median round.

Output, one line per measurement, read by sync.c:
    RESULT <key> value=<value> n=<n>
and for humans (ignored by the parser):
    INFO python=<version> ...
A measurement that fails prints "ERROR <key> <reason>" and the others go on.
"""
import argparse
import multiprocessing as mp
import os
import statistics
import sys
import time


def lock_rate(n):
    lock = mp.get_context("fork").Lock()
    acquire, release = lock.acquire, lock.release
    t0 = time.perf_counter()
    for _ in range(n):
        acquire()
        release()
    return n / (time.perf_counter() - t0)


def _adder(v, n, gate, times, role):
    lock = v.get_lock()
    gate.wait()
    t0 = time.perf_counter()
    for _ in range(n):
        with lock:
            v.value += 1
    times[2 * role] = t0
    times[2 * role + 1] = time.perf_counter()


def value_rate(n):
    ctx = mp.get_context("fork")
    v = ctx.Value("q", 0)
    gate = ctx.Barrier(2)
    times = ctx.RawArray("d", 4)
    ps = [ctx.Process(target=_adder, args=(v, n, gate, times, r))
          for r in range(2)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    if any(p.exitcode != 0 for p in ps):
        raise RuntimeError("a child failed")
    if v.value != 2 * n:
        raise RuntimeError("lost updates: %d, not %d" % (v.value, 2 * n))
    span = max(times[1], times[3]) - min(times[0], times[2])
    return 2 * n / span


def _pin(cpu):
    if cpu is not None and cpu >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def _sem_player(role, a, b, n, warm, cpu, out):
    _pin(cpu)
    if role == 0:
        for i in range(warm + n):
            if i == warm:
                t0 = time.perf_counter()
            a.release()
            b.acquire()
        out.value = (time.perf_counter() - t0) / n
    else:
        for _ in range(warm + n):
            a.acquire()
            b.release()


def _event_player(role, a, b, n, warm, cpu, out):
    _pin(cpu)
    if role == 0:
        for i in range(warm + n):
            if i == warm:
                t0 = time.perf_counter()
            a.set()
            b.wait()
            b.clear()
        out.value = (time.perf_counter() - t0) / n
    else:
        for _ in range(warm + n):
            a.wait()
            a.clear()
            b.set()


def pingpong_us(kind, n, cpus):
    ctx = mp.get_context("fork")
    if kind == "sem":
        a, b, player = ctx.Semaphore(0), ctx.Semaphore(0), _sem_player
    else:
        a, b, player = ctx.Event(), ctx.Event(), _event_player
    out = ctx.RawValue("d", 0.0)
    warm = max(10, n // 10)
    ps = [ctx.Process(target=player, args=(r, a, b, n, warm, cpus[r], out))
          for r in range(2)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    if any(p.exitcode != 0 for p in ps):
        raise RuntimeError("a child failed")
    return out.value * 1e6


def report(key, n, rounds, fn):
    try:
        vals = [fn() for _ in range(rounds)]
    except Exception as e:  # report, and measure the others
        print("ERROR %s %s" % (key, str(e).replace("\n", " ")), flush=True)
        return
    print("RESULT %s value=%.6g n=%d" % (key, statistics.median(vals), n),
          flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lock-n", type=int, default=1000000)
    ap.add_argument("--value-n", type=int, default=100000)
    ap.add_argument("--pp-n", type=int, default=3000)
    ap.add_argument("--cpus", default="0,1",
                    help="the two CPUs to pin to (-1: none)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="abc",
                    help="sections: a (lock), b (value), c (ping-pong)")
    args = ap.parse_args()
    c = [int(x) for x in args.cpus.split(",")]
    places = [("one", (c[0], c[0])), ("two", (c[0], c[1])),
              ("free", (-1, -1))]
    print("INFO python=%s rounds=%d" % (sys.version.split()[0], args.rounds),
          flush=True)
    r = args.rounds
    if "a" in args.only:
        report("lock", args.lock_n, r, lambda: lock_rate(args.lock_n))
    if "b" in args.only:
        report("value", args.value_n, r, lambda: value_rate(args.value_n))
    for kind in ("sem", "event") if "c" in args.only else ():
        for place, cpus in places:
            if place == "two" and cpus[1] < 0:
                continue  # one usable CPU
            report(kind + "_" + place, args.pp_n, r,
                   lambda: pingpong_us(kind, args.pp_n, cpus))


if __name__ == "__main__":
    main()
