#!/usr/bin/env bash
# Installs what the demo needs and no more (a C compiler, make, CMake,
# pkg-config, libuv and libcrypto; Debian 12 / Ubuntu), builds mproc's library and
# examples (Release) and runs the demo: the guide's first example, a child
# process under every start method, a Value and an Array shared with a
# child, a Queue and a Pipe between processes, a ThreadPoolExecutor with
# as_completed.
# The test setup (CMocka, clang, Wine, zig, ...) is ci/all.sh's business:
# each of its legs installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/lib.sh
ci_need_cmd cc gcc
ci_need_cmd make make
ci_need_cmd cmake cmake
ci_apt_install libc6-dev pkg-config libuv1-dev libssl-dev # libcrypto: the authkey HMAC
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=Release -DMPROC_BUILD_TESTS=OFF \
  -DMPROC_BUILD_BENCH=OFF >/dev/null
cmake --build build/demo -j"$CI_JOBS" >/dev/null
./build/demo/bin/hello_process
./build/demo/bin/start_methods
for ex in value_array queue_put_get pipe_send_recv pool_map thread_pool_as_completed; do
  echo "== $ex"
  ./build/demo/bin/$ex
done
