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

namespace {
Status unsupported() { return Status::Error(StatusCode::kUnsupported, cuda_info().reason); }
}  // namespace

void cuda_bench_set_iters(int) {}
double cuda_bench_last_ms() { return 0.0; }

Status activation_cuda_host(const ActivationArgs&, int) { return unsupported(); }
Status gemm_cuda_host(const CudaGemmArgs&, int) { return unsupported(); }
Status attention_cuda_host(const AttentionArgs&, bool, int, std::string*) { return unsupported(); }
Status dynconv_cuda_host(const DynConvArgs&, bool, int) { return unsupported(); }
Status sepconv_cuda_host(const SepConvArgs&, int) { return unsupported(); }
Status layernorm_cuda_host(const LayerNormArgs&, int) { return unsupported(); }
Status softmax_cuda_host(const SoftmaxArgs&, int) { return unsupported(); }
Status embedding_cuda_host(const EmbeddingArgs&, int) { return unsupported(); }
Status lightconv_cuda_host(const LightConvArgs&, int) { return unsupported(); }

class CudaEngine {};
Status cuda_engine_create(const Model&, const CudaEngineOptions&, std::shared_ptr<CudaEngine>*) {
  return unsupported();
}
std::shared_ptr<ForwardTarget> cuda_engine_target(const std::shared_ptr<CudaEngine>&) { return nullptr; }
int64_t cuda_engine_weight_bytes(const CudaEngine&) { return 0; }
int64_t cuda_engine_arena_bytes(const CudaEngine&) { return 0; }
int64_t cuda_engine_graph_count(const CudaEngine&) { return 0; }

}  // namespace convbert
