// engine_parse.cc: the readers of engine_parse.h. Inputs are copied or referenced
// as the ForwardJob needs them (see ParseRequest), masks and embeddings must be
// finite, and every size is bounded before it sizes a copy or a loop.
#include "engine_parse.h"

#include <cmath>
#include <string>
#include <vector>

#include "args.h"

namespace convbert {
namespace {

// A typed array of exactly n elements (null/undefined -> nullptr when nullable), read
// through args::TypedArray. copy set: the elements are copied into *copy and the result
// points there, so the caller owns them (a forward queued on the pool must not read JS
// memory that JS may change, transfer or free once forward() has returned). Otherwise
// the result points into the JS array, which keep (when set) references until completion.
template <typename T>
const T* Array(Napi::Value v, const std::string& name, napi_typedarray_type type, int64_t n, bool nullable,
               std::vector<Napi::Reference<Napi::Value>>* keep, std::vector<T>* copy = nullptr) {
  const T* p = static_cast<const T*>(args::TypedArray(v, name, type, n, nullable));
  if (!p) return nullptr;
  if (copy) {
    copy->assign(p, p + n);
    return copy->data();
  }
  if (keep) keep->push_back(Napi::Persistent(v));
  return p;
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
void CheckFinite(Napi::Env env, const float* p, const std::vector<int64_t>& dims, const char* name) {
  if (!p) return;
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
    args::Throw(env, StatusCode::kInvalidArgument,
                std::string(name) + ": expected finite values, got " + JsNumber(p[i]) + " at " + at + "]");
  }
}

bool Absent(Napi::Value v) { return v.IsNull() || v.IsUndefined(); }

bool OutAbsent(Napi::Object req, const char* name) {
  Napi::Value o = req.Get("outputs");
  return !o.IsObject() || Absent(o.As<Napi::Object>().Get(name));
}

HeadKind ParseKind(const std::string& s) {
  if (s == "masked_lm") return HeadKind::kMaskedLM;
  if (s == "sequence_classification") return HeadKind::kSequenceClassification;
  if (s == "token_classification") return HeadKind::kTokenClassification;
  if (s == "question_answering") return HeadKind::kQuestionAnswering;
  if (s == "multiple_choice") return HeadKind::kMultipleChoice;
  return HeadKind::kNone;
}

}  // namespace

EngineOptions ParseEngineOptions(Napi::Env env, Napi::Value options) {
  EngineOptions r;
  r.ops = &cpu_ops();
  if (options.IsUndefined() || options.IsNull()) return r;
  if (!options.IsObject() || options.IsArray())
    args::Throw(env, StatusCode::kInvalidArgument,
                "Engine(spec, options): options: expected an object, got " + args::Describe(options));
  Napi::Object o = options.As<Napi::Object>();
  const std::string where = "Engine(spec, options): options.";
  Napi::Value dev = o.Get("device");
  if (!dev.IsUndefined()) {
    const std::string s = dev.IsString() ? dev.As<Napi::String>().Utf8Value() : std::string();
    // 'cuda:N' with N of at most 3 digits and no leading zero.
    if (s == "cpu") {
    } else if (s == "cuda") {
      r.use_cuda = true;
    } else if (s.size() > 5 && s.compare(0, 5, "cuda:") == 0 && s.size() <= 8 &&
               s.find_first_not_of("0123456789", 5) == std::string::npos && (s.size() == 6 || s[5] != '0')) {
      r.use_cuda = true;
      r.copts.device = std::stoi(s.substr(5));
    } else {
      args::Throw(env, StatusCode::kInvalidArgument,
                  where + "device must be 'cpu', 'cuda' or 'cuda:N', got " + (dev.IsString() ? s : "(not a string)"));
    }
  }
  Napi::Value dt = o.Get("dtype");
  if (!dt.IsUndefined()) {
    const std::string s = dt.IsString() ? dt.As<Napi::String>().Utf8Value() : std::string("(not a string)");
    if (!parse_dtype(s, &r.dtype))
      args::Throw(env, StatusCode::kInvalidArgument, where + "dtype must be float32|float16|bfloat16|int8, got " + s);
    r.copts.dtype = r.dtype;
  }
  Napi::Value tf = o.Get("tf32");
  if (!tf.IsUndefined()) {
    if (!tf.IsBoolean()) args::Throw(env, StatusCode::kInvalidArgument, where + "tf32 must be a boolean");
    r.copts.tf32 = tf.As<Napi::Boolean>().Value();
  }
  // The engines refuse these too (build_model, cuda_engine_create); refusing here names the option.
  if (!r.use_cuda && r.dtype == Dtype::kFloat16)
    args::Throw(env, StatusCode::kUnsupported,
                where + "dtype " + dtype_name(r.dtype) +
                    " needs device 'cuda' (the CPU engine runs float32, bfloat16 and int8)");
  if (r.use_cuda && r.dtype == Dtype::kInt8)
    args::Throw(env, StatusCode::kUnsupported, where + "dtype int8 runs on the CPU engine only; use device 'cpu'");
  Napi::Value modules = o.Get("modulesToNotConvert");
  if (!modules.IsUndefined()) {
    const std::string what = where + "modulesToNotConvert must be an array of module names";
    constexpr uint32_t kMaxNames = 1024;  // as lib/models/base.ts MAX_MODULE_NAMES
    if (!modules.IsArray() || modules.As<Napi::Array>().Length() > kMaxNames)
      args::Throw(env, StatusCode::kInvalidArgument, what + " (at most " + std::to_string(kMaxNames) + ")");
    Napi::Array a = modules.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) {
      Napi::Value v = a.Get(i);  // a hole reads as undefined
      if (!v.IsString())
        args::Throw(env, StatusCode::kInvalidArgument, what + " (element " + std::to_string(i) + " is not a string)");
      r.modules_to_not_convert.push_back(v.As<Napi::String>().Utf8Value());
    }
  }
  Napi::Value isa = o.Get("isa");
  if (!isa.IsUndefined()) {
    const std::string s = args::Choice(isa, where + "isa", {"generic", "avx2", "avx512"});
    r.ops = &cpu_ops(s == "avx512" ? Isa::kAvx512 : s == "avx2" ? Isa::kAvx2 : Isa::kGeneric);
  }
  if (r.use_cuda && !r.modules_to_not_convert.empty())
    args::Throw(env, StatusCode::kUnsupported,
                where + "modulesToNotConvert runs on the CPU engine only; use device 'cpu'");
  return r;
}

