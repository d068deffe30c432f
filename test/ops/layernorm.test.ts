// layernorm (y = LayerNorm(x + r)·gamma + beta, biased variance, eps inside the
// sqrt) on every CPU path against an fp64 reference written here. Tolerance:
// rtol 1e-5, atol 1e-5 — outputs are O(1) and the vector paths keep float
// statistics over at most 768 values.
import test from 'ava';

import { assertClose } from '../helpers/assert_close';
import { cpuPaths } from '../helpers/ops';
import { mulberry32, randn } from '../helpers/rng';
import { layernorm } from './kernels';

function layernormRef(x: Float32Array, r: Float32Array | null, g: Float32Array, b: Float32Array, rows: number, C: number, eps: number): Float64Array {
  const y = new Float64Array(rows * C);
  for (let i = 0; i < rows; i++) {
    const v = Array.from({ length: C }, (_, c) => Math.fround(x[i * C + c] + (r ? r[i * C + c] : 0)));
    const mean = v.reduce((s, a) => s + a, 0) / C;
    const variance = v.reduce((s, a) => s + (a - mean) ** 2, 0) / C;
    const inv = 1 / Math.sqrt(variance + eps);
    for (let c = 0; c < C; c++) y[i * C + c] = (v[c] - mean) * inv * g[c] + b[c];
  }
  return y;
}

test('layernorm (with and without residual) matches an fp64 reference on every path', (t) => {
  const rand = mulberry32(5);
  for (const C of [1, 7, 33, 129, 768]) {
    const rows = 3;
    const x = randn(rand, rows * C, 2);
    const r = randn(rand, rows * C);
    const g = randn(rand, C);
    const b = randn(rand, C);
    for (const eps of [1e-12, 1e-5]) {
      for (const res of [null, r]) {
        const want = layernormRef(x, res, g, b, rows, C, eps);
        for (const path of cpuPaths()) {
          const { y, ran } = layernorm(x, res, g, b, rows, C, eps, path);
          t.is(ran, path);
          assertClose(t, y, want, { rtol: 1e-5, atol: 1e-5, label: `${path} C=${C} eps=${eps} residual=${res !== null}` });
        }
      }
    }
  }
});
