// ops.h: the op interface both backends implement (cpu/ and cuda/).
// One Args struct per op family, each field group commented with its meaning,
// shape and units. The engine is written once against OpTable.
#pragma once
#include <cstdint>

#include "convbert/status.h"

namespace convbert {

// Every hidden_act in Hugging Face's ACT2FN that has no parameters.
enum class Activation : int32_t {
  kIdentity = 0,     // "linear"
  kGeluErf = 1,      // "gelu", "gelu_python": 0.5 x (1 + erf(x / sqrt 2))
  kGeluTanh = 2,     // "gelu_new", "gelu_fast", "gelu_pytorch_tanh", "gelu_accurate"
  kQuickGelu = 3,    // "quick_gelu": x * sigmoid(1.702 x)
  kRelu = 4,         // "relu"
  kRelu6 = 5,        // "relu6"
  kRelu2 = 6,        // "relu2": relu(x)^2
  kSilu = 7,         // "silu", "swish"
  kSigmoid = 8,      // "sigmoid"
  kTanh = 9,         // "tanh"
  kMish = 10,        // "mish": x * tanh(softplus(x))
  kGelu10 = 11,      // "gelu_10": gelu clipped to [-10, 10]
  kLaplace = 12,     // "laplace": 0.5 (1 + erf((x - 0.707107) / (0.282095 sqrt 2)))
  kLeakyRelu = 13,   // "leaky_relu": negative slope 0.01
  kCount = 14,
};

// activation: y[i] = act(x[i] + bias[i % C]), in place allowed (x == y).
struct ActivationArgs {
  // x, y: n floats, row-major (rows, C); bias: C floats or null.
  const float* x = nullptr;
  float* y = nullptr;
  const float* bias = nullptr;
  int64_t rows = 0;
  int64_t C = 0;
  Activation act = Activation::kIdentity;
};

// A row kernel: applies the activation to C elements of one row.
using ActivationRowFn = void (*)(const float* x, float* y, const float* bias, int64_t C, int32_t act);

struct OpTable {
  const char* name = "generic";       // which path filled the table: generic, avx2, avx512, cuda
  ActivationRowFn activation_row = nullptr;
};

// Drivers: split the work across the engine's thread pool and call the table's row kernels.
Status activation(const OpTable& ops, const ActivationArgs& args);

}  // namespace convbert
