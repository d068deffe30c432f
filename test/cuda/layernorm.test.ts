// CUDA layernorm (+residual) and softmax (cuda/layernorm.cu, cuda/softmax.cu) against
// the CPU ops (generic) for row widths 1, 7, 33, 129, 511, 768, 1030, with and without
// the residual. Tolerance: rtol 1e-5, atol 1e-5 (fp32 block reductions vs the CPU's
// sequential sums over at most 1030 elements; a width-1 row normalises to beta exactly).
import { assertClose } from '../helpers/assert_close';
import { mulberry32, randn } from '../helpers/rng';
import { layernorm as cpuLayernorm, softmax as cpuSoftmax } from '../ops/kernels';
import { cudaOps, gpuTest, SIZES } from './helpers';

const TOL = { rtol: 1e-5, atol: 1e-5 };
const probe = () => cudaOps().cudaLayernorm({ x: new Float32Array(1), gamma: new Float32Array(1), beta: new Float32Array(1), C: 1, eps: 1e-12 });

gpuTest('layernorm and softmax: match the CPU ops', probe, (t) => {
  const rand = mulberry32(41);
  for (const C of [...SIZES, 768, 1030]) {
    const rows = 7;
    const x = randn(rand, rows * C, 3),
      r = randn(rand, rows * C),
      gamma = randn(rand, C),
      beta = randn(rand, C);
    for (const withR of [false, true]) {
      const want = cpuLayernorm(x, withR ? r : null, gamma, beta, rows, C, 1e-12, 'generic').y;
      const got = cudaOps().cudaLayernorm({ x, r: withR ? r : null, gamma, beta, C, eps: 1e-12 });
      assertClose(t, got, want, { ...TOL, label: `layernorm C=${C} residual=${withR}` });
    }
    const want = cpuSoftmax(x, rows, C, 'generic').y;
    assertClose(t, cudaOps().cudaSoftmax({ x, n: C }), want, { rtol: 1e-5, atol: 1e-7, label: `softmax n=${C}` });
  }
});
