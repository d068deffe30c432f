// cuda_emu.cc: the runtime of the CUDA emulator (cuda_emu.h). Device memory is host
// memory (filled with 0xff bytes, NaN as float, so reads of never-written memory show);
// streams run in order and synchronously; graph capture records launches and copies and
// replay runs them again. A kernel's blocks run one after another; a block's threads run
// as fibers on this OS thread (switching at __syncthreads and warp collectives) or, built
// with CONVBERT_CUDA_EMU_THREADS, as one OS thread each (so the sanitizers see them).
// Anything a driver or the hardware would refuse is a launch error with a message.
#include "cuda_emu.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#if !defined(CONVBERT_CUDA_EMU_THREADS) && !defined(__x86_64__)
#include <ucontext.h>
#endif

namespace cuda_emu {

namespace {

constexpr size_t kDefaultSmem = 48 * 1024;      // without cudaFuncAttributeMaxDynamicSharedMemorySize
constexpr size_t kOptinSmem = 227 * 1024;       // sm_90's sharedMemPerBlockOptin
constexpr size_t kTotalMem = size_t(16) << 30;  // what cudaGetDeviceProperties reports

// ---- errors: per host thread, like the runtime's last error ----
thread_local cudaError_t t_last_error = cudaSuccess;
thread_local std::string t_detail;  // the emulator's explanation of the last error
thread_local cudaError_t t_detail_code = cudaSuccess;
thread_local std::string t_error_text;  // what cudaGetErrorString returned last

cudaError_t fail(cudaError_t code, const std::string& detail) {
  t_last_error = code;
  t_detail = detail;
  t_detail_code = code;
  return code;
}

// ---- device memory: live allocations, for pointer and bounds checks on copies ----
std::mutex g_mu;
std::map<uintptr_t, size_t> g_allocs;  // start -> bytes
size_t g_used = 0;
thread_local int t_device = 0;              // the current device is per host thread, as in the runtime
std::map<const void*, int> g_max_dyn_smem;  // cudaFuncAttributeMaxDynamicSharedMemorySize

// Fault injection: CONVBERT_CUDA_EMU_FAIL_MALLOC=n makes the n-th cudaMalloc after the variable
// took that value fail with cudaErrorMemoryAllocation (counted per process).
std::string g_fail_env;
long g_malloc_count = 0;

bool inject_malloc_failure() {
  const char* env = getenv("CONVBERT_CUDA_EMU_FAIL_MALLOC");
  std::string v = env ? env : "";
  if (v != g_fail_env) {
    g_fail_env = v;
    g_malloc_count = 0;
  }
  if (v.empty()) return false;
  const long n = strtol(v.c_str(), nullptr, 10);
  return ++g_malloc_count == n;
}

// Emulated devices: CONVBERT_CUDA_EMU_DEVICES is a count ("2": that many sm_90 devices) or a
// comma-separated list of compute capabilities ("7.5,9.0": device 0 is sm_75, device 1 sm_90), so
// tests can put an unusable device before a usable one. Unset: one sm_90 device. All of them
// share the host's memory and run kernels the same way; only what the runtime reports differs.
struct EmuDevice {
  int major = 9, minor = 0;
};
constexpr int kMaxEmuDevices = 64;

cudaError_t emu_devices(std::vector<EmuDevice>* out) {
  out->clear();
  const char* env = getenv("CONVBERT_CUDA_EMU_DEVICES");
  const std::string v = env ? env : "";
  if (v.empty()) {
    out->push_back(EmuDevice());
    return cudaSuccess;
  }
  auto bad = [&]() {
    out->clear();
    return fail(cudaErrorInvalidValue,
                "CONVBERT_CUDA_EMU_DEVICES must be a device count in [0, " + std::to_string(kMaxEmuDevices) +
                    "] or a comma-separated list of compute capabilities like 7.5,9.0, got '" + v + "'");
  };
  if (v.find_first_not_of("0123456789") == std::string::npos) {
    if (v.size() > 2) return bad();
    const int n = atoi(v.c_str());
    if (n > kMaxEmuDevices) return bad();
    out->assign(static_cast<size_t>(n), EmuDevice());
    return cudaSuccess;
  }
  size_t pos = 0;
  while (pos <= v.size()) {
    const size_t end = std::min(v.find(',', pos), v.size());
    const std::string item = v.substr(pos, end - pos);
    const bool digits =
        item.size() == 3 && item[1] == '.' && item[0] >= '1' && item[0] <= '9' && item[2] >= '0' && item[2] <= '9';
    if (!digits || out->size() == static_cast<size_t>(kMaxEmuDevices)) return bad();
    EmuDevice d;
    d.major = item[0] - '0';
    d.minor = item[2] - '0';
    out->push_back(d);
    pos = end + 1;
  }
  return cudaSuccess;
}

// Is [p, p + bytes) inside one live allocation? (Host pointers are not.)
bool in_device_range(const void* p, size_t bytes) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  auto it = g_allocs.upper_bound(a);
  if (it == g_allocs.begin()) return false;
  --it;
  return a >= it->first && a - it->first <= it->second && bytes <= it->second - (a - it->first);
}

}  // namespace

