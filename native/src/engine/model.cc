// model.cc: builds a Model from HF-named float32 weights: checks the geometry,
// copies every tensor into native memory and packs each linear layer into the
// gemm panel layout once, as fp32, bf16 or int8 per the model's dtype
// (query/key/value/conv_out_layer fused into one (4A, hidden) matrix, grouped
// layers as G block-diagonal matrices).
#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

#include "convbert/engine.h"
#include "convbert/thread_pool.h"

namespace convbert {

namespace {

// HF key of encoder layer i's parameter `rest` (trunk keys carry no `convbert.` prefix).
std::string layer_key(int64_t i, const char* rest) { return "encoder.layer." + std::to_string(i) + "." + rest; }

Status bad_config(const std::string& m) { return Status::Error(StatusCode::kUnsupported, "engine spec: " + m); }

bool act_ok(int32_t a) { return a >= 0 && a < static_cast<int32_t>(Activation::kCount); }

// a * b * c when each factor is in [0, kMaxDim] and the product is at most kMaxWeightNumel.
bool numel_ok(int64_t a, int64_t b, int64_t c = 1) {
  int64_t ab = 0, abc = 0;
  return !__builtin_mul_overflow(a, b, &ab) && !__builtin_mul_overflow(ab, c, &abc) && abc <= kMaxWeightNumel;
}

LinearRef ref(const PackedLinear& p) {
  LinearRef r;
  r.w = &p;
  r.N = p.N;
  r.K = p.K;
  r.G = p.G;
  return r;
}

// The Model's weights as the CPU backend reads them (host pointers into the Model itself).
ModelRefs host_refs(const Model& m) {
  ModelRefs r;
  r.word = m.word.data();
  r.pos = m.pos.data();
  r.type = m.type.data();
  r.emb_ln_g = m.emb_ln_g.data();
  r.emb_ln_b = m.emb_ln_b.data();
  r.has_project = m.has_project;
  r.project = ref(m.project);
  r.layers.reserve(m.layers.size());
  for (const LayerWeights& w : m.layers) {
    LayerRefs l;
    l.qkvc = ref(w.qkvc);
    l.pointwise = ref(w.pointwise);
    l.conv_kernel = ref(w.conv_kernel);
    l.attn_out = ref(w.attn_out);
    l.inter = ref(w.inter);
    l.out = ref(w.out);
    l.dw_t = w.dw_t.data();
    l.ln1_g = w.ln1_g.data();
    l.ln1_b = w.ln1_b.data();
    l.ln2_g = w.ln2_g.data();
    l.ln2_b = w.ln2_b.data();
    r.layers.push_back(l);
  }
  r.h_dense = ref(m.h_dense);
  r.h_out = ref(m.h_out);
  r.h_ln_g = m.h_ln_g.data();
  r.h_ln_b = m.h_ln_b.data();
  return r;
}

}  // namespace

PackedMatrixI8 PackedLinear::group_i8(int64_t g) const {
  PackedMatrixI8 m;
  m.N = N / G;
  m.K = K / G;
  m.data = packed_i8.data() + g * packed_gemm_i8_size(m.N, m.K);
  m.scale = i8_scale.data() + g * i8_padded_cols(m.N);
  m.colsum = i8_colsum.data() + g * i8_padded_cols(m.N);
  return m;
}

PackedMatrixBf16 PackedLinear::group_bf16(int64_t g) const {
  PackedMatrixBf16 m;
  m.N = N / G;
  m.K = K / G;
  m.data = packed_bf16.data() + g * packed_gemm_bf16_size(m.N, m.K);
  return m;
}

PackedMatrix PackedLinear::group(int64_t g) const {
  PackedMatrix m;
  m.N = N / G;
  m.K = K / G;
  m.data = packed.data() + g * packed_gemm_size(m.N, m.K);
  return m;
}

Status validate_config(const EngineConfig& c, const HeadConfig& h) {
  if (c.vocab_size <= 0 || c.hidden <= 0 || c.embedding <= 0 || c.layers < 0 || c.sa_heads <= 0 || c.head_dim <= 0 ||
      c.intermediate <= 0 || c.conv_kernel <= 0 || c.groups <= 0 || c.max_positions <= 0 || c.type_vocab <= 0)
    return bad_config("every size must be positive (num_hidden_layers may be 0)");
  if (c.layers > kMaxLayers)
    return bad_config("num_hidden_layers " + std::to_string(c.layers) + " is more than this engine builds (at most " +
                      std::to_string(kMaxLayers) + ")");
  {
    const std::pair<const char*, int64_t> dims[] = {{"vocab_size", c.vocab_size},
                                                    {"hidden_size", c.hidden},
                                                    {"embedding_size", c.embedding},
                                                    {"sa_heads", c.sa_heads},
                                                    {"head_dim", c.head_dim},
                                                    {"intermediate_size", c.intermediate},
                                                    {"conv_kernel_size", c.conv_kernel},
                                                    {"num_groups", c.groups},
                                                    {"max_position_embeddings", c.max_positions},
                                                    {"type_vocab_size", c.type_vocab},
                                                    {"head.num_outputs", h.num_outputs},
                                                    {"head.summary_proj_out", h.summary_proj_out}};
    for (const auto& d : dims)
      if (d.second > kMaxDim)
        return bad_config(std::string(d.first) + " " + std::to_string(d.second) +
                          " is more than this engine takes (at most " + std::to_string(kMaxDim) + ")");
  }
  // Every weight's element count (expected_weights), before anything multiplies them.
  {
    const int64_t A = c.sa_heads * c.head_dim;  // both <= kMaxDim: fits int64
    const int64_t widest_head = std::max({h.num_outputs, h.summary_proj_out, c.vocab_size, int64_t{2}});
    const std::pair<const char*, bool> weights[] = {
        {"embeddings.word_embeddings", numel_ok(c.vocab_size, c.embedding)},
        {"embeddings.position_embeddings", numel_ok(c.max_positions, c.embedding)},
        {"embeddings.token_type_embeddings", numel_ok(c.type_vocab, c.embedding)},
        {"embeddings_project", numel_ok(c.hidden, c.embedding)},
        {"attention.self.query|key|value|conv_out_layer", numel_ok(4, A, c.hidden)},
        {"attention.self.key_conv_attn_layer.depthwise", numel_ok(c.hidden, c.conv_kernel)},
        {"attention.self.conv_kernel_layer", numel_ok(c.sa_heads, c.conv_kernel, A)},
        {"attention.output.dense", numel_ok(c.hidden, c.hidden)},
        {"intermediate.dense / output.dense", numel_ok(c.intermediate, c.hidden)},
        {"the head's output layer", numel_ok(widest_head, std::max(c.hidden, c.embedding))},
    };
    for (const auto& w : weights)
      if (!w.second)
        return bad_config(std::string(w.first) +
                          ": the config makes this weight larger than this engine takes (at most " +
                          std::to_string(kMaxWeightNumel) + " elements)");
  }
  if (2 * c.sa_heads * c.head_dim != c.hidden)
    return bad_config("2 * sa_heads * head_dim = " + std::to_string(2 * c.sa_heads * c.head_dim) +
                      " must equal hidden_size " + std::to_string(c.hidden));
  if (c.conv_kernel % 2 == 0)
    return bad_config("conv_kernel_size must be odd (transformers fails on even sizes), got " +
                      std::to_string(c.conv_kernel));
  if (c.groups > 1 && (c.hidden % c.groups != 0 || c.intermediate % c.groups != 0))
    return bad_config("num_groups " + std::to_string(c.groups) + " must divide hidden_size and intermediate_size");
  if (!(c.layer_norm_eps >= 0.f)) return bad_config("layer_norm_eps must be >= 0");
  if (!act_ok(c.hidden_act)) return bad_config("hidden_act code " + std::to_string(c.hidden_act) + " is unknown");
  switch (h.kind) {
    case HeadKind::kNone: break;
    case HeadKind::kMaskedLM:
      if (h.num_outputs != c.vocab_size) return bad_config("masked_lm num_outputs must equal vocab_size");
      break;
    case HeadKind::kSequenceClassification:
      if (!act_ok(h.act)) return bad_config("head.act code " + std::to_string(h.act) + " is unknown");
      if (h.num_outputs <= 0) return bad_config("head.num_outputs must be positive");
      break;
    case HeadKind::kTokenClassification:
      if (h.num_outputs <= 0) return bad_config("head.num_outputs must be positive");
      break;
    case HeadKind::kQuestionAnswering:
      if (h.num_outputs != 2) return bad_config("question_answering needs num_outputs 2");
      break;
    case HeadKind::kMultipleChoice:
      if (h.num_outputs != 1) return bad_config("multiple_choice needs num_outputs 1");
      if (h.summary_use_proj && h.summary_proj_out <= 0) return bad_config("head.summary_proj_out must be positive");
      // transformers' classifier is nn.Linear(hidden_size, 1) whatever the summary projects to.
      if (h.summary_use_proj && h.summary_proj_out != c.hidden)
        return bad_config("multiple_choice head.summary_proj_out " + std::to_string(h.summary_proj_out) +
                          " must equal hidden_size " + std::to_string(c.hidden) +
                          " (the classifier is nn.Linear(hidden_size, 1), as in transformers)");
      if (h.summary_act != -1 && !act_ok(h.summary_act))
        return bad_config("head.summary_act code " + std::to_string(h.summary_act) + " is unknown");
      break;
  }
  return Status::Ok();
}

namespace {

// Sizes out's packed storage, zeroed, for G groups of an (n, k) matrix in dtype dt
// and returns the bytes it holds (the int8 scale and colsum included).
int64_t alloc_packed(Dtype dt, int64_t G, int64_t n, int64_t k, PackedLinear* out) {
  switch (dt) {
    case Dtype::kInt8:
      out->packed_i8.assign(static_cast<size_t>(G * packed_gemm_i8_size(n, k)), 0);
      out->i8_scale.assign(static_cast<size_t>(G * i8_padded_cols(n)), 0.f);
      out->i8_colsum.assign(static_cast<size_t>(G * i8_padded_cols(n)), 0);
      return G * (packed_gemm_i8_size(n, k) + 8 * i8_padded_cols(n));
    case Dtype::kBFloat16:
      out->packed_bf16.assign(static_cast<size_t>(G * packed_gemm_bf16_size(n, k)), 0);
      return G * packed_gemm_bf16_size(n, k) * 2;
    case Dtype::kFloat16:  // build_model refuses it before anything is packed
    case Dtype::kFloat32: break;
  }
  out->packed.assign(static_cast<size_t>(G * packed_gemm_size(n, k)), 0.f);
  return G * packed_gemm_size(n, k) * 4;
}

// Packs group g, the (n, k) matrix B (row stride ldb; transposed: B is (k, n)),
// into out's storage for dtype dt (sized by alloc_packed): fp32 panels, bf16
// k-pair panels or int8 k-quad panels quantised per output channel. One
// 16-column panel per pool task; each panel reads only its own columns of B, so
// the result is the serial packing's bit for bit.
void pack_linear(Dtype dt, const float* B, int64_t ldb, int64_t n, int64_t k, bool transposed, PackedLinear* out,
                 int64_t g) {
  const int64_t panels = (n + kGemmPanel - 1) / kGemmPanel;
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, k * kGemmPanel));
  parallel_for(panels, grain, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n0 = p * kGemmPanel, cols = std::min(kGemmPanel, n - n0);
      const float* src = transposed ? B + n0 : B + n0 * ldb;
      switch (dt) {
        case Dtype::kInt8:
          pack_gemm_b_i8(src, ldb, cols, k, transposed,
                         out->packed_i8.data() + g * packed_gemm_i8_size(n, k) + p * packed_gemm_i8_size(kGemmPanel, k),
                         out->i8_scale.data() + g * i8_padded_cols(n) + n0,
                         out->i8_colsum.data() + g * i8_padded_cols(n) + n0);
          break;
        case Dtype::kBFloat16: {
          const int64_t kp = (k + 1) & ~int64_t{1};  // k rounded up to even per panel
          pack_gemm_b_bf16(src, ldb, cols, k, transposed,
                           out->packed_bf16.data() + g * packed_gemm_bf16_size(n, k) + p * kp * kGemmPanel);
          break;
        }
        case Dtype::kFloat16:  // build_model refuses it before anything is packed
        case Dtype::kFloat32:
          pack_gemm_b(src, ldb, cols, k, transposed,
                      out->packed.data() + g * packed_gemm_size(n, k) + p * k * kGemmPanel);
          break;
      }
    }
  });
}

