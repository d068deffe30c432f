// common.cuh: shared helpers of the CUDA backend. CUDA_TRY turns a
// cudaError_t into a Status that names the call, the file and the line; no
// CUDA failure ever aborts the process.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "convbert/status.h"

// Launches and __shared__ declarations go through these macros so that the emulated
// build (cuda/emu/, `npm run build:cuda:emulated`) compiles the same files as host C++;
// under nvcc they are exactly the CUDA syntax.
// clang-format off: it splits the __align__ macro over three lines
#ifndef CONVBERT_CUDA_EMULATED_RUNTIME
#define CONVBERT_LAUNCH(kernel, grid, block, smem, stream) kernel<<<grid, block, smem, stream>>>
#define CONVBERT_SHARED(T, name, dims) __shared__ T name dims
#define CONVBERT_SHARED_ALIGNED(align, T, name, dims) \
  __shared__ __align__(align)                         \
  T name dims
#define CONVBERT_DYNAMIC_SHARED(T, name) extern __shared__ T name[]
#endif
// clang-format on

namespace convbert {

inline Status cuda_status(cudaError_t err, const char* expr, const char* file, int line) {
  if (err == cudaSuccess) return Status::Ok();
  // Clear the sticky per-thread error so later calls see their own result.
  (void)cudaGetLastError();
  const StatusCode code = err == cudaErrorMemoryAllocation ? StatusCode::kOutOfMemory : StatusCode::kCuda;
  return Status::Error(code, std::string(expr) + ": " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) +
                                 ") at " + file + ":" + std::to_string(line));
}

#define CUDA_TRY(expr)                                                                    \
  do {                                                                                    \
    ::convbert::Status _cst = ::convbert::cuda_status((expr), #expr, __FILE__, __LINE__); \
    if (!_cst.ok()) return _cst;                                                          \
  } while (0)

// Device memory owned for one scope; freed on every return path.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer() {
    if (ptr_) cudaFree(ptr_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  // A second alloc frees the first buffer (it used to leak it).
  Status alloc(size_t bytes) {
    if (ptr_) {
      cudaFree(ptr_);
      ptr_ = nullptr;
    }
    CUDA_TRY(cudaMalloc(&ptr_, bytes > 0 ? bytes : 1));
    return Status::Ok();
  }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  void* ptr_ = nullptr;
};

}  // namespace convbert

namespace convbert {

// Warp and block reductions (blockDim.x a multiple of 32, at most 1024); every
// thread of the block must call the block versions, which return the result to all.
__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float block_sum(float v, float* red /* 33 floats of shared memory */) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
  v = warp_sum(v);
  __syncthreads();  // red may still be read by a previous reduction
  if (lane == 0) red[warp] = v;
  __syncthreads();
  if (warp == 0) {
    float x = lane < nw ? red[lane] : 0.0f;
    x = warp_sum(x);
    if (lane == 0) red[32] = x;
  }
  __syncthreads();
  return red[32];
}
__device__ __forceinline__ float block_max(float v, float* red /* 33 floats of shared memory */) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) red[warp] = v;
  __syncthreads();
  if (warp == 0) {
    float x = lane < nw ? red[lane] : -INFINITY;
    x = warp_max(x);
    if (lane == 0) red[32] = x;
  }
  __syncthreads();
  return red[32];
}

// Sequence b's first row and length: varlen offsets when given, else b*L and L.
__device__ __forceinline__ void seq_bounds(const int32_t* cu_seqlens, int64_t b, int64_t L, int64_t* start,
                                           int64_t* len) {
  if (cu_seqlens) {
    *start = cu_seqlens[b];
    *len = static_cast<int64_t>(cu_seqlens[b + 1]) - cu_seqlens[b];
  } else {
    *start = b * L;
    *len = L;
  }
}

// Grid size for a grid-stride loop over n items.
inline int grid_for(int64_t n, int threads) {
  const int64_t want = (n + threads - 1) / threads;
  return static_cast<int>(want < 65535 ? (want > 0 ? want : 1) : 65535);
}

}  // namespace convbert
