// engine.h: the ConvBERT encoder and its heads as one forward over a workspace
// arena (HF modeling_convbert, transformers >= 4.27 geometry, float32, eval).
// A Model owns native copies of every weight, linear layers pre-packed for
// gemm. The plan exists once (walk_forward, on a backend.h op table); a
// ForwardTarget runs it: CpuTarget on the host over arenas reused from a small
// per-model pool (the steady state allocates nothing), the CUDA engine on a
// device inside graph capture. No Node headers.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "convbert/backend.h"
#include "convbert/dtype.h"
#include "convbert/huge_vector.h"
#include "convbert/ops.h"
#include "convbert/status.h"

namespace convbert {

struct EngineConfig {
  // Trunk geometry: sa_heads dot-product heads and sa_heads conv heads, each head_dim
  // wide, so 2 * sa_heads * head_dim == hidden.
  int64_t vocab_size = 0, hidden = 0, embedding = 0, layers = 0, sa_heads = 0, head_dim = 0;
  int64_t intermediate = 0, conv_kernel = 0, groups = 1, max_positions = 0, type_vocab = 0;
  float layer_norm_eps = 1e-12f;
  int32_t hidden_act = 1;  // convbert::Activation
};

enum class HeadKind : int32_t {
  kNone = 0,
  kMaskedLM,
  kSequenceClassification,
  kTokenClassification,
  kQuestionAnswering,
  kMultipleChoice,
};

enum class SummaryType : int32_t { kLast = 0, kFirst, kMean, kClsIndex };

struct HeadConfig {
  HeadKind kind = HeadKind::kNone;
  int64_t num_outputs = 0;  // vocab (MLM), num_labels, 2 (QA), 1 (multiple choice)
  int32_t act = 1;          // sequence classification: Activation after classifier.dense
  SummaryType summary_type = SummaryType::kLast;
  bool summary_use_proj = false;
  int64_t summary_proj_out = 0;  // width of sequence_summary.summary when used
  int32_t summary_act = -1;      // Activation after the summary projection, -1 for none
};

// One weight the engine reads: HF name (trunk names without `convbert.`), element count.
struct WeightSpec {
  std::string name;
  int64_t numel = 0;
  bool head = false;  // looked up among the head weights rather than the trunk's
};

// Bounds validate_config puts on sizes that come from a config, so that no product of
// them overflows int64 and no loop or vector is sized by an absurd number: at most
// kMaxLayers encoder layers (the TypeScript side refuses more first), every size (and
// the head's outputs) at most kMaxDim, every weight at most kMaxWeightNumel elements.
constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxDim = (int64_t{1} << 31) - 1;
constexpr int64_t kMaxWeightNumel = int64_t{1} << 40;

// Checks the geometry (the shapes transformers itself can run), the head options and
// the bounds above (kUnsupported naming the size).
Status validate_config(const EngineConfig& cfg, const HeadConfig& head);
// Every weight build_model reads, for this config.
std::vector<WeightSpec> expected_weights(const EngineConfig& cfg, const HeadConfig& head);

// Model::dtype (dtype.h) is the type of the linear layers' packed weights, chosen at
// load; the CPU engine runs kFloat32, kBFloat16 and kInt8. kBFloat16: every
// PackedLinear holds bf16 k-pair panels and runs gemm_bf16 (fp32 accumulation,
// fp32 bias/activation). kInt8: every PackedLinear holds int8 k-quad panels
// quantised per output channel and runs gemm_i8 (activations quantised per row
// per call into the arena, int32 sums, fp32 epilogue). Either way embeddings,
// layernorm, softmax, attention and the convolutions stay fp32.

// A linear layer packed for gemm: G block-diagonal groups of (N/G, K/G) each.
struct PackedLinear {
  int64_t N = 0, K = 0, G = 1;
  HugeVector<float> packed;          // G * packed_gemm_size(N/G, K/G) floats (fp32 models)
  HugeVector<uint16_t> packed_bf16;  // G * packed_gemm_bf16_size(N/G, K/G) values (bf16 models)
  // int8 models: G * packed_gemm_i8_size(N/G, K/G) values, and per group i8_padded_cols(N/G)
  // scales and column sums.
  HugeVector<int8_t> packed_i8;
  std::vector<float> i8_scale;
  std::vector<int32_t> i8_colsum;
  std::vector<float> bias;  // N floats (empty = no bias)
  PackedMatrix group(int64_t g) const;
  PackedMatrixBf16 group_bf16(int64_t g) const;
  PackedMatrixI8 group_i8(int64_t g) const;
  bool is_bf16() const { return !packed_bf16.empty(); }
  bool is_i8() const { return !packed_i8.empty(); }
};

struct LayerWeights {
  PackedLinear qkvc;         // [query | key | value | conv_out_layer] rows: (4A, hidden)
  std::vector<float> dw_t;   // key_conv_attn_layer.depthwise transposed: (k, hidden)
  PackedLinear pointwise;    // key_conv_attn_layer.pointwise + its bias: (A, hidden)
  PackedLinear conv_kernel;  // (sa * k, A)
  PackedLinear attn_out;     // attention.output.dense (hidden, hidden)
  std::vector<float> ln1_g, ln1_b;
  PackedLinear inter;  // intermediate.dense, grouped when num_groups > 1
  PackedLinear out;    // output.dense, grouped when num_groups > 1
  std::vector<float> ln2_g, ln2_b;
};

// One forward's scratch memory; reused across forwards of any size (it only grows).
struct Arena {
  HugeVector<float> f;
  std::vector<int32_t> i;
};

class Model {
 public:
  EngineConfig cfg;
  HeadConfig head;
  Dtype dtype = Dtype::kFloat32;
  // Embeddings.
  HugeVector<float> word;  // (vocab, embedding): the largest single weight
  std::vector<float> pos, type, emb_ln_g, emb_ln_b;
  bool has_project = false;
  PackedLinear project;
  std::vector<LayerWeights> layers;
  // Heads (only those of head.kind are filled).
  PackedLinear h_dense;               // MLM generator_predictions.dense, seq-cls classifier.dense, MC summary
  std::vector<float> h_ln_g, h_ln_b;  // MLM generator_predictions.LayerNorm
  PackedLinear h_out;                 // lm head / out_proj / classifier / qa_outputs
  // Largest per-group K of any PackedLinear: sizes the int8 activation scratch.
  int64_t max_linear_k = 0;
  // Linear modules build_model was asked to keep in float32 (HF module names).
  std::vector<std::string> float32_modules;
  // The weights above as the CPU backend's refs (set by build_model; the vectors never move after).
  ModelRefs refs;

