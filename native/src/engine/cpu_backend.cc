// cpu_backend.cc: the CPU's backend.h op table. Each slot is one indirect call into
// the ops.h drivers (which split rows over the engine pool and run the OpTable's ISA
// kernels), so the per-element hot loops are the drivers' own; the small glue ops
// (mul, mask bias, pooling, copies) are plain loops. Pointers are host pointers;
// LinearRef::w is a PackedLinear of the Model (fp32, bf16 or int8 panels).
#include <cstring>
#include <limits>
#include <string>

#include "convbert/backend.h"
#include "convbert/engine.h"

namespace convbert {

namespace {

const OpTable& ops_of(void* ctx) { return *static_cast<const OpTable*>(ctx); }

// Runs `run` once per block-diagonal group of w with `a` (the gemm's argument
// struct, any extra fields preset) pointed at that group's slice of x, y, bias.
template <class Args, class Group, class Run>
Status for_each_group(const PackedLinear& w, const LinearArgs& l, Args a, Group group, Run run) {
  for (int64_t g = 0; g < w.G; ++g) {
    a.act = l.act;
    a.B = group(g);
    a.A = l.x + g * a.B.K;
    a.lda = l.ldx;
    a.bias = w.bias.empty() ? nullptr : w.bias.data() + g * a.B.N;
    a.C = l.y + g * a.B.N;
    a.ldc = l.ldy;
    a.M = l.M;
    CONVBERT_RETURN_IF_ERROR(run(a));
  }
  return Status::Ok();
}

Status cpu_linear(void* ctx, const LinearArgs& l) {
  const OpTable& ops = ops_of(ctx);
  const PackedLinear& w = *static_cast<const PackedLinear*>(l.w.w);
  if (l.residual) return Status::Error(StatusCode::kInternal, "cpu linear: no residual epilogue");
  if (w.is_i8()) {
    GemmI8Args a;
    a.scratch = l.scratch;  // groups run one after another, so they share the scratch
    return for_each_group(
        w, l, a, [&](int64_t g) { return w.group_i8(g); }, [&](const GemmI8Args& args) { return gemm_i8(ops, args); });
  }
  if (w.is_bf16())
    return for_each_group(
        w, l, GemmBf16Args{}, [&](int64_t g) { return w.group_bf16(g); },
        [&](const GemmBf16Args& args) { return gemm_bf16(ops, args); });
  return for_each_group(
      w, l, GemmArgs{}, [&](int64_t g) { return w.group(g); }, [&](const GemmArgs& args) { return gemm(ops, args); });
}

Status cpu_embedding(void* ctx, const EmbeddingArgs& a) { return embedding(ops_of(ctx), a); }
Status cpu_layernorm(void* ctx, const LayerNormArgs& a) { return layernorm(ops_of(ctx), a); }
Status cpu_softmax(void* ctx, const SoftmaxArgs& a) { return softmax(ops_of(ctx), a); }
Status cpu_sepconv(void* ctx, const SepConvArgs& a) { return sepconv(ops_of(ctx), a); }
Status cpu_dynconv(void* ctx, const DynConvArgs& a) { return dynconv(ops_of(ctx), a); }
Status cpu_attention(void* ctx, const AttentionArgs& a) { return attention(ops_of(ctx), a); }
Status cpu_activation(void* ctx, const ActivationArgs& a) { return activation(ops_of(ctx), a); }

Status cpu_mul(void*, const MulArgs& a) {
  for (int64_t t = 0; t < a.rows; ++t) {
    float* sr = a.s + t * a.C;
    const float* qr = a.q + t * a.ldq;
    for (int64_t c = 0; c < a.C; ++c) sr[c] *= qr[c];
  }
  return Status::Ok();
}

Status cpu_mask_bias(void*, const MaskBiasArgs& a) {
  const float fmin = std::numeric_limits<float>::lowest();
  for (int64_t i = 0; i < a.n; ++i) a.bias[i] = (1.0f - a.mask[i]) * fmin;
  return Status::Ok();
}

Status cpu_pool(void*, const PoolArgs& a) {
  const int64_t H = a.H;
  for (int64_t b = 0; b < a.B; ++b) {
    const int64_t start = a.cu_seqlens ? a.cu_seqlens[b] : b * a.L;
    const int64_t len = a.cu_seqlens ? a.cu_seqlens[b + 1] - a.cu_seqlens[b] : a.L;
    float* out = a.out + b * H;
    if (a.mode == PoolMode::kMean) {
      for (int64_t x = 0; x < H; ++x) {
        float acc = 0.f;
        for (int64_t l = 0; l < len; ++l) acc += a.h[(start + l) * H + x];
        out[x] = acc / static_cast<float>(len);
      }
      continue;
    }
    const int64_t idx = a.mode == PoolMode::kFirst ? 0 : a.mode == PoolMode::kIndex && a.index ? a.index[b] : len - 1;
    if (idx < 0 || idx >= len)  // validate_forward checked cls_index; a direct caller may not have
      return Status::Error(StatusCode::kInvalidArgument, "cls_index: " + std::to_string(idx) + " at row " +
                                                             std::to_string(b) + " is outside [0, " +
                                                             std::to_string(len) + ")");
    std::memcpy(out, a.h + (start + idx) * H, static_cast<size_t>(H) * 4);
  }
  return Status::Ok();
}

Status cpu_copy(void*, float* dst, const float* src, int64_t n) {
  if (dst != src && n > 0) std::memcpy(dst, src, static_cast<size_t>(n) * 4);
  return Status::Ok();
}

}  // namespace

Backend cpu_backend(const OpTable& ops) {
  Backend b;
  b.name = ops.name;
  b.ctx = const_cast<OpTable*>(&ops);  // read only: ctx is void* for every backend
  b.linear = cpu_linear;
  b.embedding = cpu_embedding;
  b.layernorm = cpu_layernorm;
  b.softmax = cpu_softmax;
  b.sepconv = cpu_sepconv;
  b.dynconv = cpu_dynconv;
  b.attention = cpu_attention;
  b.attention_scratch = true;
  b.activation = cpu_activation;
  b.mul = cpu_mul;
  b.mask_bias = cpu_mask_bias;
  b.pool = cpu_pool;
  b.copy = cpu_copy;
  return b;
}

}  // namespace convbert
