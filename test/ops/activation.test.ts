// Activation kernels on every CPU path against an fp64 reference written here.
// Tolerance: rtol 1e-5, atol 2e-6. The vector paths use a 1-ulp exp and an erf
// with |error| < 1.5e-7, so float rounding of inputs near 10 dominates.
import { ConvBertError } from '../../lib/errors';
import test from 'ava';

import { assertClose } from '../helpers/assert_close';
import { ACT, activation, cpuPaths } from '../helpers/ops';
import { ACT_FN } from '../helpers/ref64';
import { mulberry32, randn } from '../helpers/rng';

// The fp64 formulas, by the names ACT uses.
const REF: Record<keyof typeof ACT, (v: number) => number> = Object.fromEntries((Object.keys(ACT) as (keyof typeof ACT)[]).map((name) => [name, ACT_FN[name]])) as Record<
  keyof typeof ACT,
  (v: number) => number
>;

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
  t.throws(() => activation(x, null, 4, ACT.gelu, 'generic'), {
    instanceOf: ConvBertError,
    code: 'ERR_CONVBERT_SHAPE',
    message: 'opActivation: x: expected a multiple of C = 4 elements, got 6',
  });
  t.throws(() => activation(x, null, 3, 99, 'generic'), { code: 'ERR_CONVBERT_ARG' } as never);
  t.throws(() => activation(x, null, 3, ACT.gelu, 'sse' as never), {
    instanceOf: ConvBertError,
    code: 'ERR_CONVBERT_ARG',
    message: "opActivation: path: expected generic|avx2|avx512|cuda, got 'sse'",
  });
});
