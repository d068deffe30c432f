// attention (the dot-product branch: softmax(q·kᵀ/sqrt(D) + (1-m)·finfo.min)
// · head_mult, then ·V) on every CPU path against an fp64 reference written
// here, with 2-D and 3-D masks, head multipliers and a fully masked row, which
// must come out uniform (1/L) as in torch, not NaN. Tolerance: rtol 1e-5,
// atol 1e-6 — probabilities and O(1) context values, float dot products of D <= 33.
import test from 'ava';

import { assertClose } from '../helpers/assert_close';
import { cpuPaths } from '../helpers/ops';
import { mulberry32, randn } from '../helpers/rng';
import { type AttnIn, attention, F32_MIN } from './kernels';

function attentionRef(a: AttnIn): { out: Float64Array; probs: Float64Array } {
  const { B, L, H, D } = a;
  const ld = H * D;
  const out = new Float64Array(B * L * ld);
  const probs = new Float64Array(B * H * L * L);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < L; i++) {
        const s: number[] = [];
        for (let j = 0; j < L; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += a.q[(b * L + i) * ld + h * D + d] * a.k[(b * L + j) * ld + h * D + d];
          let v = dot / Math.sqrt(D);
          if (a.maskBias) v += a.maskRank === 2 ? a.maskBias[b * L + j] : a.maskBias[(b * L + i) * L + j];
          s.push(v);
        }
        const mx = Math.max(...s);
        const e = s.map((v) => Math.exp(v - mx));
        const sum = e.reduce((x, y) => x + y, 0);
        const hm = a.headMult ? a.headMult[h] : 1;
        const p = e.map((v) => (v / sum) * hm);
        p.forEach((v, j) => (probs[((b * H + h) * L + i) * L + j] = v));
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j < L; j++) acc += p[j] * a.v[(b * L + j) * ld + h * D + d];
          out[(b * L + i) * ld + h * D + d] = acc;
        }
      }
  return { out, probs };
}

test('attention matches an fp64 reference on every path (no mask, 2-D, 3-D, head_mult)', (t) => {
  const rand = mulberry32(21);
  for (const L of [1, 7, 33]) {
    for (const D of [1, 7, 16, 33]) {
      const B = 2;
      const H = 2;
      const n = B * L * H * D;
      const base = { q: randn(rand, n, 2), k: randn(rand, n), v: randn(rand, n), B, L, H, D };
      const m2 = Float32Array.from({ length: B * L }, (_, i) => (i % L === 0 || rand() < 0.7 ? 0 : F32_MIN));
      const m3 = Float32Array.from({ length: B * L * L }, (_, i) => (i % L === 0 || rand() < 0.6 ? 0 : F32_MIN));
      const variants: [string, AttnIn][] = [
        ['none', { ...base, maskBias: null, maskRank: 0, headMult: null }],
        ['2d', { ...base, maskBias: m2, maskRank: 2, headMult: Float32Array.from([1, 0.5]) }],
        ['3d', { ...base, maskBias: m3, maskRank: 3, headMult: Float32Array.from([0, 1]) }],
      ];
      for (const [label, a] of variants) {
        const want = attentionRef(a);
        for (const path of cpuPaths()) {
          for (const withProbs of [true, false]) {
            const got = attention(a, withProbs, path);
            t.is(got.ran, path);
            const tag = `${path} L=${L} D=${D} mask=${label} probs=${withProbs}`;
            assertClose(t, got.out, want.out, { rtol: 1e-5, atol: 1e-6, label: `${tag} out` });
            if (got.probs) assertClose(t, got.probs, want.probs, { rtol: 1e-5, atol: 1e-6, label: `${tag} probs` });
          }
        }
      }
    }
  }
});

test('a fully masked row is uniform (1/L), never NaN, on every path', (t) => {
  const rand = mulberry32(8);
  const B = 1;
  const L = 13;
  const H = 1;
  const D = 8;
  const n = B * L * H * D;
  const a: AttnIn = { q: randn(rand, n), k: randn(rand, n), v: randn(rand, n), B, L, H, D, maskBias: new Float32Array(L).fill(F32_MIN), maskRank: 2, headMult: null };
  for (const path of cpuPaths()) {
    const { probs, out } = attention(a, true, path);
    assertClose(t, probs!, new Float64Array(L * L).fill(1 / L), { rtol: 1e-6, atol: 1e-7, label: `${path} uniform` });
    t.false(out.some(Number.isNaN), `${path}: no NaN in the context`);
  }
});
