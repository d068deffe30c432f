// kernels.cuh: the device-pointer launchers of the CUDA backend, shared by the
// single-op host entry points and the engine (cuda/engine.cu). Every launcher
// takes device pointers and a stream, launches without synchronizing, and
// returns a Status (launch-configuration errors included). The Args structs
// are ops.h's, holding device pointers; scratch fields are unused.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "convbert/backend.h"
#include "convbert/cuda_backend.h"
#include "common.cuh"
#include "convbert/ops.h"
#include "convbert/status.h"

namespace convbert {

// gemm on the device: C = act(A · Bᵀ + bias) + residual. B is (N, K) with row stride ldb,
// its elements of type bdtype (float, __half or __nv_bfloat16).
struct GemmDevArgs {
  const float* A = nullptr;
  int64_t lda = 0;
  const void* B = nullptr;
  int64_t ldb = 0;
  Dtype bdtype = Dtype::kFloat32;
  bool tf32 = false;  // float B only: TF32 tensor cores instead of the exact fp32 path
  const float* bias = nullptr;
  const float* residual = nullptr;
  int64_t ldr = 0;
  float* C = nullptr;
  int64_t ldc = 0;
  int64_t M = 0, N = 0, K = 0;
  int32_t act = 0;
};
Status gemm_cuda(const GemmDevArgs& a, cudaStream_t stream);
// Which kernel gemm_cuda runs for these arguments ("f32", "tf32", "f16", "bf16"; "none" for int8, refused).
const char* gemm_cuda_path(const GemmDevArgs& a);

// Converts n device floats to dtype into dst (no aliasing); float32 copies.
Status convert_f32_cuda(const float* src, void* dst, int64_t n, Dtype dtype, cudaStream_t stream);

Status activation_cuda(const float* x, float* y, const float* bias, int64_t n, int64_t C, Activation act,
                       cudaStream_t stream);
// Checks sizes and strides like the CPU driver (no pointer dereference).
Status attention_cuda_check(const AttentionArgs& a);
// True when the fused kernel handles these arguments (no probs, D <= 128).
bool attention_cuda_fused(const AttentionArgs& a);
Status attention_cuda(const AttentionArgs& a, bool exact, cudaStream_t stream);
Status dynconv_cuda(const DynConvArgs& a, bool softmax_taps, cudaStream_t stream);
Status sepconv_cuda(const SepConvArgs& a, cudaStream_t stream);
Status layernorm_cuda(const LayerNormArgs& a, cudaStream_t stream);
Status softmax_cuda(const SoftmaxArgs& a, cudaStream_t stream);
Status embedding_cuda(const EmbeddingArgs& a, cudaStream_t stream);
Status lightconv_cuda(const LightConvArgs& a, cudaStream_t stream);
// Host check of ids, positions and types against their tables (kInvalidArgument naming the input).
Status embedding_check_ids(const EmbeddingArgs& a);

// Device copies for the host entry points: n elements of T in or out.
template <typename T>
Status to_device(DeviceBuffer* buf, const T* host, int64_t n) {
  CONVBERT_RETURN_IF_ERROR(buf->alloc(static_cast<size_t>(n > 0 ? n : 1) * sizeof(T)));
  if (host && n > 0)
    CUDA_TRY(cudaMemcpy(buf->as<T>(), host, static_cast<size_t>(n) * sizeof(T), cudaMemcpyHostToDevice));
  return Status::Ok();
}
template <typename T>
Status to_host(T* host, const DeviceBuffer& buf, int64_t n) {
  if (host && n > 0)
    CUDA_TRY(cudaMemcpy(host, buf.as<T>(), static_cast<size_t>(n) * sizeof(T), cudaMemcpyDeviceToHost));
  return Status::Ok();
}
// Runs launch() once, or, when the thread's bench iters are set, once more to warm up and
// then iters times between events, recording the mean time for cuda_bench_last_ms().
int cuda_bench_iters();
void cuda_bench_record(double ms);
template <typename Fn>
Status run_timed(Fn launch) {
  const int iters = cuda_bench_iters();
  CONVBERT_RETURN_IF_ERROR(launch());
  if (iters <= 0) return Status::Ok();
  cudaEvent_t e0 = nullptr, e1 = nullptr;
  CUDA_TRY(cudaEventCreate(&e0));
  Status st = [&]() -> Status {
    CUDA_TRY(cudaEventCreate(&e1));
    CUDA_TRY(cudaEventRecord(e0, 0));
    for (int i = 0; i < iters; ++i) CONVBERT_RETURN_IF_ERROR(launch());
    CUDA_TRY(cudaEventRecord(e1, 0));
    CUDA_TRY(cudaEventSynchronize(e1));
    float ms = 0.0f;
    CUDA_TRY(cudaEventElapsedTime(&ms, e0, e1));
    cuda_bench_record(static_cast<double>(ms) / iters);
    return Status::Ok();
  }();
  cudaEventDestroy(e0);
  if (e1) cudaEventDestroy(e1);
  return st;
}

// ---------------------------------------------------------------------------
// The CUDA op table (backend.h) the forward walk drives, built in backend.cu from the
// launchers above. A linear layer on the device: G block-diagonal groups, group g's
// weight (N/G, K/G) row-major at g*(N/G)*(K/G), elements of the context's dtype;
// LinearRef::w points at one.
struct DevLinear {
  const void* W = nullptr;
  const float* bias = nullptr;
  int64_t N = 0, K = 0, G = 1;
};
// Per-engine state behind Backend::ctx: every op enqueues on stream, gemms read dtype weights.
struct CudaCtx {
  cudaStream_t stream = nullptr;
  Dtype dtype = Dtype::kFloat32;
  bool tf32 = false;
};
// Fused slots: the residual in the gemm epilogue, the tap softmax inside dynconv.
Backend cuda_backend(CudaCtx* ctx);

// Host check of varlen offsets before they size a copy or a grid: cu_seqlens[0] == 0
// and every length in [0, L]. `what` names the op in the message.
Status check_cu_seqlens(const int32_t* cu_seqlens, int64_t B, int64_t L, const char* what);

// Fails with kUnsupported (and the reason) when no device is usable, then selects `device`.
Status cuda_begin(int device);

}  // namespace convbert
