#!/usr/bin/env bash
# CI leg: fuzz the manager's wire decoder and dispatch with libFuzzer
# (Debian's clang 14), ASan + UBSan, for a bounded time.
#
#   bash ci/fuzz.sh [SECONDS]     # default 60
#
# The seeds are written here (by a few lines of Python: the wire format of
# docs/manager-protocol.md): valid request scripts, records of [u8 who]
# [u16 length LE][message] (tests/fuzz/fuzz_manager.c), so the fuzzer
# starts from real requests of every kind rather than from nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
bash ci/linux-deps.sh
dir=build/ci-fuzz
CC=clang cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DMPROC_WERROR=ON \
  -DMPROC_BUILD_TESTS=ON -DMPROC_ASAN=ON -DMPROC_FUZZ=ON \
  -DMPROC_BUILD_EXAMPLES=OFF -DMPROC_BUILD_BENCH=OFF >/dev/null
cmake --build "$dir" -j2 --target fuzz_manager >/dev/null
seeds=$dir/fuzz-seeds
corpus=$dir/fuzz-corpus
mkdir -p "$seeds" "$corpus"
python3 - "$seeds" <<'PY'
import struct, sys, os
out = sys.argv[1]
def req(op, oid, *items):
    b = struct.pack('<BBHI', ord('M'), 1, op, oid)
    for it in items:
        t, v = it
        if t == 'b': b += b'b' + struct.pack('<I', len(v)) + v
        elif t == 'i': b += b'i' + struct.pack('<q', v)
        elif t == 'f': b += b'f' + struct.pack('<d', v)
        elif t == 'r': b += b'r' + struct.pack('<I', v)
        else: b += b'n'
    return b
def rec(who, msg): return struct.pack('<BH', who, len(msg)) + msg
B = lambda x: ('b', x); I = lambda x: ('i', x); F = lambda x: ('f', x)
R = lambda x: ('r', x); N = ('n', None)
CREATE, HOLD, ADOPT, NAMED, DECREF, LEASE = 3, 6, 7, 9, 5, 10
seeds = {
  'dict': [rec(0, req(CREATE, 0, I(1))), rec(0, req(101, 1, B(b'k'), B(b'v'))),
           rec(1, req(100, 1, B(b'k'), N)), rec(0, req(105, 1)),
           rec(0, req(107, 1, B(b'a'), B(b'1'), B(b'b'), B(b'2'))),
           rec(0, req(CREATE, 0, I(2))), rec(0, req(101, 1, B(b'l'), R(2))),
           rec(0, req(DECREF, 2)), rec(0, req(108, 1, B(b'k')))],
  'list': [rec(0, req(CREATE, 0, I(2))), rec(0, req(200, 1, B(b'x'), B(b'y'))),
           rec(0, req(204, 1, I(0), I(10))),
           rec(0, req(205, 1, I(0), I(1), B(b'z'), B(b'w'))),
           rec(1, req(206, 1, I(-1))), rec(0, req(209, 1, B(b'z'))),
           # revision 2: reverse, sort (and reverse=True, bad flags, a
           # reference in the list)
           rec(0, req(212, 1)), rec(0, req(213, 1, I(0))),
           rec(1, req(213, 1, I(1))), rec(0, req(213, 1, I(2))),
           rec(0, req(213, 1)), rec(0, req(CREATE, 0, I(2))),
           rec(0, req(200, 1, R(2))), rec(0, req(213, 1, I(0))),
           rec(0, req(212, 1, I(0)))],
  'value': [rec(0, req(CREATE, 0, I(5), B(b'i'), I(4), B(b''))),
            rec(0, req(403, 1, I(1), B(b'\1\0\0\0'))), rec(0, req(402, 1, I(0), I(4)))],
  'queue': [rec(0, req(CREATE, 0, I(8), I(1))), rec(1, req(601, 1, F(1.0))),
            rec(0, req(600, 1, B(b'x'), F(0.0))), rec(0, req(600, 1, B(b'y'), F(-1.0))),
            rec(1, req(603, 1)), rec(0x80, req(604, 1, F(-1.0)))],
  'sync': [rec(0, req(CREATE, 0, I(13), N)), rec(0, req(700, 1, F(-1.0))),
           rec(0, req(704, 1, F(5.0))), rec(1, req(700, 1, F(1.0))),
           rec(1, req(705, 1, I(1))), rec(1, req(701, 1)),
           rec(0, req(CREATE, 0, I(15), I(2))), rec(0, req(710, 2, F(-1.0))),
           rec(0x81, req(710, 2, F(0.5))), rec(1, req(713, 2))],
  'misc': [rec(0, req(CREATE, 0, I(16), B(b't'), B(b'AB'))),
           rec(0, req(800, 1, B(b'get'), B(b'ABC'))), rec(0, req(800, 1, B(b'f'), B(b''))),
           rec(0, req(NAMED, 0, B(b'q'), I(7), I(0))),
           rec(1, req(ADOPT, 2)), rec(1, req(HOLD, 2)), rec(0, req(2, 0))],
  # leases: HOLD then LEASE to a pid, the child's ADOPT with its pid; an
  # ADOPT before the LEASE (a debt), a dead pid's lease, bad pids
  'lease': [rec(0, req(CREATE, 0, I(1))), rec(0, req(HOLD, 1)),
            rec(0, req(LEASE, 1, I(1))), rec(1, req(ADOPT, 1, I(1))),
            rec(0, req(HOLD, 1)), rec(1, req(ADOPT, 1, I(2))),
            rec(0, req(LEASE, 1, I(2))), rec(0, req(HOLD, 1)),
            rec(0, req(LEASE, 1, I(2147483647))), rec(0, req(1, 0)),
            rec(0, req(LEASE, 1, I(0))), rec(0, req(LEASE, 1, I(-5))),
            rec(0, req(LEASE, 1)), rec(0, req(DECREF, 1)),
            rec(0x81, req(ADOPT, 1, I(3), I(4)))],
}
for name, recs in seeds.items():
    with open(os.path.join(out, name), 'wb') as f: f.write(b''.join(recs))
PY
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== fuzzing the manager protocol for ${secs}s"
# First the inputs that once crashed it (tests/fuzz/regress), then a run.
for f in tests/fuzz/regress/*; do
  [ -f "$f" ] && "$dir/bin/fuzz_manager" "$f"
done
"$dir/bin/fuzz_manager" -max_total_time="$secs" -max_len=4096 \
  -artifact_prefix="$dir/" -print_final_stats=1 "$corpus" "$seeds"