std::vector<std::string> dot_parts(const std::string& s) {
  std::vector<std::string> parts;
  size_t p = 0;
  for (;;) {
    const size_t q = s.find('.', p);
    parts.push_back(s.substr(p, q == std::string::npos ? std::string::npos : q - p));
    if (q == std::string::npos) return parts;
    p = q + 1;
  }
}

// True when the dot-separated parts of `key` occur in `module` as a contiguous run
// ("output.dense" matches encoder.layer.3.output.dense and ...attention.output.dense;
// "layer.1" matches encoder.layer.1.*, not encoder.layer.11.*).
bool module_matches(const std::string& module, const std::string& key) {
  const std::vector<std::string> m = dot_parts(module), k = dot_parts(key);
  for (size_t i = 0; i + k.size() <= m.size(); ++i)
    if (std::equal(k.begin(), k.end(), m.begin() + static_cast<std::ptrdiff_t>(i))) return true;
  return false;
}

class Builder {
 public:
  Builder(const WeightLookup& lookup, const std::vector<WeightSpec>& specs, Dtype dtype,
          const std::vector<std::string>& modules_to_not_convert, const std::string& trunk_prefix)
      : lookup_(lookup),
        specs_(specs),
        dtype_(dtype),
        modules_to_not_convert_(modules_to_not_convert),
        hits_(modules_to_not_convert.size(), 0),
        trunk_prefix_(trunk_prefix) {}

