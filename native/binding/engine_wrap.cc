// engine_wrap.cc: addon.Engine, the native half of lib/engine_types.ts
// (EngineSpec, ForwardRequest, NativeEngine): the object's lifecycle and dispatch;
// reading its options, spec and requests is engine_parse.cc's. The constructor copies and packs
// the weights; forward(req) copies the request's input arrays (the queued work
// must not read JS memory that JS may change or transfer once the promise is
// returned), re-checks them (type, length = product of dims, ids in range, masks
// and embeddings finite; none over a SharedArrayBuffer or detached) and queues a
// ForwardWorker; forwardSync reads them in place on the calling thread;
// dispose() frees native memory at once (a forward in flight keeps the model
// alive until it ends); the ObjectWrap finalizer frees it otherwise.
// Every request is validated once, in Parse (engine.h validate_forward), before it reaches
// the engine's ForwardTarget (CPU or CUDA), which walks the one plan.
// A second constructor argument { device, dtype, tf32, isa } places the engine:
// device 'cpu' (default) | 'cuda' (= 'cuda:0') | 'cuda:N' hands the built Model to
// cuda_engine_create (weights resident on that device; forwards run there); dtype
// 'float32' (default) | 'float16' | 'bfloat16' is the CUDA gemm weight type; the
// CPU engine runs 'float32', 'bfloat16' (linear layers packed as bf16, fp32
// accumulation: AVX512_BF16 when the CPU has it, else the fp32 kernels on the
// same bf16 values) and 'int8' (linear layers quantised per output channel,
// activations per row, int32 sums: AVX512_VNNI, else AVX2 or scalar, same
// integers), refuses 'float16' on the CPU and 'int8' on CUDA with ERR_CONVBERT_UNSUPPORTED; tf32
// opts float32 CUDA gemms into TF32. In a CPU-only build the CUDA stub refuses
// with its one-line reason. isa: 'generic' | 'avx2' | 'avx512' picks a CPU kernel
// path (tests only; the default is the process's active path).
// modulesToNotConvert: HF module names whose linear layers the CPU engine keeps
// in float32 whatever dtype is (engine.h build_model; refused on CUDA). Getters: dtype
// (the weight type in use), modulesToNotConvert (the linear modules so kept, by full name) and gemmKernel (the linear layers' block kernel:
// 'avx512_bf16' for the native bf16 path; for int8 'avx512_vnni', 'avx2' or
// 'generic'; else the fp32 path's isa name).
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "addon.h"
#include "args.h"
#include "convbert/cpu.h"
#include "convbert/cuda_backend.h"
#include "convbert/engine.h"
#include "engine_parse.h"
#include "forward_worker.h"

namespace convbert {
namespace {

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function cls =
        DefineClass(env, "Engine",
                    {
                        InstanceMethod("forward", &EngineWrap::Forward),
                        InstanceMethod("forwardSync", &EngineWrap::ForwardSync),
                        InstanceMethod("dispose", &EngineWrap::Dispose),
                        InstanceAccessor("nativeBytes", &EngineWrap::NativeBytes, nullptr),
                        InstanceAccessor("isa", &EngineWrap::IsaName, nullptr),
                        InstanceAccessor("device", &EngineWrap::DeviceName, nullptr),
                        InstanceAccessor("dtype", &EngineWrap::DtypeName, nullptr),
                        InstanceAccessor("gemmKernel", &EngineWrap::GemmKernel, nullptr),
                        InstanceAccessor("modulesToNotConvert", &EngineWrap::ModulesToNotConvert, nullptr),
                    });
    exports.Set("Engine", cls);
  }

  explicit EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineWrap>(info) {
    try {
      Construct(info);
    } catch (const Napi::Error& e) {
      // See Guard below: the environment is going away.
      if (!e.IsEmpty()) napi_throw(info.Env(), e.Value());
    }
  }

