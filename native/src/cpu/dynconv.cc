// dynconv.cc: span-based dynamic convolution, forward (ConvBERT sec. 3.2), the
// weighted-sum half: out[b,l,h,:] = Σ_j w[b,l,h,j] · v[b, l+j-(K-1)/2, h*D : (h+1)*D].
// v: (B, L, ldv); w: (B, L, H, K), already softmaxed over K; out: (B, L, ldo).
// dynconv_row_ref is the reference and the portable path; the _avx2/_avx512
// kernels only vectorize over D. Edges read zeros, like HF's unfold.
#include <algorithm>

#include "convbert/ops.h"
#include "convbert/thread_pool.h"
#include "kernels_isa.h"
#include "seq.h"

namespace convbert {

void dynconv_row_ref(const float* vseq, int64_t ldv, int64_t L, int64_t l, const float* w, int64_t K, int64_t D,
                     float* out) {
  const int64_t pad = (K - 1) / 2;
  for (int64_t d = 0; d < D; ++d) {
    double acc = 0.0;
    for (int64_t j = 0; j < K; ++j) {
      const int64_t src = l + j - pad;
      if (src < 0 || src >= L) continue;
      acc += static_cast<double>(w[j]) * vseq[src * ldv + d];
    }
    out[d] = static_cast<float>(acc);
  }
}

Status dynconv(const OpTable& ops, const DynConvArgs& a) {
  if (a.B < 0 || a.L < 0 || a.H <= 0 || a.D <= 0 || a.K <= 0 || a.ldv < a.H * a.D || a.ldo < a.H * a.D)
    return Status::Error(StatusCode::kInvalidArgument, "dynconv: bad sizes or strides");
  const int64_t rows = a.cu_seqlens ? (a.B > 0 ? a.cu_seqlens[a.B] : 0) : a.B * a.L;
  if (rows == 0) return Status::Ok();
  if (!a.v || !a.w || !a.out) return Status::Error(StatusCode::kInvalidArgument, "dynconv: null pointer");
  const int64_t grain = std::max<int64_t>(1, 8192 / (a.H * a.D * a.K));
  parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t start, len;
      seq_of_row(a.cu_seqlens, a.B, a.L, r, &start, &len);
      for (int64_t h = 0; h < a.H; ++h)
        ops.dynconv_row(a.v + start * a.ldv + h * a.D, a.ldv, len, r - start, a.w + (r * a.H + h) * a.K, a.K, a.D,
                        a.out + r * a.ldo + h * a.D);
    }
  });
  return Status::Ok();
}

}  // namespace convbert
