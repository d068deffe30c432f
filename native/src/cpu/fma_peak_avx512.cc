// fma_peak_avx512.cc: the AVX-512 half of the FMA peak probe (fma_peak.cc):
// 12 independent zmm FMA chains, enough to cover the FMA latency on every
// AVX-512 core, so the loop runs at the machine's FP32 FMA throughput.
#include <immintrin.h>

#include "kernels_isa.h"

namespace convbert {

float fma_loop_avx512(int64_t iters) {
  __m512 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i) * 1e-3f);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  __m512 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, acc[i]);
  float out[16];
  _mm512_storeu_ps(out, s);
  float r = 0.f;
  for (int i = 0; i < 16; ++i) r += out[i];
  return r;
}

}  // namespace convbert
