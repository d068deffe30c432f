// attention.cu: the dot-product branch of ConvBertSelfAttention on the device.
// Reference: attention() in native/src/cpu/attention.cc (same AttentionArgs):
//   s = q·k / sqrt(D) + bias (bias = (1 - m) · finfo(float32).min, added in float, so
//   a fully masked row comes out uniform), p = softmax(s) · head_mult[h], out = p V.
// attention_flash_kernel: FlashAttention-style, one block per (16 queries, h, b), K/V
// tiles of 32 keys in shared memory, online softmax in registers, no L×L matrix;
// D <= 128 (32/64/128 and any odd size below, via DPL = ceil(D/32) per lane).
// attention_exact_kernel: one block per query row, the whole score row in shared
// memory; it writes the probabilities (output_attentions) and serves D > 128.
#include <cuda_runtime.h>

#include <cmath>
#include <string>

#include "common.cuh"
#include "kernels.cuh"

namespace convbert {

namespace {

constexpr int kQPW = 4;             // query rows per warp
constexpr int kWarps = 4;           // warps per block
constexpr int kBQ = kQPW * kWarps;  // 16 query rows per block
constexpr int kBKV = 32;            // keys per tile: one per lane
constexpr int kExactThreads = 128;
constexpr int64_t kMaxSmem = 48 * 1024;  // without the opt-in, on every sm_80..sm_90 part

int64_t flash_smem_bytes(int64_t D) { return (kBQ * D + kBKV * (D + 1) + kBKV * D) * 4; }

// The exact kernel's shared memory: 33 reduction floats, padded to 36 so the score row starts on a
// 16-byte boundary, then the row rounded up to whole 16-byte chunks. ptxas turns the row reads of
// the final loop into 16-byte loads that run up to 3 floats past the row's end (compute-sanitizer
// memcheck on an H200 reported exactly that with the row at float 33 and its exact size);
// aligned and rounded, every such load stays inside the allocation.
constexpr int64_t kExactRowOffset = 36;
int64_t exact_smem_bytes(int64_t L) { return (kExactRowOffset + ((L + 3) / 4) * 4) * 4; }
constexpr int64_t kExactMaxL = (kMaxSmem / 4 - kExactRowOffset) / 4 * 4;

template <int DPL>
__global__ void __launch_bounds__(kWarps * 32) attention_flash_kernel(AttentionArgs p, float sqrt_d) {
  CONVBERT_DYNAMIC_SHARED(float, sm);
  const int D = static_cast<int>(p.D);
  float* Qs = sm;                   // kBQ x D
  float* Ks = Qs + kBQ * D;         // kBKV x (D + 1): the +1 keeps lanes (one key each) on distinct banks
  float* Vs = Ks + kBKV * (D + 1);  // kBKV x D
  const int64_t b = blockIdx.z, h = blockIdx.y, q0 = static_cast<int64_t>(blockIdx.x) * kBQ;
  int64_t start, len;
  seq_bounds(p.cu_seqlens, b, p.L, &start, &len);
  if (q0 >= len) return;  // uniform across the block: no barrier is skipped by part of it
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t col = h * p.D;
  for (int i = threadIdx.x; i < kBQ * D; i += blockDim.x) {
    const int r = i / D, d = i % D;
    Qs[i] = q0 + r < len ? p.q[(start + q0 + r) * p.ld + col + d] : 0.0f;
  }
  float m[kQPW], l[kQPW], acc[kQPW][DPL];
#pragma unroll
  for (int qi = 0; qi < kQPW; ++qi) {
    m[qi] = -INFINITY;
    l[qi] = 0.0f;
#pragma unroll
    for (int t = 0; t < DPL; ++t) acc[qi][t] = 0.0f;
  }
  for (int64_t k0 = 0; k0 < len; k0 += kBKV) {
    __syncthreads();  // the previous tile is fully consumed (and Qs written, on the first pass)
    for (int i = threadIdx.x; i < kBKV * D; i += blockDim.x) {
      const int r = i / D, d = i % D;
      const bool ok = k0 + r < len;
      Ks[r * (D + 1) + d] = ok ? p.k[(start + k0 + r) * p.ld + col + d] : 0.0f;
      Vs[r * D + d] = ok ? p.v[(start + k0 + r) * p.ld + col + d] : 0.0f;
    }
    __syncthreads();
    const int64_t kj = k0 + lane;
    const bool kvalid = kj < len;
    const int nk = static_cast<int>(len - k0 < kBKV ? len - k0 : kBKV);
#pragma unroll
    for (int qi = 0; qi < kQPW; ++qi) {
      const int r = warp * kQPW + qi;
      const int64_t qrow = q0 + r;
      float s = 0.0f;
      const float* qv = Qs + r * D;
      const float* kv = Ks + lane * (D + 1);
      for (int d = 0; d < D; ++d) s = fmaf(qv[d], kv[d], s);
      s = s / sqrt_d;
      if (p.mask_bias && kvalid && qrow < len)
        s += p.mask_rank == 2 ? p.mask_bias[b * p.L + kj] : p.mask_bias[(b * p.L + qrow) * p.L + kj];
      if (!kvalid) s = -INFINITY;
      const float m_new = fmaxf(m[qi], warp_max(s));
      // Scores can be -inf (a -inf mask bias): when every score so far is, m_new is -inf and
      // expf(-inf - -inf) would be NaN. Exponentiate against 0 then: those keys get weight 0 and
      // the first finite tile rescales from there, as the CPU softmax does over the whole row.
      const float m_ref = m_new == -INFINITY ? 0.0f : m_new;
      const float pj_own = kvalid ? expf(s - m_ref) : 0.0f;
      const float corr = expf(m[qi] - m_ref);  // 0 while m = -inf
      l[qi] = l[qi] * corr + warp_sum(pj_own);
#pragma unroll
      for (int t = 0; t < DPL; ++t) acc[qi][t] *= corr;
      for (int j = 0; j < nk; ++j) {
        const float pj = __shfl_sync(0xffffffffu, pj_own, j);
#pragma unroll
        for (int t = 0; t < DPL; ++t) {
          const int d = lane + 32 * t;
          if (d < D) acc[qi][t] = fmaf(pj, Vs[j * D + d], acc[qi][t]);
        }
      }
      m[qi] = m_new;
    }
  }
  const float mult = p.head_mult ? p.head_mult[h] : 1.0f;
#pragma unroll
  for (int qi = 0; qi < kQPW; ++qi) {
    const int64_t qrow = q0 + warp * kQPW + qi;
    if (qrow >= len) continue;
    const float inv = mult / l[qi];
#pragma unroll
    for (int t = 0; t < DPL; ++t) {
      const int d = lane + 32 * t;
      if (d < D) p.out[(start + qrow) * p.ldo + col + d] = acc[qi][t] * inv;
    }
  }
}

// One block per (query i, h, b). Shared: 33 floats for reductions (padded to 36), then the score row.
__global__ void __launch_bounds__(kExactThreads) attention_exact_kernel(AttentionArgs p, float sqrt_d) {
  CONVBERT_DYNAMIC_SHARED(float, sm);
  float* red = sm;
  float* srow = sm + kExactRowOffset;
  const int64_t i = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
  int64_t start, len;
  seq_bounds(p.cu_seqlens, b, p.L, &start, &len);
  if (i >= len) return;  // uniform across the block
  const int64_t col = h * p.D;
  const float* q = p.q + (start + i) * p.ld + col;
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j < len; j += blockDim.x) {
    const float* k = p.k + (start + j) * p.ld + col;
    float s = 0.0f;
    for (int64_t d = 0; d < p.D; ++d) s = fmaf(q[d], k[d], s);
    s = s / sqrt_d;
    if (p.mask_bias) s += p.mask_rank == 2 ? p.mask_bias[b * p.L + j] : p.mask_bias[(b * p.L + i) * p.L + j];
    srow[j] = s;
    mx = fmaxf(mx, s);
  }
  mx = block_max(mx, red);
  float sum = 0.0f;
  for (int64_t j = threadIdx.x; j < len; j += blockDim.x) {
    const float e = expf(srow[j] - mx);
    srow[j] = e;
    sum += e;
  }
  sum = block_sum(sum, red);
  const float mult = p.head_mult ? p.head_mult[h] : 1.0f;
  for (int64_t j = threadIdx.x; j < len; j += blockDim.x) {
    const float pj = srow[j] / sum * mult;
    srow[j] = pj;
    if (p.probs) p.probs[((b * p.H + h) * p.L + i) * p.L + j] = pj;
  }
  __syncthreads();
  float* out = p.out + (start + i) * p.ldo + col;
  for (int64_t d = threadIdx.x; d < p.D; d += blockDim.x) {
    float acc = 0.0f;
    for (int64_t j = 0; j < len; ++j) acc = fmaf(srow[j], p.v[(start + j) * p.ld + col + d], acc);
    out[d] = acc;
  }
}

}  // namespace

