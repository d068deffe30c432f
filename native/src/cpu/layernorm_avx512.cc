// layernorm_avx512.cc: 16-wide LayerNorm rows with an optional residual
// (reference: layernorm_row_ref in layernorm.cc). Two passes in float: mean,
// then the biased variance of (v - mean), as torch does.
#include <immintrin.h>

#include "kernels_isa.h"

namespace convbert {
namespace {
__mmask16 tail(int64_t n) { return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u); }
__m512 load_sum(const float* x, const float* r, int64_t c, __mmask16 m) {
  __m512 v = _mm512_maskz_loadu_ps(m, x + c);
  return r ? _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, r + c)) : v;
}
}  // namespace

void layernorm_row_avx512(const float* x, const float* r, const float* gamma, const float* beta, float* y, int64_t C,
                          float eps) {
  __m512 s = _mm512_setzero_ps();
  for (int64_t c = 0; c < C; c += 16) s = _mm512_add_ps(s, load_sum(x, r, c, tail(C - c)));
  const float mean = _mm512_reduce_add_ps(s) / static_cast<float>(C);
  const __m512 vm = _mm512_set1_ps(mean);
  __m512 q = _mm512_setzero_ps();
  for (int64_t c = 0; c < C; c += 16) {
    const __mmask16 m = tail(C - c);
    const __m512 d = _mm512_maskz_sub_ps(m, load_sum(x, r, c, m), vm);
    q = _mm512_fmadd_ps(d, d, q);
  }
  const float var = _mm512_reduce_add_ps(q) / static_cast<float>(C);
  const __m512 inv = _mm512_set1_ps(1.0f / __builtin_sqrtf(var + eps));
  for (int64_t c = 0; c < C; c += 16) {
    const __mmask16 m = tail(C - c);
    const __m512 d = _mm512_mul_ps(_mm512_sub_ps(load_sum(x, r, c, m), vm), inv);
    _mm512_mask_storeu_ps(y + c, m,
                          _mm512_fmadd_ps(d, _mm512_maskz_loadu_ps(m, gamma + c), _mm512_maskz_loadu_ps(m, beta + c)));
  }
}

}  // namespace convbert
