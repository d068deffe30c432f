// activation_avx2.cc: 8-wide activations (AVX2 + FMA); the reference is
// activation_row_ref (activation.cc). Same polynomials as the AVX-512 file.
// Kinds without a vector form here go to the reference row kernel.
#include <immintrin.h>

#include "kernels_isa.h"

namespace convbert {
namespace {

__m256 exp8(__m256 x) {
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
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

__m256 erf8(__m256 x) {
  const __m256 signmask = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(0x80000000u)));
  const __m256 ax = _mm256_andnot_ps(signmask, x);
  __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(ax, _mm256_set1_ps(0.3275911f), _mm256_set1_ps(1.0f)));
  __m256 p = _mm256_set1_ps(1.061405429f);
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
  p = _mm256_mul_ps(p, t);
  __m256 y = _mm256_fnmadd_ps(p, exp8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(ax, ax))), _mm256_set1_ps(1.0f));
  return _mm256_or_ps(y, _mm256_and_ps(x, signmask));
}

__m256 sigmoid8(__m256 x) {
  return _mm256_div_ps(_mm256_set1_ps(1.0f),
                       _mm256_add_ps(_mm256_set1_ps(1.0f), exp8(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

__m256 tanh8(__m256 x) {
  return _mm256_fmsub_ps(_mm256_set1_ps(2.0f), sigmoid8(_mm256_add_ps(x, x)), _mm256_set1_ps(1.0f));
}

__m256 act8(__m256 v, int32_t act) {
  switch (act) {
    case 1:
      return _mm256_mul_ps(
          _mm256_mul_ps(_mm256_set1_ps(0.5f), v),
          _mm256_add_ps(_mm256_set1_ps(1.0f), erf8(_mm256_mul_ps(v, _mm256_set1_ps(0.70710678118654752f)))));
    case 2: {
      __m256 v3 = _mm256_mul_ps(_mm256_mul_ps(v, v), v);
      __m256 u = _mm256_mul_ps(_mm256_set1_ps(0.79788456080286536f), _mm256_fmadd_ps(v3, _mm256_set1_ps(0.044715f), v));
      return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), _mm256_add_ps(_mm256_set1_ps(1.0f), tanh8(u)));
    }
    case 3: return _mm256_mul_ps(v, sigmoid8(_mm256_mul_ps(v, _mm256_set1_ps(1.702f))));
    case 4: return _mm256_max_ps(v, _mm256_setzero_ps());
    case 7: return _mm256_mul_ps(v, sigmoid8(v));
    case 8: return sigmoid8(v);
    case 9: return tanh8(v);
    default: return v;
  }
}

}  // namespace

void activation_row_avx2(const float* x, float* y, const float* bias, int64_t C, int32_t act) {
  if (act != 0 && act != 1 && act != 2 && act != 3 && act != 4 && act != 7 && act != 8 && act != 9) {
    activation_row_ref(x, y, bias, C, act);
    return;
  }
  int64_t c = 0;
  for (; c + 8 <= C; c += 8) {
    __m256 v = _mm256_loadu_ps(x + c);
    if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + c));
    _mm256_storeu_ps(y + c, act8(v, act));
  }
  if (c < C) {
    alignas(32) int mask_bits[8];
    for (int i = 0; i < 8; ++i) mask_bits[i] = (c + i < C) ? -1 : 0;
    const __m256i m = _mm256_load_si256(reinterpret_cast<const __m256i*>(mask_bits));
    __m256 v = _mm256_maskload_ps(x + c, m);
    if (bias) v = _mm256_add_ps(v, _mm256_maskload_ps(bias + c, m));
    _mm256_maskstore_ps(y + c, m, act8(v, act));
  }
}

}  // namespace convbert
