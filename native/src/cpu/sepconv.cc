// sepconv.cc: the depthwise half of ConvBERT's SeparableConv1D
// (key_conv_attn_layer): y[b,l,c] = Σ_t x[b, l+t-K/2, c] · w[c, t], zero
// padding K/2, no bias (torch conv1d is a cross-correlation). x, y: (B, L, C);
// wt: (K, C), the (C, 1, K) weight transposed so rows vectorize over C. The
// pointwise 1x1 conv and its bias run as a gemm. sepconv_row_ref is the reference.
#include <algorithm>

#include "convbert/ops.h"
#include "convbert/thread_pool.h"
#include "kernels_isa.h"
#include "seq.h"

namespace convbert {

void sepconv_row_ref(const float* xseq, int64_t L, int64_t l, int64_t C, const float* wt, int64_t K, float* y) {
  const int64_t pad = K / 2;
  for (int64_t c = 0; c < C; ++c) {
    double acc = 0.0;
    for (int64_t t = 0; t < K; ++t) {
      const int64_t src = l + t - pad;
      if (src < 0 || src >= L) continue;
      acc += static_cast<double>(xseq[src * C + c]) * wt[t * C + c];
    }
    y[c] = static_cast<float>(acc);
  }
}

Status sepconv(const OpTable& ops, const SepConvArgs& a) {
  if (a.B < 0 || a.L < 0 || a.C <= 0 || a.K <= 0)
    return Status::Error(StatusCode::kInvalidArgument, "sepconv: bad sizes");
  const int64_t rows = a.cu_seqlens ? (a.B > 0 ? a.cu_seqlens[a.B] : 0) : a.B * a.L;
  if (rows == 0) return Status::Ok();
  if (!a.x || !a.y || !a.wt || a.x == a.y)
    return Status::Error(StatusCode::kInvalidArgument, "sepconv: null or aliased pointer");
  const int64_t grain = std::max<int64_t>(1, 16384 / (a.C * a.K));
  parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t start, len;
      seq_of_row(a.cu_seqlens, a.B, a.L, r, &start, &len);
      ops.sepconv_row(a.x + start * a.C, len, r - start, a.C, a.wt, a.K, a.y + r * a.C);
    }
  });
  return Status::Ok();
}

}  // namespace convbert
