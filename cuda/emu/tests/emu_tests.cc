// emu_tests.cc: native tests of the CUDA emulator (cuda/emu/) and of the CUDA backend's host
// entry points, no Node: `node scripts/test_cuda_emu.js` builds and runs them. Modes (argv[1]):
//   all    every check below (fiber mode, and under TSan/ASan in the threads mode);
//   race   a copy of block_sum with its second __syncthreads removed (ThreadSanitizer must
//          report a data race; the script checks that it does);
//   oob    a kernel that indexes a 33-float __shared__ array with threadIdx.x up to 63
//          (AddressSanitizer must report a heap-buffer-overflow).
// The emulator must report what a driver or the hardware would refuse, as a launch error.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common.cuh"
#include "convbert/cuda_backend.h"
#include "kernels.cuh"

#ifdef CONVBERT_EMU_TESTS_ENGINE
#include <algorithm>
#include <memory>

#include "convbert/cpu.h"
#include "convbert/engine.h"
#endif

using namespace convbert;

namespace {

int g_checks = 0, g_failures = 0;
#define CHECK(cond, ...)                                               \
  do {                                                                 \
    ++g_checks;                                                        \
    if (!(cond)) {                                                     \
      ++g_failures;                                                    \
      std::printf("  %s:%d: expected %s ", __FILE__, __LINE__, #cond); \
      std::printf(__VA_ARGS__);                                        \
      std::printf("\n");                                               \
    }                                                                  \
  } while (0)

// ---- test kernels ----
__global__ void sum_kernel(const float* x, float* out) {
  CONVBERT_SHARED(float, red, [33]);
  const float s = block_sum(x[threadIdx.x], red);
  if (threadIdx.x == 0) out[blockIdx.x] = s;
}

// block_sum from common.cuh with the barrier between the partial-sum writes and the warp-0
// read removed: warp 0 may read red[w] before warp w wrote it.
__global__ void racy_sum_kernel(const float* x, float* out) {
  CONVBERT_SHARED(float, red, [33]);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
  float v = warp_sum(x[threadIdx.x]);
  __syncthreads();
  if (lane == 0) red[warp] = v;
  if (warp == 0) {
    float s = lane < nw ? red[lane] : 0.0f;
    s = warp_sum(s);
    if (lane == 0) out[blockIdx.x] = s;
  }
}

__global__ void oob_kernel(float* out) {
  CONVBERT_SHARED(float, red, [33]);
  float* r = red;         // through a pointer, as the kernels pass shared arrays on (block_sum's red)
  r[threadIdx.x] = 1.0f;  // 64 threads: 31 of them write past the end
  __syncthreads();
  if (threadIdx.x == 0) out[0] = red[0];
}

__global__ void early_exit_shuffle_kernel(float* out) {
  if (threadIdx.x == 5) return;  // lane 5 leaves, then the others shuffle with a full mask
  out[threadIdx.x] = warp_sum(1.0f);
}

__global__ void divergent_barrier_kernel(float* out) {
  if (threadIdx.x >= 32) return;
  __syncthreads();
  out[threadIdx.x] = 1.0f;
}

__global__ void big_static_smem_kernel(float* out) {
  CONVBERT_SHARED(float, big, [10 * 1024]);  // 40 KB static
  big[threadIdx.x] = 1.0f;
  __syncthreads();
  out[threadIdx.x] = big[threadIdx.x];
}

__global__ void noop_kernel(float* out) {
  if (out && threadIdx.x == 0 && blockIdx.x == 0) out[0] = 1.0f;
}

__global__ void add_one_kernel(float* x) { x[threadIdx.x] += 1.0f; }

cudaError_t last_launch() { return cudaGetLastError(); }

void test_block_sum_and_sync() {
  std::vector<float> h(128);
  for (int i = 0; i < 128; ++i) h[i] = static_cast<float>(i);
  float *dx = nullptr, *dout = nullptr;
  CHECK(cudaMalloc(&dx, 128 * 4) == cudaSuccess, "");
  CHECK(cudaMalloc(&dout, 4) == cudaSuccess, "");
  cudaMemcpy(dx, h.data(), 128 * 4, cudaMemcpyHostToDevice);
  CONVBERT_LAUNCH(sum_kernel, 1, 128, 0, nullptr)(dx, dout);
  CHECK(last_launch() == cudaSuccess, "");
  float s = 0;
  cudaMemcpy(&s, dout, 4, cudaMemcpyDeviceToHost);
  CHECK(s == 8128.0f, "block_sum of 0..127 = %g", s);
  cudaFree(dx);
  cudaFree(dout);
}

void test_launch_limits() {
  float* d = nullptr;
  cudaMalloc(&d, 4096 * 4);
  CONVBERT_LAUNCH(noop_kernel, 1, 1025, 0, nullptr)(d);
  CHECK(last_launch() == cudaErrorInvalidConfiguration, "block of 1025 threads");
  CONVBERT_LAUNCH(noop_kernel, dim3(1, 65536), 32, 0, nullptr)(d);
  CHECK(last_launch() == cudaErrorInvalidConfiguration, "grid.y 65536");
  CONVBERT_LAUNCH(noop_kernel, 1, dim3(1, 1, 65), 0, nullptr)(d);
  CHECK(last_launch() == cudaErrorInvalidConfiguration, "block.z 65");
  // 40 KB static + 9 KB dynamic: over 48 KB without the opt-in; fine with it.
  CONVBERT_LAUNCH(big_static_smem_kernel, 1, 32, 9 * 1024, nullptr)(d);
  const cudaError_t e = last_launch();
  CHECK(e == cudaErrorInvalidValue, "static + dynamic shared memory over 48 KB: got %s", cudaGetErrorName(e));
  CONVBERT_LAUNCH(noop_kernel, 1, 32, 49 * 1024, nullptr)(d);
  CHECK(last_launch() == cudaErrorInvalidValue, "dynamic shared memory over 48 KB without the opt-in");
  CHECK(cudaFuncSetAttribute(big_static_smem_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 * 1024) ==
            cudaSuccess,
        "");
  CONVBERT_LAUNCH(big_static_smem_kernel, 1, 32, 9 * 1024, nullptr)(d);
  CHECK(last_launch() == cudaSuccess, "with the opt-in");
  cudaFree(d);
}

void test_faults() {
  float* d = nullptr;
  cudaMalloc(&d, 1024 * 4);
  CONVBERT_LAUNCH(early_exit_shuffle_kernel, 1, 32, 0, nullptr)(d);
  cudaError_t e = last_launch();
  CHECK(e == cudaErrorLaunchFailure, "shuffle with a full mask after lane 5 exited: got %s", cudaGetErrorName(e));
  const std::string msg = cudaGetErrorString(e);
  CHECK(msg.find("lane 5") != std::string::npos, "the message names the exited lane: %s", msg.c_str());
  CONVBERT_LAUNCH(divergent_barrier_kernel, 1, 64, 0, nullptr)(d);
  e = last_launch();
  CHECK(e == cudaErrorLaunchFailure, "__syncthreads after half the block returned: got %s", cudaGetErrorName(e));
  (void)cudaGetErrorString(e);
  cudaFree(d);
}

void test_malloc_injection() {
  setenv("CONVBERT_CUDA_EMU_FAIL_MALLOC", "2", 1);
  void *a = nullptr, *b = nullptr, *c = nullptr;
  CHECK(cudaMalloc(&a, 16) == cudaSuccess, "first");
  CHECK(cudaMalloc(&b, 16) == cudaErrorMemoryAllocation, "second fails on purpose");
  CHECK(cudaMalloc(&c, 16) == cudaSuccess, "third");
  unsetenv("CONVBERT_CUDA_EMU_FAIL_MALLOC");
  (void)cudaGetLastError();
  cudaFree(a);
  cudaFree(c);
  // Through a host entry point, the failure is a kOutOfMemory Status, never an abort.
  setenv("CONVBERT_CUDA_EMU_FAIL_MALLOC", "3", 1);
  std::vector<float> x(64, 1.0f), g(8, 1.0f), bt(8, 0.0f), y(64);
  LayerNormArgs a2;
  a2.x = x.data();
  a2.y = y.data();
  a2.gamma = g.data();
  a2.beta = bt.data();
  a2.rows = 8;
  a2.C = 8;
  const Status st = layernorm_cuda_host(a2, 0);
  unsetenv("CONVBERT_CUDA_EMU_FAIL_MALLOC");
  CHECK(st.code == StatusCode::kOutOfMemory, "layernorm with the 3rd cudaMalloc failing: %s", st.message.c_str());
}

void test_graph_replay() {
  cudaStream_t s = nullptr;
  cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
  float* d = nullptr;
  cudaMalloc(&d, 32 * 4);
  cudaMemset(d, 0, 32 * 4);
  CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal) == cudaSuccess, "");
  CONVBERT_LAUNCH(add_one_kernel, 1, 32, 0, s)(d);
  CONVBERT_LAUNCH(add_one_kernel, 1, 32, 0, s)(d);
  cudaGraph_t g = nullptr;
  CHECK(cudaStreamEndCapture(s, &g) == cudaSuccess, "");
  float h[32];
  cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
  CHECK(h[7] == 0.0f, "captured launches do not run: %g", h[7]);
  cudaGraphExec_t ex = nullptr;
  CHECK(cudaGraphInstantiate(&ex, g, 0) == cudaSuccess, "");
  cudaGraphLaunch(ex, s);
  cudaGraphLaunch(ex, s);
  cudaStreamSynchronize(s);
  cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
  CHECK(h[7] == 4.0f, "two replays of two launches: %g", h[7]);
  cudaGraphExecDestroy(ex);
  cudaGraphDestroy(g);
  cudaFree(d);
  cudaStreamDestroy(s);
}

