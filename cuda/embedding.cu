// embedding.cu: y[t] = word[id_t] (or inputs_embeds[t]) + pos[pos_t] + type[type_t], E wide.
// Reference: embedding() + embedding_row_ref (native/src/cpu/embedding.cc). Ids are
// range-checked on the host before launch (the host entry point and the engine);
// the kernel still never reads out of bounds: an id outside its table gives NaN,
// so a missed check shows up in the output instead of as silent zeros.
#include <cuda_runtime.h>

#include <string>

#include "common.cuh"
#include "kernels.cuh"

namespace convbert {

namespace {

constexpr int kThreads = 256;

__global__ void __launch_bounds__(kThreads) embedding_kernel(EmbeddingArgs p) {
  const int64_t t = blockIdx.x;
  const int64_t id = p.ids ? p.ids[t] : 0, ps = p.positions[t], ty = p.types ? p.types[t] : 0;
  const bool ok = (p.embeds || (id >= 0 && id < p.vocab)) && ps >= 0 && ps < p.max_pos && ty >= 0 && ty < p.type_vocab;
  const float* a = p.embeds ? p.embeds + t * p.E : p.word + id * p.E;
  for (int64_t e = threadIdx.x; e < p.E; e += blockDim.x)
    p.y[t * p.E + e] = ok ? a[e] + p.pos[ps * p.E + e] + p.type[ty * p.E + e] : NAN;
}

}  // namespace

Status embedding_cuda(const EmbeddingArgs& a, cudaStream_t stream) {
  if (a.T < 0 || a.E <= 0 || a.max_pos <= 0 || a.type_vocab <= 0 || (!a.embeds && a.vocab <= 0))
    return Status::Error(StatusCode::kInvalidArgument, "embedding: bad sizes");
  if (a.T == 0) return Status::Ok();
  if ((!a.ids && !a.embeds) || !a.positions || !a.pos || !a.type || !a.y || (!a.embeds && !a.word))
    return Status::Error(StatusCode::kInvalidArgument, "embedding: null pointer");
  if (a.T > 2147483647) return Status::Error(StatusCode::kUnsupported, "embedding_cuda: too many tokens");
  CONVBERT_LAUNCH(embedding_kernel, static_cast<unsigned>(a.T), kThreads, 0, stream)(a);
  CUDA_TRY(cudaGetLastError());
  return Status::Ok();
}

// Host-side range check of the ids a forward will gather (shared with the engine).
Status embedding_check_ids(const EmbeddingArgs& a) {
  for (int64_t t = 0; t < a.T; ++t) {
    if (!a.embeds && (a.ids[t] < 0 || a.ids[t] >= a.vocab))
      return Status::Error(StatusCode::kInvalidArgument, "input_ids: id " + std::to_string(a.ids[t]) + " at token " +
                                                             std::to_string(t) + " is outside [0, " +
                                                             std::to_string(a.vocab) + ")");
    if (a.positions[t] < 0 || a.positions[t] >= a.max_pos)
      return Status::Error(StatusCode::kInvalidArgument, "position_ids: " + std::to_string(a.positions[t]) +
                                                             " at token " + std::to_string(t) + " is outside [0, " +
                                                             std::to_string(a.max_pos) + ")");
    if (a.types && (a.types[t] < 0 || a.types[t] >= a.type_vocab))
      return Status::Error(StatusCode::kInvalidArgument, "token_type_ids: " + std::to_string(a.types[t]) +
                                                             " at token " + std::to_string(t) + " is outside [0, " +
                                                             std::to_string(a.type_vocab) + ")");
  }
  return Status::Ok();
}

Status embedding_cuda_host(const EmbeddingArgs& h, int device) {
  CONVBERT_RETURN_IF_ERROR(cuda_begin(device));
  if (h.T < 0 || h.E <= 0 || h.max_pos <= 0 || h.type_vocab <= 0 || (!h.embeds && h.vocab <= 0))
    return Status::Error(StatusCode::kInvalidArgument, "embedding: bad sizes");
  if (h.T == 0) return Status::Ok();
  if ((!h.ids && !h.embeds) || !h.positions || !h.pos || !h.type || !h.y || (!h.embeds && !h.word))
    return Status::Error(StatusCode::kInvalidArgument, "embedding: null pointer");
  CONVBERT_RETURN_IF_ERROR(embedding_check_ids(h));
  DeviceBuffer di, de, dp, dt, dw, dpos, dtype, dy;
  EmbeddingArgs a = h;
  if (h.embeds) {
    CONVBERT_RETURN_IF_ERROR(to_device(&de, h.embeds, h.T * h.E));
    a.embeds = de.as<float>();
    a.ids = nullptr;
    a.word = nullptr;
  } else {
    CONVBERT_RETURN_IF_ERROR(to_device(&di, h.ids, h.T));
    CONVBERT_RETURN_IF_ERROR(to_device(&dw, h.word, h.vocab * h.E));
    a.ids = di.as<int32_t>();
    a.word = dw.as<float>();
  }
  CONVBERT_RETURN_IF_ERROR(to_device(&dp, h.positions, h.T));
  a.positions = dp.as<int32_t>();
  if (h.types) {
    CONVBERT_RETURN_IF_ERROR(to_device(&dt, h.types, h.T));
    a.types = dt.as<int32_t>();
  }
  CONVBERT_RETURN_IF_ERROR(to_device(&dpos, h.pos, h.max_pos * h.E));
  CONVBERT_RETURN_IF_ERROR(to_device(&dtype, h.type, h.type_vocab * h.E));
  CONVBERT_RETURN_IF_ERROR(to_device<float>(&dy, nullptr, h.T * h.E));
  a.pos = dpos.as<float>();
  a.type = dtype.as<float>();
  a.y = dy.as<float>();
  CONVBERT_RETURN_IF_ERROR(run_timed([&] { return embedding_cuda(a, 0); }));
  CUDA_TRY(cudaDeviceSynchronize());
  return to_host(h.y, dy, h.T * h.E);
}

}  // namespace convbert