  // Linear modules left in float32 (HF module names), in build order.
  std::vector<std::string> kept;

  // The first key of modules_to_not_convert that matched no linear module, or null.
  const std::string* unmatched() const {
    for (size_t i = 0; i < modules_to_not_convert_.size(); ++i)
      if (hits_[i] == 0) return &modules_to_not_convert_[i];
    return nullptr;
  }

  Status get(const std::string& name, const float** out) {
    for (const WeightSpec& s : specs_) {
      if (s.name != name) continue;
      const float* p = lookup_(s);
      if (!p) return Status::Error(StatusCode::kInvalidArgument, "weights: missing " + name);
      *out = p;
      return Status::Ok();
    }
    return Status::Error(StatusCode::kInternal, "engine: weight " + name + " is not in expected_weights()");
  }
  template <class Vec>
  Status copy(const std::string& name, int64_t n, Vec* dst) {
    const float* p = nullptr;
    CONVBERT_RETURN_IF_ERROR(get(name, &p));
    dst->assign(p, p + n);
    bytes += n * 4;
    return Status::Ok();
  }
  // nn.Linear (N, K) weight; G > 1: HF's grouped (G, K/G, N/G) weight, not transposed.
  Status linear(const std::string& w, const std::string& b, int64_t N, int64_t K, int64_t G, PackedLinear* out) {
    const bool f32 = matches_modules_to_not_convert({w});
    const float* pw = nullptr;
    CONVBERT_RETURN_IF_ERROR(get(w, &pw));
    out->N = N;
    out->K = K;
    out->G = G;
    const int64_t n = N / G, k = K / G;
    max_k = std::max(max_k, k);
    const Dtype dt = f32 ? Dtype::kFloat32 : dtype_;
    bytes += alloc_packed(dt, G, n, k, out);
    if (G == 1) pack_linear(dt, pw, K, N, K, false, out, 0);
    else
      for (int64_t g = 0; g < G; ++g) pack_linear(dt, pw + g * k * n, n, n, k, true, out, g);
    if (!b.empty()) CONVBERT_RETURN_IF_ERROR(copy(b, N, &out->bias));
    return Status::Ok();
  }
  // Several nn.Linear layers on the same input, stacked along N into one packed matrix.
  // Naming any of them in modules_to_not_convert keeps the whole stack in float32 (one packed product).
  Status stacked(const std::vector<std::string>& names, int64_t n_each, int64_t K, PackedLinear* out) {
    std::vector<std::string> weights;
    for (const std::string& n : names) weights.push_back(n + ".weight");
    const bool f32 = matches_modules_to_not_convert(weights);
    std::vector<float> w(static_cast<size_t>(names.size() * n_each * K));
    std::vector<float> bias(static_cast<size_t>(names.size() * n_each));
    for (size_t i = 0; i < names.size(); ++i) {
      // Each source is copied before the next lookup: a lookup may run JS that frees the previous array.
      const float *pw = nullptr, *pb = nullptr;
      CONVBERT_RETURN_IF_ERROR(get(names[i] + ".weight", &pw));
      std::copy(pw, pw + n_each * K, w.begin() + static_cast<int64_t>(i) * n_each * K);
      CONVBERT_RETURN_IF_ERROR(get(names[i] + ".bias", &pb));
      std::copy(pb, pb + n_each, bias.begin() + static_cast<int64_t>(i) * n_each);
    }
    out->N = static_cast<int64_t>(names.size()) * n_each;
    out->K = K;
    out->G = 1;
    max_k = std::max(max_k, K);
    const Dtype dt = f32 ? Dtype::kFloat32 : dtype_;
    bytes += alloc_packed(dt, 1, out->N, K, out);
    pack_linear(dt, w.data(), K, out->N, K, false, out, 0);
    out->bias = std::move(bias);
    bytes += static_cast<int64_t>(out->bias.size()) * 4;
    return Status::Ok();
  }

