// ops_internal.cc: single ops callable from JS, for the op tests and bench/ops
// only (not part of the public API: built into the test addon convbert_test.node,
// never into the shipped convbert.node). Each takes an explicit path name
// ('generic' | 'avx2' | 'avx512' | 'cuda') so tests cover every path this
// machine has, and runs synchronously on the calling thread.
#include <string>

#include "../addon.h"
#include "../args.h"
#include "convbert/cpu.h"
#include "convbert/cuda_backend.h"

namespace convbert {
namespace {

// opActivation(x: Float32Array, y: Float32Array, bias: Float32Array | null, C, act, path) -> path used
Napi::Value OpActivation(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t C = args::Int(args::At(info, 3), "opActivation: C", 1);
  int64_t n = 0;
  float* x = args::F32(args::At(info, 0), "opActivation: x", -1, false, &n);
  float* y = args::F32(args::At(info, 1), "opActivation: y", n);
  if (n % C != 0)
    args::Throw(
        env, StatusCode::kShape,
        "opActivation: x: expected a multiple of C = " + std::to_string(C) + " elements, got " + std::to_string(n));
  const float* bias = args::F32(args::At(info, 2), "opActivation: bias", C, true);
  // The code is passed through: the op refuses one that is not an Activation (a test checks it).
  const int64_t act = args::Int(args::At(info, 4), "opActivation: act", 0, 1 << 20);
  const std::string path = args::Choice(args::At(info, 5), "opActivation: path", {"generic", "avx2", "avx512", "cuda"});
  const bool cuda = path == "cuda";
  const Isa isa = path == "avx512" ? Isa::kAvx512 : path == "avx2" ? Isa::kAvx2 : Isa::kGeneric;
  ActivationArgs a;
  a.x = x;
  a.y = y;
  a.bias = bias;
  a.C = C;
  a.rows = n / C;
  a.act = static_cast<Activation>(act);
  Status st;
  std::string used;
  if (cuda) {
    st = activation_cuda_host(a, cuda_info().default_device >= 0 ? cuda_info().default_device : 0);
    used = "cuda";
  } else {
    const OpTable& ops = cpu_ops(isa);
    st = activation(ops, a);
    used = ops.name;
  }
  args::Check(env, st);
  return Napi::String::New(env, used);
}

void InitActivationOp(Napi::Env env, Napi::Object exports) {
  exports.Set("opActivation", Napi::Function::New(env, OpActivation, "opActivation"));
}

BindingRegistrar reg("ActivationOp", &InitActivationOp);

}  // namespace
}  // namespace convbert
