// backend.cu: device discovery and the op table of the CUDA build. cuda_info()
// asks the runtime (linked statically, so only the NVIDIA driver is needed) once
// about every device and turns every failure (no driver, no device, too old a
// driver, no device of sm_80 or newer) into a one-line reason; the library then
// runs on the CPU. cuda_begin(N) admits only a usable device N. cuda_backend()
// is the backend.h table the one forward walk drives on a device: the *_cuda
// launchers on one stream, plus the walk's small glue kernels (⊙, mask bias,
// pooling). The CPU reference of each slot is engine/cpu_backend.cc.
#include <cuda_runtime.h>

#include <limits>
#include <string>

#include "common.cuh"
#include "convbert/cuda_backend.h"
#include "kernels.cuh"

namespace convbert {

bool cuda_compiled() { return true; }

const CudaInfo& cuda_info() {
  static const CudaInfo info = [] {
    CudaInfo i;
    i.compiled = true;
#ifdef CONVBERT_CUDA_EMULATED
    i.emulated = true;  // cuda/emu/: CI's stand-in for a GPU; lib/ never picks it for device 'auto'
#endif
    cudaRuntimeGetVersion(&i.runtime_version);
    if (cudaDriverGetVersion(&i.driver_version) != cudaSuccess) i.driver_version = 0;
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
      (void)cudaGetLastError();
      i.reason = std::string("no usable CUDA device: ") + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")" +
                 (i.driver_version == 0 ? "; no NVIDIA driver found" : "");
      return i;
    }
    if (n <= 0) {
      i.reason = "no CUDA device found";
      return i;
    }
    i.device_count = n;
    // Every device is inspected: on a machine whose device 0 is older than sm_80 (or cannot be
    // queried), a later sm_80+ device is still usable as cuda:N and is what 'auto' picks.
    std::string why;
    for (int d = 0; d < n; ++d) {
      CudaDeviceInfo dev;
      cudaDeviceProp prop;
      err = cudaGetDeviceProperties(&prop, d);
      if (err != cudaSuccess) {
        (void)cudaGetLastError();
        dev.reason = "cannot query CUDA device " + std::to_string(d) + ": " + cudaGetErrorString(err);
      } else {
        dev.name = prop.name;
        dev.compute_major = prop.major;
        dev.compute_minor = prop.minor;
        dev.total_memory = prop.totalGlobalMem;
        if (prop.major < 8)
          dev.reason = "CUDA device " + std::to_string(d) + " (" + dev.name + ", sm_" + std::to_string(prop.major) +
                       std::to_string(prop.minor) + ") is older than sm_80, the oldest this build targets";
        else dev.usable = true;
      }
      if (dev.usable && i.default_device < 0) {
        i.default_device = d;
        i.device_name = dev.name;
        i.compute_major = dev.compute_major;
        i.compute_minor = dev.compute_minor;
        i.total_memory = dev.total_memory;
      }
      if (!dev.usable) why += (why.empty() ? "" : "; ") + dev.reason;
      i.devices.push_back(std::move(dev));
    }
    i.available = i.default_device >= 0;
    if (!i.available) i.reason = why;
    return i;
  }();
  return info;
}

namespace {
thread_local int t_bench_iters = 0;
thread_local double t_bench_ms = 0.0;
}  // namespace
void cuda_bench_set_iters(int iters) { t_bench_iters = iters > 0 ? iters : 0; }
double cuda_bench_last_ms() { return t_bench_ms; }
int cuda_bench_iters() { return t_bench_iters; }
void cuda_bench_record(double ms) { t_bench_ms = ms; }

Status check_cu_seqlens(const int32_t* s, int64_t B, int64_t L, const char* what) {
  if (!s) return Status::Ok();
  if (s[0] != 0)
    return Status::Error(StatusCode::kInvalidArgument,
                         std::string(what) + ": cu_seqlens[0] must be 0, got " + std::to_string(s[0]));
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = static_cast<int64_t>(s[b + 1]) - s[b];
    if (n < 0 || n > L)
      return Status::Error(StatusCode::kInvalidArgument,
                           std::string(what) + ": sequence " + std::to_string(b) + " has length " + std::to_string(n) +
                               " (cu_seqlens[" + std::to_string(b + 1) + "] - cu_seqlens[" + std::to_string(b) +
                               "]), expected 0.." + std::to_string(L));
  }
  return Status::Ok();
}

