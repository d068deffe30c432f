// status.cc: names of status codes, shared by every backend.
#include "convbert/status.h"

namespace convbert {

const char* status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: return "ERR_CONVBERT_ARG";
    case StatusCode::kShape: return "ERR_CONVBERT_SHAPE";
    case StatusCode::kDtype: return "ERR_CONVBERT_DTYPE";
    case StatusCode::kUnsupported: return "ERR_CONVBERT_UNSUPPORTED";
    case StatusCode::kCuda: return "ERR_CONVBERT_CUDA";
    case StatusCode::kOutOfMemory: return "ERR_CONVBERT_OOM";
    case StatusCode::kInternal: return "ERR_CONVBERT_INTERNAL";
  }
  return "ERR_CONVBERT_INTERNAL";
}

}  // namespace convbert
