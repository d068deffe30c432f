// cuda_backend.h: what the CUDA build exposes to the binding. Everything here
// is callable in a CPU-only build too (cuda_compiled() is then false and every
// entry point returns kUnsupported with the reason), so the binding has no
// #ifdefs. No CUDA headers: the binding never sees them. The *_cuda_host entry
// points copy host arrays in, run one kernel and copy out (tests and bench);
// the engine keeps everything on the device (cuda/engine.cu) and runs the one
// forward walk (engine.h walk_forward) on the CUDA op table (cuda/backend.cu).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "convbert/dtype.h"
#include "convbert/engine.h"
#include "convbert/ops.h"
#include "convbert/status.h"

namespace convbert {

// One device as the runtime lists it (ordinal = its index in CudaInfo::devices).
struct CudaDeviceInfo {
  std::string name;
  int compute_major = 0, compute_minor = 0;
  uint64_t total_memory = 0;  // bytes
  bool usable = false;        // sm_80 or newer, and its properties could be read
  std::string reason;         // one line: why this device is not usable (empty when it is)
};

struct CudaInfo {
  bool compiled = false;                // this binary contains the CUDA backend
  bool available = false;               // a driver and at least one usable device were found
  bool emulated = false;                // the emulated build (cuda/emu/): kernels run on the host CPU, never a GPU
  int device_count = 0;                 // every device the runtime lists, usable or not
  int runtime_version = 0;              // e.g. 13000
  int driver_version = 0;               // 0 when no driver is installed
  std::vector<CudaDeviceInfo> devices;  // device_count entries, by ordinal
  // The first usable device (-1 when none): what device 'auto' picks, and whose name,
  // compute capability and memory the fields below repeat.
  int default_device = -1;
  std::string device_name;
  int compute_major = 0, compute_minor = 0;
  uint64_t total_memory = 0;  // bytes
  std::string reason;         // one line: why the CUDA backend is not usable (every device's reason)
};

bool cuda_compiled();
// Queries the runtime once (cached), every device it lists; never aborts when there is no
// driver or GPU.
const CudaInfo& cuda_info();

// ---------------------------------------------------------------------------
// Single ops on host arrays (test/bench only). `device` is the CUDA ordinal.

// Bench hook (this thread): when iters > 0, each *_cuda_host call below runs its kernel once to warm
// up, then iters more times between CUDA events; cuda_bench_last_ms() is the mean kernel time (ms).
void cuda_bench_set_iters(int iters);
double cuda_bench_last_ms();

// Elementwise activation: copies x (and bias) in, runs the kernel, copies y out.
Status activation_cuda_host(const ActivationArgs& args, int device);

// gemm with the CUDA epilogue: C = act(A · Bᵀ + bias) + residual.
struct CudaGemmArgs {
  // A: (M, K) row-major, row stride lda; B: (N, K) row-major (nn.Linear weight), row stride ldb.
  const float* A = nullptr;
  int64_t lda = 0;
  const float* B = nullptr;
  int64_t ldb = 0;
  // bias: N floats or null; residual: (M, N) with row stride ldr, or null (added after act).
  const float* bias = nullptr;
  const float* residual = nullptr;
  int64_t ldr = 0;
  // C: (M, N), row stride ldc.
  float* C = nullptr;
  int64_t ldc = 0;
  int64_t M = 0, N = 0, K = 0;
  Activation act = Activation::kIdentity;
  // dtype: float32 runs the exact fp32 path unless tf32 is set; float16 / bfloat16 round A and B
  // to that type and accumulate in fp32 on tensor cores; int8 is the CPU engine's (kUnsupported).
  Dtype dtype = Dtype::kFloat32;
  bool tf32 = false;
};
Status gemm_cuda_host(const CudaGemmArgs& args, int device);

// attention: AttentionArgs as on the CPU (scratch is ignored). The fused (flash) kernel runs when
// probs is null and D <= 128; exact forces the slower exact path (the one that writes probs).
// path_out (optional) receives "flash" or "exact".
Status attention_cuda_host(const AttentionArgs& args, bool exact, int device, std::string* path_out);

// dynconv: DynConvArgs as on the CPU; when softmax_taps is set, w holds the conv_kernel_layer
// logits and the kernel applies the softmax over the K taps itself (the fused ConvBERT path).
Status dynconv_cuda_host(const DynConvArgs& args, bool softmax_taps, int device);
Status sepconv_cuda_host(const SepConvArgs& args, int device);
Status layernorm_cuda_host(const LayerNormArgs& args, int device);
Status softmax_cuda_host(const SoftmaxArgs& args, int device);
// ids/positions/types are range-checked here (kInvalidArgument) before anything runs.
Status embedding_cuda_host(const EmbeddingArgs& args, int device);

// ---------------------------------------------------------------------------
// lightconv: lightweight and dynamic convolution of Wu et al. 2019 (fairseq's
// LightweightConv1dTBC / DynamicConv1dTBC forward, batch-major here):
//   y[b,t,c] = Σ_k w'[.., head(c), k] · x[b, t + k - padding_l, c] (+ bias[c]), zeros outside [0, T),
// w' = softmax over k of w when softmax is set. head(c) = c / (C/H) (the TBC modules and
// dynamicconv_cuda); interleaved_heads selects c % H (LightweightConv1d on B×C×T, lightconv_cuda).
// Not part of ConvBERT; a general op with a CPU reference (native/src/cpu/lightconv.cc).
struct LightConvArgs {
  // x, y: (B, T, C) contiguous; bias: C floats or null.
  const float* x = nullptr;
  float* y = nullptr;
  const float* bias = nullptr;
  int64_t B = 0, T = 0, C = 0, H = 0, K = 0, padding_l = 0;
  // w: (H, K) shared by every position (lightweight) or, when per_position, (B, T, H, K) (dynamic).
  const float* w = nullptr;
  bool per_position = false;
  bool softmax = true;
  bool interleaved_heads = false;
};
// Sizes (B, T >= 0; C, H, K > 0; C % H == 0; 0 <= padding_l < K; every element count at most
// 2^53 - 1) and pointers.
Status lightconv_check(const LightConvArgs& args);
// Plain CPU reference (double accumulation), single-threaded.
Status lightconv_ref(const LightConvArgs& args);
// The same arithmetic with the (B * T) positions split over the engine's thread pool (the public op).
Status lightconv_cpu(const LightConvArgs& args);
Status lightconv_cuda_host(const LightConvArgs& args, int device);

// ---------------------------------------------------------------------------
// The CUDA engine: a Model's weights resident on one device (gemm weights in `dtype`),
// activations in a device arena, one stream, CUDA graphs replayed for repeated shapes.
struct CudaEngineOptions {
  int device = 0;
  // Element type of the gemm weights (and of the tensor-core inputs) on the device: kFloat32,
  // kFloat16 or kBFloat16; kInt8 is the CPU engine's (cuda_engine_create: kUnsupported).
  Dtype dtype = Dtype::kFloat32;
  bool tf32 = false;   // float32 gemms on TF32 tensor cores (opt-in: ~1e-3 relative error)
  bool graphs = true;  // capture each new request shape once and replay it
};
class CudaEngine;
// Copies (and unpacks) every weight of a built CPU Model to the device.
Status cuda_engine_create(const Model& model, const CudaEngineOptions& opts, std::shared_ptr<CudaEngine>* out);
// The engine as a ForwardTarget (sharing its ownership): forward(model, target, job) with the
// Model it was created from validates the job, then the engine stages the host inputs, runs
// walk_forward on the CUDA op table (captured once per request shape as a CUDA graph and
// replayed) and copies the outputs back. Calls on one engine are serialized.
std::shared_ptr<ForwardTarget> cuda_engine_target(const std::shared_ptr<CudaEngine>& engine);
// Device bytes held: weights, and the arena.
int64_t cuda_engine_weight_bytes(const CudaEngine& engine);
int64_t cuda_engine_arena_bytes(const CudaEngine& engine);
// Graphs captured so far (for tests: a repeated shape must not add one).
int64_t cuda_engine_graph_count(const CudaEngine& engine);

}  // namespace convbert
