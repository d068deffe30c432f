// engine.cu: the ConvBERT forward (trunk + heads) on one CUDA device, the same plan
// as native/src/engine/forward.cc and heads.cc (the reference: forward() on the CPU
// op table). Weights are unpacked from a built CPU Model once and stay resident
// (gemm weights in the engine dtype, everything else fp32); activations live in one
// device arena that only grows; each engine has its own stream; each new request
// shape is captured once as a CUDA graph and replayed (inputs are copied into fixed
// staging slots of the arena first, outputs copied out after). Fusions beyond the CPU
// plan: the tap softmax inside dynconv, the residual add in the attention-output and
// FFN-output gemm epilogues. Every CUDA error comes back as a Status (OOM -> kOutOfMemory).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <tuple>
#include <vector>

#include "common.cuh"
#include "kernels.cuh"

namespace convbert {

namespace {

// s[t, a] *= q[t, a] for the key conv's (pointwise ⊙ query), q with row stride ldq.
__global__ void mul_rows_kernel(float* s, const float* q, int64_t T, int64_t A, int64_t ldq) {
  const int64_t n = T * A;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    s[i] *= q[(i / A) * ldq + i % A];
}

// bias = (1 - m) * finfo(float32).min, in float like torch.
__global__ void mask_bias_kernel(const float* m, float* bias, int64_t n) {
  const float fmin = -3.40282346638528859812e+38f;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    bias[i] = (1.0f - m[i]) * fmin;
}

// Pools one row per sequence: mode 0 first token, 1 last, 2 mean, 3 cls_index[b].
__global__ void pool_kernel(const float* h, float* out, int64_t H, int64_t L, const int32_t* seq_starts,
                            const int32_t* cls_index, int mode) {
  const int64_t b = blockIdx.x;
  int64_t start, len;
  seq_bounds(seq_starts, b, L, &start, &len);
  for (int64_t x = threadIdx.x; x < H; x += blockDim.x) {
    float v;
    if (mode == 2) {
      float acc = 0.0f;
      for (int64_t l = 0; l < len; ++l) acc += h[(start + l) * H + x];
      v = acc / static_cast<float>(len);
    } else {
      const int64_t idx = mode == 0 ? 0 : mode == 1 ? len - 1 : (cls_index ? cls_index[b] : len - 1);
      v = h[(start + idx) * H + x];
    }
    out[b * H + x] = v;
  }
}

// A linear layer on the device: G block-diagonal groups, group g's weight (N/G, K/G) row-major at g*(N/G)*(K/G).
struct DevLinear {
  const void* W = nullptr;
  const float* bias = nullptr;
  int64_t N = 0, K = 0, G = 1;
};

struct DevLayer {
  DevLinear qkvc, pointwise, conv_kernel, attn_out, inter, out;
  const float *dw_t = nullptr, *ln1_g = nullptr, *ln1_b = nullptr, *ln2_g = nullptr, *ln2_b = nullptr;
};

int64_t round_up(int64_t n) { return (n + 63) / 64 * 64; }  // 256-byte slots

}  // namespace

class CudaEngine {
 public:
  CudaEngineOptions opts;
  EngineConfig cfg;
  HeadConfig head;
  cudaStream_t stream = nullptr;
  std::vector<std::unique_ptr<DeviceBuffer>> weights;
  int64_t weight_bytes = 0;
  const float *word = nullptr, *pos = nullptr, *type = nullptr, *emb_ln_g = nullptr, *emb_ln_b = nullptr;
  bool has_project = false;
  DevLinear project, h_dense, h_out;
  const float *h_ln_g = nullptr, *h_ln_b = nullptr;
  std::vector<DevLayer> layers;

  // Arena: floats and ints; graphs hold its addresses, so growing it drops every graph.
  std::unique_ptr<DeviceBuffer> arena_f, arena_i;
  int64_t arena_f_n = 0, arena_i_n = 0;
  std::map<std::vector<int64_t>, cudaGraphExec_t> graphs;
  std::mutex mu;

  ~CudaEngine() {
    cudaSetDevice(opts.device);
    drop_graphs();
    if (stream) cudaStreamDestroy(stream);
  }
  void drop_graphs() {
    for (auto& g : graphs) cudaGraphExecDestroy(g.second);
    graphs.clear();
  }

  // Any allocator: the word embeddings are a HugeVector (huge_vector.h).
  template <class Alloc>
  Status upload_f32(const std::vector<float, Alloc>& v, const float** out) {
    auto buf = std::make_unique<DeviceBuffer>();
    CONVBERT_RETURN_IF_ERROR(to_device(buf.get(), v.data(), static_cast<int64_t>(v.size())));
    *out = buf->as<float>();
    weight_bytes += static_cast<int64_t>(v.size()) * 4;
    weights.push_back(std::move(buf));
    return Status::Ok();
  }