// ---- streams, events, graphs ----
struct Graph {
  std::vector<std::function<cudaError_t()>> ops;
};
struct GraphExec {
  std::vector<std::function<cudaError_t()>> ops;
};
struct Stream {
  bool capturing = false;
  bool invalidated = false;
  Graph* graph = nullptr;
};
struct Event {
  std::chrono::steady_clock::time_point t;
  bool recorded = false;
};

namespace {
Stream g_legacy_stream;
Stream* stream_of(cudaStream_t s) { return s ? s : &g_legacy_stream; }

// Runs op now, or appends it to the graph being captured on s.
cudaError_t enqueue(cudaStream_t s, std::function<cudaError_t()> op) {
  Stream* st = stream_of(s);
  if (st->capturing) {
    st->graph->ops.push_back(std::move(op));
    return cudaSuccess;
  }
  return op();
}

cudaError_t copy_checked(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (bytes == 0) return cudaSuccess;
  if (!dst || !src) return fail(cudaErrorInvalidValue, "cudaMemcpy: null pointer");
  {
    std::lock_guard<std::mutex> lk(g_mu);
    const bool dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    const bool src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if (dst_dev && !in_device_range(dst, bytes))
      return fail(cudaErrorInvalidValue, "cudaMemcpy: destination range of " + std::to_string(bytes) +
                                             " bytes is not inside one device allocation");
    if (src_dev && !in_device_range(src, bytes))
      return fail(cudaErrorInvalidValue, "cudaMemcpy: source range of " + std::to_string(bytes) +
                                             " bytes is not inside one device allocation");
  }
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}
}  // namespace

// ---- the execution of one block ----
// Each warp synchronises through its own lock, and the block barrier through the block's, so
// in the threads mode the sanitizers see only the happens-before edges CUDA guarantees: a
// missing __syncthreads between warps stays a race instead of being hidden by a shared lock.
struct WarpState {
  unsigned arrived = 0;  // lanes that published in this round
  unsigned mask = 0;     // the round's mask
  unsigned exited = 0;   // lanes that returned
  uint64_t gen = 0;
  uint64_t vals[32] = {};
  uint64_t read[32] = {};
#ifdef CONVBERT_CUDA_EMU_THREADS
  std::mutex mu;
  std::condition_variable cv;
#endif
};

struct KernelAbort {};  // unwinds one CUDA thread after a fault of its block

struct BlockState {
  uint3 idx;
  dim3 bdim, gdim;
  unsigned nthreads = 0;
  std::atomic<unsigned> alive{0};  // relaxed: counting creates no ordering between threads
  // __syncthreads (under mu)
  std::atomic<unsigned> bar_arrived{0};
  uint64_t bar_gen = 0;
  std::unique_ptr<WarpState[]> warps;
  // shared memory
  void* dyn = nullptr;
  size_t dyn_bytes = 0, static_bytes = 0, smem_limit = kDefaultSmem;
  struct Static {
    void* p;
    size_t bytes;
  };
  std::vector<Static> statics;
  // faults: the first one wins (under fault_mu); every thread then unwinds
  std::atomic<bool> fault{false};
  std::mutex fault_mu;
  cudaError_t fault_code = cudaSuccess;
  std::string fault_msg;
  std::atomic<uint64_t> progress{0};  // bumped on every arrival, release and exit (fiber deadlock detection)
  const char* kernel = "";
#ifdef CONVBERT_CUDA_EMU_THREADS
  std::mutex mu;
  std::condition_variable cv;
#endif
  ~BlockState() {
    free(dyn);
    for (auto& s : statics) free(s.p);
  }
  std::string where() const {
    return std::string(kernel) + " block (" + std::to_string(idx.x) + "," + std::to_string(idx.y) + "," +
           std::to_string(idx.z) + ")";
  }
};

namespace {

thread_local ThreadState* t_self = nullptr;

#ifdef CONVBERT_CUDA_EMU_THREADS
using Lock = std::unique_lock<std::mutex>;
Lock lock_block(BlockState& b) { return Lock(b.mu); }
Lock lock_warp(WarpState& w) { return Lock(w.mu); }
void wake(BlockState& b) { b.cv.notify_all(); }
void wake(WarpState& w) { w.cv.notify_all(); }
#else
struct Lock {};
Lock lock_block(BlockState&) { return {}; }
Lock lock_warp(WarpState&) { return {}; }
void wake(BlockState&) {}
void wake(WarpState&) {}
void yield();
#endif

void record_fault(BlockState& b, cudaError_t code, const std::string& msg) {
  std::lock_guard<std::mutex> lk(b.fault_mu);
  if (!b.fault.load()) {
    b.fault_code = code;
    b.fault_msg = msg;
    b.fault.store(true);
  }
  b.progress.fetch_add(1, std::memory_order_relaxed);
}

// Records a fault (first one wins) and unwinds the calling thread; waiters notice by polling.
[[noreturn]] void raise_fault(BlockState& b, Lock& lk, cudaError_t code, const std::string& msg) {
  (void)lk;
  record_fault(b, code, b.where() + " thread " + std::to_string(t_self->linear) + ": " + msg);
  throw KernelAbort{};
}

// Waits on cv until pred() holds; a fault of the block unwinds the waiter instead.
template <class Cv, class Pred>
void wait_until(BlockState& b, Lock& lk, Cv* cv, Pred pred) {
#ifdef CONVBERT_CUDA_EMU_THREADS
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!pred() && !b.fault.load()) {
    cv->wait_for(lk, std::chrono::milliseconds(20));  // polls for faults raised elsewhere
    if (std::chrono::steady_clock::now() > deadline && !pred() && !b.fault.load())
      raise_fault(b, lk, cudaErrorLaunchFailure, "deadlock: no progress for 60 s");
  }
#else
  (void)lk;
  (void)cv;
  while (!pred() && !b.fault.load()) yield();
#endif
  if (b.fault.load()) throw KernelAbort{};
}

}  // namespace

