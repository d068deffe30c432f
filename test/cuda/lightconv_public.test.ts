// The public ops.lightconv / ops.dynamicconv with device 'cuda' (cuda/lightconv.cu through
// native/binding/ops_public.cc) against the fp64 reference of test/helpers/lightconv_ref64.ts:
// T in 1, 7, 33, 129, 511, K in 1, 3, 4, 9, 31 (K > T included), C/H odd and even, padding
// 'both' / 'left' / 0, softmax on and off, with and without bias, async and sync; then the
// CUDA-only limits and device ordinals as typed errors. On a machine without a GPU this file
// checks that device 'cuda' is ERR_CONVBERT_UNSUPPORTED with the backend's reason.
// Tolerance: rtol 1e-5, atol 1e-5: the kernel sums up to 31 fp32 products with fmaf (and
// normalises the taps in fp32) where the reference uses doubles.
import { ConvBertError, Tensor, backendInfo, ops, type ConvOpOptions } from '../../lib/index';
import { assertClose } from '../helpers/assert_close';
import { mulberry32, randn } from '../helpers/rng';
import { lightconvRef64 } from '../helpers/lightconv_ref64';
import { gpuTest, SIZES } from './helpers';

const f32 = (data: Float32Array, dims: number[]) => new Tensor('float32', data, dims);

const probe = () => ops.lightconvSync(f32(new Float32Array(2), [1, 1, 2]), f32(new Float32Array(3), [1, 3]), { device: 'cuda' });

gpuTest('lightconv public: ops.lightconv / ops.dynamicconv on device cuda match the fp64 reference', probe, async (t) => {
  const rand = mulberry32(1401);
  let i = 0;
  for (const T of SIZES)
    for (const [C, H] of [
      [9, 3],
      [64, 16],
    ])
      for (const K of [1, 3, 4, 9, 31])
        for (const padding of ['both', 'left', 0] as const)
          for (const dynamic of [false, true]) {
            const B = 2;
            const softmax = (K + T + C) % 2 === 0;
            const padding_l = padding === 'both' ? Math.floor((K - 1) / 2) : padding === 'left' ? K - 1 : 0;
            const x = randn(rand, B * T * C);
            const w = randn(rand, dynamic ? B * T * H * K : H * K);
            const bias = padding !== 'left' ? randn(rand, C) : null;
            const want = lightconvRef64({ x, w, bias, B, T, C, H, K, padding_l, dynamic, softmax });
            const xt = f32(x, [B, T, C]);
            const wt = f32(w, dynamic ? [B, T, H, K] : [H, K]);
            const opts: ConvOpOptions = { padding, weightSoftmax: softmax, bias: bias ? f32(bias, [C]) : null, device: i % 2 ? 'cuda' : 'cuda:0' };
            // Alternate the Promise and the sync entry so both reach the kernel.
            const y = i++ % 3 === 0 ? (dynamic ? ops.dynamicconvSync : ops.lightconvSync)(xt, wt, opts) : await (dynamic ? ops.dynamicconv : ops.lightconv)(xt, wt, opts);
            t.deepEqual(y.dims, [B, T, C]);
            assertClose(t, y.data, want, {
              rtol: 1e-5,
              atol: 1e-5,
              label: `${dynamic ? 'dynamicconv' : 'lightconv'} T=${T} C=${C} H=${H} K=${K} padding=${padding} softmax=${softmax}`,
            });
          }
});

gpuTest('lightconv public: CUDA limits and device ordinals are typed errors', probe, async (t) => {
  const x = f32(new Float32Array(4), [1, 1, 4]);
  // 12289 taps of one position do not fit the 48 KB of shared memory the kernel stages them in.
  const big = await t.throwsAsync(ops.lightconv(x, f32(new Float32Array(12289), [1, 12289]), { device: 'cuda' }), { instanceOf: ConvBertError });
  t.is(big?.code, 'ERR_CONVBERT_UNSUPPORTED');
  t.regex(big?.message ?? '', /heads \* kernel taps must be at most 12288, got 1 \* 12289/);
  // The same op on the CPU has no such limit.
  t.deepEqual((await ops.lightconv(x, f32(new Float32Array(12289), [1, 12289]))).dims, [1, 1, 4]);
  const many = await t.throwsAsync(ops.lightconv(f32(new Float32Array(65536), [65536, 1, 1]), f32(new Float32Array(1), [1, 1]), { device: 'cuda' }), { instanceOf: ConvBertError });
  t.is(many?.code, 'ERR_CONVBERT_UNSUPPORTED');
  t.regex(many?.message ?? '', /B must be at most 65535, got 65536/);
  const n = backendInfo().cuda.deviceCount;
  const ord = await t.throwsAsync(ops.lightconv(x, f32(new Float32Array(3), [1, 3]), { device: `cuda:${n}` }), { instanceOf: ConvBertError });
  t.is(ord?.code, 'ERR_CONVBERT_ARG');
  t.regex(ord?.message ?? '', new RegExp(`CUDA ordinal ${n} is outside \\[0, ${n}\\)`));
});
