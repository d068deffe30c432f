// engine.cu: a built CPU Model on one CUDA device, as a ForwardTarget. It keeps only
// what is device-specific: weight upload (gemm weights unpacked from the CPU panels to
// (N, K) rows in the engine dtype, everything else fp32, resident), a device arena that
// only grows, the staging copies (host inputs into fixed slots of the arena, outputs
// back out), and graph capture: the plan itself is engine.h's walk_forward, the same
// walk the CPU runs, driven here by the CUDA op table (backend.cu). Each new request
// shape is captured once as a CUDA graph and replayed. Every CUDA error comes back as
// a Status (OOM -> kOutOfMemory).
#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "common.cuh"
#include "kernels.cuh"

namespace convbert {

class CudaEngine final : public ForwardTarget {
 public:
  CudaEngineOptions opts;
  EngineConfig cfg;
  HeadConfig head;
  CudaCtx ctx;  // the stream, dtype and tf32 every op of the walk runs with
  std::vector<std::unique_ptr<DeviceBuffer>> weights;
  int64_t weight_bytes = 0;
  std::deque<DevLinear> linears;  // what refs' LinearRefs point at (a deque never moves its elements)
  ModelRefs refs;                 // the weights in device memory, as walk_forward reads them

  // Arena: floats and ints; graphs hold its addresses, so growing it drops every graph.
  std::unique_ptr<DeviceBuffer> arena_f, arena_i;
  int64_t arena_f_n = 0, arena_i_n = 0;
  std::map<std::vector<int64_t>, cudaGraphExec_t> graphs;
  std::mutex mu;

  ~CudaEngine() override {
    cudaSetDevice(opts.device);
    drop_graphs();
    if (ctx.stream) cudaStreamDestroy(ctx.stream);
  }
  void drop_graphs() {
    for (auto& g : graphs) cudaGraphExecDestroy(g.second);
    graphs.clear();
  }

  Status run(const Model& model, const ForwardJob& job) override;

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

  Status upload_linear(const PackedLinear& p, LinearRef* ref) {
    linears.emplace_back();
    DevLinear* d = &linears.back();
    CONVBERT_RETURN_IF_ERROR(upload_linear_weights(p, d));
    ref->w = d;
    ref->N = d->N;
    ref->K = d->K;
    ref->G = d->G;
    return Status::Ok();
  }

