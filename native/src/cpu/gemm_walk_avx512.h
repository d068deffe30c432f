// gemm_walk_avx512.h: the block walk shared by the AVX-512 fp32 and bf16 gemm
// block kernels (gemm_avx512.cc, gemm_bf16_avx512bf16.cc). Include it only from
// AVX-512 translation units. Everything here has internal linkage, so each unit
// keeps its own copy compiled with its own -m flags (kernels_isa.h says why a
// shared inline function is unsafe across ISA groups).
#pragma once
#include <immintrin.h>
#include <stdint.h>

#include <initializer_list>
#include <type_traits>

namespace convbert {
namespace {

// A packed panel keeps one k step per 64-byte line (fp32: 16 floats; bf16: one
// k pair of 16 columns), so a block of B is `panels` runs of `kc` lines,
// `pstride` bytes apart.
constexpr int64_t kPanelLine = 64;

// A run of n consecutive lines of the next B block (within one panel) that one
// microtile prefetches into L1, one per k step from its first: the microkernel's
// k loop does `if (k < pf.n) _mm_prefetch(pf.p + k * kPanelLine, _MM_HINT_T0)`.
// (Written out in the loop, not as a member function: GCC treats a function that
// only prefetches as pure and deletes the call.)
struct BPrefetch {
  const char* p = nullptr;
  int64_t n = 0;
};

// How M rows are cut into microtiles: 6 rows each, except that the remainder
// is spread so that no tile has fewer than 4 rows where M allows it (a tile of r
// rows keeps 2r accumulators in flight, and below 8 the FMA latency shows: the
// 2-row tail of a 128-row block ran at a fraction of the peak and took 5% of a
// 128-token forward). 128 = 20 x 6 + 4 + 4; 127 = 19 x 6 + 5 + 4 + 4.
struct RowTiles {
  int64_t six = 0;          // leading tiles of 6 rows
  int tail[3] = {0, 0, 0};  // then up to three smaller tiles
  int ntail = 0;
  int64_t count() const { return six + ntail; }
  int rows(int64_t t) const { return t < six ? 6 : tail[t - six]; }
};

inline RowTiles row_tiles(int64_t M) {
  RowTiles r;
  const int64_t a = M / 6;
  const int rem = static_cast<int>(M % 6);
  auto set = [&](int64_t six, std::initializer_list<int> tail) {
    r.six = six;
    for (int v : tail) r.tail[r.ntail++] = v;
  };
  if (rem == 0) set(a, {});
  else if (rem >= 4 || a == 0) set(a, {rem});
  else if (rem == 3) set(a - 1, {5, 4});
  else if (rem == 2) set(a - 1, {4, 4});
  else if (a >= 2) set(a - 2, {5, 4, 4});  // rem == 1
  else set(0, {4, 3});                     // M = 7
  return r;
}

// Walks C (M x N) in blocks of two 16-column panels by at most kKc k steps, each
// block down its microtiles (row_tiles).
//
// stream = false (the block kernel, gemm_block): a k block runs through every
// panel pair before the next k block, so the rows' A block stays in L1/L2 across
// pairs. This suits tasks whose weights sit in L2, shared with the thread's other
// row tasks.
//
// stream = true (gemm_block_stream, for a task that spans every row, so that it
// reads its weights from memory exactly once): a panel pair runs through all of K
// before the next pair, so each panel is read in order, and the microtiles of each
// block prefetch the next block into L1, a share each, so the first microtile of
// a block does not wait on memory for its B lines. Single-threaded, 128 rows and
// (768, 768) weights cold on huge pages: 79% of the FMA peak before, 86% after
// (32 rows: 55% -> 75%). The same prefetch into L1 cost time on L2-resident
// weights, so the non-streaming walk has none.
//
// tile(r0, mr, n0, nleft, k0, kc, pf) runs one microtile: rows [r0, r0 + mr),
// columns [n0, n0 + min(nleft, 32)), k steps [k0, k0 + kc), prefetching pf.
template <typename Tile>
inline void walk_blocks(int64_t M, int64_t N, int64_t steps, int64_t kKc, bool stream, const void* Bp,
                        int64_t pstride_bytes, Tile&& tile) {
  const char* base = static_cast<const char*>(Bp);
  const RowTiles rt = row_tiles(M);
  const int64_t tiles = rt.count();
  const int64_t kblocks = (steps + kKc - 1) / kKc, pairs = (N + 31) / 32;
  const int64_t blocks = kblocks * pairs;
  for (int64_t b = 0; b < blocks; ++b) {
    // Block b as (panel pair, k block).
    const int64_t pi = stream ? b / kblocks : b % pairs, ki = stream ? b % kblocks : b / pairs;
    const int64_t n0 = pi * 32, k0 = ki * kKc, kc = steps - k0 < kKc ? steps - k0 : kKc;
    // The next block's panels (one or two runs of kc1 lines), split among this
    // block's microtiles: tiles [0, half) take the first panel, the rest the second.
    const char* next = nullptr;
    int64_t kc1 = 0, half = tiles, share0 = 0, share1 = 0;
    if (stream && b + 1 < blocks) {
      const int64_t pn = (b + 1) / kblocks, kn = (b + 1) % kblocks;
      kc1 = steps - kn * kKc < kKc ? steps - kn * kKc : kKc;
      next = base + (pn * 2) * pstride_bytes + kn * kKc * kPanelLine;
      if (N - pn * 32 > 16) half = (tiles + 1) / 2;
      share0 = (kc1 + half - 1) / half;
      share1 = tiles > half ? (kc1 + tiles - half - 1) / (tiles - half) : 0;
    }
    for (int64_t r0 = 0, t = 0; t < tiles; r0 += rt.rows(t), ++t) {
      BPrefetch pf;
      if (next) {
        const bool second = t >= half;
        const int64_t share = second ? share1 : share0, j0 = (second ? t - half : t) * share;
        const int64_t j = j0 < kc1 ? j0 : kc1;
        pf.p = next + (second ? pstride_bytes : 0) + j * kPanelLine;
        pf.n = j + share < kc1 ? share : kc1 - j;
      }
      tile(r0, rt.rows(t), n0, N - n0, k0, kc, pf);
    }
  }
}

inline __mmask16 cols_mask(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u);
}

// Calls f(std::integral_constant<int, MR>{}) for the microtile height mr in [1, 6].
template <typename F>
inline void with_rows(int mr, F&& f) {
  switch (mr) {
    case 6: f(std::integral_constant<int, 6>{}); break;
    case 5: f(std::integral_constant<int, 5>{}); break;
    case 4: f(std::integral_constant<int, 4>{}); break;
    case 3: f(std::integral_constant<int, 3>{}); break;
    case 2: f(std::integral_constant<int, 2>{}); break;
    default: f(std::integral_constant<int, 1>{}); break;
  }
}

// A whole block kernel over `steps` k steps, of which each is kA elements of a
// row of A and one 64-byte line of a panel (fp32: 1 and 16 floats; bf16: 2 and
// one k pair of 16 columns). micro(MR, NP, a, lda, B, pstride, kc, C, ldc, bias,
// first, m0, m1, pf), MR and NP std::integral_constants, runs one microtile of
// MR rows by NP panels.
template <bool kStream, int kA, typename T, typename Micro>
inline void block_kernel(const T* A, int64_t lda, const T* Bp, int64_t steps, int64_t kKc, const float* bias, float* C,
                         int64_t ldc, int64_t M, int64_t N, Micro&& micro) {
  if (steps == 0) {
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) C[m * ldc + n] = bias ? bias[n] : 0.f;
    return;
  }
  constexpr int64_t kLineElems = kPanelLine / static_cast<int64_t>(sizeof(T));
  const int64_t pstride = steps * kLineElems;
  walk_blocks(
      M, N, steps, kKc, kStream, Bp, pstride * static_cast<int64_t>(sizeof(T)),
      [&](int64_t r0, int mr, int64_t n0, int64_t nleft, int64_t k0, int64_t kc, const BPrefetch& pf) {
        const T* B = Bp + (n0 / 16) * pstride + k0 * kLineElems;
        const float* bz = bias ? bias + n0 : nullptr;
        const __mmask16 m0 = cols_mask(nleft), m1 = nleft > 16 ? cols_mask(nleft - 16) : 0;
        const T* a = A + r0 * lda + kA * k0;
        float* c = C + r0 * ldc + n0;
        with_rows(mr, [&](auto rows) {
          if (nleft > 16)
            micro(rows, std::integral_constant<int, 2>{}, a, lda, B, pstride, kc, c, ldc, bz, k0 == 0, m0, m1, pf);
          else micro(rows, std::integral_constant<int, 1>{}, a, lda, B, pstride, kc, c, ldc, bz, k0 == 0, m0, m1, pf);
        });
      });
}

}  // namespace
}  // namespace convbert
