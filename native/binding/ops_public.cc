// ops_public.cc: the public single ops (lib/ops.ts): lightweight and dynamic
// convolution (Wu et al. 2019, fairseq semantics) on the CPU (lightconv_cpu) or a
// CUDA device (lightconv_cuda_host). lib/ops.ts validates the Tensors and allocates y;
// this file re-checks every length against the sizes (TypeError / RangeError), copies
// the inputs (the caller may change them once the call returns) and runs the op on a
// libuv thread (lightconvRun, a Promise) or on the calling thread (lightconvRunSync).
#include <exception>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "addon.h"
#include "convbert/cuda_backend.h"

namespace convbert {
namespace {

constexpr int64_t kMaxElems = 9007199254740991;  // 2^53 - 1

[[noreturn]] void Type(Napi::Env env, const std::string& msg) { throw Napi::TypeError::New(env, msg); }
[[noreturn]] void Range(Napi::Env env, const std::string& msg) { throw Napi::RangeError::New(env, msg); }

int64_t Int(Napi::Object o, const char* name, int64_t lo, int64_t hi) {
  Napi::Value v = o.Get(name);
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1e300;
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != static_cast<double>(static_cast<int64_t>(d)))
    Range(o.Env(), std::string("lightconv: ") + name + " must be an integer in [" + std::to_string(lo) + ", " +
                       std::to_string(hi) + "]");
  return static_cast<int64_t>(d);
}

int64_t Mul(Napi::Env env, const char* what, int64_t a, int64_t b) {
  if (a != 0 && b > kMaxElems / a) Range(env, std::string("lightconv: ") + what + " is over 2^53 - 1 elements");
  return a * b;
}

// A Float32Array of exactly n elements over a live, unshared ArrayBuffer (null when optional and absent).
float* F32(Napi::Object o, const char* name, int64_t n, bool optional) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined() || v.IsNull()) {
    if (optional) return nullptr;
    Type(o.Env(), std::string("lightconv: ") + name + " is required");
  }
  TypedArrayView ta;
  if (!ReadTypedArray(v, &ta) || ta.type != napi_float32_array)
    Type(o.Env(), std::string("lightconv: ") + name + " must be a Float32Array");
  if (ta.problem) Type(o.Env(), std::string("lightconv: ") + name + " must be a Float32Array over an ArrayBuffer, got " + ta.problem);
  if (static_cast<int64_t>(ta.length) != n)
    Range(o.Env(), std::string("lightconv: ") + name + " must have " + std::to_string(n) + " elements, got " +
                       std::to_string(ta.length));
  return static_cast<float*>(ta.data);
}

// One request read from JS: sizes, the device (-1: CPU), and the input and output pointers.
struct Request {
  LightConvArgs args;
  int device = -1;
  int64_t nx = 0, nw = 0;
};

Request Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) Type(env, "lightconv(opts): opts must be an object");
  Napi::Object o = info[0].As<Napi::Object>();
  Request r;
  LightConvArgs& a = r.args;
  a.B = Int(o, "B", 0, kMaxElems);
  a.T = Int(o, "T", 0, kMaxElems);
  a.C = Int(o, "C", 1, kMaxElems);
  a.H = Int(o, "H", 1, kMaxElems);
  a.K = Int(o, "K", 1, kMaxElems);
  a.padding_l = Int(o, "padding_l", 0, a.K - 1);
  a.per_position = o.Get("per_position").ToBoolean().Value();
  a.softmax = o.Get("softmax").ToBoolean().Value();
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
  auto overlaps = [&](const float* p, int64_t n) {
    return p && n > 0 && r.nx > 0 && p < a.y + r.nx && a.y < p + n;
  };
  if (overlaps(a.x, r.nx) || overlaps(a.w, r.nw) || overlaps(a.bias, a.C))
    Range(env, "lightconv: y must not share memory with x, w or bias");
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
