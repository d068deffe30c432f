// gemm_tasks.h: how the fp32 and bf16 gemm drivers (gemm.cc, gemm_bf16.cc) cut C
// into tasks for the pool.
#pragma once
#include <cstdint>

namespace convbert {

// Task t covers rows [(t % mt) * rows, +rows) and columns [(t / mt) * cols, +cols)
// (column-block major, so one thread's consecutive tasks share weight panels).
struct GemmTaskShape {
  int64_t rows, cols, mt, nt;
};

// Rows in multiples of the 6-row microtile, columns in multiples of 32 (two panels).
GemmTaskShape gemm_task_shape(int64_t M, int64_t N, int threads);

}  // namespace convbert
