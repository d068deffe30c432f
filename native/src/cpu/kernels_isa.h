// kernels_isa.h: entry points of the ISA-specific translation units.
// Plain declarations only (no STL, no inline helpers): the _avx2/_avx512 files
// are compiled with their own -m flags, and a shared inline function could be
// kept in its AVX-512 form and then run on a CPU without AVX-512.
#pragma once
#include <stdint.h>

namespace convbert {

// activation row kernels; act is a convbert::Activation value.
void activation_row_ref(const float* x, float* y, const float* bias, int64_t C, int32_t act);
void activation_row_avx2(const float* x, float* y, const float* bias, int64_t C, int32_t act);
void activation_row_avx512(const float* x, float* y, const float* bias, int64_t C, int32_t act);

// gemm block kernels (ops.h GemmBlockFn): C = A · Bpᵀ + bias over packed 16-column panels.
void gemm_block_ref(const float* A, int64_t lda, const float* Bp, int64_t K, const float* bias, float* C, int64_t ldc,
                    int64_t M, int64_t N);
void gemm_block_avx2(const float* A, int64_t lda, const float* Bp, int64_t K, const float* bias, float* C, int64_t ldc,
                     int64_t M, int64_t N);
void gemm_block_avx512(const float* A, int64_t lda, const float* Bp, int64_t K, const float* bias, float* C,
                       int64_t ldc, int64_t M, int64_t N);
// ops.h gemm_block_stream: the same result, walked for weights read once from memory.
void gemm_block_stream_avx512(const float* A, int64_t lda, const float* Bp, int64_t K, const float* bias, float* C,
                              int64_t ldc, int64_t M, int64_t N);

// bf16 gemm block kernel (ops.h GemmBf16BlockFn), AVX512_BF16 only.
void gemm_bf16_block_avx512bf16(const uint16_t* A, int64_t lda, const uint16_t* Bp, int64_t K, const float* bias,
                                float* C, int64_t ldc, int64_t M, int64_t N);
void gemm_bf16_block_stream_avx512bf16(const uint16_t* A, int64_t lda, const uint16_t* Bp, int64_t K, const float* bias,
                                       float* C, int64_t ldc, int64_t M, int64_t N);
// fp32 -> bf16 of n values, round to nearest even (vcvtne2ps2bf16; denormal inputs become zero).
void f32_to_bf16_row_avx512bf16(const float* x, uint16_t* y, int64_t n);

// int8 gemm (ops.h GemmI8BlockFn, I8MinMaxRowFn, I8QuantizeRowFn): the reference in
// gemm_i8.cc; AVX2 widens to int16 and uses vpmaddwd; AVX512_VNNI uses vpdpbusd.
void gemm_i8_block_ref(const uint8_t* A, int64_t lda, const float* sa, const int32_t* zp, const int8_t* Bp,
                       const float* sb, const int32_t* colsum, int64_t K, const float* bias, float* C, int64_t ldc,
                       int64_t M, int64_t N);
void gemm_i8_block_avx2(const uint8_t* A, int64_t lda, const float* sa, const int32_t* zp, const int8_t* Bp,
                        const float* sb, const int32_t* colsum, int64_t K, const float* bias, float* C, int64_t ldc,
                        int64_t M, int64_t N);
void gemm_i8_block_avx512vnni(const uint8_t* A, int64_t lda, const float* sa, const int32_t* zp, const int8_t* Bp,
                              const float* sb, const int32_t* colsum, int64_t K, const float* bias, float* C,
                              int64_t ldc, int64_t M, int64_t N);
void i8_minmax_row_ref(const float* x, int64_t n, float* mn, float* mx);
void i8_minmax_row_avx2(const float* x, int64_t n, float* mn, float* mx);
void i8_minmax_row_avx512vnni(const float* x, int64_t n, float* mn, float* mx);
void i8_quantize_row_ref(const float* x, int64_t n, float inv, int32_t zp, uint8_t* q);
void i8_quantize_row_avx2(const float* x, int64_t n, float inv, int32_t zp, uint8_t* q);
void i8_quantize_row_avx512vnni(const float* x, int64_t n, float inv, int32_t zp, uint8_t* q);

// layernorm rows (ops.h LayerNormRowFn).
void layernorm_row_ref(const float* x, const float* r, const float* gamma, const float* beta, float* y, int64_t C,
                       float eps);
void layernorm_row_avx2(const float* x, const float* r, const float* gamma, const float* beta, float* y, int64_t C,
                        float eps);
void layernorm_row_avx512(const float* x, const float* r, const float* gamma, const float* beta, float* y, int64_t C,
                          float eps);

// softmax rows, in place (ops.h SoftmaxRowFn).
void softmax_row_ref(float* x, int64_t n);
void softmax_row_avx2(float* x, int64_t n);
void softmax_row_avx512(float* x, int64_t n);

// dynamic convolution, one (b, l, h) (ops.h DynConvRowFn).
void dynconv_row_ref(const float* vseq, int64_t ldv, int64_t L, int64_t l, const float* w, int64_t K, int64_t D,
                     float* out);
void dynconv_row_avx2(const float* vseq, int64_t ldv, int64_t L, int64_t l, const float* w, int64_t K, int64_t D,
                      float* out);
void dynconv_row_avx512(const float* vseq, int64_t ldv, int64_t L, int64_t l, const float* w, int64_t K, int64_t D,
                        float* out);

// depthwise conv, one (b, l) (ops.h SepConvRowFn).
void sepconv_row_ref(const float* xseq, int64_t L, int64_t l, int64_t C, const float* wt, int64_t K, float* y);
void sepconv_row_avx2(const float* xseq, int64_t L, int64_t l, int64_t C, const float* wt, int64_t K, float* y);
void sepconv_row_avx512(const float* xseq, int64_t L, int64_t l, int64_t C, const float* wt, int64_t K, float* y);

// embedding sum, one token (ops.h EmbeddingRowFn).
void embedding_row_ref(const float* a, const float* b, const float* c, int64_t E, float* y);
void embedding_row_avx512(const float* a, const float* b, const float* c, int64_t E, float* y);

// FMA peak probe loops (fma_peak.cc): iters x 12 independent FMAs; returns a sum to keep them live.
float fma_loop_avx2(int64_t iters);
float fma_loop_avx512(int64_t iters);

}  // namespace convbert
