// gemm_i8 (the opt-in int8 gemm: B quantised per output channel, A per row per
// call, int32 sums, fp32 epilogue) on every CPU path against a reference written
// here: the same quantisation rules (ops.h) computed in TS with fp32 rounding
// emulated by Math.fround, exact integer sums, and the epilogue
// fma(float(acc - zp*colsum), sa*sb, bias).
// Tolerances: without bias the fp32 epilogue is one product of two fp32 values,
// which TS computes exactly in fp64 and rounds once, so the result must match bit
// for bit (any integer sum off by one would show). With bias the fused add is
// emulated in fp64 then rounded (double rounding), so 1 ulp. Every path must also
// agree bit for bit with the generic path: same integers, same fma.
// Shapes: M, N, K in {1, 7, 33, 129, 511} (panel, k-quad, K-block and row-tile
// tails) plus K up to 1100 (several K blocks), grouped calls with strides, zero rows, large and tiny magnitudes,
// non-finite rows, fused activations, and K past the int32 limit refused.
import test from 'ava';

import { ConvBertError } from '../../lib/errors';
import { testAddon } from '../helpers/test_addon';
import { ACT, activation, cpuPaths } from '../helpers/ops';
import { mulberry32, randn } from '../helpers/rng';

interface Int8Addon {
  opGemmInt8(
    A: Float32Array,
    B: Float32Array,
    bias: Float32Array | null,
    C: Float32Array,
    M: number,
    N: number,
    K: number,
    path: string,
    act?: number,
    reps?: number,
    G?: number,
  ): string;
  backendInfo(): { bestIsa: string };
}
const addon = (): Int8Addon => testAddon() as unknown as Int8Addon;

/** Round half to even, like nearbyint / vcvtps2dq in the default rounding mode. */
function rintEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : r;
}

const MIN_RANGE = 2 ** -100; // ops.h kI8MinRange

interface QB {
  q: Int8Array; // (N, K)
  scale: Float32Array;
  colsum: Int32Array;
}

/** Per output channel, symmetric: s = max|w| / 127 (fp64), q = rint(w / s); scale stored as fp32. */
function quantizeB(B: Float32Array, N: number, K: number): QB {
  const q = new Int8Array(N * K);
  const scale = new Float32Array(N);
  const colsum = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    let maxabs = 0;
    let finite = true;
    for (let k = 0; k < K; k++) {
      const v = B[n * K + k];
      if (!Number.isFinite(v)) finite = false;
      else maxabs = Math.max(maxabs, Math.abs(v));
    }
    if (!finite) scale[n] = NaN;
    if (!finite || maxabs === 0) continue;
    const s = maxabs / 127;
    scale[n] = s;
    for (let k = 0; k < K; k++) {
      const v = Math.max(-127, Math.min(127, rintEven(B[n * K + k] / s)));
      q[n * K + k] = v;
      colsum[n] += v;
    }
  }
  return { q, scale, colsum };
}

interface QA {
  q: Uint8Array; // (M, K)
  sa: Float32Array;
  zp: Int32Array;
}

/** Per row, asymmetric over [min(0, min), max(0, max)]: inv = fp32(255 / range), q = clamp(rint(fp32(x * inv)) + zp). */
function quantizeA(A: Float32Array, M: number, K: number, lda = K, off = 0): QA {
  const q = new Uint8Array(M * K);
  const sa = new Float32Array(M);
  const zp = new Int32Array(M);
  for (let m = 0; m < M; m++) {
    const row = (k: number): number => A[off + m * lda + k];
    let mn = K > 0 ? row(0) : 0;
    let mx = mn;
    let bad = false;
    for (let k = 0; k < K; k++) {
      const v = row(k);
      if (!Number.isFinite(v)) bad = true;
      mn = Math.min(mn, v);
      mx = Math.max(mx, v);
    }
    if (bad) {
      sa[m] = NaN;
      continue;
    }
    mn = Math.min(mn, 0);
    mx = Math.max(mx, 0);
    const range = mx - mn;
    if (!(range >= MIN_RANGE)) continue;
    const inv = Math.fround(255 / range);
    sa[m] = range / 255;
    zp[m] = Math.max(0, Math.min(255, rintEven(Math.fround(-mn * inv))));
    for (let k = 0; k < K; k++) q[m * K + k] = Math.max(0, Math.min(255, rintEven(Math.fround(row(k) * inv)) + zp[m]));
  }
  return { q, sa, zp };
}

