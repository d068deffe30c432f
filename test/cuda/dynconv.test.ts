// CUDA dynconv (cuda/dynconv.cu) against the CPU dynconv (generic): with softmaxed taps
// as the CPU op takes them, and fused (logits in, softmax over the K taps in the kernel)
// against CPU softmax + dynconv; odd K (1, 3, 9, 15) and even K, L in 1, 7, 33, 129, 511,
// and varlen (each packed sequence zero-padded at its own edges = run alone).
// Tolerance: rtol 1e-5, atol 1e-6 (at most 15 fp32 products; expf vs exp in the fused softmax).
import { assertClose } from '../helpers/assert_close';
import { mulberry32, randn } from '../helpers/rng';
import { dynconv as cpuDynconv, softmax as cpuSoftmax } from '../ops/kernels';
import { cudaOps, gpuTest, SIZES } from './helpers';

const TOL = { rtol: 1e-5, atol: 1e-6 };
const probe = () => cudaOps().cudaDynconv({ v: new Float32Array(1), w: new Float32Array(1), B: 1, L: 1, H: 1, D: 1, K: 1 });

gpuTest('dynconv: plain and fused-softmax kernels match the CPU op', probe, (t) => {
  const rand = mulberry32(21);
  for (const L of SIZES) {
    for (const [H, D] of [
      [1, 1],
      [3, 7],
      [2, 33],
      [6, 64],
    ]) {
      for (const K of [1, 3, 4, 9, 15]) {
        const B = 2;
        const v = randn(rand, B * L * H * D);
        const logits = randn(rand, B * L * H * K);
        const w = cpuSoftmax(logits, B * L * H, K, 'generic').y;
        const want = cpuDynconv(v, w, B, L, H, D, K, 'generic').out;
        const label = `L=${L} H=${H} D=${D} K=${K}`;
        assertClose(t, cudaOps().cudaDynconv({ v, w, B, L, H, D, K }), want, { ...TOL, label });
        assertClose(t, cudaOps().cudaDynconv({ v, w: logits, B, L, H, D, K, softmax_taps: true }), want, { ...TOL, label: `fused ${label}` });
      }
    }
  }
});

gpuTest('dynconv: varlen rows equal each sequence run alone', probe, (t) => {
  const rand = mulberry32(22);
  const H = 4,
    D = 16,
    K = 9,
    lens = [1, 7, 33, 3];
  const seq = new Int32Array(lens.length + 1);
  lens.forEach((l, i) => (seq[i + 1] = seq[i] + l));
  const T = seq[lens.length];
  const v = randn(rand, T * H * D),
    logits = randn(rand, T * H * K);
  const packed = cudaOps().cudaDynconv({ v, w: logits, B: lens.length, L: 33, H, D, K, cu_seqlens: seq, softmax_taps: true });
  for (let b = 0; b < lens.length; b++) {
    const w = cpuSoftmax(logits.slice(seq[b] * H * K, seq[b + 1] * H * K), lens[b] * H, K, 'generic').y;
    const alone = cpuDynconv(v.slice(seq[b] * H * D, seq[b + 1] * H * D), w, 1, lens[b], H, D, K, 'generic').out;
    assertClose(t, packed.subarray(seq[b] * H * D, seq[b + 1] * H * D), alone, { ...TOL, label: `seq ${b}` });
  }
});
