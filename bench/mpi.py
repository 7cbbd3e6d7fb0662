#!/usr/bin/env python3
"""mpi4py.futures' peer of bench/mpi.c, measured as the C program measures
mproc's MPI executor. Run in mpi4py.futures' static mode:

    mpiexec -n 3 python3 -m mpi4py.futures mpi.py [--seq-n N] [--c1-n N]
                                                  [--c1000-n N]

sequential  submit(f, x).result() N times in turn (microseconds per round)
map_c1      list(map(f, range(N), chunksize=1)) (tasks per second)
map_c1000   list(map(f, range(N), chunksize=1000)) (tasks per second)

Output, one line per measurement, read by mpi.c:
    RESULT <sequential|map_c1|map_c1000> value=<v> n=<n>
and INFO lines for humans.
"""
import argparse
import sys
import time

from mpi4py import MPI
from mpi4py.futures import MPIPoolExecutor


def inc(x):
    return x + 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seq-n", type=int, default=2000)
    ap.add_argument("--c1-n", type=int, default=20000)
    ap.add_argument("--c1000-n", type=int, default=1000000)
    a = ap.parse_args()
    print("INFO python=%s mpi4py=%s mpi=%s" % (
        sys.version.split()[0], __import__("mpi4py").__version__,
        MPI.Get_library_version().splitlines()[0]), flush=True)
    with MPIPoolExecutor() as ex:
        ex.submit(inc, 0).result()  # the workers are there before the clock
        t0 = time.perf_counter()
        for i in range(a.seq_n):
            ex.submit(inc, i).result()
        print("RESULT sequential value=%.3f n=%d" % (
            (time.perf_counter() - t0) / a.seq_n * 1e6, a.seq_n), flush=True)
        for name, n, chunk in (("map_c1", a.c1_n, 1),
                               ("map_c1000", a.c1000_n, 1000)):
            t0 = time.perf_counter()
            r = list(ex.map(inc, range(n), chunksize=chunk))
            dt = time.perf_counter() - t0
            assert r[-1] == n
            print("RESULT %s value=%.1f n=%d" % (name, n / dt, n), flush=True)


if __name__ == "__main__":
    main()