  Status upload_linear(const PackedLinear& p, DevLinear* d) {
    // The unpacking below reads fp32 panels; a bf16 or int8 model has none (packed is empty),
    // so reading it would be a garbage or out-of-bounds read, not a conversion.
    if (p.is_bf16() || p.is_i8() || p.G <= 0 || p.N % p.G != 0 || p.K % p.G != 0 ||
        p.packed.size() < static_cast<size_t>(p.G) * static_cast<size_t>(packed_gemm_size(p.N / p.G, p.K / p.G)))
      return Status::Error(StatusCode::kUnsupported,
                           std::string("cuda engine: a linear layer holds ") +
                               (p.is_bf16() ? "bfloat16" : p.is_i8() ? "int8" : "no float32") +
                               " packed weights; the CUDA engine takes a float32 Model and converts to its dtype itself");
    d->N = p.N;
    d->K = p.K;
    d->G = p.G;
    const int64_t Ng = p.N / p.G, Kg = p.K / p.G;
    std::vector<float> w(static_cast<size_t>(p.G * Ng * Kg));
    for (int64_t g = 0; g < p.G; ++g) {
      const PackedMatrix m = p.group(g);
      float* dst = w.data() + g * Ng * Kg;
      for (int64_t n = 0; n < Ng; ++n)
        for (int64_t k = 0; k < Kg; ++k)
          dst[n * Kg + k] = m.data[(n / kGemmPanel) * Kg * kGemmPanel + k * kGemmPanel + n % kGemmPanel];
    }
    const float* w32 = nullptr;
    if (opts.dtype == CudaDtype::kFloat32) {
      CONVBERT_RETURN_IF_ERROR(upload_f32(w, &w32));
      d->W = w32;
    } else {
      DeviceBuffer tmp;
      CONVBERT_RETURN_IF_ERROR(to_device(&tmp, w.data(), static_cast<int64_t>(w.size())));
      // A pageable cudaMemcpy may return before its DMA lands; the conversion runs on another stream.
      CUDA_TRY(cudaDeviceSynchronize());
      auto buf = std::make_unique<DeviceBuffer>();
      CONVBERT_RETURN_IF_ERROR(buf->alloc(w.size() * 2));
      CONVBERT_RETURN_IF_ERROR(convert_f32_cuda(tmp.as<float>(), buf->as<void>(), static_cast<int64_t>(w.size()),
                                                opts.dtype, stream));
      CUDA_TRY(cudaStreamSynchronize(stream));  // tmp is freed on return
      d->W = buf->as<void>();
      weight_bytes += static_cast<int64_t>(w.size()) * 2;
      weights.push_back(std::move(buf));
    }
    d->bias = nullptr;
    if (!p.bias.empty()) CONVBERT_RETURN_IF_ERROR(upload_f32(p.bias, &d->bias));
    return Status::Ok();
  }

