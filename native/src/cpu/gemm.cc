// gemm.cc: C = act(A · Bᵀ + bias) with B an nn.Linear weight (N, K), pre-packed once
// into 16-column panels (ops.h kGemmPanel; k-major inside a panel, last panel
// zero-padded). The driver cuts C into tasks (gemm_task_shape) run on the pool;
// the block kernel blocks over K. gemm_block_ref is the
// reference and the portable path (fp64 accumulation); _avx2/_avx512 are the
// register-blocked microkernels over the same packed layout.
#include <algorithm>

#include "convbert/ops.h"
#include "convbert/thread_pool.h"
#include "gemm_tasks.h"
#include "kernels_isa.h"

namespace convbert {

namespace {
constexpr int64_t kGemmRowsPerTask = 96;   // multiple of the 6-row microtile
constexpr int64_t kGemmOneRowBlock = 144;  // up to this many rows, a task spans every row
}  // namespace

// How C is cut into tasks. Each task streams its own columns of the weights once,
// so tasks span as many rows as they can: every row up to kGemmOneRowBlock (one
// 128-token sequence: a cut into 96 + 32 rows read the same weights twice, the
// second time for a third of the work), else about kGemmRowsPerTask. Columns go
// in blocks of 128, or of 64 or 32 when that evens out the threads' shares (a
// (128, 384) product in 128-column blocks is 3 tasks: one thread did two).
GemmTaskShape gemm_task_shape(int64_t M, int64_t N, int threads) {
  GemmTaskShape s{};
  s.mt = M <= kGemmOneRowBlock ? 1 : (M + kGemmRowsPerTask - 1) / kGemmRowsPerTask;
  s.rows = (M + s.mt - 1) / s.mt;
  s.rows = (s.rows + 5) / 6 * 6;
  s.mt = (M + s.rows - 1) / s.rows;
  for (int64_t cols : {128, 64, 32}) {
    s.cols = cols;
    s.nt = (N + cols - 1) / cols;
    const int64_t tasks = s.mt * s.nt;
    // Work per thread in units of (task rows x 32 columns), against an even share.
    const int64_t units = s.mt * ((N + 31) / 32);
    const int64_t per_task = cols / 32;
    const int64_t rounds = (tasks + threads - 1) / threads;
    if (threads <= 1 || rounds * per_task * threads <= units + units / 8) break;
  }
  return s;
}

int64_t packed_gemm_size(int64_t N, int64_t K) { return (N + kGemmPanel - 1) / kGemmPanel * kGemmPanel * K; }

void pack_gemm_b(const float* B, int64_t ldb, int64_t N, int64_t K, bool transposed, float* dst) {
  const int64_t panels = (N + kGemmPanel - 1) / kGemmPanel;
  for (int64_t p = 0; p < panels; ++p) {
    float* panel = dst + p * K * kGemmPanel;
    for (int64_t k = 0; k < K; ++k) {
      for (int64_t j = 0; j < kGemmPanel; ++j) {
        const int64_t n = p * kGemmPanel + j;
        float v = 0.f;
        if (n < N) v = transposed ? B[k * ldb + n] : B[n * ldb + k];
        panel[k * kGemmPanel + j] = v;
      }
    }
  }
}

void gemm_block_ref(const float* A, int64_t lda, const float* Bp, int64_t K, const float* bias, float* C, int64_t ldc,
                    int64_t M, int64_t N) {
  for (int64_t m = 0; m < M; ++m) {
    const float* a = A + m * lda;
    for (int64_t n = 0; n < N; ++n) {
      const float* b = Bp + (n / kGemmPanel) * K * kGemmPanel + (n % kGemmPanel);
      double acc = bias ? static_cast<double>(bias[n]) : 0.0;
      for (int64_t k = 0; k < K; ++k) acc += static_cast<double>(a[k]) * static_cast<double>(b[k * kGemmPanel]);
      C[m * ldc + n] = static_cast<float>(acc);
    }
  }
}

Status gemm(const OpTable& ops, const GemmArgs& g) {
  const int64_t M = g.M, N = g.B.N, K = g.B.K;
  if (M < 0 || N < 0 || K < 0 || g.lda < K || g.ldc < N)
    return Status::Error(StatusCode::kInvalidArgument, "gemm: bad sizes or strides");
  if (M == 0 || N == 0) return Status::Ok();
  if (!g.A || !g.B.data || !g.C) return Status::Error(StatusCode::kInvalidArgument, "gemm: null pointer");
  if (static_cast<int32_t>(g.act) < 0 || g.act >= Activation::kCount)
    return Status::Error(StatusCode::kInvalidArgument, "gemm: unknown epilogue activation");
  const int32_t act = static_cast<int32_t>(g.act);
  const GemmTaskShape ts = gemm_task_shape(M, N, num_threads());
  // Tiny products run on the calling thread: a wake-up costs more than the work.
  const int64_t grain = (M * N * K < (int64_t{1} << 17)) ? ts.mt * ts.nt : 1;
  // A task that spans every row reads its weight columns once: the streaming walk.
  const GemmBlockFn block = ts.mt == 1 && ops.gemm_block_stream ? ops.gemm_block_stream : ops.gemm_block;
  parallel_for(ts.mt * ts.nt, grain, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      // Column-block major, so consecutive tasks of one thread reuse the same B panels.
      const int64_t ni = t / ts.mt, mi = t % ts.mt;
      const int64_t m0 = mi * ts.rows, n0 = ni * ts.cols;
      const int64_t mb = std::min(ts.rows, M - m0), nb = std::min(ts.cols, N - n0);
      float* C = g.C + m0 * g.ldc + n0;
      block(g.A + m0 * g.lda, g.lda, g.B.data + (n0 / kGemmPanel) * K * kGemmPanel, K, g.bias ? g.bias + n0 : nullptr,
            C, g.ldc, mb, nb);
      if (g.act != Activation::kIdentity)
        for (int64_t r = 0; r < mb; ++r) ops.activation_row(C + r * g.ldc, C + r * g.ldc, nullptr, nb, act);
    }
  });
  return Status::Ok();
}

}  // namespace convbert
