// forward.cc: the ConvBERT forward as one fixed plan of ops over one arena
// (HF ConvBertModel in eval mode, transformers >= 4.27 geometry), walked on any
// backend.h op table (the CPU's, or CUDA's inside graph capture):
//   embeddings (gather + LayerNorm [+ embeddings_project]), then per layer
//   [q|k|v|conv_out] gemm, depthwise+pointwise key conv, kernel gemm on
//   (key_conv ⊙ q), softmax over taps, dynamic conv -> conv heads; masked
//   attention -> attention heads; output dense + residual LayerNorm; FFN
//   (grouped when num_groups > 1) + residual LayerNorm. Heads in heads.cc.
// Also the one request check (validate_forward) and the arena layout both targets share.
#include <algorithm>
#include <cstring>
#include <string>

#include "convbert/engine.h"
#include "engine_internal.h"

namespace convbert {

namespace {

Status bad(const std::string& m) { return Status::Error(StatusCode::kInvalidArgument, m); }

// Buffers start at multiples of 64 floats (256 bytes) from the arena base: cache lines
// on the CPU, whole memory transactions on a GPU.
constexpr int64_t kAlign = 64;

// Overflow-checked sizes for plan_arena: any overflow latches ok = false.
struct Sizes {
  bool ok = true;
  int64_t mul(int64_t a, int64_t b) {
    int64_t r = 0;
    if (__builtin_mul_overflow(a, b, &r)) ok = false;
    return ok ? r : 0;
  }
  int64_t add(int64_t a, int64_t b) {
    int64_t r = 0;
    if (__builtin_add_overflow(a, b, &r)) ok = false;
    return ok ? r : 0;
  }
  int64_t round(int64_t n) { return mul((add(n, kAlign - 1)) / kAlign, kAlign); }
};

// Checks p (n ints) against [0, hi); the message names the input and the position as
// [row, column] of the padded (B, L) layout, or [0, token] of a varlen one (cols = T).
Status check_range(const int32_t* p, int64_t n, int64_t cols, int64_t hi, const char* name, const char* bound) {
  if (!p) return Status::Ok();
  for (int64_t t = 0; t < n; ++t)
    if (p[t] < 0 || p[t] >= hi)
      return bad(std::string(name) + ": value " + std::to_string(p[t]) + " at [" + std::to_string(t / cols) + ", " +
                 std::to_string(t % cols) + "] is outside [0, " + std::to_string(hi) + ") (" + bound + ")");
  return Status::Ok();
}

}  // namespace

int64_t i8_scratch_bytes(const Model& m, int64_t M) {
  return m.dtype == Dtype::kInt8 ? gemm_i8_scratch_size(M, m.max_linear_k) : 0;
}

Status validate_forward(const EngineConfig& c, const HeadConfig& hc, const ForwardJob& j) {
  const int64_t B = j.B, L = j.L;
  if (B <= 0 || L <= 0) return Status::Error(StatusCode::kShape, "forward: B and L must be positive");
  if (!j.last_hidden_state || (hc.kind != HeadKind::kNone && !j.logits) || (!j.input_ids && !j.inputs_embeds))
    return bad("forward: missing input or output buffer");
  if (!j.hidden_states.empty() && static_cast<int64_t>(j.hidden_states.size()) != c.layers + 1)
    return bad("forward: hidden_states needs num_hidden_layers + 1 arrays");
  if (!j.attentions.empty() && static_cast<int64_t>(j.attentions.size()) != c.layers)
    return bad("forward: attentions needs num_hidden_layers arrays");
  int64_t longest = L;  // arange positions run to longest - 1
  if (j.cu_seqlens) {
    if (j.cu_seqlens[0] != 0) return bad("cu_seqlens[0] must be 0");
    longest = 0;
    for (int64_t b = 0; b < B; ++b) {
      const int64_t len = static_cast<int64_t>(j.cu_seqlens[b + 1]) - j.cu_seqlens[b];
      if (len < 1 || len > L)
        return bad("cu_seqlens: sequence " + std::to_string(b) + " has length " + std::to_string(len) +
                   ", expected 1.." + std::to_string(L));
      longest = std::max(longest, len);
    }
    if (j.attention_mask || !j.attentions.empty())
      return bad("cu_seqlens: varlen forwards take no attention_mask and return no attentions");
  }
  if (j.attention_mask && j.mask_rank != 2 && j.mask_rank != 3)
    return bad("forward: attention_mask rank must be 2 or 3");
  if (longest > c.max_positions && !j.position_ids)
    return Status::Error(StatusCode::kShape, "input_ids: sequence length " + std::to_string(longest) +
                                                 " exceeds max_position_embeddings " + std::to_string(c.max_positions));
  const int64_t T = j.cu_seqlens ? j.cu_seqlens[B] : B * L;
  const int64_t cols = j.cu_seqlens ? T : L;
  // Device backends gather with these without a bounds check of their own.
  CONVBERT_RETURN_IF_ERROR(
      check_range(j.inputs_embeds ? nullptr : j.input_ids, T, cols, c.vocab_size, "input_ids", "vocab_size"));
  CONVBERT_RETURN_IF_ERROR(check_range(j.token_type_ids, T, cols, c.type_vocab, "token_type_ids", "type_vocab_size"));
  CONVBERT_RETURN_IF_ERROR(
      check_range(j.position_ids, T, cols, c.max_positions, "position_ids", "max_position_embeddings"));
  if (j.cls_index) {
    for (int64_t b = 0; b < B; ++b) {
      const int64_t len = j.cu_seqlens ? j.cu_seqlens[b + 1] - j.cu_seqlens[b] : L;
      if (j.cls_index[b] < 0 || j.cls_index[b] >= len)
        return bad("cls_index: value " + std::to_string(j.cls_index[b]) + " at [" + std::to_string(b) +
                   "] is outside [0, " + std::to_string(len) + ")");
    }
  }
  return Status::Ok();
}

void fill_positions(const ForwardJob& j, int32_t* positions) {
  if (j.position_ids) {
    const int64_t T = j.cu_seqlens ? j.cu_seqlens[j.B] : j.B * j.L;
    std::memcpy(positions, j.position_ids, static_cast<size_t>(T) * 4);
  } else if (j.cu_seqlens) {
    for (int64_t b = 0; b < j.B; ++b)
      for (int32_t t = j.cu_seqlens[b]; t < j.cu_seqlens[b + 1]; ++t) positions[t] = t - j.cu_seqlens[b];
  } else {
    for (int64_t b = 0; b < j.B; ++b)
      for (int64_t l = 0; l < j.L; ++l) positions[b * j.L + l] = static_cast<int32_t>(l);
  }
}

Status plan_arena(const EngineConfig& c, const HeadConfig& hc, const ForwardJob& j, const PlanOptions& o,
                  ArenaPlan* out) {
  Sizes z;
  ArenaPlan p;
  p.B = j.B;
  p.L = j.L;
  p.T = j.cu_seqlens ? j.cu_seqlens[j.B] : z.mul(j.B, j.L);
  const int64_t B = j.B, L = j.L, T = p.T, H = c.hidden, E = c.embedding, A = c.sa_heads * c.head_dim,
                I = c.intermediate, K = c.conv_kernel, S = c.sa_heads, D = c.head_dim;
  const int64_t BL = z.mul(B, L);
  p.mask_n = j.attention_mask ? (j.mask_rank == 2 ? BL : z.mul(BL, L)) : 0;
  switch (hc.kind) {
    case HeadKind::kNone: break;
    case HeadKind::kMaskedLM:
    case HeadKind::kTokenClassification:
    case HeadKind::kQuestionAnswering: p.logits_n = z.mul(T, hc.num_outputs); break;
    case HeadKind::kSequenceClassification:
    case HeadKind::kMultipleChoice: p.logits_n = z.mul(B, hc.num_outputs); break;
  }
  int64_t off = 0;
  auto carve = [&](int64_t n) {
    const int64_t at = off;
    off = z.add(off, z.round(n));
    return at;
  };
  // The FFN's (T, I) buffer is free outside the FFN, so the key-conv temporaries
  // (depthwise out, pointwise out, kernel logits) and the embedding / MLM-head
  // (T, E) scratch share it.
  const int64_t TH = z.mul(T, H), TA = z.mul(T, A);
  const int64_t conv_n = z.add(z.add(z.round(TH), z.round(TA)), z.mul(z.mul(T, S), K));
  const int64_t big_n = std::max({z.mul(T, I), conv_n, z.mul(T, std::max(E, H))});
  p.h = carve(TH);
  p.h1 = carve(TH);
  p.qkvc = carve(z.mul(TA, 4));
  p.ctx = carve(TH);
  p.tmp = carve(TH);
  p.big = carve(big_n);
  p.dw = p.big;
  p.s = z.add(p.dw, z.round(TH));
  p.kern = z.add(p.s, z.round(TA));
  p.mask_bias = carve(p.mask_n);
  p.scratch = carve(o.attention_scratch ? attention_scratch_size(B, L, S, D) : 0);
  p.head = carve(head_scratch_size(c, hc, B));
  p.q8 = carve((o.linear_scratch_bytes + 3) / 4);
  if (o.staged) {
    p.mask_in = carve(p.mask_n);
    p.embeds = carve(j.inputs_embeds ? z.mul(T, E) : 0);
    p.head_mask = carve(j.head_mask ? z.mul(c.layers, S) : 0);
    p.logits = carve(p.logits_n);
    p.hidden = carve(j.hidden_states.empty() ? 0 : z.mul(c.layers + 1, TH));
    p.attn = carve(j.attentions.empty() ? 0 : z.mul(z.mul(c.layers, z.mul(B, S)), z.mul(L, L)));
  }
  p.f_total = off;
  off = 0;
  p.positions = carve(T);
  if (o.staged) {
    p.ids = carve(j.inputs_embeds ? 0 : T);
    p.types = carve(j.token_type_ids ? T : 0);
    p.seq = carve(j.cu_seqlens ? B + 1 : 0);
    p.cls = carve(j.cls_index ? B : 0);
  }
  p.i_total = off;
  if (!z.ok)
    return Status::Error(StatusCode::kShape, "forward: B x L = " + std::to_string(B) + " x " + std::to_string(L) +
                                                 " needs a workspace past int64");
  *out = p;
  return Status::Ok();
}

Status walk_forward(const EngineConfig& c, const HeadConfig& hc, const ModelRefs& m, const Backend& be,
                    const WalkIO& io, const ArenaPlan& p, float* F) {
  const int64_t B = io.B, L = io.L, T = io.T;
  const int64_t H = c.hidden, E = c.embedding, A = c.sa_heads * c.head_dim, I = c.intermediate, K = c.conv_kernel;
  const int64_t S = c.sa_heads, D = c.head_dim;
  void* cx = be.ctx;
  float *h = F + p.h, *h1 = F + p.h1, *emb = F + p.big, *qkvc = F + p.qkvc, *dw = F + p.dw, *s = F + p.s,
        *kern = F + p.kern, *ctx = F + p.ctx, *tmp = F + p.tmp, *inter = F + p.big, *mask_bias = F + p.mask_bias;
  // int8 models: the quantised activations of every linear layer (rows of at most max_linear_k).
  uint8_t* q8 = reinterpret_cast<uint8_t*>(F + p.q8);
  const WalkLinear linear{be, q8};
  // y = LayerNorm(x (M, N) · Wᵀ + bias + r): the residual in the gemm epilogue when the
  // backend fuses it, else in the LayerNorm (the same float sum either way).
  auto linear_residual_ln = [&](const LinearRef& w, const float* x, int64_t ldx, const float* r, float* y,
                                const float* g, const float* bt) -> Status {
    LinearArgs a;
    a.w = w;
    a.x = x;
    a.ldx = ldx;
    a.M = T;
    a.y = tmp;
    a.ldy = H;
    a.scratch = q8;
    if (be.linear_residual) {
      a.residual = r;
      a.ldr = H;
    }
    CONVBERT_RETURN_IF_ERROR(be.linear(cx, a));
    LayerNormArgs ln;
    ln.x = tmp;
    ln.r = be.linear_residual ? nullptr : r;
    ln.y = y;
    ln.gamma = g;
    ln.beta = bt;
    ln.rows = T;
    ln.C = H;
    ln.eps = c.layer_norm_eps;
    return be.layernorm(cx, ln);
  };

  // Embeddings.
  EmbeddingArgs ea;
  ea.ids = io.embeds ? nullptr : io.ids;
  ea.embeds = io.embeds;
  ea.positions = io.positions;
  ea.types = io.types;
  ea.word = m.word;
  ea.pos = m.pos;
  ea.type = m.type;
  ea.vocab = c.vocab_size;
  ea.max_pos = c.max_positions;
  ea.type_vocab = c.type_vocab;
  ea.T = T;
  ea.E = E;
  ea.y = emb;
  CONVBERT_RETURN_IF_ERROR(be.embedding(cx, ea));
  LayerNormArgs ln;
  ln.x = emb;
  ln.y = m.has_project ? emb : h;
  ln.gamma = m.emb_ln_g;
  ln.beta = m.emb_ln_b;
  ln.rows = T;
  ln.C = E;
  ln.eps = c.layer_norm_eps;
  CONVBERT_RETURN_IF_ERROR(be.layernorm(cx, ln));
  if (m.has_project) CONVBERT_RETURN_IF_ERROR(linear(m.project, emb, E, T, h, H));
  if (io.hidden_states) CONVBERT_RETURN_IF_ERROR(be.copy(cx, io.hidden_states[0], h, T * H));

  // Mask bias (1 - m) * finfo(float32).min, rounded to float as torch does.
  if (io.mask) {
    MaskBiasArgs mb;
    mb.mask = io.mask;
    mb.bias = mask_bias;
    mb.n = p.mask_n;
    CONVBERT_RETURN_IF_ERROR(be.mask_bias(cx, mb));
  }

  for (int64_t li = 0; li < c.layers; ++li) {
    const LayerRefs& w = m.layers[static_cast<size_t>(li)];
    // [q | k | v | conv_out] in one gemm: (T, 4A).
    CONVBERT_RETURN_IF_ERROR(linear(w.qkvc, h, H, T, qkvc, 4 * A));
    // key_conv_attn_layer: depthwise (T, H), pointwise + bias (T, A), then ⊙ query.
    SepConvArgs sc;
    sc.x = h;
    sc.y = dw;
    sc.wt = w.dw_t;
    sc.B = B;
    sc.L = L;
    sc.C = H;
    sc.K = K;
    sc.cu_seqlens = io.cu_seqlens;
    CONVBERT_RETURN_IF_ERROR(be.sepconv(cx, sc));
    CONVBERT_RETURN_IF_ERROR(linear(w.pointwise, dw, H, T, s, A));
    MulArgs mu;
    mu.s = s;
    mu.q = qkvc;
    mu.rows = T;
    mu.C = A;
    mu.ldq = 4 * A;
    CONVBERT_RETURN_IF_ERROR(be.mul(cx, mu));
    // conv_kernel_layer (T, S*K), softmax over the K taps of each head, then the dynamic
    // convolution over conv_out_layer -> context columns [A, 2A).
    CONVBERT_RETURN_IF_ERROR(linear(w.conv_kernel, s, A, T, kern, S * K));
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
    dc.cu_seqlens = io.cu_seqlens;
    if (be.dynconv_logits) {
      CONVBERT_RETURN_IF_ERROR(be.dynconv_logits(cx, dc));
    } else {
      SoftmaxArgs sm;
      sm.x = kern;
      sm.rows = T * S;
      sm.n = K;
      CONVBERT_RETURN_IF_ERROR(be.softmax(cx, sm));
      CONVBERT_RETURN_IF_ERROR(be.dynconv(cx, dc));
    }
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
    at.mask_bias = io.mask ? mask_bias : nullptr;
    at.mask_rank = io.mask ? io.mask_rank : 0;
    at.head_mult = io.head_mask ? io.head_mask + li * S : nullptr;
    at.out = ctx;
    at.ldo = H;
    at.probs = io.attentions ? io.attentions[li] : nullptr;
    at.scratch = be.attention_scratch ? F + p.scratch : nullptr;
    at.cu_seqlens = io.cu_seqlens;
    CONVBERT_RETURN_IF_ERROR(be.attention(cx, at));
    // attention.output: dense + residual + LayerNorm.
    CONVBERT_RETURN_IF_ERROR(linear_residual_ln(w.attn_out, ctx, H, h, h1, w.ln1_g, w.ln1_b));
    // FFN.
    CONVBERT_RETURN_IF_ERROR(linear(w.inter, h1, H, T, inter, I, static_cast<Activation>(c.hidden_act)));
    CONVBERT_RETURN_IF_ERROR(linear_residual_ln(w.out, inter, I, h1, h, w.ln2_g, w.ln2_b));
    if (io.hidden_states) CONVBERT_RETURN_IF_ERROR(be.copy(cx, io.hidden_states[li + 1], h, T * H));
  }
  CONVBERT_RETURN_IF_ERROR(be.copy(cx, io.last_hidden_state, h, T * H));
  return walk_head(c, hc, m, be, io, p, F);
}

Status CpuTarget::run(const Model& m, const ForwardJob& j) {
  PlanOptions o;
  o.attention_scratch = true;
  const int64_t T = j.cu_seqlens ? j.cu_seqlens[j.B] : j.B * j.L;
  o.linear_scratch_bytes = i8_scratch_bytes(m, T);
  ArenaPlan p;
  CONVBERT_RETURN_IF_ERROR(plan_arena(m.cfg, m.head, j, o, &p));
  std::unique_ptr<Arena> arena = m.take_arena();
  try {
    if (static_cast<int64_t>(arena->f.size()) < p.f_total) arena->f.resize(static_cast<size_t>(p.f_total));
    if (static_cast<int64_t>(arena->i.size()) < p.i_total) arena->i.resize(static_cast<size_t>(p.i_total));
  } catch (const std::bad_alloc&) {
    return Status::Error(StatusCode::kOutOfMemory,
                         "forward: cannot allocate the workspace (" + std::to_string(p.f_total * 4) + " bytes)");
  }
  int32_t* positions = arena->i.data() + p.positions;
  fill_positions(j, positions);
  // The host arrays are the backend's memory: the walk reads and writes them in place.
  WalkIO io;
  io.B = j.B;
  io.L = j.L;
  io.T = p.T;
  io.ids = j.inputs_embeds ? nullptr : j.input_ids;
  io.embeds = j.inputs_embeds;
  io.types = j.token_type_ids;
  io.positions = positions;
  io.mask = j.attention_mask;
  io.mask_rank = j.mask_rank;
  io.head_mask = j.head_mask;
  io.cls_index = j.cls_index;
  io.cu_seqlens = j.cu_seqlens;
  io.last_hidden_state = j.last_hidden_state;
  io.logits = j.logits;
  io.hidden_states = j.hidden_states.empty() ? nullptr : j.hidden_states.data();
  io.attentions = j.attentions.empty() ? nullptr : j.attentions.data();
  const Backend be = cpu_backend(*ops_);
  const Status st = walk_forward(m.cfg, m.head, m.refs, be, io, p, arena->f.data());
  m.give_arena(std::move(arena));
  return st;
}

Status forward(const Model& m, ForwardTarget& target, const ForwardJob& j) {
  CONVBERT_RETURN_IF_ERROR(validate_forward(m.cfg, m.head, j));
  return target.run(m, j);
}

Status forward(const Model& m, const OpTable& ops, const ForwardJob& j) {
  CpuTarget cpu(ops);
  return forward(m, cpu, j);
}

}  // namespace convbert
