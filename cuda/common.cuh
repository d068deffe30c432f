// common.cuh: shared helpers of the CUDA backend. CUDA_TRY turns a
// cudaError_t into a Status that names the call, the file and the line; no
// CUDA failure ever aborts the process.
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "convbert/status.h"

namespace convbert {

inline Status cuda_status(cudaError_t err, const char* expr, const char* file, int line) {
  if (err == cudaSuccess) return Status::Ok();
  // Clear the sticky per-thread error so later calls see their own result.
  (void)cudaGetLastError();
  const StatusCode code = err == cudaErrorMemoryAllocation ? StatusCode::kOutOfMemory : StatusCode::kCuda;
  return Status::Error(code, std::string(expr) + ": " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) +
                                 ") at " + file + ":" + std::to_string(line));
}

#define CUDA_TRY(expr)                                                                  \
  do {                                                                                  \
    ::convbert::Status _cst = ::convbert::cuda_status((expr), #expr, __FILE__, __LINE__); \
    if (!_cst.ok()) return _cst;                                                        \
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
  Status alloc(size_t bytes) {
    CUDA_TRY(cudaMalloc(&ptr_, bytes > 0 ? bytes : 1));
    return Status::Ok();
  }
  template <typename T> T* as() const { return static_cast<T*>(ptr_); }

 private:
  void* ptr_ = nullptr;
};

}  // namespace convbert