ThreadState& self() { return *t_self; }
const uint3& block_idx() { return t_self->block->idx; }
const dim3& block_dim() { return t_self->block->bdim; }
const dim3& grid_dim() { return t_self->block->gdim; }

void syncthreads() {
  BlockState& b = *t_self->block;
  Lock lk = lock_block(b);
  if (b.fault) throw KernelAbort{};
  const unsigned alive = b.alive.load(std::memory_order_relaxed);
  if (alive != b.nthreads)
    raise_fault(b, lk, cudaErrorLaunchFailure,
                "__syncthreads reached while " + std::to_string(b.nthreads - alive) + " of " +
                    std::to_string(b.nthreads) + " threads of the block have exited (barrier divergence)");
  b.progress.fetch_add(1, std::memory_order_relaxed);
  const uint64_t gen = b.bar_gen;
  if (b.bar_arrived.fetch_add(1) + 1 == b.nthreads) {
    b.bar_arrived.store(0);
    ++b.bar_gen;
    wake(b);
    return;
  }
#ifdef CONVBERT_CUDA_EMU_THREADS
  wait_until(b, lk, &b.cv, [&] { return b.bar_gen != gen; });
#else
  wait_until(b, lk, static_cast<int*>(nullptr), [&] { return b.bar_gen != gen; });
#endif
}

uint64_t warp_exchange(unsigned mask, uint64_t bits, int src, const char* what) {
  BlockState& b = *t_self->block;
  const unsigned lane = t_self->linear & 31u, w = t_self->linear >> 5;
  WarpState& W = b.warps[w];
  Lock lk = lock_warp(W);
  if (b.fault.load()) throw KernelAbort{};
  const unsigned lanes = std::min(32u, b.nthreads - w * 32);
  const unsigned exists = lanes == 32 ? 0xffffffffu : (1u << lanes) - 1u;
  auto hex = [](unsigned v) {
    char s[16];
    snprintf(s, sizeof s, "0x%08x", v);
    return std::string(s);
  };
  if (mask & ~exists)
    raise_fault(b, lk, cudaErrorLaunchFailure,
                std::string(what) + " mask " + hex(mask) + " names lanes that warp " + std::to_string(w) +
                    " does not have (" + std::to_string(lanes) + " lanes)");
  if (!(mask & (1u << lane)))
    raise_fault(
        b, lk, cudaErrorLaunchFailure,
        std::string(what) + " called by lane " + std::to_string(lane) + " which is not in its mask " + hex(mask));
  if (mask & W.exited) {
    const unsigned gone = mask & W.exited;
    raise_fault(b, lk, cudaErrorLaunchFailure,
                std::string(what) + " with mask " + hex(mask) + " in warp " + std::to_string(w) + " but lane " +
                    std::to_string(__builtin_ctz(gone)) + " has exited");
  }
  if (src < 0 || src > 31 || !(mask & (1u << src)))
    raise_fault(b, lk, cudaErrorLaunchFailure,
                std::string(what) + " reads lane " + std::to_string(src) + " which is not in its mask " + hex(mask));
  if (W.arrived && W.mask != mask)
    raise_fault(b, lk, cudaErrorLaunchFailure,
                std::string(what) + ": lanes of warp " + std::to_string(w) + " disagree on the mask (" + hex(W.mask) +
                    " vs " + hex(mask) + ")");
  W.mask = mask;
  W.vals[lane] = bits;
  W.arrived |= 1u << lane;
  b.progress.fetch_add(1, std::memory_order_relaxed);
  const uint64_t gen = W.gen;
  if (W.arrived == mask) {
    std::copy(W.vals, W.vals + 32, W.read);
    W.arrived = 0;
    ++W.gen;
    wake(W);
  } else {
#ifdef CONVBERT_CUDA_EMU_THREADS
    wait_until(b, lk, &W.cv, [&] { return W.gen != gen; });
#else
    wait_until(b, lk, static_cast<int*>(nullptr), [&] { return W.gen != gen; });
#endif
  }
  return W.read[src];
}

