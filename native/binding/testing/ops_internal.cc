// ops_internal.cc: single ops callable from JS, for the op tests and bench/ops
// only (not part of the public API). Each takes an explicit path name
// ('generic' | 'avx2' | 'avx512' | 'cuda') so tests cover every path this
// machine has, and runs synchronously on the calling thread.
#include <string>

#include "addon.h"
#include "convbert/cpu.h"
#include "convbert/cuda_backend.h"

namespace convbert {
namespace {

bool ParsePath(const std::string& s, Isa* isa, bool* cuda) {
  *cuda = false;
  if (s == "generic") *isa = Isa::kGeneric;
  else if (s == "avx2") *isa = Isa::kAvx2;
  else if (s == "avx512") *isa = Isa::kAvx512;
  else if (s == "cuda") *cuda = true;
  else return false;
  return true;
}

}  // namespace

// opActivation(x: Float32Array, y: Float32Array, bias: Float32Array | null, C, act, path) -> path used
Napi::Value Addon::OpActivation(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 6 || !info[0].IsTypedArray() || !info[1].IsTypedArray() || !info[3].IsNumber() ||
      !info[4].IsNumber() || !info[5].IsString()) {
    ThrowArg(env, false, "opActivation(x, y, bias, C, act, path): bad argument types");
    return env.Undefined();
  }
  auto x = info[0].As<Napi::TypedArray>();
  auto y = info[1].As<Napi::TypedArray>();
  if (x.TypedArrayType() != napi_float32_array || y.TypedArrayType() != napi_float32_array) {
    ThrowArg(env, false, "opActivation: x and y must be Float32Array");
    return env.Undefined();
  }
  const int64_t n = static_cast<int64_t>(x.ElementLength());
  const int64_t C = info[3].As<Napi::Number>().Int64Value();
  if (static_cast<int64_t>(y.ElementLength()) != n || C <= 0 || n % C != 0) {
    ThrowArg(env, true, "opActivation: y must have x's length, and C must divide it");
    return env.Undefined();
  }
  const float* bias = nullptr;
  if (!info[2].IsNull() && !info[2].IsUndefined()) {
    if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
        static_cast<int64_t>(info[2].As<Napi::TypedArray>().ElementLength()) != C) {
      ThrowArg(env, true, "opActivation: bias must be a Float32Array of length C");
      return env.Undefined();
    }
    auto b = info[2].As<Napi::Float32Array>();
    bias = b.Data();
  }
  Isa isa = Isa::kGeneric;
  bool cuda = false;
  const std::string path = info[5].As<Napi::String>().Utf8Value();
  if (!ParsePath(path, &isa, &cuda)) {
    ThrowArg(env, true, "opActivation: path must be generic|avx2|avx512|cuda, got " + path);
    return env.Undefined();
  }
  ActivationArgs a;
  a.x = x.As<Napi::Float32Array>().Data();
  a.y = y.As<Napi::Float32Array>().Data();
  a.bias = bias;
  a.C = C;
  a.rows = n / C;
  a.act = static_cast<Activation>(info[4].As<Napi::Number>().Int32Value());
  Status st;
  std::string used;
  if (cuda) {
    st = activation_cuda_host(a, 0);
    used = "cuda";
  } else {
    const OpTable& ops = cpu_ops(isa);
    st = activation(ops, a);
    used = ops.name;
  }
  if (!st.ok()) {
    MakeError(env, st).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::String::New(env, used);
}

}  // namespace convbert
