// dynconv (out[b,l,h,:] = Σ_j w[b,l,h,j] · v[b, l+j-(K-1)/2, h*D:(h+1)*D], zeros
// outside [0, L), HF's unfold) on every CPU path against an fp64 reference
// written here, including kernels wider than the sequence. Tolerance: rtol 1e-5,
// atol 1e-6 (sums of at most 9 O(1) products).
import test from 'ava';

import { assertClose } from '../helpers/assert_close';
import { cpuPaths } from '../helpers/ops';
import { mulberry32, randn } from '../helpers/rng';
import { dynconv } from './kernels';

function dynconvRef(v: Float32Array, w: Float32Array, B: number, L: number, H: number, D: number, K: number): Float64Array {
  const out = new Float64Array(B * L * H * D);
  const pad = (K - 1) >> 1;
  for (let b = 0; b < B; b++)
    for (let l = 0; l < L; l++)
      for (let h = 0; h < H; h++)
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j < K; j++) {
            const src = l + j - pad;
            if (src < 0 || src >= L) continue;
            acc += w[((b * L + l) * H + h) * K + j] * v[(b * L + src) * H * D + h * D + d];
          }
          out[((b * L + l) * H + h) * D + d] = acc;
        }
  return out;
}

test('dynconv matches an fp64 reference on every path', (t) => {
  const rand = mulberry32(17);
  for (const L of [1, 7, 33]) {
    for (const [H, D] of [
      [1, 1],
      [3, 7],
      [2, 33],
    ]) {
      for (const K of [1, 3, 9]) {
        const B = 2;
        const v = randn(rand, B * L * H * D);
        const w = randn(rand, B * L * H * K);
        const want = dynconvRef(v, w, B, L, H, D, K);
        for (const path of cpuPaths()) {
          const { out, ran } = dynconv(v, w, B, L, H, D, K, path);
          t.is(ran, path);
          assertClose(t, out, want, { rtol: 1e-5, atol: 1e-6, label: `${path} L=${L} H=${H} D=${D} K=${K}` });
        }
      }
    }
  }
});