// ---- regressions of the CUDA backend ----

size_t device_bytes_in_use() {
  size_t free_b = 0, total = 0;
  cudaMemGetInfo(&free_b, &total);
  return total - free_b;
}

void test_device_buffer_realloc() {
  const size_t before = device_bytes_in_use();
  {
    DeviceBuffer b;
    CHECK(b.alloc(1000).ok(), "");
    CHECK(b.alloc(2000).ok(), "");
  }
  CHECK(device_bytes_in_use() == before, "DeviceBuffer::alloc twice leaked %zu bytes", device_bytes_in_use() - before);
}

void test_conv_cu_seqlens() {
  // Lengths 5 and 2 with L = 4: sequence 0 is longer than L, so its last row would be left unwritten.
  const int32_t seq[3] = {0, 5, 7};
  const int64_t T = 7, C = 3, K = 3, H = 1, D = 3;
  std::vector<float> x(T * C, 1.0f), wt(K * C, 1.0f), y(T * C, 0.0f), w(T * H * K, 0.0f);
  SepConvArgs sc;
  sc.x = x.data();
  sc.y = y.data();
  sc.wt = wt.data();
  sc.B = 2;
  sc.L = 4;
  sc.C = C;
  sc.K = K;
  sc.cu_seqlens = seq;
  Status st = sepconv_cuda_host(sc, 0);
  CHECK(st.code == StatusCode::kInvalidArgument, "sepconv with a sequence longer than L: %s", st.message.c_str());
  CHECK(st.message.find("sequence 0 has length 5") != std::string::npos, "message: %s", st.message.c_str());
  DynConvArgs dc;
  dc.v = x.data();
  dc.w = w.data();
  dc.out = y.data();
  dc.ldv = dc.ldo = H * D;
  dc.B = 2;
  dc.L = 4;
  dc.H = H;
  dc.D = D;
  dc.K = K;
  dc.cu_seqlens = seq;
  st = dynconv_cuda_host(dc, true, 0);
  CHECK(st.code == StatusCode::kInvalidArgument, "dynconv with a sequence longer than L: %s", st.message.c_str());
}

