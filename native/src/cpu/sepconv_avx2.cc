// sepconv_avx2.cc: the depthwise conv for one (b, l), 8-wide over C
// (reference: sepconv_row_ref in sepconv.cc); taps outside [0, L) read zeros.
#include <immintrin.h>

#include "kernels_isa.h"

namespace convbert {

void sepconv_row_avx2(const float* xseq, int64_t L, int64_t l, int64_t C, const float* wt, int64_t K, float* y) {
  const int64_t pad = K / 2;
  const int64_t t0 = pad - l > 0 ? pad - l : 0;
  const int64_t t1 = L - l + pad < K ? L - l + pad : K;
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (int64_t c = 0; c < C; c += 8) {
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(C - c > 8 ? 8 : C - c)), idx);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t t = t0; t < t1; ++t)
      acc = _mm256_fmadd_ps(_mm256_maskload_ps(xseq + (l + t - pad) * C + c, m), _mm256_maskload_ps(wt + t * C + c, m),
                            acc);
    _mm256_maskstore_ps(y + c, m, acc);
  }
}

}  // namespace convbert
