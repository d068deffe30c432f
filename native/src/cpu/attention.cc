// attention.cc: the dot-product branch of ConvBertSelfAttention, per (b, h):
//   S = Q Kᵀ (float), S = S / sqrt(D) + bias with bias = (1 - m) · finfo(float32).min
//   (added in float, so a fully masked row is uniform, not NaN, as in torch; a
//   mask value whose bias overflows follows IEEE as in torch: +Inf in a row, or a
//   row of -Inf, makes it NaN on every path, see softmax.cc),
//   P = softmax(S) · head_mult, out = P V.
// q/k/v/out: (B, L, ld) with head h at columns [h*D, (h+1)*D). Both products run
// on the table's gemm block kernel (K and Vᵀ packed per head into a scratch
// slot), the rows on its softmax kernel; the reference path is therefore
// gemm_block_ref + softmax_row_ref. The score matrix of one head lives in the
// slot, or directly in probs when the caller asks for the probabilities.
#include <algorithm>
#include <cmath>

#include "convbert/ops.h"
#include "convbert/thread_pool.h"

namespace convbert {

namespace {
constexpr int64_t kAttnSlots = 32;  // heads in flight at once, one scratch slot each

int64_t slot_size(int64_t L, int64_t D) { return L * L + packed_gemm_size(L, D) + packed_gemm_size(D, L); }
}  // namespace

int64_t attention_scratch_size(int64_t B, int64_t L, int64_t H, int64_t D) {
  return std::min<int64_t>(kAttnSlots, std::max<int64_t>(1, B * H)) * slot_size(L, D);
}

Status attention(const OpTable& ops, const AttentionArgs& a) {
  if (a.B < 0 || a.L < 0 || a.H <= 0 || a.D <= 0 || a.ld < a.H * a.D || a.ldo < a.H * a.D)
    return Status::Error(StatusCode::kInvalidArgument, "attention: bad sizes or strides");
  if (a.mask_bias && a.mask_rank != 2 && a.mask_rank != 3)
    return Status::Error(StatusCode::kInvalidArgument, "attention: mask rank must be 2 or 3");
  if (a.cu_seqlens && (a.mask_bias || a.probs))
    return Status::Error(StatusCode::kInvalidArgument, "attention: varlen takes no mask and returns no probabilities");
  const int64_t tasks = a.B * a.H;
  if (tasks == 0 || a.L == 0) return Status::Ok();
  if (!a.q || !a.k || !a.v || !a.out || !a.scratch)
    return Status::Error(StatusCode::kInvalidArgument, "attention: null pointer");
  const int64_t L = a.L, H = a.H, D = a.D;
  const float sqrt_d = static_cast<float>(std::sqrt(static_cast<double>(D)));
  const int64_t groups = std::min(kAttnSlots, tasks);
  const int64_t slot_n = slot_size(L, D);
  parallel_for(groups, 1, [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; ++g) {
      float* slot = a.scratch + g * slot_n;
      float* pk = slot + L * L;
      float* pv = pk + packed_gemm_size(L, D);
      for (int64_t t = tasks * g / groups; t < tasks * (g + 1) / groups; ++t) {
        const int64_t b = t / H, h = t % H;
        const int64_t start = a.cu_seqlens ? a.cu_seqlens[b] : b * L;
        const int64_t n = a.cu_seqlens ? a.cu_seqlens[b + 1] - a.cu_seqlens[b] : L;
        const float* q = a.q + start * a.ld + h * D;
        // K as an (n, D) nn.Linear-style matrix, V as (n keys, D) read transposed.
        pack_gemm_b(a.k + start * a.ld + h * D, a.ld, n, D, false, pk);
        pack_gemm_b(a.v + start * a.ld + h * D, a.ld, D, n, true, pv);
        float* S = a.probs ? a.probs + t * L * L : slot;
        ops.gemm_block(q, a.ld, pk, D, nullptr, S, n, n, n);
        const float mult = a.head_mult ? a.head_mult[h] : 1.f;
        for (int64_t i = 0; i < n; ++i) {
          float* s = S + i * n;
          const float* bias = nullptr;
          if (a.mask_bias) bias = a.mask_rank == 2 ? a.mask_bias + b * L : a.mask_bias + (b * L + i) * L;
          // torch: scores / sqrt(head_dim), then + mask bias, both in float32.
          for (int64_t j = 0; j < n; ++j) s[j] = s[j] / sqrt_d;
          if (bias)
            for (int64_t j = 0; j < n; ++j) s[j] += bias[j];
          ops.softmax_row(s, n);
          if (mult != 1.f)
            for (int64_t j = 0; j < n; ++j) s[j] *= mult;
        }
        ops.gemm_block(S, n, pv, n, nullptr, a.out + start * a.ldo + h * D, a.ldo, n, D);
      }
    }
  });
  return Status::Ok();
}

}  // namespace convbert
