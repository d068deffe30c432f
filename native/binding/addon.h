// addon.h: per-instance state of the addon (one per Node environment, so the
// addon is context-aware and can be loaded in several worker_threads at once).
#pragma once
#include <napi.h>

#include "convbert/status.h"

namespace convbert {

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports);

  // Builds `new ConvBertError(message, code)` with the class TS registered at
  // load, or a plain Error carrying .code when none was registered.
  Napi::Error MakeError(Napi::Env env, const Status& st);

  static Addon* Of(Napi::Env env) { return env.GetInstanceData<Addon>(); }

 private:
  Napi::Value SetErrorClass(const Napi::CallbackInfo& info);
  Napi::Value BackendInfo(const Napi::CallbackInfo& info);
  Napi::Value SetNumThreads(const Napi::CallbackInfo& info);

  Napi::FunctionReference error_class_;
};

// Binding modules (engine_wrap.cc, tokenizer_wrap.cc, ...) register their
// exports at static-init time, so adding one needs no edit here:
//   static convbert::BindingRegistrar reg("Engine", &InitEngine);
// InitFn adds its classes/functions to `exports` for one Node environment.
using BindingInitFn = void (*)(Napi::Env env, Napi::Object exports);
struct BindingRegistrar {
  BindingRegistrar(const char* name, BindingInitFn fn);
};

// A typed array's element type, length and first element, read with the plain
// C call (node-addon-api's ArrayBuffer() throws a bare "Invalid argument" for a
// view over a SharedArrayBuffer). problem is null for a view over a live
// ArrayBuffer; otherwise it says why the view must not be read ("one over a
// SharedArrayBuffer": another thread may write it meanwhile; "one whose
// ArrayBuffer is detached": its memory was transferred or freed).
struct TypedArrayView {
  napi_typedarray_type type = napi_int8_array;
  size_t length = 0;
  void* data = nullptr;
  const char* problem = nullptr;
  bool shared = false;  // the problem is a SharedArrayBuffer
};
// False (nothing thrown) when v is not a typed array.
bool ReadTypedArray(Napi::Value v, TypedArrayView* out);

}  // namespace convbert
