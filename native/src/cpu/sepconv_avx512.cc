// sepconv_avx512.cc: the depthwise conv for one (b, l), 16-wide over C
// (reference: sepconv_row_ref in sepconv.cc); taps outside [0, L) read zeros.
#include <immintrin.h>

#include "kernels_isa.h"

namespace convbert {

void sepconv_row_avx512(const float* xseq, int64_t L, int64_t l, int64_t C, const float* wt, int64_t K, float* y) {
  const int64_t pad = K / 2;
  const int64_t t0 = pad - l > 0 ? pad - l : 0;
  const int64_t t1 = L - l + pad < K ? L - l + pad : K;
  for (int64_t c = 0; c < C; c += 16) {
    const __mmask16 m = C - c >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (C - c)) - 1u);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t t = t0; t < t1; ++t)
      acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xseq + (l + t - pad) * C + c),
                            _mm512_maskz_loadu_ps(m, wt + t * C + c), acc);
    _mm512_mask_storeu_ps(y + c, m, acc);
  }
}

}  // namespace convbert
