// gemm_bf16_avx512bf16.cc: the AVX512_BF16 block kernel of gemm_bf16 (ops.h
// GemmBf16BlockFn; fallback and reference: the fp32 path on the same bf16 values,
// gemm_bf16.cc). Microtile 6 rows x 32 columns (two k-pair panels, 12 zmm fp32
// accumulators); each vdpbf16ps adds two k steps of 16 columns. K is blocked by
// kKc pairs so the two panels stay in L1; N tails use store masks. The block
// order and the B prefetch are gemm_walk_avx512.h's.
#include <immintrin.h>

#include <cstring>

#include "gemm_walk_avx512.h"
#include "kernels_isa.h"

namespace convbert {
namespace {

constexpr int64_t kKc = 128;  // k-pairs per block

template <int MR, int NP, bool PF>
void micro(const uint16_t* A, int64_t lda, const uint16_t* B, int64_t pstride, int64_t kc, float* C, int64_t ldc,
           const float* bias, bool first, __mmask16 m0, __mmask16 m1, const BPrefetch& pf) {
  __m512 acc[MR][NP];
  const __mmask16 mk[2] = {m0, m1};
  for (int r = 0; r < MR; ++r)
    for (int p = 0; p < NP; ++p) {
      if (first) acc[r][p] = bias ? _mm512_maskz_loadu_ps(mk[p], bias + 16 * p) : _mm512_setzero_ps();
      else acc[r][p] = _mm512_maskz_loadu_ps(mk[p], C + r * ldc + 16 * p);
    }
  for (int64_t kk = 0; kk < kc; ++kk) {
    if (PF && kk < pf.n) _mm_prefetch(pf.p + kk * kPanelLine, _MM_HINT_T0);
    __m512bh b[NP];
    for (int p = 0; p < NP; ++p) b[p] = (__m512bh)_mm512_loadu_si512(B + p * pstride + kk * 32);
    for (int r = 0; r < MR; ++r) {
      int32_t pair;
      std::memcpy(&pair, A + r * lda + 2 * kk, 4);
      const __m512bh a = (__m512bh)_mm512_set1_epi32(pair);
      for (int p = 0; p < NP; ++p) acc[r][p] = _mm512_dpbf16_ps(acc[r][p], a, b[p]);
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int p = 0; p < NP; ++p) _mm512_mask_storeu_ps(C + r * ldc + 16 * p, mk[p], acc[r][p]);
}

template <bool kStream>
void block(const uint16_t* A, int64_t lda, const uint16_t* Bp, int64_t K, const float* bias, float* C, int64_t ldc,
           int64_t M, int64_t N) {
  block_kernel<kStream, 2>(A, lda, Bp, (K + 1) / 2, kKc, bias, C, ldc, M, N, [](auto mr, auto np, auto&&... args) {
    micro<decltype(mr)::value, decltype(np)::value, kStream>(args...);
  });
}

}  // namespace

void gemm_bf16_block_avx512bf16(const uint16_t* A, int64_t lda, const uint16_t* Bp, int64_t K, const float* bias,
                                float* C, int64_t ldc, int64_t M, int64_t N) {
  block<false>(A, lda, Bp, K, bias, C, ldc, M, N);
}

void gemm_bf16_block_stream_avx512bf16(const uint16_t* A, int64_t lda, const uint16_t* Bp, int64_t K, const float* bias,
                                       float* C, int64_t ldc, int64_t M, int64_t N) {
  block<true>(A, lda, Bp, K, bias, C, ldc, M, N);
}

void f32_to_bf16_row_avx512bf16(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
    _mm512_storeu_si512(y + i, (__m512i)v);
  }
  for (; i < n; i += 16) {
    const int64_t left = n - i;
    const __mmask16 m = left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1u);
    const __m256bh v = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, x + i));
    _mm256_mask_storeu_epi16(y + i, m, (__m256i)v);
  }
}

}  // namespace convbert
