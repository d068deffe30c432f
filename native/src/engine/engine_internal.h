// engine_internal.h: helpers shared by forward.cc and heads.cc (not public).
#pragma once
#include <cstdint>

#include "convbert/engine.h"

namespace convbert {

// y (M, N) = act(x (M, K; row stride ldx) · Wᵀ + bias), for every group of w. i8_scratch:
// int8 models only, i8_scratch_bytes(m, M) bytes of arena for the quantised rows.
Status engine_linear(const OpTable& ops, const PackedLinear& w, const float* x, int64_t ldx, int64_t M, float* y,
                     int64_t ldy, Activation act, uint8_t* i8_scratch);
// Bytes of int8 activation scratch any linear layer of m needs for up to M rows (0 unless int8).
int64_t i8_scratch_bytes(const Model& m, int64_t M);
// Floats of arena the head needs for a (B, L) batch.
int64_t head_scratch_size(const Model& m, int64_t B, int64_t L);
// Computes the head's logits from the final hidden states h (T tokens: B*L padded, or varlen);
// emb is a (B*L, max(E, hidden)) scratch, buf has head_scratch_size floats.
Status run_head(const Model& m, const OpTable& ops, const ForwardJob& j, int64_t T, const float* h, float* emb,
                float* buf, uint8_t* i8_scratch);

}  // namespace convbert
