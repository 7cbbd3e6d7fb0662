#!/usr/bin/env bash
# Installs the dependencies, builds mproc (Release) and runs the demo: the
# guide's first example, a child process under every start method, a Value
# and an Array shared with a child, a Queue and a Pipe between processes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/linux-deps.sh
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=Release -DMPROC_BUILD_TESTS=OFF \
  >/dev/null
cmake --build build/demo -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
./build/demo/bin/hello_process
./build/demo/bin/start_methods
for ex in value_array queue_put_get pipe_send_recv; do
  echo "== $ex"
  ./build/demo/bin/$ex
done