void* dynamic_smem() { return t_self->block->dyn; }

void* static_smem(size_t bytes, size_t align, const char* name) {
  BlockState& b = *t_self->block;
  const unsigned k = t_self->static_smem_next++;
  Lock lk = lock_block(b);
  if (b.fault.load()) throw KernelAbort{};
  if (k < b.statics.size()) {
    if (b.statics[k].bytes != bytes)
      raise_fault(b, lk, cudaErrorLaunchFailure,
                  std::string("__shared__ ") + name + ": threads of one block declared different shared arrays");
    return b.statics[k].p;
  }
  b.static_bytes += bytes;
  if (b.static_bytes > kDefaultSmem)
    raise_fault(b, lk, cudaErrorInvalidValue,
                "static __shared__ memory of " + std::to_string(b.static_bytes) +
                    " bytes is over the 48 KB a kernel may declare");
  if (b.static_bytes + b.dyn_bytes > b.smem_limit)
    raise_fault(b, lk, cudaErrorInvalidValue,
                "static (" + std::to_string(b.static_bytes) + " bytes) + dynamic (" + std::to_string(b.dyn_bytes) +
                    " bytes) shared memory is over the " + std::to_string(b.smem_limit) + "-byte limit" +
                    (b.smem_limit == kDefaultSmem ? " (no cudaFuncAttributeMaxDynamicSharedMemorySize opt-in)" : ""));
  void* p = nullptr;
  if (posix_memalign(&p, std::max<size_t>(align, sizeof(void*)), bytes ? bytes : 1) != 0)
    raise_fault(b, lk, cudaErrorMemoryAllocation, "cannot allocate shared memory");
  std::memset(p, 0xff, bytes);  // shared memory starts undefined: NaN as float
  b.statics.push_back({p, bytes});
  return p;
}

