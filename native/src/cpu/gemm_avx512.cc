// gemm_avx512.cc: the AVX-512 block kernel of gemm (reference: gemm_block_ref in
// gemm.cc). Microtile 6 rows x 32 columns (two packed panels, 12 zmm
// accumulators), K blocked by kKc so the two panels stay in L1 while the
// microtile walks down the rows; N tails use store masks (panels are zero-padded).
// The block order and the B prefetch are gemm_walk_avx512.h's.
#include <immintrin.h>

#include "gemm_walk_avx512.h"
#include "kernels_isa.h"

namespace convbert {
namespace {

constexpr int64_t kKc = 128;

template <int MR, int NP, bool PF>
void micro(const float* A, int64_t lda, const float* B, int64_t pstride, int64_t kc, float* C, int64_t ldc,
           const float* bias, bool first, __mmask16 m0, __mmask16 m1, const BPrefetch& pf) {
  __m512 acc[MR][NP];
  const __mmask16 mk[2] = {m0, m1};
  for (int r = 0; r < MR; ++r)
    for (int p = 0; p < NP; ++p) {
      if (first) acc[r][p] = bias ? _mm512_maskz_loadu_ps(mk[p], bias + 16 * p) : _mm512_setzero_ps();
      else acc[r][p] = _mm512_maskz_loadu_ps(mk[p], C + r * ldc + 16 * p);
    }
  for (int64_t k = 0; k < kc; ++k) {
    if (PF && k < pf.n) _mm_prefetch(pf.p + k * kPanelLine, _MM_HINT_T0);
    __m512 b[NP];
    for (int p = 0; p < NP; ++p) b[p] = _mm512_loadu_ps(B + p * pstride + k * 16);
    for (int r = 0; r < MR; ++r) {
      const __m512 a = _mm512_set1_ps(A[r * lda + k]);
      for (int p = 0; p < NP; ++p) acc[r][p] = _mm512_fmadd_ps(a, b[p], acc[r][p]);
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int p = 0; p < NP; ++p) _mm512_mask_storeu_ps(C + r * ldc + 16 * p, mk[p], acc[r][p]);
}

template <bool kStream>
void block(const float* A, int64_t lda, const float* Bp, int64_t K, const float* bias, float* C, int64_t ldc, int64_t M,
           int64_t N) {
  block_kernel<kStream, 1>(A, lda, Bp, K, kKc, bias, C, ldc, M, N, [](auto mr, auto np, auto&&... args) {
    micro<decltype(mr)::value, decltype(np)::value, kStream>(args...);
  });
}

}  // namespace

void gemm_block_avx512(const float* A, int64_t lda, const float* Bp, int64_t K, const float* bias, float* C,
                       int64_t ldc, int64_t M, int64_t N) {
  block<false>(A, lda, Bp, K, bias, C, ldc, M, N);
}

void gemm_block_stream_avx512(const float* A, int64_t lda, const float* Bp, int64_t K, const float* bias, float* C,
                              int64_t ldc, int64_t M, int64_t N) {
  block<true>(A, lda, Bp, K, bias, C, ldc, M, N);
}

}  // namespace convbert