  void Construct(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject())
      args::Throw(env, StatusCode::kInvalidArgument,
                  "Engine(spec): spec: expected an object, got " + args::Describe(args::At(info, 0)));
    const EngineOptions opts = ParseEngineOptions(env, args::At(info, 1));
    ops_ = opts.ops;
    const bool use_cuda = opts.use_cuda;
    const CudaEngineOptions& copts = opts.copts;
    Napi::Object spec = info[0].As<Napi::Object>();
    EngineConfig c;
    HeadConfig h;
    ParseSpec(spec, &c, &h);
    Napi::Object tw = spec.Get("weights").As<Napi::Object>();
    Napi::Object hw = spec.Get("head").As<Napi::Object>().Get("weights").As<Napi::Object>();
    // Each weight is read exactly once, inside its own handle scope, and no
    // reference is kept: spec.weights may be an object of lazy getters that
    // load one tensor at a time, so peak memory stays near one copy.
    std::shared_ptr<Model> model;
    // On CUDA the host Model stays fp32 (cuda_engine_create converts per copts.dtype).
    const Dtype host_dtype = use_cuda ? Dtype::kFloat32 : opts.dtype;
    dtype_ = dtype_name(opts.dtype);
    // A bad weight stops build_model through a null return: no exception crosses the engine.
    Napi::Error weight_error;
    Status st = build_model(
        c, h,
        [&](const WeightSpec& w) -> const float* {
          Napi::HandleScope scope(env);
          const std::string where = std::string(w.head ? "spec.head.weights[" : "spec.weights[") + "'" + w.name + "']";
          try {
            return ReadWeight((w.head ? hw : tw).Get(w.name), where, w.numel);
          } catch (const Napi::Error& e) {
            weight_error = e;
            return nullptr;
          }
        },
        &model, host_dtype, opts.modules_to_not_convert);
    if (!weight_error.IsEmpty()) throw weight_error;
    args::Check(env, st);
    if (use_cuda) {
      std::shared_ptr<CudaEngine> ce;
      args::Check(env, cuda_engine_create(*model, copts, &ce));
      target_ = cuda_engine_target(ce);
      cuda_ = std::move(ce);
      device_ = "cuda:" + std::to_string(copts.device);
    } else {
      target_ = std::make_shared<CpuTarget>(*ops_);
    }
    float32_modules_ = model->float32_modules;
    model_ = std::move(model);
    Napi::MemoryManagement::AdjustExternalMemory(env, model_->weight_bytes());
    adjusted_ = model_->weight_bytes();
  }

  // The GC finalizer of a forgotten Engine: give the weights back and tell V8.
  void Finalize(Napi::BasicEnv env) override {
    if (adjusted_) Napi::MemoryManagement::AdjustExternalMemory(env, -adjusted_);
    adjusted_ = 0;
    target_.reset();
    cuda_.reset();
    model_.reset();
  }

 private:
  // Reads one request into job (engine_parse.h ParseRequest, which validates it once);
  // a disposed engine refuses it first.
  void Parse(Napi::Env env, Napi::Value reqv, ForwardJob* job, std::vector<Napi::Reference<Napi::Value>>* keep,
             ForwardInputs* own) {
    if (!model_)
      args::Throw(env, StatusCode::kInvalidArgument, "Engine: used after dispose()", "ERR_CONVBERT_DISPOSED");
    ParseRequest(env, *model_, reqv, job, keep, own);
  }

  // Entry points. A worker_thread terminated while it is inside one of them makes
  // every N-API call fail; node-addon-api then throws Napi::Error, and throwing
  // that into JS fails too, which would escape as std::terminate. Such an error
  // is thrown with the plain C call (its failure ignored: the thread is going away).
  template <Napi::Value (EngineWrap::*Impl)(const Napi::CallbackInfo&)>
  Napi::Value Guard(const Napi::CallbackInfo& info) {
    try {
      return (this->*Impl)(info);
    } catch (const Napi::Error& e) {
      if (!e.IsEmpty()) napi_throw(info.Env(), e.Value());
      return Napi::Value();
    }
  }
  Napi::Value Forward(const Napi::CallbackInfo& info) { return Guard<&EngineWrap::ForwardImpl>(info); }
  Napi::Value ForwardSync(const Napi::CallbackInfo& info) { return Guard<&EngineWrap::ForwardSyncImpl>(info); }
  Napi::Value Dispose(const Napi::CallbackInfo& info) { return Guard<&EngineWrap::DisposeImpl>(info); }
  Napi::Value NativeBytes(const Napi::CallbackInfo& info) { return Guard<&EngineWrap::NativeBytesImpl>(info); }
  Napi::Value IsaName(const Napi::CallbackInfo& info) { return Guard<&EngineWrap::IsaNameImpl>(info); }
  Napi::Value DeviceName(const Napi::CallbackInfo& info) { return Guard<&EngineWrap::DeviceNameImpl>(info); }
  Napi::Value DtypeName(const Napi::CallbackInfo& info) { return Guard<&EngineWrap::DtypeNameImpl>(info); }
  Napi::Value ModulesToNotConvert(const Napi::CallbackInfo& info) {
    return Guard<&EngineWrap::ModulesToNotConvertImpl>(info);
  }
  Napi::Value GemmKernel(const Napi::CallbackInfo& info) { return Guard<&EngineWrap::GemmKernelImpl>(info); }

  Napi::Value ForwardImpl(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ForwardJob job;
    std::vector<Napi::Reference<Napi::Value>> keep;
    ForwardInputs own;
    Napi::Error err;
    try {
      Parse(env, args::At(info, 0), &job, &keep, &own);
    } catch (const Napi::Error& e) {
      err = e;
    } catch (const std::bad_alloc&) {
      err = Addon::Of(env)->MakeError(
          env, Status::Error(StatusCode::kOutOfMemory, "forward: out of memory copying the inputs"));
    }
    if (!err.IsEmpty()) {
      auto d = Napi::Promise::Deferred::New(env);
      d.Reject(err.Value());
      return d.Promise();
    }
    keep.push_back(Napi::Persistent(info.This()));  // the Engine outlives its forwards
    return QueueForward(env, model_, target_, std::move(job), std::move(own), std::move(keep));
  }

  Napi::Value ForwardSyncImpl(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ForwardJob job;
    Parse(env, args::At(info, 0), &job, nullptr, nullptr);
    args::Check(env, target_->run(*model_, job));  // validated by Parse
    return env.Undefined();
  }

  Napi::Value DisposeImpl(const Napi::CallbackInfo& info) {
    if (model_) {
      Napi::MemoryManagement::AdjustExternalMemory(info.Env(), -adjusted_);
      adjusted_ = 0;
      target_.reset();  // a forward in flight holds its own references
      cuda_.reset();
      model_.reset();
    }
    return info.Env().Undefined();
  }

  Napi::Value NativeBytesImpl(const Napi::CallbackInfo& info) {
    double n = model_ ? static_cast<double>(model_->weight_bytes() + model_->arena_bytes()) : 0.0;
    if (cuda_) n += static_cast<double>(cuda_engine_weight_bytes(*cuda_) + cuda_engine_arena_bytes(*cuda_));
    return Napi::Number::New(info.Env(), n);
  }

  Napi::Value IsaNameImpl(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), ops_->name); }
  Napi::Value DeviceNameImpl(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), device_); }
  Napi::Value DtypeNameImpl(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), dtype_); }
  Napi::Value ModulesToNotConvertImpl(const Napi::CallbackInfo& info) {
    Napi::Array a = Napi::Array::New(info.Env(), float32_modules_.size());
    for (size_t i = 0; i < float32_modules_.size(); ++i) a.Set(static_cast<uint32_t>(i), float32_modules_[i]);
    return a;
  }
  Napi::Value GemmKernelImpl(const Napi::CallbackInfo& info) {
    const bool bf16 = !cuda_ && dtype_ == "bfloat16" && ops_->gemm_bf16_block;
    if (!cuda_ && dtype_ == "int8") return Napi::String::New(info.Env(), ops_->gemm_i8_name);
    return Napi::String::New(info.Env(), cuda_ ? "cuda" : bf16 ? "avx512_bf16" : ops_->name);
  }

  std::shared_ptr<Model> model_;
  // Set when the engine runs on a CUDA device (device_ 'cuda:N'); model_ still
  // holds the config the request checks need.
  std::shared_ptr<CudaEngine> cuda_;
  // Where forwards run (the CPU op table, or cuda_); Parse has validated every job it is given.
  std::shared_ptr<ForwardTarget> target_;
  std::string device_ = "cpu";
  std::string dtype_ = "float32";
  std::vector<std::string> float32_modules_;  // kept after dispose(), like dtype_
  const OpTable* ops_ = nullptr;
  int64_t adjusted_ = 0;
};

void InitEngine(Napi::Env env, Napi::Object exports) { EngineWrap::Init(env, exports); }

BindingRegistrar reg("Engine", &InitEngine);

}  // namespace
}  // namespace convbert
