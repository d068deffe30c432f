// gemm.cu: C = act(A · Bᵀ + bias) + residual with B an nn.Linear weight (N, K),
// A (M, K) float row-major, fp32 accumulation everywhere. Reference: the CPU
// gemm (gemm_block_ref in native/src/cpu/gemm.cc, same math on packed B).
// Paths: exact fp32 SIMT (default), and one WMMA tensor-core kernel
// instantiated for fp16 and bf16 weights (A rounded to the same type while it
// is staged in shared memory) and for TF32 (fp32 weights, opt-in only).
// Tiles are 64x64 per block; every load is bounds-checked, so any M, N, K and
// any (unaligned) strides work: fragments only ever read shared memory.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <mma.h>

#include "act.cuh"
#include "common.cuh"
#include "kernels.cuh"

namespace convbert {

namespace {

using namespace nvcuda;

constexpr int kBM = 64, kBN = 64;

__device__ __forceinline__ void gemm_store(const GemmDevArgs& p, int64_t m, int64_t n, float acc) {
  float v = acc + (p.bias ? p.bias[n] : 0.0f);
  v = act_device(v, p.act);
  if (p.residual) v += p.residual[m * p.ldr + n];
  p.C[m * p.ldc + n] = v;
}

// ---- exact fp32: 256 threads, each a 4x4 block of outputs strided by 16 ----
constexpr int kF32BK = 16;

__global__ void __launch_bounds__(256) gemm_f32_kernel(GemmDevArgs p) {
  CONVBERT_SHARED(float, As, [kF32BK][kBM + 4]);  // transposed tiles: [k][row]
  CONVBERT_SHARED(float, Bs, [kF32BK][kBN + 4]);
  const float* B = static_cast<const float*>(p.B);
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * kBM, n0 = static_cast<int64_t>(blockIdx.x) * kBN;
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  float acc[4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) acc[i][j] = 0.0f;
  for (int64_t k0 = 0; k0 < p.K; k0 += kF32BK) {
    for (int i = threadIdx.x; i < kBM * kF32BK; i += 256) {
      const int r = i / kF32BK, c = i % kF32BK;
      const int64_t gk = k0 + c;
      As[c][r] = (m0 + r < p.M && gk < p.K) ? p.A[(m0 + r) * p.lda + gk] : 0.0f;
      Bs[c][r] = (n0 + r < p.N && gk < p.K) ? B[(n0 + r) * p.ldb + gk] : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kF32BK; ++kk) {
      float a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) a[i] = As[kk][ty + 16 * i];
#pragma unroll
      for (int j = 0; j < 4; ++j) b[j] = Bs[kk][tx + 16 * j];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t m = m0 + ty + 16 * i, n = n0 + tx + 16 * j;
      if (m < p.M && n < p.N) gemm_store(p, m, n, acc[i][j]);
    }
}

// ---- tensor cores (WMMA): 128 threads = 2x2 warps, each warp 32x32 = 2x2 fragments ----
struct TraitsF16 {
  using Global = __half;  // B as stored
  using Smem = __half;    // staged tiles
  using Frag = __half;    // fragment element type
  static constexpr int kWK = 16;
  // fp16's largest finite value is 65504: larger activations would become inf (and the row
  // NaN after a 0 * inf); they saturate instead, a documented fp16 limit (docs/cuda.md).
  static __device__ __forceinline__ Smem from_float(float v) {
    return __float2half_rn(v > 65504.0f ? 65504.0f : v < -65504.0f ? -65504.0f : v);  // NaN stays NaN
  }
  static __device__ __forceinline__ Smem from_global(Global v) { return v; }
  static __device__ __forceinline__ Smem zero() { return __float2half_rn(0.0f); }
};
struct TraitsBF16 {
  using Global = __nv_bfloat16;
  using Smem = __nv_bfloat16;
  using Frag = __nv_bfloat16;
  static constexpr int kWK = 16;
  static __device__ __forceinline__ Smem from_float(float v) { return __float2bfloat16_rn(v); }
  static __device__ __forceinline__ Smem from_global(Global v) { return v; }
  static __device__ __forceinline__ Smem zero() { return __float2bfloat16_rn(0.0f); }
};
struct TraitsTF32 {
  using Global = float;
  using Smem = float;
  using Frag = wmma::precision::tf32;
  static constexpr int kWK = 8;
  static __device__ __forceinline__ Smem from_float(float v) { return v; }
  static __device__ __forceinline__ Smem from_global(Global v) { return v; }
  static __device__ __forceinline__ Smem zero() { return 0.0f; }
};

constexpr int kTcBK = 32;
constexpr int kTcLd = kTcBK + 8;  // a multiple of 8 halves / 4 floats (WMMA ldm), and 32-byte fragment rows
constexpr int kCLd = kBN + 4;     // float accumulator tile, a multiple of 4

// Shared memory: half/bf16 2 * 64*40*2 + 64*68*4 = 27.6 KB; tf32 2 * 64*40*4 + 17 KB = 37.9 KB (< 48 KB static).
template <class Tr>
__global__ void __launch_bounds__(128) gemm_wmma_kernel(GemmDevArgs p) {
  using S = typename Tr::Smem;
  CONVBERT_SHARED_ALIGNED(128, S, As, [kBM * kTcLd]);
  CONVBERT_SHARED_ALIGNED(128, S, Bs, [kBN * kTcLd]);
  CONVBERT_SHARED_ALIGNED(128, float, Cs, [kBM * kCLd]);
  const typename Tr::Global* B = static_cast<const typename Tr::Global*>(p.B);
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * kBM, n0 = static_cast<int64_t>(blockIdx.x) * kBN;
  const int warp = threadIdx.x / 32, wm = warp / 2, wn = warp % 2;
  constexpr int WK = Tr::kWK;
  wmma::fragment<wmma::accumulator, 16, 16, WK, float> acc[2][2];
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

  for (int64_t k0 = 0; k0 < p.K; k0 += kTcBK) {
    // Consecutive threads read consecutive k of one row: coalesced for any stride.
    for (int i = threadIdx.x; i < kBM * kTcBK; i += 128) {
      const int r = i / kTcBK, c = i % kTcBK;
      const int64_t gk = k0 + c;
      As[r * kTcLd + c] = (m0 + r < p.M && gk < p.K) ? Tr::from_float(p.A[(m0 + r) * p.lda + gk]) : Tr::zero();
      Bs[r * kTcLd + c] = (n0 + r < p.N && gk < p.K) ? Tr::from_global(B[(n0 + r) * p.ldb + gk]) : Tr::zero();
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kTcBK; kk += WK) {
      wmma::fragment<wmma::matrix_a, 16, 16, WK, typename Tr::Frag, wmma::row_major> a[2];
      // Bs holds B rows (n-major), i.e. Bᵀ column-major: element (k, n) at n * ld + k.
      wmma::fragment<wmma::matrix_b, 16, 16, WK, typename Tr::Frag, wmma::col_major> b[2];
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        wmma::load_matrix_sync(a[i], As + (wm * 32 + i * 16) * kTcLd + kk, kTcLd);
        if constexpr (WK == 8) {
#pragma unroll
          for (int t = 0; t < a[i].num_elements; ++t) a[i].x[t] = wmma::__float_to_tf32(a[i].x[t]);
        }
      }
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        wmma::load_matrix_sync(b[j], Bs + (wn * 32 + j * 16) * kTcLd + kk, kTcLd);
        if constexpr (WK == 8) {
#pragma unroll
          for (int t = 0; t < b[j].num_elements; ++t) b[j].x[t] = wmma::__float_to_tf32(b[j].x[t]);
        }
      }
#pragma unroll
      for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j)
      wmma::store_matrix_sync(Cs + (wm * 32 + i * 16) * kCLd + wn * 32 + j * 16, acc[i][j], kCLd, wmma::mem_row_major);
  __syncthreads();
  for (int i = threadIdx.x; i < kBM * kBN; i += 128) {
    const int r = i / kBN, c = i % kBN;
    const int64_t m = m0 + r, n = n0 + c;
    if (m < p.M && n < p.N) gemm_store(p, m, n, Cs[r * kCLd + c]);
  }
}

}  // namespace

