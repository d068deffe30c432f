// engine_internal.h: helpers shared by forward.cc, heads.cc and cpu_backend.cc (not public).
#pragma once
#include <cstdint>

#include "convbert/engine.h"

namespace convbert {

// Bytes of int8 activation scratch any linear layer of m needs for up to M rows (0 unless int8).
int64_t i8_scratch_bytes(const Model& m, int64_t M);
// Floats of arena the head needs for B sequences: pooled rows (B, hidden) and their
// projection (B, max(hidden, summary_proj_out)) for the pooling heads, else 0.
int64_t head_scratch_size(const EngineConfig& c, const HeadConfig& h, int64_t B);
// The head's logits from the final hidden states at F + p.h (the second half of walk_forward).
Status walk_head(const EngineConfig& c, const HeadConfig& hc, const ModelRefs& m, const Backend& be,
                 const WalkIO& io, const ArenaPlan& p, float* F);

}  // namespace convbert