  Status linear(const DevLinear& w, const float* x, int64_t ldx, int64_t M, float* y, int64_t ldy,
                Activation act = Activation::kIdentity, const float* residual = nullptr, int64_t ldr = 0) {
    const int64_t Ng = w.N / w.G, Kg = w.K / w.G;
    const size_t esize = opts.dtype == CudaDtype::kFloat32 ? 4 : 2;
    for (int64_t g = 0; g < w.G; ++g) {
      GemmDevArgs a;
      a.A = x + g * Kg;
      a.lda = ldx;
      a.B = static_cast<const char*>(w.W) + static_cast<size_t>(g * Ng * Kg) * esize;
      a.ldb = Kg;
      a.bdtype = opts.dtype;
      a.tf32 = opts.tf32;
      a.bias = w.bias ? w.bias + g * Ng : nullptr;
      a.residual = residual ? residual + g * Ng : nullptr;
      a.ldr = ldr;
      a.C = y + g * Ng;
      a.ldc = ldy;
      a.M = M;
      a.N = Ng;
      a.K = Kg;
      a.act = static_cast<int32_t>(act);
      CONVBERT_RETURN_IF_ERROR(gemm_cuda(a, stream));
    }
    return Status::Ok();
  }
};


namespace {

Status cuda_engine_create_impl(const Model& m, const CudaEngineOptions& opts, std::shared_ptr<CudaEngine>* out) {
  CONVBERT_RETURN_IF_ERROR(cuda_begin(opts.device));
  if (opts.tf32 && opts.dtype != CudaDtype::kFloat32)
    return Status::Error(StatusCode::kInvalidArgument, "tf32: only applies to dtype float32");
  if (m.dtype != WeightDtype::kFloat32)
    return Status::Error(StatusCode::kUnsupported, std::string("cuda engine: the model's linear weights are ") +
                                                       weight_dtype_name(m.dtype) +
                                                       "; the CUDA engine takes a float32 Model and converts to its "
                                                       "dtype (float32, float16, bfloat16) itself");
  auto e = std::make_shared<CudaEngine>();
  e->opts = opts;
  e->cfg = m.cfg;
  e->head = m.head;
  CUDA_TRY(cudaStreamCreateWithFlags(&e->stream, cudaStreamNonBlocking));
  CONVBERT_RETURN_IF_ERROR(e->upload_f32(m.word, &e->word));
  CONVBERT_RETURN_IF_ERROR(e->upload_f32(m.pos, &e->pos));
  CONVBERT_RETURN_IF_ERROR(e->upload_f32(m.type, &e->type));
  CONVBERT_RETURN_IF_ERROR(e->upload_f32(m.emb_ln_g, &e->emb_ln_g));
  CONVBERT_RETURN_IF_ERROR(e->upload_f32(m.emb_ln_b, &e->emb_ln_b));
  e->has_project = m.has_project;
  if (m.has_project) CONVBERT_RETURN_IF_ERROR(e->upload_linear(m.project, &e->project));
  for (const LayerWeights& w : m.layers) {
    DevLayer d;
    CONVBERT_RETURN_IF_ERROR(e->upload_linear(w.qkvc, &d.qkvc));
    CONVBERT_RETURN_IF_ERROR(e->upload_linear(w.pointwise, &d.pointwise));
    CONVBERT_RETURN_IF_ERROR(e->upload_linear(w.conv_kernel, &d.conv_kernel));
    CONVBERT_RETURN_IF_ERROR(e->upload_linear(w.attn_out, &d.attn_out));
    CONVBERT_RETURN_IF_ERROR(e->upload_linear(w.inter, &d.inter));
    CONVBERT_RETURN_IF_ERROR(e->upload_linear(w.out, &d.out));
    CONVBERT_RETURN_IF_ERROR(e->upload_f32(w.dw_t, &d.dw_t));
    CONVBERT_RETURN_IF_ERROR(e->upload_f32(w.ln1_g, &d.ln1_g));
    CONVBERT_RETURN_IF_ERROR(e->upload_f32(w.ln1_b, &d.ln1_b));
    CONVBERT_RETURN_IF_ERROR(e->upload_f32(w.ln2_g, &d.ln2_g));
    CONVBERT_RETURN_IF_ERROR(e->upload_f32(w.ln2_b, &d.ln2_b));
    e->layers.push_back(d);
  }
  switch (m.head.kind) {
    case HeadKind::kMaskedLM:
      CONVBERT_RETURN_IF_ERROR(e->upload_linear(m.h_dense, &e->h_dense));
      CONVBERT_RETURN_IF_ERROR(e->upload_f32(m.h_ln_g, &e->h_ln_g));
      CONVBERT_RETURN_IF_ERROR(e->upload_f32(m.h_ln_b, &e->h_ln_b));
      CONVBERT_RETURN_IF_ERROR(e->upload_linear(m.h_out, &e->h_out));
      break;
    case HeadKind::kSequenceClassification:
      CONVBERT_RETURN_IF_ERROR(e->upload_linear(m.h_dense, &e->h_dense));
      CONVBERT_RETURN_IF_ERROR(e->upload_linear(m.h_out, &e->h_out));
      break;
    case HeadKind::kMultipleChoice:
      if (m.head.summary_use_proj) CONVBERT_RETURN_IF_ERROR(e->upload_linear(m.h_dense, &e->h_dense));
      CONVBERT_RETURN_IF_ERROR(e->upload_linear(m.h_out, &e->h_out));
      break;
    case HeadKind::kTokenClassification:
    case HeadKind::kQuestionAnswering:
      CONVBERT_RETURN_IF_ERROR(e->upload_linear(m.h_out, &e->h_out));
      break;
    case HeadKind::kNone: break;
  }
  // Every upload (legacy-stream copies and conversions on e->stream) has landed before the first forward.
  CUDA_TRY(cudaDeviceSynchronize());
  *out = std::move(e);
  return Status::Ok();
}

}  // namespace

// Host-side staging (unpacked weights, positions) uses std::vector: an allocation failure
// becomes kOutOfMemory here instead of a bad_alloc thrown through the caller's worker.
Status cuda_engine_create(const Model& m, const CudaEngineOptions& opts, std::shared_ptr<CudaEngine>* out) {
  try {
    return cuda_engine_create_impl(m, opts, out);
  } catch (const std::bad_alloc&) {
    return Status::Error(StatusCode::kOutOfMemory, "cuda engine: out of host memory while uploading the weights");
  }
}

namespace {

// Offsets (in elements) of everything one request shape needs in the arena.
struct Plan {
  int64_t B = 0, L = 0, T = 0, mask_n = 0, logits_n = 0, P = 0;
  // floats
  int64_t h = 0, h1 = 0, qkvc = 0, ctx = 0, tmp = 0, big = 0, dw = 0, s = 0, kern = 0, mask_bias = 0, mask_in = 0,
          embeds = 0, head_mask = 0, pooled = 0, proj = 0, logits = 0, hidden = 0, attn = 0, f_total = 0;
  // ints
  int64_t ids = 0, types = 0, positions = 0, seq = 0, cls = 0, i_total = 0;
};

Plan make_plan(const CudaEngine& e, const ForwardJob& j) {
  const EngineConfig& c = e.cfg;
  Plan p;
  p.B = j.B;
  p.L = j.L;
  p.T = j.seq_starts ? j.seq_starts[j.B] : j.B * j.L;
  const int64_t T = p.T, H = c.hidden, E = c.embedding, A = c.sa_heads * c.head_dim, I = c.intermediate,
                K = c.conv_kernel, S = c.sa_heads;
  p.mask_n = j.attention_mask ? (j.mask_rank == 2 ? j.B * j.L : j.B * j.L * j.L) : 0;
  const HeadKind hk = e.head.kind;
  p.logits_n = hk == HeadKind::kNone ? 0
               : (hk == HeadKind::kMaskedLM || hk == HeadKind::kTokenClassification ||
                  hk == HeadKind::kQuestionAnswering)
                   ? T * e.head.num_outputs
                   : j.B * e.head.num_outputs;
  p.P = std::max(H, e.head.summary_proj_out);
  int64_t off = 0;
  auto carve = [&](int64_t n) {
    const int64_t at = off;
    off += round_up(n);
    return at;
  };
  const int64_t conv_n = round_up(T * H) + round_up(T * A) + T * S * K;
  p.h = carve(T * H);
  p.h1 = carve(T * H);
  p.qkvc = carve(T * 4 * A);
  p.ctx = carve(T * H);
  p.tmp = carve(T * H);
  p.big = carve(std::max({T * I, conv_n, T * std::max(E, H)}));
  p.dw = p.big;
  p.s = p.dw + round_up(T * H);
  p.kern = p.s + round_up(T * A);
  p.mask_bias = carve(p.mask_n);
  p.mask_in = carve(p.mask_n);
  p.embeds = carve(j.inputs_embeds ? T * E : 0);
  p.head_mask = carve(j.head_mask ? c.layers * S : 0);
  p.pooled = carve(j.B * H);
  p.proj = carve(j.B * p.P);
  p.logits = carve(p.logits_n);
  p.hidden = carve(j.hidden_states.empty() ? 0 : (c.layers + 1) * T * H);
  p.attn = carve(j.attentions.empty() ? 0 : c.layers * j.B * S * j.L * j.L);
  p.f_total = off;
  int64_t ioff = 0;
  auto icarve = [&](int64_t n) {
    const int64_t at = ioff;
    ioff += round_up(n);
    return at;
  };
  p.ids = icarve(T);
  p.types = icarve(T);
  p.positions = icarve(T);
  p.seq = icarve(j.B + 1);
  p.cls = icarve(j.B);
  p.i_total = ioff;
  return p;
}

// Everything between the input copies and the output copies: graph-capturable (no host syncs,
// no allocation, no host memory).
Status enqueue(CudaEngine& e, const ForwardJob& j, const Plan& p, float* F, int32_t* I32) {
  const EngineConfig& c = e.cfg;
  const int64_t B = j.B, L = j.L, T = p.T;
  const int64_t H = c.hidden, E = c.embedding, A = c.sa_heads * c.head_dim, K = c.conv_kernel, S = c.sa_heads,
                D = c.head_dim;
  cudaStream_t st = e.stream;
  float *h = F + p.h, *h1 = F + p.h1, *qkvc = F + p.qkvc, *ctx = F + p.ctx, *tmp = F + p.tmp, *big = F + p.big,
        *dw = F + p.dw, *s = F + p.s, *kern = F + p.kern, *mask_bias = F + p.mask_bias;
  const int32_t* seq = j.seq_starts ? I32 + p.seq : nullptr;
  float* emb = big;

  EmbeddingArgs ea;
  ea.ids = j.inputs_embeds ? nullptr : I32 + p.ids;
  ea.embeds = j.inputs_embeds ? F + p.embeds : nullptr;
  ea.positions = I32 + p.positions;
  ea.types = I32 + p.types;
  ea.word = e.word;
  ea.pos = e.pos;
  ea.type = e.type;
  ea.vocab = c.vocab_size;
  ea.max_pos = c.max_positions;
  ea.type_vocab = c.type_vocab;
  ea.T = T;
  ea.E = E;
  ea.y = emb;
  CONVBERT_RETURN_IF_ERROR(embedding_cuda(ea, st));
  LayerNormArgs ln;
  ln.x = emb;
  ln.y = e.has_project ? emb : h;
  ln.gamma = e.emb_ln_g;
  ln.beta = e.emb_ln_b;
  ln.rows = T;
  ln.C = E;
  ln.eps = c.layer_norm_eps;
  CONVBERT_RETURN_IF_ERROR(layernorm_cuda(ln, st));
  if (e.has_project) CONVBERT_RETURN_IF_ERROR(e.linear(e.project, emb, E, T, h, H));
  float* hidden = F + p.hidden;
  if (!j.hidden_states.empty())
    CUDA_TRY(cudaMemcpyAsync(hidden, h, static_cast<size_t>(T * H) * 4, cudaMemcpyDeviceToDevice, st));
  if (j.attention_mask) {
    CONVBERT_LAUNCH(mask_bias_kernel, grid_for(p.mask_n, 256), 256, 0, st)(F + p.mask_in, mask_bias, p.mask_n);
    CUDA_TRY(cudaGetLastError());
  }

  for (int64_t li = 0; li < c.layers; ++li) {
    const DevLayer& w = e.layers[static_cast<size_t>(li)];
    CONVBERT_RETURN_IF_ERROR(e.linear(w.qkvc, h, H, T, qkvc, 4 * A));
    SepConvArgs sc;
    sc.x = h;
    sc.y = dw;
    sc.wt = w.dw_t;
    sc.B = B;
    sc.L = L;
    sc.C = H;
    sc.K = K;
    sc.seq_starts = seq;
    CONVBERT_RETURN_IF_ERROR(sepconv_cuda(sc, st));
    CONVBERT_RETURN_IF_ERROR(e.linear(w.pointwise, dw, H, T, s, A));
    CONVBERT_LAUNCH(mul_rows_kernel, grid_for(T * A, 256), 256, 0, st)(s, qkvc, T, A, 4 * A);
    CUDA_TRY(cudaGetLastError());
    CONVBERT_RETURN_IF_ERROR(e.linear(w.conv_kernel, s, A, T, kern, S * K));
    DynConvArgs dc;
    dc.v = qkvc + 3 * A;
    dc.ldv = 4 * A;
    dc.w = kern;  // logits: the tap softmax is fused into the kernel
    dc.out = ctx + A;
    dc.ldo = H;
    dc.B = B;
    dc.L = L;
    dc.H = S;
    dc.D = D;
    dc.K = K;
    dc.seq_starts = seq;
    CONVBERT_RETURN_IF_ERROR(dynconv_cuda(dc, true, st));
    AttentionArgs at;
    at.q = qkvc;
    at.k = qkvc + A;
    at.v = qkvc + 2 * A;
    at.ld = 4 * A;
    at.B = B;
    at.L = L;
    at.H = S;
    at.D = D;
    at.mask_bias = j.attention_mask ? mask_bias : nullptr;
    at.mask_rank = j.mask_rank;
    at.head_mult = j.head_mask ? F + p.head_mask + li * S : nullptr;
    at.out = ctx;
    at.ldo = H;
    at.probs = j.attentions.empty() ? nullptr : F + p.attn + li * B * S * L * L;
    at.seq_starts = seq;
    CONVBERT_RETURN_IF_ERROR(attention_cuda(at, false, st));
    // attention.output: dense with the residual fused into the epilogue, then LayerNorm.
    CONVBERT_RETURN_IF_ERROR(e.linear(w.attn_out, ctx, H, T, tmp, H, Activation::kIdentity, h, H));
    LayerNormArgs l1;
    l1.x = tmp;
    l1.y = h1;
    l1.gamma = w.ln1_g;
    l1.beta = w.ln1_b;
    l1.rows = T;
    l1.C = H;
    l1.eps = c.layer_norm_eps;
    CONVBERT_RETURN_IF_ERROR(layernorm_cuda(l1, st));
    float* inter = big;
    CONVBERT_RETURN_IF_ERROR(e.linear(w.inter, h1, H, T, inter, c.intermediate, static_cast<Activation>(c.hidden_act)));
    CONVBERT_RETURN_IF_ERROR(e.linear(w.out, inter, c.intermediate, T, tmp, H, Activation::kIdentity, h1, H));
    LayerNormArgs l2 = l1;
    l2.x = tmp;
    l2.y = h;
    l2.gamma = w.ln2_g;
    l2.beta = w.ln2_b;
    CONVBERT_RETURN_IF_ERROR(layernorm_cuda(l2, st));
    if (!j.hidden_states.empty())
      CUDA_TRY(cudaMemcpyAsync(hidden + (li + 1) * T * H, h, static_cast<size_t>(T * H) * 4,
                               cudaMemcpyDeviceToDevice, st));
  }

  // Heads (heads.cc).
  float* logits = F + p.logits;
  float* pooled = F + p.pooled;
  const int64_t n_out = e.head.num_outputs;
  switch (e.head.kind) {
    case HeadKind::kNone: return Status::Ok();
    case HeadKind::kMaskedLM: {
      CONVBERT_RETURN_IF_ERROR(e.linear(e.h_dense, h, H, T, emb, E, Activation::kGeluErf));
      LayerNormArgs hl;
      hl.x = emb;
      hl.y = emb;
      hl.gamma = e.h_ln_g;
      hl.beta = e.h_ln_b;
      hl.rows = T;
      hl.C = E;
      hl.eps = c.layer_norm_eps;
      CONVBERT_RETURN_IF_ERROR(layernorm_cuda(hl, st));
      return e.linear(e.h_out, emb, E, T, logits, n_out);
    }
    case HeadKind::kSequenceClassification: {
      CONVBERT_LAUNCH(pool_kernel, static_cast<unsigned>(B), 256, 0, st)(h, pooled, H, L, seq, nullptr, 0);
      CUDA_TRY(cudaGetLastError());
      float* x = F + p.proj;
      CONVBERT_RETURN_IF_ERROR(e.linear(e.h_dense, pooled, H, B, x, H, static_cast<Activation>(e.head.act)));
      return e.linear(e.h_out, x, H, B, logits, n_out);
    }
    case HeadKind::kTokenClassification:
    case HeadKind::kQuestionAnswering:
      return e.linear(e.h_out, h, H, T, logits, n_out);
    case HeadKind::kMultipleChoice: {
      int mode = 1;
      switch (e.head.summary_type) {
        case SummaryType::kLast: mode = 1; break;
        case SummaryType::kFirst: mode = 0; break;
        case SummaryType::kMean: mode = 2; break;
        case SummaryType::kClsIndex: mode = 3; break;
      }
      CONVBERT_LAUNCH(pool_kernel, static_cast<unsigned>(B), 256, 0, st)(h, pooled, H, L, seq, j.cls_index ? I32 + p.cls : nullptr,
                                                            mode);
      CUDA_TRY(cudaGetLastError());
      float* x = pooled;
      int64_t P = H;
      if (e.head.summary_use_proj) {
        P = e.head.summary_proj_out;
        CONVBERT_RETURN_IF_ERROR(e.linear(e.h_dense, pooled, H, B, F + p.proj, P));
        x = F + p.proj;
      }
      if (e.head.summary_act >= 0)
        CONVBERT_RETURN_IF_ERROR(activation_cuda(x, x, nullptr, B * P, P, static_cast<Activation>(e.head.summary_act), st));
      return e.linear(e.h_out, x, P, B, logits, 1);
    }
  }
  return Status::Error(StatusCode::kInternal, "cuda engine: unknown head kind");
}

Status check_job(const CudaEngine& e, const ForwardJob& j) {
  const EngineConfig& c = e.cfg;
  if (j.B <= 0 || j.L <= 0) return Status::Error(StatusCode::kShape, "forward: B and L must be positive");
  if (j.B > 65535) return Status::Error(StatusCode::kUnsupported, "forward (cuda): batch must be at most 65535");
  if (j.L > c.max_positions && !j.position_ids)
    return Status::Error(StatusCode::kShape, "forward: sequence length " + std::to_string(j.L) +
                                                 " exceeds max_position_embeddings " + std::to_string(c.max_positions));
  if (!j.last_hidden_state || (e.head.kind != HeadKind::kNone && !j.logits) || (!j.input_ids && !j.inputs_embeds))
    return Status::Error(StatusCode::kInvalidArgument, "forward: missing input or output buffer");
  if (!j.hidden_states.empty() && static_cast<int64_t>(j.hidden_states.size()) != c.layers + 1)
    return Status::Error(StatusCode::kInvalidArgument, "forward: hidden_states needs num_hidden_layers + 1 arrays");
  if (!j.attentions.empty() && static_cast<int64_t>(j.attentions.size()) != c.layers)
    return Status::Error(StatusCode::kInvalidArgument, "forward: attentions needs num_hidden_layers arrays");
  if (j.seq_starts) {
    if (j.seq_starts[0] != 0) return Status::Error(StatusCode::kInvalidArgument, "cu_seqlens[0] must be 0");
    for (int64_t b = 0; b < j.B; ++b) {
      const int64_t len = static_cast<int64_t>(j.seq_starts[b + 1]) - j.seq_starts[b];
      if (len < 1 || len > j.L)
        return Status::Error(StatusCode::kInvalidArgument, "cu_seqlens: sequence " + std::to_string(b) +
                                                               " has length " + std::to_string(len) + ", expected 1.." +
                                                               std::to_string(j.L));
    }
    if (j.attention_mask || !j.attentions.empty())
      return Status::Error(StatusCode::kInvalidArgument,
                           "cu_seqlens: varlen forwards take no attention_mask and return no attentions");
  }
  if (j.attention_mask && j.mask_rank != 2 && j.mask_rank != 3)
    return Status::Error(StatusCode::kInvalidArgument, "forward: attention_mask rank must be 2 or 3");
  if (e.head.kind == HeadKind::kMultipleChoice && e.head.summary_type == SummaryType::kClsIndex && j.cls_index) {
    for (int64_t b = 0; b < j.B; ++b) {
      const int64_t len = j.seq_starts ? j.seq_starts[b + 1] - j.seq_starts[b] : j.L;
      if (j.cls_index[b] < 0 || j.cls_index[b] >= len)
        return Status::Error(StatusCode::kInvalidArgument, "cls_index: " + std::to_string(j.cls_index[b]) +
                                                               " at row " + std::to_string(b) + " is outside [0, " +
                                                               std::to_string(len) + ")");
    }
  }
  return Status::Ok();
}

Status copy_in(cudaStream_t st, void* dst, const void* src, int64_t bytes) {
  if (bytes > 0) CUDA_TRY(cudaMemcpyAsync(dst, src, static_cast<size_t>(bytes), cudaMemcpyHostToDevice, st));
  return Status::Ok();
}
Status copy_out(cudaStream_t st, void* dst, const void* src, int64_t bytes) {
  if (bytes > 0) CUDA_TRY(cudaMemcpyAsync(dst, src, static_cast<size_t>(bytes), cudaMemcpyDeviceToHost, st));
  return Status::Ok();
}

}  // namespace

namespace {
Status cuda_engine_forward_impl(CudaEngine& e, const ForwardJob& j) {
  std::lock_guard<std::mutex> lock(e.mu);
  CONVBERT_RETURN_IF_ERROR(cuda_begin(e.opts.device));
  CONVBERT_RETURN_IF_ERROR(check_job(e, j));
  const EngineConfig& c = e.cfg;
  const Plan p = make_plan(e, j);
  const int64_t T = p.T, H = c.hidden;

  // Host-side inputs: positions (arange per sequence unless given), zero types when absent; ids range-checked.
  std::vector<int32_t> positions(static_cast<size_t>(T)), types;
  if (j.position_ids) {
    std::memcpy(positions.data(), j.position_ids, static_cast<size_t>(T) * 4);
  } else if (j.seq_starts) {
    for (int64_t b = 0; b < j.B; ++b)
      for (int32_t t = j.seq_starts[b]; t < j.seq_starts[b + 1]; ++t) positions[t] = t - j.seq_starts[b];
  } else {
    for (int64_t b = 0; b < j.B; ++b)
      for (int64_t l = 0; l < j.L; ++l) positions[b * j.L + l] = static_cast<int32_t>(l);
  }
  if (!j.token_type_ids) types.assign(static_cast<size_t>(T), 0);
  const int32_t* types_src = j.token_type_ids ? j.token_type_ids : types.data();
  {
    EmbeddingArgs ea;
    ea.ids = j.inputs_embeds ? nullptr : j.input_ids;
    ea.embeds = j.inputs_embeds;
    ea.positions = positions.data();
    ea.types = types_src;
    ea.vocab = c.vocab_size;
    ea.max_pos = c.max_positions;
    ea.type_vocab = c.type_vocab;
    ea.T = T;
    CONVBERT_RETURN_IF_ERROR(embedding_check_ids(ea));
  }

  // Arena: grow (dropping the graphs that point into it) when this shape needs more. Each part
  // grows to the larger of what it had and what this shape needs, never to exactly this shape's
  // size: shapes that need more floats but fewer ints (or the reverse) would otherwise reallocate
  // on every alternation and throw away every captured graph each time.
  if (p.f_total > e.arena_f_n || p.i_total > e.arena_i_n) {
    e.drop_graphs();
    CUDA_TRY(cudaStreamSynchronize(e.stream));
    if (p.f_total > e.arena_f_n) {
      e.arena_f.reset();  // free first, so the old and new arenas are never held together
      e.arena_f_n = 0;
      auto f = std::make_unique<DeviceBuffer>();
      CONVBERT_RETURN_IF_ERROR(f->alloc(static_cast<size_t>(p.f_total) * 4));
      e.arena_f = std::move(f);
      e.arena_f_n = p.f_total;
    }
    if (p.i_total > e.arena_i_n) {
      e.arena_i.reset();
      e.arena_i_n = 0;
      auto i = std::make_unique<DeviceBuffer>();
      CONVBERT_RETURN_IF_ERROR(i->alloc(static_cast<size_t>(p.i_total) * 4));
      e.arena_i = std::move(i);
      e.arena_i_n = p.i_total;
    }
  }
  float* F = e.arena_f->as<float>();
  int32_t* I32 = e.arena_i->as<int32_t>();
  cudaStream_t st = e.stream;

  if (!j.inputs_embeds) CONVBERT_RETURN_IF_ERROR(copy_in(st, I32 + p.ids, j.input_ids, T * 4));
  else CONVBERT_RETURN_IF_ERROR(copy_in(st, F + p.embeds, j.inputs_embeds, T * c.embedding * 4));
  CONVBERT_RETURN_IF_ERROR(copy_in(st, I32 + p.types, types_src, T * 4));
  CONVBERT_RETURN_IF_ERROR(copy_in(st, I32 + p.positions, positions.data(), T * 4));
  if (j.seq_starts) CONVBERT_RETURN_IF_ERROR(copy_in(st, I32 + p.seq, j.seq_starts, (j.B + 1) * 4));
  if (j.cls_index) CONVBERT_RETURN_IF_ERROR(copy_in(st, I32 + p.cls, j.cls_index, j.B * 4));
  if (j.attention_mask) CONVBERT_RETURN_IF_ERROR(copy_in(st, F + p.mask_in, j.attention_mask, p.mask_n * 4));
  if (j.head_mask) CONVBERT_RETURN_IF_ERROR(copy_in(st, F + p.head_mask, j.head_mask, c.layers * c.sa_heads * 4));

  if (e.opts.graphs) {
    const std::vector<int64_t> key = {j.B, j.L, T, j.inputs_embeds ? 1 : 0, j.attention_mask ? j.mask_rank : 0,
                                      j.head_mask ? 1 : 0, j.hidden_states.empty() ? 0 : 1,
                                      j.attentions.empty() ? 0 : 1, j.seq_starts ? 1 : 0, j.cls_index ? 1 : 0};
    auto it = e.graphs.find(key);
    if (it == e.graphs.end()) {
      if (e.graphs.size() >= 64) e.drop_graphs();  // bound the cache; shapes past 64 are recaptured
      CUDA_TRY(cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal));
      Status est = enqueue(e, j, p, F, I32);
      cudaGraph_t graph = nullptr;
      const cudaError_t end = cudaStreamEndCapture(st, &graph);
      if (!est.ok()) {
        if (graph) cudaGraphDestroy(graph);
        (void)cudaGetLastError();
        return est;
      }
      CUDA_TRY(end);
      cudaGraphExec_t exec = nullptr;
      const cudaError_t inst = cudaGraphInstantiate(&exec, graph, 0);
      cudaGraphDestroy(graph);
      CUDA_TRY(inst);
      it = e.graphs.emplace(key, exec).first;
    }
    CUDA_TRY(cudaGraphLaunch(it->second, st));
  } else {
    CONVBERT_RETURN_IF_ERROR(enqueue(e, j, p, F, I32));
  }

