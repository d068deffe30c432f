// embedding_avx512.cc: the three-way embedding sum for one token, 16-wide
// (reference: embedding_row_ref in embedding.cc; same (a + b) + c order).
#include <immintrin.h>

#include "kernels_isa.h"

namespace convbert {

void embedding_row_avx512(const float* a, const float* b, const float* c, int64_t E, float* y) {
  for (int64_t e = 0; e < E; e += 16) {
    const __mmask16 m = E - e >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (E - e)) - 1u);
    const __m512 s = _mm512_add_ps(_mm512_maskz_loadu_ps(m, a + e), _mm512_maskz_loadu_ps(m, b + e));
    _mm512_mask_storeu_ps(y + e, m, _mm512_add_ps(s, _mm512_maskz_loadu_ps(m, c + e)));
  }
}

}  // namespace convbert
