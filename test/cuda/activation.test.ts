// CUDA activation (cuda/activation.cu) against the CPU op (generic) for every HF activation
// code, with and without a bias, on row widths 1, 7, 33, 129, 511; an unknown code is a typed
// error as on the CPU (the kernel maps unknown codes to the identity, so the host refuses them).
// Tolerance: rtol 1e-5, atol 1e-6 (the CUDA library's erff/tanhf/expf vs the CPU's, a few ulp).
import { testAddon } from '../helpers/test_addon';
import { assertClose } from '../helpers/assert_close';
import { mulberry32, randn } from '../helpers/rng';
import { cudaOps, gpuTest, SIZES } from './helpers';

const TOL = { rtol: 1e-5, atol: 1e-6 };
const ACT_COUNT = 14;
type OpActivation = (x: Float32Array, y: Float32Array, bias: Float32Array | null, C: number, act: number, path: string) => string;
const opActivation = () => testAddon().opActivation as unknown as OpActivation;
const probe = () => cudaOps().cudaGemm({ A: new Float32Array(1), B: new Float32Array(1), M: 1, N: 1, K: 1 });

gpuTest('activation: every code matches the CPU op', probe, (t) => {
  const rand = mulberry32(51);
  for (const C of SIZES) {
    const rows = 3;
    const x = randn(rand, rows * C, 3),
      bias = randn(rand, C);
    for (let act = 0; act < ACT_COUNT; act++) {
      for (const b of [null, bias]) {
        const want = new Float32Array(rows * C),
          got = new Float32Array(rows * C).fill(NaN);
        opActivation()(x, want, b, C, act, 'generic');
        t.is(opActivation()(x, got, b, C, act, 'cuda'), 'cuda');
        assertClose(t, got, want, { ...TOL, label: `act=${act} C=${C} bias=${b !== null}` });
      }
    }
  }
});

// Regression: an activation code outside HF's table silently ran as the identity on CUDA.
gpuTest('activation: an unknown code is ERR_CONVBERT_ARG, as on the CPU', probe, (t) => {
  const x = new Float32Array(4).fill(1),
    y = new Float32Array(4);
  for (const path of ['generic', 'cuda']) {
    const err = t.throws(() => opActivation()(x, y, null, 4, ACT_COUNT + 85, path)) as Error & { code?: string };
    t.is(err?.code, 'ERR_CONVBERT_ARG', `${path}: ${err?.message}`);
  }
});
