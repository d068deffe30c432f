// tensor.h: non-owning views over memory that the caller keeps alive.
// Dims are row-major; strides are counted in elements, never bytes.
#pragma once
#include <cstddef>
#include <cstdint>

namespace convbert {

enum class DType : int32_t {
  kFloat32 = 0,
  kFloat16 = 1,
  kBFloat16 = 2,
  kInt8 = 3,
  kUInt8 = 4,
  kInt32 = 5,
  kInt64 = 6,
  kBool = 7,
};

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::kFloat32:
    case DType::kInt32: return 4;
    case DType::kFloat16:
    case DType::kBFloat16: return 2;
    case DType::kInt8:
    case DType::kUInt8:
    case DType::kBool: return 1;
    case DType::kInt64: return 8;
  }
  return 0;
}

constexpr int kMaxDims = 8;

struct TensorView {
  DType dtype = DType::kFloat32;
  void* data = nullptr;
  int ndim = 0;
  int64_t dims[kMaxDims] = {0};

  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= dims[i];
    return n;
  }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
  template <typename T>
  T* as() const {
    return static_cast<T*>(data);
  }
};

}  // namespace convbert
