// args.h: the binding's one set of argument readers, shared by every binding file of
// both addons. Each reads one JS value (a positional argument or an options field),
// checks it, and on bad input throws a ConvBertError (Addon::MakeError) whose message
// names the argument, what was expected and what it got:
//   "opGemm: M: expected an integer in [0, 2^53 - 1], got -1"   (ERR_CONVBERT_ARG)
// Codes: ERR_CONVBERT_ARG for a wrong type or value, _DTYPE for a typed array of the
// wrong element type, _SHAPE for a wrong element count, _LIMIT for a size product
// over 2^53 - 1. Every size is read here before it sizes an allocation or a loop.
#pragma once
#include <napi.h>

#include <cstdint>
#include <initializer_list>
#include <string>

#include "addon.h"
#include "convbert/status.h"

namespace convbert {
namespace args {

constexpr int64_t kMaxSafe = 9007199254740991;  // 2^53 - 1, the largest exact JS integer

// A ConvBertError with base's code, or with `code` when set (codes without a StatusCode,
// such as ERR_CONVBERT_LIMIT, ERR_CONVBERT_WEIGHTS and ERR_CONVBERT_DISPOSED).
Napi::Error Error(Napi::Env env, StatusCode base, const std::string& msg, const char* code = nullptr);
[[noreturn]] void Throw(Napi::Env env, StatusCode base, const std::string& msg, const char* code = nullptr);
// Throws st as a ConvBertError when it is not ok.
void Check(Napi::Env env, const Status& st);

// How a value reads in a message: "undefined", "null", "a string", "an object", "1.5", "a Float32Array", ...
std::string Describe(Napi::Value v);

// info[i] (undefined when absent).
Napi::Value At(const Napi::CallbackInfo& info, size_t i);
// info[0] as an options object; "<fn>(opts): opts: expected an object, got ..." otherwise.
Napi::Object Opts(const Napi::CallbackInfo& info, const std::string& fn);

// An integer in [lo, hi] (both within +-(2^53 - 1)).
int64_t Int(Napi::Value v, const std::string& name, int64_t lo, int64_t hi = kMaxSafe);
// As Int, with dflt when v is undefined or null.
int64_t IntOr(Napi::Value v, const std::string& name, int64_t lo, int64_t hi, int64_t dflt);
// A finite number in [lo, hi].
double Num(Napi::Value v, const std::string& name, double lo = -1e308, double hi = 1e308);
// true/false; undefined and null read as dflt. Any other value is refused (not coerced).
bool Bool(Napi::Value v, const std::string& name, bool dflt = false);
// A string that is one of choices; undefined reads as dflt when dflt is set.
std::string Choice(Napi::Value v, const std::string& name, std::initializer_list<const char*> choices,
                   const char* dflt = nullptr);

// A typed array of element type `type` over a live, unshared ArrayBuffer with exactly n
// elements (n < 0: any length, returned in *len); null when optional and v is null/undefined.
void* TypedArray(Napi::Value v, const std::string& name, napi_typedarray_type type, int64_t n, bool optional,
                 int64_t* len = nullptr);
inline float* F32(Napi::Value v, const std::string& name, int64_t n, bool optional = false, int64_t* len = nullptr) {
  return static_cast<float*>(TypedArray(v, name, napi_float32_array, n, optional, len));
}
inline int32_t* I32(Napi::Value v, const std::string& name, int64_t n, bool optional = false, int64_t* len = nullptr) {
  return static_cast<int32_t*>(TypedArray(v, name, napi_int32_array, n, optional, len));
}

// a * b (* c) as an element count; ERR_CONVBERT_LIMIT naming `what` when it is over 2^53 - 1
// (sizes go up to 2^53, so a product could wrap to a small number and pass a length check).
int64_t Mul(Napi::Env env, const std::string& what, int64_t a, int64_t b);
int64_t Mul(Napi::Env env, const std::string& what, int64_t a, int64_t b, int64_t c);

}  // namespace args
}  // namespace convbert
