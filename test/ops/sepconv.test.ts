// sepconv (the depthwise half of SeparableConv1D: y[b,l,c] = Σ_t x[b,l+t-K/2,c]
// · w[c,t], zero padding, a correlation like torch conv1d) on every CPU path
// against an fp64 reference written here; the weight is passed transposed
// (K, C) as the engine stores it. Tolerance: rtol 1e-5, atol 1e-6 (<= 9 products).
import test from 'ava';

import { assertClose } from '../helpers/assert_close';
import { cpuPaths } from '../helpers/ops';
import { mulberry32, randn } from '../helpers/rng';
import { sepconv } from './kernels';

function sepconvRef(x: Float32Array, w: Float32Array, B: number, L: number, C: number, K: number): Float64Array {
  // w is torch's (C, 1, K) layout here.
  const y = new Float64Array(B * L * C);
  const pad = K >> 1;
  for (let b = 0; b < B; b++)
    for (let l = 0; l < L; l++)
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let k = 0; k < K; k++) {
          const src = l + k - pad;
          if (src >= 0 && src < L) acc += x[(b * L + src) * C + c] * w[c * K + k];
        }
        y[(b * L + l) * C + c] = acc;
      }
  return y;
}

test('sepconv (depthwise) matches an fp64 reference on every path', (t) => {
  const rand = mulberry32(29);
  for (const L of [1, 7, 33]) {
    for (const C of [1, 7, 33, 129]) {
      for (const K of [1, 3, 9]) {
        const B = 2;
        const x = randn(rand, B * L * C);
        const w = randn(rand, C * K);
        const wt = new Float32Array(K * C);
        for (let c = 0; c < C; c++) for (let k = 0; k < K; k++) wt[k * C + c] = w[c * K + k];
        const want = sepconvRef(x, w, B, L, C, K);
        for (const path of cpuPaths()) {
          const { y, ran } = sepconv(x, wt, B, L, C, K, path);
          t.is(ran, path);
          assertClose(t, y, want, { rtol: 1e-5, atol: 1e-6, label: `${path} L=${L} C=${C} K=${K}` });
        }
      }
    }
  }
});
