// layernorm_avx2.cc: 8-wide LayerNorm rows with an optional residual
// (reference: layernorm_row_ref in layernorm.cc). Two passes in float: mean,
// then the biased variance of (v - mean), as torch does.
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

__m256 load_sum(const float* x, const float* r, int64_t c, __m256i m) {
  __m256 v = _mm256_maskload_ps(x + c, m);
  return r ? _mm256_add_ps(v, _mm256_maskload_ps(r + c, m)) : v;
}

}  // namespace

void layernorm_row_avx2(const float* x, const float* r, const float* gamma, const float* beta, float* y, int64_t C,
                        float eps) {
  __m256 s = _mm256_setzero_ps();
  for (int64_t c = 0; c < C; c += 8) s = _mm256_add_ps(s, load_sum(x, r, c, tail8(C - c)));
  const float mean = hsum8(s) / static_cast<float>(C);
  const __m256 vm = _mm256_set1_ps(mean);
  __m256 q = _mm256_setzero_ps();
  for (int64_t c = 0; c < C; c += 8) {
    const __m256i m = tail8(C - c);
    const __m256 d = _mm256_and_ps(_mm256_castsi256_ps(m), _mm256_sub_ps(load_sum(x, r, c, m), vm));
    q = _mm256_fmadd_ps(d, d, q);
  }
  const float var = hsum8(q) / static_cast<float>(C);
  const __m256 inv = _mm256_set1_ps(1.0f / __builtin_sqrtf(var + eps));
  for (int64_t c = 0; c < C; c += 8) {
    const __m256i m = tail8(C - c);
    const __m256 d = _mm256_mul_ps(_mm256_sub_ps(load_sum(x, r, c, m), vm), inv);
    _mm256_maskstore_ps(y + c, m,
                        _mm256_fmadd_ps(d, _mm256_maskload_ps(gamma + c, m), _mm256_maskload_ps(beta + c, m)));
  }
}

}  // namespace convbert
