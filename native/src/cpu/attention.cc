// attention.cc: the dot-product branch of ConvBertSelfAttention, one query row
// at a time: s_j = q·k_j / sqrt(D) (float, as torch), s_j += bias_j where
// bias = (1 - m) · finfo(float32).min (so a fully masked row is uniform, not
// NaN), p = softmax(s) · head_mult, out = Σ_j p_j v_j. q/k/v/out: (B, L, ld)
// with head h at columns [h*D, (h+1)*D). attention_row_ref is the reference.
#include <algorithm>
#include <cmath>

#include "convbert/ops.h"
#include "convbert/thread_pool.h"
#include "kernels_isa.h"
#include "seq.h"

namespace convbert {

void attention_row_ref(const float* q, const float* k, const float* v, int64_t ld, int64_t Lk, int64_t D, float sqrt_d,
                       const float* bias, float head_mult, float* p, float* out) {
  float mx = 0.f;
  for (int64_t j = 0; j < Lk; ++j) {
    double dot = 0.0;
    for (int64_t d = 0; d < D; ++d) dot += static_cast<double>(q[d]) * k[j * ld + d];
    float s = static_cast<float>(dot) / sqrt_d;
    if (bias) s += bias[j];
    p[j] = s;
    mx = j == 0 ? s : std::max(mx, s);
  }
  double sum = 0.0;
  for (int64_t j = 0; j < Lk; ++j) sum += std::exp(static_cast<double>(p[j]) - mx);
  for (int64_t j = 0; j < Lk; ++j)
    p[j] = static_cast<float>(std::exp(static_cast<double>(p[j]) - mx) / sum) * head_mult;
  for (int64_t d = 0; d < D; ++d) {
    double acc = 0.0;
    for (int64_t j = 0; j < Lk; ++j) acc += static_cast<double>(p[j]) * v[j * ld + d];
    out[d] = static_cast<float>(acc);
  }
}

namespace {
constexpr int64_t kAttnTasks = 64;  // scratch slots: one row of L floats each
}

int64_t attention_scratch_size(int64_t B, int64_t L, int64_t H) {
  return std::min<int64_t>(kAttnTasks, std::max<int64_t>(1, B * H * L)) * L;
}

Status attention(const OpTable& ops, const AttentionArgs& a) {
  if (a.B < 0 || a.L < 0 || a.H <= 0 || a.D <= 0 || a.ld < a.H * a.D || a.ldo < a.H * a.D)
    return Status::Error(StatusCode::kInvalidArgument, "attention: bad sizes or strides");
  if (a.mask_bias && a.mask_rank != 2 && a.mask_rank != 3)
    return Status::Error(StatusCode::kInvalidArgument, "attention: mask rank must be 2 or 3");
  if (a.seq_starts && (a.mask_bias || a.probs))
    return Status::Error(StatusCode::kInvalidArgument, "attention: varlen takes no mask and returns no probabilities");
  const int64_t tokens = a.seq_starts ? (a.B > 0 ? a.seq_starts[a.B] : 0) : a.B * a.L;
  const int64_t rows = tokens * a.H;
  if (rows == 0) return Status::Ok();
  if (!a.q || !a.k || !a.v || !a.out || (!a.probs && !a.scratch))
    return Status::Error(StatusCode::kInvalidArgument, "attention: null pointer");
  const int64_t L = a.L, H = a.H, D = a.D;
  const float sqrt_d = static_cast<float>(std::sqrt(static_cast<double>(D)));
  // Rows are split into at most kAttnTasks contiguous tasks; task t owns scratch slot t.
  const int64_t tasks = std::min<int64_t>(kAttnTasks, rows);
  parallel_for(tasks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t r0 = rows * t / tasks, r1 = rows * (t + 1) / tasks;
      for (int64_t r = r0; r < r1; ++r) {
        if (a.seq_starts) {
          // Varlen rows are (token, head); each sequence attends within itself.
          const int64_t t_ = r / H, h = r % H;
          int64_t start, len;
          seq_of_row(a.seq_starts, a.B, L, t_, &start, &len);
          ops.attention_row(a.q + t_ * a.ld + h * D, a.k + start * a.ld + h * D, a.v + start * a.ld + h * D, a.ld, len,
                            D, sqrt_d, nullptr, a.head_mult ? a.head_mult[h] : 1.f, a.scratch + t * L,
                            a.out + t_ * a.ldo + h * D);
          continue;
        }
        const int64_t b = r / (H * L), h = (r / L) % H, i = r % L;
        const float* q = a.q + (b * L + i) * a.ld + h * D;
        const float* k = a.k + b * L * a.ld + h * D;
        const float* v = a.v + b * L * a.ld + h * D;
        const float* bias = nullptr;
        if (a.mask_bias) bias = a.mask_rank == 2 ? a.mask_bias + b * L : a.mask_bias + (b * L + i) * L;
        float* p = a.probs ? a.probs + r * L : a.scratch + t * L;
        ops.attention_row(q, k, v, a.ld, L, D, sqrt_d, bias, a.head_mult ? a.head_mult[h] : 1.f, p,
                          a.out + (b * L + i) * a.ldo + h * D);
      }
    }
  });
  return Status::Ok();
}

}  // namespace convbert