  // key_conv_attn_layer.depthwise (hidden, 1, k) stored transposed as (k, hidden).
  Status depthwise(const std::string& name, int64_t hidden, int64_t k, std::vector<float>* dst) {
    const float* dw = nullptr;
    CONVBERT_RETURN_IF_ERROR(get(name, &dw));
    dst->resize(static_cast<size_t>(k * hidden));
    for (int64_t ch = 0; ch < hidden; ++ch)
      for (int64_t t = 0; t < k; ++t) (*dst)[static_cast<size_t>(t * hidden + ch)] = dw[ch * k + t];
    bytes += k * hidden * 4;
    return Status::Ok();
  }

  int64_t bytes = 0;
  int64_t max_k = 0;  // largest per-group K packed
  bool head = false;  // read_weights sets it before the head's weights (get() finds them by name anyway)

 private:
  // Whether the linear module(s) of these weights stay float32: true when any
  // modules_to_not_convert key matches any of them (HF module name: the weight key without
  // ".weight", trunk modules under trunk_prefix). Records the modules and the hits.
  bool matches_modules_to_not_convert(const std::vector<std::string>& weights) {
    std::vector<std::string> modules;
    bool any = false;
    for (const std::string& w : weights) {
      const bool trunk =
          std::any_of(specs_.begin(), specs_.end(), [&](const WeightSpec& s) { return s.name == w && !s.head; });
      const std::string suffix = ".weight";
      const bool has_suffix =
          w.size() > suffix.size() && w.compare(w.size() - suffix.size(), suffix.size(), suffix) == 0;
      modules.push_back((trunk ? trunk_prefix_ : std::string()) +
                        (has_suffix ? w.substr(0, w.size() - suffix.size()) : w));
      for (size_t i = 0; i < modules_to_not_convert_.size(); ++i)
        if (module_matches(modules.back(), modules_to_not_convert_[i])) {
          ++hits_[i];
          any = true;
        }
    }
    if (any) kept.insert(kept.end(), modules.begin(), modules.end());
    return any;
  }