// ---- running a block: fibers (default) or OS threads ----
namespace {

#ifndef CONVBERT_CUDA_EMU_THREADS

constexpr size_t kStack = 128 * 1024;

#if defined(__x86_64__)
// switch(save, to): saves the callee-saved registers and the stack pointer in *save, then
// resumes the context whose stack pointer is `to` (System V x86-64 ABI).
extern "C" void convbert_emu_switch(void** save, void* to);
asm(R"(
  .text
  .p2align 4
  .globl convbert_emu_switch
  .hidden convbert_emu_switch
  .type convbert_emu_switch, @function
convbert_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size convbert_emu_switch, .-convbert_emu_switch
)");
#endif

struct Fiber {
  ThreadState ts;
  char* stack = nullptr;  // kStack bytes above a guard page
  bool done = false;
#if defined(__x86_64__)
  void* sp = nullptr;
#else
  ucontext_t ctx;
#endif
};

struct FiberPool {
  std::vector<char*> stacks;
  ~FiberPool() {
    for (char* s : stacks) munmap(s - 4096, kStack + 4096);
  }
  char* get(size_t i) {
    while (stacks.size() <= i) {
      void* m = mmap(nullptr, kStack + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (m == MAP_FAILED) return nullptr;
      mprotect(m, 4096, PROT_NONE);  // a stack overflow faults instead of corrupting a neighbour
      stacks.push_back(static_cast<char*>(m) + 4096);
    }
    return stacks[i];
  }
};

thread_local FiberPool t_pool;
thread_local Fiber* t_fiber = nullptr;
thread_local const std::function<void()>* t_body = nullptr;
#if defined(__x86_64__)
thread_local void* t_sched_sp = nullptr;
#else
thread_local ucontext_t t_sched_ctx;
#endif

void to_scheduler() {
#if defined(__x86_64__)
  convbert_emu_switch(&t_fiber->sp, t_sched_sp);
#else
  swapcontext(&t_fiber->ctx, &t_sched_ctx);
#endif
}

void yield() { to_scheduler(); }

void thread_exit_bookkeeping(BlockState& b, ThreadState& ts);

[[noreturn]] void fiber_main() {
  Fiber* f = t_fiber;
  try {
    (*t_body)();
  } catch (KernelAbort&) {
  } catch (...) {
    BlockState& b = *f->ts.block;
    record_fault(b, cudaErrorLaunchFailure, b.where() + ": a C++ exception escaped the kernel");
  }
  try {
    thread_exit_bookkeeping(*f->ts.block, f->ts);
  } catch (KernelAbort&) {
  }
  f->done = true;
  for (;;) to_scheduler();
}

#if !defined(__x86_64__)
void fiber_main_c() { fiber_main(); }
#endif

#endif  // !CONVBERT_CUDA_EMU_THREADS

// A thread that returns: its lanes leave the warp; a barrier or warp round waiting on it is a fault.
// Only the warp's lock is taken, so an exit creates no ordering with other warps.
void thread_exit_bookkeeping(BlockState& b, ThreadState& ts) {
  const unsigned lane = ts.linear & 31u, w = ts.linear >> 5;
  WarpState& W = b.warps[w];
  Lock lk = lock_warp(W);
  W.exited |= 1u << lane;
  const bool awaited = W.arrived && (W.mask & (1u << lane));
  b.alive.fetch_sub(1, std::memory_order_relaxed);
  b.progress.fetch_add(1, std::memory_order_relaxed);
  if (b.fault.load()) return;
  const unsigned waiting = b.bar_arrived.load(std::memory_order_relaxed);
  if (waiting > 0)
    raise_fault(b, lk, cudaErrorLaunchFailure,
                "returned while " + std::to_string(waiting) +
                    " threads of its block wait at __syncthreads (barrier divergence)");
  if (awaited)
    raise_fault(b, lk, cudaErrorLaunchFailure,
                "lane " + std::to_string(lane) + " of warp " + std::to_string(w) +
                    " returned while other lanes wait for it in a warp shuffle");
}

// Runs one block to completion; returns its fault, if any.
cudaError_t run_block(BlockState& b, const std::function<void()>& body, std::string* msg) {
  const unsigned n = b.nthreads;
#ifdef CONVBERT_CUDA_EMU_THREADS
  std::vector<ThreadState> ts(n);
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (unsigned i = 0; i < n; ++i) {
    ts[i].idx = {i % b.bdim.x, (i / b.bdim.x) % b.bdim.y, i / (b.bdim.x * b.bdim.y)};
    ts[i].linear = i;
    ts[i].block = &b;
    threads.emplace_back([&b, &body, t = &ts[i]] {
      t_self = t;
      try {
        body();
      } catch (KernelAbort&) {
      } catch (...) {
        record_fault(b, cudaErrorLaunchFailure, b.where() + ": a C++ exception escaped the kernel");
      }
      try {
        thread_exit_bookkeeping(b, *t);
      } catch (KernelAbort&) {
      }
      t_self = nullptr;
    });
  }
  for (auto& t : threads) t.join();
#else
  std::vector<Fiber> fibers(n);
  ThreadState* saved_self = t_self;
  Fiber* saved_fiber = t_fiber;
  const std::function<void()>* saved_body = t_body;
  t_body = &body;
  for (unsigned i = 0; i < n; ++i) {
    Fiber& f = fibers[i];
    f.ts.idx = {i % b.bdim.x, (i / b.bdim.x) % b.bdim.y, i / (b.bdim.x * b.bdim.y)};
    f.ts.linear = i;
    f.ts.block = &b;
    f.stack = t_pool.get(i);
    if (!f.stack) {
      *msg = "cannot map fiber stacks";
      t_body = saved_body;
      return cudaErrorMemoryAllocation;
    }
#if defined(__x86_64__)
    // Stack image that convbert_emu_switch pops: six registers, then fiber_main as the return
    // address; fiber_main starts as if called (rsp + 8 aligned to 16), with 0 as its return address.
    auto* top = reinterpret_cast<uintptr_t*>(f.stack + kStack);
    top[-1] = 0;
    top[-2] = reinterpret_cast<uintptr_t>(&fiber_main);
    for (int r = 3; r <= 8; ++r) top[-r] = 0;
    f.sp = top - 8;
#else
    getcontext(&f.ctx);
    f.ctx.uc_stack.ss_sp = f.stack;
    f.ctx.uc_stack.ss_size = kStack;
    f.ctx.uc_link = nullptr;
    makecontext(&f.ctx, &fiber_main_c, 0);
#endif
  }
  unsigned left = n;
  while (left > 0) {
    const uint64_t before = b.progress.load(std::memory_order_relaxed);
    bool exited = false;
    for (unsigned i = 0; i < n; ++i) {
      Fiber& f = fibers[i];
      if (f.done) continue;
      t_self = &f.ts;
      t_fiber = &f;
#if defined(__x86_64__)
      convbert_emu_switch(&t_sched_sp, f.sp);
#else
      swapcontext(&t_sched_ctx, &f.ctx);
#endif
      if (f.done) {
        --left;
        exited = true;
      }
    }
    if (left > 0 && !exited && b.progress.load(std::memory_order_relaxed) == before && !b.fault.load()) {
      // Every live thread waits for something no thread will do.
      record_fault(b, cudaErrorLaunchFailure,
                   b.where() + ": deadlock: " + std::to_string(left) +
                       " threads wait at __syncthreads or a warp collective that can never complete");
    }
  }
  t_self = saved_self;
  t_fiber = saved_fiber;
  t_body = saved_body;
#endif
  if (b.fault.load()) {
    *msg = b.fault_msg;
    return b.fault_code;
  }
  return cudaSuccess;
}

cudaError_t run_grid(const LaunchConfig& c, const std::function<void()>& body, std::string* msg) {
  const unsigned nthreads = c.block.x * c.block.y * c.block.z;
  size_t limit = kDefaultSmem;
  {
    std::lock_guard<std::mutex> lk(g_mu);
    auto it = g_max_dyn_smem.find(c.fn);
    if (it != g_max_dyn_smem.end() && static_cast<size_t>(it->second) > kDefaultSmem) limit = kOptinSmem;
    if (it != g_max_dyn_smem.end() && c.dyn_smem > static_cast<size_t>(it->second)) {
      *msg = std::string(c.name) + ": " + std::to_string(c.dyn_smem) +
             " bytes of dynamic shared memory is over the kernel's cudaFuncAttributeMaxDynamicSharedMemorySize (" +
             std::to_string(it->second) + ")";
      return cudaErrorInvalidValue;
    }
  }
  if (c.dyn_smem > limit) {
    *msg = std::string(c.name) + ": " + std::to_string(c.dyn_smem) + " bytes of dynamic shared memory is over the " +
           std::to_string(limit) + "-byte limit" +
           (limit == kDefaultSmem ? " (no cudaFuncAttributeMaxDynamicSharedMemorySize opt-in)" : "");
    return cudaErrorInvalidValue;
  }
  for (unsigned z = 0; z < c.grid.z; ++z)
    for (unsigned y = 0; y < c.grid.y; ++y)
      for (unsigned x = 0; x < c.grid.x; ++x) {
        BlockState b;
        b.idx = {x, y, z};
        b.bdim = c.block;
        b.gdim = c.grid;
        b.nthreads = nthreads;
        b.alive.store(nthreads);
        b.warps.reset(new WarpState[(nthreads + 31) / 32]);
        b.smem_limit = limit;
        b.kernel = c.name;
        b.dyn_bytes = c.dyn_smem;
        if (c.dyn_smem > 0) {
          if (posix_memalign(&b.dyn, 256, c.dyn_smem) != 0) {
            *msg = "cannot allocate shared memory";
            return cudaErrorMemoryAllocation;
          }
          std::memset(b.dyn, 0xff, c.dyn_smem);  // undefined at block start: NaN as float
        }
        const cudaError_t err = run_block(b, body, msg);
        if (err != cudaSuccess) return err;
      }
  return cudaSuccess;
}

}  // namespace

void launch(const LaunchConfig& cfg, std::function<void()> body) {
  const dim3 g = cfg.grid, bl = cfg.block;
  const uint64_t nthreads = uint64_t(bl.x) * bl.y * bl.z;
  std::string why;
  if (bl.x == 0 || bl.y == 0 || bl.z == 0 || g.x == 0 || g.y == 0 || g.z == 0) why = "a grid or block dimension is 0";
  else if (bl.x > 1024 || bl.y > 1024 || bl.z > 64 || nthreads > 1024)
    why = "block (" + std::to_string(bl.x) + "," + std::to_string(bl.y) + "," + std::to_string(bl.z) +
          ") is over 1024 threads or the per-dimension limits (1024, 1024, 64)";
  else if (g.x > 2147483647u || g.y > 65535 || g.z > 65535)
    why = "grid (" + std::to_string(g.x) + "," + std::to_string(g.y) + "," + std::to_string(g.z) +
          ") is over the limits (2^31 - 1, 65535, 65535)";
  if (!why.empty()) {
    fail(cudaErrorInvalidConfiguration, std::string(cfg.name) + ": " + why);
    return;
  }
  const LaunchConfig c = cfg;
  const cudaError_t err = enqueue(cfg.stream, [c, body = std::move(body)]() -> cudaError_t {
    std::string msg;
    const cudaError_t e = run_grid(c, body, &msg);
    return e == cudaSuccess ? e : fail(e, msg);
  });
  if (err != cudaSuccess) t_last_error = err;
}

cudaError_t set_func_attribute(const void* fn, cudaFuncAttribute attr, int value) {
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize) return cudaSuccess;
  if (value < 0 || static_cast<size_t>(value) > kOptinSmem)
    return fail(cudaErrorInvalidValue, "cudaFuncSetAttribute: MaxDynamicSharedMemorySize " + std::to_string(value) +
                                           " is over " + std::to_string(kOptinSmem));
  std::lock_guard<std::mutex> lk(g_mu);
  g_max_dyn_smem[fn] = value;
  return cudaSuccess;
}

}  // namespace cuda_emu

