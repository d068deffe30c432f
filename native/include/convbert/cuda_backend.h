// cuda_backend.h: what the CUDA build exposes to the binding. Everything here
// is callable in a CPU-only build too (cuda_compiled() is then false), so the
// binding has no #ifdefs. No CUDA headers: the binding never sees them.
#pragma once
#include <cstdint>
#include <string>

#include "convbert/ops.h"
#include "convbert/status.h"

namespace convbert {

struct CudaInfo {
  bool compiled = false;      // this binary contains the CUDA backend
  bool available = false;     // a usable device and driver were found
  int device_count = 0;
  int runtime_version = 0;    // e.g. 13000
  int driver_version = 0;     // 0 when no driver is installed
  std::string device_name;    // device 0
  int compute_major = 0, compute_minor = 0;
  uint64_t total_memory = 0;  // bytes, device 0
  std::string reason;         // one line: why the CUDA backend is not usable
};

bool cuda_compiled();
// Queries the runtime once (cached); never aborts when there is no driver or GPU.
const CudaInfo& cuda_info();
// Elementwise activation on the device: copies x (and bias) in, runs the kernel, copies y out.
Status activation_cuda_host(const ActivationArgs& args, int device);

}  // namespace convbert
