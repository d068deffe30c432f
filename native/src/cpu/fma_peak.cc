// fma_peak.cc: measures the machine's FP32 FMA peak (bench-only): every pool
// thread runs a register-only FMA loop of the chosen ISA path (12 independent
// accumulators, no memory traffic) and the wall time of the whole region gives
// GFLOP/s (2 flops per lane per FMA); the threads' CPU time gives the rate of one
// core while it runs (GFLOP per CPU-second), which other work on the machine
// lowers far less than the wall-clock rate. The generic path is a scalar loop, so it
// shows what the portable fallback could reach at best.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>

#include "convbert/cpu.h"
#include "convbert/ops.h"
#include "convbert/thread_pool.h"
#include "kernels_isa.h"

namespace convbert {

namespace {

float fma_loop_ref(int64_t iters) {
  float acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = static_cast<float>(i) * 1e-3f;
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) acc[i] = acc[i] * 0.999999f + 1e-7f;
  float s = 0.f;
  for (int i = 0; i < 12; ++i) s += acc[i];
  return s;
}

}  // namespace

Status fma_peak(int32_t isa, int64_t iters, int32_t threads, FmaPeakResult* out) {
  if (isa < 0 || isa > 2) return Status::Error(StatusCode::kInvalidArgument, "fma_peak: isa must be 0, 1 or 2");
  if (iters <= 0 || threads <= 0)
    return Status::Error(StatusCode::kInvalidArgument, "fma_peak: iters and threads must be positive");
  const Isa run = static_cast<Isa>(std::min(isa, static_cast<int32_t>(detect_isa())));
  const int64_t lanes = run == Isa::kAvx512 ? 16 : run == Isa::kAvx2 ? 8 : 1;
  std::atomic<int> sink{0};
  std::atomic<int64_t> cpu_ns{0};
  const auto t0 = std::chrono::steady_clock::now();
  parallel_for(threads, 1, [&](int64_t p0, int64_t p1) {
    timespec c0{}, c1{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    for (int64_t p = p0; p < p1; ++p) {
      const float r = run == Isa::kAvx512 ? fma_loop_avx512(iters)
                      : run == Isa::kAvx2 ? fma_loop_avx2(iters)
                                          : fma_loop_ref(iters);
      if (r == 12345.f) sink.fetch_add(1);  // keeps the loop's result live
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    cpu_ns.fetch_add((c1.tv_sec - c0.tv_sec) * 1000000000LL + (c1.tv_nsec - c0.tv_nsec));
  });
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double flops =
      static_cast<double>(threads) * static_cast<double>(iters) * 12.0 * 2.0 * static_cast<double>(lanes);
  out->seconds = s;
  out->gflops = s > 0 ? flops / s / 1e9 : 0.0;
  out->cpu_seconds = static_cast<double>(cpu_ns.load()) / 1e9;
  out->gflops_per_cpu_second = out->cpu_seconds > 0 ? flops / out->cpu_seconds / 1e9 : 0.0;
  out->path = isa_name(run);
  out->threads = std::min<int32_t>(threads, num_threads());
  return Status::Ok();
}

}  // namespace convbert