void test_conv_alias() {
  float* d = nullptr;
  cudaMalloc(&d, 64 * 4);
  float* wt = nullptr;
  cudaMalloc(&wt, 64 * 4);
  SepConvArgs sc;
  sc.x = d;
  sc.y = d;  // in place: block l would read rows that blocks l +- 1 overwrite
  sc.wt = wt;
  sc.B = 1;
  sc.L = 8;
  sc.C = 8;
  sc.K = 3;
  Status st = sepconv_cuda(sc, nullptr);
  CHECK(st.code == StatusCode::kInvalidArgument, "sepconv with y == x: %s", st.message.c_str());
  cudaFree(d);
  cudaFree(wt);
}

void test_activation_checks() {
  std::vector<float> x(8, 1.0f), y(8, 0.0f);
  ActivationArgs a;
  a.x = x.data();
  a.y = y.data();
  a.rows = 2;
  a.C = 4;
  a.act = static_cast<Activation>(99);
  Status st = activation_cuda_host(a, 0);
  CHECK(st.code == StatusCode::kInvalidArgument, "unknown activation code: %s", st.message.c_str());
  a.act = Activation::kIdentity;
  st = activation_cuda_host(a, 3);
  CHECK(st.code == StatusCode::kInvalidArgument && st.message.find("device") != std::string::npos, "device 3 of 1: %s",
        st.message.c_str());
}

