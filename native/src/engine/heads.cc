// heads.cc: the five task heads of HF's ConvBERT on the final hidden states
// h (B, L, hidden), walked on any backend.h op table: masked LM
// (generator_predictions: dense -> exact GELU -> LayerNorm, then generator_lm_head),
// sequence classification (token 0 -> dense -> hidden_act -> out_proj), token
// classification, question answering (per token) and multiple choice
// (SequenceSummary -> classifier). Losses are TS's.
#include <algorithm>

#include "engine_internal.h"

namespace convbert {

int64_t head_scratch_size(const EngineConfig& c, const HeadConfig& h, int64_t B) {
  switch (h.kind) {
    case HeadKind::kSequenceClassification:
    case HeadKind::kMultipleChoice: return B * c.hidden + B * std::max(c.hidden, h.summary_proj_out);
    default: return 0;
  }
}

Status walk_head(const EngineConfig& c, const HeadConfig& hc, const ModelRefs& m, const Backend& be, const WalkIO& io,
                 const ArenaPlan& p, float* F) {
  const int64_t B = io.B, T = io.T, H = c.hidden, E = c.embedding;
  void* cx = be.ctx;
  const float* h = F + p.h;
  float* emb = F + p.big;
  float* pooled = F + p.head;        // (B, H)
  float* proj = F + p.head + B * H;  // (B, max(H, summary_proj_out))
  uint8_t* q8 = reinterpret_cast<uint8_t*>(F + p.q8);
  const WalkLinear linear{be, q8};
  auto pool = [&](PoolMode mode) {
    PoolArgs pa;
    pa.h = h;
    pa.out = pooled;
    pa.B = B;
    pa.L = io.L;
    pa.H = H;
    pa.cu_seqlens = io.cu_seqlens;
    pa.index = io.cls_index;
    pa.mode = mode;
    return be.pool(cx, pa);
  };
  switch (hc.kind) {
    case HeadKind::kNone: return Status::Ok();
    case HeadKind::kMaskedLM: {
      // ConvBertGeneratorPredictions always uses erf GELU, whatever hidden_act says.
      CONVBERT_RETURN_IF_ERROR(linear(m.h_dense, h, H, T, emb, E, Activation::kGeluErf));
      LayerNormArgs ln;
      ln.x = emb;
      ln.y = emb;
      ln.gamma = m.h_ln_g;
      ln.beta = m.h_ln_b;
      ln.rows = T;
      ln.C = E;
      ln.eps = c.layer_norm_eps;
      CONVBERT_RETURN_IF_ERROR(be.layernorm(cx, ln));
      return linear(m.h_out, emb, E, T, io.logits, hc.num_outputs);
    }
    case HeadKind::kSequenceClassification:
      // Token 0 of each sequence.
      CONVBERT_RETURN_IF_ERROR(pool(PoolMode::kFirst));
      CONVBERT_RETURN_IF_ERROR(linear(m.h_dense, pooled, H, B, proj, H, static_cast<Activation>(hc.act)));
      return linear(m.h_out, proj, H, B, io.logits, hc.num_outputs);
    case HeadKind::kTokenClassification:
    case HeadKind::kQuestionAnswering: return linear(m.h_out, h, H, T, io.logits, hc.num_outputs);
    case HeadKind::kMultipleChoice: {
      PoolMode mode = PoolMode::kLast;
      switch (hc.summary_type) {
        case SummaryType::kLast: mode = PoolMode::kLast; break;
        case SummaryType::kFirst: mode = PoolMode::kFirst; break;
        case SummaryType::kMean: mode = PoolMode::kMean; break;
        // HF defaults to the last position when cls_index is not given (PoolArgs::index null).
        case SummaryType::kClsIndex: mode = PoolMode::kIndex; break;
      }
      CONVBERT_RETURN_IF_ERROR(pool(mode));
      float* x = pooled;
      int64_t P = H;
      if (hc.summary_use_proj) {
        P = hc.summary_proj_out;
        CONVBERT_RETURN_IF_ERROR(linear(m.h_dense, pooled, H, B, proj, P));
        x = proj;
      }
      if (hc.summary_act >= 0) {
        ActivationArgs ac;
        ac.x = x;
        ac.y = x;
        ac.rows = B;
        ac.C = P;
        ac.act = static_cast<Activation>(hc.summary_act);
        CONVBERT_RETURN_IF_ERROR(be.activation(cx, ac));
      }
      return linear(m.h_out, x, P, B, io.logits, 1);
    }
  }
  return Status::Error(StatusCode::kInternal, "engine: unknown head kind");
}

}  // namespace convbert