void ParseSpec(Napi::Object spec, EngineConfig* c, HeadConfig* h) {
  Napi::Env env = spec.Env();
  auto geti = [&](Napi::Object o, const char* where, const char* name, int64_t lo) {
    return args::Int(o.Get(name), std::string(where) + name, lo);
  };
  c->vocab_size = geti(spec, "spec.", "vocab_size", 1);
  c->hidden = geti(spec, "spec.", "hidden_size", 1);
  c->embedding = geti(spec, "spec.", "embedding_size", 1);
  c->layers = geti(spec, "spec.", "num_hidden_layers", 0);
  c->sa_heads = geti(spec, "spec.", "sa_heads", 1);
  c->head_dim = geti(spec, "spec.", "head_dim", 1);
  c->intermediate = geti(spec, "spec.", "intermediate_size", 1);
  c->conv_kernel = geti(spec, "spec.", "conv_kernel_size", 1);
  c->groups = geti(spec, "spec.", "num_groups", 1);
  c->max_positions = geti(spec, "spec.", "max_position_embeddings", 1);
  c->type_vocab = geti(spec, "spec.", "type_vocab_size", 1);
  // Activation codes (validate_config names an unknown one; -1 is none) are bounded to int32 so the casts keep them.
  c->hidden_act = static_cast<int32_t>(args::Int(spec.Get("hidden_act"), "spec.hidden_act", 0, INT32_MAX));
  c->layer_norm_eps = static_cast<float>(args::Num(spec.Get("layer_norm_eps"), "spec.layer_norm_eps", 0));
  if (!spec.Get("weights").IsObject() || !spec.Get("head").IsObject() ||
      !spec.Get("head").As<Napi::Object>().Get("weights").IsObject())
    args::Throw(env, StatusCode::kInvalidArgument, "spec.weights and spec.head.weights must be objects");
  Napi::Object head = spec.Get("head").As<Napi::Object>();
  h->kind = ParseKind(args::Choice(head.Get("kind"), "spec.head.kind",
                                   {"none", "masked_lm", "sequence_classification", "token_classification",
                                    "question_answering", "multiple_choice"}));
  h->num_outputs = geti(head, "spec.head.", "num_outputs", 0);
  if (h->kind == HeadKind::kNone) h->num_outputs = 0;
  if (!Absent(head.Get("act")))
    h->act = static_cast<int32_t>(args::Int(head.Get("act"), "spec.head.act", INT32_MIN, INT32_MAX));
  if (!Absent(head.Get("summary_act")))
    h->summary_act =
        static_cast<int32_t>(args::Int(head.Get("summary_act"), "spec.head.summary_act", INT32_MIN, INT32_MAX));
  h->summary_use_proj = args::Bool(head.Get("summary_use_proj"), "spec.head.summary_use_proj");
  if (!Absent(head.Get("summary_proj_out"))) h->summary_proj_out = geti(head, "spec.head.", "summary_proj_out", 0);
  else if (h->summary_use_proj) h->summary_proj_out = c->hidden;
  if (h->kind == HeadKind::kMultipleChoice) {
    const Napi::Value st = head.Get("summary_type");
    const std::string s = st.IsString() ? st.As<Napi::String>().Utf8Value() : "last";
    if (s == "last") h->summary_type = SummaryType::kLast;
    else if (s == "first") h->summary_type = SummaryType::kFirst;
    else if (s == "mean") h->summary_type = SummaryType::kMean;
    else if (s == "cls_index") h->summary_type = SummaryType::kClsIndex;
    else
      args::Throw(env, StatusCode::kUnsupported,
                  "spec.head.summary_type: expected last|first|mean|cls_index, got " + s);
  }
  args::Check(env, validate_config(*c, *h));
}

