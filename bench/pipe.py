#!/usr/bin/env python3
"""Python's peer of bench/pipe.c: multiprocessing.Pipe, measured as the C
program measures mproc's Pipe.

    python3 pipe.py [--pp-n N] [--big-n N] [--rounds R]

same   64-byte ping-pong (send_bytes / recv_bytes), both processes on CPU 0
cross  the same, parent on CPU 0, child on CPU 1
big    1 MiB messages one way, up to the child's 1-byte acknowledgement

Children use the fork start method, as the C program's do. Each
measurement runs R rounds (default 3) and reports the median. Output, one
line per measurement, read by pipe.c:
    RESULT <same|cross|big> value=<round trips or bytes per second>
"""
import argparse
import multiprocessing as mp
import os
import statistics
import time

SMALL = 64
BIG = 1 << 20


def pin(cpu):
    try:
        os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError):
        pass


def echo(conn, other, cpu):
    other.close()  # fork copied the parent's end: else no EOF reaches us
    pin(cpu)
    while True:
        try:
            b = conn.recv_bytes()
        except EOFError:
            break
        conn.send_bytes(b)


def sink(conn, other, n):
    other.close()
    for i in range(n):
        b = conn.recv_bytes()
        if len(b) != BIG or b[0] != i % 256:
            raise SystemExit(4)
    conn.send_bytes(b"k")


def start(ctx, target, arg):
    """A child running target(its end, arg); our end, pinned to CPU 0."""
    a, b = ctx.Pipe()
    p = ctx.Process(target=target, args=(b, a, arg))
    p.start()
    b.close()
    pin(0)
    return a, p


def pingpong(ctx, cpu_child, n):
    a, p = start(ctx, echo, cpu_child)
    msg = bytes(SMALL)
    for _ in range(1000):
        a.send_bytes(msg)
        a.recv_bytes()
    t0 = time.perf_counter()
    for _ in range(n):
        a.send_bytes(msg)
        a.recv_bytes()
    t = time.perf_counter() - t0
    a.close()
    p.join()
    return n / t


def big(ctx, n):
    a, p = start(ctx, sink, n)
    buf = bytearray(BIG)
    t0 = time.perf_counter()
    for i in range(n):
        buf[0] = i % 256
        a.send_bytes(buf)
    a.recv_bytes()
    t = time.perf_counter() - t0
    a.close()
    p.join()
    return n * BIG / t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pp-n", type=int, default=10000)
    ap.add_argument("--big-n", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    ctx = mp.get_context("fork")
    print("INFO python=%s" % os.sys.version.split()[0], flush=True)
    runs = {
        "same": lambda: pingpong(ctx, 0, args.pp_n),
        "cross": lambda: pingpong(ctx, 1, args.pp_n),
        "big": lambda: big(ctx, args.big_n),
    }
    for key, fn in runs.items():
        try:
            v = statistics.median(fn() for _ in range(args.rounds))
            print("RESULT %s value=%.6g" % (key, v), flush=True)
        except Exception as e:  # one failure must not hide the others
            print("ERROR %s %s" % (key, e), flush=True)


if __name__ == "__main__":
    main()
