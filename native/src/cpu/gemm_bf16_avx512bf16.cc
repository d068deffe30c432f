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

template <int NP, bool PF>
void micro_rows(int mr, const uint16_t* A, int64_t lda, const uint16_t* B, int64_t pstride, int64_t kc, float* C,
                int64_t ldc, const float* bias, bool first, __mmask16 m0, __mmask16 m1, const BPrefetch& pf) {
  switch (mr) {
    case 6: micro<6, NP, PF>(A, lda, B, pstride, kc, C, ldc, bias, first, m0, m1, pf); break;
    case 5: micro<5, NP, PF>(A, lda, B, pstride, kc, C, ldc, bias, first, m0, m1, pf); break;
    case 4: micro<4, NP, PF>(A, lda, B, pstride, kc, C, ldc, bias, first, m0, m1, pf); break;
    case 3: micro<3, NP, PF>(A, lda, B, pstride, kc, C, ldc, bias, first, m0, m1, pf); break;
    case 2: micro<2, NP, PF>(A, lda, B, pstride, kc, C, ldc, bias, first, m0, m1, pf); break;
    default: micro<1, NP, PF>(A, lda, B, pstride, kc, C, ldc, bias, first, m0, m1, pf); break;
  }
}

template <bool kStream>
void block(const uint16_t* A, int64_t lda, const uint16_t* Bp, int64_t K, const float* bias, float* C, int64_t ldc,
           int64_t M, int64_t N) {
  const int64_t pairs = (K + 1) / 2, pstride = pairs * 32;
  if (K == 0) {
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) C[m * ldc + n] = bias ? bias[n] : 0.f;
    return;
  }
  walk_blocks(M, N, pairs, kKc, kStream, Bp, pstride * 2,
              [&](int64_t r0, int mr, int64_t n0, int64_t nleft, int64_t k0, int64_t kc, const BPrefetch& pf) {
                const uint16_t* B = Bp + (n0 / 16) * pstride + k0 * 32;
                const float* bz = bias ? bias + n0 : nullptr;
                const __mmask16 m0 = cols_mask(nleft), m1 = nleft > 16 ? cols_mask(nleft - 16) : 0;
                const uint16_t* a = A + r0 * lda + 2 * k0;
                float* c = C + r0 * ldc + n0;
                if (nleft > 16) micro_rows<2, kStream>(mr, a, lda, B, pstride, kc, c, ldc, bz, k0 == 0, m0, m1, pf);
                else micro_rows<1, kStream>(mr, a, lda, B, pstride, kc, c, ldc, bz, k0 == 0, m0, m1, pf);
              });
}

}  // namespace

void gemm_bf16_block_avx512bf16(const uint16_t* A, int64_t lda, const uint16_t* Bp, int64_t K, const float* bias,
                                float* C, int64_t ldc, int64_t M, int64_t N) {
  block<false>(A, lda, Bp, K, bias, C, ldc, M, N);
}

void gemm_bf16_block_stream_avx512bf16(const uint16_t* A, int64_t lda, const uint16_t* Bp, int64_t K,
                                       const float* bias, float* C, int64_t ldc, int64_t M, int64_t N) {
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
