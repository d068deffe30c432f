// backend.h: the device-agnostic op table the one forward walk drives
// (native/src/engine/forward.cc + heads.cc). The CPU table (engine/cpu_backend.cc)
// runs the ops.h drivers on host pointers; the CUDA table (cuda/backend.cu) runs the
// *_cuda launchers on device pointers and one stream. Every pointer handed to a
// Backend lives in that backend's memory: the walk computes addresses, never reads
// through one, so the same walk can be captured into a CUDA graph. No CUDA headers.
#pragma once
#include <cstdint>
#include <vector>

#include "convbert/ops.h"
#include "convbert/status.h"

namespace convbert {

// A linear layer as a backend holds it: G block-diagonal groups of (N/G, K/G).
// w is the backend's own weight object (cpu: const PackedLinear*, cuda: a DevLinear).
struct LinearRef {
  const void* w = nullptr;
  int64_t N = 0, K = 0, G = 1;
};

// Every weight the walk reads, in the backend's memory (LayerNorm vectors, tables and the
// transposed depthwise weight as floats, linear layers as LinearRefs).
struct LayerRefs {
  LinearRef qkvc, pointwise, conv_kernel, attn_out, inter, out;
  const float *dw_t = nullptr, *ln1_g = nullptr, *ln1_b = nullptr, *ln2_g = nullptr, *ln2_b = nullptr;
};
struct ModelRefs {
  const float *word = nullptr, *pos = nullptr, *type = nullptr, *emb_ln_g = nullptr, *emb_ln_b = nullptr;
  bool has_project = false;
  LinearRef project;
  std::vector<LayerRefs> layers;
  LinearRef h_dense, h_out;  // heads: whichever the head kind uses
  const float *h_ln_g = nullptr, *h_ln_b = nullptr;
};

// y (M, N; row stride ldy) = act(x (M, K; row stride ldx) · Wᵀ + bias) [+ residual], per group.
struct LinearArgs {
  LinearRef w;
  const float* x = nullptr;
  int64_t ldx = 0, M = 0;
  float* y = nullptr;
  int64_t ldy = 0;
  Activation act = Activation::kIdentity;
  // residual: (M, N) with row stride ldr added after act, or null; only passed to a
  // backend whose linear_residual is set (the walk adds it in the LayerNorm otherwise).
  const float* residual = nullptr;
  int64_t ldr = 0;
  // The CPU int8 path's per-call activation scratch (arena), or null.
  uint8_t* scratch = nullptr;
};

// s (rows, C) contiguous *= q (rows, C) with row stride ldq: the key conv's pointwise ⊙ query.
struct MulArgs {
  float* s = nullptr;
  const float* q = nullptr;
  int64_t rows = 0, C = 0, ldq = 0;
};

// bias[i] = (1 - mask[i]) * finfo(float32).min in float32, as torch builds the extended mask.
struct MaskBiasArgs {
  const float* mask = nullptr;
  float* bias = nullptr;
  int64_t n = 0;
};

// One row of H floats per sequence of h (T, H): its first or last token, the mean over
// its tokens, or token index[b] (index null: the last). Sequence b is rows
// [cu_seqlens[b], cu_seqlens[b+1]) when cu_seqlens is set, else [b*L, (b+1)*L).
// index values must already be checked against the lengths (validate_forward does).
enum class PoolMode : int32_t { kFirst = 0, kLast = 1, kMean = 2, kIndex = 3 };
struct PoolArgs {
  const float* h = nullptr;
  float* out = nullptr;  // (B, H)
  int64_t B = 0, L = 0, H = 0;
  const int32_t* cu_seqlens = nullptr;
  const int32_t* index = nullptr;
  PoolMode mode = PoolMode::kFirst;
};

// The op table. Every slot but the optional ones is set; each returns a Status and,
// on a device, only enqueues work (no synchronisation, no allocation), so a walk can
// be captured and replayed. ctx is the backend's per-engine state (cpu: the OpTable;
// cuda: stream, dtype, tf32).
struct Backend {
  const char* name = "";
  void* ctx = nullptr;
  Status (*linear)(void* ctx, const LinearArgs& a) = nullptr;
  // Whether linear adds LinearArgs::residual in its epilogue (cuda); the walk then
  // runs the residual LayerNorms without r.
  bool linear_residual = false;
  Status (*embedding)(void* ctx, const EmbeddingArgs& a) = nullptr;
  Status (*layernorm)(void* ctx, const LayerNormArgs& a) = nullptr;
  Status (*softmax)(void* ctx, const SoftmaxArgs& a) = nullptr;
  Status (*sepconv)(void* ctx, const SepConvArgs& a) = nullptr;
  Status (*dynconv)(void* ctx, const DynConvArgs& a) = nullptr;
  // Optional: dynconv with w holding the conv_kernel_layer logits and the softmax over
  // the K taps fused in (cuda); null: the walk runs softmax, then dynconv.
  Status (*dynconv_logits)(void* ctx, const DynConvArgs& a) = nullptr;
  // AttentionArgs::scratch points at attention_scratch_size floats when attention_scratch is set.
  Status (*attention)(void* ctx, const AttentionArgs& a) = nullptr;
  bool attention_scratch = false;
  Status (*activation)(void* ctx, const ActivationArgs& a) = nullptr;
  Status (*mul)(void* ctx, const MulArgs& a) = nullptr;
  Status (*mask_bias)(void* ctx, const MaskBiasArgs& a) = nullptr;
  Status (*pool)(void* ctx, const PoolArgs& a) = nullptr;
  // n floats from src to dst, both in the backend's memory; nothing when dst == src.
  Status (*copy)(void* ctx, float* dst, const float* src, int64_t n) = nullptr;
};

// The CPU table over one OpTable (host pointers; LinearRef::w is a PackedLinear).
Backend cpu_backend(const OpTable& ops);

}  // namespace convbert