Status cuda_begin(int device) {
  const CudaInfo& ci = cuda_info();
  if (!ci.available) return Status::Error(StatusCode::kUnsupported, ci.reason);
  if (device < 0 || device >= ci.device_count)
    return Status::Error(StatusCode::kInvalidArgument, "device: CUDA ordinal " + std::to_string(device) +
                                                           " is outside [0, " + std::to_string(ci.device_count) + ")");
  const CudaDeviceInfo& dev = ci.devices[static_cast<size_t>(device)];
  if (!dev.usable) {
    std::string usable;
    for (size_t d = 0; d < ci.devices.size(); ++d)
      if (ci.devices[d].usable) usable += std::string(usable.empty() ? "" : ", ") + "cuda:" + std::to_string(d);
    return Status::Error(StatusCode::kUnsupported, dev.reason + "; usable: " + usable);
  }
  CUDA_TRY(cudaSetDevice(device));
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// The op table.

namespace {

// s[t, c] *= q[t, c] for the key conv's (pointwise ⊙ query), q with row stride ldq.
__global__ void mul_rows_kernel(float* s, const float* q, int64_t rows, int64_t C, int64_t ldq) {
  const int64_t n = rows * C;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    s[i] *= q[(i / C) * ldq + i % C];
}

// bias = (1 - m) * finfo(float32).min, in float like torch.
__global__ void mask_bias_kernel(const float* m, float* bias, int64_t n) {
  const float fmin = -3.40282346638528859812e+38f;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    bias[i] = (1.0f - m[i]) * fmin;
}

// One row per sequence (block b): mode 0 first token, 1 last, 2 mean, 3 index[b] (null: last).
__global__ void pool_kernel(const float* h, float* out, int64_t H, int64_t L, const int32_t* cu_seqlens,
                            const int32_t* index, int mode) {
  const int64_t b = blockIdx.x;
  int64_t start, len;
  seq_bounds(cu_seqlens, b, L, &start, &len);
  for (int64_t x = threadIdx.x; x < H; x += blockDim.x) {
    float v;
    if (mode == 2) {
      float acc = 0.0f;
      for (int64_t l = 0; l < len; ++l) acc += h[(start + l) * H + x];
      v = acc / static_cast<float>(len);
    } else {
      const int64_t idx = mode == 0 ? 0 : mode == 1 ? len - 1 : (index ? index[b] : len - 1);
      v = h[(start + idx) * H + x];
    }
    out[b * H + x] = v;
  }
}

CudaCtx& ctx_of(void* ctx) { return *static_cast<CudaCtx*>(ctx); }

Status linear_op(void* ctx, const LinearArgs& l) {
  const CudaCtx& c = ctx_of(ctx);
  const DevLinear& w = *static_cast<const DevLinear*>(l.w.w);
  const int64_t Ng = w.N / w.G, Kg = w.K / w.G;
  const size_t esize = c.dtype == Dtype::kFloat32 ? 4 : 2;
  for (int64_t g = 0; g < w.G; ++g) {
    GemmDevArgs a;
    a.A = l.x + g * Kg;
    a.lda = l.ldx;
    a.B = static_cast<const char*>(w.W) + static_cast<size_t>(g * Ng * Kg) * esize;
    a.ldb = Kg;
    a.bdtype = c.dtype;
    a.tf32 = c.tf32;
    a.bias = w.bias ? w.bias + g * Ng : nullptr;
    a.residual = l.residual ? l.residual + g * Ng : nullptr;
    a.ldr = l.ldr;
    a.C = l.y + g * Ng;
    a.ldc = l.ldy;
    a.M = l.M;
    a.N = Ng;
    a.K = Kg;
    a.act = static_cast<int32_t>(l.act);
    CONVBERT_RETURN_IF_ERROR(gemm_cuda(a, c.stream));
  }
  return Status::Ok();
}

Status embedding_op(void* ctx, const EmbeddingArgs& a) { return embedding_cuda(a, ctx_of(ctx).stream); }
Status layernorm_op(void* ctx, const LayerNormArgs& a) { return layernorm_cuda(a, ctx_of(ctx).stream); }
Status softmax_op(void* ctx, const SoftmaxArgs& a) { return softmax_cuda(a, ctx_of(ctx).stream); }
Status sepconv_op(void* ctx, const SepConvArgs& a) { return sepconv_cuda(a, ctx_of(ctx).stream); }
Status dynconv_op(void* ctx, const DynConvArgs& a) { return dynconv_cuda(a, false, ctx_of(ctx).stream); }
Status dynconv_logits_op(void* ctx, const DynConvArgs& a) { return dynconv_cuda(a, true, ctx_of(ctx).stream); }
Status attention_op(void* ctx, const AttentionArgs& a) { return attention_cuda(a, false, ctx_of(ctx).stream); }
Status activation_op(void* ctx, const ActivationArgs& a) {
  if (a.rows < 0 || a.C < 0) return Status::Error(StatusCode::kInvalidArgument, "activation: bad sizes");
  int64_t n = 0;
  if (__builtin_mul_overflow(a.rows, a.C, &n))
    return Status::Error(StatusCode::kInvalidArgument, "activation: rows x C overflows int64");
  return activation_cuda(a.x, a.y, a.bias, n, a.C, a.act, ctx_of(ctx).stream);
}

Status mul_op(void* ctx, const MulArgs& a) {
  const int64_t n = a.rows * a.C;
  if (n <= 0) return Status::Ok();
  CONVBERT_LAUNCH(mul_rows_kernel, grid_for(n, 256), 256, 0, ctx_of(ctx).stream)(a.s, a.q, a.rows, a.C, a.ldq);
  CUDA_TRY(cudaGetLastError());
  return Status::Ok();
}

Status mask_bias_op(void* ctx, const MaskBiasArgs& a) {
  if (a.n <= 0) return Status::Ok();
  CONVBERT_LAUNCH(mask_bias_kernel, grid_for(a.n, 256), 256, 0, ctx_of(ctx).stream)(a.mask, a.bias, a.n);
  CUDA_TRY(cudaGetLastError());
  return Status::Ok();
}

Status pool_op(void* ctx, const PoolArgs& a) {
  if (a.B <= 0) return Status::Ok();
  // One block per sequence on grid x (limit 2^31 - 1).
  if (a.B > std::numeric_limits<int32_t>::max())
    return Status::Error(StatusCode::kUnsupported, "pool (cuda): more sequences than a grid holds");
  CONVBERT_LAUNCH(pool_kernel, static_cast<unsigned>(a.B), 256, 0, ctx_of(ctx).stream)
  (a.h, a.out, a.H, a.L, a.cu_seqlens, a.index, static_cast<int>(a.mode));
  CUDA_TRY(cudaGetLastError());
  return Status::Ok();
}

Status copy_op(void* ctx, float* dst, const float* src, int64_t n) {
  if (dst == src || n <= 0) return Status::Ok();
  CUDA_TRY(cudaMemcpyAsync(dst, src, static_cast<size_t>(n) * 4, cudaMemcpyDeviceToDevice, ctx_of(ctx).stream));
  return Status::Ok();
}

}  // namespace

Backend cuda_backend(CudaCtx* ctx) {
  Backend b;
  b.name = "cuda";
  b.ctx = ctx;
  b.linear = linear_op;
  b.linear_residual = true;
  b.embedding = embedding_op;
  b.layernorm = layernorm_op;
  b.softmax = softmax_op;
  b.sepconv = sepconv_op;
  b.dynconv = dynconv_op;
  b.dynconv_logits = dynconv_logits_op;
  b.attention = attention_op;
  b.activation = activation_op;
  b.mul = mul_op;
  b.mask_bias = mask_bias_op;
  b.pool = pool_op;
  b.copy = copy_op;
  return b;
}

}  // namespace convbert
