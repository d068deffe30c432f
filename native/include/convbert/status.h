// status.h: the error value every kernel, engine step and backend returns.
// Nothing in native/ throws across the engine or aborts on bad input; a
// failing step returns a Status that the binding turns into a ConvBertError.
#pragma once
#include <string>
#include <utility>

namespace convbert {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // ERR_CONVBERT_ARG
  kShape,            // ERR_CONVBERT_SHAPE
  kDtype,            // ERR_CONVBERT_DTYPE
  kUnsupported,      // ERR_CONVBERT_UNSUPPORTED
  kCuda,             // ERR_CONVBERT_CUDA
  kOutOfMemory,      // ERR_CONVBERT_OOM
  kInternal,         // ERR_CONVBERT_INTERNAL
};

struct Status {
  StatusCode code = StatusCode::kOk;
  std::string message;

  static Status Ok() { return Status(); }
  static Status Error(StatusCode c, std::string msg) {
    Status s;
    s.code = c;
    s.message = std::move(msg);
    return s;
  }
  bool ok() const { return code == StatusCode::kOk; }
};

// Node-style error code string for a status code ("ERR_CONVBERT_SHAPE", ...).
const char* status_code_name(StatusCode code);

#define CONVBERT_RETURN_IF_ERROR(expr) \
  do {                                 \
    ::convbert::Status _st = (expr);   \
    if (!_st.ok()) return _st;         \
  } while (0)

}  // namespace convbert