const char* gemm_cuda_path(const GemmDevArgs& a) {
  switch (a.bdtype) {
    case Dtype::kFloat16: return "f16";
    case Dtype::kBFloat16: return "bf16";
    case Dtype::kInt8: return "none";  // gemm_cuda refuses it
    case Dtype::kFloat32: break;
  }
  return a.tf32 ? "tf32" : "f32";
}

Status gemm_cuda(const GemmDevArgs& a, cudaStream_t stream) {
  if (a.M < 0 || a.N <= 0 || a.K <= 0 || a.lda < a.K || a.ldb < a.K || a.ldc < a.N || (a.residual && a.ldr < a.N) ||
      a.act < 0 || a.act >= static_cast<int32_t>(Activation::kCount))
    return Status::Error(StatusCode::kInvalidArgument, "gemm_cuda: bad sizes, strides or activation");
  if (a.M == 0) return Status::Ok();
  if (!a.A || !a.B || !a.C) return Status::Error(StatusCode::kInvalidArgument, "gemm_cuda: null pointer");
  const int64_t gy = (a.M + kBM - 1) / kBM, gx = (a.N + kBN - 1) / kBN;
  if (gy > 65535 || gx > 2147483647)
    return Status::Error(StatusCode::kUnsupported, "gemm_cuda: M = " + std::to_string(a.M) + " is above 4194240 rows");
  const dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>(gy));
  switch (a.bdtype) {
    case Dtype::kFloat16: CONVBERT_LAUNCH(gemm_wmma_kernel<TraitsF16>, grid, 128, 0, stream)(a); break;
    case Dtype::kBFloat16: CONVBERT_LAUNCH(gemm_wmma_kernel<TraitsBF16>, grid, 128, 0, stream)(a); break;
    case Dtype::kInt8:
      return Status::Error(StatusCode::kUnsupported, "gemm_cuda: dtype int8 runs on the CPU engine only");
    case Dtype::kFloat32:
      if (a.tf32) CONVBERT_LAUNCH(gemm_wmma_kernel<TraitsTF32>, grid, 128, 0, stream)(a);
      else CONVBERT_LAUNCH(gemm_f32_kernel, grid, 256, 0, stream)(a);
      break;
  }
  CUDA_TRY(cudaGetLastError());
  return Status::Ok();
}

