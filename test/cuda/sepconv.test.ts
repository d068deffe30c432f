// CUDA sepconv (cuda/sepconv.cu, the depthwise half of the key conv) against the CPU
// sepconv (generic) for C and L in 1, 7, 33, 129, 511, K in 1, 3, 9, and varlen.
// Tolerance: rtol 1e-5, atol 1e-6 (at most 9 fp32 products per output).
import { assertClose } from '../helpers/assert_close';
import { mulberry32, randn } from '../helpers/rng';
import { sepconv as cpuSepconv } from '../ops/kernels';
import { cudaOps, gpuTest, SIZES } from './helpers';

const TOL = { rtol: 1e-5, atol: 1e-6 };
const probe = () => cudaOps().cudaSepconv({ x: new Float32Array(1), wt: new Float32Array(1), B: 1, L: 1, C: 1, K: 1 });

gpuTest('sepconv: matches the CPU op, padded and varlen', probe, (t) => {
  const rand = mulberry32(31);
  for (const L of SIZES)
    for (const C of [1, 7, 33, 129, 511])
      for (const K of [1, 3, 9]) {
        if (L * C > 70000) continue;
        const B = 2;
        const x = randn(rand, B * L * C),
          wt = randn(rand, K * C);
        const want = cpuSepconv(x, wt, B, L, C, K, 'generic').y;
        assertClose(t, cudaOps().cudaSepconv({ x, wt, B, L, C, K }), want, { ...TOL, label: `L=${L} C=${C} K=${K}` });
      }
  const lens = [7, 1, 33],
    C = 33,
    K = 9;
  const seq = Int32Array.from([0, 7, 8, 41]);
  const x = randn(rand, 41 * C),
    wt = randn(rand, K * C);
  const packed = cudaOps().cudaSepconv({ x, wt, B: 3, L: 33, C, K, cu_seqlens: seq });
  lens.forEach((len, b) => {
    const alone = cpuSepconv(x.slice(seq[b] * C, seq[b + 1] * C), wt, 1, len, C, K, 'generic').y;
    assertClose(t, packed.subarray(seq[b] * C, seq[b + 1] * C), alone, { ...TOL, label: `varlen seq ${b}` });
  });
});