Status attention_cuda_check(const AttentionArgs& a) {
  if (a.B < 0 || a.L < 0 || a.H <= 0 || a.D <= 0 || a.ld < a.H * a.D || a.ldo < a.H * a.D)
    return Status::Error(StatusCode::kInvalidArgument, "attention: bad sizes or strides");
  if (a.mask_bias && a.mask_rank != 2 && a.mask_rank != 3)
    return Status::Error(StatusCode::kInvalidArgument, "attention: mask rank must be 2 or 3");
  if (a.cu_seqlens && (a.mask_bias || a.probs))
    return Status::Error(StatusCode::kInvalidArgument, "attention: varlen takes no mask and returns no probabilities");
  if (a.B > 65535 || a.H > 65535)
    return Status::Error(StatusCode::kUnsupported, "attention_cuda: B and H must be at most 65535");
  return Status::Ok();
}

bool attention_cuda_fused(const AttentionArgs& a) { return !a.probs && a.D <= 128; }

Status attention_cuda(const AttentionArgs& a, bool exact, cudaStream_t stream) {
  CONVBERT_RETURN_IF_ERROR(attention_cuda_check(a));
  if (a.B == 0 || a.L == 0) return Status::Ok();
  if (!a.q || !a.k || !a.v || !a.out) return Status::Error(StatusCode::kInvalidArgument, "attention: null pointer");
  const float sqrt_d = static_cast<float>(std::sqrt(static_cast<double>(a.D)));
  if (!exact && attention_cuda_fused(a)) {
    const int64_t smem = flash_smem_bytes(a.D);
    const dim3 grid(static_cast<unsigned>((a.L + kBQ - 1) / kBQ), static_cast<unsigned>(a.H),
                    static_cast<unsigned>(a.B));
    if (a.D <= 32) CONVBERT_LAUNCH(attention_flash_kernel<1>, grid, kWarps * 32, smem, stream)(a, sqrt_d);
    else if (a.D <= 64) CONVBERT_LAUNCH(attention_flash_kernel<2>, grid, kWarps * 32, smem, stream)(a, sqrt_d);
    else CONVBERT_LAUNCH(attention_flash_kernel<4>, grid, kWarps * 32, smem, stream)(a, sqrt_d);
  } else {
    if (a.L > kExactMaxL)
      return Status::Error(StatusCode::kUnsupported,
                           "attention_cuda: the exact path (output_attentions, head size " + std::to_string(a.D) +
                               ") holds a score row in shared memory, "
                               "so sequences are limited to " +
                               std::to_string(kExactMaxL) + " tokens; got " + std::to_string(a.L));
    const int64_t smem = exact_smem_bytes(a.L);
    const dim3 grid(static_cast<unsigned>(a.L), static_cast<unsigned>(a.H), static_cast<unsigned>(a.B));
    CONVBERT_LAUNCH(attention_exact_kernel, grid, kExactThreads, smem, stream)(a, sqrt_d);
  }
  CUDA_TRY(cudaGetLastError());
  return Status::Ok();
}

