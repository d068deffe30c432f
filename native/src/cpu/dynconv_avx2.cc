// dynconv_avx2.cc: the dynamic-convolution weighted sum for one (b, l, h),
// 8-wide over D (reference: dynconv_row_ref in dynconv.cc). Taps outside
// [0, L) are skipped, which equals HF's zero-padded unfold.
#include <immintrin.h>

#include "kernels_isa.h"

namespace convbert {

void dynconv_row_avx2(const float* vseq, int64_t ldv, int64_t L, int64_t l, const float* w, int64_t K, int64_t D,
                      float* out) {
  const int64_t pad = (K - 1) / 2;
  const int64_t j0 = pad - l > 0 ? pad - l : 0;
  const int64_t j1 = L - l + pad < K ? L - l + pad : K;
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (int64_t d = 0; d < D; d += 8) {
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(D - d > 8 ? 8 : D - d)), idx);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t j = j0; j < j1; ++j)
      acc = _mm256_fmadd_ps(_mm256_set1_ps(w[j]), _mm256_maskload_ps(vseq + (l + j - pad) * ldv + d, m), acc);
    _mm256_maskstore_ps(out + d, m, acc);
  }
}

}  // namespace convbert
