// layernorm.cu: y = LayerNorm(x + r) · gamma + beta over C (biased variance, eps
// inside the sqrt, as torch.nn.LayerNorm); r (residual) optional; y may alias x or r.
// Reference: layernorm() + layernorm_row_ref (native/src/cpu/layernorm.cc).
// One block per row; two passes (mean, then centred variance) for accuracy.
#include <cuda_runtime.h>

#include "common.cuh"
#include "kernels.cuh"

namespace convbert {

namespace {

constexpr int kThreads = 256;

__global__ void __launch_bounds__(kThreads) layernorm_kernel(LayerNormArgs p) {
  CONVBERT_SHARED(float, red, [33]);
  const int64_t row = blockIdx.x;
  const float* x = p.x + row * p.C;
  const float* r = p.r ? p.r + row * p.C : nullptr;
  float* y = p.y + row * p.C;
  float s = 0.0f;
  for (int64_t c = threadIdx.x; c < p.C; c += blockDim.x) s += x[c] + (r ? r[c] : 0.0f);
  const float mean = block_sum(s, red) / static_cast<float>(p.C);
  float v = 0.0f;
  for (int64_t c = threadIdx.x; c < p.C; c += blockDim.x) {
    const float d = x[c] + (r ? r[c] : 0.0f) - mean;
    v = fmaf(d, d, v);
  }
  const float var = block_sum(v, red) / static_cast<float>(p.C);
  const float inv = 1.0f / sqrtf(var + p.eps);
  // Each element is read and written by the same thread, after both reductions: aliasing is safe.
  for (int64_t c = threadIdx.x; c < p.C; c += blockDim.x) {
    const float d = x[c] + (r ? r[c] : 0.0f) - mean;
    y[c] = d * inv * p.gamma[c] + p.beta[c];
  }
}

}  // namespace

Status layernorm_cuda(const LayerNormArgs& a, cudaStream_t stream) {
  if (a.rows < 0 || a.C <= 0) return Status::Error(StatusCode::kInvalidArgument, "layernorm: bad sizes");
  if (a.rows == 0) return Status::Ok();
  if (!a.x || !a.y || !a.gamma || !a.beta)
    return Status::Error(StatusCode::kInvalidArgument, "layernorm: null pointer");
  if (a.rows > 2147483647) return Status::Error(StatusCode::kUnsupported, "layernorm_cuda: too many rows");
  CONVBERT_LAUNCH(layernorm_kernel, static_cast<unsigned>(a.rows), kThreads, 0, stream)(a);
  CUDA_TRY(cudaGetLastError());
  return Status::Ok();
}

Status layernorm_cuda_host(const LayerNormArgs& h, int device) {
  CONVBERT_RETURN_IF_ERROR(cuda_begin(device));
  if (h.rows < 0 || h.C <= 0) return Status::Error(StatusCode::kInvalidArgument, "layernorm: bad sizes");
  if (h.rows == 0) return Status::Ok();
  if (!h.x || !h.y || !h.gamma || !h.beta)
    return Status::Error(StatusCode::kInvalidArgument, "layernorm: null pointer");
  const int64_t n = h.rows * h.C;
  DeviceBuffer dx, dr, dy, dg, db;
  LayerNormArgs a = h;
  CONVBERT_RETURN_IF_ERROR(to_device(&dx, h.x, n));
  CONVBERT_RETURN_IF_ERROR(to_device<float>(&dy, nullptr, n));
  CONVBERT_RETURN_IF_ERROR(to_device(&dg, h.gamma, h.C));
  CONVBERT_RETURN_IF_ERROR(to_device(&db, h.beta, h.C));
  a.x = dx.as<float>();
  a.y = dy.as<float>();
  a.gamma = dg.as<float>();
  a.beta = db.as<float>();
  if (h.r) {
    CONVBERT_RETURN_IF_ERROR(to_device(&dr, h.r, n));
    a.r = dr.as<float>();
  }
  CONVBERT_RETURN_IF_ERROR(run_timed([&] { return layernorm_cuda(a, 0); }));
  CUDA_TRY(cudaDeviceSynchronize());
  return to_host(h.y, dy, n);
}

}  // namespace convbert
