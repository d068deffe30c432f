// fma_peak.test.ts: the bench-only FMA peak probe (opFmaPeak) the benchmark
// harness divides achieved GFLOP/s by. Checked here: it runs the path asked
// for on every CPU path, reports flops consistent with its own timing (the
// flop count is computed independently in the test: threads x iters x 12 FMAs
// x 2 flops x lanes of the path), and rejects bad arguments. No speed bound:
// performance targets live in the benchmarks, not in timed tests.
import { ConvBertError } from '../../lib/errors';
import test from 'ava';

import { cpuPaths } from '../helpers/ops';
import { fmaPeak } from './kernels';

const LANES: Record<string, number> = { generic: 1, avx2: 8, avx512: 16 };

for (const path of cpuPaths()) {
  test(`fma peak runs on ${path} and its GFLOP/s matches threads x iters x 24 x lanes / seconds`, (t) => {
    const iters = 200_000;
    const threads = 2;
    const r = fmaPeak(path, iters, threads);
    t.is(r.path, path);
    t.true(r.seconds > 0, `seconds ${r.seconds}`);
    t.true(r.threads >= 1 && r.threads <= threads, `threads ${r.threads}`);
    const expected = (threads * iters * 12 * 2 * LANES[path]) / r.seconds / 1e9;
    // Same doubles on both sides: only rounding of the division differs (relative 1e-9).
    t.true(Math.abs(r.gflops - expected) <= 1e-9 * expected, `gflops ${r.gflops} vs ${expected}`);
    // Per CPU-second: the same flop count over the threads' summed CPU time.
    t.true(r.cpuSeconds > 0, `cpuSeconds ${r.cpuSeconds}`);
    const perCpu = (threads * iters * 12 * 2 * LANES[path]) / r.cpuSeconds / 1e9;
    t.true(Math.abs(r.gflopsPerCpuSecond - perCpu) <= 1e-9 * perCpu, `gflopsPerCpuSecond ${r.gflopsPerCpuSecond} vs ${perCpu}`);
  });
}

test('fma peak rejects a bad path, zero iterations and zero threads', (t) => {
  t.throws(() => fmaPeak('sse' as never, 10, 1), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_ARG', message: "opFmaPeak: path: expected generic|avx2|avx512, got 'sse'" });
  t.throws(() => fmaPeak('generic', 0, 1), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_ARG', message: 'opFmaPeak: iters: expected an integer >= 1, got 0' });
  t.throws(() => fmaPeak('generic', 10, 0), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_ARG', message: 'opFmaPeak: threads: expected an integer in [1, 1024], got 0' });
});
