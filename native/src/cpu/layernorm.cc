// layernorm.cc: y = LayerNorm(x + r) · gamma + beta over the last dim C, with
// torch's biased variance and eps inside the square root. x, r, y: (rows, C)
// row-major; r (the residual) may be null; y may alias x.
// layernorm_row_ref is the reference and the portable path (fp64 statistics).
#include <algorithm>
#include <cmath>

#include "convbert/ops.h"
#include "convbert/thread_pool.h"
#include "kernels_isa.h"

namespace convbert {

void layernorm_row_ref(const float* x, const float* r, const float* gamma, const float* beta, float* y, int64_t C,
                       float eps) {
  double mean = 0.0;
  for (int64_t c = 0; c < C; ++c) {
    // The residual sum is rounded to float first, as torch materialises x + r.
    const float v = r ? x[c] + r[c] : x[c];
    mean += v;
  }
  mean /= static_cast<double>(C);
  double var = 0.0;
  for (int64_t c = 0; c < C; ++c) {
    const float v = r ? x[c] + r[c] : x[c];
    const double d = v - mean;
    var += d * d;
  }
  var /= static_cast<double>(C);
  const double inv = 1.0 / std::sqrt(var + static_cast<double>(eps));
  for (int64_t c = 0; c < C; ++c) {
    const float v = r ? x[c] + r[c] : x[c];
    y[c] = static_cast<float>((v - mean) * inv * gamma[c] + beta[c]);
  }
}

Status layernorm(const OpTable& ops, const LayerNormArgs& a) {
  if (a.rows < 0 || a.C <= 0) return Status::Error(StatusCode::kInvalidArgument, "layernorm: bad sizes");
  if (a.rows == 0) return Status::Ok();
  if (!a.x || !a.y || !a.gamma || !a.beta)
    return Status::Error(StatusCode::kInvalidArgument, "layernorm: null pointer");
  const int64_t grain = std::max<int64_t>(1, 32768 / a.C);
  parallel_for(a.rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i)
      ops.layernorm_row(a.x + i * a.C, a.r ? a.r + i * a.C : nullptr, a.gamma, a.beta, a.y + i * a.C, a.C, a.eps);
  });
  return Status::Ok();
}

}  // namespace convbert
