// thread_pool.cc: a persistent pool of worker threads woken per parallel
// region. One region runs at a time (regions from different forwards queue on
// region_mu), so the threads never oversubscribe the cores.
#include "convbert/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace convbert {
namespace {

class Pool {
 public:
  Pool() {
    int n = static_cast<int>(std::thread::hardware_concurrency());
    if (const char* env = std::getenv("CONVBERT_NUM_THREADS")) {
      int v = std::atoi(env);
      if (v > 0) n = v;
    }
    target_ = std::max(1, n);
  }
  ~Pool() { stop(); }

  int threads() const { return target_; }

  void set_threads(int n) {
    std::lock_guard<std::mutex> region(region_mu_);
    stop();
    target_ = std::max(1, n);
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
    {
      std::lock_guard<std::mutex> lk(mu_);
      job_ = &fn;
      job_n_ = n;
      job_parts_ = parts;
      next_part_.store(1);  // part 0 runs on the caller
      pending_ = parts - 1;
      ++generation_;
    }
    cv_.notify_all();
    run_part(0);
    // The caller helps with the remaining parts, then waits for stragglers.
    for (;;) {
      int p = next_part_.fetch_add(1);
      if (p >= job_parts_) break;
      run_part(p);
      finish_part();
    }
    std::unique_lock<std::mutex> lk(mu_);
    done_cv_.wait(lk, [&] { return pending_ == 0; });
    job_ = nullptr;
  }

 private:
  void run_part(int p) {
    int64_t begin = job_n_ * p / job_parts_;
    int64_t end = job_n_ * (p + 1) / job_parts_;
    if (begin < end) (*job_)(begin, end);
  }
  void finish_part() {
    std::lock_guard<std::mutex> lk(mu_);
    if (--pending_ == 0) done_cv_.notify_one();
  }
  void start() {
    if (!workers_.empty()) return;
    stopping_ = false;
    for (int i = 1; i < target_; ++i) workers_.emplace_back([this] { loop(); });
  }
  void stop() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }
  void loop() {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
      }
      for (;;) {
        int p = next_part_.fetch_add(1);
        if (p >= job_parts_) break;
        run_part(p);
        finish_part();
      }
    }
  }

  std::mutex region_mu_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::vector<std::thread> workers_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  int job_parts_ = 0;
  std::atomic<int> next_part_{0};
  int pending_ = 0;
  uint64_t generation_ = 0;
  bool stopping_ = false;
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
