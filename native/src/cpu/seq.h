// seq.h: row -> sequence lookup shared by the varlen-aware drivers (core
// files only; the ISA files never include it). cu_seqlens null means the
// padded layout: B sequences of L rows each.
#pragma once
#include <algorithm>
#include <cstdint>

namespace convbert {

inline void seq_of_row(const int32_t* cu_seqlens, int64_t B, int64_t L, int64_t row, int64_t* start, int64_t* len) {
  if (!cu_seqlens) {
    *start = row / L * L;
    *len = L;
    return;
  }
  // Last b with cu_seqlens[b] <= row (every sequence is non-empty).
  const int32_t* it = std::upper_bound(cu_seqlens, cu_seqlens + B + 1, static_cast<int32_t>(row));
  const int64_t b = (it - cu_seqlens) - 1;
  *start = cu_seqlens[b];
  *len = cu_seqlens[b + 1] - cu_seqlens[b];
}

}  // namespace convbert
