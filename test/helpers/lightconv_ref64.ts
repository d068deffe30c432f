// lightconv_ref64.ts: the fp64 reference of the public lightconv / dynamicconv ops,
// written from the definition (Wu et al. 2019; fairseq LightweightConv1dTBC /
// DynamicConv1dTBC forward, batch-major), shared by test/ops and test/cuda:
//   y[b,t,c] = Σ_k w'[head(c), k] · x[b, t + k - padding_l, c] + bias[c], zeros outside [0, T),
// head(c) = floor(c / (C/H)) (c % H with interleaved), w' = softmax over k when softmax is set.
import { randn } from './rng';
import { softmaxRows } from './ref64';

export interface Ref64Case {
  x: Float32Array; // (B, T, C)
  w: Float32Array; // (H, K), or (B, T, H, K) when dynamic
  bias: Float32Array | null; // (C)
  B: number;
  T: number;
  C: number;
  H: number;
  K: number;
  padding_l: number;
  dynamic: boolean;
  softmax: boolean;
  /** Head of channel c is c % H (ConvBERT's grouped layout) instead of floor(c / (C/H)). */
  interleaved?: boolean;
}

export function lightconvRef64(o: Ref64Case): Float64Array {
  const { B, T, C, H, K } = o;
  const R = C / H;
  const y = new Float64Array(B * T * C);
  const taps = (b: number, t: number, h: number): number[] => {
    const base = o.dynamic ? ((b * T + t) * H + h) * K : h * K;
    const w = o.w.subarray(base, base + K);
    return o.softmax ? Array.from(softmaxRows(w, 1, K)) : Array.from(w, Number);
  };
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let c = 0; c < C; c++) {
        const w = taps(b, t, o.interleaved ? c % H : Math.floor(c / R));
        let acc = o.bias ? o.bias[c] : 0;
        for (let k = 0; k < K; k++) {
          const s = t + k - o.padding_l;
          if (s >= 0 && s < T) acc += w[k] * o.x[(b * T + s) * C + c];
        }
        y[(b * T + t) * C + c] = acc;
      }
  return y;
}

/** One case as the test addon's opLightconv takes it (per_position = dynamic weights, interleaved_heads). */
export type LightconvOpCase = {
  x: Float32Array;
  w: Float32Array;
  bias: Float32Array | null;
  B: number;
  T: number;
  C: number;
  H: number;
  K: number;
  padding_l: number;
  per_position: boolean;
  softmax: boolean;
  interleaved_heads: boolean;
};

/**
 * A seeded random case for the CPU and CUDA op tests: weights (B, T, H, K) when per_position,
 * else (H, K); a bias only without left padding; the tap softmax except at K = 4, so every
 * combination is covered across the K sweep.
 */
export function randomLightconvCase(
  rand: () => number,
  s: { B: number; T: number; C: number; H: number; K: number; padding_l: number; per_position: boolean; interleaved_heads: boolean },
): LightconvOpCase {
  const { B, T, C, H, K, padding_l, per_position } = s;
  return {
    ...s,
    x: randn(rand, B * T * C),
    w: randn(rand, per_position ? B * T * H * K : H * K),
    bias: padding_l === 0 ? randn(rand, C) : null,
    softmax: K !== 4,
  };
}
