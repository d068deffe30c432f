// gemm (C = A·Bᵀ + bias over the packed 16-column panel layout) on every CPU
// path against an fp64 reference written here. Shapes cross every tail: rows
// not a multiple of the 6-row microtile (every remainder), columns not a multiple
// of 16/32, K past one K block (128/256), and both of the AVX-512 block walks. Tolerance: rtol 1e-5, atol 1e-5 — B is scaled
// by 1/sqrt(K) so outputs are O(1), and float sums of K <= 300 terms stay well below that.
import { ConvBertError } from '../../lib/errors';
import test from 'ava';

import { assertClose } from '../helpers/assert_close';
import { cpuPaths } from '../helpers/ops';
import { gelu } from '../helpers/ref64';
import { mulberry32, randn } from '../helpers/rng';
import { gemm } from './kernels';

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

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [7, 33, 129],
  [33, 7, 1],
  [129, 33, 7],
  [13, 129, 300],
  [100, 130, 64],
  // Microtile tails (row_tiles in gemm_walk_avx512.h): 11 rows = 6 + 5; 128 = 20 x 6 + 4 + 4,
  // one task over every row (the streaming walk and its prefetch) across three K blocks;
  // 200 rows = three row tasks (the k-major walk), the last of 56 = 8 x 6 + 4 + 4.
  [11, 17, 129],
  [128, 70, 300],
  [200, 40, 260],
];

test('gemm matches an fp64 reference on every path, with and without bias', (t) => {
  const rand = mulberry32(11);
  for (const [M, N, K] of SHAPES) {
    const A = randn(rand, M * K);
    const B = randn(rand, N * K, 1 / Math.sqrt(K));
    for (const bias of [null, randn(rand, N)]) {
      const want = gemmRef(A, B, bias, M, N, K);
      for (const path of cpuPaths()) {
        const { C, ran } = gemm(A, B, bias, M, N, K, path);
        t.is(ran, path);
        assertClose(t, C, want, { rtol: 1e-5, atol: 1e-5, label: `${path} M=${M} N=${N} K=${K} bias=${bias !== null}` });
      }
    }
  }
});

test('gemm epilogue activations (relu, erf gelu, tanh) match act(fp64 reference) on every path', (t) => {
  const rand = mulberry32(12);
  const [M, N, K] = [9, 35, 40];
  const A = randn(rand, M * K);
  const B = randn(rand, N * K, 1 / Math.sqrt(K));
  const bias = randn(rand, N);
  const base = gemmRef(A, B, bias, M, N, K);
  const acts: [number, (v: number) => number][] = [
    [4, (v) => Math.max(v, 0)],
    [1, gelu],
    [9, Math.tanh],
  ];
  for (const [code, f] of acts) {
    const want = base.map(f);
    for (const path of cpuPaths()) {
      const { C, ran } = gemm(A, B, bias, M, N, K, path, code);
      t.is(ran, path);
      assertClose(t, C, want, { rtol: 1e-5, atol: 1e-5, label: `${path} act=${code}` });
    }
  }
});

test('gemm rejects arrays whose length disagrees with the sizes', (t) => {
  const A = new Float32Array(6);
  const B = new Float32Array(6);
  t.throws(() => gemm(A, B, null, 2, 2, 4, 'generic'), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_SHAPE', message: 'opGemm: A: expected 8 elements, got 6' });
});