  const WeightLookup& lookup_;
  const std::vector<WeightSpec>& specs_;
  Dtype dtype_;
  const std::vector<std::string>& modules_to_not_convert_;
  std::vector<int64_t> hits_;
  std::string trunk_prefix_;
};

// The one list of the weights build_model reads, in HF names and in reading order:
// b is the Builder (copies and packs each weight into *m) or the Lister
// (expected_weights: records name and element count; m is a scratch Model whose
// weights stay empty). Trunk names carry no `convbert.` prefix; b.head is set
// before the head's weights. Writing the names here once keeps what the engine
// lists and what it reads from drifting apart.
template <class Reader>
Status read_weights(const EngineConfig& c, const HeadConfig& h, Reader& b, Model* m) {
  const int64_t H = c.hidden, E = c.embedding, A = c.sa_heads * c.head_dim, I = c.intermediate, K = c.conv_kernel;
  CONVBERT_RETURN_IF_ERROR(b.copy("embeddings.word_embeddings.weight", c.vocab_size * E, &m->word));
  CONVBERT_RETURN_IF_ERROR(b.copy("embeddings.position_embeddings.weight", c.max_positions * E, &m->pos));
  CONVBERT_RETURN_IF_ERROR(b.copy("embeddings.token_type_embeddings.weight", c.type_vocab * E, &m->type));
  CONVBERT_RETURN_IF_ERROR(b.copy("embeddings.LayerNorm.weight", E, &m->emb_ln_g));
  CONVBERT_RETURN_IF_ERROR(b.copy("embeddings.LayerNorm.bias", E, &m->emb_ln_b));
  m->has_project = E != H;
  if (m->has_project)
    CONVBERT_RETURN_IF_ERROR(b.linear("embeddings_project.weight", "embeddings_project.bias", H, E, 1, &m->project));
  // expected_weights may list a config validate_config has not seen: no negative count here.
  m->layers.resize(static_cast<size_t>(std::max<int64_t>(0, c.layers)));
  for (int64_t i = 0; i < c.layers; ++i) {
    LayerWeights& lw = m->layers[static_cast<size_t>(i)];
    CONVBERT_RETURN_IF_ERROR(
        b.stacked({layer_key(i, "attention.self.query"), layer_key(i, "attention.self.key"),
                   layer_key(i, "attention.self.value"), layer_key(i, "attention.self.conv_out_layer")},
                  A, H, &lw.qkvc));
    CONVBERT_RETURN_IF_ERROR(
        b.depthwise(layer_key(i, "attention.self.key_conv_attn_layer.depthwise.weight"), H, K, &lw.dw_t));
    CONVBERT_RETURN_IF_ERROR(b.linear(layer_key(i, "attention.self.key_conv_attn_layer.pointwise.weight"),
                                      layer_key(i, "attention.self.key_conv_attn_layer.bias"), A, H, 1, &lw.pointwise));
    CONVBERT_RETURN_IF_ERROR(b.linear(layer_key(i, "attention.self.conv_kernel_layer.weight"),
                                      layer_key(i, "attention.self.conv_kernel_layer.bias"), c.sa_heads * K, A, 1,
                                      &lw.conv_kernel));
    CONVBERT_RETURN_IF_ERROR(b.linear(layer_key(i, "attention.output.dense.weight"),
                                      layer_key(i, "attention.output.dense.bias"), H, H, 1, &lw.attn_out));
    CONVBERT_RETURN_IF_ERROR(b.copy(layer_key(i, "attention.output.LayerNorm.weight"), H, &lw.ln1_g));
    CONVBERT_RETURN_IF_ERROR(b.copy(layer_key(i, "attention.output.LayerNorm.bias"), H, &lw.ln1_b));
    CONVBERT_RETURN_IF_ERROR(b.linear(layer_key(i, "intermediate.dense.weight"),
                                      layer_key(i, "intermediate.dense.bias"), I, H, c.groups, &lw.inter));
    CONVBERT_RETURN_IF_ERROR(
        b.linear(layer_key(i, "output.dense.weight"), layer_key(i, "output.dense.bias"), H, I, c.groups, &lw.out));
    CONVBERT_RETURN_IF_ERROR(b.copy(layer_key(i, "output.LayerNorm.weight"), H, &lw.ln2_g));
    CONVBERT_RETURN_IF_ERROR(b.copy(layer_key(i, "output.LayerNorm.bias"), H, &lw.ln2_b));
  }
  b.head = true;  // the head's weights are looked up among spec.head.weights
  const int64_t n = h.num_outputs;
  switch (h.kind) {
    case HeadKind::kNone: break;
    case HeadKind::kMaskedLM:
      CONVBERT_RETURN_IF_ERROR(
          b.linear("generator_predictions.dense.weight", "generator_predictions.dense.bias", E, H, 1, &m->h_dense));
      CONVBERT_RETURN_IF_ERROR(b.copy("generator_predictions.LayerNorm.weight", E, &m->h_ln_g));
      CONVBERT_RETURN_IF_ERROR(b.copy("generator_predictions.LayerNorm.bias", E, &m->h_ln_b));
      CONVBERT_RETURN_IF_ERROR(
          b.linear("generator_lm_head.weight", "generator_lm_head.bias", c.vocab_size, E, 1, &m->h_out));
      break;
    case HeadKind::kSequenceClassification:
      CONVBERT_RETURN_IF_ERROR(b.linear("classifier.dense.weight", "classifier.dense.bias", H, H, 1, &m->h_dense));
      CONVBERT_RETURN_IF_ERROR(b.linear("classifier.out_proj.weight", "classifier.out_proj.bias", n, H, 1, &m->h_out));
      break;
    case HeadKind::kTokenClassification:
      CONVBERT_RETURN_IF_ERROR(b.linear("classifier.weight", "classifier.bias", n, H, 1, &m->h_out));
      break;
    case HeadKind::kQuestionAnswering:
      CONVBERT_RETURN_IF_ERROR(b.linear("qa_outputs.weight", "qa_outputs.bias", 2, H, 1, &m->h_out));
      break;
    case HeadKind::kMultipleChoice: {
      int64_t P = H;
      if (h.summary_use_proj) {
        P = h.summary_proj_out;
        CONVBERT_RETURN_IF_ERROR(
            b.linear("sequence_summary.summary.weight", "sequence_summary.summary.bias", P, H, 1, &m->h_dense));
      }
      CONVBERT_RETURN_IF_ERROR(b.linear("classifier.weight", "classifier.bias", 1, P, 1, &m->h_out));
      break;
    }
  }
  return Status::Ok();
}

