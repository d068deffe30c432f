// attention_avx2.cc: one query row of the dot-product branch, 8-wide over D and
// over keys (reference: attention_row_ref in attention.cc). Scores are rounded
// to float and the mask bias added in float, so a fully masked row comes out
// uniform as in torch.
#include <immintrin.h>

#include "kernels_isa.h"

namespace convbert {
namespace {

__m256i tail8(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n > 8 ? 8 : n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
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

void attention_row_avx2(const float* q, const float* k, const float* v, int64_t ld, int64_t Lk, int64_t D,
                        float sqrt_d, const float* bias, float head_mult, float* p, float* out) {
  float mx = 0.f;
  for (int64_t j = 0; j < Lk; ++j) {
    const float* kj = k + j * ld;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t d = 0; d < D; d += 8) {
      const __m256i m = tail8(D - d);
      acc = _mm256_fmadd_ps(_mm256_maskload_ps(q + d, m), _mm256_maskload_ps(kj + d, m), acc);
    }
    float s = hsum8(acc) / sqrt_d;
    if (bias) s += bias[j];
    p[j] = s;
    mx = (j == 0 || s > mx) ? s : mx;
  }
  const __m256 vmx = _mm256_set1_ps(mx);
  __m256 vsum = _mm256_setzero_ps();
  for (int64_t j = 0; j < Lk; j += 8) {
    const __m256i m = tail8(Lk - j);
    const __m256 e = _mm256_and_ps(_mm256_castsi256_ps(m), exp8(_mm256_sub_ps(_mm256_maskload_ps(p + j, m), vmx)));
    vsum = _mm256_add_ps(vsum, e);
    _mm256_maskstore_ps(p + j, m, e);
  }
  const __m256 scale = _mm256_set1_ps(head_mult / hsum8(vsum));
  for (int64_t j = 0; j < Lk; j += 8) {
    const __m256i m = tail8(Lk - j);
    _mm256_maskstore_ps(p + j, m, _mm256_mul_ps(_mm256_maskload_ps(p + j, m), scale));
  }
  for (int64_t d = 0; d < D; d += 8) {
    const __m256i m = tail8(D - d);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t j = 0;
    for (; j + 1 < Lk; j += 2) {
      acc0 = _mm256_fmadd_ps(_mm256_set1_ps(p[j]), _mm256_maskload_ps(v + j * ld + d, m), acc0);
      acc1 = _mm256_fmadd_ps(_mm256_set1_ps(p[j + 1]), _mm256_maskload_ps(v + (j + 1) * ld + d, m), acc1);
    }
    if (j < Lk) acc0 = _mm256_fmadd_ps(_mm256_set1_ps(p[j]), _mm256_maskload_ps(v + j * ld + d, m), acc0);
    _mm256_maskstore_ps(out + d, m, _mm256_add_ps(acc0, acc1));
  }
}

}  // namespace convbert
