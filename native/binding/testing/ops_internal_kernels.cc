// ops_internal_kernels.cc: test/bench-only entry points for the engine's op
// families (gemm, layernorm, softmax, attention, dynconv, sepconv, embedding),
// each run synchronously on one explicit CPU path ('generic' | 'avx2' |
// 'avx512') and returning the name of the path that ran. Not public API.
// Every array is checked against the sizes given, so a bad call is a
// RangeError/TypeError, never an out-of-bounds access.
#include <napi.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <string>
#include <type_traits>
#include <vector>

#include "../addon.h"
#include "../args.h"
#include "convbert/cpu.h"
#include "convbert/huge_vector.h"
#include "convbert/ops.h"

namespace convbert {
namespace {

// Positional arguments of one entry point, read through args.h (each throws a
// ConvBertError naming "<fn>: <name>"). Sizes are at most 2^53 - 1 and every
// element count is a checked product (Mul), so no length check can pass on a
// wrapped product.
struct Args {
  const Napi::CallbackInfo& info;
  const char* fn;

  std::string Name(const char* name) const { return std::string(fn) + ": " + name; }
  int64_t Int(size_t i, const char* name, int64_t lo = 0, int64_t hi = args::kMaxSafe) {
    return args::Int(args::At(info, i), Name(name), lo, hi);
  }
  int64_t IntOr(size_t i, const char* name, int64_t lo, int64_t hi, int64_t dflt) {
    return args::IntOr(args::At(info, i), Name(name), lo, hi, dflt);
  }
  double Num(size_t i, const char* name) { return args::Num(args::At(info, i), Name(name)); }
  int64_t Mul(const char* what, int64_t x, int64_t y) { return args::Mul(info.Env(), Name(what), x, y); }
  int64_t Mul(const char* what, int64_t x, int64_t y, int64_t z) { return args::Mul(info.Env(), Name(what), x, y, z); }
  int64_t Mul(const char* what, int64_t x, int64_t y, int64_t z, int64_t w) {
    return args::Mul(info.Env(), Name(what), args::Mul(info.Env(), Name(what), x, y), z, w);
  }
  // A Float32Array (or Int32Array) of exactly n elements; null allowed when nullable.
  template <typename T>
  T* Arr(size_t i, const char* name, int64_t n, bool nullable = false) {
    const napi_typedarray_type want = std::is_same<T, int32_t>::value ? napi_int32_array : napi_float32_array;
    return static_cast<T*>(args::TypedArray(args::At(info, i), Name(name), want, n, nullable));
  }
  // The optional epilogue activation code at i (identity when absent).
  Activation Act(size_t i) {
    return static_cast<Activation>(IntOr(i, "act", 0, static_cast<int64_t>(Activation::kCount) - 1, 0));
  }
  const OpTable* Path(size_t i) {
    const std::string s = args::Choice(args::At(info, i), Name("path"), {"generic", "avx2", "avx512"});
    if (s == "avx2") return &cpu_ops(Isa::kAvx2);
    if (s == "avx512") return &cpu_ops(Isa::kAvx512);
    return &cpu_ops(Isa::kGeneric);
  }
  Napi::Value Done(const Status& st, const OpTable* ops) {
    args::Check(info.Env(), st);
    return Napi::String::New(info.Env(), ops->name);
  }
};

// The operands opGemm and opGemmBf16 share: A (M,K), B (N,K), bias (N)|null, C (M,N), M, N, K, path, act?.
struct GemmOperands {
  int64_t M, N, K;
  const float* A;
  const float* B;
  const float* bias;
  float* C;
  const OpTable* ops;
  Activation act;
};

GemmOperands ReadGemmOperands(Args& a) {
  GemmOperands o;
  o.M = a.Int(4, "M");
  o.N = a.Int(5, "N", 1);
  o.K = a.Int(6, "K");
  o.A = a.Arr<float>(0, "A", a.Mul("M * K", o.M, o.K));
  o.B = a.Arr<float>(1, "B", a.Mul("N * K", o.N, o.K));
  o.bias = a.Arr<float>(2, "bias", o.N, true);
  o.C = a.Arr<float>(3, "C", a.Mul("M * N", o.M, o.N));
  o.ops = a.Path(7);
  o.act = a.Act(8);
  return o;
}

// The fields of GemmArgs / GemmBf16Args that come from the operands, with B already packed.
template <typename GemmT, typename PackedT>
GemmT GemmCall(const GemmOperands& o, const PackedT* packed) {
  GemmT g;
  g.A = o.A;
  g.lda = o.K;
  g.B.data = packed;
  g.B.N = o.N;
  g.B.K = o.K;
  g.bias = o.bias;
  g.C = o.C;
  g.ldc = o.N;
  g.M = o.M;
  g.act = o.act;
  return g;
}

// opGemm(A (M,K), B (N,K), bias (N)|null, C (M,N), M, N, K, path, act?): C = act(A·Bᵀ + bias) through the
// packed layout; act is an optional Activation code for the epilogue.
Napi::Value OpGemm(const Napi::CallbackInfo& info) {
  Args a{info, "opGemm"};
  const GemmOperands o = ReadGemmOperands(a);
  std::vector<float> packed(static_cast<size_t>(packed_gemm_size(o.N, o.K)));
  pack_gemm_b(o.B, o.K, o.N, o.K, false, packed.data());
  return a.Done(gemm(*o.ops, GemmCall<GemmArgs>(o, packed.data())), o.ops);
}

// opGemmBf16(A (M,K), B (N,K), bias (N)|null, C (M,N), M, N, K, path, act?): the bf16 gemm (B packed as
// bf16, A rounded to bf16 per block, fp32 accumulation). Returns 'avx512_bf16' when the AVX512_BF16
// kernel ran, else the name of the fp32 path that ran on the widened bf16 values.
Napi::Value OpGemmBf16(const Napi::CallbackInfo& info) {
  Args a{info, "opGemmBf16"};
  const GemmOperands o = ReadGemmOperands(a);
  std::vector<uint16_t> packed(static_cast<size_t>(packed_gemm_bf16_size(o.N, o.K)));
  pack_gemm_b_bf16(o.B, o.K, o.N, o.K, false, packed.data());
  Napi::Value r = a.Done(gemm_bf16(*o.ops, GemmCall<GemmBf16Args>(o, packed.data())), o.ops);
  if (r.IsString() && o.ops->gemm_bf16_block) return Napi::String::New(info.Env(), "avx512_bf16");
  return r;
}

// opGemmInt8(A, B, bias|null, C, M, N, K, path, act?, reps?, G?): the int8 gemm (B quantised per output
// channel at pack time, A per row per call, int32 sums, fp32 epilogue). G groups (default 1) run as the
// engine runs a grouped linear layer: A (M, G*K) with row stride G*K, group g reading columns [g*K, (g+1)*K);
// B (G*N, K), group g's rows [g*N, (g+1)*N); bias (G*N); C (M, G*N), group g writing columns [g*N, (g+1)*N);
// the groups share one scratch. reps (default 1) repeats the gemms after one packing, so a bench can time
// them alone. Returns the int8 kernel that ran: 'generic', 'avx2' (also the avx512 path on CPUs without
// VNNI) or 'avx512_vnni'.
Napi::Value OpGemmInt8(const Napi::CallbackInfo& info) {
  Args a{info, "opGemmInt8"};
  const int64_t M = a.Int(4, "M"), N = a.Int(5, "N", 1), K = a.Int(6, "K");
  const int64_t reps = a.IntOr(9, "reps", 1, args::kMaxSafe, 1);
  const int64_t G = a.IntOr(10, "G", 1, args::kMaxSafe, 1);
  const float* A = a.Arr<float>(0, "A", a.Mul("M * G * K", M, G, K));
  const float* B = a.Arr<float>(1, "B", a.Mul("G * N * K", G, N, K));
  const float* bias = a.Arr<float>(2, "bias", a.Mul("G * N", G, N), true);
  float* C = a.Arr<float>(3, "C", a.Mul("M * G * N", M, G, N));
  const OpTable* ops = a.Path(7);
  const int64_t per = packed_gemm_i8_size(N, K), cols = i8_padded_cols(N);
  std::vector<int8_t> packed(static_cast<size_t>(G * per));
  std::vector<float> scale(static_cast<size_t>(G * cols));
  std::vector<int32_t> colsum(static_cast<size_t>(G * cols));
  for (int64_t g = 0; g < G; ++g)
    pack_gemm_b_i8(B + g * N * K, K, N, K, false, packed.data() + g * per, scale.data() + g * cols,
                   colsum.data() + g * cols);
  std::vector<uint8_t> scratch(static_cast<size_t>(gemm_i8_scratch_size(M, K)) + 64);
  const Activation act = a.Act(8);
  Status st = Status::Ok();
  for (int64_t i = 0; i < reps && st.ok(); ++i)
    for (int64_t g = 0; g < G && st.ok(); ++g) {
      GemmI8Args q;
      q.A = A + g * K;
      q.lda = G * K;
      q.B.data = packed.data() + g * per;
      q.B.scale = scale.data() + g * cols;
      q.B.colsum = colsum.data() + g * cols;
      q.B.N = N;
      q.B.K = K;
      q.bias = bias ? bias + g * N : nullptr;
      q.C = C + g * N;
      q.ldc = G * N;
      q.M = M;
      q.act = act;
      q.scratch = scratch.data() + (64 - reinterpret_cast<uintptr_t>(scratch.data()) % 64) % 64;
      st = gemm_i8(*ops, q);
    }
  Napi::Value r = a.Done(st, ops);
  if (r.IsString()) return Napi::String::New(info.Env(), ops->gemm_i8_name);
  return r;
}

// opLayerNorm(x (rows,C), r|null, gamma (C), beta (C), y (rows,C), rows, C, eps, path)
Napi::Value OpLayerNorm(const Napi::CallbackInfo& info) {
  Args a{info, "opLayerNorm"};
  const int64_t rows = a.Int(5, "rows"), C = a.Int(6, "C", 1);
  LayerNormArgs l;
  const int64_t n = a.Mul("rows * C", rows, C);
  l.x = a.Arr<float>(0, "x", n);
  l.r = a.Arr<float>(1, "r", n, true);
  l.gamma = a.Arr<float>(2, "gamma", C);
  l.beta = a.Arr<float>(3, "beta", C);
  l.y = a.Arr<float>(4, "y", n);
  l.rows = rows;
  l.C = C;
  l.eps = static_cast<float>(a.Num(7, "eps"));
  const OpTable* ops = a.Path(8);
  return a.Done(layernorm(*ops, l), ops);
}

// opSoftmax(x (rows,n), rows, n, path): in place.
Napi::Value OpSoftmax(const Napi::CallbackInfo& info) {
  Args a{info, "opSoftmax"};
  const int64_t rows = a.Int(1, "rows"), n = a.Int(2, "n", 1);
  SoftmaxArgs s;
  s.x = a.Arr<float>(0, "x", a.Mul("rows * n", rows, n));
  s.rows = rows;
  s.n = n;
  const OpTable* ops = a.Path(3);
  return a.Done(softmax(*ops, s), ops);
}

// opAttention(q, k, v (B,L,H*D), maskBias (B,L)|(B,L,L)|null, maskRank, headMult (H)|null,
//             out (B,L,H*D), probs (B,H,L,L)|null, B, L, H, D, path)
Napi::Value OpAttention(const Napi::CallbackInfo& info) {
  Args a{info, "opAttention"};
  const int64_t B = a.Int(8, "B"), L = a.Int(9, "L"), H = a.Int(10, "H", 1), D = a.Int(11, "D", 1);
  const int64_t rank = a.Int(4, "maskRank", 0, 3);
  const int64_t n = a.Mul("B * L * H * D", B, L, H, D);
  AttentionArgs at;
  at.q = a.Arr<float>(0, "q", n);
  at.k = a.Arr<float>(1, "k", n);
  at.v = a.Arr<float>(2, "v", n);
  at.mask_bias = a.Arr<float>(3, "maskBias", rank == 3 ? a.Mul("B * L * L", B, L, L) : a.Mul("B * L", B, L), true);
  at.mask_rank = static_cast<int32_t>(rank);
  at.head_mult = a.Arr<float>(5, "headMult", H, true);
  at.out = a.Arr<float>(6, "out", n);
  at.probs = a.Arr<float>(7, "probs", a.Mul("B * H * L * L", B, H, L, L), true);
  at.ld = at.ldo = H * D;
  at.B = B;
  at.L = L;
  at.H = H;
  at.D = D;
  const OpTable* ops = a.Path(12);
  std::vector<float> scratch(static_cast<size_t>(attention_scratch_size(B, L, H, D)));
  at.scratch = scratch.data();
  return a.Done(attention(*ops, at), ops);
}

// opDynConv(v (B,L,H*D), w (B,L,H,K), out (B,L,H*D), B, L, H, D, K, path)
Napi::Value OpDynConv(const Napi::CallbackInfo& info) {
  Args a{info, "opDynConv"};
  const int64_t B = a.Int(3, "B"), L = a.Int(4, "L"), H = a.Int(5, "H", 1), D = a.Int(6, "D", 1), K = a.Int(7, "K", 1);
  DynConvArgs d;
  d.v = a.Arr<float>(0, "v", a.Mul("B * L * H * D", B, L, H, D));
  d.w = a.Arr<float>(1, "w", a.Mul("B * L * H * K", B, L, H, K));
  d.out = a.Arr<float>(2, "out", a.Mul("B * L * H * D", B, L, H, D));
  d.ldv = d.ldo = H * D;
  d.B = B;
  d.L = L;
  d.H = H;
  d.D = D;
  d.K = K;
  const OpTable* ops = a.Path(8);
  return a.Done(dynconv(*ops, d), ops);
}

// opSepConv(x (B,L,C), wt (K,C), y (B,L,C), B, L, C, K, path)
Napi::Value OpSepConv(const Napi::CallbackInfo& info) {
  Args a{info, "opSepConv"};
  const int64_t B = a.Int(3, "B"), L = a.Int(4, "L"), C = a.Int(5, "C", 1), K = a.Int(6, "K", 1);
  SepConvArgs s;
  s.x = a.Arr<float>(0, "x", a.Mul("B * L * C", B, L, C));
  s.wt = a.Arr<float>(1, "wt", a.Mul("K * C", K, C));
  s.y = a.Arr<float>(2, "y", a.Mul("B * L * C", B, L, C));
  s.B = B;
  s.L = L;
  s.C = C;
  s.K = K;
  const OpTable* ops = a.Path(7);
  return a.Done(sepconv(*ops, s), ops);
}

// opEmbedding(ids (T)|null, embeds (T,E)|null, positions (T), types (T)|null, word (V,E), pos (P,E),
//             type (TV,E), y (T,E), T, E, V, P, TV, path)
Napi::Value OpEmbedding(const Napi::CallbackInfo& info) {
  Args a{info, "opEmbedding"};
  const int64_t T = a.Int(8, "T"), E = a.Int(9, "E", 1), V = a.Int(10, "V", 1), P = a.Int(11, "P", 1),
                TV = a.Int(12, "TV", 1);
  EmbeddingArgs e;
  e.ids = a.Arr<int32_t>(0, "ids", T, true);
  e.embeds = a.Arr<float>(1, "embeds", a.Mul("T * E", T, E), true);
  e.positions = a.Arr<int32_t>(2, "positions", T);
  e.types = a.Arr<int32_t>(3, "types", T, true);
  e.word = a.Arr<float>(4, "word", a.Mul("V * E", V, E));
  e.pos = a.Arr<float>(5, "pos", a.Mul("P * E", P, E));
  e.type = a.Arr<float>(6, "type", a.Mul("TV * E", TV, E));
  e.y = a.Arr<float>(7, "y", a.Mul("T * E", T, E));
  e.T = T;
  e.E = E;
  e.vocab = V;
  e.max_pos = P;
  e.type_vocab = TV;
  const OpTable* ops = a.Path(13);
  return a.Done(embedding(*ops, e), ops);
}

// opFmaPeak(path, iters, threads): the machine's FP32 FMA peak on one path, measured
// by the engine pool -> { gflops, seconds, cpuSeconds, gflopsPerCpuSecond, path, threads }. Bench-only.
Napi::Value OpFmaPeak(const Napi::CallbackInfo& info) {
  Args a{info, "opFmaPeak"};
  const OpTable* ops = a.Path(0);
  const int64_t iters = a.Int(1, "iters", 1), threads = a.Int(2, "threads", 1, 1024);
  const int32_t isa = ops == &cpu_ops(Isa::kAvx512) ? 2 : ops == &cpu_ops(Isa::kAvx2) ? 1 : 0;
  FmaPeakResult r;
  const Status st = fma_peak(isa, iters, static_cast<int32_t>(threads), &r);
  Napi::Env env = info.Env();
  if (!st.ok()) {
    Addon::Of(env)->MakeError(env, st).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("gflops", r.gflops);
  o.Set("seconds", r.seconds);
  o.Set("cpuSeconds", r.cpu_seconds);
  o.Set("gflopsPerCpuSecond", r.gflops_per_cpu_second);
  o.Set("path", r.path);
  o.Set("threads", r.threads);
  return o;
}

// The seeded operands of opGemmTime, in this order from one LCG (state 12345,
// x = x * 1664525 + 1013904223 mod 2^32, value (x >> 8) / 2^24 - 0.5 in float):
// A (M*K), bias (N), then B (N*K, each value times 0.05f). test/ops/kernels.ts
// rebuilds them to check the timed products.
void gemm_time_inputs(float* A, int64_t nA, float* bias, int64_t nb, float* B, int64_t nB) {
  uint32_t s = 12345;
  auto next = [&s]() {
    s = s * 1664525u + 1013904223u;
    return static_cast<float>(s >> 8) / 16777216.f - 0.5f;
  };
  for (int64_t i = 0; i < nA; ++i) A[i] = next();
  for (int64_t i = 0; i < nb; ++i) bias[i] = next();
  for (int64_t i = 0; i < nB; ++i) B[i] = next() * 0.05f;
}

// opGemmTime(M, N, K, iters, copies, path): times the packed fp32 gemm on the engine
// pool as the model runs it: `copies` packed weight matrices of (N, K) (so the
// weights come from memory, as a 12-layer model's do, when copies x N x K x 4
// bytes exceeds the caches), walked in turn for `iters` products after one
// untimed pass over all of them -> { seconds, cpuSeconds, gflops,
// gflopsPerCpuSecond, path, checksum }; cpuSeconds is the process CPU time (every
// pool thread). The inputs are seeded (gemm_time_inputs) and checksum is the sum
// of C in double, so a test can check that the timed products computed the gemm.
// Bench-only (bench/gemm.ts).
Napi::Value OpGemmTime(const Napi::CallbackInfo& info) {
  Args a{info, "opGemmTime"};
  const int64_t M = a.Int(0, "M", 1), N = a.Int(1, "N", 1), K = a.Int(2, "K", 1);
  const int64_t iters = a.Int(3, "iters", 1), copies = a.Int(4, "copies", 1);
  const OpTable* ops = a.Path(5);
  // Each bound is checked before any product that could overflow: at most 256 MiB
  // each for A, C and the unpacked B, 512 MiB of packed copies, and about a minute
  // of products at 200 GFLOP/s.
  const int64_t lim = int64_t{1} << 26;
  if (copies > 64)
    args::Throw(info.Env(), StatusCode::kInvalidArgument,
                "opGemmTime: copies: expected <= 64, got " + std::to_string(copies), "ERR_CONVBERT_LIMIT");
  if (M > lim || N > lim || K > lim || M * K > lim || M * N > lim || N * K > lim ||
      packed_gemm_size(N, K) > (int64_t{1} << 27) / copies) {
    args::Throw(info.Env(), StatusCode::kInvalidArgument,
                "opGemmTime: M*K, M*N, N*K: expected each <= 2^26 and copies*N*K <= 2^27 elements, got M = " +
                    std::to_string(M) + ", N = " + std::to_string(N) + ", K = " + std::to_string(K) +
                    ", copies = " + std::to_string(copies),
                "ERR_CONVBERT_LIMIT");
  }
  if (static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K) * static_cast<double>(iters) > 6e12) {
    args::Throw(info.Env(), StatusCode::kInvalidArgument,
                "opGemmTime: iters*M*N*K: expected <= 6e12 (about a minute of products), got " + std::to_string(iters) +
                    " * " + std::to_string(M) + " * " + std::to_string(N) + " * " + std::to_string(K),
                "ERR_CONVBERT_LIMIT");
  }
  const int64_t packed_n = packed_gemm_size(N, K);
  // Huge pages where the engine uses them (weights and the activation arena).
  HugeVector<float> A, C;
  std::vector<float> bias;
  std::vector<HugeVector<float>> W;
  try {
    A.resize(static_cast<size_t>(M * K));
    C.resize(static_cast<size_t>(M * N));
    bias.resize(static_cast<size_t>(N));
    W.resize(static_cast<size_t>(copies));
    std::vector<float> B(static_cast<size_t>(N * K));
    gemm_time_inputs(A.data(), M * K, bias.data(), N, B.data(), N * K);
    for (auto& w : W) {
      w.resize(static_cast<size_t>(packed_n));
      pack_gemm_b(B.data(), K, N, K, false, w.data());
    }
  } catch (const std::bad_alloc&) {
    Napi::Env env = info.Env();
    Addon::Of(env)
        ->MakeError(env, Status::Error(StatusCode::kOutOfMemory, "opGemmTime: cannot allocate the operands"))
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  GemmArgs g;
  g.A = A.data();
  g.lda = K;
  g.B.N = N;
  g.B.K = K;
  g.bias = bias.data();
  g.C = C.data();
  g.ldc = N;
  g.M = M;
  Status st = Status::Ok();
  for (int64_t i = 0; i < copies && st.ok(); ++i) {
    g.B.data = W[static_cast<size_t>(i)].data();
    st = gemm(*ops, g);
  }
  std::fill(C.begin(), C.end(), 0.f);  // the timed products must write C again
  timespec c0{}, c1{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < iters && st.ok(); ++i) {
    g.B.data = W[static_cast<size_t>(i % copies)].data();
    st = gemm(*ops, g);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
  Napi::Env env = info.Env();
  if (!st.ok()) {
    Addon::Of(env)->MakeError(env, st).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double checksum = 0;
  for (float v : C) checksum += v;
  const double cpu = static_cast<double>(c1.tv_sec - c0.tv_sec) + static_cast<double>(c1.tv_nsec - c0.tv_nsec) / 1e9;
  const double flops =
      2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K) * static_cast<double>(iters);
  Napi::Object o = Napi::Object::New(env);
  o.Set("seconds", secs);
  o.Set("cpuSeconds", cpu);
  o.Set("gflops", secs > 0 ? flops / secs / 1e9 : 0.0);
  o.Set("gflopsPerCpuSecond", cpu > 0 ? flops / cpu / 1e9 : 0.0);
  o.Set("path", ops->name);
  o.Set("checksum", checksum);
  return o;
}

void InitKernelOps(Napi::Env env, Napi::Object exports) {
  exports.Set("opGemm", Napi::Function::New(env, OpGemm, "opGemm"));
  exports.Set("opGemmBf16", Napi::Function::New(env, OpGemmBf16, "opGemmBf16"));
  exports.Set("opGemmInt8", Napi::Function::New(env, OpGemmInt8, "opGemmInt8"));
  exports.Set("opLayerNorm", Napi::Function::New(env, OpLayerNorm, "opLayerNorm"));
  exports.Set("opSoftmax", Napi::Function::New(env, OpSoftmax, "opSoftmax"));
  exports.Set("opAttention", Napi::Function::New(env, OpAttention, "opAttention"));
  exports.Set("opDynConv", Napi::Function::New(env, OpDynConv, "opDynConv"));
  exports.Set("opSepConv", Napi::Function::New(env, OpSepConv, "opSepConv"));
  exports.Set("opEmbedding", Napi::Function::New(env, OpEmbedding, "opEmbedding"));
  exports.Set("opFmaPeak", Napi::Function::New(env, OpFmaPeak, "opFmaPeak"));
  exports.Set("opGemmTime", Napi::Function::New(env, OpGemmTime, "opGemmTime"));
}

BindingRegistrar reg("KernelOps", &InitKernelOps);

}  // namespace
}  // namespace convbert
