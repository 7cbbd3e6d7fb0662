#!/usr/bin/env python3
"""Python's peer of bench/queue.c: multiprocessing's Queue and SimpleQueue,
measured as the C program measures mproc's Queue.

    python3 queue.py [--one-n N] [--four-n N] [--big-n N] [--rounds R]
                     [--only abc]

one   (a) 64-byte messages, 1 producer process -> 1 consumer process
four  (b) 64-byte messages, 4 producers -> 1 consumer (N in all)
big   (c) 1 MiB messages, 1 producer -> 1 consumer

Each message is bytes; its first 8 bytes carry the producer and its
sequence number, which the consumer checks (length, and order per
producer). Every process waits at a Barrier once set up; the consumer
starts the clock when the barrier opens and stops it when it has every
message. Children use the fork start method, as the C program's do. Each
measurement runs R rounds (default 3) and reports the median round, in
messages per second.

Output, one line per measurement, read by queue.c:
    RESULT <kind>_<case> value=<messages per second> n=<messages>
with kind queue or simple, case one, four or big; and for humans (ignored
by the parser):
    INFO python=<version> ...
A measurement that fails prints "ERROR <key> <reason>" and the others go on.
"""
import os
import sys

# This file is named queue.py, and Python puts its folder first on sys.path,
# where it would hide the standard library's queue module from
# multiprocessing: take the folder off before importing it.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != _here]

import argparse  # noqa: E402
import multiprocessing as mp  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

SMALL = 64
BIG = 1 << 20


def _producer(q, role, count, size, gate):
    body = b"\xa5" * (size - 8)
    put = q.put
    gate.wait()
    for i in range(count):
        put(((role << 48) | i).to_bytes(8, "little") + body)


def _consumer(q, n, size, producers, gate, out):
    nxt = [0] * (producers + 1)
    get = q.get
    gate.wait()
    t0 = time.perf_counter()
    for _ in range(n):
        m = get()
        tag = int.from_bytes(m[:8], "little")
        who = tag >> 48
        if len(m) != size or not 1 <= who <= producers or \
                tag & 0xffffffffffff != nxt[who]:
            raise RuntimeError("lost, torn or out of order: %d bytes, tag %x"
                               % (len(m), tag))
        nxt[who] += 1
    out.value = n / (time.perf_counter() - t0)


def rate(kind, n, size, producers):
    ctx = mp.get_context("fork")
    q = ctx.Queue() if kind == "queue" else ctx.SimpleQueue()
    gate = ctx.Barrier(producers + 1)
    out = ctx.RawValue("d", 0.0)
    ps = [ctx.Process(target=_consumer,
                      args=(q, n, size, producers, gate, out))]
    for r in range(1, producers + 1):
        count = n // producers + (r - 1 < n % producers)
        ps.append(ctx.Process(target=_producer,
                              args=(q, r, count, size, gate)))
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    if any(p.exitcode != 0 for p in ps):
        raise RuntimeError("a child failed")
    return out.value


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
    ap.add_argument("--one-n", type=int, default=100000)
    ap.add_argument("--four-n", type=int, default=100000)
    ap.add_argument("--big-n", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="abc",
                    help="sections: a (64 B 1->1), b (64 B 4->1), "
                         "c (1 MiB 1->1)")
    args = ap.parse_args()
    print("INFO python=%s rounds=%d" % (sys.version.split()[0], args.rounds),
          flush=True)
    cases = [("a", "one", args.one_n, SMALL, 1),
             ("b", "four", args.four_n, SMALL, 4),
             ("c", "big", args.big_n, BIG, 1)]
    for section, case, n, size, producers in cases:
        if section not in args.only:
            continue
        for kind in ("queue", "simple"):
            report("%s_%s" % (kind, case), n, args.rounds,
                   lambda: rate(kind, n, size, producers))


if __name__ == "__main__":
    main()