using cuda_emu::fail;

// ---- the runtime API ----
cudaError_t cudaGetDeviceCount(int* n) {
  std::vector<cuda_emu::EmuDevice> devs;
  *n = 0;
  const cudaError_t e = cuda_emu::emu_devices(&devs);
  if (e != cudaSuccess) return e;
  if (devs.empty()) return fail(cudaErrorNoDevice, "CONVBERT_CUDA_EMU_DEVICES=0: no emulated device");
  *n = static_cast<int>(devs.size());
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device) {
  std::vector<cuda_emu::EmuDevice> devs;
  const cudaError_t e = cuda_emu::emu_devices(&devs);
  if (e != cudaSuccess) return e;
  if (device < 0 || device >= static_cast<int>(devs.size()))
    return fail(cudaErrorInvalidDevice, "device " + std::to_string(device) + " is outside the emulator's " +
                                            std::to_string(devs.size()) + " devices");
  const cuda_emu::EmuDevice& d = devs[static_cast<size_t>(device)];
  std::memset(p, 0, sizeof *p);
  if (getenv("CONVBERT_CUDA_EMU_DEVICES"))
    snprintf(p->name, sizeof p->name, "CUDA emulator %d on the host CPU (emulated sm_%d%d, not a GPU)", device, d.major,
             d.minor);
  else snprintf(p->name, sizeof p->name, "CUDA emulator on the host CPU (emulated, not a GPU)");
  p->totalGlobalMem = cuda_emu::kTotalMem;
  p->sharedMemPerBlock = cuda_emu::kDefaultSmem;
  p->sharedMemPerBlockOptin = cuda_emu::kOptinSmem;
  p->regsPerBlock = 65536;
  p->warpSize = 32;
  p->maxThreadsPerBlock = 1024;
  p->maxThreadsDim[0] = 1024;
  p->maxThreadsDim[1] = 1024;
  p->maxThreadsDim[2] = 64;
  p->maxGridSize[0] = 2147483647;
  p->maxGridSize[1] = 65535;
  p->maxGridSize[2] = 65535;
  // The semantics emulated are sm_90's (the newest target of the real build) whatever is reported.
  p->major = d.major;
  p->minor = d.minor;
  p->multiProcessorCount = 1;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) return e;
  if (device < 0 || device >= n)
    return fail(cudaErrorInvalidDevice,
                "device " + std::to_string(device) + " is outside the emulator's " + std::to_string(n) + " devices");
  cuda_emu::t_device = device;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
  *device = cuda_emu::t_device;
  return cudaSuccess;
}
cudaError_t cudaRuntimeGetVersion(int* v) {
  *v = 0;  // no CUDA runtime: the emulator
  return cudaSuccess;
}
cudaError_t cudaDriverGetVersion(int* v) {
  *v = 0;  // no driver
  return cudaSuccess;
}

