// addon.cc: module entry of both addons. Exposes backendInfo, setNumThreads and
// the error class registration, then whatever binding files were linked in:
// convbert.node (shipped) gets native/binding/*.cc, convbert_test.node (tests and
// benches only) gets the single-op entry points in native/binding/testing/.
#include "addon.h"
#include "args.h"

#include <string>
#include <vector>

#include "convbert/cpu.h"
#include "convbert/cuda_backend.h"
#include "convbert/thread_pool.h"

namespace convbert {

namespace {
struct Registered {
  const char* name;
  BindingInitFn fn;
};
std::vector<Registered>& registry() {
  static std::vector<Registered> r;
  return r;
}
}  // namespace

BindingRegistrar::BindingRegistrar(const char* name, BindingInitFn fn) { registry().push_back({name, fn}); }

bool ReadTypedArray(Napi::Value v, TypedArrayView* out) {
  *out = TypedArrayView();
  napi_env env = v.Env();
  bool is_ta = false;
  if (v.IsEmpty() || napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return false;
  napi_value buffer = nullptr;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, v, &out->type, &out->length, &out->data, &buffer, &offset) != napi_ok) return false;
  bool plain = false, detached = false;
  if (napi_is_arraybuffer(env, buffer, &plain) != napi_ok || !plain) {
    out->problem = "one over a SharedArrayBuffer";
    out->shared = true;
  } else if (napi_is_detached_arraybuffer(env, buffer, &detached) != napi_ok || detached) {
    out->problem = "one whose ArrayBuffer is detached";
  }
  if (out->problem) {
    out->data = nullptr;
    out->length = 0;
  }
  return true;
}

Addon::Addon(Napi::Env env, Napi::Object exports) {
  DefineAddon(exports, {
                           InstanceMethod("setErrorClass", &Addon::SetErrorClass),
                           InstanceMethod("backendInfo", &Addon::BackendInfo),
                           InstanceMethod("setNumThreads", &Addon::SetNumThreads),
                       });
  for (const Registered& r : registry()) r.fn(env, exports);
}

Napi::Error Addon::MakeError(Napi::Env env, const Status& st) {
  Napi::String msg = Napi::String::New(env, st.message);
  Napi::String code = Napi::String::New(env, status_code_name(st.code));
  if (!error_class_.IsEmpty()) {
    Napi::Value e = error_class_.New({msg, code});
    if (!env.IsExceptionPending() && e.IsObject()) return Napi::Error(env, e);
  }
  Napi::Error e = Napi::Error::New(env, st.message);
  e.Set("code", code);
  return e;
}

Napi::Value Addon::SetErrorClass(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsFunction())
    throw Napi::TypeError::New(info.Env(),
                               "setErrorClass: cls: expected a constructor, got " + args::Describe(args::At(info, 0)));
  error_class_ = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Value Addon::BackendInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("isa", isa_name(active_isa()));
  o.Set("bestIsa", isa_name(detect_isa()));
  if (!isa_override_note().empty()) o.Set("isaNote", isa_override_note());
  o.Set("threads", num_threads());
  const CudaInfo& ci = cuda_info();
  Napi::Object c = Napi::Object::New(env);
  c.Set("compiled", ci.compiled);
  c.Set("available", ci.available);
  if (ci.emulated) c.Set("emulated", true);  // the emulated CUDA build (cuda/emu/), never a GPU
  c.Set("deviceCount", ci.device_count);
  c.Set("runtimeVersion", ci.runtime_version);
  c.Set("driverVersion", ci.driver_version);
  // Every device the runtime lists, usable or not (a machine may have an old card as device 0).
  Napi::Array devs = Napi::Array::New(env, ci.devices.size());
  for (size_t d = 0; d < ci.devices.size(); ++d) {
    const CudaDeviceInfo& dev = ci.devices[d];
    Napi::Object o = Napi::Object::New(env);
    o.Set("ordinal", static_cast<double>(d));
    o.Set("name", dev.name);
    o.Set("computeCapability", std::to_string(dev.compute_major) + "." + std::to_string(dev.compute_minor));
    o.Set("totalMemory", static_cast<double>(dev.total_memory));
    o.Set("usable", dev.usable);
    if (!dev.usable) o.Set("reason", dev.reason);
    devs.Set(static_cast<uint32_t>(d), o);
  }
  c.Set("devices", devs);
  if (ci.available) {
    c.Set("defaultDevice", ci.default_device);
    c.Set("deviceName", ci.device_name);
    c.Set("computeCapability", std::to_string(ci.compute_major) + "." + std::to_string(ci.compute_minor));
    c.Set("totalMemory", static_cast<double>(ci.total_memory));
  } else {
    c.Set("reason", ci.reason);
  }
  o.Set("cuda", c);
  return o;
}

Napi::Value Addon::SetNumThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  set_num_threads(static_cast<int>(args::Int(args::At(info, 0), "setNumThreads: n", 1, 1024)));
  return env.Undefined();
}

NODE_API_ADDON(Addon)

}  // namespace convbert
