// test_gemm_i8.cc: the int8 gemm without Node, so the sanitizer run covers its
// kernels (including the VNNI inline-assembly tile) and the engine's int8 scratch:
// every CPU path bit-identical to the generic reference (same integers, same fma)
// on strided A/C, tails, several K blocks and a zero row; bad sizes return a Status;
// and an int8 model close to its fp32 twin, padded and varlen.
// Tolerances: 0 between paths (exact by construction); model rows cosine >= 0.99
// (test/engine/int8.test.ts derives that bound).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "convbert/cpu.h"
#include "convbert/engine.h"
#include "native_test.h"

using namespace convbert;

namespace {

uint32_t g_seed = 99;
float next_value() {
  g_seed = g_seed * 1664525u + 1013904223u;
  return static_cast<float>(g_seed >> 8) / 16777216.0f - 0.5f;
}

std::vector<float> gemm_i8_on(Isa isa, const std::vector<float>& A, int64_t lda, const std::vector<float>& B,
                              const std::vector<float>& bias, int64_t M, int64_t N, int64_t K, Status* st) {
  std::vector<int8_t> packed(static_cast<size_t>(packed_gemm_i8_size(N, K)));
  std::vector<float> scale(static_cast<size_t>(i8_padded_cols(N)));
  std::vector<int32_t> colsum(static_cast<size_t>(i8_padded_cols(N)));
  pack_gemm_b_i8(B.data(), K, N, K, false, packed.data(), scale.data(), colsum.data());
  std::vector<uint8_t> scratch(static_cast<size_t>(gemm_i8_scratch_size(M, K)));
  const int64_t ldc = N + 3;  // strided output
  std::vector<float> C(static_cast<size_t>(M * ldc), -7.f);
  GemmI8Args g;
  g.A = A.data();
  g.lda = lda;
  g.B = {packed.data(), scale.data(), colsum.data(), N, K};
  g.bias = bias.data();
  g.C = C.data();
  g.ldc = ldc;
  g.M = M;
  g.act = Activation::kRelu;  // exact on every path, unlike the erf/tanh activations
  g.scratch = scratch.data();
  *st = gemm_i8(cpu_ops(isa), g);
  return C;
}

}  // namespace

CONVBERT_TEST(gemm_i8_paths_bit_identical) {
  const int64_t shapes[][3] = {{1, 1, 1}, {7, 33, 129}, {17, 50, 600}, {9, 96, 1100}, {33, 7, 5}};
  for (const auto& s : shapes) {
    const int64_t M = s[0], N = s[1], K = s[2], lda = K + 5;
    std::vector<float> A(static_cast<size_t>(M * lda)), B(static_cast<size_t>(N * K)), bias(static_cast<size_t>(N));
    for (float& v : A) v = 4.f * next_value();
    for (float& v : B) v = next_value();
    for (float& v : bias) v = next_value();
    if (M > 2) std::memset(A.data() + lda, 0, static_cast<size_t>(K) * 4);  // row 1: scale 0
    Status st;
    const std::vector<float> want = gemm_i8_on(Isa::kGeneric, A, lda, B, bias, M, N, K, &st);
    EXPECT_TRUE(st.ok());
    for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
      if (isa > detect_isa()) continue;
      const std::vector<float> got = gemm_i8_on(isa, A, lda, B, bias, M, N, K, &st);
      EXPECT_TRUE(st.ok());
      EXPECT_TRUE(std::memcmp(got.data(), want.data(), got.size() * 4) == 0);
    }
  }
  // Every table has the int8 kernels; the avx512 one names VNNI exactly when the CPU has it.
  for (Isa isa : {Isa::kGeneric, Isa::kAvx2, Isa::kAvx512}) {
    const OpTable& t = cpu_ops(isa);
    EXPECT_TRUE(t.gemm_i8_block && t.i8_minmax_row && t.i8_quantize_row && t.gemm_i8_name);
  }
  if (detect_isa() == Isa::kAvx512)
    EXPECT_TRUE(std::strcmp(cpu_ops(Isa::kAvx512).gemm_i8_name, cpu_has_avx512vnni() ? "avx512_vnni" : "avx2") == 0);
  // Bad sizes and K past the int32 limit come back as a Status.
  GemmI8Args bad;
  bad.M = 1;
  bad.B.N = 1;
  bad.B.K = kI8MaxK + 1;
  bad.lda = bad.B.K;
  bad.ldc = 1;
  EXPECT_TRUE(gemm_i8(cpu_ops(), bad).code == StatusCode::kUnsupported);
  bad.B.K = 4;
  bad.lda = 2;
  EXPECT_TRUE(!gemm_i8(cpu_ops(), bad).ok());
}

