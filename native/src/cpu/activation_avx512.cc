// activation_avx512.cc: 16-wide activations; the reference is activation_row_ref
// (activation.cc). exp is a Cephes-style polynomial (about 1 ulp); erf is
// Abramowitz-Stegun 7.1.26 (absolute error below 1.5e-7). Kinds without a
// vector form here go to the reference row kernel.
#include <immintrin.h>

#include "kernels_isa.h"

namespace convbert {
namespace {

__m512 exp16(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.3f));
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

__m512 erf16(__m512 x) {
  const __m512 ax = _mm512_abs_ps(x);
  __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(ax, _mm512_set1_ps(0.3275911f), _mm512_set1_ps(1.0f)));
  __m512 p = _mm512_set1_ps(1.061405429f);
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
  p = _mm512_mul_ps(p, t);
  __m512 y =
      _mm512_fnmadd_ps(p, exp16(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(ax, ax))), _mm512_set1_ps(1.0f));
  // Restore the sign of x.
  const __m512i sign = _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(static_cast<int>(0x80000000u)));
  return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(y), sign));
}

// sigmoid(x) = 1 / (1 + exp(-x))
__m512 sigmoid16(__m512 x) {
  return _mm512_div_ps(_mm512_set1_ps(1.0f),
                       _mm512_add_ps(_mm512_set1_ps(1.0f), exp16(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

// tanh(x) = 2 sigmoid(2x) - 1
__m512 tanh16(__m512 x) {
  return _mm512_fmsub_ps(_mm512_set1_ps(2.0f), sigmoid16(_mm512_add_ps(x, x)), _mm512_set1_ps(1.0f));
}

__m512 act16(__m512 v, int32_t act) {
  switch (act) {
    case 1:  // gelu (erf)
      return _mm512_mul_ps(
          _mm512_mul_ps(_mm512_set1_ps(0.5f), v),
          _mm512_add_ps(_mm512_set1_ps(1.0f), erf16(_mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f)))));
    case 2: {  // gelu (tanh)
      __m512 v3 = _mm512_mul_ps(_mm512_mul_ps(v, v), v);
      __m512 u = _mm512_mul_ps(_mm512_set1_ps(0.79788456080286536f), _mm512_fmadd_ps(v3, _mm512_set1_ps(0.044715f), v));
      return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v), _mm512_add_ps(_mm512_set1_ps(1.0f), tanh16(u)));
    }
    case 3: return _mm512_mul_ps(v, sigmoid16(_mm512_mul_ps(v, _mm512_set1_ps(1.702f))));
    case 4: return _mm512_max_ps(v, _mm512_setzero_ps());
    case 7: return _mm512_mul_ps(v, sigmoid16(v));
    case 8: return sigmoid16(v);
    case 9: return tanh16(v);
    default: return v;  // identity
  }
}

}  // namespace

void activation_row_avx512(const float* x, float* y, const float* bias, int64_t C, int32_t act) {
  if (act != 0 && act != 1 && act != 2 && act != 3 && act != 4 && act != 7 && act != 8 && act != 9) {
    activation_row_ref(x, y, bias, C, act);
    return;
  }
  int64_t c = 0;
  for (; c + 16 <= C; c += 16) {
    __m512 v = _mm512_loadu_ps(x + c);
    if (bias) v = _mm512_add_ps(v, _mm512_loadu_ps(bias + c));
    _mm512_storeu_ps(y + c, act16(v, act));
  }
  if (c < C) {
    const __mmask16 m = static_cast<__mmask16>((1u << (C - c)) - 1u);
    __m512 v = _mm512_maskz_loadu_ps(m, x + c);
    if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias + c));
    _mm512_mask_storeu_ps(y + c, m, act16(v, act));
  }
}

}  // namespace convbert