 private:
  Status run_impl(const ForwardJob& j);
  Status upload_linear_weights(const PackedLinear& p, DevLinear* d) {
    // The unpacking below reads fp32 panels; a bf16 or int8 model has none (packed is empty),
    // so reading it would be a garbage or out-of-bounds read, not a conversion.
    if (p.is_bf16() || p.is_i8() || p.G <= 0 || p.N % p.G != 0 || p.K % p.G != 0 ||
        p.packed.size() < static_cast<size_t>(p.G) * static_cast<size_t>(packed_gemm_size(p.N / p.G, p.K / p.G)))
      return Status::Error(
          StatusCode::kUnsupported,
          std::string("cuda engine: a linear layer holds ") +
              (p.is_bf16() ? "bfloat16"
               : p.is_i8() ? "int8"
                           : "no float32") +
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
    if (opts.dtype == Dtype::kFloat32) {
      CONVBERT_RETURN_IF_ERROR(upload_f32(w, &w32));
      d->W = w32;
    } else {
      DeviceBuffer tmp;
      CONVBERT_RETURN_IF_ERROR(to_device(&tmp, w.data(), static_cast<int64_t>(w.size())));
      // A pageable cudaMemcpy may return before its DMA lands; the conversion runs on another stream.
      CUDA_TRY(cudaDeviceSynchronize());
      auto buf = std::make_unique<DeviceBuffer>();
      CONVBERT_RETURN_IF_ERROR(buf->alloc(w.size() * 2));
      CONVBERT_RETURN_IF_ERROR(
          convert_f32_cuda(tmp.as<float>(), buf->as<void>(), static_cast<int64_t>(w.size()), opts.dtype, ctx.stream));
      CUDA_TRY(cudaStreamSynchronize(ctx.stream));  // tmp is freed on return
      d->W = buf->as<void>();
      weight_bytes += static_cast<int64_t>(w.size()) * 2;
      weights.push_back(std::move(buf));
    }
    d->bias = nullptr;
    if (!p.bias.empty()) CONVBERT_RETURN_IF_ERROR(upload_f32(p.bias, &d->bias));
    return Status::Ok();
  }
};

namespace {

Status cuda_engine_create_impl(const Model& m, const CudaEngineOptions& opts, std::shared_ptr<CudaEngine>* out) {
  CONVBERT_RETURN_IF_ERROR(cuda_begin(opts.device));
  if (opts.dtype == Dtype::kInt8)
    return Status::Error(StatusCode::kUnsupported, "dtype int8 runs on the CPU engine only; use device 'cpu'");
  if (opts.tf32 && opts.dtype != Dtype::kFloat32)
    return Status::Error(StatusCode::kInvalidArgument, "tf32: only applies to dtype float32");
  if (m.dtype != Dtype::kFloat32)
    return Status::Error(StatusCode::kUnsupported, std::string("cuda engine: the model's linear weights are ") +
                                                       dtype_name(m.dtype) +
                                                       "; the CUDA engine takes a float32 Model and converts to its "
                                                       "dtype (float32, float16, bfloat16) itself");
  auto e = std::make_shared<CudaEngine>();
  e->opts = opts;
  // CONVBERT_CUDA_GRAPHS=0 runs every forward as plain launches: for compute-sanitizer's
  // initcheck (it checks a graph's copy nodes when the graph is launched, before the kernels
  // that write their sources have run) and for debugging a shape one launch at a time.
  if (const char* g = std::getenv("CONVBERT_CUDA_GRAPHS")) e->opts.graphs = std::strcmp(g, "0") != 0;
  e->cfg = m.cfg;
  e->head = m.head;
  e->ctx.dtype = opts.dtype;
  e->ctx.tf32 = opts.tf32;
  CUDA_TRY(cudaStreamCreateWithFlags(&e->ctx.stream, cudaStreamNonBlocking));
  ModelRefs& r = e->refs;
  CONVBERT_RETURN_IF_ERROR(e->upload_f32(m.word, &r.word));
  CONVBERT_RETURN_IF_ERROR(e->upload_f32(m.pos, &r.pos));
  CONVBERT_RETURN_IF_ERROR(e->upload_f32(m.type, &r.type));
  CONVBERT_RETURN_IF_ERROR(e->upload_f32(m.emb_ln_g, &r.emb_ln_g));
  CONVBERT_RETURN_IF_ERROR(e->upload_f32(m.emb_ln_b, &r.emb_ln_b));
  r.has_project = m.has_project;
  if (m.has_project) CONVBERT_RETURN_IF_ERROR(e->upload_linear(m.project, &r.project));
  r.layers.reserve(m.layers.size());
  for (const LayerWeights& w : m.layers) {
    LayerRefs d;
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
    r.layers.push_back(d);
  }
  switch (m.head.kind) {
    case HeadKind::kMaskedLM:
      CONVBERT_RETURN_IF_ERROR(e->upload_linear(m.h_dense, &r.h_dense));
      CONVBERT_RETURN_IF_ERROR(e->upload_f32(m.h_ln_g, &r.h_ln_g));
      CONVBERT_RETURN_IF_ERROR(e->upload_f32(m.h_ln_b, &r.h_ln_b));
      CONVBERT_RETURN_IF_ERROR(e->upload_linear(m.h_out, &r.h_out));
      break;
    case HeadKind::kSequenceClassification:
      CONVBERT_RETURN_IF_ERROR(e->upload_linear(m.h_dense, &r.h_dense));
      CONVBERT_RETURN_IF_ERROR(e->upload_linear(m.h_out, &r.h_out));
      break;
    case HeadKind::kMultipleChoice:
      if (m.head.summary_use_proj) CONVBERT_RETURN_IF_ERROR(e->upload_linear(m.h_dense, &r.h_dense));
      CONVBERT_RETURN_IF_ERROR(e->upload_linear(m.h_out, &r.h_out));
      break;
    case HeadKind::kTokenClassification:
    case HeadKind::kQuestionAnswering: CONVBERT_RETURN_IF_ERROR(e->upload_linear(m.h_out, &r.h_out)); break;
    case HeadKind::kNone: break;
  }
  // Every upload (legacy-stream copies and conversions on the engine's stream) has landed before the first forward.
  CUDA_TRY(cudaDeviceSynchronize());
  *out = std::move(e);
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

// Host-side staging (unpacked weights, positions) uses std::vector: an allocation failure
// becomes kOutOfMemory here instead of a bad_alloc thrown through the caller's worker.
Status cuda_engine_create(const Model& m, const CudaEngineOptions& opts, std::shared_ptr<CudaEngine>* out) {
  try {
    return cuda_engine_create_impl(m, opts, out);
  } catch (const std::bad_alloc&) {
    return Status::Error(StatusCode::kOutOfMemory, "cuda engine: out of host memory while uploading the weights");
  }
}

std::shared_ptr<ForwardTarget> cuda_engine_target(const std::shared_ptr<CudaEngine>& e) { return e; }

// The job was validated by forward() (validate_forward) before it got here; the weights
// are this engine's copies of the model's, so the model itself is not read.
Status CudaEngine::run(const Model&, const ForwardJob& j) {
  try {
    return run_impl(j);
  } catch (const std::bad_alloc&) {
    return Status::Error(StatusCode::kOutOfMemory, "forward (cuda): out of host memory");
  }
}

Status CudaEngine::run_impl(const ForwardJob& j) {
  std::lock_guard<std::mutex> lock(mu);
  CONVBERT_RETURN_IF_ERROR(cuda_begin(opts.device));
  // A launch limit, not a request check: several kernels put the batch on grid y or z.
  if (j.B > 65535) return Status::Error(StatusCode::kUnsupported, "forward (cuda): batch must be at most 65535");
  PlanOptions po;
  po.staged = true;
  ArenaPlan p;
  CONVBERT_RETURN_IF_ERROR(plan_arena(cfg, head, j, po, &p));
  const int64_t T = p.T, H = cfg.hidden;
  std::vector<int32_t> positions(static_cast<size_t>(T));
  fill_positions(j, positions.data());

  // Arena: grow (dropping the graphs that point into it) when this shape needs more. Each part
  // grows to the larger of what it had and what this shape needs, never to exactly this shape's
  // size: shapes that need more floats but fewer ints (or the reverse) would otherwise reallocate
  // on every alternation and throw away every captured graph each time.
  if (p.f_total > arena_f_n || p.i_total > arena_i_n) {
    drop_graphs();
    CUDA_TRY(cudaStreamSynchronize(ctx.stream));
    if (p.f_total > arena_f_n) {
      arena_f.reset();  // free first, so the old and new arenas are never held together
      arena_f_n = 0;
      auto f = std::make_unique<DeviceBuffer>();
      CONVBERT_RETURN_IF_ERROR(f->alloc(static_cast<size_t>(p.f_total) * 4));
      arena_f = std::move(f);
      arena_f_n = p.f_total;
    }
    if (p.i_total > arena_i_n) {
      arena_i.reset();
      arena_i_n = 0;
      auto i = std::make_unique<DeviceBuffer>();
      CONVBERT_RETURN_IF_ERROR(i->alloc(static_cast<size_t>(p.i_total) * 4));
      arena_i = std::move(i);
      arena_i_n = p.i_total;
    }
  }
  float* F = arena_f->as<float>();
  int32_t* I32 = arena_i->as<int32_t>();
  cudaStream_t st = ctx.stream;

  // Staging: every input into its slot; the walk reads only the arena.
  if (!j.inputs_embeds) CONVBERT_RETURN_IF_ERROR(copy_in(st, I32 + p.ids, j.input_ids, T * 4));
  else CONVBERT_RETURN_IF_ERROR(copy_in(st, F + p.embeds, j.inputs_embeds, T * cfg.embedding * 4));
  if (j.token_type_ids) CONVBERT_RETURN_IF_ERROR(copy_in(st, I32 + p.types, j.token_type_ids, T * 4));
  CONVBERT_RETURN_IF_ERROR(copy_in(st, I32 + p.positions, positions.data(), T * 4));
  if (j.cu_seqlens) CONVBERT_RETURN_IF_ERROR(copy_in(st, I32 + p.seq, j.cu_seqlens, (j.B + 1) * 4));
  if (j.cls_index) CONVBERT_RETURN_IF_ERROR(copy_in(st, I32 + p.cls, j.cls_index, j.B * 4));
  if (j.attention_mask) CONVBERT_RETURN_IF_ERROR(copy_in(st, F + p.mask_in, j.attention_mask, p.mask_n * 4));
  if (j.head_mask) CONVBERT_RETURN_IF_ERROR(copy_in(st, F + p.head_mask, j.head_mask, cfg.layers * cfg.sa_heads * 4));

  const int64_t an = j.B * cfg.sa_heads * j.L * j.L;
  std::vector<float*> hidden(j.hidden_states.size()), attn(j.attentions.size());
  for (size_t i = 0; i < hidden.size(); ++i) hidden[i] = F + p.hidden + static_cast<int64_t>(i) * T * H;
  for (size_t i = 0; i < attn.size(); ++i) attn[i] = F + p.attn + static_cast<int64_t>(i) * an;
  WalkIO io;
  io.B = j.B;
  io.L = j.L;
  io.T = T;
  io.ids = j.inputs_embeds ? nullptr : I32 + p.ids;
  io.embeds = j.inputs_embeds ? F + p.embeds : nullptr;
  io.types = j.token_type_ids ? I32 + p.types : nullptr;
  io.positions = I32 + p.positions;
  io.mask = j.attention_mask ? F + p.mask_in : nullptr;
  io.mask_rank = j.mask_rank;
  io.head_mask = j.head_mask ? F + p.head_mask : nullptr;
  io.cls_index = j.cls_index ? I32 + p.cls : nullptr;
  io.cu_seqlens = j.cu_seqlens ? I32 + p.seq : nullptr;
  io.last_hidden_state = F + p.h;  // read back from where the walk leaves it
  io.logits = F + p.logits;
  io.hidden_states = hidden.empty() ? nullptr : hidden.data();
  io.attentions = attn.empty() ? nullptr : attn.data();
  const Backend be = cuda_backend(&ctx);

  if (opts.graphs) {
    // Everything that changes the walk's launches or their addresses; the values in the slots may differ.
    const std::vector<int64_t> key = {j.B,
                                      j.L,
                                      T,
                                      j.inputs_embeds ? 1 : 0,
                                      j.attention_mask ? j.mask_rank : 0,
                                      j.head_mask ? 1 : 0,
                                      j.hidden_states.empty() ? 0 : 1,
                                      j.attentions.empty() ? 0 : 1,
                                      j.cu_seqlens ? 1 : 0,
                                      j.cls_index ? 1 : 0,
                                      j.token_type_ids ? 1 : 0};
    auto it = graphs.find(key);
    if (it == graphs.end()) {
      if (graphs.size() >= 64) drop_graphs();  // bound the cache; shapes past 64 are recaptured
      CUDA_TRY(cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal));
      Status est = walk_forward(cfg, head, refs, be, io, p, F);
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
      it = graphs.emplace(key, exec).first;
    }
    CUDA_TRY(cudaGraphLaunch(it->second, st));
  } else {
    CONVBERT_RETURN_IF_ERROR(walk_forward(cfg, head, refs, be, io, p, F));
  }

  CONVBERT_RETURN_IF_ERROR(copy_out(st, j.last_hidden_state, F + p.h, T * H * 4));
  if (head.kind != HeadKind::kNone) CONVBERT_RETURN_IF_ERROR(copy_out(st, j.logits, F + p.logits, p.logits_n * 4));
  for (size_t i = 0; i < j.hidden_states.size(); ++i)
    CONVBERT_RETURN_IF_ERROR(copy_out(st, j.hidden_states[i], hidden[i], T * H * 4));
  for (size_t i = 0; i < j.attentions.size(); ++i)
    CONVBERT_RETURN_IF_ERROR(copy_out(st, j.attentions[i], attn[i], an * 4));
  CUDA_TRY(cudaStreamSynchronize(st));
  return Status::Ok();
}

int64_t cuda_engine_weight_bytes(const CudaEngine& e) { return e.weight_bytes; }
int64_t cuda_engine_arena_bytes(const CudaEngine& e) { return (e.arena_f_n + e.arena_i_n) * 4; }
int64_t cuda_engine_graph_count(const CudaEngine& e) { return static_cast<int64_t>(e.graphs.size()); }

}  // namespace convbert
