// seq.h: row -> sequence lookup shared by the varlen-aware drivers (core
// files only; the ISA files never include it). seq_starts null means the
// padded layout: B sequences of L rows each.
#pragma once
#include <algorithm>
#include <cstdint>

namespace convbert {

inline void seq_of_row(const int32_t* seq_starts, int64_t B, int64_t L, int64_t row, int64_t* start, int64_t* len) {
  if (!seq_starts) {
    *start = row / L * L;
    *len = L;
    return;
  }
  // Last b with seq_starts[b] <= row (every sequence is non-empty).
  const int32_t* it = std::upper_bound(seq_starts, seq_starts + B + 1, static_cast<int32_t>(row));
  const int64_t b = (it - seq_starts) - 1;
  *start = seq_starts[b];
  *len = seq_starts[b + 1] - seq_starts[b];
}

}  // namespace convbert
