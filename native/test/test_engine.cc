// test_engine.cc: the whole engine without Node, so the sanitizer run covers
// it: a small random ConvBERT (grouped FFN, embeddings_project, k = 9, MLM
// head) on every CPU path against the generic path, padded and varlen, masks
// and head_mask, bf16 / int8 models with every linear module kept in float32
// (modulesToNotConvert) equal to the float32 model, and bad input returning a
// Status instead of crashing.
// Tolerance: 1e-4 + 1e-4|x| between paths (the fixture tolerance; paths differ
// only in summation order).
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "convbert/cpu.h"
#include "convbert/engine.h"
#include "native_test.h"

using namespace convbert;

namespace {

EngineConfig small_config() {
  EngineConfig c;
  c.vocab_size = 50;
  c.hidden = 32;
  c.embedding = 24;
  c.layers = 2;
  c.sa_heads = 2;
  c.head_dim = 8;
  c.intermediate = 64;
  c.conv_kernel = 9;
  c.groups = 2;
  c.max_positions = 40;
  c.type_vocab = 2;
  c.layer_norm_eps = 1e-12f;
  c.hidden_act = 2;  // gelu (tanh form)
  return c;
}

HeadConfig mlm_head(const EngineConfig& c) {
  HeadConfig h;
  h.kind = HeadKind::kMaskedLM;
  h.num_outputs = c.vocab_size;
  return h;
}

std::shared_ptr<Model> build(const EngineConfig& c, const HeadConfig& h, Status* st, Dtype dtype = Dtype::kFloat32,
                             const std::vector<std::string>& modules_to_not_convert = {}) {
  std::map<std::string, std::vector<float>> store;
  uint32_t s = 7;
  for (const WeightSpec& w : expected_weights(c, h)) {
    std::vector<float>& v = store[w.name];
    v.resize(static_cast<size_t>(w.numel));
    for (float& x : v) {
      s = s * 1664525u + 1013904223u;
      x = (static_cast<float>(s >> 8) / 16777216.0f - 0.5f) * 0.4f;
    }
  }
  std::shared_ptr<Model> m;
  *st = build_model(
      c, h,
      [&](const WeightSpec& w) -> const float* {
        auto it = store.find(w.name);
        return it == store.end() ? nullptr : it->second.data();
      },
      &m, dtype, modules_to_not_convert);
  return m;
}

struct Outputs {
  std::vector<float> hidden, logits;
};

Status run(const Model& m, Isa isa, int64_t B, int64_t L, const std::vector<int32_t>& ids, const float* mask,
           const float* head_mask, const int32_t* cu_seqlens, Outputs* o) {
  const int64_t T = cu_seqlens ? cu_seqlens[B] : B * L;
  o->hidden.assign(static_cast<size_t>(T * m.cfg.hidden), 0.0f);
  o->logits.assign(static_cast<size_t>(T * m.cfg.vocab_size), 0.0f);
  ForwardJob j;
  j.B = B;
  j.L = L;
  j.input_ids = ids.data();
  j.attention_mask = mask;
  j.mask_rank = mask ? 2 : 0;
  j.head_mask = head_mask;
  j.cu_seqlens = cu_seqlens;
  j.last_hidden_state = o->hidden.data();
  j.logits = o->logits.data();
  return forward(m, cpu_ops(isa), j);
}

}  // namespace

CONVBERT_TEST(engine_paths_agree_padded_with_masks) {
  const EngineConfig c = small_config();
  Status st;
  auto m = build(c, mlm_head(c), &st);
  EXPECT_TRUE(st.ok());
  if (!m) return;
  const int64_t B = 3, L = 13;
  std::vector<int32_t> ids(B * L);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>((i * 7 + 3) % c.vocab_size);
  std::vector<float> mask(B * L, 1.0f);
  for (int64_t l = 9; l < L; ++l) mask[1 * L + l] = 0.0f;  // a padded row
  for (int64_t l = 0; l < L; ++l) mask[2 * L + l] = 0.0f;  // a fully masked row: uniform attention, not NaN
  std::vector<float> head_mask = {1.0f, 0.5f, 0.0f, 1.0f};
  Outputs want;
  EXPECT_TRUE(run(*m, Isa::kGeneric, B, L, ids, mask.data(), head_mask.data(), nullptr, &want).ok());
  bool finite = true;
  for (float v : want.hidden) finite = finite && std::isfinite(v);
  EXPECT_TRUE(finite);
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    if (isa > detect_isa()) continue;
    Outputs got;
    EXPECT_TRUE(run(*m, isa, B, L, ids, mask.data(), head_mask.data(), nullptr, &got).ok());
    for (size_t i = 0; i < want.hidden.size(); ++i) EXPECT_CLOSE(got.hidden[i], want.hidden[i], 1e-4, 1e-4);
    for (size_t i = 0; i < want.logits.size(); ++i) EXPECT_CLOSE(got.logits[i], want.logits[i], 1e-4, 1e-4);
  }
}

