// lightconv.cc: lightweight and dynamic convolution (Wu et al. 2019, fairseq's
// LightweightConv1dTBC / DynamicConv1dTBC forward), batch-major:
//   y[b,t,c] = Σ_k w'[head(c), k] · x[b, t + k - padding_l, c] (+ bias[c]), zeros outside [0, T).
// w' is softmax_k(w) when softmax is set; w is (H, K) or, per position, (B, T, H, K).
// lightconv_ref is the plain reference (double accumulation) for cuda/lightconv.cu;
// lightconv_cpu runs the same row code split over the engine pool (the public op).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <string>
#include <vector>

#include "convbert/cuda_backend.h"
#include "convbert/thread_pool.h"

namespace convbert {

namespace {

// Every element count an op derives from (B, T, C, H, K) stays at most 2^53 - 1, so the
// products below (and a caller's byte counts, x 4) never wrap int64.
constexpr int64_t kMaxElems = 9007199254740991;

bool mul_ok(int64_t a, int64_t b, int64_t* out) {
  if (a != 0 && b > kMaxElems / a) return false;
  *out = a * b;
  return true;
}

Status too_large(const char* what) {
  return Status::Error(StatusCode::kInvalidArgument, std::string("lightconv: ") + what + " is over 2^53 - 1 elements");
}

// Rows [r0, r1) of the flattened (B * T) positions. w is scratch of H * K doubles.
void lightconv_rows(const LightConvArgs& a, int64_t r0, int64_t r1, std::vector<double>& w) {
  const int64_t R = a.C / a.H;
  auto load_taps = [&](const float* src) {
    for (int64_t h = 0; h < a.H; ++h) {
      double* wh = w.data() + h * a.K;
      for (int64_t k = 0; k < a.K; ++k) wh[k] = src[h * a.K + k];
      if (!a.softmax) continue;
      // Max-subtracted like torch.softmax, so large logits do not overflow exp.
      double mx = wh[0];
      for (int64_t k = 1; k < a.K; ++k) mx = std::max(mx, wh[k]);
      double sum = 0.0;
      for (int64_t k = 0; k < a.K; ++k) sum += (wh[k] = std::exp(wh[k] - mx));
      for (int64_t k = 0; k < a.K; ++k) wh[k] /= sum;
    }
  };
  if (!a.per_position) load_taps(a.w);
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t b = r / a.T, t = r % a.T;
    if (a.per_position) load_taps(a.w + r * a.H * a.K);
    for (int64_t c = 0; c < a.C; ++c) {
      const int64_t h = a.interleaved_heads ? c % a.H : c / R;
      double acc = a.bias ? a.bias[c] : 0.0;
      for (int64_t k = 0; k < a.K; ++k) {
        const int64_t src = t + k - a.padding_l;
        if (src < 0 || src >= a.T) continue;
        acc += w[static_cast<size_t>(h * a.K + k)] * a.x[(b * a.T + src) * a.C + c];
      }
      a.y[r * a.C + c] = static_cast<float>(acc);
    }
  }
}

}  // namespace

Status lightconv_check(const LightConvArgs& a) {
  if (a.B < 0 || a.T < 0 || a.C <= 0 || a.H <= 0 || a.K <= 0)
    return Status::Error(StatusCode::kInvalidArgument,
                         "lightconv: B, T >= 0 and C, H, K > 0 required, got B=" + std::to_string(a.B) +
                             " T=" + std::to_string(a.T) + " C=" + std::to_string(a.C) + " H=" + std::to_string(a.H) +
                             " K=" + std::to_string(a.K));
  if (a.C % a.H != 0)
    return Status::Error(StatusCode::kShape, "lightconv: channels " + std::to_string(a.C) +
                                                 " must be a multiple of heads " + std::to_string(a.H));
  if (a.padding_l < 0 || a.padding_l >= a.K)
    return Status::Error(
        StatusCode::kInvalidArgument,
        "lightconv: padding_l must be in [0, K = " + std::to_string(a.K) + "), got " + std::to_string(a.padding_l));
  int64_t bt = 0, n = 0, hk = 0;
  if (!mul_ok(a.B, a.T, &bt) || !mul_ok(bt, a.C, &n)) return too_large("B * T * C");
  if (!mul_ok(a.H, a.K, &hk)) return too_large("H * K");
  if (a.per_position && !mul_ok(bt, hk, &n)) return too_large("B * T * H * K");
  if (bt > 0 && (!a.x || !a.y || !a.w)) return Status::Error(StatusCode::kInvalidArgument, "lightconv: null pointer");
  return Status::Ok();
}

Status lightconv_ref(const LightConvArgs& a) {
  CONVBERT_RETURN_IF_ERROR(lightconv_check(a));
  try {
    std::vector<double> w(static_cast<size_t>(a.H * a.K));
    lightconv_rows(a, 0, a.B * a.T, w);
  } catch (const std::bad_alloc&) {
    return Status::Error(StatusCode::kOutOfMemory,
                         "lightconv: out of memory for " + std::to_string(a.H * a.K) + " taps");
  }
  return Status::Ok();
}

Status lightconv_cpu(const LightConvArgs& a) {
  CONVBERT_RETURN_IF_ERROR(lightconv_check(a));
  const int64_t rows = a.B * a.T;
  if (rows == 0) return Status::Ok();
  // A chunk is worth a thread once it holds ~16K multiply-adds.
  const int64_t per_row = std::max<int64_t>(1, a.C * a.K);
  const int64_t grain = std::max<int64_t>(1, 16384 / per_row);
  std::atomic<bool> oom{false};
  parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
    try {
      std::vector<double> w(static_cast<size_t>(a.H * a.K));
      lightconv_rows(a, r0, r1, w);
    } catch (const std::bad_alloc&) {
      oom.store(true, std::memory_order_relaxed);
    }
  });
  if (oom.load())
    return Status::Error(StatusCode::kOutOfMemory,
                         "lightconv: out of memory for " + std::to_string(a.H * a.K) + " taps");
  return Status::Ok();
}

}  // namespace convbert
