// init.ts: HF's weight initialisation, deterministic for a seed. Each parameter
// draws from its own stream (seed and key hashed together), so a parameter's
// values do not depend on which other parameters exist: a head initialised
// while loading a base checkpoint equals the same head from fromConfig(seed).
// Normals are Box-Muller over xoshiro128** uniforms, computed in float64.
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

/** xoshiro128** seeded through splitmix32; returns uniforms in (0, 1). */
export function uniformStream(seed: number): () => number {
  let x = seed >>> 0;
  const split = (): number => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split();
  let b = split();
  let c = split();
  let d = split();
  if ((a | b | c | d) === 0) a = 1;
  return () => {
    const r = Math.imul(((Math.imul(b, 5) << 7) | (Math.imul(b, 5) >>> 25)) >>> 0, 9) >>> 0;
    const t = (b << 9) >>> 0;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = ((d << 11) | (d >>> 21)) >>> 0;
    // 32 random bits plus a half step: never 0, never 1.
    return (r + 0.5) / 4294967296;
  };
}

/** Fills `out` with normal(0, std) samples. */
export function fillNormal(out: Float32Array, std: number, next: () => number): void {
  for (let i = 0; i < out.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(next()));
    const th = 2 * Math.PI * next();
    out[i] = r * Math.cos(th) * std;
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(th) * std;
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
    fillNormal(out, o.initializerRange, uniformStream(hashKey(o.seed, spec.key)));
    if (kind === 'embedding_pad' && o.padTokenId !== null && o.padTokenId >= 0 && o.padTokenId < spec.shape[0]) {
      const row = spec.shape[1];
      out.fill(0, o.padTokenId * row, (o.padTokenId + 1) * row);
    }
  }
  return out;
}
