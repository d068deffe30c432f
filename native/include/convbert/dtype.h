// dtype.h: the weight precision, one enum for both engines. The CPU engine packs
// its linear layers as float32, bfloat16 or int8 (engine.h build_model); the CUDA
// engine keeps its gemm weights as float32, float16 or bfloat16 (cuda_backend.h).
// Each refuses the others with kUnsupported. The names are the strings JS passes
// as `dtype`.
#pragma once
#include <cstdint>
#include <string_view>

namespace convbert {

enum class Dtype : int32_t { kFloat32 = 0, kFloat16 = 1, kBFloat16 = 2, kInt8 = 3 };

// "float32", "float16", "bfloat16" or "int8".
constexpr const char* dtype_name(Dtype d) {
  switch (d) {
    case Dtype::kFloat16: return "float16";
    case Dtype::kBFloat16: return "bfloat16";
    case Dtype::kInt8: return "int8";
    case Dtype::kFloat32: break;
  }
  return "float32";
}

// The Dtype that dtype_name gives s: true and *out set, or false (*out unchanged)
// when s names none.
inline bool parse_dtype(std::string_view s, Dtype* out) {
  for (Dtype d : {Dtype::kFloat32, Dtype::kFloat16, Dtype::kBFloat16, Dtype::kInt8}) {
    if (s == dtype_name(d)) {
      *out = d;
      return true;
    }
  }
  return false;
}

}  // namespace convbert
