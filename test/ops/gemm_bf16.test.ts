// gemm_bf16 (the opt-in bfloat16 gemm: B packed as bf16 k-pairs, A rounded to
// bf16 per block, fp32 accumulation) on every CPU path against an fp64
// reference computed here on bf16-rounded copies of A and B (round to nearest
// even, written independently below). With identical rounded inputs the only
// difference left is fp32 accumulation order, so the tolerance is the fp32
// gemm test's: rtol 1e-5, atol 2e-5 (B scaled by 1/sqrt(K), outputs O(1), K <= 600).
// Shapes cross every tail: M, N, K in {1, 7, 33, 129}, odd K (the k-pair padding),
// and K past one 256-value K block. The test also checks that rounding really
// happened (the fp64 reference on the unrounded inputs is off by far more).
import test from 'ava';

import { testAddon } from '../helpers/test_addon';
import { assertClose } from '../helpers/assert_close';
import { ACT, cpuPaths } from '../helpers/ops';
import { mulberry32, randn } from '../helpers/rng';

interface Bf16Addon {
  opGemmBf16(A: Float32Array, B: Float32Array, bias: Float32Array | null, C: Float32Array, M: number, N: number, K: number, path: string, act?: number): string;
  backendInfo(): { bestIsa: string };
}
const addon = (): Bf16Addon => testAddon() as unknown as Bf16Addon;

/** fp32 -> bf16 -> fp32, round to nearest even (the values here are finite). */
function roundBf16(x: Float32Array): Float32Array {
  const out = new Float32Array(x);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < u.length; i++) {
    const v = u[i];
    u[i] = ((v + 0x7fff + ((v >>> 16) & 1)) >>> 0) & 0xffff0000;
  }
  return out;
}

function gemmRef(A: Float32Array, B: Float32Array, bias: Float32Array | null, M: number, N: number, K: number): Float64Array {
  const C = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let acc = bias ? bias[n] : 0;
      for (let k = 0; k < K; k++) acc += A[m * K + k] * B[n * K + k];
      C[m * N + n] = acc;
    }
  return C;
}

const SIZES = [1, 7, 33, 129];
const SHAPES: [number, number, number][] = [];
for (const M of SIZES) for (const N of SIZES) for (const K of SIZES) if (M * N * K <= 129 * 33 * 129) SHAPES.push([M, N, K]);
SHAPES.push([13, 40, 300], [100, 130, 600], [6, 32, 2]);

test('roundBf16 (the test helper) rounds to nearest even', (t) => {
  // 1 + 2^-8 is halfway between bf16 1 and 1 + 2^-7: ties to even (1); 1 + 3*2^-8 ties up to 1 + 2^-6.
  const r = roundBf16(Float32Array.of(1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, -2.5));
  t.deepEqual(Array.from(r), [1, 1 + 2 ** -6, 1 + 2 ** -7, -2.5]);
});

test('gemm_bf16 matches an fp64 reference on bf16-rounded inputs on every path, with and without bias', (t) => {
  const rand = mulberry32(21);
  for (const [M, N, K] of SHAPES) {
    const A = randn(rand, M * K);
    const B = randn(rand, N * K, 1 / Math.sqrt(K));
    const Ar = roundBf16(A);
    const Br = roundBf16(B);
    for (const bias of [null, randn(rand, N)]) {
      const want = gemmRef(Ar, Br, bias, M, N, K);
      for (const path of cpuPaths()) {
        const C = new Float32Array(M * N);
        const ran = addon().opGemmBf16(A, B, bias, C, M, N, K, path);
        t.true(ran === path || (path === 'avx512' && ran === 'avx512_bf16'), `${path} ran ${ran}`);
        assertClose(t, C, want, { rtol: 1e-5, atol: 2e-5, label: `${path} M=${M} N=${N} K=${K} bias=${bias !== null}` });
      }
    }
  }
});

test('gemm_bf16 really rounds: the unrounded fp64 product is further away than bf16 error allows fp32 to be', (t) => {
  const rand = mulberry32(22);
  const [M, N, K] = [33, 33, 129];
  const A = randn(rand, M * K);
  const B = randn(rand, N * K, 1 / Math.sqrt(K));
  const exact = gemmRef(A, B, null, M, N, K);
  for (const path of cpuPaths()) {
    const C = new Float32Array(M * N);
    addon().opGemmBf16(A, B, null, C, M, N, K, path);
    let maxErr = 0;
    for (let i = 0; i < C.length; i++) maxErr = Math.max(maxErr, Math.abs(C[i] - exact[i]));
    // bf16 keeps 8 significant bits: relative rounding 2^-9 per input, so O(1) sums are off by ~1e-2.
    t.true(maxErr > 1e-3 && maxErr < 0.1, `${path}: max |bf16 - exact| = ${maxErr}`);
  }
});

test('gemm_bf16 epilogue activation (relu) is applied in fp32 to the bf16 product', (t) => {
  const rand = mulberry32(23);
  const [M, N, K] = [9, 35, 41];
  const A = randn(rand, M * K);
  const B = randn(rand, N * K, 1 / Math.sqrt(K));
  const bias = randn(rand, N);
  for (const path of cpuPaths()) {
    const plain = new Float32Array(M * N);
    addon().opGemmBf16(A, B, bias, plain, M, N, K, path);
    const relu = new Float32Array(M * N);
    addon().opGemmBf16(A, B, bias, relu, M, N, K, path, ACT.relu);
    assertClose(
      t,
      relu,
      plain.map((v) => Math.max(v, 0)),
      { rtol: 0, atol: 0, label: `${path} relu epilogue` },
    );
  }
});

test('gemm_bf16 runs the AVX512_BF16 kernel on the avx512 path exactly when the CPU has it', (t) => {
  const C = new Float32Array(1);
  const best = addon().backendInfo().bestIsa;
  const ran = addon().opGemmBf16(Float32Array.of(1, 2), Float32Array.of(3, 4), null, C, 1, 1, 2, best);
  t.is(C[0], 11);
  if (best !== 'avx512') t.is(ran, best);
  else t.true(ran === 'avx512' || ran === 'avx512_bf16', ran);
  t.log(`best path ${best}: bf16 gemm kernel ${ran}`);
});
