// gemm_avx2.cc: the AVX2+FMA block kernel of gemm (reference: gemm_block_ref in
// gemm.cc). Microtile 6 rows x 16 columns (one packed panel, 12 ymm
// accumulators), K blocked by kKc; N tails use maskstore (panels are zero-padded).
#include <immintrin.h>

#include "kernels_isa.h"

namespace convbert {
namespace {

constexpr int64_t kKc = 256;

template <int MR>
void micro(const float* A, int64_t lda, const float* B, int64_t kc, float* C, int64_t ldc, const float* bias,
           bool first, int64_t ncols) {
  __m256 acc[MR][2];
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i mk0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(ncols)), idx);
  const __m256i mk1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(ncols - 8)), idx);
  const __m256i mk[2] = {mk0, mk1};
  for (int r = 0; r < MR; ++r)
    for (int p = 0; p < 2; ++p) {
      if (first) acc[r][p] = bias ? _mm256_maskload_ps(bias + 8 * p, mk[p]) : _mm256_setzero_ps();
      else acc[r][p] = _mm256_maskload_ps(C + r * ldc + 8 * p, mk[p]);
    }
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_loadu_ps(B + k * 16), b1 = _mm256_loadu_ps(B + k * 16 + 8);
    for (int r = 0; r < MR; ++r) {
      const __m256 a = _mm256_broadcast_ss(A + r * lda + k);
      acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int p = 0; p < 2; ++p) _mm256_maskstore_ps(C + r * ldc + 8 * p, mk[p], acc[r][p]);
}

}  // namespace

void gemm_block_avx2(const float* A, int64_t lda, const float* Bp, int64_t K, const float* bias, float* C, int64_t ldc,
                     int64_t M, int64_t N) {
  const int64_t pstride = K * 16;
  if (K == 0) {
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) C[m * ldc + n] = bias ? bias[n] : 0.f;
    return;
  }
  for (int64_t k0 = 0; k0 < K; k0 += kKc) {
    const int64_t kc = K - k0 < kKc ? K - k0 : kKc;
    const bool first = k0 == 0;
    for (int64_t n0 = 0; n0 < N; n0 += 16) {
      const int64_t ncols = N - n0 < 16 ? N - n0 : 16;
      const float* B = Bp + (n0 / 16) * pstride + k0 * 16;
      const float* bz = bias ? bias + n0 : nullptr;
      for (int64_t r0 = 0; r0 < M; r0 += 6) {
        const int64_t mr = M - r0 < 6 ? M - r0 : 6;
        const float* a = A + r0 * lda + k0;
        float* c = C + r0 * ldc + n0;
        switch (mr) {
          case 6: micro<6>(a, lda, B, kc, c, ldc, bz, first, ncols); break;
          case 5: micro<5>(a, lda, B, kc, c, ldc, bz, first, ncols); break;
          case 4: micro<4>(a, lda, B, kc, c, ldc, bz, first, ncols); break;
          case 3: micro<3>(a, lda, B, kc, c, ldc, bz, first, ncols); break;
          case 2: micro<2>(a, lda, B, kc, c, ldc, bz, first, ncols); break;
          default: micro<1>(a, lda, B, kc, c, ldc, bz, first, ncols); break;
        }
      }
    }
  }
}

}  // namespace convbert