CONVBERT_TEST(engine_varlen_equals_each_sequence_alone) {
  const EngineConfig c = small_config();
  Status st;
  auto m = build(c, mlm_head(c), &st);
  EXPECT_TRUE(st.ok());
  if (!m) return;
  const std::vector<int32_t> lens = {5, 1, 12};
  std::vector<int32_t> starts = {0};
  for (int32_t n : lens) starts.push_back(starts.back() + n);
  std::vector<int32_t> packed(static_cast<size_t>(starts.back()));
  for (size_t i = 0; i < packed.size(); ++i) packed[i] = static_cast<int32_t>((i * 11 + 5) % c.vocab_size);
  for (Isa isa : {Isa::kGeneric, Isa::kAvx2, Isa::kAvx512}) {
    if (isa > detect_isa()) continue;
    Outputs all;
    EXPECT_TRUE(run(*m, isa, 3, 12, packed, nullptr, nullptr, starts.data(), &all).ok());
    for (size_t b = 0; b < lens.size(); ++b) {
      std::vector<int32_t> one(packed.begin() + starts[b], packed.begin() + starts[b + 1]);
      Outputs alone;
      EXPECT_TRUE(run(*m, isa, 1, lens[b], one, nullptr, nullptr, nullptr, &alone).ok());
      for (int64_t i = 0; i < lens[b] * c.hidden; ++i)
        EXPECT_CLOSE(all.hidden[static_cast<size_t>(starts[b] * c.hidden + i)], alone.hidden[static_cast<size_t>(i)],
                     1e-5, 1e-5);
    }
  }
}

CONVBERT_TEST(engine_bad_input_returns_status) {
  const EngineConfig c = small_config();
  Status st;
  auto m = build(c, mlm_head(c), &st);
  EXPECT_TRUE(st.ok());
  if (!m) return;
  Outputs o;
  std::vector<int32_t> ids = {1, 2, 999};  // id past the vocab
  EXPECT_TRUE(!run(*m, Isa::kGeneric, 1, 3, ids, nullptr, nullptr, nullptr, &o).ok());
  ids = {1, -2, 3};
  EXPECT_TRUE(!run(*m, Isa::kGeneric, 1, 3, ids, nullptr, nullptr, nullptr, &o).ok());
  std::vector<int32_t> long_ids(64, 1);  // longer than max_positions
  EXPECT_TRUE(!run(*m, Isa::kGeneric, 1, 64, long_ids, nullptr, nullptr, nullptr, &o).ok());
  std::vector<int32_t> bad_starts = {0, 5, 3};  // decreasing offsets
  EXPECT_TRUE(!run(*m, Isa::kGeneric, 2, 5, ids, nullptr, nullptr, bad_starts.data(), &o).ok());

  EngineConfig even = c;
  even.conv_kernel = 4;  // transformers cannot run an even kernel
  EXPECT_TRUE(!validate_config(even, mlm_head(even)).ok());
  Status missing = build_model(
      c, mlm_head(c), [](const WeightSpec&) -> const float* { return nullptr; }, nullptr);
  EXPECT_TRUE(!missing.ok());
}

CONVBERT_TEST(engine_modules_to_not_convert_equals_float32) {
  const EngineConfig c = small_config();
  const HeadConfig h = mlm_head(c);
  Status st;
  std::shared_ptr<Model> f32 = build(c, h, &st);
  EXPECT_TRUE(st.ok());
  const std::vector<std::string> every = {"encoder", "embeddings_project", "generator_predictions",
                                          "generator_lm_head"};
  std::vector<int32_t> ids = {1, 7, 3, 9, 4, 2, 8, 5};
  Outputs ref, plain, kept;
  EXPECT_TRUE(run(*f32, Isa::kGeneric, 2, 4, ids, nullptr, nullptr, nullptr, &ref).ok());
  for (Dtype d : {Dtype::kBFloat16, Dtype::kInt8}) {
    std::shared_ptr<Model> p = build(c, h, &st, d);
    EXPECT_TRUE(st.ok());
    std::shared_ptr<Model> k = build(c, h, &st, d, every);
    EXPECT_TRUE(st.ok());
    if (!p || !k) continue;
    // Per layer: the fused q|k|v|conv_out (4 names), pointwise, conv_kernel_layer, attention.output.dense,
    // intermediate.dense, output.dense; then embeddings_project and the head's two.
    EXPECT_TRUE(k->float32_modules.size() == static_cast<size_t>(c.layers * 9 + 3));
    EXPECT_TRUE(k->float32_modules.front() == "convbert.embeddings_project");
    EXPECT_TRUE(k->float32_modules.back() == "generator_lm_head");
    EXPECT_TRUE(run(*p, Isa::kGeneric, 2, 4, ids, nullptr, nullptr, nullptr, &plain).ok());
    EXPECT_TRUE(run(*k, Isa::kGeneric, 2, 4, ids, nullptr, nullptr, nullptr, &kept).ok());
    EXPECT_TRUE(plain.hidden != ref.hidden);  // the bf16 / int8 layers really ran
    EXPECT_TRUE(kept.hidden == ref.hidden);
    EXPECT_TRUE(kept.logits == ref.logits);
  }
  // float16 is the CUDA engine's dtype: the CPU engine refuses it by name instead of packing float32.
  {
    std::shared_ptr<Model> m = build(c, h, &st, Dtype::kFloat16);
    EXPECT_TRUE(st.code == StatusCode::kUnsupported);
    EXPECT_TRUE(st.message.find("float16") != std::string::npos);
    EXPECT_TRUE(m == nullptr);
  }
  // Keys that match nothing, or are not dotted names, are errors, not ignored.
  for (const char* bad : {"decoder", "layer.9", "encoder..dense", ".dense", "dense.", ""}) {
    std::shared_ptr<Model> m = build(c, h, &st, Dtype::kBFloat16, {bad});
    EXPECT_TRUE(!st.ok());
    EXPECT_TRUE(st.code == StatusCode::kInvalidArgument);
    EXPECT_TRUE(m == nullptr);
  }
}
