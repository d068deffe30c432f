// activation.cc: elementwise activations of Hugging Face's ACT2FN, with an
// optional per-column bias added first (the FFN's dense bias).
// x, y: (rows, C) row-major floats. activation_row_ref is the reference and the
// portable path: it evaluates in double, so it is the most accurate of the three.
#include <algorithm>
#include <cmath>

#include "convbert/ops.h"
#include "convbert/thread_pool.h"
#include "kernels_isa.h"

namespace convbert {

namespace {
double act_ref(double v, int32_t act) {
  switch (static_cast<Activation>(act)) {
    case Activation::kIdentity: return v;
    case Activation::kGeluErf: return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    case Activation::kGeluTanh: {
      const double k = std::sqrt(2.0 / M_PI);
      return 0.5 * v * (1.0 + std::tanh(k * (v + 0.044715 * v * v * v)));
    }
    case Activation::kQuickGelu: return v / (1.0 + std::exp(-1.702 * v));
    case Activation::kRelu: return v > 0 ? v : 0.0;
    case Activation::kRelu6: return std::min(std::max(v, 0.0), 6.0);
    case Activation::kRelu2: return v > 0 ? v * v : 0.0;
    case Activation::kSilu: return v / (1.0 + std::exp(-v));
    case Activation::kSigmoid: return 1.0 / (1.0 + std::exp(-v));
    case Activation::kTanh: return std::tanh(v);
    case Activation::kMish: return v * std::tanh(std::log1p(std::exp(v)));
    case Activation::kGelu10: {
      double g = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
      return std::min(std::max(g, -10.0), 10.0);
    }
    case Activation::kLaplace: {
      const double mu = 0.707107, sigma = 0.282095;
      return 0.5 * (1.0 + std::erf((v - mu) / (sigma * std::sqrt(2.0))));
    }
    case Activation::kLeakyRelu: return v >= 0 ? v : 0.01 * v;
    case Activation::kCount: break;
  }
  return v;
}
}  // namespace

void activation_row_ref(const float* x, float* y, const float* bias, int64_t C, int32_t act) {
  for (int64_t c = 0; c < C; ++c) {
    double v = static_cast<double>(x[c]) + (bias ? static_cast<double>(bias[c]) : 0.0);
    // mish's softplus overflows exp() past ~700; it equals v there.
    if (static_cast<Activation>(act) == Activation::kMish && v > 30.0) {
      y[c] = static_cast<float>(v * std::tanh(v));
      continue;
    }
    y[c] = static_cast<float>(act_ref(v, act));
  }
}

Status activation(const OpTable& ops, const ActivationArgs& a) {
  if (a.rows < 0 || a.C < 0 || (a.rows * a.C > 0 && (!a.x || !a.y)))
    return Status::Error(StatusCode::kInvalidArgument, "activation: bad arguments");
  if (static_cast<int32_t>(a.act) < 0 || a.act >= Activation::kCount)
    return Status::Error(StatusCode::kInvalidArgument, "activation: unknown activation kind");
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, a.C));
  parallel_for(a.rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      ops.activation_row(a.x + r * a.C, a.y + r * a.C, a.bias, a.C, static_cast<int32_t>(a.act));
  });
  return Status::Ok();
}

}  // namespace convbert
