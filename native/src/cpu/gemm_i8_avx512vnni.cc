// gemm_i8_avx512vnni.cc: the AVX512_VNNI kernels of gemm_i8 (ops.h GemmI8BlockFn;
// reference: gemm_i8_block_ref in gemm_i8.cc). Full tiles of 8 rows x 48 columns
// (three k-quad panels) run tile_8x3: 24 zmm int32 accumulators, per k-quad three
// B loads, eight broadcasts of 4 A bytes and 24 vpdpbusd (each adds four k steps of
// u8 x s8 products to 16 columns). It is inline assembly because GCC 12 copies every
// vpdpbusd accumulator through a second register each iteration (the intrinsic
// loop ran at about 60% of this one). Edge tiles run the intrinsic micro<MR, NP>.
// Accumulators start at -zp·colsum; K is blocked by kKq quads so the panels stay in
// L1, with int32 partial sums kept in C between blocks; the last block runs the fp32
// epilogue fma(float(acc), sa·sb, bias). Also the row min/max and quantisation of A.
#include <immintrin.h>

#include "kernels_isa.h"

namespace convbert {
namespace {

constexpr int64_t kKq = 128;  // k-quads per block (512 k; 24 KB of three panels)
constexpr int kMr = 8;        // tile_8x3 rows
constexpr int kNp = 3;        // tile_8x3 panels (48 columns)

__mmask16 cols_mask(int64_t n) {
  return n >= 16  ? static_cast<__mmask16>(0xFFFF)
         : n <= 0 ? static_cast<__mmask16>(0)
                  : static_cast<__mmask16>((1u << n) - 1u);
}

struct Epi {
  const float* sa;
  const int32_t* zp;
  const float* sb;
  const int32_t* colsum;
  const float* bias;
};

template <int MR, int NP>
void micro(const uint8_t* A, int64_t lda, const int8_t* B, int64_t pstride, int64_t kq, float* C, int64_t ldc,
           const Epi& e, bool first, bool last, const __mmask16* mk) {
  __m512i acc[MR][NP];
  for (int r = 0; r < MR; ++r)
    for (int p = 0; p < NP; ++p) {
      if (first) acc[r][p] = _mm512_mullo_epi32(_mm512_set1_epi32(-e.zp[r]), _mm512_loadu_si512(e.colsum + 16 * p));
      else acc[r][p] = _mm512_maskz_loadu_epi32(mk[p], C + r * ldc + 16 * p);
    }
  for (int64_t kk = 0; kk < kq; ++kk) {
    __m512i b[NP];
    for (int p = 0; p < NP; ++p) b[p] = _mm512_loadu_si512(B + p * pstride + kk * 64);
    for (int r = 0; r < MR; ++r) {
      int32_t q4;
      __builtin_memcpy(&q4, A + r * lda + 4 * kk, 4);
      const __m512i a = _mm512_set1_epi32(q4);
      for (int p = 0; p < NP; ++p) acc[r][p] = _mm512_dpbusd_epi32(acc[r][p], a, b[p]);
    }
  }
  if (!last) {
    for (int r = 0; r < MR; ++r)
      for (int p = 0; p < NP; ++p) _mm512_mask_storeu_epi32(C + r * ldc + 16 * p, mk[p], acc[r][p]);
    return;
  }
  __m512 sb[NP], bias[NP];
  for (int p = 0; p < NP; ++p) {
    sb[p] = _mm512_loadu_ps(e.sb + 16 * p);
    bias[p] = e.bias ? _mm512_maskz_loadu_ps(mk[p], e.bias + 16 * p) : _mm512_setzero_ps();
  }
  for (int r = 0; r < MR; ++r) {
    const __m512 sa = _mm512_set1_ps(e.sa[r]);
    for (int p = 0; p < NP; ++p) {
      const __m512 s = _mm512_mul_ps(sa, sb[p]);
      const __m512 f = _mm512_cvtepi32_ps(acc[r][p]);
      const __m512 y = e.bias ? _mm512_fmadd_ps(f, s, bias[p]) : _mm512_mul_ps(f, s);
      _mm512_mask_storeu_ps(C + r * ldc + 16 * p, mk[p], y);
    }
  }
}

// acc (24 x 16 int32, row r panel p at (r * 3 + p) * 16) += the 8 x 48 tile's sums over kq >= 1
// quads: A rows at A + r * lda (4 bytes per quad), panels at B + p * pstride (64 bytes per quad).
void tile_8x3(const uint8_t* A, int64_t lda, const int8_t* B, int64_t pstride, int64_t kq, int32_t* acc) {
  const uint8_t* a0 = A;
  const uint8_t* a3 = A + 3 * lda;
  const uint8_t* a6 = A + 6 * lda;
  __asm__ volatile(
      ".irp r,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
      "vmovdqu64 (\\r-8)*64(%[acc]), %%zmm\\r\n"
      ".endr\n"
      "1:\n"
      "vmovdqu64 (%[b]), %%zmm0\n"
      "vmovdqu64 (%[b],%[ps],1), %%zmm1\n"
      "vmovdqu64 (%[b],%[ps],2), %%zmm2\n"
      "vpbroadcastd (%[a0]), %%zmm3\n"
      "vpdpbusd %%zmm0, %%zmm3, %%zmm8\n vpdpbusd %%zmm1, %%zmm3, %%zmm9\n vpdpbusd %%zmm2, %%zmm3, %%zmm10\n"
      "vpbroadcastd (%[a0],%[lda],1), %%zmm4\n"
      "vpdpbusd %%zmm0, %%zmm4, %%zmm11\n vpdpbusd %%zmm1, %%zmm4, %%zmm12\n vpdpbusd %%zmm2, %%zmm4, %%zmm13\n"
      "vpbroadcastd (%[a0],%[lda],2), %%zmm5\n"
      "vpdpbusd %%zmm0, %%zmm5, %%zmm14\n vpdpbusd %%zmm1, %%zmm5, %%zmm15\n vpdpbusd %%zmm2, %%zmm5, %%zmm16\n"
      "vpbroadcastd (%[a3]), %%zmm6\n"
      "vpdpbusd %%zmm0, %%zmm6, %%zmm17\n vpdpbusd %%zmm1, %%zmm6, %%zmm18\n vpdpbusd %%zmm2, %%zmm6, %%zmm19\n"
      "vpbroadcastd (%[a3],%[lda],1), %%zmm7\n"
      "vpdpbusd %%zmm0, %%zmm7, %%zmm20\n vpdpbusd %%zmm1, %%zmm7, %%zmm21\n vpdpbusd %%zmm2, %%zmm7, %%zmm22\n"
      "vpbroadcastd (%[a3],%[lda],2), %%zmm3\n"
      "vpdpbusd %%zmm0, %%zmm3, %%zmm23\n vpdpbusd %%zmm1, %%zmm3, %%zmm24\n vpdpbusd %%zmm2, %%zmm3, %%zmm25\n"
      "vpbroadcastd (%[a6]), %%zmm4\n"
      "vpdpbusd %%zmm0, %%zmm4, %%zmm26\n vpdpbusd %%zmm1, %%zmm4, %%zmm27\n vpdpbusd %%zmm2, %%zmm4, %%zmm28\n"
      "vpbroadcastd (%[a6],%[lda],1), %%zmm5\n"
      "vpdpbusd %%zmm0, %%zmm5, %%zmm29\n vpdpbusd %%zmm1, %%zmm5, %%zmm30\n vpdpbusd %%zmm2, %%zmm5, %%zmm31\n"
      "add $4, %[a0]\n add $4, %[a3]\n add $4, %[a6]\n add $64, %[b]\n"
      "dec %[kq]\n jnz 1b\n"
      ".irp r,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
      "vmovdqu64 %%zmm\\r, (\\r-8)*64(%[acc])\n"
      ".endr\n"
      : [a0] "+r"(a0), [a3] "+r"(a3), [a6] "+r"(a6), [b] "+r"(B), [kq] "+r"(kq)
      : [lda] "r"(lda), [ps] "r"(pstride), [acc] "r"(acc)
      : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22",
        "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
}

// A full 8 x 48 tile around tile_8x3: start values (-zp·colsum or the partial sums in C),
// then the partial sums back to C or the epilogue.
void full_tile(const uint8_t* A, int64_t lda, const int8_t* B, int64_t pstride, int64_t kq, float* C, int64_t ldc,
               const Epi& e, bool first, bool last, const __mmask16* mk) {
  alignas(64) int32_t acc[kMr * kNp * 16];
  for (int r = 0; r < kMr; ++r)
    for (int p = 0; p < kNp; ++p) {
      const __m512i v = first ? _mm512_mullo_epi32(_mm512_set1_epi32(-e.zp[r]), _mm512_loadu_si512(e.colsum + 16 * p))
                              : _mm512_maskz_loadu_epi32(mk[p], C + r * ldc + 16 * p);
      _mm512_store_si512(acc + (r * kNp + p) * 16, v);
    }
  if (kq > 0) tile_8x3(A, lda, B, pstride, kq, acc);
  if (!last) {
    for (int r = 0; r < kMr; ++r)
      for (int p = 0; p < kNp; ++p)
        _mm512_mask_storeu_epi32(C + r * ldc + 16 * p, mk[p], _mm512_load_si512(acc + (r * kNp + p) * 16));
    return;
  }
  __m512 sb[kNp], bias[kNp];
  for (int p = 0; p < kNp; ++p) {
    sb[p] = _mm512_loadu_ps(e.sb + 16 * p);
    bias[p] = e.bias ? _mm512_maskz_loadu_ps(mk[p], e.bias + 16 * p) : _mm512_setzero_ps();
  }
  for (int r = 0; r < kMr; ++r) {
    const __m512 sa = _mm512_set1_ps(e.sa[r]);
    for (int p = 0; p < kNp; ++p) {
      const __m512 s = _mm512_mul_ps(sa, sb[p]);
      const __m512 f = _mm512_cvtepi32_ps(_mm512_load_si512(acc + (r * kNp + p) * 16));
      const __m512 y = e.bias ? _mm512_fmadd_ps(f, s, bias[p]) : _mm512_mul_ps(f, s);
      _mm512_mask_storeu_ps(C + r * ldc + 16 * p, mk[p], y);
    }
  }
}

template <int NP>
void micro_rows(int mr, const uint8_t* A, int64_t lda, const int8_t* B, int64_t pstride, int64_t kq, float* C,
                int64_t ldc, const Epi& e, bool first, bool last, const __mmask16* mk) {
  switch (mr) {
    case 8: micro<8, NP>(A, lda, B, pstride, kq, C, ldc, e, first, last, mk); break;
    case 7: micro<7, NP>(A, lda, B, pstride, kq, C, ldc, e, first, last, mk); break;
    case 6: micro<6, NP>(A, lda, B, pstride, kq, C, ldc, e, first, last, mk); break;
    case 5: micro<5, NP>(A, lda, B, pstride, kq, C, ldc, e, first, last, mk); break;
    case 4: micro<4, NP>(A, lda, B, pstride, kq, C, ldc, e, first, last, mk); break;
    case 3: micro<3, NP>(A, lda, B, pstride, kq, C, ldc, e, first, last, mk); break;
    case 2: micro<2, NP>(A, lda, B, pstride, kq, C, ldc, e, first, last, mk); break;
    default: micro<1, NP>(A, lda, B, pstride, kq, C, ldc, e, first, last, mk); break;
  }
}

}  // namespace

void gemm_i8_block_avx512vnni(const uint8_t* A, int64_t lda, const float* sa, const int32_t* zp, const int8_t* Bp,
                              const float* sb, const int32_t* colsum, int64_t K, const float* bias, float* C,
                              int64_t ldc, int64_t M, int64_t N) {
  const int64_t quads = (K + 3) / 4, pstride = quads * 64;
  // K = 0 still runs one (empty) block so the epilogue writes bias.
  for (int64_t k0 = 0; k0 == 0 || k0 < quads; k0 += kKq) {
    const int64_t kq = quads - k0 < kKq ? quads - k0 : kKq;
    const bool first = k0 == 0, last = k0 + kq >= quads;
    for (int64_t n0 = 0; n0 < N; n0 += 16 * kNp) {
      const int64_t nleft = N - n0;
      const __mmask16 mk[3] = {cols_mask(nleft), cols_mask(nleft - 16), cols_mask(nleft - 32)};
      const int np = nleft > 32 ? 3 : nleft > 16 ? 2 : 1;
      const int8_t* B = Bp + (n0 / 16) * pstride + k0 * 64;
      for (int64_t r0 = 0; r0 < M; r0 += kMr) {
        const int mr = static_cast<int>(M - r0 < kMr ? M - r0 : kMr);
        const Epi e{sa + r0, zp + r0, sb + n0, colsum + n0, bias ? bias + n0 : nullptr};
        const uint8_t* a = A + r0 * lda + 4 * k0;
        float* c = C + r0 * ldc + n0;
        if (np == 3 && mr == kMr) full_tile(a, lda, B, pstride, kq, c, ldc, e, first, last, mk);
        else if (np == 3) micro_rows<3>(mr, a, lda, B, pstride, kq, c, ldc, e, first, last, mk);
        else if (np == 2) micro_rows<2>(mr, a, lda, B, pstride, kq, c, ldc, e, first, last, mk);
        else micro_rows<1>(mr, a, lda, B, pstride, kq, c, ldc, e, first, last, mk);
      }
    }
  }
}

void i8_minmax_row_avx512vnni(const float* x, int64_t n, float* mn, float* mx) {
  // Four independent min/max chains, so the loop is not bound by their latency.
  __m512 lo[4], hi[4];
  for (int j = 0; j < 4; ++j) lo[j] = hi[j] = _mm512_set1_ps(x[0]);
  __mmask16 nan = 0;
  int64_t i = 0;
  for (; i + 64 <= n; i += 64)
    for (int j = 0; j < 4; ++j) {
      const __m512 v = _mm512_loadu_ps(x + i + 16 * j);
      nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
      lo[j] = _mm512_min_ps(lo[j], v);
      hi[j] = _mm512_max_ps(hi[j], v);
    }
  for (; i < n; i += 16) {
    const __mmask16 m = cols_mask(n - i);
    const __m512 v = _mm512_mask_loadu_ps(lo[0], m, x + i);  // lanes past n repeat a value already seen
    nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    lo[0] = _mm512_min_ps(lo[0], v);
    hi[0] = _mm512_max_ps(hi[0], v);
  }
  const __m512 l = _mm512_min_ps(_mm512_min_ps(lo[0], lo[1]), _mm512_min_ps(lo[2], lo[3]));
  const __m512 h = _mm512_max_ps(_mm512_max_ps(hi[0], hi[1]), _mm512_max_ps(hi[2], hi[3]));
  *mn = nan ? __builtin_nanf("") : _mm512_reduce_min_ps(l);
  *mx = _mm512_reduce_max_ps(h);
}

void i8_quantize_row_avx512vnni(const float* x, int64_t n, float inv, int32_t zp, uint8_t* q) {
  const __m512 vi = _mm512_set1_ps(inv);
  const __m512i z = _mm512_set1_epi32(zp), zero = _mm512_setzero_si512();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = cols_mask(n - i);
    // vcvtps2dq rounds to nearest even (MXCSR default), like nearbyint in the reference.
    __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vi));
    v = _mm512_max_epi32(_mm512_add_epi32(v, z), zero);
    _mm512_mask_cvtusepi32_storeu_epi8(q + i, m, v);  // unsigned saturation clamps at 255
  }
}

}  // namespace convbert
