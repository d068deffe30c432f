// forward_worker.h: the AsyncWorker that runs one engine forward off the JS
// thread (engine_wrap.cc queues it). Execute makes no N-API calls. It reads
// copies of the request's inputs (ForwardInputs), never the JS arrays: JS may
// change or transfer those as soon as forward() returns. It writes into the JS
// output arrays, which stay referenced (with the Engine object) until completion;
// lib/ allocates them per call and exposes them only once the promise settles.
#pragma once
#include <napi.h>

#include <memory>
#include <vector>

#include "convbert/cuda_backend.h"
#include "convbert/engine.h"

namespace convbert {

// The input arrays of one request, copied when the request is read; ForwardJob's
// input pointers point into them. Moving the struct keeps those pointers valid.
struct ForwardInputs {
  std::vector<int32_t> input_ids, token_type_ids, position_ids, cls_index;
  std::vector<float> inputs_embeds, attention_mask, head_mask;
};

// Queues the forward and returns its promise (resolves to undefined, rejects
// with a ConvBertError). inputs owns job's inputs; keep holds references to its
// output arrays and the Engine. job must already have passed validate_forward (the
// binding checks it when it reads the request); it runs on target (CPU or CUDA).
Napi::Promise QueueForward(Napi::Env env, std::shared_ptr<const Model> model, std::shared_ptr<ForwardTarget> target,
                           ForwardJob job, ForwardInputs inputs, std::vector<Napi::Reference<Napi::Value>> keep);

}  // namespace convbert
