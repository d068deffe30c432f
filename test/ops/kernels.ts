// kernels.ts: typed wrappers over the test addon's op entry points
// (native/binding/testing/ops_internal_kernels.cc). Each runs one op on one CPU path
// and returns the outputs plus the name of the path that really ran.
import { testAddon } from '../helpers/test_addon';
import type { OpPath } from '../helpers/ops';

type Fn = (...args: unknown[]) => string;
const op = (name: string): Fn => testAddon()[name] as Fn;

export function gemm(A: Float32Array, B: Float32Array, bias: Float32Array | null, M: number, N: number, K: number, path: OpPath, act = 0) {
  const C = new Float32Array(M * N).fill(NaN);
  const ran = op('opGemm')(A, B, bias, C, M, N, K, path, act);
  return { C, ran };
}

export function layernorm(x: Float32Array, r: Float32Array | null, gamma: Float32Array, beta: Float32Array, rows: number, C: number, eps: number, path: OpPath) {
  const y = new Float32Array(rows * C).fill(NaN);
  const ran = op('opLayerNorm')(x, r, gamma, beta, y, rows, C, eps, path);
  return { y, ran };
}

export function softmax(x: Float32Array, rows: number, n: number, path: OpPath) {
  const y = Float32Array.from(x);
  const ran = op('opSoftmax')(y, rows, n, path);
  return { y, ran };
}

export interface AttnIn {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  maskBias: Float32Array | null;
  maskRank: number;
  headMult: Float32Array | null;
  B: number;
  L: number;
  H: number;
  D: number;
}

export function attention(a: AttnIn, withProbs: boolean, path: OpPath) {
  const out = new Float32Array(a.B * a.L * a.H * a.D).fill(NaN);
  const probs = withProbs ? new Float32Array(a.B * a.H * a.L * a.L).fill(NaN) : null;
  const ran = op('opAttention')(a.q, a.k, a.v, a.maskBias, a.maskRank, a.headMult, out, probs, a.B, a.L, a.H, a.D, path);
  return { out, probs, ran };
}

export function dynconv(v: Float32Array, w: Float32Array, B: number, L: number, H: number, D: number, K: number, path: OpPath) {
  const out = new Float32Array(B * L * H * D).fill(NaN);
  const ran = op('opDynConv')(v, w, out, B, L, H, D, K, path);
  return { out, ran };
}

export function sepconv(x: Float32Array, wt: Float32Array, B: number, L: number, C: number, K: number, path: OpPath) {
  const y = new Float32Array(B * L * C).fill(NaN);
  const ran = op('opSepConv')(x, wt, y, B, L, C, K, path);
  return { y, ran };
}

export interface EmbIn {
  ids: Int32Array | null;
  embeds: Float32Array | null;
  positions: Int32Array;
  types: Int32Array | null;
  word: Float32Array;
  pos: Float32Array;
  type: Float32Array;
  T: number;
  E: number;
  V: number;
  P: number;
  TV: number;
}

export function embedding(e: EmbIn, path: OpPath) {
  const y = new Float32Array(e.T * e.E).fill(NaN);
  const ran = op('opEmbedding')(e.ids, e.embeds, e.positions, e.types, e.word, e.pos, e.type, y, e.T, e.E, e.V, e.P, e.TV, path);
  return { y, ran };
}

/** finfo(float32).min, the mask bias HF adds for a masked position. */
export const F32_MIN = -3.4028234663852886e38;

export interface FmaPeak {
  gflops: number;
  seconds: number;
  /** Summed CPU time of the threads that ran the loops, and flops per CPU-second (one core's rate). */
  cpuSeconds: number;
  gflopsPerCpuSecond: number;
  path: string;
  threads: number;
}

/** The machine's FP32 FMA peak on one path (bench-only op opFmaPeak): threads pool tasks of iters x 12 FMAs. */
export function fmaPeak(path: OpPath, iters: number, threads: number): FmaPeak {
  return (testAddon().opFmaPeak as (p: string, i: number, t: number) => FmaPeak)(path, iters, threads);
}

export interface GemmTime {
  seconds: number;
  /** Process CPU time of the timed products (every pool thread), and flops per CPU-second. */
  cpuSeconds: number;
  gflops: number;
  gflopsPerCpuSecond: number;
  path: string;
  /** Sum of C (in double) after the timed products. */
  checksum: number;
}

/**
 * The seeded operands opGemmTime builds (native/binding/testing/ops_internal_kernels.cc
 * gemm_time_inputs): one LCG from 12345, value (x >> 8) / 2^24 - 0.5 in float,
 * A (M*K), then bias (N), then B (N*K) times 0.05f.
 */
export function gemmTimeInputs(M: number, N: number, K: number): { A: Float32Array; bias: Float32Array; B: Float32Array } {
  let s = 12345;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.fround(Math.fround((s >>> 8) / 16777216) - 0.5);
  };
  const A = new Float32Array(M * K);
  const bias = new Float32Array(N);
  const B = new Float32Array(N * K);
  for (let i = 0; i < A.length; i++) A[i] = next();
  for (let i = 0; i < N; i++) bias[i] = next();
  const f = Math.fround(0.05);
  for (let i = 0; i < B.length; i++) B[i] = Math.fround(next() * f);
  return { A, bias, B };
}

/** Times `iters` packed fp32 gemms (M, K) x (N, K)ᵀ over `copies` weight copies (bench-only op opGemmTime). */
export function gemmTime(M: number, N: number, K: number, iters: number, copies: number, path: OpPath): GemmTime {
  return (testAddon().opGemmTime as (...a: unknown[]) => GemmTime)(M, N, K, iters, copies, path);
}
