// gemm_i8.cc: the opt-in int8 gemm (ops.h GemmI8Args): B quantised once per
// output channel (symmetric int8) into k-quad panels, A quantised per call per
// row (asymmetric u8, into the caller's scratch), exact int32 sums, fp32 epilogue.
// gemm_i8_block_ref and the _ref row kernels are the reference and the portable
// path (int64 sums); _avx2 (int16 vpmaddwd) and _avx512vnni (vpdpbusd) compute
// the same integers, and the epilogue is the same fma, so every path agrees bit for bit.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "convbert/ops.h"
#include "convbert/thread_pool.h"
#include "kernels_isa.h"

namespace convbert {

namespace {
constexpr int64_t kRowsPerTask = 96;
constexpr int64_t kColsPerTask = 192;  // 12 panels: four 48-column VNNI tiles
int64_t quad(int64_t k) { return (k + 3) & ~int64_t{3}; }
int64_t align64(int64_t n) { return (n + 63) & ~int64_t{63}; }
}  // namespace

int64_t i8_padded_cols(int64_t N) { return (N + kGemmPanel - 1) / kGemmPanel * kGemmPanel; }
int64_t packed_gemm_i8_size(int64_t N, int64_t K) { return i8_padded_cols(N) * quad(K); }
int64_t gemm_i8_scratch_size(int64_t M, int64_t K) { return align64(M * quad(K)) + align64(M * 4) + M * 4; }

void pack_gemm_b_i8(const float* B, int64_t ldb, int64_t N, int64_t K, bool transposed, int8_t* dst, float* scale,
                    int32_t* colsum) {
  const int64_t Kq = quad(K), cols = i8_padded_cols(N);
  for (int64_t n = 0; n < cols; ++n) {
    int8_t* panel = dst + (n / kGemmPanel) * Kq * kGemmPanel;
    const int64_t j = n % kGemmPanel;
    auto at = [&](int64_t k) -> int8_t& { return panel[(k >> 2) * 64 + j * 4 + (k & 3)]; };
    auto w = [&](int64_t k) { return static_cast<double>(transposed ? B[k * ldb + n] : B[n * ldb + k]); };
    double maxabs = 0;
    bool finite = true;
    if (n < N)
      for (int64_t k = 0; k < K; ++k) {
        const double v = w(k);
        if (!std::isfinite(v)) finite = false;
        else maxabs = std::max(maxabs, std::fabs(v));
      }
    int32_t sum = 0;
    if (n >= N || !finite || maxabs == 0) {
      for (int64_t k = 0; k < Kq; ++k) at(k) = 0;
      // A channel with a NaN or infinity gives NaN outputs, as the fp32 gemm would.
      scale[n] = n < N && !finite ? std::numeric_limits<float>::quiet_NaN() : 0.f;
    } else {
      const double s = maxabs / 127.0;
      for (int64_t k = 0; k < Kq; ++k) {
        int32_t q = 0;
        if (k < K) q = static_cast<int32_t>(std::max(-127.0, std::min(127.0, std::nearbyint(w(k) / s))));
        at(k) = static_cast<int8_t>(q);
        sum += q;
      }
      scale[n] = static_cast<float>(s);
    }
    colsum[n] = sum;
  }
}

void i8_minmax_row_ref(const float* x, int64_t n, float* mn, float* mx) {
  float lo = x[0], hi = x[0];
  bool nan = false;
  for (int64_t k = 0; k < n; ++k) {
    const float v = x[k];
    if (v != v) nan = true;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  *mn = nan ? std::numeric_limits<float>::quiet_NaN() : lo;
  *mx = hi;
}

void i8_quantize_row_ref(const float* x, int64_t n, float inv, int32_t zp, uint8_t* q) {
  for (int64_t k = 0; k < n; ++k) {
    const float p = x[k] * inv;  // one fp32 product, as the vector paths compute it
    const int32_t v = static_cast<int32_t>(std::nearbyint(p)) + zp;
    q[k] = static_cast<uint8_t>(std::min(255, std::max(0, v)));
  }
}

void gemm_i8_block_ref(const uint8_t* A, int64_t lda, const float* sa, const int32_t* zp, const int8_t* Bp,
                       const float* sb, const int32_t* colsum, int64_t K, const float* bias, float* C, int64_t ldc,
                       int64_t M, int64_t N) {
  const int64_t pstride = quad(K) * kGemmPanel;
  for (int64_t m = 0; m < M; ++m) {
    const uint8_t* a = A + m * lda;
    for (int64_t n = 0; n < N; ++n) {
      const int8_t* b = Bp + (n / kGemmPanel) * pstride + (n % kGemmPanel) * 4;
      int64_t acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += static_cast<int64_t>(a[k]) * b[(k >> 2) * 64 + (k & 3)];
      // |acc - zp·colsum| <= 255·127·K fits int32 (kI8MaxK).
      const int32_t corr = static_cast<int32_t>(acc - static_cast<int64_t>(zp[m]) * colsum[n]);
      const float s = sa[m] * sb[n];
      const float f = static_cast<float>(corr);
      C[m * ldc + n] = bias ? std::fma(f, s, bias[n]) : f * s;
    }
  }
}

namespace {

// One row of A: min/max (table kernel), the row's scale and zero point (scalar,
// here only, so every path gets the same ones), then the quantised values.
void quantize_row(const OpTable& ops, const float* a, int64_t K, int64_t Kq, uint8_t* q, float* sa, int32_t* zp) {
  float mn = 0.f, mx = 0.f;
  if (K > 0) ops.i8_minmax_row(a, K, &mn, &mx);
  std::memset(q + K, 0, static_cast<size_t>(Kq - K));  // the k-quad padding
  *zp = 0;
  if (!std::isfinite(mn) || !std::isfinite(mx)) {
    std::memset(q, 0, static_cast<size_t>(K));
    *sa = std::numeric_limits<float>::quiet_NaN();  // the fp32 gemm would give NaN/inf here too
    return;
  }
  mn = std::min(mn, 0.f);
  mx = std::max(mx, 0.f);
  const double range = static_cast<double>(mx) - static_cast<double>(mn);
  if (!(range >= kI8MinRange)) {
    std::memset(q, 0, static_cast<size_t>(K));
    *sa = 0.f;
    return;
  }
  const float inv = static_cast<float>(255.0 / range);
  *sa = static_cast<float>(range / 255.0);
  const float zf = -mn * inv;
  *zp = std::min(255, std::max(0, static_cast<int32_t>(std::nearbyint(zf))));
  ops.i8_quantize_row(a, K, inv, *zp, q);
}

}  // namespace

Status gemm_i8(const OpTable& ops, const GemmI8Args& g) {
  const int64_t M = g.M, N = g.B.N, K = g.B.K, Kq = quad(K);
  if (M < 0 || N < 0 || K < 0 || g.lda < K || g.ldc < N)
    return Status::Error(StatusCode::kInvalidArgument, "gemm_i8: bad sizes or strides");
  if (K > kI8MaxK)
    return Status::Error(StatusCode::kUnsupported, "gemm_i8: K = " + std::to_string(K) + " exceeds " +
                                                       std::to_string(kI8MaxK) + " (the int32 sums could overflow)");
  if (M == 0 || N == 0) return Status::Ok();
  if (!g.A || !g.B.data || !g.B.scale || !g.B.colsum || !g.C || !g.scratch)
    return Status::Error(StatusCode::kInvalidArgument, "gemm_i8: null pointer");
  if (static_cast<int32_t>(g.act) < 0 || g.act >= Activation::kCount)
    return Status::Error(StatusCode::kInvalidArgument, "gemm_i8: unknown epilogue activation");
  if (!ops.gemm_i8_block || !ops.i8_minmax_row || !ops.i8_quantize_row)
    return Status::Error(StatusCode::kInternal, "gemm_i8: op table has no int8 kernels");
  const int32_t act = static_cast<int32_t>(g.act);
  uint8_t* qa = g.scratch;
  float* sa = reinterpret_cast<float*>(g.scratch + align64(M * Kq));
  int32_t* zp = reinterpret_cast<int32_t*>(g.scratch + align64(M * Kq) + align64(M * 4));
  parallel_for(M, std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(1, K)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) quantize_row(ops, g.A + r * g.lda, K, Kq, qa + r * Kq, sa + r, zp + r);
  });
  // Row tasks of at most kRowsPerTask, split evenly in multiples of the 8-row tile, so
  // M = 128 runs as 2 x 64 rows rather than 96 + 32 (the two threads finish together).
  const int64_t mt = (M + kRowsPerTask - 1) / kRowsPerTask;
  const int64_t rows = ((M + mt - 1) / mt + 7) / 8 * 8;
  const int64_t nt = (N + kColsPerTask - 1) / kColsPerTask;
  const int64_t grain = (M * N * K < (int64_t{1} << 18)) ? mt * nt : 1;
  parallel_for(mt * nt, grain, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      // Column-block major, so consecutive tasks of one thread reuse the same B panels.
      const int64_t ni = t / mt, mi = t % mt;
      const int64_t m0 = mi * rows, n0 = ni * kColsPerTask;
      const int64_t mb = std::min(rows, M - m0), nb = std::min(kColsPerTask, N - n0);
      if (mb <= 0) continue;
      float* C = g.C + m0 * g.ldc + n0;
      ops.gemm_i8_block(qa + m0 * Kq, Kq, sa + m0, zp + m0, g.B.data + (n0 / kGemmPanel) * Kq * kGemmPanel,
                        g.B.scale + n0, g.B.colsum + n0, K, g.bias ? g.bias + n0 : nullptr, C, g.ldc, mb, nb);
      if (g.act != Activation::kIdentity)
        for (int64_t r = 0; r < mb; ++r) ops.activation_row(C + r * g.ldc, C + r * g.ldc, nullptr, nb, act);
    }
  });
  return Status::Ok();
}

}  // namespace convbert
