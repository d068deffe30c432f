// embedding.cc: ConvBertEmbeddings before its LayerNorm:
// y[t] = (word[id_t] or inputs_embeds[t]) + pos[pos_t] + type[type_t], E wide,
// summed in that order in float32 as HF does. Ids are range-checked here too,
// so a bad id is an error, never an out-of-bounds read. embedding_row_ref is the reference.
#include <algorithm>
#include <atomic>
#include <string>

#include "convbert/ops.h"
#include "convbert/thread_pool.h"
#include "kernels_isa.h"

namespace convbert {

void embedding_row_ref(const float* a, const float* b, const float* c, int64_t E, float* y) {
  for (int64_t e = 0; e < E; ++e) y[e] = (a[e] + b[e]) + c[e];
}

Status embedding(const OpTable& ops, const EmbeddingArgs& a) {
  if (a.T < 0 || a.E <= 0) return Status::Error(StatusCode::kInvalidArgument, "embedding: bad sizes");
  if (a.T == 0) return Status::Ok();
  if (!a.y || !a.pos || !a.type || !a.positions || (!a.ids && !a.embeds) || (a.ids && !a.word))
    return Status::Error(StatusCode::kInvalidArgument, "embedding: null pointer");
  for (int64_t t = 0; t < a.T; ++t) {
    if (a.ids && (a.ids[t] < 0 || a.ids[t] >= a.vocab))
      return Status::Error(StatusCode::kInvalidArgument, "input_ids: id " + std::to_string(a.ids[t]) +
                                                             " at flat position " + std::to_string(t) +
                                                             " is outside [0, " + std::to_string(a.vocab) + ")");
    const int64_t p = a.positions ? a.positions[t] : 0;
    if (p < 0 || p >= a.max_pos)
      return Status::Error(StatusCode::kInvalidArgument, "position_ids: " + std::to_string(p) + " at flat position " +
                                                             std::to_string(t) + " is outside [0, " +
                                                             std::to_string(a.max_pos) + ")");
    const int64_t ty = a.types ? a.types[t] : 0;
    if (ty < 0 || ty >= a.type_vocab)
      return Status::Error(StatusCode::kInvalidArgument, "token_type_ids: " + std::to_string(ty) +
                                                             " at flat position " + std::to_string(t) +
                                                             " is outside [0, " + std::to_string(a.type_vocab) + ")");
  }
  // Each index is read once and checked again where it is used: the arrays may be
  // caller memory that another thread rewrites while this runs.
  std::atomic<bool> bad{false};
  const int64_t grain = std::max<int64_t>(1, 16384 / a.E);
  parallel_for(a.T, grain, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t id = a.ids ? a.ids[t] : 0;
      const int64_t p = a.positions[t];
      const int64_t ty = a.types ? a.types[t] : 0;
      if ((a.ids && (id < 0 || id >= a.vocab)) || p < 0 || p >= a.max_pos || ty < 0 || ty >= a.type_vocab) {
        bad.store(true, std::memory_order_relaxed);
        continue;
      }
      const float* w = a.ids ? a.word + id * a.E : a.embeds + t * a.E;
      ops.embedding_row(w, a.pos + p * a.E, a.type + ty * a.E, a.E, a.y + t * a.E);
    }
  });
  if (bad.load()) return Status::Error(StatusCode::kInvalidArgument, "embedding: an id changed while the forward ran");
  return Status::Ok();
}

}  // namespace convbert
