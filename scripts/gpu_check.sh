#!/usr/bin/env bash
# gpu_check.sh: the one prepared run for a machine with a GPU: builds the CUDA addon,
# runs test:cuda and bench:cuda, then (where compute-sanitizer is on the PATH, unless
# GPU_CHECK_SANITIZE=0) test:cuda under memcheck, racecheck and synccheck, and initcheck with
# graphs off (CONVBERT_CUDA_GRAPHS=0: initcheck checks a graph's copy nodes at launch, before the
# kernels that write their sources). Logs (plus nvidia-smi) go under gpu-check-logs/<UTC time>/
# for docs/gpu.md. Exit status: the first failure, 77 if skipped.
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
san_rc=0
if [ "$test_rc" -eq 0 ] && [ "${GPU_CHECK_SANITIZE:-1}" != 0 ] && command -v compute-sanitizer > /dev/null; then
  for tool in memcheck racecheck synccheck initcheck; do
    echo "== compute-sanitizer --tool $tool"
    graphs=1; [ "$tool" = initcheck ] && graphs=0
    extra=(); [ "$tool" = memcheck ] && extra=(--leak-check no)
    CONVBERT_CUDA_GRAPHS=$graphs compute-sanitizer --tool "$tool" "${extra[@]}" --error-exitcode 86 --print-limit 40 \
      node scripts/test_cuda.js > "$out/sanitize-$tool.log" 2>&1
    rc=$?
    grep -E "ERROR SUMMARY|RACECHECK SUMMARY|tests? (passed|failed)" "$out/sanitize-$tool.log"
    echo "$tool exit $rc"
    [ "$rc" -ne 0 ] && [ "$san_rc" -eq 0 ] && san_rc=$rc
  done
fi
echo "test:cuda exit $test_rc, bench:cuda exit $bench_rc, sanitizers exit $san_rc; logs in $out"
[ "$test_rc" -ne 0 ] && exit "$test_rc"
[ "$bench_rc" -ne 0 ] && exit "$bench_rc"
exit "$san_rc"
