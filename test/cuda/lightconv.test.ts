// CUDA lightconv (cuda/lightconv.cu) against lightconv_ref (the CPU reference, itself
// tested against fp64 in test/ops/lightconv.test.ts): lightweight and dynamic weights,
// softmax on/off, both head layouts, K in 1, 3, 4, 9, 31 with left/centred/right padding,
// T in 1, 7, 33, 129, 511. Tolerance: rtol 1e-5, atol 1e-5 (fp32 sums of up to 31 products
// vs double accumulation).
import { assertClose } from '../helpers/assert_close';
import { randomLightconvCase } from '../helpers/lightconv_ref64';
import { mulberry32 } from '../helpers/rng';
import { cudaOps, gpuTest, SIZES } from './helpers';

const probe = () => cudaOps().opLightconv({ x: new Float32Array(1), w: new Float32Array(1), B: 1, T: 1, C: 1, H: 1, K: 1, padding_l: 0 }, 'cuda');

gpuTest('lightconv: CUDA matches the CPU reference', probe, (t) => {
  const rand = mulberry32(61);
  for (const T of SIZES)
    for (const [C, H] of [
      [8, 2],
      [33, 3],
      [64, 16],
    ])
      for (const K of [1, 3, 4, 9, 31])
        for (const padding_l of [0, Math.floor((K - 1) / 2), K - 1])
          for (const per_position of [false, true]) {
            const B = 2;
            const o = randomLightconvCase(rand, { B, T, C, H, K, padding_l, per_position, interleaved_heads: C === 33 });
            const want = cudaOps().opLightconv(o, 'generic');
            assertClose(t, cudaOps().opLightconv(o, 'cuda'), want, { rtol: 1e-5, atol: 1e-5, label: `T=${T} C=${C} K=${K} pad=${padding_l} dyn=${per_position}` });
          }
});