// int8 is one of the Dtype values, but only the CPU engine runs it: the CUDA gemm refuses it
// by name instead of reading the weights as some other type.
void test_gemm_refuses_int8() {
  std::vector<float> A(4, 1.0f), B(4, 1.0f), C(4, 0.0f);
  CudaGemmArgs g;
  g.A = A.data();
  g.B = B.data();
  g.C = C.data();
  g.M = g.N = g.K = 2;
  g.lda = g.ldb = g.ldc = 2;
  g.dtype = Dtype::kInt8;
  Status st = gemm_cuda_host(g, 0);
  CHECK(st.code == StatusCode::kUnsupported && st.message.find("int8") != std::string::npos, "gemm int8: %s",
        st.message.c_str());
  CHECK(C[0] == 0.0f, "gemm int8 wrote C: %f", C[0]);
  g.dtype = Dtype::kFloat32;
  st = gemm_cuda_host(g, 0);
  CHECK(st.ok() && C[0] == 2.0f, "gemm float32 (the control): %s, C[0] = %f", st.message.c_str(), C[0]);
}

#ifdef CONVBERT_EMU_TESTS_ENGINE
// A bf16 (or int8) Model has no fp32 panels: the CUDA engine must refuse it, not read garbage.
// Asked for int8 weights (the CPU engine's dtype), it refuses a float32 Model too.
void test_engine_refuses_bf16_model() {
  EngineConfig c;
  c.vocab_size = 20;
  c.hidden = 16;
  c.embedding = 16;
  c.layers = 1;
  c.sa_heads = 1;
  c.head_dim = 8;
  c.intermediate = 32;
  c.conv_kernel = 3;
  c.groups = 1;
  c.max_positions = 16;
  c.type_vocab = 2;
  c.hidden_act = 1;
  HeadConfig h;
  std::vector<WeightSpec> specs = expected_weights(c, h);
  std::vector<std::vector<float>> store(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) store[i].assign(static_cast<size_t>(specs[i].numel), 0.01f);
  WeightLookup lookup = [&](const WeightSpec& w) -> const float* {
    for (size_t i = 0; i < specs.size(); ++i)
      if (specs[i].name == w.name && specs[i].numel == w.numel) return store[i].data();
    return nullptr;
  };
  for (Dtype dt : {Dtype::kBFloat16, Dtype::kInt8}) {
    std::shared_ptr<Model> m;
    Status st = build_model(c, h, lookup, &m, dt);
    if (!st.ok()) {
      CHECK(false, "build_model %s: %s", dtype_name(dt), st.message.c_str());
      continue;
    }
    std::shared_ptr<CudaEngine> e;
    CudaEngineOptions o;
    st = cuda_engine_create(*m, o, &e);
    CHECK(st.code == StatusCode::kUnsupported && st.message.find(dtype_name(dt)) != std::string::npos,
          "cuda_engine_create on a %s model: %s", dtype_name(dt), st.message.c_str());
  }
  std::shared_ptr<Model> f32;
  Status st = build_model(c, h, lookup, &f32);
  CHECK(st.ok(), "build_model float32: %s", st.message.c_str());
  if (f32) {
    CudaEngineOptions o;
    o.dtype = Dtype::kInt8;
    std::shared_ptr<CudaEngine> e;
    st = cuda_engine_create(*f32, o, &e);
    CHECK(st.code == StatusCode::kUnsupported && st.message.find("int8") != std::string::npos && !e,
          "cuda_engine_create with dtype int8: %s", st.message.c_str());
  }
}

