// ops.h: the op interface both backends implement (cpu/ and cuda/).
// One Args struct per op family, each field group commented with its meaning,
// shape and units. The engine is written once against OpTable.
#pragma once
#include <cstdint>

#include "convbert/status.h"

namespace convbert {

// Every hidden_act in Hugging Face's ACT2FN that has no parameters.
enum class Activation : int32_t {
  kIdentity = 0,    // "linear"
  kGeluErf = 1,     // "gelu", "gelu_python": 0.5 x (1 + erf(x / sqrt 2))
  kGeluTanh = 2,    // "gelu_new", "gelu_fast", "gelu_pytorch_tanh", "gelu_accurate"
  kQuickGelu = 3,   // "quick_gelu": x * sigmoid(1.702 x)
  kRelu = 4,        // "relu"
  kRelu6 = 5,       // "relu6"
  kRelu2 = 6,       // "relu2": relu(x)^2
  kSilu = 7,        // "silu", "swish"
  kSigmoid = 8,     // "sigmoid"
  kTanh = 9,        // "tanh"
  kMish = 10,       // "mish": x * tanh(softplus(x))
  kGelu10 = 11,     // "gelu_10": gelu clipped to [-10, 10]
  kLaplace = 12,    // "laplace": 0.5 (1 + erf((x - 0.707107) / (0.282095 sqrt 2)))
  kLeakyRelu = 13,  // "leaky_relu": negative slope 0.01
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

// ---------------------------------------------------------------------------
// gemm: C = A · Bᵀ + bias, B an nn.Linear weight (N, K) pre-packed once into
// panels of kGemmPanel columns: panel p holds B[p*16 .. p*16+15][0..K) stored
// k-major (16 floats per k), the last panel zero-padded. Every path reads the
// same layout, so one PackedMatrix serves generic, avx2 and avx512.
constexpr int64_t kGemmPanel = 16;

struct PackedMatrix {
  // data: ceil(N / 16) panels of K*16 floats; N, K: the logical (out, in) sizes.
  const float* data = nullptr;
  int64_t N = 0;
  int64_t K = 0;
};

// Number of floats pack_gemm_b writes for an (N, K) matrix.
int64_t packed_gemm_size(int64_t N, int64_t K);
// Packs B (N, K) row-major with row stride ldb into dst (packed_gemm_size floats).
// When transposed, B is given as (K, N) with row stride ldb (grouped linear weights).
void pack_gemm_b(const float* B, int64_t ldb, int64_t N, int64_t K, bool transposed, float* dst);

struct GemmArgs {
  // A: (M, K) row-major, row stride lda (elements); B: packed (N, K).
  const float* A = nullptr;
  int64_t lda = 0;
  PackedMatrix B;
  // bias: N floats or null, added to every row.
  const float* bias = nullptr;
  // C: (M, N), row stride ldc; written, never read (no accumulation).
  float* C = nullptr;
  int64_t ldc = 0;
  int64_t M = 0;
  // Epilogue: act is applied to each output tile right after it is computed (while in cache).
  Activation act = Activation::kIdentity;
};

// A block kernel: C[0..M)[0..N) = A · Bpᵀ + bias for N <= the panels starting
// at Bp (K floats per panel column); blocks over K internally.
using GemmBlockFn = void (*)(const float* A, int64_t lda, const float* Bp, int64_t K, const float* bias, float* C,
                             int64_t ldc, int64_t M, int64_t N);

// ---------------------------------------------------------------------------
// bf16 gemm (opt-in dtype 'bfloat16'): the same C = act(A · Bᵀ + bias), with B
// rounded to bfloat16 once at pack time and A rounded to bfloat16 (round to
// nearest even) per row block inside the driver; products are accumulated in
// fp32 and the bias/activation epilogue runs in fp32. Layout: 16-column panels
// as above, K padded to even Kp; panel p holds, for each k-pair kk and column j,
// the two values (B[n][2kk], B[n][2kk+1]) next to each other (uint16 index
// (kk * 16 + j) * 2 + (k & 1)), the operand layout of vdpbf16ps.
struct PackedMatrixBf16 {
  const uint16_t* data = nullptr;  // ceil(N / 16) panels of Kp*16 bf16 values
  int64_t N = 0;
  int64_t K = 0;
};
// Number of uint16 values pack_gemm_b_bf16 writes for an (N, K) matrix.
int64_t packed_gemm_bf16_size(int64_t N, int64_t K);
// As pack_gemm_b, rounding each value to bf16 (nearest even; NaN stays NaN).
void pack_gemm_b_bf16(const float* B, int64_t ldb, int64_t N, int64_t K, bool transposed, uint16_t* dst);
// fp32 -> bf16 (round to nearest even) and back.
uint16_t float_to_bf16(float x);
float bf16_to_float(uint16_t b);

struct GemmBf16Args {
  const float* A = nullptr;  // (M, K) fp32, row stride lda; rounded to bf16 by the driver
  int64_t lda = 0;
  PackedMatrixBf16 B;
  const float* bias = nullptr;
  float* C = nullptr;
  int64_t ldc = 0;
  int64_t M = 0;
  Activation act = Activation::kIdentity;
};
// A bf16 block kernel: C[0..M)[0..N) = A · Bpᵀ + bias, A already bf16 with row
// stride lda (even, >= Kp, zero-padded to Kp), Bp the panels starting at column 0.
using GemmBf16BlockFn = void (*)(const uint16_t* A, int64_t lda, const uint16_t* Bp, int64_t K, const float* bias,
                                 float* C, int64_t ldc, int64_t M, int64_t N);
// fp32 -> bf16 for n values (round to nearest even).
using Bf16ConvertRowFn = void (*)(const float* x, uint16_t* y, int64_t n);

// ---------------------------------------------------------------------------
// int8 gemm (opt-in dtype 'int8'): the same C = act(A · Bᵀ + bias) with
//  - B quantised once at pack time per output channel n, symmetric:
//    sb[n] = max_k |B[n][k]| / 127, qb[n][k] = round(B[n][k] / sb[n]) in [-127, 127];
//  - A quantised per call per row m, asymmetric over [min(0, min a), max(0, max a)]:
//    sa[m] = range / 255, q[m][k] = clamp(round(a[m][k] * (255 / range)) + zp[m], 0, 255),
//    zp[m] = round(-min * (255 / range)) (0 is exact; a row with range 0 or below
//    kI8MinRange has sa = 0 and q = 0; a row with a NaN or infinity has sa = NaN);
//  - exact int32 sums acc = Σ_k q·qb (u8 x s8, vpdpbusd), then the fp32 epilogue
//    C = fma(float(acc - zp[m]·colsum[n]), sa[m]·sb[n], bias[n]) and the activation.
// Rounding is to nearest even everywhere, so every path yields the same integers
// and the same floats. Layout: 16-column panels, K padded to Kq = K rounded up to
// 4; panel p holds, for each k-quad kq and column j, the 4 values B[n][4kq..4kq+3]
// next to each other (byte index kq*64 + j*4 + (k & 3)), the operand layout of vpdpbusd.
constexpr int64_t kI8MaxK = 65536;        // |Σ (q - zp)·qb| <= 255·127·K must fit int32
constexpr double kI8MinRange = 0x1p-100;  // rows narrower than this quantise to zero
struct PackedMatrixI8 {
  const int8_t* data = nullptr;     // ceil(N / 16) panels of Kq*16 int8 values
  const float* scale = nullptr;     // sb: ceil(N / 16) * 16 floats (0 past N)
  const int32_t* colsum = nullptr;  // Σ_k qb[n][k]: ceil(N / 16) * 16 int32 (0 past N)
  int64_t N = 0;
  int64_t K = 0;
};
// int8 values pack_gemm_b_i8 writes for an (N, K) matrix (scale/colsum: i8_padded_cols(N) each).
int64_t packed_gemm_i8_size(int64_t N, int64_t K);
int64_t i8_padded_cols(int64_t N);
// Quantises and packs B as above; a row with a NaN or infinity gets scale NaN and zeros.
void pack_gemm_b_i8(const float* B, int64_t ldb, int64_t N, int64_t K, bool transposed, int8_t* dst, float* scale,
                    int32_t* colsum);
// Bytes of scratch gemm_i8 needs for M rows of K (quantised rows, per-row scale and zero point).
int64_t gemm_i8_scratch_size(int64_t M, int64_t K);

struct GemmI8Args {
  const float* A = nullptr;  // (M, K) fp32, row stride lda; quantised per row by the driver
  int64_t lda = 0;
  PackedMatrixI8 B;
  const float* bias = nullptr;
  float* C = nullptr;
  int64_t ldc = 0;
  int64_t M = 0;
  Activation act = Activation::kIdentity;
  // gemm_i8_scratch_size(M, K) bytes, 4-byte aligned (64 is best), owned by the caller (the engine's arena).
  uint8_t* scratch = nullptr;
};
// An int8 block kernel: C[0..M)[0..N) = the epilogue above over Bp's panels (column 0 = panel
// start): A quantised u8 rows with stride lda (>= Kq, multiple of 4, zero-padded to Kq), sa/zp
// per row, sb/colsum per column (padded to whole panels), bias N floats or null.
using GemmI8BlockFn = void (*)(const uint8_t* A, int64_t lda, const float* sa, const int32_t* zp, const int8_t* Bp,
                               const float* sb, const int32_t* colsum, int64_t K, const float* bias, float* C,
                               int64_t ldc, int64_t M, int64_t N);
// Row min and max of n floats (n >= 1); NaN in *mn when the row holds a NaN.
using I8MinMaxRowFn = void (*)(const float* x, int64_t n, float* mn, float* mx);
// q[k] = clamp(round_even(x[k] * inv) + zp, 0, 255) for n values.
using I8QuantizeRowFn = void (*)(const float* x, int64_t n, float inv, int32_t zp, uint8_t* q);

// ---------------------------------------------------------------------------
// layernorm: y = LayerNorm(x + r) * gamma + beta over C, eps inside the sqrt
// (biased variance, as torch.nn.LayerNorm). y may alias x.
struct LayerNormArgs {
  // x, y: (rows, C), row strides C; r: (rows, C) residual or null.
  const float* x = nullptr;
  const float* r = nullptr;
  float* y = nullptr;
  // gamma, beta: C floats.
  const float* gamma = nullptr;
  const float* beta = nullptr;
  int64_t rows = 0;
  int64_t C = 0;
  float eps = 1e-12f;
};
using LayerNormRowFn = void (*)(const float* x, const float* r, const float* gamma, const float* beta, float* y,
                                int64_t C, float eps);

// ---------------------------------------------------------------------------
// softmax: in place over each contiguous group of n floats (x: (rows, n)).
struct SoftmaxArgs {
  float* x = nullptr;
  int64_t rows = 0;
  int64_t n = 0;
};
using SoftmaxRowFn = void (*)(float* x, int64_t n);

// ---------------------------------------------------------------------------
// attention: HF ConvBertSelfAttention's dot-product branch for every (b, h, i), run per
// head on the table's gemm_block and softmax_row kernels (no kernel of its own):
//   p = softmax(q_i · K_jᵀ / sqrt(D) + bias_ij) * head_mult[h];  out_i = Σ_j p_j V_j
// bias = (1 - m) * finfo(float32).min (added in float32, so a fully masked row
// comes out uniform, as in torch).
struct AttentionArgs {
  // q, k, v: (B, L, ld) with head h at columns [h*D, (h+1)*D).
  const float* q = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  int64_t ld = 0;
  int64_t B = 0, L = 0, H = 0, D = 0;
  // mask_bias: null, (B, L) when mask_rank == 2, or (B, L, L) when 3: already (1 - m) * finfo.min.
  const float* mask_bias = nullptr;
  int32_t mask_rank = 0;
  // head_mult: H multipliers of the probabilities, or null for ones.
  const float* head_mult = nullptr;
  // out: (B, L, ldo), head h at columns [h*D, (h+1)*D).
  float* out = nullptr;
  int64_t ldo = 0;
  // probs: (B, H, L, L) output of the probabilities after head_mult, or null.
  float* probs = nullptr;
  // scratch: at least attention_scratch_size(B, L, H, D) floats.
  float* scratch = nullptr;
  // Varlen: null, or B + 1 token offsets; sequence b is rows [cu_seqlens[b], cu_seqlens[b+1]) of
  // q/k/v/out and attends only to itself. L is then the longest sequence; mask_bias and probs must be null.
  const int32_t* cu_seqlens = nullptr;
};
// Scratch floats attention needs (L = the longest sequence).
int64_t attention_scratch_size(int64_t B, int64_t L, int64_t H, int64_t D);
// ---------------------------------------------------------------------------
// dynconv: ConvBERT's span-based dynamic convolution, kernels already softmaxed:
//   out[b,l,h,d] = Σ_j w[b,l,h,j] · v[b, l + j - (K-1)/2, h*D + d], zero outside [0, L).
struct DynConvArgs {
  // v: (B, L, ldv); w: (B, L, H, K); out: (B, L, ldo), head h at columns [h*D, (h+1)*D).
  const float* v = nullptr;
  int64_t ldv = 0;
  const float* w = nullptr;
  float* out = nullptr;
  int64_t ldo = 0;
  int64_t B = 0, L = 0, H = 0, D = 0, K = 0;
  // Varlen: null, or B + 1 token offsets (rows of v, w, out); each sequence is zero-padded at its own edges.
  const int32_t* cu_seqlens = nullptr;
};
// One (b, l, h): vseq = v at (b, 0, h*D); w: K taps; out: D floats.
using DynConvRowFn = void (*)(const float* vseq, int64_t ldv, int64_t L, int64_t l, const float* w, int64_t K,
                              int64_t D, float* out);

// ---------------------------------------------------------------------------
// sepconv: the depthwise half of SeparableConv1D (no bias): zero padding K/2,
//   y[b,l,c] = Σ_t x[b, l + t - K/2, c] · w[c, t]   (torch conv1d is a correlation).
// The pointwise 1x1 conv and its bias are a gemm.
struct SepConvArgs {
  // x, y: (B, L, C) contiguous; wt: (K, C), the depthwise weight (C, 1, K) transposed.
  const float* x = nullptr;
  float* y = nullptr;
  const float* wt = nullptr;
  int64_t B = 0, L = 0, C = 0, K = 0;
  // Varlen: null, or B + 1 token offsets (rows of x, y); each sequence is zero-padded at its own edges.
  const int32_t* cu_seqlens = nullptr;
};
using SepConvRowFn = void (*)(const float* xseq, int64_t L, int64_t l, int64_t C, const float* wt, int64_t K, float* y);

// ---------------------------------------------------------------------------
// embedding: y[t] = word[id_t] (or inputs_embeds[t]) + pos[pos_t] + type[type_t], all E wide.
// Ids must already be range-checked (the binding does it); the driver re-checks and
// returns kInvalidArgument rather than read out of bounds.
struct EmbeddingArgs {
  // ids: (T,) or null when embeds (T, E) is given; positions: (T,), required; types: (T,) or null (all 0).
  const int32_t* ids = nullptr;
  const float* embeds = nullptr;
  const int32_t* positions = nullptr;
  const int32_t* types = nullptr;
  // tables: (vocab, E), (max_pos, E), (type_vocab, E).
  const float* word = nullptr;
  const float* pos = nullptr;
  const float* type = nullptr;
  int64_t vocab = 0, max_pos = 0, type_vocab = 0;
  int64_t T = 0, E = 0;
  float* y = nullptr;
};
using EmbeddingRowFn = void (*)(const float* a, const float* b, const float* c, int64_t E, float* y);

struct OpTable {
  const char* name = "generic";  // which path filled the table: generic, avx2, avx512, cuda
  ActivationRowFn activation_row = nullptr;
  GemmBlockFn gemm_block = nullptr;
  // Optional: the same result as gemm_block, for a task that reads its weight
  // panels once from memory (the driver's task spans every row); null: gemm_block.
  GemmBlockFn gemm_block_stream = nullptr;
  LayerNormRowFn layernorm_row = nullptr;
  SoftmaxRowFn softmax_row = nullptr;
  DynConvRowFn dynconv_row = nullptr;
  SepConvRowFn sepconv_row = nullptr;
  EmbeddingRowFn embedding_row = nullptr;
  // AVX512_BF16 dot-product kernel, or null: gemm_bf16 then widens B back to
  // fp32 per block and runs gemm_block (same bf16-rounded inputs, slower).
  GemmBf16BlockFn gemm_bf16_block = nullptr;
  GemmBf16BlockFn gemm_bf16_block_stream = nullptr;  // as gemm_block_stream; null: gemm_bf16_block
  Bf16ConvertRowFn bf16_convert_row = nullptr;       // set with gemm_bf16_block; null: scalar float_to_bf16
  // int8 gemm kernels (always set): the scalar reference (generic), the AVX2 int16
  // vpmaddwd kernel (avx2, and avx512 without VNNI) or AVX512_VNNI vpdpbusd.
  GemmI8BlockFn gemm_i8_block = nullptr;
  I8MinMaxRowFn i8_minmax_row = nullptr;
  I8QuantizeRowFn i8_quantize_row = nullptr;
  const char* gemm_i8_name = "generic";  // generic | avx2 | avx512_vnni
};

// Drivers: split the work across the engine's thread pool and call the table's row kernels.
Status activation(const OpTable& ops, const ActivationArgs& args);
Status gemm(const OpTable& ops, const GemmArgs& args);
Status gemm_bf16(const OpTable& ops, const GemmBf16Args& args);
Status gemm_i8(const OpTable& ops, const GemmI8Args& args);
Status layernorm(const OpTable& ops, const LayerNormArgs& args);
Status softmax(const OpTable& ops, const SoftmaxArgs& args);
Status attention(const OpTable& ops, const AttentionArgs& args);
Status dynconv(const OpTable& ops, const DynConvArgs& args);
Status sepconv(const OpTable& ops, const SepConvArgs& args);
Status embedding(const OpTable& ops, const EmbeddingArgs& args);

// Bench-only FMA peak probe: `threads` pool tasks each run iters x 12 independent
// FMAs of one path (isa: 0 generic, 1 avx2, 2 avx512; lowered to what the CPU has).
struct FmaPeakResult {
  double gflops = 0, seconds = 0;                     // wall clock: flops / seconds
  double cpu_seconds = 0, gflops_per_cpu_second = 0;  // summed thread CPU time: one core's rate
  const char* path = "";
  int32_t threads = 0;  // tasks that could run at once (min(threads, pool size))
};
Status fma_peak(int32_t isa, int64_t iters, int32_t threads, FmaPeakResult* out);

}  // namespace convbert
