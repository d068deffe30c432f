// softmax_avx2.cc: 8-wide in-place softmax rows (reference: softmax_row_ref in
// softmax.cc). Max-subtracted, polynomial exp, float sums. Non-finite rows give
// what torch and the reference give: a row with a NaN, a +Inf or nothing but
// -Inf is all NaN (x - max is NaN somewhere), -Inf elsewhere weighs exactly 0.
#include <immintrin.h>

#include "kernels_isa.h"

namespace convbert {
namespace {

__m256i tail8(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n > 8 ? 8 : n)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

__m256 exp8(__m256 x) {
  // Cephes-style exp (about 1 ulp); inputs below -87.3 give exactly 0 like expf.
  const __m256 under = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_LT_OQ);
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
  __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(under, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

}  // namespace

void softmax_row_avx2(float* x, int64_t n) {
  float mx = x[0];
  for (int64_t i = 1; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
  const __m256 vmx = _mm256_set1_ps(mx);
  __m256 vsum = _mm256_setzero_ps();
  // exp8 clamps its input, which would turn a NaN difference into a number; the
  // unordered lanes are collected and make the whole row NaN at the end.
  __m256 vnan = _mm256_setzero_ps();
  for (int64_t i = 0; i < n; i += 8) {
    const __m256i m = tail8(n - i);
    const __m256 d = _mm256_sub_ps(_mm256_maskload_ps(x + i, m), vmx);
    vnan = _mm256_or_ps(vnan, _mm256_and_ps(_mm256_castsi256_ps(m), _mm256_cmp_ps(d, d, _CMP_UNORD_Q)));
    const __m256 e = _mm256_and_ps(_mm256_castsi256_ps(m), exp8(d));
    vsum = _mm256_add_ps(vsum, e);
    _mm256_maskstore_ps(x + i, m, e);
  }
  const float sum = _mm256_movemask_ps(vnan) ? __builtin_nanf("") : hsum8(vsum);
  const __m256 inv = _mm256_set1_ps(1.0f / sum);
  for (int64_t i = 0; i < n; i += 8) {
    const __m256i m = tail8(n - i);
    _mm256_maskstore_ps(x + i, m, _mm256_mul_ps(_mm256_maskload_ps(x + i, m), inv));
  }
}

}  // namespace convbert