/** The int8 gemm of one group as the reference computes it (fp32 result per element). */
function gemmRef(a: QA, b: QB, bias: Float32Array | null, M: number, N: number, K: number): Float32Array {
  const C = new Float32Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += a.q[m * K + k] * b.q[n * K + k];
      const corr = acc - a.zp[m] * b.colsum[n];
      const s = Math.fround(a.sa[m] * b.scale[n]);
      const f = Math.fround(corr);
      C[m * N + n] = bias ? Math.fround(f * s + bias[n]) : Math.fround(f * s);
    }
  return C;
}

/** Largest difference in units of the last place of the reference (NaN must match NaN). */
function maxUlps(got: Float32Array, want: Float32Array): { ulps: number; at: number } {
  let ulps = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    const g = got[i];
    if (Number.isNaN(w) || Number.isNaN(g)) {
      if (Number.isNaN(w) !== Number.isNaN(g)) return { ulps: Infinity, at: i };
      continue;
    }
    if (g === w) continue;
    const ulp = w === 0 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(Math.abs(w))) - 23);
    const u = Math.abs(g - w) / ulp;
    if (u > ulps) {
      ulps = u;
      at = i;
    }
  }
  return { ulps, at };
}

function run(A: Float32Array, B: Float32Array, bias: Float32Array | null, M: number, N: number, K: number, path: string, act = 0, G = 1) {
  const C = new Float32Array(M * G * N).fill(-12345);
  const ran = addon().opGemmInt8(A, B, bias, C, M, N, K, path, act, 1, G);
  return { C, ran };
}

const expectedKernel = (path: string): string[] => (path === 'avx512' ? ['avx512_vnni', 'avx2'] : [path]);

const SIZES = [1, 7, 33, 129, 511];
const SHAPES: [number, number, number][] = [];
for (const M of SIZES) for (const N of SIZES) for (const K of SIZES) if (M * N * K <= 511 * 33 * 129) SHAPES.push([M, N, K]);
// K past one 512-value VNNI K block (partial int32 sums kept in C between blocks), full 8 x 48 tiles and tails.
SHAPES.push([16, 96, 1100], [9, 50, 600], [100, 200, 1030]);

test('rintEven (the test helper) rounds halves to even', (t) => {
  t.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, 2.6].map(rintEven), [0, 2, 2, -0, -2, -2, 2, 3]);
});

test('gemm_i8 equals the reference on every path: bit for bit without bias, within 1 ulp with bias', (t) => {
  const rand = mulberry32(81);
  t.true(SHAPES.length > 60);
  let compared = 0;
  for (const [M, N, K] of SHAPES) {
    // Rows with an offset, so the zero point is not always mid-range.
    const A = randn(rand, M * K).map((v, i) => v + ((i / K) % 3) - 1);
    const B = randn(rand, N * K, 1 / Math.sqrt(K));
    const qa = quantizeA(A, M, K);
    const qb = quantizeB(B, N, K);
    for (const bias of [null, randn(rand, N)]) {
      const want = gemmRef(qa, qb, bias, M, N, K);
      let first: Float32Array | null = null;
      for (const path of cpuPaths()) {
        const { C, ran } = run(A, B, bias, M, N, K, path);
        t.true(expectedKernel(path).includes(ran), `${path} ran ${ran}`);
        const { ulps, at } = maxUlps(C, want);
        compared++;
        const lim = bias ? 1 : 0;
        if (ulps > lim) t.fail(`${path} M=${M} N=${N} K=${K} bias=${bias !== null}: ${ulps} ulps at ${at}: got ${C[at]} want ${want[at]}`);
        if (first) {
          const same = C.every((v, i) => Object.is(v, first![i]));
          if (!same) t.fail(`${path} M=${M} N=${N} K=${K}: differs from the generic path`);
        } else first = C;
      }
    }
  }
  // Every shape, with and without bias, on every path was compared.
  t.is(compared, SHAPES.length * 2 * cpuPaths().length);
});

