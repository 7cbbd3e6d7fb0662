#!/usr/bin/env python3
"""Python's peer of bench/shm.c: the create + close + unlink cycle of
multiprocessing.shared_memory.SharedMemory.

    python3 shm.py N [--sizes 4096,1048576] [--budget SECONDS]

Times, per size,
    s = SharedMemory(create=True, size=size); s.close(); s.unlink()
"tracked": as Python does by default, registering the segment with the
resource tracker process (a message on a pipe at create, another at
unlink); "untracked": without it — track=False where SharedMemory has it
(Python 3.13+), else with the module's resource_tracker register and
unregister replaced by no-ops for the measurement (the same calls that
track=False skips). At most N iterations after a warm-up, fewer when the
warm-up says N would not fit in the per-measurement budget (default 5 s).

Output, one line per measurement, read by shm.c:
    RESULT <tracked|untracked> size=<bytes> n=<n> mean_us=<mean>
           median_us=<median> min_us=<min>            (on one line)
and for humans (the C program prints them):
    INFO untracked=<how>
A measurement that fails prints "ERROR <key> <reason>" and the others go on.
"""
import argparse
import contextlib
import inspect
import statistics
import sys
import time
from multiprocessing import shared_memory

HAS_TRACK = "track" in inspect.signature(shared_memory.SharedMemory).parameters


@contextlib.contextmanager
def untracked_calls():
    """Without track=False, skip the tracker as track=False does."""
    if HAS_TRACK:
        yield
        return
    rt = shared_memory.resource_tracker
    saved = rt.register, rt.unregister
    rt.register = rt.unregister = lambda name, rtype: None
    try:
        yield
    finally:
        rt.register, rt.unregister = saved


def one(size, tracked):
    """One create+close+unlink; the nanoseconds it took."""
    t0 = time.perf_counter_ns()
    if tracked or not HAS_TRACK:
        s = shared_memory.SharedMemory(create=True, size=size)
    else:
        s = shared_memory.SharedMemory(create=True, size=size, track=False)
    s.close()
    s.unlink()
    return time.perf_counter_ns() - t0


def measure(size, tracked, n, budget):
    warm = [one(size, tracked) for _ in range(max(3, min(200, n // 20)))]
    est = statistics.median(warm)
    n = max(5, min(n, int(budget * 1e9 / max(est, 1))))
    return [one(size, tracked) for _ in range(n)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, help="iterations per measurement (at most)")
    ap.add_argument("--sizes", default="4096,1048576")
    ap.add_argument("--budget", type=float, default=5.0,
                    help="seconds per measurement, warm-up excluded")
    args = ap.parse_args()
    print("INFO python=%s budget_s=%g" % (sys.version.split()[0], args.budget),
          flush=True)
    print("INFO untracked=%s" % (
        "SharedMemory(track=False)" if HAS_TRACK else
        "resource_tracker register/unregister patched out (python %d.%d "
        "has no track=False)" % sys.version_info[:2]), flush=True)
    for size in (int(x) for x in args.sizes.split(",")):
        for key in ("tracked", "untracked"):
            try:
                if key == "tracked":
                    s = measure(size, True, max(1, args.n), args.budget)
                else:
                    with untracked_calls():
                        s = measure(size, False, max(1, args.n), args.budget)
            except Exception as e:  # report, and measure the others
                print("ERROR %s %s" % (key, str(e).replace("\n", " ")),
                      flush=True)
                continue
            print("RESULT %s size=%d n=%d mean_us=%.1f median_us=%.1f "
                  "min_us=%.1f" % (key, size, len(s), statistics.fmean(s) / 1e3,
                                   statistics.median(s) / 1e3, min(s) / 1e3),
                  flush=True)


if __name__ == "__main__":
    main()
