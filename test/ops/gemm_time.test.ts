// gemm_time.test.ts: the bench-only gemm timer (opGemmTime) and the layer
// shapes bench/gemm.ts feeds it. Checked: it runs the path asked for, its
// GFLOP/s are 2·M·N·K·iters over its own timings, it rejects bad arguments with
// typed errors, and bench/gemm.ts's linear layers carry every gemm flop that
// bench/flops.ts counts for a layer. No speed bound (targets live in bench/).
import test from 'ava';

import { layerLinears } from '../../bench/gemm';
import { trunkFlops } from '../../bench/flops';
import { cpuPaths } from '../helpers/ops';
import { gemmTime } from './kernels';

for (const path of cpuPaths()) {
  test(`gemm timer runs on ${path} and its GFLOP/s are 2·M·N·K·iters over its timings`, (t) => {
    // Awkward sizes: a partial microtile, a partial panel, two weight copies walked in turn.
    const [M, N, K, iters] = [13, 37, 29, 5];
    const r = gemmTime(M, N, K, iters, 2, path);
    t.is(r.path, path);
    t.true(r.seconds > 0 && r.cpuSeconds > 0, `seconds ${r.seconds}, cpuSeconds ${r.cpuSeconds}`);
    const flops = 2 * M * N * K * iters;
    t.true(Math.abs(r.gflops - flops / r.seconds / 1e9) <= 1e-9 * r.gflops, `gflops ${r.gflops}`);
    t.true(Math.abs(r.gflopsPerCpuSecond - flops / r.cpuSeconds / 1e9) <= 1e-9 * r.gflopsPerCpuSecond,
      `gflopsPerCpuSecond ${r.gflopsPerCpuSecond}`);
  });
}

test('gemm timer rejects bad sizes, copies and paths with typed errors', (t) => {
  t.throws(() => gemmTime(0, 8, 8, 1, 1, 'generic'), { instanceOf: RangeError, message: /opGemmTime: M must be/ });
  t.throws(() => gemmTime(8, 8, 8, 0, 1, 'generic'), { instanceOf: RangeError, message: /iters must be/ });
  t.throws(() => gemmTime(8, 8, 8, 1, 0, 'generic'), { instanceOf: RangeError, message: /copies must be/ });
  t.throws(() => gemmTime(8, 8, 8, 1, 65, 'generic'), { instanceOf: RangeError, message: /copies must be <= 64/ });
  t.throws(() => gemmTime(1 << 20, 1 << 20, 8, 1, 1, 'generic'), { instanceOf: RangeError, message: /M\*N/ });
  t.throws(() => gemmTime(8, 8, 8, 1, 1, 'sse' as never), { instanceOf: RangeError, message: /path must be/ });
  t.throws(() => gemmTime('8' as never, 8, 8, 1, 1, 'generic'), { instanceOf: TypeError, message: /M must be a number/ });
});

for (const cfg of [
  { name: 'base', c: { hidden_size: 768, embedding_size: 768, num_hidden_layers: 12, num_attention_heads: 12, head_ratio: 2, intermediate_size: 3072, conv_kernel_size: 9, num_groups: 1 } },
  { name: 'medium-small', c: { hidden_size: 384, embedding_size: 128, num_hidden_layers: 12, num_attention_heads: 8, head_ratio: 2, intermediate_size: 1536, conv_kernel_size: 9, num_groups: 2 } },
]) {
  test(`bench/gemm.ts's linear layers of ${cfg.name} carry every gemm flop of a layer in bench/flops.ts`, (t) => {
    const L = 128;
    const c = cfg.c;
    const gemmFlops = layerLinears(c).reduce((s, l) => s + 2 * L * l.n * l.k * l.groups, 0);
    // flops.ts per layer, less what is not a linear layer: the depthwise key conv,
    // the dynamic conv's weighted sum, and QKᵀ / P·V.
    const A = Math.floor(c.num_attention_heads / c.head_ratio) * Math.floor(c.hidden_size / c.num_attention_heads);
    const notGemm = 2 * L * c.hidden_size * c.conv_kernel_size + 2 * L * A * c.conv_kernel_size + 4 * L * L * A;
    const project = c.embedding_size !== c.hidden_size ? 2 * L * c.embedding_size * c.hidden_size : 0;
    const perLayer = (trunkFlops(c, L) - project) / c.num_hidden_layers;
    t.is(gemmFlops, perLayer - notGemm);
  });
}
