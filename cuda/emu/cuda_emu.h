// cuda_emu.h: a CUDA emulator for CI machines without a GPU. It provides the subset of
// cuda_runtime.h, cuda_fp16.h, cuda_bf16.h and mma.h that cuda/*.cu use, so the kernels
// compile unchanged as host C++ (only CONVBERT_LAUNCH and the CONVBERT_*SHARED macros
// differ) and run on the CPU with CUDA's semantics: a kernel's blocks run one after the
// other; the threads of a block run as fibers on one OS thread (default) or, with
// CONVBERT_CUDA_EMU_THREADS, as one OS thread each so ThreadSanitizer / AddressSanitizer
// see shared-memory races and out-of-bounds accesses. Launch limits, barrier divergence and
// shuffles that name exited lanes are reported as launch errors, as a driver would. Streams
// run synchronously; graph capture records and replays. Not a performance model.
// Semantics follow NVIDIA's CUDA C++ Programming Guide; cuda_emu.cc is the runtime.
#pragma once

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include <cstring>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

#define CONVBERT_CUDA_EMULATED_RUNTIME 1

// ---- qualifiers: host C++ has one address space ----
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))

// ---- runtime types ----
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct uint3 {
  unsigned x = 0, y = 0, z = 0;
};

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInitializationError = 3,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorNotReady = 600,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorStreamCaptureUnsupported = 900,
  cudaErrorStreamCaptureInvalidated = 901,
  cudaErrorLaunchFailure = 719,
  cudaErrorUnknown = 999,
};
using cudaError = cudaError_t;

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};
enum cudaStreamCaptureMode {
  cudaStreamCaptureModeGlobal = 0,
  cudaStreamCaptureModeThreadLocal = 1,
  cudaStreamCaptureModeRelaxed = 2,
};
enum cudaFuncAttribute {
  cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
  cudaFuncAttributePreferredSharedMemoryCarveout = 9,
};
constexpr unsigned cudaStreamDefault = 0, cudaStreamNonBlocking = 1;

namespace cuda_emu {
struct Stream;
struct Event;
struct Graph;
struct GraphExec;
}  // namespace cuda_emu
using cudaStream_t = cuda_emu::Stream*;
using cudaEvent_t = cuda_emu::Event*;
using cudaGraph_t = cuda_emu::Graph*;
using cudaGraphExec_t = cuda_emu::GraphExec*;

struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  size_t sharedMemPerBlock;
  size_t sharedMemPerBlockOptin;
  int regsPerBlock;
  int warpSize;
  int maxThreadsPerBlock;
  int maxThreadsDim[3];
  int maxGridSize[3];
  int major;
  int minor;
  int multiProcessorCount;
};

// ---- runtime API (cuda_emu.cc) ----
cudaError_t cudaGetDeviceCount(int* n);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaRuntimeGetVersion(int* v);
cudaError_t cudaDriverGetVersion(int* v);
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorName(cudaError_t err);
const char* cudaGetErrorString(cudaError_t err);
cudaError_t cudaMalloc(void** p, size_t bytes);
template <class T>
inline cudaError_t cudaMalloc(T** p, size_t bytes) {
  return cudaMalloc(reinterpret_cast<void**>(p), bytes);
}
cudaError_t cudaFree(void* p);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s = nullptr);
cudaError_t cudaMemset(void* dst, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t s = nullptr);
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaStreamCreate(cudaStream_t* s);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t* graph);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long flags = 0);
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t s);
cudaError_t cudaGraphDestroy(cudaGraph_t graph);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec);
cudaError_t cudaEventCreate(cudaEvent_t* e);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s = nullptr);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t a, cudaEvent_t b);

namespace cuda_emu {

// Per-function launch attributes (cudaFuncSetAttribute), keyed by the kernel's address.
cudaError_t set_func_attribute(const void* fn, cudaFuncAttribute attr, int value);

}  // namespace cuda_emu

template <class... P>
inline cudaError_t cudaFuncSetAttribute(void (*fn)(P...), cudaFuncAttribute attr, int value) {
  return cuda_emu::set_func_attribute(reinterpret_cast<const void*>(fn), attr, value);
}

