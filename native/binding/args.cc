// args.cc: the argument readers of args.h. Each builds its message as
// "<name>: expected <what>, got <value>" and throws it as a ConvBertError.
#include "args.h"

#include <cmath>
#include <string>

namespace convbert {
namespace args {

Napi::Error Error(Napi::Env env, StatusCode base, const std::string& msg, const char* code) {
  Napi::Error e = Addon::Of(env)->MakeError(env, Status::Error(base, msg));
  if (code) e.Value().Set("code", Napi::String::New(env, code));
  return e;
}

void Throw(Napi::Env env, StatusCode base, const std::string& msg, const char* code) {
  throw Error(env, base, msg, code);
}

void Check(Napi::Env env, const Status& st) {
  if (!st.ok()) throw Addon::Of(env)->MakeError(env, st);
}

namespace {

const char* TypedArrayName(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
    default: return "typed array";
  }
}

std::string Article(const char* noun) {
  const char c = noun[0];
  return (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'I' || c == 'U' || c == 'A' || c == 'E')
             ? std::string("an ") + noun
             : std::string("a ") + noun;
}

// JS spelling of a number (integers without a fraction, NaN, Infinity).
std::string JsNumber(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == std::floor(d) && std::fabs(d) < 1e18) return std::to_string(static_cast<int64_t>(d));
  std::string s = std::to_string(d);
  while (s.size() > 1 && s.back() == '0') s.pop_back();
  return s;
}

std::string Bound(int64_t x) {
  if (x == kMaxSafe) return "2^53 - 1";
  if (x == -kMaxSafe) return "-(2^53 - 1)";
  return std::to_string(x);
}

}  // namespace

std::string Describe(Napi::Value v) {
  if (v.IsEmpty() || v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsNumber()) return JsNumber(v.As<Napi::Number>().DoubleValue());
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsString()) {
    std::string s = v.As<Napi::String>().Utf8Value();
    if (s.size() > 40) s = s.substr(0, 40) + "...";
    return "'" + s + "'";
  }
  TypedArrayView ta;
  if (ReadTypedArray(v, &ta)) return Article(TypedArrayName(ta.type));
  if (v.IsArray()) return "an array";
  if (v.IsFunction()) return "a function";
  if (v.IsBigInt()) return "a bigint";
  return "an object";
}

Napi::Value At(const Napi::CallbackInfo& info, size_t i) {
  return i < info.Length() ? info[i] : info.Env().Undefined();
}

Napi::Object Opts(const Napi::CallbackInfo& info, const std::string& fn) {
  Napi::Value v = At(info, 0);
  if (!v.IsObject() || v.IsArray())
    Throw(info.Env(), StatusCode::kInvalidArgument, fn + "(opts): opts: expected an object, got " + Describe(v));
  return v.As<Napi::Object>();
}

int64_t Int(Napi::Value v, const std::string& name, int64_t lo, int64_t hi) {
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(std::isfinite(d) && d == std::floor(d) && d >= static_cast<double>(lo) && d <= static_cast<double>(hi)))
    Throw(v.Env(), StatusCode::kInvalidArgument,
          name + ": expected an integer " +
              (hi == kMaxSafe ? ">= " + Bound(lo) : "in [" + Bound(lo) + ", " + Bound(hi) + "]") + ", got " +
              Describe(v));
  return static_cast<int64_t>(d);
}

int64_t IntOr(Napi::Value v, const std::string& name, int64_t lo, int64_t hi, int64_t dflt) {
  if (v.IsUndefined() || v.IsNull()) return dflt;
  return Int(v, name, lo, hi);
}

double Num(Napi::Value v, const std::string& name, double lo, double hi) {
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(std::isfinite(d) && d >= lo && d <= hi)) {
    std::string want = "a finite number";
    if (lo > -1e308) want += " >= " + JsNumber(lo);
    if (hi < 1e308) want += std::string(lo > -1e308 ? " and" : "") + " <= " + JsNumber(hi);
    Throw(v.Env(), StatusCode::kInvalidArgument, name + ": expected " + want + ", got " + Describe(v));
  }
  return d;
}

bool Bool(Napi::Value v, const std::string& name, bool dflt) {
  if (v.IsUndefined() || v.IsNull()) return dflt;
  if (!v.IsBoolean()) Throw(v.Env(), StatusCode::kInvalidArgument, name + ": expected a boolean, got " + Describe(v));
  return v.As<Napi::Boolean>().Value();
}

std::string Choice(Napi::Value v, const std::string& name, std::initializer_list<const char*> choices,
                   const char* dflt) {
  if (dflt && v.IsUndefined()) return dflt;
  std::string list;
  for (const char* c : choices) list += (list.empty() ? "" : "|") + std::string(c);
  if (v.IsString()) {
    const std::string s = v.As<Napi::String>().Utf8Value();
    for (const char* c : choices)
      if (s == c) return s;
  }
  Throw(v.Env(), StatusCode::kInvalidArgument, name + ": expected " + list + ", got " + Describe(v));
}

void* TypedArray(Napi::Value v, const std::string& name, napi_typedarray_type type, int64_t n, bool optional,
                 int64_t* len) {
  Napi::Env env = v.Env();
  const std::string want = Article(TypedArrayName(type));
  if (v.IsUndefined() || v.IsNull()) {
    if (optional) {
      if (len) *len = 0;
      return nullptr;
    }
    Throw(env, StatusCode::kInvalidArgument, name + ": expected " + want + ", got " + Describe(v));
  }
  TypedArrayView ta;
  if (!ReadTypedArray(v, &ta) || ta.type != type)
    Throw(env, StatusCode::kDtype, name + ": expected " + want + ", got " + Describe(v));
  if (ta.shared)
    Throw(env, StatusCode::kInvalidArgument,
          name + ": expected " + want + " over an ArrayBuffer, got " + ta.problem +
              " (another thread could change it while it is read)");
  if (ta.problem)
    Throw(env, StatusCode::kInvalidArgument,
          name + ": expected " + want + (n >= 0 ? " of " + std::to_string(n) + " elements" : std::string()) + ", got " +
              ta.problem);
  const int64_t have = static_cast<int64_t>(ta.length);
  if (n >= 0 && have != n)
    Throw(env, StatusCode::kShape, name + ": expected " + std::to_string(n) + " elements, got " + std::to_string(have));
  if (len) *len = have;
  return ta.data;
}

int64_t Mul(Napi::Env env, const std::string& what, int64_t a, int64_t b) {
  if (a < 0 || b < 0 || (a != 0 && b > kMaxSafe / a))
    Throw(env, StatusCode::kInvalidArgument,
          what + ": expected at most 2^53 - 1 elements, got " + std::to_string(a) + " * " + std::to_string(b),
          "ERR_CONVBERT_LIMIT");
  return a * b;
}

int64_t Mul(Napi::Env env, const std::string& what, int64_t a, int64_t b, int64_t c) {
  return Mul(env, what, Mul(env, what, a, b), c);
}

}  // namespace args
}  // namespace convbert
