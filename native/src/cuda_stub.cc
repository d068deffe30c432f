// cuda_stub.cc: the CUDA entry points of a CPU-only build. They report that
// CUDA was not compiled in, so the binding and TS need no build-specific paths.
#include "convbert/cuda_backend.h"

namespace convbert {

bool cuda_compiled() { return false; }

const CudaInfo& cuda_info() {
  static const CudaInfo info = [] {
    CudaInfo i;
    i.reason = "this build has no CUDA backend (install the CUDA build with `npm run build:cuda`)";
    return i;
  }();
  return info;
}

Status activation_cuda_host(const ActivationArgs&, int) {
  return Status::Error(StatusCode::kUnsupported, cuda_info().reason);
}

}  // namespace convbert
