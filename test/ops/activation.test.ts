// Activation kernels on every CPU path against an fp64 reference written here.
// Tolerance: rtol 1e-5, atol 2e-6. The vector paths use a 1-ulp exp and an erf
// with |error| < 1.5e-7, so float rounding of inputs near 10 dominates.
import { ConvBertError } from '../../lib/errors';
import test from 'ava';

import { assertClose } from '../helpers/assert_close';
import { ACT, activation, cpuPaths } from '../helpers/ops';
import { mulberry32, randn } from '../helpers/rng';

function erf(x: number): number {
  // Series / continued fraction to ~1e-15: plenty for a float32 check.
  const ax = Math.abs(x);
  if (ax < 3) {
    let sum = x;
    let term = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction for large |x|.
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}

const REF: Record<keyof typeof ACT, (v: number) => number> = {
  linear: (v) => v,
  gelu: (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)),
  gelu_new: (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
  quick_gelu: (v) => v / (1 + Math.exp(-1.702 * v)),
  relu: (v) => Math.max(v, 0),
  relu6: (v) => Math.min(Math.max(v, 0), 6),
  relu2: (v) => Math.max(v, 0) ** 2,
  silu: (v) => v / (1 + Math.exp(-v)),
  sigmoid: (v) => 1 / (1 + Math.exp(-v)),
  tanh: (v) => Math.tanh(v),
  mish: (v) => v * Math.tanh(Math.log1p(Math.exp(v))),
  gelu_10: (v) => Math.min(Math.max(0.5 * v * (1 + erf(v / Math.SQRT2)), -10), 10),
  laplace: (v) => 0.5 * (1 + erf((v - 0.707107) / (0.282095 * Math.SQRT2))),
  leaky_relu: (v) => (v >= 0 ? v : 0.01 * v),
};

for (const name of Object.keys(ACT) as (keyof typeof ACT)[]) {
  test(`activation ${name} matches fp64 on every CPU path`, (t) => {
    const rand = mulberry32(1234 + ACT[name]);
    for (const C of [1, 7, 16, 33, 768, 1030]) {
      const rows = 3;
      const x = randn(rand, rows * C, 4);
      x[0] = 0;
      if (x.length > 2) x[1] = -30;
      if (x.length > 3) x[2] = 30;
      const bias = randn(rand, C, 0.5);
      for (const withBias of [false, true]) {
        const want = new Float64Array(x.length);
        for (let i = 0; i < x.length; i++) {
          const v = Math.fround(x[i] + (withBias ? bias[i % C] : 0));
          want[i] = REF[name](v);
        }
        for (const path of cpuPaths()) {
          const { y, ran } = activation(x, withBias ? bias : null, C, ACT[name], path);
          t.is(ran, path, 'the requested path really ran');
          assertClose(t, y, want, { rtol: 1e-5, atol: 2e-6, label: `${name} ${path} C=${C} bias=${withBias}` });
        }
      }
    }
  });
}

test('activation rejects bad arguments with typed errors', (t) => {
  const x = new Float32Array(6);
  t.throws(() => activation(x, null, 4, ACT.gelu, 'generic'), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_SHAPE', message: 'opActivation: x: expected a multiple of C = 4 elements, got 6' });
  t.throws(() => activation(x, null, 3, 99, 'generic'), { code: 'ERR_CONVBERT_ARG' } as never);
  t.throws(() => activation(x, null, 3, ACT.gelu, 'sse' as never), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_ARG', message: "opActivation: path: expected generic|avx2|avx512|cuda, got 'sse'" });
});