cudaError_t cudaGetLastError() {
  const cudaError_t e = cuda_emu::t_last_error;
  cuda_emu::t_last_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() { return cuda_emu::t_last_error; }

const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInitializationError: return "cudaErrorInitializationError";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorLaunchOutOfResources: return "cudaErrorLaunchOutOfResources";
    case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorStreamCaptureInvalidated: return "cudaErrorStreamCaptureInvalidated";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    case cudaErrorUnknown: return "cudaErrorUnknown";
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t e) {
  const char* base = "unknown error";
  switch (e) {
    case cudaSuccess: base = "no error"; break;
    case cudaErrorInvalidValue: base = "invalid argument"; break;
    case cudaErrorMemoryAllocation: base = "out of memory"; break;
    case cudaErrorInitializationError: base = "initialization error"; break;
    case cudaErrorInvalidConfiguration: base = "invalid configuration argument"; break;
    case cudaErrorInvalidDevicePointer: base = "invalid device pointer"; break;
    case cudaErrorNoDevice: base = "no CUDA-capable device is detected"; break;
    case cudaErrorInvalidDevice: base = "invalid device ordinal"; break;
    case cudaErrorInvalidResourceHandle: base = "invalid resource handle"; break;
    case cudaErrorNotReady: base = "device not ready"; break;
    case cudaErrorIllegalAddress: base = "an illegal memory access was encountered"; break;
    case cudaErrorLaunchOutOfResources: base = "too many resources requested for launch"; break;
    case cudaErrorStreamCaptureUnsupported: base = "operation not permitted when stream is capturing"; break;
    case cudaErrorStreamCaptureInvalidated: base = "operation failed due to a previous error during capture"; break;
    case cudaErrorLaunchFailure: base = "unspecified launch failure"; break;
    case cudaErrorUnknown: break;
  }
  cuda_emu::t_error_text = base;
  if (e != cudaSuccess && e == cuda_emu::t_detail_code && !cuda_emu::t_detail.empty()) {
    cuda_emu::t_error_text += "; emulator: " + cuda_emu::t_detail;
    cuda_emu::t_detail.clear();
    cuda_emu::t_detail_code = cudaSuccess;
  }
  return cuda_emu::t_error_text.c_str();
}

cudaError_t cudaMalloc(void** p, size_t bytes) {
  if (!p) return fail(cudaErrorInvalidValue, "cudaMalloc: null pointer");
  *p = nullptr;
  std::lock_guard<std::mutex> lk(cuda_emu::g_mu);
  if (cuda_emu::inject_malloc_failure())
    return fail(cudaErrorMemoryAllocation, "cudaMalloc failed on purpose (CONVBERT_CUDA_EMU_FAIL_MALLOC)");
  if (bytes > cuda_emu::kTotalMem - cuda_emu::g_used)
    return fail(cudaErrorMemoryAllocation, "cudaMalloc of " + std::to_string(bytes) + " bytes: over the " +
                                               std::to_string(cuda_emu::kTotalMem >> 30) + " GiB device");
  void* m = nullptr;
  if (posix_memalign(&m, 256, bytes ? bytes : 1) != 0)
    return fail(cudaErrorMemoryAllocation, "cudaMalloc of " + std::to_string(bytes) + " bytes: host allocation failed");
  std::memset(m, 0xff, bytes);  // cudaMalloc memory is undefined: NaN as float, never a plausible value
  cuda_emu::g_allocs[reinterpret_cast<uintptr_t>(m)] = bytes;
  cuda_emu::g_used += bytes;
  *p = m;
  return cudaSuccess;
}