// ---- device-side execution model ----
namespace cuda_emu {

// The CUDA thread running on this OS thread (fiber or thread): its indices and block.
struct BlockState;
struct ThreadState {
  uint3 idx;
  unsigned linear = 0;  // threadIdx.x + threadIdx.y * blockDim.x + ...
  BlockState* block = nullptr;
  unsigned static_smem_next = 0;  // index of the next static __shared__ declaration
};
ThreadState& self();
const uint3& block_idx();
const dim3& block_dim();
const dim3& grid_dim();

void syncthreads();
// Warp collective: every lane in mask publishes `bits`, then reads lane `src`'s.
uint64_t warp_exchange(unsigned mask, uint64_t bits, int src_lane, const char* what);
// Block shared memory: the dynamic allocation, and the k-th static __shared__ array.
void* dynamic_smem();
void* static_smem(size_t bytes, size_t align, const char* name);

struct LaunchConfig {
  dim3 grid, block;
  size_t dyn_smem = 0;
  cudaStream_t stream = nullptr;
  const void* fn = nullptr;
  const char* name = "";
};
// Runs body() once per CUDA thread of the grid (or records it while `stream` captures).
void launch(const LaunchConfig& cfg, std::function<void()> body);

template <class... P>
struct Launcher {
  void (*fn)(P...);
  LaunchConfig cfg;
  template <class... A>
  void operator()(A&&... args) const {
    static_assert(sizeof...(A) == sizeof...(P), "kernel launched with the wrong number of arguments");
    // Arguments are copied at launch, converted to the parameter types, as CUDA does.
    std::tuple<std::decay_t<P>...> params(std::forward<A>(args)...);
    auto f = fn;
    launch(cfg, [f, params]() { std::apply(f, params); });
  }
};
template <class... P>
Launcher<P...> make_launcher(void (*fn)(P...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                             const char* name) {
  LaunchConfig c;
  c.grid = grid;
  c.block = block;
  c.dyn_smem = smem;
  c.stream = stream;
  c.fn = reinterpret_cast<const void*>(fn);
  c.name = name;
  return Launcher<P...>{fn, c};
}

template <class T>
inline T shfl_impl(unsigned mask, T v, int src, const char* what) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle of an unsupported type");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  bits = warp_exchange(mask, bits, src, what);
  T out;
  std::memcpy(&out, &bits, sizeof(T));
  return out;
}
inline unsigned lane_id() { return self().linear & 31u; }

}  // namespace cuda_emu

#define threadIdx (::cuda_emu::self().idx)
#define blockIdx (::cuda_emu::block_idx())
#define blockDim (::cuda_emu::block_dim())
#define gridDim (::cuda_emu::grid_dim())
constexpr int warpSize = 32;

inline void __syncthreads() { cuda_emu::syncthreads(); }
template <class T>
inline T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
  const unsigned lane = cuda_emu::lane_id();
  const int base = static_cast<int>(lane) & ~(width - 1);
  return cuda_emu::shfl_impl(mask, v, base + (src & (width - 1)), "__shfl_sync");
}
template <class T>
inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
  const int lane = static_cast<int>(cuda_emu::lane_id());
  int src = lane ^ lane_mask;
  if ((src & ~(width - 1)) != (lane & ~(width - 1))) src = lane;
  return cuda_emu::shfl_impl(mask, v, src, "__shfl_xor_sync");
}
template <class T>
inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  const int lane = static_cast<int>(cuda_emu::lane_id());
  const int src = (lane & (width - 1)) + static_cast<int>(delta) < width ? lane + static_cast<int>(delta) : lane;
  return cuda_emu::shfl_impl(mask, v, src, "__shfl_down_sync");
}
inline unsigned __ballot_sync(unsigned mask, int pred) {
  // Each lane publishes its predicate bit; the OR over lanes is gathered through 32 exchanges
  // of one round: lane i's value is read back by reading every lane.
  unsigned out = 0;
  for (int l = 0; l < 32; ++l)
    if (mask & (1u << l)) out |= (cuda_emu::shfl_impl(mask, pred ? 1u : 0u, l, "__ballot_sync") ? 1u : 0u) << l;
  return out;
}
inline int __any_sync(unsigned mask, int pred) { return __ballot_sync(mask, pred) != 0; }
inline int __all_sync(unsigned mask, int pred) { return __ballot_sync(mask, pred) == (mask & __ballot_sync(mask, 1)); }

