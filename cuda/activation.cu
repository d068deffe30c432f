// activation.cu: elementwise activations of HF's ACT2FN with an optional
// per-column bias, on the device. Reference: activation_row_ref
// (native/src/cpu/activation.cc). Device math is float with the CUDA
// library's erff/tanhf/expf (a few ulp), so tests compare at float tolerance.
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "act.cuh"
#include "common.cuh"
#include "convbert/cuda_backend.h"
#include "convbert/ops.h"
#include "kernels.cuh"

namespace convbert {

// One thread per element; grid-stride so any n fits the launch limits. x and y may be the
// same array (the multiple-choice head's summary activation runs in place), so no __restrict__.
__global__ void activation_kernel(const float* x, float* y, const float* bias, int64_t n, int64_t C, int act) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float v = x[i] + (bias ? bias[i % C] : 0.0f);
    y[i] = act_device(v, act);
  }
}

// Launcher on device pointers, on `stream`.
Status activation_cuda(const float* x, float* y, const float* bias, int64_t n, int64_t C, Activation act,
                       cudaStream_t stream) {
  if (n < 0 || C <= 0 || (n > 0 && n % C != 0))
    return Status::Error(
        StatusCode::kInvalidArgument,
        "activation_cuda: n = " + std::to_string(n) + " must be a non-negative multiple of C = " + std::to_string(C));
  // act_device maps an unknown code to the identity; the CPU op refuses it, so refuse it here too.
  if (static_cast<int32_t>(act) < 0 || static_cast<int32_t>(act) >= static_cast<int32_t>(Activation::kCount))
    return Status::Error(StatusCode::kInvalidArgument,
                         "activation: code " + std::to_string(static_cast<int32_t>(act)) +
                             " is not an activation (expected 0.." +
                             std::to_string(static_cast<int32_t>(Activation::kCount) - 1) + ")");
  if (n == 0) return Status::Ok();
  if (!x || !y) return Status::Error(StatusCode::kInvalidArgument, "activation_cuda: null pointer");
  const int threads = 256;
  const int64_t want = (n + threads - 1) / threads;
  const int blocks = static_cast<int>(want < 65535 ? want : 65535);
  CONVBERT_LAUNCH(activation_kernel, blocks, threads, 0, stream)(x, y, bias, n, C, static_cast<int>(act));
  CUDA_TRY(cudaGetLastError());
  return Status::Ok();
}

Status activation_cuda_host(const ActivationArgs& a, int device) {
  CONVBERT_RETURN_IF_ERROR(cuda_begin(device));  // availability and the device ordinal, as every entry point
  if (a.rows < 0 || a.C <= 0 || !a.x || !a.y)
    return Status::Error(StatusCode::kInvalidArgument, "activation: bad arguments");
  if (a.rows > INT64_MAX / a.C)
    return Status::Error(StatusCode::kInvalidArgument, "activation: rows * C overflows (rows " +
                                                           std::to_string(a.rows) + ", C " + std::to_string(a.C) + ")");
  const int64_t n = a.rows * a.C;
  DeviceBuffer dx, dy, db;
  CONVBERT_RETURN_IF_ERROR(dx.alloc(n * sizeof(float)));
  CONVBERT_RETURN_IF_ERROR(dy.alloc(n * sizeof(float)));
  CUDA_TRY(cudaMemcpy(dx.as<float>(), a.x, n * sizeof(float), cudaMemcpyHostToDevice));
  if (a.bias) {
    CONVBERT_RETURN_IF_ERROR(db.alloc(a.C * sizeof(float)));
    CUDA_TRY(cudaMemcpy(db.as<float>(), a.bias, a.C * sizeof(float), cudaMemcpyHostToDevice));
  }
  CONVBERT_RETURN_IF_ERROR(
      activation_cuda(dx.as<float>(), dy.as<float>(), a.bias ? db.as<float>() : nullptr, n, a.C, a.act, 0));
  CUDA_TRY(cudaMemcpy(a.y, dy.as<float>(), n * sizeof(float), cudaMemcpyDeviceToHost));
  return Status::Ok();
}

}  // namespace convbert
