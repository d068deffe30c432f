// forward.cc: the ConvBERT forward as a fixed plan of ops over one arena
// (HF ConvBertModel in eval mode, transformers >= 4.27 geometry):
//   embeddings (gather + LayerNorm [+ embeddings_project]), then per layer
//   [q|k|v|conv_out] gemm, depthwise+pointwise key conv, kernel gemm on
//   (key_conv ⊙ q), softmax over taps, dynamic conv -> conv heads; masked
//   attention -> attention heads; output dense + residual LayerNorm; FFN
//   (grouped when num_groups > 1) + residual LayerNorm. Heads in heads.cc.
#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "convbert/engine.h"
#include "engine_internal.h"

namespace convbert {

namespace {

// Runs `run` once per block-diagonal group of w with `a` (the gemm's argument
// struct, any extra fields preset) pointed at that group's slice of x, y, bias.
template <class Args, class Group, class Run>
Status for_each_group(const PackedLinear& w, const float* x, int64_t ldx, int64_t M, float* y, int64_t ldy,
                      Activation act, Args a, Group group, Run run) {
  for (int64_t g = 0; g < w.G; ++g) {
    a.act = act;
    a.B = group(g);
    a.A = x + g * a.B.K;
    a.lda = ldx;
    a.bias = w.bias.empty() ? nullptr : w.bias.data() + g * a.B.N;
    a.C = y + g * a.B.N;
    a.ldc = ldy;
    a.M = M;
    CONVBERT_RETURN_IF_ERROR(run(a));
  }
  return Status::Ok();
}

Status linear(const OpTable& ops, const PackedLinear& w, const float* x, int64_t ldx, int64_t M, float* y,
              int64_t ldy, Activation act, uint8_t* q8) {
  if (w.is_i8()) {
    GemmI8Args a;
    a.scratch = q8;  // groups run one after another, so they share the scratch
    return for_each_group(w, x, ldx, M, y, ldy, act, a, [&](int64_t g) { return w.group_i8(g); },
                          [&](const GemmI8Args& args) { return gemm_i8(ops, args); });
  }
  if (w.is_bf16())
    return for_each_group(w, x, ldx, M, y, ldy, act, GemmBf16Args{}, [&](int64_t g) { return w.group_bf16(g); },
                          [&](const GemmBf16Args& args) { return gemm_bf16(ops, args); });
  return for_each_group(w, x, ldx, M, y, ldy, act, GemmArgs{}, [&](int64_t g) { return w.group(g); },
                        [&](const GemmArgs& args) { return gemm(ops, args); });
}

}  // namespace

Status engine_linear(const OpTable& ops, const PackedLinear& w, const float* x, int64_t ldx, int64_t M, float* y,
                     int64_t ldy, Activation act, uint8_t* i8_scratch) {
  return linear(ops, w, x, ldx, M, y, ldy, act, i8_scratch);
}

int64_t i8_scratch_bytes(const Model& m, int64_t M) {
  return m.dtype == WeightDtype::kInt8 ? gemm_i8_scratch_size(M, m.max_linear_k) : 0;
}

Status forward(const Model& m, const OpTable& ops, const ForwardJob& j) {
  const EngineConfig& c = m.cfg;
  const int64_t B = j.B, L = j.L;
  const int64_t T = j.seq_starts ? (B > 0 ? j.seq_starts[B] : 0) : B * L;
  const int64_t H = c.hidden, E = c.embedding, A = c.sa_heads * c.head_dim, I = c.intermediate, K = c.conv_kernel;
  const int64_t S = c.sa_heads, D = c.head_dim;
  if (B <= 0 || L <= 0) return Status::Error(StatusCode::kShape, "forward: B and L must be positive");
  if (L > c.max_positions && !j.position_ids)
    return Status::Error(StatusCode::kShape, "forward: sequence length " + std::to_string(L) +
                                                 " exceeds max_position_embeddings " + std::to_string(c.max_positions));
  if (!j.last_hidden_state || (m.head.kind != HeadKind::kNone && !j.logits) || (!j.input_ids && !j.inputs_embeds))
    return Status::Error(StatusCode::kInvalidArgument, "forward: missing input or output buffer");
  if (!j.hidden_states.empty() && static_cast<int64_t>(j.hidden_states.size()) != c.layers + 1)
    return Status::Error(StatusCode::kInvalidArgument, "forward: hidden_states needs num_hidden_layers + 1 arrays");
  if (!j.attentions.empty() && static_cast<int64_t>(j.attentions.size()) != c.layers)
    return Status::Error(StatusCode::kInvalidArgument, "forward: attentions needs num_hidden_layers arrays");
  if (j.seq_starts) {
    if (j.seq_starts[0] != 0) return Status::Error(StatusCode::kInvalidArgument, "cu_seqlens[0] must be 0");
    for (int64_t b = 0; b < B; ++b) {
      const int64_t len = static_cast<int64_t>(j.seq_starts[b + 1]) - j.seq_starts[b];
      if (len < 1 || len > L)
        return Status::Error(StatusCode::kInvalidArgument, "cu_seqlens: sequence " + std::to_string(b) + " has length " +
                                                               std::to_string(len) + ", expected 1.." + std::to_string(L));
    }
    if (j.attention_mask || !j.attentions.empty())
      return Status::Error(StatusCode::kInvalidArgument,
                           "cu_seqlens: varlen forwards take no attention_mask and return no attentions");
  }
  if (j.attention_mask && j.mask_rank != 2 && j.mask_rank != 3)
    return Status::Error(StatusCode::kInvalidArgument, "forward: attention_mask rank must be 2 or 3");

  // Arena layout (floats).
  const int64_t mask_n = j.attention_mask ? (j.mask_rank == 2 ? B * L : B * L * L) : 0;
  const int64_t scratch_n = attention_scratch_size(B, L, S, D);
  int64_t off = 0;
  auto carve = [&](int64_t n) {
    const int64_t at = off;
    off += (n + 15) / 16 * 16;  // keep every buffer 64-byte aligned relative to the base
    return at;
  };
  // The FFN's (T, I) buffer is free outside the FFN, so the key-conv temporaries
  // (depthwise out, pointwise out, kernel logits) and the embedding / MLM-head
  // (T, E) scratch share it.
  const int64_t conv_n = (T * H + 15) / 16 * 16 + (T * A + 15) / 16 * 16 + T * S * K;
  const int64_t big_n = std::max({T * I, conv_n, T * std::max(E, H)});
  const int64_t o_h = carve(T * H), o_h1 = carve(T * H), o_qkvc = carve(T * 4 * A), o_ctx = carve(T * H),
                o_tmp = carve(T * H), o_big = carve(big_n), o_mask = carve(mask_n), o_scr = carve(scratch_n),
                o_head = carve(head_scratch_size(m, B, L)), o_q8 = carve((i8_scratch_bytes(m, T) + 3) / 4);
  const int64_t o_inter = o_big, o_emb = o_big, o_dw = o_big, o_s = o_dw + (T * H + 15) / 16 * 16,
                o_kern = o_s + (T * A + 15) / 16 * 16;
  std::unique_ptr<Arena> arena = m.take_arena();
  try {
    if (static_cast<int64_t>(arena->f.size()) < off) arena->f.resize(static_cast<size_t>(off));
    if (static_cast<int64_t>(arena->i.size()) < T) arena->i.resize(static_cast<size_t>(T));
  } catch (const std::bad_alloc&) {
    return Status::Error(StatusCode::kOutOfMemory, "forward: cannot allocate the workspace (" +
                                                       std::to_string(off * 4) + " bytes)");
  }
  float* base = arena->f.data();
  float *h = base + o_h, *h1 = base + o_h1, *emb = base + o_emb, *qkvc = base + o_qkvc, *dw = base + o_dw,
        *s = base + o_s, *kern = base + o_kern, *ctx = base + o_ctx, *tmp = base + o_tmp, *inter = base + o_inter,
        *mask_bias = base + o_mask, *scratch = base + o_scr, *head_buf = base + o_head;
  // int8 models: the quantised activations of every linear layer (rows of at most max_linear_k).
  uint8_t* q8 = reinterpret_cast<uint8_t*>(base + o_q8);

  Status st = [&]() -> Status {
    // Embeddings.
    int32_t* positions = arena->i.data();
    if (j.position_ids) {
      std::memcpy(positions, j.position_ids, static_cast<size_t>(T) * 4);
    } else if (j.seq_starts) {
      for (int64_t b = 0; b < B; ++b)
        for (int32_t t = j.seq_starts[b]; t < j.seq_starts[b + 1]; ++t) positions[t] = t - j.seq_starts[b];
    } else {
      for (int64_t b = 0; b < B; ++b)
        for (int64_t l = 0; l < L; ++l) positions[b * L + l] = static_cast<int32_t>(l);
    }
    EmbeddingArgs ea;
    ea.ids = j.inputs_embeds ? nullptr : j.input_ids;
    ea.embeds = j.inputs_embeds;
    ea.positions = positions;
    ea.types = j.token_type_ids;
    ea.word = m.word.data();
    ea.pos = m.pos.data();
    ea.type = m.type.data();
    ea.vocab = c.vocab_size;
    ea.max_pos = c.max_positions;
    ea.type_vocab = c.type_vocab;
    ea.T = T;
    ea.E = E;
    ea.y = emb;
    CONVBERT_RETURN_IF_ERROR(embedding(ops, ea));
    LayerNormArgs ln;
    ln.x = emb;
    ln.y = m.has_project ? emb : h;
    ln.gamma = m.emb_ln_g.data();
    ln.beta = m.emb_ln_b.data();
    ln.rows = T;
    ln.C = E;
    ln.eps = c.layer_norm_eps;
    CONVBERT_RETURN_IF_ERROR(layernorm(ops, ln));
    if (m.has_project) CONVBERT_RETURN_IF_ERROR(linear(ops, m.project, emb, E, T, h, H, Activation::kIdentity, q8));
    if (!j.hidden_states.empty()) std::memcpy(j.hidden_states[0], h, static_cast<size_t>(T * H) * 4);

    // Mask bias (1 - m) * finfo(float32).min, rounded to float as torch does.
    if (j.attention_mask) {
      const float fmin = std::numeric_limits<float>::lowest();
      for (int64_t i = 0; i < mask_n; ++i) mask_bias[i] = (1.0f - j.attention_mask[i]) * fmin;
    }

    for (int64_t li = 0; li < c.layers; ++li) {
      const LayerWeights& w = m.layers[static_cast<size_t>(li)];
      // [q | k | v | conv_out] in one gemm: (T, 4A).
      CONVBERT_RETURN_IF_ERROR(linear(ops, w.qkvc, h, H, T, qkvc, 4 * A, Activation::kIdentity, q8));
      // key_conv_attn_layer: depthwise (T, H), pointwise + bias (T, A), then ⊙ query.
      SepConvArgs sc;
      sc.x = h;
      sc.y = dw;
      sc.wt = w.dw_t.data();
      sc.B = B;
      sc.L = L;
      sc.C = H;
      sc.K = K;
      sc.seq_starts = j.seq_starts;
      CONVBERT_RETURN_IF_ERROR(sepconv(ops, sc));
      CONVBERT_RETURN_IF_ERROR(linear(ops, w.pointwise, dw, H, T, s, A, Activation::kIdentity, q8));
      for (int64_t t = 0; t < T; ++t) {
        float* sr = s + t * A;
        const float* qr = qkvc + t * 4 * A;
        for (int64_t a = 0; a < A; ++a) sr[a] *= qr[a];
      }
      // conv_kernel_layer (T, S*K), softmax over the K taps of each head.
      CONVBERT_RETURN_IF_ERROR(linear(ops, w.conv_kernel, s, A, T, kern, S * K, Activation::kIdentity, q8));
      SoftmaxArgs sm;
      sm.x = kern;
      sm.rows = T * S;
      sm.n = K;
      CONVBERT_RETURN_IF_ERROR(softmax(ops, sm));
      // Dynamic convolution over conv_out_layer -> context columns [A, 2A).
      DynConvArgs dc;
      dc.v = qkvc + 3 * A;
      dc.ldv = 4 * A;
      dc.w = kern;
      dc.out = ctx + A;
      dc.ldo = H;
      dc.B = B;
      dc.L = L;
      dc.H = S;
      dc.D = D;
      dc.K = K;
      dc.seq_starts = j.seq_starts;
      CONVBERT_RETURN_IF_ERROR(dynconv(ops, dc));
      // Dot-product attention -> context columns [0, A).
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
      at.head_mult = j.head_mask ? j.head_mask + li * S : nullptr;
      at.out = ctx;
      at.ldo = H;
      at.probs = j.attentions.empty() ? nullptr : j.attentions[static_cast<size_t>(li)];
      at.scratch = scratch;
      at.seq_starts = j.seq_starts;
      CONVBERT_RETURN_IF_ERROR(attention(ops, at));
      // attention.output: dense + residual + LayerNorm.
      CONVBERT_RETURN_IF_ERROR(linear(ops, w.attn_out, ctx, H, T, tmp, H, Activation::kIdentity, q8));
      LayerNormArgs l1;
      l1.x = tmp;
      l1.r = h;
      l1.y = h1;
      l1.gamma = w.ln1_g.data();
      l1.beta = w.ln1_b.data();
      l1.rows = T;
      l1.C = H;
      l1.eps = c.layer_norm_eps;
      CONVBERT_RETURN_IF_ERROR(layernorm(ops, l1));
      // FFN.
      CONVBERT_RETURN_IF_ERROR(linear(ops, w.inter, h1, H, T, inter, I, static_cast<Activation>(c.hidden_act), q8));
      CONVBERT_RETURN_IF_ERROR(linear(ops, w.out, inter, I, T, tmp, H, Activation::kIdentity, q8));
      LayerNormArgs l2 = l1;
      l2.x = tmp;
      l2.r = h1;
      l2.y = h;
      l2.gamma = w.ln2_g.data();
      l2.beta = w.ln2_b.data();
      CONVBERT_RETURN_IF_ERROR(layernorm(ops, l2));
      if (!j.hidden_states.empty())
        std::memcpy(j.hidden_states[static_cast<size_t>(li + 1)], h, static_cast<size_t>(T * H) * 4);
    }
    std::memcpy(j.last_hidden_state, h, static_cast<size_t>(T * H) * 4);
    return run_head(m, ops, j, T, h, emb, head_buf, q8);
  }();
  m.give_arena(std::move(arena));
  return st;
}

}  // namespace convbert
