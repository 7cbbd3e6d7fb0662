#!/usr/bin/env python3
"""Python's peer of bench/futures.c: concurrent.futures.ThreadPoolExecutor
and ProcessPoolExecutor, measured as the C program measures mproc's
executors.

    python3 futures.py [--n N] [--seq-n N] [--rounds R] [--workers W]

gather      submit N no-op tasks, then result() each (tasks per second)
process_gather  the same with --proc-n tasks on --proc-workers processes
            (fork context where there is fork; one round)
sequential  submit(f).result() N times in turn, the process pinned to one
            CPU where the OS allows (microseconds per round trip)
killed      a ProcessPoolExecutor (2 workers) runs a task that says it runs
            and blocks; its worker is SIGKILLed: milliseconds from the kill
            to the future's BrokenProcessPool (median of --kill-rounds; a
            new executor per round, as a broken one takes no more work)

Output, one line per measurement, read by futures.c:
    RESULT <gather|process_gather|sequential|killed> value=<v> n=<n>
and for humans (ignored by the parser): INFO python=<version> ...
"""
import os
import sys

# bench/ holds queue.py, which would hide the standard library's queue
# module from concurrent.futures: take this folder off sys.path first.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != _here]

import argparse  # noqa: E402
import concurrent.futures as cf  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402


def noop():
    return None


def gather(n, workers):
    with cf.ThreadPoolExecutor(max_workers=workers) as ex:
        t0 = time.perf_counter()
        fs = [ex.submit(noop) for _ in range(n)]
        for f in fs:
            f.result()
        return n / (time.perf_counter() - t0)


def sequential(n, workers):
    with cf.ThreadPoolExecutor(max_workers=workers) as ex:
        ex.submit(noop).result()  # the worker exists before the clock
        t0 = time.perf_counter()
        for _ in range(n):
            ex.submit(noop).result()
        return (time.perf_counter() - t0) / n * 1e6


def proc_gather(n, workers):
    import multiprocessing as mp
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() \
        else None
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as ex:
        ex.submit(noop).result()  # the workers exist before the clock
        t0 = time.perf_counter()
        fs = [ex.submit(noop) for _ in range(n)]
        for f in fs:
            f.result()
        return n / (time.perf_counter() - t0)


_started = None  # the worker's end of killed()'s queue (initializer)


def _set_started(q):
    global _started
    _started = q


def park():
    _started.put(os.getpid())
    time.sleep(60)  # killed long before


def killed_once(ctx, workers):
    import signal
    q = ctx.Queue()
    ex = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                initializer=_set_started, initargs=(q,))
    try:
        ex.submit(noop).result()  # the workers exist before the clock
        f = ex.submit(park)
        pid = q.get(timeout=60)
        t0 = time.perf_counter()
        os.kill(pid, signal.SIGKILL)
        e = f.exception(timeout=60)
        t = time.perf_counter() - t0
        if not isinstance(e, cf.process.BrokenProcessPool):
            raise RuntimeError("the future gave %r" % (e,))
        return t * 1e3
    finally:
        ex.shutdown(wait=True)
        q.close()


def killed(rounds, workers):
    import multiprocessing as mp
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() \
        else mp.get_context()
    return statistics.median(killed_once(ctx, workers)
                             for _ in range(rounds))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200000)
    ap.add_argument("--seq-n", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--proc-n", type=int, default=20000)
    ap.add_argument("--proc-workers", type=int, default=2)
    ap.add_argument("--kill-rounds", type=int, default=10)
    a = ap.parse_args()
    print("INFO python=%s" % sys.version.split()[0], flush=True)
    # First, while the interpreter is small (fork children inherit its
    # page tables, and tearing them down is most of a child's death).
    if hasattr(os, "fork"):  # the kill is POSIX's, as in futures.c
        v = killed(a.kill_rounds, a.proc_workers)
        print("RESULT killed value=%.4f n=%d" % (v, a.kill_rounds),
              flush=True)
    v = statistics.median(gather(a.n, a.workers) for _ in range(a.rounds))
    print("RESULT gather value=%.1f n=%d" % (v, a.n), flush=True)
    v = proc_gather(a.proc_n, a.proc_workers)
    print("RESULT process_gather value=%.1f n=%d" % (v, a.proc_n), flush=True)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    v = statistics.median(sequential(a.seq_n, a.workers)
                          for _ in range(a.rounds))
    print("RESULT sequential value=%.3f n=%d" % (v, a.seq_n), flush=True)


if __name__ == "__main__":
    main()