Status attention_cuda_host(const AttentionArgs& h, bool exact, int device, std::string* path_out) {
  CONVBERT_RETURN_IF_ERROR(cuda_begin(device));
  CONVBERT_RETURN_IF_ERROR(attention_cuda_check(h));
  if (path_out) *path_out = !exact && attention_cuda_fused(h) ? "flash" : "exact";
  if (h.B == 0 || h.L == 0) return Status::Ok();
  if (!h.q || !h.k || !h.v || !h.out) return Status::Error(StatusCode::kInvalidArgument, "attention: null pointer");
  const int64_t T = h.cu_seqlens ? h.cu_seqlens[h.B] : h.B * h.L;
  CONVBERT_RETURN_IF_ERROR(check_cu_seqlens(h.cu_seqlens, h.B, h.L, "attention"));
  const int64_t nqkv = T * h.ld, nout = T * h.ldo;
  DeviceBuffer dq, dk, dv, dm, dh, dout, dp, ds;
  AttentionArgs a = h;
  CONVBERT_RETURN_IF_ERROR(to_device(&dq, h.q, nqkv));
  CONVBERT_RETURN_IF_ERROR(to_device(&dk, h.k, nqkv));
  CONVBERT_RETURN_IF_ERROR(to_device(&dv, h.v, nqkv));
  CONVBERT_RETURN_IF_ERROR(to_device(&dout, h.out, nout));
  a.q = dq.as<float>();
  a.k = dk.as<float>();
  a.v = dv.as<float>();
  a.out = dout.as<float>();
  a.scratch = nullptr;
  if (h.mask_bias) {
    CONVBERT_RETURN_IF_ERROR(to_device(&dm, h.mask_bias, h.mask_rank == 2 ? h.B * h.L : h.B * h.L * h.L));
    a.mask_bias = dm.as<float>();
  }
  if (h.head_mult) {
    CONVBERT_RETURN_IF_ERROR(to_device(&dh, h.head_mult, h.H));
    a.head_mult = dh.as<float>();
  }
  const int64_t np = h.B * h.H * h.L * h.L;
  if (h.probs) {
    CONVBERT_RETURN_IF_ERROR(to_device(&dp, h.probs, np));
    a.probs = dp.as<float>();
  }
  if (h.cu_seqlens) {
    CONVBERT_RETURN_IF_ERROR(to_device(&ds, h.cu_seqlens, h.B + 1));
    a.cu_seqlens = ds.as<int32_t>();
  }
  CONVBERT_RETURN_IF_ERROR(run_timed([&] { return attention_cuda(a, exact, 0); }));
  CUDA_TRY(cudaDeviceSynchronize());
  CONVBERT_RETURN_IF_ERROR(to_host(h.out, dout, nout));
  if (h.probs) CONVBERT_RETURN_IF_ERROR(to_host(h.probs, dp, np));
  return Status::Ok();
}

}  // namespace convbert
