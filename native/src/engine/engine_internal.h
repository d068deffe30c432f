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
// The walk's linear call: y = act(x · Wᵀ + bias) on backend be, with the int8 activation
// scratch of the arena (forward.cc and heads.cc both call linear layers this way).
struct WalkLinear {
  const Backend& be;
  uint8_t* q8;
  Status operator()(const LinearRef& w, const float* x, int64_t ldx, int64_t M, float* y, int64_t ldy,
                    Activation act = Activation::kIdentity) const {
    LinearArgs a;
    a.w = w;
    a.x = x;
    a.ldx = ldx;
    a.M = M;
    a.y = y;
    a.ldy = ldy;
    a.act = act;
    a.scratch = q8;
    return be.linear(be.ctx, a);
  }
};
Status walk_head(const EngineConfig& c, const HeadConfig& hc, const ModelRefs& m, const Backend& be, const WalkIO& io,
                 const ArenaPlan& p, float* F);

}  // namespace convbert
