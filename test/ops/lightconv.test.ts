// lightconv (Wu et al. 2019; fairseq LightweightConv1dTBC / DynamicConv1dTBC forward,
// batch-major): y[b,t,c] = Σ_k softmax_k(w)[head(c), k] · x[b, t + k - padding_l, c] + bias[c],
// zeros outside [0, T), against the fp64 reference in test/helpers/lightconv_ref64.ts. Covers shared (H, K) and
// per-position (B, T, H, K) weights, softmax on/off, both head layouts, any K and
// padding_l (left, centred, right), sequences shorter than the kernel.
// Tolerance: rtol 1e-5, atol 1e-6 (the reference path accumulates in double and rounds once;
// the only float error is the rounding of the output and of the fp32 inputs).
import { ConvBertError } from '../../lib/errors';
import test from 'ava';

import { lightconvRef64 as ref64, randomLightconvCase, type LightconvOpCase } from '../helpers/lightconv_ref64';
import { testAddon } from '../helpers/test_addon';
import { assertClose } from '../helpers/assert_close';
import { mulberry32 } from '../helpers/rng';

type LcOpts = LightconvOpCase;

const lightconvRef64 = (o: LcOpts): Float64Array => ref64({ ...o, dynamic: o.per_position, interleaved: o.interleaved_heads });

const run = (o: LcOpts, path: string): Float32Array => (testAddon() as unknown as { opLightconv(o: LcOpts, p: string): Float32Array }).opLightconv(o, path);

test('lightconv (generic) matches an fp64 reference: lightweight and dynamic, every padding', (t) => {
  const rand = mulberry32(71);
  for (const T of [1, 7, 33]) {
    for (const [C, H] of [
      [4, 1],
      [6, 3],
      [16, 4],
    ]) {
      for (const K of [1, 3, 4, 9]) {
        for (const padding_l of [0, Math.floor((K - 1) / 2), K - 1]) {
          for (const per_position of [false, true]) {
            const B = 2;
            const o = randomLightconvCase(rand, { B, T, C, H, K, padding_l, per_position, interleaved_heads: C === 6 });
            const got = run(o, 'generic');
            assertClose(t, got, lightconvRef64(o), {
              rtol: 1e-5,
              atol: 1e-6,
              label: `T=${T} C=${C} H=${H} K=${K} pad=${padding_l} dyn=${per_position}`,
            });
          }
        }
      }
    }
  }
});

test('lightconv: softmax-normalised shared kernel of ones averages the window (fairseq semantics)', (t) => {
  // Equal logits -> uniform 1/K taps, so y is the window mean with zero padding: computed by hand.
  const x = new Float32Array([1, 2, 3, 4, 5]);
  const y = run(
    { x, w: new Float32Array([0.5, 0.5, 0.5]), bias: null, B: 1, T: 5, C: 1, H: 1, K: 3, padding_l: 2, per_position: false, softmax: true, interleaved_heads: false },
    'generic',
  );
  // padding_l = K - 1: causal window [t-2, t].
  assertClose(t, y, [1 / 3, 1, 2, 3, 4], { rtol: 1e-6, atol: 1e-6, label: 'causal mean' });
});

test('lightconv: bad arguments are typed errors naming the argument', (t) => {
  const base = { x: new Float32Array(6), w: new Float32Array(3), bias: null, B: 1, T: 2, C: 3, H: 1, K: 3, padding_l: 1 };
  t.throws(() => run({ ...base, padding_l: 3 } as LcOpts, 'generic'), { message: /padding_l/ });
  t.throws(() => run({ ...base, H: 2, w: new Float32Array(6) } as LcOpts, 'generic'), { message: /multiple of heads/ });
  t.throws(() => run({ ...base, x: new Float32Array(5) } as LcOpts, 'generic'), {
    instanceOf: ConvBertError,
    code: 'ERR_CONVBERT_SHAPE',
    message: 'opLightconv: x: expected 6 elements, got 5',
  });
  t.throws(() => run(base as LcOpts, 'avx9'), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_ARG', message: "opLightconv: path: expected generic|cuda, got 'avx9'" });
});
