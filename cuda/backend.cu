// backend.cu: device discovery for the CUDA build. cuda_info() asks the
// runtime (linked statically, so only the NVIDIA driver is needed) once about
// every device and turns every failure (no driver, no device, too old a driver,
// no device of sm_80 or newer) into a one-line reason; the library then runs on
// the CPU. cuda_begin(N) admits only a usable device N.
#include <cuda_runtime.h>

#include <string>

#include "common.cuh"
#include "convbert/cuda_backend.h"
#include "kernels.cuh"

namespace convbert {

bool cuda_compiled() { return true; }

const CudaInfo& cuda_info() {
  static const CudaInfo info = [] {
    CudaInfo i;
    i.compiled = true;
#ifdef CONVBERT_CUDA_EMULATED
    i.emulated = true;  // cuda/emu/: CI's stand-in for a GPU; lib/ never picks it for device 'auto'
#endif
    cudaRuntimeGetVersion(&i.runtime_version);
    if (cudaDriverGetVersion(&i.driver_version) != cudaSuccess) i.driver_version = 0;
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
      (void)cudaGetLastError();
      i.reason = std::string("no usable CUDA device: ") + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) +
                 ")" + (i.driver_version == 0 ? "; no NVIDIA driver found" : "");
      return i;
    }
    if (n <= 0) {
      i.reason = "no CUDA device found";
      return i;
    }
    i.device_count = n;
    // Every device is inspected: on a machine whose device 0 is older than sm_80 (or cannot be
    // queried), a later sm_80+ device is still usable as cuda:N and is what 'auto' picks.
    std::string why;
    for (int d = 0; d < n; ++d) {
      CudaDeviceInfo dev;
      cudaDeviceProp prop;
      err = cudaGetDeviceProperties(&prop, d);
      if (err != cudaSuccess) {
        (void)cudaGetLastError();
        dev.reason = "cannot query CUDA device " + std::to_string(d) + ": " + cudaGetErrorString(err);
      } else {
        dev.name = prop.name;
        dev.compute_major = prop.major;
        dev.compute_minor = prop.minor;
        dev.total_memory = prop.totalGlobalMem;
        if (prop.major < 8)
          dev.reason = "CUDA device " + std::to_string(d) + " (" + dev.name + ", sm_" + std::to_string(prop.major) +
                       std::to_string(prop.minor) + ") is older than sm_80, the oldest this build targets";
        else
          dev.usable = true;
      }
      if (dev.usable && i.default_device < 0) {
        i.default_device = d;
        i.device_name = dev.name;
        i.compute_major = dev.compute_major;
        i.compute_minor = dev.compute_minor;
        i.total_memory = dev.total_memory;
      }
      if (!dev.usable) why += (why.empty() ? "" : "; ") + dev.reason;
      i.devices.push_back(std::move(dev));
    }
    i.available = i.default_device >= 0;
    if (!i.available) i.reason = why;
    return i;
  }();
  return info;
}

const char* cuda_dtype_name(CudaDtype d) {
  switch (d) {
    case CudaDtype::kFloat32: return "float32";
    case CudaDtype::kFloat16: return "float16";
    case CudaDtype::kBFloat16: return "bfloat16";
  }
  return "unknown";
}

namespace {
thread_local int t_bench_iters = 0;
thread_local double t_bench_ms = 0.0;
}  // namespace
void cuda_bench_set_iters(int iters) { t_bench_iters = iters > 0 ? iters : 0; }
double cuda_bench_last_ms() { return t_bench_ms; }
int cuda_bench_iters() { return t_bench_iters; }
void cuda_bench_record(double ms) { t_bench_ms = ms; }

Status check_seq_starts(const int32_t* s, int64_t B, int64_t L, const char* what) {
  if (!s) return Status::Ok();
  if (s[0] != 0)
    return Status::Error(StatusCode::kInvalidArgument,
                         std::string(what) + ": seq_starts[0] must be 0, got " + std::to_string(s[0]));
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = static_cast<int64_t>(s[b + 1]) - s[b];
    if (n < 0 || n > L)
      return Status::Error(StatusCode::kInvalidArgument, std::string(what) + ": sequence " + std::to_string(b) +
                                                             " has length " + std::to_string(n) + " (seq_starts[" +
                                                             std::to_string(b + 1) + "] - seq_starts[" +
                                                             std::to_string(b) + "]), expected 0.." + std::to_string(L));
  }
  return Status::Ok();
}

Status cuda_begin(int device) {
  const CudaInfo& ci = cuda_info();
  if (!ci.available) return Status::Error(StatusCode::kUnsupported, ci.reason);
  if (device < 0 || device >= ci.device_count)
    return Status::Error(StatusCode::kInvalidArgument, "device: CUDA ordinal " + std::to_string(device) +
                                                           " is outside [0, " + std::to_string(ci.device_count) + ")");
  const CudaDeviceInfo& dev = ci.devices[static_cast<size_t>(device)];
  if (!dev.usable) {
    std::string usable;
    for (size_t d = 0; d < ci.devices.size(); ++d)
      if (ci.devices[d].usable) usable += std::string(usable.empty() ? "" : ", ") + "cuda:" + std::to_string(d);
    return Status::Error(StatusCode::kUnsupported, dev.reason + "; usable: " + usable);
  }
  CUDA_TRY(cudaSetDevice(device));
  return Status::Ok();
}

}  // namespace convbert
