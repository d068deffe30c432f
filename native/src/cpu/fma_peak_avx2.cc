// fma_peak_avx2.cc: the AVX2+FMA half of the FMA peak probe (fma_peak.cc):
// 12 independent ymm FMA chains (covers the FMA latency on current cores).
#include <immintrin.h>

#include "kernels_isa.h"

namespace convbert {

float fma_loop_avx2(int64_t iters) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i) * 1e-3f);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  __m256 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, acc[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  float r = 0.f;
  for (int i = 0; i < 8; ++i) r += out[i];
  return r;
}

}  // namespace convbert
