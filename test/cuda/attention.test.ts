// CUDA attention (cuda/attention.cu): the fused flash kernel and the exact path against
// the CPU attention (generic), for head sizes 32/64/128 and odd ones (1, 7, 33, 129 —
// 129 takes the exact path), L in 1, 7, 33, 129, 511, rank-2 and rank-3 finfo.min masks
// with fully masked rows (uniform, as in torch), head_mask, probabilities, and varlen
// (each packed sequence equals it run alone). Tolerance: rtol 1e-4, atol 1e-5 (fp32
// dot products over D and sums over L in a different order, expf vs the CPU's exp).
import { assertClose } from '../helpers/assert_close';
import { mulberry32, randn } from '../helpers/rng';
import { attention as cpuAttention, F32_MIN } from '../ops/kernels';
import { cudaOps, gpuTest, SIZES } from './helpers';

const TOL = { rtol: 1e-4, atol: 1e-5 };
const probe = () => cudaOps().cudaAttention({ q: new Float32Array(1), k: new Float32Array(1), v: new Float32Array(1), B: 1, L: 1, H: 1, D: 1 });

function maskBias(rand: () => number, n: number, fullyMaskedRow: number, L: number): Float32Array {
  const m = new Float32Array(n);
  for (let i = 0; i < n; i++) m[i] = rand() < 0.3 ? F32_MIN : 0;
  if (fullyMaskedRow >= 0) for (let j = 0; j < L; j++) m[fullyMaskedRow * L + j] = F32_MIN;
  return m;
}

gpuTest('attention: flash and exact paths match the CPU attention', probe, (t) => {
  const rand = mulberry32(11);
  for (const L of SIZES) {
    for (const D of [1, 7, 32, 33, 64, 128, 129]) {
      if (L === 511 && D !== 64 && D !== 129) continue; // keep the run short: the big L once per path
      const B = 2,
        H = 2;
      const n = B * L * H * D;
      const q = randn(rand, n),
        k = randn(rand, n),
        v = randn(rand, n);
      for (const rank of [0, 2, 3]) {
        const mb = rank === 0 ? null : maskBias(rand, rank === 2 ? B * L : B * L * L, rank === 3 ? 0 : -1, L);
        const headMult = rank === 3 ? randn(rand, H) : null;
        const want = cpuAttention({ q, k, v, maskBias: mb, maskRank: rank, headMult, B, L, H, D }, true, 'generic');
        const base = { q, k, v, B, L, H, D, mask_bias: mb, mask_rank: rank, head_mult: headMult };
        const fused = cudaOps().cudaAttention(base);
        t.is(fused.path, D <= 128 ? 'flash' : 'exact', `path for D=${D}`);
        assertClose(t, fused.out, want.out, { ...TOL, label: `flash L=${L} D=${D} rank=${rank}` });
        const exact = cudaOps().cudaAttention({ ...base, probs: true });
        t.is(exact.path, 'exact');
        assertClose(t, exact.out, want.out, { ...TOL, label: `exact L=${L} D=${D} rank=${rank}` });
        assertClose(t, exact.probs!, want.probs!, { ...TOL, label: `probs L=${L} D=${D} rank=${rank}` });
      }
    }
  }
});

gpuTest('attention: varlen rows equal each sequence run alone', probe, (t) => {
  const rand = mulberry32(12);
  const H = 3;
  for (const D of [32, 64, 128, 7]) {
    const lens = [1, 7, 33, 129];
    const seq = new Int32Array(lens.length + 1);
    lens.forEach((l, i) => (seq[i + 1] = seq[i] + l));
    const T = seq[lens.length],
      C = H * D;
    const q = randn(rand, T * C),
      k = randn(rand, T * C),
      v = randn(rand, T * C);
    const packed = cudaOps().cudaAttention({ q, k, v, B: lens.length, L: Math.max(...lens), H, D, cu_seqlens: seq });
    for (let b = 0; b < lens.length; b++) {
      const s = seq[b] * C,
        e = seq[b + 1] * C;
      const alone = cpuAttention({ q: q.slice(s, e), k: k.slice(s, e), v: v.slice(s, e), maskBias: null, maskRank: 0, headMult: null, B: 1, L: lens[b], H, D }, false, 'generic');
      assertClose(t, packed.out.subarray(s, e), alone.out, { ...TOL, label: `varlen D=${D} seq ${b}` });
    }
  }
});

// Regression: a query whose scores over one whole 32-key tile are -inf (a -inf mask bias on
// keys 0..31) made the flash kernel's running max -inf and every later weight
// expf(-inf - -inf) = NaN; the CPU op and the exact kernel give the softmax over the finite keys.
gpuTest('attention: a tile of -inf scores stays finite in the flash kernel', probe, (t) => {
  const rand = mulberry32(13);
  const B = 1,
    L = 70,
    H = 2,
    D = 32;
  const n = B * L * H * D;
  const q = randn(rand, n),
    k = randn(rand, n),
    v = randn(rand, n);
  const mb = new Float32Array(B * L * L);
  for (let j = 0; j < 32; j++) mb[0 * L + j] = -Infinity; // query 0: first tile all -inf
  for (let j = 32; j < 64; j++) mb[5 * L + j] = -Infinity; // query 5: a middle tile all -inf
  const want = cpuAttention({ q, k, v, maskBias: mb, maskRank: 3, headMult: null, B, L, H, D }, false, 'generic');
  const got = cudaOps().cudaAttention({ q, k, v, B, L, H, D, mask_bias: mb, mask_rank: 3 });
  t.is(got.path, 'flash');
  t.true(got.out.every(Number.isFinite), 'flash output has NaN or inf');
  assertClose(t, got.out, want.out, { ...TOL, label: 'flash, -inf tiles' });
});

// The exact path keeps a query's score row in shared memory: 36 floats of reductions (33 padded
// so the row is 16-byte aligned), then the row rounded up to whole 16-byte chunks, within the
// 48 KiB every sm_80..sm_90 part gives without the opt-in. ptxas reads that row with 16-byte
// loads that reach up to 3 floats past its end, which compute-sanitizer reported on an H200 while
// the row started at float 33 and was sized exactly (docs/gpu.md). Past the limit: a typed refusal.
gpuTest('attention: the exact path refuses a row past its shared memory, naming the limit', probe, (t) => {
  const L = 12253,
    n = L; // B = H = D = 1
  const q = new Float32Array(n),
    k = new Float32Array(n),
    v = new Float32Array(n);
  const err = t.throws(() => cudaOps().cudaAttention({ q, k, v, B: 1, L, H: 1, D: 1, probs: true }));
  t.is((err as { code?: string }).code, 'ERR_CONVBERT_UNSUPPORTED');
  t.regex(err!.message, /limited to 12252 tokens; got 12253/);
});
