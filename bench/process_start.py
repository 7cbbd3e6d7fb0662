#!/usr/bin/env python3
"""Python's peer of bench/process_start.c: start+join latency per method.

    python3 process_start.py N [--budget SECONDS] [--methods fork,spawn,...]

For each start method, times
    multiprocessing.get_context(m).Process(target=f).start(); p.join()
with a target that returns at once. At most N iterations are measured after
a warm-up, fewer when the warm-up says N would not fit in the per-method time
budget (default 10 s), so that the whole run stays short.

Output, one line per method, read by process_start.c:
    RESULT <method> n=<n> mean_us=<mean> median_us=<median> min_us=<min>
and for humans (ignored by the parser):
    INFO python=<version> budget_s=<budget>
A method that fails prints "ERROR <method> <reason>" and the others go on.
"""
import argparse
import multiprocessing as mp
import statistics
import sys
import time


def f():
    """The target: returns at once."""
    return 0


def one(ctx):
    """One start+join; the nanoseconds it took."""
    t0 = time.perf_counter_ns()
    p = ctx.Process(target=f)
    p.start()
    p.join()
    dt = time.perf_counter_ns() - t0
    if p.exitcode != 0:
        raise RuntimeError("child exit code %r" % (p.exitcode,))
    return dt


def measure(method, n, budget):
    ctx = mp.get_context(method)
    # The warm-up starts the forkserver, fills the page cache and caches, and
    # tells how long one iteration takes, to fit n into the budget.
    warm = [one(ctx) for _ in range(max(3, min(20, n // 20)))]
    est = statistics.median(warm)
    n = max(5, min(n, int(budget * 1e9 / max(est, 1))))
    return [one(ctx) for _ in range(n)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, help="iterations per method (at most)")
    ap.add_argument("--budget", type=float, default=10.0,
                    help="seconds per method, warm-up excluded")
    ap.add_argument("--methods", default="fork,forkserver,spawn")
    args = ap.parse_args()
    print("INFO python=%s budget_s=%g" % (sys.version.split()[0], args.budget),
          flush=True)
    for method in args.methods.split(","):
        if method not in mp.get_all_start_methods():
            print("ERROR %s not available on this platform" % method,
                  flush=True)
            continue
        try:
            s = measure(method, max(1, args.n), args.budget)
        except Exception as e:  # report, and measure the other methods
            print("ERROR %s %s" % (method, str(e).replace("\n", " ")),
                  flush=True)
            continue
        print("RESULT %s n=%d mean_us=%.1f median_us=%.1f min_us=%.1f"
              % (method, len(s), statistics.fmean(s) / 1e3,
                 statistics.median(s) / 1e3, min(s) / 1e3), flush=True)


if __name__ == "__main__":  # spawn and forkserver children import this file
    main()