namespace {
__global__ void f32_to_f16_kernel(const float* x, __half* y, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = __float2half_rn(x[i] > 65504.0f ? 65504.0f : x[i] < -65504.0f ? -65504.0f : x[i]);  // as from_float
}
__global__ void f32_to_bf16_kernel(const float* x, __nv_bfloat16* y, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = __float2bfloat16_rn(x[i]);
}
}  // namespace

// Converts n floats on the device to dtype in dst (dst may not alias src); float32 copies.
Status convert_f32_cuda(const float* src, void* dst, int64_t n, Dtype dtype, cudaStream_t stream) {
  if (n <= 0) return Status::Ok();
  switch (dtype) {
    case Dtype::kFloat16:
      CONVBERT_LAUNCH(f32_to_f16_kernel, grid_for(n, 256), 256, 0, stream)(src, static_cast<__half*>(dst), n);
      break;
    case Dtype::kBFloat16:
      CONVBERT_LAUNCH(f32_to_bf16_kernel, grid_for(n, 256), 256, 0, stream)(src, static_cast<__nv_bfloat16*>(dst), n);
      break;
    case Dtype::kInt8:
      return Status::Error(StatusCode::kUnsupported, "convert_f32_cuda: dtype int8 runs on the CPU engine only");
    case Dtype::kFloat32:
      CUDA_TRY(cudaMemcpyAsync(dst, src, static_cast<size_t>(n) * 4, cudaMemcpyDeviceToDevice, stream));
      break;
  }
  CUDA_TRY(cudaGetLastError());
  return Status::Ok();
}

Status gemm_cuda_host(const CudaGemmArgs& h, int device) {
  CONVBERT_RETURN_IF_ERROR(cuda_begin(device));
  if (h.M < 0 || h.N <= 0 || h.K <= 0 || h.lda < h.K || h.ldb < h.K || h.ldc < h.N || (h.residual && h.ldr < h.N))
    return Status::Error(StatusCode::kInvalidArgument, "gemm: bad sizes or strides");
  if (h.dtype == Dtype::kInt8)
    return Status::Error(StatusCode::kUnsupported, "gemm: dtype int8 runs on the CPU engine only; use the CPU gemm_i8");
  if (h.M == 0) return Status::Ok();
  if (!h.A || !h.B || !h.C) return Status::Error(StatusCode::kInvalidArgument, "gemm: null pointer");
  const int64_t nA = (h.M - 1) * h.lda + h.K, nB = (h.N - 1) * h.ldb + h.K, nC = (h.M - 1) * h.ldc + h.N;
  DeviceBuffer dA, dB32, dB, dBias, dR, dC;
  CONVBERT_RETURN_IF_ERROR(to_device(&dA, h.A, nA));
  CONVBERT_RETURN_IF_ERROR(to_device(&dB32, h.B, nB));
  CONVBERT_RETURN_IF_ERROR(to_device(&dC, h.C, nC));  // keeps the gaps between ldc rows as given
  if (h.bias) CONVBERT_RETURN_IF_ERROR(to_device(&dBias, h.bias, h.N));
  if (h.residual) CONVBERT_RETURN_IF_ERROR(to_device(&dR, h.residual, (h.M - 1) * h.ldr + h.N));
  GemmDevArgs a;
  a.A = dA.as<float>();
  a.lda = h.lda;
  a.ldb = h.ldb;
  a.bdtype = h.dtype;
  a.tf32 = h.tf32;
  if (h.dtype == Dtype::kFloat32) {
    a.B = dB32.as<float>();
  } else {
    CONVBERT_RETURN_IF_ERROR(dB.alloc(static_cast<size_t>(nB) * 2));
    CONVBERT_RETURN_IF_ERROR(convert_f32_cuda(dB32.as<float>(), dB.as<void>(), nB, h.dtype, 0));
    a.B = dB.as<void>();
  }
  a.bias = h.bias ? dBias.as<float>() : nullptr;
  a.residual = h.residual ? dR.as<float>() : nullptr;
  a.ldr = h.ldr;
  a.C = dC.as<float>();
  a.ldc = h.ldc;
  a.M = h.M;
  a.N = h.N;
  a.K = h.K;
  a.act = static_cast<int32_t>(h.act);
  CONVBERT_RETURN_IF_ERROR(run_timed([&] { return gemm_cuda(a, 0); }));
  CUDA_TRY(cudaDeviceSynchronize());
  return to_host(h.C, dC, nC);
}

}  // namespace convbert
