// lightconv.cu: lightweight / dynamic convolution (Wu et al. 2019; fairseq's
// lightconv and dynamicconv semantics, any K and padding_l), batch-major (B, T, C).
// Reference: lightconv_ref (native/src/cpu/lightconv.cc). One block per (t, b):
// the H*K taps of that position (shared ones for lightweight, per-position ones for
// dynamic) are softmax-normalised in shared memory, then threads sweep the C channels
// (coalesced). Edges read zeros.
#include <cuda_runtime.h>

#include <string>

#include "common.cuh"
#include "kernels.cuh"

namespace convbert {

namespace {

constexpr int kThreads = 256;

__global__ void __launch_bounds__(kThreads) lightconv_kernel(LightConvArgs p) {
  CONVBERT_DYNAMIC_SHARED(float, ws);  // H * K
  const int64_t t = blockIdx.x, b = blockIdx.y, HK = p.H * p.K;
  const float* src = p.per_position ? p.w + (b * p.T + t) * HK : p.w;
  for (int64_t i = threadIdx.x; i < HK; i += blockDim.x) ws[i] = src[i];
  __syncthreads();
  if (p.softmax) {
    for (int64_t h = threadIdx.x; h < p.H; h += blockDim.x) {
      float* w = ws + h * p.K;
      float mx = -INFINITY;
      for (int64_t k = 0; k < p.K; ++k) mx = fmaxf(mx, w[k]);
      float sum = 0.0f;
      for (int64_t k = 0; k < p.K; ++k) {
        w[k] = expf(w[k] - mx);
        sum += w[k];
      }
      const float inv = 1.0f / sum;
      for (int64_t k = 0; k < p.K; ++k) w[k] *= inv;
    }
    __syncthreads();
  }
  const int64_t R = p.C / p.H;
  const float* x = p.x + b * p.T * p.C;
  for (int64_t c = threadIdx.x; c < p.C; c += blockDim.x) {
    const float* w = ws + (p.interleaved_heads ? c % p.H : c / R) * p.K;
    float acc = p.bias ? p.bias[c] : 0.0f;
    for (int64_t k = 0; k < p.K; ++k) {
      const int64_t s = t + k - p.padding_l;
      if (s >= 0 && s < p.T) acc = fmaf(w[k], x[s * p.C + c], acc);
    }
    p.y[(b * p.T + t) * p.C + c] = acc;
  }
}

}  // namespace

Status lightconv_cuda(const LightConvArgs& a, cudaStream_t stream) {
  CONVBERT_RETURN_IF_ERROR(lightconv_check(a));
  if (a.B == 0 || a.T == 0) return Status::Ok();
  // The grid is (T, B): gridDim.y is at most 65535, gridDim.x at most 2^31 - 1.
  if (a.B > 65535)
    return Status::Error(StatusCode::kUnsupported,
                         "lightconv_cuda: B must be at most 65535, got " + std::to_string(a.B));
  if (a.T > 2147483647)
    return Status::Error(StatusCode::kUnsupported,
                         "lightconv_cuda: T must be at most 2^31 - 1, got " + std::to_string(a.T));
  // The taps of one position sit in dynamic shared memory, within the 48 KB default.
  if (a.H * a.K > 12288)
    return Status::Error(StatusCode::kUnsupported, "lightconv_cuda: heads * kernel taps must be at most 12288, got " +
                                                       std::to_string(a.H) + " * " + std::to_string(a.K));
  const dim3 grid(static_cast<unsigned>(a.T), static_cast<unsigned>(a.B));
  CONVBERT_LAUNCH(lightconv_kernel, grid, kThreads, a.H * a.K * 4, stream)(a);
  CUDA_TRY(cudaGetLastError());
  return Status::Ok();
}

Status lightconv_cuda_host(const LightConvArgs& h, int device) {
  CONVBERT_RETURN_IF_ERROR(cuda_begin(device));
  CONVBERT_RETURN_IF_ERROR(lightconv_check(h));
  const int64_t n = h.B * h.T * h.C;
  if (n == 0) return Status::Ok();
  DeviceBuffer dx, dy, dw, db;
  LightConvArgs a = h;
  CONVBERT_RETURN_IF_ERROR(to_device(&dx, h.x, n));
  CONVBERT_RETURN_IF_ERROR(to_device<float>(&dy, nullptr, n));
  CONVBERT_RETURN_IF_ERROR(to_device(&dw, h.w, h.per_position ? h.B * h.T * h.H * h.K : h.H * h.K));
  a.x = dx.as<float>();
  a.y = dy.as<float>();
  a.w = dw.as<float>();
  if (h.bias) {
    CONVBERT_RETURN_IF_ERROR(to_device(&db, h.bias, h.C));
    a.bias = db.as<float>();
  }
  CONVBERT_RETURN_IF_ERROR(run_timed([&] { return lightconv_cuda(a, 0); }));
  CUDA_TRY(cudaDeviceSynchronize());
  return to_host(h.y, dy, n);
}

}  // namespace convbert
