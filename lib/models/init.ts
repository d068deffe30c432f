// init.ts: HF's weight initialisation, deterministic for a seed. Each parameter
// draws from its own stream (seed and key hashed together), so a parameter's
// values do not depend on which other parameters exist: a head initialised
// while loading a base checkpoint equals the same head from fromConfig(seed).
// Normals are Box-Muller over xoshiro128** uniforms, computed in float64.
// Parameters are drawn when read, so a model is never materialised twice.
import type { InitKind, ParamSpec } from './layout';

/** FNV-1a over the key's UTF-16 units, mixed with the seed. */
function hashKey(seed: number, key: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The four xoshiro128** state words for a seed, through splitmix32. */
function seedState(seed: number): Uint32Array {
  let x = seed >>> 0;
  const st = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    st[i] = (z ^ (z >>> 16)) >>> 0;
  }
  if ((st[0] | st[1] | st[2] | st[3]) === 0) st[0] = 1;
  return st;
}

/**
 * Fills `out` with normal(0, std) samples: Box-Muller over xoshiro128** uniforms
 * in (0, 1) (32 random bits plus a half step: never 0, never 1). The generator is
 * inlined because ConvBERT-base draws about 10^8 samples.
 */
export function fillNormal(out: Float32Array, std: number, seed: number): void {
  const st = seedState(seed);
  let a = st[0] | 0;
  let b = st[1] | 0;
  let c = st[2] | 0;
  let d = st[3] | 0;
  const TWO_PI = 2 * Math.PI;
  const n = out.length;
  for (let i = 0; i < n; i += 2) {
    let u1 = 0;
    let u2 = 0;
    for (let k = 0; k < 2; k++) {
      const b5 = Math.imul(b, 5);
      const r = Math.imul((b5 << 7) | (b5 >>> 25), 9) >>> 0;
      const t = b << 9;
      c ^= a;
      d ^= b;
      b ^= c;
      a ^= d;
      c ^= t;
      d = (d << 11) | (d >>> 21);
      const u = (r + 0.5) / 4294967296;
      if (k === 0) u1 = u;
      else u2 = u;
    }
    const rad = Math.sqrt(-2 * Math.log(u1)) * std;
    const th = TWO_PI * u2;
    out[i] = rad * Math.cos(th);
    if (i + 1 < n) out[i + 1] = rad * Math.sin(th);
  }
}

export interface InitOptions {
  seed: number;
  initializerRange: number;
  /** Row of the word embeddings HF zeroes (nn.Embedding padding_idx); null for none. */
  padTokenId: number | null;
}

/** One parameter initialised as HF does. */
export function initParam(spec: ParamSpec, o: InitOptions): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const kind: InitKind = spec.init;
  if (kind === 'ones') out.fill(1);
  else if (kind === 'normal' || kind === 'embedding_pad') {
    fillNormal(out, o.initializerRange, hashKey(o.seed, spec.key));
    if (kind === 'embedding_pad' && o.padTokenId !== null && o.padTokenId >= 0 && o.padTokenId < spec.shape[0]) {
      const row = spec.shape[1];
      out.fill(0, o.padTokenId * row, (o.padTokenId + 1) * row);
    }
  }
  return out;
}
