// gemm_i8_avx2.cc: the AVX2 kernels of gemm_i8 for CPUs without AVX512_VNNI
// (reference: gemm_i8_block_ref in gemm_i8.cc). u8 x s8 products are widened to
// int16 and summed in pairs by vpmaddwd, which is exact (|255·127·2| < 2^31); no
// vpmaddubsw, whose int16 saturation would change the sums. Microtile 4 rows x
// 8 columns: per k-quad, 16 bytes of B (4 columns x 4 k) sign-extend to 16 int16
// and meet the row's 4 widened A values broadcast; the pair sums are reduced to
// one int32 per column after each K block (partials live in C between blocks).
#include <immintrin.h>

#include "kernels_isa.h"

namespace convbert {
namespace {

constexpr int64_t kKq = 64;  // k-quads per block (256 k)
constexpr int kMr = 4;

__m256i lanes_below(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n < 8 ? n : 8)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

struct Epi {
  const float* sa;
  const int32_t* zp;
  const float* sb;
  const int32_t* colsum;
  const float* bias;
};

// MR rows x 8 columns (cols [0, 4) from B0, [4, 8) from B0 + 16 bytes) over kq quads.
template <int MR>
void micro(const int64_t* aw, const int8_t* B, int64_t kq, float* C, int64_t ldc, const Epi& e, bool first, bool last,
           __m256i mask) {
  __m256i acc[MR][2];
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
  for (int64_t kk = 0; kk < kq; ++kk) {
    const __m256i b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(B + kk * 64)));
    const __m256i b1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(B + kk * 64 + 16)));
    for (int r = 0; r < MR; ++r) {
      const __m256i a = _mm256_set1_epi64x(aw[r * kKq + kk]);
      acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(a, b0));
      acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(a, b1));
    }
  }
  __m256 sb = _mm256_setzero_ps(), bias = _mm256_setzero_ps();
  __m256i cs = _mm256_setzero_si256();
  if (last) {
    sb = _mm256_loadu_ps(e.sb);
    cs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e.colsum));
    if (e.bias) bias = _mm256_maskload_ps(e.bias, mask);
  }
  for (int r = 0; r < MR; ++r) {
    // acc[r][h] lanes: (col, half) pairs of columns 4h..4h+3 as [c0 c0 c1 c1 | c2 c2 c3 c3];
    // hadd gives [c0 c1 c4 c5 | c2 c3 c6 c7], the permute puts the columns in order.
    __m256i s = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[r][0], acc[r][1]), 0xD8);
    float* c = C + r * ldc;
    if (!first) s = _mm256_add_epi32(s, _mm256_maskload_epi32(reinterpret_cast<const int*>(c), mask));
    if (!last) {
      _mm256_maskstore_epi32(reinterpret_cast<int*>(c), mask, s);
      continue;
    }
    s = _mm256_sub_epi32(s, _mm256_mullo_epi32(_mm256_set1_epi32(e.zp[r]), cs));
    const __m256 sc = _mm256_mul_ps(_mm256_set1_ps(e.sa[r]), sb);
    const __m256 f = _mm256_cvtepi32_ps(s);
    const __m256 y = e.bias ? _mm256_fmadd_ps(f, sc, bias) : _mm256_mul_ps(f, sc);
    _mm256_maskstore_ps(c, mask, y);
  }
}

}  // namespace

