// engine_parse.h: reading addon.Engine's arguments (engine_wrap.cc keeps the
// object's lifecycle and dispatch): the placement options { device, dtype, tf32,
// isa, modulesToNotConvert }, the spec (config and head), one weight, and a
// ForwardRequest into a ForwardJob. Each reader throws a ConvBertError (args.h)
// naming the argument. The request rules themselves live in the engine
// (validate_config, validate_forward); ParseRequest runs validate_forward once.
#pragma once
#include <napi.h>

#include <string>
#include <vector>

#include "convbert/cpu.h"
#include "convbert/cuda_backend.h"
#include "convbert/engine.h"
#include "forward_worker.h"

namespace convbert {

// Where and how an Engine runs: the second constructor argument.
struct EngineOptions {
  bool use_cuda = false;                            // device 'cuda' | 'cuda:N'
  Dtype dtype = Dtype::kFloat32;                    // the weight precision; copts.dtype repeats it
  std::vector<std::string> modules_to_not_convert;  // modulesToNotConvert (CPU engine only)
  CudaEngineOptions copts;                          // device ordinal, weight dtype, tf32
  const OpTable* ops = nullptr;                     // the CPU kernel path (isa; default the active one)
};

// options (undefined or an object) -> EngineOptions; refuses combinations no engine runs.
EngineOptions ParseEngineOptions(Napi::Env env, Napi::Value options);

// spec's config and head, checked by validate_config.
void ParseSpec(Napi::Object spec, EngineConfig* c, HeadConfig* h);

// One weight: a Float32Array of exactly numel elements, or a ConvBertError with code
// ERR_CONVBERT_WEIGHTS naming it (where: "spec.weights['name']").
const float* ReadWeight(Napi::Value v, const std::string& where, int64_t numel);

// Reads and checks one ForwardRequest into job. own set (forward): the inputs are copied
// into it before they are checked, so the values checked are the values the queued forward
// reads; keep then holds the outputs. own null (forwardSync): the forward runs before JS
// runs again, so it reads the JS arrays in place.
void ParseRequest(Napi::Env env, const Model& model, Napi::Value reqv, ForwardJob* job,
                  std::vector<Napi::Reference<Napi::Value>>* keep, ForwardInputs* own);

}  // namespace convbert
