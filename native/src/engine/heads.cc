// heads.cc: the five task heads of HF's ConvBERT on the final hidden states
// h (B, L, hidden): masked LM (generator_predictions: dense -> exact GELU ->
// LayerNorm, then generator_lm_head), sequence classification (token 0 ->
// dense -> hidden_act -> out_proj), token classification, question answering
// (per token) and multiple choice (SequenceSummary -> classifier). Losses are TS's.
#include <algorithm>
#include <string>

#include "engine_internal.h"

namespace convbert {

int64_t head_scratch_size(const Model& m, int64_t B, int64_t L) {
  (void)L;
  const int64_t H = m.cfg.hidden;
  switch (m.head.kind) {
    case HeadKind::kSequenceClassification: return 2 * B * H;
    case HeadKind::kMultipleChoice: return B * H + B * std::max(H, m.head.summary_proj_out);
    default: return 0;
  }
}

Status run_head(const Model& m, const OpTable& ops, const ForwardJob& j, int64_t T, const float* h, float* emb,
                float* buf, uint8_t* q8) {
  const EngineConfig& c = m.cfg;
  const int64_t B = j.B, L = j.L, H = c.hidden, E = c.embedding;
  // Sequence b's first token and length, padded or varlen.
  auto start_of = [&](int64_t b) -> int64_t { return j.seq_starts ? j.seq_starts[b] : b * L; };
  auto len_of = [&](int64_t b) -> int64_t { return j.seq_starts ? j.seq_starts[b + 1] - j.seq_starts[b] : L; };
  switch (m.head.kind) {
    case HeadKind::kNone: return Status::Ok();
    case HeadKind::kMaskedLM: {
      // ConvBertGeneratorPredictions always uses erf GELU, whatever hidden_act says.
      CONVBERT_RETURN_IF_ERROR(engine_linear(ops, m.h_dense, h, H, T, emb, E, Activation::kGeluErf, q8));
      LayerNormArgs ln;
      ln.x = emb;
      ln.y = emb;
      ln.gamma = m.h_ln_g.data();
      ln.beta = m.h_ln_b.data();
      ln.rows = T;
      ln.C = E;
      ln.eps = c.layer_norm_eps;
      CONVBERT_RETURN_IF_ERROR(layernorm(ops, ln));
      return engine_linear(ops, m.h_out, emb, E, T, j.logits, m.head.num_outputs, Activation::kIdentity, q8);
    }
    case HeadKind::kSequenceClassification: {
      // Token 0 of each sequence.
      float* first = buf + B * H;
      for (int64_t b = 0; b < B; ++b) std::copy(h + start_of(b) * H, h + (start_of(b) + 1) * H, first + b * H);
      CONVBERT_RETURN_IF_ERROR(
          engine_linear(ops, m.h_dense, first, H, B, buf, H, static_cast<Activation>(m.head.act), q8));
      return engine_linear(ops, m.h_out, buf, H, B, j.logits, m.head.num_outputs, Activation::kIdentity, q8);
    }
    case HeadKind::kTokenClassification:
    case HeadKind::kQuestionAnswering:
      return engine_linear(ops, m.h_out, h, H, T, j.logits, m.head.num_outputs, Activation::kIdentity, q8);
    case HeadKind::kMultipleChoice: {
      float* pooled = buf;
      float* proj = buf + B * H;
      switch (m.head.summary_type) {
        case SummaryType::kLast:
          for (int64_t b = 0; b < B; ++b) {
            const int64_t t = start_of(b) + len_of(b) - 1;
            std::copy(h + t * H, h + (t + 1) * H, pooled + b * H);
          }
          break;
        case SummaryType::kFirst:
          for (int64_t b = 0; b < B; ++b) std::copy(h + start_of(b) * H, h + (start_of(b) + 1) * H, pooled + b * H);
          break;
        case SummaryType::kMean:
          for (int64_t b = 0; b < B; ++b)
            for (int64_t x = 0; x < H; ++x) {
              float acc = 0.f;
              for (int64_t l = 0; l < len_of(b); ++l) acc += h[(start_of(b) + l) * H + x];
              pooled[b * H + x] = acc / static_cast<float>(len_of(b));
            }
          break;
        case SummaryType::kClsIndex:
          for (int64_t b = 0; b < B; ++b) {
            // HF defaults to the last position when cls_index is not given.
            const int64_t idx = j.cls_index ? j.cls_index[b] : len_of(b) - 1;
            if (idx < 0 || idx >= len_of(b))
              return Status::Error(StatusCode::kInvalidArgument, "cls_index: " + std::to_string(idx) + " at row " +
                                                                     std::to_string(b) + " is outside [0, " +
                                                                     std::to_string(len_of(b)) + ")");
            const int64_t t = start_of(b) + idx;
            std::copy(h + t * H, h + (t + 1) * H, pooled + b * H);
          }
          break;
      }
      const float* x = pooled;
      int64_t P = H;
      if (m.head.summary_use_proj) {
        P = m.head.summary_proj_out;
        CONVBERT_RETURN_IF_ERROR(engine_linear(ops, m.h_dense, pooled, H, B, proj, P, Activation::kIdentity, q8));
        x = proj;
      }
      if (m.head.summary_act >= 0) {
        float* y = const_cast<float*>(x);
        ActivationArgs ac;
        ac.x = y;
        ac.y = y;
        ac.rows = B;
        ac.C = P;
        ac.act = static_cast<Activation>(m.head.summary_act);
        CONVBERT_RETURN_IF_ERROR(activation(ops, ac));
      }
      return engine_linear(ops, m.h_out, x, P, B, j.logits, 1, Activation::kIdentity, q8);
    }
  }
  return Status::Error(StatusCode::kInternal, "engine: unknown head kind");
}

}  // namespace convbert
