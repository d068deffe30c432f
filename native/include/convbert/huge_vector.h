// huge_vector.h: std::vector for the engine's large, long-lived buffers (packed
// weights, embeddings, the forward arena). A buffer of 2 MiB or more is aligned
// to 2 MiB and advised MADV_HUGEPAGE before anything touches it, so the kernel
// backs it with transparent huge pages where THP is "madvise" (the common
// default): one fault per 2 MiB instead of 512. Under virtualisation a 4 KiB
// first-touch fault costs ~10-20 us, which made loading ConvBERT-base (~0.5 GB of
// fresh memory) take seconds. The advice is only a hint: where THP is off, or on
// other systems, this is plain aligned memory.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <new>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace convbert {

inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

template <class T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() noexcept = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_alloc();
    const std::size_t bytes = n * sizeof(T);
    if (bytes < kHugePageBytes) return static_cast<T*>(::operator new(bytes));
    void* p = nullptr;
    if (posix_memalign(&p, kHugePageBytes, bytes) != 0) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    // Only whole 2 MiB ranges can be huge pages; the tail stays 4 KiB pages (no rounding up, no extra RSS).
    const std::size_t whole = bytes & ~(kHugePageBytes - 1);
    if (whole) madvise(p, whole, MADV_HUGEPAGE);  // a hint: failure (THP off) changes nothing
#endif
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n * sizeof(T) < kHugePageBytes) ::operator delete(p);
    else std::free(p);
  }
  template <class U>
  bool operator==(const HugePageAllocator<U>&) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const HugePageAllocator<U>&) const noexcept {
    return false;
  }
};

template <class T>
using HugeVector = std::vector<T, HugePageAllocator<T>>;

}  // namespace convbert
