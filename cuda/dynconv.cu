// dynconv.cu: ConvBERT's span-based dynamic convolution, fused. Reference:
// dynconv() + dynconv_row_ref (native/src/cpu/dynconv.cc), after softmax_row_ref
// over the taps when softmax_taps is set:
//   w' = softmax_K(w[b,l,h,:]) (the conv_kernel_layer output),
//   out[b,l,h,d] = Σ_j w'[j] · v[b, l + j - (K-1)/2, h*D + d], zeros outside the sequence.
// One block per (l, b): the H*K taps are normalised once in shared memory, then
// threads sweep the H*D output columns (coalesced reads of v). Any K, any D; varlen
// sequences are zero-padded at their own edges.
#include <cuda_runtime.h>

#include <string>

#include "common.cuh"
#include "kernels.cuh"

namespace convbert {

namespace {

constexpr int kThreads = 256;

__global__ void __launch_bounds__(kThreads) dynconv_kernel(DynConvArgs p, bool softmax_taps) {
  CONVBERT_DYNAMIC_SHARED(float, ws);  // H * K taps
  const int64_t l = blockIdx.x, b = blockIdx.y;
  int64_t start, len;
  seq_bounds(p.cu_seqlens, b, p.L, &start, &len);
  if (l >= len) return;  // uniform across the block
  const int64_t t = start + l, HK = p.H * p.K;
  for (int64_t i = threadIdx.x; i < HK; i += blockDim.x) ws[i] = p.w[t * HK + i];
  __syncthreads();
  if (softmax_taps) {
    for (int64_t hh = threadIdx.x; hh < p.H; hh += blockDim.x) {
      float* w = ws + hh * p.K;
      float mx = -INFINITY;
      for (int64_t j = 0; j < p.K; ++j) mx = fmaxf(mx, w[j]);
      float sum = 0.0f;
      for (int64_t j = 0; j < p.K; ++j) {
        w[j] = expf(w[j] - mx);
        sum += w[j];
      }
      const float inv = 1.0f / sum;
      for (int64_t j = 0; j < p.K; ++j) w[j] *= inv;
    }
    __syncthreads();
  }
  const int64_t pad = (p.K - 1) / 2, C = p.H * p.D;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
    const float* w = ws + (c / p.D) * p.K;
    float acc = 0.0f;
    for (int64_t j = 0; j < p.K; ++j) {
      const int64_t src = l + j - pad;
      if (src >= 0 && src < len) acc = fmaf(w[j], p.v[(start + src) * p.ldv + c], acc);
    }
    p.out[t * p.ldo + c] = acc;
  }
}

Status dynconv_check(const DynConvArgs& a) {
  if (a.B < 0 || a.L < 0 || a.H <= 0 || a.D <= 0 || a.K <= 0 || a.ldv < a.H * a.D || a.ldo < a.H * a.D)
    return Status::Error(StatusCode::kInvalidArgument, "dynconv: bad sizes or strides");
  if (a.B > 65535) return Status::Error(StatusCode::kUnsupported, "dynconv_cuda: B must be at most 65535");
  if (a.H * a.K * 4 > 48 * 1024)
    return Status::Error(StatusCode::kUnsupported, "dynconv_cuda: heads * kernel taps must be at most 12288");
  return Status::Ok();
}

}  // namespace

Status dynconv_cuda(const DynConvArgs& a, bool softmax_taps, cudaStream_t stream) {
  CONVBERT_RETURN_IF_ERROR(dynconv_check(a));
  if (a.B == 0 || a.L == 0) return Status::Ok();
  if (!a.v || !a.w || !a.out) return Status::Error(StatusCode::kInvalidArgument, "dynconv: null pointer");
  // Block l reads rows l - pad .. l + pad of v that other blocks write when out overlaps v.
  if (a.out == a.v)
    return Status::Error(StatusCode::kInvalidArgument, "dynconv: out must not alias v (blocks read neighbouring rows)");
  const dim3 grid(static_cast<unsigned>(a.L), static_cast<unsigned>(a.B));
  CONVBERT_LAUNCH(dynconv_kernel, grid, kThreads, a.H * a.K * 4, stream)(a, softmax_taps);
  CUDA_TRY(cudaGetLastError());
  return Status::Ok();
}

Status dynconv_cuda_host(const DynConvArgs& h, bool softmax_taps, int device) {
  CONVBERT_RETURN_IF_ERROR(cuda_begin(device));
  CONVBERT_RETURN_IF_ERROR(dynconv_check(h));
  // A length above L would leave rows of out unwritten (the grid has L blocks per sequence).
  CONVBERT_RETURN_IF_ERROR(check_cu_seqlens(h.cu_seqlens, h.B, h.L, "dynconv"));
  const int64_t T = h.cu_seqlens ? (h.B > 0 ? h.cu_seqlens[h.B] : 0) : h.B * h.L;
  if (T == 0) return Status::Ok();
  if (!h.v || !h.w || !h.out) return Status::Error(StatusCode::kInvalidArgument, "dynconv: null pointer");
  DeviceBuffer dv, dw, dout, ds;
  DynConvArgs a = h;
  CONVBERT_RETURN_IF_ERROR(to_device(&dv, h.v, T * h.ldv));
  CONVBERT_RETURN_IF_ERROR(to_device(&dw, h.w, T * h.H * h.K));
  CONVBERT_RETURN_IF_ERROR(to_device(&dout, h.out, T * h.ldo));
  a.v = dv.as<float>();
  a.w = dw.as<float>();
  a.out = dout.as<float>();
  if (h.cu_seqlens) {
    CONVBERT_RETURN_IF_ERROR(to_device(&ds, h.cu_seqlens, h.B + 1));
    a.cu_seqlens = ds.as<int32_t>();
  }
  CONVBERT_RETURN_IF_ERROR(run_timed([&] { return dynconv_cuda(a, softmax_taps, 0); }));
  CUDA_TRY(cudaDeviceSynchronize());
  return to_host(h.out, dout, T * h.ldo);
}

}  // namespace convbert
