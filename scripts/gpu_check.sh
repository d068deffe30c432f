#!/usr/bin/env bash
# gpu_check.sh: the one prepared run for a machine with a GPU: builds the CUDA addon,
# runs test:cuda and bench:cuda, and keeps both logs (plus nvidia-smi) under
# gpu-check-logs/<UTC time>/ for docs/gpu.md. Exit status: the first failure, 77 if skipped.
set -u -o pipefail
cd "$(dirname "$0")/.."
out="gpu-check-logs/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
{ nvidia-smi || true; } > "$out/nvidia-smi.txt" 2>&1
echo "== build:cuda" | tee "$out/build.log"
if ! npx cmake-js build -O build-cuda --CDCONVBERT_CUDA=ON >> "$out/build.log" 2>&1; then
  echo "build failed; see $out/build.log"; tail -40 "$out/build.log"; exit 1
fi
echo "== test:cuda"
node scripts/test_cuda.js 2>&1 | tee "$out/test.log"
test_rc=${PIPESTATUS[0]}
echo "== bench:cuda"
node --import tsx bench/cuda.ts "$@" 2>&1 | tee "$out/bench.log"
bench_rc=${PIPESTATUS[0]}
node --import tsx bench/cuda.ts --json --iters 5 > "$out/bench.json" 2>&1 || true
echo "test:cuda exit $test_rc, bench:cuda exit $bench_rc; logs in $out"
[ "$test_rc" -ne 0 ] && exit "$test_rc"
exit "$bench_rc"