void gemm_i8_block_avx2(const uint8_t* A, int64_t lda, const float* sa, const int32_t* zp, const int8_t* Bp,
                        const float* sb, const int32_t* colsum, int64_t K, const float* bias, float* C, int64_t ldc,
                        int64_t M, int64_t N) {
  const int64_t quads = (K + 3) / 4, pstride = quads * 64;
  // A's rows widened to int16, four k per int64, once per (row block, K block).
  alignas(32) int64_t aw[kMr * kKq];
  for (int64_t k0 = 0; k0 == 0 || k0 < quads; k0 += kKq) {
    const int64_t kq = quads - k0 < kKq ? quads - k0 : kKq;
    const bool first = k0 == 0, last = k0 + kq >= quads;
    for (int64_t r0 = 0; r0 < M; r0 += kMr) {
      const int mr = static_cast<int>(M - r0 < kMr ? M - r0 : kMr);
      for (int r = 0; r < mr; ++r)
        for (int64_t kk = 0; kk < kq; ++kk) {
          int32_t q4;
          __builtin_memcpy(&q4, A + (r0 + r) * lda + 4 * (k0 + kk), 4);
          aw[r * kKq + kk] = _mm_cvtsi128_si64(_mm_cvtepu8_epi16(_mm_cvtsi32_si128(q4)));
        }
      for (int64_t n0 = 0; n0 < N; n0 += 8) {
        const Epi e{sa + r0, zp + r0, sb + n0, colsum + n0, bias ? bias + n0 : nullptr};
        // Columns n0..n0+7 are the first or second half of panel n0 / 16 (32 bytes per quad each).
        const int8_t* B = Bp + (n0 / 16) * pstride + k0 * 64 + (n0 % 16) * 4;
        float* c = C + r0 * ldc + n0;
        const __m256i mask = lanes_below(N - n0);
        switch (mr) {
          case 4: micro<4>(aw, B, kq, c, ldc, e, first, last, mask); break;
          case 3: micro<3>(aw, B, kq, c, ldc, e, first, last, mask); break;
          case 2: micro<2>(aw, B, kq, c, ldc, e, first, last, mask); break;
          default: micro<1>(aw, B, kq, c, ldc, e, first, last, mask); break;
        }
      }
    }
  }
}

void i8_minmax_row_avx2(const float* x, int64_t n, float* mn, float* mx) {
  __m256 lo = _mm256_set1_ps(x[0]), hi = lo, nan = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    lo = _mm256_min_ps(lo, v);
    hi = _mm256_max_ps(hi, v);
  }
  alignas(32) float l[8], h[8];
  _mm256_store_ps(l, lo);
  _mm256_store_ps(h, hi);
  bool has_nan = _mm256_movemask_ps(nan) != 0;
  float a = l[0], b = h[0];
  for (int j = 1; j < 8; ++j) {
    a = l[j] < a ? l[j] : a;
    b = h[j] > b ? h[j] : b;
  }
  for (; i < n; ++i) {
    const float v = x[i];
    if (v != v) has_nan = true;
    a = v < a ? v : a;
    b = v > b ? v : b;
  }
  *mn = has_nan ? __builtin_nanf("") : a;
  *mx = b;
}

void i8_quantize_row_avx2(const float* x, int64_t n, float inv, int32_t zp, uint8_t* q) {
  const __m256 vi = _mm256_set1_ps(inv);
  const __m256i z = _mm256_set1_epi32(zp), zero = _mm256_setzero_si256(), top = _mm256_set1_epi32(255);
  // Byte 0 of each int32 to the low 4 bytes of its 128-bit lane.
  const __m256i pick = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12, -1,
                                        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    // vcvtps2dq rounds to nearest even (MXCSR default), like nearbyint in the reference.
    __m256i v = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i), vi));
    v = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(v, z), zero), top);
    v = _mm256_shuffle_epi8(v, pick);
    const uint32_t lo = static_cast<uint32_t>(_mm_cvtsi128_si32(_mm256_castsi256_si128(v)));
    const uint32_t hi = static_cast<uint32_t>(_mm_cvtsi128_si32(_mm256_extracti128_si256(v, 1)));
    const uint64_t both = lo | (static_cast<uint64_t>(hi) << 32);
    __builtin_memcpy(q + i, &both, 8);
  }
  for (; i < n; ++i) {
    const int32_t v = _mm_cvtss_si32(_mm_mul_ss(_mm_set_ss(x[i]), _mm_set_ss(inv))) + zp;
    q[i] = static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
  }
}

}  // namespace convbert
