// gemm_time.test.ts: the bench-only gemm timer (opGemmTime) and the layer
// shapes bench/gemm.ts feeds it (lib/flops.ts layerLinears). Checked: it runs the path asked for, the timed
// products compute the gemm (checksum against opGemm on the same seeded
// operands), its GFLOP/s are 2·M·N·K·iters over its own timings, it rejects bad
// arguments with typed errors, and the linear layers of lib/flops.ts have the
// model's widths and carry every gemm flop that lib/flops.ts counts for a
// layer. No speed bound (targets live in bench/).
import { ConvBertError } from '../../lib/errors';
import test from 'ava';

import { layerLinears, trunkFlops } from '../../lib/flops';
import { ConvBertConfig } from '../../lib/config';
import { cpuPaths } from '../helpers/ops';
import { gemm, gemmTime, gemmTimeInputs } from './kernels';

for (const path of cpuPaths()) {
  test(`gemm timer runs on ${path}, computes the gemm, and its GFLOP/s are 2·M·N·K·iters over its timings`, (t) => {
    // Awkward sizes: a partial microtile, a partial panel, two weight copies walked in turn.
    const [M, N, K, iters] = [13, 37, 29, 5];
    const r = gemmTime(M, N, K, iters, 2, path);
    t.is(r.path, path);
    // The timed products computed C = A·Bᵀ + bias on the op's seeded operands: the
    // checksum matches opGemm on the same operands and path.
    const x = gemmTimeInputs(M, N, K);
    const { C } = gemm(x.A, x.B, x.bias, M, N, K, path);
    const sum = C.reduce((s, v) => s + v, 0);
    const scale = C.reduce((s, v) => s + Math.abs(v), 0);
    t.true(scale > 1, `scale ${scale}`);
    t.true(Math.abs(r.checksum - sum) <= 1e-6 * scale, `checksum ${r.checksum} vs ${sum}`);
    t.true(r.seconds > 0 && r.cpuSeconds > 0, `seconds ${r.seconds}, cpuSeconds ${r.cpuSeconds}`);
    const flops = 2 * M * N * K * iters;
    t.true(Math.abs(r.gflops - flops / r.seconds / 1e9) <= 1e-9 * r.gflops, `gflops ${r.gflops}`);
    t.true(Math.abs(r.gflopsPerCpuSecond - flops / r.cpuSeconds / 1e9) <= 1e-9 * r.gflopsPerCpuSecond, `gflopsPerCpuSecond ${r.gflopsPerCpuSecond}`);
  });
}

test('gemm timer rejects bad sizes, copies, iterations and paths with typed errors', (t) => {
  const arg = { instanceOf: ConvBertError, code: 'ERR_CONVBERT_ARG' };
  const limit = { instanceOf: ConvBertError, code: 'ERR_CONVBERT_LIMIT' };
  t.throws(() => gemmTime(0, 8, 8, 1, 1, 'generic'), { ...arg, message: 'opGemmTime: M: expected an integer >= 1, got 0' });
  t.throws(() => gemmTime(8, 8, 8, 0, 1, 'generic'), { ...arg, message: 'opGemmTime: iters: expected an integer >= 1, got 0' });
  t.throws(() => gemmTime(8, 8, 8, 1, 0, 'generic'), { ...arg, message: 'opGemmTime: copies: expected an integer >= 1, got 0' });
  t.throws(() => gemmTime(8, 8, 8, 1, 65, 'generic'), { ...limit, message: 'opGemmTime: copies: expected <= 64, got 65' });
  t.throws(() => gemmTime(1 << 20, 1 << 20, 8, 1, 1, 'generic'), { ...limit, message: /^opGemmTime: M\*K, M\*N, N\*K: expected each <= 2\^26 .*got M = 1048576, N = 1048576/ });
  // 2^25 weights fit one copy, not eight (copies*N*K <= 2^27).
  t.throws(() => gemmTime(1, 1 << 15, 1 << 10, 1, 8, 'generic'), { ...limit, message: /copies\*N\*K <= 2\^27 elements, got .*copies = 8$/ });
  t.throws(() => gemmTime(1024, 1024, 1024, 1e7, 1, 'generic'), { ...limit, message: /^opGemmTime: iters\*M\*N\*K: expected <= 6e12/ });
  t.throws(() => gemmTime(8, 8, 8, 1, 1, 'sse' as never), { ...arg, message: "opGemmTime: path: expected generic|avx2|avx512, got 'sse'" });
  t.throws(() => gemmTime('8' as never, 8, 8, 1, 1, 'generic'), { ...arg, message: "opGemmTime: M: expected an integer >= 1, got '8'" });
});

for (const cfg of [
  {
    name: 'base',
    c: { hidden_size: 768, embedding_size: 768, num_hidden_layers: 12, num_attention_heads: 12, head_ratio: 2, intermediate_size: 3072, conv_kernel_size: 9, num_groups: 1 },
  },
  {
    name: 'medium-small',
    c: { hidden_size: 384, embedding_size: 128, num_hidden_layers: 12, num_attention_heads: 8, head_ratio: 2, intermediate_size: 1536, conv_kernel_size: 9, num_groups: 2 },
  },
  {
    name: 'head_ratio 1, 3 groups',
    c: { hidden_size: 240, embedding_size: 240, num_hidden_layers: 2, num_attention_heads: 4, head_ratio: 1, intermediate_size: 960, conv_kernel_size: 7, num_groups: 3 },
  },
]) {
  test(`lib/flops.ts's linear layers of ${cfg.name} have the model's widths and carry every gemm flop of lib/flops.ts`, (t) => {
    const L = 128;
    const c = cfg.c;
    const linears = layerLinears(c);
    // The fused q|k|v|conv_out product is four all_head_size blocks wide, as the model's config says.
    const A = ConvBertConfig.fromDict(c).allHeadSize;
    t.is(linears[0].n, 4 * A);
    const gemmFlops = linears.reduce((s, l) => s + 2 * L * l.n * l.k * l.groups, 0);
    // flops.ts per layer, less what is not a linear layer: the depthwise key conv,
    // the dynamic conv's weighted sum, and QKᵀ / P·V.
    const notGemm = 2 * L * c.hidden_size * c.conv_kernel_size + 2 * L * A * c.conv_kernel_size + 4 * L * L * A;
    const project = c.embedding_size !== c.hidden_size ? 2 * L * c.embedding_size * c.hidden_size : 0;
    const perLayer = (trunkFlops(c, L) - project) / c.num_hidden_layers;
    t.is(gemmFlops, perLayer - notGemm);
  });
}
