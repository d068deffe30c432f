// dynconv_avx512.cc: the dynamic-convolution weighted sum for one (b, l, h),
// 16-wide over D (reference: dynconv_row_ref in dynconv.cc). Taps outside
// [0, L) are skipped, which equals HF's zero-padded unfold.
#include <immintrin.h>

#include "kernels_isa.h"

namespace convbert {

void dynconv_row_avx512(const float* vseq, int64_t ldv, int64_t L, int64_t l, const float* w, int64_t K, int64_t D,
                        float* out) {
  const int64_t pad = (K - 1) / 2;
  const int64_t j0 = pad - l > 0 ? pad - l : 0;
  const int64_t j1 = L - l + pad < K ? L - l + pad : K;
  for (int64_t d = 0; d < D; d += 16) {
    const __mmask16 m = D - d >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (D - d)) - 1u);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t j = j0; j < j1; ++j)
      acc = _mm512_fmadd_ps(_mm512_set1_ps(w[j]), _mm512_maskz_loadu_ps(m, vseq + (l + j - pad) * ldv + d), acc);
    _mm512_mask_storeu_ps(out + d, m, acc);
  }
}

}  // namespace convbert