// Records what read_weights asks for instead of reading it.
class Lister {
 public:
  std::vector<WeightSpec> specs;
  bool head = false;

  template <class Vec>
  Status copy(const std::string& name, int64_t n, Vec*) {
    specs.push_back({name, n, head});
    return Status::Ok();
  }
  Status depthwise(const std::string& name, int64_t hidden, int64_t k, std::vector<float>*) {
    specs.push_back({name, hidden * k, head});
    return Status::Ok();
  }
  // Grouped (G > 1): HF's (G, K/G, N/G) weight, N * K / G elements.
  Status linear(const std::string& w, const std::string& b, int64_t N, int64_t K, int64_t G, PackedLinear*) {
    specs.push_back({w, G > 0 ? N * K / G : 0, head});
    specs.push_back({b, N, head});
    return Status::Ok();
  }
  Status stacked(const std::vector<std::string>& names, int64_t n_each, int64_t K, PackedLinear*) {
    for (const std::string& n : names) {
      specs.push_back({n + ".weight", n_each * K, head});
      specs.push_back({n + ".bias", n_each, head});
    }
    return Status::Ok();
  }
};

}  // namespace

std::vector<WeightSpec> expected_weights(const EngineConfig& c, const HeadConfig& h) {
  Lister l;
  Model scratch;
  (void)read_weights(c, h, l, &scratch);  // the Lister never fails
  return std::move(l.specs);
}

