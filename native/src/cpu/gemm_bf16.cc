// gemm_bf16.cc: the opt-in bfloat16 gemm (ops.h GemmBf16Args). B is packed once
// into bf16 k-pair panels; the driver rounds A to bf16 once per call (round to
// nearest even, vectorised where AVX512_BF16 is there) and runs the table's
// gemm_bf16_block (AVX512_BF16 vdpbf16ps, fp32 accumulation) when the CPU has it. Otherwise it widens the same bf16
// values back to fp32 and runs the fp32 gemm_block: identical inputs, so the
// results differ from the fast path only by accumulation order.
#include <algorithm>
#include <cstring>
#include <vector>

#include "convbert/ops.h"
#include "convbert/thread_pool.h"
#include "gemm_tasks.h"
#include "kernels_isa.h"

namespace convbert {

namespace {
int64_t even(int64_t k) { return (k + 1) & ~int64_t{1}; }
}  // namespace

uint16_t float_to_bf16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

float bf16_to_float(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

int64_t packed_gemm_bf16_size(int64_t N, int64_t K) { return (N + kGemmPanel - 1) / kGemmPanel * kGemmPanel * even(K); }

void pack_gemm_b_bf16(const float* B, int64_t ldb, int64_t N, int64_t K, bool transposed, uint16_t* dst) {
  const int64_t panels = (N + kGemmPanel - 1) / kGemmPanel, Kp = even(K);
  for (int64_t p = 0; p < panels; ++p) {
    uint16_t* panel = dst + p * Kp * kGemmPanel;
    for (int64_t k = 0; k < Kp; ++k) {
      for (int64_t j = 0; j < kGemmPanel; ++j) {
        const int64_t n = p * kGemmPanel + j;
        float v = 0.f;
        if (n < N && k < K) v = transposed ? B[k * ldb + n] : B[n * ldb + k];
        panel[((k >> 1) * kGemmPanel + j) * 2 + (k & 1)] = float_to_bf16(v);
      }
    }
  }
}

Status gemm_bf16(const OpTable& ops, const GemmBf16Args& g) {
  const int64_t M = g.M, N = g.B.N, K = g.B.K, Kp = even(K);
  if (M < 0 || N < 0 || K < 0 || g.lda < K || g.ldc < N)
    return Status::Error(StatusCode::kInvalidArgument, "gemm_bf16: bad sizes or strides");
  if (M == 0 || N == 0) return Status::Ok();
  if (!g.A || !g.B.data || !g.C) return Status::Error(StatusCode::kInvalidArgument, "gemm_bf16: null pointer");
  if (static_cast<int32_t>(g.act) < 0 || g.act >= Activation::kCount)
    return Status::Error(StatusCode::kInvalidArgument, "gemm_bf16: unknown epilogue activation");
  const int32_t act = static_cast<int32_t>(g.act);
  // A rounded to bf16 once per call (rows zero-padded to Kp), shared by every
  // column task; the buffer belongs to the calling thread and only grows.
  thread_local std::vector<uint16_t> a16;
  if (a16.size() < static_cast<size_t>(M * Kp)) a16.resize(static_cast<size_t>(M * Kp));
  uint16_t* a16p = a16.data();
  parallel_for(M, std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(1, K)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* a = g.A + r * g.lda;
      uint16_t* d = a16p + r * Kp;
      if (ops.bf16_convert_row) ops.bf16_convert_row(a, d, K);
      else
        for (int64_t k = 0; k < K; ++k) d[k] = float_to_bf16(a[k]);
      if (Kp != K) d[K] = 0;
    }
  });
  const GemmTaskShape ts = gemm_task_shape(M, N, num_threads());
  const int64_t grain = (M * N * K < (int64_t{1} << 17)) ? ts.mt * ts.nt : 1;
  const GemmBf16BlockFn block =
      ts.mt == 1 && ops.gemm_bf16_block_stream ? ops.gemm_bf16_block_stream : ops.gemm_bf16_block;
  parallel_for(ts.mt * ts.nt, grain, [&](int64_t t0, int64_t t1) {
    // Per-thread scratch of the fallback; grows to the largest block seen, then steady.
    thread_local std::vector<float> af, bf;
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t ni = t / ts.mt, mi = t % ts.mt;
      const int64_t m0 = mi * ts.rows, n0 = ni * ts.cols;
      const int64_t mb = std::min(ts.rows, M - m0), nb = std::min(ts.cols, N - n0);
      float* C = g.C + m0 * g.ldc + n0;
      const uint16_t* Bp = g.B.data + (n0 / kGemmPanel) * Kp * kGemmPanel;
      const float* bias = g.bias ? g.bias + n0 : nullptr;
      const uint16_t* ab = a16p + m0 * Kp;
      if (block) {
        block(ab, Kp, Bp, K, bias, C, g.ldc, mb, nb);
      } else {
        const int64_t panels = (nb + kGemmPanel - 1) / kGemmPanel;
        if (af.size() < static_cast<size_t>(mb * K)) af.resize(static_cast<size_t>(mb * K));
        if (bf.size() < static_cast<size_t>(panels * K * kGemmPanel))
          bf.resize(static_cast<size_t>(panels * K * kGemmPanel));
        for (int64_t r = 0; r < mb; ++r)
          for (int64_t k = 0; k < K; ++k) af[r * K + k] = bf16_to_float(ab[r * Kp + k]);
        for (int64_t p = 0; p < panels; ++p)
          for (int64_t k = 0; k < K; ++k)
            for (int64_t j = 0; j < kGemmPanel; ++j)
              bf[(p * K + k) * kGemmPanel + j] =
                  bf16_to_float(Bp[p * Kp * kGemmPanel + ((k >> 1) * kGemmPanel + j) * 2 + (k & 1)]);
        ops.gemm_block(af.data(), K, bf.data(), K, bias, C, g.ldc, mb, nb);
      }
      if (g.act != Activation::kIdentity)
        for (int64_t r = 0; r < mb; ++r) ops.activation_row(C + r * g.ldc, C + r * g.ldc, nullptr, nb, act);
    }
  });
  return Status::Ok();
}

}  // namespace convbert