  CONVBERT_RETURN_IF_ERROR(copy_out(st, j.last_hidden_state, F + p.h, T * H * 4));
  if (e.head.kind != HeadKind::kNone) CONVBERT_RETURN_IF_ERROR(copy_out(st, j.logits, F + p.logits, p.logits_n * 4));
  for (size_t i = 0; i < j.hidden_states.size(); ++i)
    CONVBERT_RETURN_IF_ERROR(copy_out(st, j.hidden_states[i], F + p.hidden + static_cast<int64_t>(i) * T * H, T * H * 4));
  const int64_t an = j.B * c.sa_heads * j.L * j.L;
  for (size_t i = 0; i < j.attentions.size(); ++i)
    CONVBERT_RETURN_IF_ERROR(copy_out(st, j.attentions[i], F + p.attn + static_cast<int64_t>(i) * an, an * 4));
  CUDA_TRY(cudaStreamSynchronize(st));
  return Status::Ok();
}
}  // namespace

Status cuda_engine_forward(CudaEngine& e, const ForwardJob& j) {
  try {
    return cuda_engine_forward_impl(e, j);
  } catch (const std::bad_alloc&) {
    return Status::Error(StatusCode::kOutOfMemory, "forward (cuda): out of host memory");
  }
}

int64_t cuda_engine_weight_bytes(const CudaEngine& e) { return e.weight_bytes; }
int64_t cuda_engine_arena_bytes(const CudaEngine& e) { return (e.arena_f_n + e.arena_i_n) * 4; }
int64_t cuda_engine_graph_count(const CudaEngine& e) { return static_cast<int64_t>(e.graphs.size()); }

}  // namespace convbert