Status build_model(const EngineConfig& c, const HeadConfig& h, const WeightLookup& lookup, std::shared_ptr<Model>* out,
                   Dtype dtype, const std::vector<std::string>& modules_to_not_convert) {
  CONVBERT_RETURN_IF_ERROR(validate_config(c, h));
  if (dtype == Dtype::kFloat16)
    return Status::Error(StatusCode::kUnsupported,
                         "dtype float16 needs device 'cuda' (the CPU engine runs float32, bfloat16 and int8)");
  if (dtype == Dtype::kInt8) {
    // Counts layers modules_to_not_convert leaves in float32 too: the check is on the model's widths.
    const int64_t widest = std::max({c.hidden, c.embedding, c.intermediate / c.groups, h.summary_proj_out});
    if (widest > kI8MaxK)
      return bad_config("dtype int8 needs every linear layer's input width <= " + std::to_string(kI8MaxK) +
                        " (int32 sums), got " + std::to_string(widest));
  }
  std::vector<WeightSpec> specs;
  try {
    specs = expected_weights(c, h);
  } catch (const std::bad_alloc&) {
    return Status::Error(StatusCode::kOutOfMemory, "engine: out of memory listing the weights");
  }
  for (const std::string& k : modules_to_not_convert)
    if (k.empty() || k.front() == '.' || k.back() == '.' || k.find("..") != std::string::npos)
      return Status::Error(
          StatusCode::kInvalidArgument,
          "modulesToNotConvert: '" + k + "' is not a module name (dot-separated, like 'output.dense')");
  // HF names a head model's trunk modules under its base_model_prefix.
  const std::string trunk_prefix = h.kind == HeadKind::kNone ? "" : "convbert.";
  Builder b(lookup, specs, dtype, modules_to_not_convert, trunk_prefix);
  auto m = std::make_shared<Model>();
  m->dtype = dtype;
  m->cfg = c;
  m->head = h;
  try {
    CONVBERT_RETURN_IF_ERROR(read_weights(c, h, b, m.get()));
  } catch (const std::bad_alloc&) {
    return Status::Error(StatusCode::kOutOfMemory, "engine: out of memory copying the weights");
  } catch (const std::length_error&) {
    // a vector asked for more than max_size(): validate_config's bounds should make this unreachable
    return Status::Error(StatusCode::kOutOfMemory, "engine: a weight is larger than a vector can hold");
  }
  if (const std::string* k = b.unmatched())
    return Status::Error(StatusCode::kInvalidArgument, "modulesToNotConvert: '" + *k +
                                                           "' matches no linear module of this model (for example '" +
                                                           trunk_prefix + "encoder.layer.0.output.dense')");
  m->weight_bytes_ = b.bytes;
  m->max_linear_k = b.max_k;
  m->float32_modules = std::move(b.kept);
  try {
    m->refs = host_refs(*m);
  } catch (const std::bad_alloc&) {
    return Status::Error(StatusCode::kOutOfMemory, "engine: out of memory copying the weights");
  }
  *out = std::move(m);
  return Status::Ok();
}

}  // namespace convbert