// ---- launch and shared-memory macros (nvcc versions in cuda/common.cuh) ----
#define CONVBERT_LAUNCH(kernel, grid, block, smem, stream) \
  ::cuda_emu::make_launcher(kernel, grid, block, smem, stream, #kernel)
// A static __shared__ array: one per block, in the block's shared-memory arena.
#define CONVBERT_SHARED_ALIGNED(align, T, name, dims) \
  auto& name = *static_cast<T(*) dims>(               \
      ::cuda_emu::static_smem(sizeof(T dims), (align) > alignof(T) ? (align) : alignof(T), #name))
#define CONVBERT_SHARED(T, name, dims) CONVBERT_SHARED_ALIGNED(alignof(T), T, name, dims)
// The dynamic shared memory of the launch (extern __shared__ T name[]).
#define CONVBERT_DYNAMIC_SHARED(T, name) T* name = static_cast<T*>(::cuda_emu::dynamic_smem())

// ---- half and bfloat16 (cuda_fp16.h / cuda_bf16.h) ----
namespace cuda_emu {
// float -> binary16, round to nearest even; overflow to inf, subnormals kept, NaN stays NaN.
inline uint16_t f32_to_f16_bits(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0u));
  if (ax >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (ax < 0x38800000u) {                                               // below 2^-14: subnormal half or 0
    if (ax < 0x33000000u) return static_cast<uint16_t>(sign);           // below 2^-25: rounds to 0
    const uint32_t e = ax >> 23, m = (ax & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - e;  // 14 + 113 - e - 1 ... value = m * 2^(e-150); half ulp 2^-24
    const uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    const uint32_t r = q + (rem > half || (rem == half && (q & 1u)) ? 1u : 0u);
    return static_cast<uint16_t>(sign | r);
  }
  const uint32_t e = (ax >> 23) - 112, m = ax & 0x7fffffu;
  uint32_t h = (e << 10) | (m >> 13);
  const uint32_t rem = m & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // may carry into the exponent: still right
  return static_cast<uint16_t>(sign | h);
}
inline float f16_bits_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu, x;
  if (e == 0x1f) {
    x = sign | 0x7f800000u | (m << 13);
  } else if (e == 0) {
    if (m == 0) {
      x = sign;
    } else {
      e = 113;
      while (!(m & 0x400u)) {
        m <<= 1;
        --e;
      }
      x = sign | (e << 23) | ((m & 0x3ffu) << 13);
    }
  } else {
    x = sign | ((e + 112) << 23) | (m << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}
inline uint16_t f32_to_bf16_bits(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  x += 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(x >> 16);
}
inline float bf16_bits_to_f32(uint16_t b) {
  const uint32_t x = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}
}  // namespace cuda_emu

struct __half {
  uint16_t bits;
  __half() = default;
  explicit operator float() const { return cuda_emu::f16_bits_to_f32(bits); }
};
struct __nv_bfloat16 {
  uint16_t bits;
  __nv_bfloat16() = default;
  explicit operator float() const { return cuda_emu::bf16_bits_to_f32(bits); }
};
using half = __half;
inline __half __float2half_rn(float f) {
  __half h;
  h.bits = cuda_emu::f32_to_f16_bits(f);
  return h;
}
inline __half __float2half(float f) { return __float2half_rn(f); }
inline float __half2float(__half h) { return cuda_emu::f16_bits_to_f32(h.bits); }
inline __nv_bfloat16 __float2bfloat16_rn(float f) {
  __nv_bfloat16 b;
  b.bits = cuda_emu::f32_to_bf16_bits(f);
  return b;
}
inline __nv_bfloat16 __float2bfloat16(float f) { return __float2bfloat16_rn(f); }
inline float __bfloat162float(__nv_bfloat16 b) { return cuda_emu::bf16_bits_to_f32(b.bits); }

// ---- WMMA (mma.h): each lane's A/B fragment holds the whole tile; the accumulator is
// distributed, lane l owning elements l, l + 32, ... of the row-major M x N tile, so a
// warp does the work of one MMA once. Products of fp16/bf16/tf32 inputs are exact in fp32;
// only the summation order differs from the tensor cores.
namespace nvcuda {
namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major = 0, mem_col_major = 1 };
namespace precision {
struct tf32 {};
}  // namespace precision

// cvt.rna.tf32.f32: round to nearest, ties away from zero, to 10 mantissa bits.
inline float __float_to_tf32(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7f800000u) != 0x7f800000u) {
    x += 0x1000u;
    x &= 0xffffe000u;
  }
  std::memcpy(&f, &x, 4);
  return f;
}

template <class T>
struct storage {
  using type = T;
};
template <>
struct storage<precision::tf32> {
  using type = float;
};
inline float to_f(float v) { return v; }
inline float to_f(__half v) { return __half2float(v); }
inline float to_f(__nv_bfloat16 v) { return __bfloat162float(v); }

template <class Use, int M, int N, int K, class T, class Layout = void>
struct fragment;
template <int M, int N, int K, class T, class Layout>
struct fragment<matrix_a, M, N, K, T, Layout> {
  using element_type = typename storage<T>::type;
  static constexpr int num_elements = M * K;
  element_type x[M * K];  // (m, k) at m * K + k
};
template <int M, int N, int K, class T, class Layout>
struct fragment<matrix_b, M, N, K, T, Layout> {
  using element_type = typename storage<T>::type;
  static constexpr int num_elements = K * N;
  element_type x[K * N];  // (k, n) at k * N + n
};
template <int M, int N, int K, class T>
struct fragment<accumulator, M, N, K, T, void> {
  using element_type = T;
  static constexpr int num_elements = M * N / 32;
  element_type x[M * N / 32];  // element i: tile index lane + 32 i, row-major
};

template <class F, class V>
inline void fill_fragment(F& f, const V& v) {
  for (int i = 0; i < F::num_elements; ++i) f.x[i] = static_cast<typename F::element_type>(v);
}
template <int M, int N, int K, class T, class L, class P>
inline void load_matrix_sync(fragment<matrix_a, M, N, K, T, L>& f, const P* p, unsigned ldm) {
  for (int m = 0; m < M; ++m)
    for (int k = 0; k < K; ++k) f.x[m * K + k] = std::is_same<L, row_major>::value ? p[m * ldm + k] : p[k * ldm + m];
}
template <int M, int N, int K, class T, class L, class P>
inline void load_matrix_sync(fragment<matrix_b, M, N, K, T, L>& f, const P* p, unsigned ldm) {
  for (int k = 0; k < K; ++k)
    for (int n = 0; n < N; ++n) f.x[k * N + n] = std::is_same<L, row_major>::value ? p[k * ldm + n] : p[n * ldm + k];
}
template <int M, int N, int K, class TA, class LA, class TB, class LB>
inline void mma_sync(fragment<accumulator, M, N, K, float>& d, const fragment<matrix_a, M, N, K, TA, LA>& a,
                     const fragment<matrix_b, M, N, K, TB, LB>& b, const fragment<accumulator, M, N, K, float>& c) {
  const unsigned lane = cuda_emu::lane_id();
  for (int i = 0; i < M * N / 32; ++i) {
    const int e = static_cast<int>(lane) + 32 * i, m = e / N, n = e % N;
    float acc = c.x[i];
    for (int k = 0; k < K; ++k) acc = fmaf(to_f(a.x[m * K + k]), to_f(b.x[k * N + n]), acc);
    d.x[i] = acc;
  }
}
template <int M, int N, int K>
inline void store_matrix_sync(float* p, const fragment<accumulator, M, N, K, float>& f, unsigned ldm, layout_t layout) {
  const unsigned lane = cuda_emu::lane_id();
  for (int i = 0; i < M * N / 32; ++i) {
    const int e = static_cast<int>(lane) + 32 * i, m = e / N, n = e % N;
    p[layout == mem_row_major ? m * ldm + n : n * ldm + m] = f.x[i];
  }
}
}  // namespace wmma
}  // namespace nvcuda
