// sepconv.cu: the depthwise half of ConvBERT's SeparableConv1D (key conv), no bias:
//   y[b,l,c] = Σ_t x[b, l + t - K/2, c] · wt[t, c], zeros outside the sequence.
// Reference: sepconv() + sepconv_row_ref (native/src/cpu/sepconv.cc). The pointwise
// 1x1 conv and its bias are a gemm (gemm.cu). One block per (l, b), threads over C.
#include <cuda_runtime.h>

#include "common.cuh"
#include "kernels.cuh"

namespace convbert {

namespace {

constexpr int kThreads = 256;

__global__ void __launch_bounds__(kThreads) sepconv_kernel(SepConvArgs p) {
  const int64_t l = blockIdx.x, b = blockIdx.y;
  int64_t start, len;
  seq_bounds(p.cu_seqlens, b, p.L, &start, &len);
  if (l >= len) return;
  const int64_t pad = p.K / 2;
  for (int64_t c = threadIdx.x; c < p.C; c += blockDim.x) {
    float acc = 0.0f;
    for (int64_t t = 0; t < p.K; ++t) {
      const int64_t src = l + t - pad;
      if (src >= 0 && src < len) acc = fmaf(p.x[(start + src) * p.C + c], p.wt[t * p.C + c], acc);
    }
    p.y[(start + l) * p.C + c] = acc;
  }
}

Status sepconv_check(const SepConvArgs& a) {
  if (a.B < 0 || a.L < 0 || a.C <= 0 || a.K <= 0)
    return Status::Error(StatusCode::kInvalidArgument, "sepconv: bad sizes");
  if (a.B > 65535) return Status::Error(StatusCode::kUnsupported, "sepconv_cuda: B must be at most 65535");
  return Status::Ok();
}

}  // namespace

Status sepconv_cuda(const SepConvArgs& a, cudaStream_t stream) {
  CONVBERT_RETURN_IF_ERROR(sepconv_check(a));
  if (a.B == 0 || a.L == 0) return Status::Ok();
  if (!a.x || !a.y || !a.wt) return Status::Error(StatusCode::kInvalidArgument, "sepconv: null pointer");
  // Block (l, b) reads rows l - K/2 .. l + K/2 of x that other blocks write when y is x.
  if (a.x == a.y)
    return Status::Error(StatusCode::kInvalidArgument, "sepconv: y must not alias x (blocks read neighbouring rows)");
  const dim3 grid(static_cast<unsigned>(a.L), static_cast<unsigned>(a.B));
  CONVBERT_LAUNCH(sepconv_kernel, grid, kThreads, 0, stream)(a);
  CUDA_TRY(cudaGetLastError());
  return Status::Ok();
}

Status sepconv_cuda_host(const SepConvArgs& h, int device) {
  CONVBERT_RETURN_IF_ERROR(cuda_begin(device));
  CONVBERT_RETURN_IF_ERROR(sepconv_check(h));
  // A length above L would leave rows of y unwritten (the grid has L blocks per sequence).
  CONVBERT_RETURN_IF_ERROR(check_cu_seqlens(h.cu_seqlens, h.B, h.L, "sepconv"));
  const int64_t T = h.cu_seqlens ? (h.B > 0 ? h.cu_seqlens[h.B] : 0) : h.B * h.L;
  if (T == 0) return Status::Ok();
  if (!h.x || !h.y || !h.wt) return Status::Error(StatusCode::kInvalidArgument, "sepconv: null pointer");
  DeviceBuffer dx, dy, dw, ds;
  SepConvArgs a = h;
  CONVBERT_RETURN_IF_ERROR(to_device(&dx, h.x, T * h.C));
  CONVBERT_RETURN_IF_ERROR(to_device(&dw, h.wt, h.K * h.C));
  CONVBERT_RETURN_IF_ERROR(to_device<float>(&dy, nullptr, T * h.C));
  a.x = dx.as<float>();
  a.y = dy.as<float>();
  a.wt = dw.as<float>();
  if (h.cu_seqlens) {
    CONVBERT_RETURN_IF_ERROR(to_device(&ds, h.cu_seqlens, h.B + 1));
    a.cu_seqlens = ds.as<int32_t>();
  }
  CONVBERT_RETURN_IF_ERROR(run_timed([&] { return sepconv_cuda(a, 0); }));
  CUDA_TRY(cudaDeviceSynchronize());
  return to_host(h.y, dy, T * h.C);
}

}  // namespace convbert
