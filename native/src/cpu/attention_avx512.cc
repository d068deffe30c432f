// attention_avx512.cc: one query row of the dot-product branch, 16-wide over D
// and over keys (reference: attention_row_ref in attention.cc). Scores are
// rounded to float and the mask bias added in float, so a fully masked row
// (every score exactly finfo.min) comes out uniform as in torch.
#include <immintrin.h>

#include "kernels_isa.h"

namespace convbert {
namespace {

__m512 exp16(__m512 x) {
  // Cephes-style exp (about 1 ulp); inputs below -87.3 give exactly 0 like expf.
  const __mmask16 under = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3f), _CMP_LT_OQ);
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
  return _mm512_maskz_mov_ps(static_cast<__mmask16>(~under), _mm512_mul_ps(p, _mm512_castsi512_ps(e)));
}

__mmask16 tail(int64_t n) { return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u); }

}  // namespace

void attention_row_avx512(const float* q, const float* k, const float* v, int64_t ld, int64_t Lk, int64_t D,
                          float sqrt_d, const float* bias, float head_mult, float* p, float* out) {
  float mx = 0.f;
  for (int64_t j = 0; j < Lk; ++j) {
    const float* kj = k + j * ld;
    __m512 acc = _mm512_setzero_ps();
    for (int64_t d = 0; d < D; d += 16) {
      const __mmask16 m = tail(D - d);
      acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + d), _mm512_maskz_loadu_ps(m, kj + d), acc);
    }
    float s = _mm512_reduce_add_ps(acc) / sqrt_d;
    if (bias) s += bias[j];
    p[j] = s;
    mx = (j == 0 || s > mx) ? s : mx;
  }
  const __m512 vmx = _mm512_set1_ps(mx);
  __m512 vsum = _mm512_setzero_ps();
  for (int64_t j = 0; j < Lk; j += 16) {
    const __mmask16 m = tail(Lk - j);
    const __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, p + j), vmx));
    vsum = _mm512_add_ps(vsum, _mm512_maskz_mov_ps(m, e));
    _mm512_mask_storeu_ps(p + j, m, e);
  }
  const __m512 scale = _mm512_set1_ps(head_mult / _mm512_reduce_add_ps(vsum));
  for (int64_t j = 0; j < Lk; j += 16) {
    const __mmask16 m = tail(Lk - j);
    _mm512_mask_storeu_ps(p + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, p + j), scale));
  }
  for (int64_t d = 0; d < D; d += 16) {
    const __mmask16 m = tail(D - d);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t j = 0;
    for (; j + 1 < Lk; j += 2) {
      acc0 = _mm512_fmadd_ps(_mm512_set1_ps(p[j]), _mm512_maskz_loadu_ps(m, v + j * ld + d), acc0);
      acc1 = _mm512_fmadd_ps(_mm512_set1_ps(p[j + 1]), _mm512_maskz_loadu_ps(m, v + (j + 1) * ld + d), acc1);
    }
    if (j < Lk) acc0 = _mm512_fmadd_ps(_mm512_set1_ps(p[j]), _mm512_maskz_loadu_ps(m, v + j * ld + d), acc0);
    _mm512_mask_storeu_ps(out + d, m, _mm512_add_ps(acc0, acc1));
  }
}

}  // namespace convbert