// The one forward walk: the CUDA engine is a ForwardTarget running the CPU's walk_forward on
// the CUDA table. forward(model, target, job) validates before either target sees the job (an
// out-of-range id reaches no gather: the CUDA embedding kernel has no bounds check of its own);
// a varlen job gives the CPU's result (atol 1e-4 + rtol 1e-4: the same ops, only the gemm
// summation order differs), and a second split with the same (B, L, T) replays the captured
// graph (no new capture) with the new boundaries read from the arena.
void test_engine_one_walk() {
  EngineConfig c;
  c.vocab_size = 23;
  c.hidden = 16;
  c.embedding = 12;
  c.layers = 2;
  c.sa_heads = 2;
  c.head_dim = 4;
  c.intermediate = 24;
  c.conv_kernel = 3;
  c.groups = 2;
  c.max_positions = 16;
  c.type_vocab = 2;
  c.hidden_act = 1;
  HeadConfig h;
  h.kind = HeadKind::kMultipleChoice;
  h.num_outputs = 1;
  h.summary_type = SummaryType::kClsIndex;
  h.summary_use_proj = true;
  h.summary_proj_out = 16;
  h.summary_act = 9;  // tanh
  std::vector<WeightSpec> specs = expected_weights(c, h);
  std::vector<std::vector<float>> store(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    store[i].resize(static_cast<size_t>(specs[i].numel));
    for (size_t k = 0; k < store[i].size(); ++k) store[i][k] = 0.3f * std::sin(0.7f * k + 1.3f * i);
  }
  WeightLookup lookup = [&](const WeightSpec& w) -> const float* {
    for (size_t i = 0; i < specs.size(); ++i)
      if (specs[i].name == w.name && specs[i].numel == w.numel) return store[i].data();
    return nullptr;
  };
  std::shared_ptr<Model> m;
  Status st = build_model(c, h, lookup, &m);
  CHECK(st.ok(), "build_model: %s", st.message.c_str());
  if (!st.ok()) return;
  std::shared_ptr<CudaEngine> e;
  st = cuda_engine_create(*m, CudaEngineOptions{}, &e);
  CHECK(st.ok(), "cuda_engine_create: %s", st.message.c_str());
  if (!st.ok()) return;
  std::shared_ptr<ForwardTarget> gpu = cuda_engine_target(e);
  CpuTarget cpu(cpu_ops());

  struct Run {
    std::vector<int32_t> ids, seq, cls;
    std::vector<float> last, logits;
    std::vector<std::vector<float>> hidden;
    ForwardJob job;
  };
  auto make = [&](const std::vector<int32_t>& lens) {
    auto r = std::make_unique<Run>();
    const int64_t B = static_cast<int64_t>(lens.size());
    r->seq.assign(1, 0);
    int64_t L = 0;
    for (int32_t n : lens) {
      r->seq.push_back(r->seq.back() + n);
      L = std::max<int64_t>(L, n);
      r->cls.push_back(n / 2);
    }
    const int64_t T = r->seq.back();
    for (int64_t t = 0; t < T; ++t) r->ids.push_back(static_cast<int32_t>((t * 5 + 2) % c.vocab_size));
    r->last.assign(static_cast<size_t>(T * c.hidden), 0.f);
    r->logits.assign(static_cast<size_t>(B), 0.f);
    r->hidden.assign(static_cast<size_t>(c.layers + 1), std::vector<float>(static_cast<size_t>(T * c.hidden)));
    r->job.B = B;
    r->job.L = L;
    r->job.input_ids = r->ids.data();
    r->job.cu_seqlens = r->seq.data();
    r->job.cls_index = r->cls.data();
    r->job.last_hidden_state = r->last.data();
    r->job.logits = r->logits.data();
    for (auto& v : r->hidden) r->job.hidden_states.push_back(v.data());
    return r;
  };
  auto close = [](const std::vector<float>& a, const std::vector<float>& b) {
    for (size_t i = 0; i < a.size(); ++i)
      if (!(std::fabs(a[i] - b[i]) <= 1e-4f + 1e-4f * std::fabs(b[i]))) return false;
    return true;
  };
  for (const std::vector<int32_t>& lens : {std::vector<int32_t>{3, 7, 1, 5}, std::vector<int32_t>{7, 3, 5, 1}}) {
    auto want = make(lens), got = make(lens);
    st = forward(*m, cpu, want->job);
    CHECK(st.ok(), "cpu forward: %s", st.message.c_str());
    st = forward(*m, *gpu, got->job);
    CHECK(st.ok(), "cuda forward: %s", st.message.c_str());
    CHECK(close(got->last, want->last), "last_hidden_state differs (lengths %d %d)", lens[0], lens[1]);
    CHECK(close(got->logits, want->logits), "logits differ: %g vs %g", got->logits[0], want->logits[0]);
    for (size_t i = 0; i < want->hidden.size(); ++i)
      CHECK(close(got->hidden[i], want->hidden[i]), "hidden_states.%zu differs", i);
    CHECK(cuda_engine_graph_count(*e) == 1, "one captured graph for one (B, L, T), got %lld",
          static_cast<long long>(cuda_engine_graph_count(*e)));
  }
  // Validation runs before the target: both refuse the same way, and nothing is enqueued.
  auto bad = make({3, 2});
  bad->ids[4] = static_cast<int32_t>(c.vocab_size);
  for (ForwardTarget* t : {static_cast<ForwardTarget*>(&cpu), gpu.get()}) {
    st = forward(*m, *t, bad->job);
    CHECK(st.code == StatusCode::kInvalidArgument && st.message.find("input_ids") != std::string::npos,
          "an id past vocab_size: %s", st.message.c_str());
  }
  auto bad_cls = make({3, 2});
  bad_cls->cls[1] = 2;
  st = forward(*m, *gpu, bad_cls->job);
  CHECK(st.code == StatusCode::kInvalidArgument && st.message.find("cls_index") != std::string::npos,
        "cls_index past its sequence: %s", st.message.c_str());
  CHECK(cuda_engine_graph_count(*e) == 1, "refused jobs captured a graph");
}
#endif

}  // namespace

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IONBF, 0);  // a crash must not swallow the lines before it
  const std::string mode = argc > 1 ? argv[1] : "all";
  std::vector<float> h(128, 1.0f);
  if (mode == "race") {
    float *dx = nullptr, *dout = nullptr;
    cudaMalloc(&dx, 128 * 4);
    cudaMalloc(&dout, 4);
    cudaMemcpy(dx, h.data(), 128 * 4, cudaMemcpyHostToDevice);
    CONVBERT_LAUNCH(racy_sum_kernel, 1, 128, 0, nullptr)(dx, dout);
    std::printf("racy sum ran: %s\n", cudaGetErrorName(cudaGetLastError()));
    return 0;
  }
  if (mode == "oob") {
    float* d = nullptr;
    cudaMalloc(&d, 4);
    CONVBERT_LAUNCH(oob_kernel, 1, 64, 0, nullptr)(d);
    std::printf("out-of-bounds kernel ran: %s\n", cudaGetErrorName(cudaGetLastError()));
    return 0;
  }
  struct {
    const char* name;
    void (*fn)();
  } tests[] = {
      {"block_sum_and_sync", test_block_sum_and_sync},
      {"launch_limits", test_launch_limits},
      {"faults", test_faults},
      {"malloc_injection", test_malloc_injection},
      {"graph_replay", test_graph_replay},
      {"device_buffer_realloc", test_device_buffer_realloc},
      {"conv_cu_seqlens", test_conv_cu_seqlens},
      {"conv_alias", test_conv_alias},
      {"activation_checks", test_activation_checks},
      {"gemm_refuses_int8", test_gemm_refuses_int8},
#ifdef CONVBERT_EMU_TESTS_ENGINE
      {"engine_refuses_bf16_model", test_engine_refuses_bf16_model},
      {"engine_one_walk", test_engine_one_walk},
#endif
  };
  for (auto& t : tests) {
    if (mode != "all" && mode != t.name) continue;
    const int before = g_failures;
    t.fn();
    std::printf("%s %s\n", g_failures == before ? "ok  " : "FAIL", t.name);
  }
  std::printf("%d checks, %d failures\n", g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}
