// cuda_ops.cc: test/bench-only entry points for single CUDA ops (not public API),
// plus lightconv on either backend. Each takes one options object of typed arrays
// and sizes, runs synchronously (copy in, one kernel, copy out) and returns new
// Float32Arrays. In a CPU-only build every CUDA entry point throws
// ERR_CONVBERT_UNSUPPORTED with the reason (cuda_stub.cc), after the argument checks.
#include <cmath>
#include <string>

#include "../addon.h"
#include "../args.h"
#include "convbert/cuda_backend.h"

namespace convbert {
namespace {

// Every reader is args.h's; these name the argument "<fn>: <name>".
std::string Name(const char* fn, const char* name) { return std::string(fn) + ": " + name; }

[[noreturn]] void Range(Napi::Env env, const std::string& msg) { args::Throw(env, StatusCode::kInvalidArgument, msg); }
void Check(Napi::Env env, const Status& st) { args::Check(env, st); }

Napi::Object Opts(const Napi::CallbackInfo& info, const char* fn) { return args::Opts(info, fn); }

// An integer >= lo; dflt (when given) stands in for undefined or null.
int64_t Int(Napi::Object o, const char* fn, const char* name, int64_t lo, int64_t dflt = INT64_MIN) {
  if (dflt != INT64_MIN) return args::IntOr(o.Get(name), Name(fn, name), lo, args::kMaxSafe, dflt);
  return args::Int(o.Get(name), Name(fn, name), lo);
}

bool Bool(Napi::Object o, const char* fn, const char* name) { return args::Bool(o.Get(name), Name(fn, name)); }

// A typed array of exactly n elements (n < 0: any length, returned in *len), or null when optional and absent.
const float* F32(Napi::Object o, const char* fn, const char* name, int64_t n, bool optional = false,
                 int64_t* len = nullptr) {
  return args::F32(o.Get(name), Name(fn, name), n, optional, len);
}
const int32_t* I32(Napi::Object o, const char* fn, const char* name, int64_t n, bool optional = false) {
  return args::I32(o.Get(name), Name(fn, name), n, optional);
}

// The CUDA gemm's weight dtype (int8 is the CPU engine's, so it is no choice here).
Dtype GemmDtype(Napi::Object o, const char* fn) {
  Napi::Value v = o.Get("dtype");
  if (v.IsNull()) return Dtype::kFloat32;
  Dtype d = Dtype::kFloat32;
  parse_dtype(args::Choice(v, Name(fn, "dtype"), {"float32", "float16", "bfloat16"}, "float32"), &d);
  return d;
}

// Element counts from user sizes, each product checked before it can overflow (args::Mul).
int64_t Mul(Napi::Env env, const char* fn, const char* what, int64_t a, int64_t b) {
  return args::Mul(env, Name(fn, what), a, b);
}
int64_t Mul(Napi::Env env, const char* fn, const char* what, int64_t a, int64_t b, int64_t c) {
  return args::Mul(env, Name(fn, what), a, b, c);
}

// Default: the first usable device, which is not device 0 on a machine whose device 0 is too old.
int Device(Napi::Object o, const char* fn) {
  const int dflt = cuda_info().default_device;
  return static_cast<int>(args::IntOr(o.Get("device"), Name(fn, "device"), 0, 1 << 20, dflt >= 0 ? dflt : 0));
}

// cu_seqlens (B + 1 offsets) when given: returns T = cu_seqlens[B] after checking it is monotone from 0.
int64_t Tokens(Napi::Object o, const char* fn, const int32_t* seq, int64_t B, int64_t L) {
  if (!seq) return Mul(o.Env(), fn, "B * L", B, L);
  if (seq[0] != 0)
    Range(o.Env(), Name(fn, "cu_seqlens") + ": expected cu_seqlens[0] = 0, got " + std::to_string(seq[0]));
  for (int64_t b = 0; b < B; ++b)
    if (seq[b + 1] < seq[b] || seq[b + 1] - seq[b] > L)
      Range(o.Env(), Name(fn, "cu_seqlens") + ": expected non-decreasing offsets with lengths <= L = " +
                         std::to_string(L) + ", got cu_seqlens[" + std::to_string(b) + "] = " + std::to_string(seq[b]) +
                         ", cu_seqlens[" + std::to_string(b + 1) + "] = " + std::to_string(seq[b + 1]));
  return seq[B];
}

Napi::Float32Array NewF32(Napi::Env env, int64_t n) { return Napi::Float32Array::New(env, static_cast<size_t>(n)); }

// cudaGemm({A, B, bias?, residual?, M, N, K, act?, dtype?, tf32?, device?}) -> C (M, N)
Napi::Value CudaGemm(const Napi::CallbackInfo& info) {
  const char* fn = "cudaGemm";
  Napi::Env env = info.Env();
  Napi::Object o = Opts(info, fn);
  CudaGemmArgs a;
  a.M = Int(o, fn, "M", 0);
  a.N = Int(o, fn, "N", 1);
  a.K = Int(o, fn, "K", 1);
  a.A = F32(o, fn, "A", Mul(env, fn, "M * K", a.M, a.K));
  a.B = F32(o, fn, "B", Mul(env, fn, "N * K", a.N, a.K));
  a.bias = F32(o, fn, "bias", a.N, true);
  a.residual = F32(o, fn, "residual", Mul(env, fn, "M * N", a.M, a.N), true);
  a.lda = a.K;
  a.ldb = a.K;
  a.ldr = a.N;
  a.ldc = a.N;
  const int64_t act = args::IntOr(o.Get("act"), Name(fn, "act"), 0, static_cast<int64_t>(Activation::kCount) - 1,
                                  0);  // an Activation code
  a.act = static_cast<Activation>(act);
  a.dtype = GemmDtype(o, fn);
  a.tf32 = Bool(o, fn, "tf32");
  auto C = NewF32(env, Mul(env, fn, "M * N", a.M, a.N));
  a.C = C.Data();
  Check(env, gemm_cuda_host(a, Device(o, fn)));
  return C;
}

// cudaAttention({q, k, v, B, L, H, D, mask_bias?, mask_rank?, head_mult?, cu_seqlens?, probs?, exact?})
//   -> {out, probs | null, path}; q/k/v/out are (T, H*D).
Napi::Value CudaAttention(const Napi::CallbackInfo& info) {
  const char* fn = "cudaAttention";
  Napi::Env env = info.Env();
  Napi::Object o = Opts(info, fn);
  AttentionArgs a;
  a.B = Int(o, fn, "B", 0);
  a.L = Int(o, fn, "L", 1);
  a.H = Int(o, fn, "H", 1);
  a.D = Int(o, fn, "D", 1);
  a.cu_seqlens = I32(o, fn, "cu_seqlens", a.B + 1, true);
  const int64_t T = Tokens(o, fn, a.cu_seqlens, a.B, a.L);
  a.ld = a.ldo = Mul(env, fn, "H * D", a.H, a.D);
  const int64_t nqkv = Mul(env, fn, "T * H * D", T, a.ld);
  a.q = F32(o, fn, "q", nqkv);
  a.k = F32(o, fn, "k", nqkv);
  a.v = F32(o, fn, "v", nqkv);
  a.mask_rank = static_cast<int32_t>(args::IntOr(o.Get("mask_rank"), Name(fn, "mask_rank"), 0, 3, 0));
  if (a.mask_rank != 0 && a.mask_rank != 2 && a.mask_rank != 3)
    Range(env, Name(fn, "mask_rank") + ": expected 0, 2 or 3, got " + std::to_string(a.mask_rank));
  a.mask_bias = a.mask_rank
                    ? F32(o, fn, "mask_bias",
                          a.mask_rank == 2 ? Mul(env, fn, "B * L", a.B, a.L) : Mul(env, fn, "B * L * L", a.B, a.L, a.L))
                    : nullptr;
  a.head_mult = F32(o, fn, "head_mult", a.H, true);
  auto out = NewF32(env, nqkv);
  a.out = out.Data();
  Napi::Value probs = env.Null();
  if (Bool(o, fn, "probs")) {
    auto p = NewF32(env, Mul(env, fn, "B * H * L * L", Mul(env, fn, "B * H * L * L", a.B, a.H), a.L, a.L));
    a.probs = p.Data();
    probs = p;
  }
  std::string path;
  Check(env, attention_cuda_host(a, Bool(o, fn, "exact"), Device(o, fn), &path));
  Napi::Object r = Napi::Object::New(env);
  r.Set("out", out);
  r.Set("probs", probs);
  r.Set("path", path);
  return r;
}

// cudaDynconv({v, w, B, L, H, D, K, cu_seqlens?, softmax_taps?}) -> out (T, H*D); v (T, H*D), w (T, H, K).
Napi::Value CudaDynconv(const Napi::CallbackInfo& info) {
  const char* fn = "cudaDynconv";
  Napi::Env env = info.Env();
  Napi::Object o = Opts(info, fn);
  DynConvArgs a;
  a.B = Int(o, fn, "B", 0);
  a.L = Int(o, fn, "L", 1);
  a.H = Int(o, fn, "H", 1);
  a.D = Int(o, fn, "D", 1);
  a.K = Int(o, fn, "K", 1);
  a.cu_seqlens = I32(o, fn, "cu_seqlens", a.B + 1, true);
  const int64_t T = Tokens(o, fn, a.cu_seqlens, a.B, a.L);
  a.ldv = a.ldo = Mul(env, fn, "H * D", a.H, a.D);
  a.v = F32(o, fn, "v", Mul(env, fn, "T * H * D", T, a.ldv));
  a.w = F32(o, fn, "w", Mul(env, fn, "T * H * K", T, a.H, a.K));
  auto out = NewF32(env, T * a.ldo);
  a.out = out.Data();
  Check(env, dynconv_cuda_host(a, Bool(o, fn, "softmax_taps"), Device(o, fn)));
  return out;
}

// cudaSepconv({x, wt, B, L, C, K, cu_seqlens?}) -> y (T, C)
Napi::Value CudaSepconv(const Napi::CallbackInfo& info) {
  const char* fn = "cudaSepconv";
  Napi::Env env = info.Env();
  Napi::Object o = Opts(info, fn);
  SepConvArgs a;
  a.B = Int(o, fn, "B", 0);
  a.L = Int(o, fn, "L", 1);
  a.C = Int(o, fn, "C", 1);
  a.K = Int(o, fn, "K", 1);
  a.cu_seqlens = I32(o, fn, "cu_seqlens", a.B + 1, true);
  const int64_t T = Tokens(o, fn, a.cu_seqlens, a.B, a.L);
  a.x = F32(o, fn, "x", Mul(env, fn, "T * C", T, a.C));
  a.wt = F32(o, fn, "wt", Mul(env, fn, "K * C", a.K, a.C));
  auto y = NewF32(env, T * a.C);
  a.y = y.Data();
  Check(env, sepconv_cuda_host(a, Device(o, fn)));
  return y;
}

// cudaLayernorm({x, r?, gamma, beta, C, eps}) -> y
Napi::Value CudaLayernorm(const Napi::CallbackInfo& info) {
  const char* fn = "cudaLayernorm";
  Napi::Env env = info.Env();
  Napi::Object o = Opts(info, fn);
  LayerNormArgs a;
  a.C = Int(o, fn, "C", 1);
  int64_t n = 0;
  a.x = F32(o, fn, "x", -1, false, &n);
  if (n % a.C != 0)
    args::Throw(
        env, StatusCode::kShape,
        Name(fn, "x") + ": expected a multiple of C = " + std::to_string(a.C) + " elements, got " + std::to_string(n));
  a.rows = n / a.C;
  a.r = F32(o, fn, "r", n, true);
  a.gamma = F32(o, fn, "gamma", a.C);
  a.beta = F32(o, fn, "beta", a.C);
  a.eps = o.Get("eps").IsUndefined() ? 1e-12f : static_cast<float>(args::Num(o.Get("eps"), Name(fn, "eps"), 0));
  auto y = NewF32(env, n);
  a.y = y.Data();
  Check(env, layernorm_cuda_host(a, Device(o, fn)));
  return y;
}

// cudaSoftmax({x, n}) -> softmax over each row of n (a new array; x is left as is)
Napi::Value CudaSoftmax(const Napi::CallbackInfo& info) {
  const char* fn = "cudaSoftmax";
  Napi::Env env = info.Env();
  Napi::Object o = Opts(info, fn);
  SoftmaxArgs a;
  a.n = Int(o, fn, "n", 1);
  int64_t len = 0;
  const float* x = F32(o, fn, "x", -1, false, &len);
  if (len % a.n != 0)
    args::Throw(env, StatusCode::kShape,
                Name(fn, "x") + ": expected a multiple of n = " + std::to_string(a.n) + " elements, got " +
                    std::to_string(len));
  a.rows = len / a.n;
  auto y = NewF32(env, len);
  std::copy(x, x + len, y.Data());
  a.x = y.Data();
  Check(env, softmax_cuda_host(a, Device(o, fn)));
  return y;
}

// cudaEmbedding({ids? | embeds?, positions, types?, word, pos, type, vocab, max_pos, type_vocab, T, E}) -> y (T, E)
Napi::Value CudaEmbedding(const Napi::CallbackInfo& info) {
  const char* fn = "cudaEmbedding";
  Napi::Env env = info.Env();
  Napi::Object o = Opts(info, fn);
  EmbeddingArgs a;
  a.T = Int(o, fn, "T", 0);
  a.E = Int(o, fn, "E", 1);
  a.vocab = Int(o, fn, "vocab", 0, 0);
  a.max_pos = Int(o, fn, "max_pos", 1);
  a.type_vocab = Int(o, fn, "type_vocab", 1);
  a.embeds = F32(o, fn, "embeds", Mul(env, fn, "T * E", a.T, a.E), true);
  a.ids = a.embeds ? nullptr : I32(o, fn, "ids", a.T);
  a.positions = I32(o, fn, "positions", a.T);
  a.types = I32(o, fn, "types", a.T, true);
  a.word = a.embeds ? nullptr : F32(o, fn, "word", Mul(env, fn, "vocab * E", a.vocab, a.E));
  a.pos = F32(o, fn, "pos", Mul(env, fn, "max_pos * E", a.max_pos, a.E));
  a.type = F32(o, fn, "type", Mul(env, fn, "type_vocab * E", a.type_vocab, a.E));
  auto y = NewF32(env, Mul(env, fn, "T * E", a.T, a.E));
  a.y = y.Data();
  Check(env, embedding_cuda_host(a, Device(o, fn)));
  return y;
}

// opLightconv({x, w, bias?, B, T, C, H, K, padding_l, per_position?, softmax?, interleaved_heads?}, path)
//   -> y (B, T, C); path 'generic' (lightconv_ref) or 'cuda'.
Napi::Value OpLightconv(const Napi::CallbackInfo& info) {
  const char* fn = "opLightconv";
  Napi::Env env = info.Env();
  Napi::Object o = Opts(info, fn);
  const std::string path = args::Choice(args::At(info, 1), Name(fn, "path"), {"generic", "cuda"});
  LightConvArgs a;
  a.B = Int(o, fn, "B", 0);
  a.T = Int(o, fn, "T", 0);
  a.C = Int(o, fn, "C", 1);
  a.H = Int(o, fn, "H", 1);
  a.K = Int(o, fn, "K", 1);
  a.padding_l = Int(o, fn, "padding_l", 0);
  a.per_position = Bool(o, fn, "per_position");
  a.softmax = args::Bool(o.Get("softmax"), Name(fn, "softmax"), true);
  a.interleaved_heads = Bool(o, fn, "interleaved_heads");
  const int64_t nx = Mul(env, fn, "B * T * C", a.B, a.T, a.C);
  a.x = F32(o, fn, "x", nx);
  a.w = F32(o, fn, "w",
            a.per_position ? Mul(env, fn, "B * T * H * K", Mul(env, fn, "B * T * H * K", a.B, a.T), a.H, a.K)
                           : Mul(env, fn, "H * K", a.H, a.K));
  a.bias = F32(o, fn, "bias", a.C, true);
  auto y = NewF32(env, nx);
  a.y = y.Data();
  Check(env, path == "cuda" ? lightconv_cuda_host(a, Device(o, fn)) : lightconv_ref(a));
  return y;
}

// cudaBench(iters): later cuda* calls on this thread time iters kernel runs; returns nothing.
Napi::Value CudaBench(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  cuda_bench_set_iters(static_cast<int>(args::Int(args::At(info, 0), "cudaBench: iters", 0, 1 << 20)));
  return env.Undefined();
}
// cudaBenchLastMs() -> mean kernel time of the last timed cuda* call, in ms.
Napi::Value CudaBenchLastMs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), cuda_bench_last_ms());
}

void InitCudaOps(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaBench", Napi::Function::New(env, CudaBench, "cudaBench"));
  exports.Set("cudaBenchLastMs", Napi::Function::New(env, CudaBenchLastMs, "cudaBenchLastMs"));
  exports.Set("cudaGemm", Napi::Function::New(env, CudaGemm, "cudaGemm"));
  exports.Set("cudaAttention", Napi::Function::New(env, CudaAttention, "cudaAttention"));
  exports.Set("cudaDynconv", Napi::Function::New(env, CudaDynconv, "cudaDynconv"));
  exports.Set("cudaSepconv", Napi::Function::New(env, CudaSepconv, "cudaSepconv"));
  exports.Set("cudaLayernorm", Napi::Function::New(env, CudaLayernorm, "cudaLayernorm"));
  exports.Set("cudaSoftmax", Napi::Function::New(env, CudaSoftmax, "cudaSoftmax"));
  exports.Set("cudaEmbedding", Napi::Function::New(env, CudaEmbedding, "cudaEmbedding"));
  exports.Set("opLightconv", Napi::Function::New(env, OpLightconv, "opLightconv"));
}

static BindingRegistrar reg("CudaOps", &InitCudaOps);

}  // namespace
}  // namespace convbert