cudaError_t cudaFree(void* p) {
  if (!p) return cudaSuccess;
  std::lock_guard<std::mutex> lk(cuda_emu::g_mu);
  auto it = cuda_emu::g_allocs.find(reinterpret_cast<uintptr_t>(p));
  if (it == cuda_emu::g_allocs.end()) return fail(cudaErrorInvalidDevicePointer, "cudaFree: not a live allocation");
  cuda_emu::g_used -= it->second;
  cuda_emu::g_allocs.erase(it);
  free(p);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (cuda_emu::g_legacy_stream.capturing)
    return fail(cudaErrorStreamCaptureUnsupported, "cudaMemcpy while the legacy stream captures");
  return cuda_emu::copy_checked(dst, src, bytes, kind);
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s) {
  return cuda_emu::enqueue(s, [=] { return cuda_emu::copy_checked(dst, src, bytes, kind); });
}
cudaError_t cudaMemset(void* dst, int value, size_t bytes) { return cudaMemsetAsync(dst, value, bytes, nullptr); }
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t s) {
  return cuda_emu::enqueue(s, [=]() -> cudaError_t {
    {
      std::lock_guard<std::mutex> lk(cuda_emu::g_mu);
      if (bytes && !cuda_emu::in_device_range(dst, bytes))
        return fail(cudaErrorInvalidValue, "cudaMemset: range is not inside one device allocation");
    }
    std::memset(dst, value, bytes);
    return cudaSuccess;
  });
}
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  std::lock_guard<std::mutex> lk(cuda_emu::g_mu);
  *total_bytes = cuda_emu::kTotalMem;
  *free_bytes = cuda_emu::kTotalMem - cuda_emu::g_used;
  return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

cudaError_t cudaStreamCreate(cudaStream_t* s) { return cudaStreamCreateWithFlags(s, cudaStreamDefault); }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  *s = new cuda_emu::Stream();
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
  if (s && s->capturing) delete s->graph;
  delete s;
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s) {
  if (cuda_emu::stream_of(s)->capturing) {
    cuda_emu::stream_of(s)->invalidated = true;
    return fail(cudaErrorStreamCaptureUnsupported, "cudaStreamSynchronize on a capturing stream");
  }
  return cudaSuccess;
}
cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode) {
  cuda_emu::Stream* st = cuda_emu::stream_of(s);
  if (!s) return fail(cudaErrorStreamCaptureUnsupported, "the legacy stream cannot be captured");
  if (st->capturing) return fail(cudaErrorInvalidValue, "the stream is already capturing");
  st->capturing = true;
  st->invalidated = false;
  st->graph = new cuda_emu::Graph();
  return cudaSuccess;
}
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t* graph) {
  cuda_emu::Stream* st = cuda_emu::stream_of(s);
  if (!st->capturing) return fail(cudaErrorInvalidValue, "the stream is not capturing");
  st->capturing = false;
  if (st->invalidated) {
    delete st->graph;
    st->graph = nullptr;
    *graph = nullptr;
    return fail(cudaErrorStreamCaptureInvalidated, "the capture was invalidated by an unsupported call");
  }
  *graph = st->graph;
  st->graph = nullptr;
  return cudaSuccess;
}
cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
  if (!graph) return fail(cudaErrorInvalidValue, "cudaGraphInstantiate: null graph");
  *exec = new cuda_emu::GraphExec{graph->ops};
  return cudaSuccess;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t s) {
  if (!exec) return fail(cudaErrorInvalidValue, "cudaGraphLaunch: null graph");
  return cuda_emu::enqueue(s, [exec]() -> cudaError_t {
    for (auto& op : exec->ops) {
      const cudaError_t e = op();
      if (e != cudaSuccess) return e;
    }
    return cudaSuccess;
  });
}
cudaError_t cudaGraphDestroy(cudaGraph_t g) {
  delete g;
  return cudaSuccess;
}
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t e) {
  delete e;
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* e) {
  *e = new cuda_emu::Event();
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
  delete e;
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) {
  if (!e) return fail(cudaErrorInvalidResourceHandle, "cudaEventRecord: null event");
  return cuda_emu::enqueue(s, [e]() -> cudaError_t {
    e->t = std::chrono::steady_clock::now();
    e->recorded = true;
    return cudaSuccess;
  });
}
cudaError_t cudaEventSynchronize(cudaEvent_t e) {
  if (!e) return fail(cudaErrorInvalidResourceHandle, "cudaEventSynchronize: null event");
  return cudaSuccess;
}
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t a, cudaEvent_t b) {
  if (!a || !b || !a->recorded || !b->recorded) return fail(cudaErrorInvalidResourceHandle, "event not recorded");
  *ms = std::chrono::duration<float, std::milli>(b->t - a->t).count();
  return cudaSuccess;
}