const float* ReadWeight(Napi::Value v, const std::string& where, int64_t numel) {
  try {
    return static_cast<const float*>(args::TypedArray(v, where, napi_float32_array, numel, false));
  } catch (Napi::Error& e) {
    e.Value().Set("code", Napi::String::New(v.Env(), "ERR_CONVBERT_WEIGHTS"));
    throw;
  }
}

void ParseRequest(Napi::Env env, const Model& model, Napi::Value reqv, ForwardJob* job,
                  std::vector<Napi::Reference<Napi::Value>>* keep, ForwardInputs* own) {
  if (!reqv.IsObject()) args::Throw(env, StatusCode::kInvalidArgument, "forward(req): req must be an object");
  const EngineConfig& c = model.cfg;
  const HeadConfig& hc = model.head;
  Napi::Object req = reqv.As<Napi::Object>();
  const int64_t B = args::Int(req.Get("B"), "req.B", 1), L = args::Int(req.Get("L"), "req.L", 1);
  if (B > (int64_t{1} << 24) || L > (int64_t{1} << 20) || B * L > (int64_t{1} << 28))
    args::Throw(env, StatusCode::kShape,
                "req.B x req.L = " + std::to_string(B) + " x " + std::to_string(L) + " is too large");
  const int64_t H = c.hidden, S = c.sa_heads;
  int64_t T = B * L;
  job->B = B;
  job->L = L;
  // Varlen: cu_seqlens (B + 1) replaces the (B, L) token grid by T = cu_seqlens[B] packed tokens.
  // Copied: the output sizes checked here depend on it, so JS must not be able to change it later.
  job->cu_seqlens = Array<int32_t>(req.Get("cu_seqlens"), "cu_seqlens", napi_int32_array, B + 1, true, nullptr,
                                   &job->cu_seqlens_storage);
  if (job->cu_seqlens) {
    const int32_t* cu = job->cu_seqlens;
    for (int64_t b = 0; b < B; ++b) {
      const int64_t len = static_cast<int64_t>(cu[b + 1]) - cu[b];
      if ((b == 0 && cu[0] != 0) || len < 1 || len > L)
        args::Throw(env, StatusCode::kShape,
                    "cu_seqlens: expected 0 = cu_seqlens[0] < cu_seqlens[1] < ... with every length in [1, L = " +
                        std::to_string(L) + "], got cu_seqlens[" + std::to_string(b) + "] = " + std::to_string(cu[b]) +
                        ", cu_seqlens[" + std::to_string(b + 1) + "] = " + std::to_string(cu[b + 1]));
    }
    T = cu[B];
    if (!Absent(req.Get("attention_mask")) || !OutAbsent(req, "attentions"))
      args::Throw(env, StatusCode::kInvalidArgument,
                  "cu_seqlens: a varlen forward takes no attention_mask and returns no attentions");
  }
  job->input_ids = Array<int32_t>(req.Get("input_ids"), "input_ids", napi_int32_array, T, true, nullptr,
                                  own ? &own->input_ids : nullptr);
  job->inputs_embeds =
      Array<float>(req.Get("inputs_embeds"), "inputs_embeds", napi_float32_array,
                   args::Mul(env, "inputs_embeds", T, c.embedding), true, nullptr, own ? &own->inputs_embeds : nullptr);
  job->token_type_ids = Array<int32_t>(req.Get("token_type_ids"), "token_type_ids", napi_int32_array, T, true, nullptr,
                                       own ? &own->token_type_ids : nullptr);
  job->position_ids = Array<int32_t>(req.Get("position_ids"), "position_ids", napi_int32_array, T, true, nullptr,
                                     own ? &own->position_ids : nullptr);
  if (!job->input_ids == !job->inputs_embeds)
    args::Throw(env, StatusCode::kInvalidArgument, "forward: exactly one of input_ids and inputs_embeds must be given");
  const Napi::Value mask = req.Get("attention_mask");
  if (!Absent(mask)) {
    const int64_t rank = args::Int(req.Get("attention_mask_rank"), "attention_mask_rank", 2, 3);
    job->attention_mask = Array<float>(mask, "attention_mask", napi_float32_array, rank == 2 ? B * L : B * L * L, false,
                                       nullptr, own ? &own->attention_mask : nullptr);
    job->mask_rank = static_cast<int32_t>(rank);
  }
  job->head_mask = Array<float>(req.Get("head_mask"), "head_mask", napi_float32_array, c.layers * S, true, nullptr,
                                own ? &own->head_mask : nullptr);
  job->cls_index = Array<int32_t>(req.Get("cls_index"), "cls_index", napi_int32_array, B, true, nullptr,
                                  own ? &own->cls_index : nullptr);
  // torch would run NaN or ±Inf through (NaN out); the kernel paths would not all
  // agree on it, so they are refused here, as lib/models/inputs.ts refuses them.
  const std::vector<int64_t> tokens = job->cu_seqlens ? std::vector<int64_t>{T} : std::vector<int64_t>{B, L};
  std::vector<int64_t> embeds_dims = tokens;
  embeds_dims.push_back(c.embedding);
  CheckFinite(env, job->inputs_embeds, embeds_dims, "inputs_embeds");
  CheckFinite(env, job->attention_mask,
              job->mask_rank == 3 ? std::vector<int64_t>{B, L, L} : std::vector<int64_t>{B, L}, "attention_mask");
  CheckFinite(env, job->head_mask, {c.layers, S}, "head_mask");
  if (!req.Get("outputs").IsObject())
    args::Throw(env, StatusCode::kInvalidArgument,
                "req.outputs: expected an object, got " + args::Describe(req.Get("outputs")));
  Napi::Object out = req.Get("outputs").As<Napi::Object>();
  job->last_hidden_state =
      const_cast<float*>(Array<float>(out.Get("last_hidden_state"), "outputs.last_hidden_state", napi_float32_array,
                                      args::Mul(env, "outputs.last_hidden_state", T, H), false, keep));
  int64_t nlog = 0;
  switch (hc.kind) {
    case HeadKind::kNone: break;
    case HeadKind::kMaskedLM:
    case HeadKind::kTokenClassification:
    case HeadKind::kQuestionAnswering: nlog = args::Mul(env, "outputs.logits", T, hc.num_outputs); break;
    case HeadKind::kSequenceClassification:
    case HeadKind::kMultipleChoice: nlog = args::Mul(env, "outputs.logits", B, hc.num_outputs); break;
  }
  if (hc.kind != HeadKind::kNone)
    job->logits =
        const_cast<float*>(Array<float>(out.Get("logits"), "outputs.logits", napi_float32_array, nlog, false, keep));
  struct ListSpec {
    const char* name;
    int64_t count, n;
    std::vector<float*>* dst;
  };
  for (const ListSpec& ls :
       {ListSpec{"hidden_states", c.layers + 1, T * H, &job->hidden_states},
        ListSpec{"attentions", c.layers, args::Mul(env, "outputs.attentions", B * S, L, L), &job->attentions}}) {
    // (In varlen mode attentions was checked absent above.)
    Napi::Value v = out.Get(ls.name);
    if (Absent(v)) continue;
    if (!v.IsArray() || static_cast<int64_t>(v.As<Napi::Array>().Length()) != ls.count)
      args::Throw(
          env, StatusCode::kShape,
          std::string("outputs.") + ls.name + ": expected an array of " + std::to_string(ls.count) + " Float32Arrays");
    Napi::Array arr = v.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); ++i)
      ls.dst->push_back(
          const_cast<float*>(Array<float>(arr.Get(i), std::string("outputs.") + ls.name + "[" + std::to_string(i) + "]",
                                          napi_float32_array, ls.n, false, keep)));
  }
  // The one request check (engine.h validate_forward: ids, types, positions and cls_index in
  // range, lengths against max_position_embeddings, buffers), here, before the job reaches its
  // target (CPU or CUDA), which then runs it without checking again.
  args::Check(env, validate_forward(c, hc, *job));
}

}  // namespace convbert
