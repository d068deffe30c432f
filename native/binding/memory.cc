// memory.cc: allocLargeBuffer(bytes) -> ArrayBuffer for large, short-lived host
// buffers the loader fills (the checkpoint read buffer). A buffer of 2 MiB or more
// comes from HugePageAllocator (2 MiB-aligned, MADV_HUGEPAGE before first touch):
// a fresh 4 KiB page costs 10-20 us on virtual machines, so a 94 MB read buffer in
// small pages alone cost ~0.5 s of ConvBERT-base's first load. Smaller sizes, or a
// failed allocation, fall back to an ordinary ArrayBuffer. Freed by V8's finalizer.
// Like Buffer.allocUnsafe, a large buffer's contents are unspecified until written.
#include <cstring>
#include <string>

#include "addon.h"
#include "args.h"
#include "convbert/huge_vector.h"

namespace convbert {

namespace {

Napi::Value AllocLargeBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // 2^53 - 1 is the largest exact integer; ArrayBuffers stay far below it anyway.
  const size_t bytes = static_cast<size_t>(args::Int(args::At(info, 0), "allocLargeBuffer: bytes", 0));
  if (bytes < kHugePageBytes) return Napi::ArrayBuffer::New(env, bytes);
  uint8_t* p = nullptr;
  try {
    p = HugePageAllocator<uint8_t>().allocate(bytes);
  } catch (const std::bad_alloc&) {
    return Napi::ArrayBuffer::New(env, bytes);  // V8 reports its own out-of-memory error
  }
  return Napi::ArrayBuffer::New(
      env, p, bytes,
      [](Napi::Env, void* data, size_t* size) {
        HugePageAllocator<uint8_t>().deallocate(static_cast<uint8_t*>(data), *size);
        delete size;
      },
      new size_t(bytes));
}

void InitMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("allocLargeBuffer", Napi::Function::New(env, AllocLargeBuffer, "allocLargeBuffer"));
}

BindingRegistrar reg("Memory", &InitMemory);

}  // namespace

}  // namespace convbert
