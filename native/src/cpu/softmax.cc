// softmax.cc: in-place softmax over each contiguous group of n floats
// (x: (rows, n)), max-subtracted like torch. Used for the dynamic-convolution
// kernels (n = conv_kernel_size) and, row by row, inside attention.
// softmax_row_ref is the reference and the portable path (fp64 sums). It follows
// IEEE as torch does: a row holding a NaN, a +Inf or only -Inf comes out all NaN
// (x - max is NaN there, so the sum is), and a -Inf elsewhere weighs exactly 0;
// the _avx2/_avx512 rows detect the same case and give the same answer.
#include <algorithm>
#include <cmath>

#include "convbert/ops.h"
#include "convbert/thread_pool.h"
#include "kernels_isa.h"

namespace convbert {

void softmax_row_ref(float* x, int64_t n) {
  float mx = x[0];
  for (int64_t i = 1; i < n; ++i) mx = std::max(mx, x[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(x[i]) - mx);
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(std::exp(static_cast<double>(x[i]) - mx) / sum);
}

Status softmax(const OpTable& ops, const SoftmaxArgs& a) {
  if (a.rows < 0 || a.n <= 0) return Status::Error(StatusCode::kInvalidArgument, "softmax: bad sizes");
  if (a.rows == 0) return Status::Ok();
  if (!a.x) return Status::Error(StatusCode::kInvalidArgument, "softmax: null pointer");
  const int64_t grain = std::max<int64_t>(1, 16384 / a.n);
  parallel_for(a.rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) ops.softmax_row(a.x + i * a.n, a.n);
  });
  return Status::Ok();
}

}  // namespace convbert