test('gemm_i8 really quantises: off the fp64 product by about the int8 step, not by fp32 rounding', (t) => {
  const rand = mulberry32(82);
  const [M, N, K] = [33, 33, 129];
  const A = randn(rand, M * K);
  const B = randn(rand, N * K, 1 / Math.sqrt(K));
  for (const path of cpuPaths()) {
    const { C } = run(A, B, null, M, N, K, path);
    let maxErr = 0;
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += A[m * K + k] * B[n * K + k];
        maxErr = Math.max(maxErr, Math.abs(C[m * N + n] - s));
      }
    // 8-bit steps (~range/255 on A, max/127 on B) over K = 129 terms of O(1) outputs: ~1e-2, far above fp32's 1e-6.
    t.true(maxErr > 1e-3 && maxErr < 0.1, `${path}: max |int8 - exact| = ${maxErr}`);
  }
});

test('gemm_i8 grouped (strided A and C, shared scratch) equals each group run alone', (t) => {
  const rand = mulberry32(83);
  for (const [M, N, K, G] of [
    [7, 33, 129, 2],
    [33, 7, 33, 4],
    [129, 16, 511, 3],
  ]) {
    const A = randn(rand, M * G * K);
    const B = randn(rand, G * N * K, 1 / Math.sqrt(K));
    const bias = randn(rand, G * N);
    for (const path of cpuPaths()) {
      const { C } = run(A, B, bias, M, N, K, path, 0, G);
      for (let g = 0; g < G; g++) {
        const qa = quantizeA(A, M, K, G * K, g * K);
        const want = gemmRef(qa, quantizeB(B.subarray(g * N * K, (g + 1) * N * K), N, K), bias.subarray(g * N, (g + 1) * N), M, N, K);
        const got = new Float32Array(M * N);
        for (let m = 0; m < M; m++) got.set(C.subarray(m * G * N + g * N, m * G * N + (g + 1) * N), m * N);
        const { ulps, at } = maxUlps(got, want);
        t.true(ulps <= 1, `${path} M=${M} N=${N} K=${K} G=${G} group ${g}: ${ulps} ulps at ${at}`);
      }
    }
  }
});

test('gemm_i8 edge rows: zero rows give the bias, zero weight rows give the bias, ties round to even', (t) => {
  const [M, N, K] = [4, 9, 37];
  const rand = mulberry32(84);
  const A = randn(rand, M * K);
  A.fill(0, K, 2 * K); // row 1: all zeros (scale 0)
  A.fill(-0, 2 * K, 3 * K); // row 2: negative zeros
  const B = randn(rand, N * K, 0.2);
  B.fill(0, 3 * K, 4 * K); // output channel 3: all zero weights (scale 0)
  const bias = randn(rand, N);
  for (const path of cpuPaths()) {
    const { C } = run(A, B, bias, M, N, K, path);
    for (const m of [1, 2]) t.deepEqual(Array.from(C.subarray(m * N, (m + 1) * N)), Array.from(bias), `${path} zero row ${m}`);
    for (let m = 0; m < M; m++) t.is(C[m * N + 3], bias[3], `${path} zero channel, row ${m}`);
    const want = gemmRef(quantizeA(A, M, K), quantizeB(B, N, K), bias, M, N, K);
    t.true(maxUlps(C, want).ulps <= 1, path);
  }
  // One row spanning exactly [0, 255] has inv = 1, so x.5 values are exact ties: 2.5 -> 2, 3.5 -> 4, 0.5 -> 0.
  const Kt = 8;
  const At = Float32Array.of(255, 2.5, 3.5, 0.5, 1.5, 254.5, 0, 7);
  const Bt = new Float32Array(Kt * Kt);
  for (let i = 0; i < Kt; i++) Bt[i * Kt + i] = 1; // identity: C[n] = sa * sb * q[n]
  const qa = quantizeA(At, 1, Kt);
  t.deepEqual(Array.from(qa.q), [255, 2, 4, 0, 2, 254, 0, 7]);
  const wantT = gemmRef(qa, quantizeB(Bt, Kt, Kt), null, 1, Kt, Kt);
  for (const path of cpuPaths()) {
    const { C } = run(At, Bt, null, 1, Kt, Kt, path);
    t.deepEqual(Array.from(C), Array.from(wantT), `${path}: ties to even`);
  }
});

