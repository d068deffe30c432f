// CUDA gemm (cuda/gemm.cu) against the CPU gemm (generic path, double accumulation)
// on random shapes with awkward M, N, K (1, 7, 33, 129, 511), every epilogue
// (bias, GELU variants, residual). Tolerances:
// - float32 (exact SIMT path, fp32 accumulation): rtol 1e-5, atol 1e-5 * sqrt(K)
//   (fp32 sums of K unit-variance products vs a double-accumulated reference).
// - tf32 / float16: inputs rounded to 10 mantissa bits (relative error std 2.8e-4 per input,
//   4e-4 per unit-variance product, sqrt(K)·4e-4 per sum): atol 4e-3·sqrt(K) (~10 sigma), rtol 4e-3.
// - bfloat16: 7 mantissa bits (8x coarser, sqrt(K)·3.2e-3 per sum): atol 2.5e-2·sqrt(K) (~8 sigma), rtol 2.5e-2.
import { ConvBertError } from '../../lib/errors';
import { assertClose } from '../helpers/assert_close';
import { mulberry32, randn } from '../helpers/rng';
import { gemm as cpuGemm } from '../ops/kernels';
import { cudaOps, gpuTest, SIZES } from './helpers';

const probe = () => cudaOps().cudaGemm({ A: new Float32Array(1), B: new Float32Array(1), M: 1, N: 1, K: 1 });

const TOL = {
  float32: { rel: 1e-5, abs: 1e-5 },
  tf32: { rel: 4e-3, abs: 4e-3 },
  float16: { rel: 4e-3, abs: 4e-3 },
  bfloat16: { rel: 2.5e-2, abs: 2.5e-2 },
} as const;

gpuTest('gemm: every dtype and epilogue matches the CPU gemm on awkward shapes', probe, (t) => {
  const rand = mulberry32(3);
  const shapes: [number, number, number][] = [];
  for (const s of SIZES) shapes.push([s, 33, 7], [7, s, 33], [33, 7, s]);
  shapes.push([129, 511, 129], [511, 129, 1], [1, 1, 1]);
  for (const [M, N, K] of shapes) {
    const A = randn(rand, M * K);
    const B = randn(rand, N * K);
    const bias = randn(rand, N);
    const res = randn(rand, M * N);
    for (const act of [0, 1, 2]) {
      const want = cpuGemm(A, B, bias, M, N, K, 'generic', act).C;
      const wantRes = Float32Array.from(want, (v, i) => v + res[i]);
      for (const [name, opts] of [
        ['float32', { dtype: 'float32' }],
        ['tf32', { dtype: 'float32', tf32: true }],
        ['float16', { dtype: 'float16' }],
        ['bfloat16', { dtype: 'bfloat16' }],
      ] as const) {
        const tol = TOL[name];
        const o = { rtol: tol.rel, atol: tol.abs * Math.sqrt(K), label: `${name} M=${M} N=${N} K=${K} act=${act}` };
        const got = cudaOps().cudaGemm({ A, B, bias, M, N, K, act, ...opts });
        assertClose(t, got, want, o);
        const gotRes = cudaOps().cudaGemm({ A, B, bias, residual: res, M, N, K, act, ...opts });
        assertClose(t, gotRes, wantRes, { ...o, label: `${o.label} +residual` });
      }
    }
  }
});

// Regression: fp16 has no finite value above 65504, so a larger activation rounded to fp16
// while it was staged became inf (and 0 * inf = NaN further on). It saturates to +-65504
// (docs/cuda.md); the result is the gemm of the saturated A, finite.
gpuTest('gemm: fp16 activations above 65504 saturate instead of becoming inf', probe, (t) => {
  const M = 2,
    N = 3,
    K = 4;
  const A = Float32Array.from([1e5, -2e5, 1, 0.5, 70000, 3, -1, 2]);
  const B = Float32Array.from([0.5, 0.25, 1, -1, 1, 0, 0, 0, 0, 1, 0, 0]);
  const Asat = A.map((v) => Math.max(-65504, Math.min(65504, v)));
  const want = cpuGemm(Asat, B, null, M, N, K, 'generic', 0).C;
  const got = cudaOps().cudaGemm({ A, B, M, N, K, dtype: 'float16' });
  t.true(got.every(Number.isFinite), `fp16 gemm gave ${Array.from(got).join(', ')}`);
  // B is exact in fp16; A rounds to fp16 (ulp 32 at 65504): rtol 1e-3.
  assertClose(t, got, want, { rtol: 1e-3, atol: 1e-3, label: 'fp16 saturated' });
});

// Regression: the binding multiplied user sizes unchecked, so M * K could wrap int64 to a small
// number, pass the length check and reach the kernel with huge M, N, K.
gpuTest('gemm: size products that overflow are ERR_CONVBERT_LIMIT naming them', probe, (t) => {
  const big = 2 ** 32;
  t.throws(() => cudaOps().cudaGemm({ A: new Float32Array(0), B: new Float32Array(0), M: big, N: big, K: big }), {
    instanceOf: ConvBertError,
    code: 'ERR_CONVBERT_LIMIT',
    message: 'cudaGemm: M * K: expected at most 2^53 - 1 elements, got 4294967296 * 4294967296',
  });
});