CONVBERT_TEST(engine_int8_close_to_fp32_padded_and_varlen) {
  EngineConfig c;
  c.vocab_size = 50;
  c.hidden = 64;
  c.embedding = 48;
  c.layers = 2;
  c.sa_heads = 2;
  c.head_dim = 16;
  c.intermediate = 128;
  c.conv_kernel = 9;
  c.groups = 2;
  c.max_positions = 40;
  c.type_vocab = 2;
  c.hidden_act = 1;
  HeadConfig h;
  h.kind = HeadKind::kMaskedLM;
  h.num_outputs = c.vocab_size;
  std::map<std::string, std::vector<float>> store;
  for (const WeightSpec& w : expected_weights(c, h)) {
    std::vector<float>& v = store[w.name];
    v.resize(static_cast<size_t>(w.numel));
    for (float& x : v) x = 0.1f * next_value();
  }
  auto lookup = [&](const WeightSpec& w) -> const float* { return store[w.name].data(); };
  std::shared_ptr<Model> m32, m8;
  EXPECT_TRUE(build_model(c, h, lookup, &m32).ok());
  EXPECT_TRUE(build_model(c, h, lookup, &m8, Dtype::kInt8).ok());
  if (!m32 || !m8) return;
  EXPECT_TRUE(m8->max_linear_k == 64);  // hidden; the grouped output dense reads 128 / 2
  const int64_t B = 3, L = 13, T = B * L;
  std::vector<int32_t> ids(static_cast<size_t>(T));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>((i * 7 + 3) % c.vocab_size);
  std::vector<float> mask(static_cast<size_t>(T), 1.f);
  for (int64_t l = 8; l < L; ++l) mask[static_cast<size_t>(L + l)] = 0.f;
  const std::vector<int32_t> starts = {0, 5, 18, 30};  // lengths 5, 13, 12 <= L
  for (Isa isa : {Isa::kGeneric, Isa::kAvx2, Isa::kAvx512}) {
    if (isa > detect_isa()) continue;
    for (const int32_t* seq : {static_cast<const int32_t*>(nullptr), starts.data()}) {
      std::vector<float> h32(static_cast<size_t>(T * c.hidden)), h8(h32.size()),
          l32(static_cast<size_t>(T * c.vocab_size)), l8(l32.size());
      ForwardJob j;
      j.B = B;
      j.L = L;
      j.input_ids = ids.data();
      j.attention_mask = seq ? nullptr : mask.data();
      j.mask_rank = seq ? 0 : 2;
      j.cu_seqlens = seq;
      j.last_hidden_state = h32.data();
      j.logits = l32.data();
      EXPECT_TRUE(forward(*m32, cpu_ops(isa), j).ok());
      j.last_hidden_state = h8.data();
      j.logits = l8.data();
      EXPECT_TRUE(forward(*m8, cpu_ops(isa), j).ok());
      double worst = 1.0;
      for (int64_t t = 0; t < (seq ? seq[B] : T); ++t) {
        double d = 0, a = 0, b = 0;
        for (int64_t x = 0; x < c.hidden; ++x) {
          const double p = h32[static_cast<size_t>(t * c.hidden + x)], q = h8[static_cast<size_t>(t * c.hidden + x)];
          d += p * q;
          a += p * p;
          b += q * q;
        }
        worst = std::fmin(worst, d / std::sqrt(a * b));
      }
      EXPECT_TRUE(worst >= 0.99);
      EXPECT_TRUE(h8 != h32);  // the int8 path ran
    }
  }
}
