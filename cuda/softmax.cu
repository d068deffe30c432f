// softmax.cu: in-place softmax over each row of n floats (x: (rows, n)).
// Reference: softmax() + softmax_row_ref (native/src/cpu/softmax.cc). One warp
// per row (max, sum of exp, scale), 8 rows per block; any n.
#include <cuda_runtime.h>

#include "common.cuh"
#include "kernels.cuh"

namespace convbert {

namespace {

constexpr int kWarps = 8;

__global__ void __launch_bounds__(kWarps * 32) softmax_kernel(SoftmaxArgs p) {
  const int lane = threadIdx.x & 31;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + (threadIdx.x >> 5);
  if (row >= p.rows) return;  // a whole warp leaves together
  float* x = p.x + row * p.n;
  float mx = -INFINITY;
  for (int64_t i = lane; i < p.n; i += 32) mx = fmaxf(mx, x[i]);
  mx = warp_max(mx);
  float sum = 0.0f;
  for (int64_t i = lane; i < p.n; i += 32) {
    const float e = expf(x[i] - mx);
    x[i] = e;
    sum += e;
  }
  sum = warp_sum(sum);
  const float inv = 1.0f / sum;
  for (int64_t i = lane; i < p.n; i += 32) x[i] *= inv;
}

}  // namespace

Status softmax_cuda(const SoftmaxArgs& a, cudaStream_t stream) {
  if (a.rows < 0 || a.n <= 0) return Status::Error(StatusCode::kInvalidArgument, "softmax: bad sizes");
  if (a.rows == 0) return Status::Ok();
  if (!a.x) return Status::Error(StatusCode::kInvalidArgument, "softmax: null pointer");
  const int64_t blocks = (a.rows + kWarps - 1) / kWarps;
  if (blocks > 2147483647) return Status::Error(StatusCode::kUnsupported, "softmax_cuda: too many rows");
  CONVBERT_LAUNCH(softmax_kernel, static_cast<unsigned>(blocks), kWarps * 32, 0, stream)(a);
  CUDA_TRY(cudaGetLastError());
  return Status::Ok();
}

Status softmax_cuda_host(const SoftmaxArgs& h, int device) {
  CONVBERT_RETURN_IF_ERROR(cuda_begin(device));
  if (h.rows < 0 || h.n <= 0) return Status::Error(StatusCode::kInvalidArgument, "softmax: bad sizes");
  if (h.rows == 0) return Status::Ok();
  if (!h.x) return Status::Error(StatusCode::kInvalidArgument, "softmax: null pointer");
  DeviceBuffer dx;
  SoftmaxArgs a = h;
  CONVBERT_RETURN_IF_ERROR(to_device(&dx, h.x, h.rows * h.n));
  a.x = dx.as<float>();
  CONVBERT_RETURN_IF_ERROR(run_timed([&] { return softmax_cuda(a, 0); }));
  CUDA_TRY(cudaDeviceSynchronize());
  return to_host(h.x, dx, h.rows * h.n);
}

}  // namespace convbert
