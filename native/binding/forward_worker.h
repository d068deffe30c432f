// forward_worker.h: the AsyncWorker that runs one engine forward off the JS
// thread (engine_wrap.cc queues it). Execute makes no N-API calls; the JS
// arrays of the request and the Engine object stay referenced until completion.
#pragma once
#include <napi.h>

#include <memory>
#include <vector>

#include "convbert/cuda_backend.h"
#include "convbert/engine.h"

namespace convbert {

// Queues the forward and returns its promise (resolves to undefined, rejects
// with a ConvBertError). keep holds references to every array in job. When cuda
// is set the forward runs on that CUDA engine, else on the CPU with ops.
Napi::Promise QueueForward(Napi::Env env, std::shared_ptr<const Model> model, std::shared_ptr<CudaEngine> cuda,
                           const OpTable* ops, ForwardJob job,
                           std::vector<Napi::Reference<Napi::Value>> keep);

}  // namespace convbert