  // Native bytes held by the packed weights, and by the pooled arenas.
  int64_t weight_bytes() const { return weight_bytes_; }
  int64_t arena_bytes() const;

  std::unique_ptr<Arena> take_arena() const;
  void give_arena(std::unique_ptr<Arena> a) const;

  int64_t weight_bytes_ = 0;  // set by build_model

 private:
  mutable std::mutex arena_mu_;
  mutable std::vector<std::unique_ptr<Arena>> free_arenas_;
};

// Looks a weight up by name: returns its data (numel floats, validated by the
// caller) or null when absent. build_model calls it once per weight and copies
// the data before its next call, so the pointer need only live until then.
using WeightLookup = std::function<const float*(const WeightSpec& spec)>;

// Copies (and packs) every weight of expected_weights() into a new Model.
// dtype kBFloat16 packs the linear layers as bf16 (rounded to nearest even),
// kInt8 as int8 per output channel (ops.h pack_gemm_b_i8); kFloat16 is the CUDA
// engine's alone (kUnsupported here). modules_to_not_convert (HF's name;
// modulesToNotConvert in JS) names linear modules packed as float32 whatever
// dtype is: a key matches a module whose dot-separated name contains the key's parts as
// a contiguous run (trunk modules of a head model are under "convbert."); the
// fused query|key|value|conv_out_layer product stays float32 when any of the four
// matches. A key that matches no linear module is an error (kInvalidArgument).
Status build_model(const EngineConfig& cfg, const HeadConfig& head, const WeightLookup& lookup,
                   std::shared_ptr<Model>* out, Dtype dtype = Dtype::kFloat32,
                   const std::vector<std::string>& modules_to_not_convert = {});

// One forward request: inputs and preallocated outputs, all owned by the caller.
struct ForwardJob {
  int64_t B = 0, L = 0;
  const int32_t* input_ids = nullptr;       // (B, L), or null when inputs_embeds is given
  const float* inputs_embeds = nullptr;     // (B, L, embedding)
  const int32_t* token_type_ids = nullptr;  // (B, L) or null (zeros)
  const int32_t* position_ids = nullptr;    // (B, L) or null (arange(L) per row)
  const float* attention_mask = nullptr;    // (B, L) or (B, L, L), 1 attend / 0 masked; null = ones
  int32_t mask_rank = 0;
  const float* head_mask = nullptr;    // (layers, sa_heads) or null
  const int32_t* cls_index = nullptr;  // (B,) for summary_type cls_index, or null (last position)
  // Varlen: null (padded (B, L) layout), or B + 1 offsets into one axis of T = cu_seqlens[B] tokens;
  // every (B, L) above is then (T,), L is the longest sequence, and each sequence runs as if alone.
  // attention_mask must be null and attentions empty.
  const int32_t* cu_seqlens = nullptr;
  // Owner of cu_seqlens when the caller copies them (the binding does: JS could
  // rewrite its array while a forward runs, and output sizes depend on it).
  std::vector<int32_t> cu_seqlens_storage;
  float* last_hidden_state = nullptr;  // (B, L, hidden), required
  float* logits = nullptr;             // head output, required unless head kind is none
  std::vector<float*> hidden_states;   // empty, or layers + 1 arrays of (B, L, hidden)
  std::vector<float*> attentions;      // empty, or layers arrays of (B, sa_heads, L, L)
};

// The one request check, run before any backend sees the job: sizes, buffers, output
// counts, cu_seqlens, mask rank, and every id, type, position and cls_index in range
// (kShape / kInvalidArgument naming the input). Backends trust a validated job.
Status validate_forward(const EngineConfig& cfg, const HeadConfig& head, const ForwardJob& job);

// Fills positions (T ints) as the forward uses them: position_ids when given, else
// arange per sequence (per row of the padded layout, or per cu_seqlens sequence).
void fill_positions(const ForwardJob& job, int32_t* positions);

// Offsets, in elements of a backend's float and int arenas, of everything one request
// needs. Staged (device) targets also get slots for the inputs and outputs they copy in
// and out; the CPU reads and writes the job's host arrays in place.
struct ArenaPlan {
  int64_t B = 0, L = 0, T = 0, mask_n = 0, logits_n = 0;
  // floats: the walk's buffers (dw, s, kern and the (T, E) embedding scratch share big).
  int64_t h = 0, h1 = 0, qkvc = 0, ctx = 0, tmp = 0, big = 0, dw = 0, s = 0, kern = 0, mask_bias = 0, scratch = 0,
          head = 0, q8 = 0;
  // floats, staged only: the raw mask, inputs_embeds, head_mask, logits, hidden states, attentions.
  int64_t mask_in = 0, embeds = 0, head_mask = 0, logits = 0, hidden = 0, attn = 0;
  int64_t f_total = 0;
  // ints: positions; staged only: input_ids, token_type_ids, cu_seqlens, cls_index.
  int64_t positions = 0, ids = 0, types = 0, seq = 0, cls = 0;
  int64_t i_total = 0;
};
struct PlanOptions {
  bool staged = false;               // carve input/output slots (device targets)
  bool attention_scratch = false;    // Backend::attention_scratch
  int64_t linear_scratch_bytes = 0;  // LinearArgs::scratch bytes (CPU int8 models)
};
// kShape when a size overflows int64 (the binding's bounds keep real requests far below).
Status plan_arena(const EngineConfig& cfg, const HeadConfig& head, const ForwardJob& job, const PlanOptions& opts,
                  ArenaPlan* plan);

// The inputs and outputs of one walk, in the backend's memory. Null where the job has none.
struct WalkIO {
  int64_t B = 0, L = 0, T = 0;
  const int32_t* ids = nullptr;  // null when embeds is set
  const float* embeds = nullptr;
  const int32_t* types = nullptr;      // null: all 0
  const int32_t* positions = nullptr;  // required (fill_positions)
  const float* mask = nullptr;         // raw attention_mask, 1 attend / 0 masked
  int32_t mask_rank = 0;
  const float* head_mask = nullptr;  // (layers, sa_heads)
  const int32_t* cls_index = nullptr;
  const int32_t* cu_seqlens = nullptr;
  float* last_hidden_state = nullptr;
  float* logits = nullptr;
  float* const* hidden_states = nullptr;  // layers + 1 arrays, or null
  float* const* attentions = nullptr;     // layers arrays, or null
};

// The ConvBERT encoder and head, once, for every backend: embeddings, layers, head, over
// the arena at F laid out by plan. Enqueues only (on a device): no sync, no host reads.
Status walk_forward(const EngineConfig& cfg, const HeadConfig& head, const ModelRefs& w, const Backend& be,
                    const WalkIO& io, const ArenaPlan& plan, float* F);

// Where a validated forward runs. forward(model, target, job) validates, then hands the job
// to the target; a caller that has already run validate_forward (the binding, when it reads
// a request) calls run directly, so each request is checked exactly once.
class ForwardTarget {
 public:
  virtual ~ForwardTarget() = default;
  // job must have passed validate_forward(model.cfg, model.head, job).
  virtual Status run(const Model& model, const ForwardJob& job) = 0;
};

// The host: walk_forward on cpu_backend(ops) over an arena from the model's pool.
class CpuTarget final : public ForwardTarget {
 public:
  explicit CpuTarget(const OpTable& ops) : ops_(&ops) {}
  Status run(const Model& model, const ForwardJob& job) override;

 private:
  const OpTable* ops_;
};

Status forward(const Model& model, ForwardTarget& target, const ForwardJob& job);
// forward(model, CpuTarget(ops), job): the whole forward on the calling thread (kernels use the engine pool).
Status forward(const Model& model, const OpTable& ops, const ForwardJob& job);

}  // namespace convbert
