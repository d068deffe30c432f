// engine_wrap.cc: addon.Engine, the native half of lib/models/engine_types.ts
// (EngineSpec, ForwardRequest, NativeEngine). The constructor copies and packs
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
// (the weight type in use), float32Modules (the linear modules so kept) and gemmKernel (the linear layers' block kernel:
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
#include "convbert/cpu.h"
#include "convbert/cuda_backend.h"
#include "convbert/engine.h"
#include "forward_worker.h"

namespace convbert {
namespace {

// A ConvBertError with an explicit code (codes without a StatusCode, such as
// ERR_CONVBERT_DISPOSED and ERR_CONVBERT_WEIGHTS, are set after construction).
Napi::Error CodedError(Napi::Env env, StatusCode base, const char* code, const std::string& msg) {
  Napi::Error e = Addon::Of(env)->MakeError(env, Status::Error(base, msg));
  if (code) e.Value().Set("code", Napi::String::New(env, code));
  return e;
}

struct Fail {
  StatusCode base = StatusCode::kInvalidArgument;
  const char* code = nullptr;
  std::string msg;
};

bool GetInt(Napi::Object o, const char* where, const char* name, int64_t lo, int64_t* out, Fail* f) {
  Napi::Value v = o.Get(name);
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(std::isfinite(d) && d == std::floor(d) && d >= static_cast<double>(lo) && d <= 9007199254740991.0)) {
    f->msg = std::string(where) + name + ": expected an integer >= " + std::to_string(lo);
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

const char* TypeName(napi_typedarray_type t) { return t == napi_float32_array ? "Float32Array" : "Int32Array"; }
const char* Article(napi_typedarray_type t) { return t == napi_int32_array ? "an " : "a "; }

// Reads an optional typed array of exactly n elements; null/undefined -> *out = nullptr.
// copy set: the elements are copied into *copy and *out points there, so the
// caller owns them (a forward queued on the pool must not read JS memory that JS
// may change, transfer or free once forward() has returned). Otherwise *out
// points into the JS array, which keep (when set) references until completion.
// A view over a SharedArrayBuffer or a detached ArrayBuffer is refused.
template <typename T>
bool GetArray(Napi::Value v, const std::string& name, napi_typedarray_type type, int64_t n, bool nullable,
              const T** out, std::vector<Napi::Reference<Napi::Value>>* keep, Fail* f,
              std::vector<T>* copy = nullptr) {
  *out = nullptr;
  if (v.IsNull() || v.IsUndefined()) {
    if (nullable) return true;
    f->msg = name + ": expected " + Article(type) + TypeName(type) + ", got " + (v.IsNull() ? "null" : "undefined");
    return false;
  }
  TypedArrayView ta;
  if (!ReadTypedArray(v, &ta) || ta.type != type) {
    f->code = "ERR_CONVBERT_DTYPE";
    f->base = StatusCode::kDtype;
    f->msg = name + ": expected " + Article(type) + TypeName(type);
    return false;
  }
  if (ta.problem) {
    if (ta.shared)
      f->msg = name + ": expected " + Article(type) + TypeName(type) + " over an ArrayBuffer, got " + ta.problem +
               " (another thread could change it while it is read)";
    else
      f->msg = name + ": expected " + Article(type) + TypeName(type) + " of " + std::to_string(n) + " elements, got " +
               ta.problem;
    return false;
  }
  if (static_cast<int64_t>(ta.length) != n) {
    f->code = "ERR_CONVBERT_SHAPE";
    f->base = StatusCode::kShape;
    f->msg = name + ": expected " + std::to_string(n) + " elements, got " + std::to_string(ta.length);
    return false;
  }
  const T* p = static_cast<const T*>(ta.data);
  if (copy) {
    copy->assign(p, p + n);
    *out = copy->data();
    return true;
  }
  *out = p;
  if (keep) keep->push_back(Napi::Persistent(v));
  return true;
}

// JS spelling of a float for messages (NaN, Infinity, -Infinity, else the number).
std::string JsNumber(float x) {
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x > 0 ? "Infinity" : "-Infinity";
  return std::to_string(x);
}

// Masks and embeddings must be finite: NaN and ±Inf would not give one answer on
// every kernel path (vector clamps map NaN to numbers), and torch's answer for
// them is NaN anyway. dims give the position of the first bad value in the message.
bool CheckFinite(const float* p, const std::vector<int64_t>& dims, const char* name, Fail* f) {
  if (!p) return true;
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  for (int64_t i = 0; i < n; ++i) {
    if (std::isfinite(p[i])) continue;
    std::vector<int64_t> idx(dims.size());
    int64_t r = i;
    for (size_t k = dims.size(); k-- > 0;) {
      idx[k] = r % dims[k];
      r /= dims[k];
    }
    std::string at = "[";
    for (size_t k = 0; k < idx.size(); ++k) at += (k ? ", " : "") + std::to_string(idx[k]);
    f->msg = std::string(name) + ": expected finite values, got " + JsNumber(p[i]) + " at " + at + "]";
    return false;
  }
  return true;
}

bool mask_absent(Napi::Object req) {
  Napi::Value v = req.Get("attention_mask");
  return v.IsNull() || v.IsUndefined();
}

bool out_absent(Napi::Object req, const char* name) {
  Napi::Value o = req.Get("outputs");
  if (!o.IsObject()) return true;
  Napi::Value v = o.As<Napi::Object>().Get(name);
  return v.IsNull() || v.IsUndefined();
}

HeadKind ParseKind(const std::string& s, bool* ok) {
  *ok = true;
  if (s == "none") return HeadKind::kNone;
  if (s == "masked_lm") return HeadKind::kMaskedLM;
  if (s == "sequence_classification") return HeadKind::kSequenceClassification;
  if (s == "token_classification") return HeadKind::kTokenClassification;
  if (s == "question_answering") return HeadKind::kQuestionAnswering;
  if (s == "multiple_choice") return HeadKind::kMultipleChoice;
  *ok = false;
  return HeadKind::kNone;
}

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function cls = DefineClass(env, "Engine",
                                     {
                                         InstanceMethod("forward", &EngineWrap::Forward),
                                         InstanceMethod("forwardSync", &EngineWrap::ForwardSync),
                                         InstanceMethod("dispose", &EngineWrap::Dispose),
                                         InstanceAccessor("nativeBytes", &EngineWrap::NativeBytes, nullptr),
                                         InstanceAccessor("isa", &EngineWrap::IsaName, nullptr),
                                         InstanceAccessor("device", &EngineWrap::DeviceName, nullptr),
                                         InstanceAccessor("dtype", &EngineWrap::DtypeName, nullptr),
                                         InstanceAccessor("gemmKernel", &EngineWrap::GemmKernel, nullptr),
                                         InstanceAccessor("float32Modules", &EngineWrap::Float32Modules, nullptr),
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
    ops_ = &cpu_ops();
    if (info.Length() < 1 || !info[0].IsObject()) {
      ThrowArg(env, false, "Engine(spec): spec must be an object");
      return;
    }
    bool use_cuda = false;
    bool int8 = false;  // dtype 'int8': the CPU engine's int8 linear layers (no CUDA int8 path)
    std::vector<std::string> keep_float32;  // options.modulesToNotConvert (CPU engine only)
    CudaEngineOptions copts;
    if (info.Length() >= 2 && !info[1].IsUndefined() && !info[1].IsNull() && !info[1].IsObject()) {
      CodedError(env, StatusCode::kInvalidArgument, nullptr, "Engine(spec, options): options must be an object").ThrowAsJavaScriptException();
      return;
    }
    if (info.Length() >= 2 && info[1].IsObject()) {
      Napi::Object o = info[1].As<Napi::Object>();
      Napi::Value dev = o.Get("device");
      if (!dev.IsUndefined()) {
        const std::string s = dev.IsString() ? dev.As<Napi::String>().Utf8Value() : std::string("(not a string)");
        bool ok = dev.IsString();
        if (s == "cpu") {
        } else if (s == "cuda") {
          use_cuda = true;
        } else if (ok && s.size() > 5 && s.compare(0, 5, "cuda:") == 0 && s.size() <= 8 &&
                   s.find_first_not_of("0123456789", 5) == std::string::npos && (s.size() == 6 || s[5] != '0')) {
          use_cuda = true;
          copts.device = std::stoi(s.substr(5));
        } else {
          CodedError(env, StatusCode::kInvalidArgument, nullptr, "Engine(spec, options): options.device must be 'cpu', 'cuda' or 'cuda:N', got " + s).ThrowAsJavaScriptException();
          return;
        }
      }
      Napi::Value dt = o.Get("dtype");
      if (!dt.IsUndefined()) {
        const std::string s = dt.IsString() ? dt.As<Napi::String>().Utf8Value() : std::string("(not a string)");
        if (s == "float32") copts.dtype = CudaDtype::kFloat32;
        else if (s == "float16") copts.dtype = CudaDtype::kFloat16;
        else if (s == "bfloat16") copts.dtype = CudaDtype::kBFloat16;
        else if (s == "int8") int8 = true;
        else {
          CodedError(env, StatusCode::kInvalidArgument, nullptr, "Engine(spec, options): options.dtype must be float32|float16|bfloat16|int8, got " + s).ThrowAsJavaScriptException();
          return;
        }
      }
      Napi::Value tf = o.Get("tf32");
      if (!tf.IsUndefined()) {
        if (!tf.IsBoolean()) {
          CodedError(env, StatusCode::kInvalidArgument, nullptr, "Engine(spec, options): options.tf32 must be a boolean").ThrowAsJavaScriptException();
          return;
        }
        copts.tf32 = tf.As<Napi::Boolean>().Value();
      }
      if (!use_cuda && copts.dtype == CudaDtype::kFloat16) {
        CodedError(env, StatusCode::kUnsupported, nullptr,
                   std::string("Engine(spec, options): options.dtype ") + cuda_dtype_name(copts.dtype) +
                       " needs device 'cuda' (the CPU engine runs float32, bfloat16 and int8)")
            .ThrowAsJavaScriptException();
        return;
      }
      if (use_cuda && int8) {
        CodedError(env, StatusCode::kUnsupported, nullptr,
                   "Engine(spec, options): options.dtype int8 runs on the CPU engine only; use device 'cpu'")
            .ThrowAsJavaScriptException();
        return;
      }
      Napi::Value keep = o.Get("modulesToNotConvert");
      if (!keep.IsUndefined()) {
        const char* what = "Engine(spec, options): options.modulesToNotConvert must be an array of module names";
        constexpr uint32_t kMaxNames = 1024;  // as lib/models/base.ts MAX_MODULE_NAMES
        if (!keep.IsArray() || keep.As<Napi::Array>().Length() > kMaxNames) {
          CodedError(env, StatusCode::kInvalidArgument, nullptr, std::string(what) + " (at most " + std::to_string(kMaxNames) + ")")
              .ThrowAsJavaScriptException();
          return;
        }
        Napi::Array a = keep.As<Napi::Array>();
        for (uint32_t i = 0; i < a.Length(); ++i) {
          Napi::Value v = a.Get(i);  // a hole reads as undefined
          if (!v.IsString()) {
            CodedError(env, StatusCode::kInvalidArgument, nullptr, std::string(what) + " (element " + std::to_string(i) + " is not a string)")
                .ThrowAsJavaScriptException();
            return;
          }
          keep_float32.push_back(v.As<Napi::String>().Utf8Value());
        }
      }
      Napi::Value isa = o.Get("isa");
      if (isa.IsString()) {
        const std::string s = isa.As<Napi::String>().Utf8Value();
        if (s == "generic") ops_ = &cpu_ops(Isa::kGeneric);
        else if (s == "avx2") ops_ = &cpu_ops(Isa::kAvx2);
        else if (s == "avx512") ops_ = &cpu_ops(Isa::kAvx512);
        else {
          ThrowArg(env, true, "Engine(spec, options): options.isa must be generic|avx2|avx512, got " + s);
          return;
        }
      }
    }
    if (use_cuda && !keep_float32.empty()) {
      CodedError(env, StatusCode::kUnsupported, nullptr,
                 "Engine(spec, options): options.modulesToNotConvert runs on the CPU engine only; use device 'cpu'")
          .ThrowAsJavaScriptException();
      return;
    }
    Napi::Object spec = info[0].As<Napi::Object>();
    Fail f;
    EngineConfig c;
    HeadConfig h;
    int64_t act = 0;
    if (!GetInt(spec, "spec.", "vocab_size", 1, &c.vocab_size, &f) || !GetInt(spec, "spec.", "hidden_size", 1, &c.hidden, &f) ||
        !GetInt(spec, "spec.", "embedding_size", 1, &c.embedding, &f) ||
        !GetInt(spec, "spec.", "num_hidden_layers", 0, &c.layers, &f) || !GetInt(spec, "spec.", "sa_heads", 1, &c.sa_heads, &f) ||
        !GetInt(spec, "spec.", "head_dim", 1, &c.head_dim, &f) ||
        !GetInt(spec, "spec.", "intermediate_size", 1, &c.intermediate, &f) ||
        !GetInt(spec, "spec.", "conv_kernel_size", 1, &c.conv_kernel, &f) || !GetInt(spec, "spec.", "num_groups", 1, &c.groups, &f) ||
        !GetInt(spec, "spec.", "max_position_embeddings", 1, &c.max_positions, &f) ||
        !GetInt(spec, "spec.", "type_vocab_size", 1, &c.type_vocab, &f) || !GetInt(spec, "spec.", "hidden_act", 0, &act, &f)) {
      CodedError(env, f.base, f.code, f.msg).ThrowAsJavaScriptException();
      return;
    }
    c.hidden_act = static_cast<int32_t>(act);
    Napi::Value eps = spec.Get("layer_norm_eps");
    if (!eps.IsNumber() || !(eps.As<Napi::Number>().DoubleValue() >= 0)) {
      CodedError(env, StatusCode::kInvalidArgument, nullptr, "spec.layer_norm_eps: expected a number >= 0")
          .ThrowAsJavaScriptException();
      return;
    }
    c.layer_norm_eps = static_cast<float>(eps.As<Napi::Number>().DoubleValue());
    if (!spec.Get("weights").IsObject() || !spec.Get("head").IsObject() ||
        !spec.Get("head").As<Napi::Object>().Get("weights").IsObject()) {
      CodedError(env, StatusCode::kInvalidArgument, nullptr, "spec.weights and spec.head.weights must be objects")
          .ThrowAsJavaScriptException();
      return;
    }
    Napi::Object head = spec.Get("head").As<Napi::Object>();
    Napi::Object tw = spec.Get("weights").As<Napi::Object>();
    Napi::Object hw = head.Get("weights").As<Napi::Object>();
    bool ok = false;
    const Napi::Value kind = head.Get("kind");
    h.kind = ParseKind(kind.IsString() ? kind.As<Napi::String>().Utf8Value() : std::string(), &ok);
    if (!ok) {
      CodedError(env, StatusCode::kInvalidArgument, nullptr,
                 "spec.head.kind: expected none|masked_lm|sequence_classification|token_classification|"
                 "question_answering|multiple_choice")
          .ThrowAsJavaScriptException();
      return;
    }
    if (!GetInt(head, "spec.head.", "num_outputs", 0, &h.num_outputs, &f)) {
      CodedError(env, f.base, f.code, f.msg).ThrowAsJavaScriptException();
      return;
    }
    if (h.kind == HeadKind::kNone) h.num_outputs = 0;
    if (head.Get("act").IsNumber()) h.act = head.Get("act").As<Napi::Number>().Int32Value();
    if (head.Get("summary_act").IsNumber()) h.summary_act = head.Get("summary_act").As<Napi::Number>().Int32Value();
    h.summary_use_proj = head.Get("summary_use_proj").ToBoolean().Value();
    if (head.Get("summary_proj_out").IsNumber())
      h.summary_proj_out = head.Get("summary_proj_out").As<Napi::Number>().Int64Value();
    else if (h.summary_use_proj)
      h.summary_proj_out = c.hidden;
    if (h.kind == HeadKind::kMultipleChoice) {
      const Napi::Value st = head.Get("summary_type");
      const std::string s = st.IsString() ? st.As<Napi::String>().Utf8Value() : "last";
      if (s == "last") h.summary_type = SummaryType::kLast;
      else if (s == "first") h.summary_type = SummaryType::kFirst;
      else if (s == "mean") h.summary_type = SummaryType::kMean;
      else if (s == "cls_index") h.summary_type = SummaryType::kClsIndex;
      else {
        CodedError(env, StatusCode::kUnsupported, nullptr,
                   "spec.head.summary_type: expected last|first|mean|cls_index, got " + s)
            .ThrowAsJavaScriptException();
        return;
      }
    }
    Status st = validate_config(c, h);
    if (!st.ok()) {
      Addon::Of(env)->MakeError(env, st).ThrowAsJavaScriptException();
      return;
    }
    // Each weight is read exactly once, inside its own handle scope, and no
    // reference is kept: spec.weights may be an object of lazy getters that
    // load one tensor at a time, so peak memory stays near one copy.
    std::shared_ptr<Model> model;
    // On CUDA the host Model stays fp32 (cuda_engine_create converts per copts.dtype).
    const WeightDtype cpu_dtype = int8                                                   ? WeightDtype::kInt8
                                  : !use_cuda && copts.dtype == CudaDtype::kBFloat16 ? WeightDtype::kBFloat16
                                                                                     : WeightDtype::kFloat32;
    dtype_ = use_cuda ? cuda_dtype_name(copts.dtype) : weight_dtype_name(cpu_dtype);
    Fail wf;
    bool weight_failed = false;
    st = build_model(c, h,
                     [&](const WeightSpec& w) -> const float* {
                       Napi::HandleScope scope(env);
                       const float* p = nullptr;
                       const std::string where =
                           std::string(w.head ? "spec.head.weights[" : "spec.weights[") + "'" + w.name + "']";
                       if (!GetArray<float>((w.head ? hw : tw).Get(w.name), where, napi_float32_array, w.numel, false,
                                            &p, nullptr, &wf)) {
                         weight_failed = true;
                         return nullptr;
                       }
                       return p;
                     },
                     &model, cpu_dtype, keep_float32);
    if (!st.ok()) {
      if (weight_failed)
        CodedError(env, StatusCode::kInvalidArgument, "ERR_CONVBERT_WEIGHTS", wf.msg).ThrowAsJavaScriptException();
      else
        Addon::Of(env)->MakeError(env, st).ThrowAsJavaScriptException();
      return;
    }
    if (use_cuda) {
      std::shared_ptr<CudaEngine> ce;
      st = cuda_engine_create(*model, copts, &ce);
      if (!st.ok()) {
        Addon::Of(env)->MakeError(env, st).ThrowAsJavaScriptException();
        return;
      }
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
  // Parses and checks a ForwardRequest; on failure returns false with *err set.
  // own set (forward): the inputs are copied into it before they are checked, so
  // the values checked are the values the queued forward reads; keep then holds
  // the outputs (which lib/ allocates and hands out only when the promise
  // settles). own null (forwardSync): the forward runs before JS runs again, so
  // it reads the JS arrays in place.
  bool Parse(Napi::Env env, Napi::Value reqv, ForwardJob* job, std::vector<Napi::Reference<Napi::Value>>* keep,
             ForwardInputs* own, Napi::Error* err) {
    Fail f;
    auto fail = [&]() {
      *err = CodedError(env, f.base, f.code, f.msg);
      return false;
    };
    if (!model_) {
      *err = CodedError(env, StatusCode::kInvalidArgument, "ERR_CONVBERT_DISPOSED", "Engine: used after dispose()");
      return false;
    }
    if (!reqv.IsObject()) {
      f.msg = "forward(req): req must be an object";
      return fail();
    }
    const EngineConfig& c = model_->cfg;
    const HeadConfig& hc = model_->head;
    Napi::Object req = reqv.As<Napi::Object>();
    int64_t B = 0, L = 0, rank = 0;
    if (!GetInt(req, "req.", "B", 1, &B, &f) || !GetInt(req, "req.", "L", 1, &L, &f)) return fail();
    if (B > (int64_t{1} << 24) || L > (int64_t{1} << 20) || B * L > (int64_t{1} << 28)) {
      f.base = StatusCode::kShape;
      f.code = "ERR_CONVBERT_SHAPE";
      f.msg = "req.B x req.L = " + std::to_string(B) + " x " + std::to_string(L) + " is too large";
      return fail();
    }
    const int64_t H = c.hidden, S = c.sa_heads;
    int64_t T = B * L;
    job->B = B;
    job->L = L;
    // Varlen: cu_seqlens (B + 1) replaces the (B, L) token grid by T = cu_seqlens[B] packed tokens.
    if (!GetArray<int32_t>(req.Get("cu_seqlens"), "cu_seqlens", napi_int32_array, B + 1, true, &job->seq_starts, nullptr,
                           &f))
      return fail();
    if (job->seq_starts) {
      // Copied: the output sizes checked here depend on it, so JS must not be able to change it later.
      job->seq_starts_storage.assign(job->seq_starts, job->seq_starts + B + 1);
      job->seq_starts = job->seq_starts_storage.data();
      const int32_t* cu = job->seq_starts;
      for (int64_t b = 0; b < B; ++b) {
        const int64_t len = static_cast<int64_t>(cu[b + 1]) - cu[b];
        if ((b == 0 && cu[0] != 0) || len < 1 || len > L) {
          f.base = StatusCode::kShape;
          f.code = "ERR_CONVBERT_SHAPE";
          f.msg = "cu_seqlens: expected 0 = cu_seqlens[0] < cu_seqlens[1] < ... with every length in [1, L = " +
                  std::to_string(L) + "], got cu_seqlens[" + std::to_string(b) + "] = " + std::to_string(cu[b]) +
                  ", cu_seqlens[" + std::to_string(b + 1) + "] = " + std::to_string(cu[b + 1]);
          return fail();
        }
      }
      T = cu[B];
      if (!mask_absent(req) || !out_absent(req, "attentions")) {
        f.msg = "cu_seqlens: a varlen forward takes no attention_mask and returns no attentions";
        return fail();
      }
    }
    if (!GetArray<int32_t>(req.Get("input_ids"), "input_ids", napi_int32_array, T, true, &job->input_ids, nullptr, &f,
                           own ? &own->input_ids : nullptr) ||
        !GetArray<float>(req.Get("inputs_embeds"), "inputs_embeds", napi_float32_array, T * c.embedding, true,
                         &job->inputs_embeds, nullptr, &f, own ? &own->inputs_embeds : nullptr) ||
        !GetArray<int32_t>(req.Get("token_type_ids"), "token_type_ids", napi_int32_array, T, true, &job->token_type_ids,
                           nullptr, &f, own ? &own->token_type_ids : nullptr) ||
        !GetArray<int32_t>(req.Get("position_ids"), "position_ids", napi_int32_array, T, true, &job->position_ids,
                           nullptr, &f, own ? &own->position_ids : nullptr))
      return fail();
    if (!job->input_ids == !job->inputs_embeds) {
      f.msg = "forward: exactly one of input_ids and inputs_embeds must be given";
      return fail();
    }
    const Napi::Value mask = req.Get("attention_mask");
    if (!mask.IsNull() && !mask.IsUndefined()) {
      if (!GetInt(req, "req.", "attention_mask_rank", 2, &rank, &f)) return fail();
      if (rank != 2 && rank != 3) {
        f.msg = "attention_mask_rank: expected 2 or 3, got " + std::to_string(rank);
        return fail();
      }
      if (!GetArray<float>(mask, "attention_mask", napi_float32_array, rank == 2 ? B * L : B * L * L, false,
                           &job->attention_mask, nullptr, &f, own ? &own->attention_mask : nullptr))
        return fail();
      job->mask_rank = static_cast<int32_t>(rank);
    }
    if (!GetArray<float>(req.Get("head_mask"), "head_mask", napi_float32_array, c.layers * S, true, &job->head_mask,
                         nullptr, &f, own ? &own->head_mask : nullptr) ||
        !GetArray<int32_t>(req.Get("cls_index"), "cls_index", napi_int32_array, B, true, &job->cls_index, nullptr, &f,
                           own ? &own->cls_index : nullptr))
      return fail();
    // torch would run NaN or ±Inf through (NaN out); the kernel paths would not all
    // agree on it, so they are refused here, as lib/models/inputs.ts refuses them.
    const std::vector<int64_t> tokens = job->seq_starts ? std::vector<int64_t>{T} : std::vector<int64_t>{B, L};
    std::vector<int64_t> embeds_dims = tokens;
    embeds_dims.push_back(c.embedding);
    if (!CheckFinite(job->inputs_embeds, embeds_dims, "inputs_embeds", &f) ||
        !CheckFinite(job->attention_mask, job->mask_rank == 3 ? std::vector<int64_t>{B, L, L} : std::vector<int64_t>{B, L},
                     "attention_mask", &f) ||
        !CheckFinite(job->head_mask, {c.layers, S}, "head_mask", &f))
      return fail();
    if (!req.Get("outputs").IsObject()) {
      f.msg = "req.outputs: expected an object";
      return fail();
    }
    Napi::Object out = req.Get("outputs").As<Napi::Object>();
    const float* p = nullptr;
    if (!GetArray<float>(out.Get("last_hidden_state"), "outputs.last_hidden_state", napi_float32_array, T * H, false,
                         &p, keep, &f))
      return fail();
    job->last_hidden_state = const_cast<float*>(p);
    int64_t nlog = 0;
    switch (hc.kind) {
      case HeadKind::kNone: break;
      case HeadKind::kMaskedLM:
      case HeadKind::kTokenClassification:
      case HeadKind::kQuestionAnswering: nlog = T * hc.num_outputs; break;
      case HeadKind::kSequenceClassification:
      case HeadKind::kMultipleChoice: nlog = B * hc.num_outputs; break;
    }
    if (hc.kind != HeadKind::kNone) {
      if (!GetArray<float>(out.Get("logits"), "outputs.logits", napi_float32_array, nlog, false, &p, keep, &f))
        return fail();
      job->logits = const_cast<float*>(p);
    }
    struct ListSpec {
      const char* name;
      int64_t count, n;
      std::vector<float*>* dst;
    };
    for (const ListSpec& ls : {ListSpec{"hidden_states", c.layers + 1, T * H, &job->hidden_states},
                               ListSpec{"attentions", c.layers, B * S * L * L, &job->attentions}}) {
      // (In varlen mode attentions was checked absent above.)
      Napi::Value v = out.Get(ls.name);
      if (v.IsNull() || v.IsUndefined()) continue;
      if (!v.IsArray() || static_cast<int64_t>(v.As<Napi::Array>().Length()) != ls.count) {
        f.base = StatusCode::kShape;
        f.code = "ERR_CONVBERT_SHAPE";
        f.msg = std::string("outputs.") + ls.name + ": expected an array of " + std::to_string(ls.count) +
                " Float32Arrays";
        return fail();
      }
      Napi::Array arr = v.As<Napi::Array>();
      for (uint32_t i = 0; i < arr.Length(); ++i) {
        if (!GetArray<float>(arr.Get(i), std::string("outputs.") + ls.name + "[" + std::to_string(i) + "]",
                             napi_float32_array, ls.n, false, &p, keep, &f))
          return fail();
        ls.dst->push_back(const_cast<float*>(p));
      }
    }
    // The one request check (engine.h validate_forward: ids, types, positions and cls_index in
    // range, lengths against max_position_embeddings, buffers), here, before the job reaches its
    // target (CPU or CUDA), which then runs it without checking again.
    const Status vs = validate_forward(c, hc, *job);
    if (!vs.ok()) {
      *err = Addon::Of(env)->MakeError(env, vs);
      return false;
    }
    return true;
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
  Napi::Value Float32Modules(const Napi::CallbackInfo& info) { return Guard<&EngineWrap::Float32ModulesImpl>(info); }
  Napi::Value GemmKernel(const Napi::CallbackInfo& info) { return Guard<&EngineWrap::GemmKernelImpl>(info); }

  Napi::Value ForwardImpl(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ForwardJob job;
    std::vector<Napi::Reference<Napi::Value>> keep;
    ForwardInputs own;
    Napi::Error err;
    bool parsed = false;
    try {
      parsed = Parse(env, info.Length() > 0 ? info[0] : env.Undefined(), &job, &keep, &own, &err);
    } catch (const std::bad_alloc&) {
      err = Addon::Of(env)->MakeError(env, Status::Error(StatusCode::kOutOfMemory, "forward: out of memory copying the inputs"));
    }
    if (!parsed) {
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
    Napi::Error err;
    if (!Parse(env, info.Length() > 0 ? info[0] : env.Undefined(), &job, nullptr, nullptr, &err)) {
      err.ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Status st = target_->run(*model_, job);  // validated by Parse
    if (!st.ok()) Addon::Of(env)->MakeError(env, st).ThrowAsJavaScriptException();
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
  Napi::Value Float32ModulesImpl(const Napi::CallbackInfo& info) {
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
