// thread_pool.cc: a persistent pool of worker threads woken per parallel
// region. One region runs at a time (regions from different forwards queue on
// region_mu), so the threads never oversubscribe the cores. Workers spin for a
// moment after a region before they sleep on a condition variable.
#include "convbert/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace convbert {
namespace {

// The claim word keeps a region's part count and next part in 16 bits each;
// a region sees at most parts + threads + 1 claims, so this bound keeps both in range.
constexpr int kMaxThreads = 4096;
int clamp_threads(int n) { return std::min(kMaxThreads, std::max(1, n)); }

class Pool {
 public:
  Pool() {
    int n = static_cast<int>(std::thread::hardware_concurrency());
    if (const char* env = std::getenv("CONVBERT_NUM_THREADS")) {
      int v = std::atoi(env);
      if (v > 0) n = v;
    }
    target_ = clamp_threads(n);
  }
  ~Pool() { stop(); }

  int threads() const { return target_; }

  void set_threads(int n) {
    std::lock_guard<std::mutex> region(region_mu_);
    stop();
    target_ = clamp_threads(n);
  }

  void run(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    grain = std::max<int64_t>(1, grain);
    int64_t max_chunks = (n + grain - 1) / grain;
    int parts = static_cast<int>(std::min<int64_t>(target_, max_chunks));
    if (parts <= 1) {
      fn(0, n);
      return;
    }
    std::lock_guard<std::mutex> region(region_mu_);
    start();
    // Publish the job, then the claim word (release: a thread whose claim reads
    // this word sees the job). Part 0 runs on the caller.
    job_ = &fn;
    job_n_ = n;
    pending_.store(parts - 1, std::memory_order_relaxed);
    generation_ = (generation_ + 1) & 0xffffffffu;
    claim_.store(generation_ << 32 | static_cast<uint64_t>(parts) << 16 | 1u, std::memory_order_release);
    {
      // Under mu_, so a worker that has just found no new generation and is
      // about to sleep is either still spinning (and sees it) or already waiting.
      std::lock_guard<std::mutex> lk(mu_);
    }
    cv_.notify_all();
    run_part(0, parts);
    // The caller helps with the remaining parts, then waits for stragglers.
    uint64_t gen = generation_;
    while (claim_part(gen)) {
    }
    if (!spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lk(mu_);
      done_cv_.wait(lk, [&] { return pending_.load(std::memory_order_acquire) == 0; });
    }
    job_ = nullptr;
  }

 private:
  // Regions come back to back inside a forward (a 128-token base forward runs
  // about 150), and a futex wake-up costs tens of microseconds on a VM, so both
  // sides spin briefly before they sleep. Idle threads sleep after kSpinNs.
  static constexpr int64_t kSpinNs = 50000;

  template <typename Pred>
  static bool spin_until(Pred&& done) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0;; ++i) {
      if (done()) return true;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      if ((i & 63) == 63 &&
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count() > kSpinNs)
        return false;
    }
  }

  void run_part(int64_t p, int64_t parts) {
    int64_t begin = job_n_ * p / parts;
    int64_t end = job_n_ * (p + 1) / parts;
    if (begin < end) (*job_)(begin, end);
  }
  // Claims and runs one part of the current region; false when none is left.
  // The claim word holds (generation, parts, next part) so that a thread that
  // claims late, from a region that has ended, reads that region's part count
  // with its claim and cannot run a part of the next region twice. `gen` is
  // updated to the generation of the word the claim read.
  bool claim_part(uint64_t& gen) {
    const uint64_t c = claim_.fetch_add(1, std::memory_order_acq_rel);
    gen = c >> 32;
    const int64_t parts = static_cast<int64_t>((c >> 16) & 0xffffu), p = static_cast<int64_t>(c & 0xffffu);
    if (p >= parts) return false;
    run_part(p, parts);
    finish_part();
    return true;
  }
  void finish_part() {
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lk(mu_);
      done_cv_.notify_one();
    }
  }
  void start() {
    if (!workers_.empty()) return;
    stopping_.store(false);
    for (int i = 1; i < target_; ++i) workers_.emplace_back([this] { loop(); });
  }
  void stop() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stopping_.store(true);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }
  void loop() {
    uint64_t seen = claim_.load(std::memory_order_acquire) >> 32;
    for (;;) {
      auto fresh = [&] {
        return stopping_.load(std::memory_order_acquire) || (claim_.load(std::memory_order_acquire) >> 32) != seen;
      };
      if (!spin_until(fresh)) {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, fresh);
      }
      if (stopping_.load(std::memory_order_acquire)) return;
      while (claim_part(seen)) {
      }
    }
  }

  std::mutex region_mu_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::vector<std::thread> workers_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  uint64_t generation_ = 0;  // written by the caller under region_mu_
  std::atomic<uint64_t> claim_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stopping_{false};
  int target_ = 1;
};

Pool& pool() {
  // Leaked on purpose: joining threads from a static destructor at process
  // exit can deadlock when the addon is unloaded from a worker thread.
  static Pool* p = new Pool();
  return *p;
}

}  // namespace

int num_threads() { return pool().threads(); }
void set_num_threads(int n) { pool().set_threads(n); }
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  pool().run(n, grain, fn);
}

}  // namespace convbert
