// test_activation.cc: every activation on every CPU path this machine has,
// against the reference path, plus the thread pool and dispatch invariants.
// Tolerance: rtol 1e-5, atol 2e-6 (vector exp/erf errors are ~1e-7).
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "convbert/cpu.h"
#include "convbert/thread_pool.h"
#include "native_test.h"

using namespace convbert;

CONVBERT_TEST(activation_paths_match_reference) {
  std::vector<float> x(3 * 1030), bias(1030);
  uint32_t s = 12345;
  auto next = [&] {
    s = s * 1664525u + 1013904223u;
    return (static_cast<float>(s >> 8) / 16777216.0f - 0.5f) * 16.0f;
  };
  for (float& v : x) v = next();
  for (float& v : bias) v = next() * 0.1f;
  for (int64_t C : {1, 7, 16, 33, 1030}) {
    const int64_t rows = 3;
    for (int act = 0; act < static_cast<int>(Activation::kCount); ++act) {
      std::vector<float> want(rows * C), got(rows * C);
      ActivationArgs a;
      a.x = x.data();
      a.bias = bias.data();
      a.rows = rows;
      a.C = C;
      a.act = static_cast<Activation>(act);
      a.y = want.data();
      EXPECT_TRUE(activation(cpu_ops(Isa::kGeneric), a).ok());
      for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
        if (isa > detect_isa()) continue;
        a.y = got.data();
        EXPECT_TRUE(activation(cpu_ops(isa), a).ok());
        for (int64_t i = 0; i < rows * C; ++i) EXPECT_CLOSE(got[i], want[i], 2e-6, 1e-5);
      }
    }
  }
}

CONVBERT_TEST(activation_rejects_bad_arguments) {
  ActivationArgs a;
  a.rows = 2;
  a.C = 4;  // null pointers with work to do
  EXPECT_TRUE(activation(cpu_ops(), a).code == StatusCode::kInvalidArgument);
  std::vector<float> x(8), y(8);
  a.x = x.data();
  a.y = y.data();
  a.act = static_cast<Activation>(99);
  EXPECT_TRUE(activation(cpu_ops(), a).code == StatusCode::kInvalidArgument);
}

CONVBERT_TEST(thread_pool_covers_every_index_once) {
  const int before = num_threads();
  for (int threads : {1, 2, 3, 5}) {
    set_num_threads(threads);
    for (int64_t n : {0, 1, 7, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      for (auto& h : hits) h.store(0);
      parallel_for(n, 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
      });
      bool once = true;
      for (auto& h : hits) once = once && h.load() == 1;
      EXPECT_TRUE(once);
    }
  }
  set_num_threads(before);
  EXPECT_TRUE(num_threads() == before);
}

// Regions back to back with part counts that change from one to the next, from
// two calling threads at once: a worker that claims late (while the next region is
// being published) must never run a part of the next region a second time.
CONVBERT_TEST(thread_pool_back_to_back_regions_run_each_part_once) {
  const int before = num_threads();
  for (int threads : {4, 8}) {
    set_num_threads(threads);
    std::atomic<int> bad{0};
    auto caller = [&](int seed) {
      const int64_t sizes[] = {2, 3, 1000, 5, 9, 1};
      std::vector<std::atomic<int>> hits(1000);
      for (int r = 0; r < 3000; ++r) {
        const int64_t n = sizes[(r + seed) % 6];
        for (int64_t i = 0; i < n; ++i) hits[static_cast<size_t>(i)].store(0);
        parallel_for(n, 1, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
        });
        for (int64_t i = 0; i < n; ++i)
          if (hits[static_cast<size_t>(i)].load() != 1) bad.fetch_add(1);
      }
    };
    std::thread other(caller, 3);
    caller(0);
    other.join();
    EXPECT_TRUE(bad.load() == 0);
  }
  set_num_threads(before);
  EXPECT_TRUE(num_threads() == before);
}

CONVBERT_TEST(dispatch_tables_are_complete) {
  for (Isa isa : {Isa::kGeneric, Isa::kAvx2, Isa::kAvx512}) {
    const OpTable& t = cpu_ops(isa);
    EXPECT_TRUE(t.activation_row != nullptr);
    EXPECT_TRUE(t.name != nullptr);
  }
  EXPECT_TRUE(active_isa() <= detect_isa());
}
