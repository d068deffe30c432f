// thread_pool.h: the engine's persistent intra-op pool.
// parallel_for splits [0, n) into contiguous chunks run by the pool's threads
// and the calling thread; it returns when every chunk is done. Calls from
// several threads at once are serialised (one parallel region at a time).
#pragma once
#include <cstdint>
#include <functional>

namespace convbert {

// Number of threads parallel_for uses (the caller counts as one). Default:
// hardware concurrency, or CONVBERT_NUM_THREADS when set.
int num_threads();
// Sets the thread count (>= 1); threads are started or parked to match.
void set_num_threads(int n);
// fn(begin, end) over contiguous chunks; grain = smallest chunk worth a thread.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace convbert
