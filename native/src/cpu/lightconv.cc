// lightconv.cc: lightweight and dynamic convolution (Wu et al. 2019, fairseq's
// LightweightConv1dTBC / DynamicConv1dTBC forward), batch-major:
//   y[b,t,c] = Σ_k w'[head(c), k] · x[b, t + k - padding_l, c] (+ bias[c]), zeros outside [0, T).
// w' is softmax_k(w) when softmax is set; w is (H, K) or, per position, (B, T, H, K).
// lightconv_ref is the plain reference (double accumulation) for cuda/lightconv.cu.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "convbert/cuda_backend.h"

namespace convbert {

Status lightconv_check(const LightConvArgs& a) {
  if (a.B < 0 || a.T < 0 || a.C <= 0 || a.H <= 0 || a.K <= 0)
    return Status::Error(StatusCode::kInvalidArgument, "lightconv: B, T >= 0 and C, H, K > 0 required");
  if (a.C % a.H != 0)
    return Status::Error(StatusCode::kInvalidArgument, "lightconv: channels " + std::to_string(a.C) +
                                                           " must be a multiple of heads " + std::to_string(a.H));
  if (a.padding_l < 0 || a.padding_l >= a.K)
    return Status::Error(StatusCode::kInvalidArgument, "lightconv: padding_l must be in [0, K), got " +
                                                           std::to_string(a.padding_l));
  if (a.B * a.T > 0 && (!a.x || !a.y || !a.w))
    return Status::Error(StatusCode::kInvalidArgument, "lightconv: null pointer");
  return Status::Ok();
}

Status lightconv_ref(const LightConvArgs& a) {
  CONVBERT_RETURN_IF_ERROR(lightconv_check(a));
  const int64_t R = a.C / a.H;
  std::vector<double> w(static_cast<size_t>(a.H * a.K));
  auto load_taps = [&](const float* src) {
    for (int64_t h = 0; h < a.H; ++h) {
      double* wh = w.data() + h * a.K;
      for (int64_t k = 0; k < a.K; ++k) wh[k] = src[h * a.K + k];
      if (!a.softmax) continue;
      double mx = wh[0];
      for (int64_t k = 1; k < a.K; ++k) mx = std::max(mx, wh[k]);
      double sum = 0.0;
      for (int64_t k = 0; k < a.K; ++k) sum += (wh[k] = std::exp(wh[k] - mx));
      for (int64_t k = 0; k < a.K; ++k) wh[k] /= sum;
    }
  };
  if (!a.per_position) load_taps(a.w);
  for (int64_t b = 0; b < a.B; ++b)
    for (int64_t t = 0; t < a.T; ++t) {
      if (a.per_position) load_taps(a.w + (b * a.T + t) * a.H * a.K);
      for (int64_t c = 0; c < a.C; ++c) {
        const int64_t h = a.interleaved_heads ? c % a.H : c / R;
        double acc = a.bias ? a.bias[c] : 0.0;
        for (int64_t k = 0; k < a.K; ++k) {
          const int64_t src = t + k - a.padding_l;
          if (src < 0 || src >= a.T) continue;
          acc += w[static_cast<size_t>(h * a.K + k)] * a.x[(b * a.T + src) * a.C + c];
        }
        a.y[(b * a.T + t) * a.C + c] = static_cast<float>(acc);
      }
    }
  return Status::Ok();
}

}  // namespace convbert