test('gemm_i8 scales: large (1e15) and tiny (1e-15) magnitudes keep their relative accuracy', (t) => {
  const rand = mulberry32(85);
  const [M, N, K] = [7, 33, 129];
  for (const [sa, sb] of [
    [1e15, 1e15],
    [1e-15, 1e-15],
    [1e18, 1e-18],
  ]) {
    const A = randn(rand, M * K, sa);
    const B = randn(rand, N * K, sb / Math.sqrt(K));
    const want = gemmRef(quantizeA(A, M, K), quantizeB(B, N, K), null, M, N, K);
    for (const path of cpuPaths()) {
      const { C } = run(A, B, null, M, N, K, path);
      const { ulps, at } = maxUlps(C, want);
      t.is(ulps, 0, `${path} scale ${sa}, ${sb}: ${ulps} ulps at ${at}`);
      let mag = 0;
      for (const v of C) mag = Math.max(mag, Math.abs(v));
      t.true(mag > 0.1 * sa * sb && Number.isFinite(mag), `${path}: outputs of the right magnitude (${mag})`);
    }
  }
});

test('gemm_i8 non-finite values: a row with NaN or infinity gives NaN in that row only, as fp32 would', (t) => {
  const rand = mulberry32(86);
  const [M, N, K] = [5, 20, 40];
  const A = randn(rand, M * K);
  A[1 * K + 7] = NaN;
  A[3 * K + 39] = Infinity;
  const B = randn(rand, N * K, 0.2);
  B[5 * K + 3] = -Infinity; // output channel 5
  for (const path of cpuPaths()) {
    const { C } = run(A, B, null, M, N, K, path);
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        const nan = m === 1 || m === 3 || n === 5;
        t.is(Number.isNaN(C[m * N + n]), nan, `${path} (${m}, ${n}) = ${C[m * N + n]}`);
      }
  }
});

test('gemm_i8 fused activations equal the activation applied to the plain output on the same path', (t) => {
  const rand = mulberry32(87);
  const [M, N, K] = [9, 35, 41];
  const A = randn(rand, M * K);
  const B = randn(rand, N * K, 1 / Math.sqrt(K));
  const bias = randn(rand, N);
  for (const path of cpuPaths()) {
    const plain = run(A, B, bias, M, N, K, path).C;
    for (const act of [ACT.relu, ACT.gelu, ACT.gelu_new]) {
      const fused = run(A, B, bias, M, N, K, path, act).C;
      const sep = activation(plain, null, N, act, path).y;
      t.deepEqual(Array.from(fused), Array.from(sep), `${path} act ${act}`);
    }
  }
});

test('gemm_i8 refuses K past the int32 limit and bad arguments with typed errors', (t) => {
  const K = 65537;
  const e = t.throws(() => addon().opGemmInt8(new Float32Array(K), new Float32Array(K), null, new Float32Array(1), 1, 1, K, 'generic'));
  t.true(e instanceof ConvBertError && e.code === 'ERR_CONVBERT_UNSUPPORTED', String(e));
  t.throws(() => addon().opGemmInt8(new Float32Array(3), new Float32Array(4), null, new Float32Array(1), 1, 1, 4, 'generic'), {
    instanceOf: ConvBertError,
    code: 'ERR_CONVBERT_SHAPE',
    message: 'opGemmInt8: A: expected 4 elements, got 3',
  });
  t.throws(() => addon().opGemmInt8(new Float32Array(4), new Float32Array(4), null, new Float32Array(1), 1, 1, 4, 'sse9'), {
    instanceOf: ConvBertError,
    code: 'ERR_CONVBERT_ARG',
    message: "opGemmInt8: path: expected generic|avx2|avx512, got 'sse9'",
  });
});

test('gemm_i8 runs the AVX512_VNNI kernel on the avx512 path exactly when the CPU has it', (t) => {
  const best = addon().backendInfo().bestIsa;
  const C = new Float32Array(1);
  const ran = addon().opGemmInt8(Float32Array.of(1, 2), Float32Array.of(3, 4), null, C, 1, 1, 2, best);
  t.true(Math.abs(C[0] - 11) < 0.1, String(C[0]));
  if (best !== 'avx512') t.is(ran, best);
  else t.true(ran === 'avx512_vnni' || ran === 'avx2', ran);
  t.log(`best path ${best}: int8 gemm kernel ${ran}`);
});
