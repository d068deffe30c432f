// ops_public.cc: the public single ops (lib/ops.ts): lightweight and dynamic
// convolution (Wu et al. 2019, fairseq semantics) on the CPU (lightconv_cpu) or a
// CUDA device (lightconv_cuda_host). lib/ops.ts validates the Tensors and allocates y;
// this file re-checks every length against the sizes (args.h: ConvBertError naming it), copies
// the inputs (the caller may change them once the call returns) and runs the op on a
// libuv thread (lightconvRun, a Promise) or on the calling thread (lightconvRunSync).
#include <exception>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "addon.h"
#include "args.h"
#include "convbert/cuda_backend.h"

namespace convbert {
namespace {

constexpr int64_t kMaxElems = args::kMaxSafe;

// Every reader is args.h's; names read "lightconv: <name>".
std::string Name(const char* name) { return std::string("lightconv: ") + name; }
int64_t Int(Napi::Object o, const char* name, int64_t lo, int64_t hi) {
  return args::Int(o.Get(name), Name(name), lo, hi);
}
int64_t Mul(Napi::Env env, const char* what, int64_t a, int64_t b) { return args::Mul(env, Name(what), a, b); }
float* F32(Napi::Object o, const char* name, int64_t n, bool optional) {
  return args::F32(o.Get(name), Name(name), n, optional);
}

// One request read from JS: sizes, the device (-1: CPU), and the input and output pointers.
struct Request {
  LightConvArgs args;
  int device = -1;
  int64_t nx = 0, nw = 0;
};

Request Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = args::Opts(info, "lightconv");
  Request r;
  LightConvArgs& a = r.args;
  a.B = Int(o, "B", 0, kMaxElems);
  a.T = Int(o, "T", 0, kMaxElems);
  a.C = Int(o, "C", 1, kMaxElems);
  a.H = Int(o, "H", 1, kMaxElems);
  a.K = Int(o, "K", 1, kMaxElems);
  a.padding_l = Int(o, "padding_l", 0, a.K - 1);
  a.per_position = args::Bool(o.Get("per_position"), Name("per_position"));
  a.softmax = args::Bool(o.Get("softmax"), Name("softmax"));
  r.device = static_cast<int>(Int(o, "device", -1, 1 << 20));
  r.nx = Mul(env, "B * T * C", Mul(env, "B * T * C", a.B, a.T), a.C);
  r.nw = a.per_position ? Mul(env, "B * T * H * K", Mul(env, "B * T * H * K", a.B, a.T), Mul(env, "H * K", a.H, a.K))
                        : Mul(env, "H * K", a.H, a.K);
  a.x = F32(o, "x", r.nx, false);
  a.w = F32(o, "w", r.nw, false);
  a.bias = F32(o, "bias", a.C, true);
  a.y = F32(o, "y", r.nx, false);
  // The op reads x rows after it wrote earlier y rows (and CUDA reads w while blocks write y),
  // so y must not share memory with any input.
  auto overlaps = [&](const float* p, int64_t n) { return p && n > 0 && r.nx > 0 && p < a.y + r.nx && a.y < p + n; };
  if (overlaps(a.x, r.nx) || overlaps(a.w, r.nw) || overlaps(a.bias, a.C))
    args::Throw(env, StatusCode::kInvalidArgument,
                "lightconv: y: expected memory apart from x, w and bias, got an overlap");
  return r;
}

Status Run(const Request& r) {
  try {
    return r.device < 0 ? lightconv_cpu(r.args) : lightconv_cuda_host(r.args, r.device);
  } catch (const std::bad_alloc&) {
    return Status::Error(StatusCode::kOutOfMemory, "lightconv: out of memory");
  } catch (const std::exception& e) {
    return Status::Error(StatusCode::kInternal, std::string("lightconv: ") + e.what());
  }
}

// Copies of x, w and bias, owned by the worker: JS may change or transfer its arrays
// as soon as lightconvRun returns.
class LightconvWorker : public Napi::AsyncWorker {
 public:
  LightconvWorker(Napi::Env env, Request r, std::vector<float> x, std::vector<float> w, std::vector<float> bias,
                  Napi::Value y)
      : Napi::AsyncWorker(env, "convbert.lightconv"),
        deferred_(Napi::Promise::Deferred::New(env)),
        req_(std::move(r)),
        x_(std::move(x)),
        w_(std::move(w)),
        bias_(std::move(bias)),
        y_(Napi::Persistent(y)) {
    req_.args.x = x_.data();
    req_.args.w = w_.data();
    req_.args.bias = req_.args.bias ? bias_.data() : nullptr;
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    status_ = Run(req_);
    if (!status_.ok()) SetError(status_.message);
  }
  // As in forward_worker.cc: during a worker_thread's teardown N-API calls throw; nobody can
  // observe the promise then, so the failure is dropped instead of reaching libuv.
  void OnOK() override {
    Napi::Env env = Env();
    Release();
    try {
      deferred_.Resolve(env.Undefined());
    } catch (const Napi::Error&) {
    }
  }
  void OnError(const Napi::Error& e) override {
    Napi::Env env = Env();
    Release();
    try {
      if (status_.ok()) deferred_.Reject(e.Value());
      else deferred_.Reject(Addon::Of(env)->MakeError(env, status_).Value());
    } catch (const Napi::Error&) {
    }
  }

 private:
  void Release() {
    try {
      y_.Reset();
    } catch (const Napi::Error&) {
    }
  }
  Napi::Promise::Deferred deferred_;
  Request req_;
  std::vector<float> x_, w_, bias_;
  Napi::Reference<Napi::Value> y_;
  Status status_;
};

// lightconvRun({x, w, bias?, y, B, T, C, H, K, padding_l, per_position, softmax, device}) -> Promise<undefined>:
// writes y (B, T, C). device -1 runs on the CPU pool, N >= 0 on CUDA device N.
Napi::Value LightconvRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Request r = Read(info);
  std::vector<float> x, w, bias;
  try {
    x.assign(r.args.x, r.args.x + r.nx);
    w.assign(r.args.w, r.args.w + r.nw);
    if (r.args.bias) bias.assign(r.args.bias, r.args.bias + r.args.C);
  } catch (const std::bad_alloc&) {
    throw Addon::Of(env)->MakeError(
        env, Status::Error(StatusCode::kOutOfMemory, "lightconv: out of memory copying x (" + std::to_string(r.nx) +
                                                         " floats) and weight (" + std::to_string(r.nw) + " floats)"));
  }
  auto* worker = new LightconvWorker(env, std::move(r), std::move(x), std::move(w), std::move(bias),
                                     info[0].As<Napi::Object>().Get("y"));
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

// lightconvRunSync(same opts) -> undefined: the same op on the calling thread (worker_threads).
Napi::Value LightconvRunSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Request r = Read(info);
  const Status st = Run(r);
  if (!st.ok()) throw Addon::Of(env)->MakeError(env, st);
  return env.Undefined();
}

void InitOpsPublic(Napi::Env env, Napi::Object exports) {
  exports.Set("lightconvRun", Napi::Function::New(env, LightconvRun, "lightconvRun"));
  exports.Set("lightconvRunSync", Napi::Function::New(env, LightconvRunSync, "lightconvRunSync"));
}

static BindingRegistrar reg("OpsPublic", &InitOpsPublic);

}  // namespace
}  // namespace convbert
